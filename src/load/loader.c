/*
 * loader: the loader thread and its API (see loader.h); the loading itself is
 * in loader_load.c.
 */
#include "load/loader_int.h"

#include "batch/sysrows.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "ops/health.h"
#include "ops/metrics.h"
#include "route/router.h"
#include "stage/avrofile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------------- */
/* The thread                                                                */
/* ------------------------------------------------------------------------- */

/* Sleeps up to ms unless stopped or signalled; called with mu held. */
static void wait_locked(dp_loader_t *loader, long ms)
{
    struct timespec ts = dp_clock_deadline(ms);

    pthread_cond_timedwait(&loader->cv, &loader->mu, &ts);
}

static void report_failure(dp_loader_t *loader, const dp_err_t *err, long backoff_ms)
{
    atomic_fetch_add(&loader->failures, 1);
    dp_metrics_retry(err->code);
    if (strcmp(loader->last_error, err->msg) != 0) {
        dp_log(DP_LOG_ERROR, "loader", "load failed, data kept, retrying (next in %ld ms): %s",
               backoff_ms, err->msg);
        snprintf(loader->last_error, sizeof(loader->last_error), "%s", err->msg);
    } else {
        dp_log(DP_LOG_DEBUG, "loader", "load failed again: %s", err->msg);
    }
}

/* Retires every committed flush queued so far, in one batch (called with mu
 * held, only while no flush is waiting to load: deletes never delay a load). */
static void retire_queued(dp_loader_t *loader)
{
    dp_flush_t **batch = loader->retire;
    size_t n = loader->nretire;

    loader->retire = NULL;
    loader->nretire = loader->retirecap = 0;
    pthread_mutex_unlock(&loader->mu);
    dp_loader__retire_files(loader, batch, n);
    for (size_t i = 0; i < n; i++)
        dp_flush_destroy(batch[i]);
    free(batch);
    pthread_mutex_lock(&loader->mu);
}

typedef struct prep_job {
    dp_loadops_t *ops;
    const char *table; /* borrowed from the batch */
} prep_job_t;

static int prep_job(dp_dbx_client_t *client, void *arg, dp_err_t *err)
{
    prep_job_t *pj = arg;

    return dp_loadops_prepare_table(pj->ops, client, pj->table, err);
}

/* Creates the tables asked for by dp_loader_prepare, on the lanes (called
 * with mu held, only while no flush is waiting to load). */
static void prepare_queued(dp_loader_t *loader)
{
    char **names = loader->prep;
    size_t n = loader->nprep;
    dp_dbxpool_job_t *jobs = dp_calloc(n, sizeof(*jobs));
    prep_job_t *pj = dp_calloc(n, sizeof(*pj));

    loader->prep = NULL;
    loader->nprep = loader->prepcap = 0;
    pthread_mutex_unlock(&loader->mu);
    for (size_t i = 0; i < n; i++) {
        pj[i] = (prep_job_t){loader->ops, names[i]};
        jobs[i].fn = prep_job;
        jobs[i].arg = &pj[i];
    }
    dp_dbxpool_run(dp_loadops_pool(loader->ops), jobs, n, dp_loader__beat, loader);
    for (size_t i = 0; i < n; i++) {
        if (jobs[i].rc < 0)
            dp_log(DP_LOG_DEBUG, "loader", "%s: not created ahead (its load will): %s", names[i],
                   jobs[i].err.msg);
        free(names[i]);
    }
    free(names);
    free(jobs);
    free(pj);
    pthread_mutex_lock(&loader->mu);
}

/* The backoff before attempt number `failures` + 1 (jittered, capped). */
static long next_backoff(dp_loader_t *loader, int failures)
{
    return dp_retry_next_delay(loader->retry, failures, -1) + 500;
}

