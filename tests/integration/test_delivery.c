/*
 * Integration tests of delivery defects a user hit (the worker on the
 * embedded Kafka and the emulator):
 *   - retention that removed the message before a partition's start, or the
 *     start itself, never stops the partition for good: the first is read
 *     past with a warning, the second is a recorded gap (sync_runs
 *     LOST_TO_RETENTION), never a silent reset;
 *   - a name that has its own table keeps it after a restart: no event is
 *     routed before the group's counts are read;
 *   - `incarnation new` refuses while the topics still hold what the current
 *     incarnation loaded, and when the group's membership cannot be read;
 *   - a worker stopped between its uploads and its manifest, or between its
 *     manifest and its claim check, never makes a record load twice (the
 *     emulator's latency switches hold it at the right step);
 *   - recovery of another worker's flush with slow statements keeps the
 *     worker live (/healthz 200 all along).
 */
#define _GNU_SOURCE
#include "dp_proc.h"
#include "dp_test.h"
#include "worker_env.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int stop_worker(dp_proc_t *w)
{
    dp_proc_signal(w, SIGTERM);
    return dp_proc_wait(w, scaled(30000));
}

/* Retention, as the repro: partition 0 loaded through @55; a record
 * of 5.24 MB makes the embedded Kafka's 5 MiB cap evict everything before it.
 * (1) A start exactly at the new low watermark, whose previous message is
 * gone: read from the start with a warning. (2) A start below the low
 * watermark: the lost records are a recorded gap, and the partition goes on
 * from the low watermark. */
static void test_delivery_retention_never_stops_a_partition_for_good(void)
{
    char path[600];
    long long low[PARTITIONS], high[PARTITIONS], rows;
    int n;
    env_t env;
    dp_proc_t w;
    char why[128];

    if (!DP_ASSERT_MSG(env_start(&env, 1000000, 100000) == 0, "fixtures did not start")) {
        env_stop(&env);
        return;
    }
    DP_ASSERT_MSG(produce_json(&env, 0, "page_view", 56, 0) == 0, "produce failed");
    start_worker(&env, &w, "r1");
    DP_ASSERT_MSG(wait_loaded(&env, 56, 60000) == 56, "the first 56 were not loaded");
    DP_ASSERT_MSG(stop_worker(&w) == 0, "clean stop expected");

    /* @56 valid, @57 5.24 MB: the cap evicts @0..@56. */
    DP_ASSERT_MSG(produce_json(&env, 0, "page_view", 1, 56) == 0, "produce failed");
    DP_ASSERT_MSG(produce_blob(&env, 0, 5240000) == 0, "big record not produced");
    DP_ASSERT_MSG(produce_json(&env, 0, "page_view", 2, 58) == 0, "produce failed");
    DP_ASSERT_FATAL_MSG(dp_kafka_fixture_watermarks(&env.kf, TOPIC, low, high, PARTITIONS, why,
                                                    sizeof(why)) == PARTITIONS,
                        "watermarks: %s", why);
    /* The cap keeps @56 beside the big record (low 56), or not (57). */
    DP_ASSERT_FATAL_MSG((low[0] == 56 || low[0] == 57) && high[0] == 60,
                        "expected watermarks 56..57:60, got %lld:%lld", low[0], high[0]);

    /* (1) The committed start 56 is the low watermark, and @55, whose
     * fingerprint the commit carries, is gone: read from 56 with a warning.
     * (Should the cap have evicted @56 too, this is case (2) already.) */
    start_worker(&env, &w, "r2");
    if (low[0] == 56)
        DP_ASSERT_MSG(wait_log(&env, "r2", "the message before the start, is gone", 60000) == 0,
                      "no warning that the checked message is gone");
    /* sync_runs counts event_errors rows too: the big record is one. */
    rows = wait_loaded(&env, 56 + 3 + (low[0] == 56), 60000);
    DP_ASSERT_MSG(rows == 59 + (low[0] == 56),
                  "expected the records from @%lld loaded after "
                  "the warning, got %lld",
                  low[0], rows);
    DP_ASSERT_MSG(scalar(&env, "SELECT COUNT(*) FROM main.wt.event_errors WHERE "
                               "_kafka_partition = 0 AND _kafka_offset = 57") == 1,
                  "the big record is not in event_errors");
    DP_ASSERT_MSG(stop_worker(&w) == 0, "clean stop expected");
    snprintf(path, sizeof(path), "%s/r2.log", env.ef.dir);
    DP_ASSERT_MSG(!file_contains(path, "] stopped"), "a partition was stopped");

    /* (2) @60 valid, then two big records (@61, @62) evict what came before:
     * the committed start 60 lies below the low watermark (61 to 63). */
    DP_ASSERT_MSG(produce_json(&env, 0, "page_view", 1, 60) == 0, "produce failed");
    DP_ASSERT_MSG(produce_blob(&env, 0, 5240000) == 0, "big record not produced");
    DP_ASSERT_MSG(produce_blob(&env, 0, 5240000) == 0, "big record not produced");
    DP_ASSERT_MSG(produce_json(&env, 0, "page_view", 3, 63) == 0, "produce failed");
    n = dp_kafka_fixture_watermarks(&env.kf, TOPIC, low, high, PARTITIONS, why, sizeof(why));
    DP_ASSERT_FATAL_MSG(n == PARTITIONS && low[0] > 60 && low[0] <= 63 && high[0] == 66,
                        "expected watermarks 61..63:66, got %d partitions, %lld:%lld (%s)", n,
                        low[0], high[0], why);
    start_worker(&env, &w, "r3");
    DP_ASSERT_MSG(wait_log(&env, "r3", "removed by retention before they were loaded", 60000) == 0,
                  "the lost range was not reported");
    rows = wait_loaded(&env, rows + 3 + (low[0] <= 62) + (low[0] <= 61), 60000);
    DP_ASSERT_MSG(stop_worker(&w) == 0, "clean stop expected");
    DP_ASSERT_MSG(scalar(&env, "SELECT COUNT(*) FROM main.wt.evt_otherevents WHERE "
                               "_kafka_offset >= 63") == 3,
                  "expected @63..@65 loaded after the gap");
    snprintf(path, sizeof(path),
             "SELECT COUNT(*) FROM main.wt.sync_runs WHERE status = "
             "'LOST_TO_RETENTION' AND kind = 'gap' AND rows = %lld",
             low[0] - 60);
    DP_ASSERT_MSG(scalar(&env, path) == 1,
                  "expected one sync_runs row recording the lost "
                  "records @60..@%lld",
                  low[0] - 1);
    DP_ASSERT_MSG(scalar(&env, "SELECT COUNT(*) FROM main.wt.evt_otherevents WHERE "
                               "_kafka_offset = 60") == 0,
                  "a lost record was loaded");
    DP_ASSERT_MSG(
        scalar(&env, "SELECT COUNT(DISTINCT _kafka_offset) FROM main.wt.evt_otherevents") ==
            scalar(&env, "SELECT COUNT(*) FROM main.wt.evt_otherevents"),
        "a record was loaded twice");
    env_stop(&env);
}

