/*
 * Integration tests of the command line (the real binary, src/cli/cli.c):
 *   - -h and --help on every command (and `help`, `help CMD`) print that
 *     command's usage on stdout and exit 0;
 *   - every usage error names the option and the reason on stderr, followed
 *     by the usage, and exits 2;
 *   - `query` prints Databricks' error first, and the grants hint only for a
 *     permission error (against the emulator with a grants file).
 */
#define _GNU_SOURCE
#include "dp_test.h"
#include "emu_fixture.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct run {
    int status;
    char *out; /* new: the child's stdout */
    char *err; /* new: the child's stderr */
} run_t;

static char *slurp_fd(int fd)
{
    char *text = calloc(1, 1), chunk[4096];
    size_t len = 0;
    ssize_t n;

    lseek(fd, 0, SEEK_SET);
    while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
        text = realloc(text, len + (size_t)n + 1);
        memcpy(text + len, chunk, (size_t)n);
        len += (size_t)n;
        text[len] = '\0';
    }
    return text;
}

/* Runs deltaport with args (NULL-terminated, without argv[0]); stdout and
 * stderr go to temporary files read back into r. Returns r->status (exit
 * code, or -1 when it did not exit normally). */
static int run_bin(run_t *r, const char *const *args)
{
    char outp[] = "/tmp/dp-cli-out-XXXXXX", errp[] = "/tmp/dp-cli-err-XXXXXX";
    int ofd = mkstemp(outp), efd = mkstemp(errp), st = 0;
    char *argv[32];
    size_t n = 0;
    pid_t pid;

    argv[n++] = (char *)DP_DELTAPORT_BIN;
    while (args[n - 1] && n < 31) {
        argv[n] = (char *)args[n - 1];
        n++;
    }
    argv[n] = NULL;
    unlink(outp);
    unlink(errp);
    pid = fork();
    if (pid == 0) {
        dup2(ofd, 1);
        dup2(efd, 2);
        execv(DP_DELTAPORT_BIN, argv);
        _exit(127);
    }
    waitpid(pid, &st, 0);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r->out = slurp_fd(ofd);
    r->err = slurp_fd(efd);
    close(ofd);
    close(efd);
    return r->status;
}

static void run_free(run_t *r)
{
    free(r->out);
    free(r->err);
}

static void expect_help(const char *const *args, const char *usage)
{
    run_t r;

    run_bin(&r, args);
    DP_ASSERT_MSG(r.status == 0 && strncmp(r.out, usage, strlen(usage)) == 0 && r.err[0] == '\0',
                  "%s %s: expected exit 0 and '%s' on stdout, got %d, stdout '%.80s', stderr "
                  "'%.200s'",
                  args[0], args[1] ? args[1] : "", usage, r.status, r.out, r.err);
    run_free(&r);
}

static void test_cli_help_on_every_command_exits_0(void)
{
    static const char *const commands[] = {"run",   "check",       "validate", "produce",
                                           "query", "incarnation", "config",   NULL};
    static const char *const flags[] = {"-h", "--help", NULL};
    char usage[64];

    for (int i = 0; commands[i]; i++) {
        for (int f = 0; flags[f]; f++) {
            const char *args[] = {commands[i], flags[f], NULL};

            snprintf(usage, sizeof(usage), "usage: deltaport %s", commands[i]);
            expect_help(args, usage);
        }
    }
    for (int f = 0; flags[f]; f++) {
        const char *args[] = {flags[f], NULL};

        expect_help(args, "usage: deltaport <command>");
    }
    expect_help((const char *const[]){"help", NULL}, "usage: deltaport <command>");
    expect_help((const char *const[]){"help", "query", NULL}, "usage: deltaport query");
    expect_help((const char *const[]){"config", "check", "--help", NULL},
                "usage: deltaport config check");
    expect_help((const char *const[]){"incarnation", "show", "-h", NULL},
                "usage: deltaport incarnation");
    expect_help((const char *const[]){"run", "--config", "x.json", "--help", NULL},
                "usage: deltaport run");
}

static void test_cli_errors_name_the_option(void)
{
    static const struct {
        const char *args[8];
        const char *err;   /* expected at the start of stderr */
        const char *usage; /* expected after it */
    } cases[] = {
        {{"produce", "--topic", "t", "--count", "abc"},
         "deltaport produce: --count: 'abc' is not a number",
         "usage: deltaport produce"},
        {{"produce", "--topic", "t", "--rate", "-1"},
         "deltaport produce: --rate: '-1' must be at least 0",
         "usage: deltaport produce"},
        {{"produce", "-t", "t", "--format", "xml"},
         "deltaport produce: --format: 'xml' is not one of avro, json",
         "usage: deltaport produce"},
        {{"produce", "--count", "5"}, "deltaport produce: missing --topic T", "usage:"},
        {{"run", "--conf1g", "x"},
         "deltaport run: unknown option '--conf1g'",
         "usage: deltaport run"},
        {{"run", "-z"}, "deltaport run: unknown option '-z'", "usage: deltaport run"},
        {{"run", "--config", "a", "--config", "b"},
         "deltaport run: --config given twice",
         "usage:"},
        {{"check"}, "deltaport check: missing --config FILE", "usage: deltaport check"},
        {{"check", "--config", "a.json", "b"},
         "deltaport check: unexpected argument 'b'",
         "usage:"},
        {{"query", "--config", "a.json"}, "deltaport query: missing SQL", "usage: deltaport query"},
        {{"query", "--config"}, "deltaport query: --config needs a value (FILE)", "usage:"},
        {{"validate", "--config", "a", "--schemas", "b"},
         "deltaport validate: --config and --schemas exclude each other",
         "usage:"},
        {{"validate", "--format", "xml"},
         "deltaport validate: --format: 'xml' is not one of json, avro-base64, auto",
         "usage:"},
        {{"incarnation", "bogus", "--config", "a"},
         "deltaport incarnation: unknown subcommand 'bogus' (show or new)",
         "usage: deltaport incarnation"},
        {{"config", "frob"},
         "deltaport config: unknown subcommand 'frob'",
         "usage: deltaport config"},
        {{"config", "doc", "extra"}, "deltaport config doc: unexpected argument 'extra'", "usage:"},
        {{"bogus"}, "deltaport: unknown command 'bogus'", "usage: deltaport <command>"},
    };
    run_t r;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run_bin(&r, cases[i].args);
        DP_ASSERT_MSG(r.status == 2 && strncmp(r.err, cases[i].err, strlen(cases[i].err)) == 0 &&
                          strstr(r.err, cases[i].usage) != NULL && r.out[0] == '\0',
                      "%s ...: expected exit 2 and '%s' then the usage, got %d '%.300s'",
                      cases[i].args[0], cases[i].err, r.status, r.err);
        run_free(&r);
    }
    run_bin(&r, (const char *const[]){NULL});
    DP_ASSERT_MSG(r.status == 2 && strstr(r.err, "usage: deltaport <command>"),
                  "no command: expected exit 2 and the usage, got %d", r.status);
    run_free(&r);
}

