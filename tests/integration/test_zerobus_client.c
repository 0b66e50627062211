/*
 * Integration tests of the Zerobus Ingest client (src/dbx/zerobus.h) against
 * the emulator: inserts into several tables with one token per table,
 * several inserts in flight, 429 honouring Retry-After, a 503 storm that
 * exhausts the attempts, a 500 and a dropped connection retried (the
 * emulator did not store those, so no duplicate), an expired token refreshed
 * once, a 400 not retried and naming the column, a missing table, and the
 * token request's resource and authorization_details (pure).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbx/zerobus.h"
#include "dp_test.h"
#include "emu_fixture.h"

#define WORKSPACE "1234567890123456"

static dp_emu_fixture_t ef;
static int ready;
static char ws_token[128];
static dp_zerobus_t *zb;

static int sql_ok(const char *stmt)
{
    json_t *r = NULL;
    int ok = dp_emu_sql(&ef, ws_token, stmt, &r) == 0 && strcmp(dp_emu_state(r), "SUCCEEDED") == 0;

    json_decref(r);
    return ok;
}

static dp_zerobus_t *client(size_t in_flight, int attempts)
{
    dp_zerobus_config_t c;
    dp_err_t err;
    dp_zerobus_t *z;

    memset(&c, 0, sizeof(c));
    c.endpoint = ef.url;
    c.workspace_host = ef.url;
    c.workspace_id = WORKSPACE;
    c.client_id = DP_EMU_CLIENT_ID;
    c.client_secret = DP_EMU_CLIENT_SECRET;
    c.allow_insecure_http = 1;
    c.request_timeout_ms = 20000;
    c.retry.max_attempts = attempts;
    c.retry.base_delay_ms = 50;
    c.retry.max_delay_ms = 400;
    c.max_in_flight = in_flight;
    z = dp_zerobus_new(&c, &err);
    if (!z)
        fprintf(stderr, "dp_zerobus_new: %s\n", err.msg);
    return z;
}

static int suite_init(void)
{
    ready = dp_emu_fixture_start(&ef, NULL) == 0 &&
            dp_emu_token(&ef, DP_EMU_CLIENT_ID, DP_EMU_CLIENT_SECRET, ws_token, sizeof(ws_token)) ==
                0 &&
            sql_ok("CREATE SCHEMA IF NOT EXISTS main.zc") &&
            sql_ok("CREATE TABLE main.zc.a (id STRING NOT NULL, n BIGINT)") &&
            sql_ok("CREATE TABLE main.zc.b (id STRING NOT NULL, n BIGINT)") &&
            sql_ok("CREATE TABLE main.zc.c (id STRING NOT NULL, n BIGINT)");
    if (ready)
        zb = client(8, 6);
    ready = ready && zb != NULL;
    return 0;
}

static int suite_cleanup(void)
{
    dp_zerobus_destroy(zb);
    dp_emu_fixture_stop(&ef);
    return 0;
}

static void reset(void)
{
    long status = 0;

    dp_emu_http(&ef, "DELETE", "/_emulator/faults", NULL, NULL, 0, NULL, &status, NULL, NULL);
    json_decref(dp_emu_latency(&ef, "{\"zerobus_latency_ms\": 0}"));
}

#define NEED_READY()                                                                               \
    do {                                                                                           \
        if (!ready) {                                                                              \
            dp_test_skip("emulator or client set-up failed");                                      \
            return;                                                                                \
        }                                                                                          \
        reset();                                                                                   \
    } while (0)

static long long rows_with(const char *table, const char *id)
{
    char q[256];

    snprintf(q, sizeof(q), "SELECT count(*) FROM %s WHERE id = '%s'", table, id);
    return dp_emu_scalar(&ef, ws_token, q);
}

/* One insert of one row {"id": id} into table; returns it (copied). */
static dp_zerobus_insert_t one(const char *table, char *body, size_t len, const char *id)
{
    dp_zerobus_insert_t in;

    snprintf(body, len, "[{\"id\":\"%s\",\"n\":1}]", id);
    memset(&in, 0, sizeof(in));
    in.table = table;
    in.body = body;
    in.len = strlen(body);
    return in;
}

