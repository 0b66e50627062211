/*
 * Integration tests of deltaport-kafka-mock: real clients in other processes (kcat) and in
 * this process (librdkafka) against the mock over TCP, driven through the control channel.
 *
 * Covered: kcat round trip across processes (count and content), the watermarks command,
 * broker down/up seen by metadata requests, cluster-wide and per-broker error injection
 * taking effect, topic creation, bad commands answered with ERR (the program survives), the
 * ctl sub-command's exit codes, the 5 MiB-per-partition cap showing as a low watermark > 0,
 * and clean exit 0 (no sanitizer report) on SIGTERM and on quit.
 */
#include "dp_proc.h"
#include "dp_test.h"
#include "kafka_fixture.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KCAT "/usr/bin/kcat"

static long scaled(long ms)
{
    return ms * dp_test_timeout_scale();
}

static int have_kcat(void)
{
    FILE *f = fopen(KCAT, "r");

    if (!f) {
        dp_test_skip("%s not installed", KCAT);
        return 0;
    }
    fclose(f);
    return 1;
}

/* Runs a shell command, capturing stdout into out. Returns its exit status. */
static int sh(const char *cmd, char *out, size_t outlen, long timeout_ms)
{
    char *argv[] = {(char *)"/bin/sh", (char *)"-c", (char *)cmd, NULL};

    return dp_proc_run(argv, out, outlen, scaled(timeout_ms));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Splits text into lines in place, sorted. Returns the count (at most max). */
static int sorted_lines(char *text, char **lines, int max)
{
    int n = 0;
    char *p = text;

    while (*p && n < max) {
        char *nl = strchr(p, '\n');

        lines[n++] = p;
        if (!nl)
            break;
        *nl = '\0';
        p = nl + 1;
    }
    qsort(lines, (size_t)n, sizeof(*lines), cmp_str);
    return n;
}

/* ---------------------------------------------------------------------------------------
 * In-process producer with delivery reports
 * ------------------------------------------------------------------------------------- */

typedef struct dr_state {
    int delivered;
    int failed;
    rd_kafka_resp_err_t last_err;
} dr_state_t;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    dr_state_t *st = opaque;

    (void)rk;
    if (m->err) {
        st->failed++;
        st->last_err = m->err;
    } else {
        st->delivered++;
    }
}

static rd_kafka_t *new_producer(dp_kafka_fixture_t *kf, dr_state_t *st, const char *extra_key,
                                const char *extra_val)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char errstr[512];
    rd_kafka_t *rk;

    if (dp_kafka_fixture_conf(conf, kf, 0, errstr, sizeof(errstr)) < 0 ||
        (extra_key && rd_kafka_conf_set(conf, extra_key, extra_val, errstr, sizeof(errstr)))) {
        fprintf(stderr, "producer conf: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_opaque(conf, st);
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "producer: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
    }
    return rk;
}

/* Produces one message and waits for its delivery report. Returns the delivery error and
 * the elapsed milliseconds in *ms. */
static rd_kafka_resp_err_t produce_one(rd_kafka_t *rk, dr_state_t *st, const char *topic,
                                       int partition, long long *ms)
{
    long long t0 = dp_test_now_ms();
    int before = st->delivered + st->failed;
    rd_kafka_resp_err_t err;

    st->last_err = RD_KAFKA_RESP_ERR_NO_ERROR;
    err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                            RD_KAFKA_V_VALUE((void *)"x", 1), RD_KAFKA_V_END);
    if (err)
        return err;
    while (st->delivered + st->failed == before && dp_test_now_ms() - t0 < scaled(20000))
        rd_kafka_poll(rk, 10);
    *ms = dp_test_now_ms() - t0;
    if (st->delivered + st->failed == before)
        return RD_KAFKA_RESP_ERR__TIMED_OUT;
    return st->last_err;
}

/* ---------------------------------------------------------------------------------------
 * Tests
 * ------------------------------------------------------------------------------------- */

