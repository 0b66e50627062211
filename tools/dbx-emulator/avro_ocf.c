/*
 * avro_ocf: reads an Avro object container file for COPY INTO.
 *
 * avro-c 1.11.1 drops logicalType when it parses a schema, so the column types
 * come from the header's "avro.schema" JSON, parsed here with jansson; the
 * values come from avro-c's file reader (generic values), converted with the
 * JSON schema alongside (timestamp-micros/millis -> TIMESTAMP text, date ->
 * DATE text, decimal bytes/fixed -> DECIMAL text, record/map/array -> JSON).
 *
 * Bounds: the file is at most EMU_COPY_MAX_FILE bytes; before avro-c sees it,
 * the container structure is walked here (magic, metadata map, sync marker,
 * every block's count and size within the file, every block's sync marker,
 * every deflate block inflating cleanly, no trailing bytes, every name of the
 * schema valid), so a truncated or garbled container fails cleanly. avro-c
 * still trusts length prefixes *inside* a block: while it reads a file, its
 * allocator refuses any single allocation larger than read_limit (16 times
 * the largest decompressed block plus 64 MiB, at most 1 GiB), so a string
 * that claims a huge length fails the file instead of allocating it (found by
 * tests/fuzz/fuzz_emu_avro).
 */
#define _POSIX_C_SOURCE 200809L
#include "sql_copy.h"

#include <avro.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define MAX_DEPTH 32

/* ------------------------------------------------------------------------ */
/* Container structure                                                      */
/* ------------------------------------------------------------------------ */

typedef struct rd {
    const unsigned char *p;
    size_t len, off;
} rd_t;

static int rd_long(rd_t *r, long long *v)
{
    unsigned long long z = 0;
    int shift = 0;

    for (;;) {
        unsigned char b;
        if (r->off >= r->len || shift > 63) {
            return -1;
        }
        b = r->p[r->off++];
        z |= (unsigned long long)(b & 0x7f) << shift;
        shift += 7;
        if ((b & 0x80) == 0) {
            break;
        }
    }
    *v = (long long)(z >> 1) ^ -(long long)(z & 1);
    return 0;
}

static int rd_bytes(rd_t *r, const unsigned char **p, size_t *n)
{
    long long l;

    if (rd_long(r, &l) != 0 || l < 0 || (unsigned long long)l > r->len - r->off) {
        return -1;
    }
    *p = r->p + r->off;
    *n = (size_t)l;
    r->off += (size_t)l;
    return 0;
}

static int read_all(const char *path, unsigned char **buf, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    long sz;
    int rc = -1;

    *buf = NULL;
    if (f == NULL) {
        snprintf(err, errlen, "cannot open the file");
        return -1;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (sz = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        snprintf(err, errlen, "cannot size the file");
        goto out;
    }
    if (sz > EMU_COPY_MAX_FILE) {
        snprintf(err, errlen, "the file is larger than the emulator's %lld bytes",
                 EMU_COPY_MAX_FILE);
        goto out;
    }
    *buf = malloc((size_t)sz + 1);
    if (*buf == NULL || fread(*buf, 1, (size_t)sz, f) != (size_t)sz) {
        snprintf(err, errlen, "cannot read the file");
        goto out;
    }
    (*buf)[sz] = '\0';
    *len = (size_t)sz;
    rc = 0;
out:
    fclose(f);
    if (rc != 0) {
        free(*buf);
        *buf = NULL;
    }
    return rc;
}

/* Walks header and blocks. On success *schema is the parsed header schema (new ref)
 * and *nrec the total record count. */
/* 1 when a raw deflate block (RFC 1951, as the Avro "deflate" codec writes
 * it) inflates to its end without an error. avro-c 1.11.1's reader leaks
 * what it built when the first block does not inflate (found by
 * tests/fuzz/fuzz_emu_avro), so every block is checked here first. */
static int inflates(const unsigned char *p, size_t n, size_t *out_len)
{
    unsigned char out[16384];
    z_stream z;
    int rc;

    memset(&z, 0, sizeof(z));
    if (n > UINT_MAX || inflateInit2(&z, -15) != Z_OK) {
        return 0;
    }
    z.next_in = (unsigned char *)p;
    z.avail_in = (unsigned)n;
    do {
        z.next_out = out;
        z.avail_out = sizeof(out);
        rc = inflate(&z, Z_NO_FLUSH);
    } while (rc == Z_OK && z.total_out <= (uLong)EMU_COPY_MAX_FILE);
    inflateEnd(&z);
    *out_len = (size_t)z.total_out;
    return rc == Z_STREAM_END && z.avail_in == 0;
}

/* avro-c's allocator while a file is read: no single allocation above
 * read_limit (0: no limit). Set and cleared by emu_avro_load under the engine
 * lock; nothing else in the emulator calls avro-c. */
static size_t read_limit;

static void *bounded_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud;
    (void)osize;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    if (read_limit != 0 && nsize > read_limit) {
        return NULL; /* avro-c fails the read with ENOMEM */
    }
    return realloc(ptr, nsize);
}

