/*
 * flush: one batch of records per (table, partition) with offset ranges
 * (see flush.h).
 */
#include "flush.h"

#include "mem.h"
#include "tablename.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TABLE_NAME_MAX DP_TABLENAME_TABLE_SIZE

typedef struct part {
    char *topic;
    int32_t partition;
    int64_t first, last; /* -1 when the partition holds no record */
    int64_t epoch;       /* the worker's claim epoch when cut (claims.h), or 0 */
    uint32_t last_fp;    /* fingerprint of the message at `last` (dp_flush_set_last_fp) */
} part_t;

typedef struct slot {
    dp_buf_t buf;  /* records: body + lineage, concatenated */
    dp_buf_t lens; /* uint32_t body length of each record, to walk them again */
    int64_t n;
} slot_t;

typedef struct table {
    char name[TABLE_NAME_MAX];
    const char *hint;   /* last pointer the caller used for this name */
    slot_t *slots;      /* indexed like flush->parts */
    size_t nslots;
    int64_t rows;
} table_t;

struct dp_flush {
    uint64_t seq;
    int64_t loaded_at;
    size_t max_bytes, bytes;
    int64_t rows;
    part_t *parts;
    size_t nparts, partcap;
    size_t last_part;
    table_t *tables;
    size_t ntables, tablecap;
    int fenced; /* the loader found a newer claim that never saw its manifest */
    int full;   /* an add was refused for the byte cap */
};

dp_flush_t *dp_flush_new(uint64_t seq, int64_t loaded_at_us, size_t max_bytes)
{
    dp_flush_t *flush = dp_calloc(1, sizeof(*flush));

    flush->seq = seq;
    flush->loaded_at = loaded_at_us;
    flush->max_bytes = max_bytes;
    return flush;
}

void dp_flush_destroy(dp_flush_t *flush)
{
    if (!flush)
        return;
    for (size_t t = 0; t < flush->ntables; t++) {
        for (size_t s = 0; s < flush->tables[t].nslots; s++) {
            dp_buf_free(&flush->tables[t].slots[s].buf);
            dp_buf_free(&flush->tables[t].slots[s].lens);
        }
        free(flush->tables[t].slots);
    }
    for (size_t p = 0; p < flush->nparts; p++)
        free(flush->parts[p].topic);
    free(flush->tables);
    free(flush->parts);
    free(flush);
}

static size_t find_part(dp_flush_t *flush, const char *topic, int32_t partition)
{
    part_t *p;

    if (flush->last_part < flush->nparts) {
        p = &flush->parts[flush->last_part];
        if (p->partition == partition && strcmp(p->topic, topic) == 0)
            return flush->last_part;
    }
    for (size_t i = 0; i < flush->nparts; i++) {
        p = &flush->parts[i];
        if (p->partition == partition && strcmp(p->topic, topic) == 0)
            return flush->last_part = i;
    }
    if (flush->nparts == flush->partcap) {
        flush->partcap = flush->partcap ? flush->partcap * 2 : 16;
        flush->parts = dp_realloc(flush->parts, flush->partcap * sizeof(*flush->parts));
    }
    p = &flush->parts[flush->nparts];
    p->topic = dp_strdup(topic);
    p->partition = partition;
    p->first = p->last = -1;
    return flush->last_part = flush->nparts++;
}

static table_t *find_table(dp_flush_t *flush, const char *name, dp_err_t *err)
{
    table_t *t;

    for (size_t i = 0; i < flush->ntables; i++) {
        t = &flush->tables[i];
        if (t->hint == name || strcmp(t->name, name) == 0) {
            t->hint = name;
            return t;
        }
    }
    if (strnlen(name, TABLE_NAME_MAX) >= TABLE_NAME_MAX) {
        dp_err_set(err, DP_EINVAL, 0, "flush: table name '%.40s...' is longer than %zu bytes", name,
                   (size_t)DP_TABLENAME_TABLE_MAX);
        return NULL;
    }
    if (flush->ntables == flush->tablecap) {
        flush->tablecap = flush->tablecap ? flush->tablecap * 2 : 16;
        flush->tables = dp_realloc(flush->tables, flush->tablecap * sizeof(*flush->tables));
    }
    t = &flush->tables[flush->ntables++];
    memset(t, 0, sizeof(*t));
    snprintf(t->name, sizeof(t->name), "%s", name);
    t->hint = name;
    return t;
}

