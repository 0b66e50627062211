/*
 * cmd_check: the connection test (see cmd_check.h and docs/CHECK.md).
 *
 * Every check reports exactly one line through report(), which scrubs the
 * configured secrets from the text before printing, so no error text from a
 * library can leak one. A check whose prerequisite failed prints SKIP and
 * counts as not passed. The Kafka checks and the Databricks checks are
 * independent chains; within the Databricks chain each check needs the one
 * before it, except that the table checks need the schema, not the volume.
 *
 * The checks touch the workspace only as the loader would: CREATE SCHEMA
 * (when create_schema is set), CREATE VOLUME and CREATE TABLE sync_runs with
 * IF NOT EXISTS, one small file uploaded and deleted under
 * <volume>/_deltaport_check/ (the directory is kept), and a COPY INTO that
 * names only that deleted file, so it loads nothing.
 */
#include "cli/cmd_check.h"
#include "cli/cli.h"

#include "batch/sysrows.h"
#include "config/config.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/retry.h"
#include "dbx/files.h"
#include "dbx/oauth.h"
#include "dbx/sql.h"
#include "load/dbxconn.h"
#include "load/ddl.h"
#include "load/stmt.h"
#include "route/tablename.h"

#include <ctype.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cmd_check_int.h"

/* ------------------------------------------------------------------------- */
/* Fixes                                                                     */
/* ------------------------------------------------------------------------- */

/* What a failed Databricks call should be fixed with: the grant it needs
 * when Databricks names none, and the fix when the object is missing. */
typedef struct fixspec {
    const char *priv;     /* "WRITE VOLUME" */
    const char *kind;     /* "VOLUME" */
    const char *name;     /* "main.s.v" */
    const char *notfound; /* fix text for DP_ENOTFOUND, may be NULL */
} fixspec_t;

/* Turns "PRIV on Kind name" (dp_retry_grant_message's sentence after "the
 * principal lacks ") into a GRANT statement for the principal. */
static int grant_from_sentence(const check_t *ck, const char *s, char *out, size_t outlen)
{
    const char *on = strstr(s, " on ");
    const char *kind, *name;
    char kbuf[32], who[NAME_LEN + 8];
    size_t k = 0;
    dp_err_t err;

    if (!on || dp_tablename_principal_quoted(ck->principal, who, sizeof(who), &err) < 0)
        return -1;
    kind = on + 4;
    name = strchr(kind, ' ');
    if (!name || (size_t)(name - kind) >= sizeof(kbuf))
        return -1;
    for (; kind + k < name; k++)
        kbuf[k] = (char)toupper((unsigned char)kind[k]);
    kbuf[k] = '\0';
    snprintf(out, outlen, "GRANT %.*s ON %s %s TO %s", (int)(on - s), s, kbuf, name + 1, who);
    return 0;
}

/* The GRANT that fixes a refused call: Databricks' own "does not have X on
 * Kind 'name'" when the message has it, else the check's expectation. */
static void grant_fix(const check_t *ck, const char *msg, const fixspec_t *fs, char *out,
                      size_t outlen)
{
    static const char lacks[] = "the principal lacks ";
    char sentence[512], who[NAME_LEN + 8];
    dp_err_t err;

    dp_retry_grant_message(NULL, msg, sentence, sizeof(sentence));
    if (strncmp(sentence, lacks, sizeof(lacks) - 1) == 0 &&
        grant_from_sentence(ck, sentence + sizeof(lacks) - 1, out, outlen) == 0)
        return;
    if (dp_tablename_principal_quoted(ck->principal, who, sizeof(who), &err) < 0)
        snprintf(who, sizeof(who), "<principal>");
    snprintf(out, outlen, "GRANT %s ON %s %s TO %s", fs->priv, fs->kind, fs->name, who);
}

