/*
 * Unit tests of flush: records per (table, partition), ranges, drop, cap.
 */
#include "batch/flush.h"
#include "dp_test.h"
#include "route/tablename.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The Kafka timestamp the records carry (ms). */
#define TS 1700000000123LL

struct seen {
    size_t bytes;
    int64_t n;
    int calls;
};

static void visit(void *ctx, const void *data, size_t len, int64_t n)
{
    struct seen *s = ctx;

    (void)data;
    s->bytes += len;
    s->n += n;
    s->calls++;
}

static int64_t table_rows(dp_flush_t *flush, const char *name)
{
    for (size_t i = 0; i < dp_flush_ntables(flush); i++) {
        int64_t rows;
        const char *t = dp_flush_table(flush, i, &rows);

        if (strcmp(t, name) == 0)
            return rows;
    }
    return -1;
}

static void test_flush_ranges_and_tables(void)
{
    dp_flush_t *flush = dp_flush_new(7, 1700000000000000LL, "inc-1", 1 << 20);
    dp_err_t err;
    const char *topic;
    int32_t part;
    int64_t first, last;
    struct seen s = {0};
    size_t found = 0;

    for (int64_t off = 10; off < 20; off++) {
        const char *table = off % 2 ? "evt_purchase" : "evt_otherevents";

        DP_ASSERT_FATAL_MSG(dp_flush_add(flush, table, "events", 3, off, TS, "abc", 3, &err) == 0,
                            "add @%lld failed: %s", (long long)off, err.msg);
    }
    DP_ASSERT_FATAL_MSG(dp_flush_add(flush, "event_errors", "events", 5, 100, TS, "x", 1, &err) ==
                            0,
                        "add failed: %s", err.msg);
    DP_ASSERT_MSG(dp_flush_add(flush, "evt_purchase", "events", 3, 15, TS, "y", 1, &err) ==
                      DP_FLUSH_REDELIVERY,
                  "an offset below the range is a redelivery");
    DP_ASSERT_MSG(dp_flush_rows(flush) == 11, "expected 11 rows, got %lld",
                  (long long)dp_flush_rows(flush));
    DP_ASSERT_MSG(table_rows(flush, "evt_purchase") == 5, "evt_purchase: expected 5, got %lld",
                  (long long)table_rows(flush, "evt_purchase"));
    DP_ASSERT_MSG(dp_flush_max_table_rows(flush) == 5, "max table rows: expected 5, got %lld",
                  (long long)dp_flush_max_table_rows(flush));
    for (size_t i = 0; i < dp_flush_nranges(flush); i++) {
        if (dp_flush_range(flush, i, &topic, &part, &first, &last) < 0)
            continue;
        found++;
        if (part == 3)
            DP_ASSERT_MSG(first == 10 && last == 19, "p3: expected 10..19, got %lld..%lld",
                          (long long)first, (long long)last);
        else
            DP_ASSERT_MSG(part == 5 && first == 100 && last == 100, "p%d: got %lld..%lld",
                          (int)part, (long long)first, (long long)last);
    }
    DP_ASSERT_MSG(found == 2, "expected 2 ranges, got %zu", found);
    /* Each record = body (3 bytes) + topic (1+6) + partition (1) + offset (1) + the
     * timestamp's branch and micros (1+8) + the incarnation (1+5). */
    for (size_t i = 0; i < dp_flush_ntables(flush); i++) {
        if (strcmp(dp_flush_table(flush, i, NULL), "evt_otherevents") == 0)
            dp_flush_table_records(flush, i, visit, &s);
    }
    DP_ASSERT_MSG(s.n == 5 && s.calls == 1, "expected 5 records in 1 buffer, got %lld in %d",
                  (long long)s.n, s.calls);
    DP_ASSERT_MSG(s.bytes == 5 * (3 + 7 + 1 + 1 + 9 + 6), "expected %d bytes, got %zu",
                  5 * (3 + 7 + 1 + 1 + 9 + 6), s.bytes);
    dp_flush_destroy(flush);
}