static void stop_and_check(dp_kafka_fixture_t *kf)
{
    dp_kafka_fixture_stop(kf);
    DP_ASSERT_MSG(kf->exit_status == 0, "expected the mock to exit 0 on SIGTERM, got %d",
                  kf->exit_status);
}

/* kcat produces keyed messages in one process; another kcat process reads them all back. */
static void test_kafka_mock_kcat_roundtrip(void)
{
    const char *topics[] = {"rt:4", NULL};
    enum { N = 300 };
    dp_kafka_fixture_t kf;
    char cmd[2048], why[256], *out = malloc(1 << 20), *lines[N + 8], *expect[N];
    char expect_buf[N][32];
    long long low[8], high[8], sum = 0;
    int i, n, rc, nonempty = 0;

    if (!have_kcat() || !out)
        goto out;
    if (!DP_ASSERT_MSG(dp_kafka_fixture_start(&kf, 3, topics) == 0, "expected the mock to start"))
        goto out;
    snprintf(cmd, sizeof(cmd),
             "i=0; while [ $i -lt %d ]; do echo \"key-$i:value-$i\"; i=$((i+1)); done | "
             "%s -P -b %s -t rt -K:",
             N, KCAT, kf.bootstrap);
    rc = sh(cmd, NULL, 0, 20000);
    DP_ASSERT_MSG(rc == 0, "expected kcat -P to exit 0, got %d", rc);
    snprintf(cmd, sizeof(cmd),
             "%s -C -b %s -t rt -o beginning -e -q -f '%%k:%%s\\n' -X fetch.wait.max.ms=10", KCAT,
             kf.bootstrap);
    rc = sh(cmd, out, 1 << 20, 20000);
    DP_ASSERT_MSG(rc == 0, "expected kcat -C to exit 0, got %d", rc);
    n = sorted_lines(out, lines, N + 8);
    DP_ASSERT_MSG(n == N, "expected %d messages back, got %d", N, n);
    for (i = 0; i < N; i++) {
        snprintf(expect_buf[i], sizeof(expect_buf[i]), "key-%d:value-%d", i, i);
        expect[i] = expect_buf[i];
    }
    qsort(expect, N, sizeof(*expect), cmp_str);
    for (i = 0; i < N && i < n; i++) {
        if (!DP_ASSERT_MSG(strcmp(lines[i], expect[i]) == 0,
                           "expected message #%d (sorted) '%s', got '%s'", i, expect[i], lines[i]))
            break;
    }
    n = dp_kafka_fixture_watermarks(&kf, "rt", low, high, 8, why, sizeof(why));
    DP_ASSERT_MSG(n == 4, "expected 4 partitions, got %d (%s)", n, n < 0 ? why : "");
    for (i = 0; i < n && i < 8; i++) {
        sum += high[i];
        nonempty += high[i] > 0;
    }
    DP_ASSERT_MSG(sum == N, "expected high watermarks to sum to %d, got %lld", N, sum);
    DP_ASSERT_MSG(nonempty > 1, "expected keys spread over partitions, got %d non-empty", nonempty);
    stop_and_check(&kf);
out:
    free(out);
}

