/*
 * worker: the poll loop of one deltaport worker (see worker.h).
 */
#include "worker.h"

#include "buf.h"
#include "claims.h"
#include "dbxconn.h"
#include "clock.h"
#include "decode.h"
#include "flush.h"
#include "kafka.h"
#include "kstats.h"
#include "loader.h"
#include "recover.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"
#include "router.h"
#include "sysrows.h"
#include "registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HOUSEKEEP_EVERY 1024
#define MAX_NAMES 100000
#define ERROR_TABLE "event_errors"

/* A partition this worker owns: its claim epoch (claims.h) and, after a
 * fenced flush was rewound, the offset the partition must restart at. */
typedef struct owned {
    char *topic;
    int32_t partition;
    int64_t epoch;
    int64_t expect; /* -1, or: drop its messages below this offset (after a seek) */
    int unclaimed;  /* assigned while Databricks could not take its claim: held
                     * paused, its messages dropped, claimed again from start */
    int64_t start;  /* the assigned start position, for the deferred claim */
    int64_t verify_off; /* -1, or the offset whose message must match verify_fp */
    uint32_t verify_fp; /* its fingerprint as loaded (the log was not replaced) */
    int stopped;    /* the log does not hold what was loaded: held, never read */
    int64_t gap_from;   /* -1, or: offsets from here were missing in the flush; to be
                         * read again from here (seek_gaps) */
    int64_t gap_to;     /* the offset that came after them */
    int64_t gap_verify; /* -1, or: after that seek, the first message at or below this
                         * tells a gap of the log from skipped messages */
} owned_t;

struct dp_worker {
    const dp_config_t *cfg;
    volatile sig_atomic_t *stop;
    dp_kafka_t *kafka;
    dp_decoder_t *dec;
    dp_registry_t *registry;     /* NULL without schemas.registry_url */
    dp_decode_scratch_t scratch;
    dp_router_t *router;
    dp_loader_t *loader;
    dp_flush_t *open;
    long long open_since_ms;     /* monotonic time of the open flush's first record */
    uint64_t seq;
    dp_buf_t errbody;            /* scratch for event_errors bodies */
    rd_kafka_message_t **held;   /* messages not yet handled because the flush was full, */
    size_t nheld, heldcap;       /* in arrival order: handled first after the next cut */
    int budget_paused;
    int closing;                 /* the shutdown drain ran: revokes no longer wait */
    dp_flush_t *loaded;          /* loaded, its commit to be retried after polling */
    dp_recover_t *recover;       /* finishes other workers' flushes on assignment */
    size_t flush_cap;            /* byte cap of one flush: max_bytes, at most half the budget */
    char incarnation[DP_CLAIMS_INCARNATION_SIZE]; /* the pool's (claims.h) */
    owned_t *owned;              /* assigned partitions with their claims */
    size_t nowned;
    rd_kafka_topic_partition_list_t *starts; /* claimed starts whose commit failed */
    uint64_t postponed;          /* seq of the flush whose postponed commit was logged */
    int nunclaimed;              /* owned partitions still to be claimed */
    long long next_claim_ms;     /* when to try their claims again */
    long claim_backoff_ms;
    dp_worker_stats_t stats;
};

/* ------------------------------------------------------------------------- */
/* Owned partitions                                                          */
/* ------------------------------------------------------------------------- */

static owned_t *find_owned(dp_worker_t *w, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < w->nowned; i++) {
        if (w->owned[i].partition == partition && strcmp(w->owned[i].topic, topic) == 0)
            return &w->owned[i];
    }
    return NULL;
}

static void set_owned(dp_worker_t *w, const char *topic, int32_t partition, int64_t epoch)
{
    owned_t *o = find_owned(w, topic, partition);

    if (!o) {
        w->owned = dp_realloc(w->owned, (w->nowned + 1) * sizeof(*w->owned));
        o = &w->owned[w->nowned++];
        o->topic = dp_strdup(topic);
        o->partition = partition;
    }
    o->epoch = epoch;
    o->expect = -1;
    o->unclaimed = 0;
    o->start = -1;
    o->verify_off = -1;
    o->verify_fp = 0;
    o->stopped = 0;
    o->gap_from = o->gap_to = o->gap_verify = -1;
}

/* Starts tp one message early when the fingerprint of the message before its
 * start is known: the first message delivered is checked (rewinding()) and
 * dropped, and a log that holds another message there (a recreated topic) is
 * stopped instead of read. */
static void anchor(dp_worker_t *w, rd_kafka_topic_partition_t *tp, int64_t fp)
{
    owned_t *o = find_owned(w, tp->topic, tp->partition);

    if (!o || fp < 0 || tp->offset <= 0)
        return;
    o->verify_off = tp->offset - 1;
    o->verify_fp = (uint32_t)fp;
    tp->offset = o->verify_off;
}

static void drop_owned(dp_worker_t *w, const char *topic, int32_t partition)
{
    owned_t *o = find_owned(w, topic, partition);

    if (!o)
        return;
    if (o->unclaimed)
        w->nunclaimed--;
    free(o->topic);
    *o = w->owned[--w->nowned];
}

/* ------------------------------------------------------------------------- */
/* Flush life cycle                                                          */
/* ------------------------------------------------------------------------- */

static void open_new_flush(dp_worker_t *w)
{
    w->open = dp_flush_new(++w->seq, dp_clock_wall_us(), w->incarnation, w->flush_cap);
    w->open_since_ms = 0;
}

struct stat_acc {
    dp_loader_stat_t *items;
    size_t n, cap;
};

static void take_stat(void *ctx, const char *name, int64_t count)
{
    struct stat_acc *acc = ctx;

    if (acc->n == acc->cap) {
        acc->cap = acc->cap ? acc->cap * 2 : 32;
        acc->items = dp_realloc(acc->items, acc->cap * sizeof(*acc->items));
    }
    acc->items[acc->n].name = dp_strdup(name);
    acc->items[acc->n].count = count;
    acc->items[acc->n].table_exists = 0;
    acc->n++;
}

