/*
 * metrics: the fixed registry and its Prometheus text exposition (see
 * metrics.h). Storage is static: arrays of relaxed atomics indexed by the
 * enums of metrics.h, one bounded table of per-table row counters and one
 * bounded table of partition lag series. Rendering reads them without
 * stopping writers, so one scrape may mix values a few microseconds apart;
 * each histogram is read bucket by bucket and its +Inf bucket and _count are
 * taken from the same sum of buckets, so a histogram is always consistent.
 */
#include "ops/metrics.h"

#include "codec/schema.h"
#include "core/err.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef DP_VERSION
#define DP_VERSION "unknown"
#endif

#define TABLE_NAME_MAX 160
#define NBUCKETS       12
#define LINE_MAX_      1024

/* Load and statement latency: from a warm 100 ms statement to a cold
 * warehouse start (minutes); 10 to 15 classic buckets, each one a series. */
static const double bucket_le[NBUCKETS] = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600};

typedef struct histogram {
    _Atomic uint64_t buckets[NBUCKETS + 1]; /* non-cumulative; last is > 600 s */
    _Atomic uint64_t sum_us;
} histogram_t;

typedef struct table_slot {
    char name[TABLE_NAME_MAX];
    _Atomic uint64_t rows;
} table_slot_t;

typedef struct partition_slot {
    char topic[DP_METRICS_TOPIC_MAX];
    int32_t partition;
    int64_t lag, fetch_lag;
} partition_slot_t;

static _Atomic uint64_t counters[DP_MC_COUNT_];
static _Atomic int64_t gauges[DP_MG_COUNT_];
static histogram_t histograms[DP_MH_COUNT_];
static _Atomic uint64_t rejects[DP_REJ_COUNT_];
static _Atomic uint64_t retries[DP_MR_COUNT_];
static _Atomic uint64_t flush_cuts[DP_MF_COUNT_];

static pthread_mutex_t tables_mu = PTHREAD_MUTEX_INITIALIZER;
static table_slot_t tables[DP_METRICS_MAX_TABLES];
static _Atomic size_t ntables;
static _Atomic uint64_t other_table_rows;

static pthread_mutex_t parts_mu = PTHREAD_MUTEX_INITIALIZER;
static partition_slot_t parts_tab[DP_METRICS_MAX_PARTITIONS];
static size_t nparts;

static _Atomic int64_t start_time_ms;

static const char *const retry_names[DP_MR_COUNT_] = {
    "timeout",   "transport", "unavailable", "permission_denied",
    "not_found", "invalid",   "too_big",     "other",
};

static const char *const flush_names[DP_MF_COUNT_] = {
    "max_events", "max_bytes", "max_age", "revoke", "shutdown", "other",
};

static int64_t wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------------- */
/* Updates                                                                   */
/* ------------------------------------------------------------------------- */

/* Databricks calls by kind. The kinds are the caller's static strings (the
 * dbx layer names them); a slot is claimed by the first call of its kind, so
 * this file knows no Databricks type. */
#define DBX_KINDS_MAX 16
static struct {
    _Atomic(const char *) kind;
    _Atomic uint64_t n;
} dbx_calls[DBX_KINDS_MAX];

void dp_metrics_reset(void)
{
    for (int i = 0; i < DP_MC_COUNT_; i++)
        atomic_store(&counters[i], 0);
    for (int i = 0; i < DP_MG_COUNT_; i++)
        atomic_store(&gauges[i], 0);
    for (int h = 0; h < DP_MH_COUNT_; h++) {
        for (int b = 0; b <= NBUCKETS; b++)
            atomic_store(&histograms[h].buckets[b], 0);
        atomic_store(&histograms[h].sum_us, 0);
    }
    for (int i = 0; i < DP_REJ_COUNT_; i++)
        atomic_store(&rejects[i], 0);
    for (int i = 0; i < DBX_KINDS_MAX; i++)
        atomic_store(&dbx_calls[i].n, 0);
    for (int i = 0; i < DP_MR_COUNT_; i++)
        atomic_store(&retries[i], 0);
    for (int i = 0; i < DP_MF_COUNT_; i++)
        atomic_store(&flush_cuts[i], 0);
    pthread_mutex_lock(&tables_mu);
    for (size_t i = 0; i < DP_METRICS_MAX_TABLES; i++)
        atomic_store(&tables[i].rows, 0);
    atomic_store(&ntables, 0);
    atomic_store(&other_table_rows, 0);
    pthread_mutex_unlock(&tables_mu);
    pthread_mutex_lock(&parts_mu);
    nparts = 0;
    pthread_mutex_unlock(&parts_mu);
    atomic_store(&start_time_ms, wall_ms());
}

