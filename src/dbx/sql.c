/*
 * dbx/sql: Statement Execution API client (see sql.h).
 *
 * Invariant: dp_dbx_sql_execute returns only once the statement reached a
 * terminal state, or after its deadline, a cancel request and a grace period
 * of polling; the statement id is always in the result and in every error
 * message so an operator can follow it.
 */
#include "dbx/sql.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "dbx/dbx_int.h"

#define SQL_STATEMENTS "/api/2.0/sql/statements"

/* ---------------------------------------------------------------------------
 * States, error classes and failure kinds (pure)
 * ------------------------------------------------------------------------- */

static const char *const state_names[] = {"UNKNOWN", "PENDING",  "RUNNING", "SUCCEEDED",
                                          "FAILED",  "CANCELED", "CLOSED"};

const char *dp_dbx_sql_state_name(dp_dbx_sql_state_t state)
{
    if ((int)state < 0 || state > DP_DBX_SQL_CLOSED) {
        return "UNKNOWN";
    }
    return state_names[state];
}

static dp_dbx_sql_state_t state_from_name(const char *s)
{
    int i;

    for (i = 1; s != NULL && i <= (int)DP_DBX_SQL_CLOSED; i++) {
        if (strcmp(s, state_names[i]) == 0) {
            return (dp_dbx_sql_state_t)i;
        }
    }
    return DP_DBX_SQL_UNKNOWN;
}

static int is_terminal(dp_dbx_sql_state_t s)
{
    return s == DP_DBX_SQL_SUCCEEDED || s == DP_DBX_SQL_FAILED || s == DP_DBX_SQL_CANCELED ||
           s == DP_DBX_SQL_CLOSED;
}

void dp_dbx_sql_error_class(const char *message, char *out, size_t outlen)
{
    const char *p = message ? strchr(message, '[') : NULL;
    size_t n = 0;

    out[0] = '\0';
    if (p == NULL) {
        return;
    }
    p++;
    while ((p[n] >= 'A' && p[n] <= 'Z') || (p[n] >= '0' && p[n] <= '9') || p[n] == '_' ||
           p[n] == '.') {
        n++;
    }
    if (n > 0 && p[n] == ']') {
        snprintf(out, outlen, "%.*s", (int)n, p);
    }
}

/* Set-up errors: grants, missing objects or warehouse, credentials. */
static const char *const setup_classes[] = {
    "PERMISSION_DENIED",         "INSUFFICIENT_PERMISSIONS", "UNAUTHORIZED_ACCESS",
    "TABLE_OR_VIEW_NOT_FOUND",   "SCHEMA_NOT_FOUND",         "CATALOG_NOT_FOUND",
    "NO_SUCH_CATALOG_EXCEPTION", "VOLUME_NOT_FOUND",         "UC_VOLUME_NOT_FOUND",
    "WAREHOUSE_NOT_FOUND",       "UNAUTHENTICATED",          NULL,
};
static const char *const setup_codes[] = {"PERMISSION_DENIED", "UNAUTHENTICATED", "NOT_FOUND",
                                          NULL};

/* Transient errors: concurrent writers, unavailability. */
static const char *const transient_prefixes[] = {
    "COPY_INTO_DUPLICATED_FILES_COPY_NOT_ALLOWED",
    "COPY_INTO_NON_BLIND_APPEND_NOT_ALLOWED",
    "TRANSACTION_CONCURRENT_",
    "DELTA_CONCURRENT_",
    "CONCURRENT_",
    "DELTA_METADATA_CHANGED",
    "DELTA_PROTOCOL_CHANGED",
    NULL,
};
static const char *const transient_codes[] = {
    "TEMPORARILY_UNAVAILABLE",
    "WORKSPACE_TEMPORARILY_UNAVAILABLE",
    "SERVICE_UNDER_MAINTENANCE",
    "RESOURCE_EXHAUSTED",
    "DEADLINE_EXCEEDED",
    "ABORTED",
    NULL,
};

