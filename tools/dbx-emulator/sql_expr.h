/*
 * sql_expr: translation of Databricks SQL expressions into SQLite text, with Spark's
 * static types, for SELECT, MERGE, DELETE and WHERE clauses. A recursive-descent
 * parser walks the tokens and emits only: numbers the lexer validated, fixed
 * operators, keywords and function names, engine-made column names (c<n> / o<n>,
 * qualified by engine-made table names), and "?<n>" placeholders. Every literal and
 * parameter value is collected in binds and bound later.
 *
 * Values in the emitted SQL (docs/EMULATOR_SQL.md, "Expressions"): a DECIMAL is its
 * exact text ("12.3400") and computes through the emu_dec_* functions (sql_decimal.c);
 * casts go through emu_cast (sql_cast.c) with ANSI-mode errors; comparisons of a string
 * with a number, timestamp, date or boolean cast the string first.
 *
 * Subqueries (scalar, IN (SELECT ...), EXISTS (SELECT ...)) are translated by
 * sql_select.c, which sees the enclosing query's columns (correlation).
 */
#ifndef EMU_SQL_EXPR_H
#define EMU_SQL_EXPR_H

#include "engine_int.h"

/* Growable SQL text. */
typedef struct emu_sbuf {
    char *p;
    size_t len, cap;
    int oom;
} emu_sbuf_t;

void emu_sb_add(emu_sbuf_t *b, const char *s);
void emu_sb_addf(emu_sbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void emu_sb_free(emu_sbuf_t *b);

/* Static type of a translated expression. */
typedef struct emu_xtype {
    int known; /* 0: decided by the values when the query runs (NULL literal, ...) */
    emu_kind_t kind;
    int prec, scale;  /* DECIMAL */
    const char *text; /* canonical type text (static or kept by emu_keep); "" when unknown */
} emu_xtype_t;

/* Sets t from a canonical type text ("" or NULL: unknown); the text is kept for the statement. */
void emu_xtype_from_text(emu_ctx_t *cx, emu_xtype_t *t, const char *text);

/* A table (relation) visible in an expression. */
typedef struct emu_scope {
    const char *alias;   /* alias or table name used as qualifier (lower case) */
    const char *tname;   /* the table's own name (lower case), may equal alias */
    const char *sqlname; /* SQLite name to qualify columns with, or NULL */
    const char
        *cprefix; /* SQLite column names: prefix + index ("c" tables, "o" subqueries); NULL "c" */
    const emu_col_t *cols; /* a column whose type is "" has a type decided by its values */
    int ncols;
} emu_scope_t;

typedef struct emu_xl {
    emu_ctx_t *cx;
    emu_scope_t scopes[2];
    int nscopes;
    const struct emu_xl *parent; /* the enclosing query (correlated subqueries), or NULL */
    json_t *binds;               /* values for ?1..?n (strings, integers, reals, null) */
    /* select-list aliases usable in ORDER BY / HAVING / QUALIFY: alias k is emitted as
     * alias_sql[k] when alias_sql is set, else as o<k> */
    const char *const *aliases;
    const emu_xtype_t *alias_types; /* may be NULL */
    const char *const *alias_sql;
    int naliases;
    int aliases_first; /* 1: a bare name is an alias before it is a column (ORDER BY, as Spark) */
    int windows;       /* 1: window functions (... OVER (...)) are allowed here */
    int nwindows;      /* out: window functions translated */
} emu_xl_t;

/* Translates the expression at the cursor, which must end exactly at token index end
 * (absolute), into out; type (may be NULL) gets its static type. Returns 0 or -1 (error
 * set). The cursor ends at end. */
int emu_xl_expr(emu_xl_t *x, size_t end, emu_sbuf_t *out, emu_xtype_t *type);

/* Same, but stops after one expression (before a token that cannot continue it, or at end)
 * and leaves the cursor there; *colname (may be NULL) gets the column's (or struct field's)
 * name when the expression is a bare column reference, else NULL. */
int emu_xl_parse(emu_xl_t *x, size_t end, emu_sbuf_t *out, emu_xtype_t *type, const char **colname);

/* Appends sql (of static type from) converted to the canonical type to_type, as Databricks
 * converts a value stored into a column: through emu_cast unless the types already agree. */
void emu_xl_convert(const char *sql, const emu_xtype_t *from, const char *to_type, emu_sbuf_t *out);

/* Index of the first token at parenthesis depth 0 from the cursor that is one of
 * the keywords kws (NULL-terminated) or the operator op (may be NULL); the EOF
 * index when none. */
size_t emu_xl_find(const emu_toks_t *tk, const char *const *kws, const char *op);

/* Index of the ')' matching the '(' at token index open (absolute), or the EOF index. */
size_t emu_xl_close(const emu_toks_t *tk, size_t open);

/* Binds x->binds to st. */
void emu_xl_bind(const emu_xl_t *x, sqlite3_stmt *st);

/* Appends a typed parameter value (by its "type") to binds; returns its index (1-based). */
int emu_xl_bind_param(emu_xl_t *x, const char *value, const char *type);

/* ---- sql_select.c: queries ---- */

/* One output column of a translated query. */
typedef struct emu_item {
    char name[256];
    char type[512]; /* canonical type text; "" = decided by the first non-null value */
} emu_item_t;

/* A translated SELECT: SQLite text whose output columns are o0, o1, ... (owned). */
typedef struct emu_query {
    emu_sbuf_t sql;
    emu_item_t *items;
    int nitems;
} emu_query_t;

/* Translates the SELECT at the cursor (tokens up to index end, exclusive) into q, appending
 * its values to binds. parent (may be NULL) is the enclosing query whose columns a correlated
 * subquery may name. Checks SELECT on every table read (views: on the tables they read).
 * Returns 0 or -1 (error set); free q with emu_query_free either way. */
int emu_query_translate(emu_ctx_t *cx, const emu_xl_t *parent, size_t end, json_t *binds,
                        emu_query_t *q);
void emu_query_free(emu_query_t *q);

#endif
