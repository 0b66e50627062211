/*
 * Integration tests of the zerobus sink (`deltaport run` with sink
 * "zerobus", the embedded Kafka and the emulator's Zerobus endpoint):
 *   - the happy path: every record lands once in a raw table (or in
 *     event_errors), the decimals keep their exact text up to
 *     +-99999999999999.9999, offsets are committed, and the flushes cost no
 *     COPY INTO of an event table;
 *   - 429 (with Retry-After) and 503 storms, 500s, dropped connections and
 *     expired tokens on the inserts: nothing lost, nothing duplicated;
 *   - a schema mismatch: the rows Zerobus refuses (a column of another type)
 *     go to event_errors naming the column, the others are loaded;
 *   - a raw table dropped while the worker runs: created again, later rows land;
 *   - SIGKILL while inserts are in flight: the next owner finishes the flush
 *     from its staged file; the raw duplicates are only rows the killed
 *     worker had stored without hearing back, and none is missing;
 *   - the views: one row per record, the decimal cast back exactly.
 */
#define _GNU_SOURCE
#include "worker_env.h"

#include "dp_test.h"
#include "load/sink_zerobus.h"
#include "stage/avrofile.h"

#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WORKSPACE "1234567890123456"

static char databricks_extra[512];

/* Starts the fixture with the zerobus sink configured. */
static int zb_env_start(env_t *env, long threshold, long max_events)
{
    g_top_extra = ", \"sink\": \"zerobus\"";
    if (env_start(env, threshold, max_events) < 0)
        return -1;
    snprintf(databricks_extra, sizeof(databricks_extra),
             ", \"zerobus_endpoint\": \"%s\", \"workspace_id\": \"" WORKSPACE "\", "
             "\"zerobus_max_records_per_request\": 200, \"max_retries\": 20",
             env->ef.url);
    g_databricks_extra = databricks_extra;
    return write_config(env, threshold, max_events);
}

static void zb_env_stop(env_t *env)
{
    env_stop(env);
    g_top_extra = "";
    g_databricks_extra = "";
}

/* Produces events (JSON texts) into partition p (-1: by key). */
static int produce_events(env_t *env, int p, const char *const *events, int n)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char errstr[256];
    rd_kafka_t *rk;
    int rc = 0;

    rd_kafka_conf_set(conf, "bootstrap.servers", env->kf.bootstrap, errstr, sizeof(errstr));
    if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr)))) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    for (int i = 0; i < n && rc == 0; i++) {
        if (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(TOPIC),
                              RD_KAFKA_V_PARTITION(p >= 0 ? p : RD_KAFKA_PARTITION_UA),
                              RD_KAFKA_V_VALUE((void *)events[i], strlen(events[i])),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END) != 0)
            rc = -1;
        rd_kafka_poll(rk, 0);
    }
    if (rd_kafka_flush(rk, (int)scaled(30000)) != RD_KAFKA_RESP_ERR_NO_ERROR)
        rc = -1;
    rd_kafka_destroy(rk);
    return rc;
}

/* The raw tables' rows by lineage: rows, distinct keys, duplicates. */
typedef struct raw_tally {
    long long rows, distinct, dups;
} raw_tally_t;

static raw_tally_t raw_tally(env_t *env)
{
    raw_tally_t t = {0, 0, 0};
    json_t *tables = rows_of(env, "SHOW TABLES IN main.wt"), *row, *rows, *r;
    unsigned char *seen[PARTITIONS] = {NULL};
    size_t cap[PARTITIONS] = {0}, i, k;

    json_array_foreach(tables, i, row)
    {
        const char *name = json_string_value(json_array_get(row, 1));
        char sql[400];

        if (!name || strncmp(name, "raw_", 4) != 0)
            continue;
        snprintf(sql, sizeof(sql), "SELECT _kafka_partition, _kafka_offset FROM main.wt.%s", name);
        rows = rows_of(env, sql);
        json_array_foreach(rows, k, r)
        {
            long long p = strtoll(json_string_value(json_array_get(r, 0)), NULL, 10);
            long long o = strtoll(json_string_value(json_array_get(r, 1)), NULL, 10);

            t.rows++;
            if (p < 0 || p >= PARTITIONS || o < 0 || o > 10000000)
                continue;
            if ((size_t)o >= cap[p]) {
                size_t n = (size_t)o * 2 + 1024;

                seen[p] = realloc(seen[p], n);
                memset(seen[p] + cap[p], 0, n - cap[p]);
                cap[p] = n;
            }
            if (seen[p][o]++ == 0)
                t.distinct++;
        }
        json_decref(rows);
    }
    json_decref(tables);
    for (int p = 0; p < PARTITIONS; p++)
        free(seen[p]);
    t.dups = t.rows - t.distinct;
    return t;
}

