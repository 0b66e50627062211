/*
 * Integration tests of the worker (`deltaport run`) on the embedded Kafka
 * (librdkafka's mock cluster) and the Databricks emulator, both real
 * processes on loopback:
 *   - valid and invalid events end in the right tables and in event_errors,
 *     every produced record exactly once, offsets committed to the end;
 *   - the event-stats threshold promotes a name for every worker of the group;
 *   - a worker restarted after a clean stop resumes from its committed offsets;
 *   - failed statements and refused uploads keep the offsets uncommitted and
 *     the data is loaded once the fault clears.
 */
#define _GNU_SOURCE
#include "dp_proc.h"
#include "dp_test.h"
#include "emu_fixture.h"
#include "kafka_fixture.h"
#include "worker_env.h"

#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The fixture (tests/support/worker_env.h) writes worker configurations with
 * worker.shutdown_timeout_ms = g_shutdown_ms. */

/* ------------------------------------------------------------------------- */
/* Tests                                                                     */
/* ------------------------------------------------------------------------- */

static void test_worker_pool_loads_every_event_once_and_promotes_for_all(void)
{
    env_t env;
    dp_proc_t w1, w2;
    long long loaded, errors, shared;
    int rc1, rc2;

    if (!DP_ASSERT_MSG(env_start(&env, 150, 1000) == 0, "fixtures did not start")) {
        env_stop(&env);
        return;
    }
    start_worker(&env, &w1, "w1");
    DP_ASSERT_MSG(wait_log(&env, "w1", "assigned " TOPIC, 20000) == 0, "w1 got no partitions");
    start_worker(&env, &w2, "w2");
    /* Cooperative rebalance: w1 gives up some partitions, w2 takes them. */
    DP_ASSERT_MSG(wait_log(&env, "w2", "assigned " TOPIC, 60000) == 0, "w2 got no partitions");
    DP_ASSERT_MSG(produce(&env, 4000, 100, 11) == 0, "produce failed");
    loaded = wait_loaded(&env, 4000, 60000);
    DP_ASSERT_MSG(loaded == 4000, "expected 4000 rows in sync_runs, got %lld", loaded);
    dp_proc_signal(&w1, SIGTERM);
    dp_proc_signal(&w2, SIGTERM);
    rc1 = dp_proc_wait(&w1, scaled(30000));
    rc2 = dp_proc_wait(&w2, scaled(30000));
    DP_ASSERT_MSG(rc1 == 0 && rc2 == 0, "workers should exit 0 on SIGTERM, got %d and %d", rc1,
                  rc2);
    errors = check_exactly_once(&env, 4000);
    DP_ASSERT_MSG(errors == 40, "expected 40 event_errors rows (every 100th event), got %lld",
                  errors);
    DP_ASSERT_MSG(committed_to_end(&env) == PARTITIONS,
                  "expected all %d partitions committed to their end", PARTITIONS);
    /* page_view is ~32% of 4000 events: over the threshold of 150 in both
     * workers' shares, so both loaded files into its own table. */
    DP_ASSERT_MSG(scalar(&env, "SELECT COUNT(DISTINCT worker_id) FROM main.wt.sync_runs "
                               "WHERE table_name = 'evt_page_view'") == 2,
                  "expected evt_page_view loads from both workers");
    DP_ASSERT_MSG(scalar(&env, "SELECT COUNT(*) FROM main.wt.evt_otherevents") > 0,
                  "expected rare names in evt_otherevents");
    /* Before promotion a worker sends at most threshold + 1 of a name to the
     * shared table (its own count alone reaches it): 2 x 151 at most. */
    shared = scalar(&env, "SELECT COUNT(*) FROM main.wt.evt_otherevents "
                          "WHERE event_name = 'page_view'");
    DP_ASSERT_MSG(shared > 0 && shared <= 2 * 151,
                  "expected 1..302 page_view rows in evt_otherevents, got %lld", shared);
    dp_proc_stop(&w1, 1000);
    dp_proc_stop(&w2, 1000);
    env_stop(&env);
}