/* The fix of refused credentials. Static text. */
static const char *cred_fix(const dp_config_t *c)
{
    return c->databricks.auth == DP_CONFIG_AUTH_PAT
               ? "check the personal access token in DELTAPORT_DATABRICKS_TOKEN (or "
                 "databricks.token_file)"
               : "check databricks.client_id and the secret in DELTAPORT_DATABRICKS_CLIENT_SECRET "
                 "(or databricks.client_secret_file)";
}

static int is_transport(int code)
{
    return code == DP_EIO || code == DP_ETIMEDOUT || code == DP_EAGAIN;
}

/* Reports a failed Databricks call of check `what`, choosing the fix from
 * the error: a missing grant, a missing object, the credentials, the host. */
static void fail_dbx(check_t *ck, const char *what, const dp_err_t *err, const fixspec_t *fs)
{
    const dp_config_t *c = ck->cfg;
    char fix[768];

    if (strstr(err->msg, "does not have ") || strstr(err->msg, "INSUFFICIENT_PERMISSIONS") ||
        (err->code == DP_EDENIED && !strstr(err->msg, "UNAUTHENTICATED") &&
         !strstr(err->msg, "HTTP 401") && !strstr(err->msg, "CAN USE"))) {
        grant_fix(ck, err->msg, fs, fix, sizeof(fix));
    } else if (err->code == DP_EDENIED && strstr(err->msg, "CAN USE")) {
        snprintf(fix, sizeof(fix), "give %s CAN USE on SQL warehouse %s (its Permissions)",
                 ck->principal, c->databricks.warehouse_id);
    } else if (err->code == DP_EDENIED) {
        snprintf(fix, sizeof(fix), "%s", cred_fix(c));
    } else if (err->code == DP_ENOTFOUND && fs->notfound) {
        snprintf(fix, sizeof(fix), "%s", fs->notfound);
    } else if (is_transport(err->code)) {
        snprintf(fix, sizeof(fix),
                 "check databricks.host (%s) and the network path to it; run check again if "
                 "the workspace was busy",
                 c->databricks.host);
    } else {
        snprintf(fix, sizeof(fix), "act on the message; docs/CHECK.md lists what each check needs");
    }
    dp_check__report(ck, ST_FAIL, what, "%s; fix: %s", err->msg, fix);
}

/* ------------------------------------------------------------------------- */
/* 1. Configuration                                                          */
/* ------------------------------------------------------------------------- */

static int check_config(check_t *ck, const char *path)
{
    dp_err_t err;

    dp_err_clear(&err);
    ck->cfg = dp_config_load(path, &err);
    if (!ck->cfg || dp_config_finalize(ck->cfg, &err) < 0) {
        dp_check__report(ck, ST_FAIL, "configuration",
                         "%s; fix: correct %s (docs/CONFIGURATION.md)", err.msg, path);
        return -1;
    }
    ck->principal = ck->cfg->databricks.auth == DP_CONFIG_AUTH_PAT ? "<the token's user>"
                                                                   : ck->cfg->databricks.client_id;
    snprintf(ck->schema, sizeof(ck->schema), "%s.%s", ck->cfg->databricks.catalog,
             ck->cfg->databricks.schema);
    snprintf(ck->volume, sizeof(ck->volume), "%s.%s", ck->schema, ck->cfg->databricks.volume);
    snprintf(ck->table, sizeof(ck->table), "%s." DP_RUNS_TABLE, ck->schema);
    dp_check__report(
        ck, ST_OK, "configuration", "%s (worker %s, auth %s)", path, ck->cfg->worker.id,
        ck->cfg->databricks.auth == DP_CONFIG_AUTH_PAT ? "personal access token" : "OAuth M2M");
    return 0;
}

/* ------------------------------------------------------------------------- */
/* 3. Token, 4. warehouse                                                    */
/* ------------------------------------------------------------------------- */