static void test_flush_drop_partition_keeps_others(void)
{
    dp_flush_t *flush = dp_flush_new(1, 0, "inc-1", 1 << 20);
    dp_err_t err;
    const char *topic;
    int32_t part;
    int64_t first, last;
    size_t before;

    dp_flush_add(flush, "evt_a", "t", 0, 1, TS, "aa", 2, &err);
    dp_flush_add(flush, "evt_a", "t", 1, 1, TS, "bb", 2, &err);
    dp_flush_add(flush, "evt_b", "t", 1, 2, TS, "cc", 2, &err);
    before = dp_flush_bytes(flush);
    dp_flush_drop_partition(flush, "t", 1);
    DP_ASSERT_MSG(dp_flush_rows(flush) == 1, "expected 1 row left, got %lld",
                  (long long)dp_flush_rows(flush));
    DP_ASSERT_MSG(dp_flush_bytes(flush) < before && dp_flush_bytes(flush) > 0,
                  "bytes should shrink: %zu -> %zu", before, dp_flush_bytes(flush));
    DP_ASSERT_MSG(table_rows(flush, "evt_b") == 0, "evt_b should be empty");
    for (size_t i = 0; i < dp_flush_nranges(flush); i++) {
        if (dp_flush_range(flush, i, &topic, &part, &first, &last) == 0)
            DP_ASSERT_MSG(part == 0, "dropped partition 1 still has a range");
    }
    /* A dropped partition can start again from any offset. */
    DP_ASSERT_MSG(dp_flush_add(flush, "evt_a", "t", 1, 0, TS, "dd", 2, &err) == 0,
                  "re-adding after a drop failed: %s", err.msg);
    dp_flush_destroy(flush);
}

static void test_flush_byte_cap(void)
{
    dp_flush_t *flush = dp_flush_new(1, 0, "inc-1", 200);
    dp_err_t err;
    char body[64] = {0};
    int added = 0, rc = 0;

    for (int64_t off = 0; off < 100 && rc == 0; off++) {
        rc = dp_flush_add(flush, "evt_a", "t", 0, off, TS, body, sizeof(body), &err);
        if (rc == 0)
            added++;
    }
    DP_ASSERT_MSG(rc == DP_ETOOBIG && dp_flush_full(flush), "expected DP_ETOOBIG and full, got %d",
                  rc);
    DP_ASSERT_MSG(added >= 1 && dp_flush_bytes(flush) <= 200, "added %d, bytes %zu", added,
                  dp_flush_bytes(flush));
    DP_ASSERT_MSG(dp_flush_rows(flush) == added, "rows %lld != added %d",
                  (long long)dp_flush_rows(flush), added);
    dp_flush_destroy(flush);
}

/* A record larger than the cap goes alone into an empty flush (else it would
 * never be loaded), and nothing joins it. */
static void test_flush_one_oversized_record_alone(void)
{
    dp_flush_t *flush = dp_flush_new(1, 0, "inc-1", 100);
    char body[300] = {0};
    dp_err_t err;

    DP_ASSERT_MSG(!dp_flush_full(flush), "a new flush is not full");
    DP_ASSERT_MSG(dp_flush_add(flush, "evt_a", "t", 0, 0, TS, body, sizeof(body), &err) == 0,
                  "an empty flush must take an oversized record: %s", err.msg);
    DP_ASSERT_MSG(dp_flush_add(flush, "evt_a", "t", 0, 1, TS, body, 1, &err) == DP_ETOOBIG &&
                      dp_flush_full(flush),
                  "nothing may join an oversized record");
    DP_ASSERT_MSG(dp_flush_rows(flush) == 1, "rows %lld", (long long)dp_flush_rows(flush));
    dp_flush_destroy(flush);
}

struct walked {
    int n;
    int64_t offsets[8];
    int ok;
};

static int walk(void *ctx, const dp_flush_record_t *rec)
{
    struct walked *w = ctx;
    dp_buf_t want;
    dp_err_t err;
    /* The lineage of the third record has no timestamp. */
    int64_t ts = rec->offset == 302 ? -1 : TS;

    if (w->n < 8)
        w->offsets[w->n] = rec->offset;
    w->ok &= rec->body_len == 4 && memcmp(rec->body, "body", 4) == 0 && rec->topic_len == 6 &&
             memcmp(rec->topic, "events", 6) == 0 && rec->partition == 2;
    /* The lineage bytes are dp_flush_put_lineage's encoding of the fields. */
    dp_buf_init(&want, 1024);
    dp_flush_put_lineage(&want, "events", 2, rec->offset, ts, "inc-1", &err);
    w->ok &= rec->lineage_len == dp_buf_len(&want) &&
             memcmp(rec->lineage, dp_buf_data(&want), rec->lineage_len) == 0;
    dp_buf_free(&want);
    w->n++;
    return 0;
}

