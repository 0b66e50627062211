/*
 * server: libmicrohttpd front of the emulator (see server.h).
 *
 * MHD calls the access handler first with the headers only (we route,
 * authenticate, draw faults and choose where the body goes), then once per
 * body fragment, then a last time with no data (we run the handler and queue
 * the reply). A request rejected early still has its body read and dropped,
 * so the connection stays usable for keep-alive. Every reply is logged once.
 */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "statements.h"
#include "zerobus.h"

#define JSON_BODY_MAX       (17u * 1024u * 1024u) /* statement text is capped at 16 MiB */
#define SMALL_BODY_MAX      (1024u * 1024u)
#define DROP_DECLARED_BYTES 256

enum {
    R_NONE = 0,
    R_DISCOVERY,
    R_TOKEN,
    R_FILES,
    R_DIRS,
    R_STMT_SUBMIT,
    R_STMT_GET,
    R_STMT_CANCEL,
    R_STMT_CHUNK,
    R_ADMIN,
    R_ZEROBUS
};

static const char FILES_PREFIX[] = "/api/2.0/fs/files";
static const char DIRS_PREFIX[] = "/api/2.0/fs/directories";
static const char STMT_PREFIX[] = "/api/2.0/sql/statements";

/* ---------------------------------------------------------------------------
 * Replies
 * ------------------------------------------------------------------------- */

void emu_reply_response(emu_req_t *req, int status, struct MHD_Response *resp,
                        unsigned long long bytes_out)
{
    if (req->resp != NULL) {
        MHD_destroy_response(req->resp);
    }
    req->resp = resp;
    req->status = status;
    req->bytes_out = bytes_out;
    req->replied = 1;
}

void emu_reply_json(emu_req_t *req, int status, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    struct MHD_Response *resp;
    size_t len;

    json_decref(body);
    if (text == NULL) {
        text = strdup("{\"error_code\":\"INTERNAL_ERROR\",\"message\":\"out of memory\"}");
        status = 500;
        if (text == NULL) {
            emu_reply_response(req, 500, NULL, 0);
            return;
        }
    }
    len = strlen(text);
    resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(text);
    } else {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    }
    emu_reply_response(req, status, resp, len);
}

void emu_reply_error(emu_req_t *req, int status, const char *code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    emu_reply_json(req, status, json_pack("{s:s, s:s}", "error_code", code, "message", msg));
}

void emu_reply_empty(emu_req_t *req, int status)
{
    emu_reply_response(req, status,
                       MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT), 0);
}

const char *emu_req_arg(emu_req_t *req, const char *key)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *emu_req_header(emu_req_t *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

/* Sends part of a body, then fails the stream: MHD closes the connection and
 * the client sees a truncated response (curl: CURLE_PARTIAL_FILE). */
static ssize_t drop_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    static const char partial[] = "{\"statement_id\":\"";
    size_t n = sizeof(partial) - 1;

    (void)cls;
    if (pos == 0 && max >= n) {
        memcpy(buf, partial, n);
        return (ssize_t)n;
    }
    return MHD_CONTENT_READER_END_WITH_ERROR;
}

static void reply_fault(emu_req_t *req)
{
    struct MHD_Response *resp;
    char retry[16];
    const emu_fault_hit_t *f = &req->fault;

    switch (f->kind) {
    case EMU_FAULT_429:
        emu_reply_error(req, 429, "REQUEST_LIMIT_EXCEEDED",
                        "Too many requests (emulator fault). Please retry later.");
        break;
    case EMU_FAULT_503:
        emu_reply_error(req, 503, "TEMPORARILY_UNAVAILABLE",
                        "The service is temporarily unavailable (emulator fault).");
        break;
    case EMU_FAULT_500:
        emu_reply_error(req, 500, "INTERNAL_ERROR", "Internal error (emulator fault).");
        break;
    case EMU_FAULT_DROP:
        resp = MHD_create_response_from_callback(DROP_DECLARED_BYTES, 64, drop_reader, NULL, NULL);
        if (resp != NULL) {
            MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        }
        emu_reply_response(req, 200, resp, 0);
        break;
    case EMU_FAULT_EXPIRE_TOKEN:
        emu_reply_error(req, 401, "UNAUTHENTICATED", "Token is expired (emulator fault).");
        break;
    default:
        return;
    }
    if (req->resp != NULL && f->retry_after > 0 &&
        (f->kind == EMU_FAULT_429 || f->kind == EMU_FAULT_503)) {
        snprintf(retry, sizeof(retry), "%d", f->retry_after);
        MHD_add_response_header(req->resp, MHD_HTTP_HEADER_RETRY_AFTER, retry);
    }
}

