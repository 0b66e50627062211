/*
 * Integration tests of TLS to Databricks (issue 15 item 3), against the
 * emulator serving HTTPS (--tls-cert/--tls-key, libmicrohttpd with GnuTLS)
 * with certificates this test makes with the openssl CLI
 * (tests/support/make_test_certs.sh):
 *   - the client connects with databricks.ca_file naming the test CA, by IP
 *     and by host name, and a worker loads events over HTTPS;
 *   - a CA the server's certificate does not chain to, a certificate for
 *     another host name, an expired certificate and a CA file that holds no
 *     certificate are each refused, once (not retried), with a message that
 *     names the cause and the fix;
 *   - `deltaport check` reports the TLS failure as such.
 */
#define _GNU_SOURCE
#include "core/err.h"
#include "core/log.h"
#include "dbx/http.h"
#include "dbx/oauth.h"
#include "dbx/sql.h"
#include "dp_proc.h"
#include "dp_test.h"
#include "emu_fixture.h"
#include "kafka_fixture.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char certs[512];

static long scaled(long ms)
{
    return ms * dp_test_timeout_scale();
}

static void cert_path(const char *name, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/%s", certs, name);
}

/* Starts the emulator serving HTTPS with <cert>.pem / <cert>.key. */
static int start_https(dp_emu_fixture_t *ef, const char *cert)
{
    char pem[600], key[600], ca[600];
    const char *args[] = {"--tls-cert", pem, "--tls-key", key, NULL};

    snprintf(pem, sizeof(pem), "%s/%s.pem", certs, cert);
    snprintf(key, sizeof(key), "%s/%s.key", certs, cert);
    if (!DP_ASSERT_MSG(dp_emu_fixture_start(ef, args) == 0,
                       "expected the emulator to start with --tls-cert %s", pem))
        return -1;
    cert_path("ca.pem", ca, sizeof(ca));
    snprintf(ef->ca_file, sizeof(ef->ca_file), "%s", ca);
    if (!DP_ASSERT_MSG(strncmp(ef->url, "https://127.0.0.1:", 18) == 0,
                       "expected an https URL, got %s", ef->url)) {
        dp_emu_fixture_stop(ef);
        return -1;
    }
    return 0;
}

/* Asks for an OAuth token from host trusting ca_file (NULL: system store).
 * Returns the DP_E* code; err says why; *attempts the HTTP attempts made. */
static int token_from(const char *host, const char *ca_file, dp_err_t *err, long *fetches)
{
    dp_oauth_config_t ocfg = {DP_EMU_CLIENT_ID, DP_EMU_CLIENT_SECRET, NULL, NULL, 0, NULL, NULL};
    dp_dbx_config_t http;
    dp_oauth_t *oauth;
    char token[4096];
    int rc;

    memset(&http, 0, sizeof(http));
    http.host = host;
    http.ca_file = ca_file;
    http.connect_timeout_ms = scaled(5000);
    http.request_timeout_ms = scaled(20000);
    http.retry.max_attempts = 3;
    http.retry.base_delay_ms = 10;
    http.retry.max_delay_ms = 50;
    dp_err_clear(err);
    oauth = dp_oauth_new(&ocfg, &http, err);
    if (!oauth)
        return err->code;
    rc = dp_oauth_token(oauth, NULL, token, sizeof(token), err);
    *fetches = dp_oauth_fetches(oauth);
    dp_oauth_destroy(oauth);
    return rc;
}

static void test_tls_client_connects_with_ca_file(void)
{
    dp_emu_fixture_t ef;
    char ca[600], host[160];
    dp_err_t err;
    long fetches = 0;
    int rc;

    if (start_https(&ef, "server") < 0)
        return;
    cert_path("ca.pem", ca, sizeof(ca));
    rc = token_from(ef.url, ca, &err, &fetches);
    DP_ASSERT_MSG(rc == 0, "expected a token over https://127.0.0.1 with the test CA, got %s",
                  err.msg);
    snprintf(host, sizeof(host), "https://localhost:%s", strrchr(ef.url, ':') + 1);
    rc = token_from(host, ca, &err, &fetches);
    DP_ASSERT_MSG(rc == 0, "expected a token over %s with the test CA, got %s", host, err.msg);
    /* without the CA file the system store does not know the test CA */
    rc = token_from(ef.url, NULL, &err, &fetches);
    DP_ASSERT_MSG(rc < 0 && strstr(err.msg, "TLS: the server's certificate is not signed by a CA"),
                  "expected the system store to refuse the test CA, got %d: %s", rc, err.msg);
    dp_emu_fixture_stop(&ef);
    DP_ASSERT_MSG(ef.exit_status == 0, "emulator exit status %d", ef.exit_status);
}

/* One refusal: emulator with cert, client trusting ca_name; the message must
 * hold every needle. */
