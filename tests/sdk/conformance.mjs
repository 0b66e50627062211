// Conformance test: drives deltaport-dbx-emulator with the official Databricks
// JavaScript SDK (@databricks/sdk-experimental, pinned in package.json), used
// unmodified with OAuth M2M, exactly as a Databricks client would.
//
//   node conformance.mjs /path/to/deltaport-dbx-emulator
//
// The SDK is looked up in node_modules next to $DP_SDK_DIR, the current
// directory, or this script (first that has it). Prints one line per step and
// "N passed, M failed"; exits 0 only when every step passed. The emulator is
// always stopped (SIGTERM, then SIGKILL), also on failure and on the overall
// timeout.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const SDK_NAME = "@databricks/sdk-experimental";
const SDK_VERSION = "0.17.0";
const OVERALL_TIMEOUT_MS = 60_000;
const STEP_TIMEOUT_MS = 20_000;
const START_TIMEOUT_MS = 15_000;
const CLIENT_ID = "sdk-conformance-sp";
const CLIENT_SECRET = "dose-" + randomBytes(12).toString("hex");
const PAT = "dapi" + randomBytes(16).toString("hex");
const PAT_PRINCIPAL = "sdk-conformance-user";

const CATALOG = "main";
const SCHEMA = "sdk_conf";
const VOLUME_DIR = `/Volumes/${CATALOG}/${SCHEMA}/stage/in`;
const TABLE = `${CATALOG}.${SCHEMA}.events`;

// ---------------------------------------------------------------- harness ---
process.exitCode = 1; // until the summary says otherwise
let passed = 0;
let failed = 0;
let emulator = null; // { child, url, stderr: [], stateDir, logFile }
let tmpDir = null;
let finished = false;
let notes = []; // printed under the current step's PASS/FAIL line

function log(line) {
  process.stdout.write(line + "\n");
}

function withTimeout(promise, ms, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

async function step(name, fn) {
  const t0 = Date.now();
  if (finished) throw new Error("stopped"); // after the overall timeout: report nothing more
  try {
    await withTimeout(Promise.resolve().then(fn), STEP_TIMEOUT_MS, name);
    if (finished) throw new Error("stopped");
    passed++;
    log(`PASS ${name} (${Date.now() - t0} ms)`);
    return true;
  } catch (e) {
    if (finished) throw new Error("stopped");
    failed++;
    log(`FAIL ${name} (${Date.now() - t0} ms)`);
    log("     " + describeError(e).split("\n").join("\n     "));
    return false;
  } finally {
    for (const n of notes) log(`     note: ${n}`);
    notes = [];
  }
}

function describeError(e) {
  if (!(e instanceof Error)) return String(e);
  const extra = [];
  for (const k of ["statusCode", "errorCode", "code"]) {
    if (e[k] !== undefined) extra.push(`${k}=${JSON.stringify(e[k])}`);
  }
  if (e.response !== undefined && typeof e.response !== "object") {
    extra.push(`response=${JSON.stringify(String(e.response).slice(0, 300))}`);
  } else if (e.response && typeof e.response === "object" && !("nodeResponse" in e.response)) {
    extra.push(`response=${JSON.stringify(e.response).slice(0, 300)}`);
  }
  return `${e.name}: ${e.message}${extra.length ? " [" + extra.join(" ") + "]" : ""}`;
}

function note(msg) {
  notes.push(msg);
}

// ------------------------------------------------------------------ SDK -----
function loadSdk() {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const dirs = [process.env.DP_SDK_DIR, process.cwd(), here].filter(Boolean);
  for (const dir of dirs) {
    const req = createRequire(path.join(path.resolve(dir), "package.json"));
    let pkgJson;
    try {
      pkgJson = req.resolve(`${SDK_NAME}/package.json`);
    } catch {
      continue;
    }
    const version = req(pkgJson).version;
    if (version !== SDK_VERSION) {
      throw new Error(`${pkgJson}: version ${version}, this test pins ${SDK_VERSION}`);
    }
    return { sdk: req(SDK_NAME), fetchMod: req(`${SDK_NAME}/dist/fetch.js`), where: pkgJson };
  }
  throw new Error(
    `${SDK_NAME} not found in node_modules of: ${dirs.join(", ")} ` +
      "(run `npm ci` in tests/sdk, or set DP_SDK_DIR to a directory holding node_modules)"
  );
}

// ------------------------------------------------------------- emulator -----
function startEmulator(bin) {
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), "dp-sdk-conf-"));
  const stateDir = path.join(tmpDir, "state");
  fs.mkdirSync(stateDir);
  const logFile = path.join(tmpDir, "requests.log");
  const args = [
    "--port", "0",
    "--state-dir", stateDir,
    "--client", `${CLIENT_ID}:${CLIENT_SECRET}`,
    "--pat", `${PAT}=${PAT_PRINCIPAL}`,
    "--request-log", logFile,
  ];
  // Own process group, so that stopping it also stops anything it started.
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
  const em = { child, url: null, stdout: [], stderr: [], stateDir, logFile, exit: null };
  emulator = em;
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d) => {
    em.stderr.push(d);
  });
  const exited = new Promise((resolve) => {
    child.on("exit", (code, signal) => {
      em.exit = { code, signal };
      resolve(em.exit);
    });
    child.on("error", (e) => {
      // spawn failed: there is no process, and no "exit" event may follow
      if (em.exit === null && child.pid === undefined) {
        em.exit = { code: null, signal: null, error: e.message };
        resolve(em.exit);
      }
    });
  });
  em.exited = exited;
  return new Promise((resolve, reject) => {
    let buf = "";
    child.on("error", (e) => reject(new Error(`cannot start ${bin}: ${e.message}`)));
    exited.then((x) =>
      reject(new Error(`emulator exited before LISTENING (code ${x.code}, signal ${x.signal})`))
    );
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        em.stdout.push(line);
        const m = /^LISTENING (http:\/\/127\.0\.0\.1:(\d+))\/?$/.exec(line);
        if (m && !em.url) {
          em.url = m[1];
          resolve(em);
        }
      }
    });
  });
}

