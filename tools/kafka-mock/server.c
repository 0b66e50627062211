/*
 * server: the control socket of deltaport-kafka-mock and the program's one event loop.
 *
 * A single thread poll()s the signal self-pipe, the listening Unix socket and up to
 * KM_MAX_CONNS client connections. Each connection has its own line buffer; every complete
 * line is executed in arrival order and answered with one line before the next is read, so
 * a client that pipelines commands gets its replies in order. A line longer than
 * KM_LINE_MAX gets one ERR and is skipped up to its newline; the connection stays usable.
 * The loop ends on a signal (the handler only writes a byte to the self-pipe) or after a quit
 * command has been answered.
 */
#include "kmock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define KM_MAX_CONNS 32

typedef struct conn {
    int fd;                /* -1 when the slot is free */
    size_t len;            /* bytes buffered in buf */
    int skipping;          /* 1 while dropping the rest of an overlong line */
    char buf[KM_LINE_MAX]; /* received bytes not yet ending in a newline */
} conn_t;

typedef struct server {
    km_t *km;
    int listen_fd;
    int sig_fd;
    conn_t conns[KM_MAX_CONNS];
    char reply[KM_REPLY_MAX + 1];
} server_t;

int km_server_open(const char *path, char *errstr, size_t errlen)
{
    struct sockaddr_un sa;
    int fd;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa.sun_path)) {
        snprintf(errstr, errlen, "control path longer than %zu bytes: %s", sizeof(sa.sun_path) - 1,
                 path);
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        goto fail;
    /* A socket file nobody answers on is left over from a dead run: replace it. One that
     * answers belongs to a live mock, which must not be taken over. */
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
        close(fd);
        snprintf(errstr, errlen, "control socket %s is in use by a running program", path);
        return -1;
    }
    close(fd);
    unlink(path);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0)
        goto fail;
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        goto fail;
    return fd;
fail:
    snprintf(errstr, errlen, "control socket %s: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    return -1;
}

static void conn_close(conn_t *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->len = 0;
    c->skipping = 0;
}

/* Writes all of buf; the socket is blocking and replies are small. Returns 0 or -1. */
static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = send(fd, buf, len, MSG_NOSIGNAL);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

static int send_reply(server_t *srv, conn_t *c)
{
    size_t n = strlen(srv->reply);

    srv->reply[n] = '\n';
    return write_all(c->fd, srv->reply, n + 1);
}

/* Drops bytes up to and including the newline that ends an overlong line. */
static void skip_overlong(conn_t *c)
{
    char *nl = memchr(c->buf, '\n', c->len);
    size_t n;

    if (!nl) {
        c->len = 0;
        return;
    }
    n = (size_t)(nl - c->buf) + 1;
    memmove(c->buf, nl + 1, c->len - n);
    c->len -= n;
    c->skipping = 0;
}

/* Executes every complete line in c's buffer. Returns 0, or -1 to close c. */
static int conn_lines(server_t *srv, conn_t *c)
{
    char *nl;

    if (c->skipping)
        skip_overlong(c);
    while (!c->skipping && !srv->km->quit && (nl = memchr(c->buf, '\n', c->len)) != NULL) {
        size_t n = (size_t)(nl - c->buf);

        *nl = '\0';
        if (n > 0 && c->buf[n - 1] == '\r')
            c->buf[n - 1] = '\0';
        km_control_exec(srv->km, c->buf, srv->reply, KM_REPLY_MAX);
        if (send_reply(srv, c) < 0)
            return -1;
        memmove(c->buf, nl + 1, c->len - n - 1);
        c->len -= n + 1;
    }
    if (c->len == sizeof(c->buf)) {
        snprintf(srv->reply, KM_REPLY_MAX, "ERR command longer than %d bytes", KM_LINE_MAX - 1);
        if (send_reply(srv, c) < 0)
            return -1;
        c->len = 0;
        c->skipping = 1;
    }
    return 0;
}

static void conn_readable(server_t *srv, conn_t *c)
{
    ssize_t r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);

    if (r < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (r <= 0) {
        conn_close(c);
        return;
    }
    c->len += (size_t)r;
    if (conn_lines(srv, c) < 0)
        conn_close(c);
}

static void accept_one(server_t *srv)
{
    int fd = accept(srv->listen_fd, NULL, NULL);
    int i;

    if (fd < 0)
        return;
    for (i = 0; i < KM_MAX_CONNS; i++) {
        if (srv->conns[i].fd < 0) {
            srv->conns[i].fd = fd;
            srv->conns[i].len = 0;
            srv->conns[i].skipping = 0;
            return;
        }
    }
    snprintf(srv->reply, KM_REPLY_MAX, "ERR too many control connections (%d)", KM_MAX_CONNS);
    srv->reply[strlen(srv->reply)] = '\n';
    write_all(fd, srv->reply, strlen(srv->reply));
    close(fd);
}

/* Builds the poll set: [0] signal pipe, [1] listener (may be -1), then connections.
 * slot[i] maps pollfd i to its connection. Returns the pollfd count. */
static int build_pollset(server_t *srv, struct pollfd *pfds, int *slot)
{
    int n = 0, i;

    pfds[n].fd = srv->sig_fd;
    pfds[n++].events = POLLIN;
    pfds[n].fd = srv->listen_fd;
    pfds[n++].events = POLLIN;
    for (i = 0; i < KM_MAX_CONNS; i++) {
        if (srv->conns[i].fd < 0)
            continue;
        slot[n] = i;
        pfds[n].fd = srv->conns[i].fd;
        pfds[n++].events = POLLIN;
    }
    return n;
}

int km_server_run(km_t *km, int listen_fd, int sig_fd)
{
    server_t *srv = calloc(1, sizeof(*srv));
    struct pollfd pfds[KM_MAX_CONNS + 2];
    int slot[KM_MAX_CONNS + 2];
    int i, n;

    if (!srv)
        return -1;
    srv->km = km;
    srv->listen_fd = listen_fd;
    srv->sig_fd = sig_fd;
    for (i = 0; i < KM_MAX_CONNS; i++)
        srv->conns[i].fd = -1;
    while (!km->quit) {
        memset(pfds, 0, sizeof(pfds));
        n = build_pollset(srv, pfds, slot);
        if (poll(pfds, (nfds_t)n, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pfds[0].revents)
            break;
        if (pfds[1].revents & POLLIN)
            accept_one(srv);
        for (i = 2; i < n && !km->quit; i++) {
            if (pfds[i].revents)
                conn_readable(srv, &srv->conns[slot[i]]);
        }
    }
    for (i = 0; i < KM_MAX_CONNS; i++)
        conn_close(&srv->conns[i]);
    free(srv);
    return 0;
}
