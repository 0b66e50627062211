/*
 * flush: records per table in chunks, offset ranges per partition, the
 * fingerprint of each partition's last message (see flush.h).
 *
 * Invariants:
 *   - a table's index lists its records in chunk order: chunk c holds the
 *     next chunks[c].n entries of the index, back to back;
 *   - records are only appended to a table's last chunk;
 *   - flush->bytes = sum over records of (record bytes + sizeof(idx_t)).
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, MADV_HUGEPAGE */
#include "batch/flush.h"

#include "core/mem.h"
#include "route/tablename.h"

#include <libdeflate.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

/* A table's first chunk; each next one doubles, up to DP_FLUSH_CHUNK_SIZE. */
#define FIRST_CHUNK ((size_t)4096)
/* Partitions are numbered in 16 bits in the index. */
#define MAX_PARTS 65535
/* Keeps a record's lineage within the index's 16 bits (Kafka's own limit is
 * 249 bytes). */
#define TOPIC_MAX 4096
/* After the topic and partition prefix: offset (varint), the timestamp's
 * union branch and value (varint), then the encoded incarnation. */
#define LINEAGE_TAIL_MAX (3 * DP_BUF_LONG_MAX_BYTES)

typedef struct idx {
    uint32_t body_len;
    uint16_t lin_len; /* lineage bytes after the body */
    uint16_t part;    /* index in flush->parts */
} idx_t;

typedef struct chunk {
    unsigned char *data; /* owned; full-size chunks come from the free list */
    size_t len, cap;
    int64_t n; /* complete records in data[0..len) */
} chunk_t;

typedef struct part {
    char *topic; /* owned */
    size_t topic_len;
    int32_t partition;
    int64_t first, last;    /* -1 when the partition holds no record */
    int64_t gap_ok;         /* -1, or an offset past a gap the broker confirmed */
    int64_t epoch;          /* the worker's claim epoch when cut (claims.h), or 0 */
    int64_t ts_min, ts_max; /* its records' Kafka timestamps (us); ts_max 0: none had one */
    unsigned char *prefix;  /* owned: encoded topic and partition, the lineage's head */
    size_t prefix_len;
    unsigned char *raw; /* owned: key then value of the message at `last` */
    size_t key_len, raw_len, raw_cap;
    int has_raw;
} part_t;

typedef struct table {
    char name[DP_TABLENAME_TABLE_SIZE];
    const char *hint; /* last pointer the caller used for this name */
    chunk_t *chunks;  /* owned */
    size_t nchunks, chunkcap;
    idx_t *idx; /* owned */
    size_t nidx, idxcap;
    int64_t rows;
} table_t;

