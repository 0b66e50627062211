/*
 * held: the queue of messages not handled yet (see held.h).
 */
#include "kafka/held.h"

#include "core/log.h"
#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

void dp_held_push(dp_held_t *h, rd_kafka_message_t *msg)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 64;
        h->items = dp_realloc(h->items, h->cap * sizeof(*h->items));
    }
    h->items[h->n++] = msg;
}

void dp_held_pause(dp_held_t *h, dp_kafka_t *kafka, rd_kafka_message_t *msg, const char *why)
{
    dp_held_push(h, msg);
    if (h->paused)
        return;
    dp_kafka_pause_all(kafka);
    h->paused = 1;
    if (why)
        dp_log(DP_LOG_WARN, "worker", "%s: partitions paused", why);
}

void dp_held_poll(dp_held_t *h, dp_kafka_t *kafka, int timeout_ms)
{
    rd_kafka_message_t *msg = dp_kafka_poll(kafka, timeout_ms);

    if (msg)
        dp_held_pause(h, kafka, msg, NULL);
}

void dp_held_resume(dp_held_t *h, dp_kafka_t *kafka)
{
    if (!h->paused || h->n)
        return;
    dp_kafka_resume_all(kafka);
    h->paused = 0;
    dp_log(DP_LOG_INFO, "worker", "resumed consuming");
}

void dp_held_drop(dp_held_t *h, const rd_kafka_topic_partition_list_t *parts)
{
    size_t keep = 0;

    for (size_t i = 0; i < h->n; i++) {
        rd_kafka_message_t *m = h->items[i];

        if (rd_kafka_topic_partition_list_find(parts, rd_kafka_topic_name(m->rkt), m->partition))
            rd_kafka_message_destroy(m);
        else
            h->items[keep++] = m;
    }
    h->n = keep;
}

size_t dp_held_replay(dp_held_t *h, int (*handle)(void *ctx, rd_kafka_message_t *msg), void *ctx)
{
    size_t done = 0;

    while (done < h->n && handle(ctx, h->items[done]) == 0) {
        rd_kafka_message_destroy(h->items[done]);
        done++;
    }
    if (done > 0) {
        memmove(h->items, h->items + done, (h->n - done) * sizeof(*h->items));
        h->n -= done;
    }
    return done;
}

void dp_held_free(dp_held_t *h)
{
    for (size_t i = 0; i < h->n; i++)
        rd_kafka_message_destroy(h->items[i]);
    free(h->items);
    memset(h, 0, sizeof(*h));
}
