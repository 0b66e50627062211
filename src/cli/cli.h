/*
 * cli: the one argument parser of every deltaport command, on getopt_long.
 *
 * A command describes its options in a table (dp_cli_opt_t) and its help
 * text; dp_cli_parse() then gives every command the same behaviour:
 *   - -h and --help print the command's help on stdout (exit 0);
 *   - --name VALUE, --name=VALUE and -n VALUE; unique prefixes of long names;
 *   - every error names the option and the reason, on stderr, followed by the
 *     command's help (exit 2):
 *       deltaport produce: --count: 'abc' is not a number
 *       deltaport run: unknown option '--conf1g'
 *       deltaport query: --config needs a value
 *       deltaport check: missing --config FILE
 *       deltaport check: unexpected argument 'b'
 *   - an option given twice is an error (except lists such as produce -X).
 *
 * Thread: main only (getopt's state is global).
 */
#ifndef DP_CLI_H
#define DP_CLI_H

#include <stdio.h>

typedef enum {
    DP_CLI_FLAG = 0, /* no value; out: int *, set to 1 */
    DP_CLI_STRING,   /* out: const char **, borrowed from argv */
    DP_CLI_INT,      /* out: long long *, at least min */
    DP_CLI_CHOICE,   /* out: const char **, one of choices */
    DP_CLI_LIST      /* out: dp_cli_list_t *, repeatable */
} dp_cli_kind_t;

/* A repeatable option's values: items[0..n), borrowed from argv; the caller
 * provides items with room for cap values. */
typedef struct dp_cli_list {
    const char **items;
    int n, cap;
} dp_cli_list_t;

typedef struct dp_cli_opt {
    const char *name; /* long name without "--"; NULL ends a table */
    int short_name;   /* 'c', or 0 for none */
    dp_cli_kind_t kind;
    void *out;
    const char *value_name;     /* "FILE", "N": for messages */
    int required;               /* 1: the command fails without it */
    long long min;              /* DP_CLI_INT: smallest value */
    const char *const *choices; /* DP_CLI_CHOICE: NULL-terminated */
} dp_cli_opt_t;

typedef struct dp_cli_spec {
    const char *command; /* "run", "config check": prefixes messages */
    const char *help;    /* the whole help text, from "usage: ..." on */
    const dp_cli_opt_t *opts;
    int min_args, max_args; /* positional arguments */
    const char *args_name;  /* "SQL", "FILE": for "missing SQL" */
} dp_cli_spec_t;

enum {
    DP_CLI_OK = 0,   /* parsed: go on */
    DP_CLI_HELP = 1, /* help printed: exit 0 */
    DP_CLI_USAGE = 2 /* error printed: exit 2 */
};

/* Parses argv[1..argc) (argv[0] names the command and is skipped) against
 * spec. Positional arguments go to args[0..*nargs) (borrowed; args has room
 * for spec->max_args). Help goes to out, errors to errout. Returns DP_CLI_OK,
 * DP_CLI_HELP or DP_CLI_USAGE. May permute argv. */
int dp_cli_parse(const dp_cli_spec_t *spec, int argc, char **argv, char **args, int *nargs,
                 FILE *out, FILE *errout);

/* The exit status for a parse result that is not DP_CLI_OK: 0 after help,
 * 2 after an error. */
int dp_cli_exit(int parse_rc);

/* Prints "deltaport <command>: <reason>" and the help to errout, returns
 * DP_CLI_USAGE: for the checks a command makes after parsing (options that
 * exclude each other). */
int dp_cli_usage_error(const dp_cli_spec_t *spec, FILE *errout, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
