/*
 * worker: one deltaport worker, the `deltaport run` process.
 *
 * The poll thread (the caller of dp_worker_run) polls Kafka, decodes and
 * validates each message, routes it, and appends it as one record to the
 * open flush: into its destination table, or into event_errors with the
 * reason. A flush is cut when a table reaches flush.max_events, when it holds
 * flush.max_bytes, or when its oldest record is flush.max_age_ms old, and is
 * handed to the loader thread. When the loader reports the flush loaded, the
 * worker commits `last + 1` of every partition the flush covers that it still
 * owns, synchronously, and only then lets the loader delete the staged files.
 *
 * Invariant: the committed offset of a partition never passes an event that is
 * not in a destination table or in event_errors.
 *
 * Backpressure: while a flush is loading the next one fills; when it reaches
 * its share of flush.memory_budget_bytes (or Databricks keeps failing) every
 * partition is paused and the worker keeps polling, so it stays in the group.
 *
 * Revocation: before partitions leave, the worker loads what it holds and
 * commits it (bounded by worker.shutdown_timeout_ms); a lost assignment drops
 * the lost partitions' unloaded records (the next owner reads them again).
 * SIGTERM does the same for every partition, then leaves the group.
 */
#ifndef DP_WORKER_H
#define DP_WORKER_H

#include "config/config.h"
#include "core/err.h"

#include <signal.h>
#include <stdint.h>

typedef struct dp_worker dp_worker_t;

typedef struct dp_worker_stats {
    uint64_t consumed;  /* messages taken from Kafka */
    uint64_t rows;      /* records put into destination tables */
    uint64_t rejected;  /* records put into event_errors */
    uint64_t flushes;   /* flushes loaded and committed */
    uint64_t committed; /* messages whose offsets were committed */
} dp_worker_stats_t;

/* Creates a worker from a finalized configuration (borrowed for the worker's
 * life). stop is polled: the worker returns from dp_worker_run once it is set.
 * Returns new (dp_worker_destroy) or NULL with err. */
dp_worker_t *dp_worker_new(const dp_config_t *cfg, volatile sig_atomic_t *stop, dp_err_t *err);

/* Runs until *stop; then loads and commits what it holds (bounded), and
 * leaves the group. Returns 0, or a DP_E* code when the worker could not
 * continue. Thread: the caller becomes the poll thread. */
int dp_worker_run(dp_worker_t *worker, dp_err_t *err);

/* Counters so far. Thread: any (relaxed reads). */
void dp_worker_stats(const dp_worker_t *worker, dp_worker_stats_t *out);

/* NULL is a no-op. */
void dp_worker_destroy(dp_worker_t *worker);

#endif