/* watermarks reports exact per-partition offsets; the bootstrap file matches stdout. */
static void test_kafka_mock_watermarks_exact(void)
{
    const char *topics[] = {"wm:3", NULL};
    dp_kafka_fixture_t kf;
    char cmd[2048], reply[512], path[320], file[1100];
    FILE *f;
    int rc;

    if (!have_kcat())
        return;
    DP_ASSERT_FATAL_MSG(dp_kafka_fixture_start(&kf, 3, topics) == 0, "expected the mock to start");
    snprintf(path, sizeof(path), "%s/bootstrap", kf.dir);
    f = fopen(path, "r");
    DP_ASSERT_MSG(f && fgets(file, sizeof(file), f), "expected a bootstrap file at %s", path);
    if (f)
        fclose(f);
    snprintf(cmd, sizeof(cmd), "%s\n", kf.bootstrap);
    DP_ASSERT_MSG(f && strcmp(file, cmd) == 0, "expected bootstrap file '%s', got '%s'",
                  kf.bootstrap, f ? file : "(none)");
    rc = dp_kafka_fixture_ctl(&kf, "watermarks wm", reply, sizeof(reply));
    DP_ASSERT_MSG(rc == 0 && strcmp(reply, "OK p0=0:0 p1=0:0 p2=0:0") == 0,
                  "expected empty watermarks, got '%s'", reply);
    snprintf(cmd, sizeof(cmd),
             "seq 1 5 | %s -P -b %s -t wm -p 0 && seq 1 7 | %s -P -b %s -t wm -p 1", KCAT,
             kf.bootstrap, KCAT, kf.bootstrap);
    rc = sh(cmd, NULL, 0, 20000);
    DP_ASSERT_MSG(rc == 0, "expected kcat -P to exit 0, got %d", rc);
    rc = dp_kafka_fixture_ctl(&kf, "watermarks wm", reply, sizeof(reply));
    DP_ASSERT_MSG(rc == 0 && strcmp(reply, "OK p0=0:5 p1=0:7 p2=0:0") == 0,
                  "expected 'OK p0=0:5 p1=0:7 p2=0:0', got '%s'", reply);
    rc = dp_kafka_fixture_low_watermarks_zero(&kf, "wm", reply, sizeof(reply));
    DP_ASSERT_MSG(rc == 0, "expected no dropped data, got %s", reply);
    DP_ASSERT_MSG(dp_kafka_fixture_high_total(&kf, "wm") == 12, "expected 12 produced, got %lld",
                  dp_kafka_fixture_high_total(&kf, "wm"));
    rc = dp_kafka_fixture_ctl(&kf, "watermarks nosuch", reply, sizeof(reply));
    DP_ASSERT_MSG(rc < 0 && strstr(reply, "unknown topic"),
                  "expected ERR unknown topic for a missing topic, got '%s'", reply);
    stop_and_check(&kf);
}

/* Returns the metadata error of a request for all topics with the given timeout. */
static rd_kafka_resp_err_t metadata_err(rd_kafka_t *rk, int timeout_ms)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms);

    if (md)
        rd_kafka_metadata_destroy(md);
    return err;
}

/* "down -1" makes metadata requests fail; "up -1" makes them succeed again. */
static void test_kafka_mock_down_up_metadata(void)
{
    const char *topics[] = {"du:2", NULL};
    dp_kafka_fixture_t kf;
    dr_state_t st = {0, 0, 0};
    rd_kafka_t *rk = NULL;
    rd_kafka_resp_err_t err;
    char reply[256];
    long long t0, deadline;

    DP_ASSERT_FATAL_MSG(dp_kafka_fixture_start(&kf, 3, topics) == 0, "expected the mock to start");
    rk = new_producer(&kf, &st, NULL, NULL);
    if (!DP_ASSERT_MSG(rk != NULL, "expected a producer"))
        goto out;
    err = metadata_err(rk, (int)scaled(5000));
    DP_ASSERT_MSG(err == 0, "expected metadata before down, got %s", rd_kafka_err2name(err));
    DP_ASSERT_MSG(dp_kafka_fixture_ctl(&kf, "down -1", reply, sizeof(reply)) == 0,
                  "expected OK for down -1, got '%s'", reply);
    err = metadata_err(rk, 1500);
    DP_ASSERT_MSG(err != 0, "expected metadata to fail while every broker is down, got %s",
                  rd_kafka_err2name(err));
    DP_ASSERT_MSG(dp_kafka_fixture_ctl(&kf, "up -1", reply, sizeof(reply)) == 0,
                  "expected OK for up -1, got '%s'", reply);
    t0 = dp_test_now_ms();
    deadline = t0 + scaled(15000);
    do {
        err = metadata_err(rk, 1000);
    } while (err && dp_test_now_ms() < deadline);
    DP_ASSERT_MSG(err == 0, "expected metadata to work again after up -1, got %s",
                  rd_kafka_err2name(err));
    fprintf(stderr, "  metadata back %lld ms after up -1\n", dp_test_now_ms() - t0);
out:
    if (rk)
        rd_kafka_destroy(rk);
    stop_and_check(&kf);
}

