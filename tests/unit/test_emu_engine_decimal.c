/*
 * Unit tests of the emulator engine's exact DECIMAL values and ANSI casts: a scaled BIGINT or
 * a decimal STRING converted to DECIMAL(18,4) round-trips +-99999999999999.9999 exactly
 * (through the forms docs/EMULATOR_SQL.md lists), the overflow Databricks raises for
 * CAST(v AS DECIMAL(18,4)) of the scaled maximum, Spark's result types of decimal arithmetic,
 * exact comparisons and sum/min/max, HALF_UP rounding, try_cast, and the ANSI errors of casts
 * and division.
 */
#define _POSIX_C_SOURCE 200809L
#include "dp_test.h"
#include "test_emu_engine_support.h"

#include <stdio.h>
#include <string.h>

/* v: the value scaled by 10^4 (BIGINT), s: its text, d: the DECIMAL(18,4) itself */
static void setup_values(emu_engine_t *e)
{
    t_ok(e, "CREATE TABLE zb (id INT, v BIGINT, s STRING, d DECIMAL(18,4))");
    t_ok(e, "INSERT INTO zb VALUES (1, 999999999999999999, '99999999999999.9999', "
            "99999999999999.9999), (2, -999999999999999999, '-99999999999999.9999', "
            "-99999999999999.9999), (3, 12345, '1.2345', 1.2345), (4, 0, '0', 0), "
            "(5, NULL, NULL, NULL), (6, 999999999999999998, '99999999999999.9998', "
            "99999999999999.9998)");
}

static int type_is(emu_engine_t *e, const char *sql, const char *type)
{
    emu_result_t res;
    int rc = t_exec(e, NULL, sql, NULL, &res), ok;

    ok = rc == 0 && strcmp(t_colinfo(&res, 0, "type_text"), type) == 0;
    DP_ASSERT_MSG(ok, "expected type %s for '%s', got rc %d %s '%s'", type, sql, rc,
                  t_colinfo(&res, 0, "type_text"), res.message);
    emu_result_clear(&res);
    return ok;
}

static void test_emu_engine_decimal_round_trip_exact(void)
{
    char dir[512];
    emu_engine_t *e = t_open("emu_dec", NULL, dir);
    const char *want = "[[\"1\",\"99999999999999.9999\"],[\"2\",\"-99999999999999.9999\"],"
                       "[\"3\",\"1.2345\"],[\"4\",\"0.0000\"],[\"5\",null],"
                       "[\"6\",\"99999999999999.9998\"]]";

    DP_ASSERT_FATAL_MSG(e != NULL, "engine open");
    setup_values(e);
    /* the scaled BIGINT: divide as a decimal of scale 0, then fix the type */
    t_rows(e,
           "SELECT id, CAST(CAST(v AS DECIMAL(18,0)) / 10000 AS DECIMAL(18,4)) FROM zb "
           "ORDER BY id",
           want);
    t_rows(e,
           "SELECT id, CAST(CAST(v AS DECIMAL(22,4)) / 10000 AS DECIMAL(18,4)) FROM zb "
           "ORDER BY id",
           want);
    t_rows(e, "SELECT id, CAST(v AS DECIMAL(22,4)) / 10000 FROM zb WHERE id = 1",
           "[[\"1\",\"99999999999999.9999000000\"]]");
    type_is(e, "SELECT CAST(v AS DECIMAL(22,4)) / 10000 FROM zb", "DECIMAL(28,10)");
    type_is(e, "SELECT CAST(v AS DECIMAL(18,0)) / 10000 FROM zb", "DECIMAL(24,6)");
    /* the decimal text */
    t_rows(e, "SELECT id, CAST(s AS DECIMAL(18,4)) FROM zb ORDER BY id", want);
    t_rows(e, "SELECT id, CAST(CAST(s AS STRING) AS DECIMAL(18,4)) FROM zb ORDER BY id", want);
    /* and back: the stored DECIMAL as its exact text */
    t_rows(e,
           "SELECT CAST(d AS STRING), CAST(d * 10000 AS BIGINT) FROM zb WHERE id IN (1, 2) "
           "ORDER BY id",
           "[[\"99999999999999.9999\",\"999999999999999999\"],"
           "[\"-99999999999999.9999\",\"-999999999999999999\"]]");
    t_rows(e,
           "SELECT count(*) FROM zb WHERE d = CAST(CAST(v AS DECIMAL(18,0)) / 10000 AS "
           "DECIMAL(18,4)) AND d = CAST(s AS DECIMAL(18,4))",
           "[[\"5\"]]");
    /* CAST(v AS DECIMAL(18,4)) of the scaled maximum overflows, as in Databricks (ANSI mode) */
    t_fails(e, NULL, "SELECT CAST(v AS DECIMAL(18,4)) / 10000 FROM zb", NULL,
            "[NUMERIC_VALUE_OUT_OF_RANGE.WITH_SUGGESTION] 999999999999999999 cannot be "
            "represented as Decimal(18, 4).",
            "22003");
    t_rows(e, "SELECT CAST(v AS DECIMAL(18,4)) / 10000 FROM zb WHERE id = 3",
           "[[\"1.2345000000\"]]");
    t_rows(e, "SELECT id, try_cast(v AS DECIMAL(18,4)) FROM zb WHERE id IN (1, 3) ORDER BY id",
           "[[\"1\",null],[\"3\",\"12345.0000\"]]");
    /* a plain '/' of integers is a DOUBLE (not exact): the documented trap */
    type_is(e, "SELECT v / 10000 FROM zb", "DOUBLE");
    /* the same through a view and a MERGE into a DECIMAL(18,4) column */
    t_ok(e, "CREATE VIEW zv AS SELECT id, CAST(CAST(v AS DECIMAL(18,0)) / 10000 AS "
            "DECIMAL(18,4)) AS value FROM zb");
    t_ok(e, "CREATE TABLE out (id INT, value DECIMAL(18,4))");
    t_rows(e, "MERGE INTO out USING zv ON out.id = zv.id WHEN NOT MATCHED THEN INSERT *",
           "[[\"6\",\"0\",\"0\",\"6\"]]");
    t_rows(e, "SELECT id, value FROM out ORDER BY id", want);
    t_close(e, dir);
}

