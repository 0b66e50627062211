/*
 * Integration tests of the emulator's realism switches and round-trip
 * counters: statement latency that overlaps across concurrent statements, the
 * warehouse concurrency (extra statements wait PENDING), wait_timeout and
 * polling with slow statements, Files API latency, the COPY INTO cost per
 * MiB, settings from the command line and changed at run time, and the
 * counters of /_emulator/stats by kind.
 *
 * Timing assertions are lower bounds (a wait that must have happened) except
 * the overlap checks, which are loose upper bounds (two 500 ms statements in
 * well under 1000 ms).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_test.h"
#include "emu_fixture.h"

#define FILES "/api/2.0/fs/files/Volumes/main/lat/v"
#define DIRS  "/api/2.0/fs/directories/Volumes/main/lat/v"

static dp_emu_fixture_t ef;
static int ready;

#define NEED_READY()                                                                               \
    do {                                                                                           \
        if (!ready) {                                                                              \
            dp_test_skip("emulator did not start or set up");                                      \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* Runs sql to a terminal state; 1 when it SUCCEEDED (reason on stderr otherwise). */
static int sql_ok(const char *sql)
{
    json_t *r = NULL;
    int ok = dp_emu_sql(&ef, DP_EMU_PAT, sql, &r) == 0 && strcmp(dp_emu_state(r), "SUCCEEDED") == 0;

    if (!ok) {
        fprintf(stderr, "%s: %s\n", sql, r ? dp_emu_state(r) : "(no response)");
    }
    json_decref(r);
    return ok;
}

static int run_sql(const char *sql)
{
    int ok = sql_ok(sql);

    DP_ASSERT_MSG(ok, "expected SUCCEEDED for %s", sql);
    return ok;
}

static int suite_init(void)
{
    static const char *const args[] = {"--statement-latency-ms", "500", "--files-latency-ms", "300",
                                       NULL};

    ready = dp_emu_fixture_start(&ef, args) == 0 &&
            sql_ok("CREATE SCHEMA IF NOT EXISTS main.lat") &&
            sql_ok("CREATE VOLUME IF NOT EXISTS main.lat.v");
    return 0;
}

static int suite_cleanup(void)
{
    dp_emu_fixture_stop(&ef);
    return 0;
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s ? s : "(missing)";
}

/* Submits statement with wait_timeout wait; the reply (new) or NULL. */
static json_t *submit(const char *statement, const char *wait)
{
    json_t *req = json_pack("{s:s, s:s, s:s}", "statement", statement, "warehouse_id",
                            DP_EMU_WAREHOUSE, "wait_timeout", wait);
    char *body = json_dumps(req, JSON_COMPACT), *resp = NULL;
    long status = 0;
    json_t *j = NULL;

    dp_emu_http(&ef, "POST", "/api/2.0/sql/statements", DP_EMU_PAT, body, strlen(body),
                "application/json", &status, &resp, NULL);
    if (status == 200 && resp != NULL) {
        j = json_loads(resp, 0, NULL);
    }
    free(resp);
    free(body);
    json_decref(req);
    return j;
}

static json_t *get_statement(const char *id)
{
    char path[256], *resp = NULL;
    long status = 0;
    json_t *j;

    snprintf(path, sizeof(path), "/api/2.0/sql/statements/%s", id);
    dp_emu_http(&ef, "GET", path, DP_EMU_PAT, NULL, 0, NULL, &status, &resp, NULL);
    j = resp != NULL ? json_loads(resp, 0, NULL) : NULL;
    free(resp);
    return j;
}

static int terminal(const char *state)
{
    return strcmp(state, "SUCCEEDED") == 0 || strcmp(state, "FAILED") == 0 ||
           strcmp(state, "CANCELED") == 0;
}

static long call(const char *method, const char *path, const char *data, size_t len)
{
    long status = 0;

    dp_emu_http(&ef, method, path, DP_EMU_PAT, data, len, data ? "application/octet-stream" : NULL,
                &status, NULL, NULL);
    return status;
}

/* ---------------------------------------------------------------------------
 * Statements
 * ------------------------------------------------------------------------- */

