/*
 * cmd_query: `deltaport query --config FILE [--tsv] SQL` runs one SQL
 * statement on the configured warehouse (same host, credentials and session
 * catalog/schema as the worker) and prints the result as an aligned table or
 * as tab-separated values. Used by the demo and handy for checks.
 */
#ifndef DP_CMD_QUERY_H
#define DP_CMD_QUERY_H

/* argv[0] is "query". Returns 0 when the statement SUCCEEDED, 1 when it
 * failed (the error is printed), 2 on usage errors. Thread: main. */
int dp_cmd_query(int argc, char **argv);

#endif