static int check_token(check_t *ck)
{
    const dp_config_t *c = ck->cfg;
    char token[8192];
    dp_err_t err;
    int rc;

    dp_err_clear(&err);
    /* The check reports; it does not wait out a long backoff. */
    if (ck->cfg->databricks.max_retries > CHECK_MAX_RETRIES)
        ck->cfg->databricks.max_retries = CHECK_MAX_RETRIES;
    if (dp_dbxconn_open(&ck->conn, c, NULL, NULL, &err) < 0) {
        dp_check__report(ck, ST_FAIL, "databricks token", "%s; fix: check databricks.host and auth",
                         err.msg);
        return -1;
    }
    rc = dp_oauth_token(ck->conn.oauth, NULL, token, sizeof(token), &err);
    dp_wipe(token, sizeof(token));
    if (rc < 0) {
        if (rc == DP_EDENIED)
            dp_check__report(ck, ST_FAIL, "databricks token", "%s; fix: %s", err.msg, cred_fix(c));
        else if (strstr(err.msg, ": TLS: "))
            /* the client named the TLS cause and its fix; the host is reachable */
            dp_check__report(ck, ST_FAIL, "databricks token", "%s", err.msg);
        else
            dp_check__report(ck, ST_FAIL, "databricks token",
                             "%s; fix: check databricks.host (%s): the workspace URL, "
                             "https://<workspace>.cloud.databricks.com, reachable from here",
                             err.msg, c->databricks.host);
        return -1;
    }
    if (c->databricks.auth == DP_CONFIG_AUTH_PAT)
        dp_check__report(ck, ST_OK, "databricks token", "personal access token for %s (used next)",
                         c->databricks.host);
    else
        dp_check__report(ck, ST_OK, "databricks token", "OAuth M2M token for client %s from %s",
                         c->databricks.client_id, c->databricks.host);
    return 0;
}

/* Runs one statement through the statement runner (load/stmt.h), with no
 * default namespace; 0 only when it SUCCEEDED. res is zeroed first and must
 * be cleared by the caller. The message is the statement's own: the report
 * line names the check. */
static int run_sql(check_t *ck, const char *sql, dp_dbx_sql_result_t *res, dp_err_t *err)
{
    dp_stmt_t s;

    memset(&s, 0, sizeof(s));
    s.sql = sql;
    s.deadline_ms = SQL_DEADLINE_MS;
    s.no_namespace = 1; /* the catalog and schema are what is being checked */
    return dp_stmt_run(ck->conn.client, ck->cfg, &s, res, err);
}

static int sql_step(check_t *ck, const char *what, const char *sql, const fixspec_t *fs,
                    const char *ok, dp_dbx_sql_result_t *keep);

/* The first cell of the first row, or NULL. Borrowed from res. */
static const char *first_cell(const dp_dbx_sql_result_t *res)
{
    return json_string_value(json_array_get(json_array_get(res->rows, 0), 0));
}

static int check_warehouse(check_t *ck)
{
    const dp_config_t *c = ck->cfg;
    dp_dbx_sql_result_t res;
    char notfound[512], ok[256];
    fixspec_t fs = {"USE CATALOG", "CATALOG", c->databricks.catalog, notfound};
    const char *v;
    int rc;

    snprintf(notfound, sizeof(notfound),
             "check databricks.warehouse_id (\"%s\"): the SQL warehouse's id, the last part of "
             "its HTTP path /sql/1.0/warehouses/<id>, in the workspace %s",
             c->databricks.warehouse_id, c->databricks.host);
    rc = sql_step(ck, "sql warehouse", "SELECT 1", &fs, NULL, &res);
    if (rc == 0) {
        v = first_cell(&res);
        snprintf(ok, sizeof(ok), "%s answered SELECT 1 with %s (statement %s)",
                 c->databricks.warehouse_id, v ? v : "no row", res.statement_id);
        dp_check__report(ck, v && strcmp(v, "1") == 0 ? ST_OK : ST_FAIL, "sql warehouse", "%s", ok);
        rc = v && strcmp(v, "1") == 0 ? 0 : DP_EFAIL;
    }
    dp_dbx_sql_result_clear(&res);
    return rc;
}

