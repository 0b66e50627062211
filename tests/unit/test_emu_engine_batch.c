/*
 * Unit tests of the emulator engine's SQL for batched bookkeeping: rows in one
 * JSON parameter through inline(from_json(...)) (Spark's PERMISSIVE typing),
 * as a SELECT and as a MERGE source with extra parameters in the select list,
 * and the max_by / min_by aggregates with WHERE parameters.
 */
#define _POSIX_C_SOURCE 200809L
#include "dp_test.h"
#include "test_emu_engine_support.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLAIM_SCHEMA "ARRAY<STRUCT<kpartition:INT,floor_offset:BIGINT,seen:STRING>>"

/* Runs sql with parameters built as {name: value} pairs (value NULL = SQL NULL). */
static int exec_params(emu_engine_t *e, const char *sql, emu_result_t *res, int n,
                       const char *const *names, const char *const *values)
{
    json_t *params = json_array();
    char *text;
    int k, rc;

    for (k = 0; k < n; k++) {
        json_array_append_new(params, json_pack("{s:s, s:o}", "name", names[k], "value",
                                                values[k] ? json_string(values[k]) : json_null()));
    }
    text = json_dumps(params, JSON_COMPACT);
    json_decref(params);
    rc = t_exec(e, NULL, sql, text, res);
    free(text);
    return rc;
}

static int rows_is(const emu_result_t *res, const char *want)
{
    char *got = json_dumps(res->rows, JSON_COMPACT);
    int ok = got != NULL && strcmp(got, want) == 0;

    DP_ASSERT_MSG(ok, "expected rows %s, got %s ('%s')", want, got ? got : "(none)", res->message);
    free(got);
    return ok;
}

