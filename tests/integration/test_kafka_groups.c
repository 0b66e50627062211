/*
 * Consumer-group behaviour of deltaport-kafka-mock with real consumer PROCESSES
 * (dp-kafka-test-consumer, a librdkafka balanced consumer) and kcat as the producer:
 *
 * - two consumers of one group split the partitions; when one leaves, the survivor owns
 *   them all and consumes what is produced afterwards;
 * - offsets committed by one consumer process are where the next one in the group resumes:
 *   no gap and no repeat.
 *
 * Rebalances in the mock take session.timeout.ms - 1 s (the consumers use 6000), so the
 * waits below are deadlines of 20 s or more, polled, scaled by dp_test_timeout_scale().
 */
#include "dp_proc.h"
#include "dp_test.h"
#include "kafka_fixture.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KCAT      "/usr/bin/kcat"
#define MAX_MSGS  512
#define MAX_PARTS 16

/* What one consumer process has said so far. */
typedef struct consumer {
    dp_proc_t proc;
    int assigned[MAX_PARTS]; /* latest assignment: 1 for owned partitions */
    int assign_cnt;          /* ASSIGNED lines seen */
    int msg_cnt;
    int part[MAX_MSGS];
    long long offset[MAX_MSGS];
    char value[MAX_MSGS][48];
    int done; /* DONE line seen */
} consumer_t;

static long scaled(long ms)
{
    return ms * dp_test_timeout_scale();
}

static int start_consumer(consumer_t *c, dp_kafka_fixture_t *kf, const char *group,
                          const char *topic, const char *max, char *log)
{
    char *argv[12];
    int n = 0;

    memset(c, 0, sizeof(*c));
    argv[n++] = (char *)DP_KAFKA_TEST_CONSUMER_BIN;
    argv[n++] = (char *)"-b";
    argv[n++] = kf->bootstrap;
    argv[n++] = (char *)"-g";
    argv[n++] = (char *)group;
    argv[n++] = (char *)"-t";
    argv[n++] = (char *)topic;
    argv[n++] = (char *)"-c";
    if (max) {
        argv[n++] = (char *)"-n";
        argv[n++] = (char *)max;
    }
    argv[n] = NULL;
    return dp_proc_start(&c->proc, argv, 1, log);
}

static void parse_assigned(consumer_t *c, const char *list)
{
    const char *p = list;

    memset(c->assigned, 0, sizeof(c->assigned));
    c->assign_cnt++;
    while (*p && *p != '-') {
        char *end = NULL;
        long v = strtol(p, &end, 10);

        if (end == p)
            break;
        if (v >= 0 && v < MAX_PARTS)
            c->assigned[v] = 1;
        p = *end == ',' ? end + 1 : end;
    }
}

/* Reads whatever lines the consumer has printed, waiting at most wait_ms for the first. */
static void pump(consumer_t *c, long wait_ms)
{
    char line[512];

    while (dp_proc_read_line(&c->proc, line, sizeof(line), wait_ms) == 0) {
        wait_ms = 0;
        if (strncmp(line, "ASSIGNED ", 9) == 0) {
            parse_assigned(c, line + 9);
        } else if (strncmp(line, "REVOKED", 7) == 0) {
            memset(c->assigned, 0, sizeof(c->assigned));
        } else if (strncmp(line, "MSG ", 4) == 0 && c->msg_cnt < MAX_MSGS) {
            char key[48];
            int i = c->msg_cnt;

            if (sscanf(line + 4, "%d %lld %47s %47s", &c->part[i], &c->offset[i], key,
                       c->value[i]) == 4)
                c->msg_cnt++;
        } else if (strncmp(line, "DONE", 4) == 0) {
            c->done = 1;
        }
    }
}

static int owned_count(const consumer_t *c)
{
    int i, n = 0;

    for (i = 0; i < MAX_PARTS; i++)
        n += c->assigned[i];
    return n;
}

