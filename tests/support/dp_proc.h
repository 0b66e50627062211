/*
 * dp_proc: child processes for integration tests (the embedded Kafka, the
 * Databricks emulator, workers, kcat). A child's stdout is a pipe the test
 * reads line by line with a deadline; its stderr goes to a log file (or is
 * inherited) so that a failing test shows what the child said.
 */
#ifndef DP_PROC_H
#define DP_PROC_H

#include <stddef.h>
#include <sys/types.h>

typedef struct dp_proc {
    pid_t pid;
    int out_fd;      /* read end of the child's stdout, -1 when not captured */
    char rbuf[8192]; /* bytes read but not yet returned as lines */
    size_t rlen;
    int exited; /* 1 once waited for */
    int status; /* waitpid status once exited */
} dp_proc_t;

/* Starts argv[0] (searched in PATH when it has no '/') with stdout captured
 * when capture_stdout is set, and stderr appended to stderr_path when given.
 * Returns 0, or -1 with errno set. */
int dp_proc_start(dp_proc_t *proc, char *const argv[], int capture_stdout, const char *stderr_path);

/* Reads the next line of the child's stdout (without the newline) into line,
 * waiting at most timeout_ms. Returns 0, or -1 on timeout, EOF or error. */
int dp_proc_read_line(dp_proc_t *proc, char *line, size_t linelen, long timeout_ms);

/* Reads lines until one starts with prefix; copies the rest of that line after
 * the prefix into rest. Returns 0 or -1 (timeout or EOF). */
int dp_proc_wait_prefix(dp_proc_t *proc, const char *prefix, char *rest, size_t restlen,
                        long timeout_ms);

/* Sends sig to the child (no-op once it exited). */
void dp_proc_signal(dp_proc_t *proc, int sig);

/* Waits for the child for at most timeout_ms. Returns its exit code (0..255),
 * 128+signal when killed by a signal, or -1 on timeout. */
int dp_proc_wait(dp_proc_t *proc, long timeout_ms);

/* SIGTERM, wait up to grace_ms, then SIGKILL; closes the pipe. Returns the
 * exit status as dp_proc_wait() does. Safe on a zeroed or stopped proc. */
int dp_proc_stop(dp_proc_t *proc, long grace_ms);

/* Runs argv to completion with stdout captured into out (NUL-terminated,
 * truncated to outlen-1) and returns its exit status as dp_proc_wait() does,
 * -1 on timeout (the child is killed). */
int dp_proc_run(char *const argv[], char *out, size_t outlen, long timeout_ms);

#endif
