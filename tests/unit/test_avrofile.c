/*
 * Unit tests of avrofile: the staged schema (lineage appended, logical types
 * kept), interoperability (avro-c's own file reader reads back every record
 * and field of files we write, with both codecs), the header bytes,
 * determinism, and the max_bytes cap.
 *
 * Bodies are encoded by avro-c from tests/data/staging/test_event.avsc, so
 * the pass-through path is checked against an independent encoder.
 */
#include "batch/flush.h"
#include "core/buf.h"
#include "dp_test.h"
#include "stage/avrofile.h"

#include <avro.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIXTURE   DP_SOURCE_DIR "/tests/data/staging/test_event.avsc"
#define CANONICAL DP_SOURCE_DIR "/schemas/canonical_event.avsc"
#define T0        1700000000000000LL
/* Kafka timestamps of the records (ms); every fifth record has none. */
#define TS_MS(i)    ((i) % 5 == 4 ? -1LL : 1700000000123LL + (i))
#define INCARNATION "inc-0f3a"

static const unsigned char sync_a[16] = "0123456789abcdef";
static const unsigned char sync_b[16] = "fedcba9876543210";

/* Shared by the tests: canonical and staged schema text, avro-c encoder. */
static char *canonical_json;
static char *staged_json;
static avro_schema_t body_schema;
static avro_value_iface_t *body_iface;

static char *read_text(const char *path)
{
    FILE *fp = fopen(path, "rb");
    char *text;
    long n;

    if (fp == NULL) {
        return NULL;
    }
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    rewind(fp);
    text = calloc(1, (size_t)n + 1);
    if (text && fread(text, 1, (size_t)n, fp) != (size_t)n) {
        free(text);
        text = NULL;
    }
    fclose(fp);
    return text;
}

static int suite_init(void)
{
    dp_err_t err;

    canonical_json = read_text(FIXTURE);
    if (canonical_json == NULL ||
        dp_avrofile_staged_schema(canonical_json, strlen(canonical_json), &staged_json, &err) < 0 ||
        avro_schema_from_json_length(canonical_json, strlen(canonical_json), &body_schema) != 0) {
        fprintf(stderr, "suite init failed: %s\n", canonical_json ? err.msg : FIXTURE);
        return 1;
    }
    body_iface = avro_generic_class_from_schema(body_schema);
    return body_iface == NULL;
}

static int suite_cleanup(void)
{
    avro_value_iface_decref(body_iface);
    avro_schema_decref(body_schema);
    free(staged_json);
    free(canonical_json);
    return 0;
}

/* ==== Expected records ==== */

static const char *topic_of(int i)
{
    return i % 2 ? "orders" : "clicks";
}

/* Encodes record i with avro-c into out (size n); returns its length. */
static size_t encode_body(int i, char *out, size_t n, size_t prop_len)
{
    avro_value_t rec, field, branch, entry;
    avro_writer_t writer = avro_writer_memory(out, (int64_t)n);
    unsigned char dec[3] = {(unsigned char)(i >> 16), (unsigned char)(i >> 8), (unsigned char)i};
    char text[64], *prop = malloc(prop_len + 1);
    size_t len;

    memset(prop, 'p', prop_len);
    prop[prop_len] = '\0';
    avro_generic_value_new(body_iface, &rec);
    snprintf(text, sizeof(text), "id-%d", i);
    avro_value_get_by_name(&rec, "event_id", &field, NULL);
    avro_value_set_string(&field, text);
    avro_value_get_by_name(&rec, "event_name", &field, NULL);
    avro_value_set_string(&field, "purchase");
    avro_value_get_by_name(&rec, "event_time", &field, NULL);
    avro_value_set_long(&field, T0 + i);
    avro_value_get_by_name(&rec, "value", &field, NULL);
    avro_value_set_branch(&field, i % 3 ? 1 : 0, &branch);
    if (i % 3) {
        avro_value_set_bytes(&branch, dec, sizeof(dec));
    }
    avro_value_get_by_name(&rec, "properties", &field, NULL);
    avro_value_add(&field, "k", &entry, NULL, NULL);
    avro_value_set_string(&entry, prop_len ? prop : text);
    len = avro_value_write(writer, &rec) == 0 ? (size_t)avro_writer_tell(writer) : 0;
    avro_writer_free(writer);
    avro_value_decref(&rec);
    free(prop);
    return len;
}

/* Appends the encoded lineage of record i to buf. */
static void put_lineage(dp_buf_t *buf, int i)
{
    dp_err_t err;

    dp_flush_put_lineage(buf, topic_of(i), i % 7, 1000 + i, TS_MS(i), INCARNATION, &err);
}