/* A name promoted past the threshold keeps its own table after a restart:
 * no event is routed before the group's counts are read. */
static void test_delivery_promoted_names_keep_their_table_after_restart(void)
{
    long long own1, shared1, own2, shared2;
    env_t env;
    dp_proc_t w;

    if (!DP_ASSERT_MSG(env_start(&env, 20, 100000) == 0, "fixtures did not start")) {
        env_stop(&env);
        return;
    }
    DP_ASSERT_MSG(produce_json(&env, -1, "purchase", 60, 0) == 0, "produce failed");
    start_worker(&env, &w, "p1");
    DP_ASSERT_MSG(wait_loaded(&env, 60, 60000) == 60, "the first 60 were not loaded");
    /* Promotion follows the first flush: later events go to evt_purchase. */
    DP_ASSERT_MSG(produce_json(&env, -1, "purchase", 20, 60) == 0, "produce failed");
    DP_ASSERT_MSG(wait_loaded(&env, 80, 60000) == 80, "the next 20 were not loaded");
    DP_ASSERT_MSG(stop_worker(&w) == 0, "clean stop expected");
    own1 = scalar(&env, "SELECT COUNT(*) FROM main.wt.evt_purchase");
    shared1 = scalar(&env, "SELECT COUNT(*) FROM main.wt.evt_otherevents");
    DP_ASSERT_MSG(own1 >= 20 && own1 + shared1 == 80, "before the restart: %lld own, %lld shared",
                  own1, shared1);

    /* After the restart every purchase goes to its own table. */
    DP_ASSERT_MSG(produce_json(&env, -1, "purchase", 40, 80) == 0, "produce failed");
    start_worker(&env, &w, "p2");
    DP_ASSERT_MSG(wait_loaded(&env, 120, 60000) == 120, "the last 40 were not loaded");
    DP_ASSERT_MSG(stop_worker(&w) == 0, "clean stop expected");
    own2 = scalar(&env, "SELECT COUNT(*) FROM main.wt.evt_purchase");
    shared2 = scalar(&env, "SELECT COUNT(*) FROM main.wt.evt_otherevents");
    DP_ASSERT_MSG(own2 == own1 + 40 && shared2 == shared1,
                  "after the restart %lld of 40 went to the shared table", shared2 - shared1);
    DP_ASSERT_MSG(check_exactly_once(&env, 120) == 0, "expected no event_errors rows");
    env_stop(&env);
}

