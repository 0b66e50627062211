/*
 * Unit tests of metrics (the registry and its text exposition) and health
 * (heartbeats and readiness): the exposition passes a strict format check,
 * histograms are cumulative, label sets are bounded with overflow counted,
 * partition series are replaced as a whole, counters are exact under
 * concurrent updates, and the probes' answers follow heartbeats, the ready
 * and stopping flags and (readiness only) the Kafka broker state; the
 * broker count comes from librdkafka's statistics, librdkafka's log lines
 * get our levels and their partition, and the progress line adds up the
 * registry's numbers.
 */
#include "codec/schema.h"
#include "core/log.h"
#include "dp_test.h"
#include "kafka/kafka.h"
#include "ops/health.h"
#include "ops/metrics.h"
#include "ops/progress.h"
#include "prom_check.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Renders into a NUL-terminated string (new, free()). */
static char *render(void)
{
    dp_buf_t buf;
    dp_err_t err;
    size_t len;
    char *text;

    dp_buf_init(&buf, 8u << 20);
    if (dp_metrics_render(&buf, &err) < 0 || dp_buf_append(&buf, "", 1, &err) < 0) {
        dp_buf_free(&buf);
        return NULL;
    }
    text = (char *)dp_buf_detach(&buf, &len);
    return text;
}

static double value_of(const char *text, const char *series)
{
    double v = -1;

    if (dp_prom_value(text, series, &v) < 0)
        return -1;
    return v;
}

static void test_metrics_exposition_is_valid_text_format(void)
{
    static const char *const families[] = {
        "deltaport_build_info",
        "deltaport_kafka_messages_consumed_total",
        "deltaport_kafka_bytes_consumed_total",
        "deltaport_flushes_loaded_total",
        "deltaport_kafka_commits_total",
        "deltaport_kafka_commit_failures_total",
        "deltaport_oauth_token_fetches_total",
        "deltaport_metrics_label_overflow_total",
        "deltaport_events_rejected_total",
        "deltaport_load_retries_total",
        "deltaport_flushes_total",
        "deltaport_rows_loaded_total",
        "deltaport_buffer_bytes",
        "deltaport_buffer_limit_bytes",
        "deltaport_loader_busy",
        "deltaport_kafka_assigned_partitions",
        "deltaport_kafka_paused_partitions",
        "deltaport_ready",
        "deltaport_last_load_success_timestamp_seconds",
        "deltaport_flush_duration_seconds",
        "deltaport_copy_into_duration_seconds",
        "deltaport_upload_duration_seconds",
        "deltaport_kafka_consumer_lag",
        "deltaport_kafka_consumer_fetch_lag",
        "process_start_time_seconds",
        NULL,
    };
    dp_metrics_partition_t parts[] = {{"events", 0, 5, 2}, {"events", 1, 0, 0}};
    char why[512], want[256];
    char *text;

    dp_metrics_reset();
    dp_metrics_add(DP_MC_MESSAGES_CONSUMED, 42);
    dp_metrics_set(DP_MG_BUFFER_OPEN_BYTES, 1234);
    dp_metrics_set(DP_MG_LAST_LOAD_SUCCESS_MS, 1700000000123LL);
    dp_metrics_rows_loaded("evt_purchase", 7);
    dp_metrics_flush_cut("max_age");
    dp_metrics_set_partitions(parts, 2);
    text = render();
    DP_ASSERT_FATAL_MSG(text != NULL, "expected the exposition to render");
    DP_ASSERT_MSG(dp_prom_check(text, strlen(text), why, sizeof(why)) == 0,
                  "expected a valid exposition, got: %s", why);
    for (int i = 0; families[i]; i++) {
        snprintf(want, sizeof(want), "# TYPE %s ", families[i]);
        DP_ASSERT_MSG(strstr(text, want) != NULL, "expected a # TYPE line for %s", families[i]);
    }
    DP_ASSERT_MSG(value_of(text, "deltaport_kafka_messages_consumed_total") == 42,
                  "expected consumed 42, got %g",
                  value_of(text, "deltaport_kafka_messages_consumed_total"));
    DP_ASSERT_MSG(value_of(text, "deltaport_buffer_bytes{flush=\"open\"}") == 1234,
                  "expected open buffer 1234");
    DP_ASSERT_MSG(value_of(text, "deltaport_rows_loaded_total{table=\"evt_purchase\"}") == 7,
                  "expected 7 rows for evt_purchase");
    DP_ASSERT_MSG(value_of(text, "deltaport_flushes_total{reason=\"max_age\"}") == 1,
                  "expected one max_age flush");
    DP_ASSERT_MSG(value_of(text, "deltaport_last_load_success_timestamp_seconds") == 1700000000.123,
                  "expected the timestamp in seconds with ms, got %.3f",
                  value_of(text, "deltaport_last_load_success_timestamp_seconds"));
    DP_ASSERT_MSG(
        value_of(text, "deltaport_kafka_consumer_lag{topic=\"events\",partition=\"0\"}") == 5 &&
            value_of(text,
                     "deltaport_kafka_consumer_fetch_lag{topic=\"events\",partition=\"0\"}") == 2,
        "expected lag 5 and fetch lag 2 for events [0]");
    free(text);
}

