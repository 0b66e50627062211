/*
 * deltaport-kafka-mock: an embedded Kafka cluster for the demo and the integration tests,
 * built on librdkafka 2.0.2's mock cluster (docs/KAFKA_MOCK.md).
 *
 *   deltaport-kafka-mock [--brokers N] [--topic NAME:PARTITIONS]... [--bootstrap-file PATH]
 *                        [--control PATH]
 *   deltaport-kafka-mock ctl SOCKET_PATH COMMAND [ARGS...]
 *
 * Start-up order is the readiness contract: cluster, topics, control socket, bootstrap file,
 * and only then the one "BOOTSTRAP host:port,..." line on stdout. Whoever sees that line (or
 * the bootstrap file) can use every part at once. SIGTERM, SIGINT and the quit command end
 * the program with exit status 0 after releasing everything; the control socket and the
 * bootstrap file are removed so that a later reader never mistakes them for a live cluster.
 */
#include "kmock.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KM_MAX_TOPICS 64

typedef struct opts {
    int brokers;
    int topic_cnt;
    char *topics[KM_MAX_TOPICS]; /* "NAME:PARTITIONS", borrowed from argv */
    const char *bootstrap_file;
    const char *control;
} opts_t;

static int sig_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    int saved = errno;
    char c = (char)sig;

    /* Only async-signal-safe work: wake the poll loop. */
    if (write(sig_pipe[1], &c, 1) < 0) {
        /* the pipe is full: a wake-up is already pending */
    }
    errno = saved;
}

static int setup_signals(void)
{
    struct sigaction sa;

    if (pipe(sig_pipe) < 0 || fcntl(sig_pipe[1], F_SETFL, O_NONBLOCK) < 0)
        return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0)
        return -1;
    sa.sa_handler = SIG_IGN;
    return sigaction(SIGPIPE, &sa, NULL);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: deltaport-kafka-mock [--brokers N] [--topic NAME:PARTITIONS]...\n"
               "                            [--bootstrap-file PATH] [--control PATH]\n"
               "       deltaport-kafka-mock ctl SOCKET_PATH COMMAND [ARGS...]\n"
               "See docs/KAFKA_MOCK.md for the control commands.\n");
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end = NULL;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* Returns 0, 1 for --help, or -1 after printing the problem. */
static int parse_opts(int argc, char **argv, opts_t *o)
{
    long v;
    int i;

    o->brokers = 3;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return 1;
        if (!val) {
            fprintf(stderr, "kafka-mock: %s: missing value or unknown option\n", a);
            return -1;
        }
        if (strcmp(a, "--brokers") == 0) {
            if (parse_int(val, 1, KM_MAX_BROKERS, &v) < 0) {
                fprintf(stderr, "kafka-mock: --brokers %s: expected 1..%d\n", val, KM_MAX_BROKERS);
                return -1;
            }
            o->brokers = (int)v;
        } else if (strcmp(a, "--topic") == 0) {
            if (o->topic_cnt == KM_MAX_TOPICS) {
                fprintf(stderr, "kafka-mock: more than %d --topic\n", KM_MAX_TOPICS);
                return -1;
            }
            o->topics[o->topic_cnt++] = argv[i + 1];
        } else if (strcmp(a, "--bootstrap-file") == 0) {
            o->bootstrap_file = val;
        } else if (strcmp(a, "--control") == 0) {
            o->control = val;
        } else {
            fprintf(stderr, "kafka-mock: unknown option %s\n", a);
            return -1;
        }
        i++;
    }
    return 0;
}

/* Creates one "NAME:PARTITIONS" topic. Returns 0 or -1 after printing the problem. */
static int create_topic(km_t *km, const char *spec)
{
    char name[512], why[256];
    const char *colon = strrchr(spec, ':');
    size_t nlen;
    long parts;

    if (!colon || colon == spec || parse_int(colon + 1, 1, 100000, &parts) < 0) {
        fprintf(stderr, "kafka-mock: --topic %s: expected NAME:PARTITIONS (1..100000)\n", spec);
        return -1;
    }
    nlen = (size_t)(colon - spec);
    if (nlen >= sizeof(name)) {
        fprintf(stderr, "kafka-mock: --topic %s: name too long\n", spec);
        return -1;
    }
    memcpy(name, spec, nlen);
    name[nlen] = '\0';
    if (km_topic_create(km, name, (int)parts, why, sizeof(why)) < 0) {
        fprintf(stderr, "kafka-mock: topic %s: %s\n", name, why);
        return -1;
    }
    return 0;
}

/* Writes "bootstrap\n" to path through a temporary file and rename(), so a reader sees
 * either no file or the whole line. Returns 0 or -1 after printing the problem. */
static int write_bootstrap_file(const char *path, const char *bootstrap)
{
    char tmp[4096];
    FILE *f;
    int ok;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp)) {
        fprintf(stderr, "kafka-mock: bootstrap file path too long\n");
        return -1;
    }
    f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "kafka-mock: %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    ok = fprintf(f, "%s\n", bootstrap) > 0;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) < 0) {
        fprintf(stderr, "kafka-mock: writing %s: %s\n", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int run(const opts_t *o)
{
    km_t km;
    char errstr[512];
    int listen_fd = -1, rc = 1, i;

    memset(&km, 0, sizeof(km));
    if (o->bootstrap_file)
        unlink(o->bootstrap_file); /* never leave a previous run's list visible */
    if (km_cluster_create(&km, o->brokers, errstr, sizeof(errstr)) < 0) {
        fprintf(stderr, "kafka-mock: %s\n", errstr);
        goto out;
    }
    for (i = 0; i < o->topic_cnt; i++) {
        if (create_topic(&km, o->topics[i]) < 0)
            goto out;
    }
    if (o->control && (listen_fd = km_server_open(o->control, errstr, sizeof(errstr))) < 0) {
        fprintf(stderr, "kafka-mock: %s\n", errstr);
        goto out;
    }
    if (o->bootstrap_file && write_bootstrap_file(o->bootstrap_file, km.bootstrap) < 0)
        goto out;
    printf("BOOTSTRAP %s\n", km.bootstrap);
    fflush(stdout);
    fprintf(stderr, "kafka-mock: %d brokers at %s, %d topics, control %s\n", o->brokers,
            km.bootstrap, o->topic_cnt, o->control ? o->control : "(none)");
    if (km_server_run(&km, listen_fd, sig_pipe[0]) < 0)
        goto out;
    fprintf(stderr, "kafka-mock: shutting down\n");
    rc = 0;
out:
    if (listen_fd >= 0) {
        close(listen_fd);
        unlink(o->control);
    }
    if (o->bootstrap_file)
        unlink(o->bootstrap_file);
    km_cluster_destroy(&km);
    return rc;
}

int main(int argc, char **argv)
{
    opts_t o;
    int rc;

    if (argc >= 2 && strcmp(argv[1], "ctl") == 0) {
        if (argc < 4) {
            usage(stderr);
            return 2;
        }
        return km_ctl_main(argv[2], argc - 3, argv + 3);
    }
    memset(&o, 0, sizeof(o));
    rc = parse_opts(argc, argv, &o);
    if (rc != 0) {
        usage(rc > 0 ? stdout : stderr);
        return rc > 0 ? 0 : 2;
    }
    if (setup_signals() < 0) {
        fprintf(stderr, "kafka-mock: signals: %s\n", strerror(errno));
        return 1;
    }
    rc = run(&o);
    close(sig_pipe[0]);
    close(sig_pipe[1]);
    return rc;
}
