/*
 * dp_test: shared CUnit runner and assertion helpers (see dp_test.h).
 */
#define _GNU_SOURCE
#include "dp_test.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int skipped;               /* skips of this run */
static int skips_refused;         /* skips that count as failures (CI, DP_TEST_NO_SKIP) */
static const char *prog = "test"; /* basename of argv[0] */

int dp_test_assert(int cond, int line, const char *file, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    if (cond) {
        /* Counted, so CUnit's summary shows how many assertions ran. */
        CU_assertImplementation(CU_TRUE, (unsigned)line, "", file, "", CU_FALSE);
        return 1;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "  FAIL %s:%d: %s\n", file, line, msg);
    CU_assertImplementation(CU_FALSE, (unsigned)line, msg, file, "", CU_FALSE);
    return 0;
}

/* 1 when "<prog>" or "<prog>/<case>" is a line of tests/skip-allowlist.txt
 * (text after the name is the reason; '#' starts a comment line). */
static int skip_allowed(const char *tcase)
{
    const char *path = getenv("DP_TEST_SKIP_ALLOWLIST"); /* tests of this file only */
    FILE *f = fopen(path && *path ? path : DP_SOURCE_DIR "/tests/skip-allowlist.txt", "r");
    char line[512], full[300];
    int ok = 0;

    if (!f)
        return 0;
    snprintf(full, sizeof(full), "%s/%s", prog, tcase);
    while (!ok && fgets(line, sizeof(line), f)) {
        size_t n = strcspn(line, " \t\r\n");

        if (line[0] == '#' || n == 0)
            continue;
        line[n] = '\0';
        ok = strcmp(line, prog) == 0 || strcmp(line, full) == 0;
    }
    fclose(f);
    return ok;
}

/* Appends "<prog> <case>: <reason>" to $DP_TEST_SKIP_LOG (the test command
 * lists them at the end of its output). */
static void log_skip(const char *tcase, const char *msg, int refused)
{
    const char *path = getenv("DP_TEST_SKIP_LOG");
    FILE *f = path && *path ? fopen(path, "a") : NULL;

    if (!f)
        return;
    fprintf(f, "%s %s: %s%s\n", prog, tcase, msg,
            refused ? " [FAILED: not on tests/skip-allowlist.txt]" : "");
    fclose(f);
}

void dp_test_skip(const char *fmt, ...)
{
    CU_pTest test = CU_get_current_test();
    const char *tcase = test && test->pName ? test->pName : "?";
    const char *ci = getenv("CI");
    int refused;
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    skipped++;
    refused = getenv("DP_TEST_NO_SKIP") != NULL ||
              (ci && strcmp(ci, "true") == 0 && !skip_allowed(tcase));
    fprintf(stderr, "  SKIP %s: %s%s\n", tcase, msg,
            refused ? " (a failure here: CI=true and the test is not on "
                      "tests/skip-allowlist.txt)"
                    : "");
    log_skip(tcase, msg, refused);
    if (refused) {
        skips_refused++;
        CU_assertImplementation(CU_FALSE, 0, msg, "skip", "", CU_FALSE);
    }
}

int dp_test_parse_ll(const char *s, const char *stops, long long *out)
{
    char *end = NULL;
    long long v;

    if (!s)
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || (*end && !strchr(stops, *end)))
        return -1;
    *out = v;
    return 0;
}

int dp_test_timeout_scale(void)
{
    const char *s = getenv("DP_TEST_TIMEOUT_SCALE");
    char *end = NULL;
    long v;

    if (!s || !*s)
        return 1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < 1 || v > 100)
        return 1;
    return (int)v;
}

long long dp_test_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void dp_test_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

int dp_test_tmpdir(const char *tag, char *out, size_t outlen)
{
    const char *base = getenv("TMPDIR");
    int n;

    if (!base || !*base)
        base = "/tmp";
    n = snprintf(out, outlen, "%s/dp-%s-XXXXXX", base, tag);
    if (n < 0 || (size_t)n >= outlen)
        return -1;
    return mkdtemp(out) ? 0 : -1;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void dp_test_rmtree(const char *path)
{
    if (path && *path)
        nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int dp_test_main(int argc, char **argv, const dp_test_suite_t *suites)
{
    const char *only = argc > 1 ? argv[1] : NULL;
    unsigned failed, run;
    int ncases = 0;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 0 && argv[0]) {
        const char *slash = strrchr(argv[0], '/');
        prog = slash ? slash + 1 : argv[0];
    }
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    for (const dp_test_suite_t *s = suites; s->name; s++) {
        CU_pSuite suite = CU_add_suite(s->name, s->init, s->cleanup);

        if (!suite)
            return 2;
        for (const dp_test_case_t *c = s->cases; c->name; c++) {
            if (only && strcmp(only, c->name) != 0)
                continue;
            if (!CU_add_test(suite, c->name, c->fn))
                return 2;
            ncases++;
        }
    }
    if (ncases == 0) {
        fprintf(stderr, "no test named %s\n", only ? only : "(any)");
        CU_cleanup_registry();
        return 2;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    run = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    if (skipped)
        printf("%d test(s) skipped%s\n", skipped,
               skips_refused ? ", counted as failures" : " (exit status 77: ctest reports a skip)");
    if (failed || run == 0)
        return 1;
    return skipped ? DP_TEST_SKIP_STATUS : 0;
}
