/*
 * metrics: the process's fixed registry of counters, gauges and histograms,
 * and its Prometheus text exposition (format 0.0.4) for GET /metrics.
 *
 * Every metric is known at compile time (the enums below); a metric with a
 * label takes its values from a bounded set:
 *   - reject reasons: the stable codes of schema.h (dp_reject_name);
 *   - retry classes and flush reasons: small enums of this header;
 *   - tables: at most DP_METRICS_MAX_TABLES distinct names, then "other";
 *   - partitions: at most DP_METRICS_MAX_PARTITIONS (topic, partition) series
 *     of the current assignment, replaced as a whole once a second.
 * Every value that had to be folded or dropped because a bound was reached is
 * counted in deltaport_metrics_label_overflow_total.
 *
 * Names carry the deltaport_ prefix and their unit (_seconds, _bytes) and
 * counters end in _total; docs/OPERATIONS.md lists them and the chart's
 * dashboard queries them (tests/helm checks that every name it uses exists).
 *
 * Hot path: counters, gauges and histograms are relaxed atomics updated
 * without allocation or locks. Only the table and partition label sets take
 * a mutex, once per loaded table and once per second respectively.
 *
 * The registry is global: one process is one worker (docs/OPERATIONS.md).
 * Thread: every function may be called from any thread.
 */
#ifndef DP_METRICS_H
#define DP_METRICS_H

#include "core/buf.h"
#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

#define DP_METRICS_MAX_TABLES     128
#define DP_METRICS_MAX_PARTITIONS 1024
#define DP_METRICS_TOPIC_MAX      250 /* Kafka topic names are at most 249 bytes */

/* Counters without labels. */
typedef enum {
    DP_MC_MESSAGES_CONSUMED = 0,  /* deltaport_kafka_messages_consumed_total */
    DP_MC_BYTES_CONSUMED,         /* deltaport_kafka_bytes_consumed_total */
    DP_MC_FLUSHES_LOADED,         /* deltaport_flushes_loaded_total */
    DP_MC_COMMITS,                /* deltaport_kafka_commits_total */
    DP_MC_COMMIT_FAILURES,        /* deltaport_kafka_commit_failures_total */
    DP_MC_TOKEN_FETCHES,          /* deltaport_oauth_token_fetches_total */
    DP_MC_LABEL_OVERFLOW,         /* deltaport_metrics_label_overflow_total */
    DP_MC_FLUSHES_FENCED,         /* deltaport_flushes_fenced_total */
    DP_MC_OFFSET_REPAIRS,         /* deltaport_offset_regressions_repaired_total */
    DP_MC_RECORDS_LOST_RETENTION, /* deltaport_records_lost_to_retention_total */
    DP_MC_MANIFESTS_COMPLETED,    /* deltaport_manifests_completed_total */
    DP_MC_MANIFESTS_PRUNED,       /* deltaport_manifests_pruned_total */
    DP_MC_OFFSET_OUT_OF_RANGE,    /* deltaport_kafka_offset_out_of_range_total */
    DP_MC_DUPLICATES_MERGED,      /* deltaport_duplicates_merged_total */
    DP_MC_BACKFILL_ROWS_MOVED,    /* deltaport_backfill_rows_moved_total */
    DP_MC_COUNT_
} dp_metrics_counter_t;

/* Gauges without labels (deltaport_buffer_bytes has a fixed "flush" label). */
typedef enum {
    DP_MG_BUFFER_OPEN_BYTES = 0, /* deltaport_buffer_bytes{flush="open"} */
    DP_MG_BUFFER_LOADING_BYTES,  /* deltaport_buffer_bytes{flush="loading"} */
    DP_MG_BUFFER_LIMIT_BYTES,    /* deltaport_buffer_limit_bytes */
    DP_MG_LOADER_BUSY,           /* deltaport_loader_busy */
    DP_MG_ASSIGNED_PARTITIONS,   /* deltaport_kafka_assigned_partitions */
    DP_MG_PAUSED_PARTITIONS,     /* deltaport_kafka_paused_partitions */
    DP_MG_LAST_LOAD_SUCCESS_MS,  /* deltaport_last_load_success_timestamp_seconds (kept in ms) */
    DP_MG_READY,                 /* deltaport_ready */
    DP_MG_KAFKA_BROKERS_UP,      /* deltaport_kafka_brokers_up */
    DP_MG_DBX_LAST_SUCCESS_MS,   /* deltaport_databricks_last_success_timestamp_seconds (ms) */
    DP_MG_COUNT_
} dp_metrics_gauge_t;

/* Histograms (seconds). */
typedef enum {
    DP_MH_FLUSH_SECONDS = 0, /* deltaport_flush_duration_seconds: one load attempt of a flush */
    DP_MH_COPY_INTO_SECONDS, /* deltaport_copy_into_duration_seconds: one COPY INTO statement */
    DP_MH_UPLOAD_SECONDS,    /* deltaport_upload_duration_seconds: one staged file upload */
    DP_MH_COUNT_
} dp_metrics_histogram_t;

