/*
 * Unit tests of schema: the canonical schema compiles with its logical
 * types and defaults (which avro-c drops), named types and recursion, the
 * errors of bad schemas, and structural equality.
 */
#include "codec/schema.h"
#include "dp_test.h"

#include <stdlib.h>
#include <string.h>

static dp_schema_t *load(const char *rel)
{
    char path[1024];
    dp_err_t err = {DP_OK, 0, ""};
    dp_schema_t *s;

    snprintf(path, sizeof(path), "%s/%s", DP_SOURCE_DIR, rel);
    s = dp_schema_load_file(path, &err);
    DP_ASSERT_MSG(s != NULL, "expected %s to load, got %s", rel, s ? "" : err.msg);
    return s;
}

static const dp_schema_node_t *field_node(const dp_schema_t *s, uint32_t rec, const char *name)
{
    int i = dp_schema_field_index(s, rec, name);

    if (i < 0)
        return NULL;
    return &s->nodes[dp_schema_field(s, rec, (uint32_t)i)->node];
}

static void test_schema_canonical_fields_and_logical_types(void)
{
    static const char *const order[] = {
        "event_id",    "event_name", "event_time",   "merchant_id",    "event_type",
        "received_at", "user_id",    "anonymous_id", "order_id",       "platform",
        "source",      "value",      "currency",     "consent_status", "match_quality",
        "attribution", "context",    "properties",   "raw_payload"};
    dp_schema_t *s = load("schemas/canonical_event.avsc");
    const dp_schema_node_t *nd;
    int nb, vb, inner;
    size_t i;

    if (!s)
        return;
    DP_ASSERT_MSG(strcmp(s->nodes[0].name, "io.deltaport.CanonicalEvent") == 0, "got name %s",
                  s->nodes[0].name);
    DP_ASSERT_MSG(s->nodes[0].n == sizeof(order) / sizeof(order[0]), "expected %zu fields, got %u",
                  sizeof(order) / sizeof(order[0]), s->nodes[0].n);
    for (i = 0; i < sizeof(order) / sizeof(order[0]) && i < s->nodes[0].n; i++)
        DP_ASSERT_MSG(strcmp(dp_schema_field(s, 0, (uint32_t)i)->name, order[i]) == 0,
                      "field %zu: expected %s, got %s", i, order[i],
                      dp_schema_field(s, 0, (uint32_t)i)->name);
    nd = field_node(s, 0, "event_time");
    DP_ASSERT_MSG(nd && nd->type == DP_AVRO_LONG && nd->logical == DP_LT_TIMESTAMP_MICROS,
                  "expected event_time long timestamp-micros, got type %d logical %d",
                  nd ? nd->type : -1, nd ? nd->logical : -1);
    DP_ASSERT_MSG(dp_schema_field(s, 0, 0)->defval == NULL, "event_id must have no default");
    inner = dp_schema_nullable(s, dp_schema_field(s, 0, 11)->node, &nb, &vb);
    DP_ASSERT_FATAL_MSG(inner >= 0 && nb == 0 && vb == 1, "expected value as [null, T], got %d",
                        inner);
    nd = &s->nodes[inner];
    DP_ASSERT_MSG(nd->type == DP_AVRO_BYTES && nd->logical == DP_LT_DECIMAL &&
                      nd->precision == 18 && nd->scale == 4,
                  "expected bytes decimal(18,4), got type %d logical %d (%d,%d)", nd->type,
                  nd->logical, nd->precision, nd->scale);
    DP_ASSERT_MSG(json_is_null(dp_schema_field(s, 0, 11)->defval), "value default must be null");
    inner = dp_schema_nullable(s, dp_schema_field(s, 0, 15)->node, &nb, &vb);
    DP_ASSERT_FATAL_MSG(inner >= 0, "attribution must be nullable");
    DP_ASSERT_MSG(s->nodes[inner].type == DP_AVRO_RECORD && s->nodes[inner].n == 5 &&
                      strcmp(s->nodes[inner].name, "io.deltaport.Attribution") == 0,
                  "expected record io.deltaport.Attribution of 5 fields, got %s of %u",
                  s->nodes[inner].name ? s->nodes[inner].name : "?", s->nodes[inner].n);
    DP_ASSERT_MSG(s->nodes[0].minsize == 4 + 15, "expected minimal encoding 19 bytes, got %u",
                  s->nodes[0].minsize);
    dp_schema_destroy(s);
}

static void test_schema_named_reference_and_recursion(void)
{
    const char *text = "{\"type\":\"record\",\"name\":\"Node\",\"namespace\":\"t\",\"fields\":["
                       "{\"name\":\"v\",\"type\":{\"type\":\"fixed\",\"name\":\"F\",\"size\":2}},"
                       "{\"name\":\"w\",\"type\":\"t.F\"},"
                       "{\"name\":\"next\",\"type\":[\"null\",\"Node\"],\"default\":null}]}";
    dp_err_t err = {DP_OK, 0, ""};
    dp_schema_t *s = dp_schema_parse(text, strlen(text), &err);
    int nb, vb, inner;

    DP_ASSERT_FATAL_MSG(s != NULL, "expected the schema to compile, got %s", err.msg);
    DP_ASSERT_MSG(dp_schema_field(s, 0, 0)->node == dp_schema_field(s, 0, 1)->node,
                  "a reference to t.F must reuse its node");
    inner = dp_schema_nullable(s, dp_schema_field(s, 0, 2)->node, &nb, &vb);
    DP_ASSERT_MSG(inner == 0, "recursive reference must point at the root, got %d", inner);
    DP_ASSERT_MSG(dp_schema_equal(s, 0, s, 0) == 0,
                  "recursive schemas compare unequal past the depth bound");
    dp_schema_destroy(s);
}

