/*
 * intake: one message from the consumer into the open flush, under its
 * partition's checks. The partition decides first (partitions.h: not
 * claimed yet, stopped, below a seek, the checked message before a start, or
 * the message after a gap that reading again confirmed); then the message is
 * decoded, routed and appended (ingest.h). What the flush refuses is told
 * apart: a redelivery after a seek is skipped, missing offsets before the
 * message make its partition read again over the gap, and any other refusal
 * stops the partition (nothing from the message on is committed).
 *
 * Thread: the poll thread.
 */
#ifndef DP_INTAKE_H
#define DP_INTAKE_H

#include "batch/flush.h"
#include "batch/ingest.h"
#include "kafka/kafka.h"
#include "kafka/partitions.h"

#include <librdkafka/rdkafka.h>

/* dp_intake_add appended a record of msg. */
#define DP_INTAKE_ADDED 1

/* Hands msg (borrowed) to open. Returns DP_INTAKE_ADDED (*rejected says
 * whether into event_errors), 0 (not appended, and nothing more to do: a
 * partition check dropped it, a redelivery, a gap to read again, or its
 * partition stopped), or DP_ETOOBIG (the flush is full) or DP_EAGAIN (its
 * writer schema is unavailable, or routing is not ready: dp_ingest_ready):
 * the caller holds it and tries again. */
int dp_intake_add(dp_parts_t *parts, dp_kafka_t *kafka, dp_ingest_t *ingest, dp_flush_t *open,
                  const rd_kafka_message_t *msg, int *rejected);

/* Why messages are held, for the log line of the pause (static text). */
const char *dp_intake_hold_reason(const dp_ingest_t *ingest);

/* 1 for dp_intake_add's "hold the message and try again later" answers. */
static inline int dp_intake_must_hold(int rc)
{
    return rc == DP_ETOOBIG || rc == DP_EAGAIN;
}

#endif
