/*
 * sql_copy: COPY INTO <table> FROM '/Volumes/c/s/v/dir/' | (SELECT ... FROM '...')
 * FILEFORMAT = AVRO|JSON [FILES = (...) | PATTERN = 'glob'] [FORMAT_OPTIONS (...)]
 * [COPY_OPTIONS (...)]. The SELECT form projects each file read (sql_copy_select.c).
 *
 * Load history (Databricks' documented rules): a file path already loaded into
 * this table (emu_load_history, keyed by table id and full /Volumes path) is
 * skipped, even if its content changed, unless COPY_OPTIONS force = true; the
 * history goes with the table when it is dropped; FILES names that do not exist
 * are ignored (ignoreMissingFiles defaults to true); a corrupt file fails the
 * statement unless FORMAT_OPTIONS ignoreCorruptFiles = true, and then it is
 * counted in num_skipped_corrupt_files and not recorded. The whole statement is
 * one SQLite transaction, so a failure loads nothing.
 */
#define _XOPEN_SOURCE 700
#include "sql_copy.h"

#include <dirent.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define MAX_FILES 10000

typedef struct copy_stmt {
    emu_table_t t;
    char source[2048];     /* as written, e.g. /Volumes/main/s/v/dir/ */
    int avro;              /* 1 AVRO, 0 JSON */
    json_t *files;         /* array of names (FILES) or NULL */
    emu_copy_select_t sel; /* FROM (SELECT ...): the select list; nitems 0 for the plain form */
    char pattern[512];     /* PATTERN or "" */
    int merge_schema, force, ignore_corrupt, ignore_missing;
    /* run state */
    char dir[4096];  /* local directory */
    char vdir[2048]; /* /Volumes path of the directory, no trailing slash */
    long long inserted, skipped_corrupt;
    long long bytes_read; /* of the files loaded, for the emulator's COPY cost */
} copy_stmt_t;

/* ------------------------------------------------------------------------ */
/* Parsing                                                                  */
/* ------------------------------------------------------------------------ */

static int is_true(const char *v)
{
    return strcasecmp(v, "true") == 0;
}

/* ('k' = 'v', ...) into the statement's switches. */
static int parse_options(emu_ctx_t *cx, copy_stmt_t *c, int copy_opts)
{
    if (!emu_tk_accept_op(cx->tk, "(")) {
        return emu_syntax(cx);
    }
    if (emu_tk_accept_op(cx->tk, ")")) {
        return 0;
    }
    do {
        const emu_token_t *k = emu_tk_peek(cx->tk), *v;
        if (k->kind != TK_STRING && k->kind != TK_IDENT) {
            return emu_syntax(cx);
        }
        cx->tk->i++;
        if (!emu_tk_accept_op(cx->tk, "=")) {
            return emu_syntax(cx);
        }
        v = emu_tk_peek(cx->tk);
        if (v->kind != TK_STRING && v->kind != TK_IDENT && v->kind != TK_NUMBER) {
            return emu_syntax(cx);
        }
        cx->tk->i++;
        if (strcasecmp(k->val, "mergeSchema") == 0) {
            c->merge_schema |= copy_opts && is_true(v->val);
        } else if (copy_opts && strcasecmp(k->val, "force") == 0) {
            c->force = is_true(v->val);
        } else if (!copy_opts && strcasecmp(k->val, "ignoreCorruptFiles") == 0) {
            c->ignore_corrupt = is_true(v->val);
        } else if (!copy_opts && strcasecmp(k->val, "ignoreMissingFiles") == 0) {
            c->ignore_missing = is_true(v->val);
        }
        /* Other options are accepted and ignored (docs/EMULATOR_SQL.md). */
    } while (emu_tk_accept_op(cx->tk, ","));
    return emu_tk_accept_op(cx->tk, ")") ? 0 : emu_syntax(cx);
}

