/*
 * Unit tests of decode (and resolve): framing, canonical pass-through
 * without copy or allocation, an older writer schema mapped by name into the
 * canonical bytes, plain Avro topics, JSON input with raw_payload, every
 * rejection code with its field path, and hostile bodies.
 */
#include "codec/decode.h"
#include "codec/json_event.h"
#include "codec/validate.h"
#include "dp_test.h"

#include <stdlib.h>
#include <string.h>

static dp_decoder_t *dec;
static dp_decode_scratch_t scratch;

#define BASE                                                                                       \
    "\"event_id\":\"e-1\",\"event_name\":\"order_completed\",\"event_time\":1764000000000000,\"merchant_id\":\"m-1\""

static int suite_init(void)
{
    dp_err_t err = {DP_OK, 0, ""};

    dec = dp_decoder_open(DP_SOURCE_DIR "/schemas", &err);
    if (!dec)
        fprintf(stderr, "decoder: %s\n", err.msg);
    dp_decode_scratch_init(&scratch, 1 << 20);
    return dec ? 0 : 1;
}

static int suite_cleanup(void)
{
    dp_decoder_destroy(dec);
    dp_decode_scratch_free(&scratch);
    return 0;
}

/* Encodes json with `schema` into out (fresh buffer, caller frees). */
static int encode(const dp_schema_t *schema, const char *json, dp_buf_t *out)
{
    json_error_t jerr;
    json_t *root = json_loads(json, 0, &jerr);
    dp_reject_t rej = {DP_REJ_NONE, "", ""};
    int rc;

    dp_buf_init(out, 1 << 16);
    rc = root ? dp_json_event_encode(schema, root, json, strlen(json), out, &rej) : -1;
    json_decref(root);
    DP_ASSERT_MSG(rc == 0, "encoding %s failed: %s %s", json, rc ? rej.path : "",
                  rc ? rej.reason : "");
    return rc;
}

static uint8_t *frame(uint32_t id, const void *body, size_t len, size_t *outlen)
{
    uint8_t *p = malloc(len + 5);

    p[0] = 0;
    p[1] = (uint8_t)(id >> 24);
    p[2] = (uint8_t)(id >> 16);
    p[3] = (uint8_t)(id >> 8);
    p[4] = (uint8_t)id;
    memcpy(p + 5, body, len);
    *outlen = len + 5;
    return p;
}

static int sv_eq(dp_strview_t v, const char *s)
{
    return v.len == strlen(s) && memcmp(v.ptr, s, v.len) == 0;
}

static void test_decode_canonical_is_passed_through_without_copy(void)
{
    dp_buf_t body;
    dp_decoded_t out;
    dp_err_t err = {DP_OK, 0, ""};
    uint8_t *msg;
    size_t len;
    int rc;

    if (encode(dp_decoder_canonical(dec), "{" BASE ",\"currency\":\"EUR\",\"value\":\"12.5\"}",
               &body) < 0)
        return;
    msg = frame(1, body.data, body.len, &len);
    dp_decode_scratch_free(&scratch);
    dp_decode_scratch_init(&scratch, 1 << 20);
    rc = dp_decode_message(dec, "t", msg, len, &out, &scratch, &err);
    DP_ASSERT_FATAL_MSG(rc == 0, "expected success, got %s", err.msg);
    DP_ASSERT_MSG(out.passthrough == 1 && out.body == msg + 5 && out.body_len == body.len,
                  "expected the body in place (passthrough %d, offset %td)", out.passthrough,
                  out.body - msg);
    DP_ASSERT_MSG(scratch.body.cap == 0, "pass-through must not touch the scratch, cap %zu",
                  scratch.body.cap);
    DP_ASSERT_MSG(out.format == DP_FORMAT_CONFLUENT && out.schema_id == 1, "format %d id %u",
                  out.format, out.schema_id);
    DP_ASSERT_MSG(sv_eq(out.ev.event_name, "order_completed") && sv_eq(out.ev.event_id, "e-1") &&
                      out.ev.event_time == 1764000000000000LL,
                  "views: %.*s %lld", (int)out.ev.event_name.len, out.ev.event_name.ptr,
                  (long long)out.ev.event_time);
    DP_ASSERT_MSG(out.ev.has_currency && sv_eq(out.ev.currency, "EUR") && out.ev.has_value &&
                      !out.ev.has_received_at,
                  "optional views wrong");
    free(msg);
    dp_buf_free(&body);
}

