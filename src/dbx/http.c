/*
 * dbx/http: the client handle, one HTTP attempt with libcurl, and the retry
 * loop every Databricks call runs through (dp_dbx_call).
 *
 * Invariants: TLS peer and host verification are on for every https call
 * (only the CA file is configurable), and a refused certificate is reported
 * in words (untrusted CA, wrong host name, expired, unusable CA file) with
 * the fix, never retried; redirects are never followed, so a
 * credential is only ever sent to the configured host; the credential line
 * lives in a stack buffer that is wiped after each attempt and is never
 * logged; a response body never grows past max_response_bytes.
 */
#include "dbx/dbx_int.h"
#include "ops/metrics.h"

#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/url.h"
#include "ops/metrics.h"

#define AUTH_LINE_MAX 4096

/* ---------------------------------------------------------------------------
 * Client
 * ------------------------------------------------------------------------- */

/* The host is parsed by libcurl's URL parser (url.h): scheme://host[:port]
 * and an optional path prefix (a Schema Registry behind a proxy; a
 * workspace host has none, which the configuration checks), no query, no
 * user, https unless allow_insecure_http. */
static int check_host(const dp_dbx_config_t *cfg, dp_err_t *err)
{
    char why[128];
    int is_http = 0;

    if (cfg->host == NULL || cfg->host[0] == '\0') {
        return dp_err_set(err, DP_EINVAL, 0, "dbx: no workspace host configured");
    }
    if (dp_url_check(cfg->host, DP_URL_PATH, &is_http, why, sizeof(why)) < 0) {
        return dp_err_set(err, DP_EINVAL, 0, "dbx: host %s must be https://host[:port]: %s",
                          cfg->host, why);
    }
    if (is_http && !cfg->allow_insecure_http) {
        return dp_err_set(err, DP_EINVAL, 0,
                          "dbx: host %s is plain http; only https is allowed unless "
                          "allow_insecure_http is set",
                          cfg->host);
    }
    return 0;
}

dp_dbx_client_t *dp_dbx_client_new(const dp_dbx_config_t *cfg, dp_err_t *err)
{
    dp_dbx_client_t *client;
    size_t n;

    if (check_host(cfg, err) < 0) {
        return NULL;
    }
    if (cfg->ca_file != NULL && access(cfg->ca_file, R_OK) != 0) {
        dp_err_set(err, DP_EINVAL, 0, "dbx: CA file %s is not readable", cfg->ca_file);
        return NULL;
    }
    client = dp_calloc(1, sizeof(*client));
    client->host = dp_strdup(cfg->host);
    n = strlen(client->host);
    while (n > 0 && client->host[n - 1] == '/') {
        client->host[--n] = '\0';
    }
    client->ca_file = cfg->ca_file ? dp_strdup(cfg->ca_file) : NULL;
    client->ca_setting = cfg->ca_setting ? cfg->ca_setting : "databricks.ca_file";
    client->warehouse_id = cfg->warehouse_id ? dp_strdup(cfg->warehouse_id) : NULL;
    client->connect_timeout_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 10000;
    client->request_timeout_ms = cfg->request_timeout_ms > 0 ? cfg->request_timeout_ms : 300000;
    client->max_response_bytes =
        cfg->max_response_bytes > 0 ? cfg->max_response_bytes : (size_t)16 << 20;
    client->retry = dp_retry_new(&cfg->retry, cfg->clock, cfg->retry_seed);
    client->auth = cfg->auth;
    client->auth_ctx = cfg->auth_ctx;
    client->liveness = cfg->liveness;
    client->liveness_ctx = cfg->liveness_ctx;
    client->curl = curl_easy_init();
    if (client->curl == NULL) {
        dp_dbx_client_destroy(client);
        dp_err_set(err, DP_EFAIL, 0, "dbx: curl_easy_init failed");
        return NULL;
    }
    if (strncmp(client->host, "http://", 7) == 0) {
        dp_log(DP_LOG_WARN, "dbx",
               "allow_insecure_http: talking plain HTTP to %s; credentials are not protected "
               "in transit (acceptable only for a local emulator)",
               client->host);
    }
    return client;
}

