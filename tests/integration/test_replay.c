/*
 * Integration tests of issue 17 (the worker and `deltaport replay` on the
 * embedded Kafka and the emulator):
 *   - merge_event_id: records that repeat an event_id (in one flush, in later
 *     flushes, in another partition) land once; a worker killed between its
 *     merges and its commit leaves a flush that the next owner merges again
 *     without a duplicate;
 *   - replay of a window inside one partition, across all partitions, run
 *     twice (no change), into the table that holds the rows today, and a
 *     window retention cut into (refused, naming the earliest time available);
 *   - backfill on promotion: a name promoted after 2,000 events ends with all
 *     of its events in its own table and none in the shared one, also when a
 *     worker died between the two steps and another one reran them.
 */
#define _GNU_SOURCE
#include "batch/sysrows.h"
#include "dp_proc.h"
#include "dp_test.h"
#include "load/backfill.h"
#include "load/ddl.h"
#include "worker_env.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static const char *const SHARED = "main.wt.evt_otherevents";

static int stop_worker(dp_proc_t *w)
{
    dp_proc_signal(w, SIGTERM);
    return dp_proc_wait(w, scaled(30000));
}

static long long now_us(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000000 + tv.tv_usec;
}

static void rfc3339(long long us, char *out, size_t len)
{
    time_t t = (time_t)(us / 1000000);
    struct tm tm;
    char base[32];

    gmtime_r(&t, &tm);
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, len, "%s.%06dZ", base, (int)(us % 1000000));
}

/* `deltaport produce` of count events with every repeat_every-th a resend;
 * returns the distinct event ids it reports, or -1. */
static long long produce_repeats(env_t *env, int count, int repeat_every, int seed)
{
    char n[16], r[16], s[16], out[1024];
    char *argv[] = {DP_DELTAPORT_BIN,
                    "produce",
                    "--bootstrap",
                    env->kf.bootstrap,
                    "--topic",
                    TOPIC,
                    "--count",
                    n,
                    "--repeat-every",
                    r,
                    "--seed",
                    s,
                    NULL};
    const char *at;

    snprintf(n, sizeof(n), "%d", count);
    snprintf(r, sizeof(r), "%d", repeat_every);
    snprintf(s, sizeof(s), "%d", seed);
    if (dp_proc_run(argv, out, sizeof(out), scaled(60000)) != 0 || !(at = strstr(out, " resent: ")))
        return -1;
    return strtoll(strchr(at, ':') + 1, NULL, 10);
}

/* `deltaport replay` with args (a shell fragment); its stdout and stderr go
 * to out, without the clients' plain-HTTP warnings. Returns its exit status. */
static int replay(env_t *env, const char *args, char *out, size_t outlen)
{
    char cmd[2048];
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};

    snprintf(cmd, sizeof(cmd),
             "%s replay --config %s %s >%s/replay.out 2>&1; rc=$?; "
             "grep -v allow_insecure_http %s/replay.out; exit $rc",
             DP_DELTAPORT_BIN, env->config, args, env->ef.dir, env->ef.dir);
    return dp_proc_run(argv, out, outlen, scaled(180000));
}

/* Deletes by hand the rows of table whose event ids are <name>-<first..first+n). */
static int delete_ids(env_t *env, const char *table, const char *name, int first, int n)
{
    size_t cap = 256 + (size_t)n * 64, len;
    char *sql = malloc(cap);
    json_t *res;

    len = (size_t)snprintf(sql, cap, "MERGE INTO %s AS t USING (VALUES ", table);
    for (int i = 0; i < n; i++)
        len +=
            (size_t)snprintf(sql + len, cap - len, "%s('%s-%d')", i ? ", " : "", name, first + i);
    snprintf(sql + len, cap - len,
             ") AS s(event_id) ON t.event_id = s.event_id WHEN MATCHED "
             "THEN DELETE");
    res = rows_of(env, sql);
    free(sql);
    if (!res)
        return -1;
    json_decref(res);
    return 0;
}

/* The leading decimal number of s, or -1. */
static int atoi_safe(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);

    return end == s || v < 0 || v > 1000000 ? -1 : (int)v;
}

/* COUNT(*) of table [WHERE where]; a failed statement is said (stderr) and
 * asked again twice (the emulator may be busy with the workers' loads). */
