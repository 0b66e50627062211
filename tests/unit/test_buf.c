/*
 * Unit tests of buf: the hard cap, reset/detach ownership, and the Avro
 * zig-zag varint encoding against vectors from the Avro specification.
 */
#include "core/buf.h"
#include "dp_test.h"

#include <stdlib.h>
#include <string.h>

static void test_buf_append_grows_and_keeps_bytes(void)
{
    dp_buf_t buf;
    dp_err_t err;
    unsigned char chunk[100];
    size_t i;

    dp_buf_init(&buf, 1 << 20);
    DP_ASSERT_MSG(dp_buf_data(&buf) == NULL, "expected no allocation at init");
    for (i = 0; i < 1000; i++) {
        memset(chunk, (int)(i & 0xff), sizeof(chunk));
        DP_ASSERT_FATAL_MSG(dp_buf_append(&buf, chunk, sizeof(chunk), &err) == 0,
                            "append %zu failed: %s", i, err.msg);
    }
    DP_ASSERT_MSG(dp_buf_len(&buf) == 100000, "expected 100000 bytes, got %zu", dp_buf_len(&buf));
    for (i = 0; i < 1000; i++) {
        DP_ASSERT_FATAL_MSG(dp_buf_data(&buf)[i * 100 + 99] == (i & 0xff),
                            "byte of chunk %zu: expected %zu, got %u", i, i & 0xff,
                            dp_buf_data(&buf)[i * 100 + 99]);
    }
    dp_buf_free(&buf);
    DP_ASSERT_MSG(dp_buf_len(&buf) == 0 && dp_buf_max(&buf) == (1 << 20),
                  "after free expected empty with max kept, got len %zu max %zu", dp_buf_len(&buf),
                  dp_buf_max(&buf));
}

static void test_buf_cap_refuses_and_leaves_unchanged(void)
{
    dp_buf_t buf;
    dp_err_t err;
    int rc;

    dp_buf_init(&buf, 10);
    DP_ASSERT_FATAL_MSG(dp_buf_append(&buf, "abcdefgh", 8, &err) == 0, "got %s", err.msg);
    rc = dp_buf_append(&buf, "xyz", 3, &err);
    DP_ASSERT_MSG(rc == DP_ETOOBIG, "expected DP_ETOOBIG, got %d", rc);
    DP_ASSERT_MSG(err.code == DP_ETOOBIG, "expected err.code DP_ETOOBIG, got %d", err.code);
    DP_ASSERT_MSG(dp_buf_len(&buf) == 8 && memcmp(dp_buf_data(&buf), "abcdefgh", 8) == 0,
                  "expected the 8 original bytes to remain, got len %zu", dp_buf_len(&buf));
    rc = dp_buf_put_bytes(&buf, "ab", 2, &err);
    DP_ASSERT_MSG(rc == DP_ETOOBIG && dp_buf_len(&buf) == 8,
                  "put_bytes needing 3 bytes into 2: expected DP_ETOOBIG and len 8, got %d, %zu",
                  rc, dp_buf_len(&buf));
    DP_ASSERT_MSG(dp_buf_extend(&buf, 3, &err) == NULL, "extend past the cap must return NULL");
    DP_ASSERT_MSG(dp_buf_append(&buf, "xy", 2, &err) == 0, "exactly filling the cap must work");
    DP_ASSERT_MSG(dp_buf_room(&buf) == 0, "expected no room, got %zu", dp_buf_room(&buf));
    DP_ASSERT_MSG(dp_buf_put_long(&buf, 0, &err) == DP_ETOOBIG, "a full buffer takes nothing");
    DP_ASSERT_MSG(dp_buf_append(&buf, NULL, 0, &err) == 0, "appending nothing always works");
    dp_buf_free(&buf);
}

