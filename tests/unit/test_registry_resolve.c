/*
 * Resolution of evolved writer schemas into the reader, by our own code
 * (src/codec/resolve.c), for the pairs that crash avro-c 1.11.1's resolver
 * (docs/PLATFORM.md "Schemas": the reader adds a field): the canonical reader with
 * writers that lack optional fields, reorder fields, drop fields the reader
 * no longer has, or write int/float where the reader reads long/double; and
 * incompatible writers, rejected per message with the field and the rule.
 * Every case decodes a real message and compares the mapped bytes with the
 * reader's own encoding of the expected values.
 */
#include "codec/decode.h"
#include "codec/json_event.h"
#include "codec/resolve.h"
#include "dp_test.h"

#include <stdlib.h>
#include <string.h>

static dp_decoder_t *dec;
static dp_decode_scratch_t scratch;

static int suite_init(void)
{
    dp_err_t err = {DP_OK, 0, ""};

    dec = dp_decoder_open(DP_SOURCE_DIR "/schemas", &err);
    dp_decode_scratch_init(&scratch, 1 << 20);
    return dec ? 0 : 1;
}

static int suite_cleanup(void)
{
    dp_decoder_destroy(dec);
    dp_decode_scratch_free(&scratch);
    return 0;
}

/* Encodes json with schema into out (initialised here; caller frees). */
static int encode(const dp_schema_t *schema, const char *json, dp_buf_t *out)
{
    json_t *root = json_loads(json, 0, NULL);
    dp_reject_t rej = {DP_REJ_NONE, "", ""};
    int rc;

    dp_buf_init(out, 1 << 16);
    rc = root ? dp_json_event_encode(schema, root, json, strlen(json), out, &rej) : -1;
    json_decref(root);
    DP_ASSERT_MSG(rc == 0, "encoding %s: %s %s", json, rej.path, rej.reason);
    return rc;
}

static uint8_t *frame(uint32_t id, const dp_buf_t *body, size_t *len)
{
    uint8_t *p = malloc(body->len + 5);

    p[0] = 0;
    p[1] = (uint8_t)(id >> 24);
    p[2] = (uint8_t)(id >> 16);
    p[3] = (uint8_t)(id >> 8);
    p[4] = (uint8_t)id;
    memcpy(p + 5, body->data, body->len);
    *len = body->len + 5;
    return p;
}

/* Adds writer `id`, encodes `data` with it, decodes through the canonical
 * reader and compares with the canonical encoding of `expect`. */
static void check_maps(uint32_t id, const char *writer, const char *data, const char *expect)
{
    dp_err_t err = {DP_OK, 0, ""};
    dp_schema_t *ws = dp_schema_parse(writer, strlen(writer), &err);
    dp_buf_t body = {0}, want = {0};
    dp_decoded_t out;
    const char *why = NULL;
    uint8_t *msg;
    size_t len;
    int rc;

    DP_ASSERT_FATAL_MSG(ws != NULL, "writer %u: %s", id, err.msg);
    rc = dp_decoder_add_schema(dec, id, writer, strlen(writer), &err);
    DP_ASSERT_MSG(rc == 0 && dp_decoder_schema_status(dec, id, &why) == 1,
                  "writer %u must be compatible, got %s", id, why ? why : err.msg);
    if (encode(ws, data, &body) == 0 && encode(dp_decoder_canonical(dec), expect, &want) == 0) {
        msg = frame(id, &body, &len);
        rc = dp_decode_message(dec, NULL, msg, len, &out, &scratch, &err);
        DP_ASSERT_MSG(rc == 0 && out.body_len == want.len &&
                          memcmp(out.body, want.data, want.len) == 0,
                      "writer %u: expected the canonical bytes of %s (%zu bytes), got rc %d %s "
                      "(%zu bytes)",
                      id, expect, want.len, rc, rc ? err.msg : "", rc ? 0 : out.body_len);
        free(msg);
    }
    dp_buf_free(&body);
    dp_buf_free(&want);
    dp_schema_destroy(ws);
}

static void test_resolve_writer_lacking_every_optional_field(void)
{
    /* The canonical reader adds 15 optional fields to this writer: the pair
     * that makes avro_resolved_writer_new abort (B.1). Fields reordered. */
    check_maps(
        501,
        "{\"type\":\"record\",\"name\":\"Minimal\",\"namespace\":\"shop\",\"fields\":["
        "{\"name\":\"merchant_id\",\"type\":\"string\"},"
        "{\"name\":\"event_time\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}},"
        "{\"name\":\"event_name\",\"type\":\"string\"},"
        "{\"name\":\"event_id\",\"type\":\"string\"}]}",
        "{\"merchant_id\":\"m-1\",\"event_time\":1764000000000000,"
        "\"event_name\":\"cart_viewed\",\"event_id\":\"e-501\"}",
        "{\"event_id\":\"e-501\",\"event_name\":\"cart_viewed\","
        "\"event_time\":1764000000000000,\"merchant_id\":\"m-1\"}");
}

