/*
 * Integration tests of the Schema Registry client (src/codec/registry.c) against
 * the fake registry (tools/schema-registry) on loopback:
 *   - a registered schema is fetched once, then served from the cache, and
 *     added to a decoder;
 *   - an unknown id is DP_ENOTFOUND with "schema id N not found in the
 *     registry at URL", remembered not_found_ttl_ms, then asked again;
 *   - 503s and slow answers are DP_EAGAIN (retryable), the id is not asked
 *     again within retry_ms, and the schema arrives once the fault clears;
 *   - HTTP Basic: missing or wrong credentials are "unavailable", never
 *     "not found"; a 404 that is not the registry's 40403 (wrong URL) too;
 *   - the fake's own API: same schema again gives the same id, the BACKWARD
 *     check, Confluent error bodies.
 */
#include "codec/decode.h"
#include "codec/registry.h"
#include "dp_test.h"
#include "registry_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long scaled(long ms)
{
    return ms * dp_test_timeout_scale();
}

static dp_registry_t *client(const char *url, const char *user, const char *password, long retry_ms,
                             long ttl_ms)
{
    dp_registry_opts_t o;
    dp_err_t err = {DP_OK, 0, ""};
    dp_registry_t *reg;

    memset(&o, 0, sizeof(o));
    o.url = url;
    o.allow_insecure_http = 1;
    o.user = user;
    o.password = password;
    o.timeout_ms = scaled(500);
    o.retry_ms = retry_ms;
    o.not_found_ttl_ms = ttl_ms;
    reg = dp_registry_new(&o, &err);
    DP_ASSERT_MSG(reg != NULL, "client: %s", err.msg);
    return reg;
}

static void test_registry_client_found_cached_and_added_to_decoder(void)
{
    dp_registry_fixture_t rf;
    const char *const args[] = {"--first-id", "100", NULL};
    dp_registry_t *reg = NULL;
    dp_decoder_t *dec = NULL;
    dp_err_t err = {DP_OK, 0, ""};
    const char *text = NULL;
    size_t len = 0;
    long id, gets;
    int rc;

    DP_ASSERT_FATAL_MSG(dp_registry_fixture_start(&rf, args) == 0, "registry did not start");
    id =
        dp_registry_fixture_register_file(&rf, "events-value", DP_SOURCE_DIR "/schemas/ids/2.avsc");
    DP_ASSERT_MSG(id == 100, "expected the first id 100, got %ld", id);
    DP_ASSERT_MSG(dp_registry_fixture_register_file(&rf, "other-value",
                                                    DP_SOURCE_DIR "/schemas/ids/2.avsc") == 100,
                  "the same schema again must get the same id");
    reg = client(rf.url, NULL, NULL, 5000, 60000);
    dec = dp_decoder_open(DP_SOURCE_DIR "/schemas", &err);
    if (reg && dec) {
        rc = dp_registry_get(reg, 100, &text, &len, &err);
        DP_ASSERT_MSG(rc == 0 && text && strstr(text, "session_seq") && len == strlen(text),
                      "expected schema 100's text, got %d %s", rc, err.msg);
        gets = dp_registry_fixture_id_gets(&rf);
        for (int i = 0; i < 5; i++)
            dp_registry_get(reg, 100, &text, &len, &err);
        DP_ASSERT_MSG(dp_registry_fixture_id_gets(&rf) == gets,
                      "a found id must come from the cache");
        rc = dp_registry_load_into(reg, dec, 100, &err);
        DP_ASSERT_MSG(rc == 0 && dp_decoder_schema_status(dec, 100, NULL) == 1,
                      "schema 100 must be added to the decoder as compatible: %d %s", rc, err.msg);
    }
    dp_decoder_destroy(dec);
    dp_registry_destroy(reg);
    dp_registry_fixture_stop(&rf);
    DP_ASSERT_MSG(rf.exit_status == 0, "registry exit status %d", rf.exit_status);
}

