/*
 * Unit tests of openflush: the byte cap, the sequence, the three cut rules
 * and dropping a partition's records from the open flush.
 */
#include "batch/openflush.h"
#include "core/clock.h"
#include "dp_test.h"

#include <librdkafka/rdkafka.h>
#include <string.h>

#define TS 1700000000123LL

static dp_config_t config(int64_t max_events, int64_t max_bytes, int64_t max_age_ms, int64_t budget)
{
    dp_config_t cfg;

    memset(&cfg, 0, sizeof(cfg));
    cfg.flush.max_events = max_events;
    cfg.flush.max_bytes = max_bytes;
    cfg.flush.max_age_ms = max_age_ms;
    cfg.flush.memory_budget_bytes = budget;
    return cfg;
}

/* Appends n records of 10 bytes to table, partition part of "events", from
 * off. Returns 0, or what dp_flush_add refused the first failing one with. */
static int add(dp_openflush_t *o, const char *table, int32_t part, int64_t off, int n)
{
    dp_err_t err;
    int rc;

    for (int i = 0; i < n; i++) {
        rc = dp_flush_add(o->flush, table, "events", part, off + i, TS, "0123456789", 10, &err);
        if (rc != 0)
            return rc;
        dp_openflush_added(o);
    }
    return 0;
}

static void test_openflush_cap_is_half_the_budget_at_most(void)
{
    dp_config_t roomy = config(1000, 1 << 20, 60000, 8 << 20);
    dp_config_t tight = config(1000, 1 << 20, 60000, 1 << 20);
    dp_openflush_t a, b;

    dp_openflush_init(&a, &roomy, "inc-1");
    dp_openflush_init(&b, &tight, "inc-1");
    DP_ASSERT_MSG(a.cap == (size_t)(1 << 20), "cap %zu, expected max_bytes", a.cap);
    DP_ASSERT_MSG(b.cap == (size_t)(1 << 19), "cap %zu, expected half the budget", b.cap);
    DP_ASSERT_MSG(a.flush != NULL && dp_flush_seq(a.flush) == 1, "the first flush is seq 1");
    dp_openflush_free(&a);
    dp_openflush_free(&b);
    DP_ASSERT_MSG(a.flush == NULL, "free clears the open flush");
}

static void test_openflush_next_counts_and_resets_age(void)
{
    dp_config_t cfg = config(1000, 1 << 20, 60000, 8 << 20);
    dp_openflush_t o;
    dp_flush_t *handed;

    dp_openflush_init(&o, &cfg, "inc-1");
    DP_ASSERT_MSG(o.since_ms == 0, "an empty flush has no age");
    DP_ASSERT_FATAL_MSG(add(&o, "evt_a", 0, 0, 1) == 0, "add failed");
    DP_ASSERT_MSG(o.since_ms > 0, "the first record starts the age");
    handed = o.flush; /* as the loader would take it */
    dp_openflush_next(&o);
    DP_ASSERT_MSG(o.flush != handed && dp_flush_seq(o.flush) == 2,
                  "next opens a new flush with seq 2 (got %llu)",
                  (unsigned long long)dp_flush_seq(o.flush));
    DP_ASSERT_MSG(o.since_ms == 0 && dp_flush_rows(o.flush) == 0, "the next flush is empty");
    dp_flush_destroy(handed);
    dp_openflush_free(&o);
}

