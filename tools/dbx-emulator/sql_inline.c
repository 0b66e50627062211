/*
 * sql_inline: the table-valued function inline(from_json(<json>, '<schema>'))
 * in a FROM clause, where <json> is a :parameter or a string literal and
 * <schema> is 'ARRAY<STRUCT<name: TYPE, ...>>'. It lets one statement carry any
 * number of rows in one parameter, so the statement text does not grow with
 * them (a batched MERGE source, a batched lookup).
 *
 * The rows go into a temporary SQLite table of the statement (columns c0, c1, ...
 * typed by the struct fields), which the caller then reads like a table.
 * Values follow Spark's from_json in its default PERMISSIVE mode (with partial
 * results, as current runtimes): a field whose JSON value has the wrong type
 * is NULL, a missing field is NULL, field names match JSON keys exactly (case
 * matters), input that is not JSON gives no rows, a single object is read as
 * a one-element array, and an element that is not an object is a row of NULLs.
 */
#define _POSIX_C_SOURCE 200809L
#include "engine_int.h"
#include "sql_expr.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int oom(emu_ctx_t *cx)
{
    return emu_fail_code(cx, "INTERNAL_ERROR", "XX000", "[INTERNAL_ERROR] out of memory.");
}

/* ------------------------------------------------------------------------ */
/* The schema string                                                        */
/* ------------------------------------------------------------------------ */

static int add_field(emu_ctx_t *cx, emu_table_t *t, const char *name, const char *type)
{
    emu_col_t *nv;
    int k;

    if (t->ncols >= EMU_MAX_COLUMNS) {
        return emu_syntax(cx);
    }
    for (k = 0; k < t->ncols; k++) {
        if (strcmp(t->cols[k].name, name) == 0) {
            return emu_syntax(cx);
        }
    }
    nv = realloc(t->cols, (size_t)(t->ncols + 1) * sizeof(*nv));
    if (nv == NULL) {
        return oom(cx);
    }
    t->cols = nv;
    emu_col_set(&t->cols[t->ncols++], name, type, 1);
    return 0;
}

/* ARRAY<STRUCT<a: T, b T, c:T, ...>> on the current token array. */
static int schema_fields(emu_ctx_t *cx, emu_table_t *t)
{
    emu_toks_t *tk = cx->tk;
    char type[512];

    if (!emu_tk_accept_kw(tk, "ARRAY") || !emu_tk_accept_op(tk, "<") ||
        !emu_tk_accept_kw(tk, "STRUCT") || !emu_tk_accept_op(tk, "<")) {
        return emu_syntax(cx);
    }
    do {
        const emu_token_t *f = emu_tk_peek(tk);
        const char *name = f->kind == TK_QIDENT ? f->val : f->raw;
        if ((f->kind != TK_IDENT && f->kind != TK_QIDENT) || !emu_ident_valid(name)) {
            return emu_syntax(cx);
        }
        tk->i++;
        emu_tk_accept_op(tk, ":"); /* "name:TYPE" lexes as a word and a :PARAM token */
        if (emu_parse_type(cx, type, sizeof(type)) != 0 || add_field(cx, t, name, type) != 0) {
            return -1;
        }
    } while (emu_tk_accept_op(tk, ","));
    if (!emu_tk_accept_op(tk, ">") || !emu_tk_accept_op(tk, ">") || !emu_tk_at_end(tk)) {
        return emu_syntax(cx);
    }
    return 0;
}

