/*
 * Integration tests of the HTTP port and of a running worker's operations
 * surface:
 *   - the server in-process on 127.0.0.1 port 0: /metrics with the 0.0.4
 *     Content-Type and a valid exposition, /healthz and /readyz following the
 *     health state, 404 and 405;
 *   - `deltaport run` at debug level against the embedded Kafka and the
 *     Databricks emulator: /metrics counts what was consumed, rejected,
 *     loaded and committed, both lags reach 0 once everything is committed,
 *     the probes answer 200, SIGTERM exits 0; and neither the client secret,
 *     its Basic form, a bearer token nor a token response appears anywhere in
 *     the worker's log or in `config dump`;
 *   - with the broker taken down: /readyz 503 naming the cause, brokers up 0,
 *     /healthz 200, then ready again; every log line JSON, librdkafka's
 *     with the worker id and the group; the progress line.
 */
#define _GNU_SOURCE
#include "dp_proc.h"
#include "dp_test.h"
#include "emu_fixture.h"
#include "kafka_fixture.h"
#include "ops/health.h"
#include "ops/httpd.h"
#include "ops/metrics.h"
#include "prom_check.h"

#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOPIC      "events"
#define PARTITIONS 4
#define CLIENT_ID  "deltaport-ops-sp"
#define SECRET     "s3cr3t-0ps-VALUE-9f1e2d"
/* base64("deltaport-ops-sp:s3cr3t-0ps-VALUE-9f1e2d"), the Basic credential */
#define SECRET_BASIC "ZGVsdGFwb3J0LW9wcy1zcDpzM2NyM3QtMHBzLVZBTFVFLTlmMWUyZA=="

typedef struct reply {
    long status;
    char type[128];
    char *body;
    size_t len;
} reply_t;

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    reply_t *r = ctx;

    r->body = realloc(r->body, r->len + size * n + 1);
    memcpy(r->body + r->len, p, size * n);
    r->len += size * n;
    r->body[r->len] = '\0';
    return size * n;
}

/* One request to 127.0.0.1:port; r->body is new (free). Returns 0 or -1. */
static int http(int port, const char *method, const char *path, reply_t *r)
{
    char url[128];
    char *type = NULL;
    CURL *c = curl_easy_init();
    CURLcode rc;

    memset(r, 0, sizeof(*r));
    r->body = calloc(1, 1);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L * dp_test_timeout_scale());
    rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type);
    if (type)
        snprintf(r->type, sizeof(r->type), "%s", type);
    curl_easy_cleanup(c);
    return rc == CURLE_OK ? 0 : -1;
}

/* ------------------------------------------------------------------------- */
/* The server in-process                                                     */
/* ------------------------------------------------------------------------- */

