/*
 * Unit tests of tablename: what is accepted and refused, the injectivity of
 * the event-name mapping (checked exhaustively for every valid name of up to
 * three characters), that no valid name reaches a system table, and the
 * quoting of qualified names.
 */
#include "core/mem.h"
#include "dp_test.h"
#include "route/tablename.h"

#include <stdlib.h>
#include <string.h>

static int map(const char *name, char *out, size_t outlen, dp_err_t *err)
{
    return dp_tablename_for_event(name, strlen(name), out, outlen, err);
}

static void test_tablename_accepts_snake_case(void)
{
    static const char *ok[] = {"purchase", "add_to_cart", "a", "x9", "page_view_2", "a__b_"};
    char table[DP_TABLENAME_TABLE_SIZE], expect[DP_TABLENAME_TABLE_SIZE];
    char longest[DP_TABLENAME_EVENT_MAX + 1];
    dp_err_t err;
    size_t i;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        DP_ASSERT_MSG(map(ok[i], table, sizeof(table), &err) == 0, "%s refused: %s", ok[i],
                      err.msg);
        snprintf(expect, sizeof(expect), "evt_%s", ok[i]);
        DP_ASSERT_MSG(strcmp(table, expect) == 0, "expected %s, got %s", expect, table);
    }
    memset(longest, 'a', DP_TABLENAME_EVENT_MAX);
    longest[DP_TABLENAME_EVENT_MAX] = '\0';
    DP_ASSERT_MSG(map(longest, table, sizeof(table), &err) == 0, "100 chars refused: %s", err.msg);
    DP_ASSERT_MSG(strlen(table) == 104, "expected a 104-byte table, got %zu", strlen(table));
}

static void test_tablename_refuses_everything_else(void)
{
    static const char *bad[] = {"",      "Purchase", "add-to-cart", "1st",  "_x",
                                "a b",   "évent",    "a;drop",      "a`b",  "x.y",
                                "ORDER", "a\tb",     "a'b",         "a\"b", "a/b"};
    char table[DP_TABLENAME_TABLE_SIZE] = "untouched";
    char toolong[DP_TABLENAME_EVENT_MAX + 2];
    dp_err_t err;
    size_t i;
    int rc;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rc = map(bad[i], table, sizeof(table), &err);
        DP_ASSERT_MSG(rc == DP_EINVAL, "'%s': expected DP_EINVAL, got %d", bad[i], rc);
        DP_ASSERT_MSG(strcmp(table, "untouched") == 0, "'%s': out was written", bad[i]);
    }
    memset(toolong, 'a', DP_TABLENAME_EVENT_MAX + 1);
    toolong[DP_TABLENAME_EVENT_MAX + 1] = '\0';
    rc = map(toolong, table, sizeof(table), &err);
    DP_ASSERT_MSG(rc == DP_EINVAL && strstr(err.msg, "101 bytes") != NULL,
                  "101 chars: expected DP_EINVAL naming the length, got %d '%s'", rc, err.msg);
    /* An embedded NUL is a byte like any other: refused, not truncated. */
    rc = dp_tablename_for_event("ab\0cd", 5, table, sizeof(table), &err);
    DP_ASSERT_MSG(rc == DP_EINVAL && strstr(err.msg, "0x00") && strstr(err.msg, "position 2"),
                  "embedded NUL: expected DP_EINVAL at position 2, got %d '%s'", rc, err.msg);
    rc = dp_tablename_for_event(NULL, 0, table, sizeof(table), &err);
    DP_ASSERT_MSG(rc == DP_EINVAL, "NULL name: expected DP_EINVAL, got %d", rc);
}

static void test_tablename_error_never_echoes_raw_bytes(void)
{
    char table[DP_TABLENAME_TABLE_SIZE];
    dp_err_t err;
    int rc;

    rc = dp_tablename_for_event("ok\x1b[31m", 7, table, sizeof(table), &err);
    DP_ASSERT_MSG(rc == DP_EINVAL, "expected DP_EINVAL, got %d", rc);
    DP_ASSERT_MSG(strchr(err.msg, 0x1b) == NULL && strstr(err.msg, "0x1b") != NULL,
                  "the escape byte must be reported in hex only, got '%s'", err.msg);
}