static void install_allocator(void)
{
    avro_set_allocator(bounded_alloc, NULL);
}

static int walk(const unsigned char *buf, size_t len, json_t **schema, long long *nrec,
                size_t *max_block, char *err, size_t errlen)
{
    rd_t r = {buf, len, 0};
    int deflate = 0;
    const unsigned char *sync, *k, *v, *stext = NULL;
    size_t kn, vn, sn = 0, plain = 0;
    long long cnt, size, i;
    json_error_t je;

    *nrec = 0;
    if (len < 4 || memcmp(buf, "Obj\x01", 4) != 0) {
        snprintf(err, errlen, "not an Avro object container file (bad magic)");
        return -1;
    }
    r.off = 4;
    for (;;) {
        if (rd_long(&r, &cnt) != 0) {
            goto bad;
        }
        if (cnt == 0) {
            break;
        }
        if (cnt < 0) {
            if (cnt == LLONG_MIN) {
                goto bad; /* -cnt would overflow */
            }
            cnt = -cnt;
            if (rd_long(&r, &size) != 0) {
                goto bad;
            }
        }
        for (i = 0; i < cnt; i++) {
            if (rd_bytes(&r, &k, &kn) != 0 || rd_bytes(&r, &v, &vn) != 0) {
                goto bad;
            }
            if (kn == 11 && memcmp(k, "avro.schema", 11) == 0) {
                stext = v;
                sn = vn;
            } else if (kn == 10 && memcmp(k, "avro.codec", 10) == 0) {
                deflate = vn == 7 && memcmp(v, "deflate", 7) == 0;
            }
            if (kn == 10 && memcmp(k, "avro.codec", 10) == 0 &&
                !(vn == 4 && memcmp(v, "null", 4) == 0) &&
                !(vn == 7 && memcmp(v, "deflate", 7) == 0) &&
                !(vn == 6 && memcmp(v, "snappy", 6) == 0)) {
                snprintf(err, errlen, "unsupported codec '%.*s'", (int)(vn < 32 ? vn : 32), v);
                return -1;
            }
        }
    }
    if (stext == NULL || r.len - r.off < 16) {
        goto bad;
    }
    sync = buf + r.off;
    r.off += 16;
    while (r.off < r.len) {
        if (rd_long(&r, &cnt) != 0 || rd_long(&r, &size) != 0 || cnt < 0 || size < 0 ||
            cnt > LLONG_MAX - *nrec || (unsigned long long)size > r.len - r.off ||
            r.len - r.off - (size_t)size < 16) {
            goto bad;
        }
        if (deflate && !inflates(buf + r.off, (size_t)size, &plain)) {
            snprintf(err, errlen, "block at byte %zu: corrupt deflate data", r.off);
            return -1;
        }
        if (!deflate) {
            plain = (size_t)size;
        }
        if (plain > *max_block) {
            *max_block = plain;
        }
        r.off += (size_t)size;
        if (memcmp(buf + r.off, sync, 16) != 0) {
            snprintf(err, errlen, "block sync marker mismatch at byte %zu", r.off);
            return -1;
        }
        r.off += 16;
        *nrec += cnt;
    }
    *schema = json_loadb((const char *)stext, sn, 0, &je);
    if (*schema == NULL) {
        snprintf(err, errlen, "the header schema is not JSON: %s", je.text);
        return -1;
    }
    return 0;
bad:
    snprintf(err, errlen, "truncated or malformed container at byte %zu", r.off);
    return -1;
}

