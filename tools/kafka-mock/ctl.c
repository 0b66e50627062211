/*
 * ctl: the script-side client of the control channel (`deltaport-kafka-mock ctl SOCK CMD...`).
 *
 * Sends one command line, reads exactly one reply line and prints it. The exit status is the
 * answer for shell scripts: 0 for OK, 1 for ERR, 2 when no reply could be had (no socket,
 * timeout, reply cut short).
 */
#include "kmock.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Longest wait for a reply; watermarks against a down broker answer within about 8 s. */
#define KM_CTL_TIMEOUT_MS 30000

static int ctl_connect(const char *path)
{
    struct sockaddr_un sa;
    int fd;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "kafka-mock ctl: socket path too long: %s\n", path);
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        fprintf(stderr, "kafka-mock ctl: connect %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* Joins argv with single spaces and a trailing newline. Returns the length or -1. */
static int join_command(int argc, char **argv, char *out, size_t outlen)
{
    size_t len = 0;
    int i, n;

    for (i = 0; i < argc; i++) {
        n = snprintf(out + len, outlen - len, "%s%s", i ? " " : "", argv[i]);
        if (n < 0 || (size_t)n >= outlen - len)
            return -1;
        len += (size_t)n;
    }
    if (len + 1 >= outlen)
        return -1;
    out[len++] = '\n';
    out[len] = '\0';
    return (int)len;
}

/* Reads up to the first newline into buf (NUL-terminated, newline removed). 0 or -1. */
static int read_reply(int fd, char *buf, size_t buflen)
{
    size_t len = 0;

    while (len + 1 < buflen) {
        struct pollfd p = {fd, POLLIN, 0};
        ssize_t r;
        char *nl;

        if (poll(&p, 1, KM_CTL_TIMEOUT_MS) <= 0)
            return -1;
        r = read(fd, buf + len, buflen - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        len += (size_t)r;
        buf[len] = '\0';
        nl = strchr(buf, '\n');
        if (nl) {
            *nl = '\0';
            return 0;
        }
    }
    return -1;
}

int km_ctl_main(const char *path, int argc, char **argv)
{
    char *line = malloc(KM_REPLY_MAX + 2);
    int fd = -1, rc = 2, len;
    ssize_t w;

    if (!line)
        return 2;
    len = join_command(argc, argv, line, KM_LINE_MAX);
    if (len < 0) {
        fprintf(stderr, "kafka-mock ctl: command longer than %d bytes\n", KM_LINE_MAX - 1);
        goto out;
    }
    fd = ctl_connect(path);
    if (fd < 0)
        goto out;
    w = send(fd, line, (size_t)len, MSG_NOSIGNAL);
    if (w != len || read_reply(fd, line, KM_REPLY_MAX + 2) < 0) {
        fprintf(stderr, "kafka-mock ctl: no reply from %s\n", path);
        goto out;
    }
    printf("%s\n", line);
    rc = strncmp(line, "OK", 2) == 0 ? 0 : 1;
out:
    if (fd >= 0)
        close(fd);
    free(line);
    return rc;
}
