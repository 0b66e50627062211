/*
 * Unit tests of the emulator's fault table (tools/dbx-emulator/faults.c):
 * endpoint patterns, counts, seeded rates, kind restrictions, rule parsing.
 */
#include <stdlib.h>
#include <string.h>

#include "dp_test.h"
#include "faults.h"

static void test_emu_faults_endpoint_patterns(void)
{
    DP_ASSERT_MSG(emu_faults_endpoint_matches("*", "files.upload"), "expected * to match");
    DP_ASSERT_MSG(emu_faults_endpoint_matches("files.*", "files.list"),
                  "expected files.* to match files.list");
    DP_ASSERT_MSG(!emu_faults_endpoint_matches("files.*", "statements.get"),
                  "expected files.* not to match statements.get");
    DP_ASSERT_MSG(emu_faults_endpoint_matches("statements.get", "statements.get"),
                  "expected an exact match");
    DP_ASSERT_MSG(!emu_faults_endpoint_matches("statements.get", "statements.submit"),
                  "expected no match between different endpoints");
}

static void test_emu_faults_count_is_consumed_then_stops(void)
{
    emu_faults_t *f = emu_faults_new(1);
    emu_fault_hit_t hit;
    int fired = 0, i;

    DP_ASSERT_FATAL_MSG(emu_faults_add_json(f,
                                            "{\"endpoint\":\"files.*\",\"kind\":\"429\","
                                            "\"count\":2,\"retry_after\":3}",
                                            NULL, 0) == 0,
                        "expected the rule to parse");
    DP_ASSERT_MSG(emu_faults_match(f, "statements.get", &hit) == 0,
                  "expected no fault on another endpoint, got kind %d", hit.kind);
    for (i = 0; i < 5; i++) {
        if (emu_faults_match(f, "files.upload", &hit)) {
            fired++;
            DP_ASSERT_MSG(hit.kind == EMU_FAULT_429 && hit.retry_after == 3,
                          "expected 429 with retry_after 3, got kind %d retry_after %d", hit.kind,
                          hit.retry_after);
        }
    }
    DP_ASSERT_MSG(fired == 2, "expected 2 firings, got %d", fired);
    emu_faults_destroy(f);
}

static void test_emu_faults_rate_zero_never_fires_and_rate_is_seeded(void)
{
    emu_faults_t *a = emu_faults_new(42), *b = emu_faults_new(42), *z = emu_faults_new(7);
    emu_fault_hit_t hit;
    int i, fa = 0, same = 1, fz = 0;

    emu_faults_add_json(a, "{\"kind\":\"503\",\"rate\":0.5}", NULL, 0);
    emu_faults_add_json(b, "{\"kind\":\"503\",\"rate\":0.5}", NULL, 0);
    emu_faults_add_json(z, "{\"kind\":\"503\",\"rate\":0}", NULL, 0);
    for (i = 0; i < 1000; i++) {
        int x = emu_faults_match(a, "files.list", &hit);
        int y = emu_faults_match(b, "files.list", &hit);

        fa += x;
        same = same && x == y;
        fz += emu_faults_match(z, "files.list", &hit);
    }
    DP_ASSERT_MSG(fz == 0, "expected rate 0 never to fire, fired %d times", fz);
    DP_ASSERT_MSG(same, "expected two tables with one seed to fire identically");
    DP_ASSERT_MSG(fa > 400 && fa < 600, "expected about 500 of 1000 at rate 0.5, got %d", fa);
    emu_faults_destroy(a);
    emu_faults_destroy(b);
    emu_faults_destroy(z);
}

static void test_emu_faults_statement_kinds_only_on_submit(void)
{
    emu_faults_t *f = emu_faults_new(1);
    emu_fault_hit_t hit;

    emu_faults_add_json(f, "{\"endpoint\":\"*\",\"kind\":\"pending\",\"seconds\":2}", NULL, 0);
    emu_faults_add_json(f, "{\"kind\":\"expire_token\",\"count\":1}", NULL, 0);
    DP_ASSERT_MSG(emu_faults_match(f, "oauth.token", &hit) == 0,
                  "expected neither pending nor expire_token on oauth.token, got kind %d",
                  hit.kind);
    DP_ASSERT_MSG(emu_faults_match(f, "statements.submit", &hit) == 1 &&
                      hit.kind == EMU_FAULT_PENDING && hit.seconds == 2.0,
                  "expected pending 2 s on submit, got kind %d seconds %g", hit.kind, hit.seconds);
    DP_ASSERT_MSG(emu_faults_match(f, "files.upload", &hit) == 1 &&
                      hit.kind == EMU_FAULT_EXPIRE_TOKEN,
                  "expected expire_token on files.upload, got kind %d", hit.kind);
    DP_ASSERT_MSG(emu_faults_match(f, "files.upload", &hit) == 0,
                  "expected expire_token's count of 1 to be spent, got kind %d", hit.kind);
    emu_faults_destroy(f);
}

/* A rule naming a statement kind fires only for that kind, once its text is
 * known, and never at the request stage. */
