/*
 * control: the control-channel command language of deltaport-kafka-mock.
 *
 * One command is one line of whitespace-separated words; the first word picks an entry of
 * the command table, which checks the argument count before its handler runs. Handlers
 * parse every number with strtol and a range, turn error names into librdkafka codes
 * through rd_kafka_get_err_descs(), and answer with exactly one line: "OK[ detail]" or
 * "ERR reason". No input reaches the mock cluster unchecked.
 */
#include "kmock.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KM_ERR_PREFIX "RD_KAFKA_RESP_ERR_"

typedef struct cmd_ctx {
    km_t *km;
    int argc;
    char **argv; /* argv[0] is the command word */
    char *reply;
    size_t replylen;
} cmd_ctx_t;

typedef struct cmd_def {
    const char *name;
    int min_args; /* words after the command word */
    int max_args;
    const char *usage;
    void (*fn)(cmd_ctx_t *ctx);
} cmd_def_t;

static void reply(cmd_ctx_t *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void reply(cmd_ctx_t *ctx, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(ctx->reply, ctx->replylen, fmt, ap);
    va_end(ap);
}

/* ---------------------------------------------------------------------------------------
 * Argument parsing
 * ------------------------------------------------------------------------------------- */

/* Parses a whole-word decimal integer within [lo, hi]. Returns 0 or -1 (with an ERR reply
 * naming `what`). */
static int parse_long(cmd_ctx_t *ctx, const char *s, const char *what, long lo, long hi, long *out)
{
    char *end = NULL;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        reply(ctx, "ERR bad %s '%s': expected an integer in %ld..%ld", what, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

/* A broker id: 1..brokers, or -1 (all brokers) when allow_all is set. */
static int parse_broker(cmd_ctx_t *ctx, const char *s, int allow_all, int32_t *out)
{
    long v;

    if (parse_long(ctx, s, "broker id", allow_all ? -1 : 1, ctx->km->brokers, &v) < 0)
        return -1;
    if (v == 0) {
        reply(ctx, "ERR bad broker id '0': brokers are 1..%d%s", ctx->km->brokers,
              allow_all ? " or -1 for all" : "");
        return -1;
    }
    *out = (int32_t)v;
    return 0;
}

static int parse_apikey(cmd_ctx_t *ctx, const char *s, int16_t *out)
{
    long v;

    if (parse_long(ctx, s, "api key", 0, INT16_MAX, &v) < 0)
        return -1;
    *out = (int16_t)v;
    return 0;
}

/* Looks up an error by librdkafka name (with or without the RD_KAFKA_RESP_ERR_ prefix,
 * case-insensitive) or by number. Only codes librdkafka knows are accepted. */
static int parse_error(cmd_ctx_t *ctx, const char *s, rd_kafka_resp_err_t *out)
{
    const struct rd_kafka_err_desc *descs = NULL;
    size_t cnt = 0, i;
    const char *name = s;
    char *end = NULL;
    long num;
    int numeric;

    if (strncasecmp(name, KM_ERR_PREFIX, strlen(KM_ERR_PREFIX)) == 0)
        name += strlen(KM_ERR_PREFIX);
    errno = 0;
    num = strtol(s, &end, 10);
    numeric = !errno && end != s && *end == '\0';
    rd_kafka_get_err_descs(&descs, &cnt);
    for (i = 0; i < cnt; i++) {
        if (!descs[i].name)
            continue;
        if ((numeric && (long)descs[i].code == num) ||
            (!numeric && strcasecmp(descs[i].name, name) == 0)) {
            *out = descs[i].code;
            return 0;
        }
    }
    reply(ctx,
          "ERR unknown error '%s': expected a librdkafka error name such as "
          "NOT_LEADER_FOR_PARTITION or a known code",
          s);
    return -1;
}

/* ---------------------------------------------------------------------------------------
 * Handlers
 * ------------------------------------------------------------------------------------- */

static void cmd_ping(cmd_ctx_t *ctx)
{
    reply(ctx, "OK");
}

static void cmd_quit(cmd_ctx_t *ctx)
{
    ctx->km->quit = 1;
    reply(ctx, "OK");
}

static void cmd_topic(cmd_ctx_t *ctx)
{
    char why[256];
    long parts;

    if (parse_long(ctx, ctx->argv[2], "partition count", 1, 100000, &parts) < 0)
        return;
    if (km_topic_create(ctx->km, ctx->argv[1], (int)parts, why, sizeof(why)) < 0) {
        reply(ctx, "ERR topic %s: %s", ctx->argv[1], why);
        return;
    }
    reply(ctx, "OK");
}

static void reply_err(cmd_ctx_t *ctx, rd_kafka_resp_err_t err)
{
    if (err)
        reply(ctx, "ERR %s: %s", ctx->argv[0], rd_kafka_err2name(err));
    else
        reply(ctx, "OK");
}

static void cmd_down_up(cmd_ctx_t *ctx)
{
    int32_t broker;

    if (parse_broker(ctx, ctx->argv[1], 1, &broker) < 0)
        return;
    if (strcmp(ctx->argv[0], "down") == 0)
        reply_err(ctx, rd_kafka_mock_broker_set_down(ctx->km->mc, broker));
    else
        reply_err(ctx, rd_kafka_mock_broker_set_up(ctx->km->mc, broker));
}

static void cmd_rtt(cmd_ctx_t *ctx)
{
    int32_t broker;
    long ms;

    if (parse_broker(ctx, ctx->argv[1], 1, &broker) < 0 ||
        parse_long(ctx, ctx->argv[2], "rtt ms", 0, 600000, &ms) < 0)
        return;
    reply_err(ctx, rd_kafka_mock_broker_set_rtt(ctx->km->mc, broker, (int)ms));
}

/* Appends to an OK reply the brokers that will not see cluster-wide errors of apikey because
 * they have their own stack for it (a librdkafka 2.0.2 behaviour, docs/KAFKA_MOCK.md). */
static void shadow_note(cmd_ctx_t *ctx, int16_t apikey)
{
    size_t len;
    int b, first = 1;

    if (apikey >= KM_MAX_APIKEY)
        return;
    for (b = 1; b <= ctx->km->brokers; b++) {
        if (!ctx->km->broker_stack[b][apikey])
            continue;
        len = strlen(ctx->reply);
        snprintf(ctx->reply + len, ctx->replylen - len, "%s%d",
                 first ? " (ignored by brokers " : ",", b);
        first = 0;
    }
    if (!first) {
        len = strlen(ctx->reply);
        snprintf(ctx->reply + len, ctx->replylen - len, ": they have broker_push_errors stacks)");
    }
}

static void cmd_push_errors(cmd_ctx_t *ctx)
{
    rd_kafka_resp_err_t errs[KM_MAX_ARGS];
    size_t cnt = 0;
    int16_t apikey;
    int i;

    if (parse_apikey(ctx, ctx->argv[1], &apikey) < 0)
        return;
    for (i = 2; i < ctx->argc; i++) {
        if (parse_error(ctx, ctx->argv[i], &errs[cnt]) < 0)
            return;
        cnt++;
    }
    rd_kafka_mock_push_request_errors_array(ctx->km->mc, apikey, cnt, errs);
    reply(ctx, "OK %zu", cnt);
    shadow_note(ctx, apikey);
}

/* Parses "ERR:RTT_MS" (the ":RTT_MS" part may be left out for 0). */
static int parse_err_rtt(cmd_ctx_t *ctx, char *word, rd_kafka_resp_err_t *err, int *rtt)
{
    char *colon = strrchr(word, ':');
    long ms = 0;

    if (colon) {
        *colon = '\0';
        if (parse_long(ctx, colon + 1, "rtt ms", 0, 600000, &ms) < 0)
            return -1;
    }
    *rtt = (int)ms;
    return parse_error(ctx, word, err);
}

static void cmd_broker_push_errors(cmd_ctx_t *ctx)
{
    rd_kafka_resp_err_t errs[KM_MAX_ARGS];
    int rtts[KM_MAX_ARGS];
    int32_t broker;
    int16_t apikey;
    int i, n = 0;

    if (parse_broker(ctx, ctx->argv[1], 0, &broker) < 0 ||
        parse_apikey(ctx, ctx->argv[2], &apikey) < 0)
        return;
    for (i = 3; i < ctx->argc; i++, n++) {
        if (parse_err_rtt(ctx, ctx->argv[i], &errs[n], &rtts[n]) < 0)
            return;
    }
    /* The broker's stack appends in call order, so one call per entry keeps the order the
     * command gave, without a variadic call of run-time length. */
    for (i = 0; i < n; i++) {
        rd_kafka_resp_err_t err = rd_kafka_mock_broker_push_request_error_rtts(
            ctx->km->mc, broker, apikey, 1, errs[i], rtts[i]);

        if (err) {
            reply(ctx, "ERR broker_push_errors entry %d: %s", i + 1, rd_kafka_err2name(err));
            return;
        }
    }
    if (apikey < KM_MAX_APIKEY)
        ctx->km->broker_stack[broker][apikey] = 1;
    reply(ctx, "OK %d", n);
}

static void cmd_broker_error_count(cmd_ctx_t *ctx)
{
    rd_kafka_resp_err_t err;
    int32_t broker;
    int16_t apikey;
    size_t cnt = 0;

    if (parse_broker(ctx, ctx->argv[1], 0, &broker) < 0 ||
        parse_apikey(ctx, ctx->argv[2], &apikey) < 0)
        return;
    err = rd_kafka_mock_broker_error_stack_cnt(ctx->km->mc, broker, apikey, &cnt);
    if (err)
        reply_err(ctx, err);
    else
        reply(ctx, "OK %zu", cnt);
}

static void cmd_clear_errors(cmd_ctx_t *ctx)
{
    int16_t apikey;

    if (parse_apikey(ctx, ctx->argv[1], &apikey) < 0)
        return;
    rd_kafka_mock_clear_request_errors(ctx->km->mc, apikey);
    reply(ctx, "OK");
}

static void cmd_leader(cmd_ctx_t *ctx)
{
    int32_t broker;
    long part;

    if (parse_long(ctx, ctx->argv[2], "partition", 0, INT32_MAX, &part) < 0 ||
        parse_broker(ctx, ctx->argv[3], 1, &broker) < 0)
        return;
    reply_err(ctx,
              rd_kafka_mock_partition_set_leader(ctx->km->mc, ctx->argv[1], (int32_t)part, broker));
}

static void cmd_coordinator(cmd_ctx_t *ctx)
{
    int32_t broker;

    if (parse_broker(ctx, ctx->argv[2], 0, &broker) < 0)
        return;
    reply_err(ctx, rd_kafka_mock_coordinator_set(ctx->km->mc, "group", ctx->argv[1], broker));
}

static void cmd_watermarks(cmd_ctx_t *ctx)
{
    /* "OK " is written in front of the list, so the list gets the rest of the buffer. */
    if (ctx->replylen < 4)
        return;
    if (km_watermarks(ctx->km, ctx->argv[1], ctx->reply + 3, ctx->replylen - 3) < 0) {
        char why[512];

        snprintf(why, sizeof(why), "%s", ctx->reply + 3);
        reply(ctx, "ERR watermarks %s: %s", ctx->argv[1], why);
        return;
    }
    memcpy(ctx->reply, "OK ", 3);
}

static void cmd_bootstrap(cmd_ctx_t *ctx)
{
    reply(ctx, "OK %s", ctx->km->bootstrap);
}

static void cmd_help(cmd_ctx_t *ctx);

static const cmd_def_t commands[] = {
    {"ping", 0, 0, "ping", cmd_ping},
    {"quit", 0, 0, "quit", cmd_quit},
    {"bootstrap", 0, 0, "bootstrap", cmd_bootstrap},
    {"topic", 2, 2, "topic NAME PARTITIONS", cmd_topic},
    {"down", 1, 1, "down BROKER|-1", cmd_down_up},
    {"up", 1, 1, "up BROKER|-1", cmd_down_up},
    {"rtt", 2, 2, "rtt BROKER|-1 MS", cmd_rtt},
    {"push_errors", 2, KM_MAX_ARGS - 2, "push_errors APIKEY ERR [ERR...]", cmd_push_errors},
    {"broker_push_errors", 3, KM_MAX_ARGS - 3, "broker_push_errors BROKER APIKEY ERR:RTT_MS...",
     cmd_broker_push_errors},
    {"broker_error_count", 2, 2, "broker_error_count BROKER APIKEY", cmd_broker_error_count},
    {"clear_errors", 1, 1, "clear_errors APIKEY", cmd_clear_errors},
    {"leader", 3, 3, "leader TOPIC PARTITION BROKER|-1", cmd_leader},
    {"coordinator", 2, 2, "coordinator GROUP BROKER", cmd_coordinator},
    {"watermarks", 1, 1, "watermarks TOPIC", cmd_watermarks},
    {"help", 0, 0, "help", cmd_help},
    {NULL, 0, 0, NULL, NULL},
};

static void cmd_help(cmd_ctx_t *ctx)
{
    size_t len;
    int i;

    reply(ctx, "OK");
    for (i = 0; commands[i].name; i++) {
        len = strlen(ctx->reply);
        snprintf(ctx->reply + len, ctx->replylen - len, "%s%s", i ? " | " : " ", commands[i].usage);
    }
}

/* ---------------------------------------------------------------------------------------
 * Dispatch
 * ------------------------------------------------------------------------------------- */

/* Splits line in place into words. Returns the word count, or -1 when there are more than
 * max words. */
static int split_words(char *line, char **words, int max)
{
    int n = 0;
    char *p = line;

    for (;;) {
        while (*p && isspace((unsigned char)*p))
            *p++ = '\0';
        if (!*p)
            return n;
        if (n == max)
            return -1;
        words[n++] = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
    }
}

void km_control_exec(km_t *km, const char *line, char *replybuf, size_t replylen)
{
    char copy[KM_LINE_MAX];
    char *words[KM_MAX_ARGS];
    cmd_ctx_t ctx = {km, 0, words, replybuf, replylen};
    int i;

    if ((size_t)snprintf(copy, sizeof(copy), "%s", line) >= sizeof(copy)) {
        reply(&ctx, "ERR command longer than %d bytes", KM_LINE_MAX - 1);
        return;
    }
    ctx.argc = split_words(copy, words, KM_MAX_ARGS);
    if (ctx.argc < 0) {
        reply(&ctx, "ERR more than %d words", KM_MAX_ARGS);
        return;
    }
    if (ctx.argc == 0) {
        reply(&ctx, "ERR empty command (try help)");
        return;
    }
    for (i = 0; commands[i].name; i++) {
        if (strcmp(commands[i].name, words[0]) != 0)
            continue;
        if (ctx.argc - 1 < commands[i].min_args || ctx.argc - 1 > commands[i].max_args) {
            reply(&ctx, "ERR usage: %s", commands[i].usage);
            return;
        }
        commands[i].fn(&ctx);
        return;
    }
    reply(&ctx, "ERR unknown command '%.64s' (try help)", words[0]);
}