static void test_httpd_serves_metrics_and_probes(void)
{
    dp_err_t err;
    dp_httpd_t *httpd;
    reply_t r;
    char why[256];
    int port;

    dp_metrics_reset();
    dp_health_init(60000);
    httpd = dp_httpd_start("127.0.0.1:0", &err);
    DP_ASSERT_FATAL_MSG(httpd != NULL, "expected the server to start, got: %s", err.msg);
    port = dp_httpd_port(httpd);
    DP_ASSERT_MSG(port > 0, "expected a bound port, got %d", port);

    DP_ASSERT_MSG(http(port, "GET", "/readyz", &r) == 0 && r.status == 503 &&
                      strstr(r.body, "starting"),
                  "expected /readyz 503 starting before init, got %ld %s", r.status, r.body);
    free(r.body);
    dp_health_set_ready(1);
    DP_ASSERT_MSG(http(port, "GET", "/readyz", &r) == 0 && r.status == 200,
                  "expected /readyz 200 once ready, got %ld", r.status);
    free(r.body);
    DP_ASSERT_MSG(http(port, "GET", "/healthz", &r) == 0 && r.status == 200,
                  "expected /healthz 200, got %ld %s", r.status, r.body);
    free(r.body);

    dp_metrics_add(DP_MC_MESSAGES_CONSUMED, 3);
    DP_ASSERT_MSG(http(port, "GET", "/metrics", &r) == 0 && r.status == 200,
                  "expected /metrics 200, got %ld", r.status);
    DP_ASSERT_MSG(strcmp(r.type, DP_METRICS_CONTENT_TYPE) == 0, "expected Content-Type %s, got %s",
                  DP_METRICS_CONTENT_TYPE, r.type);
    DP_ASSERT_MSG(dp_prom_check(r.body, r.len, why, sizeof(why)) == 0,
                  "expected a valid exposition, got: %s", why);
    DP_ASSERT_MSG(strstr(r.body, "\ndeltaport_kafka_messages_consumed_total 3\n") != NULL,
                  "expected the counter in the scrape");
    free(r.body);

    dp_health_beat_at(DP_HEALTH_LOADER, dp_health_now_ms() - 120000);
    DP_ASSERT_MSG(http(port, "GET", "/healthz", &r) == 0 && r.status == 503 &&
                      strstr(r.body, "loader"),
                  "expected /healthz 503 naming the loader, got %ld %s", r.status, r.body);
    free(r.body);
    dp_health_stopping();
    DP_ASSERT_MSG(http(port, "GET", "/readyz", &r) == 0 && r.status == 503 &&
                      strstr(r.body, "shutting down"),
                  "expected /readyz 503 once stopping, got %ld %s", r.status, r.body);
    free(r.body);
    DP_ASSERT_MSG(http(port, "GET", "/nope", &r) == 0 && r.status == 404, "expected 404, got %ld",
                  r.status);
    free(r.body);
    DP_ASSERT_MSG(http(port, "POST", "/metrics", &r) == 0 && r.status == 405,
                  "expected 405, got %ld", r.status);
    free(r.body);
    dp_httpd_stop(httpd);
}

static void test_httpd_rejects_bad_and_busy_addresses(void)
{
    dp_err_t err;
    dp_httpd_t *a, *b;
    char addr[64];

    DP_ASSERT_MSG(dp_httpd_start("no-port-here", &err) == NULL && err.code == DP_EINVAL,
                  "expected DP_EINVAL for an address without a port");
    a = dp_httpd_start("127.0.0.1:0", &err);
    DP_ASSERT_FATAL_MSG(a != NULL, "expected the first server to start: %s", err.msg);
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", dp_httpd_port(a));
    b = dp_httpd_start(addr, &err);
    DP_ASSERT_MSG(b == NULL && err.code == DP_EIO && strstr(err.msg, addr),
                  "expected DP_EIO naming %s for a port in use, got %s", addr, err.msg);
    dp_httpd_stop(b);
    dp_httpd_stop(a);
}

/* ------------------------------------------------------------------------- */
/* A running worker                                                          */
/* ------------------------------------------------------------------------- */

typedef struct env {
    dp_kafka_fixture_t kf;
    dp_emu_fixture_t ef;
    char config[400];
    char log[400];
    int up;
} env_t;

static long scaled(long ms)
{
    return ms * dp_test_timeout_scale();
}

/* extra: the "http" and "log" objects of the configuration, and the
 * librdkafka properties beyond the test defaults. */
typedef struct variant {
    const char *http_log;
    const char *kafka_props;
} variant_t;

static const variant_t debug_variant = {
    " \"http\": {\"listen\": \"127.0.0.1:0\", \"liveness_max_age_ms\": 30000},\n"
    " \"log\": {\"level\": \"debug\"},\n",
    ""};