static int parse_files(emu_ctx_t *cx, copy_stmt_t *c)
{
    if (!emu_tk_accept_op(cx->tk, "=") || !emu_tk_accept_op(cx->tk, "(")) {
        return emu_syntax(cx);
    }
    c->files = json_array();
    do {
        const emu_token_t *f = emu_tk_peek(cx->tk);
        if (f->kind != TK_STRING || json_array_size(c->files) >= 1000) {
            return emu_syntax(cx);
        }
        json_array_append_new(c->files, json_string(f->val));
        cx->tk->i++;
    } while (emu_tk_accept_op(cx->tk, ","));
    return emu_tk_accept_op(cx->tk, ")") ? 0 : emu_syntax(cx);
}

static int parse_clauses(emu_ctx_t *cx, copy_stmt_t *c)
{
    int have_format = 0;

    while (!emu_tk_at_end(cx->tk)) {
        if (emu_tk_accept_kw(cx->tk, "FILEFORMAT")) {
            if (!emu_tk_accept_op(cx->tk, "=")) {
                return emu_syntax(cx);
            }
            if (emu_tk_accept_kw(cx->tk, "AVRO")) {
                c->avro = 1;
            } else if (emu_tk_accept_kw(cx->tk, "JSON")) {
                c->avro = 0;
            } else {
                return emu_fail(cx, "0A000",
                                "[UNSUPPORTED_FEATURE] The emulator's COPY INTO reads "
                                "FILEFORMAT = AVRO or JSON only, not '%.50s'.",
                                emu_tk_peek(cx->tk)->raw);
            }
            have_format = 1;
        } else if (emu_tk_accept_kw(cx->tk, "FILES")) {
            if (c->files != NULL || c->pattern[0] != '\0' || parse_files(cx, c) != 0) {
                return cx->res->message[0] != '\0' ? -1 : emu_syntax(cx);
            }
        } else if (emu_tk_accept_kw(cx->tk, "PATTERN")) {
            if (c->files != NULL || !emu_tk_accept_op(cx->tk, "=") ||
                emu_tk_peek(cx->tk)->kind != TK_STRING) {
                return emu_syntax(cx);
            }
            snprintf(c->pattern, sizeof(c->pattern), "%s", emu_tk_peek(cx->tk)->val);
            cx->tk->i++;
        } else if (emu_tk_accept_kw(cx->tk, "FORMAT_OPTIONS")) {
            if (parse_options(cx, c, 0) != 0) {
                return -1;
            }
        } else if (emu_tk_accept_kw(cx->tk, "COPY_OPTIONS")) {
            if (parse_options(cx, c, 1) != 0) {
                return -1;
            }
        } else {
            return emu_syntax(cx);
        }
    }
    if (!have_format) {
        return emu_syntax(cx);
    }
    return 0;
}

static int parse_copy(emu_ctx_t *cx, copy_stmt_t *c)
{
    const emu_token_t *src;

    cx->tk->i++; /* COPY */
    if (!emu_tk_accept_kw(cx->tk, "INTO")) {
        return emu_syntax(cx);
    }
    if (emu_parse_object(cx, &c->t.name) != 0) {
        return -1;
    }
    if (!emu_tk_accept_kw(cx->tk, "FROM")) {
        return emu_syntax(cx);
    }
    src = emu_tk_peek(cx->tk);
    if (emu_tk_is_op(cx->tk, "(")) {
        if (emu_copy_select_parse(cx, &c->sel, c->source, sizeof(c->source)) != 0) {
            return -1;
        }
    } else if (src->kind == TK_STRING) {
        snprintf(c->source, sizeof(c->source), "%s", src->val);
        cx->tk->i++;
    } else {
        return emu_syntax(cx);
    }
    return parse_clauses(cx, c);
}

