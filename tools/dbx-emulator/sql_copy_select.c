/*
 * sql_copy_select: the SELECT form of COPY INTO,
 *
 *   COPY INTO t FROM (SELECT item, ... FROM '/Volumes/c/s/v/dir/') FILEFORMAT = ...
 *
 * An item is `*` (every file column), a file column (`col [AS name]`), a
 * `_metadata.file_path | file_name | file_size` field, or a value computed once
 * per statement and named with AS: a literal (string, number, true/false, NULL,
 * DATE '...', TIMESTAMP '...'), a :parameter, current_timestamp() / now() /
 * current_date(), or CAST(<one of those> AS type). Each file read is projected
 * onto the list before it meets the table, so the rest of COPY INTO (schema
 * reconciliation, mergeSchema, load history keyed by the file's path) is the
 * same as for the plain form. Anything else (arithmetic on file columns,
 * functions of them) fails with [UNSUPPORTED_FEATURE], never silently.
 */
#define _POSIX_C_SOURCE 200809L
#include "sql_copy.h"
#include "sql_expr.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_ITEMS 256

static int oom(emu_ctx_t *cx)
{
    return emu_fail_code(cx, "INTERNAL_ERROR", "XX000", "[INTERNAL_ERROR] out of memory.");
}

static int unsupported(emu_ctx_t *cx, size_t at)
{
    return emu_fail(cx, "0A000",
                    "[UNSUPPORTED_FEATURE] The emulator's COPY INTO ... FROM (SELECT ...) takes *, "
                    "file columns, _metadata.file_path/file_name/file_size and values computed "
                    "once (literals, :parameters, current_timestamp(), CAST of those), not the "
                    "expression at '%.100s'.",
                    cx->tk->v[at].raw);
}

/* ------------------------------------------------------------------------ */
/* Values computed once per statement                                       */
/* ------------------------------------------------------------------------ */

/* A number literal: INT or BIGINT when integral, DECIMAL(p,s) with a dot, DOUBLE
 * with an exponent (Spark's literal types). neg: the literal had a leading '-'. */
static int number_value(emu_ctx_t *cx, const char *text, int neg, json_t **val, char *type,
                        size_t tlen)
{
    char buf[128], *end = NULL;
    const char *dot = strchr(text, '.');
    long long l;
    double d;

    snprintf(buf, sizeof(buf), "%s%s", neg ? "-" : "", text);
    if (strpbrk(text, "eE") != NULL) {
        errno = 0;
        d = strtod(buf, &end);
        if (errno != 0 || end == buf || *end != '\0') {
            return emu_fail(cx, "22003", "[NUMERIC_VALUE_OUT_OF_RANGE] %.100s is not a DOUBLE.",
                            buf);
        }
        *val = json_real(d);
        snprintf(type, tlen, "DOUBLE");
    } else if (dot != NULL) {
        int scale = (int)strlen(dot + 1), prec = (int)strlen(text) - 1;
        *val = json_string(buf);
        snprintf(type, tlen, "DECIMAL(%d,%d)", prec < scale ? scale : prec, scale);
    } else {
        errno = 0;
        l = strtoll(buf, &end, 10);
        if (errno != 0 || end == buf || *end != '\0') {
            return emu_fail(cx, "22003",
                            "[NUMERIC_VALUE_OUT_OF_RANGE] %.100s does not fit in a BIGINT.", buf);
        }
        *val = json_integer(l);
        snprintf(type, tlen, l >= INT_MIN && l <= INT_MAX ? "INT" : "BIGINT");
    }
    return *val != NULL ? 0 : oom(cx);
}

/* The type a parameter's declared type gives its column; STRING when none or complex. */
static const char *param_type(const char *t)
{
    static const char *const simple[][2] = {
        {"INT", "INT"},         {"INTEGER", "INT"},     {"BIGINT", "BIGINT"},
        {"LONG", "BIGINT"},     {"SMALLINT", "SMALLINT"}, {"TINYINT", "TINYINT"},
        {"DOUBLE", "DOUBLE"},   {"FLOAT", "FLOAT"},     {"BOOLEAN", "BOOLEAN"},
        {"DATE", "DATE"},       {"TIMESTAMP", "TIMESTAMP"}};
    size_t k;

    for (k = 0; t != NULL && k < sizeof(simple) / sizeof(simple[0]); k++) {
        if (strcasecmp(t, simple[k][0]) == 0) {
            return simple[k][1];
        }
    }
    return "STRING";
}