static void test_resolve_writer_with_extra_fields_and_nested_changes(void)
{
    /* Writer fields the reader lacks are dropped (also inside context), the
     * writer's context record lacks most reader fields, properties moved. */
    check_maps(
        502,
        "{\"type\":\"record\",\"name\":\"V2\",\"fields\":["
        "{\"name\":\"event_id\",\"type\":\"string\"},"
        "{\"name\":\"legacy_score\",\"type\":\"int\"},"
        "{\"name\":\"properties\",\"type\":[\"null\",{\"type\":\"map\",\"values\":\"string\"}],\"default\":null},"
        "{\"name\":\"event_name\",\"type\":\"string\"},"
        "{\"name\":\"context\",\"type\":[\"null\",{\"type\":\"record\",\"name\":\"Ctx\",\"fields\":["
        "{\"name\":\"device_model\",\"type\":\"string\"},{\"name\":\"locale\",\"type\":[\"null\",\"string\"],\"default\":null}]}],\"default\":null},"
        "{\"name\":\"event_time\",\"type\":\"long\"},"
        "{\"name\":\"merchant_id\",\"type\":\"string\"},"
        "{\"name\":\"user_id\",\"type\":[\"null\",\"string\"],\"default\":null}]}",
        "{\"event_id\":\"e-502\",\"legacy_score\":42,\"properties\":{\"sku\":\"A-1\"},"
        "\"event_name\":\"item_added\",\"context\":{\"device_model\":\"x\",\"locale\":\"de-DE\"},"
        "\"event_time\":1764000000000000,\"merchant_id\":\"m-2\",\"user_id\":\"u-9\"}",
        "{\"event_id\":\"e-502\",\"event_name\":\"item_added\",\"event_time\":1764000000000000,"
        "\"merchant_id\":\"m-2\",\"user_id\":\"u-9\",\"context\":{\"locale\":\"de-DE\"},"
        "\"properties\":{\"sku\":\"A-1\"}}");
}

static void test_resolve_non_union_writer_into_optional_reader(void)
{
    /* A writer that made optional fields required (plain string) and wrote
     * received_at in millis: read into the reader's unions, millis -> micros. */
    check_maps(
        503,
        "{\"type\":\"record\",\"name\":\"V3\",\"fields\":["
        "{\"name\":\"event_id\",\"type\":\"string\"},{\"name\":\"event_name\",\"type\":\"string\"},"
        "{\"name\":\"event_time\",\"type\":\"long\"},{\"name\":\"merchant_id\",\"type\":\"string\"},"
        "{\"name\":\"currency\",\"type\":\"string\"},"
        "{\"name\":\"received_at\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}}]}",
        "{\"event_id\":\"e\",\"event_name\":\"paid\",\"event_time\":1764000000000000,"
        "\"merchant_id\":\"m\",\"currency\":\"EUR\",\"received_at\":1764000000123}",
        "{\"event_id\":\"e\",\"event_name\":\"paid\",\"event_time\":1764000000000000,"
        "\"merchant_id\":\"m\",\"currency\":\"EUR\",\"received_at\":1764000000123000}");
}

/* The canonical schema has no int or float field, so promotions are checked
 * on a small reader: int->long, float->double, int->double, a reader field
 * with a non-null default the writer lacks, a removed writer field. */
static void test_resolve_promotions_and_defaults_on_a_small_reader(void)
{
    const char *reader = "{\"type\":\"record\",\"name\":\"R\",\"fields\":["
                         "{\"name\":\"n\",\"type\":\"long\"},{\"name\":\"x\",\"type\":\"double\"},"
                         "{\"name\":\"y\",\"type\":[\"null\",\"double\"],\"default\":null},"
                         "{\"name\":\"tier\",\"type\":\"string\",\"default\":\"basic\"},"
                         "{\"name\":\"note\",\"type\":[\"null\",\"string\"],\"default\":null}]}";
    const char *writer =
        "{\"type\":\"record\",\"name\":\"W\",\"fields\":["
        "{\"name\":\"gone\",\"type\":\"string\"},{\"name\":\"y\",\"type\":\"int\"},"
        "{\"name\":\"x\",\"type\":\"float\"},{\"name\":\"n\",\"type\":\"int\"}]}";
    dp_err_t err = {DP_OK, 0, ""};
    dp_schema_t *rs = dp_schema_parse(reader, strlen(reader), &err);
    dp_schema_t *ws = dp_schema_parse(writer, strlen(writer), &err);
    dp_buf_t in = {0}, out = {0}, want = {0};
    dp_reject_t rej = {DP_REJ_NONE, "", ""};
    dp_resolver_t *res = NULL;
    char why[256] = "";
    int rc;

    DP_ASSERT_FATAL_MSG(rs && ws, "schemas: %s", err.msg);
    res = dp_resolver_new(ws, rs, why, sizeof(why));
    DP_ASSERT_MSG(res != NULL, "int->long, float->double, int->double must resolve: %s", why);
    if (res && encode(ws, "{\"gone\":\"zz\",\"y\":-3,\"x\":1.5,\"n\":2147483647}", &in) == 0 &&
        encode(rs, "{\"n\":2147483647,\"x\":1.5,\"y\":-3.0,\"tier\":\"basic\",\"note\":null}",
               &want) == 0) {
        dp_buf_init(&out, 1 << 16);
        rc = dp_resolver_run(res, in.data, in.len, &out, &rej);
        DP_ASSERT_MSG(rc == 0 && out.len == want.len && memcmp(out.data, want.data, want.len) == 0,
                      "expected n=2147483647 x=1.5 y=-3.0 tier=basic note=null (%zu bytes), got "
                      "rc %d %s %s (%zu bytes)",
                      want.len, rc, rej.path, rej.reason, out.len);
    }
    dp_resolver_destroy(res);
    /* and the reverse is not allowed: long cannot be read as int */
    res = dp_resolver_new(rs, ws, why, sizeof(why));
    DP_ASSERT_MSG(res == NULL && strstr(why, "$."),
                  "reader int from writer long must be "
                  "refused with a field path, got %s",
                  res ? "compatible" : why);
    dp_resolver_destroy(res);
    dp_buf_free(&in);
    dp_buf_free(&out);
    dp_buf_free(&want);
    dp_schema_destroy(rs);
    dp_schema_destroy(ws);
}

