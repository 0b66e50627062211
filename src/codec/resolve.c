/*
 * resolve: writer -> reader conversion programs (see resolve.h).
 *
 * A program is a tree of conv_t nodes built by compile_conv() from a writer
 * node and a reader node. Invariants: a program exists only for a
 * compatible pair; every byte it reads has been validated by the walker,
 * and every read still goes through the bounds-checked cursor.
 */
#include "codec/resolve.h"

#include "codec/json_event.h"
#include "core/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Conversion program: writer node -> canonical node                     */
/* ------------------------------------------------------------------ */

enum {
    CV_COPY,      /* identical encoding: copy the bytes */
    CV_RECORD,    /* reader fields in reader order, by name */
    CV_WRAP,      /* writer non-union -> reader union branch */
    CV_UNWRAP,    /* writer union: per writer branch conversion */
    CV_FAIL,      /* this writer branch cannot be read (runtime reject) */
    CV_ITEMS,     /* array/map whose items need converting */
    CV_TO_FLOAT,  /* int/long -> float */
    CV_TO_DOUBLE, /* int/long/float -> double */
    CV_MILLIS_TO_MICROS,
};

typedef struct conv {
    uint8_t op;
    uint8_t fail_code; /* CV_FAIL: a dp_reject_code_t */
    uint32_t wnode;
    uint32_t branch; /* CV_WRAP: reader branch to emit */
    uint32_t inner;  /* CV_WRAP, CV_ITEMS: conversion of the content */
    uint32_t first;  /* CV_RECORD: in rfields; CV_UNWRAP: in bmap */
    uint32_t n;
} conv_t;

typedef struct rfield {
    const char *name; /* reader field name (for error paths) */
    int32_t wfield;   /* writer field index, or -1: emit the default */
    uint32_t conv;
    uint32_t def_off, def_len; /* default bytes in defaults */
} rfield_t;

struct dp_resolver {
    const dp_schema_t *ws; /* borrowed writer schema */
    char why[DP_REJECT_REASON_MAX];
    conv_t *convs;
    size_t nconvs, cap_convs;
    rfield_t *rfields;
    size_t nrfields, cap_rfields;
    uint32_t *bmap;
    size_t nbmap, cap_bmap;
    dp_buf_t defaults;
    uint32_t root;
};

static void *grow(void *arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return arr;
    while (*cap < need)
        *cap = *cap ? *cap * 2 : 16;
    return dp_realloc(arr, *cap * elem);
}

static uint32_t add_conv(dp_resolver_t *w, uint8_t op, uint32_t wnode)
{
    w->convs = grow(w->convs, &w->cap_convs, w->nconvs + 1, sizeof(*w->convs));
    memset(&w->convs[w->nconvs], 0, sizeof(w->convs[0]));
    w->convs[w->nconvs].op = op;
    w->convs[w->nconvs].wnode = wnode;
    return (uint32_t)w->nconvs++;
}

typedef struct cctx {
    dp_resolver_t *w;
    const dp_schema_t *ws, *rs;
    int silent; /* trying union branches: do not record why */
    const char *path[DP_SCHEMA_MAX_DEPTH + 2];
    int depth;
} cctx_t;

__attribute__((format(printf, 2, 3))) static int incompatible(cctx_t *c, const char *fmt, ...)
{
    char path[DP_REJECT_PATH_MAX] = "$", reason[DP_REJECT_REASON_MAX];
    va_list ap;
    size_t len;
    int i;

    if (c->silent)
        return -1;
    for (i = 1; i <= c->depth && i <= DP_SCHEMA_MAX_DEPTH; i++) {
        len = strlen(path);
        snprintf(path + len, sizeof(path) - len, ".%s", c->path[i]);
    }
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    snprintf(c->w->why, sizeof(c->w->why), "%s: %s", path, reason);
    return -1;
}

static int compile_conv(cctx_t *c, uint32_t wn, uint32_t rn, uint32_t *out);

