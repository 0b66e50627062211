/*
 * Integration tests of the emulator's Statement Execution API: request
 * validation as Databricks does it, DDL and queries through the engine, the
 * FAILED shape, async submit and polling, the cold-warehouse fault, cancel
 * and on_wait_timeout=CANCEL. Tests that need SQL the engine does not
 * emulate yet skip with the engine's reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_test.h"
#include "emu_fixture.h"

static dp_emu_fixture_t ef;
static int started;

static int suite_init(void)
{
    started = dp_emu_fixture_start(&ef, NULL) == 0;
    return 0;
}

static int suite_cleanup(void)
{
    dp_emu_fixture_stop(&ef);
    return 0;
}

#define NEED_STARTED()                                                                             \
    do {                                                                                           \
        if (!started) {                                                                            \
            dp_test_skip("emulator did not start");                                                \
            return;                                                                                \
        }                                                                                          \
    } while (0)

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s ? s : "(missing)";
}

/* POSTs a raw JSON body; returns the status and the parsed reply (new or NULL). */
static long submit_raw(const char *body, json_t **out)
{
    long status = 0;
    char *resp = NULL;

    dp_emu_http(&ef, "POST", "/api/2.0/sql/statements", DP_EMU_PAT, body, strlen(body),
                "application/json", &status, &resp, NULL);
    *out = resp ? json_loads(resp, 0, NULL) : NULL;
    free(resp);
    return status;
}

/* Submits statement with the given wait_timeout and extra JSON members. */
static long submit(const char *statement, const char *wait, const char *extra, json_t **out)
{
    char body[2048];

    snprintf(body, sizeof(body),
             "{\"statement\":\"%s\",\"warehouse_id\":\"%s\",\"wait_timeout\":\"%s\"%s}", statement,
             DP_EMU_WAREHOUSE, wait, extra ? extra : "");
    return submit_raw(body, out);
}

static long get_statement(const char *id, const char *suffix, json_t **out)
{
    char path[256], *resp = NULL;
    long status = 0;

    snprintf(path, sizeof(path), "/api/2.0/sql/statements/%s%s", id, suffix ? suffix : "");
    dp_emu_http(&ef, "GET", path, DP_EMU_PAT, NULL, 0, NULL, &status, &resp, NULL);
    *out = resp ? json_loads(resp, 0, NULL) : NULL;
    free(resp);
    return status;
}

/* Polls until the state differs from `from` or the deadline; returns the last reply. */
static json_t *poll_until_not(const char *id, const char *from, long timeout_ms)
{
    long long deadline = dp_test_now_ms() + timeout_ms * dp_test_timeout_scale();
    json_t *j = NULL;

    while (dp_test_now_ms() < deadline) {
        json_decref(j);
        get_statement(id, NULL, &j);
        if (strcmp(dp_emu_state(j), from) != 0 && strcmp(dp_emu_state(j), "RUNNING") != 0) {
            break;
        }
        dp_test_sleep_ms(50);
    }
    return j;
}

static const char *error_field(const json_t *stmt, const char *key)
{
    return str(json_object_get(json_object_get(stmt, "status"), "error"), key);
}

/* Runs sql to a terminal state; 1 when SUCCEEDED, 0 when the engine lacks the
 * feature (test skipped), -1 otherwise (assertion recorded). */
static int run_ok(const char *sql, json_t **out)
{
    json_t *r = NULL;

    if (dp_emu_sql(&ef, DP_EMU_PAT, sql, &r) < 0) {
        DP_ASSERT_MSG(0, "expected a terminal state for %s", sql);
        json_decref(r);
        return -1;
    }
    if (strcmp(dp_emu_state(r), "SUCCEEDED") == 0) {
        if (out != NULL) {
            *out = r;
        } else {
            json_decref(r);
        }
        return 1;
    }
    if (strstr(error_field(r, "message"), "[UNSUPPORTED_FEATURE]") != NULL) {
        dp_test_skip("engine does not emulate this yet: %s", error_field(r, "message"));
        json_decref(r);
        return 0;
    }
    DP_ASSERT_MSG(0, "expected SUCCEEDED for %s, got %s: %s", sql, dp_emu_state(r),
                  error_field(r, "message"));
    json_decref(r);
    return -1;
}

