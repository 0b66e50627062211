/*
 * Unit tests of the emulator engine's COPY INTO: Avro typing from the header
 * schema, load history (skip, force, reset on re-create), FILES and PATTERN,
 * missing and corrupt files, mergeSchema and schema mismatch.
 */
#define _POSIX_C_SOURCE 200809L
#include "dp_test.h"
#include "test_emu_engine_support.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const char k_schema[] =
    "{\"type\":\"record\",\"name\":\"E\",\"namespace\":\"io.deltaport\",\"fields\":["
    "{\"name\":\"event_id\",\"type\":\"string\"},"
    "{\"name\":\"event_time\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}},"
    "{\"name\":\"value\",\"type\":[\"null\",{\"type\":\"bytes\",\"logicalType\":\"decimal\","
    "\"precision\":18,\"scale\":4}]},"
    "{\"name\":\"context\",\"type\":[\"null\",{\"type\":\"record\",\"name\":\"Ctx\",\"fields\":["
    "{\"name\":\"ip\",\"type\":\"string\"}]}]}]}";

/* Appends one record of k_schema. unscaled < 0 encodes a negative decimal. */
static void add_record(unsigned char *b, size_t *n, size_t cap, const char *id, long long ts,
                       int has_value, long long unscaled, const char *ip)
{
    unsigned char be[8];
    size_t k, start = 0;

    t_avro_bytes(b, n, cap, id, strlen(id));
    t_avro_long(b, n, cap, ts);
    t_avro_long(b, n, cap, has_value ? 1 : 0);
    if (has_value) {
        for (k = 0; k < 8; k++) {
            be[k] = (unsigned char)((unsigned long long)unscaled >> (56 - 8 * k));
        }
        /* Minimal two's-complement: drop redundant sign bytes. */
        while (start < 7 && ((be[start] == 0 && !(be[start + 1] & 0x80)) ||
                             (be[start] == 0xff && (be[start + 1] & 0x80)))) {
            start++;
        }
        t_avro_bytes(b, n, cap, be + start, 8 - start);
    }
    t_avro_long(b, n, cap, ip != NULL ? 1 : 0);
    if (ip != NULL) {
        t_avro_bytes(b, n, cap, ip, strlen(ip));
    }
}

