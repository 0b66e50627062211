/*
 * Integration tests of the emulator's fault injection and request log:
 * 429 with Retry-After then success, 503, 500, a dropped connection, a
 * statement FAILED by fault without executing, rate 0, expire_token, faults
 * given on the command line, the admin list/clear, and a request log whose
 * lines parse as JSON and never carry a token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_test.h"
#include "emu_fixture.h"

#define VOLDIR "/api/2.0/fs/directories/Volumes/main/faults_t/v"

static dp_emu_fixture_t ef;
static int ready;
static char oauth_token[128];

static int suite_init(void)
{
    json_t *a = NULL, *b = NULL;

    ready = dp_emu_fixture_start(&ef, NULL) == 0 &&
            dp_emu_token(&ef, DP_EMU_CLIENT_ID, DP_EMU_CLIENT_SECRET, oauth_token,
                         sizeof(oauth_token)) == 0 &&
            dp_emu_sql(&ef, oauth_token, "CREATE SCHEMA IF NOT EXISTS main.faults_t", &a) == 0 &&
            dp_emu_sql(&ef, oauth_token, "CREATE VOLUME IF NOT EXISTS main.faults_t.v", &b) == 0 &&
            strcmp(dp_emu_state(b), "SUCCEEDED") == 0;
    json_decref(a);
    json_decref(b);
    return 0;
}

static int suite_cleanup(void)
{
    dp_emu_fixture_stop(&ef);
    return 0;
}

#define NEED_READY()                                                                               \
    do {                                                                                           \
        if (!ready) {                                                                              \
            dp_test_skip("emulator or volume set-up failed");                                      \
            return;                                                                                \
        }                                                                                          \
        clear_faults();                                                                            \
    } while (0)

static void clear_faults(void)
{
    long status = 0;

    dp_emu_http(&ef, "DELETE", "/_emulator/faults", NULL, NULL, 0, NULL, &status, NULL, NULL);
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s ? s : "(missing)";
}

/* GET with the OAuth token; returns the status, error_code into code. */
static long get_code(const char *path, char *code, size_t len, char **headers)
{
    long status = 0;
    char *body = NULL;
    json_t *j;

    dp_emu_http_ex(&ef, "GET", path, oauth_token, NULL, 0, NULL, &status, &body, NULL, headers);
    j = body ? json_loads(body, 0, NULL) : NULL;
    snprintf(code, len, "%s", str(j, "error_code"));
    json_decref(j);
    free(body);
    return status;
}

static void test_emulator_faults_429_retry_after_then_success(void)
{
    char code[64], *headers = NULL;
    long status;
    int i;

    NEED_READY();
    DP_ASSERT_FATAL_MSG(dp_emu_fault(&ef, "{\"endpoint\":\"files.list\",\"kind\":\"429\","
                                          "\"count\":2,\"retry_after\":7}") == 0,
                        "expected the fault to be accepted");
    for (i = 0; i < 2; i++) {
        status = get_code(VOLDIR, code, sizeof(code), &headers);
        DP_ASSERT_MSG(status == 429, "expected 429 on call %d, got %ld", i + 1, status);
        DP_ASSERT_MSG(strcmp(code, "REQUEST_LIMIT_EXCEEDED") == 0,
                      "expected REQUEST_LIMIT_EXCEEDED, got %s", code);
        DP_ASSERT_MSG(headers && strstr(headers, "Retry-After: 7") != NULL,
                      "expected Retry-After: 7 in:\n%s", headers ? headers : "");
        free(headers);
        headers = NULL;
    }
    status = get_code(VOLDIR, code, sizeof(code), NULL);
    DP_ASSERT_MSG(status == 200, "expected success after the 2 faults, got %ld", status);
}

static void test_emulator_faults_503_and_500(void)
{
    char code[64];
    long status;

    NEED_READY();
    dp_emu_fault(&ef, "{\"endpoint\":\"files.*\",\"kind\":\"503\",\"count\":1}");
    status = get_code(VOLDIR, code, sizeof(code), NULL);
    DP_ASSERT_MSG(status == 503 && strcmp(code, "TEMPORARILY_UNAVAILABLE") == 0,
                  "expected 503 TEMPORARILY_UNAVAILABLE, got %ld %s", status, code);
    dp_emu_fault(&ef, "{\"endpoint\":\"statements.get\",\"kind\":\"500\",\"count\":1}");
    status = get_code("/api/2.0/sql/statements/x", code, sizeof(code), NULL);
    DP_ASSERT_MSG(status == 500 && strcmp(code, "INTERNAL_ERROR") == 0,
                  "expected 500 INTERNAL_ERROR, got %ld %s", status, code);
    status = get_code("/api/2.0/sql/statements/x", code, sizeof(code), NULL);
    DP_ASSERT_MSG(status == 404, "expected the real answer (404) after the fault, got %ld", status);
}