static long long count_of(env_t *env, const char *table, const char *where)
{
    char sql[512];
    long long n = -1;

    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s%s%s", table, where ? " WHERE " : "",
             where ? where : "");
    for (int attempt = 0; attempt < 3 && n < 0; attempt++) {
        json_t *resp = NULL;

        if ((n = scalar(env, sql)) >= 0)
            break;
        if (dp_emu_sql(&env->ef, env->token, sql, &resp) == 0)
            fprintf(stderr, "count_of: %s: %s\n", sql,
                    json_string_value(json_object_get(
                        json_object_get(json_object_get(resp, "status"), "error"), "message")));
        json_decref(resp);
        dp_test_sleep_ms(1000);
    }
    return n;
}

/* Rewrites the worker's configuration with routing.backfill_on_promotion
 * false. Returns 0 or -1. */
static int no_backfill(env_t *env)
{
    static const char key[] = "\"stats_refresh_s\": 10}";
    FILE *f = fopen(env->config, "r");
    char text[8192];
    size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
    char *at;

    if (f)
        fclose(f);
    text[n] = '\0';
    if (!(at = strstr(text, key)) || !(f = fopen(env->config, "w")))
        return -1;
    fprintf(f, "%.*s\"stats_refresh_s\": 10, \"backfill_on_promotion\": false}%s", (int)(at - text),
            text, at + strlen(key));
    fclose(f);
    return 0;
}

/* ------------------------------------------------------------------------- */
/* merge_event_id                                                            */
/* ------------------------------------------------------------------------- */

/* Resends in the same flush, in later flushes and in another partition: each
 * event_id lands once, the first by position kept, and the duplicates are
 * counted in sync_runs, never in event_errors. */
static void test_replay_merge_mode_lands_each_event_id_once(void)
{
    env_t env;
    dp_proc_t w;
    long long loaded;

    g_top_extra = ", \"load\": {\"mode\": \"merge_event_id\"}";
    if (!DP_ASSERT_MSG(env_start(&env, 1000000, 100000) == 0, "fixtures did not start")) {
        env_stop(&env);
        g_top_extra = "";
        return;
    }
    g_top_extra = "";
    /* ids 0..199, then 50..149 again (same keys: same partitions), then
     * 180..209 into partition 2 (180..199 in another partition than before):
     * 330 records, 210 event ids. */
    DP_ASSERT_MSG(produce_json(&env, -1, "purchase", 200, 0) == 0, "produce failed");
    DP_ASSERT_MSG(produce_json(&env, -1, "purchase", 100, 50) == 0, "produce failed");
    start_worker(&env, &w, "m1");
    DP_ASSERT_MSG(wait_loaded(&env, 300, 60000) == 300, "the first 300 were not loaded");
    DP_ASSERT_MSG(produce_json(&env, 2, "purchase", 30, 180) == 0, "produce failed");
    loaded = wait_loaded(&env, 330, 60000);
    DP_ASSERT_MSG(loaded == 330, "expected 330 staged rows loaded, got %lld", loaded);
    DP_ASSERT_MSG(stop_worker(&w) == 0, "clean stop expected");
    DP_ASSERT_MSG(count_of(&env, SHARED, NULL) == 210,
                  "expected 210 rows (one per event_id), "
                  "got %lld",
                  count_of(&env, SHARED, NULL));
    DP_ASSERT_MSG(scalar(&env, "SELECT COUNT(DISTINCT event_id) FROM main.wt.evt_otherevents") ==
                      210,
                  "expected 210 distinct event ids");
    /* The first by position is kept: in every partition the resends of ids
     * 50..149 come after every original, so the kept rows of 50..149 lie
     * before those of 150..199 (originals only). */
    {
        json_t *rows = rows_of(&env, "SELECT event_id, _kafka_partition, _kafka_offset FROM "
                                     "main.wt.evt_otherevents"),
               *row;
        long long max_rep[PARTITIONS], min_orig[PARTITIONS];
        size_t i;

        for (int p = 0; p < PARTITIONS; p++)
            max_rep[p] = -1, min_orig[p] = -1;
        json_array_foreach(rows, i, row)
        {
            long long id = strtoll(json_string_value(json_array_get(row, 0)) + 9, NULL, 10);
            long long p = strtoll(json_string_value(json_array_get(row, 1)), NULL, 10);
            long long o = strtoll(json_string_value(json_array_get(row, 2)), NULL, 10);

            if (p < 0 || p >= PARTITIONS)
                continue;
            if (id >= 50 && id < 150 && o > max_rep[p])
                max_rep[p] = o;
            if (id >= 150 && id < 180 && (min_orig[p] < 0 || o < min_orig[p]))
                min_orig[p] = o;
        }
        json_decref(rows);
        for (int p = 0; p < PARTITIONS; p++)
            DP_ASSERT_MSG(max_rep[p] < 0 || min_orig[p] < 0 || max_rep[p] < min_orig[p],
                          "partition %d: a resend was kept instead of the first record "
                          "(@%lld after @%lld)",
                          p, max_rep[p], min_orig[p]);
    }
    DP_ASSERT_MSG(scalar(&env, "SELECT SUM(duplicates) FROM main.wt.sync_runs WHERE kind = "
                               "'file'") == 120,
                  "expected 120 duplicates counted in sync_runs, got %lld",
                  scalar(&env, "SELECT SUM(duplicates) FROM main.wt.sync_runs WHERE kind = "
                               "'file'"));
    DP_ASSERT_MSG(count_of(&env, "main.wt.event_errors", NULL) == 0,
                  "duplicates must not become event_errors rows");
    env_stop(&env);
}