static int env_start_variant(env_t *env, const variant_t *v)
{
    static const char *const emu_args[] = {"--client", CLIENT_ID ":" SECRET, NULL};
    char topic[32];
    const char *topics[] = {topic, NULL};
    FILE *f;

    memset(env, 0, sizeof(*env));
    snprintf(topic, sizeof(topic), TOPIC ":%d", PARTITIONS);
    if (dp_kafka_fixture_start(&env->kf, 1, topics) < 0)
        return -1;
    if (dp_emu_fixture_start(&env->ef, emu_args) < 0) {
        dp_kafka_fixture_stop(&env->kf);
        return -1;
    }
    env->up = 1;
    snprintf(env->config, sizeof(env->config), "%s/worker.json", env->ef.dir);
    snprintf(env->log, sizeof(env->log), "%s/worker.log", env->ef.dir);
    f = fopen(env->config, "w");
    if (!f)
        return -1;
    fprintf(f,
            "{\"kafka\": {\"bootstrap_servers\": \"%s\", \"topics\": [\"" TOPIC "\"],\n"
            "  \"group_id\": \"ops-%d\", \"properties\": {\"session.timeout.ms\": 6000,\n"
            "  \"heartbeat.interval.ms\": 1000, \"fetch.wait.max.ms\": 10%s}},\n"
            " \"schemas\": {\"dir\": \"%s/schemas\"},\n"
            " \"flush\": {\"max_events\": 100, \"max_bytes\": \"8MiB\", \"max_age_ms\": 500,\n"
            "  \"memory_budget_bytes\": \"64MiB\"},\n"
            " \"databricks\": {\"host\": \"%s\", \"allow_insecure_http\": true,\n"
            "  \"warehouse_id\": \"" DP_EMU_WAREHOUSE "\", \"catalog\": \"main\",\n"
            "  \"schema\": \"ops\", \"volume\": \"staging\", \"create_schema\": true,\n"
            "  \"auth\": \"oauth\", \"client_id\": \"" CLIENT_ID "\",\n"
            "  \"statement_wait_timeout_s\": 5},\n"
            "%s"
            " \"worker\": {\"id\": \"ops-worker\", \"shutdown_timeout_ms\": 20000}}\n",
            env->kf.bootstrap, (int)getpid(), v->kafka_props, DP_SOURCE_DIR, env->ef.url,
            v->http_log);
    fclose(f);
    setenv("DELTAPORT_DATABRICKS_CLIENT_SECRET", SECRET, 1);
    return 0;
}

static int env_start(env_t *env)
{
    return env_start_variant(env, &debug_variant);
}

static void env_stop(env_t *env)
{
    if (!env->up)
        return;
    dp_emu_fixture_stop(&env->ef);
    dp_kafka_fixture_stop(&env->kf);
    env->up = 0;
}

/* Reads the whole file (new, free) or NULL. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    size_t len = 0, n;
    char chunk[8192];

    if (!f)
        return NULL;
    text = calloc(1, 1);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        text = realloc(text, len + n + 1);
        memcpy(text + len, chunk, n);
        len += n;
        text[len] = '\0';
    }
    fclose(f);
    return text;
}

/* The port the worker logged ("... (port N)"), or -1 after timeout_ms. */
static int worker_port(const char *log, long timeout_ms)
{
    long long deadline = dp_test_now_ms() + scaled(timeout_ms);

    while (dp_test_now_ms() < deadline) {
        char *text = slurp(log);
        char *p = text ? strstr(text, "readyz on 127.0.0.1:0 (port ") : NULL;
        long long v = -1;
        int port = p && dp_test_parse_ll(p + strlen("readyz on 127.0.0.1:0 (port "), ")", &v) == 0
                       ? (int)v
                       : -1;

        free(text);
        if (port > 0)
            return port;
        dp_test_sleep_ms(100);
    }
    return -1;
}

static double sum_of(const char *text, const char *name)
{
    double s = 0;

    return dp_prom_sum(text, name, &s) > 0 ? s : -1;
}

/* Scrapes until everything produced is consumed, loaded and committed and
 * both lags are 0. Returns the last scrape (new) or NULL. */
