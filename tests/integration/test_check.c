/*
 * Integration tests of `deltaport check` (src/cli/cmd_check.c): the real binary
 * against the embedded Kafka (one broker, topic "events" with 4 partitions,
 * shared by every test) and a Databricks emulator per test, started with the
 * permissions file the test needs (docs/EMULATOR_SQL.md "Grants"):
 *   - a healthy set-up passes every check (exit 0);
 *   - a wrong client secret fails the token check naming the env var and
 *     skips the Databricks checks after it (exit 1);
 *   - a missing topic, a topic_regex matching nothing, an unknown warehouse;
 *   - permissions files lacking USE CATALOG, WRITE VOLUME or MODIFY give
 *     FAIL lines with the GRANT that fixes them; the design's grant list is
 *     enough for every check;
 *   - no secret ever appears in the output; usage errors exit 2.
 * In the permission tests, admin (the emulator's PAT) first runs check
 * itself, which creates the schema, volume and sync_runs as admin's, so the
 * service principal holds only what the file grants (creators own objects).
 */
#define _GNU_SOURCE
#include "dp_proc.h"
#include "dp_test.h"
#include "emu_fixture.h"
#include "kafka_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SP           DP_EMU_CLIENT_ID
#define WRONG_SECRET "wrong-secret-4711"
#define OUT_MAX      16384

static dp_kafka_fixture_t kafka;

typedef struct env {
    dp_emu_fixture_t ef;
    char tmp[256];
    char perms[320];
    char config[320];
    char out[OUT_MAX];
    int up;
} env_t;

/* What a test's configuration differs in. NULL / 0 fields take defaults. */
typedef struct cfgopts {
    const char *topics;    /* JSON after "kafka": {..., e.g. "\"topics\": [\"events\"]" */
    const char *warehouse; /* [DP_EMU_WAREHOUSE] */
    int create_schema;
    int pat; /* auth pat (the emulator's admin PAT) instead of oauth */
} cfgopts_t;

static int suite_init(void)
{
    const char *topics[] = {"events:4", NULL};

    return dp_kafka_fixture_start(&kafka, 1, topics) < 0 ? -1 : 0;
}

static int suite_cleanup(void)
{
    dp_kafka_fixture_stop(&kafka);
    return 0;
}

/* Starts the emulator; perms (JSON text, may be NULL) becomes its
 * --permissions file. */
static int env_start(env_t *env, const char *perms)
{
    const char *args[] = {"--permissions", env->perms, NULL};

    memset(env, 0, sizeof(*env));
    if (dp_test_tmpdir("check", env->tmp, sizeof(env->tmp)) < 0)
        return -1;
    snprintf(env->perms, sizeof(env->perms), "%s/perms.json", env->tmp);
    snprintf(env->config, sizeof(env->config), "%s/check.json", env->tmp);
    if (perms) {
        FILE *f = fopen(env->perms, "w");

        if (!f)
            return -1;
        fputs(perms, f);
        fclose(f);
    }
    if (dp_emu_fixture_start(&env->ef, perms ? args : NULL) < 0)
        return -1;
    env->up = 1;
    return 0;
}

static void env_stop(env_t *env)
{
    if (env->up)
        dp_emu_fixture_stop(&env->ef);
    env->up = 0;
    if (env->tmp[0] && !getenv("DP_TEST_KEEP"))
        dp_test_rmtree(env->tmp);
}

static int write_config(env_t *env, const cfgopts_t *o)
{
    FILE *f = fopen(env->config, "w");

    if (!f)
        return -1;
    fprintf(f,
            "{\"kafka\": {\"bootstrap_servers\": \"%s\", %s},\n"
            " \"databricks\": {\"host\": \"%s\", \"allow_insecure_http\": true,\n"
            "  \"warehouse_id\": \"%s\", \"catalog\": \"main\", \"schema\": \"ck\",\n"
            "  \"volume\": \"staging\", \"create_schema\": %s, \"auth\": \"%s\",\n"
            "  \"client_id\": \"" SP "\", \"statement_wait_timeout_s\": 5,\n"
            "  \"http_timeout_ms\": 10000},\n"
            " \"worker\": {\"id\": \"check-test\"}}\n",
            kafka.bootstrap, o->topics ? o->topics : "\"topics\": [\"events\"]", env->ef.url,
            o->warehouse ? o->warehouse : DP_EMU_WAREHOUSE, o->create_schema ? "true" : "false",
            o->pat ? "pat" : "oauth");
    fclose(f);
    return 0;
}

