/*
 * kafka_fixture: the embedded Kafka cluster as a child process of a test (see
 * kafka_fixture.h). The fixture owns its temp dir and the child from start to stop; the
 * control channel is opened per command, so a fixture holds no descriptor but the child's
 * stdout pipe.
 */
#define _GNU_SOURCE
#include "kafka_fixture.h"
#include "dp_test.h"

#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define KF_READY_MS      15000
#define KF_CTL_MS        30000
#define KF_STOP_GRACE_MS 10000
#define KF_MAX_ARGV      80

static const char *const client_conf[] = {
    "session.timeout.ms",
    "6000",
    "heartbeat.interval.ms",
    "1000",
    "fetch.wait.max.ms",
    "10",
    "reconnect.backoff.ms",
    "10",
    "reconnect.backoff.max.ms",
    "500",
    "topic.metadata.refresh.interval.ms",
    "1000",
    "retry.backoff.ms",
    "50",
    "socket.connection.setup.timeout.ms",
    "5000",
    NULL,
    NULL,
};

const char *const *dp_kafka_fixture_client_conf(void)
{
    return client_conf;
}

int dp_kafka_fixture_client_conf_applies(const char *key, int consumer)
{
    int consumer_only = strcmp(key, "session.timeout.ms") == 0 ||
                        strcmp(key, "heartbeat.interval.ms") == 0 ||
                        strcmp(key, "fetch.wait.max.ms") == 0;
    int producer_only = strcmp(key, "retry.backoff.ms") == 0;

    return consumer ? !producer_only : !consumer_only;
}

int dp_kafka_fixture_conf(struct rd_kafka_conf_s *conf, const dp_kafka_fixture_t *kf, int consumer,
                          char *errstr, size_t errlen)
{
    size_t i;

    if (rd_kafka_conf_set(conf, "bootstrap.servers", kf->bootstrap, errstr, errlen) !=
        RD_KAFKA_CONF_OK)
        return -1;
    for (i = 0; client_conf[i]; i += 2) {
        if (!dp_kafka_fixture_client_conf_applies(client_conf[i], consumer))
            continue;
        if (rd_kafka_conf_set(conf, client_conf[i], client_conf[i + 1], errstr, errlen) !=
            RD_KAFKA_CONF_OK)
            return -1;
    }
    return 0;
}

/* Builds the mock's argv in words[] (strings in store). Returns 0 or -1. */
static int build_argv(dp_kafka_fixture_t *kf, int brokers, const char *const *topics, char **argv,
                      char *brokers_buf, size_t brokers_len, char *bsfile, size_t bsfile_len)
{
    int n = 0, i;

    snprintf(brokers_buf, brokers_len, "%d", brokers > 0 ? brokers : 3);
    snprintf(bsfile, bsfile_len, "%s/bootstrap", kf->dir);
    argv[n++] = (char *)DP_KAFKA_MOCK_BIN;
    argv[n++] = (char *)"--brokers";
    argv[n++] = brokers_buf;
    argv[n++] = (char *)"--control";
    argv[n++] = kf->control;
    argv[n++] = (char *)"--bootstrap-file";
    argv[n++] = bsfile;
    for (i = 0; topics && topics[i]; i++) {
        if (n + 3 > KF_MAX_ARGV)
            return -1;
        argv[n++] = (char *)"--topic";
        argv[n++] = (char *)topics[i];
    }
    argv[n] = NULL;
    return 0;
}

int dp_kafka_fixture_start(dp_kafka_fixture_t *kf, int brokers, const char *const *topics)
{
    char *argv[KF_MAX_ARGV];
    char brokers_buf[16], bsfile[320];
    long wait_ms = (long)KF_READY_MS * dp_test_timeout_scale();

    memset(kf, 0, sizeof(*kf));
    kf->proc.out_fd = -1;
    kf->exit_status = -1;
    if (dp_test_tmpdir("kafka", kf->dir, sizeof(kf->dir)) < 0) {
        fprintf(stderr, "kafka fixture: cannot create a temp dir: %s\n", strerror(errno));
        return -1;
    }
    snprintf(kf->control, sizeof(kf->control), "%s/ctl.sock", kf->dir);
    snprintf(kf->log, sizeof(kf->log), "%s/kafka-mock.log", kf->dir);
    if (build_argv(kf, brokers, topics, argv, brokers_buf, sizeof(brokers_buf), bsfile,
                   sizeof(bsfile)) < 0) {
        fprintf(stderr, "kafka fixture: too many topics\n");
        return -1;
    }
    if (dp_proc_start(&kf->proc, argv, 1, kf->log) < 0) {
        fprintf(stderr, "kafka fixture: cannot start %s: %s\n", argv[0], strerror(errno));
        return -1;
    }
    kf->started = 1;
    if (dp_proc_wait_prefix(&kf->proc, "BOOTSTRAP ", kf->bootstrap, sizeof(kf->bootstrap),
                            wait_ms) < 0) {
        fprintf(stderr, "kafka fixture: no BOOTSTRAP line within %ld ms (log %s)\n", wait_ms,
                kf->log);
        dp_kafka_fixture_stop(kf);
        return -1;
    }
    return 0;
}

static int ctl_connect(const char *path)
{
    struct sockaddr_un sa;
    int fd;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa.sun_path))
        return -1;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads one line into buf (newline removed). Returns 0 or -1 (timeout, EOF, too long). */