/* A worker killed between its merges and its commit: the next owner merges
 * the flush's files again (finishing the manifest), and nothing doubles. */
static void test_replay_merge_mode_crash_after_merge_is_finished_once(void)
{
    env_t env;
    dp_proc_t w;
    long long distinct = 0, d, loaded;
    char path[400];

    g_top_extra = ", \"load\": {\"mode\": \"merge_event_id\"}";
    /* Every name in the shared table: a resend must meet its original in
     * one table (across a promotion it meets it after the backfill). */
    if (!DP_ASSERT_MSG(env_start(&env, 1000000, 100000) == 0, "fixtures did not start")) {
        env_stop(&env);
        g_top_extra = "";
        return;
    }
    g_top_extra = "";
    d = produce_repeats(&env, 300, 10, 81);
    DP_ASSERT_MSG(d == 270, "expected 270 distinct ids, got %lld", d);
    distinct += d;
    start_worker(&env, &w, "k1");
    /* A flush's statements run milliseconds apart, and the submit is logged
     * when it answers. So once k1 runs, every statement is held 8 s, longer
     * than the submit's 5 s wait: the MERGE's submit answers PENDING, k1 is
     * killed then, and the MERGE runs after k1 died, with no ledger rows. */
    DP_ASSERT_MSG(wait_log(&env, "k1", "claimed (epoch", 60000) == 0, "k1 did not claim");
    DP_ASSERT_MSG(dp_emu_fault(&env.ef, "{\"endpoint\":\"statements.submit\",\"kind\":"
                                        "\"pending\",\"seconds\":8,\"count\":1000}") == 0,
                  "fault not set");
    DP_ASSERT_MSG(wait_request(&env, "MERGE WITH SCHEMA EVOLUTION", 60000) == 0,
                  "no merge was submitted");
    dp_proc_signal(&w, SIGSTOP);
    dp_proc_signal(&w, SIGKILL);
    dp_proc_wait(&w, scaled(10000));
    clear_faults(&env);
    DP_ASSERT_MSG(committed_to_end(&env) == 0, "the flush was committed before the kill: the test "
                                               "did not hit the window it is about");
    d = produce_repeats(&env, 200, 10, 82);
    DP_ASSERT_MSG(d == 180, "expected 180 distinct ids, got %lld", d);
    distinct += d;
    start_worker(&env, &w, "k2");
    loaded = wait_loaded(&env, 500, 120000);
    DP_ASSERT_MSG(loaded >= 500, "expected 500 staged rows loaded, got %lld", loaded);
    DP_ASSERT_MSG(stop_worker(&w) == 0, "clean stop expected");
    snprintf(path, sizeof(path), "%s/k2.log", env.ef.dir);
    DP_ASSERT_MSG(file_contains(path, "completed flush"), "k2 did not finish k1's flush");
    {
        json_t *tables = rows_of(&env, "SHOW TABLES IN main.wt"), *row;
        long long rows = 0, ids = 0;
        size_t i;
        char sql[256];

        json_array_foreach(tables, i, row)
        {
            const char *t = json_string_value(json_array_get(row, 1));

            if (!t || strncmp(t, "evt_", 4) != 0)
                continue;
            snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM main.wt.%s", t);
            rows += scalar(&env, sql);
            snprintf(sql, sizeof(sql), "SELECT COUNT(DISTINCT event_id) FROM main.wt.%s", t);
            ids += scalar(&env, sql);
        }
        json_decref(tables);
        DP_ASSERT_MSG(rows == distinct && ids == distinct,
                      "expected %lld rows, one per event_id, got %lld rows and %lld ids", distinct,
                      rows, ids);
    }
    DP_ASSERT_MSG(committed_to_end(&env) == PARTITIONS, "offsets not committed to the end");
    env_stop(&env);
}

