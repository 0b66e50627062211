/*
 * Unit tests of the emulator engine's INSERT, SELECT and grants: parameters,
 * value formatting, aggregates, errors in Databricks' words, privileges with
 * inheritance and ownership.
 */
#define _POSIX_C_SOURCE 200809L
#include "dp_test.h"
#include "test_emu_engine_support.h"

#include <stdio.h>
#include <string.h>

static int fails_with(emu_engine_t *e, const char *principal, const char *sql, const char *params,
                      const char *prefix, const char *state)
{
    emu_result_t res;
    int rc = t_exec(e, principal, sql, params, &res), ok;

    ok = rc == -1 && strncmp(res.message, prefix, strlen(prefix)) == 0 &&
         (state == NULL || strcmp(res.sql_state, state) == 0);
    DP_ASSERT_MSG(ok, "expected '%s...' (%s) for %s, got rc %d '%s' (%s)", prefix,
                  state != NULL ? state : "-", sql, rc, res.message, res.sql_state);
    emu_result_clear(&res);
    return ok;
}

static void setup_orders(emu_engine_t *e)
{
    emu_result_t res;
    int rc;

    t_ok(e, "CREATE TABLE orders (id BIGINT NOT NULL, merchant STRING, value DECIMAL(18,4), "
            "at TIMESTAMP, paid BOOLEAN, ctx STRUCT<ip: STRING>) USING DELTA COMMENT 'o'");
    rc = t_exec(e, NULL,
                "INSERT INTO orders VALUES (1, 'm1', 10.5, '2026-11-24 06:41:55.123456', true, "
                "'{\"ip\":\"10.0.0.1\"}'), (:id, :m, :v, :at, :paid, NULL)",
                "[{\"name\":\"id\",\"value\":\"2\"},{\"name\":\"m\",\"value\":\"m1\"},"
                "{\"name\":\"v\",\"value\":\"0.25\",\"type\":\"DECIMAL(18,4)\"},"
                "{\"name\":\"at\",\"value\":\"2026-01-01T00:00:00+01:00\",\"type\":\"TIMESTAMP\"},"
                "{\"name\":\"paid\",\"value\":\"false\"}]",
                &res);
    DP_ASSERT_MSG(rc == 0 && strcmp(t_cell(&res, 0, 1), "2") == 0,
                  "expected 2 inserted rows, got rc %d '%s' %s", rc, res.message,
                  t_cell(&res, 0, 1));
    emu_result_clear(&res);
    t_ok(e, "INSERT INTO orders (merchant, id) VALUES ('m2', 3)");
}

