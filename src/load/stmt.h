/*
 * stmt: the one statement runner. Every module that sends SQL to the
 * warehouse (claims, the loader, recovery, check, query) runs it through
 * dp_stmt_run(), which submits it, waits for a final state (the client
 * polls), and turns anything but SUCCEEDED into one DP_E* code:
 *
 *   DP_EINVAL  Databricks refused the data (an error of the data: the caller
 *              may route the rows to event_errors);
 *   DP_EFAIL   anything else that failed; err->retryable says whether the
 *              same statement may succeed later (a busy warehouse, a lost
 *              connection) or needs an operator (a missing grant);
 *   or the transport codes of dbx/sql.h.
 *
 * The error message starts with `what` (the purpose: "claims: take claims")
 * and carries Databricks' own words.
 *
 * cli/ (check, query, replay) runs its statements here too: no other file
 * calls dp_dbx_sql_execute().
 *
 * Thread: the caller's, with a client of that thread.
 */
#ifndef DP_STMT_H
#define DP_STMT_H

#include "config/config.h"
#include "core/err.h"
#include "core/retry.h"
#include "dbx/http.h"
#include "dbx/sql.h"

#include <stddef.h>

typedef struct dp_stmt {
    const char *what; /* purpose, for messages; NULL: the message is
                       * the statement's own (a command that names
                       * its step itself) */
    const char *sql;  /* the statement (required) */
    const dp_dbx_sql_param_t *params;
    size_t nparams;
    const dp_retry_object_t *object; /* what it touches, for grant messages; may be NULL */
    dp_dbx_liveness_fn liveness;     /* called while it waits; may be NULL */
    void *liveness_ctx;
    long deadline_ms; /* from submit to cancel; 0: the client's default */
    int no_namespace; /* 1: no default catalog and schema (they may not
                       * exist yet: `deltaport check`) */
} dp_stmt_t;

/* Runs s on the configured catalog and schema. res may be NULL; when given,
 * it receives the result (columns, rows, state) whatever the outcome and the
 * caller clears it with dp_dbx_sql_result_clear(). Returns 0 when the
 * statement SUCCEEDED, else a code as above. */
int dp_stmt_run(dp_dbx_client_t *client, const dp_config_t *cfg, const dp_stmt_t *s,
                dp_dbx_sql_result_t *res, dp_err_t *err);

/* Shorthand for a statement without parameters or object. */
int dp_stmt_exec(dp_dbx_client_t *client, const dp_config_t *cfg, const char *what, const char *sql,
                 dp_dbx_sql_result_t *res, dp_err_t *err);

/* Shorthand for a statement with parameters and no object. */
int dp_stmt_exec_params(dp_dbx_client_t *client, const dp_config_t *cfg, const char *what,
                        const char *sql, const dp_dbx_sql_param_t *params, size_t nparams,
                        dp_dbx_sql_result_t *res, dp_err_t *err);

/* The value of column `name` in the first row of res, parsed as an integer;
 * dflt when the column or the row is missing, NULL, or not an integer. */
long long dp_stmt_count(const dp_dbx_sql_result_t *res, const char *name, long long dflt);

/* Cell (row, col) of res as an integer; dflt when missing, NULL or not an
 * integer (the whole text must be a number). */
long long dp_stmt_cell_ll(const dp_dbx_sql_result_t *res, size_t row, size_t col, long long dflt);

/* Cell (row, col) as a string, borrowed from res; NULL when missing or NULL. */
const char *dp_stmt_cell(const dp_dbx_sql_result_t *res, size_t row, size_t col);

/* Number of rows of res. */
size_t dp_stmt_nrows(const dp_dbx_sql_result_t *res);

#endif
