/*
 * json_event: JSON object -> Avro binary over a compiled schema (see
 * json_event.h for the accepted JSON of each type).
 *
 * The encoder appends straight into a bounded dp_buf_t; a full buffer
 * becomes TOO_LARGE. Error paths are built from a stack of borrowed names
 * (schema field names, JSON map keys) only when an error happens.
 */
#include "codec/json_event.h"

#include "codec/validate.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct enc {
    const dp_schema_t *schema;
    dp_buf_t *out;
    dp_reject_t *rej;
    int depth;
    int default_mode; /* Avro default rules: unions take branch 0 */
    int unknown;      /* an object had keys its record does not hold */
    const char *path[DP_SCHEMA_MAX_DEPTH + 2];
} enc_t;

/* ------------------------------------------------------------------ */
/* Errors                                                               */
/* ------------------------------------------------------------------ */

__attribute__((format(printf, 3, 4))) static int fail(enc_t *e, dp_reject_code_t code,
                                                      const char *fmt, ...)
{
    char path[DP_REJECT_PATH_MAX];
    size_t len;
    va_list ap;
    int i;

    if (!e->rej)
        return DP_EINVAL;
    snprintf(path, sizeof(path), "$");
    for (i = 1; i <= e->depth && i <= DP_SCHEMA_MAX_DEPTH + 1; i++) {
        len = strlen(path);
        if (e->path[i] && len + 1 < sizeof(path))
            snprintf(path + len, sizeof(path) - len, "%s%s", e->path[i][0] == '[' ? "" : ".",
                     e->path[i]);
    }
    e->rej->code = code;
    memcpy(e->rej->path, path, sizeof(path));
    va_start(ap, fmt);
    vsnprintf(e->rej->reason, sizeof(e->rej->reason), fmt, ap);
    va_end(ap);
    return DP_EINVAL;
}

static const char *json_kind(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    default:
        return "null";
    }
}

static int put(enc_t *e, int rc)
{
    if (rc < 0)
        return fail(e, DP_REJ_TOO_LARGE, "encoded event larger than %zu bytes", dp_buf_max(e->out));
    return 0;
}

/* ------------------------------------------------------------------ */
/* Scalars: timestamps and decimals                                      */
/* ------------------------------------------------------------------ */

static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int digits(const char *s, int n, int *out)
{
    int i, v = 0;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int parse_offset(const char *s, size_t len, int64_t *secs)
{
    int oh, om;

    if (len == 1 && (s[0] == 'Z' || s[0] == 'z')) {
        *secs = 0;
        return 0;
    }
    if ((s[0] != '+' && s[0] != '-') || (len != 6 && len != 5))
        return -1;
    if (digits(s + 1, 2, &oh) < 0 || (len == 6 && s[3] != ':') || digits(s + len - 2, 2, &om) < 0 ||
        oh > 23 || om > 59)
        return -1;
    *secs = (s[0] == '-' ? -1 : 1) * (int64_t)(oh * 3600 + om * 60);
    return 0;
}

int dp_iso8601_to_micros(const char *s, size_t len, int64_t *micros)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, sec, leap;
    int64_t frac = 0, off;
    size_t i = 19, nfrac = 0;

    if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        s[13] != ':' || s[16] != ':')
        return -1;
    if (digits(s, 4, &y) < 0 || digits(s + 5, 2, &mo) < 0 || digits(s + 8, 2, &d) < 0 ||
        digits(s + 11, 2, &h) < 0 || digits(s + 14, 2, &mi) < 0 || digits(s + 17, 2, &sec) < 0)
        return -1;
    leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap) || h > 23 || mi > 59 ||
        sec > 59)
        return -1;
    if (s[i] == '.') {
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, nfrac++) {
            if (nfrac < 6)
                frac = frac * 10 + (s[i] - '0');
        }
        if (nfrac == 0 || nfrac > 9)
            return -1;
        for (; nfrac < 6; nfrac++)
            frac *= 10;
    }
    if (i >= len || parse_offset(s + i, len - i, &off) < 0)
        return -1;
    *micros =
        ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) - off) * 1000000 + frac;
    return 0;
}

