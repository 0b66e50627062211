/*
 * dbx/files: Files API calls on Volume paths (see files.h).
 *
 * Every call here is idempotent (PUT of the same bytes, mkdir -p, DELETE,
 * GET, HEAD), so 500/502/504 are retried as well as 429/503.
 */
#include "dbx/files.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "dbx/dbx_int.h"

#define FS_FILES "/api/2.0/fs/files"
#define FS_DIRS  "/api/2.0/fs/directories"

/* ---------------------------------------------------------------------------
 * Paths (pure)
 * ------------------------------------------------------------------------- */

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

/* Percent-encodes s into out; '/' is kept when keep_slash. Returns 0 or -1
 * when out is too small. */
static int pct_encode(const char *s, int keep_slash, char *out, size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if (unreserved(c) || (keep_slash && c == '/')) {
            if (o + 1 >= outlen) {
                return -1;
            }
            out[o++] = (char)c;
        } else {
            if (o + 3 >= outlen) {
                return -1;
            }
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    if (o >= outlen) {
        return -1;
    }
    out[o] = '\0';
    return 0;
}

/* Checks the segments of an absolute /Volumes path. */
static int check_segments(const char *path, dp_err_t *err)
{
    const char *seg = path + 1, *end;
    int count = 0;

    for (;;) {
        size_t n;

        end = strchr(seg, '/');
        n = end ? (size_t)(end - seg) : strlen(seg);
        if (n == 0 && end == NULL && count >= 4) {
            break; /* one trailing '/' on a directory */
        }
        if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.')) {
            return dp_err_set(err, DP_EINVAL, 0,
                              "files: path %s has an empty, '.' or '..' "
                              "segment",
                              path);
        }
        count++;
        if (end == NULL) {
            break;
        }
        seg = end + 1;
    }
    if (count < 4) {
        return dp_err_set(err, DP_EINVAL, 0,
                          "files: path %s is not under /Volumes/<catalog>/<schema>/<volume>", path);
    }
    return 0;
}

int dp_dbx_encode_path(const char *path, char *out, size_t outlen, dp_err_t *err)
{
    const char *p;

    if (path == NULL || strncmp(path, "/Volumes/", 9) != 0) {
        return dp_err_set(err, DP_EINVAL, 0, "files: path %s must start with /Volumes/",
                          path ? path : "(null)");
    }
    for (p = path; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            return dp_err_set(err, DP_EINVAL, 0, "files: path has a control character");
        }
    }
    if (check_segments(path, err) < 0) {
        return err ? err->code : DP_EINVAL;
    }
    if (pct_encode(path, 1, out, outlen) < 0) {
        return dp_err_set(err, DP_ETOOBIG, 0, "files: encoded path of %s is too long", path);
    }
    return 0;
}

void dp_dbx_volume_object(const char *path, dp_retry_access_t access, char *name, size_t namelen,
                          dp_retry_object_t *object)
{
    const char *s = path + strlen("/Volumes/");
    size_t i, n = 0;
    int slashes = 0;

    for (i = 0; s[i] != '\0' && n + 1 < namelen; i++) {
        if (s[i] == '/' && ++slashes == 3) {
            break;
        }
        name[n++] = s[i] == '/' ? '.' : s[i];
    }
    name[n] = '\0';
    object->kind = DP_RETRY_OBJ_VOLUME;
    object->access = access;
    object->name = name;
}

/* ---------------------------------------------------------------------------
 * Calls
 * ------------------------------------------------------------------------- */

typedef struct fs_call {
    char url[4096];
    char what[4200];
    char volume[512];
    dp_dbx_request_t req;
} fs_call_t;

/* Prepares a request on prefix + encoded path + query. */
static int fs_prepare(fs_call_t *c, const char *method, const char *prefix, const char *path,
                      const char *query, const char *verb, dp_retry_access_t access, dp_err_t *err)
{
    char enc[3600];
    int rc;

    if ((rc = dp_dbx_encode_path(path, enc, sizeof(enc), err)) < 0) {
        return rc;
    }
    if ((size_t)snprintf(c->url, sizeof(c->url), "%s%s%s", prefix, enc, query ? query : "") >=
        sizeof(c->url)) {
        return dp_err_set(err, DP_ETOOBIG, 0, "files: URL for %s is too long", path);
    }
    snprintf(c->what, sizeof(c->what), "%s %s", verb, path);
    memset(&c->req, 0, sizeof(c->req));
    c->req.method = method;
    c->req.path = c->url;
    c->req.idempotent = 1;
    c->req.what = c->what;
    dp_dbx_volume_object(path, access, c->volume, sizeof(c->volume), &c->req.object);
    return 0;
}

