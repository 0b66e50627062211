/*
 * avrofile: Avro Object Container File writer for staged batches. See
 * avrofile.h for the layout, the lineage fields and the memory bound.
 *
 * Invariant: out holds the header and every closed block; block holds the
 * open block's raw records; out.len + worst_case(block) <= max_bytes at all
 * times, so closing the block can never pass the cap.
 */
#include "stage/avrofile.h"

#include "core/buf.h"
#include "core/mem.h"

#include <avro.h>
#include <jansson.h>
#include <libdeflate.h>
#include <pthread.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>

#define SYNC_SIZE 16
/* count and size of a block header, at most one 10-byte varint each */
#define BLOCK_HDR_MAX (2 * DP_BUF_LONG_MAX_BYTES)
/* libdeflate level 1: the fastest, and still smaller files than zlib's
 * level 1 (docs/STAGING.md and docs/PERFORMANCE.md have the measurements). */
#define DEFLATE_LEVEL 1
/* The table column the COPY INTO fills with the load time: never in a file. */
#define LOADED_AT "_loaded_at"
/* Largest record and block_bytes. */
#define RAW_MAX ((size_t)1 << 30)
/* "snappy": each block's compressed data is followed by the CRC-32 of its
 * uncompressed data, 4 bytes big-endian (Avro 1.11 specification). */
#define SNAPPY_CRC_SIZE 4

struct dp_avrofile {
    char *schema; /* staged schema JSON, owned */
    dp_avrofile_codec_t codec;
    size_t block_bytes; /* close a block before it passes this */
    size_t max_bytes;   /* cap on the whole file */
    unsigned char sync[SYNC_SIZE];
    dp_buf_t out;         /* header + closed blocks */
    dp_buf_t block;       /* records of the open block, uncompressed */
    uint64_t block_count; /* records in the open block */
    uint64_t count;       /* records in the file */
    int finished;
    int level;                        /* deflate level */
    struct libdeflate_compressor *zc; /* owned, for the deflate codec */
};

static const char *const lineage_fields[] = {"_kafka_topic",  "_kafka_partition",
                                             "_kafka_offset", "_kafka_timestamp",
                                             "_incarnation",  LOADED_AT};

/* ==== Buffer reuse ==== */

/* The output buffer of the last writer destroyed, kept for the next one with
 * the same cap: the loader writes one file after another, and a file's
 * buffer grown anew each time cost a page fault per 4 KiB written. One
 * buffer at most, and only while it fits the files written: a buffer that a
 * burst grew (a flush of 64 MiB) and the next file uses less than half of
 * is freed, so the memory follows the files of the last flushes. */
#define SPARE_SLACK ((size_t)1 << 20)
static pthread_mutex_t spare_mu = PTHREAD_MUTEX_INITIALIZER;
static dp_buf_t spare;
static int have_spare;

/* Sets *out to the spare buffer when its cap is max, else to a new one. */
static void out_take(dp_buf_t *out, size_t max)
{
    pthread_mutex_lock(&spare_mu);
    if (have_spare && dp_buf_max(&spare) == max) {
        *out = spare; /* moved: the writer owns it now */
        have_spare = 0;
        pthread_mutex_unlock(&spare_mu);
        dp_buf_reset(out);
        return;
    }
    pthread_mutex_unlock(&spare_mu);
    dp_buf_init(out, max);
}

/* Keeps out as the spare, freeing the previous one. */
static void out_give(dp_buf_t *out)
{
    dp_buf_t drop;
    int had;

    if (dp_buf_data(out) == NULL || dp_buf_capacity(out) > 2 * dp_buf_len(out) + SPARE_SLACK) {
        dp_buf_free(out);
        return;
    }
    pthread_mutex_lock(&spare_mu);
    drop = spare;
    had = have_spare;
    spare = *out; /* moved */
    have_spare = 1;
    pthread_mutex_unlock(&spare_mu);
    if (had)
        dp_buf_free(&drop);
}

/* ==== Staged schema ==== */

static json_t *lineage_field(const char *name, const char *type, const char *logical, int nullable)
{
    json_t *type_json =
        logical ? json_pack("{s:s, s:s}", "type", type, "logicalType", logical) : json_string(type);

    if (nullable)
        return json_pack("{s:s, s:[s,o], s:n}", "name", name, "type", "null", type_json, "default");
    return json_pack("{s:s, s:o}", "name", name, "type", type_json);
}

/* Checks root is a record with a fields array, none named like a lineage
 * field; returns the fields array (borrowed) or NULL with err set. */