/* DATE '...' / TIMESTAMP '...' at the cursor. */
static int typed_literal(emu_ctx_t *cx, int is_date, json_t **val, char *type, size_t tlen)
{
    const emu_token_t *s = emu_tk_at(cx->tk, 1);
    char buf[64];
    int bad;

    bad = emu_timestamp_norm(s->val, buf, sizeof(buf)) != 0;
    if (!bad && is_date) {
        buf[10] = '\0'; /* YYYY-MM-DD of the normalised timestamp */
    }
    if (bad) {
        return emu_fail(cx, "42604", "[INVALID_TYPED_LITERAL] The value of the typed literal "
                                     "\"%s\" is invalid: '%.100s'.",
                        is_date ? "DATE" : "TIMESTAMP", s->val);
    }
    cx->tk->i += 2;
    *val = json_string(buf);
    snprintf(type, tlen, is_date ? "DATE" : "TIMESTAMP");
    return *val != NULL ? 0 : oom(cx);
}

/* current_timestamp[()] / now() / current_date[()]: the statement's start time. */
static int clock_value(emu_ctx_t *cx, const char *now_ts, json_t **val, char *type, size_t tlen)
{
    const emu_token_t *t = emu_tk_peek(cx->tk);
    int is_date = strcmp(t->val, "current_date") == 0, parens;
    char buf[64];

    parens = emu_tk_at(cx->tk, 1)->kind == TK_OP && strcmp(emu_tk_at(cx->tk, 1)->val, "(") == 0;
    if (strcmp(t->val, "now") == 0 && !parens) {
        return unsupported(cx, cx->tk->i);
    }
    cx->tk->i++;
    if (parens && (!emu_tk_accept_op(cx->tk, "(") || !emu_tk_accept_op(cx->tk, ")"))) {
        return emu_syntax(cx);
    }
    snprintf(buf, sizeof(buf), "%s", now_ts);
    if (is_date) {
        buf[10] = '\0';
    }
    *val = json_string(buf);
    snprintf(type, tlen, is_date ? "DATE" : "TIMESTAMP");
    return *val != NULL ? 0 : oom(cx);
}

static int const_value(emu_ctx_t *cx, size_t end, const char *now_ts, json_t **val, char *type,
                       size_t tlen, int depth);

/* CAST(<value> AS type): the value keeps its text and takes the type; it is
 * converted (or refused with [CAST_INVALID_INPUT]) when bound to the table. */
static int cast_value(emu_ctx_t *cx, const char *now_ts, json_t **val, char *type, size_t tlen,
                      int depth)
{
    static const char *const k_as[] = {"as", NULL};
    char inner[512];
    size_t as_at;

    cx->tk->i += 2; /* CAST ( */
    as_at = emu_xl_find(cx->tk, k_as, NULL);
    if (cx->tk->v[as_at].kind == TK_EOF ||
        const_value(cx, as_at, now_ts, val, inner, sizeof(inner), depth + 1) != 0) {
        return cx->res->message[0] != '\0' ? -1 : emu_syntax(cx);
    }
    if (!emu_tk_accept_kw(cx->tk, "AS") || emu_parse_type(cx, type, tlen) != 0 ||
        !emu_tk_accept_op(cx->tk, ")")) {
        return cx->res->message[0] != '\0' ? -1 : emu_syntax(cx);
    }
    return 0;
}

