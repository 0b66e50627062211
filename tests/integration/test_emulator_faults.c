#include "dp_test.h"
static const dp_test_suite_t suites[] = {{NULL, NULL, NULL, NULL}};
int main(int argc, char **argv)
{
    return dp_test_main(argc, argv, suites);
}