static void *loader_main(void *arg)
{
    dp_loader_t *loader = arg;
    int failures = 0;

    pthread_mutex_lock(&loader->mu);
    while (!loader->stop) {
        dp_loader__beat(loader);
        if (loader->conn->oauth)
            dp_metrics_raise(DP_MC_TOKEN_FETCHES, (uint64_t)dp_oauth_fetches(loader->conn->oauth));
        if (loader->job && !loader->job_done) {
            dp_flush_t *job = loader->job;
            dp_err_t err;
            int rc;
            long long started = dp_clock_mono_ms();

            pthread_mutex_unlock(&loader->mu);
            rc = dp_loader__load_flush(loader, job, loader->job_stats, loader->job_n, &err);
            pthread_mutex_lock(&loader->mu);
            if (rc == 0) {
                loader->job_done = 1;
                loader->last_error[0] = '\0';
                failures = 0;
                atomic_fetch_add(&loader->loaded, 1);
                dp_metrics_observe(DP_MH_FLUSH_SECONDS,
                                   (double)(dp_clock_mono_ms() - started) / 1000.0);
                dp_metrics_set(DP_MG_LAST_LOAD_SUCCESS_MS, dp_clock_wall_us() / 1000);
                pthread_cond_broadcast(&loader->cv);
            } else {
                long backoff = next_backoff(loader, ++failures);

                report_failure(loader, &err, backoff);
                wait_locked(loader, backoff);
            }
        } else if (dp_clock_mono_ms() >= loader->next_stats_ms) {
            dp_err_t err;
            int rc;

            pthread_mutex_unlock(&loader->mu);
            rc = dp_loadops_setup(loader->ops, dp_loader__beat, loader, &err);
            loader->setup_ok = rc == 0;
            /* Only the threshold needs the group's counts. */
            if (rc == 0 && loader->cfg->routing.mode == DP_ROUTE_THRESHOLD)
                rc = dp_loader__refresh_stats(loader);
            else
                dp_log(DP_LOG_WARN, "loader", "%s", err.msg);
            pthread_mutex_lock(&loader->mu);
            /* Until the first read succeeds the poll thread routes nothing:
             * retry it soon; afterwards, every stats_refresh_s. */
            loader->next_stats_ms =
                dp_clock_mono_ms() + (rc == 0 || loader->shared_known
                                          ? loader->cfg->routing.stats_refresh_s * 1000
                                          : next_backoff(loader, 1));
        } else if (loader->nprep > 0 && loader->setup_ok) {
            prepare_queued(loader);
        } else if (loader->nretire > 0) {
            retire_queued(loader);
        } else {
            wait_locked(loader, 500);
        }
    }
    pthread_mutex_unlock(&loader->mu);
    return NULL;
}

/* ------------------------------------------------------------------------- */
/* API                                                                       */
/* ------------------------------------------------------------------------- */

dp_loader_t *dp_loader_new(const dp_loader_opts_t *opts, dp_err_t *err)
{
    dp_loader_t *loader = dp_calloc(1, sizeof(*loader));

    loader->cfg = opts->cfg;
    loader->incarnation = dp_strdup(opts->incarnation);
    loader->worker_id = dp_strdup(opts->worker_id);
    loader->ops = opts->ops;
    loader->conn = opts->conn;
    loader->retry = dp_retry_new(NULL, NULL, 0);
    pthread_mutex_init(&loader->mu, NULL);
    pthread_cond_init(&loader->cv, NULL);
    atomic_store(&loader->heartbeat_ms, dp_clock_mono_ms());
    loader->client = dp_dbxconn_new_client(opts->conn, loader->cfg, dp_loader__beat, loader, err);
    if (!loader->client)
        goto fail;
    if (pthread_create(&loader->thread, NULL, loader_main, loader) != 0) {
        dp_err_set(err, DP_EFAIL, 0, "loader: cannot start its thread");
        goto fail;
    }
    loader->started = 1;
    return loader;
fail:
    dp_loader_destroy(loader);
    return NULL;
}

void dp_loader_destroy(dp_loader_t *loader)
{
    if (!loader)
        return;
    if (loader->started) {
        pthread_mutex_lock(&loader->mu);
        loader->stop = 1;
        pthread_cond_broadcast(&loader->cv);
        pthread_mutex_unlock(&loader->mu);
        pthread_join(loader->thread, NULL);
    }
    for (size_t i = 0; i < loader->nretire; i++)
        dp_flush_destroy(loader->retire[i]);
    free(loader->retire);
    for (size_t i = 0; i < loader->nprep; i++)
        free(loader->prep[i]);
    free(loader->prep);
    dp_flush_destroy(loader->job);
    dp_loader_stats_free(loader->job_stats, loader->job_n);
    dp_loader__clear_prog(loader);
    dp_loader_stats_free(loader->shared, loader->nshared);
    dp_dbx_client_destroy(loader->client);
    dp_retry_destroy(loader->retry);
    free(loader->incarnation);
    free(loader->worker_id);
    pthread_cond_destroy(&loader->cv);
    pthread_mutex_destroy(&loader->mu);
    free(loader);
}

