/*
 * worker_env: the fixture of the worker's integration tests (see
 * worker_env.h).
 */
#define _GNU_SOURCE
#include "worker_env.h"

#include "dp_test.h"

#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

long g_shutdown_ms = 20000;
const char *g_kafka_extra = "";
const char *g_databricks_extra = "";
const char *g_top_extra = "";

long scaled(long ms)
{
    return ms * dp_test_timeout_scale();
}

int write_config(env_t *env, long threshold, long max_events)
{
    FILE *f;

    snprintf(env->config, sizeof(env->config), "%s/worker.json", env->ef.dir);
    snprintf(env->group, sizeof(env->group), "g-%d", (int)getpid());
    f = fopen(env->config, "w");
    if (!f)
        return -1;
    fprintf(
        f,
        "{\"kafka\": {\"bootstrap_servers\": \"%s\", \"topics\": [\"" TOPIC "\"],\n"
        "  \"group_id\": \"%s\", \"properties\": {\"session.timeout.ms\": 6000,\n"
        "  \"heartbeat.interval.ms\": 1000, \"fetch.wait.max.ms\": 10,\n"
        "  \"reconnect.backoff.max.ms\": 500}%s},\n"
        " \"schemas\": {\"dir\": \"%s/schemas\"},\n"
        " \"routing\": {\"mode\": \"threshold\", \"threshold\": %ld, \"stats_refresh_s\": 10},\n"
        " \"flush\": {\"max_events\": %ld, \"max_bytes\": \"8MiB\", \"max_age_ms\": 700,\n"
        "  \"memory_budget_bytes\": \"64MiB\"},\n"
        " \"databricks\": {\"host\": \"%s\", \"allow_insecure_http\": true,\n"
        "  \"warehouse_id\": \"" DP_EMU_WAREHOUSE "\", \"catalog\": \"main\",\n"
        "  \"schema\": \"wt\", \"volume\": \"staging\", \"create_schema\": true,\n"
        "  \"auth\": \"oauth\", \"client_id\": \"" DP_EMU_CLIENT_ID "\",\n"
        "  \"statement_wait_timeout_s\": 5, \"http_timeout_ms\": 30000%s},\n"
        " \"log\": {\"level\": \"%s\"},\n"
        " \"worker\": {\"shutdown_timeout_ms\": %ld}%s}\n",
        env->kf.bootstrap, env->group, g_kafka_extra, DP_SOURCE_DIR, threshold, max_events,
        env->ef.url, g_databricks_extra,
        getenv("DP_TEST_WORKER_LOG") ? getenv("DP_TEST_WORKER_LOG") : "info", g_shutdown_ms,
        g_top_extra);
    fclose(f);
    return 0;
}

int env_start(env_t *env, long threshold, long max_events)
{
    char topic[32];
    const char *topics[] = {topic, NULL};

    memset(env, 0, sizeof(*env));
    snprintf(topic, sizeof(topic), TOPIC ":%d", PARTITIONS);
    if (dp_kafka_fixture_start(&env->kf, 1, topics) < 0)
        return -1;
    if (dp_emu_fixture_start(&env->ef, NULL) < 0) {
        dp_kafka_fixture_stop(&env->kf);
        return -1;
    }
    env->up = 1;
    setenv("DELTAPORT_DATABRICKS_CLIENT_SECRET", DP_EMU_CLIENT_SECRET, 1);
    if (write_config(env, threshold, max_events) < 0 ||
        dp_emu_token(&env->ef, DP_EMU_CLIENT_ID, DP_EMU_CLIENT_SECRET, env->token,
                     sizeof(env->token)) < 0)
        return -1;
    return 0;
}

void env_stop(env_t *env)
{
    if (!env->up)
        return;
    dp_emu_fixture_stop(&env->ef);
    dp_kafka_fixture_stop(&env->kf);
    env->up = 0;
}