static void test_metrics_histogram_is_cumulative_with_sum_and_count(void)
{
    char *text;
    char why[512];

    dp_metrics_reset();
    dp_metrics_observe(DP_MH_COPY_INTO_SECONDS, 0.05);
    dp_metrics_observe(DP_MH_COPY_INTO_SECONDS, 0.3);
    dp_metrics_observe(DP_MH_COPY_INTO_SECONDS, 700);
    dp_metrics_observe(DP_MH_COPY_INTO_SECONDS, -1); /* clamped to 0 */
    text = render();
    DP_ASSERT_FATAL_MSG(text != NULL, "expected the exposition to render");
    DP_ASSERT_MSG(dp_prom_check(text, strlen(text), why, sizeof(why)) == 0, "%s", why);
    DP_ASSERT_MSG(
        value_of(text, "deltaport_copy_into_duration_seconds_bucket{le=\"0.1\"}") == 2 &&
            value_of(text, "deltaport_copy_into_duration_seconds_bucket{le=\"0.5\"}") == 3 &&
            value_of(text, "deltaport_copy_into_duration_seconds_bucket{le=\"600\"}") == 3 &&
            value_of(text, "deltaport_copy_into_duration_seconds_bucket{le=\"+Inf\"}") == 4 &&
            value_of(text, "deltaport_copy_into_duration_seconds_count") == 4,
        "expected buckets 2,3,3 and +Inf 4 = count");
    DP_ASSERT_MSG(value_of(text, "deltaport_copy_into_duration_seconds_sum") > 700.34 &&
                      value_of(text, "deltaport_copy_into_duration_seconds_sum") < 700.36,
                  "expected sum 700.35, got %f",
                  value_of(text, "deltaport_copy_into_duration_seconds_sum"));
    free(text);
}

static void test_metrics_table_labels_are_capped_with_overflow_counted(void)
{
    char name[32];
    char *text;
    double sum = 0;
    int n;

    dp_metrics_reset();
    for (int i = 0; i < DP_METRICS_MAX_TABLES + 2; i++) {
        snprintf(name, sizeof(name), "evt_t%d", i);
        dp_metrics_rows_loaded(name, 10);
    }
    dp_metrics_rows_loaded("evt_t0", 5); /* known name: no overflow */
    text = render();
    DP_ASSERT_FATAL_MSG(text != NULL, "expected the exposition to render");
    n = dp_prom_sum(text, "deltaport_rows_loaded_total", &sum);
    DP_ASSERT_MSG(n == DP_METRICS_MAX_TABLES + 1, "expected %d series (cap + other), got %d",
                  DP_METRICS_MAX_TABLES + 1, n);
    DP_ASSERT_MSG(sum == 10.0 * (DP_METRICS_MAX_TABLES + 2) + 5,
                  "expected every row counted, got %g", sum);
    DP_ASSERT_MSG(value_of(text, "deltaport_rows_loaded_total{table=\"other\"}") == 20,
                  "expected 20 rows under other");
    DP_ASSERT_MSG(dp_metrics_counter(DP_MC_LABEL_OVERFLOW) == 2, "expected overflow 2, got %llu",
                  (unsigned long long)dp_metrics_counter(DP_MC_LABEL_OVERFLOW));
    free(text);
}