void dp_dbx_client_destroy(dp_dbx_client_t *client)
{
    if (client == NULL) {
        return;
    }
    if (client->curl != NULL) {
        curl_easy_cleanup(client->curl);
    }
    dp_retry_destroy(client->retry);
    free(client->host);
    free(client->ca_file);
    free(client->warehouse_id);
    free(client);
}

long dp_dbx_client_attempts(const dp_dbx_client_t *client)
{
    return client->attempts;
}

const char *dp_dbx_client_host(const dp_dbx_client_t *client)
{
    return client->host;
}

long long dp_dbx_client_now_ms(const dp_dbx_client_t *client)
{
    return dp_retry_now_ms(client->retry);
}

void dp_dbx_client_counts(const dp_dbx_client_t *client, dp_dbx_counts_t *out)
{
    *out = client->counts;
}

const char *dp_dbx_call_kind_name(dp_dbx_call_kind_t kind)
{
    static const char *const names[DP_DBX_CALL_COUNT_] = {
        "statement",    "statement_poll", "files_write", "files_read",     "files_list",
        "files_delete", "files_mkdir",    "token",       "zerobus_insert", "other"};

    return (unsigned)kind < DP_DBX_CALL_COUNT_ ? names[kind] : "other";
}

/* The kind of a request, from its method and path. */
static dp_dbx_call_kind_t call_kind(const dp_dbx_request_t *req)
{
    const char *p = req->path ? req->path : "";
    int get = strcmp(req->method, "GET") == 0, put = strcmp(req->method, "PUT") == 0;

    if (strncmp(p, "/api/2.0/sql/statements", 23) == 0)
        return strcmp(req->method, "POST") == 0 && (p[23] == '\0' || p[23] == '?')
                   ? DP_DBX_CALL_STATEMENT
                   : DP_DBX_CALL_STATEMENT_POLL;
    if (strncmp(p, "/api/2.0/fs/files", 17) == 0) {
        if (put)
            return DP_DBX_CALL_FILES_WRITE;
        if (strcmp(req->method, "DELETE") == 0)
            return DP_DBX_CALL_FILES_DELETE;
        return DP_DBX_CALL_FILES_READ;
    }
    if (strncmp(p, "/api/2.0/fs/directories", 23) == 0) {
        if (put)
            return DP_DBX_CALL_FILES_MKDIR;
        if (strcmp(req->method, "DELETE") == 0)
            return DP_DBX_CALL_FILES_DELETE;
        return get ? DP_DBX_CALL_FILES_LIST : DP_DBX_CALL_FILES_READ;
    }
    if (strstr(p, "/oidc/") || strstr(p, "/token"))
        return DP_DBX_CALL_TOKEN;
    return DP_DBX_CALL_OTHER;
}

void dp_dbx_response_clear(dp_dbx_response_t *resp)
{
    if (resp == NULL) {
        return;
    }
    free(resp->body);
    memset(resp, 0, sizeof(*resp));
    resp->retry_after_ms = -1;
    resp->content_length = -1;
}

void dp_dbx_wait(dp_dbx_client_t *client, dp_dbx_liveness_fn fn, void *ctx, long ms)
{
    if (fn == NULL) {
        fn = client->liveness;
        ctx = client->liveness_ctx;
    }
    while (ms > 0) {
        long slice = ms > 1000 ? 1000 : ms;

        if (fn != NULL) {
            fn(ctx);
        }
        dp_retry_sleep_ms(client->retry, slice);
        ms -= slice;
    }
    if (fn != NULL) {
        fn(ctx);
    }
}

/* ---------------------------------------------------------------------------
 * Error bodies
 * ------------------------------------------------------------------------- */

int dp_dbx_parse_error_body(const char *body, size_t len, char *code, size_t codelen, char *msg,
                            size_t msglen)
{
    json_t *root;
    const char *c, *m;
    int rc = -1;

    code[0] = '\0';
    msg[0] = '\0';
    if (body == NULL || len == 0) {
        return -1;
    }
    root = json_loadb(body, len, 0, NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        return -1;
    }
    c = json_string_value(json_object_get(root, "error_code"));
    m = json_string_value(json_object_get(root, "message"));
    if (c == NULL) {
        c = json_string_value(json_object_get(root, "error"));
        m = json_string_value(json_object_get(root, "error_description"));
    }
    if (c != NULL) {
        snprintf(code, codelen, "%s", c);
        rc = 0;
    }
    if (m != NULL) {
        snprintf(msg, msglen, "%s", m);
    }
    json_decref(root);
    return rc;
}