static json_t *record_fields(json_t *root, dp_err_t *err)
{
    json_t *fields = json_object_get(root, "fields"), *field;
    const char *type = json_string_value(json_object_get(root, "type"));
    size_t i, j;

    if (!json_is_object(root) || type == NULL || strcmp(type, "record") != 0 ||
        !json_is_array(fields)) {
        dp_err_set(err, DP_EINVAL, 0, "staged schema: the canonical schema is not a record");
        return NULL;
    }
    json_array_foreach(fields, i, field)
    {
        const char *name = json_string_value(json_object_get(field, "name"));

        for (j = 0; name && j < sizeof(lineage_fields) / sizeof(lineage_fields[0]); j++) {
            if (strcmp(name, lineage_fields[j]) == 0) {
                dp_err_set(err, DP_EINVAL, 0,
                           "staged schema: canonical field %s clashes with a lineage field", name);
                return NULL;
            }
        }
    }
    return fields;
}

/* Makes sure avro-c (and so any reader) accepts the schema text. */
static int check_with_avro(const char *json, dp_err_t *err)
{
    avro_schema_t schema = NULL;

    if (avro_schema_from_json_length(json, strlen(json), &schema) != 0) {
        return dp_err_set(err, DP_EINVAL, 0, "staged schema: avro-c refuses it: %s",
                          avro_strerror());
    }
    avro_schema_decref(schema);
    return 0;
}

int dp_avrofile_staged_schema(const char *canonical_json, size_t len, char **out, dp_err_t *err)
{
    json_error_t jerr;
    json_t *root = NULL, *fields;
    char *text = NULL;
    int rc = DP_EINVAL;

    *out = NULL;
    root = json_loadb(canonical_json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        dp_err_set(err, DP_EINVAL, 0, "staged schema: canonical schema line %d column %d: %s",
                   jerr.line, jerr.column, jerr.text);
        goto out;
    }
    if ((fields = record_fields(root, err)) == NULL) {
        goto out;
    }
    json_array_append_new(fields, lineage_field("_kafka_topic", "string", NULL, 0));
    json_array_append_new(fields, lineage_field("_kafka_partition", "int", NULL, 0));
    json_array_append_new(fields, lineage_field("_kafka_offset", "long", NULL, 0));
    json_array_append_new(fields, lineage_field("_kafka_timestamp", "long", "timestamp-micros", 1));
    json_array_append_new(fields, lineage_field("_incarnation", "string", NULL, 0));
    json_array_append_new(fields, lineage_field(LOADED_AT, "long", "timestamp-micros", 0));
    /* jansson keeps keys in insertion order, so the text is deterministic. */
    text = json_dumps(root, JSON_COMPACT);
    if (text == NULL) {
        rc = dp_err_set(err, DP_EFAIL, 0, "staged schema: cannot serialize");
        goto out;
    }
    if ((rc = check_with_avro(text, err)) < 0) {
        goto out;
    }
    *out = dp_strdup(text);
out:
    free(text); /* jansson allocates with malloc unless told otherwise */
    json_decref(root);
    return rc;
}

int dp_avrofile_codec_parse(const char *name, dp_avrofile_codec_t *codec, dp_err_t *err)
{
    if (name && strcmp(name, "null") == 0) {
        *codec = DP_AVROFILE_NULL;
    } else if (name && strcmp(name, "deflate") == 0) {
        *codec = DP_AVROFILE_DEFLATE;
    } else if (name && strcmp(name, "snappy") == 0) {
        *codec = DP_AVROFILE_SNAPPY;
    } else {
        return dp_err_set(err, DP_EINVAL, 0,
                          "avro codec must be \"null\", \"deflate\" or \"snappy\"");
    }
    return 0;
}

const char *dp_avrofile_codec_name(dp_avrofile_codec_t codec)
{
    return codec == DP_AVROFILE_DEFLATE  ? "deflate"
           : codec == DP_AVROFILE_SNAPPY ? "snappy"
                                         : "null";
}

/* ==== Container writing ==== */

static int put_meta(dp_buf_t *out, const char *key, const char *value, dp_err_t *err)
{
    int rc;

    if ((rc = dp_buf_put_bytes(out, key, strlen(key), err)) < 0) {
        return rc;
    }
    return dp_buf_put_bytes(out, value, strlen(value), err);
}

static int write_header(dp_avrofile_t *f, dp_err_t *err)
{
    int rc;

    dp_buf_reset(&f->out);
    if ((rc = dp_buf_append(&f->out, "Obj\x01", 4, err)) < 0 ||
        (rc = dp_buf_put_long(&f->out, 2, err)) < 0 ||
        (rc = put_meta(&f->out, "avro.schema", f->schema, err)) < 0 ||
        (rc = put_meta(&f->out, "avro.codec", dp_avrofile_codec_name(f->codec), err)) < 0 ||
        (rc = dp_buf_put_long(&f->out, 0, err)) < 0 ||
        (rc = dp_buf_append(&f->out, f->sync, SYNC_SIZE, err)) < 0) {
        dp_err_prefix(err, "avro header: ");
        return rc;
    }
    return 0;
}

