/*
 * Integration tests of the worker (`deltaport run`) with a Schema Registry,
 * on the embedded Kafka, the Databricks emulator and the fake registry:
 *   - messages framed with registry ids load with their values mapped into
 *     the canonical columns; an id the registry does not know goes to
 *     event_errors (UNKNOWN_SCHEMA_ID, "schema id N not found in the registry
 *     at URL") and the worker goes on;
 *   - while the registry answers 503 the messages of a new id are held (no
 *     event_errors row, nothing lost) and load once it recovers;
 *   - table evolution: the canonical schema gains an optional field at the
 *     end (a test copy of schemas/); after the upgrade new rows carry it, the
 *     table gains the column, old rows read null, no row is lost.
 */
#define _GNU_SOURCE
#include "codec/json_event.h"
#include "codec/schema.h"
#include "dp_proc.h"
#include "dp_test.h"
#include "emu_fixture.h"
#include "kafka_fixture.h"
#include "registry_fixture.h"

#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOPIC "events"

/* A writer that reorders fields, lacks most optional ones, writes value as
 * the canonical decimal and has a field the canonical schema does not. */
static const char *const writer_v2 =
    "{\"type\":\"record\",\"name\":\"Checkout\",\"namespace\":\"shop.v2\",\"fields\":["
    "{\"name\":\"merchant_id\",\"type\":\"string\"},"
    "{\"name\":\"event_name\",\"type\":\"string\"},"
    "{\"name\":\"event_id\",\"type\":\"string\"},"
    "{\"name\":\"cart_size\",\"type\":\"int\"},"
    "{\"name\":\"value\",\"type\":[\"null\",{\"type\":\"bytes\",\"logicalType\":\"decimal\","
    "\"precision\":18,\"scale\":4}],\"default\":null},"
    "{\"name\":\"event_time\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}}]}";

typedef struct env {
    dp_kafka_fixture_t kf;
    dp_emu_fixture_t ef;
    dp_registry_fixture_t rf;
    char token[2048];
    char config[400];
    int up;
} env_t;

static long scaled(long ms)
{
    return ms * dp_test_timeout_scale();
}

static int write_config(env_t *env, const char *schemas_dir, const char *registry_url)
{
    char group[64], reg[300] = "";
    FILE *f;

    snprintf(env->config, sizeof(env->config), "%s/worker.json", env->ef.dir);
    snprintf(group, sizeof(group), "rg-%d", (int)getpid());
    if (registry_url)
        snprintf(reg, sizeof(reg),
                 ", \"registry_url\": \"%s\", "
                 "\"registry_allow_insecure_http\": true, \"registry_retry_ms\": 500, "
                 "\"registry_timeout_ms\": 1000",
                 registry_url);
    f = fopen(env->config, "w");
    if (!f)
        return -1;
    fprintf(f,
            "{\"kafka\": {\"bootstrap_servers\": \"%s\", \"topics\": [\"" TOPIC "\"],\n"
            "  \"group_id\": \"%s\", \"properties\": {\"session.timeout.ms\": 6000,\n"
            "  \"heartbeat.interval.ms\": 1000, \"fetch.wait.max.ms\": 10}},\n"
            " \"schemas\": {\"dir\": \"%s\"%s},\n"
            " \"flush\": {\"max_events\": 1000, \"max_bytes\": \"8MiB\", \"max_age_ms\": 500,\n"
            "  \"memory_budget_bytes\": \"64MiB\"},\n"
            " \"databricks\": {\"host\": \"%s\", \"allow_insecure_http\": true,\n"
            "  \"warehouse_id\": \"" DP_EMU_WAREHOUSE "\", \"catalog\": \"main\",\n"
            "  \"schema\": \"rt\", \"volume\": \"staging\", \"create_schema\": true,\n"
            "  \"auth\": \"oauth\", \"client_id\": \"" DP_EMU_CLIENT_ID "\",\n"
            "  \"statement_wait_timeout_s\": 5, \"http_timeout_ms\": 30000},\n"
            " \"worker\": {\"shutdown_timeout_ms\": 20000}}\n",
            env->kf.bootstrap, group, schemas_dir, reg, env->ef.url);
    fclose(f);
    return 0;
}

