/*
 * sql_view: CREATE [OR REPLACE] VIEW [IF NOT EXISTS] v [(col [COMMENT 'c'], ...)]
 * [COMMENT 'c'] [TBLPROPERTIES (...)] AS <query>, and DROP VIEW [IF EXISTS] v.
 *
 * A view is a row of emu_tables (so names clash with tables', SHOW TABLES lists it, DROP
 * SCHEMA counts it), its columns in emu_columns (DESCRIBE), and in emu_views its query's
 * text with the catalog and schema it was created in. The query is translated at creation
 * (it must resolve, and the creator must be able to read what it reads) and again each time
 * the view is read (sql_select.c), so a view over a dropped table fails then with
 * [TABLE_OR_VIEW_NOT_FOUND], as in Databricks.
 */
#define _POSIX_C_SOURCE 200809L
#include "sql_expr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_VIEW_COLS 1024

typedef struct view_def {
    emu_name_t name;
    char (*cols)[EMU_NAME_MAX]; /* the column list, or NULL */
    int ncols;
    const char *comment;
    size_t q_start; /* token index of the query */
    int replace, if_not_exists;
} view_def_t;

/* Runs a write with text binds (NULL binds NULL) and integer binds after them. */
static int write_row(emu_ctx_t *cx, const char *sql, int ntext, const char *const *texts, int nint,
                     const long long *ints)
{
    sqlite3_stmt *st = NULL;
    int k, rc = -1;

    if (sqlite3_prepare_v2(cx->eng->db, sql, -1, &st, NULL) != SQLITE_OK) {
        return emu_fail_db(cx, "prepare");
    }
    for (k = 0; k < ntext; k++) {
        if (texts[k] != NULL) {
            sqlite3_bind_text(st, k + 1, texts[k], -1, SQLITE_STATIC);
        }
    }
    for (k = 0; k < nint; k++) {
        sqlite3_bind_int64(st, ntext + k + 1, ints[k]);
    }
    if (sqlite3_step(st) == SQLITE_DONE) {
        rc = 0;
    } else {
        emu_fail_db(cx, "view");
    }
    sqlite3_finalize(st);
    return rc;
}

static int forget(emu_ctx_t *cx, const char *id)
{
    const char *args[1] = {id};

    return write_row(cx, "DELETE FROM emu_tables WHERE id = ?1", 1, args, 0, NULL) ||
                   write_row(cx, "DELETE FROM emu_columns WHERE table_id = ?1", 1, args, 0, NULL) ||
                   write_row(cx, "DELETE FROM emu_views WHERE id = ?1", 1, args, 0, NULL)
               ? -1
               : 0;
}

/* ------------------------------------------------------------------------ */
/* CREATE VIEW                                                              */
/* ------------------------------------------------------------------------ */

static int skip_properties(emu_ctx_t *cx)
{
    size_t close;

    if (!emu_tk_is_op(cx->tk, "(")) {
        return emu_syntax(cx);
    }
    close = emu_xl_close(cx->tk, cx->tk->i);
    if (cx->tk->v[close].kind == TK_EOF) {
        return emu_syntax(cx);
    }
    cx->tk->i = close + 1;
    return 0;
}

static int parse_def(emu_ctx_t *cx, view_def_t *d)
{
    emu_toks_t *tk = cx->tk;

    if (emu_tk_is_kw(tk, "IF") && emu_tk_at(tk, 1)->kind == TK_IDENT &&
        strcmp(emu_tk_at(tk, 1)->val, "not") == 0) {
        tk->i += 2;
        if (!emu_tk_accept_kw(tk, "EXISTS") || d->replace) {
            return emu_syntax(cx);
        }
        d->if_not_exists = 1;
    }
    if (emu_parse_object(cx, &d->name) != 0) {
        return -1;
    }
    if (emu_tk_accept_op(tk, "(")) {
        d->cols = calloc(MAX_VIEW_COLS, sizeof(*d->cols));
        if (d->cols == NULL) {
            return emu_fail_code(cx, "INTERNAL_ERROR", "XX000", "[INTERNAL_ERROR] out of memory.");
        }
        do {
            const emu_token_t *c = emu_tk_peek(tk);
            const char *name = c->kind == TK_QIDENT ? c->val : c->raw;
            if ((c->kind != TK_IDENT && c->kind != TK_QIDENT) || !emu_ident_valid(name) ||
                d->ncols >= MAX_VIEW_COLS) {
                return emu_syntax(cx);
            }
            snprintf(d->cols[d->ncols++], EMU_NAME_MAX, "%s", name);
            tk->i++;
            if (emu_tk_accept_kw(tk, "COMMENT")) {
                if (emu_tk_peek(tk)->kind != TK_STRING) {
                    return emu_syntax(cx);
                }
                tk->i++;
            }
        } while (emu_tk_accept_op(tk, ","));
        if (!emu_tk_accept_op(tk, ")")) {
            return emu_syntax(cx);
        }
    }
    for (;;) {
        if (emu_tk_accept_kw(tk, "COMMENT")) {
            if (emu_tk_peek(tk)->kind != TK_STRING) {
                return emu_syntax(cx);
            }
            d->comment = emu_tk_peek(tk)->val;
            tk->i++;
        } else if (emu_tk_accept_kw(tk, "TBLPROPERTIES")) {
            if (skip_properties(cx) != 0) {
                return -1;
            }
        } else {
            break;
        }
    }
    if (!emu_tk_accept_kw(tk, "AS")) {
        return emu_syntax(cx);
    }
    d->q_start = tk->i;
    if (!emu_tk_is_kw(tk, "SELECT")) {
        return emu_syntax(cx);
    }
    return 0;
}

