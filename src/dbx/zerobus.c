/*
 * dbx/zerobus: Zerobus Ingest inserts on a curl multi handle (see zerobus.h).
 *
 * Threads: callers (dp_zerobus_send) mint or read their table's token, queue
 * their inserts and wait on their batch's condition variable; the sender
 * thread starts queued inserts while fewer than max_in_flight run, drives the
 * transfers, and applies dp_dbx_next() to each finished attempt: done or
 * failed inserts are handed back to their batch, retries go back to the
 * queue with a not-before time, and a 401 goes back to its caller, which
 * refreshes the table's token (a token request blocks, so it never runs on
 * the sender thread) and queues the insert again.
 *
 * Invariants: every field of an xfer_t and every queue link is read or
 * written under zb->mu, except the transfer's own buffers while it runs
 * (sender thread only); the Authorization line of an insert is wiped when
 * the insert is handed back.
 */
#include "dbx/zerobus.h"

#include "core/log.h"
#include "core/mem.h"
#include "dbx/dbx_int.h"
#include "dbx/oauth.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define AUTH_LINE_MAX 8448
#define PATH_MAX_LEN  1024
#define WAIT_SLICE_MS 500
#define POLL_MAX_MS   200

typedef struct table_tok {
    char *table;       /* "c.s.t" */
    dp_oauth_t *oauth; /* owned: this table's token (thread-safe) */
} table_tok_t;

typedef enum { X_QUEUED = 0, X_RUNNING, X_TOKEN, X_DONE } xstate_t;

typedef struct batch {
    pthread_cond_t cv;
    size_t pending; /* inserts not yet handed back */
} batch_t;

typedef struct xfer {
    struct xfer *next; /* queue link */
    dp_zerobus_insert_t *ins;
    batch_t *batch;
    table_tok_t *tok;
    xstate_t state;
    long long not_before_ms; /* a retry waits until then */
    int refreshed;
    dp_retry_state_t st;
    char line[AUTH_LINE_MAX]; /* "Authorization: Bearer ..." (wiped when handed back) */
    char path[PATH_MAX_LEN];
    char what[PATH_MAX_LEN];
    dp_dbx_request_t req;
    dp_dbx_response_t resp;
    dp_dbx_attempt_t att;
    CURL *easy; /* while running */
} xfer_t;

struct dp_zerobus {
    dp_dbx_client_t *client;    /* the Zerobus host's settings and retry policy (sender) */
    dp_dbx_config_t token_http; /* the workspace host, for the per-table token clients */
    char *workspace_host;
    char *ca_file;
    char *workspace_id;
    char *client_id;
    char *secret; /* wiped on destroy */
    size_t max_in_flight;

    pthread_mutex_t mu; /* guards everything below */
    table_tok_t **toks; /* each entry allocated once, never moved */
    size_t ntoks;
    xfer_t *head, *tail; /* queued inserts, in order */
    size_t in_flight;
    int stop;

    CURLM *multi; /* sender thread only (curl_multi_wakeup: any) */
    CURL **idle;  /* easy handles for reuse (sender thread only) */
    size_t nidle;
    pthread_t thread;
    int started;
};

/* ------------------------------------------------------------------------- */
/* Tokens                                                                    */
/* ------------------------------------------------------------------------- */