/* Waits until the raw tables and event_errors hold `want` distinct records. */
static long long wait_raw(env_t *env, long long want, long timeout_ms)
{
    long long deadline = dp_test_now_ms() + scaled(timeout_ms), n = -1;

    while (dp_test_now_ms() < deadline) {
        n = raw_tally(env).distinct + scalar(env, "SELECT COUNT(*) FROM main.wt.event_errors");
        if (n >= want)
            return n;
        dp_test_sleep_ms(500);
    }
    return n;
}

static void stop_worker(dp_proc_t *w)
{
    dp_proc_signal(w, SIGTERM);
    dp_proc_wait(w, scaled(30000));
}

/* ------------------------------------------------------------------------- */

static void test_zerobus_happy_path_and_decimals(void)
{
    const char *dec[] = {
        "{\"event_id\":\"dec-max\",\"event_name\":\"purchase\",\"event_time\":1767225600000000,"
        "\"merchant_id\":\"m1\",\"value\":\"99999999999999.9999\",\"currency\":\"EUR\"}",
        "{\"event_id\":\"dec-min\",\"event_name\":\"purchase\",\"event_time\":1767225600000000,"
        "\"merchant_id\":\"m1\",\"value\":\"-99999999999999.9999\",\"currency\":\"EUR\"}",
        "{\"event_id\":\"dec-small\",\"event_name\":\"purchase\",\"event_time\":1767225600000000,"
        "\"merchant_id\":\"m1\",\"value\":\"-0.0001\",\"currency\":\"EUR\"}",
    };
    env_t env;
    dp_proc_t w;
    raw_tally_t t;
    json_t *rows;
    long long copies;

    if (zb_env_start(&env, 100, 500) < 0) {
        DP_ASSERT_MSG(0, "the fixture did not start");
        zb_env_stop(&env);
        return;
    }
    DP_ASSERT_FATAL_MSG(produce(&env, 2000, 100, 11) == 0 && produce_events(&env, 0, dec, 3) == 0,
                        "producing");
    DP_ASSERT_FATAL_MSG(start_worker(&env, &w, "zb-1") == 0, "starting the worker");
    DP_ASSERT_MSG(wait_raw(&env, 2003, 120000) >= 2003, "not every record arrived");
    stop_worker(&w);
    t = raw_tally(&env);
    DP_ASSERT_MSG(t.dups == 0 && t.distinct + scalar(&env, "SELECT COUNT(*) FROM "
                                                           "main.wt.event_errors") ==
                                     2003,
                  "expected 2003 records once: %lld raw rows, %lld distinct", t.rows, t.distinct);
    DP_ASSERT_MSG(scalar(&env, "SELECT COUNT(*) FROM main.wt.event_errors") == 20,
                  "expected the 20 invalid events in event_errors");
    rows = rows_of(&env, "SELECT event_id, value FROM main.wt.raw_evt_otherevents WHERE "
                         "event_id LIKE 'dec-%' ORDER BY event_id");
    {
        char *text = rows ? json_dumps(rows, JSON_COMPACT) : NULL;

        DP_ASSERT_MSG(text && strcmp(text, "[[\"dec-max\",\"99999999999999.9999\"],"
                                           "[\"dec-min\",\"-99999999999999.9999\"],"
                                           "[\"dec-small\",\"-0.0001\"]]") == 0,
                      "the decimal text is not exact: %s", text ? text : "(none)");
        free(text);
    }
    json_decref(rows);
    /* Readers see the views: every record once, the decimal back as DECIMAL(18,4). */
    DP_ASSERT_MSG(check_exactly_once(&env, 2003) == 20,
                  "the views must hold every record once, the 20 invalid in event_errors");
    rows = rows_of(&env, "SELECT event_id, value, value + 0.0001 FROM main.wt.evt_otherevents "
                         "WHERE event_id LIKE 'dec-%' ORDER BY event_id");
    {
        char *text = rows ? json_dumps(rows, JSON_COMPACT) : NULL;

        DP_ASSERT_MSG(
            text && strcmp(text, "[[\"dec-max\",\"99999999999999.9999\",\"100000000000000.0000\"],"
                                 "[\"dec-min\",\"-99999999999999.9999\",\"-99999999999999.9998\"],"
                                 "[\"dec-small\",\"-0.0001\",\"0.0000\"]]") == 0,
            "the view's decimals are not exact: %s", text ? text : "(none)");
        free(text);
    }
    json_decref(rows);
    rows = rows_of(&env, "DESCRIBE TABLE main.wt.evt_otherevents");
    {
        char *text = rows ? json_dumps(rows, JSON_COMPACT) : NULL;

        DP_ASSERT_MSG(text && strstr(text, "[\"value\",\"decimal(18,4)\"") &&
                          strstr(text, "[\"_loaded_at\",\"timestamp\""),
                      "the view's columns: %s", text ? text : "(none)");
        free(text);
    }
    json_decref(rows);
    DP_ASSERT_MSG(committed_to_end(&env) == PARTITIONS, "expected every partition committed");
    /* No COPY INTO ever went to an event table: only to the system tables. */
    copies = scalar(&env, "SELECT COUNT(*) FROM main.wt.sync_runs WHERE kind = 'file' AND "
                          "table_name LIKE 'evt_%' AND status = 'LOADED'");
    DP_ASSERT_MSG(copies > 0 && !file_contains(env.ef.request_log, "COPY INTO `main`.`wt`.`evt_"),
                  "event tables must be loaded by Zerobus, not COPY INTO (%lld file rows)", copies);
    zb_env_stop(&env);
}

