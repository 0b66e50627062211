/*
 * Integration test: no secret at any log level (issue 15 item 4).
 *
 * A Kafka SASL password, a Databricks OAuth client secret, a personal access
 * token and a Schema Registry password are set to marker values, and every
 * one of them is really used:
 *   - worker A runs the whole pipeline at log.level debug with librdkafka
 *     debug=all: the embedded Kafka, the emulator (OAuth M2M with the client
 *     secret) and the fake registry (HTTP Basic with the password), with
 *     valid, invalid and registry-framed events, one of an unknown id;
 *   - workers B and C authenticate with SASL/PLAIN at debug=all against
 *     tests/support/sasl_listener.c (librdkafka's mock cluster has no SASL),
 *     B with the right password (the listener checks it), C with a wrong one
 *     (also a marker), so librdkafka's SASL paths and their failure run;
 *   - `deltaport check` with the client secret, with the PAT, with a wrong
 *     secret and against the SASL listener; `config dump`, `config check`,
 *     `query` and `validate`.
 * Then everything they wrote is searched for every marker (and the Base64
 * of each Basic credential): stdout and stderr of every process, each
 * worker's /metrics and probes, the event_errors rows, the emulator's request
 * log, stderr and state directory, the registry's and the broker's logs.
 * Expected: zero hits.
 */
#define _GNU_SOURCE
#include "codec/json_event.h"
#include "codec/schema.h"
#include "dp_proc.h"
#include "dp_test.h"
#include "emu_fixture.h"
#include "kafka_fixture.h"
#include "registry_fixture.h"
#include "sasl_listener.h"

#include <curl/curl.h>
#include <ftw.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define M_SASL         "SaslPwMarker-7d1e5"
#define M_SASL_WRONG   "SaslWrongPwMarker-c04a"
#define M_CLIENT       "ClientSecretMarker-51ac9"
#define M_CLIENT_WRONG "WrongClientSecretMarker-e27"
#define M_PAT          "dapiPatMarker-90b2f"
#define M_REG          "RegistryPwMarker-3f446"
#define M_KEYPASS      "SslKeyPassMarker-8aa1"
#define CLIENT_ID      "sec-sp"
#define SASL_USER      "svc-kafka"
#define REG_USER       "reg-user"
#define TOPIC          "events"

/* Base64 of CLIENT_ID ":" M_CLIENT, REG_USER ":" M_REG, "\0" SASL_USER "\0" M_SASL */
static char b64_client[128], b64_reg[128], b64_sasl[128];

static char outdir[512];       /* every output of this test lands here */
static char registry_url[128]; /* every configuration names the registry (its password is set) */

static long scaled(long ms)
{
    return ms * dp_test_timeout_scale();
}

static void b64(const unsigned char *in, size_t n, char *out)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;

    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);

        out[o++] = tbl[v >> 18 & 63];
        out[o++] = tbl[v >> 12 & 63];
        out[o++] = i + 1 < n ? tbl[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? tbl[v & 63] : '=';
    }
    out[o] = '\0';
}

/* Writes text to <outdir>/<name>. */
static void save(const char *name, const char *text)
{
    char path[700];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", outdir, name);
    f = fopen(path, "w");
    if (f) {
        fputs(text ? text : "", f);
        fclose(f);
    }
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    *len = 0;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1)) != NULL) {
        *len = fread(buf, 1, (size_t)n, f);
        buf[*len] = '\0';
    }
    fclose(f);
    return buf;
}

/* Runs a deltaport command; saves its stdout (and stderr, in the log file
 * dp_proc_run does not capture, so through sh) under name. */
static int run_cmd(const char *name, char *const *args)
{
    char cmd[4096], out[65536], errlog[700];
    char *argv[] = {"sh", "-c", cmd, NULL};
    size_t used = 0;
    int rc;

    snprintf(errlog, sizeof(errlog), "%s/%s.stderr", outdir, name);
    for (int i = 0; args[i] && used < sizeof(cmd); i++)
        used += (size_t)snprintf(cmd + used, sizeof(cmd) - used, "'%s' ", args[i]);
    snprintf(cmd + used, sizeof(cmd) - used, "2>'%s'", errlog);
    rc = dp_proc_run(argv, out, sizeof(out), scaled(120000));
    snprintf(errlog, sizeof(errlog), "%s.stdout", name);
    save(errlog, out);
    return rc;
}