static void test_decode_old_writer_schema_maps_by_name(void)
{
    dp_err_t err = {DP_OK, 0, ""};
    dp_schema_t *s2 = dp_schema_load_file(DP_SOURCE_DIR "/schemas/ids/2.avsc", &err);
    dp_buf_t old, expect;
    dp_decoded_t out;
    uint8_t *msg;
    size_t len;
    int rc;

    DP_ASSERT_FATAL_MSG(s2 != NULL, "ids/2.avsc: %s", err.msg);
    DP_ASSERT_MSG(dp_decoder_schema_status(dec, 2, NULL) == 1, "schema 2 must be compatible");
    rc = encode(s2,
                "{\"event_id\":\"e-2\",\"event_name\":\"page_viewed\",\"merchant_id\":\"m-9\","
                "\"event_time\":1764000000000000,\"event_type\":\"page\","
                "\"received_at\":1764000000123,\"session_seq\":7,\"value\":\"5\","
                "\"currency\":\"USD\",\"properties\":{\"k\":\"v\"}}",
                &old);
    rc |= encode(dp_decoder_canonical(dec),
                 "{\"event_id\":\"e-2\",\"event_name\":\"page_viewed\","
                 "\"event_time\":1764000000000000,\"merchant_id\":\"m-9\",\"event_type\":\"page\","
                 "\"received_at\":1764000000123000,\"value\":\"5\",\"currency\":\"USD\","
                 "\"properties\":{\"k\":\"v\"}}",
                 &expect);
    if (rc == 0) {
        msg = frame(2, old.data, old.len, &len);
        rc = dp_decode_message(dec, NULL, msg, len, &out, &scratch, &err);
        DP_ASSERT_MSG(rc == 0, "expected success, got %s", err.msg);
        DP_ASSERT_MSG(rc == 0 && !out.passthrough && out.body_len == expect.len &&
                          memcmp(out.body, expect.data, expect.len) == 0,
                      "expected the canonical bytes (%zu), got %zu bytes", expect.len,
                      out.body_len);
        DP_ASSERT_MSG(out.ev.received_at == 1764000000123000LL, "millis must become micros: %lld",
                      (long long)out.ev.received_at);
        free(msg);

        /* The same body on a topic with a fixed writer schema. */
        DP_ASSERT_MSG(dp_decoder_set_topic_schema(dec, "legacy", 2, &err) == 0, "%s", err.msg);
        rc = dp_decode_message(dec, "legacy", old.data, old.len, &out, &scratch, &err);
        DP_ASSERT_MSG(rc == 0 && out.format == DP_FORMAT_PLAIN_AVRO && out.body_len == expect.len &&
                          memcmp(out.body, expect.data, expect.len) == 0,
                      "plain Avro topic: rc %d %s", rc, rc ? err.msg : "");
        DP_ASSERT_MSG(dp_decoder_set_topic_schema(dec, "x", 77, &err) == DP_ENOTFOUND,
                      "unknown id for a topic must be DP_ENOTFOUND");
    }
    dp_buf_free(&old);
    dp_buf_free(&expect);
    dp_schema_destroy(s2);
}