static void test_zerobus_storms_and_expired_tokens(void)
{
    env_t env;
    dp_proc_t w;
    raw_tally_t t;
    long status = 0;

    if (zb_env_start(&env, 100, 300) < 0) {
        DP_ASSERT_MSG(0, "the fixture did not start");
        zb_env_stop(&env);
        return;
    }
    DP_ASSERT_FATAL_MSG(
        dp_emu_fault(&env.ef, "{\"endpoint\":\"zerobus.insert\",\"kind\":\"429\","
                              "\"retry_after\":1,\"rate\":0.3,\"count\":40}") == 0 &&
            dp_emu_fault(&env.ef, "{\"endpoint\":\"zerobus.insert\",\"kind\":\"503\","
                                  "\"rate\":0.3,\"count\":40}") == 0 &&
            dp_emu_fault(&env.ef, "{\"endpoint\":\"zerobus.insert\",\"kind\":\"500\","
                                  "\"count\":5}") == 0 &&
            dp_emu_fault(&env.ef, "{\"endpoint\":\"zerobus.insert\",\"kind\":\"drop\","
                                  "\"count\":5}") == 0,
        "adding the faults");
    DP_ASSERT_FATAL_MSG(produce(&env, 1500, 0, 12) == 0, "producing");
    DP_ASSERT_FATAL_MSG(start_worker(&env, &w, "zb-storm") == 0, "starting the worker");
    DP_ASSERT_MSG(wait_raw(&env, 700, 120000) >= 700, "the first rows did not arrive");
    dp_emu_http(&env.ef, "POST", "/_emulator/tokens/expire", NULL, "", 0, NULL, &status, NULL,
                NULL);
    DP_ASSERT_MSG(status == 200 && dp_emu_token(&env.ef, DP_EMU_CLIENT_ID, DP_EMU_CLIENT_SECRET,
                                                env.token, sizeof(env.token)) == 0,
                  "expiring the tokens");
    DP_ASSERT_FATAL_MSG(produce(&env, 500, 0, 13) == 0, "producing more");
    DP_ASSERT_MSG(wait_raw(&env, 2000, 180000) >= 2000, "not every record arrived");
    stop_worker(&w);
    t = raw_tally(&env);
    DP_ASSERT_MSG(t.distinct == 2000 && t.dups == 0,
                  "expected 2000 records once (the faults never store rows): %lld distinct, "
                  "%lld duplicates",
                  t.distinct, t.dups);
    /* Rows loaded after every token expired prove the tokens were refreshed. */
    DP_ASSERT_MSG(wait_log(&env, "zb-storm", "HTTP 429", 1000) == 0 &&
                      wait_log(&env, "zb-storm", "HTTP 503", 1000) == 0,
                  "expected the worker to have met 429s and 503s");
    DP_ASSERT_MSG(committed_to_end(&env) == PARTITIONS, "expected every partition committed");
    zb_env_stop(&env);
}

