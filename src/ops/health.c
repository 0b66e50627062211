/*
 * health: heartbeats and the ready flag behind /healthz and /readyz (see
 * health.h). The heartbeats are monotonic milliseconds in relaxed atomics:
 * a beat is one store, a probe a few loads.
 */
#include "ops/health.h"

#include "ops/metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#define KAFKA_ERROR_MAX 300

static _Atomic long long beats[DP_HEALTH_COUNT_];
static _Atomic long long max_age = 60000;
static atomic_int ready_flag;
static atomic_int stopping_flag;
static _Atomic long long broker_timeout;
static _Atomic long long brokers_down_since = -1; /* -1: a broker is up */
static pthread_mutex_t error_mu = PTHREAD_MUTEX_INITIALIZER;
static char kafka_error[KAFKA_ERROR_MAX];

static const char *const thread_names[DP_HEALTH_COUNT_] = {"poll", "loader"};

long long dp_health_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void dp_health_init(long long max_age_ms)
{
    long long now = dp_health_now_ms();

    for (int i = 0; i < DP_HEALTH_COUNT_; i++)
        atomic_store(&beats[i], now);
    atomic_store(&max_age, max_age_ms);
    atomic_store(&ready_flag, 0);
    atomic_store(&stopping_flag, 0);
    atomic_store(&brokers_down_since, now); /* none seen yet */
    atomic_store(&broker_timeout, 0);
    pthread_mutex_lock(&error_mu);
    kafka_error[0] = '\0';
    pthread_mutex_unlock(&error_mu);
    dp_metrics_set(DP_MG_READY, 0);
}

void dp_health_set_broker_timeout(long long timeout_ms)
{
    atomic_store(&broker_timeout, timeout_ms > 0 ? timeout_ms : 0);
}

void dp_health_kafka_brokers_at(int up, long long now_ms)
{
    long long none = -1;

    if (up > 0)
        atomic_store(&brokers_down_since, -1);
    else
        atomic_compare_exchange_strong(&brokers_down_since, &none, now_ms);
}

void dp_health_kafka_brokers(int up)
{
    dp_health_kafka_brokers_at(up, dp_health_now_ms());
}

void dp_health_kafka_error(const char *text)
{
    pthread_mutex_lock(&error_mu);
    snprintf(kafka_error, sizeof(kafka_error), "%s", text ? text : "");
    pthread_mutex_unlock(&error_mu);
}

void dp_health_beat_at(dp_health_thread_t t, long long now_ms)
{
    if ((unsigned)t < DP_HEALTH_COUNT_)
        atomic_store_explicit(&beats[t], now_ms, memory_order_relaxed);
}

void dp_health_beat(dp_health_thread_t t)
{
    dp_health_beat_at(t, dp_health_now_ms());
}

void dp_health_set_ready(int ready)
{
    atomic_store(&ready_flag, ready ? 1 : 0);
    dp_metrics_set(DP_MG_READY, ready && !atomic_load(&stopping_flag));
}

void dp_health_stopping(void)
{
    /* Only lock-free atomic stores: this runs in a signal handler. */
    atomic_store(&stopping_flag, 1);
    dp_metrics_set(DP_MG_READY, 0);
}

int dp_health_live_at(long long now_ms, char *why, size_t len)
{
    long long limit = atomic_load(&max_age);

    for (int i = 0; i < DP_HEALTH_COUNT_; i++) {
        long long age = now_ms - atomic_load_explicit(&beats[i], memory_order_relaxed);

        if (age > limit) {
            if (why)
                snprintf(why, len, "%s thread: no heartbeat for %lld ms (limit %lld ms)",
                         thread_names[i], age, limit);
            return 0;
        }
    }
    if (why)
        snprintf(why, len, "ok");
    return 1;
}

int dp_health_live(char *why, size_t len)
{
    return dp_health_live_at(dp_health_now_ms(), why, len);
}

int dp_health_ready_at(long long now_ms, char *why, size_t len)
{
    long long since = atomic_load(&brokers_down_since), limit = atomic_load(&broker_timeout);

    if (atomic_load(&stopping_flag)) {
        if (why)
            snprintf(why, len, "shutting down");
        return 0;
    }
    if (!atomic_load(&ready_flag)) {
        if (why)
            snprintf(why, len, "starting");
        return 0;
    }
    if (limit > 0 && since >= 0 && now_ms - since > limit) {
        if (why) {
            pthread_mutex_lock(&error_mu);
            snprintf(why, len,
                     "kafka: no broker reachable for %lld ms (http.readiness_broker_timeout_ms "
                     "= %lld)%s%s",
                     now_ms - since, limit, kafka_error[0] ? "; last error: " : "", kafka_error);
            pthread_mutex_unlock(&error_mu);
        }
        return 0;
    }
    if (why)
        snprintf(why, len, "ok");
    return 1;
}

int dp_health_ready(char *why, size_t len)
{
    return dp_health_ready_at(dp_health_now_ms(), why, len);
}