int dp_decimal_parse(const char *s, size_t len, int precision, int scale, int64_t *unscaled,
                     const char **why)
{
    uint64_t u = 0, limit = 1;
    size_t i = 0;
    int neg = 0, ndig = 0, nfrac = -1, p;

    for (p = 0; p < precision && p < 19; p++)
        limit *= 10;
    if (i < len && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    for (; i < len; i++) {
        if (s[i] == '.' && nfrac < 0) {
            nfrac = 0;
            continue;
        }
        if (s[i] < '0' || s[i] > '9')
            return *why = "not a plain decimal number [-]digits[.digits]", -1;
        if (nfrac >= 0 && ++nfrac > scale)
            return *why = "more decimal places than the scale", -1;
        if (u > (limit - 1) / 10)
            return *why = "more digits than the precision", -1;
        u = u * 10 + (uint64_t)(s[i] - '0');
        ndig++;
    }
    if (ndig == 0)
        return *why = "no digits", -1;
    for (p = nfrac < 0 ? 0 : nfrac; p < scale; p++) {
        if (u > (limit - 1) / 10)
            return *why = "more digits than the precision", -1;
        u *= 10;
    }
    if (u >= limit)
        return *why = "more digits than the precision", -1;
    *unscaled = neg ? -(int64_t)u : (int64_t)u;
    return 0;
}

static int decimal_from_json(enc_t *e, const dp_schema_node_t *nd, const json_t *j, int64_t *u)
{
    const char *why = "not a decimal";
    char text[64];

    if (json_is_string(j)) {
        if (dp_decimal_parse(json_string_value(j), json_string_length(j), nd->precision, nd->scale,
                             u, &why) == 0)
            return 0;
    } else if (json_is_integer(j)) {
        snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT, json_integer_value(j));
        if (dp_decimal_parse(text, strlen(text), nd->precision, nd->scale, u, &why) == 0)
            return 0;
    } else if (json_is_real(j) && isfinite(json_real_value(j))) {
        /* A double is taken through its value rounded to the scale, and only
         * when that rounding gives the same double back: 12.34 is accepted,
         * 12.34567 (more decimals than the scale) is not. */
        snprintf(text, sizeof(text), "%.*f", nd->scale, json_real_value(j));
        if (strtod(text, NULL) != json_real_value(j))
            why = "more decimal places than the scale";
        else if (dp_decimal_parse(text, strlen(text), nd->precision, nd->scale, u, &why) == 0)
            return 0;
    } else {
        return fail(e, DP_REJ_BAD_TYPE, "expected a decimal string or number, got %s",
                    json_kind(j));
    }
    return fail(e, DP_REJ_BAD_DECIMAL, "%s (decimal(%d,%d))", why, nd->precision, nd->scale);
}

static int encode_long(enc_t *e, const dp_schema_node_t *nd, const json_t *j)
{
    int64_t v;

    if (json_is_integer(j))
        return put(e, dp_buf_put_long(e->out, json_integer_value(j), NULL));
    if (json_is_string(j) &&
        (nd->logical == DP_LT_TIMESTAMP_MICROS || nd->logical == DP_LT_TIMESTAMP_MILLIS)) {
        if (dp_iso8601_to_micros(json_string_value(j), json_string_length(j), &v) < 0)
            return fail(e, DP_REJ_BAD_TIMESTAMP,
                        "not an ISO-8601 date-time like 2026-11-24T06:41:55.123Z");
        if (nd->logical == DP_LT_TIMESTAMP_MILLIS)
            v = v >= 0 ? v / 1000 : -((-v + 999) / 1000);
        return put(e, dp_buf_put_long(e->out, v, NULL));
    }
    if (nd->logical != DP_LT_NONE)
        return fail(e, DP_REJ_BAD_TIMESTAMP,
                    "expected integer micros or an ISO-8601 string, got %s", json_kind(j));
    return fail(e, DP_REJ_BAD_TYPE, "expected an integer, got %s", json_kind(j));
}

static int encode_float(enc_t *e, const dp_schema_node_t *nd, const json_t *j)
{
    if (!json_is_number(j))
        return fail(e, DP_REJ_BAD_TYPE, "expected a number, got %s", json_kind(j));
    return put(e, dp_buf_put_real(e->out, json_number_value(j), nd->type == DP_AVRO_FLOAT, NULL));
}