static void test_emu_faults_statement_filter(void)
{
    emu_faults_t *f = emu_faults_new(1);
    emu_fault_hit_t hit;
    char err[256] = "";

    DP_ASSERT_FATAL_MSG(emu_faults_add_json(f,
                                            "{\"endpoint\":\"statements.submit\",\"kind\":"
                                            "\"failed\",\"statement\":\"COPY INTO\",\"count\":1}",
                                            err, sizeof(err)) == 0,
                        "expected the rule accepted: %s", err);
    DP_ASSERT_MSG(emu_faults_match(f, "statements.submit", &hit) == 0,
                  "a statement rule fired before the text was known");
    DP_ASSERT_MSG(emu_faults_match_statement(f, "CREATE TABLE", &hit) == 0,
                  "a COPY INTO rule fired on CREATE TABLE");
    DP_ASSERT_MSG(emu_faults_match_statement(f, "COPY INTO", &hit) == 1 &&
                      hit.kind == EMU_FAULT_FAILED,
                  "expected the COPY INTO rule to fire, got kind %d", hit.kind);
    DP_ASSERT_MSG(emu_faults_match_statement(f, "COPY INTO", &hit) == 0,
                  "expected the count of 1 spent");
    DP_ASSERT_MSG(emu_faults_add_json(f,
                                      "{\"endpoint\":\"files.upload\",\"kind\":\"500\","
                                      "\"statement\":\"COPY INTO\"}",
                                      err, sizeof(err)) < 0 &&
                      strstr(err, "statement"),
                  "expected a statement filter refused on files.upload, got '%s'", err);
    DP_ASSERT_MSG(emu_faults_add_json(f,
                                      "{\"endpoint\":\"statements.submit\",\"kind\":\"503\","
                                      "\"statement\":\"MERGE\"}",
                                      err, sizeof(err)) < 0,
                  "expected a statement filter refused with kind 503");
    emu_faults_destroy(f);
}

static void test_emu_faults_rejects_bad_rules(void)
{
    emu_faults_t *f = emu_faults_new(1);
    char err[256] = "";

    DP_ASSERT_MSG(emu_faults_add_json(f, "{\"kind\":\"418\"}", err, sizeof(err)) < 0,
                  "expected kind 418 to be refused");
    DP_ASSERT_MSG(strstr(err, "kind") != NULL, "expected the reason to name kind, got '%s'", err);
    DP_ASSERT_MSG(emu_faults_add_json(f, "{\"endpoint\":\"files.nope\",\"kind\":\"500\"}", err,
                                      sizeof(err)) < 0,
                  "expected an unknown endpoint to be refused");
    DP_ASSERT_MSG(emu_faults_add_json(f, "{\"kind\":\"500\",\"rate\":2}", err, sizeof(err)) < 0,
                  "expected rate 2 to be refused");
    DP_ASSERT_MSG(emu_faults_add_json(f, "not json", err, sizeof(err)) < 0,
                  "expected invalid JSON to be refused");
    emu_faults_destroy(f);
}

static void test_emu_faults_list_shows_remaining_and_clear_empties(void)
{
    emu_faults_t *f = emu_faults_new(1);
    emu_fault_hit_t hit;
    json_t *list, *rule;

    emu_faults_add_json(f,
                        "{\"endpoint\":\"statements.submit\",\"kind\":\"failed\",\"count\":3,"
                        "\"error_class\":\"DELTA_FAILED_TO_MERGE_FIELDS\"}",
                        NULL, 0);
    emu_faults_match(f, "statements.submit", &hit);
    DP_ASSERT_MSG(strcmp(hit.error_class, "DELTA_FAILED_TO_MERGE_FIELDS") == 0 &&
                      strcmp(hit.error_code, "BAD_REQUEST") == 0,
                  "expected the error class and default code, got %s / %s", hit.error_class,
                  hit.error_code);
    list = emu_faults_list(f);
    rule = json_array_get(json_object_get(list, "faults"), 0);
    DP_ASSERT_MSG(json_integer_value(json_object_get(rule, "remaining")) == 2,
                  "expected remaining 2, got %lld",
                  (long long)json_integer_value(json_object_get(rule, "remaining")));
    DP_ASSERT_MSG(json_integer_value(json_object_get(rule, "fired")) == 1, "expected fired 1");
    json_decref(list);
    emu_faults_clear(f);
    list = emu_faults_list(f);
    DP_ASSERT_MSG(json_array_size(json_object_get(list, "faults")) == 0,
                  "expected an empty list after clear, got %zu",
                  json_array_size(json_object_get(list, "faults")));
    json_decref(list);
    emu_faults_destroy(f);
}

static const dp_test_case_t cases[] = {
    {"test_emu_faults_endpoint_patterns", test_emu_faults_endpoint_patterns},
    {"test_emu_faults_count_is_consumed_then_stops", test_emu_faults_count_is_consumed_then_stops},
    {"test_emu_faults_rate_zero_never_fires_and_rate_is_seeded",
     test_emu_faults_rate_zero_never_fires_and_rate_is_seeded},
    {"test_emu_faults_statement_kinds_only_on_submit",
     test_emu_faults_statement_kinds_only_on_submit},
    {"test_emu_faults_statement_filter", test_emu_faults_statement_filter},
    {"test_emu_faults_rejects_bad_rules", test_emu_faults_rejects_bad_rules},
    {"test_emu_faults_list_shows_remaining_and_clear_empties",
     test_emu_faults_list_shows_remaining_and_clear_empties},
    {NULL, NULL}};

static const dp_test_suite_t suites[] = {{"emu_faults", NULL, NULL, cases},
                                         {NULL, NULL, NULL, NULL}};

int main(int argc, char **argv)
{
    return dp_test_main(argc, argv, suites);
}
