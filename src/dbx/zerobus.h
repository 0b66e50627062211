/*
 * dbx/zerobus: the Zerobus Ingest REST client (docs/DATABRICKS.md, "Zerobus
 * Ingest").
 *
 *   POST {endpoint}/zerobus/v1/tables/<catalog>.<schema>.<table>/insert
 *   Authorization: Bearer <token of that table>
 *   Content-Type: application/json
 *   body: a JSON array of row objects        -> 200 {} once the rows are durable
 *
 * The endpoint is the workspace's Zerobus server
 * (https://<workspace-id>.zerobus.<region>.cloud.databricks.com), not the
 * workspace host. A token is minted per table at the workspace's
 * /oidc/v1/token with the form fields resource =
 * api://databricks/workspaces/<workspace-id>/zerobusDirectWriteApi and
 * authorization_details = USE CATALOG, USE SCHEMA, SELECT and MODIFY on the
 * table's catalog, schema and table; it is cached and refreshed as the
 * warehouse token is (oauth.h: before expiry, and once after a 401).
 *
 * Transport: one sender thread owns a libcurl multi handle; every insert of
 * every caller goes through it, at most max_in_flight at once for the
 * process, as HTTP/2 streams on one connection (https; libcurl with
 * nghttp2) or over up to max_in_flight keep-alive HTTP/1.1 connections
 * (plain http, the emulator). Each insert follows the retry decision of
 * every Databricks call (dp_dbx_next() in http.c, src/core/retry.c's classes):
 * 429/503 honour Retry-After, transport errors and 5xx are retried with
 * backoff, a 401 refreshes the table's token once, other 4xx are final.
 *
 * Not idempotent: an insert whose answer was lost (a dropped connection, a
 * 500 after the service stored the rows) is sent again and its rows may be
 * stored twice. deltaport accepts that because every row carries its
 * lineage key (_incarnation, _kafka_topic, _kafka_partition, _kafka_offset)
 * and the table's view keeps one row per key (sink_zerobus.h): a retry only
 * risks a raw duplicate that readers of the view never see.
 *
 * Thread: dp_zerobus_send() is thread-safe (the loader's lanes and the
 * recovery thread call it at once); the sender thread is internal.
 */
#ifndef DP_DBX_ZEROBUS_H
#define DP_DBX_ZEROBUS_H

#include "core/err.h"
#include "core/retry.h"
#include "dbx/http.h"

#include <stddef.h>

typedef struct dp_zerobus dp_zerobus_t;

/* Strings are copied. */
typedef struct dp_zerobus_config {
    const char *endpoint;       /* scheme://host[:port] of the Zerobus server */
    const char *workspace_host; /* scheme://host[:port] of the workspace (token endpoint) */
    const char *workspace_id;   /* digits, named in the token's resource */
    const char *client_id;      /* service principal (OAuth M2M) */
    const char *client_secret;
    int allow_insecure_http; /* accept http:// (the emulator) */
    const char *ca_file;     /* NULL: the system CA bundle */
    long request_timeout_ms; /* one attempt [60000] */
    dp_retry_policy_t retry; /* zero fields: retry.h's defaults */
    size_t max_in_flight;    /* inserts in flight at once [8] */
} dp_zerobus_config_t;

/* Checks the hosts (https unless allow_insecure_http) and starts the sender
 * thread. No request is made. Returns new (dp_zerobus_destroy) or NULL with
 * err (DP_EINVAL). */
dp_zerobus_t *dp_zerobus_new(const dp_zerobus_config_t *cfg, dp_err_t *err);

/* Stops the sender (inserts still queued fail with DP_EAGAIN) and frees
 * everything; tokens and the secret are wiped. NULL is a no-op. No
 * dp_zerobus_send may be running. */
void dp_zerobus_destroy(dp_zerobus_t *zb);

/* One insert. The caller sets table, body and len; the rest is filled. */
typedef struct dp_zerobus_insert {
    const char *table; /* "catalog.schema.table", identifiers checked by tablename.h */
    const char *body;  /* JSON array of row objects, borrowed */
    size_t len;
    int rc;       /* out: 0 (acknowledged: durable) or a DP_E* code */
    dp_err_t err; /* out, when rc < 0 */
    long status;  /* out: the last HTTP status (0: none); 400 = the rows were refused */
    int attempts; /* out */
} dp_zerobus_insert_t;

/* Sends ins[0..n) and waits until each is acknowledged or failed, calling
 * beat(ctx) (may be NULL) at least every 500 ms. Each insert counts one
 * DP_DBX_CALL_ZEROBUS on count_on (the caller's own client, may be NULL) and
 * in /metrics. Returns the number of inserts whose rc is not 0.
 * Thread: any; inserts of several callers share the in-flight limit. */
size_t dp_zerobus_send(dp_zerobus_t *zb, dp_zerobus_insert_t *ins, size_t n,
                       dp_dbx_client_t *count_on, void (*beat)(void *ctx), void *ctx);

/* Token requests sent so far, all tables together (tests). Thread: any. */
long dp_zerobus_token_fetches(dp_zerobus_t *zb);

/* The resource and authorization_details form values of table
 * ("catalog.schema.table") into out buffers. Returns 0, or DP_EINVAL (not
 * three parts) / DP_ETOOBIG. Pure (unit-tested). */
int dp_zerobus_token_request(const char *workspace_id, const char *table, char *resource,
                             size_t rlen, char *details, size_t dlen, dp_err_t *err);

#endif