static void test_flush_table_each_walks_records_with_lineage(void)
{
    dp_flush_t *flush = dp_flush_new(1, 1700000000000000LL, "inc-1", 1 << 20);
    struct walked w = {0, {0}, 1};
    dp_err_t err;

    for (int64_t off = 300; off < 303; off++)
        dp_flush_add(flush, "evt_a", "events", 2, off, off == 302 ? -1 : TS, "body", 4, &err);
    DP_ASSERT_FATAL_MSG(dp_flush_ntables(flush) == 1, "expected one table");
    DP_ASSERT_MSG(dp_flush_table_each(flush, 0, walk, &w) == 0, "walk failed");
    DP_ASSERT_MSG(w.n == 3 && w.ok, "expected 3 well-formed records, got %d (ok %d)", w.n, w.ok);
    DP_ASSERT_MSG(w.offsets[0] == 300 && w.offsets[2] == 302, "offsets %lld..%lld",
                  (long long)w.offsets[0], (long long)w.offsets[2]);
    dp_flush_destroy(flush);
}

/* Issue 11 item 3: a redelivery has its own answer, and a table the flush
 * cannot take is an error, never mistaken for one (the worker used to take
 * any DP_EINVAL for a redelivery and commit past the event). */
static void test_flush_redelivery_is_not_an_error(void)
{
    dp_flush_t *flush = dp_flush_new(1, 0, "inc-1", 1 << 20);
    char table[DP_TABLENAME_TABLE_SIZE + 8];
    dp_err_t err;
    int rc;

    DP_ASSERT_FATAL_MSG(dp_flush_add(flush, "evt_a", "t", 0, 5, TS, "x", 1, &err) == 0, "%s",
                        err.msg);
    rc = dp_flush_add(flush, "evt_a", "t", 0, 5, TS, "x", 1, &err);
    DP_ASSERT_MSG(rc == DP_FLUSH_REDELIVERY && strstr(err.msg, "@5 is not above @5"),
                  "same offset again: expected DP_FLUSH_REDELIVERY, got %d '%s'", rc, err.msg);
    rc = dp_flush_add(flush, "evt_a", "t", 0, 4, TS, "x", 1, &err);
    DP_ASSERT_MSG(rc == DP_FLUSH_REDELIVERY, "lower offset: expected DP_FLUSH_REDELIVERY, got %d",
                  rc);
    memset(table, 'e', sizeof(table) - 1);
    table[sizeof(table) - 1] = '\0';
    rc = dp_flush_add(flush, table, "t", 0, 6, TS, "x", 1, &err);
    DP_ASSERT_MSG(rc < 0 && rc != DP_ETOOBIG && strstr(err.msg, "longer than 104"),
                  "over-long table: expected an error (not a redelivery, not full), got %d '%s'",
                  rc, err.msg);
    table[DP_TABLENAME_TABLE_MAX] = '\0';
    DP_ASSERT_MSG(dp_flush_add(flush, table, "t", 0, 6, TS, "x", 1, &err) == 0,
                  "the longest table name must fit: %s", err.msg);
    DP_ASSERT_MSG(dp_flush_rows(flush) == 2, "expected 2 rows, got %lld",
                  (long long)dp_flush_rows(flush));
    dp_flush_destroy(flush);
}

/* Within a flush a partition's offsets are contiguous: a gap is refused
 * until the caller confirms it with the broker (issue 16: a consumer that
 * skips offsets must never have them committed past unseen). */
