/*
 * produce: generator of realistic canonical events (see produce.h).
 *
 * The Avro encoding follows schemas/canonical_event.avsc field by field (the
 * field order is part of the data contract, docs/EVENTS.md): unions are
 * written as the branch index then the value, decimals as two's-complement
 * big-endian unscaled bytes.
 */
#define _GNU_SOURCE
#include "cli/produce.h"

#include "cli/cli.h"
#include "codec/validate.h"
#include "core/buf.h"
#include "core/mem.h"

#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_EVENT 4096
/* Resends (--repeat-every) copy one of the last REPEAT_RING originals. */
#define REPEAT_RING 1024

/* ------------------------------------------------------------------------- */
/* The event model                                                           */
/* ------------------------------------------------------------------------- */

static const struct {
    const char *name;
    int weight;       /* parts of ~9230 */
    const char *type; /* event_type */
    int has_value;    /* carries value + currency */
    int has_order;
    int has_product;
} event_names[] = {
    {"page_view", 3000, "page", 0, 0, 0},
    {"view_content", 1800, "track", 0, 0, 1},
    {"search", 800, "track", 0, 0, 0},
    {"add_to_cart", 1000, "track", 1, 0, 1},
    {"remove_from_cart", 300, "track", 1, 0, 1},
    {"add_to_wishlist", 200, "track", 0, 0, 1},
    {"begin_checkout", 500, "track", 1, 0, 0},
    {"add_shipping_info", 300, "track", 0, 0, 0},
    {"add_payment_info", 300, "track", 0, 0, 0},
    {"purchase", 400, "track", 1, 1, 0},
    {"refund", 40, "track", 1, 1, 0},
    {"sign_up", 150, "identify", 0, 0, 0},
    {"login", 300, "identify", 0, 0, 0},
    {"subscribe", 80, "track", 0, 0, 0},
    {"share", 60, "track", 0, 0, 1},
};
#define NNAMES (sizeof(event_names) / sizeof(event_names[0]))

static const char *const platforms[] = {"web", "ios", "android"};
static const char *const currencies[] = {"USD", "EUR", "GBP", "JPY", "CAD"};
static const char *const channels[] = {"paid_search", "email", "social", "affiliate"};
static const char *const agents[] = {
    "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 14) Chrome/126.0 Mobile",
};

typedef struct gen_event {
    char event_id[40];
    const char *event_name;
    int64_t event_time;
    char merchant_id[16];
    const char *event_type;
    int64_t received_at;
    char user_id[16]; /* "" = null */
    char anonymous_id[16];
    char order_id[24]; /* "" = null */
    const char *platform;
    int64_t value_unscaled; /* 4 decimals; valid only when currency != NULL */
    const char *currency;
    const char *consent; /* NULL = null */
    int has_attribution;
    char campaign_id[16];
    const char *channel;
    char click_id[24];
    char ip[20];
    const char *user_agent;
    char page_url[64];
    int has_product;
    char sku[16];
    int quantity;
} gen_event_t;

typedef struct gen {
    uint64_t rng;
    int64_t clock_us;
    int total_weight;
} gen_t;

static uint64_t next_u64(gen_t *g)
{
    /* xorshift64*: fast, seeded, reproducible; no rand(). */
    g->rng ^= g->rng >> 12;
    g->rng ^= g->rng << 25;
    g->rng ^= g->rng >> 27;
    return g->rng * 2685821657736338717ULL;
}

static unsigned pick(gen_t *g, unsigned n)
{
    return (unsigned)(next_u64(g) % n);
}

/* Skewed pick in [0, n): small indexes are much more likely. */
static unsigned pick_skewed(gen_t *g, unsigned n)
{
    unsigned a = pick(g, n), b = pick(g, n);

    return a < b ? a : b;
}

