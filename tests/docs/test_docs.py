#!/usr/bin/python3
"""Every SQL snippet and every configuration example of the docs, tested.

The snippets are the fenced ```sql blocks of docs/*.md and README.md. The
comment on the line before a block says what it is:

  (none)                                   run on the emulator after a small demo
                                           load: each statement through
                                           `deltaport query`, which must succeed
  <!-- sql: grants -->                     a GRANT script: its CREATE statements
                                           run as admin, its GRANTs become the
                                           emulator's grants file, and
                                           `deltaport check` must pass as a
                                           principal that has nothing else
  <!-- sql: not run on the emulator: WHY --> not run; the test prints which and why

A ```json block after <!-- config: check --> is a configuration example: it is
merged into a minimal configuration and `deltaport config check` must accept it.

The demo load: the embedded Kafka (one broker, topic "events", 4 partitions),
the Databricks emulator, `deltaport produce` of 300 events (every 50th
invalid) and one `deltaport run` until everything is loaded.
"""
import argparse
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SP = "docs-test-sp"
SP_SECRET = "docs-test-secret-7c1e"
ADMIN_PAT = "dapi-docs-test-admin"
PLACEHOLDER_SP = "6f1c2a9e-58d4-4b7a-9c1e-2d3f4a5b6c7d"

FENCE = re.compile(r"^```(\w*)\s*$")
MARK = re.compile(r"^<!--\s*(sql|config):\s*(.*?)\s*-->\s*$")
SQL_START = re.compile(r"\s*(SELECT|INSERT|COPY INTO|MERGE INTO|CREATE|GRANT|DESCRIBE|ALTER|"
                       r"DROP|OPTIMIZE)\b")

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, flush=True)


def blocks(path):
    """(line, lang, body, marker kind, marker text) of every fenced block."""
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start, lang = i, m.group(1)
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        k = start - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        mm = MARK.match(lines[k]) if k >= 0 else None
        yield (start + 1, lang, "\n".join(lines[start + 1:j]),
               mm.group(1) if mm else None, mm.group(2) if mm else None)
        i = j + 1


def statements(sql):
    """Statements of a block: ';' at the end of a line ends one; -- comments dropped."""
    out, cur = [], []
    for line in sql.split("\n"):
        if line.strip().startswith("--"):
            continue
        cur.append(line)
        if line.rstrip().endswith(";"):
            out.append("\n".join(cur).strip().rstrip(";").strip())
            cur = []
    rest = "\n".join(cur).strip()
    if rest:
        out.append(rest)
    return [s for s in out if s]


def run(args, env=None, timeout=60, check=False):
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout, env=env)
    if check and p.returncode != 0:
        raise RuntimeError("%s: exit %d\n%s%s" % (" ".join(args[:3]), p.returncode, p.stdout,
                                                   p.stderr))
    return p


class Stack:
    """The embedded Kafka and the emulators of one test run."""

    def __init__(self, a, tmp):
        self.a, self.tmp, self.procs = a, tmp, []

    def start_kafka(self):
        bs = os.path.join(self.tmp, "kafka.bs")
        self.procs.append(subprocess.Popen(
            [self.a.kafka_mock, "--brokers", "1", "--topic", "events:4", "--bootstrap-file", bs],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.tmp, "kafka.log"), "w")))
        for _ in range(300):
            if os.path.exists(bs) and open(bs).read().strip():
                self.bootstrap = open(bs).read().strip()
                return
            time.sleep(0.1)
        raise RuntimeError("the embedded Kafka did not start")

    def start_emulator(self, name, perms=None):
        state = os.path.join(self.tmp, name)
        os.makedirs(state)
        args = [self.a.emulator, "--port", "0", "--state-dir", state, "--client",
                SP + ":" + SP_SECRET, "--pat", ADMIN_PAT + "=admin"]
        if perms is not None:
            path = os.path.join(self.tmp, name + "-perms.json")
            json.dump(perms, open(path, "w"), indent=1)
            args += ["--permissions", path]
        p = subprocess.Popen(args, stdout=subprocess.PIPE,
                             stderr=open(os.path.join(self.tmp, name + ".log"), "w"), text=True)
        self.procs.append(p)
        line = p.stdout.readline()
        if not line.startswith("LISTENING "):
            raise RuntimeError("the emulator did not start: %r" % line)
        return line.split()[1]

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()


