/*
 * Integration tests of the emulator's OAuth M2M side: discovery documents,
 * client-credentials tokens, bad credentials, PATs, admin expiry and TTL
 * expiry. One emulator serves the suite; the TTL test starts its own.
 */
#include <stdlib.h>
#include <string.h>

#include "dp_test.h"
#include "emu_fixture.h"

static dp_emu_fixture_t ef;
static int started;

static int suite_init(void)
{
    started = dp_emu_fixture_start(&ef, NULL) == 0;
    return 0;
}

static int suite_cleanup(void)
{
    dp_emu_fixture_stop(&ef);
    return 0;
}

/* GET path with bearer; returns the HTTP status and the parsed body (new or NULL). */
static long get_json(dp_emu_fixture_t *f, const char *path, const char *bearer, json_t **out)
{
    long status = 0;
    char *body = NULL;

    dp_emu_http(f, "GET", path, bearer, NULL, 0, NULL, &status, &body, NULL);
    *out = body ? json_loads(body, 0, NULL) : NULL;
    free(body);
    return status;
}

/* An authenticated probe: an unknown statement id answers 404 once auth passed. */
static long probe(dp_emu_fixture_t *f, const char *bearer, json_t **out)
{
    return get_json(f, "/api/2.0/sql/statements/00000000-0000-0000-0000-000000000000", bearer, out);
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s ? s : "(missing)";
}

static void test_emulator_oauth_discovery_points_at_token_endpoint(void)
{
    static const char *const paths[] = {"/oidc/.well-known/oauth-authorization-server",
                                        "/oidc/.well-known/openid-configuration"};
    char want[256];
    json_t *doc = NULL;
    long status;
    size_t i;

    if (!started) {
        dp_test_skip("emulator did not start");
        return;
    }
    snprintf(want, sizeof(want), "%s/oidc/v1/token", ef.url);
    for (i = 0; i < 2; i++) {
        status = get_json(&ef, paths[i], NULL, &doc);
        DP_ASSERT_MSG(status == 200, "expected 200 from %s, got %ld", paths[i], status);
        DP_ASSERT_MSG(strcmp(str(doc, "token_endpoint"), want) == 0,
                      "expected token_endpoint %s, got %s", want, str(doc, "token_endpoint"));
        DP_ASSERT_MSG(strncmp(str(doc, "issuer"), ef.url, strlen(ef.url)) == 0,
                      "expected issuer under %s, got %s", ef.url, str(doc, "issuer"));
        DP_ASSERT_MSG(json_is_string(json_object_get(doc, "authorization_endpoint")),
                      "expected an authorization_endpoint");
        json_decref(doc);
    }
}

static void test_emulator_oauth_token_has_databricks_fields_and_works(void)
{
    static const char form[] = "grant_type=client_credentials&scope=all-apis";
    /* base64("deltaport-test-sp:deltaport-test-secret") */
    static const char *const basic[] = {
        "Authorization: Basic ZGVsdGFwb3J0LXRlc3Qtc3A6ZGVsdGFwb3J0LXRlc3Qtc2VjcmV0",
        "Content-Type: application/x-www-form-urlencoded", NULL};
    char *body = NULL;
    long status = 0;
    json_t *tok, *err = NULL;

    if (!started) {
        dp_test_skip("emulator did not start");
        return;
    }
    dp_emu_http_ex(&ef, "POST", "/oidc/v1/token", NULL, form, strlen(form), basic, &status, &body,
                   NULL, NULL);
    tok = body ? json_loads(body, 0, NULL) : NULL;
    free(body);
    DP_ASSERT_FATAL_MSG(status == 200 && tok != NULL, "expected 200 with JSON, got %ld", status);
    DP_ASSERT_MSG(strcmp(str(tok, "token_type"), "Bearer") == 0, "expected Bearer, got %s",
                  str(tok, "token_type"));
    DP_ASSERT_MSG(json_integer_value(json_object_get(tok, "expires_in")) == 3600,
                  "expected expires_in 3600, got %lld",
                  (long long)json_integer_value(json_object_get(tok, "expires_in")));
    DP_ASSERT_MSG(strcmp(str(tok, "scope"), "all-apis") == 0, "expected scope all-apis, got %s",
                  str(tok, "scope"));
    DP_ASSERT_MSG(strlen(str(tok, "access_token")) >= 32, "expected a long random token");
    status = probe(&ef, str(tok, "access_token"), &err);
    DP_ASSERT_MSG(status == 404, "expected the token to pass auth (404 for an unknown id), got %ld",
                  status);
    DP_ASSERT_MSG(strcmp(str(err, "error_code"), "NOT_FOUND") == 0, "expected NOT_FOUND, got %s",
                  str(err, "error_code"));
    json_decref(err);
    json_decref(tok);
}

