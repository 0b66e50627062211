/*
 * worker: the poll loop of one deltaport worker (see worker.h); it only
 * orchestrates. A message goes through kafka/intake.h into the open flush
 * (batch/openflush.h), or is held with every partition paused (kafka/held.h).
 * A cut flush goes to the loader thread (load/loader.h); once loaded its
 * offsets are committed (kafka/offsets.h). The recovery thread claims
 * assigned partitions (load/recover.h), which start when their claims are
 * back (kafka/assign.h, kafka/partitions.h). Both threads reach Databricks
 * through the lanes of load/dbxpool.h. This file runs on the poll thread.
 */
#include "worker.h"

#include "batch/flush.h"
#include "batch/ingest.h"
#include "batch/openflush.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/retry.h"
#include "kafka/assign.h"
#include "kafka/held.h"
#include "kafka/intake.h"
#include "kafka/kafka.h"
#include "kafka/offsets.h"
#include "kafka/partitions.h"
#include "load/backfill.h"
#include "load/claims.h"
#include "load/dbxconn.h"
#include "load/dbxpool.h"
#include "load/loader.h"
#include "load/loadops.h"
#include "load/recover.h"
#include "ops/health.h"
#include "ops/metrics.h"
#include "ops/progress.h"
#include "route/router.h"

#include <stdio.h>
#include <stdlib.h>

#define HOUSEKEEP_EVERY 1024