/* Hands the open flush to the loader when it is idle. Returns 1 when cut. */
static int cut(dp_worker_t *w, const char *why)
{
    struct stat_acc acc = {NULL, 0, 0};

    if (w->loaded || dp_flush_rows(w->open) == 0 || dp_loader_busy(w->loader))
        return 0;
    for (size_t i = 0; i < dp_flush_nranges(w->open); i++) {
        const char *topic;
        int32_t part;
        int64_t first, last;
        const owned_t *o;

        if (dp_flush_range(w->open, i, &topic, &part, &first, &last) == 0 &&
            (o = find_owned(w, topic, part)) != NULL)
            dp_flush_set_epoch(w->open, topic, part, o->epoch);
    }
    dp_router_take_local(w->router, take_stat, &acc);
    dp_log(DP_LOG_INFO, "worker", "flush %llu cut (%s): %lld rows, %zu bytes, %zu tables",
           (unsigned long long)dp_flush_seq(w->open), why, (long long)dp_flush_rows(w->open),
           dp_flush_bytes(w->open), dp_flush_ntables(w->open));
    if (dp_loader_submit(w->loader, w->open, acc.items, acc.n) < 0) {
        dp_loader_stats_free(acc.items, acc.n); /* not reached: busy was checked */
        return 0;
    }
    open_new_flush(w);
    dp_metrics_flush_cut(why);
    return 1;
}

/* Commits last + 1 of every range of a loaded flush whose partition this
 * worker still owns, trying up to `attempts` times. Returns 0 (committed),
 * 1 (a retryable failure: the caller tries again after polling, since the
 * mock and real brokers answer REBALANCE_IN_PROGRESS until this member has
 * taken part in the rebalance), or -1 (a permanent failure). */
