/*
 * sql_ident: names and metadata look-ups of the emulator engine: parsing
 * catalog.schema.name identifiers and resolving them against the session,
 * existence checks, and loading a table's metadata (columns, data table).
 *
 * Invariant: a name that reaches SQLite SQL text passed emu_ident_valid();
 * data tables are named by the engine ("d_" + the table id's hex digits) and
 * their columns "c<position>", so user-chosen names are never SQL text there.
 */
#define _POSIX_C_SOURCE 200809L
#include "engine_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int emu_ident_valid(const char *s)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++) {
        if (!isalnum((unsigned char)s[i]) && s[i] != '_') {
            return 0;
        }
    }
    return i > 0 && i < EMU_NAME_MAX;
}

static int take_ident(emu_ctx_t *cx, char *out)
{
    const emu_token_t *t = emu_tk_peek(cx->tk);

    if (t->kind != TK_IDENT && t->kind != TK_QIDENT) {
        return emu_syntax(cx);
    }
    if (!emu_ident_valid(t->val)) {
        return emu_fail(cx, "42602",
                        "[INVALID_IDENTIFIER] The identifier %.200s is invalid. Unity Catalog "
                        "names in this emulator use letters, digits and underscores.",
                        t->raw);
    }
    snprintf(out, EMU_NAME_MAX, "%s", t->val);
    cx->tk->i++;
    return 0;
}

int emu_parse_name(emu_ctx_t *cx, char parts[3][EMU_NAME_MAX], int *nparts)
{
    int n = 0;

    for (;;) {
        if (n == 3) {
            return emu_syntax(cx);
        }
        if (take_ident(cx, parts[n]) != 0) {
            return -1;
        }
        n++;
        if (!emu_tk_accept_op(cx->tk, ".")) {
            break;
        }
    }
    *nparts = n;
    return 0;
}

int emu_parse_object(emu_ctx_t *cx, emu_name_t *out)
{
    char p[3][EMU_NAME_MAX];
    int n = 0;

    if (emu_parse_name(cx, p, &n) != 0) {
        return -1;
    }
    snprintf(out->c, EMU_NAME_MAX, "%s", n == 3 ? p[0] : cx->catalog);
    snprintf(out->s, EMU_NAME_MAX, "%s", n == 3 ? p[1] : n == 2 ? p[0] : cx->schema);
    snprintf(out->o, EMU_NAME_MAX, "%s", p[n - 1]);
    return 0;
}

int emu_parse_schema(emu_ctx_t *cx, emu_name_t *out)
{
    char p[3][EMU_NAME_MAX];
    int n = 0;

    if (emu_parse_name(cx, p, &n) != 0) {
        return -1;
    }
    if (n == 3) {
        cx->tk->i--;
        return emu_syntax(cx);
    }
    snprintf(out->c, EMU_NAME_MAX, "%s", n == 2 ? p[0] : cx->catalog);
    snprintf(out->s, EMU_NAME_MAX, "%s", p[n - 1]);
    out->o[0] = '\0';
    return 0;
}

/* Runs a COUNT(*) query with up to three text binds. Returns 1, 0 or -1. */
static int exists(emu_ctx_t *cx, const char *sql, const char *a, const char *b, const char *c)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;

    if (sqlite3_prepare_v2(cx->eng->db, sql, -1, &st, NULL) != SQLITE_OK) {
        emu_fail_db(cx, "prepare");
        goto out;
    }
    sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
    if (b != NULL) {
        sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
    }
    if (c != NULL) {
        sqlite3_bind_text(st, 3, c, -1, SQLITE_STATIC);
    }
    if (sqlite3_step(st) != SQLITE_ROW) {
        emu_fail_db(cx, "step");
        goto out;
    }
    rc = sqlite3_column_int(st, 0) > 0 ? 1 : 0;
out:
    sqlite3_finalize(st);
    return rc;
}

int emu_catalog_exists(emu_ctx_t *cx, const char *c)
{
    return exists(cx, "SELECT count(*) FROM emu_catalogs WHERE name = ?1", c, NULL, NULL);
}

int emu_schema_exists(emu_ctx_t *cx, const char *c, const char *s)
{
    return exists(cx, "SELECT count(*) FROM emu_schemas WHERE catalog = ?1 AND name = ?2", c, s,
                  NULL);
}

