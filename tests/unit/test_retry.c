/*
 * Unit tests of src/core/retry.c: the classification table, grant messages,
 * Retry-After parsing, backoff bounds and jitter distribution, and attempt
 * bookkeeping on a fake clock.
 */
#include "core/retry.h"
#include "dp_test.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------
 * Fake clock
 * ------------------------------------------------------------------------- */

typedef struct fake_clock {
    long long now;
    long slept;
} fake_clock_t;

static long long fake_now(void *ctx)
{
    return ((fake_clock_t *)ctx)->now;
}

static void fake_sleep(void *ctx, long ms)
{
    ((fake_clock_t *)ctx)->now += ms;
    ((fake_clock_t *)ctx)->slept += ms;
}

/* ---------------------------------------------------------------------------
 * Classification
 * ------------------------------------------------------------------------- */

typedef struct class_case {
    int curl;
    long status;
    const char *error_code;
    int idempotent;
    int retry;
    int code;
} class_case_t;

static void test_retry_classify_table(void)
{
    static const class_case_t cases[] = {
        {CURLE_OPERATION_TIMEDOUT, 0, NULL, 0, 1, DP_ETIMEDOUT},
        {CURLE_COULDNT_CONNECT, 0, NULL, 0, 1, DP_EIO},
        {CURLE_RECV_ERROR, 0, NULL, 0, 1, DP_EIO},
        {CURLE_GOT_NOTHING, 0, NULL, 0, 1, DP_EIO},
        {CURLE_SEND_ERROR, 0, NULL, 1, 1, DP_EIO},
        {CURLE_PARTIAL_FILE, 0, NULL, 0, 1, DP_EIO},
        {CURLE_PEER_FAILED_VERIFICATION, 0, NULL, 1, 0, DP_EIO},
        {CURLE_URL_MALFORMAT, 0, NULL, 1, 0, DP_EIO},
        {0, 408, NULL, 0, 1, DP_ETIMEDOUT},
        {0, 425, NULL, 0, 1, DP_EAGAIN},
        {0, 429, "REQUEST_LIMIT_EXCEEDED", 0, 1, DP_EAGAIN},
        {0, 503, NULL, 0, 1, DP_EAGAIN},
        {0, 500, "INTERNAL_ERROR", 1, 1, DP_EIO},
        {0, 500, "INTERNAL_ERROR", 0, 0, DP_EIO},
        {0, 502, NULL, 1, 1, DP_EIO},
        {0, 502, NULL, 0, 0, DP_EIO},
        {0, 504, NULL, 1, 1, DP_EIO},
        {0, 504, NULL, 0, 0, DP_EIO},
        {0, 501, NULL, 1, 0, DP_EIO},
        {0, 400, "TEMPORARILY_UNAVAILABLE", 0, 1, DP_EAGAIN},
        {0, 400, "WORKSPACE_TEMPORARILY_UNAVAILABLE", 0, 1, DP_EAGAIN},
        {0, 400, "SERVICE_UNDER_MAINTENANCE", 0, 1, DP_EAGAIN},
        {0, 400, "RESOURCE_EXHAUSTED", 0, 1, DP_EAGAIN},
        {0, 400, "DEADLINE_EXCEEDED", 0, 1, DP_ETIMEDOUT},
        {0, 400, "INVALID_PARAMETER_VALUE", 1, 0, DP_EINVAL},
        {0, 409, "ALREADY_EXISTS", 1, 0, DP_EINVAL},
        {0, 401, NULL, 1, 0, DP_EDENIED},
        {0, 403, "PERMISSION_DENIED", 1, 0, DP_EDENIED},
        {0, 404, "NOT_FOUND", 1, 0, DP_ENOTFOUND},
        {0, 400, "PERMISSION_DENIED", 1, 0, DP_EDENIED},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const class_case_t *c = &cases[i];
        dp_retry_outcome_t o = {0};
        dp_err_t err;
        int retry;

        o.curl_code = c->curl;
        o.http_status = c->status;
        o.error_code = c->error_code;
        o.idempotent = c->idempotent;
        o.what = "call";
        dp_err_clear(&err);
        retry = dp_retry_classify(&o, &err);
        DP_ASSERT_MSG(retry == c->retry && err.retryable == c->retry,
                      "case %zu (curl %d, HTTP %ld %s, idempotent %d): expected retry %d, got %d "
                      "(err.retryable %d)",
                      i, c->curl, c->status, c->error_code ? c->error_code : "-", c->idempotent,
                      c->retry, retry, err.retryable);
        DP_ASSERT_MSG(err.code == c->code, "case %zu: expected %s, got %s (%s)", i,
                      dp_err_name(c->code), dp_err_name(err.code), err.msg);
        DP_ASSERT_MSG(strncmp(err.msg, "call: ", 6) == 0,
                      "case %zu: message should name the call: %s", i, err.msg);
    }
}