static int commit_flush(dp_worker_t *w, dp_flush_t *flush, int attempts, int *all_ours)
{
    rd_kafka_topic_partition_list_t *owned = dp_kafka_assignment(w->kafka);
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(8);
    uint64_t messages = 0;
    dp_err_t err;
    int rc = 0;

    for (size_t i = 0; i < dp_flush_nranges(flush); i++) {
        const char *topic;
        int32_t part;
        int64_t first, last;

        if (dp_flush_range(flush, i, &topic, &part, &first, &last) < 0)
            continue;
        if (!owned || !rd_kafka_topic_partition_list_find(owned, topic, part)) {
            *all_ours = 0;
            dp_log(DP_LOG_WARN, "worker", "%s [%d] @%lld..%lld loaded but no longer ours: not "
                   "committed", topic, (int)part, (long long)first, (long long)last);
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
        rc = dp_kafka_commit(w->kafka, list, &err);
        if (rc == 0 || !err.retryable || attempt >= attempts)
            break;
        dp_log(DP_LOG_WARN, "worker", "%s; retrying", err.msg);
        nanosleep(&(struct timespec){0, 200 * 1000000L}, NULL);
    }
    if (rc < 0 && err.retryable) {
        /* Retried every housekeeping pass while the group rebalances: said
         * once per flush, then at debug level. */
        dp_log(w->postponed == dp_flush_seq(flush) ? DP_LOG_DEBUG : DP_LOG_WARN, "worker",
               "flush %llu loaded, commit postponed: %s", (unsigned long long)dp_flush_seq(flush),
               err.msg);
        w->postponed = dp_flush_seq(flush);
        rc = 1;
    } else if (rc < 0) {
        dp_metrics_add(DP_MC_COMMIT_FAILURES, 1);
        dp_log(DP_LOG_ERROR, "worker", "flush %llu loaded but not committed: %s",
               (unsigned long long)dp_flush_seq(flush), err.msg);
    } else {
        w->stats.committed += messages;
        dp_metrics_add(DP_MC_COMMITS, 1);
        /* Past any claimed start still waiting for its commit: never commit
         * that one later (commits only go forward). */
        for (int i = 0; w->starts && i < list->cnt; i++)
            rd_kafka_topic_partition_list_del(w->starts, list->elems[i].topic,
                                              list->elems[i].partition);
        dp_kstats_committed(list);
        dp_log(DP_LOG_INFO, "worker", "flush %llu loaded and committed: %llu messages in %d "
               "partitions", (unsigned long long)dp_flush_seq(flush),
               (unsigned long long)messages, list->cnt);
    }
    rd_kafka_topic_partition_list_destroy(list);
    if (owned)
        rd_kafka_topic_partition_list_destroy(owned);
    return rc < 0 ? -1 : rc;
}

/* Takes a loaded flush from the loader, commits it and retires its files. */
/* Deletes a committed flush's manifest and files, unless it was not
 * committed whole (some partitions belong to other workers now, or the group
 * refused the commit): their owners finish it (a no-op) and commit it
 * themselves, and the manifest must stay until then. */
static void retire(dp_worker_t *w, dp_flush_t *flush, int all_ours)
{
    if (all_ours) {
        dp_loader_retire(w->loader, flush);
        return;
    }
    dp_log(DP_LOG_INFO, "worker", "flush %llu: manifest kept for the partitions' new owners",
           (unsigned long long)dp_flush_seq(flush));
    dp_flush_destroy(flush);
}

static void drop_held(dp_worker_t *w, const rd_kafka_topic_partition_list_t *parts);

/* A flush the loader fenced (a newer claim on one of its partitions never saw
 * its manifest, claims.h) is not committed. Each of its partitions this
 * worker still owns under the same claim is read again from the flush's
 * first offset; a partition claimed since (by anyone, this worker included)
 * already starts where its claim's recovery put it. */
static void rewind_fenced(dp_worker_t *w, dp_flush_t *flush)
{
    rd_kafka_topic_partition_list_t *again = rd_kafka_topic_partition_list_new(4);

    for (size_t i = 0; i < dp_flush_nranges(flush); i++) {
        const char *topic;
        int32_t part;
        int64_t first, last;
        owned_t *o;
        dp_err_t err;

        if (dp_flush_range(flush, i, &topic, &part, &first, &last) < 0 ||
            !(o = find_owned(w, topic, part)) || o->epoch != dp_flush_range_epoch(flush, i))
            continue;
        dp_flush_drop_partition(w->open, topic, part);
        rd_kafka_topic_partition_list_add(again, topic, part);
        if (dp_kafka_seek(w->kafka, topic, part, first, &err) < 0) {
            /* Without the seek the partition would skip the flush's offsets:
             * stop instead; the next owner reads them. */
            dp_log(DP_LOG_ERROR, "worker", "%s; exiting so that the next owner reads them",
                   err.msg);
            _exit(1);
        }
        o->expect = first;
        dp_log(DP_LOG_WARN, "worker", "%s [%d]: flush %llu fenced, reading again from @%lld",
               topic, (int)part, (unsigned long long)dp_flush_seq(flush), (long long)first);
    }
    drop_held(w, again);
    rd_kafka_topic_partition_list_destroy(again);
}

static void finish_loaded(dp_worker_t *w, int attempts)
{
    dp_loader_stat_t *stats = NULL;
    size_t n = 0;
    dp_flush_t *flush = w->loaded;
    int all_ours = 1, rc;

    if (flush) {
        if ((rc = commit_flush(w, flush, attempts, &all_ours)) > 0)
            return;
        w->loaded = NULL;
        retire(w, flush, rc == 0 && all_ours);
        return;
    }
    flush = dp_loader_take_done(w->loader, &stats, &n);
    if (!flush)
        return;
    if (dp_flush_fenced(flush)) {
        rewind_fenced(w, flush);
        dp_loader_stats_free(stats, n);
        dp_flush_destroy(flush);
        return;
    }
    if ((rc = commit_flush(w, flush, attempts, &all_ours)) > 0)
        w->loaded = flush; /* loaded, not yet committed: kept until it is */
    for (size_t i = 0; i < n; i++)
        dp_router_add_shared(w->router, stats[i].name, stats[i].count);
    dp_loader_stats_free(stats, n);
    w->stats.flushes++;
    dp_metrics_add(DP_MC_FLUSHES_LOADED, 1);
    /* A refused commit (the group moved on) keeps the manifest: the next
     * owner finishes this flush instead of cutting its offsets again. */
    if (!w->loaded)
        retire(w, flush, rc == 0 && all_ours);
}

static void poll_hold(dp_worker_t *w, int timeout_ms);

/* Loads and commits everything held, waiting at most timeout_ms. With
 * can_poll (not inside a rebalance callback) it keeps polling while it waits,
 * so that the group's rebalances complete and commits are accepted; what it
 * polls meanwhile is held, not committed, and read again by the next owner. */
static void drain(dp_worker_t *w, long timeout_ms, const char *why, int can_poll)
{
    long long deadline = dp_clock_mono_ms() + timeout_ms;

    while (dp_clock_mono_ms() < deadline) {
        if (dp_loader_busy(w->loader) && !w->loaded) {
            dp_loader_wait(w->loader, 100);
            if (can_poll)
                poll_hold(w, 0);
            if (dp_loader_busy(w->loader))
                continue;
        }
        finish_loaded(w, can_poll ? 1 : 3);
        if (w->loaded) {
            if (can_poll)
                poll_hold(w, 100);
            continue;
        }
        if (!cut(w, why))
            return;
    }
    dp_log(DP_LOG_WARN, "worker", "%s: loading and committing did not finish within %ld ms; "
           "what is not committed will be read again", why, timeout_ms);
}

/* ------------------------------------------------------------------------- */
/* Kafka hooks                                                               */
/* ------------------------------------------------------------------------- */

static void drop_held(dp_worker_t *w, const rd_kafka_topic_partition_list_t *parts)
{
    size_t keep = 0;

    if (parts->cnt == 0)
        return;

    for (size_t i = 0; i < w->nheld; i++) {
        rd_kafka_message_t *m = w->held[i];

        if (rd_kafka_topic_partition_list_find(parts, rd_kafka_topic_name(m->rkt), m->partition))
            rd_kafka_message_destroy(m);
        else
            w->held[keep++] = m;
    }
    w->nheld = keep;
}

static void commit_starts(dp_worker_t *w);

static void on_revoke(void *opaque, const rd_kafka_topic_partition_list_t *parts, int lost)
{
    dp_worker_t *w = opaque;

    drop_held(w, parts);
    if (w->closing) {
        /* leaving after the shutdown drain: what it left is read again */
    } else if (lost) {
        for (int i = 0; i < parts->cnt; i++)
            dp_flush_drop_partition(w->open, parts->elems[i].topic, parts->elems[i].partition);
    } else {
        if (w->starts)
            commit_starts(w); /* before the partitions go */
        drain(w, (long)w->cfg->worker.shutdown_timeout_ms, "revoke", 0);
        /* A drain that ran out of time leaves the partitions' events in the
         * open flush; the next owner reads them again. */
        for (int i = 0; i < parts->cnt; i++)
            dp_flush_drop_partition(w->open, parts->elems[i].topic, parts->elems[i].partition);
    }
    for (int i = 0; i < parts->cnt; i++)
        drop_owned(w, parts->elems[i].topic, parts->elems[i].partition);
}

/* Claims parts (recover.h), then commits the starts that moved. Returns 0,
 * or a DP_E* code with parts' offsets unchanged. */
static int claim(dp_worker_t *w, rd_kafka_topic_partition_list_t *parts, int64_t *epochs,
                 int64_t *anchors, dp_err_t *err)
{
    rd_kafka_topic_partition_list_t *before = rd_kafka_topic_partition_list_copy(parts);
    rd_kafka_topic_partition_list_t *moved;
    int completed = 0, repaired = 0;
    dp_err_t cerr;

    if (dp_recover_assign(w->recover, parts, epochs, anchors, &completed, &repaired, err) < 0) {
        for (int i = 0; i < parts->cnt; i++)
            parts->elems[i].offset = before->elems[i].offset;
        rd_kafka_topic_partition_list_destroy(before);
        return DP_EFAIL;
    }
    if (repaired > 0)
        dp_metrics_add(DP_MC_OFFSET_REPAIRS, (uint64_t)repaired);
    moved = rd_kafka_topic_partition_list_new(parts->cnt);
    for (int i = 0; i < parts->cnt; i++) {
        if (parts->elems[i].offset >= 0 && parts->elems[i].offset != before->elems[i].offset)
            rd_kafka_topic_partition_list_add(moved, parts->elems[i].topic,
                                              parts->elems[i].partition)->offset =
                parts->elems[i].offset;
    }
    /* Only forward: a start is never below the committed offset. A failure
     * (the group is still rebalancing) is retried from the poll loop. */
    if (moved->cnt > 0 && dp_kafka_commit(w->kafka, moved, &cerr) < 0) {
        dp_log(DP_LOG_WARN, "worker", "committing the start of %d partition(s) after %d finished "
               "flush(es): %s (the consumer starts there anyway; retried)", moved->cnt,
               completed, cerr.msg);
        if (!w->starts)
            w->starts = rd_kafka_topic_partition_list_new(moved->cnt);
        for (int i = 0; i < moved->cnt; i++) {
            rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_find(
                w->starts, moved->elems[i].topic, moved->elems[i].partition);

            if (!tp)
                tp = rd_kafka_topic_partition_list_add(w->starts, moved->elems[i].topic,
                                                       moved->elems[i].partition);
            tp->offset = moved->elems[i].offset;
        }
    }
    rd_kafka_topic_partition_list_destroy(moved);
    rd_kafka_topic_partition_list_destroy(before);
    return 0;
}

/* Before newly assigned partitions are consumed: take their claims, finish
 * every flush left pending on them (by a worker that crashed or lost them),
 * start after it and commit that start. When Databricks cannot be reached,
 * the partitions are assigned anyway but held paused, and claimed again from
 * the poll loop (claim_deferred): the callback must not block the group, and
 * consuming from the committed offset instead would cut those offsets again
 * under other file names. */
static void on_assign(void *opaque, rd_kafka_topic_partition_list_t *parts)
{
    dp_worker_t *w = opaque;
    int64_t *epochs = dp_calloc((size_t)parts->cnt + 1, sizeof(*epochs));
    int64_t *anchors = dp_calloc((size_t)parts->cnt + 1, sizeof(*anchors));
    dp_err_t err;
    int rc = claim(w, parts, epochs, anchors, &err);

    for (int i = 0; i < parts->cnt; i++) {
        owned_t *o;

        set_owned(w, parts->elems[i].topic, parts->elems[i].partition, epochs[i]);
        if (rc == 0) {
            anchor(w, &parts->elems[i], anchors[i]);
            continue;
        }
        o = find_owned(w, parts->elems[i].topic, parts->elems[i].partition);
        o->unclaimed = 1;
        o->start = parts->elems[i].offset;
        w->nunclaimed++;
    }
    if (rc < 0) {
        w->claim_backoff_ms = 1000;
        w->next_claim_ms = dp_clock_mono_ms() + w->claim_backoff_ms;
        dp_log(DP_LOG_ERROR, "worker", "claiming %d partition(s) failed; they stay paused and are "
               "claimed again in %ld ms: %s", parts->cnt, w->claim_backoff_ms, err.msg);
    }
    free(epochs);
    free(anchors);
}

/* Holds unclaimed partitions paused, and retries their claims with backoff;
 * a claimed partition is sought to its start and released. */
static void claim_deferred(dp_worker_t *w)
{
    rd_kafka_topic_partition_list_t *parts;
    int64_t *epochs, *anchors;
    dp_err_t err;

    for (size_t i = 0; i < w->nowned; i++) {
        if (w->owned[i].unclaimed)
            dp_kafka_hold(w->kafka, w->owned[i].topic, w->owned[i].partition);
    }
    if (dp_clock_mono_ms() < w->next_claim_ms)
        return;
    parts = rd_kafka_topic_partition_list_new(w->nunclaimed);
    for (size_t i = 0; i < w->nowned; i++) {
        if (w->owned[i].unclaimed)
            rd_kafka_topic_partition_list_add(parts, w->owned[i].topic,
                                              w->owned[i].partition)->offset = w->owned[i].start;
    }
    epochs = dp_calloc((size_t)parts->cnt + 1, sizeof(*epochs));
    anchors = dp_calloc((size_t)parts->cnt + 1, sizeof(*anchors));
    if (claim(w, parts, epochs, anchors, &err) < 0) {
        w->claim_backoff_ms = w->claim_backoff_ms < 30000 ? w->claim_backoff_ms * 2 : 30000;
        w->next_claim_ms = dp_clock_mono_ms() + w->claim_backoff_ms;
        dp_log(DP_LOG_ERROR, "worker", "claiming %d partition(s) failed again; next try in %ld "
               "ms: %s", parts->cnt, w->claim_backoff_ms, err.msg);
    } else {
        for (int i = 0; i < parts->cnt; i++) {
            rd_kafka_topic_partition_t *tp = &parts->elems[i];
            owned_t *o = find_owned(w, tp->topic, tp->partition);
            int64_t at;

            o->epoch = epochs[i];
            o->unclaimed = 0;
            w->nunclaimed--;
            anchor(w, tp, anchors[i]);
            at = tp->offset;
            dp_flush_drop_partition(w->open, tp->topic, tp->partition);
            if (dp_kafka_seek(w->kafka, tp->topic, tp->partition, at, &err) < 0) {
                dp_log(DP_LOG_ERROR, "worker", "%s; exiting so that the next owner reads it",
                       err.msg);
                _exit(1);
            }
            o->expect = tp->offset >= 0 ? tp->offset : -1;
            dp_kafka_release(w->kafka, tp->topic, tp->partition);
            dp_log(DP_LOG_INFO, "worker", "%s [%d] claimed (epoch %lld), consuming from @%lld",
                   tp->topic, (int)tp->partition, (long long)o->epoch, (long long)tp->offset);
        }
        drop_held(w, parts);
    }
    free(epochs);
    free(anchors);
    rd_kafka_topic_partition_list_destroy(parts);
}

static void on_partition_error(void *opaque, const char *topic, int32_t partition,
                               rd_kafka_resp_err_t code, const char *reason)
{
    (void)opaque;
    dp_log(DP_LOG_ERROR, "worker", "%s [%d] stopped: %s (%s). Its start is outside the log: "
           "the topic was recreated or truncated, or offsets were reset. Nothing is skipped: "
           "the partition waits for an operator (after a recreation: `deltaport incarnation "
           "new`, then restart the pool; docs/DELIVERY.md)", topic, (int)partition, reason,
           rd_kafka_err2name(code));
}

/* ------------------------------------------------------------------------- */
/* Messages                                                                  */
/* ------------------------------------------------------------------------- */

/* Appends the event_errors record of a rejected message. */
static int add_error(dp_worker_t *w, const rd_kafka_message_t *msg, const char *code,
                     const char *message, dp_err_t *err)
{
    dp_buf_reset(&w->errbody);
    if (dp_sysrows_error(&w->errbody, code, message, msg->payload, msg->len,
                         w->cfg->worker.id, err) < 0)
        return DP_ETOOBIG;
    return dp_flush_add(w->open, ERROR_TABLE, rd_kafka_topic_name(msg->rkt), msg->partition,
                        msg->offset, rd_kafka_message_timestamp(msg, NULL),
                        dp_buf_data(&w->errbody), dp_buf_len(&w->errbody), err);
}

/* Decodes a message; a schema id that is not loaded is asked from the
 * registry, added to the decoder, and the message decoded again. Returns 0,
 * DP_EINVAL (rejected: dec->reject), or DP_EAGAIN when the registry is
 * unavailable: the message is valid as far as we know, so it is held, never
 * rejected (docs/SCHEMA_REGISTRY.md). */
static int decode(dp_worker_t *w, const char *topic, const rd_kafka_message_t *msg,
                  dp_decoded_t *dec, dp_err_t *err)
{
    int rc = dp_decode_message(w->dec, topic, msg->payload, msg->len, dec, &w->scratch, err);

    if (rc == 0 || !w->registry || dec->reject.code != DP_REJ_UNKNOWN_SCHEMA_ID)
        return rc;
    rc = dp_registry_load_into(w->registry, w->dec, dec->schema_id, err);
    if (rc == DP_EAGAIN)
        return rc;
    if (rc == 0)
        return dp_decode_message(w->dec, topic, msg->payload, msg->len, dec, &w->scratch, err);
    dp_reject_set(&dec->reject, rc == DP_ENOTFOUND ? DP_REJ_UNKNOWN_SCHEMA_ID
                  : DP_REJ_INCOMPATIBLE_SCHEMA, "$", "%s", err->msg);
    return DP_EINVAL;
}

/* After a partition was sought (rewind_fenced, claim_deferred), drop what
 * arrives below the sought offset (librdkafka's version barrier drops what
 * was fetched before the seek; this guards the rest), and everything of a
 * partition not claimed yet. Returns 1 when msg is dropped. */
static int rewinding(dp_worker_t *w, const char *topic, const rd_kafka_message_t *msg)
{
    owned_t *o = find_owned(w, topic, msg->partition);

    if (!o)
        return 0;
    if (o->unclaimed || o->stopped || o->gap_from >= 0)
        return 1;
    if (o->verify_off >= 0) {
        if (msg->offset < o->verify_off)
            return 1;
        if (msg->offset == o->verify_off) {
            uint32_t fp = dp_kafka_fingerprint(msg);

            o->verify_off = -1;
            if (fp == o->verify_fp)
                return 1; /* the message loaded there: the log is the same; drop it */
            o->stopped = 1;
            dp_kafka_hold(w->kafka, topic, msg->partition);
            dp_log(DP_LOG_ERROR, "worker", "%s [%d] stopped: the message at @%lld is not the one "
                   "loaded there (fingerprint %08x, loaded %08x): the topic was deleted and "
                   "recreated, or its log replaced. Nothing is read from it: after a recreation "
                   "run `deltaport incarnation new`, then restart the pool (docs/DELIVERY.md)",
                   topic, (int)msg->partition, (long long)msg->offset, (unsigned)fp,
                   (unsigned)o->verify_fp);
            return 1;
        }
        dp_log(DP_LOG_WARN, "worker", "%s [%d]: @%lld, the message before the start, is gone "
               "(compaction or retention): the log cannot be checked; reading from @%lld", topic,
               (int)msg->partition, (long long)o->verify_off, (long long)msg->offset);
        o->verify_off = -1;
    }
    if (o->expect >= 0) {
        if (msg->offset < o->expect)
            return 1;
        o->expect = -1;
    }
    if (o->gap_verify >= 0) {
        if (msg->offset > o->gap_verify)
            return 1; /* fetched before the seek took effect */
        if (msg->offset == o->gap_verify) {
            dp_flush_allow_gap(w->open, topic, msg->partition, msg->offset);
            dp_log(DP_LOG_INFO, "worker", "%s [%d]: read again, the log still goes on at @%lld: "
                   "the offsets before it do not exist for a consumer (compaction or transaction "
                   "markers); gap accepted", topic, (int)msg->partition, (long long)msg->offset);
        } else {
            dp_log(DP_LOG_ERROR, "worker", "%s [%d]: read again, the log has @%lld: the consumer "
                   "had skipped @%lld..@%lld (a client bug); they are loaded now", topic,
                   (int)msg->partition, (long long)msg->offset, (long long)msg->offset,
                   (long long)o->gap_verify - 1);
        }
        o->gap_verify = -1;
    }
    return 0;
}

static void stop_partition(dp_worker_t *w, const char *topic, const rd_kafka_message_t *msg,
                           const char *why);

/* The flush refused msg because offsets are missing before it (DP_FLUSH_GAP):
 * either the consumer skipped them or the log has none there. The partition
 * is read again from the first missing offset (seek_gaps, from housekeeping;
 * its messages are dropped until then) and the first message the broker
 * delivers tells which (rewinding). */
static void gap_found(dp_worker_t *w, const char *topic, const rd_kafka_message_t *msg,
                      const char *why)
{
    owned_t *o = find_owned(w, topic, msg->partition);
    int64_t last = dp_flush_last(w->open, topic, msg->partition);

    if (!o || last < 0) {
        stop_partition(w, topic, msg, why);
        return;
    }
    o->gap_from = last + 1;
    o->gap_to = msg->offset;
    dp_log(DP_LOG_WARN, "worker", "%s; reading %s [%d] again from @%lld to tell a gap of the log "
           "from skipped messages", why, topic, (int)msg->partition, (long long)o->gap_from);
}

/* Seeks every partition with a gap pending back to its first missing offset
 * and drops what is held of it (it arrives again). */
static void seek_gaps(dp_worker_t *w)
{
    rd_kafka_topic_partition_list_t *again = NULL;

    for (size_t i = 0; i < w->nowned; i++) {
        owned_t *o = &w->owned[i];
        dp_err_t err;

        if (o->gap_from < 0)
            continue;
        if (!again)
            again = rd_kafka_topic_partition_list_new(4);
        rd_kafka_topic_partition_list_add(again, o->topic, o->partition);
        if (dp_kafka_seek(w->kafka, o->topic, o->partition, o->gap_from, &err) < 0) {
            /* Without the seek the missing offsets stay unread: stop here,
             * nothing past them is committed. */
            o->stopped = 1;
            dp_kafka_hold(w->kafka, o->topic, o->partition);
            dp_log(DP_LOG_ERROR, "worker", "%s [%d] stopped before @%lld: %s", o->topic,
                   (int)o->partition, (long long)o->gap_from, err.msg);
        } else {
            o->expect = o->gap_from;
            o->gap_verify = o->gap_to;
        }
        o->gap_from = -1;
    }
    if (again) {
        drop_held(w, again);
        rd_kafka_topic_partition_list_destroy(again);
    }
}

/* A message the flush refused for a reason other than its size or a
 * redelivery (not a data error: those become event_errors rows): the
 * partition stops at it, like a replaced log. Nothing from this offset on is
 * committed, so the message is read again after a restart; never dropped. */
static void stop_partition(dp_worker_t *w, const char *topic, const rd_kafka_message_t *msg,
                           const char *why)
{
    owned_t *o = find_owned(w, topic, msg->partition);

    if (!o) {
        set_owned(w, topic, msg->partition, 0);
        o = find_owned(w, topic, msg->partition);
    }
    o->stopped = 1;
    dp_kafka_hold(w->kafka, topic, msg->partition);
    dp_log(DP_LOG_ERROR, "worker", "%s [%d] stopped at @%lld: the flush refused the message: %s. "
           "Nothing from this offset on is committed; the partition is read again from it after "
           "a restart", topic, (int)msg->partition, (long long)msg->offset, why);
}

/* Handles one message. Returns 0, or DP_ETOOBIG when it did not fit in the
 * open flush, or DP_EAGAIN when its writer schema is unavailable (the caller
 * holds it and pauses). */
static int handle(dp_worker_t *w, const rd_kafka_message_t *msg)
{
    const char *topic = rd_kafka_topic_name(msg->rkt);
    const char *table = NULL;
    dp_decoded_t dec;
    dp_err_t err;
    char reason[600];
    int rc;

    if (w->nowned && rewinding(w, topic, msg))
        return 0;

    if ((rc = decode(w, topic, msg, &dec, &err)) == DP_EAGAIN)
        return rc;
    if (rc < 0) {
        snprintf(reason, sizeof(reason), "%s: %s", dec.reject.path, dec.reject.reason);
        rc = add_error(w, msg, dp_reject_name(dec.reject.code), reason, &err);
        if (rc == 0)
            w->stats.rejected++;
        if (rc == 0)
            dp_metrics_reject(dec.reject.code);
    } else if (dp_router_route(w->router, dec.ev.event_name.ptr, dec.ev.event_name.len, &table,
                               &err) < 0) {
        snprintf(reason, sizeof(reason), "$.event_name: %s", err.msg);
        rc = add_error(w, msg, "BAD_EVENT_NAME", reason, &err);
        if (rc == 0)
            w->stats.rejected++;
        if (rc == 0)
            dp_metrics_reject(DP_REJ_BAD_EVENT_NAME);
    } else {
        rc = dp_flush_add(w->open, table, topic, msg->partition, msg->offset,
                          rd_kafka_message_timestamp(msg, NULL), dec.body, dec.body_len, &err);
        if (rc == 0)
            w->stats.rows++;
    }
    if (rc == DP_FLUSH_REDELIVERY) {
        /* Offset not above what the flush holds: a redelivery after a seek. */
        dp_log(DP_LOG_DEBUG, "worker", "%s", err.msg);
        return 0;
    }
    if (rc == DP_FLUSH_GAP) {
        gap_found(w, topic, msg, err.msg);
        return 0;
    }
    if (rc < 0 && rc != DP_ETOOBIG) {
        stop_partition(w, topic, msg, err.msg);
        return 0;
    }
    if (rc == 0)
        dp_flush_set_last_message(w->open, msg->key, msg->key_len, msg->payload, msg->len);
    if (rc == 0 && w->open_since_ms == 0)
        w->open_since_ms = dp_clock_mono_ms();
    return rc;
}

/* ------------------------------------------------------------------------- */
/* The loop                                                                  */
/* ------------------------------------------------------------------------- */

static void apply_shared_counts(dp_worker_t *w)
{
    size_t n = 0;
    dp_loader_stat_t *shared = dp_loader_take_shared(w->loader, &n);

    for (size_t i = 0; i < n; i++)
        dp_router_apply_shared(w->router, shared[i].name, shared[i].count,
                               shared[i].table_exists);
    dp_loader_stats_free(shared, n);
}

static const char *flush_due(dp_worker_t *w)
{
    const dp_config_t *cfg = w->cfg;

    if (dp_flush_rows(w->open) == 0)
        return NULL;
    if (dp_flush_max_table_rows(w->open) >= cfg->flush.max_events)
        return "max_events";
    if ((int64_t)dp_flush_bytes(w->open) >= cfg->flush.max_bytes || dp_flush_full(w->open))
        return "max_bytes";
    if (w->open_since_ms && dp_clock_mono_ms() - w->open_since_ms >= cfg->flush.max_age_ms)
        return "max_age";
    return NULL;
}

static void hold(dp_worker_t *w, rd_kafka_message_t *msg)
{
    if (w->nheld == w->heldcap) {
        w->heldcap = w->heldcap ? w->heldcap * 2 : 64;
        w->held = dp_realloc(w->held, w->heldcap * sizeof(*w->held));
    }
    w->held[w->nheld++] = msg;
}

/* 1 for handle()'s "keep the message for later" answers. */
static int must_hold(int rc)
{
    return rc == DP_ETOOBIG || rc == DP_EAGAIN;
}

/* Polls once while draining: a message is held, never handled, and the
 * partitions pause so that few arrive. */
static void poll_hold(dp_worker_t *w, int timeout_ms)
{
    rd_kafka_message_t *msg = dp_kafka_poll(w->kafka, timeout_ms);

    if (!msg)
        return;
    hold(w, msg);
    if (!w->budget_paused) {
        dp_kafka_pause_all(w->kafka);
        w->budget_paused = 1;
    }
}

/* Handles held messages in arrival order, so that no partition gets a gap. */
static void replay_held(dp_worker_t *w)
{
    size_t done = 0;

    while (done < w->nheld && !must_hold(handle(w, w->held[done]))) {
        rd_kafka_message_destroy(w->held[done]);
        w->stats.consumed++;
        done++;
    }
    if (done > 0) {
        memmove(w->held, w->held + done, (w->nheld - done) * sizeof(*w->held));
        w->nheld -= done;
    }
}

/* Commits the claimed starts whose commit failed, for the partitions still
 * owned and not committed past since (a later flush's commit covers them). */
static void commit_starts(dp_worker_t *w)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(w->starts->cnt);
    dp_err_t err;

    for (int i = 0; i < w->starts->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &w->starts->elems[i];

        if (find_owned(w, tp->topic, tp->partition))
            rd_kafka_topic_partition_list_add(list, tp->topic, tp->partition)->offset = tp->offset;
    }
    if (list->cnt == 0 || dp_kafka_commit(w->kafka, list, &err) == 0) {
        rd_kafka_topic_partition_list_destroy(w->starts);
        w->starts = NULL;
    } else {
        dp_log(DP_LOG_DEBUG, "worker", "committing claimed starts: %s", err.msg);
    }
    rd_kafka_topic_partition_list_destroy(list);
}

