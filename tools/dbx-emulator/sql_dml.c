/*
 * sql_dml: INSERT INTO t [(cols)] VALUES (...), ... and INSERT INTO t [(cols)] SELECT ...
 * of the emulator. Values are literals or :parameters (optionally wrapped in CAST(... AS
 * type)); the SELECT form takes the query's columns by position (as Spark's INSERT does).
 * Each value is converted to the column's type and bound. A placeholder table (created
 * without columns) refuses INSERT, as Databricks does.
 */
#define _POSIX_C_SOURCE 200809L
#include "sql_dml.h"
#include "sql_expr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int emu_dml_value(emu_ctx_t *cx, char **out, int *is_null)
{
    char type[512];

    if (emu_tk_is_kw(cx->tk, "CAST") && emu_tk_at(cx->tk, 1)->kind == TK_OP &&
        strcmp(emu_tk_at(cx->tk, 1)->val, "(") == 0) {
        cx->tk->i += 2;
        if (emu_parse_value(cx, out, is_null) != 0) {
            return -1;
        }
        /* The value is converted to the column's type anyway; the cast type is checked. */
        if (!emu_tk_accept_kw(cx->tk, "AS") || emu_parse_type(cx, type, sizeof(type)) != 0 ||
            !emu_tk_accept_op(cx->tk, ")")) {
            free(*out);
            *out = NULL;
            return cx->res->message[0] != '\0' ? -1 : emu_syntax(cx);
        }
        return 0;
    }
    return emu_parse_value(cx, out, is_null);
}

