/*
 * httpd: /metrics, /healthz and /readyz on libmicrohttpd (see httpd.h).
 * Every response is built whole in memory and handed to libmicrohttpd, which
 * frees it; a request body is never read.
 */
#include "ops/httpd.h"

#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "ops/health.h"
#include "ops/metrics.h"

#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define METRICS_MAX (8u * 1024 * 1024)
#define HOST_MAX    256

struct dp_httpd {
    struct MHD_Daemon *daemon;
    int port;
};

/* ------------------------------------------------------------------------- */
/* Requests                                                                  */
/* ------------------------------------------------------------------------- */

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type,
                             void *body, size_t len)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    /* MUST_FREE: libmicrohttpd calls free() on body, which came from malloc. */
    resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
    size_t len = strlen(text);
    char *body = dp_malloc(len + 1);

    memcpy(body, text, len);
    body[len] = '\n';
    return reply(conn, status, "text/plain; charset=utf-8", body, len + 1);
}

static enum MHD_Result serve_metrics(struct MHD_Connection *conn)
{
    dp_buf_t buf;
    dp_err_t err;
    unsigned char *data;
    size_t len;

    dp_buf_init(&buf, METRICS_MAX);
    if (dp_metrics_render(&buf, &err) < 0) {
        dp_buf_free(&buf);
        dp_log(DP_LOG_ERROR, "httpd", "/metrics: %s", err.msg);
        return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "metrics too large");
    }
    data = dp_buf_detach(&buf, &len);
    if (!data) {
        /* nothing was rendered: an empty body still needs a buffer to free */
        data = dp_malloc(1);
        len = 0;
    }
    return reply(conn, MHD_HTTP_OK, DP_METRICS_CONTENT_TYPE, data, len);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    char why[512];

    (void)cls;
    (void)version;
    (void)upload_data;
    (void)con_cls;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD");
    if (*upload_data_size != 0) {
        *upload_data_size = 0; /* ignore a body sent with GET */
        return MHD_YES;
    }
    if (strcmp(url, "/metrics") == 0)
        return serve_metrics(conn);
    if (strcmp(url, "/healthz") == 0) {
        int live = dp_health_live(why, sizeof(why));

        return reply_text(conn, live ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, why);
    }
    if (strcmp(url, "/readyz") == 0) {
        int ready = dp_health_ready(why, sizeof(why));

        return reply_text(conn, ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, why);
    }
    return reply_text(conn, MHD_HTTP_NOT_FOUND, "not found: try /metrics, /healthz, /readyz");
}

/* ------------------------------------------------------------------------- */
/* Start and stop                                                            */
/* ------------------------------------------------------------------------- */

/* Splits "host:port", ":port" or "[v6]:port" into host (empty: any IPv4
 * address) and port text. Returns 0 or DP_EINVAL. */
static int split_listen(const char *listen, char *host, size_t hostlen, const char **port,
                        dp_err_t *err)
{
    const char *colon = listen ? strrchr(listen, ':') : NULL;
    const char *h = listen;
    size_t n;

    if (!colon || !colon[1])
        return dp_err_set(err, DP_EINVAL, 0, "httpd: listen address \"%s\" is not host:port",
                          listen ? listen : "");
    n = (size_t)(colon - listen);
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
        h++;
        n -= 2;
    }
    if (n >= hostlen)
        return dp_err_set(err, DP_EINVAL, 0, "httpd: listen host too long");
    memcpy(host, h, n);
    host[n] = '\0';
    *port = colon + 1;
    return 0;
}

dp_httpd_t *dp_httpd_start(const char *listen, dp_err_t *err)
{
    char host[HOST_MAX];
    const char *port = NULL;
    struct addrinfo hints, *ai = NULL;
    dp_httpd_t *httpd = NULL;
    const union MHD_DaemonInfo *info;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;
    int gai;

    if (split_listen(listen, host, sizeof(host), &port, err) < 0)
        goto out;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    gai = getaddrinfo(host[0] ? host : "0.0.0.0", port, &hints, &ai);
    if (gai != 0) {
        dp_err_set(err, DP_EINVAL, 0, "httpd: listen address \"%s\": %s", listen,
                   gai_strerror(gai));
        goto out;
    }
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    httpd = dp_calloc(1, sizeof(*httpd));
    httpd->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, httpd, MHD_OPTION_SOCK_ADDR,
                                     ai->ai_addr, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
                                     MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_END);
    if (!httpd->daemon) {
        dp_err_set(err, DP_EIO, 0, "httpd: cannot listen on %s (address in use or not local?)",
                   listen);
        free(httpd);
        httpd = NULL;
        goto out;
    }
    info = MHD_get_daemon_info(httpd->daemon, MHD_DAEMON_INFO_BIND_PORT);
    httpd->port = info ? (int)info->port : -1;
    dp_log(DP_LOG_INFO, "httpd", "serving /metrics, /healthz and /readyz on %s (port %d)", listen,
           httpd->port);
out:
    if (ai)
        freeaddrinfo(ai);
    return httpd;
}

int dp_httpd_port(const dp_httpd_t *httpd)
{
    return httpd ? httpd->port : -1;
}

void dp_httpd_stop(dp_httpd_t *httpd)
{
    if (!httpd)
        return;
    if (httpd->daemon)
        MHD_stop_daemon(httpd->daemon);
    free(httpd);
}
