/*
 * Unit tests of the emulator engine's MERGE sources and INSERT ... SELECT: read_files() of Avro
 * (logical types kept) and JSON files, one file, a directory or a glob, with the schema from
 * the files; MERGE ... USING (SELECT ... FROM read_files(...) QUALIFY ROW_NUMBER() ... = 1)
 * WHEN NOT MATCHED THEN INSERT * (the event_id load), its idempotent rerun, sources over a
 * table and a view (also named bare: USING v AS s), the duplicate-match error under WHEN
 * MATCHED, and INSERT INTO t [(cols)] SELECT ... FROM u WHERE ....
 */
#define _POSIX_C_SOURCE 200809L
#include "dp_test.h"
#include "test_emu_engine_support.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define EVENT_SCHEMA                                                                               \
    "{\"type\":\"record\",\"name\":\"e\",\"fields\":["                                             \
    "{\"name\":\"event_id\",\"type\":\"string\"},"                                                 \
    "{\"name\":\"_kafka_partition\",\"type\":\"int\"},"                                            \
    "{\"name\":\"_kafka_offset\",\"type\":\"long\"},"                                              \
    "{\"name\":\"amount\",\"type\":[\"null\",{\"type\":\"bytes\",\"logicalType\":\"decimal\","     \
    "\"precision\":18,\"scale\":4}]},"                                                             \
    "{\"name\":\"at\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}}]}"

typedef struct ev {
    const char *id;
    int partition;
    long long offset;
    long long unscaled; /* amount * 10^4; -1: null */
} ev_t;

/* Writes the events as an Avro container file at dir/volumes/main/default/stage/name. */
static int write_events(const char *dir, const char *name, const ev_t *evs, int n)
{
    unsigned char body[4096];
    size_t len = 0;
    char path[1024];
    int k, b;

    for (k = 0; k < n; k++) {
        unsigned char be[8];
        long long u = evs[k].unscaled;
        t_avro_bytes(body, &len, sizeof(body), evs[k].id, strlen(evs[k].id));
        t_avro_long(body, &len, sizeof(body), evs[k].partition);
        t_avro_long(body, &len, sizeof(body), evs[k].offset);
        if (u < 0) {
            t_avro_long(body, &len, sizeof(body), 0); /* null branch */
        } else {
            t_avro_long(body, &len, sizeof(body), 1);
            for (b = 0; b < 8; b++) {
                be[b] = (unsigned char)(u >> (56 - 8 * b));
            }
            t_avro_bytes(body, &len, sizeof(body), be, 8);
        }
        t_avro_long(body, &len, sizeof(body), 1767225600000000LL + evs[k].offset); /* 2026 */
    }
    snprintf(path, sizeof(path), "%s/volumes/main/default/stage/avro/%s", dir, name);
    return t_write_ocf(path, EVENT_SCHEMA, body, len, n);
}

