/*
 * dbx/http: the Databricks client handle and its HTTP transport.
 *
 * A dp_dbx_client_t owns one libcurl easy handle, reused for every call so
 * that connections stay alive, plus the retry instance (retry.h) that
 * decides what is tried again. Every call is TLS-verified for https; plain
 * http is accepted only when the configuration says allow_insecure_http,
 * and the client logs one warning when it is created that way. Response
 * bodies are bounded; the Authorization header and tokens are never logged.
 * One client is used by one thread at a time (the loader thread); the
 * credential callback it calls may be shared (oauth.h is thread-safe).
 */
#ifndef DP_DBX_HTTP_H
#define DP_DBX_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/retry.h"

typedef struct dp_dbx_client dp_dbx_client_t;

/* Credential callback, called before every attempt. Writes a whole header
 * line ("Authorization: Bearer ...") into header (size len). rejected is
 * NULL normally; after a 401 it is the header line that was refused, and the
 * callback must then return a different credential (refresh) if it can.
 * Returns 0 or a DP_E* code with err filled. Thread: any caller. */
typedef int (*dp_dbx_auth_fn)(void *ctx, const char *rejected, char *header, size_t len,
                              dp_err_t *err);

/* Called while the client waits (between retries, while a statement runs),
 * at least once a second, so the caller can beat its heartbeat. */
typedef void (*dp_dbx_liveness_fn)(void *ctx);

/* Client settings; strings are copied. Zero fields take the defaults. */
typedef struct dp_dbx_config {
    const char *host;              /* "https://adb-1.2.azuredatabricks.net" (required) */
    int allow_insecure_http;       /* accept an http:// host (the local emulator) */
    const char *ca_file;           /* PEM bundle for https, NULL = system store */
    const char *ca_setting;        /* the setting that names ca_file, for TLS error
                                    * messages [databricks.ca_file] */
    long connect_timeout_ms;       /* [10000] */
    long request_timeout_ms;       /* whole transfer of one attempt [300000] */
    size_t max_response_bytes;     /* [16 MiB]; larger bodies fail with DP_ETOOBIG */
    const char *warehouse_id;      /* SQL warehouse for sql.h, may be NULL otherwise */
    dp_retry_policy_t retry;       /* see retry.h */
    uint64_t retry_seed;           /* 0 = seed from /dev/urandom */
    const dp_retry_clock_t *clock; /* NULL = real monotonic clock and sleep */
    dp_dbx_auth_fn auth;           /* NULL = unauthenticated (token endpoint) */
    void *auth_ctx;
    dp_dbx_liveness_fn liveness; /* may be NULL */
    void *liveness_ctx;
} dp_dbx_config_t;

/* Creates a client. Fails with DP_EINVAL when host is missing, is not
 * https:// (nor http:// with allow_insecure_http), or the CA file cannot be
 * read. Returns new (free with dp_dbx_client_destroy) or NULL with err set.
 * Thread: any. */
dp_dbx_client_t *dp_dbx_client_new(const dp_dbx_config_t *cfg, dp_err_t *err);

/* Frees the client; NULL is a no-op. */
void dp_dbx_client_destroy(dp_dbx_client_t *client);

/* Calls made by this client since creation (every attempt counts). */
long dp_dbx_client_attempts(const dp_dbx_client_t *client);

/* The client's scheme://authority (no trailing '/'), owned by the client. */
const char *dp_dbx_client_host(const dp_dbx_client_t *client);

/* Milliseconds on the client's retry clock (a test clock when one is set). */
long long dp_dbx_client_now_ms(const dp_dbx_client_t *client);

/* Logical calls made by this client since creation, by kind (a call that
 * was retried counts once): what a load costs in round trips. */
typedef enum {
    DP_DBX_CALL_STATEMENT = 0,  /* POST /api/2.0/sql/statements (a statement submitted) */
    DP_DBX_CALL_STATEMENT_POLL, /* GET or cancel of a submitted statement, result chunks */
    DP_DBX_CALL_FILES_WRITE,    /* PUT of a file */
    DP_DBX_CALL_FILES_READ,     /* GET or HEAD of a file */
    DP_DBX_CALL_FILES_LIST,     /* GET of a directory page */
    DP_DBX_CALL_FILES_DELETE,   /* DELETE of a file or directory */
    DP_DBX_CALL_FILES_MKDIR,    /* PUT of a directory */
    DP_DBX_CALL_TOKEN,          /* OAuth token request */
    DP_DBX_CALL_ZEROBUS,        /* POST of a Zerobus Ingest insert (zerobus.h) */
    DP_DBX_CALL_OTHER,
    DP_DBX_CALL_COUNT_
} dp_dbx_call_kind_t;

typedef struct dp_dbx_counts {
    long calls[DP_DBX_CALL_COUNT_];
} dp_dbx_counts_t;

/* Copies the client's counters into out. Thread: the client's thread. */
void dp_dbx_client_counts(const dp_dbx_client_t *client, dp_dbx_counts_t *out);

/* Name of a kind ("statement", "files_write", ...), static. */
const char *dp_dbx_call_kind_name(dp_dbx_call_kind_t kind);

/* One logical request; every pointer borrowed for the call. */
typedef struct dp_dbx_request {
    const char *method;       /* GET, HEAD, PUT, POST, DELETE */
    const char *path;         /* already encoded, '/'-rooted, may carry "?query" */
    const char *content_type; /* set when body is sent */
    const void *body;         /* may be NULL with body_len 0 */
    size_t body_len;
    const char *auth_header;     /* fixed header line replacing client->auth (OAuth Basic) */
    int idempotent;              /* 1: 500/502/504 are retried */
    const long *accept;          /* extra final statuses (0-terminated), e.g. 409 */
    const char *what;            /* "upload /Volumes/c/s/v/f", for logs and errors */
    dp_retry_object_t object;    /* for grant messages */
    dp_dbx_liveness_fn liveness; /* overrides the client's while this call waits */
    void *liveness_ctx;
} dp_dbx_request_t;

/* The final response. body is new (NUL-terminated), freed by
 * dp_dbx_response_clear. */
typedef struct dp_dbx_response {
    long status;
    char *body;
    size_t body_len;
    char request_id[128];
    long retry_after_ms;      /* -1 when absent */
    long long content_length; /* -1 when absent */
    int attempts;
    char error_code[64]; /* from a JSON error body, "" otherwise */
    char message[384];
} dp_dbx_response_t;

/* Runs req with the client's retry policy: calls the credential callback
 * before each attempt, and on 401 forces exactly one refresh then one retry.
 * Returns 0 when the final status is 2xx or listed in req->accept (resp
 * filled, caller clears it); otherwise the classified DP_E* code with err
 * filled (resp holds the last response). Thread: the client's thread. */
int dp_dbx_call(dp_dbx_client_t *client, const dp_dbx_request_t *req, dp_dbx_response_t *resp,
                dp_err_t *err);

/* Frees resp->body and zeroes resp. NULL is a no-op. */
void dp_dbx_response_clear(dp_dbx_response_t *resp);

#endif