static int env_start(env_t *env)
{
    const char *topics[] = {TOPIC ":2", NULL};
    const char *const rargs[] = {"--first-id", "100", NULL};

    memset(env, 0, sizeof(*env));
    if (dp_kafka_fixture_start(&env->kf, 1, topics) < 0)
        return -1;
    if (dp_emu_fixture_start(&env->ef, NULL) < 0 ||
        dp_registry_fixture_start(&env->rf, rargs) < 0) {
        dp_emu_fixture_stop(&env->ef);
        dp_kafka_fixture_stop(&env->kf);
        return -1;
    }
    env->up = 1;
    setenv("DELTAPORT_DATABRICKS_CLIENT_SECRET", DP_EMU_CLIENT_SECRET, 1);
    return dp_emu_token(&env->ef, DP_EMU_CLIENT_ID, DP_EMU_CLIENT_SECRET, env->token,
                        sizeof(env->token));
}

static void env_stop(env_t *env)
{
    if (!env->up)
        return;
    dp_registry_fixture_stop(&env->rf);
    dp_emu_fixture_stop(&env->ef);
    dp_kafka_fixture_stop(&env->kf);
    env->up = 0;
}

/* Produces messages (NULL-terminated list of payload, length pairs). */
static int produce(env_t *env, void *const *payloads, const size_t *lens, int n)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char errstr[256];
    rd_kafka_t *rk;
    int rc = 0;

    if (dp_kafka_fixture_conf(conf, &env->kf, 0, errstr, sizeof(errstr)) < 0 ||
        !(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr)))) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    for (int i = 0; i < n && rc == 0; i++)
        rc = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(TOPIC), RD_KAFKA_V_PARTITION(i % 2),
                               RD_KAFKA_V_VALUE(payloads[i], lens[i]),
                               RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)
                 ? -1
                 : 0;
    if (rd_kafka_flush(rk, (int)scaled(10000)) != RD_KAFKA_RESP_ERR_NO_ERROR)
        rc = -1;
    rd_kafka_destroy(rk);
    return rc;
}

/* Frames json encoded with writer schema text under id (new, free()). */
static void *framed(const char *schema_text, uint32_t id, const char *json, size_t *len)
{
    dp_err_t err = {DP_OK, 0, ""};
    dp_schema_t *s = dp_schema_parse(schema_text, strlen(schema_text), &err);
    json_t *root = json_loads(json, 0, NULL);
    dp_reject_t rej = {DP_REJ_NONE, "", ""};
    dp_buf_t body;
    uint8_t *p = NULL;

    dp_buf_init(&body, 1 << 16);
    if (s && root && dp_json_event_encode(s, root, json, strlen(json), &body, &rej) == 0) {
        p = malloc(body.len + 5);
        p[0] = 0;
        p[1] = (uint8_t)(id >> 24);
        p[2] = (uint8_t)(id >> 16);
        p[3] = (uint8_t)(id >> 8);
        p[4] = (uint8_t)id;
        memcpy(p + 5, body.data, body.len);
        *len = body.len + 5;
    }
    DP_ASSERT_MSG(p != NULL, "encoding %s: %s %s", json, err.msg, rej.reason);
    dp_buf_free(&body);
    json_decref(root);
    dp_schema_destroy(s);
    return p;
}