static int encode_bytes(enc_t *e, const dp_schema_node_t *nd, const json_t *j)
{
    uint8_t b[8];
    int64_t u;

    if (nd->logical == DP_LT_DECIMAL) {
        if (decimal_from_json(e, nd, j, &u) < 0)
            return DP_EINVAL;
        return put(e, dp_buf_put_bytes(e->out, b, dp_decimal_to_bytes(u, b), NULL));
    }
    if (!json_is_string(j))
        return fail(e, DP_REJ_BAD_TYPE, "expected a string, got %s", json_kind(j));
    return put(e, dp_buf_put_bytes(e->out, json_string_value(j), json_string_length(j), NULL));
}

/* ------------------------------------------------------------------ */
/* Values                                                               */
/* ------------------------------------------------------------------ */

static int encode_value(enc_t *e, uint32_t node, const json_t *j);

static int accepts(const dp_schema_t *s, uint32_t node, const json_t *j)
{
    const dp_schema_node_t *nd = &s->nodes[node];

    switch (nd->type) {
    case DP_AVRO_NULL:
        return json_is_null(j);
    case DP_AVRO_BOOLEAN:
        return json_is_boolean(j);
    case DP_AVRO_INT:
        return json_is_integer(j);
    case DP_AVRO_LONG:
        return json_is_integer(j) || (json_is_string(j) && nd->logical != DP_LT_NONE);
    case DP_AVRO_FLOAT:
    case DP_AVRO_DOUBLE:
        return json_is_number(j);
    case DP_AVRO_BYTES:
        return json_is_string(j) || (json_is_number(j) && nd->logical != DP_LT_NONE);
    case DP_AVRO_STRING:
    case DP_AVRO_ENUM:
    case DP_AVRO_FIXED:
        return json_is_string(j);
    case DP_AVRO_RECORD:
    case DP_AVRO_MAP:
        return json_is_object(j);
    case DP_AVRO_ARRAY:
        return json_is_array(j);
    default:
        return 0;
    }
}

static int encode_union(enc_t *e, const dp_schema_node_t *nd, const json_t *j)
{
    const dp_schema_t *s = e->schema;
    uint32_t i, b;

    for (i = 0; i < nd->n; i++) {
        b = s->branches[nd->first + i];
        if (e->default_mode ? i == 0 : accepts(s, b, j)) {
            if (put(e, dp_buf_put_long(e->out, i, NULL)) < 0)
                return DP_EINVAL;
            return encode_value(e, b, j);
        }
    }
    /* No branch takes this JSON type: report against the non-null branch. */
    for (i = 0; i < nd->n; i++) {
        b = s->branches[nd->first + i];
        if (s->nodes[b].type != DP_AVRO_NULL)
            return encode_value(e, b, j);
    }
    return fail(e, DP_REJ_BAD_TYPE, "expected null, got %s", json_kind(j));
}

static int has_null(const dp_schema_t *s, uint32_t node)
{
    const dp_schema_node_t *nd = &s->nodes[node];
    uint32_t i;

    if (nd->type == DP_AVRO_NULL)
        return 1;
    for (i = 0; nd->type == DP_AVRO_UNION && i < nd->n; i++) {
        if (s->nodes[s->branches[nd->first + i]].type == DP_AVRO_NULL)
            return 1;
    }
    return 0;
}

static int encode_field(enc_t *e, const dp_schema_field_t *f, const json_t *v)
{
    int saved = e->default_mode, rc;

    e->path[e->depth] = f->name;
    if (!v || (json_is_null(v) && !has_null(e->schema, f->node))) {
        if (!f->defval)
            return fail(e, DP_REJ_MISSING_FIELD,
                        v ? "required field is null" : "required field is missing");
        e->default_mode = 1;
        v = f->defval;
    }
    rc = encode_value(e, f->node, v);
    e->default_mode = saved;
    return rc;
}

static int encode_record(enc_t *e, const dp_schema_node_t *nd, const json_t *j)
{
    const json_t *v;
    size_t present = 0;
    uint32_t i;

    if (!json_is_object(j))
        return fail(e, DP_REJ_BAD_TYPE, "expected an object, got %s", json_kind(j));
    for (i = 0; i < nd->n; i++) {
        const dp_schema_field_t *f = &e->schema->fields[nd->first + i];

        v = json_object_get(j, f->name);
        present += v != NULL;
        if (encode_field(e, f, v) < 0)
            return DP_EINVAL;
    }
    if (!e->default_mode && json_object_size(j) > present)
        e->unknown = 1;
    return 0;
}

