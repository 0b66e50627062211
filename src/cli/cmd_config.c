/*
 * cmd_config: `deltaport config check|dump|doc` (see cmd_config.h). It only
 * parses arguments and maps results to exit statuses; the work is done by
 * the config module. Errors are printed as plain lines on stderr (a
 * command-line tool talking to a person, not a JSON log line).
 */
#include "cli/cmd_config.h"
#include "cli/cli.h"
#include "config/config.h"

#include <string.h>

enum { EXIT_OK = 0, EXIT_INVALID = 1, EXIT_USAGE = 2 };

static const char config_help[] =
    "usage: deltaport config check --config FILE\n"
    "       deltaport config dump --config FILE\n"
    "       deltaport config doc\n"
    "       deltaport config schema\n"
    "\n"
    "check   loads and validates the file with its environment overrides and secrets,\n"
    "        exactly as run does (exit 1 with the reason when it is not valid)\n"
    "dump    prints the whole configuration, defaults included, secrets masked\n"
    "doc     prints the configuration reference (docs/CONFIGURATION.md)\n"
    "schema  prints the JSON Schema (draft-07) of the configuration file, generated from\n"
    "        the same table (the Helm chart's values.schema.json embeds it)\n"
    "\n"
    "options:\n"
    "  -c, --config FILE   the configuration (check, dump)\n"
    "  -h, --help          this text\n"
    "\n"
    "Exit status: 0 success, 1 invalid configuration, 2 usage error.\n";

static int load_and_run(const char *sub, const char *path, FILE *out, FILE *errout)
{
    dp_err_t err;
    dp_config_t *cfg;
    int rc = EXIT_OK;

    dp_err_clear(&err);
    cfg = dp_config_load(path, &err);
    if (!cfg) {
        fprintf(errout, "deltaport config %s: %s\n", sub, err.msg);
        return EXIT_INVALID;
    }
    if (strcmp(sub, "dump") == 0) {
        if (dp_config_dump(cfg, out) < 0) {
            fprintf(errout, "deltaport config dump: cannot write the output\n");
            rc = EXIT_INVALID;
        }
    } else {
        fprintf(out, "deltaport config check: %s is valid\n", path);
    }
    dp_config_destroy(cfg);
    return rc;
}

int dp_cmd_config_io(int argc, char **argv, FILE *out, FILE *errout)
{
    const char *path = NULL, *sub = argc > 1 ? argv[1] : NULL;
    const dp_cli_opt_t with_config[] = {
        {"config", 'c', DP_CLI_STRING, &path, "FILE", 1, 0, NULL},
        {NULL, 0, 0, NULL, NULL, 0, 0, NULL},
    };
    const dp_cli_opt_t none[] = {{NULL, 0, 0, NULL, NULL, 0, 0, NULL}};
    dp_cli_spec_t spec = {"config", config_help, none, 0, 0, NULL};
    char command[32];
    int nargs, prc;

    if (!sub) {
        return dp_cli_usage_error(&spec, errout, "missing subcommand (check, dump, doc or schema)");
    }
    if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0) {
        fputs(config_help, out);
        return EXIT_OK;
    }
    if (strcmp(sub, "check") != 0 && strcmp(sub, "dump") != 0 && strcmp(sub, "doc") != 0 &&
        strcmp(sub, "schema") != 0) {
        return dp_cli_usage_error(&spec, errout,
                                  "unknown subcommand '%s' (check, dump, doc or schema)", sub);
    }
    snprintf(command, sizeof(command), "config %s", sub);
    spec.command = command;
    if (strcmp(sub, "check") == 0 || strcmp(sub, "dump") == 0) {
        spec.opts = with_config;
    }
    if ((prc = dp_cli_parse(&spec, argc - 1, argv + 1, NULL, &nargs, out, errout)) != DP_CLI_OK) {
        return dp_cli_exit(prc);
    }
    if (strcmp(sub, "doc") == 0) {
        return dp_config_doc(out) == 0 ? EXIT_OK : EXIT_INVALID;
    }
    if (strcmp(sub, "schema") == 0) {
        return dp_config_schema(out) == 0 ? EXIT_OK : EXIT_INVALID;
    }
    return load_and_run(sub, path, out, errout);
}

int dp_cmd_config(int argc, char **argv)
{
    return dp_cmd_config_io(argc, argv, stdout, stderr);
}