/* The query's text: from its first token to its last (a trailing ';' dropped). */
static char *query_text(emu_ctx_t *cx, size_t start)
{
    const emu_toks_t *tk = cx->tk;
    size_t last = tk->n - 1, a, b;
    char *out;

    while (last > start && tk->v[last - 1].kind == TK_OP && strcmp(tk->v[last - 1].val, ";") == 0) {
        last--;
    }
    if (last <= start) {
        return NULL;
    }
    a = tk->v[start].pos;
    b = tk->v[last - 1].pos + strlen(tk->v[last - 1].raw);
    out = malloc(b - a + 1);
    if (out != NULL) {
        memcpy(out, cx->sql + a, b - a);
        out[b - a] = '\0';
    }
    return out;
}

/* Checks the query (it resolves; no parameters; distinct names) and fills q. */
static int check_query(emu_ctx_t *cx, view_def_t *d, emu_query_t *q)
{
    emu_toks_t *tk = cx->tk;
    json_t *binds = json_array();
    size_t k, end = tk->n - 1;
    int i, j, rc;

    for (k = d->q_start; k < tk->n; k++) {
        if (tk->v[k].kind == TK_PARAM) {
            json_decref(binds);
            return emu_fail(cx, "0A000",
                            "[UNSUPPORTED_FEATURE.PARAMETER_MARKER_IN_UNEXPECTED_"
                            "STATEMENT] The feature is not supported: Parameter "
                            "markers are not allowed in CREATE VIEW.");
        }
    }
    while (end > d->q_start && tk->v[end - 1].kind == TK_OP &&
           strcmp(tk->v[end - 1].val, ";") == 0) {
        end--;
    }
    tk->i = d->q_start;
    cx->defining = &d->name;
    rc = emu_query_translate(cx, NULL, end, binds, q);
    cx->defining = NULL;
    json_decref(binds);
    if (rc != 0) {
        return -1;
    }
    if (d->cols != NULL && d->ncols != q->nitems) {
        return emu_fail(cx, "21S01",
                        "[CREATE_VIEW_COLUMN_ARITY_MISMATCH.%s] Cannot create view "
                        "`%s`.`%s`.`%s`, the reason is %s data columns: View "
                        "columns: %d. Data columns: %d.",
                        d->ncols < q->nitems ? "TOO_MANY_DATA_COLUMNS" : "NOT_ENOUGH_DATA_COLUMNS",
                        d->name.c, d->name.s, d->name.o,
                        d->ncols < q->nitems ? "too many" : "not enough", d->ncols, q->nitems);
    }
    for (i = 0; i < q->nitems; i++) {
        const char *ni = d->cols != NULL ? d->cols[i] : q->items[i].name;
        if (d->cols == NULL && !emu_ident_valid(ni)) {
            /* e.g. count(1): Databricks asks for an alias for such a column of a view */
            return emu_fail(cx, "42000",
                            "[CREATE_PERMANENT_VIEW_WITHOUT_ALIAS] Not allowed to "
                            "create the permanent view `%s`.`%s`.`%s` without "
                            "explicitly assigning an alias for the expression %s.",
                            d->name.c, d->name.s, d->name.o, ni);
        }
        for (j = 0; j < i; j++) {
            const char *nj = d->cols != NULL ? d->cols[j] : q->items[j].name;
            if (strcasecmp(ni, nj) == 0) {
                return emu_fail(cx, "42711",
                                "[COLUMN_ALREADY_EXISTS] The column `%s` already "
                                "exists.",
                                ni);
            }
        }
    }
    return 0;
}

