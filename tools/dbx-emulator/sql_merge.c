/*
 * sql_merge: MERGE INTO as Delta runs it, for keyed loads and claims:
 *
 *   MERGE [WITH SCHEMA EVOLUTION] INTO t [[AS] x] USING (VALUES (...), ...) [AS] s(c1, ...)
 *                         | USING (SELECT ...) [AS] s[(c1, ...)]
 *                         | USING table_or_view [[AS] s]
 *   ON <condition>
 *   WHEN MATCHED [AND <cond>] THEN UPDATE SET a = <expr>, ... | UPDATE SET * | DELETE
 *   WHEN NOT MATCHED [AND <cond>] THEN INSERT (a, ...) VALUES (<expr>, ...) | INSERT *
 *
 * The source rows (the VALUES, or the rows of the SELECT, which sql_select runs: a table, a
 * view, inline(from_json(:rows, ...)) or read_files(...), with QUALIFY and the rest) go into
 * a temporary SQLite table, values converted to the type of the same-named target column
 * (else the SELECT's column type, or text); the clauses become UPDATE ... FROM / DELETE /
 * INSERT ... SELECT statements over it, with conditions translated by sql_expr and SET /
 * VALUES expressions converted to the target column's type. Clauses run in the order
 * written. Several source rows matching one target row fail as in Delta: when there is a
 * WHEN MATCHED clause other than one unconditional DELETE. INSERT * inserts the target's
 * columns that the source has, UPDATE SET * sets them; a source column the target lacks is
 * ignored, unless WITH SCHEMA EVOLUTION, which adds it to the target (nullable, the
 * source's type) as COPY INTO's mergeSchema does.
 */
#define _POSIX_C_SOURCE 200809L
#include "sql_dml.h"
#include "sql_expr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct merge {
    emu_ctx_t *cx;
    emu_table_t t;
    char talias[EMU_NAME_MAX], salias[EMU_NAME_MAX];
    emu_col_t *scols; /* source columns, typed like the target's */
    int nscols;
    emu_xl_t x;
    size_t on_start, on_end; /* token range of the ON condition */
    int sel;                 /* 1: USING (SELECT ...) over tokens [sel_start, sel_end);
                              * 2: USING <table or view> (src) */
    emu_name_t src;
    size_t sel_start, sel_end;
    long long updated, deleted, inserted;
    int evolve; /* WITH SCHEMA EVOLUTION */
} merge_t;

static int oom(emu_ctx_t *cx)
{
    return emu_fail_code(cx, "INTERNAL_ERROR", "XX000", "[INTERNAL_ERROR] out of memory.");
}

/* ------------------------------------------------------------------------ */
/* USING (VALUES ...) AS s(cols) | USING (SELECT ...) AS s[(cols)]           */
/* ------------------------------------------------------------------------ */

/* Skips the VALUES rows (they are parsed again once the column names are known). */
static int skip_rows(emu_ctx_t *cx, size_t *start)
{
    size_t end;

    if (!emu_tk_accept_op(cx->tk, "(") || !emu_tk_accept_kw(cx->tk, "VALUES")) {
        return emu_fail(cx, "0A000",
                        "[UNSUPPORTED_FEATURE] The emulator's MERGE takes its source "
                        "as USING (VALUES (...), ...) AS s(cols) or USING (SELECT "
                        "...) AS s.");
    }
    *start = cx->tk->i;
    end = emu_xl_find(cx->tk, NULL, NULL);
    /* emu_xl_find stops at depth < 0: the closing parenthesis of USING ( ... ). */
    while (cx->tk->i < end) {
        cx->tk->i++;
    }
    return emu_tk_accept_op(cx->tk, ")") ? 0 : emu_syntax(cx);
}

/* Skips "(SELECT ...)", remembering its tokens (run once the target is known). */
static int skip_select(merge_t *m)
{
    emu_toks_t *tk = m->cx->tk;

    tk->i++; /* ( */
    m->sel = 1;
    m->sel_start = tk->i;
    m->sel_end = emu_xl_find(tk, NULL, NULL);
    tk->i = m->sel_end;
    return emu_tk_accept_op(tk, ")") ? 0 : emu_syntax(m->cx);
}

