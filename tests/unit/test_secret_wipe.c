/*
 * Unit tests that secrets are wiped before their memory is freed (issue 15
 * item 4): the configuration's secret strings (from the environment and from
 * *_file), the OAuth client secret, the tokens it fetched and the header
 * lines that carried them, a PAT, and the registry's Basic credential.
 *
 * How: this binary is linked with -Wl,--wrap=free, so every free() called
 * from deltaport's code (and from jansson through the allocator deltaport
 * installs, dp_mem_wipe_json_frees) goes through __wrap_free below, which
 * looks at the whole block (malloc_usable_size) for the marker values (and
 * the Base64 of the Basic credentials) before freeing it. Memory freed by
 * other libraries' own calls (libcurl's buffers, librdkafka's copy of the
 * SASL password) is outside what this can see (docs/SECURITY.md).
 */
#define _GNU_SOURCE
#include "codec/registry.h"
#include "config/config.h"
#include "core/log.h"
#include "core/mem.h"
#include "dbx/http.h"
#include "dbx/oauth.h"
#include "dp_test.h"
#include "http_capture.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <valgrind/memcheck.h>

#define M_CLIENT  "WipeMarkerClientSecret1"
#define M_SASL    "WipeMarkerSaslPassword2"
#define M_KEYPASS "WipeMarkerKeyPassword3"
#define M_REG     "WipeMarkerRegistryPw4"
#define M_PAT     "WipeMarkerPatToken5"
#define M_TOKEN   "WipeMarkerOAuthToken6"
#define M_OAUTHB  "WipeMarkerOauthBearer7"
/* Base64 of "sp-wipe:" M_CLIENT and of "reg-user:" M_REG (the Basic lines) */
#define B64_CLIENT "c3Atd2lwZTpXaXBlTWFya2VyQ2xpZW50U2VjcmV0MQ=="
#define B64_REG    "cmVnLXVzZXI6V2lwZU1hcmtlclJlZ2lzdHJ5UHc0"

static const char *const markers[] = {M_CLIENT, M_SASL,   M_KEYPASS,  M_REG,   M_PAT,
                                      M_TOKEN,  M_OAUTHB, B64_CLIENT, B64_REG, NULL};

void __real_free(void *p);
void __wrap_free(void *p);

static int scanning;          /* 1 while a case runs */
static int hits;              /* freed blocks that still held a marker */
static char first_hit[128];   /* which marker, for the message */
static unsigned long scanned; /* blocks looked at */

void __wrap_free(void *p)
{
    if (p && scanning) {
        size_t n = malloc_usable_size(p);

        /* the block's tail may never have been written: under valgrind that
         * is "uninitialised", which memmem must not trip on (a no-op
         * elsewhere) */
        VALGRIND_MAKE_MEM_DEFINED(p, n);
        scanned++;
        for (int i = 0; markers[i]; i++) {
            if (memmem(p, n, markers[i], strlen(markers[i]))) {
                if (hits++ == 0)
                    snprintf(first_hit, sizeof(first_hit), "%s", markers[i]);
            }
        }
    }
    __real_free(p);
}

static char tmpdir[512];

static void begin(void)
{
    hits = 0;
    scanned = 0;
    first_hit[0] = '\0';
    scanning = 1;
}

static void end(const char *what)
{
    scanning = 0;
    DP_ASSERT_MSG(hits == 0, "%s: %d freed block(s) still held a secret (first: %s)", what, hits,
                  first_hit);
    DP_ASSERT_MSG(scanned > 0, "%s: no free() was seen: the --wrap=free hook is not in place",
                  what);
}

static void test_wipe_config_secrets(void)
{
    char cfgpath[600], secretpath[600], *dump = NULL;
    size_t dumplen = 0;
    FILE *f, *mem;
    dp_config_t *cfg;
    dp_err_t err;

    snprintf(secretpath, sizeof(secretpath), "%s/registry-password", tmpdir);
    snprintf(cfgpath, sizeof(cfgpath), "%s/c.json", tmpdir);
    f = fopen(secretpath, "w");
    DP_ASSERT_FATAL_MSG(f != NULL, "cannot write %s", secretpath);
    fputs(M_REG "\n", f);
    fclose(f);
    f = fopen(cfgpath, "w");
    DP_ASSERT_FATAL_MSG(f != NULL, "cannot write %s", cfgpath);
    fprintf(f,
            "{\"kafka\": {\"bootstrap_servers\": \"127.0.0.1:9092\", \"topics\": [\"e\"],"
            " \"properties\": {\"sasl.oauthbearer.config\": \"x=" M_OAUTHB "\"}},"
            " \"schemas\": {\"registry_url\": \"http://127.0.0.1:1\","
            " \"registry_allow_insecure_http\": true, \"registry_user\": \"reg-user\","
            " \"registry_password_file\": \"%s\"},"
            " \"databricks\": {\"host\": \"https://dbc.example.com\", \"warehouse_id\": \"w\","
            " \"catalog\": \"main\", \"schema\": \"s\", \"client_id\": \"sp-wipe\"}}",
            secretpath);
    fclose(f);
    setenv("DELTAPORT_DATABRICKS_CLIENT_SECRET", M_CLIENT, 1);
    setenv("DELTAPORT_DATABRICKS_TOKEN", M_PAT, 1);
    setenv("DELTAPORT_KAFKA_SASL_PASSWORD", M_SASL, 1);
    setenv("DELTAPORT_KAFKA_SSL_KEY_PASSWORD", M_KEYPASS, 1);
    begin();
    cfg = dp_config_load(cfgpath, &err);
    if (DP_ASSERT_MSG(cfg != NULL, "config: %s", err.msg)) {
        DP_ASSERT_MSG(cfg->schemas.registry_password &&
                          strcmp(cfg->schemas.registry_password, M_REG) == 0 &&
                          cfg->databricks.client_secret &&
                          strcmp(cfg->databricks.client_secret, M_CLIENT) == 0,
                      "expected the secrets loaded from the file and the environment");
        mem = open_memstream(&dump, &dumplen);
        dp_config_dump(cfg, mem);
        fclose(mem);
        DP_ASSERT_MSG(dump && !strstr(dump, M_CLIENT) && !strstr(dump, M_REG) &&
                          !strstr(dump, M_SASL) && strstr(dump, M_OAUTHB),
                      "expected the dump to mask the secrets and show kafka.properties");
        /* kafka.properties are shown as written (secret properties are refused
         * there), so the dump holds that marker by design: the test wipes it */
        dp_free_secret(dump);
        /* the registry client builds its Basic line from the configuration */
        dp_registry_destroy(dp_registry_from_config(cfg, &err));
        dp_config_destroy(cfg);
    }
    end("configuration and registry client");
}

