/*
 * sql_ddl: CREATE and DROP of catalogs, schemas, volumes and tables in the
 * emulator's Unity Catalog metadata, with the privilege checks Databricks makes.
 *
 * (Views: sql_view.c.) Invariants: the creator of an object is its owner; a table's data lives in
 * the SQLite table "d_<hex id>" (one column "c<n>" per table column, plus
 * "_file", the Volume path a row was copied from); dropping a table drops its
 * rows, columns and COPY INTO load history, and a re-created table gets a new id.
 */
#define _XOPEN_SOURCE 700
#include "engine_int.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Parses [IF NOT EXISTS]; returns 1 when present. */
static int if_not_exists(emu_ctx_t *cx)
{
    if (emu_tk_is_kw(cx->tk, "IF") && emu_tk_at(cx->tk, 1)->kind == TK_IDENT &&
        strcmp(emu_tk_at(cx->tk, 1)->val, "not") == 0) {
        cx->tk->i += 2;
        if (!emu_tk_accept_kw(cx->tk, "EXISTS")) {
            return -1;
        }
        return 1;
    }
    return 0;
}

/* Skips [COMMENT 'text'] and [WITH DBPROPERTIES|TBLPROPERTIES (...)] style clauses. */
static int skip_comment(emu_ctx_t *cx, const char **comment)
{
    if (emu_tk_accept_kw(cx->tk, "COMMENT")) {
        if (emu_tk_peek(cx->tk)->kind != TK_STRING) {
            return emu_syntax(cx);
        }
        if (comment != NULL) {
            *comment = emu_tk_peek(cx->tk)->val;
        }
        cx->tk->i++;
    }
    return 0;
}

static int expect_end(emu_ctx_t *cx)
{
    return emu_tk_at_end(cx->tk) ? 0 : emu_syntax(cx);
}