static emu_engine_t *setup(const char *tag, char *dir)
{
    static const ev_t f1[] = {
        {"e1", 0, 1, 12345}, {"e2", 0, 2, 999999999999999999LL}, {"e1", 1, 0, 1}, {"e3", 0, 3, -1}};
    static const ev_t f2[] = {{"e3", 1, 7, 10000}, {"e4", 1, 8, 20000}};
    emu_engine_t *e = t_open(tag, NULL, dir);
    char path[1024];

    if (e == NULL) {
        return NULL;
    }
    t_ok(e, "CREATE VOLUME stage");
    snprintf(path, sizeof(path), "%s/volumes/main/default/stage/avro", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/volumes/main/default/stage/json", dir);
    mkdir(path, 0755);
    t_ok(e, "CREATE TABLE events (event_id STRING NOT NULL, _kafka_partition INT, "
            "_kafka_offset BIGINT, amount DECIMAL(18,4), at TIMESTAMP)");
    DP_ASSERT_MSG(write_events(dir, "f1.avro", f1, 4) == 0 &&
                      write_events(dir, "f2.avro", f2, 2) == 0,
                  "expected the Avro files to be written under %s", dir);
    snprintf(path, sizeof(path), "%s/volumes/main/default/stage/avro/_ignored.avro", dir);
    t_write_file(path, "not an avro file");
    snprintf(path, sizeof(path), "%s/volumes/main/default/stage/json/j.json", dir);
    t_write_file(path, "{\"event_id\":\"j1\",\"n\":1,\"x\":1.5,\"ok\":true}\n"
                       "{\"event_id\":\"j2\",\"n\":2,\"tags\":[\"a\"]}\n");
    return e;
}

#define DEDUP_MERGE(file)                                                                          \
    "MERGE INTO events AS t USING (SELECT * FROM "                                                 \
    "read_files('/Volumes/main/default/stage/avro/" file                                           \
    "', format => 'avro') QUALIFY ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY "              \
    "_kafka_partition, _kafka_offset) = 1) AS s ON t.event_id = s.event_id "                       \
    "WHEN NOT MATCHED THEN INSERT *"

static void test_emu_engine_read_files_schema_and_rows(void)
{
    char dir[512];
    emu_engine_t *e = setup("emu_rf", dir);
    emu_result_t res;
    int rc;

    DP_ASSERT_FATAL_MSG(e != NULL, "engine open");
    rc = t_exec(e, NULL,
                "SELECT * FROM read_files('/Volumes/main/default/stage/avro/f1.avro', "
                "format => 'avro') ORDER BY _kafka_partition, _kafka_offset",
                NULL, &res);
    DP_ASSERT_FATAL_MSG(rc == 0 && t_nrows(&res) == 4, "expected 4 rows, got rc %d %zu '%s'", rc,
                        t_nrows(&res), res.message);
    DP_ASSERT_MSG(strcmp(t_colinfo(&res, 1, "type_text"), "INT") == 0 &&
                      strcmp(t_colinfo(&res, 2, "type_text"), "BIGINT") == 0 &&
                      strcmp(t_colinfo(&res, 3, "type_text"), "DECIMAL(18,4)") == 0 &&
                      strcmp(t_colinfo(&res, 4, "type_text"), "TIMESTAMP") == 0 &&
                      strcmp(t_colinfo(&res, 5, "name"), "_rescued_data") == 0 &&
                      strcmp(t_colinfo(&res, 5, "type_text"), "STRING") == 0,
                  "expected the file's types and _rescued_data, got %s %s %s %s %s %s",
                  t_colinfo(&res, 1, "type_text"), t_colinfo(&res, 2, "type_text"),
                  t_colinfo(&res, 3, "type_text"), t_colinfo(&res, 4, "type_text"),
                  t_colinfo(&res, 5, "name"), t_colinfo(&res, 5, "type_text"));
    DP_ASSERT_MSG(strcmp(t_cell(&res, 0, 3), "1.2345") == 0 &&
                      strcmp(t_cell(&res, 1, 3), "99999999999999.9999") == 0 &&
                      strcmp(t_cell(&res, 2, 3), "NULL") == 0 &&
                      strcmp(t_cell(&res, 0, 4), "2026-01-01T00:00:00.000001Z") == 0 &&
                      strcmp(t_cell(&res, 0, 5), "NULL") == 0,
                  "expected exact decimals and timestamps, got %s %s %s %s", t_cell(&res, 0, 3),
                  t_cell(&res, 1, 3), t_cell(&res, 2, 3), t_cell(&res, 0, 4));
    emu_result_clear(&res);
    /* a directory (files starting with '_' skipped) and a glob; a :parameter path */
    t_rows(
        e,
        "SELECT count(*), count(DISTINCT event_id) FROM "
        "read_files('/Volumes/main/default/stage/avro/', format => 'avro', pathGlobFilter => 'x') "
        "WHERE event_id LIKE 'e%'",
        "[[\"6\",\"4\"]]");
    t_rows_p(e, "SELECT count(*) FROM read_files(:p) AS r WHERE r._kafka_partition = 1",
             "[{\"name\":\"p\",\"value\":\"/Volumes/main/default/stage/avro/f*.avro\"}]",
             "[[\"3\"]]");
    /* JSON lines: Spark's inferred types, columns merged by name */
    rc = t_exec(e, NULL,
                "SELECT event_id, n, x, ok, tags FROM read_files("
                "'/Volumes/main/default/stage/json/j.json', format => 'json', "
                "rescuedDataColumn => '_junk') ORDER BY event_id",
                NULL, &res);
    DP_ASSERT_MSG(rc == 0 && t_nrows(&res) == 2 && strcmp(t_cell(&res, 0, 2), "1.5") == 0 &&
                      strcmp(t_cell(&res, 0, 3), "true") == 0 &&
                      strcmp(t_cell(&res, 1, 4), "[\"a\"]") == 0 &&
                      strcmp(t_colinfo(&res, 1, "type_text"), "BIGINT") == 0 &&
                      strcmp(t_colinfo(&res, 2, "type_text"), "DOUBLE") == 0 &&
                      strcmp(t_colinfo(&res, 4, "type_text"), "ARRAY<STRING>") == 0,
                  "expected JSON's inferred columns, got rc %d '%s' %s %s %s %s", rc, res.message,
                  t_cell(&res, 0, 2), t_cell(&res, 1, 4), t_colinfo(&res, 1, "type_text"),
                  t_colinfo(&res, 4, "type_text"));
    emu_result_clear(&res);
    t_rows(e,
           "SELECT count(_junk) FROM read_files('/Volumes/main/default/stage/json/j.json', "
           "format => 'json', rescuedDataColumn => '_junk')",
           "[[\"0\"]]");
    /* errors as Databricks words them */
    t_fails(e, NULL, "SELECT * FROM read_files('/Volumes/main/default/stage/avro/none.avro')", NULL,
            "[PATH_NOT_FOUND]", "42K03");
    t_fails(e, NULL, "SELECT * FROM read_files('/Volumes/main/default/nostage/f1.avro')", NULL,
            "[UC_VOLUME_NOT_FOUND]", "42704");
    t_fails(e, NULL, "SELECT * FROM read_files('s3://bucket/f1.avro', format => 'avro')", NULL,
            "[UNSUPPORTED_FEATURE]", "0A000");
    t_fails(e, NULL,
            "SELECT * FROM read_files('/Volumes/main/default/stage/avro/f1.avro', "
            "format => 'parquet')",
            NULL, "[UNSUPPORTED_FEATURE]", "0A000");
    t_fails(e, NULL,
            "SELECT * FROM read_files('/Volumes/main/default/stage/', "
            "format => 'avro')",
            NULL,
            "[FAILED_READ_FILE.NO_HINT] Error while reading file "
            "/Volumes/main/default/stage/json/j.json",
            "KD001");
    t_rows(e,
           "SELECT count(*) FROM read_files('/Volumes/main/default/stage/', format => 'avro', "
           "ignoreCorruptFiles => true)",
           "[[\"6\"]]");
    t_fails(e, NULL,
            "SELECT * FROM read_files('/Volumes/main/default/stage/avro/*.parquet', "
            "format => 'avro')",
            NULL, "[UNABLE_TO_INFER_SCHEMA]", "42KD9");
    t_close(e, dir);
}

static void test_emu_engine_merge_from_read_files_dedup(void)
{
    char dir[512];
    emu_engine_t *e = setup("emu_rf_merge", dir);
    emu_result_t res;
    int rc;

    DP_ASSERT_FATAL_MSG(e != NULL, "engine open");
    /* e1 twice in the file: the dedup keeps the first by (partition, offset) */
    t_rows(e, DEDUP_MERGE("f1.avro"), "[[\"3\",\"0\",\"0\",\"3\"]]");
    t_rows(e,
           "SELECT event_id, _kafka_partition, _kafka_offset, amount FROM events "
           "ORDER BY event_id",
           "[[\"e1\",\"0\",\"1\",\"1.2345\"],[\"e2\",\"0\",\"2\",\"99999999999999.9999\"],"
           "[\"e3\",\"0\",\"3\",null]]");
    /* the same file again, and a file repeating e3: only e4 is new */
    t_rows(e, DEDUP_MERGE("f1.avro"), "[[\"0\",\"0\",\"0\",\"0\"]]");
    t_rows(e, DEDUP_MERGE("f2.avro"), "[[\"1\",\"0\",\"0\",\"1\"]]");
    t_rows(e, "SELECT count(*), count(DISTINCT event_id) FROM events", "[[\"4\",\"4\"]]");
    /* without the dedup an insert-only MERGE inserts both copies of e1, as Delta does */
    t_ok(e, "CREATE TABLE plain (event_id STRING, _kafka_partition INT, _kafka_offset BIGINT)");
    t_rows(e,
           "MERGE INTO plain t USING (SELECT event_id, _kafka_partition, _kafka_offset FROM "
           "read_files('/Volumes/main/default/stage/avro/f1.avro')) s ON t.event_id = s.event_id "
           "WHEN NOT MATCHED THEN INSERT *",
           "[[\"4\",\"0\",\"0\",\"4\"]]");
    /* duplicate source keys matching one target row under WHEN MATCHED fail; nothing changes */
    rc = t_exec(e, NULL,
                "MERGE INTO events AS t USING (SELECT * FROM read_files("
                "'/Volumes/main/default/stage/avro/f1.avro', format => 'avro')) AS s ON "
                "t.event_id = s.event_id WHEN MATCHED THEN UPDATE SET * "
                "WHEN NOT MATCHED THEN INSERT *",
                NULL, &res);
    DP_ASSERT_MSG(rc == -1 &&
                      strstr(res.message, "[DELTA_MULTIPLE_SOURCE_ROW_MATCHING_TARGET_ROW_"
                                          "IN_MERGE]") == res.message &&
                      strcmp(res.sql_state, "21506") == 0,
                  "expected DELTA_MULTIPLE_SOURCE_ROW_MATCHING_TARGET_ROW_IN_MERGE, got rc %d "
                  "'%s'",
                  rc, res.message);
    emu_result_clear(&res);
    t_rows(e, "SELECT _kafka_partition, _kafka_offset FROM events WHERE event_id = 'e1'",
           "[[\"0\",\"1\"]]");
    t_close(e, dir);
}

static void test_emu_engine_merge_from_table_and_view(void)
{
    char dir[512];
    emu_engine_t *e = setup("emu_mv", dir);

    DP_ASSERT_FATAL_MSG(e != NULL, "engine open");
    t_ok(e, "CREATE TABLE staging (event_id STRING, _kafka_partition INT, _kafka_offset BIGINT, "
            "amount DECIMAL(18,4), at TIMESTAMP)");
    t_ok(e, "INSERT INTO staging SELECT event_id, _kafka_partition, _kafka_offset, amount, at "
            "FROM read_files('/Volumes/main/default/stage/avro/f1.avro', format => 'avro')");
    t_ok(e, "CREATE VIEW staging_first AS SELECT * FROM staging QUALIFY ROW_NUMBER() OVER "
            "(PARTITION BY event_id ORDER BY _kafka_partition, _kafka_offset) = 1");
    /* a subquery over the view */
    t_rows(e,
           "MERGE INTO events t USING (SELECT * FROM staging_first WHERE event_id <> 'e3') s "
           "ON t.event_id = s.event_id WHEN NOT MATCHED THEN INSERT *",
           "[[\"2\",\"0\",\"0\",\"2\"]]");
    /* the view named bare, with and without an alias */
    t_rows(e,
           "MERGE INTO events t USING staging_first AS s ON t.event_id = s.event_id "
           "WHEN MATCHED THEN UPDATE SET amount = s.amount - 1 WHEN NOT MATCHED THEN INSERT *",
           "[[\"3\",\"2\",\"0\",\"1\"]]");
    t_rows(e, "SELECT event_id, amount FROM events ORDER BY event_id",
           "[[\"e1\",\"0.2345\"],[\"e2\",\"99999999999998.9999\"],[\"e3\",null]]");
    /* a value that no longer fits the column fails the MERGE as Databricks' ANSI mode does */
    t_fails(e, NULL,
            "MERGE INTO events t USING staging_first AS s ON t.event_id = s.event_id "
            "WHEN MATCHED THEN UPDATE SET amount = s.amount + 1",
            NULL,
            "[NUMERIC_VALUE_OUT_OF_RANGE.WITH_SUGGESTION] 100000000000000.9999 cannot be "
            "represented as Decimal(18, 4).",
            "22003");
    t_rows(e,
           "MERGE INTO events USING staging_first ON events.event_id = staging_first.event_id "
           "WHEN MATCHED AND staging_first.amount IS NULL THEN DELETE",
           "[[\"1\",\"0\",\"1\",\"0\"]]");
    /* a subquery over the table itself, and a table named bare */
    t_rows(e,
           "MERGE INTO events t USING (SELECT event_id, max(_kafka_offset) AS o FROM staging "
           "GROUP BY event_id) s ON t.event_id = s.event_id WHEN MATCHED THEN UPDATE SET "
           "_kafka_offset = s.o",
           "[[\"2\",\"2\",\"0\",\"0\"]]");
    t_fails(e, NULL,
            "MERGE INTO events t USING staging s ON t.event_id = s.event_id WHEN MATCHED "
            "THEN UPDATE SET amount = s.amount",
            NULL, "[DELTA_MULTIPLE_SOURCE_ROW_MATCHING_TARGET_ROW_IN_MERGE]", "21506");
    t_close(e, dir);
}

static void test_emu_engine_insert_select(void)
{
    char dir[512];
    emu_engine_t *e = setup("emu_ins_sel", dir);
    emu_result_t res;
    int rc;

    DP_ASSERT_FATAL_MSG(e != NULL, "engine open");
    t_ok(e, "CREATE TABLE src (id BIGINT, name STRING, v DECIMAL(10,2), flag BOOLEAN, b BINARY)");
    t_ok(e, "INSERT INTO src VALUES (1, 'a', 1.25, true, 'xy'), (2, 'b', 2.50, false, NULL), "
            "(3, NULL, NULL, NULL, 'z')");
    t_ok(e, "CREATE TABLE dst (id BIGINT NOT NULL, name STRING, v DECIMAL(18,4), flag BOOLEAN, "
            "b BINARY)");
    rc = t_exec(e, NULL, "INSERT INTO dst SELECT id, name, v, flag, b FROM src WHERE id < 3", NULL,
                &res);
    DP_ASSERT_MSG(rc == 0 && strcmp(t_cell(&res, 0, 0), "2") == 0 &&
                      strcmp(t_colinfo(&res, 1, "name"), "num_inserted_rows") == 0,
                  "expected 2 inserted rows, got rc %d '%s' %s", rc, res.message,
                  t_cell(&res, 0, 0));
    emu_result_clear(&res);
    t_rows(e, "SELECT * FROM dst ORDER BY id",
           "[[\"1\",\"a\",\"1.2500\",\"true\",\"eHk=\"],[\"2\",\"b\",\"2.5000\",\"false\",null]]");
    /* a column list, a parenthesized query, computed values */
    t_rows(e, "INSERT INTO dst (name, id) (SELECT upper(name), id * 10 FROM src WHERE id = 1)",
           "[[\"1\",\"1\"]]");
    t_rows(e, "SELECT id, name, v FROM dst WHERE id = 10", "[[\"10\",\"A\",null]]");
    t_fails(e, NULL, "INSERT INTO dst SELECT id, name FROM src", NULL,
            "[INSERT_COLUMN_ARITY_MISMATCH.NOT_ENOUGH_DATA_COLUMNS]", "21S01");
    t_fails(e, NULL, "INSERT INTO dst (name) SELECT name FROM src", NULL,
            "[DELTA_NOT_NULL_CONSTRAINT_VIOLATED]", "23502");
    t_fails(e, NULL, "INSERT INTO dst (id, name) SELECT NULL, name FROM src", NULL,
            "[DELTA_NOT_NULL_CONSTRAINT_VIOLATED]", "23502");
    t_fails(e, NULL, "INSERT INTO dst (id, flag) SELECT id, name FROM src WHERE id = 1", NULL,
            "[CAST_INVALID_INPUT]", "22018");
    t_rows(e, "SELECT count(*) FROM dst", "[[\"3\"]]");
    t_close(e, dir);
}

static const dp_test_case_t k_cases[] = {
    {"test_emu_engine_read_files_schema_and_rows", test_emu_engine_read_files_schema_and_rows},
    {"test_emu_engine_merge_from_read_files_dedup", test_emu_engine_merge_from_read_files_dedup},
    {"test_emu_engine_merge_from_table_and_view", test_emu_engine_merge_from_table_and_view},
    {"test_emu_engine_insert_select", test_emu_engine_insert_select},
    {NULL, NULL}};

static const dp_test_suite_t k_suites[] = {{"emu_engine_merge_sources", NULL, NULL, k_cases},
                                           {NULL, NULL, NULL, NULL}};

int main(int argc, char **argv)
{
    return dp_test_main(argc, argv, k_suites);
}
