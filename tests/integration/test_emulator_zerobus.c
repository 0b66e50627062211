/*
 * Integration tests of the emulator's Zerobus Ingest endpoint (raw HTTP):
 * tokens with their own audience (a workspace token is refused on the insert,
 * a Zerobus token on the workspace APIs, a token of another table, a wrong
 * resource), the schema checks (unknown column, wrong type, NOT NULL,
 * DECIMAL) naming the record and the column, all or nothing, a missing
 * table, the records limit, rows visible to SELECT (at once, or after the
 * visibility delay), the fault and latency switches on zerobus.insert, and
 * the stats counters.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_test.h"
#include "emu_fixture.h"

#define TABLE     "main.zb_t.events"
#define INSERT    "/zerobus/v1/tables/" TABLE "/insert"
#define WORKSPACE "1234567890123456"
#define COLUMNS                                                                                    \
    "(event_id STRING NOT NULL, n BIGINT, ok BOOLEAN, ts TIMESTAMP, v STRING, "                    \
    "ctx STRUCT<ip: STRING>, props MAP<STRING, STRING>, price DECIMAL(18,4))"

static dp_emu_fixture_t ef;
static int ready;
static char ws_token[128], zb_token[128];

/* A Zerobus token for table as the SDK asks for it; returns 0 or -1. */
static int mint(const char *table, const char *workspace, char *out, size_t len, long *status_out)
{
    char details[1024], body[2048], *enc, *resp = NULL, resource[128];
    char *renc;
    long status = 0;
    json_t *j;
    int rc = -1;
    char dot_c[64], dot_s[128];
    const char *d1 = strchr(table, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    const char *hdr[] = {
        "Authorization: Basic ZGVsdGFwb3J0LXRlc3Qtc3A6ZGVsdGFwb3J0LXRlc3Qtc2VjcmV0",
        "Content-Type: application/x-www-form-urlencoded", NULL};

    if (!d1 || !d2)
        return -1;
    snprintf(dot_c, sizeof(dot_c), "%.*s", (int)(d1 - table), table);
    snprintf(dot_s, sizeof(dot_s), "%.*s", (int)(d2 - table), table);
    snprintf(details, sizeof(details),
             "[{\"type\":\"unity_catalog_privileges\",\"privileges\":[\"USE CATALOG\"],"
             "\"object_type\":\"CATALOG\",\"object_full_path\":\"%s\"},"
             "{\"type\":\"unity_catalog_privileges\",\"privileges\":[\"USE SCHEMA\"],"
             "\"object_type\":\"SCHEMA\",\"object_full_path\":\"%s\"},"
             "{\"type\":\"unity_catalog_privileges\",\"privileges\":[\"SELECT\",\"MODIFY\"],"
             "\"object_type\":\"TABLE\",\"object_full_path\":\"%s\"}]",
             dot_c, dot_s, table);
    snprintf(resource, sizeof(resource), "api://databricks/workspaces/%s/zerobusDirectWriteApi",
             workspace);
    enc = curl_easy_escape(NULL, details, 0);
    renc = curl_easy_escape(NULL, resource, 0);
    snprintf(body, sizeof(body),
             "grant_type=client_credentials&scope=all-apis&resource=%s&authorization_details=%s",
             renc, enc);
    curl_free(enc);
    curl_free(renc);
    dp_emu_http_ex(&ef, "POST", "/oidc/v1/token", NULL, body, strlen(body), hdr, &status, &resp,
                   NULL, NULL);
    if (status_out)
        *status_out = status;
    j = resp ? json_loads(resp, 0, NULL) : NULL;
    if (status == 200 && json_string_value(json_object_get(j, "access_token"))) {
        snprintf(out, len, "%s", json_string_value(json_object_get(j, "access_token")));
        rc = 0;
    }
    json_decref(j);
    free(resp);
    return rc;
}

static int sql_ok(const char *stmt)
{
    json_t *r = NULL;
    int ok = dp_emu_sql(&ef, ws_token, stmt, &r) == 0 && strcmp(dp_emu_state(r), "SUCCEEDED") == 0;

    json_decref(r);
    return ok;
}

static int suite_init(void)
{
    ready = dp_emu_fixture_start(&ef, NULL) == 0 &&
            dp_emu_token(&ef, DP_EMU_CLIENT_ID, DP_EMU_CLIENT_SECRET, ws_token, sizeof(ws_token)) ==
                0 &&
            sql_ok("CREATE SCHEMA IF NOT EXISTS main.zb_t") &&
            sql_ok("CREATE TABLE " TABLE " " COLUMNS) &&
            mint(TABLE, WORKSPACE, zb_token, sizeof(zb_token), NULL) == 0;
    return 0;
}

static int suite_cleanup(void)
{
    dp_emu_fixture_stop(&ef);
    return 0;
}

static void reset(void)
{
    long status = 0;

    dp_emu_http(&ef, "DELETE", "/_emulator/faults", NULL, NULL, 0, NULL, &status, NULL, NULL);
    json_decref(dp_emu_latency(&ef, "{\"zerobus_latency_ms\": 0, \"zerobus_visibility_ms\": 0}"));
    sql_ok("DROP TABLE IF EXISTS " TABLE);
    sql_ok("CREATE TABLE " TABLE " " COLUMNS);
}

#define NEED_READY()                                                                               \
    do {                                                                                           \
        if (!ready) {                                                                              \
            dp_test_skip("emulator set-up failed");                                                \
            return;                                                                                \
        }                                                                                          \
        reset();                                                                                   \
    } while (0)

/* POSTs rows with token; returns the status, error_code and message. */
static long insert(const char *token, const char *path, const char *rows, char *code, size_t clen,
                   char *msg, size_t mlen)
{
    long status = 0;
    char *body = NULL;
    json_t *j;

    dp_emu_http(&ef, "POST", path, token, rows, strlen(rows), "application/json", &status, &body,
                NULL);
    j = body ? json_loads(body, 0, NULL) : NULL;
    if (code)
        snprintf(code, clen, "%s",
                 json_string_value(json_object_get(j, "error_code"))
                     ? json_string_value(json_object_get(j, "error_code"))
                     : "");
    if (msg)
        snprintf(msg, mlen, "%s",
                 json_string_value(json_object_get(j, "message"))
                     ? json_string_value(json_object_get(j, "message"))
                     : (body ? body : ""));
    json_decref(j);
    free(body);
    return status;
}

static long long count_rows(void)
{
    return dp_emu_scalar(&ef, ws_token, "SELECT count(*) FROM " TABLE);
}

static void test_emulator_zerobus_rows_land_in_the_table(void)
{
    char code[64], msg[512];
    json_t *rows;
    long status;

    NEED_READY();
    status = insert(zb_token, INSERT,
                    "[{\"event_id\":\"a\",\"n\":5,\"ok\":true,\"ts\":1700000000123456,"
                    "\"v\":\"-99999999999999.9999\",\"ctx\":{\"ip\":\"1.2.3.4\"},"
                    "\"props\":{\"k\":\"v\"}},{\"event_id\":\"b\",\"n\":\"9007199254740993\"}]",
                    code, sizeof(code), msg, sizeof(msg));
    DP_ASSERT_FATAL_MSG(status == 200, "expected 200, got %ld %s %s", status, code, msg);
    rows = dp_emu_rows(&ef, ws_token,
                       "SELECT event_id, n, ok, ts, v, ctx.ip FROM " TABLE " ORDER BY event_id");
    DP_ASSERT_FATAL_MSG(rows && json_array_size(rows) == 2, "expected two rows");
    {
        char *text = json_dumps(rows, JSON_COMPACT);

        DP_ASSERT_MSG(strcmp(text, "[[\"a\",\"5\",\"true\",\"2023-11-14T22:13:20.123456Z\","
                                   "\"-99999999999999.9999\",\"1.2.3.4\"],"
                                   "[\"b\",\"9007199254740993\",null,null,null,null]]") == 0,
                      "unexpected rows %s", text);
        free(text);
    }
    json_decref(rows);
}

static void test_emulator_zerobus_schema_checks_name_the_column(void)
{
    static const struct {
        const char *rows, *want;
    } cases[] = {
        {"[{\"event_id\":\"a\"},{\"event_id\":\"b\",\"nope\":1}]",
         "Record 1: column `nope` does not exist"},
        {"[{\"event_id\":\"a\",\"n\":\"five\"}]", "column `n` is BIGINT: expected an integer"},
        {"[{\"event_id\":\"a\",\"ts\":\"2026-01-01T00:00:00Z\"}]",
         "column `ts` is TIMESTAMP: expected an integer (microseconds since the epoch)"},
        {"[{\"event_id\":\"a\",\"v\":1.5}]",
         "column `v` is STRING: expected a string, got a number"},
        {"[{\"event_id\":\"a\",\"ok\":1}]", "column `ok` is BOOLEAN: expected a boolean"},
        {"[{\"event_id\":\"a\",\"ctx\":\"x\"}]", "column `ctx` is STRUCT"},
        {"[{\"n\":1}]", "column `event_id` is NOT NULL"},
        {"[{\"event_id\":\"a\",\"price\":\"1.5\"}]", "column `price` is DECIMAL(18,4), which "
                                                     "Zerobus Ingest cannot write"},
        {"{\"event_id\":\"a\"}", "must be a JSON array"},
        {"[1]", "Record 0 is an integer, not an object"},
    };
    char code[64], msg[512];

    NEED_READY();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long status = insert(zb_token, INSERT, cases[i].rows, code, sizeof(code), msg, sizeof(msg));

        DP_ASSERT_MSG(status == 400 && strcmp(code, "INVALID_PARAMETER_VALUE") == 0 &&
                          strstr(msg, cases[i].want) != NULL,
                      "%s: expected 400 INVALID_PARAMETER_VALUE with '%s', got %ld %s '%s'",
                      cases[i].rows, cases[i].want, status, code, msg);
    }
    DP_ASSERT_MSG(count_rows() == 0, "a refused request wrote %lld rows (all or nothing)",
                  count_rows());
}

