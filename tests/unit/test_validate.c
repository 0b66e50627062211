/*
 * Unit tests of validate (the canonical rules), the JSON scalar parsers they
 * rely on (ISO-8601, decimals), and the `validate` command run on the
 * fixtures in tests/data/codec/ with its stdout captured.
 */
#include "cli/cmd_validate.h"
#include "codec/json_event.h"
#include "codec/validate.h"
#include "dp_test.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_validate_event_name_rules(void)
{
    static const struct {
        const char *name;
        int ok;
    } cases[] = {{"order_completed", 1}, {"a", 1},          {"a1_b2", 1},     {"Order", 0},
                 {"1st_order", 0},       {"_x", 0},         {"page-view", 0}, {"", 0},
                 {"with space", 0},      {"caf\xc3\xa9", 0}};
    char longname[102];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        DP_ASSERT_MSG(dp_validate_event_name(cases[i].name, strlen(cases[i].name)) == cases[i].ok,
                      "'%s': expected %d", cases[i].name, cases[i].ok);
    memset(longname, 'a', sizeof(longname));
    DP_ASSERT_MSG(dp_validate_event_name(longname, 100) == 1, "100 characters are allowed");
    DP_ASSERT_MSG(dp_validate_event_name(longname, 101) == 0, "101 characters are not");
}

static void test_validate_currency_list(void)
{
    static const char *const ok[] = {"EUR", "USD", "GBP", "JPY", "CHF", "AED", "ZWL", "XXX"};
    static const char *const bad[] = {"usd", "XYZ", "EU", "EURO", "E1R", "AAA"};
    size_t i;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        DP_ASSERT_MSG(dp_validate_currency(ok[i], 3), "%s must be accepted", ok[i]);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        DP_ASSERT_MSG(!dp_validate_currency(bad[i], strlen(bad[i])), "%s must be refused", bad[i]);
}

static void test_validate_decimal_bytes_round_trip(void)
{
    static const int64_t values[] = {0,
                                     1,
                                     -1,
                                     127,
                                     128,
                                     -128,
                                     -129,
                                     255,
                                     256,
                                     123400,
                                     -5000,
                                     999999999999999999LL,
                                     -999999999999999999LL};
    static const uint8_t nine[9] = {0, 0, 0, 0, 0, 0, 0, 0, 1};
    static const uint8_t limit[8] = {0x0d, 0xe0, 0xb6, 0xb3, 0xa7, 0x64, 0x00, 0x00}; /* 10^18 */
    uint8_t b[8];
    int64_t u;
    size_t i, n;

    for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        n = dp_decimal_to_bytes(values[i], b);
        DP_ASSERT_MSG(dp_decimal_from_bytes(b, n, &u) == 0 && u == values[i],
                      "%lld: got %lld from %zu bytes", (long long)values[i], (long long)u, n);
    }
    DP_ASSERT_MSG(dp_decimal_to_bytes(128, b) == 2 && b[0] == 0 && b[1] == 0x80,
                  "128 needs a leading zero byte");
    DP_ASSERT_MSG(dp_decimal_to_bytes(-128, b) == 1 && b[0] == 0x80, "-128 is one byte");
    DP_ASSERT_MSG(dp_decimal_from_bytes(nine, 9, &u) == -1, "9 bytes must be refused");
    DP_ASSERT_MSG(dp_decimal_from_bytes(limit, 8, &u) == -1, "10^18 must be refused");
    DP_ASSERT_MSG(dp_decimal_from_bytes(b, 0, &u) == -1, "empty bytes must be refused");
}