/* ------------------------------------------------------------------------- */
/* Replay                                                                    */
/* ------------------------------------------------------------------------- */

/* Produces three batches a second or more apart; t1 and t2 receive the
 * times between them. */
static int three_batches(env_t *env, int pa, int pb, int pc, long long *t1, long long *t2)
{
    int rc = produce_json(env, pa, "page_view", 50, 0);

    dp_test_sleep_ms(1200);
    *t1 = now_us();
    dp_test_sleep_ms(200);
    rc |= produce_json(env, pb, "page_view", 40, 100);
    dp_test_sleep_ms(1200);
    *t2 = now_us();
    dp_test_sleep_ms(200);
    rc |= produce_json(env, pc, "page_view", 30, 200);
    return rc;
}

/* A window inside one partition: what was deleted from it comes back; a
 * second run changes nothing; each run is a sync_runs row of kind replay. */
static void test_replay_window_inside_one_partition(void)
{
    char from[48], to[48], args[256], out[65536];
    long long t1, t2, before;
    env_t env;
    dp_proc_t w;
    int rc;

    if (!DP_ASSERT_MSG(env_start(&env, 1000000, 100000) == 0, "fixtures did not start")) {
        env_stop(&env);
        return;
    }
    start_worker(&env, &w, "r1");
    DP_ASSERT_FATAL_MSG(three_batches(&env, 1, 0, 1, &t1, &t2) == 0, "produce failed");
    DP_ASSERT_MSG(wait_loaded(&env, 120, 60000) == 120, "not loaded");
    DP_ASSERT_MSG(stop_worker(&w) == 0, "clean stop expected");
    DP_ASSERT_MSG(scalar(&env, "SELECT COUNT(*) FROM main.wt.ledger WHERE kind = 'range' AND "
                               "(ts_min IS NULL OR ts_max IS NULL OR ts_min > ts_max)") == 0,
                  "every ledger range must carry its records' timestamps");
    before = count_of(&env, SHARED, NULL);
    DP_ASSERT_MSG(before == 120, "expected 120 rows, got %lld", before);
    /* A user deletes the middle batch by mistake. */
    DP_ASSERT_FATAL_MSG(delete_ids(&env, SHARED, "page_view", 100, 40) == 0, "delete failed");
    DP_ASSERT_MSG(count_of(&env, SHARED, NULL) == 80, "the delete did not take");
    rfc3339(t1, from, sizeof(from));
    rfc3339(t2, to, sizeof(to));
    snprintf(args, sizeof(args), "--from %s --to %s --topic " TOPIC, from, to);
    rc = replay(&env, args, out, sizeof(out));
    DP_ASSERT_MSG(rc == 0, "replay failed (%d): %s", rc, out);
    DP_ASSERT_MSG(strstr(out, "(1 with records in the window)") && strstr(out, "40 replayed"),
                  "expected 40 records of one partition replayed: %s", out);
    DP_ASSERT_MSG(count_of(&env, SHARED, NULL) == 120, "expected the 40 rows back, got %lld rows",
                  count_of(&env, SHARED, NULL));
    DP_ASSERT_MSG(count_of(&env, SHARED, "event_id = 'page_view-120' AND _kafka_partition = 0") ==
                      1,
                  "a replayed row keeps its lineage");
    /* Run twice: nothing changes. */
    rc = replay(&env, args, out, sizeof(out));
    DP_ASSERT_MSG(rc == 0 && strstr(out, "inserted 0, already there 40"),
                  "the second run must insert nothing (%d): %s", rc, out);
    DP_ASSERT_MSG(count_of(&env, SHARED, NULL) == 120 &&
                      scalar(&env, "SELECT COUNT(DISTINCT event_id) FROM "
                                   "main.wt.evt_otherevents") == 120,
                  "the second replay changed the table");
    DP_ASSERT_MSG(count_of(&env, "main.wt.sync_runs", "kind = 'replay'") == 2,
                  "expected one sync_runs row per replay");
    /* Nothing the pool writes: no manifest, ledger row or claim. */
    DP_ASSERT_MSG(count_of(&env, "main.wt.ledger", "worker_id <> 'r1'") == 0,
                  "replay wrote ledger rows");
    env_stop(&env);
}

