/*
 * Unit tests of the zerobus sink's pure parts: the decimal text of Avro
 * decimals (exact at +-99999999999999.9999 and for 16-byte values), a staged
 * canonical record as its JSON row (every type of the canonical event and the
 * lineage, nulls left out, _loaded_at last), malformed records refused, and
 * the DDL of a raw table (decimals as STRING) and of its view (the cast back
 * to DECIMAL(18,4), one row per lineage key).
 */
#include "batch/flush.h"
#include "codec/json_event.h"
#include "codec/schema.h"
#include "config/config.h"
#include "dp_test.h"
#include "load/sink_zerobus.h"
#include "stage/avrofile.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CANONICAL DP_SOURCE_DIR "/schemas/canonical_event.avsc"

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

static void test_sink_zerobus_decimal_text(void)
{
    static const struct {
        unsigned char b[16];
        size_t len;
        int scale;
        const char *want;
    } cases[] = {
        /* 999999999999999999 = 0x0DE0B6B3A763FFFF: the largest DECIMAL(18,4) */
        {{0x0D, 0xE0, 0xB6, 0xB3, 0xA7, 0x63, 0xFF, 0xFF}, 8, 4, "99999999999999.9999"},
        /* its negative, two's complement */
        {{0xF2, 0x1F, 0x49, 0x4C, 0x58, 0x9C, 0x00, 0x01}, 8, 4, "-99999999999999.9999"},
        {{0}, 0, 4, "0.0000"},
        {{0x00}, 1, 4, "0.0000"},
        {{0x01}, 1, 4, "0.0001"},
        {{0xFF}, 1, 4, "-0.0001"},
        {{0x00, 0xBC, 0x61, 0x4E}, 4, 4, "1234.5678"},
        {{0x30, 0x39}, 2, 0, "12345"},
        {{0x80}, 1, 2, "-1.28"},
        /* 2^127 - 1 and -2^127, 16 bytes */
        {{0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
          0xFF},
         16,
         0,
         "170141183460469231731687303715884105727"},
        {{0x80}, 16, 38, "-1.70141183460469231731687303715884105728"},
    };
    char out[80];
    dp_err_t err;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = dp_sink_zb_decimal_text(cases[i].b, cases[i].len, cases[i].scale, out, sizeof(out),
                                         &err);

        DP_ASSERT_MSG(rc == 0 && strcmp(out, cases[i].want) == 0,
                      "case %zu: expected %s, got rc %d '%s'", i, cases[i].want, rc,
                      rc == 0 ? out : err.msg);
    }
    DP_ASSERT_MSG(dp_sink_zb_decimal_text(cases[0].b, 17, 4, out, sizeof(out), &err) == DP_EINVAL,
                  "17 bytes must be refused");
}

typedef struct fixture {
    dp_config_t cfg;
    dp_sink_zb_t *sink;
    dp_schema_t *canonical;
    char *staged;
} fixture_t;

static int fixture_open(fixture_t *fx)
{
    char *text = slurp(CANONICAL);
    dp_err_t err;

    memset(fx, 0, sizeof(*fx));
    if (!text)
        return -1;
    fx->canonical = dp_schema_parse(text, strlen(text), &err);
    if (!fx->canonical || dp_avrofile_staged_schema(text, strlen(text), &fx->staged, &err) < 0) {
        free(text);
        return -1;
    }
    free(text);
    fx->cfg.databricks.host = "http://127.0.0.1:1";
    fx->cfg.databricks.zerobus_endpoint = "http://127.0.0.1:1";
    fx->cfg.databricks.allow_insecure_http = 1;
    fx->cfg.databricks.workspace_id = "1";
    fx->cfg.databricks.client_id = "id";
    fx->cfg.databricks.client_secret = "secret";
    fx->cfg.databricks.catalog = "main";
    fx->cfg.databricks.schema = "s";
    fx->cfg.databricks.zerobus_max_in_flight = 2;
    fx->cfg.databricks.zerobus_max_request_bytes = 1 << 20;
    fx->cfg.databricks.zerobus_max_records_per_request = 100;
    fx->cfg.databricks.http_timeout_ms = 1000;
    fx->sink = dp_sink_zb_new(&fx->cfg, fx->staged, &err);
    if (!fx->sink)
        fprintf(stderr, "dp_sink_zb_new: %s\n", err.msg);
    return fx->sink ? 0 : -1;
}