static int compile_writer_union(cctx_t *c, uint32_t wn, uint32_t rn, uint32_t *out)
{
    const dp_schema_node_t *nd = &c->ws->nodes[wn];
    int silent = c->silent, ok = 0;
    uint32_t i, conv, sub, first;

    first = (uint32_t)c->w->nbmap;
    c->w->bmap = grow(c->w->bmap, &c->w->cap_bmap, c->w->nbmap + nd->n, sizeof(uint32_t));
    c->w->nbmap += nd->n;
    for (i = 0; i < nd->n; i++) {
        uint32_t wb = c->ws->branches[nd->first + i];

        c->silent = 1;
        if (compile_conv(c, wb, rn, &sub) == 0) {
            ok = 1;
        } else {
            sub = add_conv(c->w, CV_FAIL, wb);
            c->w->convs[sub].fail_code =
                c->ws->nodes[wb].type == DP_AVRO_NULL ? DP_REJ_MISSING_FIELD : DP_REJ_BAD_TYPE;
        }
        c->w->bmap[first + i] = sub;
    }
    c->silent = silent;
    if (!ok)
        return incompatible(c, "no branch of the writer union reads as %s",
                            dp_avro_type_name(c->rs->nodes[rn].type));
    conv = add_conv(c->w, CV_UNWRAP, wn);
    c->w->convs[conv].first = first;
    c->w->convs[conv].n = nd->n;
    *out = conv;
    return 0;
}

static int compile_reader_union(cctx_t *c, uint32_t wn, uint32_t rn, uint32_t *out)
{
    const dp_schema_node_t *nd = &c->rs->nodes[rn];
    int silent = c->silent;
    uint32_t i, inner, conv;

    c->silent = 1;
    for (i = 0; i < nd->n; i++) {
        if (compile_conv(c, wn, c->rs->branches[nd->first + i], &inner) == 0) {
            c->silent = silent;
            conv = add_conv(c->w, CV_WRAP, wn);
            c->w->convs[conv].branch = i;
            c->w->convs[conv].inner = inner;
            *out = conv;
            return 0;
        }
    }
    c->silent = silent;
    return incompatible(c, "writer %s matches no branch of the canonical union",
                        dp_avro_type_name(c->ws->nodes[wn].type));
}

static int compile_record(cctx_t *c, uint32_t wn, uint32_t rn, uint32_t *out)
{
    const dp_schema_node_t *rd = &c->rs->nodes[rn];
    dp_resolver_t *w = c->w;
    dp_reject_t rej;
    uint32_t i, first = (uint32_t)w->nrfields, conv;
    int wi;

    w->rfields = grow(w->rfields, &w->cap_rfields, w->nrfields + rd->n, sizeof(*w->rfields));
    w->nrfields += rd->n;
    c->depth++;
    for (i = 0; i < rd->n; i++) {
        const dp_schema_field_t *rf = dp_schema_field(c->rs, rn, i);
        rfield_t *e = &w->rfields[first + i];

        c->path[c->depth] = rf->name;
        e->name = rf->name;
        wi = dp_schema_field_index(c->ws, wn, rf->name);
        e->wfield = wi;
        if (wi >= 0) {
            if (compile_conv(c, dp_schema_field(c->ws, wn, (uint32_t)wi)->node, rf->node, &conv) <
                0)
                return -1;
            w->rfields[first + i].conv = conv; /* rfields may have moved */
            continue;
        }
        if (!rf->defval)
            return incompatible(c, "required field missing from the writer and has no default");
        w->rfields[first + i].def_off = (uint32_t)dp_buf_len(&w->defaults);
        if (dp_json_encode_default(c->rs, rf->node, rf->defval, &w->defaults, &rej) < 0)
            return incompatible(c, "bad default: %s", rej.reason);
        w->rfields[first + i].def_len =
            (uint32_t)(dp_buf_len(&w->defaults) - w->rfields[first + i].def_off);
    }
    c->depth--;
    conv = add_conv(w, CV_RECORD, wn);
    w->convs[conv].first = first;
    w->convs[conv].n = rd->n;
    *out = conv;
    return 0;
}

