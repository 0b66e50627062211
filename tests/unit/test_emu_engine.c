/*
 * Unit tests of the emulator engine: metadata DDL, Volume path mapping,
 * errors in Databricks' words, and grants.
 */
#define _POSIX_C_SOURCE 200809L
#include "dp_test.h"
#include "test_emu_engine_support.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static void test_emu_engine_starts_with_main_default(void)
{
    char dir[512], local[1024], msg[256];
    emu_engine_t *e = t_open("emu_start", NULL, dir);
    struct stat sb;
    int rc;

    DP_ASSERT_FATAL_MSG(e != NULL, "engine open");
    t_ok(e, "CREATE VOLUME IF NOT EXISTS stage");
    rc = emu_engine_volume_path(e, "sp", "/Volumes/main/default/stage/a/b.avro", EMU_VOLUME_WRITE,
                                local, sizeof(local), msg, sizeof(msg));
    DP_ASSERT_MSG(rc == 0, "expected 0, got %d (%s)", rc, msg);
    DP_ASSERT_MSG(strstr(local, "/volumes/main/default/stage/a/b.avro") != NULL,
                  "expected the volume dir in the local path, got %s", local);
    snprintf(local, sizeof(local), "%s/volumes/main/default/stage", dir);
    DP_ASSERT_MSG(stat(local, &sb) == 0 && S_ISDIR(sb.st_mode), "expected directory %s", local);
    t_close(e, dir);
}

static void test_emu_engine_volume_path_rejects_bad_paths(void)
{
    static const char *const bad[] = {
        "/Volumes/main/default/stage/../x", "/Volumes/main/default/stage/./x",
        "/Volumes/main/default/stage//x",   "/Volumes/main/default",
        "/Volumes/main/default/stage/a\\b", "/etc/passwd",
        "/Volumes/main/def ault/stage/x"};
    char dir[512], local[1024], msg[256];
    emu_engine_t *e = t_open("emu_badpath", NULL, dir);
    size_t k;
    int rc;

    DP_ASSERT_FATAL_MSG(e != NULL, "engine open");
    t_ok(e, "CREATE VOLUME stage");
    for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        rc = emu_engine_volume_path(e, "sp", bad[k], EMU_VOLUME_READ, local, sizeof(local), msg,
                                    sizeof(msg));
        DP_ASSERT_MSG(rc == -400, "expected -400 for %s, got %d", bad[k], rc);
    }
    rc = emu_engine_volume_path(e, "sp", "/Volumes/main/default/nope/x", EMU_VOLUME_READ, local,
                                sizeof(local), msg, sizeof(msg));
    DP_ASSERT_MSG(rc == -404, "expected -404 for a missing volume, got %d", rc);
    DP_ASSERT_MSG(strstr(msg, "main.default.nope") != NULL, "expected the volume named, got %s",
                  msg);
    rc = emu_engine_volume_path(e, "sp", "/Volumes/nope/default/stage/x", EMU_VOLUME_READ, local,
                                sizeof(local), msg, sizeof(msg));
    DP_ASSERT_MSG(rc == -404, "expected -404 for a missing catalog, got %d", rc);
    rc = emu_engine_volume_path(e, "sp", "/Volumes/MAIN/Default/Stage/", EMU_VOLUME_READ, local,
                                sizeof(local), msg, sizeof(msg));
    DP_ASSERT_MSG(rc == 0, "expected names to be case-insensitive, got %d (%s)", rc, msg);
    t_close(e, dir);
}

static void test_emu_engine_create_schema_and_errors(void)
{
    char dir[512];
    emu_engine_t *e = t_open("emu_schema", NULL, dir);
    emu_result_t res;
    int rc;

    DP_ASSERT_FATAL_MSG(e != NULL, "engine open");
    t_ok(e, "CREATE SCHEMA IF NOT EXISTS analytics");
    t_ok(e, "CREATE SCHEMA IF NOT EXISTS main.analytics");
    rc = t_exec(e, NULL, "CREATE SCHEMA analytics", NULL, &res);
    DP_ASSERT_MSG(rc == -1 && strncmp(res.message, "[SCHEMA_ALREADY_EXISTS]", 23) == 0,
                  "expected SCHEMA_ALREADY_EXISTS, got rc %d '%s'", rc, res.message);
    emu_result_clear(&res);
    rc = t_exec(e, NULL, "CREATE VOLUME nope.v", NULL, &res);
    DP_ASSERT_MSG(rc == -1 && strncmp(res.message, "[SCHEMA_NOT_FOUND]", 18) == 0 &&
                      strcmp(res.sql_state, "42704") == 0,
                  "expected SCHEMA_NOT_FOUND 42704, got '%s' %s", res.message, res.sql_state);
    emu_result_clear(&res);
    rc = t_exec(e, NULL, "CREATE SCHEMAX foo", NULL, &res);
    DP_ASSERT_MSG(rc == -1 &&
                      strcmp(res.message, "[PARSE_SYNTAX_ERROR] Syntax error at or near "
                                          "'SCHEMAX'. SQLSTATE: 42601") == 0 &&
                      strcmp(res.error_code, "BAD_REQUEST") == 0,
                  "expected a syntax error near SCHEMAX, got '%s' (%s)", res.message,
                  res.error_code);
    emu_result_clear(&res);
    t_close(e, dir);
}

static const dp_test_case_t k_cases[] = {
    {"test_emu_engine_starts_with_main_default", test_emu_engine_starts_with_main_default},
    {"test_emu_engine_volume_path_rejects_bad_paths",
     test_emu_engine_volume_path_rejects_bad_paths},
    {"test_emu_engine_create_schema_and_errors", test_emu_engine_create_schema_and_errors},
    {NULL, NULL}};

static const dp_test_suite_t k_suites[] = {{"emu_engine", NULL, NULL, k_cases},
                                           {NULL, NULL, NULL, NULL}};

int main(int argc, char **argv)
{
    return dp_test_main(argc, argv, k_suites);
}
