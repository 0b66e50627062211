/*
 * offsets: the commit policy (see offsets.h).
 */
#include "kafka/offsets.h"

#include "core/log.h"
#include "core/mem.h"
#include "kafka/kstats.h"
#include "ops/metrics.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

void dp_offsets_init(dp_offsets_t *o, dp_kafka_t *kafka)
{
    /* A refused commit is tried again after a short jittered wait (up to
     * 100, 200, 400 ms ...): the group coordinator answers within one
     * heartbeat once a rebalance settles. */
    static const dp_retry_policy_t policy = {.base_delay_ms = 100, .max_delay_ms = 1000};

    memset(o, 0, sizeof(*o));
    o->kafka = kafka;
    o->retry = dp_retry_new(&policy, NULL, 0);
}

void dp_offsets_free(dp_offsets_t *o)
{
    if (o->starts)
        rd_kafka_topic_partition_list_destroy(o->starts);
    o->starts = NULL;
    dp_flush_destroy(o->loaded);
    o->loaded = NULL;
    dp_retry_destroy(o->retry);
    o->retry = NULL;
}

/* Commits a loaded flush, trying up to attempts times. *all_ours becomes 0
 * when some range's partition is no longer assigned (not committed).
 * Returns 0 (committed), 1 (retryable: try again after polling) or -1
 * (refused for good: the next owner finishes the flush). */
static int commit_flush(dp_offsets_t *o, const dp_flush_t *flush, int attempts, int *all_ours)
{
    rd_kafka_topic_partition_list_t *owned = dp_kafka_assignment(o->kafka);
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(8);
    uint64_t messages = 0;
    dp_err_t err;
    long delay;
    int rc = 0;

    for (size_t i = 0; i < dp_flush_nranges(flush); i++) {
        const char *topic;
        int32_t part;
        int64_t first, last;

        if (dp_flush_range(flush, i, &topic, &part, &first, &last) < 0)
            continue;
        if (!owned || !rd_kafka_topic_partition_list_find(owned, topic, part)) {
            *all_ours = 0;
            dp_log(DP_LOG_WARN, "worker",
                   "%s [%d] @%lld..%lld loaded but no longer ours: not "
                   "committed",
                   topic, (int)part, (long long)first, (long long)last);
            continue;
        }
        {
            rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_add(list, topic, part);
            char md[48];
            int n = snprintf(md, sizeof(md), "fp=%lld:%08x", (long long)last,
                             (unsigned)dp_flush_range_fp(flush, i));

            tp->offset = last + 1;
            tp->metadata = dp_strdup(md); /* owned by the list */
            tp->metadata_size = (size_t)n;
        }
        messages += (uint64_t)(last - first + 1);
    }
    for (int attempt = 1; list->cnt > 0; attempt++) {
        rc = dp_kafka_commit(o->kafka, list, &err);
        if (rc == 0 || !err.retryable || attempt >= attempts)
            break;
        delay = dp_retry_next_delay(o->retry, attempt, -1);
        dp_log(DP_LOG_WARN, "worker", "%s; retrying in %ld ms", err.msg, delay);
        dp_retry_sleep_ms(o->retry, delay);
    }
    if (rc < 0 && err.retryable) {
        /* Retried every housekeeping pass while the group rebalances: said
         * once per flush, then at debug level. */
        dp_log(o->postponed == dp_flush_seq(flush) ? DP_LOG_DEBUG : DP_LOG_WARN, "worker",
               "flush %llu loaded, commit postponed: %s", (unsigned long long)dp_flush_seq(flush),
               err.msg);
        o->postponed = dp_flush_seq(flush);
        rc = 1;
    } else if (rc < 0) {
        dp_metrics_add(DP_MC_COMMIT_FAILURES, 1);
        dp_log(DP_LOG_ERROR, "worker", "flush %llu loaded but not committed: %s",
               (unsigned long long)dp_flush_seq(flush), err.msg);
    } else if (list->cnt == 0) {
        dp_log(DP_LOG_INFO, "worker",
               "flush %llu loaded; none of its partitions is still ours: nothing committed",
               (unsigned long long)dp_flush_seq(flush));
    } else {
        o->committed += messages;
        dp_metrics_add(DP_MC_COMMITS, 1);
        /* Past any moved start still waiting for its commit: never commit
         * that one later (commits only go forward). */
        for (int i = 0; o->starts && i < list->cnt; i++)
            rd_kafka_topic_partition_list_del(o->starts, list->elems[i].topic,
                                              list->elems[i].partition);
        dp_kstats_committed(list);
        dp_log(DP_LOG_INFO, "worker",
               "flush %llu loaded and committed: %llu messages in %d "
               "partitions",
               (unsigned long long)dp_flush_seq(flush), (unsigned long long)messages, list->cnt);
    }
    rd_kafka_topic_partition_list_destroy(list);
    if (owned)
        rd_kafka_topic_partition_list_destroy(owned);
    return rc < 0 ? -1 : rc;
}

dp_flush_t *dp_offsets_commit_loaded(dp_offsets_t *o, dp_flush_t *flush, int attempts, int *whole)
{
    int all_ours = 1;
    int rc = commit_flush(o, flush, attempts, &all_ours);

    if (rc > 0) {
        o->loaded = flush; /* loaded, not yet committed: kept until it is */
        return NULL;
    }
    *whole = rc == 0 && all_ours;
    return flush;
}

dp_flush_t *dp_offsets_retry_loaded(dp_offsets_t *o, int attempts, int *whole)
{
    dp_flush_t *flush = o->loaded;

    if (!flush)
        return NULL;
    o->loaded = NULL;
    return dp_offsets_commit_loaded(o, flush, attempts, whole);
}

int dp_offsets_waiting(const dp_offsets_t *o)
{
    return o->loaded != NULL;
}

void dp_offsets_add_start(dp_offsets_t *o, const char *topic, int32_t partition, int64_t offset)
{
    rd_kafka_topic_partition_t *tp;

    if (!o->starts)
        o->starts = rd_kafka_topic_partition_list_new(8);
    tp = rd_kafka_topic_partition_list_find(o->starts, topic, partition);
    if (!tp)
        tp = rd_kafka_topic_partition_list_add(o->starts, topic, partition);
    tp->offset = offset;
}

int dp_offsets_starts_pending(const dp_offsets_t *o)
{
    return o->starts != NULL;
}

void dp_offsets_commit_starts(dp_offsets_t *o, dp_parts_t *parts)
{
    rd_kafka_topic_partition_list_t *list;
    dp_err_t err;

    if (!o->starts)
        return;
    list = rd_kafka_topic_partition_list_new(o->starts->cnt);
    for (int i = 0; i < o->starts->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &o->starts->elems[i];

        if (dp_parts_find(parts, tp->topic, tp->partition))
            rd_kafka_topic_partition_list_add(list, tp->topic, tp->partition)->offset = tp->offset;
    }
    if (list->cnt == 0 || dp_kafka_commit(o->kafka, list, &err) == 0) {
        rd_kafka_topic_partition_list_destroy(o->starts);
        o->starts = NULL;
    } else {
        dp_log(DP_LOG_DEBUG, "worker", "committing moved starts: %s", err.msg);
    }
    rd_kafka_topic_partition_list_destroy(list);
}
