/*
 * health: what /healthz and /readyz answer.
 *
 * Liveness: the poll thread and the loader thread each beat a heartbeat (the
 * loader also while it waits on Databricks, the poll thread also while it
 * waits for a revoke or shutdown drain); the process is live while every
 * heartbeat is younger than http.liveness_max_age_ms. Kafka or Databricks
 * outages do not stop the beats, so they never fail liveness: a restart would
 * only cause a rebalance, and would not bring a broker back.
 *
 * Readiness: initialised (configuration valid, worker created and subscribed,
 * HTTP up), not shutting down, and a Kafka broker reachable: /readyz fails
 * once librdkafka has reported no broker with an open connection for
 * http.readiness_broker_timeout_ms (0 turns this check off), and its body
 * says so with librdkafka's last error. The broker state comes from
 * librdkafka's statistics (kafka.h); while none arrive (a poll thread busy in
 * a long revoke) the last state stands, so a rebalance does not flip it.
 * Readiness does not follow partition assignment or Databricks' health, so
 * rebalances and Databricks outages do not flap it (a NotReady pod set
 * stalls rollouts, blocks drains through the PDB and drops out of the HPA's
 * external metrics).
 *
 * State is a few process-wide atomics (and a mutex for the last error
 * text); one process is one worker.
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

/* Sets the broker timeout of readiness (http.readiness_broker_timeout_ms;
 * 0 = off). The clock of "no broker since" starts at dp_health_init. */
void dp_health_set_broker_timeout(long long timeout_ms);

/* Records how many brokers librdkafka holds an open connection to (from its
 * statistics), now / at now_ms. */
void dp_health_kafka_brokers(int up);
void dp_health_kafka_brokers_at(int up, long long now_ms);

/* Keeps text (librdkafka's last error-level line, bounded) for /readyz. */
void dp_health_kafka_error(const char *text);

/* 1 when ready; else 0 and why (may be NULL) says "starting", "shutting
 * down" or "kafka: no broker reachable for N ms (...); last error: ...". */
int dp_health_ready(char *why, size_t len);
int dp_health_ready_at(long long now_ms, char *why, size_t len);

/* The monotonic clock in milliseconds. */
long long dp_health_now_ms(void);

#endif
