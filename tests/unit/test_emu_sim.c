/*
 * Unit tests of the emulator's realism switches and counters
 * (tools/dbx-emulator/sim.c): command-line options, settings changed from
 * JSON (all or nothing), statement kinds, counters by kind with reset, and a
 * wait that shutdown cuts short.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_test.h"
#include "sim.h"

static void test_emu_sim_options_and_bounds(void)
{
    emu_sim_latency_t l;

    emu_sim_latency_defaults(&l);
    DP_ASSERT_MSG(l.statement_ms == 0 && l.files_ms == 0 && l.copy_ms_per_mib == 0 &&
                      l.oauth_ms == 0 && l.warehouse_concurrency == 10,
                  "expected no latency and a concurrency of 10 by default");
    DP_ASSERT_MSG(emu_sim_latency_option(&l, "--statement-latency-ms", "500") == 1 &&
                      emu_sim_latency_option(&l, "--files-latency-ms", "100") == 1 &&
                      emu_sim_latency_option(&l, "--copy-ms-per-mib", "40") == 1 &&
                      emu_sim_latency_option(&l, "--oauth-latency-ms", "7") == 1 &&
                      emu_sim_latency_option(&l, "--warehouse-concurrency", "3") == 1,
                  "expected every option to be taken");
    DP_ASSERT_MSG(l.statement_ms == 500 && l.files_ms == 100 && l.copy_ms_per_mib == 40 &&
                      l.oauth_ms == 7 && l.warehouse_concurrency == 3,
                  "expected 500/100/40/7/3, got %ld/%ld/%ld/%ld/%ld", l.statement_ms, l.files_ms,
                  l.copy_ms_per_mib, l.oauth_ms, l.warehouse_concurrency);
    DP_ASSERT_MSG(emu_sim_latency_option(&l, "--port", "1") == 0, "expected --port not ours");
    DP_ASSERT_MSG(emu_sim_latency_option(&l, "--statement-latency-ms", "-1") == -1 &&
                      emu_sim_latency_option(&l, "--statement-latency-ms", "5x") == -1 &&
                      emu_sim_latency_option(&l, "--statement-latency-ms", "") == -1 &&
                      emu_sim_latency_option(&l, "--statement-latency-ms", "3600001") == -1 &&
                      emu_sim_latency_option(&l, "--warehouse-concurrency", "0") == -1 &&
                      emu_sim_latency_option(&l, "--warehouse-concurrency", "257") == -1,
                  "expected bad values refused");
    DP_ASSERT_MSG(l.statement_ms == 500 && l.warehouse_concurrency == 3,
                  "expected refused values to change nothing");
}

static void test_emu_sim_set_json_is_all_or_nothing(void)
{
    emu_sim_t *sim = emu_sim_new(NULL);
    emu_sim_latency_t l;
    char err[256] = "";
    json_t *j;

    DP_ASSERT_FATAL_MSG(sim != NULL, "expected a sim");
    DP_ASSERT_MSG(emu_sim_set_json(sim,
                                   "{\"statement_latency_ms\":250,\"warehouse_concurrency\":4}",
                                   err, sizeof(err)) == 0,
                  "expected the settings to be accepted, got '%s'", err);
    DP_ASSERT_MSG(emu_sim_set_json(sim, "{\"files_latency_ms\":9,\"warehouse_concurrency\":0}", err,
                                   sizeof(err)) == -1 &&
                      strstr(err, "warehouse_concurrency") != NULL,
                  "expected concurrency 0 refused naming it, got '%s'", err);
    DP_ASSERT_MSG(
        emu_sim_set_json(sim, "{\"files_latency_ms\":9,\"latency\":1}", err, sizeof(err)) == -1 &&
            strstr(err, "'latency'") != NULL,
        "expected an unknown key refused naming it, got '%s'", err);
    emu_sim_get(sim, &l);
    DP_ASSERT_MSG(l.statement_ms == 250 && l.warehouse_concurrency == 4 && l.files_ms == 0,
                  "expected 250 ms, concurrency 4 and files untouched, got %ld %ld %ld",
                  l.statement_ms, l.warehouse_concurrency, l.files_ms);
    j = emu_sim_latency_json(sim);
    DP_ASSERT_MSG(json_integer_value(json_object_get(j, "statement_latency_ms")) == 250 &&
                      json_integer_value(json_object_get(j, "copy_ms_per_mib")) == 0 &&
                      json_object_size(j) == 7,
                  "expected the seven settings in JSON");
    json_decref(j);
    emu_sim_destroy(sim);
}

static void test_emu_sim_statement_kinds(void)
{
    static const char *const cases[][2] = {{"SELECT 1", "SELECT"},
                                           {"  -- a comment\n select * from t", "SELECT"},
                                           {"/* c */ (SELECT 1)", "SELECT"},
                                           {"MERGE INTO t USING ...", "MERGE"},
                                           {"COPY INTO t FROM '/Volumes/x'", "COPY INTO"},
                                           {"CREATE TABLE IF NOT EXISTS t (a INT)", "CREATE TABLE"},
                                           {"create or replace table t", "CREATE TABLE"},
                                           {"CREATE SCHEMA IF NOT EXISTS s", "CREATE SCHEMA"},
                                           {"CREATE DATABASE s", "CREATE SCHEMA"},
                                           {"CREATE VOLUME v", "CREATE VOLUME"},
                                           {"DROP TABLE t", "DROP TABLE"},
                                           {"ALTER TABLE t ADD COLUMNS (b INT)", "ALTER TABLE"},
                                           {"DESCRIBE DETAIL t", "DESCRIBE DETAIL"},
                                           {"DESC TABLE t", "DESCRIBE"},
                                           {"describe t", "DESCRIBE"},
                                           {"SHOW TABLES IN c.s", "SHOW"},
                                           {"INSERT INTO t VALUES (1)", "INSERT"},
                                           {"123", "OTHER"},
                                           {"", "OTHER"}};
    char buf[32];
    size_t k;

    for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        emu_sim_statement_kind(cases[k][0], buf, sizeof(buf));
        DP_ASSERT_MSG(strcmp(buf, cases[k][1]) == 0, "expected kind %s for '%s', got %s",
                      cases[k][1], cases[k][0], buf);
    }
    DP_ASSERT_MSG(strcmp(emu_sim_statement_kind(NULL, buf, sizeof(buf)), "UNKNOWN") == 0,
                  "expected UNKNOWN for a statement not read, got %s", buf);
}