static void test_emulator_statements_wait_timeout_validation(void)
{
    static const char *const ok[] = {"0s", "5s", "50s", "10s"};
    static const char *const bad[] = {"4s", "51s", "10", "abc", "05s", "1s", "100s"};
    json_t *r = NULL;
    long status;
    size_t i;

    NEED_STARTED();
    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        status = submit("CREATE SCHEMA IF NOT EXISTS main.wt", ok[i], NULL, &r);
        DP_ASSERT_MSG(status == 200, "expected wait_timeout %s accepted, got %ld", ok[i], status);
        json_decref(r);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        status = submit("CREATE SCHEMA IF NOT EXISTS main.wt", bad[i], NULL, &r);
        DP_ASSERT_MSG(status == 400, "expected wait_timeout %s refused, got %ld", bad[i], status);
        DP_ASSERT_MSG(strcmp(str(r, "error_code"), "INVALID_PARAMETER_VALUE") == 0 &&
                          strstr(str(r, "message"), "wait_timeout") != NULL,
                      "expected INVALID_PARAMETER_VALUE naming wait_timeout, got %s: %s",
                      str(r, "error_code"), str(r, "message"));
        json_decref(r);
    }
}

static void test_emulator_statements_request_validation(void)
{
    json_t *r = NULL;
    long status;

    NEED_STARTED();
    status = submit_raw("{\"warehouse_id\":\"emulator-wh\"}", &r);
    DP_ASSERT_MSG(status == 400 && strcmp(str(r, "error_code"), "INVALID_PARAMETER_VALUE") == 0,
                  "expected 400 INVALID_PARAMETER_VALUE without statement, got %ld %s", status,
                  str(r, "error_code"));
    json_decref(r);
    status = submit_raw("{\"statement\":\"SELECT 1\"}", &r);
    DP_ASSERT_MSG(status == 400, "expected 400 without warehouse_id, got %ld", status);
    json_decref(r);
    status = submit_raw("{\"statement\":\"SELECT 1\",\"warehouse_id\":\"nope\"}", &r);
    DP_ASSERT_MSG(status == 404 && strcmp(str(r, "error_code"), "NOT_FOUND") == 0,
                  "expected 404 NOT_FOUND for an unknown warehouse, got %ld %s", status,
                  str(r, "error_code"));
    json_decref(r);
    status = submit("SELECT 1", "10s", ",\"disposition\":\"EXTERNAL_LINKS\"", &r);
    DP_ASSERT_MSG(status == 400 && strcmp(str(r, "error_code"), "NOT_IMPLEMENTED") == 0,
                  "expected 400 NOT_IMPLEMENTED for EXTERNAL_LINKS, got %ld %s", status,
                  str(r, "error_code"));
    json_decref(r);
    status = submit("SELECT 1", "10s", ",\"on_wait_timeout\":\"WAIT\"", &r);
    DP_ASSERT_MSG(status == 400, "expected 400 for on_wait_timeout WAIT, got %ld", status);
    json_decref(r);
    status = submit_raw("{not json", &r);
    DP_ASSERT_MSG(status == 400, "expected 400 for a malformed body, got %ld", status);
    json_decref(r);
    status = get_statement("no-such-id", NULL, &r);
    DP_ASSERT_MSG(status == 404 && strcmp(str(r, "error_code"), "NOT_FOUND") == 0,
                  "expected 404 NOT_FOUND for an unknown id, got %ld %s", status,
                  str(r, "error_code"));
    json_decref(r);
}

static void test_emulator_statements_ddl_manifest_has_no_columns(void)
{
    json_t *r = NULL, *manifest;

    NEED_STARTED();
    if (run_ok("CREATE SCHEMA IF NOT EXISTS main.st", &r) <= 0) {
        return;
    }
    manifest = json_object_get(r, "manifest");
    DP_ASSERT_MSG(strcmp(str(manifest, "format"), "JSON_ARRAY") == 0, "expected JSON_ARRAY");
    DP_ASSERT_MSG(json_integer_value(
                      json_object_get(json_object_get(manifest, "schema"), "column_count")) == 0,
                  "expected column_count 0 for DDL");
    DP_ASSERT_MSG(json_object_get(json_object_get(r, "result"), "data_array") == NULL,
                  "expected no data_array for DDL");
    json_decref(r);
}