typedef struct timed {
    const char *sql;
    long long start, end;
    char state[16];
} timed_t;

static void *timed_submit(void *arg)
{
    timed_t *t = arg;
    json_t *r;

    t->start = dp_test_now_ms();
    r = submit(t->sql, "10s");
    t->end = dp_test_now_ms();
    snprintf(t->state, sizeof(t->state), "%s", r ? dp_emu_state(r) : "(none)");
    json_decref(r);
    return NULL;
}

static void test_emulator_latency_statements_overlap(void)
{
    timed_t t[2] = {{"SELECT 1", 0, 0, ""}, {"SELECT 2", 0, 0, ""}};
    pthread_t th[2];
    json_t *lat;
    long long total;
    int k;

    NEED_READY();
    lat = dp_emu_latency(&ef, NULL);
    DP_ASSERT_MSG(json_integer_value(json_object_get(lat, "statement_latency_ms")) == 500 &&
                      json_integer_value(json_object_get(lat, "files_latency_ms")) == 300 &&
                      json_integer_value(json_object_get(lat, "warehouse_concurrency")) == 10,
                  "expected the command line's 500 ms / 300 ms and the default concurrency 10");
    json_decref(lat);
    for (k = 0; k < 2; k++) {
        pthread_create(&th[k], NULL, timed_submit, &t[k]);
    }
    for (k = 0; k < 2; k++) {
        pthread_join(th[k], NULL);
    }
    total = (t[0].end > t[1].end ? t[0].end : t[1].end) -
            (t[0].start < t[1].start ? t[0].start : t[1].start);
    for (k = 0; k < 2; k++) {
        DP_ASSERT_MSG(strcmp(t[k].state, "SUCCEEDED") == 0 && t[k].end - t[k].start >= 500,
                      "expected %s to succeed after at least 500 ms, got %s after %lld ms",
                      t[k].sql, t[k].state, t[k].end - t[k].start);
    }
    DP_ASSERT_MSG(total < 900,
                  "expected two concurrent 500 ms statements to overlap (< 900 ms "
                  "in all), took %lld ms",
                  total);
}

/* Sets latency settings for one test; 1 when accepted. */
static int set_latency(const char *json)
{
    json_t *j = dp_emu_latency(&ef, json);

    DP_ASSERT_MSG(j != NULL, "expected the settings %s to be accepted", json);
    json_decref(j);
    return j != NULL;
}

/* A statement slower than wait_timeout answers RUNNING and is polled. */
static void test_emulator_latency_slower_than_wait_timeout_is_polled(void)
{
    json_t *r, *p = NULL;
    long long t0;
    int saw_running = 0;

    NEED_READY();
    if (!set_latency("{\"statement_latency_ms\":5600,\"warehouse_concurrency\":10}")) {
        return;
    }
    t0 = dp_test_now_ms();
    r = submit("SELECT 'slow'", "5s");
    DP_ASSERT_FATAL_MSG(r != NULL && strcmp(dp_emu_state(r), "RUNNING") == 0,
                        "expected RUNNING after the 5 s wait_timeout, got %s",
                        r ? dp_emu_state(r) : "(none)");
    DP_ASSERT_MSG(dp_test_now_ms() - t0 >= 5000, "expected the submit to wait 5 s, took %lld ms",
                  dp_test_now_ms() - t0);
    while (dp_test_now_ms() - t0 < 30000LL * dp_test_timeout_scale()) {
        json_decref(p);
        p = get_statement(str(r, "statement_id"));
        if (terminal(dp_emu_state(p))) {
            break;
        }
        dp_test_sleep_ms(50);
    }
    DP_ASSERT_MSG(strcmp(dp_emu_state(p), "SUCCEEDED") == 0 && dp_test_now_ms() - t0 >= 5600,
                  "expected SUCCEEDED no sooner than 5.6 s, got %s after %lld ms", dp_emu_state(p),
                  dp_test_now_ms() - t0);
    json_decref(p);
    json_decref(r);
    /* An async submit is PENDING or RUNNING at once, then RUNNING while polled. */
    set_latency("{\"statement_latency_ms\":600}");
    t0 = dp_test_now_ms();
    r = submit("SELECT 'async'", "0s");
    DP_ASSERT_FATAL_MSG(r != NULL && (strcmp(dp_emu_state(r), "PENDING") == 0 ||
                                      strcmp(dp_emu_state(r), "RUNNING") == 0),
                        "expected PENDING or RUNNING right after a 0s submit, got %s",
                        r ? dp_emu_state(r) : "(none)");
    p = NULL;
    while (dp_test_now_ms() - t0 < 30000LL * dp_test_timeout_scale()) {
        json_decref(p);
        p = get_statement(str(r, "statement_id"));
        saw_running |= strcmp(dp_emu_state(p), "RUNNING") == 0;
        if (terminal(dp_emu_state(p))) {
            break;
        }
        dp_test_sleep_ms(50);
    }
    DP_ASSERT_MSG(saw_running && strcmp(dp_emu_state(p), "SUCCEEDED") == 0 &&
                      dp_test_now_ms() - t0 >= 600,
                  "expected RUNNING polls then SUCCEEDED after 600 ms, got running=%d %s after "
                  "%lld ms",
                  saw_running, dp_emu_state(p), dp_test_now_ms() - t0);
    json_decref(p);
    json_decref(r);
}

