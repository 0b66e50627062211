/*
 * sql_lex: the tokenizer of the emulator's SQL dialect (a subset of Databricks
 * SQL). A statement is split into tokens once, up front; parsers walk the array.
 *
 * Tokens keep their raw text (for "Syntax error at or near 'X'") and a decoded
 * value: identifiers lower-cased (Unity Catalog names are case-insensitive),
 * backquoted identifiers unquoted, string literals unescaped, parameter names
 * without the colon. Every string is owned by the token array.
 */
#ifndef EMU_SQL_LEX_H
#define EMU_SQL_LEX_H

#include <stddef.h>

typedef enum {
    TK_EOF = 0,
    TK_IDENT,  /* bare word: keyword or identifier */
    TK_QIDENT, /* `quoted identifier` */
    TK_STRING, /* 'literal' or "literal" */
    TK_NUMBER, /* 12, 1.5, 1e3 */
    TK_PARAM,  /* :name */
    TK_OP      /* punctuation and operators */
} emu_tk_kind_t;

typedef struct emu_token {
    emu_tk_kind_t kind;
    char *raw;  /* as written (owned) */
    char *val;  /* decoded value (owned) */
    size_t pos; /* byte offset in the statement */
} emu_token_t;

typedef struct emu_toks {
    emu_token_t *v;
    size_t n; /* count, the last one is TK_EOF */
    size_t i; /* cursor */
} emu_toks_t;

/* Tokenizes sql into out (cleared first). Returns 0, or -1 with the byte offset
 * of the offending character in *errpos (unterminated literal, stray byte).
 * Ownership: out owns every string; free with emu_lex_free. Thread: any. */
int emu_lex(const char *sql, emu_toks_t *out, size_t *errpos);
/* Frees the tokens; NULL is a no-op. */
void emu_lex_free(emu_toks_t *t);

/* Borrowed pointer to the current token (never NULL: the EOF token at the end). */
const emu_token_t *emu_tk_peek(const emu_toks_t *t);
/* Token at cursor + k, clamped to EOF. */
const emu_token_t *emu_tk_at(const emu_toks_t *t, size_t k);
/* 1 when the current token is the bare word kw (case-insensitive). */
int emu_tk_is_kw(const emu_toks_t *t, const char *kw);
/* Consumes kw when present; returns 1 if consumed. */
int emu_tk_accept_kw(emu_toks_t *t, const char *kw);
/* 1 when the current token is the operator op. */
int emu_tk_is_op(const emu_toks_t *t, const char *op);
/* Consumes op when present; returns 1 if consumed. */
int emu_tk_accept_op(emu_toks_t *t, const char *op);
/* 1 when only EOF (and optional ';') remain. */
int emu_tk_at_end(emu_toks_t *t);

#endif