int dp_dbx_files_upload(dp_dbx_client_t *client, const char *volume_path, const void *data,
                        size_t len, int overwrite, int *already_exists, dp_err_t *err)
{
    static const long accept_409[] = {409, 0};
    dp_dbx_response_t resp = {0};
    fs_call_t *c = dp_calloc(1, sizeof(*c));
    int rc;

    if (already_exists != NULL) {
        *already_exists = 0;
    }
    rc = fs_prepare(c, "PUT", FS_FILES, volume_path,
                    overwrite ? "?overwrite=true" : "?overwrite=false", "upload",
                    DP_RETRY_ACCESS_WRITE, err);
    if (rc == 0) {
        c->req.content_type = "application/octet-stream";
        c->req.body = data ? data : "";
        c->req.body_len = len;
        c->req.accept = overwrite ? NULL : accept_409;
        rc = dp_dbx_call(client, &c->req, &resp, err);
    }
    if (rc == 0 && resp.status == 409) {
        if (strcmp(resp.error_code, "ALREADY_EXISTS") != 0 && resp.error_code[0] != '\0') {
            rc = dp_err_set(err, DP_EINVAL, 0, "%s: HTTP 409 %s: %s", c->what, resp.error_code,
                            resp.message);
        } else if (already_exists != NULL) {
            *already_exists = 1;
        }
    }
    dp_dbx_response_clear(&resp);
    free(c);
    return rc;
}

int dp_dbx_files_mkdirs(dp_dbx_client_t *client, const char *dir_path, dp_err_t *err)
{
    dp_dbx_response_t resp = {0};
    fs_call_t *c = dp_calloc(1, sizeof(*c));
    int rc = fs_prepare(c, "PUT", FS_DIRS, dir_path, NULL, "create directory",
                        DP_RETRY_ACCESS_WRITE, err);

    if (rc == 0) {
        rc = dp_dbx_call(client, &c->req, &resp, err);
    }
    dp_dbx_response_clear(&resp);
    free(c);
    return rc;
}

int dp_dbx_files_delete(dp_dbx_client_t *client, const char *path, int *was_absent, dp_err_t *err)
{
    static const long accept_404[] = {404, 0};
    dp_dbx_response_t resp = {0};
    fs_call_t *c = dp_calloc(1, sizeof(*c));
    int rc = fs_prepare(c, "DELETE", FS_FILES, path, NULL, "delete", DP_RETRY_ACCESS_WRITE, err);

    if (rc == 0) {
        c->req.accept = accept_404;
        rc = dp_dbx_call(client, &c->req, &resp, err);
    }
    if (was_absent != NULL) {
        *was_absent = rc == 0 && resp.status == 404;
    }
    dp_dbx_response_clear(&resp);
    free(c);
    return rc;
}

int dp_dbx_files_head(dp_dbx_client_t *client, const char *path, int *exists, long long *size,
                      dp_err_t *err)
{
    static const long accept_404[] = {404, 0};
    dp_dbx_response_t resp = {0};
    fs_call_t *c = dp_calloc(1, sizeof(*c));
    int rc = fs_prepare(c, "HEAD", FS_FILES, path, NULL, "head", DP_RETRY_ACCESS_READ, err);

    *exists = 0;
    if (rc == 0) {
        c->req.accept = accept_404;
        rc = dp_dbx_call(client, &c->req, &resp, err);
    }
    if (rc == 0 && resp.status != 404) {
        *exists = 1;
        if (size != NULL) {
            *size = resp.content_length;
        }
    }
    dp_dbx_response_clear(&resp);
    free(c);
    return rc;
}