static void test_decode_old_writer_every_truncation_rejected(void)
{
    dp_err_t err = {DP_OK, 0, ""};
    dp_schema_t *s2 = dp_schema_load_file(DP_SOURCE_DIR "/schemas/ids/2.avsc", &err);
    dp_buf_t old;
    dp_decoded_t out;
    uint8_t *msg;
    size_t len, k;
    int rc;

    DP_ASSERT_FATAL_MSG(s2 != NULL, "ids/2.avsc: %s", err.msg);
    if (encode(s2,
               "{\"event_id\":\"e\",\"event_name\":\"a\",\"merchant_id\":\"m\",\"event_time\":"
               "1764000000000000,\"event_type\":\"t\",\"session_seq\":1,\"user_id\":\"u\","
               "\"properties\":{\"a\":\"b\",\"c\":\"d\"}}",
               &old) == 0) {
        for (k = 0; k < old.len; k++) {
            msg = frame(2, old.data, k, &len);
            rc = dp_decode_message(dec, NULL, msg, len, &out, &scratch, &err);
            DP_ASSERT_MSG(rc == DP_EINVAL && (out.reject.code == DP_REJ_TRUNCATED ||
                                              out.reject.code == DP_REJ_BAD_LENGTH),
                          "prefix %zu/%zu: got rc %d %s", k, old.len, rc, err.msg);
            free(msg);
        }
    }
    dp_buf_free(&old);
    dp_schema_destroy(s2);
}

static void test_decode_json_input_and_raw_payload(void)
{
    const char *with_unknown =
        "{" BASE ",\"cart_size\":3,\"attribution\":{\"channel\":\"ads\",\"x\":1}}";
    dp_avro_value_t f[DP_SCHEMA_MAX_FIELDS];
    dp_buf_t expect;
    dp_decoded_t out;
    dp_reject_t rej = {DP_REJ_NONE, "", ""};
    dp_err_t err = {DP_OK, 0, ""};
    int rc;

    if (encode(dp_decoder_canonical(dec), "{" BASE "}", &expect) < 0)
        return;
    rc = dp_decode_message(dec, NULL, "  {" BASE "}\n", strlen(BASE) + 5, &out, &scratch, &err);
    DP_ASSERT_MSG(rc == 0 && out.format == DP_FORMAT_JSON && out.body_len == expect.len &&
                      memcmp(out.body, expect.data, expect.len) == 0,
                  "JSON body: rc %d %s", rc, rc ? err.msg : "");
    dp_buf_free(&expect);

    rc = dp_decode_message(dec, NULL, with_unknown, strlen(with_unknown), &out, &scratch, &err);
    DP_ASSERT_FATAL_MSG(rc == 0, "unknown fields go to raw_payload, got %s", err.msg);
    rc = dp_avro_walk_record(dp_decoder_canonical(dec), 0, out.body, out.body_len, f,
                             DP_SCHEMA_MAX_FIELDS, &rej);
    DP_ASSERT_MSG(rc == 0 && f[18].branch == 1 && f[18].len == strlen(with_unknown) &&
                      memcmp(f[18].ptr, with_unknown, f[18].len) == 0,
                  "raw_payload must hold the original text (branch %d, %zu bytes)", f[18].branch,
                  f[18].len);
}