function signalEmulator(em, sig) {
  try {
    process.kill(-em.child.pid, sig); // the whole group
  } catch {
    try {
      em.child.kill(sig);
    } catch {
      /* already gone */
    }
  }
}

async function stopEmulator() {
  const em = emulator;
  if (!em) return null;
  emulator = null;
  if (em.exit === null) {
    signalEmulator(em, "SIGTERM");
    const t = setTimeout(() => {
      if (em.exit === null) signalEmulator(em, "SIGKILL");
    }, 5000);
    await em.exited;
    clearTimeout(t);
  }
  return em;
}

function dumpDiagnostics(em) {
  if (!em) return;
  const err = em.stderr.join("");
  if (err.trim()) {
    log("---- emulator stderr (last 4000 chars) ----");
    log(err.slice(-4000).trimEnd());
  }
  try {
    const req = fs.readFileSync(em.logFile, "utf8");
    if (req.trim()) {
      log("---- emulator request log (last 4000 chars) ----");
      log(req.slice(-4000).trimEnd());
    }
  } catch {
    /* no request log */
  }
}

function cleanupTmp() {
  if (tmpDir && !process.env.DP_SDK_KEEP_TMP) {
    try {
      fs.rmSync(tmpDir, { recursive: true, force: true });
    } catch {
      /* best effort */
    }
  }
}

// ---------------------------------------------------------------- data ------
// JSON lines: three events.
const JSONL_ROWS = [
  { event_id: "e-1", n: 1 },
  { event_id: "e-2", n: 20 },
  { event_id: "e-3", n: 300 },
];
const JSONL_BYTES = Buffer.from(JSONL_ROWS.map((r) => JSON.stringify(r)).join("\n") + "\n");

// Avro object container file (codec null) with two events, written by hand
// from the Avro 1.11 specification: magic, metadata map, sync marker, one block.
const AVRO_ROWS = [
  { event_id: "a-1", n: 4000 },
  { event_id: "a-2", n: 50000 },
];
function avroLong(n) {
  let z = (BigInt(n) << 1n) ^ (BigInt(n) >> 63n);
  const out = [];
  do {
    let b = Number(z & 0x7fn);
    z >>= 7n;
    if (z !== 0n) b |= 0x80;
    out.push(b);
  } while (z !== 0n);
  return Buffer.from(out);
}
function avroBytes(buf) {
  return Buffer.concat([avroLong(buf.length), buf]);
}
function avroContainer(rows) {
  const schema = {
    type: "record",
    name: "Event",
    namespace: "deltaport.sdkconf",
    fields: [
      { name: "event_id", type: "string" },
      { name: "n", type: "long" },
    ],
  };
  const sync = randomBytes(16);
  const meta = Buffer.concat([
    avroLong(2),
    avroBytes(Buffer.from("avro.schema")),
    avroBytes(Buffer.from(JSON.stringify(schema))),
    avroBytes(Buffer.from("avro.codec")),
    avroBytes(Buffer.from("null")),
    avroLong(0),
  ]);
  const data = Buffer.concat(
    rows.map((r) => Buffer.concat([avroBytes(Buffer.from(r.event_id)), avroLong(r.n)]))
  );
  return Buffer.concat([
    Buffer.from([0x4f, 0x62, 0x6a, 0x01]),
    meta,
    sync,
    avroLong(rows.length),
    avroLong(data.length),
    data,
    sync,
  ]);
}
const AVRO_BYTES = avroContainer(AVRO_ROWS);