static void test_registry_client_unknown_id_is_not_found_and_remembered(void)
{
    dp_registry_fixture_t rf;
    dp_registry_t *reg;
    dp_err_t err = {DP_OK, 0, ""};
    char expect[256];
    long gets;
    int rc;

    DP_ASSERT_FATAL_MSG(dp_registry_fixture_start(&rf, NULL) == 0, "registry did not start");
    reg = client(rf.url, NULL, NULL, 5000, scaled(400));
    if (reg) {
        snprintf(expect, sizeof(expect), "schema id 4242 not found in the registry at %s", rf.url);
        rc = dp_registry_get(reg, 4242, NULL, NULL, &err);
        DP_ASSERT_MSG(rc == DP_ENOTFOUND && !err.retryable && strcmp(err.msg, expect) == 0,
                      "expected DP_ENOTFOUND \"%s\", got %d \"%s\"", expect, rc, err.msg);
        gets = dp_registry_fixture_id_gets(&rf);
        DP_ASSERT_MSG(gets == 1, "a 404 is final: expected 1 request, got %ld", gets);
        for (int i = 0; i < 10; i++)
            rc = dp_registry_get(reg, 4242, NULL, NULL, &err);
        DP_ASSERT_MSG(rc == DP_ENOTFOUND && dp_registry_fixture_id_gets(&rf) == 1,
                      "within the TTL the answer must come from the cache");
        dp_test_sleep_ms(scaled(500));
        dp_registry_get(reg, 4242, NULL, NULL, &err);
        DP_ASSERT_MSG(dp_registry_fixture_id_gets(&rf) == 2, "after the TTL: asked again");
    }
    dp_registry_destroy(reg);
    dp_registry_fixture_stop(&rf);
}

static void test_registry_client_outage_is_retryable_and_not_refetched(void)
{
    dp_registry_fixture_t rf;
    dp_registry_t *reg;
    dp_err_t err = {DP_OK, 0, ""};
    long id, gets;
    long long t0;
    int rc;

    DP_ASSERT_FATAL_MSG(dp_registry_fixture_start(&rf, NULL) == 0, "registry did not start");
    id = dp_registry_fixture_register_file(&rf, "events-value",
                                           DP_SOURCE_DIR "/schemas/canonical_event.avsc");
    reg = client(rf.url, NULL, NULL, scaled(600), 60000);
    if (reg && id > 0) {
        dp_registry_fixture_fault(&rf, 503, -1, 0);
        rc = dp_registry_get(reg, (uint32_t)id, NULL, NULL, &err);
        DP_ASSERT_MSG(rc == DP_EAGAIN && err.retryable && strstr(err.msg, "503"),
                      "a 503 must be DP_EAGAIN naming the status, got %d %s", rc, err.msg);
        gets = dp_registry_fixture_id_gets(&rf);
        DP_ASSERT_MSG(gets == 2, "expected 2 attempts (one retry), got %ld", gets);
        for (int i = 0; i < 20; i++)
            rc = dp_registry_get(reg, (uint32_t)id, NULL, NULL, &err);
        DP_ASSERT_MSG(rc == DP_EAGAIN && dp_registry_fixture_id_gets(&rf) == 2,
                      "within retry_ms nothing must be sent, got %ld requests",
                      dp_registry_fixture_id_gets(&rf));
        dp_registry_fixture_fault(&rf, 0, 0, 0);
        dp_test_sleep_ms(scaled(700));
        rc = dp_registry_get(reg, (uint32_t)id, NULL, NULL, &err);
        DP_ASSERT_MSG(rc == 0, "after the outage the schema must come: %s", err.msg);

        /* a registry that hangs: bounded by the timeout, then unavailable */
        dp_registry_fixture_fault(&rf, 0, 0, scaled(3000));
        t0 = dp_test_now_ms();
        rc = dp_registry_get(reg, (uint32_t)id + 1, NULL, NULL, &err);
        DP_ASSERT_MSG(rc == DP_EAGAIN && dp_test_now_ms() - t0 < scaled(2500),
                      "a hanging registry must give DP_EAGAIN within ~2 x timeout, got %d "
                      "after %lld ms",
                      rc, dp_test_now_ms() - t0);
        dp_registry_fixture_fault(&rf, 0, 0, 0);
    }
    dp_registry_destroy(reg);
    dp_registry_fixture_stop(&rf);
}