static void test_worker_restart_resumes_from_committed_offsets(void)
{
    env_t env;
    dp_proc_t w;
    long long loaded;
    int rc;

    if (!DP_ASSERT_MSG(env_start(&env, 10000, 500) == 0, "fixtures did not start")) {
        env_stop(&env);
        return;
    }
    DP_ASSERT_MSG(produce(&env, 1500, 0, 21) == 0, "produce failed");
    start_worker(&env, &w, "r1");
    loaded = wait_loaded(&env, 1500, 60000);
    DP_ASSERT_MSG(loaded == 1500, "first run: expected 1500 loaded, got %lld", loaded);
    dp_proc_signal(&w, SIGTERM);
    rc = dp_proc_wait(&w, scaled(30000));
    DP_ASSERT_MSG(rc == 0, "first run should exit 0 on SIGTERM, got %d", rc);
    DP_ASSERT_MSG(committed_to_end(&env) == PARTITIONS, "offsets not committed after stop");
    DP_ASSERT_MSG(produce(&env, 1000, 0, 22) == 0, "second produce failed");
    start_worker(&env, &w, "r2");
    loaded = wait_loaded(&env, 2500, 60000);
    DP_ASSERT_MSG(loaded == 2500, "second run: expected 2500 loaded in all, got %lld", loaded);
    dp_proc_signal(&w, SIGTERM);
    dp_proc_wait(&w, scaled(30000));
    DP_ASSERT_MSG(check_exactly_once(&env, 2500) == 0, "expected no event_errors rows");
    dp_proc_stop(&w, 1000);
    env_stop(&env);
}

static void test_worker_failed_loads_keep_offsets_until_the_fault_clears(void)
{
    env_t env;
    dp_proc_t w;
    long long loaded;
    char path[400];

    if (!DP_ASSERT_MSG(env_start(&env, 10000, 500) == 0, "fixtures did not start")) {
        env_stop(&env);
        return;
    }
    start_worker(&env, &w, "f1");
    DP_ASSERT_MSG(wait_log(&env, "f1", "claimed ", 30000) == 0, "no partition was claimed");
    DP_ASSERT_MSG(wait_log(&env, "f1", "routing ready", 30000) == 0, "counts never read");
    /* COPY INTO fails with a data-independent error 4 times, and uploads are
     * refused more often than the client's own retries allow. */
    DP_ASSERT_MSG(dp_emu_fault(&env.ef, "{\"endpoint\":\"files.upload\",\"kind\":\"500\","
                                        "\"count\":8}") == 0,
                  "fault not accepted");
    DP_ASSERT_MSG(dp_emu_fault(&env.ef, "{\"endpoint\":\"statements.submit\",\"kind\":\"failed\","
                                        "\"error_class\":\"DELTA_CONCURRENT_APPEND\","
                                        "\"statement\":\"COPY INTO\",\"count\":4}") == 0,
                  "fault not accepted");
    DP_ASSERT_MSG(produce(&env, 800, 50, 31) == 0, "produce failed");
    /* Reported once the flush's concurrent jobs are done: the upload's own retries
     * (8 refusals, jittered backoff) may take half a minute. */
    DP_ASSERT_MSG(wait_log(&env, "f1", "load failed, data kept", 90000) == 0,
                  "expected the worker to report a failed load");
    DP_ASSERT_MSG(committed_to_end(&env) == 0, "offsets were committed while loads failed");
    loaded = wait_loaded(&env, 800, 90000);
    DP_ASSERT_MSG(loaded == 800, "expected 800 loaded after the faults cleared, got %lld", loaded);
    dp_proc_signal(&w, SIGTERM);
    dp_proc_wait(&w, scaled(30000));
    DP_ASSERT_MSG(check_exactly_once(&env, 800) == 16, "expected 16 event_errors rows");
    DP_ASSERT_MSG(committed_to_end(&env) == PARTITIONS, "offsets not committed after the load");
    snprintf(path, sizeof(path), "%s/f1.log", env.ef.dir);
    DP_ASSERT_MSG(!file_contains(path, DP_EMU_CLIENT_SECRET), "the client secret was logged");
    dp_proc_stop(&w, 1000);
    env_stop(&env);
}

static void test_worker_rows_refused_by_databricks_go_to_event_errors(void)
{
    env_t env;
    dp_proc_t w;
    json_t *resp = NULL;
    long long loaded, errors, refused, otherevents;

    if (!DP_ASSERT_MSG(env_start(&env, 1000000, 500) == 0, "fixtures did not start")) {
        env_stop(&env);
        return;
    }
    /* A table someone created with an incompatible type: COPY INTO with
     * mergeSchema fails with an error of the data for its rows. */
    dp_emu_sql(&env.ef, env.token, "CREATE SCHEMA IF NOT EXISTS main.wt", &resp);
    json_decref(resp);
    resp = NULL;
    dp_emu_sql(&env.ef, env.token,
               "CREATE TABLE main.wt.evt_otherevents (event_id STRING, event_time STRING)", &resp);
    DP_ASSERT_MSG(resp && strcmp(dp_emu_state(resp), "SUCCEEDED") == 0,
                  "could not pre-create the conflicting table");
    json_decref(resp);
    DP_ASSERT_MSG(produce(&env, 600, 100, 41) == 0, "produce failed");
    start_worker(&env, &w, "x1");
    loaded = wait_loaded(&env, 600, 60000);
    DP_ASSERT_MSG(loaded == 600, "expected 600 rows accounted in sync_runs, got %lld", loaded);
    dp_proc_signal(&w, SIGTERM);
    dp_proc_wait(&w, scaled(30000));
    otherevents = scalar(&env, "SELECT COUNT(*) FROM main.wt.evt_otherevents");
    refused = scalar(&env, "SELECT COUNT(*) FROM main.wt.event_errors "
                           "WHERE error_code = 'LOAD_REJECTED'");
    errors = check_exactly_once(&env, 600);
    DP_ASSERT_MSG(otherevents == 0, "the refused table should hold no rows, got %lld", otherevents);
    DP_ASSERT_MSG(refused == 594 && errors == 600,
                  "expected the 594 valid rows refused + 6 invalid in event_errors, got %lld "
                  "refused of %lld",
                  refused, errors);
    DP_ASSERT_MSG(scalar(&env, "SELECT COUNT(*) FROM main.wt.sync_runs "
                               "WHERE status = 'REJECTED'") >= 1,
                  "expected a REJECTED sync_runs row");
    DP_ASSERT_MSG(committed_to_end(&env) == PARTITIONS, "offsets not committed");
    dp_proc_stop(&w, 1000);
    env_stop(&env);
}

