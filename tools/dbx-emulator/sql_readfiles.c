/*
 * sql_readfiles: the table-valued function of a FROM clause
 *
 *   read_files('/Volumes/c/s/v/path' [, format => 'avro' | 'json'] [, option => value ...])
 *
 * The path (a string literal or a :parameter) names one file, a directory (every file under
 * it, recursively, as Databricks discovers them; names starting with '.' or '_' skipped) or a
 * glob in its last segments (a '*.avro' pattern after the directory). Files are read like COPY INTO
 * reads them (avro_ocf.c, sql_jsonl.c: Avro container files with their logical types, JSON lines);
 * the schema is the union of the files' columns by name, in the order first seen, with
 * Spark's widening (INT into BIGINT, FLOAT into DOUBLE, decimals to the wider one; JSON's
 * conflicting types become STRING). As Databricks does when it infers the schema, a last
 * column _rescued_data STRING is added (always NULL here: every field of a file is read);
 * rescuedDataColumn => 'name' renames it. Options: format (else the first file's extension
 * decides: .avro, .json/.jsonl/.ndjson), ignoreCorruptFiles; other options are accepted and
 * ignored.
 *
 * The rows go into a temporary table of the statement that the caller reads as a relation.
 * Privileges: READ VOLUME on the volume (plus USE CATALOG / USE SCHEMA).
 */
#define _XOPEN_SOURCE 700
#include "sql_copy.h"
#include "sql_expr.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

typedef struct rf {
    char path[2048];
    int format; /* -1 unknown, 0 JSON, 1 AVRO */
    int ignore_corrupt;
    char rescued[EMU_NAME_MAX];
    emu_filedata_t *files;
    int nfiles;
} rf_t;

static int oom(emu_ctx_t *cx)
{
    return emu_fail_code(cx, "INTERNAL_ERROR", "XX000", "[INTERNAL_ERROR] out of memory.");
}

/* A string literal or a :parameter's value; *out borrowed. */
static int string_arg(emu_ctx_t *cx, const char *what, const char **out)
{
    const emu_token_t *a = emu_tk_peek(cx->tk);
    const char *type = NULL;

    if (a->kind == TK_STRING) {
        *out = a->val;
    } else if (a->kind == TK_PARAM) {
        if (!emu_param_get(cx, a->val, out, &type)) {
            return emu_param_unbound(cx, a->val);
        }
        if (*out == NULL) {
            return emu_fail(cx, "22004",
                            "[NULL_QUERY_STRING_EXECUTE_IMMEDIATE] The %s of "
                            "read_files is NULL.",
                            what);
        }
    } else if (a->kind == TK_NUMBER || a->kind == TK_IDENT) {
        *out = a->val; /* true, false, 10 */
    } else {
        return emu_syntax(cx);
    }
    cx->tk->i++;
    return 0;
}

static int parse_args(emu_ctx_t *cx, rf_t *r)
{
    emu_toks_t *tk = cx->tk;
    const char *v = NULL;

    if (!emu_tk_accept_kw(tk, "READ_FILES") || !emu_tk_accept_op(tk, "(")) {
        return emu_syntax(cx);
    }
    if (string_arg(cx, "path", &v) != 0) {
        return -1;
    }
    snprintf(r->path, sizeof(r->path), "%s", v);
    while (emu_tk_accept_op(tk, ",")) {
        const emu_token_t *k = emu_tk_peek(tk);
        char key[64];
        if (k->kind != TK_IDENT && k->kind != TK_QIDENT) {
            return emu_syntax(cx);
        }
        snprintf(key, sizeof(key), "%s", k->val);
        tk->i++;
        if (!emu_tk_accept_op(tk, "=") || !emu_tk_accept_op(tk, ">")) {
            return emu_fail(cx, "42601",
                            "[PARSE_SYNTAX_ERROR] read_files takes its options as "
                            "name => value.");
        }
        if (string_arg(cx, key, &v) != 0) {
            return -1;
        }
        if (strcasecmp(key, "format") == 0) {
            if (strcasecmp(v, "avro") == 0) {
                r->format = 1;
            } else if (strcasecmp(v, "json") == 0) {
                r->format = 0;
            } else {
                return emu_fail(cx, "0A000",
                                "[UNSUPPORTED_FEATURE] The emulator's read_files "
                                "reads format => 'avro' or 'json', not '%.50s'.",
                                v);
            }
        } else if (strcasecmp(key, "ignorecorruptfiles") == 0) {
            r->ignore_corrupt = strcasecmp(v, "true") == 0;
        } else if (strcasecmp(key, "rescueddatacolumn") == 0) {
            if (!emu_ident_valid(v)) {
                return emu_fail(cx, "42602",
                                "[INVALID_IDENTIFIER] rescuedDataColumn '%.100s' is "
                                "not a column name the emulator accepts.",
                                v);
            }
            snprintf(r->rescued, sizeof(r->rescued), "%s", v);
        }
        /* other options (schemaHints, multiLine, ...) are accepted and ignored */
    }
    return emu_tk_accept_op(tk, ")") ? 0 : emu_syntax(cx);
}