/* ------------------------------------------------------------------------ */
/* Files                                                                    */
/* ------------------------------------------------------------------------ */

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void emu_copy_list_dir(const char *dir, const char *rel, int recurse, int depth, json_t *out)
{
    char path[4096], sub[2048];
    DIR *d;
    struct dirent *de;
    struct stat sb;

    snprintf(path, sizeof(path), "%s%s%s", dir, rel[0] != '\0' ? "/" : "", rel);
    d = opendir(path);
    if (d == NULL || depth > 16) {
        if (d != NULL) {
            closedir(d);
        }
        return;
    }
    while ((de = readdir(d)) != NULL && json_array_size(out) < MAX_FILES) {
        if (de->d_name[0] == '.' || de->d_name[0] == '_') {
            continue; /* hidden and "_" files, as Spark skips them */
        }
        snprintf(sub, sizeof(sub), "%s%s%s", rel, rel[0] != '\0' ? "/" : "", de->d_name);
        snprintf(path, sizeof(path), "%s/%s", dir, sub);
        if (lstat(path, &sb) != 0) {
            continue;
        }
        if (S_ISREG(sb.st_mode)) {
            json_array_append_new(out, json_string(sub));
        } else if (S_ISDIR(sb.st_mode) && recurse) {
            emu_copy_list_dir(dir, sub, recurse, depth + 1, out);
        }
    }
    closedir(d);
}

/* A FILES entry must stay inside the directory. */
static int safe_rel(const char *rel)
{
    const char *seg = rel;

    if (rel[0] == '\0' || rel[0] == '/' || strchr(rel, '\\') != NULL) {
        return 0;
    }
    while (seg != NULL) {
        const char *e = strchr(seg, '/');
        size_t n = e != NULL ? (size_t)(e - seg) : strlen(seg);
        if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.')) {
            return 0;
        }
        seg = e != NULL ? e + 1 : NULL;
    }
    return 1;
}

/* Fills out with the relative names of the files to consider, sorted. */
static int select_files(emu_ctx_t *cx, copy_stmt_t *c, json_t *out)
{
    json_t *all = json_array(), *it;
    char path[4096];
    struct stat sb;
    size_t k, n;
    const char **v;

    if (c->files != NULL) {
        json_array_foreach(c->files, k, it)
        {
            const char *rel = json_string_value(it);
            if (!safe_rel(rel)) {
                json_decref(all);
                return emu_fail(cx, "42000",
                                "[INVALID_PARAMETER_VALUE] The file name '%.200s' in "
                                "FILES is not a relative path inside the source.",
                                rel);
            }
            snprintf(path, sizeof(path), "%s/%s", c->dir, rel);
            if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
                json_array_append(all, it);
            } else if (!c->ignore_missing) {
                json_decref(all);
                return emu_fail(cx, "42K03", "[PATH_NOT_FOUND] Path does not exist: %s/%s.",
                                c->vdir, rel);
            }
        }
    } else {
        emu_copy_list_dir(c->dir, "", c->pattern[0] != '\0', 0, all);
    }
    n = json_array_size(all);
    v = calloc(n > 0 ? n : 1, sizeof(*v));
    if (v == NULL) {
        json_decref(all);
        return emu_fail_code(cx, "INTERNAL_ERROR", "XX000", "[INTERNAL_ERROR] out of memory.");
    }
    for (k = 0; k < n; k++) {
        v[k] = json_string_value(json_array_get(all, k));
    }
    qsort(v, n, sizeof(*v), name_cmp);
    for (k = 0; k < n; k++) {
        if (c->pattern[0] == '\0' || fnmatch(c->pattern, v[k], FNM_PATHNAME) == 0) {
            if (k == 0 || strcmp(v[k], v[k - 1]) != 0) {
                json_array_append_new(out, json_string(v[k]));
            }
        }
    }
    free(v);
    json_decref(all);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* History                                                                  */
/* ------------------------------------------------------------------------ */

static int in_history(emu_ctx_t *cx, const char *id, const char *path)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;

    if (sqlite3_prepare_v2(
            cx->eng->db, "SELECT count(*) FROM emu_load_history WHERE table_id = ?1 AND path = ?2",
            -1, &st, NULL) != SQLITE_OK) {
        return emu_fail_db(cx, "prepare");
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        rc = sqlite3_column_int(st, 0) > 0;
    } else {
        emu_fail_db(cx, "history");
    }
    sqlite3_finalize(st);
    return rc;
}