/* ------------------------------------------------------------------------ */
/* Schema JSON: named types and Databricks types                            */
/* ------------------------------------------------------------------------ */

/* Records every named type (record, enum, fixed) under its name and full name. */
static void collect_names(const json_t *s, json_t *names, const char *ns, int depth)
{
    const char *type, *name, *nns;
    char full[512];
    size_t k;
    json_t *it;

    if (depth > MAX_DEPTH) {
        return;
    }
    if (json_is_array(s)) {
        json_array_foreach(s, k, it)
        {
            collect_names(it, names, ns, depth + 1);
        }
        return;
    }
    if (!json_is_object(s)) {
        return;
    }
    type = json_string_value(json_object_get(s, "type"));
    name = json_string_value(json_object_get(s, "name"));
    nns = json_string_value(json_object_get(s, "namespace"));
    if (nns == NULL) {
        nns = ns;
    }
    if (name != NULL && type != NULL &&
        (strcmp(type, "record") == 0 || strcmp(type, "enum") == 0 || strcmp(type, "fixed") == 0)) {
        json_object_set(names, name, (json_t *)s);
        if (strchr(name, '.') == NULL && nns != NULL && nns[0] != '\0') {
            snprintf(full, sizeof(full), "%s.%s", nns, name);
            json_object_set(names, full, (json_t *)s);
        }
    }
    json_array_foreach(json_object_get(s, "fields"), k, it)
    {
        collect_names(json_object_get(it, "type"), names, nns, depth + 1);
    }
    collect_names(json_object_get(s, "items"), names, nns, depth + 1);
    collect_names(json_object_get(s, "values"), names, nns, depth + 1);
    if (json_is_object(json_object_get(s, "type")) || json_is_array(json_object_get(s, "type"))) {
        collect_names(json_object_get(s, "type"), names, nns, depth + 1);
    }
}

/* 1 when s is an Avro name [A-Za-z_][A-Za-z0-9_]*, or with dots allowed, a
 * full name (dot-separated names). */
static int avro_name_ok(const char *s, int dotted)
{
    int start = 1;

    if (s == NULL || *s == '\0') {
        return 0;
    }
    for (; *s != '\0'; s++) {
        char c = *s;

        if (dotted && c == '.' && !start) {
            start = 1;
            continue;
        }
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
              (!start && c >= '0' && c <= '9'))) {
            return 0;
        }
        start = 0;
    }
    return !start;
}

/* Checks every name of the header schema (type names, namespaces, field
 * names, enum symbols) before avro-c parses it: avro-c 1.11.1 refuses a bad
 * one but leaks what it had built (found by tests/fuzz/fuzz_emu_avro).
 * Returns 0, or -1 with err naming the first bad name. */
static int check_names(const json_t *s, int depth, char *err, size_t errlen)
{
    const char *type, *bad = NULL;
    size_t k;
    json_t *it;

    if (depth > MAX_DEPTH) {
        snprintf(err, errlen, "the header schema nests deeper than %d", MAX_DEPTH);
        return -1;
    }
    if (json_is_array(s)) {
        json_array_foreach(s, k, it)
        {
            if (check_names(it, depth + 1, err, errlen) != 0) {
                return -1;
            }
        }
        return 0;
    }
    if (!json_is_object(s)) {
        return 0;
    }
    type = json_string_value(json_object_get(s, "type"));
    if (type != NULL &&
        (strcmp(type, "record") == 0 || strcmp(type, "enum") == 0 || strcmp(type, "fixed") == 0)) {
        const char *name = json_string_value(json_object_get(s, "name"));
        const json_t *ns = json_object_get(s, "namespace");

        if (!avro_name_ok(name, 1)) {
            bad = name ? name : "(none)";
        } else if (ns != NULL && !json_is_null(ns) && json_string_length(ns) > 0 &&
                   !avro_name_ok(json_string_value(ns), 1)) {
            bad = json_is_string(ns) ? json_string_value(ns) : "(not a string)";
        }
    }
    json_array_foreach(json_object_get(s, "symbols"), k, it)
    {
        if (bad == NULL && !avro_name_ok(json_string_value(it), 0)) {
            bad = json_is_string(it) ? json_string_value(it) : "(not a string)";
        }
    }
    json_array_foreach(json_object_get(s, "fields"), k, it)
    {
        const char *fname = json_string_value(json_object_get(it, "name"));

        if (bad == NULL && !avro_name_ok(fname, 0)) {
            bad = fname ? fname : "(none)";
        }
        if (bad == NULL && check_names(json_object_get(it, "type"), depth + 1, err, errlen) != 0) {
            return -1;
        }
    }
    if (bad != NULL) {
        snprintf(err, errlen, "the header schema has an invalid Avro name '%.64s'", bad);
        return -1;
    }
    if (check_names(json_object_get(s, "items"), depth + 1, err, errlen) != 0 ||
        check_names(json_object_get(s, "values"), depth + 1, err, errlen) != 0) {
        return -1;
    }
    it = json_object_get(s, "type");
    return json_is_object(it) || json_is_array(it) ? check_names(it, depth + 1, err, errlen) : 0;
}