/* Appends n records built by encode_body; returns the number appended
 * before the first failure (its code in *rc). */
static int append_records(dp_avrofile_t *f, int n, size_t prop_len, int *rc, dp_err_t *err)
{
    static char body[300000];
    size_t len;
    dp_buf_t lin;
    int i;

    *rc = 0;
    dp_buf_init(&lin, 4096);
    for (i = 0; i < n; i++) {
        len = encode_body(i, body, sizeof(body), prop_len);
        dp_buf_reset(&lin);
        put_lineage(&lin, i);
        *rc = dp_avrofile_append(f, body, len, dp_buf_data(&lin), dp_buf_len(&lin), err);
        if (*rc < 0) {
            break;
        }
    }
    dp_buf_free(&lin);
    return i;
}

/* ==== Reading back with avro-c ==== */

static int get_long(avro_value_t *rec, const char *name, int64_t *v)
{
    avro_value_t field;
    int32_t i32;

    if (avro_value_get_by_name(rec, name, &field, NULL) != 0) {
        return -1;
    }
    if (avro_value_get_type(&field) == AVRO_INT32) {
        avro_value_get_int(&field, &i32);
        *v = i32;
        return 0;
    }
    return avro_value_get_long(&field, v);
}

static const char *get_str(avro_value_t *rec, const char *name)
{
    avro_value_t field;
    const char *s = NULL;
    size_t n;

    if (avro_value_get_by_name(rec, name, &field, NULL) != 0 ||
        avro_value_get_string(&field, &s, &n) != 0) {
        return "(missing)";
    }
    return s;
}

/* Checks record i as read back; returns 1 when every field matches. */
static int check_record(avro_value_t *rec, int i, size_t prop_len)
{
    avro_value_t field, branch, entry;
    int64_t t = 0, part = 0, off = 0, ts = -2;
    int disc = -1, ts_disc = -1, no_loaded_at;
    const void *dec = NULL;
    const char *prop = NULL;
    size_t n = 0, plen = 0;
    char id[64];

    snprintf(id, sizeof(id), "id-%d", i);
    get_long(rec, "event_time", &t);
    get_long(rec, "_kafka_partition", &part);
    get_long(rec, "_kafka_offset", &off);
    /* The load time is the COPY INTO's: never in the file. */
    no_loaded_at = avro_value_get_by_name(rec, "_loaded_at", &field, NULL) != 0;
    if (avro_value_get_by_name(rec, "_kafka_timestamp", &field, NULL) == 0) {
        avro_value_get_discriminant(&field, &ts_disc);
        avro_value_get_current_branch(&field, &branch);
        if (ts_disc == 1)
            avro_value_get_long(&branch, &ts);
    }
    avro_value_get_by_name(rec, "value", &field, NULL);
    avro_value_get_discriminant(&field, &disc);
    avro_value_get_current_branch(&field, &branch);
    if (disc == 1) {
        avro_value_get_bytes(&branch, &dec, &n);
    }
    avro_value_get_by_name(rec, "properties", &field, NULL);
    if (avro_value_get_by_name(&field, "k", &entry, NULL) == 0) {
        avro_value_get_string(&entry, &prop, &plen);
    }
    return DP_ASSERT_MSG(
        strcmp(get_str(rec, "event_id"), id) == 0 && t == T0 + i &&
            strcmp(get_str(rec, "_kafka_topic"), topic_of(i)) == 0 && part == i % 7 &&
            off == 1000 + i && no_loaded_at &&
            (TS_MS(i) < 0 ? ts_disc == 0 : ts_disc == 1 && ts == TS_MS(i) * 1000) &&
            strcmp(get_str(rec, "_incarnation"), INCARNATION) == 0 && disc == (i % 3 ? 1 : 0) &&
            (disc == 0 || n == 3) && prop != NULL && plen - 1 == (prop_len ? prop_len : strlen(id)),
        "record %d: got id %s time %lld topic %s part %lld off %lld ts %d/%lld "
        "incarnation %s _loaded_at %s branch %d",
        i, get_str(rec, "event_id"), (long long)t, get_str(rec, "_kafka_topic"), (long long)part,
        (long long)off, ts_disc, (long long)ts, get_str(rec, "_incarnation"),
        no_loaded_at ? "absent" : "present", disc);
}

/* Reads the whole in-memory file with avro-c's file reader and checks
 * every record; returns the number read, or -1 if it cannot be opened. */