/* With a concurrency of 1, a second statement waits PENDING while the first runs. */
static void test_emulator_latency_warehouse_concurrency_queues(void)
{
    json_t *a, *b, *pa = NULL, *pb = NULL;
    long long t0, b_done = 0;
    int b_pending_while_a_running = 0;

    NEED_READY();
    if (!set_latency("{\"statement_latency_ms\":800,\"warehouse_concurrency\":1}")) {
        return;
    }
    t0 = dp_test_now_ms();
    a = submit("SELECT 'a'", "0s");
    b = submit("SELECT 'b'", "0s");
    DP_ASSERT_FATAL_MSG(a != NULL && b != NULL, "expected both submits to be answered");
    while (dp_test_now_ms() - t0 < 30000LL * dp_test_timeout_scale()) {
        json_decref(pa);
        json_decref(pb);
        pa = get_statement(str(a, "statement_id"));
        pb = get_statement(str(b, "statement_id"));
        b_pending_while_a_running |=
            strcmp(dp_emu_state(pa), "RUNNING") == 0 && strcmp(dp_emu_state(pb), "PENDING") == 0;
        if (terminal(dp_emu_state(pb))) {
            b_done = dp_test_now_ms() - t0;
            break;
        }
        dp_test_sleep_ms(50);
    }
    DP_ASSERT_MSG(b_pending_while_a_running, "expected b PENDING while a was RUNNING");
    DP_ASSERT_MSG(strcmp(dp_emu_state(pb), "SUCCEEDED") == 0 && b_done >= 1600,
                  "expected b to run after a (done no sooner than 1600 ms), got %s at %lld ms",
                  dp_emu_state(pb), b_done);
    json_decref(pa);
    json_decref(pb);
    json_decref(a);
    json_decref(b);
    set_latency("{\"statement_latency_ms\":0,\"warehouse_concurrency\":10}");
}

/* ---------------------------------------------------------------------------
 * Files and COPY INTO
 * ------------------------------------------------------------------------- */

typedef struct timed_call {
    const char *method, *path;
    long status;
    long long ms;
} timed_call_t;

static void *timed_http(void *arg)
{
    timed_call_t *t = arg;
    long long t0 = dp_test_now_ms();

    t->status = call(t->method, t->path, NULL, 0);
    t->ms = dp_test_now_ms() - t0;
    return NULL;
}

