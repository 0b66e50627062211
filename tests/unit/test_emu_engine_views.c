/*
 * Unit tests of the emulator engine's views: CREATE [OR REPLACE] VIEW [IF NOT EXISTS] with and
 * without a column list, SELECT from a view (WHERE / GROUP BY on top, views over views), SHOW
 * TABLES / SHOW VIEWS / DESCRIBE, the errors Databricks gives for table statements on a view
 * and view statements on a table, a view over a dropped table failing when it is read, the
 * view resolved in the schema it was created in, and the grants simplification (SELECT on the
 * tables a view reads is what reading it needs).
 */
#define _POSIX_C_SOURCE 200809L
#include "dp_test.h"
#include "test_emu_engine_support.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static void setup_raw(emu_engine_t *e)
{
    t_ok(e, "CREATE TABLE raw (id BIGINT NOT NULL, k STRING, v BIGINT, p INT) USING DELTA");
    t_ok(e, "INSERT INTO raw VALUES (1, 'a', 10, 1), (2, 'a', 20, 0), (3, 'b', 30, 1), "
            "(4, 'b', 40, 1), (5, NULL, 50, 1)");
}

static void test_emu_engine_view_create_select_replace(void)
{
    char dir[512];
    emu_engine_t *e = t_open("emu_view", NULL, dir);

    DP_ASSERT_FATAL_MSG(e != NULL, "engine open");
    setup_raw(e);
    t_ok(e, "CREATE VIEW v AS SELECT id, k, v FROM raw WHERE p > 0");
    t_rows(e, "SELECT * FROM v ORDER BY id",
           "[[\"1\",\"a\",\"10\"],[\"3\",\"b\",\"30\"],[\"4\",\"b\",\"40\"],[\"5\",null,\"50\"]]");
    /* WHERE / GROUP BY / ORDER BY over the view, with its own alias */
    t_rows(e,
           "SELECT x.k, count(*) AS n, sum(x.v) FROM v AS x WHERE x.v > 10 GROUP BY x.k "
           "ORDER BY x.k",
           "[[null,\"1\",\"50\"],[\"b\",\"2\",\"70\"]]");
    /* a column list renames by position; a view over a view */
    t_ok(e, "CREATE VIEW v2 (a, b COMMENT 'the key') COMMENT 'renamed' AS SELECT id, k FROM raw");
    t_rows(e, "SELECT a FROM v2 WHERE b = 'a' ORDER BY a", "[[\"1\"],[\"2\"]]");
    t_ok(e, "CREATE VIEW vv AS SELECT id, v * 2 AS v2 FROM v WHERE id > 1");
    t_rows(e, "SELECT * FROM vv ORDER BY id", "[[\"3\",\"60\"],[\"4\",\"80\"],[\"5\",\"100\"]]");
    /* existing names: as Databricks answers */
    t_fails(e, NULL, "CREATE VIEW v AS SELECT id FROM raw", NULL, "[TABLE_OR_VIEW_ALREADY_EXISTS]",
            "42P07");
    t_ok(e, "CREATE VIEW IF NOT EXISTS v AS SELECT id FROM raw");
    t_rows(e, "SELECT count(*) FROM v", "[[\"4\"]]");
    t_ok(e, "CREATE OR REPLACE VIEW v AS SELECT id, k, v FROM raw WHERE p = 0");
    t_rows(e, "SELECT * FROM v", "[[\"2\",\"a\",\"20\"]]");
    t_fails(e, NULL, "CREATE OR REPLACE VIEW raw AS SELECT 1 AS one", NULL,
            "[EXPECT_VIEW_NOT_TABLE.NO_ALTERNATIVE] The table `main`.`default`.`raw` does not "
            "support CREATE OR REPLACE VIEW.",
            "42809");
    t_fails(e, NULL, "CREATE TABLE v (a INT)", NULL, "[TABLE_OR_VIEW_ALREADY_EXISTS]", "42P07");
    t_fails(e, NULL, "CREATE OR REPLACE VIEW IF NOT EXISTS v AS SELECT 1 AS one", NULL,
            "[PARSE_SYNTAX_ERROR]", "42601");
    /* the query is checked at creation */
    t_fails(e, NULL, "CREATE VIEW bad AS SELECT nope FROM raw", NULL,
            "[UNRESOLVED_COLUMN.WITHOUT_SUGGESTION]", "42703");
    t_fails(e, NULL, "CREATE VIEW bad AS SELECT id FROM missing", NULL, "[TABLE_OR_VIEW_NOT_FOUND]",
            "42P01");
    t_fails(e, NULL, "CREATE VIEW bad (a) AS SELECT id, k FROM raw", NULL,
            "[CREATE_VIEW_COLUMN_ARITY_MISMATCH.TOO_MANY_DATA_COLUMNS]", "21S01");
    t_fails(e, NULL, "CREATE VIEW bad AS SELECT id, k AS id FROM raw", NULL,
            "[COLUMN_ALREADY_EXISTS] The column `id` already exists.", "42711");
    t_fails(e, NULL, "CREATE VIEW bad AS SELECT id FROM raw WHERE id = :id",
            "[{\"name\":\"id\",\"value\":\"1\"}]",
            "[UNSUPPORTED_FEATURE.PARAMETER_MARKER_IN_UNEXPECTED_STATEMENT]", "0A000");
    t_fails(e, NULL, "CREATE VIEW bad AS SELECT count(*) FROM raw", NULL,
            "[CREATE_PERMANENT_VIEW_WITHOUT_ALIAS]", NULL);
    t_fails(e, NULL, "CREATE OR REPLACE VIEW v AS SELECT * FROM v", NULL, "[RECURSIVE_VIEW]",
            "42K0H");
    t_fails(e, NULL, "CREATE TEMPORARY VIEW tv AS SELECT 1 AS one", NULL, "[UNSUPPORTED_FEATURE]",
            "0A000");
    t_rows(e, "SELECT * FROM v", "[[\"2\",\"a\",\"20\"]]");
    t_close(e, dir);
}

