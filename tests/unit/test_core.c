/*
 * Unit tests of the core helpers: err, mem, log.
 */
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "dp_test.h"

#include <stdlib.h>
#include <string.h>

static void test_err_set_returns_code_and_bounds_message(void)
{
    dp_err_t err;
    char big[2000];
    int rc;

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    dp_err_clear(&err);
    rc = dp_err_set(&err, DP_EINVAL, 1, "field %s: %s", "event_name", big);
    DP_ASSERT_MSG(rc == DP_EINVAL, "expected DP_EINVAL (%d), got %d", DP_EINVAL, rc);
    DP_ASSERT_MSG(err.retryable == 1, "expected retryable 1, got %d", err.retryable);
    DP_ASSERT_MSG(strlen(err.msg) == DP_ERR_MSG_MAX - 1,
                  "expected a truncated message of %d, got %zu", DP_ERR_MSG_MAX - 1,
                  strlen(err.msg));
    DP_ASSERT_MSG(strncmp(err.msg, "field event_name: x", 19) == 0,
                  "unexpected message start '%.30s'", err.msg);
    DP_ASSERT_MSG(dp_err_set(NULL, DP_EIO, 0, "ignored") == DP_EIO,
                  "NULL err must still return code");
}

static void test_err_prefix_and_names(void)
{
    dp_err_t err;

    dp_err_set(&err, DP_ENOTFOUND, 0, "no such volume");
    dp_err_prefix(&err, "%s: ", "files");
    DP_ASSERT_MSG(strcmp(err.msg, "files: no such volume") == 0, "got '%s'", err.msg);
    DP_ASSERT_MSG(strcmp(dp_err_name(DP_ENOTFOUND), "DP_ENOTFOUND") == 0, "got %s",
                  dp_err_name(DP_ENOTFOUND));
    DP_ASSERT_MSG(strcmp(dp_err_name(-999), "DP_E?") == 0, "got %s", dp_err_name(-999));
}

static void test_mem_strndup_stops_at_nul_and_limit(void)
{
    char *a = dp_strndup("abcdef", 3);
    char *b = dp_strndup("ab", 10);
    char *c = dp_strdup("");

    DP_ASSERT_MSG(strcmp(a, "abc") == 0, "expected abc, got %s", a);
    DP_ASSERT_MSG(strcmp(b, "ab") == 0, "expected ab, got %s", b);
    DP_ASSERT_MSG(c[0] == '\0', "expected empty string");
    free(a);
    free(b);
    free(c);
}

static void test_log_escapes_json_and_respects_level(void)
{
    char esc[64], *buf = NULL;
    size_t len = 0;
    FILE *mem;

    dp_log_json_escape(esc, sizeof(esc), "a\"b\\c\n\x01");
    DP_ASSERT_MSG(strcmp(esc, "a\\\"b\\\\c\\n\\u0001") == 0, "got '%s'", esc);

    mem = open_memstream(&buf, &len);
    dp_log_set_stream(mem);
    dp_log_set_level(DP_LOG_WARN);
    dp_log(DP_LOG_INFO, "test", "dropped %d", 1);
    dp_log(DP_LOG_ERROR, "test", "kept \"%s\"", "q");
    dp_log_set_stream(NULL);
    dp_log_set_level(DP_LOG_INFO);
    fclose(mem);
    DP_ASSERT_MSG(strstr(buf, "dropped") == NULL, "a line below the threshold was written: %s",
                  buf);
    DP_ASSERT_MSG(
        strstr(buf, "\"level\":\"error\",\"module\":\"test\",\"msg\":\"kept \\\"q\\\"\"}") != NULL,
        "unexpected log line: %s", buf);
    free(buf);
}

static void test_log_parse_level(void)
{
    dp_log_level_t l;

    DP_ASSERT_MSG(dp_log_parse_level("WARN", &l) == 0 && l == DP_LOG_WARN, "WARN not parsed");
    DP_ASSERT_MSG(dp_log_parse_level("verbose", &l) == -1, "verbose accepted");
}

static const dp_test_case_t cases[] = {
    {"test_err_set_returns_code_and_bounds_message", test_err_set_returns_code_and_bounds_message},
    {"test_err_prefix_and_names", test_err_prefix_and_names},
    {"test_mem_strndup_stops_at_nul_and_limit", test_mem_strndup_stops_at_nul_and_limit},
    {"test_log_escapes_json_and_respects_level", test_log_escapes_json_and_respects_level},
    {"test_log_parse_level", test_log_parse_level},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    const dp_test_suite_t suites[] = {{"core", NULL, NULL, cases}, {NULL, NULL, NULL, NULL}};

    return dp_test_main(argc, argv, suites);
}