int produce(env_t *env, int count, int invalid_every, int seed)
{
    char n[16], inv[16], s[16], out[512];
    char *argv[] = {DP_DELTAPORT_BIN,  "produce", "--bootstrap", env->kf.bootstrap,
                    "--topic",         TOPIC,     "--count",     n,
                    "--invalid-every", inv,       "--seed",      s,
                    "--quiet",         NULL};

    snprintf(n, sizeof(n), "%d", count);
    snprintf(inv, sizeof(inv), "%d", invalid_every);
    snprintf(s, sizeof(s), "%d", seed);
    return dp_proc_run(argv, out, sizeof(out), scaled(60000));
}

int start_worker(env_t *env, dp_proc_t *proc, const char *id)
{
    char log[400];
    char *argv[] = {DP_DELTAPORT_BIN, "run", "--config", env->config, NULL};

    snprintf(log, sizeof(log), "%s/%s.log", env->ef.dir, id);
    setenv("DELTAPORT_WORKER_ID", id, 1);
    return dp_proc_start(proc, argv, 0, log);
}

/* Queries as the test's principal. */
json_t *rows_of(env_t *env, const char *sql)
{
    return dp_emu_rows(&env->ef, env->token, sql);
}

long long scalar(env_t *env, const char *sql)
{
    return dp_emu_scalar(&env->ef, env->token, sql);
}

/* Waits until sync_runs accounts for `want` rows; returns what it saw. */
long long wait_loaded(env_t *env, long long want, long timeout_ms)
{
    long long deadline = dp_test_now_ms() + scaled(timeout_ms), n = -1;

    while (dp_test_now_ms() < deadline) {
        n = scalar(env, "SELECT COALESCE(SUM(rows), 0) FROM main.wt.sync_runs "
                        "WHERE status = 'LOADED'");
        if (n >= want)
            return n;
        dp_test_sleep_ms(300);
    }
    return n;
}

