/*
 * cmd_ddl: `deltaport ddl --config FILE [--names a,b,...]` prints the SQL
 * that creates everything the worker writes to (schema, staging Volume,
 * system tables, event tables: with sink zerobus each event table's raw
 * table and view) and the grants its principal then needs, for a
 * workspace whose deltaport principal may not create objects: an
 * administrator runs the output, and the worker finds what it needs.
 */
#ifndef DP_CMD_DDL_H
#define DP_CMD_DDL_H

/* argv[0] is "ddl". Returns 0, 1 (configuration or schema unreadable) or 2
 * (usage). Thread: main. */
int dp_cmd_ddl(int argc, char **argv);

#endif
