/*
 * Integration tests of the flush path of `deltaport run` (the embedded Kafka
 * and the Databricks emulator, real processes on loopback):
 *   - a flush never exceeds flush.max_bytes, also while the previous flush
 *     loads slowly (issue 11 item 7: the next flush used to fill to half the
 *     memory budget), and everything is still loaded once.
 */
#define _GNU_SOURCE
#include "dp_proc.h"
#include "dp_test.h"
#include "emu_fixture.h"
#include "kafka_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOPIC "events"
#define PARTITIONS 4

typedef struct env {
    dp_kafka_fixture_t kf;
    dp_emu_fixture_t ef;
    char token[2048];
    char config[400];
    char log[400];
    int up;
} env_t;

static long scaled(long ms)
{
    return ms * dp_test_timeout_scale();
}

/* flush is the JSON "flush" object of the configuration. */
static int env_start(env_t *env, const char *flush)
{
    char topic[32];
    const char *topics[] = {topic, NULL};
    FILE *f;

    memset(env, 0, sizeof(*env));
    snprintf(topic, sizeof(topic), TOPIC ":%d", PARTITIONS);
    if (dp_kafka_fixture_start(&env->kf, 1, topics) < 0)
        return -1;
    if (dp_emu_fixture_start(&env->ef, NULL) < 0) {
        dp_kafka_fixture_stop(&env->kf);
        return -1;
    }
    env->up = 1;
    setenv("DELTAPORT_DATABRICKS_CLIENT_SECRET", DP_EMU_CLIENT_SECRET, 1);
    setenv("DELTAPORT_WORKER_ID", "fp-worker", 1);
    snprintf(env->config, sizeof(env->config), "%s/worker.json", env->ef.dir);
    snprintf(env->log, sizeof(env->log), "%s/worker.log", env->ef.dir);
    if (!(f = fopen(env->config, "w")))
        return -1;
    fprintf(f,
            "{\"kafka\": {\"bootstrap_servers\": \"%s\", \"topics\": [\"" TOPIC "\"],\n"
            "  \"group_id\": \"fp-%d\", \"properties\": {\"session.timeout.ms\": 6000,\n"
            "  \"heartbeat.interval.ms\": 1000, \"fetch.wait.max.ms\": 10}},\n"
            " \"schemas\": {\"dir\": \"%s/schemas\"},\n"
            " \"routing\": {\"mode\": \"threshold\", \"threshold\": 100, \"stats_refresh_s\": 10},\n"
            " \"flush\": %s,\n"
            " \"databricks\": {\"host\": \"%s\", \"allow_insecure_http\": true,\n"
            "  \"warehouse_id\": \"" DP_EMU_WAREHOUSE "\", \"catalog\": \"main\",\n"
            "  \"schema\": \"fp\", \"volume\": \"staging\", \"create_schema\": true,\n"
            "  \"auth\": \"oauth\", \"client_id\": \"" DP_EMU_CLIENT_ID "\",\n"
            "  \"statement_wait_timeout_s\": 5, \"http_timeout_ms\": 30000},\n"
            " \"log\": {\"level\": \"info\"},\n"
            " \"worker\": {\"shutdown_timeout_ms\": 20000}}\n",
            env->kf.bootstrap, (int)getpid(), DP_SOURCE_DIR, flush, env->ef.url);
    fclose(f);
    return dp_emu_token(&env->ef, DP_EMU_CLIENT_ID, DP_EMU_CLIENT_SECRET, env->token,
                        sizeof(env->token));
}

static void env_stop(env_t *env)
{
    if (!env->up)
        return;
    dp_emu_fixture_stop(&env->ef);
    dp_kafka_fixture_stop(&env->kf);
    env->up = 0;
}

static int produce(env_t *env, int count, int seed)
{
    char n[16], s[16], out[512];
    char *argv[] = {DP_DELTAPORT_BIN, "produce", "--bootstrap", env->kf.bootstrap, "--topic",
                    TOPIC, "--count", n, "--seed", s, "--quiet", NULL};

    snprintf(n, sizeof(n), "%d", count);
    snprintf(s, sizeof(s), "%d", seed);
    return dp_proc_run(argv, out, sizeof(out), scaled(60000));
}

