/*
 * manifest: the flush record in the staging Volume (see manifest.h).
 */
#include "manifest.h"

#include "dbx/files.h"
#include "mem.h"
#include "tablename.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MANIFEST_MAX (16 * 1024 * 1024)

dp_manifest_t *dp_manifest_new(const char *key, const char *incarnation, const char *worker_id,
                               int64_t loaded_at)
{
    dp_manifest_t *m = dp_calloc(1, sizeof(*m));

    snprintf(m->key, sizeof(m->key), "%s", key);
    m->incarnation = dp_strdup(incarnation);
    m->worker_id = dp_strdup(worker_id);
    m->loaded_at = loaded_at;
    return m;
}

void dp_manifest_destroy(dp_manifest_t *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nranges; i++)
        free(m->ranges[i].topic);
    for (size_t i = 0; i < m->nfiles; i++) {
        free(m->files[i].table);
        free(m->files[i].table_id);
        free(m->files[i].path);
    }
    free(m->ranges);
    free(m->files);
    free(m->incarnation);
    free(m->worker_id);
    free(m);
}

void dp_manifest_add_range(dp_manifest_t *m, const char *topic, int32_t partition, int64_t first,
                           int64_t last, int64_t epoch)
{
    dp_manifest_range_t *r;

    m->ranges = dp_realloc(m->ranges, (m->nranges + 1) * sizeof(*m->ranges));
    r = &m->ranges[m->nranges++];
    r->topic = dp_strdup(topic);
    r->partition = partition;
    r->first = first;
    r->last = last;
    r->epoch = epoch;
    r->fp = 0;
}

void dp_manifest_set_table_id(dp_manifest_t *m, size_t i, const char *table_id)
{
    if (i >= m->nfiles)
        return;
    free(m->files[i].table_id);
    m->files[i].table_id = table_id ? dp_strdup(table_id) : NULL;
}

void dp_manifest_add_file(dp_manifest_t *m, const char *table, const char *path, int64_t rows,
                          int64_t bytes)
{
    dp_manifest_file_t *f;

    m->files = dp_realloc(m->files, (m->nfiles + 1) * sizeof(*m->files));
    f = &m->files[m->nfiles++];
    f->table = dp_strdup(table);
    f->table_id = NULL;
    f->path = dp_strdup(path);
    f->rows = rows;
    f->bytes = bytes;
}

char *dp_manifest_to_json(const dp_manifest_t *m)
{
    json_t *root = json_object(), *ranges = json_array(), *files = json_array();
    char *text;

    for (size_t i = 0; i < m->nranges; i++)
        json_array_append_new(ranges, json_pack("{s:s,s:i,s:I,s:I,s:I,s:I}", "topic",
                                                m->ranges[i].topic, "partition",
                                                (int)m->ranges[i].partition, "first",
                                                (json_int_t)m->ranges[i].first, "last",
                                                (json_int_t)m->ranges[i].last, "epoch",
                                                (json_int_t)m->ranges[i].epoch, "fp",
                                                (json_int_t)m->ranges[i].fp));
    for (size_t i = 0; i < m->nfiles; i++) {
        json_t *f = json_pack("{s:s,s:s,s:I,s:I}", "table", m->files[i].table, "path",
                              m->files[i].path, "rows", (json_int_t)m->files[i].rows, "bytes",
                              (json_int_t)m->files[i].bytes);

        if (m->files[i].table_id)
            json_object_set_new(f, "table_id", json_string(m->files[i].table_id));
        json_array_append_new(files, f);
    }
    json_object_set_new(root, "version", json_integer(1));
    json_object_set_new(root, "key", json_string(m->key));
    json_object_set_new(root, "incarnation", json_string(m->incarnation));
    json_object_set_new(root, "worker_id", json_string(m->worker_id));
    json_object_set_new(root, "loaded_at", json_integer((json_int_t)m->loaded_at));
    json_object_set_new(root, "ranges", ranges);
    json_object_set_new(root, "files", files);
    text = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(root);
    return text;
}

static int bad(dp_err_t *err, const char *what)
{
    return dp_err_set(err, DP_EINVAL, 0, "manifest: %s", what);
}

/* Checks a file entry: its table is a valid identifier and its path lies in
 * the staging Volume, so a tampered manifest cannot aim COPY INTO elsewhere. */
static int check_file(const char *table, const char *path, dp_err_t *err)
{
    if (dp_tablename_check_identifier(table, err) < 0)
        return DP_EINVAL;
    if (strncmp(path, "/Volumes/", 9) != 0 || strstr(path, "..") || strchr(path, '\'') ||
        strlen(path) >= DP_STAGENAME_PATH_SIZE)
        return bad(err, "a file path is not a staging Volume path");
    return 0;
}