static int read_back(const void *data, size_t len, size_t prop_len)
{
    avro_file_reader_t reader;
    avro_value_iface_t *iface;
    avro_schema_t schema;
    avro_value_t rec;
    FILE *fp = fmemopen((void *)data, len, "rb");
    int n = 0;

    if (fp == NULL || avro_file_reader_fp(fp, "staged.avro", 1, &reader) != 0) {
        DP_ASSERT_MSG(0, "avro-c cannot open the file: %s", avro_strerror());
        return -1;
    }
    schema = avro_file_reader_get_writer_schema(reader); /* returns new */
    iface = avro_generic_class_from_schema(schema);
    avro_generic_value_new(iface, &rec);
    while (avro_file_reader_read_value(reader, &rec) == 0) {
        if (!check_record(&rec, n, prop_len)) {
            break;
        }
        n++;
    }
    avro_value_decref(&rec);
    avro_value_iface_decref(iface);
    avro_schema_decref(schema);
    avro_file_reader_close(reader);
    return n;
}

/* ==== Tests ==== */

static json_t *field_named(json_t *fields, const char *name)
{
    json_t *field;
    size_t i;

    json_array_foreach(fields, i, field)
    {
        if (strcmp(json_string_value(json_object_get(field, "name")), name) == 0) {
            return field;
        }
    }
    return NULL;
}

static void test_avrofile_staged_schema_appends_lineage(void)
{
    static const char *names[] = {
        "event_id",         "event_name",   "event_time",       "value",
        "properties",       "_kafka_topic", "_kafka_partition", "_kafka_offset",
        "_kafka_timestamp", "_incarnation", "_loaded_at"};
    json_t *root = json_loads(staged_json, 0, NULL), *fields, *t, *dec;
    size_t i;

    DP_ASSERT_FATAL_MSG(root != NULL, "staged schema is not JSON: %s", staged_json);
    DP_ASSERT_MSG(strchr(staged_json, '\n') == NULL && strstr(staged_json, ", ") == NULL,
                  "expected compact JSON, got %s", staged_json);
    fields = json_object_get(root, "fields");
    DP_ASSERT_MSG(json_array_size(fields) == 11, "expected 11 fields, got %zu",
                  json_array_size(fields));
    for (i = 0; i < 11 && i < json_array_size(fields); i++) {
        const char *got = json_string_value(json_object_get(json_array_get(fields, i), "name"));
        DP_ASSERT_MSG(strcmp(got, names[i]) == 0, "field %zu: expected %s, got %s", i, names[i],
                      got);
    }
    t = json_object_get(field_named(fields, "event_time"), "type");
    DP_ASSERT_MSG(
        strcmp(json_string_value(json_object_get(t, "logicalType")), "timestamp-micros") == 0,
        "event_time lost its logicalType");
    dec = json_array_get(json_object_get(field_named(fields, "value"), "type"), 1);
    DP_ASSERT_MSG(strcmp(json_string_value(json_object_get(dec, "logicalType")), "decimal") == 0 &&
                      json_integer_value(json_object_get(dec, "precision")) == 18 &&
                      json_integer_value(json_object_get(dec, "scale")) == 4,
                  "value lost decimal(18,4)");
    t = json_object_get(field_named(fields, "_loaded_at"), "type");
    DP_ASSERT_MSG(
        strcmp(json_string_value(json_object_get(t, "logicalType")), "timestamp-micros") == 0,
        "_loaded_at must be timestamp-micros");
    DP_ASSERT_MSG(
        strcmp(json_string_value(json_object_get(field_named(fields, "_kafka_partition"), "type")),
               "int") == 0,
        "_kafka_partition must be int");
    t = json_array_get(json_object_get(field_named(fields, "_kafka_timestamp"), "type"), 1);
    DP_ASSERT_MSG(
        strcmp(json_string_value(json_object_get(t, "logicalType")), "timestamp-micros") == 0 &&
            json_is_null(json_object_get(field_named(fields, "_kafka_timestamp"), "default")),
        "_kafka_timestamp must be [\"null\", timestamp-micros], default null");
    DP_ASSERT_MSG(
        strcmp(json_string_value(json_object_get(field_named(fields, "_incarnation"), "type")),
               "string") == 0,
        "_incarnation must be a string");
    DP_ASSERT_MSG(json_is_null(json_object_get(field_named(fields, "value"), "default")) &&
                      json_object_get(root, "doc") != NULL,
                  "defaults and docs must be kept");
    json_decref(root);
}

