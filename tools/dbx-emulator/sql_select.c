/*
 * sql_select: SELECT [DISTINCT] items [FROM relation [[AS] alias]] [WHERE ...] [GROUP BY ...]
 * [HAVING ...] [QUALIFY ...] [ORDER BY ...] [LIMIT n [OFFSET m]], translated to SQLite
 * through sql_expr and returned in the Statement Execution API's shape: columns with
 * name/type_name/type_text/position and rows of strings or null.
 *
 * A relation is a table, a view (its stored query translated again, in the catalog and schema
 * it was created in), a subquery "(SELECT ...) [AS] alias", inline(from_json(...)) or
 * read_files(...). Each becomes SQLite text named by an engine-made alias (r<k>) whose
 * columns are c<n> (tables, temporary tables) or o<n> (subqueries, views). A query's own
 * outputs are o0, o1, ...; QUALIFY wraps the query:
 *   SELECT o0.. FROM (SELECT items AS o0.., <qualify> AS emu_q FROM ...) WHERE emu_q ...
 */
#define _POSIX_C_SOURCE 200809L
#include "sql_expr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_ITEMS      1024
#define MAX_VIEW_DEPTH 16

/* A relation of a FROM clause. Owns cols and from. */
typedef struct rel {
    char alias[EMU_NAME_MAX];
    char tname[EMU_NAME_MAX];
    char sqlname[16];
    const char *cprefix;
    emu_col_t *cols;
    int ncols;
    emu_sbuf_t from;
} rel_t;

typedef struct sel {
    emu_ctx_t *cx;
    emu_xl_t x;
    rel_t rel;
    int has_rel;
    emu_query_t *q; /* the output: q->items grow with the arrays below */
    emu_xtype_t *types;
    char **sqls;          /* each item's SQL text (QUALIFY inlines aliases) */
    const char **aliases; /* each item's name */
    int nitems, cap;
    size_t end;
} sel_t;

static const char *const k_clause_kws[] = {"from",    "where", "group", "having",
                                           "qualify", "order", "limit", NULL};

static int oom(emu_ctx_t *cx)
{
    return emu_fail_code(cx, "INTERNAL_ERROR", "XX000", "[INTERNAL_ERROR] out of memory.");
}

static void rel_free(rel_t *r)
{
    free(r->cols);
    emu_sb_free(&r->from);
    memset(r, 0, sizeof(*r));
}

static int rel_add_col(emu_ctx_t *cx, rel_t *r, const char *name, const char *type)
{
    emu_col_t *nv = realloc(r->cols, (size_t)(r->ncols + 1) * sizeof(*nv));

    if (nv == NULL) {
        return oom(cx);
    }
    r->cols = nv;
    emu_col_set(&r->cols[r->ncols], name, type, 1);
    if (type[0] == '\0') {
        r->cols[r->ncols].kind = EMU_T_NULL; /* decided by the values */
    }
    r->ncols++;
    return 0;
}

void emu_query_free(emu_query_t *q)
{
    emu_sb_free(&q->sql);
    free(q->items);
    memset(q, 0, sizeof(*q));
}

/* ------------------------------------------------------------------------ */
/* Relations                                                                */
/* ------------------------------------------------------------------------ */

static int is_clause_word(const char *w)
{
    static const char *const words[] = {
        "where",   "group",   "having",     "qualify", "order",   "limit",       "join",  "inner",
        "left",    "right",   "full",       "cross",   "natural", "on",          "using", "when",
        "union",   "except",  "intersect",  "window",  "lateral", "anti",        "semi",  "pivot",
        "unpivot", "cluster", "distribute", "sort",    "offset",  "tablesample", NULL};
    int k;

    for (k = 0; words[k] != NULL; k++) {
        if (strcmp(w, words[k]) == 0) {
            return 1;
        }
    }
    return 0;
}

/* A relation from a loaded table description (table, temporary table). */
static int rel_from_table(emu_ctx_t *cx, rel_t *r, const emu_table_t *t)
{
    int k;

    for (k = 0; k < t->ncols; k++) {
        if (rel_add_col(cx, r, t->cols[k].name, t->cols[k].type) != 0) {
            return -1;
        }
    }
    r->cprefix = "c";
    emu_sb_add(&r->from, t->data);
    return r->from.oom ? oom(cx) : 0;
}

/* A relation from a translated query (subquery, view); names (may be NULL) rename its columns. */
static int rel_from_query(emu_ctx_t *cx, rel_t *r, emu_query_t *q)
{
    int k;

    for (k = 0; k < q->nitems; k++) {
        if (rel_add_col(cx, r, q->items[k].name, q->items[k].type) != 0) {
            return -1;
        }
    }
    r->cprefix = "o";
    emu_sb_addf(&r->from, "(%s)", q->sql.p != NULL ? q->sql.p : "");
    return r->from.oom ? oom(cx) : 0;
}

