/*
 * dp-kafka-test-consumer: a balanced consumer process for the Kafka mock's integration tests
 * (test_kafka_groups.c). It joins a group, prints what happens as lines on stdout (flushed at
 * once so the test can wait for them) and exits 0 after a clean rd_kafka_consumer_close().
 *
 *   dp-kafka-test-consumer -b BOOTSTRAP -g GROUP -t TOPIC [-n MAX] [-c]
 *
 *   ASSIGNED 0,1,2     after each assignment ("ASSIGNED -" when empty)
 *   REVOKED            before the assignment is given up
 *   MSG P O KEY VALUE  one per message
 *   COMMITTED P O      after a synchronous commit of next offset O (with -c)
 *   DONE N             when stopping, N messages consumed
 *
 * -c commits offset+1 synchronously after every message; -n stops after MAX messages.
 * SIGTERM/SIGINT stop it too. Offsets are never committed automatically.
 */
#include "kafka_fixture.h"

#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct opts {
    const char *bootstrap;
    const char *group;
    const char *topic;
    long max;
    int commit;
} opts_t;

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void print_assignment(const rd_kafka_topic_partition_list_t *parts)
{
    int i;

    printf("ASSIGNED ");
    if (parts->cnt == 0)
        printf("-");
    for (i = 0; i < parts->cnt; i++)
        printf("%s%d", i ? "," : "", (int)parts->elems[i].partition);
    printf("\n");
    fflush(stdout);
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        rd_kafka_assign(rk, parts);
        print_assignment(parts);
    } else {
        printf("REVOKED\n");
        fflush(stdout);
        rd_kafka_assign(rk, NULL);
    }
}

static rd_kafka_t *make_consumer(const opts_t *o)
{
    const char *const *kv = dp_kafka_fixture_client_conf();
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char errstr[512];
    rd_kafka_t *rk;
    size_t i;
    const char *const own[] = {"bootstrap.servers",
                               o->bootstrap,
                               "group.id",
                               o->group,
                               "enable.auto.commit",
                               "false",
                               "enable.auto.offset.store",
                               "false",
                               "auto.offset.reset",
                               "earliest",
                               "partition.assignment.strategy",
                               "range",
                               NULL,
                               NULL};

    for (i = 0; kv[i]; i += 2) {
        if (!dp_kafka_fixture_client_conf_applies(kv[i], 1))
            continue;
        if (rd_kafka_conf_set(conf, kv[i], kv[i + 1], errstr, sizeof(errstr)))
            goto fail;
    }
    for (i = 0; own[i]; i += 2) {
        if (rd_kafka_conf_set(conf, own[i], own[i + 1], errstr, sizeof(errstr)))
            goto fail;
    }
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (!rk)
        goto fail;
    rd_kafka_poll_set_consumer(rk);
    return rk;
fail:
    fprintf(stderr, "test consumer: %s\n", errstr);
    rd_kafka_conf_destroy(conf);
    return NULL;
}

static int commit_next(rd_kafka_t *rk, const rd_kafka_message_t *m)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_resp_err_t err;

    rd_kafka_topic_partition_list_add(list, rd_kafka_topic_name(m->rkt), m->partition)->offset =
        m->offset + 1;
    err = rd_kafka_commit(rk, list, 0);
    rd_kafka_topic_partition_list_destroy(list);
    if (err) {
        fprintf(stderr, "test consumer: commit: %s\n", rd_kafka_err2str(err));
        return -1;
    }
    printf("COMMITTED %d %lld\n", (int)m->partition, (long long)m->offset + 1);
    return 0;
}

static int consume_loop(rd_kafka_t *rk, const opts_t *o)
{
    long count = 0;

    while (!stop_flag && (o->max <= 0 || count < o->max)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);

        if (!m)
            continue;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                fprintf(stderr, "test consumer: %s\n", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        printf("MSG %d %lld %.*s %.*s\n", (int)m->partition, (long long)m->offset, (int)m->key_len,
               m->key ? (const char *)m->key : "", (int)m->len,
               m->payload ? (const char *)m->payload : "");
        count++;
        if (o->commit && commit_next(rk, m) < 0) {
            rd_kafka_message_destroy(m);
            return -1;
        }
        fflush(stdout);
        rd_kafka_message_destroy(m);
    }
    printf("DONE %ld\n", count);
    fflush(stdout);
    return 0;
}

static int parse_opts(int argc, char **argv, opts_t *o)
{
    int c;
    char *end = NULL;

    while ((c = getopt(argc, argv, "b:g:t:n:c")) != -1) {
        switch (c) {
        case 'b':
            o->bootstrap = optarg;
            break;
        case 'g':
            o->group = optarg;
            break;
        case 't':
            o->topic = optarg;
            break;
        case 'c':
            o->commit = 1;
            break;
        case 'n':
            errno = 0;
            o->max = strtol(optarg, &end, 10);
            if (errno || *end || o->max < 0)
                return -1;
            break;
        default:
            return -1;
        }
    }
    return o->bootstrap && o->group && o->topic ? 0 : -1;
}

int main(int argc, char **argv)
{
    opts_t o;
    rd_kafka_t *rk = NULL;
    rd_kafka_topic_partition_list_t *sub = NULL;
    struct sigaction sa;
    int rc = 1;

    memset(&o, 0, sizeof(o));
    if (parse_opts(argc, argv, &o) < 0) {
        fprintf(stderr, "usage: dp-kafka-test-consumer -b BOOTSTRAP -g GROUP -t TOPIC "
                        "[-n MAX] [-c]\n");
        return 2;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    rk = make_consumer(&o);
    if (!rk)
        goto out;
    sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, o.topic, RD_KAFKA_PARTITION_UA);
    if (rd_kafka_subscribe(rk, sub)) {
        fprintf(stderr, "test consumer: subscribe failed\n");
        goto out;
    }
    rc = consume_loop(rk, &o) < 0 ? 1 : 0;
    rd_kafka_consumer_close(rk);
out:
    if (sub)
        rd_kafka_topic_partition_list_destroy(sub);
    if (rk)
        rd_kafka_destroy(rk);
    return rc;
}