static void test_retry_classify_names_request_id_and_idempotency(void)
{
    dp_retry_outcome_t o = {0};
    dp_err_t err;

    o.http_status = 500;
    o.error_code = "INTERNAL_ERROR";
    o.message = "boom";
    o.what = "submit statement";
    o.request_id = "req-42";
    dp_retry_classify(&o, &err);
    DP_ASSERT_MSG(strstr(err.msg, "not idempotent") != NULL, "expected 'not idempotent' in %s",
                  err.msg);
    DP_ASSERT_MSG(strstr(err.msg, "req-42") != NULL && strstr(err.msg, "boom") != NULL,
                  "expected request id and message in %s", err.msg);
}

static void test_retry_permission_denied_names_object_and_grant(void)
{
    dp_retry_object_t vol = {DP_RETRY_OBJ_VOLUME, DP_RETRY_ACCESS_WRITE, "main.sales.stage"};
    dp_retry_outcome_t o = {0};
    dp_err_t err;

    o.http_status = 403;
    o.error_code = "PERMISSION_DENIED";
    o.message = "User does not have WRITE VOLUME on Volume 'main.sales.stage'.";
    o.what = "upload /Volumes/main/sales/stage/f.avro";
    o.object = &vol;
    dp_retry_classify(&o, &err);
    DP_ASSERT_MSG(err.code == DP_EDENIED, "expected DP_EDENIED, got %s", dp_err_name(err.code));
    DP_ASSERT_MSG(strstr(err.msg, "lacks WRITE VOLUME on Volume main.sales.stage") != NULL,
                  "expected the parsed grant in: %s", err.msg);

    /* a message without the grant: built from the object */
    o.message = "Forbidden";
    dp_retry_classify(&o, &err);
    DP_ASSERT_MSG(strstr(err.msg, "needs WRITE VOLUME on VOLUME main.sales.stage") != NULL,
                  "expected the grant from the object in: %s", err.msg);

    /* USE SCHEMA missing is reported even when the call was about the volume */
    o.message = "User does not have USE SCHEMA on Schema 'main.sales'.";
    dp_retry_classify(&o, &err);
    DP_ASSERT_MSG(strstr(err.msg, "lacks USE SCHEMA on Schema main.sales") != NULL, "got %s",
                  err.msg);
}

static void test_retry_grant_for_every_object(void)
{
    static const struct {
        dp_retry_object_t obj;
        const char *expect;
    } cases[] = {
        {{DP_RETRY_OBJ_CATALOG, DP_RETRY_ACCESS_READ, "main"}, "USE CATALOG on CATALOG main"},
        {{DP_RETRY_OBJ_SCHEMA, DP_RETRY_ACCESS_READ, "main.s"}, "USE SCHEMA on SCHEMA main.s"},
        {{DP_RETRY_OBJ_SCHEMA, DP_RETRY_ACCESS_CREATE, "main.s"}, "CREATE SCHEMA on CATALOG main"},
        {{DP_RETRY_OBJ_TABLE, DP_RETRY_ACCESS_CREATE, "main.s.t"}, "CREATE TABLE on SCHEMA main.s"},
        {{DP_RETRY_OBJ_VOLUME, DP_RETRY_ACCESS_CREATE, "main.s.v"},
         "CREATE VOLUME on SCHEMA main.s"},
        {{DP_RETRY_OBJ_VOLUME, DP_RETRY_ACCESS_READ, "main.s.v"}, "READ VOLUME on VOLUME main.s.v"},
        {{DP_RETRY_OBJ_TABLE, DP_RETRY_ACCESS_READ, "main.s.t"}, "SELECT on TABLE main.s.t"},
        {{DP_RETRY_OBJ_TABLE, DP_RETRY_ACCESS_WRITE, "main.s.t"},
         "SELECT and MODIFY on TABLE main.s.t"},
        {{DP_RETRY_OBJ_WAREHOUSE, DP_RETRY_ACCESS_READ, "wh1"}, "CAN USE on SQL WAREHOUSE wh1"},
    };
    char msg[512];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dp_retry_grant_message(&cases[i].obj, NULL, msg, sizeof(msg));
        DP_ASSERT_MSG(strstr(msg, cases[i].expect) != NULL, "case %zu: expected '%s' in '%s'", i,
                      cases[i].expect, msg);
    }
    dp_retry_grant_message(NULL, NULL, msg, sizeof(msg));
    for (i = 0; dp_retry_grants[i] != NULL; i++) {
        DP_ASSERT_MSG(strstr(msg, dp_retry_grants[i]) != NULL,
                      "the generic message should list %s: %s", dp_retry_grants[i], msg);
    }
}

