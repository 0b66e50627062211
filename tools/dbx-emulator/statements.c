/*
 * statements: statement store, executor pool and the Statement Execution API
 * handlers (see statements.h).
 *
 * Executors: a pool of threads, grown on demand up to the warehouse
 * concurrency (sim.h), each running one statement at a time from the FIFO
 * queue; at most `warehouse_concurrency` statements are RUNNING, the rest wait
 * PENDING. A statement stays RUNNING until its statement latency (plus the
 * COPY INTO cost per MiB) has passed since it started; the engine call itself
 * runs at the start, under the engine's own mutex.
 *
 * Locking: `mu` guards the whole store. `changed` is broadcast on every state
 * change (submit waits on it); `work` wakes the executors (new statement,
 * cancel, shutdown, a setting changed); `wake` ends latency waits early
 * (cancel, shutdown). Executors release `mu` around emu_engine_execute() and
 * while they wait out a statement's latency; while a statement is RUNNING its
 * request fields are read without the lock, which is safe because they never
 * change after submit and a non-terminal statement is never evicted.
 */
#include "statements.h"
#include "sim.h"

#include <errno.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STATEMENT_MAX_BYTES (16u * 1024u * 1024u) /* the API's limit, docs/DATABRICKS.md */
#define LOG_TEXT_BYTES      800

typedef enum { ST_PENDING = 0, ST_RUNNING, ST_SUCCEEDED, ST_FAILED, ST_CANCELED } st_state_t;

static const char *const STATE_NAMES[] = {"PENDING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELED"};

typedef struct stmt {
    char id[40];
    char *principal, *catalog, *schema, *text;
    json_t *params;
    long long row_limit, byte_limit; /* < 0: none */
    double pending_until;            /* monotonic seconds */
    emu_fault_hit_t fault;           /* kind FAILED: fail without executing */
    st_state_t state;
    json_t *columns, *rows; /* set once SUCCEEDED */
    int truncated;
    long long byte_count;
    char error_code[64], sql_state[8];
    char *message;
    int in_queue, executing, waiters; /* pinned: never evicted while set */
    struct stmt *next_all, *next_queue;
} stmt_t;

struct emu_statements {
    pthread_mutex_t mu;
    pthread_cond_t changed, work, wake;
    pthread_t *threads; /* the executor pool, grown on demand */
    size_t nthreads, cap_threads;
    int shutdown;
    int idle, starting, running; /* executors waiting, being created, running a statement */
    size_t nqueued;
    emu_engine_t *engine;
    emu_sim_t *sim;              /* borrowed; NULL: no latency, default concurrency */
    stmt_t *all_head, *all_tail; /* oldest first */
    size_t count, max_retained;
    stmt_t *queue_head, *queue_tail;
};

/* ---------------------------------------------------------------------------
 * Store
 * ------------------------------------------------------------------------- */

static double now_mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void abs_deadline(double mono_deadline, struct timespec *out)
{
    double left = mono_deadline - now_mono();
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    if (left < 0) {
        left = 0;
    }
    out->tv_sec = now.tv_sec + (time_t)left;
    out->tv_nsec = now.tv_nsec + (long)((left - (double)(time_t)left) * 1e9);
    if (out->tv_nsec >= 1000000000L) {
        out->tv_sec++;
        out->tv_nsec -= 1000000000L;
    }
}

static int is_terminal(st_state_t s)
{
    return s == ST_SUCCEEDED || s == ST_FAILED || s == ST_CANCELED;
}

static void stmt_free(stmt_t *s)
{
    if (s == NULL) {
        return;
    }
    free(s->principal);
    free(s->catalog);
    free(s->schema);
    free(s->text);
    free(s->message);
    json_decref(s->params);
    json_decref(s->columns);
    json_decref(s->rows);
    free(s);
}

static stmt_t *find(emu_statements_t *stmts, const char *id)
{
    stmt_t *s;

    for (s = stmts->all_head; s != NULL; s = s->next_all) {
        if (strcmp(s->id, id) == 0) {
            return s;
        }
    }
    return NULL;
}