static void test_emu_engine_insert_and_select_format_values(void)
{
    char dir[512];
    emu_engine_t *e = t_open("emu_sel", NULL, dir);
    emu_result_t res;
    int rc;

    DP_ASSERT_FATAL_MSG(e != NULL, "engine open");
    setup_orders(e);
    rc = t_exec(e, NULL,
                "SELECT id, value, at, paid, ctx.ip, ctx FROM orders WHERE id <= :n "
                "ORDER BY id",
                "[{\"name\":\"n\",\"value\":\"2\",\"type\":\"INT\"}]", &res);
    DP_ASSERT_FATAL_MSG(rc == 0 && t_nrows(&res) == 2, "expected 2 rows, got rc %d %zu '%s'", rc,
                        t_nrows(&res), res.message);
    DP_ASSERT_MSG(strcmp(t_cell(&res, 0, 1), "10.5000") == 0 &&
                      strcmp(t_cell(&res, 0, 2), "2026-11-24T06:41:55.123456Z") == 0 &&
                      strcmp(t_cell(&res, 0, 3), "true") == 0 &&
                      strcmp(t_cell(&res, 0, 4), "10.0.0.1") == 0 &&
                      strcmp(t_cell(&res, 0, 5), "{\"ip\":\"10.0.0.1\"}") == 0,
                  "unexpected row 0: %s %s %s %s %s", t_cell(&res, 0, 1), t_cell(&res, 0, 2),
                  t_cell(&res, 0, 3), t_cell(&res, 0, 4), t_cell(&res, 0, 5));
    DP_ASSERT_MSG(strcmp(t_cell(&res, 1, 1), "0.2500") == 0 &&
                      strcmp(t_cell(&res, 1, 2), "2025-12-31T23:00:00.000000Z") == 0 &&
                      strcmp(t_cell(&res, 1, 3), "false") == 0 &&
                      strcmp(t_cell(&res, 1, 5), "NULL") == 0,
                  "unexpected row 1: %s %s %s %s", t_cell(&res, 1, 1), t_cell(&res, 1, 2),
                  t_cell(&res, 1, 3), t_cell(&res, 1, 5));
    DP_ASSERT_MSG(strcmp(t_colinfo(&res, 0, "type_name"), "LONG") == 0 &&
                      strcmp(t_colinfo(&res, 0, "type_text"), "BIGINT") == 0 &&
                      strcmp(t_colinfo(&res, 1, "type_text"), "DECIMAL(18,4)") == 0 &&
                      strcmp(t_colinfo(&res, 2, "type_name"), "TIMESTAMP") == 0,
                  "unexpected column types %s %s %s %s", t_colinfo(&res, 0, "type_name"),
                  t_colinfo(&res, 0, "type_text"), t_colinfo(&res, 1, "type_text"),
                  t_colinfo(&res, 2, "type_name"));
    emu_result_clear(&res);
    rc = t_exec(e, NULL,
                "SELECT merchant, COUNT(*), COUNT(DISTINCT id) AS n, SUM(value), "
                "MAX(at) FROM orders GROUP BY merchant HAVING COUNT(*) > 0 "
                "ORDER BY merchant DESC LIMIT 5",
                NULL, &res);
    DP_ASSERT_FATAL_MSG(rc == 0 && t_nrows(&res) == 2, "expected 2 groups, got rc %d %zu '%s'", rc,
                        t_nrows(&res), res.message);
    DP_ASSERT_MSG(strcmp(t_cell(&res, 0, 0), "m2") == 0 && strcmp(t_cell(&res, 1, 1), "2") == 0 &&
                      strcmp(t_cell(&res, 1, 3), "10.7500") == 0 &&
                      strcmp(t_cell(&res, 0, 3), "NULL") == 0 &&
                      strcmp(t_cell(&res, 1, 4), "2026-11-24T06:41:55.123456Z") == 0,
                  "unexpected groups: %s | %s %s %s", t_cell(&res, 0, 0), t_cell(&res, 1, 1),
                  t_cell(&res, 1, 3), t_cell(&res, 1, 4));
    DP_ASSERT_MSG(strcmp(t_colinfo(&res, 1, "name"), "count(1)") == 0 &&
                      strcmp(t_colinfo(&res, 2, "name"), "n") == 0 &&
                      strcmp(t_colinfo(&res, 3, "type_text"), "DECIMAL(28,4)") == 0,
                  "unexpected names/types: %s %s %s", t_colinfo(&res, 1, "name"),
                  t_colinfo(&res, 2, "name"), t_colinfo(&res, 3, "type_text"));
    emu_result_clear(&res);
    rc = t_exec(e, NULL, "SELECT 1, 'x', 2.5", NULL, &res);
    DP_ASSERT_MSG(rc == 0 && strcmp(t_cell(&res, 0, 0), "1") == 0 &&
                      strcmp(t_cell(&res, 0, 2), "2.5") == 0 &&
                      strcmp(t_colinfo(&res, 0, "type_name"), "INT") == 0,
                  "expected SELECT 1 to give '1' INT, got rc %d %s %s", rc, t_cell(&res, 0, 0),
                  t_colinfo(&res, 0, "type_name"));
    emu_result_clear(&res);
    t_close(e, dir);
}