/* `incarnation new` on a pool whose topic was not recreated would load
 * everything again: refused, with the reason; --force overrides. */
static void test_delivery_incarnation_new_refuses_a_live_topic(void)
{
    char cmd[1024], out[4096], before[128], after[128];
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    env_t env;
    dp_proc_t w;
    int rc;

    if (!DP_ASSERT_MSG(env_start(&env, 1000000, 100000) == 0, "fixtures did not start")) {
        env_stop(&env);
        return;
    }
    /* Its refusals go to stderr. */
    snprintf(cmd, sizeof(cmd), "%s incarnation new --config %s 2>&1", DP_DELTAPORT_BIN, env.config);
    DP_ASSERT_MSG(produce(&env, 200, 0, 7) == 0, "produce failed");
    start_worker(&env, &w, "i1");
    DP_ASSERT_MSG(wait_loaded(&env, 200, 60000) == 200, "not loaded");
    DP_ASSERT_FATAL_MSG(incarnation(&env, "show", before, sizeof(before)) == 0, "no incarnation");
    /* Live pool, same log. */
    rc = dp_proc_run(argv, out, sizeof(out), scaled(60000));
    DP_ASSERT_MSG(rc == 1 && strstr(out, "refused: the topics still hold what incarnation"),
                  "expected a refusal naming the matching log, got %d: %s", rc, out);
    DP_ASSERT_MSG(stop_worker(&w) == 0, "clean stop expected");
    /* Stopped pool, same log: still refused. */
    rc = dp_proc_run(argv, out, sizeof(out), scaled(60000));
    DP_ASSERT_MSG(rc == 1 && strstr(out, "refused"), "expected a refusal, got %d: %s", rc, out);
    DP_ASSERT_FATAL_MSG(incarnation(&env, "show", after, sizeof(after)) == 0, "no incarnation");
    DP_ASSERT_MSG(strcmp(before, after) == 0, "the incarnation changed although refused");
    /* --force: minted. */
    DP_ASSERT_FATAL_MSG(incarnation(&env, "new", after, sizeof(after)) == 0, "--force failed");
    DP_ASSERT_MSG(strcmp(before, after) != 0, "--force did not mint a new incarnation");
    env_stop(&env);
}

/* Lines of the emulator's request log with both needles. */
static int requests(env_t *env, const char *a, const char *b)
{
    char line[8192];
    FILE *f = fopen(env->ef.request_log, "r");
    int n = 0;

    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        n += strstr(line, a) && strstr(line, b);
    fclose(f);
    return n;
}

static void set_latency(env_t *env, const char *json)
{
    json_t *now = dp_emu_latency(&env->ef, json);

    DP_ASSERT_MSG(now != NULL, "latency %s refused", json);
    json_decref(now);
}

/* A worker stopped while its uploads are in flight, before its manifest:
 * the new owner's claim does not see the flush, so the old owner's late
 * manifest is void and never loaded (the claims rule, H1). */