static void test_retry_not_found_names_object(void)
{
    dp_retry_object_t tbl = {DP_RETRY_OBJ_TABLE, DP_RETRY_ACCESS_WRITE, "main.s.evt_purchase"};
    dp_retry_outcome_t o = {0};
    dp_err_t err;

    o.http_status = 404;
    o.error_code = "NOT_FOUND";
    o.message = "nope";
    o.what = "copy";
    o.object = &tbl;
    dp_retry_classify(&o, &err);
    DP_ASSERT_MSG(err.code == DP_ENOTFOUND && !err.retryable, "expected permanent DP_ENOTFOUND");
    DP_ASSERT_MSG(strstr(err.msg, "TABLE main.s.evt_purchase does not exist") != NULL &&
                      strstr(err.msg, "SELECT and MODIFY") != NULL,
                  "expected object and grant in: %s", err.msg);
}

/* ---------------------------------------------------------------------------
 * Retry-After
 * ------------------------------------------------------------------------- */

static void test_retry_parse_retry_after(void)
{
    const time_t date = 1445412480; /* Wed, 21 Oct 2015 07:28:00 GMT */
    static const struct {
        const char *value;
        long expect;
    } cases[] = {
        {"120", 120000},
        {"0", 0},
        {" 3 ", 3000},
        {"3\r\n", 3000},
        {"Wed, 21 Oct 2015 07:28:30 GMT", 30000}, /* now = date */
        {"Wed, 21 Oct 2015 07:27:00 GMT", 0},     /* in the past */
        {"Tue, 29 Feb 2000 23:59:59 GMT", 0},
        {"soon", -1},
        {"12abc", -1},
        {"-5", -1},
        {"", -1},
        {"1e3", -1},
        {"99999999999999999999", -1},
        {"Wed, 32 Oct 2015 07:28:00 GMT", -1},
        {"Wed, 21 Foo 2015 07:28:00 GMT", -1},
        {"Wed, 21 Oct 2015 25:28:00 GMT", -1},
        /* libcurl's curl_getdate also takes the obsolete forms RFC 9110
         * 5.6.7 asks a recipient to accept, and is lenient on the rest. */
        {"Wednesday, 21-Oct-15 07:28:30 GMT", 30000}, /* RFC 850 */
        {"Wed Oct 21 07:28:30 2015", 30000},          /* asctime */
        {"Wed, 21 Oct 2015 07:28:40 UTC", 40000},
        {"Wed, 21 Oct 2015 7:28:50 GMT", 50000},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long got = dp_retry_parse_retry_after(cases[i].value, date);

        DP_ASSERT_MSG(got == cases[i].expect, "'%s': expected %ld, got %ld", cases[i].value,
                      cases[i].expect, got);
    }
    DP_ASSERT_MSG(dp_retry_parse_retry_after(NULL, date) == -1, "NULL must give -1");
    DP_ASSERT_MSG(dp_retry_parse_retry_after("Tue, 29 Feb 2000 23:59:59 GMT", 951868799 - 10) ==
                      10000,
                  "leap day: expected 10000 ms");
}

/* ---------------------------------------------------------------------------
 * Backoff
 * ------------------------------------------------------------------------- */

static void test_retry_backoff_bounds_and_cap(void)
{
    dp_retry_policy_t p = {10, 100, 2000, 60000, 0};
    dp_retry_t *r = dp_retry_new(&p, NULL, 7);
    int attempt, i;

    for (attempt = 1; attempt <= 12; attempt++) {
        long ceiling = 100L << (attempt - 1 > 10 ? 10 : attempt - 1);
        long maxd = 0;

        if (ceiling > 2000) {
            ceiling = 2000;
        }
        for (i = 0; i < 500; i++) {
            long d = dp_retry_next_delay(r, attempt, -1);

            DP_ASSERT_MSG(d >= 0 && d <= ceiling, "attempt %d: delay %ld outside [0, %ld]", attempt,
                          d, ceiling);
            if (d > maxd) {
                maxd = d;
            }
        }
        DP_ASSERT_MSG(maxd > ceiling / 2,
                      "attempt %d: 500 draws never passed half the ceiling "
                      "%ld (max %ld)",
                      attempt, ceiling, maxd);
    }
    dp_retry_destroy(r);
}