static void test_emu_engine_view_show_describe_and_wrong_statements(void)
{
    char dir[512];
    emu_engine_t *e = t_open("emu_view_meta", NULL, dir);
    emu_result_t res;
    int rc;

    DP_ASSERT_FATAL_MSG(e != NULL, "engine open");
    setup_raw(e);
    t_ok(e, "CREATE VIEW v (id COMMENT 'x', key) AS SELECT id, k FROM raw");
    t_ok(e, "CREATE VIEW w AS SELECT CAST(v AS DECIMAL(18,4)) AS amount, p = 1 AS on_, "
            "ROW_NUMBER() OVER (PARTITION BY k ORDER BY id) AS rn FROM raw");
    t_rows(e, "SHOW TABLES",
           "[[\"default\",\"raw\",\"false\"],[\"default\",\"v\",\"false\"],"
           "[\"default\",\"w\",\"false\"]]");
    rc = t_exec(e, NULL, "SHOW TABLES IN main.default", NULL, &res);
    DP_ASSERT_MSG(rc == 0 && strcmp(t_colinfo(&res, 2, "name"), "isTemporary") == 0 &&
                      strcmp(t_colinfo(&res, 2, "type_name"), "BOOLEAN") == 0,
                  "expected SHOW TABLES' isTemporary BOOLEAN column, got rc %d %s %s", rc,
                  t_colinfo(&res, 2, "name"), t_colinfo(&res, 2, "type_name"));
    emu_result_clear(&res);
    t_rows(e, "SHOW VIEWS", "[[\"default\",\"v\",\"false\"],[\"default\",\"w\",\"false\"]]");
    t_rows(e, "DESCRIBE TABLE v", "[[\"id\",\"bigint\",null],[\"key\",\"string\",null]]");
    t_rows(e, "DESCRIBE w",
           "[[\"amount\",\"decimal(18,4)\",null],[\"on_\",\"boolean\",null],"
           "[\"rn\",\"int\",null]]");
    rc = t_exec(e, NULL, "SELECT * FROM w ORDER BY amount", NULL, &res);
    DP_ASSERT_MSG(rc == 0 && t_nrows(&res) == 5 && strcmp(t_cell(&res, 0, 0), "10.0000") == 0 &&
                      strcmp(t_cell(&res, 1, 1), "false") == 0 &&
                      strcmp(t_colinfo(&res, 0, "type_text"), "DECIMAL(18,4)") == 0 &&
                      strcmp(t_colinfo(&res, 2, "type_name"), "INT") == 0,
                  "expected the view's typed columns, got rc %d %zu %s %s %s %s '%s'", rc,
                  t_nrows(&res), t_cell(&res, 0, 0), t_cell(&res, 1, 1),
                  t_colinfo(&res, 0, "type_text"), t_colinfo(&res, 2, "type_name"), res.message);
    emu_result_clear(&res);
    /* table statements on a view, view statements on a table */
    t_fails(e, NULL, "DESCRIBE DETAIL v", NULL,
            "[EXPECT_TABLE_NOT_VIEW.NO_ALTERNATIVE] 'DESCRIBE DETAIL' expects a table but "
            "`main`.`default`.`v` is a view.",
            "42809");
    t_fails(e, NULL, "INSERT INTO v VALUES (9, 'z')", NULL,
            "[EXPECT_TABLE_NOT_VIEW.NO_ALTERNATIVE] 'INSERT INTO'", "42809");
    t_fails(e, NULL, "DELETE FROM v WHERE id = 1", NULL,
            "[EXPECT_TABLE_NOT_VIEW.NO_ALTERNATIVE] 'DELETE'", "42809");
    t_fails(e, NULL,
            "MERGE INTO v USING (VALUES (1)) AS s(id) ON v.id = s.id WHEN NOT MATCHED "
            "THEN INSERT *",
            NULL, "[EXPECT_TABLE_NOT_VIEW.NO_ALTERNATIVE] 'MERGE INTO'", "42809");
    t_fails(e, NULL, "ALTER TABLE v ADD COLUMNS (z INT)", NULL,
            "[EXPECT_TABLE_NOT_VIEW.USE_ALTER_VIEW]", "42809");
    t_fails(e, NULL, "DROP TABLE v", NULL,
            "[DROP_COMMAND_TYPE_MISMATCH] Cannot drop a view with DROP TABLE. Use DROP VIEW "
            "instead.",
            "42809");
    t_fails(e, NULL, "DROP VIEW raw", NULL,
            "[DROP_COMMAND_TYPE_MISMATCH] Cannot drop a table with DROP VIEW. Use DROP TABLE "
            "instead.",
            "42809");
    /* DROP VIEW, IF EXISTS, and a dropped view is gone from SHOW TABLES */
    t_ok(e, "DROP VIEW w");
    t_ok(e, "DROP VIEW IF EXISTS w");
    t_ok(e, "DROP VIEW IF EXISTS nosuch.w");
    t_fails(e, NULL, "DROP VIEW w", NULL, "[TABLE_OR_VIEW_NOT_FOUND]", "42P01");
    t_rows(e, "SHOW TABLES", "[[\"default\",\"raw\",\"false\"],[\"default\",\"v\",\"false\"]]");
    /* a schema with a view in it is not empty */
    t_ok(e, "CREATE SCHEMA s2");
    t_ok(e, "CREATE VIEW s2.v AS SELECT 1 AS one");
    t_fails(e, NULL, "DROP SCHEMA s2", NULL, "[SCHEMA_NOT_EMPTY]", NULL);
    t_ok(e, "DROP VIEW s2.v");
    t_ok(e, "DROP SCHEMA s2");
    t_close(e, dir);
}