static void expect_error(const char *text, const char *needle)
{
    dp_err_t err = {DP_OK, 0, ""};
    dp_schema_t *s = dp_schema_parse(text, strlen(text), &err);

    DP_ASSERT_MSG(s == NULL, "expected '%s' to be refused", text);
    DP_ASSERT_MSG(s != NULL || strstr(err.msg, needle) != NULL,
                  "expected an error containing '%s', got '%s'", needle, err.msg);
    dp_schema_destroy(s);
}

static void test_schema_rejects_bad_schemas(void)
{
    expect_error("{\"type\":\"record\",", "schema JSON");
    expect_error("\"string\"", "not a record");
    expect_error(
        "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"Nope\"}]}",
        "unknown type name 'Nope'");
    expect_error(
        "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"},"
        "{\"name\":\"a\",\"type\":\"int\"}]}",
        "field 'a' twice");
    expect_error("{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":"
                 "[\"null\",[\"int\"]]}]}",
                 "union directly inside a union");
    expect_error("{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":"
                 "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[]}}]}",
                 "without symbols");
    expect_error(
        "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"R2\"}],"
        "\"x\":1,\"x\":2}",
        "duplicate");
}

static void test_schema_invalid_logical_type_is_ignored(void)
{
    const char *text =
        "{\"type\":\"record\",\"name\":\"R\",\"fields\":["
        "{\"name\":\"a\",\"type\":{\"type\":\"string\",\"logicalType\":\"decimal\"}},"
        "{\"name\":\"b\",\"type\":{\"type\":\"bytes\",\"logicalType\":\"decimal\","
        "\"precision\":4,\"scale\":9}},"
        "{\"name\":\"c\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}}]}";
    dp_err_t err = {DP_OK, 0, ""};
    dp_schema_t *s = dp_schema_parse(text, strlen(text), &err);

    DP_ASSERT_FATAL_MSG(s != NULL, "expected the schema to compile, got %s", err.msg);
    DP_ASSERT_MSG(field_node(s, 0, "a")->logical == DP_LT_NONE, "decimal on string is ignored");
    DP_ASSERT_MSG(field_node(s, 0, "b")->logical == DP_LT_NONE, "scale > precision is ignored");
    DP_ASSERT_MSG(field_node(s, 0, "c")->logical == DP_LT_TIMESTAMP_MILLIS,
                  "expected timestamp-millis, got %d", field_node(s, 0, "c")->logical);
    dp_schema_destroy(s);
}

static void test_schema_equality_of_shipped_writer_schemas(void)
{
    dp_schema_t *canon = load("schemas/canonical_event.avsc");
    dp_schema_t *id1 = load("schemas/ids/1.avsc");
    dp_schema_t *id2 = load("schemas/ids/2.avsc");

    if (canon && id1 && id2) {
        DP_ASSERT_MSG(dp_schema_equal(canon, 0, id1, 0) == 1, "ids/1.avsc must equal canonical");
        DP_ASSERT_MSG(dp_schema_equal(canon, 0, id2, 0) == 0, "ids/2.avsc must differ");
        DP_ASSERT_MSG(dp_schema_field_index(id2, 0, "attribution") < 0,
                      "ids/2.avsc has no attribution");
    }
    dp_schema_destroy(canon);
    dp_schema_destroy(id1);
    dp_schema_destroy(id2);
}

static void test_schema_reject_names_are_stable(void)
{
    dp_reject_t rej = {DP_REJ_NONE, "", ""};

    DP_ASSERT_MSG(strcmp(dp_reject_name(DP_REJ_BAD_CURRENCY), "BAD_CURRENCY") == 0, "got %s",
                  dp_reject_name(DP_REJ_BAD_CURRENCY));
    DP_ASSERT_MSG(strcmp(dp_reject_name(DP_REJ_INCOMPATIBLE_SCHEMA), "INCOMPATIBLE_SCHEMA") == 0,
                  "got %s", dp_reject_name(DP_REJ_INCOMPATIBLE_SCHEMA));
    DP_ASSERT_MSG(strcmp(dp_reject_name((dp_reject_code_t)999), "UNKNOWN") == 0, "got %s",
                  dp_reject_name((dp_reject_code_t)999));
    DP_ASSERT_MSG(dp_reject_set(&rej, DP_REJ_TRUNCATED, NULL, "x %d", 1) == DP_EINVAL &&
                      strcmp(rej.path, "$") == 0 && strcmp(rej.reason, "x 1") == 0,
                  "got %s %s", rej.path, rej.reason);
}

static const dp_test_case_t cases[] = {
    {"test_schema_canonical_fields_and_logical_types",
     test_schema_canonical_fields_and_logical_types},
    {"test_schema_named_reference_and_recursion", test_schema_named_reference_and_recursion},
    {"test_schema_rejects_bad_schemas", test_schema_rejects_bad_schemas},
    {"test_schema_invalid_logical_type_is_ignored", test_schema_invalid_logical_type_is_ignored},
    {"test_schema_equality_of_shipped_writer_schemas",
     test_schema_equality_of_shipped_writer_schemas},
    {"test_schema_reject_names_are_stable", test_schema_reject_names_are_stable},
    {NULL, NULL}};

static const dp_test_suite_t suites[] = {{"schema", NULL, NULL, cases}, {NULL, NULL, NULL, NULL}};

int main(int argc, char **argv)
{
    return dp_test_main(argc, argv, suites);
}