static long long high_of(dp_kafka_fixture_t *kf, const char *topic, int partition)
{
    long long low[16], high[16];
    char why[256];
    int n = dp_kafka_fixture_watermarks(kf, topic, low, high, 16, why, sizeof(why));

    return n > partition ? high[partition] : -1;
}

/* Retriable pushed errors delay a produce that still lands once; per-broker errors with an
 * RTT delay it by that RTT; clear_errors empties the stack; a non-retriable pushed error is
 * what the producer's delivery report carries. */
static void test_kafka_mock_push_errors_take_effect(void)
{
    const char *topics[] = {"pe:1", "pb:1", NULL};
    dp_kafka_fixture_t kf;
    dr_state_t st = {0, 0, 0};
    rd_kafka_t *rk = NULL;
    rd_kafka_resp_err_t err;
    char reply[256];
    long long ms = 0;

    DP_ASSERT_FATAL_MSG(dp_kafka_fixture_start(&kf, 3, topics) == 0, "expected the mock to start");
    DP_ASSERT_MSG(dp_kafka_fixture_ctl(&kf, "leader pe 0 2", reply, sizeof(reply)) == 0 &&
                      dp_kafka_fixture_ctl(&kf, "leader pb 0 3", reply, sizeof(reply)) == 0,
                  "expected OK for leader, got '%s'", reply);
    rk = new_producer(&kf, &st, "retry.backoff.ms", "100");
    if (!DP_ASSERT_MSG(rk != NULL, "expected a producer"))
        goto out;
    err = produce_one(rk, &st, "pe", 0, &ms);
    DP_ASSERT_MSG(err == 0, "expected a first produce to succeed, got %s", rd_kafka_err2name(err));

    dp_kafka_fixture_ctl(&kf, "push_errors 0 NOT_ENOUGH_REPLICAS NOT_ENOUGH_REPLICAS", reply,
                         sizeof(reply));
    DP_ASSERT_MSG(strcmp(reply, "OK 2") == 0, "expected 'OK 2', got '%s'", reply);
    err = produce_one(rk, &st, "pe", 0, &ms);
    DP_ASSERT_MSG(err == 0, "expected the produce to survive 2 retriable errors, got %s",
                  rd_kafka_err2name(err));
    /* Two refused attempts, each followed by retry.backoff.ms (100) before the next. */
    DP_ASSERT_MSG(ms >= 180, "expected >= 180 ms for 2 retries of 100 ms, got %lld ms", ms);
    DP_ASSERT_MSG(high_of(&kf, "pe", 0) == 2, "expected 2 messages in pe/0, got %lld",
                  high_of(&kf, "pe", 0));

    dp_kafka_fixture_ctl(&kf, "push_errors 0 TOPIC_AUTHORIZATION_FAILED TOPIC_AUTHORIZATION_FAILED",
                         reply, sizeof(reply));
    DP_ASSERT_MSG(dp_kafka_fixture_ctl(&kf, "clear_errors 0", reply, sizeof(reply)) == 0,
                  "expected OK for clear_errors, got '%s'", reply);
    err = produce_one(rk, &st, "pe", 0, &ms);
    DP_ASSERT_MSG(err == 0, "expected success after clear_errors, got %s", rd_kafka_err2name(err));

    dp_kafka_fixture_ctl(&kf, "push_errors 0 29", reply, sizeof(reply));
    DP_ASSERT_MSG(strcmp(reply, "OK 1") == 0, "expected error 29 by number accepted, got '%s'",
                  reply);
    err = produce_one(rk, &st, "pe", 0, &ms);
    DP_ASSERT_MSG(err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
                  "expected the pushed TOPIC_AUTHORIZATION_FAILED in the delivery report, got %s",
                  rd_kafka_err2name(err));

    /* A separate topic led by broker 3: the pushed topic error above marks "pe" failed in
     * the producer until its next metadata refresh. */
    dp_kafka_fixture_ctl(&kf, "broker_push_errors 3 0 REQUEST_TIMED_OUT:0 NO_ERROR:700", reply,
                         sizeof(reply));
    DP_ASSERT_MSG(strcmp(reply, "OK 2") == 0, "expected 'OK 2', got '%s'", reply);
    dp_kafka_fixture_ctl(&kf, "broker_error_count 3 0", reply, sizeof(reply));
    DP_ASSERT_MSG(strcmp(reply, "OK 2") == 0, "expected 2 stacked errors, got '%s'", reply);
    err = produce_one(rk, &st, "pb", 0, &ms);
    DP_ASSERT_MSG(err == 0 && ms >= 700, "expected success after >= 700 ms, got %s in %lld ms",
                  rd_kafka_err2name(err), ms);
    dp_kafka_fixture_ctl(&kf, "broker_error_count 3 0", reply, sizeof(reply));
    DP_ASSERT_MSG(strcmp(reply, "OK 0") == 0, "expected the stack consumed, got '%s'", reply);

out:
    if (rk)
        rd_kafka_destroy(rk);
    stop_and_check(&kf);
}