static void test_worker_sigterm_deadline_and_second_signal_lose_nothing(void)
{
    env_t env;
    dp_proc_t w;
    long long t0, loaded;
    int rc;

    g_shutdown_ms = 2000;
    rc = env_start(&env, 10000, 200);
    g_shutdown_ms = 20000;
    if (!DP_ASSERT_MSG(rc == 0, "fixtures did not start")) {
        env_stop(&env);
        return;
    }
    /* Once its partitions are claimed and the group's counts read, Databricks
     * answers 503 to every statement: loads never finish. */
    start_worker(&env, &w, "s1");
    DP_ASSERT_MSG(wait_log(&env, "s1", "claimed ", 30000) == 0, "no partition was claimed");
    DP_ASSERT_MSG(wait_log(&env, "s1", "routing ready", 30000) == 0, "counts never read");
    DP_ASSERT_MSG(dp_emu_fault(&env.ef, "{\"endpoint\":\"statements.submit\",\"kind\":\"503\"}") ==
                      0,
                  "fault not accepted");
    DP_ASSERT_MSG(produce(&env, 400, 0, 51) == 0, "produce failed");
    DP_ASSERT_MSG(wait_log(&env, "s1", "cut (", 30000) == 0, "no flush was cut");
    t0 = dp_test_now_ms();
    dp_proc_signal(&w, SIGTERM);
    rc = dp_proc_wait(&w, scaled(20000));
    DP_ASSERT_MSG(rc == 3, "SIGTERM past the deadline should exit 3 (forced), got %d", rc);
    DP_ASSERT_MSG(dp_test_now_ms() - t0 < 2000 + 5000 + 3000,
                  "exit took %lld ms, deadline 2000 + 5000 grace", dp_test_now_ms() - t0);
    DP_ASSERT_MSG(committed_to_end(&env) == 0, "offsets committed though nothing loaded");

    /* Second signal: exits at once. s2 claims while Databricks works, then
     * the fault returns; it finishes s1's flush (if s1 wrote its manifest)
     * and cuts the new events. */
    clear_faults(&env);
    DP_ASSERT_MSG(produce(&env, 200, 0, 52) == 0, "produce failed");
    start_worker(&env, &w, "s2");
    DP_ASSERT_MSG(wait_log(&env, "s2", "claimed ", 30000) == 0, "no partition was claimed");
    DP_ASSERT_MSG(wait_log(&env, "s2", "routing ready", 30000) == 0, "counts never read");
    DP_ASSERT_MSG(dp_emu_fault(&env.ef, "{\"endpoint\":\"statements.submit\",\"kind\":\"503\"}") ==
                      0,
                  "fault not accepted");
    DP_ASSERT_MSG(wait_log(&env, "s2", "cut (", 30000) == 0, "no flush was cut");
    dp_proc_signal(&w, SIGTERM);
    dp_test_sleep_ms(200);
    t0 = dp_test_now_ms();
    dp_proc_signal(&w, SIGTERM);
    rc = dp_proc_wait(&w, scaled(5000));
    DP_ASSERT_MSG(rc == 1 && dp_test_now_ms() - t0 < 2000,
                  "a second SIGTERM should exit 1 at once, got %d after %lld ms", rc,
                  dp_test_now_ms() - t0);

    /* The fault clears; a new worker loads everything exactly once. */
    clear_faults(&env);
    start_worker(&env, &w, "s3");
    loaded = wait_loaded(&env, 600, 60000);
    DP_ASSERT_MSG(loaded == 600, "expected 600 loaded after the fault cleared, got %lld", loaded);
    dp_proc_signal(&w, SIGTERM);
    DP_ASSERT_MSG(dp_proc_wait(&w, scaled(30000)) == 0, "clean stop expected");
    DP_ASSERT_MSG(check_exactly_once(&env, 600) == 0, "expected no event_errors rows");
    DP_ASSERT_MSG(committed_to_end(&env) == PARTITIONS, "offsets not committed after the load");
    dp_proc_stop(&w, 1000);
    env_stop(&env);
}

