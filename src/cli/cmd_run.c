/*
 * cmd_run: `deltaport run --config FILE` (see cmd_run.h). Loads and finalizes
 * the configuration, sets the log level, runs the worker until a signal, and
 * maps the outcome to an exit status. The signal handlers only set a flag.
 */
#include "cli/cmd_run.h"

#include "cli/cli.h"
#include "config/config.h"
#include "core/log.h"
#include "kafka/kstats.h"
#include "ops/health.h"
#include "ops/httpd.h"
#include "ops/metrics.h"
#include "ops/progress.h"
#include "worker.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Leaving the group and stopping threads after the drain. */
#define SHUTDOWN_GRACE_MS 5000

static const char run_help[] =
    "usage: deltaport run --config FILE\n"
    "\n"
    "Runs one worker of the pool until SIGTERM or SIGINT: consumes the configured topics,\n"
    "loads into Databricks, commits after each load. On the first signal it loads and\n"
    "commits what it holds (within worker.shutdown_timeout_ms); a second signal exits at\n"
    "once (what is not committed is read again by the next owner).\n"
    "\n"
    "options:\n"
    "  -c, --config FILE   the configuration (docs/CONFIGURATION.md); secrets come from\n"
    "                      the environment or *_file settings\n"
    "  -h, --help          this text\n"
    "\n"
    "Logs: one JSON object per line on stderr. HTTP: /metrics, /healthz, /readyz on\n"
    "http.listen. Exit status: 0 after a clean stop, 1 when the worker could not run,\n"
    "2 for a usage error.\n";

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    static const char msg[] = "{\"level\":\"warn\",\"module\":\"main\",\"msg\":\"second "
                              "signal: exiting at once; what is not committed is read again\"}\n";
    ssize_t r;

    (void)sig;
    if (stop_flag) {
        /* Async-signal-safe: write and _exit only. Nothing is lost: offsets
         * are committed only after loads. */
        r = write(STDERR_FILENO, msg, sizeof(msg) - 1);
        (void)r;
        _exit(1);
    }
    stop_flag = 1;
    dp_health_stopping(); /* /readyz fails from now on (lock-free atomic store) */
}

/* The shutdown deadline: once a stop was asked for, the process exits after
 * worker.shutdown_timeout_ms plus a grace for leaving the group, whatever
 * is still running (an HTTP call, a COPY INTO). Exiting without committing
 * loses nothing: the next owner reads those offsets again. The exit status
 * is 3, so that a supervisor can tell a forced stop from a clean one. */
#define EXIT_FORCED 3
static void *watchdog(void *arg)
{
    long long limit_ms = *(const long long *)arg;
    struct timespec tick = {0, 100 * 1000000L};
    long long waited = 0;

    while (!stop_flag)
        nanosleep(&tick, NULL);
    for (waited = 0; waited < limit_ms; waited += 100)
        nanosleep(&tick, NULL);
    dp_log(DP_LOG_ERROR, "main",
           "shutdown deadline of %lld ms passed: exiting without "
           "committing what is still loading",
           limit_ms);
    _exit(EXIT_FORCED);
    return NULL;
}

int dp_cmd_run(int argc, char **argv)
{
    const char *path = NULL;
    dp_config_t *cfg = NULL;
    dp_worker_t *worker = NULL;
    dp_httpd_t *httpd = NULL;
    static long long deadline_ms; /* read by the watchdog thread */
    pthread_t wd;
    dp_worker_stats_t st;
    struct sigaction sa;
    dp_err_t err;
    int rc = 1;

    const dp_cli_opt_t opts[] = {
        {"config", 'c', DP_CLI_STRING, &path, "FILE", 1, 0, NULL},
        {NULL, 0, 0, NULL, NULL, 0, 0, NULL},
    };
    const dp_cli_spec_t spec = {"run", run_help, opts, 0, 0, NULL};
    int nargs, prc;

    if ((prc = dp_cli_parse(&spec, argc, argv, NULL, &nargs, stdout, stderr)) != DP_CLI_OK)
        return dp_cli_exit(prc);
    cfg = dp_config_load(path, &err);
    if (!cfg || dp_config_finalize(cfg, &err) < 0) {
        fprintf(stderr, "deltaport: %s\n", err.msg);
        goto out;
    }
    dp_log_set_level((dp_log_level_t)cfg->log.level);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    dp_metrics_reset();
    dp_metrics_set(DP_MG_BUFFER_LIMIT_BYTES, cfg->flush.memory_budget_bytes);
    dp_health_init(cfg->http.liveness_max_age_ms);
    dp_health_set_broker_timeout(cfg->http.readiness_broker_timeout_ms);
    dp_progress_init(cfg->log.progress_interval_s);
    /* Not fatal: the data path never depends on the metrics port. In a pod
     * the port is always free; where several workers share a host (the demo,
     * tests) only the first gets it. Without it the liveness probe fails,
     * which names the cause in the pod's events. */
    httpd = dp_httpd_start(cfg->http.listen, &err);
    if (!httpd)
        dp_log(DP_LOG_ERROR, "main", "%s: /metrics, /healthz and /readyz are unavailable", err.msg);
    worker = dp_worker_new(cfg, &stop_flag, &err);
    if (!worker) {
        dp_log(DP_LOG_ERROR, "main", "cannot start the worker: %s", err.msg);
        goto out;
    }
    dp_health_set_ready(1);
    deadline_ms = cfg->worker.shutdown_timeout_ms + SHUTDOWN_GRACE_MS;
    if (pthread_create(&wd, NULL, watchdog, &deadline_ms) == 0)
        pthread_detach(wd);
    if (dp_worker_run(worker, &err) < 0) {
        dp_log(DP_LOG_ERROR, "main", "worker failed: %s", err.msg);
        goto out;
    }
    dp_worker_stats(worker, &st);
    dp_log(DP_LOG_INFO, "main",
           "stopped: consumed %llu, rows %llu, rejected %llu, flushes %llu, "
           "committed %llu",
           (unsigned long long)st.consumed, (unsigned long long)st.rows,
           (unsigned long long)st.rejected, (unsigned long long)st.flushes,
           (unsigned long long)st.committed);
    rc = 0;
out:
    dp_health_stopping();
    dp_worker_destroy(worker);
    dp_httpd_stop(httpd);
    dp_kstats_reset();
    dp_config_destroy(cfg);
    return rc;
}
