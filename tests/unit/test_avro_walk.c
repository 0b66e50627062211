/*
 * Unit tests of avro_walk: a reference encoding made by avro-c (byte-identical
 * to the spec, docs/PLATFORM.md "Schemas") is walked and its fields extracted;
 * our JSON encoder produces the same bytes; and hostile bodies (every
 * truncation, huge and negative lengths, bad union index, overlong varint,
 * bad UTF-8, trailing bytes, random corruption) are rejected with the right
 * code and path, never read out of bounds.
 */
#include "codec/avro_walk.h"
#include "codec/json_event.h"
#include "codec/schema.h"
#include "dp_test.h"

#include <avro.h>
#include <stdlib.h>
#include <string.h>

static dp_schema_t *canon;
static char *canon_text;
static size_t canon_len;

static int suite_init(void)
{
    char path[1024];
    FILE *f;
    dp_err_t err = {DP_OK, 0, ""};

    snprintf(path, sizeof(path), "%s/schemas/canonical_event.avsc", DP_SOURCE_DIR);
    if (!(f = fopen(path, "rb")))
        return 1;
    canon_text = calloc(1, 65536);
    canon_len = fread(canon_text, 1, 65535, f);
    fclose(f);
    canon = dp_schema_parse(canon_text, canon_len, &err);
    return canon ? 0 : 1;
}