static void test_decode_json_timestamps_and_decimals(void)
{
    static const struct {
        const char *extra;
        int64_t received_at;
        int64_t unscaled;
    } ok[] = {
        {"\"received_at\":\"2026-11-24T06:41:55.123Z\",\"value\":\"12.34\"", 1795502515123000LL,
         123400},
        {"\"received_at\":\"2026-11-24T07:41:55.123456+01:00\",\"value\":12.34", 1795502515123456LL,
         123400},
        {"\"received_at\":\"2026-11-24T06:41:55.123456789Z\",\"value\":\"-0.5\"",
         1795502515123456LL, -5000},
        {"\"received_at\":1795502515000000,\"value\":7", 1795502515000000LL, 70000},
        {"\"received_at\":\"2000-01-01T00:00:00Z\",\"value\":\"99999999999999.9999\"",
         946684800000000LL, 999999999999999999LL},
        {"\"received_at\":\"2024-02-29T23:59:59-0130\",\"value\":\"-0.0001\"", 1709256599000000LL,
         -1},
    };
    char json[512];
    dp_decoded_t out;
    dp_err_t err = {DP_OK, 0, ""};
    int64_t u;
    size_t i;
    int rc;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        snprintf(json, sizeof(json), "{" BASE ",%s}", ok[i].extra);
        rc = dp_decode_message(dec, NULL, json, strlen(json), &out, &scratch, &err);
        DP_ASSERT_MSG(rc == 0, "%s: %s", ok[i].extra, err.msg);
        if (rc)
            continue;
        DP_ASSERT_MSG(out.ev.has_received_at && out.ev.received_at == ok[i].received_at,
                      "%s: expected received_at %lld, got %lld", ok[i].extra,
                      (long long)ok[i].received_at, (long long)out.ev.received_at);
        DP_ASSERT_MSG(dp_decimal_from_bytes(out.ev.value, out.ev.value_len, &u) == 0 &&
                          u == ok[i].unscaled,
                      "%s: expected unscaled %lld, got %lld", ok[i].extra,
                      (long long)ok[i].unscaled, (long long)u);
    }
}

typedef struct reject_case {
    const char *json;
    dp_reject_code_t code;
    const char *path;
} reject_case_t;

static void test_decode_json_rejections_name_code_and_path(void)
{
    static const reject_case_t cases[] = {
        {"{\"event_name\":\"a\",\"event_time\":1764000000000000,\"merchant_id\":\"m\"}",
         DP_REJ_MISSING_FIELD, "$.event_id"},
        {"{\"event_id\":\"e\",\"event_name\":\"a\",\"event_time\":1764000000000000}",
         DP_REJ_MISSING_FIELD, "$.merchant_id"},
        {"{\"event_id\":null,\"event_name\":\"a\",\"event_time\":1764000000000000,\"merchant_id\":\"m\"}",
         DP_REJ_MISSING_FIELD, "$.event_id"},
        {"{\"event_id\":\"\",\"event_name\":\"a\",\"event_time\":1764000000000000,\"merchant_id\":\"m\"}",
         DP_REJ_BAD_EVENT_ID, "$.event_id"},
        {"{\"event_id\":\"e\",\"event_name\":\"a\",\"event_time\":1764000000000000,\"merchant_id\":\"\"}",
         DP_REJ_BAD_MERCHANT_ID, "$.merchant_id"},
        {"{\"event_id\":\"e\",\"event_name\":\"Order Completed\",\"event_time\":1764000000000000,\"merchant_id\":\"m\"}",
         DP_REJ_BAD_EVENT_NAME, "$.event_name"},
        {"{\"event_id\":\"e\",\"event_name\":\"a\",\"event_time\":\"2026-13-01T00:00:00Z\",\"merchant_id\":\"m\"}",
         DP_REJ_BAD_TIMESTAMP, "$.event_time"},
        {"{\"event_id\":\"e\",\"event_name\":\"a\",\"event_time\":946684799999999,\"merchant_id\":\"m\"}",
         DP_REJ_BAD_TIMESTAMP, "$.event_time"},
        {"{\"event_id\":\"e\",\"event_name\":\"a\",\"event_time\":true,\"merchant_id\":\"m\"}",
         DP_REJ_BAD_TIMESTAMP, "$.event_time"},
        {"{" BASE ",\"received_at\":\"yesterday\"}", DP_REJ_BAD_TIMESTAMP, "$.received_at"},
        {"{" BASE ",\"user_id\":5}", DP_REJ_BAD_TYPE, "$.user_id"},
        {"{" BASE ",\"currency\":\"usd\"}", DP_REJ_BAD_CURRENCY, "$.currency"},
        {"{" BASE ",\"currency\":\"XYZ\"}", DP_REJ_BAD_CURRENCY, "$.currency"},
        {"{" BASE ",\"value\":\"12.34567\"}", DP_REJ_BAD_DECIMAL, "$.value"},
        {"{" BASE ",\"value\":1.23456}", DP_REJ_BAD_DECIMAL, "$.value"},
        {"{" BASE ",\"value\":\"1e3\"}", DP_REJ_BAD_DECIMAL, "$.value"},
        {"{" BASE ",\"value\":\"100000000000000\"}", DP_REJ_BAD_DECIMAL, "$.value"},
        {"{" BASE ",\"value\":true}", DP_REJ_BAD_TYPE, "$.value"},
        {"{" BASE ",\"attribution\":{\"channel\":3}}", DP_REJ_BAD_TYPE, "$.attribution.channel"},
        {"{" BASE ",\"properties\":{\"qty\":2}}", DP_REJ_BAD_TYPE, "$.properties.qty"},
        {"{" BASE ",\"context\":\"x\"}", DP_REJ_BAD_TYPE, "$.context"},
        {"{" BASE ",\"foo\":1,\"raw_payload\":\"kept\"}", DP_REJ_UNKNOWN_FIELD, "$.foo"},
        {"{" BASE ",\"attribution\":{\"foo\":1},\"raw_payload\":\"r\"}", DP_REJ_UNKNOWN_FIELD,
         "$.attribution.foo"},
        {"{bad", DP_REJ_BAD_JSON, "$"},
        {"{" BASE ",\"event_id\":\"dup\"}", DP_REJ_BAD_JSON, "$"},
        {"{" BASE "} trailing", DP_REJ_BAD_JSON, "$"},
        {"[1,2]", DP_REJ_FRAMING, "$"},
        {"", DP_REJ_FRAMING, "$"},
    };
    dp_decoded_t out;
    dp_err_t err = {DP_OK, 0, ""};
    size_t i;
    int rc;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rc = dp_decode_message(dec, NULL, cases[i].json, strlen(cases[i].json), &out, &scratch,
                               &err);
        DP_ASSERT_MSG(rc == DP_EINVAL && out.reject.code == cases[i].code &&
                          strcmp(out.reject.path, cases[i].path) == 0 && out.body == NULL,
                      "case %zu %s: expected %s at %s, got rc %d '%s'", i, cases[i].json,
                      dp_reject_name(cases[i].code), cases[i].path, rc, err.msg);
        DP_ASSERT_MSG(rc == 0 || strncmp(err.msg, dp_reject_name(cases[i].code),
                                         strlen(dp_reject_name(cases[i].code))) == 0,
                      "err.msg must start with the code: %s", err.msg);
    }
}

