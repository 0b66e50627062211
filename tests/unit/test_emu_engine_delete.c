/*
 * Unit tests of the emulator engine's DELETE: the result row Delta gives (num_affected_rows),
 * WHERE with plain conditions, with (a, b, c) IN (SELECT a, b, c FROM u) and with a correlated
 * EXISTS (SELECT 1 FROM u WHERE u.a = t.a AND ...) through the table's name or its alias,
 * over a view as the subquery's source, parameters, the privileges, and the backfill pattern
 * (delete from a shared table what another table already holds).
 */
#define _POSIX_C_SOURCE 200809L
#include "dp_test.h"
#include "test_emu_engine_support.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static void setup_lineage(emu_engine_t *e)
{
    t_ok(e, "CREATE TABLE shared (inc STRING, topic STRING, kp INT, ko BIGINT, name STRING)");
    t_ok(e, "CREATE TABLE own (inc STRING, topic STRING, kp INT, ko BIGINT, name STRING)");
    t_ok(e, "INSERT INTO shared VALUES ('i1', 't', 0, 1, 'purchase'), ('i1', 't', 0, 2, 'view'), "
            "('i1', 't', 1, 1, 'purchase'), ('i2', 't', 0, 1, 'purchase'), "
            "('i1', 't', 1, 2, 'purchase')");
    /* own holds three of the four purchases (i2's offset 0/1 reuses i1's position) */
    t_ok(e, "INSERT INTO own VALUES ('i1', 't', 0, 1, 'purchase'), ('i1', 't', 1, 1, 'purchase'), "
            "('i1', 't', 1, 2, 'purchase')");
}

static void test_emu_engine_delete_result_and_where(void)
{
    char dir[512];
    emu_engine_t *e = t_open("emu_del", NULL, dir);
    emu_result_t res;
    int rc;

    DP_ASSERT_FATAL_MSG(e != NULL, "engine open");
    setup_lineage(e);
    rc = t_exec(e, NULL, "DELETE FROM shared WHERE name = 'view'", NULL, &res);
    DP_ASSERT_MSG(rc == 0 && t_nrows(&res) == 1 && strcmp(t_cell(&res, 0, 0), "1") == 0 &&
                      strcmp(t_colinfo(&res, 0, "name"), "num_affected_rows") == 0 &&
                      strcmp(t_colinfo(&res, 0, "type_text"), "BIGINT") == 0 &&
                      json_array_size(res.columns) == 1,
                  "expected one num_affected_rows BIGINT = 1, got rc %d %s %s '%s'", rc,
                  t_cell(&res, 0, 0), t_colinfo(&res, 0, "name"), res.message);
    emu_result_clear(&res);
    t_rows(e, "DELETE FROM shared WHERE name = 'nothing'", "[[\"0\"]]");
    t_rows_p(e, "DELETE FROM shared WHERE inc = :inc AND ko > CAST(:o AS BIGINT);",
             "[{\"name\":\"inc\",\"value\":\"i1\"},{\"name\":\"o\",\"value\":\"1\"}]", "[[\"1\"]]");
    t_rows(e, "SELECT count(*) FROM shared", "[[\"3\"]]");
    t_rows(e, "DELETE FROM shared", "[[\"3\"]]");
    t_rows(e, "SELECT count(*) FROM shared", "[[\"0\"]]");
    t_fails(e, NULL, "DELETE FROM nope WHERE a = 1", NULL, "[TABLE_OR_VIEW_NOT_FOUND]", "42P01");
    t_fails(e, NULL, "DELETE shared", NULL, "[PARSE_SYNTAX_ERROR]", "42601");
    t_fails(e, NULL, "DELETE FROM own WHERE nope = 1", NULL, "[UNRESOLVED_COLUMN", "42703");
    t_fails(e, NULL, "DELETE FROM own WHERE ROW_NUMBER() OVER (ORDER BY ko) = 1", NULL,
            "[UNSUPPORTED_EXPR_FOR_OPERATOR]", "42K0E");
    t_close(e, dir);
}