static void test_emu_engine_view_over_dropped_table_and_its_schema(void)
{
    char dir[512];
    emu_engine_t *e = t_open("emu_view_drop", NULL, dir);
    emu_result_t res;
    int rc;

    DP_ASSERT_FATAL_MSG(e != NULL, "engine open");
    setup_raw(e);
    t_ok(e, "CREATE VIEW v AS SELECT id, v FROM raw");
    t_ok(e, "CREATE VIEW vv AS SELECT id FROM v");
    /* names inside the view resolve in the schema it was created in, not the reader's */
    t_ok(e, "CREATE SCHEMA other");
    t_ok(e, "CREATE TABLE other.raw (id BIGINT)");
    memset(&res, 0, sizeof(res));
    rc = emu_engine_execute(e, "admin", "main", "other", "SELECT count(*) FROM default.vv", NULL,
                            &res);
    DP_ASSERT_MSG(rc == 0 && strcmp(t_cell(&res, 0, 0), "5") == 0,
                  "expected the view to read main.default.raw from schema other, got rc %d %s "
                  "'%s'",
                  rc, t_cell(&res, 0, 0), res.message);
    emu_result_clear(&res);
    /* a new column of the table does not change the view's columns */
    t_ok(e, "ALTER TABLE raw ADD COLUMNS (extra STRING)");
    t_rows(e, "SELECT * FROM v WHERE id = 1", "[[\"1\",\"10\"]]");
    t_ok(e, "DROP TABLE raw");
    t_fails(e, NULL, "SELECT * FROM v", NULL,
            "[TABLE_OR_VIEW_NOT_FOUND] The table or view `main`.`default`.`raw` cannot be found.",
            "42P01");
    t_fails(e, NULL, "SELECT * FROM vv", NULL,
            "[TABLE_OR_VIEW_NOT_FOUND] The table or view `main`.`default`.`raw`", "42P01");
    /* a re-created table with fewer columns: the view's schema no longer fits */
    t_ok(e, "CREATE TABLE raw (id BIGINT)");
    t_fails(e, NULL, "SELECT * FROM v", NULL, "[UNRESOLVED_COLUMN.WITHOUT_SUGGESTION]", "42703");
    t_ok(e, "CREATE OR REPLACE VIEW v AS SELECT id, id + 1 AS v FROM raw");
    t_ok(e, "INSERT INTO raw VALUES (7)");
    t_rows(e, "SELECT * FROM vv", "[[\"7\"]]");
    t_close(e, dir);
}

