/*
 * manifest: the flush record in the staging Volume (see manifest.h).
 */
#include "stage/manifest.h"

#include "core/mem.h"
#include "dbx/files.h"
#include "route/tablename.h"

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
    for (size_t i = 0; i < m->ncounts; i++)
        free(m->counts[i].name);
    free(m->ranges);
    free(m->files);
    free(m->counts);
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
    r->ts_min = r->ts_max = 0;
}

void dp_manifest_add_count(dp_manifest_t *m, const char *name, int32_t day, int64_t count)
{
    dp_manifest_count_t *c;

    m->counts = dp_realloc(m->counts, (m->ncounts + 1) * sizeof(*m->counts));
    c = &m->counts[m->ncounts++];
    c->name = dp_strdup(name);
    c->day = day;
    c->count = count;
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
    json_t *counts = json_array();
    char *text;

    for (size_t i = 0; i < m->nranges; i++) {
        const dp_manifest_range_t *r = &m->ranges[i];

        json_array_append_new(ranges,
                              json_pack("{s:s,s:i,s:I,s:I,s:I,s:I,s:I,s:I}", "topic", r->topic,
                                        "partition", (int)r->partition, "first",
                                        (json_int_t)r->first, "last", (json_int_t)r->last, "epoch",
                                        (json_int_t)r->epoch, "fp", (json_int_t)r->fp, "ts_min",
                                        (json_int_t)r->ts_min, "ts_max", (json_int_t)r->ts_max));
    }
    for (size_t i = 0; i < m->ncounts; i++)
        json_array_append_new(counts, json_pack("{s:s,s:i,s:I}", "name", m->counts[i].name, "day",
                                                (int)m->counts[i].day, "count",
                                                (json_int_t)m->counts[i].count));
    for (size_t i = 0; i < m->nfiles; i++) {
        json_t *f =
            json_pack("{s:s,s:s,s:I,s:I}", "table", m->files[i].table, "path", m->files[i].path,
                      "rows", (json_int_t)m->files[i].rows, "bytes", (json_int_t)m->files[i].bytes);

        if (m->files[i].table_id)
            json_object_set_new(f, "table_id", json_string(m->files[i].table_id));
        json_array_append_new(files, f);
    }
    json_object_set_new(root, "version", json_integer(2));
    json_object_set_new(root, "key", json_string(m->key));
    json_object_set_new(root, "incarnation", json_string(m->incarnation));
    json_object_set_new(root, "worker_id", json_string(m->worker_id));
    json_object_set_new(root, "loaded_at", json_integer((json_int_t)m->loaded_at));
    json_object_set_new(root, "ranges", ranges);
    json_object_set_new(root, "files", files);
    json_object_set_new(root, "counts", counts);
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

static int parse_counts(dp_manifest_t *m, json_t *counts, dp_err_t *err)
{
    size_t i;
    json_t *v;

    json_array_foreach(counts, i, v)
    {
        const char *name = json_string_value(json_object_get(v, "name"));
        json_t *day = json_object_get(v, "day"), *count = json_object_get(v, "count");

        if (!name || !json_is_integer(day) || !json_is_integer(count) ||
            json_integer_value(day) < 0 || json_integer_value(day) > INT32_MAX ||
            json_integer_value(count) < 0)
            return bad(err, "a count is malformed");
        dp_manifest_add_count(m, name, (int32_t)json_integer_value(day), json_integer_value(count));
    }
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
               *fp = json_object_get(v, "fp"), *t0 = json_object_get(v, "ts_min"),
               *t1 = json_object_get(v, "ts_max");

        if (!topic || !json_is_integer(p) || !json_is_integer(f) || !json_is_integer(l) ||
            json_integer_value(p) < 0 || json_integer_value(p) > INT32_MAX ||
            json_integer_value(f) < 0 || json_integer_value(l) < json_integer_value(f) ||
            (e && (!json_is_integer(e) || json_integer_value(e) < 0)) ||
            (fp && (!json_is_integer(fp) || json_integer_value(fp) < 0 ||
                    json_integer_value(fp) > (json_int_t)UINT32_MAX)) ||
            (t0 && !json_is_integer(t0)) || (t1 && !json_is_integer(t1)))
            return bad(err, "a range is malformed");
        dp_manifest_add_range(m, topic, (int32_t)json_integer_value(p), json_integer_value(f),
                              json_integer_value(l), e ? json_integer_value(e) : 0);
        m->ranges[m->nranges - 1].fp = fp ? (uint32_t)json_integer_value(fp) : 0;
        m->ranges[m->nranges - 1].ts_min = t0 ? json_integer_value(t0) : 0;
        m->ranges[m->nranges - 1].ts_max = t1 ? json_integer_value(t1) : 0;
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
    json_int_t version;
    json_t *counts;
    dp_manifest_t *m = NULL;

    if (!root) {
        dp_err_set(err, DP_EINVAL, 0, "manifest: not JSON: %s", jerr.text);
        return NULL;
    }
    key = json_string_value(json_object_get(root, "key"));
    inc = json_string_value(json_object_get(root, "incarnation"));
    worker = json_string_value(json_object_get(root, "worker_id"));
    version = json_integer_value(json_object_get(root, "version"));
    if ((version != 1 && version != 2) || !key || strlen(key) != DP_STAGENAME_KEY_LEN || !inc ||
        !worker || !json_is_array(json_object_get(root, "ranges")) ||
        !json_is_array(json_object_get(root, "files"))) {
        bad(err, "missing or wrong version, key, incarnation, worker_id, ranges or files");
        goto out;
    }
    m = dp_manifest_new(key, inc, worker, json_integer_value(json_object_get(root, "loaded_at")));
    counts = json_object_get(root, "counts");
    if (parse_parts(m, json_object_get(root, "ranges"), json_object_get(root, "files"), err) < 0 ||
        (counts && (!json_is_array(counts) || parse_counts(m, counts, err) < 0))) {
        dp_manifest_destroy(m);
        m = NULL;
    }
out:
    json_decref(root);
    return m;
}

/* /Volumes/<c>/<s>/<v>/<inc>/<what> */
static int base_path(const dp_config_t *cfg, const char *inc, const char *what, char *out,
                     size_t outlen)
{
    int n = snprintf(out, outlen, "/Volumes/%s/%s/%s/%s/%s", cfg->databricks.catalog,
                     cfg->databricks.schema, cfg->databricks.volume, inc, what);

    return n < 0 || (size_t)n >= outlen ? DP_ETOOBIG : 0;
}

static int manifest_path(const dp_config_t *cfg, const char *inc, const char *key, char *out,
                         size_t outlen)
{
    char what[128];

    snprintf(what, sizeof(what), "_manifests/%s.json", key);
    return base_path(cfg, inc, what, out, outlen);
}

int dp_manifest_dir(const dp_config_t *cfg, const char *inc, char *out, size_t outlen)
{
    return base_path(cfg, inc, "_manifests", out, outlen);
}

int dp_manifest_write(dp_dbx_client_t *client, const dp_config_t *cfg, const dp_manifest_t *m,
                      dp_err_t *err)
{
    char path[DP_STAGENAME_PATH_SIZE];
    char *text;
    int exists, rc;

    if ((rc = manifest_path(cfg, m->incarnation, m->key, path, sizeof(path))) < 0)
        return dp_err_set(err, rc, 0, "manifest: path too long");
    text = dp_manifest_to_json(m);
    /* Overwrite: a retry of the same flush writes the same record. */
    rc = dp_dbx_files_upload(client, path, text, strlen(text), 1, &exists, err);
    free(text);
    return rc;
}

/* A manifest read from the Volume is checked before anything acts on it
 * (issue: manifests are data anyone with WRITE VOLUME can change): it belongs
 * to the incarnation whose folder it was read from, and every file lies in
 * that incarnation's staging folder of its own table, named <64 hex>.avro,
 * for an event table or event_errors (never another system table). */
int dp_manifest_check(const dp_config_t *cfg, const char *incarnation, const dp_manifest_t *m,
                      dp_err_t *err)
{
    char prefix[DP_STAGENAME_PATH_SIZE];

    if (strcmp(m->incarnation, incarnation) != 0)
        return bad(err, "it belongs to another incarnation");
    for (size_t i = 0; i < m->nfiles; i++) {
        const dp_manifest_file_t *f = &m->files[i];
        size_t plen;

        if (dp_tablename_is_system(f->table) && strcmp(f->table, DP_ERRORS_TABLE) != 0)
            return dp_err_set(err, DP_EINVAL, 0,
                              "manifest %.16s: file %zu names system table "
                              "%s, which a flush never loads",
                              m->key, i, f->table);
        if (base_path(cfg, incarnation, f->table, prefix, sizeof(prefix)) < 0)
            return bad(err, "a table name is too long");
        plen = strlen(prefix);
        if (strncmp(f->path, prefix, plen) != 0 || f->path[plen] != '/' ||
            strlen(f->path + plen + 1) != DP_STAGENAME_KEY_LEN + 5 ||
            strspn(f->path + plen + 1, "0123456789abcdef") != DP_STAGENAME_KEY_LEN ||
            strcmp(f->path + plen + 1 + DP_STAGENAME_KEY_LEN, ".avro") != 0)
            return dp_err_set(err, DP_EINVAL, 0,
                              "manifest %.16s: file %zu is not a staged file "
                              "of table %s under %s/",
                              m->key, i, f->table, prefix);
    }
    return 0;
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
        if (!*out || strcmp((*out)->key, key) != 0 ||
            dp_manifest_check(cfg, incarnation, *out, err) < 0) {
            if (*out && strcmp((*out)->key, key) != 0)
                dp_err_set(err, DP_EINVAL, 0, "manifest %.16s: its key says %.16s", key,
                           (*out)->key);
            dp_manifest_destroy(*out);
            *out = NULL;
            rc = DP_EINVAL;
        }
    }
    free(text);
    return rc;
}