static void test_zerobus_schema_mismatch_goes_to_event_errors(void)
{
    char events[60][256], *canonical, *staged = NULL, *sql, *col;
    const char *ev[60];
    env_t env;
    dp_proc_t w;
    json_t *rows = NULL;
    dp_err_t err;
    FILE *f;
    long n;

    if (zb_env_start(&env, 1000000, 500) < 0) {
        DP_ASSERT_MSG(0, "the fixture did not start");
        zb_env_stop(&env);
        return;
    }
    /* The raw table exists already, with order_id of another type. */
    f = fopen(DP_SOURCE_DIR "/schemas/canonical_event.avsc", "rb");
    DP_ASSERT_FATAL_MSG(f != NULL, "canonical schema");
    canonical = calloc(1, 1 << 16);
    n = (long)fread(canonical, 1, (1 << 16) - 1, f);
    fclose(f);
    DP_ASSERT_FATAL_MSG(n > 0 &&
                            dp_avrofile_staged_schema(canonical, (size_t)n, &staged, &err) == 0,
                        "staged schema");
    sql = dp_sink_zb_table_sql("main", "wt", "evt_otherevents", staged, &err);
    DP_ASSERT_FATAL_MSG(sql && (col = strstr(sql, "`order_id` STRING")) != NULL, "DDL");
    memcpy(col, "`order_id` BIGINT", 17); /* the same length */
    {
        json_t *r1 = rows_of(&env, "CREATE SCHEMA IF NOT EXISTS main.wt"), *r2 = rows_of(&env, sql);

        DP_ASSERT_FATAL_MSG(r1 && r2, "creating the mismatched raw table: %s", sql);
        json_decref(r1);
        json_decref(r2);
    }
    free(sql);
    free(staged);
    free(canonical);
    for (int i = 0; i < 60; i++) {
        snprintf(events[i], sizeof(events[i]),
                 "{\"event_id\":\"mm-%d\",\"event_name\":\"signup\",\"event_time\":"
                 "1767225600000000,\"merchant_id\":\"m1\"%s}",
                 i, i % 20 == 7 ? ",\"order_id\":\"ord-7\"" : "");
        ev[i] = events[i];
    }
    DP_ASSERT_FATAL_MSG(produce_events(&env, 1, ev, 60) == 0, "producing");
    DP_ASSERT_FATAL_MSG(start_worker(&env, &w, "zb-mm") == 0, "starting the worker");
    DP_ASSERT_MSG(wait_raw(&env, 60, 120000) >= 60, "not every record arrived");
    stop_worker(&w);
    DP_ASSERT_MSG(scalar(&env, "SELECT COUNT(*) FROM main.wt.raw_evt_otherevents") == 57,
                  "expected the 57 rows without order_id loaded");
    rows = rows_of(&env, "SELECT error_code, error_message FROM main.wt.event_errors");
    DP_ASSERT_MSG(rows && json_array_size(rows) == 3, "expected 3 rows in event_errors, got %zu",
                  rows ? json_array_size(rows) : 0);
    for (size_t i = 0; rows && i < json_array_size(rows); i++) {
        const char *code = json_string_value(json_array_get(json_array_get(rows, i), 0));
        const char *msg = json_string_value(json_array_get(json_array_get(rows, i), 1));

        DP_ASSERT_MSG(code && strcmp(code, "LOAD_REJECTED") == 0 && msg &&
                          strstr(msg, "column `order_id`"),
                      "expected LOAD_REJECTED naming order_id, got %s '%s'", code ? code : "-",
                      msg ? msg : "-");
    }
    json_decref(rows);
    rows = rows_of(&env, "SELECT _kafka_partition, _kafka_offset FROM main.wt.event_errors "
                         "ORDER BY _kafka_offset");
    {
        char *text = rows ? json_dumps(rows, JSON_COMPACT) : NULL;

        DP_ASSERT_MSG(text && strcmp(text, "[[\"1\",\"7\"],[\"1\",\"27\"],[\"1\",\"47\"]]") == 0,
                      "the refused rows keep their lineage: %s", text ? text : "(none)");
        free(text);
    }
    json_decref(rows);
    /* The ledger covers the whole range: the flush was loaded, refused rows and all. */
    DP_ASSERT_MSG(scalar(&env, "SELECT COUNT(*) FROM main.wt.ledger WHERE kind = 'range' AND "
                               "kpartition = 1 AND last_offset = 59") >= 1,
                  "expected the ledger to cover offsets 0..59 of partition 1");
    zb_env_stop(&env);
}