static int record_history(emu_ctx_t *cx, const char *id, const char *path, long long rows,
                          long long bytes)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;

    if (sqlite3_prepare_v2(cx->eng->db,
                           "INSERT OR REPLACE INTO emu_load_history VALUES(?1, ?2, ?3, ?4, ?5)", -1,
                           &st, NULL) != SQLITE_OK) {
        return emu_fail_db(cx, "prepare");
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, emu_now_ms());
    sqlite3_bind_int64(st, 4, rows);
    sqlite3_bind_int64(st, 5, bytes);
    if (sqlite3_step(st) == SQLITE_DONE) {
        rc = 0;
    } else {
        emu_fail_db(cx, "history");
    }
    sqlite3_finalize(st);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Schema reconciliation and insertion                                      */
/* ------------------------------------------------------------------------ */

/* 1 when a file column of type f can be written into a table column of type t. */
static int compatible(const emu_col_t *f, const emu_col_t *t)
{
    if (strcmp(f->type, t->type) == 0) {
        return 1;
    }
    if ((t->kind == EMU_T_BIGINT || t->kind == EMU_T_INT) &&
        (f->kind == EMU_T_INT || f->kind == EMU_T_SMALLINT || f->kind == EMU_T_TINYINT)) {
        return 1;
    }
    if (t->kind == EMU_T_DOUBLE && f->kind == EMU_T_FLOAT) {
        return 1;
    }
    return t->kind == EMU_T_DECIMAL && f->kind == EMU_T_DECIMAL && t->scale == f->scale &&
           t->prec >= f->prec;
}

/* Maps each file column to a table column (map[k]), adding columns under mergeSchema. */
static int reconcile(emu_ctx_t *cx, copy_stmt_t *c, const emu_filedata_t *d, const char *vpath,
                     int *map)
{
    char full[3 * EMU_NAME_MAX + 8];
    int k, tc;

    snprintf(full, sizeof(full), "%s.%s.%s", c->t.name.c, c->t.name.s, c->t.name.o);
    for (k = 0; k < d->ncols; k++) {
        tc = emu_table_col(&c->t, d->cols[k].name);
        if (tc < 0 && !c->merge_schema) {
            return emu_fail(cx, "22000",
                            "[COPY_INTO_SCHEMA_MISMATCH_WITH_TARGET_TABLE] A schema mismatch was "
                            "detected while copying into the Delta table (Table: %s). The file %s "
                            "has the column `%s` %s that the table does not have. The table schema "
                            "can be evolved with COPY_OPTIONS ('mergeSchema' = 'true').",
                            full, vpath, d->cols[k].name, d->cols[k].type);
        }
        if (tc < 0) {
            if (emu_table_add_column(cx, &c->t, d->cols[k].name, d->cols[k].type, 1, NULL) != 0) {
                return -1;
            }
            tc = c->t.ncols - 1;
        } else if (c->avro && !compatible(&d->cols[k], &c->t.cols[tc])) {
            /* JSON values carry no declared type: they are cast per value instead. */
            return emu_fail(cx, "22005",
                            "[DELTA_FAILED_TO_MERGE_FIELDS] Failed to merge fields '%s' and '%s': "
                            "the table has %s, the file %s has %s.",
                            c->t.cols[tc].name, d->cols[k].name, c->t.cols[tc].type, vpath,
                            d->cols[k].type);
        }
        map[k] = tc;
    }
    return 0;
}

