/*
 * cmd_validate: the `validate` command (see cmd_validate.h). It runs the
 * worker's own decoder (decode.h) on each line, so what it accepts is what
 * the worker accepts.
 */
#include "cli/cmd_validate.h"

#include "cli/cli.h"
#include "codec/decode.h"
#include "config/config.h"
#include "core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { FMT_AUTO, FMT_JSON, FMT_BASE64 } fmt_t;

typedef struct opts {
    const char *schemas;
    const char *input;
    fmt_t format;
} opts_t;

static const char validate_help[] =
    "usage: deltaport validate [--config FILE | --schemas DIR] [--format json|avro-base64|auto]\n"
    "                          [FILE|-]\n"
    "\n"
    "Runs the worker's own decoder and validation on every line of FILE (or stdin) and\n"
    "prints one line per invalid event with its error code, field and reason\n"
    "(docs/EVENTS.md), then a summary. Lines are canonical JSON events, or base64 of\n"
    "Confluent-framed or plain Avro.\n"
    "\n"
    "options:\n"
    "  -c, --config FILE   take the schema directory from this configuration (it loads\n"
    "                      the whole configuration, so it needs the same secrets as run)\n"
    "  -s, --schemas DIR   the schema directory (default: schemas)\n"
    "  -f, --format F      json, avro-base64, or auto (default: a line starting with '{'\n"
    "                      is JSON, any other base64)\n"
    "  -h, --help          this text\n"
    "\n"
    "Exit status: 0 when every event is valid, 1 when one is not, 2 for a usage error or\n"
    "missing schemas or input.\n";

/* Parses the arguments; with --config, loads the configuration into *cfg
 * (new, the caller destroys it) for its schema directory. Returns DP_CLI_OK,
 * DP_CLI_HELP or DP_CLI_USAGE (also when the configuration does not load). */
static int parse_args(int argc, char **argv, opts_t *o, dp_config_t **cfg)
{
    static const char *const formats[] = {"json", "avro-base64", "auto", NULL};
    const char *config = NULL, *schemas = NULL, *format = "auto";
    const dp_cli_opt_t opts[] = {
        {"config", 'c', DP_CLI_STRING, &config, "FILE", 0, 0, NULL},
        {"schemas", 's', DP_CLI_STRING, &schemas, "DIR", 0, 0, NULL},
        {"format", 'f', DP_CLI_CHOICE, &format, "F", 0, 0, formats},
        {NULL, 0, 0, NULL, NULL, 0, 0, NULL},
    };
    const dp_cli_spec_t spec = {"validate", validate_help, opts, 0, 1, "FILE"};
    char *args[1];
    dp_err_t err;
    int nargs, rc;

    if ((rc = dp_cli_parse(&spec, argc, argv, args, &nargs, stdout, stderr)) != DP_CLI_OK)
        return rc;
    if (config && schemas)
        return dp_cli_usage_error(&spec, stderr, "--config and --schemas exclude each other");
    o->input = nargs ? args[0] : "-";
    o->format = strcmp(format, "json") == 0          ? FMT_JSON
                : strcmp(format, "avro-base64") == 0 ? FMT_BASE64
                                                     : FMT_AUTO;
    o->schemas = schemas ? schemas : "schemas";
    if (config) {
        *cfg = dp_config_load(config, &err);
        if (!*cfg) {
            fprintf(stderr, "deltaport validate: %s\n", err.msg);
            return DP_CLI_USAGE;
        }
        o->schemas = (*cfg)->schemas.dir;
    }
    return DP_CLI_OK;
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

long dp_base64_decode(const char *in, size_t len, unsigned char *out)
{
    unsigned long acc = 0;
    size_t i;
    long n = 0;
    int bits = 0, v;

    while (len > 0 && in[len - 1] == '=')
        len--;
    for (i = 0; i < len; i++) {
        if ((v = b64_value((unsigned char)in[i])) < 0)
            return -1;
        acc = (acc << 6) | (unsigned long)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    if (bits >= 6) /* a lone trailing character carries no byte */
        return -1;
    return n;
}

static size_t trim(char *line, size_t len, size_t *start)
{
    size_t s = 0;

    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' ' ||
                       line[len - 1] == '\t'))
        len--;
    while (s < len && (line[s] == ' ' || line[s] == '\t'))
        s++;
    *start = s;
    return len - s;
}

/* Decodes one non-empty line; prints it when invalid. Returns 1 valid, 0 not. */
static int check_line(const dp_decoder_t *dec, fmt_t format, char *text, size_t len,
                      unsigned long lineno, dp_decode_scratch_t *scratch, unsigned char **bin,
                      size_t *bincap)
{
    dp_decoded_t out;
    dp_err_t err;
    long n;

    if (format == FMT_BASE64 || (format == FMT_AUTO && text[0] != '{')) {
        if (len / 4 * 3 + 3 > *bincap) {
            *bincap = len / 4 * 3 + 3;
            *bin = dp_realloc(*bin, *bincap);
        }
        if ((n = dp_base64_decode(text, len, *bin)) < 0) {
            printf("line %lu: FRAMING $: not base64 (expected framed Avro in base64)\n", lineno);
            return 0;
        }
        if (dp_decode_message(dec, NULL, *bin, (size_t)n, &out, scratch, &err) == 0)
            return 1;
    } else if (dp_decode_message(dec, NULL, text, len, &out, scratch, &err) == 0) {
        return 1;
    }
    printf("line %lu: %s %s: %s\n", lineno, dp_reject_name(out.reject.code), out.reject.path,
           out.reject.reason);
    return 0;
}

static int run(const dp_decoder_t *dec, const opts_t *o, FILE *in)
{
    dp_decode_scratch_t scratch;
    unsigned long lineno = 0, valid = 0, invalid = 0;
    unsigned char *bin = NULL;
    size_t bincap = 0, cap = 0, len, start;
    char *line = NULL;
    ssize_t got;

    dp_decode_scratch_init(&scratch, 4 * DP_DECODE_DEFAULT_MAX_MESSAGE);
    while ((got = getline(&line, &cap, in)) >= 0) {
        lineno++;
        len = trim(line, (size_t)got, &start);
        if (len == 0)
            continue;
        if (check_line(dec, o->format, line + start, len, lineno, &scratch, &bin, &bincap))
            valid++;
        else
            invalid++;
    }
    printf("%lu messages: %lu valid, %lu invalid\n", valid + invalid, valid, invalid);
    fflush(stdout);
    free(line);
    free(bin);
    dp_decode_scratch_free(&scratch);
    return invalid ? 1 : 0;
}

int dp_cmd_validate(int argc, char **argv)
{
    dp_decoder_t *dec = NULL;
    dp_config_t *cfg = NULL;
    FILE *in = NULL;
    dp_err_t err;
    opts_t o = {"schemas", "-", FMT_AUTO};
    int rc;

    if ((rc = parse_args(argc, argv, &o, &cfg)) != DP_CLI_OK)
        return dp_cli_exit(rc);
    rc = 2;
    if (!(dec = dp_decoder_open(o.schemas, &err))) {
        fprintf(stderr, "deltaport validate: schemas: %s\n", err.msg);
        goto out;
    }
    in = strcmp(o.input, "-") == 0 ? stdin : fopen(o.input, "r");
    if (!in) {
        fprintf(stderr, "deltaport validate: cannot open %s\n", o.input);
        goto out;
    }
    rc = run(dec, &o, in);
out:
    if (in && in != stdin)
        fclose(in);
    dp_decoder_destroy(dec);
    dp_config_destroy(cfg);
    return rc;
}