/* Commits one offset of topic/0 for group through consumer rk. */
static rd_kafka_resp_err_t commit_offset(rd_kafka_t *rk, const char *topic, long long offset)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_resp_err_t err;

    rd_kafka_topic_partition_list_add(list, topic, 0)->offset = offset;
    err = rd_kafka_commit(rk, list, 0);
    rd_kafka_topic_partition_list_destroy(list);
    return err;
}

/* push_errors on OffsetCommit (api key 8) reaches rd_kafka_commit(); the stored offset is
 * unchanged by the refused commit and taken by the next one. */
static void test_kafka_mock_commit_error_pushed(void)
{
    const char *topics[] = {"oc:1", NULL};
    dp_kafka_fixture_t kf;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_topic_partition_list_t *parts = NULL;
    rd_kafka_t *rk = NULL;
    rd_kafka_resp_err_t err;
    char errstr[512], reply[256];

    if (!DP_ASSERT_MSG(dp_kafka_fixture_start(&kf, 3, topics) == 0, "expected the mock to start")) {
        rd_kafka_conf_destroy(conf);
        return;
    }
    if (dp_kafka_fixture_conf(conf, &kf, 1, errstr, sizeof(errstr)) < 0 ||
        rd_kafka_conf_set(conf, "group.id", "g-oc", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof(errstr)) ||
        !(rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr)))) {
        rd_kafka_conf_destroy(conf);
        DP_ASSERT_MSG(0, "expected a consumer, got %s", errstr);
        goto out;
    }
    err = commit_offset(rk, "oc", 3);
    DP_ASSERT_MSG(err == 0, "expected a first commit to succeed, got %s", rd_kafka_err2name(err));
    dp_kafka_fixture_ctl(&kf, "push_errors 8 GROUP_AUTHORIZATION_FAILED", reply, sizeof(reply));
    DP_ASSERT_MSG(strcmp(reply, "OK 1") == 0, "expected 'OK 1', got '%s'", reply);
    err = commit_offset(rk, "oc", 5);
    DP_ASSERT_MSG(err == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED,
                  "expected the pushed GROUP_AUTHORIZATION_FAILED from commit, got %s",
                  rd_kafka_err2name(err));
    parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, "oc", 0);
    err = rd_kafka_committed(rk, parts, (int)scaled(10000));
    DP_ASSERT_MSG(err == 0 && parts->elems[0].offset == 3,
                  "expected committed offset 3 after the refused commit, got %s / %lld",
                  rd_kafka_err2name(err), (long long)parts->elems[0].offset);
    err = commit_offset(rk, "oc", 5);
    DP_ASSERT_MSG(err == 0, "expected the next commit to succeed, got %s", rd_kafka_err2name(err));
    err = rd_kafka_committed(rk, parts, (int)scaled(10000));
    DP_ASSERT_MSG(err == 0 && parts->elems[0].offset == 5, "expected committed 5, got %lld",
                  (long long)parts->elems[0].offset);
