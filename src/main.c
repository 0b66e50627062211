/*
 * main: the deltaport command line. Parses the subcommand, maps results to
 * exit codes, and is the only place that decides to exit (style.md 3.6).
 */
#include "cmd_check.h"
#include "cmd_config.h"
#include "cmd_incarnation.h"
#include "cmd_query.h"
#include "cmd_report.h"
#include "cmd_run.h"
#include "cmd_validate.h"
#include "config.h"
#include "mem.h"
#include "log.h"
#include "produce.h"

#include <curl/curl.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef DP_VERSION
#define DP_VERSION "0.0.0"
#endif

/* `validate --config F ...` reads the schema directory from the
 * configuration: rewritten as `validate --schemas DIR ...`. */
static int cmd_validate(int argc, char **argv)
{
    char **args = dp_calloc((size_t)argc + 1, sizeof(char *));
    dp_config_t *cfg = NULL;
    dp_err_t err;
    int n = 0, rc;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            dp_config_destroy(cfg);
            cfg = dp_config_load(argv[++i], &err);
            if (!cfg) {
                fprintf(stderr, "deltaport: %s\n", err.msg);
                free(args);
                return 2;
            }
            args[n++] = "--schemas";
            args[n++] = cfg->schemas.dir;
        } else {
            args[n++] = argv[i];
        }
    }
    rc = dp_cmd_validate(n, args);
    dp_config_destroy(cfg);
    free(args);
    return rc;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: deltaport <command> [options]\n"
            "commands:\n"
            "  run --config FILE                  run one worker until SIGTERM\n"
            "  check --config FILE                test Kafka, credentials, warehouse, grants\n"
            "  validate [--config FILE | --schemas DIR] [--format json|avro-base64|auto] [FILE]\n"
            "                                     report every invalid event of FILE (or stdin)\n"
            "  produce --topic T ...              generate realistic canonical events (--help)\n"
            "  query --config FILE [--tsv] SQL    run one statement on the configured warehouse\n"
            "  report --config FILE [--since 24h] statements and Files calls per million events,\n"
            "                                     files per table, flush load times (sync_runs)\n"
            "  incarnation show|new --config FILE print, or mint after a topic was recreated,\n"
            "                                     the pool's incarnation (docs/DELIVERY.md)\n"
            "  config check|dump --config FILE    validate, or print with secrets masked\n"
            "  config doc                         print docs/CONFIGURATION.md\n"
            "  version                            versions of deltaport and librdkafka\n"
            "  help                               this text\n");
}

static int dispatch(int argc, char **argv);

int main(int argc, char **argv)
{
    int rc;

    /* libcurl's global state, before any thread starts. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "deltaport: libcurl failed to initialise\n");
        return 1;
    }
    rc = dispatch(argc, argv);
    curl_global_cleanup();
    return rc;
}

static int dispatch(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("deltaport %s (librdkafka %s)\n", DP_VERSION, rd_kafka_version_str());
        return 0;
    }
    if (strcmp(argv[1], "run") == 0)
        return dp_cmd_run(argc - 1, argv + 1);
    if (strcmp(argv[1], "check") == 0)
        return dp_cmd_check(argc - 1, argv + 1);
    if (strcmp(argv[1], "validate") == 0)
        return cmd_validate(argc - 1, argv + 1);
    if (strcmp(argv[1], "query") == 0)
        return dp_cmd_query(argc - 1, argv + 1);
    if (strcmp(argv[1], "report") == 0)
        return dp_cmd_report(argc - 1, argv + 1);
    if (strcmp(argv[1], "incarnation") == 0)
        return dp_cmd_incarnation(argc - 1, argv + 1);
    if (strcmp(argv[1], "config") == 0)
        return dp_cmd_config(argc - 1, argv + 1);
    if (strcmp(argv[1], "produce") == 0)
        return dp_cmd_produce(argc - 1, argv + 1);
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "deltaport: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
