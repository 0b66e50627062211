/*
 * manifest: the record of one flush, written to the staging Volume after its
 * files are uploaded and before its first COPY INTO, so that whoever owns a
 * partition next can finish the flush instead of cutting its offsets again
 * under other file names (which COPY INTO would load a second time).
 *
 *   /Volumes/<c>/<s>/<v>/<inc>/_manifests/<key>.json
 *       {"version":1,"key","incarnation","worker_id","loaded_at",
 *        "ranges":[{"topic","partition","first","last","epoch","fp"}],
 *        "files":[{"table","table_id","path","rows","bytes"}]}
 *       epoch: the writer's claim on the partition (claims.h), which decides
 *       whether the manifest may be loaded; table_id: the Delta table id the
 *       file is meant for (a recreated table has another one).
 *   /Volumes/<c>/<s>/<v>/<inc>/_index/<topic>/<partition>/<first>-<last>-<key>
 *       one empty entry per range (offsets zero-padded to 20 digits), so a
 *       worker lists the flushes of one partition without reading the others.
 *
 * Invariants: the manifest is written after all its index entries and before
 * its first COPY INTO; a manifest and its files are deleted only after every
 * partition it covers is committed past its range.
 *
 * Thread: the caller's; the dbx client passed in must be that thread's.
 */
#ifndef DP_MANIFEST_H
#define DP_MANIFEST_H

#include "config.h"
#include "dbx/http.h"
#include "err.h"
#include "stagename.h"

#include <stddef.h>
#include <stdint.h>

typedef struct dp_manifest_range {
    char *topic;
    int32_t partition;
    int64_t first, last;
    int64_t epoch; /* the writer's claim epoch on the partition (claims.h); 0 when unknown */
    uint32_t fp;   /* fingerprint of the message at `last` (dp_kafka_fingerprint), 0 unknown */
} dp_manifest_range_t;

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
/* Sets the table id of the i-th file (copied; NULL clears it). */
void dp_manifest_set_table_id(dp_manifest_t *m, size_t i, const char *table_id);

/* JSON text of m (new, caller frees), and back. from_json returns new or NULL
 * with err (DP_EINVAL: not a manifest, or a field out of range). */
char *dp_manifest_to_json(const dp_manifest_t *m);
dp_manifest_t *dp_manifest_from_json(const char *text, size_t len, dp_err_t *err);

/* Index entry names: "<first>-<last>-<key>" and its parser (0 or DP_EINVAL). */
int dp_manifest_entry_name(int64_t first, int64_t last, const char *key, char *out,
                           size_t outlen);
int dp_manifest_entry_parse(const char *name, int64_t *first, int64_t *last,
                            char key[DP_STAGENAME_KEY_SIZE]);

/* Uploads the index entries, then the manifest (an entry without its
 * manifest marks a flush that never reached COPY INTO). Returns 0 or a DP_E*
 * code. */
int dp_manifest_write(dp_dbx_client_t *client, const dp_config_t *cfg, const dp_manifest_t *m,
                      dp_err_t *err);

/* Reads the manifest of key. Returns 0 with *out new (or NULL when it does not
 * exist), or a DP_E* code. */
int dp_manifest_read(dp_dbx_client_t *client, const dp_config_t *cfg, const char *incarnation,
                     const char *key, dp_manifest_t **out, dp_err_t *err);

/* Calls visit for every index entry of (topic, partition) whose range ends at
 * or after from_offset, i.e. every flush not committed past. Returns 0 or a
 * DP_E* code; a missing index directory is no entry. */
int dp_manifest_pending(dp_dbx_client_t *client, const dp_config_t *cfg, const char *incarnation,
                        const char *topic, int32_t partition, int64_t from_offset,
                        void (*visit)(void *ctx, int64_t first, int64_t last, const char *key),
                        void *ctx, dp_err_t *err);

/* Deletes the index entries and the manifest (not the staged files).
 * Best effort: returns the first error, after trying every deletion. */
int dp_manifest_delete(dp_dbx_client_t *client, const dp_config_t *cfg, const dp_manifest_t *m,
                       dp_err_t *err);

#endif