out:
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    if (rk) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    stop_and_check(&kf);
}

/* Every malformed command gets an ERR with a reason; the program keeps serving. Good
 * commands of every kind are accepted. */
static void test_kafka_mock_control_commands(void)
{
    static const struct {
        const char *cmd;
        const char *reply_prefix;
    } cases[] = {
        {"ping", "OK"},
        {"topic made 5", "OK"},
        {"topic made 5", "ERR topic made: TOPIC_ALREADY_EXISTS"},
        {"watermarks made", "OK p0=0:0 p1=0:0 p2=0:0 p3=0:0 p4=0:0"},
        {"leader made 0 2", "OK"},
        {"coordinator g1 3", "OK"},
        {"rtt -1 0", "OK"},
        {"rtt 1 20", "OK"},
        {"down 2", "OK"},
        {"up 2", "OK"},
        {"bootstrap", "OK 127.0.0.1:"},
        {"bogus", "ERR unknown command 'bogus'"},
        {"", "ERR empty command"},
        {"topic x", "ERR usage: topic NAME PARTITIONS"},
        {"topic x 0", "ERR bad partition count '0'"},
        {"topic x 12abc", "ERR bad partition count '12abc'"},
        {"down 0", "ERR bad broker id '0'"},
        {"down 4", "ERR bad broker id '4'"},
        {"up -2", "ERR bad broker id '-2'"},
        {"rtt 1 -5", "ERR bad rtt ms '-5'"},
        {"push_errors 0", "ERR usage: push_errors"},
        {"push_errors 99999 NOT_LEADER_FOR_PARTITION", "ERR bad api key '99999'"},
        {"push_errors 0 NO_SUCH_ERROR", "ERR unknown error 'NO_SUCH_ERROR'"},
        {"push_errors 1 RD_KAFKA_RESP_ERR__TRANSPORT", "OK 1"},
        {"clear_errors 1", "OK"},
        {"broker_push_errors -1 0 NO_ERROR:1", "ERR bad broker id '-1'"},
        {"broker_push_errors 1 0 NO_ERROR:x", "ERR bad rtt ms 'x'"},
        {"broker_push_errors 1 0 NOT_LEADER_FOR_PARTITION", "OK 1"},
        {"broker_error_count 1 0", "OK 1"},
        {"leader made 0 7", "ERR bad broker id '7'"},
        {"coordinator g1 -1", "ERR bad broker id '-1'"},
        {"watermarks", "ERR usage: watermarks TOPIC"},
        {"ping extra", "ERR usage: ping"},
    };
    const char *topics[] = {"cc:1", NULL};
    dp_kafka_fixture_t kf;
    char reply[512], *longcmd = malloc(6000);
    size_t i;
    int rc;

    DP_ASSERT_FATAL_MSG(dp_kafka_fixture_start(&kf, 3, topics) == 0, "expected the mock to start");
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rc = dp_kafka_fixture_ctl(&kf, cases[i].cmd, reply, sizeof(reply));
        DP_ASSERT_MSG(strncmp(reply, cases[i].reply_prefix, strlen(cases[i].reply_prefix)) == 0 &&
                          (rc == 0) == (strncmp(reply, "OK", 2) == 0),
                      "command '%s': expected reply starting '%s', got '%s' (rc %d)", cases[i].cmd,
                      cases[i].reply_prefix, reply, rc);
    }
    if (longcmd) {
        memset(longcmd, 'a', 5999);
        longcmd[5999] = '\0';
        rc = dp_kafka_fixture_ctl(&kf, longcmd, reply, sizeof(reply));
        DP_ASSERT_MSG(rc < 0 && strncmp(reply, "ERR command longer than", 23) == 0,
                      "expected ERR for a 6000-byte line, got '%s'", reply);
        free(longcmd);
    }
    rc = dp_kafka_fixture_ctl(&kf, "ping", reply, sizeof(reply));
    DP_ASSERT_MSG(rc == 0, "expected the mock to keep serving after bad input, got '%s'", reply);
    stop_and_check(&kf);
}