static void test_validate_event_rules_name_field(void)
{
    dp_event_view_t ev;
    dp_reject_t rej = {DP_REJ_NONE, "", ""};
    static const uint8_t big[8] = {0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

    memset(&ev, 0, sizeof(ev));
    ev.event_id = (dp_strview_t){"e", 1};
    ev.event_name = (dp_strview_t){"order_completed", 15};
    ev.merchant_id = (dp_strview_t){"m", 1};
    ev.event_time = 1764000000000000LL;
    DP_ASSERT_MSG(dp_validate_event(&ev, &rej) == 0, "valid event refused: %s", rej.reason);
    ev.has_received_at = 1;
    ev.received_at = DP_TIME_MAX_MICROS;
    DP_ASSERT_MSG(dp_validate_event(&ev, &rej) == DP_EINVAL && rej.code == DP_REJ_BAD_TIMESTAMP &&
                      strcmp(rej.path, "$.received_at") == 0,
                  "received_at in 2100: got %s %s", dp_reject_name(rej.code), rej.path);
    ev.received_at = DP_TIME_MIN_MICROS;
    ev.has_value = 1;
    ev.value = big;
    ev.value_len = 8;
    DP_ASSERT_MSG(dp_validate_event(&ev, &rej) == DP_EINVAL && rej.code == DP_REJ_BAD_DECIMAL &&
                      strcmp(rej.path, "$.value") == 0,
                  "2^63-1 unscaled: got %s %s", dp_reject_name(rej.code), rej.path);
    ev.has_value = 0;
    ev.event_name = (dp_strview_t){"bad\nname", 8};
    DP_ASSERT_MSG(dp_validate_event(&ev, &rej) == DP_EINVAL && rej.code == DP_REJ_BAD_EVENT_NAME &&
                      strchr(rej.reason, '\n') == NULL,
                  "a control byte must not reach the reason: %s", rej.reason);
}

static void test_validate_iso8601_and_decimal_parsers(void)
{
    static const char *const bad_times[] = {"2026-11-24",
                                            "2026-11-24T06:41:55",
                                            "2026-02-29T00:00:00Z",
                                            "2026-11-24T24:00:00Z",
                                            "2026-11-24T06:41:55.Z",
                                            "2026-11-24T06:41:55+1:00",
                                            "20261124T064155Z",
                                            "2026-11-24T06:41:55.1234567890Z"};
    const char *why = NULL;
    int64_t v;
    size_t i;

    DP_ASSERT_MSG(dp_iso8601_to_micros("1970-01-01T00:00:00Z", 20, &v) == 0 && v == 0, "epoch");
    DP_ASSERT_MSG(dp_iso8601_to_micros("1969-12-31T23:59:59.5Z", 22, &v) == 0 && v == -500000,
                  "before the epoch: got %lld", (long long)v);
    for (i = 0; i < sizeof(bad_times) / sizeof(bad_times[0]); i++)
        DP_ASSERT_MSG(dp_iso8601_to_micros(bad_times[i], strlen(bad_times[i]), &v) == -1,
                      "'%s' must be refused", bad_times[i]);
    DP_ASSERT_MSG(dp_decimal_parse("0012.3400", 9, 18, 4, &v, &why) == 0 && v == 123400, "got %lld",
                  (long long)v);
    DP_ASSERT_MSG(dp_decimal_parse("+.5", 3, 18, 4, &v, &why) == 0 && v == 5000, "got %lld",
                  (long long)v);
    DP_ASSERT_MSG(dp_decimal_parse("-", 1, 18, 4, &v, &why) == -1, "a lone sign is refused");
    DP_ASSERT_MSG(dp_decimal_parse("1.2.3", 5, 18, 4, &v, &why) == -1, "two points are refused");
    DP_ASSERT_MSG(dp_decimal_parse("12345678901234567890", 20, 18, 4, &v, &why) == -1 &&
                      strstr(why, "precision"),
                  "too many digits: %s", why);
}

static void test_validate_base64(void)
{
    unsigned char out[16];

    DP_ASSERT_MSG(dp_base64_decode("aGVsbG8=", 8, out) == 5 && memcmp(out, "hello", 5) == 0,
                  "padded base64");
    DP_ASSERT_MSG(dp_base64_decode("aGVsbG8", 7, out) == 5, "unpadded base64");
    DP_ASSERT_MSG(dp_base64_decode("-_8", 3, out) == 2 && out[0] == 0xfb && out[1] == 0xff,
                  "URL-safe alphabet");
    DP_ASSERT_MSG(dp_base64_decode("a*b=", 4, out) == -1, "bad character");
    DP_ASSERT_MSG(dp_base64_decode("aGVsb", 5, out) == -1, "a lone trailing character");
}

/* ------------------------------------------------------------------ */
/* The validate command                                                 */
/* ------------------------------------------------------------------ */

/* Runs dp_cmd_validate with args, capturing stdout into *captured (malloc'd). */
static int run_cmd(char **args, int nargs, char **captured)
{
    char dir[512], path[600];
    int saved, fd, rc;
    FILE *f;
    long n;

    *captured = NULL;
    if (dp_test_tmpdir("validate", dir, sizeof(dir)) < 0)
        return -100;
    snprintf(path, sizeof(path), "%s/out.txt", dir);
    fflush(stdout);
    saved = dup(1);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 1);
    close(fd);
    rc = dp_cmd_validate(nargs, args);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    f = fopen(path, "rb");
    *captured = calloc(1, 1 << 16);
    n = f ? (long)fread(*captured, 1, (1 << 16) - 1, f) : 0;
    (*captured)[n] = '\0';
    if (f)
        fclose(f);
    dp_test_rmtree(dir);
    return rc;
}

static void expect_lines(const char *out, const char *const *needles, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        DP_ASSERT_MSG(strstr(out, needles[i]) != NULL, "expected '%s' in the output:\n%s",
                      needles[i], out);
}

