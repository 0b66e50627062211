/*
 * stmt: the one statement runner (see stmt.h).
 */
#include "load/stmt.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int dp_stmt_run(dp_dbx_client_t *client, const dp_config_t *cfg, const dp_stmt_t *s,
                dp_dbx_sql_result_t *res, dp_err_t *err)
{
    dp_dbx_sql_opts_t opts;
    dp_dbx_sql_result_t local;
    dp_dbx_sql_result_t *r = res ? res : &local;
    int rc;

    memset(&opts, 0, sizeof(opts));
    memset(r, 0, sizeof(*r));
    opts.wait_timeout_s = (int)cfg->databricks.statement_wait_timeout_s;
    opts.liveness = s->liveness;
    opts.liveness_ctx = s->liveness_ctx;
    opts.deadline_ms = s->deadline_ms;
    if (s->object)
        opts.object = *s->object;
    rc = dp_dbx_sql_execute(client, s->sql, s->params, s->nparams,
                            s->no_namespace ? NULL : cfg->databricks.catalog,
                            s->no_namespace ? NULL : cfg->databricks.schema, &opts, r, err);
    if (rc == 0 && r->state != DP_DBX_SQL_SUCCEEDED) {
        dp_dbx_sql_failure_t kind = dp_dbx_sql_failure_kind(r);

        rc = dp_err_set(err, kind == DP_DBX_SQL_FAIL_DATA ? DP_EINVAL : DP_EFAIL,
                        kind == DP_DBX_SQL_FAIL_TRANSIENT, "%s%sstatement %s %s: %s",
                        s->what ? s->what : "", s->what ? ": " : "", r->statement_id,
                        dp_dbx_sql_state_name(r->state), r->message);
    } else if (rc < 0 && s->what) {
        dp_err_prefix(err, "%s: ", s->what);
    }
    if (!res)
        dp_dbx_sql_result_clear(&local);
    return rc;
}

int dp_stmt_exec_params(dp_dbx_client_t *client, const dp_config_t *cfg, const char *what,
                        const char *sql, const dp_dbx_sql_param_t *params, size_t nparams,
                        dp_dbx_sql_result_t *res, dp_err_t *err)
{
    dp_stmt_t s;

    memset(&s, 0, sizeof(s));
    s.what = what;
    s.sql = sql;
    s.params = params;
    s.nparams = nparams;
    return dp_stmt_run(client, cfg, &s, res, err);
}

int dp_stmt_exec(dp_dbx_client_t *client, const dp_config_t *cfg, const char *what, const char *sql,
                 dp_dbx_sql_result_t *res, dp_err_t *err)
{
    return dp_stmt_exec_params(client, cfg, what, sql, NULL, 0, res, err);
}

const char *dp_stmt_cell(const dp_dbx_sql_result_t *res, size_t row, size_t col)
{
    return json_string_value(json_array_get(json_array_get(res->rows, row), col));
}

size_t dp_stmt_nrows(const dp_dbx_sql_result_t *res)
{
    return json_array_size(res->rows);
}

static long long parse_ll(const char *v, long long dflt)
{
    char *end;
    long long n;

    if (!v || !*v)
        return dflt;
    errno = 0;
    n = strtoll(v, &end, 10);
    return errno || *end ? dflt : n;
}

long long dp_stmt_cell_ll(const dp_dbx_sql_result_t *res, size_t row, size_t col, long long dflt)
{
    return parse_ll(dp_stmt_cell(res, row, col), dflt);
}

long long dp_stmt_count(const dp_dbx_sql_result_t *res, const char *name, long long dflt)
{
    size_t i;
    json_t *col;

    json_array_foreach(res->columns, i, col)
    {
        if (json_is_string(col) && strcmp(json_string_value(col), name) == 0)
            return dp_stmt_cell_ll(res, 0, i, dflt);
    }
    return dflt;
}