/* Produces n events of schema id, event ids "<tag>-<i>"; values 12.5 + i. */
static int produce_framed(env_t *env, const char *schema, uint32_t id, const char *tag, int n)
{
    void *msgs[64];
    size_t lens[64];
    char json[512];
    int rc;

    for (int i = 0; i < n; i++) {
        snprintf(json, sizeof(json),
                 "{\"merchant_id\":\"m-reg\",\"event_name\":\"checkout_done\",\"event_id\":"
                 "\"%s-%d\",\"cart_size\":%d,\"value\":\"%d.5\",\"event_time\":%lld}",
                 tag, i, i, 12 + i, 1764000000000LL + i);
        msgs[i] = framed(schema, id, json, &lens[i]);
    }
    rc = produce(env, msgs, lens, n);
    for (int i = 0; i < n; i++)
        free(msgs[i]);
    return rc;
}

/* Queries as the test's principal. */
static json_t *rows_of(env_t *env, const char *sql)
{
    return dp_emu_rows(&env->ef, env->token, sql);
}

static long long scalar(env_t *env, const char *sql)
{
    return dp_emu_scalar(&env->ef, env->token, sql);
}

static long long loaded_reg(env_t *env)
{
    long long a = scalar(env, "SELECT COUNT(*) FROM main.rt.evt_otherevents");
    long long b = scalar(env, "SELECT COUNT(*) FROM main.rt.event_errors");

    return (a < 0 ? 0 : a) + (b < 0 ? 0 : b);
}

/* Waits until the query's count reaches want (sql NULL: loaded_reg); returns what it saw. Rows are
 * counted in the tables (sync_runs also accounts for system rows). */
static long long wait_count(env_t *env, const char *sql, long long want, long timeout_ms)
{
    long long deadline = dp_test_now_ms() + scaled(timeout_ms), n = -1;

    do {
        n = sql ? scalar(env, sql) : loaded_reg(env);
        if (n >= want)
            return n;
        dp_test_sleep_ms(300);
    } while (dp_test_now_ms() < deadline);
    return n;
}

#define LOADED_REG NULL /* wait_count: destination rows + event_errors rows */
#define LOADED_EVO "SELECT COUNT(*) FROM main.rt.evt_otherevents"

static int start_worker(env_t *env, dp_proc_t *proc, const char *id)
{
    char log[400];
    char *argv[] = {DP_DELTAPORT_BIN, "run", "--config", env->config, NULL};

    snprintf(log, sizeof(log), "%s/%s.log", env->ef.dir, id);
    setenv("DELTAPORT_WORKER_ID", id, 1);
    return dp_proc_start(proc, argv, 0, log);
}

static int stop_worker(dp_proc_t *proc)
{
    dp_proc_signal(proc, SIGTERM);
    return dp_proc_wait(proc, scaled(30000));
}

