/*
 * loader_int.h: what the loader's files share (loader.c: the thread and the
 * API; loader_load.c: statements, staging, COPY INTO, one flush, the
 * group-wide counts). Nothing outside these two files includes it.
 */
#ifndef DP_LOADER_INT_H
#define DP_LOADER_INT_H

#include "loader.h"

#include "dbxconn.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define ERRORS_TABLE "event_errors"
#define RUNS_TABLE "sync_runs"
#define STATS_TABLE "event_stats"
#define FILE_MAX ((size_t)1 << 31)
#define BACKOFF_MAX_MS 30000
#define QUALIFIED_MAX DP_TABLENAME_QUALIFIED_SIZE

struct dp_loader {
    const dp_config_t *cfg;
    char *staged_schema;  /* canonical + lineage */
    char *errors_schema;  /* event_errors body + lineage */
    char *incarnation;
    char *worker_id;
    dp_dbxconn_t conn;
    dp_dbx_client_t *client;         /* borrowed from conn */

    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    dp_flush_t *job;                 /* submitted, being loaded or loaded */
    dp_loader_stat_t *job_stats;
    size_t job_n;
    int job_done;
    char **rejected;                 /* tables of the job whose rows Databricks refused, */
    char **rejected_why;             /* with its message: kept across retries of the job */
    size_t nrejected;
    dp_flush_t **retire;             /* committed flushes whose files go */
    size_t nretire, retirecap;
    dp_loader_stat_t *shared;        /* latest group-wide counts */
    size_t nshared;
    int shared_new;

    /* Loader thread only. */
    int setup_done;
    char **known;                    /* tables created and directories made */
    char **id_table, **id_value;     /* Delta table ids (manifests, H5), */
    long long *id_at;                /* read at most once a minute per table */
    size_t nids;
    size_t nknown, knowncap;
    long long next_stats_ms;
    char last_error[DP_ERR_MSG_MAX];

    _Atomic long long heartbeat_ms;
    _Atomic uint64_t loaded, failures;
};

/* Marks the loader thread alive (heartbeat, /healthz). Thread: loader. */
void dp_loader__beat(void *ctx);

/* Loads one flush: stage, manifest, claims check, COPY INTO, event_stats,
 * ledger, sync_runs. Returns 0 (loaded, or fenced: dp_flush_fenced() then
 * says so) or a DP_E* code (the job is retried). Thread: loader. */
int dp_loader__load_flush(dp_loader_t *loader, dp_flush_t *flush,
                          const dp_loader_stat_t *stats, size_t nstats, dp_err_t *err);

/* Deletes a committed flush's manifest and staged files (best effort). */
void dp_loader__retire_files(dp_loader_t *loader, const dp_flush_t *flush);

/* Re-reads event_stats and the evt_ tables; hands them to the poll thread. */
void dp_loader__refresh_stats(dp_loader_t *loader);

/* Forgets the tables a job's data was refused for (a new job starts). */
void dp_loader__clear_rejections(dp_loader_t *loader);

#endif
