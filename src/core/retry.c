/*
 * retry: classification of failed Databricks calls, capped full-jitter
 * backoff, Retry-After parsing and attempt bookkeeping (see retry.h).
 *
 * The backoff is the "full jitter" variant of the AWS Architecture Blog post
 * "Exponential Backoff And Jitter" (2015): sleep = uniform(0, min(cap,
 * base * 2^n)). A Retry-After sent by the server is a floor on that draw.
 * The PRNG is xorshift64* seeded through splitmix64 (both public-domain
 * algorithms by Vigna); each instance has its own state under a mutex.
 */
#include "core/retry.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/mem.h"

struct dp_retry {
    dp_retry_policy_t policy;
    dp_retry_clock_t clock;
    pthread_mutex_t lock; /* guards rng */
    uint64_t rng;
};

const char *const dp_retry_grants[] = {
    "USE CATALOG", "USE SCHEMA",   "CREATE SCHEMA", "CREATE TABLE", "CREATE VOLUME",
    "READ VOLUME", "WRITE VOLUME", "SELECT",        "MODIFY",       NULL,
};

/* ---------------------------------------------------------------------------
 * Classification
 * ------------------------------------------------------------------------- */

/* Databricks error codes that mean "try again later" (docs/DATABRICKS.md, "Retries"). */
static const char *const retryable_codes[] = {
    "TEMPORARILY_UNAVAILABLE",   "WORKSPACE_TEMPORARILY_UNAVAILABLE",
    "SERVICE_UNDER_MAINTENANCE", "RESOURCE_EXHAUSTED",
    "DEADLINE_EXCEEDED",         NULL,
};