struct dp_flush {
    uint64_t seq;
    int64_t opened_at;
    unsigned char inc[DP_FLUSH_INCARNATION_MAX + DP_BUF_LONG_MAX_BYTES]; /* encoded string */
    size_t inc_len;
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

/* ------------------------------------------------------------------------- */
/* Chunk free list                                                           */
/* ------------------------------------------------------------------------- */

/* Full-size chunks are cut from 2 MiB slabs, aligned so that the kernel can
 * back them with transparent huge pages (madvise): touching fresh memory
 * then costs one page fault per 2 MiB instead of one per 4 KiB, which on
 * some virtual machines was a tenth of the worker's CPU. A freed chunk goes
 * to this free list (from the loader thread), and the next flush takes it
 * (on the poll thread). Slabs are never unmapped, but a chunk left unused on
 * the list for POOL_IDLE_MS is given back to the kernel (MADV_DONTNEED, and
 * no longer a huge page): after a burst of large flushes (a slow load) the
 * memory returns to what the flushes need, while a steady stream reuses
 * every chunk within a few flushes and never faults them in again. The
 * malloc arenas are trimmed at the same pace (dp_mem_give_back). */
#define SLAB_SIZE       ((size_t)2 << 20)
#define CHUNKS_PER_SLAB (SLAB_SIZE / DP_FLUSH_CHUNK_SIZE)
#define POOL_IDLE_MS    10000

static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned char **pool; /* free full-size chunks, a stack: most recent on top */
static long long *pool_at;   /* when each was freed (monotonic ms) */
static size_t npool, poolcap;
static size_t ncold; /* pool[0..ncold) were given back to the kernel */

static long long mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pool_push(unsigned char *p, long long at)
{
    if (npool == poolcap) {
        poolcap = poolcap ? poolcap * 2 : 64;
        pool = dp_realloc(pool, poolcap * sizeof(*pool));
        pool_at = dp_realloc(pool_at, poolcap * sizeof(*pool_at));
    }
    pool_at[npool] = at;
    pool[npool++] = p;
}

/* A new 2 MiB-aligned slab, or NULL. */
static unsigned char *slab_new(void)
{
    size_t len = 2 * SLAB_SIZE, head, tail;
    unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uintptr_t a;

    if (p == MAP_FAILED)
        return NULL;
    a = ((uintptr_t)p + SLAB_SIZE - 1) & ~(uintptr_t)(SLAB_SIZE - 1);
    head = (size_t)(a - (uintptr_t)p);
    tail = len - head - SLAB_SIZE;
    if (head)
        munmap(p, head);
    if (tail)
        munmap((unsigned char *)a + SLAB_SIZE, tail);
#ifdef MADV_HUGEPAGE
    madvise((void *)a, SLAB_SIZE, MADV_HUGEPAGE); /* a hint: refused is fine */
#endif
    return (unsigned char *)a;
}

static unsigned char *chunk_alloc(size_t cap)
{
    unsigned char *p = NULL, *slab;

    if (cap != DP_FLUSH_CHUNK_SIZE)
        return dp_malloc(cap);
    pthread_mutex_lock(&pool_mu);
    if (npool == 0 && (slab = slab_new()) != NULL) {
        for (size_t i = CHUNKS_PER_SLAB; i-- > 0;)
            pool_push(slab + i * DP_FLUSH_CHUNK_SIZE, mono_ms());
    }
    if (npool > 0)
        p = pool[--npool];
    if (ncold > npool)
        ncold = npool;
    pthread_mutex_unlock(&pool_mu);
    /* No slab (mmap refused): a plain allocation, kept in the list too. */
    return p ? p : dp_malloc(cap);
}

/* The chunks idle on the list for POOL_IDLE_MS go back to the kernel (the
 * stack's bottom holds the oldest). */
void dp_flush_give_back(void)
{
    long long old = mono_ms() - POOL_IDLE_MS;

    pthread_mutex_lock(&pool_mu);
    while (ncold < npool && pool_at[ncold] < old) {
#ifdef MADV_NOHUGEPAGE
        /* Else khugepaged (max_ptes_none 511 by default) folds the chunk
         * back into a huge page as soon as one chunk of its slab is in
         * use, and the 2 MiB are resident again. */
        madvise(pool[ncold], DP_FLUSH_CHUNK_SIZE, MADV_NOHUGEPAGE);
#endif
        madvise(pool[ncold], DP_FLUSH_CHUNK_SIZE, MADV_DONTNEED); /* refused: kept */
        ncold++;
    }
    pthread_mutex_unlock(&pool_mu);
    dp_mem_give_back(POOL_IDLE_MS); /* what librdkafka and the flushes freed */
}

static void chunk_free(unsigned char *p, size_t cap)
{
    if (!p)
        return;
    if (cap != DP_FLUSH_CHUNK_SIZE) {
        free(p);
        return;
    }
    pthread_mutex_lock(&pool_mu);
    pool_push(p, mono_ms());
    pthread_mutex_unlock(&pool_mu);
}

/* ------------------------------------------------------------------------- */
/* Life cycle                                                                */
/* ------------------------------------------------------------------------- */

/* Encodes an Avro string of at most max bytes of s into out; returns its length. */
static size_t encode_string(unsigned char *out, const char *s, size_t max)
{
    size_t len = s ? strnlen(s, max) : 0, n = dp_buf_encode_long(out, (int64_t)len);

    memcpy(out + n, s ? s : "", len);
    return n + len;
}

/* The timestamp union ["null", timestamp-micros]: branch 0 (null) for a
 * record without one, else branch 1 and ms * 1000. */
static size_t encode_timestamp(unsigned char *out, int64_t timestamp_ms)
{
    if (timestamp_ms < 0 || timestamp_ms > INT64_MAX / 1000) {
        out[0] = 0;
        return 1;
    }
    out[0] = 2; /* zig-zag 1 */
    return 1 + dp_buf_encode_long(out + 1, timestamp_ms * 1000);
}

dp_flush_t *dp_flush_new(uint64_t seq, int64_t opened_at_us, const char *incarnation,
                         size_t max_bytes)
{
    dp_flush_t *flush = dp_calloc(1, sizeof(*flush));

    flush->seq = seq;
    flush->opened_at = opened_at_us;
    flush->inc_len = encode_string(flush->inc, incarnation, DP_FLUSH_INCARNATION_MAX);
    flush->max_bytes = max_bytes;
    return flush;
}

void dp_flush_drop_records(dp_flush_t *flush)
{
    if (!flush)
        return;
    for (size_t t = 0; t < flush->ntables; t++) {
        table_t *tb = &flush->tables[t];

        for (size_t c = 0; c < tb->nchunks; c++)
            chunk_free(tb->chunks[c].data, tb->chunks[c].cap);
        free(tb->chunks);
        free(tb->idx);
        tb->chunks = NULL;
        tb->idx = NULL;
        tb->nchunks = tb->chunkcap = tb->nidx = tb->idxcap = 0;
    }
    flush->bytes = 0;
}

void dp_flush_destroy(dp_flush_t *flush)
{
    if (!flush)
        return;
    for (size_t t = 0; t < flush->ntables; t++) {
        table_t *tb = &flush->tables[t];

        for (size_t c = 0; c < tb->nchunks; c++)
            chunk_free(tb->chunks[c].data, tb->chunks[c].cap);
        free(tb->chunks);
        free(tb->idx);
    }
    dp_flush_give_back();
    for (size_t p = 0; p < flush->nparts; p++) {
        free(flush->parts[p].topic);
        free(flush->parts[p].prefix);
        free(flush->parts[p].raw);
    }
    free(flush->tables);
    free(flush->parts);
    free(flush);
}

/* ------------------------------------------------------------------------- */
/* Partitions and tables                                                     */
/* ------------------------------------------------------------------------- */

static size_t lookup_part(const dp_flush_t *flush, const char *topic, int32_t partition)
{
    const part_t *p;

    if (flush->last_part < flush->nparts) {
        p = &flush->parts[flush->last_part];
        if (p->partition == partition && strcmp(p->topic, topic) == 0)
            return flush->last_part;
    }
    for (size_t i = 0; i < flush->nparts; i++) {
        p = &flush->parts[i];
        if (p->partition == partition && strcmp(p->topic, topic) == 0)
            return i;
    }
    return SIZE_MAX;
}

/* Finds or adds (topic, partition); SIZE_MAX past MAX_PARTS. */
static size_t find_part(dp_flush_t *flush, const char *topic, int32_t partition)
{
    size_t i = lookup_part(flush, topic, partition);
    part_t *p;

    if (i != SIZE_MAX)
        return flush->last_part = i;
    if (flush->nparts >= MAX_PARTS)
        return SIZE_MAX;
    if (flush->nparts == flush->partcap) {
        flush->partcap = flush->partcap ? flush->partcap * 2 : 16;
        flush->parts = dp_realloc(flush->parts, flush->partcap * sizeof(*flush->parts));
    }
    p = &flush->parts[flush->nparts];
    memset(p, 0, sizeof(*p));
    p->topic = dp_strdup(topic);
    p->topic_len = strlen(topic);
    p->partition = partition;
    p->first = p->last = p->gap_ok = -1;
    /* The lineage's head is the same for every record of the partition. */
    p->prefix = dp_malloc(p->topic_len + 2 * DP_BUF_LONG_MAX_BYTES);
    p->prefix_len = dp_buf_encode_long(p->prefix, (int64_t)p->topic_len);
    memcpy(p->prefix + p->prefix_len, topic, p->topic_len);
    p->prefix_len += p->topic_len;
    p->prefix_len += dp_buf_encode_long(p->prefix + p->prefix_len, partition);
    return flush->last_part = flush->nparts++;
}

static table_t *find_table(dp_flush_t *flush, const char *name, dp_err_t *err)
{
    table_t *t;

    /* The router hands out stable pointers: compare those first. */
    for (size_t i = 0; i < flush->ntables; i++) {
        if (flush->tables[i].hint == name)
            return &flush->tables[i];
    }
    for (size_t i = 0; i < flush->ntables; i++) {
        t = &flush->tables[i];
        if (strcmp(t->name, name) == 0) {
            t->hint = name;
            return t;
        }
    }
    if (strnlen(name, DP_TABLENAME_TABLE_SIZE) >= DP_TABLENAME_TABLE_SIZE) {
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

/* The chunk the next record of at most `need` bytes goes to: the last one
 * when it has room, else a new one (twice the previous size, up to the full
 * size; a record larger than that gets a chunk of its own size). */
static chunk_t *room_for(table_t *t, size_t need)
{
    chunk_t *c = t->nchunks ? &t->chunks[t->nchunks - 1] : NULL;
    size_t cap;

    if (c && c->cap - c->len >= need)
        return c;
    cap = c ? (c->cap < DP_FLUSH_CHUNK_SIZE ? c->cap * 2 : DP_FLUSH_CHUNK_SIZE) : FIRST_CHUNK;
    if (cap > DP_FLUSH_CHUNK_SIZE)
        cap = DP_FLUSH_CHUNK_SIZE;
    while (cap < need && cap < DP_FLUSH_CHUNK_SIZE)
        cap *= 2;
    if (cap < need)
        cap = need;
    if (t->nchunks == t->chunkcap) {
        t->chunkcap = t->chunkcap ? t->chunkcap * 2 : 8;
        t->chunks = dp_realloc(t->chunks, t->chunkcap * sizeof(*t->chunks));
    }
    c = &t->chunks[t->nchunks++];
    c->data = chunk_alloc(cap);
    c->cap = cap;
    c->len = 0;
    c->n = 0;
    return c;
}

/* ------------------------------------------------------------------------- */
/* Records                                                                   */
/* ------------------------------------------------------------------------- */

int dp_flush_put_lineage(dp_buf_t *buf, const char *topic, int32_t partition, int64_t offset,
                         int64_t timestamp_ms, const char *incarnation, dp_err_t *err)
{
    unsigned char tail[LINEAGE_TAIL_MAX + DP_FLUSH_INCARNATION_MAX];
    size_t start = dp_buf_len(buf), n;

    n = dp_buf_encode_long(tail, offset);
    n += encode_timestamp(tail + n, timestamp_ms);
    n += encode_string(tail + n, incarnation, DP_FLUSH_INCARNATION_MAX);
    if (dp_buf_put_bytes(buf, topic, strlen(topic), err) < 0 ||
        dp_buf_put_int(buf, partition, err) < 0 || dp_buf_append(buf, tail, n, err) < 0) {
        dp_buf_truncate(buf, start);
        return DP_ETOOBIG;
    }
    return 0;
}

/* Offsets of a partition within one flush are contiguous unless the broker
 * confirmed the gap. Returns 0, DP_FLUSH_REDELIVERY or DP_FLUSH_GAP. */
static int check_offset(const part_t *p, int64_t offset, dp_err_t *err)
{
    if (p->last < 0 || offset == p->last + 1 || (offset > p->last && offset == p->gap_ok))
        return 0;
    if (offset <= p->last) {
        dp_err_set(err, DP_OK, 0, "flush: %s [%d] @%lld is not above @%lld (redelivered)", p->topic,
                   (int)p->partition, (long long)offset, (long long)p->last);
        return DP_FLUSH_REDELIVERY;
    }
    dp_err_set(err, DP_OK, 0, "flush: %s [%d] @%lld follows @%lld: @%lld..@%lld are missing",
               p->topic, (int)p->partition, (long long)offset, (long long)p->last,
               (long long)p->last + 1, (long long)offset - 1);
    return DP_FLUSH_GAP;
}

int dp_flush_add(dp_flush_t *flush, const char *table, const char *topic, int32_t partition,
                 int64_t offset, int64_t timestamp_ms, const void *body, size_t len, dp_err_t *err)
{
    size_t pi = find_part(flush, topic, partition), need, n;
    part_t *p;
    table_t *t;
    chunk_t *c;
    unsigned char *dst;
    idx_t *e;
    int rc;

    if (pi == SIZE_MAX)
        return dp_err_set(err, DP_EINVAL, 0, "flush: more than %d partitions", MAX_PARTS);
    p = &flush->parts[pi];
    if (p->topic_len > TOPIC_MAX)
        return dp_err_set(err, DP_EINVAL, 0, "flush: topic name of %zu bytes (at most %d)",
                          p->topic_len, TOPIC_MAX);
    if ((rc = check_offset(p, offset, err)) != 0)
        return rc;
    if (!(t = find_table(flush, table, err)))
        return DP_EINVAL;
    need = len + p->prefix_len + LINEAGE_TAIL_MAX + flush->inc_len;
    /* An empty flush takes one record whatever its size: a message larger
     * than the cap would otherwise never be loaded. */
    if (len > UINT32_MAX - 2 * DP_FLUSH_CHUNK_SIZE ||
        (flush->rows > 0 && flush->bytes + need + sizeof(idx_t) > flush->max_bytes)) {
        flush->full = 1;
        return dp_err_set(err, DP_ETOOBIG, 1, "flush: byte cap of %zu reached", flush->max_bytes);
    }
    if (t->nidx == t->idxcap) {
        t->idxcap = t->idxcap ? t->idxcap * 2 : 256;
        t->idx = dp_realloc(t->idx, t->idxcap * sizeof(*t->idx));
    }
    c = room_for(t, need);
    dst = c->data + c->len;
    if (len)
        memcpy(dst, body, len);
    memcpy(dst + len, p->prefix, p->prefix_len);
    n = len + p->prefix_len;
    n += dp_buf_encode_long(dst + n, offset);
    n += encode_timestamp(dst + n, timestamp_ms);
    if (timestamp_ms >= 0 && timestamp_ms <= INT64_MAX / 1000) {
        int64_t us = timestamp_ms * 1000;

        if (p->ts_max == 0 || us < p->ts_min)
            p->ts_min = us;
        if (us > p->ts_max)
            p->ts_max = us;
    }
    memcpy(dst + n, flush->inc, flush->inc_len);
    n += flush->inc_len;
    c->len += n;
    c->n++;
    e = &t->idx[t->nidx++];
    e->body_len = (uint32_t)len;
    e->lin_len = (uint16_t)(n - len);
    e->part = (uint16_t)pi;
    t->rows++;
    flush->rows++;
    flush->bytes += n + sizeof(idx_t);
    if (p->first < 0)
        p->first = offset;
    p->last = offset;
    p->gap_ok = -1;
    return 0;
}

int64_t dp_flush_last(const dp_flush_t *flush, const char *topic, int32_t partition)
{
    size_t i = lookup_part(flush, topic, partition);

    return i == SIZE_MAX ? -1 : flush->parts[i].last;
}

void dp_flush_allow_gap(dp_flush_t *flush, const char *topic, int32_t partition, int64_t next)
{
    size_t i = find_part(flush, topic, partition);

    if (i != SIZE_MAX)
        flush->parts[i].gap_ok = next;
}

/* Removes the records of partition pi from table t, compacting its chunks
 * and its index in place. */
static void drop_from_table(dp_flush_t *flush, table_t *t, size_t pi)
{
    size_t r = 0, w = 0;

    for (size_t ci = 0; ci < t->nchunks; ci++) {
        chunk_t *c = &t->chunks[ci];
        size_t rd = 0, wr = 0;
        int64_t kept = 0;

        for (int64_t k = 0; k < c->n; k++, r++) {
            idx_t e = t->idx[r];
            size_t size = (size_t)e.body_len + e.lin_len;

            if (e.part == pi) {
                flush->bytes -= size + sizeof(idx_t);
                flush->rows--;
                t->rows--;
            } else {
                if (wr != rd)
                    memmove(c->data + wr, c->data + rd, size);
                wr += size;
                t->idx[w++] = e;
                kept++;
            }
            rd += size;
        }
        c->len = wr;
        c->n = kept;
    }
    t->nidx = w;
}

void dp_flush_drop_partition(dp_flush_t *flush, const char *topic, int32_t partition)
{
    size_t pi = lookup_part(flush, topic, partition);
    part_t *p;

    if (pi == SIZE_MAX)
        return;
    p = &flush->parts[pi];
    if (p->first >= 0) {
        for (size_t ti = 0; ti < flush->ntables; ti++)
            drop_from_table(flush, &flush->tables[ti], pi);
    }
    p->first = p->last = p->gap_ok = -1;
    p->ts_min = p->ts_max = 0;
    p->has_raw = 0;
}

/* ------------------------------------------------------------------------- */
/* Fingerprints                                                              */
/* ------------------------------------------------------------------------- */

uint32_t dp_flush_fingerprint(const void *key, size_t key_len, const void *value, size_t value_len)
{
    unsigned char lens[8];
    uint32_t crc, kl = (uint32_t)key_len, vl = (uint32_t)value_len;

    for (int i = 0; i < 4; i++) {
        lens[i] = (unsigned char)(kl >> (8 * i));
        lens[4 + i] = (unsigned char)(vl >> (8 * i));
    }
    /* libdeflate's CRC-32 is zlib's crc32(), computed a few times faster. */
    crc = libdeflate_crc32(0, lens, sizeof(lens));
    if (key && kl)
        crc = libdeflate_crc32(crc, key, kl);
    if (value && vl)
        crc = libdeflate_crc32(crc, value, vl);
    return crc;
}

void dp_flush_set_last_message(dp_flush_t *flush, const void *key, size_t key_len,
                               const void *value, size_t value_len)
{
    part_t *p;
    size_t need;

    if (flush->last_part >= flush->nparts)
        return;
    p = &flush->parts[flush->last_part];
    if (!key)
        key_len = 0;
    if (!value)
        value_len = 0;
    need = key_len + value_len;
    if (need > p->raw_cap) {
        p->raw_cap = need < 1024 ? 1024 : need;
        free(p->raw);
        p->raw = dp_malloc(p->raw_cap);
    }
    if (key_len)
        memcpy(p->raw, key, key_len);
    if (value_len)
        memcpy(p->raw + key_len, value, value_len);
    p->key_len = key_len;
    p->raw_len = need;
    p->has_raw = 1;
}

uint32_t dp_flush_range_fp(const dp_flush_t *flush, size_t i)
{
    const part_t *p;

    if (i >= flush->nparts || !flush->parts[i].has_raw)
        return 0;
    p = &flush->parts[i];
    return dp_flush_fingerprint(p->raw, p->key_len, p->raw + p->key_len, p->raw_len - p->key_len);
}

/* ------------------------------------------------------------------------- */
/* Accessors                                                                 */
/* ------------------------------------------------------------------------- */

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

int64_t dp_flush_opened_at(const dp_flush_t *flush)
{
    return flush->opened_at;
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
    size_t i = lookup_part(flush, topic, partition);

    if (i != SIZE_MAX)
        flush->parts[i].epoch = epoch;
}

int64_t dp_flush_range_epoch(const dp_flush_t *flush, size_t i)
{
    return i < flush->nparts ? flush->parts[i].epoch : 0;
}

int dp_flush_range_ts(const dp_flush_t *flush, size_t i, int64_t *ts_min, int64_t *ts_max)
{
    *ts_min = *ts_max = 0;
    if (i >= flush->nparts || flush->parts[i].first < 0 || flush->parts[i].ts_max == 0)
        return -1;
    *ts_min = flush->parts[i].ts_min;
    *ts_max = flush->parts[i].ts_max;
    return 0;
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
    for (size_t c = 0; c < t->nchunks; c++) {
        if (t->chunks[c].n > 0)
            visit(ctx, t->chunks[c].data, t->chunks[c].len, t->chunks[c].n);
    }
}

int dp_flush_table_each(const dp_flush_t *flush, size_t i,
                        int (*visit)(void *ctx, const dp_flush_record_t *rec), void *ctx)
{
    const table_t *t;
    size_t r = 0;

    if (i >= flush->ntables)
        return 0;
    t = &flush->tables[i];
    for (size_t ci = 0; ci < t->nchunks; ci++) {
        const chunk_t *c = &t->chunks[ci];
        size_t at = 0;

        for (int64_t k = 0; k < c->n; k++, r++) {
            const idx_t *e;
            const part_t *p;
            dp_flush_record_t rec;
            size_t used;
            int rc;

            if (r >= t->nidx || t->idx[r].part >= flush->nparts)
                return DP_EFAIL;
            e = &t->idx[r];
            p = &flush->parts[e->part];
            if (p->prefix_len > e->lin_len || (size_t)e->body_len + e->lin_len > c->len - at)
                return DP_EFAIL;
            rec.body = c->data + at;
            rec.body_len = e->body_len;
            rec.lineage = c->data + at + e->body_len;
            rec.lineage_len = e->lin_len;
            rec.topic = p->topic;
            rec.topic_len = p->topic_len;
            rec.partition = p->partition;
            if (dp_buf_read_long((const unsigned char *)rec.lineage + p->prefix_len,
                                 e->lin_len - p->prefix_len, &rec.offset, &used, NULL) < 0)
                return DP_EFAIL;
            if ((rc = visit(ctx, &rec)) < 0)
                return rc;
            at += (size_t)e->body_len + e->lin_len;
        }
    }
    return 0;
}