static void test_retry_backoff_honours_retry_after(void)
{
    dp_retry_policy_t p = {10, 100, 2000, 60000, 0};
    dp_retry_t *r = dp_retry_new(&p, NULL, 11);
    int i;

    for (i = 0; i < 100; i++) {
        long d = dp_retry_next_delay(r, 1, 5000);

        DP_ASSERT_MSG(d >= 5000, "Retry-After 5 s: got %ld ms", d);
        DP_ASSERT_MSG(d <= 5000, "Retry-After above the backoff ceiling is the delay: got %ld", d);
    }
    DP_ASSERT_MSG(dp_retry_next_delay(r, 1, 999999999L) == 60000,
                  "Retry-After must be capped at max_retry_after_ms");
    DP_ASSERT_MSG(dp_retry_next_delay(r, 5, 0) <= 1600, "Retry-After 0 leaves the backoff");
    dp_retry_destroy(r);
}

static void test_retry_jitter_is_uniform_and_seeded(void)
{
    dp_retry_policy_t p = {10, 1000, 1000, 1000, 0};
    dp_retry_t *a = dp_retry_new(&p, NULL, 12345), *b = dp_retry_new(&p, NULL, 12345);
    dp_retry_t *c = dp_retry_new(&p, NULL, 54321), *u = dp_retry_new(&p, NULL, 0);
    int buckets[10] = {0}, same = 1, diff = 0, i, n = 20000;
    double sum = 0;

    for (i = 0; i < n; i++) {
        long da = dp_retry_next_delay(a, 1, -1), db = dp_retry_next_delay(b, 1, -1);
        long dc = dp_retry_next_delay(c, 1, -1);

        same &= da == db;
        diff += da != dc;
        sum += (double)da;
        buckets[da >= 1000 ? 9 : da / 100]++;
    }
    DP_ASSERT_MSG(same, "the same seed must give the same sequence");
    DP_ASSERT_MSG(diff > n * 9 / 10, "different seeds should differ (%d of %d differ)", diff, n);
    DP_ASSERT_MSG(sum / n > 475 && sum / n < 525, "mean of U[0,1000] should be ~500, got %.1f",
                  sum / n);
    for (i = 0; i < 10; i++) {
        DP_ASSERT_MSG(buckets[i] > n / 10 * 85 / 100 && buckets[i] < n / 10 * 115 / 100,
                      "bucket %d has %d of %d draws (expected ~%d)", i, buckets[i], n, n / 10);
    }
    DP_ASSERT_MSG(dp_retry_next_delay(u, 1, -1) <= 1000, "urandom-seeded instance works");
    dp_retry_destroy(a);
    dp_retry_destroy(b);
    dp_retry_destroy(c);
    dp_retry_destroy(u);
}

static void test_retry_attempts_and_elapsed_limits(void)
{
    fake_clock_t fc = {1000, 0};
    dp_retry_clock_t clock = {fake_now, fake_sleep, &fc};
    dp_retry_policy_t p = {3, 100, 1000, 5000, 0};
    dp_retry_t *r = dp_retry_new(&p, &clock, 3);
    dp_retry_state_t st;
    long delay = -1;

    dp_retry_begin(r, &st);
    DP_ASSERT_MSG(dp_retry_next(r, &st, -1, &delay) == 0 && delay >= 0 && delay <= 100,
                  "first retry allowed with a delay in [0,100], got %ld", delay);
    DP_ASSERT_MSG(dp_retry_next(r, &st, -1, &delay) == 0 && delay <= 200,
                  "second retry allowed, delay %ld", delay);
    DP_ASSERT_MSG(dp_retry_next(r, &st, -1, &delay) == DP_EAGAIN,
                  "third failure exhausts max_attempts 3");
    dp_retry_destroy(r);

    p.max_attempts = 100;
    p.max_elapsed_ms = 10000;
    r = dp_retry_new(&p, &clock, 3);
    dp_retry_begin(r, &st);
    dp_retry_sleep_ms(r, 6000);
    DP_ASSERT_MSG(dp_retry_now_ms(r) == 7000 && fc.slept == 6000, "the fake sleep advanced the "
                                                                  "clock");
    DP_ASSERT_MSG(dp_retry_next(r, &st, 3000, &delay) == 0 && delay == 3000,
                  "6 s + 3 s fits in 10 s (delay %ld)", delay);
    DP_ASSERT_MSG(dp_retry_next(r, &st, 5000, &delay) == DP_EAGAIN,
                  "6 s + 5 s passes max_elapsed 10 s");
    dp_retry_destroy(r);
}

