/*
 * main: the deltaport command line. Parses the subcommand, maps results to
 * exit codes, and is the only place that decides to exit (style.md 3.6).
 */
#include "cmd_config.h"
#include "cmd_query.h"
#include "cmd_run.h"
#include "log.h"
#include "produce.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <string.h>

#ifndef DP_VERSION
#define DP_VERSION "0.0.0"
#endif

static void usage(FILE *out)
{
    fprintf(out,
            "usage: deltaport <command> [options]\n"
            "commands:\n"
            "  run --config FILE            run one worker until SIGTERM\n"
            "  config dump|check --config FILE\n"
            "                               print the effective configuration (secrets masked),\n"
            "                               or only validate it\n"
            "  config doc                   print docs/CONFIGURATION.md\n"
            "  produce     generate realistic canonical events into a Kafka topic\n"
            "  version     print the version of deltaport and of its libraries\n"
            "  help        this text\n");
}

int main(int argc, char **argv)
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
    if (strcmp(argv[1], "query") == 0)
        return dp_cmd_query(argc - 1, argv + 1);
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
