/*
 * cmd_report: the cost report (see cmd_report.h).
 */
#include "cli/cmd_report.h"

#include "cli/cli.h"
#include "config/config.h"
#include "core/log.h"
#include "core/mem.h"
#include "load/dbxconn.h"
#include "load/loadops.h"
#include "load/stmt.h"
#include "route/tablename.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_LATENCIES 1000000

static const char report_help[] =
    "usage: deltaport report --config FILE [--since DURATION]\n"
    "\n"
    "What the loads cost in Databricks, from the flush and file rows of sync_runs:\n"
    "statements and Files calls per million events, files and mean file size per table,\n"
    "flush load-time percentiles (cut to loaded).\n"
    "\n"
    "options:\n"
    "  -c, --config FILE      the configuration (databricks.*)\n"
    "  -s, --since DURATION   only flushes loaded in the last DURATION: 90s, 15m, 24h, 7d\n"
    "                         (default 24h)\n"
    "  -h, --help             this text\n"
    "\n"
    "Exit status: 0 success, 1 failure, 2 usage error.\n";

int dp_cmd_report_duration(const char *text, long long *seconds)
{
    char *end;
    long long n;

    errno = 0;
    n = strtoll(text, &end, 10);
    if (errno || end == text || n <= 0 || strlen(end) != 1)
        return -1;
    switch (*end) {
    case 's':
        *seconds = n;
        return 0;
    case 'm':
        *seconds = n * 60;
        return 0;
    case 'h':
        *seconds = n * 3600;
        return 0;
    case 'd':
        *seconds = n * 86400;
        return 0;
    default:
        return -1;
    }
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;

    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[0..n). */
static long long pct(const long long *v, size_t n, double p)
{
    size_t k = (size_t)(p / 100.0 * (double)n + 0.999999);

    if (n == 0)
        return 0;
    return v[k == 0 ? 0 : (k > n ? n - 1 : k - 1)];
}

static int run(dp_dbx_client_t *client, const dp_config_t *cfg, const char *what, const char *sql,
               const char *since, dp_dbx_sql_result_t *res, dp_err_t *err)
{
    dp_dbx_sql_param_t param = {"since", since, "TIMESTAMP"};

    return dp_stmt_exec_params(client, cfg, what, sql, &param, 1, res, err);
}

static int report(dp_dbx_client_t *client, const dp_config_t *cfg, const char *since,
                  const char *span, dp_err_t *err)
{
    char q[DP_TABLENAME_QUALIFIED_SIZE], sql[DP_TABLENAME_QUALIFIED_SIZE + 400];
    dp_dbx_sql_result_t res;
    long long flushes, events, statements, files, *lat = NULL;
    size_t nlat = 0;
    int rc;

    if (dp_tablename_qualified(cfg->databricks.catalog, cfg->databricks.schema, DP_RUNS_TABLE, q,
                               sizeof(q), err) < 0)
        return DP_EINVAL;
    snprintf(sql, sizeof(sql),
             "SELECT COUNT(*), COALESCE(SUM(rows), 0), "
             "COALESCE(SUM(statements), 0), COALESCE(SUM(files_calls), 0) FROM %s WHERE "
             "kind = 'flush' AND finished_at >= :since",
             q);
    if ((rc = run(client, cfg, "report: flushes", sql, since, &res, err)) < 0) {
        dp_dbx_sql_result_clear(&res);
        return rc;
    }
    flushes = dp_stmt_cell_ll(&res, 0, 0, 0);
    events = dp_stmt_cell_ll(&res, 0, 1, 0);
    statements = dp_stmt_cell_ll(&res, 0, 2, 0);
    files = dp_stmt_cell_ll(&res, 0, 3, 0);
    dp_dbx_sql_result_clear(&res);
    printf("deltaport report: %s.%s, flushes loaded since %s UTC (%s)\n\n", cfg->databricks.catalog,
           cfg->databricks.schema, since, span);
    printf("flushes                        %lld\n", flushes);
    printf("events                         %lld\n", events);
    printf("statements                     %lld\n", statements);
    printf("Files calls                    %lld\n", files);
    if (events > 0) {
        printf("statements per million events  %.1f\n", (double)statements * 1e6 / (double)events);
        printf("Files calls per million events %.1f\n", (double)files * 1e6 / (double)events);
    }
    snprintf(sql, sizeof(sql),
             "SELECT table_name, COUNT(*), CAST(AVG(bytes) AS BIGINT), "
             "COALESCE(SUM(rows), 0) FROM %s WHERE kind = 'file' AND finished_at >= :since "
             "GROUP BY table_name ORDER BY table_name",
             q);
    if ((rc = run(client, cfg, "report: files", sql, since, &res, err)) < 0) {
        dp_dbx_sql_result_clear(&res);
        return rc;
    }
    printf("\n%-32s %8s %14s %12s\n", "table", "files", "mean bytes", "rows");
    for (size_t i = 0; i < dp_stmt_nrows(&res); i++)
        printf("%-32s %8lld %14lld %12lld\n",
               dp_stmt_cell(&res, i, 0) ? dp_stmt_cell(&res, i, 0) : "NULL",
               dp_stmt_cell_ll(&res, i, 1, 0), dp_stmt_cell_ll(&res, i, 2, 0),
               dp_stmt_cell_ll(&res, i, 3, 0));
    dp_dbx_sql_result_clear(&res);
    snprintf(sql, sizeof(sql),
             "SELECT load_ms FROM %s WHERE kind = 'flush' AND finished_at >= "
             ":since ORDER BY load_ms LIMIT %d",
             q, MAX_LATENCIES);
    if ((rc = run(client, cfg, "report: load times", sql, since, &res, err)) < 0) {
        dp_dbx_sql_result_clear(&res);
        return rc;
    }
    lat = dp_calloc(dp_stmt_nrows(&res) + 1, sizeof(*lat));
    for (size_t i = 0; i < dp_stmt_nrows(&res); i++) {
        long long v = dp_stmt_cell_ll(&res, i, 0, -1);

        if (v >= 0)
            lat[nlat++] = v;
    }
    dp_dbx_sql_result_clear(&res);
    qsort(lat, nlat, sizeof(*lat), cmp_ll);
    printf("\nflush load time (cut to loaded), ms: p50 %lld  p90 %lld  p99 %lld  max %lld\n",
           pct(lat, nlat, 50), pct(lat, nlat, 90), pct(lat, nlat, 99), nlat ? lat[nlat - 1] : 0);
    free(lat);
    return 0;
}

int dp_cmd_report(int argc, char **argv)
{
    const char *path = NULL, *span = "24h";
    long long seconds = 86400;
    char since[32];
    dp_config_t *cfg = NULL;
    dp_dbxconn_t conn = {NULL, NULL};
    dp_err_t err;
    time_t t;
    struct tm tm;
    int rc = 1, nargs, prc;
    const dp_cli_opt_t opts[] = {
        {"config", 'c', DP_CLI_STRING, &path, "FILE", 1, 0, NULL},
        {"since", 's', DP_CLI_STRING, &span, "DURATION", 0, 0, NULL},
        {NULL, 0, 0, NULL, NULL, 0, 0, NULL},
    };
    const dp_cli_spec_t spec = {"report", report_help, opts, 0, 0, NULL};

    if ((prc = dp_cli_parse(&spec, argc, argv, NULL, &nargs, stdout, stderr)) != DP_CLI_OK)
        return dp_cli_exit(prc);
    if (dp_cmd_report_duration(span, &seconds) < 0)
        return dp_cli_exit(dp_cli_usage_error(&spec, stderr,
                                              "--since: '%s' is not a duration "
                                              "such as 90s, 15m, 24h or 7d",
                                              span));
    dp_log_set_level(DP_LOG_ERROR);
    t = time(NULL) - (time_t)seconds;
    gmtime_r(&t, &tm);
    strftime(since, sizeof(since), "%Y-%m-%d %H:%M:%S", &tm);
    cfg = dp_config_load(path, &err);
    if (!cfg || dp_config_finalize(cfg, &err) < 0 ||
        dp_dbxconn_open(&conn, cfg, NULL, NULL, &err) < 0 ||
        report(conn.client, cfg, since, span, &err) < 0) {
        fprintf(stderr, "deltaport report: %s\n", err.msg);
        goto out;
    }
    rc = 0;
out:
    dp_dbxconn_close(&conn);
    dp_config_destroy(cfg);
    return rc;
}