/* Largest number of bytes a block of `raw` uncompressed bytes can take in
 * the file, header and sync included. */
static size_t block_worst(dp_avrofile_t *f, size_t raw)
{
    size_t payload = raw;

    if (f->codec == DP_AVROFILE_DEFLATE) {
        payload = libdeflate_deflate_compress_bound(f->zc, raw);
    } else if (f->codec == DP_AVROFILE_SNAPPY) {
        payload = snappy_max_compressed_length(raw) + SNAPPY_CRC_SIZE;
    }
    return BLOCK_HDR_MAX + payload + SYNC_SIZE;
}

/* Writes the block header and moves the payload, which was written
 * BLOCK_HDR_MAX bytes into `dst`, right behind it; then the sync. Returns
 * the block's length in the file. */
static size_t frame_block(dp_avrofile_t *f, unsigned char *dst, size_t payload, uint64_t count)
{
    unsigned char hdr[BLOCK_HDR_MAX];
    size_t n = dp_buf_encode_long(hdr, (int64_t)count);

    n += dp_buf_encode_long(hdr + n, (int64_t)payload);
    memmove(dst + n, dst + BLOCK_HDR_MAX, payload);
    memcpy(dst, hdr, n);
    memcpy(dst + n + payload, f->sync, SYNC_SIZE);
    return n + payload + SYNC_SIZE;
}

/* Compresses raw[0..len) with snappy into dst (room bytes), followed by the
 * big-endian CRC-32 of raw, as Avro's "snappy" codec says; 0 on failure,
 * else the payload's length. */
static size_t snappy_block(const unsigned char *raw, size_t len, unsigned char *dst, size_t room)
{
    size_t out = room - SNAPPY_CRC_SIZE;
    uint32_t crc;

    if (snappy_compress((const char *)raw, len, (char *)dst, &out) != SNAPPY_OK)
        return 0;
    crc = libdeflate_crc32(0, raw, len);
    for (int i = 0; i < 4; i++)
        dst[out + (size_t)i] = (unsigned char)(crc >> (24 - 8 * i));
    return out + SNAPPY_CRC_SIZE;
}

/* Writes `count` records held in raw[0..len) as one block at the end of out
 * (compressed for "deflate" and "snappy"). Space was guaranteed by the
 * append check. */
static int write_block(dp_avrofile_t *f, const unsigned char *raw, size_t len, uint64_t count,
                       dp_err_t *err)
{
    size_t start = dp_buf_len(&f->out), worst = block_worst(f, len), payload = len;
    unsigned char *dst;

    if ((dst = dp_buf_extend(&f->out, worst, err)) == NULL) {
        return DP_ETOOBIG;
    }
    if (f->codec == DP_AVROFILE_DEFLATE) {
        /* Raw RFC 1951 data, no zlib header or checksum, as Avro says. */
        payload = libdeflate_deflate_compress(f->zc, raw, len, dst + BLOCK_HDR_MAX,
                                              worst - BLOCK_HDR_MAX - SYNC_SIZE);
        if (payload == 0 && len > 0) {
            dp_buf_truncate(&f->out, start);
            return dp_err_set(err, DP_EFAIL, 0, "avro block: deflate found no room");
        }
    } else if (f->codec == DP_AVROFILE_SNAPPY) {
        payload = snappy_block(raw, len, dst + BLOCK_HDR_MAX, worst - BLOCK_HDR_MAX - SYNC_SIZE);
        if (payload == 0) {
            dp_buf_truncate(&f->out, start);
            return dp_err_set(err, DP_EFAIL, 0, "avro block: snappy failed");
        }
    } else {
        memcpy(dst + BLOCK_HDR_MAX, raw, len);
    }
    dp_buf_truncate(&f->out, start + frame_block(f, dst, payload, count));
    return 0;
}

/* Closes the open block into out. */
static int close_block(dp_avrofile_t *f, dp_err_t *err)
{
    int rc;

    if (f->block_count == 0) {
        return 0;
    }
    if ((rc = write_block(f, dp_buf_data(&f->block), dp_buf_len(&f->block), f->block_count, err)) <
        0) {
        return rc;
    }
    dp_buf_reset(&f->block);
    f->block_count = 0;
    return 0;
}