/* Forgets the oldest terminal statement while over the bound. Caller holds mu. */
static void evict(emu_statements_t *stmts)
{
    stmt_t *prev = NULL, *s = stmts->all_head;

    while (stmts->count > stmts->max_retained && s != NULL) {
        if (!is_terminal(s->state) || s->in_queue || s->executing || s->waiters > 0) {
            prev = s;
            s = s->next_all;
            continue;
        }
        if (prev == NULL) {
            stmts->all_head = s->next_all;
        } else {
            prev->next_all = s->next_all;
        }
        if (stmts->all_tail == s) {
            stmts->all_tail = prev;
        }
        stmts->count--;
        stmt_free(s);
        s = prev ? prev->next_all : stmts->all_head;
    }
}

static void *executor(void *arg);

static long concurrency(emu_statements_t *stmts)
{
    emu_sim_latency_t l;

    emu_sim_get(stmts->sim, &l);
    return l.warehouse_concurrency;
}

/* Starts executors while queued statements outnumber the free ones and the pool
 * is below the warehouse concurrency. Caller holds mu. */
static void grow_pool(emu_statements_t *stmts)
{
    size_t limit = (size_t)concurrency(stmts);
    pthread_t *grown;

    while (!stmts->shutdown && stmts->nthreads < limit &&
           stmts->nqueued > (size_t)(stmts->idle + stmts->starting)) {
        if (stmts->nthreads == stmts->cap_threads) {
            size_t cap = stmts->cap_threads ? stmts->cap_threads * 2 : 16;
            grown = realloc(stmts->threads, cap * sizeof(*grown));
            if (grown == NULL) {
                return; /* the existing executors carry on */
            }
            stmts->threads = grown;
            stmts->cap_threads = cap;
        }
        if (pthread_create(&stmts->threads[stmts->nthreads], NULL, executor, stmts) != 0) {
            return;
        }
        stmts->nthreads++;
        stmts->starting++;
    }
}

/* Adds s to the store and the queue. Takes ownership. Caller holds mu. */
static void enqueue(emu_statements_t *stmts, stmt_t *s)
{
    if (stmts->all_tail == NULL) {
        stmts->all_head = s;
    } else {
        stmts->all_tail->next_all = s;
    }
    stmts->all_tail = s;
    stmts->count++;
    if (stmts->queue_tail == NULL) {
        stmts->queue_head = s;
    } else {
        stmts->queue_tail->next_queue = s;
    }
    stmts->queue_tail = s;
    s->in_queue = 1;
    stmts->nqueued++;
    evict(stmts);
    grow_pool(stmts);
    pthread_cond_broadcast(&stmts->work);
}

static void set_failed(stmt_t *s, const char *code, const char *sql_state, const char *message)
{
    s->state = ST_FAILED;
    snprintf(s->error_code, sizeof(s->error_code), "%s", code);
    snprintf(s->sql_state, sizeof(s->sql_state), "%s", sql_state ? sql_state : "");
    free(s->message);
    s->message = strdup(message);
}

/* ---------------------------------------------------------------------------
 * Executor
 * ------------------------------------------------------------------------- */

/* Applies row_limit and byte_limit to the engine's rows (owned by s). */
static void apply_limits(stmt_t *s)
{
    size_t i, n = json_array_size(s->rows);
    long long bytes = 0;
    char *row;

    for (i = 0; i < n; i++) {
        row = json_dumps(json_array_get(s->rows, i), JSON_COMPACT);
        if (s->row_limit >= 0 && (long long)i >= s->row_limit) {
            free(row);
            break;
        }
        if (row != NULL && s->byte_limit >= 0 && bytes + (long long)strlen(row) > s->byte_limit) {
            free(row);
            break;
        }
        bytes += row ? (long long)strlen(row) : 0;
        free(row);
    }
    while (json_array_size(s->rows) > i) {
        json_array_remove(s->rows, json_array_size(s->rows) - 1);
        s->truncated = 1;
    }
    s->byte_count = bytes;
}