static void housekeep(dp_worker_t *w)
{
    const char *why;

    if (w->starts && !w->loaded)
        commit_starts(w);
    if (w->nunclaimed > 0)
        claim_deferred(w);
    seek_gaps(w);
    finish_loaded(w, 1);
    apply_shared_counts(w);
    dp_metrics_set(DP_MG_BUFFER_OPEN_BYTES, (int64_t)dp_flush_bytes(w->open));
    why = flush_due(w);
    if (why)
        cut(w, why);
    replay_held(w);
    if (w->budget_paused && !w->nheld && !dp_loader_busy(w->loader)) {
        dp_kafka_resume_all(w->kafka);
        w->budget_paused = 0;
        dp_log(DP_LOG_INFO, "worker", "resumed consuming");
    }
}

static void poll_once(dp_worker_t *w, int timeout_ms)
{
    rd_kafka_message_t *msg = dp_kafka_poll(w->kafka, timeout_ms);
    int rc;

    if (!msg)
        return;
    rc = w->nheld > 0 ? DP_ETOOBIG : handle(w, msg);
    /* A full flush is cut at once when the loader is free (the usual case:
     * a flush is cut when full, never past max_bytes); pausing is only for a
     * full flush while the previous one loads. */
    if (rc == DP_ETOOBIG && w->nheld == 0 && cut(w, "max_bytes"))
        rc = handle(w, msg);
    if (must_hold(rc)) {
        hold(w, msg);
        if (!w->budget_paused) {
            dp_kafka_pause_all(w->kafka);
            w->budget_paused = 1;
            dp_log(DP_LOG_WARN, "worker", "flush full (%zu bytes) while the previous one loads, "
                   "or a writer schema unavailable: partitions paused", dp_flush_bytes(w->open));
        }
        return;
    }
    w->stats.consumed++;
    rd_kafka_message_destroy(msg);
}