/* A window across every partition, and a --to past what the pool loaded is
 * refused. */
static void test_replay_window_across_all_partitions(void)
{
    char from[48], to[48], args[256], out[65536];
    long long t1, t2;
    env_t env;
    dp_proc_t w;
    int rc;

    if (!DP_ASSERT_MSG(env_start(&env, 1000000, 100000) == 0, "fixtures did not start")) {
        env_stop(&env);
        return;
    }
    DP_ASSERT_FATAL_MSG(three_batches(&env, -1, -1, -1, &t1, &t2) == 0, "produce failed");
    start_worker(&env, &w, "a1");
    DP_ASSERT_MSG(wait_loaded(&env, 120, 60000) == 120, "not loaded");
    DP_ASSERT_MSG(stop_worker(&w) == 0, "clean stop expected");
    DP_ASSERT_FATAL_MSG(delete_ids(&env, SHARED, "page_view", 100, 40) == 0, "delete failed");
    rfc3339(t1, from, sizeof(from));
    rfc3339(t2, to, sizeof(to));
    snprintf(args, sizeof(args), "--from %s --to %s", from, to);
    rc = replay(&env, args, out, sizeof(out));
    DP_ASSERT_MSG(rc == 0 && strstr(out, "40 replayed") && strstr(out, "inserted 40"),
                  "replay failed (%d): %s", rc, out);
    {
        const char *at = strstr(out, " with records in the window)");
        int nparts = at && (at = strstr(out, "read (")) ? atoi_safe(at + 6) : 0;

        DP_ASSERT_MSG(nparts == PARTITIONS, "expected the window in all %d partitions, got %d: %s",
                      PARTITIONS, nparts, out);
    }
    DP_ASSERT_MSG(count_of(&env, SHARED, NULL) == 120, "expected 120 rows, got %lld",
                  count_of(&env, SHARED, NULL));
    /* Past the newest loaded record: refused, nothing read. */
    rfc3339(now_us() + 3600LL * 1000000, to, sizeof(to));
    snprintf(args, sizeof(args), "--from %s --to %s", from, to);
    rc = replay(&env, args, out, sizeof(out));
    DP_ASSERT_MSG(rc == 1 && strstr(out, "past the newest record the pool has loaded"),
                  "a --to past the ledger must be refused (%d): %s", rc, out);
    /* A --from after the newest loaded record (produced seconds before the
     * loads, stop and replays above), --to left out: refused too. */
    rfc3339(now_us() - 1000000, from, sizeof(from));
    snprintf(args, sizeof(args), "--from %s", from);
    rc = replay(&env, args, out, sizeof(out));
    DP_ASSERT_MSG(rc == 1 && strstr(out, "--from is after the newest record the pool has loaded"),
                  "a --from past the ledger must be refused (%d): %s", rc, out);
    env_stop(&env);
}

/* Retention removed the start of the window: refused, with the earliest time
 * available; a replay from that time works. */