static void test_metrics_partitions_are_replaced_and_unknown_lag_hidden(void)
{
    dp_metrics_partition_t three[] = {{"a", 0, 1, 1}, {"a", 1, -1, 4}, {"we\"ird", 2, 3, 3}};
    dp_metrics_partition_t one[] = {{"b", 7, 9, 0}};
    char *text;
    char why[512];
    double sum;

    dp_metrics_reset();
    dp_metrics_set_partitions(three, 3);
    text = render();
    DP_ASSERT_FATAL_MSG(text != NULL, "expected the exposition to render");
    DP_ASSERT_MSG(dp_prom_check(text, strlen(text), why, sizeof(why)) == 0, "%s", why);
    DP_ASSERT_MSG(dp_prom_sum(text, "deltaport_kafka_consumer_lag", &sum) == 2,
                  "expected 2 committed-lag series (one unknown)");
    DP_ASSERT_MSG(strstr(text, "topic=\"we\\\"ird\"") != NULL, "expected the quote escaped");
    free(text);
    dp_metrics_set_partitions(one, 1);
    text = render();
    DP_ASSERT_FATAL_MSG(text != NULL, "expected the exposition to render");
    DP_ASSERT_MSG(dp_prom_sum(text, "deltaport_kafka_consumer_fetch_lag", &sum) == 1 && sum == 0,
                  "expected only b [7] after the new assignment");
    DP_ASSERT_MSG(strstr(text, "topic=\"a\"") == NULL, "expected revoked partitions gone");
    free(text);
}

static void test_metrics_rejects_retries_and_flush_reasons_are_bounded(void)
{
    char *text;
    double sum;

    dp_metrics_reset();
    dp_metrics_reject(DP_REJ_BAD_CURRENCY);
    dp_metrics_reject(DP_REJ_BAD_CURRENCY);
    dp_metrics_reject(9999);
    dp_metrics_retry(DP_EDENIED);
    dp_metrics_retry(DP_EAGAIN);
    dp_metrics_retry(12345);
    dp_metrics_flush_cut("no-such-reason");
    text = render();
    DP_ASSERT_FATAL_MSG(text != NULL, "expected the exposition to render");
    DP_ASSERT_MSG(dp_prom_sum(text, "deltaport_events_rejected_total", &sum) == DP_REJ_COUNT_ - 1,
                  "expected every reject code exported (pre-set to 0)");
    DP_ASSERT_MSG(value_of(text, "deltaport_events_rejected_total{reason=\"BAD_CURRENCY\"}") == 2,
                  "expected 2 BAD_CURRENCY");
    DP_ASSERT_MSG(value_of(text, "deltaport_load_retries_total{class=\"permission_denied\"}") ==
                          1 &&
                      value_of(text, "deltaport_load_retries_total{class=\"unavailable\"}") == 1 &&
                      value_of(text, "deltaport_load_retries_total{class=\"other\"}") == 1,
                  "expected one retry in each of permission_denied, unavailable, other");
    DP_ASSERT_MSG(value_of(text, "deltaport_flushes_total{reason=\"other\"}") == 1,
                  "expected an unknown reason under other");
    DP_ASSERT_MSG(dp_metrics_counter(DP_MC_LABEL_OVERFLOW) == 1,
                  "expected the unknown reject code counted as overflow");
    DP_ASSERT_MSG(dp_metrics_retry_class(DP_ETIMEDOUT) == DP_MR_TIMEOUT &&
                      dp_metrics_retry_class(DP_EIO) == DP_MR_TRANSPORT &&
                      dp_metrics_retry_class(DP_ENOTFOUND) == DP_MR_NOT_FOUND,
                  "expected the DP_E* classes");
    free(text);
}

