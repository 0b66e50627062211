/*
 * sql_expr: translation of Databricks SQL expressions into SQLite text for
 * SELECT, MERGE and WHERE clauses. The translator walks tokens and emits only:
 * numbers the lexer validated, whitelisted operators, keywords and functions,
 * engine-made column names (c<n>, qualified by engine-made table names), JSON
 * paths built from validated identifiers, and "?<n>" placeholders. Every
 * literal and parameter value is collected in binds and bound later.
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

/* A table visible in an expression. */
typedef struct emu_scope {
    const char *alias;     /* alias or table name used as qualifier (lower case) */
    const char *tname;     /* the table's own name (lower case), may equal alias */
    const char *sqlname;   /* SQLite table name to qualify columns with, or NULL */
    const emu_col_t *cols;
    int ncols;
} emu_scope_t;

typedef struct emu_xl {
    emu_ctx_t *cx;
    emu_scope_t scopes[2];
    int nscopes;
    json_t *binds;              /* values for ?1..?n (strings, integers, reals, null) */
    const char *const *aliases; /* select-list aliases usable in ORDER BY / HAVING */
    int naliases;
} emu_xl_t;

/* Translates tokens [cursor, end) into out. end is an absolute token index.
 * raw_decimal: emit a DECIMAL column as stored text instead of CAST(... AS REAL).
 * Returns 0 or -1 (error set). The cursor ends at end. */
int emu_xl_expr(emu_xl_t *x, size_t end, emu_sbuf_t *out, int raw_decimal);

/* Index of the first token at parenthesis depth 0 from the cursor that is one of
 * the keywords kws (NULL-terminated) or the operator op (may be NULL); the EOF
 * index when none. */
size_t emu_xl_find(const emu_toks_t *tk, const char *const *kws, const char *op);

/* Binds x->binds to st. */
void emu_xl_bind(const emu_xl_t *x, sqlite3_stmt *st);

/* Appends a typed parameter value (by its "type") to binds; returns its index (1-based). */
int emu_xl_bind_param(emu_xl_t *x, const char *value, const char *type);

#endif