static void test_worker_killed_after_copy_is_finished_by_the_next_owner(void)
{
    env_t env;
    dp_proc_t w;
    long long loaded;
    long status = 0;
    char *body = NULL, path[400];
    size_t len = 0;

    /* Threshold 10: many tables, so the first flush runs many COPY INTO. */
    if (!DP_ASSERT_MSG(env_start(&env, 10, 100000) == 0, "fixtures did not start")) {
        env_stop(&env);
        return;
    }
    DP_ASSERT_MSG(produce(&env, 300, 0, 61) == 0, "produce failed");
    start_worker(&env, &w, "k1");
    /* The manifest is the last thing written before COPY INTO starts: freeze
     * the worker the moment it appears, then kill it, so that its flush is
     * left between its loads and its commit. */
    DP_ASSERT_MSG(wait_request(&env, "/_manifests/", 60000) == 0, "no manifest was written");
    dp_proc_signal(&w, SIGSTOP);
    dp_proc_signal(&w, SIGKILL);
    dp_proc_wait(&w, scaled(10000));
    DP_ASSERT_MSG(committed_to_end(&env) == 0, "the flush was committed before the kill: the "
                                               "test did not hit the window it is about");
    /* More events, so that cutting the old offsets again would give other
     * file names (and load them twice). */
    DP_ASSERT_MSG(produce(&env, 200, 0, 62) == 0, "second produce failed");
    DP_ASSERT_MSG(dp_emu_http(&env.ef, "DELETE", "/_emulator/faults", NULL, NULL, 0, NULL, &status,
                              &body, &len) == 0 &&
                      status / 100 == 2,
                  "clearing faults failed");
    free(body);
    start_worker(&env, &w, "k2");
    loaded = wait_loaded(&env, 500, 90000);
    DP_ASSERT_MSG(loaded == 500, "expected 500 loaded, got %lld", loaded);
    dp_proc_signal(&w, SIGTERM);
    DP_ASSERT_MSG(dp_proc_wait(&w, scaled(30000)) == 0, "clean stop expected");
    snprintf(path, sizeof(path), "%s/k2.log", env.ef.dir);
    DP_ASSERT_MSG(file_contains(path, "completed flush"), "k2 did not finish k1's flush");
    DP_ASSERT_MSG(check_exactly_once(&env, 500) == 0, "expected every record exactly once");
    DP_ASSERT_MSG(committed_to_end(&env) == PARTITIONS, "offsets not committed to the end");
    dp_proc_stop(&w, 1000);
    env_stop(&env);
}

/* Starts the fixtures with 300 events and worker `id`, the group refusing
 * its first three commits with `error` (OffsetCommit is API key 8). Returns
 * 0, or -1 after a failed assertion (the fixtures stopped). */
static int start_with_refused_commits(env_t *env, dp_proc_t *w, const char *id, int seed,
                                      const char *error)
{
    char cmd[256], reply[256];

    if (!DP_ASSERT_MSG(env_start(env, 1000000, 100000) == 0, "fixtures did not start")) {
        env_stop(env);
        return -1;
    }
    DP_ASSERT_MSG(produce(env, 300, 0, seed) == 0, "produce failed");
    snprintf(cmd, sizeof(cmd), "push_errors 8 %s %s %s", error, error, error);
    DP_ASSERT_MSG(dp_kafka_fixture_ctl(&env->kf, cmd, reply, sizeof(reply)) == 0, "push_errors: %s",
                  reply);
    start_worker(env, w, id);
    return 0;
}

/* A commit refused for a stale generation (the group moved on while the
 * flush loaded) is tried again while the worker polls, and goes through once
 * the consumer has rejoined: no manifest is left behind for a next owner. */
static void test_worker_stale_generation_commit_is_retried(void)
{
    env_t env;
    dp_proc_t w;
    char path[400];
    int committed;

    if (start_with_refused_commits(&env, &w, "g1", 73, "ILLEGAL_GENERATION") < 0)
        return;
    DP_ASSERT_MSG(wait_log(&env, "g1", "commit postponed", 60000) == 0,
                  "the stale generation was not reported");
    committed = wait_committed_to_end(&env, 60000);
    DP_ASSERT_MSG(committed == PARTITIONS, "expected the retried commit to reach the end, got %d",
                  committed);
    dp_proc_signal(&w, SIGTERM);
    DP_ASSERT_MSG(dp_proc_wait(&w, scaled(30000)) == 0, "clean stop expected");
    snprintf(path, sizeof(path), "%s/g1.log", env.ef.dir);
    DP_ASSERT_MSG(!file_contains(path, "loaded but not committed"),
                  "a stale generation was taken for a refusal");
    DP_ASSERT_MSG(check_exactly_once(&env, 300) == 0, "expected every record exactly once");
    dp_proc_stop(&w, 1000);
    env_stop(&env);
}