static void test_metrics_raise_never_lowers_a_counter(void)
{
    dp_metrics_reset();
    dp_metrics_raise(DP_MC_TOKEN_FETCHES, 5);
    dp_metrics_raise(DP_MC_TOKEN_FETCHES, 3);
    DP_ASSERT_MSG(dp_metrics_counter(DP_MC_TOKEN_FETCHES) == 5, "expected 5, got %llu",
                  (unsigned long long)dp_metrics_counter(DP_MC_TOKEN_FETCHES));
}

#define THREADS    4
#define PER_THREAD 20000

static void *adder(void *arg)
{
    (void)arg;
    for (int i = 0; i < PER_THREAD; i++) {
        dp_metrics_add(DP_MC_MESSAGES_CONSUMED, 1);
        dp_metrics_observe(DP_MH_FLUSH_SECONDS, 0.2);
        if (i % 1000 == 0)
            dp_metrics_rows_loaded("evt_x", 1);
    }
    return NULL;
}

static void test_metrics_concurrent_updates_are_exact(void)
{
    pthread_t t[THREADS];
    char *text;

    dp_metrics_reset();
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, adder, NULL);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    text = render();
    DP_ASSERT_FATAL_MSG(text != NULL, "expected the exposition to render");
    DP_ASSERT_MSG(dp_metrics_counter(DP_MC_MESSAGES_CONSUMED) == THREADS * PER_THREAD,
                  "expected %d, got %llu", THREADS * PER_THREAD,
                  (unsigned long long)dp_metrics_counter(DP_MC_MESSAGES_CONSUMED));
    DP_ASSERT_MSG(value_of(text, "deltaport_flush_duration_seconds_count") == THREADS * PER_THREAD,
                  "expected every observation counted");
    DP_ASSERT_MSG(value_of(text, "deltaport_rows_loaded_total{table=\"evt_x\"}") ==
                      THREADS * PER_THREAD / 1000,
                  "expected one table series with every row");
    free(text);
}

static void test_health_liveness_follows_both_heartbeats(void)
{
    char why[256];
    long long now = dp_health_now_ms();

    dp_health_init(1000);
    DP_ASSERT_MSG(dp_health_live_at(now + 500, why, sizeof(why)) == 1, "expected live: %s", why);
    dp_health_beat_at(DP_HEALTH_POLL, now + 1500);
    DP_ASSERT_MSG(dp_health_live_at(now + 2000, why, sizeof(why)) == 0 &&
                      strstr(why, "loader") != NULL,
                  "expected the stale loader named, got: %s", why);
    dp_health_beat_at(DP_HEALTH_LOADER, now + 1900);
    DP_ASSERT_MSG(dp_health_live_at(now + 2000, why, sizeof(why)) == 1, "expected live: %s", why);
    DP_ASSERT_MSG(dp_health_live_at(now + 2600, why, sizeof(why)) == 0 &&
                      strstr(why, "poll") != NULL,
                  "expected the stale poll thread named, got: %s", why);
}

