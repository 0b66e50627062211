/*
 * ingest: one Kafka message into the open flush. The message is decoded
 * (Confluent-framed Avro with a writer schema from schemas/ or the registry,
 * plain Avro, or JSON), validated, routed by its event name, and appended as
 * one record: into its destination table, or into event_errors with the
 * code, the field and the reason when it is rejected.
 *
 * Owns the decoder, the registry client and the router of a worker.
 * Thread: the poll thread.
 */
#ifndef DP_INGEST_H
#define DP_INGEST_H

#include "config/config.h"
#include "core/err.h"
#include "batch/flush.h"
#include "route/router.h"

#include <librdkafka/rdkafka.h>
#include <stdint.h>

typedef struct dp_ingest dp_ingest_t;

/* Returns new (dp_ingest_destroy) or NULL with err (schemas or registry
 * settings unusable). cfg is borrowed for the object's life. */
dp_ingest_t *dp_ingest_new(const dp_config_t *cfg, dp_err_t *err);
void dp_ingest_destroy(dp_ingest_t *in);

/* The router (borrowed): the group's counts go in, the flush's counts out. */
dp_router_t *dp_ingest_router(dp_ingest_t *in);

/* Appends msg's record to flush. Returns 0 (appended: *rejected says
 * whether into event_errors), DP_EAGAIN (its writer schema is unavailable:
 * the caller holds the message, never rejects it, docs/SCHEMA_REGISTRY.md),
 * DP_ETOOBIG (the flush is full), or what dp_flush_add refused it with
 * (DP_FLUSH_REDELIVERY, DP_FLUSH_GAP, or another code: err says why). */
int dp_ingest_add(dp_ingest_t *in, dp_flush_t *flush, const rd_kafka_message_t *msg,
                  int *rejected, dp_err_t *err);

#endif
