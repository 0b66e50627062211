/*
 * retry: the one place that decides whether a failed call to Databricks is
 * tried again, and how long to wait first.
 *
 * - dp_retry_classify() turns a transport error (a CURLcode), an HTTP status
 *   and a Databricks error_code into retryable or permanent, and writes the
 *   dp_err_t the caller returns. PERMISSION_DENIED and NOT_FOUND become a
 *   message naming the object and the grant it needs (docs/DATABRICKS.md,
 *   "Grants and the messages").
 * - dp_retry_next_delay() is capped exponential backoff with full jitter,
 *   drawn from a per-instance PRNG (never rand()), and honours Retry-After.
 * - dp_retry_begin() / dp_retry_next() keep the attempt count and elapsed
 *   time of one logical call against the policy's limits.
 *
 * The clock and the sleep are injectable so tests run without waiting.
 * - dp_retry_poll() is the one polling loop (waiting for a verdict another
 *   worker decides), with a jittered interval.
 *
 * Invariant: no other module writes a retry or polling loop or sleeps a
 * backoff of its own; dbx/http.c runs the retry loop of the HTTP calls.
 */
#ifndef DP_RETRY_H
#define DP_RETRY_H

#include <stdint.h>
#include <time.h>

#include "core/err.h"

/* Limits of one logical call. Zero fields take the defaults in brackets. */
typedef struct dp_retry_policy {
    int max_attempts;        /* attempts in total, first included [6] */
    long base_delay_ms;      /* backoff ceiling of the first retry [250] */
    long max_delay_ms;       /* cap of the exponential ceiling [30000] */
    long max_retry_after_ms; /* cap of an honoured Retry-After [120000] */
    long max_elapsed_ms;     /* no retry starts after this much time [600000] */
} dp_retry_policy_t;

/* Monotonic clock and sleep. NULL members use the real ones. */
typedef struct dp_retry_clock {
    long long (*now_ms)(void *ctx);
    void (*sleep_ms)(void *ctx, long ms);
    void *ctx;
} dp_retry_clock_t;

typedef struct dp_retry dp_retry_t;

/* The kind of Unity Catalog securable a call touches, for grant messages. */
typedef enum {
    DP_RETRY_OBJ_NONE = 0,
    DP_RETRY_OBJ_CATALOG,
    DP_RETRY_OBJ_SCHEMA,
    DP_RETRY_OBJ_TABLE,
    DP_RETRY_OBJ_VOLUME,
    DP_RETRY_OBJ_WAREHOUSE,
    DP_RETRY_OBJ_CREDENTIALS
} dp_retry_obj_kind_t;

/* What the call does to that securable. */
typedef enum {
    DP_RETRY_ACCESS_READ = 0, /* SELECT / READ VOLUME */
    DP_RETRY_ACCESS_WRITE,    /* MODIFY / WRITE VOLUME */
    DP_RETRY_ACCESS_CREATE    /* CREATE SCHEMA / TABLE / VOLUME in the container */
} dp_retry_access_t;

/* The object of a call; name is "catalog", "catalog.schema" or
 * "catalog.schema.object" (borrowed, may be NULL). */
typedef struct dp_retry_object {
    dp_retry_obj_kind_t kind;
    dp_retry_access_t access;
    const char *name;
} dp_retry_object_t;

/* Everything known about one failed attempt; pointers borrowed, may be NULL. */
typedef struct dp_retry_outcome {
    int curl_code;          /* CURLcode of the transfer, 0 when it completed */
    long http_status;       /* 0 when no response arrived */
    const char *error_code; /* Databricks error_code ("PERMISSION_DENIED") */
    const char *message;    /* Databricks message */
    int idempotent;         /* 1 when repeating the call cannot do harm twice */
    const char *what;       /* the call, for messages: "upload /Volumes/c/s/v/f" */
    const char *request_id; /* x-request-id of the response */
    const dp_retry_object_t *object;
} dp_retry_outcome_t;

/* The privileges the service principal needs (docs/SETUP.md), in the order
 * it needs them. */
extern const char *const dp_retry_grants[];