static int store(emu_ctx_t *cx, const view_def_t *d, const emu_query_t *q, const char *text)
{
    char id[40];
    const char *targs[7];
    long long ints[2];
    int k;

    emu_uuid(id);
    targs[0] = d->name.c;
    targs[1] = d->name.s;
    targs[2] = d->name.o;
    targs[3] = id;
    targs[4] = cx->principal;
    targs[5] = d->comment;
    ints[0] = emu_now_ms();
    if (write_row(cx,
                  "INSERT INTO emu_tables(catalog, schema, name, id, owner, comment, "
                  "created_ms, modified_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
                  6, targs, 1, ints) != 0) {
        return -1;
    }
    for (k = 0; k < q->nitems; k++) {
        targs[0] = id;
        targs[1] = d->cols != NULL ? d->cols[k] : q->items[k].name;
        /* a column typed only by its values is described as STRING */
        targs[2] = q->items[k].type[0] != '\0' ? q->items[k].type : "STRING";
        ints[0] = k;
        ints[1] = 1;
        if (write_row(cx,
                      "INSERT INTO emu_columns(table_id, name, type, position, nullable) "
                      "VALUES(?1, ?2, ?3, ?4, ?5)",
                      3, targs, 2, ints) != 0) {
            return -1;
        }
    }
    targs[0] = id;
    targs[1] = text;
    targs[2] = cx->catalog;
    targs[3] = cx->schema;
    ints[0] = d->cols != NULL;
    return write_row(cx,
                     "INSERT INTO emu_views(id, query, catalog, schema, named) "
                     "VALUES(?1, ?2, ?3, ?4, ?5)",
                     4, targs, 1, ints);
}

int emu_sql_create_view(emu_ctx_t *cx, int replace)
{
    view_def_t d;
    emu_table_t old;
    emu_query_t q;
    char *text = NULL;
    int ex, rc = -1;

    memset(&d, 0, sizeof(d));
    memset(&old, 0, sizeof(old));
    memset(&q, 0, sizeof(q));
    d.replace = replace;
    if (parse_def(cx, &d) != 0 || emu_require_schema(cx, &d.name) != 0) {
        goto out;
    }
    ex = emu_table_load(cx, &d.name, &old);
    if (ex < 0) {
        goto out;
    }
    if (ex == 0 && d.if_not_exists) {
        rc = emu_require(cx, NULL, EMU_ON_SCHEMA, &d.name); /* nothing to do */
        goto out;
    }
    if (ex == 0 && !replace) {
        emu_fail(cx, "42P07",
                 "[TABLE_OR_VIEW_ALREADY_EXISTS] Cannot create table or view "
                 "`%s`.`%s`.`%s` because it already exists. Choose a different "
                 "name, drop or replace the existing object, or add the IF NOT "
                 "EXISTS clause to tolerate pre-existing objects.",
                 d.name.c, d.name.s, d.name.o);
        goto out;
    }
    if (ex == 0 && !old.is_view) {
        emu_fail(cx, "42809",
                 "[EXPECT_VIEW_NOT_TABLE.NO_ALTERNATIVE] The table `%s`.`%s`.`%s` "
                 "does not support CREATE OR REPLACE VIEW.",
                 d.name.c, d.name.s, d.name.o);
        goto out;
    }
    if (emu_require(cx, "CREATE TABLE", EMU_ON_SCHEMA, &d.name) != 0 ||
        (ex == 0 && emu_require(cx, "MANAGE", EMU_ON_TABLE, &d.name) != 0) ||
        check_query(cx, &d, &q) != 0) {
        goto out;
    }
    text = query_text(cx, d.q_start);
    if (text == NULL) {
        emu_syntax(cx);
        goto out;
    }
    if ((ex == 0 && forget(cx, old.id) != 0) || store(cx, &d, &q, text) != 0) {
        goto out;
    }
    rc = 0;
out:
    free(text);
    free(d.cols);
    emu_query_free(&q);
    emu_table_free(&old);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* DROP VIEW                                                                */
/* ------------------------------------------------------------------------ */

int emu_sql_drop_view(emu_ctx_t *cx)
{
    emu_table_t t;
    int ie = 0, k, rc = -1;

    memset(&t, 0, sizeof(t));
    if (emu_tk_is_kw(cx->tk, "IF") && emu_tk_at(cx->tk, 1)->kind == TK_IDENT &&
        strcmp(emu_tk_at(cx->tk, 1)->val, "exists") == 0) {
        cx->tk->i += 2;
        ie = 1;
    }
    if (emu_parse_object(cx, &t.name) != 0) {
        return -1;
    }
    if (!emu_tk_at_end(cx->tk)) {
        return emu_syntax(cx);
    }
    if (ie && (k = emu_schema_exists(cx, t.name.c, t.name.s)) != 1) {
        return k < 0 ? -1 : 0;
    }
    k = ie ? emu_table_load(cx, &t.name, &t) : emu_table_require(cx, &t.name, &t);
    if (k != 0) {
        return k == 1 ? 0 : -1;
    }
    if (!t.is_view) {
        emu_fail(cx, "42809",
                 "[DROP_COMMAND_TYPE_MISMATCH] Cannot drop a table with DROP VIEW. "
                 "Use DROP TABLE instead.");
    } else if (emu_require(cx, "MANAGE", EMU_ON_TABLE, &t.name) == 0) {
        rc = forget(cx, t.id);
    }
    emu_table_free(&t);
    return rc;
}