static void test_emulator_oauth_bad_secret_is_invalid_client(void)
{
    char token[128];
    static const char form[] = "grant_type=client_credentials&scope=all-apis";
    /* base64("deltaport-test-sp:wrong") */
    static const char *const basic[] = {"Authorization: Basic ZGVsdGFwb3J0LXRlc3Qtc3A6d3Jvbmc=",
                                        NULL};
    char *body = NULL;
    long status = 0;
    json_t *err;

    if (!started) {
        dp_test_skip("emulator did not start");
        return;
    }
    DP_ASSERT_MSG(dp_emu_token(&ef, DP_EMU_CLIENT_ID, "wrong", token, sizeof(token)) < 0,
                  "expected no token for a wrong secret");
    DP_ASSERT_MSG(dp_emu_token(&ef, "nobody", DP_EMU_CLIENT_SECRET, token, sizeof(token)) < 0,
                  "expected no token for an unknown client");
    dp_emu_http_ex(&ef, "POST", "/oidc/v1/token", NULL, form, strlen(form), basic, &status, &body,
                   NULL, NULL);
    err = body ? json_loads(body, 0, NULL) : NULL;
    free(body);
    DP_ASSERT_MSG(status == 401, "expected 401, got %ld", status);
    DP_ASSERT_MSG(strcmp(str(err, "error"), "invalid_client") == 0,
                  "expected error invalid_client, got %s", str(err, "error"));
    DP_ASSERT_MSG(json_is_string(json_object_get(err, "error_description")),
                  "expected an error_description");
    json_decref(err);
}

static void test_emulator_oauth_missing_or_unknown_bearer_is_401(void)
{
    json_t *err = NULL;
    long status;

    if (!started) {
        dp_test_skip("emulator did not start");
        return;
    }
    status = probe(&ef, NULL, &err);
    DP_ASSERT_MSG(status == 401, "expected 401 without a token, got %ld", status);
    DP_ASSERT_MSG(strcmp(str(err, "error_code"), "UNAUTHENTICATED") == 0,
                  "expected UNAUTHENTICATED, got %s", str(err, "error_code"));
    json_decref(err);
    status = probe(&ef, "not-a-token", &err);
    DP_ASSERT_MSG(status == 401, "expected 401 for an unknown token, got %ld", status);
    json_decref(err);
    status = probe(&ef, DP_EMU_PAT, &err);
    DP_ASSERT_MSG(status == 404, "expected the PAT to pass auth (404), got %ld", status);
    json_decref(err);
}