static void test_worker_refused_commit_keeps_the_manifest_for_the_next_owner(void)
{
    env_t env;
    dp_proc_t w;
    long long loaded;
    char reply[256], path[400];

    /* The group refuses the first commits for good: the flush is loaded but
     * its offsets stay where they were. */
    if (start_with_refused_commits(&env, &w, "c1", 71, "OFFSET_METADATA_TOO_LARGE") < 0)
        return;
    DP_ASSERT_MSG(wait_log(&env, "c1", "loaded but not committed", 60000) == 0,
                  "the commit was not refused");
    dp_kafka_fixture_ctl(&env.kf, "clear_errors 8", reply, sizeof(reply));
    dp_proc_signal(&w, SIGTERM);
    dp_proc_wait(&w, scaled(30000));
    DP_ASSERT_MSG(produce(&env, 200, 0, 72) == 0, "second produce failed");
    start_worker(&env, &w, "c2");
    loaded = wait_loaded(&env, 500, 90000);
    DP_ASSERT_MSG(loaded == 500, "expected 500 loaded, got %lld", loaded);
    dp_proc_signal(&w, SIGTERM);
    DP_ASSERT_MSG(dp_proc_wait(&w, scaled(30000)) == 0, "clean stop expected");
    snprintf(path, sizeof(path), "%s/c2.log", env.ef.dir);
    /* c1's flush is loaded (the ledger shows it) though no offset was
     * committed: c2 starts after the ledger instead of loading it again. */
    DP_ASSERT_MSG(file_contains(path, "Databricks holds it loaded through"),
                  "c2 did not start after the ledger");
    DP_ASSERT_MSG(check_exactly_once(&env, 500) == 0, "expected every record exactly once");
    DP_ASSERT_MSG(committed_to_end(&env) == PARTITIONS, "offsets not committed to the end");
    dp_proc_stop(&w, 1000);
    env_stop(&env);
}

/* H1: a worker stopped (SIGSTOP) past its session timeout while a flush was
 * staged wakes up after another worker took its partitions over. It must not
 * load that flush: the new owner's claim never saw its manifest, so the
 * flush is fenced, and every record is still loaded exactly once. */
static void test_worker_zombie_flush_is_fenced(void)
{
    env_t env;
    dp_proc_t z, w;
    long long loaded;
    char path[400];

    if (!DP_ASSERT_MSG(env_start(&env, 1000000, 100000) == 0, "fixtures did not start")) {
        env_stop(&env);
        return;
    }
    start_worker(&env, &z, "z1");
    DP_ASSERT_MSG(wait_log(&env, "z1", "claimed ", 30000) == 0, "no partition was claimed");
    DP_ASSERT_MSG(wait_log(&env, "z1", "routing ready", 30000) == 0, "counts never read");
    /* Every upload is refused: z1's flush stays staged, before its manifest. */
    DP_ASSERT_MSG(dp_emu_fault(&env.ef, "{\"endpoint\":\"files.upload\",\"kind\":\"503\"}") == 0,
                  "fault not accepted");
    DP_ASSERT_MSG(produce(&env, 300, 0, 81) == 0, "produce failed");
    DP_ASSERT_MSG(wait_log(&env, "z1", "TEMPORARILY_UNAVAILABLE", 30000) == 0,
                  "z1 did not try to load");
    dp_proc_signal(&z, SIGSTOP);
    clear_faults(&env);
    /* w takes the partitions over once z1's session (6 s) expires. */
    start_worker(&env, &w, "w1");
    loaded = wait_loaded(&env, 300, 90000);
    DP_ASSERT_MSG(loaded == 300, "expected 300 loaded by w1, got %lld", loaded);
    /* z1 wakes up: its upload now succeeds, its manifest is written, and the
     * claims fence it. */
    dp_proc_signal(&z, SIGCONT);
    DP_ASSERT_MSG(wait_log(&env, "z1", "fenced, not loaded", 60000) == 0,
                  "z1's flush was not fenced");
    /* The group settles after z1 rejoins: w1's commit, refused while it
     * rebalanced, goes through then (or the partitions' next owner finishes
     * w1's manifest). */
    DP_ASSERT_MSG(wait_committed_to_end(&env, 60000) == PARTITIONS,
                  "offsets not committed to the end once z1 rejoined");
    DP_ASSERT_MSG(check_exactly_once(&env, 300) == 0, "expected every record exactly once");
    dp_proc_signal(&z, SIGTERM);
    dp_proc_signal(&w, SIGTERM);
    dp_proc_wait(&z, scaled(30000));
    dp_proc_wait(&w, scaled(30000));
    DP_ASSERT_MSG(check_exactly_once(&env, 300) == 0, "expected every record exactly once");
    DP_ASSERT_MSG(committed_to_end(&env) == PARTITIONS, "offsets not committed to the end");
    snprintf(path, sizeof(path), "%s/w1.log", env.ef.dir);
    DP_ASSERT_MSG(!file_contains(path, "fenced"), "w1's own flushes were fenced");
    dp_proc_stop(&z, 1000);
    dp_proc_stop(&w, 1000);
    env_stop(&env);
}