int dp_worker_run(dp_worker_t *w, dp_err_t *err)
{
    long long last_hk = dp_clock_mono_ms();

    dp_log(DP_LOG_INFO, "worker", "worker %s running", w->cfg->worker.id);
    while (!*w->stop) {
        int n = 0;

        while (!w->nheld && n < HOUSEKEEP_EVERY && !*w->stop) {
            uint64_t before = w->stats.consumed;

            poll_once(w, n == 0 ? 100 : 0);
            if (w->stats.consumed == before)
                break;
            n++;
        }
        if (n == HOUSEKEEP_EVERY || w->nheld || dp_clock_mono_ms() - last_hk >= 50) {
            housekeep(w);
            last_hk = dp_clock_mono_ms();
        }
        if (w->nheld)
            poll_once(w, 50); /* keep serving the group while paused */
    }
    dp_log(DP_LOG_INFO, "worker", "stopping: loading and committing what is held");
    drain(w, (long)w->cfg->worker.shutdown_timeout_ms, "shutdown", 1);
    for (int i = 0; i < 10 && w->starts; i++) {
        commit_starts(w);
        if (w->starts)
            poll_hold(w, 100); /* let a rebalance in progress complete */
    }
    w->closing = 1;
    (void)err;
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Construction                                                              */
/* ------------------------------------------------------------------------- */

static char *read_text(const char *path, dp_err_t *err)
{
    FILE *f = fopen(path, "rb");
    dp_buf_t buf;
    char chunk[4096];
    size_t n, len;
    char *text;

    if (!f) {
        dp_err_set(err, DP_ENOTFOUND, 0, "cannot open %s", path);
        return NULL;
    }
    dp_buf_init(&buf, 4 * 1024 * 1024);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (dp_buf_append(&buf, chunk, n, err) < 0) {
            fclose(f);
            dp_buf_free(&buf);
            return NULL;
        }
    }
    fclose(f);
    dp_buf_append(&buf, "", 1, err);
    text = (char *)dp_buf_detach(&buf, &len);
    return text;
}