/* Errors of the data: a file or row Databricks refuses. */
static const char *const data_prefixes[] = {
    "DELTA_FAILED_TO_MERGE_FIELDS",
    "DELTA_MERGE_INCOMPATIBLE",
    "DELTA_SCHEMA_",
    "INCOMPATIBLE_DATA",
    "DATATYPE_MISMATCH",
    "CAST_",
    "CANNOT_PARSE",
    "MALFORMED",
    "FAILED_READ_FILE",
    "CORRUPT",
    "AVRO_",
    "NUMERIC_VALUE_OUT_OF_RANGE",
    "DELTA_NOT_NULL",
    "NOT_NULL_",
    "DECIMAL_PRECISION_EXCEEDS_MAX_PRECISION",
    "ARITHMETIC_OVERFLOW",
    "INVALID_ARRAY_INDEX",
    "DELTA_INVALID_CHARACTERS_IN_COLUMN_NAME",
    "UNSUPPORTED_DATATYPE",
    "COPY_INTO_SCHEMA_MISMATCH",
    NULL,
};

static int has_prefix(const char *s, const char *const *list)
{
    size_t i;

    for (i = 0; s[0] != '\0' && list[i] != NULL; i++) {
        if (strncmp(s, list[i], strlen(list[i])) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Exact match of the class before any ".SUBCLASS". */
static int class_in(const char *cls, const char *const *list)
{
    size_t n = strcspn(cls, ".");
    size_t i;

    for (i = 0; n > 0 && list[i] != NULL; i++) {
        if (strlen(list[i]) == n && strncmp(cls, list[i], n) == 0) {
            return 1;
        }
    }
    return 0;
}

static int code_in(const char *code, const char *const *list)
{
    size_t i;

    for (i = 0; code[0] != '\0' && list[i] != NULL; i++) {
        if (strcmp(code, list[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

dp_dbx_sql_failure_t dp_dbx_sql_failure_kind(const dp_dbx_sql_result_t *res)
{
    const char *cls = res->error_class;

    if (res->state == DP_DBX_SQL_SUCCEEDED || res->state == DP_DBX_SQL_CLOSED) {
        return DP_DBX_SQL_FAIL_NONE;
    }
    if (res->state == DP_DBX_SQL_CANCELED) {
        return DP_DBX_SQL_FAIL_TRANSIENT;
    }
    if (class_in(cls, setup_classes)) {
        return DP_DBX_SQL_FAIL_SETUP;
    }
    if (has_prefix(cls, transient_prefixes)) {
        return DP_DBX_SQL_FAIL_TRANSIENT;
    }
    if (has_prefix(cls, data_prefixes)) {
        return DP_DBX_SQL_FAIL_DATA;
    }
    if (cls[0] == '\0' && code_in(res->error_code, setup_codes)) {
        return DP_DBX_SQL_FAIL_SETUP;
    }
    if (code_in(res->error_code, transient_codes)) {
        return DP_DBX_SQL_FAIL_TRANSIENT;
    }
    return DP_DBX_SQL_FAIL_UNKNOWN;
}

/* ---------------------------------------------------------------------------
 * Results
 * ------------------------------------------------------------------------- */

void dp_dbx_sql_result_clear(dp_dbx_sql_result_t *res)
{
    if (res == NULL) {
        return;
    }
    json_decref(res->columns);
    json_decref(res->rows);
    memset(res, 0, sizeof(*res));
}

static json_t *column_names(json_t *manifest)
{
    json_t *cols = json_object_get(json_object_get(manifest, "schema"), "columns");
    json_t *names, *col;
    size_t i;

    if (!json_is_array(cols)) {
        return NULL;
    }
    names = json_array();
    json_array_foreach(cols, i, col)
    {
        const char *name = json_string_value(json_object_get(col, "name"));

        json_array_append_new(names, json_string(name ? name : ""));
    }
    return names;
}

static void parse_status(json_t *status, dp_dbx_sql_result_t *out)
{
    json_t *error = json_object_get(status, "error");
    const char *code = json_string_value(json_object_get(error, "error_code"));
    const char *msg = json_string_value(json_object_get(error, "message"));
    const char *sqlstate = json_string_value(json_object_get(status, "sql_state"));

    out->state = state_from_name(json_string_value(json_object_get(status, "state")));
    snprintf(out->error_code, sizeof(out->error_code), "%s", code ? code : "");
    snprintf(out->message, sizeof(out->message), "%s", msg ? msg : "");
    snprintf(out->sql_state, sizeof(out->sql_state), "%s", sqlstate ? sqlstate : "");
    dp_dbx_sql_error_class(out->message, out->error_class, sizeof(out->error_class));
}

/* next_chunk_index of a result chunk, 0 when absent. */
static long next_chunk_of(json_t *chunk)
{
    json_t *next = json_object_get(chunk, "next_chunk_index");

    return json_is_integer(next) && json_integer_value(next) > 0 ? (long)json_integer_value(next)
                                                                 : 0;
}

int dp_dbx_sql_parse_response(const char *body, size_t len, dp_dbx_sql_result_t *out, dp_err_t *err)
{
    json_t *root = json_loadb(body ? body : "", len, 0, NULL);
    json_t *status = json_object_get(root, "status");
    json_t *rows = json_object_get(json_object_get(root, "result"), "data_array");
    const char *id = json_string_value(json_object_get(root, "statement_id"));
    json_t *cols;

    if (!json_is_object(root) || id == NULL || !json_is_object(status)) {
        json_decref(root);
        return dp_err_set(err, DP_EINVAL, 0,
                          "sql: response is not a statement (no statement_id or status)");
    }
    dp_dbx_sql_result_clear(out);
    snprintf(out->statement_id, sizeof(out->statement_id), "%s", id);
    parse_status(status, out);
    cols = column_names(json_object_get(root, "manifest"));
    out->columns = cols;
    if (json_is_array(rows)) {
        out->rows = json_incref(rows);
    }
    out->next_chunk = next_chunk_of(json_object_get(root, "result"));
    json_decref(root);
    return 0;
}

/* Reads a count cell: a string of digits (the API's form) or an integer. */
static int cell_ll(json_t *row, int idx, long long *out)
{
    json_t *v = idx >= 0 ? json_array_get(row, (size_t)idx) : NULL;
    const char *s = json_string_value(v);
    char *end = NULL;

    if (v == NULL) {
        *out = 0;
        return 0;
    }
    if (json_is_integer(v)) {
        *out = (long long)json_integer_value(v);
        return 0;
    }
    if (s == NULL || s[0] == '\0') {
        return -1;
    }
    errno = 0;
    *out = strtoll(s, &end, 10);
    return errno == 0 && end != s && *end == '\0' ? 0 : -1;
}

static int column_index(const json_t *columns, const char *name, int fallback)
{
    size_t i;
    json_t *c;

    if (!json_is_array(columns) || json_array_size(columns) == 0) {
        return fallback;
    }
    json_array_foreach(columns, i, c)
    {
        if (json_is_string(c) && strcmp(json_string_value(c), name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

int dp_dbx_sql_copy_counts(const dp_dbx_sql_result_t *res, dp_dbx_copy_counts_t *counts,
                           dp_err_t *err)
{
    json_t *row = json_array_get(res->rows, 0);
    int ia = column_index(res->columns, "num_affected_rows", 0);
    int ii = column_index(res->columns, "num_inserted_rows", 1);
    int is = column_index(res->columns, "num_skipped_corrupt_files", 2);

    memset(counts, 0, sizeof(*counts));
    if (!json_is_array(row)) {
        return dp_err_set(err, DP_EINVAL, 0, "sql: statement %s returned no COPY INTO row",
                          res->statement_id);
    }
    if (ia < 0 || ii < 0 || cell_ll(row, ia, &counts->num_affected_rows) < 0 ||
        cell_ll(row, ii, &counts->num_inserted_rows) < 0 ||
        cell_ll(row, is, &counts->num_skipped_corrupt_files) < 0) {
        return dp_err_set(err, DP_EINVAL, 0,
                          "sql: statement %s: COPY INTO row has no integer counts",
                          res->statement_id);
    }
    return 0;
}

/* ---------------------------------------------------------------------------
 * Execution
 * ------------------------------------------------------------------------- */

typedef struct sql_run {
    dp_dbx_client_t *client;
    dp_dbx_sql_opts_t o; /* with defaults */
    dp_dbx_sql_result_t *out;
    char path[256];
    char what[192];
} sql_run_t;

static void apply_defaults(const dp_dbx_sql_opts_t *opts, dp_dbx_sql_opts_t *o)
{
    if (opts != NULL) {
        *o = *opts;
    } else {
        memset(o, 0, sizeof(*o));
    }
    if (o->wait_timeout_s <= 0)
        o->wait_timeout_s = 50;
    if (o->wait_timeout_s < 5)
        o->wait_timeout_s = 5;
    if (o->wait_timeout_s > 50)
        o->wait_timeout_s = 50;
    if (o->poll_initial_ms <= 0)
        o->poll_initial_ms = 500;
    if (o->poll_max_ms <= 0)
        o->poll_max_ms = 5000;
    if (o->deadline_ms <= 0)
        o->deadline_ms = 30L * 60 * 1000;
    if (o->cancel_grace_ms <= 0)
        o->cancel_grace_ms = 30000;
}

static int valid_param_name(const char *s)
{
    size_t i;

    if (s == NULL ||
        !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_')) {
        return 0;
    }
    for (i = 1; s[i] != '\0'; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_')) {
            return 0;
        }
    }
    return i <= 255;
}

/* Builds the submit body. Returns new text (caller frees) or NULL with err. */
static char *submit_body(const sql_run_t *run, const char *statement,
                         const dp_dbx_sql_param_t *params, size_t nparams, const char *catalog,
                         const char *schema, dp_err_t *err)
{
    json_t *root = json_object(), *arr = json_array();
    char wait[16];
    char *text = NULL;
    size_t i;

    snprintf(wait, sizeof(wait), "%ds", run->o.wait_timeout_s);
    json_object_set_new(root, "statement", json_string(statement));
    json_object_set_new(root, "warehouse_id", json_string(run->client->warehouse_id));
    json_object_set_new(root, "wait_timeout", json_string(wait));
    json_object_set_new(root, "on_wait_timeout", json_string("CONTINUE"));
    json_object_set_new(root, "disposition", json_string("INLINE"));
    json_object_set_new(root, "format", json_string("JSON_ARRAY"));
    if (catalog != NULL)
        json_object_set_new(root, "catalog", json_string(catalog));
    if (schema != NULL)
        json_object_set_new(root, "schema", json_string(schema));
    for (i = 0; i < nparams; i++) {
        json_t *p = json_object();

        if (!valid_param_name(params[i].name)) {
            json_decref(p);
            dp_err_set(err, DP_EINVAL, 0, "sql: parameter %zu has an invalid name", i);
            goto out;
        }
        json_object_set_new(p, "name", json_string(params[i].name));
        if (params[i].value != NULL)
            json_object_set_new(p, "value", json_string(params[i].value));
        if (params[i].type != NULL)
            json_object_set_new(p, "type", json_string(params[i].type));
        json_array_append_new(arr, p);
    }
    json_object_set(root, "parameters", arr);
    text = json_dumps(root, JSON_COMPACT);
    if (text == NULL) {
        dp_err_set(err, DP_EINVAL, 0, "sql: statement or parameter is not valid UTF-8");
    }
out:
    json_decref(arr);
    json_decref(root);
    return text;
}

/* Sends one request of the statement's life and parses the answer into
 * run->out (unless parse is 0). */
static int statement_call(sql_run_t *run, const char *method, const char *path, const char *body,
                          int idempotent, int parse, dp_err_t *err)
{
    dp_dbx_request_t req;
    dp_dbx_response_t resp;
    int rc;

    memset(&req, 0, sizeof(req));
    memset(&resp, 0, sizeof(resp));
    req.method = method;
    req.path = path;
    req.content_type = body ? "application/json" : NULL;
    req.body = body;
    req.body_len = body ? strlen(body) : 0;
    req.idempotent = idempotent;
    req.what = run->what;
    req.object.kind = DP_RETRY_OBJ_WAREHOUSE;
    req.object.name = run->client->warehouse_id;
    req.liveness = run->o.liveness;
    req.liveness_ctx = run->o.liveness_ctx;
    rc = dp_dbx_call(run->client, &req, &resp, err);
    if (rc < 0) {
        /* keep the API's error in the result, so the caller can classify it */
        snprintf(run->out->error_code, sizeof(run->out->error_code), "%s", resp.error_code);
        snprintf(run->out->message, sizeof(run->out->message), "%s", resp.message);
        dp_dbx_sql_error_class(resp.message, run->out->error_class, sizeof(run->out->error_class));
    } else if (parse) {
        rc = dp_dbx_sql_parse_response(resp.body, resp.body_len, run->out, err);
    }
    dp_dbx_response_clear(&resp);
    return rc;
}

static int set_statement_path(sql_run_t *run, dp_err_t *err)
{
    const char *id = run->out->statement_id;
    size_t i;

    for (i = 0; id[i] != '\0'; i++) {
        char c = id[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_')) {
            return dp_err_set(err, DP_EINVAL, 0, "sql: server returned a malformed statement id");
        }
    }
    if (i == 0) {
        return dp_err_set(err, DP_EINVAL, 0, "sql: server returned an empty statement id");
    }
    snprintf(run->path, sizeof(run->path), SQL_STATEMENTS "/%s", id);
    snprintf(run->what, sizeof(run->what), "statement %s", id);
    return 0;
}

/* Polls with growing intervals until a terminal state or until `until`. */
static int poll_until(sql_run_t *run, long long until, long *interval, dp_err_t *err)
{
    dp_retry_t *retry = run->client->retry;
    int rc;

    while (!is_terminal(run->out->state)) {
        long long now = dp_retry_now_ms(retry);
        long wait = *interval;

        if (now >= until) {
            return 0;
        }
        if (now + wait > until) {
            wait = (long)(until - now);
        }
        dp_dbx_wait(run->client, run->o.liveness, run->o.liveness_ctx, wait);
        if ((rc = statement_call(run, "GET", run->path, NULL, 1, 1, err)) < 0) {
            return rc;
        }
        *interval = *interval * 3 / 2 > run->o.poll_max_ms ? run->o.poll_max_ms : *interval * 3 / 2;
    }
    return 0;
}

/* Past the deadline: cancel (best effort), then poll a little longer. */
static int cancel_and_drain(sql_run_t *run, long *interval, dp_err_t *err)
{
    char path[300];
    dp_err_t cerr;
    int rc;

    dp_log(DP_LOG_WARN, "sql", "statement %s still %s after %ld ms: cancelling",
           run->out->statement_id, dp_dbx_sql_state_name(run->out->state), run->o.deadline_ms);
    snprintf(path, sizeof(path), "%s/cancel", run->path);
    if (statement_call(run, "POST", path, NULL, 1, 0, &cerr) < 0) {
        dp_log(DP_LOG_WARN, "sql", "cancel of statement %s failed: %s", run->out->statement_id,
               cerr.msg);
    }
    rc = poll_until(run, dp_retry_now_ms(run->client->retry) + run->o.cancel_grace_ms, interval,
                    err);
    if (rc < 0 || (is_terminal(run->out->state) && run->out->state != DP_DBX_SQL_CANCELED)) {
        return rc;
    }
    /* cancelled by us, or still running: the caller retries the same load */
    return dp_err_set(err, DP_ETIMEDOUT, 1,
                      "statement %s did not finish within %ld ms (state %s); cancel requested, "
                      "it may still complete",
                      run->out->statement_id, run->o.deadline_ms,
                      dp_dbx_sql_state_name(run->out->state));
}

/* Appends the rows of the remaining result chunks (INLINE disposition). */
static int fetch_chunks(sql_run_t *run, dp_err_t *err)
{
    dp_dbx_request_t req;
    dp_dbx_response_t resp;
    char path[320];
    json_t *chunk, *rows;
    int rc = 0, guard = 0;

    while (rc == 0 && run->out->next_chunk > 0 && guard++ < 100000) {
        snprintf(path, sizeof(path), "%s/result/chunks/%ld", run->path, run->out->next_chunk);
        memset(&req, 0, sizeof(req));
        memset(&resp, 0, sizeof(resp));
        req.method = "GET";
        req.path = path;
        req.idempotent = 1;
        req.what = run->what;
        req.liveness = run->o.liveness;
        req.liveness_ctx = run->o.liveness_ctx;
        if ((rc = dp_dbx_call(run->client, &req, &resp, err)) < 0) {
            break;
        }
        chunk = json_loadb(resp.body ? resp.body : "", resp.body_len, 0, NULL);
        rows = json_object_get(chunk, "data_array");
        if (!json_is_array(rows)) {
            rc = dp_err_set(err, DP_EINVAL, 0, "%s: chunk %ld has no data_array", run->what,
                            run->out->next_chunk);
        } else {
            if (run->out->rows == NULL) {
                run->out->rows = json_array();
            }
            json_array_extend(run->out->rows, rows);
            run->out->next_chunk = next_chunk_of(chunk);
        }
        json_decref(chunk);
        dp_dbx_response_clear(&resp);
    }
    return rc;
}

/* Maps a terminal state to the return code and err. */
static int finish(sql_run_t *run, dp_err_t *err)
{
    dp_dbx_sql_result_t *out = run->out;
    char grant[400];

    switch (out->state) {
    case DP_DBX_SQL_SUCCEEDED:
        dp_err_clear(err);
        return fetch_chunks(run, err);
    case DP_DBX_SQL_CLOSED:
        dp_err_clear(err);
        return 0;
    case DP_DBX_SQL_CANCELED:
        return dp_err_set(err, DP_EAGAIN, 1, "statement %s was cancelled: %s", out->statement_id,
                          out->message);
    default:
        break;
    }
    switch (dp_dbx_sql_failure_kind(out)) {
    case DP_DBX_SQL_FAIL_DATA:
        return dp_err_set(err, DP_EINVAL, 0, "statement %s FAILED (data refused): %s",
                          out->statement_id, out->message);
    case DP_DBX_SQL_FAIL_TRANSIENT:
        return dp_err_set(err, DP_EAGAIN, 1, "statement %s FAILED (transient): %s",
                          out->statement_id, out->message);
    case DP_DBX_SQL_FAIL_SETUP:
        dp_retry_grant_message(&run->o.object, out->message, grant, sizeof(grant));
        return dp_err_set(err, strstr(out->error_class, "NOT_FOUND") ? DP_ENOTFOUND : DP_EDENIED, 0,
                          "statement %s FAILED (set-up): %s; %s", out->statement_id, grant,
                          out->message);
    default:
        return dp_err_set(err, DP_EFAIL, 0, "statement %s FAILED (%s %s): %s", out->statement_id,
                          out->error_code, out->error_class, out->message);
    }
}

int dp_dbx_sql_execute(dp_dbx_client_t *client, const char *statement,
                       const dp_dbx_sql_param_t *params, size_t nparams, const char *catalog,
                       const char *schema, const dp_dbx_sql_opts_t *opts, dp_dbx_sql_result_t *out,
                       dp_err_t *err)
{
    sql_run_t run;
    char *body = NULL;
    long long deadline;
    long interval;
    int rc;

    dp_dbx_sql_result_clear(out);
    memset(&run, 0, sizeof(run));
    run.client = client;
    run.out = out;
    apply_defaults(opts, &run.o);
    if (client->warehouse_id == NULL || client->warehouse_id[0] == '\0') {
        return dp_err_set(err, DP_EINVAL, 0, "sql: no warehouse_id configured");
    }
    if ((body = submit_body(&run, statement, params, nparams, catalog, schema, err)) == NULL) {
        return err ? err->code : DP_EINVAL;
    }
    snprintf(run.what, sizeof(run.what), "submit statement on warehouse %s", client->warehouse_id);
    deadline = dp_retry_now_ms(client->retry) + run.o.deadline_ms;
    interval = run.o.poll_initial_ms;
    rc = statement_call(&run, "POST", SQL_STATEMENTS, body, 0, 1, err);
    free(body);
    if (rc == 0) {
        rc = set_statement_path(&run, err);
    }
    if (rc == 0) {
        rc = poll_until(&run, deadline, &interval, err);
    }
    if (rc == 0 && !is_terminal(out->state)) {
        if ((rc = cancel_and_drain(&run, &interval, err)) < 0) {
            return rc;
        }
    }
    if (rc == 0) {
        rc = finish(&run, err);
    }
    return rc;
}