/* One SQL check: runs sql and reports FAIL (fix from fs) or, when ok is not
 * NULL, OK with ok as the detail. keep (may be NULL) receives the result,
 * to be cleared by the caller. Returns 0 or the DP_E* code. */
static int sql_step(check_t *ck, const char *what, const char *sql, const fixspec_t *fs,
                    const char *ok, dp_dbx_sql_result_t *keep)
{
    dp_dbx_sql_result_t local;
    dp_dbx_sql_result_t *res = keep ? keep : &local;
    dp_err_t err;
    int rc;

    dp_err_clear(&err);
    rc = run_sql(ck, sql, res, &err);
    if (rc < 0)
        fail_dbx(ck, what, &err, fs);
    else if (ok)
        dp_check__report(ck, ST_OK, what, "%s", ok);
    if (!keep)
        dp_dbx_sql_result_clear(&local);
    return rc;
}

/* ------------------------------------------------------------------------- */
/* 5. Catalog and schema                                                     */
/* ------------------------------------------------------------------------- */

/* 1 when some row's first cell is name. */
static int has_row(const dp_dbx_sql_result_t *res, const char *name)
{
    size_t i;
    json_t *row;

    json_array_foreach(res->rows, i, row)
    {
        const char *v = json_string_value(json_array_get(row, 0));

        if (v && strcmp(v, name) == 0)
            return 1;
    }
    return 0;
}

/* SHOW SCHEMAS IN `c` (USE CATALOG); *exists says whether the schema is
 * listed. Identifiers passed tablename's rule in config.c: no backquote. */
static int check_catalog(check_t *ck, int *exists)
{
    const char *c = ck->cfg->databricks.catalog;
    char sql[NAME_LEN + 64], what[WHAT_LEN], q[NAME_LEN + 4];
    dp_dbx_sql_result_t res;
    fixspec_t fs = {"USE CATALOG", "CATALOG", c,
                    "check databricks.catalog: the catalog does not exist or is not visible"};
    dp_err_t err;
    int rc;

    snprintf(what, sizeof(what), "catalog %s", c);
    if (dp_tablename_catalog_quoted(c, q, sizeof(q), &err) < 0) {
        fail_dbx(ck, what, &err, &fs);
        return DP_EINVAL;
    }
    snprintf(sql, sizeof(sql), "SHOW SCHEMAS IN %s", q);
    rc = sql_step(ck, what, sql, &fs, NULL, &res);
    if (rc == 0) {
        *exists = has_row(&res, ck->cfg->databricks.schema);
        dp_check__report(ck, ST_OK, what, "usable (USE CATALOG), %zu schema(s) visible",
                         json_array_size(res.rows));
    }
    dp_dbx_sql_result_clear(&res);
    return rc;
}

/* Creates the schema when create_schema is set (as the loader does), then
 * SHOW VOLUMES IN `c`.`s` proves USE SCHEMA. */
static int check_schema(check_t *ck, int exists)
{
    const dp_config_t *c = ck->cfg;
    char sql[DP_TABLENAME_QUALIFIED_SIZE + 64], what[WHAT_LEN], q[DP_TABLENAME_QUALIFIED_SIZE];
    char who[NAME_LEN + 8];
    fixspec_t create = {"CREATE SCHEMA", "CATALOG", c->databricks.catalog, NULL};
    fixspec_t use = {"USE SCHEMA", "SCHEMA", ck->schema, NULL};
    dp_err_t err;

    snprintf(what, sizeof(what), "schema %s", ck->schema);
    if (dp_tablename_schema_qualified(c->databricks.catalog, c->databricks.schema, q, sizeof(q),
                                      &err) < 0 ||
        dp_tablename_principal_quoted(ck->principal, who, sizeof(who), &err) < 0) {
        fail_dbx(ck, what, &err, &use);
        return DP_EINVAL;
    }
    if (!exists && !c->databricks.create_schema) {
        dp_check__report(
            ck, ST_FAIL, what,
            "the schema does not exist; fix: CREATE SCHEMA %s, or set "
            "databricks.create_schema to true and GRANT CREATE SCHEMA ON CATALOG %s TO %s",
            ck->schema, c->databricks.catalog, who);
        return DP_ENOTFOUND;
    }
    if (c->databricks.create_schema) {
        snprintf(sql, sizeof(sql), "CREATE SCHEMA IF NOT EXISTS %s", q);
        if (sql_step(ck, what, sql, &create, NULL, NULL) < 0)
            return DP_EFAIL;
    }
    snprintf(sql, sizeof(sql), "SHOW VOLUMES IN %s", q);
    return sql_step(ck, what, sql, &use,
                    exists ? "usable (USE SCHEMA)"
                           : "usable (USE SCHEMA), created (CREATE SCHEMA IF NOT EXISTS)",
                    NULL);
}

