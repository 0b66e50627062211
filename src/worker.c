/*
 * worker: the poll loop of one deltaport worker (see worker.h).
 *
 * Threads: this file runs on the poll thread. The loader thread loads the
 * cut flush (loader.h); the recovery thread claims newly assigned partitions
 * and finishes what other workers left behind (recover.h); both send their
 * calls to Databricks through the dbxpool's lanes (dbxpool.h).
 */
#include "worker.h"

#include "backfill.h"
#include "buf.h"
#include "claims.h"
#include "clock.h"
#include "dbxconn.h"
#include "dbxpool.h"
#include "decode.h"
#include "flush.h"
#include "health.h"
#include "kafka.h"
#include "kstats.h"
#include "progress.h"
#include "loader.h"
#include "loadops.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"
#include "partitions.h"
#include "recover.h"
#include "registry.h"
#include "router.h"
#include "stmt.h"
#include "sysrows.h"
#include "tablename.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HOUSEKEEP_EVERY 1024
#define MAX_NAMES 100000

struct dp_worker {
    const dp_config_t *cfg;
    volatile sig_atomic_t *stop;
    dp_kafka_t *kafka;
    dp_decoder_t *dec;
    dp_registry_t *registry;     /* NULL without schemas.registry_url */
    dp_decode_scratch_t scratch;
    dp_router_t *router;
    int routing_ready;           /* the group's counts were read (threshold mode) */
    dp_dbxconn_t conn;           /* the worker's credential, shared by every client */
    dp_dbxpool_t *pool;
    dp_loadops_t *ops;
    dp_loader_t *loader;
    dp_recover_t *recover;
    dp_backfill_t *backfill;     /* threshold mode with routing.backfill_on_promotion */
    dp_flush_t *open;
    long long open_since_ms;     /* monotonic time of the open flush's first record */
    uint64_t seq;
    dp_buf_t errbody;            /* scratch for event_errors bodies */
    rd_kafka_message_t **held;   /* messages not yet handled (flush full, schema or counts */
    size_t nheld, heldcap;       /* unavailable), in arrival order: handled first later */
    int budget_paused;
    int closing;                 /* the shutdown drain ran: revokes no longer wait */
    dp_flush_t *loaded;          /* loaded, its commit to be retried after polling */
    size_t flush_cap;            /* byte cap of one flush */
    char incarnation[DP_CLAIMS_INCARNATION_SIZE]; /* the pool's (claims.h) */
    dp_parts_t parts;            /* assigned partitions with their claims */
    rd_kafka_topic_partition_list_t *starts; /* claimed starts whose commit failed */
    uint64_t postponed;          /* seq of the flush whose postponed commit was logged */
    dp_err_t fatal;              /* set when the poll loop cannot go on */
    int failed;
    dp_worker_stats_t stats;
};

