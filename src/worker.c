/*
 * worker: the poll loop of one deltaport worker (see worker.h): it only
 * orchestrates. Each message goes through ingest.h into the open flush; a
 * cut flush goes to the loader thread (loader.h), and once loaded its
 * offsets are committed (offsets.h). Assigned partitions are claimed by the
 * recovery thread and started when their claims are back (assign.h); what
 * the worker knows of each partition is in partitions.h.
 *
 * Threads: this file runs on the poll thread. The loader thread loads the
 * cut flush; the recovery thread claims newly assigned partitions and
 * finishes what other workers left behind (recover.h); both send their calls
 * to Databricks through the dbxpool's lanes (dbxpool.h).
 */
#include "worker.h"

#include "kafka/assign.h"
#include "load/backfill.h"
#include "core/buf.h"
#include "load/claims.h"
#include "core/clock.h"
#include "load/dbxconn.h"
#include "load/dbxpool.h"
#include "batch/flush.h"
#include "ops/health.h"
#include "kafka/held.h"
#include "batch/ingest.h"
#include "kafka/kafka.h"
#include "load/loader.h"
#include "load/loadops.h"
#include "core/log.h"
#include "core/mem.h"
#include "ops/metrics.h"
#include "kafka/offsets.h"
#include "kafka/partitions.h"
#include "ops/progress.h"
#include "load/recover.h"
#include "core/retry.h"
#include "route/router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HOUSEKEEP_EVERY 1024

