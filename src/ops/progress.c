/*
 * progress: the periodic progress line (see progress.h).
 */
#include "ops/progress.h"

#include "core/clock.h"
#include "core/log.h"
#include "ops/metrics.h"

#include <stdatomic.h>
#include <stdio.h>

static _Atomic long long interval_ms;
static _Atomic long long last_ms;

void dp_progress_init(long long interval_s)
{
    atomic_store(&interval_ms, interval_s > 0 ? interval_s * 1000 : 0);
    atomic_store(&last_ms, dp_clock_mono_ms());
}

/* "1.2 MiB", "512 B". */
static void fmt_bytes(int64_t n, char *out, size_t len)
{
    if (n >= 1024 * 1024)
        snprintf(out, len, "%.1f MiB", (double)n / (1024.0 * 1024.0));
    else if (n >= 1024)
        snprintf(out, len, "%.1f KiB", (double)n / 1024.0);
    else
        snprintf(out, len, "%lld B", (long long)n);
}

/* "1h23m32s", "4m05s", "45s". */
static void fmt_duration(long long ms, char *out, size_t len)
{
    long long s = ms > 0 ? (ms + 999) / 1000 : 0;

    if (s >= 3600)
        snprintf(out, len, "%lldh%02lldm%02llds", s / 3600, s % 3600 / 60, s % 60);
    else if (s >= 60)
        snprintf(out, len, "%lldm%02llds", s / 60, s % 60);
    else
        snprintf(out, len, "%llds", s);
}

/* The numbers of a line, as text, for the message and the fields. */
typedef struct numbers {
    char consumed[24], buffered[24], bytes[24], loaded[24], committed[24];
    char lag[24], fetch_lag[24], next_s[24], loading[24];
    char bytes_h[32], next_h[32], loading_h[48];
} numbers_t;

static void numbers_of(const dp_progress_t *p, long long now_ms, numbers_t *n)
{
    int64_t bytes = dp_metrics_gauge(DP_MG_BUFFER_OPEN_BYTES);
    int64_t loading = dp_metrics_gauge(DP_MG_BUFFER_LOADING_BYTES);
    int64_t lag = -1, fetch_lag = -1;

    dp_metrics_lag_sums(&lag, &fetch_lag);
    snprintf(n->consumed, sizeof(n->consumed), "%llu", (unsigned long long)p->consumed);
    snprintf(n->buffered, sizeof(n->buffered), "%llu", (unsigned long long)p->buffered);
    snprintf(n->bytes, sizeof(n->bytes), "%lld", (long long)bytes);
    snprintf(n->loaded, sizeof(n->loaded), "%llu",
             (unsigned long long)dp_metrics_rows_loaded_sum());
    snprintf(n->committed, sizeof(n->committed), "%llu", (unsigned long long)p->committed);
    snprintf(n->lag, sizeof(n->lag), "%lld", (long long)lag);
    snprintf(n->fetch_lag, sizeof(n->fetch_lag), "%lld", (long long)fetch_lag);
    fmt_bytes(bytes, n->bytes_h, sizeof(n->bytes_h));
    snprintf(n->loading, sizeof(n->loading), "%lld", (long long)loading);
    n->loading_h[0] = '\0';
    if (loading > 0) {
        char h[32];

        fmt_bytes(loading, h, sizeof(h));
        snprintf(n->loading_h, sizeof(n->loading_h), ", %s loading", h);
    }
    if (p->flush_due_ms > 0 && p->buffered > 0) {
        long long left = p->flush_due_ms - now_ms;

        snprintf(n->next_s, sizeof(n->next_s), "%lld", left > 0 ? (left + 999) / 1000 : 0);
        fmt_duration(left, n->next_h, sizeof(n->next_h));
    } else {
        n->next_s[0] = '\0';
        n->next_h[0] = '\0';
    }
}

static void message_of(const numbers_t *n, char *out, size_t len)
{
    snprintf(out, len,
             "consumed %s, buffered %s records (%s%s), loaded %s rows, committed %s, lag %s "
             "(fetch lag %s), %s%s",
             n->consumed, n->buffered, n->bytes_h, n->loading_h, n->loaded, n->committed,
             n->lag[0] == '-' ? "unknown" : n->lag,
             n->fetch_lag[0] == '-' ? "unknown" : n->fetch_lag,
             n->next_h[0] ? "next flush in " : "no flush due (nothing buffered)", n->next_h);
}

void dp_progress_format(const dp_progress_t *p, long long now_ms, char *out, size_t len)
{
    numbers_t n;

    numbers_of(p, now_ms, &n);
    message_of(&n, out, len);
}

void dp_progress_tick(const dp_progress_t *p)
{
    long long every = atomic_load_explicit(&interval_ms, memory_order_relaxed), now;
    char msg[512];
    numbers_t n;

    if (every <= 0)
        return;
    now = dp_clock_mono_ms();
    if (now - atomic_load_explicit(&last_ms, memory_order_relaxed) < every)
        return;
    atomic_store(&last_ms, now);
    numbers_of(p, now, &n);
    message_of(&n, msg, sizeof(msg));
    {
        const dp_log_field_t fields[] = {
            {"consumed", n.consumed},
            {"buffered", n.buffered},
            {"buffered_bytes", n.bytes},
            {"loading_bytes", n.loading},
            {"loaded", n.loaded},
            {"committed", n.committed},
            {"lag", n.lag[0] == '-' ? NULL : n.lag},
            {"fetch_lag", n.fetch_lag[0] == '-' ? NULL : n.fetch_lag},
            {"next_flush_s", n.next_s[0] ? n.next_s : NULL},
        };

        dp_log_write_fields(DP_LOG_INFO, "progress", fields, sizeof(fields) / sizeof(fields[0]),
                            msg);
    }
}