/* Resolves a name reference or {"type": <complex>} wrapper to the node that defines it. */
static const json_t *resolve(const json_t *s, const json_t *names)
{
    const json_t *t;
    int k;

    for (k = 0; k < 4; k++) {
        if (json_is_string(s)) {
            t = json_object_get(names, json_string_value(s));
            if (t == NULL) {
                return s;
            }
            s = t;
        } else if (json_is_object(s) && (json_is_object(json_object_get(s, "type")) ||
                                         json_is_array(json_object_get(s, "type")))) {
            s = json_object_get(s, "type");
        } else {
            return s;
        }
    }
    return s;
}

static const char *base_type(const json_t *s)
{
    if (json_is_string(s)) {
        return json_string_value(s);
    }
    if (json_is_array(s)) {
        return "union";
    }
    return json_string_value(json_object_get(s, "type"));
}

static const char *logical(const json_t *s)
{
    return json_is_object(s) ? json_string_value(json_object_get(s, "logicalType")) : NULL;
}

typedef struct tb {
    char *p;
    size_t len, cap;
} tb_t;

static void tb_add(tb_t *b, const char *s)
{
    size_t n = strlen(s);

    if (b->len + n + 1 <= b->cap) {
        memcpy(b->p + b->len, s, n + 1);
        b->len += n;
    } else {
        b->len = b->cap; /* mark overflow */
    }
}