typedef struct body {
    char *p;
    size_t n;
} body_t;

static size_t collect(char *d, size_t s, size_t n, void *u)
{
    body_t *b = u;
    char *q = realloc(b->p, b->n + s * n + 1);

    if (!q)
        return 0;
    b->p = q;
    memcpy(b->p + b->n, d, s * n);
    b->n += s * n;
    b->p[b->n] = '\0';
    return s * n;
}

/* GETs http://127.0.0.1:port/path and saves the body as name; returns the
 * status or -1. */
static long http_get(int port, const char *path, const char *name)
{
    CURL *c = curl_easy_init();
    body_t b = {NULL, 0};
    char url[128];
    long status = -1;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    save(name, b.p);
    free(b.p);
    return status;
}

/* Waits until the file at path contains text. Returns 0, or -1 on timeout. */
static int wait_text(const char *path, const char *text, long timeout_ms)
{
    long long deadline = dp_test_now_ms() + scaled(timeout_ms);

    while (dp_test_now_ms() < deadline) {
        size_t n;
        char *log = slurp(path, &n);
        int found = log && strstr(log, text);

        free(log);
        if (found)
            return 0;
        dp_test_sleep_ms(100);
    }
    return -1;
}

/* The worker's HTTP port from its log ("(port N)"), or -1. */
static int worker_port(const char *log, long timeout_ms)
{
    long long deadline = dp_test_now_ms() + scaled(timeout_ms);

    while (dp_test_now_ms() < deadline) {
        size_t n;
        char *text = slurp(log, &n);
        char *p = text ? strstr(text, "readyz on 127.0.0.1:0 (port ") : NULL;
        long long v = -1;

        if (p)
            dp_test_parse_ll(p + strlen("readyz on 127.0.0.1:0 (port "), ")", &v);
        free(text);
        if (v > 0)
            return (int)v;
        dp_test_sleep_ms(100);
    }
    return -1;
}

static int write_config(const char *name, const char *bootstrap, const char *kafka_props,
                        const char *auth, const char *emu_url, char *path, size_t pathlen)
{
    char reg[400] = "";
    FILE *f;

    snprintf(path, pathlen, "%s/%s.json", outdir, name);
    if (registry_url[0])
        snprintf(reg, sizeof(reg),
                 ", \"registry_url\": \"%s\", \"registry_allow_insecure_http\": true,"
                 " \"registry_user\": \"" REG_USER "\", \"registry_retry_ms\": 500",
                 registry_url);
    f = fopen(path, "w");
    if (!DP_ASSERT_MSG(f != NULL, "cannot write %s", path))
        return -1;
    fprintf(f,
            "{\"kafka\": {\"bootstrap_servers\": \"%s\", \"topics\": [\"" TOPIC "\"],\n"
            "  \"group_id\": \"sec-%s-%d\", \"properties\": {\"session.timeout.ms\": 6000,\n"
            "  \"heartbeat.interval.ms\": 1000, \"fetch.wait.max.ms\": 10,\n"
            "  \"reconnect.backoff.ms\": 200, \"reconnect.backoff.max.ms\": 1000,\n"
            "  \"debug\": \"all\"%s}},\n"
            " \"schemas\": {\"dir\": \"" DP_SOURCE_DIR "/schemas\"%s},\n"
            " \"flush\": {\"max_events\": 1000, \"max_age_ms\": 500},\n"
            " \"databricks\": {\"host\": \"%s\", \"allow_insecure_http\": true,\n"
            "  \"warehouse_id\": \"" DP_EMU_WAREHOUSE "\", \"catalog\": \"main\",\n"
            "  \"schema\": \"sec\", \"volume\": \"staging\", \"create_schema\": true,\n"
            "  \"auth\": \"%s\", \"client_id\": \"" CLIENT_ID "\",\n"
            "  \"statement_wait_timeout_s\": 5, \"max_retries\": 2},\n"
            " \"http\": {\"listen\": \"127.0.0.1:0\"},\n"
            " \"log\": {\"level\": \"debug\"}, \"worker\": {\"shutdown_timeout_ms\": 15000}}\n",
            bootstrap, name, (int)getpid(), kafka_props, reg, emu_url, auth);
    fclose(f);
    return 0;
}