/* ------------------------------------------------------------------------ */
/* Files                                                                    */
/* ------------------------------------------------------------------------ */

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The files to read (relative to *dir), sorted; dir and vdir get the local and /Volumes
 * directories. */
static int find_files(emu_ctx_t *cx, rf_t *r, char *dir, size_t dirlen, char *vdir, size_t vdirlen,
                      json_t *out)
{
    char base[2048], msg[1024], pattern[1024];
    const char *glob = strpbrk(r->path, "*?[{");
    struct stat sb;
    json_t *all = json_array(), *it;
    const char **v = NULL;
    size_t k, n;
    int rc;

    pattern[0] = '\0';
    snprintf(base, sizeof(base), "%s", r->path);
    if (glob != NULL) {
        char *slash;
        base[glob - r->path] = '\0';
        slash = strrchr(base, '/');
        if (slash == NULL) {
            json_decref(all);
            return emu_syntax(cx);
        }
        snprintf(pattern, sizeof(pattern), "%s", r->path + (slash - base) + 1);
        *slash = '\0';
    }
    n = strlen(base);
    while (n > 1 && base[n - 1] == '/') {
        base[--n] = '\0';
    }
    if (strncmp(base, "/Volumes/", 9) != 0) {
        json_decref(all);
        return emu_fail(cx, "0A000",
                        "[UNSUPPORTED_FEATURE] The emulator's read_files reads Unity "
                        "Catalog Volume paths (/Volumes/...) only, not '%.200s'.",
                        r->path);
    }
    rc = emu_volume_locked(cx->eng, cx->principal, base, EMU_VOLUME_READ, dir, dirlen, msg,
                           sizeof(msg), NULL);
    if (rc != 0) {
        json_decref(all);
        if (rc == -403) {
            return emu_fail(cx, "42501", "[INSUFFICIENT_PERMISSIONS] Insufficient privileges:\n%s",
                            msg);
        }
        return rc == -404 ? emu_fail(cx, "42704", "[UC_VOLUME_NOT_FOUND] %s", msg)
                          : emu_fail(cx, "42000", "[INVALID_PARAMETER_VALUE] %s", msg);
    }
    snprintf(vdir, vdirlen, "%s", base);
    if (stat(dir, &sb) != 0) {
        json_decref(all);
        return emu_fail(cx, "42K03", "[PATH_NOT_FOUND] Path does not exist: %.200s.", r->path);
    }
    if (S_ISREG(sb.st_mode) && glob == NULL) {
        char *slash = strrchr(dir, '/'), *vslash = strrchr(vdir, '/');
        json_array_append_new(out, json_string(slash + 1));
        *slash = '\0';
        *vslash = '\0';
        json_decref(all);
        return 0;
    }
    emu_copy_list_dir(dir, "", 1, 0, all);
    n = json_array_size(all);
    v = calloc(n > 0 ? n : 1, sizeof(*v));
    if (v == NULL) {
        json_decref(all);
        return oom(cx);
    }
    json_array_foreach(all, k, it)
    {
        v[k] = json_string_value(it);
    }
    qsort(v, n, sizeof(*v), name_cmp);
    for (k = 0; k < n; k++) {
        if (pattern[0] == '\0' || fnmatch(pattern, v[k], FNM_PATHNAME) == 0) {
            json_array_append_new(out, json_string(v[k]));
        }
    }
    free(v);
    json_decref(all);
    return 0;
}

static int format_of(const char *name)
{
    const char *dot = strrchr(name, '.');

    if (dot != NULL && strcasecmp(dot, ".avro") == 0) {
        return 1;
    }
    if (dot != NULL && (strcasecmp(dot, ".json") == 0 || strcasecmp(dot, ".jsonl") == 0 ||
                        strcasecmp(dot, ".ndjson") == 0)) {
        return 0;
    }
    return -1;
}

/* ------------------------------------------------------------------------ */
/* Schema                                                                   */
/* ------------------------------------------------------------------------ */

static int is_intk(emu_kind_t k)
{
    return k == EMU_T_BIGINT || k == EMU_T_INT || k == EMU_T_SMALLINT || k == EMU_T_TINYINT;
}