/* The ctl sub-command prints the reply and exits 0 on OK, 1 on ERR, 2 without a server. */
static void test_kafka_mock_ctl_subcommand_exit_codes(void)
{
    const char *topics[] = {"ctl:1", NULL};
    dp_kafka_fixture_t kf;
    char out[512], nosock[320];
    char *ping[] = {(char *)DP_KAFKA_MOCK_BIN, (char *)"ctl", kf.control, (char *)"ping", NULL};
    char *wm[] = {(char *)DP_KAFKA_MOCK_BIN, (char *)"ctl", kf.control,
                  (char *)"watermarks",      (char *)"ctl", NULL};
    char *bad[] = {
        (char *)DP_KAFKA_MOCK_BIN, (char *)"ctl", kf.control, (char *)"down", (char *)"99", NULL};
    char *none[] = {(char *)DP_KAFKA_MOCK_BIN, (char *)"ctl", nosock, (char *)"ping", NULL};
    int rc;

    DP_ASSERT_FATAL_MSG(dp_kafka_fixture_start(&kf, 1, topics) == 0, "expected the mock to start");
    rc = dp_proc_run(ping, out, sizeof(out), scaled(10000));
    DP_ASSERT_MSG(rc == 0 && strcmp(out, "OK\n") == 0, "expected exit 0 and 'OK', got %d '%s'", rc,
                  out);
    rc = dp_proc_run(wm, out, sizeof(out), scaled(10000));
    DP_ASSERT_MSG(rc == 0 && strcmp(out, "OK p0=0:0\n") == 0,
                  "expected exit 0 and 'OK p0=0:0', got %d '%s'", rc, out);
    rc = dp_proc_run(bad, out, sizeof(out), scaled(10000));
    DP_ASSERT_MSG(rc == 1 && strncmp(out, "ERR bad broker id '99'", 22) == 0,
                  "expected exit 1 and ERR, got %d '%s'", rc, out);
    snprintf(nosock, sizeof(nosock), "%s/missing.sock", kf.dir);
    rc = dp_proc_run(none, out, sizeof(out), scaled(10000));
    DP_ASSERT_MSG(rc == 2, "expected exit 2 without a server, got %d '%s'", rc, out);
    stop_and_check(&kf);
}

/* quit answers OK, then the program exits 0 and removes its socket and bootstrap file. */
static void test_kafka_mock_quit_exits_cleanly(void)
{
    dp_kafka_fixture_t kf;
    char reply[256], path[320];
    int rc;

    DP_ASSERT_FATAL_MSG(dp_kafka_fixture_start(&kf, 2, NULL) == 0, "expected the mock to start");
    rc = dp_kafka_fixture_ctl(&kf, "quit", reply, sizeof(reply));
    DP_ASSERT_MSG(rc == 0 && strcmp(reply, "OK") == 0, "expected OK for quit, got '%s'", reply);
    rc = dp_proc_wait(&kf.proc, scaled(10000));
    DP_ASSERT_MSG(rc == 0, "expected exit status 0 after quit, got %d", rc);
    DP_ASSERT_MSG(access(kf.control, F_OK) != 0, "expected %s removed", kf.control);
    snprintf(path, sizeof(path), "%s/bootstrap", kf.dir);
    DP_ASSERT_MSG(access(path, F_OK) != 0, "expected %s removed", path);
    stop_and_check(&kf);
}