/* Writes the Databricks type of schema node s; returns 0 or -1 (unsupported). */
static int type_of(const json_t *s, const json_t *names, tb_t *b, int depth)
{
    const char *t, *lt;
    char tmp[64];
    size_t k, nonnull = 0, m = 0;
    json_t *it;

    s = resolve(s, names);
    t = base_type(s);
    lt = logical(s);
    if (depth > MAX_DEPTH || t == NULL) {
        return -1;
    }
    if (strcmp(t, "union") == 0) {
        const json_t *only = NULL;
        json_array_foreach(s, k, it)
        {
            if (strcmp(base_type(resolve(it, names)) ? base_type(resolve(it, names)) : "",
                       "null")) {
                nonnull++;
                only = it;
            }
        }
        if (nonnull == 0) {
            tb_add(b, "STRING");
            return 0;
        }
        if (nonnull == 1) {
            return type_of(only, names, b, depth + 1);
        }
        tb_add(b, "STRUCT<");
        json_array_foreach(s, k, it)
        {
            const char *bt = base_type(resolve(it, names));
            if (bt == NULL || strcmp(bt, "null") == 0) {
                continue;
            }
            snprintf(tmp, sizeof(tmp), "%smember%zu: ", m > 0 ? ", " : "", m);
            tb_add(b, tmp);
            m++;
            if (type_of(it, names, b, depth + 1) != 0) {
                return -1;
            }
        }
        tb_add(b, ">");
        return 0;
    }
    if ((strcmp(t, "bytes") == 0 || strcmp(t, "fixed") == 0) && lt != NULL &&
        strcmp(lt, "decimal") == 0) {
        json_int_t p = json_integer_value(json_object_get(s, "precision"));
        json_int_t sc = json_integer_value(json_object_get(s, "scale"));
        if (p < 1 || p > 38 || sc < 0 || sc > p) {
            return -1;
        }
        snprintf(tmp, sizeof(tmp), "DECIMAL(%d,%d)", (int)p, (int)sc);
        tb_add(b, tmp);
        return 0;
    }
    if (strcmp(t, "long") == 0 && lt != NULL && strstr(lt, "timestamp-") != NULL) {
        tb_add(b, "TIMESTAMP");
        return 0;
    }
    if (strcmp(t, "int") == 0 && lt != NULL && strcmp(lt, "date") == 0) {
        tb_add(b, "DATE");
        return 0;
    }
    if (strcmp(t, "record") == 0) {
        tb_add(b, "STRUCT<");
        json_array_foreach(json_object_get(s, "fields"), k, it)
        {
            const char *fn = json_string_value(json_object_get(it, "name"));
            if (fn == NULL) {
                return -1;
            }
            tb_add(b, k > 0 ? ", " : "");
            tb_add(b, fn);
            tb_add(b, ": ");
            if (type_of(json_object_get(it, "type"), names, b, depth + 1) != 0) {
                return -1;
            }
        }
        tb_add(b, ">");
        return 0;
    }
    if (strcmp(t, "map") == 0 || strcmp(t, "array") == 0) {
        tb_add(b, t[0] == 'm' ? "MAP<STRING, " : "ARRAY<");
        if (type_of(json_object_get(s, t[0] == 'm' ? "values" : "items"), names, b, depth + 1)) {
            return -1;
        }
        tb_add(b, ">");
        return 0;
    }
    {
        static const char *const prim[][2] = {
            {"string", "STRING"}, {"enum", "STRING"}, {"boolean", "BOOLEAN"}, {"int", "INT"},
            {"long", "BIGINT"},   {"float", "FLOAT"}, {"double", "DOUBLE"},   {"bytes", "BINARY"},
            {"fixed", "BINARY"},  {"null", "STRING"}};
        for (k = 0; k < sizeof(prim) / sizeof(prim[0]); k++) {
            if (strcmp(t, prim[k][0]) == 0) {
                tb_add(b, prim[k][1]);
                return 0;
            }
        }
    }
    return -1;
}

/* ------------------------------------------------------------------------ */
/* Values                                                                   */
/* ------------------------------------------------------------------------ */

/* Decimal text of a big-endian two's-complement unscaled value. */
static json_t *decimal_text(const unsigned char *p, size_t n, int scale)
{
    unsigned char mag[32];
    char digits[100], out[110];
    size_t nd = 0, i, o = 0;
    int neg = n > 0 && (p[0] & 0x80) != 0;

    if (n > sizeof(mag)) {
        return NULL;
    }
    memcpy(mag, p, n);
    if (neg) { /* two's complement negate */
        int carry = 1;
        for (i = n; i > 0; i--) {
            int v = (unsigned char)~mag[i - 1] + carry;
            mag[i - 1] = (unsigned char)v;
            carry = v >> 8;
        }
    }
    for (;;) { /* repeated division by 10 */
        int rem = 0, nonzero = 0;
        for (i = 0; i < n; i++) {
            int cur = rem * 256 + mag[i];
            mag[i] = (unsigned char)(cur / 10);
            rem = cur % 10;
            nonzero |= mag[i];
        }
        digits[nd++] = (char)('0' + rem);
        if (!nonzero || nd >= 90) {
            break;
        }
    }
    while (nd <= (size_t)scale) {
        digits[nd++] = '0';
    }
    if (neg) {
        out[o++] = '-';
    }
    for (i = nd; i > 0; i--) {
        out[o++] = digits[i - 1];
        if (i - 1 == (size_t)scale && scale > 0) {
            out[o++] = '.';
        }
    }
    out[o] = '\0';
    return json_string(out);
}

static json_t *to_json(avro_value_t *v, const json_t *s, const json_t *names, int depth);

static json_t *record_json(avro_value_t *v, const json_t *s, const json_t *names, int depth)
{
    json_t *obj = json_object(), *fields = json_object_get(s, "fields"), *f;
    size_t k;

    json_array_foreach(fields, k, f)
    {
        avro_value_t child;
        json_t *cv;
        if (avro_value_get_by_index(v, k, &child, NULL) != 0 ||
            (cv = to_json(&child, json_object_get(f, "type"), names, depth + 1)) == NULL) {
            json_decref(obj);
            return NULL;
        }
        json_object_set_new(obj, json_string_value(json_object_get(f, "name")), cv);
    }
    return obj;
}