static void test_emu_engine_decimal_arithmetic_and_aggregates(void)
{
    char dir[512];
    emu_engine_t *e = t_open("emu_dec_ar", NULL, dir);

    DP_ASSERT_FATAL_MSG(e != NULL, "engine open");
    setup_values(e);
    /* exact comparisons: .9999 and .9998 are one double apart at this magnitude */
    t_rows(e, "SELECT id FROM zb WHERE d > 99999999999999.9998 ORDER BY id", "[[\"1\"]]");
    t_rows(e, "SELECT id FROM zb WHERE d BETWEEN 99999999999999.9998 AND 99999999999999.9998",
           "[[\"6\"]]");
    t_rows_p(e, "SELECT id FROM zb WHERE d = :x",
             "[{\"name\":\"x\",\"value\":\"99999999999999.9999\",\"type\":\"DECIMAL(18,4)\"}]",
             "[[\"1\"]]");
    t_rows(e, "SELECT id FROM zb WHERE d IN (1.2345, 0) ORDER BY id", "[[\"3\"],[\"4\"]]");
    /* sum / min / max keep every digit; sum's type is DECIMAL(p + 10, s) */
    t_rows(e, "SELECT sum(d), min(d), max(d) FROM zb WHERE id IN (1, 6)",
           "[[\"199999999999999.9997\",\"99999999999999.9998\",\"99999999999999.9999\"]]");
    type_is(e, "SELECT sum(d) FROM zb", "DECIMAL(28,4)");
    t_rows(e, "SELECT sum(d) FROM zb", "[[\"100000000000001.2343\"]]");
    /* Spark's result types and HALF_UP rounding */
    t_rows(e, "SELECT d + 0.0001, d - 1, d * 2, -d FROM zb WHERE id = 1",
           "[[\"100000000000000.0000\",\"99999999999998.9999\",\"199999999999999.9998\","
           "\"-99999999999999.9999\"]]");
    type_is(e, "SELECT d + 0.0001 FROM zb", "DECIMAL(19,4)");
    type_is(e, "SELECT d * 2 FROM zb", "DECIMAL(20,4)");
    t_rows(e,
           "SELECT CAST(1 AS DECIMAL(18,4)) / 3, CAST(2 AS DECIMAL(18,4)) / 3, "
           "CAST(-2 AS DECIMAL(18,4)) / 3, CAST(7 AS DECIMAL(10,2)) % 3",
           "[[\"0.333333\",\"0.666667\",\"-0.666667\",\"1.00\"]]");
    t_rows(e,
           "SELECT CAST(1.25 AS DECIMAL(2,1)), CAST(-1.25 AS DECIMAL(2,1)), "
           "CAST('0.05' AS DECIMAL(2,1)), CAST(1.5D AS DECIMAL(3,1))",
           "[[\"1.3\",\"-1.3\",\"0.1\",\"1.5\"]]");
    t_fails(e, NULL, "SELECT d / 0 FROM zb", NULL, "[DIVIDE_BY_ZERO]", "22012");
    /* beyond 38 digits the emulator's 128-bit arithmetic stops (same SQLSTATE as Databricks'
     * NUMERIC_VALUE_OUT_OF_RANGE for this value) */
    t_fails(e, NULL, "SELECT d * d * d FROM zb WHERE id = 1", NULL, "[ARITHMETIC_OVERFLOW]",
            "22003");
    type_is(e, "SELECT d * d * d FROM zb WHERE id = 4", "DECIMAL(38,6)");
    t_rows(e, "SELECT d * d FROM zb WHERE id = 1", "[[\"9999999999999999980000000000.00000001\"]]");
    t_close(e, dir);
}

