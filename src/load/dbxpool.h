/*
 * dbxpool: a small pool of Databricks clients on their own threads ("lanes"),
 * so that the independent calls of one step (the uploads and the COPY INTOs
 * of a flush's tables, the files of the manifests a new owner finishes) run
 * concurrently, at most `lanes` at a time for the whole worker: warehouses
 * queue what exceeds their concurrency, and each call to Databricks is slow
 * (a warm warehouse answers a statement in about half a second), so the
 * count of sequential round trips, not bytes, sets how long a load takes.
 *
 * A caller hands a batch of jobs to dp_dbxpool_run() and waits for all of
 * them; several threads (the loader, recovery) may run batches at once and
 * share the lanes. A job runs on one lane with that lane's client and
 * reports its own result: a failed job does not stop the others, and the
 * caller retries only what failed.
 *
 * Thread: dp_dbxpool_run is thread-safe; a job function runs on a lane.
 */
#ifndef DP_DBXPOOL_H
#define DP_DBXPOOL_H

#include "config/config.h"
#include "core/err.h"
#include "dbx/http.h"
#include "load/dbxconn.h"

#include <stddef.h>

typedef struct dp_dbxpool dp_dbxpool_t;

/* One unit of work. Returns 0 or a DP_E* code with err filled. */
typedef int (*dp_dbxpool_fn)(dp_dbx_client_t *client, void *arg, dp_err_t *err);

typedef struct dp_dbxpool_batch dp_dbxpool_batch_t;

typedef struct dp_dbxpool_job {
    dp_dbxpool_fn fn;          /* set by the caller */
    void *arg;                 /* set by the caller, borrowed */
    int rc;                    /* out: fn's return */
    dp_err_t err;              /* out: fn's error when rc < 0 */
    dp_dbx_counts_t cost;      /* out: the calls the job made */
    dp_dbxpool_batch_t *batch; /* internal */
} dp_dbxpool_job_t;

/* Starts `lanes` threads, each with a client on conn's credential (conn and
 * cfg are borrowed for the pool's life). Returns new (dp_dbxpool_destroy) or
 * NULL with err. */
dp_dbxpool_t *dp_dbxpool_new(const dp_dbxconn_t *conn, const dp_config_t *cfg, size_t lanes,
                             dp_err_t *err);

/* Stops the lanes (after the jobs they run) and frees the pool. NULL is a
 * no-op. No batch may be running. */
void dp_dbxpool_destroy(dp_dbxpool_t *pool);

/* Runs jobs[0..n) and waits until every one has finished, calling beat(ctx)
 * (may be NULL) at least every 500 ms while it waits. Returns the number of
 * jobs whose rc is not 0. */
size_t dp_dbxpool_run(dp_dbxpool_t *pool, dp_dbxpool_job_t *jobs, size_t n, void (*beat)(void *ctx),
                      void *ctx);

/* Number of lanes. */
size_t dp_dbxpool_lanes(const dp_dbxpool_t *pool);

/* Adds the calls of src to dst. */
void dp_dbx_counts_add(dp_dbx_counts_t *dst, const dp_dbx_counts_t *src);

#endif