/* Appends a source column typed like the target column of that name, else dflt. */
static int add_scol(merge_t *m, const char *name, const char *dflt)
{
    emu_col_t *nv;
    int tc;

    if (m->nscols >= EMU_MAX_COLUMNS) {
        return emu_syntax(m->cx);
    }
    nv = realloc(m->scols, (size_t)(m->nscols + 1) * sizeof(*nv));
    if (nv == NULL) {
        return oom(m->cx);
    }
    m->scols = nv;
    tc = emu_table_col(&m->t, name);
    emu_col_set(&m->scols[m->nscols++], name, tc >= 0 ? m->t.cols[tc].type : dflt, 1);
    return 0;
}

/* [AS] s(c1, ...); the column list is optional for a SELECT source. */
static int source_columns(merge_t *m)
{
    emu_ctx_t *cx = m->cx;
    const emu_token_t *a;

    emu_tk_accept_kw(cx->tk, "AS");
    a = emu_tk_peek(cx->tk);
    if (m->sel == 2 && a->kind == TK_IDENT && strcmp(a->val, "on") == 0) {
        return 0; /* a table source without alias: its name qualifies its columns */
    }
    if ((a->kind != TK_IDENT && a->kind != TK_QIDENT) || !emu_ident_valid(a->val)) {
        return emu_syntax(cx);
    }
    snprintf(m->salias, sizeof(m->salias), "%s", a->val);
    cx->tk->i++;
    if (!emu_tk_accept_op(cx->tk, "(")) {
        return m->sel ? 0 : emu_syntax(cx);
    }
    do {
        const emu_token_t *c = emu_tk_peek(cx->tk);
        if ((c->kind != TK_IDENT && c->kind != TK_QIDENT) || !emu_ident_valid(c->val)) {
            return emu_syntax(cx);
        }
        if (add_scol(m, c->kind == TK_QIDENT ? c->val : c->raw, "STRING") != 0) {
            return -1;
        }
        cx->tk->i++;
    } while (emu_tk_accept_op(cx->tk, ","));
    return emu_tk_accept_op(cx->tk, ")") ? 0 : emu_syntax(cx);
}

/* Creates the temporary table emu_src(c0, ...) and prepares its INSERT (*st). */
static int create_src(merge_t *m, sqlite3_stmt **st)
{
    emu_ctx_t *cx = m->cx;
    emu_sbuf_t sql = {0};
    int k, rc = -1;

    emu_sb_add(&sql, "CREATE TEMP TABLE emu_src(");
    for (k = 0; k < m->nscols; k++) {
        emu_sb_addf(&sql, "%sc%d", k > 0 ? ", " : "", k);
    }
    emu_sb_add(&sql, ")");
    if (sql.oom || emu_exec(cx, "DROP TABLE IF EXISTS temp.emu_src") || emu_exec(cx, sql.p)) {
        goto out;
    }
    sql.len = 0;
    emu_sb_add(&sql, "INSERT INTO emu_src VALUES(");
    for (k = 0; k < m->nscols; k++) {
        emu_sb_addf(&sql, "%s?%d", k > 0 ? ", " : "", k + 1);
    }
    emu_sb_add(&sql, ")");
    if (sql.oom || sqlite3_prepare_v2(cx->eng->db, sql.p, -1, st, NULL) != SQLITE_OK) {
        emu_fail_db(cx, "merge source");
        goto out;
    }
    rc = 0;
out:
    emu_sb_free(&sql);
    return rc;
}

