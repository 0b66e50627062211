/*
 * offsets: the commit policy of one worker. Offsets are committed only
 * through here, only forward, only for partitions the worker owns, and only
 * after the load that covers them succeeded:
 *   - a loaded flush commits last + 1 of each of its ranges whose partition
 *     is still assigned, with the metadata "fp=<last>:<fingerprint>" (the
 *     consumer adds the incarnation, kafka.h);
 *   - a start that recovery moved (past the ledger or a finished flush) is
 *     committed as soon as the group accepts it, and dropped once a flush
 *     commits past it.
 * A commit the group refuses while it rebalances is retried after polling
 * (the brokers answer REBALANCE_IN_PROGRESS until this member took part in
 * the rebalance): the loaded flush waits here meanwhile, and no other flush
 * is cut. A flush is retired (its manifest and files deleted) only when it
 * was committed whole; otherwise its manifest stays for the partitions' new
 * owners, who finish the flush (a no-op) instead of cutting its offsets
 * again.
 *
 * Thread: the poll thread.
 */
#ifndef DP_OFFSETS_H
#define DP_OFFSETS_H

#include "batch/flush.h"
#include "core/retry.h"
#include "kafka/kafka.h"
#include "kafka/partitions.h"

#include <librdkafka/rdkafka.h>

#include <stdint.h>

typedef struct dp_offsets {
    dp_kafka_t *kafka;                       /* borrowed */
    dp_retry_t *retry;                       /* owned: waits between commit attempts */
    rd_kafka_topic_partition_list_t *starts; /* moved starts whose commit failed, or NULL */
    dp_flush_t *loaded;                      /* owned: loaded, its commit postponed, or NULL */
    uint64_t postponed;                      /* seq of the flush whose postponement was logged */
    uint64_t committed;                      /* messages committed so far */
} dp_offsets_t;

void dp_offsets_init(dp_offsets_t *o, dp_kafka_t *kafka);
void dp_offsets_free(dp_offsets_t *o);

/* Commits a loaded flush (taken: owned here until it is returned). Returns
 * the flush once done with it (the caller owns it again and retires it),
 * with *whole = 1 when every range was committed and 0 when its manifest
 * must stay (a partition is no longer ours, or the group refused the commit
 * for good); or NULL when the commit was postponed (dp_offsets_waiting). */
dp_flush_t *dp_offsets_commit_loaded(dp_offsets_t *o, dp_flush_t *flush, int attempts, int *whole);

/* Commits the postponed flush again, as dp_offsets_commit_loaded; NULL as
 * well when none waits. */
dp_flush_t *dp_offsets_retry_loaded(dp_offsets_t *o, int attempts, int *whole);

/* 1 while a loaded flush waits for its commit. */
int dp_offsets_waiting(const dp_offsets_t *o);

/* Records a moved start to commit (replacing an older one). */
void dp_offsets_add_start(dp_offsets_t *o, const char *topic, int32_t partition, int64_t offset);

/* Commits the recorded starts of the partitions still in parts; forgets
 * them when the commit succeeds. */
void dp_offsets_commit_starts(dp_offsets_t *o, dp_parts_t *parts);

/* 1 while recorded starts wait for their commit. */
int dp_offsets_starts_pending(const dp_offsets_t *o);

#endif
