/*
 * httpd: the worker's small HTTP port (libmicrohttpd, its own thread):
 *   GET /metrics  the Prometheus exposition of metrics.h (text format 0.0.4)
 *   GET /healthz  200 "ok" while health.h says live, else 503 with the reason
 *   GET /readyz   200 "ok" while health.h says ready, else 503 with the reason
 * Anything else is 404 (405 for a method other than GET or HEAD).
 *
 * The server reads only the metrics registry and the health state, never the
 * worker's own structures, so a stuck worker cannot stall a probe and a probe
 * cannot disturb the worker.
 *
 * Thread: dp_httpd_start/stop from the main thread; requests are served on
 * libmicrohttpd's internal thread.
 */
#ifndef DP_HTTPD_H
#define DP_HTTPD_H

#include "core/err.h"

typedef struct dp_httpd dp_httpd_t;

/* Binds listen ("host:port", ":port", "[v6addr]:port"; port 0 picks a free
 * port) and starts serving. Returns new (stop with dp_httpd_stop), or NULL
 * with err: DP_EINVAL (unparsable address) or DP_EIO (cannot bind: the
 * message names the address). */
dp_httpd_t *dp_httpd_start(const char *listen, dp_err_t *err);

/* The port actually bound (useful after port 0). */
int dp_httpd_port(const dp_httpd_t *httpd);

/* Stops the thread, closes the socket and frees httpd. NULL is a no-op. */
void dp_httpd_stop(dp_httpd_t *httpd);

#endif