/* Stores the engine's outcome, unless the statement was canceled meanwhile. */
static void store_result(stmt_t *s, int rc, emu_result_t *res)
{
    if (s->state == ST_CANCELED) {
        return;
    }
    if (rc == 0 && res->succeeded) {
        s->state = ST_SUCCEEDED;
        s->columns = res->columns ? res->columns : json_array();
        s->rows = res->rows ? res->rows : json_array();
        res->columns = NULL;
        res->rows = NULL;
        apply_limits(s);
    } else {
        set_failed(s, res->error_code[0] ? res->error_code : "BAD_REQUEST", res->sql_state,
                   res->message[0] ? res->message : "[INTERNAL_ERROR] Statement failed.");
    }
}

/* Runs s (popped from the queue, PENDING) and keeps it RUNNING for its latency.
 * Caller holds mu; it is released while the engine runs and while waiting. */
static void run_one(emu_statements_t *stmts, stmt_t *s)
{
    emu_sim_latency_t lat;
    emu_result_t res;
    struct timespec deadline;
    double until;
    int rc = -1;

    s->state = ST_RUNNING;
    s->executing = 1;
    stmts->running++;
    pthread_cond_broadcast(&stmts->changed);
    emu_sim_get(stmts->sim, &lat);
    until = now_mono() + (double)lat.statement_ms / 1e3;
    pthread_mutex_unlock(&stmts->mu);
    memset(&res, 0, sizeof(res));
    if (s->fault.kind == EMU_FAULT_FAILED) {
        snprintf(res.error_code, sizeof(res.error_code), "%s", s->fault.error_code);
        snprintf(res.message, sizeof(res.message),
                 "[%s] Emulated failure injected by the emulator's fault table.",
                 s->fault.error_class);
    } else {
        rc = emu_engine_execute(stmts->engine, s->principal, s->catalog, s->schema, s->text,
                                s->params, &res);
    }
    /* A COPY INTO costs time per MiB it loaded, on top of the statement latency. */
    until += (double)lat.copy_ms_per_mib * ((double)res.bytes_loaded / 1048576.0) / 1e3;
    pthread_mutex_lock(&stmts->mu);
    abs_deadline(until, &deadline);
    while (!stmts->shutdown && s->state != ST_CANCELED && now_mono() < until) {
        pthread_cond_timedwait(&stmts->wake, &stmts->mu, &deadline);
    }
    s->executing = 0;
    stmts->running--;
    store_result(s, rc, &res);
    emu_result_clear(&res);
}

static void *executor(void *arg)
{
    emu_statements_t *stmts = arg;
    struct timespec deadline;
    stmt_t *s;

    pthread_mutex_lock(&stmts->mu);
    stmts->starting--;
    while (!stmts->shutdown) {
        s = stmts->queue_head;
        if (s == NULL || stmts->running >= concurrency(stmts)) {
            /* nothing to do, or every warehouse slot is busy: the queue waits PENDING */
            stmts->idle++;
            pthread_cond_wait(&stmts->work, &stmts->mu);
            stmts->idle--;
            continue;
        }
        if (s->state == ST_PENDING && s->pending_until > now_mono()) {
            /* a cold warehouse holds the whole queue */
            abs_deadline(s->pending_until, &deadline);
            stmts->idle++;
            pthread_cond_timedwait(&stmts->work, &stmts->mu, &deadline);
            stmts->idle--;
            continue;
        }
        stmts->queue_head = s->next_queue;
        if (stmts->queue_head == NULL) {
            stmts->queue_tail = NULL;
        }
        s->next_queue = NULL;
        s->in_queue = 0;
        stmts->nqueued--;
        if (s->state == ST_PENDING) {
            run_one(stmts, s);
        }
        pthread_cond_broadcast(&stmts->changed);
    }
    pthread_mutex_unlock(&stmts->mu);
    return NULL;
}

