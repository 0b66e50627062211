/*
 * kstats: the Kafka side of the metrics, fed from the poll thread.
 *
 * - Counts consumed messages and bytes (batched: the atomics of metrics.h are
 *   touched every 64 messages or when a poll comes back empty).
 * - Beats the poll thread's heartbeat (health.h).
 * - Once a second, for the current assignment only: the committed-offset lag
 *   (high watermark - committed offset) and the fetch lag (high watermark -
 *   fetch position), the assigned and the paused partition counts. High
 *   watermarks and positions come from librdkafka's local state
 *   (rd_kafka_get_watermark_offsets, rd_kafka_position): no broker request is
 *   made on the poll thread. Committed offsets are those the worker read at
 *   assignment and committed since (dp_kstats_committed), so no
 *   rd_kafka_committed() round trip either. A partition that has no
 *   committed offset counts from its low watermark.
 *
 * Caveat: a paused partition does not fetch, so its high watermark (and both
 * lags) stay at their last fetched values until it resumes.
 *
 * Thread: the poll thread only (one consumer per process).
 */
#ifndef DP_KSTATS_H
#define DP_KSTATS_H

#include <librdkafka/rdkafka.h>

/* Records the committed offsets in parts (.offset = next offset to read;
 * negative = none). Called at assignment and after each successful commit. */
void dp_kstats_committed(const rd_kafka_topic_partition_list_t *parts);

/* Called on every consumer poll with what it returned (msg may be NULL or an
 * error event). paused_all says every partition is paused by the worker;
 * errored (may be NULL) lists partitions paused because they failed. */
void dp_kstats_on_poll(rd_kafka_t *rk, const rd_kafka_message_t *msg, int paused_all,
                       const rd_kafka_topic_partition_list_t *errored);

/* Forgets the committed offsets and counters not yet published (tests and
 * consumer teardown). */
void dp_kstats_reset(void);

#endif
