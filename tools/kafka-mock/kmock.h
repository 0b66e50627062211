/*
 * kmock: internals shared by the files of deltaport-kafka-mock, the embedded Kafka broker
 * program built on librdkafka's mock cluster (docs/KAFKA_MOCK.md).
 *
 * The program owns one mock cluster (brokers on 127.0.0.1, random ports), an owner
 * rd_kafka_t it hangs off, and a lazily created client handle that talks to the mock over
 * TCP like any other client (used to read watermarks). Everything is in memory and dies
 * with the process. The control channel is a Unix stream socket served by a single-threaded
 * poll() loop: one command per line, exactly one reply line ("OK ..." or "ERR reason") per
 * command. Nothing a client sends may crash the program: every argument is parsed with
 * bounds and every failure becomes an ERR line.
 *
 * Nothing here is part of the deltaport library; names carry the km_ prefix.
 */
#ifndef KMOCK_H
#define KMOCK_H

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stddef.h>

#define KM_LINE_MAX    4096  /* longest command or reply line, newline included */
#define KM_MAX_ARGS    64    /* most whitespace-separated words in one command */
#define KM_MAX_BROKERS 32    /* most brokers one program runs */
#define KM_MAX_APIKEY  128   /* api keys tracked for per-broker error stacks (Kafka has < 100) */
#define KM_REPLY_MAX   65536 /* longest reply line (watermarks of many partitions) */

typedef struct km {
    rd_kafka_t *owner;           /* owns the mock cluster; never connects anywhere */
    rd_kafka_mock_cluster_t *mc; /* borrowed from owner's lifetime, destroyed first */
    rd_kafka_t *client;          /* consumer-type handle against the mock, NULL until used */
    char bootstrap[1024];        /* "127.0.0.1:port,..." */
    int brokers;                 /* broker count; broker ids are 1..brokers */
    int quit;                    /* set by the quit command */
    /* 1 once broker b got broker_push_errors for api key k: librdkafka 2.0.2 then serves
     * that broker's requests of k from its own stack only, ignoring cluster-wide errors. */
    unsigned char broker_stack[KM_MAX_BROKERS + 1][KM_MAX_APIKEY];
} km_t;

/*
 * Creates the owner handle and a mock cluster of `brokers` brokers and fills km->bootstrap.
 * km must be zeroed by the caller. Returns 0, or -1 with a reason in errstr.
 * Ownership: km owns what it creates; release with km_cluster_destroy() even on failure.
 * Thread: main.
 */
int km_cluster_create(km_t *km, int brokers, char *errstr, size_t errlen);

/* Destroys the client handle, the mock cluster and the owner handle (any may be missing).
 * Thread: main. */
void km_cluster_destroy(km_t *km);

/*
 * Creates topic `name` with `partitions` partitions (replication factor 1).
 * Returns 0, or -1 with the librdkafka error name in errstr.
 * Thread: main.
 */
int km_topic_create(km_t *km, const char *name, int partitions, char *errstr, size_t errlen);

/*
 * Runs one control command line (without its newline) and writes exactly one reply line
 * (without newline) into reply: "OK[ ...]" or "ERR reason". Never fails otherwise.
 * Thread: main (it may block up to a few seconds on watermark queries).
 */
void km_control_exec(km_t *km, const char *line, char *reply, size_t replylen);

/*
 * Writes "p0=LOW:HIGH p1=LOW:HIGH ..." for every partition of topic into out, asking the
 * mock over TCP through km's client handle (created on first use).
 * Returns 0, or -1 with a reason in out.
 * Thread: main.
 */
int km_watermarks(km_t *km, const char *topic, char *out, size_t outlen);

/*
 * Binds and listens on a Unix stream socket at path. A leftover socket file that nobody
 * answers on is replaced; one a live program answers on is an error.
 * Returns the listening fd (caller closes it and unlinks path), or -1 with errstr filled.
 * Thread: main.
 */
int km_server_open(const char *path, char *errstr, size_t errlen);

/*
 * Serves control connections on listen_fd (-1 for none) until a byte arrives on sig_fd or a
 * quit command has been answered. Closes the connections it accepted, not listen_fd.
 * Returns 0, or -1 when out of memory.
 * Thread: main.
 */
int km_server_run(km_t *km, int listen_fd, int sig_fd);

/*
 * The `ctl` sub-command: connects to the Unix socket at path, sends the words of argv
 * joined by single spaces as one command, prints the reply line on stdout.
 * Returns the process exit status: 0 for OK, 1 for ERR, 2 when no reply could be had.
 * Thread: main.
 */
int km_ctl_main(const char *path, int argc, char **argv);

#endif