static void test_validate_command_on_json_fixtures(void)
{
    static const char *const bad_expect[] = {"line 2: BAD_EVENT_NAME $.event_name: ",
                                             "line 3: BAD_CURRENCY $.currency: ",
                                             "line 4: BAD_DECIMAL $.value: ",
                                             "line 5: BAD_TIMESTAMP $.event_time: ",
                                             "line 6: MISSING_FIELD $.merchant_id: ",
                                             "line 7: BAD_TYPE $.attribution.channel: ",
                                             "line 8: BAD_JSON $: ",
                                             "line 9: BAD_TYPE $.properties.qty: ",
                                             "9 messages: 1 valid, 8 invalid\n"};
    char *good[] = {"validate", "--schemas", DP_SOURCE_DIR "/schemas",
                    "--format", "json",      DP_SOURCE_DIR "/tests/data/codec/good.jsonl"};
    char *bad[] = {"validate", "--schemas", DP_SOURCE_DIR "/schemas",
                   DP_SOURCE_DIR "/tests/data/codec/bad.jsonl"};
    char *out;
    int rc;

    rc = run_cmd(good, 6, &out);
    DP_ASSERT_MSG(rc == 0 && strcmp(out, "5 messages: 5 valid, 0 invalid\n") == 0,
                  "good.jsonl: expected exit 0 and a clean summary, got %d:\n%s", rc, out);
    free(out);
    rc = run_cmd(bad, 4, &out);
    DP_ASSERT_MSG(rc == 1, "bad.jsonl: expected exit 1, got %d", rc);
    expect_lines(out, bad_expect, sizeof(bad_expect) / sizeof(bad_expect[0]));
    DP_ASSERT_MSG(strstr(out, "line 1:") == NULL, "line 1 is valid:\n%s", out);
    free(out);
}

static void test_validate_command_on_base64_fixtures(void)
{
    static const char *const expect[] = {"line 3: TRUNCATED ",
                                         "line 4: UNKNOWN_SCHEMA_ID $: ",
                                         "line 5: FRAMING $: ",
                                         "line 6: TRAILING_BYTES $: ",
                                         "line 7: BAD_EVENT_NAME $.event_name: ",
                                         "line 8: BAD_CURRENCY $.currency: ",
                                         "8 messages: 2 valid, 6 invalid\n"};
    char *b64[] = {"validate", "--schemas",   DP_SOURCE_DIR "/schemas",
                   "--format", "avro-base64", DP_SOURCE_DIR "/tests/data/codec/framed.b64"};
    char *autofmt[] = {"validate", "--schemas", DP_SOURCE_DIR "/schemas",
                       DP_SOURCE_DIR "/tests/data/codec/framed.b64"};
    char *out;
    int rc;

    rc = run_cmd(b64, 6, &out);
    DP_ASSERT_MSG(rc == 1, "expected exit 1, got %d", rc);
    expect_lines(out, expect, sizeof(expect) / sizeof(expect[0]));
    DP_ASSERT_MSG(strstr(out, "line 1:") == NULL && strstr(out, "line 2:") == NULL,
                  "lines 1 (canonical) and 2 (old writer) are valid:\n%s", out);
    free(out);
    rc = run_cmd(autofmt, 4, &out);
    DP_ASSERT_MSG(rc == 1 && strstr(out, "8 messages: 2 valid, 6 invalid\n"),
                  "auto format: got %d:\n%s", rc, out);
    free(out);
}

static void test_validate_command_usage_errors(void)
{
    char *fmt[] = {"validate", "--format", "xml"};
    char *two[] = {"validate", "a.jsonl", "b.jsonl"};
    char *opt[] = {"validate", "--nope"};
    char *nodir[] = {"validate", "--schemas", "/nonexistent/schemas", "-"};
    char *nofile[] = {"validate", "--schemas", DP_SOURCE_DIR "/schemas", "/nonexistent/x.jsonl"};
    char *out;
    int rc;

    rc = run_cmd(fmt, 3, &out);
    DP_ASSERT_MSG(rc == 2, "--format xml: expected 2, got %d", rc);
    free(out);
    rc = run_cmd(two, 3, &out);
    DP_ASSERT_MSG(rc == 2, "two inputs: expected 2, got %d", rc);
    free(out);
    rc = run_cmd(opt, 2, &out);
    DP_ASSERT_MSG(rc == 2, "unknown option: expected 2, got %d", rc);
    free(out);
    rc = run_cmd(nodir, 4, &out);
    DP_ASSERT_MSG(rc == 2, "missing schemas: expected 2, got %d", rc);
    free(out);
    rc = run_cmd(nofile, 4, &out);
    DP_ASSERT_MSG(rc == 2, "missing input: expected 2, got %d", rc);
    free(out);
}

static const dp_test_case_t cases[] = {
    {"test_validate_event_name_rules", test_validate_event_name_rules},
    {"test_validate_currency_list", test_validate_currency_list},
    {"test_validate_decimal_bytes_round_trip", test_validate_decimal_bytes_round_trip},
    {"test_validate_event_rules_name_field", test_validate_event_rules_name_field},
    {"test_validate_iso8601_and_decimal_parsers", test_validate_iso8601_and_decimal_parsers},
    {"test_validate_base64", test_validate_base64},
    {"test_validate_command_on_json_fixtures", test_validate_command_on_json_fixtures},
    {"test_validate_command_on_base64_fixtures", test_validate_command_on_base64_fixtures},
    {"test_validate_command_usage_errors", test_validate_command_usage_errors},
    {NULL, NULL}};

static const dp_test_suite_t suites[] = {{"validate", NULL, NULL, cases}, {NULL, NULL, NULL, NULL}};

int main(int argc, char **argv)
{
    return dp_test_main(argc, argv, suites);
}