struct dp_worker {
    const dp_config_t *cfg;
    volatile sig_atomic_t *stop;
    dp_kafka_t *kafka;
    dp_ingest_t *ingest; /* decoder, registry, router and their counts */
    dp_dbxconn_t conn;   /* the worker's credential, shared by every client */
    dp_dbxpool_t *pool;
    dp_loadops_t *ops;
    dp_loader_t *loader;
    dp_recover_t *recover;
    dp_backfill_t *backfill; /* threshold mode with routing.backfill_on_promotion */
    dp_openflush_t open;     /* the flush being filled, and when to cut it */
    dp_held_t held;          /* messages not handled yet, partitions paused (held.h) */
    int closing;             /* the shutdown drain ran: revokes no longer wait */
    char incarnation[DP_CLAIMS_INCARNATION_SIZE]; /* the pool's (claims.h) */
    dp_parts_t parts;                             /* assigned partitions with their claims */
    dp_offsets_t offsets; /* the commit policy, and a loaded flush it postponed */
    dp_err_t fatal;       /* set when the poll loop cannot go on */
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

/* --- Partitions and held messages ---------------------------------------- */

/* Drops the held messages and the open flush's records of parts (they are
 * read again: after a seek, or by the next owner). */
static void drop_parts(dp_worker_t *w, const rd_kafka_topic_partition_list_t *parts)
{
    dp_openflush_drop(&w->open, parts);
    dp_held_drop(&w->held, parts);
}

/* --- Flushes: cut, load, commit ------------------------------------------ */

/* Hands the open flush, with its routed counts, to the loader when it is
 * idle. Returns 1 when cut. */
static int cut(dp_worker_t *w, const char *why)
{
    dp_flush_t *flush = w->open.flush;
    dp_loader_stat_t *counts;
    size_t n;

    if (dp_offsets_waiting(&w->offsets) || dp_flush_rows(flush) == 0 || dp_loader_busy(w->loader))
        return 0;
    dp_parts_stamp_epochs(&w->parts, flush);
    counts = dp_ingest_take_counts(w->ingest, &n);
    dp_log(DP_LOG_INFO, "worker", "flush %llu cut (%s): %lld rows, %zu bytes, %zu tables",
           (unsigned long long)dp_flush_seq(flush), why, (long long)dp_flush_rows(flush),
           dp_flush_bytes(flush), dp_flush_ntables(flush));
    if (dp_loader_submit(w->loader, flush, counts, n) < 0) {
        dp_loader_stats_free(counts, n); /* not reached: busy was checked */
        return 0;
    }
    dp_openflush_next(&w->open); /* the loader owns flush now */
    dp_metrics_flush_cut(why);
    return 1;
}

/* Deletes a committed flush's manifest and files, unless it was not
 * committed whole: then the manifest stays for the partitions' new owners
 * (offsets.h; it is pruned later). */
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

/* A flush the loader fenced (claims.h) is not committed: its partitions
 * still owned under the same claim are read again (partitions.h). Destroys
 * flush. */
static void rewind_fenced(dp_worker_t *w, dp_flush_t *flush)
{
    rd_kafka_topic_partition_list_t *again = rd_kafka_topic_partition_list_new(4);
    dp_err_t err;

    if (dp_parts_rewind_fenced(&w->parts, w->kafka, flush, again, &err) < 0)
        fail(w, &err);
    drop_parts(w, again);
    rd_kafka_topic_partition_list_destroy(again);
    dp_flush_destroy(flush);
}

/* Takes a loaded flush from the loader (or the one whose commit was
 * postponed), commits it and retires it (offsets.h). */
static void finish_loaded(dp_worker_t *w, int attempts)
{
    dp_loader_stat_t *stats = NULL;
    size_t n = 0;
    dp_flush_t *flush, *done;
    int whole = 0;

    if (dp_offsets_waiting(&w->offsets)) {
        if ((done = dp_offsets_retry_loaded(&w->offsets, attempts, &whole)))
            retire(w, done, whole);
        return;
    }
    if (!(flush = dp_loader_take_done(w->loader, &stats, &n)))
        return;
    /* Loaded or fenced, its records are not read again: committing, rewinding
     * and retiring need its ranges and tables only, and retirement waits
     * while the next flush loads. */
    dp_flush_drop_records(flush);
    if (dp_flush_fenced(flush)) {
        dp_ingest_release(w->ingest, stats, n);
        rewind_fenced(w, flush);
        return;
    }
    done = dp_offsets_commit_loaded(&w->offsets, flush, attempts, &whole);
    dp_ingest_add_loaded(w->ingest, stats, n);
    w->stats.flushes++;
    dp_metrics_add(DP_MC_FLUSHES_LOADED, 1);
    if (done)
        retire(w, done, whole);
}

/* Loads and commits everything held, waiting at most timeout_ms. With
 * can_poll (not inside a rebalance callback) it keeps polling while it waits,
 * so that the group's rebalances complete and commits are accepted; what it
 * polls meanwhile is held, not committed, and read again by the next owner. */
static void drain(dp_worker_t *w, long timeout_ms, const char *why, int can_poll)
{
    long long deadline = dp_clock_mono_ms() + timeout_ms;

    while (dp_clock_mono_ms() < deadline) {
        if (dp_loader_busy(w->loader) && !dp_offsets_waiting(&w->offsets)) {
            dp_loader_wait(w->loader, 100);
            if (can_poll)
                dp_held_poll(&w->held, w->kafka, 0);
            if (dp_loader_busy(w->loader))
                continue;
        }
        finish_loaded(w, can_poll ? 1 : 3);
        if (dp_offsets_waiting(&w->offsets)) {
            if (can_poll)
                dp_held_poll(&w->held, w->kafka, 100);
            continue;
        }
        if (!cut(w, why))
            return;
    }
    dp_log(DP_LOG_WARN, "worker",
           "%s: loading and committing did not finish within %ld ms; "
           "what is not committed will be read again",
           why, timeout_ms);
}

/* --- Kafka hooks --------------------------------------------------------- */

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
    dp_assign_revoke(&w->parts, w->recover, parts);
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

    (void)code;
    (void)reason;
    dp_parts_range_error(&w->parts, topic, partition); /* told apart in housekeeping */
}

/* --- The poll loop ------------------------------------------------------- */

/* Handles one message (intake.h). Returns 0, or DP_ETOOBIG (the open flush
 * is full) or DP_EAGAIN (not routable yet): the caller holds it and pauses. */
static int handle(dp_worker_t *w, const rd_kafka_message_t *msg)
{
    int rejected = 0;
    int rc = dp_intake_add(&w->parts, w->kafka, w->ingest, w->open.flush, msg, &rejected);

    if (rc != DP_INTAKE_ADDED)
        return rc;
    if (rejected)
        w->stats.rejected++;
    else
        w->stats.rows++;
    dp_openflush_added(&w->open);
    return 0;
}

static int handle_held(void *ctx, rd_kafka_message_t *msg)
{
    return dp_intake_must_hold(handle(ctx, msg));
}

/* Partitions that start now (claimed, or read again over a gap): what was
 * buffered or held of them arrives again. */