int dp_loader_submit(dp_loader_t *loader, dp_flush_t *flush, dp_loader_stat_t *stats, size_t n)
{
    pthread_mutex_lock(&loader->mu);
    if (loader->job) {
        pthread_mutex_unlock(&loader->mu);
        return DP_EAGAIN;
    }
    loader->job = flush;
    loader->job_stats = stats;
    loader->job_n = n;
    loader->job_done = 0;
    dp_metrics_set(DP_MG_LOADER_BUSY, 1);
    dp_metrics_set(DP_MG_BUFFER_LOADING_BYTES, (int64_t)dp_flush_bytes(flush));
    pthread_cond_broadcast(&loader->cv);
    pthread_mutex_unlock(&loader->mu);
    return 0;
}

int dp_loader_busy(dp_loader_t *loader)
{
    int busy;

    pthread_mutex_lock(&loader->mu);
    busy = loader->job != NULL;
    pthread_mutex_unlock(&loader->mu);
    return busy;
}

dp_flush_t *dp_loader_take_done(dp_loader_t *loader, dp_loader_stat_t **stats, size_t *n)
{
    dp_flush_t *flush = NULL;

    pthread_mutex_lock(&loader->mu);
    if (loader->job && loader->job_done) {
        flush = loader->job;
        *stats = loader->job_stats;
        *n = loader->job_n;
        loader->job = NULL;
        loader->job_stats = NULL;
        loader->job_n = 0;
        loader->job_done = 0;
        dp_metrics_set(DP_MG_LOADER_BUSY, 0);
        dp_metrics_set(DP_MG_BUFFER_LOADING_BYTES, 0);
    }
    pthread_mutex_unlock(&loader->mu);
    return flush;
}

int dp_loader_wait(dp_loader_t *loader, long timeout_ms)
{
    long long deadline = dp_clock_mono_ms() + timeout_ms;
    int done;

    pthread_mutex_lock(&loader->mu);
    while (loader->job && !loader->job_done && dp_clock_mono_ms() < deadline) {
        dp_health_beat(DP_HEALTH_POLL); /* the poll thread waits here in a drain */
        wait_locked(loader, (long)(deadline - dp_clock_mono_ms()) < 200
                                ? (long)(deadline - dp_clock_mono_ms())
                                : 200);
    }
    done = !loader->job || loader->job_done;
    pthread_mutex_unlock(&loader->mu);
    return done ? 0 : DP_ETIMEDOUT;
}

int dp_loader_counts_known(dp_loader_t *loader)
{
    int known;

    pthread_mutex_lock(&loader->mu);
    known = loader->shared_known;
    pthread_mutex_unlock(&loader->mu);
    return known;
}

void dp_loader_retire(dp_loader_t *loader, dp_flush_t *flush)
{
    pthread_mutex_lock(&loader->mu);
    if (loader->nretire == loader->retirecap) {
        loader->retirecap = loader->retirecap ? loader->retirecap * 2 : 4;
        loader->retire = dp_realloc(loader->retire, loader->retirecap * sizeof(*loader->retire));
    }
    loader->retire[loader->nretire++] = flush;
    pthread_cond_broadcast(&loader->cv);
    pthread_mutex_unlock(&loader->mu);
}

void dp_loader_prepare(dp_loader_t *loader, const char *const *tables, size_t n)
{
    if (n == 0)
        return;
    pthread_mutex_lock(&loader->mu);
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;

        while (k < loader->nprep && strcmp(loader->prep[k], tables[i]) != 0)
            k++;
        if (k < loader->nprep)
            continue;
        if (loader->nprep == loader->prepcap) {
            loader->prepcap = loader->prepcap ? 2 * loader->prepcap : 16;
            loader->prep = dp_realloc(loader->prep, loader->prepcap * sizeof(*loader->prep));
        }
        loader->prep[loader->nprep++] = dp_strdup(tables[i]);
    }
    pthread_cond_broadcast(&loader->cv);
    pthread_mutex_unlock(&loader->mu);
}

dp_loader_stat_t *dp_loader_take_shared(dp_loader_t *loader, size_t *n)
{
    dp_loader_stat_t *stats = NULL;

    *n = 0;
    pthread_mutex_lock(&loader->mu);
    if (loader->shared_new) {
        stats = loader->shared;
        *n = loader->nshared;
        loader->shared = NULL;
        loader->nshared = 0;
        loader->shared_new = 0;
    }
    pthread_mutex_unlock(&loader->mu);
    return stats;
}

long long dp_loader_heartbeat_age_ms(dp_loader_t *loader)
{
    return dp_clock_mono_ms() - atomic_load(&loader->heartbeat_ms);
}

uint64_t dp_loader_loaded(dp_loader_t *loader)
{
    return atomic_load(&loader->loaded);
}

uint64_t dp_loader_failures(dp_loader_t *loader)
{
    return atomic_load(&loader->failures);
}
