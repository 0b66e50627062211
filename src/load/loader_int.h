/*
 * loader_int.h: what the loader's files share (loader.c: the thread and the
 * API; loader_load.c: one flush, retiring, the group-wide counts and the
 * thread's heartbeat). loader.c calls loader_load.c, never the reverse.
 * Nothing outside these two files includes it.
 */
#ifndef DP_LOADER_INT_H
#define DP_LOADER_INT_H

#include "load/loader.h"

#include "core/retry.h"
#include "load/dbxconn.h"
#include "load/loadops.h"
#include "route/tablename.h"
#include "stage/manifest.h"
#include "stage/stagename.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define BACKOFF_MAX_MS 30000
#define QUALIFIED_MAX  DP_TABLENAME_QUALIFIED_SIZE

/* One staged file of the job's flush, and how far its load got (kept across
 * retries of the job, so that a retry redoes only what failed). */
typedef struct dp_loader_file {
    const char *table; /* borrowed from the flush */
    size_t ti;         /* table index in the flush */
    char path[DP_STAGENAME_PATH_SIZE];
    int64_t rows, bytes;
    long long inserted;
    long long duplicates; /* rows a merge_event_id load left out */
    int staged, copied, refused;
    char *refused_why; /* owned */
    int64_t started_us, finished_us;
    int64_t stage_ms, copy_ms; /* the table's own load: upload, then COPY INTO */
    dp_dbx_counts_t cost;
    struct dp_sink_zb_table *zb; /* owned: the zerobus sink's progress (sink_zerobus.h) */
} dp_loader_file_t;

/* The progress of the job (reset for each new job). */
typedef struct dp_loader_prog {
    int ready;    /* key, manifest and files set up */
    uint64_t seq; /* of the flush it belongs to */
    char key[DP_STAGENAME_KEY_SIZE];
    dp_manifest_t *m;        /* owned; its files added once all are staged */
    dp_loader_file_t *files; /* owned */
    size_t nfiles;
    int manifest_written, judged, extra_done, bookkept;
    dp_loader_file_t extra; /* rejected rows as event_errors */
    int64_t started_us;
    dp_dbx_counts_t cost; /* calls of the job so far */
} dp_loader_prog_t;

struct dp_loader {
    const dp_config_t *cfg;
    char *incarnation;
    char *worker_id;
    dp_loadops_t *ops;        /* borrowed */
    dp_dbx_client_t *client;  /* owned: the loader thread's own */
    const dp_dbxconn_t *conn; /* the worker's credential, borrowed */
    dp_retry_t *retry;        /* owned: jittered backoff of failed loads */

    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    dp_flush_t *job; /* submitted, being loaded or loaded */
    dp_loader_stat_t *job_stats;
    size_t job_n;
    int job_done;
    dp_flush_t **retire; /* committed flushes whose files go */
    size_t nretire, retirecap;
    dp_loader_stat_t *shared; /* latest group-wide counts */
    size_t nshared;
    int shared_new;
    int shared_known; /* 1 once a first read of the counts succeeded */
    char **prep;      /* owned, each owned: tables to create ahead (dp_loader_prepare) */
    size_t nprep, prepcap;

    /* Loader thread only. */
    dp_loader_prog_t prog;
    long long next_stats_ms;
    int setup_ok; /* the schema, Volume and system tables exist */
    char last_error[DP_ERR_MSG_MAX];

    _Atomic long long heartbeat_ms;
    _Atomic uint64_t loaded, failures;
};

/* Marks the loader thread alive (heartbeat, /healthz). Thread: loader. */
void dp_loader__beat(void *ctx);

/* Loads one flush: stage, manifest, claims check, COPY INTO, event_stats,
 * ledger, sync_runs. Returns 0 (loaded, or fenced: dp_flush_fenced() then
 * says so) or a DP_E* code (the job is retried). Thread: loader. */
int dp_loader__load_flush(dp_loader_t *loader, dp_flush_t *flush, const dp_loader_stat_t *stats,
                          size_t nstats, dp_err_t *err);

/* Deletes the manifests, then the staged files, of committed flushes
 * (best effort, concurrently). */
void dp_loader__retire_files(dp_loader_t *loader, dp_flush_t *const *flushes, size_t n);

/* Re-reads the event counts (ledger) and the evt_ tables; hands them to the
 * poll thread. Returns 0, or a DP_E* code (logged; tried again later). */
int dp_loader__refresh_stats(dp_loader_t *loader);

/* Forgets the progress of the previous job (a new job starts). */
void dp_loader__clear_prog(dp_loader_t *loader);

#endif