static void test_tablename_small_output_is_toobig(void)
{
    char table[8] = "same";
    dp_err_t err;
    int rc;

    rc = map("abcd", table, sizeof(table), &err);
    DP_ASSERT_MSG(rc == DP_ETOOBIG, "9 bytes into 8: expected DP_ETOOBIG, got %d", rc);
    DP_ASSERT_MSG(strcmp(table, "same") == 0, "out must be untouched, got '%s'", table);
    DP_ASSERT_MSG(map("abc", table, sizeof(table), &err) == 0 && strcmp(table, "evt_abc") == 0,
                  "exact fit: expected evt_abc, got '%s'", table);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Writes the index-th valid name of length len into name (base-26 first
 * character, base-37 tail). */
static void nth_name(size_t index, size_t len, char *name)
{
    static const char tail[] = "abcdefghijklmnopqrstuvwxyz0123456789_";
    size_t i;

    for (i = len; i-- > 1;) {
        name[i] = tail[index % 37];
        index /= 37;
    }
    name[0] = (char)('a' + index % 26);
    name[len] = '\0';
}

static void test_tablename_mapping_is_injective_and_avoids_system_tables(void)
{
    const size_t counts[4] = {0, 26, 26 * 37, 26 * 37 * 37};
    size_t total = counts[1] + counts[2] + counts[3], n = 0, len, i;
    char **tables = dp_calloc(total, sizeof(char *));
    char name[4], table[DP_TABLENAME_TABLE_SIZE];
    dp_err_t err;

    for (len = 1; len <= 3; len++) {
        for (i = 0; i < counts[len]; i++) {
            nth_name(i, len, name);
            DP_ASSERT_FATAL_MSG(map(name, table, sizeof(table), &err) == 0, "%s refused: %s", name,
                                err.msg);
            /* Left inverse: stripping the prefix gives the name back. */
            DP_ASSERT_FATAL_MSG(strncmp(table, "evt_", 4) == 0 && strcmp(table + 4, name) == 0,
                                "%s -> %s does not invert", name, table);
            DP_ASSERT_FATAL_MSG(!dp_tablename_is_system(table), "%s reaches system table %s", name,
                                table);
            DP_ASSERT_FATAL_MSG(dp_tablename_check_identifier(table, &err) == 0,
                                "%s is not a valid identifier: %s", table, err.msg);
            tables[n++] = dp_strdup(table);
        }
    }
    qsort(tables, n, sizeof(char *), cmp_str);
    for (i = 1; i < n; i++) {
        DP_ASSERT_MSG(strcmp(tables[i - 1], tables[i]) != 0, "two names map to %s", tables[i]);
    }
    DP_ASSERT_MSG(n == 36582, "expected 36582 names enumerated, got %zu", n);
    for (i = 0; i < n; i++) {
        free(tables[i]);
    }
    free(tables);
}

/* The structural half of the proof: every table of an event name starts
 * with "evt_", and no system table does, whatever its length. */
static void test_tablename_system_tables_lack_the_prefix(void)
{
    const char *const *sys = dp_tablename_system_tables();
    char table[DP_TABLENAME_TABLE_SIZE];
    dp_err_t err;
    size_t i;

    for (i = 0; sys[i] != NULL; i++) {
        DP_ASSERT_MSG(strncmp(sys[i], DP_TABLENAME_PREFIX, 4) != 0, "%s has the prefix", sys[i]);
        DP_ASSERT_MSG(map(sys[i], table, sizeof(table), &err) == 0 &&
                          strncmp(table, "evt_", 4) == 0 && !dp_tablename_is_system(table),
                      "event named %s must map to evt_%s, got %s", sys[i], sys[i], table);
    }
    DP_ASSERT_MSG(i == 7, "expected 7 system tables (backfills the last), got %zu", i);
    DP_ASSERT_MSG(dp_tablename_check_shared("evt_otherevents", &err) == 0, "default refused: %s",
                  err.msg);
    DP_ASSERT_MSG(dp_tablename_check_shared("sync_runs", &err) == DP_EINVAL,
                  "a system table must not be the shared table");
    DP_ASSERT_MSG(dp_tablename_check_shared("Other", &err) == DP_EINVAL,
                  "upper case shared table accepted");
}

static void test_tablename_check_identifier_rules(void)
{
    static const char *ok[] = {"main", "_private", "deltaport_staging", "a1", "_"};
    static const char *bad[] = {"", "Main", "1a", "a-b", "a`b", "a.b", "a b", "ä"};
    char longest[DP_TABLENAME_IDENT_MAX + 2];
    dp_err_t err;
    size_t i;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        DP_ASSERT_MSG(dp_tablename_check_identifier(ok[i], &err) == 0, "%s refused: %s", ok[i],
                      err.msg);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        DP_ASSERT_MSG(dp_tablename_check_identifier(bad[i], &err) == DP_EINVAL, "'%s' accepted",
                      bad[i]);
    }
    memset(longest, 'z', DP_TABLENAME_IDENT_MAX);
    longest[DP_TABLENAME_IDENT_MAX] = '\0';
    DP_ASSERT_MSG(dp_tablename_check_identifier(longest, &err) == 0, "255 chars refused: %s",
                  err.msg);
    longest[DP_TABLENAME_IDENT_MAX] = 'z';
    longest[DP_TABLENAME_IDENT_MAX + 1] = '\0';
    DP_ASSERT_MSG(dp_tablename_check_identifier(longest, &err) == DP_EINVAL, "256 chars accepted");
    DP_ASSERT_MSG(dp_tablename_check_identifier(NULL, &err) == DP_EINVAL, "NULL accepted");
}

