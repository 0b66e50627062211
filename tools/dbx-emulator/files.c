/*
 * files: the Files API for Unity Catalog Volumes (docs/DATABRICKS.md).
 *
 * Paths "/Volumes/<catalog>/<schema>/<volume>/..." are mapped to local files
 * by the engine (emu_engine_volume_path), which also checks the volume exists
 * and the principal's READ/WRITE VOLUME grants. Uploads are streamed into a
 * temporary file in the server's tmp_dir (same file system as the volumes) and
 * moved into place only when the whole body arrived: rename() when overwrite
 * is allowed, link() when it is not, so a concurrent upload of the same path
 * can never be half-visible and overwrite=false is atomic.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "server.h"

#define PAGE_SIZE_MAX 1000

/* ---------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------- */

/* Copies vpath without trailing slashes. Returns 0, or -1 when too long. */
static int trim_path(const char *vpath, char *out, size_t outlen)
{
    size_t n = strlen(vpath);

    while (n > 1 && vpath[n - 1] == '/') {
        n--;
    }
    if (n + 1 > outlen) {
        return -1;
    }
    memcpy(out, vpath, n);
    out[n] = '\0';
    return 0;
}

/* Maps a volume path, replying 400/403/404 on failure. Returns 0 or -1. */
static int map_path(emu_req_t *req, const char *vpath, emu_volume_access_t access, char *local,
                    size_t len)
{
    char msg[1024] = "";
    int rc = emu_engine_volume_path(req->srv->engine, req->principal, vpath, access, local, len,
                                    msg, sizeof(msg));

    if (rc == 0) {
        return 0;
    }
    if (rc == -403) {
        emu_reply_error(req, 403, "PERMISSION_DENIED", "%s", msg);
    } else if (rc == -404) {
        emu_reply_error(req, 404, "NOT_FOUND", "%s", msg);
    } else {
        emu_reply_error(req, 400, "INVALID_PARAMETER_VALUE", "%s",
                        msg[0] ? msg : "Invalid volume path.");
    }
    return -1;
}

/* mkdir -p. Returns 0 or -1 with errno. */
static int mkdir_p(const char *path)
{
    char buf[PATH_MAX];
    size_t i, n = strlen(path);

    if (n == 0 || n >= sizeof(buf)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, n + 1);
    for (i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char saved = buf[i];

            buf[i] = '\0';
            if (mkdir(buf, 0755) < 0 && errno != EEXIST) {
                return -1;
            }
            buf[i] = saved;
        }
    }
    return 0;
}

static void http_date(time_t t, char *buf, size_t len)
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, len, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static int parse_bool_arg(emu_req_t *req, const char *key, int dflt)
{
    const char *v = emu_req_arg(req, key);

    if (v == NULL || v[0] == '\0') {
        return dflt;
    }
    return strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
}

/* ---------------------------------------------------------------------------
 * Upload
 * ------------------------------------------------------------------------- */

int emu_files_begin_upload(emu_req_t *req)
{
    const char *vpath = req->path + strlen("/api/2.0/fs/files");
    struct stat st;

    if (map_path(req, vpath, EMU_VOLUME_WRITE, req->upload_local, sizeof(req->upload_local)) < 0) {
        return -1;
    }
    req->upload_overwrite = parse_bool_arg(req, "overwrite", 1);
    if (!req->upload_overwrite && stat(req->upload_local, &st) == 0) {
        emu_reply_error(req, 409, "ALREADY_EXISTS", "The file being created already exists.");
        return -1;
    }
    snprintf(req->upload_tmp, sizeof(req->upload_tmp), "%s/upload-XXXXXX", req->srv->tmp_dir);
    req->upload_fd = mkstemp(req->upload_tmp);
    if (req->upload_fd < 0) {
        req->upload_tmp[0] = '\0';
        emu_reply_error(req, 500, "INTERNAL_ERROR", "Cannot create a temporary file: %s",
                        strerror(errno));
        return -1;
    }
    return 0;
}