int dp_zerobus_token_request(const char *workspace_id, const char *table, char *resource,
                             size_t rlen, char *details, size_t dlen, dp_err_t *err)
{
    const char *d1 = strchr(table, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    size_t n = strlen(table);
    int k;

    if (!d1 || !d2 || strchr(d2 + 1, '.') || d1 == table || d2 == d1 + 1 || !d2[1] ||
        strspn(table, "abcdefghijklmnopqrstuvwxyz0123456789_.") != n)
        return dp_err_set(err, DP_EINVAL, 0, "zerobus: table '%.80s' is not catalog.schema.table",
                          table);
    k = snprintf(resource, rlen, "api://databricks/workspaces/%s/zerobusDirectWriteApi",
                 workspace_id);
    if (k < 0 || (size_t)k >= rlen)
        return dp_err_set(err, DP_ETOOBIG, 0, "zerobus: token resource too long");
    k = snprintf(details, dlen,
                 "[{\"type\":\"unity_catalog_privileges\",\"privileges\":[\"USE CATALOG\"],"
                 "\"object_type\":\"CATALOG\",\"object_full_path\":\"%.*s\"},"
                 "{\"type\":\"unity_catalog_privileges\",\"privileges\":[\"USE SCHEMA\"],"
                 "\"object_type\":\"SCHEMA\",\"object_full_path\":\"%.*s\"},"
                 "{\"type\":\"unity_catalog_privileges\",\"privileges\":[\"SELECT\",\"MODIFY\"],"
                 "\"object_type\":\"TABLE\",\"object_full_path\":\"%s\"}]",
                 (int)(d1 - table), table, (int)(d2 - table), table, table);
    if (k < 0 || (size_t)k >= dlen)
        return dp_err_set(err, DP_ETOOBIG, 0, "zerobus: authorization_details too long");
    return 0;
}

/* The token cache of table, made on first use. Returns it (owned by zb) or
 * NULL with err. Called without zb->mu. */
static table_tok_t *table_token(dp_zerobus_t *zb, const char *table, dp_err_t *err)
{
    char resource[256], details[2048];
    dp_oauth_config_t oc;
    dp_oauth_t *oauth;
    table_tok_t *t = NULL;

    pthread_mutex_lock(&zb->mu);
    for (size_t i = 0; i < zb->ntoks && !t; i++) {
        if (strcmp(zb->toks[i]->table, table) == 0)
            t = zb->toks[i];
    }
    pthread_mutex_unlock(&zb->mu);
    if (t)
        return t;
    if (dp_zerobus_token_request(zb->workspace_id, table, resource, sizeof(resource), details,
                                 sizeof(details), err) < 0)
        return NULL;
    memset(&oc, 0, sizeof(oc));
    oc.client_id = zb->client_id;
    oc.client_secret = zb->secret;
    oc.resource = resource;
    oc.authorization_details = details;
    if (!(oauth = dp_oauth_new(&oc, &zb->token_http, err)))
        return NULL;
    pthread_mutex_lock(&zb->mu);
    for (size_t i = 0; i < zb->ntoks && !t; i++) {
        if (strcmp(zb->toks[i]->table, table) == 0)
            t = zb->toks[i]; /* another caller made it meanwhile */
    }
    if (!t) {
        t = dp_malloc(sizeof(*t));
        t->table = dp_strdup(table);
        t->oauth = oauth;
        oauth = NULL;
        zb->toks = dp_realloc(zb->toks, (zb->ntoks + 1) * sizeof(*zb->toks));
        zb->toks[zb->ntoks++] = t;
    }
    pthread_mutex_unlock(&zb->mu);
    dp_oauth_destroy(oauth);
    return t;
}

long dp_zerobus_token_fetches(dp_zerobus_t *zb)
{
    long n = 0;

    pthread_mutex_lock(&zb->mu);
    for (size_t i = 0; i < zb->ntoks; i++)
        n += dp_oauth_fetches(zb->toks[i]->oauth);
    pthread_mutex_unlock(&zb->mu);
    return n;
}

/* ------------------------------------------------------------------------- */
/* The sender                                                                */
/* ------------------------------------------------------------------------- */

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Appends x to the queue. Called with zb->mu held. */
static void enqueue(dp_zerobus_t *zb, xfer_t *x)
{
    x->next = NULL;
    x->state = X_QUEUED;
    if (zb->tail)
        zb->tail->next = x;
    else
        zb->head = x;
    zb->tail = x;
}

/* Hands x back to its caller. Called with zb->mu held. */
static void hand_back(xfer_t *x)
{
    x->state = X_DONE;
    OPENSSL_cleanse(x->line, sizeof(x->line));
    dp_dbx_response_clear(&x->resp);
    x->batch->pending--;
    pthread_cond_signal(&x->batch->cv);
}

/* Starts one attempt of x. Sender thread, zb->mu held. */
static void start(dp_zerobus_t *zb, xfer_t *x)
{
    CURL *easy = zb->nidle ? zb->idle[--zb->nidle] : curl_easy_init();

    if (!easy) {
        x->ins->rc = dp_err_set(&x->ins->err, DP_EFAIL, 1, "%s: curl_easy_init failed", x->what);
        hand_back(x);
        return;
    }
    x->easy = easy;
    x->state = X_RUNNING;
    dp_dbx_attempt_setup(zb->client, easy, &x->req, x->line, &x->resp, &x->att);
    /* HTTP/2 over TLS (one connection, a stream per insert); HTTP/1.1 for
     * plain http. PIPEWAIT: wait for the connection being set up rather
     * than open another, so that the inserts share it. */
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(easy, CURLOPT_PIPEWAIT, 1L);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, x);
    zb->in_flight++;
    if (curl_multi_add_handle(zb->multi, easy) != CURLM_OK) {
        zb->in_flight--;
        dp_dbx_attempt_finish(easy, &x->att, CURLE_FAILED_INIT);
        zb->idle[zb->nidle++] = easy;
        x->easy = NULL;
        x->ins->rc =
            dp_err_set(&x->ins->err, DP_EFAIL, 1, "%s: curl_multi_add_handle failed", x->what);
        hand_back(x);
    }
}