int file_contains(const char *path, const char *needle)
{
    char line[4096];
    FILE *f = fopen(path, "r");
    int found = 0;

    if (!f)
        return 0;
    while (!found && fgets(line, sizeof(line), f))
        found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

/* Waits until the emulator's request log has a line containing needle,
 * polling often: the caller acts on the worker right after. */
int wait_request(env_t *env, const char *needle, long timeout_ms)
{
    long long deadline = dp_test_now_ms() + scaled(timeout_ms);

    while (dp_test_now_ms() < deadline) {
        if (file_contains(env->ef.request_log, needle))
            return 0;
        dp_test_sleep_ms(5);
    }
    return -1;
}

int wait_log(env_t *env, const char *id, const char *needle, long timeout_ms)
{
    char path[400];
    long long deadline = dp_test_now_ms() + scaled(timeout_ms);

    snprintf(path, sizeof(path), "%s/%s.log", env->ef.dir, id);
    while (dp_test_now_ms() < deadline) {
        if (file_contains(path, needle))
            return 0;
        dp_test_sleep_ms(200);
    }
    return -1;
}

/* ------------------------------------------------------------------------- */
/* The exactly-once check                                                    */
/* ------------------------------------------------------------------------- */

typedef struct tally {
    long long high[PARTITIONS];
    unsigned char *seen[PARTITIONS]; /* count per offset, saturating */
    long long rows, dups, foreign;
} tally_t;

static void tally_table(env_t *env, tally_t *t, const char *table)
{
    char sql[256];
    json_t *rows, *row;
    size_t i;

    snprintf(sql, sizeof(sql), "SELECT _kafka_partition, _kafka_offset FROM main.wt.%s", table);
    rows = rows_of(env, sql);
    json_array_foreach(rows, i, row)
    {
        long long p = -1, o = -1;

        /* a cell that is not an integer counts as foreign */
        if (dp_test_parse_ll(json_string_value(json_array_get(row, 0)), "", &p) < 0 ||
            dp_test_parse_ll(json_string_value(json_array_get(row, 1)), "", &o) < 0)
            p = -1;

        t->rows++;
        if (p < 0 || p >= PARTITIONS || o < 0 || o >= t->high[p]) {
            t->foreign++;
            continue;
        }
        if (t->seen[p][o] > 0)
            t->dups++;
        if (t->seen[p][o] < 255)
            t->seen[p][o]++;
    }
    json_decref(rows);
}

/* Checks that every record the broker holds is in exactly one table (or in
 * event_errors), and that the group committed every partition to its end.
 * Returns the number of event_errors rows, or -1 after a failed assertion. */
long long check_exactly_once(env_t *env, long long produced)
{
    tally_t t;
    long long low[PARTITIONS], missing = 0, errors = -1, total = 0;
    char why[256];
    json_t *tables, *row;
    size_t i;
    int n;

    memset(&t, 0, sizeof(t));
    n = dp_kafka_fixture_watermarks(&env->kf, TOPIC, low, t.high, PARTITIONS, why, sizeof(why));
    if (!DP_ASSERT_MSG(n == PARTITIONS, "watermarks: %s", why))
        return -1;
    for (int p = 0; p < PARTITIONS; p++) {
        DP_ASSERT_MSG(low[p] == 0,
                      "the broker dropped records of partition %d (low %lld): "
                      "not the worker's fault, but the test cannot check them",
                      p, low[p]);
        total += t.high[p];
        t.seen[p] = calloc((size_t)t.high[p] + 1, 1);
    }
    DP_ASSERT_MSG(total == produced, "expected %lld records on the broker, got %lld", produced,
                  total);
    tables = rows_of(env, "SHOW TABLES IN main.wt");
    json_array_foreach(tables, i, row)
    {
        const char *name = json_string_value(json_array_get(row, 1));

        if (name && (strncmp(name, "evt_", 4) == 0 || strcmp(name, "event_errors") == 0))
            tally_table(env, &t, name);
    }
    json_decref(tables);
    for (int p = 0; p < PARTITIONS; p++) {
        for (long long o = 0; o < t.high[p]; o++)
            missing += t.seen[p][o] == 0;
        free(t.seen[p]);
    }
    DP_ASSERT_MSG(missing == 0 && t.dups == 0 && t.foreign == 0,
                  "expected every record exactly once: %lld missing, %lld duplicated, %lld "
                  "unknown, %lld rows for %lld records",
                  missing, t.dups, t.foreign, t.rows, total);
    errors = scalar(env, "SELECT COUNT(*) FROM main.wt.event_errors");
    return missing || t.dups || t.foreign ? -1 : errors;
}

/* Reads the group's committed offsets; returns how many partitions are
 * committed exactly to their high watermark. */
int committed_to_end(env_t *env)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(PARTITIONS);
    long long low[PARTITIONS], high[PARTITIONS];
    char errstr[256];
    rd_kafka_t *rk;
    int ok = 0;

    dp_kafka_fixture_watermarks(&env->kf, TOPIC, low, high, PARTITIONS, errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "bootstrap.servers", env->kf.bootstrap, errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "group.id", env->group, errstr, sizeof(errstr));
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        rd_kafka_topic_partition_list_destroy(parts);
        return -1;
    }
    for (int p = 0; p < PARTITIONS; p++)
        rd_kafka_topic_partition_list_add(parts, TOPIC, p);
    if (rd_kafka_committed(rk, parts, (int)scaled(10000)) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (int p = 0; p < PARTITIONS; p++)
            ok += parts->elems[p].offset == high[p];
    }
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_destroy(rk);
    return ok;
}

/* Commits offset (with commit metadata md) for partition p of the group, as
 * a stale member of the group would have. The group must be empty. */
int commit_stale(env_t *env, int p, long long offset, const char *md)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_t *tp;
    char errstr[256];
    rd_kafka_t *rk;
    int rc;

    rd_kafka_conf_set(conf, "bootstrap.servers", env->kf.bootstrap, errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "group.id", env->group, errstr, sizeof(errstr));
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        rd_kafka_topic_partition_list_destroy(parts);
        return -1;
    }
    tp = rd_kafka_topic_partition_list_add(parts, TOPIC, p);
    tp->offset = offset;
    tp->metadata = strdup(md);
    tp->metadata_size = strlen(md);
    /* The group may still be settling after its last member left. */
    for (int attempt = 0; attempt < 30; attempt++) {
        rd_kafka_resp_err_t rerr = rd_kafka_commit(rk, parts, 0);

        rc = rerr == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
        if (rc == 0)
            break;
        fprintf(stderr, "commit_stale: %s, retrying\n", rd_kafka_err2str(rerr));
        dp_test_sleep_ms(500);
    }
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_destroy(rk);
    return rc;
}

