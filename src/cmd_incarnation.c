/*
 * cmd_incarnation: show or mint the pool's incarnation (see
 * cmd_incarnation.h).
 */
#include "cmd_incarnation.h"

#include "claims.h"
#include "config.h"
#include "dbxconn.h"
#include "log.h"

#include <stdio.h>
#include <string.h>

int dp_cmd_incarnation(int argc, char **argv)
{
    const char *path = NULL, *verb = argc > 1 ? argv[1] : "";
    char inc[DP_CLAIMS_INCARNATION_SIZE];
    dp_config_t *cfg = NULL;
    dp_dbxconn_t conn = {NULL, NULL};
    dp_err_t err;
    int rc = 1;

    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            path = argv[++i];
        else
            path = NULL, i = argc;
    }
    if (!path || (strcmp(verb, "show") != 0 && strcmp(verb, "new") != 0)) {
        fprintf(stderr, "usage: deltaport incarnation show|new --config FILE\n");
        return 2;
    }
    dp_log_set_level(DP_LOG_ERROR);
    cfg = dp_config_load(path, &err);
    if (!cfg || dp_config_finalize(cfg, &err) < 0 ||
        dp_dbxconn_open(&conn, cfg, NULL, NULL, &err) < 0 ||
        dp_claims_setup_incarnations(conn.client, cfg, &err) < 0 ||
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
