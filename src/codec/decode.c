/*
 * decode: framing, the writer schema cache, and the extraction and
 * validation of the canonical fields (see decode.h).
 *
 * Invariants:
 *   - the decoder is immutable while messages are decoded;
 *   - a body reaches the conversion only after the walker has validated it
 *     against its writer schema, and the canonical body handed out has been
 *     walked against the canonical schema (so pass-through, converted and
 *     JSON bodies are all checked the same way);
 *   - compatibility is decided once per writer schema, in dp_decoder_add_schema()
 *     (dp_resolver_new), never per message.
 */
#include "codec/decode.h"

#include "codec/json_event.h"
#include "codec/resolve.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct writer {
    uint32_t id;
    dp_schema_t *schema;
    int identical;  /* encodes exactly like the canonical: pass-through */
    int compatible; /* 0: every message is INCOMPATIBLE_SCHEMA */
    char why[DP_REJECT_REASON_MAX];
    dp_resolver_t *resolver; /* when compatible and not identical */
} writer_t;

typedef struct topic_schema {
    char *topic;
    uint32_t id;
} topic_schema_t;

struct dp_decoder {
    dp_schema_t *canon;
    int f_event_id, f_event_name, f_event_time, f_merchant_id;
    int f_received_at, f_currency, f_value;
    writer_t **writers; /* sorted by id */
    size_t nwriters;
    topic_schema_t *topics;
    size_t ntopics;
    size_t max_message;
};

/* ------------------------------------------------------------------ */
/* Decoder and writer schema cache                                       */
/* ------------------------------------------------------------------ */

static void writer_destroy(writer_t *w)
{
    if (!w)
        return;
    dp_resolver_destroy(w->resolver);
    dp_schema_destroy(w->schema);
    free(w);
}