static void test_zerobus_missing_table_is_created_again(void)
{
    env_t env;
    dp_proc_t w;
    json_t *r;

    if (zb_env_start(&env, 1000000, 200) < 0) {
        DP_ASSERT_MSG(0, "the fixture did not start");
        zb_env_stop(&env);
        return;
    }
    DP_ASSERT_FATAL_MSG(produce(&env, 300, 0, 14) == 0, "producing");
    DP_ASSERT_FATAL_MSG(start_worker(&env, &w, "zb-gone") == 0, "starting the worker");
    DP_ASSERT_MSG(wait_raw(&env, 300, 120000) >= 300, "the first records did not arrive");
    r = rows_of(&env, "DROP TABLE main.wt.raw_evt_otherevents");
    DP_ASSERT_FATAL_MSG(r != NULL, "dropping the raw table");
    json_decref(r);
    DP_ASSERT_FATAL_MSG(produce(&env, 300, 0, 15) == 0, "producing more");
    DP_ASSERT_MSG(wait_raw(&env, 300, 120000) >= 300 &&
                      wait_log(&env, "zb-gone", "does not exist", 30000) == 0,
                  "the later records did not arrive in the table created again");
    stop_worker(&w);
    DP_ASSERT_MSG(scalar(&env, "SELECT COUNT(*) FROM main.wt.raw_evt_otherevents") == 300,
                  "expected the 300 later rows in the new table, got %lld",
                  scalar(&env, "SELECT COUNT(*) FROM main.wt.raw_evt_otherevents"));
    DP_ASSERT_MSG(committed_to_end(&env) == PARTITIONS, "expected every partition committed");
    zb_env_stop(&env);
}

/* n JSON events of one name, ids prefix-<first + i>, into partition p. */
static int produce_named(env_t *env, const char *name, int first, int n)
{
    char **texts = calloc((size_t)n, sizeof(*texts));
    int rc = texts ? 0 : -1;

    for (int i = 0; i < n && rc == 0; i++) {
        texts[i] = malloc(256);
        if (!texts[i]) {
            rc = -1;
            break;
        }
        snprintf(texts[i], 256,
                 "{\"event_id\":\"%s-%d\",\"event_name\":\"%s\",\"event_time\":"
                 "1767225600000000,\"merchant_id\":\"m1\"}",
                 name, first + i, name);
    }
    if (rc == 0)
        rc = produce_events(env, -1, (const char *const *)texts, n);
    for (int i = 0; texts && i < n; i++)
        free(texts[i]);
    free(texts);
    return rc;
}

/* Backfill on promotion with the zerobus sink: evt_<name> and the shared
 * table are views, so the rows move between their raw tables (a MERGE into a
 * view is refused by Databricks). A name promoted after 200 events ends with
 * all of them in its own view, none in the shared one, each record once. */