static char *wait_settled(int port, int produced, int rejected, long timeout_ms)
{
    long long deadline = dp_test_now_ms() + scaled(timeout_ms);
    reply_t r = {0};

    while (dp_test_now_ms() < deadline) {
        if (http(port, "GET", "/metrics", &r) == 0 && r.status == 200 &&
            sum_of(r.body, "deltaport_kafka_messages_consumed_total") >= produced &&
            sum_of(r.body, "deltaport_events_rejected_total") == rejected &&
            sum_of(r.body, "deltaport_kafka_consumer_lag") == 0 &&
            sum_of(r.body, "deltaport_kafka_consumer_fetch_lag") == 0 &&
            sum_of(r.body, "deltaport_kafka_commits_total") > 0)
            return r.body;
        free(r.body);
        r.body = NULL;
        dp_test_sleep_ms(300);
    }
    return NULL;
}

static int produce(env_t *env, int count, int invalid_every)
{
    char n[16], inv[16], out[512];
    char *argv[] = {DP_DELTAPORT_BIN,  "produce", "--bootstrap", env->kf.bootstrap,
                    "--topic",         TOPIC,     "--count",     n,
                    "--invalid-every", inv,       "--quiet",     NULL};

    snprintf(n, sizeof(n), "%d", count);
    snprintf(inv, sizeof(inv), "%d", invalid_every);
    return dp_proc_run(argv, out, sizeof(out), scaled(60000));
}

static void assert_no_secret(const char *what, const char *text)
{
    static const char *const needles[] = {SECRET,         SECRET_BASIC,     "Bearer ",
                                          "access_token", "Authorization:", NULL};

    for (int i = 0; needles[i]; i++)
        DP_ASSERT_MSG(strstr(text, needles[i]) == NULL, "expected no \"%s\" in %s", needles[i],
                      what);
}

/* Waits until the file at path contains text. Returns 0, or -1 on timeout. */
static int wait_text(const char *path, const char *text, long timeout_ms)
{
    long long deadline = dp_test_now_ms() + timeout_ms * dp_test_timeout_scale();

    while (dp_test_now_ms() < deadline) {
        char *log = slurp(path);
        int found = log && strstr(log, text);

        free(log);
        if (found)
            return 0;
        dp_test_sleep_ms(100);
    }
    return -1;
}