emu_statements_t *emu_statements_new(emu_engine_t *engine, emu_sim_t *sim, size_t max_retained)
{
    emu_statements_t *stmts = calloc(1, sizeof(*stmts));
    pthread_condattr_t attr;

    if (stmts == NULL) {
        return NULL;
    }
    pthread_mutex_init(&stmts->mu, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&stmts->changed, &attr);
    pthread_cond_init(&stmts->work, &attr);
    pthread_cond_init(&stmts->wake, &attr);
    pthread_condattr_destroy(&attr);
    stmts->engine = engine;
    stmts->sim = sim;
    stmts->max_retained = max_retained ? max_retained : 1;
    /* One executor from the start, so statements run even if a later thread fails. */
    stmts->threads = calloc(16, sizeof(*stmts->threads));
    if (stmts->threads == NULL) {
        emu_statements_destroy(stmts);
        return NULL;
    }
    stmts->cap_threads = 16;
    stmts->nthreads = 1;
    stmts->starting = 1;
    if (pthread_create(&stmts->threads[0], NULL, executor, stmts) != 0) {
        stmts->nthreads = 0;
        emu_statements_destroy(stmts);
        return NULL;
    }
    return stmts;
}

void emu_statements_kick(emu_statements_t *stmts)
{
    pthread_mutex_lock(&stmts->mu);
    grow_pool(stmts);
    pthread_cond_broadcast(&stmts->work);
    pthread_mutex_unlock(&stmts->mu);
}

void emu_statements_shutdown(emu_statements_t *stmts)
{
    size_t k, n;

    pthread_mutex_lock(&stmts->mu);
    stmts->shutdown = 1;
    pthread_cond_broadcast(&stmts->work);
    pthread_cond_broadcast(&stmts->changed);
    pthread_cond_broadcast(&stmts->wake);
    n = stmts->nthreads; /* no executor is added once shutdown is set */
    stmts->nthreads = 0;
    pthread_mutex_unlock(&stmts->mu);
    for (k = 0; k < n; k++) {
        pthread_join(stmts->threads[k], NULL);
    }
}

void emu_statements_destroy(emu_statements_t *stmts)
{
    stmt_t *s, *next;

    if (stmts == NULL) {
        return;
    }
    emu_statements_shutdown(stmts);
    for (s = stmts->all_head; s != NULL; s = next) {
        next = s->next_all;
        stmt_free(s);
    }
    free(stmts->threads);
    pthread_cond_destroy(&stmts->changed);
    pthread_cond_destroy(&stmts->work);
    pthread_cond_destroy(&stmts->wake);
    pthread_mutex_destroy(&stmts->mu);
    free(stmts);
}

/* ---------------------------------------------------------------------------
 * Responses
 * ------------------------------------------------------------------------- */

/* {chunk_index, row_offset, row_count, data_array}. Caller holds mu. */
static json_t *result_json(const stmt_t *s)
{
    return json_pack("{s:i, s:i, s:I, s:o}", "chunk_index", 0, "row_offset", 0, "row_count",
                     (json_int_t)json_array_size(s->rows), "data_array", json_deep_copy(s->rows));
}

static json_t *manifest_json(const stmt_t *s)
{
    size_t ncols = json_array_size(s->columns), nrows = json_array_size(s->rows);
    json_t *schema, *m;

    if (ncols == 0) {
        /* a statement without a result set (DDL) */
        return json_pack("{s:s, s:{s:i}, s:i, s:i, s:i, s:b}", "format", "JSON_ARRAY", "schema",
                         "column_count", 0, "total_chunk_count", 0, "total_row_count", 0,
                         "total_byte_count", 0, "truncated", 0);
    }
    schema = json_pack("{s:I, s:o}", "column_count", (json_int_t)ncols, "columns",
                       json_deep_copy(s->columns));
    m = json_pack("{s:s, s:o, s:i, s:[{s:i, s:i, s:I, s:I}], s:I, s:I, s:b}", "format",
                  "JSON_ARRAY", "schema", schema, "total_chunk_count", 1, "chunks", "chunk_index",
                  0, "row_offset", 0, "row_count", (json_int_t)nrows, "byte_count",
                  (json_int_t)s->byte_count, "total_row_count", (json_int_t)nrows,
                  "total_byte_count", (json_int_t)s->byte_count, "truncated", s->truncated);
    return m;
}