static void test_emulator_zerobus_tokens_have_their_own_audience(void)
{
    char code[64], msg[512], other[128];
    long status = 0;

    NEED_READY();
    status =
        insert(ws_token, INSERT, "[{\"event_id\":\"a\"}]", code, sizeof(code), msg, sizeof(msg));
    DP_ASSERT_MSG(status == 403 && strcmp(code, "PERMISSION_DENIED") == 0,
                  "a workspace token on an insert: expected 403, got %ld %s", status, code);
    status = insert("not-a-token", INSERT, "[{\"event_id\":\"a\"}]", code, sizeof(code), msg,
                    sizeof(msg));
    DP_ASSERT_MSG(status == 401 && strcmp(code, "UNAUTHENTICATED") == 0,
                  "an unknown token: expected 401, got %ld %s", status, code);
    DP_ASSERT_MSG(dp_emu_scalar(&ef, zb_token, "SELECT 1") == -1,
                  "a Zerobus token must not run statements");
    DP_ASSERT_FATAL_MSG(mint("main.zb_t.other", WORKSPACE, other, sizeof(other), NULL) == 0,
                        "minting for another table");
    status = insert(other, INSERT, "[{\"event_id\":\"a\"}]", code, sizeof(code), msg, sizeof(msg));
    DP_ASSERT_MSG(status == 403 && strstr(msg, "not authorized to write table 'main.zb_t.events'"),
                  "a token of another table: expected 403 naming the table, got %ld '%s'", status,
                  msg);
    DP_ASSERT_MSG(mint(TABLE, "999", other, sizeof(other), &status) < 0 && status == 400,
                  "a resource of another workspace: expected 400, got %ld", status);
    DP_ASSERT_MSG(count_rows() == 0, "refused requests wrote rows");
}

