/*
 * http_capture: one-shot HTTP listener (see http_capture.h).
 */
#define _GNU_SOURCE
#include "http_capture.h"

#include "dp_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void *serve_one(void *arg)
{
    dp_http_capture_t *c = arg;
    int conn = accept(c->fd, NULL, NULL);
    char *hdr_end = NULL, reply[1400];
    long long body = -1;

    if (conn < 0)
        return NULL;
    while (c->len < sizeof(c->request) - 1) {
        ssize_t n = recv(conn, c->request + c->len, sizeof(c->request) - 1 - c->len, 0);

        if (n <= 0)
            break;
        c->len += (size_t)n;
        c->request[c->len] = '\0';
        hdr_end = strstr(c->request, "\r\n\r\n");
        if (hdr_end && body < 0) {
            const char *cl = strcasestr(c->request, "\r\nContent-Length:");

            if (!cl || dp_test_parse_ll(cl + 17 + strspn(cl + 17, " "), "\r", &body) < 0)
                body = 0;
        }
        if (hdr_end && (long long)(c->len - (size_t)(hdr_end + 4 - c->request)) >= body)
            break;
    }
    snprintf(reply, sizeof(reply),
             "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
             "Content-Length: %zu\r\n\r\n%s",
             strlen(c->reply_json), c->reply_json);
    if (send(conn, reply, strlen(reply), MSG_NOSIGNAL) < 0)
        perror("http_capture: send");
    close(conn);
    return NULL;
}

int dp_http_capture_start(dp_http_capture_t *cap, const char *reply_json)
{
    struct sockaddr_in addr;
    socklen_t alen = sizeof(addr);

    memset(cap, 0, sizeof(*cap));
    snprintf(cap->reply_json, sizeof(cap->reply_json), "%s", reply_json);
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cap->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (cap->fd < 0 || bind(cap->fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
        listen(cap->fd, 1) != 0 || getsockname(cap->fd, (struct sockaddr *)&addr, &alen) != 0) {
        if (cap->fd >= 0)
            close(cap->fd);
        cap->fd = -1;
        return -1;
    }
    snprintf(cap->url, sizeof(cap->url), "http://127.0.0.1:%u", (unsigned)ntohs(addr.sin_port));
    if (pthread_create(&cap->thread, NULL, serve_one, cap) != 0) {
        close(cap->fd);
        cap->fd = -1;
        return -1;
    }
    return 0;
}

void dp_http_capture_finish(dp_http_capture_t *cap)
{
    if (cap->fd < 0)
        return;
    pthread_join(cap->thread, NULL);
    close(cap->fd);
    cap->fd = -1;
}

const char *dp_http_capture_body(const dp_http_capture_t *cap)
{
    const char *p = strstr(cap->request, "\r\n\r\n");

    return p ? p + 4 : NULL;
}