static int in_list(const char *s, const char *const *list)
{
    size_t i;

    if (s == NULL) {
        return 0;
    }
    for (i = 0; list[i] != NULL; i++) {
        if (strcmp(s, list[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

static const char *kind_name(dp_retry_obj_kind_t kind)
{
    switch (kind) {
    case DP_RETRY_OBJ_CATALOG:
        return "CATALOG";
    case DP_RETRY_OBJ_SCHEMA:
        return "SCHEMA";
    case DP_RETRY_OBJ_TABLE:
        return "TABLE";
    case DP_RETRY_OBJ_VOLUME:
        return "VOLUME";
    case DP_RETRY_OBJ_WAREHOUSE:
        return "SQL WAREHOUSE";
    default:
        return "OBJECT";
    }
}

const char *dp_retry_grant_for(const dp_retry_object_t *object)
{
    static const char *const grants[][3] = {
        /* READ, WRITE, CREATE */
        {"", "", ""},
        {"USE CATALOG", "USE CATALOG", "CREATE SCHEMA"},
        {"USE SCHEMA", "USE SCHEMA", "CREATE TABLE"},
        {"SELECT", "SELECT and MODIFY", "CREATE TABLE"},
        {"READ VOLUME", "WRITE VOLUME", "CREATE VOLUME"},
        {"CAN USE", "CAN USE", "CAN USE"},
        {"", "", ""},
    };

    if (object == NULL || object->kind < DP_RETRY_OBJ_NONE ||
        object->kind > DP_RETRY_OBJ_CREDENTIALS || object->access > DP_RETRY_ACCESS_CREATE) {
        return "";
    }
    return grants[object->kind][object->access];
}

/* Copies the first n dot-separated parts of name ("a.b.c", 2 -> "a.b"). */
static void name_prefix(const char *name, int parts, char *out, size_t outlen)
{
    size_t i = 0;
    int seen = 0;

    for (; name[i] != '\0'; i++) {
        if (name[i] == '.' && ++seen == parts) {
            break;
        }
    }
    snprintf(out, outlen, "%.*s", (int)i, name);
}

/* Builds "<grant> on <KIND> <name>" for the object, moving CREATE grants to
 * the container they are granted on. */
static void grant_target(const dp_retry_object_t *object, char *out, size_t outlen)
{
    const char *name = object->name ? object->name : "?";
    const char *grant = dp_retry_grant_for(object);
    char container[256];

    if (object->access == DP_RETRY_ACCESS_CREATE && object->kind == DP_RETRY_OBJ_SCHEMA) {
        name_prefix(name, 1, container, sizeof(container));
        snprintf(out, outlen, "CREATE SCHEMA on CATALOG %s", container);
    } else if (object->access == DP_RETRY_ACCESS_CREATE && object->kind >= DP_RETRY_OBJ_TABLE &&
               object->kind <= DP_RETRY_OBJ_VOLUME) {
        name_prefix(name, 2, container, sizeof(container));
        snprintf(out, outlen, "%s on SCHEMA %s", grant, container);
    } else {
        snprintf(out, outlen, "%s on %s %s", grant, kind_name(object->kind), name);
    }
}

/* Finds "does not have <PRIV> on <Kind> '<name>'" in Databricks' message. */
static int parse_denied(const char *message, char *out, size_t outlen)
{
    const char *p = message ? strstr(message, "does not have ") : NULL;
    const char *on, *q1, *q2, *kind_end;

    if (p == NULL) {
        return -1;
    }
    p += strlen("does not have ");
    on = strstr(p, " on ");
    q1 = on ? strchr(on, '\'') : NULL;
    q2 = q1 ? strchr(q1 + 1, '\'') : NULL;
    if (on == NULL || q2 == NULL || q2 == q1 + 1 || on - p > 64 || q1 - on > 32) {
        return -1;
    }
    kind_end = q1;
    while (kind_end > on + 4 && kind_end[-1] == ' ') {
        kind_end--;
    }
    snprintf(out, outlen, "%.*s on %.*s %.*s", (int)(on - p), p, (int)(kind_end - on - 4), on + 4,
             (int)(q2 - q1 - 1), q1 + 1);
    return 0;
}

void dp_retry_grant_message(const dp_retry_object_t *object, const char *message, char *out,
                            size_t outlen)
{
    char target[384];

    if (parse_denied(message, target, sizeof(target)) == 0) {
        snprintf(out, outlen, "the principal lacks %s", target);
    } else if (object != NULL && object->kind == DP_RETRY_OBJ_WAREHOUSE) {
        snprintf(out, outlen, "the principal needs CAN USE on SQL WAREHOUSE %s",
                 object->name ? object->name : "?");
    } else if (object != NULL && object->kind > DP_RETRY_OBJ_NONE &&
               object->kind < DP_RETRY_OBJ_WAREHOUSE) {
        grant_target(object, target, sizeof(target));
        snprintf(out, outlen,
                 "the principal needs %s (with USE CATALOG and USE SCHEMA on its "
                 "containers)",
                 target);
    } else {
        snprintf(out, outlen,
                 "the principal needs the grants USE CATALOG, USE SCHEMA, "
                 "CREATE SCHEMA, CREATE TABLE, CREATE VOLUME, READ VOLUME, WRITE VOLUME, SELECT "
                 "and MODIFY");
    }
}

/* The object part of a NOT_FOUND message. */
static void not_found_message(const dp_retry_object_t *object, char *out, size_t outlen)
{
    char grant[400];

    if (object == NULL || object->kind == DP_RETRY_OBJ_NONE) {
        snprintf(out, outlen, "the object does not exist or the principal cannot see it");
        return;
    }
    dp_retry_grant_message(object, NULL, grant, sizeof(grant));
    snprintf(out, outlen, "%s %s does not exist or is not visible: %s", kind_name(object->kind),
             object->name ? object->name : "?", grant);
}

static int transport_retryable(int code)
{
    switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_AGAIN:
        return 1;
    default:
        return 0;
    }
}

static int classify_transport(const dp_retry_outcome_t *o, const char *what, dp_err_t *err)
{
    int retry = transport_retryable(o->curl_code);
    int code = o->curl_code == CURLE_OPERATION_TIMEDOUT ? DP_ETIMEDOUT : DP_EIO;

    dp_err_set(err, code, retry, "%s: transport error: %s%s", what,
               curl_easy_strerror((CURLcode)o->curl_code),
               o->curl_code == CURLE_PEER_FAILED_VERIFICATION
                   ? " (TLS verification is always on; set a CA file if the server uses a "
                     "private CA)"
                   : "");
    return retry;
}

/* Status and error_code -> (dp code, retryable). */
static int status_class(const dp_retry_outcome_t *o, int *retry)
{
    long s = o->http_status;

    *retry = 0;
    if (in_list(o->error_code, retryable_codes) || s == 408 || s == 425 || s == 429 || s == 503) {
        *retry = 1;
        return (s == 408 || (o->error_code && !strcmp(o->error_code, "DEADLINE_EXCEEDED")))
                   ? DP_ETIMEDOUT
                   : DP_EAGAIN;
    }
    if (s >= 500 && s != 501 && s != 505) {
        *retry = o->idempotent ? 1 : 0;
        return DP_EIO;
    }
    if (s >= 500) {
        return DP_EIO;
    }
    if (s == 401 || (o->error_code && !strcmp(o->error_code, "UNAUTHENTICATED"))) {
        return DP_EDENIED;
    }
    if (s == 403 || (o->error_code && !strcmp(o->error_code, "PERMISSION_DENIED"))) {
        return DP_EDENIED;
    }
    if (s == 404 || (o->error_code && !strcmp(o->error_code, "NOT_FOUND"))) {
        return DP_ENOTFOUND;
    }
    return s >= 400 ? DP_EINVAL : DP_EFAIL;
}

int dp_retry_classify(const dp_retry_outcome_t *o, dp_err_t *err)
{
    const char *what = o->what ? o->what : "request";
    const char *ecode = o->error_code && o->error_code[0] ? o->error_code : "-";
    char detail[420] = "", rid[96] = "";
    int retry, code;

    if (o->curl_code != 0) {
        return classify_transport(o, what, err);
    }
    code = status_class(o, &retry);
    if (code == DP_EDENIED && o->http_status == 401) {
        snprintf(detail, sizeof(detail), "authentication refused; check the credentials: ");
    } else if (code == DP_EDENIED) {
        dp_retry_grant_message(o->object, o->message, detail, sizeof(detail) - 2);
        strncat(detail, "; ", sizeof(detail) - strlen(detail) - 1);
    } else if (code == DP_ENOTFOUND) {
        not_found_message(o->object, detail, sizeof(detail) - 2);
        strncat(detail, "; ", sizeof(detail) - strlen(detail) - 1);
    } else if (!retry && o->http_status >= 500 && !o->idempotent) {
        snprintf(detail, sizeof(detail), "not retried (the call is not idempotent): ");
    }
    if (o->request_id && o->request_id[0]) {
        snprintf(rid, sizeof(rid), " (x-request-id %s)", o->request_id);
    }
    dp_err_set(err, code, retry, "%s: HTTP %ld %s: %s%s%s", what, o->http_status, ecode, detail,
               o->message ? o->message : "", rid);
    return retry;
}

/* ---------------------------------------------------------------------------
 * Retry-After
 * ------------------------------------------------------------------------- */

long dp_retry_parse_retry_after(const char *value, time_t now)
{
    time_t epoch;
    char *end = NULL;
    long secs;

    if (value == NULL) {
        return -1;
    }
    while (*value == ' ' || *value == '\t') {
        value++;
    }
    if (*value >= '0' && *value <= '9') {
        errno = 0;
        secs = strtol(value, &end, 10);
        while (end && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')) {
            end++;
        }
        if (errno != 0 || end == NULL || *end != '\0' || secs > 86400L * 365) {
            return -1;
        }
        return secs * 1000;
    }
    /* An HTTP-date: libcurl's parser takes IMF-fixdate and the obsolete
     * RFC 850 and asctime forms that RFC 9110 5.6.7 asks recipients to
     * accept. */
    epoch = curl_getdate(value, NULL);
    if (epoch == -1) {
        return -1;
    }
    return epoch <= now ? 0 : (long)((epoch - now) * 1000);
}

/* ---------------------------------------------------------------------------
 * Instances, PRNG and backoff
 * ------------------------------------------------------------------------- */

static long long real_now_ms(void *ctx)
{
    struct timespec ts;

    (void)ctx;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void real_sleep_ms(void *ctx, long ms)
{
    struct timespec ts;

    (void)ctx;
    if (ms <= 0) {
        return;
    }
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t urandom_seed(const void *salt)
{
    uint64_t seed = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

    if (fd >= 0) {
        if (read(fd, &seed, sizeof(seed)) != (ssize_t)sizeof(seed)) {
            seed = 0;
        }
        close(fd);
    }
    if (seed == 0) {
        seed = (uint64_t)real_now_ms(NULL) ^ (uint64_t)(uintptr_t)salt ^ (uint64_t)getpid();
    }
    return seed;
}

static void apply_defaults(dp_retry_policy_t *p)
{
    if (p->max_attempts <= 0)
        p->max_attempts = 6;
    if (p->base_delay_ms <= 0)
        p->base_delay_ms = 250;
    if (p->max_delay_ms <= 0)
        p->max_delay_ms = 30000;
    if (p->max_retry_after_ms <= 0)
        p->max_retry_after_ms = 120000;
    if (p->max_elapsed_ms <= 0)
        p->max_elapsed_ms = 600000;
}

dp_retry_t *dp_retry_new(const dp_retry_policy_t *policy, const dp_retry_clock_t *clock,
                         uint64_t seed)
{
    dp_retry_t *r = dp_calloc(1, sizeof(*r));
    uint64_t mix;

    if (policy != NULL) {
        r->policy = *policy;
    }
    apply_defaults(&r->policy);
    r->clock.now_ms = clock && clock->now_ms ? clock->now_ms : real_now_ms;
    r->clock.sleep_ms = clock && clock->sleep_ms ? clock->sleep_ms : real_sleep_ms;
    r->clock.ctx = clock ? clock->ctx : NULL;
    pthread_mutex_init(&r->lock, NULL);
    mix = seed != 0 ? seed : urandom_seed(r);
    r->rng = splitmix64(&mix);
    if (r->rng == 0) {
        r->rng = 0x2545F4914F6CDD1DULL;
    }
    return r;
}

void dp_retry_destroy(dp_retry_t *r)
{
    if (r == NULL) {
        return;
    }
    pthread_mutex_destroy(&r->lock);
    free(r);
}

/* xorshift64*: returns 64 random bits. Caller holds r->lock. */
static uint64_t next_u64(dp_retry_t *r)
{
    r->rng ^= r->rng >> 12;
    r->rng ^= r->rng << 25;
    r->rng ^= r->rng >> 27;
    return r->rng * 0x2545F4914F6CDD1DULL;
}

/* A uniform draw in [0, 1) with 53 bits. Thread: any (locks r). */
static double next_unit(dp_retry_t *r)
{
    double unit;

    pthread_mutex_lock(&r->lock);
    unit = (double)(next_u64(r) >> 11) / 9007199254740992.0;
    pthread_mutex_unlock(&r->lock);
    return unit;
}

long dp_retry_next_delay(dp_retry_t *r, int attempt, long retry_after_ms)
{
    const dp_retry_policy_t *p = &r->policy;
    long ceiling = p->base_delay_ms;
    double unit;
    long delay;
    int i;

    for (i = 1; i < attempt && ceiling < p->max_delay_ms; i++) {
        ceiling *= 2;
    }
    if (ceiling > p->max_delay_ms) {
        ceiling = p->max_delay_ms;
    }
    unit = next_unit(r);
    delay = (long)(unit * (double)(ceiling + 1));
    if (retry_after_ms >= 0) {
        long floor_ms =
            retry_after_ms < p->max_retry_after_ms ? retry_after_ms : p->max_retry_after_ms;
        if (delay < floor_ms) {
            delay = floor_ms;
        }
    }
    return delay;
}

void dp_retry_begin(dp_retry_t *r, dp_retry_state_t *state)
{
    state->attempts = 0;
    state->start_ms = r->clock.now_ms(r->clock.ctx);
}

int dp_retry_next(dp_retry_t *r, dp_retry_state_t *state, long retry_after_ms, long *delay_ms)
{
    long long elapsed;
    long delay;

    state->attempts++;
    if (state->attempts >= r->policy.max_attempts) {
        return DP_EAGAIN;
    }
    delay = dp_retry_next_delay(r, state->attempts, retry_after_ms);
    elapsed = r->clock.now_ms(r->clock.ctx) - state->start_ms;
    if (elapsed + delay > r->policy.max_elapsed_ms) {
        return DP_EAGAIN;
    }
    *delay_ms = delay;
    return 0;
}

int dp_retry_poll(dp_retry_t *r, int max_polls, long interval_ms, int (*poll)(void *ctx), void *ctx)
{
    int rc = 1;

    for (int i = 0; i < max_polls && rc == 1; i++) {
        if (i > 0)
            r->clock.sleep_ms(r->clock.ctx,
                              interval_ms / 2 + (long)(next_unit(r) * (double)(interval_ms + 1)));
        rc = poll(ctx);
    }
    return rc;
}

long long dp_retry_now_ms(const dp_retry_t *r)
{
    return r->clock.now_ms(r->clock.ctx);
}

void dp_retry_sleep_ms(const dp_retry_t *r, long ms)
{
    r->clock.sleep_ms(r->clock.ctx, ms);
}

const dp_retry_policy_t *dp_retry_policy(const dp_retry_t *r)
{
    return &r->policy;
}
