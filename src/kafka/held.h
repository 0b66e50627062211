/*
 * held: the messages the poll thread took from Kafka but could not handle
 * yet (the flush is full while the previous one loads, a writer schema or
 * the group's counts are not available), in arrival order, so that they are
 * handled first, before anything newer, and no partition gets a gap. Each
 * message is owned by the queue until it is handled or dropped. While
 * messages are held every partition is paused, so that few more arrive; the
 * poll loop keeps polling (it stays in the group) and holds what arrives.
 *
 * Thread: the poll thread.
 */
#ifndef DP_HELD_H
#define DP_HELD_H

#include "kafka/kafka.h"

#include <librdkafka/rdkafka.h>
#include <stddef.h>

typedef struct dp_held {
    rd_kafka_message_t **items; /* owned, each message too */
    size_t n, cap;
    int paused; /* every partition was paused by dp_held_pause */
} dp_held_t;

/* Takes msg (owned by the queue from now on). */
void dp_held_push(dp_held_t *h, rd_kafka_message_t *msg);

/* Takes msg (owned by the queue from now on) and pauses every partition of
 * kafka unless they are paused already; why (may be NULL) is logged when
 * they pause. */
void dp_held_pause(dp_held_t *h, dp_kafka_t *kafka, rd_kafka_message_t *msg, const char *why);

/* Polls kafka once (up to timeout_ms) and holds what arrives (dp_held_pause,
 * nothing logged): used while draining, when nothing may be handled. */
void dp_held_poll(dp_held_t *h, dp_kafka_t *kafka, int timeout_ms);

/* Resumes every partition when the queue is empty and they were paused by
 * dp_held_pause. */
void dp_held_resume(dp_held_t *h, dp_kafka_t *kafka);

/* Drops (destroys) the messages of the partitions of parts. */
void dp_held_drop(dp_held_t *h, const rd_kafka_topic_partition_list_t *parts);

/* Hands the messages, oldest first, to handle(ctx, msg) while it returns 0;
 * those handed over are destroyed. Returns how many were. */
size_t dp_held_replay(dp_held_t *h, int (*handle)(void *ctx, rd_kafka_message_t *msg), void *ctx);

/* Destroys every message and frees the queue. */
void dp_held_free(dp_held_t *h);

#endif