/* ---------------------------------------------------------------------------
 * One attempt
 * ------------------------------------------------------------------------- */

typedef dp_dbx_attempt_t attempt_t;

/* libcurl's progress callback: beats the caller's heartbeat while a long
 * request (a 50 s statement wait, a large upload) is in flight. */
static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    attempt_t *a = userdata;
    struct timespec ts;
    long long now;

    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    if (now - a->last_beat_ms >= 500) {
        a->last_beat_ms = now;
        a->liveness(a->liveness_ctx);
    }
    return 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    attempt_t *a = userdata;
    dp_dbx_response_t *resp = a->resp;
    size_t n = size * nmemb;

    if (resp->body_len + n > a->max) {
        a->too_big = 1;
        return 0;
    }
    if (resp->body_len + n + 1 > a->cap) {
        size_t cap = a->cap ? a->cap : 4096;

        while (cap < resp->body_len + n + 1) {
            cap *= 2;
        }
        resp->body = dp_realloc(resp->body, cap);
        a->cap = cap;
    }
    memcpy(resp->body + resp->body_len, data, n);
    resp->body_len += n;
    resp->body[resp->body_len] = '\0';
    return n;
}

/* Copies a header's value (trimmed) when line starts with name. */
static int header_value(const char *line, size_t n, const char *name, char *out, size_t outlen)
{
    size_t k = strlen(name);

    if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':') {
        return 0;
    }
    line += k + 1;
    n -= k + 1;
    while (n > 0 && (*line == ' ' || *line == '\t')) {
        line++;
        n--;
    }
    while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == '\n' || line[n - 1] == ' ')) {
        n--;
    }
    snprintf(out, outlen, "%.*s", (int)n, line);
    return 1;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
    attempt_t *a = userdata;
    size_t n = size * nmemb;
    char value[128];

    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        /* a new response (after 100 Continue): forget the previous headers */
        a->resp->request_id[0] = '\0';
        a->resp->retry_after_ms = -1;
    } else if (header_value(data, n, "Retry-After", value, sizeof(value))) {
        a->resp->retry_after_ms = dp_retry_parse_retry_after(value, time(NULL));
    } else if (header_value(data, n, "x-request-id", value, sizeof(value))) {
        snprintf(a->resp->request_id, sizeof(a->resp->request_id), "%s", value);
    }
    return n;
}

static void set_method(CURL *curl, const dp_dbx_request_t *req)
{
    if (strcmp(req->method, "HEAD") == 0) {
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else if (strcmp(req->method, "GET") != 0) {
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method);
    }
    if (req->body != NULL || strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0) {
        /* POSTFIELDS sends the body from memory, so a retry resends it as is */
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
    }
}

static void set_options(dp_dbx_client_t *client, CURL *curl, const dp_dbx_request_t *req,
                        const char *url, struct curl_slist *headers, attempt_t *a)
{
    /* curl_easy_reset keeps live connections, so keep-alive survives */
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR,
                     strncmp(client->host, "https://", 8) == 0 ? "https" : "http");
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (client->ca_file != NULL) {
        curl_easy_setopt(curl, CURLOPT_CAINFO, client->ca_file);
    }
    client->curl_error[0] = '\0';
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, client->curl_error);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, client->connect_timeout_ms);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, client->request_timeout_ms);
    curl_easy_setopt(curl, CURLOPT_USERAGENT,
                     "deltaport/"
                     "0.1");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, a);
    if (a->liveness != NULL) {
        curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(curl, CURLOPT_XFERINFODATA, a);
        curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    }
    set_method(curl, req);
}

static struct curl_slist *build_headers(const dp_dbx_request_t *req, const char *auth_line)
{
    struct curl_slist *headers = NULL;
    char ct[128];

    /* no "Expect: 100-continue" round trip for large uploads */
    headers = curl_slist_append(headers, "Expect:");
    headers = curl_slist_append(headers, "Accept: application/json");
    if (req->content_type != NULL) {
        snprintf(ct, sizeof(ct), "Content-Type: %s", req->content_type);
        headers = curl_slist_append(headers, ct);
    }
    if (auth_line != NULL && auth_line[0] != '\0') {
        headers = curl_slist_append(headers, auth_line);
    }
    return headers;
}