static const char k_perms[] =
    "{\"grants\":["
    "{\"principal\":\"account users\",\"privileges\":[\"USE CATALOG\"],\"on\":\"CATALOG main\"},"
    "{\"principal\":\"account users\",\"privileges\":[\"USE SCHEMA\"],"
    "\"on\":\"SCHEMA main.default\"},"
    "{\"principal\":\"reader\",\"privileges\":[\"SELECT\"],\"on\":\"TABLE main.default.raw\"},"
    "{\"principal\":\"maker\",\"privileges\":[\"CREATE TABLE\"],\"on\":\"SCHEMA main.default\"}"
    "]}";

static void test_emu_engine_view_grants(void)
{
    char dir[512];
    emu_engine_t *e = t_open("emu_view_perm", k_perms, dir);

    DP_ASSERT_FATAL_MSG(e != NULL, "engine open");
    setup_raw(e);
    t_ok(e, "CREATE VIEW v AS SELECT id FROM raw WHERE p = 1");
    /* SELECT on the table the view reads is enough (the emulator's simplification) */
    t_ok_as(e, "reader", "SELECT count(*) FROM v");
    t_ok_as(e, "reader", "DESCRIBE TABLE v");
    t_fails(e, "nobody", "SELECT count(*) FROM v", NULL,
            "[INSUFFICIENT_PERMISSIONS] Insufficient privileges:\nUser does not have SELECT on "
            "Table 'main.default.raw'.",
            "42501");
    /* creating a view needs CREATE TABLE on the schema and SELECT on what it reads */
    t_fails(e, "reader", "CREATE VIEW r2 AS SELECT id FROM raw", NULL, "[INSUFFICIENT_PERMISSIONS]",
            "42501");
    t_fails(e, "maker", "CREATE VIEW m2 AS SELECT id FROM raw", NULL,
            "[INSUFFICIENT_PERMISSIONS] Insufficient privileges:\nUser does not have SELECT on "
            "Table 'main.default.raw'.",
            "42501");
    t_ok_as(e, "maker", "CREATE VIEW m3 AS SELECT 1 AS one");
    /* dropping needs ownership (or MANAGE) */
    t_fails(e, "reader", "DROP VIEW v", NULL, "[INSUFFICIENT_PERMISSIONS]", "42501");
    t_ok_as(e, "maker", "DROP VIEW m3");
    t_close(e, dir);
}

static const dp_test_case_t k_cases[] = {
    {"test_emu_engine_view_create_select_replace", test_emu_engine_view_create_select_replace},
    {"test_emu_engine_view_show_describe_and_wrong_statements",
     test_emu_engine_view_show_describe_and_wrong_statements},
    {"test_emu_engine_view_over_dropped_table_and_its_schema",
     test_emu_engine_view_over_dropped_table_and_its_schema},
    {"test_emu_engine_view_grants", test_emu_engine_view_grants},
    {NULL, NULL}};

static const dp_test_suite_t k_suites[] = {{"emu_engine_views", NULL, NULL, k_cases},
                                           {NULL, NULL, NULL, NULL}};

int main(int argc, char **argv)
{
    return dp_test_main(argc, argv, k_suites);
}
