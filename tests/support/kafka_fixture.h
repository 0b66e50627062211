/*
 * kafka_fixture: an embedded Kafka cluster for integration tests.
 *
 * dp_kafka_fixture_start() runs deltaport-kafka-mock (DP_KAFKA_MOCK_BIN) as a child process
 * in a fresh temporary directory, waits for its BOOTSTRAP line and fills in the bootstrap
 * list and the control socket path. The child's stderr goes to <dir>/kafka-mock.log; when
 * the child does not exit cleanly, dp_kafka_fixture_stop() prints that log on stderr.
 *
 * Limits of the mock every test must design around (docs/KAFKA_MOCK.md): each partition keeps
 * at most 5 MiB and drops older data silently (check dp_kafka_fixture_low_watermarks_zero()
 * at the end of a test that produces much), a rebalance takes session.timeout.ms - 1 s, an
 * empty fetch waits the whole fetch.wait.max.ms. dp_kafka_fixture_client_conf() gives the
 * client settings that keep tests fast.
 *
 * Thread: a fixture is used from one test thread.
 */
#ifndef DP_KAFKA_FIXTURE_H
#define DP_KAFKA_FIXTURE_H

#include <stddef.h>

#include "dp_proc.h"

typedef struct dp_kafka_fixture {
    dp_proc_t proc;       /* the deltaport-kafka-mock child */
    char bootstrap[1024]; /* "127.0.0.1:port,127.0.0.1:port,..." */
    char control[256];    /* control socket path, <dir>/ctl.sock */
    char dir[256];        /* temporary directory (removed by stop) */
    char log[320];        /* the child's stderr, <dir>/kafka-mock.log */
    int started;          /* 1 between a successful start and stop */
    int exit_status;      /* the child's exit status after stop, -1 before */
} dp_kafka_fixture_t;

/*
 * Starts a mock cluster of `brokers` brokers (<= 0: the default 3) with the given topics,
 * each "name:partitions", NULL-terminated (topics may be NULL). Waits at most
 * 15 s x dp_test_timeout_scale() for it to be ready.
 * Returns 0, or -1 after printing why on stderr; kf is then safe to pass to stop.
 * Ownership: kf is caller-owned storage; the child and the temp dir belong to kf until stop.
 */
int dp_kafka_fixture_start(dp_kafka_fixture_t *kf, int brokers, const char *const *topics);

/*
 * Sends one control command ("watermarks events", "down -1", ...) and copies the reply line
 * (without newline) into reply (may be NULL). Returns 0 when the reply starts with OK, -1 on
 * ERR or when no reply came (reply then says why).
 */
int dp_kafka_fixture_ctl(dp_kafka_fixture_t *kf, const char *cmd, char *reply, size_t replylen);

/*
 * Reads `watermarks TOPIC` into arrays: low[i] and high[i] for partition i, i < max.
 * Returns the partition count (may exceed max; only max are stored) or -1 with why filled.
 */
int dp_kafka_fixture_watermarks(dp_kafka_fixture_t *kf, const char *topic, long long *low,
                                long long *high, int max, char *why, size_t whylen);

/*
 * Returns 0 when every partition of topic still has low watermark 0 (the mock dropped
 * nothing), else -1 with why naming the first partition that lost data (or the error).
 */
int dp_kafka_fixture_low_watermarks_zero(dp_kafka_fixture_t *kf, const char *topic, char *why,
                                         size_t whylen);

/*
 * Sum of the high watermarks of topic's partitions (messages ever produced), or -1.
 */
long long dp_kafka_fixture_high_total(dp_kafka_fixture_t *kf, const char *topic);

/*
 * Stops the child (SIGTERM, then SIGKILL after 10 s), records its exit status in
 * kf->exit_status, prints its log when the status is not 0, and removes the temp dir
 * (kept when DP_TEST_KEEP_TMP is set). Safe on a zeroed or never-started kf, and twice.
 */
void dp_kafka_fixture_stop(dp_kafka_fixture_t *kf);

/*
 * Client settings that make tests against the mock fast and predictable, as a
 * NULL-terminated list of key, value pairs (static storage). It has no bootstrap.servers and
 * none of the keys deltaport owns (group.id, enable.auto.commit, ...):
 *   session.timeout.ms=6000, heartbeat.interval.ms=1000 (rebalance in about 5 s),
 *   fetch.wait.max.ms=10 (an empty fetch is held that long), reconnect.backoff.ms=10,
 *   reconnect.backoff.max.ms=500, topic.metadata.refresh.interval.ms=1000,
 *   retry.backoff.ms=50, socket.connection.setup.timeout.ms=5000.
 * session/heartbeat/fetch keys are consumer-only and retry.backoff.ms is producer-only
 * (librdkafka warns about the others): filter with dp_kafka_fixture_client_conf_applies().
 */
const char *const *dp_kafka_fixture_client_conf(void);

/* 1 when key (from the list above) applies to a consumer (consumer=1) or a producer (0). */
int dp_kafka_fixture_client_conf_applies(const char *key, int consumer);

struct rd_kafka_conf_s;

/*
 * Sets bootstrap.servers (kf's list) and the settings above that apply to a consumer
 * (consumer=1) or a producer (0) on conf (an rd_kafka_conf_t *).
 * Returns 0 or -1 with errstr filled.
 * Ownership: conf stays the caller's.
 */
int dp_kafka_fixture_conf(struct rd_kafka_conf_s *conf, const dp_kafka_fixture_t *kf, int consumer,
                          char *errstr, size_t errlen);

#endif