static int start_worker(env_t *env, dp_proc_t *proc)
{
    char *argv[] = {DP_DELTAPORT_BIN, "run", "--config", env->config, NULL};

    return dp_proc_start(proc, argv, 0, env->log);
}

static long long loaded_rows(env_t *env)
{
    return dp_emu_scalar(&env->ef, env->token, "SELECT COALESCE(SUM(rows), 0) FROM "
                                               "main.fp.sync_runs WHERE status = 'LOADED'");
}

static long long wait_loaded(env_t *env, long long want, long timeout_ms)
{
    long long deadline = dp_test_now_ms() + scaled(timeout_ms), n = -1;

    while (dp_test_now_ms() < deadline) {
        if ((n = loaded_rows(env)) >= want)
            return n;
        dp_test_sleep_ms(300);
    }
    return n;
}

/* Scans the worker's log for "flush N cut (why): R rows, B bytes" lines:
 * how many, and the largest B. */
static int flush_cuts(const char *path, long long *max_bytes)
{
    char line[4096];
    FILE *f = fopen(path, "r");
    int n = 0;

    *max_bytes = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f)) {
        const char *p = strstr(line, " cut (");
        long long rows, bytes;

        if (!p || !(p = strstr(p, "): ")) || sscanf(p, "): %lld rows, %lld bytes", &rows,
                                                     &bytes) != 2)
            continue;
        n++;
        if (bytes > *max_bytes)
            *max_bytes = bytes;
    }
    fclose(f);
    return n;
}

/* Issue 11 item 7: with the loads slowed down (every statement held 2 s
 * PENDING for a while), the open flush must still be cut at max_bytes
 * (256 KiB here), never fill towards half the 64 MiB budget. */
static void test_flush_path_flush_never_exceeds_max_bytes(void)
{
    env_t env;
    dp_proc_t w;
    long long max = 0, loaded;
    int cuts;

    DP_ASSERT_FATAL_MSG(env_start(&env, "{\"max_events\": 100000, \"max_bytes\": \"256KiB\", "
                                         "\"max_age_ms\": 1000, \"memory_budget_bytes\": "
                                         "\"64MiB\"}") == 0,
                        "environment did not start");
    DP_ASSERT_FATAL_MSG(produce(&env, 2000, 5) == 0, "produce failed");
    DP_ASSERT_FATAL_MSG(start_worker(&env, &w) == 0, "worker did not start");
    DP_ASSERT_MSG(wait_loaded(&env, 2000, 60000) >= 2000, "the first 2000 events were not loaded");
    /* From now on each statement waits 2 s in the queue: the loader is busy
     * while 8000 more events (about 2.4 MB) arrive. */
    DP_ASSERT_FATAL_MSG(dp_emu_fault(&env.ef, "{\"endpoint\": \"statements.submit\", \"kind\": "
                                              "\"pending\", \"seconds\": 2, \"count\": 12}") == 0,
                        "fault not set");
    DP_ASSERT_FATAL_MSG(produce(&env, 8000, 6) == 0, "produce failed");
    loaded = wait_loaded(&env, 10000, 180000);
    dp_proc_stop(&w, scaled(30000));
    cuts = flush_cuts(env.log, &max);
    DP_ASSERT_MSG(loaded == 10000, "expected 10000 rows loaded, got %lld (log %s)", loaded,
                  env.log);
    DP_ASSERT_MSG(cuts >= 10, "expected at least 10 flushes of at most 256 KiB, got %d", cuts);
    DP_ASSERT_MSG(max > 0 && max <= 256 * 1024,
                  "a flush of %lld bytes was cut, flush.max_bytes is 262144 (log %s)", max,
                  env.log);
    env_stop(&env);
}

static const dp_test_case_t cases[] = {
    {"test_flush_path_flush_never_exceeds_max_bytes",
     test_flush_path_flush_never_exceeds_max_bytes},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    static const dp_test_suite_t suites[] = {{"flush_path", NULL, NULL, cases},
                                             {NULL, NULL, NULL, NULL}};

    return dp_test_main(argc, argv, suites);
}