static void test_emu_engine_delete_in_and_exists_subqueries(void)
{
    char dir[512];
    emu_engine_t *e = t_open("emu_del_sub", NULL, dir);

    DP_ASSERT_FATAL_MSG(e != NULL, "engine open");
    setup_lineage(e);
    /* the row form of IN: only (inc, topic, kp, ko) held by own go */
    t_rows(e,
           "DELETE FROM shared WHERE name = 'purchase' AND (inc, topic, kp, ko) IN "
           "(SELECT inc, topic, kp, ko FROM own)",
           "[[\"3\"]]");
    t_rows(e, "SELECT inc, kp, ko, name FROM shared ORDER BY inc, kp, ko",
           "[[\"i1\",\"0\",\"2\",\"view\"],[\"i2\",\"0\",\"1\",\"purchase\"]]");
    /* a rerun deletes nothing (idempotent) */
    t_rows(e,
           "DELETE FROM shared WHERE (inc, topic, kp, ko) IN (SELECT inc, topic, kp, ko FROM "
           "own)",
           "[[\"0\"]]");
    t_fails(e, NULL, "DELETE FROM shared WHERE (inc, kp) IN (SELECT inc FROM own)", NULL,
            "[DATATYPE_MISMATCH.IN_SUBQUERY_LENGTH_MISMATCH]", "42K09");
    t_close(e, dir);

    e = t_open("emu_del_exists", NULL, dir);
    DP_ASSERT_FATAL_MSG(e != NULL, "engine open");
    setup_lineage(e);
    /* correlated EXISTS through an alias, and through the table's own name */
    t_rows(e,
           "DELETE FROM shared AS s WHERE EXISTS (SELECT 1 FROM own o WHERE o.inc = s.inc AND "
           "o.topic = s.topic AND o.kp = s.kp AND o.ko = s.ko AND s.kp = 0)",
           "[[\"1\"]]");
    t_rows(e,
           "DELETE FROM shared WHERE NOT EXISTS (SELECT 1 FROM own WHERE own.inc = shared.inc "
           "AND own.kp = shared.kp AND own.ko = shared.ko) AND name = 'view'",
           "[[\"1\"]]");
    t_rows(e,
           "DELETE FROM shared WHERE EXISTS (SELECT 1 FROM own WHERE own.inc = shared.inc AND "
           "own.kp = shared.kp AND own.ko = shared.ko)",
           "[[\"2\"]]");
    t_rows(e, "SELECT inc, kp, ko FROM shared", "[[\"i2\",\"0\",\"1\"]]");
    /* the subquery may read a view */
    t_ok(e, "CREATE VIEW own_v AS SELECT inc, kp, ko FROM own WHERE kp = 0");
    t_ok(e, "INSERT INTO own VALUES ('i2', 't', 0, 1, 'purchase')");
    t_rows(e, "DELETE FROM shared WHERE (inc, kp, ko) IN (SELECT inc, kp, ko FROM own_v)",
           "[[\"1\"]]");
    t_close(e, dir);
}

static const char k_perms[] =
    "{\"grants\":["
    "{\"principal\":\"account users\",\"privileges\":[\"USE CATALOG\"],\"on\":\"CATALOG main\"},"
    "{\"principal\":\"account users\",\"privileges\":[\"USE SCHEMA\"],"
    "\"on\":\"SCHEMA main.default\"},"
    "{\"principal\":\"w\",\"privileges\":[\"SELECT\",\"MODIFY\"],\"on\":\"TABLE "
    "main.default.shared\"},"
    "{\"principal\":\"r\",\"privileges\":[\"SELECT\"],\"on\":\"TABLE main.default.shared\"}"
    "]}";

static void test_emu_engine_delete_grants(void)
{
    char dir[512];
    emu_engine_t *e = t_open("emu_del_perm", k_perms, dir);

    DP_ASSERT_FATAL_MSG(e != NULL, "engine open");
    setup_lineage(e);
    t_fails(e, "r", "DELETE FROM shared WHERE kp = 9", NULL,
            "[INSUFFICIENT_PERMISSIONS] Insufficient privileges:\nUser does not have MODIFY on "
            "Table 'main.default.shared'.",
            "42501");
    t_ok_as(e, "w", "DELETE FROM shared WHERE kp = 9");
    /* reading another table in the condition needs SELECT on it */
    t_fails(e, "w", "DELETE FROM shared WHERE ko IN (SELECT ko FROM own)", NULL,
            "[INSUFFICIENT_PERMISSIONS] Insufficient privileges:\nUser does not have SELECT on "
            "Table 'main.default.own'.",
            "42501");
    t_rows(e, "SELECT count(*) FROM shared", "[[\"5\"]]");
    t_close(e, dir);
}

static const dp_test_case_t k_cases[] = {
    {"test_emu_engine_delete_result_and_where", test_emu_engine_delete_result_and_where},
    {"test_emu_engine_delete_in_and_exists_subqueries",
     test_emu_engine_delete_in_and_exists_subqueries},
    {"test_emu_engine_delete_grants", test_emu_engine_delete_grants},
    {NULL, NULL}};

static const dp_test_suite_t k_suites[] = {{"emu_engine_delete", NULL, NULL, k_cases},
                                           {NULL, NULL, NULL, NULL}};

int main(int argc, char **argv)
{
    return dp_test_main(argc, argv, k_suites);
}