/* The type both a and b fit in, into out; -1 when there is none. */
static int widen(const emu_col_t *a, const emu_col_t *b, int json, char *out, size_t outlen)
{
    int ip, s;

    if (strcmp(a->type, b->type) == 0) {
        snprintf(out, outlen, "%s", a->type);
    } else if (is_intk(a->kind) && is_intk(b->kind)) {
        snprintf(out, outlen, "BIGINT");
    } else if ((a->kind == EMU_T_DOUBLE || a->kind == EMU_T_FLOAT || is_intk(a->kind)) &&
               (b->kind == EMU_T_DOUBLE || b->kind == EMU_T_FLOAT || is_intk(b->kind))) {
        snprintf(out, outlen, "DOUBLE");
    } else if (a->kind == EMU_T_DECIMAL && b->kind == EMU_T_DECIMAL) {
        s = a->scale > b->scale ? a->scale : b->scale;
        ip = a->prec - a->scale > b->prec - b->scale ? a->prec - a->scale : b->prec - b->scale;
        snprintf(out, outlen, "DECIMAL(%d,%d)", ip + s > 38 ? 38 : ip + s, s);
    } else if (json) {
        snprintf(out, outlen, "STRING");
    } else {
        return -1;
    }
    return 0;
}

/* Adds the columns of file d to t (by name), widening types; map[k] gets t's index. */
static int merge_columns(emu_ctx_t *cx, rf_t *r, emu_table_t *t, const emu_filedata_t *d,
                         const char *vpath, int *map)
{
    char type[512];
    emu_col_t *nv;
    int k, c;

    for (k = 0; k < d->ncols; k++) {
        c = emu_table_col(t, d->cols[k].name);
        if (c < 0) {
            if (t->ncols >= EMU_MAX_COLUMNS) {
                return emu_fail(cx, "54011",
                                "[TOO_MANY_COLUMNS] read_files reads at most %d "
                                "columns.",
                                EMU_MAX_COLUMNS);
            }
            nv = realloc(t->cols, (size_t)(t->ncols + 1) * sizeof(*nv));
            if (nv == NULL) {
                return oom(cx);
            }
            t->cols = nv;
            emu_col_set(&t->cols[t->ncols], d->cols[k].name, d->cols[k].type, 1);
            c = t->ncols++;
        } else if (widen(&t->cols[c], &d->cols[k], r->format == 0, type, sizeof(type)) != 0) {
            return emu_fail(cx, "42825",
                            "[CANNOT_MERGE_INCOMPATIBLE_DATA_TYPE] Failed to merge "
                            "incompatible data types %s and %s of column `%s` (file "
                            "%s).",
                            t->cols[c].type, d->cols[k].type, d->cols[k].name, vpath);
        } else {
            char name[EMU_NAME_MAX];
            snprintf(name, sizeof(name), "%s", t->cols[c].name); /* emu_col_set clears it */
            emu_col_set(&t->cols[c], name, type, 1);
        }
        map[k] = c;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The temporary table                                                      */
/* ------------------------------------------------------------------------ */

static int fill(emu_ctx_t *cx, const emu_table_t *t, const emu_filedata_t *d, const int *map,
                const char *vpath)
{
    emu_sbuf_t sql = {0};
    sqlite3_stmt *st = NULL;
    char err[1024];
    size_t row;
    int k, rc = -1;

    emu_sb_addf(&sql, "INSERT INTO %s(", t->data);
    for (k = 0; k < d->ncols; k++) {
        emu_sb_addf(&sql, "%sc%d", k > 0 ? ", " : "", map[k]);
    }
    emu_sb_add(&sql, ") VALUES(");
    for (k = 0; k < d->ncols; k++) {
        emu_sb_addf(&sql, "%s?%d", k > 0 ? ", " : "", k + 1);
    }
    emu_sb_add(&sql, ")");
    if (d->ncols == 0 || d->nrows == 0) {
        emu_sb_free(&sql);
        return 0;
    }
    if (sql.oom || sqlite3_prepare_v2(cx->eng->db, sql.p, -1, &st, NULL) != SQLITE_OK) {
        emu_fail_db(cx, "read_files");
        goto out;
    }
    for (row = 0; row < d->nrows; row++) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        for (k = 0; k < d->ncols; k++) {
            if (emu_bind_cell(st, k + 1, &t->cols[map[k]], &d->cells[row * (size_t)d->ncols + k],
                              err, sizeof(err)) != 0) {
                emu_fail(cx, "KD001",
                         "[FAILED_READ_FILE.NO_HINT] Error while reading file %s: "
                         "row %zu: %s.",
                         vpath, row + 1, err);
                goto out;
            }
        }
        if (sqlite3_step(st) != SQLITE_DONE) {
            emu_fail_db(cx, "read_files");
            goto out;
        }
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    emu_sb_free(&sql);
    return rc;
}

static int create_temp(emu_ctx_t *cx, emu_table_t *t)
{
    emu_sbuf_t sql = {0};
    int k, rc;

    emu_temp_name(cx, t->data, sizeof(t->data));
    emu_sb_addf(&sql, "CREATE TEMP TABLE %s(", t->data);
    for (k = 0; k < t->ncols; k++) {
        emu_sb_addf(&sql, "%sc%d", k > 0 ? ", " : "", k);
    }
    emu_sb_add(&sql, ")");
    rc = sql.oom ? oom(cx) : emu_exec(cx, sql.p);
    emu_sb_free(&sql);
    return rc;
}

int emu_read_files_load(emu_ctx_t *cx, emu_table_t *t)
{
    rf_t r;
    json_t *files = json_array();
    char dir[4096], vdir[2048], local[8192], vpath[4096], err[1024];
    int **maps = NULL, k, rc = -1, nread = 0;
    const char **names = NULL; /* of the files read (borrowed from files) */
    size_t n;

    memset(&r, 0, sizeof(r));
    memset(t, 0, sizeof(*t));
    r.format = -1;
    snprintf(r.rescued, sizeof(r.rescued), "_rescued_data");
    snprintf(t->name.o, sizeof(t->name.o), "read_files");
    if (files == NULL) {
        return oom(cx);
    }
    if (parse_args(cx, &r) != 0 ||
        find_files(cx, &r, dir, sizeof(dir), vdir, sizeof(vdir), files) != 0) {
        goto out;
    }
    n = json_array_size(files);
    if (r.format < 0 && n > 0) {
        r.format = format_of(json_string_value(json_array_get(files, 0)));
    }
    if (n == 0 || r.format < 0) {
        emu_fail(cx, "42KD9",
                 "[UNABLE_TO_INFER_SCHEMA] Unable to infer schema for %s at %.200s. "
                 "It must be specified manually%s.",
                 r.format == 1   ? "AVRO"
                 : r.format == 0 ? "JSON"
                                 : "the files",
                 r.path, n == 0 ? " (no files found)" : " (give format => 'avro' or 'json')");
        goto out;
    }
    r.files = calloc(n, sizeof(*r.files));
    maps = calloc(n, sizeof(*maps));
    names = calloc(n, sizeof(*names));
    if (r.files == NULL || maps == NULL || names == NULL) {
        oom(cx);
        goto out;
    }
    for (k = 0; k < (int)n; k++) {
        const char *rel = json_string_value(json_array_get(files, (size_t)k));
        snprintf(local, sizeof(local), "%s/%s", dir, rel);
        snprintf(vpath, sizeof(vpath), "%s/%s", vdir, rel);
        err[0] = '\0';
        if ((r.format == 1 ? emu_avro_load(local, &r.files[nread], err, sizeof(err))
                           : emu_jsonl_load(local, &r.files[nread], err, sizeof(err))) != 0) {
            if (r.ignore_corrupt) {
                continue;
            }
            emu_fail(cx, "KD001", "[FAILED_READ_FILE.NO_HINT] Error while reading file %s: %s.",
                     vpath, err);
            goto out;
        }
        names[nread] = rel;
        maps[nread] = calloc((size_t)r.files[nread].ncols + 1, sizeof(int));
        if (maps[nread] == NULL) {
            nread++;
            oom(cx);
            goto out;
        }
        if (merge_columns(cx, &r, t, &r.files[nread], vpath, maps[nread]) != 0) {
            nread++;
            goto out;
        }
        nread++;
    }
    if (emu_table_col(t, r.rescued) < 0) {
        emu_col_t *nv = realloc(t->cols, (size_t)(t->ncols + 1) * sizeof(*nv));
        if (nv == NULL) {
            oom(cx);
            goto out;
        }
        t->cols = nv;
        emu_col_set(&t->cols[t->ncols++], r.rescued, "STRING", 1);
    }
    if (create_temp(cx, t) != 0) {
        goto out;
    }
    for (k = 0; k < nread; k++) {
        snprintf(vpath, sizeof(vpath), "%s/%s", vdir, names[k]);
        if (fill(cx, t, &r.files[k], maps[k], vpath) != 0) {
            goto out;
        }
    }
    rc = 0;
out:
    for (k = 0; k < nread; k++) {
        emu_filedata_free(&r.files[k]);
        free(maps[k]);
    }
    free(r.files);
    free(maps);
    free(names);
    json_decref(files);
    if (rc != 0) {
        emu_table_free(t);
    }
    return rc;
}