/* One length limit for table names: the longest evt_<name> is the longest
 * table name, and a configured shared or single table obeys it too (issue 11
 * item 3: a 200-character single_table used to pass the configuration and
 * then be refused by the flush). */
static void test_tablename_one_length_limit_for_tables(void)
{
    char name[DP_TABLENAME_EVENT_MAX + 1], table[DP_TABLENAME_TABLE_SIZE], t[256];
    dp_err_t err;

    memset(name, 'n', DP_TABLENAME_EVENT_MAX);
    DP_ASSERT_FATAL_MSG(
        dp_tablename_for_event(name, DP_TABLENAME_EVENT_MAX, table, sizeof(table), &err) == 0,
        "longest event name refused: %s", err.msg);
    DP_ASSERT_MSG(strlen(table) == DP_TABLENAME_TABLE_MAX && DP_TABLENAME_TABLE_MAX == 104,
                  "longest table is %zu bytes, limit %zu", strlen(table),
                  (size_t)DP_TABLENAME_TABLE_MAX);
    DP_ASSERT_MSG(dp_tablename_check_table(table, &err) == 0, "evt_<100 chars> refused: %s",
                  err.msg);
    DP_ASSERT_MSG(dp_tablename_check_shared(table, &err) == 0, "as shared table: %s", err.msg);
    memset(t, 'a', 105);
    t[105] = '\0';
    DP_ASSERT_MSG(dp_tablename_check_table(t, &err) == DP_EINVAL &&
                      strstr(err.msg, "at most 104") != NULL,
                  "105 bytes: expected DP_EINVAL naming the limit, got '%s'", err.msg);
    memset(t, 'a', 200);
    t[200] = '\0';
    DP_ASSERT_MSG(dp_tablename_check_shared(t, &err) == DP_EINVAL,
                  "200-byte shared table accepted");
    DP_ASSERT_MSG(dp_tablename_check_table(NULL, &err) == DP_EINVAL, "NULL accepted");
}

static void test_tablename_qualified_quotes_checked_parts(void)
{
    char out[DP_TABLENAME_QUALIFIED_SIZE], small[10] = "keep";
    char big[DP_TABLENAME_IDENT_MAX + 1];
    dp_err_t err;
    int rc;

    DP_ASSERT_FATAL_MSG(
        dp_tablename_qualified("main", "shop", "evt_purchase", out, sizeof(out), &err) == 0, "%s",
        err.msg);
    DP_ASSERT_MSG(strcmp(out, "`main`.`shop`.`evt_purchase`") == 0, "got %s", out);
    rc = dp_tablename_qualified("main", "shop`; DROP TABLE x; --", "t", out, sizeof(out), &err);
    DP_ASSERT_MSG(rc == DP_EINVAL && strncmp(err.msg, "schema: ", 8) == 0,
                  "injection attempt: expected DP_EINVAL naming the schema, got %d '%s'", rc,
                  err.msg);
    rc = dp_tablename_qualified("main", "shop", "t", small, sizeof(small), &err);
    DP_ASSERT_MSG(rc == DP_ETOOBIG && strcmp(small, "keep") == 0,
                  "small buffer: expected DP_ETOOBIG and untouched, got %d '%s'", rc, small);
    memset(big, 'q', DP_TABLENAME_IDENT_MAX);
    big[DP_TABLENAME_IDENT_MAX] = '\0';
    DP_ASSERT_MSG(dp_tablename_qualified(big, big, big, out, sizeof(out), &err) == 0 &&
                      strlen(out) == sizeof(out) - 1,
                  "three 255-byte parts must fit DP_TABLENAME_QUALIFIED_SIZE: %s", err.msg);
}

