/*
 * sysrows: the rows deltaport writes about itself, as Avro records.
 *
 *   event_errors  one row per rejected message (body below + the lineage
 *                 fields appended by flush.c): error_code, error_message,
 *                 raw_base64 (the message bytes, at most DP_SYSROWS_RAW_MAX
 *                 of them), raw_size, worker_id.
 *   sync_runs     one row per loaded file: run_key, worker_id, table_name,
 *                 file_path, rows, bytes, inserted_rows, ranges (JSON),
 *                 started_at, finished_at, status, kind, statements,
 *                 files_calls, load_ms, duplicates (rows a merge_event_id
 *                 load left out: load_merge.h), _loaded_at.
 *   event_stats   one row per event name per flush: run_key, worker_id,
 *                 event_name, stat_day (DATE), events, _loaded_at.
 * All three are staged and loaded by COPY INTO like the event tables (a plain
 * INSERT is not idempotent). As there, _loaded_at is the load time, set by
 * the COPY INTO (ddl.h): the schemas end with it (the tables' columns), the
 * records written here do not carry it (avrofile.h).
 *
 * Thread: any (pure functions; the schemas are static strings).
 */
#ifndef DP_SYSROWS_H
#define DP_SYSROWS_H

#include "core/buf.h"
#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

#define DP_SYSROWS_RAW_MAX (1024 * 1024)

/* Avro schemas (JSON text, borrowed, static). The event_errors schema is the
 * body only: pass it to dp_avrofile_staged_schema() to add the lineage. */
extern const char dp_sysrows_event_errors_schema[];
extern const char dp_sysrows_sync_runs_schema[];
extern const char dp_sysrows_event_stats_schema[];
/* The backfills table (load/backfill.h). */
extern const char dp_sysrows_backfills_schema[];

/* Appends an event_errors body to out. Returns 0 or DP_ETOOBIG. */
int dp_sysrows_error(dp_buf_t *out, const char *code, const char *message, const void *raw,
                     size_t raw_len, const char *worker_id, dp_err_t *err);

/* A sync_runs row. kind "file" (NULL means "file"): one staged file loaded
 * into table; kind "flush": one per flush, table "" and file_path the
 * manifest, with the flush's totals; kind "replay" (cmd_replay.h) and
 * "backfill" (backfill.h): one per run. statements and files_calls count the
 * Databricks round trips the row's work cost, load_ms its duration;
 * duplicates the staged rows a merge_event_id load did not insert (0 for
 * COPY INTO). */
typedef struct dp_sysrows_run {
    const char *run_key, *worker_id, *table, *file_path, *ranges_json, *status, *kind;
    int64_t rows, bytes, inserted_rows;
    int64_t started_at_us, finished_at_us;
    int64_t statements, files_calls, load_ms;
    int64_t duplicates;
} dp_sysrows_run_t;

/* Appends a sync_runs record to out. Returns 0 or DP_ETOOBIG. */
int dp_sysrows_run(dp_buf_t *out, const dp_sysrows_run_t *run, dp_err_t *err);

/* Appends an event_stats record to out. Returns 0 or DP_ETOOBIG. */
int dp_sysrows_stat(dp_buf_t *out, const char *run_key, const char *worker_id,
                    const char *event_name, int32_t stat_day, int64_t events, dp_err_t *err);

#endif