static int log_has(env_t *env, const char *id, const char *needle)
{
    char path[400], line[4096];
    FILE *f;
    int found = 0;

    snprintf(path, sizeof(path), "%s/%s.log", env->ef.dir, id);
    if (!(f = fopen(path, "r")))
        return 0;
    while (!found && fgets(line, sizeof(line), f))
        found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

static void test_registry_worker_ids_unknown_ids_and_outage(void)
{
    env_t env;
    dp_proc_t w;
    long id, id2;
    long long n;
    char sql[512], v3[2048];
    int rc;

    if (!DP_ASSERT_MSG(env_start(&env) == 0, "fixtures did not start")) {
        env_stop(&env);
        return;
    }
    id = dp_registry_fixture_register(&env.rf, TOPIC "-value", writer_v2);
    DP_ASSERT_FATAL_MSG(id == 100, "expected id 100, got %ld", id);
    write_config(&env, DP_SOURCE_DIR "/schemas", env.rf.url);
    DP_ASSERT_MSG(produce_framed(&env, writer_v2, 100, "a", 20) == 0 &&
                      produce_framed(&env, writer_v2, 4242, "x", 3) == 0,
                  "produce failed");
    start_worker(&env, &w, "rw");
    n = wait_count(&env, LOADED_REG, 23, 60000);
    DP_ASSERT_MSG(n == 23, "expected 23 rows loaded, got %lld", n);
    DP_ASSERT_MSG(scalar(&env, "SELECT COUNT(*) FROM main.rt.evt_otherevents WHERE merchant_id = "
                               "'m-reg' AND event_id LIKE 'a-%' AND value >= 12.5 AND "
                               "event_time IS NOT NULL") == 20,
                  "expected 20 mapped rows with value and event_time");
    DP_ASSERT_MSG(scalar(&env, "SELECT COUNT(*) FROM main.rt.evt_otherevents WHERE event_id = "
                               "'a-3' AND value = 15.5") == 1,
                  "expected a-3 with value 15.5 (decimal mapped)");
    snprintf(sql, sizeof(sql),
             "SELECT COUNT(*) FROM main.rt.event_errors WHERE error_code = "
             "'UNKNOWN_SCHEMA_ID' AND error_message LIKE '%%schema id 4242 not found in the "
             "registry at %s%%'",
             env.rf.url);
    DP_ASSERT_MSG(scalar(&env, sql) == 3, "expected 3 UNKNOWN_SCHEMA_ID rows naming the registry");

    /* Outage: a new id while the registry answers 503. */
    snprintf(v3, sizeof(v3),
             "%.*s,{\"name\":\"coupon\",\"type\":[\"null\",\"string\"],"
             "\"default\":null}]}",
             (int)strlen(writer_v2) - 2, writer_v2);
    id2 = dp_registry_fixture_register(&env.rf, TOPIC "-value", v3);
    DP_ASSERT_MSG(id2 == 101, "expected id 101, got %ld", id2);
    dp_registry_fixture_fault(&env.rf, 503, -1, 0);
    DP_ASSERT_MSG(produce_framed(&env, v3, 101, "b", 10) == 0, "produce failed");
    dp_test_sleep_ms(scaled(3000));
    DP_ASSERT_MSG(log_has(&env, "rw", "unavailable for schema id 101"),
                  "the worker must log the outage");
    DP_ASSERT_MSG(scalar(&env, "SELECT COUNT(*) FROM main.rt.event_errors") == 3,
                  "an outage must not reject events");
    DP_ASSERT_MSG(loaded_reg(&env) == 23, "nothing of id 101 loads during the outage");
    dp_registry_fixture_fault(&env.rf, 0, 0, 0);
    n = wait_count(&env, LOADED_REG, 33, 30000);
    DP_ASSERT_MSG(n == 33, "after the outage the 10 events load: %lld rows", n);
    DP_ASSERT_MSG(scalar(&env, "SELECT COUNT(*) FROM main.rt.evt_otherevents WHERE event_id "
                               "LIKE 'b-%'") == 10,
                  "expected the 10 held events loaded once");
    rc = stop_worker(&w);
    DP_ASSERT_MSG(rc == 0, "worker exit %d", rc);
    dp_proc_stop(&w, 1000);
    env_stop(&env);
}

/* Copies schemas/ into dir with one optional field appended to the
 * canonical schema. */
static int evolved_schemas(const char *dir)
{
    char cmd[1200];

    snprintf(cmd, sizeof(cmd),
             "mkdir -p '%s/ids' && cp " DP_SOURCE_DIR "/schemas/ids/*.avsc '%s/ids/' && "
             "/usr/bin/python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); "
             "s[\"fields\"].append({\"name\":\"loyalty_tier\",\"type\":[\"null\",\"string\"],"
             "\"default\":None}); json.dump(s, open(sys.argv[2],\"w\"), indent=1)' " DP_SOURCE_DIR
             "/schemas/canonical_event.avsc '%s/canonical_event.avsc'",
             dir, dir, dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int produce_json(env_t *env, const char *tag, int n, const char *extra)
{
    void *msgs[64];
    size_t lens[64];
    int rc;

    for (int i = 0; i < n; i++) {
        char *p = malloc(512);
        lens[i] = (size_t)snprintf(p, 512,
                                   "{\"event_id\":\"%s-%d\",\"event_name\":\"tier_seen\","
                                   "\"event_time\":1764000000000000,\"merchant_id\":\"m-evo\"%s}",
                                   tag, i, extra);
        msgs[i] = p;
    }
    rc = produce(env, msgs, lens, n);
    for (int i = 0; i < n; i++)
        free(msgs[i]);
    return rc;
}

static void test_registry_worker_table_gains_an_optional_column(void)
{
    env_t env;
    dp_proc_t w;
    char dir[400];
    json_t *cols;
    char *text;

    if (!DP_ASSERT_MSG(env_start(&env) == 0, "fixtures did not start")) {
        env_stop(&env);
        return;
    }
    snprintf(dir, sizeof(dir), "%s/schemas-v2", env.ef.dir);
    DP_ASSERT_FATAL_MSG(evolved_schemas(dir) == 0, "cannot build the evolved schemas copy");
    write_config(&env, DP_SOURCE_DIR "/schemas", NULL);
    DP_ASSERT_MSG(produce_json(&env, "old", 10, "") == 0, "produce failed");
    start_worker(&env, &w, "v1");
    DP_ASSERT_MSG(wait_count(&env, LOADED_EVO, 10, 60000) == 10, "v1: expected 10 rows");
    DP_ASSERT_MSG(stop_worker(&w) == 0, "v1 must stop cleanly");
    dp_proc_stop(&w, 1000);

    /* The upgrade: same group, new schemas dir; events that carry the field,
     * and events produced before the upgrade by an old writer (ids/1). */
    write_config(&env, dir, NULL);
    DP_ASSERT_MSG(produce_json(&env, "new", 10, ",\"loyalty_tier\":\"gold\"") == 0,
                  "produce failed");
    start_worker(&env, &w, "v2");
    DP_ASSERT_MSG(wait_count(&env, LOADED_EVO, 20, 60000) == 20, "v2: expected 20 rows in all");
    DP_ASSERT_MSG(scalar(&env, "SELECT COUNT(*) FROM main.rt.evt_otherevents WHERE "
                               "merchant_id = 'm-evo'") == 20,
                  "no row may be lost");
    DP_ASSERT_MSG(scalar(&env, "SELECT COUNT(*) FROM main.rt.evt_otherevents WHERE "
                               "loyalty_tier = 'gold' AND event_id LIKE 'new-%'") == 10,
                  "the 10 new rows must carry loyalty_tier");
    DP_ASSERT_MSG(scalar(&env, "SELECT COUNT(*) FROM main.rt.evt_otherevents WHERE "
                               "loyalty_tier IS NULL AND event_id LIKE 'old-%'") == 10,
                  "the 10 old rows must read loyalty_tier as null");
    cols = rows_of(&env, "DESCRIBE TABLE main.rt.evt_otherevents");
    text = cols ? json_dumps(cols, JSON_COMPACT) : NULL;
    DP_ASSERT_MSG(text && strstr(text, "\"loyalty_tier\",\"string\""),
                  "DESCRIBE TABLE must list loyalty_tier string, got %s", text ? text : "-");
    DP_ASSERT_MSG(scalar(&env, "SELECT COUNT(*) FROM main.rt.event_errors") <= 0,
                  "no event_errors expected");
    free(text);
    json_decref(cols);
    DP_ASSERT_MSG(stop_worker(&w) == 0, "v2 must stop cleanly");
    dp_proc_stop(&w, 1000);
    env_stop(&env);
}

static const dp_test_case_t cases[] = {{"test_registry_worker_ids_unknown_ids_and_outage",
                                        test_registry_worker_ids_unknown_ids_and_outage},
                                       {"test_registry_worker_table_gains_an_optional_column",
                                        test_registry_worker_table_gains_an_optional_column},
                                       {NULL, NULL}};

static const dp_test_suite_t suites[] = {{"registry_worker", NULL, NULL, cases},
                                         {NULL, NULL, NULL, NULL}};

int main(int argc, char **argv)
{
    return dp_test_main(argc, argv, suites);
}