/* Classifies a failed attempt and fills err (may be NULL) with the code
 * (DP_ETIMEDOUT, DP_EIO, DP_EAGAIN, DP_EDENIED, DP_ENOTFOUND, DP_EINVAL,
 * DP_ETOOBIG or DP_EFAIL), err->retryable and a message with the call, the
 * status, the error_code and Databricks' message. Returns 1 when the call
 * may be retried, 0 when it is permanent. Thread: any (pure). */
int dp_retry_classify(const dp_retry_outcome_t *outcome, dp_err_t *err);

/* Returns the privilege a call needs on its object ("WRITE VOLUME",
 * "SELECT and MODIFY", "CREATE TABLE"...), static; "" for NONE. Pure. */
const char *dp_retry_grant_for(const dp_retry_object_t *object);

/* Writes into out a sentence naming the object and the missing grant, built
 * from Databricks' message when it says "does not have X on Kind 'name'", else
 * from object. Pure. */
void dp_retry_grant_message(const dp_retry_object_t *object, const char *message, char *out,
                            size_t outlen);

/* Parses a Retry-After value: delta-seconds or an HTTP-date (IMF-fixdate,
 * "Sun, 06 Nov 1994 08:49:37 GMT", or the obsolete RFC 850 and asctime
 * forms; libcurl's curl_getdate parses it), relative to now (seconds since
 * the epoch). A date in the past gives 0. Returns the delay in milliseconds,
 * or -1 when value is NULL, empty or garbage. Pure. */
long dp_retry_parse_retry_after(const char *value, time_t now);

/* Creates a retry instance. policy and clock may be NULL (defaults); both
 * are copied. seed 0 seeds the PRNG from /dev/urandom (falling back to the
 * clock and the address of the instance). Returns new (free with
 * dp_retry_destroy); never NULL. Thread: any. */
dp_retry_t *dp_retry_new(const dp_retry_policy_t *policy, const dp_retry_clock_t *clock,
                         uint64_t seed);

/* Frees r; NULL is a no-op. */
void dp_retry_destroy(dp_retry_t *r);

/* The delay before retry number `attempt` (1 = the first retry): a uniform
 * draw in [0, min(max_delay, base * 2^(attempt-1))], raised to
 * retry_after_ms (capped at max_retry_after_ms) when that is >= 0.
 * Thread: any (the PRNG is locked). */
long dp_retry_next_delay(dp_retry_t *r, int attempt, long retry_after_ms);

/* Bookkeeping of one logical call; a plain value, start with dp_retry_begin. */
typedef struct dp_retry_state {
    int attempts;       /* attempts made so far */
    long long start_ms; /* clock at dp_retry_begin */
} dp_retry_state_t;

void dp_retry_begin(dp_retry_t *r, dp_retry_state_t *state);

/* Records one failed retryable attempt. Returns 0 and the delay to wait in
 * *delay_ms when another attempt is allowed; DP_EAGAIN when max_attempts or
 * max_elapsed_ms (counting the delay) would be passed. Thread: any. */
int dp_retry_next(dp_retry_t *r, dp_retry_state_t *state, long retry_after_ms, long *delay_ms);

/* Polls for an outcome another party decides: calls poll(ctx) up to
 * max_polls times, until it returns anything but 1 ("not yet"), and waits
 * between two calls on r's clock for interval_ms with jitter (a uniform draw
 * in [interval_ms/2, 3*interval_ms/2], so many pollers do not march in step
 * and the mean wait stays interval_ms). No wait follows the last call.
 * Returns poll's last value: 1 when it never decided, its own code else.
 * Thread: the caller's (it sleeps; never on the poll thread). */
int dp_retry_poll(dp_retry_t *r, int max_polls, long interval_ms, int (*poll)(void *ctx),
                  void *ctx);

/* The instance's clock (monotonic milliseconds) and sleep. Thread: any. */
long long dp_retry_now_ms(const dp_retry_t *r);
void dp_retry_sleep_ms(const dp_retry_t *r, long ms);

/* The policy with defaults applied (borrowed, lives as long as r). */
const dp_retry_policy_t *dp_retry_policy(const dp_retry_t *r);

#endif