static void test_avrofile_staged_schema_refuses_bad_input(void)
{
    static const char *bad[] = {
        "not json",
        "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\"]}",
        "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"_kafka_offset\","
        "\"type\":\"long\"}]}",
        "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"nosuch\"}]}",
        "{\"type\":\"record\",\"type\":\"record\",\"name\":\"R\",\"fields\":[]}",
    };
    char *out = (char *)"untouched";
    dp_err_t err;
    size_t i;
    int rc;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rc = dp_avrofile_staged_schema(bad[i], strlen(bad[i]), &out, &err);
        DP_ASSERT_MSG(rc == DP_EINVAL && out == NULL, "input %zu: expected DP_EINVAL, got %d", i,
                      rc);
    }
}

/* The real canonical schema, when it exists: every logicalType survives. */
static void test_avrofile_staged_schema_of_canonical_event(void)
{
    char *text = read_text(CANONICAL), *staged = NULL, *p;
    int before = 0, after = 0;
    dp_err_t err;

    if (text == NULL) {
        dp_test_skip("%s is not there yet", CANONICAL);
        return;
    }
    for (p = text; (p = strstr(p, "\"logicalType\"")) != NULL; p++) {
        before++;
    }
    if (DP_ASSERT_MSG(dp_avrofile_staged_schema(text, strlen(text), &staged, &err) == 0,
                      "canonical schema refused: %s", err.msg)) {
        for (p = staged; (p = strstr(p, "\"logicalType\"")) != NULL; p++) {
            after++;
        }
        DP_ASSERT_MSG(after == before + 2,
                      "expected %d logicalTypes (+2 for _kafka_timestamp and _loaded_at), got %d",
                      before + 2, after);
        DP_ASSERT_MSG(strstr(staged, "{\"name\":\"_loaded_at\",\"type\":{\"type\":\"long\","
                                     "\"logicalType\":\"timestamp-micros\"}}]") != NULL,
                      "lineage must end the field list: %s", staged);
    }
    free(staged);
    free(text);
}

static void roundtrip(dp_avrofile_codec_t codec)
{
    dp_avrofile_t *f;
    dp_err_t err;
    const void *data;
    size_t len;
    int rc, n;

    f = dp_avrofile_new(staged_json, codec, 4096, sync_a, 64 << 20, &err);
    DP_ASSERT_FATAL_MSG(f != NULL, "new failed: %s", err.msg);
    n = append_records(f, 2000, 0, &rc, &err);
    DP_ASSERT_MSG(n == 2000, "expected 2000 appends, got %d: %s", n, err.msg);
    DP_ASSERT_MSG(dp_avrofile_count(f) == 2000, "expected count 2000, got %llu",
                  (unsigned long long)dp_avrofile_count(f));
    DP_ASSERT_FATAL_MSG(dp_avrofile_finish(f, &data, &len, &err) == 0, "finish: %s", err.msg);
    n = read_back(data, len, 0);
    DP_ASSERT_MSG(n == 2000, "%s: avro-c read %d of 2000 records", dp_avrofile_codec_name(codec),
                  n);
    rc = dp_avrofile_append(f, "x", 1, NULL, 0, &err);
    DP_ASSERT_MSG(rc == DP_EINVAL, "append after finish: expected DP_EINVAL, got %d", rc);
    dp_avrofile_destroy(f);
}

static void test_avrofile_null_codec_reads_back_in_avro_c(void)
{
    roundtrip(DP_AVROFILE_NULL);
}

static void test_avrofile_deflate_reads_back_in_avro_c(void)
{
    roundtrip(DP_AVROFILE_DEFLATE);
}

/* avro-c checks each snappy block's CRC-32 while reading, so this also
 * checks the checksum. */
static void test_avrofile_snappy_reads_back_in_avro_c(void)
{
    roundtrip(DP_AVROFILE_SNAPPY);
}

/* Parses the header: magic, metadata map, sync. Returns the header length
 * or 0; copies the schema and codec values out (NUL-terminated). */
