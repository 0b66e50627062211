/*
 * cmd_query: one SQL statement, printed (see cmd_query.h).
 */
#include "cli/cmd_query.h"

#include "cli/cli.h"
#include "config/config.h"
#include "core/log.h"
#include "core/retry.h"
#include "dbx/sql.h"
#include "load/dbxconn.h"
#include "load/stmt.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define MAX_COLS 64

static const char *cell(json_t *row, size_t c)
{
    json_t *v = json_array_get(row, c);

    return json_is_string(v) ? json_string_value(v) : "NULL";
}

static void print_result(const dp_dbx_sql_result_t *res, int tsv)
{
    size_t ncols = json_array_size(res->columns), i;
    size_t width[MAX_COLS] = {0};
    json_t *row;

    if (ncols > MAX_COLS)
        ncols = MAX_COLS;
    for (size_t c = 0; c < ncols; c++)
        width[c] = strlen(json_string_value(json_array_get(res->columns, c)));
    json_array_foreach(res->rows, i, row)
    {
        for (size_t c = 0; c < ncols; c++) {
            size_t w = strlen(cell(row, c));

            if (w > width[c])
                width[c] = w;
        }
    }
    for (size_t c = 0; c < ncols; c++) {
        const char *name = json_string_value(json_array_get(res->columns, c));

        if (tsv)
            printf("%s%s", name, c + 1 < ncols ? "\t" : "\n");
        else
            printf("%-*s%s", (int)width[c], name, c + 1 < ncols ? "  " : "\n");
    }
    json_array_foreach(res->rows, i, row)
    {
        for (size_t c = 0; c < ncols; c++) {
            if (tsv)
                printf("%s%s", cell(row, c), c + 1 < ncols ? "\t" : "\n");
            else
                printf("%-*s%s", (int)width[c], cell(row, c), c + 1 < ncols ? "  " : "\n");
        }
    }
}

/* 1 when a failed statement was refused for lack of a privilege. */
static int permission_error(const dp_dbx_sql_result_t *res)
{
    return strstr(res->error_code, "PERMISSION_DENIED") || strstr(res->error_class, "PERMISSION") ||
           strstr(res->error_class, "INSUFFICIENT") || strstr(res->message, "does not have ");
}

/* Databricks' own error first; the grants hint after it, and only for a
 * permission error. */
static void report_failure(const dp_dbx_sql_result_t *res, const dp_err_t *err)
{
    static const dp_retry_object_t any = {DP_RETRY_OBJ_NONE, DP_RETRY_ACCESS_READ, NULL};
    char hint[400];

    if (res->state != DP_DBX_SQL_FAILED || !res->message[0]) {
        /* No statement result (transport, token, warehouse): the client's
         * message already names the cause and the grant. */
        fprintf(stderr, "deltaport query: %s\n", err->msg[0] ? err->msg : "the statement failed");
        return;
    }
    fprintf(stderr, "deltaport query: %s\n", res->message);
    if (res->statement_id[0])
        fprintf(stderr, "  (statement %s, %s)\n", res->statement_id,
                res->error_code[0] ? res->error_code : dp_dbx_sql_state_name(res->state));
    if (permission_error(res)) {
        dp_retry_grant_message(&any, res->message, hint, sizeof(hint));
        fprintf(stderr, "hint: %s (docs/SETUP.md has the GRANT script)\n", hint);
    }
}

static const char query_help[] =
    "usage: deltaport query --config FILE [--tsv] SQL\n"
    "\n"
    "Runs one SQL statement on the configured SQL warehouse, as the configured principal,\n"
    "with the configured catalog and schema as defaults, and prints the result as a\n"
    "table (or tab-separated with --tsv). Handy for the runbook queries of\n"
    "docs/OPERATIONS.md.\n"
    "\n"
    "options:\n"
    "  -c, --config FILE   the configuration (databricks.* and its secrets)\n"
    "      --tsv           tab-separated output, a header line first\n"
    "  -h, --help          this text\n"
    "\n"
    "Exit status: 0 when the statement succeeded, 1 when it failed (Databricks' error\n"
    "first), 2 for a usage error.\n";

int dp_cmd_query(int argc, char **argv)
{
    const char *path = NULL, *sql = NULL;
    dp_config_t *cfg = NULL;
    dp_dbxconn_t conn = {NULL, NULL};
    dp_stmt_t stmt;
    dp_dbx_sql_result_t res;
    dp_err_t err;
    int tsv = 0, rc = 1, nargs, prc;
    char *args[1];
    const dp_cli_opt_t opts[] = {
        {"config", 'c', DP_CLI_STRING, &path, "FILE", 1, 0, NULL},
        {"tsv", 0, DP_CLI_FLAG, &tsv, NULL, 0, 0, NULL},
        {NULL, 0, 0, NULL, NULL, 0, 0, NULL},
    };
    const dp_cli_spec_t spec = {"query", query_help, opts, 1, 1, "SQL"};

    memset(&res, 0, sizeof(res));
    if ((prc = dp_cli_parse(&spec, argc, argv, args, &nargs, stdout, stderr)) != DP_CLI_OK)
        return dp_cli_exit(prc);
    sql = args[0];
    dp_log_set_level(DP_LOG_ERROR); /* the result is the output; no notices */
    cfg = dp_config_load(path, &err);
    if (!cfg || dp_config_finalize(cfg, &err) < 0 ||
        dp_dbxconn_open(&conn, cfg, NULL, NULL, &err) < 0) {
        fprintf(stderr, "deltaport: %s\n", err.msg);
        goto out;
    }
    memset(&stmt, 0, sizeof(stmt));
    stmt.sql = sql; /* no `what`: the message is Databricks' own */
    if (dp_stmt_run(conn.client, cfg, &stmt, &res, &err) < 0) {
        report_failure(&res, &err);
        goto out;
    }
    if (res.columns)
        print_result(&res, tsv);
    rc = 0;
out:
    dp_dbx_sql_result_clear(&res);
    dp_dbxconn_close(&conn);
    dp_config_destroy(cfg);
    return rc;
}