static void test_replay_window_before_retention(void)
{
    char args[256], out[65536], earliest[64];
    const char *at;
    env_t env;
    dp_proc_t w;
    long long low[PARTITIONS], high[PARTITIONS];
    char why[128];
    int rc;

    if (!DP_ASSERT_MSG(env_start(&env, 1000000, 100000) == 0, "fixtures did not start")) {
        env_stop(&env);
        return;
    }
    DP_ASSERT_MSG(produce_json(&env, 0, "page_view", 30, 0) == 0, "produce failed");
    start_worker(&env, &w, "t1");
    DP_ASSERT_MSG(wait_loaded(&env, 30, 60000) == 30, "not loaded");
    dp_test_sleep_ms(1200);
    /* A 5.24 MB record makes the embedded Kafka's 5 MiB cap evict the 30. */
    DP_ASSERT_MSG(produce_blob(&env, 0, 5240000) == 0, "big record not produced");
    DP_ASSERT_MSG(produce_json(&env, 0, "page_view", 10, 30) == 0, "produce failed");
    /* The big record itself may be evicted before the worker reads it (a
     * recorded gap then), or land in event_errors: wait for the 10. */
    for (long long deadline = dp_test_now_ms() + scaled(60000);
         count_of(&env, SHARED, NULL) < 40 && dp_test_now_ms() < deadline;)
        dp_test_sleep_ms(300);
    DP_ASSERT_MSG(count_of(&env, SHARED, NULL) == 40, "not loaded");
    DP_ASSERT_MSG(stop_worker(&w) == 0, "clean stop expected");
    DP_ASSERT_FATAL_MSG(dp_kafka_fixture_watermarks(&env.kf, TOPIC, low, high, PARTITIONS, why,
                                                    sizeof(why)) == PARTITIONS &&
                            low[0] >= 30,
                        "expected retention to have removed @0..@29 (%s)", why);
    rc = replay(&env, "--from 1h", out, sizeof(out));
    at = strstr(out, "The earliest time available is ");
    DP_ASSERT_MSG(rc == 1 && at,
                  "a window before retention must be refused with the earliest "
                  "time (%d): %s",
                  rc, out);
    if (rc == 1 && at) {
        const char *t = at + strlen("The earliest time available is "), *z = strchr(t, 'Z');

        DP_ASSERT_FATAL_MSG(z && z - t < 40, "no time in: %s", at);
        snprintf(earliest, sizeof(earliest), "%.*s", (int)(z - t + 1), t);
        snprintf(args, sizeof(args), "--from %s", earliest);
        rc = replay(&env, args, out, sizeof(out));
        DP_ASSERT_MSG(rc == 0 && strstr(out, "inserted 0"),
                      "a replay from the earliest time must work and change nothing (%d): %s", rc,
                      out);
    }
    DP_ASSERT_MSG(count_of(&env, SHARED, NULL) == 40, "the table changed");
    env_stop(&env);
}

/* Each replayed row goes to the table that holds its name's rows around it
 * today (lineage), not where routing sends the name now: purchases from
 * before the promotion go back to the shared table. */
static void test_replay_to_the_table_that_holds_the_rows(void)
{
    char out[65536];
    env_t env;
    dp_proc_t w;
    long long shared, own;
    int rc;

    /* Threshold 20, and no backfill: the first flush's purchases stay in
     * the shared table, the later ones go to evt_purchase. */
    if (!DP_ASSERT_MSG(env_start(&env, 20, 100000) == 0, "fixtures did not start")) {
        env_stop(&env);
        return;
    }
    DP_ASSERT_FATAL_MSG(no_backfill(&env) == 0, "config not patched");
    DP_ASSERT_MSG(produce_json(&env, 3, "purchase", 20, 0) == 0, "produce failed");
    start_worker(&env, &w, "l1");
    DP_ASSERT_MSG(wait_loaded(&env, 20, 60000) == 20, "not loaded");
    DP_ASSERT_MSG(produce_json(&env, 3, "purchase", 20, 20) == 0, "produce failed");
    DP_ASSERT_MSG(wait_loaded(&env, 40, 60000) == 40, "not loaded");
    DP_ASSERT_MSG(stop_worker(&w) == 0, "clean stop expected");
    shared = count_of(&env, SHARED, "event_name = 'purchase'");
    own = count_of(&env, "main.wt.evt_purchase", NULL);
    DP_ASSERT_FATAL_MSG(shared == 20 && own == 20, "expected 20 + 20, got %lld shared, %lld own",
                        shared, own);
    DP_ASSERT_FATAL_MSG(delete_ids(&env, SHARED, "purchase", 5, 10) == 0 &&
                            delete_ids(&env, "main.wt.evt_purchase", "purchase", 25, 10) == 0,
                        "delete failed");
    rc = replay(&env, "--from 1h --names purchase,nothing_else", out, sizeof(out));
    DP_ASSERT_MSG(rc == 0 && strstr(out, "inserted 20"), "replay failed (%d): %s", rc, out);
    DP_ASSERT_MSG(count_of(&env, SHARED, "event_name = 'purchase'") == 20 &&
                      count_of(&env, "main.wt.evt_purchase", NULL) == 20,
                  "expected 20 + 20 again, got %lld shared, %lld own",
                  count_of(&env, SHARED, "event_name = 'purchase'"),
                  count_of(&env, "main.wt.evt_purchase", NULL));
    env_stop(&env);
}

/* ------------------------------------------------------------------------- */
/* Backfill on promotion                                                     */
/* ------------------------------------------------------------------------- */

/* Waits until the backfills table says name is done; returns 0 or -1. */
static int wait_backfilled(env_t *env, const char *name, long timeout_ms)
{
    long long deadline = dp_test_now_ms() + scaled(timeout_ms);
    char sql[256];

    snprintf(sql, sizeof(sql),
             "SELECT COUNT(*) FROM main.wt.backfills WHERE event_name = '%s' "
             "AND state = 'done'",
             name);
    while (dp_test_now_ms() < deadline) {
        if (scalar(env, sql) >= 1)
            return 0;
        dp_test_sleep_ms(1000);
    }
    return -1;
}

