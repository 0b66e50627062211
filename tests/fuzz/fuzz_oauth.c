/*
 * fuzz_oauth: the parsers of what a Databricks workspace answers to the
 * OAuth token request (src/dbx/oauth.c, dp_oauth_parse_token_response) and
 * of every Databricks error body (src/dbx/http.c, dp_dbx_parse_error_body:
 * {"error_code","message"} or OAuth's {"error","error_description"}).
 *
 * Oracle beyond the sanitizers: a token that parses is NUL-terminated within
 * the buffer, non-empty, and a positive lifetime is given.
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char token[512], code[64], msg[384];
    long expires_in = -1;
    dp_err_t err;

    memset(token, 'x', sizeof(token));
    if (dp_oauth_parse_token_response((const char *)data, size, token, sizeof(token), &expires_in,
                                      &err) == 0) {
        if (memchr(token, 0, sizeof(token)) == NULL || token[0] == '\0' || expires_in <= 0) {
            fprintf(stderr, "fuzz_oauth: accepted a token without a valid value or lifetime\n");
            abort();
        }
    }
    dp_dbx_parse_error_body((const char *)data, size, code, sizeof(code), msg, sizeof(msg));
    return 0;
}