/* Moves the finished upload into place. */
static void finish_upload(emu_req_t *req)
{
    char parent[PATH_MAX];
    char *slash;
    int rc;

    if (req->body_too_big) {
        if (req->bytes_in > req->srv->max_upload) {
            emu_reply_error(req, 413, "INVALID_PARAMETER_VALUE",
                            "The file is larger than the emulator's limit of %llu bytes.",
                            req->srv->max_upload);
        } else {
            emu_reply_error(req, 500, "INTERNAL_ERROR", "Writing the uploaded file failed.");
        }
        return;
    }
    close(req->upload_fd);
    req->upload_fd = -1;
    snprintf(parent, sizeof(parent), "%s", req->upload_local);
    slash = strrchr(parent, '/');
    if (slash != NULL && slash != parent) {
        *slash = '\0';
        if (mkdir_p(parent) < 0) {
            emu_reply_error(req, 409, "ALREADY_EXISTS",
                            "A file exists where a parent directory is expected.");
            return;
        }
    }
    rc = req->upload_overwrite ? rename(req->upload_tmp, req->upload_local)
                               : link(req->upload_tmp, req->upload_local);
    if (rc < 0) {
        if (errno == EEXIST) {
            emu_reply_error(req, 409, "ALREADY_EXISTS", "The file being created already exists.");
        } else if (errno == EISDIR) {
            emu_reply_error(req, 409, "ALREADY_EXISTS", "A directory exists at this path.");
        } else {
            emu_reply_error(req, 500, "INTERNAL_ERROR", "Storing the file failed: %s",
                            strerror(errno));
        }
        return;
    }
    if (!req->upload_overwrite) {
        unlink(req->upload_tmp);
    }
    req->upload_tmp[0] = '\0';
    emu_reply_empty(req, 204);
}

/* ---------------------------------------------------------------------------
 * Download, metadata, delete
 * ------------------------------------------------------------------------- */

/* Parses "bytes=a-b", "bytes=a-" or "bytes=-n" against size. Returns 1 with
 * [*first, *last] set, 0 when no usable Range, -1 when unsatisfiable. */
static int parse_range(const char *h, unsigned long long size, unsigned long long *first,
                       unsigned long long *last)
{
    char *end = NULL;
    unsigned long long a, b;

    if (h == NULL || strncmp(h, "bytes=", 6) != 0 || strchr(h, ',') != NULL) {
        return 0;
    }
    h += 6;
    if (*h == '-') {
        errno = 0;
        b = strtoull(h + 1, &end, 10);
        if (errno != 0 || end == h + 1 || *end != '\0' || b == 0 || size == 0) {
            return -1;
        }
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return 1;
    }
    errno = 0;
    a = strtoull(h, &end, 10);
    if (errno != 0 || end == h || *end != '-') {
        return 0;
    }
    h = end + 1;
    b = *h == '\0' ? size - 1 : strtoull(h, &end, 10);
    if ((*h != '\0' && (errno != 0 || end == h || *end != '\0')) || a >= size || b < a) {
        return -1;
    }
    *first = a;
    *last = b >= size ? size - 1 : b;
    return 1;
}

static void handle_download(emu_req_t *req, const char *local)
{
    struct stat st;
    struct MHD_Response *resp;
    unsigned long long first = 0, last = 0, size;
    char date[64], crange[96];
    int fd = open(local, O_RDONLY), ranged, status = 200;

    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0) {
            close(fd);
        }
        emu_reply_error(req, 404, "NOT_FOUND", "The file being accessed is not found.");
        return;
    }
    size = (unsigned long long)st.st_size;
    ranged = strcmp(req->method, "GET") == 0
                 ? parse_range(emu_req_header(req, "Range"), size, &first, &last)
                 : 0;
    if (ranged < 0) {
        close(fd);
        emu_reply_error(req, 416, "INVALID_PARAMETER_VALUE", "Requested range not satisfiable.");
        snprintf(crange, sizeof(crange), "bytes */%llu", size);
        MHD_add_response_header(req->resp, MHD_HTTP_HEADER_CONTENT_RANGE, crange);
        return;
    }
    if (ranged == 0) {
        last = size ? size - 1 : 0;
    }
    resp = MHD_create_response_from_fd_at_offset64(ranged ? last - first + 1 : size, fd, first);
    if (resp == NULL) {
        close(fd);
        emu_reply_error(req, 500, "INTERNAL_ERROR", "Cannot read the file.");
        return;
    }
    http_date(st.st_mtime, date, sizeof(date));
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_LAST_MODIFIED, date);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
    if (ranged) {
        snprintf(crange, sizeof(crange), "bytes %llu-%llu/%llu", first, last, size);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, crange);
        status = 206;
    }
    emu_reply_response(req, status, resp,
                       strcmp(req->method, "GET") == 0 ? (ranged ? last - first + 1 : size) : 0);
}