static const writer_t *find_writer(const dp_decoder_t *dec, uint32_t id)
{
    size_t lo = 0, hi = dec->nwriters;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;

        if (dec->writers[mid]->id == id)
            return dec->writers[mid];
        if (dec->writers[mid]->id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Checks that canonical field `name` exists with the expected shape
 * (nullable or not) and returns its index, or -1 with err set. */
static int canon_field(dp_decoder_t *dec, const char *name, dp_avro_type_t type, int nullable,
                       dp_err_t *err)
{
    int idx = dp_schema_field_index(dec->canon, 0, name), nb, vb, node;

    if (idx < 0) {
        dp_err_set(err, DP_EINVAL, 0, "canonical schema has no field '%s'", name);
        return -1;
    }
    node = (int)dp_schema_field(dec->canon, 0, (uint32_t)idx)->node;
    if (nullable)
        node = dp_schema_nullable(dec->canon, (uint32_t)node, &nb, &vb);
    if (node < 0 || dec->canon->nodes[node].type != type) {
        dp_err_set(err, DP_EINVAL, 0, "canonical field '%s' must be %s%s", name,
                   nullable ? "null or " : "", dp_avro_type_name(type));
        return -1;
    }
    return idx;
}

dp_decoder_t *dp_decoder_new(const char *canonical_json, size_t len, dp_err_t *err)
{
    dp_decoder_t *dec = dp_calloc(1, sizeof(*dec));

    dec->max_message = DP_DECODE_DEFAULT_MAX_MESSAGE;
    if (!(dec->canon = dp_schema_parse(canonical_json, len, err)))
        goto fail;
    if ((dec->f_event_id = canon_field(dec, "event_id", DP_AVRO_STRING, 0, err)) < 0 ||
        (dec->f_event_name = canon_field(dec, "event_name", DP_AVRO_STRING, 0, err)) < 0 ||
        (dec->f_event_time = canon_field(dec, "event_time", DP_AVRO_LONG, 0, err)) < 0 ||
        (dec->f_merchant_id = canon_field(dec, "merchant_id", DP_AVRO_STRING, 0, err)) < 0 ||
        (dec->f_received_at = canon_field(dec, "received_at", DP_AVRO_LONG, 1, err)) < 0 ||
        (dec->f_currency = canon_field(dec, "currency", DP_AVRO_STRING, 1, err)) < 0 ||
        (dec->f_value = canon_field(dec, "value", DP_AVRO_BYTES, 1, err)) < 0)
        goto fail;
    return dec;
fail:
    dp_err_prefix(err, "canonical schema: ");
    dp_decoder_destroy(dec);
    return NULL;
}

void dp_decoder_destroy(dp_decoder_t *dec)
{
    size_t i;

    if (!dec)
        return;
    for (i = 0; i < dec->nwriters; i++)
        writer_destroy(dec->writers[i]);
    for (i = 0; i < dec->ntopics; i++)
        free(dec->topics[i].topic);
    free(dec->writers);
    free(dec->topics);
    dp_schema_destroy(dec->canon);
    free(dec);
}

static void insert_writer(dp_decoder_t *dec, writer_t *w)
{
    size_t i = 0;

    while (i < dec->nwriters && dec->writers[i]->id < w->id)
        i++;
    if (i < dec->nwriters && dec->writers[i]->id == w->id) {
        writer_destroy(dec->writers[i]);
        dec->writers[i] = w;
        return;
    }
    dec->writers = dp_realloc(dec->writers, (dec->nwriters + 1) * sizeof(*dec->writers));
    memmove(&dec->writers[i + 1], &dec->writers[i], (dec->nwriters - i) * sizeof(writer_t *));
    dec->writers[i] = w;
    dec->nwriters++;
}

int dp_decoder_add_schema(dp_decoder_t *dec, uint32_t id, const char *json_text, size_t len,
                          dp_err_t *err)
{
    writer_t *w = dp_calloc(1, sizeof(*w));

    w->id = id;
    if (!(w->schema = dp_schema_parse(json_text, len, err))) {
        dp_err_prefix(err, "writer schema %u: ", id);
        writer_destroy(w);
        return DP_EINVAL;
    }
    w->identical = dp_schema_equal(w->schema, 0, dec->canon, 0);
    w->compatible = 1;
    if (!w->identical) {
        w->resolver = dp_resolver_new(w->schema, dec->canon, w->why, sizeof(w->why));
        w->compatible = w->resolver != NULL;
    }
    if (!w->compatible)
        dp_log(DP_LOG_WARN, "decode",
               "writer schema %u is incompatible with the canonical schema, its messages will be "
               "rejected: %s",
               id, w->why);
    insert_writer(dec, w);
    return 0;
}

/* Parses "<digits>.avsc" into *id; -1 for any other name. */
static int id_of_name(const char *name, uint32_t *id)
{
    char *end = NULL;
    unsigned long v;

    if (name[0] < '0' || name[0] > '9')
        return -1;
    v = strtoul(name, &end, 10);
    if (strcmp(end, ".avsc") != 0 || v > UINT32_MAX)
        return -1;
    *id = (uint32_t)v;
    return 0;
}

int dp_decoder_load_ids(dp_decoder_t *dec, const char *ids_dir, dp_err_t *err)
{
    DIR *dir = opendir(ids_dir);
    struct dirent *de;
    char path[4096], *text;
    size_t len;
    uint32_t id;
    int rc = 0;

    if (!dir)
        return dp_err_set(err, DP_EIO, 0, "%s: cannot open directory", ids_dir);
    while (rc == 0 && (de = readdir(dir)) != NULL) {
        if (id_of_name(de->d_name, &id) < 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", ids_dir, de->d_name);
        if (!(text = dp_buf_read_file(path, (size_t)1 << 20, &len, err))) {
            rc = DP_EIO;
            break;
        }
        rc = dp_decoder_add_schema(dec, id, text, len, err);
        free(text);
    }
    closedir(dir);
    return rc;
}

dp_decoder_t *dp_decoder_open(const char *schemas_dir, dp_err_t *err)
{
    dp_decoder_t *dec = NULL;
    char path[4096], *text;
    size_t len;

    snprintf(path, sizeof(path), "%s/canonical_event.avsc", schemas_dir);
    if (!(text = dp_buf_read_file(path, (size_t)1 << 20, &len, err)))
        return NULL;
    dec = dp_decoder_new(text, len, err);
    free(text);
    snprintf(path, sizeof(path), "%s/ids", schemas_dir);
    if (dec && dp_decoder_load_ids(dec, path, err) < 0) {
        dp_decoder_destroy(dec);
        return NULL;
    }
    return dec;
}

int dp_decoder_schema_status(const dp_decoder_t *dec, uint32_t id, const char **why)
{
    const writer_t *w = find_writer(dec, id);

    if (!w)
        return -1;
    if (why)
        *why = w->compatible ? "" : w->why;
    return w->compatible;
}

int dp_decoder_set_topic_schema(dp_decoder_t *dec, const char *topic, uint32_t id, dp_err_t *err)
{
    size_t i;

    if (!find_writer(dec, id))
        return dp_err_set(err, DP_ENOTFOUND, 0, "topic %s: writer schema %u is not loaded", topic,
                          id);
    for (i = 0; i < dec->ntopics; i++) {
        if (strcmp(dec->topics[i].topic, topic) == 0) {
            dec->topics[i].id = id;
            return 0;
        }
    }
    dec->topics = dp_realloc(dec->topics, (dec->ntopics + 1) * sizeof(*dec->topics));
    dec->topics[dec->ntopics].topic = dp_strdup(topic);
    dec->topics[dec->ntopics++].id = id;
    return 0;
}

void dp_decoder_set_max_message(dp_decoder_t *dec, size_t max)
{
    dec->max_message = max;
}

const dp_schema_t *dp_decoder_canonical(const dp_decoder_t *dec)
{
    return dec->canon;
}

void dp_decode_scratch_init(dp_decode_scratch_t *scratch, size_t max)
{
    dp_buf_init(&scratch->body, max);
}

void dp_decode_scratch_free(dp_decode_scratch_t *scratch)
{
    dp_buf_free(&scratch->body);
}

/* ------------------------------------------------------------------ */
/* Decoding one message                                                  */
/* ------------------------------------------------------------------ */

static dp_strview_t view(const dp_avro_value_t *v)
{
    dp_strview_t s = {(const char *)v->ptr, v->len};

    return s;
}

/* Walks a canonical body, fills out->ev and applies the rules. A body this
 * decoder encoded itself (JSON, resolved) is `trusted`: its strings were
 * validated on the way in, so the walk checks bounds but not UTF-8 again. */
static int extract(const dp_decoder_t *dec, const uint8_t *body, size_t len, int trusted,
                   dp_decoded_t *out)
{
    dp_avro_value_t f[DP_SCHEMA_MAX_FIELDS];
    dp_event_view_t *ev = &out->ev;
    size_t nf = dec->canon->nodes[0].n;

    out->body = body;
    out->body_len = len;
    if ((trusted ? dp_avro_walk_record_trusted : dp_avro_walk_record)(dec->canon, 0, body, len, f,
                                                                      nf, &out->reject) < 0)
        return DP_EINVAL;
    ev->event_id = view(&f[dec->f_event_id]);
    ev->event_name = view(&f[dec->f_event_name]);
    ev->merchant_id = view(&f[dec->f_merchant_id]);
    ev->event_time = f[dec->f_event_time].l;
    ev->has_received_at = !f[dec->f_received_at].is_null;
    ev->received_at = f[dec->f_received_at].l;
    ev->has_currency = !f[dec->f_currency].is_null;
    ev->currency = view(&f[dec->f_currency]);
    ev->has_value = !f[dec->f_value].is_null;
    ev->value = f[dec->f_value].ptr;
    ev->value_len = f[dec->f_value].len;
    return dp_validate_event(ev, &out->reject);
}

static int decode_avro(const dp_decoder_t *dec, uint32_t id, const uint8_t *body, size_t len,
                       dp_decoded_t *out, dp_decode_scratch_t *scratch)
{
    const writer_t *w = find_writer(dec, id);

    out->schema_id = id;
    if (!w)
        return dp_reject_set(&out->reject, DP_REJ_UNKNOWN_SCHEMA_ID, "$",
                             "writer schema id %u is not loaded", id);
    if (!w->compatible)
        return dp_reject_set(&out->reject, DP_REJ_INCOMPATIBLE_SCHEMA, "$",
                             "writer schema %u cannot be read as canonical: %s", id, w->why);
    if (w->identical) {
        out->passthrough = 1;
        return extract(dec, body, len, 0, out);
    }
    if (dp_avro_walk_record(w->schema, 0, body, len, NULL, 0, &out->reject) < 0)
        return DP_EINVAL;
    dp_buf_reset(&scratch->body);
    if (dp_resolver_run(w->resolver, body, len, &scratch->body, &out->reject) < 0)
        return DP_EINVAL;
    return extract(dec, dp_buf_data(&scratch->body), dp_buf_len(&scratch->body), 1, out);
}

static int decode_json(const dp_decoder_t *dec, const char *text, size_t len, dp_decoded_t *out,
                       dp_decode_scratch_t *scratch)
{
    json_error_t jerr;
    json_t *root;
    char *near;
    int rc;

    out->format = DP_FORMAT_JSON;
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' ' ||
                       text[len - 1] == '\t'))
        len--;
    if (!(root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr))) {
        /* jansson quotes the offending token after " near "; keep payload
         * bytes out of the reason. */
        if ((near = strstr(jerr.text, " near ")) != NULL)
            *near = '\0';
        return dp_reject_set(&out->reject, DP_REJ_BAD_JSON, "$", "line %d column %d: %s", jerr.line,
                             jerr.column, jerr.text);
    }
    dp_buf_reset(&scratch->body);
    rc = dp_json_event_encode(dec->canon, root, text, len, &scratch->body, &out->reject);
    json_decref(root);
    if (rc < 0)
        return rc;
    return extract(dec, dp_buf_data(&scratch->body), dp_buf_len(&scratch->body), 1, out);
}

