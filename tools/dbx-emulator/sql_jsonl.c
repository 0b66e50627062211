/*
 * sql_jsonl: JSON lines input of COPY INTO (FILEFORMAT = JSON), the cell
 * container shared with avro_ocf.c, and binding a cell to a column.
 *
 * Type inference follows Spark's JSON reader in spirit: integers BIGINT, reals
 * DOUBLE, booleans BOOLEAN, strings STRING, objects STRUCT<...> (from the first
 * non-null object), arrays ARRAY<element of the first non-null element>, a
 * column that is always null STRING. A line that is not a JSON object makes the
 * file corrupt.
 */
#define _POSIX_C_SOURCE 200809L
#include "sql_copy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void emu_filedata_free(emu_filedata_t *d)
{
    size_t k;

    if (d == NULL) {
        return;
    }
    for (k = 0; k < d->nrows * (size_t)d->ncols; k++) {
        json_decref(d->cells[k].j);
        free(d->cells[k].blob);
    }
    free(d->cells);
    free(d->cols);
    memset(d, 0, sizeof(*d));
}

emu_cell_t *emu_filedata_add_row(emu_filedata_t *d)
{
    size_t n = (d->nrows + 1) * (size_t)d->ncols;
    emu_cell_t *nv = realloc(d->cells, (n > 0 ? n : 1) * sizeof(*nv));

    if (nv == NULL) {
        return NULL;
    }
    d->cells = nv;
    memset(&nv[d->nrows * (size_t)d->ncols], 0, (size_t)d->ncols * sizeof(*nv));
    return &nv[d->nrows++ * (size_t)d->ncols];
}

/* ------------------------------------------------------------------------ */
/* Inference                                                                */
/* ------------------------------------------------------------------------ */

static void infer(const json_t *v, char *out, size_t outlen, int depth)
{
    const char *key;
    json_t *it;
    size_t k, n;
    char inner[512];

    out[0] = '\0';
    if (depth > 16) {
        snprintf(out, outlen, "STRING");
    } else if (json_is_integer(v)) {
        snprintf(out, outlen, "BIGINT");
    } else if (json_is_real(v)) {
        snprintf(out, outlen, "DOUBLE");
    } else if (json_is_boolean(v)) {
        snprintf(out, outlen, "BOOLEAN");
    } else if (json_is_object(v) && json_object_size(v) > 0) {
        n = (size_t)snprintf(out, outlen, "STRUCT<");
        k = 0;
        json_object_foreach((json_t *)v, key, it)
        {
            infer(it, inner, sizeof(inner), depth + 1);
            if (n < outlen) {
                n += (size_t)snprintf(out + n, outlen - n, "%s%s: %s", k++ > 0 ? ", " : "", key,
                                      inner);
            }
        }
        if (n < outlen) {
            snprintf(out + n, outlen - n, ">");
        }
    } else if (json_is_array(v)) {
        const json_t *first = NULL;
        json_array_foreach((json_t *)v, k, it)
        {
            if (!json_is_null(it)) {
                first = it;
                break;
            }
        }
        infer(first, inner, sizeof(inner), depth + 1);
        snprintf(out, outlen, "ARRAY<%s>", inner);
    } else {
        snprintf(out, outlen, "STRING");
    }
}

/* Finds or adds column name; returns its index or -1. */
static int column_for(emu_filedata_t *d, const char *name, int *typed, char *err, size_t errlen)
{
    emu_col_t *nv;
    size_t r;
    int k;

    for (k = 0; k < d->ncols; k++) {
        if (strcmp(d->cols[k].name, name) == 0) {
            return k;
        }
    }
    if (!emu_ident_valid(name) || d->ncols >= EMU_MAX_COLUMNS) {
        snprintf(err, errlen, "unsupported field name '%.100s'", name);
        return -1;
    }
    nv = realloc(d->cols, (size_t)(d->ncols + 1) * sizeof(*nv));
    if (nv == NULL) {
        return -1;
    }
    d->cols = nv;
    emu_col_set(&d->cols[d->ncols], name, "STRING", 1);
    typed[d->ncols] = 0;
    /* Widen the rows read so far with a null cell. */
    if (d->nrows > 0) {
        emu_cell_t *cells = calloc(d->nrows * (size_t)(d->ncols + 1), sizeof(*cells));
        if (cells == NULL) {
            return -1;
        }
        for (r = 0; r < d->nrows; r++) {
            memcpy(&cells[r * (size_t)(d->ncols + 1)], &d->cells[r * (size_t)d->ncols],
                   (size_t)d->ncols * sizeof(*cells));
        }
        free(d->cells);
        d->cells = cells;
    }
    return d->ncols++;
}