static void test_health_readiness_is_init_until_stopping(void)
{
    char why[64];

    dp_metrics_reset();
    dp_health_init(60000);
    DP_ASSERT_MSG(dp_health_ready(why, sizeof(why)) == 0 && strcmp(why, "starting") == 0,
                  "expected starting, got %s", why);
    dp_health_set_ready(1);
    DP_ASSERT_MSG(dp_health_ready(why, sizeof(why)) == 1, "expected ready, got %s", why);
    DP_ASSERT_MSG(dp_metrics_gauge(DP_MG_READY) == 1, "expected deltaport_ready 1");
    dp_health_stopping();
    dp_health_set_ready(1);
    DP_ASSERT_MSG(dp_health_ready(why, sizeof(why)) == 0 && strcmp(why, "shutting down") == 0,
                  "expected shutting down to win, got %s", why);
    DP_ASSERT_MSG(dp_metrics_gauge(DP_MG_READY) == 0, "expected deltaport_ready 0");
}

static void test_health_readiness_fails_without_a_broker(void)
{
    char why[512];
    long long t0;

    dp_metrics_reset();
    dp_health_init(60000);
    t0 = dp_health_now_ms();
    dp_health_set_broker_timeout(10000);
    dp_health_set_ready(1);
    /* No statistics yet: the clock runs from init. */
    DP_ASSERT_MSG(dp_health_ready_at(t0 + 9000, why, sizeof(why)) == 1, "expected ready: %s", why);
    dp_health_kafka_brokers_at(2, t0 + 9500);
    DP_ASSERT_MSG(dp_health_ready_at(t0 + 30000, why, sizeof(why)) == 1,
                  "expected ready while the last statistics saw brokers: %s", why);
    dp_health_kafka_error("127.0.0.1:9092/1: Connect to ipv4#127.0.0.1:9092 failed: "
                          "Connection refused");
    dp_health_kafka_brokers_at(0, t0 + 31000);
    dp_health_kafka_brokers_at(0, t0 + 35000); /* the clock keeps the first "none" */
    DP_ASSERT_MSG(dp_health_ready_at(t0 + 40000, why, sizeof(why)) == 1,
                  "expected ready 9 s after the last broker went: %s", why);
    DP_ASSERT_MSG(dp_health_ready_at(t0 + 41500, why, sizeof(why)) == 0 &&
                      strstr(why, "kafka: no broker reachable for 10500 ms") &&
                      strstr(why, "http.readiness_broker_timeout_ms = 10000") &&
                      strstr(why, "last error: 127.0.0.1:9092/1: Connect to"),
                  "expected not ready naming the broker timeout and the last error, got %s", why);
    /* Liveness never depends on the brokers. */
    dp_health_beat_at(DP_HEALTH_POLL, t0 + 41000);
    dp_health_beat_at(DP_HEALTH_LOADER, t0 + 41000);
    DP_ASSERT_MSG(dp_health_live_at(t0 + 41500, why, sizeof(why)) == 1, "expected live: %s", why);
    dp_health_kafka_brokers_at(1, t0 + 42000);
    DP_ASSERT_MSG(dp_health_ready_at(t0 + 42001, why, sizeof(why)) == 1,
                  "expected ready again once a broker is up: %s", why);
    dp_health_set_broker_timeout(0);
    dp_health_kafka_brokers_at(0, t0 + 43000);
    DP_ASSERT_MSG(dp_health_ready_at(t0 + 900000, why, sizeof(why)) == 1,
                  "expected the check off with timeout 0: %s", why);
    dp_health_stopping();
    DP_ASSERT_MSG(dp_health_ready_at(t0 + 900000, why, sizeof(why)) == 0 &&
                      strcmp(why, "shutting down") == 0,
                  "expected shutting down, got %s", why);
}