/* A poll that decides on call number `decide_at` with `verdict`. */
typedef struct poll_ctx {
    fake_clock_t *fc;
    int calls, decide_at, verdict;
    long long at[64]; /* the clock at each call */
} poll_ctx_t;

static int count_poll(void *ctx)
{
    poll_ctx_t *pc = ctx;

    pc->at[pc->calls++] = pc->fc->now;
    return pc->calls == pc->decide_at ? pc->verdict : 1;
}

static void test_retry_poll_stops_on_verdict_and_jitters(void)
{
    fake_clock_t fc = {0, 0};
    dp_retry_clock_t clock = {fake_now, fake_sleep, &fc};
    dp_retry_t *r = dp_retry_new(NULL, &clock, 11);
    poll_ctx_t pc;
    int rc, distinct = 0;

    memset(&pc, 0, sizeof(pc));
    pc.fc = &fc;
    pc.decide_at = 3;
    pc.verdict = 0;
    rc = dp_retry_poll(r, 40, 250, count_poll, &pc);
    DP_ASSERT_MSG(rc == 0 && pc.calls == 3, "a verdict on the 3rd poll ends it: rc %d, %d calls",
                  rc, pc.calls);
    DP_ASSERT_MSG(pc.at[0] == 0, "the first poll does not wait (%lld)", pc.at[0]);

    memset(&pc, 0, sizeof(pc));
    pc.fc = &fc;
    pc.decide_at = 2;
    pc.verdict = DP_EIO;
    DP_ASSERT_MSG(dp_retry_poll(r, 40, 250, count_poll, &pc) == DP_EIO && pc.calls == 2,
                  "an error ends the poll with its code (%d calls)", pc.calls);

    memset(&pc, 0, sizeof(pc));
    pc.fc = &fc;
    fc.slept = 0;
    rc = dp_retry_poll(r, 60, 250, count_poll, &pc);
    DP_ASSERT_MSG(rc == 1 && pc.calls == 60, "undecided after all 60 polls: rc %d, %d calls", rc,
                  pc.calls);
    for (int i = 1; i < 60; i++) {
        long long w = pc.at[i] - pc.at[i - 1];

        DP_ASSERT_MSG(w >= 125 && w <= 375, "wait %d is %lld ms, outside [125, 375]", i, w);
        distinct += i > 1 && w != pc.at[i - 1] - pc.at[i - 2];
    }
    DP_ASSERT_MSG(distinct > 30, "the waits are jittered (%d of 58 differ from the one before)",
                  distinct);
    DP_ASSERT_MSG(fc.slept > 59 * 200 && fc.slept < 59 * 300,
                  "59 waits average about 250 ms (%lld ms in all)", (long long)fc.slept);
    dp_retry_destroy(r);
}

static const dp_test_case_t cases[] = {
    {"test_retry_classify_table", test_retry_classify_table},
    {"test_retry_classify_names_request_id_and_idempotency",
     test_retry_classify_names_request_id_and_idempotency},
    {"test_retry_permission_denied_names_object_and_grant",
     test_retry_permission_denied_names_object_and_grant},
    {"test_retry_grant_for_every_object", test_retry_grant_for_every_object},
    {"test_retry_not_found_names_object", test_retry_not_found_names_object},
    {"test_retry_parse_retry_after", test_retry_parse_retry_after},
    {"test_retry_backoff_bounds_and_cap", test_retry_backoff_bounds_and_cap},
    {"test_retry_backoff_honours_retry_after", test_retry_backoff_honours_retry_after},
    {"test_retry_jitter_is_uniform_and_seeded", test_retry_jitter_is_uniform_and_seeded},
    {"test_retry_attempts_and_elapsed_limits", test_retry_attempts_and_elapsed_limits},
    {"test_retry_poll_stops_on_verdict_and_jitters", test_retry_poll_stops_on_verdict_and_jitters},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    const dp_test_suite_t suites[] = {{"retry", NULL, NULL, cases}, {NULL, NULL, NULL, NULL}};

    return dp_test_main(argc, argv, suites);
}