/* Runs an INSERT with text binds (NULL ends the list early is not allowed: n given). */
static int run(emu_ctx_t *cx, const char *sql, int n, const char *const *args)
{
    sqlite3_stmt *st = NULL;
    int k, rc = -1;

    if (sqlite3_prepare_v2(cx->eng->db, sql, -1, &st, NULL) != SQLITE_OK) {
        return emu_fail_db(cx, "prepare");
    }
    for (k = 0; k < n; k++) {
        sqlite3_bind_text(st, k + 1, args[k], -1, SQLITE_STATIC);
    }
    sqlite3_bind_int64(st, n + 1, emu_now_ms());
    if (sqlite3_step(st) != SQLITE_DONE) {
        emu_fail_db(cx, "write");
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* CREATE CATALOG / SCHEMA / VOLUME                                         */
/* ------------------------------------------------------------------------ */

static int create_catalog(emu_ctx_t *cx)
{
    emu_name_t n;
    const char *args[2];
    int ine = if_not_exists(cx), ex;

    memset(&n, 0, sizeof(n));
    if (ine < 0 || emu_parse_schema(cx, &n) != 0 || skip_comment(cx, NULL) || expect_end(cx)) {
        return ine < 0 ? emu_syntax(cx) : -1;
    }
    /* The name parsed as a one-part schema: it is the catalog. */
    snprintf(n.c, sizeof(n.c), "%s", n.s);
    if (cx->eng->perms != NULL && strcmp(cx->principal, "admin") != 0) {
        return emu_fail(cx, "42501",
                        "[INSUFFICIENT_PERMISSIONS] Insufficient privileges:\nUser does not have "
                        "CREATE CATALOG on Metastore 'metastore'.");
    }
    if ((ex = emu_catalog_exists(cx, n.c)) != 0) {
        if (ex < 0 || ine) {
            return ex < 0 ? -1 : 0;
        }
        return emu_fail(cx, "42P04",
                        "[CATALOG_ALREADY_EXISTS] Cannot create catalog `%s` because it already "
                        "exists.",
                        n.c);
    }
    args[0] = n.c;
    args[1] = cx->principal;
    return run(cx, "INSERT INTO emu_catalogs VALUES(?1, ?2, ?3)", 2, args);
}

static int create_schema(emu_ctx_t *cx)
{
    emu_name_t n;
    const char *args[3];
    int ine = if_not_exists(cx), ex;

    if (ine < 0 || emu_parse_schema(cx, &n) != 0 || skip_comment(cx, NULL) || expect_end(cx)) {
        return ine < 0 ? emu_syntax(cx) : -1;
    }
    if ((ex = emu_catalog_exists(cx, n.c)) != 1) {
        return ex < 0 ? -1
                      : emu_fail(cx, "42704",
                                 "[NO_SUCH_CATALOG_EXCEPTION] Catalog '%s' was not found.", n.c);
    }
    if ((ex = emu_schema_exists(cx, n.c, n.s)) != 0) {
        if (ex < 0) {
            return -1;
        }
        /* IF NOT EXISTS on an existing schema still needs to reach the catalog. */
        if (ine) {
            return emu_require(cx, NULL, EMU_ON_CATALOG, &n);
        }
        return emu_fail(cx, "42P06",
                        "[SCHEMA_ALREADY_EXISTS] Cannot create schema `%s`.`%s` because it "
                        "already exists. Choose a different name, drop the existing schema, or add "
                        "the IF NOT EXISTS clause to tolerate pre-existing schema.",
                        n.c, n.s);
    }
    if (emu_require(cx, "CREATE SCHEMA", EMU_ON_CATALOG, &n) != 0) {
        return -1;
    }
    args[0] = n.c;
    args[1] = n.s;
    args[2] = cx->principal;
    return run(cx, "INSERT INTO emu_schemas VALUES(?1, ?2, ?3, ?4)", 3, args);
}

static int volume_dir(emu_ctx_t *cx, const emu_name_t *n, char *out, size_t outlen)
{
    const char *parts[3] = {n->c, n->s, n->o};
    size_t len;
    int k;

    len = (size_t)snprintf(out, outlen, "%s/volumes", cx->eng->state_dir);
    for (k = 0; k < 3 && len < outlen; k++) {
        len += (size_t)snprintf(out + len, outlen - len, "/%s", parts[k]);
        if (len < outlen && mkdir(out, 0755) != 0 && errno != EEXIST) {
            return emu_fail_code(cx, "IO_ERROR", "58030", "[IO_ERROR] cannot create %s: %s", out,
                                 strerror(errno));
        }
    }
    return len < outlen ? 0 : emu_fail(cx, "54000", "[PATH_TOO_LONG] volume path too long.");
}

static int create_volume(emu_ctx_t *cx)
{
    emu_name_t n;
    char id[40], dir[4096];
    const char *args[5];
    int ine = if_not_exists(cx), ex;

    if (ine < 0 || emu_parse_object(cx, &n) != 0 || skip_comment(cx, NULL) || expect_end(cx)) {
        return ine < 0 ? emu_syntax(cx) : -1;
    }
    if (emu_require_schema(cx, &n) != 0) {
        return -1;
    }
    if ((ex = emu_volume_exists(cx, &n)) != 0) {
        if (ex < 0 || ine) {
            return ex < 0 ? -1 : emu_require(cx, NULL, EMU_ON_SCHEMA, &n);
        }
        return emu_fail(cx, "42710",
                        "[RESOURCE_ALREADY_EXISTS] Cannot create volume `%s`.`%s`.`%s` because it "
                        "already exists.",
                        n.c, n.s, n.o);
    }
    if (emu_require(cx, "CREATE VOLUME", EMU_ON_SCHEMA, &n) != 0) {
        return -1;
    }
    emu_uuid(id);
    args[0] = n.c;
    args[1] = n.s;
    args[2] = n.o;
    args[3] = cx->principal;
    args[4] = id;
    if (run(cx, "INSERT INTO emu_volumes VALUES(?1, ?2, ?3, ?4, ?5, ?6)", 5, args) != 0) {
        return -1;
    }
    return volume_dir(cx, &n, dir, sizeof(dir));
}

/* ------------------------------------------------------------------------ */
/* CREATE TABLE                                                             */
/* ------------------------------------------------------------------------ */

/* Parses "(name TYPE [NOT NULL] [COMMENT '..'], ...)" and adds the columns to t. */
static int table_columns(emu_ctx_t *cx, emu_table_t *t)
{
    char name[EMU_NAME_MAX], type[512];
    const char *comment;
    const emu_token_t *tok;
    int nullable;

    do {
        tok = emu_tk_peek(cx->tk);
        if ((tok->kind != TK_IDENT && tok->kind != TK_QIDENT) ||
            !emu_ident_valid(tok->kind == TK_QIDENT ? tok->val : tok->raw)) {
            return emu_syntax(cx);
        }
        /* Column names keep their case; they match case-insensitively. */
        snprintf(name, sizeof(name), "%s", tok->kind == TK_QIDENT ? tok->val : tok->raw);
        cx->tk->i++;
        if (emu_parse_type(cx, type, sizeof(type)) != 0) {
            return -1;
        }
        nullable = 1;
        comment = NULL;
        if (emu_tk_accept_kw(cx->tk, "NOT")) {
            if (!emu_tk_accept_kw(cx->tk, "NULL")) {
                return emu_syntax(cx);
            }
            nullable = 0;
        }
        if (skip_comment(cx, &comment) != 0) {
            return -1;
        }
        if (emu_table_col(t, name) >= 0) {
            return emu_fail(cx, "42711", "[COLUMN_ALREADY_EXISTS] The column `%s` already exists.",
                            name);
        }
        if (emu_table_add_column(cx, t, name, type, nullable, comment) != 0) {
            return -1;
        }
    } while (emu_tk_accept_op(cx->tk, ","));
    return emu_tk_accept_op(cx->tk, ")") ? 0 : emu_syntax(cx);
}

/* Parses the clauses after the column list into comment and properties (new ref). */
static int table_clauses(emu_ctx_t *cx, const char **comment, json_t *props)
{
    for (;;) {
        if (emu_tk_accept_kw(cx->tk, "USING")) {
            if (!emu_tk_accept_kw(cx->tk, "DELTA")) {
                return emu_fail(cx, "0A000",
                                "[UNSUPPORTED_FEATURE] Only USING DELTA tables are emulated.");
            }
        } else if (emu_tk_is_kw(cx->tk, "COMMENT")) {
            if (skip_comment(cx, comment) != 0) {
                return -1;
            }
        } else if (emu_tk_accept_kw(cx->tk, "TBLPROPERTIES")) {
            if (!emu_tk_accept_op(cx->tk, "(")) {
                return emu_syntax(cx);
            }
            do {
                const emu_token_t *k = emu_tk_peek(cx->tk), *v;
                if (k->kind != TK_STRING && k->kind != TK_IDENT) {
                    return emu_syntax(cx);
                }
                cx->tk->i++;
                emu_tk_accept_op(cx->tk, "=");
                v = emu_tk_peek(cx->tk);
                if (v->kind != TK_STRING && v->kind != TK_NUMBER && v->kind != TK_IDENT) {
                    return emu_syntax(cx);
                }
                json_object_set_new(props, k->val, json_string(v->val));
                cx->tk->i++;
            } while (emu_tk_accept_op(cx->tk, ","));
            if (!emu_tk_accept_op(cx->tk, ")")) {
                return emu_syntax(cx);
            }
        } else {
            return expect_end(cx);
        }
    }
}

static int insert_table_row(emu_ctx_t *cx, const emu_table_t *t, const char *comment,
                            const json_t *props)
{
    sqlite3_stmt *st = NULL;
    char *ptext = json_dumps(props, JSON_COMPACT | JSON_SORT_KEYS);
    int rc = -1;

    if (sqlite3_prepare_v2(cx->eng->db,
                           "INSERT INTO emu_tables(catalog, schema, name, id, owner, created_ms, "
                           "modified_ms, comment, properties) VALUES(?1,?2,?3,?4,?5,?6,?6,?7,?8)",
                           -1, &st, NULL) != SQLITE_OK) {
        emu_fail_db(cx, "prepare");
        goto out;
    }
    sqlite3_bind_text(st, 1, t->name.c, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, t->name.s, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, t->name.o, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, t->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, cx->principal, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, t->created_ms);
    if (comment != NULL) {
        sqlite3_bind_text(st, 7, comment, -1, SQLITE_STATIC);
    }
    sqlite3_bind_text(st, 8, ptext != NULL ? ptext : "{}", -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        emu_fail_db(cx, "create table");
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    free(ptext);
    return rc;
}

static int create_table(emu_ctx_t *cx)
{
    emu_table_t t;
    json_t *props = json_object();
    const char *comment = NULL;
    char sql[128];
    int ine = if_not_exists(cx), ex, rc = -1;

    memset(&t, 0, sizeof(t));
    if (ine < 0 || emu_parse_object(cx, &t.name) != 0) {
        rc = ine < 0 ? emu_syntax(cx) : -1;
        goto out;
    }
    if (emu_require_schema(cx, &t.name) != 0) {
        goto out;
    }
    ex = emu_table_load(cx, &t.name, &t);
    if (ex <= 0) {
        if (ex == 0 && ine) {
            rc = emu_require(cx, NULL, EMU_ON_SCHEMA, &t.name);
        } else if (ex == 0) {
            emu_fail(cx, "42P07",
                     "[TABLE_OR_VIEW_ALREADY_EXISTS] Cannot create table or view `%s`.`%s`.`%s` "
                     "because it already exists. Choose a different name, drop or replace the "
                     "existing object, or add the IF NOT EXISTS clause to tolerate pre-existing "
                     "objects.",
                     t.name.c, t.name.s, t.name.o);
        }
        goto out;
    }
    if (emu_require(cx, "CREATE TABLE", EMU_ON_SCHEMA, &t.name) != 0) {
        goto out;
    }
    emu_uuid(t.id);
    snprintf(t.data, sizeof(t.data), "d_");
    for (ex = 0; t.id[ex] != '\0'; ex++) {
        if (t.id[ex] != '-') {
            size_t l = strlen(t.data);
            t.data[l] = t.id[ex];
            t.data[l + 1] = '\0';
        }
    }
    t.created_ms = emu_now_ms();
    snprintf(sql, sizeof(sql), "CREATE TABLE %s(_file TEXT)", t.data);
    if (emu_exec(cx, sql) != 0) {
        goto out;
    }
    if (emu_tk_accept_op(cx->tk, "(") && table_columns(cx, &t) != 0) {
        goto out;
    }
    if (table_clauses(cx, &comment, props) != 0) {
        goto out;
    }
    rc = insert_table_row(cx, &t, comment, props);
out:
    json_decref(props);
    emu_table_free(&t);
    return rc;
}

int emu_sql_create(emu_ctx_t *cx)
{
    int replace;

    cx->tk->i++; /* CREATE */
    replace = emu_tk_is_kw(cx->tk, "OR") && emu_tk_at(cx->tk, 1)->kind == TK_IDENT &&
              strcmp(emu_tk_at(cx->tk, 1)->val, "replace") == 0;
    if (replace) {
        cx->tk->i += 2;
    }
    if (emu_tk_is_kw(cx->tk, "TEMPORARY") || emu_tk_is_kw(cx->tk, "TEMP")) {
        return emu_fail(cx, "0A000",
                        "[UNSUPPORTED_FEATURE] Temporary views are not emulated "
                        "(the Statement Execution API has no session to keep them).");
    }
    if (emu_tk_accept_kw(cx->tk, "VIEW")) {
        return emu_sql_create_view(cx, replace);
    }
    if (replace) {
        return emu_fail(cx, "0A000",
                        "[UNSUPPORTED_FEATURE] CREATE OR REPLACE is emulated for "
                        "views only.");
    }
    if (emu_tk_accept_kw(cx->tk, "CATALOG")) {
        return create_catalog(cx);
    }
    if (emu_tk_accept_kw(cx->tk, "SCHEMA") || emu_tk_accept_kw(cx->tk, "DATABASE")) {
        return create_schema(cx);
    }
    if (emu_tk_accept_kw(cx->tk, "VOLUME")) {
        return create_volume(cx);
    }
    if (emu_tk_accept_kw(cx->tk, "TABLE")) {
        return create_table(cx);
    }
    return emu_syntax(cx);
}

/* ------------------------------------------------------------------------ */
/* DROP                                                                     */
/* ------------------------------------------------------------------------ */

static int if_exists(emu_ctx_t *cx)
{
    if (emu_tk_is_kw(cx->tk, "IF") && emu_tk_at(cx->tk, 1)->kind == TK_IDENT &&
        strcmp(emu_tk_at(cx->tk, 1)->val, "exists") == 0) {
        cx->tk->i += 2;
        return 1;
    }
    return 0;
}

static int drop_table(emu_ctx_t *cx)
{
    static const char *const sqls[] = {"DELETE FROM emu_tables WHERE id = ?1",
                                       "DELETE FROM emu_columns WHERE table_id = ?1",
                                       "DELETE FROM emu_load_history WHERE table_id = ?1"};
    emu_table_t t;
    char sql[128];
    const char *args[1];
    int ie = if_exists(cx), rc = -1, k;

    memset(&t, 0, sizeof(t));
    if (emu_parse_object(cx, &t.name) != 0 || expect_end(cx) != 0) {
        goto out;
    }
    if (ie && (k = emu_schema_exists(cx, t.name.c, t.name.s)) != 1) {
        rc = k < 0 ? -1 : 0;
        goto out;
    }
    k = ie ? emu_table_load(cx, &t.name, &t) : emu_table_require(cx, &t.name, &t);
    if (k != 0) {
        rc = k == 1 ? 0 : -1;
        goto out;
    }
    if (t.is_view) {
        emu_fail(cx, "42809",
                 "[DROP_COMMAND_TYPE_MISMATCH] Cannot drop a view with DROP TABLE. "
                 "Use DROP VIEW instead.");
        goto out;
    }
    if (emu_require(cx, "MANAGE", EMU_ON_TABLE, &t.name) != 0) {
        goto out;
    }
    args[0] = t.id;
    for (k = 0; k < 3; k++) {
        if (run(cx, sqls[k], 1, args) != 0) {
            goto out;
        }
    }
    snprintf(sql, sizeof(sql), "DROP TABLE %s", t.data);
    rc = emu_exec(cx, sql);
out:
    emu_table_free(&t);
    return rc;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static int drop_volume(emu_ctx_t *cx)
{
    emu_name_t n;
    char dir[4096];
    const char *args[3];
    int ie = if_exists(cx), ex;

    if (emu_parse_object(cx, &n) != 0 || expect_end(cx) != 0) {
        return -1;
    }
    ex = emu_schema_exists(cx, n.c, n.s) == 1 ? emu_volume_exists(cx, &n) : 0;
    if (ex != 1) {
        if (ex < 0 || ie) {
            return ex < 0 ? -1 : 0;
        }
        return emu_fail(cx, "42704",
                        "[VOLUME_NOT_FOUND] The volume `%s`.`%s`.`%s` cannot be found.", n.c, n.s,
                        n.o);
    }
    if (emu_require(cx, "MANAGE", EMU_ON_VOLUME, &n) != 0) {
        return -1;
    }
    args[0] = n.c;
    args[1] = n.s;
    args[2] = n.o;
    if (run(cx, "DELETE FROM emu_volumes WHERE catalog = ?1 AND schema = ?2 AND name = ?3", 3,
            args) != 0) {
        return -1;
    }
    snprintf(dir, sizeof(dir), "%s/volumes/%s/%s/%s", cx->eng->state_dir, n.c, n.s, n.o);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static int drop_schema(emu_ctx_t *cx)
{
    emu_name_t n;
    const char *args[2];
    int ie = if_exists(cx), ex;
    sqlite3_stmt *st = NULL;

    if (emu_parse_schema(cx, &n) != 0 || (emu_tk_accept_kw(cx->tk, "RESTRICT"), expect_end(cx))) {
        return -1;
    }
    if ((ex = emu_schema_exists(cx, n.c, n.s)) != 1) {
        if (ex < 0 || ie) {
            return ex < 0 ? -1 : 0;
        }
        return emu_require_schema(cx, &n);
    }
    if (emu_require(cx, "MANAGE", EMU_ON_SCHEMA, &n) != 0) {
        return -1;
    }
    if (sqlite3_prepare_v2(cx->eng->db,
                           "SELECT (SELECT count(*) FROM emu_tables WHERE catalog = ?1 AND schema "
                           "= ?2) + (SELECT count(*) FROM emu_volumes WHERE catalog = ?1 AND "
                           "schema = ?2)",
                           -1, &st, NULL) != SQLITE_OK) {
        return emu_fail_db(cx, "prepare");
    }
    sqlite3_bind_text(st, 1, n.c, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, n.s, -1, SQLITE_STATIC);
    ex = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    if (ex != 0) {
        return ex < 0 ? emu_fail_db(cx, "count")
                      : emu_fail(cx, "2BP01",
                                 "[SCHEMA_NOT_EMPTY] Cannot drop a schema `%s`.`%s` because it "
                                 "contains objects. Drop its tables and volumes first (CASCADE is "
                                 "not emulated).",
                                 n.c, n.s);
    }
    args[0] = n.c;
    args[1] = n.s;
    return run(cx, "DELETE FROM emu_schemas WHERE catalog = ?1 AND name = ?2", 2, args);
}

int emu_sql_drop(emu_ctx_t *cx)
{
    cx->tk->i++; /* DROP */
    if (emu_tk_accept_kw(cx->tk, "TABLE")) {
        return drop_table(cx);
    }
    if (emu_tk_accept_kw(cx->tk, "VIEW")) {
        return emu_sql_drop_view(cx);
    }
    if (emu_tk_accept_kw(cx->tk, "VOLUME")) {
        return drop_volume(cx);
    }
    if (emu_tk_accept_kw(cx->tk, "SCHEMA") || emu_tk_accept_kw(cx->tk, "DATABASE")) {
        return drop_schema(cx);
    }
    return emu_syntax(cx);
}