/* Polls consumers until cond(ctx) holds or the deadline passes. Returns 1 when it holds. */
static int wait_until(consumer_t **cs, int ncs, int (*cond)(consumer_t **cs), long timeout_ms)
{
    long long deadline = dp_test_now_ms() + scaled(timeout_ms);
    int i;

    for (;;) {
        for (i = 0; i < ncs; i++)
            pump(cs[i], 20);
        if (cond(cs))
            return 1;
        if (dp_test_now_ms() >= deadline)
            return 0;
    }
}

/* kcat produces `count` keyed messages "k<prefix><i>:<prefix><i>". Returns its exit status. */
static int produce(dp_kafka_fixture_t *kf, const char *topic, const char *prefix, int count)
{
    char cmd[1024];
    char *argv[] = {(char *)"/bin/sh", (char *)"-c", cmd, NULL};

    snprintf(cmd, sizeof(cmd),
             "i=0; while [ $i -lt %d ]; do echo \"k%s$i:%s$i\"; i=$((i+1)); done | "
             "%s -P -b %s -t %s -K:",
             count, prefix, prefix, KCAT, kf->bootstrap, topic);
    return dp_proc_run(argv, NULL, 0, scaled(20000));
}

/* Counts messages of c whose value starts with prefix; fails on a duplicate. */
static int count_prefix(const consumer_t *c, const char *prefix, int *dups)
{
    int i, j, n = 0;

    for (i = 0; i < c->msg_cnt; i++) {
        if (strncmp(c->value[i], prefix, strlen(prefix)) != 0)
            continue;
        n++;
        for (j = 0; j < i; j++)
            *dups += strcmp(c->value[i], c->value[j]) == 0;
    }
    return n;
}

/* ---------------------------------------------------------------------------------------
 * Group split and takeover
 * ------------------------------------------------------------------------------------- */

static int a_owns_all(consumer_t **cs)
{
    return owned_count(cs[0]) == 6;
}

static int split_between_two(consumer_t **cs)
{
    int i;

    if (owned_count(cs[0]) == 0 || owned_count(cs[1]) == 0)
        return 0;
    for (i = 0; i < 6; i++) {
        if (cs[0]->assigned[i] + cs[1]->assigned[i] != 1)
            return 0;
    }
    return 1;
}

static int both_got_batch1(consumer_t **cs)
{
    int dups = 0;

    return count_prefix(cs[0], "one-", &dups) + count_prefix(cs[1], "one-", &dups) >= 60;
}

static int a_got_batch2(consumer_t **cs)
{
    int dups = 0;

    return count_prefix(cs[0], "two-", &dups) >= 60;
}

/* Every message a consumer received came from a partition it owned at the end of the split. */
static int msgs_in_owned(const consumer_t *c, const int *owned, const char *prefix)
{
    int i;

    for (i = 0; i < c->msg_cnt; i++) {
        if (strncmp(c->value[i], prefix, strlen(prefix)) == 0 && !owned[c->part[i]])
            return 0;
    }
    return 1;
}

