/*
 * kafka: the worker's librdkafka consumer.
 *
 * Owns the rd_kafka_t of one worker: the consumer group membership, the
 * rebalance callback, pause/resume bookkeeping and synchronous commits of
 * explicit offsets. deltaport owns these librdkafka settings and sets them
 * here, never from user configuration: enable.auto.commit=false,
 * enable.auto.offset.store=false, auto.offset.reset=error (every reset is an
 * explicit decision: a partition without a committed offset starts at the
 * configured initial position; any other out-of-range position is reported
 * through on_partition_error and that partition is paused, never silently
 * reset), group.id, partition.assignment.strategy=cooperative-sticky and the
 * rebalance callback.
 *
 * Invariant: offsets are committed only through dp_kafka_commit(), which the
 * worker calls after the load that covers them succeeded.
 *
 * Thread: every function runs on the poll thread (the thread that calls
 * dp_kafka_poll), except where a function says "any".
 */
#ifndef DP_KAFKA_H
#define DP_KAFKA_H

#include "core/err.h"

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dp_kafka dp_kafka_t;

typedef struct dp_kafka_hooks {
    void *opaque;
    /* Partitions are being assigned. Each element's .offset is the start
     * position (the committed offset, or RD_KAFKA_OFFSET_BEGINNING/END from
     * initial_position); the hook may change it. Runs inside dp_kafka_poll. */
    void (*on_assign)(void *opaque, rd_kafka_topic_partition_list_t *parts);
    /* Partitions are being revoked (lost = 1 when involuntary: the group moved
     * on without us, so committing them is not allowed). The hook finishes or
     * abandons the work of those partitions before it returns; it may call
     * dp_kafka_commit() for them when !lost. Runs inside dp_kafka_poll. */
    void (*on_revoke)(void *opaque, const rd_kafka_topic_partition_list_t *parts, int lost);
    /* A partition cannot be consumed (offset out of range, topic error); the
     * partition has been paused. Runs inside dp_kafka_poll. */
    void (*on_partition_error)(void *opaque, const char *topic, int32_t partition,
                               rd_kafka_resp_err_t code, const char *reason);
} dp_kafka_hooks_t;

/* Callback that applies the user's librdkafka properties (the `kafka` config
 * object) to conf; returns 0 or a DP_E* code with err filled. */
typedef int (*dp_kafka_apply_fn)(rd_kafka_conf_t *conf, void *ctx, dp_err_t *err);

typedef struct dp_kafka_opts {
    const char *bootstrap_servers; /* required */
    const char *group_id;          /* required */
    const char *const *topics;     /* topic names, or NULL when topic_regex is set */
    size_t ntopics;
    const char *topic_regex;            /* e.g. "^events\\..*", or NULL */
    int initial_position_latest;        /* 0: earliest (default), 1: latest */
    const char *client_id;              /* may be NULL */
    dp_kafka_apply_fn apply_properties; /* may be NULL */
    void *apply_ctx;
    const char *worker_id; /* named in librdkafka's log lines; may be NULL */
    int stats_interval_ms; /* librdkafka statistics, for the broker state: 0 = 5000 */
} dp_kafka_opts_t;

/*
 * librdkafka's own log lines and its broker state (set up by dp_kafka_new):
 *
 * - log_cb sends every librdkafka log line through log.h as a JSON line of
 *   module "rdkafka" with the fields worker_id, group, fac (librdkafka's
 *   facility), thread, and topic and partition when the line names one
 *   ("events [3]"). Syslog levels map to ours: 0-3 error, 4 warn, 5-6 info,
 *   7 debug. librdkafka calls it from its own threads (log.queue is not
 *   set); it only reads the handle's immutable names and writes through
 *   log.h and health.h, both thread-safe, and never calls into librdkafka.
 * - stats_cb (statistics.interval.ms, served by the consumer poll) counts
 *   the brokers librdkafka holds an open connection to (state "UP") and
 *   hands the count to health.h (/readyz) and to the metric
 *   deltaport_kafka_brokers_up. Error-level lines of librdkafka are kept by
 *   health.h as the last Kafka error, which /readyz names when it fails.
 */

/* Our level of a librdkafka (syslog) level. Thread: any. */
int dp_kafka_log_level(int syslog_level);

/* Finds the first "<topic> [<partition>]" in a librdkafka log line. Returns 1
 * and fills topic (size len) and *partition, or 0. Thread: any. */