static void test_emulator_statements_query_returns_string_rows(void)
{
    json_t *r = NULL, *manifest, *data, *chunk = NULL;
    char *text;
    long status;

    NEED_STARTED();
    if (run_ok("CREATE SCHEMA IF NOT EXISTS main.st", NULL) <= 0 ||
        run_ok("CREATE TABLE IF NOT EXISTS main.st.t (id BIGINT, name STRING)", NULL) <= 0 ||
        run_ok("INSERT INTO main.st.t VALUES (1, 'a'), (2, 'b')", NULL) <= 0 ||
        run_ok("SELECT id, name FROM main.st.t ORDER BY id", &r) <= 0) {
        return;
    }
    manifest = json_object_get(r, "manifest");
    DP_ASSERT_MSG(json_integer_value(
                      json_object_get(json_object_get(manifest, "schema"), "column_count")) == 2,
                  "expected 2 columns");
    DP_ASSERT_MSG(json_integer_value(json_object_get(manifest, "total_row_count")) == 2,
                  "expected total_row_count 2");
    data = json_object_get(json_object_get(r, "result"), "data_array");
    text = json_dumps(data, JSON_COMPACT);
    DP_ASSERT_MSG(text && strcmp(text, "[[\"1\",\"a\"],[\"2\",\"b\"]]") == 0,
                  "expected [[\"1\",\"a\"],[\"2\",\"b\"]], got %s", text ? text : "(none)");
    free(text);
    status = get_statement(str(r, "statement_id"), "/result/chunks/0", &chunk);
    DP_ASSERT_MSG(status == 200 && json_equal(json_object_get(chunk, "data_array"), data),
                  "expected chunk 0 to repeat the rows, got %ld", status);
    json_decref(chunk);
    json_decref(r);
}

static void test_emulator_statements_failure_is_200_failed(void)
{
    json_t *r = NULL;
    long status;

    NEED_STARTED();
    status = submit("SELEC nonsense FROM", "50s", NULL, &r);
    DP_ASSERT_MSG(status == 200, "expected HTTP 200 for a failing statement, got %ld", status);
    DP_ASSERT_MSG(strcmp(dp_emu_state(r), "FAILED") == 0, "expected FAILED, got %s",
                  dp_emu_state(r));
    DP_ASSERT_MSG(strcmp(error_field(r, "error_code"), "(missing)") != 0 &&
                      error_field(r, "message")[0] == '[',
                  "expected status.error with an [ERROR_CLASS] message, got %s: %s",
                  error_field(r, "error_code"), error_field(r, "message"));
    json_decref(r);
}

static void test_emulator_statements_async_then_poll(void)
{
    json_t *r = NULL, *done;

    NEED_STARTED();
    submit("CREATE SCHEMA IF NOT EXISTS main.async_s", "0s", NULL, &r);
    DP_ASSERT_FATAL_MSG(strcmp(dp_emu_state(r), "PENDING") == 0,
                        "expected PENDING right after an async submit, got %s", dp_emu_state(r));
    done = poll_until_not(str(r, "statement_id"), "PENDING", 20000);
    DP_ASSERT_MSG(strcmp(dp_emu_state(done), "SUCCEEDED") == 0, "expected SUCCEEDED, got %s",
                  dp_emu_state(done));
    json_decref(done);
    json_decref(r);
}

static void test_emulator_statements_pending_fault_delays(void)
{
    json_t *r = NULL, *again = NULL, *done;
    long long t0 = dp_test_now_ms();

    NEED_STARTED();
    DP_ASSERT_FATAL_MSG(dp_emu_fault(&ef,
                                     "{\"endpoint\":\"statements.submit\",\"kind\":\"pending\","
                                     "\"seconds\":2,\"count\":1}") == 0,
                        "expected the fault to be accepted");
    submit("CREATE SCHEMA IF NOT EXISTS main.cold", "0s", NULL, &r);
    DP_ASSERT_FATAL_MSG(strcmp(dp_emu_state(r), "PENDING") == 0, "expected PENDING, got %s",
                        dp_emu_state(r));
    get_statement(str(r, "statement_id"), NULL, &again);
    DP_ASSERT_MSG(dp_test_now_ms() - t0 > 1500 || strcmp(dp_emu_state(again), "PENDING") == 0,
                  "expected still PENDING before 2 s, got %s", dp_emu_state(again));
    json_decref(again);
    done = poll_until_not(str(r, "statement_id"), "PENDING", 20000);
    DP_ASSERT_MSG(strcmp(dp_emu_state(done), "SUCCEEDED") == 0, "expected SUCCEEDED, got %s",
                  dp_emu_state(done));
    DP_ASSERT_MSG(dp_test_now_ms() - t0 >= 1900, "expected about 2 s of PENDING, took %lld ms",
                  dp_test_now_ms() - t0);
    json_decref(done);
    json_decref(r);
}