/* ------------------------------------------------------------------------- */
/* 6. Volume                                                                 */
/* ------------------------------------------------------------------------- */

static int check_volume(check_t *ck)
{
    const dp_config_t *c = ck->cfg;
    char q[DP_TABLENAME_QUALIFIED_SIZE], sql[DP_TABLENAME_QUALIFIED_SIZE + 64], what[WHAT_LEN];
    fixspec_t fs = {"CREATE VOLUME", "SCHEMA", ck->schema, NULL};
    dp_err_t err;

    snprintf(what, sizeof(what), "volume %s", ck->volume);
    if (dp_tablename_qualified(c->databricks.catalog, c->databricks.schema, c->databricks.volume, q,
                               sizeof(q), &err) < 0) {
        fail_dbx(ck, what, &err, &fs);
        return DP_EINVAL;
    }
    snprintf(sql, sizeof(sql), "CREATE VOLUME IF NOT EXISTS %s", q);
    return sql_step(ck, what, sql, &fs, "present or created (CREATE VOLUME IF NOT EXISTS)", NULL);
}

typedef struct list_ctx {
    const char *name;
    int found;
} list_ctx_t;

static int list_cb(void *ctx, const dp_dbx_file_entry_t *entry)
{
    list_ctx_t *lc = ctx;

    if (!entry->is_directory && strcmp(entry->name, lc->name) == 0)
        lc->found = 1;
    return lc->found;
}

/* A name no other check run uses: <worker>-<16 hex digits>.txt. */
static void random_name(const check_t *ck, char *out, size_t outlen)
{
    unsigned long long r = (unsigned long long)time(NULL) ^ ((unsigned long long)getpid() << 32);
    FILE *f = fopen("/dev/urandom", "rb");

    if (f) {
        if (fread(&r, sizeof(r), 1, f) != 1)
            r ^= (unsigned long long)clock();
        fclose(f);
    }
    snprintf(out, outlen, "%s-%016llx.txt", ck->cfg->worker.id, r);
}