/* Runs the SELECT source and loads its rows, converted to the source columns. */
static int load_select(merge_t *m)
{
    emu_ctx_t *cx = m->cx;
    sqlite3_stmt *st = NULL;
    json_t *cols = NULL, *rows = NULL, *row;
    size_t saved = cx->tk->i, r;
    char err[1024];
    int k, rc = -1, named = m->nscols > 0; /* AS s(c1, ...) named the columns */

    if (m->sel == 2) {
        /* USING t [AS s] reads as USING (SELECT * FROM t) AS s */
        emu_toks_t tk, *saved_tk = cx->tk;
        char text[3 * EMU_NAME_MAX + 32];
        size_t errpos = 0;
        memset(&tk, 0, sizeof(tk));
        snprintf(text, sizeof(text), "SELECT * FROM `%s`.`%s`.`%s`", m->src.c, m->src.s, m->src.o);
        if (emu_lex(text, &tk, &errpos) != 0) {
            emu_lex_free(&tk);
            oom(cx);
            goto out;
        }
        cx->tk = &tk;
        rc = emu_select_run(cx, tk.n - 1, &cols, &rows);
        cx->tk = saved_tk;
        emu_lex_free(&tk);
        if (rc != 0) {
            goto out;
        }
        rc = -1;
    } else {
        cx->tk->i = m->sel_start;
        if (emu_select_run(cx, m->sel_end, &cols, &rows) != 0) {
            goto out;
        }
    }
    for (k = 0; !named && k < (int)json_array_size(cols); k++) {
        const json_t *c = json_array_get(cols, (size_t)k);
        if (add_scol(m, json_string_value(json_object_get(c, "name")),
                     json_string_value(json_object_get(c, "type_text"))) != 0) {
            goto out;
        }
    }
    if ((size_t)m->nscols != json_array_size(cols)) {
        emu_fail(cx, "42826",
                 "[NUM_COLUMNS_MISMATCH] The source alias names %d columns but its "
                 "query returns %zu.",
                 m->nscols, json_array_size(cols));
        goto out;
    }
    if (create_src(m, &st) != 0) {
        goto out;
    }
    json_array_foreach(rows, r, row)
    {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        for (k = 0; k < m->nscols; k++) {
            const char *tn =
                json_string_value(json_object_get(json_array_get(cols, (size_t)k), "type_name"));
            if (emu_dml_bind_result(st, k + 1, &m->scols[k], json_array_get(row, (size_t)k), tn,
                                    err, sizeof(err)) != 0) {
                emu_dml_fail_message(cx, err);
                goto out;
            }
        }
        if (sqlite3_step(st) != SQLITE_DONE) {
            emu_fail_db(cx, "merge source");
            goto out;
        }
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    json_decref(cols);
    json_decref(rows);
    cx->tk->i = saved;
    return rc;
}

static int load_rows(merge_t *m, size_t rows_start)
{
    emu_ctx_t *cx = m->cx;
    sqlite3_stmt *st = NULL;
    size_t saved = cx->tk->i;
    char err[1024], *v = NULL;
    int k, is_null, rc = -1;

    if (create_src(m, &st) != 0) {
        goto out;
    }
    cx->tk->i = rows_start;
    do {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        if (!emu_tk_accept_op(cx->tk, "(")) {
            emu_syntax(cx);
            goto out;
        }
        for (k = 0; k < m->nscols; k++) {
            if ((k > 0 && !emu_tk_accept_op(cx->tk, ",")) || emu_dml_value(cx, &v, &is_null)) {
                if (cx->res->message[0] == '\0') {
                    emu_syntax(cx);
                }
                goto out;
            }
            if (emu_bind_text_as(st, k + 1, &m->scols[k], v, err, sizeof(err)) != 0) {
                emu_fail(cx, "22018", "%s", err);
                goto out;
            }
            free(v);
            v = NULL;
        }
        if (!emu_tk_accept_op(cx->tk, ")") || sqlite3_step(st) != SQLITE_DONE) {
            if (cx->res->message[0] == '\0') {
                emu_syntax(cx);
            }
            goto out;
        }
    } while (emu_tk_accept_op(cx->tk, ","));
    rc = 0;
out:
    free(v);
    sqlite3_finalize(st);
    cx->tk->i = saved;
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Clauses                                                                  */
/* ------------------------------------------------------------------------ */

static const char *const k_when[] = {"when", NULL};

/* Runs sql with the translator's binds; adds the changed row count to *count. */
static int run(merge_t *m, const emu_sbuf_t *sql, long long *count)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;

    if (sql->oom) {
        return oom(m->cx);
    }
    if (sqlite3_prepare_v2(m->cx->eng->db, sql->p, -1, &st, NULL) != SQLITE_OK) {
        return emu_fail(m->cx, "42000", "[INVALID_QUERY] The emulator cannot run this MERGE: %s",
                        sqlite3_errmsg(m->cx->eng->db));
    }
    emu_xl_bind(&m->x, st);
    if (sqlite3_step(st) == SQLITE_DONE) {
        *count += sqlite3_changes(m->cx->eng->db);
        rc = 0;
    } else {
        emu_fail_step(m->cx, "MERGE");
    }
    sqlite3_finalize(st);
    return rc;
}

/* Appends the ON condition (translated again, with its own binds). */
static int on_cond(merge_t *m, emu_sbuf_t *sql)
{
    size_t saved = m->cx->tk->i;
    int rc;

    m->cx->tk->i = m->on_start;
    emu_sb_add(sql, "(");
    rc = emu_xl_expr(&m->x, m->on_end, sql, NULL);
    emu_sb_add(sql, ")");
    m->cx->tk->i = saved;
    return rc;
}

/* Optional "AND <cond>" before THEN, appended as " AND (<cond>)". */
static int clause_cond(merge_t *m, emu_sbuf_t *sql)
{
    emu_toks_t *tk = m->cx->tk;

    if (emu_tk_accept_kw(tk, "AND")) {
        emu_sb_add(sql, " AND (");
        if (emu_xl_expr(&m->x, emu_xl_find(tk, (const char *const[]){"then", NULL}, NULL), sql,
                        NULL) != 0) {
            return -1;
        }
        emu_sb_add(sql, ")");
    }
    return emu_tk_accept_kw(tk, "THEN") ? 0 : emu_syntax(m->cx);
}

static int target_col(merge_t *m, const char *name)
{
    int c = emu_table_col(&m->t, name);

    if (c < 0) {
        emu_fail(m->cx, "42703",
                 "[UNRESOLVED_COLUMN.WITHOUT_SUGGESTION] A column, variable, or "
                 "function parameter with name `%.200s` cannot be resolved.",
                 name);
    }
    return c;
}

/* Translates a value for target column c (up to end), converted to the column's type. */
static int value_for(merge_t *m, int c, size_t end, emu_sbuf_t *out)
{
    emu_sbuf_t v = {0};
    emu_xtype_t t;
    int rc = emu_xl_expr(&m->x, end, &v, &t);

    if (rc == 0) {
        emu_xl_convert(v.p != NULL ? v.p : "NULL", &t, m->t.cols[c].type, out);
    }
    emu_sb_free(&v);
    return rc;
}

/* The target column of source column k, or -1 when the target has none; with WITH SCHEMA
 * EVOLUTION a missing one is added first (-2 when that failed). The target's scope then
 * sees the new column list (it was reallocated). */
static int target_col_of(merge_t *m, int k)
{
    int c = emu_table_col(&m->t, m->scols[k].name);

    if (c >= 0 || !m->evolve) {
        return c;
    }
    if (emu_table_add_column(m->cx, &m->t, m->scols[k].name, m->scols[k].type, 1, NULL) != 0) {
        return -2;
    }
    m->x.scopes[0].cols = m->t.cols;
    m->x.scopes[0].ncols = m->t.ncols;
    return emu_table_col(&m->t, m->scols[k].name);
}

static int update_set(merge_t *m, emu_sbuf_t *sets)
{
    emu_toks_t *tk = m->cx->tk;
    int k, c, n = 0;

    if (emu_tk_accept_op(tk, "*")) {
        for (k = 0; k < m->nscols; k++) {
            if ((c = target_col_of(m, k)) == -2) {
                return -1;
            }
            if (c >= 0) {
                emu_sb_addf(sets, "%sc%d = emu_src.c%d", n++ > 0 ? ", " : "", c, k);
            }
        }
        return 0;
    }
    do {
        const emu_token_t *a = emu_tk_peek(tk);
        if (a->kind == TK_IDENT && emu_tk_at(tk, 1)->kind == TK_OP &&
            strcmp(emu_tk_at(tk, 1)->val, ".") == 0) {
            tk->i += 2; /* x.col = ... */
            a = emu_tk_peek(tk);
        }
        if ((a->kind != TK_IDENT && a->kind != TK_QIDENT) || (c = target_col(m, a->val)) < 0) {
            return m->cx->res->message[0] != '\0' ? -1 : emu_syntax(m->cx);
        }
        tk->i++;
        if (!emu_tk_accept_op(tk, "=")) {
            return emu_syntax(m->cx);
        }
        emu_sb_addf(sets, "%sc%d = ", n++ > 0 ? ", " : "", c);
        if (value_for(m, c, emu_xl_find(tk, k_when, ","), sets) != 0) {
            return -1;
        }
    } while (emu_tk_accept_op(tk, ","));
    return 0;
}

/* Placeholders are numbered (?N), so pieces translated in any order share one bind list. */
static int when_matched(merge_t *m)
{
    emu_sbuf_t cond = {0}, sql = {0};
    int rc = -1;

    json_array_clear(m->x.binds);
    if (clause_cond(m, &cond) != 0) {
        goto out;
    }
    if (emu_tk_accept_kw(m->cx->tk, "DELETE")) {
        emu_sb_addf(&sql, "DELETE FROM %s WHERE EXISTS (SELECT 1 FROM emu_src WHERE ", m->t.data);
        if (on_cond(m, &sql) != 0) {
            goto out;
        }
        emu_sb_add(&sql, cond.p != NULL ? cond.p : "");
        emu_sb_add(&sql, ")");
        rc = run(m, &sql, &m->deleted);
        goto out;
    }
    if (!emu_tk_accept_kw(m->cx->tk, "UPDATE") || !emu_tk_accept_kw(m->cx->tk, "SET")) {
        emu_syntax(m->cx);
        goto out;
    }
    emu_sb_addf(&sql, "UPDATE %s SET ", m->t.data);
    if (update_set(m, &sql) != 0) {
        goto out;
    }
    emu_sb_add(&sql, " FROM emu_src WHERE ");
    if (on_cond(m, &sql) != 0) {
        goto out;
    }
    emu_sb_add(&sql, cond.p != NULL ? cond.p : "");
    rc = run(m, &sql, &m->updated);
out:
    emu_sb_free(&cond);
    emu_sb_free(&sql);
    return rc;
}

static int insert_cols(merge_t *m, emu_sbuf_t *cols, emu_sbuf_t *vals)
{
    emu_toks_t *tk = m->cx->tk;
    int k, c, n = 0, idx[EMU_MAX_COLUMNS];

    if (emu_tk_accept_op(tk, "*")) {
        for (k = 0; k < m->nscols; k++) {
            if ((c = target_col_of(m, k)) == -2) {
                return -1;
            }
            if (c >= 0) {
                emu_sb_addf(cols, "%sc%d", n > 0 ? ", " : "", c);
                emu_sb_addf(vals, "%semu_src.c%d", n++ > 0 ? ", " : "", k);
            }
        }
        return 0;
    }
    if (!emu_tk_accept_op(tk, "(")) {
        return emu_syntax(m->cx);
    }
    do {
        const emu_token_t *a = emu_tk_peek(tk);
        if ((a->kind != TK_IDENT && a->kind != TK_QIDENT) || (c = target_col(m, a->val)) < 0) {
            return m->cx->res->message[0] != '\0' ? -1 : emu_syntax(m->cx);
        }
        if (n >= EMU_MAX_COLUMNS) {
            return emu_syntax(m->cx);
        }
        emu_sb_addf(cols, "%sc%d", n > 0 ? ", " : "", c);
        idx[n++] = c;
        tk->i++;
    } while (emu_tk_accept_op(tk, ","));
    if (!emu_tk_accept_op(tk, ")") || !emu_tk_accept_kw(tk, "VALUES") ||
        !emu_tk_accept_op(tk, "(")) {
        return emu_syntax(m->cx);
    }
    for (k = 0; k < n; k++) {
        if (k > 0 && !emu_tk_accept_op(tk, ",")) {
            return emu_syntax(m->cx);
        }
        if (k > 0) {
            emu_sb_add(vals, ", ");
        }
        if (value_for(m, idx[k], emu_xl_find(tk, NULL, ","), vals) != 0) {
            return -1;
        }
    }
    return emu_tk_accept_op(tk, ")") ? 0 : emu_syntax(m->cx);
}

static int when_not_matched(merge_t *m)
{
    emu_sbuf_t cond = {0}, cols = {0}, vals = {0}, sql = {0};
    int rc = -1;

    json_array_clear(m->x.binds);
    if (clause_cond(m, &cond) != 0) {
        goto out;
    }
    if (!emu_tk_accept_kw(m->cx->tk, "INSERT") || insert_cols(m, &cols, &vals) != 0) {
        if (m->cx->res->message[0] == '\0') {
            emu_syntax(m->cx);
        }
        goto out;
    }
    emu_sb_addf(&sql,
                "INSERT INTO %s(%s) SELECT %s FROM emu_src WHERE NOT EXISTS (SELECT 1 FROM "
                "%s WHERE ",
                m->t.data, cols.p != NULL ? cols.p : "", vals.p != NULL ? vals.p : "", m->t.data);
    if (on_cond(m, &sql) != 0) {
        goto out;
    }
    emu_sb_add(&sql, ")");
    emu_sb_add(&sql, cond.p != NULL ? cond.p : "");
    rc = run(m, &sql, &m->inserted);
out:
    emu_sb_free(&cond);
    emu_sb_free(&cols);
    emu_sb_free(&vals);
    emu_sb_free(&sql);
    return rc;
}

/* 1 when a target row matched by several source rows is an error: Delta checks it when the
 * MERGE has a WHEN MATCHED clause, unless that is one unconditional DELETE (every match
 * deletes the same row); an insert-only MERGE never checks. */
static int needs_unique_check(const merge_t *m)
{
    const emu_toks_t *tk = m->cx->tk;
    size_t i;
    int nmatched = 0, uncond_delete = 0;

    for (i = m->on_end; i + 1 < tk->n; i++) {
        const emu_token_t *a = &tk->v[i], *b = &tk->v[i + 1];
        if (a->kind == TK_IDENT && strcmp(a->val, "when") == 0 && b->kind == TK_IDENT &&
            strcmp(b->val, "matched") == 0) {
            nmatched++;
            uncond_delete = i + 3 < tk->n && strcmp(tk->v[i + 2].val, "then") == 0 &&
                            strcmp(tk->v[i + 3].val, "delete") == 0;
        }
    }
    return nmatched > 0 && !(nmatched == 1 && uncond_delete);
}

/* A target row matched by several source rows is ambiguous, as in Databricks. */
static int check_unique_match(merge_t *m)
{
    emu_sbuf_t sql = {0};
    sqlite3_stmt *st = NULL;
    int rc = -1;

    if (!needs_unique_check(m)) {
        return 0;
    }
    json_array_clear(m->x.binds);
    emu_sb_addf(&sql, "SELECT count(*) FROM emu_src JOIN %s ON ", m->t.data);
    if (on_cond(m, &sql) != 0) {
        goto out;
    }
    emu_sb_addf(&sql, " GROUP BY %s.rowid HAVING count(*) > 1", m->t.data);
    if (sql.oom || sqlite3_prepare_v2(m->cx->eng->db, sql.p, -1, &st, NULL) != SQLITE_OK) {
        emu_fail(m->cx, "42000", "[INVALID_QUERY] The emulator cannot run this MERGE: %s",
                 sqlite3_errmsg(m->cx->eng->db));
        goto out;
    }
    emu_xl_bind(&m->x, st);
    if (sqlite3_step(st) == SQLITE_ROW) {
        emu_fail(m->cx, "21506",
                 "[DELTA_MULTIPLE_SOURCE_ROW_MATCHING_TARGET_ROW_IN_MERGE] Cannot "
                 "perform Merge as multiple source rows matched and attempted to "
                 "modify the same target row in the Delta table.");
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    emu_sb_free(&sql);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Statement                                                                */
/* ------------------------------------------------------------------------ */

/* 1 when token a is an identifier (bare or quoted) equal to name (case ignored). */
static int ident_is(const emu_token_t *a, const char *name)
{
    return (a->kind == TK_IDENT || a->kind == TK_QIDENT) && strcasecmp(a->val, name) == 0;
}

static int op_is(const emu_token_t *a, const char *op)
{
    return a->kind == TK_OP && strcmp(a->val, op) == 0;
}

/* Indexes the target columns the ON condition equates with a source column
 * (`x.col = s.col`, either way round), once per column of the data table: the
 * clauses' NOT EXISTS / UPDATE ... FROM probes then find their row by index
 * instead of scanning the table for every source row (a MERGE of n rows into
 * a table of m rows cost n * m). Emulator-internal; invisible to SQL. */
static int index_keys(merge_t *m)
{
    const emu_toks_t *tk = m->cx->tk;
    int rc = 0;

    for (size_t i = m->on_start; rc == 0 && i + 6 < m->on_end && i + 6 < tk->n; i++) {
        const emu_token_t *t = &tk->v[i];
        int c = -1;

        if (!op_is(&t[1], ".") || !op_is(&t[3], "=") || !op_is(&t[5], "."))
            continue;
        if (ident_is(&t[0], m->talias) && ident_is(&t[4], m->salias))
            c = emu_table_col(&m->t, t[2].val);
        else if (ident_is(&t[4], m->talias) && ident_is(&t[0], m->salias))
            c = emu_table_col(&m->t, t[6].val);
        if (c >= 0) {
            char sql[200];

            snprintf(sql, sizeof(sql), "CREATE INDEX IF NOT EXISTS %s_k%d ON %s(c%d)", m->t.data, c,
                     m->t.data, c);
            rc = emu_exec(m->cx, sql);
        }
    }
    return rc;
}

static int parse_head(merge_t *m, size_t *rows_start)
{
    emu_ctx_t *cx = m->cx;
    const emu_token_t *a;

    cx->tk->i++; /* MERGE */
    if (emu_tk_accept_kw(cx->tk, "WITH")) {
        if (!emu_tk_accept_kw(cx->tk, "SCHEMA") || !emu_tk_accept_kw(cx->tk, "EVOLUTION")) {
            return emu_syntax(cx);
        }
        m->evolve = 1;
    }
    if (!emu_tk_accept_kw(cx->tk, "INTO") || emu_parse_object(cx, &m->t.name) != 0) {
        return cx->res->message[0] != '\0' ? -1 : emu_syntax(cx);
    }
    snprintf(m->talias, sizeof(m->talias), "%s", m->t.name.o);
    emu_tk_accept_kw(cx->tk, "AS");
    a = emu_tk_peek(cx->tk);
    if ((a->kind == TK_IDENT || a->kind == TK_QIDENT) && strcmp(a->val, "using") != 0) {
        snprintf(m->talias, sizeof(m->talias), "%s", a->val);
        cx->tk->i++;
    }
    if (!emu_tk_accept_kw(cx->tk, "USING")) {
        return emu_syntax(cx);
    }
    if (emu_table_require_table(cx, &m->t.name, &m->t, "MERGE INTO") != 0 ||
        emu_require(cx, "MODIFY", EMU_ON_TABLE, &m->t.name) != 0 ||
        emu_require(cx, "SELECT", EMU_ON_TABLE, &m->t.name) != 0) {
        return -1;
    }
    if (m->t.ncols == 0) {
        return emu_dml_schema_not_set(cx, &m->t);
    }
    if (emu_tk_is_op(cx->tk, "(") && emu_tk_at(cx->tk, 1)->kind == TK_IDENT &&
        strcmp(emu_tk_at(cx->tk, 1)->val, "select") == 0) {
        if (skip_select(m) != 0 || source_columns(m) != 0) {
            return -1;
        }
    } else if (emu_tk_peek(cx->tk)->kind == TK_IDENT || emu_tk_peek(cx->tk)->kind == TK_QIDENT) {
        m->sel = 2;
        if (emu_parse_object(cx, &m->src) != 0) {
            return -1;
        }
        snprintf(m->salias, sizeof(m->salias), "%s", m->src.o);
        if (source_columns(m) != 0) {
            return -1;
        }
    } else if (skip_rows(cx, rows_start) != 0 || source_columns(m) != 0) {
        return -1;
    }
    if (!emu_tk_accept_kw(cx->tk, "ON")) {
        return emu_syntax(cx);
    }
    m->on_start = cx->tk->i;
    m->on_end = emu_xl_find(cx->tk, k_when, NULL);
    cx->tk->i = m->on_end;
    return 0;
}

static int clauses(merge_t *m)
{
    emu_toks_t *tk = m->cx->tk;

    while (emu_tk_accept_kw(tk, "WHEN")) {
        int not = emu_tk_accept_kw(tk, "NOT");
        if (!emu_tk_accept_kw(tk, "MATCHED")) {
            return emu_syntax(m->cx);
        }
        if (not &&emu_tk_accept_kw(tk, "BY")) {
            if (!emu_tk_accept_kw(tk, "TARGET")) {
                return emu_fail(m->cx, "0A000",
                                "[UNSUPPORTED_FEATURE] WHEN NOT MATCHED BY SOURCE "
                                "is not emulated.");
            }
        }
        if ((not ? when_not_matched(m) : when_matched(m)) != 0) {
            return -1;
        }
    }
    return emu_tk_at_end(tk) ? 0 : emu_syntax(m->cx);
}

int emu_sql_merge(emu_ctx_t *cx)
{
    static const char *const names[] = {"num_affected_rows", "num_updated_rows", "num_deleted_rows",
                                        "num_inserted_rows"};
    static const char *const types[] = {"BIGINT", "BIGINT", "BIGINT", "BIGINT"};
    merge_t *m = calloc(1, sizeof(*m));
    char v[4][32];
    const char *vals[4] = {v[0], v[1], v[2], v[3]};
    size_t rows_start = 0;
    int rc = -1;

    if (m == NULL) {
        return oom(cx);
    }
    m->cx = cx;
    m->x.cx = cx;
    m->x.binds = json_array();
    if (parse_head(m, &rows_start) != 0 ||
        (m->sel ? load_select(m) : load_rows(m, rows_start)) != 0) {
        goto out;
    }
    m->x.scopes[0] = (emu_scope_t){m->talias, m->t.name.o, m->t.data, "c", m->t.cols, m->t.ncols};
    m->x.scopes[1] = (emu_scope_t){m->salias, m->salias, "emu_src", "c", m->scols, m->nscols};
    m->x.nscopes = 2;
    if (index_keys(m) != 0 || check_unique_match(m) != 0 || clauses(m) != 0 ||
        emu_exec(cx, "DROP TABLE temp.emu_src") != 0 ||
        (m->updated + m->inserted + m->deleted > 0 && emu_table_touch(cx, m->t.id, 1, 0) != 0)) {
        goto out;
    }
    snprintf(v[0], sizeof(v[0]), "%lld", m->updated + m->deleted + m->inserted);
    snprintf(v[1], sizeof(v[1]), "%lld", m->updated);
    snprintf(v[2], sizeof(v[2]), "%lld", m->deleted);
    snprintf(v[3], sizeof(v[3]), "%lld", m->inserted);
    rc = emu_result_simple(cx, 4, names, types, vals);
out:
    json_decref(m->x.binds);
    emu_table_free(&m->t);
    free(m->scols);
    free(m);
    return rc;
}