static slot_t *table_slot(table_t *t, size_t part)
{
    if (part >= t->nslots) {
        size_t n = part + 8;

        t->slots = dp_realloc(t->slots, n * sizeof(*t->slots));
        for (size_t i = t->nslots; i < n; i++) {
            dp_buf_init(&t->slots[i].buf, SIZE_MAX);
            dp_buf_init(&t->slots[i].lens, SIZE_MAX);
            t->slots[i].n = 0;
        }
        t->nslots = n;
    }
    return &t->slots[part];
}

int dp_flush_put_lineage(dp_buf_t *buf, const char *topic, size_t topic_len, int32_t partition,
                         int64_t offset, int64_t loaded_at, dp_err_t *err)
{
    if (dp_buf_put_bytes(buf, topic, topic_len, err) < 0 ||
        dp_buf_put_int(buf, partition, err) < 0 || dp_buf_put_long(buf, offset, err) < 0 ||
        dp_buf_put_long(buf, loaded_at, err) < 0)
        return DP_ETOOBIG;
    return 0;
}

int dp_flush_add(dp_flush_t *flush, const char *table, const char *topic, int32_t partition,
                 int64_t offset, const void *body, size_t len, dp_err_t *err)
{
    size_t pi = find_part(flush, topic, partition);
    part_t *p = &flush->parts[pi];
    table_t *t;
    slot_t *s;
    size_t before, added;
    uint32_t body_len = (uint32_t)len;

    if (p->last >= 0 && offset <= p->last) {
        dp_err_set(err, DP_OK, 0, "flush: %s [%d] @%lld is not above @%lld (redelivered)", topic,
                   (int)partition, (long long)offset, (long long)p->last);
        return DP_FLUSH_REDELIVERY;
    }
    t = find_table(flush, table, err);
    if (!t)
        return DP_EINVAL;
    s = table_slot(t, pi);
    before = dp_buf_len(&s->buf);
    /* An empty flush takes one record whatever its size: a message larger
     * than the cap would otherwise never be loaded. */
    if (len > UINT32_MAX ||
        (flush->rows > 0 && flush->bytes + len + strlen(topic) + 36 > flush->max_bytes)) {
        flush->full = 1;
        return dp_err_set(err, DP_ETOOBIG, 1, "flush: byte cap of %zu reached", flush->max_bytes);
    }
    if (dp_buf_append(&s->buf, body, len, err) < 0 ||
        dp_flush_put_lineage(&s->buf, topic, strlen(topic), partition, offset, flush->loaded_at,
                             err) < 0 ||
        dp_buf_append(&s->lens, &body_len, sizeof(body_len), err) < 0) {
        dp_buf_truncate(&s->buf, before);
        return DP_ETOOBIG;
    }
    added = dp_buf_len(&s->buf) - before + sizeof(body_len);
    flush->bytes += added;
    flush->rows++;
    s->n++;
    t->rows++;
    if (p->first < 0)
        p->first = offset;
    p->last = offset;
    return 0;
}

void dp_flush_drop_partition(dp_flush_t *flush, const char *topic, int32_t partition)
{
    for (size_t pi = 0; pi < flush->nparts; pi++) {
        part_t *p = &flush->parts[pi];

        if (p->partition != partition || strcmp(p->topic, topic) != 0)
            continue;
        for (size_t ti = 0; ti < flush->ntables; ti++) {
            table_t *t = &flush->tables[ti];

            if (pi >= t->nslots)
                continue;
            flush->bytes -= dp_buf_len(&t->slots[pi].buf) + dp_buf_len(&t->slots[pi].lens);
            flush->rows -= t->slots[pi].n;
            t->rows -= t->slots[pi].n;
            dp_buf_free(&t->slots[pi].buf);
            dp_buf_free(&t->slots[pi].lens);
            t->slots[pi].n = 0;
        }
        p->first = p->last = -1;
    }
}

uint64_t dp_flush_seq(const dp_flush_t *flush)
{
    return flush->seq;
}

int64_t dp_flush_rows(const dp_flush_t *flush)
{
    return flush->rows;
}

size_t dp_flush_bytes(const dp_flush_t *flush)
{
    return flush->bytes;
}

int64_t dp_flush_loaded_at(const dp_flush_t *flush)
{
    return flush->loaded_at;
}

int64_t dp_flush_max_table_rows(const dp_flush_t *flush)
{
    int64_t max = 0;

    for (size_t i = 0; i < flush->ntables; i++) {
        if (flush->tables[i].rows > max)
            max = flush->tables[i].rows;
    }
    return max;
}

size_t dp_flush_nranges(const dp_flush_t *flush)
{
    return flush->nparts;
}