/* mkdirs, upload (overwrite), list, delete under _deltaport_check/. */
static int check_files(check_t *ck)
{
    const dp_config_t *c = ck->cfg;
    char path[PATH_MAX_LEN + 320], body[400], what[WHAT_LEN];
    list_ctx_t lc = {ck->file, 0};
    fixspec_t fs = {"WRITE VOLUME", "VOLUME", ck->volume, "check databricks.volume"};
    const char *step = "mkdirs";
    dp_err_t err;
    int rc, uploaded = 0;

    snprintf(what, sizeof(what), "volume files %s", ck->volume);
    snprintf(ck->dir, sizeof(ck->dir), "/Volumes/%s/%s/%s/" CHECK_DIR, c->databricks.catalog,
             c->databricks.schema, c->databricks.volume);
    random_name(ck, ck->file, sizeof(ck->file));
    snprintf(path, sizeof(path), "%s/%s", ck->dir, ck->file);
    snprintf(body, sizeof(body), "deltaport check by worker %s\n", c->worker.id);
    dp_err_clear(&err);
    if ((rc = dp_dbx_files_mkdirs(ck->conn.client, ck->dir, &err)) < 0)
        goto out;
    step = "upload";
    rc = dp_dbx_files_upload(ck->conn.client, path, body, strlen(body), 1, NULL, &err);
    if (rc < 0)
        goto out;
    uploaded = 1;
    step = "list";
    fs.priv = "READ VOLUME";
    if ((rc = dp_dbx_files_list(ck->conn.client, ck->dir, list_cb, &lc, &err)) < 0)
        goto out;
    if (!lc.found) {
        rc = dp_err_set(&err, DP_EFAIL, 0, "%s was uploaded but is not listed", path);
        goto out;
    }
    step = "delete";
    fs.priv = "WRITE VOLUME";
    rc = dp_dbx_files_delete(ck->conn.client, path, NULL, &err);
    uploaded = rc < 0;
out:
    if (rc < 0) {
        dp_err_prefix(&err, "%s: ", step);
        fail_dbx(ck, what, &err, &fs);
    } else {
        dp_check__report(ck, ST_OK, what, "mkdirs, upload, list and delete of %s work", path);
    }
    if (uploaded)
        dp_dbx_files_delete(ck->conn.client, path, NULL, NULL);
    return rc;
}

/* ------------------------------------------------------------------------- */
/* 7. Tables                                                                 */
/* ------------------------------------------------------------------------- */

/* CREATE TABLE IF NOT EXISTS sync_runs, exactly the loader's statement. */
static int check_create_table(check_t *ck, const char *what)
{
    const dp_config_t *c = ck->cfg;
    fixspec_t fs = {"CREATE TABLE", "SCHEMA", ck->schema, NULL};
    dp_err_t err;
    char *sql = NULL;
    int rc;

    dp_err_clear(&err);
    rc = dp_tablename_qualified(c->databricks.catalog, c->databricks.schema, DP_RUNS_TABLE,
                                ck->runs, sizeof(ck->runs), &err);
    if (rc == 0 && !(sql = dp_ddl_create_table(ck->runs, dp_sysrows_sync_runs_schema, &err)))
        rc = DP_EINVAL;
    if (rc < 0)
        fail_dbx(ck, what, &err, &fs);
    else
        rc = sql_step(ck, what, sql, &fs,
                      "present or created (CREATE TABLE IF NOT EXISTS, as the loader)", NULL);
    free(sql);
    return rc;
}

static void check_select(check_t *ck, const char *what)
{
    char sql[DP_TABLENAME_QUALIFIED_SIZE + 64];
    dp_dbx_sql_result_t res;
    fixspec_t fs = {"SELECT", "TABLE", ck->table, NULL};
    const char *v;

    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", ck->runs);
    if (sql_step(ck, what, sql, &fs, NULL, &res) == 0) {
        v = first_cell(&res);
        dp_check__report(ck, ST_OK, what, "SELECT COUNT(*) = %s", v ? v : "?");
    }
    dp_dbx_sql_result_clear(&res);
}

/* MODIFY: a COPY INTO, with the loader's options, naming only the check's
 * file, which is deleted by then: COPY INTO ignores missing FILES, so it
 * loads and commits nothing, but the privileges (MODIFY and SELECT on the
 * table, READ VOLUME) are checked first. */
static void check_modify(check_t *ck, const char *what)
{
    char path[PATH_MAX_LEN + 128];
    fixspec_t fs = {"MODIFY", "TABLE", ck->table, NULL};
    dp_err_t err;
    char *sql;

    /* The loader's own statement (ddl.h), on a path of checked identifiers,
     * the worker id ([A-Za-z0-9._-]) and hex. */
    snprintf(path, sizeof(path), "%s/%s", ck->dir, ck->file);
    if (!(sql = dp_ddl_copy_into(ck->runs, path, &err))) {
        fail_dbx(ck, what, &err, &fs);
        return;
    }
    sql_step(ck, what, sql, &fs, "COPY INTO naming no existing file succeeded (loads nothing)",
             NULL);
    free(sql);
}

