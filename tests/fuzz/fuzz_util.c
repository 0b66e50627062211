/*
 * fuzz_util: scratch directory, file and string helpers of the fuzz targets
 * (see fuzz_util.h).
 */
#define _GNU_SOURCE
#include "fuzz_util.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

static char tmpdir[256];

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void rm_tmpdir(void)
{
    if (tmpdir[0] != '\0') {
        nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    }
}

const char *dp_fuzz_tmpdir(void)
{
    const char *base = getenv("TMPDIR");

    if (tmpdir[0] != '\0') {
        return tmpdir;
    }
    if (base == NULL || base[0] == '\0') {
        base = "/tmp";
    }
    snprintf(tmpdir, sizeof(tmpdir), "%s/dp-fuzz-XXXXXX", base);
    if (mkdtemp(tmpdir) == NULL) {
        perror("fuzz: mkdtemp");
        abort();
    }
    atexit(rm_tmpdir);
    return tmpdir;
}

const char *dp_fuzz_write(const char *name, const uint8_t *data, size_t size)
{
    static char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dp_fuzz_tmpdir(), name);
    f = fopen(path, "wb");
    if (f == NULL || (size > 0 && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror("fuzz: writing the input file");
        abort();
    }
    return path;
}

char *dp_fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (s == NULL) {
        abort();
    }
    if (size > 0) {
        memcpy(s, data, size);
    }
    s[size] = '\0';
    return s;
}

void dp_fuzz_quiet_logs(void)
{
    static FILE *devnull;

    if (devnull == NULL) {
        devnull = fopen("/dev/null", "w");
    }
    if (devnull != NULL) {
        dp_log_set_stream(devnull);
    }
    dp_log_set_level(DP_LOG_DEBUG);
}
