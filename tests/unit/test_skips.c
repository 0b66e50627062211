/*
 * Unit tests of how a skipped test is reported (issue 11 item 10): never as
 * a pass. A binary that skipped exits 77 (ctest: skipped) and the skip is
 * logged for the test command's final list; under CI=true a skip fails
 * unless the binary or case is on the allow-list; DP_TEST_NO_SKIP fails
 * every skip. Runs tests/support/skip_demo.c as a child.
 */
#include "dp_proc.h"
#include "dp_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char tmpdir[512], logpath[600], allowpath[600];

static int run_demo(const char *only)
{
    char out[4096];
    char *argv[] = {DP_SKIP_DEMO_BIN, (char *)only, NULL};

    return dp_proc_run(argv, out, sizeof(out), 30000 * dp_test_timeout_scale());
}

static void reset(void)
{
    unsetenv("CI");
    unsetenv("DP_TEST_NO_SKIP");
    unsetenv("DP_TEST_SKIP_ALLOWLIST");
    setenv("DP_TEST_SKIP_LOG", logpath, 1);
    remove(logpath);
}

static int read_log(char *buf, size_t len)
{
    FILE *f = fopen(logpath, "r");
    size_t n;

    buf[0] = '\0';
    if (!f)
        return -1;
    n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
    return 0;
}

static void write_allowlist(const char *line)
{
    FILE *f = fopen(allowpath, "w");

    if (!DP_ASSERT_MSG(f != NULL, "cannot write %s", allowpath))
        return;
    fprintf(f, "# comment line\n%s  the reason it may skip\n", line);
    fclose(f);
    setenv("DP_TEST_SKIP_ALLOWLIST", allowpath, 1);
}

static void test_skips_exit_77_and_are_logged(void)
{
    char log[2048];
    int rc;

    reset();
    rc = run_demo(NULL);
    DP_ASSERT_MSG(rc == DP_TEST_SKIP_STATUS, "expected exit 77 for a skip, got %d", rc);
    read_log(log, sizeof(log));
    DP_ASSERT_MSG(strstr(log, "skip_demo demo_skip: the demo needs what is not there\n") != NULL,
                  "expected the skip in the log, got '%s'", log);
    rc = run_demo("demo_pass");
    DP_ASSERT_MSG(rc == 0, "expected exit 0 without a skip, got %d", rc);
}

static void test_skips_fail_under_ci_unless_allowed(void)
{
    char log[2048];
    int rc;

    reset();
    setenv("CI", "true", 1);
    setenv("DP_TEST_SKIP_ALLOWLIST", "/nonexistent/allowlist", 1);
    rc = run_demo(NULL);
    DP_ASSERT_MSG(rc == 1, "expected a failure for a skip under CI=true, got %d", rc);
    read_log(log, sizeof(log));
    DP_ASSERT_MSG(strstr(log, "demo_skip") && strstr(log, "[FAILED: not on tests/skip-allowlist"),
                  "expected the refused skip in the log, got '%s'", log);
    rc = run_demo("demo_pass");
    DP_ASSERT_MSG(rc == 0, "expected exit 0 under CI=true without a skip, got %d", rc);

    write_allowlist("skip_demo/demo_skip");
    rc = run_demo(NULL);
    DP_ASSERT_MSG(rc == DP_TEST_SKIP_STATUS, "expected 77 for an allowed case, got %d", rc);
    write_allowlist("skip_demo");
    rc = run_demo(NULL);
    DP_ASSERT_MSG(rc == DP_TEST_SKIP_STATUS, "expected 77 for an allowed binary, got %d", rc);
    write_allowlist("skip_demo/demo_other");
    rc = run_demo(NULL);
    DP_ASSERT_MSG(rc == 1, "expected a failure when another case is allowed, got %d", rc);
    setenv("CI", "false", 1);
    rc = run_demo(NULL);
    DP_ASSERT_MSG(rc == DP_TEST_SKIP_STATUS, "expected 77 with CI=false, got %d", rc);
}

static void test_skips_fail_with_no_skip(void)
{
    int rc;

    reset();
    setenv("DP_TEST_NO_SKIP", "1", 1);
    write_allowlist("skip_demo");
    rc = run_demo(NULL);
    DP_ASSERT_MSG(rc == 1, "expected DP_TEST_NO_SKIP to fail a skip, got %d", rc);
}

static int suite_init(void)
{
    if (dp_test_tmpdir("skips", tmpdir, sizeof(tmpdir)) != 0)
        return -1;
    snprintf(logpath, sizeof(logpath), "%s/skips.log", tmpdir);
    snprintf(allowpath, sizeof(allowpath), "%s/allow.txt", tmpdir);
    return 0;
}

static int suite_cleanup(void)
{
    dp_test_rmtree(tmpdir);
    return 0;
}

static const dp_test_case_t k_cases[] = {
    {"test_skips_exit_77_and_are_logged", test_skips_exit_77_and_are_logged},
    {"test_skips_fail_under_ci_unless_allowed", test_skips_fail_under_ci_unless_allowed},
    {"test_skips_fail_with_no_skip", test_skips_fail_with_no_skip},
    {NULL, NULL},
};

static const dp_test_suite_t k_suites[] = {
    {"skips", suite_init, suite_cleanup, k_cases},
    {NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
    return dp_test_main(argc, argv, k_suites);
}