static size_t parse_header(const unsigned char *p, size_t len, char *schema, size_t schema_size,
                           char *codec, size_t codec_size)
{
    size_t pos = 4, used;
    int64_t count, klen, vlen;
    const unsigned char *key;
    dp_err_t err;

    if (len < 4 || memcmp(p, "Obj\x01", 4) != 0 ||
        dp_buf_read_long(p + pos, len - pos, &count, &used, &err) < 0) {
        return 0;
    }
    for (pos += used; count-- > 0;) {
        if (dp_buf_read_long(p + pos, len - pos, &klen, &used, &err) < 0) {
            return 0;
        }
        key = p + pos + used;
        pos += used + (size_t)klen;
        if (dp_buf_read_long(p + pos, len - pos, &vlen, &used, &err) < 0) {
            return 0;
        }
        pos += used;
        if (klen == 11 && memcmp(key, "avro.schema", 11) == 0 && (size_t)vlen < schema_size) {
            memcpy(schema, p + pos, (size_t)vlen);
            schema[vlen] = '\0';
        } else if (klen == 10 && memcmp(key, "avro.codec", 10) == 0 && (size_t)vlen < codec_size) {
            memcpy(codec, p + pos, (size_t)vlen);
            codec[vlen] = '\0';
        }
        pos += (size_t)vlen;
    }
    return p[pos] == 0 && pos + 17 <= len ? pos + 17 : 0;
}

static void test_avrofile_header_carries_staged_schema(void)
{
    static char schema[8192];
    char codec[32] = "";
    dp_avrofile_t *f;
    const void *data;
    size_t len, hlen;
    dp_err_t err;
    int rc;

    f = dp_avrofile_new(staged_json, DP_AVROFILE_DEFLATE, 65536, sync_a, 1 << 20, &err);
    DP_ASSERT_FATAL_MSG(f != NULL, "new failed: %s", err.msg);
    append_records(f, 10, 0, &rc, &err);
    DP_ASSERT_FATAL_MSG(dp_avrofile_finish(f, &data, &len, &err) == 0, "finish: %s", err.msg);
    hlen = parse_header(data, len, schema, sizeof(schema), codec, sizeof(codec));
    DP_ASSERT_FATAL_MSG(hlen > 0, "header does not parse");
    /* The staged schema but its last field, _loaded_at (the COPY INTO's). */
    DP_ASSERT_MSG(strstr(schema, "_loaded_at") == NULL &&
                      strncmp(schema, staged_json, strlen(schema) - 2) == 0 &&
                      strstr(staged_json, ",{\"name\":\"_loaded_at\"") ==
                          staged_json + strlen(schema) - 2,
                  "header schema is not the staged one without _loaded_at: %s", schema);
    DP_ASSERT_MSG(strstr(schema, "\"logicalType\":\"timestamp-micros\"") != NULL &&
                      strstr(schema, "\"logicalType\":\"decimal\",\"precision\":18,\"scale\":4") !=
                          NULL,
                  "header schema lacks the logical types: %s", schema);
    DP_ASSERT_MSG(strcmp(codec, "deflate") == 0, "expected codec deflate, got %s", codec);
    DP_ASSERT_MSG(memcmp((const unsigned char *)data + hlen - 16, sync_a, 16) == 0,
                  "header sync is not the given marker");
    DP_ASSERT_MSG(memcmp((const unsigned char *)data + len - 16, sync_a, 16) == 0,
                  "the file must end with the sync marker");
    dp_avrofile_destroy(f);
}

static void test_avrofile_same_input_same_bytes(void)
{
    dp_avrofile_t *f1, *f2;
    const void *d1, *d2;
    size_t l1, l2;
    dp_err_t err;
    int rc;
    unsigned char *copy;

    f1 = dp_avrofile_new(staged_json, DP_AVROFILE_DEFLATE, 4096, sync_a, 8 << 20, &err);
    f2 = dp_avrofile_new(staged_json, DP_AVROFILE_DEFLATE, 4096, sync_a, 8 << 20, &err);
    DP_ASSERT_FATAL_MSG(f1 && f2, "new failed: %s", err.msg);
    append_records(f1, 500, 0, &rc, &err);
    append_records(f2, 500, 0, &rc, &err);
    dp_avrofile_finish(f1, &d1, &l1, &err);
    dp_avrofile_finish(f2, &d2, &l2, &err);
    DP_ASSERT_MSG(l1 == l2 && memcmp(d1, d2, l1) == 0, "two writers differ: %zu vs %zu bytes", l1,
                  l2);
    copy = malloc(l1);
    memcpy(copy, d1, l1);
    /* Reuse after reset gives the same bytes as a fresh writer. */
    dp_avrofile_reset(f2, sync_b);
    dp_avrofile_reset(f2, sync_a);
    DP_ASSERT_MSG(dp_avrofile_count(f2) == 0, "reset must clear the count");
    append_records(f2, 500, 0, &rc, &err);
    dp_avrofile_finish(f2, &d2, &l2, &err);
    DP_ASSERT_MSG(l2 == l1 && memcmp(copy, d2, l1) == 0, "reset writer differs from a fresh one");
    /* Another sync marker changes the bytes but not the records. */
    dp_avrofile_reset(f2, sync_b);
    append_records(f2, 500, 0, &rc, &err);
    dp_avrofile_finish(f2, &d2, &l2, &err);
    DP_ASSERT_MSG(l2 == l1 && memcmp(copy, d2, l1) != 0, "the sync marker must be used");
    DP_ASSERT_MSG(read_back(d2, l2, 0) == 500, "file with the other marker must read back");
    free(copy);
    dp_avrofile_destroy(f1);
    dp_avrofile_destroy(f2);
}

