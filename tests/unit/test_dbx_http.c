/*
 * Unit tests of the client handle and the credential without a server:
 * transport rules at creation (https only unless allow_insecure_http, with
 * one warning), the PAT credential, and the one-refresh rule on 401.
 */
#include "core/log.h"
#include "dbx/http.h"
#include "dbx/oauth.h"
#include "dp_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Captures log lines in memory. */
static char *logbuf;
static size_t loglen;
static FILE *logfp;

static void capture_log(void)
{
    logfp = open_memstream(&logbuf, &loglen);
    dp_log_set_stream(logfp);
    dp_log_set_level(DP_LOG_DEBUG);
}

static void release_log(void)
{
    dp_log_set_stream(stderr);
    dp_log_set_level(DP_LOG_WARN);
    fclose(logfp);
    free(logbuf);
    logbuf = NULL;
    loglen = 0;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;

    while (hay && (hay = strstr(hay, needle)) != NULL) {
        n++;
        hay++;
    }
    return n;
}

static void test_dbx_client_transport_rules(void)
{
    dp_dbx_config_t cfg = {0};
    dp_dbx_client_t *client;
    dp_err_t err;

    capture_log();
    cfg.host = "https://adb-1.2.azuredatabricks.net/";
    client = dp_dbx_client_new(&cfg, &err);
    DP_ASSERT_MSG(client != NULL, "https host accepted: %s", err.msg);
    dp_dbx_client_destroy(client);

    cfg.host = "http://127.0.0.1:1";
    DP_ASSERT_MSG(dp_dbx_client_new(&cfg, &err) == NULL && err.code == DP_EINVAL &&
                      strstr(err.msg, "allow_insecure_http") != NULL,
                  "plain http refused without the flag: %s", err.msg);
    cfg.host = "ftp://x";
    DP_ASSERT_MSG(dp_dbx_client_new(&cfg, &err) == NULL && err.code == DP_EINVAL &&
                      strstr(err.msg, "scheme ftp"),
                  "other schemes refused: %s", err.msg);
    /* libcurl's URL parser (curl_url) decides: credentials in the URL and a
     * query are refused, a path prefix (a registry behind a proxy) is not. */
    cfg.host = "https://user:pw@h";
    DP_ASSERT_MSG(dp_dbx_client_new(&cfg, &err) == NULL && strstr(err.msg, "a user or password"),
                  "credentials in the host refused: %s", err.msg);
    cfg.host = "https://h?x=1";
    DP_ASSERT_MSG(dp_dbx_client_new(&cfg, &err) == NULL && strstr(err.msg, "a query"),
                  "a query in the host refused: %s", err.msg);
    cfg.host = "https://registry.example.com/sr";
    client = dp_dbx_client_new(&cfg, &err);
    DP_ASSERT_MSG(client != NULL, "a path prefix accepted: %s", err.msg);
    dp_dbx_client_destroy(client);
    cfg.host = NULL;
    DP_ASSERT_MSG(dp_dbx_client_new(&cfg, &err) == NULL && err.code == DP_EINVAL,
                  "missing host refused");
    cfg.host = "https://h";
    cfg.ca_file = "/nonexistent/ca.pem";
    DP_ASSERT_MSG(dp_dbx_client_new(&cfg, &err) == NULL && strstr(err.msg, "CA file") != NULL,
                  "unreadable CA file refused: %s", err.msg);
    cfg.ca_file = NULL;

    fflush(logfp);
    DP_ASSERT_MSG(count(logbuf, "allow_insecure_http") == 0, "no warning for https");
    cfg.host = "http://127.0.0.1:1";
    cfg.allow_insecure_http = 1;
    client = dp_dbx_client_new(&cfg, &err);
    DP_ASSERT_MSG(client != NULL, "plain http with the flag: %s", err.msg);
    fflush(logfp);
    DP_ASSERT_MSG(count(logbuf, "allow_insecure_http") == 1 && count(logbuf, "\"warn\"") == 1,
                  "exactly one warning at creation: %s", logbuf);
    dp_dbx_client_destroy(client);
    release_log();
}

static void test_dbx_pat_credential_and_refusal(void)
{
    dp_oauth_config_t ocfg = {.pat = "dapi-secret-pat-123"};
    dp_dbx_config_t cfg = {0};
    char header[256];
    dp_oauth_t *oauth;
    dp_err_t err;

    capture_log();
    cfg.host = "https://h";
    oauth = dp_oauth_new(&ocfg, &cfg, &err);
    DP_ASSERT_FATAL_MSG(oauth != NULL, "PAT mode: %s", err.msg);
    DP_ASSERT_MSG(dp_oauth_credential(oauth, NULL, header, sizeof(header), &err) == 0 &&
                      strcmp(header, "Authorization: Bearer dapi-secret-pat-123") == 0,
                  "PAT header, got '%s'", header);
    DP_ASSERT_MSG(dp_oauth_credential(oauth, header, header, sizeof(header), &err) == DP_EDENIED &&
                      !err.retryable && strstr(err.msg, "DELTAPORT_DATABRICKS_TOKEN") != NULL,
                  "a refused PAT is a permanent DP_EDENIED: %s", err.msg);
    DP_ASSERT_MSG(strstr(err.msg, "dapi-secret") == NULL, "the PAT never appears in errors");
    DP_ASSERT_MSG(dp_oauth_credential(oauth, NULL, header, 10, &err) == DP_ETOOBIG,
                  "a small buffer is DP_ETOOBIG");
    DP_ASSERT_MSG(dp_oauth_fetches(oauth) == 0, "PAT mode never calls the token endpoint");
    dp_oauth_destroy(oauth);
    fflush(logfp);
    DP_ASSERT_MSG(count(logbuf, "dapi-secret") == 0, "the PAT never appears in the log");
    release_log();
}

static void test_dbx_oauth_needs_credentials(void)
{
    dp_oauth_config_t ocfg = {.client_id = "id"};
    dp_dbx_config_t cfg = {0};
    dp_err_t err;

    cfg.host = "https://h";
    DP_ASSERT_MSG(dp_oauth_new(&ocfg, &cfg, &err) == NULL && err.code == DP_EINVAL,
                  "a client id without a secret is refused");
    ocfg.client_secret = "s";
    cfg.host = "http://h";
    DP_ASSERT_MSG(dp_oauth_new(&ocfg, &cfg, &err) == NULL && err.code == DP_EINVAL,
                  "the token endpoint follows the transport rules too");
}

static const dp_test_case_t cases[] = {
    {"test_dbx_client_transport_rules", test_dbx_client_transport_rules},
    {"test_dbx_pat_credential_and_refusal", test_dbx_pat_credential_and_refusal},
    {"test_dbx_oauth_needs_credentials", test_dbx_oauth_needs_credentials},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    const dp_test_suite_t suites[] = {{"dbx_http", NULL, NULL, cases}, {NULL, NULL, NULL, NULL}};

    return dp_test_main(argc, argv, suites);
}
