/*
 * dp_proc: child processes for integration tests (see dp_proc.h).
 */
#define _GNU_SOURCE
#include "dp_proc.h"
#include "dp_test.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int dp_proc_start(dp_proc_t *proc, char *const argv[], int capture_stdout, const char *stderr_path)
{
    int pfd[2] = {-1, -1};
    pid_t pid;

    memset(proc, 0, sizeof(*proc));
    proc->out_fd = -1;
    if (capture_stdout && pipe2(pfd, O_CLOEXEC) < 0)
        return -1;
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        if (pfd[0] >= 0) {
            close(pfd[0]);
            close(pfd[1]);
        }
        return -1;
    }
    if (pid == 0) {
        if (capture_stdout)
            dup2(pfd[1], STDOUT_FILENO);
        if (stderr_path) {
            int fd = open(stderr_path, O_WRONLY | O_CREAT | O_APPEND, 0644);

            if (fd >= 0)
                dup2(fd, STDERR_FILENO);
        }
        signal(SIGPIPE, SIG_DFL);
        execvp(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    if (capture_stdout) {
        close(pfd[1]);
        proc->out_fd = pfd[0];
    }
    proc->pid = pid;
    return 0;
}

static int take_line(dp_proc_t *proc, char *line, size_t linelen)
{
    char *nl = memchr(proc->rbuf, '\n', proc->rlen);
    size_t n;

    if (!nl)
        return -1;
    n = (size_t)(nl - proc->rbuf);
    if (linelen > 0) {
        size_t c = n < linelen - 1 ? n : linelen - 1;

        memcpy(line, proc->rbuf, c);
        line[c] = '\0';
    }
    memmove(proc->rbuf, nl + 1, proc->rlen - n - 1);
    proc->rlen -= n + 1;
    return 0;
}

int dp_proc_read_line(dp_proc_t *proc, char *line, size_t linelen, long timeout_ms)
{
    long long deadline = dp_test_now_ms() + timeout_ms;

    if (proc->out_fd < 0)
        return -1;
    for (;;) {
        struct pollfd p = {proc->out_fd, POLLIN, 0};
        long long left;
        ssize_t r;

        if (take_line(proc, line, linelen) == 0)
            return 0;
        if (proc->rlen == sizeof(proc->rbuf))
            proc->rlen = 0; /* an overlong line: drop it */
        left = deadline - dp_test_now_ms();
        if (left <= 0)
            return -1;
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        r = read(proc->out_fd, proc->rbuf + proc->rlen, sizeof(proc->rbuf) - proc->rlen);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        proc->rlen += (size_t)r;
    }
}

int dp_proc_wait_prefix(dp_proc_t *proc, const char *prefix, char *rest, size_t restlen,
                        long timeout_ms)
{
    long long deadline = dp_test_now_ms() + timeout_ms;
    char line[4096];
    size_t plen = strlen(prefix);

    for (;;) {
        long long left = deadline - dp_test_now_ms();

        if (left <= 0 || dp_proc_read_line(proc, line, sizeof(line), (long)left) < 0)
            return -1;
        if (strncmp(line, prefix, plen) == 0) {
            snprintf(rest, restlen, "%s", line + plen);
            return 0;
        }
    }
}

void dp_proc_signal(dp_proc_t *proc, int sig)
{
    if (proc->pid > 0 && !proc->exited)
        kill(proc->pid, sig);
}

static int decode_status(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

int dp_proc_wait(dp_proc_t *proc, long timeout_ms)
{
    long long deadline = dp_test_now_ms() + timeout_ms;

    if (proc->pid <= 0)
        return -1;
    while (!proc->exited) {
        pid_t r = waitpid(proc->pid, &proc->status, WNOHANG);

        if (r == proc->pid) {
            proc->exited = 1;
            break;
        }
        if (r < 0 && errno != EINTR)
            return -1;
        if (dp_test_now_ms() >= deadline)
            return -1;
        dp_test_sleep_ms(10);
    }
    return decode_status(proc->status);
}

int dp_proc_stop(dp_proc_t *proc, long grace_ms)
{
    int rc = -1;

    if (proc->pid > 0) {
        dp_proc_signal(proc, SIGTERM);
        rc = dp_proc_wait(proc, grace_ms);
        if (rc < 0) {
            dp_proc_signal(proc, SIGKILL);
            rc = dp_proc_wait(proc, 5000);
        }
    }
    if (proc->out_fd >= 0) {
        close(proc->out_fd);
        proc->out_fd = -1;
    }
    return rc;
}

int dp_proc_run(char *const argv[], char *out, size_t outlen, long timeout_ms)
{
    dp_proc_t proc;
    long long deadline = dp_test_now_ms() + timeout_ms;
    size_t len = 0;
    int rc;

    if (dp_proc_start(&proc, argv, 1, NULL) < 0)
        return -1;
    for (;;) {
        struct pollfd p = {proc.out_fd, POLLIN, 0};
        long long left = deadline - dp_test_now_ms();
        char tmp[4096];
        ssize_t r;

        if (left <= 0)
            break;
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        r = read(proc.out_fd, tmp, sizeof(tmp));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (out && outlen > 1 && len < outlen - 1) {
            size_t c = (size_t)r < outlen - 1 - len ? (size_t)r : outlen - 1 - len;

            memcpy(out + len, tmp, c);
            len += c;
        }
    }
    if (out && outlen)
        out[len] = '\0';
    rc = dp_proc_wait(&proc,
                      deadline - dp_test_now_ms() > 0 ? (long)(deadline - dp_test_now_ms()) : 1);
    if (rc < 0) {
        dp_proc_signal(&proc, SIGKILL);
        dp_proc_wait(&proc, 5000);
        rc = -1;
    }
    close(proc.out_fd);
    return rc;
}