static json_t *container_json(avro_value_t *v, const json_t *s, const json_t *names, int depth,
                              int is_map)
{
    const json_t *inner = json_object_get(s, is_map ? "values" : "items");
    json_t *out = is_map ? json_object() : json_array(), *cv;
    size_t n = 0, k;

    avro_value_get_size(v, &n);
    for (k = 0; k < n; k++) {
        avro_value_t child;
        const char *key = NULL;
        if (avro_value_get_by_index(v, k, &child, &key) != 0 ||
            (cv = to_json(&child, inner, names, depth + 1)) == NULL) {
            json_decref(out);
            return NULL;
        }
        if (is_map) {
            json_object_set_new(out, key != NULL ? key : "", cv);
        } else {
            json_array_append_new(out, cv);
        }
    }
    return out;
}

static json_t *union_json(avro_value_t *v, const json_t *s, const json_t *names, int depth)
{
    avro_value_t branch;
    int disc = 0;
    size_t k, m = 0, nonnull = 0;
    json_t *it, *inner;
    char key[32];

    if (avro_value_get_discriminant(v, &disc) != 0 ||
        avro_value_get_current_branch(v, &branch) != 0 || disc < 0 ||
        (size_t)disc >= json_array_size(s)) {
        return NULL;
    }
    json_array_foreach(s, k, it)
    {
        const char *bt = base_type(resolve(it, names));
        if (bt != NULL && strcmp(bt, "null") != 0) {
            nonnull++;
            if (k < (size_t)disc) {
                m++;
            }
        }
    }
    inner = to_json(&branch, json_array_get(s, (size_t)disc), names, depth + 1);
    if (inner == NULL || nonnull <= 1 || json_is_null(inner)) {
        return inner;
    }
    snprintf(key, sizeof(key), "member%zu", m); /* Spark's shape for general unions */
    return json_pack("{s:o}", key, inner);
}

static json_t *bytes_json(avro_value_t *v, const json_t *s, const char *t)
{
    const void *p = NULL;
    size_t n = 0;
    const char *lt = logical(s);
    char *b64;
    json_t *j;

    if ((t[0] == 'b' ? avro_value_get_bytes(v, &p, &n) : avro_value_get_fixed(v, &p, &n)) != 0) {
        return NULL;
    }
    if (lt != NULL && strcmp(lt, "decimal") == 0) {
        return decimal_text(p, n, (int)json_integer_value(json_object_get(s, "scale")));
    }
    b64 = emu_base64(p, n);
    j = b64 != NULL ? json_string(b64) : NULL;
    free(b64);
    return j;
}

static json_t *long_json(avro_value_t *v, const json_t *s)
{
    int64_t l = 0;
    const char *lt = logical(s);
    char buf[64];

    if (avro_value_get_long(v, &l) != 0) {
        return NULL;
    }
    if (lt != NULL && strncmp(lt, "timestamp-", 10) == 0) {
        emu_timestamp_from_micros(strcmp(lt, "timestamp-millis") == 0 ? (long long)l * 1000 : l,
                                  buf, sizeof(buf));
        return json_string(buf);
    }
    if (lt != NULL && strncmp(lt, "local-timestamp-", 16) == 0) {
        emu_timestamp_from_micros(
            strcmp(lt, "local-timestamp-millis") == 0 ? (long long)l * 1000 : l, buf, sizeof(buf));
        return json_string(buf);
    }
    return json_integer((json_int_t)l);
}

