/*
 * fuzz_manifest: the manifest parser (dp_manifest_from_json, src/stage/manifest.c)
 * on hostile text: a manifest in the staging Volume is read back by whichever worker owns the
 * partition next, so it is input from outside the process.
 *
 * Oracle beyond the sanitizers: a manifest that parses is written again with
 * dp_manifest_to_json, and that text parses to the same text (round trip).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "fuzz_util.h"
#include "stage/manifest.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    dp_fuzz_quiet_logs();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dp_manifest_t *m, *again;
    char *text, *text2;
    dp_err_t err;

    m = dp_manifest_from_json((const char *)data, size, &err);
    if (m != NULL) {
        text = dp_manifest_to_json(m);
        again = dp_manifest_from_json(text, strlen(text), &err);
        if (again == NULL) {
            fprintf(stderr, "fuzz_manifest: a written manifest does not parse: %s\n%s\n", err.msg,
                    text);
            abort();
        }
        text2 = dp_manifest_to_json(again);
        if (strcmp(text, text2) != 0) {
            fprintf(stderr, "fuzz_manifest: round trip differs:\n%s\n%s\n", text, text2);
            abort();
        }
        free(text2);
        free(text);
        dp_manifest_destroy(again);
        dp_manifest_destroy(m);
    }
    return 0;
}