void dp_metrics_add(dp_metrics_counter_t c, uint64_t n)
{
    if ((unsigned)c < DP_MC_COUNT_)
        atomic_fetch_add_explicit(&counters[c], n, memory_order_relaxed);
}

void dp_metrics_raise(dp_metrics_counter_t c, uint64_t v)
{
    uint64_t cur;

    if ((unsigned)c >= DP_MC_COUNT_)
        return;
    cur = atomic_load_explicit(&counters[c], memory_order_relaxed);
    while (cur < v && !atomic_compare_exchange_weak(&counters[c], &cur, v))
        ;
}

void dp_metrics_set(dp_metrics_gauge_t g, int64_t v)
{
    if ((unsigned)g < DP_MG_COUNT_)
        atomic_store_explicit(&gauges[g], v, memory_order_relaxed);
}

void dp_metrics_observe(dp_metrics_histogram_t h, double seconds)
{
    int b = 0;

    if ((unsigned)h >= DP_MH_COUNT_)
        return;
    if (!(seconds >= 0)) /* also NaN */
        seconds = 0;
    while (b < NBUCKETS && seconds > bucket_le[b])
        b++;
    atomic_fetch_add_explicit(&histograms[h].buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&histograms[h].sum_us, (uint64_t)(seconds * 1e6 + 0.5),
                              memory_order_relaxed);
}

void dp_metrics_reject(int code)
{
    if (code > DP_REJ_NONE && code < DP_REJ_COUNT_)
        atomic_fetch_add_explicit(&rejects[code], 1, memory_order_relaxed);
    else
        dp_metrics_add(DP_MC_LABEL_OVERFLOW, 1);
}

dp_metrics_retry_class_t dp_metrics_retry_class(int dp_code)
{
    switch (dp_code) {
    case DP_ETIMEDOUT:
        return DP_MR_TIMEOUT;
    case DP_EIO:
        return DP_MR_TRANSPORT;
    case DP_EAGAIN:
        return DP_MR_UNAVAILABLE;
    case DP_EDENIED:
        return DP_MR_PERMISSION_DENIED;
    case DP_ENOTFOUND:
        return DP_MR_NOT_FOUND;
    case DP_EINVAL:
        return DP_MR_INVALID;
    case DP_ETOOBIG:
        return DP_MR_TOO_BIG;
    default:
        return DP_MR_OTHER;
    }
}

void dp_metrics_retry(int dp_code)
{
    atomic_fetch_add_explicit(&retries[dp_metrics_retry_class(dp_code)], 1, memory_order_relaxed);
}

void dp_metrics_flush_cut(const char *why)
{
    int r = DP_MF_OTHER;

    for (int i = 0; why && i < DP_MF_OTHER; i++) {
        if (strcmp(why, flush_names[i]) == 0)
            r = i;
    }
    atomic_fetch_add_explicit(&flush_cuts[r], 1, memory_order_relaxed);
}

void dp_metrics_rows_loaded(const char *table, int64_t rows)
{
    size_t n, i;

    if (rows < 0)
        return;
    pthread_mutex_lock(&tables_mu);
    n = atomic_load(&ntables);
    for (i = 0; i < n; i++) {
        if (strcmp(tables[i].name, table) == 0)
            break;
    }
    if (i == n && n < DP_METRICS_MAX_TABLES && strlen(table) < TABLE_NAME_MAX) {
        snprintf(tables[n].name, sizeof(tables[n].name), "%s", table);
        atomic_store(&tables[n].rows, 0);
        atomic_store(&ntables, n + 1); /* published after the name is written */
    }
    if (i < atomic_load(&ntables)) {
        atomic_fetch_add(&tables[i].rows, (uint64_t)rows);
    } else {
        atomic_fetch_add(&other_table_rows, (uint64_t)rows);
        dp_metrics_add(DP_MC_LABEL_OVERFLOW, 1);
    }
    pthread_mutex_unlock(&tables_mu);
}

