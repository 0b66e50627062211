/*
 * progress: the worker's periodic progress line, so that `run` says what it
 * is doing between two flushes (90 minutes apart by default):
 *
 *   {"ts":...,"level":"info","module":"progress","consumed":"120000",
 *    "buffered":"4000","buffered_bytes":"1310720","loading_bytes":"0","loaded":"116000",
 *    "committed":"116000","lag":"4000","fetch_lag":"0","next_flush_s":"5012",
 *    "msg":"consumed 120000, buffered 4000 records (1.2 MiB), loaded 116000
 *     rows, committed 116000, lag 4000 (fetch lag 0), next flush in 1h23m32s"}
 *
 * The worker hands its own numbers (dp_progress_t) from its housekeeping;
 * the rest comes from the metrics registry: rows loaded (every table, system
 * tables included: deltaport_rows_loaded_total), the bytes of the open flush
 * and of the one loading ("..., 2.1 MiB loading" when there is one), and the
 * committed and fetch lag summed over the assigned partitions. Lines are at least
 * log.progress_interval_s apart (0: none).
 *
 * Thread: dp_progress_init before the worker starts; dp_progress_tick from
 * the poll thread (one worker per process).
 */
#ifndef DP_PROGRESS_H
#define DP_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

typedef struct dp_progress {
    uint64_t consumed;      /* messages taken from Kafka */
    uint64_t buffered;      /* records in the open flush */
    uint64_t committed;     /* messages whose offsets were committed */
    long long flush_due_ms; /* monotonic ms at which the open flush is cut by age; <= 0: empty */
} dp_progress_t;

/* Sets the interval (seconds; 0 turns the line off) and starts its clock. */
void dp_progress_init(long long interval_s);

/* Logs the progress line when the interval has passed since the last one.
 * Cheap otherwise (one clock read). */
void dp_progress_tick(const dp_progress_t *p);

/* The line's message for p at now_ms (monotonic), into out (size len).
 * Pure apart from reading the metrics registry. */
void dp_progress_format(const dp_progress_t *p, long long now_ms, char *out, size_t len);

#endif