static int parse_parts(dp_manifest_t *m, json_t *ranges, json_t *files, dp_err_t *err)
{
    size_t i;
    json_t *v;

    json_array_foreach(ranges, i, v)
    {
        const char *topic = json_string_value(json_object_get(v, "topic"));
        json_t *p = json_object_get(v, "partition"), *f = json_object_get(v, "first"),
               *l = json_object_get(v, "last"), *e = json_object_get(v, "epoch"),
               *fp = json_object_get(v, "fp");

        if (!topic || !json_is_integer(p) || !json_is_integer(f) || !json_is_integer(l) ||
            json_integer_value(p) < 0 || json_integer_value(p) > INT32_MAX ||
            json_integer_value(f) < 0 || json_integer_value(l) < json_integer_value(f) ||
            (e && (!json_is_integer(e) || json_integer_value(e) < 0)) ||
            (fp && (!json_is_integer(fp) || json_integer_value(fp) < 0 ||
                    json_integer_value(fp) > (json_int_t)UINT32_MAX)))
            return bad(err, "a range is malformed");
        dp_manifest_add_range(m, topic, (int32_t)json_integer_value(p), json_integer_value(f),
                              json_integer_value(l), e ? json_integer_value(e) : 0);
        m->ranges[m->nranges - 1].fp = fp ? (uint32_t)json_integer_value(fp) : 0;
    }
    json_array_foreach(files, i, v)
    {
        const char *table = json_string_value(json_object_get(v, "table"));
        const char *path = json_string_value(json_object_get(v, "path"));
        json_t *rows = json_object_get(v, "rows"), *bytes = json_object_get(v, "bytes");
        json_t *id = json_object_get(v, "table_id");

        if (!table || !path || !json_is_integer(rows) || !json_is_integer(bytes) ||
            (id && !json_is_string(id)))
            return bad(err, "a file is malformed");
        if (check_file(table, path, err) < 0)
            return DP_EINVAL;
        dp_manifest_add_file(m, table, path, json_integer_value(rows), json_integer_value(bytes));
        dp_manifest_set_table_id(m, m->nfiles - 1, json_string_value(id));
    }
    return 0;
}

dp_manifest_t *dp_manifest_from_json(const char *text, size_t len, dp_err_t *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    const char *key, *inc, *worker;
    dp_manifest_t *m = NULL;

    if (!root) {
        dp_err_set(err, DP_EINVAL, 0, "manifest: not JSON: %s", jerr.text);
        return NULL;
    }
    key = json_string_value(json_object_get(root, "key"));
    inc = json_string_value(json_object_get(root, "incarnation"));
    worker = json_string_value(json_object_get(root, "worker_id"));
    if (json_integer_value(json_object_get(root, "version")) != 1 || !key ||
        strlen(key) != DP_STAGENAME_KEY_LEN || !inc || !worker ||
        !json_is_array(json_object_get(root, "ranges")) ||
        !json_is_array(json_object_get(root, "files"))) {
        bad(err, "missing or wrong version, key, incarnation, worker_id, ranges or files");
        goto out;
    }
    m = dp_manifest_new(key, inc, worker, json_integer_value(json_object_get(root, "loaded_at")));
    if (parse_parts(m, json_object_get(root, "ranges"), json_object_get(root, "files"), err) < 0) {
        dp_manifest_destroy(m);
        m = NULL;
    }
out:
    json_decref(root);
    return m;
}

int dp_manifest_entry_name(int64_t first, int64_t last, const char *key, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "%020" PRId64 "-%020" PRId64 "-%s", first, last, key);

    return n < 0 || (size_t)n >= outlen ? DP_ETOOBIG : 0;
}

int dp_manifest_entry_parse(const char *name, int64_t *first, int64_t *last,
                            char key[DP_STAGENAME_KEY_SIZE])
{
    char *end;

    errno = 0;
    *first = strtoll(name, &end, 10);
    if (errno || end != name + 20 || *end != '-')
        return DP_EINVAL;
    *last = strtoll(end + 1, &end, 10);
    if (errno || end != name + 41 || *end != '-' || strlen(end + 1) != DP_STAGENAME_KEY_LEN ||
        strspn(end + 1, "0123456789abcdef") != DP_STAGENAME_KEY_LEN)
        return DP_EINVAL;
    memcpy(key, end + 1, DP_STAGENAME_KEY_SIZE);
    return 0;
}

/* /Volumes/<c>/<s>/<v>/<inc>/<what> */
static int base_path(const dp_config_t *cfg, const char *inc, const char *what, char *out,
                     size_t outlen)
{
    int n = snprintf(out, outlen, "/Volumes/%s/%s/%s/%s/%s", cfg->databricks.catalog,
                     cfg->databricks.schema, cfg->databricks.volume, inc, what);

    return n < 0 || (size_t)n >= outlen ? DP_ETOOBIG : 0;
}

static int index_dir(const dp_config_t *cfg, const char *inc, const char *topic, int32_t part,
                     char *out, size_t outlen)
{
    char what[400];

    snprintf(what, sizeof(what), "_index/%s/%d", topic, (int)part);
    return base_path(cfg, inc, what, out, outlen);
}

static int manifest_path(const dp_config_t *cfg, const char *inc, const char *key, char *out,
                         size_t outlen)
{
    char what[128];

    snprintf(what, sizeof(what), "_manifests/%s.json", key);
    return base_path(cfg, inc, what, out, outlen);
}

