/*
 * emu_fixture: start and drive deltaport-dbx-emulator from a CUnit test.
 *
 * dp_emu_fixture_start() makes a fresh temporary directory, starts the
 * emulator on 127.0.0.1 with port 0, its state in <dir>/state, its request log
 * in <dir>/requests.log and its stderr in <dir>/emulator.stderr, and waits for
 * its "LISTENING" line. It always passes
 *   --client DP_EMU_CLIENT_ID:DP_EMU_CLIENT_SECRET   (OAuth M2M principal)
 *   --pat DP_EMU_PAT=admin                           (a PAT for "admin")
 *   --seed 1
 * followed by the caller's extra arguments (they may add clients, PATs,
 * faults, --permissions, --token-ttl ...). dp_emu_fixture_stop() sends
 * SIGTERM, checks for a clean exit and removes the directory (kept when
 * DP_TEST_KEEP is set, to read the logs).
 *
 * The HTTP helpers use libcurl (curl_global_init is done by start). Their
 * timeouts scale with dp_test_timeout_scale(). Thread: the test's thread.
 */
#ifndef DP_EMU_FIXTURE_H
#define DP_EMU_FIXTURE_H

#include <jansson.h>
#include <stddef.h>

#include "dp_proc.h"

#define DP_EMU_CLIENT_ID     "deltaport-test-sp"
#define DP_EMU_CLIENT_SECRET "deltaport-test-secret"
#define DP_EMU_PAT           "dapi-emulator-test-token"
#define DP_EMU_WAREHOUSE     "emulator-wh"

typedef struct dp_emu_fixture {
    dp_proc_t proc;
    char url[128];         /* "http://127.0.0.1:PORT" */
    char dir[256];         /* temporary directory of this run */
    char state_dir[300];   /* <dir>/state, the emulator's --state-dir */
    char request_log[300]; /* <dir>/requests.log */
    char stderr_log[300];  /* <dir>/emulator.stderr */
    int exit_status;       /* set by stop: 0 after a clean SIGTERM exit */
    char ca_file[300];     /* PEM CA the HTTP helpers trust for an https url; set it
                            * after start when the emulator serves HTTPS (--tls-cert) */
} dp_emu_fixture_t;

/* Starts the emulator. extra_args is NULL-terminated and may be NULL.
 * Returns 0, or -1 (binary missing, no LISTENING line within 20 s x scale);
 * on failure nothing is left running. */
int dp_emu_fixture_start(dp_emu_fixture_t *ef, const char *const *extra_args);

/* Stops the emulator (SIGTERM, then SIGKILL after 10 s) and removes the
 * directory. Records the exit status in ef->exit_status. Safe to call twice. */
void dp_emu_fixture_stop(dp_emu_fixture_t *ef);

/* One HTTP request to ef->url + path (path may hold a query string).
 * bearer, body and content_type may be NULL; method "HEAD" sends no body and
 * reads none. On return *status holds the HTTP status and, when resp_body is
 * not NULL, *resp_body a new NUL-terminated copy of the body (free()) and
 * *resp_len (may be NULL) its length. Returns 0, or the negative CURLcode
 * when the transfer failed (e.g. -18 for a truncated response). */
int dp_emu_http(dp_emu_fixture_t *ef, const char *method, const char *path, const char *bearer,
                const void *body, size_t len, const char *content_type, long *status,
                char **resp_body, size_t *resp_len);

/* Same, with extra request headers (NULL-terminated "Name: value" list) and a
 * copy of the response headers (new, free(); may be NULL). */
int dp_emu_http_ex(dp_emu_fixture_t *ef, const char *method, const char *path, const char *bearer,
                   const void *body, size_t len, const char *const *headers, long *status,
                   char **resp_body, size_t *resp_len, char **resp_headers);

/* Gets an OAuth M2M token for client_id/secret (HTTP Basic, scope all-apis)
 * into token. Returns 0, or -1 (transport error or non-200). */
int dp_emu_token(dp_emu_fixture_t *ef, const char *client_id, const char *secret, char *token,
                 size_t len);

/* Submits statement (wait_timeout 50s, warehouse DP_EMU_WAREHOUSE) and polls
 * GET until a terminal state (deadline 60 s x scale). *resp is the final
 * statement object (new ref). Returns 0 when a terminal state was reached
 * (SUCCEEDED, FAILED or CANCELED: check status.state), -1 otherwise. */
int dp_emu_sql(dp_emu_fixture_t *ef, const char *token, const char *statement, json_t **resp);

/* Runs statement with dp_emu_sql(); returns its rows (result.data_array, new
 * ref, an empty array when it has none), or NULL when it did not succeed. */
json_t *dp_emu_rows(dp_emu_fixture_t *ef, const char *token, const char *statement);

/* The first cell of the statement's result as a number, or -1 when the
 * statement failed or returned no value. */
long long dp_emu_scalar(dp_emu_fixture_t *ef, const char *token, const char *statement);

/* Adds a fault with POST /_emulator/faults. Returns 0 or -1. */
int dp_emu_fault(dp_emu_fixture_t *ef, const char *json);

/* The latency settings: with json NULL, read them (GET /_emulator/latency);
 * else change them (POST, json an object with some of statement_latency_ms,
 * files_latency_ms, copy_ms_per_mib, oauth_latency_ms, warehouse_concurrency).
 * Returns the settings now in force (new), or NULL when refused. */
json_t *dp_emu_latency(dp_emu_fixture_t *ef, const char *json);

/* The round-trip counters (GET /_emulator/stats), or with reset the counters
 * read and zeroed in one step (POST /_emulator/stats/reset). Returns new or NULL. */
json_t *dp_emu_stats(dp_emu_fixture_t *ef, int reset);

/* Borrowed status.state of a statement response, or "" when absent. */
const char *dp_emu_state(const json_t *stmt);

#endif
