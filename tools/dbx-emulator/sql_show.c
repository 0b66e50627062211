/*
 * sql_show: DESCRIBE DETAIL / DESCRIBE TABLE, SHOW CATALOGS|SCHEMAS|TABLES|VIEWS|VOLUMES
 * and ALTER TABLE ... ADD COLUMNS of the emulator, answered from the Unity
 * Catalog metadata tables.
 */
#define _POSIX_C_SOURCE 200809L
#include "engine_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* DESCRIBE                                                                 */
/* ------------------------------------------------------------------------ */

static int describe_detail(emu_ctx_t *cx, const emu_table_t *t)
{
    static const char *const names[] = {"format",
                                        "id",
                                        "name",
                                        "description",
                                        "location",
                                        "createdAt",
                                        "lastModified",
                                        "partitionColumns",
                                        "clusteringColumns",
                                        "numFiles",
                                        "sizeInBytes",
                                        "properties",
                                        "minReaderVersion",
                                        "minWriterVersion",
                                        "tableFeatures",
                                        "statistics"};
    static const char *const types[] = {
        "STRING",        "STRING",    "STRING",        "STRING",
        "STRING",        "TIMESTAMP", "TIMESTAMP",     "ARRAY<STRING>",
        "ARRAY<STRING>", "BIGINT",    "BIGINT",        "MAP<STRING, STRING>",
        "INT",           "INT",       "ARRAY<STRING>", "MAP<STRING, BIGINT>"};
    char full[3 * EMU_NAME_MAX + 4], loc[128], created[40], modified[40], nf[32], sz[32];
    const char *vals[16];
    sqlite3_stmt *st = NULL;
    int rc = -1;

    if (sqlite3_prepare_v2(cx->eng->db,
                           "SELECT comment, modified_ms, num_files, size_bytes, properties FROM "
                           "emu_tables WHERE id = ?1",
                           -1, &st, NULL) != SQLITE_OK) {
        return emu_fail_db(cx, "prepare");
    }
    sqlite3_bind_text(st, 1, t->id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) {
        emu_fail_db(cx, "describe");
        goto out;
    }
    snprintf(full, sizeof(full), "%s.%s.%s", t->name.c, t->name.s, t->name.o);
    snprintf(loc, sizeof(loc), "emulator:/tables/%s", t->id);
    emu_timestamp_from_micros(t->created_ms * 1000, created, sizeof(created));
    emu_timestamp_from_micros(sqlite3_column_int64(st, 1) * 1000, modified, sizeof(modified));
    snprintf(nf, sizeof(nf), "%lld", (long long)sqlite3_column_int64(st, 2));
    snprintf(sz, sizeof(sz), "%lld", (long long)sqlite3_column_int64(st, 3));
    vals[0] = "delta";
    vals[1] = t->id;
    vals[2] = full;
    vals[3] = (const char *)sqlite3_column_text(st, 0);
    vals[4] = loc;
    vals[5] = created;
    vals[6] = modified;
    vals[7] = "[]";
    vals[8] = "[]";
    vals[9] = nf;
    vals[10] = sz;
    vals[11] = (const char *)sqlite3_column_text(st, 4);
    vals[12] = "1";
    vals[13] = "2";
    vals[14] = "[\"appendOnly\",\"invariants\"]";
    vals[15] = "{}";
    rc = emu_result_simple(cx, 16, names, types, vals);
out:
    sqlite3_finalize(st);
    return rc;
}

/* Spark's simple type string: lower-case names without spaces, field names kept. */
static void simple_type(const char *type, char *out, size_t outlen)
{
    size_t i, o = 0;
    int in_word = 0, field = 0;

    for (i = 0; type[i] != '\0' && o + 1 < outlen; i++) {
        char c = type[i];
        if (c == ' ') {
            continue;
        }
        /* A word followed by ':' is a STRUCT field name: keep its case. */
        if (!in_word && (isalpha((unsigned char)c) || c == '_')) {
            size_t j = i;
            while (isalnum((unsigned char)type[j]) || type[j] == '_') {
                j++;
            }
            field = type[j] == ':';
            in_word = 1;
        } else if (!(isalnum((unsigned char)c) || c == '_')) {
            in_word = 0;
        }
        out[o++] = in_word && !field ? (char)tolower((unsigned char)c) : c;
    }
    out[o] = '\0';
}

static int describe_table(emu_ctx_t *cx, const emu_table_t *t)
{
    char type[512];
    int k;

    emu_result_add_column(cx->res, "col_name", "STRING");
    emu_result_add_column(cx->res, "data_type", "STRING");
    emu_result_add_column(cx->res, "comment", "STRING");
    cx->res->rows = json_array();
    for (k = 0; k < t->ncols; k++) {
        simple_type(t->cols[k].type, type, sizeof(type));
        json_array_append_new(cx->res->rows, json_pack("[s, s, n]", t->cols[k].name, type));
    }
    return 0;
}