static void handle_file_delete(emu_req_t *req, const char *local)
{
    struct stat st;

    if (stat(local, &st) < 0 || !S_ISREG(st.st_mode) || unlink(local) < 0) {
        emu_reply_error(req, 404, "NOT_FOUND", "The file being accessed is not found.");
        return;
    }
    emu_reply_empty(req, 204);
}

/* ---------------------------------------------------------------------------
 * Directories
 * ------------------------------------------------------------------------- */

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads the entry names of dir, sorted. Returns 0 or -1 with errno. */
static int read_names(const char *dir, char ***names_out, size_t *n_out)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL, **grown;
    size_t n = 0, cap = 0;

    if (d == NULL) {
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            grown = realloc(names, cap * sizeof(*names));
            if (grown == NULL) {
                break;
            }
            names = grown;
        }
        names[n] = strdup(de->d_name);
        if (names[n] != NULL) {
            n++;
        }
    }
    closedir(d);
    if (n > 0) {
        qsort(names, n, sizeof(*names), cmp_names);
    }
    *names_out = names;
    *n_out = n;
    return 0;
}

static json_t *dir_entry(const char *vdir, const char *local_dir, const char *name)
{
    char lpath[PATH_MAX + 256], vpath[PATH_MAX + 256];
    struct stat st;
    int is_dir;
    json_t *o;

    snprintf(lpath, sizeof(lpath), "%s/%s", local_dir, name);
    if (stat(lpath, &st) < 0) {
        return NULL;
    }
    is_dir = S_ISDIR(st.st_mode);
    snprintf(vpath, sizeof(vpath), "%s/%s%s", vdir, name, is_dir ? "/" : "");
    o = json_pack("{s:s, s:s, s:b}", "path", vpath, "name", name, "is_directory", is_dir);
    if (o != NULL && !is_dir) {
        json_object_set_new(o, "file_size", json_integer((json_int_t)st.st_size));
        json_object_set_new(o, "last_modified",
                            json_integer((json_int_t)st.st_mtime * 1000 +
                                         (json_int_t)(st.st_mtim.tv_nsec / 1000000)));
    }
    return o;
}

/* Page tokens are the hex of the last name returned: opaque and URL-safe. */
static void hex_encode(const char *s, char *out, size_t outlen)
{
    size_t i;

    for (i = 0; s[i] != '\0' && 2 * i + 2 < outlen; i++) {
        snprintf(out + 2 * i, 3, "%02x", (unsigned char)s[i]);
    }
    out[2 * i] = '\0';
}

static int hex_decode(const char *s, char *out, size_t outlen)
{
    size_t i, n = strlen(s);
    unsigned int byte;

    if (n % 2 != 0 || n / 2 + 1 > outlen) {
        return -1;
    }
    for (i = 0; i < n / 2; i++) {
        if (sscanf(s + 2 * i, "%2x", &byte) != 1) {
            return -1;
        }
        out[i] = (char)byte;
    }
    out[n / 2] = '\0';
    return 0;
}

