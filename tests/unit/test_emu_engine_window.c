/*
 * Unit tests of the emulator engine's window functions and QUALIFY: ROW_NUMBER(), RANK() and
 * DENSE_RANK() OVER (PARTITION BY ... ORDER BY ... [DESC] [NULLS FIRST|LAST]), Spark's NULL
 * ordering, QUALIFY (with the function in it or through a select-list alias), the equivalent
 * subquery in FROM, and the errors for a window function where Spark refuses one.
 */
#define _POSIX_C_SOURCE 200809L
#include "dp_test.h"
#include "test_emu_engine_support.h"

#include <stdio.h>
#include <string.h>

/* Events with redeliveries: (k, p, o) is the key's position; p NULL sorts first. */
static void setup_events(emu_engine_t *e)
{
    t_ok(e, "CREATE TABLE ev (k STRING, p INT, o BIGINT, payload STRING)");
    t_ok(e, "INSERT INTO ev VALUES ('a', 1, 20, 'a-1-20'), ('a', 1, 10, 'a-1-10'), "
            "('a', 0, 30, 'a-0-30'), ('b', 2, 5, 'b-2-5'), ('b', 2, 5, 'b-2-5-again'), "
            "('c', NULL, 7, 'c-null-7'), ('c', 3, 1, 'c-3-1')");
}

static void test_emu_engine_window_row_number_rank(void)
{
    char dir[512];
    emu_engine_t *e = t_open("emu_win", NULL, dir);
    emu_result_t res;
    int rc;

    DP_ASSERT_FATAL_MSG(e != NULL, "engine open");
    setup_events(e);
    rc = t_exec(e, NULL,
                "SELECT k, p, o, ROW_NUMBER() OVER (PARTITION BY k ORDER BY p, o) AS rn, "
                "RANK() OVER (PARTITION BY k ORDER BY p DESC) AS r, "
                "dense_rank() OVER (ORDER BY k) AS dr "
                "FROM ev WHERE payload <> 'b-2-5-again' ORDER BY k, rn",
                NULL, &res);
    DP_ASSERT_FATAL_MSG(rc == 0, "expected the window query to run, got '%s'", res.message);
    DP_ASSERT_MSG(strcmp(t_colinfo(&res, 3, "type_name"), "INT") == 0 &&
                      strcmp(t_colinfo(&res, 4, "type_text"), "INT") == 0 &&
                      strcmp(t_colinfo(&res, 3, "name"), "rn") == 0,
                  "expected INT window columns named rn, got %s %s %s",
                  t_colinfo(&res, 3, "type_name"), t_colinfo(&res, 4, "type_text"),
                  t_colinfo(&res, 3, "name"));
    emu_result_clear(&res);
    /* a: (0,30) (1,10) (1,20); c: NULL first when ascending, last when descending */
    t_rows(e,
           "SELECT k, p, o, ROW_NUMBER() OVER (PARTITION BY k ORDER BY p, o) AS rn, "
           "RANK() OVER (PARTITION BY k ORDER BY p DESC) AS r, "
           "DENSE_RANK() OVER (ORDER BY k) AS dr "
           "FROM ev WHERE payload <> 'b-2-5-again' ORDER BY k, rn",
           "[[\"a\",\"0\",\"30\",\"1\",\"3\",\"1\"],[\"a\",\"1\",\"10\",\"2\",\"1\",\"1\"],"
           "[\"a\",\"1\",\"20\",\"3\",\"1\",\"1\"],[\"b\",\"2\",\"5\",\"1\",\"1\",\"2\"],"
           "[\"c\",null,\"7\",\"1\",\"2\",\"3\"],[\"c\",\"3\",\"1\",\"2\",\"1\",\"3\"]]");
    t_rows(e,
           "SELECT k, o, ROW_NUMBER() OVER (PARTITION BY k ORDER BY p NULLS LAST, o DESC) AS rn "
           "FROM ev WHERE k = 'c' ORDER BY rn",
           "[[\"c\",\"1\",\"1\"],[\"c\",\"7\",\"2\"]]");
    /* ORDER BY prefers the select list's alias over the column of the same name (Spark) */
    t_rows(e, "SELECT k, -o AS o FROM ev WHERE k = 'a' ORDER BY o",
           "[[\"a\",\"-30\"],[\"a\",\"-20\"],[\"a\",\"-10\"]]");
    t_rows(e, "SELECT k, -o AS o FROM ev WHERE k = 'a' ORDER BY ev.o",
           "[[\"a\",\"-10\"],[\"a\",\"-20\"],[\"a\",\"-30\"]]");
    /* an aggregate over a window */
    t_rows(e, "SELECT k, count(*) OVER (PARTITION BY k) AS n FROM ev WHERE k <> 'b' ORDER BY k, o",
           "[[\"a\",\"3\"],[\"a\",\"3\"],[\"a\",\"3\"],[\"c\",\"2\"],[\"c\",\"2\"]]");
    t_close(e, dir);
}