static int encode_items(enc_t *e, const dp_schema_node_t *nd, const json_t *j)
{
    const char *key;
    json_t *v;
    size_t i, n;

    if (nd->type == DP_AVRO_MAP ? !json_is_object(j) : !json_is_array(j))
        return fail(e, DP_REJ_BAD_TYPE, "expected an %s, got %s",
                    nd->type == DP_AVRO_MAP ? "object" : "array", json_kind(j));
    n = nd->type == DP_AVRO_MAP ? json_object_size(j) : json_array_size(j);
    if (n && put(e, dp_buf_put_long(e->out, (int64_t)n, NULL)) < 0)
        return DP_EINVAL;
    if (nd->type == DP_AVRO_ARRAY) {
        e->path[e->depth] = "[]";
        json_array_foreach(j, i, v)
        {
            if (encode_value(e, nd->first, v) < 0)
                return DP_EINVAL;
        }
    } else {
        json_object_foreach((json_t *)j, key, v)
        {
            e->path[e->depth] = key;
            if (put(e, dp_buf_put_bytes(e->out, key, strlen(key), NULL)) < 0 ||
                encode_value(e, nd->first, v) < 0)
                return DP_EINVAL;
        }
    }
    return put(e, dp_buf_put_long(e->out, 0, NULL));
}

static int encode_named_scalar(enc_t *e, const dp_schema_node_t *nd, const json_t *j)
{
    uint32_t i;

    if (!json_is_string(j))
        return fail(e, DP_REJ_BAD_TYPE, "expected a string, got %s", json_kind(j));
    if (nd->type == DP_AVRO_FIXED) {
        if (json_string_length(j) != nd->n)
            return fail(e, DP_REJ_BAD_TYPE, "expected %u bytes, got %zu", nd->n,
                        json_string_length(j));
        return put(e, dp_buf_append(e->out, json_string_value(j), nd->n, NULL));
    }
    for (i = 0; i < nd->n; i++) {
        if (strcmp(e->schema->symbols[nd->first + i], json_string_value(j)) == 0)
            return put(e, dp_buf_put_long(e->out, i, NULL));
    }
    return fail(e, DP_REJ_BAD_TYPE, "not a symbol of enum %s", nd->name);
}

static int encode_value(enc_t *e, uint32_t node, const json_t *j)
{
    const dp_schema_node_t *nd = &e->schema->nodes[node];
    int rc;

    switch (nd->type) {
    case DP_AVRO_UNION:
        return encode_union(e, nd, j);
    case DP_AVRO_NULL:
        return json_is_null(j) ? 0
                               : fail(e, DP_REJ_BAD_TYPE, "expected null, got %s", json_kind(j));
    case DP_AVRO_BOOLEAN:
        if (!json_is_boolean(j))
            return fail(e, DP_REJ_BAD_TYPE, "expected a boolean, got %s", json_kind(j));
        return put(e, dp_buf_append(e->out, json_is_true(j) ? "\1" : "\0", 1, NULL));
    case DP_AVRO_INT:
        if (!json_is_integer(j) || json_integer_value(j) < INT32_MIN ||
            json_integer_value(j) > INT32_MAX)
            return fail(e, DP_REJ_BAD_TYPE, "expected a 32-bit integer, got %s", json_kind(j));
        return put(e, dp_buf_put_long(e->out, json_integer_value(j), NULL));
    case DP_AVRO_LONG:
        return encode_long(e, nd, j);
    case DP_AVRO_FLOAT:
    case DP_AVRO_DOUBLE:
        return encode_float(e, nd, j);
    case DP_AVRO_BYTES:
        return encode_bytes(e, nd, j);
    case DP_AVRO_STRING:
        if (!json_is_string(j))
            return fail(e, DP_REJ_BAD_TYPE, "expected a string, got %s", json_kind(j));
        return put(e, dp_buf_put_bytes(e->out, json_string_value(j), json_string_length(j), NULL));
    case DP_AVRO_ENUM:
    case DP_AVRO_FIXED:
        return encode_named_scalar(e, nd, j);
    default:
        break;
    }
    if (e->depth >= DP_SCHEMA_MAX_DEPTH)
        return fail(e, DP_REJ_TOO_LARGE, "values nested deeper than %d", DP_SCHEMA_MAX_DEPTH);
    e->depth++;
    rc = nd->type == DP_AVRO_RECORD ? encode_record(e, nd, j) : encode_items(e, nd, j);
    if (rc == 0)
        e->depth--;
    return rc;
}