int emu_sql_describe(emu_ctx_t *cx)
{
    emu_table_t t;
    int detail, rc = -1;

    memset(&t, 0, sizeof(t));
    cx->tk->i++; /* DESCRIBE */
    detail = emu_tk_accept_kw(cx->tk, "DETAIL");
    if (!detail) {
        emu_tk_accept_kw(cx->tk, "TABLE");
        emu_tk_accept_kw(cx->tk, "EXTENDED");
    }
    if (emu_parse_object(cx, &t.name) != 0) {
        return -1;
    }
    if (!emu_tk_at_end(cx->tk)) {
        return emu_syntax(cx);
    }
    if ((detail ? emu_table_require_table(cx, &t.name, &t, "DESCRIBE DETAIL")
                : emu_table_require(cx, &t.name, &t)) != 0) {
        return -1;
    }
    /* a view's columns need USE on its schema only (the emulator's view simplification) */
    if (emu_require(cx, t.is_view ? NULL : "SELECT", EMU_ON_TABLE, &t.name) == 0) {
        rc = detail ? describe_detail(cx, &t) : describe_table(cx, &t);
    }
    emu_table_free(&t);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* SHOW                                                                     */
/* ------------------------------------------------------------------------ */

/* Runs a listing query with up to two text binds into a result of ncols STRING columns;
 * extra leading constant columns come from the query itself. */
static int listing(emu_ctx_t *cx, const char *sql, const char *a, const char *b, int ncols,
                   const char *const *names)
{
    sqlite3_stmt *st = NULL;
    int k, s;

    for (k = 0; k < ncols; k++) {
        emu_result_add_column(cx->res, names[k], k == 2 && ncols == 3 ? "BOOLEAN" : "STRING");
    }
    if (sqlite3_prepare_v2(cx->eng->db, sql, -1, &st, NULL) != SQLITE_OK) {
        return emu_fail_db(cx, "prepare");
    }
    if (a != NULL) {
        sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
    }
    if (b != NULL) {
        sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
    }
    cx->res->rows = json_array();
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *row = json_array();
        for (k = 0; k < ncols; k++) {
            json_array_append_new(row, json_string((const char *)sqlite3_column_text(st, k)));
        }
        json_array_append_new(cx->res->rows, row);
    }
    sqlite3_finalize(st);
    return s == SQLITE_DONE ? 0 : emu_fail_db(cx, "show");
}

static int show_in(emu_ctx_t *cx, emu_name_t *n, int want_schema)
{
    snprintf(n->c, sizeof(n->c), "%s", cx->catalog);
    snprintf(n->s, sizeof(n->s), "%s", cx->schema);
    n->o[0] = '\0';
    if (emu_tk_accept_kw(cx->tk, "IN") || emu_tk_accept_kw(cx->tk, "FROM")) {
        if (want_schema) {
            if (emu_parse_schema(cx, n) != 0) {
                return -1;
            }
        } else {
            emu_name_t tmp;
            if (emu_parse_schema(cx, &tmp) != 0) {
                return -1;
            }
            snprintf(n->c, sizeof(n->c), "%s", tmp.s);
        }
    }
    if (!emu_tk_at_end(cx->tk)) {
        return emu_syntax(cx);
    }
    if (want_schema && emu_require_schema(cx, n) != 0) {
        return -1;
    }
    return emu_require(cx, NULL, want_schema ? EMU_ON_SCHEMA : EMU_ON_CATALOG, n);
}