static void test_delivery_stopped_before_the_manifest_is_fenced(void)
{
    env_t env;
    dp_proc_t w1, w2;

    if (!DP_ASSERT_MSG(env_start(&env, 1000000, 100000) == 0, "fixtures did not start")) {
        env_stop(&env);
        return;
    }
    start_worker(&env, &w1, "a1");
    DP_ASSERT_MSG(wait_log(&env, "a1", "routing ready", 30000) == 0, "a1 never became ready");
    DP_ASSERT_MSG(wait_log(&env, "a1", "claimed ", 30000) == 0, "a1 claimed nothing");
    set_latency(&env, "{\"files_latency_ms\": 4000}");
    DP_ASSERT_MSG(produce(&env, 400, 0, 11) == 0, "produce failed");
    DP_ASSERT_MSG(wait_log(&env, "a1", "cut (", 30000) == 0, "a1 cut no flush");
    dp_test_sleep_ms(1000); /* its uploads are in flight for 3 more seconds */
    dp_proc_signal(&w1, SIGSTOP);
    DP_ASSERT_MSG(!file_contains(env.ef.request_log, "/_manifests/"),
                  "a1's manifest was written before it was stopped: the test did not hold it");
    set_latency(&env, "{\"files_latency_ms\": 0}");
    start_worker(&env, &w2, "a2");
    DP_ASSERT_MSG(wait_loaded(&env, 400, 90000) == 400, "a2 did not load the 400 records");
    dp_proc_signal(&w1, SIGCONT);
    DP_ASSERT_MSG(wait_log(&env, "a1", "fenced, not loaded", 60000) == 0,
                  "a1's late flush was not fenced");
    dp_test_sleep_ms(2000);
    DP_ASSERT_MSG(check_exactly_once(&env, 400) == 0, "expected every record exactly once");
    dp_proc_signal(&w2, SIGTERM);
    dp_proc_signal(&w1, SIGTERM);
    dp_proc_wait(&w2, scaled(30000));
    dp_proc_wait(&w1, scaled(30000));
    env_stop(&env);
}

/* A worker stopped after its manifest, while its claim check runs: the new
 * owner sees the manifest and finishes it; the old owner's late load is a
 * no-op (COPY INTO skips loaded files), so nothing loads twice. */
static void test_delivery_stopped_after_the_manifest_is_finished_once(void)
{
    env_t env;
    dp_proc_t w1, w2;
    char path[400];

    if (!DP_ASSERT_MSG(env_start(&env, 1000000, 100000) == 0, "fixtures did not start")) {
        env_stop(&env);
        return;
    }
    start_worker(&env, &w1, "b1");
    DP_ASSERT_MSG(wait_log(&env, "b1", "routing ready", 30000) == 0, "b1 never became ready");
    DP_ASSERT_MSG(wait_log(&env, "b1", "claimed ", 30000) == 0, "b1 claimed nothing");
    /* Create the table first, so that only the claim check is slow. */
    DP_ASSERT_MSG(produce(&env, 8, 0, 20) == 0, "produce failed");
    DP_ASSERT_MSG(wait_loaded(&env, 8, 30000) == 8, "b1 did not load its first records");
    set_latency(&env, "{\"statement_latency_ms\": 5000}");
    DP_ASSERT_MSG(produce(&env, 400, 0, 21) == 0, "produce failed");
    {
        long long deadline = dp_test_now_ms() + scaled(60000);

        /* The second flush's manifest (the first one's was written and
         * retired already). */
        while (requests(&env, "\"PUT\"", "/_manifests/") < 2 && dp_test_now_ms() < deadline)
            dp_test_sleep_ms(5);
    }
    dp_proc_signal(&w1, SIGSTOP); /* its claim check waits 5 s on the warehouse */
    DP_ASSERT_MSG(requests(&env, "\"PUT\"", "/_manifests/") == 2, "no second manifest");
    set_latency(&env, "{\"statement_latency_ms\": 0}");
    start_worker(&env, &w2, "b2");
    DP_ASSERT_MSG(wait_log(&env, "b2", "completed flush", 90000) == 0,
                  "b2 did not finish b1's flush");
    DP_ASSERT_MSG(wait_loaded(&env, 408, 90000) >= 408, "b2 did not load the 400 records");
    dp_proc_signal(&w1, SIGCONT);
    dp_test_sleep_ms(8000); /* b1 judges, loads (skipped), fails to commit */
    DP_ASSERT_MSG(check_exactly_once(&env, 408) == 0, "expected every record exactly once");
    snprintf(path, sizeof(path), "%s/b1.log", env.ef.dir);
    DP_ASSERT_MSG(file_contains(path, "loaded") || file_contains(path, "fenced"),
                  "b1 never finished its claim check after it was continued");
    dp_proc_signal(&w2, SIGTERM);
    dp_proc_signal(&w1, SIGTERM);
    dp_proc_wait(&w2, scaled(30000));
    dp_proc_wait(&w1, scaled(30000));
    env_stop(&env);
}