// ----------------------------------------------------------------- main -----
async function main() {
  const bin = process.argv[2];
  if (!bin) {
    log("usage: node conformance.mjs /path/to/deltaport-dbx-emulator");
    process.exit(2);
  }
  log(`sdk conformance: node ${process.version}, emulator ${bin}`);

  let sdk, fetchMod;
  const okSdk = await step(`load ${SDK_NAME} ${SDK_VERSION}`, () => {
    const l = loadSdk();
    sdk = l.sdk;
    fetchMod = l.fetchMod;
    assert.equal(typeof sdk.WorkspaceClient, "function");
    assert.equal(typeof fetchMod.ReadableStream, "function");
    note(l.where);
  });
  if (!okSdk) return;

  let em;
  const okStart = await step("emulator starts and prints LISTENING http://127.0.0.1:PORT", async () => {
    try {
      em = await withTimeout(startEmulator(bin), START_TIMEOUT_MS, "emulator start");
    } catch (e) {
      if (emulator) e.message += `; its stdout: ${JSON.stringify(emulator.stdout)}`;
      throw e;
    }
    note(em.url);
  });
  if (!okStart) return;

  const { WorkspaceClient, ApiError } = sdk;
  const SdkReadableStream = fetchMod.ReadableStream;
  const clientConfig = (secret) => ({
    host: em.url,
    authType: "oauth-m2m",
    clientId: CLIENT_ID,
    clientSecret: secret,
    env: {}, // hermetic: no DATABRICKS_* variables, no ~/.databrickscfg profile
    retryTimeoutSeconds: 15,
    httpTimeoutSeconds: 40,
  });
  const w = new WorkspaceClient(clientConfig(CLIENT_SECRET), {
    product: "deltaport-sdk-conformance",
    productVersion: "0.1.0",
  });
  const warehouseId = "emulator-wh";

  // Runs one statement; polls getStatement while PENDING/RUNNING. Returns the
  // last StatementResponse (terminal state). Does not judge the state.
  async function execute(statement, opts) {
    return executeWith(w, statement, opts);
  }
  async function sqlWith(client, statement) {
    const r = await executeWith(client, statement);
    if (r.status.state !== "SUCCEEDED") {
      throw new Error(`statement ${r.status.state}: ${statement}\n${JSON.stringify(r.status.error ?? r.status)}`);
    }
    return r;
  }
  async function executeWith(w, statement, { wait = "30s", alwaysPoll = false, onSubmit } = {}) {
    const req = { warehouse_id: warehouseId, statement, wait_timeout: wait };
    if (wait !== "0s") req.on_wait_timeout = "CONTINUE";
    let r = await w.statementExecution.executeStatement(req);
    assert.equal(typeof r.statement_id, "string", `executeStatement: statement_id missing in ${JSON.stringify(r)}`);
    assert.ok(r.statement_id.length > 0, "executeStatement: empty statement_id");
    assert.ok(r.status && typeof r.status.state === "string", `executeStatement: status.state missing in ${JSON.stringify(r)}`);
    if (onSubmit) await onSubmit(r);
    const id = r.statement_id;
    let polls = 0;
    while (alwaysPoll && polls === 0 || ["PENDING", "RUNNING"].includes(r.status.state)) {
      if (polls > 0) await new Promise((res) => setTimeout(res, 100 + Math.min(polls, 10) * 50));
      r = await w.statementExecution.getStatement({ statement_id: id });
      polls++;
      assert.equal(r.statement_id, id, "getStatement: statement_id differs from the submitted one");
      assert.ok(r.status && typeof r.status.state === "string", `getStatement: status.state missing in ${JSON.stringify(r)}`);
    }
    r.polls = polls;
    return r;
  }
  async function sql(statement, opts) {
    const r = await execute(statement, opts);
    if (r.status.state !== "SUCCEEDED") {
      throw new Error(
        `statement ${r.status.state}: ${statement}\n${JSON.stringify(r.status.error ?? r.status)}`
      );
    }
    return r;
  }
  function column(r, name) {
    const cols = r.manifest?.schema?.columns;
    assert.ok(Array.isArray(cols), `manifest.schema.columns missing: ${JSON.stringify(r.manifest)}`);
    const i = cols.findIndex((c) => c.name === name);
    assert.ok(i >= 0, `no column ${name} in manifest.schema.columns ${JSON.stringify(cols.map((c) => c.name))}`);
    const rows = r.result?.data_array;
    assert.ok(Array.isArray(rows) && rows.length === 1, `result.data_array should hold 1 row: ${JSON.stringify(r.result)}`);
    const v = rows[0][i];
    assert.equal(typeof v, "string", `${name} should be a string (Databricks sends every value as a string), got ${JSON.stringify(v)}`);
    return v;
  }

  // (a) the first API call obtains the token through discovery + client credentials.
  await step("oauth-m2m: first call (CREATE SCHEMA, wait_timeout 0s) gets a token implicitly; getStatement polls to SUCCEEDED", async () => {
    let first;
    const r = await sql(`CREATE SCHEMA IF NOT EXISTS ${CATALOG}.${SCHEMA}`, {
      wait: "0s",
      alwaysPoll: true,
      onSubmit: (s) => {
        first = s.status.state;
      },
    });
    assert.equal(w.config.authType, "oauth-m2m");
    assert.ok(["PENDING", "RUNNING", "SUCCEEDED"].includes(first), `state after wait_timeout 0s: ${first}`);
    if (first === "SUCCEEDED") note("wait_timeout=0s answered SUCCEEDED at once (Databricks answers PENDING); polling still exercised");
    note(`state after submit ${first}, ${r.polls} getStatement call(s)`);
    const h = new Headers();
    await w.config.authenticate(h);
    const auth = h.get("Authorization") ?? "";
    assert.match(auth, /^Bearer \S+$/, "the SDK should send a Bearer access token");
    assert.ok(!auth.includes(CLIENT_SECRET), "the access token must not be the client secret");
  });

  await step(`CREATE VOLUME IF NOT EXISTS ${CATALOG}.${SCHEMA}.stage`, () =>
    sql(`CREATE VOLUME IF NOT EXISTS ${CATALOG}.${SCHEMA}.stage`)
  );
  await step(`CREATE TABLE IF NOT EXISTS ${TABLE} (event_id STRING, n BIGINT)`, async () => {
    await sql(`CREATE TABLE IF NOT EXISTS ${TABLE} (event_id STRING, n BIGINT)`);
    await sql(`CREATE TABLE IF NOT EXISTS ${TABLE} (event_id STRING, n BIGINT)`); // idempotent
  });
  await step("a failing statement is HTTP 200 with state FAILED and status.error", async () => {
    const r = await execute(`SELECT * FROM ${CATALOG}.${SCHEMA}.no_such_table`);
    assert.equal(r.status.state, "FAILED");
    assert.equal(typeof r.status.error?.error_code, "string", `status.error.error_code: ${JSON.stringify(r.status)}`);
    assert.equal(typeof r.status.error?.message, "string", `status.error.message: ${JSON.stringify(r.status)}`);
    note(`${r.status.error.error_code}: ${r.status.error.message}`);
    assert.match(r.status.error.message, /^\[TABLE_OR_VIEW_NOT_FOUND\]/, `message should start with the error class [TABLE_OR_VIEW_NOT_FOUND], as Databricks words it: ${r.status.error.message}`);
  });
  await step("request errors are REST errors: wait_timeout '3s' → 400, unknown statement id → 404", async () => {
    const e1 = await expectApiError(
      w.statementExecution.executeStatement({ warehouse_id: warehouseId, statement: "SELECT 1", wait_timeout: "3s" }),
      400,
      "wait_timeout 3s"
    );
    assert.equal(typeof e1.errorCode, "string");
    const e2 = await expectApiError(
      w.statementExecution.getStatement({ statement_id: "00000000-0000-0000-0000-000000000000" }),
      404,
      "getStatement of an unknown id"
    );
    note(`${e1.errorCode}: ${e1.message} / ${e2.errorCode}: ${e2.message}`);
  });

  // (c) files: mkdir, upload through apiClient.request with the SDK's ReadableStream.
  async function upload(filePath, bytes, overwrite) {
    const stream = new SdkReadableStream({
      start(controller) {
        // two chunks, to exercise a chunked request body
        const mid = Math.floor(bytes.length / 2);
        controller.enqueue(bytes.subarray(0, mid));
        controller.enqueue(bytes.subarray(mid));
        controller.close();
      },
    });
    return w.apiClient.request({
      path: `/api/2.0/fs/files${filePath}`,
      method: "PUT",
      headers: new Headers({ "Content-Type": "application/octet-stream" }),
      query: { overwrite: overwrite ? "true" : "false" },
      payload: stream,
      raw: false,
    });
  }
  async function listNames(dir, pageSize) {
    const out = [];
    const req = { directory_path: dir };
    if (pageSize) req.page_size = pageSize;
    for await (const e of w.files.listDirectoryContents(req)) out.push(e);
    return out;
  }
  async function readAll(stream) {
    const chunks = [];
    for await (const c of stream) chunks.push(Buffer.from(c));
    return Buffer.concat(chunks);
  }
  async function expectApiError(promise, status, what) {
    let err = null;
    try {
      await promise;
    } catch (e) {
      err = e;
    }
    assert.ok(err, `${what}: expected HTTP ${status}, the call succeeded`);
    assert.ok(err instanceof ApiError, `${what}: expected an ApiError, got ${describeError(err)}`);
    assert.equal(err.statusCode, status, `${what}: status ${err.statusCode} (${err.errorCode}: ${err.message})`);
    return err;
  }

  const jsonlPath = `${VOLUME_DIR}/x.jsonl`;
  const avroPath = `${VOLUME_DIR}/x.avro`;
  await step(`files.createDirectory ${VOLUME_DIR}`, async () => {
    await w.files.createDirectory({ directory_path: VOLUME_DIR });
    await w.files.createDirectory({ directory_path: VOLUME_DIR }); // mkdir -p: idempotent
  });
  await step(`upload ${jsonlPath} (${JSONL_BYTES.length} B) via apiClient.request + SDK ReadableStream`, async () => {
    const r = await upload(jsonlPath, JSONL_BYTES, true);
    assert.deepEqual(Object.keys(r), [], `upload answer should be empty, got ${JSON.stringify(r)}`);
  });
  await step(`upload ${avroPath} (Avro container, ${AVRO_BYTES.length} B)`, () => upload(avroPath, AVRO_BYTES, true));
  await step("upload with overwrite=false onto an existing file → 409 ALREADY_EXISTS", async () => {
    const e = await expectApiError(upload(jsonlPath, JSONL_BYTES, false), 409, "PUT ?overwrite=false");
    assert.equal(e.errorCode, "ALREADY_EXISTS");
  });
  await step("files.getMetadata (HEAD) reports content-length", async () => {
    const m = await w.files.getMetadata({ file_path: jsonlPath });
    assert.equal(String(m["content-length"]), String(JSONL_BYTES.length), `HEAD headers: ${JSON.stringify(m)}`);
  });
  await step("files.listDirectoryContents lists both files (page_size 1: follows next_page_token)", async () => {
    const entries = await listNames(VOLUME_DIR, 1);
    const byName = new Map(entries.map((e) => [e.name, e]));
    assert.deepEqual([...byName.keys()].sort(), ["x.avro", "x.jsonl"], `entries: ${JSON.stringify(entries)}`);
    const e = byName.get("x.jsonl");
    assert.equal(e.path, jsonlPath);
    assert.equal(e.is_directory, false);
    assert.equal(e.file_size, JSONL_BYTES.length);
    assert.equal(typeof e.last_modified, "number", `last_modified: ${JSON.stringify(e.last_modified)}`);
    const all = await listNames(VOLUME_DIR);
    assert.equal(all.length, 2, `default page size: ${JSON.stringify(all)}`);
  });
  await step("files.download returns the same bytes (JSON lines and Avro)", async () => {
    for (const [p, bytes] of [[jsonlPath, JSONL_BYTES], [avroPath, AVRO_BYTES]]) {
      const d = await w.files.download({ file_path: p });
      assert.ok(d.contents, `download: no contents stream: ${JSON.stringify(Object.keys(d))}`);
      const got = await readAll(d.contents);
      assert.ok(got.equals(bytes), `${p}: downloaded ${got.length} B differ from uploaded ${bytes.length} B`);
      if (d["content-length"] !== undefined) assert.equal(String(d["content-length"]), String(bytes.length));
    }
  });

  // (d) COPY INTO and its load history.
  const copyJson = `COPY INTO ${TABLE} FROM '${VOLUME_DIR}/' FILEFORMAT = JSON FILES = ('x.jsonl')`;
  const copyAvro = `COPY INTO ${TABLE} FROM '${VOLUME_DIR}/' FILEFORMAT = AVRO FILES = ('x.avro')`;
  await step(`COPY INTO ... FILEFORMAT = JSON FILES = ('x.jsonl') → ${JSONL_ROWS.length} inserted`, async () => {
    const r = await sql(copyJson);
    assert.equal(column(r, "num_inserted_rows"), String(JSONL_ROWS.length));
    assert.equal(column(r, "num_affected_rows"), String(JSONL_ROWS.length));
    assert.equal(column(r, "num_skipped_corrupt_files"), "0");
  });
  await step("the same COPY INTO again → 0 inserted (load history)", async () => {
    const r = await sql(copyJson);
    assert.equal(column(r, "num_inserted_rows"), "0");
  });
  await step(`COPY INTO ... FILEFORMAT = AVRO FILES = ('x.avro') → ${AVRO_ROWS.length} inserted, again → 0`, async () => {
    assert.equal(column(await sql(copyAvro), "num_inserted_rows"), String(AVRO_ROWS.length));
    assert.equal(column(await sql(copyAvro), "num_inserted_rows"), "0");
  });
  await step("SELECT count(*), sum(n) sees every loaded row once", async () => {
    const rows = [...JSONL_ROWS, ...AVRO_ROWS];
    const r = await sql(`SELECT count(*) AS c, sum(n) AS s FROM ${TABLE}`);
    const data = r.result?.data_array;
    assert.ok(Array.isArray(data) && data.length === 1, `data_array: ${JSON.stringify(r.result)}`);
    assert.deepEqual(data[0], [String(rows.length), String(rows.reduce((a, x) => a + x.n, 0))]);
    assert.equal(r.manifest?.schema?.column_count, 2, `manifest.schema: ${JSON.stringify(r.manifest?.schema)}`);
  });
  await step("cancelExecution of a submitted statement is accepted; polling reaches a terminal state", async () => {
    let id;
    const r = await execute(`SELECT count(*) FROM ${TABLE}`, {
      wait: "0s",
      onSubmit: async (s) => {
        id = s.statement_id;
        await w.statementExecution.cancelExecution({ statement_id: id });
      },
    });
    assert.ok(["SUCCEEDED", "CANCELED"].includes(r.status.state), `state after cancel: ${r.status.state} ${JSON.stringify(r.status.error ?? "")}`);
    note(`state after cancel: ${r.status.state}`);
  });

  await step("a 429 fault on getStatement (emulator admin API): the SDK retries and succeeds", async () => {
    const rule = { endpoint: "statements.get", kind: "429", count: 1, retry_after: 1 };
    const res = await fetch(`${em.url}/_emulator/faults`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(rule),
    });
    const text = await res.text();
    assert.equal(res.status, 200, `POST /_emulator/faults: ${res.status} ${text}`);
    const r = await sql(`CREATE SCHEMA IF NOT EXISTS ${CATALOG}.${SCHEMA}`, { wait: "0s", alwaysPoll: true });
    const list = await (await fetch(`${em.url}/_emulator/faults`)).json();
    const fired = (list.faults ?? []).filter((f) => f.endpoint === "statements.get").map((f) => f.fired);
    assert.deepEqual(fired, [1], `the fault should have fired once: ${JSON.stringify(list)}`);
    note(`${r.polls} getStatement call(s) as the SDK sees them`);
    await fetch(`${em.url}/_emulator/faults`, { method: "DELETE" }).then((x) => x.text());
  });

  // (e) delete.
  await step("files.delete removes the file: listing no longer has it, HEAD → 404", async () => {
    await w.files.delete({ file_path: jsonlPath });
    const names = (await listNames(VOLUME_DIR)).map((e) => e.name);
    assert.deepEqual(names, ["x.avro"]);
    await expectApiError(w.files.getMetadata({ file_path: jsonlPath }), 404, "HEAD deleted file");
    await expectApiError(w.files.download({ file_path: jsonlPath }), 404, "GET deleted file");
  });
  await step("files.deleteDirectory of the emptied directory; listing it → 404", async () => {
    await w.files.delete({ file_path: avroPath });
    await w.files.deleteDirectory({ directory_path: VOLUME_DIR });
    await expectApiError(listNames(VOLUME_DIR), 404, "list deleted directory");
  });

  await step("authType pat: a personal access token is accepted as Bearer", async () => {
    const p = new WorkspaceClient({ host: em.url, authType: "pat", token: PAT, env: {}, retryTimeoutSeconds: 15 });
    await sqlWith(p, `CREATE SCHEMA IF NOT EXISTS ${CATALOG}.${SCHEMA}`);
    const bad = new WorkspaceClient({ host: em.url, authType: "pat", token: PAT + "x", env: {}, retryTimeoutSeconds: 15 });
    const e = await expectApiError(
      bad.statementExecution.executeStatement({ warehouse_id: warehouseId, statement: "SELECT 1", wait_timeout: "5s" }),
      401,
      "unknown personal access token"
    );
    note(`unknown token: ${e.errorCode}: ${e.message}`);
  });

  // (f) a wrong client secret is an error, not a hang.
  await step("oauth-m2m with a wrong client secret: the SDK call rejects", async () => {
    const bad = new WorkspaceClient(clientConfig(CLIENT_SECRET + "-wrong"));
    let err = null;
    try {
      await withTimeout(
        bad.statementExecution.executeStatement({ warehouse_id: warehouseId, statement: "SELECT 1", wait_timeout: "5s" }),
        10_000,
        "executeStatement with a wrong secret"
      );
    } catch (e) {
      err = e;
    }
    assert.ok(err, "the call succeeded with a wrong client secret");
    assert.doesNotMatch(err.message, /no answer within/, "the SDK hung instead of failing");
    assert.match(err.message, /Failed to retrieve token/, `unexpected error: ${describeError(err)}`);
    note(err.message);
  });
}

