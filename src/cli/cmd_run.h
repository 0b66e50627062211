/*
 * cmd_run: `deltaport run --config FILE`, the worker process.
 */
#ifndef DP_CMD_RUN_H
#define DP_CMD_RUN_H

/* argv[0] is "run". Returns the exit status: 0 after a clean stop (SIGTERM or
 * SIGINT), 1 when the worker could not start or failed, 2 on usage errors.
 * Thread: main; installs the SIGTERM/SIGINT handlers. */
int dp_cmd_run(int argc, char **argv);

#endif