int emu_volume_exists(emu_ctx_t *cx, const emu_name_t *n)
{
    return exists(
        cx, "SELECT count(*) FROM emu_volumes WHERE catalog = ?1 AND schema = ?2 AND name = ?3",
        n->c, n->s, n->o);
}

int emu_require_schema(emu_ctx_t *cx, const emu_name_t *n)
{
    int ex = emu_catalog_exists(cx, n->c);

    if (ex < 0) {
        return -1;
    }
    if (ex == 0) {
        return emu_fail(cx, "42704",
                        "[NO_SUCH_CATALOG_EXCEPTION] Catalog '%s' was not found. Please verify the "
                        "catalog name and then retry the query or command again.",
                        n->c);
    }
    ex = emu_schema_exists(cx, n->c, n->s);
    if (ex < 0) {
        return -1;
    }
    if (ex == 0) {
        return emu_fail(cx, "42704",
                        "[SCHEMA_NOT_FOUND] The schema `%s`.`%s` cannot be found. Verify the "
                        "spelling and correctness of the schema and catalog.",
                        n->c, n->s);
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Tables                                                                   */
/* ------------------------------------------------------------------------ */

void emu_table_free(emu_table_t *t)
{
    if (t == NULL) {
        return;
    }
    free(t->cols);
    free(t->view_text);
    t->cols = NULL;
    t->view_text = NULL;
    t->ncols = 0;
}

static int load_columns(emu_ctx_t *cx, emu_table_t *t)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;

    if (sqlite3_prepare_v2(cx->eng->db,
                           "SELECT name, type, nullable FROM emu_columns WHERE table_id = ?1 "
                           "ORDER BY position",
                           -1, &st, NULL) != SQLITE_OK) {
        emu_fail_db(cx, "prepare");
        goto out;
    }
    sqlite3_bind_text(st, 1, t->id, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        emu_col_t *nv = realloc(t->cols, (size_t)(t->ncols + 1) * sizeof(*nv));
        if (nv == NULL) {
            emu_fail_code(cx, "INTERNAL_ERROR", "XX000", "[INTERNAL_ERROR] out of memory.");
            goto out;
        }
        t->cols = nv;
        emu_col_set(&t->cols[t->ncols], (const char *)sqlite3_column_text(st, 0),
                    (const char *)sqlite3_column_text(st, 1), sqlite3_column_int(st, 2));
        t->ncols++;
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    return rc;
}

/* The data table name: "d_" + the hex digits of the id. */
static void data_name(const char *id, char *out, size_t outlen)
{
    size_t o = 0;

    if (outlen < 3) {
        return;
    }
    out[o++] = 'd';
    out[o++] = '_';
    for (; *id != '\0' && o + 1 < outlen; id++) {
        if (isxdigit((unsigned char)*id)) {
            out[o++] = *id;
        }
    }
    out[o] = '\0';
}

int emu_table_load(emu_ctx_t *cx, const emu_name_t *name, emu_table_t *t)
{
    sqlite3_stmt *st = NULL;
    emu_name_t nm = *name; /* name may point into t */
    const emu_name_t *n = &nm;
    int rc = -1, s;

    memset(t, 0, sizeof(*t));
    t->name = nm;
    if (sqlite3_prepare_v2(cx->eng->db,
                           "SELECT t.id, t.owner, t.created_ms, v.query, v.catalog, v.schema, "
                           "v.named FROM emu_tables t LEFT JOIN emu_views v ON v.id = t.id "
                           "WHERE t.catalog = ?1 AND t.schema = ?2 AND t.name = ?3",
                           -1, &st, NULL) != SQLITE_OK) {
        emu_fail_db(cx, "prepare");
        goto out;
    }
    sqlite3_bind_text(st, 1, n->c, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, n->s, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, n->o, -1, SQLITE_STATIC);
    s = sqlite3_step(st);
    if (s == SQLITE_DONE) {
        rc = 1;
        goto out;
    }
    if (s != SQLITE_ROW) {
        emu_fail_db(cx, "step");
        goto out;
    }
    t->name = *n;
    snprintf(t->id, sizeof(t->id), "%s", (const char *)sqlite3_column_text(st, 0));
    snprintf(t->owner, sizeof(t->owner), "%s", (const char *)sqlite3_column_text(st, 1));
    t->created_ms = sqlite3_column_int64(st, 2);
    if (sqlite3_column_type(st, 3) != SQLITE_NULL) {
        t->is_view = 1;
        t->view_named = sqlite3_column_int(st, 6);
        snprintf(t->view_c, sizeof(t->view_c), "%s", (const char *)sqlite3_column_text(st, 4));
        snprintf(t->view_s, sizeof(t->view_s), "%s", (const char *)sqlite3_column_text(st, 5));
        t->view_text = strdup((const char *)sqlite3_column_text(st, 3));
        if (t->view_text == NULL) {
            emu_fail_code(cx, "INTERNAL_ERROR", "XX000", "[INTERNAL_ERROR] out of memory.");
            goto out;
        }
    } else {
        data_name(t->id, t->data, sizeof(t->data));
    }
    rc = load_columns(cx, t);
out:
    sqlite3_finalize(st);
    if (rc < 0) {
        emu_table_free(t);
    }
    return rc;
}

int emu_table_require(emu_ctx_t *cx, const emu_name_t *n, emu_table_t *t)
{
    int rc;

    /* Databricks reports a table in a missing schema as a missing table. */
    rc = emu_schema_exists(cx, n->c, n->s);
    if (rc == 1) {
        rc = emu_table_load(cx, n, t);
    } else if (rc == 0) {
        rc = 1;
    }
    if (rc == 1) {
        return emu_fail(cx, "42P01",
                        "[TABLE_OR_VIEW_NOT_FOUND] The table or view `%s`.`%s`.`%s` cannot be "
                        "found. Verify the spelling and correctness of the schema and catalog.",
                        n->c, n->s, n->o);
    }
    return rc;
}

int emu_table_require_table(emu_ctx_t *cx, const emu_name_t *n, emu_table_t *t,
                            const char *operation)
{
    int rc = emu_table_require(cx, n, t);

    if (rc == 0 && t->is_view) {
        emu_fail(cx, "42809",
                 "[EXPECT_TABLE_NOT_VIEW.NO_ALTERNATIVE] '%s' expects a table but "
                 "`%s`.`%s`.`%s` is a view.",
                 operation, t->name.c, t->name.s, t->name.o);
        emu_table_free(t);
        return -1;
    }
    return rc;
}

int emu_table_col(const emu_table_t *t, const char *name)
{
    int k;

    for (k = 0; k < t->ncols; k++) {
        if (strcasecmp(t->cols[k].name, name) == 0) {
            return k;
        }
    }
    return -1;
}

int emu_table_add_column(emu_ctx_t *cx, emu_table_t *t, const char *name, const char *type,
                         int nullable, const char *comment)
{
    sqlite3_stmt *st = NULL;
    emu_col_t *nv;
    char sql[160];
    int rc = -1;

    if (t->ncols >= EMU_MAX_COLUMNS) {
        return emu_fail(cx, "54011", "[TOO_MANY_COLUMNS] A table has at most %d columns here.",
                        EMU_MAX_COLUMNS);
    }
    if (sqlite3_prepare_v2(cx->eng->db, "INSERT INTO emu_columns VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
                           -1, &st, NULL) != SQLITE_OK) {
        return emu_fail_db(cx, "prepare");
    }
    sqlite3_bind_text(st, 1, t->id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, t->ncols);
    sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, type, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, nullable);
    if (comment != NULL) {
        sqlite3_bind_text(st, 6, comment, -1, SQLITE_STATIC);
    }
    if (sqlite3_step(st) != SQLITE_DONE) {
        emu_fail_db(cx, "add column");
        goto out;
    }
    /* Column names of data tables are engine-made: c0, c1, ... */
    snprintf(sql, sizeof(sql), "ALTER TABLE %s ADD COLUMN c%d", t->data, t->ncols);
    if (emu_exec(cx, sql) != 0) {
        goto out;
    }
    nv = realloc(t->cols, (size_t)(t->ncols + 1) * sizeof(*nv));
    if (nv == NULL) {
        emu_fail_code(cx, "INTERNAL_ERROR", "XX000", "[INTERNAL_ERROR] out of memory.");
        goto out;
    }
    t->cols = nv;
    emu_col_set(&t->cols[t->ncols], name, type, nullable);
    t->ncols++;
    rc = 0;
out:
    sqlite3_finalize(st);
    return rc;
}
