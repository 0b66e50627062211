/*
 * Unit tests of the emulator engine's MERGE WITH SCHEMA EVOLUTION (issue 17's
 * merge_event_id load): INSERT * adds a source column the target lacks, as
 * Databricks Runtime 15.2+ does; without the clause the column is ignored.
 */
#define _POSIX_C_SOURCE 200809L
#include "dp_test.h"
#include "test_emu_engine_support.h"

#include <stdio.h>
#include <string.h>

static void test_emu_merge_with_schema_evolution(void)
{
    char dir[512];
    emu_engine_t *e = t_open("evolution", NULL, dir);

    if (!DP_ASSERT_MSG(e != NULL, "engine did not open"))
        return;
    t_ok(e, "CREATE TABLE t (id STRING, a BIGINT)");
    t_ok(e, "CREATE TABLE u (id STRING, a BIGINT, extra STRING)");
    t_ok(e, "INSERT INTO u VALUES ('x', 1, 'one'), ('y', 2, 'two')");
    /* Without the clause, INSERT * ignores the column the target lacks. */
    t_ok(e, "MERGE INTO t USING (SELECT id, a, extra FROM u WHERE id = 'x') AS s "
            "ON t.id = s.id WHEN NOT MATCHED THEN INSERT *");
    t_rows(e, "SELECT * FROM t", "[[\"x\",\"1\"]]");
    /* With it, the column is added (nullable) and filled. */
    t_rows(e,
           "MERGE WITH SCHEMA EVOLUTION INTO t AS t USING (SELECT id, a, extra FROM u) AS s "
           "ON t.id = s.id WHEN NOT MATCHED THEN INSERT *",
           "[[\"1\",\"0\",\"0\",\"1\"]]");
    t_rows(e, "SELECT id, a, extra FROM t ORDER BY id",
           "[[\"x\",\"1\",null],[\"y\",\"2\",\"two\"]]");
    t_rows(e, "DESCRIBE TABLE t",
           "[[\"id\",\"string\",null],[\"a\",\"bigint\",null],[\"extra\",\"string\",null]]");
    t_fails(e, NULL,
            "MERGE WITH SCHEMA INTO t USING u ON t.id = u.id WHEN NOT MATCHED THEN "
            "INSERT *",
            NULL, "[PARSE_SYNTAX_ERROR]", NULL);
    t_close(e, dir);
}

static const dp_test_case_t cases[] = {
    {"test_emu_merge_with_schema_evolution", test_emu_merge_with_schema_evolution},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    const dp_test_suite_t suites[] = {{"emu_evolution", NULL, NULL, cases},
                                      {NULL, NULL, NULL, NULL}};

    return dp_test_main(argc, argv, suites);
}