/* One finished attempt: the retry decision. Sender thread, without zb->mu
 * (dp_dbx_next logs). */
static void finished(dp_zerobus_t *zb, CURL *easy, CURLcode result)
{
    xfer_t *x = NULL;
    dp_dbx_next_t next;
    long delay = 0;
    int attempts;

    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
    curl_multi_remove_handle(zb->multi, easy);
    dp_dbx_attempt_finish(easy, &x->att, (int)result);
    attempts = x->st.attempts + 1; /* before dp_dbx_next counts this one */
    next = dp_dbx_next(zb->client, &x->req, &x->st, &x->resp, (int)result, x->att.too_big, 1,
                       &x->refreshed, &delay, &x->ins->err);
    pthread_mutex_lock(&zb->mu);
    zb->idle[zb->nidle++] = easy;
    x->easy = NULL;
    zb->in_flight--;
    x->ins->attempts = attempts;
    x->ins->status = x->resp.status;
    switch (next) {
    case DP_DBX_NEXT_DONE:
        x->ins->rc = 0;
        hand_back(x);
        break;
    case DP_DBX_NEXT_FAIL:
        x->ins->rc = x->ins->err.code < 0 ? x->ins->err.code : DP_EFAIL;
        hand_back(x);
        break;
    case DP_DBX_NEXT_RETRY:
        x->not_before_ms = now_ms() + delay;
        enqueue(zb, x);
        break;
    case DP_DBX_NEXT_REFRESH:
        /* The caller fetches a new token (a blocking call) and queues it again. */
        x->state = X_TOKEN;
        dp_dbx_response_clear(&x->resp);
        pthread_cond_signal(&x->batch->cv);
        break;
    }
    pthread_mutex_unlock(&zb->mu);
}

/* Starts what may start; returns the milliseconds until the next queued
 * retry is due (POLL_MAX_MS at most). Sender thread, zb->mu held. */
static long start_ready(dp_zerobus_t *zb)
{
    long long now = now_ms(), next = now + POLL_MAX_MS;
    xfer_t **pp = &zb->head, *last = NULL;

    while (*pp) {
        xfer_t *x = *pp;

        if (zb->in_flight < zb->max_in_flight && x->not_before_ms <= now) {
            *pp = x->next;
            start(zb, x);
            continue;
        }
        if (x->not_before_ms > now && x->not_before_ms < next)
            next = x->not_before_ms;
        last = x;
        pp = &x->next;
    }
    zb->tail = last;
    if (zb->in_flight >= zb->max_in_flight)
        next = now + POLL_MAX_MS;
    return (long)(next > now ? next - now : 0);
}

static void *sender(void *arg)
{
    dp_zerobus_t *zb = arg;

    for (;;) {
        CURLMsg *msg;
        long wait;
        int running = 0, left = 0, done = 0;

        pthread_mutex_lock(&zb->mu);
        if (zb->stop) {
            pthread_mutex_unlock(&zb->mu);
            break;
        }
        wait = start_ready(zb);
        pthread_mutex_unlock(&zb->mu);
        curl_multi_perform(zb->multi, &running);
        while ((msg = curl_multi_info_read(zb->multi, &left)) != NULL) {
            if (msg->msg == CURLMSG_DONE) {
                finished(zb, msg->easy_handle, msg->data.result);
                done++;
            }
        }
        /* A finished insert frees a slot: start the next one at once. */
        if (done == 0)
            curl_multi_poll(zb->multi, NULL, 0, (int)(wait > 0 ? wait : 1), NULL);
    }
    return NULL;
}

/* ------------------------------------------------------------------------- */
/* Sending                                                                   */
/* ------------------------------------------------------------------------- */

/* Fills x for ins and takes its first credential. Returns 0 or a DP_E*
 * code in ins. Called without zb->mu. */