void dp_dbx_attempt_setup(dp_dbx_client_t *client, CURL *curl, const dp_dbx_request_t *req,
                          const char *auth_line, dp_dbx_response_t *resp, dp_dbx_attempt_t *a)
{
    size_t hl = strlen(client->host), pl = strlen(req->path);

    memset(a, 0, sizeof(*a));
    a->resp = resp;
    a->max = client->max_response_bytes;
    a->liveness = req->liveness ? req->liveness : client->liveness;
    a->liveness_ctx = req->liveness ? req->liveness_ctx : client->liveness_ctx;
    a->headers = build_headers(req, auth_line);
    a->url = dp_malloc(hl + pl + 1);
    memcpy(a->url, client->host, hl);
    memcpy(a->url + hl, req->path, pl + 1);
    dp_dbx_response_clear(resp);
    set_options(client, curl, req, a->url, a->headers, a);
    client->attempts++;
}

void dp_dbx_attempt_finish(CURL *curl, dp_dbx_attempt_t *a, int curl_rc)
{
    dp_dbx_response_t *resp = a->resp;
    curl_off_t cl = -1;

    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
    if (curl_easy_getinfo(curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK) {
        resp->content_length = (long long)cl;
    }
    /* the header list holds a copy of the credential line: wipe it */
    for (struct curl_slist *h = a->headers; h != NULL; h = h->next) {
        OPENSSL_cleanse(h->data, strlen(h->data));
    }
    curl_slist_free_all(a->headers);
    a->headers = NULL;
    free(a->url);
    a->url = NULL;
    if (curl_rc == CURLE_OK && resp->body_len > 0) {
        dp_dbx_parse_error_body(resp->body, resp->body_len, resp->error_code,
                                sizeof(resp->error_code), resp->message, sizeof(resp->message));
    }
}

/* Runs one attempt on the client's own handle; returns the CURLcode.
 * *too_big is set when the body passed the bound. */
static int perform_once(dp_dbx_client_t *client, const dp_dbx_request_t *req, const char *auth_line,
                        dp_dbx_response_t *resp, int *too_big)
{
    attempt_t a;
    CURLcode rc;

    dp_dbx_attempt_setup(client, client->curl, req, auth_line, resp, &a);
    rc = curl_easy_perform(client->curl);
    dp_dbx_attempt_finish(client->curl, &a, (int)rc);
    *too_big = a.too_big;
    return (int)rc;
}

/* ---------------------------------------------------------------------------
 * TLS failures in words
 * ------------------------------------------------------------------------- */

static int is_tls_failure(int curl_rc)
{
    return curl_rc == CURLE_PEER_FAILED_VERIFICATION || curl_rc == CURLE_SSL_CONNECT_ERROR ||
           curl_rc == CURLE_SSL_CACERT_BADFILE || curl_rc == CURLE_SSL_CERTPROBLEM ||
           curl_rc == CURLE_SSL_ISSUER_ERROR || curl_rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH ||
           curl_rc == CURLE_SSL_INVALIDCERTSTATUS;
}

/* The cause of a TLS failure and its fix, from curl's code, the X.509
 * verification result and curl's detail (host name checks are curl's own:
 * they fail with an unspecified verification result, and curl's detail says
 * "no alternative certificate subject name matches target host name"). */
static void tls_cause(const dp_dbx_client_t *client, int curl_rc, long verify, const char *detail,
                      char *cause, size_t causelen, char *fix, size_t fixlen)
{
    const char *host = client->host + (strncmp(client->host, "https://", 8) == 0 ? 8 : 0);
    const char *trust = client->ca_file ? client->ca_file : "the system's CA store";

    fix[0] = '\0';
    if (curl_rc == CURLE_SSL_CACERT_BADFILE) {
        snprintf(cause, causelen, "the CA file %s cannot be read or holds no PEM certificate",
                 client->ca_file ? client->ca_file : "(system store)");
        snprintf(fix, fixlen, "point %s at a PEM bundle", client->ca_setting);
    } else if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH ||
               (curl_rc == CURLE_PEER_FAILED_VERIFICATION &&
                (strstr(detail, "host name") || strstr(detail, "subject name")))) {
        snprintf(cause, causelen, "the server's certificate is not for the host name in %.200s",
                 host);
        snprintf(fix, fixlen,
                 "use the host name the certificate names, or a certificate that names this one");
    } else if (verify == X509_V_ERR_CERT_HAS_EXPIRED) {
        snprintf(cause, causelen, "the server's certificate has expired");
        snprintf(fix, fixlen, "renew the server's certificate (or correct this host's clock)");
    } else if (verify == X509_V_ERR_CERT_NOT_YET_VALID) {
        snprintf(cause, causelen, "the server's certificate is not valid yet");
        snprintf(fix, fixlen, "correct this host's clock or the certificate's dates");
    } else if (verify == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
               verify == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
               verify == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
               verify == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ||
               verify == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE ||
               verify == X509_V_ERR_CERT_UNTRUSTED || verify == X509_V_ERR_CERT_SIGNATURE_FAILURE) {
        snprintf(cause, causelen,
                 "the server's certificate is not signed by a CA this client trusts (%s: %s)",
                 trust, X509_verify_cert_error_string(verify));
        snprintf(fix, fixlen, "set %s to the PEM bundle of the CA that signed it",
                 client->ca_setting);
    } else if (verify != X509_V_OK) {
        snprintf(cause, causelen, "the server's certificate was refused: %s",
                 X509_verify_cert_error_string(verify));
    } else if (curl_rc == CURLE_SSL_CONNECT_ERROR) {
        snprintf(cause, causelen, "the TLS handshake failed");
        snprintf(fix, fixlen, "check that %.200s speaks HTTPS on that port", host);
    } else {
        snprintf(cause, causelen, "%s", curl_easy_strerror((CURLcode)curl_rc));
    }
}

