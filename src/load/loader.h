/*
 * loader: the worker's loader thread. It takes one cut flush at a time and
 * loads it into Databricks (loader_load.c gives the steps): its tables'
 * files staged with the Files API under
 * /Volumes/<c>/<s>/<v>/<incarnation>/<table>/<key>.avro, the manifest, the
 * claims check, one COPY INTO per table (concurrently, on the dbxpool's
 * lanes), then the ledger and sync_runs rows. The staged file names depend
 * only on the flush's offset ranges, so a retry of the same flush is a no-op
 * for what COPY INTO already loaded.
 *
 * A failed load is retried with backoff until it succeeds or the loader is
 * stopped; nothing is dropped. Set-up errors (missing grant, warehouse,
 * credentials) are logged once per distinct message with the object and the
 * grant. Once the worker has committed a loaded flush, dp_loader_retire()
 * queues its files for deletion, which runs when no flush is loading.
 *
 * At start, and then every routing.stats_refresh_s, it reads the group-wide
 * event counts (the ledger's counts within the window) and the existing evt_
 * tables for the router; dp_loader_counts_known() tells the poll thread when
 * the first read arrived, so that no event is routed before it.
 *
 * Thread: dp_loader_* functions are called from the poll thread; the work
 * runs on the loader's own thread, which beats a heartbeat while it waits on
 * Databricks.
 */
#ifndef DP_LOADER_H
#define DP_LOADER_H

#include "batch/flush.h"
#include "config/config.h"
#include "core/err.h"
#include "dbx/http.h"

#include <stddef.h>
#include <stdint.h>

typedef struct dp_loader dp_loader_t;

/* One event name's count, as staged into event_stats or read back. */
typedef struct dp_loader_stat {
    char *name;
    int64_t count;
    int table_exists;
} dp_loader_stat_t;

typedef struct dp_loadops dp_loadops_t;
typedef struct dp_dbxconn dp_dbxconn_t;

typedef struct dp_loader_opts {
    const dp_config_t *cfg;   /* borrowed for the loader's life */
    const char *incarnation;  /* copied */
    const char *worker_id;    /* copied */
    dp_loadops_t *ops;        /* borrowed for the loader's life */
    const dp_dbxconn_t *conn; /* the worker's credential, borrowed */
} dp_loader_opts_t;

/* Creates the Databricks client and starts the thread. Returns new
 * (dp_loader_destroy), or NULL with err (bad configuration). */
dp_loader_t *dp_loader_new(const dp_loader_opts_t *opts, dp_err_t *err);

/* Stops the thread (an unfinished load is abandoned: its flush was never
 * committed) and frees everything, including flushes still held. */
void dp_loader_destroy(dp_loader_t *loader);

/* Hands a cut flush and its event counts (stats, n, both taken) to the loader.
 * Returns 0, or DP_EAGAIN when a flush is still loading (nothing taken). */
int dp_loader_submit(dp_loader_t *loader, dp_flush_t *flush, dp_loader_stat_t *stats, size_t n);

/* 1 while a submitted flush is not yet loaded. */
int dp_loader_busy(dp_loader_t *loader);

/* Returns the loaded flush (ownership back to the caller, who commits its
 * ranges and then calls dp_loader_retire), or NULL when none is done. *stats
 * and *n receive the flush's counts (owned by the caller: free with
 * dp_loader_stats_free). */
dp_flush_t *dp_loader_take_done(dp_loader_t *loader, dp_loader_stat_t **stats, size_t *n);

/* Waits up to timeout_ms for the submitted flush to finish loading. Returns 0
 * when it is done (take it with dp_loader_take_done), DP_ETIMEDOUT otherwise. */
int dp_loader_wait(dp_loader_t *loader, long timeout_ms);

/* Queues the deletion of the committed flush's staged files and takes the
 * flush (destroyed once its files are gone). */
void dp_loader_retire(dp_loader_t *loader, dp_flush_t *flush);

/* Asks the loader thread to create the tables the open flush has begun to
 * fill (CREATE TABLE IF NOT EXISTS and the table id, once per table and
 * process), while the flush fills: its load then finds them made. tables[i]
 * are copied; n may be 0. A table already known costs nothing; a failure is
 * logged at debug level and met again by the load. Thread: any. */
void dp_loader_prepare(dp_loader_t *loader, const char *const *tables, size_t n);

/* Takes the latest group-wide counts read from event_stats, or NULL when no
 * new read happened since the last call. Caller frees with dp_loader_stats_free. */
dp_loader_stat_t *dp_loader_take_shared(dp_loader_t *loader, size_t *n);

void dp_loader_stats_free(dp_loader_stat_t *stats, size_t n);

/* 1 once the first read of the group-wide counts succeeded. Thread: any. */
int dp_loader_counts_known(dp_loader_t *loader);

/* Milliseconds since the loader thread last showed it is alive (for
 * /healthz). Thread: any. */
long long dp_loader_heartbeat_age_ms(dp_loader_t *loader);

/* Loads done and failed attempts so far (metrics). Thread: any. */
uint64_t dp_loader_loaded(dp_loader_t *loader);
uint64_t dp_loader_failures(dp_loader_t *loader);

#endif