static int prepare(dp_zerobus_t *zb, xfer_t *x, dp_zerobus_insert_t *ins, batch_t *b)
{
    memset(x, 0, sizeof(*x));
    x->ins = ins;
    x->batch = b;
    ins->rc = 0;
    ins->status = 0;
    ins->attempts = 0;
    dp_err_clear(&ins->err);
    snprintf(x->what, sizeof(x->what), "zerobus insert into %s (%zu bytes)", ins->table, ins->len);
    if (!(x->tok = table_token(zb, ins->table, &ins->err)))
        return ins->rc = ins->err.code;
    if (snprintf(x->path, sizeof(x->path), "/zerobus/v1/tables/%s/insert", ins->table) >=
        (int)sizeof(x->path))
        return ins->rc = dp_err_set(&ins->err, DP_EINVAL, 0, "%s: table name too long", x->what);
    if (dp_oauth_credential(x->tok->oauth, NULL, x->line, sizeof(x->line), &ins->err) < 0) {
        dp_err_prefix(&ins->err, "%s: ", x->what);
        return ins->rc = ins->err.code < 0 ? ins->err.code : DP_EFAIL;
    }
    x->req.method = "POST";
    x->req.path = x->path;
    x->req.content_type = "application/json";
    x->req.body = ins->body;
    x->req.body_len = ins->len;
    /* Not idempotent, retried anyway: a lost answer risks a duplicate row,
     * which the table's view removes by its lineage key (zerobus.h). */
    x->req.idempotent = 1;
    x->req.what = x->what;
    x->req.object.kind = DP_RETRY_OBJ_TABLE;
    x->req.object.access = DP_RETRY_ACCESS_WRITE;
    x->req.object.name = ins->table;
    dp_retry_begin(zb->client->retry, &x->st);
    return 0;
}

/* Takes a new token for every insert of the batch that got a 401, and
 * queues it again. Called with zb->mu held; drops it while fetching. */
static int refresh_tokens(dp_zerobus_t *zb, xfer_t *xs, size_t n)
{
    int queued = 0;

    for (size_t i = 0; i < n; i++) {
        xfer_t *x = &xs[i];
        char rejected[AUTH_LINE_MAX];
        dp_err_t err;
        int rc;

        if (x->state != X_TOKEN)
            continue;
        x->state = X_RUNNING; /* ours while we fetch */
        snprintf(rejected, sizeof(rejected), "%s", x->line);
        pthread_mutex_unlock(&zb->mu);
        rc = dp_oauth_credential(x->tok->oauth, rejected, x->line, sizeof(x->line), &err);
        OPENSSL_cleanse(rejected, sizeof(rejected));
        pthread_mutex_lock(&zb->mu);
        if (rc < 0) {
            dp_err_prefix(&err, "%s: ", x->what);
            x->ins->err = err;
            x->ins->rc = err.code < 0 ? err.code : DP_EFAIL;
            hand_back(x);
            continue;
        }
        x->not_before_ms = 0;
        enqueue(zb, x);
        queued = 1;
    }
    return queued;
}

size_t dp_zerobus_send(dp_zerobus_t *zb, dp_zerobus_insert_t *ins, size_t n,
                       dp_dbx_client_t *count_on, void (*beat)(void *ctx), void *ctx)
{
    xfer_t *xs = dp_calloc(n ? n : 1, sizeof(*xs));
    size_t failed = 0;
    batch_t b;

    pthread_cond_init(&b.cv, NULL);
    b.pending = 0;
    for (size_t i = 0; i < n; i++) {
        dp_dbx_count_call(count_on, DP_DBX_CALL_ZEROBUS);
        if (prepare(zb, &xs[i], &ins[i], &b) < 0)
            xs[i].state = X_DONE;
    }
    pthread_mutex_lock(&zb->mu);
    for (size_t i = 0; i < n; i++) {
        if (xs[i].state == X_DONE)
            continue;
        if (zb->stop) {
            ins[i].rc =
                dp_err_set(&ins[i].err, DP_EAGAIN, 1, "%s: the client is stopping", xs[i].what);
            xs[i].state = X_DONE;
            continue;
        }
        b.pending++;
        enqueue(zb, &xs[i]);
    }
    pthread_mutex_unlock(&zb->mu);
    curl_multi_wakeup(zb->multi);
    pthread_mutex_lock(&zb->mu);
    while (b.pending > 0) {
        struct timespec until;

        if (refresh_tokens(zb, xs, n))
            curl_multi_wakeup(zb->multi);
        if (b.pending == 0)
            break;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += WAIT_SLICE_MS * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&b.cv, &zb->mu, &until);
        if (beat) {
            pthread_mutex_unlock(&zb->mu);
            beat(ctx);
            pthread_mutex_lock(&zb->mu);
        }
    }
    pthread_mutex_unlock(&zb->mu);
    for (size_t i = 0; i < n; i++) {
        OPENSSL_cleanse(xs[i].line, sizeof(xs[i].line));
        failed += ins[i].rc != 0;
    }
    pthread_cond_destroy(&b.cv);
    free(xs);
    return failed;
}