static void test_kafka_stats_count_brokers_up(void)
{
    static const char stats[] =
        "{\"name\":\"rdkafka#consumer-1\",\"brokers\":{"
        "\"127.0.0.1:1/1\":{\"name\":\"127.0.0.1:1/1\",\"nodeid\":1,\"source\":\"configured\","
        "\"state\":\"UP\"},"
        "\"127.0.0.1:2/2\":{\"nodeid\":2,\"source\":\"learned\",\"state\":\"UP\"},"
        "\"127.0.0.1:3/3\":{\"nodeid\":3,\"source\":\"learned\",\"state\":\"TRY_CONNECT\"},"
        "\"127.0.0.1:4/4\":{\"nodeid\":4,\"source\":\"learned\",\"state\":\"INIT\"},"
        "\"GroupCoordinator\":{\"nodeid\":2,\"source\":\"logical\",\"state\":\"UP\"}},"
        "\"topics\":{}}";
    static const char down[] =
        "{\"brokers\":{\"127.0.0.1:1/1\":{\"nodeid\":1,\"source\":\"configured\","
        "\"state\":\"TRY_CONNECT\"},\"GroupCoordinator\":{\"source\":\"logical\","
        "\"state\":\"TRY_CONNECT\"}}}";

    DP_ASSERT_MSG(dp_kafka_stats_brokers_up(stats, strlen(stats)) == 2,
                  "expected 2 brokers up (the logical coordinator not counted), got %d",
                  dp_kafka_stats_brokers_up(stats, strlen(stats)));
    DP_ASSERT_MSG(dp_kafka_stats_brokers_up(down, strlen(down)) == 0, "expected 0 brokers up");
    /* Another spacing: the whole document is parsed instead. */
    DP_ASSERT_MSG(dp_kafka_stats_brokers_up("{\"topics\":{\"x\":{}}, \"brokers\" : {\"b/1\": "
                                            "{\"source\":\"learned\",\"state\":\"UP\"}}}",
                                            75) == 1,
                  "expected 1 broker up from a document parsed whole");
    DP_ASSERT_MSG(dp_kafka_stats_brokers_up("{\"topics\":{}}", 13) == -1 &&
                      dp_kafka_stats_brokers_up("not json", 8) == -1,
                  "expected -1 without a brokers object");
}

static void test_kafka_log_levels_and_partitions(void)
{
    static const struct {
        const char *line, *topic;
        int partition;
    } cases[] = {
        {"events [3]: fetch backoff for 500ms: Broker: Offset out of range", "events", 3},
        {"Topic my.topic-v2_x [12] not found in cache", "my.topic-v2_x", 12},
        {"127.0.0.1:9092/1: Connect to ipv4#127.0.0.1:9092 failed", NULL, -1},
        {"[thrd:main]: no partition here [x]", NULL, -1},
        {"GroupCoordinator: [2147483647] is not a topic", NULL, -1},
    };
    char topic[64];
    int32_t part;

    DP_ASSERT_MSG(dp_kafka_log_level(0) == DP_LOG_ERROR && dp_kafka_log_level(3) == DP_LOG_ERROR &&
                      dp_kafka_log_level(4) == DP_LOG_WARN &&
                      dp_kafka_log_level(5) == DP_LOG_INFO &&
                      dp_kafka_log_level(6) == DP_LOG_INFO && dp_kafka_log_level(7) == DP_LOG_DEBUG,
                  "expected syslog 0-3 error, 4 warn, 5-6 info, 7 debug");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int found = dp_kafka_log_partition(cases[i].line, topic, sizeof(topic), &part);

        if (cases[i].topic)
            DP_ASSERT_MSG(found && strcmp(topic, cases[i].topic) == 0 && part == cases[i].partition,
                          "'%s': expected %s [%d], got %d %s [%d]", cases[i].line, cases[i].topic,
                          cases[i].partition, found, found ? topic : "", found ? (int)part : -1);
        else
            DP_ASSERT_MSG(!found, "'%s': expected no partition, got %s [%d]", cases[i].line, topic,
                          (int)part);
    }
}