static int add_line(emu_filedata_t *d, json_t *obj, int *typed, char *err, size_t errlen)
{
    const char *key;
    json_t *v;
    emu_cell_t *row;
    char type[512];
    int k;

    /* Columns first (this may widen earlier rows), then the row. */
    json_object_foreach(obj, key, v)
    {
        if ((k = column_for(d, key, typed, err, errlen)) < 0) {
            return -1;
        }
        if (!typed[k] && !json_is_null(v)) {
            infer(v, type, sizeof(type), 0);
            emu_col_set(&d->cols[k], key, type, 1);
            typed[k] = 1;
        }
    }
    if ((row = emu_filedata_add_row(d)) == NULL) {
        return -1;
    }
    json_object_foreach(obj, key, v)
    {
        k = column_for(d, key, typed, err, errlen);
        row[k].j = json_incref(v);
    }
    return 0;
}

int emu_jsonl_load(const char *path, emu_filedata_t *out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t n;
    int *typed = calloc(EMU_MAX_COLUMNS, sizeof(int)), rc = -1;
    json_error_t je;

    memset(out, 0, sizeof(*out));
    if (f == NULL || typed == NULL) {
        snprintf(err, errlen, "cannot open the file");
        goto out;
    }
    while ((n = getline(&line, &cap, f)) >= 0) {
        json_t *obj;
        lineno++;
        out->bytes += n;
        if (out->bytes > EMU_COPY_MAX_FILE) {
            snprintf(err, errlen, "the file is larger than the emulator's limit");
            goto out;
        }
        if (strspn(line, " \t\r\n") == (size_t)n) {
            continue;
        }
        obj = json_loadb(line, (size_t)n, JSON_DECODE_ANY, &je);
        if (!json_is_object(obj) || add_line(out, obj, typed, err, errlen) != 0) {
            if (err[0] == '\0' || json_is_object(obj)) {
                snprintf(err, errlen, "line %zu is not a JSON object%s%s", lineno,
                         obj == NULL ? ": " : "", obj == NULL ? je.text : "");
            }
            json_decref(obj);
            goto out;
        }
        json_decref(obj);
    }
    rc = 0;
out:
    free(line);
    free(typed);
    if (f != NULL) {
        fclose(f);
    }
    if (rc != 0) {
        emu_filedata_free(out);
    }
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Binding                                                                  */
/* ------------------------------------------------------------------------ */

int emu_bind_cell(sqlite3_stmt *st, int idx, const emu_col_t *col, const emu_cell_t *cell,
                  char *err, size_t errlen)
{
    const json_t *j = cell->j;
    char buf[64], *dump;
    int rc;

    if (cell->is_blob) {
        sqlite3_bind_blob(st, idx, cell->blob, (int)cell->len, SQLITE_STATIC);
        return 0;
    }
    if (j == NULL || json_is_null(j)) {
        if (!col->nullable) {
            snprintf(err, errlen,
                     "[DELTA_NOT_NULL_CONSTRAINT_VIOLATED] NOT NULL constraint "
                     "violated for column: %s. SQLSTATE: 23502",
                     col->name);
            return -1;
        }
        sqlite3_bind_null(st, idx);
        return 0;
    }
    if (json_is_string(j)) {
        return emu_bind_text_as(st, idx, col, json_string_value(j), err, errlen);
    }
    if (json_is_real(j) && (col->kind == EMU_T_DOUBLE || col->kind == EMU_T_FLOAT)) {
        sqlite3_bind_double(st, idx, json_real_value(j));
        return 0;
    }
    if (json_is_integer(j) || json_is_real(j) || json_is_boolean(j)) {
        if (json_is_integer(j)) {
            snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(j));
        } else if (json_is_real(j)) {
            snprintf(buf, sizeof(buf), "%.17g", json_real_value(j));
        } else {
            snprintf(buf, sizeof(buf), "%s", json_is_true(j) ? "true" : "false");
        }
        return emu_bind_text_as(st, idx, col, buf, err, errlen);
    }
    dump = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    if (dump == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    rc = emu_bind_text_as(st, idx, col, dump, err, errlen);
    free(dump);
    return rc;
}
