/*
 * sql_delete: DELETE FROM t [[AS] alias] [WHERE <condition>], as Delta runs it: the result is
 * one row, num_affected_rows (the rows deleted). The condition is any expression of
 * sql_expr, including subqueries over other tables or views:
 *   (a, b) IN (SELECT a, b FROM u)   and   EXISTS (SELECT 1 FROM u WHERE u.a = t.a)
 * It becomes DELETE FROM d_<id> WHERE rowid IN (SELECT r.rowid FROM d_<id> AS r WHERE ...),
 * so a correlated subquery names the target through its alias.
 * Privileges: MODIFY and SELECT on the table (plus SELECT on what the condition reads).
 */
#define _POSIX_C_SOURCE 200809L
#include "sql_expr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const k_alias_stop[] = {"where", NULL};

int emu_sql_delete(emu_ctx_t *cx)
{
    static const char *const names[] = {"num_affected_rows"};
    static const char *const types[] = {"BIGINT"};
    emu_toks_t *tk = cx->tk;
    emu_table_t t;
    emu_xl_t x;
    emu_sbuf_t sql = {0};
    sqlite3_stmt *st = NULL;
    char alias[EMU_NAME_MAX], count[32];
    const char *vals[1] = {count};
    const emu_token_t *a;
    long long n;
    int rc = -1;

    memset(&t, 0, sizeof(t));
    memset(&x, 0, sizeof(x));
    tk->i++; /* DELETE */
    if (!emu_tk_accept_kw(tk, "FROM")) {
        return emu_syntax(cx);
    }
    if (emu_parse_object(cx, &t.name) != 0 ||
        emu_table_require_table(cx, &t.name, &t, "DELETE") != 0) {
        return -1;
    }
    if (emu_require(cx, "MODIFY", EMU_ON_TABLE, &t.name) != 0 ||
        emu_require(cx, "SELECT", EMU_ON_TABLE, &t.name) != 0) {
        goto out;
    }
    snprintf(alias, sizeof(alias), "%s", t.name.o);
    emu_tk_accept_kw(tk, "AS");
    a = emu_tk_peek(tk);
    if ((a->kind == TK_IDENT || a->kind == TK_QIDENT) &&
        emu_xl_find(tk, k_alias_stop, NULL) != tk->i) {
        snprintf(alias, sizeof(alias), "%s", a->val);
        tk->i++;
    }
    x.cx = cx;
    x.binds = json_array();
    x.scopes[0] = (emu_scope_t){alias, t.name.o, "emu_del", "c", t.cols, t.ncols};
    x.nscopes = 1;
    emu_sb_addf(&sql, "DELETE FROM %s", t.data);
    if (emu_tk_accept_kw(tk, "WHERE")) {
        emu_sb_addf(&sql, " WHERE rowid IN (SELECT emu_del.rowid FROM %s AS emu_del WHERE ",
                    t.data);
        if (emu_xl_parse(&x, tk->n - 1, &sql, NULL, NULL) != 0) {
            goto out;
        }
        emu_sb_add(&sql, ")");
    }
    if (!emu_tk_at_end(tk)) {
        emu_syntax(cx);
        goto out;
    }
    if (sql.oom) {
        emu_fail_code(cx, "INTERNAL_ERROR", "XX000", "[INTERNAL_ERROR] out of memory.");
        goto out;
    }
    if (sqlite3_prepare_v2(cx->eng->db, sql.p, -1, &st, NULL) != SQLITE_OK) {
        emu_fail(cx, "42000", "[INVALID_QUERY] The emulator cannot run this DELETE: %s",
                 sqlite3_errmsg(cx->eng->db));
        goto out;
    }
    emu_xl_bind(&x, st);
    if (sqlite3_step(st) != SQLITE_DONE) {
        emu_fail_step(cx, "DELETE");
        goto out;
    }
    n = sqlite3_changes(cx->eng->db);
    if (n > 0 && emu_table_touch(cx, t.id, 1, 0) != 0) {
        goto out;
    }
    snprintf(count, sizeof(count), "%lld", n);
    rc = emu_result_simple(cx, 1, names, types, vals);
out:
    sqlite3_finalize(st);
    emu_sb_free(&sql);
    json_decref(x.binds);
    emu_table_free(&t);
    return rc;
}