static void fixture_close(fixture_t *fx)
{
    dp_sink_zb_destroy(fx->sink);
    dp_schema_destroy(fx->canonical);
    free(fx->staged);
}

/* Encodes a canonical JSON event as its Avro body into body. */
static int encode(fixture_t *fx, const char *event, dp_buf_t *body)
{
    json_t *root = json_loads(event, 0, NULL);
    dp_reject_t rej;
    int rc;

    dp_buf_init(body, 1 << 20);
    rc = root ? dp_json_event_encode(fx->canonical, root, event, strlen(event), body, &rej) : -1;
    if (rc < 0)
        fprintf(stderr, "encode: %s %s\n", dp_reject_name(rej.code), rej.reason);
    json_decref(root);
    return rc;
}

static void test_sink_zerobus_row_json(void)
{
    const char *event =
        "{\"event_id\":\"e-1\",\"event_name\":\"purchase\",\"event_time\":1764000000123456,"
        "\"merchant_id\":\"m\\\"1\",\"value\":\"-99999999999999.9999\",\"currency\":\"EUR\","
        "\"context\":{\"ip\":\"10.0.0.1\",\"page_url\":\"https://x/\\u00e9\\n\"},"
        "\"properties\":{\"sku\":\"A-1\",\"q\":\"2\"}}";
    fixture_t fx;
    dp_buf_t body;
    dp_buf_t lin, out;
    dp_err_t err;
    json_t *row, *ctx;
    int rc;

    DP_ASSERT_FATAL_MSG(fixture_open(&fx) == 0, "the sink's fixture");
    DP_ASSERT_FATAL_MSG(encode(&fx, event, &body) == 0, "encoding the event");
    dp_buf_init(&lin, 4096);
    dp_buf_init(&out, 1 << 20);
    DP_ASSERT_FATAL_MSG(dp_flush_put_lineage(&lin, "events", 7, 123456789012LL, 1764000000999LL,
                                             "inc-1", &err) == 0,
                        "lineage: %s", err.msg);
    rc = dp_sink_zb_row_json(fx.sink, body.data, body.len, dp_buf_data(&lin), dp_buf_len(&lin),
                             1764000001000000LL, &out, &err);
    DP_ASSERT_FATAL_MSG(rc == 0, "row: %s", err.msg);
    dp_buf_append(&out, "", 1, &err);
    row = json_loads((const char *)dp_buf_data(&out), 0, NULL);
    DP_ASSERT_FATAL_MSG(json_is_object(row), "not JSON: %s", (const char *)dp_buf_data(&out));
    ctx = json_object_get(row, "context");
    DP_ASSERT_MSG(
        strcmp(json_string_value(json_object_get(row, "event_id")), "e-1") == 0 &&
            strcmp(json_string_value(json_object_get(row, "merchant_id")), "m\"1") == 0 &&
            json_integer_value(json_object_get(row, "event_time")) == 1764000000123456LL &&
            strcmp(json_string_value(json_object_get(row, "value")), "-99999999999999.9999") == 0 &&
            strcmp(json_string_value(json_object_get(ctx, "page_url")), "https://x/\xc3\xa9\n") ==
                0 &&
            json_is_null(json_object_get(ctx, "locale")) &&
            strcmp(json_string_value(json_object_get(json_object_get(row, "properties"), "q")),
                   "2") == 0,
        "canonical fields wrong in %s", (const char *)dp_buf_data(&out));
    DP_ASSERT_MSG(json_object_get(row, "user_id") == NULL &&
                      json_object_get(row, "attribution") == NULL,
                  "top-level nulls must be left out: %s", (const char *)dp_buf_data(&out));
    DP_ASSERT_MSG(
        strcmp(json_string_value(json_object_get(row, "_kafka_topic")), "events") == 0 &&
            json_integer_value(json_object_get(row, "_kafka_partition")) == 7 &&
            json_integer_value(json_object_get(row, "_kafka_offset")) == 123456789012LL &&
            json_integer_value(json_object_get(row, "_kafka_timestamp")) == 1764000000999000LL &&
            strcmp(json_string_value(json_object_get(row, "_incarnation")), "inc-1") == 0 &&
            json_integer_value(json_object_get(row, "_loaded_at")) == 1764000001000000LL,
        "lineage wrong in %s", (const char *)dp_buf_data(&out));
    json_decref(row);
    /* A body cut short, or with a byte too many, is refused and nothing is written. */
    dp_buf_reset(&out);
    DP_ASSERT_MSG(dp_sink_zb_row_json(fx.sink, body.data, body.len - 1, dp_buf_data(&lin),
                                      dp_buf_len(&lin), 1, &out, &err) == DP_EINVAL &&
                      dp_buf_len(&out) == 0,
                  "a truncated body must be refused, got len %zu", dp_buf_len(&out));
    DP_ASSERT_MSG(dp_sink_zb_row_json(fx.sink, body.data, body.len, dp_buf_data(&lin),
                                      dp_buf_len(&lin) - 1, 1, &out, &err) == DP_EINVAL,
                  "a truncated lineage must be refused");
    dp_buf_free(&lin);
    dp_buf_free(&out);
    dp_buf_free(&body);
    fixture_close(&fx);
}