static void test_emu_engine_inline_from_json_types_like_spark(void)
{
    static const char k_sql[] =
        "SELECT * FROM inline(from_json(:rows, 'ARRAY<STRUCT<kpartition:INT,floor_offset:BIGINT,"
        "seen:STRING, ok BOOLEAN, ratio: DOUBLE, at:TIMESTAMP>>')) AS r ORDER BY floor_offset";
    static const char *const names[] = {"rows"};
    const char *values[1];
    char dir[512];
    emu_engine_t *e = t_open("emu_inline", NULL, dir);
    emu_result_t res;
    int rc;

    DP_ASSERT_FATAL_MSG(e != NULL, "engine open");
    /* Right types; then every field of the wrong JSON type (NULL, a number read as
     * STRING gives its text, a number as TIMESTAMP is seconds); then a missing and a
     * differently-cased field. */
    values[0] = "[{\"kpartition\":1,\"floor_offset\":10,\"seen\":\"a\",\"ok\":true,\"ratio\":1.5,"
                "\"at\":\"2026-11-24T06:00:00Z\"},"
                "{\"kpartition\":\"2\",\"floor_offset\":20,\"seen\":5,\"ok\":\"yes\",\"ratio\":"
                "\"x\",\"at\":12},"
                "{\"KPARTITION\":3,\"floor_offset\":30,\"extra\":1},"
                "{\"kpartition\":4294967296,\"floor_offset\":1.5}]";
    rc = exec_params(e, k_sql, &res, 1, names, values);
    DP_ASSERT_MSG(rc == 0, "expected SUCCEEDED, got '%s'", res.message);
    /* INT overflow and a real for a BIGINT are NULL too (sorted first). */
    rows_is(&res, "[[null,null,null,null,null,null],"
                  "[\"1\",\"10\",\"a\",\"true\",\"1.5\",\"2026-11-24T06:00:00.000000Z\"],"
                  "[null,\"20\",\"5\",null,null,\"1970-01-01T00:00:12.000000Z\"],"
                  "[null,\"30\",null,null,null,null]]");
    DP_ASSERT_MSG(strcmp(t_colinfo(&res, 0, "name"), "kpartition") == 0 &&
                      strcmp(t_colinfo(&res, 0, "type_text"), "INT") == 0 &&
                      strcmp(t_colinfo(&res, 1, "type_text"), "BIGINT") == 0 &&
                      strcmp(t_colinfo(&res, 3, "type_text"), "BOOLEAN") == 0 &&
                      strcmp(t_colinfo(&res, 5, "name"), "at") == 0 &&
                      strcmp(t_colinfo(&res, 5, "type_text"), "TIMESTAMP") == 0,
                  "expected columns typed by the schema string, got %s %s %s %s %s %s",
                  t_colinfo(&res, 0, "name"), t_colinfo(&res, 0, "type_text"),
                  t_colinfo(&res, 1, "type_text"), t_colinfo(&res, 3, "type_text"),
                  t_colinfo(&res, 5, "name"), t_colinfo(&res, 5, "type_text"));
    emu_result_clear(&res);
    /* One object is a one-element array; an element that is not an object is a row of
     * NULLs; text that is not JSON and a NULL parameter give no rows. */
    values[0] = "{\"kpartition\":7,\"floor_offset\":70}";
    rc = exec_params(e, k_sql, &res, 1, names, values);
    rows_is(&res, "[[\"7\",\"70\",null,null,null,null]]");
    emu_result_clear(&res);
    values[0] = "[5, {\"kpartition\":8,\"floor_offset\":80}]";
    rc = exec_params(e, k_sql, &res, 1, names, values);
    rows_is(&res, "[[null,null,null,null,null,null],[\"8\",\"80\",null,null,null,null]]");
    emu_result_clear(&res);
    values[0] = "[{\"kpartition\":1";
    rc = exec_params(e, k_sql, &res, 1, names, values);
    DP_ASSERT_MSG(rc == 0, "expected malformed JSON to give no rows, got '%s'", res.message);
    rows_is(&res, "[]");
    emu_result_clear(&res);
    values[0] = NULL;
    rc = exec_params(e, k_sql, &res, 1, names, values);
    rows_is(&res, "[]");
    emu_result_clear(&res);
    /* A schema the emulator cannot read is refused, naming it. */
    values[0] = "[]";
    rc = exec_params(e, "SELECT * FROM inline(from_json(:rows, 'STRUCT<a:INT>'))", &res, 1, names,
                     values);
    DP_ASSERT_MSG(rc == -1 && strncmp(res.message, "[INVALID_SCHEMA.PARSE_ERROR] The input schema "
                                                   "\"STRUCT<a:INT>\"", 61) == 0,
                  "expected INVALID_SCHEMA.PARSE_ERROR naming the schema, got '%s'", res.message);
    emu_result_clear(&res);
    t_close(e, dir);
}

/* The select list mixes parameters, casts and qualified fields; WHERE filters. */
static void test_emu_engine_inline_select_with_parameters(void)
{
    static const char k_sql[] =
        "SELECT :inc AS incarnation, r.kpartition, CAST(:e AS BIGINT) AS epoch, seen "
        "FROM inline(from_json(:rows, '" CLAIM_SCHEMA "')) AS r "
        "WHERE r.kpartition >= CAST(:min AS INT) ORDER BY r.kpartition DESC";
    static const char *const names[] = {"inc", "e", "rows", "min"};
    static const char *const values[] = {
        "inc-1", "7", "[{\"kpartition\":1},{\"kpartition\":2,\"seen\":\"s\"},"
                      "{\"kpartition\":3}]", "2"};
    char dir[512];
    emu_engine_t *e = t_open("emu_inline2", NULL, dir);
    emu_result_t res;
    int rc;

    DP_ASSERT_FATAL_MSG(e != NULL, "engine open");
    rc = exec_params(e, k_sql, &res, 4, names, values);
    DP_ASSERT_MSG(rc == 0, "expected SUCCEEDED, got '%s'", res.message);
    rows_is(&res, "[[\"inc-1\",\"3\",\"7\",null],[\"inc-1\",\"2\",\"7\",\"s\"]]");
    DP_ASSERT_MSG(strcmp(t_colinfo(&res, 0, "name"), "incarnation") == 0 &&
                      strcmp(t_colinfo(&res, 1, "name"), "kpartition") == 0 &&
                      strcmp(t_colinfo(&res, 2, "name"), "epoch") == 0,
                  "expected incarnation, kpartition, epoch; got %s, %s, %s",
                  t_colinfo(&res, 0, "name"), t_colinfo(&res, 1, "name"),
                  t_colinfo(&res, 2, "name"));
    emu_result_clear(&res);
    t_close(e, dir);
}