static void test_emulator_zerobus_missing_table_and_limits(void)
{
    char code[64], msg[512], tok[128], big[64 + 20 * 10001];
    size_t used = 0;
    long status;

    NEED_READY();
    DP_ASSERT_FATAL_MSG(mint("main.zb_t.gone", WORKSPACE, tok, sizeof(tok), NULL) == 0, "mint");
    status = insert(tok, "/zerobus/v1/tables/main.zb_t.gone/insert", "[{\"event_id\":\"a\"}]", code,
                    sizeof(code), msg, sizeof(msg));
    DP_ASSERT_MSG(status == 404 && strcmp(code, "NOT_FOUND") == 0 && strstr(msg, "main.zb_t.gone"),
                  "a missing table: expected 404 NOT_FOUND naming it, got %ld %s '%s'", status,
                  code, msg);
    used += (size_t)snprintf(big + used, sizeof(big) - used, "[");
    for (int i = 0; i < 10001; i++)
        used += (size_t)snprintf(big + used, sizeof(big) - used, "%s{\"event_id\":\"%d\"}",
                                 i ? "," : "", i);
    snprintf(big + used, sizeof(big) - used, "]");
    status = insert(zb_token, INSERT, big, code, sizeof(code), msg, sizeof(msg));
    DP_ASSERT_MSG(status == 400 && strstr(msg, "at most 10000 records"),
                  "10001 records: expected 400 naming the limit, got %ld '%s'", status, msg);
}

static void test_emulator_zerobus_visibility_delay(void)
{
    char code[64], msg[512];
    json_t *lat, *st;
    long long t0, seen = 0;
    long status;

    NEED_READY();
    lat = dp_emu_latency(&ef, "{\"zerobus_visibility_ms\": 1500}");
    DP_ASSERT_FATAL_MSG(lat && json_integer_value(json_object_get(lat, "zerobus_visibility_ms")) ==
                                   1500,
                        "the visibility setting was refused");
    json_decref(lat);
    status = insert(zb_token, INSERT, "[{\"event_id\":\"a\"},{\"event_id\":\"b\"}]", code,
                    sizeof(code), msg, sizeof(msg));
    t0 = dp_test_now_ms();
    DP_ASSERT_FATAL_MSG(status == 200, "expected the insert acknowledged, got %ld %s", status, msg);
    DP_ASSERT_MSG(count_rows() == 0, "rows visible before the delay");
    while (dp_test_now_ms() - t0 < 15000L * dp_test_timeout_scale() && (seen = count_rows()) < 2)
        dp_test_sleep_ms(100);
    DP_ASSERT_MSG(seen == 2, "expected both rows after the delay, saw %lld", seen);
    st = dp_emu_stats(&ef, 0);
    DP_ASSERT_MSG(json_integer_value(json_object_get(json_object_get(st, "zerobus"), "rows")) >= 2,
                  "the stats count the acknowledged rows");
    json_decref(st);
}