/* Frames json encoded with the writer schema text under id (new, free()). */
static void *framed(const char *schema_text, uint32_t id, const char *json, size_t *len)
{
    dp_err_t err = {DP_OK, 0, ""};
    dp_schema_t *s = dp_schema_parse(schema_text, strlen(schema_text), &err);
    json_t *root = json_loads(json, 0, NULL);
    dp_reject_t rej = {DP_REJ_NONE, "", ""};
    dp_buf_t body;
    uint8_t *p = NULL;

    dp_buf_init(&body, 1 << 16);
    if (s && root && dp_json_event_encode(s, root, json, strlen(json), &body, &rej) == 0 &&
        (p = malloc(body.len + 5)) != NULL) {
        p[0] = 0;
        p[1] = (uint8_t)(id >> 24);
        p[2] = (uint8_t)(id >> 16);
        p[3] = (uint8_t)(id >> 8);
        p[4] = (uint8_t)id;
        memcpy(p + 5, body.data, body.len);
        *len = body.len + 5;
    }
    dp_buf_free(&body);
    json_decref(root);
    dp_schema_destroy(s);
    return p;
}

/* Produces framed events: n with registry id `id`, one with unknown id 7777. */
static int produce_framed(const dp_kafka_fixture_t *kf, const char *schema, uint32_t id, int n)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char errstr[256], json[512];
    rd_kafka_t *rk;
    int rc = 0;

    if (dp_kafka_fixture_conf(conf, kf, 0, errstr, sizeof(errstr)) < 0 ||
        !(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr)))) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    for (int i = 0; i <= n && rc == 0; i++) {
        size_t len = 0;
        void *msg;

        snprintf(json, sizeof(json),
                 "{\"event_id\":\"reg-%d\",\"event_name\":\"checkout_done\","
                 "\"merchant_id\":\"m-1\",\"event_time\":%lld,\"cart\":%d}",
                 i, 1764000000000LL + i, i);
        msg = framed(schema, i < n ? id : 7777u, json, &len);
        rc = msg && rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(TOPIC), RD_KAFKA_V_VALUE(msg, len),
                                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                      RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR_NO_ERROR
                 ? 0
                 : -1;
        free(msg);
    }
    if (rd_kafka_flush(rk, (int)scaled(10000)) != RD_KAFKA_RESP_ERR_NO_ERROR)
        rc = -1;
    rd_kafka_destroy(rk);
    return rc;
}

/* ------------------------------------------------------------------------- */
/* The search                                                                */
/* ------------------------------------------------------------------------- */

static const char *needles[12];
static int nhits;
static char hit_report[2048];

static int scan_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    size_t n;
    char *text;

    (void)sb;
    (void)ftw;
    if (flag != FTW_F)
        return 0;
    text = slurp(path, &n);
    for (int i = 0; text && needles[i]; i++) {
        if (memmem(text, n, needles[i], strlen(needles[i]))) {
            size_t used = strlen(hit_report);

            nhits++;
            snprintf(hit_report + used, sizeof(hit_report) - used, "\n  \"%s\" in %s", needles[i],
                     path);
        }
    }
    free(text);
    return 0;
}

static void search_for_markers(const char *const *dirs)
{
    int i = 0;

    needles[i++] = M_SASL;
    needles[i++] = M_SASL_WRONG;
    needles[i++] = M_CLIENT;
    needles[i++] = M_CLIENT_WRONG;
    needles[i++] = M_PAT;
    needles[i++] = M_REG;
    needles[i++] = M_KEYPASS;
    needles[i++] = b64_client;
    needles[i++] = b64_reg;
    needles[i++] = b64_sasl;
    needles[i] = NULL;
    nhits = 0;
    hit_report[0] = '\0';
    for (int d = 0; dirs[d]; d++)
        nftw(dirs[d], scan_one, 16, FTW_PHYS);
}

