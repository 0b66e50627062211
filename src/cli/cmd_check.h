/*
 * cmd_check: `deltaport check --config FILE`, the connection test of the
 * reference integrations' "test connection" button, for one worker's
 * configuration. It runs, in order:
 *   1. the configuration loads and finalizes;
 *   2. Kafka answers a metadata request and every configured topic exists
 *      (or topic_regex matches at least one topic); the consumer group is
 *      never joined;
 *   3. a Databricks token is obtained (OAuth M2M; a PAT is checked by 4);
 *   4. the SQL warehouse answers SELECT 1;
 *   5. the catalog and the schema are usable (created when
 *      databricks.create_schema is true, as the loader does);
 *   6. the staging volume exists or is created, and a Files API round trip
 *      (mkdirs, upload, list, delete) works under _deltaport_check/;
 *   7. the sync_runs system table is created as the loader creates it, can
 *      be read (SELECT) and written (MODIFY, by a COPY INTO that loads no
 *      file).
 * Each check prints one line on stdout: "OK   <what>: <detail>",
 * "FAIL <what>: <reason>; fix: <what to do>" or "SKIP <what>: needs
 * <prerequisite>", then a summary line. No secret is ever printed: every
 * line is scrubbed of the configured secrets before it is written.
 * docs/CHECK.md describes the checks and what each one proves.
 */
#ifndef DP_CMD_CHECK_H
#define DP_CMD_CHECK_H

/* argv[0] is "check". Returns 0 when every check passed, 1 when any failed
 * (or was skipped because a prerequisite failed), 2 on usage errors.
 * Thread: main (before any other thread; curl_global_init already done). */
int dp_cmd_check(int argc, char **argv);

#endif
