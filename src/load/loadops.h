/*
 * loadops: the work on Databricks that the loader (a worker's own flushes)
 * and recovery (flushes other workers left behind) share:
 *
 *   - the system objects (schema, staging Volume, the system tables of
 *     systables below, the _manifests folder), created once per process;
 *   - destination tables, created (CREATE TABLE IF NOT EXISTS with columns)
 *     and their Delta ids read (DESCRIBE DETAIL) once per table and process;
 *   - staging a container file (build + one Files upload; its folder made
 *     once per process) and loading it (COPY INTO, or Zerobus inserts with
 *     the zerobus sink: dp_loadops_sink);
 *   - a flush's bookkeeping: its ledger rows and sync_runs rows, two staged
 *     files loaded by two COPY INTO statements that run concurrently.
 *
 * Everything that can run concurrently does, on the dbxpool's lanes.
 *
 * The system tables, one list for the whole program (their Avro schemas):
 *   event_errors  rejected messages (body + lineage)
 *   sync_runs     one row per loaded file and one per flush (kind, cost)
 *   ledger        what each flush loaded: ranges and event counts (claims.h)
 *   claims        partition claims (claims.h)
 *   incarnations  the pool's incarnations (claims.h)
 *   backfills     who moves a promoted name's rows, and when it is done
 *                 (backfill.h; made by the backfill thread, not by setup)
 *
 * Thread: every function is thread-safe (the loader and recovery threads
 * share one dp_loadops_t); a `client` argument must be the caller's own.
 */
#ifndef DP_LOADOPS_H
#define DP_LOADOPS_H

#include "config/config.h"
#include "core/buf.h"
#include "core/err.h"
#include "dbx/http.h"
#include "load/claims.h"
#include "load/dbxpool.h"
#include "route/tablename.h"
#include "stage/avrofile.h"
#include "stage/manifest.h"
#include "stage/stagename.h"

#include <stddef.h>
#include <stdint.h>

typedef struct dp_loadops dp_loadops_t;

typedef struct dp_loadops_opts {
    const dp_config_t *cfg;       /* borrowed for the object's life */
    const char *incarnation;      /* copied */
    const char *worker_id;        /* copied */
    const char *canonical_schema; /* canonical schema JSON text, copied */
    dp_dbxpool_t *pool;           /* borrowed */
} dp_loadops_opts_t;

/* Returns new (dp_loadops_destroy) or NULL with err (a schema that cannot
 * be staged). */
dp_loadops_t *dp_loadops_new(const dp_loadops_opts_t *opts, dp_err_t *err);
void dp_loadops_destroy(dp_loadops_t *ops);

/* The NULL-terminated list of system tables; borrowed, static. */
const char *const *dp_loadops_system_tables(void);

/* The staged Avro schema of table (system tables have their own; every other
 * table the canonical one plus lineage). Borrowed from ops. */
const char *dp_loadops_schema_of(const dp_loadops_t *ops, const char *table);

/* The pool (borrowed). */
dp_dbxpool_t *dp_loadops_pool(const dp_loadops_t *ops);

/* The zerobus sink (sink_zerobus.h; borrowed), or NULL with the warehouse
 * sink. With it, event tables are created as a raw table and its view, and
 * dp_loadops_copy() of an event table's staged file inserts its rows through
 * Zerobus (a flush finished by recovery) instead of COPY INTO. */
struct dp_sink_zb;
struct dp_sink_zb *dp_loadops_sink(const dp_loadops_t *ops);
const dp_config_t *dp_loadops_cfg(const dp_loadops_t *ops);

/* Creates the system objects once per process: CREATE SCHEMA (when
 * configured) first, then the Volume, every system table and the
 * _manifests folder concurrently. Returns 0 (also when already done) or a
 * DP_E* code. beat(ctx) is called while it waits. */
int dp_loadops_setup(dp_loadops_t *ops, void (*beat)(void *), void *ctx, dp_err_t *err);

/* Notes that this process already created the schema and the incarnations
 * table (they come first, before the incarnation is known): setup skips them. */
void dp_loadops_note_early_setup(dp_loadops_t *ops);

/* Creates table (CREATE TABLE IF NOT EXISTS with its columns) and reads its
 * Delta id, once per process, on the caller's client (inside a lane's job).
 * Returns 0 or a DP_E* code. */
