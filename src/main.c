/*
 * main: the deltaport command line. Finds the command and hands it its
 * arguments (each command parses them with cli.h); the command's return
 * value is the exit status, and main is the only place that exits.
 */
#include "cli/cmd_check.h"
#include "cli/cmd_config.h"
#include "cli/cmd_ddl.h"
#include "cli/cmd_incarnation.h"
#include "cli/cmd_query.h"
#include "cli/cmd_replay.h"
#include "cli/cmd_report.h"
#include "cli/cmd_run.h"
#include "cli/cmd_validate.h"
#include "cli/produce.h"

#include <curl/curl.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef DP_VERSION
#define DP_VERSION "0.0.0"
#endif

static const char usage_text[] =
    "usage: deltaport <command> [options]\n"
    "\n"
    "commands:\n"
    "  run --config FILE                  run one worker until SIGTERM\n"
    "  check --config FILE                test Kafka, credentials, warehouse, grants\n"
    "  validate [--config FILE | --schemas DIR] [--format json|avro-base64|auto] [FILE]\n"
    "                                     report every invalid event of FILE (or stdin)\n"
    "  produce --topic T ...              generate realistic canonical events\n"
    "  query --config FILE [--tsv] SQL    run one statement on the configured warehouse\n"
    "  report --config FILE [--since 24h] what the loads cost in Databricks: statements and\n"
    "                                     Files calls per million events, files per table,\n"
    "                                     flush load times (sync_runs)\n"
    "  replay --config FILE --from TIME [--to TIME] [--topic T] [--names a,b]\n"
    "                                     load again, merged on event_id, what the pool\n"
    "                                     loaded in a time window (docs/DELIVERY.md)\n"
    "  incarnation show|new --config FILE [--force]\n"
    "                                     print, or mint after a topic was recreated, the\n"
    "                                     pool's incarnation (docs/DELIVERY.md)\n"
    "  ddl --config FILE [--names LIST]   print the SQL that creates the schema, Volume and\n"
    "                                     tables (for a principal that may not create them)\n"
    "  config check|dump --config FILE    validate, or print with secrets masked\n"
    "  config doc                         print docs/CONFIGURATION.md\n"
    "  config schema                      print the JSON Schema of the configuration\n"
    "  version                            versions of deltaport and librdkafka\n"
    "  help [COMMAND]                     this text, or a command's options\n"
    "\n"
    "Every command takes -h/--help. Exit status: 0 success, 1 failure, 2 usage error.\n";

typedef int (*command_fn)(int argc, char **argv);

static const struct {
    const char *name;
    command_fn fn;
} commands[] = {
    {"run", dp_cmd_run},         {"check", dp_cmd_check},   {"validate", dp_cmd_validate},
    {"produce", dp_cmd_produce}, {"query", dp_cmd_query},   {"incarnation", dp_cmd_incarnation},
    {"config", dp_cmd_config},   {"report", dp_cmd_report}, {"ddl", dp_cmd_ddl},
    {"replay", dp_cmd_replay},
};

static command_fn find_command(const char *name)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(commands[i].name, name) == 0)
            return commands[i].fn;
    }
    return NULL;
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
    const char *cmd = argc > 1 ? argv[1] : NULL;
    command_fn fn;

    if (!cmd) {
        fputs(usage_text, stderr);
        return 2;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("deltaport %s (librdkafka %s)\n", DP_VERSION, rd_kafka_version_str());
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
        /* `deltaport help run` is `deltaport run --help`. */
        if (argc > 2 && (fn = find_command(argv[2])) != NULL) {
            char help[] = "--help";
            char *help_argv[] = {argv[2], help, NULL};

            return fn(2, help_argv);
        }
        if (argc > 2) {
            fprintf(stderr, "deltaport: unknown command '%s'\n\n%s", argv[2], usage_text);
            return 2;
        }
        fputs(usage_text, stdout);
        return 0;
    }
    fn = find_command(cmd);
    if (!fn) {
        fprintf(stderr, "deltaport: unknown command '%s'\n\n%s", cmd, usage_text);
        return 2;
    }
    return fn(argc - 1, argv + 1);
}