static size_t discard(void *p, size_t size, size_t n, void *ctx)
{
    (void)p;
    (void)ctx;
    return size * n;
}

static long http_status(const char *url)
{
    CURL *c = curl_easy_init();
    long status = 0;

    if (!c)
        return -1;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    return status;
}

/* Finishing another worker's flush of many tables with 2 s statements takes
 * tens of seconds; the worker stays live (/healthz 200 every time it is
 * asked) and in its group, and loads everything once. */
static void test_delivery_recovery_keeps_the_worker_live(void)
{
    char top[128], url[128], path[400];
    env_t env;
    dp_proc_t w1, w2;
    int port = 20000 + (int)(getpid() % 20000), polls = 0, bad = 0;
    long long deadline;
    long status;

    snprintf(top, sizeof(top),
             ", \"http\": {\"listen\": \"127.0.0.1:%d\", \"liveness_max_age_ms\": 5000}", port);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", port);
    if (!DP_ASSERT_MSG(env_start(&env, 0, 100000) == 0, "fixtures did not start")) {
        env_stop(&env);
        return;
    }
    start_worker(&env, &w1, "h1");
    DP_ASSERT_MSG(wait_log(&env, "h1", "routing ready", 30000) == 0, "h1 never became ready");
    DP_ASSERT_MSG(wait_log(&env, "h1", "claimed ", 30000) == 0, "h1 claimed nothing");
    /* Threshold 0: every name its own table (the generator's dozen names). */
    set_latency(&env, "{\"statement_latency_ms\": 3000}");
    DP_ASSERT_MSG(produce(&env, 600, 0, 31) == 0, "produce failed");
    DP_ASSERT_MSG(wait_request(&env, "/_manifests/", 90000) == 0, "no manifest was written");
    dp_proc_stop(&w1, 0); /* SIGKILL: its flush stays pending */
    set_latency(&env, "{\"statement_latency_ms\": 2000}");
    g_top_extra = top;
    DP_ASSERT_FATAL_MSG(write_config(&env, 0, 100000) == 0, "config not written");
    g_top_extra = "";
    start_worker(&env, &w2, "h2");
    deadline = dp_test_now_ms() + scaled(240000);
    while (dp_test_now_ms() < deadline) {
        status = http_status(url);
        if (status != 0) { /* 0: not listening yet */
            polls++;
            bad += status != 200;
        }
        snprintf(path, sizeof(path), "%s/h2.log", env.ef.dir);
        if (file_contains(path, "completed flush") &&
            scalar(&env, "SELECT COALESCE(SUM(rows), 0) FROM main.wt.sync_runs WHERE "
                         "status = 'LOADED'") >= 600)
            break;
        dp_test_sleep_ms(250);
    }
    DP_ASSERT_MSG(file_contains(path, "completed flush"), "h2 did not finish h1's flush");
    DP_ASSERT_MSG(polls > 20 && bad == 0, "/healthz answered other than 200 %d times of %d", bad,
                  polls);
    set_latency(&env, "{\"statement_latency_ms\": 0}");
    DP_ASSERT_MSG(wait_loaded(&env, 600, 90000) == 600, "not everything was loaded");
    DP_ASSERT_MSG(check_exactly_once(&env, 600) == 0, "expected every record exactly once");
    dp_proc_signal(&w2, SIGTERM);
    dp_proc_wait(&w2, scaled(30000));
    env_stop(&env);
}

static const dp_test_case_t cases[] = {
    {"test_delivery_retention_never_stops_a_partition_for_good",
     test_delivery_retention_never_stops_a_partition_for_good},
    {"test_delivery_promoted_names_keep_their_table_after_restart",
     test_delivery_promoted_names_keep_their_table_after_restart},
    {"test_delivery_incarnation_new_refuses_a_live_topic",
     test_delivery_incarnation_new_refuses_a_live_topic},
    {"test_delivery_stopped_before_the_manifest_is_fenced",
     test_delivery_stopped_before_the_manifest_is_fenced},
    {"test_delivery_stopped_after_the_manifest_is_finished_once",
     test_delivery_stopped_after_the_manifest_is_finished_once},
    {"test_delivery_recovery_keeps_the_worker_live", test_delivery_recovery_keeps_the_worker_live},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    const dp_test_suite_t suites[] = {{"delivery", NULL, NULL, cases}, {NULL, NULL, NULL, NULL}};

    return dp_test_main(argc, argv, suites);
}
