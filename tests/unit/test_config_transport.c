/*
 * Unit tests of the Kafka transport warnings (dp_config_kafka_warnings,
 * src/config/config_check.c): a worker says at start when the broker's certificate
 * is not checked, or when events (and SASL credentials) would cross the
 * network in the clear; a loopback broker or TLS with verification says
 * nothing.
 */
#include "config/config.h"
#include "core/log.h"
#include "dp_test.h"
#include "kafka/kafka.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char tmpdir[512];

typedef struct seen {
    int n;
    char text[4][512];
} seen_t;

static void collect(void *ctx, const char *msg)
{
    seen_t *s = ctx;

    if (s->n < 4)
        snprintf(s->text[s->n], sizeof(s->text[0]), "%s", msg);
    s->n++;
}

static char config_path[600];

/* Writes a configuration with these bootstrap servers and kafka.properties
 * (a JSON object text) to config_path. */
static int write_config(const char *servers, const char *props)
{
    FILE *f;

    snprintf(config_path, sizeof(config_path), "%s/c.json", tmpdir);
    f = fopen(config_path, "w");
    if (!DP_ASSERT_MSG(f != NULL, "cannot write %s", config_path))
        return -1;
    fprintf(f,
            "{\"kafka\": {\"bootstrap_servers\": \"%s\", \"topics\": [\"events\"], "
            "\"properties\": %s},"
            " \"databricks\": {\"host\": \"https://dbc.example.com\", \"warehouse_id\": \"w\","
            " \"catalog\": \"main\", \"schema\": \"s\", \"client_id\": \"c\"}}",
            servers, props);
    fclose(f);
    return 0;
}

/* Loads that configuration and collects its warnings into s. */
static int warnings_of(const char *servers, const char *props, seen_t *s)
{
    dp_config_t *cfg;
    dp_err_t err;

    memset(s, 0, sizeof(*s));
    if (write_config(servers, props) != 0)
        return -1;
    cfg = dp_config_load(config_path, &err);
    if (!DP_ASSERT_MSG(cfg != NULL, "expected %s / %s to load, got %s", servers, props, err.msg))
        return -1;
    DP_ASSERT_MSG(dp_config_kafka_warnings(cfg, collect, s) == s->n,
                  "the count returned differs from the warnings given");
    dp_config_destroy(cfg);
    return 0;
}

static int has(const seen_t *s, const char *needle)
{
    for (int i = 0; i < s->n && i < 4; i++) {
        if (strstr(s->text[i], needle))
            return 1;
    }
    return 0;
}

static void test_transport_loopback_and_tls_are_quiet(void)
{
    static const char *const quiet[][2] = {
        {"127.0.0.1:9092", "{}"},
        {"localhost:9092,127.0.0.2:9093", "{}"},
        {"[::1]:9092", "{}"},
        {"PLAINTEXT://localhost:9092", "{}"},
        {"broker.example.com:9093", "{\"security.protocol\": \"SSL\"}"},
        {"broker.example.com:9093", "{\"security.protocol\": \"sasl_ssl\", "
                                    "\"sasl.mechanism\": \"PLAIN\", \"sasl.username\": \"u\"}"},
        {"broker.example.com:9093", "{\"security.protocol\": \"ssl\", "
                                    "\"enable.ssl.certificate.verification\": true}"},
        {"localhost:9092", "{\"security.protocol\": \"sasl_plaintext\"}"},
    };
    seen_t s;

    for (size_t i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++) {
        if (warnings_of(quiet[i][0], quiet[i][1], &s) == 0)
            DP_ASSERT_MSG(s.n == 0, "%s with %s: expected no warning, got %d: %s", quiet[i][0],
                          quiet[i][1], s.n, s.text[0]);
    }
}