static void test_wipe_oauth_m2m_token_and_headers(void)
{
    dp_oauth_config_t ocfg = {"sp-wipe", M_CLIENT, NULL, NULL, 0, NULL, NULL};
    dp_dbx_config_t http;
    dp_http_capture_t cap;
    dp_oauth_t *oauth;
    char header[1024];
    dp_err_t err;
    int rc = -1;

    DP_ASSERT_FATAL_MSG(dp_http_capture_start(&cap, "{\"access_token\":\"" M_TOKEN
                                                    "\",\"token_type\":\"Bearer\","
                                                    "\"expires_in\":3600}") == 0,
                        "cannot listen on loopback");
    memset(&http, 0, sizeof(http));
    http.host = cap.url;
    http.allow_insecure_http = 1;
    http.retry.max_attempts = 1;
    begin();
    oauth = dp_oauth_new(&ocfg, &http, &err);
    if (DP_ASSERT_MSG(oauth != NULL, "dp_oauth_new: %s", err.msg))
        rc = dp_oauth_credential(oauth, NULL, header, sizeof(header), &err);
    dp_http_capture_finish(&cap);
    DP_ASSERT_MSG(rc == 0 && strcmp(header, "Authorization: Bearer " M_TOKEN) == 0,
                  "expected the fetched token as bearer, got %d: %s", rc, err.msg);
    DP_ASSERT_MSG(strstr(cap.request, "Authorization: Basic " B64_CLIENT) != NULL,
                  "expected the client secret used in the Basic header");
    dp_wipe(header, sizeof(header));
    dp_oauth_destroy(oauth);
    end("OAuth M2M secret, token and header lines");
}

static void test_wipe_pat(void)
{
    dp_oauth_config_t ocfg = {NULL, NULL, M_PAT, NULL, 0, NULL, NULL};
    dp_dbx_config_t http;
    dp_oauth_t *oauth;
    char header[256];
    dp_err_t err;

    memset(&http, 0, sizeof(http));
    http.host = "https://dbc.example.com";
    begin();
    oauth = dp_oauth_new(&ocfg, &http, &err);
    if (DP_ASSERT_MSG(oauth != NULL, "dp_oauth_new: %s", err.msg)) {
        DP_ASSERT_MSG(dp_oauth_credential(oauth, NULL, header, sizeof(header), &err) == 0 &&
                          strstr(header, M_PAT) != NULL,
                      "expected the PAT as bearer");
        dp_wipe(header, sizeof(header));
        dp_oauth_destroy(oauth);
    }
    end("personal access token");
}

static void test_wipe_helpers(void)
{
    char *s = dp_strdup("WipeMarkerHelperValue");
    char buf[32];

    snprintf(buf, sizeof(buf), "%s", "not a secret any more");
    dp_wipe(buf, sizeof(buf));
    for (size_t i = 0; i < sizeof(buf); i++) {
        if (!DP_ASSERT_MSG(buf[i] == 0, "byte %zu not wiped", i))
            break;
    }
    begin();
    dp_free_secret(s);
    dp_free_secret(NULL);
    scanning = 0;
    DP_ASSERT_MSG(scanned == 1, "expected one block freed, saw %lu", scanned);
}

static int suite_init(void)
{
    dp_log_set_level(DP_LOG_ERROR);
    unsetenv("DELTAPORT_KAFKA_BOOTSTRAP_SERVERS");
    unsetenv("DELTAPORT_DATABRICKS_HOST");
    return dp_test_tmpdir("wipe", tmpdir, sizeof(tmpdir));
}

static int suite_cleanup(void)
{
    dp_test_rmtree(tmpdir);
    return 0;
}

static const dp_test_case_t k_cases[] = {
    {"test_wipe_helpers", test_wipe_helpers},
    {"test_wipe_config_secrets", test_wipe_config_secrets},
    {"test_wipe_oauth_m2m_token_and_headers", test_wipe_oauth_m2m_token_and_headers},
    {"test_wipe_pat", test_wipe_pat},
    {NULL, NULL},
};

static const dp_test_suite_t k_suites[] = {
    {"secret_wipe", suite_init, suite_cleanup, k_cases},
    {NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
    return dp_test_main(argc, argv, k_suites);
}