void dp_metrics_dbx_call(const char *kind)
{
    for (int i = 0; i < DBX_KINDS_MAX; i++) {
        const char *k = atomic_load(&dbx_calls[i].kind);
        if (k == NULL) {
            const char *expected = NULL;
            if (atomic_compare_exchange_strong(&dbx_calls[i].kind, &expected, kind))
                k = kind;
            else
                k = expected;
        }
        if (k == kind || strcmp(k, kind) == 0) {
            atomic_fetch_add(&dbx_calls[i].n, 1);
            return;
        }
    }
}

void dp_metrics_set_partitions(const dp_metrics_partition_t *parts, size_t n)
{
    size_t k = 0;
    uint64_t dropped = 0;

    pthread_mutex_lock(&parts_mu);
    for (size_t i = 0; i < n; i++) {
        if (k == DP_METRICS_MAX_PARTITIONS || !parts[i].topic ||
            strlen(parts[i].topic) >= DP_METRICS_TOPIC_MAX) {
            dropped++;
            continue;
        }
        snprintf(parts_tab[k].topic, sizeof(parts_tab[k].topic), "%s", parts[i].topic);
        parts_tab[k].partition = parts[i].partition;
        parts_tab[k].lag = parts[i].lag;
        parts_tab[k].fetch_lag = parts[i].fetch_lag;
        k++;
    }
    nparts = k;
    pthread_mutex_unlock(&parts_mu);
    if (dropped)
        dp_metrics_add(DP_MC_LABEL_OVERFLOW, dropped);
}

uint64_t dp_metrics_rows_loaded_sum(void)
{
    size_t n = atomic_load(&ntables);
    uint64_t sum = atomic_load(&other_table_rows);

    for (size_t i = 0; i < n; i++)
        sum += atomic_load(&tables[i].rows);
    return sum;
}

void dp_metrics_lag_sums(int64_t *lag, int64_t *fetch_lag)
{
    int64_t l = -1, f = -1;

    pthread_mutex_lock(&parts_mu);
    for (size_t i = 0; i < nparts; i++) {
        if (parts_tab[i].lag >= 0)
            l = (l < 0 ? 0 : l) + parts_tab[i].lag;
        if (parts_tab[i].fetch_lag >= 0)
            f = (f < 0 ? 0 : f) + parts_tab[i].fetch_lag;
    }
    pthread_mutex_unlock(&parts_mu);
    if (lag)
        *lag = l;
    if (fetch_lag)
        *fetch_lag = f;
}

uint64_t dp_metrics_counter(dp_metrics_counter_t c)
{
    return (unsigned)c < DP_MC_COUNT_ ? atomic_load(&counters[c]) : 0;
}

int64_t dp_metrics_gauge(dp_metrics_gauge_t g)
{
    return (unsigned)g < DP_MG_COUNT_ ? atomic_load(&gauges[g]) : 0;
}

/* ------------------------------------------------------------------------- */
/* Exposition                                                                */
/* ------------------------------------------------------------------------- */

static int put(dp_buf_t *out, dp_err_t *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int put(dp_buf_t *out, dp_err_t *err, const char *fmt, ...)
{
    char line[LINE_MAX_];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(line))
        return dp_err_set(err, DP_ETOOBIG, 0, "metrics: a line is longer than %d bytes", LINE_MAX_);
    return dp_buf_append(out, line, (size_t)n, err);
}