/* Replaces the transport message of a TLS failure with its cause and fix
 * (code and retryable unchanged): "what: TLS: the server's certificate has
 * expired (curl: ...); fix: ...". */
static void tls_wording(const dp_dbx_client_t *client, const dp_dbx_request_t *req, int curl_rc,
                        dp_err_t *err)
{
    char cause[384], fix[256], detail[CURL_ERROR_SIZE];
    long verify = X509_V_OK;

    if (err == NULL) {
        return;
    }
    if (curl_easy_getinfo(client->curl, CURLINFO_SSL_VERIFYRESULT, &verify) != CURLE_OK) {
        verify = X509_V_OK;
    }
    snprintf(detail, sizeof(detail), "%s",
             client->curl_error[0] ? client->curl_error : curl_easy_strerror((CURLcode)curl_rc));
    tls_cause(client, curl_rc, verify, detail, cause, sizeof(cause), fix, sizeof(fix));
    dp_err_set(err, err->code, err->retryable, "%s: TLS: %s (curl: %s)%s%s",
               req->what ? req->what : "request", cause, detail, fix[0] ? "; fix: " : "", fix);
}

/* ---------------------------------------------------------------------------
 * The retry loop
 * ------------------------------------------------------------------------- */

static int accepted(const dp_dbx_request_t *req, long status)
{
    const long *s;

    if (status >= 200 && status < 300) {
        return 1;
    }
    for (s = req->accept; s != NULL && *s != 0; s++) {
        if (*s == status) {
            return 1;
        }
    }
    return 0;
}

static int get_credential(dp_dbx_client_t *client, const dp_dbx_request_t *req,
                          const char *rejected, char *line, size_t len, dp_err_t *err)
{
    int rc;

    line[0] = '\0';
    if (req->auth_header != NULL) {
        snprintf(line, len, "%s", req->auth_header);
        return 0;
    }
    if (client->auth == NULL) {
        return 0;
    }
    rc = client->auth(client->auth_ctx, rejected, line, len, err);
    if (rc < 0) {
        dp_err_prefix(err, "%s: ", req->what ? req->what : "request");
    }
    return rc;
}