static void test_registry_client_basic_auth_and_wrong_url(void)
{
    dp_registry_fixture_t rf;
    const char *const args[] = {"--user", "sr-user:sr-secret", NULL};
    dp_registry_t *none, *wrong, *good, *badurl;
    dp_err_t err = {DP_OK, 0, ""};
    char url[200];
    long id;
    int rc;

    DP_ASSERT_FATAL_MSG(dp_registry_fixture_start(&rf, args) == 0, "registry did not start");
    id = dp_registry_fixture_register_file(&rf, "s", DP_SOURCE_DIR "/schemas/ids/2.avsc");
    DP_ASSERT_MSG(id == 1, "expected id 1, got %ld", id);
    none = client(rf.url, NULL, NULL, 5000, 60000);
    wrong = client(rf.url, "sr-user", "nope", 5000, 60000);
    good = client(rf.url, "sr-user", "sr-secret", 5000, 60000);
    snprintf(url, sizeof(url), "%s/not-the-registry", rf.url);
    badurl = client(url, "sr-user", "sr-secret", 5000, 60000);
    if (none && wrong && good && badurl) {
        rc = dp_registry_get(none, 1, NULL, NULL, &err);
        DP_ASSERT_MSG(rc == DP_EAGAIN && strstr(err.msg, "401"),
                      "no credentials: expected DP_EAGAIN naming 401, got %d %s", rc, err.msg);
        rc = dp_registry_get(wrong, 1, NULL, NULL, &err);
        DP_ASSERT_MSG(rc == DP_EAGAIN && !strstr(err.msg, "sr-user") && !strstr(err.msg, "nope"),
                      "wrong password: DP_EAGAIN without the credentials, got %d %s", rc, err.msg);
        rc = dp_registry_get(good, 1, NULL, NULL, &err);
        DP_ASSERT_MSG(rc == 0, "right credentials: expected the schema, got %s", err.msg);
        rc = dp_registry_get(badurl, 1, NULL, NULL, &err);
        DP_ASSERT_MSG(rc == DP_EAGAIN && strstr(err.msg, "registry_url"),
                      "a 404 without 40403 must be unavailable, got %d %s", rc, err.msg);
    }
    dp_registry_destroy(none);
    dp_registry_destroy(wrong);
    dp_registry_destroy(good);
    dp_registry_destroy(badurl);
    dp_registry_fixture_stop(&rf);
}

static void test_registry_fake_api_compatibility_and_errors(void)
{
    dp_registry_fixture_t rf;
    char *out = NULL, *body;
    json_t *req;
    long status = 0;
    const char *incompatible =
        "{\"type\":\"record\",\"name\":\"E\",\"fields\":[{\"name\":\"event_id\",\"type\":\"string\"},"
        "{\"name\":\"loyalty_tier\",\"type\":\"string\"}]}";

    DP_ASSERT_FATAL_MSG(dp_registry_fixture_start(&rf, NULL) == 0, "registry did not start");
    dp_registry_fixture_register_file(&rf, "ev", DP_SOURCE_DIR "/schemas/ids/2.avsc");
    /* canonical (reader) reads ids/2 (writer): BACKWARD compatible */
    dp_registry_fixture_http(&rf, "GET", "/subjects/ev/versions/latest", NULL, &status, &out);
    DP_ASSERT_MSG(status == 200 && strstr(out, "\"version\":1") && strstr(out, "\"id\":1"),
                  "latest: HTTP %ld %s", status, out);
    free(out);
    req = json_pack("{s:s}", "schema", incompatible);
    body = json_dumps(req, 0);
    dp_registry_fixture_http(&rf, "POST", "/compatibility/subjects/ev/versions/latest", body,
                             &status, &out);
    DP_ASSERT_MSG(status == 200 && strstr(out, "\"is_compatible\":false") &&
                      strstr(out, "$.loyalty_tier"),
                  "a reader adding loyalty_tier without default is not BACKWARD: %s", out);
    free(out);
    dp_registry_fixture_http(&rf, "POST", "/compatibility/subjects/nope/versions/latest", body,
                             &status, &out);
    DP_ASSERT_MSG(status == 404 && strstr(out, "40401"), "unknown subject: %ld %s", status, out);
    free(out);
    dp_registry_fixture_http(&rf, "GET", "/subjects", NULL, &status, &out);
    DP_ASSERT_MSG(status == 200 && strcmp(out, "[\"ev\"]") == 0, "subjects: %s", out);
    free(out);
    free(body);
    json_decref(req);
    dp_registry_fixture_stop(&rf);
}

static const dp_test_case_t cases[] = {
    {"test_registry_client_found_cached_and_added_to_decoder",
     test_registry_client_found_cached_and_added_to_decoder},
    {"test_registry_client_unknown_id_is_not_found_and_remembered",
     test_registry_client_unknown_id_is_not_found_and_remembered},
    {"test_registry_client_outage_is_retryable_and_not_refetched",
     test_registry_client_outage_is_retryable_and_not_refetched},
    {"test_registry_client_basic_auth_and_wrong_url",
     test_registry_client_basic_auth_and_wrong_url},
    {"test_registry_fake_api_compatibility_and_errors",
     test_registry_fake_api_compatibility_and_errors},
    {NULL, NULL}};

static const dp_test_suite_t suites[] = {{"registry_client", NULL, NULL, cases},
                                         {NULL, NULL, NULL, NULL}};

int main(int argc, char **argv)
{
    return dp_test_main(argc, argv, suites);
}