static void test_emu_engine_sql_errors(void)
{
    char dir[512];
    emu_engine_t *e = t_open("emu_err", NULL, dir);

    DP_ASSERT_FATAL_MSG(e != NULL, "engine open");
    setup_orders(e);
    fails_with(e, NULL, "SELECT * FROM nope", NULL,
               "[TABLE_OR_VIEW_NOT_FOUND] The table or view `main`.`default`.`nope`", "42P01");
    fails_with(e, NULL, "SELECT * FROM other.nope", NULL, "[TABLE_OR_VIEW_NOT_FOUND]", "42P01");
    fails_with(e, NULL, "CREATE TABLE x.t (a INT)", NULL, "[SCHEMA_NOT_FOUND]", "42704");
    fails_with(e, NULL, "SELEC 1", NULL, "[PARSE_SYNTAX_ERROR] Syntax error at or near 'SELEC'",
               "42601");
    fails_with(e, NULL, "SELECT id FROM orders WHERE id = :missing", NULL,
               "[UNBOUND_SQL_PARAMETER]", "42P02");
    fails_with(e, NULL, "SELECT nope FROM orders", NULL, "[UNRESOLVED_COLUMN", "42703");
    fails_with(e, NULL, "CREATE TABLE orders (a INT)", NULL, "[TABLE_OR_VIEW_ALREADY_EXISTS]",
               "42P07");
    fails_with(e, NULL, "INSERT INTO orders (id) VALUES ('abc')", NULL, "[CAST_INVALID_INPUT]",
               "22018");
    fails_with(e, NULL, "INSERT INTO orders (merchant) VALUES ('x')", NULL,
               "[DELTA_NOT_NULL_CONSTRAINT_VIOLATED]", "23502");
    t_ok(e, "CREATE TABLE placeholder");
    fails_with(e, NULL, "INSERT INTO placeholder VALUES (1)", NULL, "[DELTA_SCHEMA_NOT_SET]",
               "KD008");
    t_ok(e, "ALTER TABLE placeholder ADD COLUMNS (a INT, b STRING)");
    t_ok(e, "INSERT INTO placeholder VALUES (1, 'b')");
    t_close(e, dir);
}

#define CLAIM_MERGE                                                                                \
    "MERGE INTO claims AS t USING (VALUES (:p, :w, CAST(:ts AS TIMESTAMP))) AS s(part, worker, "   \
    "at) ON t.part = s.part WHEN MATCHED AND t.worker <> s.worker THEN UPDATE SET worker = "       \
    "s.worker, at = s.at WHEN NOT MATCHED THEN INSERT (part, worker, at) VALUES (s.part, "         \
    "s.worker, s.at)"

static void expect_merge(emu_engine_t *e, const char *params, const char *aff, const char *upd,
                         const char *ins)
{
    emu_result_t res;
    int rc = t_exec(e, NULL, CLAIM_MERGE, params, &res);

    DP_ASSERT_MSG(rc == 0 && strcmp(t_cell(&res, 0, 0), aff) == 0 &&
                      strcmp(t_cell(&res, 0, 1), upd) == 0 && strcmp(t_cell(&res, 0, 3), ins) == 0,
                  "expected affected %s updated %s inserted %s, got rc %d '%s' [%s %s %s %s]", aff,
                  upd, ins, rc, res.message, t_cell(&res, 0, 0), t_cell(&res, 0, 1),
                  t_cell(&res, 0, 2), t_cell(&res, 0, 3));
    DP_ASSERT_MSG(strcmp(t_colinfo(&res, 2, "name"), "num_deleted_rows") == 0,
                  "expected num_deleted_rows, got %s", t_colinfo(&res, 2, "name"));
    emu_result_clear(&res);
}