/* `deltaport incarnation show|new`: out receives the id. */
int incarnation(env_t *env, const char *verb, char *out, size_t outlen)
{
    /* `new` is refused without --force on the embedded Kafka (no DescribeGroups). */
    char *argv[] = {DP_DELTAPORT_BIN,
                    "incarnation",
                    (char *)verb,
                    "--config",
                    env->config,
                    strcmp(verb, "new") == 0 ? "--force" : NULL,
                    NULL};
    char *nl;

    if (dp_proc_run(argv, out, outlen, scaled(30000)) != 0)
        return -1;
    if ((nl = strchr(out, '\n')))
        *nl = '\0';
    return out[0] ? 0 : -1;
}

void clear_faults(env_t *env)
{
    long status = 0;
    char *body = NULL;
    size_t len = 0;

    DP_ASSERT_MSG(dp_emu_http(&env->ef, "DELETE", "/_emulator/faults", NULL, NULL, 0, NULL, &status,
                              &body, &len) == 0 &&
                      status / 100 == 2,
                  "clearing the faults failed: %ld", status);
    free(body);
}

static int delivery_failures;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (m->err) {
        delivery_failures++;
        fprintf(stderr, "produce: delivery failed: %s\n", rd_kafka_err2str(m->err));
    }
}

static rd_kafka_t *producer(env_t *env)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char errstr[256];
    rd_kafka_t *rk;

    delivery_failures = 0;
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set(conf, "bootstrap.servers", env->kf.bootstrap, errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "message.max.bytes", "8000000", errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "linger.ms", "5", errstr, sizeof(errstr));
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk)
        rd_kafka_conf_destroy(conf);
    return rk;
}

static int finish(rd_kafka_t *rk, int rc)
{
    if (rd_kafka_flush(rk, (int)scaled(30000)) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        delivery_failures > 0)
        rc = -1;
    rd_kafka_destroy(rk);
    return rc;
}

int produce_json(env_t *env, int partition, const char *name, int count, int first_id)
{
    rd_kafka_t *rk = producer(env);
    int rc = 0;

    if (!rk)
        return -1;
    for (int i = 0; i < count && rc == 0; i++) {
        char ev[512], id[128];
        int n;

        snprintf(id, sizeof(id), "%s-%d", name, first_id + i);
        n = snprintf(ev, sizeof(ev),
                     "{\"event_id\":\"%s\",\"event_name\":\"%s\","
                     "\"event_time\":1767225600000000,\"merchant_id\":\"m1\"}",
                     id, name);
        if (rd_kafka_producev(
                rk, RD_KAFKA_V_TOPIC(TOPIC),
                RD_KAFKA_V_PARTITION(partition >= 0 ? partition : RD_KAFKA_PARTITION_UA),
                RD_KAFKA_V_KEY(id, strlen(id)), RD_KAFKA_V_VALUE(ev, (size_t)n),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END) != 0)
            rc = -1;
        rd_kafka_poll(rk, 0);
    }
    return finish(rk, rc);
}

int produce_blob(env_t *env, int partition, size_t len)
{
    rd_kafka_t *rk = producer(env);
    char *blob = malloc(len);
    int rc = 0;

    if (!rk || !blob) {
        free(blob);
        if (rk)
            rd_kafka_destroy(rk);
        return -1;
    }
    memset(blob, 'x', len);
    if (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(TOPIC), RD_KAFKA_V_PARTITION(partition),
                          RD_KAFKA_V_VALUE(blob, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_END) != 0)
        rc = -1;
    free(blob);
    return finish(rk, rc);
}

int wait_committed_to_end(env_t *env, long timeout_ms)
{
    long long deadline = dp_test_now_ms() + scaled(timeout_ms);
    int n = committed_to_end(env);

    while (n != PARTITIONS && dp_test_now_ms() < deadline) {
        dp_test_sleep_ms(500);
        n = committed_to_end(env);
    }
    return n;
}
