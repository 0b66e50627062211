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

#include "err.h"
#include "kafka.h"

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dp_part {
    char *topic;         /* owned */
    int32_t partition;
    uint64_t gen;        /* changes at every assignment of the partition */
    int claimed;         /* 0: its claim is being taken: held, messages dropped */
    int64_t epoch;       /* the claim's epoch */
    int64_t start;       /* where consumption began (after the claim) */
    int64_t expect;      /* -1, or: drop its messages below this offset */
    int64_t verify_off;  /* -1, or the offset whose message must match verify_fp */
    uint32_t verify_fp;
    int stopped;         /* the log does not hold what was loaded: held, never read */
    int range_error;     /* the broker answered "offset out of range" */
} dp_part_t;

typedef struct dp_parts {
    dp_part_t *items;
    size_t n, cap;
    uint64_t next_gen;
    size_t guarded;      /* parts with a check pending (not claimed, stopped, verify, expect) */
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
int dp_parts_rewind(dp_parts_t *ps, dp_part_t *p, dp_kafka_t *kafka, int64_t offset,
                    dp_err_t *err);

/* Whether msg of topic is consumed (0) or dropped (1): a part not claimed
 * or stopped, a message below a seek, or the checked message before a start
 * (dropped after the check; a mismatch stops the partition). */
int dp_parts_drop(dp_parts_t *ps, dp_kafka_t *kafka, const char *topic,
                  const rd_kafka_message_t *msg);

#endif