static int insert_rows(emu_ctx_t *cx, copy_stmt_t *c, const emu_filedata_t *d, const char *vpath,
                       const int *map)
{
    char *sql = NULL, err[1024];
    size_t cap = 64 + (size_t)d->ncols * 16, len, r;
    sqlite3_stmt *st = NULL;
    int k, rc = -1;

    sql = malloc(cap);
    if (sql == NULL) {
        return emu_fail_code(cx, "INTERNAL_ERROR", "XX000", "[INTERNAL_ERROR] out of memory.");
    }
    len = (size_t)snprintf(sql, cap, "INSERT INTO %s(_file", c->t.data);
    for (k = 0; k < d->ncols; k++) {
        len += (size_t)snprintf(sql + len, cap - len, ", c%d", map[k]);
    }
    len += (size_t)snprintf(sql + len, cap - len, ") VALUES(?1");
    for (k = 0; k < d->ncols; k++) {
        len += (size_t)snprintf(sql + len, cap - len, ", ?%d", k + 2);
    }
    snprintf(sql + len, cap - len, ")");
    if (sqlite3_prepare_v2(cx->eng->db, sql, -1, &st, NULL) != SQLITE_OK) {
        emu_fail_db(cx, "prepare");
        goto out;
    }
    for (r = 0; r < d->nrows; r++) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        sqlite3_bind_text(st, 1, vpath, -1, SQLITE_STATIC);
        for (k = 0; k < d->ncols; k++) {
            err[0] = '\0';
            if (emu_bind_cell(st, k + 2, &c->t.cols[map[k]], &d->cells[r * (size_t)d->ncols + k],
                              err, sizeof(err)) != 0) {
                emu_fail(cx, "22000", "[COPY_INTO_FAILED_ROW] Row %zu of %s: %s", r + 1, vpath,
                         err);
                goto out;
            }
        }
        if (sqlite3_step(st) != SQLITE_DONE) {
            emu_fail_db(cx, "insert");
            goto out;
        }
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    free(sql);
    return rc;
}

/* NOT NULL table columns the file does not carry. */
static int check_not_null(emu_ctx_t *cx, const copy_stmt_t *c, const emu_filedata_t *d,
                          const int *map)
{
    int k, j, found;

    if (d->nrows == 0) {
        return 0;
    }
    for (k = 0; k < c->t.ncols; k++) {
        for (found = 0, j = 0; j < d->ncols && !found; j++) {
            found = map[j] == k;
        }
        if (!found && !c->t.cols[k].nullable) {
            return emu_fail(cx, "23502",
                            "[DELTA_NOT_NULL_CONSTRAINT_VIOLATED] NOT NULL constraint "
                            "violated for column: %s.",
                            c->t.cols[k].name);
        }
    }
    return 0;
}