static int make_decoder(dp_worker_t *w, dp_err_t *err)
{
    const dp_config_t *cfg = w->cfg;

    w->dec = dp_decoder_open(cfg->schemas.dir, err);
    if (!w->dec)
        return DP_EINVAL;
    w->registry = dp_registry_from_config(cfg, err);
    if (!w->registry && err->code != DP_OK)
        return DP_EINVAL;
    for (size_t i = 0; i < cfg->schemas.fixed_writer_schema_ids.n; i++) {
        const dp_config_pair_t *p = &cfg->schemas.fixed_writer_schema_ids.items[i];

        if (dp_decoder_set_topic_schema(w->dec, p->key, (uint32_t)p->num, err) < 0)
            return DP_EINVAL;
    }
    dp_decode_scratch_init(&w->scratch, DP_DECODE_DEFAULT_MAX_MESSAGE * 2);
    return 0;
}

/* The pool's incarnation (claims.h), read or minted once at start. While
 * Databricks cannot answer, it waits (the worker is not ready yet) until
 * stopped. */
static int resolve_incarnation(dp_worker_t *w, dp_err_t *err)
{
    dp_dbxconn_t conn = {NULL, NULL};
    long backoff = 1000;
    int rc;

    if ((rc = dp_dbxconn_open(&conn, w->cfg, NULL, NULL, err)) < 0)
        return rc;
    while ((rc = dp_claims_setup(conn.client, w->cfg, err)) < 0 ||
           (rc = dp_claims_incarnation(conn.client, w->cfg, w->cfg->kafka.group_id, 0,
                                       w->incarnation, err)) < 0) {
        if (*w->stop || rc == DP_EINVAL)
            break;
        dp_log(DP_LOG_ERROR, "worker", "reading the pool's incarnation failed, retrying in %ld "
               "ms: %s", backoff, err->msg);
        nanosleep(&(struct timespec){backoff / 1000, (backoff % 1000) * 1000000L}, NULL);
        backoff = backoff < 30000 ? backoff * 2 : 30000;
    }
    dp_dbxconn_close(&conn);
    if (rc == 0)
        dp_log(DP_LOG_INFO, "worker", "incarnation %s", w->incarnation);
    return rc;
}