/* ------------------------------------------------------------------------- */
/* Lifecycle                                                                 */
/* ------------------------------------------------------------------------- */

dp_zerobus_t *dp_zerobus_new(const dp_zerobus_config_t *cfg, dp_err_t *err)
{
    dp_zerobus_t *zb;
    dp_dbx_config_t h;

    if (!cfg->endpoint || !cfg->workspace_host || !cfg->workspace_id || !cfg->client_id ||
        !cfg->client_secret || !cfg->client_secret[0]) {
        dp_err_set(err, DP_EINVAL, 0,
                   "zerobus: the endpoint, the workspace host and id, and an "
                   "OAuth client id and secret are all required");
        return NULL;
    }
    zb = dp_calloc(1, sizeof(*zb));
    pthread_mutex_init(&zb->mu, NULL);
    memset(&h, 0, sizeof(h));
    h.host = cfg->endpoint;
    h.allow_insecure_http = cfg->allow_insecure_http;
    h.ca_file = cfg->ca_file;
    h.request_timeout_ms = cfg->request_timeout_ms > 0 ? cfg->request_timeout_ms : 60000;
    h.retry = cfg->retry;
    if (!(zb->client = dp_dbx_client_new(&h, err))) {
        dp_err_prefix(err, "zerobus endpoint: ");
        dp_zerobus_destroy(zb);
        return NULL;
    }
    zb->workspace_host = dp_strdup(cfg->workspace_host);
    zb->ca_file = cfg->ca_file ? dp_strdup(cfg->ca_file) : NULL;
    zb->token_http = h;
    zb->token_http.host = zb->workspace_host;
    zb->token_http.ca_file = zb->ca_file;
    zb->workspace_id = dp_strdup(cfg->workspace_id);
    zb->client_id = dp_strdup(cfg->client_id);
    zb->secret = dp_strdup(cfg->client_secret);
    zb->max_in_flight = cfg->max_in_flight > 0 ? cfg->max_in_flight : 8;
    zb->idle = dp_calloc(zb->max_in_flight + 1, sizeof(*zb->idle));
    if (!(zb->multi = curl_multi_init())) {
        dp_err_set(err, DP_EFAIL, 0, "zerobus: curl_multi_init failed");
        dp_zerobus_destroy(zb);
        return NULL;
    }
    curl_multi_setopt(zb->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    curl_multi_setopt(zb->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)zb->max_in_flight);
    if (pthread_create(&zb->thread, NULL, sender, zb) != 0) {
        dp_err_set(err, DP_EFAIL, 0, "zerobus: cannot start the sender thread");
        dp_zerobus_destroy(zb);
        return NULL;
    }
    zb->started = 1;
    return zb;
}

void dp_zerobus_destroy(dp_zerobus_t *zb)
{
    if (!zb)
        return;
    if (zb->started) {
        pthread_mutex_lock(&zb->mu);
        zb->stop = 1;
        pthread_mutex_unlock(&zb->mu);
        curl_multi_wakeup(zb->multi);
        pthread_join(zb->thread, NULL);
    }
    for (size_t i = 0; i < zb->nidle; i++)
        curl_easy_cleanup(zb->idle[i]);
    free(zb->idle);
    if (zb->multi)
        curl_multi_cleanup(zb->multi);
    for (size_t i = 0; i < zb->ntoks; i++) {
        free(zb->toks[i]->table);
        dp_oauth_destroy(zb->toks[i]->oauth);
        free(zb->toks[i]);
    }
    free(zb->toks);
    dp_dbx_client_destroy(zb->client);
    free(zb->workspace_host);
    free(zb->ca_file);
    free(zb->workspace_id);
    free(zb->client_id);
    if (zb->secret) {
        OPENSSL_cleanse(zb->secret, strlen(zb->secret));
        free(zb->secret);
    }
    pthread_mutex_destroy(&zb->mu);
    free(zb);
}
