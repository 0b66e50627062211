/*
 * recover: finishes the flushes another worker (or this one, before a crash)
 * left behind, before a newly assigned partition is consumed.
 *
 * For each partition the group assigns to this worker, it takes a claim
 * (claims.h), starts at the larger of the committed offset and the ledger,
 * lists the manifests whose range ends at or after that start, publishes
 * what it saw, and, in offset order, for each manifest the claims rule says
 * is valid, runs their COPY INTO statements again (COPY INTO
 * skips what a table already loaded, so finished files cost nothing), loads
 * their sync_runs rows, and moves the partition's start to the end of that
 * chain. The caller then commits the new start. So a flush cut once is loaded
 * once, whoever finishes it (manifest.h).
 *
 * Thread: the poll thread (inside the rebalance callback); it has its own
 * Databricks client.
 */
#ifndef DP_RECOVER_H
#define DP_RECOVER_H

#include "config.h"
#include "err.h"

#include <librdkafka/rdkafka.h>
#include <signal.h>

typedef struct dp_recover dp_recover_t;

/* Returns new (dp_recover_destroy) or NULL with err (bad configuration).
 * cfg is borrowed for the object's life; the strings are copied. */
dp_recover_t *dp_recover_new(const dp_config_t *cfg, const char *incarnation,
                             const char *worker_id, dp_err_t *err);
void dp_recover_destroy(dp_recover_t *r);

/* Claims every partition of parts (claims.h: epochs[i] receives the epoch of
 * parts->elems[i], an array of parts->cnt), raises a committed offset that
 * is below the Databricks ledger to the ledger's end (counted in *repaired),
 * completes the pending manifests that the claims rule says are valid, and
 * raises each element's .offset to the end of its chain (it never lowers
 * one). Elements at RD_KAFKA_OFFSET_END stay there unless the ledger knows
 * the partition; BEGINNING counts as 0. Returns 0, or a DP_E* code when
 * Databricks failed (retry later: nothing was skipped). Sets *completed to
 * the number of manifests it finished. anchors[i] receives the fingerprint of
 * the message at the new start - 1 as it was loaded (dp_kafka_fingerprint),
 * or -1 when unknown: the caller checks that the log still holds it there. */
int dp_recover_assign(dp_recover_t *r, rd_kafka_topic_partition_list_t *parts, int64_t *epochs,
                      int64_t *anchors, int *completed, int *repaired, dp_err_t *err);

#endif