/* Expects every message of writer id to be INCOMPATIBLE_SCHEMA naming path
 * and rule. */
static void check_incompatible(uint32_t id, const char *writer, const char *path, const char *rule)
{
    dp_err_t err = {DP_OK, 0, ""};
    const char *why = NULL;
    dp_decoded_t out;
    uint8_t msg[6] = {0, (uint8_t)(id >> 24), (uint8_t)(id >> 16), (uint8_t)(id >> 8), (uint8_t)id,
                      0};
    int rc;

    rc = dp_decoder_add_schema(dec, id, writer, strlen(writer), &err);
    DP_ASSERT_MSG(rc == 0 && dp_decoder_schema_status(dec, id, &why) == 0,
                  "writer %u must be loaded and incompatible (%d)", id, rc);
    rc = dp_decode_message(dec, NULL, msg, sizeof(msg), &out, &scratch, &err);
    DP_ASSERT_MSG(rc == DP_EINVAL && out.reject.code == DP_REJ_INCOMPATIBLE_SCHEMA &&
                      strstr(out.reject.reason, path) && strstr(out.reject.reason, rule),
                  "writer %u: expected INCOMPATIBLE_SCHEMA naming %s and \"%s\", got %s %s", id,
                  path, rule, dp_reject_name(out.reject.code), out.reject.reason);
}

static void test_resolve_incompatible_writers_name_field_and_rule(void)
{
    check_incompatible(
        511,
        "{\"type\":\"record\",\"name\":\"W\",\"fields\":["
        "{\"name\":\"event_id\",\"type\":\"string\"},{\"name\":\"event_name\",\"type\":\"string\"},"
        "{\"name\":\"event_time\",\"type\":\"long\"},{\"name\":\"merchant_id\",\"type\":\"long\"}]}",
        "$.merchant_id", "cannot be read as");
    check_incompatible(
        512,
        "{\"type\":\"record\",\"name\":\"W\",\"fields\":["
        "{\"name\":\"event_name\",\"type\":\"string\"},"
        "{\"name\":\"event_time\",\"type\":\"long\"},{\"name\":\"merchant_id\",\"type\":\"string\"}]}",
        "$.event_id", "no default");
    check_incompatible(
        513,
        "{\"type\":\"record\",\"name\":\"W\",\"fields\":["
        "{\"name\":\"event_id\",\"type\":\"string\"},{\"name\":\"event_name\",\"type\":\"string\"},"
        "{\"name\":\"event_time\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}},"
        "{\"name\":\"merchant_id\",\"type\":\"string\"},"
        "{\"name\":\"value\",\"type\":{\"type\":\"bytes\",\"logicalType\":\"decimal\","
        "\"precision\":18,\"scale\":2}}]}",
        "$.value", "union");
}

static const dp_test_case_t cases[] = {{"test_resolve_writer_lacking_every_optional_field",
                                        test_resolve_writer_lacking_every_optional_field},
                                       {"test_resolve_writer_with_extra_fields_and_nested_changes",
                                        test_resolve_writer_with_extra_fields_and_nested_changes},
                                       {"test_resolve_non_union_writer_into_optional_reader",
                                        test_resolve_non_union_writer_into_optional_reader},
                                       {"test_resolve_promotions_and_defaults_on_a_small_reader",
                                        test_resolve_promotions_and_defaults_on_a_small_reader},
                                       {"test_resolve_incompatible_writers_name_field_and_rule",
                                        test_resolve_incompatible_writers_name_field_and_rule},
                                       {NULL, NULL}};

static const dp_test_suite_t suites[] = {{"registry_resolve", suite_init, suite_cleanup, cases},
                                         {NULL, NULL, NULL, NULL}};

int main(int argc, char **argv)
{
    return dp_test_main(argc, argv, suites);
}