static void test_flush_gap_refused_until_allowed(void)
{
    dp_flush_t *flush = dp_flush_new(1, 0, "inc-1", 1 << 20);
    dp_err_t err;
    int rc;

    DP_ASSERT_FATAL_MSG(dp_flush_add(flush, "evt_a", "t", 0, 10, TS, "x", 1, &err) == 0, "%s",
                        err.msg);
    DP_ASSERT_MSG(dp_flush_last(flush, "t", 0) == 10 && dp_flush_last(flush, "t", 9) == -1,
                  "last offsets wrong");
    rc = dp_flush_add(flush, "evt_a", "t", 0, 13, TS, "x", 1, &err);
    DP_ASSERT_MSG(rc == DP_FLUSH_GAP && strstr(err.msg, "@11..@12 are missing"),
                  "expected DP_FLUSH_GAP naming @11..@12, got %d '%s'", rc, err.msg);
    DP_ASSERT_MSG(dp_flush_rows(flush) == 1 && dp_flush_last(flush, "t", 0) == 10,
                  "a refused gap must add nothing");
    dp_flush_allow_gap(flush, "t", 0, 14);
    DP_ASSERT_MSG(dp_flush_add(flush, "evt_a", "t", 0, 13, TS, "x", 1, &err) == DP_FLUSH_GAP,
                  "only the confirmed offset may follow the gap");
    dp_flush_allow_gap(flush, "t", 0, 13);
    DP_ASSERT_MSG(dp_flush_add(flush, "evt_a", "t", 0, 13, TS, "x", 1, &err) == 0,
                  "confirmed gap refused: %s", err.msg);
    DP_ASSERT_MSG(dp_flush_add(flush, "evt_a", "t", 0, 15, TS, "x", 1, &err) == DP_FLUSH_GAP,
                  "an allowance is for one gap only");
    DP_ASSERT_MSG(dp_flush_add(flush, "evt_a", "t", 0, 14, TS, "x", 1, &err) == 0, "%s", err.msg);
    /* Another partition starts anywhere. */
    DP_ASSERT_MSG(dp_flush_add(flush, "evt_a", "t", 1, 1000, TS, "x", 1, &err) == 0, "%s", err.msg);
    dp_flush_destroy(flush);
}

/* Only each partition's last message is fingerprinted, when asked, and the
 * value is the fingerprint of that message. */
static void test_flush_fingerprint_of_last_message(void)
{
    dp_flush_t *flush = dp_flush_new(1, 0, "inc-1", 1 << 20);
    dp_err_t err;
    char value[64];
    const char *topic;
    int32_t part;
    int64_t first, last;

    for (int64_t off = 0; off < 50; off++) {
        int n = snprintf(value, sizeof(value), "value-%lld", (long long)off);

        DP_ASSERT_FATAL_MSG(
            dp_flush_add(flush, "evt_a", "t", (int32_t)(off % 2), off / 2, TS, "b", 1, &err) == 0,
            "%s", err.msg);
        dp_flush_set_last_message(flush, "k", 1, value, (size_t)n);
    }
    for (size_t i = 0; i < dp_flush_nranges(flush); i++) {
        int n;

        DP_ASSERT_FATAL_MSG(dp_flush_range(flush, i, &topic, &part, &first, &last) == 0,
                            "range %zu", i);
        n = snprintf(value, sizeof(value), "value-%lld", (long long)(last * 2 + part));
        DP_ASSERT_MSG(dp_flush_range_fp(flush, i) == dp_flush_fingerprint("k", 1, value, (size_t)n),
                      "partition %d: not the fingerprint of its last message", (int)part);
    }
    /* The definition: CRC-32 of the two lengths (LE) then key then value. */
    DP_ASSERT_MSG(dp_flush_fingerprint(NULL, 0, "", 0) == 0x6522df69,
                  "fingerprint of an empty message is %08x",
                  (unsigned)dp_flush_fingerprint(NULL, 0, "", 0));
    dp_flush_destroy(flush);
}

struct copy {
    unsigned char *data;
    size_t len;
    int64_t n;
    int calls;
};

static void collect(void *ctx, const void *data, size_t len, int64_t n)
{
    struct copy *c = ctx;

    memcpy(c->data + c->len, data, len);
    c->len += len;
    c->n += n;
    c->calls++;
}

static int count_offsets(void *ctx, const dp_flush_record_t *rec)
{
    int64_t *seen = ctx;

    if (rec->body_len != 1000 ||
        ((const unsigned char *)rec->body)[0] != (unsigned char)rec->offset)
        return DP_EFAIL;
    seen[rec->partition] += 1;
    return 0;
}

/* Many records spill over several chunks of growing size; every record is
 * whole in one chunk, the runs visited are the records in arrival order,
 * and dropping a partition compacts them across chunks. */