/* More than 5 MiB into one partition: the mock drops the oldest data and says so through a
 * low watermark above 0, which dp_kafka_fixture_low_watermarks_zero() reports. */
static void test_kafka_mock_retention_cap_visible(void)
{
    enum { N = 7000, SIZE = 1000 };
    const char *topics[] = {"cap:1", NULL};
    dp_kafka_fixture_t kf;
    dr_state_t st = {0, 0, 0};
    rd_kafka_t *rk = NULL;
    long long low[1], high[1];
    char why[512], *value = calloc(1, SIZE);
    int i, n;

    DP_ASSERT_FATAL_MSG(value && dp_kafka_fixture_start(&kf, 3, topics) == 0,
                        "expected the mock to start");
    rk = new_producer(&kf, &st, "linger.ms", "20");
    if (!DP_ASSERT_MSG(rk != NULL, "expected a producer"))
        goto out;
    memset(value, 'v', SIZE);
    for (i = 0; i < N; i++) {
        while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC("cap"), RD_KAFKA_V_PARTITION(0),
                                 RD_KAFKA_V_VALUE(value, SIZE),
                                 RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(rk, 10);
        rd_kafka_poll(rk, 0);
    }
    rd_kafka_flush(rk, (int)scaled(30000));
    DP_ASSERT_MSG(st.delivered == N && st.failed == 0, "expected %d delivered, got %d (%d failed)",
                  N, st.delivered, st.failed);
    n = dp_kafka_fixture_watermarks(&kf, "cap", low, high, 1, why, sizeof(why));
    DP_ASSERT_MSG(n == 1 && high[0] == N, "expected high watermark %d, got %lld (%s)", N,
                  n == 1 ? high[0] : -1, n == 1 ? "" : why);
    DP_ASSERT_MSG(n == 1 && low[0] > 0 && (high[0] - low[0]) * SIZE <= 6 * 1024 * 1024,
                  "expected a low watermark > 0 keeping about 5 MiB, got %lld:%lld",
                  n == 1 ? low[0] : -1, n == 1 ? high[0] : -1);
    fprintf(stderr, "  7 MB produced: watermarks %lld:%lld (%lld messages kept)\n", low[0], high[0],
            high[0] - low[0]);
    DP_ASSERT_MSG(dp_kafka_fixture_low_watermarks_zero(&kf, "cap", why, sizeof(why)) < 0 &&
                      strstr(why, "partition 0"),
                  "expected low_watermarks_zero to name partition 0, got '%s'", why);
out:
    if (rk)
        rd_kafka_destroy(rk);
    free(value);
    stop_and_check(&kf);
}

static const dp_test_case_t cases[] = {
    {"test_kafka_mock_kcat_roundtrip", test_kafka_mock_kcat_roundtrip},
    {"test_kafka_mock_watermarks_exact", test_kafka_mock_watermarks_exact},
    {"test_kafka_mock_down_up_metadata", test_kafka_mock_down_up_metadata},
    {"test_kafka_mock_push_errors_take_effect", test_kafka_mock_push_errors_take_effect},
    {"test_kafka_mock_commit_error_pushed", test_kafka_mock_commit_error_pushed},
    {"test_kafka_mock_control_commands", test_kafka_mock_control_commands},
    {"test_kafka_mock_ctl_subcommand_exit_codes", test_kafka_mock_ctl_subcommand_exit_codes},
    {"test_kafka_mock_quit_exits_cleanly", test_kafka_mock_quit_exits_cleanly},
    {"test_kafka_mock_retention_cap_visible", test_kafka_mock_retention_cap_visible},
    {NULL, NULL},
};

static const dp_test_suite_t suites[] = {
    {"kafka_mock", NULL, NULL, cases},
    {NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
    return dp_test_main(argc, argv, suites);
}
