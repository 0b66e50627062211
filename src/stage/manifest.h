/*
 * manifest: the record of one flush, written to the staging Volume after its
 * files are uploaded and before its first COPY INTO, so that whoever owns a
 * partition next can finish the flush instead of cutting its offsets again
 * under other file names (which COPY INTO would load a second time).
 *
 *   /Volumes/<c>/<s>/<v>/<inc>/_manifests/<key>.json
 *       {"version":2,"key","incarnation","worker_id","loaded_at",
 *        "ranges":[{"topic","partition","first","last","epoch","fp",
 *                   "ts_min","ts_max"}],
 *        "files":[{"table","table_id","path","rows","bytes"}],
 *        "counts":[{"name","day","count"}]}
 *       epoch: the writer's claim on the partition (claims.h), which decides
 *       whether the manifest may be loaded; table_id: the Delta table id the
 *       file is meant for (a recreated table has another one); counts: the
 *       flush's events per name, for the routing threshold (ledger).
 *
 * One Files call writes a flush's record: there is no per-partition index. A
 * new owner lists the one _manifests folder of the incarnation and reads the
 * manifests in it; a flush is pending for it only through a manifest it has
 * read. The folder stays short because manifests are deleted once every
 * partition they cover is committed past them (pruning).
 *
 * Invariants: the manifest is written after all its files are uploaded and
 * before its first COPY INTO; a manifest and its files are deleted only after
 * every partition it covers is committed past its range.
 *
 * Thread: the caller's; the dbx client passed in must be that thread's.
 */
#ifndef DP_MANIFEST_H
#define DP_MANIFEST_H

#include "config/config.h"
#include "core/err.h"
#include "dbx/http.h"
#include "stage/stagename.h"

#include <stddef.h>
#include <stdint.h>

typedef struct dp_manifest_range {
    char *topic;
    int32_t partition;
    int64_t first, last;
    int64_t epoch; /* the writer's claim epoch on the partition (claims.h); 0 when unknown */
    uint32_t fp;   /* fingerprint of the message at `last` (dp_kafka_fingerprint), 0 unknown */
    int64_t ts_min, ts_max; /* the records' Kafka timestamps (microseconds), 0 unknown */
} dp_manifest_range_t;

typedef struct dp_manifest_count {
    char *name;  /* event name */
    int32_t day; /* days since the epoch (UTC) */
    int64_t count;
} dp_manifest_count_t;

typedef struct dp_manifest_file {
    char *table;
    char *table_id; /* the destination's Delta table id when written, or NULL (H5) */
    char *path;
    int64_t rows;
    int64_t bytes;
} dp_manifest_file_t;

typedef struct dp_manifest {
    char key[DP_STAGENAME_KEY_SIZE];
    char *incarnation;
    char *worker_id;
    int64_t loaded_at;
    dp_manifest_range_t *ranges;
    size_t nranges;
    dp_manifest_file_t *files;
    size_t nfiles;
    dp_manifest_count_t *counts;
    size_t ncounts;
} dp_manifest_t;

/* Creates an empty manifest (strings copied). Returns new (dp_manifest_destroy). */
dp_manifest_t *dp_manifest_new(const char *key, const char *incarnation, const char *worker_id,
                               int64_t loaded_at);
void dp_manifest_destroy(dp_manifest_t *m);

/* Appends a range / a file (strings copied; table_id may be NULL). */
void dp_manifest_add_range(dp_manifest_t *m, const char *topic, int32_t partition, int64_t first,
                           int64_t last, int64_t epoch);
void dp_manifest_add_file(dp_manifest_t *m, const char *table, const char *path, int64_t rows,
                          int64_t bytes);
/* Appends an event count (name copied). */
void dp_manifest_add_count(dp_manifest_t *m, const char *name, int32_t day, int64_t count);
/* Sets the table id of the i-th file (copied; NULL clears it). */
void dp_manifest_set_table_id(dp_manifest_t *m, size_t i, const char *table_id);

/* JSON text of m (new, caller frees), and back. from_json returns new or NULL
 * with err (DP_EINVAL: not a manifest, or a field out of range). */
char *dp_manifest_to_json(const dp_manifest_t *m);
dp_manifest_t *dp_manifest_from_json(const char *text, size_t len, dp_err_t *err);

/* Uploads the manifest (one Files call; the caller makes the _manifests
 * folder once per process with dp_manifest_dir). Returns 0 or a DP_E* code. */
int dp_manifest_write(dp_dbx_client_t *client, const dp_config_t *cfg, const dp_manifest_t *m,
                      dp_err_t *err);

/* Checks a manifest read from the Volume before anything acts on it (it is
 * data anyone with WRITE VOLUME can change): it belongs to incarnation, and
 * every file lies in that incarnation's staging folder of its own table,
 * named <64 hex>.avro, for an event table or event_errors (never another
 * system table). Returns 0 or DP_EINVAL naming the file. */
int dp_manifest_check(const dp_config_t *cfg, const char *incarnation, const dp_manifest_t *m,
                      dp_err_t *err);

/* Reads the manifest of key and checks it (dp_manifest_check). Returns 0 with
 * *out new (or NULL when it does not exist), DP_EINVAL for a manifest that
 * fails the check, or another DP_E* code. */
int dp_manifest_read(dp_dbx_client_t *client, const dp_config_t *cfg, const char *incarnation,
                     const char *key, dp_manifest_t **out, dp_err_t *err);

/* The _manifests folder of incarnation into out (DP_STAGENAME_PATH_SIZE).
 * Returns 0 or DP_ETOOBIG. */
int dp_manifest_dir(const dp_config_t *cfg, const char *incarnation, char *out, size_t outlen);

/* Lists the manifests of incarnation (one listing, paged by the Files API):
 * visit is called with each key. Returns 0 or a DP_E* code; a missing folder
 * is no manifest. */
int dp_manifest_list(dp_dbx_client_t *client, const dp_config_t *cfg, const char *incarnation,
                     void (*visit)(void *ctx, const char *key), void *ctx, dp_err_t *err);

/* Deletes the manifest (not the staged files). Returns 0 (also when it was
 * gone) or a DP_E* code. */
int dp_manifest_delete(dp_dbx_client_t *client, const dp_config_t *cfg, const dp_manifest_t *m,
                       dp_err_t *err);

#endif