static void expect_refused(const char *cert, const char *ca_name, const char *const *needles)
{
    dp_emu_fixture_t ef;
    char ca[600];
    dp_err_t err;
    long fetches = 0;
    int rc;

    if (start_https(&ef, cert) < 0)
        return;
    cert_path(ca_name, ca, sizeof(ca));
    rc = token_from(ef.url, ca, &err, &fetches);
    DP_ASSERT_MSG(rc < 0, "%s trusting %s: expected a refusal, got a token", cert, ca_name);
    for (int i = 0; needles[i]; i++)
        DP_ASSERT_MSG(strstr(err.msg, needles[i]) != NULL,
                      "%s trusting %s: expected '%s' in the message, got: %s", cert, ca_name,
                      needles[i], err.msg);
    DP_ASSERT_MSG(!err.retryable && fetches == 1,
                  "%s trusting %s: a refused certificate is not retried (retryable %d, "
                  "fetches %ld)",
                  cert, ca_name, err.retryable, fetches);
    dp_emu_fixture_stop(&ef);
}

static void test_tls_wrong_ca_refused(void)
{
    const char *needles[] = {"OAuth token for client " DP_EMU_CLIENT_ID ": TLS:",
                             "not signed by a CA this client trusts", "other-ca.pem",
                             "fix: set databricks.ca_file", NULL};

    expect_refused("server", "other-ca.pem", needles);
}

static void test_tls_wrong_host_name_refused(void)
{
    const char *needles[] = {"TLS: the server's certificate is not for the host name in 127.0.0.1",
                             "fix: use the host name the certificate names", NULL};

    expect_refused("wronghost", "ca.pem", needles);
}

static void test_tls_expired_certificate_refused(void)
{
    const char *needles[] = {"TLS: the server's certificate has expired",
                             "fix: renew the server's certificate", NULL};

    expect_refused("expired", "ca.pem", needles);
}

static void test_tls_unusable_ca_file_refused(void)
{
    const char *needles[] = {"TLS: the CA file", "holds no PEM certificate",
                             "fix: point databricks.ca_file at a PEM bundle", NULL};
    char path[600];
    FILE *f;

    cert_path("not-a-bundle.pem", path, sizeof(path));
    f = fopen(path, "w");
    if (!DP_ASSERT_MSG(f != NULL, "cannot write %s", path))
        return;
    fputs("this is not a certificate\n", f);
    fclose(f);
    expect_refused("server", "not-a-bundle.pem", needles);
}

/* Writes a worker/check configuration for ef (trusting ca_name) to path. */
static int write_config(const char *path, const char *bootstrap, const dp_emu_fixture_t *ef,
                        const char *ca_name)
{
    char ca[600];
    FILE *f = fopen(path, "w");

    if (!DP_ASSERT_MSG(f != NULL, "cannot write %s", path))
        return -1;
    cert_path(ca_name, ca, sizeof(ca));
    fprintf(f,
            "{\"kafka\": {\"bootstrap_servers\": \"%s\", \"topics\": [\"events\"],\n"
            "  \"group_id\": \"tls-%d\", \"properties\": {\"session.timeout.ms\": 6000,\n"
            "  \"heartbeat.interval.ms\": 1000, \"fetch.wait.max.ms\": 10}},\n"
            " \"schemas\": {\"dir\": \"" DP_SOURCE_DIR "/schemas\"},\n"
            " \"routing\": {\"mode\": \"single\", \"single_table\": \"events_all\"},\n"
            " \"flush\": {\"max_events\": 1000, \"max_age_ms\": 500},\n"
            " \"databricks\": {\"host\": \"%s\", \"ca_file\": \"%s\",\n"
            "  \"warehouse_id\": \"" DP_EMU_WAREHOUSE "\", \"catalog\": \"main\",\n"
            "  \"schema\": \"tls\", \"volume\": \"staging\", \"create_schema\": true,\n"
            "  \"auth\": \"oauth\", \"client_id\": \"" DP_EMU_CLIENT_ID "\",\n"
            "  \"statement_wait_timeout_s\": 5, \"max_retries\": 2},\n"
            " \"http\": {\"listen\": \"127.0.0.1:0\"},\n"
            " \"log\": {\"level\": \"info\"}, \"worker\": {\"shutdown_timeout_ms\": 10000}}\n",
            bootstrap, (int)getpid(), ef->url, ca);
    fclose(f);
    return 0;
}

