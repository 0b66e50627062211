/*
 * sasl_listener: Kafka ApiVersions + SASL/PLAIN responder (see
 * sasl_listener.h). Wire format: Kafka protocol guide; every request is
 * "int32 size | int16 api_key | int16 api_version | int32 correlation_id |
 * nullable string client_id [| tagged fields when flexible] | body", every
 * response "int32 size | int32 correlation_id | body" (ApiVersions keeps the
 * v0 response header even when its body is flexible).
 */
#define _GNU_SOURCE
#include "sasl_listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

enum { K_METADATA = 3, K_SASL_HANDSHAKE = 17, K_API_VERSIONS = 18, K_SASL_AUTHENTICATE = 36 };
enum {
    E_NONE = 0,
    E_UNSUPPORTED_SASL_MECHANISM = 33,
    E_UNSUPPORTED_VERSION = 35,
    E_SASL_AUTHENTICATION_FAILED = 58
};

typedef struct out {
    unsigned char b[1024];
    size_t n;
} out_t;

static void put16(out_t *o, int v)
{
    o->b[o->n++] = (unsigned char)(v >> 8);
    o->b[o->n++] = (unsigned char)v;
}

static void put32(out_t *o, long v)
{
    for (int s = 24; s >= 0; s -= 8)
        o->b[o->n++] = (unsigned char)(v >> s);
}

static void put64(out_t *o, long long v)
{
    for (int s = 56; s >= 0; s -= 8)
        o->b[o->n++] = (unsigned char)(v >> s);
}

static void put_str(out_t *o, const char *s)
{
    size_t n = strlen(s);

    put16(o, (int)n);
    memcpy(o->b + o->n, s, n);
    o->n += n;
}

static int get16(const unsigned char *p)
{
    return (int16_t)((p[0] << 8) | p[1]);
}