def write_config(path, bootstrap, url, schema, auth="oauth", extra=None):
    cfg = {
        "kafka": {"bootstrap_servers": bootstrap, "topics": ["events"], "group_id": "docs",
                  "properties": {"session.timeout.ms": 6000, "heartbeat.interval.ms": 1000,
                                 "fetch.wait.max.ms": 10}},
        "flush": {"max_events": 1000, "max_bytes": "8MiB", "max_age_ms": 500,
                  "memory_budget_bytes": "64MiB"},
        "databricks": {"host": url, "allow_insecure_http": True, "warehouse_id": "emulator-wh",
                       "catalog": "main", "schema": schema, "volume": "deltaport_staging",
                       "auth": auth, "client_id": SP, "statement_wait_timeout_s": 5},
        "http": {"listen": "127.0.0.1:0"},
        "worker": {"id": "docs-worker", "shutdown_timeout_ms": 20000},
    }
    for k, v in (extra or {}).items():
        cfg.setdefault(k, {}).update(v)
    json.dump(cfg, open(path, "w"), indent=1)


def query(a, config, sql, env):
    return run([a.deltaport, "query", "--config", config, "--tsv", sql], env=env)


def demo_load(a, stack, env):
    url = stack.start_emulator("emu")
    config = os.path.join(stack.tmp, "demo.json")
    write_config(config, stack.bootstrap, url, "analytics",
                 extra={"databricks": {"create_schema": True},
                        "schemas": {"dir": os.path.join(a.source, "schemas")}})
    run([a.deltaport, "produce", "--bootstrap", stack.bootstrap, "--topic", "events", "--count",
         "300", "--invalid-every", "50", "--quiet"], check=True)
    log = open(os.path.join(stack.tmp, "worker.log"), "w")
    worker = subprocess.Popen([a.deltaport, "run", "--config", config], env=env,
                              stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.time() + 120
    loaded = False
    while time.time() < deadline and not loaded:
        time.sleep(1)
        p = query(a, config, "SELECT COUNT(*) FROM event_errors", env)
        q = query(a, config, "SELECT COUNT(*) FROM evt_otherevents", env)
        loaded = (p.returncode == 0 and p.stdout.split("\n")[1:2] == ["6"] and
                  q.returncode == 0 and q.stdout.split("\n")[1:2] == ["294"])
    worker.send_signal(signal.SIGTERM)
    worker.wait(60)
    if not loaded:
        raise RuntimeError("the demo load did not finish; see %s/worker.log" % stack.tmp)
    print("demo load: 294 events and 6 errors loaded into main.analytics", flush=True)
    return config


def prove_grants(a, stack, env, where, sql):
    """The script's GRANTs are the only grants of the principal; check must pass."""
    grants, creates = [], []
    for st in statements(sql):
        m = re.match(r"(?is)GRANT\s+(.+?)\s+ON\s+(CATALOG|SCHEMA|TABLE|VOLUME)\s+(\S+)\s+TO\s+`([^`]+)`$",
                     st)
        if m:
            principal = SP if m.group(4) == PLACEHOLDER_SP else m.group(4)
            grants.append({"principal": principal,
                           "privileges": [p.strip().upper() for p in m.group(1).split(",")],
                           "on": "%s %s" % (m.group(2).upper(), m.group(3))})
        elif re.match(r"(?i)CREATE\s+SCHEMA", st):
            creates.append(st)
        else:
            fail("%s: a grants script holds only CREATE SCHEMA and GRANT statements, not: %s"
                 % (where, st))
            return
    if not grants:
        fail("%s: no GRANT statement found" % where)
        return
    url = stack.start_emulator("grants", {"grants": grants})
    admin_cfg = os.path.join(stack.tmp, "admin.json")
    sp_cfg = os.path.join(stack.tmp, "sp.json")
    write_config(admin_cfg, stack.bootstrap, url, "analytics", auth="pat")
    write_config(sp_cfg, stack.bootstrap, url, "analytics")
    admin_env = dict(env, DELTAPORT_DATABRICKS_TOKEN=ADMIN_PAT)
    for st in creates:
        p = query(a, admin_cfg, st, admin_env)
        if p.returncode != 0:
            fail("%s: as admin, %s: %s" % (where, st, p.stderr.strip()))
            return
    p = run([a.deltaport, "check", "--config", sp_cfg], env=env, timeout=120)
    print("deltaport check with only the script's grants:\n" + p.stdout, flush=True)
    if p.returncode != 0 or "PASSED: 12 passed" not in p.stdout:
        fail("%s: deltaport check with only the script's grants: exit %d\n%s"
             % (where, p.returncode, p.stdout))
    return p.stdout


def shape(text):
    """The check lines of a report: status and what was checked, without names."""
    out = []
    for line in text.split("\n"):
        m = re.match(r"(OK|FAIL|SKIP)\s+(volume files|[a-z]+(?: [a-z]+)?)\b", line)
        if m:
            out.append((m.group(1), m.group(2).split(" ")[0] if m.group(2) != "volume files"
                        else m.group(2)))
        elif line.startswith(("PASSED:", "FAILED:")):
            out.append((line.split(":")[0], line.split(":", 1)[1].strip()))
    return out


def check_documented_report(a, report):
    """docs/SETUP.md shows a passing `check`: it must have the real report's lines."""
    path = os.path.join(a.source, "docs", "SETUP.md")
    for line, lang, body, kind, text in blocks(path):
        if body.startswith("OK   configuration:"):
            if shape(body) != shape(report):
                fail("docs/SETUP.md:%d: the documented `deltaport check` report differs from a "
                     "real one:\n%s\nreal:\n%s" % (line, body, report))
            else:
                print("ok: docs/SETUP.md:%d: the documented check report has the real lines" % line)
            return
    fail("docs/SETUP.md: no passing `deltaport check` report found")


def merge(base, patch):
    for k, v in patch.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            merge(base[k], v)
        else:
            base[k] = v
    return base


def check_config(a, tmp, where, body, env):
    try:
        patch = json.loads(body)
    except ValueError as e:
        fail("%s: not JSON: %s" % (where, e))
        return
    cfg = merge({"kafka": {"bootstrap_servers": "b:9092", "topics": ["events"]},
                 "databricks": {"host": "https://dbc-1.cloud.databricks.com",
                                "warehouse_id": "w", "catalog": "main", "schema": "analytics",
                                "client_id": "c"}}, patch)
    path = os.path.join(tmp, "example.json")
    json.dump(cfg, open(path, "w"))
    env = dict(env, DELTAPORT_KAFKA_SASL_PASSWORD="x", DELTAPORT_KAFKA_SSL_KEY_PASSWORD="x")
    if cfg.get("schemas", {}).get("registry_user"):
        env["DELTAPORT_SCHEMA_REGISTRY_PASSWORD"] = "x"
    p = run([a.deltaport, "config", "check", "--config", path], env=env)
    if p.returncode != 0:
        fail("%s: deltaport config check refused the example: %s" % (where, p.stderr.strip()))
    else:
        print("ok: %s: configuration example accepted" % where, flush=True)


def main():
    ap = argparse.ArgumentParser()
    for opt in ("deltaport", "kafka_mock", "emulator", "source"):
        ap.add_argument("--" + opt.replace("_", "-"), required=True)
    a = ap.parse_args()
    files = sorted(glob.glob(os.path.join(a.source, "docs", "*.md"))) + \
        [os.path.join(a.source, "README.md")]
    found = []
    for f in files:
        for line, lang, body, kind, text in blocks(f):
            where = "%s:%d" % (os.path.relpath(f, a.source), line)
            if lang == "sql":
                found.append((where, body, kind, text))
            elif lang == "json" and kind == "config":
                found.append((where, body, kind, text))
            elif kind:
                fail("%s: a <!-- %s: --> marker before a ```%s block" % (where, kind, lang))
            elif lang == "" and SQL_START.match(body):
                fail("%s: a SQL snippet in an unlabelled block: fence it as ```sql" % where)
    tmp = tempfile.mkdtemp(prefix="dp-docs-")
    env = dict(os.environ, DELTAPORT_DATABRICKS_CLIENT_SECRET=SP_SECRET)
    env.pop("DELTAPORT_DATABRICKS_TOKEN", None)
    stack = Stack(a, tmp)
    skipped = []
    ran = 0
    try:
        stack.start_kafka()
        config = demo_load(a, stack, env)
        for where, body, kind, text in found:
            if kind == "config":
                if text != "check":
                    fail("%s: unknown marker 'config: %s'" % (where, text))
                else:
                    check_config(a, tmp, where, body, env)
            elif kind == "sql" and text == "grants":
                report = prove_grants(a, stack, env, where, body)
                if report:
                    check_documented_report(a, report)
            elif kind == "sql":
                m = re.match(r"not run on the emulator:\s*(\S.*)", text)
                if not m:
                    fail("%s: a skipped snippet must say why: "
                         "<!-- sql: not run on the emulator: WHY -->" % where)
                else:
                    skipped.append((where, m.group(1)))
            else:
                for st in statements(body):
                    p = query(a, config, st, env)
                    ran += 1
                    if p.returncode != 0:
                        fail("%s: `%s` failed on the emulator:\n%s" % (where, st, p.stderr))
                    else:
                        print("ok: %s: %s -> %d row(s)" % (where, " ".join(st.split()),
                                                             max(0, len(p.stdout.split("\n")) - 2)),
                              flush=True)
    except Exception as e:  # a broken stack fails the test, it never passes it
        fail("test set-up: %s" % e)
    finally:
        stack.stop()
    print("\n%d SQL statement(s) run on the emulator, %d snippet(s) not run:" % (ran, len(skipped)))
    for where, why in skipped:
        print("  %s: %s" % (where, why))
    if ran == 0:
        fail("no SQL snippet ran: the extraction is broken")
    if failures:
        print("\n%d failure(s)" % len(failures))
        if not os.environ.get("DP_TEST_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)
        return 1
    shutil.rmtree(tmp, ignore_errors=True)
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