static void test_sink_zerobus_ddl(void)
{
    char *staged = NULL, *text = slurp(CANONICAL), *t, *v;
    dp_err_t err;

    DP_ASSERT_FATAL_MSG(text && dp_avrofile_staged_schema(text, strlen(text), &staged, &err) == 0,
                        "staged schema");
    t = dp_sink_zb_table_sql("main", "s", "evt_purchase", staged, &err);
    v = dp_sink_zb_view_sql("main", "s", "evt_purchase", staged, &err);
    DP_ASSERT_FATAL_MSG(t && v, "DDL: %s", err.msg);
    DP_ASSERT_MSG(strncmp(t, "CREATE TABLE IF NOT EXISTS `main`.`s`.`raw_evt_purchase` (", 58) ==
                          0 &&
                      strstr(t, "`value` STRING,") && !strstr(t, "DECIMAL") &&
                      strstr(t, "`_incarnation` STRING NOT NULL") &&
                      strstr(t, "`_loaded_at` TIMESTAMP NOT NULL"),
                  "raw table DDL: %s", t);
    DP_ASSERT_MSG(strncmp(v,
                          "CREATE VIEW IF NOT EXISTS `main`.`s`.`evt_purchase` AS SELECT "
                          "`event_id`, ",
                          70) == 0 &&
                      strstr(v, ", CAST(`value` AS DECIMAL(18,4)) AS `value`, ") &&
                      strstr(v, " FROM `main`.`s`.`raw_evt_purchase` QUALIFY ROW_NUMBER() OVER "
                                "(PARTITION BY `_incarnation`, `_kafka_topic`, "
                                "`_kafka_partition`, `_kafka_offset` ORDER BY `_loaded_at`) = 1"),
                  "view DDL: %s", v);
    free(t);
    free(v);
    DP_ASSERT_MSG(dp_sink_zb_table_sql("main", "s", "Evt-x", staged, &err) == NULL &&
                      dp_sink_zb_view_sql("main", "s`", "evt_x", staged, &err) == NULL,
                  "names that are not identifiers must be refused");
    free(staged);
    free(text);
}

static const dp_test_case_t cases[] = {
    {"test_sink_zerobus_decimal_text", test_sink_zerobus_decimal_text},
    {"test_sink_zerobus_row_json", test_sink_zerobus_row_json},
    {"test_sink_zerobus_ddl", test_sink_zerobus_ddl},
    {NULL, NULL},
};

static const dp_test_suite_t suites[] = {
    {"sink_zerobus", NULL, NULL, cases},
    {NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
    return dp_test_main(argc, argv, suites);
}
