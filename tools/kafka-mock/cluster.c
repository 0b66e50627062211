/*
 * cluster: the mock cluster's lifetime and the client handle that reads it back.
 *
 * The owner handle exists only because rd_kafka_mock_cluster_new() needs one; it never has
 * bootstrap.servers, so its "no bootstrap.servers" configuration warning is filtered out of
 * the log. Watermarks are read the way any client would see them: through a separate
 * consumer-type handle connected to the mock's own bootstrap list over TCP, so the answer
 * includes the effect of the 5 MiB-per-partition retention cap (the low watermark moves).
 * That handle has allow.auto.create.topics=false so that asking about a missing topic never
 * creates it.
 */
#include "kmock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Total time one watermarks command may take; a broker that is down fails it within this. */
#define KM_WMARK_BUDGET_MS 8000
/* Wait between attempts after a leader move or a reconnect. */
#define KM_WMARK_RETRY_MS 100

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

static void owner_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    /* The owner never connects, so the missing-bootstrap warning says nothing useful. */
    if (strcmp(fac, "CONFWARN") == 0)
        return;
    fprintf(stderr, "kafka-mock: rdkafka %d %s: %s\n", level, fac, buf);
}

static int conf_set_all(rd_kafka_conf_t *conf, const char *const *kv, char *errstr, size_t errlen)
{
    size_t i;

    for (i = 0; kv[i] && kv[i + 1]; i += 2) {
        if (rd_kafka_conf_set(conf, kv[i], kv[i + 1], errstr, errlen) != RD_KAFKA_CONF_OK)
            return -1;
    }
    return 0;
}

int km_cluster_create(km_t *km, int brokers, char *errstr, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *bs;

    rd_kafka_conf_set_log_cb(conf, owner_log);
    /* rd_kafka_new takes conf only on success. */
    km->owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errlen);
    if (!km->owner) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    km->mc = rd_kafka_mock_cluster_new(km->owner, brokers);
    if (!km->mc) {
        snprintf(errstr, errlen, "rd_kafka_mock_cluster_new(%d brokers) failed", brokers);
        return -1;
    }
    bs = rd_kafka_mock_cluster_bootstraps(km->mc);
    if (!bs ||
        (size_t)snprintf(km->bootstrap, sizeof(km->bootstrap), "%s", bs) >= sizeof(km->bootstrap)) {
        snprintf(errstr, errlen, "mock bootstrap list missing or too long");
        return -1;
    }
    km->brokers = brokers;
    return 0;
}

void km_cluster_destroy(km_t *km)
{
    if (km->client) {
        rd_kafka_destroy(km->client);
        km->client = NULL;
    }
    if (km->mc) {
        rd_kafka_mock_cluster_destroy(km->mc);
        km->mc = NULL;
    }
    if (km->owner) {
        rd_kafka_destroy(km->owner);
        km->owner = NULL;
    }
}

int km_topic_create(km_t *km, const char *name, int partitions, char *errstr, size_t errlen)
{
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(km->mc, name, partitions, 1);

    if (err) {
        snprintf(errstr, errlen, "%s", rd_kafka_err2name(err));
        return -1;
    }
    return 0;
}

/* Creates km->client on first use. Returns 0 or -1 with a reason in errstr. */
static int client_get(km_t *km, char *errstr, size_t errlen)
{
    /* Short reconnect backoff so that "up" after "down" is seen within a second. */
    const char *const kv[] = {"bootstrap.servers",
                              km->bootstrap,
                              "allow.auto.create.topics",
                              "false",
                              "reconnect.backoff.ms",
                              "10",
                              "reconnect.backoff.max.ms",
                              "200",
                              "topic.metadata.refresh.interval.ms",
                              "1000",
                              "client.id",
                              "deltaport-kafka-mock-ctl",
                              NULL,
                              NULL};
    rd_kafka_conf_t *conf;

    if (km->client)
        return 0;
    conf = rd_kafka_conf_new();
    if (conf_set_all(conf, kv, errstr, errlen) < 0) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    km->client = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, errlen);
    if (!km->client) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    return 0;
}

static int remaining(long long deadline)
{
    long long left = deadline - now_ms();

    return left > 0 ? (int)left : 0;
}

/* Finds topic's partition count through a Metadata request for all topics (a request for
 * all topics never auto-creates one). Returns the count, or -1 with a reason in out. */
static int partition_count(km_t *km, const char *topic, long long deadline, char *out,
                           size_t outlen)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err;
    int i, cnt = -1;

    err = rd_kafka_metadata(km->client, 1, NULL, &md, remaining(deadline));
    if (err) {
        snprintf(out, outlen, "metadata: %s", rd_kafka_err2name(err));
        return -1;
    }
    snprintf(out, outlen, "unknown topic %s", topic);
    for (i = 0; i < md->topic_cnt; i++) {
        if (strcmp(md->topics[i].topic, topic) != 0)
            continue;
        if (md->topics[i].err) {
            snprintf(out, outlen, "topic %s: %s", topic, rd_kafka_err2name(md->topics[i].err));
            break;
        }
        cnt = md->topics[i].partition_cnt;
        break;
    }
    rd_kafka_metadata_destroy(md);
    return cnt;
}

/* Queries one partition, retrying transient errors (leader moved, reconnecting) until the
 * deadline. Returns the last error. */
static rd_kafka_resp_err_t query_one(km_t *km, const char *topic, int partition, long long deadline,
                                     int64_t *lo, int64_t *hi)
{
    rd_kafka_resp_err_t err;

    for (;;) {
        err = rd_kafka_query_watermark_offsets(km->client, topic, partition, lo, hi,
                                               remaining(deadline));
        if (!err || err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
            remaining(deadline) < KM_WMARK_RETRY_MS)
            return err;
        sleep_ms(KM_WMARK_RETRY_MS);
    }
}

int km_watermarks(km_t *km, const char *topic, char *out, size_t outlen)
{
    long long deadline = now_ms() + KM_WMARK_BUDGET_MS;
    size_t len = 0;
    int cnt, p;

    if (client_get(km, out, outlen) < 0)
        return -1;
    cnt = partition_count(km, topic, deadline, out, outlen);
    if (cnt < 0)
        return -1;
    for (p = 0; p < cnt; p++) {
        int64_t lo = -1, hi = -1;
        rd_kafka_resp_err_t err = query_one(km, topic, p, deadline, &lo, &hi);
        int n;

        if (err) {
            snprintf(out, outlen, "partition %d: %s", p, rd_kafka_err2name(err));
            return -1;
        }
        n = snprintf(out + len, outlen - len, "%sp%d=%lld:%lld", p ? " " : "", p, (long long)lo,
                     (long long)hi);
        if (n < 0 || (size_t)n >= outlen - len) {
            snprintf(out, outlen, "reply too long (%d partitions)", cnt);
            return -1;
        }
        len += (size_t)n;
    }
    return 0;
}