static void expect_avro(const void *msg, size_t len, dp_reject_code_t code, const char *path)
{
    dp_decoded_t out;
    dp_err_t err = {DP_OK, 0, ""};
    int rc = dp_decode_message(dec, NULL, msg, len, &out, &scratch, &err);

    DP_ASSERT_MSG(rc == DP_EINVAL && out.reject.code == code && strcmp(out.reject.path, path) == 0,
                  "expected %s at %s, got rc %d %s", dp_reject_name(code), path, rc,
                  rc ? err.msg : "success");
}

static void test_decode_avro_rejections(void)
{
    static const uint8_t short_frame[] = {0x00, 0x00, 0x01};
    static const uint8_t binary[] = {0x05, 0x01};
    dp_buf_t body;
    uint8_t *msg;
    size_t len;

    if (encode(dp_decoder_canonical(dec), "{" BASE "}", &body) < 0)
        return;
    expect_avro(short_frame, sizeof(short_frame), DP_REJ_FRAMING, "$");
    expect_avro(binary, sizeof(binary), DP_REJ_FRAMING, "$");
    msg = frame(99, body.data, body.len, &len);
    expect_avro(msg, len, DP_REJ_UNKNOWN_SCHEMA_ID, "$");
    free(msg);
    msg = frame(1, body.data, body.len - 1, &len);
    expect_avro(msg, len, DP_REJ_TRUNCATED, "$.raw_payload");
    free(msg);
    dp_buf_append(&body, "\x00", 1, NULL);
    msg = frame(1, body.data, body.len, &len);
    expect_avro(msg, len, DP_REJ_TRAILING_BYTES, "$");
    dp_decoder_set_max_message(dec, 16);
    expect_avro(msg, len, DP_REJ_TOO_LARGE, "$");
    dp_decoder_set_max_message(dec, DP_DECODE_DEFAULT_MAX_MESSAGE);
    free(msg);
    msg = frame(1,
                "\x02"
                "e\x02n\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01",
                15, &len);
    expect_avro(msg, len, DP_REJ_BAD_VARINT, "$.event_time");
    free(msg);
    dp_buf_free(&body);
}