static void test_openflush_due_rules(void)
{
    dp_config_t by_events = config(5, 1 << 20, 60000, 8 << 20);
    dp_config_t by_bytes = config(1000, 200, 60000, 8 << 20);
    dp_config_t by_age = config(1000, 1 << 20, 50, 8 << 20);
    dp_openflush_t o;
    const char *why;

    dp_openflush_init(&o, &by_events, "inc-1");
    DP_ASSERT_MSG(dp_openflush_due(&o) == NULL, "an empty flush is never due");
    DP_ASSERT_FATAL_MSG(add(&o, "evt_a", 0, 0, 4) == 0 && add(&o, "evt_b", 1, 0, 4) == 0,
                        "add failed");
    DP_ASSERT_MSG(dp_openflush_due(&o) == NULL, "4 rows per table is below max_events 5");
    DP_ASSERT_FATAL_MSG(add(&o, "evt_a", 0, 4, 1) == 0, "add failed");
    why = dp_openflush_due(&o);
    DP_ASSERT_MSG(why && strcmp(why, "max_events") == 0, "one table at 5 rows: got %s",
                  why ? why : "NULL");
    dp_openflush_free(&o);

    dp_openflush_init(&o, &by_bytes, "inc-1");
    DP_ASSERT_FATAL_MSG(add(&o, "evt_a", 0, 0, 1) == 0, "add failed");
    DP_ASSERT_MSG(dp_openflush_due(&o) == NULL, "%zu bytes is below max_bytes 200",
                  dp_flush_bytes(o.flush));
    /* Until it holds max_bytes, or is full (the cap is max_bytes too). */
    for (int64_t off = 1; dp_flush_bytes(o.flush) < 200 && off < 100; off++) {
        int rc = add(&o, "evt_a", 0, off, 1);

        if (rc == DP_ETOOBIG)
            break;
        DP_ASSERT_FATAL_MSG(rc == 0, "add @%lld failed: %d", (long long)off, rc);
    }
    why = dp_openflush_due(&o);
    DP_ASSERT_MSG(why && strcmp(why, "max_bytes") == 0, "%zu bytes: got %s",
                  dp_flush_bytes(o.flush), why ? why : "NULL");
    dp_openflush_free(&o);

    dp_openflush_init(&o, &by_age, "inc-1");
    DP_ASSERT_FATAL_MSG(add(&o, "evt_a", 0, 0, 1) == 0, "add failed");
    DP_ASSERT_MSG(dp_openflush_due(&o) == NULL, "a fresh record is not max_age old");
    o.since_ms = dp_clock_mono_ms() - 51; /* the first record arrived 51 ms ago */
    why = dp_openflush_due(&o);
    DP_ASSERT_MSG(why && strcmp(why, "max_age") == 0, "51 ms old, max_age 50: got %s",
                  why ? why : "NULL");
    dp_openflush_free(&o);
}

static void test_openflush_drop_keeps_other_partitions(void)
{
    dp_config_t cfg = config(1000, 1 << 20, 60000, 8 << 20);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
    dp_openflush_t o;

    dp_openflush_init(&o, &cfg, "inc-1");
    DP_ASSERT_FATAL_MSG(add(&o, "evt_a", 0, 0, 3) == 0 && add(&o, "evt_a", 1, 0, 2) == 0,
                        "add failed");
    rd_kafka_topic_partition_list_add(parts, "events", 0);
    dp_openflush_drop(&o, parts);
    DP_ASSERT_MSG(dp_flush_rows(o.flush) == 2, "partition 1's 2 rows stay, got %lld",
                  (long long)dp_flush_rows(o.flush));
    for (size_t i = 0; i < dp_flush_nranges(o.flush); i++) {
        const char *topic;
        int32_t part;
        int64_t first, last;

        if (dp_flush_range(o.flush, i, &topic, &part, &first, &last) == 0)
            DP_ASSERT_MSG(part == 1 && first == 0 && last == 1,
                          "left: [%d] %lld..%lld, expected only [1] 0..1", (int)part,
                          (long long)first, (long long)last);
    }
    dp_openflush_free(&o);
    dp_openflush_drop(&o, parts); /* no open flush: a no-op */
    rd_kafka_topic_partition_list_destroy(parts);
}

static const dp_test_case_t cases[] = {
    {"test_openflush_cap_is_half_the_budget_at_most",
     test_openflush_cap_is_half_the_budget_at_most},
    {"test_openflush_next_counts_and_resets_age", test_openflush_next_counts_and_resets_age},
    {"test_openflush_due_rules", test_openflush_due_rules},
    {"test_openflush_drop_keeps_other_partitions", test_openflush_drop_keeps_other_partitions},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    const dp_test_suite_t suites[] = {{"openflush", NULL, NULL, cases}, {NULL, NULL, NULL, NULL}};

    return dp_test_main(argc, argv, suites);
}
