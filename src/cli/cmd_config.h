/*
 * cmd_config: the `deltaport config` subcommands.
 *
 *   deltaport config check --config F   validate F (and the environment)
 *   deltaport config dump  --config F   print the effective configuration,
 *                                       secrets shown as "(set)"/"(unset)"
 *   deltaport config doc                print docs/CONFIGURATION.md
 *
 * Exit status: 0 ok, 1 invalid configuration, 2 usage error.
 */
#ifndef DP_CMD_CONFIG_H
#define DP_CMD_CONFIG_H

#include <stdio.h>

/*
 * Runs `deltaport config ...`. argv[0] is "config" and argv[1] the
 * subcommand (main passes argc - 1, argv + 1). Writes to stdout and stderr.
 * Returns the exit status. Thread: main.
 */
int dp_cmd_config(int argc, char **argv);

/* dp_cmd_config() with its output streams given (borrowed); for tests. */
int dp_cmd_config_io(int argc, char **argv, FILE *out, FILE *errout);

#endif
