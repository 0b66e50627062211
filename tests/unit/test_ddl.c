/*
 * Unit tests of ddl: Avro schema -> Databricks columns.
 */
#include "dp_test.h"
#include "load/ddl.h"
#include "load/load_merge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = calloc(1, (size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

static void test_ddl_canonical_schema_columns(void)
{
    char *schema = slurp(DP_SOURCE_DIR "/schemas/canonical_event.avsc");
    char *cols;
    dp_err_t err;
    const char *want[] = {
        "`event_id` STRING NOT NULL",
        "`event_time` TIMESTAMP NOT NULL",
        "`received_at` TIMESTAMP,",
        "`value` DECIMAL(18,4),",
        "`attribution` STRUCT<`campaign_id`: STRING, `channel`: STRING, `source`: STRING, "
        "`medium`: STRING, `click_id`: STRING>",
        "`properties` MAP<STRING, STRING>",
        NULL,
    };

    DP_ASSERT_FATAL_MSG(schema != NULL, "cannot read schemas/canonical_event.avsc");
    cols = dp_ddl_columns_from_avro(schema, &err);
    DP_ASSERT_FATAL_MSG(cols != NULL, "expected columns, got error: %s", err.msg);
    for (int i = 0; want[i]; i++)
        DP_ASSERT_MSG(strstr(cols, want[i]) != NULL, "expected '%s' in: %s", want[i], cols);
    free(cols);
    free(schema);
}

static void test_ddl_create_table_and_rejections(void)
{
    const char *ok = "{\"type\":\"record\",\"name\":\"r\",\"fields\":["
                     "{\"name\":\"n\",\"type\":\"long\"},"
                     "{\"name\":\"d\",\"type\":{\"type\":\"int\",\"logicalType\":\"date\"}},"
                     "{\"name\":\"tags\",\"type\":{\"type\":\"array\",\"items\":\"string\"}}]}";
    const char *bad[] = {
        "not json",
        "{\"type\":\"record\",\"fields\":[{\"name\":\"x; DROP TABLE t\",\"type\":\"long\"}]}",
        "{\"type\":\"record\",\"fields\":[{\"name\":\"u\",\"type\":[\"int\",\"string\"]}]}",
        "{\"type\":\"record\",\"fields\":[{\"name\":\"d\",\"type\":{\"type\":\"bytes\","
        "\"logicalType\":\"decimal\",\"precision\":40,\"scale\":2}}]}",
        "{\"type\":\"record\",\"fields\":[]}",
        NULL,
    };
    dp_err_t err;
    char *sql = dp_ddl_create_table("`main`.`s`.`evt_x`", ok, &err);

    DP_ASSERT_FATAL_MSG(sql != NULL, "expected SQL, got error: %s", err.msg);
    DP_ASSERT_MSG(strcmp(sql, "CREATE TABLE IF NOT EXISTS `main`.`s`.`evt_x` (`n` BIGINT NOT NULL, "
                              "`d` DATE NOT NULL, `tags` ARRAY<STRING> NOT NULL)") == 0,
                  "got: %s", sql);
    free(sql);
    for (int i = 0; bad[i]; i++) {
        char *cols = dp_ddl_columns_from_avro(bad[i], &err);

        DP_ASSERT_MSG(cols == NULL, "schema %d should be refused, got: %s", i, cols ? cols : "");
        DP_ASSERT_MSG(err.code == DP_EINVAL && err.msg[0],
                      "schema %d: expected DP_EINVAL and a "
                      "message, got %d '%s'",
                      i, err.code, err.msg);
        free(cols);
    }
}

static void test_ddl_copy_into_text_and_refusals(void)
{
    const char *bad[] = {"/Volumes/c/s/v/i0/t/x'); DROP TABLE t; --.avro", "/tmp/x.avro",
                         "/Volumes/c/s/v/../../x.avro", "/Volumes/c/s/v/i0/t/", NULL};
    dp_err_t err;
    char *sql =
        dp_ddl_copy_into("`main`.`s`.`evt_a`", "/Volumes/main/s/v/i0/evt_a/ab12.avro", &err);

    DP_ASSERT_FATAL_MSG(sql != NULL, "expected SQL, got: %s", err.msg);
    /* The SELECT form: _loaded_at is the load time (issue 11 item 6). */
    DP_ASSERT_MSG(strcmp(sql,
                         "COPY INTO `main`.`s`.`evt_a` FROM (SELECT *, current_timestamp() "
                         "AS _loaded_at FROM '/Volumes/main/s/v/i0/evt_a/') "
                         "FILEFORMAT = AVRO FILES = ('ab12.avro') FORMAT_OPTIONS "
                         "('mergeSchema' = 'true') COPY_OPTIONS ('mergeSchema' = 'true')") == 0,
                  "got: %s", sql);
    free(sql);
    for (int i = 0; bad[i]; i++) {
        sql = dp_ddl_copy_into("`main`.`s`.`evt_a`", bad[i], &err);
        DP_ASSERT_MSG(sql == NULL && err.code == DP_EINVAL, "path %d should be refused", i);
        free(sql);
    }
}

/* Issue 17: the merge_event_id load of one staged file: the source deduplicated
 * on event_id (first by Kafka position), an insert-only merge on event_id, and
 * the same path rules as COPY INTO. */
static void test_ddl_merge_event_id_text_and_refusals(void)
{
    const char *bad[] = {"/Volumes/c/s/v/i0/t/x'); DROP TABLE t; --.avro", "/tmp/x.avro",
                         "/Volumes/c/s/v/../../x.avro", "/Volumes/c/s/v/i0/t/", NULL};
    dp_err_t err;
    char *sql = dp_load_merge_sql("`main`.`s`.`evt_a`", "/Volumes/main/s/v/i0/evt_a/ab12.avro",
                                  "`event_id`, `_kafka_offset`", &err);

    DP_ASSERT_FATAL_MSG(sql != NULL, "expected SQL, got: %s", err.msg);
    DP_ASSERT_MSG(strcmp(sql, "MERGE WITH SCHEMA EVOLUTION INTO `main`.`s`.`evt_a` AS t USING "
                              "(SELECT `event_id`, `_kafka_offset`, current_timestamp() AS "
                              "_loaded_at FROM read_files("
                              "'/Volumes/main/s/v/i0/evt_a/ab12.avro', format => 'avro') "
                              "QUALIFY ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY "
                              "_kafka_topic, _kafka_partition, _kafka_offset) = 1) AS s ON "
                              "t.event_id = s.event_id WHEN NOT MATCHED THEN INSERT *") == 0,
                  "got: %s", sql);
    free(sql);
    for (int i = 0; bad[i]; i++) {
        sql = dp_load_merge_sql("`main`.`s`.`evt_a`", bad[i], "`event_id`", &err);
        DP_ASSERT_MSG(sql == NULL && err.code == DP_EINVAL, "path %d should be refused", i);
        free(sql);
    }
}

static const dp_test_case_t cases[] = {
    {"test_ddl_merge_event_id_text_and_refusals", test_ddl_merge_event_id_text_and_refusals},
    {"test_ddl_copy_into_text_and_refusals", test_ddl_copy_into_text_and_refusals},
    {"test_ddl_canonical_schema_columns", test_ddl_canonical_schema_columns},
    {"test_ddl_create_table_and_rejections", test_ddl_create_table_and_rejections},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    const dp_test_suite_t suites[] = {{"ddl", NULL, NULL, cases}, {NULL, NULL, NULL, NULL}};

    return dp_test_main(argc, argv, suites);
}
