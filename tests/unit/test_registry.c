/*
 * Unit tests of the Schema Registry client (src/codec/registry.c) without a
 * registry: settings it refuses, an unreachable registry answered
 * "unavailable" (retryable, never "not found"), the negative cache that asks
 * a failed id at most once per retry period (an injected clock, so nothing
 * waits), the bound of the cache, and a decoder left untouched.
 */
#include "codec/decode.h"
#include "codec/registry.h"
#include "config/config.h"
#include "dp_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static long long fake_now;

static long long clock_now(void *ctx)
{
    (void)ctx;
    return fake_now;
}

static void clock_sleep(void *ctx, long ms)
{
    (void)ctx;
    fake_now += ms;
}

static const dp_retry_clock_t fake_clock = {clock_now, clock_sleep, NULL};

/* A loopback URL where nothing listens: bind port 0, read it, close. */
static void dead_url(char *url, size_t len)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    getsockname(fd, (struct sockaddr *)&a, &alen);
    close(fd);
    snprintf(url, len, "http://127.0.0.1:%u", (unsigned)ntohs(a.sin_port));
}

static dp_registry_t *dead_client(size_t cache_max)
{
    static char url[64];
    dp_registry_opts_t o;
    dp_err_t err = {DP_OK, 0, ""};
    dp_registry_t *reg;

    dead_url(url, sizeof(url));
    memset(&o, 0, sizeof(o));
    o.url = url;
    o.allow_insecure_http = 1;
    o.timeout_ms = 1000;
    o.retry_ms = 5000;
    o.cache_max = cache_max;
    o.clock = &fake_clock;
    reg = dp_registry_new(&o, &err);
    DP_ASSERT_MSG(reg != NULL, "client for %s: %s", url, err.msg);
    return reg;
}

static void test_registry_refuses_bad_settings(void)
{
    dp_registry_opts_t o;
    dp_err_t err = {DP_OK, 0, ""};
    dp_config_t cfg;

    memset(&o, 0, sizeof(o));
    DP_ASSERT_MSG(dp_registry_new(&o, &err) == NULL && err.code == DP_EINVAL,
                  "no URL must be DP_EINVAL, got %d", err.code);
    o.url = "http://127.0.0.1:1";
    DP_ASSERT_MSG(dp_registry_new(&o, &err) == NULL && strstr(err.msg, "allow_insecure_http"),
                  "plain http without allow_insecure_http must be refused: %s", err.msg);
    o.url = "https://sr.example.com";
    o.ca_file = "/nonexistent/ca.pem";
    DP_ASSERT_MSG(dp_registry_new(&o, &err) == NULL && strstr(err.msg, "CA file"),
                  "an unreadable CA file must be refused: %s", err.msg);
    memset(&cfg, 0, sizeof(cfg));
    DP_ASSERT_MSG(dp_registry_from_config(&cfg, &err) == NULL && err.code == DP_OK,
                  "no registry_url: no client and no error, got %d %s", err.code, err.msg);
}

static void test_registry_unreachable_is_unavailable_and_asked_once_per_period(void)
{
    dp_registry_t *reg = dead_client(100);
    dp_registry_stats_t st;
    dp_err_t err = {DP_OK, 0, ""};
    const char *text = NULL;
    long first;
    int rc;

    if (!reg)
        return;
    fake_now = 1000000;
    rc = dp_registry_get(reg, 7, &text, NULL, &err);
    DP_ASSERT_MSG(rc == DP_EAGAIN && err.retryable &&
                      strstr(err.msg, "unavailable for schema id 7"),
                  "expected DP_EAGAIN (retryable, naming id 7), got %d %s", rc, err.msg);
    dp_registry_stats(reg, &st);
    first = st.requests;
    DP_ASSERT_MSG(first == 2, "expected 2 attempts (max_attempts default), got %ld", first);
    for (int i = 0; i < 50; i++) {
        fake_now += 50; /* 2.5 s in all, under retry_ms = 5 s */
        rc = dp_registry_get(reg, 7, &text, NULL, &err);
    }
    dp_registry_stats(reg, &st);
    DP_ASSERT_MSG(rc == DP_EAGAIN && st.requests == first && strstr(err.msg, "next attempt in"),
                  "within retry_ms the id must not be asked again: %ld requests (%s)", st.requests,
                  err.msg);
    fake_now += 5000;
    rc = dp_registry_get(reg, 7, &text, NULL, &err);
    dp_registry_stats(reg, &st);
    DP_ASSERT_MSG(rc == DP_EAGAIN && st.requests == first + 2,
                  "after retry_ms one more lookup (2 attempts), got %ld requests", st.requests);
    DP_ASSERT_MSG(st.unavailable == 52 && st.not_found == 0 && st.found == 0,
                  "counters: unavailable %ld not_found %ld found %ld", st.unavailable, st.not_found,
                  st.found);
    dp_registry_destroy(reg);
}

static void test_registry_cache_is_bounded(void)
{
    dp_registry_t *reg = dead_client(16);
    dp_registry_stats_t st;
    dp_err_t err = {DP_OK, 0, ""};

    if (!reg)
        return;
    for (uint32_t id = 1; id <= 40; id++)
        dp_registry_get(reg, id, NULL, NULL, &err);
    dp_registry_stats(reg, &st);
    DP_ASSERT_MSG(st.cached == 16, "expected 16 ids remembered, got %zu", st.cached);
    /* id 40 is among the newest: cached, no request */
    dp_registry_get(reg, 40, NULL, NULL, &err);
    dp_registry_stats(reg, &st);
    DP_ASSERT_MSG(st.requests == 80, "id 40 must come from the cache: %ld requests", st.requests);
    /* id 1 was evicted: asked again */
    dp_registry_get(reg, 1, NULL, NULL, &err);
    dp_registry_stats(reg, &st);
    DP_ASSERT_MSG(st.requests == 82, "evicted id 1 must be asked again: %ld requests", st.requests);
    dp_registry_destroy(reg);
}

static void test_registry_outage_leaves_the_decoder_unchanged(void)
{
    dp_registry_t *reg = dead_client(100);
    dp_err_t err = {DP_OK, 0, ""};
    dp_decoder_t *dec = dp_decoder_open(DP_SOURCE_DIR "/schemas", &err);
    int rc;

    if (!reg || !dec) {
        dp_registry_destroy(reg);
        dp_decoder_destroy(dec);
        DP_ASSERT_MSG(0, "set-up failed: %s", err.msg);
        return;
    }
    rc = dp_registry_load_into(reg, dec, 4242, &err);
    DP_ASSERT_MSG(rc == DP_EAGAIN && dp_decoder_schema_status(dec, 4242, NULL) == -1,
                  "an outage must answer DP_EAGAIN and add nothing, got %d", rc);
    dp_decoder_destroy(dec);
    dp_registry_destroy(reg);
}

static const dp_test_case_t cases[] = {
    {"test_registry_refuses_bad_settings", test_registry_refuses_bad_settings},
    {"test_registry_unreachable_is_unavailable_and_asked_once_per_period",
     test_registry_unreachable_is_unavailable_and_asked_once_per_period},
    {"test_registry_cache_is_bounded", test_registry_cache_is_bounded},
    {"test_registry_outage_leaves_the_decoder_unchanged",
     test_registry_outage_leaves_the_decoder_unchanged},
    {NULL, NULL}};

static const dp_test_suite_t suites[] = {{"registry", NULL, NULL, cases}, {NULL, NULL, NULL, NULL}};

int main(int argc, char **argv)
{
    return dp_test_main(argc, argv, suites);
}