#define CLAIM_MERGE_SQL                                                                            \
    "MERGE INTO claims AS t USING (SELECT :inc AS incarnation, :topic AS topic, r.kpartition, "    \
    "CAST(:e AS BIGINT) AS epoch, r.floor_offset, r.seen FROM inline(from_json(:rows, '"           \
    CLAIM_SCHEMA "')) AS r) AS s ON t.incarnation = s.incarnation AND t.topic = s.topic AND "      \
    "t.kpartition = s.kpartition WHEN MATCHED AND t.seen IS NULL THEN UPDATE SET epoch = "         \
    "s.epoch, seen = s.seen WHEN NOT MATCHED THEN INSERT (incarnation, topic, kpartition, epoch, " \
    "floor_offset, seen) VALUES (s.incarnation, s.topic, s.kpartition, s.epoch, s.floor_offset, "  \
    "s.seen)"

/* rows [first, first + n) as JSON; seen NULL or the given text. */
static char *claim_rows(int first, int n, const char *seen)
{
    json_t *a = json_array();
    char *text;
    int k;

    for (k = first; k < first + n; k++) {
        json_array_append_new(a, json_pack("{s:i, s:I, s:o}", "kpartition", k, "floor_offset",
                                           (json_int_t)k * 10,
                                           "seen", seen ? json_string(seen) : json_null()));
    }
    text = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    return text;
}

static void merge_claims(emu_engine_t *e, const char *epoch, char *rows, const char *aff,
                         const char *upd, const char *ins)
{
    static const char *const names[] = {"inc", "topic", "e", "rows"};
    const char *values[] = {"inc-1", "orders", epoch, rows};
    emu_result_t res;
    int rc = exec_params(e, CLAIM_MERGE_SQL, &res, 4, names, values);

    DP_ASSERT_MSG(rc == 0 && strcmp(t_cell(&res, 0, 0), aff) == 0 &&
                      strcmp(t_cell(&res, 0, 1), upd) == 0 &&
                      strcmp(t_cell(&res, 0, 2), "0") == 0 && strcmp(t_cell(&res, 0, 3), ins) == 0,
                  "expected affected %s updated %s deleted 0 inserted %s, got rc %d '%s' "
                  "[%s %s %s %s]", aff, upd, ins, rc, res.message, t_cell(&res, 0, 0),
                  t_cell(&res, 0, 1), t_cell(&res, 0, 2), t_cell(&res, 0, 3));
    DP_ASSERT_MSG(strcmp(t_colinfo(&res, 0, "name"), "num_affected_rows") == 0 &&
                      strcmp(t_colinfo(&res, 1, "name"), "num_updated_rows") == 0 &&
                      strcmp(t_colinfo(&res, 3, "name"), "num_inserted_rows") == 0,
                  "expected Databricks' MERGE result columns, got %s %s %s",
                  t_colinfo(&res, 0, "name"), t_colinfo(&res, 1, "name"),
                  t_colinfo(&res, 3, "name"));
    emu_result_clear(&res);
    free(rows);
}