/* ------------------------------------------------------------------------- */
/* The test                                                                  */
/* ------------------------------------------------------------------------- */

static int wait_rows(dp_emu_fixture_t *ef, const char *token, long long want, long timeout_ms)
{
    long long deadline = dp_test_now_ms() + scaled(timeout_ms), n = -1;

    while (dp_test_now_ms() < deadline) {
        n = dp_emu_scalar(ef, token,
                          "SELECT COALESCE(SUM(rows), 0) FROM main.sec.sync_runs "
                          "WHERE status = 'LOADED'");
        if (n >= want)
            return 0;
        dp_test_sleep_ms(500);
    }
    return -1;
}

/* Runs a SASL worker against l for a while; returns once the listener saw
 * want_ok successful and want_failed failed authentications (or timeout). */
static void sasl_worker(const char *name, dp_sasl_listener_t *l, const char *password,
                        const char *emu_url, int want_ok, int want_failed)
{
    char path[600], log[700], metrics[64];
    char *run[] = {DP_DELTAPORT_BIN, "run", "--config", path, NULL};
    dp_proc_t w;
    int hs = 0, ok = 0, failed = 0, port, rc;
    long long deadline;

    if (write_config(name, l->bootstrap,
                     ", \"security.protocol\": \"SASL_PLAINTEXT\", \"sasl.mechanism\": "
                     "\"PLAIN\", \"sasl.username\": \"" SASL_USER "\"",
                     "oauth", emu_url, path, sizeof(path)) < 0)
        return;
    snprintf(log, sizeof(log), "%s/%s.log", outdir, name);
    setenv("DELTAPORT_KAFKA_SASL_PASSWORD", password, 1);
    setenv("DELTAPORT_WORKER_ID", name, 1);
    if (!DP_ASSERT_MSG(dp_proc_start(&w, run, 0, log) == 0, "%s: cannot start", name))
        return;
    deadline = dp_test_now_ms() + scaled(45000);
    while (dp_test_now_ms() < deadline && (ok < want_ok || failed < want_failed)) {
        dp_test_sleep_ms(200);
        dp_sasl_listener_counts(l, &hs, &ok, &failed);
    }
    DP_ASSERT_MSG(ok >= want_ok && failed >= want_failed && hs >= want_ok + want_failed,
                  "%s: expected SASL/PLAIN handshakes with %d accepted and %d refused "
                  "passwords, got %d handshakes, %d accepted, %d refused (log %s)",
                  name, want_ok, want_failed, hs, ok, failed, log);
    port = worker_port(log, 10000);
    if (DP_ASSERT_MSG(port > 0, "%s: no HTTP port in the log", name)) {
        snprintf(metrics, sizeof(metrics), "%s.metrics", name);
        DP_ASSERT_MSG(http_get(port, "/metrics", metrics) == 200, "%s: /metrics", name);
        snprintf(metrics, sizeof(metrics), "%s.healthz", name);
        http_get(port, "/healthz", metrics);
    }
    dp_proc_signal(&w, SIGTERM);
    rc = dp_proc_wait(&w, scaled(40000));
    DP_ASSERT_MSG(rc >= 0 && rc < 128, "%s: expected an exit after SIGTERM, got %d", name, rc);
    dp_proc_stop(&w, 1000);
}

