/*
 * sql_expr: expression translation for the emulator's SQL (see sql_expr.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "sql_expr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------------ */
/* Text buffer                                                              */
/* ------------------------------------------------------------------------ */

void emu_sb_add(emu_sbuf_t *b, const char *s)
{
    size_t n = strlen(s);

    if (b->oom) {
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->cap + n + 1) * 2;
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

void emu_sb_addf(emu_sbuf_t *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    emu_sb_add(b, tmp);
}

void emu_sb_free(emu_sbuf_t *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

/* ------------------------------------------------------------------------ */
/* Binds                                                                    */
/* ------------------------------------------------------------------------ */

int emu_xl_bind_param(emu_xl_t *x, const char *value, const char *type)
{
    char buf[64], *end = NULL;
    json_t *v;

    if (value == NULL) {
        v = json_null();
    } else if (type != NULL && (strcasecmp(type, "INT") == 0 || strcasecmp(type, "BIGINT") == 0 ||
                                strcasecmp(type, "LONG") == 0 || strcasecmp(type, "SMALLINT") == 0 ||
                                strcasecmp(type, "TINYINT") == 0)) {
        long long l;

        errno = 0;
        l = strtoll(value, &end, 10);
        v = errno == 0 && end != value && *end == '\0' ? json_integer(l) : json_string(value);
    } else if (type != NULL && (strcasecmp(type, "DOUBLE") == 0 || strcasecmp(type, "FLOAT") == 0 ||
                                strncasecmp(type, "DECIMAL", 7) == 0)) {
        double d = strtod(value, &end);
        v = end != value && *end == '\0' ? json_real(d) : json_string(value);
    } else if (type != NULL && strcasecmp(type, "BOOLEAN") == 0) {
        v = json_integer(strcasecmp(value, "true") == 0 ? 1 : 0);
    } else if (type != NULL && strcasecmp(type, "TIMESTAMP") == 0 &&
               emu_timestamp_norm(value, buf, sizeof(buf)) == 0) {
        v = json_string(buf);
    } else {
        v = json_string(value);
    }
    json_array_append_new(x->binds, v);
    return (int)json_array_size(x->binds);
}

void emu_xl_bind(const emu_xl_t *x, sqlite3_stmt *st)
{
    size_t k;
    json_t *v;

    json_array_foreach(x->binds, k, v) {
        int i = (int)k + 1;
        if (json_is_integer(v)) {
            sqlite3_bind_int64(st, i, json_integer_value(v));
        } else if (json_is_real(v)) {
            sqlite3_bind_double(st, i, json_real_value(v));
        } else if (json_is_string(v)) {
            sqlite3_bind_text(st, i, json_string_value(v), -1, SQLITE_TRANSIENT);
        } else {
            sqlite3_bind_null(st, i);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Translation                                                              */
/* ------------------------------------------------------------------------ */

size_t emu_xl_find(const emu_toks_t *tk, const char *const *kws, const char *op)
{
    size_t i;
    int depth = 0, k;

    for (i = tk->i; i < tk->n && tk->v[i].kind != TK_EOF; i++) {
        const emu_token_t *t = &tk->v[i];
        if (t->kind == TK_OP && strcmp(t->val, "(") == 0) {
            depth++;
        } else if (t->kind == TK_OP && strcmp(t->val, ")") == 0) {
            depth--;
        } else if (depth == 0 && t->kind == TK_IDENT && kws != NULL) {
            for (k = 0; kws[k] != NULL; k++) {
                if (strcmp(t->val, kws[k]) == 0) {
                    return i;
                }
            }
        }
        if (depth == 0 && op != NULL && t->kind == TK_OP && strcmp(t->val, op) == 0) {
            return i;
        }
        if (depth < 0) {
            return i;
        }
    }
    return tk->n - 1;
}

static const char *keyword(const char *w)
{
    static const char *const kws[] = {"and",  "or",   "not",  "is",   "null", "true",  "false",
                                      "in",   "between", "like", "case", "when", "then", "else",
                                      "end",  "distinct", "asc", "desc", "nulls", "first", "last",
                                      "escape", NULL};
    int k;

    for (k = 0; kws[k] != NULL; k++) {
        if (strcmp(w, kws[k]) == 0) {
            return kws[k];
        }
    }
    return NULL;
}

static const char *function(const char *w)
{
    static const char *const fns[][2] = {
        {"count", "count"},   {"sum", "sum"},         {"min", "min"},         {"max", "max"},
        {"avg", "avg"},       {"mean", "avg"},        {"coalesce", "coalesce"},
        {"ifnull", "ifnull"}, {"nvl", "ifnull"},      {"nullif", "nullif"},   {"lower", "lower"},
        {"lcase", "lower"},   {"upper", "upper"},     {"ucase", "upper"},     {"length", "length"},
        {"char_length", "length"}, {"abs", "abs"},    {"round", "round"},     {"substr", "substr"},
        {"substring", "substr"}, {"trim", "trim"},    {"ltrim", "ltrim"},     {"rtrim", "rtrim"},
        {"replace", "replace"}, {"instr", "instr"},   {"greatest", "max"},    {"least", "min"},
        {"cast", "CAST"}};
    size_t k;

    for (k = 0; k < sizeof(fns) / sizeof(fns[0]); k++) {
        if (strcmp(w, fns[k][0]) == 0) {
            return fns[k][1];
        }
    }
    return NULL;
}

static const char *sqlite_type(const char *type)
{
    switch (emu_type_kind(type, NULL, NULL)) {
    case EMU_T_BIGINT:
    case EMU_T_INT:
    case EMU_T_SMALLINT:
    case EMU_T_TINYINT:
    case EMU_T_BOOLEAN:
        return "INTEGER";
    case EMU_T_DOUBLE:
    case EMU_T_FLOAT:
    case EMU_T_DECIMAL:
        return "REAL";
    default:
        return "TEXT";
    }
}

static int unresolved(emu_xl_t *x, const char *name)
{
    return emu_fail(x->cx, "42703", "[UNRESOLVED_COLUMN.WITHOUT_SUGGESTION] A column, variable, or "
                                    "function parameter with name `%.200s` cannot be resolved.",
                    name);
}

/* Finds column name in the scopes (qualifier may be NULL). */
static int lookup(const emu_xl_t *x, const char *qual, const char *name, int *scope)
{
    int s, c;

    for (s = 0; s < x->nscopes; s++) {
        const emu_scope_t *sc = &x->scopes[s];
        if (qual != NULL && strcmp(qual, sc->alias) != 0 && strcmp(qual, sc->tname) != 0) {
            continue;
        }
        for (c = 0; c < sc->ncols; c++) {
            if (strcasecmp(sc->cols[c].name, name) == 0) {
                *scope = s;
                return c;
            }
        }
    }
    return -1;
}

/* A column reference chain: [qual.]col[.field...]. */
static int colref(emu_xl_t *x, size_t end, emu_sbuf_t *out, int raw_decimal)
{
    emu_toks_t *tk = x->cx->tk;
    const emu_token_t *a = emu_tk_peek(tk);
    const char *qual = NULL, *name = a->val;
    char path[1024];
    size_t plen = 0;
    int s = 0, c, k;

    tk->i++;
    if (tk->i + 1 < end && emu_tk_is_op(tk, ".") && lookup(x, NULL, name, &s) < 0) {
        qual = name;
        tk->i++;
        name = emu_tk_peek(tk)->val;
        tk->i++;
    }
    c = lookup(x, qual, name, &s);
    if (c < 0) {
        for (k = 0; qual == NULL && k < x->naliases; k++) {
            if (x->aliases[k] != NULL && strcasecmp(x->aliases[k], name) == 0 &&
                emu_ident_valid(name)) {
                emu_sb_addf(out, "\"%s\"", name);
                return 0;
            }
        }
        return unresolved(x, name);
    }
    path[0] = '\0';
    while (tk->i + 1 < end && emu_tk_is_op(tk, ".")) {
        const emu_token_t *f = emu_tk_at(tk, 1);
        if ((f->kind != TK_IDENT && f->kind != TK_QIDENT) || !emu_ident_valid(f->raw[0] == '`'
                                                                                  ? f->val
                                                                                  : f->raw)) {
            return emu_syntax(x->cx);
        }
        plen += (size_t)snprintf(path + plen, sizeof(path) - plen, "%s%s", plen == 0 ? "$." : ".",
                                 f->kind == TK_QIDENT ? f->val : f->raw);
        tk->i += 2;
        if (plen >= sizeof(path)) {
            return emu_syntax(x->cx);
        }
    }
    if (plen > 0) {
        json_array_append_new(x->binds, json_string(path));
        emu_sb_add(out, "json_extract(");
    } else if (x->scopes[s].cols[c].kind == EMU_T_DECIMAL && !raw_decimal) {
        emu_sb_add(out, "CAST(");
    }
    if (x->scopes[s].sqlname != NULL) {
        emu_sb_addf(out, "%s.", x->scopes[s].sqlname);
    }
    emu_sb_addf(out, "c%d", c);
    if (plen > 0) {
        emu_sb_addf(out, ", ?%d)", (int)json_array_size(x->binds));
    } else if (x->scopes[s].cols[c].kind == EMU_T_DECIMAL && !raw_decimal) {
        emu_sb_add(out, " AS REAL)");
    }
    return 0;
}

/* CAST(expr AS type): translated with SQLite's storage class for the type. */
static int cast_as(emu_xl_t *x, emu_sbuf_t *out)
{
    emu_toks_t *tk = x->cx->tk;
    char type[512];

    tk->i++; /* AS */
    if (emu_parse_type(x->cx, type, sizeof(type)) != 0) {
        return -1;
    }
    emu_sb_addf(out, " AS %s", sqlite_type(type));
    return 0;
}

static int one_token(emu_xl_t *x, size_t end, emu_sbuf_t *out, int raw_decimal)
{
    static const char *const ops[] = {"(", ")", ",", "+", "-", "*", "/", "%", "=", "==", "<>",
                                      "!=", "<", ">", "<=", ">=", "||", NULL};
    emu_toks_t *tk = x->cx->tk;
    const emu_token_t *t = emu_tk_peek(tk);
    const char *v = NULL, *type = NULL, *m;
    int k;

    switch (t->kind) {
    case TK_NUMBER:
        emu_sb_addf(out, " %s", t->val);
        tk->i++;
        return 0;
    case TK_STRING:
        json_array_append_new(x->binds, json_string(t->val));
        emu_sb_addf(out, " ?%d", (int)json_array_size(x->binds));
        tk->i++;
        return 0;
    case TK_PARAM:
        if (!emu_param_get(x->cx, t->val, &v, &type)) {
            return emu_param_unbound(x->cx, t->val);
        }
        emu_sb_addf(out, " ?%d", emu_xl_bind_param(x, v, type));
        tk->i++;
        return 0;
    case TK_OP:
        for (k = 0; ops[k] != NULL; k++) {
            if (strcmp(t->val, ops[k]) == 0) {
                emu_sb_addf(out, " %s", strcmp(t->val, "==") == 0 ? "=" : t->val);
                tk->i++;
                return 0;
            }
        }
        return emu_syntax(x->cx);
    case TK_IDENT:
        if (strcmp(t->val, "as") == 0) {
            return cast_as(x, out);
        }
        if (emu_tk_at(tk, 1)->kind == TK_OP && strcmp(emu_tk_at(tk, 1)->val, "(") == 0) {
            if ((m = function(t->val)) == NULL) {
                return emu_fail(x->cx, "42883", "[UNRESOLVED_ROUTINE] Cannot resolve routine "
                                                "`%.100s` (not emulated).", t->val);
            }
            emu_sb_addf(out, " %s", m);
            tk->i++;
            return 0;
        }
        if ((m = keyword(t->val)) != NULL && lookup(x, NULL, t->val, &k) < 0) {
            emu_sb_addf(out, " %s", m);
            tk->i++;
            return 0;
        }
        if (strcmp(t->val, "select") == 0 || strcmp(t->val, "from") == 0) {
            return emu_fail(x->cx, "0A000", "[UNSUPPORTED_FEATURE] Subqueries are not emulated.");
        }
        emu_sb_add(out, " ");
        return colref(x, end, out, raw_decimal);
    case TK_QIDENT:
        emu_sb_add(out, " ");
        return colref(x, end, out, raw_decimal);
    default:
        return emu_syntax(x->cx);
    }
}

int emu_xl_expr(emu_xl_t *x, size_t end, emu_sbuf_t *out, int raw_decimal)
{
    emu_toks_t *tk = x->cx->tk;

    if (tk->i >= end) {
        return emu_syntax(x->cx);
    }
    while (tk->i < end) {
        if (one_token(x, end, out, raw_decimal) != 0) {
            return -1;
        }
    }
    if (out->oom) {
        return emu_fail_code(x->cx, "INTERNAL_ERROR", "XX000", "[INTERNAL_ERROR] out of memory.");
    }
    return 0;
}