/* Decodes base64 text into a new buffer (free()); NULL when it is not base64. */
static unsigned char *unbase64(const char *s, size_t *len)
{
    size_t n = strlen(s), o = 0, k;
    unsigned char *out = malloc(n / 4 * 3 + 3);
    unsigned int acc = 0;
    int bits = 0;

    if (out == NULL) {
        return NULL;
    }
    for (k = 0; k < n && s[k] != '='; k++) {
        const char *p =
            strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", s[k]);
        if (p == NULL || s[k] == '\0') {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (unsigned int)(p - "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                              "0123456789+/");
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    *len = o;
    return out;
}

int emu_dml_bind_result(sqlite3_stmt *st, int idx, const emu_col_t *col, const json_t *cell,
                        const char *type_name, char *err, size_t errlen)
{
    const char *text = json_string_value(cell);
    unsigned char *bytes;
    size_t len = 0;

    if (text != NULL && type_name != NULL && strcmp(type_name, "BINARY") == 0 &&
        col->kind == EMU_T_BINARY) {
        bytes = unbase64(text, &len);
        if (bytes == NULL) {
            snprintf(err, errlen,
                     "[CAST_INVALID_INPUT] A BINARY value for column `%s` is not "
                     "readable. SQLSTATE: 22018",
                     col->name);
            return -1;
        }
        sqlite3_bind_blob(st, idx, bytes, (int)len, free);
        return 0;
    }
    if (text == NULL && !col->nullable) {
        snprintf(err, errlen,
                 "[DELTA_NOT_NULL_CONSTRAINT_VIOLATED] NOT NULL constraint violated "
                 "for column: %s. SQLSTATE: 23502",
                 col->name);
        return -1;
    }
    return emu_bind_text_as(st, idx, col, text, err, errlen);
}

int emu_dml_schema_not_set(emu_ctx_t *cx, const emu_table_t *t)
{
    return emu_fail(cx, "KD008",
                    "[DELTA_SCHEMA_NOT_SET] Table schema is not set (`%s`.`%s`.`%s`"
                    " has no columns). Write data into it with COPY INTO ... "
                    "mergeSchema or use CREATE TABLE to set the schema.",
                    t->name.c, t->name.s, t->name.o);
}

/* Parses "(a, b, ...)" of column names into idx (indexes into t's columns). */
static int column_list(emu_ctx_t *cx, const emu_table_t *t, int *idx, int *n)
{
    *n = 0;
    do {
        const emu_token_t *c = emu_tk_peek(cx->tk);
        int k;
        if (c->kind != TK_IDENT && c->kind != TK_QIDENT) {
            return emu_syntax(cx);
        }
        k = emu_table_col(t, c->val);
        if (k < 0) {
            return emu_fail(cx, "42703",
                            "[UNRESOLVED_COLUMN.WITHOUT_SUGGESTION] A column, "
                            "variable, or function parameter with name `%.200s` "
                            "cannot be resolved.",
                            c->val);
        }
        if (*n >= t->ncols) {
            return emu_syntax(cx);
        }
        idx[(*n)++] = k;
        cx->tk->i++;
    } while (emu_tk_accept_op(cx->tk, ","));
    return emu_tk_accept_op(cx->tk, ")") ? 0 : emu_syntax(cx);
}

static int prepare_insert(emu_ctx_t *cx, const emu_table_t *t, const int *idx, int n,
                          sqlite3_stmt **st)
{
    char *sql;
    size_t cap = 64 + (size_t)n * 16, len;
    int k, rc;

    sql = malloc(cap);
    if (sql == NULL) {
        return emu_fail_code(cx, "INTERNAL_ERROR", "XX000", "[INTERNAL_ERROR] out of memory.");
    }
    len = (size_t)snprintf(sql, cap, "INSERT INTO %s(", t->data);
    for (k = 0; k < n; k++) {
        len += (size_t)snprintf(sql + len, cap - len, "%sc%d", k > 0 ? ", " : "", idx[k]);
    }
    len += (size_t)snprintf(sql + len, cap - len, ") VALUES(");
    for (k = 0; k < n; k++) {
        len += (size_t)snprintf(sql + len, cap - len, "%s?%d", k > 0 ? ", " : "", k + 1);
    }
    snprintf(sql + len, cap - len, ")");
    rc = sqlite3_prepare_v2(cx->eng->db, sql, -1, st, NULL) == SQLITE_OK
             ? 0
             : emu_fail_db(cx, "insert");
    free(sql);
    return rc;
}

static int arity(emu_ctx_t *cx, const emu_table_t *t, int want, int got)
{
    return emu_fail(cx, "21S01",
                    "[INSERT_COLUMN_ARITY_MISMATCH.%s] Cannot write to "
                    "`%s`.`%s`.`%s`, the reason is %s data columns: table columns %d, "
                    "data columns %d.",
                    got < want ? "NOT_ENOUGH_DATA_COLUMNS" : "TOO_MANY_DATA_COLUMNS", t->name.c,
                    t->name.s, t->name.o, got < want ? "not enough" : "too many", want, got);
}

/* Binds one VALUES row to st; returns 0 or -1. */
static int insert_row(emu_ctx_t *cx, const emu_table_t *t, const int *idx, int n, sqlite3_stmt *st)
{
    char err[1024], *v = NULL;
    int k = 0, is_null = 0;

    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (!emu_tk_accept_op(cx->tk, "(")) {
        return emu_syntax(cx);
    }
    do {
        if (k >= n) {
            return arity(cx, t, n, k + 1);
        }
        if (emu_dml_value(cx, &v, &is_null) != 0) {
            return -1;
        }
        if (is_null && !t->cols[idx[k]].nullable) {
            return emu_fail(cx, "23502",
                            "[DELTA_NOT_NULL_CONSTRAINT_VIOLATED] NOT NULL constraint "
                            "violated for column: %s.",
                            t->cols[idx[k]].name);
        }
        if (emu_bind_text_as(st, k + 1, &t->cols[idx[k]], v, err, sizeof(err)) != 0) {
            free(v);
            return emu_fail(cx, "22018", "%.*s",
                            (int)(strstr(err, " SQLSTATE") != NULL ? strstr(err, " SQLSTATE") - err
                                                                   : (long)strlen(err)),
                            err);
        }
        free(v);
        v = NULL;
        k++;
    } while (emu_tk_accept_op(cx->tk, ","));
    if (!emu_tk_accept_op(cx->tk, ")")) {
        return emu_syntax(cx);
    }
    if (k < n) {
        return arity(cx, t, n, k);
    }
    return sqlite3_step(st) == SQLITE_DONE ? 0 : emu_fail_db(cx, "insert");
}

int emu_dml_fail_message(emu_ctx_t *cx, const char *err)
{
    const char *st = strstr(err, " SQLSTATE: ");
    char state[8];

    snprintf(state, sizeof(state), "%.5s", st != NULL ? st + 11 : "22018");
    return emu_fail(cx, state, "%.*s", (int)(st != NULL ? st - err : (long)strlen(err)), err);
}

/* INSERT INTO t [(cols)] SELECT ... | (SELECT ...): the query's columns by position. */
static int insert_select(emu_ctx_t *cx, const emu_table_t *t, const int *idx, int n,
                         long long *count)
{
    emu_toks_t *tk = cx->tk;
    json_t *cols = NULL, *rows = NULL, *row;
    sqlite3_stmt *st = NULL;
    char err[1024];
    size_t end, r;
    int paren = emu_tk_accept_op(tk, "("), k, rc = -1;

    end = paren ? emu_xl_close(tk, tk->i - 1) : tk->n - 1;
    if (paren && tk->v[end].kind == TK_EOF) {
        return emu_syntax(cx);
    }
    if (!paren) {
        while (end > tk->i && tk->v[end - 1].kind == TK_OP &&
               strcmp(tk->v[end - 1].val, ";") == 0) {
            end--;
        }
    }
    if (emu_select_run(cx, end, &cols, &rows) != 0) {
        goto out;
    }
    tk->i = end + (size_t)paren;
    if (!emu_tk_at_end(tk)) {
        emu_syntax(cx);
        goto out;
    }
    if ((int)json_array_size(cols) != n) {
        arity(cx, t, n, (int)json_array_size(cols));
        goto out;
    }
    if (prepare_insert(cx, t, idx, n, &st) != 0) {
        goto out;
    }
    json_array_foreach(rows, r, row)
    {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        for (k = 0; k < n; k++) {
            const char *tn =
                json_string_value(json_object_get(json_array_get(cols, (size_t)k), "type_name"));
            if (emu_dml_bind_result(st, k + 1, &t->cols[idx[k]], json_array_get(row, (size_t)k), tn,
                                    err, sizeof(err)) != 0) {
                emu_dml_fail_message(cx, err);
                goto out;
            }
        }
        if (sqlite3_step(st) != SQLITE_DONE) {
            emu_fail_db(cx, "insert");
            goto out;
        }
        (*count)++;
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    json_decref(cols);
    json_decref(rows);
    return rc;
}

static int insert_values(emu_ctx_t *cx, emu_table_t *t, long long *count)
{
    int *idx = calloc((size_t)t->ncols + 1, sizeof(int)), n = 0, k, rc = -1;
    sqlite3_stmt *st = NULL;

    if (idx == NULL) {
        return emu_fail_code(cx, "INTERNAL_ERROR", "XX000", "[INTERNAL_ERROR] out of memory.");
    }
    if (emu_tk_accept_op(cx->tk, "(")) {
        if (column_list(cx, t, idx, &n) != 0) {
            goto out;
        }
    } else {
        for (k = 0; k < t->ncols; k++) {
            idx[n++] = k;
        }
    }
    for (k = 0; k < t->ncols; k++) {
        int j, listed = 0;
        for (j = 0; j < n; j++) {
            listed |= idx[j] == k;
        }
        if (!listed && !t->cols[k].nullable) {
            emu_fail(cx, "23502",
                     "[DELTA_NOT_NULL_CONSTRAINT_VIOLATED] NOT NULL constraint "
                     "violated for column: %s.",
                     t->cols[k].name);
            goto out;
        }
    }
    if (emu_tk_is_kw(cx->tk, "SELECT") ||
        (emu_tk_is_op(cx->tk, "(") && emu_tk_at(cx->tk, 1)->kind == TK_IDENT &&
         strcmp(emu_tk_at(cx->tk, 1)->val, "select") == 0)) {
        rc = insert_select(cx, t, idx, n, count);
        goto out;
    }
    if (!emu_tk_accept_kw(cx->tk, "VALUES")) {
        emu_syntax(cx);
        goto out;
    }
    if (prepare_insert(cx, t, idx, n, &st) != 0) {
        goto out;
    }
    do {
        if (insert_row(cx, t, idx, n, st) != 0) {
            goto out;
        }
        (*count)++;
    } while (emu_tk_accept_op(cx->tk, ","));
    rc = emu_tk_at_end(cx->tk) ? 0 : emu_syntax(cx);
out:
    sqlite3_finalize(st);
    free(idx);
    return rc;
}

int emu_sql_insert(emu_ctx_t *cx)
{
    static const char *const names[] = {"num_affected_rows", "num_inserted_rows"};
    static const char *const types[] = {"BIGINT", "BIGINT"};
    emu_table_t t;
    long long count = 0;
    char a[32];
    const char *vals[2] = {a, a};
    int rc = -1;

    memset(&t, 0, sizeof(t));
    cx->tk->i++; /* INSERT */
    if (emu_tk_is_kw(cx->tk, "OVERWRITE")) {
        return emu_fail(cx, "0A000", "[UNSUPPORTED_FEATURE] INSERT OVERWRITE is not emulated.");
    }
    if (!emu_tk_accept_kw(cx->tk, "INTO")) {
        return emu_syntax(cx);
    }
    emu_tk_accept_kw(cx->tk, "TABLE");
    if (emu_parse_object(cx, &t.name) != 0 ||
        emu_table_require_table(cx, &t.name, &t, "INSERT INTO") != 0 ||
        emu_require(cx, "MODIFY", EMU_ON_TABLE, &t.name) != 0) {
        goto out;
    }
    if (t.ncols == 0) {
        emu_dml_schema_not_set(cx, &t);
        goto out;
    }
    if (insert_values(cx, &t, &count) != 0 || emu_table_touch(cx, t.id, 1, 0) != 0) {
        goto out;
    }
    snprintf(a, sizeof(a), "%lld", count);
    rc = emu_result_simple(cx, 2, names, types, vals);
out:
    emu_table_free(&t);
    return rc;
}