static int suite_cleanup(void)
{
    dp_schema_destroy(canon);
    free(canon_text);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Reference encoding by avro-c                                         */
/* ------------------------------------------------------------------ */

static void set_str(avro_value_t *rec, const char *name, const char *v)
{
    avro_value_t f, b;

    avro_value_get_by_name(rec, name, &f, NULL);
    if (avro_value_get_type(&f) == AVRO_UNION) {
        avro_value_set_branch(&f, 1, &b);
        avro_value_set_string(&b, v);
    } else {
        avro_value_set_string(&f, v);
    }
}

static void set_all_null(avro_value_t *rec)
{
    avro_value_t f, b;
    size_t i, n;

    avro_value_get_size(rec, &n);
    for (i = 0; i < n; i++) {
        avro_value_get_by_index(rec, i, &f, NULL);
        if (avro_value_get_type(&f) == AVRO_UNION) {
            avro_value_set_branch(&f, 0, &b);
            avro_value_set_null(&b);
        }
    }
}

/* Encodes the reference event with avro-c into out; returns its size. */
static size_t reference_event(char *out, size_t outlen)
{
    static const uint8_t value[] = {0x01, 0xe2, 0x08}; /* 123400 = 12.3400 */
    avro_schema_t schema;
    avro_value_iface_t *iface;
    avro_value_t rec, f, b, attr, props, entry;
    avro_writer_t w;
    size_t n;

    if (avro_schema_from_json_length(canon_text, canon_len, &schema) != 0)
        return 0;
    iface = avro_generic_class_from_schema(schema);
    avro_generic_value_new(iface, &rec);
    set_all_null(&rec);
    set_str(&rec, "event_id", "e-1");
    set_str(&rec, "event_name", "order_completed");
    avro_value_get_by_name(&rec, "event_time", &f, NULL);
    avro_value_set_long(&f, 1764000000123456LL);
    set_str(&rec, "merchant_id", "m-42");
    set_str(&rec, "event_type", "track");
    avro_value_get_by_name(&rec, "value", &f, NULL);
    avro_value_set_branch(&f, 1, &b);
    avro_value_set_bytes(&b, (void *)value, sizeof(value));
    set_str(&rec, "currency", "EUR");
    avro_value_get_by_name(&rec, "attribution", &f, NULL);
    avro_value_set_branch(&f, 1, &attr);
    set_all_null(&attr);
    set_str(&attr, "channel", "email");
    avro_value_get_by_name(&rec, "properties", &f, NULL);
    avro_value_set_branch(&f, 1, &props);
    avro_value_add(&props, "color", &entry, NULL, NULL);
    avro_value_set_string(&entry, "red");
    w = avro_writer_memory(out, (int64_t)outlen);
    n = avro_value_write(w, &rec) == 0 ? (size_t)avro_writer_tell(w) : 0;
    avro_writer_free(w);
    avro_value_decref(&rec);
    avro_value_iface_decref(iface);
    avro_schema_decref(schema);
    return n;
}

static const char *reference_json =
    "{\"event_id\":\"e-1\",\"event_name\":\"order_completed\",\"event_time\":1764000000123456,"
    "\"merchant_id\":\"m-42\",\"event_type\":\"track\",\"value\":\"12.34\",\"currency\":\"EUR\","
    "\"attribution\":{\"channel\":\"email\"},\"properties\":{\"color\":\"red\"}}";

static void test_avro_walk_extracts_fields_of_avro_c_encoding(void)
{
    char buf[4096];
    size_t n = reference_event(buf, sizeof(buf));
    dp_avro_value_t f[DP_SCHEMA_MAX_FIELDS], sub[8], key, val;
    dp_avro_iter_t it;
    dp_reject_t rej = {DP_REJ_NONE, "", ""};
    int rc;

    DP_ASSERT_FATAL_MSG(n > 0, "avro-c failed to encode the reference event");
    rc = dp_avro_walk_record(canon, 0, buf, n, f, DP_SCHEMA_MAX_FIELDS, &rej);
    DP_ASSERT_FATAL_MSG(rc == 0, "expected the walk to pass, got %s %s: %s",
                        dp_reject_name(rej.code), rej.path, rej.reason);
    DP_ASSERT_MSG(f[0].len == 3 && memcmp(f[0].ptr, "e-1", 3) == 0, "event_id: got %.*s",
                  (int)f[0].len, (const char *)f[0].ptr);
    DP_ASSERT_MSG(f[2].l == 1764000000123456LL, "event_time: got %lld", (long long)f[2].l);
    DP_ASSERT_MSG(f[4].branch == 1 && f[4].len == 5, "event_type: branch %d len %zu", f[4].branch,
                  f[4].len);
    DP_ASSERT_MSG(f[5].branch == 0 && f[5].is_null, "received_at must be null");
    DP_ASSERT_MSG(f[11].len == 3 && f[11].ptr[0] == 0x01, "value: got %zu bytes", f[11].len);
    DP_ASSERT_MSG(f[16].is_null, "context must be null");
    rc = dp_avro_walk_record(canon, f[15].node, f[15].ptr, f[15].len, sub, 8, &rej);
    DP_ASSERT_MSG(
        rc == 0 && sub[1].len == 5 && memcmp(sub[1].ptr, "email", 5) == 0 && sub[0].is_null,
        "attribution.channel: rc %d got %.*s", rc, (int)sub[1].len, (const char *)sub[1].ptr);
    dp_avro_iter_init(&it, canon, &f[17], &rej);
    rc = dp_avro_iter_next(&it, &key, &val);
    DP_ASSERT_MSG(rc == 1 && key.len == 5 && memcmp(key.ptr, "color", 5) == 0 && val.len == 3,
                  "properties first entry: rc %d", rc);
    rc = dp_avro_iter_next(&it, &key, &val);
    DP_ASSERT_MSG(rc == 0, "properties must have one entry, got rc %d", rc);
}

static void test_avro_walk_json_encoder_matches_avro_c_bytes(void)
{
    char ref[4096];
    size_t n = reference_event(ref, sizeof(ref));
    json_error_t jerr;
    json_t *root = json_loads(reference_json, 0, &jerr);
    dp_buf_t out;
    dp_reject_t rej = {DP_REJ_NONE, "", ""};
    int rc;

    dp_buf_init(&out, 1 << 16);
    rc = dp_json_event_encode(canon, root, reference_json, strlen(reference_json), &out, &rej);
    DP_ASSERT_MSG(rc == 0, "encode failed: %s %s: %s", dp_reject_name(rej.code), rej.path,
                  rej.reason);
    DP_ASSERT_MSG(out.len == n && memcmp(out.data, ref, n) == 0,
                  "expected the %zu bytes of avro-c, got %zu differing bytes", n, out.len);
    json_decref(root);
    dp_buf_free(&out);
}

/* ------------------------------------------------------------------ */
/* Hostile input                                                        */
/* ------------------------------------------------------------------ */

static void expect_reject(const void *buf, size_t len, dp_reject_code_t code, const char *path)
{
    dp_reject_t rej = {DP_REJ_NONE, "", ""};
    int rc;

    memset(&rej, 0, sizeof(rej));
    rc = dp_avro_walk_record(canon, 0, buf, len, NULL, 0, &rej);
    DP_ASSERT_MSG(rc == DP_EINVAL && rej.code == code && strcmp(rej.path, path) == 0,
                  "expected %s at %s, got rc %d %s at %s (%s)", dp_reject_name(code), path, rc,
                  dp_reject_name(rej.code), rej.path, rej.reason);
}

static void test_avro_walk_rejects_every_truncation(void)
{
    char buf[4096], *copy;
    size_t n = reference_event(buf, sizeof(buf)), k;
    dp_reject_t rej = {DP_REJ_NONE, "", ""};
    int rc;

    DP_ASSERT_FATAL_MSG(n > 0, "no reference event");
    for (k = 0; k < n; k++) {
        /* A heap copy of exactly k bytes, so ASan/valgrind see any overread. */
        copy = malloc(k ? k : 1);
        memcpy(copy, buf, k);
        rc = dp_avro_walk_record(canon, 0, copy, k, NULL, 0, &rej);
        DP_ASSERT_MSG(rc == DP_EINVAL &&
                          (rej.code == DP_REJ_TRUNCATED || rej.code == DP_REJ_BAD_LENGTH),
                      "prefix of %zu/%zu bytes: expected TRUNCATED or BAD_LENGTH, got rc %d %s", k,
                      n, rc, dp_reject_name(rej.code));
        free(copy);
    }
}

static void test_avro_walk_rejects_trailing_bytes(void)
{
    char buf[4096];
    size_t n = reference_event(buf, sizeof(buf));

    buf[n] = 0;
    expect_reject(buf, n + 1, DP_REJ_TRAILING_BYTES, "$");
}

static void test_avro_walk_rejects_bad_lengths_and_varints(void)
{
    /* event_id length prefix 2^60 (zig-zag), then nothing. */
    static const uint8_t huge[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20};
    static const uint8_t negative[] = {0x03, 'a', 'b'}; /* length -2 */
    static const uint8_t overlong[] = {0x02, 'a',  0x02, 'b',  0xff, 0xff, 0xff, 0xff,
                                       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    static const uint8_t overflow[] = {0x02, 'a',  0x02, 'b',  0xff, 0xff, 0xff,
                                       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
    static const uint8_t bad_utf8[] = {0x04, 0xc3, 0x28};
    static const uint8_t surrogate[] = {0x06, 0xed, 0xa0, 0x80};

    expect_reject(huge, sizeof(huge), DP_REJ_BAD_LENGTH, "$.event_id");
    expect_reject(negative, sizeof(negative), DP_REJ_BAD_LENGTH, "$.event_id");
    expect_reject(overlong, sizeof(overlong), DP_REJ_BAD_VARINT, "$.event_time");
    expect_reject(overflow, sizeof(overflow), DP_REJ_BAD_VARINT, "$.event_time");
    expect_reject(bad_utf8, sizeof(bad_utf8), DP_REJ_BAD_UTF8, "$.event_id");
    expect_reject(surrogate, sizeof(surrogate), DP_REJ_BAD_UTF8, "$.event_id");
}

/* Builds the required fields, then lets the caller append the rest. */
static void required(dp_buf_t *b)
{
    dp_buf_reset(b);
    dp_buf_put_bytes(b, "e", 1, NULL);
    dp_buf_put_bytes(b, "n", 1, NULL);
    dp_buf_put_long(b, 1764000000000000LL, NULL);
    dp_buf_put_bytes(b, "m", 1, NULL);
}

static void nulls(dp_buf_t *b, int n)
{
    while (n-- > 0)
        dp_buf_put_long(b, 0, NULL);
}

static void test_avro_walk_rejects_bad_union_index_with_path(void)
{
    dp_buf_t b;

    dp_buf_init(&b, 4096);
    required(&b);
    dp_buf_put_long(&b, 2, NULL); /* event_type: union of 2 */
    expect_reject(b.data, b.len, DP_REJ_BAD_UNION_BRANCH, "$.event_type");
    required(&b);
    dp_buf_put_long(&b, -1, NULL);
    expect_reject(b.data, b.len, DP_REJ_BAD_UNION_BRANCH, "$.event_type");
    required(&b);
    nulls(&b, 11);                /* event_type .. match_quality */
    dp_buf_put_long(&b, 1, NULL); /* attribution: the record */
    nulls(&b, 1);                 /* campaign_id */
    dp_buf_put_long(&b, 7, NULL); /* channel: bad branch */
    expect_reject(b.data, b.len, DP_REJ_BAD_UNION_BRANCH, "$.attribution.channel");
    dp_buf_free(&b);
}

static void test_avro_walk_rejects_hostile_map_counts(void)
{
    dp_buf_t b;

    dp_buf_init(&b, 4096);
    required(&b);
    nulls(&b, 13);
    dp_buf_put_long(&b, 1, NULL);         /* properties: the map */
    dp_buf_put_long(&b, 1LL << 40, NULL); /* count */
    expect_reject(b.data, b.len, DP_REJ_BAD_LENGTH, "$.properties[]");
    required(&b);
    nulls(&b, 13);
    dp_buf_put_long(&b, 1, NULL);
    dp_buf_put_long(&b, -1, NULL);        /* one item, with a byte size */
    dp_buf_put_long(&b, 1LL << 50, NULL); /* byte size */
    expect_reject(b.data, b.len, DP_REJ_BAD_LENGTH, "$.properties[]");
    required(&b);
    nulls(&b, 13);
    dp_buf_put_long(&b, 1, NULL);
    dp_buf_put_long(&b, 1, NULL);
    dp_buf_put_bytes(&b, "\xff", 1, NULL); /* key not UTF-8 */
    dp_buf_put_bytes(&b, "v", 1, NULL);
    dp_buf_put_long(&b, 0, NULL);
    nulls(&b, 1);
    expect_reject(b.data, b.len, DP_REJ_BAD_UTF8, "$.properties[]");
    dp_buf_free(&b);
}

static void test_avro_walk_bounds_zero_size_items(void)
{
    const char *text = "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\","
                       "\"type\":{\"type\":\"array\",\"items\":\"null\"}}]}";
    dp_err_t err = {DP_OK, 0, ""};
    dp_schema_t *s = dp_schema_parse(text, strlen(text), &err);
    dp_buf_t b;
    dp_reject_t rej = {DP_REJ_NONE, "", ""};
    int rc;

    DP_ASSERT_FATAL_MSG(s != NULL, "schema: %s", err.msg);
    dp_buf_init(&b, 64);
    dp_buf_put_long(&b, 1000, NULL);
    dp_buf_put_long(&b, 0, NULL);
    rc = dp_avro_walk_record(s, 0, b.data, b.len, NULL, 0, &rej);
    DP_ASSERT_MSG(rc == 0, "1000 nulls are fine, got %s", dp_reject_name(rej.code));
    dp_buf_reset(&b);
    dp_buf_put_long(&b, INT64_MAX, NULL);
    dp_buf_put_long(&b, 0, NULL);
    rc = dp_avro_walk_record(s, 0, b.data, b.len, NULL, 0, &rej);
    DP_ASSERT_MSG(rc == DP_EINVAL && rej.code == DP_REJ_TOO_LARGE,
                  "2^63 nulls must be TOO_LARGE, got %s", dp_reject_name(rej.code));
    dp_buf_free(&b);
    dp_schema_destroy(s);
}

static void test_avro_walk_survives_random_corruption(void)
{
    char ref[4096], *copy;
    size_t n = reference_event(ref, sizeof(ref));
    dp_avro_value_t f[DP_SCHEMA_MAX_FIELDS];
    dp_reject_t rej = {DP_REJ_NONE, "", ""};
    unsigned seed = 12345, rejected = 0, i;
    int rc;

    DP_ASSERT_FATAL_MSG(n > 0, "no reference event");
    for (i = 0; i < 20000; i++) {
        copy = malloc(n);
        memcpy(copy, ref, n);
        seed = seed * 1103515245u + 12345u;
        copy[(seed >> 8) % n] ^= (char)(1 + (seed >> 20) % 255);
        rc = dp_avro_walk_record(canon, 0, copy, n, f, DP_SCHEMA_MAX_FIELDS, &rej);
        DP_ASSERT_MSG(rc == 0 || (rc == DP_EINVAL && rej.code != DP_REJ_NONE), "rc %d with code %d",
                      rc, rej.code);
        rejected += rc != 0;
        free(copy);
    }
    DP_ASSERT_MSG(rejected > 1000, "expected many corruptions rejected, got %u", rejected);
}

static void test_avro_walk_buffer_is_bounded(void)
{
    dp_buf_t b;
    int rc;

    dp_buf_init(&b, 8);
    rc = dp_buf_append(&b, "12345678", 8, NULL);
    DP_ASSERT_MSG(rc == 0 && b.len == 8, "8 bytes must fit, rc %d", rc);
    rc = dp_buf_append(&b, "9", 1, NULL);
    DP_ASSERT_MSG(rc == DP_ETOOBIG && b.len == 8, "the 9th byte must be DP_ETOOBIG, rc %d", rc);
    dp_buf_free(&b);
}

static const dp_test_case_t cases[] = {
    {"test_avro_walk_extracts_fields_of_avro_c_encoding",
     test_avro_walk_extracts_fields_of_avro_c_encoding},
    {"test_avro_walk_json_encoder_matches_avro_c_bytes",
     test_avro_walk_json_encoder_matches_avro_c_bytes},
    {"test_avro_walk_rejects_every_truncation", test_avro_walk_rejects_every_truncation},
    {"test_avro_walk_rejects_trailing_bytes", test_avro_walk_rejects_trailing_bytes},
    {"test_avro_walk_rejects_bad_lengths_and_varints",
     test_avro_walk_rejects_bad_lengths_and_varints},
    {"test_avro_walk_rejects_bad_union_index_with_path",
     test_avro_walk_rejects_bad_union_index_with_path},
    {"test_avro_walk_rejects_hostile_map_counts", test_avro_walk_rejects_hostile_map_counts},
    {"test_avro_walk_bounds_zero_size_items", test_avro_walk_bounds_zero_size_items},
    {"test_avro_walk_survives_random_corruption", test_avro_walk_survives_random_corruption},
    {"test_avro_walk_buffer_is_bounded", test_avro_walk_buffer_is_bounded},
    {NULL, NULL}};

static const dp_test_suite_t suites[] = {{"avro_walk", suite_init, suite_cleanup, cases},
                                         {NULL, NULL, NULL, NULL}};

int main(int argc, char **argv)
{
    return dp_test_main(argc, argv, suites);
}