/* ---------------------------------------------------------------------------
 * Routing and authentication
 * ------------------------------------------------------------------------- */

static int method_is(const emu_req_t *req, const char *m)
{
    return strcmp(req->method, m) == 0;
}

static const char *files_endpoint(const emu_req_t *req, int is_dir)
{
    if (method_is(req, "HEAD")) {
        return "files.head";
    }
    if (method_is(req, "DELETE")) {
        return "files.delete";
    }
    if (method_is(req, "GET")) {
        return is_dir ? "files.list" : "files.download";
    }
    if (method_is(req, "PUT")) {
        return is_dir ? "files.mkdir" : "files.upload";
    }
    return NULL;
}

/* Parses "/{id}", "/{id}/cancel" or "/{id}/result/chunks/{n}" after the prefix. */
static int route_statement(emu_req_t *req, const char *rest)
{
    const char *slash = strchr(rest, '/');
    size_t idlen = slash ? (size_t)(slash - rest) : strlen(rest);
    char *end = NULL;

    if (idlen == 0 || idlen >= sizeof(req->route_id)) {
        return R_NONE;
    }
    memcpy(req->route_id, rest, idlen);
    req->route_id[idlen] = '\0';
    if (slash == NULL) {
        snprintf(req->endpoint, sizeof(req->endpoint), "statements.get");
        return method_is(req, "GET") ? R_STMT_GET : R_NONE;
    }
    if (strcmp(slash, "/cancel") == 0) {
        snprintf(req->endpoint, sizeof(req->endpoint), "statements.cancel");
        return method_is(req, "POST") ? R_STMT_CANCEL : R_NONE;
    }
    if (strncmp(slash, "/result/chunks/", 15) == 0 && method_is(req, "GET")) {
        errno = 0;
        req->route_chunk = strtol(slash + 15, &end, 10);
        if (errno == 0 && end != slash + 15 && *end == '\0' && req->route_chunk >= 0) {
            snprintf(req->endpoint, sizeof(req->endpoint), "statements.get");
            return R_STMT_CHUNK;
        }
    }
    return R_NONE;
}

static int route(emu_req_t *req)
{
    const char *p = req->path;
    const char *ep;
    size_t fl = sizeof(FILES_PREFIX) - 1, dl = sizeof(DIRS_PREFIX) - 1;
    size_t sl = sizeof(STMT_PREFIX) - 1;

    if (method_is(req, "GET") && (strcmp(p, "/oidc/.well-known/oauth-authorization-server") == 0 ||
                                  strcmp(p, "/oidc/.well-known/openid-configuration") == 0)) {
        return R_DISCOVERY;
    }
    if (strcmp(p, "/oidc/v1/token") == 0 && method_is(req, "POST")) {
        snprintf(req->endpoint, sizeof(req->endpoint), "oauth.token");
        return R_TOKEN;
    }
    if (strncmp(p, "/_emulator/", 11) == 0) {
        return R_ADMIN;
    }
    if ((strncmp(p, FILES_PREFIX, fl) == 0 && p[fl] == '/') ||
        (strncmp(p, DIRS_PREFIX, dl) == 0 && p[dl] == '/')) {
        int is_dir = strncmp(p, DIRS_PREFIX, dl) == 0;

        ep = files_endpoint(req, is_dir);
        if (ep == NULL) {
            return R_NONE;
        }
        snprintf(req->endpoint, sizeof(req->endpoint), "%s", ep);
        return is_dir ? R_DIRS : R_FILES;
    }
    if (strcmp(p, STMT_PREFIX) == 0 && method_is(req, "POST")) {
        snprintf(req->endpoint, sizeof(req->endpoint), "statements.submit");
        return R_STMT_SUBMIT;
    }
    if (strncmp(p, STMT_PREFIX, sl) == 0 && p[sl] == '/') {
        return route_statement(req, p + sl + 1);
    }
    if (strncmp(p, "/zerobus/v1/tables/", 19) == 0 && method_is(req, "POST")) {
        snprintf(req->endpoint, sizeof(req->endpoint), "zerobus.insert");
        return R_ZEROBUS;
    }
    return R_NONE;
}