static int make_loader(dp_worker_t *w, dp_err_t *err)
{
    char path[4096];
    char *canonical;
    dp_loader_opts_t lo;

    if (resolve_incarnation(w, err) < 0)
        return DP_EINVAL;
    snprintf(path, sizeof(path), "%s/canonical_event.avsc", w->cfg->schemas.dir);
    canonical = read_text(path, err);
    if (!canonical)
        return DP_EINVAL;
    lo.cfg = w->cfg;
    lo.canonical_schema = canonical;
    lo.incarnation = w->incarnation;
    lo.worker_id = w->cfg->worker.id;
    w->loader = dp_loader_new(&lo, err);
    if (w->loader)
        w->recover = dp_recover_new(w->cfg, lo.incarnation, lo.worker_id, err);
    if (w->loader && !w->recover) {
        free(canonical);
        return DP_EINVAL;
    }
    free(canonical);
    return w->loader ? 0 : DP_EINVAL;
}

static int make_kafka(dp_worker_t *w, dp_err_t *err)
{
    dp_kafka_hooks_t hooks = {w, on_assign, on_revoke, on_partition_error};
    dp_kafka_opts_t ko;

    dp_config_kafka_opts(w->cfg, &ko);
    w->kafka = dp_kafka_new(&ko, &hooks, err);
    if (w->kafka)
        dp_kafka_set_incarnation(w->kafka, w->incarnation);
    return w->kafka ? 0 : DP_EINVAL;
}

