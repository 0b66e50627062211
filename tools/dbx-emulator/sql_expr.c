/*
 * sql_expr: expression translation for the emulator's SQL (see sql_expr.h).
 *
 * Grammar (Spark's precedence, loosest first):
 *   or        := and (OR and)*
 *   and       := not (AND not)*
 *   not       := NOT not | predicate
 *   predicate := additive [cmp additive | IS [NOT] NULL|TRUE|FALSE | IS [NOT] DISTINCT FROM
 *                additive | [NOT] IN (list | SELECT ...) | [NOT] BETWEEN additive AND additive
 *                | [NOT] LIKE|ILIKE additive [ESCAPE 'c']]
 *   additive  := multiplicative ((+ | - | '||') multiplicative)*
 *   multiplicative := unary ((* | / | % | DIV) unary)*
 *   unary     := (- | +) unary | primary (:: type)*
 *   primary   := literal | :param | DATE/TIMESTAMP 'text' | CASE ... END | CAST/TRY_CAST(x AS t)
 *                | EXISTS (SELECT ...) | f(args) [OVER (...)] | (SELECT ...) | (x) | (x, y, ...)
 *                | [qualifier.]column[.field...]
 * Every fragment carries its static type; operators pick their SQLite form from it.
 */
#define _POSIX_C_SOURCE 200809L
#include "sql_expr.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_NESTING 64
#define MAX_ARGS    256

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