static void test_secrets_at_every_level(void)
{
    dp_kafka_fixture_t kf;
    dp_emu_fixture_t ef;
    dp_registry_fixture_t rf;
    dp_sasl_listener_t good, bad;
    const char *topics[] = {TOPIC ":2", NULL};
    const char *emu_args[] = {"--client", CLIENT_ID ":" M_CLIENT, "--pat", M_PAT "=pat-user", NULL};
    const char *reg_args[] = {"--user", REG_USER ":" M_REG, "--first-id", "100", NULL};
    const char *writer = "{\"type\":\"record\",\"name\":\"Checkout\",\"namespace\":\"shop\","
                         "\"fields\":[{\"name\":\"event_id\",\"type\":\"string\"},"
                         "{\"name\":\"event_name\",\"type\":\"string\"},"
                         "{\"name\":\"merchant_id\",\"type\":\"string\"},"
                         "{\"name\":\"cart\",\"type\":\"int\"},"
                         "{\"name\":\"event_time\",\"type\":{\"type\":\"long\","
                         "\"logicalType\":\"timestamp-millis\"}}]}";
    char cfg_a[600], cfg_pat[600], cfg_b[600], log_a[700], token[2048], out[512], q[1024];
    char events[700];
    char *run[] = {DP_DELTAPORT_BIN, "run", "--config", cfg_a, NULL};
    char *produce[] = {DP_DELTAPORT_BIN,  "produce", "--bootstrap", kf.bootstrap,
                       "--topic",         TOPIC,     "--count",     "40",
                       "--invalid-every", "8",       "--seed",      "3",
                       "--quiet",         NULL};
    dp_proc_t wa;
    json_t *rows;
    long id;
    int port, rc;

    memset(&good, 0, sizeof(good));
    memset(&bad, 0, sizeof(bad));
    good.fd = bad.fd = -1;
    if (!DP_ASSERT_MSG(dp_kafka_fixture_start(&kf, 1, topics) == 0,
                       "expected the embedded Kafka to start"))
        return;
    if (!DP_ASSERT_MSG(dp_emu_fixture_start(&ef, emu_args) == 0,
                       "expected the emulator to start")) {
        dp_kafka_fixture_stop(&kf);
        return;
    }
    if (!DP_ASSERT_MSG(dp_registry_fixture_start(&rf, reg_args) == 0,
                       "expected the fake registry to start")) {
        dp_emu_fixture_stop(&ef);
        dp_kafka_fixture_stop(&kf);
        return;
    }
    snprintf(registry_url, sizeof(registry_url), "%s", rf.url);
    setenv("DELTAPORT_DATABRICKS_CLIENT_SECRET", M_CLIENT, 1);
    setenv("DELTAPORT_DATABRICKS_TOKEN", M_PAT, 1);
    setenv("DELTAPORT_KAFKA_SASL_PASSWORD", M_SASL, 1);
    setenv("DELTAPORT_KAFKA_SSL_KEY_PASSWORD", M_KEYPASS, 1);
    setenv("DELTAPORT_SCHEMA_REGISTRY_PASSWORD", M_REG, 1);
    setenv("DELTAPORT_WORKER_ID", "sec-a", 1);

    /* --- worker A: the whole pipeline at debug, librdkafka debug=all --- */
    id = dp_registry_fixture_register(&rf, "events-value", writer);
    snprintf(log_a, sizeof(log_a), "%s/worker-a.log", outdir);
    if (!DP_ASSERT_MSG(id >= 100, "expected the writer registered, got %ld", id) ||
        write_config("worker-a", kf.bootstrap, "", "oauth", ef.url, cfg_a, sizeof(cfg_a)) < 0 ||
        !DP_ASSERT_MSG(dp_emu_token(&ef, CLIENT_ID, M_CLIENT, token, sizeof(token)) == 0,
                       "no token for the test's queries") ||
        !DP_ASSERT_MSG(dp_proc_start(&wa, run, 0, log_a) == 0, "cannot start worker A"))
        goto out;
    /* Once the partitions are claimed: failed statements (the loader retries,
     * the second failure logged at debug) and a refused token (a forced
     * refresh) take the worker through the paths that handle credentials. */
    DP_ASSERT_MSG(wait_text(log_a, "claimed ", 60000) == 0, "expected worker A to claim");
    DP_ASSERT_MSG(dp_emu_fault(&ef, "{\"endpoint\":\"statements.submit\",\"kind\":\"failed\","
                                    "\"statement\":\"COPY INTO\",\"count\":3}") == 0 &&
                      dp_emu_fault(&ef, "{\"endpoint\":\"files.upload\","
                                        "\"kind\":\"expire_token\",\"count\":1}") == 0,
                  "expected the emulator to take the faults");
    if (!DP_ASSERT_MSG(dp_proc_run(produce, out, sizeof(out), scaled(60000)) == 0, "produce: %s",
                       out) ||
        !DP_ASSERT_MSG(produce_framed(&kf, writer, (uint32_t)id, 5) == 0,
                       "expected the framed events produced"))
        goto stop_a;
    /* 35 valid + 5 registry-framed; 5 invalid and 1 unknown id to event_errors */
    rc = wait_rows(&ef, token, 46, 120000);
    DP_ASSERT_MSG(rc == 0, "expected worker A to load 46 rows (see %s)", log_a);
    DP_ASSERT_MSG(dp_registry_fixture_id_gets(&rf) >= 1,
                  "expected the registry asked with the password");
    port = worker_port(log_a, 10000);
    if (DP_ASSERT_MSG(port > 0, "worker A: no HTTP port in its log")) {
        DP_ASSERT_MSG(http_get(port, "/metrics", "worker-a.metrics") == 200, "worker A /metrics");
        DP_ASSERT_MSG(http_get(port, "/healthz", "worker-a.healthz") == 200, "worker A /healthz");
        http_get(port, "/readyz", "worker-a.readyz");
    }
stop_a:
    dp_proc_signal(&wa, SIGTERM);
    rc = dp_proc_wait(&wa, scaled(40000));
    DP_ASSERT_MSG(rc == 0, "worker A: expected exit 0 after SIGTERM, got %d", rc);
    dp_proc_stop(&wa, 1000);
    rows = dp_emu_rows(&ef, token, "SELECT * FROM main.sec.event_errors");
    if (DP_ASSERT_MSG(rows && json_array_size(rows) >= 6,
                      "expected the invalid and unknown-id events in event_errors")) {
        char *text = json_dumps(rows, JSON_COMPACT);

        save("event_errors.json", text);
        free(text);
    }
    json_decref(rows);
    rows = dp_emu_rows(&ef, token, "SELECT * FROM main.sec.sync_runs");
    if (rows) {
        char *text = json_dumps(rows, JSON_COMPACT);

        save("sync_runs.json", text);
        free(text);
    }
    json_decref(rows);

    /* --- commands --- */
    {
        char *dump[] = {DP_DELTAPORT_BIN, "config", "dump", "--config", cfg_a, NULL};
        char *ccheck[] = {DP_DELTAPORT_BIN, "config", "check", "--config", cfg_a, NULL};
        char *check[] = {DP_DELTAPORT_BIN, "check", "--config", cfg_a, NULL};
        char *check_pat[] = {DP_DELTAPORT_BIN, "check", "--config", cfg_pat, NULL};
        char *query[] = {DP_DELTAPORT_BIN,
                         "query",
                         "--config",
                         cfg_a,
                         "SELECT event_id FROM main.sec.event_errors",
                         NULL};
        char *bad_query[] = {DP_DELTAPORT_BIN, "query", "--config", cfg_a, "SELEC nonsense", NULL};
        char *validate[] = {DP_DELTAPORT_BIN, "validate", "--config", cfg_a, events, NULL};

        DP_ASSERT_MSG(run_cmd("config-dump", dump) == 0, "config dump failed");
        DP_ASSERT_MSG(run_cmd("config-check", ccheck) == 0, "config check failed");
        DP_ASSERT_MSG(run_cmd("check-oauth", check) == 0, "check with the client secret failed");
        if (write_config("pat", kf.bootstrap, "", "pat", ef.url, cfg_pat, sizeof(cfg_pat)) == 0)
            DP_ASSERT_MSG(run_cmd("check-pat", check_pat) == 0, "check with the PAT failed");
        run_cmd("query", query);
        DP_ASSERT_MSG(run_cmd("query-error", bad_query) != 0, "a bad statement must fail");
        snprintf(events, sizeof(events), "%s", DP_SOURCE_DIR "/tests/data/codec/bad.jsonl");
        run_cmd("validate", validate);
        setenv("DELTAPORT_DATABRICKS_CLIENT_SECRET", M_CLIENT_WRONG, 1);
        DP_ASSERT_MSG(run_cmd("check-wrong-secret", check) != 0,
                      "check with a wrong secret must fail");
        setenv("DELTAPORT_DATABRICKS_CLIENT_SECRET", M_CLIENT, 1);
    }

    /* --- workers B and C: SASL/PLAIN, right and wrong password --- */
    if (DP_ASSERT_MSG(dp_sasl_listener_start(&good, SASL_USER, M_SASL) == 0,
                      "cannot start the SASL listener")) {
        char *check_sasl[] = {DP_DELTAPORT_BIN, "check", "--config", cfg_b, NULL};

        sasl_worker("worker-b", &good, M_SASL, ef.url, 2, 0);
        if (write_config("check-sasl", good.bootstrap,
                         ", \"security.protocol\": \"SASL_PLAINTEXT\", \"sasl.mechanism\": "
                         "\"PLAIN\", \"sasl.username\": \"" SASL_USER "\"",
                         "oauth", ef.url, cfg_b, sizeof(cfg_b)) == 0) {
            setenv("DELTAPORT_KAFKA_SASL_PASSWORD", M_SASL, 1);
            run_cmd("check-sasl", check_sasl);
        }
    }
    if (DP_ASSERT_MSG(dp_sasl_listener_start(&bad, SASL_USER, M_SASL) == 0,
                      "cannot start the second SASL listener"))
        sasl_worker("worker-c", &bad, M_SASL_WRONG, ef.url, 0, 1);

out:
    dp_sasl_listener_stop(&good);
    dp_sasl_listener_stop(&bad);
    {
        /* the emulator's request log and stderr are read before its directory goes */
        const char *dirs[] = {outdir, ef.dir, rf.dir, kf.dir, NULL};

        search_for_markers(dirs);
        DP_ASSERT_MSG(nhits == 0, "expected no secret in any output, found %d:%s", nhits,
                      hit_report);
        snprintf(q, sizeof(q), "%s/worker-a.log", outdir);
    }
    {
        size_t n;
        char *log = slurp(q, &n);

        /* the search is worth something only if the debug lines are there */
        DP_ASSERT_MSG(log && strstr(log, "load failed, data kept") &&
                          strstr(log, "\"fac\":\"CONF\"") && strstr(log, "client.id = sec-a"),
                      "expected worker A's log with the failed loads and librdkafka's debug lines");
        free(log);
        snprintf(q, sizeof(q), "%s/config-dump.stdout", outdir);
        log = slurp(q, &n);
        DP_ASSERT_MSG(log && strstr(log, "\"level\": \"debug\""),
                      "expected the workers to have run at log.level debug");
        free(log);
        snprintf(q, sizeof(q), "%s/worker-b.log", outdir);
        log = slurp(q, &n);
        DP_ASSERT_MSG(log && strstr(log, "SASL") && strstr(log, "PLAIN"),
                      "expected librdkafka's SASL debug lines in worker B's log");
        free(log);
    }
    dp_registry_fixture_stop(&rf);
    dp_emu_fixture_stop(&ef);
    dp_kafka_fixture_stop(&kf);
}