/* Label value escaping of the text format: backslash, quote and newline. */
static void escape_label(char *dst, size_t len, const char *src)
{
    size_t o = 0;

    for (; *src && o + 3 < len; src++) {
        if (*src == '\\' || *src == '"') {
            dst[o++] = '\\';
            dst[o++] = *src;
        } else if (*src == '\n') {
            dst[o++] = '\\';
            dst[o++] = 'n';
        } else {
            dst[o++] = *src;
        }
    }
    dst[o] = '\0';
}

static int family(dp_buf_t *out, const char *name, const char *type, const char *help,
                  dp_err_t *err)
{
    return put(out, err, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static int render_dbx_calls(dp_buf_t *out, dp_err_t *err)
{
    if (family(out, "deltaport_databricks_calls_total", "counter",
               "Calls to Databricks by kind (a retried call counts once).", err) < 0)
        return DP_ETOOBIG;
    for (unsigned k = 0; k < DBX_KINDS_MAX; k++) {
        const char *kind = atomic_load(&dbx_calls[k].kind);
        if (kind == NULL)
            break;
        if (put(out, err, "deltaport_databricks_calls_total{kind=\"%s\"} %llu\n", kind,
                (unsigned long long)atomic_load(&dbx_calls[k].n)) < 0)
            return DP_ETOOBIG;
    }
    return 0;
}

static int render_counters(dp_buf_t *out, dp_err_t *err)
{
    static const struct {
        dp_metrics_counter_t c;
        const char *name, *help;
    } defs[] = {
        {DP_MC_MESSAGES_CONSUMED, "deltaport_kafka_messages_consumed_total",
         "Messages taken from Kafka."},
        {DP_MC_BYTES_CONSUMED, "deltaport_kafka_bytes_consumed_total",
         "Payload bytes of the messages taken from Kafka."},
        {DP_MC_FLUSHES_LOADED, "deltaport_flushes_loaded_total",
         "Flushes loaded into Databricks and handed back for commit."},
        {DP_MC_COMMITS, "deltaport_kafka_commits_total",
         "Offset commits after a load that succeeded."},
        {DP_MC_COMMIT_FAILURES, "deltaport_kafka_commit_failures_total",
         "Loaded flushes whose offsets could not be committed (read again by the next owner)."},
        {DP_MC_TOKEN_FETCHES, "deltaport_oauth_token_fetches_total",
         "OAuth M2M tokens fetched (first token and refreshes)."},
        {DP_MC_LABEL_OVERFLOW, "deltaport_metrics_label_overflow_total",
         "Label values folded into \"other\" or dropped because a label set was full."},
        {DP_MC_FLUSHES_FENCED, "deltaport_flushes_fenced_total",
         "Flushes not loaded because a newer claim on one of their partitions never saw them."},
        {DP_MC_OFFSET_REPAIRS, "deltaport_offset_regressions_repaired_total",
         "Partitions whose committed offset was below the Databricks ledger when assigned."},
        {DP_MC_RECORDS_LOST_RETENTION, "deltaport_records_lost_to_retention_total",
         "Records removed by the broker's retention before they were loaded (recorded in "
         "sync_runs as LOST_TO_RETENTION)."},
        {DP_MC_MANIFESTS_COMPLETED, "deltaport_manifests_completed_total",
         "Flushes left behind by another worker (or a crash) that this worker finished."},
        {DP_MC_MANIFESTS_PRUNED, "deltaport_manifests_pruned_total",
         "Manifests deleted because every partition they cover was committed past them."},
        {DP_MC_OFFSET_OUT_OF_RANGE, "deltaport_kafka_offset_out_of_range_total",
         "Partitions stopped because their position was outside the log (records deleted by "
         "retention before they were loaded, or a truncated or recreated topic)."},
        {DP_MC_DUPLICATES_MERGED, "deltaport_duplicates_merged_total",
         "Staged rows a merge_event_id load did not insert: their event_id was already in the "
         "table or earlier in the same file (also every row of a file loaded again after a "
         "crash)."},
        {DP_MC_BACKFILL_ROWS_MOVED, "deltaport_backfill_rows_moved_total",
         "Rows moved from the shared table into the table of a name that was promoted."},
    };

    for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++) {
        if (family(out, defs[i].name, "counter", defs[i].help, err) < 0 ||
            put(out, err, "%s %llu\n", defs[i].name,
                (unsigned long long)atomic_load(&counters[defs[i].c])) < 0)
            return DP_ETOOBIG;
    }
    return 0;
}

static int render_labelled(dp_buf_t *out, dp_err_t *err)
{
    char esc[TABLE_NAME_MAX * 2];
    size_t n;

    if (family(out, "deltaport_events_rejected_total", "counter",
               "Events written to event_errors, by reject code.", err) < 0)
        return DP_ETOOBIG;
    for (int i = DP_REJ_NONE + 1; i < DP_REJ_COUNT_; i++) {
        if (put(out, err, "deltaport_events_rejected_total{reason=\"%s\"} %llu\n",
                dp_reject_name((dp_reject_code_t)i),
                (unsigned long long)atomic_load(&rejects[i])) < 0)
            return DP_ETOOBIG;
    }
    if (family(out, "deltaport_load_retries_total", "counter",
               "Failed load attempts that will be retried, by class.", err) < 0)
        return DP_ETOOBIG;
    for (int i = 0; i < DP_MR_COUNT_; i++) {
        if (put(out, err, "deltaport_load_retries_total{class=\"%s\"} %llu\n", retry_names[i],
                (unsigned long long)atomic_load(&retries[i])) < 0)
            return DP_ETOOBIG;
    }
    if (family(out, "deltaport_flushes_total", "counter", "Flushes cut, by reason.", err) < 0)
        return DP_ETOOBIG;
    for (int i = 0; i < DP_MF_COUNT_; i++) {
        if (put(out, err, "deltaport_flushes_total{reason=\"%s\"} %llu\n", flush_names[i],
                (unsigned long long)atomic_load(&flush_cuts[i])) < 0)
            return DP_ETOOBIG;
    }
    if (family(out, "deltaport_rows_loaded_total", "counter",
               "Rows COPY INTO inserted, by table (\"other\" past the label cap).", err) < 0)
        return DP_ETOOBIG;
    n = atomic_load(&ntables);
    for (size_t i = 0; i < n; i++) {
        escape_label(esc, sizeof(esc), tables[i].name);
        if (put(out, err, "deltaport_rows_loaded_total{table=\"%s\"} %llu\n", esc,
                (unsigned long long)atomic_load(&tables[i].rows)) < 0)
            return DP_ETOOBIG;
    }
    if (atomic_load(&other_table_rows) > 0 &&
        put(out, err, "deltaport_rows_loaded_total{table=\"other\"} %llu\n",
            (unsigned long long)atomic_load(&other_table_rows)) < 0)
        return DP_ETOOBIG;
    return 0;
}

static int render_gauges(dp_buf_t *out, dp_err_t *err)
{
    static const struct {
        dp_metrics_gauge_t g;
        const char *name, *help;
    } defs[] = {
        {DP_MG_BUFFER_LIMIT_BYTES, "deltaport_buffer_limit_bytes",
         "Memory budget of the buffered flushes (flush.memory_budget_bytes)."},
        {DP_MG_LOADER_BUSY, "deltaport_loader_busy",
         "1 while a flush is being loaded (or retried), else 0."},
        {DP_MG_ASSIGNED_PARTITIONS, "deltaport_kafka_assigned_partitions",
         "Partitions assigned to this worker."},
        {DP_MG_PAUSED_PARTITIONS, "deltaport_kafka_paused_partitions",
         "Assigned partitions paused (backpressure or a partition error)."},
        {DP_MG_READY, "deltaport_ready", "1 from initialisation until shutdown starts."},
        {DP_MG_KAFKA_BROKERS_UP, "deltaport_kafka_brokers_up",
         "Kafka brokers librdkafka holds an open connection to (state UP in its statistics)."},
    };
    int64_t last = atomic_load(&gauges[DP_MG_LAST_LOAD_SUCCESS_MS]);
    int64_t dbx = atomic_load(&gauges[DP_MG_DBX_LAST_SUCCESS_MS]);

    if (family(out, "deltaport_buffer_bytes", "gauge",
               "Bytes buffered: the open flush and the flush being loaded.", err) < 0 ||
        put(out, err, "deltaport_buffer_bytes{flush=\"open\"} %lld\n",
            (long long)atomic_load(&gauges[DP_MG_BUFFER_OPEN_BYTES])) < 0 ||
        put(out, err, "deltaport_buffer_bytes{flush=\"loading\"} %lld\n",
            (long long)atomic_load(&gauges[DP_MG_BUFFER_LOADING_BYTES])) < 0)
        return DP_ETOOBIG;
    for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++) {
        if (family(out, defs[i].name, "gauge", defs[i].help, err) < 0 ||
            put(out, err, "%s %lld\n", defs[i].name, (long long)atomic_load(&gauges[defs[i].g])) <
                0)
            return DP_ETOOBIG;
    }
    if (family(out, "deltaport_last_load_success_timestamp_seconds", "gauge",
               "Unix time of the last flush loaded (0: none yet).", err) < 0 ||
        put(out, err, "deltaport_last_load_success_timestamp_seconds %lld.%03lld\n",
            (long long)(last / 1000), (long long)(last % 1000)) < 0)
        return DP_ETOOBIG;
    if (family(out, "deltaport_databricks_last_success_timestamp_seconds", "gauge",
               "Unix time of the last Databricks API call that succeeded (0: none yet).",
               err) < 0 ||
        put(out, err, "deltaport_databricks_last_success_timestamp_seconds %lld.%03lld\n",
            (long long)(dbx / 1000), (long long)(dbx % 1000)) < 0)
        return DP_ETOOBIG;
    return 0;
}

