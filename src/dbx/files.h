/*
 * dbx/files: the Files API for the staging Volume (docs/DATABRICKS.md).
 *
 * Paths are absolute Volume paths, /Volumes/<catalog>/<schema>/<volume>/...;
 * each segment is percent-encoded and '/' kept. Uploads are sent from memory
 * (application/octet-stream) so a retry resends the same bytes. A 403 or 404
 * comes back naming the volume and the grant the principal lacks.
 * Thread: the client's thread.
 */
#ifndef DP_DBX_FILES_H
#define DP_DBX_FILES_H

#include <stddef.h>

#include "core/err.h"
#include "dbx/http.h"

/* Uploads len bytes (data borrowed) to volume_path. With overwrite = 0 an
 * existing file is left alone: the call succeeds and sets *already_exists
 * to 1 (409 ALREADY_EXISTS; compare sizes with dp_dbx_files_head when it
 * matters). already_exists may be NULL; it is set to 0 otherwise. Returns 0,
 * DP_EINVAL (bad path), DP_EDENIED (missing WRITE VOLUME...), DP_ENOTFOUND
 * (no such volume), or a transport/HTTP code (err->retryable tells). */
int dp_dbx_files_upload(dp_dbx_client_t *client, const char *volume_path, const void *data,
                        size_t len, int overwrite, int *already_exists, dp_err_t *err);

/* Creates a directory and its parents (mkdir -p; idempotent). Returns 0 or
 * the codes of dp_dbx_files_upload. */
int dp_dbx_files_mkdirs(dp_dbx_client_t *client, const char *dir_path, dp_err_t *err);

/* Deletes a file. A file already gone (404) is success; *was_absent (may be
 * NULL) then says 1. Returns 0, DP_EINVAL, DP_EDENIED, or transport/HTTP. */
int dp_dbx_files_delete(dp_dbx_client_t *client, const char *path, int *was_absent, dp_err_t *err);

/* One entry of a directory listing; strings borrowed for the callback. */
typedef struct dp_dbx_file_entry {
    const char *path; /* full /Volumes/... path */
    const char *name; /* last segment */
    int is_directory;
    long long file_size;     /* -1 when not given */
    long long last_modified; /* ms since the epoch, -1 when not given */
} dp_dbx_file_entry_t;

/* Returns 0 to continue, non-zero to stop listing. */
typedef int (*dp_dbx_files_list_fn)(void *ctx, const dp_dbx_file_entry_t *entry);

/* Lists dir_path, following next_page_token until none. Returns 0 (also
 * when the callback stopped early), DP_ENOTFOUND (no such directory),
 * DP_EINVAL (bad path or malformed page), DP_EDENIED, or transport/HTTP. */
int dp_dbx_files_list(dp_dbx_client_t *client, const char *dir_path, dp_dbx_files_list_fn fn,
                      void *ctx, dp_err_t *err);

/* HEAD of a file: *exists = 1 and *size (may be NULL) = Content-Length, or
 * *exists = 0 on 404. Returns 0, DP_EINVAL, DP_EDENIED, or transport/HTTP. */
int dp_dbx_files_head(dp_dbx_client_t *client, const char *path, int *exists, long long *size,
                      dp_err_t *err);

/* Downloads a file (GET /api/2.0/fs/files{path}). On success *exists says
 * whether it was there; when it was, *data is new memory (caller frees; NUL
 * appended after *len bytes). 404 is success with *exists = 0. Bounded by the
 * client's max_response_bytes. Thread: the client's thread. */
int dp_dbx_files_download(dp_dbx_client_t *client, const char *path, char **data, size_t *len,
                          int *exists, dp_err_t *err);

#endif
