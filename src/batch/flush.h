/*
 * flush: one batch of the worker, from the first event to its load.
 *
 * A flush holds, per destination table, the staged Avro records (canonical
 * body copied unchanged, followed by the lineage fields: _kafka_topic
 * string, _kafka_partition int, _kafka_offset long, _kafka_timestamp
 * ["null", timestamp-micros] (the record's Kafka timestamp, ms * 1000, null
 * when it has none) and _incarnation string (the pool's incarnation,
 * claims.h)) of every message consumed since the previous flush, and per
 * partition the offset range it covers. (_incarnation, _kafka_topic,
 * _kafka_partition, _kafka_offset) is unique per record, even across a
 * recreated topic. The table's _loaded_at column is no record field: the
 * COPY INTO sets it to the load time (ddl.h).
 * Every consumed message becomes exactly one record: in its destination table
 * or in event_errors. So a loaded flush lets the worker commit `last + 1` for
 * each of its partitions.
 *
 * Offsets: within a flush a partition's offsets are contiguous. An offset
 * below or at the partition's last one is a redelivery (DP_FLUSH_REDELIVERY);
 * one that leaves a gap is refused (DP_FLUSH_GAP) until the caller has asked
 * the broker and confirmed the gap (dp_flush_allow_gap(): compaction,
 * transaction markers). So a consumer that skipped offsets can never have
 * them committed past unseen.
 *
 * Storage: each table's records are appended, back to back, to chunks of up
 * to DP_FLUSH_CHUNK_SIZE bytes (a table's first chunks are smaller, so that
 * thousands of small tables stay small); a record never spans two chunks,
 * so every chunk is a run of complete Avro records that the container writer
 * compresses as it is. Full-size chunks are cut from 2 MiB slabs that the
 * kernel may back with transparent huge pages, and recycled through a
 * process-wide free list: a worker stops allocating and page-faulting once
 * warm. Free chunks beyond what the last destroyed flush used are given back
 * to the kernel, so the memory follows the flushes' size. A per-table index (8 bytes per record)
 * lets a revoked partition's records be dropped from an open flush (they were never loaded; the
 * next owner reads them again) and rejected rows be walked.
 *
 * Memory: the records and their index draw on the flush's byte cap;
 * dp_flush_add() returns DP_ETOOBIG past it (the flush is then full: the
 * worker cuts it, or pauses its partitions while the previous flush loads).
 * A flush never holds more than its cap, except a flush of one record larger
 * than the cap (an empty flush takes any record, so that no message is
 * stuck). Not counted: up to one partly filled chunk per table, and a copy of
 * each partition's last message (its fingerprint).
 *
 * Thread: the poll thread fills a flush; once cut it belongs to the loader
 * thread, which only reads it. The chunk free list is shared under a mutex.
 */
#ifndef DP_FLUSH_H
#define DP_FLUSH_H

#include "core/buf.h"
#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

typedef struct dp_flush dp_flush_t;

/* Largest chunk of records (see Storage above). */
#define DP_FLUSH_CHUNK_SIZE ((size_t)256 * 1024)

/* What dp_flush_add() returns when the offset is not above the partition's
 * last offset in this flush: a redelivery (after a seek), nothing added. It
 * is the only answer a caller may treat as "already held". */
#define DP_FLUSH_REDELIVERY 1
/* What dp_flush_add() returns when the offset is above the partition's last
 * offset + 1 (and not a gap allowed by dp_flush_allow_gap()): offsets are
 * missing in between, nothing added; err names them. */
#define DP_FLUSH_GAP 2

/* Creates an empty flush, opened at opened_at_us (wall clock), whose records
 * carry incarnation (copied; at most DP_FLUSH_INCARNATION_MAX bytes, longer
 * is cut) and whose buffers may hold at most max_bytes in all (see Memory
 * above). Returns new (dp_flush_destroy). */
dp_flush_t *dp_flush_new(uint64_t seq, int64_t opened_at_us, const char *incarnation,
                         size_t max_bytes);

/* Longest incarnation a flush records. */
#define DP_FLUSH_INCARNATION_MAX 64

/* Frees the flush; its full-size chunks go back to the free list. NULL is a
 * no-op. Thread: any (one thread at a time per flush). */
void dp_flush_destroy(dp_flush_t *flush);

/* Frees the records of a loaded flush (their chunks go back to the free
 * list) and keeps what names it: sequence, ranges, tables and their row
 * counts. A committed flush waits for retirement (its manifest and files
 * deleted) until no flush loads, which can be a whole slow load: its records
 * are not needed for that. dp_flush_bytes() is 0 afterwards; the records
 * must not be read again. Thread: the flush's owner. */
void dp_flush_drop_records(dp_flush_t *flush);

/* Gives back to the kernel the free chunks left unused for 10 s, and trims
 * the malloc arenas at the same pace (dp_mem_give_back): after a burst, the
 * memory returns to what the flushes of the last seconds needed. Called at
 * every flush destroyed and by the poll thread's housekeeping (a worker that
 * went idle). Thread: any. */
void dp_flush_give_back(void);

/* Appends one record: body (an Avro record body of the table's schema, copied)
 * followed by the lineage of (topic, partition, offset, timestamp_ms: the
 * Kafka timestamp in ms, negative when the record has none). table is
 * copied.
 * Returns 0, DP_FLUSH_REDELIVERY or DP_FLUSH_GAP (see above; err says which
 * offsets), DP_ETOOBIG (byte cap reached; nothing was added) or DP_EINVAL
 * (table is not a table name of at most DP_TABLENAME_TABLE_MAX bytes, or more
 * than 65535 partitions: nothing added, and the message must not be taken as
 * handled). Allocates nothing per record once the flush's chunks, index and
 * partitions exist. */