static void check_tables(check_t *ck, int files_ok)
{
    char sel[WHAT_LEN], mod[WHAT_LEN], tbl[WHAT_LEN];

    snprintf(tbl, sizeof(tbl), "table %s", ck->table);
    snprintf(sel, sizeof(sel), "select %s", ck->table);
    snprintf(mod, sizeof(mod), "modify %s", ck->table);
    if (check_create_table(ck, tbl) < 0) {
        dp_check__skip(ck, sel, tbl);
        dp_check__skip(ck, mod, tbl);
        return;
    }
    check_select(ck, sel);
    if (files_ok)
        check_modify(ck, mod);
    else
        dp_check__skip(ck, mod, "volume files");
}

/* ------------------------------------------------------------------------- */
/* The command                                                               */
/* ------------------------------------------------------------------------- */

/* Token, warehouse, catalog, schema in a chain; then the volume and the
 * tables, which both need only the schema (MODIFY also needs the files). */
static void check_databricks(check_t *ck)
{
    static const char *const chain[] = {"databricks token", "sql warehouse", "catalog", "schema",
                                        "volume",           "volume files",  "tables",  NULL};
    int exists = 0, failed_at = -1, files_ok = 0;

    if (check_token(ck) < 0)
        failed_at = 0;
    else if (check_warehouse(ck) < 0)
        failed_at = 1;
    else if (check_catalog(ck, &exists) < 0)
        failed_at = 2;
    else if (check_schema(ck, exists) < 0)
        failed_at = 3;
    if (failed_at >= 0) {
        for (int i = failed_at + 1; chain[i]; i++)
            dp_check__skip(ck, chain[i], chain[failed_at]);
        return;
    }
    if (check_volume(ck) == 0)
        files_ok = check_files(ck) == 0;
    else
        dp_check__skip(ck, "volume files", "volume");
    check_tables(ck, files_ok);
}

static const char check_help[] =
    "usage: deltaport check --config FILE\n"
    "\n"
    "Tests, in order, what a worker needs and prints one PASS/FAIL/SKIP line per check\n"
    "with the fix for each failure (docs/CHECK.md): the configuration, Kafka (brokers,\n"
    "topics, the group), the Databricks token, the SQL warehouse (CAN USE), the catalog\n"
    "and schema, the Volume (read and write), and the grants on the tables.\n"
    "\n"
    "options:\n"
    "  -c, --config FILE   the configuration of the workers to check\n"
    "  -h, --help          this text\n"
    "\n"
    "Exit status: 0 when every check passed, 1 when one failed or was skipped, 2 for a\n"
    "usage error.\n";

int dp_cmd_check(int argc, char **argv)
{
    check_t ck;
    const char *path = NULL;
    const dp_cli_opt_t opts[] = {
        {"config", 'c', DP_CLI_STRING, &path, "FILE", 1, 0, NULL},
        {NULL, 0, 0, NULL, NULL, 0, 0, NULL},
    };
    const dp_cli_spec_t spec = {"check", check_help, opts, 0, 0, NULL};
    int nargs, prc;

    if ((prc = dp_cli_parse(&spec, argc, argv, NULL, &nargs, stdout, stderr)) != DP_CLI_OK)
        return dp_cli_exit(prc);
    memset(&ck, 0, sizeof(ck));
    dp_log_set_level(DP_LOG_ERROR); /* the report is the output */
    if (check_config(&ck, path) == 0) {
        dp_check__kafka(&ck);
        check_databricks(&ck);
    } else {
        dp_check__skip(&ck, "kafka", "the configuration");
        dp_check__skip(&ck, "databricks", "the configuration");
    }
    printf("%s: %d passed, %d failed, %d skipped\n", ck.failed || ck.skipped ? "FAILED" : "PASSED",
           ck.passed, ck.failed, ck.skipped);
    dp_dbxconn_close(&ck.conn);
    dp_config_destroy(ck.cfg);
    return ck.failed || ck.skipped ? 1 : 0;
}
