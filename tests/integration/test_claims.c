/*
 * Integration tests of claims (src/load/claims.c) against the Databricks
 * emulator: the round trips of an assignment do not grow with its partition
 * count (512 partitions are claimed with one MERGE and published with one
 * more), the read-back tells which claims won, the judging rule (valid,
 * void, undecided, abandoned), and the ledger read with MAX_BY.
 */
#define _GNU_SOURCE
#include "config/config.h"
#include "dp_test.h"
#include "emu_fixture.h"
#include "load/claims.h"
#include "load/dbxconn.h"
#include "load/ddl.h"
#include "load/stmt.h"
#include "stage/manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INC   "11111111-2222-4333-8444-555555555555"
#define KEY_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define KEY_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

typedef struct env {
    dp_emu_fixture_t ef;
    dp_config_t *cfg;
    dp_dbxconn_t conn;
    char token[2048];
} env_t;

static int env_start(env_t *env)
{
    char path[400];
    FILE *f;
    dp_err_t err;

    memset(env, 0, sizeof(*env));
    if (dp_emu_fixture_start(&env->ef, NULL) < 0)
        return -1;
    snprintf(path, sizeof(path), "%s/claims.json", env->ef.dir);
    f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f,
            "{\"kafka\": {\"bootstrap_servers\": \"127.0.0.1:9\", \"topics\": [\"t\"],"
            " \"group_id\": \"g\"},"
            " \"schemas\": {\"dir\": \"%s/schemas\"},"
            " \"databricks\": {\"host\": \"%s\", \"allow_insecure_http\": true,"
            " \"warehouse_id\": \"" DP_EMU_WAREHOUSE "\", \"catalog\": \"main\","
            " \"schema\": \"ct\", \"volume\": \"staging\", \"create_schema\": true,"
            " \"auth\": \"oauth\", \"client_id\": \"" DP_EMU_CLIENT_ID "\","
            " \"statement_wait_timeout_s\": 5}}\n",
            DP_SOURCE_DIR, env->ef.url);
    fclose(f);
    setenv("DELTAPORT_DATABRICKS_CLIENT_SECRET", DP_EMU_CLIENT_SECRET, 1);
    env->cfg = dp_config_load(path, &err);
    if (!env->cfg || dp_config_finalize(env->cfg, &err) < 0 ||
        dp_dbxconn_open(&env->conn, env->cfg, NULL, NULL, &err) < 0) {
        fprintf(stderr, "config: %s\n", err.msg);
        return -1;
    }
    return dp_emu_token(&env->ef, DP_EMU_CLIENT_ID, DP_EMU_CLIENT_SECRET, env->token,
                        sizeof(env->token));
}

static void env_stop(env_t *env)
{
    dp_dbxconn_close(&env->conn);
    dp_config_destroy(env->cfg);
    dp_emu_fixture_stop(&env->ef);
}

/* Runs one statement of the test (DDL, fixtures) and asserts it worked. */
static int exec(env_t *env, const char *sql)
{
    dp_err_t err;
    int rc = dp_stmt_exec(env->conn.client, env->cfg, "test", sql, NULL, &err);

    DP_ASSERT_MSG(rc == 0, "%s: %s", sql, err.msg);
    return rc;
}