static void gen_event(gen_t *g, gen_event_t *e)
{
    int w = (int)pick(g, (unsigned)g->total_weight);
    size_t k = 0;
    uint64_t id_hi = next_u64(g), id_lo = next_u64(g);
    unsigned user = pick_skewed(g, 50000);

    while (k + 1 < NNAMES && w >= event_names[k].weight) {
        w -= event_names[k].weight;
        k++;
    }
    memset(e, 0, sizeof(*e));
    snprintf(e->event_id, sizeof(e->event_id), "%08x-%04x-4%03x-a%03x-%012llx",
             (unsigned)(id_hi >> 32), (unsigned)(id_hi >> 16) & 0xffff, (unsigned)id_hi & 0xfff,
             (unsigned)(id_lo >> 52) & 0xfff, (unsigned long long)(id_lo & 0xffffffffffffULL));
    e->event_name = event_names[k].name;
    g->clock_us += 1 + (int64_t)pick(g, 2000);
    e->event_time = g->clock_us;
    e->received_at = g->clock_us + 20000 + (int64_t)pick(g, 400000);
    snprintf(e->merchant_id, sizeof(e->merchant_id), "m-%03u", pick_skewed(g, 40));
    e->event_type = event_names[k].type;
    if (user % 5 < 3)
        snprintf(e->user_id, sizeof(e->user_id), "u-%06u", user);
    snprintf(e->anonymous_id, sizeof(e->anonymous_id), "a-%08x", user * 2654435761u);
    if (event_names[k].has_order)
        snprintf(e->order_id, sizeof(e->order_id), "o-%010llu",
                 (unsigned long long)(next_u64(g) % 10000000000ULL));
    e->platform = platforms[user % 3];
    if (event_names[k].has_value) {
        e->currency = currencies[pick_skewed(g, 5)];
        e->value_unscaled = (int64_t)(100 + pick(g, 50000)) * 100; /* 1.00 .. 501.00 */
        if (strcmp(e->event_name, "refund") == 0)
            e->value_unscaled = -e->value_unscaled;
    }
    e->consent = pick(g, 10) < 8 ? "granted" : (pick(g, 2) ? "denied" : NULL);
    e->has_attribution = pick(g, 10) < 3;
    if (e->has_attribution) {
        snprintf(e->campaign_id, sizeof(e->campaign_id), "c-%u", pick_skewed(g, 200));
        e->channel = channels[pick(g, 4)];
        snprintf(e->click_id, sizeof(e->click_id), "gclid-%08x", (unsigned)next_u64(g));
    }
    snprintf(e->ip, sizeof(e->ip), "203.0.113.%u", user % 250 + 1);
    e->user_agent = agents[user % 3];
    snprintf(e->page_url, sizeof(e->page_url), "https://shop.example/p/%u", pick_skewed(g, 5000));
    e->has_product = event_names[k].has_product;
    if (e->has_product) {
        snprintf(e->sku, sizeof(e->sku), "sku-%05u", pick_skewed(g, 20000));
        e->quantity = 1 + (int)pick(g, 3);
    }
}

/* ------------------------------------------------------------------------- */
/* Encodings                                                                 */
/* ------------------------------------------------------------------------- */

typedef struct out {
    unsigned char *p;
    size_t len, cap;
} out_t;

static void put_raw(out_t *o, const void *data, size_t len)
{
    if (o->len + len <= o->cap) {
        memcpy(o->p + o->len, data, len);
        o->len += len;
    } else {
        o->len = o->cap + 1; /* overflow marker; checked by the caller */
    }
}

static void put_long(out_t *o, int64_t v)
{
    unsigned char b[DP_BUF_LONG_MAX_BYTES];

    put_raw(o, b, dp_buf_encode_long(b, v));
}

static void put_str(out_t *o, const char *s)
{
    size_t len = strlen(s);

    put_long(o, (int64_t)len);
    put_raw(o, s, len);
}

/* ["null","string"]: NULL or "" is null. */
static void put_opt_str(out_t *o, const char *s)
{
    if (!s || !*s) {
        put_long(o, 0);
        return;
    }
    put_long(o, 1);
    put_str(o, s);
}

static void put_decimal(out_t *o, int64_t unscaled)
{
    uint8_t b[8];
    size_t n = dp_decimal_to_bytes(unscaled, b);

    put_long(o, (int64_t)n);
    put_raw(o, b, n);
}