static void test_zerobus_client_inserts_into_several_tables(void)
{
    static const char *const tables[] = {"main.zc.a", "main.zc.b", "main.zc.c"};
    dp_zerobus_insert_t ins[12];
    char bodies[12][64], id[16];
    long fetches = dp_zerobus_token_fetches(zb);
    size_t failed;

    NEED_READY();
    for (int i = 0; i < 12; i++) {
        snprintf(id, sizeof(id), "many-%d", i);
        ins[i] = one(tables[i % 3], bodies[i], sizeof(bodies[i]), id);
    }
    failed = dp_zerobus_send(zb, ins, 12, NULL, NULL, NULL);
    DP_ASSERT_MSG(failed == 0, "expected every insert acknowledged, %zu failed (first: %s)", failed,
                  ins[0].err.msg);
    for (int i = 0; i < 12; i++) {
        snprintf(id, sizeof(id), "many-%d", i);
        DP_ASSERT_MSG(rows_with(tables[i % 3], id) == 1 && ins[i].attempts == 1 &&
                          ins[i].status == 200,
                      "insert %d: expected one row after one attempt, got %lld rows, %d attempts",
                      i, rows_with(tables[i % 3], id), ins[i].attempts);
    }
    DP_ASSERT_MSG(dp_zerobus_token_fetches(zb) - fetches <= 3,
                  "expected at most one token per table, got %ld fetches",
                  dp_zerobus_token_fetches(zb) - fetches);
}

static void test_zerobus_client_inserts_in_flight_together(void)
{
    dp_zerobus_insert_t ins[16];
    char bodies[16][64], id[16];
    long long t0, took;

    NEED_READY();
    json_decref(dp_emu_latency(&ef, "{\"zerobus_latency_ms\": 300}"));
    for (int i = 0; i < 16; i++) {
        snprintf(id, sizeof(id), "fl-%d", i);
        ins[i] = one("main.zc.a", bodies[i], sizeof(bodies[i]), id);
    }
    t0 = dp_test_now_ms();
    DP_ASSERT_MSG(dp_zerobus_send(zb, ins, 16, NULL, NULL, NULL) == 0, "inserts failed: %s",
                  ins[0].err.msg);
    took = dp_test_now_ms() - t0;
    /* One at a time would take 16 x 300 ms; 8 in flight about 2 x 300 ms. */
    DP_ASSERT_MSG(took < 16 * 300 * 6 / 10, "16 inserts of 300 ms took %lld ms: not concurrent",
                  took);
    for (int i = 0; i < 16; i++) {
        snprintf(id, sizeof(id), "fl-%d", i);
        DP_ASSERT_MSG(rows_with("main.zc.a", id) == 1, "row %s missing", id);
    }
}

static void test_zerobus_client_429_honours_retry_after(void)
{
    dp_zerobus_insert_t in;
    char body[64];
    long long t0;

    NEED_READY();
    DP_ASSERT_FATAL_MSG(dp_emu_fault(&ef, "{\"endpoint\":\"zerobus.insert\",\"kind\":\"429\","
                                          "\"retry_after\":1,\"count\":2}") == 0,
                        "adding the fault");
    in = one("main.zc.b", body, sizeof(body), "r429");
    t0 = dp_test_now_ms();
    DP_ASSERT_MSG(dp_zerobus_send(zb, &in, 1, NULL, NULL, NULL) == 0, "expected success: %s",
                  in.err.msg);
    DP_ASSERT_MSG(in.attempts == 3 && dp_test_now_ms() - t0 >= 1900,
                  "expected 3 attempts over at least 2 s of Retry-After, got %d in %lld ms",
                  in.attempts, dp_test_now_ms() - t0);
    DP_ASSERT_MSG(rows_with("main.zc.b", "r429") == 1, "expected exactly one row");
}