/* Classes of deltaport_load_retries_total{class}, from the DP_E* code of the
 * failed load (dp_metrics_retry_class). */
typedef enum {
    DP_MR_TIMEOUT = 0,       /* DP_ETIMEDOUT */
    DP_MR_TRANSPORT,         /* DP_EIO */
    DP_MR_UNAVAILABLE,       /* DP_EAGAIN: 429, 503, warehouse starting */
    DP_MR_PERMISSION_DENIED, /* DP_EDENIED */
    DP_MR_NOT_FOUND,         /* DP_ENOTFOUND */
    DP_MR_INVALID,           /* DP_EINVAL */
    DP_MR_TOO_BIG,           /* DP_ETOOBIG */
    DP_MR_OTHER,             /* DP_EFAIL and anything else */
    DP_MR_COUNT_
} dp_metrics_retry_class_t;

/* Reasons of deltaport_flushes_total{reason}: why a flush was cut. */
typedef enum {
    DP_MF_MAX_EVENTS = 0,
    DP_MF_MAX_BYTES,
    DP_MF_MAX_AGE,
    DP_MF_REVOKE,
    DP_MF_SHUTDOWN,
    DP_MF_OTHER,
    DP_MF_COUNT_
} dp_metrics_flush_reason_t;

/* One series pair of deltaport_kafka_consumer_lag / _fetch_lag. A lag < 0 is
 * unknown and not exported. topic is borrowed during the call. */
typedef struct dp_metrics_partition {
    const char *topic;
    int32_t partition;
    int64_t lag;       /* high watermark - committed offset */
    int64_t fetch_lag; /* high watermark - position of the next fetch */
} dp_metrics_partition_t;

/* Zeroes every metric and label set, and records the start time. Called by
 * `run` before any thread starts (and by tests). Not thread-safe against
 * concurrent updates. */
void dp_metrics_reset(void);

/* Adds n to a counter. */
void dp_metrics_add(dp_metrics_counter_t c, uint64_t n);

/* Raises a counter to v when v is larger (for counts kept elsewhere, such as
 * dp_oauth_fetches); a counter never goes down. */
void dp_metrics_raise(dp_metrics_counter_t c, uint64_t v);

/* Sets a gauge. */
void dp_metrics_set(dp_metrics_gauge_t g, int64_t v);

/* Records one observation of a histogram, in seconds. */
void dp_metrics_observe(dp_metrics_histogram_t h, double seconds);

/* Counts one rejected event by its schema.h code (dp_reject_code_t); an
 * unknown code counts as overflow. */
void dp_metrics_reject(int code);

/* Counts one retried load, classified by its DP_E* code. */
void dp_metrics_retry(int dp_code);

/* The class of a DP_E* code (pure). */
dp_metrics_retry_class_t dp_metrics_retry_class(int dp_code);

/* Counts one cut flush by the worker's reason text ("max_events",
 * "max_bytes", "max_age", "revoke", "shutdown"; anything else is "other"). */
void dp_metrics_flush_cut(const char *why);

/* Adds rows to deltaport_rows_loaded_total{table}. table is copied; past
 * DP_METRICS_MAX_TABLES names the rows go to table="other" and the overflow
 * counter rises. */
void dp_metrics_rows_loaded(const char *table, int64_t rows);

/* Counts one call to Databricks of kind (a static string the caller keeps,
 * such as "statement"), for deltaport_databricks_calls_total{kind}; a kind
 * appears in the output from its first call (at most 16 kinds). Thread: any. */
void dp_metrics_dbx_call(const char *kind);

/* Replaces the partition series with parts[0..n) (the current assignment).
 * Entries past DP_METRICS_MAX_PARTITIONS, or with a topic name that is too
 * long, are dropped and counted as overflow. */
void dp_metrics_set_partitions(const dp_metrics_partition_t *parts, size_t n);

/* Rows loaded over every table (deltaport_rows_loaded_total summed). */
uint64_t dp_metrics_rows_loaded_sum(void);

/* The committed and the fetch lag summed over the partition series; -1 for
 * a sum without any known value. Either pointer may be NULL. */
void dp_metrics_lag_sums(int64_t *lag, int64_t *fetch_lag);

/* Reads a counter / gauge (tests, health). */
uint64_t dp_metrics_counter(dp_metrics_counter_t c);
int64_t dp_metrics_gauge(dp_metrics_gauge_t g);

/* Appends the whole exposition (text format 0.0.4: # HELP and # TYPE per
 * family, samples together, trailing newline) to out. Returns 0 or
 * DP_ETOOBIG when out's cap is reached. */
int dp_metrics_render(dp_buf_t *out, dp_err_t *err);

/* The Content-Type header value of the exposition. */
#define DP_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
