/*
 * skip_demo: a CUnit binary whose case demo_skip skips and whose case
 * demo_pass passes, run by tests/unit/test_skips.c to check how dp_test
 * reports skips (exit status 77, the skip log, CI=true and the allow-list).
 * Not a test itself: ctest does not run it.
 */
#include "dp_test.h"

static void demo_skip(void)
{
    dp_test_skip("the demo needs what is not there");
}

static void demo_pass(void)
{
    DP_ASSERT_MSG(1 + 1 == 2, "arithmetic");
}

static const dp_test_case_t k_cases[] = {
    {"demo_skip", demo_skip},
    {"demo_pass", demo_pass},
    {NULL, NULL},
};

static const dp_test_suite_t k_suites[] = {
    {"skip_demo", NULL, NULL, k_cases},
    {NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
    return dp_test_main(argc, argv, k_suites);
}