int dp_flush_range(const dp_flush_t *flush, size_t i, const char **topic, int32_t *partition,
                   int64_t *first, int64_t *last)
{
    if (i >= flush->nparts || flush->parts[i].first < 0)
        return -1;
    *topic = flush->parts[i].topic;
    *partition = flush->parts[i].partition;
    *first = flush->parts[i].first;
    *last = flush->parts[i].last;
    return 0;
}

void dp_flush_set_epoch(dp_flush_t *flush, const char *topic, int32_t partition, int64_t epoch)
{
    for (size_t i = 0; i < flush->nparts; i++) {
        if (flush->parts[i].partition == partition && strcmp(flush->parts[i].topic, topic) == 0)
            flush->parts[i].epoch = epoch;
    }
}

int64_t dp_flush_range_epoch(const dp_flush_t *flush, size_t i)
{
    return i < flush->nparts ? flush->parts[i].epoch : 0;
}

void dp_flush_set_last_fp(dp_flush_t *flush, uint32_t fp)
{
    if (flush->last_part < flush->nparts)
        flush->parts[flush->last_part].last_fp = fp;
}

uint32_t dp_flush_range_fp(const dp_flush_t *flush, size_t i)
{
    return i < flush->nparts ? flush->parts[i].last_fp : 0;
}

void dp_flush_set_fenced(dp_flush_t *flush, int fenced)
{
    flush->fenced = fenced;
}

int dp_flush_fenced(const dp_flush_t *flush)
{
    return flush->fenced;
}

int dp_flush_full(const dp_flush_t *flush)
{
    return flush->full;
}

size_t dp_flush_ntables(const dp_flush_t *flush)
{
    return flush->ntables;
}

const char *dp_flush_table(const dp_flush_t *flush, size_t i, int64_t *rows)
{
    if (i >= flush->ntables)
        return NULL;
    if (rows)
        *rows = flush->tables[i].rows;
    return flush->tables[i].name;
}

void dp_flush_table_records(const dp_flush_t *flush, size_t i,
                            void (*visit)(void *ctx, const void *data, size_t len, int64_t n),
                            void *ctx)
{
    const table_t *t;

    if (i >= flush->ntables)
        return;
    t = &flush->tables[i];
    for (size_t s = 0; s < t->nslots; s++) {
        if (t->slots[s].n > 0)
            visit(ctx, dp_buf_data(&t->slots[s].buf), dp_buf_len(&t->slots[s].buf), t->slots[s].n);
    }
}

/* Reads the lineage behind a body: topic (string), partition (int), offset
 * (long), loaded_at (long). Returns the bytes it spans, or 0 if malformed. */
static size_t read_lineage(const unsigned char *p, size_t n, dp_flush_record_t *rec)
{
    int64_t v, tlen;
    size_t used, at = 0;

    if (dp_buf_read_long(p, n, &tlen, &used, NULL) < 0 || tlen < 0 || (size_t)tlen > n - used)
        return 0;
    rec->topic = (const char *)p + used;
    rec->topic_len = (size_t)tlen;
    at = used + (size_t)tlen;
    if (dp_buf_read_long(p + at, n - at, &v, &used, NULL) < 0)
        return 0;
    rec->partition = (int32_t)v;
    at += used;
    if (dp_buf_read_long(p + at, n - at, &rec->offset, &used, NULL) < 0)
        return 0;
    at += used;
    if (dp_buf_read_long(p + at, n - at, &v, &used, NULL) < 0)
        return 0;
    return at + used;
}

int dp_flush_table_each(const dp_flush_t *flush, size_t i,
                        int (*visit)(void *ctx, const dp_flush_record_t *rec), void *ctx)
{
    const table_t *t;

    if (i >= flush->ntables)
        return 0;
    t = &flush->tables[i];
    for (size_t s = 0; s < t->nslots; s++) {
        const unsigned char *p = dp_buf_data(&t->slots[s].buf);
        const unsigned char *lens = dp_buf_data(&t->slots[s].lens);
        size_t n = dp_buf_len(&t->slots[s].buf), at = 0;

        for (int64_t r = 0; r < t->slots[s].n; r++) {
            dp_flush_record_t rec;
            uint32_t body_len;
            size_t lin;
            int rc;

            memcpy(&body_len, lens + (size_t)r * sizeof(body_len), sizeof(body_len));
            if (body_len > n - at)
                return DP_EFAIL;
            rec.body = p + at;
            rec.body_len = body_len;
            lin = read_lineage(p + at + body_len, n - at - body_len, &rec);
            if (lin == 0)
                return DP_EFAIL;
            if ((rc = visit(ctx, &rec)) < 0)
                return rc;
            at += body_len + lin;
        }
    }
    return 0;
}
