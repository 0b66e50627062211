/*
 * replay: the standalone driver of the fuzz targets (tests/fuzz/README.md).
 *
 * Built with gcc under the normal ASan/UBSan build, linked with one target's
 * LLVMFuzzerTestOneInput, it feeds every file named on the command line (a
 * directory: every regular file in it, sorted by name) to the target once,
 * as libFuzzer would, and prints how many inputs ran. A crash, a sanitizer
 * report or a leak fails the ctest test (label fuzz). An empty corpus fails
 * too: a replay that ran nothing proves nothing.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_util.h"

/* Optional in a target (weak: NULL when the target has none). */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

#define REPLAY_MAX_INPUT (16u << 20)

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
        n > (long)REPLAY_MAX_INPUT || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        if (f != NULL) {
            fclose(f);
        }
        return -1;
    }
    /* an exact-size heap copy, so ASan sees a read past the input */
    buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf == NULL || (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, (size_t)n);
    free(buf);
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int run_path(const char *path, long *count)
{
    struct stat st;
    struct dirent **names = NULL;
    char child[4096];
    int n, rc = 0;

    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: %s does not exist\n", path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        if (run_file(path) != 0) {
            return -1;
        }
        (*count)++;
        return 0;
    }
    n = scandir(path, &names, NULL, by_name);
    if (n < 0) {
        fprintf(stderr, "replay: cannot list %s\n", path);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.' && rc == 0) {
            snprintf(child, sizeof(child), "%s/%s", path, names[i]->d_name);
            if (stat(child, &st) == 0 && S_ISREG(st.st_mode)) {
                fprintf(stderr, "replay: %s\n", child);
                rc = run_file(child);
                (*count)++;
            }
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    long count = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    if (LLVMFuzzerInitialize != NULL) {
        LLVMFuzzerInitialize(&argc, &argv);
    }
    for (int i = 1; i < argc; i++) {
        if (run_path(argv[i], &count) != 0) {
            return 1;
        }
    }
    printf("replay: %ld input(s) ran without a finding\n", count);
    if (count == 0) {
        fprintf(stderr, "replay: no input found: an empty corpus proves nothing\n");
        return 1;
    }
    return 0;
}