int dp_kafka_log_partition(const char *line, char *topic, size_t len, int32_t *partition);

/* The number of brokers in state UP in a librdkafka statistics JSON (the
 * "brokers" object; logical and internal brokers are not counted), or -1
 * when the JSON has no such object. Thread: any. */
int dp_kafka_stats_brokers_up(const char *json, size_t len);

/* The librdkafka keys deltaport owns; NULL-terminated. Configuration that
 * names one of them is rejected (config.c uses this list). Borrowed, static. */
extern const char *const dp_kafka_owned_keys[];

/* Creates the consumer and subscribes. hooks is copied. Returns new (free
 * with dp_kafka_destroy), or NULL with err filled (DP_EINVAL for a bad
 * property: the message names the key and librdkafka's reason). */
dp_kafka_t *dp_kafka_new(const dp_kafka_opts_t *opts, const dp_kafka_hooks_t *hooks, dp_err_t *err);

/* Polls once. Returns a message the caller must destroy with
 * rd_kafka_message_destroy(), or NULL (timeout, or an event that was handled:
 * rebalance, partition error, transient client error logged). */
rd_kafka_message_t *dp_kafka_poll(dp_kafka_t *kafka, int timeout_ms);

/* Commits parts synchronously: each element's .offset is the NEXT offset to
 * read (last loaded + 1). Per-partition failures are reported in the list's
 * .err and summarised in err. Returns 0, DP_EAGAIN (retryable: rebalance in
 * progress, coordinator moving) or DP_EFAIL. */
int dp_kafka_commit(dp_kafka_t *kafka, rd_kafka_topic_partition_list_t *parts, dp_err_t *err);

/* Moves an assigned partition's position back to offset (asynchronously:
 * librdkafka 2.0.2's seek waits 1000x shorter than asked, so it is asked not
 * to wait; the caller drops what arrives before the seek takes effect).
 * Returns 0 or DP_EFAIL. */
int dp_kafka_seek(dp_kafka_t *kafka, const char *topic, int32_t partition, int64_t offset,
                  dp_err_t *err);

/* Restarts an assigned partition at offset after the broker answered
 * "offset out of range" for it (a seek no longer moves a partition in that
 * state): it is unassigned and assigned again at offset, locally (the
 * group's assignment does not change), and released from the errored set.
 * Returns 0 or DP_EFAIL. */
int dp_kafka_restart(dp_kafka_t *kafka, const char *topic, int32_t partition, int64_t offset,
                     dp_err_t *err);

/* The pool's incarnation (claims.h): every commit carries "inc=<id>" as
 * metadata, and a committed offset whose metadata names another incarnation
 * is ignored on assignment (the partition starts at its beginning).
 * Copied; call before the first poll. */
void dp_kafka_set_incarnation(dp_kafka_t *kafka, const char *incarnation);

/* Holds one assigned partition paused until released (a partition whose
 * claim could not be taken yet), independently of pause_all/resume_all; the
 * hold is re-applied correctly across rebalances like the rest. */
void dp_kafka_hold(dp_kafka_t *kafka, const char *topic, int32_t partition);
void dp_kafka_release(dp_kafka_t *kafka, const char *topic, int32_t partition);

/* Pauses / resumes every assigned partition (the worker's backpressure).
 * The "paused by us" state survives rebalances: partitions assigned while
 * paused start paused. */
void dp_kafka_pause_all(dp_kafka_t *kafka);
void dp_kafka_resume_all(dp_kafka_t *kafka);
int dp_kafka_is_paused(const dp_kafka_t *kafka);

/* Current assignment (new list, caller destroys), or NULL when empty. */
rd_kafka_topic_partition_list_t *dp_kafka_assignment(dp_kafka_t *kafka);

/* Leaves the group (runs the revoke hook) and destroys the handle. NULL is a
 * no-op. */
void dp_kafka_destroy(dp_kafka_t *kafka);

/* A fingerprint of a message: CRC-32 of its key and value (with their
 * lengths), dp_flush_fingerprint(). Stored with what was loaded, so that a
 * later owner can check that the message before its start is still the one
 * loaded (a recreated topic has other messages at the same offsets).
 * Thread: any. */
uint32_t dp_kafka_fingerprint(const rd_kafka_message_t *msg);

/* The underlying handle, borrowed (for watermark queries and metrics). */
rd_kafka_t *dp_kafka_handle(dp_kafka_t *kafka);

#endif