static void test_emu_engine_qualify_and_subquery_dedup(void)
{
    char dir[512];
    emu_engine_t *e = t_open("emu_qual", NULL, dir);
    const char *want = "[[\"a\",\"0\",\"30\",\"a-0-30\"],[\"b\",\"2\",\"5\",\"b-2-5\"],"
                       "[\"c\",null,\"7\",\"c-null-7\"]]";

    DP_ASSERT_FATAL_MSG(e != NULL, "engine open");
    setup_events(e);
    /* the first row of each key by position; the two b rows tie, so ORDER BY the payload too */
    t_rows(e,
           "SELECT * FROM ev QUALIFY ROW_NUMBER() OVER (PARTITION BY k ORDER BY p, o, payload) "
           "= 1 ORDER BY k",
           want);
    /* the same through a select-list alias */
    t_rows(e,
           "SELECT k, p, o, payload, ROW_NUMBER() OVER (PARTITION BY k ORDER BY p, o, payload) "
           "AS rn FROM ev QUALIFY rn = 1 ORDER BY k",
           "[[\"a\",\"0\",\"30\",\"a-0-30\",\"1\"],[\"b\",\"2\",\"5\",\"b-2-5\",\"1\"],"
           "[\"c\",null,\"7\",\"c-null-7\",\"1\"]]");
    /* the subquery form, with and without an alias */
    t_rows(e,
           "SELECT k, p, o, payload FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY "
           "p, o, payload) AS rn FROM ev) WHERE rn = 1 ORDER BY k",
           want);
    t_rows(e,
           "SELECT d.k, d.rn FROM (SELECT k, ROW_NUMBER() OVER (PARTITION BY k ORDER BY p DESC, "
           "o) AS rn FROM ev) AS d WHERE d.rn = 2 ORDER BY d.k",
           "[[\"a\",\"2\"],[\"b\",\"2\"],[\"c\",\"2\"]]");
    t_rows(e,
           "SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY p, o, payload) "
           "AS rn FROM ev) d WHERE rn = 1 AND k = 'a'",
           "[[\"a\",\"0\",\"30\",\"a-0-30\",\"1\"]]");
    /* QUALIFY with WHERE, GROUP BY and DISTINCT around it */
    t_rows(e,
           "SELECT k, count(*) AS n FROM ev WHERE o > 1 GROUP BY k "
           "QUALIFY RANK() OVER (ORDER BY count(*) DESC) = 1",
           "[[\"a\",\"3\"]]");
    t_rows(e,
           "SELECT DISTINCT k FROM ev QUALIFY ROW_NUMBER() OVER (PARTITION BY k ORDER BY o) "
           "<= 2 ORDER BY k",
           "[[\"a\"],[\"b\"],[\"c\"]]");
    t_rows(e,
           "SELECT count(*) FROM (SELECT * FROM ev QUALIFY ROW_NUMBER() OVER (PARTITION BY k "
           "ORDER BY o) = 1)",
           "[[\"3\"]]");
    t_close(e, dir);
}

static void test_emu_engine_window_errors(void)
{
    char dir[512];
    emu_engine_t *e = t_open("emu_win_err", NULL, dir);

    DP_ASSERT_FATAL_MSG(e != NULL, "engine open");
    setup_events(e);
    t_fails(e, NULL, "SELECT k FROM ev WHERE ROW_NUMBER() OVER (ORDER BY o) = 1", NULL,
            "[UNSUPPORTED_EXPR_FOR_OPERATOR]", "42K0E");
    t_fails(e, NULL, "SELECT k, ROW_NUMBER() FROM ev", NULL,
            "[WINDOW_FUNCTION_WITHOUT_OVER_CLAUSE] Window function \"row_number\" requires an "
            "OVER clause.",
            "42601");
    t_fails(e, NULL, "SELECT k FROM ev QUALIFY o > 1", NULL, "[MISSING_WINDOW_SPECIFICATION]",
            "42K0E");
    t_fails(e, NULL, "SELECT k, lower(k) OVER (ORDER BY o) FROM ev", NULL,
            "[UNSUPPORTED_EXPR_FOR_WINDOW]", "42K0E");
    t_fails(e, NULL,
            "SELECT k, ROW_NUMBER() OVER (ORDER BY o ROWS BETWEEN 1 PRECEDING AND "
            "CURRENT ROW) FROM ev",
            NULL, "[UNSUPPORTED_FEATURE]", "0A000");
    t_fails(e, NULL, "SELECT k FROM ev, ev", NULL, "[UNSUPPORTED_FEATURE] Joins", "0A000");
    t_fails(e, NULL, "SELECT k FROM (SELECT k FROM ev", NULL, "[PARSE_SYNTAX_ERROR]", "42601");
    t_close(e, dir);
}

static const dp_test_case_t k_cases[] = {
    {"test_emu_engine_window_row_number_rank", test_emu_engine_window_row_number_rank},
    {"test_emu_engine_qualify_and_subquery_dedup", test_emu_engine_qualify_and_subquery_dedup},
    {"test_emu_engine_window_errors", test_emu_engine_window_errors},
    {NULL, NULL}};

static const dp_test_suite_t k_suites[] = {{"emu_engine_window", NULL, NULL, k_cases},
                                           {NULL, NULL, NULL, NULL}};

int main(int argc, char **argv)
{
    return dp_test_main(argc, argv, k_suites);
}