static void encode_avro(const gen_event_t *e, out_t *o)
{
    put_str(o, e->event_id);
    put_str(o, e->event_name);
    put_long(o, e->event_time);
    put_str(o, e->merchant_id);
    put_opt_str(o, e->event_type);
    put_long(o, 1);
    put_long(o, e->received_at);
    put_opt_str(o, e->user_id);
    put_opt_str(o, e->anonymous_id);
    put_opt_str(o, e->order_id);
    put_opt_str(o, e->platform);
    put_opt_str(o, "web-sdk");
    if (e->currency) {
        put_long(o, 1);
        put_decimal(o, e->value_unscaled);
    } else {
        put_long(o, 0);
    }
    put_opt_str(o, e->currency);
    put_opt_str(o, e->consent);
    put_opt_str(o, NULL); /* match_quality */
    if (e->has_attribution) {
        put_long(o, 1);
        put_opt_str(o, e->campaign_id);
        put_opt_str(o, e->channel);
        put_opt_str(o, "google");
        put_opt_str(o, "cpc");
        put_opt_str(o, e->click_id);
    } else {
        put_long(o, 0);
    }
    put_long(o, 1); /* context */
    put_opt_str(o, e->ip);
    put_opt_str(o, e->user_agent);
    put_opt_str(o, "en-US");
    put_opt_str(o, "Europe/Berlin");
    put_opt_str(o, e->page_url);
    put_opt_str(o, NULL);
    if (e->has_product) {
        char q[8];

        snprintf(q, sizeof(q), "%d", e->quantity);
        put_long(o, 1);
        put_long(o, 2); /* one map block of 2 entries, then the end marker */
        put_str(o, "sku");
        put_str(o, e->sku);
        put_str(o, "quantity");
        put_str(o, q);
        put_long(o, 0);
    } else {
        put_long(o, 0);
    }
    put_opt_str(o, NULL); /* raw_payload */
}

static void json_opt(char *buf, size_t cap, size_t *len, const char *key, const char *v)
{
    if (v && *v && *len < cap)
        *len += (size_t)snprintf(buf + *len, cap - *len, ",\"%s\":\"%s\"", key, v);
}

static size_t encode_json(const gen_event_t *e, char *buf, size_t cap)
{
    size_t len =
        (size_t)snprintf(buf, cap,
                         "{\"event_id\":\"%s\",\"event_name\":\"%s\",\"event_time\":%" PRId64
                         ",\"merchant_id\":\"%s\",\"received_at\":%" PRId64,
                         e->event_id, e->event_name, e->event_time, e->merchant_id, e->received_at);

    json_opt(buf, cap, &len, "event_type", e->event_type);
    json_opt(buf, cap, &len, "user_id", e->user_id);
    json_opt(buf, cap, &len, "anonymous_id", e->anonymous_id);
    json_opt(buf, cap, &len, "order_id", e->order_id);
    json_opt(buf, cap, &len, "platform", e->platform);
    json_opt(buf, cap, &len, "source", "web-sdk");
    if (e->currency && len < cap) {
        int64_t a = e->value_unscaled < 0 ? -e->value_unscaled : e->value_unscaled;

        len += (size_t)snprintf(buf + len, cap - len, ",\"value\":\"%s%" PRId64 ".%04" PRId64 "\"",
                                e->value_unscaled < 0 ? "-" : "", a / 10000, a % 10000);
        json_opt(buf, cap, &len, "currency", e->currency);
    }
    json_opt(buf, cap, &len, "consent_status", e->consent);
    if (e->has_attribution && len < cap)
        len += (size_t)snprintf(buf + len, cap - len,
                                ",\"attribution\":{\"campaign_id\":\"%s\",\"channel\":\"%s\","
                                "\"source\":\"google\",\"medium\":\"cpc\",\"click_id\":\"%s\"}",
                                e->campaign_id, e->channel, e->click_id);
    if (len < cap)
        len += (size_t)snprintf(buf + len, cap - len,
                                ",\"context\":{\"ip\":\"%s\",\"user_agent\":\"%s\",\"locale\":"
                                "\"en-US\",\"timezone\":\"Europe/Berlin\",\"page_url\":\"%s\"}",
                                e->ip, e->user_agent, e->page_url);
    if (e->has_product && len < cap)
        len += (size_t)snprintf(buf + len, cap - len,
                                ",\"properties\":{\"sku\":\"%s\",\"quantity\":\"%d\"}", e->sku,
                                e->quantity);
    if (len + 1 < cap) {
        buf[len++] = '}';
        buf[len] = '\0';
    }
    return len < cap ? len : 0;
}