static void test_emulator_oauth_admin_expiry_refuses_old_tokens(void)
{
    char token[128], fresh[128];
    json_t *err = NULL;
    long status;

    if (!started) {
        dp_test_skip("emulator did not start");
        return;
    }
    DP_ASSERT_FATAL_MSG(
        dp_emu_token(&ef, DP_EMU_CLIENT_ID, DP_EMU_CLIENT_SECRET, token, sizeof(token)) == 0,
        "expected a token");
    DP_ASSERT_FATAL_MSG(dp_emu_http(&ef, "POST", "/_emulator/tokens/expire", NULL, "", 0, NULL,
                                    &status, NULL, NULL) == 0 &&
                            status == 200,
                        "expected the admin call to answer 200, got %ld", status);
    status = probe(&ef, token, &err);
    DP_ASSERT_MSG(status == 401, "expected 401 for an expired token, got %ld", status);
    DP_ASSERT_MSG(strstr(str(err, "message"), "expired") != NULL,
                  "expected the message to say expired, got %s", str(err, "message"));
    json_decref(err);
    status = probe(&ef, DP_EMU_PAT, &err);
    DP_ASSERT_MSG(status == 404, "expected PATs to survive token expiry, got %ld", status);
    json_decref(err);
    DP_ASSERT_FATAL_MSG(
        dp_emu_token(&ef, DP_EMU_CLIENT_ID, DP_EMU_CLIENT_SECRET, fresh, sizeof(fresh)) == 0,
        "expected a new token after expiry");
    status = probe(&ef, fresh, &err);
    DP_ASSERT_MSG(status == 404, "expected the new token to work, got %ld", status);
    json_decref(err);
}

static void test_emulator_oauth_token_ttl_expires(void)
{
    static const char *const args[] = {"--token-ttl", "1", NULL};
    dp_emu_fixture_t short_ttl;
    char token[128];
    json_t *err = NULL;
    long status = 0;
    long long t0, deadline;

    if (dp_emu_fixture_start(&short_ttl, args) < 0) {
        DP_ASSERT_MSG(0, "expected a second emulator to start");
        return;
    }
    DP_ASSERT_FATAL_MSG(
        dp_emu_token(&short_ttl, DP_EMU_CLIENT_ID, DP_EMU_CLIENT_SECRET, token, sizeof(token)) == 0,
        "expected a token");
    t0 = dp_test_now_ms();
    deadline = t0 + 10000LL * dp_test_timeout_scale();
    while (dp_test_now_ms() < deadline) {
        status = probe(&short_ttl, token, &err);
        json_decref(err);
        err = NULL;
        if (status == 401) {
            break;
        }
        dp_test_sleep_ms(100);
    }
    DP_ASSERT_MSG(status == 401, "expected the 1 s token to expire within 10 s, last %ld", status);
    DP_ASSERT_MSG(dp_test_now_ms() - t0 >= 900,
                  "expected the token to live about 1 s, died at "
                  "%lld ms",
                  dp_test_now_ms() - t0);
    dp_emu_fixture_stop(&short_ttl);
    DP_ASSERT_MSG(short_ttl.exit_status == 0, "expected a clean exit, got %d",
                  short_ttl.exit_status);
}

static void test_emulator_oauth_stops_cleanly(void)
{
    if (!started) {
        dp_test_skip("emulator did not start");
        return;
    }
    dp_emu_fixture_stop(&ef);
    DP_ASSERT_MSG(ef.exit_status == 0, "expected exit status 0 after SIGTERM, got %d",
                  ef.exit_status);
}

static const dp_test_case_t cases[] = {
    {"test_emulator_oauth_discovery_points_at_token_endpoint",
     test_emulator_oauth_discovery_points_at_token_endpoint},
    {"test_emulator_oauth_token_has_databricks_fields_and_works",
     test_emulator_oauth_token_has_databricks_fields_and_works},
    {"test_emulator_oauth_bad_secret_is_invalid_client",
     test_emulator_oauth_bad_secret_is_invalid_client},
    {"test_emulator_oauth_missing_or_unknown_bearer_is_401",
     test_emulator_oauth_missing_or_unknown_bearer_is_401},
    {"test_emulator_oauth_admin_expiry_refuses_old_tokens",
     test_emulator_oauth_admin_expiry_refuses_old_tokens},
    {"test_emulator_oauth_token_ttl_expires", test_emulator_oauth_token_ttl_expires},
    {"test_emulator_oauth_stops_cleanly", test_emulator_oauth_stops_cleanly},
    {NULL, NULL}};

static const dp_test_suite_t suites[] = {{"emulator_oauth", suite_init, suite_cleanup, cases},
                                         {NULL, NULL, NULL, NULL}};

int main(int argc, char **argv)
{
    return dp_test_main(argc, argv, suites);
}
