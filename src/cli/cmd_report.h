/*
 * cmd_report: `deltaport report --config FILE [--since DURATION]`, what the
 * pool's loads cost in Databricks, from sync_runs: Databricks statements and
 * Files calls per million events, files and their mean size per table, and
 * load-latency percentiles of the flushes (cut to commit-ready).
 */
#ifndef DP_CMD_REPORT_H
#define DP_CMD_REPORT_H

/* Returns the process exit status: 0, 1 (failure, message on stderr) or 2
 * (usage). */
int dp_cmd_report(int argc, char **argv);

/* Parses "90s", "15m", "24h", "7d" (a positive number and a unit) into
 * seconds. Returns 0 or -1. Pure. */
int dp_cmd_report_duration(const char *text, long long *seconds);

#endif
