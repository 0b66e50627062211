/*
 * partitions: the partitions a worker owns, with what it knows of each:
 * whether its claim is taken (claims.h; until then it is held paused and
 * its messages are dropped), its claim epoch, where it starts, and the
 * checks its first messages pass after a start or a seek:
 *
 *   - the message before the start must be the one that was loaded there
 *     (its fingerprint, dp_kafka_fingerprint): another message means the
 *     topic was deleted and recreated (or its log replaced), and the
 *     partition stops for good instead of being read;
 *   - messages below the offset a seek went to are dropped (librdkafka
 *     delivers what it fetched before the seek took effect).
 *
 * Thread: the poll thread.
 */
#ifndef DP_PARTITIONS_H
#define DP_PARTITIONS_H

#include "batch/flush.h"
#include "core/err.h"
#include "kafka/kafka.h"

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dp_part {
    char *topic; /* owned */
    int32_t partition;
    uint64_t gen;       /* changes at every assignment of the partition */
    int claimed;        /* 0: its claim is being taken: held, messages dropped */
    int64_t epoch;      /* the claim's epoch */
    int64_t start;      /* where consumption began (after the claim) */
    int64_t expect;     /* -1, or: drop its messages below this offset */
    int64_t verify_off; /* -1, or the offset whose message must match verify_fp */
    uint32_t verify_fp;
    int stopped;        /* the log does not hold what was loaded: held, never read */
    int range_error;    /* the broker answered "offset out of range" */
    int64_t gap_from;   /* -1, or: offsets from here were missing in the flush; to be
                         * read again from here (dp_parts_seek_gaps) */
    int64_t gap_to;     /* the offset that came after them */
    int64_t gap_verify; /* -1, or: after that seek, the first message at or below this
                         * tells a gap of the log from skipped messages */
} dp_part_t;

typedef struct dp_parts {
    dp_part_t *items;
    size_t n, cap;
    uint64_t next_gen;
    size_t guarded; /* parts with a check pending (not claimed, stopped, verify, expect) */
} dp_parts_t;

void dp_parts_init(dp_parts_t *ps);
void dp_parts_free(dp_parts_t *ps);

/* The part of (topic, partition), or NULL. */
dp_part_t *dp_parts_find(dp_parts_t *ps, const char *topic, int32_t partition);

/* Adds (or resets) (topic, partition) as assigned and not claimed, with a
 * new gen. Returns it (valid until the next add or remove). */
dp_part_t *dp_parts_add(dp_parts_t *ps, const char *topic, int32_t partition);

void dp_parts_remove(dp_parts_t *ps, const char *topic, int32_t partition);

/* Recounts the parts with a pending check (after fields were changed). */
void dp_parts_recount(dp_parts_t *ps);

/* The claim of p arrived: it starts at start (an offset or a logical one)
 * with epoch; anchor (>= 0) is the fingerprint of the message at start - 1 as
 * loaded, which is then read and checked first. Seeks and releases the
 * partition. Returns 0 or DP_EFAIL (the seek failed: the caller must not
 * consume the partition). */
int dp_parts_start(dp_parts_t *ps, dp_part_t *p, dp_kafka_t *kafka, int64_t start, int64_t epoch,
                   int64_t anchor, dp_err_t *err);

/* Moves p back to offset (a fenced flush is read again): seeks, and drops
 * what arrives below it. Returns 0 or DP_EFAIL. */
int dp_parts_rewind(dp_parts_t *ps, dp_part_t *p, dp_kafka_t *kafka, int64_t offset, dp_err_t *err);

/* Whether msg of topic is consumed (0) or dropped (1): a part not claimed
 * or stopped or waiting to be read again over a gap, a message below a seek,
 * or the checked message before a start (dropped after the check; a mismatch
 * stops the partition). DP_PARTS_GAP_ACCEPTED (consume) when msg is the one
 * after a gap that reading again confirmed: the log has no offsets there
 * (compaction, transaction markers), and the caller lets the flush accept it. */
#define DP_PARTS_GAP_ACCEPTED 2
int dp_parts_drop(dp_parts_t *ps, dp_kafka_t *kafka, const char *topic,
                  const rd_kafka_message_t *msg);

/* The flush refused msg because offsets are missing before it: either the
 * consumer skipped them or the log has none there. p is read again from
 * last + 1 (the flush's last offset of it) by dp_parts_seek_gaps, and its
 * messages are dropped until then. */
void dp_parts_gap(dp_parts_t *ps, dp_part_t *p, int64_t last, int64_t next);

/* Seeks every part with a gap pending back to its first missing offset; a
 * part whose seek fails stops. parts_out (may be NULL) receives the parts
 * sought (their held messages arrive again). */
void dp_parts_seek_gaps(dp_parts_t *ps, dp_kafka_t *kafka,
                        rd_kafka_topic_partition_list_t *parts_out);

/* Stops p: held, never read again by this worker (the reason is logged by
 * the caller). */
void dp_parts_stop(dp_parts_t *ps, dp_part_t *p, dp_kafka_t *kafka);

/* Stops the partition of msg (of topic; added, claimed, when not known) and
 * logs why: reading on would skip offsets, or the flush refused msg for a
 * reason other than its size or a redelivery. Nothing from msg on is
 * committed; it is read again after a restart. */
void dp_parts_stop_at(dp_parts_t *ps, dp_kafka_t *kafka, const char *topic,
                      const rd_kafka_message_t *msg, const char *why);

/* The broker answered "offset out of range" for (topic, partition): marked
 * for dp_assign_range_errors (assign.h). Unknown partitions are ignored. */
void dp_parts_range_error(dp_parts_t *ps, const char *topic, int32_t partition);

/* Stamps each range of flush with its partition's claim epoch, before the
 * flush goes to the loader (which fences a flush whose claim a newer one
 * superseded, claims.h). */
void dp_parts_stamp_epochs(dp_parts_t *ps, dp_flush_t *flush);

/* The loader fenced flush (a newer claim on one of its partitions never saw
 * its manifest): each of its partitions this worker still owns under the
 * same claim is read again from the flush's first offset, and added to again
 * (the caller drops what it buffered or holds of them); a partition claimed
 * since already starts where its claim's recovery put it. Returns 0, or
 * DP_EFAIL with err when a seek failed (the poll loop must stop: the
 * partition would skip the flush's offsets; the next owner reads them). */
int dp_parts_rewind_fenced(dp_parts_t *ps, dp_kafka_t *kafka, const dp_flush_t *flush,
                           rd_kafka_topic_partition_list_t *again, dp_err_t *err);

#endif