static void test_emu_engine_merge_upserts_claims(void)
{
    char dir[512];
    emu_engine_t *e = t_open("emu_merge", NULL, dir);
    emu_result_t res;
    int rc;

    DP_ASSERT_FATAL_MSG(e != NULL, "engine open");
    t_ok(e, "CREATE TABLE claims (part STRING NOT NULL, worker STRING, at TIMESTAMP)");
    expect_merge(e,
                 "[{\"name\":\"p\",\"value\":\"orders-3\"},{\"name\":\"w\",\"value\":\"w1\"},"
                 "{\"name\":\"ts\",\"value\":\"2026-11-24T06:00:00Z\"}]",
                 "1", "0", "1");
    expect_merge(e,
                 "[{\"name\":\"p\",\"value\":\"orders-3\"},{\"name\":\"w\",\"value\":\"w2\"},"
                 "{\"name\":\"ts\",\"value\":\"2026-11-24T07:00:00Z\"}]",
                 "1", "1", "0");
    expect_merge(e,
                 "[{\"name\":\"p\",\"value\":\"orders-3\"},{\"name\":\"w\",\"value\":\"w2\"},"
                 "{\"name\":\"ts\",\"value\":\"2026-11-24T08:00:00Z\"}]",
                 "0", "0", "0");
    rc = t_exec(e, NULL, "SELECT part, worker, at FROM claims", NULL, &res);
    DP_ASSERT_MSG(rc == 0 && t_nrows(&res) == 1 && strcmp(t_cell(&res, 0, 1), "w2") == 0 &&
                      strcmp(t_cell(&res, 0, 2), "2026-11-24T07:00:00.000000Z") == 0,
                  "expected one claim by w2 at 07:00, got rc %d %zu rows %s %s", rc, t_nrows(&res),
                  t_cell(&res, 0, 1), t_cell(&res, 0, 2));
    emu_result_clear(&res);
    rc = t_exec(e, NULL,
                "MERGE INTO claims USING (VALUES ('a', 'w'), ('b', 'w')) AS s(part, "
                "worker) ON claims.part = s.part WHEN MATCHED THEN UPDATE SET * "
                "WHEN NOT MATCHED THEN INSERT *",
                NULL, &res);
    DP_ASSERT_MSG(rc == 0 && strcmp(t_cell(&res, 0, 3), "2") == 0,
                  "expected INSERT * of 2 rows, got rc %d '%s' %s", rc, res.message,
                  t_cell(&res, 0, 3));
    emu_result_clear(&res);
    /* Delta: two source rows matching one target row fail unless the MERGE has no matched
     * clause, or its only one is an unconditional DELETE (every pair deletes the same row) */
    fails_with(e, NULL,
               "MERGE INTO claims USING (VALUES ('a'), ('a')) AS s(part) ON "
               "claims.part = s.part WHEN MATCHED AND s.part = 'a' THEN DELETE",
               NULL, "[DELTA_MULTIPLE_SOURCE_ROW_MATCHING_TARGET_ROW_IN_MERGE]", "21506");
    fails_with(e, NULL,
               "MERGE INTO claims USING (VALUES ('a', 'x'), ('a', 'y')) AS s(part, "
               "worker) ON claims.part = s.part WHEN MATCHED THEN UPDATE SET *",
               NULL, "[DELTA_MULTIPLE_SOURCE_ROW_MATCHING_TARGET_ROW_IN_MERGE]", "21506");
    rc = t_exec(e, NULL,
                "MERGE INTO claims USING (VALUES ('b'), ('b'), ('z'), ('z')) AS s(part) "
                "ON claims.part = s.part WHEN NOT MATCHED THEN INSERT (part, worker) "
                "VALUES (s.part, 'dup')",
                NULL, &res);
    DP_ASSERT_MSG(rc == 0 && strcmp(t_cell(&res, 0, 3), "2") == 0,
                  "expected an insert-only MERGE to insert both unmatched duplicates, got rc %d "
                  "'%s' %s",
                  rc, res.message, t_cell(&res, 0, 3));
    emu_result_clear(&res);
    rc = t_exec(e, NULL,
                "MERGE INTO claims USING (VALUES ('a'), ('a')) AS s(part) ON "
                "claims.part = s.part WHEN MATCHED THEN DELETE",
                NULL, &res);
    DP_ASSERT_MSG(rc == 0 && strcmp(t_cell(&res, 0, 2), "1") == 0,
                  "expected one unconditional DELETE to delete the row matched twice once, got "
                  "rc %d '%s' %s",
                  rc, res.message, t_cell(&res, 0, 2));
    emu_result_clear(&res);
    t_ok(e, "CREATE TABLE empty_one");
    fails_with(e, NULL,
               "MERGE INTO empty_one USING (VALUES (1)) AS s(a) ON empty_one.a = s.a "
               "WHEN NOT MATCHED THEN INSERT *",
               NULL, "[DELTA_SCHEMA_NOT_SET]", "KD008");
    t_close(e, dir);
}

static const char k_perms[] =
    "{\"grants\":["
    "{\"principal\":\"sp-1\",\"privilege\":\"USE CATALOG\",\"on\":\"CATALOG main\"},"
    "{\"principal\":\"sp-1\",\"privileges\":[\"USE SCHEMA\",\"CREATE TABLE\",\"SELECT\"],"
    "\"on\":\"SCHEMA main.default\"},"
    "{\"principal\":\"sp-1\",\"privilege\":\"READ VOLUME\",\"on\":\"VOLUME main.default.stage\"},"
    "{\"principal\":\"sp-2\",\"privilege\":\"USE CATALOG\",\"on\":\"CATALOG main\"}]}";