/* Databricks is down when the partitions are assigned: the worker cannot
 * take their claims, so it holds them paused (staying in the group) and
 * claims them again later; then it loads everything exactly once. */
static void test_worker_claims_wait_for_databricks(void)
{
    env_t env;
    dp_proc_t w;
    long long loaded;

    if (!DP_ASSERT_MSG(env_start(&env, 1000000, 100000) == 0, "fixtures did not start")) {
        env_stop(&env);
        return;
    }
    DP_ASSERT_MSG(produce(&env, 200, 0, 91) == 0, "produce failed");
    start_worker(&env, &w, "d1");
    /* Databricks goes away once the worker has its incarnation, before the
     * group assigns it the partitions (joining takes seconds on the mock). */
    DP_ASSERT_MSG(wait_log(&env, "d1", "incarnation ", 30000) == 0, "no incarnation");
    DP_ASSERT_MSG(dp_emu_fault(&env.ef, "{\"endpoint\":\"statements.submit\",\"kind\":\"503\"}") ==
                      0,
                  "fault not accepted");
    DP_ASSERT_MSG(wait_log(&env, "d1", "they stay paused", 120000) == 0,
                  "the worker did not hold its unclaimed partitions");
    DP_ASSERT_MSG(committed_to_end(&env) == 0, "offsets committed before any claim");
    /* Databricks answers again (a fault with a count could be used up by the
     * worker's other statements before the claim; this one lasts until
     * the worker has given up once). */
    clear_faults(&env);
    loaded = wait_loaded(&env, 200, 120000);
    DP_ASSERT_MSG(loaded == 200, "expected 200 loaded once Databricks answered, got %lld", loaded);
    DP_ASSERT_MSG(wait_log(&env, "d1", "claimed (epoch", 1000) == 0,
                  "the partitions were not claimed from the poll loop");
    dp_proc_signal(&w, SIGTERM);
    DP_ASSERT_MSG(dp_proc_wait(&w, scaled(30000)) == 0, "clean stop expected");
    DP_ASSERT_MSG(check_exactly_once(&env, 200) == 0, "expected every record exactly once");
    DP_ASSERT_MSG(committed_to_end(&env) == PARTITIONS, "offsets not committed to the end");
    dp_proc_stop(&w, 1000);
    env_stop(&env);
}

/* H4: the topic is deleted and recreated (a fresh mock cluster: 2.0.2 has no
 * topic ids, and the mock cannot delete a topic). Stale offsets of the old
 * log are committed above and below the new end. Offsets past the new end
 * (a stale commit, or the ledger of the old log) stop the partitions with an
 * error instead of skipping; after `deltaport incarnation new` the new log is
 * read from its beginning: no record skipped, none loaded twice. */
