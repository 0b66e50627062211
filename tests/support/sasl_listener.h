/*
 * sasl_listener: a Kafka broker front that knows only authentication, for
 * tests that need librdkafka to really run SASL/PLAIN (librdkafka 2.0.2's
 * mock cluster has no SaslHandshake or SaslAuthenticate handler).
 *
 * It listens on 127.0.0.1 (any free port) on its own thread and answers, per
 * connection: ApiVersions (v0..v3, advertising ApiVersions, SaslHandshake
 * v0..v1, SaslAuthenticate v0..v1 and Metadata), SaslHandshake (PLAIN only)
 * and SaslAuthenticate, checking the PLAIN user and password against the
 * expected ones: a match is answered with success, anything else with
 * SASL_AUTHENTICATION_FAILED ("Authentication failed: Invalid username or
 * password"). The first request after that (Metadata) closes the connection,
 * so the client reconnects and authenticates again. It never logs what it
 * receives. Thread: start and stop on the test's thread; counters are read
 * with the helpers below.
 */
#ifndef DP_SASL_LISTENER_H
#define DP_SASL_LISTENER_H

#include <pthread.h>

typedef struct dp_sasl_listener {
    int fd;
    pthread_t thread;
    volatile int stop;
    int port;
    char bootstrap[64]; /* "127.0.0.1:PORT" */
    char user[128];
    char password[128];
    pthread_mutex_t mu;
    int connections; /* accepted */
    int handshakes;  /* SaslHandshake requests for PLAIN */
    int auth_ok;     /* SaslAuthenticate with the expected user and password */
    int auth_failed; /* SaslAuthenticate with anything else */
} dp_sasl_listener_t;

/* Starts listening for PLAIN user/password (copied). Returns 0 or -1. */
int dp_sasl_listener_start(dp_sasl_listener_t *l, const char *user, const char *password);

/* Stops the thread and closes everything. Safe twice. */
void dp_sasl_listener_stop(dp_sasl_listener_t *l);

/* Counters, read under the lock. */
void dp_sasl_listener_counts(dp_sasl_listener_t *l, int *handshakes, int *auth_ok,
                             int *auth_failed);

#endif
