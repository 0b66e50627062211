/*
 * dbx_int: internals shared by the files of src/dbx/ only.
 * Nothing outside src/dbx/ includes this header, except the unit tests of
 * the pure helpers declared at the end.
 *
 * dp_dbx_call() (declared in http.h) is the one retry loop of the project:
 * every HTTP call (token, files, statements, schema registry) goes through it.
 */
#ifndef DP_DBX_INT_H
#define DP_DBX_INT_H

#include <curl/curl.h>
#include <jansson.h>
#include <stddef.h>

#include "core/err.h"
#include "core/retry.h"
#include "dbx/files.h"
#include "dbx/http.h"

struct dp_dbx_client {
    CURL *curl;
    char *host;                       /* scheme://authority, no trailing '/' */
    char *ca_file;                    /* NULL = system store */
    const char *ca_setting;           /* static: the setting naming ca_file, for messages */
    char curl_error[CURL_ERROR_SIZE]; /* libcurl's detail of the last failed attempt */
    long connect_timeout_ms;
    long request_timeout_ms;
    size_t max_response_bytes;
    char *warehouse_id;
    dp_retry_t *retry;
    dp_dbx_auth_fn auth;
    void *auth_ctx;
    dp_dbx_liveness_fn liveness;
    void *liveness_ctx;
    long attempts;
    dp_dbx_counts_t counts; /* logical calls by kind */
};

/* One attempt whose transfer the caller drives itself (zerobus.c runs
 * several at once on a curl multi handle): dp_dbx_attempt_setup() sets the
 * easy handle up exactly as dp_dbx_call() does for its own (URL on the
 * client's host, TLS rules, timeouts, bounded body, headers with the
 * credential line); after the transfer, dp_dbx_attempt_finish() fills the
 * response (status, Content-Length, error body) and wipes and frees the
 * headers. The caller may set more options between the two (HTTP/2). */
typedef struct dp_dbx_attempt {
    dp_dbx_response_t *resp;
    size_t cap;
    size_t max;
    int too_big; /* the body passed max_response_bytes */
    dp_dbx_liveness_fn liveness;
    void *liveness_ctx;
    long long last_beat_ms;
    struct curl_slist *headers; /* owned between setup and finish */
    char *url;                  /* owned between setup and finish */
} dp_dbx_attempt_t;

void dp_dbx_attempt_setup(dp_dbx_client_t *client, CURL *curl, const dp_dbx_request_t *req,
                          const char *auth_line, dp_dbx_response_t *resp, dp_dbx_attempt_t *a);
void dp_dbx_attempt_finish(CURL *curl, dp_dbx_attempt_t *a, int curl_rc);

/* What follows an attempt. */
typedef enum {
    DP_DBX_NEXT_DONE = 0, /* final success (2xx or an accepted status) */
    DP_DBX_NEXT_REFRESH,  /* 401: fetch a new credential once, then try again at once */
    DP_DBX_NEXT_RETRY,    /* retryable: try again after *delay_ms */
    DP_DBX_NEXT_FAIL      /* permanent, or the policy is exhausted: err says why */
} dp_dbx_next_t;

/* The retry decision after one attempt of req, the only one of the project:
 * dp_dbx_call() and zerobus.c's concurrent inserts both follow it. Classifies
 * the outcome with dp_retry_classify(), honours Retry-After, counts the
 * attempt in st and logs the retry. can_refresh: a 401 may be answered by one
 * forced credential refresh (*refreshed records that it happened). */
dp_dbx_next_t dp_dbx_next(dp_dbx_client_t *client, const dp_dbx_request_t *req,
                          dp_retry_state_t *st, const dp_dbx_response_t *resp, int curl_rc,
                          int too_big, int can_refresh, int *refreshed, long *delay_ms,
                          dp_err_t *err);

/* Counts one logical call of kind on client (may be NULL) and in /metrics. */
void dp_dbx_count_call(dp_dbx_client_t *client, dp_dbx_call_kind_t kind);

/* Waits ms on the client's clock, calling fn (or, when NULL, the client's
 * liveness callback) at least once a second. */
void dp_dbx_wait(dp_dbx_client_t *client, dp_dbx_liveness_fn fn, void *ctx, long ms);

/* ---------------------------------------------------------------------------
 * Pure helpers (unit-tested)
 * ------------------------------------------------------------------------- */

/* Reads {"error_code","message"} (or OAuth's {"error","error_description"})
 * from body into code and msg (both always NUL-terminated). Returns 0 when a
 * code was found, -1 otherwise. */
int dp_dbx_parse_error_body(const char *body, size_t len, char *code, size_t codelen, char *msg,
                            size_t msglen);

/* Percent-encodes a /Volumes/... path: unreserved characters and '/' are
 * kept, every other byte becomes %XX. Rejects (DP_EINVAL) a path that is not
 * absolute under /Volumes/<catalog>/<schema>/<volume>, has an empty, "." or
 * ".." segment, or a control byte; DP_ETOOBIG when out is too small. */
int dp_dbx_encode_path(const char *path, char *out, size_t outlen, dp_err_t *err);

/* Fills object with the volume of a /Volumes/c/s/v/... path ("c.s.v" into
 * name, size namelen). */
void dp_dbx_volume_object(const char *path, dp_retry_access_t access, char *name, size_t namelen,
                          dp_retry_object_t *object);

/* Parses one page of a directory listing, calling fn per entry; copies
 * next_page_token into next ("" when none). *stopped is 1 when fn asked to
 * stop. Returns 0, DP_EINVAL (malformed) or DP_ETOOBIG. */
int dp_dbx_files_parse_page(const char *body, size_t len, dp_dbx_files_list_fn fn, void *ctx,
                            char *next, size_t nextlen, int *stopped, dp_err_t *err);

/* Parses an OAuth token response. Returns 0 with token (NUL-terminated) and
 * *expires_in (seconds, 3600 when absent), or DP_EINVAL / DP_ETOOBIG. */
int dp_oauth_parse_token_response(const char *body, size_t len, char *token, size_t tokenlen,
                                  long *expires_in, dp_err_t *err);

#endif