/* Returns 0 with req->principal set, or replies 401 and returns -1. */
static int authenticate(emu_req_t *req)
{
    const char *h = emu_req_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
    const char *token = NULL;
    int rc;

    if (h != NULL && strncasecmp(h, "Bearer ", 7) == 0) {
        token = h + 7;
        while (*token == ' ') {
            token++;
        }
    }
    rc = emu_oauth_check(req->srv->oauth, token, req->principal, sizeof(req->principal));
    if (rc == EMU_AUTH_OK) {
        return 0;
    }
    req->principal[0] = '\0';
    emu_reply_error(req, 401, "UNAUTHENTICATED", "%s",
                    rc == EMU_AUTH_MISSING    ? "Missing bearer token in Authorization header."
                    : rc == EMU_AUTH_EXPIRED  ? "Token is expired."
                    : rc == EMU_AUTH_AUDIENCE ? "Invalid access token: it was minted for "
                                                "another API (Zerobus Ingest)."
                                              : "Invalid access token.");
    MHD_add_response_header(req->resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    return -1;
}

/* ---------------------------------------------------------------------------
 * Request phases
 * ------------------------------------------------------------------------- */

static void use_buffer(emu_req_t *req, size_t max)
{
    req->body_mode = EMU_BODY_BUFFER;
    req->body_max = max;
}

/* First call: decide everything that does not need the body. */
static void begin_request(emu_req_t *req)
{
    req->route = route(req);
    req->body_mode = EMU_BODY_DISCARD;
    switch (req->route) {
    case R_NONE:
        emu_reply_error(req, 404, "ENDPOINT_NOT_FOUND", "No API found for '%s %s'", req->method,
                        req->path);
        return;
    case R_DISCOVERY:
        return;
    case R_ADMIN:
        use_buffer(req, SMALL_BODY_MAX);
        return;
    case R_TOKEN:
        if (emu_faults_match(req->srv->faults, req->endpoint, &req->fault)) {
            reply_fault(req);
            return;
        }
        use_buffer(req, SMALL_BODY_MAX);
        return;
    default:
        break;
    }
    if ((req->route == R_ZEROBUS ? emu_zerobus_authenticate(req) : authenticate(req)) < 0) {
        return;
    }
    if (emu_faults_match(req->srv->faults, req->endpoint, &req->fault)) {
        reply_fault(req);
        if (req->replied) {
            return;
        }
    }
    if (req->route == R_STMT_SUBMIT) {
        use_buffer(req, JSON_BODY_MAX);
    } else if (req->route == R_ZEROBUS) {
        use_buffer(req, emu_zerobus_max_bytes(req->srv->zerobus));
    } else if (req->route == R_FILES && method_is(req, "PUT")) {
        if (emu_files_begin_upload(req) == 0) {
            req->body_mode = EMU_BODY_FILE;
        }
    }
}

static void body_append(emu_req_t *req, const char *data, size_t len)
{
    size_t cap;
    char *grown;

    if (req->body_too_big || req->body_len + len > req->body_max) {
        req->body_too_big = 1;
        return;
    }
    if (req->body_len + len + 1 > req->body_cap) {
        cap = req->body_cap ? req->body_cap : 4096;
        while (cap < req->body_len + len + 1) {
            cap *= 2;
        }
        grown = realloc(req->body, cap);
        if (grown == NULL) {
            req->body_too_big = 1;
            return;
        }
        req->body = grown;
        req->body_cap = cap;
    }
    memcpy(req->body + req->body_len, data, len);
    req->body_len += len;
    req->body[req->body_len] = '\0';
}

static void body_write_file(emu_req_t *req, const char *data, size_t len)
{
    ssize_t n;

    if (req->body_too_big) {
        return;
    }
    if (req->bytes_in > req->srv->max_upload) {
        req->body_too_big = 1;
        return;
    }
    while (len > 0) {
        n = write(req->upload_fd, data, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            req->body_too_big = 1; /* reported as a write failure in files.c */
            return;
        }
        data += n;
        len -= (size_t)n;
    }
}

static void consume_body(emu_req_t *req, const char *data, size_t len)
{
    req->bytes_in += len;
    if (req->body_mode == EMU_BODY_BUFFER) {
        body_append(req, data, len);
    } else if (req->body_mode == EMU_BODY_FILE) {
        body_write_file(req, data, len);
    }
}

/* Last call: run the handler unless a reply was made early. */
static void dispatch(emu_req_t *req)
{
    if (req->body_mode == EMU_BODY_BUFFER && req->body_too_big) {
        emu_reply_error(req, 400, "INVALID_PARAMETER_VALUE",
                        "Request body is larger than %zu bytes.", req->body_max);
        return;
    }
    switch (req->route) {
    case R_DISCOVERY:
        emu_oauth_handle_discovery(req);
        break;
    case R_TOKEN:
        emu_oauth_handle_token(req);
        break;
    case R_ADMIN:
        emu_admin_handle(req);
        break;
    case R_FILES:
        emu_files_handle(req, 0, req->path + sizeof(FILES_PREFIX) - 1);
        break;
    case R_DIRS:
        emu_files_handle(req, 1, req->path + sizeof(DIRS_PREFIX) - 1);
        break;
    case R_STMT_SUBMIT:
        emu_statements_submit(req);
        break;
    case R_STMT_GET:
        emu_statements_get(req, req->route_id, -1);
        break;
    case R_STMT_CHUNK:
        emu_statements_get(req, req->route_id, req->route_chunk);
        break;
    case R_STMT_CANCEL:
        emu_statements_cancel(req, req->route_id);
        break;
    case R_ZEROBUS:
        emu_zerobus_handle(req);
        break;
    default:
        emu_reply_error(req, 404, "ENDPOINT_NOT_FOUND", "No API found for '%s %s'", req->method,
                        req->path);
    }
}

struct query_buf {
    char text[1024];
    size_t len;
};

static enum MHD_Result query_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    struct query_buf *q = cls;
    int n;

    (void)kind;
    if (q->len >= sizeof(q->text)) {
        return MHD_NO;
    }
    n = snprintf(q->text + q->len, sizeof(q->text) - q->len, "%s%s%s%s", q->len ? "&" : "", key,
                 value ? "=" : "", value ? value : "");
    q->len += n > 0 ? (size_t)n : 0;
    return MHD_YES;
}