static void test_emu_engine_ansi_casts(void)
{
    char dir[512];
    emu_engine_t *e = t_open("emu_cast", NULL, dir);

    DP_ASSERT_FATAL_MSG(e != NULL, "engine open");
    t_ok(e, "CREATE TABLE c (ts TIMESTAMP, b BOOLEAN, n BIGINT, x DOUBLE, s STRING)");
    t_ok(e, "INSERT INTO c VALUES ('2026-11-24 06:41:55.120000', true, 3000000000, 2.5, ' 42 ')");
    t_rows(e,
           "SELECT CAST(ts AS STRING), CAST(b AS STRING), CAST(n AS STRING), CAST(x AS STRING), "
           "CAST(s AS INT), CAST(ts AS DATE), CAST('2026-01-02' AS TIMESTAMP) FROM c",
           "[[\"2026-11-24 06:41:55.12\",\"true\",\"3000000000\",\"2.5\",\"42\",\"2026-11-24\","
           "\"2026-01-02T00:00:00.000000Z\"]]");
    t_fails(e, NULL, "SELECT CAST(n AS INT) FROM c", NULL,
            "[CAST_OVERFLOW] The value 3000000000L of the type \"BIGINT\" cannot be cast to "
            "\"INT\" due to an overflow.",
            "22003");
    t_fails(e, NULL, "SELECT CAST('abc' AS BIGINT)", NULL,
            "[CAST_INVALID_INPUT] The value 'abc' of the type \"STRING\" cannot be cast to "
            "\"BIGINT\" because it is malformed.",
            "22018");
    t_fails(e, NULL, "SELECT CAST('x' AS DECIMAL(10,2))", NULL, "[CAST_INVALID_INPUT]", "22018");
    t_fails(e, NULL, "SELECT CAST('2026-13-01' AS TIMESTAMP)", NULL, "[CAST_INVALID_INPUT]",
            "22018");
    t_rows(e,
           "SELECT try_cast(n AS INT), try_cast('abc' AS BIGINT), try_cast('yes' AS BOOLEAN), "
           "CAST(x AS INT), n :: STRING FROM c",
           "[[null,null,\"true\",\"2\",\"3000000000\"]]");
    /* division: '/' is a DOUBLE, div an integer; ANSI division by zero */
    t_rows(e, "SELECT 7 / 2, 7 div 2, -7 div 2, 7 % 3", "[[\"3.5\",\"3\",\"-3\",\"1\"]]");
    t_fails(e, NULL, "SELECT 1 / 0", NULL, "[DIVIDE_BY_ZERO]", "22012");
    /* a string compared with a timestamp is read as one */
    t_rows(e, "SELECT count(*) FROM c WHERE ts > '2026-11-24 06:00' AND ts < '2026-11-25'",
           "[[\"1\"]]");
    t_rows(e, "SELECT count(*) FROM c WHERE n = '3000000000' AND b = 'true'", "[[\"1\"]]");
    t_close(e, dir);
}

static const dp_test_case_t k_cases[] = {
    {"test_emu_engine_decimal_round_trip_exact", test_emu_engine_decimal_round_trip_exact},
    {"test_emu_engine_decimal_arithmetic_and_aggregates",
     test_emu_engine_decimal_arithmetic_and_aggregates},
    {"test_emu_engine_ansi_casts", test_emu_engine_ansi_casts},
    {NULL, NULL}};

static const dp_test_suite_t k_suites[] = {{"emu_engine_decimal", NULL, NULL, k_cases},
                                           {NULL, NULL, NULL, NULL}};

int main(int argc, char **argv)
{
    return dp_test_main(argc, argv, k_suites);
}