static void test_emu_engine_grants_inheritance_and_owner(void)
{
    char dir[512], local[1024], msg[256];
    emu_engine_t *e = t_open("emu_grants", k_perms, dir);
    int rc;

    DP_ASSERT_FATAL_MSG(e != NULL, "engine open");
    t_ok(e, "CREATE VOLUME stage");
    t_ok(e, "CREATE TABLE orders (id BIGINT)");
    /* SELECT inherited from the schema; MODIFY not granted. */
    {
        emu_result_t res;
        rc = t_exec(e, "sp-1", "SELECT count(*) FROM orders", NULL, &res);
        DP_ASSERT_MSG(rc == 0, "expected SELECT through the schema grant, got '%s'", res.message);
        emu_result_clear(&res);
    }
    fails_with(e, "sp-1", "INSERT INTO orders VALUES (1)", NULL,
               "[INSUFFICIENT_PERMISSIONS] Insufficient privileges:\nUser does not have MODIFY on "
               "Table 'main.default.orders'.",
               "42501");
    fails_with(e, "sp-2", "SELECT * FROM orders", NULL,
               "[INSUFFICIENT_PERMISSIONS] Insufficient privileges:\nUser does not have USE SCHEMA "
               "on Schema 'main.default'.",
               "42501");
    fails_with(e, "sp-1", "CREATE VOLUME v2", NULL, "[INSUFFICIENT_PERMISSIONS]", "42501");
    fails_with(e, "sp-1", "CREATE SCHEMA s2", NULL, "[INSUFFICIENT_PERMISSIONS]", "42501");
    /* The creator owns its table: MODIFY without a grant. */
    {
        emu_result_t res;
        rc = t_exec(e, "sp-1", "CREATE TABLE mine (id BIGINT)", NULL, &res);
        DP_ASSERT_MSG(rc == 0, "expected CREATE TABLE through the grant, got '%s'", res.message);
        emu_result_clear(&res);
        rc = t_exec(e, "sp-1", "INSERT INTO mine VALUES (1)", NULL, &res);
        DP_ASSERT_MSG(rc == 0, "expected the owner to insert, got '%s'", res.message);
        emu_result_clear(&res);
    }
    rc = emu_engine_volume_path(e, "sp-1", "/Volumes/main/default/stage/f", EMU_VOLUME_READ, local,
                                sizeof(local), msg, sizeof(msg));
    DP_ASSERT_MSG(rc == 0, "expected READ VOLUME to be granted, got %d %s", rc, msg);
    rc = emu_engine_volume_path(e, "sp-1", "/Volumes/main/default/stage/f", EMU_VOLUME_WRITE, local,
                                sizeof(local), msg, sizeof(msg));
    DP_ASSERT_MSG(rc == -403 && strcmp(msg, "User does not have WRITE VOLUME on Volume "
                                            "'main.default.stage'.") == 0,
                  "expected -403 naming WRITE VOLUME, got %d '%s'", rc, msg);
    rc = emu_engine_volume_path(e, "admin", "/Volumes/main/default/stage/f", EMU_VOLUME_WRITE,
                                local, sizeof(local), msg, sizeof(msg));
    DP_ASSERT_MSG(rc == 0, "expected admin to write, got %d %s", rc, msg);
    t_close(e, dir);
}

static const dp_test_case_t k_cases[] = {
    {"test_emu_engine_insert_and_select_format_values",
     test_emu_engine_insert_and_select_format_values},
    {"test_emu_engine_sql_errors", test_emu_engine_sql_errors},
    {"test_emu_engine_merge_upserts_claims", test_emu_engine_merge_upserts_claims},
    {"test_emu_engine_grants_inheritance_and_owner", test_emu_engine_grants_inheritance_and_owner},
    {NULL, NULL}};

static const dp_test_suite_t k_suites[] = {{"emu_engine_sql", NULL, NULL, k_cases},
                                           {NULL, NULL, NULL, NULL}};

int main(int argc, char **argv)
{
    return dp_test_main(argc, argv, k_suites);
}
