/*
 * partitions: owned partitions and the checks of their first messages (see
 * partitions.h).
 */
#include "kafka/partitions.h"

#include "core/log.h"
#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

void dp_parts_init(dp_parts_t *ps)
{
    memset(ps, 0, sizeof(*ps));
}

void dp_parts_free(dp_parts_t *ps)
{
    for (size_t i = 0; i < ps->n; i++)
        free(ps->items[i].topic);
    free(ps->items);
    memset(ps, 0, sizeof(*ps));
}

dp_part_t *dp_parts_find(dp_parts_t *ps, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < ps->n; i++) {
        if (ps->items[i].partition == partition && strcmp(ps->items[i].topic, topic) == 0)
            return &ps->items[i];
    }
    return NULL;
}

static int guarded(const dp_part_t *p)
{
    return !p->claimed || p->stopped || p->verify_off >= 0 || p->expect >= 0 || p->gap_from >= 0 ||
           p->gap_verify >= 0;
}

void dp_parts_recount(dp_parts_t *ps)
{
    ps->guarded = 0;
    for (size_t i = 0; i < ps->n; i++)
        ps->guarded += guarded(&ps->items[i]);
}

dp_part_t *dp_parts_add(dp_parts_t *ps, const char *topic, int32_t partition)
{
    dp_part_t *p = dp_parts_find(ps, topic, partition);

    if (!p) {
        if (ps->n == ps->cap) {
            ps->cap = ps->cap ? ps->cap * 2 : 16;
            ps->items = dp_realloc(ps->items, ps->cap * sizeof(*ps->items));
        }
        p = &ps->items[ps->n++];
        p->topic = dp_strdup(topic);
        p->partition = partition;
    }
    p->gen = ++ps->next_gen;
    p->claimed = 0;
    p->epoch = 0;
    p->start = -1;
    p->expect = -1;
    p->verify_off = -1;
    p->verify_fp = 0;
    p->stopped = 0;
    p->range_error = 0;
    p->gap_from = p->gap_to = p->gap_verify = -1;
    dp_parts_recount(ps);
    return p;
}

void dp_parts_remove(dp_parts_t *ps, const char *topic, int32_t partition)
{
    dp_part_t *p = dp_parts_find(ps, topic, partition);

    if (!p)
        return;
    free(p->topic);
    *p = ps->items[--ps->n];
    dp_parts_recount(ps);
}

int dp_parts_start(dp_parts_t *ps, dp_part_t *p, dp_kafka_t *kafka, int64_t start, int64_t epoch,
                   int64_t anchor, dp_err_t *err)
{
    int64_t at = start;

    p->epoch = epoch;
    p->start = start;
    p->verify_off = -1;
    if (anchor >= 0 && start > 0) {
        p->verify_off = start - 1;
        p->verify_fp = (uint32_t)anchor;
        at = p->verify_off;
    }
    /* A partition the broker already answered "out of range" for (it was
     * fetched from its committed offset while its claim was taken) no longer
     * moves with a seek: it is assigned again at the start. */
    if (p->range_error ? dp_kafka_restart(kafka, p->topic, p->partition, at, err) < 0
                       : dp_kafka_seek(kafka, p->topic, p->partition, at, err) < 0) {
        dp_parts_recount(ps);
        return DP_EFAIL;
    }
    p->range_error = 0;
    p->expect = at >= 0 ? at : -1;
    p->claimed = 1;
    dp_kafka_release(kafka, p->topic, p->partition);
    dp_parts_recount(ps);
    return 0;
}

int dp_parts_rewind(dp_parts_t *ps, dp_part_t *p, dp_kafka_t *kafka, int64_t offset, dp_err_t *err)
{
    int rc = dp_kafka_seek(kafka, p->topic, p->partition, offset, err);

    if (rc == 0)
        p->expect = offset;
    dp_parts_recount(ps);
    return rc;
}

/* The message at verify_off arrived (or a later one: it is gone). */
static int check_anchor(dp_parts_t *ps, dp_part_t *p, dp_kafka_t *kafka,
                        const rd_kafka_message_t *msg)
{
    if (msg->offset < p->verify_off)
        return 1;
    if (msg->offset == p->verify_off) {
        uint32_t fp = dp_kafka_fingerprint(msg);

        p->verify_off = -1;
        dp_parts_recount(ps);
        if (fp == p->verify_fp)
            return 1; /* the message loaded there: the log is the same; drop it */
        p->stopped = 1;
        dp_kafka_hold(kafka, p->topic, msg->partition);
        dp_log(DP_LOG_ERROR, "worker",
               "%s [%d] stopped: the message at @%lld is not the one "
               "loaded there (fingerprint %08x, loaded %08x): the topic was deleted and "
               "recreated, or its log replaced. Nothing is read from it: after a recreation "
               "run `deltaport incarnation new`, then restart the pool (docs/DELIVERY.md)",
               p->topic, (int)msg->partition, (long long)msg->offset, (unsigned)fp,
               (unsigned)p->verify_fp);
        return 1;
    }
    dp_log(DP_LOG_WARN, "worker",
           "%s [%d]: @%lld, the message before the start, is gone "
           "(compaction or retention): the log cannot be checked; reading from @%lld",
           p->topic, (int)msg->partition, (long long)p->verify_off, (long long)msg->offset);
    p->verify_off = -1;
    dp_parts_recount(ps);
    return -1; /* not dropped for this reason: go on checking */
}

