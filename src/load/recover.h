/*
 * recover: claims newly assigned partitions and finishes the flushes another
 * worker (or this one, before a crash) left behind, on a thread of its own,
 * so that the poll thread keeps polling and beating while Databricks works
 * (a rebalance callback must never wait on Databricks, and a liveness probe
 * must never see a worker that recovers as dead).
 *
 * The poll thread submits the partitions of each assignment (held paused,
 * their messages dropped, until claimed) and later takes the results. For a
 * batch of partitions, the thread:
 *   1. takes their claims (claims.h) and reads the ledger, per topic;
 *   2. starts each partition at the larger of its committed offset and the
 *      ledger's end + 1 (a lower committed offset regressed: repaired);
 *   3. lists the pending manifests once for the incarnation and reads them;
 *      those covering a partition at or past its start are "seen";
 *   4. publishes the claims with what they saw;
 *   5. judges the seen manifests and finishes the valid ones (COPY INTO of
 *      their files: COPY skips what a table already loaded), then their
 *      ledger and sync_runs rows, and moves each partition's start past them;
 *   6. checks the start against the log's watermarks: a start past the end
 *      (a recreated or truncated topic) stops the partition; a start below
 *      the beginning (records removed by retention before they were loaded)
 *      is a gap, recorded in sync_runs and the metric
 *      deltaport_records_lost_to_retention_total, and the partition starts at
 *      the beginning (or stops, with kafka.on_retention_gap = stop); a
 *      message before the start that retention removed cannot be checked;
 *   7. hands back, per partition: its epoch, its start, and the fingerprint
 *      of the message before the start as it was loaded (the poll thread
 *      checks the log still holds it).
 * Then, off the results' path, it prunes the manifests that every owner has
 * committed past (and their files), so that the one listing stays short.
 *
 * Round trips per batch: per topic 5 statements for the claims and 1 for the
 * ledger, 1 listing, 1 download per pending manifest, whatever the number of
 * partitions. A failure (Databricks down) is retried with jittered backoff;
 * the partitions stay held meanwhile and nothing is skipped.
 *
 * Thread: dp_recover_* are called from the poll thread (except where said);
 * the work runs on the recovery thread, which beats its own heartbeat.
 */
#ifndef DP_RECOVER_H
#define DP_RECOVER_H

#include "config/config.h"
#include "core/err.h"

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dp_recover dp_recover_t;
typedef struct dp_loadops dp_loadops_t;
typedef struct dp_dbxconn dp_dbxconn_t;

typedef struct dp_recover_part {
    char *topic; /* owned by the array (dp_recover_parts_free) */
    int32_t partition;
    uint64_t gen;         /* the caller's token, handed back unchanged */
    int64_t start;        /* in: the assigned start (committed offset, or
                           * RD_KAFKA_OFFSET_BEGINNING / _END); out: where to
                           * consume from (END stays END unless the ledger
                           * knows the partition) */
    int64_t committed_fp; /* in: the commit metadata's fingerprint of the
                           * message at start - 1, or -1 */
    /* Out. */
    int64_t epoch;  /* the claim taken */
    int64_t anchor; /* fingerprint of the message at start - 1 as loaded, or -1 */
    int won;        /* 0: a later claim superseded ours before we published */
    int moved;      /* start moved past the ledger or finished flushes: commit it */
    int stop;       /* do not consume: the start lies past the end of the log, or
                     * below its beginning with kafka.on_retention_gap = stop */
} dp_recover_part_t;

typedef struct dp_recover_opts {
    const dp_config_t *cfg;   /* borrowed for the object's life */
    const char *incarnation;  /* copied */
    const char *worker_id;    /* copied */
    dp_loadops_t *ops;        /* borrowed */
    const dp_dbxconn_t *conn; /* the worker's credential, borrowed */
} dp_recover_opts_t;

/* Starts the thread. Returns new (dp_recover_destroy) or NULL with err. */
dp_recover_t *dp_recover_new(const dp_recover_opts_t *opts, dp_err_t *err);

/* Stops the thread (a batch in progress is abandoned: its partitions were
 * never consumed) and frees everything. */
void dp_recover_destroy(dp_recover_t *r);

/* The consumer, for reading committed offsets when pruning (borrowed; its
 * committed-offset query is thread-safe). Call before the first submit. */
void dp_recover_set_kafka(dp_recover_t *r, rd_kafka_t *rk);

/* Queues parts[0..n) (copied) to be claimed. */
void dp_recover_submit(dp_recover_t *r, const dp_recover_part_t *parts, size_t n);

/* Drops the queued requests of (topic, partition), revoked. A batch in
 * progress still hands it back; the caller ignores it by its gen. */
void dp_recover_forget(dp_recover_t *r, const char *topic, int32_t partition);

/* Records, in sync_runs (kind 'gap', status LOST_TO_RETENTION), that the
 * offsets first..last of (topic, partition) were removed by the broker before
 * they were loaded. Queued; written by the recovery thread (retried until it
 * succeeds; a key derived from the range makes a repeat a no-op). */
void dp_recover_record_gap(dp_recover_t *r, const char *topic, int32_t partition, int64_t first,
                           int64_t last);

/* Places a partition's start against its log's watermarks [low, high) (the
 * one rule of docs/DELIVERY.md, "Retention: the two ends of the log"):
 *   - *start past high: logged, returns 1 (stop the partition);
 *   - *start below low: records removed by retention before they were
 *     loaded: with kafka.on_retention_gap = record, logged, counted,
 *     recorded (dp_recover_record_gap), *start = low, *anchored = 0,
 *     returns 0; with stop, logged, returns 1;
 *   - *anchored and *start - 1 below low: the message before the start is
 *     gone and cannot be checked: logged, *anchored = 0, returns 0.
 * Thread: any. */
int dp_recover_place_start(dp_recover_t *r, const char *topic, int32_t partition, int64_t *start,
                           int *anchored, int64_t low, int64_t high);

/* Takes the finished partitions: *out is new (dp_recover_parts_free), the
 * count is returned (0 and NULL when none). */
size_t dp_recover_take(dp_recover_t *r, dp_recover_part_t **out);

void dp_recover_parts_free(dp_recover_part_t *parts, size_t n);

/* Partitions submitted and not yet taken back. */
size_t dp_recover_pending(dp_recover_t *r);

/* Milliseconds since the recovery thread last showed it is alive. Thread: any. */
long long dp_recover_heartbeat_age_ms(dp_recover_t *r);

/* Counters for metrics and tests (Thread: any): manifests finished, starts
 * repaired after a regressed commit, manifests pruned. */
uint64_t dp_recover_completed(dp_recover_t *r);
uint64_t dp_recover_repaired(dp_recover_t *r);
uint64_t dp_recover_pruned(dp_recover_t *r);

#endif
