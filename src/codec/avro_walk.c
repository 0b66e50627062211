/*
 * avro_walk: bounds-checked Avro binary reader (see avro_walk.h).
 *
 * Invariant: cur->p never passes cur->end, and every length or count is
 * compared with the bytes left (cur->end - cur->p) before it is used, so no
 * hostile prefix makes the walker read out of bounds, allocate, or loop for
 * longer than the input justifies.
 */
#include "codec/avro_walk.h"

#include "core/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Errors                                                               */
/* ------------------------------------------------------------------ */

static void build_path(const dp_avro_cursor_t *cur, char *out, size_t outlen)
{
    size_t len;
    int i;

    snprintf(out, outlen, "%s", cur->path[0] ? cur->path[0] : "$");
    for (i = 1; i <= cur->depth && i < (int)(sizeof(cur->path) / sizeof(cur->path[0])); i++) {
        if (!cur->path[i])
            continue;
        len = strlen(out);
        if (len + 1 >= outlen)
            break;
        snprintf(out + len, outlen - len, "%s%s", cur->path[i][0] == '[' ? "" : ".", cur->path[i]);
    }
}

__attribute__((format(printf, 3, 4))) static int fail(dp_avro_cursor_t *cur, dp_reject_code_t code,
                                                      const char *fmt, ...)
{
    va_list ap;

    if (!cur->rej)
        return DP_EINVAL;
    cur->rej->code = code;
    build_path(cur, cur->rej->path, sizeof(cur->rej->path));
    va_start(ap, fmt);
    vsnprintf(cur->rej->reason, sizeof(cur->rej->reason), fmt, ap);
    va_end(ap);
    return DP_EINVAL;
}

/* A length that cannot fit even in the whole buffer is a bad length; one
 * that fits the buffer but not what is left means the body was cut. */
static int fail_length(dp_avro_cursor_t *cur, const char *what, int64_t n)
{
    size_t left = (size_t)(cur->end - cur->p);

    if (n < 0)
        return fail(cur, DP_REJ_BAD_LENGTH, "negative %s %lld", what, (long long)n);
    if ((uint64_t)n > (uint64_t)(cur->end - cur->base))
        return fail(cur, DP_REJ_BAD_LENGTH, "%s %lld larger than the whole message (%zu bytes)",
                    what, (long long)n, (size_t)(cur->end - cur->base));
    return fail(cur, DP_REJ_TRUNCATED, "%s %lld but only %zu bytes left", what, (long long)n, left);
}

/* ------------------------------------------------------------------ */
/* Primitives                                                           */
/* ------------------------------------------------------------------ */

void dp_avro_cursor_init(dp_avro_cursor_t *cur, const dp_schema_t *schema, const void *buf,
                         size_t len, const char *path_root, dp_reject_t *rej)
{
    cur->base = cur->p = buf;
    cur->end = cur->base + len;
    cur->schema = schema;
    cur->rej = rej;
    cur->budget = DP_AVRO_ZERO_ITEM_BUDGET;
    cur->depth = 0;
    cur->trusted = 0;
    cur->path[0] = path_root;
}

/* One-byte varints (values -64..63: union indices, short lengths) are the
 * common case on the hot path; the loop handles the rest. */
static inline int read_long(dp_avro_cursor_t *cur, int64_t *out)
{
    if (cur->p < cur->end && !(*cur->p & 0x80)) {
        uint8_t b = *cur->p++;

        *out = (int64_t)(b >> 1) ^ -(int64_t)(b & 1);
        return 0;
    }
    return dp_avro_read_long(cur, out);
}

int dp_avro_read_long(dp_avro_cursor_t *cur, int64_t *out)
{
    const uint8_t *p = cur->p;
    uint64_t u = 0;
    int i;

    for (i = 0; i < 10; i++) {
        uint8_t b;

        if (p >= cur->end)
            return fail(cur, DP_REJ_TRUNCATED, "body ends inside a varint");
        b = *p++;
        u |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            if (i == 9 && b > 1)
                return fail(cur, DP_REJ_BAD_VARINT, "varint overflows 64 bits");
            cur->p = p;
            *out = (int64_t)((u >> 1) ^ (~(u & 1) + 1));
            return 0;
        }
    }
    return fail(cur, DP_REJ_BAD_VARINT, "varint longer than 10 bytes");
}

