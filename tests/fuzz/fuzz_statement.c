/*
 * fuzz_statement: the parser of the Statement Execution API's responses
 * (src/dbx/sql.c: dp_dbx_sql_parse_response, submit and poll bodies) and
 * what the loader reads from a parsed result: the failure kind, the error
 * class of the message, and COPY INTO's counts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbx/sql.h"
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
    dp_dbx_sql_result_t res;
    dp_dbx_copy_counts_t counts;
    char cls[128];
    dp_err_t err;

    memset(&res, 0, sizeof(res));
    if (dp_dbx_sql_parse_response((const char *)data, size, &res, &err) == 0) {
        dp_dbx_sql_failure_kind(&res);
        dp_dbx_sql_state_name(res.state);
        dp_dbx_sql_error_class(res.message, cls, sizeof(cls));
        dp_dbx_sql_copy_counts(&res, &counts, &err);
    }
    dp_dbx_sql_result_clear(&res);
    return 0;
}