/* Worst-case file size if a record of rec_max bytes were appended now. */
static int check_room(dp_avrofile_t *f, size_t rec_max, int *close_first, dp_err_t *err)
{
    size_t open = dp_buf_len(&f->block), projected = dp_buf_len(&f->out);

    /* A block holds records up to block_bytes, or one larger record. */
    *close_first =
        f->block_count > 0 && (open >= f->block_bytes || rec_max > f->block_bytes - open);
    if (rec_max > f->max_bytes || rec_max > RAW_MAX) {
        return dp_err_set(err, DP_ETOOBIG, 0, "avro record of %zu bytes exceeds the cap %zu",
                          rec_max, f->max_bytes < RAW_MAX ? f->max_bytes : (size_t)RAW_MAX);
    }
    if (*close_first) {
        projected += block_worst(f, open);
        open = 0;
    }
    projected += block_worst(f, open + rec_max);
    if (projected > f->max_bytes) {
        return dp_err_set(err, DP_ETOOBIG, 0,
                          "avro file would reach %zu bytes, cap %zu (%llu records)", projected,
                          f->max_bytes, (unsigned long long)f->count);
    }
    return 0;
}

/* Makes room in the open block for rec_max more bytes holding `records`
 * records, closing the block first when it is full; sets *room, or returns
 * DP_ETOOBIG/DP_EINVAL with nothing changed. The caller fills the room and
 * truncates the block to what it used. */
static int reserve_records(dp_avrofile_t *f, size_t rec_max, uint64_t records, unsigned char **room,
                           dp_err_t *err)
{
    int rc, close_first;

    if (f->finished) {
        return dp_err_set(err, DP_EINVAL, 0, "avro append: file already finished");
    }
    if ((rc = check_room(f, rec_max, &close_first, err)) < 0 ||
        (close_first && (rc = close_block(f, err)) < 0)) {
        return rc;
    }
    /* Cannot fail: check_room counted the block at its worst case. */
    if ((*room = dp_buf_extend(&f->block, rec_max, err)) == NULL) {
        return DP_ETOOBIG;
    }
    f->block_count += records;
    f->count += records;
    return 0;
}

int dp_avrofile_append(dp_avrofile_t *f, const void *body, size_t len, const void *lineage,
                       size_t lineage_len, dp_err_t *err)
{
    unsigned char *p = NULL;
    int rc;

    if (len > RAW_MAX || lineage_len > RAW_MAX) {
        return dp_err_set(err, DP_ETOOBIG, 0, "avro append: record too large");
    }
    if ((rc = reserve_records(f, len + lineage_len, 1, &p, err)) < 0) {
        return rc;
    }
    if (len) {
        memcpy(p, body, len);
    }
    if (lineage_len) {
        memcpy(p + len, lineage, lineage_len);
    }
    return 0;
}

int dp_avrofile_append_encoded(dp_avrofile_t *f, const void *data, size_t len, uint64_t records,
                               dp_err_t *err)
{
    unsigned char *p = NULL;
    int rc;

    if (records == 0 && len == 0) {
        return 0;
    }
    if (records == 0 || len == 0) {
        return dp_err_set(err, DP_EINVAL, 0, "avro append: %llu records in %zu bytes",
                          (unsigned long long)records, len);
    }
    if (f->finished) {
        return dp_err_set(err, DP_EINVAL, 0, "avro append: file already finished");
    }
    /* A run as large as a block, with no block open, becomes a block
     * straight from the caller's memory: no copy into the open block. */
    if (f->block_count == 0 && len >= f->block_bytes) {
        int close_first;

        if ((rc = check_room(f, len, &close_first, err)) < 0 ||
            (rc = write_block(f, data, len, records, err)) < 0) {
            return rc;
        }
        f->count += records;
        return 0;
    }
    if ((rc = reserve_records(f, len, records, &p, err)) < 0) {
        return rc;
    }
    memcpy(p, data, len);
    return 0;
}

int dp_avrofile_finish(dp_avrofile_t *f, const void **data, size_t *len, dp_err_t *err)
{
    int rc;

    if (!f->finished) {
        if ((rc = close_block(f, err)) < 0) {
            return rc;
        }
        f->finished = 1;
    }
    *data = dp_buf_data(&f->out);
    *len = dp_buf_len(&f->out);
    return 0;
}

void dp_avrofile_reset(dp_avrofile_t *f, const unsigned char sync[16])
{
    if (sync) {
        memcpy(f->sync, sync, SYNC_SIZE);
    }
    dp_buf_reset(&f->block);
    f->block_count = 0;
    f->count = 0;
    f->finished = 0;
    /* Cannot fail: the same header fitted when the writer was created. */
    write_header(f, NULL);
}