static void test_worker_metrics_probes_and_secret_free_logs(void)
{
    env_t env;
    dp_proc_t worker = {0};
    char *argv[] = {DP_DELTAPORT_BIN, "run", "--config", NULL, NULL};
    char dump[16384];
    char *dump_argv[] = {DP_DELTAPORT_BIN, "config", "dump", "--config", NULL, NULL};
    char *scrape = NULL, *log = NULL;
    char why[256];
    reply_t r;
    int port, status;

    if (env_start(&env) < 0) {
        env_stop(&env);
        DP_ASSERT_FATAL_MSG(0, "expected the embedded Kafka and the emulator to start");
    }
    argv[3] = env.config;
    /* A failed statement (a retried load) and a rejected token (a forced
     * refresh) take the worker through the paths that handle credentials. */
    DP_ASSERT_FATAL_MSG(dp_proc_start(&worker, argv, 0, env.log) == 0, "expected the worker");
    port = worker_port(env.log, 20000);
    if (!DP_ASSERT_MSG(port > 0, "expected the worker to log its HTTP port"))
        goto out;
    /* Once the partitions are claimed (the claims use statements too). */
    DP_ASSERT_MSG(wait_text(env.log, "claimed ", 30000) == 0, "expected the partitions claimed");
    DP_ASSERT_MSG(dp_emu_fault(&env.ef, "{\"endpoint\":\"statements.submit\",\"kind\":\"failed\","
                                        "\"statement\":\"COPY INTO\",\"count\":1}") == 0 &&
                      dp_emu_fault(&env.ef, "{\"endpoint\":\"files.upload\","
                                            "\"kind\":\"expire_token\",\"count\":1}") == 0,
                  "expected the emulator to take the faults");
    DP_ASSERT_MSG(produce(&env, 300, 30) == 0, "expected 300 events produced");
    scrape = wait_settled(port, 300, 10, 60000);
    if (!DP_ASSERT_MSG(scrape != NULL, "expected 300 consumed, 10 rejected, lags 0 and commits"))
        goto out;
    DP_ASSERT_MSG(dp_prom_check(scrape, strlen(scrape), why, sizeof(why)) == 0,
                  "expected a valid exposition from the worker: %s", why);
    DP_ASSERT_MSG(sum_of(scrape, "deltaport_rows_loaded_total") >= 300,
                  "expected >= 300 rows loaded (events, errors and system rows), got %g",
                  sum_of(scrape, "deltaport_rows_loaded_total"));
    DP_ASSERT_MSG(sum_of(scrape, "deltaport_flush_duration_seconds_count") >= 1 &&
                      sum_of(scrape, "deltaport_copy_into_duration_seconds_count") >= 1,
                  "expected flush and COPY INTO observations");
    DP_ASSERT_MSG(sum_of(scrape, "deltaport_oauth_token_fetches_total") >= 2,
                  "expected the first token and the forced refresh counted, got %g",
                  sum_of(scrape, "deltaport_oauth_token_fetches_total"));
    DP_ASSERT_MSG(sum_of(scrape, "deltaport_load_retries_total") >= 1,
                  "expected the failed statement counted as a retry");
    DP_ASSERT_MSG(sum_of(scrape, "deltaport_kafka_assigned_partitions") == PARTITIONS,
                  "expected %d partitions assigned, got %g", PARTITIONS,
                  sum_of(scrape, "deltaport_kafka_assigned_partitions"));
    DP_ASSERT_MSG(sum_of(scrape, "deltaport_last_load_success_timestamp_seconds") > 1.7e9,
                  "expected a load timestamp");
    DP_ASSERT_MSG(http(port, "GET", "/healthz", &r) == 0 && r.status == 200,
                  "expected /healthz 200 from the worker, got %ld %s", r.status, r.body);
    free(r.body);
    DP_ASSERT_MSG(http(port, "GET", "/readyz", &r) == 0 && r.status == 200,
                  "expected /readyz 200 from the worker, got %ld %s", r.status, r.body);
    free(r.body);
out:
    status = dp_proc_stop(&worker, scaled(30000));
    DP_ASSERT_MSG(status == 0, "expected the worker to exit 0 after SIGTERM, got %d", status);
    log = slurp(env.log);
    DP_ASSERT_MSG(log && strstr(log, "load failed, data kept"), "expected the retried load logged");
    if (log)
        assert_no_secret("the worker's debug log", log);
    dump_argv[4] = env.config;
    DP_ASSERT_MSG(dp_proc_run(dump_argv, dump, sizeof(dump), scaled(10000)) == 0,
                  "expected config dump to succeed");
    assert_no_secret("config dump", dump);
    DP_ASSERT_MSG(strstr(dump, "\"level\": \"debug\"") != NULL,
                  "expected the worker to have run at debug level");
    free(log);
    free(scrape);
    env_stop(&env);
}

/* Waits until GET path answers status with a body containing text (NULL:
 * any). Returns the last body (new, free) or NULL on timeout. */
static char *wait_http(int port, const char *path, long status, const char *text, long timeout_ms)
{
    long long deadline = dp_test_now_ms() + scaled(timeout_ms);
    reply_t r = {0};

    while (dp_test_now_ms() < deadline) {
        if (http(port, "GET", path, &r) == 0 && r.status == status &&
            (!text || strstr(r.body, text)))
            return r.body;
        free(r.body);
        r.body = NULL;
        dp_test_sleep_ms(200);
    }
    return NULL;
}

