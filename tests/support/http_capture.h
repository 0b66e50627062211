/*
 * http_capture: a one-shot HTTP listener for unit tests that need to see
 * what a client puts on the wire. It listens on 127.0.0.1 (any free port),
 * accepts one connection on its own thread, keeps the bytes of one request
 * (headers and a Content-Length body), answers 200 with a JSON body, and
 * closes. Thread: start and finish on the test's thread.
 */
#ifndef DP_HTTP_CAPTURE_H
#define DP_HTTP_CAPTURE_H

#include <pthread.h>
#include <stddef.h>

typedef struct dp_http_capture {
    int fd;
    pthread_t thread;
    char url[64];          /* "http://127.0.0.1:PORT" */
    char reply_json[1024]; /* the 200 body */
    char request[16384];   /* what the client sent (NUL-terminated) */
    size_t len;
} dp_http_capture_t;

/* Starts listening; reply_json is copied. Returns 0 or -1. */
int dp_http_capture_start(dp_http_capture_t *cap, const char *reply_json);

/* Waits for the one request to be answered and closes the listener. After
 * it, cap->request holds the request. */
void dp_http_capture_finish(dp_http_capture_t *cap);

/* The request's body (after the blank line), or NULL. Borrowed from cap. */
const char *dp_http_capture_body(const dp_http_capture_t *cap);

#endif