static void test_emu_engine_merge_512_rows_from_one_parameter(void)
{
    char dir[512];
    emu_engine_t *e = t_open("emu_merge512", NULL, dir);
    emu_result_t res;
    int rc;

    DP_ASSERT_FATAL_MSG(e != NULL, "engine open");
    t_ok(e, "CREATE TABLE claims (incarnation STRING NOT NULL, topic STRING NOT NULL, "
            "kpartition INT NOT NULL, epoch BIGINT, floor_offset BIGINT, seen STRING)");
    /* The statement text is the same whatever the row count. */
    DP_ASSERT_MSG(strlen(CLAIM_MERGE_SQL) < 800, "expected a short statement, got %zu bytes",
                  strlen(CLAIM_MERGE_SQL));
    merge_claims(e, "1", claim_rows(0, 512, NULL), "512", "0", "512");
    /* Half of them again, now seen: matched with t.seen NULL, updated. */
    merge_claims(e, "2", claim_rows(0, 256, "w2"), "256", "256", "0");
    /* The same again: t.seen is set now, so nothing matches the clause. */
    merge_claims(e, "3", claim_rows(0, 256, "w3"), "0", "0", "0");
    /* Partly new: 256..511 are matched (seen NULL: updated), 512..543 inserted. */
    merge_claims(e, "4", claim_rows(256, 288, "w4"), "288", "256", "32");
    rc = t_exec(e, NULL, "SELECT epoch, seen, count(*), min(kpartition), max(kpartition), "
                         "sum(floor_offset) FROM claims GROUP BY epoch, seen ORDER BY epoch",
                NULL, &res);
    DP_ASSERT_MSG(rc == 0, "expected SUCCEEDED, got '%s'", res.message);
    rows_is(&res, "[[\"2\",\"w2\",\"256\",\"0\",\"255\",\"326400\"],"
                  "[\"4\",\"w4\",\"288\",\"256\",\"543\",\"1150560\"]]");
    emu_result_clear(&res);
    /* INSERT * and UPDATE SET * with a SELECT * source, columns named by the query. */
    t_ok(e, "CREATE TABLE ledger (kpartition INT, floor_offset BIGINT, seen STRING)");
    {
        static const char *const names[] = {"rows"};
        const char *values[1];
        char *rows = claim_rows(0, 3, "x");
        values[0] = rows;
        rc = exec_params(e, "MERGE INTO ledger USING (SELECT * FROM inline(from_json(:rows, '"
                            CLAIM_SCHEMA "')) r) s ON ledger.kpartition = s.kpartition "
                            "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *",
                         &res, 1, names, values);
        DP_ASSERT_MSG(rc == 0 && strcmp(t_cell(&res, 0, 3), "3") == 0,
                      "expected INSERT * of 3 rows, got rc %d '%s' %s", rc, res.message,
                      t_cell(&res, 0, 3));
        emu_result_clear(&res);
        /* A column list on the alias renames; it must match the query's width. */
        rc = exec_params(e, "MERGE INTO ledger USING (SELECT kpartition, seen FROM "
                            "inline(from_json(:rows, '" CLAIM_SCHEMA "'))) AS s(kpartition, "
                            "other) ON ledger.kpartition = s.kpartition WHEN MATCHED THEN UPDATE "
                            "SET seen = s.other", &res, 1, names, values);
        DP_ASSERT_MSG(rc == 0 && strcmp(t_cell(&res, 0, 1), "3") == 0,
                      "expected 3 rows updated through s(kpartition, other), got rc %d '%s' %s",
                      rc, res.message, t_cell(&res, 0, 1));
        emu_result_clear(&res);
        rc = exec_params(e, "MERGE INTO ledger USING (SELECT kpartition, seen FROM "
                            "inline(from_json(:rows, '" CLAIM_SCHEMA "'))) AS s(kpartition) "
                            "ON ledger.kpartition = s.kpartition WHEN MATCHED THEN DELETE",
                         &res, 1, names, values);
        DP_ASSERT_MSG(rc == -1 && strncmp(res.message, "[NUM_COLUMNS_MISMATCH]", 22) == 0,
                      "expected NUM_COLUMNS_MISMATCH, got rc %d '%s'", rc, res.message);
        emu_result_clear(&res);
        free(rows);
    }
    t_close(e, dir);
}