static void test_tablename_column_quoted(void)
{
    char out[DP_TABLENAME_COLUMN_QUOTED_SIZE], small[6] = "keep";
    char big[DP_TABLENAME_COLUMN_MAX + 2];
    dp_err_t err;
    int rc;

    DP_ASSERT_FATAL_MSG(dp_tablename_column_quoted("_Kafka_offset2", out, sizeof(out), &err) == 0,
                        "%s", err.msg);
    DP_ASSERT_MSG(strcmp(out, "`_Kafka_offset2`") == 0, "got %s", out);
    rc = dp_tablename_column_quoted("a`b", out, sizeof(out), &err);
    DP_ASSERT_MSG(rc == DP_EINVAL && strstr(err.msg, "0x60") && strstr(err.msg, "byte 1"),
                  "a backquote is refused, named in hex with its place: %d '%s'", rc, err.msg);
    rc = dp_tablename_column_quoted("", out, sizeof(out), &err);
    DP_ASSERT_MSG(rc == DP_EINVAL, "an empty name is refused: %d", rc);
    rc = dp_tablename_column_quoted("abcd", small, sizeof(small), &err);
    DP_ASSERT_MSG(rc == DP_ETOOBIG && strcmp(small, "keep") == 0,
                  "small buffer: DP_ETOOBIG and untouched, got %d '%s'", rc, small);
    memset(big, 'Q', DP_TABLENAME_COLUMN_MAX);
    big[DP_TABLENAME_COLUMN_MAX] = '\0';
    DP_ASSERT_MSG(dp_tablename_column_quoted(big, out, sizeof(out), &err) == 0 &&
                      strlen(out) == sizeof(out) - 1,
                  "a 255-byte name fits DP_TABLENAME_COLUMN_QUOTED_SIZE: %s", err.msg);
    big[DP_TABLENAME_COLUMN_MAX] = 'Q';
    big[DP_TABLENAME_COLUMN_MAX + 1] = '\0';
    DP_ASSERT_MSG(dp_tablename_column_quoted(big, out, sizeof(out), &err) == DP_EINVAL,
                  "a 256-byte name is refused");
}

static const dp_test_case_t tablename_cases[] = {
    {"test_tablename_accepts_snake_case", test_tablename_accepts_snake_case},
    {"test_tablename_refuses_everything_else", test_tablename_refuses_everything_else},
    {"test_tablename_error_never_echoes_raw_bytes", test_tablename_error_never_echoes_raw_bytes},
    {"test_tablename_small_output_is_toobig", test_tablename_small_output_is_toobig},
    {"test_tablename_mapping_is_injective_and_avoids_system_tables",
     test_tablename_mapping_is_injective_and_avoids_system_tables},
    {"test_tablename_system_tables_lack_the_prefix", test_tablename_system_tables_lack_the_prefix},
    {"test_tablename_check_identifier_rules", test_tablename_check_identifier_rules},
    {"test_tablename_qualified_quotes_checked_parts",
     test_tablename_qualified_quotes_checked_parts},
    {"test_tablename_one_length_limit_for_tables", test_tablename_one_length_limit_for_tables},
    {"test_tablename_column_quoted", test_tablename_column_quoted},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    static const dp_test_suite_t suites[] = {{"tablename", NULL, NULL, tablename_cases},
                                             {NULL, NULL, NULL, NULL}};

    return dp_test_main(argc, argv, suites);
}