/* Same Avro type on both sides (unions handled by the callers). */
static int compile_same(cctx_t *c, uint32_t wn, uint32_t rn, uint32_t *out)
{
    const dp_schema_node_t *wd = &c->ws->nodes[wn], *rd = &c->rs->nodes[rn];
    uint32_t inner, i;

    switch (rd->type) {
    case DP_AVRO_RECORD:
        return compile_record(c, wn, rn, out);
    case DP_AVRO_LONG:
        if (wd->logical == DP_LT_TIMESTAMP_MILLIS && rd->logical == DP_LT_TIMESTAMP_MICROS) {
            *out = add_conv(c->w, CV_MILLIS_TO_MICROS, wn);
            return 0;
        }
        if (wd->logical == DP_LT_TIMESTAMP_MICROS && rd->logical == DP_LT_TIMESTAMP_MILLIS)
            return incompatible(c, "timestamp-micros cannot be read as timestamp-millis");
        break;
    case DP_AVRO_BYTES:
    case DP_AVRO_FIXED:
        if (wd->logical == DP_LT_DECIMAL && rd->logical == DP_LT_DECIMAL && wd->scale != rd->scale)
            return incompatible(c, "decimal scale %d, canonical scale %d", wd->scale, rd->scale);
        if (rd->type == DP_AVRO_FIXED && wd->n != rd->n)
            return incompatible(c, "fixed size %u, canonical %u", wd->n, rd->n);
        break;
    case DP_AVRO_ENUM:
        for (i = 0; i < wd->n; i++) {
            if (i >= rd->n || strcmp(c->ws->symbols[wd->first + i], c->rs->symbols[rd->first + i]))
                return incompatible(c, "enum symbols are not a prefix of the canonical ones");
        }
        break;
    case DP_AVRO_ARRAY:
    case DP_AVRO_MAP:
        if (compile_conv(c, wd->first, rd->first, &inner) < 0)
            return -1;
        if (c->w->convs[inner].op != CV_COPY) {
            *out = add_conv(c->w, CV_ITEMS, wn);
            c->w->convs[*out].inner = inner;
            return 0;
        }
        break;
    default:
        break;
    }
    *out = add_conv(c->w, CV_COPY, wn);
    return 0;
}

static int compile_types(cctx_t *c, uint32_t wn, uint32_t rn, uint32_t *out)
{
    dp_avro_type_t wt = c->ws->nodes[wn].type, rt = c->rs->nodes[rn].type;

    if (c->depth >= DP_SCHEMA_MAX_DEPTH)
        return incompatible(c, "types nested deeper than %d", DP_SCHEMA_MAX_DEPTH);
    if (dp_schema_equal(c->ws, wn, c->rs, rn)) {
        *out = add_conv(c->w, CV_COPY, wn);
        return 0;
    }
    if (wt == DP_AVRO_UNION)
        return compile_writer_union(c, wn, rn, out);
    if (rt == DP_AVRO_UNION)
        return compile_reader_union(c, wn, rn, out);
    if (wt == rt)
        return compile_same(c, wn, rn, out);
    /* Avro promotions: int->long and string<->bytes encode identically. */
    if ((wt == DP_AVRO_INT && rt == DP_AVRO_LONG) ||
        (wt == DP_AVRO_STRING && rt == DP_AVRO_BYTES && c->rs->nodes[rn].logical == DP_LT_NONE) ||
        (wt == DP_AVRO_BYTES && rt == DP_AVRO_STRING)) {
        *out = add_conv(c->w, CV_COPY, wn);
        return 0;
    }
    if ((wt == DP_AVRO_INT || wt == DP_AVRO_LONG) && rt == DP_AVRO_FLOAT) {
        *out = add_conv(c->w, CV_TO_FLOAT, wn);
        return 0;
    }
    if ((wt == DP_AVRO_INT || wt == DP_AVRO_LONG || wt == DP_AVRO_FLOAT) && rt == DP_AVRO_DOUBLE) {
        *out = add_conv(c->w, CV_TO_DOUBLE, wn);
        return 0;
    }
    return incompatible(c, "writer type %s cannot be read as %s", dp_avro_type_name(wt),
                        dp_avro_type_name(rt));
}

static int compile_conv(cctx_t *c, uint32_t wn, uint32_t rn, uint32_t *out)
{
    int depth = c->depth, rc;

    rc = compile_types(c, wn, rn, out);
    c->depth = depth;
    return rc;
}

/* ------------------------------------------------------------------ */
/* Conversion at run time                                                */
/* ------------------------------------------------------------------ */