struct dp_worker {
    const dp_config_t *cfg;
    volatile sig_atomic_t *stop;
    dp_kafka_t *kafka;
    dp_ingest_t *ingest;
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
    dp_held_t held;              /* messages not handled yet (held.h) */
    int budget_paused;
    int closing;                 /* the shutdown drain ran: revokes no longer wait */
    dp_flush_t *loaded;          /* loaded, its commit to be retried after polling */
    size_t flush_cap;            /* byte cap of one flush */
    char incarnation[DP_CLAIMS_INCARNATION_SIZE]; /* the pool's (claims.h) */
    dp_parts_t parts;            /* assigned partitions with their claims */
    dp_offsets_t offsets;        /* the commit policy */
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
/* Held messages                                                             */
/* ------------------------------------------------------------------------- */

static int handle(dp_worker_t *w, const rd_kafka_message_t *msg);

/* Drops the held messages and the open flush's records of parts (they are
 * read again: after a seek, or by the next owner). */
static void drop_parts(dp_worker_t *w, const rd_kafka_topic_partition_list_t *parts)
{
    for (int i = 0; w->open && i < parts->cnt; i++)
        dp_flush_drop_partition(w->open, parts->elems[i].topic, parts->elems[i].partition);
    dp_held_drop(&w->held, parts);
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
    dp_router_take_local(dp_ingest_router(w->ingest), take_stat, &acc);
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
    drop_parts(w, again);
    rd_kafka_topic_partition_list_destroy(again);
}

/* Takes a loaded flush from the loader (or the one whose commit was
 * postponed), commits it and retires it. */
static void finish_loaded(dp_worker_t *w, int attempts)
{
    dp_loader_stat_t *stats = NULL;
    size_t n = 0;
    dp_flush_t *flush = w->loaded;
    int all_ours = 1, rc;

    if (flush) {
        if ((rc = dp_offsets_commit_flush(&w->offsets, flush, attempts, &all_ours)) > 0)
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
    if ((rc = dp_offsets_commit_flush(&w->offsets, flush, attempts, &all_ours)) > 0)
        w->loaded = flush; /* loaded, not yet committed: kept until it is */
    for (size_t i = 0; i < n; i++)
        dp_router_add_shared(dp_ingest_router(w->ingest), stats[i].name, stats[i].count);
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

static void on_revoke(void *opaque, const rd_kafka_topic_partition_list_t *parts, int lost)
{
    dp_worker_t *w = opaque;

    if (!w->closing && !lost) {
        dp_offsets_commit_starts(&w->offsets, &w->parts); /* before the partitions go */
        drain(w, (long)w->cfg->worker.shutdown_timeout_ms, "revoke", 0);
    }
    /* A lost assignment, a drain that ran out of time, or the leave after the
     * shutdown drain leave the partitions' events: the next owner reads them. */
    drop_parts(w, parts);
    for (int i = 0; i < parts->cnt; i++) {
        if (w->recover)
            dp_recover_forget(w->recover, parts->elems[i].topic, parts->elems[i].partition);
        dp_parts_remove(&w->parts, parts->elems[i].topic, parts->elems[i].partition);
    }
}

/* Newly assigned partitions are not consumed before their claims are taken
 * and what other workers left pending on them is finished (assign.h). */
static void on_assign(void *opaque, rd_kafka_topic_partition_list_t *parts)
{
    dp_worker_t *w = opaque;

    dp_assign_request(&w->parts, w->recover, parts);
}

static void on_partition_error(void *opaque, const char *topic, int32_t partition,
                               rd_kafka_resp_err_t code, const char *reason)
{
    dp_worker_t *w = opaque;
    dp_part_t *p = dp_parts_find(&w->parts, topic, partition);

    (void)code;
    (void)reason;
    if (p)
        p->range_error = 1; /* told apart in housekeeping (assign.h) */
}

/* ------------------------------------------------------------------------- */
/* Messages                                                                  */
/* ------------------------------------------------------------------------- */

/* Stops the partition of msg: reading on would skip offsets, or the flush
 * refused the message for a reason other than its size or a redelivery.
 * Nothing from msg on is committed; it is read again after a restart. */
static void stop_at(dp_worker_t *w, const char *topic, const rd_kafka_message_t *msg,
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
    dp_err_t err;
    int rc, rejected = 0;
    int64_t last;

    if (!w->routing_ready)
        return DP_EAGAIN;
    if ((rc = dp_parts_drop(&w->parts, w->kafka, topic, msg)) == 1)
        return 0;
    if (rc == DP_PARTS_GAP_ACCEPTED)
        dp_flush_allow_gap(w->open, topic, msg->partition, msg->offset);
    rc = dp_ingest_add(w->ingest, w->open, msg, &rejected, &err);
    if (rc == DP_FLUSH_REDELIVERY) {
        /* Offset not above what the flush holds: a redelivery after a seek. */
        dp_log(DP_LOG_DEBUG, "worker", "%s", err.msg);
        return 0;
    }
    if (rc == DP_FLUSH_GAP) {
        /* Offsets are missing before msg: read the partition again from the
         * first of them; the first message that arrives tells a gap of the
         * log from skipped messages (partitions.h). */
        dp_part_t *p = dp_parts_find(&w->parts, topic, msg->partition);

        if (p && (last = dp_flush_last(w->open, topic, msg->partition)) >= 0) {
            dp_parts_gap(&w->parts, p, last, msg->offset);
            dp_log(DP_LOG_WARN, "worker", "%s; reading %s [%d] again from @%lld to tell a gap of "
                   "the log from skipped messages", err.msg, topic, (int)msg->partition,
                   (long long)last + 1);
        } else {
            stop_at(w, topic, msg, err.msg);
        }
        return 0;
    }
    if (rc == DP_ETOOBIG || rc == DP_EAGAIN)
        return rc;
    if (rc < 0) {
        stop_at(w, topic, msg, err.msg);
        return 0;
    }
    if (rejected)
        w->stats.rejected++;
    else
        w->stats.rows++;
    dp_flush_set_last_message(w->open, msg->key, msg->key_len, msg->payload, msg->len);
    if (w->open_since_ms == 0)
        w->open_since_ms = dp_clock_mono_ms();
    return 0;
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
        dp_router_apply_shared(dp_ingest_router(w->ingest), shared[i].name, shared[i].count,
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

/* Polls once while draining: a message is held, never handled, and the
 * partitions pause so that few arrive. */
static void poll_hold(dp_worker_t *w, int timeout_ms)
{
    rd_kafka_message_t *msg = dp_kafka_poll(w->kafka, timeout_ms);

    if (!msg)
        return;
    dp_held_push(&w->held, msg);
    pause_for_held(w, NULL);
}

static int handle_held(void *ctx, rd_kafka_message_t *msg)
{
    return must_hold(handle(ctx, msg));
}

/* Partitions that start now (claimed, or read again over a gap): what was
 * buffered or held of them arrives again. */
static void restart_parts(dp_worker_t *w)
{
    rd_kafka_topic_partition_list_t *started = rd_kafka_topic_partition_list_new(8);
    dp_err_t err;

    if (dp_assign_apply(&w->parts, w->recover, w->kafka, &w->offsets, started, &err) < 0 ||
        dp_assign_range_errors(&w->parts, w->recover, w->kafka, &err) < 0)
        fail(w, &err);
    dp_parts_seek_gaps(&w->parts, w->kafka, started);
    drop_parts(w, started);
    rd_kafka_topic_partition_list_destroy(started);
}

static void housekeep(dp_worker_t *w)
{
    const char *why;

    restart_parts(w);
    if (!w->loaded)
        dp_offsets_commit_starts(&w->offsets, &w->parts);
    finish_loaded(w, 1);
    apply_shared_counts(w);
    dp_metrics_set(DP_MG_BUFFER_OPEN_BYTES, (int64_t)dp_flush_bytes(w->open));
    dp_progress_tick(&(dp_progress_t){w->stats.consumed, (uint64_t)dp_flush_rows(w->open),
                                      w->offsets.committed,
                                      w->open_since_ms + w->cfg->flush.max_age_ms});
    why = flush_due(w);
    if (why)
        cut(w, why);
    /* Held messages first, in arrival order: no partition gets a gap. */
    w->stats.consumed += dp_held_replay(&w->held, handle_held, w);
    if (w->budget_paused && !w->held.n && !dp_loader_busy(w->loader)) {
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
    rc = w->held.n > 0 ? DP_ETOOBIG : handle(w, msg);
    /* A full flush is cut at once when the loader is free (the usual case:
     * a flush is cut when full, never past max_bytes); pausing is only for a
     * full flush while the previous one loads. */
    if (rc == DP_ETOOBIG && w->held.n == 0 && cut(w, "max_bytes"))
        rc = handle(w, msg);
    if (must_hold(rc)) {
        dp_held_push(&w->held, msg);
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

        while (!w->held.n && n < HOUSEKEEP_EVERY && !*w->stop) {
            uint64_t before = w->stats.consumed;

            poll_once(w, n == 0 ? 100 : 0);
            if (w->stats.consumed == before)
                break;
            n++;
        }
        if (n == HOUSEKEEP_EVERY || w->held.n || dp_clock_mono_ms() - last_hk >= 50) {
            housekeep(w);
            last_hk = dp_clock_mono_ms();
        }
        if (w->held.n)
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
    for (int i = 0; i < 10 && dp_offsets_starts_pending(&w->offsets); i++) {
        dp_offsets_commit_starts(&w->offsets, &w->parts);
        if (dp_offsets_starts_pending(&w->offsets))
            poll_hold(w, 100); /* let a rebalance in progress complete */
    }
    w->closing = 1;
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Construction                                                              */
/* ------------------------------------------------------------------------- */

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
        dp_retry_sleep_ms(retry, delay);
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

static int make_kafka(dp_worker_t *w, dp_err_t *err)
{
    dp_kafka_hooks_t hooks = {w, on_assign, on_revoke, on_partition_error};
    dp_kafka_opts_t ko;

    dp_config_kafka_opts(w->cfg, &ko);
    w->kafka = dp_kafka_new(&ko, &hooks, err);
    if (w->kafka)
        dp_offsets_init(&w->offsets, w->kafka);
    return w->kafka ? 0 : DP_EINVAL;
}

/* The Databricks side: the incarnation, the lanes, the loader and the
 * recovery thread. The consumer already joins the group (make_kafka) while
 * this waits on Databricks; nothing is polled before the incarnation is
 * known. */
static int make_loader(dp_worker_t *w, dp_err_t *err)
{
    char path[4096];
    char *canonical;
    size_t len;
    dp_loadops_opts_t oo;
    dp_loader_opts_t lo = {w->cfg, NULL, w->cfg->worker.id, NULL, &w->conn};
    dp_recover_opts_t ro = {w->cfg, NULL, w->cfg->worker.id, NULL, &w->conn};

    if (resolve_incarnation(w, err) < 0)
        return DP_EINVAL;
    dp_kafka_set_incarnation(w->kafka, w->incarnation);
    w->pool = dp_dbxpool_new(&w->conn, w->cfg,
                             (size_t)w->cfg->databricks.max_concurrent_statements, err);
    snprintf(path, sizeof(path), "%s/canonical_event.avsc", w->cfg->schemas.dir);
    if (!w->pool || !(canonical = dp_buf_read_file(path, 4 * 1024 * 1024, &len, err)))
        return DP_EINVAL;
    oo = (dp_loadops_opts_t){w->cfg, w->incarnation, w->cfg->worker.id, canonical, w->pool};
    w->ops = dp_loadops_new(&oo, err);
    free(canonical);
    if (!w->ops)
        return DP_EINVAL;
    dp_loadops_note_early_setup(w->ops);
    lo.incarnation = ro.incarnation = w->incarnation;
    lo.ops = ro.ops = w->ops;
    if (!(w->loader = dp_loader_new(&lo, err)) || !(w->recover = dp_recover_new(&ro, err)))
        return DP_EINVAL;
    dp_recover_set_kafka(w->recover, dp_kafka_handle(w->kafka));
    if (w->cfg->routing.mode == DP_ROUTE_THRESHOLD && w->cfg->routing.backfill_on_promotion) {
        dp_backfill_opts_t bo = {w->cfg, w->incarnation, w->cfg->worker.id, w->ops, &w->conn};

        if (!(w->backfill = dp_backfill_new(&bo, err)))
            return DP_EINVAL;
    }
    return 0;
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
    dp_parts_init(&w->parts);
    /* Only the threshold needs the group's counts before routing. */
    w->routing_ready = cfg->routing.mode != DP_ROUTE_THRESHOLD;
    if (!(w->ingest = dp_ingest_new(cfg, err)) ||
        dp_dbxconn_open(&w->conn, cfg, start_beat, NULL, err) < 0 || make_kafka(w, err) < 0 ||
        make_loader(w, err) < 0) {
        dp_worker_destroy(w);
        return NULL;
    }
    open_new_flush(w); /* its records carry the incarnation make_loader resolved */
    return w;
}

void dp_worker_stats(const dp_worker_t *w, dp_worker_stats_t *out)
{
    *out = w->stats;
    out->committed = w->offsets.committed;
}

void dp_worker_destroy(dp_worker_t *w)
{
    if (!w)
        return;
    dp_kafka_destroy(w->kafka); /* leaves the group; the revoke hook drains first */
    dp_held_free(&w->held);
    dp_loader_destroy(w->loader);
    dp_recover_destroy(w->recover);
    dp_backfill_destroy(w->backfill);
    dp_dbxpool_destroy(w->pool);
    dp_loadops_destroy(w->ops);
    dp_dbxconn_close(&w->conn);
    dp_flush_destroy(w->loaded);
    dp_flush_destroy(w->open);
    dp_ingest_destroy(w->ingest);
    dp_parts_free(&w->parts);
    dp_offsets_free(&w->offsets);
    free(w);
}