/* Parses the schema text into t's columns; a bad schema fails naming it. */
static int parse_schema(emu_ctx_t *cx, const char *text, emu_table_t *t)
{
    emu_toks_t tk, *saved_tk = cx->tk;
    emu_result_t scratch, *saved_res = cx->res;
    size_t errpos = 0;
    int rc = -1, k;

    memset(&tk, 0, sizeof(tk));
    memset(&scratch, 0, sizeof(scratch));
    if (emu_lex(text, &tk, &errpos) == 0) {
        cx->tk = &tk;
        cx->res = &scratch; /* the inner parser's words are replaced by one clear error */
        rc = schema_fields(cx, t);
        cx->tk = saved_tk;
        cx->res = saved_res;
    }
    emu_lex_free(&tk);
    emu_result_clear(&scratch);
    if (rc != 0) {
        return emu_fail(cx, "42K07",
                        "[INVALID_SCHEMA.PARSE_ERROR] The input schema \"%.200s\" is "
                        "not a valid schema string: the emulator's from_json reads "
                        "'ARRAY<STRUCT<name: TYPE, ...>>'.",
                        text);
    }
    for (k = 0; k < t->ncols; k++) {
        if (t->cols[k].kind == EMU_T_BINARY) {
            return emu_fail(cx, "0A000",
                            "[UNSUPPORTED_FEATURE] BINARY fields in from_json are "
                            "not emulated (field `%s`).",
                            t->cols[k].name);
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Values, as from_json reads them                                          */
/* ------------------------------------------------------------------------ */

static void bind_int_field(sqlite3_stmt *st, int idx, const emu_col_t *col, const json_t *v)
{
    static const long long lim[][2] = {
        {LLONG_MIN, LLONG_MAX}, {INT_MIN, INT_MAX}, {-32768, 32767}, {-128, 127}};
    int which = col->kind == EMU_T_BIGINT     ? 0
                : col->kind == EMU_T_INT      ? 1
                : col->kind == EMU_T_SMALLINT ? 2
                                              : 3;
    long long l;

    if (!json_is_integer(v)) {
        sqlite3_bind_null(st, idx); /* a string or a real is a type mismatch: NULL */
        return;
    }
    l = (long long)json_integer_value(v);
    if (l < lim[which][0] || l > lim[which][1]) {
        sqlite3_bind_null(st, idx);
        return;
    }
    sqlite3_bind_int64(st, idx, l);
}

/* Binds text converted to col (TIMESTAMP, DATE, DECIMAL), or NULL when it does not convert. */
static void bind_converted(sqlite3_stmt *st, int idx, const emu_col_t *col, const char *text)
{
    char err[256];

    if (emu_bind_text_as(st, idx, col, text, err, sizeof(err)) != 0) {
        sqlite3_bind_null(st, idx);
    }
}

static void bind_field(sqlite3_stmt *st, int idx, const emu_col_t *col, const json_t *v)
{
    char buf[64], *dump;

    if (v == NULL || json_is_null(v)) {
        sqlite3_bind_null(st, idx);
        return;
    }
    switch (col->kind) {
    case EMU_T_BIGINT:
    case EMU_T_INT:
    case EMU_T_SMALLINT:
    case EMU_T_TINYINT:
        bind_int_field(st, idx, col, v);
        return;
    case EMU_T_DOUBLE:
    case EMU_T_FLOAT:
        if (json_is_number(v)) {
            sqlite3_bind_double(st, idx, json_number_value(v));
        } else {
            sqlite3_bind_null(st, idx);
        }
        return;
    case EMU_T_BOOLEAN:
        if (json_is_boolean(v)) {
            sqlite3_bind_int(st, idx, json_is_true(v));
        } else {
            sqlite3_bind_null(st, idx);
        }
        return;
    case EMU_T_TIMESTAMP:
        if (json_is_integer(v) && json_integer_value(v) > -9000000000000LL &&
            json_integer_value(v) < 9000000000000LL) {
            /* a number is seconds since the epoch */
            emu_timestamp_from_micros((long long)json_integer_value(v) * 1000000LL, buf,
                                      sizeof(buf));
            sqlite3_bind_text(st, idx, buf, -1, SQLITE_TRANSIENT);
        } else if (json_is_string(v)) {
            bind_converted(st, idx, col, json_string_value(v));
        } else {
            sqlite3_bind_null(st, idx);
        }
        return;
    case EMU_T_DATE:
        if (json_is_string(v)) {
            bind_converted(st, idx, col, json_string_value(v));
        } else {
            sqlite3_bind_null(st, idx);
        }
        return;
    case EMU_T_DECIMAL:
        if (json_is_integer(v)) {
            snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
        } else if (json_is_real(v)) {
            snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
        } else if (json_is_string(v)) {
            bind_converted(st, idx, col, json_string_value(v));
            return;
        } else {
            sqlite3_bind_null(st, idx);
            return;
        }
        bind_converted(st, idx, col, buf);
        return;
    case EMU_T_STRUCT:
    case EMU_T_MAP:
    case EMU_T_ARRAY:
        if ((col->kind == EMU_T_ARRAY && !json_is_array(v)) ||
            (col->kind != EMU_T_ARRAY && !json_is_object(v))) {
            sqlite3_bind_null(st, idx);
            return;
        }
        break;
    default: /* STRING: a string as is, anything else as its JSON text */
        if (json_is_string(v)) {
            sqlite3_bind_text(st, idx, json_string_value(v), -1, SQLITE_TRANSIENT);
            return;
        }
        break;
    }
    dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (dump == NULL) {
        sqlite3_bind_null(st, idx);
        return;
    }
    sqlite3_bind_text(st, idx, dump, -1, free);
}

/* ------------------------------------------------------------------------ */
/* The temporary table                                                      */
/* ------------------------------------------------------------------------ */

static int create_table(emu_ctx_t *cx, const emu_table_t *t, sqlite3_stmt **ins)
{
    emu_sbuf_t sql = {0};
    int k, rc = -1;

    emu_sb_addf(&sql, "CREATE TEMP TABLE %s(", t->data);
    for (k = 0; k < t->ncols; k++) {
        emu_sb_addf(&sql, "%sc%d", k > 0 ? ", " : "", k);
    }
    emu_sb_add(&sql, ")");
    if (sql.oom || emu_exec(cx, sql.p) != 0) {
        goto out;
    }
    sql.len = 0;
    emu_sb_addf(&sql, "INSERT INTO %s VALUES(", t->data);
    for (k = 0; k < t->ncols; k++) {
        emu_sb_addf(&sql, "%s?%d", k > 0 ? ", " : "", k + 1);
    }
    emu_sb_add(&sql, ")");
    if (sql.oom || sqlite3_prepare_v2(cx->eng->db, sql.p, -1, ins, NULL) != SQLITE_OK) {
        emu_fail_db(cx, "inline");
        goto out;
    }
    rc = 0;
out:
    emu_sb_free(&sql);
    return rc;
}

static int insert_element(emu_ctx_t *cx, const emu_table_t *t, sqlite3_stmt *ins,
                          const json_t *elem)
{
    int k;

    sqlite3_reset(ins);
    sqlite3_clear_bindings(ins);
    for (k = 0; k < t->ncols && json_is_object(elem); k++) {
        bind_field(ins, k + 1, &t->cols[k], json_object_get(elem, t->cols[k].name));
    }
    return sqlite3_step(ins) == SQLITE_DONE ? 0 : emu_fail_db(cx, "inline");
}

/* Fills the table from the JSON text (NULL: no rows). */
static int fill(emu_ctx_t *cx, const emu_table_t *t, sqlite3_stmt *ins, const char *text)
{
    json_error_t je;
    json_t *doc = text != NULL ? json_loads(text, 0, &je) : NULL, *elem;
    size_t k;
    int rc = 0;

    if (json_is_object(doc)) {
        rc = insert_element(cx, t, ins, doc);
    } else if (json_is_array(doc)) {
        json_array_foreach(doc, k, elem)
        {
            if ((rc = insert_element(cx, t, ins, elem)) != 0) {
                break;
            }
        }
    }
    json_decref(doc);
    return rc;
}

/* The :param or 'literal' holding the JSON; *text borrowed (NULL for SQL NULL). */
static int json_arg(emu_ctx_t *cx, const char **text)
{
    const emu_token_t *a = emu_tk_peek(cx->tk);
    const char *type = NULL;

    if (a->kind == TK_STRING) {
        *text = a->val;
    } else if (a->kind == TK_PARAM) {
        if (!emu_param_get(cx, a->val, text, &type)) {
            return emu_param_unbound(cx, a->val);
        }
    } else {
        return emu_fail(cx, "0A000",
                        "[UNSUPPORTED_FEATURE] The emulator's from_json reads a "
                        ":parameter or a string literal, not '%.100s'.",
                        a->raw);
    }
    cx->tk->i++;
    return 0;
}

int emu_inline_load(emu_ctx_t *cx, emu_table_t *t)
{
    emu_toks_t *tk = cx->tk;
    const char *text = NULL, *schema;
    sqlite3_stmt *ins = NULL;
    int rc = -1;

    if (!emu_tk_accept_kw(tk, "INLINE") || !emu_tk_accept_op(tk, "(")) {
        return emu_syntax(cx);
    }
    if (!emu_tk_accept_kw(tk, "FROM_JSON") || !emu_tk_accept_op(tk, "(")) {
        return emu_fail(cx, "0A000",
                        "[UNSUPPORTED_FEATURE] The emulator's inline() takes "
                        "from_json(<json>, '<schema>') as its argument.");
    }
    if (json_arg(cx, &text) != 0) {
        return -1;
    }
    if (!emu_tk_accept_op(tk, ",") || emu_tk_peek(tk)->kind != TK_STRING) {
        return emu_syntax(cx);
    }
    schema = emu_tk_peek(tk)->val;
    tk->i++;
    if (!emu_tk_accept_op(tk, ")") || !emu_tk_accept_op(tk, ")")) {
        return emu_syntax(cx);
    }
    memset(t, 0, sizeof(*t));
    snprintf(t->name.o, sizeof(t->name.o), "inline");
    emu_temp_name(cx, t->data, sizeof(t->data));
    if (parse_schema(cx, schema, t) != 0 || create_table(cx, t, &ins) != 0 ||
        fill(cx, t, ins, text) != 0) {
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(ins);
    return rc;
}