static void test_emulator_faults_drop_breaks_the_transfer(void)
{
    long status = 0;
    int rc;
    char code[64];

    NEED_READY();
    dp_emu_fault(&ef, "{\"endpoint\":\"files.list\",\"kind\":\"drop\",\"count\":1}");
    rc = dp_emu_http(&ef, "GET", VOLDIR, oauth_token, NULL, 0, NULL, &status, NULL, NULL);
    DP_ASSERT_MSG(rc < 0, "expected curl to report a transfer error, got rc %d status %ld", rc,
                  status);
    status = get_code(VOLDIR, code, sizeof(code), NULL);
    DP_ASSERT_MSG(status == 200, "expected the next call to work, got %ld", status);
}

static void test_emulator_faults_failed_statement_is_not_executed(void)
{
    json_t *r = NULL;

    NEED_READY();
    dp_emu_fault(&ef, "{\"endpoint\":\"statements.submit\",\"kind\":\"failed\",\"count\":1,"
                      "\"error_class\":\"DELTA_FAILED_TO_MERGE_FIELDS\"}");
    DP_ASSERT_FATAL_MSG(dp_emu_sql(&ef, oauth_token, "CREATE SCHEMA main.never_s", &r) == 0,
                        "expected a terminal state");
    DP_ASSERT_MSG(strcmp(dp_emu_state(r), "FAILED") == 0, "expected FAILED, got %s",
                  dp_emu_state(r));
    DP_ASSERT_MSG(strstr(str(json_object_get(json_object_get(r, "status"), "error"), "message"),
                         "[DELTA_FAILED_TO_MERGE_FIELDS]") != NULL,
                  "expected the error class in the message");
    json_decref(r);
    DP_ASSERT_FATAL_MSG(dp_emu_sql(&ef, oauth_token, "CREATE SCHEMA main.never_s", &r) == 0,
                        "expected a terminal state");
    DP_ASSERT_MSG(strcmp(dp_emu_state(r), "SUCCEEDED") == 0,
                  "expected the failed CREATE never to have run (now SUCCEEDED), got %s",
                  dp_emu_state(r));
    json_decref(r);
}

static void test_emulator_faults_rate_zero_never_fires(void)
{
    char code[64], *body = NULL;
    long status = 0;
    json_t *list, *rule;
    int i, ok = 0;

    NEED_READY();
    dp_emu_fault(&ef, "{\"endpoint\":\"*\",\"kind\":\"500\",\"rate\":0}");
    for (i = 0; i < 20; i++) {
        ok += get_code(VOLDIR, code, sizeof(code), NULL) == 200;
    }
    DP_ASSERT_MSG(ok == 20, "expected 20 successes at rate 0, got %d", ok);
    dp_emu_http(&ef, "GET", "/_emulator/faults", NULL, NULL, 0, NULL, &status, &body, NULL);
    list = json_loads(body, 0, NULL);
    free(body);
    rule = json_array_get(json_object_get(list, "faults"), 0);
    DP_ASSERT_MSG(json_integer_value(json_object_get(rule, "fired")) == 0 &&
                      json_is_null(json_object_get(rule, "remaining")),
                  "expected fired 0 and unlimited remaining in the admin list");
    json_decref(list);
    clear_faults();
    dp_emu_http(&ef, "GET", "/_emulator/faults", NULL, NULL, 0, NULL, &status, &body, NULL);
    DP_ASSERT_MSG(strcmp(body, "{\"faults\":[]}") == 0, "expected an empty list, got %s", body);
    free(body);
}

static void test_emulator_faults_expire_token_once(void)
{
    char code[64];
    long status;

    NEED_READY();
    dp_emu_fault(&ef, "{\"kind\":\"expire_token\",\"count\":1}");
    status = get_code(VOLDIR, code, sizeof(code), NULL);
    DP_ASSERT_MSG(status == 401 && strcmp(code, "UNAUTHENTICATED") == 0,
                  "expected 401 UNAUTHENTICATED, got %ld %s", status, code);
    status = get_code(VOLDIR, code, sizeof(code), NULL);
    DP_ASSERT_MSG(status == 200, "expected the same token to work again, got %ld", status);
}

static void test_emulator_faults_bad_rule_is_400(void)
{
    static const char rule[] = "{\"kind\":\"teapot\"}";
    long status = 0;

    NEED_READY();
    dp_emu_http(&ef, "POST", "/_emulator/faults", NULL, rule, strlen(rule), "application/json",
                &status, NULL, NULL);
    DP_ASSERT_MSG(status == 400, "expected 400 for an unknown kind, got %ld", status);
}