static void test_zerobus_backfill_moves_between_raw_tables(void)
{
    env_t env;
    dp_proc_t w;
    long long own = -1, shared = -1, deadline;

    if (zb_env_start(&env, 200, 1000) < 0) {
        DP_ASSERT_MSG(0, "the fixture did not start");
        zb_env_stop(&env);
        return;
    }
    DP_ASSERT_FATAL_MSG(produce_named(&env, "purchase", 0, 200) == 0, "producing");
    DP_ASSERT_FATAL_MSG(produce_named(&env, "page_view", 0, 30) == 0, "producing");
    DP_ASSERT_FATAL_MSG(start_worker(&env, &w, "zb-backfill") == 0, "starting the worker");
    DP_ASSERT_MSG(wait_raw(&env, 230, 120000) >= 230, "the first records did not arrive");
    /* After the next counts refresh, purchase has its own table. */
    deadline = dp_test_now_ms() + scaled(120000);
    for (int k = 0; dp_test_now_ms() < deadline; k++) {
        DP_ASSERT_FATAL_MSG(produce_named(&env, "purchase", 1000 + 10 * k, 10) == 0, "producing");
        dp_test_sleep_ms(2000);
        if (scalar(&env, "SELECT COUNT(*) FROM main.wt.raw_evt_purchase") > 0)
            break;
    }
    deadline = dp_test_now_ms() + scaled(180000);
    while (dp_test_now_ms() < deadline) {
        if (scalar(&env, "SELECT COUNT(*) FROM main.wt.backfills WHERE event_name = 'purchase' "
                         "AND state = 'done'") >= 1)
            break;
        dp_test_sleep_ms(1000);
    }
    stop_worker(&w);
    own = scalar(&env, "SELECT COUNT(*) FROM main.wt.evt_purchase");
    shared = scalar(&env, "SELECT COUNT(*) FROM main.wt.evt_otherevents WHERE event_name = "
                          "'purchase'");
    DP_ASSERT_MSG(shared == 0 && own >= 210,
                  "expected every purchase in evt_purchase and none shared, got %lld and %lld", own,
                  shared);
    DP_ASSERT_MSG(scalar(&env, "SELECT COUNT(*) FROM main.wt.evt_otherevents") == 30,
                  "expected the 30 page views to stay shared");
    DP_ASSERT_MSG(scalar(&env, "SELECT COUNT(DISTINCT event_id) FROM main.wt.evt_purchase") == own,
                  "a purchase is in its view twice");
    DP_ASSERT_MSG(scalar(&env, "SELECT COUNT(*) FROM main.wt.sync_runs WHERE kind = 'backfill' "
                               "AND rows = 200") == 1,
                  "expected one sync_runs row of kind backfill for the 200 rows");
    zb_env_stop(&env);
}

static void test_zerobus_sigkill_mid_batch(void)
{
    env_t env;
    dp_proc_t a, b;
    raw_tally_t before, after;
    json_t *lat, *st;
    long long deadline, inserts = 0;

    if (zb_env_start(&env, 1000000, 5000) < 0) {
        DP_ASSERT_MSG(0, "the fixture did not start");
        zb_env_stop(&env);
        return;
    }
    /* Inserts are stored at once but answered 3 s later: a kill in between
     * loses the acknowledgements of rows that are stored. */
    lat = dp_emu_latency(&env.ef, "{\"zerobus_latency_ms\": 3000}");
    DP_ASSERT_FATAL_MSG(lat != NULL, "setting the latency");
    json_decref(lat);
    DP_ASSERT_FATAL_MSG(produce(&env, 3000, 0, 16) == 0, "producing");
    DP_ASSERT_FATAL_MSG(start_worker(&env, &a, "zb-a") == 0, "starting worker a");
    deadline = dp_test_now_ms() + scaled(60000);
    while (dp_test_now_ms() < deadline && (inserts = raw_tally(&env).rows) == 0)
        dp_test_sleep_ms(20);
    DP_ASSERT_FATAL_MSG(inserts > 0, "no insert was stored");
    dp_proc_signal(&a, SIGKILL);
    dp_proc_wait(&a, scaled(10000));
    lat = dp_emu_latency(&env.ef, "{\"zerobus_latency_ms\": 0}");
    json_decref(lat);
    dp_test_sleep_ms(3500); /* the answers nobody hears, and the rows stored with them */
    before = raw_tally(&env);
    DP_ASSERT_FATAL_MSG(start_worker(&env, &b, "zb-b") == 0, "starting worker b");
    DP_ASSERT_MSG(wait_raw(&env, 3000, 180000) >= 3000, "not every record arrived");
    stop_worker(&b);
    after = raw_tally(&env);
    st = dp_emu_stats(&env.ef, 0);
    fprintf(
        stderr,
        "sigkill: %lld rows stored before the kill, %lld raw rows after, %lld "
        "duplicates, %lld distinct; %lld inserts\n",
        before.rows, after.rows, after.dups, after.distinct,
        (long long)json_integer_value(json_object_get(json_object_get(st, "zerobus"), "inserts")));
    json_decref(st);
    DP_ASSERT_MSG(after.distinct == 3000, "expected every record, got %lld", after.distinct);
    DP_ASSERT_MSG(check_exactly_once(&env, 3000) == 0,
                  "the views must hold every record once despite %lld raw duplicates", after.dups);
    DP_ASSERT_MSG(after.dups <= before.rows,
                  "duplicates (%lld) must be rows the killed worker stored (%lld)", after.dups,
                  before.rows);
    DP_ASSERT_MSG(wait_log(&env, "zb-b", "completed flush", 1000) == 0 || after.dups == 0,
                  "the next owner should have finished the killed worker's flush");
    DP_ASSERT_MSG(committed_to_end(&env) == PARTITIONS, "expected every partition committed");
    zb_env_stop(&env);
}

