/*
 * poll_bench: the worker's poll-thread path alone, to compare with kcat.
 *
 *   poll_bench BOOTSTRAP TOPIC SCHEMAS_DIR EXPECTED [--no-work]
 *
 * Assigns every partition of TOPIC from the beginning (no group join), polls
 * EXPECTED messages with the worker's librdkafka defaults, and for each runs
 * what the poll thread runs: decode + validate (dp_decode_message), route
 * (threshold mode) and append to a flush (dp_flush_add); a flush is dropped
 * when it reaches 64 MiB (the loader's work is on another thread and not
 * measured here). --no-work only polls. Prints events/s. Not a test.
 */
#include "batch/flush.h"
#include "codec/decode.h"
#include "kafka/kafka.h"
#include "route/router.h"

#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static rd_kafka_t *consumer(const char *bootstrap, const char *topic)
{
    static const char *const props[][2] = {
        {"group.id", "poll-bench"},         {"enable.auto.commit", "false"},
        {"queued.min.messages", "1000000"}, {"queued.max.messages.kbytes", "65536"},
        {"fetch.wait.max.ms", "10"},        {NULL, NULL},
    };
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_partition_list_t *parts;
    rd_kafka_topic_t *rkt;
    char errstr[256];
    rd_kafka_t *rk;

    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof(errstr));
    for (int i = 0; props[i][0]; i++)
        rd_kafka_conf_set(conf, props[i][0], props[i][1], errstr, sizeof(errstr));
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "poll_bench: %s\n", errstr);
        return NULL;
    }
    rd_kafka_poll_set_consumer(rk);
    rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) || md->topic_cnt != 1) {
        fprintf(stderr, "poll_bench: no metadata for %s\n", topic);
        rd_kafka_topic_destroy(rkt);
        rd_kafka_destroy(rk);
        return NULL;
    }
    parts = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
    for (int p = 0; p < md->topics[0].partition_cnt; p++)
        rd_kafka_topic_partition_list_add(parts, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return rk;
}

/* A non-negative integer argument, or exit 2 naming it. */
static long long arg_num(const char *text, const char *what)
{
    char *end = NULL;
    long long v;

    errno = 0;
    v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < 0) {
        fprintf(stderr, "%s: \"%s\" is not a non-negative integer\n", what, text);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    long long expected, got = 0, rejected = 0, bytes = 0;
    int work = !(argc > 5 && strcmp(argv[5], "--no-work") == 0);
    dp_decode_scratch_t scratch;
    dp_decoder_t *dec;
    dp_router_t *router;
    dp_flush_t *flush;
    rd_kafka_t *rk;
    double t0 = 0, t1;
    dp_err_t err;

    if (argc < 5) {
        fprintf(stderr, "usage: poll_bench BOOTSTRAP TOPIC SCHEMAS_DIR EXPECTED [--no-work]\n");
        return 2;
    }
    expected = arg_num(argv[4], "poll_bench: EXPECTED");
    dec = dp_decoder_open(argv[3], &err);
    if (!dec) {
        fprintf(stderr, "poll_bench: %s\n", err.msg);
        return 1;
    }
    dp_decode_scratch_init(&scratch, 2 * DP_DECODE_DEFAULT_MAX_MESSAGE);
    router = dp_router_new(DP_ROUTE_THRESHOLD, 10000, "evt_otherevents", NULL, 100000);
    flush = dp_flush_new(1, 0, "poll-bench", (size_t)1 << 30);
    rk = consumer(argv[1], argv[2]);
    while (rk && got < expected) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 1000);
        dp_decoded_t d;
        const char *table = "event_errors";

        if (!m)
            continue;
        if (m->err) {
            rd_kafka_message_destroy(m);
            continue;
        }
        if (got++ == 0)
            t0 = now_s();
        bytes += (long long)m->len;
        if (work) {
            if (dp_decode_message(dec, argv[2], m->payload, m->len, &d, &scratch, &err) < 0 ||
                dp_router_route(router, d.ev.event_name.ptr, d.ev.event_name.len, &table, &err) <
                    0) {
                rejected++;
                dp_flush_add(flush, "event_errors", argv[2], m->partition, m->offset,
                             rd_kafka_message_timestamp(m, NULL), m->payload, m->len, &err);
            } else {
                dp_flush_add(flush, table, argv[2], m->partition, m->offset,
                             rd_kafka_message_timestamp(m, NULL), d.body, d.body_len, &err);
            }
            /* As the worker: a copy of each partition's last message, for its
             * fingerprint (docs/DELIVERY.md). */
            dp_flush_set_last_message(flush, m->key, m->key_len, m->payload, m->len);
            if (dp_flush_bytes(flush) > ((size_t)64 << 20)) {
                dp_flush_destroy(flush);
                flush = dp_flush_new(1, 0, "poll-bench", (size_t)1 << 30);
            }
        }
        rd_kafka_message_destroy(m);
    }
    t1 = now_s();
    printf("poll_bench: %s %lld messages (%lld rejected), %.1f MB in %.2f s = %.0f events/s\n",
           work ? "decode+route+buffer" : "poll only", got, rejected, (double)bytes / 1e6, t1 - t0,
           (double)got / (t1 - t0));
    if (rk) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    dp_flush_destroy(flush);
    dp_router_destroy(router);
    dp_decode_scratch_free(&scratch);
    dp_decoder_destroy(dec);
    return got == expected ? 0 : 1;
}