/* The full statement response. Caller holds mu. Returns new. */
static json_t *statement_json(const stmt_t *s)
{
    json_t *status = json_pack("{s:s}", "state", STATE_NAMES[s->state]);
    json_t *o;

    if (s->state == ST_FAILED) {
        json_object_set_new(status, "error",
                            json_pack("{s:s, s:s}", "error_code", s->error_code, "message",
                                      s->message ? s->message : ""));
        if (s->sql_state[0] != '\0') {
            json_object_set_new(status, "sql_state", json_string(s->sql_state));
        }
    }
    o = json_pack("{s:s, s:o}", "statement_id", s->id, "status", status);
    if (o != NULL && s->state == ST_SUCCEEDED) {
        json_object_set_new(o, "manifest", manifest_json(s));
        if (json_array_size(s->columns) > 0) {
            json_object_set_new(o, "result", result_json(s));
        }
    }
    return o;
}

/* ---------------------------------------------------------------------------
 * Submit
 * ------------------------------------------------------------------------- */

/* wait_timeout must match ^(0|[5-9]|[1-4][0-9]|50)s$. Returns seconds or -1. */
static int parse_wait_timeout(const char *v)
{
    size_t n = strlen(v);
    int secs;

    if (n < 2 || n > 3 || v[n - 1] != 's' || v[0] < '0' || v[0] > '9') {
        return -1;
    }
    if (n == 2) {
        secs = v[0] - '0';
        return secs == 0 || secs >= 5 ? secs : -1;
    }
    if (v[1] < '0' || v[1] > '9' || v[0] == '0') {
        return -1;
    }
    secs = (v[0] - '0') * 10 + (v[1] - '0');
    return secs <= 50 ? secs : -1;
}

static const char *opt_str(const json_t *body, const char *key, const char *dflt)
{
    const json_t *v = json_object_get(body, key);

    return json_is_string(v) ? json_string_value(v) : dflt;
}

/* Reads an optional non-negative integer; -1 when absent, -2 when invalid. */
static long long opt_limit(const json_t *body, const char *key)
{
    const json_t *v = json_object_get(body, key);

    if (v == NULL || json_is_null(v)) {
        return -1;
    }
    return json_is_integer(v) && json_integer_value(v) >= 0 ? json_integer_value(v) : -2;
}