/* `deltaport ddl` for a principal that may not create tables: its statements
 * run as they are, and a worker then loads into what they made. */
static void test_zerobus_ddl_output_runs(void)
{
    char *argv[] = {DP_DELTAPORT_BIN, "ddl", "--config", NULL, "--names", "purchase", NULL};
    char *out = calloc(1, 1 << 20), *p, *end;
    env_t env;
    dp_proc_t w;
    int nstmt = 0, ok = 1;

    if (zb_env_start(&env, 1, 500) < 0) {
        DP_ASSERT_MSG(0, "the fixture did not start");
        zb_env_stop(&env);
        free(out);
        return;
    }
    argv[3] = env.config;
    DP_ASSERT_FATAL_MSG(dp_proc_run(argv, out, 1 << 20, scaled(30000)) == 0, "deltaport ddl");
    DP_ASSERT_MSG(strstr(out, "CREATE VIEW IF NOT EXISTS `main`.`wt`.`evt_purchase` AS SELECT") &&
                      strstr(out, "CREATE TABLE IF NOT EXISTS `main`.`wt`.`raw_evt_purchase`") &&
                      strstr(out, "GRANT SELECT, MODIFY ON TABLE `main`.`wt`.`raw_evt_purchase`"),
                  "the DDL lacks the purchase pair: %.300s", out);
    for (p = out; ok && (end = strstr(p, ";\n")) != NULL; p = end + 2) {
        json_t *r;

        *end = '\0';
        while (*p == '\n' || (*p == '-' && p[1] == '-')) {
            if (*p == '-')
                p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p);
            else
                p++;
        }
        if (strncmp(p, "CREATE ", 7) != 0)
            continue; /* the GRANTs: the emulator takes grants from a file */
        r = rows_of(&env, p);
        ok = DP_ASSERT_MSG(r != NULL, "the emulator refused: %.200s", p);
        json_decref(r);
        nstmt++;
    }
    DP_ASSERT_MSG(nstmt == 11,
                  "expected 11 CREATE statements (schema, volume, 5 system tables, "
                  "2 pairs), ran %d",
                  nstmt);
    free(out);
    DP_ASSERT_FATAL_MSG(produce(&env, 300, 0, 17) == 0, "producing");
    DP_ASSERT_FATAL_MSG(start_worker(&env, &w, "zb-ddl") == 0, "starting the worker");
    DP_ASSERT_MSG(wait_raw(&env, 300, 120000) >= 300, "not every record arrived");
    stop_worker(&w);
    DP_ASSERT_MSG(check_exactly_once(&env, 300) == 0, "the views must hold every record once");
    zb_env_stop(&env);
}

static const dp_test_case_t cases[] = {
    {"test_zerobus_happy_path_and_decimals", test_zerobus_happy_path_and_decimals},
    {"test_zerobus_storms_and_expired_tokens", test_zerobus_storms_and_expired_tokens},
    {"test_zerobus_schema_mismatch_goes_to_event_errors",
     test_zerobus_schema_mismatch_goes_to_event_errors},
    {"test_zerobus_missing_table_is_created_again", test_zerobus_missing_table_is_created_again},
    {"test_zerobus_sigkill_mid_batch", test_zerobus_sigkill_mid_batch},
    {"test_zerobus_backfill_moves_between_raw_tables",
     test_zerobus_backfill_moves_between_raw_tables},
    {"test_zerobus_ddl_output_runs", test_zerobus_ddl_output_runs},
    {NULL, NULL},
};

static const dp_test_suite_t suites[] = {
    {"zerobus", NULL, NULL, cases},
    {NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
    return dp_test_main(argc, argv, suites);
}