static void test_emu_engine_max_by_min_by(void)
{
    static const char *const names[] = {"inc", "q"};
    static const char *const values[] = {"inc-1", "10"};
    char dir[512];
    emu_engine_t *e = t_open("emu_maxby", NULL, dir);
    emu_result_t res;
    int rc;

    DP_ASSERT_FATAL_MSG(e != NULL, "engine open");
    t_ok(e, "CREATE TABLE ledger (incarnation STRING, kpartition INT, last_offset BIGINT, "
            "last_fp STRING)");
    t_ok(e, "INSERT INTO ledger VALUES ('inc-1', 0, 10, 'a'), ('inc-1', 0, 30, 'c'), "
            "('inc-1', 0, 20, 'b'), ('inc-1', 1, 5, 'x'), ('inc-1', 1, NULL, 'n'), "
            "('inc-1', 2, NULL, 'z'), ('inc-2', 0, 99, 'other')");
    /* NULL orderings are ignored; a group with none gives NULL. */
    rc = exec_params(e, "SELECT kpartition, MAX(last_offset), MAX_BY(last_fp, last_offset), "
                        "min_by(last_fp, last_offset) FROM ledger WHERE incarnation = :inc "
                        "GROUP BY kpartition ORDER BY kpartition", &res, 1, names, values);
    DP_ASSERT_MSG(rc == 0, "expected SUCCEEDED, got '%s'", res.message);
    rows_is(&res, "[[\"0\",\"30\",\"c\",\"a\"],[\"1\",\"5\",\"x\",\"x\"],"
                  "[\"2\",null,null,null]]");
    DP_ASSERT_MSG(strcmp(t_colinfo(&res, 1, "name"), "max(last_offset)") == 0 &&
                      strcmp(t_colinfo(&res, 1, "type_text"), "BIGINT") == 0 &&
                      strcmp(t_colinfo(&res, 2, "name"), "max_by(last_fp, last_offset)") == 0 &&
                      strcmp(t_colinfo(&res, 2, "type_text"), "STRING") == 0,
                  "expected max(last_offset) BIGINT and max_by(last_fp, last_offset) STRING, got "
                  "%s %s, %s %s", t_colinfo(&res, 1, "name"), t_colinfo(&res, 1, "type_text"),
                  t_colinfo(&res, 2, "name"), t_colinfo(&res, 2, "type_text"));
    emu_result_clear(&res);
    /* WHERE x = :p AND y > CAST(:q AS BIGINT) keeps working next to them. */
    rc = exec_params(e, "SELECT kpartition, MAX(last_offset), MAX_BY(last_fp, last_offset), "
                        "MIN_BY(last_fp, last_offset) FROM ledger WHERE incarnation = :inc AND "
                        "last_offset > CAST(:q AS BIGINT) GROUP BY kpartition", &res, 2, names,
                     values);
    DP_ASSERT_MSG(rc == 0, "expected SUCCEEDED, got '%s'", res.message);
    rows_is(&res, "[[\"0\",\"30\",\"c\",\"b\"]]");
    emu_result_clear(&res);
    t_close(e, dir);
}

static const dp_test_case_t k_cases[] = {
    {"test_emu_engine_inline_from_json_types_like_spark",
     test_emu_engine_inline_from_json_types_like_spark},
    {"test_emu_engine_inline_select_with_parameters",
     test_emu_engine_inline_select_with_parameters},
    {"test_emu_engine_merge_512_rows_from_one_parameter",
     test_emu_engine_merge_512_rows_from_one_parameter},
    {"test_emu_engine_max_by_min_by", test_emu_engine_max_by_min_by},
    {NULL, NULL}};

static const dp_test_suite_t k_suites[] = {{"emu_engine_batch", NULL, NULL, k_cases},
                                           {NULL, NULL, NULL, NULL}};

int main(int argc, char **argv)
{
    return dp_test_main(argc, argv, k_suites);
}