static void test_decode_incompatible_and_evolved_writers(void)
{
    const char *no_merchant =
        "{\"type\":\"record\",\"name\":\"E\",\"fields\":[{\"name\":\"event_id\",\"type\":\"string\"},"
        "{\"name\":\"event_name\",\"type\":\"string\"},{\"name\":\"event_time\",\"type\":\"long\"}]}";
    const char *evolved =
        "{\"type\":\"record\",\"name\":\"E\",\"fields\":["
        "{\"name\":\"merchant_id\",\"type\":\"string\"},"
        "{\"name\":\"event_id\",\"type\":[\"null\",\"string\"]},"
        "{\"name\":\"event_name\",\"type\":\"string\"},{\"name\":\"event_time\",\"type\":\"long\"},"
        "{\"name\":\"value\",\"type\":[\"null\",\"string\"]},"
        "{\"name\":\"attribution\",\"type\":{\"type\":\"record\",\"name\":\"A\",\"fields\":["
        "{\"name\":\"extra\",\"type\":\"int\"},{\"name\":\"channel\",\"type\":\"string\"}]}}]}";
    dp_schema_t *ws;
    dp_buf_t body, expect;
    dp_decoded_t out;
    dp_err_t err = {DP_OK, 0, ""};
    const char *why = NULL;
    uint8_t *msg;
    size_t len;

    DP_ASSERT_FATAL_MSG(dp_decoder_add_schema(dec, 3, no_merchant, strlen(no_merchant), &err) == 0,
                        "add 3: %s", err.msg);
    DP_ASSERT_MSG(dp_decoder_schema_status(dec, 3, &why) == 0 && strstr(why, "$.merchant_id"),
                  "schema 3 must be incompatible naming $.merchant_id, got %s", why ? why : "");
    DP_ASSERT_MSG(dp_decoder_add_schema(dec, 9, "{\"type\":", 8, &err) == DP_EINVAL,
                  "bad JSON must be refused");
    DP_ASSERT_MSG(dp_decoder_schema_status(dec, 9, NULL) == -1, "schema 9 must not be added");
    msg = frame(3,
                "\x02"
                "e",
                2, &len);
    expect_avro(msg, len, DP_REJ_INCOMPATIBLE_SCHEMA, "$");
    free(msg);

    DP_ASSERT_FATAL_MSG(dp_decoder_add_schema(dec, 4, evolved, strlen(evolved), &err) == 0 &&
                            dp_decoder_schema_status(dec, 4, NULL) == 1,
                        "schema 4 must be compatible");
    ws = dp_schema_parse(evolved, strlen(evolved), &err);
    if (encode(ws,
               "{\"merchant_id\":\"m\",\"event_id\":\"e\",\"event_name\":\"a\","
               "\"event_time\":1764000000000000,\"value\":null,"
               "\"attribution\":{\"extra\":5,\"channel\":\"ads\"}}",
               &body) == 0 &&
        encode(dp_decoder_canonical(dec),
               "{\"merchant_id\":\"m\",\"event_id\":\"e\",\"event_name\":\"a\","
               "\"event_time\":1764000000000000,\"attribution\":{\"channel\":\"ads\"}}",
               &expect) == 0) {
        msg = frame(4, body.data, body.len, &len);
        DP_ASSERT_MSG(dp_decode_message(dec, NULL, msg, len, &out, &scratch, &err) == 0 &&
                          out.body_len == expect.len &&
                          memcmp(out.body, expect.data, expect.len) == 0,
                      "evolved writer must map to the canonical bytes: %s", err.msg);
        free(msg);
        dp_buf_free(&body);
        dp_buf_free(&expect);
    }
    if (encode(ws,
               "{\"merchant_id\":\"m\",\"event_id\":null,\"event_name\":\"a\","
               "\"event_time\":1764000000000000,\"value\":null,"
               "\"attribution\":{\"extra\":5,\"channel\":\"ads\"}}",
               &body) == 0) {
        msg = frame(4, body.data, body.len, &len);
        expect_avro(msg, len, DP_REJ_MISSING_FIELD, "$.event_id");
        free(msg);
        dp_buf_free(&body);
    }
    if (encode(ws,
               "{\"merchant_id\":\"m\",\"event_id\":\"e\",\"event_name\":\"a\","
               "\"event_time\":1764000000000000,\"value\":\"12\","
               "\"attribution\":{\"extra\":5,\"channel\":\"ads\"}}",
               &body) == 0) {
        msg = frame(4, body.data, body.len, &len);
        expect_avro(msg, len, DP_REJ_BAD_TYPE, "$.value");
        free(msg);
        dp_buf_free(&body);
    }
    dp_schema_destroy(ws);
}