/* ------------------------------------------------------------------ */
/* Unknown fields and raw_payload                                        */
/* ------------------------------------------------------------------ */

/* Record node behind node (through a union), or -1. */
static int record_of(const dp_schema_t *s, uint32_t node)
{
    const dp_schema_node_t *nd = &s->nodes[node];
    uint32_t i;

    if (nd->type == DP_AVRO_RECORD)
        return (int)node;
    for (i = 0; nd->type == DP_AVRO_UNION && i < nd->n; i++) {
        if (s->nodes[s->branches[nd->first + i]].type == DP_AVRO_RECORD)
            return (int)s->branches[nd->first + i];
    }
    return -1;
}

/* Finds a key of object j that record rec does not hold, at any depth of
 * nested records; sets the enc path to it and returns 1, else 0. */
static int find_unknown(enc_t *e, uint32_t rec, const json_t *j)
{
    const dp_schema_t *s = e->schema;
    const char *key;
    json_t *v;
    int idx, sub;

    if (e->depth > DP_SCHEMA_MAX_DEPTH)
        return 0;
    e->depth++;
    json_object_foreach((json_t *)j, key, v)
    {
        e->path[e->depth] = key;
        idx = dp_schema_field_index(s, rec, key);
        if (idx < 0)
            return 1;
        sub = record_of(s, dp_schema_field(s, rec, (uint32_t)idx)->node);
        if (sub >= 0 && json_is_object(v) && find_unknown(e, (uint32_t)sub, v))
            return 1;
    }
    e->depth--;
    return 0;
}

/* Encodes every top-level field; raw (may be NULL) replaces raw_payload. */
static int encode_top(enc_t *e, const json_t *root, const json_t *raw, int raw_idx)
{
    const dp_schema_node_t *nd = &e->schema->nodes[0];
    const json_t *v;
    size_t present = 0;
    uint32_t i;

    e->depth = 1;
    for (i = 0; i < nd->n; i++) {
        const dp_schema_field_t *f = &e->schema->fields[nd->first + i];

        v = json_object_get(root, f->name);
        present += v != NULL;
        if (encode_field(e, f, raw && (int)i == raw_idx ? raw : v) < 0)
            return DP_EINVAL;
    }
    if (json_object_size(root) > present)
        e->unknown = 1;
    return 0;
}

int dp_json_event_encode(const dp_schema_t *schema, const json_t *root, const char *text,
                         size_t text_len, dp_buf_t *out, dp_reject_t *rej)
{
    const json_t *given;
    size_t start = dp_buf_len(out);
    enc_t e;
    json_t *raw;
    int raw_idx, rc;

    memset(&e, 0, sizeof(e));
    e.schema = schema;
    e.out = out;
    e.rej = rej;
    if (!json_is_object(root))
        return fail(&e, DP_REJ_BAD_JSON, "expected a JSON object, got %s", json_kind(root));
    raw_idx = dp_schema_field_index(schema, 0, "raw_payload");
    if ((rc = encode_top(&e, root, NULL, raw_idx)) < 0 || !e.unknown)
        return rc;
    /* Unknown keys: keep the original text in raw_payload when the schema
     * has it and the producer did not set it; encode again with it. */
    given = json_object_get(root, "raw_payload");
    if (raw_idx < 0 || !text || (given && !json_is_null(given))) {
        e.depth = 0;
        find_unknown(&e, 0, root);
        return fail(&e, DP_REJ_UNKNOWN_FIELD,
                    "not a field of the schema (and raw_payload cannot keep it)");
    }
    dp_buf_truncate(out, start);
    raw = json_stringn_nocheck(text, text_len);
    rc = encode_top(&e, root, raw, raw_idx);
    json_decref(raw);
    return rc;
}

int dp_json_encode_default(const dp_schema_t *schema, uint32_t node, const json_t *defval,
                           dp_buf_t *out, dp_reject_t *rej)
{
    enc_t e;

    memset(&e, 0, sizeof(e));
    e.schema = schema;
    e.out = out;
    e.rej = rej;
    e.default_mode = 1;
    return encode_value(&e, node, defval);
}