static int load_one(emu_ctx_t *cx, copy_stmt_t *c, const char *rel)
{
    char local[8192], vpath[4096], err[1024];
    emu_filedata_t d;
    int *map = NULL, rc = -1, h;

    snprintf(local, sizeof(local), "%s/%s", c->dir, rel);
    snprintf(vpath, sizeof(vpath), "%s/%s", c->vdir, rel);
    if (!c->force && (h = in_history(cx, c->t.id, vpath)) != 0) {
        return h < 0 ? -1 : 0;
    }
    err[0] = '\0';
    if ((c->avro ? emu_avro_load(local, &d, err, sizeof(err))
                 : emu_jsonl_load(local, &d, err, sizeof(err))) != 0) {
        if (c->ignore_corrupt) {
            c->skipped_corrupt++;
            return 0;
        }
        return emu_fail(cx, "KD001", "[FAILED_READ_FILE.NO_HINT] Error while reading file %s: %s.",
                        vpath, err);
    }
    c->bytes_read += d.bytes;
    if (c->sel.nitems > 0 && emu_copy_select_apply(cx, &c->sel, vpath, &d) != 0) {
        return -1;
    }
    if (c->t.ncols == 0 && !c->merge_schema) {
        emu_fail(cx, "22000",
                 "[COPY_INTO_SCHEMA_MISMATCH_WITH_TARGET_TABLE] The table %s.%s.%s has no "
                 "columns; COPY INTO can infer them only with FORMAT_OPTIONS ('mergeSchema' = "
                 "'true') and COPY_OPTIONS ('mergeSchema' = 'true').",
                 c->t.name.c, c->t.name.s, c->t.name.o);
        goto out;
    }
    map = calloc((size_t)d.ncols + 1, sizeof(*map));
    if (map == NULL || reconcile(cx, c, &d, vpath, map) != 0 || check_not_null(cx, c, &d, map) ||
        insert_rows(cx, c, &d, vpath, map) != 0 ||
        record_history(cx, c->t.id, vpath, (long long)d.nrows, d.bytes) != 0 ||
        emu_table_touch(cx, c->t.id, 1, d.bytes) != 0) {
        goto out;
    }
    c->inserted += (long long)d.nrows;
    rc = 0;
out:
    free(map);
    emu_filedata_free(&d);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Statement                                                                */
/* ------------------------------------------------------------------------ */

static int resolve_source(emu_ctx_t *cx, copy_stmt_t *c)
{
    char msg[1024];
    emu_name_t vol;
    size_t n;
    int rc;

    n = strlen(c->source);
    while (n > 1 && c->source[n - 1] == '/') {
        c->source[--n] = '\0';
    }
    snprintf(c->vdir, sizeof(c->vdir), "%s", c->source);
    if (strncmp(c->source, "/Volumes/", 9) != 0) {
        return emu_fail(cx, "0A000",
                        "[UNSUPPORTED_FEATURE] The emulator's COPY INTO reads Unity "
                        "Catalog Volume paths (/Volumes/...) only, not '%.200s'.",
                        c->source);
    }
    rc = emu_volume_locked(cx->eng, cx->principal, c->source, EMU_VOLUME_READ, c->dir,
                           sizeof(c->dir), msg, sizeof(msg), &vol);
    if (rc == -403) {
        return emu_fail(cx, "42501", "[INSUFFICIENT_PERMISSIONS] Insufficient privileges:\n%s",
                        msg);
    }
    if (rc == -404) {
        return emu_fail(cx, "42704", "[UC_VOLUME_NOT_FOUND] %s", msg);
    }
    if (rc != 0) {
        return emu_fail(cx, "42000", "[INVALID_PARAMETER_VALUE] %s", msg);
    }
    return 0;
}

static int copy_result(emu_ctx_t *cx, const copy_stmt_t *c)
{
    static const char *const names[] = {"num_affected_rows", "num_inserted_rows",
                                        "num_skipped_corrupt_files"};
    static const char *const types[] = {"BIGINT", "BIGINT", "BIGINT"};
    char a[32], b[32], s[32];
    const char *vals[3] = {a, b, s};

    snprintf(a, sizeof(a), "%lld", c->inserted);
    snprintf(b, sizeof(b), "%lld", c->inserted);
    snprintf(s, sizeof(s), "%lld", c->skipped_corrupt);
    return emu_result_simple(cx, 3, names, types, vals);
}

int emu_sql_copy(emu_ctx_t *cx)
{
    copy_stmt_t *c = calloc(1, sizeof(*c));
    json_t *files = json_array(), *it;
    struct stat sb;
    size_t k;
    int rc = -1;

    if (c == NULL || files == NULL) {
        json_decref(files);
        free(c);
        return emu_fail_code(cx, "INTERNAL_ERROR", "XX000", "[INTERNAL_ERROR] out of memory.");
    }
    c->avro = 1;
    c->ignore_missing = 1;
    if (parse_copy(cx, c) != 0 ||
        emu_table_require_table(cx, &c->t.name, &c->t, "COPY INTO") != 0 ||
        emu_require(cx, "MODIFY", EMU_ON_TABLE, &c->t.name) != 0 ||
        emu_require(cx, "SELECT", EMU_ON_TABLE, &c->t.name) != 0 || resolve_source(cx, c) != 0) {
        goto out;
    }
    if (stat(c->dir, &sb) == 0 && S_ISREG(sb.st_mode)) {
        /* The source names one file: load it from its directory. */
        char *slash = strrchr(c->vdir, '/'), *lslash = strrchr(c->dir, '/');
        json_array_append_new(files, json_string(slash + 1));
        *slash = '\0';
        *lslash = '\0';
    } else if (select_files(cx, c, files) != 0) {
        goto out;
    }
    json_array_foreach(files, k, it)
    {
        if (load_one(cx, c, json_string_value(it)) != 0) {
            goto out;
        }
    }
    rc = copy_result(cx, c);
out:
    cx->res->bytes_loaded = c->bytes_read;
    json_decref(files);
    json_decref(c->files);
    emu_copy_select_free(&c->sel);
    emu_table_free(&c->t);
    free(c);
    return rc;
}
