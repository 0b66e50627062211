/*
 * kstats: consumed counts, the poll heartbeat and the per-partition lag
 * gauges, computed on the poll thread (see kstats.h).
 */
#include "kafka/kstats.h"

#include "core/mem.h"
#include "ops/health.h"
#include "ops/metrics.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SAMPLE_EVERY_MS  1000
#define CHECK_EVERY_MSGS 64

/* Poll thread only, except committed which assign and commit also touch (on
 * the poll thread too; the mutex only guards against misuse). */
static pthread_mutex_t committed_mu = PTHREAD_MUTEX_INITIALIZER;
static rd_kafka_topic_partition_list_t *committed;
static uint64_t pending_msgs, pending_bytes;
static unsigned calls;
static long long last_sample_ms;

void dp_kstats_committed(const rd_kafka_topic_partition_list_t *parts)
{
    if (!parts)
        return;
    pthread_mutex_lock(&committed_mu);
    if (!committed)
        committed = rd_kafka_topic_partition_list_new(parts->cnt > 0 ? parts->cnt : 1);
    for (int i = 0; i < parts->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &parts->elems[i];
        rd_kafka_topic_partition_t *mine =
            rd_kafka_topic_partition_list_find(committed, tp->topic, tp->partition);

        if (!mine)
            mine = rd_kafka_topic_partition_list_add(committed, tp->topic, tp->partition);
        mine->offset = tp->offset;
    }
    pthread_mutex_unlock(&committed_mu);
}

static int64_t committed_of(const char *topic, int32_t partition)
{
    const rd_kafka_topic_partition_t *tp;
    int64_t off = -1;

    pthread_mutex_lock(&committed_mu);
    tp = committed ? rd_kafka_topic_partition_list_find(committed, topic, partition) : NULL;
    if (tp)
        off = tp->offset;
    pthread_mutex_unlock(&committed_mu);
    return off;
}

static int is_listed(const rd_kafka_topic_partition_list_t *list, const char *topic, int32_t part)
{
    for (int i = 0; list && i < list->cnt; i++) {
        if (list->elems[i].partition == part && strcmp(list->elems[i].topic, topic) == 0)
            return 1;
    }
    return 0;
}

/* One partition's lags from librdkafka's cached watermarks. */
static void lags_of(rd_kafka_t *rk, const rd_kafka_topic_partition_t *tp,
                    dp_metrics_partition_t *out)
{
    int64_t lo = -1, hi = -1, c = committed_of(tp->topic, tp->partition);

    out->topic = tp->topic;
    out->partition = tp->partition;
    out->lag = -1;
    out->fetch_lag = -1;
    if (rd_kafka_get_watermark_offsets(rk, tp->topic, tp->partition, &lo, &hi) || hi < 0)
        return;
    if (c >= 0)
        out->lag = hi > c ? hi - c : 0;
    else if (lo >= 0)
        out->lag = hi - lo;
    if (tp->offset >= 0)
        out->fetch_lag = hi > tp->offset ? hi - tp->offset : 0;
    else
        out->fetch_lag = out->lag; /* nothing fetched yet: the position is the start */
}

static void sample(rd_kafka_t *rk, int paused_all, const rd_kafka_topic_partition_list_t *errored)
{
    rd_kafka_topic_partition_list_t *asg = NULL;
    dp_metrics_partition_t *parts;
    int paused = 0;

    if (rd_kafka_assignment(rk, &asg) || !asg) {
        dp_metrics_set(DP_MG_ASSIGNED_PARTITIONS, 0);
        dp_metrics_set(DP_MG_PAUSED_PARTITIONS, 0);
        dp_metrics_set_partitions(NULL, 0);
        return;
    }
    /* Fills each .offset with the next offset the application will get. */
    rd_kafka_position(rk, asg);
    parts = dp_calloc(asg->cnt > 0 ? (size_t)asg->cnt : 1, sizeof(*parts));
    for (int i = 0; i < asg->cnt; i++) {
        lags_of(rk, &asg->elems[i], &parts[i]);
        if (paused_all || is_listed(errored, asg->elems[i].topic, asg->elems[i].partition))
            paused++;
    }
    dp_metrics_set(DP_MG_ASSIGNED_PARTITIONS, asg->cnt);
    dp_metrics_set(DP_MG_PAUSED_PARTITIONS, paused);
    dp_metrics_set_partitions(parts, (size_t)asg->cnt);
    free(parts);
    rd_kafka_topic_partition_list_destroy(asg);
}

void dp_kstats_on_poll(rd_kafka_t *rk, const rd_kafka_message_t *msg, int paused_all,
                       const rd_kafka_topic_partition_list_t *errored)
{
    long long now;

    if (msg && !msg->err) {
        pending_msgs++;
        pending_bytes += msg->len;
        if (++calls % CHECK_EVERY_MSGS != 0)
            return;
    }
    dp_metrics_add(DP_MC_MESSAGES_CONSUMED, pending_msgs);
    dp_metrics_add(DP_MC_BYTES_CONSUMED, pending_bytes);
    pending_msgs = pending_bytes = 0;
    now = dp_health_now_ms();
    dp_health_beat_at(DP_HEALTH_POLL, now);
    if (now - last_sample_ms >= SAMPLE_EVERY_MS) {
        last_sample_ms = now;
        sample(rk, paused_all, errored);
    }
}

void dp_kstats_reset(void)
{
    pthread_mutex_lock(&committed_mu);
    if (committed)
        rd_kafka_topic_partition_list_destroy(committed);
    committed = NULL;
    pthread_mutex_unlock(&committed_mu);
    pending_msgs = pending_bytes = 0;
    calls = 0;
    last_sample_ms = 0;
}