/* One partition family; which = 0 committed lag, 1 fetch lag. Called with
 * parts_mu held. */
static int render_lag(dp_buf_t *out, int which, dp_err_t *err)
{
    const char *name =
        which ? "deltaport_kafka_consumer_fetch_lag" : "deltaport_kafka_consumer_lag";
    const char *help = which ? "Messages between the fetch position and the high watermark, per "
                               "assigned partition (the real backlog)."
                             : "Messages between the committed offset and the high watermark, per "
                               "assigned partition (grows between flushes by design).";
    char esc[DP_METRICS_TOPIC_MAX * 2];

    if (family(out, name, "gauge", help, err) < 0)
        return DP_ETOOBIG;
    for (size_t i = 0; i < nparts; i++) {
        int64_t v = which ? parts_tab[i].fetch_lag : parts_tab[i].lag;

        if (v < 0)
            continue;
        escape_label(esc, sizeof(esc), parts_tab[i].topic);
        if (put(out, err, "%s{topic=\"%s\",partition=\"%d\"} %lld\n", name, esc,
                (int)parts_tab[i].partition, (long long)v) < 0)
            return DP_ETOOBIG;
    }
    return 0;
}

static int render_histograms(dp_buf_t *out, dp_err_t *err)
{
    static const char *const names[DP_MH_COUNT_] = {
        "deltaport_flush_duration_seconds",
        "deltaport_copy_into_duration_seconds",
        "deltaport_upload_duration_seconds",
    };
    static const char *const helps[DP_MH_COUNT_] = {
        "Duration of one load attempt of a flush (every table, event_stats and sync_runs).",
        "Duration of one COPY INTO statement, submit to final state.",
        "Duration of one staged file upload (Files API).",
    };

    for (int h = 0; h < DP_MH_COUNT_; h++) {
        uint64_t cum = 0;
        uint64_t sum_us = atomic_load(&histograms[h].sum_us);

        if (family(out, names[h], "histogram", helps[h], err) < 0)
            return DP_ETOOBIG;
        for (int b = 0; b < NBUCKETS; b++) {
            cum += atomic_load(&histograms[h].buckets[b]);
            if (put(out, err, "%s_bucket{le=\"%g\"} %llu\n", names[h], bucket_le[b],
                    (unsigned long long)cum) < 0)
                return DP_ETOOBIG;
        }
        cum += atomic_load(&histograms[h].buckets[NBUCKETS]);
        if (put(out, err, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %llu.%06llu\n%s_count %llu\n",
                names[h], (unsigned long long)cum, names[h], (unsigned long long)(sum_us / 1000000),
                (unsigned long long)(sum_us % 1000000), names[h], (unsigned long long)cum) < 0)
            return DP_ETOOBIG;
    }
    return 0;
}

