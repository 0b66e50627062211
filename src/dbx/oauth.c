/*
 * dbx/oauth: OAuth M2M token cache and PAT credential (see oauth.h).
 *
 * Invariant: oauth->token, when set, was issued at fetched_ms and is used
 * until expires_ms - margin; every read and refresh happens under lock.
 */
#include "dbx/oauth.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "dbx/dbx_int.h"

#define BEARER_PREFIX "Authorization: Bearer "

struct dp_oauth {
    pthread_mutex_t lock;
    dp_dbx_client_t *client; /* token endpoint, unauthenticated */
    char *client_id;
    char *secret; /* wiped on destroy */
    char *pat;    /* wiped on destroy */
    char *scope;
    char *resource; /* NULL: not sent */
    char *authz;    /* authorization_details, NULL: not sent */
    long margin_ms;
    char *token;          /* wiped when replaced */
    long long expires_ms; /* on the client's clock */
    long long margin_used_ms;
    long fetches;
};

static void wipe_free(char *s)
{
    dp_free_secret(s);
}

/* ---------------------------------------------------------------------------
 * Parsing (pure)
 * ------------------------------------------------------------------------- */

int dp_oauth_parse_token_response(const char *body, size_t len, char *token, size_t tokenlen,
                                  long *expires_in, dp_err_t *err)
{
    json_t *root = json_loadb(body ? body : "", len, 0, NULL);
    const char *tok = json_string_value(json_object_get(root, "access_token"));
    json_t *exp = json_object_get(root, "expires_in");
    int rc = 0;

    *expires_in = 3600;
    if (tok == NULL || tok[0] == '\0') {
        rc = dp_err_set(err, DP_EINVAL, 0, "token response has no access_token");
    } else if (strlen(tok) + 1 > tokenlen) {
        rc = dp_err_set(err, DP_ETOOBIG, 0, "access_token of %zu bytes is too long", strlen(tok));
    } else {
        snprintf(token, tokenlen, "%s", tok);
        if (json_is_integer(exp) && json_integer_value(exp) > 0) {
            *expires_in = (long)json_integer_value(exp);
        } else if (json_is_string(exp)) {
            const char *s = json_string_value(exp);
            char *end = NULL;
            long v;

            errno = 0;
            v = strtol(s, &end, 10);
            if (errno == 0 && end != s && *end == '\0' && v > 0) {
                *expires_in = v;
            }
        }
    }
    json_decref(root);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Lifecycle
 * ------------------------------------------------------------------------- */

dp_oauth_t *dp_oauth_new(const dp_oauth_config_t *cfg, const dp_dbx_config_t *http, dp_err_t *err)
{
    dp_dbx_config_t tcfg = *http;
    dp_oauth_t *oauth;
    int m2m = cfg->client_id && cfg->client_id[0] && cfg->client_secret && cfg->client_secret[0];

    if (!m2m && (cfg->pat == NULL || cfg->pat[0] == '\0')) {
        dp_err_set(err, DP_EINVAL, 0,
                   "dbx: no credentials: set a client id and secret (OAuth M2M) or a token");
        return NULL;
    }
    dp_mem_wipe_json_frees(); /* the token response's parse tree is wiped when freed */
    oauth = dp_calloc(1, sizeof(*oauth));
    pthread_mutex_init(&oauth->lock, NULL);
    tcfg.auth = NULL;
    tcfg.auth_ctx = NULL;
    oauth->client = dp_dbx_client_new(&tcfg, err);
    if (oauth->client == NULL) {
        dp_oauth_destroy(oauth);
        return NULL;
    }
    if (m2m) {
        oauth->client_id = dp_strdup(cfg->client_id);
        oauth->secret = dp_strdup(cfg->client_secret);
    } else {
        oauth->pat = dp_strdup(cfg->pat);
    }
    oauth->scope = dp_strdup(cfg->scope && cfg->scope[0] ? cfg->scope : "all-apis");
    oauth->resource = cfg->resource && cfg->resource[0] ? dp_strdup(cfg->resource) : NULL;
    oauth->authz = cfg->authorization_details && cfg->authorization_details[0]
                       ? dp_strdup(cfg->authorization_details)
                       : NULL;
    oauth->margin_ms = (cfg->refresh_margin_s > 0 ? cfg->refresh_margin_s : 300) * 1000L;
    return oauth;
}

void dp_oauth_destroy(dp_oauth_t *oauth)
{
    if (oauth == NULL) {
        return;
    }
    dp_dbx_client_destroy(oauth->client);
    free(oauth->client_id);
    wipe_free(oauth->secret);
    wipe_free(oauth->pat);
    wipe_free(oauth->token);
    free(oauth->scope);
    free(oauth->resource);
    free(oauth->authz);
    pthread_mutex_destroy(&oauth->lock);
    free(oauth);
}

long dp_oauth_fetches(dp_oauth_t *oauth)
{
    long n;

    pthread_mutex_lock(&oauth->lock);
    n = oauth->fetches;
    pthread_mutex_unlock(&oauth->lock);
    return n;
}

/* ---------------------------------------------------------------------------
 * Fetch
 * ------------------------------------------------------------------------- */

/* "Authorization: Basic base64(id:secret)" into new memory (wiped by caller). */
static char *basic_header(const dp_oauth_t *oauth)
{
    size_t idlen = strlen(oauth->client_id), slen = strlen(oauth->secret);
    size_t plain_len = idlen + 1 + slen, enc_len = 4 * ((plain_len + 2) / 3);
    size_t prefix = strlen("Authorization: Basic ");
    unsigned char *plain = dp_malloc(plain_len);
    char *line = dp_malloc(prefix + enc_len + 1);

    memcpy(plain, oauth->client_id, idlen);
    plain[idlen] = ':';
    memcpy(plain + idlen + 1, oauth->secret, slen);
    memcpy(line, "Authorization: Basic ", prefix);
    EVP_EncodeBlock((unsigned char *)line + prefix, plain, (int)plain_len);
    line[prefix + enc_len] = '\0';
    OPENSSL_cleanse(plain, plain_len);
    free(plain);
    return line;
}

/* Remaps OAuth's error codes for a bad client to a clear permanent error. */
static int token_error(const dp_oauth_t *oauth, const dp_dbx_response_t *resp, int rc,
                       dp_err_t *err)
{
    const char *e = resp->error_code;

    if (!strcmp(e, "invalid_client") || !strcmp(e, "unauthorized_client") ||
        !strcmp(e, "invalid_grant") || !strcmp(e, "access_denied") || resp->status == 401) {
        return dp_err_set(err, DP_EDENIED, 0,
                          "OAuth token request refused for client %s (HTTP %ld %s: %s): check "
                          "the client id and secret (DELTAPORT_DATABRICKS_CLIENT_SECRET)",
                          oauth->client_id, resp->status, e[0] ? e : "-", resp->message);
    }
    return rc;
}

/* Appends "&name=<value form-encoded>" to the form body (new memory). */
static char *form_add(char *body, const char *name, const char *value)
{
    char *enc = curl_easy_escape(NULL, value, 0);
    size_t n = strlen(body) + strlen(name) + (enc ? strlen(enc) : 0) + 3;
    char *out = dp_malloc(n);

    snprintf(out, n, "%s&%s=%s", body, name, enc ? enc : "");
    curl_free(enc);
    free(body);
    return out;
}

/* Fetches a new token. Caller holds oauth->lock. */
static int fetch_token(dp_oauth_t *oauth, dp_err_t *err)
{
    dp_dbx_request_t req;
    dp_dbx_response_t resp;
    char what[320], token[8192];
    char *basic, *body;
    long expires_in = 0;
    long long started = dp_retry_now_ms(oauth->client->retry);
    int rc;

    /* The form's values percent-encoded (RFC 6749 4.4.2 with
     * application/x-www-form-urlencoded: a scope such as "all-apis sql" holds
     * a space). */
    body = form_add(dp_strdup("grant_type=client_credentials"), "scope", oauth->scope);
    if (oauth->resource) {
        body = form_add(body, "resource", oauth->resource);
    }
    if (oauth->authz) {
        body = form_add(body, "authorization_details", oauth->authz);
    }
    basic = basic_header(oauth);
    memset(&req, 0, sizeof(req));
    memset(&resp, 0, sizeof(resp));
    snprintf(what, sizeof(what), "OAuth token for client %s%s%s", oauth->client_id,
             oauth->resource ? " and " : "", oauth->resource ? oauth->resource : "");
    req.method = "POST";
    req.path = "/oidc/v1/token";
    req.content_type = "application/x-www-form-urlencoded";
    req.body = body;
    req.body_len = strlen(body);
    req.auth_header = basic;
    req.idempotent = 1; /* minting a token twice does no harm */
    req.what = what;
    req.object.kind = DP_RETRY_OBJ_CREDENTIALS;
    oauth->fetches++;
    rc = dp_dbx_call(oauth->client, &req, &resp, err);
    if (rc < 0) {
        rc = token_error(oauth, &resp, rc, err);
    } else {
        rc = dp_oauth_parse_token_response(resp.body, resp.body_len, token, sizeof(token),
                                           &expires_in, err);
    }
    if (rc == 0) {
        wipe_free(oauth->token);
        oauth->token = dp_strdup(token);
        oauth->expires_ms = started + expires_in * 1000LL;
        oauth->margin_used_ms =
            oauth->margin_ms < expires_in * 500LL ? oauth->margin_ms : expires_in * 500LL;
        dp_log(DP_LOG_INFO, "oauth", "fetched an OAuth token for client %s, expires in %ld s",
               oauth->client_id, expires_in);
    }
    if (resp.body != NULL) {
        OPENSSL_cleanse(resp.body, resp.body_len);
    }
    dp_dbx_response_clear(&resp);
    OPENSSL_cleanse(token, sizeof(token));
    wipe_free(basic);
    free(body);
    return rc;
}

static int token_due(const dp_oauth_t *oauth, const char *rejected)
{
    long long now = dp_retry_now_ms(oauth->client->retry);

    if (oauth->token == NULL) {
        return 1;
    }
    if (rejected != NULL && strcmp(rejected, oauth->token) == 0) {
        return 1;
    }
    return now >= oauth->expires_ms - oauth->margin_used_ms;
}

int dp_oauth_token(dp_oauth_t *oauth, const char *rejected, char *out, size_t outlen, dp_err_t *err)
{
    int rc = 0;

    if (oauth->pat != NULL) {
        if (rejected != NULL && strcmp(rejected, oauth->pat) == 0) {
            return dp_err_set(err, DP_EDENIED, 0,
                              "the personal access token was refused (HTTP 401): it is invalid, "
                              "expired or revoked (DELTAPORT_DATABRICKS_TOKEN)");
        }
        if (strlen(oauth->pat) + 1 > outlen) {
            return dp_err_set(err, DP_ETOOBIG, 0, "personal access token too long");
        }
        snprintf(out, outlen, "%s", oauth->pat);
        return 0;
    }
    pthread_mutex_lock(&oauth->lock);
    if (token_due(oauth, rejected)) {
        rc = fetch_token(oauth, err);
    }
    if (rc == 0 && strlen(oauth->token) + 1 > outlen) {
        rc = dp_err_set(err, DP_ETOOBIG, 0, "OAuth token too long for the caller's buffer");
    } else if (rc == 0) {
        snprintf(out, outlen, "%s", oauth->token);
    }
    pthread_mutex_unlock(&oauth->lock);
    return rc;
}

int dp_oauth_credential(void *ctx, const char *rejected, char *header, size_t len, dp_err_t *err)
{
    size_t plen = strlen(BEARER_PREFIX);
    const char *old = NULL;
    int rc;

    if (len <= plen) {
        return dp_err_set(err, DP_ETOOBIG, 0, "credential buffer too small");
    }
    if (rejected != NULL && strncmp(rejected, BEARER_PREFIX, plen) == 0) {
        old = rejected + plen;
    }
    memcpy(header, BEARER_PREFIX, plen);
    rc = dp_oauth_token(ctx, old, header + plen, len - plen, err);
    if (rc < 0) {
        header[0] = '\0';
    }
    return rc;
}