/* Checks the request as Databricks does; replies and returns -1 when invalid. */
static int validate_submit(emu_req_t *req, const json_t *body, int *wait_secs)
{
    const char *text = opt_str(body, "statement", NULL);
    const char *wh = opt_str(body, "warehouse_id", NULL);
    const char *wt = opt_str(body, "wait_timeout", "10s");
    const char *owt = opt_str(body, "on_wait_timeout", "CONTINUE");
    const char *disp = opt_str(body, "disposition", "INLINE");
    const char *fmt = opt_str(body, "format", "JSON_ARRAY");
    const json_t *params = json_object_get(body, "parameters");
    const char *bad = NULL;

    if (text == NULL || text[0] == '\0') {
        bad = "statement is required.";
    } else if (strlen(text) > STATEMENT_MAX_BYTES) {
        bad = "statement is larger than 16 MiB.";
    } else if (wh == NULL || wh[0] == '\0') {
        bad = "warehouse_id is required.";
    } else if ((*wait_secs = parse_wait_timeout(wt)) < 0) {
        bad = "wait_timeout must be 0 (async) or between 5s and 50s, e.g. '30s'.";
    } else if (strcmp(owt, "CONTINUE") != 0 && strcmp(owt, "CANCEL") != 0) {
        bad = "on_wait_timeout must be CONTINUE or CANCEL.";
    } else if (params != NULL && !json_is_null(params) && !json_is_array(params)) {
        bad = "parameters must be an array of {name, value, type}.";
    } else if (opt_limit(body, "row_limit") == -2 || opt_limit(body, "byte_limit") == -2) {
        bad = "row_limit and byte_limit must be non-negative integers.";
    }
    if (bad != NULL) {
        emu_reply_error(req, 400, "INVALID_PARAMETER_VALUE", "%s", bad);
        return -1;
    }
    if (strcmp(disp, "INLINE") != 0 || strcmp(fmt, "JSON_ARRAY") != 0) {
        emu_reply_error(req, 400,
                        strcmp(disp, "EXTERNAL_LINKS") == 0 || strcmp(fmt, "ARROW_STREAM") == 0 ||
                                strcmp(fmt, "CSV") == 0
                            ? "NOT_IMPLEMENTED"
                            : "INVALID_PARAMETER_VALUE",
                        "The emulator supports only disposition INLINE with format JSON_ARRAY "
                        "(got %s, %s).",
                        disp, fmt);
        return -1;
    }
    if (strcmp(wh, req->srv->warehouse_id) != 0) {
        emu_reply_error(req, 404, "NOT_FOUND", "SQL warehouse %s does not exist.", wh);
        return -1;
    }
    return 0;
}

static char *opt_dup(const json_t *body, const char *key)
{
    const char *v = opt_str(body, key, NULL);

    return v ? strdup(v) : NULL;
}

/* Builds a statement from a validated body. Returns new or NULL. */
static stmt_t *stmt_new(emu_req_t *req, const json_t *body)
{
    stmt_t *s = calloc(1, sizeof(*s));
    unsigned char r[16];
    const json_t *params = json_object_get(body, "parameters");

    if (s == NULL || RAND_bytes(r, (int)sizeof(r)) != 1) {
        free(s);
        return NULL;
    }
    r[6] = (unsigned char)((r[6] & 0x0F) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3F) | 0x80);
    snprintf(s->id, sizeof(s->id),
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1],
             r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14],
             r[15]);
    s->principal = strdup(req->principal);
    s->text = opt_dup(body, "statement");
    s->catalog = opt_dup(body, "catalog");
    s->schema = opt_dup(body, "schema");
    s->params = json_is_array(params) ? json_deep_copy(params) : NULL;
    s->row_limit = opt_limit(body, "row_limit");
    s->byte_limit = opt_limit(body, "byte_limit");
    if (s->principal == NULL || s->text == NULL) {
        stmt_free(s);
        return NULL;
    }
    s->fault = req->fault;
    if (s->fault.kind == EMU_FAULT_NONE) {
        char kind[64];

        emu_faults_match_statement(req->srv->faults,
                                   emu_sim_statement_kind(s->text, kind, sizeof(kind)), &s->fault);
        req->fault = s->fault; /* for the request log */
    }
    if (s->fault.kind == EMU_FAULT_PENDING) {
        s->pending_until = now_mono() + s->fault.seconds;
    }
    return s;
}

/* Waits for s to finish; on timeout with CANCEL, cancels. Caller holds mu. */
static void wait_terminal(emu_statements_t *stmts, stmt_t *s, int wait_secs, int cancel)
{
    struct timespec deadline;
    double end = now_mono() + wait_secs;

    if (wait_secs == 0) {
        return;
    }
    abs_deadline(end, &deadline);
    while (!is_terminal(s->state) && !stmts->shutdown) {
        if (pthread_cond_timedwait(&stmts->changed, &stmts->mu, &deadline) == ETIMEDOUT) {
            break;
        }
    }
    if (!is_terminal(s->state) && cancel && !stmts->shutdown) {
        s->state = ST_CANCELED;
        pthread_cond_broadcast(&stmts->changed);
        pthread_cond_broadcast(&stmts->work);
        pthread_cond_broadcast(&stmts->wake);
    }
}