int dp_manifest_write(dp_dbx_client_t *client, const dp_config_t *cfg, const dp_manifest_t *m,
                      dp_err_t *err)
{
    char path[DP_STAGENAME_PATH_SIZE], dir[DP_STAGENAME_PATH_SIZE], name[128];
    char *text = NULL;
    int exists, rc = 0;

    /* The index entries first, the manifest last: an entry whose manifest is
     * missing marks a flush that never reached COPY INTO (recover skips it),
     * and once the manifest exists every partition's entry does. */
    for (size_t i = 0; rc == 0 && i < m->nranges; i++) {
        const dp_manifest_range_t *r = &m->ranges[i];
        char entry[DP_STAGENAME_PATH_SIZE + 128];

        if ((rc = index_dir(cfg, m->incarnation, r->topic, r->partition, dir, sizeof(dir))) < 0 ||
            (rc = dp_manifest_entry_name(r->first, r->last, m->key, name, sizeof(name))) < 0)
            break;
        snprintf(entry, sizeof(entry), "%s/%s", dir, name);
        if ((rc = dp_dbx_files_mkdirs(client, dir, err)) == 0)
            rc = dp_dbx_files_upload(client, entry, m->key, strlen(m->key), 1, &exists, err);
    }
    if (rc == 0)
        rc = manifest_path(cfg, m->incarnation, m->key, path, sizeof(path));
    if (rc == 0) {
        snprintf(dir, sizeof(dir), "%s", path);
        *strrchr(dir, '/') = '\0';
        rc = dp_dbx_files_mkdirs(client, dir, err);
    }
    if (rc == 0) {
        text = dp_manifest_to_json(m);
        rc = dp_dbx_files_upload(client, path, text, strlen(text), 1, &exists, err);
    }
    free(text);
    return rc;
}

int dp_manifest_read(dp_dbx_client_t *client, const dp_config_t *cfg, const char *incarnation,
                     const char *key, dp_manifest_t **out, dp_err_t *err)
{
    char path[DP_STAGENAME_PATH_SIZE];
    char *text = NULL;
    size_t len = 0;
    int exists = 0, rc;

    *out = NULL;
    if ((rc = manifest_path(cfg, incarnation, key, path, sizeof(path))) < 0)
        return rc;
    if ((rc = dp_dbx_files_download(client, path, &text, &len, &exists, err)) < 0)
        return rc;
    if (exists) {
        *out = dp_manifest_from_json(text, len, err);
        if (!*out)
            rc = DP_EINVAL;
    }
    free(text);
    return rc;
}

struct pending_ctx {
    int64_t from;
    void (*visit)(void *ctx, int64_t first, int64_t last, const char *key);
    void *ctx;
};

static int on_entry(void *ctx, const dp_dbx_file_entry_t *e)
{
    struct pending_ctx *pc = ctx;
    char key[DP_STAGENAME_KEY_SIZE];
    int64_t first, last;

    if (!e->is_directory && dp_manifest_entry_parse(e->name, &first, &last, key) == 0 &&
        last >= pc->from)
        pc->visit(pc->ctx, first, last, key);
    return 0;
}

int dp_manifest_pending(dp_dbx_client_t *client, const dp_config_t *cfg, const char *incarnation,
                        const char *topic, int32_t partition, int64_t from_offset,
                        void (*visit)(void *ctx, int64_t first, int64_t last, const char *key),
                        void *ctx, dp_err_t *err)
{
    char dir[DP_STAGENAME_PATH_SIZE];
    struct pending_ctx pc = {from_offset, visit, ctx};
    int rc;

    if ((rc = index_dir(cfg, incarnation, topic, partition, dir, sizeof(dir))) < 0)
        return rc;
    rc = dp_dbx_files_list(client, dir, on_entry, &pc, err);
    return rc == DP_ENOTFOUND ? 0 : rc;
}

int dp_manifest_delete(dp_dbx_client_t *client, const dp_config_t *cfg, const dp_manifest_t *m,
                       dp_err_t *err)
{
    char path[DP_STAGENAME_PATH_SIZE + 128], dir[DP_STAGENAME_PATH_SIZE], name[128];
    int absent, rc = 0, r;

    for (size_t i = 0; i < m->nranges; i++) {
        const dp_manifest_range_t *rg = &m->ranges[i];

        if (index_dir(cfg, m->incarnation, rg->topic, rg->partition, dir, sizeof(dir)) < 0 ||
            dp_manifest_entry_name(rg->first, rg->last, m->key, name, sizeof(name)) < 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        r = dp_dbx_files_delete(client, path, &absent, rc ? NULL : err);
        rc = rc ? rc : r;
    }
    if (manifest_path(cfg, m->incarnation, m->key, path, sizeof(path)) == 0) {
        r = dp_dbx_files_delete(client, path, &absent, rc ? NULL : err);
        rc = rc ? rc : r;
    }
    return rc;
}