static void test_kafka_groups_split_then_takeover(void)
{
    const char *topics[] = {"grp:6", NULL};
    dp_kafka_fixture_t kf;
    consumer_t *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
    consumer_t *cs[2] = {a, b};
    int owned_a[MAX_PARTS], owned_b[MAX_PARTS], dups = 0, na, nb, rc;
    char loga[320], logb[320];
    long long t0;

    DP_ASSERT_FATAL_MSG(a && b && dp_kafka_fixture_start(&kf, 3, topics) == 0,
                        "expected the mock to start");
    a->proc.out_fd = b->proc.out_fd = -1;
    snprintf(loga, sizeof(loga), "%s/consumer-a.log", kf.dir);
    snprintf(logb, sizeof(logb), "%s/consumer-b.log", kf.dir);
    if (!DP_ASSERT_MSG(start_consumer(a, &kf, "g-split", "grp", NULL, loga) == 0,
                       "expected consumer A to start"))
        goto out;
    DP_ASSERT_MSG(wait_until(cs, 1, a_owns_all, 20000), "expected A to own 6 partitions, got %d",
                  owned_count(a));
    t0 = dp_test_now_ms();
    if (!DP_ASSERT_MSG(start_consumer(b, &kf, "g-split", "grp", NULL, logb) == 0,
                       "expected consumer B to start"))
        goto out;
    DP_ASSERT_MSG(wait_until(cs, 2, split_between_two, 25000),
                  "expected A and B to split 6 partitions, got A=%d B=%d", owned_count(a),
                  owned_count(b));
    fprintf(stderr, "  split after %lld ms: A=%d B=%d partitions\n", dp_test_now_ms() - t0,
            owned_count(a), owned_count(b));
    memcpy(owned_a, a->assigned, sizeof(owned_a));
    memcpy(owned_b, b->assigned, sizeof(owned_b));

    rc = produce(&kf, "grp", "one-", 60);
    DP_ASSERT_MSG(rc == 0, "expected kcat -P to exit 0, got %d", rc);
    DP_ASSERT_MSG(wait_until(cs, 2, both_got_batch1, 20000),
                  "expected 60 messages between A and B, got %d", a->msg_cnt + b->msg_cnt);
    na = count_prefix(a, "one-", &dups);
    nb = count_prefix(b, "one-", &dups);
    DP_ASSERT_MSG(na + nb == 60 && dups == 0, "expected 60 distinct, got A=%d B=%d dups=%d", na, nb,
                  dups);
    DP_ASSERT_MSG(na > 0 && nb > 0, "expected both to consume, got A=%d B=%d", na, nb);
    DP_ASSERT_MSG(msgs_in_owned(a, owned_a, "one-") && msgs_in_owned(b, owned_b, "one-"),
                  "expected each consumer to read only its own partitions");

    t0 = dp_test_now_ms();
    rc = dp_proc_stop(&b->proc, scaled(15000));
    DP_ASSERT_MSG(rc == 0, "expected consumer B to exit 0 on SIGTERM, got %d", rc);
    DP_ASSERT_MSG(wait_until(cs, 1, a_owns_all, 25000),
                  "expected A to take over all 6 partitions, got %d", owned_count(a));
    fprintf(stderr, "  takeover after %lld ms\n", dp_test_now_ms() - t0);
    rc = produce(&kf, "grp", "two-", 60);
    DP_ASSERT_MSG(rc == 0, "expected kcat -P to exit 0, got %d", rc);
    DP_ASSERT_MSG(wait_until(cs, 1, a_got_batch2, 20000),
                  "expected A to consume all 60 later messages, got %d",
                  count_prefix(a, "two-", &dups));
    dups = 0;
    DP_ASSERT_MSG(count_prefix(a, "two-", &dups) == 60 && dups == 0,
                  "expected 60 distinct later messages, got dups=%d", dups);
out:
    rc = dp_proc_stop(&a->proc, scaled(15000));
    DP_ASSERT_MSG(rc == 0, "expected consumer A to exit 0, got %d", rc);
    dp_proc_stop(&b->proc, scaled(15000));
    dp_kafka_fixture_stop(&kf);
    DP_ASSERT_MSG(kf.exit_status == 0, "expected the mock to exit 0, got %d", kf.exit_status);
    free(a);
    free(b);
}

/* ---------------------------------------------------------------------------------------
 * Committed offsets survive a consumer restart
 * ------------------------------------------------------------------------------------- */

static int first_done(consumer_t **cs)
{
    return cs[0]->done;
}

static int second_got_rest(consumer_t **cs)
{
    return cs[0]->msg_cnt >= 30 - 12;
}