/* Every line of the log is a JSON object with ts, level, module and msg;
 * counts the lines of module rdkafka that carry worker_id and group, and the
 * progress lines. Returns the number of lines, or -1 with why. */
static int check_log(const char *log, const char *group, int *rdkafka, int *progress, char *why,
                     size_t whylen)
{
    int n = 0;

    *rdkafka = *progress = 0;
    while (*log) {
        const char *nl = strchr(log, '\n');
        json_error_t jerr;
        json_t *o;
        const char *module, *wid, *grp;

        if (!nl)
            nl = log + strlen(log);
        o = json_loadb(log, (size_t)(nl - log), 0, &jerr);
        module = json_string_value(json_object_get(o, "module"));
        if (!module || !json_is_string(json_object_get(o, "msg")) ||
            !json_is_string(json_object_get(o, "level"))) {
            snprintf(why, whylen, "line %d is not a JSON log line: %.200s", n + 1, log);
            json_decref(o);
            return -1;
        }
        wid = json_string_value(json_object_get(o, "worker_id"));
        grp = json_string_value(json_object_get(o, "group"));
        if (strcmp(module, "rdkafka") == 0 && wid && strcmp(wid, "ops-worker") == 0 && grp &&
            strcmp(grp, group) == 0 && json_is_string(json_object_get(o, "fac")))
            (*rdkafka)++;
        if (strcmp(module, "progress") == 0 && json_is_string(json_object_get(o, "consumed")) &&
            json_is_string(json_object_get(o, "committed")))
            (*progress)++;
        json_decref(o);
        n++;
        log = *nl ? nl + 1 : nl;
    }
    return n;
}

/* The broker goes away and comes back: /readyz fails with the reason after
 * http.readiness_broker_timeout_ms and recovers, deltaport_kafka_brokers_up
 * follows, /healthz stays 200; librdkafka's lines (connection refused) are
 * JSON lines with the worker id and the group, and the progress line runs. */
