/*
 * cmd_query: one SQL statement, printed (see cmd_query.h).
 */
#include "cmd_query.h"

#include "config.h"
#include "dbx/sql.h"
#include "dbxconn.h"
#include "log.h"

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

int dp_cmd_query(int argc, char **argv)
{
    const char *path = NULL, *sql = NULL;
    dp_config_t *cfg = NULL;
    dp_dbxconn_t conn = {NULL, NULL};
    dp_dbx_sql_opts_t opts;
    dp_dbx_sql_result_t res;
    dp_err_t err;
    int tsv = 0, rc = 1;

    memset(&res, 0, sizeof(res));
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strcmp(argv[i], "--tsv") == 0)
            tsv = 1;
        else if (!sql && argv[i][0] != '-')
            sql = argv[i];
        else
            path = NULL, i = argc;
    }
    if (!path || !sql) {
        fprintf(stderr, "usage: deltaport query --config FILE [--tsv] 'SQL'\n");
        return 2;
    }
    dp_log_set_level(DP_LOG_ERROR); /* the result is the output; no notices */
    cfg = dp_config_load(path, &err);
    if (!cfg || dp_config_finalize(cfg, &err) < 0 ||
        dp_dbxconn_open(&conn, cfg, NULL, NULL, &err) < 0) {
        fprintf(stderr, "deltaport: %s\n", err.msg);
        goto out;
    }
    memset(&opts, 0, sizeof(opts));
    opts.wait_timeout_s = (int)cfg->databricks.statement_wait_timeout_s;
    if (dp_dbx_sql_execute(conn.client, sql, NULL, 0, cfg->databricks.catalog,
                           cfg->databricks.schema, &opts, &res, &err) < 0) {
        fprintf(stderr, "deltaport: %s\n", err.msg);
        goto out;
    }
    if (res.state != DP_DBX_SQL_SUCCEEDED) {
        fprintf(stderr, "deltaport: statement %s: %s\n", dp_dbx_sql_state_name(res.state),
                res.message);
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