/* Runs `deltaport check` with secret in DELTAPORT_DATABRICKS_CLIENT_SECRET
 * (and the admin PAT in DELTAPORT_DATABRICKS_TOKEN); output in env->out.
 * Asserts that neither secret is printed. Returns the exit status. */
static int run_check(env_t *env, const cfgopts_t *o, const char *secret)
{
    char *argv[] = {DP_DELTAPORT_BIN, "check", "--config", env->config, NULL};
    int rc;

    if (write_config(env, o) < 0)
        return -1;
    setenv("DELTAPORT_DATABRICKS_CLIENT_SECRET", secret, 1);
    setenv("DELTAPORT_DATABRICKS_TOKEN", DP_EMU_PAT, 1);
    rc = dp_proc_run(argv, env->out, sizeof(env->out), 60000L * dp_test_timeout_scale());
    unsetenv("DELTAPORT_DATABRICKS_TOKEN");
    DP_ASSERT_MSG(!strstr(env->out, secret), "expected the secret %s nowhere, got:\n%s", secret,
                  env->out);
    DP_ASSERT_MSG(!strstr(env->out, DP_EMU_CLIENT_SECRET) && !strstr(env->out, DP_EMU_PAT),
                  "expected no secret in the output, got:\n%s", env->out);
    return rc;
}

/* The line starting with prefix, copied into line; 0, or -1 when absent. */
static int find_line(const env_t *env, const char *prefix, char *line, size_t len)
{
    const char *p = env->out;
    size_t plen = strlen(prefix);

    while (p && *p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);

        if (n >= plen && strncmp(p, prefix, plen) == 0) {
            snprintf(line, len, "%.*s", (int)n, p);
            return 0;
        }
        p = nl ? nl + 1 : NULL;
    }
    return -1;
}

/* Asserts a line starting with prefix exists and contains needle (may be
 * NULL). */
static void expect_line(const env_t *env, const char *prefix, const char *needle)
{
    char line[4096];

    if (!DP_ASSERT_MSG(find_line(env, prefix, line, sizeof(line)) == 0,
                       "expected a line starting \"%s\", got:\n%s", prefix, env->out))
        return;
    if (needle)
        DP_ASSERT_MSG(strstr(line, needle) != NULL, "expected \"%s\" in the line, got: %s", needle,
                      line);
}

/* Admin runs check with create_schema: schema, volume and sync_runs exist
 * afterwards and belong to admin. */
static int prepare_as_admin(env_t *env)
{
    cfgopts_t o = {NULL, NULL, 1, 1};
    int rc = run_check(env, &o, DP_EMU_CLIENT_SECRET);

    DP_ASSERT_MSG(rc == 0, "expected admin's check to pass (exit 0), got %d:\n%s", rc, env->out);
    return rc == 0 ? 0 : -1;
}

/* The design's grant list for SP on main.ck, minus the privilege `omit`
 * (e.g. "WRITE VOLUME"; "" omits nothing), as a permissions file. */
static void grants_without(const char *omit, char *out, size_t len)
{
    static const char *const rows[][2] = {
        {"USE CATALOG", "CATALOG main"},
        {"USE SCHEMA", "SCHEMA main.ck"},
        {"CREATE TABLE", "SCHEMA main.ck"},
        {"CREATE VOLUME", "SCHEMA main.ck"},
        {"READ VOLUME", "VOLUME main.ck.staging"},
        {"WRITE VOLUME", "VOLUME main.ck.staging"},
        {"SELECT", "SCHEMA main.ck"},
        {"MODIFY", "SCHEMA main.ck"},
    };
    size_t n = (size_t)snprintf(out, len, "{\"grants\": [");
    int first = 1;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]) && n < len; i++) {
        if (strcmp(rows[i][0], omit) == 0)
            continue;
        n +=
            (size_t)snprintf(out + n, len - n,
                             "%s{\"principal\": \"" SP "\", \"privilege\": \"%s\", \"on\": \"%s\"}",
                             first ? "" : ",\n", rows[i][0], rows[i][1]);
        first = 0;
    }
    if (n < len)
        snprintf(out + n, len - n, "]}\n");
}

/* Starts an emulator whose SP lacks `omit`, prepared by admin, and runs
 * check as SP without create_schema. Returns the exit status or -1. */