/* A name promoted after 2,000 events: its first 2,000 went to the shared
 * table; the backfill moves them, and the shared table keeps the others. */
static void test_replay_backfill_moves_a_promoted_name(void)
{
    env_t env;
    dp_proc_t w;
    long long own, shared, other;

    if (!DP_ASSERT_MSG(env_start(&env, 2000, 100000) == 0, "fixtures did not start")) {
        env_stop(&env);
        return;
    }
    DP_ASSERT_MSG(produce_json(&env, -1, "purchase", 2000, 0) == 0, "produce failed");
    DP_ASSERT_MSG(produce_json(&env, -1, "page_view", 300, 0) == 0, "produce failed");
    start_worker(&env, &w, "b1");
    DP_ASSERT_MSG(wait_loaded(&env, 2300, 90000) == 2300, "not loaded");
    DP_ASSERT_MSG(produce_json(&env, -1, "purchase", 500, 2000) == 0, "produce failed");
    DP_ASSERT_MSG(wait_loaded(&env, 2800, 90000) == 2800, "not loaded");
    DP_ASSERT_MSG(count_of(&env, "main.wt.evt_purchase", NULL) == 500,
                  "the 500 after the promotion go to evt_purchase, got %lld",
                  count_of(&env, "main.wt.evt_purchase", NULL));
    DP_ASSERT_MSG(wait_backfilled(&env, "purchase", 180000) == 0, "no backfill within 3 min");
    DP_ASSERT_MSG(stop_worker(&w) == 0, "clean stop expected");
    own = count_of(&env, "main.wt.evt_purchase", NULL);
    shared = count_of(&env, SHARED, "event_name = 'purchase'");
    other = count_of(&env, SHARED, "event_name = 'page_view'");
    DP_ASSERT_MSG(own == 2500 && shared == 0 && other == 300,
                  "expected 2500 purchases in their table, none shared, 300 page views shared; "
                  "got %lld, %lld, %lld",
                  own, shared, other);
    DP_ASSERT_MSG(scalar(&env, "SELECT COUNT(DISTINCT _kafka_offset * 100 + _kafka_partition) "
                               "FROM main.wt.evt_purchase") == 2500,
                  "a purchase was moved twice");
    DP_ASSERT_MSG(count_of(&env, "main.wt.sync_runs", "kind = 'backfill' AND rows = 2000") == 1,
                  "expected one sync_runs row of kind backfill for the 2000 rows");
    DP_ASSERT_MSG(check_exactly_once(&env, 2800) == 0, "expected every record exactly once");
    env_stop(&env);
}

/* A worker died between the two steps (its claim still 'running', the rows
 * in both tables): the next worker takes the claim over and reruns both;
 * the result is the same as one clean run. */