static void test_zerobus_client_503_storm_gives_up(void)
{
    dp_zerobus_t *z = client(4, 3);
    dp_zerobus_insert_t in;
    char body[64];

    NEED_READY();
    DP_ASSERT_FATAL_MSG(z != NULL, "a second client");
    DP_ASSERT_FATAL_MSG(dp_emu_fault(&ef, "{\"endpoint\":\"zerobus.insert\",\"kind\":\"503\"}") ==
                            0,
                        "adding the fault");
    in = one("main.zc.b", body, sizeof(body), "r503");
    DP_ASSERT_MSG(dp_zerobus_send(z, &in, 1, NULL, NULL, NULL) == 1, "expected a failure");
    DP_ASSERT_MSG(in.rc == DP_EAGAIN && in.err.retryable && in.attempts == 3 &&
                      strstr(in.err.msg, "gave up after 3 attempts") &&
                      strstr(in.err.msg, "main.zc.b"),
                  "expected DP_EAGAIN after 3 attempts naming the table, got %s %d '%s'",
                  dp_err_name(in.rc), in.attempts, in.err.msg);
    DP_ASSERT_MSG(rows_with("main.zc.b", "r503") == 0, "a refused insert wrote a row");
    dp_zerobus_destroy(z);
}

static void test_zerobus_client_500_and_drop_are_retried(void)
{
    dp_zerobus_insert_t in;
    char body[64];

    NEED_READY();
    DP_ASSERT_FATAL_MSG(dp_emu_fault(&ef, "{\"endpoint\":\"zerobus.insert\",\"kind\":\"500\","
                                          "\"count\":1}") == 0 &&
                            dp_emu_fault(&ef, "{\"endpoint\":\"zerobus.insert\",\"kind\":\"drop\","
                                              "\"count\":1}") == 0,
                        "adding the faults");
    in = one("main.zc.c", body, sizeof(body), "r500");
    DP_ASSERT_MSG(dp_zerobus_send(zb, &in, 1, NULL, NULL, NULL) == 0 && in.attempts == 3,
                  "expected success on the third attempt, got %s after %d: %s", dp_err_name(in.rc),
                  in.attempts, in.err.msg);
    DP_ASSERT_MSG(rows_with("main.zc.c", "r500") == 1, "expected exactly one row");
}

static void test_zerobus_client_expired_token_is_refreshed_once(void)
{
    dp_zerobus_insert_t in;
    char body[64];
    long status = 0, fetches;

    NEED_READY();
    in = one("main.zc.a", body, sizeof(body), "tok-1");
    DP_ASSERT_FATAL_MSG(dp_zerobus_send(zb, &in, 1, NULL, NULL, NULL) == 0, "first insert: %s",
                        in.err.msg);
    fetches = dp_zerobus_token_fetches(zb);
    dp_emu_http(&ef, "POST", "/_emulator/tokens/expire", NULL, "", 0, NULL, &status, NULL, NULL);
    DP_ASSERT_FATAL_MSG(status == 200 && dp_emu_token(&ef, DP_EMU_CLIENT_ID, DP_EMU_CLIENT_SECRET,
                                                      ws_token, sizeof(ws_token)) == 0,
                        "expiring the tokens (and taking a new one for the checks)");
    in = one("main.zc.a", body, sizeof(body), "tok-2");
    DP_ASSERT_MSG(dp_zerobus_send(zb, &in, 1, NULL, NULL, NULL) == 0 && in.attempts == 2,
                  "expected success after one refresh, got %s after %d attempts: %s",
                  dp_err_name(in.rc), in.attempts, in.err.msg);
    DP_ASSERT_MSG(dp_zerobus_token_fetches(zb) == fetches + 1,
                  "expected exactly one new token, got %ld",
                  dp_zerobus_token_fetches(zb) - fetches);
    DP_ASSERT_MSG(rows_with("main.zc.a", "tok-2") == 1, "expected the row");
}