static void test_worker_readiness_follows_the_brokers(void)
{
    static const variant_t v = {
        " \"http\": {\"listen\": \"127.0.0.1:0\", \"liveness_max_age_ms\": 30000,\n"
        "  \"readiness_broker_timeout_ms\": 3000},\n"
        " \"log\": {\"level\": \"info\", \"progress_interval_s\": 1},\n",
        ", \"reconnect.backoff.ms\": 10, \"reconnect.backoff.max.ms\": 500,\n"
        "  \"socket.connection.setup.timeout.ms\": 3000"};
    env_t env;
    dp_proc_t worker = {0};
    char *argv[] = {DP_DELTAPORT_BIN, "run", "--config", NULL, NULL};
    char reply[256], why[512], group[32], *body = NULL, *log = NULL;
    int port, status, rdkafka = 0, progress = 0, lines;
    reply_t r;

    if (env_start_variant(&env, &v) < 0) {
        env_stop(&env);
        DP_ASSERT_FATAL_MSG(0, "expected the embedded Kafka and the emulator to start");
    }
    snprintf(group, sizeof(group), "ops-%d", (int)getpid());
    argv[3] = env.config;
    DP_ASSERT_FATAL_MSG(dp_proc_start(&worker, argv, 0, env.log) == 0, "expected the worker");
    port = worker_port(env.log, 20000);
    if (!DP_ASSERT_MSG(port > 0, "expected the worker to log its HTTP port"))
        goto out;
    body = wait_http(port, "/readyz", 200, NULL, 20000);
    if (!DP_ASSERT_MSG(body != NULL, "expected /readyz 200 with the broker up"))
        goto out;
    free(body);
    body = NULL;
    DP_ASSERT_MSG(wait_text(env.log, "claimed ", 30000) == 0, "expected the partitions claimed");
    DP_ASSERT_MSG(produce(&env, 50, 0) == 0, "expected 50 events produced");
    body = wait_settled(port, 50, 0, 60000);
    if (!DP_ASSERT_MSG(body != NULL, "expected 50 events consumed, loaded and committed"))
        goto out;
    DP_ASSERT_MSG(sum_of(body, "deltaport_kafka_brokers_up") >= 1,
                  "expected deltaport_kafka_brokers_up >= 1, got %g",
                  sum_of(body, "deltaport_kafka_brokers_up"));
    DP_ASSERT_MSG(sum_of(body, "deltaport_databricks_last_success_timestamp_seconds") > 1.7e9,
                  "expected a Databricks success timestamp, got %g",
                  sum_of(body, "deltaport_databricks_last_success_timestamp_seconds"));
    free(body);
    body = NULL;

    DP_ASSERT_FATAL_MSG(dp_kafka_fixture_ctl(&env.kf, "down -1", reply, sizeof(reply)) == 0,
                        "expected the broker taken down, got %s", reply);
    body = wait_http(port, "/readyz", 503, "kafka: no broker reachable", 30000);
    DP_ASSERT_MSG(body != NULL, "expected /readyz 503 naming the brokers once they are down");
    if (body)
        DP_ASSERT_MSG(strstr(body, "readiness_broker_timeout_ms = 3000") &&
                          strstr(body, "last error: "),
                      "expected the timeout and librdkafka's last error in the body, got %s", body);
    free(body);
    body = wait_http(port, "/metrics", 200, "\ndeltaport_kafka_brokers_up 0\n", 10000);
    DP_ASSERT_MSG(body != NULL, "expected deltaport_kafka_brokers_up 0 with the broker down");
    free(body);
    DP_ASSERT_MSG(http(port, "GET", "/healthz", &r) == 0 && r.status == 200,
                  "expected /healthz 200 while the broker is down, got %ld %s", r.status, r.body);
    free(r.body);

    DP_ASSERT_MSG(dp_kafka_fixture_ctl(&env.kf, "up -1", reply, sizeof(reply)) == 0,
                  "expected the broker back, got %s", reply);
    body = wait_http(port, "/readyz", 200, "ok", 30000);
    DP_ASSERT_MSG(body != NULL, "expected /readyz 200 once the broker is back");
    free(body);
    body = NULL;
out:
    status = dp_proc_stop(&worker, scaled(30000));
    DP_ASSERT_MSG(status == 0, "expected the worker to exit 0 after SIGTERM, got %d", status);
    log = slurp(env.log);
    if (DP_ASSERT_MSG(log != NULL, "expected the worker's log")) {
        lines = check_log(log, group, &rdkafka, &progress, why, sizeof(why));
        DP_ASSERT_MSG(lines > 0, "expected every log line to be JSON: %s", why);
        DP_ASSERT_MSG(rdkafka > 0, "expected librdkafka's lines as JSON with worker_id and group");
        DP_ASSERT_MSG(progress > 0, "expected progress lines");
        DP_ASSERT_MSG(strstr(log, "Connection refused") != NULL,
                      "expected librdkafka's connection errors in the log");
    }
    free(log);
    env_stop(&env);
}

static const dp_test_case_t cases[] = {
    {"test_httpd_serves_metrics_and_probes", test_httpd_serves_metrics_and_probes},
    {"test_httpd_rejects_bad_and_busy_addresses", test_httpd_rejects_bad_and_busy_addresses},
    {"test_worker_metrics_probes_and_secret_free_logs",
     test_worker_metrics_probes_and_secret_free_logs},
    {"test_worker_readiness_follows_the_brokers", test_worker_readiness_follows_the_brokers},
    {NULL, NULL},
};

static const dp_test_suite_t suites[] = {
    {"httpd", NULL, NULL, cases},
    {NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return dp_test_main(argc, argv, suites) + (curl_global_cleanup(), 0);
}