static void restart_parts(dp_worker_t *w)
{
    rd_kafka_topic_partition_list_t *started = rd_kafka_topic_partition_list_new(8);
    dp_err_t err;

    if (dp_assign_restart(&w->parts, w->recover, w->kafka, &w->offsets, started, &err) < 0)
        fail(w, &err);
    drop_parts(w, started);
    rd_kafka_topic_partition_list_destroy(started);
}

static void housekeep(dp_worker_t *w)
{
    dp_loader_stat_t *shared;
    const char *why, *fresh[64];
    size_t n = 0;

    restart_parts(w);
    if (!dp_offsets_waiting(&w->offsets))
        dp_offsets_commit_starts(&w->offsets, &w->parts);
    finish_loaded(w, 1);
    dp_flush_give_back(); /* memory a burst needed, once it is idle */
    shared = dp_loader_take_shared(w->loader, &n);
    dp_ingest_apply_shared(w->ingest, shared, n);     /* the group's counts, for routing */
    n = dp_openflush_new_tables(&w->open, fresh, 64); /* created while the flush fills */
    dp_loader_prepare(w->loader, fresh, n);
    dp_metrics_set(DP_MG_BUFFER_OPEN_BYTES, (int64_t)dp_flush_bytes(w->open.flush));
    dp_progress_tick(&(dp_progress_t){w->stats.consumed, (uint64_t)dp_flush_rows(w->open.flush),
                                      w->offsets.committed,
                                      w->open.since_ms + w->cfg->flush.max_age_ms});
    why = dp_openflush_due(&w->open);
    if (why)
        cut(w, why);
    /* Held messages first, in arrival order: no partition gets a gap. */
    w->stats.consumed += dp_held_replay(&w->held, handle_held, w);
    if (!dp_loader_busy(w->loader))
        dp_held_resume(&w->held, w->kafka);
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
    if (dp_intake_must_hold(rc)) {
        dp_held_pause(&w->held, w->kafka, msg, dp_intake_hold_reason(w->ingest));
        return;
    }
    w->stats.consumed++;
    rd_kafka_message_destroy(msg);
}

int dp_worker_run(dp_worker_t *w, dp_err_t *err)
{
    long long last_hk = dp_clock_mono_ms();

    dp_log(DP_LOG_INFO, "worker", "worker %s running", w->cfg->worker.id);
    if (dp_ingest_ready(w->ingest))
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
            dp_held_poll(&w->held, w->kafka, 100); /* let a rebalance in progress complete */
    }
    w->closing = 1;
    return 0;
}

/* --- Construction -------------------------------------------------------- */

/* The pool's incarnation (claims.h), read or minted once at start. While
 * Databricks cannot answer, it waits (the worker is not ready yet) until
 * stopped; an error of the set-up (DP_EINVAL) ends it at once. */
static int resolve_incarnation(dp_worker_t *w, dp_err_t *err)
{
    const dp_config_t *cfg = w->cfg;
    dp_retry_t *retry = dp_retry_new(NULL, NULL, 0);
    int rc, attempt = 0;

    while ((rc = dp_claims_setup_incarnations(w->conn.client, cfg, err)) < 0 ||
           (rc = dp_claims_incarnation(w->conn.client, cfg, cfg->kafka.group_id, 0, w->incarnation,
                                       err)) < 0) {
        long delay = dp_retry_next_delay(retry, ++attempt, -1) + 500;

        if (*w->stop || rc == DP_EINVAL)
            break;
        dp_log(DP_LOG_ERROR, "worker",
               "reading the pool's incarnation failed, retrying in %ld ms: %s", delay, err->msg);
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
 * recovery thread. The consumer joins the group meanwhile (make_kafka);
 * nothing is polled before the incarnation is known. */
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
    w->pool =
        dp_dbxpool_new(&w->conn, w->cfg, (size_t)w->cfg->databricks.max_concurrent_statements, err);
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
    dp_parts_init(&w->parts);
    if (!(w->ingest = dp_ingest_new(cfg, err)) ||
        dp_dbxconn_open(&w->conn, cfg, start_beat, NULL, err) < 0 || make_kafka(w, err) < 0 ||
        make_loader(w, err) < 0) {
        dp_worker_destroy(w);
        return NULL;
    }
    /* Its records carry the incarnation make_loader resolved. */
    dp_openflush_init(&w->open, cfg, w->incarnation);
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
    dp_openflush_free(&w->open);
    dp_ingest_destroy(w->ingest);
    dp_parts_free(&w->parts);
    dp_offsets_free(&w->offsets);
    free(w);
}