static void test_worker_recreated_topic_skips_nothing(void)
{
    char topic[32], inc_a[128], inc_b[128], md[160], path[400];
    const char *topics[] = {topic, NULL};
    env_t env;
    dp_proc_t w;
    long long loaded;

    if (!DP_ASSERT_MSG(env_start(&env, 1000000, 100000) == 0, "fixtures did not start")) {
        env_stop(&env);
        return;
    }
    DP_ASSERT_MSG(produce(&env, 200, 0, 101) == 0, "produce failed");
    start_worker(&env, &w, "r1");
    loaded = wait_loaded(&env, 200, 90000);
    DP_ASSERT_MSG(loaded == 200, "expected 200 loaded from the first log, got %lld", loaded);
    dp_proc_signal(&w, SIGTERM);
    DP_ASSERT_MSG(dp_proc_wait(&w, scaled(30000)) == 0, "clean stop expected");
    DP_ASSERT_FATAL_MSG(incarnation(&env, "show", inc_a, sizeof(inc_a)) == 0, "no incarnation");

    /* The topic comes back empty, and 400 new records arrive: more than the
     * old log held, so the old ledger's starts fall inside the new log. */
    dp_kafka_fixture_stop(&env.kf);
    snprintf(topic, sizeof(topic), TOPIC ":%d", PARTITIONS);
    DP_ASSERT_FATAL_MSG(dp_kafka_fixture_start(&env.kf, 1, topics) == 0, "no second cluster");
    DP_ASSERT_FATAL_MSG(write_config(&env, 1000000, 100000) == 0, "config not written");
    DP_ASSERT_MSG(produce(&env, 400, 0, 102) == 0, "produce failed");
    /* Stale commits of a member of the old log, with its fingerprints: one
     * past the new end, one inside it. (The 2.0.2 mock refuses commits from
     * outside a group once the group exists: both are made now.) */
    snprintf(md, sizeof(md), "inc=%s;fp=99999:00c0ffee", inc_a);
    DP_ASSERT_MSG(commit_stale(&env, 0, 100000, md) == 0, "stale commit above the end failed");
    snprintf(md, sizeof(md), "inc=%s;fp=4:0badf00d", inc_a);
    DP_ASSERT_MSG(commit_stale(&env, 1, 5, md) == 0, "stale commit below the end failed");

    /* Same incarnation: a start past the new end (the stale commit, or the
     * ledger of the old log) or a message before the start that is not the
     * one loaded: every partition stops with an error, nothing is loaded. */
    start_worker(&env, &w, "r2");
    DP_ASSERT_MSG(wait_log(&env, "r2", "is past the end of the log", 60000) == 0,
                  "a partition past the new end was not stopped with an error");
    DP_ASSERT_MSG(wait_log(&env, "r2", "is not the one loaded there", 30000) == 0,
                  "a partition inside the new log was not stopped by its fingerprint");
    dp_test_sleep_ms(3000);
    loaded = scalar(&env, "SELECT COUNT(*) FROM main.wt.evt_otherevents");
    DP_ASSERT_MSG(loaded == 200,
                  "records of the new log were loaded before the operator "
                  "decided: %lld rows",
                  loaded);
    dp_proc_signal(&w, SIGTERM);
    DP_ASSERT_MSG(dp_proc_wait(&w, scaled(30000)) == 0, "clean stop expected");

    /* The operator mints a new incarnation: the stale commits belong to the
     * old one, and the new log is read from its beginning. */
    DP_ASSERT_FATAL_MSG(incarnation(&env, "new", inc_b, sizeof(inc_b)) == 0, "no new incarnation");
    DP_ASSERT_MSG(strcmp(inc_a, inc_b) != 0, "the new incarnation is the old one: %s", inc_b);
    start_worker(&env, &w, "r3");
    loaded = wait_loaded(&env, 600, 90000);
    DP_ASSERT_MSG(loaded == 600, "expected 200 + 400 loaded, got %lld", loaded);
    dp_proc_signal(&w, SIGTERM);
    DP_ASSERT_MSG(dp_proc_wait(&w, scaled(30000)) == 0, "clean stop expected");
    DP_ASSERT_MSG(
        scalar(&env, "SELECT COUNT(*) FROM main.wt.evt_otherevents") == 600 &&
            scalar(&env, "SELECT COUNT(DISTINCT event_id) FROM main.wt.evt_otherevents") == 600,
        "expected 600 rows with 600 distinct event ids");
    snprintf(md, sizeof(md),
             "SELECT SUM(last_offset - first_offset + 1) FROM main.wt.ledger WHERE "
             "incarnation = '%s'",
             inc_b);
    DP_ASSERT_MSG(scalar(&env, md) == 400, "expected the new log's 400 offsets in the ledger");
    DP_ASSERT_MSG(committed_to_end(&env) == PARTITIONS, "offsets not committed to the end");
    snprintf(path, sizeof(path), "%s/r3.log", env.ef.dir);
    DP_ASSERT_MSG(file_contains(path, "belongs to another incarnation"),
                  "r3 did not ignore the stale commits");
    dp_proc_stop(&w, 1000);
    env_stop(&env);
}

/* H5: a worker dies after its manifest was written; the destination table is
 * then dropped and recreated (its COPY INTO history is gone). The next owner
 * must not replay the flush into the new table (that could load its rows
 * twice): it says so, and the partitions wait. */