static void cap_is_enforced(dp_avrofile_codec_t codec)
{
    const size_t max = 20000;
    dp_avrofile_t *f;
    const void *data;
    size_t len, size_before;
    dp_err_t err;
    int rc, n;

    f = dp_avrofile_new(staged_json, codec, 1024, sync_a, max, &err);
    DP_ASSERT_FATAL_MSG(f != NULL, "new failed: %s", err.msg);
    n = append_records(f, 100000, 0, &rc, &err);
    DP_ASSERT_MSG(rc == DP_ETOOBIG && n > 50,
                  "%s: expected DP_ETOOBIG after >50 records, got %d "
                  "after %d",
                  dp_avrofile_codec_name(codec), rc, n);
    size_before = dp_avrofile_size(f);
    rc = dp_avrofile_append(f, canonical_json, strlen(canonical_json), NULL, 0, &err);
    DP_ASSERT_MSG(rc == DP_ETOOBIG && dp_avrofile_size(f) == size_before &&
                      dp_avrofile_count(f) == (uint64_t)n,
                  "a refused append must change nothing (count %llu, expected %d)",
                  (unsigned long long)dp_avrofile_count(f), n);
    DP_ASSERT_FATAL_MSG(dp_avrofile_finish(f, &data, &len, &err) == 0, "finish: %s", err.msg);
    DP_ASSERT_MSG(len <= max, "file of %zu bytes passes the cap %zu", len, max);
    DP_ASSERT_MSG(read_back(data, len, 0) == n, "expected the %d accepted records to read back", n);
    dp_avrofile_destroy(f);
}

static void test_avrofile_cap_refuses_and_keeps_file_valid(void)
{
    cap_is_enforced(DP_AVROFILE_NULL);
    cap_is_enforced(DP_AVROFILE_DEFLATE);
    cap_is_enforced(DP_AVROFILE_SNAPPY);
}

static void test_avrofile_large_records_and_empty_file(void)
{
    dp_avrofile_t *f;
    const void *data;
    size_t len;
    dp_err_t err;
    int rc, n;

    f = dp_avrofile_new(staged_json, DP_AVROFILE_DEFLATE, 1000, sync_a, 16 << 20, &err);
    DP_ASSERT_FATAL_MSG(f != NULL, "new failed: %s", err.msg);
    DP_ASSERT_FATAL_MSG(dp_avrofile_finish(f, &data, &len, &err) == 0, "finish: %s", err.msg);
    DP_ASSERT_MSG(read_back(data, len, 0) == 0, "an empty file must read back with 0 records");
    dp_avrofile_reset(f, NULL);
    n = append_records(f, 20, 200000, &rc, &err); /* each record is 200x block_bytes */
    DP_ASSERT_MSG(n == 20, "expected 20 large records, got %d: %s", n, err.msg);
    DP_ASSERT_FATAL_MSG(dp_avrofile_finish(f, &data, &len, &err) == 0, "finish: %s", err.msg);
    DP_ASSERT_MSG(len < 200000, "20 x 200 KB of 'p' should deflate well, got %zu bytes", len);
    DP_ASSERT_MSG(read_back(data, len, 200000) == 20, "large records must read back");
    dp_avrofile_destroy(f);
}

/* Records encoded elsewhere (body + lineage, back to back) are taken as
 * they are: read back, and byte-identical to per-record appends when both
 * fit one block. */