/* Classifies a failed attempt into err; returns 1 when retryable. */
static int classify(const dp_dbx_request_t *req, const dp_dbx_response_t *resp, int curl_rc,
                    int too_big, dp_err_t *err)
{
    dp_retry_outcome_t o;

    if (too_big) {
        dp_err_set(err, DP_ETOOBIG, 0, "%s: response body larger than the bound",
                   req->what ? req->what : "request");
        return 0;
    }
    memset(&o, 0, sizeof(o));
    o.curl_code = curl_rc;
    o.http_status = resp->status;
    o.error_code = resp->error_code;
    o.message = resp->message;
    o.idempotent = req->idempotent;
    o.what = req->what;
    o.request_id = resp->request_id;
    o.object = &req->object;
    return dp_retry_classify(&o, err);
}

dp_dbx_next_t dp_dbx_next(dp_dbx_client_t *client, const dp_dbx_request_t *req,
                          dp_retry_state_t *st, const dp_dbx_response_t *resp, int curl_rc,
                          int too_big, int can_refresh, int *refreshed, long *delay_ms,
                          dp_err_t *err)
{
    long delay = 0;

    *delay_ms = 0;
    if (curl_rc == CURLE_OK && accepted(req, resp->status)) {
        dp_metrics_set(DP_MG_DBX_LAST_SUCCESS_MS, dp_clock_wall_us() / 1000);
        dp_err_clear(err);
        return DP_DBX_NEXT_DONE;
    }
    if (curl_rc == CURLE_OK && resp->status == 401 && can_refresh && !*refreshed) {
        /* the token may have expired early: one forced refresh, one retry */
        *refreshed = 1;
        st->attempts++;
        return DP_DBX_NEXT_REFRESH;
    }
    if (!classify(req, resp, curl_rc, too_big, err)) {
        if (is_tls_failure(curl_rc)) {
            tls_wording(client, req, curl_rc, err);
        }
        return DP_DBX_NEXT_FAIL;
    }
    if (dp_retry_next(client->retry, st, resp->retry_after_ms, &delay) < 0) {
        if (is_tls_failure(curl_rc)) {
            tls_wording(client, req, curl_rc, err);
        }
        dp_err_prefix(err, "gave up after %d attempts: ", st->attempts);
        return DP_DBX_NEXT_FAIL;
    }
    dp_log(DP_LOG_WARN, "dbx", "retrying in %ld ms (attempt %d of %d): %s", delay, st->attempts + 1,
           dp_retry_policy(client->retry)->max_attempts, err ? err->msg : "");
    *delay_ms = delay;
    return DP_DBX_NEXT_RETRY;
}

void dp_dbx_count_call(dp_dbx_client_t *client, dp_dbx_call_kind_t kind)
{
    if (client != NULL) {
        client->counts.calls[kind]++;
    }
    dp_metrics_dbx_call(dp_dbx_call_kind_name(kind));
}

int dp_dbx_call(dp_dbx_client_t *client, const dp_dbx_request_t *req, dp_dbx_response_t *resp,
                dp_err_t *err)
{
    char line[AUTH_LINE_MAX], rejected[AUTH_LINE_MAX] = "";
    int refreshed = 0, have_rejected = 0, too_big, curl_rc, rc;
    int can_refresh = client->auth != NULL && req->auth_header == NULL;
    dp_retry_state_t st;
    long delay;

    dp_dbx_count_call(client, call_kind(req));
    dp_retry_begin(client->retry, &st);
    for (;;) {
        rc = get_credential(client, req, have_rejected ? rejected : NULL, line, sizeof(line), err);
        if (rc < 0) {
            break;
        }
        curl_rc = perform_once(client, req, line, resp, &too_big);
        resp->attempts = st.attempts + 1;
        switch (dp_dbx_next(client, req, &st, resp, curl_rc, too_big, can_refresh, &refreshed,
                            &delay, err)) {
        case DP_DBX_NEXT_DONE:
            rc = 0;
            break;
        case DP_DBX_NEXT_REFRESH:
            have_rejected = 1;
            snprintf(rejected, sizeof(rejected), "%s", line);
            continue;
        case DP_DBX_NEXT_RETRY:
            dp_dbx_wait(client, req->liveness, req->liveness_ctx, delay);
            continue;
        case DP_DBX_NEXT_FAIL:
            rc = err ? err->code : DP_EFAIL;
            break;
        }
        break;
    }
    OPENSSL_cleanse(line, sizeof(line));
    OPENSSL_cleanse(rejected, sizeof(rejected));
    return rc;
}