static void test_buf_reset_keeps_capacity(void)
{
    dp_buf_t buf;
    dp_err_t err;
    const unsigned char *before;
    char big[5000];

    memset(big, 'q', sizeof(big));
    dp_buf_init(&buf, 100000);
    DP_ASSERT_FATAL_MSG(dp_buf_append(&buf, big, sizeof(big), &err) == 0, "%s", err.msg);
    before = dp_buf_data(&buf);
    dp_buf_reset(&buf);
    DP_ASSERT_MSG(dp_buf_len(&buf) == 0, "expected len 0 after reset, got %zu", dp_buf_len(&buf));
    DP_ASSERT_FATAL_MSG(dp_buf_append(&buf, big, sizeof(big), &err) == 0, "%s", err.msg);
    DP_ASSERT_MSG(dp_buf_data(&buf) == before, "reset then refill must not reallocate");
    dp_buf_truncate(&buf, 10);
    DP_ASSERT_MSG(dp_buf_len(&buf) == 10, "expected 10 after truncate, got %zu", dp_buf_len(&buf));
    dp_buf_truncate(&buf, 50);
    DP_ASSERT_MSG(dp_buf_len(&buf) == 10, "truncate cannot lengthen, got %zu", dp_buf_len(&buf));
    dp_buf_free(&buf);
}

static void test_buf_detach_hands_over_memory(void)
{
    dp_buf_t buf;
    dp_err_t err;
    unsigned char *data;
    size_t len = 99;

    dp_buf_init(&buf, 64);
    data = dp_buf_detach(&buf, &len);
    DP_ASSERT_MSG(data == NULL && len == 0, "empty detach: expected NULL/0, got %p/%zu",
                  (void *)data, len);
    DP_ASSERT_FATAL_MSG(dp_buf_append(&buf, "hello", 5, &err) == 0, "%s", err.msg);
    data = dp_buf_detach(&buf, &len);
    DP_ASSERT_MSG(len == 5 && data && memcmp(data, "hello", 5) == 0, "expected hello/5, got %zu",
                  len);
    DP_ASSERT_MSG(dp_buf_data(&buf) == NULL && dp_buf_len(&buf) == 0,
                  "buffer must be empty without memory after detach");
    free(data);
    dp_buf_free(&buf);
}

/* Vectors: the Avro specification's zig-zag table (0, -1, 1, -2, 2, ...,
 * 64 -> 80 01) plus the extremes of int and long. */
static void test_buf_put_long_matches_spec_vectors(void)
{
    static const struct {
        int64_t v;
        const char *hex;
    } vec[] = {
        {0, "00"},
        {-1, "01"},
        {1, "02"},
        {-2, "03"},
        {2, "04"},
        {-64, "7f"},
        {64, "8001"},
        {8192, "808001"},
        {INT32_MAX, "feffffff0f"},
        {INT32_MIN, "ffffffff0f"},
        {INT64_MAX, "feffffffffffffffff01"},
        {INT64_MIN, "ffffffffffffffffff01"},
    };
    dp_buf_t buf;
    dp_err_t err;
    size_t i, j, used;
    char hex[32];
    int64_t back;

    dp_buf_init(&buf, 64);
    for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
        dp_buf_reset(&buf);
        DP_ASSERT_FATAL_MSG(dp_buf_put_long(&buf, vec[i].v, &err) == 0, "%s", err.msg);
        for (j = 0; j < dp_buf_len(&buf); j++) {
            snprintf(hex + 2 * j, 3, "%02x", dp_buf_data(&buf)[j]);
        }
        DP_ASSERT_MSG(strcmp(hex, vec[i].hex) == 0, "long %lld: expected %s, got %s",
                      (long long)vec[i].v, vec[i].hex, hex);
        DP_ASSERT_MSG(dp_buf_long_size(vec[i].v) == dp_buf_len(&buf),
                      "long_size(%lld): expected %zu, got %zu", (long long)vec[i].v,
                      dp_buf_len(&buf), dp_buf_long_size(vec[i].v));
        DP_ASSERT_MSG(
            dp_buf_read_long(dp_buf_data(&buf), dp_buf_len(&buf), &back, &used, &err) == 0 &&
                back == vec[i].v && used == dp_buf_len(&buf),
            "round trip of %lld: got %lld (%zu bytes)", (long long)vec[i].v, (long long)back, used);
    }
    dp_buf_reset(&buf);
    DP_ASSERT_FATAL_MSG(dp_buf_put_int(&buf, -3, &err) == 0, "%s", err.msg);
    DP_ASSERT_MSG(dp_buf_len(&buf) == 1 && dp_buf_data(&buf)[0] == 0x05,
                  "int -3: expected 05, got %02x", dp_buf_data(&buf)[0]);
    dp_buf_free(&buf);
}

