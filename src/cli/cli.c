/*
 * cli: the shared argument parser (see cli.h). It builds getopt_long's
 * tables from the command's option table, lets getopt_long split argv, and
 * turns each option into its typed value with one error message per
 * problem.
 */
#define _GNU_SOURCE
#include "cli/cli.h"

#include "core/mem.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define LONG_ONLY_BASE 256

static int count_opts(const dp_cli_opt_t *opts)
{
    int n = 0;

    while (opts && opts[n].name)
        n++;
    return n;
}

static int val_of(const dp_cli_opt_t *opt, int i)
{
    return opt->short_name ? opt->short_name : LONG_ONLY_BASE + i;
}

/* The option whose getopt value is val, or -1. */
static int find_val(const dp_cli_opt_t *opts, int n, int val)
{
    for (int i = 0; i < n; i++) {
        if (val_of(&opts[i], i) == val)
            return i;
    }
    return -1;
}

static void vreport(const dp_cli_spec_t *spec, FILE *errout, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void vreport(const dp_cli_spec_t *spec, FILE *errout, const char *fmt, va_list ap)
{
    fprintf(errout, "deltaport %s: ", spec->command);
    vfprintf(errout, fmt, ap);
    fprintf(errout, "\n\n%s", spec->help);
}

int dp_cli_usage_error(const dp_cli_spec_t *spec, FILE *errout, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport(spec, errout, fmt, ap);
    va_end(ap);
    return DP_CLI_USAGE;
}

int dp_cli_exit(int parse_rc)
{
    return parse_rc == DP_CLI_HELP ? 0 : 2;
}

/* Stores one value of opt; returns 0 or DP_CLI_USAGE (message printed). */
static int store(const dp_cli_spec_t *spec, const dp_cli_opt_t *opt, const char *value,
                 FILE *errout)
{
    char *end = NULL;
    long long v;

    switch (opt->kind) {
    case DP_CLI_FLAG:
        *(int *)opt->out = 1;
        return 0;
    case DP_CLI_STRING:
        if (!value[0])
            return dp_cli_usage_error(spec, errout, "--%s: empty value", opt->name);
        *(const char **)opt->out = value;
        return 0;
    case DP_CLI_INT:
        errno = 0;
        v = strtoll(value, &end, 10);
        if (end == value || *end || errno == ERANGE)
            return dp_cli_usage_error(spec, errout, "--%s: '%s' is not a number", opt->name, value);
        if (v < opt->min)
            return dp_cli_usage_error(spec, errout, "--%s: '%s' must be at least %lld", opt->name,
                                      value, opt->min);
        *(long long *)opt->out = v;
        return 0;
    case DP_CLI_CHOICE:
        for (int i = 0; opt->choices[i]; i++) {
            if (strcmp(value, opt->choices[i]) == 0) {
                *(const char **)opt->out = value;
                return 0;
            }
        }
        {
            char list[256];
            size_t used = 0;

            list[0] = '\0';
            for (int i = 0; opt->choices[i] && used < sizeof(list); i++)
                used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "",
                                         opt->choices[i]);
            return dp_cli_usage_error(spec, errout, "--%s: '%s' is not one of %s", opt->name, value,
                                      list);
        }
    case DP_CLI_LIST: {
        dp_cli_list_t *list = opt->out;

        if (list->n >= list->cap)
            return dp_cli_usage_error(spec, errout, "--%s: more than %d values", opt->name,
                                      list->cap);
        list->items[list->n++] = value;
        return 0;
    }
    }
    return DP_CLI_USAGE;
}

/* The option text the user typed for an unknown option. */
static const char *unknown_text(char **argv, int argc, char *buf, size_t len)
{
    if (optopt > 0 && optopt < LONG_ONLY_BASE) {
        snprintf(buf, len, "-%c", optopt);
        return buf;
    }
    if (optind - 1 >= 0 && optind - 1 < argc)
        return argv[optind - 1];
    return "?";
}

/* getopt_long over argv; options stored, positional arguments left at
 * argv[optind..argc). */
static int parse_options(const dp_cli_spec_t *spec, int argc, char **argv, FILE *out, FILE *errout)
{
    int n = count_opts(spec->opts), rc = DP_CLI_OK, c;
    struct option *longopts = dp_calloc((size_t)n + 2, sizeof(*longopts));
    char *shortopts = dp_calloc((size_t)n * 2 + 4, 1), *seen = dp_calloc((size_t)n + 1, 1);
    size_t k = 0;
    char unknown[8];

    shortopts[k++] = ':'; /* ':' for a missing value, '?' for an unknown option */
    for (int i = 0; i < n; i++) {
        const dp_cli_opt_t *o = &spec->opts[i];

        longopts[i].name = o->name;
        longopts[i].has_arg = o->kind == DP_CLI_FLAG ? no_argument : required_argument;
        longopts[i].val = val_of(o, i);
        if (o->short_name) {
            shortopts[k++] = (char)o->short_name;
            if (o->kind != DP_CLI_FLAG)
                shortopts[k++] = ':';
        }
    }
    longopts[n].name = "help";
    longopts[n].val = 'h';
    shortopts[k++] = 'h';
    opterr = 0;
    optind = 0; /* GNU: reinitialise completely (a previous parse may have run) */
    while (rc == DP_CLI_OK && (c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        int i = find_val(spec->opts, n, c == ':' ? optopt : c);

        if (c == 'h' && i < 0) {
            fputs(spec->help, out);
            rc = DP_CLI_HELP;
        } else if (c == ':') {
            rc = dp_cli_usage_error(
                spec, errout, "--%s needs a value%s%s%s", i >= 0 ? spec->opts[i].name : "?",
                i >= 0 && spec->opts[i].value_name ? " (" : "",
                i >= 0 && spec->opts[i].value_name ? spec->opts[i].value_name : "",
                i >= 0 && spec->opts[i].value_name ? ")" : "");
        } else if (c == '?' || i < 0) {
            rc = dp_cli_usage_error(spec, errout, "unknown option '%s'",
                                    unknown_text(argv, argc, unknown, sizeof(unknown)));
        } else if (seen[i] && spec->opts[i].kind != DP_CLI_LIST) {
            rc = dp_cli_usage_error(spec, errout, "--%s given twice", spec->opts[i].name);
        } else {
            seen[i] = 1;
            rc = store(spec, &spec->opts[i], optarg ? optarg : "", errout);
        }
    }
    for (int i = 0; rc == DP_CLI_OK && i < n; i++) {
        if (spec->opts[i].required && !seen[i])
            rc = dp_cli_usage_error(spec, errout, "missing --%s%s%s", spec->opts[i].name,
                                    spec->opts[i].value_name ? " " : "",
                                    spec->opts[i].value_name ? spec->opts[i].value_name : "");
    }
    free(longopts);
    free(shortopts);
    free(seen);
    return rc;
}

int dp_cli_parse(const dp_cli_spec_t *spec, int argc, char **argv, char **args, int *nargs,
                 FILE *out, FILE *errout)
{
    int rc = parse_options(spec, argc, argv, out, errout);

    *nargs = 0;
    if (rc != DP_CLI_OK)
        return rc;
    for (int i = optind; i < argc; i++) {
        if (*nargs >= spec->max_args)
            return dp_cli_usage_error(spec, errout, "unexpected argument '%s'", argv[i]);
        args[(*nargs)++] = argv[i];
    }
    if (*nargs < spec->min_args)
        return dp_cli_usage_error(spec, errout, "missing %s",
                                  spec->args_name ? spec->args_name : "argument");
    return DP_CLI_OK;
}