static int create_tables(env_t *env)
{
    const char *schemas[] = {dp_claims_schema, dp_claims_ledger_schema};
    const char *names[] = {"`main`.`ct`.`claims`", "`main`.`ct`.`ledger`"};
    dp_err_t err;

    if (dp_claims_setup_incarnations(env->conn.client, env->cfg, &err) < 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        char *ddl = dp_ddl_create_table(names[i], schemas[i], &err);
        int rc = ddl ? exec(env, ddl) : -1;

        free(ddl);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* Statements submitted so far whose text starts with prefix (request log). */
static int submitted(env_t *env, const char *prefix)
{
    char line[8192], needle[256];
    FILE *f = fopen(env->ef.request_log, "r");
    int n = 0;

    snprintf(needle, sizeof(needle), "\"statement\":\"%s", prefix);
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

static long long scalar(env_t *env, const char *sql)
{
    return dp_emu_scalar(&env->ef, env->token, sql);
}

/* ------------------------------------------------------------------------- */

static void test_claims_512_partitions_in_one_statement(void)
{
    enum { N = 512 };
    int32_t parts[N];
    int64_t epochs[N];
    dp_claims_pub_t pubs[N];
    env_t env;
    dp_err_t err;
    int merges0, merges1, stmts0, stmts1, won = 0;

    if (!DP_ASSERT_MSG(env_start(&env) == 0 && create_tables(&env) == 0, "set-up failed")) {
        env_stop(&env);
        return;
    }
    for (int i = 0; i < N; i++)
        parts[i] = i;
    /* 16 partitions, then 512: the same statements. */
    stmts0 = submitted(&env, "");
    DP_ASSERT_MSG(
        dp_claims_take(env.conn.client, env.cfg, INC, "small", parts, 16, "w1", epochs, &err) == 0,
        "take 16: %s", err.msg);
    stmts1 = submitted(&env, "");
    merges0 = submitted(&env, "MERGE INTO `main`.`ct`.`claims`");
    DP_ASSERT_MSG(
        dp_claims_take(env.conn.client, env.cfg, INC, "events", parts, N, "w1", epochs, &err) == 0,
        "take 512: %s", err.msg);
    merges1 = submitted(&env, "MERGE INTO `main`.`ct`.`claims`");
    DP_ASSERT_MSG(merges1 - merges0 == 1, "512 claims took %d MERGE statements", merges1 - merges0);
    DP_ASSERT_MSG(submitted(&env, "") - stmts1 == stmts1 - stmts0,
                  "512 partitions cost %d statements, 16 cost %d", submitted(&env, "") - stmts1,
                  stmts1 - stmts0);
    DP_ASSERT_MSG(scalar(&env, "SELECT COUNT(*) FROM main.ct.claims WHERE topic = 'events' AND "
                               "epoch = 1 AND member = 'w1'") == N,
                  "expected %d claim rows at epoch 1", N);
    for (int i = 0; i < N; i++)
        DP_ASSERT_MSG(epochs[i] == 1, "partition %d got epoch %lld", i, (long long)epochs[i]);

    /* A second take of the same topic goes one epoch up. */
    DP_ASSERT_MSG(dp_claims_take(env.conn.client, env.cfg, INC, "events", parts, 4, "w2", epochs,
                                 &err) == 0 &&
                      epochs[0] == 2 && epochs[3] == 2,
                  "second take: epoch %lld: %s", (long long)epochs[0], err.msg);

    /* Publication of 512 in one MERGE; one claim already abandoned by a reader
     * is reported lost, never inferred from the MERGE's counts. */
    for (int i = 0; i < N; i++)
        pubs[i] = (dp_claims_pub_t){i, 1, 0, i == 7 ? KEY_A : "", 0};
    {
        dp_claims_pub_t ab = {7, 1, -1, "!", 0};

        DP_ASSERT_MSG(
            dp_claims_publish(env.conn.client, env.cfg, INC, "events", &ab, 1, &err) == 0 && ab.won,
            "abandoning failed: %s", err.msg);
    }
    merges0 = submitted(&env, "MERGE INTO `main`.`ct`.`claims`");
    DP_ASSERT_MSG(dp_claims_publish(env.conn.client, env.cfg, INC, "events", pubs, N, &err) == 0,
                  "publish 512: %s", err.msg);
    merges1 = submitted(&env, "MERGE INTO `main`.`ct`.`claims`");
    DP_ASSERT_MSG(merges1 - merges0 == 1, "512 publications took %d MERGE statements",
                  merges1 - merges0);
    for (int i = 0; i < N; i++)
        won += pubs[i].won;
    DP_ASSERT_MSG(won == N - 1 && !pubs[7].won, "expected %d won and partition 7 lost, got %d",
                  N - 1, won);
    env_stop(&env);
}

static dp_manifest_t *manifest(const char *key, int32_t p, int64_t first, int64_t last,
                               int64_t epoch)
{
    dp_manifest_t *m = dp_manifest_new(key, INC, "zombie", 0);

    dp_manifest_add_range(m, "events", p, first, last, epoch);
    return m;
}

/* The rule of claims.h: a newer claim that saw the manifest, or loaded past
 * it, lets it load; one that did not see it voids it; one not published yet
 * leaves it undecided; an unpublished claim superseded by a later one is
 * abandoned and does not count. */
static void test_claims_judging_rule(void)
{
    int32_t p[] = {0, 1, 2, 3};
    int64_t e[4];
    env_t env;
    dp_err_t err;
    dp_claims_verdict_t v[4];
    char why[4][512];
    char *whyp[4] = {why[0], why[1], why[2], why[3]};
    dp_manifest_t *ms[4];

    if (!DP_ASSERT_MSG(env_start(&env) == 0 && create_tables(&env) == 0, "set-up failed")) {
        env_stop(&env);
        return;
    }
    /* Epoch 1: the zombie's claims on partitions 0..3; its manifests. */
    DP_ASSERT_FATAL_MSG(
        dp_claims_take(env.conn.client, env.cfg, INC, "events", p, 4, "zombie", e, &err) == 0,
        "take: %s", err.msg);
    ms[0] = manifest(KEY_A, 0, 100, 199, 1); /* seen by the new owner */
    ms[1] = manifest(KEY_B, 1, 100, 199, 1); /* not seen */
    ms[2] = manifest(KEY_B, 2, 100, 199, 1); /* the new owner loaded past it */
    ms[3] = manifest(KEY_B, 3, 100, 199, 1); /* the new claim is not published yet */
    /* Epoch 2: the new owner's claims. */
    DP_ASSERT_FATAL_MSG(
        dp_claims_take(env.conn.client, env.cfg, INC, "events", p, 4, "owner", e, &err) == 0 &&
            e[0] == 2,
        "take: %s", err.msg);
    {
        dp_claims_pub_t pubs[] = {{0, 2, 100, KEY_A, 0}, {1, 2, 100, "", 0}, {2, 2, 200, "", 0}};

        DP_ASSERT_FATAL_MSG(
            dp_claims_publish(env.conn.client, env.cfg, INC, "events", pubs, 3, &err) == 0,
            "publish: %s", err.msg);
    }
    DP_ASSERT_FATAL_MSG(dp_claims_judge_many(env.conn.client, env.cfg,
                                             (const dp_manifest_t *const *)ms, 4, v, whyp, 512,
                                             &err) == 0,
                        "judge: %s", err.msg);
    DP_ASSERT_MSG(v[0] == DP_CLAIMS_VALID, "seen manifest: verdict %d (%s)", v[0], why[0]);
    DP_ASSERT_MSG(v[1] == DP_CLAIMS_VOID, "unseen manifest: verdict %d (%s)", v[1], why[1]);
    DP_ASSERT_MSG(v[2] == DP_CLAIMS_VALID, "loaded past: verdict %d (%s)", v[2], why[2]);
    DP_ASSERT_MSG(v[3] == DP_CLAIMS_UNDECIDED, "unpublished claim: verdict %d (%s)", v[3], why[3]);

    /* Epoch 3 on partition 3 supersedes the unpublished epoch 2: a reader
     * abandons epoch 2, and epoch 3 (published, saw nothing) voids it. */
    DP_ASSERT_FATAL_MSG(
        dp_claims_take(env.conn.client, env.cfg, INC, "events", &p[3], 1, "third", e, &err) == 0 &&
            e[0] == 3,
        "take: %s", err.msg);
    {
        dp_claims_pub_t pub = {3, 3, 100, "", 0};

        DP_ASSERT_FATAL_MSG(
            dp_claims_publish(env.conn.client, env.cfg, INC, "events", &pub, 1, &err) == 0 &&
                pub.won,
            "publish: %s", err.msg);
    }
    DP_ASSERT_MSG(dp_claims_judge(env.conn.client, env.cfg, ms[3], &v[3], why[3], 512, &err) == 0 &&
                      v[3] == DP_CLAIMS_VOID,
                  "after the later claim: verdict %d (%s)", v[3], why[3]);
    DP_ASSERT_MSG(scalar(&env, "SELECT COUNT(*) FROM main.ct.claims WHERE kpartition = 3 AND "
                               "epoch = 2 AND seen = '!'") == 1,
                  "the superseded claim was not abandoned");
    /* The owner of epoch 2 learns it lost when it publishes late. */
    {
        dp_claims_pub_t late = {3, 2, 100, "", 0};

        DP_ASSERT_MSG(dp_claims_publish(env.conn.client, env.cfg, INC, "events", &late, 1, &err) ==
                              0 &&
                          !late.won,
                      "a late publication of an abandoned claim won");
    }
    for (int i = 0; i < 4; i++)
        dp_manifest_destroy(ms[i]);
    env_stop(&env);
}

static void test_claims_ledger_reads_the_end_and_its_fingerprint(void)
{
    int32_t parts[] = {0, 1, 2};
    int64_t through[3], fp[3];
    env_t env;
    dp_err_t err;

    if (!DP_ASSERT_MSG(env_start(&env) == 0 && create_tables(&env) == 0, "set-up failed")) {
        env_stop(&env);
        return;
    }
    exec(&env, "INSERT INTO main.ct.ledger (kind, incarnation, topic, kpartition, first_offset, "
               "last_offset, epoch, last_fp, run_key, worker_id, _loaded_at) VALUES "
               "('range', '" INC "', 'events', 0, 0, 99, 1, 111, 'k1', 'w', "
               "CAST('2026-01-01 00:00:00' AS TIMESTAMP)), "
               "('range', '" INC "', 'events', 0, 100, 149, 1, 222, 'k2', 'w', "
               "CAST('2026-01-01 00:00:00' AS TIMESTAMP)), "
               "('range', '" INC "', 'events', 1, 0, 9, 1, 333, 'k1', 'w', "
               "CAST('2026-01-01 00:00:00' AS TIMESTAMP)), "
               "('range', 'other-incarnation', 'events', 2, 0, 500, 1, 444, 'k9', 'w', "
               "CAST('2026-01-01 00:00:00' AS TIMESTAMP))");
    exec(&env, "INSERT INTO main.ct.ledger (kind, incarnation, event_name, stat_day, events, "
               "run_key, worker_id, _loaded_at) VALUES ('count', '" INC "', 'page_view', "
               "CAST('2026-01-01' AS DATE), 10, 'k1', 'w', "
               "CAST('2026-01-01 00:00:00' AS TIMESTAMP))");
    DP_ASSERT_FATAL_MSG(
        dp_claims_ledger(env.conn.client, env.cfg, INC, "events", parts, 3, through, fp, &err) == 0,
        "ledger: %s", err.msg);
    DP_ASSERT_MSG(through[0] == 149 && fp[0] == 222, "partition 0: through %lld fp %lld",
                  (long long)through[0], (long long)fp[0]);
    DP_ASSERT_MSG(through[1] == 9 && fp[1] == 333, "partition 1: through %lld fp %lld",
                  (long long)through[1], (long long)fp[1]);
    DP_ASSERT_MSG(through[2] == -1 && fp[2] == -1, "partition 2 of another incarnation was read");
    env_stop(&env);
}

static const dp_test_case_t cases[] = {
    {"test_claims_512_partitions_in_one_statement", test_claims_512_partitions_in_one_statement},
    {"test_claims_judging_rule", test_claims_judging_rule},
    {"test_claims_ledger_reads_the_end_and_its_fingerprint",
     test_claims_ledger_reads_the_end_and_its_fingerprint},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    const dp_test_suite_t suites[] = {{"claims", NULL, NULL, cases}, {NULL, NULL, NULL, NULL}};

    return dp_test_main(argc, argv, suites);
}