static void fail(dp_worker_t *w, const dp_err_t *err)
{
    if (!w->failed) {
        w->fatal = *err;
        w->failed = 1;
    }
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
        const dp_part_t *p;

        if (dp_flush_range(w->open, i, &topic, &part, &first, &last) == 0 &&
            (p = dp_parts_find(&w->parts, topic, part)) != NULL)
            dp_flush_set_epoch(w->open, topic, part, p->epoch);
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

/* Deletes a committed flush's manifest and files, unless it was not
 * committed whole (some partitions belong to other workers now, or the group
 * refused the commit): their owners finish it (a no-op) and commit it
 * themselves, and the manifest must stay until then (it is pruned later). */
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
        dp_part_t *p;
        dp_err_t err;

        if (dp_flush_range(flush, i, &topic, &part, &first, &last) < 0 ||
            !(p = dp_parts_find(&w->parts, topic, part)) || !p->claimed ||
            p->epoch != dp_flush_range_epoch(flush, i))
            continue;
        dp_flush_drop_partition(w->open, topic, part);
        rd_kafka_topic_partition_list_add(again, topic, part);
        if (dp_parts_rewind(&w->parts, p, w->kafka, first, &err) < 0) {
            /* Without the seek the partition would skip the flush's offsets:
             * stop instead; the next owner reads them. */
            dp_err_prefix(&err, "a fenced flush cannot be read again: ");
            fail(w, &err);
            break;
        }
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
/* Claimed starts                                                            */
/* ------------------------------------------------------------------------- */

/* Commits the claimed starts whose commit failed, for the partitions still
 * owned and not committed past since (a later flush's commit covers them). */
static void commit_starts(dp_worker_t *w)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(w->starts->cnt);
    dp_err_t err;

    for (int i = 0; i < w->starts->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &w->starts->elems[i];

        if (dp_parts_find(&w->parts, tp->topic, tp->partition))
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

static void add_start(dp_worker_t *w, const char *topic, int32_t partition, int64_t offset)
{
    rd_kafka_topic_partition_t *tp;

    if (!w->starts)
        w->starts = rd_kafka_topic_partition_list_new(8);
    tp = rd_kafka_topic_partition_list_find(w->starts, topic, partition);
    if (!tp)
        tp = rd_kafka_topic_partition_list_add(w->starts, topic, partition);
    tp->offset = offset;
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

static void on_revoke(void *opaque, const rd_kafka_topic_partition_list_t *parts, int lost)
{
    dp_worker_t *w = opaque;

    drop_held(w, parts);
    if (w->closing) {
        /* leaving after the shutdown drain: what it left is read again */
    } else if (!lost) {
        if (w->starts)
            commit_starts(w); /* before the partitions go */
        drain(w, (long)w->cfg->worker.shutdown_timeout_ms, "revoke", 0);
    }
    /* A lost assignment, or a drain that ran out of time, leaves the
     * partitions' events in the open flush: the next owner reads them again. */
    for (int i = 0; i < parts->cnt && w->open; i++) {
        dp_flush_drop_partition(w->open, parts->elems[i].topic, parts->elems[i].partition);
        if (w->recover)
            dp_recover_forget(w->recover, parts->elems[i].topic, parts->elems[i].partition);
        dp_parts_remove(&w->parts, parts->elems[i].topic, parts->elems[i].partition);
    }
}

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

/* Newly assigned partitions are not consumed before their claims are taken
 * and what other workers left pending on them is finished: that runs on the
 * recovery thread (a rebalance callback must not wait on Databricks); until
 * then they are held paused and what they deliver is dropped. */
static void on_assign(void *opaque, rd_kafka_topic_partition_list_t *parts)
{
    dp_worker_t *w = opaque;
    dp_recover_part_t *req = dp_calloc((size_t)parts->cnt + 1, sizeof(*req));

    for (int i = 0; i < parts->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &parts->elems[i];
        dp_part_t *p = dp_parts_add(&w->parts, tp->topic, tp->partition);

        req[i].topic = tp->topic; /* copied by submit */
        req[i].partition = tp->partition;
        req[i].gen = p->gen;
        req[i].start = tp->offset;
        req[i].committed_fp = committed_fp(tp);
    }
    dp_recover_submit(w->recover, req, (size_t)parts->cnt);
    free(req);
}

/* Applies the claims the recovery thread finished: each partition starts
 * where its claim put it (after the ledger and any finished flush), checking
 * the message before that start when its fingerprint is known. */
static void apply_claims(dp_worker_t *w)
{
    dp_recover_part_t *done = NULL;
    size_t n = dp_recover_take(w->recover, &done);
    rd_kafka_topic_partition_list_t *started = rd_kafka_topic_partition_list_new((int)n + 1);

    for (size_t i = 0; i < n && !w->failed; i++) {
        dp_recover_part_t *c = &done[i];
        dp_part_t *p = dp_parts_find(&w->parts, c->topic, c->partition);
        dp_err_t err;

        if (!p || p->gen != c->gen)
            continue; /* revoked (and perhaps assigned again) meanwhile */
        if (!c->won) {
            /* A later claim superseded ours: another member owns it, and a
             * revoke follows; should it not, claim it again. */
            c->start = p->start;
            dp_recover_submit(w->recover, c, 1);
            continue;
        }
        dp_flush_drop_partition(w->open, p->topic, p->partition);
        rd_kafka_topic_partition_list_add(started, p->topic, p->partition);
        if (c->stop) {
            /* Past the log's end, or a gap with on_retention_gap = stop
             * (recover.c said which): held, never read. */
            p->claimed = 1;
            p->stopped = 1;
            dp_parts_recount(&w->parts);
            continue;
        }
        if (dp_parts_start(&w->parts, p, w->kafka, c->start, c->epoch, c->anchor, &err) < 0) {
            dp_err_prefix(&err, "starting a claimed partition: ");
            fail(w, &err);
            break;
        }
        if (c->moved && c->start >= 0)
            add_start(w, p->topic, p->partition, c->start);
        dp_log(DP_LOG_INFO, "worker", "%s [%d] claimed (epoch %lld), consuming from @%lld",
               p->topic, (int)p->partition, (long long)c->epoch, (long long)c->start);
    }
    drop_held(w, started);
    rd_kafka_topic_partition_list_destroy(started);
    dp_recover_parts_free(done, n);
    if (w->starts && !w->loaded)
        commit_starts(w);
    /* Partitions still waiting stay paused (an assignment resets the pause). */
    for (size_t i = 0; i < w->parts.n; i++) {
        if (!w->parts.items[i].claimed || w->parts.items[i].stopped)
            dp_kafka_hold(w->kafka, w->parts.items[i].topic, w->parts.items[i].partition);
    }
}

static void on_partition_error(void *opaque, const char *topic, int32_t partition,
                               rd_kafka_resp_err_t code, const char *reason)
{
    dp_worker_t *w = opaque;
    dp_part_t *p = dp_parts_find(&w->parts, topic, partition);

    (void)code;
    (void)reason;
    if (p)
        p->range_error = 1; /* told apart in housekeeping (range_errors) */
}

/* A partition whose position the broker called out of range. Three cases:
 * the message before the start (read to check the log) was removed by
 * retention: read from the start unchecked; the start itself was removed
 * before it was loaded: a recorded gap (or a stop, per
 * kafka.on_retention_gap); the start is past the end: the topic was
 * recreated or truncated: stop. */
static void range_error(dp_worker_t *w, dp_part_t *p)
{
    int64_t low = -1, high = -1, at = -1;
    rd_kafka_resp_err_t rerr;
    dp_err_t err;

    p->range_error = 0;
    rerr = rd_kafka_query_watermark_offsets(dp_kafka_handle(w->kafka), p->topic, p->partition,
                                            &low, &high, 5000);
    if (rerr) {
        dp_log(DP_LOG_WARN, "worker", "%s [%d]: offset out of range, and the watermarks cannot "
               "be read (%s): trying again", p->topic, (int)p->partition, rd_kafka_err2str(rerr));
        p->range_error = 1;
        return;
    }
    if (p->start > high) {
        p->stopped = 1;
        dp_parts_recount(&w->parts);
        dp_log(DP_LOG_ERROR, "worker", "%s [%d] stopped: its start @%lld is past the end of the "
               "log (high watermark @%lld): the topic was recreated or truncated, or offsets "
               "were reset. Nothing is skipped: the partition waits for an operator (after a "
               "recreation: `deltaport incarnation new`, then restart the pool; "
               "docs/DELIVERY.md)", p->topic, (int)p->partition, (long long)p->start,
               (long long)high);
        return;
    }
    if (p->start >= low) {
        if (p->verify_off >= 0)
            dp_log(DP_LOG_WARN, "worker", "%s [%d]: @%lld, the message before the start, is "
                   "gone (retention; low watermark @%lld): the log cannot be checked; reading "
                   "from @%lld", p->topic, (int)p->partition, (long long)p->verify_off,
                   (long long)low, (long long)p->start);
        at = p->start;
    } else if (w->cfg->kafka.on_retention_gap == DP_CONFIG_GAP_STOP) {
        p->stopped = 1;
        dp_parts_recount(&w->parts);
        dp_log(DP_LOG_ERROR, "worker", "%s [%d] stopped: records @%lld..@%lld were removed by "
               "retention before they were loaded (the log starts at @%lld); "
               "kafka.on_retention_gap is stop", p->topic, (int)p->partition,
               (long long)p->start, (long long)low - 1, (long long)low);
        return;
    } else {
        dp_log(DP_LOG_ERROR, "worker", "%s [%d]: records @%lld..@%lld were removed by "
               "retention before they were loaded (the log starts at @%lld): %lld record(s) "
               "lost, recorded in sync_runs as LOST_TO_RETENTION; going on from @%lld",
               p->topic, (int)p->partition, (long long)p->start, (long long)low - 1,
               (long long)low, (long long)(low - p->start), (long long)low);
        dp_metrics_add(DP_MC_RECORDS_LOST_RETENTION, (uint64_t)(low - p->start));
        dp_recover_record_gap(w->recover, p->topic, p->partition, p->start, low - 1);
        p->start = low;
        at = low;
    }
    p->verify_off = -1;
    p->expect = at;
    dp_parts_recount(&w->parts);
    if (dp_kafka_restart(w->kafka, p->topic, p->partition, at, &err) < 0)
        fail(w, &err);
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
    return dp_flush_add(w->open, DP_ERRORS_TABLE, rd_kafka_topic_name(msg->rkt), msg->partition,
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

/* The flush refused msg because offsets are missing before it
 * (DP_FLUSH_GAP): the partition is read again from the first missing offset
 * (dp_parts_seek_gaps, from housekeeping; its messages are dropped until
 * then) and the first message the broker delivers tells which (partitions.h). */
static void gap_found(dp_worker_t *w, const char *topic, const rd_kafka_message_t *msg,
                      const char *why)
{
    dp_part_t *p = dp_parts_find(&w->parts, topic, msg->partition);
    int64_t last = dp_flush_last(w->open, topic, msg->partition);

    if (!p || last < 0) {
        dp_log(DP_LOG_ERROR, "worker", "%s [%d] stopped at @%lld: %s", topic,
               (int)msg->partition, (long long)msg->offset, why);
        if (p)
            dp_parts_stop(&w->parts, p, w->kafka);
        return;
    }
    dp_parts_gap(&w->parts, p, last, msg->offset);
    dp_log(DP_LOG_WARN, "worker", "%s; reading %s [%d] again from @%lld to tell a gap of the log "
           "from skipped messages", why, topic, (int)msg->partition, (long long)last + 1);
}

/* A message the flush refused for a reason other than its size or a
 * redelivery (not a data error: those become event_errors rows): the
 * partition stops at it, like a replaced log. Nothing from this offset on is
 * committed, so the message is read again after a restart; never dropped. */
static void stop_partition(dp_worker_t *w, const char *topic, const rd_kafka_message_t *msg,
                           const char *why)
{
    dp_part_t *p = dp_parts_find(&w->parts, topic, msg->partition);

    if (!p) {
        p = dp_parts_add(&w->parts, topic, msg->partition);
        p->claimed = 1;
    }
    dp_parts_stop(&w->parts, p, w->kafka);
    dp_log(DP_LOG_ERROR, "worker", "%s [%d] stopped at @%lld: the flush refused the message: %s. "
           "Nothing from this offset on is committed; the partition is read again from it after "
           "a restart", topic, (int)msg->partition, (long long)msg->offset, why);
}

/* Handles one message. Returns 0, or DP_ETOOBIG when it did not fit in the
 * open flush, or DP_EAGAIN when it cannot be routed yet (its writer schema
 * is unavailable, or the group's counts were not read yet): the caller holds
 * it and pauses. */
static int handle(dp_worker_t *w, const rd_kafka_message_t *msg)
{
    const char *topic = rd_kafka_topic_name(msg->rkt);
    const char *table = NULL;
    dp_decoded_t dec;
    dp_err_t err;
    char reason[600];
    int rc;

    if (!w->routing_ready)
        return DP_EAGAIN;
    if ((rc = dp_parts_drop(&w->parts, w->kafka, topic, msg)) == 1)
        return 0;
    if (rc == DP_PARTS_GAP_ACCEPTED)
        dp_flush_allow_gap(w->open, topic, msg->partition, msg->offset);
    if ((rc = decode(w, topic, msg, &dec, &err)) == DP_EAGAIN)
        return rc;
    if (rc < 0) {
        snprintf(reason, sizeof(reason), "%s: %s", dec.reject.path, dec.reject.reason);
        rc = add_error(w, msg, dp_reject_name(dec.reject.code), reason, &err);
        if (rc == 0) {
            w->stats.rejected++;
            dp_metrics_reject(dec.reject.code);
        }
    } else if (dp_router_route(w->router, dec.ev.event_name.ptr, dec.ev.event_name.len, &table,
                               &err) < 0) {
        snprintf(reason, sizeof(reason), "$.event_name: %s", err.msg);
        rc = add_error(w, msg, "BAD_EVENT_NAME", reason, &err);
        if (rc == 0) {
            w->stats.rejected++;
            dp_metrics_reject(DP_REJ_BAD_EVENT_NAME);
        }
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

/* Applies the group-wide counts the loader read. In threshold mode no event
 * is routed before the first read: a name that has its own table (or has
 * passed the threshold) must never go to the shared table after a restart. */
static void apply_shared_counts(dp_worker_t *w)
{
    size_t n = 0;
    dp_loader_stat_t *shared = dp_loader_take_shared(w->loader, &n);

    for (size_t i = 0; i < n; i++)
        dp_router_apply_shared(w->router, shared[i].name, shared[i].count,
                               shared[i].table_exists);
    dp_loader_stats_free(shared, n);
    if (!w->routing_ready && shared) {
        w->routing_ready = 1;
        dp_log(DP_LOG_INFO, "worker", "routing ready: %zu event name(s) known to the group", n);
    }
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

static void pause_for_held(dp_worker_t *w, const char *why)
{
    if (w->budget_paused)
        return;
    dp_kafka_pause_all(w->kafka);
    w->budget_paused = 1;
    if (why)
        dp_log(DP_LOG_WARN, "worker", "%s: partitions paused", why);
}

/* Polls once while draining: a message is held, never handled, and the
 * partitions pause so that few arrive. */
static void poll_hold(dp_worker_t *w, int timeout_ms)
{
    rd_kafka_message_t *msg = dp_kafka_poll(w->kafka, timeout_ms);

    if (!msg)
        return;
    hold(w, msg);
    pause_for_held(w, NULL);
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

/* Reads again every partition whose flush found offsets missing. */
static void seek_gaps(dp_worker_t *w)
{
    rd_kafka_topic_partition_list_t *again = rd_kafka_topic_partition_list_new(4);

    dp_parts_seek_gaps(&w->parts, w->kafka, again);
    drop_held(w, again); /* they arrive again */
    rd_kafka_topic_partition_list_destroy(again);
}

static void housekeep(dp_worker_t *w)
{
    const char *why;

    if (w->starts && !w->loaded)
        commit_starts(w);
    apply_claims(w);
    for (size_t i = 0; i < w->parts.n && !w->failed; i++) {
        if (w->parts.items[i].range_error && w->parts.items[i].claimed)
            range_error(w, &w->parts.items[i]);
    }
    seek_gaps(w);
    finish_loaded(w, 1);
    apply_shared_counts(w);
    dp_metrics_set(DP_MG_BUFFER_OPEN_BYTES, (int64_t)dp_flush_bytes(w->open));
    dp_progress_tick(&(dp_progress_t){w->stats.consumed, (uint64_t)dp_flush_rows(w->open),
                                      w->stats.committed,
                                      w->open_since_ms + w->cfg->flush.max_age_ms});
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
        pause_for_held(w, !w->routing_ready ? "waiting for the group's event counts"
                          : "flush full while the previous one loads, or a writer schema "
                            "unavailable");
        return;
    }
    w->stats.consumed++;
    rd_kafka_message_destroy(msg);
}

int dp_worker_run(dp_worker_t *w, dp_err_t *err)
{
    long long last_hk = dp_clock_mono_ms();

    dp_log(DP_LOG_INFO, "worker", "worker %s running", w->cfg->worker.id);
    if (w->routing_ready)
        dp_log(DP_LOG_INFO, "worker", "routing ready: this routing mode needs no counts");
    while (!*w->stop && !w->failed) {
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
    if (w->failed) {
        /* Nothing more is loaded or committed: the next owner reads it. */
        w->closing = 1;
        *err = w->fatal;
        dp_log(DP_LOG_ERROR, "worker", "stopping: %s", err->msg);
        return DP_EFAIL;
    }
    dp_log(DP_LOG_INFO, "worker", "stopping: loading and committing what is held");
    drain(w, (long)w->cfg->worker.shutdown_timeout_ms, "shutdown", 1);
    for (int i = 0; i < 10 && w->starts; i++) {
        commit_starts(w);
        if (w->starts)
            poll_hold(w, 100); /* let a rebalance in progress complete */
    }
    w->closing = 1;
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
 * stopped; an error of the set-up (DP_EINVAL) ends it at once. */
static int resolve_incarnation(dp_worker_t *w, dp_err_t *err)
{
    const dp_config_t *cfg = w->cfg;
    dp_retry_t *retry = dp_retry_new(NULL, NULL, 0);
    int rc, attempt = 0;

    while ((rc = dp_claims_setup_incarnations(w->conn.client, cfg, err)) < 0 ||
           (rc = dp_claims_incarnation(w->conn.client, cfg, cfg->kafka.group_id, 0,
                                       w->incarnation, err)) < 0) {
        long delay = dp_retry_next_delay(retry, ++attempt, -1) + 500;

        if (*w->stop || rc == DP_EINVAL)
            break;
        dp_log(DP_LOG_ERROR, "worker", "reading the pool's incarnation failed, retrying in %ld "
               "ms: %s", delay, err->msg);
        nanosleep(&(struct timespec){delay / 1000, (delay % 1000) * 1000000L}, NULL);
    }
    dp_retry_destroy(retry);
    if (rc == 0)
        dp_log(DP_LOG_INFO, "worker", "incarnation %s", w->incarnation);
    return rc;
}

/* The poll thread beats while it waits on Databricks at start (the loader
 * thread does not run yet): /healthz stays 200 while the start is slow. */
static void start_beat(void *ctx)
{
    (void)ctx;
    dp_health_beat(DP_HEALTH_POLL);
    dp_health_beat(DP_HEALTH_LOADER);
}

static int make_loader(dp_worker_t *w, dp_err_t *err)
{
    char path[4096];
    char *canonical;
    dp_loadops_opts_t oo;
    dp_loader_opts_t lo;
    dp_recover_opts_t ro;

    /* The consumer already joins the group (make_kafka) while this waits on
     * Databricks; nothing is polled before the incarnation is known. */
    if (resolve_incarnation(w, err) < 0)
        return DP_EINVAL;
    dp_kafka_set_incarnation(w->kafka, w->incarnation);
    w->pool = dp_dbxpool_new(&w->conn, w->cfg, (size_t)w->cfg->databricks.max_concurrent_statements,
                             err);
    if (!w->pool)
        return DP_EINVAL;
    snprintf(path, sizeof(path), "%s/canonical_event.avsc", w->cfg->schemas.dir);
    canonical = read_text(path, err);
    if (!canonical)
        return DP_EINVAL;
    oo.cfg = w->cfg;
    oo.incarnation = w->incarnation;
    oo.worker_id = w->cfg->worker.id;
    oo.canonical_schema = canonical;
    oo.pool = w->pool;
    w->ops = dp_loadops_new(&oo, err);
    free(canonical);
    if (!w->ops)
        return DP_EINVAL;
    dp_loadops_note_early_setup(w->ops);
    lo.cfg = w->cfg;
    lo.incarnation = w->incarnation;
    lo.worker_id = w->cfg->worker.id;
    lo.ops = w->ops;
    lo.conn = &w->conn;
    if (!(w->loader = dp_loader_new(&lo, err)))
        return DP_EINVAL;
    ro.cfg = w->cfg;
    ro.incarnation = w->incarnation;
    ro.worker_id = w->cfg->worker.id;
    ro.ops = w->ops;
    ro.conn = &w->conn;
    if (!(w->recover = dp_recover_new(&ro, err)))
        return DP_EINVAL;
    dp_recover_set_kafka(w->recover, dp_kafka_handle(w->kafka));
    if (w->cfg->routing.mode == DP_ROUTE_THRESHOLD && w->cfg->routing.backfill_on_promotion) {
        dp_backfill_opts_t bo = {w->cfg, w->incarnation, w->cfg->worker.id, w->ops, &w->conn};

        if (!(w->backfill = dp_backfill_new(&bo, err)))
            return DP_EINVAL;
    }
    return 0;
}

static int make_kafka(dp_worker_t *w, dp_err_t *err)
{
    dp_kafka_hooks_t hooks = {w, on_assign, on_revoke, on_partition_error};
    dp_kafka_opts_t ko;

    dp_config_kafka_opts(w->cfg, &ko);
    w->kafka = dp_kafka_new(&ko, &hooks, err);
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
    dp_parts_init(&w->parts);
    w->router = dp_router_new((dp_route_mode_t)cfg->routing.mode, cfg->routing.threshold,
                              cfg->routing.shared_table, cfg->routing.single_table, MAX_NAMES);
    /* Only the threshold needs the group's counts before routing. */
    w->routing_ready = cfg->routing.mode != DP_ROUTE_THRESHOLD;
    if (make_decoder(w, err) < 0 || dp_dbxconn_open(&w->conn, cfg, start_beat, NULL, err) < 0 ||
        make_kafka(w, err) < 0 || make_loader(w, err) < 0) {
        dp_worker_destroy(w);
        return NULL;
    }
    open_new_flush(w); /* its records carry the incarnation make_loader resolved */
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
    dp_recover_destroy(w->recover);
    dp_backfill_destroy(w->backfill);
    dp_dbxpool_destroy(w->pool);
    dp_loadops_destroy(w->ops);
    dp_dbxconn_close(&w->conn);
    dp_flush_destroy(w->loaded);
    dp_flush_destroy(w->open);
    dp_router_destroy(w->router);
    if (w->dec)
        dp_decode_scratch_free(&w->scratch);
    dp_decoder_destroy(w->dec);
    dp_registry_destroy(w->registry);
    dp_buf_free(&w->errbody);
    dp_parts_free(&w->parts);
    if (w->starts)
        rd_kafka_topic_partition_list_destroy(w->starts);
    free(w);
}