static void test_avrofile_append_encoded_runs(void)
{
    static char body[4096];
    dp_avrofile_t *one, *runs, *small;
    const void *d1, *d2;
    size_t l1, l2, len;
    dp_buf_t run;
    dp_err_t err;
    int i, rc, in_run = 0;

    one = dp_avrofile_new(staged_json, DP_AVROFILE_DEFLATE, 1 << 20, sync_a, 8 << 20, &err);
    runs = dp_avrofile_new(staged_json, DP_AVROFILE_DEFLATE, 1 << 20, sync_a, 8 << 20, &err);
    small = dp_avrofile_new(staged_json, DP_AVROFILE_NULL, 512, sync_a, 8 << 20, &err);
    DP_ASSERT_FATAL_MSG(one && runs && small, "new failed: %s", err.msg);
    append_records(one, 300, 0, &rc, &err);
    dp_buf_init(&run, 1 << 20);
    for (i = 0; i < 300; i++) {
        len = encode_body(i, body, sizeof(body), 0);
        dp_buf_append(&run, body, len, &err);
        put_lineage(&run, i);
        if (++in_run == 37 || i == 299) {
            rc = dp_avrofile_append_encoded(runs, dp_buf_data(&run), dp_buf_len(&run),
                                            (uint64_t)in_run, &err);
            rc = rc ? rc
                    : dp_avrofile_append_encoded(small, dp_buf_data(&run), dp_buf_len(&run),
                                                 (uint64_t)in_run, &err);
            DP_ASSERT_FATAL_MSG(rc == 0, "append_encoded: %s", err.msg);
            dp_buf_reset(&run);
            in_run = 0;
        }
    }
    DP_ASSERT_MSG(dp_avrofile_count(runs) == 300, "expected 300 records, got %llu",
                  (unsigned long long)dp_avrofile_count(runs));
    dp_avrofile_finish(one, &d1, &l1, &err);
    dp_avrofile_finish(runs, &d2, &l2, &err);
    DP_ASSERT_MSG(l1 == l2 && memcmp(d1, d2, l1) == 0,
                  "one block: runs and single appends must give the same bytes");
    dp_avrofile_finish(small, &d2, &l2, &err);
    DP_ASSERT_MSG(read_back(d2, l2, 0) == 300, "runs in many blocks must read back");
    rc = dp_avrofile_append_encoded(runs, "x", 1, 1, &err);
    DP_ASSERT_MSG(rc == DP_EINVAL, "append to a finished file: expected DP_EINVAL, got %d", rc);
    dp_avrofile_reset(runs, NULL);
    rc = dp_avrofile_append_encoded(runs, "x", 1, 0, &err);
    DP_ASSERT_MSG(rc == DP_EINVAL, "bytes without records: expected DP_EINVAL, got %d", rc);
    DP_ASSERT_MSG(dp_avrofile_append_encoded(runs, NULL, 0, 0, &err) == 0, "nothing is fine");
    dp_buf_free(&run);
    dp_avrofile_destroy(one);
    dp_avrofile_destroy(runs);
    dp_avrofile_destroy(small);
}

static void test_avrofile_deflate_level_changes_bytes_not_records(void)
{
    dp_avrofile_t *fast, *small;
    const void *d1, *d2;
    size_t l1, l2;
    dp_err_t err;
    int rc;

    fast = dp_avrofile_new(staged_json, DP_AVROFILE_DEFLATE, 65536, sync_a, 8 << 20, &err);
    small = dp_avrofile_new(staged_json, DP_AVROFILE_DEFLATE, 65536, sync_a, 8 << 20, &err);
    DP_ASSERT_FATAL_MSG(fast && small, "new failed: %s", err.msg);
    DP_ASSERT_FATAL_MSG(dp_avrofile_set_deflate_level(small, 9, &err) == 0, "%s", err.msg);
    append_records(fast, 1000, 0, &rc, &err);
    append_records(small, 1000, 0, &rc, &err);
    rc = dp_avrofile_set_deflate_level(small, 5, &err);
    DP_ASSERT_MSG(rc == DP_EINVAL, "level change with records: expected DP_EINVAL, got %d", rc);
    dp_avrofile_finish(fast, &d1, &l1, &err);
    dp_avrofile_finish(small, &d2, &l2, &err);
    DP_ASSERT_MSG(l2 < l1, "level 9 should be smaller than level 1: %zu vs %zu", l2, l1);
    DP_ASSERT_MSG(read_back(d2, l2, 0) == 1000, "level 9 file must read back");
    /* The level survives a reset and can be changed on an empty file. */
    dp_avrofile_reset(small, NULL);
    DP_ASSERT_MSG(dp_avrofile_set_deflate_level(small, 1, &err) == 0, "%s", err.msg);
    append_records(small, 1000, 0, &rc, &err);
    dp_avrofile_finish(small, &d2, &l2, &err);
    DP_ASSERT_MSG(l2 == l1 && memcmp(d1, d2, l1) == 0, "back at level 1: bytes must match");
    DP_ASSERT_MSG(dp_avrofile_set_deflate_level(small, 0, &err) == DP_EINVAL, "level 0 accepted");
    dp_avrofile_destroy(fast);
    dp_avrofile_destroy(small);
}