static void test_buf_put_bytes_is_length_then_bytes(void)
{
    dp_buf_t buf;
    dp_err_t err;
    char s[200];

    memset(s, 'z', sizeof(s));
    dp_buf_init(&buf, 1024);
    DP_ASSERT_FATAL_MSG(dp_buf_put_bytes(&buf, "foo", 3, &err) == 0, "%s", err.msg);
    DP_ASSERT_MSG(dp_buf_len(&buf) == 4 && memcmp(dp_buf_data(&buf),
                                                  "\x06"
                                                  "foo",
                                                  4) == 0,
                  "expected 06 'foo', got %zu bytes", dp_buf_len(&buf));
    DP_ASSERT_FATAL_MSG(dp_buf_put_bytes(&buf, NULL, 0, &err) == 0, "%s", err.msg);
    DP_ASSERT_MSG(dp_buf_len(&buf) == 5 && dp_buf_data(&buf)[4] == 0, "empty string is 00");
    DP_ASSERT_FATAL_MSG(dp_buf_put_bytes(&buf, s, sizeof(s), &err) == 0, "%s", err.msg);
    DP_ASSERT_MSG(dp_buf_data(&buf)[5] == 0x90 && dp_buf_data(&buf)[6] == 0x03 &&
                      dp_buf_len(&buf) == 7 + sizeof(s),
                  "200-byte string: expected length 90 03, got %02x %02x", dp_buf_data(&buf)[5],
                  dp_buf_data(&buf)[6]);
    dp_buf_free(&buf);
}

static void test_buf_read_long_rejects_truncated_and_overlong(void)
{
    static const unsigned char trunc[] = {0x80, 0x80};
    static const unsigned char overlong[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                                             0x80, 0x80, 0x80, 0x80, 0x01};
    dp_err_t err;
    int64_t v;
    size_t used;
    int rc;

    rc = dp_buf_read_long(trunc, sizeof(trunc), &v, &used, &err);
    DP_ASSERT_MSG(rc == DP_EINVAL, "truncated varint: expected DP_EINVAL, got %d", rc);
    rc = dp_buf_read_long(overlong, sizeof(overlong), &v, &used, &err);
    DP_ASSERT_MSG(rc == DP_EINVAL, "11-byte varint: expected DP_EINVAL, got %d", rc);
    rc = dp_buf_read_long(trunc, 0, &v, &used, &err);
    DP_ASSERT_MSG(rc == DP_EINVAL, "empty input: expected DP_EINVAL, got %d", rc);
}

static const dp_test_case_t buf_cases[] = {
    {"test_buf_append_grows_and_keeps_bytes", test_buf_append_grows_and_keeps_bytes},
    {"test_buf_cap_refuses_and_leaves_unchanged", test_buf_cap_refuses_and_leaves_unchanged},
    {"test_buf_reset_keeps_capacity", test_buf_reset_keeps_capacity},
    {"test_buf_detach_hands_over_memory", test_buf_detach_hands_over_memory},
    {"test_buf_put_long_matches_spec_vectors", test_buf_put_long_matches_spec_vectors},
    {"test_buf_put_bytes_is_length_then_bytes", test_buf_put_bytes_is_length_then_bytes},
    {"test_buf_read_long_rejects_truncated_and_overlong",
     test_buf_read_long_rejects_truncated_and_overlong},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    static const dp_test_suite_t suites[] = {{"buf", NULL, NULL, buf_cases},
                                             {NULL, NULL, NULL, NULL}};

    return dp_test_main(argc, argv, suites);
}