static void test_zerobus_client_400_and_404_are_final(void)
{
    dp_zerobus_insert_t in[2];
    const char *bad = "[{\"id\":\"bad\",\"n\":\"not a number\"}]";
    char body[64];

    NEED_READY();
    memset(in, 0, sizeof(in));
    in[0].table = "main.zc.a";
    in[0].body = bad;
    in[0].len = strlen(bad);
    in[1] = one("main.zc.nope", body, sizeof(body), "x");
    DP_ASSERT_MSG(dp_zerobus_send(zb, in, 2, NULL, NULL, NULL) == 2, "expected two failures");
    DP_ASSERT_MSG(in[0].rc == DP_EINVAL && in[0].status == 400 && in[0].attempts == 1 &&
                      strstr(in[0].err.msg, "column `n`"),
                  "a bad row: expected DP_EINVAL, 400, one attempt, naming the column; got %s %ld "
                  "%d '%s'",
                  dp_err_name(in[0].rc), in[0].status, in[0].attempts, in[0].err.msg);
    DP_ASSERT_MSG(in[1].rc == DP_ENOTFOUND && in[1].status == 404 &&
                      strstr(in[1].err.msg, "main.zc.nope"),
                  "a missing table: expected DP_ENOTFOUND naming it, got %s %ld '%s'",
                  dp_err_name(in[1].rc), in[1].status, in[1].err.msg);
}

static void test_zerobus_client_token_request_fields(void)
{
    char resource[256], details[2048];
    dp_err_t err;

    DP_ASSERT_FATAL_MSG(dp_zerobus_token_request("42", "cat.sch.tbl", resource, sizeof(resource),
                                                 details, sizeof(details), &err) == 0,
                        "token request: %s", err.msg);
    DP_ASSERT_MSG(strcmp(resource, "api://databricks/workspaces/42/zerobusDirectWriteApi") == 0,
                  "resource '%s'", resource);
    DP_ASSERT_MSG(
        strstr(details, "\"privileges\":[\"USE CATALOG\"],\"object_type\":\"CATALOG\","
                        "\"object_full_path\":\"cat\"") &&
            strstr(details, "\"object_type\":\"SCHEMA\",\"object_full_path\":\"cat.sch\"") &&
            strstr(details, "[\"SELECT\",\"MODIFY\"],\"object_type\":\"TABLE\","
                            "\"object_full_path\":\"cat.sch.tbl\""),
        "authorization_details '%s'", details);
    DP_ASSERT_MSG(dp_zerobus_token_request("42", "cat.tbl", resource, sizeof(resource), details,
                                           sizeof(details), &err) == DP_EINVAL &&
                      dp_zerobus_token_request("42", "c.s.t\"x", resource, sizeof(resource),
                                               details, sizeof(details), &err) == DP_EINVAL,
                  "names that are not catalog.schema.table must be refused");
}

static const dp_test_case_t cases[] = {
    {"test_zerobus_client_inserts_into_several_tables",
     test_zerobus_client_inserts_into_several_tables},
    {"test_zerobus_client_inserts_in_flight_together",
     test_zerobus_client_inserts_in_flight_together},
    {"test_zerobus_client_429_honours_retry_after", test_zerobus_client_429_honours_retry_after},
    {"test_zerobus_client_503_storm_gives_up", test_zerobus_client_503_storm_gives_up},
    {"test_zerobus_client_500_and_drop_are_retried", test_zerobus_client_500_and_drop_are_retried},
    {"test_zerobus_client_expired_token_is_refreshed_once",
     test_zerobus_client_expired_token_is_refreshed_once},
    {"test_zerobus_client_400_and_404_are_final", test_zerobus_client_400_and_404_are_final},
    {"test_zerobus_client_token_request_fields", test_zerobus_client_token_request_fields},
    {NULL, NULL},
};

static const dp_test_suite_t suites[] = {
    {"zerobus_client", suite_init, suite_cleanup, cases},
    {NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
    return dp_test_main(argc, argv, suites);
}