static void test_avrofile_new_refuses_bad_arguments(void)
{
    dp_err_t err;

    dp_err_clear(&err);
    DP_ASSERT_MSG(dp_avrofile_new(staged_json, DP_AVROFILE_NULL, 4096, sync_a, 100, &err) == NULL &&
                      err.code == DP_ETOOBIG,
                  "a cap below the header size: expected DP_ETOOBIG, got %d", err.code);
    DP_ASSERT_MSG(dp_avrofile_new("{", DP_AVROFILE_NULL, 4096, sync_a, 1 << 20, &err) == NULL &&
                      err.code == DP_EINVAL,
                  "schema not JSON: expected DP_EINVAL, got %d", err.code);
    DP_ASSERT_MSG(dp_avrofile_new(staged_json, DP_AVROFILE_NULL, 0, sync_a, 1 << 20, &err) ==
                          NULL &&
                      err.code == DP_EINVAL,
                  "zero block size: expected DP_EINVAL, got %d", err.code);
    DP_ASSERT_MSG(dp_avrofile_new(staged_json, (dp_avrofile_codec_t)7, 10, sync_a, 1 << 20, &err) ==
                      NULL,
                  "unknown codec accepted");
}

static void test_avrofile_codec_names(void)
{
    dp_avrofile_codec_t c = DP_AVROFILE_NULL;
    dp_err_t err;

    DP_ASSERT_MSG(dp_avrofile_codec_parse("deflate", &c, &err) == 0 && c == DP_AVROFILE_DEFLATE,
                  "deflate not parsed");
    DP_ASSERT_MSG(dp_avrofile_codec_parse("null", &c, &err) == 0 && c == DP_AVROFILE_NULL,
                  "null not parsed");
    DP_ASSERT_MSG(dp_avrofile_codec_parse("snappy", &c, &err) == 0 && c == DP_AVROFILE_SNAPPY,
                  "snappy not parsed");
    DP_ASSERT_MSG(dp_avrofile_codec_parse("zstandard", &c, &err) == DP_EINVAL,
                  "zstandard accepted");
    DP_ASSERT_MSG(strcmp(dp_avrofile_codec_name(DP_AVROFILE_DEFLATE), "deflate") == 0 &&
                      strcmp(dp_avrofile_codec_name(DP_AVROFILE_SNAPPY), "snappy") == 0,
                  "wrong name");
}

static const dp_test_case_t avrofile_cases[] = {
    {"test_avrofile_staged_schema_appends_lineage", test_avrofile_staged_schema_appends_lineage},
    {"test_avrofile_staged_schema_refuses_bad_input",
     test_avrofile_staged_schema_refuses_bad_input},
    {"test_avrofile_staged_schema_of_canonical_event",
     test_avrofile_staged_schema_of_canonical_event},
    {"test_avrofile_null_codec_reads_back_in_avro_c",
     test_avrofile_null_codec_reads_back_in_avro_c},
    {"test_avrofile_deflate_reads_back_in_avro_c", test_avrofile_deflate_reads_back_in_avro_c},
    {"test_avrofile_snappy_reads_back_in_avro_c", test_avrofile_snappy_reads_back_in_avro_c},
    {"test_avrofile_header_carries_staged_schema", test_avrofile_header_carries_staged_schema},
    {"test_avrofile_same_input_same_bytes", test_avrofile_same_input_same_bytes},
    {"test_avrofile_cap_refuses_and_keeps_file_valid",
     test_avrofile_cap_refuses_and_keeps_file_valid},
    {"test_avrofile_large_records_and_empty_file", test_avrofile_large_records_and_empty_file},
    {"test_avrofile_append_encoded_runs", test_avrofile_append_encoded_runs},
    {"test_avrofile_deflate_level_changes_bytes_not_records",
     test_avrofile_deflate_level_changes_bytes_not_records},
    {"test_avrofile_new_refuses_bad_arguments", test_avrofile_new_refuses_bad_arguments},
    {"test_avrofile_codec_names", test_avrofile_codec_names},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    static const dp_test_suite_t suites[] = {
        {"avrofile", suite_init, suite_cleanup, avrofile_cases}, {NULL, NULL, NULL, NULL}};

    return dp_test_main(argc, argv, suites);
}