static void test_emulator_statements_cancel_while_pending(void)
{
    json_t *r = NULL, *c = NULL, *after;
    char path[256];
    long status = 0;
    char *body = NULL;

    NEED_STARTED();
    dp_emu_fault(&ef, "{\"endpoint\":\"statements.submit\",\"kind\":\"pending\",\"seconds\":30,"
                      "\"count\":1}");
    submit("CREATE SCHEMA main.canceled_s", "0s", NULL, &r);
    DP_ASSERT_FATAL_MSG(strcmp(dp_emu_state(r), "PENDING") == 0, "expected PENDING, got %s",
                        dp_emu_state(r));
    snprintf(path, sizeof(path), "/api/2.0/sql/statements/%s/cancel", str(r, "statement_id"));
    dp_emu_http(&ef, "POST", path, DP_EMU_PAT, "", 0, NULL, &status, &body, NULL);
    DP_ASSERT_MSG(status == 200 && strcmp(body, "{}") == 0, "expected 200 {}, got %ld %s", status,
                  body);
    free(body);
    get_statement(str(r, "statement_id"), NULL, &after);
    DP_ASSERT_MSG(strcmp(dp_emu_state(after), "CANCELED") == 0, "expected CANCELED, got %s",
                  dp_emu_state(after));
    json_decref(after);
    /* the canceled CREATE never ran: the same CREATE (no IF NOT EXISTS) succeeds now */
    if (run_ok("CREATE SCHEMA main.canceled_s", &c) > 0) {
        json_decref(c);
    }
    json_decref(r);
}

static void test_emulator_statements_on_wait_timeout_cancel(void)
{
    json_t *r = NULL, *again = NULL;
    long status;

    NEED_STARTED();
    dp_emu_fault(&ef, "{\"endpoint\":\"statements.submit\",\"kind\":\"pending\",\"seconds\":30,"
                      "\"count\":1}");
    status =
        submit("CREATE SCHEMA IF NOT EXISTS main.owt", "5s", ",\"on_wait_timeout\":\"CANCEL\"", &r);
    DP_ASSERT_MSG(status == 200 && strcmp(dp_emu_state(r), "CANCELED") == 0,
                  "expected 200 CANCELED after the 5 s wait, got %ld %s", status, dp_emu_state(r));
    get_statement(str(r, "statement_id"), NULL, &again);
    DP_ASSERT_MSG(strcmp(dp_emu_state(again), "CANCELED") == 0, "expected CANCELED on GET, got %s",
                  dp_emu_state(again));
    json_decref(again);
    json_decref(r);
}

static void test_emulator_statements_cancel_of_finished_stays_finished(void)
{
    json_t *r = NULL, *after = NULL;
    char path[256];
    long status = 0;

    NEED_STARTED();
    if (run_ok("CREATE SCHEMA IF NOT EXISTS main.fin", &r) <= 0) {
        return;
    }
    snprintf(path, sizeof(path), "/api/2.0/sql/statements/%s/cancel", str(r, "statement_id"));
    dp_emu_http(&ef, "POST", path, DP_EMU_PAT, "", 0, NULL, &status, NULL, NULL);
    DP_ASSERT_MSG(status == 200, "expected 200 from cancel, got %ld", status);
    get_statement(str(r, "statement_id"), NULL, &after);
    DP_ASSERT_MSG(strcmp(dp_emu_state(after), "SUCCEEDED") == 0,
                  "expected SUCCEEDED to stay, "
                  "got %s",
                  dp_emu_state(after));
    json_decref(after);
    json_decref(r);
}

static const dp_test_case_t cases[] = {
    {"test_emulator_statements_wait_timeout_validation",
     test_emulator_statements_wait_timeout_validation},
    {"test_emulator_statements_request_validation", test_emulator_statements_request_validation},
    {"test_emulator_statements_ddl_manifest_has_no_columns",
     test_emulator_statements_ddl_manifest_has_no_columns},
    {"test_emulator_statements_query_returns_string_rows",
     test_emulator_statements_query_returns_string_rows},
    {"test_emulator_statements_failure_is_200_failed",
     test_emulator_statements_failure_is_200_failed},
    {"test_emulator_statements_async_then_poll", test_emulator_statements_async_then_poll},
    {"test_emulator_statements_pending_fault_delays",
     test_emulator_statements_pending_fault_delays},
    {"test_emulator_statements_cancel_while_pending",
     test_emulator_statements_cancel_while_pending},
    {"test_emulator_statements_on_wait_timeout_cancel",
     test_emulator_statements_on_wait_timeout_cancel},
    {"test_emulator_statements_cancel_of_finished_stays_finished",
     test_emulator_statements_cancel_of_finished_stays_finished},
    {NULL, NULL}};

static const dp_test_suite_t suites[] = {{"emulator_statements", suite_init, suite_cleanup, cases},
                                         {NULL, NULL, NULL, NULL}};

int main(int argc, char **argv)
{
    return dp_test_main(argc, argv, suites);
}