int dp_loadops_prepare_table(dp_loadops_t *ops, dp_dbx_client_t *client, const char *table,
                             dp_err_t *err);

/* The cached Delta id of table into out ("" when unknown). */
void dp_loadops_table_id(dp_loadops_t *ops, const char *table, char out[DP_CLAIMS_TABLE_ID_SIZE]);

/* Forgets what this process knows of table (a load said it is gone): the
 * next prepare creates it and reads its id again. */
void dp_loadops_forget_table(dp_loadops_t *ops, const char *table);

/* The staged path of (table, key) in this incarnation into path. */
int dp_loadops_path(const dp_loadops_t *ops, const char *table, const char *key,
                    char path[DP_STAGENAME_PATH_SIZE], dp_err_t *err);

/* Fills a container file with records; returns 0 or a DP_E* code. */
typedef int (*dp_loadops_fill_fn)(void *ctx, dp_avrofile_t *file, dp_err_t *err);

/* Builds table's container file at path from fill(ctx) and uploads it (its
 * folder made once per process). *rows and *bytes receive the file's
 * numbers. Returns 0 or a DP_E* code. */
int dp_loadops_stage(dp_loadops_t *ops, dp_dbx_client_t *client, const char *table,
                     const char *path, dp_loadops_fill_fn fill, void *ctx, int64_t *rows,
                     int64_t *bytes, dp_err_t *err);

/* dp_loadops_stage() of n records already encoded back to back in rows. */
int dp_loadops_stage_rows(dp_loadops_t *ops, dp_dbx_client_t *client, const char *table,
                          const char *path, const dp_buf_t *rows, int64_t n, int64_t *bytes,
                          dp_err_t *err);

/* COPY INTO table of the one staged file at path; *inserted receives
 * num_inserted_rows (0 when COPY skipped an already loaded file). Returns 0,
 * DP_EINVAL when Databricks refused the data, or another DP_E* code. */
int dp_loadops_copy(dp_loadops_t *ops, dp_dbx_client_t *client, const char *table, const char *path,
                    long long *inserted, dp_err_t *err);

/* Loads the staged file at path into table as its load mode says
 * (load_merge.h): COPY INTO (copy), or MERGE on event_id (merge_event_id;
 * system tables are always copied). rows is the file's record count;
 * *inserted receives num_inserted_rows; *duplicates (may be NULL) the rows a
 * merge left out (rows - inserted; 0 for COPY INTO), also added to
 * deltaport_duplicates_merged_total. A file merged again after a crash
 * inserts nothing, so all its rows count as left out then. Returns as
 * dp_loadops_copy. */
int dp_loadops_load(dp_loadops_t *ops, dp_dbx_client_t *client, const char *table, const char *path,
                    int64_t rows, long long *inserted, long long *duplicates, dp_err_t *err);

/* dp_loadops_load() in merge_event_id mode whatever the table's mode (for
 * `deltaport replay`, which never duplicates an event_id). */
int dp_loadops_merge(dp_loadops_t *ops, dp_dbx_client_t *client, const char *table,
                     const char *path, int64_t rows, long long *inserted, long long *duplicates,
                     dp_err_t *err);

/* Loads m's bookkeeping: the ledger rows of m and the nruns sync_runs rows
 * in runs (encoded records), each staged at its table's path for m->key and
 * loaded by COPY INTO, the two concurrently. cost (may be NULL) receives the
 * calls made. Returns 0 or a DP_E* code. */
int dp_loadops_bookkeep(dp_loadops_t *ops, const dp_manifest_t *m, const dp_buf_t *runs,
                        int64_t nruns, void (*beat)(void *), void *ctx, dp_dbx_counts_t *cost,
                        dp_err_t *err);

/* Deletes the files paths[0..n) concurrently, best effort (failures are
 * logged: a file left behind costs storage, never correctness). */
void dp_loadops_delete(dp_loadops_t *ops, char *const *paths, size_t n, void (*beat)(void *),
                       void *ctx);

/* Every staged path of manifest m (its files, then its ledger and sync_runs
 * files), for retiring it: *paths is new (free each and the array). Returns
 * the count. */
size_t dp_loadops_manifest_paths(const dp_loadops_t *ops, const dp_manifest_t *m, char ***paths);

#endif