int emu_sql_show(emu_ctx_t *cx)
{
    static const char *const tnames[] = {"database", "tableName", "isTemporary"};
    static const char *const wnames[] = {"namespace", "viewName", "isTemporary"};
    static const char *const snames[] = {"databaseName"};
    static const char *const vnames[] = {"database_name", "volume_name"};
    static const char *const cnames[] = {"catalog"};
    emu_name_t n;

    cx->tk->i++; /* SHOW */
    if (emu_tk_accept_kw(cx->tk, "TABLES")) {
        if (show_in(cx, &n, 1) != 0) {
            return -1;
        }
        return listing(cx,
                       "SELECT schema, name, 'false' FROM emu_tables WHERE catalog = ?1 AND "
                       "schema = ?2 ORDER BY name",
                       n.c, n.s, 3, tnames);
    }
    if (emu_tk_accept_kw(cx->tk, "VIEWS")) {
        if (show_in(cx, &n, 1) != 0) {
            return -1;
        }
        return listing(cx,
                       "SELECT t.schema, t.name, 'false' FROM emu_tables t JOIN emu_views v "
                       "ON v.id = t.id WHERE t.catalog = ?1 AND t.schema = ?2 ORDER BY "
                       "t.name",
                       n.c, n.s, 3, wnames);
    }
    if (emu_tk_accept_kw(cx->tk, "VOLUMES")) {
        if (show_in(cx, &n, 1) != 0) {
            return -1;
        }
        return listing(cx,
                       "SELECT schema, name FROM emu_volumes WHERE catalog = ?1 AND schema = "
                       "?2 ORDER BY name",
                       n.c, n.s, 2, vnames);
    }
    if (emu_tk_accept_kw(cx->tk, "SCHEMAS") || emu_tk_accept_kw(cx->tk, "DATABASES")) {
        if (show_in(cx, &n, 0) != 0) {
            return -1;
        }
        return listing(cx, "SELECT name FROM emu_schemas WHERE catalog = ?1 ORDER BY name", n.c,
                       NULL, 1, snames);
    }
    if (emu_tk_accept_kw(cx->tk, "CATALOGS")) {
        if (!emu_tk_at_end(cx->tk)) {
            return emu_syntax(cx);
        }
        return listing(cx, "SELECT name FROM emu_catalogs ORDER BY name", NULL, NULL, 1, cnames);
    }
    return emu_syntax(cx);
}

/* ------------------------------------------------------------------------ */
/* ALTER TABLE ... ADD COLUMNS                                              */
/* ------------------------------------------------------------------------ */

static int add_columns(emu_ctx_t *cx, emu_table_t *t)
{
    char type[512], name[EMU_NAME_MAX];
    const emu_token_t *tok;
    int paren = emu_tk_accept_op(cx->tk, "("), nullable;

    do {
        tok = emu_tk_peek(cx->tk);
        if ((tok->kind != TK_IDENT && tok->kind != TK_QIDENT) ||
            !emu_ident_valid(tok->kind == TK_QIDENT ? tok->val : tok->raw)) {
            return emu_syntax(cx);
        }
        snprintf(name, sizeof(name), "%s", tok->kind == TK_QIDENT ? tok->val : tok->raw);
        cx->tk->i++;
        if (emu_parse_type(cx, type, sizeof(type)) != 0) {
            return -1;
        }
        nullable = 1;
        if (emu_tk_accept_kw(cx->tk, "NOT")) {
            if (!emu_tk_accept_kw(cx->tk, "NULL")) {
                return emu_syntax(cx);
            }
            nullable = 0;
        }
        if (emu_tk_accept_kw(cx->tk, "COMMENT") && emu_tk_peek(cx->tk)->kind == TK_STRING) {
            cx->tk->i++;
        }
        if (emu_table_col(t, name) >= 0) {
            return emu_fail(cx, "42711",
                            "[FIELD_ALREADY_EXISTS] Cannot add column, because `%s` "
                            "already exists in the table.",
                            name);
        }
        if (emu_table_add_column(cx, t, name, type, nullable, NULL) != 0) {
            return -1;
        }
    } while (emu_tk_accept_op(cx->tk, ","));
    if (paren && !emu_tk_accept_op(cx->tk, ")")) {
        return emu_syntax(cx);
    }
    return emu_tk_at_end(cx->tk) ? 0 : emu_syntax(cx);
}

int emu_sql_alter(emu_ctx_t *cx)
{
    emu_table_t t;
    int rc = -1;

    memset(&t, 0, sizeof(t));
    cx->tk->i++; /* ALTER */
    if (!emu_tk_accept_kw(cx->tk, "TABLE") || emu_parse_object(cx, &t.name) != 0) {
        return cx->res->message[0] != '\0' ? -1 : emu_syntax(cx);
    }
    if (!emu_tk_accept_kw(cx->tk, "ADD")) {
        return emu_syntax(cx);
    }
    if (!emu_tk_accept_kw(cx->tk, "COLUMNS") && !emu_tk_accept_kw(cx->tk, "COLUMN")) {
        return emu_syntax(cx);
    }
    if (emu_table_require(cx, &t.name, &t) != 0) {
        return -1;
    }
    if (t.is_view) {
        emu_fail(cx, "42809",
                 "[EXPECT_TABLE_NOT_VIEW.USE_ALTER_VIEW] 'ALTER TABLE ... ADD "
                 "COLUMNS' expects a table but `%s`.`%s`.`%s` is a view. Please use "
                 "ALTER VIEW instead.",
                 t.name.c, t.name.s, t.name.o);
    } else if (emu_require(cx, "MODIFY", EMU_ON_TABLE, &t.name) == 0) {
        rc = add_columns(cx, &t);
    }
    emu_table_free(&t);
    return rc;
}
