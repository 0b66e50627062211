/*
 * dp_test: the small layer every CUnit binary of deltaport shares.
 *
 * - dp_test_main() runs the suites a binary registers, prints CUnit's summary
 *   and returns non-zero when anything failed (ctest reads the exit status).
 * - DP_ASSERT_MSG() fails with a formatted "expected ... got ..." reason, so a
 *   failure explains itself.
 * - dp_test_timeout_scale() multiplies timeouts under valgrind
 *   (DP_TEST_TIMEOUT_SCALE).
 * - dp_test_skip() marks a test skipped with a reason; it never passes silently:
 *   a binary with a skip and no failure exits DP_TEST_SKIP_STATUS (77), which
 *   ctest reports as skipped (SKIP_RETURN_CODE, cmake/DpTest.cmake), and the
 *   skip is appended to $DP_TEST_SKIP_LOG, which scripts/test.sh lists at the
 *   end of its output. With CI=true a skip is a failure unless the binary (or
 *   "binary/case") is on tests/skip-allowlist.txt; with DP_TEST_NO_SKIP set,
 *   every skip is a failure.
 */
#ifndef DP_TEST_H
#define DP_TEST_H

#include <CUnit/CUnit.h>
#include <stdarg.h>

typedef struct dp_test_case {
    const char *name;
    void (*fn)(void);
} dp_test_case_t;

typedef struct dp_test_suite {
    const char *name;
    int (*init)(void);
    int (*cleanup)(void);
    const dp_test_case_t *cases; /* terminated by {NULL, NULL} */
} dp_test_suite_t;

/* Runs every suite of `suites` (terminated by a zeroed entry). argv[1], when
 * given, runs only the test of that name. Returns the process exit status. */
int dp_test_main(int argc, char **argv, const dp_test_suite_t *suites);

/* Records a failed assertion with a printf-formatted reason when cond is false.
 * Returns cond, so tests can stop early: if (!DP_ASSERT_MSG(...)) return; */
int dp_test_assert(int cond, int line, const char *file, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define DP_ASSERT_MSG(cond, ...) dp_test_assert(!!(cond), __LINE__, __FILE__, __VA_ARGS__)
#define DP_ASSERT_FATAL_MSG(cond, ...)                                                             \
    do {                                                                                           \
        if (!DP_ASSERT_MSG(cond, __VA_ARGS__))                                                     \
            return;                                                                                \
    } while (0)

/* Exit status of a binary whose only problems were skips (ctest's
 * SKIP_RETURN_CODE). */
#define DP_TEST_SKIP_STATUS 77

/* Marks the running test skipped: prints the reason, logs it (see above) and
 * makes the binary exit DP_TEST_SKIP_STATUS; a failure instead under CI=true
 * (unless allow-listed) or DP_TEST_NO_SKIP. The caller returns right after. */
void dp_test_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parses a decimal integer at s that ends at the end of the string or at one
 * of the characters of stops (may be ""). Returns 0 with *out set, or -1
 * (no digits, overflow, or anything else after them); s may be NULL. */
int dp_test_parse_ll(const char *s, const char *stops, long long *out);

/* Timeout multiplier from DP_TEST_TIMEOUT_SCALE (default 1). */
int dp_test_timeout_scale(void);

/* Milliseconds on the monotonic clock. */
long long dp_test_now_ms(void);

/* Sleeps `ms` milliseconds. */
void dp_test_sleep_ms(long ms);

/* Creates a fresh temporary directory under $TMPDIR (or /tmp) named after
 * `tag`, writing its path into out. Returns 0 or -1. */
int dp_test_tmpdir(const char *tag, char *out, size_t outlen);

/* Removes a directory tree (best effort). */
void dp_test_rmtree(const char *path);

#endif
