/*
 * assign: requests, claims and restarts of assigned partitions (see
 * assign.h).
 */
#include "kafka/assign.h"

#include "core/log.h"
#include "core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The fingerprint of the message at start - 1 in tp's commit metadata
 * ("inc=..;fp=<last>:<hex>"), or -1. */
static int64_t committed_fp(const rd_kafka_topic_partition_t *tp)
{
    char md[128];
    const char *f;
    long long at;
    unsigned fp;

    if (tp->offset <= 0 || !tp->metadata || tp->metadata_size == 0 ||
        tp->metadata_size >= sizeof(md))
        return -1;
    memcpy(md, tp->metadata, tp->metadata_size);
    md[tp->metadata_size] = '\0';
    f = strstr(md, "fp=");
    if (!f || sscanf(f, "fp=%lld:%x", &at, &fp) != 2 || at != tp->offset - 1)
        return -1;
    return (int64_t)fp;
}

void dp_assign_request(dp_parts_t *parts, dp_recover_t *recover,
                       const rd_kafka_topic_partition_list_t *list)
{
    dp_recover_part_t *req = dp_calloc((size_t)list->cnt + 1, sizeof(*req));

    for (int i = 0; i < list->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &list->elems[i];
        dp_part_t *p = dp_parts_add(parts, tp->topic, tp->partition);

        req[i].topic = tp->topic; /* copied by submit */
        req[i].partition = tp->partition;
        req[i].gen = p->gen;
        req[i].start = tp->offset;
        req[i].committed_fp = committed_fp(tp);
    }
    dp_recover_submit(recover, req, (size_t)list->cnt);
    free(req);
}

int dp_assign_apply(dp_parts_t *parts, dp_recover_t *recover, dp_kafka_t *kafka,
                    dp_offsets_t *offsets, rd_kafka_topic_partition_list_t *started, dp_err_t *err)
{
    dp_recover_part_t *done = NULL;
    size_t n = dp_recover_take(recover, &done);
    int rc = 0;

    for (size_t i = 0; i < n && rc == 0; i++) {
        dp_recover_part_t *c = &done[i];
        dp_part_t *p = dp_parts_find(parts, c->topic, c->partition);

        if (!p || p->gen != c->gen)
            continue; /* revoked (and perhaps assigned again) meanwhile */
        if (!c->won) {
            /* A later claim superseded ours: another member owns it, and a
             * revoke follows; should it not, claim it again. */
            c->start = p->start;
            dp_recover_submit(recover, c, 1);
            continue;
        }
        rd_kafka_topic_partition_list_add(started, p->topic, p->partition);
        if (c->stop) {
            /* Past the log's end, or a gap with on_retention_gap = stop
             * (recover.c said which): held, never read. */
            p->claimed = 1;
            dp_parts_stop(parts, p, kafka);
            continue;
        }
        if ((rc = dp_parts_start(parts, p, kafka, c->start, c->epoch, c->anchor, err)) < 0) {
            dp_err_prefix(err, "starting a claimed partition: ");
            break;
        }
        if (c->moved && c->start >= 0)
            dp_offsets_add_start(offsets, p->topic, p->partition, c->start);
        dp_log(DP_LOG_INFO, "worker", "%s [%d] claimed (epoch %lld), consuming from @%lld",
               p->topic, (int)p->partition, (long long)c->epoch, (long long)c->start);
    }
    dp_recover_parts_free(done, n);
    /* Partitions still waiting stay paused (an assignment resets the pause). */
    for (size_t i = 0; i < parts->n; i++) {
        if (!parts->items[i].claimed || parts->items[i].stopped)
            dp_kafka_hold(kafka, parts->items[i].topic, parts->items[i].partition);
    }
    return rc;
}

/* One partition whose position the broker called out of range. */
static int range_error(dp_parts_t *parts, dp_part_t *p, dp_recover_t *recover, dp_kafka_t *kafka,
                       dp_err_t *err)
{
    int64_t low = -1, high = -1;
    rd_kafka_resp_err_t rerr;
    int anchored;

    p->range_error = 0;
    rerr = rd_kafka_query_watermark_offsets(dp_kafka_handle(kafka), p->topic, p->partition, &low,
                                            &high, 5000);
    if (rerr) {
        dp_log(DP_LOG_WARN, "worker",
               "%s [%d]: offset out of range, and the watermarks cannot "
               "be read (%s): trying again",
               p->topic, (int)p->partition, rd_kafka_err2str(rerr));
        p->range_error = 1;
        return 0;
    }
    anchored = p->verify_off >= 0;
    if (dp_recover_place_start(recover, p->topic, p->partition, &p->start, &anchored, low, high)) {
        dp_parts_stop(parts, p, kafka);
        return 0;
    }
    p->verify_off = -1;
    p->expect = p->start;
    dp_parts_recount(parts);
    return dp_kafka_restart(kafka, p->topic, p->partition, p->start, err);
}

int dp_assign_range_errors(dp_parts_t *parts, dp_recover_t *recover, dp_kafka_t *kafka,
                           dp_err_t *err)
{
    int rc = 0;

    for (size_t i = 0; i < parts->n && rc == 0; i++) {
        if (parts->items[i].range_error && parts->items[i].claimed)
            rc = range_error(parts, &parts->items[i], recover, kafka, err);
    }
    return rc;
}

int dp_assign_restart(dp_parts_t *parts, dp_recover_t *recover, dp_kafka_t *kafka,
                      dp_offsets_t *offsets, rd_kafka_topic_partition_list_t *started,
                      dp_err_t *err)
{
    int rc = dp_assign_apply(parts, recover, kafka, offsets, started, err);

    if (rc == 0)
        rc = dp_assign_range_errors(parts, recover, kafka, err);
    dp_parts_seek_gaps(parts, kafka, started);
    return rc;
}

void dp_assign_revoke(dp_parts_t *parts, dp_recover_t *recover,
                      const rd_kafka_topic_partition_list_t *list)
{
    for (int i = 0; i < list->cnt; i++) {
        if (recover)
            dp_recover_forget(recover, list->elems[i].topic, list->elems[i].partition);
        dp_parts_remove(parts, list->elems[i].topic, list->elems[i].partition);
    }
}