/* ------------------------------------------------------------------------- */
/* Invalid events (for event_errors)                                         */
/* ------------------------------------------------------------------------- */

enum { BAD_NAME, BAD_CURRENCY, BAD_TRUNCATED, BAD_SCHEMA_ID, BAD_GARBAGE, BAD_KINDS };

/* Makes the payload of an invalid event of the given kind in o. */
static void make_invalid(gen_event_t *e, int kind, int json, out_t *o)
{
    char text[MAX_EVENT];
    size_t len;

    if (kind == BAD_NAME)
        e->event_name = "Add To Cart!";
    if (kind == BAD_CURRENCY) {
        e->currency = "XX1";
        e->value_unscaled = 10000;
    }
    if (kind == BAD_GARBAGE) {
        put_raw(o, "\x7fnot an event \x01\x02", 16);
        return;
    }
    if (json) {
        len = encode_json(e, text, sizeof(text));
        if (kind == BAD_TRUNCATED || kind == BAD_SCHEMA_ID)
            len /= 2;
        put_raw(o, text, len);
        return;
    }
    put_raw(o, kind == BAD_SCHEMA_ID ? "\x00\x00\x00\x03\xe7" : "\x00\x00\x00\x00\x01", 5);
    encode_avro(e, o);
    if (kind == BAD_TRUNCATED)
        o->len = 5 + (o->len - 5) / 2;
}

/* ------------------------------------------------------------------------- */
/* The command                                                               */
/* ------------------------------------------------------------------------- */

typedef struct opts {
    const char *bootstrap;
    const char *bootstrap_file;
    const char *topic;
    long long count;
    long long rate;
    int json;
    unsigned long long seed;
    long long invalid_every;
    long long repeat_every;
    int quiet;
} opts_t;

static volatile sig_atomic_t stop_flag;
static long long delivered_ok, delivered_failed;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (m->err) {
        if (delivered_failed++ == 0)
            fprintf(stderr, "produce: delivery failed: %s\n", rd_kafka_err2str(m->err));
    } else {
        delivered_ok++;
    }
}

static const char produce_help[] =
    "usage: deltaport produce --topic T [--bootstrap HOST:PORT,... | --bootstrap-file F]\n"
    "         [--count N] [--rate EVENTS_PER_S] [--format avro|json] [--seed S]\n"
    "         [--invalid-every N] [--repeat-every N] [-X librdkafka.property=value]...\n"
    "         [--quiet]\n"
    "\n"
    "Generates realistic canonical ecommerce events and produces them to Kafka: for\n"
    "demos, load tests and checking a pipeline end to end.\n"
    "\n"
    "options:\n"
    "  -t, --topic T             the topic (required)\n"
    "  -b, --bootstrap LIST      brokers host:port,... (or DELTAPORT_KAFKA_BOOTSTRAP_SERVERS)\n"
    "  -B, --bootstrap-file F    read the broker list from file F\n"
    "  -n, --count N             events to produce (default 1000)\n"
    "  -r, --rate R              events per second (default 0: as fast as possible)\n"
    "  -f, --format F            avro (Confluent wire format, schema id 1, the canonical\n"
    "                            schema) or json (default avro)\n"
    "  -s, --seed S              seed of the generator (default 1)\n"
    "  -i, --invalid-every N     make every Nth event invalid (default 0: none)\n"
    "  -R, --repeat-every N      make every Nth event a resend of an earlier one (the same\n"
    "                            event, event_id included, as a producer's retry or a\n"
    "                            mobile client's resend sends it; default 0: none). COUNT\n"
    "                            events then carry COUNT - COUNT/N distinct event ids\n"
    "  -X key=value              a librdkafka producer property (repeatable)\n"
    "  -q, --quiet               no summary line\n"
    "  -h, --help                this text\n"
    "\n"
    "Exit status: 0 when every event was delivered, 1 otherwise, 2 for a usage error.\n";

static int read_bootstrap_file(const char *path, char *out, size_t outlen)
{
    FILE *f = fopen(path, "r");
    size_t n;

    if (!f)
        return -1;
    n = fread(out, 1, outlen - 1, f);
    fclose(f);
    out[n] = '\0';
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
        out[--n] = '\0';
    return n > 0 ? 0 : -1;
}