static void test_metrics_brokers_up_and_databricks_success_exported(void)
{
    char *text;

    dp_metrics_reset();
    dp_metrics_set(DP_MG_KAFKA_BROKERS_UP, 3);
    dp_metrics_set(DP_MG_DBX_LAST_SUCCESS_MS, 1796000000123LL);
    text = render();
    DP_ASSERT_FATAL_MSG(text != NULL, "expected a rendering");
    DP_ASSERT_MSG(value_of(text, "deltaport_kafka_brokers_up") == 3, "expected brokers up 3");
    DP_ASSERT_MSG(strstr(text, "\ndeltaport_databricks_last_success_timestamp_seconds "
                               "1796000000.123\n") != NULL,
                  "expected the Databricks success timestamp in seconds");
    free(text);
}

static void test_progress_line_adds_up_the_registry(void)
{
    dp_metrics_partition_t parts[] = {
        {"events", 0, 100, 40}, {"events", 1, 20, -1}, {"events", 2, -1, -1}};
    dp_progress_t p = {1200, 300, 900, 0};
    char line[512];

    dp_metrics_reset();
    dp_metrics_set_partitions(parts, 3);
    dp_metrics_rows_loaded("evt_a", 600);
    dp_metrics_rows_loaded("evt_b", 300);
    dp_metrics_set(DP_MG_BUFFER_OPEN_BYTES, 3 * 1024 * 1024 / 2);
    dp_metrics_set(DP_MG_BUFFER_LOADING_BYTES, 2048);
    p.flush_due_ms = 1000000 + 5012 * 1000;
    dp_progress_format(&p, 1000000, line, sizeof(line));
    DP_ASSERT_MSG(
        strcmp(line,
               "consumed 1200, buffered 300 records (1.5 MiB, 2.0 KiB loading), loaded 900 rows, "
               "committed 900, lag 120 (fetch lag 40), next flush in 1h23m32s") == 0,
        "unexpected progress line: %s", line);
    p.buffered = 0;
    dp_metrics_set_partitions(NULL, 0);
    dp_progress_format(&p, 1000000, line, sizeof(line));
    DP_ASSERT_MSG(strstr(line, "lag unknown (fetch lag unknown), no flush due (nothing buffered)"),
                  "unexpected progress line without partitions: %s", line);
}

static const dp_test_case_t metrics_cases[] = {
    {"test_metrics_exposition_is_valid_text_format", test_metrics_exposition_is_valid_text_format},
    {"test_metrics_histogram_is_cumulative_with_sum_and_count",
     test_metrics_histogram_is_cumulative_with_sum_and_count},
    {"test_metrics_table_labels_are_capped_with_overflow_counted",
     test_metrics_table_labels_are_capped_with_overflow_counted},
    {"test_metrics_partitions_are_replaced_and_unknown_lag_hidden",
     test_metrics_partitions_are_replaced_and_unknown_lag_hidden},
    {"test_metrics_rejects_retries_and_flush_reasons_are_bounded",
     test_metrics_rejects_retries_and_flush_reasons_are_bounded},
    {"test_metrics_raise_never_lowers_a_counter", test_metrics_raise_never_lowers_a_counter},
    {"test_metrics_concurrent_updates_are_exact", test_metrics_concurrent_updates_are_exact},
    {"test_health_liveness_follows_both_heartbeats", test_health_liveness_follows_both_heartbeats},
    {"test_health_readiness_is_init_until_stopping", test_health_readiness_is_init_until_stopping},
    {"test_health_readiness_fails_without_a_broker", test_health_readiness_fails_without_a_broker},
    {"test_kafka_stats_count_brokers_up", test_kafka_stats_count_brokers_up},
    {"test_kafka_log_levels_and_partitions", test_kafka_log_levels_and_partitions},
    {"test_metrics_brokers_up_and_databricks_success_exported",
     test_metrics_brokers_up_and_databricks_success_exported},
    {"test_progress_line_adds_up_the_registry", test_progress_line_adds_up_the_registry},
    {NULL, NULL},
};

static const dp_test_suite_t suites[] = {
    {"metrics", NULL, NULL, metrics_cases},
    {NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
    return dp_test_main(argc, argv, suites);
}