static void test_emulator_zerobus_faults_and_latency(void)
{
    char code[64], msg[512], *headers = NULL, *body = NULL;
    const char *rows = "[{\"event_id\":\"a\"}]";
    json_t *lat;
    long long t0;
    long status = 0;
    int rc;

    NEED_READY();
    DP_ASSERT_FATAL_MSG(dp_emu_fault(&ef, "{\"endpoint\":\"zerobus.insert\",\"kind\":\"429\","
                                          "\"retry_after\":2,\"count\":1}") == 0,
                        "adding a 429 fault");
    dp_emu_http_ex(&ef, "POST", INSERT, zb_token, rows, strlen(rows), NULL, &status, &body, NULL,
                   &headers);
    DP_ASSERT_MSG(status == 429 && headers && strstr(headers, "Retry-After: 2"),
                  "expected 429 with Retry-After: 2, got %ld", status);
    free(headers);
    free(body);
    DP_ASSERT_FATAL_MSG(dp_emu_fault(&ef, "{\"endpoint\":\"zerobus.*\",\"kind\":\"503\","
                                          "\"count\":1}") == 0,
                        "adding a 503 fault");
    status = insert(zb_token, INSERT, rows, code, sizeof(code), msg, sizeof(msg));
    DP_ASSERT_MSG(status == 503 && strcmp(code, "TEMPORARILY_UNAVAILABLE") == 0,
                  "expected 503, got %ld %s", status, code);
    DP_ASSERT_FATAL_MSG(dp_emu_fault(&ef, "{\"endpoint\":\"zerobus.insert\",\"kind\":\"drop\","
                                          "\"count\":1}") == 0,
                        "adding a drop fault");
    rc = dp_emu_http(&ef, "POST", INSERT, zb_token, rows, strlen(rows), "application/json", &status,
                     NULL, NULL);
    DP_ASSERT_MSG(rc == -18, "a dropped insert: expected CURLE_PARTIAL_FILE, got %d", rc);
    DP_ASSERT_MSG(count_rows() == 0, "a faulted insert wrote rows");
    DP_ASSERT_FATAL_MSG(dp_emu_fault(&ef,
                                     "{\"endpoint\":\"zerobus.insert\",\"kind\":\"expire_token\","
                                     "\"count\":1}") == 0,
                        "adding an expire_token fault");
    status = insert(zb_token, INSERT, rows, code, sizeof(code), msg, sizeof(msg));
    DP_ASSERT_MSG(status == 401, "expire_token: expected 401, got %ld", status);
    lat = dp_emu_latency(&ef, "{\"zerobus_latency_ms\": 400}");
    json_decref(lat);
    t0 = dp_test_now_ms();
    status = insert(zb_token, INSERT, rows, code, sizeof(code), msg, sizeof(msg));
    DP_ASSERT_MSG(status == 200 && dp_test_now_ms() - t0 >= 400,
                  "expected 200 after at least 400 ms, got %ld after %lld ms", status,
                  dp_test_now_ms() - t0);
    DP_ASSERT_MSG(count_rows() == 1, "expected the one row of the successful insert");
}

static const dp_test_case_t cases[] = {
    {"test_emulator_zerobus_rows_land_in_the_table", test_emulator_zerobus_rows_land_in_the_table},
    {"test_emulator_zerobus_schema_checks_name_the_column",
     test_emulator_zerobus_schema_checks_name_the_column},
    {"test_emulator_zerobus_tokens_have_their_own_audience",
     test_emulator_zerobus_tokens_have_their_own_audience},
    {"test_emulator_zerobus_missing_table_and_limits",
     test_emulator_zerobus_missing_table_and_limits},
    {"test_emulator_zerobus_visibility_delay", test_emulator_zerobus_visibility_delay},
    {"test_emulator_zerobus_faults_and_latency", test_emulator_zerobus_faults_and_latency},
    {NULL, NULL},
};

static const dp_test_suite_t suites[] = {
    {"emulator_zerobus", suite_init, suite_cleanup, cases},
    {NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
    return dp_test_main(argc, argv, suites);
}