static rd_kafka_t *make_producer(const char *bootstrap, char **props, int nprops)
{
    static const char *const defaults[][2] = {
        {"linger.ms", "20"},
        {"batch.num.messages", "10000"},
        {"batch.size", "1000000"},
        {"queue.buffering.max.messages", "500000"},
        {"enable.idempotence", "false"},
        {"acks", "all"},
        {NULL, NULL},
    };
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char errstr[512];
    rd_kafka_t *rk;

    for (int i = 0; defaults[i][0]; i++)
        rd_kafka_conf_set(conf, defaults[i][0], defaults[i][1], errstr, sizeof(errstr));
    for (int i = 0; i < nprops; i++) {
        char *eq = strchr(props[i], '=');

        if (!eq) {
            fprintf(stderr, "produce: -X %s: expected key=value\n", props[i]);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
        *eq = '\0';
        if (rd_kafka_conf_set(conf, props[i], eq + 1, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
            fprintf(stderr, "produce: -X %s: %s\n", props[i], errstr);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    }
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof(errstr))) {
        fprintf(stderr, "produce: bootstrap.servers: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "produce: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
    }
    return rk;
}

static int produce_one(rd_kafka_t *rk, const char *topic, const gen_event_t *e, const out_t *o)
{
    const char *key = e->user_id[0] ? e->user_id : e->anonymous_id;

    for (;;) {
        rd_kafka_resp_err_t rerr =
            rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                              RD_KAFKA_V_VALUE(o->p, o->len),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);

        if (!rerr)
            return 0;
        if (rerr != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            fprintf(stderr, "produce: %s\n", rd_kafka_err2str(rerr));
            return -1;
        }
        rd_kafka_poll(rk, 50);
    }
}

static int64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static double mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Paces the loop: sleeps until `sent` events are due at `rate` per second. */
static void pace(long long rate, long long sent, double t0, rd_kafka_t *rk)
{
    double due = t0 + (double)sent / (double)rate;
    double now = mono_s();

    if (due > now + 0.005)
        rd_kafka_poll(rk, (int)((due - now) * 1000));
    else
        rd_kafka_poll(rk, 0);
}

static int run(const opts_t *o, char **props, int nprops)
{
    gen_t g = {o->seed ? o->seed * 0x9E3779B97F4A7C15ULL : 1, now_us() - 3600LL * 1000000, 0};
    unsigned char *payload = dp_malloc(MAX_EVENT);
    gen_event_t *ring = dp_calloc(REPEAT_RING, sizeof(*ring)); /* the last originals */
    long long invalid = 0, sent = 0, repeated = 0, originals = 0;
    double t0 = mono_s(), dt;
    rd_kafka_t *rk;
    int rc = 1;

    for (size_t i = 0; i < NNAMES; i++)
        g.total_weight += event_names[i].weight;
    rk = make_producer(o->bootstrap, props, nprops);
    if (!rk)
        goto out;
    for (; sent < o->count && !stop_flag; sent++) {
        gen_event_t e;
        out_t buf = {payload, 0, MAX_EVENT};

        if (o->repeat_every > 0 && (sent + 1) % o->repeat_every == 0 && originals > 0) {
            /* A resend of one of the last REPEAT_RING valid originals, byte
             * for byte: never of a resend, so the distinct ids are exact. */
            long long span = originals < REPEAT_RING ? originals : REPEAT_RING;

            e = ring[(originals - 1 - (long long)pick(&g, (unsigned)span)) % REPEAT_RING];
            repeated++;
        } else {
            gen_event(&g, &e);
            if (!(o->invalid_every > 0 && (sent + 1) % o->invalid_every == 0))
                ring[originals++ % REPEAT_RING] = e;
        }
        if (o->invalid_every > 0 && (sent + 1) % o->invalid_every == 0 &&
            !(o->repeat_every > 0 && (sent + 1) % o->repeat_every == 0)) {
            make_invalid(&e, (int)(invalid++ % BAD_KINDS), o->json, &buf);
        } else if (o->json) {
            buf.len = encode_json(&e, (char *)payload, MAX_EVENT);
        } else {
            put_raw(&buf, "\x00\x00\x00\x00\x01", 5);
            encode_avro(&e, &buf);
        }
        if (buf.len == 0 || buf.len > MAX_EVENT || produce_one(rk, o->topic, &e, &buf) < 0)
            goto out;
        if (o->rate > 0)
            pace(o->rate, sent + 1, t0, rk);
        else if ((sent & 1023) == 0)
            rd_kafka_poll(rk, 0);
    }
    if (rd_kafka_flush(rk, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        fprintf(stderr, "produce: %d message(s) still queued after 60 s\n", rd_kafka_outq_len(rk));
    dt = mono_s() - t0;
    if (!o->quiet)
        printf("produced %lld events (%lld invalid, %lld resent: %lld distinct event ids) to %s "
               "in %.2f s (%.0f events/s); delivered %lld, failed %lld\n",
               sent, invalid, repeated, sent - invalid - repeated, o->topic, dt,
               dt > 0 ? (double)sent / dt : 0.0, delivered_ok, delivered_failed);
    rc = (delivered_failed == 0 && delivered_ok == sent) ? 0 : 1;
out:
    if (rk)
        rd_kafka_destroy(rk);
    free(ring);
    free(payload);
    return rc;
}

int dp_cmd_produce(int argc, char **argv)
{
    static const char *const formats[] = {"avro", "json", NULL};
    opts_t o = {getenv("DELTAPORT_KAFKA_BOOTSTRAP_SERVERS"), NULL, NULL, 1000, 0, 0, 1, 0, 0, 0};
    const char **props = dp_calloc((size_t)argc + 1, sizeof(char *));
    dp_cli_list_t xprops = {props, 0, argc};
    const char *format = "avro";
    char bootstrap[4096];
    long long seed = 1;
    int rc, nargs;
    const dp_cli_opt_t opts[] = {
        {"topic", 't', DP_CLI_STRING, &o.topic, "T", 1, 0, NULL},
        {"bootstrap", 'b', DP_CLI_STRING, &o.bootstrap, "LIST", 0, 0, NULL},
        {"bootstrap-file", 'B', DP_CLI_STRING, &o.bootstrap_file, "F", 0, 0, NULL},
        {"count", 'n', DP_CLI_INT, &o.count, "N", 0, 0, NULL},
        {"rate", 'r', DP_CLI_INT, &o.rate, "R", 0, 0, NULL},
        {"format", 'f', DP_CLI_CHOICE, &format, "F", 0, 0, formats},
        {"seed", 's', DP_CLI_INT, &seed, "S", 0, 0, NULL},
        {"invalid-every", 'i', DP_CLI_INT, &o.invalid_every, "N", 0, 0, NULL},
        {"repeat-every", 'R', DP_CLI_INT, &o.repeat_every, "N", 0, 0, NULL},
        {"property", 'X', DP_CLI_LIST, &xprops, "key=value", 0, 0, NULL},
        {"quiet", 'q', DP_CLI_FLAG, &o.quiet, NULL, 0, 0, NULL},
        {NULL, 0, 0, NULL, NULL, 0, 0, NULL},
    };
    const dp_cli_spec_t spec = {"produce", produce_help, opts, 0, 0, NULL};

    if ((rc = dp_cli_parse(&spec, argc, argv, NULL, &nargs, stdout, stderr)) != DP_CLI_OK) {
        rc = dp_cli_exit(rc);
        goto out;
    }
    o.json = strcmp(format, "json") == 0;
    o.seed = (unsigned long long)seed;
    if (o.bootstrap_file) {
        if (read_bootstrap_file(o.bootstrap_file, bootstrap, sizeof(bootstrap)) < 0) {
            fprintf(stderr,
                    "deltaport produce: --bootstrap-file: cannot read a bootstrap list "
                    "from %s\n",
                    o.bootstrap_file);
            rc = 1;
            goto out;
        }
        o.bootstrap = bootstrap;
    }
    if (!o.bootstrap || !o.bootstrap[0]) {
        rc = dp_cli_exit(dp_cli_usage_error(&spec, stderr,
                                            "no broker list: give --bootstrap, --bootstrap-file "
                                            "or DELTAPORT_KAFKA_BOOTSTRAP_SERVERS"));
        goto out;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    rc = run(&o, (char **)props, xprops.n);
out:
    free(props);
    return rc;
}