static void test_replay_backfill_crash_between_steps_and_rerun(void)
{
    char sql[8192], *move, *cols;
    env_t env;
    dp_proc_t w;
    long long own, shared;
    json_t *res;

    if (!DP_ASSERT_MSG(env_start(&env, 2000, 100000) == 0, "fixtures did not start")) {
        env_stop(&env);
        return;
    }
    /* The first worker never backfills. */
    DP_ASSERT_FATAL_MSG(no_backfill(&env) == 0, "config not patched");
    DP_ASSERT_MSG(produce_json(&env, -1, "purchase", 2100, 0) == 0, "produce failed");
    start_worker(&env, &w, "c1");
    DP_ASSERT_MSG(wait_loaded(&env, 2100, 90000) == 2100, "not loaded");
    DP_ASSERT_MSG(stop_worker(&w) == 0, "clean stop expected");
    DP_ASSERT_FATAL_MSG(count_of(&env, SHARED, "event_name = 'purchase'") == 2000 &&
                            count_of(&env, "main.wt.evt_purchase", NULL) == 100,
                        "expected 2000 shared and 100 own");
    /* What a dead worker left: the first step done, its claim running. The
     * move's columns are the table's, but _loaded_at. */
    {
        json_t *desc = rows_of(&env, "DESCRIBE TABLE main.wt.evt_purchase"), *row;
        size_t i, len = 0;

        cols = calloc(1, 8192);
        json_array_foreach(desc, i, row)
        {
            const char *c = json_string_value(json_array_get(row, 0));

            if (c && strcmp(c, "_loaded_at") != 0 && c[0] != '#')
                len += (size_t)snprintf(cols + len, 8192 - len, "%s`%s`", len ? ", " : "", c);
        }
        json_decref(desc);
    }
    DP_ASSERT_FATAL_MSG(cols[0] != '\0', "no columns");
    move = dp_backfill_move_sql("main.wt.evt_purchase", SHARED, cols, 0);
    snprintf(sql, sizeof(sql), "%s", move);
    {
        char *p = strstr(sql, ":name");

        DP_ASSERT_FATAL_MSG(p != NULL, "no :name in the move");
        memmove(p + strlen("'purchase'"), p + 5, strlen(p + 5) + 1);
        memcpy(p, "'purchase'", strlen("'purchase'"));
    }
    res = rows_of(&env, sql);
    DP_ASSERT_FATAL_MSG(res != NULL, "the first step by hand failed: %s", sql);
    json_decref(res);
    free(move);
    free(cols);
    /* The dead worker had made the backfills table. */
    {
        dp_err_t err;
        char *ddl = dp_ddl_create_table("main.wt.backfills", dp_sysrows_backfills_schema, &err);

        DP_ASSERT_FATAL_MSG(ddl != NULL, "ddl: %s", err.msg);
        res = rows_of(&env, ddl);
        free(ddl);
        DP_ASSERT_FATAL_MSG(res != NULL, "the backfills table could not be made");
        json_decref(res);
    }
    snprintf(sql, sizeof(sql),
             "INSERT INTO main.wt.backfills (event_name, shared_table, epoch, "
             "member, claimed_at_us, state) VALUES ('purchase', 'evt_otherevents', 1, "
             "'dead-worker', %lld, 'running')",
             now_us() - (long long)(DP_BACKFILL_LEASE_S + 60) * 1000000);
    res = rows_of(&env, sql);
    DP_ASSERT_FATAL_MSG(res != NULL, "the dead worker's claim could not be written");
    json_decref(res);
    DP_ASSERT_MSG(count_of(&env, "main.wt.evt_purchase", NULL) == 2100 &&
                      count_of(&env, SHARED, "event_name = 'purchase'") == 2000,
                  "after the first step: rows in both tables");
    /* The next worker, with the backfill on. */
    write_config(&env, 2000, 100000);
    start_worker(&env, &w, "c2");
    DP_ASSERT_MSG(wait_backfilled(&env, "purchase", 180000) == 0, "no backfill within 3 min");
    DP_ASSERT_MSG(stop_worker(&w) == 0, "clean stop expected");
    own = count_of(&env, "main.wt.evt_purchase", NULL);
    shared = count_of(&env, SHARED, "event_name = 'purchase'");
    DP_ASSERT_MSG(own == 2100 && shared == 0,
                  "expected the same result as one clean run (2100 own, 0 shared), got %lld, %lld",
                  own, shared);
    DP_ASSERT_MSG(count_of(&env, "main.wt.backfills",
                           "epoch = 2 AND member = 'c2' AND state = "
                           "'done'") == 1,
                  "the dead worker's claim was not taken over at epoch 2");
    DP_ASSERT_MSG(check_exactly_once(&env, 2100) == 0, "expected every record exactly once");
    env_stop(&env);
}

static const dp_test_case_t cases[] = {
    {"test_replay_merge_mode_lands_each_event_id_once",
     test_replay_merge_mode_lands_each_event_id_once},
    {"test_replay_merge_mode_crash_after_merge_is_finished_once",
     test_replay_merge_mode_crash_after_merge_is_finished_once},
    {"test_replay_window_inside_one_partition", test_replay_window_inside_one_partition},
    {"test_replay_window_across_all_partitions", test_replay_window_across_all_partitions},
    {"test_replay_window_before_retention", test_replay_window_before_retention},
    {"test_replay_to_the_table_that_holds_the_rows", test_replay_to_the_table_that_holds_the_rows},
    {"test_replay_backfill_moves_a_promoted_name", test_replay_backfill_moves_a_promoted_name},
    {"test_replay_backfill_crash_between_steps_and_rerun",
     test_replay_backfill_crash_between_steps_and_rerun},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    const dp_test_suite_t suites[] = {{"replay", NULL, NULL, cases}, {NULL, NULL, NULL, NULL}};

    return dp_test_main(argc, argv, suites);
}
