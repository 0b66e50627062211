/*
 * sql_lex: tokenizer of the emulator's SQL (see sql_lex.h). Bounded: every
 * token is a fresh allocation sized from the input, nothing is read past NUL.
 */
#define _POSIX_C_SOURCE 200809L
#include "sql_lex.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int is_word(int c)
{
    return isalnum(c) || c == '_';
}

static char *dup_range(const char *s, size_t n)
{
    char *p = malloc(n + 1);

    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* Appends a token; takes ownership of raw and val (freed on failure). */
static int push(emu_toks_t *t, emu_tk_kind_t kind, char *raw, char *val, size_t pos)
{
    emu_token_t *nv;

    if (raw == NULL || val == NULL) {
        goto fail;
    }
    nv = realloc(t->v, (t->n + 1) * sizeof(*nv));
    if (nv == NULL) {
        goto fail;
    }
    t->v = nv;
    t->v[t->n].kind = kind;
    t->v[t->n].raw = raw;
    t->v[t->n].val = val;
    t->v[t->n].pos = pos;
    t->n++;
    return 0;
fail:
    free(raw);
    free(val);
    return -1;
}

static void lower(char *s)
{
    for (; *s != '\0'; s++) {
        *s = (char)tolower((unsigned char)*s);
    }
}

/* Decodes a quoted literal starting at s[0] (the quote). Returns its length or 0. */
static size_t lex_string(const char *s, char **val)
{
    char q = s[0], *out;
    size_t i = 1, o = 0;

    out = malloc(strlen(s) + 1);
    if (out == NULL) {
        return 0;
    }
    for (;;) {
        char c = s[i];
        if (c == '\0') {
            free(out);
            return 0;
        }
        if (c == '\\' && s[i + 1] != '\0') {
            char e = s[i + 1];
            out[o++] = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e == '0' ? '\0' : e;
            i += 2;
            continue;
        }
        if (c == q) {
            if (s[i + 1] == q) {
                out[o++] = q;
                i += 2;
                continue;
            }
            i++;
            break;
        }
        out[o++] = c;
        i++;
    }
    out[o] = '\0';
    *val = out;
    return i;
}

static size_t lex_number(const char *s)
{
    size_t i = 0;

    while (isdigit((unsigned char)s[i])) {
        i++;
    }
    if (s[i] == '.') {
        i++;
        while (isdigit((unsigned char)s[i])) {
            i++;
        }
    }
    if ((s[i] == 'e' || s[i] == 'E') &&
        (isdigit((unsigned char)s[i + 1]) ||
         ((s[i + 1] == '+' || s[i + 1] == '-') && isdigit((unsigned char)s[i + 2])))) {
        i += 2;
        while (isdigit((unsigned char)s[i])) {
            i++;
        }
    }
    /* Spark's typed suffixes: 10L, 1.5D, 2BD are accepted as plain numbers. */
    if (s[i] == 'L' || s[i] == 'l' || s[i] == 'D' || s[i] == 'd') {
        if (!is_word((unsigned char)s[i + 1])) {
            i++;
        }
    }
    return i;
}

static size_t skip_space(const char *s, size_t i)
{
    for (;;) {
        if (isspace((unsigned char)s[i])) {
            i++;
        } else if (s[i] == '-' && s[i + 1] == '-') {
            while (s[i] != '\0' && s[i] != '\n') {
                i++;
            }
        } else if (s[i] == '/' && s[i + 1] == '*') {
            const char *e = strstr(s + i + 2, "*/");
            i = e == NULL ? strlen(s) : (size_t)(e - s) + 2;
        } else {
            return i;
        }
    }
}

static int lex_one(const char *sql, size_t i, emu_toks_t *out, size_t *len)
{
    static const char *const ops2[] = {"<=", ">=", "<>", "!=", "==", "||", "::", "<=>", NULL};
    const char *s = sql + i;
    char *val = NULL;
    size_t n, k;

    if (isalpha((unsigned char)s[0]) || s[0] == '_') {
        for (n = 0; is_word((unsigned char)s[n]); n++) {
        }
        val = dup_range(s, n);
        if (val != NULL) {
            lower(val);
        }
        *len = n;
        return push(out, TK_IDENT, dup_range(s, n), val, i);
    }
    if (isdigit((unsigned char)s[0]) || (s[0] == '.' && isdigit((unsigned char)s[1]))) {
        n = lex_number(s);
        if (is_word((unsigned char)s[n])) {
            return -1;
        }
        val = dup_range(s, n);
        if (val != NULL && n > 0 && strchr("LlDd", val[n - 1]) != NULL) {
            val[n - 1] = '\0';
        }
        *len = n;
        return push(out, TK_NUMBER, dup_range(s, n), val, i);
    }
    if (s[0] == '\'' || s[0] == '"') {
        n = lex_string(s, &val);
        if (n == 0) {
            return -1;
        }
        *len = n;
        return push(out, TK_STRING, dup_range(s, n), val, i);
    }
    if (s[0] == '`') {
        const char *e = strchr(s + 1, '`');
        if (e == NULL || e == s + 1) {
            return -1;
        }
        n = (size_t)(e - s) + 1;
        val = dup_range(s + 1, n - 2);
        if (val != NULL) {
            lower(val);
        }
        *len = n;
        return push(out, TK_QIDENT, dup_range(s, n), val, i);
    }
    if (s[0] == ':' && (isalpha((unsigned char)s[1]) || s[1] == '_')) {
        for (n = 1; is_word((unsigned char)s[n]); n++) {
        }
        *len = n;
        return push(out, TK_PARAM, dup_range(s, n), dup_range(s + 1, n - 1), i);
    }
    for (k = 0; ops2[k] != NULL; k++) {
        size_t ol = strlen(ops2[k]);
        if (strncmp(s, ops2[k], ol) == 0) {
            *len = ol;
            return push(out, TK_OP, dup_range(s, ol), dup_range(s, ol), i);
        }
    }
    if (strchr("(),.;*=<>+-/%:[]{}", s[0]) != NULL && s[0] != '\0') {
        *len = 1;
        return push(out, TK_OP, dup_range(s, 1), dup_range(s, 1), i);
    }
    return -1;
}

int emu_lex(const char *sql, emu_toks_t *out, size_t *errpos)
{
    size_t i = 0, len = 0;

    memset(out, 0, sizeof(*out));
    for (;;) {
        i = skip_space(sql, i);
        if (sql[i] == '\0') {
            break;
        }
        if (lex_one(sql, i, out, &len) != 0) {
            *errpos = i;
            return -1;
        }
        i += len;
    }
    if (push(out, TK_EOF, strdup("end of input"), strdup(""), i) != 0) {
        *errpos = i;
        return -1;
    }
    return 0;
}

void emu_lex_free(emu_toks_t *t)
{
    size_t k;

    if (t == NULL) {
        return;
    }
    for (k = 0; k < t->n; k++) {
        free(t->v[k].raw);
        free(t->v[k].val);
    }
    free(t->v);
    memset(t, 0, sizeof(*t));
}

const emu_token_t *emu_tk_at(const emu_toks_t *t, size_t k)
{
    size_t j = t->i + k;

    return &t->v[j < t->n ? j : t->n - 1];
}

const emu_token_t *emu_tk_peek(const emu_toks_t *t)
{
    return emu_tk_at(t, 0);
}

int emu_tk_is_kw(const emu_toks_t *t, const char *kw)
{
    const emu_token_t *k = emu_tk_peek(t);

    return k->kind == TK_IDENT && strcasecmp(k->val, kw) == 0;
}

int emu_tk_accept_kw(emu_toks_t *t, const char *kw)
{
    if (emu_tk_is_kw(t, kw)) {
        t->i++;
        return 1;
    }
    return 0;
}

int emu_tk_is_op(const emu_toks_t *t, const char *op)
{
    const emu_token_t *k = emu_tk_peek(t);

    return k->kind == TK_OP && strcmp(k->val, op) == 0;
}

int emu_tk_accept_op(emu_toks_t *t, const char *op)
{
    if (emu_tk_is_op(t, op)) {
        t->i++;
        return 1;
    }
    return 0;
}

int emu_tk_at_end(emu_toks_t *t)
{
    while (emu_tk_accept_op(t, ";")) {
    }
    return emu_tk_peek(t)->kind == TK_EOF;
}
