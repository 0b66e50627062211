/*
 * cmd_ddl: the DDL of the objects deltaport writes to (see cmd_ddl.h).
 *
 * The text comes from the same functions the worker runs (ddl.h for the
 * warehouse sink and the system tables, sink_zerobus.h for the zerobus
 * sink's raw tables and views), so what an administrator creates is what
 * the worker would have created. Identifiers pass tablename.h; event names
 * from --names pass the same mapping as events (dp_tablename_for_event).
 */
#include "cli/cmd_ddl.h"

#include "batch/sysrows.h"
#include "cli/cli.h"
#include "config/config.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "load/claims.h"
#include "load/ddl.h"
#include "load/loadops.h"
#include "load/sink_zerobus.h"
#include "route/router.h"
#include "route/tablename.h"
#include "stage/avrofile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char ddl_help[] =
    "usage: deltaport ddl --config FILE [--names NAME,NAME,...]\n"
    "\n"
    "Prints the SQL that creates what the worker writes to: the schema, the staging\n"
    "Volume, deltaport's system tables, the shared (or single) table and the table of\n"
    "each event name given, then the grants the configured principal needs. With\n"
    "sink \"zerobus\" each event table is a raw table (raw_<table>, written by Zerobus)\n"
    "and a view <table> over it (docs/DELIVERY.md, \"The two sinks\"). For a workspace\n"
    "where deltaport's principal may not create tables: an administrator runs the\n"
    "output, and the worker finds everything in place. Nothing is sent to Databricks.\n"
    "\n"
    "options:\n"
    "  -c, --config FILE   the configuration (loaded as `run` loads it, secrets too)\n"
    "  -n, --names LIST    event names that get their own table, comma-separated\n"
    "  -h, --help          this text\n"
    "\n"
    "Exit status: 0, 1 when the configuration or the canonical schema cannot be read,\n"
    "2 for a usage error.\n";

/* Prints one statement (owned text, freed) followed by ";". */
static int emit(char *sql, dp_err_t *err, const char *what)
{
    if (!sql) {
        fprintf(stderr, "deltaport ddl: %s: %s\n", what, err->msg);
        return -1;
    }
    printf("%s;\n\n", sql);
    free(sql);
    return 0;
}

static int system_table(const dp_config_t *cfg, const char *table, const char *schema,
                        dp_err_t *err)
{
    char q[DP_TABLENAME_QUALIFIED_SIZE];

    if (dp_tablename_qualified(cfg->databricks.catalog, cfg->databricks.schema, table, q, sizeof(q),
                               err) < 0)
        return emit(NULL, err, table);
    return emit(dp_ddl_create_table(q, schema, err), err, table);
}

static int event_table(const dp_config_t *cfg, const char *table, const char *staged, dp_err_t *err)
{
    char q[DP_TABLENAME_QUALIFIED_SIZE];

    if (cfg->sink == DP_CONFIG_SINK_ZEROBUS) {
        printf("-- %s: the raw table Zerobus writes, and the view readers query\n", table);
        if (emit(dp_sink_zb_table_sql(cfg->databricks.catalog, cfg->databricks.schema, table,
                                      staged, err),
                 err, table) < 0)
            return -1;
        return emit(dp_sink_zb_view_sql(cfg->databricks.catalog, cfg->databricks.schema, table,
                                        staged, err),
                    err, table);
    }
    if (dp_tablename_qualified(cfg->databricks.catalog, cfg->databricks.schema, table, q, sizeof(q),
                               err) < 0)
        return emit(NULL, err, table);
    return emit(dp_ddl_create_table(q, staged, err), err, table);
}

/* The principal as a back-quoted name, when it is a plain one. */
static void principal_of(const dp_config_t *cfg, char *out, size_t len)
{
    const char *id =
        cfg->databricks.auth == DP_CONFIG_AUTH_OAUTH ? cfg->databricks.client_id : NULL;

    if (!id || strlen(id) >= 200 ||
        strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@-") !=
            strlen(id) ||
        dp_tablename_principal_quoted(id, out, len, NULL) < 0)
        dp_tablename_principal_quoted("<principal>", out, len, NULL);
}

