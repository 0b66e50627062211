/*
 * dbx/oauth: the credential of the Databricks client.
 *
 * OAuth M2M (client credentials): POST {host}/oidc/v1/token with HTTP Basic
 * base64(client_id:client_secret) and grant_type=client_credentials&
 * scope=all-apis (docs/DATABRICKS.md, "The APIs in brief"), plus, for a
 * token narrowed to some objects (Zerobus Ingest's, one per table), the
 * resource and authorization_details form fields. The token is
 * cached and refreshed refresh_margin_s before it expires (5 minutes by
 * default), under a mutex so
 * that concurrent callers fetch once; a token refused with 401 is replaced
 * exactly once (the caller passes the refused credential back). PAT mode
 * returns a fixed bearer token. The secret and the tokens live only in this
 * object's memory, are wiped on destroy, and are never logged.
 * Thread: every function is thread-safe; one dp_oauth_t serves all clients.
 */
#ifndef DP_DBX_OAUTH_H
#define DP_DBX_OAUTH_H

#include <stddef.h>

#include "core/err.h"
#include "dbx/http.h"

typedef struct dp_oauth dp_oauth_t;

/* Strings are copied. Either client_id + client_secret (M2M) or pat. */
typedef struct dp_oauth_config {
    const char *client_id;
    const char *client_secret;
    const char *pat;                   /* personal access token: PAT mode when set */
    const char *scope;                 /* [all-apis] */
    long refresh_margin_s;             /* refresh this long before expiry [300]; at most
                                        * half the token's lifetime is used */
    const char *resource;              /* optional form field "resource" (Zerobus: the API's URI) */
    const char *authorization_details; /* optional form field: a JSON array narrowing the
                                        * token to Unity Catalog objects (zerobus.h) */
} dp_oauth_config_t;

/* Creates the credential. http gives the host, TLS, timeouts, retry policy
 * and clock of the token endpoint (its auth members are ignored). Fails with
 * DP_EINVAL when neither a PAT nor a client id and secret is given, or the
 * host is refused (see dp_dbx_client_new). No request is made here.
 * Returns new (free with dp_oauth_destroy) or NULL with err set. */
dp_oauth_t *dp_oauth_new(const dp_oauth_config_t *cfg, const dp_dbx_config_t *http, dp_err_t *err);

/* Wipes and frees; NULL is a no-op. Thread: once no caller uses it. */
void dp_oauth_destroy(dp_oauth_t *oauth);

/* Copies a bearer token valid at least the refresh margin into out.
 * rejected (may be NULL) is a token the server refused with 401: when it is
 * the cached one, a new token is fetched even if not yet due. Returns 0,
 * DP_EDENIED (credentials refused, permanent; a PAT refused), DP_ETOOBIG
 * (out too small), or a transport / HTTP code from the token call. */
int dp_oauth_token(dp_oauth_t *oauth, const char *rejected, char *out, size_t outlen,
                   dp_err_t *err);

/* dp_dbx_auth_fn for dp_dbx_config_t.auth, with ctx = the dp_oauth_t:
 * writes "Authorization: Bearer <token>". */
int dp_oauth_credential(void *ctx, const char *rejected, char *header, size_t len, dp_err_t *err);

/* Number of token requests sent so far (tests and metrics). */
long dp_oauth_fetches(dp_oauth_t *oauth);

#endif