static void test_worker_recreated_table_is_not_replayed(void)
{
    env_t env;
    dp_proc_t w;
    json_t *r;
    char path[400];

    if (!DP_ASSERT_MSG(env_start(&env, 1000000, 100000) == 0, "fixtures did not start")) {
        env_stop(&env);
        return;
    }
    DP_ASSERT_MSG(produce(&env, 200, 0, 111) == 0, "produce failed");
    start_worker(&env, &w, "t1");
    DP_ASSERT_MSG(wait_request(&env, "/_manifests/", 60000) == 0, "no manifest was written");
    dp_proc_signal(&w, SIGSTOP);
    dp_proc_signal(&w, SIGKILL);
    dp_proc_wait(&w, scaled(10000));
    DP_ASSERT_MSG(committed_to_end(&env) == 0, "the flush was committed before the kill");
    r = rows_of(&env, "DROP TABLE main.wt.evt_otherevents");
    json_decref(r);
    r = rows_of(&env, "CREATE TABLE main.wt.evt_otherevents (event_id STRING)");
    json_decref(r);
    start_worker(&env, &w, "t2");
    DP_ASSERT_MSG(wait_log(&env, "t2", "was dropped and recreated", 60000) == 0,
                  "the recreated table was not detected");
    dp_test_sleep_ms(2000);
    DP_ASSERT_MSG(scalar(&env, "SELECT COUNT(*) FROM main.wt.evt_otherevents") == 0,
                  "the flush was replayed into the recreated table");
    DP_ASSERT_MSG(committed_to_end(&env) == 0, "offsets were committed past the held flush");
    dp_proc_signal(&w, SIGTERM);
    DP_ASSERT_MSG(dp_proc_wait(&w, scaled(30000)) == 0, "clean stop expected");
    snprintf(path, sizeof(path), "%s/t2.log", env.ef.dir);
    DP_ASSERT_MSG(file_contains(path, "stay paused"), "t2 did not hold the partitions");
    dp_proc_stop(&w, 1000);
    env_stop(&env);
}

/* librdkafka #4381 (fixed in 2.3.0): closing a cooperative-sticky consumer
 * before its first assignment could crash. SIGTERM right after start, while
 * the group join is still in flight, must exit 0 with nothing lost. */
static void test_worker_sigterm_before_first_assignment(void)
{
    env_t env;
    dp_proc_t w;
    int rc;

    if (!DP_ASSERT_MSG(env_start(&env, 1000000, 100000) == 0, "fixtures did not start")) {
        env_stop(&env);
        return;
    }
    DP_ASSERT_MSG(produce(&env, 50, 0, 121) == 0, "produce failed");
    for (int round = 0; round < 3; round++) {
        char id[16];

        snprintf(id, sizeof(id), "e%d", round);
        start_worker(&env, &w, id);
        DP_ASSERT_MSG(wait_log(&env, id, "incarnation ", 30000) == 0, "no incarnation");
        dp_proc_signal(&w, SIGTERM);
        rc = dp_proc_wait(&w, scaled(20000));
        DP_ASSERT_MSG(rc == 0, "round %d: SIGTERM before the first assignment exited %d", round,
                      rc);
    }
    start_worker(&env, &w, "e9");
    DP_ASSERT_MSG(wait_loaded(&env, 50, 60000) == 50, "the events were not loaded afterwards");
    dp_proc_signal(&w, SIGTERM);
    DP_ASSERT_MSG(dp_proc_wait(&w, scaled(30000)) == 0, "clean stop expected");
    DP_ASSERT_MSG(check_exactly_once(&env, 50) == 0, "expected every record exactly once");
    dp_proc_stop(&w, 1000);
    env_stop(&env);
}

static const dp_test_case_t cases[] = {
    {"test_worker_sigterm_before_first_assignment", test_worker_sigterm_before_first_assignment},
    {"test_worker_recreated_table_is_not_replayed", test_worker_recreated_table_is_not_replayed},
    {"test_worker_recreated_topic_skips_nothing", test_worker_recreated_topic_skips_nothing},
    {"test_worker_claims_wait_for_databricks", test_worker_claims_wait_for_databricks},
    {"test_worker_zombie_flush_is_fenced", test_worker_zombie_flush_is_fenced},
    {"test_worker_stale_generation_commit_is_retried",
     test_worker_stale_generation_commit_is_retried},
    {"test_worker_refused_commit_keeps_the_manifest_for_the_next_owner",
     test_worker_refused_commit_keeps_the_manifest_for_the_next_owner},
    {"test_worker_killed_after_copy_is_finished_by_the_next_owner",
     test_worker_killed_after_copy_is_finished_by_the_next_owner},
    {"test_worker_sigterm_deadline_and_second_signal_lose_nothing",
     test_worker_sigterm_deadline_and_second_signal_lose_nothing},
    {"test_worker_rows_refused_by_databricks_go_to_event_errors",
     test_worker_rows_refused_by_databricks_go_to_event_errors},
    {"test_worker_pool_loads_every_event_once_and_promotes_for_all",
     test_worker_pool_loads_every_event_once_and_promotes_for_all},
    {"test_worker_restart_resumes_from_committed_offsets",
     test_worker_restart_resumes_from_committed_offsets},
    {"test_worker_failed_loads_keep_offsets_until_the_fault_clears",
     test_worker_failed_loads_keep_offsets_until_the_fault_clears},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    const dp_test_suite_t suites[] = {{"worker", NULL, NULL, cases}, {NULL, NULL, NULL, NULL}};

    return dp_test_main(argc, argv, suites);
}