static json_t *to_json(avro_value_t *v, const json_t *s, const json_t *names, int depth)
{
    const char *t, *str = NULL;
    int32_t i32 = 0;
    int b = 0, e = 0;
    float f = 0;
    double d = 0;
    size_t n = 0;
    char buf[32];

    s = resolve(s, names);
    t = base_type(s);
    if (depth > MAX_DEPTH || t == NULL) {
        return NULL;
    }
    if (strcmp(t, "union") == 0) {
        return union_json(v, s, names, depth);
    }
    if (strcmp(t, "null") == 0) {
        return json_null();
    }
    if (strcmp(t, "boolean") == 0) {
        return avro_value_get_boolean(v, &b) == 0 ? json_boolean(b) : NULL;
    }
    if (strcmp(t, "int") == 0) {
        if (avro_value_get_int(v, &i32) != 0) {
            return NULL;
        }
        if (logical(s) != NULL && strcmp(logical(s), "date") == 0) {
            emu_date_from_days(i32, buf, sizeof(buf));
            return json_string(buf);
        }
        return json_integer(i32);
    }
    if (strcmp(t, "long") == 0) {
        return long_json(v, s);
    }
    if (strcmp(t, "float") == 0) {
        return avro_value_get_float(v, &f) == 0 ? json_real(f) : NULL;
    }
    if (strcmp(t, "double") == 0) {
        return avro_value_get_double(v, &d) == 0 ? json_real(d) : NULL;
    }
    if (strcmp(t, "string") == 0) {
        return avro_value_get_string(v, &str, &n) == 0 && str != NULL
                   ? json_stringn(str, n > 0 ? n - 1 : 0)
                   : NULL;
    }
    if (strcmp(t, "enum") == 0) {
        return avro_value_get_enum(v, &e) == 0
                   ? json_incref(json_array_get(json_object_get(s, "symbols"), (size_t)e))
                   : NULL;
    }
    if (strcmp(t, "bytes") == 0 || strcmp(t, "fixed") == 0) {
        return bytes_json(v, s, t);
    }
    if (strcmp(t, "record") == 0) {
        return record_json(v, s, names, depth);
    }
    if (strcmp(t, "map") == 0 || strcmp(t, "array") == 0) {
        return container_json(v, s, names, depth, t[0] == 'm');
    }
    return NULL;
}

/* Top-level field value into a cell: plain bytes stay bytes (BINARY columns). */
static int to_cell(avro_value_t *v, const json_t *s, const json_t *names, emu_cell_t *cell)
{
    const json_t *r = resolve(s, names);
    const char *t = base_type(r);
    avro_value_t branch;
    const void *p = NULL;
    size_t n = 0;

    if (t != NULL && strcmp(t, "union") == 0 && json_array_size(r) == 2 &&
        avro_value_get_current_branch(v, &branch) == 0) {
        int disc = 0;
        avro_value_get_discriminant(v, &disc);
        r = resolve(json_array_get(r, (size_t)disc), names);
        t = base_type(r);
        if (t != NULL && (strcmp(t, "bytes") == 0 || strcmp(t, "fixed") == 0) &&
            logical(r) == NULL) {
            v = &branch;
            s = r;
        }
    }
    if (t != NULL && (strcmp(t, "bytes") == 0 || strcmp(t, "fixed") == 0) && logical(r) == NULL) {
        if ((t[0] == 'b' ? avro_value_get_bytes(v, &p, &n) : avro_value_get_fixed(v, &p, &n))) {
            return -1;
        }
        cell->blob = malloc(n > 0 ? n : 1);
        if (cell->blob == NULL) {
            return -1;
        }
        memcpy(cell->blob, p, n);
        cell->len = n;
        cell->is_blob = 1;
        return 0;
    }
    cell->j = to_json(v, s, names, 0);
    return cell->j != NULL ? 0 : -1;
}

/* ------------------------------------------------------------------------ */
/* Loading                                                                  */
/* ------------------------------------------------------------------------ */