/* `query`: Databricks' error comes first; the grants hint only follows a
 * permission error. */
static void test_cli_query_puts_the_engine_error_first(void)
{
    char dir[256], perms[320], config[320], arg[340];
    const char *extra[] = {"--permissions", perms, NULL};
    dp_emu_fixture_t ef;
    run_t r;
    FILE *f;

    DP_ASSERT_FATAL_MSG(dp_test_tmpdir("cli", dir, sizeof(dir)) == 0, "expected a temp dir");
    snprintf(perms, sizeof(perms), "%s/perms.json", dir);
    snprintf(config, sizeof(config), "%s/config.json", dir);
    f = fopen(perms, "w");
    DP_ASSERT_FATAL_MSG(f != NULL, "expected to write %s", perms);
    fprintf(f, "{\"grants\": [{\"principal\": \"" DP_EMU_CLIENT_ID "\", \"privileges\": "
               "[\"USE CATALOG\", \"CREATE SCHEMA\"], \"on\": \"CATALOG main\"}]}\n");
    fclose(f);
    if (!DP_ASSERT_MSG(dp_emu_fixture_start(&ef, extra) == 0, "expected the emulator to start")) {
        dp_test_rmtree(dir);
        return;
    }
    f = fopen(config, "w");
    fprintf(f,
            "{\"kafka\": {\"bootstrap_servers\": \"127.0.0.1:1\", \"topics\": [\"events\"]},\n"
            " \"databricks\": {\"host\": \"%s\", \"allow_insecure_http\": true,\n"
            "  \"warehouse_id\": \"" DP_EMU_WAREHOUSE "\", \"catalog\": \"main\",\n"
            "  \"schema\": \"q\", \"client_id\": \"" DP_EMU_CLIENT_ID "\"}}\n",
            ef.url);
    fclose(f);
    setenv("DELTAPORT_DATABRICKS_CLIENT_SECRET", DP_EMU_CLIENT_SECRET, 1);
    snprintf(arg, sizeof(arg), "--config=%s", config);

    run_bin(&r, (const char *const[]){"query", arg, "CREATE SCHEMA IF NOT EXISTS main.q", NULL});
    DP_ASSERT_MSG(r.status == 0, "expected the schema created, got %d '%s'", r.status, r.err);
    run_free(&r);

    run_bin(&r, (const char *const[]){"query", arg, "SELECT * FROM nope", NULL});
    DP_ASSERT_MSG(r.status == 1 &&
                      strncmp(r.err,
                              "deltaport query: [TABLE_OR_VIEW_NOT_FOUND] The table or view "
                              "`main`.`q`.`nope` cannot be found",
                              94) == 0 &&
                      strstr(r.err, "hint:") == NULL && strstr(r.err, "grant") == NULL,
                  "expected 'table not found' first and no grants hint, got %d '%s'", r.status,
                  r.err);
    run_free(&r);

    run_bin(&r, (const char *const[]){"query", arg, "CREATE CATALOG other", NULL});
    DP_ASSERT_MSG(
        r.status == 1 && strncmp(r.err, "deltaport query: [INSUFFICIENT_PERMISSIONS]", 43) == 0 &&
            strstr(r.err, "\nhint: the principal lacks CREATE CATALOG on Metastore "),
        "expected the permission error first, then the grants hint, got %d '%s'", r.status, r.err);
    run_free(&r);

    run_bin(&r, (const char *const[]){"query", arg, "SELECT 40 + 2 AS answer", NULL});
    DP_ASSERT_MSG(r.status == 0 && strcmp(r.out, "answer\n42    \n") == 0,
                  "expected the result table, got %d '%s' '%s'", r.status, r.out, r.err);
    run_free(&r);
    dp_emu_fixture_stop(&ef);
    dp_test_rmtree(dir);
}

static const dp_test_case_t cases[] = {
    {"test_cli_help_on_every_command_exits_0", test_cli_help_on_every_command_exits_0},
    {"test_cli_errors_name_the_option", test_cli_errors_name_the_option},
    {"test_cli_query_puts_the_engine_error_first", test_cli_query_puts_the_engine_error_first},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    const dp_test_suite_t suites[] = {{"cli", NULL, NULL, cases}, {NULL, NULL, NULL, NULL}};

    return dp_test_main(argc, argv, suites);
}