static inline int read_blob(dp_avro_cursor_t *cur, const char *what, dp_avro_value_t *v)
{
    int64_t n;

    if (read_long(cur, &n) < 0)
        return DP_EINVAL;
    if (n < 0 || (uint64_t)n > (uint64_t)(cur->end - cur->p))
        return fail_length(cur, what, n);
    v->ptr = cur->p;
    v->len = (size_t)n;
    cur->p += n;
    return 0;
}

/* Validates from the first non-ASCII byte on (s[0..len) starts at a
 * character boundary). */
static int utf8_valid_slow(const uint8_t *s, size_t len)
{
    size_t i = 0;
    uint64_t w;

    while (i < len) {
        uint8_t c = s[i];
        uint32_t cp;
        size_t n, k;

        if (c < 0x80) {
            /* ASCII runs, 8 bytes at a time. */
            while (i + 8 <= len) {
                memcpy(&w, s + i, 8);
                if (w & 0x8080808080808080ULL)
                    break;
                i += 8;
            }
            if (i < len && s[i] < 0x80)
                i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            n = 1, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            n = 2, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            n = 3, cp = c & 0x07;
        else
            return 0;
        if (len - i <= n)
            return 0;
        for (k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += n + 1;
    }
    return 1;
}

#define HIGH_BITS 0x8080808080808080ULL

/* UTF-8 check with an ASCII fast path: 16, then 8 bytes at a time, and the
 * multi-byte rules only from the first byte >= 0x80 on. Event strings are
 * mostly short ASCII. */
static inline int utf8_valid(const uint8_t *s, size_t len)
{
    size_t i = 0;
    uint64_t a, b;
    uint32_t c, d;

    if (len >= 8) {
        for (; i + 16 <= len; i += 16) {
            memcpy(&a, s + i, 8);
            memcpy(&b, s + i + 8, 8);
            if ((a | b) & HIGH_BITS)
                return utf8_valid_slow(s + i, len - i);
        }
        /* The last 1..15 bytes: two loads that may overlap what was read. */
        if (i < len) {
            memcpy(&a, s + (len - i >= 8 ? i : len - 8), 8);
            memcpy(&b, s + len - 8, 8);
            if ((a | b) & HIGH_BITS)
                return utf8_valid_slow(s + i, len - i);
        }
        return 1;
    }
    if (len >= 4) {
        memcpy(&c, s, 4);
        memcpy(&d, s + len - 4, 4);
        return ((c | d) & 0x80808080u) ? utf8_valid_slow(s, len) : 1;
    }
    for (; i < len; i++) {
        if (s[i] & 0x80)
            return utf8_valid_slow(s + i, len - i);
    }
    return 1;
}

int dp_utf8_valid(const uint8_t *s, size_t len)
{
    return utf8_valid(s, len);
}

static int read_fixed_bytes(dp_avro_cursor_t *cur, size_t n, dp_avro_value_t *v)
{
    if ((size_t)(cur->end - cur->p) < n)
        return fail(cur, DP_REJ_TRUNCATED, "body ends inside a %zu-byte value", n);
    v->ptr = cur->p;
    v->len = n;
    cur->p += n;
    return 0;
}

static double read_le_double(const uint8_t *p, int nbytes)
{
    uint64_t u = 0;
    uint32_t u32;
    double d;
    float f;
    int i;

    for (i = nbytes - 1; i >= 0; i--)
        u = (u << 8) | p[i];
    if (nbytes == 8) {
        memcpy(&d, &u, sizeof(d));
        return d;
    }
    u32 = (uint32_t)u;
    memcpy(&f, &u32, sizeof(f));
    return f;
}

/* ------------------------------------------------------------------ */
/* Values                                                               */
/* ------------------------------------------------------------------ */

static int read_plain(dp_avro_cursor_t *cur, const dp_schema_node_t *nd, dp_avro_value_t *v);

/* The values most of an event is made of, inline: a union's branch, then
 * null, a string or a long, each with a one-byte length or value. Anything
 * else (records, maps, arrays, other types, longer varints, every error) is
 * read again from the start by dp_avro_read_value(): cur moves only on
 * success. */
static inline int read_fast(dp_avro_cursor_t *cur, uint32_t node, dp_avro_value_t *v)
{
    const dp_schema_t *s = cur->schema;
    const dp_schema_node_t *nd = &s->nodes[node];
    const uint8_t *p = cur->p, *end = cur->end;
    uint32_t orig = node;
    int32_t branch = -1;
    uint8_t b;

    if (nd->type == DP_AVRO_UNION) {
        if (p >= end || (*p & 0x81) || (uint32_t)(*p >> 1) >= nd->n)
            return dp_avro_read_value(cur, orig, v);
        branch = *p++ >> 1;
        node = s->branches[nd->first + (uint32_t)branch];
        nd = &s->nodes[node];
    }
    switch (nd->type) {
    case DP_AVRO_NULL:
        v->is_null = 1;
        v->ptr = NULL;
        v->len = 0;
        v->l = 0;
        break;
    case DP_AVRO_STRING:
        if (p >= end || (*p & 0x81) || (size_t)(*p >> 1) >= (size_t)(end - p))
            return dp_avro_read_value(cur, orig, v);
        v->len = (size_t)(*p >> 1);
        v->ptr = p + 1;
        if (!cur->trusted && !utf8_valid(v->ptr, v->len))
            return dp_avro_read_value(cur, orig, v); /* reports BAD_UTF8 */
        v->is_null = 0;
        v->l = 0;
        p += 1 + v->len;
        break;
    case DP_AVRO_LONG:
        if (p >= end || (*p & 0x80))
            return dp_avro_read_value(cur, orig, v);
        b = *p++;
        v->l = (int64_t)(b >> 1) ^ -(int64_t)(b & 1);
        v->is_null = 0;
        v->ptr = NULL;
        v->len = 0;
        break;
    default:
        return dp_avro_read_value(cur, orig, v);
    }
    v->node = node;
    v->branch = branch;
    v->raw = cur->p;
    v->raw_len = (size_t)(p - cur->p);
    cur->p = p;
    return 0;
}

static int read_record(dp_avro_cursor_t *cur, const dp_schema_node_t *nd, dp_avro_value_t *v)
{
    const dp_schema_t *s = cur->schema;
    dp_avro_value_t item;
    uint32_t i;

    v->ptr = cur->p;
    for (i = 0; i < nd->n; i++) {
        cur->path[cur->depth] = s->fields[nd->first + i].name;
        if (read_fast(cur, s->fields[nd->first + i].node, &item) < 0)
            return DP_EINVAL;
    }
    v->len = (size_t)(cur->p - v->ptr);
    return 0;
}

/* Reads the header of the next block of an array or map: *count items, 0 at
 * the end. Checks the count against the bytes left. */
static int read_block_header(dp_avro_cursor_t *cur, uint32_t items, int is_map, int64_t *count)
{
    const dp_schema_t *s = cur->schema;
    uint64_t min = (uint64_t)s->nodes[items].minsize + (is_map ? 1 : 0);
    int64_t n, size;

    if (read_long(cur, &n) < 0)
        return DP_EINVAL;
    if (n < 0) {
        if (n == INT64_MIN)
            return fail(cur, DP_REJ_BAD_LENGTH, "block count out of range");
        n = -n;
        if (read_long(cur, &size) < 0)
            return DP_EINVAL;
        if (size < 0 || (uint64_t)size > (uint64_t)(cur->end - cur->p))
            return fail_length(cur, "block size", size);
    }
    if (min > 0 && (uint64_t)n > (uint64_t)(cur->end - cur->p) / min) {
        if ((uint64_t)n > (uint64_t)(cur->end - cur->base) / min)
            return fail(cur, DP_REJ_BAD_LENGTH, "%lld items cannot fit in a %zu-byte message",
                        (long long)n, (size_t)(cur->end - cur->base));
        return fail(cur, DP_REJ_TRUNCATED, "%lld items but only %zu bytes left", (long long)n,
                    (size_t)(cur->end - cur->p));
    }
    if (min == 0) {
        if ((uint64_t)n > cur->budget)
            return fail(cur, DP_REJ_TOO_LARGE, "more than %d empty items",
                        DP_AVRO_ZERO_ITEM_BUDGET);
        cur->budget -= (uint32_t)n;
    }
    *count = n;
    return 0;
}

static int read_items(dp_avro_cursor_t *cur, const dp_schema_node_t *nd, dp_avro_value_t *v)
{
    int is_map = nd->type == DP_AVRO_MAP;
    dp_avro_value_t item;
    int64_t count, i;

    v->ptr = cur->p;
    cur->path[cur->depth] = "[]";
    for (;;) {
        if (read_block_header(cur, nd->first, is_map, &count) < 0)
            return DP_EINVAL;
        if (count == 0)
            break;
        for (i = 0; i < count; i++) {
            if (is_map && read_blob(cur, "map key length", &item) < 0)
                return DP_EINVAL;
            if (is_map && !cur->trusted && !utf8_valid(item.ptr, item.len))
                return fail(cur, DP_REJ_BAD_UTF8, "map key is not valid UTF-8");
            if (read_fast(cur, nd->first, &item) < 0)
                return DP_EINVAL;
        }
    }
    v->len = (size_t)(cur->p - v->ptr);
    return 0;
}

static inline int read_scalar(dp_avro_cursor_t *cur, const dp_schema_node_t *nd, dp_avro_value_t *v)
{
    switch (nd->type) {
    case DP_AVRO_NULL:
        v->is_null = 1;
        return 0;
    case DP_AVRO_BOOLEAN:
        if (cur->p >= cur->end)
            return fail(cur, DP_REJ_TRUNCATED, "body ends before a boolean");
        if (*cur->p > 1)
            return fail(cur, DP_REJ_BAD_TYPE, "boolean byte 0x%02x", *cur->p);
        v->l = *cur->p++;
        return 0;
    case DP_AVRO_INT:
        if (read_long(cur, &v->l) < 0)
            return DP_EINVAL;
        if (v->l < INT32_MIN || v->l > INT32_MAX)
            return fail(cur, DP_REJ_BAD_VARINT, "int out of 32-bit range");
        return 0;
    case DP_AVRO_LONG:
        return read_long(cur, &v->l);
    case DP_AVRO_FLOAT:
    case DP_AVRO_DOUBLE:
        if (read_fixed_bytes(cur, nd->type == DP_AVRO_FLOAT ? 4 : 8, v) < 0)
            return DP_EINVAL;
        v->d = read_le_double(v->ptr, (int)v->len);
        return 0;
    case DP_AVRO_BYTES:
        return read_blob(cur, "bytes length", v);
    case DP_AVRO_STRING:
        if (read_blob(cur, "string length", v) < 0)
            return DP_EINVAL;
        if (!cur->trusted && !utf8_valid(v->ptr, v->len))
            return fail(cur, DP_REJ_BAD_UTF8, "string is not valid UTF-8");
        return 0;
    case DP_AVRO_FIXED:
        return read_fixed_bytes(cur, nd->n, v);
    case DP_AVRO_ENUM:
        if (read_long(cur, &v->l) < 0)
            return DP_EINVAL;
        if (v->l < 0 || v->l >= (int64_t)nd->n)
            return fail(cur, DP_REJ_BAD_TYPE, "enum index %lld, the enum has %u symbols",
                        (long long)v->l, nd->n);
        return 0;
    default:
        return fail(cur, DP_REJ_BAD_TYPE, "unexpected type");
    }
}

static int read_plain(dp_avro_cursor_t *cur, const dp_schema_node_t *nd, dp_avro_value_t *v)
{
    int rc;

    if (nd->type != DP_AVRO_RECORD && nd->type != DP_AVRO_ARRAY && nd->type != DP_AVRO_MAP)
        return read_scalar(cur, nd, v);
    if (cur->depth >= DP_SCHEMA_MAX_DEPTH)
        return fail(cur, DP_REJ_TOO_LARGE, "values nested deeper than %d", DP_SCHEMA_MAX_DEPTH);
    cur->depth++;
    rc = nd->type == DP_AVRO_RECORD ? read_record(cur, nd, v) : read_items(cur, nd, v);
    if (rc == 0)
        cur->depth--;
    return rc;
}

int dp_avro_read_value(dp_avro_cursor_t *cur, uint32_t node, dp_avro_value_t *v)
{
    const dp_schema_t *s = cur->schema;
    const dp_schema_node_t *nd = &s->nodes[node];
    int64_t b;
    int rc;

    v->branch = -1;
    v->is_null = 0;
    v->ptr = NULL;
    v->len = 0;
    v->raw = cur->p;
    if (nd->type == DP_AVRO_UNION) {
        if (read_long(cur, &b) < 0)
            return DP_EINVAL;
        if (b < 0 || b >= (int64_t)nd->n)
            return fail(cur, DP_REJ_BAD_UNION_BRANCH, "union branch %lld, the union has %u",
                        (long long)b, nd->n);
        v->branch = (int32_t)b;
        node = s->branches[nd->first + (uint32_t)b];
        nd = &s->nodes[node];
    }
    v->node = node;
    rc = read_plain(cur, nd, v);
    v->raw_len = (size_t)(cur->p - v->raw);
    return rc;
}

static int walk_record(const dp_schema_t *schema, uint32_t rec, const void *buf, size_t len,
                       dp_avro_value_t *fields, size_t nfields, dp_reject_t *rej, int trusted)
{
    const dp_schema_node_t *nd = &schema->nodes[rec];
    dp_avro_cursor_t cur;
    dp_avro_value_t scratch;
    uint32_t i;

    dp_avro_cursor_init(&cur, schema, buf, len, NULL, rej);
    cur.depth = 1;
    cur.trusted = trusted;
    for (i = 0; i < nd->n; i++) {
        cur.path[1] = schema->fields[nd->first + i].name;
        if (read_fast(&cur, schema->fields[nd->first + i].node,
                      fields && i < nfields ? &fields[i] : &scratch) < 0)
            return DP_EINVAL;
    }
    if (cur.p != cur.end) {
        cur.depth = 0;
        return fail(&cur, DP_REJ_TRAILING_BYTES, "%zu bytes after the end of the record",
                    (size_t)(cur.end - cur.p));
    }
    return 0;
}

int dp_avro_walk_record(const dp_schema_t *schema, uint32_t rec, const void *buf, size_t len,
                        dp_avro_value_t *fields, size_t nfields, dp_reject_t *rej)
{
    return walk_record(schema, rec, buf, len, fields, nfields, rej, 0);
}

int dp_avro_walk_record_trusted(const dp_schema_t *schema, uint32_t rec, const void *buf,
                                size_t len, dp_avro_value_t *fields, size_t nfields,
                                dp_reject_t *rej)
{
    return walk_record(schema, rec, buf, len, fields, nfields, rej, 1);
}

/* ------------------------------------------------------------------ */
/* Iteration                                                            */
/* ------------------------------------------------------------------ */

void dp_avro_iter_init(dp_avro_iter_t *it, const dp_schema_t *schema, const dp_avro_value_t *v,
                       dp_reject_t *rej)
{
    const dp_schema_node_t *nd = &schema->nodes[v->node];

    dp_avro_cursor_init(&it->cur, schema, v->ptr, v->len, NULL, rej);
    it->items = nd->first;
    it->is_map = nd->type == DP_AVRO_MAP;
    it->left = 0;
}

int dp_avro_iter_next(dp_avro_iter_t *it, dp_avro_value_t *key, dp_avro_value_t *val)
{
    dp_avro_value_t k;

    if (it->left == 0) {
        if (read_block_header(&it->cur, it->items, it->is_map, &it->left) < 0)
            return DP_EINVAL;
        if (it->left == 0)
            return 0;
    }
    it->left--;
    if (it->is_map && read_blob(&it->cur, "map key length", key ? key : &k) < 0)
        return DP_EINVAL;
    if (dp_avro_read_value(&it->cur, it->items, val) < 0)
        return DP_EINVAL;
    return 1;
}