static void grants(const dp_config_t *cfg, const char *const *tables, size_t ntables)
{
    const char *c = cfg->databricks.catalog, *s = cfg->databricks.schema;
    char who[256], qc[DP_TABLENAME_QUALIFIED_SIZE], qs[DP_TABLENAME_QUALIFIED_SIZE];
    char q[DP_TABLENAME_QUALIFIED_SIZE];
    dp_err_t err;

    principal_of(cfg, who, sizeof(who));
    /* The configuration checked every identifier; a failure here is a bug. */
    if (dp_tablename_catalog_quoted(c, qc, sizeof(qc), &err) < 0 ||
        dp_tablename_schema_qualified(c, s, qs, sizeof(qs), &err) < 0 ||
        dp_tablename_qualified(c, s, cfg->databricks.volume, q, sizeof(q), &err) < 0) {
        fprintf(stderr, "deltaport ddl: grants: %s\n", err.msg);
        return;
    }
    printf("-- the grants of deltaport's principal (docs/SETUP.md), plus CAN USE on the SQL "
           "warehouse\n");
    printf("GRANT USE CATALOG ON CATALOG %s TO %s;\n", qc, who);
    printf("GRANT USE SCHEMA ON SCHEMA %s TO %s;\n", qs, who);
    printf("GRANT READ VOLUME, WRITE VOLUME ON VOLUME %s TO %s;\n", q, who);
    for (size_t i = 0; i < ntables; i++) {
        char raw[DP_SINK_ZB_RAW_SIZE];
        int ev = !dp_tablename_is_system(tables[i]);

        if (ev && cfg->sink == DP_CONFIG_SINK_ZEROBUS &&
            dp_sink_zb_raw_name(tables[i], raw, sizeof(raw), &err) == 0 &&
            dp_tablename_qualified(c, s, raw, q, sizeof(q), &err) == 0) {
            printf("GRANT SELECT, MODIFY ON TABLE %s TO %s;\n", q, who);
            if (dp_tablename_qualified(c, s, tables[i], q, sizeof(q), &err) == 0)
                printf("GRANT SELECT ON TABLE %s TO %s;\n", q, who);
            else
                fprintf(stderr, "deltaport ddl: grants: %s\n", err.msg);
        } else if (dp_tablename_qualified(c, s, tables[i], q, sizeof(q), &err) == 0) {
            printf("GRANT SELECT, MODIFY ON TABLE %s TO %s;\n", q, who);
        } else {
            fprintf(stderr, "deltaport ddl: grants: %s\n", err.msg);
        }
    }
}

