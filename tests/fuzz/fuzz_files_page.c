/*
 * fuzz_files_page: the parser of one page of a Files API directory listing
 * (src/dbx/files.c, dp_dbx_files_parse_page), which the worker reads to find
 * pending manifests and staged files.
 *
 * Oracle beyond the sanitizers: every entry handed to the callback has a
 * NUL-terminated path, and next_page_token is NUL-terminated.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbx/dbx_int.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    dp_fuzz_quiet_logs();
    return 0;
}

static int on_entry(void *ctx, const dp_dbx_file_entry_t *entry)
{
    long *n = ctx;

    if (entry->path == NULL) {
        fprintf(stderr, "fuzz_files_page: an entry without a path\n");
        abort();
    }
    (void)strlen(entry->path);
    (void)strlen(entry->name != NULL ? entry->name : "");
    return ++*n >= 1000 ? 1 : 0; /* stops early sometimes, as a caller may */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char next[256];
    int stopped = 0;
    long n = 0;
    dp_err_t err;

    memset(next, 'x', sizeof(next));
    if (dp_dbx_files_parse_page((const char *)data, size, on_entry, &n, next, sizeof(next),
                                &stopped, &err) == 0 &&
        memchr(next, 0, sizeof(next)) == NULL) {
        fprintf(stderr, "fuzz_files_page: next_page_token not terminated\n");
        abort();
    }
    return 0;
}