/* Writes <dir>/volumes/main/default/stage/evt/<name> with two records. */
static int write_two(const char *dir, const char *name, const char *id1, const char *id2)
{
    unsigned char body[512];
    size_t n = 0;
    char path[1024];

    add_record(body, &n, sizeof(body), id1, 1795509715123456LL, 1, 123400, "10.0.0.1");
    add_record(body, &n, sizeof(body), id2, 0, 1, -5, NULL);
    snprintf(path, sizeof(path), "%s/volumes/main/default/stage/evt", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/volumes/main/default/stage/evt/%s", dir, name);
    return t_write_ocf(path, k_schema, body, n, 2);
}

#define COPY_MERGE                                                                                 \
    "COPY INTO evt FROM '/Volumes/main/default/stage/evt/' FILEFORMAT = AVRO "                     \
    "FILES = ('a.avro', 'missing.avro') FORMAT_OPTIONS ('mergeSchema' = 'true') "                  \
    "COPY_OPTIONS ('mergeSchema' = 'true'"

static void expect_copy(emu_engine_t *e, const char *sql, const char *ins, const char *skipped)
{
    emu_result_t res;
    int rc = t_exec(e, "admin", sql, NULL, &res);

    DP_ASSERT_MSG(rc == 0, "expected COPY to succeed, got '%s' for %s", res.message, sql);
    if (rc == 0) {
        DP_ASSERT_MSG(strcmp(t_cell(&res, 0, 0), ins) == 0 &&
                          strcmp(t_cell(&res, 0, 1), ins) == 0 &&
                          strcmp(t_cell(&res, 0, 2), skipped) == 0,
                      "expected [%s, %s, %s], got [%s, %s, %s]", ins, ins, skipped,
                      t_cell(&res, 0, 0), t_cell(&res, 0, 1), t_cell(&res, 0, 2));
        DP_ASSERT_MSG(strcmp(t_colinfo(&res, 2, "name"), "num_skipped_corrupt_files") == 0,
                      "expected column num_skipped_corrupt_files, got %s",
                      t_colinfo(&res, 2, "name"));
    }
    emu_result_clear(&res);
}

static void detail_id(emu_engine_t *e, char *out, size_t outlen)
{
    emu_result_t res;

    t_exec(e, NULL, "DESCRIBE DETAIL evt", NULL, &res);
    snprintf(out, outlen, "%s", t_cell(&res, 0, 1));
    DP_ASSERT_MSG(strcmp(t_colinfo(&res, 1, "name"), "id") == 0 && strlen(out) == 36,
                  "expected a UUID id column, got %s = %s", t_colinfo(&res, 1, "name"), out);
    emu_result_clear(&res);
}

static void test_emu_engine_copy_infers_types_and_keeps_history(void)
{
    char dir[512], id1[64], id2[64];
    emu_engine_t *e = t_open("emu_copy", NULL, dir);
    emu_result_t res;

    DP_ASSERT_FATAL_MSG(e != NULL, "engine open");
    t_ok(e, "CREATE VOLUME stage");
    t_ok(e, "CREATE TABLE IF NOT EXISTS evt");
    DP_ASSERT_FATAL_MSG(write_two(dir, "a.avro", "e1", "e2") == 0, "write a.avro");
    expect_copy(e, COPY_MERGE ")", "2", "0");
    t_exec(e, NULL, "DESCRIBE TABLE evt", NULL, &res);
    DP_ASSERT_MSG(t_nrows(&res) == 4, "expected 4 columns, got %zu", t_nrows(&res));
    DP_ASSERT_MSG(strcmp(t_cell(&res, 1, 1), "timestamp") == 0 &&
                      strcmp(t_cell(&res, 2, 1), "decimal(18,4)") == 0 &&
                      strcmp(t_cell(&res, 3, 1), "struct<ip:string>") == 0,
                  "expected timestamp, decimal(18,4), struct<ip:string>; got %s, %s, %s",
                  t_cell(&res, 1, 1), t_cell(&res, 2, 1), t_cell(&res, 3, 1));
    emu_result_clear(&res);
    /* Same file again: skipped, even after its content changed. */
    write_two(dir, "a.avro", "x1", "x2");
    expect_copy(e, COPY_MERGE ")", "0", "0");
    expect_copy(e, COPY_MERGE ", 'force' = 'true')", "2", "0");
    /* Drop and re-create: new id, history gone. */
    detail_id(e, id1, sizeof(id1));
    t_ok(e, "DROP TABLE evt");
    t_ok(e, "CREATE TABLE evt");
    detail_id(e, id2, sizeof(id2));
    DP_ASSERT_MSG(strcmp(id1, id2) != 0, "expected a new table id, got %s twice", id1);
    expect_copy(e, COPY_MERGE ")", "2", "0");
    t_close(e, dir);
}

static void test_emu_engine_copy_pattern_corrupt_and_mismatch(void)
{
    char dir[512], path[1024];
    emu_engine_t *e = t_open("emu_copy2", NULL, dir);
    emu_result_t res;
    int rc;

    DP_ASSERT_FATAL_MSG(e != NULL, "engine open");
    t_ok(e, "CREATE VOLUME stage");
    t_ok(e, "CREATE TABLE evt (event_id STRING, event_time TIMESTAMP, value DECIMAL(18,4), "
            "context STRUCT<ip: STRING>)");
    write_two(dir, "a.avro", "a1", "a2");
    write_two(dir, "b1.avro", "b1", "b2");
    write_two(dir, "b2.avro", "b3", "b4");
    expect_copy(e,
                "COPY INTO evt FROM '/Volumes/main/default/stage/evt' FILEFORMAT = AVRO "
                "PATTERN = 'b*.avro'",
                "4", "0");
    expect_copy(e, "COPY INTO evt FROM '/Volumes/main/default/stage/evt/' FILEFORMAT = AVRO", "2",
                "0");
    /* A truncated container fails the statement, or is skipped and not recorded. */
    snprintf(path, sizeof(path), "%s/volumes/main/default/stage/evt/c.avro", dir);
    t_write_file(path, "Obj\x01\x04garbage");
    rc = t_exec(e, NULL,
                "COPY INTO evt FROM '/Volumes/main/default/stage/evt/' FILEFORMAT = AVRO "
                "FILES = ('c.avro')",
                NULL, &res);
    DP_ASSERT_MSG(rc == -1 && strncmp(res.message, "[FAILED_READ_FILE.NO_HINT]", 26) == 0 &&
                      strstr(res.message, "/Volumes/main/default/stage/evt/c.avro") != NULL,
                  "expected FAILED_READ_FILE naming c.avro, got '%s'", res.message);
    emu_result_clear(&res);
    expect_copy(e,
                "COPY INTO evt FROM '/Volumes/main/default/stage/evt/' FILEFORMAT = AVRO "
                "FILES = ('c.avro') FORMAT_OPTIONS ('ignoreCorruptFiles' = 'true')",
                "0", "1");
    expect_copy(e,
                "COPY INTO evt FROM '/Volumes/main/default/stage/evt/' FILEFORMAT = AVRO "
                "FILES = ('c.avro') FORMAT_OPTIONS ('ignoreCorruptFiles' = 'true')",
                "0", "1");
    /* A narrower table refuses the extra columns without mergeSchema. */
    t_ok(e, "CREATE TABLE narrow (event_id STRING)");
    rc = t_exec(e, NULL,
                "COPY INTO narrow FROM '/Volumes/main/default/stage/evt/' "
                "FILEFORMAT = AVRO FILES = ('a.avro')",
                NULL, &res);
    DP_ASSERT_MSG(
        rc == -1 && strncmp(res.message, "[COPY_INTO_SCHEMA_MISMATCH_WITH_TARGET_TABLE]", 45) == 0,
        "expected COPY_INTO_SCHEMA_MISMATCH_WITH_TARGET_TABLE, got '%s'", res.message);
    emu_result_clear(&res);
    rc = t_exec(e, NULL, "COPY INTO nope FROM '/Volumes/main/default/stage/evt/' FILEFORMAT = AVRO",
                NULL, &res);
    DP_ASSERT_MSG(rc == -1 &&
                      strncmp(res.message,
                              "[TABLE_OR_VIEW_NOT_FOUND] The table or view "
                              "`main`.`default`.`nope` cannot be found.",
                              84) == 0 &&
                      strcmp(res.sql_state, "42P01") == 0,
                  "expected TABLE_OR_VIEW_NOT_FOUND 42P01, got '%s' %s", res.message,
                  res.sql_state);
    emu_result_clear(&res);
    t_close(e, dir);
}

static void test_emu_engine_copy_json_lines(void)
{
    char dir[512], path[1024];
    emu_engine_t *e = t_open("emu_copyjson", NULL, dir);
    emu_result_t res;
    int rc;

    DP_ASSERT_FATAL_MSG(e != NULL, "engine open");
    t_ok(e, "CREATE VOLUME stage");
    t_ok(e, "CREATE TABLE errs (topic STRING, at TIMESTAMP)");
    snprintf(path, sizeof(path), "%s/volumes/main/default/stage/e.json", dir);
    t_write_file(path, "{\"topic\":\"orders\",\"at\":\"2026-11-24T06:41:55Z\"}\n"
                       "{\"topic\":\"users\",\"partition\":3}\n");
    expect_copy(e,
                "COPY INTO errs FROM '/Volumes/main/default/stage' FILEFORMAT = JSON "
                "FILES = ('e.json') COPY_OPTIONS ('mergeSchema' = 'true')",
                "2", "0");
    rc = t_exec(e, NULL, "SELECT topic, at, partition FROM errs ORDER BY topic", NULL, &res);
    DP_ASSERT_MSG(rc == 0 && strcmp(t_cell(&res, 0, 1), "2026-11-24T06:41:55.000000Z") == 0 &&
                      strcmp(t_cell(&res, 1, 2), "3") == 0 &&
                      strcmp(t_colinfo(&res, 2, "type_text"), "BIGINT") == 0,
                  "expected the timestamp cast and a BIGINT partition, got rc %d '%s' %s %s %s", rc,
                  res.message, t_cell(&res, 0, 1), t_cell(&res, 1, 2),
                  t_colinfo(&res, 2, "type_text"));
    emu_result_clear(&res);
    t_close(e, dir);
}

/* Expects rc -1 and a message starting with prefix. */
static void expect_fail(emu_engine_t *e, const char *sql, const char *prefix)
{
    emu_result_t res;
    int rc = t_exec(e, NULL, sql, NULL, &res);

    DP_ASSERT_MSG(rc == -1 && strncmp(res.message, prefix, strlen(prefix)) == 0,
                  "expected '%s...' for %s, got rc %d '%s'", prefix, sql, rc, res.message);
    emu_result_clear(&res);
}

/* UTC now + delta_s as YYYY-MM-DDTHH:MM:SS (sorts with the engine's timestamps). */
static void utc_text(int delta_s, char *out, size_t len)
{
    time_t t = time(NULL) + delta_s;
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
}

#define SELECT_FROM(items, file)                                                                   \
    "COPY INTO evt FROM (SELECT " items " FROM '/Volumes/main/default/stage/evt/') "               \
    "FILEFORMAT = AVRO FILES = ('" file "') FORMAT_OPTIONS ('mergeSchema' = 'true') "              \
    "COPY_OPTIONS ('mergeSchema' = 'true')"

static void test_emu_engine_copy_select_form_adds_computed_columns(void)
{
    static const char k_sql[] =
        SELECT_FROM("*, current_timestamp() AS _loaded_at, 'w1' AS _worker, 7 AS _gen, "
                    ":inc AS _incarnation, CAST(:n AS BIGINT) AS _n, _metadata.file_name AS _f",
                    "a.avro");
    static const char k_params[] = "[{\"name\":\"inc\",\"value\":\"inc-1\"},"
                                   "{\"name\":\"n\",\"value\":\"42\"}]";
    char dir[512], before[64], after[64];
    emu_engine_t *e = t_open("emu_copysel", NULL, dir);
    emu_result_t res;
    int rc;

    DP_ASSERT_FATAL_MSG(e != NULL, "engine open");
    t_ok(e, "CREATE VOLUME stage");
    t_ok(e, "CREATE TABLE evt");
    DP_ASSERT_FATAL_MSG(write_two(dir, "a.avro", "e1", "e2") == 0, "write a.avro");
    utc_text(-1, before, sizeof(before));
    rc = t_exec(e, NULL, k_sql, k_params, &res);
    utc_text(1, after, sizeof(after));
    DP_ASSERT_FATAL_MSG(rc == 0 && strcmp(t_cell(&res, 0, 1), "2") == 0,
                        "expected the SELECT form to insert 2 rows, got rc %d '%s' %s", rc,
                        res.message, t_cell(&res, 0, 1));
    emu_result_clear(&res);
    rc = t_exec(e, NULL, "DESCRIBE TABLE evt", NULL, &res);
    DP_ASSERT_MSG(rc == 0 && t_nrows(&res) == 10 && strcmp(t_cell(&res, 4, 0), "_loaded_at") == 0 &&
                      strcmp(t_cell(&res, 4, 1), "timestamp") == 0 &&
                      strcmp(t_cell(&res, 5, 1), "string") == 0 &&
                      strcmp(t_cell(&res, 6, 1), "int") == 0 &&
                      strcmp(t_cell(&res, 8, 1), "bigint") == 0,
                  "expected the file's 4 columns then _loaded_at timestamp, _worker string, _gen "
                  "int, _incarnation, _n bigint, _f; got %zu rows: %s %s, %s, %s, %s",
                  t_nrows(&res), t_cell(&res, 4, 0), t_cell(&res, 4, 1), t_cell(&res, 5, 1),
                  t_cell(&res, 6, 1), t_cell(&res, 8, 1));
    emu_result_clear(&res);
    rc = t_exec(e, NULL,
                "SELECT event_id, _loaded_at, _worker, _gen, _incarnation, _n, _f "
                "FROM evt ORDER BY event_id",
                NULL, &res);
    DP_ASSERT_MSG(
        rc == 0 && t_nrows(&res) == 2 && strcmp(t_cell(&res, 0, 1), t_cell(&res, 1, 1)) == 0 &&
            strcmp(t_cell(&res, 0, 1), before) >= 0 && strcmp(t_cell(&res, 0, 1), after) <= 0 &&
            strlen(t_cell(&res, 0, 1)) == 27 && strcmp(t_cell(&res, 0, 2), "w1") == 0 &&
            strcmp(t_cell(&res, 1, 3), "7") == 0 && strcmp(t_cell(&res, 0, 4), "inc-1") == 0 &&
            strcmp(t_cell(&res, 1, 5), "42") == 0 && strcmp(t_cell(&res, 0, 6), "a.avro") == 0,
        "expected one statement time (%s..%s) on both rows, w1, 7, inc-1, 42, a.avro; "
        "got rc %d '%s' %zu rows: %s %s %s %s %s %s %s",
        before, after, rc, res.message, t_nrows(&res), t_cell(&res, 0, 1), t_cell(&res, 1, 1),
        t_cell(&res, 0, 2), t_cell(&res, 1, 3), t_cell(&res, 0, 4), t_cell(&res, 1, 5),
        t_cell(&res, 0, 6));
    emu_result_clear(&res);
    /* Load history as for the plain form: the same file is skipped the second time. */
    rc = t_exec(e, NULL, k_sql, k_params, &res);
    DP_ASSERT_MSG(rc == 0 && strcmp(t_cell(&res, 0, 1), "0") == 0,
                  "expected the loaded file to be skipped, got rc %d '%s' %s", rc, res.message,
                  t_cell(&res, 0, 1));
    emu_result_clear(&res);
    /* A file column renamed, into a table that has exactly those columns. */
    write_two(dir, "b.avro", "b1", "b2");
    t_ok(e, "CREATE TABLE narrow (id STRING, src STRING)");
    expect_copy(e,
                "COPY INTO narrow FROM (SELECT event_id AS id, _metadata.file_path AS src "
                "FROM '/Volumes/main/default/stage/evt/') FILEFORMAT = AVRO FILES = ('b.avro')",
                "2", "0");
    rc = t_exec(e, NULL, "SELECT src FROM narrow WHERE id = 'b2'", NULL, &res);
    DP_ASSERT_MSG(
        rc == 0 && strcmp(t_cell(&res, 0, 0), "/Volumes/main/default/stage/evt/b.avro") == 0,
        "expected _metadata.file_path of b.avro, got '%s' %s", res.message, t_cell(&res, 0, 0));
    emu_result_clear(&res);
    /* What the emulator does not evaluate fails; nothing is loaded. */
    expect_fail(e, SELECT_FROM("*, event_id", "b.avro"), "[DELTA_DUPLICATE_COLUMNS_FOUND]");
    expect_fail(e, SELECT_FROM("*, current_timestamp() AS event_time", "b.avro"),
                "[DELTA_DUPLICATE_COLUMNS_FOUND]");
    expect_fail(e, SELECT_FROM("upper(event_id) AS u", "b.avro"), "[UNSUPPORTED_FEATURE]");
    expect_fail(e, SELECT_FROM("*, 'x'", "b.avro"), "[UNSUPPORTED_FEATURE]");
    expect_fail(e, SELECT_FROM("nope", "b.avro"), "[UNRESOLVED_COLUMN.WITHOUT_SUGGESTION]");
    expect_fail(e, SELECT_FROM("*, :missing AS m", "b.avro"), "[UNBOUND_SQL_PARAMETER]");
    expect_fail(e, SELECT_FROM("*, TIMESTAMP 'not a time' AS m", "b.avro"),
                "[INVALID_TYPED_LITERAL]");
    rc = t_exec(e, NULL, "SELECT count(*) FROM evt", NULL, &res);
    DP_ASSERT_MSG(rc == 0 && strcmp(t_cell(&res, 0, 0), "2") == 0,
                  "expected the failed statements to load nothing, got %s rows",
                  t_cell(&res, 0, 0));
    emu_result_clear(&res);
    t_close(e, dir);
}

static const dp_test_case_t k_cases[] = {
    {"test_emu_engine_copy_select_form_adds_computed_columns",
     test_emu_engine_copy_select_form_adds_computed_columns},
    {"test_emu_engine_copy_json_lines", test_emu_engine_copy_json_lines},
    {"test_emu_engine_copy_infers_types_and_keeps_history",
     test_emu_engine_copy_infers_types_and_keeps_history},
    {"test_emu_engine_copy_pattern_corrupt_and_mismatch",
     test_emu_engine_copy_pattern_corrupt_and_mismatch},
    {NULL, NULL}};

static const dp_test_suite_t k_suites[] = {{"emu_engine_copy", NULL, NULL, k_cases},
                                           {NULL, NULL, NULL, NULL}};

int main(int argc, char **argv)
{
    return dp_test_main(argc, argv, k_suites);
}