typedef struct rt {
    const dp_resolver_t *w;
    dp_buf_t *out;
    dp_reject_t *rej;
    int depth;
    const char *path[DP_SCHEMA_MAX_DEPTH + 2];
} rt_t;

__attribute__((format(printf, 3, 4))) static int rt_fail(rt_t *r, dp_reject_code_t code,
                                                         const char *fmt, ...)
{
    char path[DP_REJECT_PATH_MAX] = "$";
    va_list ap;
    size_t len;
    int i;

    for (i = 1; i <= r->depth && i <= DP_SCHEMA_MAX_DEPTH; i++) {
        len = strlen(path);
        snprintf(path + len, sizeof(path) - len, "%s%s", r->path[i][0] == '[' ? "" : ".",
                 r->path[i]);
    }
    r->rej->code = code;
    memcpy(r->rej->path, path, sizeof(path));
    va_start(ap, fmt);
    vsnprintf(r->rej->reason, sizeof(r->rej->reason), fmt, ap);
    va_end(ap);
    return DP_EINVAL;
}

static int rt_put(rt_t *r, int rc)
{
    return rc < 0
               ? rt_fail(r, DP_REJ_TOO_LARGE, "converted event over %zu bytes", dp_buf_max(r->out))
               : 0;
}

static int run_conv(rt_t *r, uint32_t ci, dp_avro_cursor_t *cur);

static int run_record(rt_t *r, const conv_t *cv, dp_avro_cursor_t *cur)
{
    const dp_schema_node_t *wd = &r->w->ws->nodes[cv->wnode];
    const uint8_t *start[DP_SCHEMA_MAX_FIELDS];
    dp_avro_value_t v;
    dp_avro_cursor_t sub;
    uint32_t i;

    for (i = 0; i < wd->n; i++) {
        start[i] = cur->p;
        if (dp_avro_read_value(cur, dp_schema_field(r->w->ws, cv->wnode, i)->node, &v) < 0)
            return DP_EINVAL;
    }
    r->depth++;
    for (i = 0; i < cv->n; i++) {
        const rfield_t *f = &r->w->rfields[cv->first + i];

        r->path[r->depth] = f->name;
        if (f->wfield < 0) {
            if (rt_put(r, dp_buf_append(r->out, dp_buf_data(&r->w->defaults) + f->def_off,
                                        f->def_len, NULL)))
                return DP_EINVAL;
            continue;
        }
        dp_avro_cursor_init(
            &sub, r->w->ws, start[f->wfield],
            (size_t)(((uint32_t)f->wfield + 1 < wd->n ? start[f->wfield + 1] : cur->p) -
                     start[f->wfield]),
            NULL, r->rej);
        sub.trusted = cur->trusted;
        if (run_conv(r, f->conv, &sub) < 0)
            return DP_EINVAL;
    }
    r->depth--;
    return 0;
}

static int run_items(rt_t *r, const conv_t *cv, dp_avro_cursor_t *cur)
{
    dp_avro_value_t v, key, item;
    dp_avro_iter_t it;
    dp_avro_cursor_t sub;
    int64_t n = 0;
    int rc;

    if (dp_avro_read_value(cur, cv->wnode, &v) < 0)
        return DP_EINVAL;
    dp_avro_iter_init(&it, r->w->ws, &v, r->rej);
    it.cur.trusted = cur->trusted;
    while ((rc = dp_avro_iter_next(&it, &key, &item)) == 1)
        n++;
    if (rc < 0)
        return DP_EINVAL;
    if (n && rt_put(r, dp_buf_put_long(r->out, n, NULL)) < 0)
        return DP_EINVAL;
    dp_avro_iter_init(&it, r->w->ws, &v, r->rej);
    it.cur.trusted = cur->trusted;
    while (dp_avro_iter_next(&it, &key, &item) == 1) {
        if (it.is_map && rt_put(r, dp_buf_put_bytes(r->out, key.ptr, key.len, NULL)) < 0)
            return DP_EINVAL;
        dp_avro_cursor_init(&sub, r->w->ws, item.raw, item.raw_len, NULL, r->rej);
        sub.trusted = cur->trusted;
        if (run_conv(r, cv->inner, &sub) < 0)
            return DP_EINVAL;
    }
    return rt_put(r, dp_buf_put_long(r->out, 0, NULL));
}