/* The text of b, "" when empty. */
static const char *sbt(const emu_sbuf_t *b)
{
    return b->p != NULL ? b->p : "";
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
    } else if (type != NULL &&
               (strcasecmp(type, "INT") == 0 || strcasecmp(type, "BIGINT") == 0 ||
                strcasecmp(type, "LONG") == 0 || strcasecmp(type, "SMALLINT") == 0 ||
                strcasecmp(type, "TINYINT") == 0)) {
        long long l;
        errno = 0;
        l = strtoll(value, &end, 10);
        v = end != value && *end == '\0' && errno == 0 ? json_integer(l) : json_string(value);
    } else if (type != NULL &&
               (strcasecmp(type, "DOUBLE") == 0 || strcasecmp(type, "FLOAT") == 0)) {
        double d = strtod(value, &end);
        v = end != value && *end == '\0' ? json_real(d) : json_string(value);
    } else if (type != NULL && strcasecmp(type, "BOOLEAN") == 0) {
        v = json_integer(strcasecmp(value, "true") == 0 ? 1 : 0);
    } else if (type != NULL && strcasecmp(type, "TIMESTAMP") == 0 &&
               emu_timestamp_norm(value, buf, sizeof(buf)) == 0) {
        v = json_string(buf);
    } else if (type != NULL && strcasecmp(type, "DATE") == 0 &&
               emu_date_norm(value, buf, sizeof(buf)) == 0) {
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

    json_array_foreach(x->binds, k, v)
    {
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

static int bind_text(emu_xl_t *x, const char *s)
{
    json_array_append_new(x->binds, json_string(s));
    return (int)json_array_size(x->binds);
}

/* ------------------------------------------------------------------------ */
/* Token search                                                             */
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

size_t emu_xl_close(const emu_toks_t *tk, size_t open)
{
    size_t i;
    int depth = 0;

    for (i = open; i < tk->n && tk->v[i].kind != TK_EOF; i++) {
        if (tk->v[i].kind == TK_OP && strcmp(tk->v[i].val, "(") == 0) {
            depth++;
        } else if (tk->v[i].kind == TK_OP && strcmp(tk->v[i].val, ")") == 0 && --depth == 0) {
            return i;
        }
    }
    return tk->n - 1;
}

/* ------------------------------------------------------------------------ */
/* Types                                                                    */
/* ------------------------------------------------------------------------ */

static const char *kind_text(emu_kind_t k)
{
    static const char *const names[] = {
        "STRING", "BIGINT", "INT",       "SMALLINT",      "TINYINT", "DOUBLE", "FLOAT",  "BOOLEAN",
        "BINARY", "DATE",   "TIMESTAMP", "DECIMAL(10,0)", "STRING",  "STRING", "STRING", "STRING"};

    return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "STRING";
}

void emu_xtype_from_text(emu_ctx_t *cx, emu_xtype_t *t, const char *text)
{
    memset(t, 0, sizeof(*t));
    t->text = "";
    if (text == NULL || text[0] == '\0') {
        return;
    }
    t->known = 1;
    t->kind = emu_type_kind(text, &t->prec, &t->scale);
    t->text = emu_keep(cx, text);
    if (t->text == NULL) {
        t->text = kind_text(t->kind);
    }
}

static void set_kind(emu_xtype_t *t, emu_kind_t k)
{
    memset(t, 0, sizeof(*t));
    t->known = 1;
    t->kind = k;
    t->text = kind_text(k);
}

static void set_decimal(emu_ctx_t *cx, emu_xtype_t *t, int p, int s)
{
    char buf[32];

    snprintf(buf, sizeof(buf), "DECIMAL(%d,%d)", p, s);
    emu_xtype_from_text(cx, t, buf);
}

static void set_unknown(emu_xtype_t *t)
{
    memset(t, 0, sizeof(*t));
    t->text = "";
}

static int is_int(const emu_xtype_t *t)
{
    return t->known && (t->kind == EMU_T_BIGINT || t->kind == EMU_T_INT ||
                        t->kind == EMU_T_SMALLINT || t->kind == EMU_T_TINYINT);
}

static int is_float(const emu_xtype_t *t)
{
    return t->known && (t->kind == EMU_T_DOUBLE || t->kind == EMU_T_FLOAT);
}

static int is_dec(const emu_xtype_t *t)
{
    return t->known && t->kind == EMU_T_DECIMAL;
}

static int is_kind(const emu_xtype_t *t, emu_kind_t k)
{
    return t->known && t->kind == k;
}

/* Integer types ranked for the result of integer arithmetic. */
static int int_rank(emu_kind_t k)
{
    return k == EMU_T_BIGINT ? 4 : k == EMU_T_INT ? 3 : k == EMU_T_SMALLINT ? 2 : 1;
}

void emu_xl_convert(const char *sql, const emu_xtype_t *from, const char *to_type, emu_sbuf_t *out)
{
    int p = 0, s = 0;
    emu_kind_t k = emu_type_kind(to_type, &p, &s);

    if ((from->known && strcmp(from->text, to_type) == 0) || k == EMU_T_STRUCT || k == EMU_T_MAP ||
        k == EMU_T_ARRAY) {
        emu_sb_add(out, sql);
        return;
    }
    emu_sb_add(out, "emu_cast(");
    emu_sb_add(out, sql);
    emu_sb_addf(out, ", %d, %d, %d, %d, 0)", from->known ? (int)from->kind : -1, (int)k, p, s);
}

/* ------------------------------------------------------------------------ */
/* Parser state and fragments                                               */
/* ------------------------------------------------------------------------ */

typedef struct frag {
    emu_sbuf_t s;
    emu_xtype_t t;
    int lit_digits;      /* >0: an integer literal of that many digits (its decimal type) */
    int row;             /* >0: a row constructor (a, b, ...) of that many values */
    const char *colname; /* a bare column reference: the column's (or field's) name */
} frag_t;

typedef struct parser {
    emu_xl_t *x;
    size_t end;
    int depth;
} parser_t;

static void fr_free(frag_t *f)
{
    emu_sb_free(&f->s);
    memset(f, 0, sizeof(*f));
}

static emu_toks_t *toks(parser_t *p)
{
    return p->x->cx->tk;
}

static const emu_token_t *cur(parser_t *p)
{
    emu_toks_t *tk = toks(p);

    return tk->i < p->end ? &tk->v[tk->i] : &tk->v[tk->n - 1];
}

static const emu_token_t *ahead(parser_t *p, size_t k)
{
    emu_toks_t *tk = toks(p);

    return tk->i + k < p->end ? &tk->v[tk->i + k] : &tk->v[tk->n - 1];
}

static int is_kw(parser_t *p, const char *kw)
{
    const emu_token_t *t = cur(p);

    return t->kind == TK_IDENT && strcmp(t->val, kw) == 0;
}

static int accept_kw(parser_t *p, const char *kw)
{
    if (is_kw(p, kw)) {
        toks(p)->i++;
        return 1;
    }
    return 0;
}

static int is_op(parser_t *p, const char *op)
{
    const emu_token_t *t = cur(p);

    return t->kind == TK_OP && strcmp(t->val, op) == 0;
}

static int accept_op(parser_t *p, const char *op)
{
    if (is_op(p, op)) {
        toks(p)->i++;
        return 1;
    }
    return 0;
}

static int is_tok_kw(const emu_token_t *t, const char *kw)
{
    return t->kind == TK_IDENT && strcmp(t->val, kw) == 0;
}

static int is_tok_op(const emu_token_t *t, const char *op)
{
    return t->kind == TK_OP && strcmp(t->val, op) == 0;
}

static int syntax(parser_t *p)
{
    return emu_syntax(p->x->cx);
}

static int oom(parser_t *p)
{
    return emu_fail_code(p->x->cx, "INTERNAL_ERROR", "XX000", "[INTERNAL_ERROR] out of memory.");
}

static int unsupported(parser_t *p, const char *what)
{
    return emu_fail(p->x->cx, "0A000", "[UNSUPPORTED_FEATURE] %s is not emulated.", what);
}

/* Emits f as a number SQLite computes with: a DECIMAL's text becomes a REAL. */
static void add_num(emu_sbuf_t *out, const frag_t *f)
{
    if (is_dec(&f->t)) {
        emu_sb_addf(out, "CAST(%s AS REAL)", sbt(&f->s));
    } else {
        emu_sb_add(out, sbt(&f->s));
    }
}

static int p_expr(parser_t *p, frag_t *f);
static int p_add(parser_t *p, frag_t *f);

/* ------------------------------------------------------------------------ */
/* Conversions                                                              */
/* ------------------------------------------------------------------------ */

/* out = CAST(f AS type) (try: try_cast), f consumed. */
static int cast_to(parser_t *p, frag_t *f, const char *type, int try_, frag_t *out)
{
    emu_xtype_t dst;
    frag_t r;

    memset(&r, 0, sizeof(r));
    emu_xtype_from_text(p->x->cx, &dst, type);
    if ((f->t.known && strcmp(f->t.text, dst.text) == 0) || dst.kind == EMU_T_STRUCT ||
        dst.kind == EMU_T_MAP || dst.kind == EMU_T_ARRAY) {
        emu_sb_add(&r.s, sbt(&f->s));
    } else {
        emu_sb_addf(&r.s, "emu_cast(%s, %d, %d, %d, %d, %d)", sbt(&f->s),
                    f->t.known ? (int)f->t.kind : -1, (int)dst.kind, dst.prec, dst.scale, try_);
    }
    r.t = dst;
    fr_free(f);
    *out = r;
    return r.s.oom ? oom(p) : 0;
}

/* The decimal type Spark gives an integer operand of decimal arithmetic. */
static void dec_of(const frag_t *f, int *prec, int *scale)
{
    if (is_dec(&f->t)) {
        *prec = f->t.prec;
        *scale = f->t.scale;
        return;
    }
    *scale = 0;
    if (f->lit_digits > 0) {
        *prec = f->lit_digits;
    } else {
        *prec = f->t.kind == EMU_T_BIGINT     ? 20
                : f->t.kind == EMU_T_INT      ? 10
                : f->t.kind == EMU_T_SMALLINT ? 5
                                              : 3;
    }
}

/* Spark's DecimalType.adjustPrecisionScale (precision loss allowed, the default). */
static void adjust(int *prec, int *scale)
{
    int intdigits, minscale;

    if (*prec <= 38) {
        return;
    }
    intdigits = *prec - *scale;
    minscale = *scale < 6 ? *scale : 6;
    *scale = 38 - intdigits > minscale ? 38 - intdigits : minscale;
    *prec = 38;
}

/* Makes a string side of a comparison the other side's type (try_cast: a string that does not
 * convert compares as NULL). */
static int coerce(parser_t *p, frag_t *a, const frag_t *b)
{
    if (!is_kind(&a->t, EMU_T_STRING) || !b->t.known || b->row) {
        return 0;
    }
    if (is_int(&b->t) || is_float(&b->t) || is_kind(&b->t, EMU_T_BOOLEAN) ||
        is_kind(&b->t, EMU_T_TIMESTAMP) || is_kind(&b->t, EMU_T_DATE)) {
        return cast_to(p, a, is_int(&b->t) ? "BIGINT" : b->t.text, 1, a);
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Operators                                                                */
/* ------------------------------------------------------------------------ */

/* out = l op r for a comparison ("=", "<>", "<", ">", "<=", ">=", "<=>"); l and r consumed. */
static int cmp(parser_t *p, const char *op, frag_t *l, frag_t *r, frag_t *out)
{
    frag_t o;
    int nullsafe = strcmp(op, "<=>") == 0;

    memset(&o, 0, sizeof(o));
    if ((l->row || r->row) && l->row != r->row) {
        fr_free(l);
        fr_free(r);
        return emu_fail(p->x->cx, "42K09",
                        "[DATATYPE_MISMATCH.DATA_DIFF_TYPES] Cannot compare a "
                        "row of values with a value of another shape.");
    }
    if (coerce(p, l, r) != 0 || coerce(p, r, l) != 0) {
        fr_free(l);
        fr_free(r);
        return -1;
    }
    if (!l->row && (is_dec(&l->t) || is_dec(&r->t)) && !is_float(&l->t) && !is_float(&r->t)) {
        if (nullsafe) {
            emu_sb_addf(&o.s, "emu_dec_eqns(%s, %s)", sbt(&l->s), sbt(&r->s));
        } else {
            emu_sb_addf(&o.s, "(emu_dec_cmp(%s, %s) %s 0)", sbt(&l->s), sbt(&r->s), op);
        }
    } else {
        emu_sb_add(&o.s, "(");
        add_num(&o.s, l);
        emu_sb_addf(&o.s, " %s ", nullsafe ? "IS" : op);
        add_num(&o.s, r);
        emu_sb_add(&o.s, ")");
    }
    set_kind(&o.t, EMU_T_BOOLEAN);
    fr_free(l);
    fr_free(r);
    *out = o;
    return o.s.oom ? oom(p) : 0;
}

/* A copy of f's text and type (for operands emitted twice: BETWEEN, IN lists, CASE x WHEN). */
static int fr_copy(parser_t *p, const frag_t *f, frag_t *out)
{
    memset(out, 0, sizeof(*out));
    emu_sb_add(&out->s, sbt(&f->s));
    out->t = f->t;
    out->lit_digits = f->lit_digits;
    out->row = f->row;
    return out->s.oom ? oom(p) : 0;
}

/* out = l op r for + - * / % div ||; l and r consumed. */
static int arith(parser_t *p, const char *op, frag_t *l, frag_t *r, frag_t *out)
{
    static const char *const ops[] = {"+", "-", "*", "/", "%"};
    frag_t o;
    int code = 0, k, p1, s1, p2, s2, rp, rs;

    memset(&o, 0, sizeof(o));
    for (k = 0; k < 5; k++) {
        if (strcmp(op, ops[k]) == 0) {
            code = k + 1;
        }
    }
    if (strcmp(op, "||") == 0) {
        emu_sb_addf(&o.s, "(%s || %s)", sbt(&l->s), sbt(&r->s));
        set_kind(&o.t, EMU_T_STRING);
    } else if (is_kind(&l->t, EMU_T_TIMESTAMP) || is_kind(&l->t, EMU_T_DATE) ||
               is_kind(&r->t, EMU_T_TIMESTAMP) || is_kind(&r->t, EMU_T_DATE)) {
        fr_free(l);
        fr_free(r);
        return unsupported(p, "Arithmetic on DATE or TIMESTAMP values");
    } else if (strcmp(op, "div") == 0) {
        emu_sb_add(&o.s, "emu_idiv(");
        add_num(&o.s, l);
        emu_sb_add(&o.s, ", ");
        add_num(&o.s, r);
        emu_sb_add(&o.s, ")");
        set_kind(&o.t, EMU_T_BIGINT);
    } else if ((is_dec(&l->t) || is_dec(&r->t)) && (is_dec(&l->t) || is_int(&l->t)) &&
               (is_dec(&r->t) || is_int(&r->t))) {
        /* exact, with Spark's result type (DecimalPrecision) */
        dec_of(l, &p1, &s1);
        dec_of(r, &p2, &s2);
        switch (code) {
        case 1:
        case 2:
            rs = s1 > s2 ? s1 : s2;
            rp = (p1 - s1 > p2 - s2 ? p1 - s1 : p2 - s2) + rs + 1;
            break;
        case 3:
            rp = p1 + p2 + 1;
            rs = s1 + s2;
            break;
        case 4:
            rs = s1 + p2 + 1 > 6 ? s1 + p2 + 1 : 6;
            rp = p1 - s1 + s2 + rs;
            break;
        default:
            rs = s1 > s2 ? s1 : s2;
            rp = (p1 - s1 < p2 - s2 ? p1 - s1 : p2 - s2) + rs;
            break;
        }
        adjust(&rp, &rs);
        emu_sb_addf(&o.s, "emu_dec_arith(%d, %s, %s, %d, %d)", code, sbt(&l->s), sbt(&r->s), rp,
                    rs);
        set_decimal(p->x->cx, &o.t, rp, rs);
    } else if (code == 4 || (code == 5 && (is_float(&l->t) || is_float(&r->t)))) {
        emu_sb_add(&o.s, code == 4 ? "emu_div(" : "emu_fmod(");
        add_num(&o.s, l);
        emu_sb_add(&o.s, ", ");
        add_num(&o.s, r);
        emu_sb_add(&o.s, ")");
        set_kind(&o.t, EMU_T_DOUBLE);
    } else {
        emu_sb_add(&o.s, "(");
        add_num(&o.s, l);
        emu_sb_addf(&o.s, " %s ", op);
        add_num(&o.s, r);
        emu_sb_add(&o.s, ")");
        if (is_int(&l->t) && is_int(&r->t)) {
            set_kind(&o.t, int_rank(l->t.kind) >= int_rank(r->t.kind) ? l->t.kind : r->t.kind);
        } else if ((is_float(&l->t) || is_float(&r->t)) && (l->t.known && r->t.known)) {
            set_kind(&o.t, EMU_T_DOUBLE);
        } else {
            set_unknown(&o.t);
        }
    }
    fr_free(l);
    fr_free(r);
    *out = o;
    return o.s.oom ? oom(p) : 0;
}

/* ------------------------------------------------------------------------ */
/* Column references                                                        */
/* ------------------------------------------------------------------------ */

static int unresolved(parser_t *p, const char *qual, const char *name)
{
    return emu_fail(p->x->cx, "42703",
                    "[UNRESOLVED_COLUMN.WITHOUT_SUGGESTION] A column, variable, or function "
                    "parameter with name `%.100s%s%.100s` cannot be resolved.",
                    qual != NULL ? qual : "", qual != NULL ? "`.`" : "", name);
}

/* Finds a relation named qual in x or the queries around it. */
static const emu_scope_t *find_scope(const emu_xl_t *x, const char *qual)
{
    int s;

    for (; x != NULL; x = x->parent) {
        for (s = 0; s < x->nscopes; s++) {
            if (strcmp(qual, x->scopes[s].alias) == 0 || strcmp(qual, x->scopes[s].tname) == 0) {
                return &x->scopes[s];
            }
        }
    }
    return NULL;
}

static int col_in(const emu_scope_t *sc, const char *name)
{
    int c;

    for (c = 0; c < sc->ncols; c++) {
        if (strcasecmp(sc->cols[c].name, name) == 0) {
            return c;
        }
    }
    return -1;
}

/* Finds column name in scope sc when given, else in x's relations, then the enclosing
 * queries' (innermost first, as Spark resolves correlated references). */
static int find_col(const emu_xl_t *x, const emu_scope_t *sc, const char *name,
                    const emu_scope_t **found)
{
    int s, c;

    if (sc != NULL) {
        *found = sc;
        return col_in(sc, name);
    }
    for (; x != NULL; x = x->parent) {
        for (s = 0; s < x->nscopes; s++) {
            if ((c = col_in(&x->scopes[s], name)) >= 0) {
                *found = &x->scopes[s];
                return c;
            }
        }
    }
    return -1;
}

/* The type text of field `field` of a STRUCT<...> type text into out ("" when not found). */
static void field_type(const char *st, const char *field, char *out, size_t outlen)
{
    const char *q;
    size_t flen = strlen(field);
    int depth = 0;

    out[0] = '\0';
    if (strncmp(st, "STRUCT<", 7) != 0) {
        return;
    }
    for (q = st + 7; *q != '\0';) {
        const char *name = q, *colon = strchr(q, ':'), *e;
        if (colon == NULL) {
            return;
        }
        for (e = colon + 1, depth = 0; *e != '\0'; e++) {
            if (*e == '<') {
                depth++;
            } else if (*e == '>' && depth-- == 0) {
                break;
            } else if (*e == ',' && depth == 0) {
                break;
            }
        }
        if ((size_t)(colon - name) == flen && strncasecmp(name, field, flen) == 0) {
            const char *t = colon + 1;
            size_t n;
            while (*t == ' ') {
                t++;
            }
            n = (size_t)(e - t);
            if (n >= 9 && strncmp(t + n - 9, " NOT NULL", 9) == 0) {
                n -= 9;
            }
            if (n < outlen) {
                memcpy(out, t, n);
                out[n] = '\0';
            }
            return;
        }
        if (*e != ',') {
            return;
        }
        q = e + 1;
        while (*q == ' ') {
            q++;
        }
    }
}

static int constant_clock(parser_t *p, const char *word, frag_t *f)
{
    char buf[64];
    long long us = emu_stmt_now_us(p->x->cx);

    if (strcmp(word, "current_date") == 0) {
        emu_date_from_days(us / 86400000000LL, buf, sizeof(buf));
        set_kind(&f->t, EMU_T_DATE);
    } else {
        emu_timestamp_from_micros(us, buf, sizeof(buf));
        set_kind(&f->t, EMU_T_TIMESTAMP);
    }
    emu_sb_addf(&f->s, "?%d", bind_text(p->x, buf));
    return 0;
}

static int colref(parser_t *p, frag_t *f)
{
    emu_toks_t *tk = toks(p);
    const emu_token_t *a = cur(p), *b;
    const emu_scope_t *sc = NULL;
    const char *qual = NULL, *name = a->val;
    char path[1024], ftype[512], cur_type[512];
    size_t plen = 0;
    int c, k;

    tk->i++;
    b = ahead(p, 1);
    if (is_op(p, ".") && (b->kind == TK_IDENT || b->kind == TK_QIDENT) &&
        find_scope(p->x, name) != NULL) {
        qual = name;
        sc = find_scope(p->x, qual);
        name = b->val;
        tk->i += 2;
    }
    c = qual == NULL && p->x->aliases_first && !is_op(p, ".") ? -1 : find_col(p->x, sc, name, &sc);
    if (c < 0) {
        for (k = 0; qual == NULL && k < p->x->naliases; k++) {
            if (p->x->aliases[k] != NULL && strcasecmp(p->x->aliases[k], name) == 0) {
                if (p->x->alias_sql != NULL) {
                    emu_sb_addf(&f->s, "(%s)", p->x->alias_sql[k]);
                } else {
                    emu_sb_addf(&f->s, "o%d", k);
                }
                if (p->x->alias_types != NULL) {
                    f->t = p->x->alias_types[k];
                } else {
                    set_unknown(&f->t);
                }
                f->colname = p->x->aliases[k];
                return 0;
            }
        }
        if (qual == NULL &&
            (strcmp(name, "current_timestamp") == 0 || strcmp(name, "current_date") == 0)) {
            return constant_clock(p, name, f);
        }
        c = qual == NULL && p->x->aliases_first ? find_col(p->x, NULL, name, &sc) : -1;
        if (c < 0) {
            return unresolved(p, qual, name);
        }
    }
    snprintf(cur_type, sizeof(cur_type), "%s", sc->cols[c].type);
    f->colname = sc->cols[c].name;
    path[0] = '\0';
    while (is_op(p, ".")) {
        const emu_token_t *fld = ahead(p, 1);
        const char *fname = fld->kind == TK_QIDENT ? fld->val : fld->raw;
        if ((fld->kind != TK_IDENT && fld->kind != TK_QIDENT) || !emu_ident_valid(fname)) {
            return syntax(p);
        }
        plen += (size_t)snprintf(path + plen, sizeof(path) - plen, "%s%s", plen == 0 ? "$." : ".",
                                 fname);
        if (plen >= sizeof(path)) {
            return syntax(p);
        }
        field_type(cur_type, fname, ftype, sizeof(ftype));
        snprintf(cur_type, sizeof(cur_type), "%s", ftype);
        f->colname = emu_keep(p->x->cx, fname);
        tk->i += 2;
    }
    if (plen > 0) {
        emu_sb_add(&f->s, "json_extract(");
    }
    if (sc->sqlname != NULL) {
        emu_sb_addf(&f->s, "%s.", sc->sqlname);
    }
    emu_sb_addf(&f->s, "%s%d", sc->cprefix != NULL ? sc->cprefix : "c", c);
    if (plen > 0) {
        emu_sb_addf(&f->s, ", ?%d)", bind_text(p->x, path));
    }
    emu_xtype_from_text(p->x->cx, &f->t, cur_type);
    return f->s.oom ? oom(p) : 0;
}

/* ------------------------------------------------------------------------ */
/* Literals and parameters                                                  */
/* ------------------------------------------------------------------------ */

static int number(parser_t *p, frag_t *f)
{
    const emu_token_t *t = cur(p);
    const char *v = t->val, *dot = strchr(v, '.'), *q;
    char suffix = t->raw[strlen(t->raw) - 1];
    long long l;
    char *end = NULL;
    int digits = 0, scale, sig = 0;

    toks(p)->i++;
    if (suffix == 'D' || suffix == 'd' || strpbrk(v, "eE") != NULL) {
        emu_sb_addf(&f->s, "CAST(%s AS REAL)", v);
        set_kind(&f->t, EMU_T_DOUBLE);
        return 0;
    }
    if (dot != NULL) {
        /* Spark's literal type: DECIMAL(max(significant digits, scale), scale) */
        scale = (int)strlen(dot + 1);
        for (q = v; *q != '\0'; q++) {
            if (isdigit((unsigned char)*q) && (sig > 0 || *q != '0')) {
                sig++;
            }
        }
        if (sig > 38 || scale > 38) {
            emu_sb_addf(&f->s, "CAST(%s AS REAL)", v);
            set_kind(&f->t, EMU_T_DOUBLE);
            return 0;
        }
        emu_sb_addf(&f->s, "?%d", bind_text(p->x, v));
        set_decimal(p->x->cx, &f->t, sig > scale ? sig : (scale > 0 ? scale : 1), scale);
        return 0;
    }
    for (q = v; *q == '0' && q[1] != '\0'; q++) {
    }
    digits = (int)strlen(q);
    errno = 0;
    l = strtoll(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0') {
        if (digits > 38) {
            return emu_fail(p->x->cx, "22003",
                            "[NUMERIC_VALUE_OUT_OF_RANGE] The literal %.60s "
                            "has more than 38 digits.",
                            v);
        }
        emu_sb_addf(&f->s, "?%d", bind_text(p->x, q));
        set_decimal(p->x->cx, &f->t, digits, 0);
        return 0;
    }
    emu_sb_addf(&f->s, "%lld", l);
    set_kind(&f->t, suffix == 'L' || suffix == 'l' || l > INT_MAX ? EMU_T_BIGINT : EMU_T_INT);
    f->lit_digits = digits;
    return 0;
}

/* A DECIMAL parameter: bound as exact text at its declared scale (or its own). */
static int decimal_param(parser_t *p, frag_t *f, const char *name, const char *v, const char *type)
{
    char buf[128];
    int prec = 0, scale = 0;
    const char *dot;

    if (sscanf(type + 7, "(%d,%d)", &prec, &scale) != 2 || prec < 1 || prec > 38 || scale < 0 ||
        scale > prec) {
        dot = v != NULL ? strchr(v, '.') : NULL;
        prec = 38;
        scale = dot != NULL ? (int)strlen(dot + 1) : 0;
        scale = scale > 38 ? 38 : scale;
    }
    if (v == NULL) {
        emu_sb_add(&f->s, "NULL");
    } else if (emu_decimal_norm(v, prec, scale, buf, sizeof(buf)) != 0) {
        return emu_fail(p->x->cx, "22018",
                        "[CAST_INVALID_INPUT] The value '%.100s' of the "
                        "parameter :%s is not a DECIMAL(%d,%d).",
                        v, name, prec, scale);
    } else {
        emu_sb_addf(&f->s, "?%d", bind_text(p->x, buf));
    }
    set_decimal(p->x->cx, &f->t, prec, scale);
    return 0;
}

static int param(parser_t *p, frag_t *f)
{
    const emu_token_t *t = cur(p);
    const char *v = NULL, *type = NULL;
    char canon[64];
    size_t k;

    if (!emu_param_get(p->x->cx, t->val, &v, &type)) {
        return emu_param_unbound(p->x->cx, t->val);
    }
    toks(p)->i++;
    if (type != NULL && strncasecmp(type, "DECIMAL", 7) == 0) {
        return decimal_param(p, f, t->val, v, type);
    }
    emu_sb_addf(&f->s, "?%d", emu_xl_bind_param(p->x, v, type));
    if (type == NULL) {
        set_kind(&f->t, EMU_T_STRING); /* an untyped parameter is a STRING in Databricks */
        return 0;
    }
    snprintf(canon, sizeof(canon), "%s", type);
    for (k = 0; canon[k] != '\0'; k++) {
        canon[k] = (char)toupper((unsigned char)canon[k]);
    }
    if (strcmp(canon, "LONG") == 0) {
        snprintf(canon, sizeof(canon), "BIGINT");
    }
    /* a type the engine does not know types the value as STRING */
    emu_xtype_from_text(p->x->cx, &f->t,
                        emu_type_kind(canon, NULL, NULL) == EMU_T_STRING ? "STRING" : canon);
    return 0;
}

/* DATE 'x' / TIMESTAMP 'x' (the word is at the cursor, the string after it). */
static int typed_literal(parser_t *p, frag_t *f)
{
    const emu_token_t *w = cur(p), *s = ahead(p, 1);
    int is_date = strcmp(w->val, "date") == 0;
    char buf[64];

    if ((is_date ? emu_date_norm(s->val, buf, sizeof(buf))
                 : emu_timestamp_norm(s->val, buf, sizeof(buf))) != 0) {
        return emu_fail(p->x->cx, "42604",
                        "[INVALID_TYPED_LITERAL] The value of the typed "
                        "literal \"%s\" is invalid: '%.100s'.",
                        is_date ? "DATE" : "TIMESTAMP", s->val);
    }
    toks(p)->i += 2;
    emu_sb_addf(&f->s, "?%d", bind_text(p->x, buf));
    set_kind(&f->t, is_date ? EMU_T_DATE : EMU_T_TIMESTAMP);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Subqueries                                                               */
/* ------------------------------------------------------------------------ */

/* "(SELECT ...)" at the cursor: appends "(<sql>)"; *first gets the type of its first column
 * and *ncols its width. */
static int subquery(parser_t *p, emu_sbuf_t *out, emu_xtype_t *first, int *ncols)
{
    emu_toks_t *tk = toks(p);
    size_t close = emu_xl_close(tk, tk->i);
    emu_query_t q;
    int rc;

    if (close >= p->end) {
        return syntax(p);
    }
    memset(&q, 0, sizeof(q));
    tk->i++; /* ( */
    rc = emu_query_translate(p->x->cx, p->x, close, p->x->binds, &q);
    if (rc == 0) {
        emu_sb_addf(out, "(%s)", sbt(&q.sql));
        if (first != NULL) {
            emu_xtype_from_text(p->x->cx, first, q.nitems > 0 ? q.items[0].type : "");
        }
        if (ncols != NULL) {
            *ncols = q.nitems;
        }
        tk->i = close + 1;
    }
    emu_query_free(&q);
    return rc;
}

static int starts_select(parser_t *p)
{
    return is_op(p, "(") && is_tok_kw(ahead(p, 1), "select");
}

/* ------------------------------------------------------------------------ */
/* CASE, CAST, functions, windows                                           */
/* ------------------------------------------------------------------------ */

static void pick_type(emu_xtype_t *res, const emu_xtype_t *t)
{
    if (!res->known && t->known) {
        *res = *t;
    }
}

static int p_case(parser_t *p, frag_t *f)
{
    frag_t operand, c, v, cond;
    int have_operand = 0, n = 0, rc = -1;

    memset(&operand, 0, sizeof(operand));
    memset(&c, 0, sizeof(c));
    memset(&v, 0, sizeof(v));
    memset(&cond, 0, sizeof(cond));
    set_unknown(&f->t);
    if (!is_kw(p, "when")) {
        if (p_expr(p, &operand) != 0) {
            goto out;
        }
        have_operand = 1;
    }
    emu_sb_add(&f->s, "(CASE");
    while (accept_kw(p, "when")) {
        frag_t op_copy;
        if (p_expr(p, &c) != 0) {
            goto out;
        }
        if (have_operand) {
            if (fr_copy(p, &operand, &op_copy) != 0 || cmp(p, "=", &op_copy, &c, &cond) != 0) {
                goto out;
            }
        } else {
            cond = c;
            memset(&c, 0, sizeof(c));
        }
        if (!accept_kw(p, "then")) {
            syntax(p);
            goto out;
        }
        if (p_expr(p, &v) != 0) {
            goto out;
        }
        emu_sb_addf(&f->s, " WHEN %s THEN %s", sbt(&cond.s), sbt(&v.s));
        pick_type(&f->t, &v.t);
        fr_free(&cond);
        fr_free(&v);
        n++;
    }
    if (n == 0) {
        syntax(p);
        goto out;
    }
    if (accept_kw(p, "else")) {
        if (p_expr(p, &v) != 0) {
            goto out;
        }
        emu_sb_addf(&f->s, " ELSE %s", sbt(&v.s));
        pick_type(&f->t, &v.t);
    }
    if (!accept_kw(p, "end")) {
        syntax(p);
        goto out;
    }
    emu_sb_add(&f->s, " END)");
    rc = f->s.oom ? oom(p) : 0;
out:
    fr_free(&operand);
    fr_free(&c);
    fr_free(&v);
    fr_free(&cond);
    return rc;
}

/* CAST(x AS type) / TRY_CAST(...): the cursor is after the '('. */
static int p_cast(parser_t *p, frag_t *f, int try_)
{
    frag_t a;
    char type[512];

    memset(&a, 0, sizeof(a));
    if (p_expr(p, &a) != 0) {
        fr_free(&a);
        return -1;
    }
    if (!accept_kw(p, "as") || emu_parse_type(p->x->cx, type, sizeof(type)) != 0 ||
        !accept_op(p, ")")) {
        fr_free(&a);
        return p->x->cx->res->message[0] != '\0' ? -1 : syntax(p);
    }
    return cast_to(p, &a, type, try_, f);
}

/* OVER ( [PARTITION BY e, ...] [ORDER BY e [ASC|DESC] [NULLS FIRST|LAST], ...] ) */
static int window(parser_t *p, emu_sbuf_t *out, const char *fname)
{
    frag_t e;
    int first;

    memset(&e, 0, sizeof(e));
    if (!p->x->windows) {
        return emu_fail(p->x->cx, "42K0E",
                        "[UNSUPPORTED_EXPR_FOR_OPERATOR] A query operator contains one or more "
                        "unsupported expressions: the window function %s() is allowed in the "
                        "SELECT list, QUALIFY and ORDER BY only.",
                        fname);
    }
    if (!accept_kw(p, "over")) {
        return syntax(p);
    }
    if (!accept_op(p, "(")) {
        return cur(p)->kind == TK_IDENT ? unsupported(p, "A named window (OVER w)") : syntax(p);
    }
    emu_sb_add(out, " OVER (");
    if (accept_kw(p, "partition") || accept_kw(p, "distribute")) {
        if (!accept_kw(p, "by")) {
            return syntax(p);
        }
        emu_sb_add(out, "PARTITION BY ");
        first = 1;
        do {
            if (p_expr(p, &e) != 0) {
                fr_free(&e);
                return -1;
            }
            emu_sb_addf(out, "%s%s", first ? "" : ", ", sbt(&e.s));
            fr_free(&e);
            first = 0;
        } while (accept_op(p, ","));
    }
    if (accept_kw(p, "order") || accept_kw(p, "sort")) {
        if (!accept_kw(p, "by")) {
            return syntax(p);
        }
        emu_sb_add(out, " ORDER BY ");
        first = 1;
        do {
            if (p_expr(p, &e) != 0) {
                fr_free(&e);
                return -1;
            }
            emu_sb_add(out, first ? "" : ", ");
            add_num(out, &e);
            fr_free(&e);
            if (accept_kw(p, "desc")) {
                emu_sb_add(out, " DESC");
            } else if (accept_kw(p, "asc")) {
                emu_sb_add(out, " ASC");
            }
            if (accept_kw(p, "nulls")) {
                if (accept_kw(p, "first")) {
                    emu_sb_add(out, " NULLS FIRST");
                } else if (accept_kw(p, "last")) {
                    emu_sb_add(out, " NULLS LAST");
                } else {
                    return syntax(p);
                }
            }
            first = 0;
        } while (accept_op(p, ","));
    }
    if (is_kw(p, "rows") || is_kw(p, "range")) {
        return unsupported(p, "A window frame (ROWS/RANGE BETWEEN ...)");
    }
    if (!accept_op(p, ")")) {
        return syntax(p);
    }
    emu_sb_add(out, ")");
    p->x->nwindows++;
    return 0;
}

typedef enum { F_SCALAR, F_AGG, F_WINDOW } fclass_t;

typedef struct fdef {
    const char *name;
    fclass_t cls;
    int min, max; /* arguments; max -1: any */
} fdef_t;

static const fdef_t k_funcs[] = {{"count", F_AGG, 1, 1},
                                 {"sum", F_AGG, 1, 1},
                                 {"avg", F_AGG, 1, 1},
                                 {"mean", F_AGG, 1, 1},
                                 {"min", F_AGG, 1, 1},
                                 {"max", F_AGG, 1, 1},
                                 {"max_by", F_AGG, 2, 2},
                                 {"min_by", F_AGG, 2, 2},
                                 {"row_number", F_WINDOW, 0, 0},
                                 {"rank", F_WINDOW, 0, 0},
                                 {"dense_rank", F_WINDOW, 0, 0},
                                 {"coalesce", F_SCALAR, 1, -1},
                                 {"ifnull", F_SCALAR, 2, 2},
                                 {"nvl", F_SCALAR, 2, 2},
                                 {"nullif", F_SCALAR, 2, 2},
                                 {"lower", F_SCALAR, 1, 1},
                                 {"lcase", F_SCALAR, 1, 1},
                                 {"upper", F_SCALAR, 1, 1},
                                 {"ucase", F_SCALAR, 1, 1},
                                 {"length", F_SCALAR, 1, 1},
                                 {"char_length", F_SCALAR, 1, 1},
                                 {"character_length", F_SCALAR, 1, 1},
                                 {"abs", F_SCALAR, 1, 1},
                                 {"round", F_SCALAR, 1, 2},
                                 {"substr", F_SCALAR, 2, 3},
                                 {"substring", F_SCALAR, 2, 3},
                                 {"trim", F_SCALAR, 1, 1},
                                 {"ltrim", F_SCALAR, 1, 1},
                                 {"rtrim", F_SCALAR, 1, 1},
                                 {"replace", F_SCALAR, 2, 3},
                                 {"instr", F_SCALAR, 2, 2},
                                 {"greatest", F_SCALAR, 2, -1},
                                 {"least", F_SCALAR, 2, -1},
                                 {"concat", F_SCALAR, 1, -1},
                                 {"current_timestamp", F_SCALAR, 0, 0},
                                 {"now", F_SCALAR, 0, 0},
                                 {"current_date", F_SCALAR, 0, 0},
                                 {"if", F_SCALAR, 3, 3},
                                 {"iff", F_SCALAR, 3, 3},
                                 {"isnull", F_SCALAR, 1, 1},
                                 {"isnotnull", F_SCALAR, 1, 1}};

static const fdef_t *find_func(const char *name)
{
    size_t k;

    for (k = 0; k < sizeof(k_funcs) / sizeof(k_funcs[0]); k++) {
        if (strcmp(name, k_funcs[k].name) == 0) {
            return &k_funcs[k];
        }
    }
    return NULL;
}

/* Emits a call with the arguments as they are (a = first index). */
static void call(emu_sbuf_t *out, const char *sqlname, frag_t *args, int a, int n, int distinct)
{
    int k;

    emu_sb_addf(out, "%s(%s", sqlname, distinct ? "DISTINCT " : "");
    for (k = a; k < n; k++) {
        emu_sb_addf(out, "%s%s", k > a ? ", " : "", sbt(&args[k].s));
    }
    emu_sb_add(out, ")");
}

/* Emits a call with numeric arguments (decimals as REAL). */
static void call_num(emu_sbuf_t *out, const char *sqlname, frag_t *args, int n)
{
    int k;

    emu_sb_addf(out, "%s(", sqlname);
    for (k = 0; k < n; k++) {
        emu_sb_add(out, k > 0 ? ", " : "");
        add_num(out, &args[k]);
    }
    emu_sb_add(out, ")");
}

/* The function body once its arguments are parsed. */
static int func_body(parser_t *p, const fdef_t *d, frag_t *args, int n, int distinct, int star,
                     frag_t *f)
{
    const char *nm = d->name;
    emu_xtype_t *t = &f->t;
    int k, p1, s1;

    set_unknown(t);
    if (strcmp(nm, "count") == 0) {
        if (star) {
            emu_sb_add(&f->s, "count(*)");
        } else {
            call(&f->s, "count", args, 0, n, distinct);
        }
        set_kind(t, EMU_T_BIGINT);
    } else if (strcmp(nm, "sum") == 0) {
        if (is_dec(&args[0].t)) {
            call(&f->s, "emu_dec_sum", args, 0, 1, distinct);
            dec_of(&args[0], &p1, &s1);
            set_decimal(p->x->cx, t, p1 + 10 > 38 ? 38 : p1 + 10, s1);
        } else {
            call(&f->s, "sum", args, 0, 1, distinct);
            if (is_int(&args[0].t) || is_kind(&args[0].t, EMU_T_BOOLEAN)) {
                set_kind(t, EMU_T_BIGINT);
            } else if (is_float(&args[0].t)) {
                set_kind(t, EMU_T_DOUBLE);
            }
        }
    } else if (strcmp(nm, "avg") == 0 || strcmp(nm, "mean") == 0) {
        emu_sb_addf(&f->s, "avg(%s", distinct ? "DISTINCT " : "");
        add_num(&f->s, &args[0]);
        emu_sb_add(&f->s, ")");
        set_kind(t, EMU_T_DOUBLE);
    } else if (strcmp(nm, "min") == 0 || strcmp(nm, "max") == 0) {
        call(&f->s, is_dec(&args[0].t) ? (nm[1] == 'i' ? "emu_dec_min" : "emu_dec_max") : nm, args,
             0, 1, distinct);
        *t = args[0].t;
    } else if (strcmp(nm, "max_by") == 0 || strcmp(nm, "min_by") == 0) {
        emu_sb_addf(&f->s, "%s(%s, ", nm[1] == 'a' ? "emu_max_by" : "emu_min_by", sbt(&args[0].s));
        add_num(&f->s, &args[1]);
        emu_sb_add(&f->s, ")");
        *t = args[0].t;
    } else if (d->cls == F_WINDOW) {
        emu_sb_addf(&f->s, "%s()", nm);
        set_kind(t, EMU_T_INT);
    } else if (strcmp(nm, "coalesce") == 0 || strcmp(nm, "ifnull") == 0 || strcmp(nm, "nvl") == 0) {
        if (n == 1) {
            emu_sb_add(&f->s, sbt(&args[0].s));
        } else {
            call(&f->s, "coalesce", args, 0, n, 0);
        }
        for (k = 0; k < n; k++) {
            pick_type(t, &args[k].t);
        }
    } else if (strcmp(nm, "nullif") == 0) {
        call(&f->s, "nullif", args, 0, n, 0);
        *t = args[0].t;
    } else if (strcmp(nm, "greatest") == 0 || strcmp(nm, "least") == 0) {
        call_num(&f->s, nm[0] == 'g' ? "emu_greatest" : "emu_least", args, n);
        for (k = 0; k < n; k++) {
            pick_type(t, &args[k].t);
        }
    } else if (strcmp(nm, "lower") == 0 || strcmp(nm, "lcase") == 0 || strcmp(nm, "upper") == 0 ||
               strcmp(nm, "ucase") == 0 || strcmp(nm, "trim") == 0 || strcmp(nm, "ltrim") == 0 ||
               strcmp(nm, "rtrim") == 0 || strcmp(nm, "replace") == 0 ||
               strcmp(nm, "substr") == 0 || strcmp(nm, "substring") == 0) {
        const char *sq = nm[0] == 'l' && nm[1] == 'c'    ? "lower"
                         : nm[0] == 'u' && nm[1] == 'c'  ? "upper"
                         : strncmp(nm, "substr", 6) == 0 ? "substr"
                                                         : nm;
        if (strcmp(nm, "replace") == 0 && n == 2) {
            emu_sb_addf(&f->s, "replace(%s, %s, '')", sbt(&args[0].s), sbt(&args[1].s));
        } else {
            call(&f->s, sq, args, 0, n, 0);
        }
        set_kind(t, EMU_T_STRING);
    } else if (strcmp(nm, "length") == 0 || strcmp(nm, "char_length") == 0 ||
               strcmp(nm, "character_length") == 0 || strcmp(nm, "instr") == 0) {
        call(&f->s, nm[0] == 'i' ? "instr" : "length", args, 0, n, 0);
        set_kind(t, EMU_T_INT);
    } else if (strcmp(nm, "abs") == 0 || strcmp(nm, "round") == 0) {
        call_num(&f->s, nm, args, n);
        *t = args[0].t;
    } else if (strcmp(nm, "concat") == 0) {
        emu_sb_add(&f->s, "(");
        for (k = 0; k < n; k++) {
            emu_sb_addf(&f->s, "%s%s", k > 0 ? " || " : "", sbt(&args[k].s));
        }
        emu_sb_add(&f->s, ")");
        set_kind(t, EMU_T_STRING);
    } else if (strcmp(nm, "current_timestamp") == 0 || strcmp(nm, "now") == 0 ||
               strcmp(nm, "current_date") == 0) {
        return constant_clock(p, nm[0] == 'n' ? "current_timestamp" : nm, f);
    } else if (strcmp(nm, "if") == 0 || strcmp(nm, "iff") == 0) {
        emu_sb_addf(&f->s, "(CASE WHEN %s THEN %s ELSE %s END)", sbt(&args[0].s), sbt(&args[1].s),
                    sbt(&args[2].s));
        pick_type(t, &args[1].t);
        pick_type(t, &args[2].t);
    } else if (strcmp(nm, "isnull") == 0 || strcmp(nm, "isnotnull") == 0) {
        emu_sb_addf(&f->s, "(%s IS %sNULL)", sbt(&args[0].s), nm[2] == 'n' ? "NOT " : "");
        set_kind(t, EMU_T_BOOLEAN);
    }
    return f->s.oom ? oom(p) : 0;
}

/* f(args) [OVER (...)]: the name is at the cursor, '(' after it. */
static int p_func(parser_t *p, frag_t *f)
{
    const char *name = cur(p)->val;
    const fdef_t *d = find_func(name);
    frag_t *args = NULL, *nv;
    int n = 0, star = 0, distinct = 0, rc = -1, k, cap = 4;

    if (strcmp(name, "cast") == 0 || strcmp(name, "try_cast") == 0) {
        toks(p)->i += 2;
        return p_cast(p, f, name[0] == 't');
    }
    if (d == NULL) {
        return emu_fail(p->x->cx, "42883",
                        "[UNRESOLVED_ROUTINE] Cannot resolve routine "
                        "`%.100s` (not emulated).",
                        name);
    }
    toks(p)->i += 2;
    args = calloc(cap, sizeof(*args));
    if (args == NULL) {
        return oom(p);
    }
    if (is_op(p, "*") && is_tok_op(ahead(p, 1), ")") && strcmp(name, "count") == 0) {
        toks(p)->i++;
        star = 1;
    } else if (!is_op(p, ")")) {
        distinct = accept_kw(p, "distinct");
        if (!distinct) {
            accept_kw(p, "all");
        }
        do {
            if (n >= MAX_ARGS) {
                syntax(p);
                goto out;
            }
            if (n == cap) {
                nv = realloc(args, (size_t)cap * 2 * sizeof(*args));
                if (nv == NULL) {
                    oom(p);
                    goto out;
                }
                memset(nv + cap, 0, (size_t)cap * sizeof(*nv));
                args = nv;
                cap *= 2;
            }
            if (p_expr(p, &args[n]) != 0) {
                goto out;
            }
            n++;
        } while (accept_op(p, ","));
    }
    if (!accept_op(p, ")")) {
        syntax(p);
        goto out;
    }
    if (!star && (n < d->min || (d->max >= 0 && n > d->max))) {
        emu_fail(p->x->cx, "42605",
                 "[WRONG_NUM_ARGS.WITHOUT_SUGGESTION] The `%s` requires %d "
                 "parameters but the actual number is %d.",
                 name, d->min, n);
        goto out;
    }
    if (distinct && d->cls != F_AGG) {
        syntax(p);
        goto out;
    }
    if (func_body(p, d, args, n, distinct, star, f) != 0) {
        goto out;
    }
    if (is_kw(p, "over")) {
        if (d->cls == F_SCALAR) {
            emu_fail(p->x->cx, "42K0E",
                     "[UNSUPPORTED_EXPR_FOR_WINDOW] Expression `%s` not "
                     "supported within a window function.",
                     name);
            goto out;
        }
        if (strcmp(name, "max_by") == 0 || strcmp(name, "min_by") == 0 ||
            ((strcmp(name, "min") == 0 || strcmp(name, "max") == 0) && is_dec(&args[0].t))) {
            unsupported(p, "max_by/min_by, or min/max of a DECIMAL, over a window");
            goto out;
        }
        if (window(p, &f->s, name) != 0) {
            goto out;
        }
    } else if (d->cls == F_WINDOW) {
        emu_fail(p->x->cx, "42601",
                 "[WINDOW_FUNCTION_WITHOUT_OVER_CLAUSE] Window function "
                 "\"%s\" requires an OVER clause.",
                 name);
        goto out;
    }
    rc = 0;
out:
    for (k = 0; k < cap; k++) {
        fr_free(&args[k]);
    }
    free(args);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Primary, unary, binary levels                                            */
/* ------------------------------------------------------------------------ */

static int p_primary(parser_t *p, frag_t *f)
{
    const emu_token_t *t = cur(p), *nx = ahead(p, 1);
    int ncols = 0;

    switch (t->kind) {
    case TK_NUMBER:
        return number(p, f);
    case TK_STRING:
        toks(p)->i++;
        emu_sb_addf(&f->s, "?%d", bind_text(p->x, t->val));
        set_kind(&f->t, EMU_T_STRING);
        return 0;
    case TK_PARAM:
        return param(p, f);
    case TK_QIDENT:
        return colref(p, f);
    case TK_OP:
        if (!is_tok_op(t, "(")) {
            return syntax(p);
        }
        if (starts_select(p)) {
            if (subquery(p, &f->s, &f->t, &ncols) != 0) {
                return -1;
            }
            if (ncols != 1) {
                return emu_fail(p->x->cx, "42823",
                                "[INVALID_SUBQUERY_EXPRESSION."
                                "SCALAR_SUBQUERY_RETURN_MORE_THAN_ONE_OUTPUT_"
                                "COLUMN] A scalar subquery must return one "
                                "column, not %d.",
                                ncols);
            }
            return 0;
        }
        toks(p)->i++;
        {
            frag_t e;
            int n = 0;
            memset(&e, 0, sizeof(e));
            emu_sb_add(&f->s, "(");
            do {
                if (p_expr(p, &e) != 0) {
                    fr_free(&e);
                    return -1;
                }
                emu_sb_addf(&f->s, "%s%s", n > 0 ? ", " : "", sbt(&e.s));
                if (n == 0) {
                    f->t = e.t;
                    f->lit_digits = e.lit_digits;
                }
                n++;
                fr_free(&e);
            } while (accept_op(p, ","));
            if (!accept_op(p, ")")) {
                return syntax(p);
            }
            emu_sb_add(&f->s, ")");
            if (n > 1) {
                f->row = n;
                set_unknown(&f->t);
            }
        }
        return f->s.oom ? oom(p) : 0;
    case TK_IDENT:
        break;
    default:
        return syntax(p);
    }
    if (strcmp(t->val, "null") == 0) {
        toks(p)->i++;
        emu_sb_add(&f->s, "NULL");
        set_unknown(&f->t);
        return 0;
    }
    if (strcmp(t->val, "true") == 0 || strcmp(t->val, "false") == 0) {
        toks(p)->i++;
        emu_sb_add(&f->s, t->val[0] == 't' ? "1" : "0");
        set_kind(&f->t, EMU_T_BOOLEAN);
        return 0;
    }
    if (strcmp(t->val, "case") == 0) {
        toks(p)->i++;
        return p_case(p, f);
    }
    if (strcmp(t->val, "exists") == 0 && is_tok_op(nx, "(")) {
        toks(p)->i++;
        if (!starts_select(p)) {
            return syntax(p);
        }
        emu_sb_add(&f->s, "EXISTS ");
        set_kind(&f->t, EMU_T_BOOLEAN);
        return subquery(p, &f->s, NULL, NULL);
    }
    if ((strcmp(t->val, "date") == 0 || strcmp(t->val, "timestamp") == 0 ||
         strcmp(t->val, "timestamp_ntz") == 0) &&
        nx->kind == TK_STRING) {
        return typed_literal(p, f);
    }
    if (strcmp(t->val, "interval") == 0 && nx->kind != TK_OP) {
        return unsupported(p, "INTERVAL");
    }
    if (is_tok_op(nx, "(")) {
        return p_func(p, f);
    }
    return colref(p, f);
}

static int p_unary(parser_t *p, frag_t *f)
{
    char type[512];
    frag_t a;

    if (++p->depth > MAX_NESTING) {
        return emu_fail(p->x->cx, "54001",
                        "[UNSUPPORTED_FEATURE] The expression nests deeper "
                        "than %d levels.",
                        MAX_NESTING);
    }
    if (accept_op(p, "-")) {
        memset(&a, 0, sizeof(a));
        if (p_unary(p, &a) != 0) {
            fr_free(&a);
            return -1;
        }
        if (is_dec(&a.t)) {
            emu_sb_addf(&f->s, "emu_dec_neg(%s)", sbt(&a.s));
        } else {
            emu_sb_addf(&f->s, "(- %s)", sbt(&a.s));
        }
        f->t = a.t;
        f->lit_digits = a.lit_digits;
        fr_free(&a);
        p->depth--;
        return f->s.oom ? oom(p) : 0;
    }
    if (accept_op(p, "+")) {
        int rc = p_unary(p, f);
        p->depth--;
        return rc;
    }
    if (p_primary(p, f) != 0) {
        return -1;
    }
    while (accept_op(p, "::")) {
        if (emu_parse_type(p->x->cx, type, sizeof(type)) != 0 || cast_to(p, f, type, 0, f) != 0) {
            return -1;
        }
    }
    p->depth--;
    return 0;
}

static int p_mul(parser_t *p, frag_t *f)
{
    frag_t r;
    const char *op;

    if (p_unary(p, f) != 0) {
        return -1;
    }
    for (;;) {
        op = is_op(p, "*")     ? "*"
             : is_op(p, "/")   ? "/"
             : is_op(p, "%")   ? "%"
             : is_kw(p, "div") ? "div"
                               : NULL;
        if (op == NULL) {
            return 0;
        }
        toks(p)->i++;
        memset(&r, 0, sizeof(r));
        if (p_unary(p, &r) != 0 || arith(p, op, f, &r, f) != 0) {
            fr_free(&r);
            return -1;
        }
        f->colname = NULL;
    }
}

static int p_add(parser_t *p, frag_t *f)
{
    frag_t r;
    const char *op;

    if (p_mul(p, f) != 0) {
        return -1;
    }
    for (;;) {
        op = is_op(p, "+") ? "+" : is_op(p, "-") ? "-" : is_op(p, "||") ? "||" : NULL;
        if (op == NULL) {
            return 0;
        }
        toks(p)->i++;
        memset(&r, 0, sizeof(r));
        if (p_mul(p, &r) != 0 || arith(p, op, f, &r, f) != 0) {
            fr_free(&r);
            return -1;
        }
        f->colname = NULL;
    }
}

/* [NOT] IN ( list | SELECT ... ) after the left side l (consumed into out). */
static int p_in(parser_t *p, frag_t *l, int not, frag_t *out)
{
    frag_t e, lc, c, acc;
    int n = 0, ncols = 0, rc = -1;

    memset(&e, 0, sizeof(e));
    memset(&lc, 0, sizeof(lc));
    memset(&c, 0, sizeof(c));
    memset(&acc, 0, sizeof(acc));
    if (starts_select(p)) {
        emu_sb_addf(&acc.s, "(%s %sIN ", sbt(&l->s), not ? "NOT " : "");
        if (subquery(p, &acc.s, NULL, &ncols) != 0) {
            goto out;
        }
        if (ncols != (l->row > 0 ? l->row : 1)) {
            emu_fail(p->x->cx, "42K09",
                     "[DATATYPE_MISMATCH.IN_SUBQUERY_LENGTH_MISMATCH] The "
                     "number of columns in the left hand side of an IN "
                     "subquery (%d) does not match the subquery's (%d).",
                     l->row > 0 ? l->row : 1, ncols);
            goto out;
        }
        emu_sb_add(&acc.s, ")");
    } else {
        /* (x = a OR x = b ...): each comparison with Spark's coercions and exact decimals */
        if (!accept_op(p, "(")) {
            syntax(p);
            goto out;
        }
        emu_sb_addf(&acc.s, "(%s(", not ? "NOT " : "");
        do {
            if (p_expr(p, &e) != 0 || fr_copy(p, l, &lc) != 0 || cmp(p, "=", &lc, &e, &c) != 0) {
                goto out;
            }
            emu_sb_addf(&acc.s, "%s%s", n++ > 0 ? " OR " : "", sbt(&c.s));
            fr_free(&c);
        } while (accept_op(p, ","));
        if (!accept_op(p, ")")) {
            syntax(p);
            goto out;
        }
        emu_sb_add(&acc.s, "))");
    }
    set_kind(&acc.t, EMU_T_BOOLEAN);
    fr_free(l);
    *out = acc;
    memset(&acc, 0, sizeof(acc));
    rc = out->s.oom ? oom(p) : 0;
out:
    fr_free(&e);
    fr_free(&lc);
    fr_free(&c);
    fr_free(&acc);
    return rc;
}

static int p_pred(parser_t *p, frag_t *f)
{
    static const char *const cmps[] = {"=", "==", "<>", "!=", "<", ">", "<=", ">=", "<=>", NULL};
    frag_t r, lo, hi, a, b;
    int k, not ;

    memset(&r, 0, sizeof(r));
    if (p_add(p, f) != 0) {
        return -1;
    }
    for (k = 0; cmps[k] != NULL; k++) {
        if (is_op(p, cmps[k])) {
            const char *op = strcmp(cmps[k], "==") == 0   ? "="
                             : strcmp(cmps[k], "!=") == 0 ? "<>"
                                                          : cmps[k];
            toks(p)->i++;
            f->colname = NULL;
            if (p_add(p, &r) != 0 || cmp(p, op, f, &r, f) != 0) {
                fr_free(&r);
                return -1;
            }
            return 0;
        }
    }
    if (accept_kw(p, "is")) {
        not = accept_kw(p, "not");
        if (accept_kw(p, "distinct")) {
            if (!accept_kw(p, "from") || p_add(p, &r) != 0) {
                fr_free(&r);
                return p->x->cx->res->message[0] != '\0' ? -1 : syntax(p);
            }
            if (cmp(p, "<=>", f, &r, &a) != 0) {
                return -1;
            }
            /* IS NOT DISTINCT FROM is <=>; IS DISTINCT FROM its negation */
            if (not ) {
                *f = a;
                return 0;
            }
            emu_sb_addf(&r.s, "(NOT %s)", sbt(&a.s));
            fr_free(&a);
        } else if (accept_kw(p, "null")) {
            emu_sb_addf(&r.s, "(%s IS %sNULL)", sbt(&f->s), not ? "NOT " : "");
            fr_free(f);
        } else if (is_kw(p, "true") || is_kw(p, "false")) {
            emu_sb_addf(&r.s, "(%s IS %s%d)", sbt(&f->s), not ? "NOT " : "", is_kw(p, "true"));
            toks(p)->i++;
            fr_free(f);
        } else {
            return syntax(p);
        }
        set_kind(&r.t, EMU_T_BOOLEAN);
        *f = r;
        return f->s.oom ? oom(p) : 0;
    }
    not = 0;
    if (is_kw(p, "not") && (is_tok_kw(ahead(p, 1), "in") || is_tok_kw(ahead(p, 1), "between") ||
                            is_tok_kw(ahead(p, 1), "like") || is_tok_kw(ahead(p, 1), "ilike"))) {
        toks(p)->i++;
        not = 1;
    }
    if (is_kw(p, "in") || is_kw(p, "between") || is_kw(p, "like") || is_kw(p, "ilike")) {
        f->colname = NULL;
    }
    if (accept_kw(p, "in")) {
        return p_in(p, f, not, f);
    }
    if (accept_kw(p, "between")) {
        memset(&lo, 0, sizeof(lo));
        memset(&hi, 0, sizeof(hi));
        memset(&a, 0, sizeof(a));
        memset(&b, 0, sizeof(b));
        if (p_add(p, &lo) != 0 || !accept_kw(p, "and") || p_add(p, &hi) != 0 ||
            fr_copy(p, f, &a) != 0 || cmp(p, ">=", &a, &lo, &a) != 0 ||
            cmp(p, "<=", f, &hi, &b) != 0) {
            fr_free(&lo);
            fr_free(&hi);
            fr_free(&a);
            fr_free(&b);
            return p->x->cx->res->message[0] != '\0' ? -1 : syntax(p);
        }
        memset(f, 0, sizeof(*f));
        emu_sb_addf(&f->s, "(%s(%s AND %s))", not ? "NOT " : "", sbt(&a.s), sbt(&b.s));
        set_kind(&f->t, EMU_T_BOOLEAN);
        fr_free(&a);
        fr_free(&b);
        return f->s.oom ? oom(p) : 0;
    }
    if (is_kw(p, "like") || is_kw(p, "ilike")) {
        int ci = is_kw(p, "ilike");
        toks(p)->i++;
        memset(&a, 0, sizeof(a));
        memset(&b, 0, sizeof(b));
        if (p_add(p, &r) != 0) {
            fr_free(&r);
            return -1;
        }
        if (accept_kw(p, "escape")) {
            if (cur(p)->kind != TK_STRING || strlen(cur(p)->val) != 1) {
                fr_free(&r);
                return syntax(p);
            }
            emu_sb_addf(&a.s, "?%d", bind_text(p->x, cur(p)->val));
            toks(p)->i++;
        } else {
            emu_sb_add(&a.s, "'\\'");
        }
        emu_sb_addf(&b.s, "(%semu_like(%s, %s, %s, %d))", not ? "NOT " : "", sbt(&f->s), sbt(&r.s),
                    sbt(&a.s), ci);
        fr_free(&r);
        fr_free(&a);
        fr_free(f);
        f->s = b.s;
        set_kind(&f->t, EMU_T_BOOLEAN);
        return f->s.oom ? oom(p) : 0;
    }
    if (not ) {
        return syntax(p);
    }
    return 0;
}

static int p_not(parser_t *p, frag_t *f)
{
    frag_t a;

    if (accept_kw(p, "not")) {
        memset(&a, 0, sizeof(a));
        if (p_not(p, &a) != 0) {
            fr_free(&a);
            return -1;
        }
        emu_sb_addf(&f->s, "(NOT %s)", sbt(&a.s));
        set_kind(&f->t, EMU_T_BOOLEAN);
        fr_free(&a);
        return f->s.oom ? oom(p) : 0;
    }
    return p_pred(p, f);
}

/* left (AND|OR) right ...; level 0 AND, 1 OR. */
static int p_logic(parser_t *p, frag_t *f, int level)
{
    const char *kw = level == 0 ? "and" : "or";
    frag_t r, o;

    if ((level == 0 ? p_not(p, f) : p_logic(p, f, 0)) != 0) {
        return -1;
    }
    while (accept_kw(p, kw)) {
        memset(&r, 0, sizeof(r));
        memset(&o, 0, sizeof(o));
        if ((level == 0 ? p_not(p, &r) : p_logic(p, &r, 0)) != 0) {
            fr_free(&r);
            return -1;
        }
        emu_sb_addf(&o.s, "(%s %s %s)", sbt(&f->s), level == 0 ? "AND" : "OR", sbt(&r.s));
        set_kind(&o.t, EMU_T_BOOLEAN);
        fr_free(f);
        fr_free(&r);
        *f = o;
        if (f->s.oom) {
            return oom(p);
        }
    }
    return 0;
}

static int p_expr(parser_t *p, frag_t *f)
{
    return p_logic(p, f, 1);
}

/* ------------------------------------------------------------------------ */
/* Entry points                                                             */
/* ------------------------------------------------------------------------ */

int emu_xl_parse(emu_xl_t *x, size_t end, emu_sbuf_t *out, emu_xtype_t *type, const char **colname)
{
    parser_t p = {x, end, 0};
    frag_t f;
    int rc;

    memset(&f, 0, sizeof(f));
    if (x->cx->tk->i >= end) {
        return emu_syntax(x->cx);
    }
    if (++x->cx->depth > MAX_NESTING) {
        x->cx->depth--;
        return emu_fail(x->cx, "54001",
                        "[UNSUPPORTED_FEATURE] The statement nests deeper than "
                        "%d levels.",
                        MAX_NESTING);
    }
    rc = p_expr(&p, &f);
    x->cx->depth--;
    if (rc == 0) {
        if (f.row > 0) {
            rc = emu_fail(x->cx, "42K09",
                          "[DATATYPE_MISMATCH] A row of values (a, b, ...) is "
                          "allowed only beside IN or a comparison.");
        } else {
            emu_sb_add(out, sbt(&f.s));
            if (type != NULL) {
                *type = f.t;
                if (type->text == NULL) {
                    type->text = "";
                }
            }
            if (colname != NULL) {
                *colname = f.colname;
            }
            if (out->oom || f.s.oom) {
                rc = emu_fail_code(x->cx, "INTERNAL_ERROR", "XX000",
                                   "[INTERNAL_ERROR] out of memory.");
            }
        }
    }
    fr_free(&f);
    return rc;
}

int emu_xl_expr(emu_xl_t *x, size_t end, emu_sbuf_t *out, emu_xtype_t *type)
{
    if (emu_xl_parse(x, end, out, type, NULL) != 0) {
        return -1;
    }
    if (x->cx->tk->i != end) {
        return emu_syntax(x->cx);
    }
    return 0;
}
