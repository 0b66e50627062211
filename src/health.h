/*
 * health: what /healthz and /readyz answer (design.md "Settled decisions:
 * Probes", operations-notes.md section 4).
 *
 * Liveness: the poll thread and the loader thread each beat a heartbeat (the
 * loader also while it waits on Databricks, the poll thread also while it
 * waits for a revoke or shutdown drain); the process is live while every
 * heartbeat is younger than http.liveness_max_age_ms. Kafka or Databricks
 * outages do not stop the beats, so they never fail liveness: a restart would
 * only cause a rebalance.
 *
 * Readiness: initialised (configuration valid, worker created and subscribed,
 * HTTP up) and not shutting down. It does not follow partition assignment or
 * Databricks' health, so rebalances and outages do not flap it.
 *
 * State is a few process-wide atomics; one process is one worker.
 * Thread: every function may be called from any thread; dp_health_stopping()
 * is also async-signal-safe (a lock-free atomic store).
 */
#ifndef DP_HEALTH_H
#define DP_HEALTH_H

#include <stddef.h>

typedef enum {
    DP_HEALTH_POLL = 0, /* the worker's poll thread */
    DP_HEALTH_LOADER,   /* the loader thread */
    DP_HEALTH_COUNT_
} dp_health_thread_t;

/* Starts watching: every heartbeat is set to now, not ready, not stopping.
 * max_age_ms is the liveness threshold (http.liveness_max_age_ms). */
void dp_health_init(long long max_age_ms);

/* Records that thread t made progress now. Cheap: one clock read and one
 * relaxed store. */
void dp_health_beat(dp_health_thread_t t);

/* The same with a given monotonic time in ms (tests, and callers that have
 * just read the clock). */
void dp_health_beat_at(dp_health_thread_t t, long long now_ms);

/* Marks the worker initialised (ready = 1) or not. */
void dp_health_set_ready(int ready);

/* Marks the worker shutting down: /readyz fails from now on. Async-signal-safe. */
void dp_health_stopping(void);

/* 1 when live at now_ms; else 0 and why (may be NULL) names the stale thread
 * and its age. */
int dp_health_live_at(long long now_ms, char *why, size_t len);
int dp_health_live(char *why, size_t len);

/* 1 when ready; else 0 and why (may be NULL) says "starting" or
 * "shutting down". */
int dp_health_ready(char *why, size_t len);

/* The monotonic clock in milliseconds. */
long long dp_health_now_ms(void);

#endif
