/*
 * held: the messages the poll thread took from Kafka but could not handle
 * yet (the flush is full while the previous one loads, a writer schema or
 * the group's counts are not available), in arrival order, so that they are
 * handled first, before anything newer, and no partition gets a gap. Each
 * message is owned by the queue until it is handled or dropped.
 *
 * Thread: the poll thread.
 */
#ifndef DP_HELD_H
#define DP_HELD_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

typedef struct dp_held {
    rd_kafka_message_t **items;
    size_t n, cap;
} dp_held_t;

/* Takes msg (owned by the queue from now on). */
void dp_held_push(dp_held_t *h, rd_kafka_message_t *msg);

/* Drops (destroys) the messages of the partitions of parts. */
void dp_held_drop(dp_held_t *h, const rd_kafka_topic_partition_list_t *parts);

/* Hands the messages, oldest first, to handle(ctx, msg) while it returns 0;
 * those handed over are destroyed. Returns how many were. */
size_t dp_held_replay(dp_held_t *h, int (*handle)(void *ctx, rd_kafka_message_t *msg),
                      void *ctx);

/* Destroys every message and frees the queue. */
void dp_held_free(dp_held_t *h);

#endif
