/*
 * cmd_config: `deltaport config check|dump|doc` (see cmd_config.h). It only
 * parses arguments and maps results to exit statuses; the work is done by
 * the config module. Errors are printed as one plain line on stderr (a
 * command-line tool talking to a person, not a JSON log line).
 */
#include "cmd_config.h"
#include "config.h"

#include <string.h>

enum { EXIT_OK = 0, EXIT_INVALID = 1, EXIT_USAGE = 2 };

static int usage(FILE *errout, const char *why)
{
    if (why) {
        fprintf(errout, "deltaport config: %s\n", why);
    }
    fputs("usage: deltaport config check --config FILE\n"
          "       deltaport config dump --config FILE\n"
          "       deltaport config doc\n",
          errout);
    return EXIT_USAGE;
}

/* Finds --config F or --config=F among argv[2..]; anything else is a usage
 * error. Returns 0 and sets *path, or -1. */
static int parse_config_arg(int argc, char **argv, const char **path)
{
    *path = NULL;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc && !*path) {
            *path = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0 && argv[i][9] && !*path) {
            *path = argv[i] + 9;
        } else {
            return -1;
        }
    }
    return *path ? 0 : -1;
}

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
    const char *path = NULL;

    if (argc < 2) {
        return usage(errout, "missing subcommand");
    }
    if (strcmp(argv[1], "doc") == 0) {
        if (argc != 2) {
            return usage(errout, "doc takes no arguments");
        }
        return dp_config_doc(out) == 0 ? EXIT_OK : EXIT_INVALID;
    }
    if (strcmp(argv[1], "check") != 0 && strcmp(argv[1], "dump") != 0) {
        fprintf(errout, "deltaport config: unknown subcommand '%s'\n", argv[1]);
        return usage(errout, NULL);
    }
    if (parse_config_arg(argc, argv, &path) < 0) {
        return usage(errout, "expected exactly one --config FILE");
    }
    return load_and_run(argv[1], path, out, errout);
}

int dp_cmd_config(int argc, char **argv)
{
    return dp_cmd_config_io(argc, argv, stdout, stderr);
}