int dp_flush_add(dp_flush_t *flush, const char *table, const char *topic, int32_t partition,
                 int64_t offset, int64_t timestamp_ms, const void *body, size_t len, dp_err_t *err);

/* The last offset of (topic, partition) in this flush, or -1. */
int64_t dp_flush_last(const dp_flush_t *flush, const char *topic, int32_t partition);

/* The broker confirmed that after the partition's last offset the next one
 * is `next` (the offsets between do not exist for a consumer: compaction,
 * transaction markers): the next add of (topic, partition) may be at `next`. */
void dp_flush_allow_gap(dp_flush_t *flush, const char *topic, int32_t partition, int64_t next);

/* Drops every record of (topic, partition) and its range. */
void dp_flush_drop_partition(dp_flush_t *flush, const char *topic, int32_t partition);

/* Sequence number given at creation. */
uint64_t dp_flush_seq(const dp_flush_t *flush);
/* Records in all tables; bytes buffered; the largest table's record count. */
int64_t dp_flush_rows(const dp_flush_t *flush);
size_t dp_flush_bytes(const dp_flush_t *flush);
int64_t dp_flush_max_table_rows(const dp_flush_t *flush);
/* When the flush opened (wall clock, micros; the manifest pins it). */
int64_t dp_flush_opened_at(const dp_flush_t *flush);

/* Partitions covered (those with at least one record). */
size_t dp_flush_nranges(const dp_flush_t *flush);
/* The i-th range: borrowed topic, partition, first and last offset. Returns 0,
 * or -1 when i is out of range or the partition holds no record. */
int dp_flush_range(const dp_flush_t *flush, size_t i, const char **topic, int32_t *partition,
                   int64_t *first, int64_t *last);

/* The claim epoch of every range of (topic, partition) (claims.h), set by
 * the poll thread when it cuts the flush; and the i-th range's (0 when not
 * set). */
void dp_flush_set_epoch(dp_flush_t *flush, const char *topic, int32_t partition, int64_t epoch);
int64_t dp_flush_range_epoch(const dp_flush_t *flush, size_t i);

/* The smallest and largest Kafka timestamp (microseconds: ms * 1000) of the
 * i-th range's records, kept as they are added. Kafka's timestamps are not
 * monotonic within a partition, so these bound the range's records, not its
 * ends. The manifest and the ledger carry them: the index that `deltaport
 * replay` finds a time window's offsets with. Returns 0, or -1 (both 0) when
 * i is out of range or no record of the range had a timestamp. */
int dp_flush_range_ts(const dp_flush_t *flush, size_t i, int64_t *ts_min, int64_t *ts_max);

/* The fingerprint of a Kafka message: CRC-32 (zlib's crc32()) of its key length and
 * value length (4 bytes each, little-endian), its key and its value. Stored
 * with what was loaded, so that a later owner can tell the log it reads is
 * the one that was loaded. Thread: any. */
uint32_t dp_flush_fingerprint(const void *key, size_t key_len, const void *value, size_t value_len);

/* Keeps a copy of the key and value of the message just added by
 * dp_flush_add (its partition's last offset), replacing the previous one of
 * that partition: only the last message of each partition is fingerprinted,
 * when the fingerprint is asked for (a copy is much cheaper than a CRC of
 * every message). */
void dp_flush_set_last_message(dp_flush_t *flush, const void *key, size_t key_len,
                               const void *value, size_t value_len);
/* The fingerprint of the i-th range's last message (0 when not kept).
 * Thread: any (reads only). */
uint32_t dp_flush_range_fp(const dp_flush_t *flush, size_t i);

/* Set by the loader when it refused to load the flush because a newer claim
 * on one of its partitions never saw its manifest (claims.h): the worker
 * must not commit it and reads its still-owned partitions again. */
void dp_flush_set_fenced(dp_flush_t *flush, int fenced);
int dp_flush_fenced(const dp_flush_t *flush);

/* 1 once an add was refused for the byte cap: the flush is as full as it
 * gets and is due. */
int dp_flush_full(const dp_flush_t *flush);

/* Tables with at least one record. */
size_t dp_flush_ntables(const dp_flush_t *flush);
/* Name (borrowed) and record count of the i-th table, or NULL. */
const char *dp_flush_table(const dp_flush_t *flush, size_t i, int64_t *rows);

/* Visits the records of table i, one call per chunk that has records, in
 * arrival order: data is borrowed, n the number of complete records (body +
 * lineage each) in data[0..len). */
void dp_flush_table_records(const dp_flush_t *flush, size_t i,
                            void (*visit)(void *ctx, const void *data, size_t len, int64_t n),
                            void *ctx);

/* Appends the encoded lineage fields (see above) to buf: what follows a body
 * in a staged record. Returns 0 or DP_ETOOBIG (buf unchanged). Thread: any. */
int dp_flush_put_lineage(dp_buf_t *buf, const char *topic, int32_t partition, int64_t offset,
                         int64_t timestamp_ms, const char *incarnation, dp_err_t *err);

/* One record of a table, as dp_flush_table_each() gives it (all borrowed). */
typedef struct dp_flush_record {
    const void *body; /* the table's record body, without lineage */
    size_t body_len;
    const void *lineage; /* the encoded lineage fields that follow the body */
    size_t lineage_len;
    const char *topic; /* not NUL-terminated */
    size_t topic_len;
    int32_t partition;
    int64_t offset;
} dp_flush_record_t;

/* Visits every record of table i (the loader turns the rows of a table that
 * Databricks refused into event_errors rows). Stops at the first negative
 * return of visit and returns it; DP_EFAIL when a buffer is malformed. */
int dp_flush_table_each(const dp_flush_t *flush, size_t i,
                        int (*visit)(void *ctx, const dp_flush_record_t *rec), void *ctx);

#endif