int dp_avrofile_set_deflate_level(dp_avrofile_t *f, int level, dp_err_t *err)
{
    struct libdeflate_compressor *zc;

    if (f->codec != DP_AVROFILE_DEFLATE || f->count > 0 || level < 1 || level > 9) {
        return dp_err_set(err, DP_EINVAL, 0,
                          "avro deflate level %d: needs the deflate codec, an empty file and 1..9",
                          level);
    }
    if ((zc = libdeflate_alloc_compressor(level)) == NULL) {
        return dp_err_set(err, DP_EFAIL, 0, "avro deflate level %d: out of memory", level);
    }
    libdeflate_free_compressor(f->zc);
    f->zc = zc;
    f->level = level;
    return 0;
}

uint64_t dp_avrofile_count(const dp_avrofile_t *f)
{
    return f->count;
}

size_t dp_avrofile_size(const dp_avrofile_t *f)
{
    return dp_buf_len(&f->out) + dp_buf_len(&f->block);
}

/* The file's schema: the table's, without a last field named _loaded_at,
 * which the COPY INTO adds at load time (ddl.h). Returns new text (free()),
 * or NULL when schema is not a JSON record. */
static char *file_schema(const char *schema)
{
    json_t *root = json_loads(schema, JSON_REJECT_DUPLICATES, NULL), *fields, *last;
    const char *name;
    char *text = NULL;
    size_t n;

    if (!root)
        return NULL;
    fields = json_object_get(root, "fields");
    n = json_array_size(fields);
    last = n ? json_array_get(fields, n - 1) : NULL;
    name = json_string_value(json_object_get(last, "name"));
    if (!name || strcmp(name, LOADED_AT) != 0) {
        text = dp_strdup(schema); /* as given, byte for byte */
    } else if (json_array_remove(fields, n - 1) == 0) {
        char *dumped = json_dumps(root, JSON_COMPACT);

        text = dumped ? dp_strdup(dumped) : NULL;
        free(dumped); /* jansson's allocation */
    }
    json_decref(root);
    return text;
}

static int check_args(const char *schema, dp_avrofile_codec_t codec, size_t block_bytes,
                      const unsigned char *sync, dp_err_t *err)
{
    json_t *root;

    if (schema == NULL || sync == NULL || block_bytes == 0 || block_bytes > RAW_MAX ||
        (codec != DP_AVROFILE_NULL && codec != DP_AVROFILE_DEFLATE &&
         codec != DP_AVROFILE_SNAPPY)) {
        return dp_err_set(
            err, DP_EINVAL, 0,
            "avro file: schema, sync, codec and a block size of 1 B..1 GiB are required");
    }
    if ((root = json_loads(schema, 0, NULL)) == NULL) {
        return dp_err_set(err, DP_EINVAL, 0, "avro file: the staged schema is not JSON");
    }
    json_decref(root);
    return 0;
}

dp_avrofile_t *dp_avrofile_new(const char *staged_schema_json, dp_avrofile_codec_t codec,
                               size_t block_bytes, const unsigned char sync[16], size_t max_bytes,
                               dp_err_t *err)
{
    dp_avrofile_t *f;

    if (check_args(staged_schema_json, codec, block_bytes, sync, err) < 0) {
        return NULL;
    }
    f = dp_calloc(1, sizeof(*f));
    if ((f->schema = file_schema(staged_schema_json)) == NULL) {
        dp_err_set(err, DP_EINVAL, 0, "avro file: the staged schema is not a record");
        goto fail;
    }
    f->codec = codec;
    f->block_bytes = block_bytes;
    f->max_bytes = max_bytes;
    memcpy(f->sync, sync, SYNC_SIZE);
    out_take(&f->out, max_bytes);
    dp_buf_init(&f->block, max_bytes);
    if (codec == DP_AVROFILE_DEFLATE) {
        f->level = DEFLATE_LEVEL;
        if ((f->zc = libdeflate_alloc_compressor(DEFLATE_LEVEL)) == NULL) {
            dp_err_set(err, DP_EFAIL, 0, "avro file: cannot allocate the deflate compressor");
            goto fail;
        }
    }
    if (write_header(f, err) < 0) {
        goto fail;
    }
    return f;
fail:
    dp_avrofile_destroy(f);
    return NULL;
}

void dp_avrofile_destroy(dp_avrofile_t *f)
{
    if (f == NULL) {
        return;
    }
    libdeflate_free_compressor(f->zc);
    out_give(&f->out);
    dp_buf_free(&f->block);
    free(f->schema);
    free(f);
}