void emu_statements_submit(emu_req_t *req)
{
    emu_statements_t *stmts = req->srv->statements;
    json_error_t jerr;
    json_t *body = json_loads(req->body ? req->body : "", 0, &jerr), *resp;
    int wait_secs = 10, cancel;
    stmt_t *s;

    if (!json_is_object(body)) {
        emu_reply_error(req, 400, "MALFORMED_REQUEST", "Invalid JSON body: %s", jerr.text);
        goto out;
    }
    req->statement_text = opt_dup(body, "statement");
    if (req->statement_text != NULL && strlen(req->statement_text) > LOG_TEXT_BYTES) {
        req->statement_text[LOG_TEXT_BYTES] = '\0';
    }
    if (validate_submit(req, body, &wait_secs) < 0) {
        goto out;
    }
    s = stmt_new(req, body);
    if (s == NULL) {
        emu_reply_error(req, 500, "INTERNAL_ERROR", "Out of memory.");
        goto out;
    }
    cancel = strcmp(opt_str(body, "on_wait_timeout", "CONTINUE"), "CANCEL") == 0;
    snprintf(req->statement_id, sizeof(req->statement_id), "%s", s->id);
    pthread_mutex_lock(&stmts->mu);
    s->waiters++;
    enqueue(stmts, s);
    wait_terminal(stmts, s, wait_secs, cancel);
    resp = statement_json(s);
    s->waiters--;
    pthread_mutex_unlock(&stmts->mu);
    emu_reply_json(req, 200, resp);
out:
    json_decref(body);
}

/* ---------------------------------------------------------------------------
 * Get and cancel
 * ------------------------------------------------------------------------- */

void emu_statements_get(emu_req_t *req, const char *id, long chunk)
{
    emu_statements_t *stmts = req->srv->statements;
    json_t *resp = NULL;
    stmt_t *s;
    int status = 200;
    const char *err = NULL;

    snprintf(req->statement_id, sizeof(req->statement_id), "%s", id);
    pthread_mutex_lock(&stmts->mu);
    s = find(stmts, id);
    if (s == NULL) {
        status = 404;
    } else if (chunk < 0) {
        resp = statement_json(s);
    } else if (s->state != ST_SUCCEEDED) {
        status = 400;
        err = "The statement has no result: it is not in state SUCCEEDED.";
    } else if (chunk > 0 || json_array_size(s->columns) == 0) {
        status = 400;
        err = "Chunk index out of range: the emulator returns one chunk (index 0).";
    } else {
        resp = result_json(s);
    }
    pthread_mutex_unlock(&stmts->mu);
    if (status == 404) {
        emu_reply_error(req, 404, "NOT_FOUND", "Statement %s not found.", id);
    } else if (status == 400) {
        emu_reply_error(req, 400, "INVALID_PARAMETER_VALUE", "%s", err);
    } else {
        emu_reply_json(req, 200, resp);
    }
}

void emu_statements_cancel(emu_req_t *req, const char *id)
{
    emu_statements_t *stmts = req->srv->statements;
    stmt_t *s;

    snprintf(req->statement_id, sizeof(req->statement_id), "%s", id);
    pthread_mutex_lock(&stmts->mu);
    s = find(stmts, id);
    if (s != NULL && !is_terminal(s->state)) {
        s->state = ST_CANCELED;
        pthread_cond_broadcast(&stmts->changed);
        pthread_cond_broadcast(&stmts->work);
        pthread_cond_broadcast(&stmts->wake);
    }
    pthread_mutex_unlock(&stmts->mu);
    if (s == NULL) {
        emu_reply_error(req, 404, "NOT_FOUND", "Statement %s not found.", id);
        return;
    }
    emu_reply_json(req, 200, json_object());
}