static void test_tls_check_reports_tls_failure(void)
{
    dp_emu_fixture_t ef;
    char path[600], out[16384];
    char *argv[] = {DP_DELTAPORT_BIN, "check", "--config", path, NULL};
    int rc;

    if (start_https(&ef, "expired") < 0)
        return;
    snprintf(path, sizeof(path), "%s/check.json", ef.dir);
    setenv("DELTAPORT_DATABRICKS_CLIENT_SECRET", DP_EMU_CLIENT_SECRET, 1);
    if (write_config(path, "127.0.0.1:1", &ef, "ca.pem") == 0) {
        rc = dp_proc_run(argv, out, sizeof(out), scaled(60000));
        DP_ASSERT_MSG(rc != 0, "expected check to fail, got exit 0:\n%s", out);
        DP_ASSERT_MSG(strstr(out, "FAIL databricks token: ") &&
                          strstr(out, "TLS: the server's certificate has expired") &&
                          strstr(out, "fix: renew the server's certificate"),
                      "expected check to name the TLS failure and its fix, got:\n%s", out);
        DP_ASSERT_MSG(!strstr(out, "fix: check databricks.host"),
                      "a TLS failure is not a host or network problem; got:\n%s", out);
    }
    dp_emu_fixture_stop(&ef);
}

static void test_tls_worker_loads_over_https(void)
{
    dp_kafka_fixture_t kf;
    dp_emu_fixture_t ef;
    dp_proc_t worker;
    const char *topics[] = {"events:2", NULL};
    char path[600], log[600], token[2048], out[512];
    char *run[] = {DP_DELTAPORT_BIN, "run", "--config", path, NULL};
    char *produce[] = {DP_DELTAPORT_BIN, "produce", "--bootstrap", kf.bootstrap, "--topic",
                       "events",         "--count", "200",         "--quiet",    NULL};
    long long rows = -1, deadline;
    int rc;

    if (!DP_ASSERT_MSG(dp_kafka_fixture_start(&kf, 1, topics) == 0,
                       "expected the embedded Kafka to start"))
        return;
    if (start_https(&ef, "server") < 0) {
        dp_kafka_fixture_stop(&kf);
        return;
    }
    snprintf(path, sizeof(path), "%s/worker.json", ef.dir);
    snprintf(log, sizeof(log), "%s/worker.log", ef.dir);
    setenv("DELTAPORT_DATABRICKS_CLIENT_SECRET", DP_EMU_CLIENT_SECRET, 1);
    setenv("DELTAPORT_WORKER_ID", "tls-worker", 1);
    if (write_config(path, kf.bootstrap, &ef, "ca.pem") < 0 ||
        !DP_ASSERT_MSG(dp_proc_run(produce, out, sizeof(out), scaled(60000)) == 0,
                       "produce failed: %s", out) ||
        !DP_ASSERT_MSG(
            dp_emu_token(&ef, DP_EMU_CLIENT_ID, DP_EMU_CLIENT_SECRET, token, sizeof(token)) == 0,
            "no token over https for the test's queries") ||
        !DP_ASSERT_MSG(dp_proc_start(&worker, run, 0, log) == 0, "cannot start the worker"))
        goto out;
    deadline = dp_test_now_ms() + scaled(90000);
    while (dp_test_now_ms() < deadline && rows < 200) {
        dp_test_sleep_ms(500);
        rows = dp_emu_scalar(&ef, token, "SELECT COUNT(*) FROM main.tls.events_all");
    }
    DP_ASSERT_MSG(rows == 200, "expected 200 rows loaded over https, got %lld (log %s)", rows, log);
    dp_proc_signal(&worker, SIGTERM);
    rc = dp_proc_wait(&worker, scaled(30000));
    DP_ASSERT_MSG(rc == 0, "expected a clean exit after SIGTERM, got %d", rc);
    dp_proc_stop(&worker, 1000);
out:
    dp_emu_fixture_stop(&ef);
    dp_kafka_fixture_stop(&kf);
}

static int suite_init(void)
{
    char out[2048];
    char *argv[] = {"sh", DP_SOURCE_DIR "/tests/support/make_test_certs.sh", certs, NULL};

    dp_log_set_level(DP_LOG_ERROR);
    if (dp_test_tmpdir("tls", certs, sizeof(certs)) != 0)
        return -1;
    if (dp_proc_run(argv, out, sizeof(out), scaled(60000)) != 0) {
        fprintf(stderr, "make_test_certs.sh failed: %s\n", out);
        return -1;
    }
    return 0;
}

static int suite_cleanup(void)
{
    dp_test_rmtree(certs);
    return 0;
}

static const dp_test_case_t k_cases[] = {
    {"test_tls_client_connects_with_ca_file", test_tls_client_connects_with_ca_file},
    {"test_tls_wrong_ca_refused", test_tls_wrong_ca_refused},
    {"test_tls_wrong_host_name_refused", test_tls_wrong_host_name_refused},
    {"test_tls_expired_certificate_refused", test_tls_expired_certificate_refused},
    {"test_tls_unusable_ca_file_refused", test_tls_unusable_ca_file_refused},
    {"test_tls_check_reports_tls_failure", test_tls_check_reports_tls_failure},
    {"test_tls_worker_loads_over_https", test_tls_worker_loads_over_https},
    {NULL, NULL},
};

static const dp_test_suite_t k_suites[] = {
    {"tls", suite_init, suite_cleanup, k_cases},
    {NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
    return dp_test_main(argc, argv, k_suites);
}