static int columns_of(const json_t *schema, const json_t *names, emu_filedata_t *out, char *err,
                      size_t errlen)
{
    const json_t *rec = resolve(schema, names), *fields = json_object_get(rec, "fields"), *f;
    const char *t = base_type(rec);
    char type[512];
    size_t k;

    if (t == NULL || strcmp(t, "record") != 0 || !json_is_array(fields) ||
        json_array_size(fields) == 0 || json_array_size(fields) > EMU_MAX_COLUMNS) {
        snprintf(err, errlen, "the file's schema is not a record with 1..%d fields",
                 EMU_MAX_COLUMNS);
        return -1;
    }
    out->cols = calloc(json_array_size(fields), sizeof(*out->cols));
    if (out->cols == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    json_array_foreach(fields, k, f)
    {
        const char *name = json_string_value(json_object_get(f, "name"));
        const json_t *ft = resolve(json_object_get(f, "type"), names);
        tb_t b = {type, 0, sizeof(type)};
        int nullable = json_is_array(ft);
        if (name == NULL || !emu_ident_valid(name) ||
            type_of(json_object_get(f, "type"), names, &b, 0) != 0 || b.len >= b.cap) {
            snprintf(err, errlen, "field %zu (%s) has an unsupported name or type", k,
                     name != NULL ? name : "?");
            return -1;
        }
        emu_col_set(&out->cols[k], name, type, nullable);
        out->ncols++;
    }
    return 0;
}

static int read_records(const char *path, const json_t *schema, const json_t *names,
                        emu_filedata_t *out, long long expect, char *err, size_t errlen)
{
    const json_t *fields = json_object_get(resolve(schema, names), "fields");
    avro_file_reader_t reader = NULL;
    avro_schema_t ws = NULL;
    avro_value_iface_t *iface = NULL;
    avro_value_t val;
    int have_val = 0, rc = -1, s, k;

    if (avro_file_reader(path, &reader) != 0) {
        snprintf(err, errlen, "avro-c cannot open it: %s", avro_strerror());
        goto out;
    }
    ws = avro_file_reader_get_writer_schema(reader);
    iface = avro_generic_class_from_schema(ws);
    if (iface == NULL || avro_generic_value_new(iface, &val) != 0) {
        snprintf(err, errlen, "avro-c cannot use its schema: %s", avro_strerror());
        goto out;
    }
    have_val = 1;
    while ((s = avro_file_reader_read_value(reader, &val)) == 0) {
        emu_cell_t *row;
        if ((long long)out->nrows >= expect || (row = emu_filedata_add_row(out)) == NULL) {
            snprintf(err, errlen, "more records than the blocks declare");
            goto out;
        }
        for (k = 0; k < out->ncols; k++) {
            avro_value_t child;
            if (avro_value_get_by_index(&val, (size_t)k, &child, NULL) != 0 ||
                to_cell(&child, json_object_get(json_array_get(fields, (size_t)k), "type"), names,
                        &row[k]) != 0) {
                snprintf(err, errlen, "record %zu, field %d cannot be decoded", out->nrows, k);
                goto out;
            }
        }
        avro_value_reset(&val);
    }
    if (s != EOF || (long long)out->nrows != expect) {
        snprintf(err, errlen, "decoding stopped after %zu of %lld records: %s", out->nrows, expect,
                 avro_strerror());
        goto out;
    }
    rc = 0;
out:
    if (have_val) {
        avro_value_decref(&val);
    }
    if (iface != NULL) {
        avro_value_iface_decref(iface);
    }
    if (ws != NULL) {
        avro_schema_decref(ws);
    }
    if (reader != NULL) {
        avro_file_reader_close(reader);
    }
    return rc;
}

int emu_avro_load(const char *path, emu_filedata_t *out, char *err, size_t errlen)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    unsigned char *buf = NULL;
    size_t len = 0, max_block = 0;
    json_t *schema = NULL, *names = json_object();
    long long nrec = 0;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    pthread_once(&once, install_allocator);
    if (read_all(path, &buf, &len, err, errlen) != 0 ||
        walk(buf, len, &schema, &nrec, &max_block, err, errlen) != 0) {
        goto out;
    }
    /* no value is larger than its block; arrays and maps of empty items get
     * room for their value structures */
    read_limit = max_block < ((size_t)1 << 30) / 16 - ((size_t)64 << 20) / 16
                     ? 16 * max_block + ((size_t)64 << 20)
                     : (size_t)1 << 30;
    out->bytes = (long long)len;
    if (check_names(schema, 0, err, errlen) != 0) {
        goto out;
    }
    collect_names(schema, names, NULL, 0);
    if (columns_of(schema, names, out, err, errlen) != 0 ||
        read_records(path, schema, names, out, nrec, err, errlen) != 0) {
        goto out;
    }
    rc = 0;
out:
    read_limit = 0;
    free(buf);
    json_decref(schema);
    json_decref(names);
    if (rc != 0) {
        emu_filedata_free(out);
    }
    return rc;
}