static int decode_any(const dp_decoder_t *dec, const char *topic, const uint8_t *p, size_t len,
                      dp_decoded_t *out, dp_decode_scratch_t *scratch)
{
    size_t i;

    if (len > dec->max_message)
        return dp_reject_set(&out->reject, DP_REJ_TOO_LARGE, "$",
                             "message of %zu bytes, the limit is %zu", len, dec->max_message);
    for (i = 0; topic && i < dec->ntopics; i++) {
        if (strcmp(dec->topics[i].topic, topic) == 0) {
            out->format = DP_FORMAT_PLAIN_AVRO;
            return decode_avro(dec, dec->topics[i].id, p, len, out, scratch);
        }
    }
    if (len > 0 && p[0] == 0x00) {
        out->format = DP_FORMAT_CONFLUENT;
        if (len < 5)
            return dp_reject_set(&out->reject, DP_REJ_FRAMING, "$",
                                 "Confluent frame of %zu bytes, shorter than its 5-byte header",
                                 len);
        return decode_avro(dec,
                           (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4],
                           p + 5, len - 5, out, scratch);
    }
    for (i = 0; i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'); i++)
        ;
    if (i < len && p[i] == '{')
        return decode_json(dec, (const char *)p, len, out, scratch);
    if (i == len)
        return dp_reject_set(&out->reject, DP_REJ_FRAMING, "$", "empty message");
    return dp_reject_set(&out->reject, DP_REJ_FRAMING, "$",
                         "first byte 0x%02x is neither the 0x00 of the Confluent framing nor "
                         "'{' of a JSON object",
                         p[i]);
}

int dp_decode_message(const dp_decoder_t *dec, const char *topic, const void *payload, size_t len,
                      dp_decoded_t *out, dp_decode_scratch_t *scratch, dp_err_t *err)
{
    int rc;

    out->body = NULL;
    out->body_len = 0;
    out->passthrough = 0;
    out->format = DP_FORMAT_NONE;
    out->schema_id = 0;
    out->reject.code = DP_REJ_NONE;
    memset(&out->ev, 0, sizeof(out->ev));
    rc = decode_any(dec, topic, payload, len, out, scratch);
    if (rc < 0) {
        out->body = NULL;
        out->body_len = 0;
        out->passthrough = 0;
        return dp_err_set(err, DP_EINVAL, 0, "%s %s: %s", dp_reject_name(out->reject.code),
                          out->reject.path, out->reject.reason);
    }
    return 0;
}