static int run_number(rt_t *r, const conv_t *cv, dp_avro_cursor_t *cur)
{
    dp_avro_value_t v;
    double d;

    if (dp_avro_read_value(cur, cv->wnode, &v) < 0)
        return DP_EINVAL;
    d = r->w->ws->nodes[cv->wnode].type == DP_AVRO_FLOAT ? v.d : (double)v.l;
    return rt_put(r, dp_buf_put_real(r->out, d, cv->op == CV_TO_FLOAT, NULL));
}

static int run_conv(rt_t *r, uint32_t ci, dp_avro_cursor_t *cur)
{
    const conv_t *cv = &r->w->convs[ci];
    dp_avro_value_t v;
    int64_t b;

    switch (cv->op) {
    case CV_COPY:
        if (dp_avro_read_value(cur, cv->wnode, &v) < 0)
            return DP_EINVAL;
        return rt_put(r, dp_buf_append(r->out, v.raw, v.raw_len, NULL));
    case CV_RECORD:
        return run_record(r, cv, cur);
    case CV_WRAP:
        if (rt_put(r, dp_buf_put_long(r->out, cv->branch, NULL)) < 0)
            return DP_EINVAL;
        return run_conv(r, cv->inner, cur);
    case CV_UNWRAP:
        if (dp_avro_read_long(cur, &b) < 0 || b < 0 || b >= (int64_t)cv->n)
            return rt_fail(r, DP_REJ_BAD_UNION_BRANCH, "bad union branch");
        return run_conv(r, r->w->bmap[cv->first + (uint32_t)b], cur);
    case CV_FAIL:
        if (cv->fail_code == DP_REJ_MISSING_FIELD)
            return rt_fail(r, DP_REJ_MISSING_FIELD, "the writer sent null for a required field");
        return rt_fail(r, DP_REJ_BAD_TYPE,
                       "the writer sent a %s, which the canonical type "
                       "cannot hold",
                       dp_avro_type_name(r->w->ws->nodes[cv->wnode].type));
    case CV_ITEMS:
        return run_items(r, cv, cur);
    case CV_TO_FLOAT:
    case CV_TO_DOUBLE:
        return run_number(r, cv, cur);
    case CV_MILLIS_TO_MICROS:
        if (dp_avro_read_long(cur, &b) < 0)
            return DP_EINVAL;
        if (b > INT64_MAX / 1000 || b < INT64_MIN / 1000)
            return rt_fail(r, DP_REJ_BAD_TIMESTAMP, "millis out of range");
        return rt_put(r, dp_buf_put_long(r->out, b * 1000, NULL));
    default:
        return rt_fail(r, DP_REJ_BAD_TYPE, "internal: unknown conversion");
    }
}

/* ------------------------------------------------------------------ */
/* Public API                                                            */
/* ------------------------------------------------------------------ */

void dp_resolver_destroy(dp_resolver_t *res)
{
    if (!res)
        return;
    free(res->convs);
    free(res->rfields);
    free(res->bmap);
    dp_buf_free(&res->defaults);
    free(res);
}

dp_resolver_t *dp_resolver_new(const dp_schema_t *writer, const dp_schema_t *reader, char *why,
                               size_t whylen)
{
    dp_resolver_t *res = dp_calloc(1, sizeof(*res));
    cctx_t c;

    res->ws = writer;
    dp_buf_init(&res->defaults, 1 << 20);
    memset(&c, 0, sizeof(c));
    c.w = res;
    c.ws = writer;
    c.rs = reader;
    if (compile_conv(&c, 0, 0, &res->root) < 0) {
        snprintf(why, whylen, "%s", res->why);
        dp_resolver_destroy(res);
        return NULL;
    }
    return res;
}

int dp_resolver_run(const dp_resolver_t *res, const void *body, size_t len, dp_buf_t *out,
                    dp_reject_t *rej)
{
    dp_avro_cursor_t cur;
    rt_t r;

    memset(&r, 0, sizeof(r));
    r.w = res;
    r.out = out;
    r.rej = rej;
    dp_avro_cursor_init(&cur, res->ws, body, len, NULL, rej);
    /* The writer walk validated every string: each is checked once. */
    cur.trusted = 1;
    return run_conv(&r, res->root, &cur);
}