static int ctl_read_line(int fd, char *buf, size_t buflen, long timeout_ms)
{
    long long deadline = dp_test_now_ms() + timeout_ms;
    size_t len = 0;

    while (len + 1 < buflen) {
        struct pollfd p = {fd, POLLIN, 0};
        long long left = deadline - dp_test_now_ms();
        ssize_t r;
        char *nl;

        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return -1;
        r = read(fd, buf + len, buflen - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        len += (size_t)r;
        buf[len] = '\0';
        nl = strchr(buf, '\n');
        if (nl) {
            *nl = '\0';
            return 0;
        }
    }
    return -1;
}

int dp_kafka_fixture_ctl(dp_kafka_fixture_t *kf, const char *cmd, char *reply, size_t replylen)
{
    size_t buflen = 65536 + 2;
    char *buf = malloc(buflen);
    int fd = -1, rc = -1;
    size_t clen = strlen(cmd);

    if (!buf)
        return -1;
    snprintf(buf, buflen, "no reply");
    fd = ctl_connect(kf->control);
    if (fd < 0) {
        snprintf(buf, buflen, "cannot connect to %s: %s", kf->control, strerror(errno));
        goto out;
    }
    if (send(fd, cmd, clen, MSG_NOSIGNAL) != (ssize_t)clen ||
        send(fd, "\n", 1, MSG_NOSIGNAL) != 1) {
        snprintf(buf, buflen, "send to %s: %s", kf->control, strerror(errno));
        goto out;
    }
    if (ctl_read_line(fd, buf, buflen, (long)KF_CTL_MS * dp_test_timeout_scale()) < 0) {
        snprintf(buf, buflen, "no reply to '%s'", cmd);
        goto out;
    }
    rc = strncmp(buf, "OK", 2) == 0 ? 0 : -1;
out:
    if (reply && replylen)
        snprintf(reply, replylen, "%s", buf);
    if (fd >= 0)
        close(fd);
    free(buf);
    return rc;
}

/* Parses one "pN=LOW:HIGH" word. Returns 0 or -1. */
static int parse_wmark(const char *w, long *part, long long *lo, long long *hi)
{
    char *end = NULL;

    if (w[0] != 'p')
        return -1;
    errno = 0;
    *part = strtol(w + 1, &end, 10);
    if (errno || *end != '=')
        return -1;
    *lo = strtoll(end + 1, &end, 10);
    if (errno || *end != ':')
        return -1;
    *hi = strtoll(end + 1, &end, 10);
    if (errno || (*end && *end != ' '))
        return -1;
    return 0;
}

int dp_kafka_fixture_watermarks(dp_kafka_fixture_t *kf, const char *topic, long long *low,
                                long long *high, int max, char *why, size_t whylen)
{
    size_t rlen = 65536;
    char *r = malloc(rlen);
    char cmd[512];
    const char *w;
    int cnt = -1;

    if (!r)
        return -1;
    snprintf(cmd, sizeof(cmd), "watermarks %s", topic);
    if (dp_kafka_fixture_ctl(kf, cmd, r, rlen) < 0) {
        snprintf(why, whylen, "%s", r);
        goto out;
    }
    cnt = 0;
    for (w = strchr(r, ' '); w; w = strchr(w, ' ')) {
        long part;
        long long lo, hi;

        w++;
        if (parse_wmark(w, &part, &lo, &hi) < 0 || part != cnt) {
            snprintf(why, whylen, "unexpected watermarks reply: %.200s", r);
            cnt = -1;
            goto out;
        }
        if (cnt < max) {
            low[cnt] = lo;
            high[cnt] = hi;
        }
        cnt++;
    }
out:
    free(r);
    return cnt;
}

int dp_kafka_fixture_low_watermarks_zero(dp_kafka_fixture_t *kf, const char *topic, char *why,
                                         size_t whylen)
{
    long long low[1024], high[1024];
    int cnt = dp_kafka_fixture_watermarks(kf, topic, low, high, 1024, why, whylen);
    int i;

    if (cnt < 0)
        return -1;
    for (i = 0; i < cnt && i < 1024; i++) {
        if (low[i] != 0) {
            snprintf(why, whylen,
                     "topic %s partition %d: low watermark %lld (high %lld): the mock dropped "
                     "%lld messages (5 MiB per partition cap)",
                     topic, i, low[i], high[i], low[i]);
            return -1;
        }
    }
    return 0;
}

long long dp_kafka_fixture_high_total(dp_kafka_fixture_t *kf, const char *topic)
{
    long long low[1024], high[1024], sum = 0;
    char why[256];
    int cnt = dp_kafka_fixture_watermarks(kf, topic, low, high, 1024, why, sizeof(why));
    int i;

    if (cnt < 0 || cnt > 1024)
        return -1;
    for (i = 0; i < cnt; i++)
        sum += high[i];
    return sum;
}

static void print_log(const char *path)
{
    char line[1024];
    FILE *f = fopen(path, "r");

    if (!f)
        return;
    fprintf(stderr, "---- %s ----\n", path);
    while (fgets(line, sizeof(line), f))
        fputs(line, stderr);
    fprintf(stderr, "---- end of %s ----\n", path);
    fclose(f);
}

void dp_kafka_fixture_stop(dp_kafka_fixture_t *kf)
{
    if (!kf->started && !kf->dir[0])
        return;
    if (kf->started) {
        kf->exit_status = dp_proc_stop(&kf->proc, (long)KF_STOP_GRACE_MS * dp_test_timeout_scale());
        kf->started = 0;
        if (kf->exit_status != 0) {
            fprintf(stderr, "kafka fixture: deltaport-kafka-mock exited with %d\n",
                    kf->exit_status);
            print_log(kf->log);
        }
    }
    if (kf->dir[0] && !getenv("DP_TEST_KEEP_TMP"))
        dp_test_rmtree(kf->dir);
    kf->dir[0] = '\0';
}