dp_worker_t *dp_worker_new(const dp_config_t *cfg, volatile sig_atomic_t *stop, dp_err_t *err)
{
    dp_worker_t *w = dp_calloc(1, sizeof(*w));

    w->cfg = cfg;
    w->stop = stop;
    /* A flush never exceeds max_bytes, and the open flush plus the one
     * loading never exceed the budget (issue 11 item 7). */
    w->flush_cap = (size_t)cfg->flush.max_bytes;
    if (w->flush_cap > (size_t)(cfg->flush.memory_budget_bytes / 2))
        w->flush_cap = (size_t)(cfg->flush.memory_budget_bytes / 2);
    dp_buf_init(&w->errbody, 2 * DP_SYSROWS_RAW_MAX);
    w->router = dp_router_new((dp_route_mode_t)cfg->routing.mode, cfg->routing.threshold,
                              cfg->routing.shared_table, cfg->routing.single_table, MAX_NAMES);
    if (make_decoder(w, err) < 0 || make_loader(w, err) < 0) {
        dp_worker_destroy(w);
        return NULL;
    }
    open_new_flush(w); /* its records carry the incarnation make_loader resolved */
    if (make_kafka(w, err) < 0) {
        dp_worker_destroy(w);
        return NULL;
    }
    return w;
}

void dp_worker_stats(const dp_worker_t *w, dp_worker_stats_t *out)
{
    *out = w->stats;
}

void dp_worker_destroy(dp_worker_t *w)
{
    if (!w)
        return;
    dp_kafka_destroy(w->kafka); /* leaves the group; the revoke hook drains first */
    for (size_t i = 0; i < w->nheld; i++)
        rd_kafka_message_destroy(w->held[i]);
    free(w->held);
    dp_loader_destroy(w->loader);
    dp_flush_destroy(w->loaded);
    dp_recover_destroy(w->recover);
    dp_flush_destroy(w->open);
    dp_router_destroy(w->router);
    if (w->dec)
        dp_decode_scratch_free(&w->scratch);
    dp_decoder_destroy(w->dec);
    dp_registry_destroy(w->registry);
    dp_buf_free(&w->errbody);
    for (size_t i = 0; i < w->nowned; i++)
        free(w->owned[i].topic);
    free(w->owned);
    if (w->starts)
        rd_kafka_topic_partition_list_destroy(w->starts);
    free(w);
}