struct list_ctx {
    void (*visit)(void *ctx, const char *key);
    void *ctx;
};

static int on_entry(void *ctx, const dp_dbx_file_entry_t *e)
{
    struct list_ctx *lc = ctx;
    size_t len = strlen(e->name);
    char key[DP_STAGENAME_KEY_SIZE];

    /* <64 hex>.json; anything else in the folder is not ours to read. */
    if (e->is_directory || len != DP_STAGENAME_KEY_LEN + 5 ||
        strcmp(e->name + DP_STAGENAME_KEY_LEN, ".json") != 0 ||
        strspn(e->name, "0123456789abcdef") != DP_STAGENAME_KEY_LEN)
        return 0;
    memcpy(key, e->name, DP_STAGENAME_KEY_LEN);
    key[DP_STAGENAME_KEY_LEN] = '\0';
    lc->visit(lc->ctx, key);
    return 0;
}

int dp_manifest_list(dp_dbx_client_t *client, const dp_config_t *cfg, const char *incarnation,
                     void (*visit)(void *ctx, const char *key), void *ctx, dp_err_t *err)
{
    char dir[DP_STAGENAME_PATH_SIZE];
    struct list_ctx lc = {visit, ctx};
    int rc;

    if ((rc = dp_manifest_dir(cfg, incarnation, dir, sizeof(dir))) < 0)
        return dp_err_set(err, rc, 0, "manifest: path too long");
    rc = dp_dbx_files_list(client, dir, on_entry, &lc, err);
    return rc == DP_ENOTFOUND ? 0 : rc;
}

int dp_manifest_delete(dp_dbx_client_t *client, const dp_config_t *cfg, const dp_manifest_t *m,
                       dp_err_t *err)
{
    char path[DP_STAGENAME_PATH_SIZE];
    int absent, rc;

    if ((rc = manifest_path(cfg, m->incarnation, m->key, path, sizeof(path))) < 0)
        return dp_err_set(err, rc, 0, "manifest: path too long");
    return dp_dbx_files_delete(client, path, &absent, err);
}
