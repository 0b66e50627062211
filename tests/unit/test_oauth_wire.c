/*
 * Unit tests of the OAuth token request on the wire (src/dbx/oauth.c),
 * against a one-shot HTTP listener (tests/support/http_capture.h): the form body carries the
 * scope percent-encoded (a space, '&' or '=' in a scope cannot add or change
 * a form field), and the client credentials travel only in the Basic header.
 */
#define _GNU_SOURCE
#include "core/log.h"
#include "dbx/http.h"
#include "dbx/oauth.h"
#include "dp_test.h"
#include "http_capture.h"

#include <stdio.h>
#include <string.h>

static void test_oauth_scope_is_form_encoded(void)
{
    dp_oauth_config_t ocfg = {"sp-id", "sp-secret", NULL, "all-apis sql&extra=1 \xc3\xa9",
                              0,       NULL,        NULL};
    dp_dbx_config_t http;
    dp_http_capture_t cap;
    char token[256];
    const char *body;
    dp_oauth_t *oauth;
    dp_err_t err;
    int rc;

    DP_ASSERT_FATAL_MSG(
        dp_http_capture_start(&cap, "{\"access_token\":\"tok-1\",\"expires_in\":600}") == 0,
        "cannot listen on loopback");
    memset(&http, 0, sizeof(http));
    http.host = cap.url;
    http.allow_insecure_http = 1;
    http.retry.max_attempts = 1;
    oauth = dp_oauth_new(&ocfg, &http, &err);
    DP_ASSERT_MSG(oauth != NULL, "dp_oauth_new: %s", err.msg);
    rc = oauth ? dp_oauth_token(oauth, NULL, token, sizeof(token), &err) : -1;
    dp_http_capture_finish(&cap);
    dp_oauth_destroy(oauth);
    DP_ASSERT_MSG(rc == 0 && strcmp(token, "tok-1") == 0, "expected token tok-1, got %d: %s", rc,
                  err.msg);
    body = dp_http_capture_body(&cap);
    DP_ASSERT_FATAL_MSG(body != NULL, "no request captured: %s", cap.request);
    DP_ASSERT_MSG(strcmp(body, "grant_type=client_credentials&scope=all-apis%20sql%26extra%3D1%20"
                               "%C3%A9") == 0,
                  "expected the scope percent-encoded, got body '%s'", body);
    /* base64("sp-id:sp-secret") */
    DP_ASSERT_MSG(strstr(cap.request, "Authorization: Basic c3AtaWQ6c3Atc2VjcmV0\r\n") != NULL,
                  "expected the client credentials in the Basic header, got:\n%s", cap.request);
    DP_ASSERT_MSG(strstr(body, "sp-secret") == NULL, "the secret must not be in the form body");
}

static const dp_test_case_t k_cases[] = {
    {"test_oauth_scope_is_form_encoded", test_oauth_scope_is_form_encoded},
    {NULL, NULL},
};

static const dp_test_suite_t k_suites[] = {
    {"oauth_wire", NULL, NULL, k_cases},
    {NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
    dp_log_set_level(DP_LOG_ERROR);
    return dp_test_main(argc, argv, k_suites);
}