static int suite_init(void)
{
    unsigned char sasl[128];
    size_t n;

    b64((const unsigned char *)CLIENT_ID ":" M_CLIENT, strlen(CLIENT_ID ":" M_CLIENT), b64_client);
    b64((const unsigned char *)REG_USER ":" M_REG, strlen(REG_USER ":" M_REG), b64_reg);
    n = (size_t)snprintf((char *)sasl + 1, sizeof(sasl) - 1, "%s", SASL_USER) + 1;
    sasl[0] = 0;
    sasl[n] = 0;
    memcpy(sasl + n + 1, M_SASL, strlen(M_SASL));
    b64(sasl, n + 1 + strlen(M_SASL), b64_sasl);
    unsetenv("DELTAPORT_KAFKA_BOOTSTRAP_SERVERS");
    unsetenv("DELTAPORT_DATABRICKS_HOST");
    unsetenv("DELTAPORT_LOG_LEVEL");
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return dp_test_tmpdir("secrets", outdir, sizeof(outdir));
}

static int suite_cleanup(void)
{
    if (!getenv("DP_TEST_KEEP"))
        dp_test_rmtree(outdir);
    curl_global_cleanup();
    return 0;
}

static const dp_test_case_t k_cases[] = {
    {"test_secrets_at_every_level", test_secrets_at_every_level},
    {NULL, NULL},
};

static const dp_test_suite_t k_suites[] = {
    {"secrets", suite_init, suite_cleanup, k_cases},
    {NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
    return dp_test_main(argc, argv, k_suites);
}