int dp_parts_drop(dp_parts_t *ps, dp_kafka_t *kafka, const char *topic,
                  const rd_kafka_message_t *msg)
{
    dp_part_t *p;

    if (ps->guarded == 0)
        return 0; /* the steady state: every part claimed, nothing to check */
    p = dp_parts_find(ps, topic, msg->partition);
    if (!p)
        return 0;
    if (!p->claimed || p->stopped || p->gap_from >= 0)
        return 1;
    if (p->verify_off >= 0) {
        int rc = check_anchor(ps, p, kafka, msg);

        if (rc >= 0)
            return rc;
    }
    if (p->expect >= 0) {
        if (msg->offset < p->expect)
            return 1;
        p->expect = -1;
        dp_parts_recount(ps);
    }
    if (p->gap_verify >= 0) {
        int64_t verify = p->gap_verify;

        if (msg->offset > verify)
            return 1; /* fetched before the seek took effect */
        p->gap_verify = -1;
        dp_parts_recount(ps);
        if (msg->offset == verify) {
            dp_log(DP_LOG_INFO, "worker",
                   "%s [%d]: read again, the log still goes on at @%lld: "
                   "the offsets before it do not exist for a consumer (compaction or "
                   "transaction markers); gap accepted",
                   p->topic, (int)msg->partition, (long long)msg->offset);
            return DP_PARTS_GAP_ACCEPTED;
        }
        dp_log(DP_LOG_ERROR, "worker",
               "%s [%d]: read again, the log has @%lld: the consumer "
               "had skipped @%lld..@%lld (a client bug); they are loaded now",
               p->topic, (int)msg->partition, (long long)msg->offset, (long long)msg->offset,
               (long long)verify - 1);
    }
    return 0;
}

void dp_parts_gap(dp_parts_t *ps, dp_part_t *p, int64_t last, int64_t next)
{
    p->gap_from = last + 1;
    p->gap_to = next;
    dp_parts_recount(ps);
}

void dp_parts_stop(dp_parts_t *ps, dp_part_t *p, dp_kafka_t *kafka)
{
    p->stopped = 1;
    dp_kafka_hold(kafka, p->topic, p->partition);
    dp_parts_recount(ps);
}

void dp_parts_seek_gaps(dp_parts_t *ps, dp_kafka_t *kafka,
                        rd_kafka_topic_partition_list_t *parts_out)
{
    for (size_t i = 0; i < ps->n; i++) {
        dp_part_t *p = &ps->items[i];
        dp_err_t err;

        if (p->gap_from < 0)
            continue;
        if (parts_out)
            rd_kafka_topic_partition_list_add(parts_out, p->topic, p->partition);
        if (dp_kafka_seek(kafka, p->topic, p->partition, p->gap_from, &err) < 0) {
            /* Without the seek the missing offsets stay unread: stop here,
             * nothing past them is committed. */
            dp_log(DP_LOG_ERROR, "worker", "%s [%d] stopped before @%lld: %s", p->topic,
                   (int)p->partition, (long long)p->gap_from, err.msg);
            p->gap_from = -1;
            dp_parts_stop(ps, p, kafka);
            continue;
        }
        p->expect = p->gap_from;
        p->gap_verify = p->gap_to;
        p->gap_from = -1;
    }
    dp_parts_recount(ps);
}

void dp_parts_stop_at(dp_parts_t *ps, dp_kafka_t *kafka, const char *topic,
                      const rd_kafka_message_t *msg, const char *why)
{
    dp_part_t *p = dp_parts_find(ps, topic, msg->partition);

    if (!p) {
        p = dp_parts_add(ps, topic, msg->partition);
        p->claimed = 1;
    }
    dp_parts_stop(ps, p, kafka);
    dp_log(DP_LOG_ERROR, "worker",
           "%s [%d] stopped at @%lld: the flush refused the message: %s. "
           "Nothing from this offset on is committed; the partition is read again from it after "
           "a restart",
           topic, (int)msg->partition, (long long)msg->offset, why);
}

void dp_parts_range_error(dp_parts_t *ps, const char *topic, int32_t partition)
{
    dp_part_t *p = dp_parts_find(ps, topic, partition);

    if (p)
        p->range_error = 1;
}

void dp_parts_stamp_epochs(dp_parts_t *ps, dp_flush_t *flush)
{
    for (size_t i = 0; i < dp_flush_nranges(flush); i++) {
        const char *topic;
        int32_t part;
        int64_t first, last;
        const dp_part_t *p;

        if (dp_flush_range(flush, i, &topic, &part, &first, &last) == 0 &&
            (p = dp_parts_find(ps, topic, part)) != NULL)
            dp_flush_set_epoch(flush, topic, part, p->epoch);
    }
}

int dp_parts_rewind_fenced(dp_parts_t *ps, dp_kafka_t *kafka, const dp_flush_t *flush,
                           rd_kafka_topic_partition_list_t *again, dp_err_t *err)
{
    for (size_t i = 0; i < dp_flush_nranges(flush); i++) {
        const char *topic;
        int32_t part;
        int64_t first, last;
        dp_part_t *p;

        if (dp_flush_range(flush, i, &topic, &part, &first, &last) < 0 ||
            !(p = dp_parts_find(ps, topic, part)) || !p->claimed ||
            p->epoch != dp_flush_range_epoch(flush, i))
            continue;
        rd_kafka_topic_partition_list_add(again, topic, part);
        if (dp_parts_rewind(ps, p, kafka, first, err) < 0) {
            dp_err_prefix(err, "a fenced flush cannot be read again: ");
            return DP_EFAIL;
        }
        dp_log(DP_LOG_WARN, "worker", "%s [%d]: flush %llu fenced, reading again from @%lld", topic,
               (int)part, (unsigned long long)dp_flush_seq(flush), (long long)first);
    }
    return 0;
}