static long long num(const json_t *o, const char *a, const char *b)
{
    const json_t *v = json_object_get(o, a);

    if (b != NULL) {
        v = json_object_get(v, b);
    }
    return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

static void test_emu_sim_counters_by_kind_and_reset(void)
{
    emu_sim_t *sim = emu_sim_new(NULL);
    json_t *st, *again;
    char stmt[32];
    int k;

    DP_ASSERT_FATAL_MSG(sim != NULL, "expected a sim");
    emu_sim_count(sim, "oauth.token", 0, NULL, 0);
    emu_sim_count(sim, "statements.submit", 0, "SELECT 1", 0);
    emu_sim_count(sim, "statements.submit", 0, "select 2", 0);
    emu_sim_count(sim, "statements.submit", 0, NULL, 0);
    emu_sim_count(sim, "statements.get", 0, NULL, 0);
    emu_sim_count(sim, "statements.get", 1, NULL, 0);
    emu_sim_count(sim, "statements.cancel", 0, NULL, 0);
    emu_sim_count(sim, "files.upload", 0, NULL, 0);
    emu_sim_count(sim, "files.upload", 0, NULL, 0);
    emu_sim_count(sim, "files.list", 0, NULL, 0);
    emu_sim_count(sim, "", 0, NULL, 0);               /* discovery, admin: not counted */
    emu_sim_count(sim, "statements.get", 0, NULL, 1); /* matched no API */
    st = emu_sim_stats_json(sim, 1);
    DP_ASSERT_MSG(
        num(st, "oauth_tokens", NULL) == 1 && num(st, "statements", "total") == 3 &&
            num(json_object_get(st, "statements"), "by_kind", "SELECT") == 2 &&
            num(json_object_get(st, "statements"), "by_kind", "UNKNOWN") == 1 &&
            num(st, "statement_polls", NULL) == 1 && num(st, "statement_chunks", NULL) == 1 &&
            num(st, "statement_cancels", NULL) == 1 && num(st, "files", "upload") == 2 &&
            num(st, "files", "list") == 1 && num(st, "files", "total") == 3 &&
            num(st, "other", NULL) == 1 && json_string_value(json_object_get(st, "since")) != NULL,
        "expected the counts by kind");
    json_decref(st);
    again = emu_sim_stats_json(sim, 0);
    DP_ASSERT_MSG(num(again, "statements", "total") == 0 && num(again, "files", "total") == 0 &&
                      num(again, "oauth_tokens", NULL) == 0,
                  "expected the reset to zero the counters");
    json_decref(again);
    /* The kinds table is bounded: beyond it, kinds share OTHER. */
    for (k = 0; k < 100; k++) {
        snprintf(stmt, sizeof(stmt), "KIND%c%c", 'A' + k % 26, 'A' + k / 26);
        emu_sim_count(sim, "statements.submit", 0, stmt, 0);
    }
    st = emu_sim_stats_json(sim, 0);
    DP_ASSERT_MSG(
        num(st, "statements", "total") == 100 &&
            json_object_size(json_object_get(json_object_get(st, "statements"), "by_kind")) == 64 &&
            num(json_object_get(st, "statements"), "by_kind", "OTHER") == 37,
        "expected 63 kinds and 37 in OTHER, got %zu kinds, OTHER %lld",
        json_object_size(json_object_get(json_object_get(st, "statements"), "by_kind")),
        num(json_object_get(st, "statements"), "by_kind", "OTHER"));
    json_decref(st);
    emu_sim_destroy(sim);
}

static void test_emu_sim_wait_ends_at_shutdown(void)
{
    emu_sim_t *sim = emu_sim_new(NULL);
    long long t0 = dp_test_now_ms();

    DP_ASSERT_FATAL_MSG(sim != NULL, "expected a sim");
    emu_sim_wait_ms(sim, 200);
    DP_ASSERT_MSG(dp_test_now_ms() - t0 >= 200, "expected a 200 ms wait, took %lld ms",
                  dp_test_now_ms() - t0);
    emu_sim_shutdown(sim);
    t0 = dp_test_now_ms();
    emu_sim_wait_ms(sim, 60000);
    DP_ASSERT_MSG(dp_test_now_ms() - t0 < 30000,
                  "expected a wait after shutdown to return at "
                  "once, took %lld ms",
                  dp_test_now_ms() - t0);
    emu_sim_destroy(sim);
}

static const dp_test_case_t k_cases[] = {
    {"test_emu_sim_options_and_bounds", test_emu_sim_options_and_bounds},
    {"test_emu_sim_set_json_is_all_or_nothing", test_emu_sim_set_json_is_all_or_nothing},
    {"test_emu_sim_statement_kinds", test_emu_sim_statement_kinds},
    {"test_emu_sim_counters_by_kind_and_reset", test_emu_sim_counters_by_kind_and_reset},
    {"test_emu_sim_wait_ends_at_shutdown", test_emu_sim_wait_ends_at_shutdown},
    {NULL, NULL}};

static const dp_test_suite_t k_suites[] = {{"emu_sim", NULL, NULL, k_cases},
                                           {NULL, NULL, NULL, NULL}};

int main(int argc, char **argv)
{
    return dp_test_main(argc, argv, k_suites);
}