/* Evaluates the tokens [cursor, end) as one value computed once. *val new. */
static int const_value(emu_ctx_t *cx, size_t end, const char *now_ts, json_t **val, char *type,
                       size_t tlen, int depth)
{
    emu_toks_t *tk = cx->tk;
    const emu_token_t *t = emu_tk_peek(tk), *n = emu_tk_at(tk, 1);
    const char *v = NULL, *ptype = NULL;
    size_t at = tk->i;
    int rc = 0;

    *val = NULL;
    if (depth > 8) {
        return unsupported(cx, at);
    }
    if (t->kind == TK_NUMBER) {
        rc = number_value(cx, t->val, 0, val, type, tlen);
        tk->i++;
    } else if (t->kind == TK_OP && strcmp(t->val, "-") == 0 && n->kind == TK_NUMBER) {
        rc = number_value(cx, n->val, 1, val, type, tlen);
        tk->i += 2;
    } else if (t->kind == TK_STRING) {
        *val = json_string(t->val);
        snprintf(type, tlen, "STRING");
        tk->i++;
    } else if (t->kind == TK_IDENT && (strcmp(t->val, "true") == 0 || strcmp(t->val, "false") == 0)) {
        *val = json_boolean(strcmp(t->val, "true") == 0);
        snprintf(type, tlen, "BOOLEAN");
        tk->i++;
    } else if (t->kind == TK_IDENT && strcmp(t->val, "null") == 0) {
        *val = json_null();
        snprintf(type, tlen, "STRING");
        tk->i++;
    } else if (t->kind == TK_IDENT && (strcmp(t->val, "date") == 0 ||
                                       strcmp(t->val, "timestamp") == 0) && n->kind == TK_STRING) {
        rc = typed_literal(cx, strcmp(t->val, "date") == 0, val, type, tlen);
    } else if (t->kind == TK_IDENT &&
               (strcmp(t->val, "current_timestamp") == 0 || strcmp(t->val, "now") == 0 ||
                strcmp(t->val, "current_date") == 0)) {
        rc = clock_value(cx, now_ts, val, type, tlen);
    } else if (t->kind == TK_PARAM) {
        if (!emu_param_get(cx, t->val, &v, &ptype)) {
            return emu_param_unbound(cx, t->val);
        }
        *val = v != NULL ? json_string(v) : json_null();
        snprintf(type, tlen, "%s", param_type(ptype));
        tk->i++;
    } else if (t->kind == TK_IDENT && strcmp(t->val, "cast") == 0 && n->kind == TK_OP &&
               strcmp(n->val, "(") == 0) {
        rc = cast_value(cx, now_ts, val, type, tlen, depth);
    } else {
        return unsupported(cx, at);
    }
    if (rc != 0) {
        json_decref(*val);
        *val = NULL;
        return -1;
    }
    if (*val == NULL) {
        return oom(cx);
    }
    if (tk->i != end) {
        json_decref(*val);
        *val = NULL;
        return unsupported(cx, at);
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The select list                                                          */
/* ------------------------------------------------------------------------ */

static int is_value_word(const char *w)
{
    static const char *const words[] = {"true", "false", "null", "current_timestamp",
                                        "current_date", NULL};
    int k;

    for (k = 0; words[k] != NULL; k++) {
        if (strcmp(w, words[k]) == 0) {
            return 1;
        }
    }
    return 0;
}

static int add_item(emu_ctx_t *cx, emu_copy_select_t *sel, const emu_copy_item_t *it)
{
    emu_copy_item_t *nv;

    if (sel->nitems >= MAX_ITEMS) {
        return emu_fail(cx, "54011", "[TOO_MANY_ITEMS] At most %d select items.", MAX_ITEMS);
    }
    nv = realloc(sel->items, (size_t)(sel->nitems + 1) * sizeof(*nv));
    if (nv == NULL) {
        return oom(cx);
    }
    sel->items = nv;
    sel->items[sel->nitems++] = *it;
    return 0;
}

/* A file column or `_metadata.<field>` over tokens [a, b). Returns 1 when it is one. */
static int column_or_meta(emu_toks_t *tk, size_t a, size_t b, emu_copy_item_t *it)
{
    static const char *const meta[][2] = {
        {"file_path", "STRING"}, {"file_name", "STRING"}, {"file_size", "BIGINT"}};
    const emu_token_t *t = &tk->v[a];
    size_t k;

    if (b - a == 1 && (t->kind == TK_QIDENT || (t->kind == TK_IDENT && !is_value_word(t->val)))) {
        it->kind = EMU_CI_COLUMN;
        snprintf(it->src, sizeof(it->src), "%s", t->kind == TK_QIDENT ? t->val : t->raw);
        return 1;
    }
    if (b - a != 3 || t->kind != TK_IDENT || strcmp(t->val, "_metadata") != 0 ||
        tk->v[a + 1].kind != TK_OP || strcmp(tk->v[a + 1].val, ".") != 0) {
        return 0;
    }
    for (k = 0; k < sizeof(meta) / sizeof(meta[0]); k++) {
        if (strcmp(tk->v[a + 2].val, meta[k][0]) == 0) {
            it->kind = EMU_CI_META;
            snprintf(it->src, sizeof(it->src), "%s", meta[k][0]);
            snprintf(it->type, sizeof(it->type), "%s", meta[k][1]);
            return 1;
        }
    }
    return 0;
}

/* One item over tokens [cursor, end). */
static int parse_item(emu_ctx_t *cx, emu_copy_select_t *sel, size_t end, const char *now_ts)
{
    emu_toks_t *tk = cx->tk;
    size_t a = tk->i, b = end;
    const emu_token_t *last = &tk->v[end - 1];
    emu_copy_item_t it;
    char alias[EMU_NAME_MAX] = "";

    memset(&it, 0, sizeof(it));
    if (b - a >= 3 && tk->v[b - 2].kind == TK_IDENT && strcmp(tk->v[b - 2].val, "as") == 0 &&
        (last->kind == TK_IDENT || last->kind == TK_QIDENT)) {
        snprintf(alias, sizeof(alias), "%s", last->kind == TK_QIDENT ? last->val : last->raw);
        if (!emu_ident_valid(alias)) {
            return emu_fail(cx, "42000", "[INVALID_IDENTIFIER] The column name '%.100s' is not "
                                         "valid here (letters, digits and _).", alias);
        }
        b -= 2;
    }
    if (b - a == 1 && tk->v[a].kind == TK_OP && strcmp(tk->v[a].val, "*") == 0 && alias[0] == '\0') {
        it.kind = EMU_CI_STAR;
    } else if (column_or_meta(tk, a, b, &it)) {
        snprintf(it.name, sizeof(it.name), "%s", alias[0] != '\0' ? alias : it.src);
    } else {
        if (const_value(cx, b, now_ts, &it.value, it.type, sizeof(it.type), 0) != 0) {
            return -1;
        }
        if (alias[0] == '\0') {
            json_decref(it.value);
            return emu_fail(cx, "0A000", "[UNSUPPORTED_FEATURE] Name the computed column at "
                                         "'%.100s' with AS: the emulator does not derive names "
                                         "of computed COPY INTO columns.", tk->v[a].raw);
        }
        it.kind = EMU_CI_CONST;
        snprintf(it.name, sizeof(it.name), "%s", alias);
    }
    tk->i = end;
    if (add_item(cx, sel, &it) != 0) {
        json_decref(it.value);
        return -1;
    }
    return 0;
}

int emu_copy_select_parse(emu_ctx_t *cx, emu_copy_select_t *sel, char *source, size_t srclen)
{
    static const char *const k_from[] = {"from", NULL};
    emu_toks_t *tk = cx->tk;
    struct timespec ts;
    char now_ts[64];
    size_t end;

    /* One clock reading per statement, as Spark evaluates current_timestamp() once. */
    clock_gettime(CLOCK_REALTIME, &ts);
    emu_timestamp_from_micros((long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000, now_ts,
                              sizeof(now_ts));
    if (!emu_tk_accept_op(tk, "(") || !emu_tk_accept_kw(tk, "SELECT")) {
        return emu_syntax(cx);
    }
    for (;;) {
        end = emu_xl_find(tk, k_from, ",");
        if (end == tk->i || tk->v[end].kind == TK_EOF) {
            return emu_syntax(cx);
        }
        if (parse_item(cx, sel, end, now_ts) != 0) {
            return -1;
        }
        if (!emu_tk_accept_op(tk, ",")) {
            break;
        }
    }
    if (!emu_tk_accept_kw(tk, "FROM")) {
        return emu_syntax(cx);
    }
    if (emu_tk_peek(tk)->kind != TK_STRING) {
        return emu_fail(cx, "0A000", "[UNSUPPORTED_FEATURE] The emulator's COPY INTO ... FROM "
                                     "(SELECT ... FROM <source>) reads a '/Volumes/...' path "
                                     "only.");
    }
    snprintf(source, srclen, "%s", emu_tk_peek(tk)->val);
    tk->i++;
    return emu_tk_accept_op(tk, ")") ? 0 : emu_syntax(cx);
}

void emu_copy_select_free(emu_copy_select_t *sel)
{
    int k;

    if (sel == NULL) {
        return;
    }
    for (k = 0; k < sel->nitems; k++) {
        json_decref(sel->items[k].value);
    }
    free(sel->items);
    memset(sel, 0, sizeof(*sel));
}

/* ------------------------------------------------------------------------ */
/* Projection of one file                                                   */
/* ------------------------------------------------------------------------ */

static int find_file_col(const emu_filedata_t *d, const char *name)
{
    int k;

    for (k = 0; k < d->ncols; k++) {
        if (strcasecmp(d->cols[k].name, name) == 0) {
            return k;
        }
    }
    return -1;
}

/* Output columns of the projection: cols and, per column, the file column it
 * copies (>= 0) or -(item index + 1). */
static int project_columns(emu_ctx_t *cx, const emu_copy_select_t *sel, const emu_filedata_t *d,
                           emu_filedata_t *p, int *src)
{
    int k, j, c, n = 0;

    for (k = 0; k < sel->nitems; k++) {
        const emu_copy_item_t *it = &sel->items[k];
        if (it->kind == EMU_CI_STAR) {
            for (c = 0; c < d->ncols; c++) {
                p->cols[n] = d->cols[c];
                src[n++] = c;
            }
            continue;
        }
        if (it->kind == EMU_CI_COLUMN) {
            if ((c = find_file_col(d, it->src)) < 0) {
                return emu_fail(cx, "42703", "[UNRESOLVED_COLUMN.WITHOUT_SUGGESTION] A column, "
                                             "variable, or function parameter with name `%.200s` "
                                             "cannot be resolved.", it->src);
            }
            p->cols[n] = d->cols[c];
            snprintf(p->cols[n].name, sizeof(p->cols[n].name), "%s", it->name);
            src[n++] = c;
            continue;
        }
        emu_col_set(&p->cols[n], it->name, it->type, 1);
        src[n++] = -(k + 1);
    }
    p->ncols = n;
    for (k = 0; k < n; k++) {
        for (j = k + 1; j < n; j++) {
            if (strcasecmp(p->cols[k].name, p->cols[j].name) == 0) {
                return emu_fail(cx, "42711", "[DELTA_DUPLICATE_COLUMNS_FOUND] Found duplicate "
                                             "column(s) in the data to save: %s.",
                                p->cols[k].name);
            }
        }
    }
    return 0;
}

/* The value of a _metadata field for this file (new). */
static json_t *meta_value(const char *field, const char *vpath, long long bytes)
{
    const char *slash = strrchr(vpath, '/');

    if (strcmp(field, "file_size") == 0) {
        return json_integer(bytes);
    }
    return json_string(strcmp(field, "file_name") == 0 && slash != NULL ? slash + 1 : vpath);
}

static int copy_cell(emu_cell_t *to, const emu_cell_t *from)
{
    *to = *from;
    to->j = json_incref(from->j);
    if (from->is_blob && from->len > 0) {
        to->blob = malloc(from->len);
        if (to->blob == NULL) {
            return -1;
        }
        memcpy(to->blob, from->blob, from->len);
    } else {
        to->blob = NULL;
    }
    return 0;
}

int emu_copy_select_apply(emu_ctx_t *cx, const emu_copy_select_t *sel, const char *vpath,
                          emu_filedata_t *d)
{
    emu_filedata_t p;
    json_t **vals = NULL;
    int *src = NULL, ncap = 0, k, rc = -1;
    size_t r;

    memset(&p, 0, sizeof(p));
    for (k = 0; k < sel->nitems; k++) {
        ncap += sel->items[k].kind == EMU_CI_STAR ? d->ncols : 1;
    }
    p.cols = calloc((size_t)ncap + 1, sizeof(*p.cols));
    src = calloc((size_t)ncap + 1, sizeof(*src));
    vals = calloc((size_t)sel->nitems + 1, sizeof(*vals));
    if (p.cols == NULL || src == NULL || vals == NULL) {
        oom(cx);
        goto out;
    }
    if (project_columns(cx, sel, d, &p, src) != 0) {
        goto out;
    }
    for (k = 0; k < sel->nitems; k++) {
        const emu_copy_item_t *it = &sel->items[k];
        vals[k] = it->kind == EMU_CI_CONST  ? json_incref(it->value)
                  : it->kind == EMU_CI_META ? meta_value(it->src, vpath, d->bytes)
                                            : NULL;
    }
    p.cells = calloc(d->nrows * (size_t)p.ncols + 1, sizeof(*p.cells));
    if (p.cells == NULL) {
        oom(cx);
        goto out;
    }
    p.nrows = d->nrows;
    p.bytes = d->bytes;
    for (r = 0; r < d->nrows; r++) {
        for (k = 0; k < p.ncols; k++) {
            emu_cell_t *to = &p.cells[r * (size_t)p.ncols + k];
            if (src[k] >= 0) {
                if (copy_cell(to, &d->cells[r * (size_t)d->ncols + src[k]]) != 0) {
                    oom(cx);
                    goto out;
                }
            } else {
                to->j = json_incref(vals[-src[k] - 1]);
            }
        }
    }
    rc = 0;
out:
    for (k = 0; vals != NULL && k < sel->nitems; k++) {
        json_decref(vals[k]);
    }
    free(vals);
    free(src);
    emu_filedata_free(d);
    if (rc == 0) {
        *d = p;
    } else {
        emu_filedata_free(&p);
    }
    return rc;
}