// ---------------------------------------------------------------- runner ----
let finishing = null;
function finish(reason) {
  // Every caller waits for the one real finish (stop, report, summary).
  if (!finishing) finishing = finishOnce(reason);
  return finishing;
}

async function finishOnce(reason) {
  finished = true;
  if (reason) {
    failed++;
    log(`FAIL ${reason}`);
  }
  const em = await stopEmulator();
  if (em && em.url) {
    const x = em.exit ?? {};
    const errText = em.stderr.join("");
    const sanitizer = /(ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: UndefinedBehaviorSanitizer)/.test(errText);
    if (x.code === 0 && !sanitizer) {
      passed++;
      log("PASS emulator stops on SIGTERM with status 0");
    } else {
      failed++;
      log(`FAIL emulator stops on SIGTERM with status 0: code ${x.code}, signal ${x.signal}${sanitizer ? ", sanitizer report on stderr" : ""}`);
    }
  }
  if (em && failed > 0) dumpDiagnostics(em);
  cleanupTmp();
  log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
}

const overall = setTimeout(() => {
  finish(`overall timeout of ${OVERALL_TIMEOUT_MS / 1000} s`).then(() => process.exit(1));
}, OVERALL_TIMEOUT_MS);

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    finish(`interrupted by ${sig}`).then(() => process.exit(1));
  });
}
for (const ev of ["uncaughtException", "unhandledRejection"]) {
  process.on(ev, (e) => {
    if (e && e.code === "EPIPE") process.exit(1); // our stdout is gone: nothing left to report
    finish(`${ev}: ${describeError(e)}${e && e.stack ? "\n" + e.stack : ""}`).then(() => process.exit(1));
  });
}
process.on("exit", () => {
  // last resort: never leave the emulator running
  if (emulator && emulator.exit === null) signalEmulator(emulator, "SIGKILL");
  cleanupTmp();
});

main()
  .catch((e) => {
    if (finished) return;
    failed++;
    log(`FAIL unexpected: ${describeError(e)}`);
    if (e && e.stack) log(e.stack);
  })
  .then(() => finish())
  .then(() => {
    clearTimeout(overall);
    // keep-alive sockets of the SDK's agent would keep node alive
    process.exit(process.exitCode ?? 1);
  });