int dp_cmd_ddl(int argc, char **argv)
{
    const char *path = NULL, *names = NULL;
    const dp_cli_opt_t opts[] = {
        {"config", 'c', DP_CLI_STRING, &path, "FILE", 1, 0, NULL},
        {"names", 'n', DP_CLI_STRING, &names, "LIST", 0, 0, NULL},
        {NULL, 0, 0, NULL, NULL, 0, 0, NULL},
    };
    const dp_cli_spec_t spec = {"ddl", ddl_help, opts, 0, 0, NULL};
    const char *const *sys = dp_loadops_system_tables();
    char file[4096], q[DP_TABLENAME_QUALIFIED_SIZE];
    char *canonical = NULL, *staged = NULL, *errors = NULL;
    const char **tables = NULL;
    char **owned = NULL;
    size_t ntables = 0, nowned = 0;
    dp_config_t *cfg = NULL;
    dp_err_t err;
    int prc, nargs, rc = 1;

    if ((prc = dp_cli_parse(&spec, argc, argv, NULL, &nargs, stdout, stderr)) != DP_CLI_OK)
        return dp_cli_exit(prc);
    dp_log_set_level(DP_LOG_ERROR);
    if (!(cfg = dp_config_load(path, &err)) || dp_config_finalize(cfg, &err) < 0) {
        fprintf(stderr, "deltaport ddl: %s\n", err.msg);
        goto out;
    }
    snprintf(file, sizeof(file), "%s/canonical_event.avsc", cfg->schemas.dir);
    if (!(canonical = dp_buf_read_file(file, 4 * 1024 * 1024, NULL, &err)) ||
        dp_avrofile_staged_schema(canonical, strlen(canonical), &staged, &err) < 0 ||
        dp_avrofile_staged_schema(dp_sysrows_event_errors_schema,
                                  strlen(dp_sysrows_event_errors_schema), &errors, &err) < 0) {
        fprintf(stderr, "deltaport ddl: %s\n", err.msg);
        goto out;
    }
    /* The event tables: the shared (or single) table, then one per name. */
    tables = dp_calloc(2, sizeof(*tables));
    tables[ntables++] = cfg->routing.mode == DP_ROUTE_SINGLE ? cfg->routing.single_table
                                                             : cfg->routing.shared_table;
    for (const char *p = names; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char t[DP_TABLENAME_TABLE_SIZE];

        if (len > 0) {
            if (dp_tablename_for_event(p, len, t, sizeof(t), &err) < 0) {
                fprintf(stderr, "deltaport ddl: --names: %s\n", err.msg);
                rc = 2;
                goto out;
            }
            owned = dp_realloc(owned, (nowned + 1) * sizeof(*owned));
            owned[nowned++] = dp_strdup(t);
            tables = dp_realloc(tables, (ntables + 1) * sizeof(*tables));
            tables[ntables++] = owned[nowned - 1];
        }
        p = comma ? comma + 1 : NULL;
    }
    printf("-- deltaport ddl: catalog %s, schema %s, sink %s\n\n", cfg->databricks.catalog,
           cfg->databricks.schema, cfg->sink == DP_CONFIG_SINK_ZEROBUS ? "zerobus" : "warehouse");
    if (dp_tablename_schema_qualified(cfg->databricks.catalog, cfg->databricks.schema, q, sizeof(q),
                                      &err) < 0) {
        fprintf(stderr, "deltaport ddl: %s\n", err.msg);
        goto out;
    }
    printf("CREATE SCHEMA IF NOT EXISTS %s;\n\n", q);
    if (dp_tablename_qualified(cfg->databricks.catalog, cfg->databricks.schema,
                               cfg->databricks.volume, q, sizeof(q), &err) < 0) {
        fprintf(stderr, "deltaport ddl: %s\n", err.msg);
        goto out;
    }
    printf("CREATE VOLUME IF NOT EXISTS %s;\n\n", q);
    for (int i = 0; sys[i]; i++) {
        const char *schema = strcmp(sys[i], DP_ERRORS_TABLE) == 0   ? errors
                             : strcmp(sys[i], DP_RUNS_TABLE) == 0   ? dp_sysrows_sync_runs_schema
                             : strcmp(sys[i], DP_LEDGER_TABLE) == 0 ? dp_claims_ledger_schema
                             : strcmp(sys[i], DP_CLAIMS_TABLE) == 0 ? dp_claims_schema
                                                                    : dp_claims_incarnations_schema;

        if (system_table(cfg, sys[i], schema, &err) < 0)
            goto out;
    }
    for (size_t i = 0; i < ntables; i++) {
        if (event_table(cfg, tables[i], staged, &err) < 0)
            goto out;
    }
    {
        size_t n = 0;
        const char **all = dp_calloc(ntables + 8, sizeof(*all));

        for (int i = 0; sys[i]; i++)
            all[n++] = sys[i];
        for (size_t i = 0; i < ntables; i++)
            all[n++] = tables[i];
        grants(cfg, all, n);
        free(all);
    }
    rc = 0;
out:
    for (size_t i = 0; i < nowned; i++)
        free(owned[i]);
    free(owned);
    free(tables);
    free(canonical);
    free(staged);
    free(errors);
    dp_config_destroy(cfg);
    return rc;
}