static int run_without(env_t *env, const char *omit)
{
    char perms[4096];
    cfgopts_t o = {NULL, NULL, 0, 0};

    grants_without(omit, perms, sizeof(perms));
    if (!DP_ASSERT_MSG(env_start(env, perms) == 0, "expected the emulator to start"))
        return -1;
    if (prepare_as_admin(env) < 0)
        return -1;
    return run_check(env, &o, DP_EMU_CLIENT_SECRET);
}

/* ------------------------------------------------------------------------- */
/* Tests                                                                     */
/* ------------------------------------------------------------------------- */

static void test_check_healthy_setup_passes_every_check(void)
{
    env_t env;
    cfgopts_t o = {NULL, NULL, 1, 0};
    int rc;

    if (!DP_ASSERT_MSG(env_start(&env, NULL) == 0, "expected the emulator to start"))
        goto out;
    rc = run_check(&env, &o, DP_EMU_CLIENT_SECRET);
    DP_ASSERT_MSG(rc == 0, "expected exit 0, got %d:\n%s", rc, env.out);
    DP_ASSERT_MSG(!strstr(env.out, "FAIL") && !strstr(env.out, "SKIP"),
                  "expected only OK lines, got:\n%s", env.out);
    expect_line(&env, "OK   kafka topic events:", "4 partitions");
    expect_line(&env, "OK   databricks token:", SP);
    expect_line(&env, "OK   volume files main.ck.staging:", "_deltaport_check/check-test-");
    expect_line(&env, "OK   modify main.ck.sync_runs:", NULL);
    expect_line(&env, "PASSED: 12 passed, 0 failed, 0 skipped", NULL);
    /* A second run finds everything in place and passes again. */
    rc = run_check(&env, &o, DP_EMU_CLIENT_SECRET);
    DP_ASSERT_MSG(rc == 0, "expected a second run to pass, got %d:\n%s", rc, env.out);
out:
    env_stop(&env);
}

static void test_check_wrong_secret_fails_token_and_skips_the_rest(void)
{
    env_t env;
    cfgopts_t o = {NULL, NULL, 1, 0};
    int rc;

    if (!DP_ASSERT_MSG(env_start(&env, NULL) == 0, "expected the emulator to start"))
        goto out;
    rc = run_check(&env, &o, WRONG_SECRET);
    DP_ASSERT_MSG(rc == 1, "expected exit 1, got %d:\n%s", rc, env.out);
    expect_line(&env, "FAIL databricks token:",
                "fix: check databricks.client_id and the secret "
                "in DELTAPORT_DATABRICKS_CLIENT_SECRET");
    expect_line(&env, "SKIP sql warehouse:", "needs databricks token");
    expect_line(&env, "SKIP tables:", "needs databricks token");
    expect_line(&env, "OK   kafka topic events:", NULL); /* Kafka is checked on its own */
    expect_line(&env, "FAILED: ", NULL);
out:
    env_stop(&env);
}

static void test_check_missing_topic_and_empty_regex_fail(void)
{
    env_t env;
    cfgopts_t o = {"\"topics\": [\"events\", \"orders_missing\"]", NULL, 1, 0};
    int rc;

    if (!DP_ASSERT_MSG(env_start(&env, NULL) == 0, "expected the emulator to start"))
        goto out;
    rc = run_check(&env, &o, DP_EMU_CLIENT_SECRET);
    DP_ASSERT_MSG(rc == 1, "expected exit 1, got %d:\n%s", rc, env.out);
    expect_line(&env, "FAIL kafka topic orders_missing:", "correct kafka.topics");
    expect_line(&env, "OK   kafka topic events:", "4 partitions");
    expect_line(&env, "OK   modify main.ck.sync_runs:", NULL);
    o.topics = "\"topic_regex\": \"^ev.*\"";
    rc = run_check(&env, &o, DP_EMU_CLIENT_SECRET);
    DP_ASSERT_MSG(rc == 0, "expected exit 0 with a matching regex, got %d:\n%s", rc, env.out);
    expect_line(&env, "OK   kafka topics ^ev.*:", "events (4)");
    o.topics = "\"topic_regex\": \"^zz.*\"";
    rc = run_check(&env, &o, DP_EMU_CLIENT_SECRET);
    DP_ASSERT_MSG(rc == 1, "expected exit 1 with a regex matching nothing, got %d", rc);
    expect_line(&env, "FAIL kafka topics ^zz.*:", "no topic matches");
out:
    env_stop(&env);
}