static void log_request(emu_req_t *req)
{
    struct query_buf q;
    emu_reqlog_entry_t e;

    if (req->srv->reqlog == NULL) {
        return;
    }
    memset(&q, 0, sizeof(q));
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, query_iter, &q);
    memset(&e, 0, sizeof(e));
    e.method = req->method;
    e.path = req->path;
    e.query = q.text;
    e.status = req->status;
    e.principal = req->principal[0] ? req->principal : NULL;
    e.statement_id = req->statement_id[0] ? req->statement_id : NULL;
    e.statement = req->statement_text;
    e.bytes_in = req->bytes_in;
    e.bytes_out = req->bytes_out;
    e.fault = req->fault.kind != EMU_FAULT_NONE ? req->fault.kind_name : NULL;
    emu_reqlog_write(req->srv->reqlog, &e);
}

static enum MHD_Result finish_request(emu_req_t *req)
{
    enum MHD_Result ret;

    if (!req->replied || req->resp == NULL) {
        emu_reply_error(req, 500, "INTERNAL_ERROR", "The emulator could not build a reply.");
    }
    if (req->resp == NULL) {
        return MHD_NO;
    }
    emu_sim_before_reply(req, req->route == R_NONE); /* counts; Files/OAuth latency */
    log_request(req);
    ret = MHD_queue_response(req->conn, (unsigned int)req->status, req->resp);
    MHD_destroy_response(req->resp);
    req->resp = NULL;
    return ret;
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls)
{
    emu_req_t *req = *con_cls;

    (void)version;
    if (req == NULL) {
        req = calloc(1, sizeof(*req));
        if (req == NULL) {
            return MHD_NO;
        }
        req->srv = cls;
        req->conn = conn;
        req->method = method;
        req->path = url;
        req->upload_fd = -1;
        *con_cls = req;
        begin_request(req);
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        consume_body(req, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (!req->replied) {
        dispatch(req);
    }
    return finish_request(req);
}

static void request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                              enum MHD_RequestTerminationCode toe)
{
    emu_req_t *req = *con_cls;

    (void)cls;
    (void)conn;
    (void)toe;
    if (req == NULL) {
        return;
    }
    if (req->upload_fd >= 0) {
        close(req->upload_fd);
    }
    if (req->upload_tmp[0] != '\0') {
        unlink(req->upload_tmp);
    }
    if (req->resp != NULL) {
        MHD_destroy_response(req->resp);
    }
    free(req->body);
    free(req->statement_text);
    free(req);
    *con_cls = NULL;
}

/* ---------------------------------------------------------------------------
 * Daemon
 * ------------------------------------------------------------------------- */

int emu_server_start(emu_server_t *srv, unsigned short port, char *errbuf, size_t errlen)
{
    struct sockaddr_in addr;
    const union MHD_DaemonInfo *info;
    unsigned int flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                         MHD_USE_POLL | MHD_USE_ERROR_LOG;
    int tls = srv->tls_cert_pem != NULL && srv->tls_key_pem != NULL;

    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        snprintf(errbuf, errlen, "this libmicrohttpd has no TLS support: cannot serve HTTPS");
        return -1;
    }
    /* The TLS options come last: without TLS the list ends before them. */
    srv->daemon = MHD_start_daemon(
        flags | (tls ? MHD_USE_TLS : 0), port, NULL, NULL, access_handler, srv,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED,
        request_completed, srv, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)120,
        tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, srv->tls_cert_pem,
        MHD_OPTION_HTTPS_MEM_KEY, srv->tls_key_pem, MHD_OPTION_END);
    if (srv->daemon == NULL) {
        snprintf(errbuf, errlen, "cannot listen on 127.0.0.1:%u%s", (unsigned)port,
                 tls ? " with TLS (is the certificate and key PEM a matching pair?)" : "");
        return -1;
    }
    info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    if (info == NULL || info->port == 0) {
        snprintf(errbuf, errlen, "cannot read the bound port");
        emu_server_stop(srv);
        return -1;
    }
    srv->port = info->port;
    snprintf(srv->base_url, sizeof(srv->base_url), "%s://127.0.0.1:%u", tls ? "https" : "http",
             (unsigned)srv->port);
    return 0;
}

void emu_server_stop(emu_server_t *srv)
{
    if (srv->daemon != NULL) {
        MHD_stop_daemon(srv->daemon);
        srv->daemon = NULL;
    }
}