static void test_emulator_faults_from_command_line(void)
{
    static const char *const args[] = {
        "--fault", "{\"endpoint\":\"oauth.token\",\"kind\":\"503\",\"count\":1}", NULL};
    dp_emu_fixture_t other;
    char token[128];

    if (dp_emu_fixture_start(&other, args) < 0) {
        DP_ASSERT_MSG(0, "expected an emulator with --fault to start");
        return;
    }
    DP_ASSERT_MSG(
        dp_emu_token(&other, DP_EMU_CLIENT_ID, DP_EMU_CLIENT_SECRET, token, sizeof(token)) < 0,
        "expected the first token request to hit the 503 fault");
    DP_ASSERT_MSG(
        dp_emu_token(&other, DP_EMU_CLIENT_ID, DP_EMU_CLIENT_SECRET, token, sizeof(token)) == 0,
        "expected the second token request to succeed");
    dp_emu_fixture_stop(&other);
    DP_ASSERT_MSG(other.exit_status == 0, "expected a clean exit, got %d", other.exit_status);
}

/* Reads the request log; checks every line; counts lines with a fault and a statement. */
static void test_emulator_faults_request_log_is_json_without_tokens(void)
{
    FILE *fp;
    char line[8192];
    int lines = 0, bad = 0, with_fault = 0, with_stmt = 0, leaked = 0;
    json_t *j;

    NEED_READY();
    /* a path that is not UTF-8 once decoded must still give a JSON line */
    get_code("/api/2.0/fs/files/Volumes/main/faults_t/v/%FF.bin", line, sizeof(line), NULL);
    fp = fopen(ef.request_log, "r");
    DP_ASSERT_FATAL_MSG(fp != NULL, "expected a request log at %s", ef.request_log);
    while (fgets(line, sizeof(line), fp) != NULL) {
        lines++;
        if (strstr(line, oauth_token) || strstr(line, DP_EMU_PAT) || strstr(line, "Bearer") ||
            strstr(line, DP_EMU_CLIENT_SECRET)) {
            leaked++;
        }
        j = json_loads(line, 0, NULL);
        if (j == NULL || !json_is_string(json_object_get(j, "ts")) ||
            !json_is_string(json_object_get(j, "method")) ||
            !json_is_string(json_object_get(j, "path")) ||
            !json_is_integer(json_object_get(j, "status")) ||
            !json_is_integer(json_object_get(j, "bytes_in")) ||
            !json_is_integer(json_object_get(j, "bytes_out"))) {
            bad++;
        }
        with_fault += json_is_string(json_object_get(j, "fault"));
        with_stmt += json_is_string(json_object_get(j, "statement_id")) &&
                     json_is_string(json_object_get(j, "statement"));
        json_decref(j);
    }
    fclose(fp);
    DP_ASSERT_MSG(lines > 20, "expected the earlier tests' requests logged, got %d lines", lines);
    DP_ASSERT_MSG(bad == 0, "expected every line to be a complete JSON object, %d were not", bad);
    DP_ASSERT_MSG(leaked == 0, "expected no token or secret in the log, %d lines leaked", leaked);
    DP_ASSERT_MSG(with_fault >= 5, "expected the fired faults logged, got %d", with_fault);
    DP_ASSERT_MSG(with_stmt >= 2, "expected statement lines with id and text, got %d", with_stmt);
}

static const dp_test_case_t cases[] = {
    {"test_emulator_faults_429_retry_after_then_success",
     test_emulator_faults_429_retry_after_then_success},
    {"test_emulator_faults_503_and_500", test_emulator_faults_503_and_500},
    {"test_emulator_faults_drop_breaks_the_transfer",
     test_emulator_faults_drop_breaks_the_transfer},
    {"test_emulator_faults_failed_statement_is_not_executed",
     test_emulator_faults_failed_statement_is_not_executed},
    {"test_emulator_faults_rate_zero_never_fires", test_emulator_faults_rate_zero_never_fires},
    {"test_emulator_faults_expire_token_once", test_emulator_faults_expire_token_once},
    {"test_emulator_faults_bad_rule_is_400", test_emulator_faults_bad_rule_is_400},
    {"test_emulator_faults_from_command_line", test_emulator_faults_from_command_line},
    {"test_emulator_faults_request_log_is_json_without_tokens",
     test_emulator_faults_request_log_is_json_without_tokens},
    {NULL, NULL}};

static const dp_test_suite_t suites[] = {{"emulator_faults", suite_init, suite_cleanup, cases},
                                         {NULL, NULL, NULL, NULL}};

int main(int argc, char **argv)
{
    return dp_test_main(argc, argv, suites);
}