static void test_emulator_latency_files(void)
{
    timed_call_t t[2] = {{"GET", FILES "/f1.txt", 0, 0}, {"HEAD", FILES "/f1.txt", 0, 0}};
    pthread_t th[2];
    long long t0, total;
    long status;
    int k;

    NEED_READY();
    if (!set_latency("{\"files_latency_ms\":300,\"statement_latency_ms\":0}")) {
        return;
    }
    t0 = dp_test_now_ms();
    status = call("PUT", FILES "/f1.txt", "hello", 5);
    DP_ASSERT_MSG(status == 204 && dp_test_now_ms() - t0 >= 300,
                  "expected 204 after at least 300 ms, got %ld after %lld ms", status,
                  dp_test_now_ms() - t0);
    t0 = dp_test_now_ms();
    for (k = 0; k < 2; k++) {
        pthread_create(&th[k], NULL, timed_http, &t[k]);
    }
    for (k = 0; k < 2; k++) {
        pthread_join(th[k], NULL);
    }
    total = dp_test_now_ms() - t0;
    for (k = 0; k < 2; k++) {
        DP_ASSERT_MSG(t[k].status == 200 && t[k].ms >= 300,
                      "expected %s 200 after at least 300 ms, got %ld after %lld ms", t[k].method,
                      t[k].status, t[k].ms);
    }
    DP_ASSERT_MSG(total < 560,
                  "expected two concurrent 300 ms Files calls to overlap (< 560 ms), "
                  "took %lld ms",
                  total);
    /* Changed at run time: a listing now takes 700 ms. */
    set_latency("{\"files_latency_ms\":700}");
    t0 = dp_test_now_ms();
    status = call("GET", DIRS, NULL, 0);
    DP_ASSERT_MSG(status == 200 && dp_test_now_ms() - t0 >= 700,
                  "expected the listing after at least 700 ms, got %ld after %lld ms", status,
                  dp_test_now_ms() - t0);
    set_latency("{\"files_latency_ms\":0}");
}

/* A JSON-lines file of about `bytes` bytes: {"s":"xxxx..."} lines. */
static char *jsonl(size_t bytes, size_t *len)
{
    static const char head[] = "{\"s\":\"", tail[] = "\"}\n";
    size_t line = 1000, n = 0, k;
    char *p = malloc(bytes + line + 1);

    while (p != NULL && n < bytes) {
        memcpy(p + n, head, sizeof(head) - 1);
        n += sizeof(head) - 1;
        for (k = 0; k < line - (sizeof(head) - 1) - (sizeof(tail) - 1); k++) {
            p[n++] = 'x';
        }
        memcpy(p + n, tail, sizeof(tail) - 1);
        n += sizeof(tail) - 1;
    }
    *len = n;
    return p;
}

static long long timed_copy(const char *expect_inserted)
{
    long long t0 = dp_test_now_ms(), ms;
    json_t *r = submit("COPY INTO main.lat.big FROM '/Volumes/main/lat/v/big/' FILEFORMAT = JSON "
                       "FILES = ('big.json')",
                       "50s");
    json_t *rows = json_object_get(json_object_get(r, "result"), "data_array");
    const char *ins = json_string_value(json_array_get(json_array_get(rows, 0), 1));

    ms = dp_test_now_ms() - t0;
    DP_ASSERT_MSG(r != NULL && strcmp(dp_emu_state(r), "SUCCEEDED") == 0 && ins != NULL &&
                      strcmp(ins, expect_inserted) == 0,
                  "expected the COPY to insert %s rows, got %s / %s", expect_inserted,
                  r ? dp_emu_state(r) : "(none)", ins ? ins : "(none)");
    json_decref(r);
    return ms;
}

static void test_emulator_latency_copy_cost_per_mib(void)
{
    size_t len = 0;
    char *body = jsonl(1536 * 1024, &len); /* 1573 lines of 1000 bytes, just over 1.5 MiB */
    long long ms;
    long status;

    NEED_READY();
    DP_ASSERT_FATAL_MSG(body != NULL, "out of memory");
    if (!set_latency("{\"statement_latency_ms\":0,\"files_latency_ms\":0,"
                     "\"copy_ms_per_mib\":1000}") ||
        !run_sql("CREATE TABLE IF NOT EXISTS main.lat.big (s STRING)")) {
        free(body);
        return;
    }
    status = call("PUT", FILES "/big/big.json", body, len);
    free(body);
    DP_ASSERT_FATAL_MSG(status == 204, "expected the upload to succeed, got %ld", status);
    ms = timed_copy("1573");
    DP_ASSERT_MSG(ms >= 1500,
                  "expected 1.5 MiB at 1000 ms/MiB to take at least 1500 ms, took "
                  "%lld ms",
                  ms);
    /* The same COPY again skips the loaded file: no bytes, no cost. */
    ms = timed_copy("0");
    DP_ASSERT_MSG(ms < 1000, "expected a COPY that loads nothing to cost nothing, took %lld ms",
                  ms);
    set_latency("{\"copy_ms_per_mib\":0}");
}