/* Parses page_size: missing or 0 = the maximum. Returns it, or -1 when invalid. */
static long page_size_arg(emu_req_t *req)
{
    const char *v = emu_req_arg(req, "page_size");
    char *end = NULL;
    long n;

    if (v == NULL || v[0] == '\0') {
        return PAGE_SIZE_MAX;
    }
    errno = 0;
    n = strtol(v, &end, 10);
    if (errno != 0 || *end != '\0' || n < 0) {
        return -1;
    }
    return n == 0 || n > PAGE_SIZE_MAX ? PAGE_SIZE_MAX : n;
}

static void handle_list(emu_req_t *req, const char *vdir, const char *local)
{
    char **names = NULL;
    size_t n = 0, i, start = 0;
    long page = page_size_arg(req);
    const char *token = emu_req_arg(req, "page_token");
    char after[1024], next[2100];
    json_t *contents = NULL, *e;

    if (page < 0) {
        emu_reply_error(req, 400, "INVALID_PARAMETER_VALUE",
                        "page_size must be an integer "
                        "between 0 and 1000.");
        return;
    }
    if (token != NULL && token[0] != '\0' && hex_decode(token, after, sizeof(after)) < 0) {
        emu_reply_error(req, 400, "INVALID_PARAMETER_VALUE", "Invalid page_token.");
        return;
    }
    if (read_names(local, &names, &n) < 0) {
        emu_reply_error(req, 404, "NOT_FOUND", "The directory being accessed is not found.");
        return;
    }
    while (token != NULL && token[0] != '\0' && start < n && strcmp(names[start], after) <= 0) {
        start++;
    }
    contents = json_array();
    for (i = start; i < n && i < start + (size_t)page; i++) {
        e = dir_entry(vdir, local, names[i]);
        if (e != NULL) {
            json_array_append_new(contents, e);
        }
    }
    e = json_pack("{s:o}", "contents", contents);
    if (e != NULL && i < n) {
        hex_encode(names[i - 1], next, sizeof(next));
        json_object_set_new(e, "next_page_token", json_string(next));
    }
    for (i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
    emu_reply_json(req, 200, e);
}

static void handle_dir(emu_req_t *req, const char *vdir, const char *local)
{
    struct stat st;

    if (strcmp(req->method, "PUT") == 0) {
        if (mkdir_p(local) < 0) {
            emu_reply_error(req, 409, "ALREADY_EXISTS", "A file exists at this path.");
        } else {
            emu_reply_empty(req, 204);
        }
    } else if (strcmp(req->method, "HEAD") == 0) {
        if (stat(local, &st) == 0 && S_ISDIR(st.st_mode)) {
            emu_reply_empty(req, 200);
        } else {
            emu_reply_error(req, 404, "NOT_FOUND", "The directory being accessed is not found.");
        }
    } else if (strcmp(req->method, "GET") == 0) {
        handle_list(req, vdir, local);
    } else if (rmdir(local) == 0) {
        emu_reply_empty(req, 204);
    } else if (errno == ENOTEMPTY || errno == EEXIST) {
        emu_reply_error(req, 409, "DIRECTORY_NOT_EMPTY",
                        "The directory being deleted is not "
                        "empty.");
    } else {
        emu_reply_error(req, 404, "NOT_FOUND", "The directory being accessed is not found.");
    }
}

void emu_files_handle(emu_req_t *req, int is_dir, const char *volume_path)
{
    char vpath[PATH_MAX], local[PATH_MAX];
    int writes = strcmp(req->method, "PUT") == 0 || strcmp(req->method, "DELETE") == 0;

    if (!is_dir && strcmp(req->method, "PUT") == 0) {
        finish_upload(req);
        return;
    }
    if (trim_path(volume_path, vpath, sizeof(vpath)) < 0) {
        emu_reply_error(req, 400, "INVALID_PARAMETER_VALUE", "Path too long.");
        return;
    }
    if (map_path(req, vpath, writes ? EMU_VOLUME_WRITE : EMU_VOLUME_READ, local, sizeof(local)) <
        0) {
        return;
    }
    if (is_dir) {
        handle_dir(req, vpath, local);
    } else if (strcmp(req->method, "DELETE") == 0) {
        handle_file_delete(req, local);
    } else {
        handle_download(req, local);
    }
}