static void test_decode_output_is_bounded_by_scratch(void)
{
    const char *json =
        "{" BASE ",\"context\":{\"user_agent\":\"Mozilla/5.0 (X11; Linux x86_64) long enough\"}}";
    dp_decode_scratch_t small;
    dp_decoded_t out;
    dp_err_t err = {DP_OK, 0, ""};
    int rc;

    dp_decode_scratch_init(&small, 32);
    rc = dp_decode_message(dec, NULL, json, strlen(json), &out, &small, &err);
    DP_ASSERT_MSG(rc == DP_EINVAL && out.reject.code == DP_REJ_TOO_LARGE && small.body.cap <= 32,
                  "expected TOO_LARGE within a 32-byte scratch, got rc %d %s (cap %zu)", rc,
                  err.msg, small.body.cap);
    dp_decode_scratch_free(&small);
    dp_decode_scratch_init(&small, 1 << 16);
    rc = dp_decode_message(dec, NULL, json, strlen(json), &out, &small, &err);
    DP_ASSERT_MSG(rc == 0 && out.body == small.body.data, "the same event fits 64 KiB: %s",
                  err.msg);
    dp_decode_scratch_free(&small);
}

static const dp_test_case_t cases[] = {
    {"test_decode_canonical_is_passed_through_without_copy",
     test_decode_canonical_is_passed_through_without_copy},
    {"test_decode_old_writer_schema_maps_by_name", test_decode_old_writer_schema_maps_by_name},
    {"test_decode_old_writer_every_truncation_rejected",
     test_decode_old_writer_every_truncation_rejected},
    {"test_decode_json_input_and_raw_payload", test_decode_json_input_and_raw_payload},
    {"test_decode_json_timestamps_and_decimals", test_decode_json_timestamps_and_decimals},
    {"test_decode_json_rejections_name_code_and_path",
     test_decode_json_rejections_name_code_and_path},
    {"test_decode_avro_rejections", test_decode_avro_rejections},
    {"test_decode_incompatible_and_evolved_writers", test_decode_incompatible_and_evolved_writers},
    {"test_decode_output_is_bounded_by_scratch", test_decode_output_is_bounded_by_scratch},
    {NULL, NULL}};

static const dp_test_suite_t suites[] = {{"decode", suite_init, suite_cleanup, cases},
                                         {NULL, NULL, NULL, NULL}};

int main(int argc, char **argv)
{
    return dp_test_main(argc, argv, suites);
}
