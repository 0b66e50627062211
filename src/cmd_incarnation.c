/*
 * cmd_incarnation: show or mint the pool's incarnation (see
 * cmd_incarnation.h).
 */
#include "cmd_incarnation.h"

#include "claims.h"
#include "cli.h"
#include "config.h"
#include "dbxconn.h"
#include "log.h"

#include <stdio.h>
#include <string.h>

static const char incarnation_help[] =
    "usage: deltaport incarnation show --config FILE\n"
    "       deltaport incarnation new --config FILE\n"
    "\n"
    "show prints the pool's incarnation: the id every commit carries, so that offsets of\n"
    "a deleted and recreated topic are never trusted (docs/DELIVERY.md). new mints a new\n"
    "one: run it after a topic was recreated, with every worker stopped; the workers then\n"
    "read every partition from its beginning.\n"
    "\n"
    "options:\n"
    "  -c, --config FILE   the configuration (databricks.* and kafka.group_id)\n"
    "  -h, --help          this text\n"
    "\n"
    "Exit status: 0 success, 1 failure, 2 usage error.\n";

int dp_cmd_incarnation(int argc, char **argv)
{
    const char *path = NULL, *verb;
    char inc[DP_CLAIMS_INCARNATION_SIZE];
    dp_config_t *cfg = NULL;
    dp_dbxconn_t conn = {NULL, NULL};
    dp_err_t err;
    int rc = 1, nargs, prc;
    char *args[1];
    const dp_cli_opt_t opts[] = {
        {"config", 'c', DP_CLI_STRING, &path, "FILE", 1, 0, NULL},
        {NULL, 0, 0, NULL, NULL, 0, 0, NULL},
    };
    const dp_cli_spec_t spec = {"incarnation", incarnation_help, opts, 1, 1, "show or new"};

    if ((prc = dp_cli_parse(&spec, argc, argv, args, &nargs, stdout, stderr)) != DP_CLI_OK)
        return dp_cli_exit(prc);
    verb = args[0];
    if (strcmp(verb, "show") != 0 && strcmp(verb, "new") != 0)
        return dp_cli_exit(
            dp_cli_usage_error(&spec, stderr, "unknown subcommand '%s' (show or new)", verb));
    dp_log_set_level(DP_LOG_ERROR);
    cfg = dp_config_load(path, &err);
    if (!cfg || dp_config_finalize(cfg, &err) < 0 ||
        dp_dbxconn_open(&conn, cfg, NULL, NULL, &err) < 0 ||
        dp_claims_setup(conn.client, cfg, &err) < 0 ||
        dp_claims_incarnation(conn.client, cfg, cfg->kafka.group_id, strcmp(verb, "new") == 0,
                              inc, &err) < 0) {
        fprintf(stderr, "deltaport: %s\n", err.msg);
        goto out;
    }
    printf("%s\n", inc);
    rc = 0;
out:
    dp_dbxconn_close(&conn);
    dp_config_destroy(cfg);
    return rc;
}
