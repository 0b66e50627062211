/*
 * Unit tests of the OAuth token request on the wire (src/dbx/oauth.c),
 * against a one-shot HTTP listener in the test: the form body carries the
 * scope percent-encoded (a space, '&' or '=' in a scope cannot add or change
 * a form field), and the client credentials travel only in the Basic header.
 */
#define _GNU_SOURCE
#include "dbx/http.h"
#include "dbx/oauth.h"
#include "dp_test.h"
#include "log.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct capture {
    int fd;
    char request[8192];
    size_t len;
} capture_t;

/* Accepts one connection, reads one request (headers and Content-Length
 * body), answers a token, and keeps the request's bytes. */
static void *serve_one(void *arg)
{
    static const char json[] = "{\"access_token\":\"tok-1\",\"expires_in\":600}";
    char reply[512];
    capture_t *c = arg;
    int conn = accept(c->fd, NULL, NULL);
    char *hdr_end = NULL;
    long body = -1;

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
            long long v = 0;

            body = cl && dp_test_parse_ll(cl + 17 + strspn(cl + 17, " "), "\r", &v) == 0 ? v : 0;
        }
        if (hdr_end && (long)(c->len - (size_t)(hdr_end + 4 - c->request)) >= body)
            break;
    }
    snprintf(reply, sizeof(reply),
             "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
             "Content-Length: %zu\r\n\r\n%s",
             strlen(json), json);
    if (send(conn, reply, strlen(reply), MSG_NOSIGNAL) < 0)
        perror("serve_one: send");
    close(conn);
    return NULL;
}

static void test_oauth_scope_is_form_encoded(void)
{
    dp_oauth_config_t ocfg = {"sp-id", "sp-secret", NULL, "all-apis sql&extra=1 \xc3\xa9", 0};
    dp_dbx_config_t http;
    struct sockaddr_in addr;
    socklen_t alen = sizeof(addr);
    capture_t cap;
    pthread_t th;
    char host[64], token[256];
    const char *body;
    dp_oauth_t *oauth;
    dp_err_t err;
    int rc;

    memset(&cap, 0, sizeof(cap));
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cap.fd = socket(AF_INET, SOCK_STREAM, 0);
    DP_ASSERT_FATAL_MSG(cap.fd >= 0 && bind(cap.fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 &&
                            listen(cap.fd, 1) == 0 &&
                            getsockname(cap.fd, (struct sockaddr *)&addr, &alen) == 0,
                        "cannot listen on loopback");
    snprintf(host, sizeof(host), "http://127.0.0.1:%u", (unsigned)ntohs(addr.sin_port));
    pthread_create(&th, NULL, serve_one, &cap);
    memset(&http, 0, sizeof(http));
    http.host = host;
    http.allow_insecure_http = 1;
    http.retry.max_attempts = 1;
    oauth = dp_oauth_new(&ocfg, &http, &err);
    DP_ASSERT_MSG(oauth != NULL, "dp_oauth_new: %s", err.msg);
    rc = oauth ? dp_oauth_token(oauth, NULL, token, sizeof(token), &err) : -1;
    pthread_join(th, NULL);
    close(cap.fd);
    dp_oauth_destroy(oauth);
    DP_ASSERT_MSG(rc == 0 && strcmp(token, "tok-1") == 0, "expected token tok-1, got %d: %s", rc,
                  err.msg);
    body = strstr(cap.request, "\r\n\r\n");
    DP_ASSERT_FATAL_MSG(body != NULL, "no request captured: %s", cap.request);
    body += 4;
    DP_ASSERT_MSG(strcmp(body, "grant_type=client_credentials&scope=all-apis%20sql%26extra%3D1%20"
                               "%C3%A9") == 0,
                  "expected the scope percent-encoded, got body '%s'", body);
    /* base64("sp-id:sp-secret") */
    DP_ASSERT_MSG(strstr(cap.request, "Authorization: Basic c3AtaWQ6c3Atc2VjcmV0\r\n") != NULL,
                  "expected the client credentials in the Basic header, got:\n%s", cap.request);
    DP_ASSERT_MSG(strstr(body, "sp-secret") == NULL, "the secret must not be in the form body");
}

static const dp_test_case_t k_cases[] = {
    {"test_oauth_scope_is_form_encoded", test_oauth_scope_is_form_encoded},
    {NULL, NULL},
};

static const dp_test_suite_t k_suites[] = {
    {"oauth_wire", NULL, NULL, k_cases},
    {NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
    dp_log_set_level(DP_LOG_ERROR);
    return dp_test_main(argc, argv, k_suites);
}