static void test_kafka_groups_resume_at_committed_offset(void)
{
    const char *topics[] = {"res:3", NULL};
    dp_kafka_fixture_t kf;
    consumer_t *c1 = calloc(1, sizeof(*c1)), *c2 = calloc(1, sizeof(*c2));
    long long next[3] = {0, 0, 0};
    int seen[30], i, p, rc, dups = 0;
    char log1[320], log2[320];

    DP_ASSERT_FATAL_MSG(c1 && c2 && dp_kafka_fixture_start(&kf, 3, topics) == 0,
                        "expected the mock to start");
    c1->proc.out_fd = c2->proc.out_fd = -1;
    snprintf(log1, sizeof(log1), "%s/consumer-1.log", kf.dir);
    snprintf(log2, sizeof(log2), "%s/consumer-2.log", kf.dir);
    rc = produce(&kf, "res", "m-", 30);
    DP_ASSERT_MSG(rc == 0, "expected kcat -P to exit 0, got %d", rc);

    /* First process: consume 12, committing each, then leave. */
    if (!DP_ASSERT_MSG(start_consumer(c1, &kf, "g-res", "res", "12", log1) == 0,
                       "expected consumer 1 to start"))
        goto out;
    DP_ASSERT_MSG(wait_until(&c1, 1, first_done, 25000) && c1->msg_cnt == 12,
                  "expected consumer 1 to stop after 12 messages, got %d (done=%d)", c1->msg_cnt,
                  c1->done);
    rc = dp_proc_wait(&c1->proc, scaled(15000));
    DP_ASSERT_MSG(rc == 0, "expected consumer 1 to exit 0, got %d", rc);
    for (i = 0; i < c1->msg_cnt; i++) {
        p = c1->part[i];
        if (p >= 0 && p < 3 && c1->offset[i] + 1 > next[p])
            next[p] = c1->offset[i] + 1;
    }

    /* Second process, same group: must start exactly at the committed offsets. */
    if (!DP_ASSERT_MSG(start_consumer(c2, &kf, "g-res", "res", NULL, log2) == 0,
                       "expected consumer 2 to start"))
        goto out;
    DP_ASSERT_MSG(wait_until(&c2, 1, second_got_rest, 25000),
                  "expected consumer 2 to get the other 18 messages, got %d", c2->msg_cnt);
    pump(c2, 300); /* a repeat would show up right behind the rest */
    DP_ASSERT_MSG(c2->msg_cnt == 18, "expected exactly 18 messages in run 2, got %d", c2->msg_cnt);
    for (p = 0; p < 3; p++) {
        long long first = -1;

        for (i = 0; i < c2->msg_cnt; i++) {
            if (c2->part[i] == p && (first < 0 || c2->offset[i] < first))
                first = c2->offset[i];
        }
        DP_ASSERT_MSG(first < 0 || first == next[p],
                      "partition %d: expected run 2 to start at committed offset %lld, got %lld", p,
                      next[p], first);
    }
    memset(seen, 0, sizeof(seen));
    for (i = 0; i < c1->msg_cnt + c2->msg_cnt; i++) {
        const char *v = i < c1->msg_cnt ? c1->value[i] : c2->value[i - c1->msg_cnt];
        long long n = -1;

        if (dp_test_parse_ll(v + 2, "", &n) < 0)
            n = -1; /* not one of ours: counted as missing below */

        if (n >= 0 && n < 30)
            dups += seen[n]++ > 0;
    }
    for (i = 0, rc = 0; i < 30; i++)
        rc += seen[i] == 1;
    DP_ASSERT_MSG(rc == 30 && dups == 0,
                  "expected each of 30 messages exactly once over both runs, got %d once, "
                  "%d repeats",
                  rc, dups);
    rc = count_prefix(c2, "m-", &dups);
    DP_ASSERT_MSG(rc == 18, "expected 18 m- messages in run 2, got %d", rc);
out:
    dp_proc_stop(&c1->proc, scaled(15000));
    rc = dp_proc_stop(&c2->proc, scaled(15000));
    DP_ASSERT_MSG(rc == 0, "expected consumer 2 to exit 0, got %d", rc);
    dp_kafka_fixture_stop(&kf);
    DP_ASSERT_MSG(kf.exit_status == 0, "expected the mock to exit 0, got %d", kf.exit_status);
    free(c1);
    free(c2);
}

static const dp_test_case_t cases[] = {
    {"test_kafka_groups_split_then_takeover", test_kafka_groups_split_then_takeover},
    {"test_kafka_groups_resume_at_committed_offset", test_kafka_groups_resume_at_committed_offset},
    {NULL, NULL},
};

static const dp_test_suite_t suites[] = {
    {"kafka_groups", NULL, NULL, cases},
    {NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
    FILE *f = fopen(KCAT, "r");

    if (!f) {
        fprintf(stderr, "SKIP: %s not installed\n", KCAT);
        return 0;
    }
    fclose(f);
    return dp_test_main(argc, argv, suites);
}
