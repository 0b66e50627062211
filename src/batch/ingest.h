/*
 * ingest: one Kafka message into the open flush. The message is decoded
 * (Confluent-framed Avro with a writer schema from schemas/ or the registry,
 * plain Avro, or JSON), validated, routed by its event name, and appended as
 * one record: into its destination table, or into event_errors with the
 * code, the field and the reason when it is rejected.
 *
 * Owns the decoder, the registry client and the router of a worker, and
 * carries the router's counts to and from the loader: the counts a flush
 * routed go with it, the loaded ones and the group-wide ones come back. In
 * threshold mode nothing is routed before the group's counts were read once:
 * a name that has its own table (or has passed the threshold) must never go
 * to the shared table after a restart.
 * Thread: the poll thread.
 */
#ifndef DP_INGEST_H
#define DP_INGEST_H

#include "batch/flush.h"
#include "config/config.h"
#include "core/err.h"
#include "load/loader.h"

#include <librdkafka/rdkafka.h>
#include <stdint.h>

typedef struct dp_ingest dp_ingest_t;

/* Returns new (dp_ingest_destroy) or NULL with err (schemas or registry
 * settings unusable). cfg is borrowed for the object's life. */
dp_ingest_t *dp_ingest_new(const dp_config_t *cfg, dp_err_t *err);
void dp_ingest_destroy(dp_ingest_t *in);

/* 1 when messages may be routed: always, except in threshold mode before
 * the group's counts were applied once (dp_ingest_apply_shared). */
int dp_ingest_ready(const dp_ingest_t *in);

/* The counts routed since the last call, for the flush being cut. Returns a
 * new array of *n entries (the caller owns it: dp_loader_submit takes it, or
 * dp_loader_stats_free), or NULL when nothing was routed. */
dp_loader_stat_t *dp_ingest_take_counts(dp_ingest_t *in, size_t *n);

/* The counts of a loaded flush (the loader's, taken: freed here) become
 * shared counts. */
void dp_ingest_add_loaded(dp_ingest_t *in, dp_loader_stat_t *stats, size_t n);

/* The counts of a flush that was not loaded (fenced; taken: freed here) stop
 * counting for routing: its events are read again. */
void dp_ingest_release(dp_ingest_t *in, dp_loader_stat_t *stats, size_t n);

/* Applies the group-wide counts the loader read (dp_loader_take_shared;
 * taken: freed here; NULL when no new read). The first read makes routing
 * ready (logged). */
void dp_ingest_apply_shared(dp_ingest_t *in, dp_loader_stat_t *shared, size_t n);

/* Appends msg's record to flush. Returns 0 (appended: *rejected says
 * whether into event_errors), DP_EAGAIN (its writer schema is unavailable:
 * the caller holds the message, never rejects it, docs/SCHEMA_REGISTRY.md),
 * DP_ETOOBIG (the flush is full), or what dp_flush_add refused it with
 * (DP_FLUSH_REDELIVERY, DP_FLUSH_GAP, or another code: err says why). */
int dp_ingest_add(dp_ingest_t *in, dp_flush_t *flush, const rd_kafka_message_t *msg, int *rejected,
                  dp_err_t *err);

#endif