/* The view's stored columns over its translated query: by position when the view named its
 * columns, else by name (a column the query no longer returns fails). */
static int view_columns(emu_ctx_t *cx, const emu_table_t *v, emu_query_t *q, rel_t *r)
{
    emu_sbuf_t proj = {0};
    int k, j, ok = 1;

    if (v->view_named && q->nitems != v->ncols) {
        ok = 0;
    }
    emu_sb_add(&proj, "SELECT ");
    for (k = 0; ok && k < v->ncols; k++) {
        j = k;
        if (!v->view_named) {
            for (j = 0; j < q->nitems && strcasecmp(q->items[j].name, v->cols[k].name) != 0; j++) {
            }
            if (j == q->nitems) {
                ok = 0;
                break;
            }
        }
        emu_sb_addf(&proj, "%so%d AS o%d", k > 0 ? ", " : "", j, k);
        if (rel_add_col(cx, r, v->cols[k].name, q->items[j].type) != 0) {
            emu_sb_free(&proj);
            return -1;
        }
    }
    if (!ok) {
        emu_sb_free(&proj);
        return emu_fail(cx, "51024",
                        "[INCOMPATIBLE_VIEW_SCHEMA_CHANGE] The SQL query of view `%s`.`%s`.`%s` "
                        "has an incompatible schema change: it no longer returns the view's %d "
                        "column(s). Re-create the view with CREATE OR REPLACE VIEW.",
                        v->name.c, v->name.s, v->name.o, v->ncols);
    }
    r->cprefix = "o";
    emu_sb_addf(&r->from, "(%s FROM (%s))", proj.p, q->sql.p != NULL ? q->sql.p : "");
    emu_sb_free(&proj);
    return r->from.oom ? oom(cx) : 0;
}

/* Translates view v's stored query (in the catalog and schema it was created in) into r. */
static int rel_from_view(emu_ctx_t *cx, rel_t *r, const emu_table_t *v, json_t *binds)
{
    emu_toks_t tk, *saved_tk = cx->tk;
    char saved_c[EMU_NAME_MAX], saved_s[EMU_NAME_MAX];
    emu_query_t q;
    size_t errpos = 0;
    int rc = -1;

    if (cx->defining != NULL && strcmp(cx->defining->c, v->name.c) == 0 &&
        strcmp(cx->defining->s, v->name.s) == 0 && strcmp(cx->defining->o, v->name.o) == 0) {
        return emu_fail(cx, "42K0H",
                        "[RECURSIVE_VIEW] Recursive view `%s`.`%s`.`%s` detected "
                        "(it reads itself).",
                        v->name.c, v->name.s, v->name.o);
    }
    if (cx->depth > MAX_VIEW_DEPTH) {
        return emu_fail(cx, "42K0H",
                        "[RECURSIVE_VIEW] Views nest deeper than %d levels at "
                        "`%s`.`%s`.`%s`.",
                        MAX_VIEW_DEPTH, v->name.c, v->name.s, v->name.o);
    }
    memset(&tk, 0, sizeof(tk));
    memset(&q, 0, sizeof(q));
    if (emu_lex(v->view_text, &tk, &errpos) != 0) {
        return emu_fail_code(cx, "INTERNAL_ERROR", "XX000",
                             "[INTERNAL_ERROR] The stored query "
                             "of view `%s` does not parse.",
                             v->name.o);
    }
    memcpy(saved_c, cx->catalog, sizeof(saved_c));
    memcpy(saved_s, cx->schema, sizeof(saved_s));
    snprintf(cx->catalog, sizeof(cx->catalog), "%s", v->view_c);
    snprintf(cx->schema, sizeof(cx->schema), "%s", v->view_s);
    cx->tk = &tk;
    cx->depth++;
    rc = emu_query_translate(cx, NULL, tk.n - 1, binds, &q);
    cx->depth--;
    cx->tk = saved_tk;
    memcpy(cx->catalog, saved_c, sizeof(saved_c));
    memcpy(cx->schema, saved_s, sizeof(saved_s));
    if (rc == 0) {
        rc = view_columns(cx, v, &q, r);
    }
    emu_query_free(&q);
    emu_lex_free(&tk);
    return rc;
}