static long get32(const unsigned char *p)
{
    return (int32_t)(((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) |
                     p[3]);
}

static int read_full(int fd, unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t r = recv(fd, p, n, 0);

        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Sends "size | correlation id | body". */
static int reply(int fd, long corr, const out_t *body)
{
    out_t o;

    o.n = 0;
    put32(&o, (long)(4 + body->n));
    put32(&o, corr);
    memcpy(o.b + o.n, body->b, body->n);
    o.n += body->n;
    return send(fd, o.b, o.n, MSG_NOSIGNAL) == (ssize_t)o.n ? 0 : -1;
}

static void api_versions(out_t *o, int version)
{
    static const int keys[][3] = {{K_API_VERSIONS, 0, 3},
                                  {K_SASL_HANDSHAKE, 0, 1},
                                  {K_SASL_AUTHENTICATE, 0, 1},
                                  {K_METADATA, 0, 4}};
    size_t n = sizeof(keys) / sizeof(keys[0]);

    put16(o, E_NONE);
    if (version >= 3) {
        o->b[o->n++] = (unsigned char)(n + 1); /* compact array: N + 1 */
        for (size_t i = 0; i < n; i++) {
            put16(o, keys[i][0]);
            put16(o, keys[i][1]);
            put16(o, keys[i][2]);
            o->b[o->n++] = 0; /* tagged fields */
        }
        put32(o, 0); /* throttle_time_ms */
        o->b[o->n++] = 0;
        return;
    }
    put32(o, (long)n);
    for (size_t i = 0; i < n; i++) {
        put16(o, keys[i][0]);
        put16(o, keys[i][1]);
        put16(o, keys[i][2]);
    }
    if (version >= 1)
        put32(o, 0);
}

/* Checks "[authzid] NUL user NUL password" against the expected pair. */
static int plain_ok(dp_sasl_listener_t *l, const unsigned char *p, size_t n)
{
    const unsigned char *nul1 = memchr(p, 0, n), *nul2;
    size_t ulen, plen;

    if (!nul1)
        return 0;
    nul2 = memchr(nul1 + 1, 0, n - (size_t)(nul1 + 1 - p));
    if (!nul2)
        return 0;
    ulen = (size_t)(nul2 - nul1 - 1);
    plen = n - (size_t)(nul2 + 1 - p);
    return ulen == strlen(l->user) && memcmp(nul1 + 1, l->user, ulen) == 0 &&
           plen == strlen(l->password) && memcmp(nul2 + 1, l->password, plen) == 0;
}

static void count(dp_sasl_listener_t *l, int *field)
{
    pthread_mutex_lock(&l->mu);
    (*field)++;
    pthread_mutex_unlock(&l->mu);
}

/* Serves one connection until the client closes it or asks for anything
 * but authentication. */
static void serve(dp_sasl_listener_t *l, int fd)
{
    unsigned char hdr[4], *req = NULL;
    struct timeval tv = {2, 0};

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    while (!l->stop && read_full(fd, hdr, 4) == 0) {
        long size = get32(hdr), corr;
        int key, version, clen;
        size_t off;
        out_t o;

        if (size < 10 || size > (1 << 20))
            break;
        free(req);
        req = malloc((size_t)size);
        if (!req || read_full(fd, req, (size_t)size) < 0)
            break;
        key = get16(req);
        version = get16(req + 2);
        corr = get32(req + 4);
        clen = get16(req + 8);
        off = 10 + (clen > 0 ? (size_t)clen : 0);
        o.n = 0;
        if (key == K_API_VERSIONS) {
            if (version > 3) {
                put16(&o, E_UNSUPPORTED_VERSION);
                put32(&o, 0);
            } else {
                api_versions(&o, version);
            }
        } else if (key == K_SASL_HANDSHAKE && off + 2 <= (size_t)size) {
            int mlen = get16(req + off);
            int plain =
                mlen == 5 && off + 7 <= (size_t)size && memcmp(req + off + 2, "PLAIN", 5) == 0;

            put16(&o, plain ? E_NONE : E_UNSUPPORTED_SASL_MECHANISM);
            put32(&o, 1);
            put_str(&o, "PLAIN");
            if (plain)
                count(l, &l->handshakes);
        } else if (key == K_SASL_AUTHENTICATE && off + 4 <= (size_t)size) {
            long blen = get32(req + off);
            int ok = blen >= 0 && off + 4 + (size_t)blen <= (size_t)size &&
                     plain_ok(l, req + off + 4, (size_t)blen);

            count(l, ok ? &l->auth_ok : &l->auth_failed);
            put16(&o, ok ? E_NONE : E_SASL_AUTHENTICATION_FAILED);
            if (ok) {
                put16(&o, -1); /* error_message: null */
            } else {
                put_str(&o, "Authentication failed: Invalid username or password");
            }
            put32(&o, 0); /* auth_bytes: empty */
            if (version >= 1)
                put64(&o, ok ? 3600000LL : 0); /* session_lifetime_ms */
        } else {
            break; /* Metadata or anything else: the test has what it needs */
        }
        if (reply(fd, corr, &o) < 0)
            break;
    }
    free(req);
    close(fd);
}

static void *run(void *arg)
{
    dp_sasl_listener_t *l = arg;

    while (!l->stop) {
        struct pollfd p = {l->fd, POLLIN, 0};
        int fd;

        if (poll(&p, 1, 100) <= 0)
            continue;
        fd = accept(l->fd, NULL, NULL);
        if (fd < 0)
            continue;
        count(l, &l->connections);
        serve(l, fd);
    }
    return NULL;
}

int dp_sasl_listener_start(dp_sasl_listener_t *l, const char *user, const char *password)
{
    struct sockaddr_in addr;
    socklen_t alen = sizeof(addr);

    memset(l, 0, sizeof(*l));
    pthread_mutex_init(&l->mu, NULL);
    snprintf(l->user, sizeof(l->user), "%s", user);
    snprintf(l->password, sizeof(l->password), "%s", password);
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    l->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (l->fd < 0 || bind(l->fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
        listen(l->fd, 8) != 0 || getsockname(l->fd, (struct sockaddr *)&addr, &alen) != 0 ||
        pthread_create(&l->thread, NULL, run, l) != 0) {
        if (l->fd >= 0)
            close(l->fd);
        l->fd = -1;
        return -1;
    }
    l->port = ntohs(addr.sin_port);
    snprintf(l->bootstrap, sizeof(l->bootstrap), "127.0.0.1:%d", l->port);
    return 0;
}

void dp_sasl_listener_stop(dp_sasl_listener_t *l)
{
    if (l->fd < 0)
        return;
    l->stop = 1;
    pthread_join(l->thread, NULL);
    close(l->fd);
    l->fd = -1;
    pthread_mutex_destroy(&l->mu);
}

void dp_sasl_listener_counts(dp_sasl_listener_t *l, int *handshakes, int *auth_ok, int *auth_failed)
{
    pthread_mutex_lock(&l->mu);
    *handshakes = l->handshakes;
    *auth_ok = l->auth_ok;
    *auth_failed = l->auth_failed;
    pthread_mutex_unlock(&l->mu);
}