/* One number field of /proc/self/stat at p (up to the next space); 1 when it
 * parsed, 0 otherwise (*v untouched). */
static int stat_field(const char *p, unsigned long long *v)
{
    char *end = NULL;
    unsigned long long n;

    errno = 0;
    n = strtoull(p, &end, 10);
    if (errno || end == p || (*end != ' ' && *end != '\0' && *end != '\n'))
        return 0;
    *v = n;
    return 1;
}

/* process_* from /proc/self (Linux); missing or malformed files leave those
 * out. */
static int render_process(dp_buf_t *out, dp_err_t *err)
{
    char stat[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    size_t n = f ? fread(stat, 1, sizeof(stat) - 1, f) : 0;
    int64_t started = atomic_load(&start_time_ms);
    long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    DIR *dir;
    int fds = 0;

    if (f)
        fclose(f);
    stat[n] = '\0';
    if (family(out, "process_start_time_seconds", "gauge",
               "Start time of the process since the Unix epoch in seconds.", err) < 0 ||
        put(out, err, "process_start_time_seconds %lld\n", (long long)(started / 1000)) < 0)
        return DP_ETOOBIG;
    if (n > 0 && strrchr(stat, ')') && tick > 0) {
        /* Fields after "(comm)" start at 3 (state); utime 14, stime 15, rss 24. */
        const char *p = strrchr(stat, ')') + 1;
        unsigned long long utime = 0, stime = 0, rss = 0;
        int ok = 1;

        for (int field = 3; *p && field <= 24; field++) {
            while (*p == ' ')
                p++;
            if (field == 14)
                ok &= stat_field(p, &utime);
            else if (field == 15)
                ok &= stat_field(p, &stime);
            else if (field == 24)
                ok &= stat_field(p, &rss);
            while (*p && *p != ' ')
                p++;
        }
        if (ok && (family(out, "process_cpu_seconds_total", "counter",
                          "Total user and system CPU time spent in seconds.", err) < 0 ||
                   put(out, err, "process_cpu_seconds_total %.2f\n",
                       (double)(utime + stime) / (double)tick) < 0 ||
                   family(out, "process_resident_memory_bytes", "gauge",
                          "Resident memory size in bytes.", err) < 0 ||
                   put(out, err, "process_resident_memory_bytes %llu\n",
                       rss * (unsigned long long)page) < 0))
            return DP_ETOOBIG;
    }
    dir = opendir("/proc/self/fd");
    if (dir) {
        while (readdir(dir))
            fds++;
        closedir(dir);
        if (family(out, "process_open_fds", "gauge", "Number of open file descriptors.", err) < 0 ||
            put(out, err, "process_open_fds %d\n", fds > 3 ? fds - 3 : 0) < 0)
            return DP_ETOOBIG; /* minus ".", ".." and the directory's own descriptor */
    }
    return 0;
}

int dp_metrics_render(dp_buf_t *out, dp_err_t *err)
{
    int rc;

    if (family(out, "deltaport_build_info", "gauge", "Version of the running deltaport.", err) <
            0 ||
        put(out, err, "deltaport_build_info{version=\"%s\"} 1\n", DP_VERSION) < 0)
        return DP_ETOOBIG;
    if (render_counters(out, err) < 0 || render_labelled(out, err) < 0 ||
        render_dbx_calls(out, err) < 0 || render_gauges(out, err) < 0 ||
        render_histograms(out, err) < 0)
        return DP_ETOOBIG;
    pthread_mutex_lock(&parts_mu);
    rc = render_lag(out, 0, err);
    if (rc == 0)
        rc = render_lag(out, 1, err);
    pthread_mutex_unlock(&parts_mu);
    if (rc < 0)
        return rc;
    return render_process(out, err);
}
