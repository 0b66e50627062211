/*
 * sql_params: named parameters (:name) and literal values of the emulator's
 * SQL. Parameter values arrive as strings (Statement Execution API
 * "parameters"); a missing or null value is SQL NULL. Values are only ever
 * bound, never spliced into SQLite text.
 */
#define _POSIX_C_SOURCE 200809L
#include "engine_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int emu_param_get(const emu_ctx_t *cx, const char *name, const char **value, const char **type)
{
    size_t k;
    json_t *p;

    json_array_foreach(cx->params, k, p)
    {
        const char *n = json_string_value(json_object_get(p, "name"));
        if (n != NULL && strcasecmp(n, name) == 0) {
            *value = json_string_value(json_object_get(p, "value"));
            *type = json_string_value(json_object_get(p, "type"));
            return 1;
        }
    }
    return 0;
}

int emu_param_unbound(emu_ctx_t *cx, const char *name)
{
    return emu_fail(cx, "42P02",
                    "[UNBOUND_SQL_PARAMETER] Found the unbound parameter: %.200s. "
                    "Please, fix `args` and provide a mapping of the parameter to "
                    "either a SQL literal or collection constructor functions.",
                    name);
}

static char *dup_or_fail(emu_ctx_t *cx, const char *s)
{
    char *p = strdup(s);

    if (p == NULL) {
        emu_fail_code(cx, "INTERNAL_ERROR", "XX000", "[INTERNAL_ERROR] out of memory.");
    }
    return p;
}

int emu_parse_value(emu_ctx_t *cx, char **out, int *is_null)
{
    const emu_token_t *t = emu_tk_peek(cx->tk);
    const char *v = NULL, *type = NULL;
    char buf[256];

    *out = NULL;
    *is_null = 0;
    if (t->kind == TK_IDENT && (strcmp(t->val, "date") == 0 || strcmp(t->val, "timestamp") == 0) &&
        emu_tk_at(cx->tk, 1)->kind == TK_STRING) {
        cx->tk->i++; /* typed literal: DATE '2026-01-01' */
        t = emu_tk_peek(cx->tk);
    }
    if (t->kind == TK_STRING || t->kind == TK_NUMBER) {
        cx->tk->i++;
        *out = dup_or_fail(cx, t->val);
        return *out != NULL ? 0 : -1;
    }
    if (t->kind == TK_OP && strcmp(t->val, "-") == 0 && emu_tk_at(cx->tk, 1)->kind == TK_NUMBER) {
        snprintf(buf, sizeof(buf), "-%s", emu_tk_at(cx->tk, 1)->val);
        cx->tk->i += 2;
        *out = dup_or_fail(cx, buf);
        return *out != NULL ? 0 : -1;
    }
    if (t->kind == TK_IDENT && (strcmp(t->val, "true") == 0 || strcmp(t->val, "false") == 0)) {
        cx->tk->i++;
        *out = dup_or_fail(cx, t->val);
        return *out != NULL ? 0 : -1;
    }
    if (t->kind == TK_IDENT && strcmp(t->val, "null") == 0) {
        cx->tk->i++;
        *is_null = 1;
        return 0;
    }
    if (t->kind == TK_PARAM) {
        if (!emu_param_get(cx, t->val, &v, &type)) {
            return emu_param_unbound(cx, t->val);
        }
        cx->tk->i++;
        if (v == NULL) {
            *is_null = 1;
            return 0;
        }
        *out = dup_or_fail(cx, v);
        return *out != NULL ? 0 : -1;
    }
    return emu_syntax(cx);
}

int emu_table_touch(emu_ctx_t *cx, const char *id, long long files, long long bytes)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;

    if (sqlite3_prepare_v2(cx->eng->db,
                           "UPDATE emu_tables SET num_files = num_files + ?2, size_bytes = "
                           "size_bytes + ?3, modified_ms = ?4 WHERE id = ?1",
                           -1, &st, NULL) != SQLITE_OK) {
        return emu_fail_db(cx, "prepare");
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, files);
    sqlite3_bind_int64(st, 3, bytes);
    sqlite3_bind_int64(st, 4, emu_now_ms());
    if (sqlite3_step(st) != SQLITE_DONE) {
        emu_fail_db(cx, "touch");
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    return rc;
}