static void test_flush_records_span_chunks(void)
{
    dp_flush_t *flush = dp_flush_new(1, 0, "inc-1", 64 << 20);
    unsigned char body[1000];
    struct copy c = {NULL, 0, 0, 0};
    int64_t seen[2] = {0, 0};
    dp_err_t err;
    size_t size_before;

    for (int64_t i = 0; i < 2000; i++) {
        memset(body, (int)(i / 2) & 0xff, sizeof(body));
        DP_ASSERT_FATAL_MSG(dp_flush_add(flush, "evt_a", "events", (int32_t)(i % 2), i / 2, TS,
                                         body, sizeof(body), &err) == 0,
                            "add %lld: %s", (long long)i, err.msg);
    }
    c.data = malloc(dp_flush_bytes(flush));
    dp_flush_table_records(flush, 0, collect, &c);
    DP_ASSERT_MSG(c.n == 2000 && c.calls > 3,
                  "expected 2000 records in several chunks, got %lld "
                  "in %d",
                  (long long)c.n, c.calls);
    /* Each record: 1000 body bytes + "events" (1+6) + partition (1) + offset + the
     * timestamp + the incarnation. */
    DP_ASSERT_MSG(c.len + 2000 * 8 == dp_flush_bytes(flush), "%zu record bytes, flush counts %zu",
                  c.len, dp_flush_bytes(flush));
    DP_ASSERT_MSG(dp_flush_table_each(flush, 0, count_offsets, seen) == 0 && seen[0] == 1000 &&
                      seen[1] == 1000,
                  "walk: %lld + %lld records", (long long)seen[0], (long long)seen[1]);
    size_before = dp_flush_bytes(flush);
    dp_flush_drop_partition(flush, "events", 0);
    seen[0] = seen[1] = 0;
    DP_ASSERT_MSG(dp_flush_table_each(flush, 0, count_offsets, seen) == 0 && seen[0] == 0 &&
                      seen[1] == 1000,
                  "after the drop: %lld + %lld records", (long long)seen[0], (long long)seen[1]);
    DP_ASSERT_MSG(dp_flush_rows(flush) == 1000 && dp_flush_bytes(flush) < size_before,
                  "rows %lld bytes %zu", (long long)dp_flush_rows(flush), dp_flush_bytes(flush));
    /* Adding after the drop appends to the last chunk. */
    DP_ASSERT_MSG(dp_flush_add(flush, "evt_a", "events", 0, 7, TS, body, sizeof(body), &err) == 0,
                  "%s", err.msg);
    free(c.data);
    dp_flush_destroy(flush);
    /* A second flush reuses the freed chunks; nothing to see but no error. */
    flush = dp_flush_new(2, 0, "inc-1", 64 << 20);
    for (int64_t i = 0; i < 500; i++)
        DP_ASSERT_FATAL_MSG(
            dp_flush_add(flush, "evt_b", "events", 0, i, TS, body, sizeof(body), &err) == 0, "%s",
            err.msg);
    DP_ASSERT_MSG(dp_flush_rows(flush) == 500, "rows %lld", (long long)dp_flush_rows(flush));
    dp_flush_destroy(flush);
}

/* Issue 11 item 6: the lineage is _kafka_topic, _kafka_partition,
 * _kafka_offset, _kafka_timestamp (["null", timestamp-micros]: the Kafka
 * timestamp in ms * 1000) and _incarnation, byte for byte; no _loaded_at. */
static void test_flush_lineage_encoding(void)
{
    static const unsigned char with_ts[] = {
        0x0c, 'e',  'v',  'e', 'n', 't', 's', /* string "events" */
        0x06,                                 /* int 3 */
        0x54,                                 /* long 42 */
        0x02, 0xd0, 0x0f,                     /* branch 1, long 1000 (1 ms) */
        0x06, 'i',  'n',  'c',                /* string "inc" */
    };
    static const unsigned char without[] = {0x0c, 'e', 'v',  'e',  'n',
                                            't',  's', 0x06, 0x54, 0x00, /* branch 0: null */
                                            0x06, 'i', 'n',  'c'};
    dp_buf_t b;
    dp_err_t err;

    dp_buf_init(&b, 1024);
    DP_ASSERT_FATAL_MSG(dp_flush_put_lineage(&b, "events", 3, 42, 1, "inc", &err) == 0, "%s",
                        err.msg);
    DP_ASSERT_MSG(dp_buf_len(&b) == sizeof(with_ts) &&
                      memcmp(dp_buf_data(&b), with_ts, sizeof(with_ts)) == 0,
                  "lineage with a timestamp encoded wrong (%zu bytes)", dp_buf_len(&b));
    dp_buf_reset(&b);
    DP_ASSERT_FATAL_MSG(dp_flush_put_lineage(&b, "events", 3, 42, -1, "inc", &err) == 0, "%s",
                        err.msg);
    DP_ASSERT_MSG(dp_buf_len(&b) == sizeof(without) &&
                      memcmp(dp_buf_data(&b), without, sizeof(without)) == 0,
                  "lineage without a timestamp encoded wrong (%zu bytes)", dp_buf_len(&b));
    dp_buf_free(&b);
}

