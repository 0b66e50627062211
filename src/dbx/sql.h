/*
 * dbx/sql: the SQL Statement Execution API (docs/DATABRICKS.md).
 *
 * A statement is submitted with named parameters only (the module never
 * splices a value into SQL; identifiers come from tablename.h), waits
 * server-side up to wait_timeout with on_wait_timeout=CONTINUE, then is
 * polled with backoff (0.5 s x1.5 up to 5 s) to a terminal state: never
 * fire and forget. While waiting, a liveness callback keeps the caller's
 * heartbeat fresh. Past the overall deadline the statement is cancelled
 * (best effort) and polled a little longer, since a cancelled COPY INTO may
 * still have committed. Submit is not idempotent (500 not retried); polls
 * and cancels are.
 * Thread: the client's thread.
 */
#ifndef DP_DBX_SQL_H
#define DP_DBX_SQL_H

#include <jansson.h>
#include <stddef.h>

#include "core/err.h"
#include "core/retry.h"
#include "dbx/http.h"

typedef enum {
    DP_DBX_SQL_UNKNOWN = 0, /* never reached the server, or unrecognised */
    DP_DBX_SQL_PENDING,
    DP_DBX_SQL_RUNNING,
    DP_DBX_SQL_SUCCEEDED,
    DP_DBX_SQL_FAILED,
    DP_DBX_SQL_CANCELED,
    DP_DBX_SQL_CLOSED /* succeeded, results no longer fetchable */
} dp_dbx_sql_state_t;

/* A named parameter, referenced as :name. value NULL = SQL NULL; type NULL =
 * STRING (else e.g. "BIGINT", "TIMESTAMP"). All borrowed. */
typedef struct dp_dbx_sql_param {
    const char *name;
    const char *value;
    const char *type;
} dp_dbx_sql_param_t;

/* Waiting policy; zero fields take the defaults in brackets. */
typedef struct dp_dbx_sql_opts {
    int wait_timeout_s;          /* server-side wait, 5..50 [50] */
    long poll_initial_ms;        /* first poll interval [500], x1.5 each poll */
    long poll_max_ms;            /* [5000] */
    long deadline_ms;            /* from submit to cancel [1800000 = 30 min] */
    long cancel_grace_ms;        /* polling after the cancel [30000] */
    dp_dbx_liveness_fn liveness; /* may be NULL; called at least once a second */
    void *liveness_ctx;
    dp_retry_object_t object; /* what the statement touches, for grant messages */
} dp_dbx_sql_opts_t;

/* The outcome of a statement. Clear with dp_dbx_sql_result_clear. */
typedef struct dp_dbx_sql_result {
    dp_dbx_sql_state_t state;
    char statement_id[128];
    char error_code[64];   /* status.error.error_code, or the HTTP error_code */
    char sql_state[16];    /* status.sql_state */
    char error_class[128]; /* "DELTA_FAILED_TO_MERGE_FIELDS" from "[...] text" */
    char message[1024];
    json_t *columns; /* new: array of column-name strings, or NULL */
    json_t *rows;    /* new: every row of every chunk (arrays of strings/null), or NULL */
    long next_chunk; /* internal: next chunk to fetch, 0 when none */
} dp_dbx_sql_result_t;

/* What a failed statement means for the loader (docs/DATABRICKS.md,
 * "Failure kinds"). */
typedef enum {
    DP_DBX_SQL_FAIL_NONE = 0,  /* succeeded */
    DP_DBX_SQL_FAIL_DATA,      /* the rows or files were refused: to event_errors */
    DP_DBX_SQL_FAIL_SETUP,     /* grants, missing objects or warehouse, credentials:
                                * pause, keep the data, retry with backoff */
    DP_DBX_SQL_FAIL_TRANSIENT, /* conflict or unavailability: retry the same load */
    DP_DBX_SQL_FAIL_UNKNOWN    /* anything else: treat as set-up (never drop data) */
} dp_dbx_sql_failure_t;

/* Runs statement on the client's warehouse in catalog/schema (either may be
 * NULL) and waits for a terminal state. params (nparams entries) may be
 * NULL; opts may be NULL. out must be zeroed or hold an earlier result
 * (it is cleared first); it is filled in every case (clear it after).
 * Returns 0 on SUCCEEDED or CLOSED; when FAILED, DP_EINVAL (data),
 * DP_EDENIED / DP_ENOTFOUND (set-up, message naming the object and grant),
 * DP_EAGAIN (transient, retryable) or DP_EFAIL; DP_ETIMEDOUT (retryable)
 * past the deadline; DP_EAGAIN when cancelled by someone else; transport or
 * HTTP codes from the API calls. */
int dp_dbx_sql_execute(dp_dbx_client_t *client, const char *statement,
                       const dp_dbx_sql_param_t *params, size_t nparams, const char *catalog,
                       const char *schema, const dp_dbx_sql_opts_t *opts, dp_dbx_sql_result_t *out,
                       dp_err_t *err);

/* Releases the JSON of res and zeroes it; NULL is a no-op. */
void dp_dbx_sql_result_clear(dp_dbx_sql_result_t *res);

/* Classifies a finished result (pure). */
dp_dbx_sql_failure_t dp_dbx_sql_failure_kind(const dp_dbx_sql_result_t *res);

/* Name of a state ("SUCCEEDED"); static. */
const char *dp_dbx_sql_state_name(dp_dbx_sql_state_t state);

/* COPY INTO's single result row. */
typedef struct dp_dbx_copy_counts {
    long long num_affected_rows;
    long long num_inserted_rows;
    long long num_skipped_corrupt_files;
} dp_dbx_copy_counts_t;

/* Reads COPY INTO's counts from a SUCCEEDED result, by column name when the
 * manifest names them, else by position. Returns 0 or DP_EINVAL (no row, or
 * a value that is not an integer). */
int dp_dbx_sql_copy_counts(const dp_dbx_sql_result_t *res, dp_dbx_copy_counts_t *counts,
                           dp_err_t *err);

/* Parses a statement response (submit or poll body) into out, replacing
 * its previous content (pure; exposed for the unit tests). Returns 0 or
 * DP_EINVAL when the body is not a statement response. */
int dp_dbx_sql_parse_response(const char *body, size_t len, dp_dbx_sql_result_t *out,
                              dp_err_t *err);

/* Copies the "[ERROR_CLASS]" of a message into out ("" when none). Pure. */
void dp_dbx_sql_error_class(const char *message, char *out, size_t outlen);

#endif