/* Bad settings are refused and change nothing. */
static void test_emulator_latency_refuses_bad_settings(void)
{
    static const char *const bad[] = {
        "{\"statement_latency_ms\":-1}", "{\"warehouse_concurrency\":0}",
        "{\"files_latency_ms\":\"100\"}", "{\"statement_latency_ms\":100,\"nope\":1}", "[1]"};
    json_t *before = dp_emu_latency(&ef, NULL), *after;
    long status;
    size_t k;

    NEED_READY();
    for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        status = 0;
        dp_emu_http(&ef, "POST", "/_emulator/latency", NULL, bad[k], strlen(bad[k]),
                    "application/json", &status, NULL, NULL);
        DP_ASSERT_MSG(status == 400, "expected 400 for %s, got %ld", bad[k], status);
    }
    after = dp_emu_latency(&ef, NULL);
    DP_ASSERT_MSG(before != NULL && json_equal(before, after),
                  "expected refused settings to change nothing");
    json_decref(before);
    json_decref(after);
}

/* ---------------------------------------------------------------------------
 * Counters
 * ------------------------------------------------------------------------- */

static long long num(const json_t *o, const char *a, const char *b)
{
    const json_t *v = json_object_get(o, a);

    if (b != NULL) {
        v = json_object_get(v, b);
    }
    return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

static void test_emulator_stats_counts_round_trips_by_kind(void)
{
    static const char *const sql[] = {
        "CREATE SCHEMA IF NOT EXISTS main.lat",
        "CREATE VOLUME IF NOT EXISTS main.lat.v",
        "CREATE TABLE IF NOT EXISTS main.lat.k (a INT)",
        "INSERT INTO main.lat.k VALUES (1)",
        "SELECT * FROM main.lat.k",
        "  select 1",
        "MERGE INTO main.lat.k USING (VALUES (1)) AS "
        "s(a) ON k.a = s.a WHEN MATCHED THEN DELETE",
        "DESCRIBE DETAIL main.lat.k",
        "DESCRIBE TABLE main.lat.k",
        "SHOW TABLES IN main.lat",
        "COPY INTO main.lat.k FROM '/Volumes/main/lat/v/none/' FILEFORMAT = JSON"};
    json_t *r, *st, *kinds, *old;
    char token[256], path[256], *text;
    long status;
    size_t k;

    NEED_READY();
    if (!set_latency("{\"statement_latency_ms\":0,\"files_latency_ms\":0}")) {
        return;
    }
    old = dp_emu_stats(&ef, 1);
    DP_ASSERT_MSG(old != NULL && num(old, "statements", "total") > 0,
                  "expected the reset to return the counts so far");
    json_decref(old);
    DP_ASSERT_MSG(dp_emu_token(&ef, DP_EMU_CLIENT_ID, DP_EMU_CLIENT_SECRET, token, sizeof(token)) ==
                      0,
                  "expected a token");
    for (k = 0; k < sizeof(sql) / sizeof(sql[0]); k++) {
        r = submit(sql[k], "10s");
        if (k == 4) {
            snprintf(path, sizeof(path), "/api/2.0/sql/statements/%s", str(r, "statement_id"));
        }
        json_decref(r);
    }
    call("GET", path, NULL, 0);
    call("GET", path, NULL, 0);
    snprintf(path + strlen(path), sizeof(path) - strlen(path), "/result/chunks/0");
    call("GET", path, NULL, 0);
    call("POST", "/api/2.0/sql/statements/no-such/cancel", "", 0);
    call("PUT", DIRS "/stats", NULL, 0);
    call("PUT", FILES "/stats/a.txt", "a", 1);
    call("HEAD", FILES "/stats/a.txt", NULL, 0);
    call("GET", FILES "/stats/a.txt", NULL, 0);
    call("GET", DIRS "/stats", NULL, 0);
    call("DELETE", FILES "/stats/a.txt", NULL, 0);
    status = call("GET", "/api/2.0/no/such/api", NULL, 0);
    DP_ASSERT_MSG(status == 404, "expected 404 for an unknown API, got %ld", status);
    st = dp_emu_stats(&ef, 0);
    kinds = json_object_get(json_object_get(st, "statements"), "by_kind");
    DP_ASSERT_FATAL_MSG(st != NULL, "expected the stats");
    text = json_dumps(st, JSON_COMPACT);
    DP_ASSERT_MSG(num(st, "oauth_tokens", NULL) == 1 && num(st, "statements", "total") == 11 &&
                      num(kinds, "CREATE SCHEMA", NULL) == 1 &&
                      num(kinds, "CREATE VOLUME", NULL) == 1 &&
                      num(kinds, "CREATE TABLE", NULL) == 1 && num(kinds, "INSERT", NULL) == 1 &&
                      num(kinds, "SELECT", NULL) == 2 && num(kinds, "MERGE", NULL) == 1 &&
                      num(kinds, "DESCRIBE DETAIL", NULL) == 1 &&
                      num(kinds, "DESCRIBE", NULL) == 1 && num(kinds, "SHOW", NULL) == 1 &&
                      num(kinds, "COPY INTO", NULL) == 1 && json_object_size(kinds) == 10,
                  "expected 1 token and 11 statements by kind, got %s", text);
    DP_ASSERT_MSG(num(st, "statement_polls", NULL) == 2 && num(st, "statement_chunks", NULL) == 1 &&
                      num(st, "statement_cancels", NULL) == 1 && num(st, "files", "mkdir") == 1 &&
                      num(st, "files", "upload") == 1 && num(st, "files", "head") == 1 &&
                      num(st, "files", "download") == 1 && num(st, "files", "list") == 1 &&
                      num(st, "files", "delete") == 1 && num(st, "files", "total") == 6 &&
                      num(st, "other", NULL) == 1,
                  "expected 2 polls, 1 chunk, 1 cancel, one Files call of each kind, 1 other; "
                  "got %s",
                  text);
    free(text);
    json_decref(st);
    /* The reset zeroes what it returned. */
    json_decref(dp_emu_stats(&ef, 1));
    st = dp_emu_stats(&ef, 0);
    DP_ASSERT_MSG(
        num(st, "statements", "total") == 0 && num(st, "files", "total") == 0 &&
            json_object_size(json_object_get(json_object_get(st, "statements"), "by_kind")) == 0,
        "expected zeroed counters after a reset");
    json_decref(st);
}

static const dp_test_case_t cases[] = {
    {"test_emulator_latency_statements_overlap", test_emulator_latency_statements_overlap},
    {"test_emulator_latency_slower_than_wait_timeout_is_polled",
     test_emulator_latency_slower_than_wait_timeout_is_polled},
    {"test_emulator_latency_warehouse_concurrency_queues",
     test_emulator_latency_warehouse_concurrency_queues},
    {"test_emulator_latency_files", test_emulator_latency_files},
    {"test_emulator_latency_copy_cost_per_mib", test_emulator_latency_copy_cost_per_mib},
    {"test_emulator_latency_refuses_bad_settings", test_emulator_latency_refuses_bad_settings},
    {"test_emulator_stats_counts_round_trips_by_kind",
     test_emulator_stats_counts_round_trips_by_kind},
    {NULL, NULL}};

static const dp_test_suite_t suites[] = {{"emulator_latency", suite_init, suite_cleanup, cases},
                                         {NULL, NULL, NULL, NULL}};

int main(int argc, char **argv)
{
    return dp_test_main(argc, argv, suites);
}
