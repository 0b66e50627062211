/*
 * assign: a partition from its assignment to its first read. The rebalance
 * callback only registers newly assigned partitions (held, their messages
 * dropped) and asks the recovery thread to claim them (recover.h); when the
 * claims are back, each partition is sought to where its claim put it. A
 * partition the broker answers "offset out of range" for is placed against
 * its log's ends by the one rule of dp_recover_place_start().
 *
 * Thread: the poll thread.
 */
#ifndef DP_ASSIGN_H
#define DP_ASSIGN_H

#include "core/err.h"
#include "kafka/kafka.h"
#include "kafka/offsets.h"
#include "kafka/partitions.h"
#include "load/recover.h"

#include <librdkafka/rdkafka.h>

/* Registers the partitions of list (the assignment's starts: committed
 * offsets, or BEGINNING/END) in parts, unclaimed, and submits them to
 * recover. Runs inside the rebalance callback: never waits on Databricks. */
void dp_assign_request(dp_parts_t *parts, dp_recover_t *recover,
                       const rd_kafka_topic_partition_list_t *list);

/* Applies the claims recover finished: each partition still assigned under
 * the same generation starts at its claimed start (and is added to started:
 * the caller drops what it buffered or holds of it); a start recovery moved
 * is recorded in offsets; a claim superseded by another worker's is asked
 * again. Partitions still waiting are held paused. Returns 0, or DP_EFAIL
 * with err when a partition could not be sought (the poll loop must stop:
 * reading on would skip offsets). */
int dp_assign_apply(dp_parts_t *parts, dp_recover_t *recover, dp_kafka_t *kafka,
                    dp_offsets_t *offsets, rd_kafka_topic_partition_list_t *started, dp_err_t *err);

/* Handles the claimed partitions the broker answered "offset out of range"
 * for (dp_part_t.range_error): the message before the start gone (read on
 * unchecked), the start gone (a recorded gap, or a stop), or the start past
 * the end (a stop). Returns 0, or DP_EFAIL with err (a restart failed). */
int dp_assign_range_errors(dp_parts_t *parts, dp_recover_t *recover, dp_kafka_t *kafka,
                           dp_err_t *err);

/* Once per housekeeping pass: dp_assign_apply, then (when it succeeded)
 * dp_assign_range_errors, then every gap pending is sought
 * (dp_parts_seek_gaps). started receives every partition that starts again
 * (the caller drops what it buffered or holds of them). Returns 0, or
 * DP_EFAIL with err (the poll loop must stop). */
int dp_assign_restart(dp_parts_t *parts, dp_recover_t *recover, dp_kafka_t *kafka,
                      dp_offsets_t *offsets, rd_kafka_topic_partition_list_t *started,
                      dp_err_t *err);

/* The partitions of list were revoked or lost: forgotten by recover (its
 * claims of them are dropped; recover may be NULL) and removed from parts.
 * What was buffered or held of them is the caller's to drop first. */
void dp_assign_revoke(dp_parts_t *parts, dp_recover_t *recover,
                      const rd_kafka_topic_partition_list_t *list);

#endif