/* Issue 17: each range keeps the smallest and largest Kafka timestamp of its
 * records (not of its ends: timestamps are not monotonic), in microseconds;
 * records without one do not count, a range with none has none, and a
 * dropped partition forgets them. */
static void test_flush_range_timestamps(void)
{
    dp_flush_t *flush = dp_flush_new(1, 0, "inc", 1 << 20);
    const int64_t ts[] = {5000, 3000, -1, 9000, 4000};
    const char *topic;
    int32_t part;
    int64_t first, last, lo, hi;
    dp_err_t err;
    int checked = 0;

    for (int i = 0; i < 5; i++)
        DP_ASSERT_FATAL_MSG(
            dp_flush_add(flush, "evt_a", "events", 1, 100 + i, ts[i], "x", 1, &err) == 0, "%s",
            err.msg);
    DP_ASSERT_FATAL_MSG(dp_flush_add(flush, "evt_a", "events", 2, 7, -1, "x", 1, &err) == 0, "%s",
                        err.msg);
    for (size_t i = 0; i < dp_flush_nranges(flush); i++) {
        if (dp_flush_range(flush, i, &topic, &part, &first, &last) < 0)
            continue;
        if (part == 1) {
            DP_ASSERT_MSG(
                dp_flush_range_ts(flush, i, &lo, &hi) == 0 && lo == 3000000 && hi == 9000000,
                "p1: expected 3000000..9000000 us, got %lld..%lld", (long long)lo, (long long)hi);
            checked++;
        } else {
            DP_ASSERT_MSG(dp_flush_range_ts(flush, i, &lo, &hi) == -1 && lo == 0 && hi == 0,
                          "p2 has no timestamp, got %lld..%lld", (long long)lo, (long long)hi);
            checked++;
        }
    }
    DP_ASSERT_MSG(checked == 2, "expected 2 ranges, got %d", checked);
    dp_flush_drop_partition(flush, "events", 1);
    DP_ASSERT_FATAL_MSG(dp_flush_add(flush, "evt_a", "events", 1, 200, 1, "x", 1, &err) == 0, "%s",
                        err.msg);
    for (size_t i = 0; i < dp_flush_nranges(flush); i++) {
        if (dp_flush_range(flush, i, &topic, &part, &first, &last) == 0 && part == 1)
            DP_ASSERT_MSG(dp_flush_range_ts(flush, i, &lo, &hi) == 0 && lo == 1000 && hi == 1000,
                          "after the drop: expected 1000..1000, got %lld..%lld", (long long)lo,
                          (long long)hi);
    }
    dp_flush_destroy(flush);
}

static const dp_test_case_t cases[] = {
    {"test_flush_range_timestamps", test_flush_range_timestamps},
    {"test_flush_lineage_encoding", test_flush_lineage_encoding},
    {"test_flush_gap_refused_until_allowed", test_flush_gap_refused_until_allowed},
    {"test_flush_fingerprint_of_last_message", test_flush_fingerprint_of_last_message},
    {"test_flush_records_span_chunks", test_flush_records_span_chunks},
    {"test_flush_redelivery_is_not_an_error", test_flush_redelivery_is_not_an_error},
    {"test_flush_table_each_walks_records_with_lineage",
     test_flush_table_each_walks_records_with_lineage},
    {"test_flush_ranges_and_tables", test_flush_ranges_and_tables},
    {"test_flush_drop_partition_keeps_others", test_flush_drop_partition_keeps_others},
    {"test_flush_byte_cap", test_flush_byte_cap},
    {"test_flush_one_oversized_record_alone", test_flush_one_oversized_record_alone},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    const dp_test_suite_t suites[] = {{"flush", NULL, NULL, cases}, {NULL, NULL, NULL, NULL}};

    return dp_test_main(argc, argv, suites);
}