int dp_dbx_files_download(dp_dbx_client_t *client, const char *path, char **data, size_t *len,
                          int *exists, dp_err_t *err)
{
    static const long accept_404[] = {404, 0};
    dp_dbx_response_t resp = {0};
    fs_call_t *c = dp_calloc(1, sizeof(*c));
    int rc = fs_prepare(c, "GET", FS_FILES, path, NULL, "download", DP_RETRY_ACCESS_READ, err);

    *data = NULL;
    *len = 0;
    *exists = 0;
    if (rc == 0) {
        c->req.accept = accept_404;
        rc = dp_dbx_call(client, &c->req, &resp, err);
    }
    if (rc == 0 && resp.status != 404) {
        *exists = 1;
        *data = dp_malloc(resp.body_len + 1);
        if (resp.body_len)
            memcpy(*data, resp.body, resp.body_len);
        (*data)[resp.body_len] = '\0';
        *len = resp.body_len;
    }
    dp_dbx_response_clear(&resp);
    free(c);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Listing
 * ------------------------------------------------------------------------- */

static long long json_ll(json_t *v)
{
    char *end = NULL;
    long long n;

    if (json_is_integer(v)) {
        return (long long)json_integer_value(v);
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);

        errno = 0;
        n = strtoll(s, &end, 10);
        if (errno == 0 && end != s && *end == '\0') {
            return n;
        }
    }
    return -1;
}

int dp_dbx_files_parse_page(const char *body, size_t len, dp_dbx_files_list_fn fn, void *ctx,
                            char *next, size_t nextlen, int *stopped, dp_err_t *err)
{
    json_t *root = json_loadb(body ? body : "", len, 0, NULL);
    json_t *contents = json_object_get(root, "contents"), *item;
    const char *tok = json_string_value(json_object_get(root, "next_page_token"));
    size_t i;
    int rc = 0;

    next[0] = '\0';
    *stopped = 0;
    if (!json_is_object(root) || (contents != NULL && !json_is_array(contents))) {
        json_decref(root);
        return dp_err_set(err, DP_EINVAL, 0, "files: malformed directory listing");
    }
    json_array_foreach(contents, i, item)
    {
        dp_dbx_file_entry_t e;

        e.path = json_string_value(json_object_get(item, "path"));
        e.name = json_string_value(json_object_get(item, "name"));
        e.is_directory = json_is_true(json_object_get(item, "is_directory"));
        e.file_size = json_ll(json_object_get(item, "file_size"));
        e.last_modified = json_ll(json_object_get(item, "last_modified"));
        if (e.path == NULL) {
            rc = dp_err_set(err, DP_EINVAL, 0, "files: listing entry %zu has no path", i);
            break;
        }
        if (e.name == NULL) {
            e.name = strrchr(e.path, '/') ? strrchr(e.path, '/') + 1 : e.path;
        }
        if (fn(ctx, &e) != 0) {
            *stopped = 1;
            break;
        }
    }
    if (rc == 0 && tok != NULL && tok[0] != '\0' &&
        (size_t)snprintf(next, nextlen, "%s", tok) >= nextlen) {
        rc = dp_err_set(err, DP_ETOOBIG, 0, "files: next_page_token too long");
    }
    json_decref(root);
    return rc;
}

int dp_dbx_files_list(dp_dbx_client_t *client, const char *dir_path, dp_dbx_files_list_fn fn,
                      void *ctx, dp_err_t *err)
{
    char token[1024] = "", query[3200];
    dp_dbx_response_t resp = {0};
    fs_call_t *c = dp_calloc(1, sizeof(*c));
    int rc = 0, stopped = 0, pages = 0;

    do {
        memcpy(query, "?page_size=1000", 16);
        if (token[0] != '\0') {
            memcpy(query + 15, "&page_token=", 13);
            if (pct_encode(token, 0, query + 27, sizeof(query) - 27) < 0) {
                rc = dp_err_set(err, DP_ETOOBIG, 0, "files: page token too long");
                break;
            }
        }
        rc = fs_prepare(c, "GET", FS_DIRS, dir_path, query, "list", DP_RETRY_ACCESS_READ, err);
        if (rc == 0) {
            rc = dp_dbx_call(client, &c->req, &resp, err);
        }
        if (rc == 0) {
            rc = dp_dbx_files_parse_page(resp.body, resp.body_len, fn, ctx, token, sizeof(token),
                                         &stopped, err);
        }
        dp_dbx_response_clear(&resp);
        pages++;
    } while (rc == 0 && !stopped && token[0] != '\0' && pages < 100000);
    free(c);
    return rc;
}