static void test_check_unknown_warehouse_names_the_setting(void)
{
    env_t env;
    cfgopts_t o = {NULL, "no-such-wh", 1, 0};
    int rc;

    if (!DP_ASSERT_MSG(env_start(&env, NULL) == 0, "expected the emulator to start"))
        goto out;
    rc = run_check(&env, &o, DP_EMU_CLIENT_SECRET);
    DP_ASSERT_MSG(rc == 1, "expected exit 1, got %d:\n%s", rc, env.out);
    expect_line(&env, "FAIL sql warehouse:", "fix: check databricks.warehouse_id (\"no-such-wh\")");
    expect_line(&env, "FAIL sql warehouse:", "/sql/1.0/warehouses/<id>");
    expect_line(&env, "SKIP catalog:", "needs sql warehouse");
out:
    env_stop(&env);
}

static void test_check_grant_list_is_enough(void)
{
    env_t env;
    int rc = run_without(&env, "");

    DP_ASSERT_MSG(rc == 0, "expected exit 0 with the design's grants, got %d:\n%s", rc, env.out);
    env_stop(&env);
}

static void test_check_missing_use_catalog_names_the_grant(void)
{
    env_t env;
    int rc = run_without(&env, "USE CATALOG");

    DP_ASSERT_MSG(rc == 1, "expected exit 1, got %d:\n%s", rc, env.out);
    expect_line(&env, "FAIL catalog main:", "fix: GRANT USE CATALOG ON CATALOG main TO `" SP "`");
    expect_line(&env, "SKIP schema:", "needs catalog");
    env_stop(&env);
}

static void test_check_missing_write_volume_names_the_grant(void)
{
    env_t env;
    int rc = run_without(&env, "WRITE VOLUME");

    DP_ASSERT_MSG(rc == 1, "expected exit 1, got %d:\n%s", rc, env.out);
    expect_line(&env, "FAIL volume files main.ck.staging:",
                "fix: GRANT WRITE VOLUME ON VOLUME main.ck.staging TO `" SP "`");
    expect_line(&env, "OK   select main.ck.sync_runs:", NULL);
    expect_line(&env, "SKIP modify main.ck.sync_runs:", "needs volume files");
    env_stop(&env);
}

static void test_check_missing_modify_names_the_grant(void)
{
    env_t env;
    int rc = run_without(&env, "MODIFY");

    DP_ASSERT_MSG(rc == 1, "expected exit 1, got %d:\n%s", rc, env.out);
    expect_line(&env, "OK   volume files main.ck.staging:", NULL);
    expect_line(&env, "FAIL modify main.ck.sync_runs:",
                "fix: GRANT MODIFY ON TABLE main.ck.sync_runs TO `" SP "`");
    env_stop(&env);
}

static void test_check_usage_errors_exit_2(void)
{
    char out[1024];
    char *none[] = {DP_DELTAPORT_BIN, "check", NULL};
    char *extra[] = {DP_DELTAPORT_BIN, "check", "--config", "a.json", "b", NULL};
    int rc;

    rc = dp_proc_run(none, out, sizeof(out), 10000L * dp_test_timeout_scale());
    DP_ASSERT_MSG(rc == 2, "expected exit 2 without --config, got %d", rc);
    rc = dp_proc_run(extra, out, sizeof(out), 10000L * dp_test_timeout_scale());
    DP_ASSERT_MSG(rc == 2, "expected exit 2 with an extra argument, got %d", rc);
}

static const dp_test_case_t cases[] = {
    {"test_check_healthy_setup_passes_every_check", test_check_healthy_setup_passes_every_check},
    {"test_check_wrong_secret_fails_token_and_skips_the_rest",
     test_check_wrong_secret_fails_token_and_skips_the_rest},
    {"test_check_missing_topic_and_empty_regex_fail",
     test_check_missing_topic_and_empty_regex_fail},
    {"test_check_unknown_warehouse_names_the_setting",
     test_check_unknown_warehouse_names_the_setting},
    {"test_check_grant_list_is_enough", test_check_grant_list_is_enough},
    {"test_check_missing_use_catalog_names_the_grant",
     test_check_missing_use_catalog_names_the_grant},
    {"test_check_missing_write_volume_names_the_grant",
     test_check_missing_write_volume_names_the_grant},
    {"test_check_missing_modify_names_the_grant", test_check_missing_modify_names_the_grant},
    {"test_check_usage_errors_exit_2", test_check_usage_errors_exit_2},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    const dp_test_suite_t suites[] = {{"check", suite_init, suite_cleanup, cases},
                                      {NULL, NULL, NULL, NULL}};

    return dp_test_main(argc, argv, suites);
}