/* A table or view name at the cursor. */
static int rel_named(emu_ctx_t *cx, rel_t *r, json_t *binds)
{
    emu_table_t t;
    int rc = -1;

    memset(&t, 0, sizeof(t));
    if (emu_parse_object(cx, &t.name) != 0 || emu_table_require(cx, &t.name, &t) != 0) {
        return -1;
    }
    snprintf(r->tname, sizeof(r->tname), "%s", t.name.o);
    if (t.is_view) {
        /* the emulator's simplification: reading a view needs USE on its schema and SELECT on
         * the tables it reads (checked for this principal), not SELECT on the view */
        if (emu_require(cx, NULL, EMU_ON_TABLE, &t.name) == 0) {
            rc = rel_from_view(cx, r, &t, binds);
        }
    } else if (emu_require(cx, "SELECT", EMU_ON_TABLE, &t.name) == 0) {
        rc = rel_from_table(cx, r, &t);
    }
    emu_table_free(&t);
    return rc;
}

/* Parses the relation at the cursor (and its alias) into r. */
static int parse_rel(emu_ctx_t *cx, rel_t *r, size_t end, json_t *binds)
{
    emu_toks_t *tk = cx->tk;
    const emu_token_t *a = emu_tk_peek(tk), *n1 = emu_tk_at(tk, 1);
    emu_table_t t;
    emu_query_t q;
    size_t close;
    int rc;

    memset(&t, 0, sizeof(t));
    memset(&q, 0, sizeof(q));
    snprintf(r->sqlname, sizeof(r->sqlname), "r%d", ++cx->nrel);
    if (emu_tk_is_op(tk, "(")) {
        if (n1->kind != TK_IDENT || strcmp(n1->val, "select") != 0) {
            return emu_fail(cx, "0A000",
                            "[UNSUPPORTED_FEATURE] The emulator reads FROM a table, "
                            "a view, (SELECT ...), inline(from_json(...)) or "
                            "read_files(...).");
        }
        close = emu_xl_close(tk, tk->i);
        if (close >= end) {
            return emu_syntax(cx);
        }
        tk->i++;
        cx->depth++;
        rc = emu_query_translate(cx, NULL, close, binds, &q);
        cx->depth--;
        if (rc == 0) {
            rc = rel_from_query(cx, r, &q);
        }
        emu_query_free(&q);
        if (rc != 0) {
            return -1;
        }
        tk->i = close + 1;
        snprintf(r->tname, sizeof(r->tname), "__auto_generated_subquery_name");
    } else if (a->kind == TK_IDENT && n1->kind == TK_OP && strcmp(n1->val, "(") == 0 &&
               (strcmp(a->val, "inline") == 0 || strcmp(a->val, "read_files") == 0)) {
        rc = a->val[0] == 'i' ? emu_inline_load(cx, &t) : emu_read_files_load(cx, &t);
        if (rc == 0) {
            rc = rel_from_table(cx, r, &t);
        }
        snprintf(r->tname, sizeof(r->tname), "%s", t.name.o);
        emu_table_free(&t);
        if (rc != 0) {
            return -1;
        }
    } else if (a->kind == TK_IDENT && n1->kind == TK_OP && strcmp(n1->val, "(") == 0) {
        return emu_fail(cx, "42883",
                        "[UNRESOLVED_ROUTINE] Cannot resolve table-valued function "
                        "`%.100s` (not emulated).",
                        a->val);
    } else if (rel_named(cx, r, binds) != 0) {
        return -1;
    }
    snprintf(r->alias, sizeof(r->alias), "%s", r->tname);
    emu_tk_accept_kw(tk, "AS");
    a = emu_tk_peek(tk);
    if (tk->i < end && (a->kind == TK_QIDENT || (a->kind == TK_IDENT && !is_clause_word(a->val)))) {
        snprintf(r->alias, sizeof(r->alias), "%s", a->val);
        tk->i++;
    }
    if (tk->i < end &&
        (emu_tk_is_op(tk, ",") || emu_tk_is_kw(tk, "JOIN") || emu_tk_is_kw(tk, "INNER") ||
         emu_tk_is_kw(tk, "LEFT") || emu_tk_is_kw(tk, "RIGHT") || emu_tk_is_kw(tk, "FULL") ||
         emu_tk_is_kw(tk, "CROSS") || emu_tk_is_kw(tk, "NATURAL"))) {
        return emu_fail(cx, "0A000",
                        "[UNSUPPORTED_FEATURE] Joins are not emulated (use a "
                        "subquery: IN (SELECT ...) or EXISTS (SELECT ...)).");
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Items                                                                    */
/* ------------------------------------------------------------------------ */

static void name_of(const emu_toks_t *tk, size_t a, size_t b, char *out, size_t outlen)
{
    size_t i, n = 0;
    int prev_word = 0;

    out[0] = '\0';
    if (b - a == 4 && strcmp(tk->v[a].val, "count") == 0 && strcmp(tk->v[a + 2].val, "*") == 0) {
        snprintf(out, outlen, "count(1)");
        return;
    }
    for (i = a; i < b && n + 1 < outlen; i++) {
        const emu_token_t *t = &tk->v[i];
        int word = t->kind == TK_IDENT || t->kind == TK_QIDENT || t->kind == TK_NUMBER;
        const char *txt = t->kind == TK_IDENT && i + 1 < b && strcmp(tk->v[i + 1].val, "(") == 0
                              ? t->val
                              : t->raw;
        n += (size_t)snprintf(out + n, outlen - n, "%s%s", word && prev_word ? " " : "", txt);
        prev_word = word;
        if (t->kind == TK_OP && strcmp(t->val, ",") == 0 && n + 1 < outlen) {
            out[n++] = ' '; /* Spark names f(a, b) with a space after each comma */
            out[n] = '\0';
        }
    }
}

/* Makes room for one more item. */
static int grow(sel_t *s)
{
    int cap = s->cap == 0 ? 16 : s->cap * 2, k;
    emu_item_t *items;
    emu_xtype_t *types;
    char **sqls;
    const char **aliases;

    if (s->nitems < s->cap) {
        return 0;
    }
    if (s->nitems >= MAX_ITEMS) {
        return emu_fail(s->cx, "54011", "[TOO_MANY_ITEMS] At most %d select items.", MAX_ITEMS);
    }
    items = realloc(s->q->items, (size_t)cap * sizeof(*items));
    if (items != NULL) {
        s->q->items = items;
    }
    types = realloc(s->types, (size_t)cap * sizeof(*types));
    if (types != NULL) {
        s->types = types;
    }
    sqls = realloc(s->sqls, (size_t)cap * sizeof(*sqls));
    if (sqls != NULL) {
        s->sqls = sqls;
    }
    aliases = realloc(s->aliases, (size_t)cap * sizeof(*aliases));
    if (aliases != NULL) {
        s->aliases = aliases;
    }
    if (items == NULL || types == NULL || sqls == NULL || aliases == NULL) {
        return oom(s->cx);
    }
    for (k = s->nitems; k < cap; k++) {
        s->sqls[k] = NULL;
    }
    s->cap = cap;
    /* the aliases point into the items, which may have moved */
    for (k = 0; k < s->nitems; k++) {
        s->aliases[k] = s->q->items[k].name;
    }
    return 0;
}

static int add_item(sel_t *s, const char *name, const emu_xtype_t *type, const char *sql)
{
    emu_item_t *it;
    int k = s->nitems;

    if (grow(s) != 0) {
        return -1;
    }
    it = &s->q->items[k];
    snprintf(it->name, sizeof(it->name), "%s", name);
    snprintf(it->type, sizeof(it->type), "%s", type->known ? type->text : "");
    s->types[k] = *type;
    s->sqls[k] = strdup(sql);
    if (s->sqls[k] == NULL) {
        return oom(s->cx);
    }
    s->aliases[k] = it->name;
    s->nitems++;
    s->q->nitems = s->nitems;
    return 0;
}

/* *, rel.*, * EXCEPT (a, b) */
static int star(sel_t *s, size_t end)
{
    emu_toks_t *tk = s->cx->tk;
    const char *except[64];
    int nexcept = 0, c, k, skip;
    char sql[64];
    emu_xtype_t t;

    if (!s->has_rel) {
        return emu_fail(s->cx, "42000",
                        "[INVALID_USAGE_OF_STAR_OR_REGEX] Invalid usage of '*' "
                        "without FROM.");
    }
    if (emu_tk_is_kw(tk, "EXCEPT") || emu_tk_is_kw(tk, "EXCLUDE")) {
        tk->i++;
        if (!emu_tk_accept_op(tk, "(")) {
            return emu_syntax(s->cx);
        }
        do {
            const emu_token_t *n = emu_tk_peek(tk);
            if ((n->kind != TK_IDENT && n->kind != TK_QIDENT) || nexcept >= 64) {
                return emu_syntax(s->cx);
            }
            for (c = 0; c < s->rel.ncols && strcasecmp(s->rel.cols[c].name, n->val) != 0; c++) {
            }
            if (c == s->rel.ncols) {
                return emu_fail(s->cx, "42703",
                                "[UNRESOLVED_COLUMN.WITHOUT_SUGGESTION] A column "
                                "with name `%.100s` cannot be resolved (in * "
                                "EXCEPT).",
                                n->val);
            }
            except[nexcept++] = n->val;
            tk->i++;
        } while (emu_tk_accept_op(tk, ","));
        if (!emu_tk_accept_op(tk, ")")) {
            return emu_syntax(s->cx);
        }
    }
    if (tk->i != end) {
        return emu_syntax(s->cx);
    }
    for (c = 0; c < s->rel.ncols; c++) {
        for (skip = 0, k = 0; k < nexcept; k++) {
            skip |= strcasecmp(s->rel.cols[c].name, except[k]) == 0;
        }
        if (skip) {
            continue;
        }
        snprintf(sql, sizeof(sql), "%s.%s%d", s->rel.sqlname, s->rel.cprefix, c);
        emu_xtype_from_text(s->cx, &t,
                            s->rel.cols[c].kind == EMU_T_NULL ? "" : s->rel.cols[c].type);
        if (add_item(s, s->rel.cols[c].name, &t, sql) != 0) {
            return -1;
        }
    }
    return 0;
}

static int one_item(sel_t *s, size_t end)
{
    emu_toks_t *tk = s->cx->tk;
    size_t a = tk->i, expr_end;
    const emu_token_t *t = emu_tk_peek(tk);
    char name[256];
    const char *colname = NULL;
    emu_sbuf_t sql = {0};
    emu_xtype_t type;
    int rc;

    if (t->kind == TK_OP && strcmp(t->val, "*") == 0) {
        tk->i++;
        return star(s, end);
    }
    if ((t->kind == TK_IDENT || t->kind == TK_QIDENT) && a + 2 < end &&
        emu_tk_at(tk, 1)->kind == TK_OP && strcmp(emu_tk_at(tk, 1)->val, ".") == 0 &&
        emu_tk_at(tk, 2)->kind == TK_OP && strcmp(emu_tk_at(tk, 2)->val, "*") == 0) {
        if (!s->has_rel ||
            (strcmp(t->val, s->rel.alias) != 0 && strcmp(t->val, s->rel.tname) != 0)) {
            return emu_fail(s->cx, "42704",
                            "[CANNOT_RESOLVE_STAR_EXPAND] Cannot resolve %.100s.* "
                            "given the input columns.",
                            t->raw);
        }
        tk->i += 3;
        return star(s, end);
    }
    if (emu_xl_parse(&s->x, end, &sql, &type, &colname) != 0) {
        emu_sb_free(&sql);
        return -1;
    }
    expr_end = tk->i;
    name[0] = '\0';
    if (tk->i < end) {
        const emu_token_t *al;
        emu_tk_accept_kw(tk, "AS");
        al = emu_tk_peek(tk);
        if (tk->i + 1 != end || (al->kind != TK_IDENT && al->kind != TK_QIDENT)) {
            emu_sb_free(&sql);
            return emu_syntax(s->cx);
        }
        snprintf(name, sizeof(name), "%s", al->kind == TK_QIDENT ? al->val : al->raw);
        tk->i++;
    }
    if (name[0] == '\0') {
        if (colname != NULL) {
            snprintf(name, sizeof(name), "%s", colname);
        } else {
            name_of(tk, a, expr_end, name, sizeof(name));
        }
    }
    rc = add_item(s, name, &type, sql.p != NULL ? sql.p : "NULL");
    emu_sb_free(&sql);
    return rc;
}

static int items(sel_t *s, size_t items_end)
{
    emu_toks_t *tk = s->cx->tk;

    for (;;) {
        size_t end = emu_xl_find(tk, NULL, ",");
        if (end > items_end) {
            end = items_end;
        }
        if (end == tk->i) {
            return emu_syntax(s->cx);
        }
        if (one_item(s, end) != 0) {
            return -1;
        }
        if (tk->i >= items_end) {
            return 0;
        }
        tk->i++; /* ',' */
    }
}

/* ------------------------------------------------------------------------ */
/* Clauses                                                                  */
/* ------------------------------------------------------------------------ */

static size_t clause_end(const sel_t *s, const char *const *kws)
{
    size_t i = emu_xl_find(s->cx->tk, kws, ";");

    return i < s->end ? i : s->end;
}

/* A comma-separated list of expressions (GROUP BY, PARTITION BY) up to stop. */
static int expr_list(sel_t *s, size_t stop, emu_sbuf_t *out)
{
    emu_toks_t *tk = s->cx->tk;
    int n = 0;

    do {
        emu_sb_add(out, n++ > 0 ? ", " : "");
        if (emu_xl_parse(&s->x, stop, out, NULL, NULL) != 0) {
            return -1;
        }
    } while (tk->i < stop && emu_tk_accept_op(tk, ","));
    return tk->i == stop ? 0 : emu_syntax(s->cx);
}

/* ORDER BY keys up to stop: decimals order as numbers. */
static int order_keys(sel_t *s, emu_xl_t *x, size_t stop, emu_sbuf_t *out)
{
    emu_toks_t *tk = s->cx->tk;
    emu_sbuf_t key = {0};
    emu_xtype_t t;
    int n = 0;

    do {
        key.len = 0;
        if (key.p != NULL) {
            key.p[0] = '\0';
        }
        if (emu_xl_parse(x, stop, &key, &t, NULL) != 0) {
            emu_sb_free(&key);
            return -1;
        }
        emu_sb_add(out, n++ > 0 ? ", " : "");
        if (t.known && t.kind == EMU_T_DECIMAL) {
            emu_sb_addf(out, "CAST(%s AS REAL)", key.p);
        } else {
            emu_sb_add(out, key.p != NULL ? key.p : "NULL");
        }
        if (emu_tk_accept_kw(tk, "DESC")) {
            emu_sb_add(out, " DESC");
        } else if (emu_tk_accept_kw(tk, "ASC")) {
            emu_sb_add(out, " ASC");
        }
        if (emu_tk_accept_kw(tk, "NULLS")) {
            if (emu_tk_accept_kw(tk, "FIRST")) {
                emu_sb_add(out, " NULLS FIRST");
            } else if (emu_tk_accept_kw(tk, "LAST")) {
                emu_sb_add(out, " NULLS LAST");
            } else {
                emu_sb_free(&key);
                return emu_syntax(s->cx);
            }
        }
    } while (tk->i < stop && emu_tk_accept_op(tk, ","));
    emu_sb_free(&key);
    return tk->i == stop ? 0 : emu_syntax(s->cx);
}

static int limit(sel_t *s, emu_sbuf_t *out)
{
    emu_toks_t *tk = s->cx->tk;
    emu_xl_t x = s->x;

    x.naliases = 0;
    x.windows = 0;
    x.nscopes = 0;
    if (emu_tk_accept_kw(tk, "LIMIT")) {
        if (emu_tk_accept_kw(tk, "ALL")) {
            emu_sb_add(out, " LIMIT -1");
        } else {
            emu_sb_add(out, " LIMIT ");
            if (emu_xl_parse(&x, clause_end(s, (const char *const[]){"offset", NULL}), out, NULL,
                             NULL) != 0) {
                return -1;
            }
        }
        if (emu_tk_accept_kw(tk, "OFFSET")) {
            emu_sb_add(out, " OFFSET ");
            if (emu_xl_parse(&x, s->end, out, NULL, NULL) != 0) {
                return -1;
            }
        }
    }
    while (tk->i < s->end && emu_tk_accept_op(tk, ";")) {
    }
    return tk->i == s->end ? 0 : emu_syntax(s->cx);
}

/* WHERE / GROUP BY / HAVING / QUALIFY / ORDER BY / LIMIT after the FROM clause, into q. */
static int tail(sel_t *s, const char *distinct, emu_query_t *q)
{
    static const char *const after_where[] = {"group", "having", "qualify", "order", "limit", NULL};
    static const char *const after_group[] = {"having", "qualify", "order", "limit", NULL};
    static const char *const after_having[] = {"qualify", "order", "limit", NULL};
    static const char *const after_qualify[] = {"order", "limit", NULL};
    emu_toks_t *tk = s->cx->tk;
    emu_sbuf_t body = {0}, qual = {0}, order = {0};
    emu_xl_t outer;
    int k, rc = -1, nwin;

    /* WHERE sees the relation's columns, not the select list's aliases (as Spark) */
    if (emu_tk_accept_kw(tk, "WHERE")) {
        emu_xl_t w = s->x;
        w.naliases = 0;
        w.windows = 0;
        emu_sb_add(&body, " WHERE ");
        if (emu_xl_expr(&w, clause_end(s, after_where), &body, NULL) != 0) {
            goto out;
        }
    }
    s->x.windows = 0;
    if (emu_tk_accept_kw(tk, "GROUP")) {
        if (!emu_tk_accept_kw(tk, "BY")) {
            emu_syntax(s->cx);
            goto out;
        }
        emu_sb_add(&body, " GROUP BY ");
        if (expr_list(s, clause_end(s, after_group), &body) != 0) {
            goto out;
        }
    }
    if (emu_tk_accept_kw(tk, "HAVING")) {
        emu_sb_add(&body, " HAVING ");
        if (emu_xl_expr(&s->x, clause_end(s, after_having), &body, NULL) != 0) {
            goto out;
        }
    }
    s->x.windows = 1;
    if (emu_tk_accept_kw(tk, "QUALIFY")) {
        /* aliases of the select list stand for their expressions here */
        s->x.alias_sql = (const char *const *)s->sqls;
        nwin = s->x.nwindows;
        if (emu_xl_expr(&s->x, clause_end(s, after_qualify), &qual, NULL) != 0) {
            goto out;
        }
        s->x.alias_sql = NULL;
        if (s->x.nwindows == 0 && nwin == 0) {
            emu_fail(s->cx, "42K0E",
                     "[MISSING_WINDOW_SPECIFICATION] QUALIFY needs a window "
                     "function in the SELECT list or in its condition.");
            goto out;
        }
    }
    outer = s->x;
    if (qual.p != NULL) {
        /* ORDER BY after QUALIFY sees the outputs only (by name: o<k> of the wrapped query) */
        outer.nscopes = 0;
    }
    outer.aliases_first = 1;
    if (emu_tk_accept_kw(tk, "ORDER")) {
        if (!emu_tk_accept_kw(tk, "BY")) {
            emu_syntax(s->cx);
            goto out;
        }
        emu_sb_add(&order, " ORDER BY ");
        if (order_keys(s, &outer, clause_end(s, (const char *const[]){"limit", NULL}), &order) !=
            0) {
            goto out;
        }
    }
    if (qual.p == NULL) {
        emu_sb_addf(&q->sql, "SELECT %s", distinct);
        for (k = 0; k < s->nitems; k++) {
            emu_sb_addf(&q->sql, "%s%s AS o%d", k > 0 ? ", " : "", s->sqls[k], k);
        }
        if (s->has_rel) {
            emu_sb_addf(&q->sql, " FROM %s AS %s", s->rel.from.p, s->rel.sqlname);
        }
        emu_sb_add(&q->sql, body.p != NULL ? body.p : "");
        emu_sb_add(&q->sql, order.p != NULL ? order.p : "");
    } else {
        emu_sb_addf(&q->sql, "SELECT %s", distinct);
        for (k = 0; k < s->nitems; k++) {
            emu_sb_addf(&q->sql, "%so%d", k > 0 ? ", " : "", k);
        }
        emu_sb_add(&q->sql, " FROM (SELECT ");
        for (k = 0; k < s->nitems; k++) {
            emu_sb_addf(&q->sql, "%s AS o%d, ", s->sqls[k], k);
        }
        emu_sb_addf(&q->sql, "(%s) AS emu_q", qual.p);
        if (s->has_rel) {
            emu_sb_addf(&q->sql, " FROM %s AS %s", s->rel.from.p, s->rel.sqlname);
        }
        emu_sb_add(&q->sql, body.p != NULL ? body.p : "");
        emu_sb_add(&q->sql, ") AS emu_qf WHERE emu_q");
        emu_sb_add(&q->sql, order.p != NULL ? order.p : "");
    }
    if (limit(s, &q->sql) != 0) {
        goto out;
    }
    rc = q->sql.oom ? oom(s->cx) : 0;
out:
    emu_sb_free(&body);
    emu_sb_free(&qual);
    emu_sb_free(&order);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Translation                                                              */
/* ------------------------------------------------------------------------ */

static void sel_free(sel_t *s)
{
    int k;

    for (k = 0; k < s->nitems; k++) {
        free(s->sqls[k]);
    }
    free(s->sqls);
    free(s->types);
    free(s->aliases);
    rel_free(&s->rel);
    free(s);
}

int emu_query_translate(emu_ctx_t *cx, const emu_xl_t *parent, size_t end, json_t *binds,
                        emu_query_t *q)
{
    sel_t *s = calloc(1, sizeof(*s));
    emu_toks_t *tk = cx->tk;
    size_t items_start, items_end, after_from;
    const char *distinct = "";
    int rc = -1;

    memset(q, 0, sizeof(*q));
    if (s == NULL) {
        return oom(cx);
    }
    s->cx = cx;
    s->end = end;
    s->q = q;
    s->x.cx = cx;
    s->x.binds = binds;
    s->x.parent = parent;
    s->x.windows = 1;
    if (!emu_tk_accept_kw(tk, "SELECT")) {
        emu_syntax(cx);
        goto out;
    }
    if (emu_tk_accept_kw(tk, "DISTINCT")) {
        distinct = "DISTINCT ";
    } else {
        emu_tk_accept_kw(tk, "ALL");
    }
    items_start = tk->i;
    items_end = emu_xl_find(tk, k_clause_kws, ";");
    if (items_end > end) {
        items_end = end;
    }
    after_from = items_end;
    if (items_end < end && tk->v[items_end].kind == TK_IDENT &&
        strcmp(tk->v[items_end].val, "from") == 0) {
        tk->i = items_end + 1;
        if (parse_rel(cx, &s->rel, end, binds) != 0) {
            goto out;
        }
        s->has_rel = 1;
        s->x.scopes[0].alias = s->rel.alias;
        s->x.scopes[0].tname = s->rel.tname;
        s->x.scopes[0].sqlname = s->rel.sqlname;
        s->x.scopes[0].cprefix = s->rel.cprefix;
        s->x.scopes[0].cols = s->rel.cols;
        s->x.scopes[0].ncols = s->rel.ncols;
        s->x.nscopes = 1;
        after_from = tk->i;
    }
    tk->i = items_start;
    if (items(s, items_end) != 0) {
        goto out;
    }
    s->x.aliases = s->aliases;
    s->x.alias_types = s->types;
    s->x.naliases = s->nitems;
    tk->i = after_from;
    if (tail(s, distinct, q) != 0) {
        goto out;
    }
    rc = 0;
out:
    sel_free(s);
    if (rc != 0) {
        q->nitems = 0;
    }
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Running                                                                  */
/* ------------------------------------------------------------------------ */

static const char *dynamic_type(int sqlite_type)
{
    switch (sqlite_type) {
    case SQLITE_INTEGER:
        return "BIGINT";
    case SQLITE_FLOAT:
        return "DOUBLE";
    case SQLITE_BLOB:
        return "BINARY";
    default:
        return "STRING";
    }
}

int emu_select_run(emu_ctx_t *cx, size_t end, json_t **columns, json_t **rows)
{
    emu_query_t q;
    emu_xl_t x;
    sqlite3_stmt *st = NULL;
    emu_result_t cols;
    json_t *out = NULL;
    emu_kind_t *kinds = NULL;
    int *scales = NULL, k, rc = -1, s;

    *columns = NULL;
    *rows = NULL;
    memset(&x, 0, sizeof(x));
    memset(&cols, 0, sizeof(cols));
    x.cx = cx;
    x.binds = json_array();
    if (x.binds == NULL) {
        return oom(cx);
    }
    if (emu_query_translate(cx, NULL, end, x.binds, &q) != 0) {
        goto out;
    }
    kinds = calloc((size_t)q.nitems + 1, sizeof(*kinds));
    scales = calloc((size_t)q.nitems + 1, sizeof(*scales));
    out = json_array();
    if (kinds == NULL || scales == NULL || out == NULL) {
        oom(cx);
        goto out;
    }
    for (k = 0; k < q.nitems; k++) {
        kinds[k] = q.items[k].type[0] != '\0' ? emu_type_kind(q.items[k].type, NULL, &scales[k])
                                              : EMU_T_NULL;
        if (kinds[k] == EMU_T_DECIMAL) {
            int p = 0;
            emu_type_kind(q.items[k].type, &p, &scales[k]);
        }
    }
    if (sqlite3_prepare_v2(cx->eng->db, q.sql.p, -1, &st, NULL) != SQLITE_OK) {
        emu_fail(cx, "42000", "[INVALID_QUERY] The emulator cannot run this query: %s",
                 sqlite3_errmsg(cx->eng->db));
        goto out;
    }
    emu_xl_bind(&x, st);
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *row = json_array();
        for (k = 0; k < q.nitems; k++) {
            if (q.items[k].type[0] == '\0' && sqlite3_column_type(st, k) != SQLITE_NULL) {
                snprintf(q.items[k].type, sizeof(q.items[k].type), "%s",
                         dynamic_type(sqlite3_column_type(st, k)));
            }
            json_array_append_new(row, emu_format_value(st, k, kinds[k], scales[k]));
        }
        json_array_append_new(out, row);
    }
    if (s != SQLITE_DONE) {
        emu_fail_step(cx, "SELECT");
        goto out;
    }
    for (k = 0; k < q.nitems; k++) {
        emu_result_add_column(&cols, q.items[k].name,
                              q.items[k].type[0] != '\0' ? q.items[k].type : "STRING");
    }
    *columns = cols.columns != NULL ? cols.columns : json_array();
    *rows = out;
    out = NULL;
    rc = 0;
out:
    sqlite3_finalize(st);
    json_decref(out);
    json_decref(x.binds);
    free(kinds);
    free(scales);
    emu_query_free(&q);
    return rc;
}

int emu_sql_select(emu_ctx_t *cx)
{
    json_t *columns = NULL, *rows = NULL;

    if (emu_select_run(cx, cx->tk->n - 1, &columns, &rows) != 0) {
        return -1;
    }
    json_decref(cx->res->columns);
    json_decref(cx->res->rows);
    cx->res->columns = columns;
    cx->res->rows = rows;
    return 0;
}