static void test_transport_plaintext_to_remote_broker_warns(void)
{
    seen_t s;

    if (warnings_of("127.0.0.1:9092, broker-2.example.com:9092", "{}", &s) == 0) {
        DP_ASSERT_MSG(s.n == 1, "expected one warning, got %d", s.n);
        DP_ASSERT_MSG(has(&s, "plaintext (the default)") && has(&s, "broker-2.example.com") &&
                          has(&s, "unencrypted") && has(&s, "ssl or sasl_ssl"),
                      "expected the default plaintext, the broker and the fix named, got: %s",
                      s.text[0]);
    }
    if (warnings_of("10.1.2.3:9092",
                    "{\"security.protocol\": \"SASL_PLAINTEXT\", "
                    "\"sasl.mechanism\": \"PLAIN\", \"sasl.username\": \"u\"}",
                    &s) == 0) {
        DP_ASSERT_MSG(s.n == 1 && has(&s, "sasl_plaintext") && has(&s, "10.1.2.3") &&
                          has(&s, "SASL credentials") && has(&s, "sasl_ssl"),
                      "expected the SASL credentials named, got %d: %s", s.n, s.text[0]);
    }
    if (warnings_of("[2001:db8::1]:9092", "{}", &s) == 0)
        DP_ASSERT_MSG(s.n == 1 && has(&s, "2001:db8::1"), "expected the v6 broker named, got: %s",
                      s.text[0]);
}

static void test_transport_unverified_tls_warns(void)
{
    seen_t s;

    if (warnings_of("broker.example.com:9093",
                    "{\"security.protocol\": \"SSL\", "
                    "\"enable.ssl.certificate.verification\": false}",
                    &s) == 0) {
        DP_ASSERT_MSG(s.n == 1 && has(&s, "enable.ssl.certificate.verification is false") &&
                          has(&s, "pose as the broker"),
                      "expected the verification warning, got %d: %s", s.n, s.text[0]);
    }
    /* on loopback too: a switched-off check is worth a word anywhere */
    if (warnings_of("localhost:9093",
                    "{\"security.protocol\": \"sasl_ssl\", \"sasl.mechanism\": \"PLAIN\", "
                    "\"sasl.username\": \"u\", \"enable.ssl.certificate.verification\": \"0\", "
                    "\"ssl.endpoint.identification.algorithm\": \"none\"}",
                    &s) == 0) {
        DP_ASSERT_MSG(s.n == 2 && has(&s, "certificate is not checked") &&
                          has(&s, "identification.algorithm is none"),
                      "expected both TLS warnings, got %d", s.n);
    }
}

static void test_transport_warning_logged_by_kafka_opts(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *mem;
    dp_config_t *cfg;
    dp_kafka_opts_t opts;
    dp_err_t err;

    if (write_config("broker.example.com:9092", "{}") != 0)
        return;
    cfg = dp_config_load(config_path, &err);
    if (!DP_ASSERT_MSG(cfg != NULL, "expected the file to load, got %s", err.msg))
        return;
    mem = open_memstream(&buf, &len);
    dp_log_set_stream(mem);
    dp_log_set_level(DP_LOG_INFO);
    dp_config_kafka_opts(cfg, &opts);
    fflush(mem);
    dp_log_set_stream(stderr);
    DP_ASSERT_MSG(buf && strstr(buf, "\"level\":\"warn\"") && strstr(buf, "broker.example.com") &&
                      strstr(buf, "unencrypted"),
                  "expected a warn line naming the broker at start, got: %s", buf ? buf : "");
    fclose(mem);
    free(buf);
    dp_config_destroy(cfg);
}

static int suite_init(void)
{
    unsetenv("DELTAPORT_KAFKA_BOOTSTRAP_SERVERS");
    unsetenv("DELTAPORT_DATABRICKS_HOST");
    setenv("DELTAPORT_DATABRICKS_CLIENT_SECRET", "s3cret-of-the-test", 1);
    return dp_test_tmpdir("config-transport", tmpdir, sizeof(tmpdir));
}

static int suite_cleanup(void)
{
    dp_test_rmtree(tmpdir);
    return 0;
}

static const dp_test_case_t k_cases[] = {
    {"test_transport_loopback_and_tls_are_quiet", test_transport_loopback_and_tls_are_quiet},
    {"test_transport_plaintext_to_remote_broker_warns",
     test_transport_plaintext_to_remote_broker_warns},
    {"test_transport_unverified_tls_warns", test_transport_unverified_tls_warns},
    {"test_transport_warning_logged_by_kafka_opts", test_transport_warning_logged_by_kafka_opts},
    {NULL, NULL},
};

static const dp_test_suite_t k_suites[] = {
    {"config_transport", suite_init, suite_cleanup, k_cases},
    {NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
    return dp_test_main(argc, argv, k_suites);
}
