/*
 * Unit tests of stagename: the flush key is independent of range order,
 * sensitive to every field, unambiguous across topic/incarnation boundaries,
 * matches known-answer vectors computed by an independent implementation
 * (Python hashlib + struct, see docs/STAGING.md), and paths/sync markers are
 * built only from checked parts.
 */
#include "dp_test.h"
#include "stage/stagename.h"

#include <string.h>

#define INC "7f3c2a10-9b1e-4c55-8d21-0a6b5e4f3c2d"

static int key_of(const dp_range_t *r, size_t n, char *out)
{
    dp_err_t err;
    int rc = dp_stagename_key(r, n, out, &err);

    DP_ASSERT_MSG(rc == 0, "expected a key, got %d: %s", rc, err.msg);
    return rc;
}

static void test_stagename_key_known_answer(void)
{
    const dp_range_t two[] = {{"orders", INC, 3, 1842, 1999, 0}, {"clicks", INC, 0, 0, 41, 0}};
    const dp_range_t one[] = {{"t", "inc1", 0, 0, 0, 0}};
    char key[DP_STAGENAME_KEY_SIZE];

    if (key_of(two, 2, key) == 0) {
        DP_ASSERT_MSG(
            strcmp(key, "e41bf5fb4fdeb1801d3e47f8dfe2f3aa40c1bc3e8a1b6063f19ca16a4b8f5ad7") == 0,
            "two ranges: got %s", key);
    }
    if (key_of(one, 1, key) == 0) {
        DP_ASSERT_MSG(
            strcmp(key, "a2ebc046b1d0de8f0c18bcf22e6de0db7b2f145bd04a4c3bee4b42f1f424cd76") == 0,
            "one range: got %s", key);
    }
}

static void test_stagename_key_ignores_order(void)
{
    dp_range_t r[4] = {{"orders", INC, 3, 100, 200, 0},
                       {"orders", INC, 1, 5, 9, 0},
                       {"clicks", INC, 7, 0, 0, 0},
                       {"orders", "other-inc", 1, 5, 9, 0}};
    const dp_range_t before = r[0];
    char k1[DP_STAGENAME_KEY_SIZE], k2[DP_STAGENAME_KEY_SIZE];
    dp_range_t tmp;

    key_of(r, 4, k1);
    DP_ASSERT_MSG(r[0].topic == before.topic && r[0].partition == before.partition &&
                      r[0].first == before.first,
                  "the caller's array was reordered");
    tmp = r[0];
    r[0] = r[3];
    r[3] = tmp;
    tmp = r[1];
    r[1] = r[2];
    r[2] = tmp;
    key_of(r, 4, k2);
    DP_ASSERT_MSG(strcmp(k1, k2) == 0, "permuted ranges: expected %s, got %s", k1, k2);
}

static void test_stagename_key_changes_with_every_field(void)
{
    const dp_range_t base = {"orders", INC, 3, 100, 200, 0};
    dp_range_t v[7];
    char kb[DP_STAGENAME_KEY_SIZE], kv[DP_STAGENAME_KEY_SIZE];
    size_t i;

    for (i = 0; i < 7; i++) {
        v[i] = base;
    }
    v[0].topic = "orderz";
    v[1].incarnation = "7f3c2a10-9b1e-4c55-8d21-0a6b5e4f3c2e";
    v[2].partition = 4;
    v[3].first = 101;
    v[4].last = 201;
    v[5].partition = 3 + 256; /* differs only in a higher byte */
    v[6].epoch = 2;           /* the same offsets under a newer claim */
    key_of(&base, 1, kb);
    for (i = 0; i < 7; i++) {
        key_of(&v[i], 1, kv);
        DP_ASSERT_MSG(strcmp(kb, kv) != 0, "variant %zu has the base key %s", i, kb);
    }
}

static void test_stagename_key_has_no_ambiguity(void)
{
    const dp_range_t ab_c[] = {{"ab", "c", 0, 1, 2, 0}};
    const dp_range_t a_bc[] = {{"a", "bc", 0, 1, 2, 0}};
    const dp_range_t split[] = {{"t", "i", 0, 1, 2, 0}, {"t", "i", 1, 3, 4, 0}};
    const dp_range_t first_only[] = {{"t", "i", 0, 1, 2, 0}};
    char k1[DP_STAGENAME_KEY_SIZE], k2[DP_STAGENAME_KEY_SIZE];

    key_of(ab_c, 1, k1);
    key_of(a_bc, 1, k2);
    DP_ASSERT_MSG(strcmp(k1, k2) != 0, "(ab,c) and (a,bc) collide: %s", k1);
    key_of(split, 2, k1);
    key_of(first_only, 1, k2);
    DP_ASSERT_MSG(strcmp(k1, k2) != 0, "a range list and its prefix collide: %s", k1);
}

static void test_stagename_key_refuses_bad_ranges(void)
{
    const dp_range_t bad[] = {
        {NULL, INC, 0, 0, 0, 0}, {"", INC, 0, 0, 0, 0},    {"a b", INC, 0, 0, 0, 0},
        {"t", NULL, 0, 0, 0, 0}, {"t", "a/b", 0, 0, 0, 0}, {"t", INC, -1, 0, 0, 0},
        {"t", INC, 0, -1, 5, 0}, {"t", INC, 0, 9, 8, 0},
    };
    const dp_range_t dup[] = {
        {"t", INC, 2, 0, 5, 0}, {"u", INC, 2, 0, 5, 0}, {"t", INC, 2, 6, 9, 0}};
    char key[DP_STAGENAME_KEY_SIZE];
    dp_err_t err;
    size_t i;
    int rc;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rc = dp_stagename_key(&bad[i], 1, key, &err);
        DP_ASSERT_MSG(rc == DP_EINVAL, "bad range %zu: expected DP_EINVAL, got %d", i, rc);
    }
    rc = dp_stagename_key(dup, 3, key, &err);
    DP_ASSERT_MSG(rc == DP_EINVAL && strstr(err.msg, "twice") != NULL,
                  "duplicate partition: expected DP_EINVAL 'twice', got %d '%s'", rc, err.msg);
    rc = dp_stagename_key(dup, 0, key, &err);
    DP_ASSERT_MSG(rc == DP_EINVAL, "no ranges: expected DP_EINVAL, got %d", rc);
}

static void test_stagename_path_and_sync(void)
{
    const char *key = "a2ebc046b1d0de8f0c18bcf22e6de0db7b2f145bd04a4c3bee4b42f1f424cd76";
    const unsigned char expect_sync[16] = {0x76, 0xea, 0x82, 0xf4, 0x90, 0x05, 0x04, 0xa9,
                                           0xdf, 0xd2, 0x86, 0xc6, 0x88, 0x7c, 0x92, 0x67};
    char path[DP_STAGENAME_PATH_SIZE];
    unsigned char sync[16];
    dp_err_t err;
    int rc;

    rc = dp_stagename_path("main", "shop", "deltaport_staging", "inc1", "evt_purchase", key, path,
                           sizeof(path), &err);
    DP_ASSERT_FATAL_MSG(rc == 0, "expected a path, got %d: %s", rc, err.msg);
    DP_ASSERT_MSG(strcmp(path, "/Volumes/main/shop/deltaport_staging/inc1/evt_purchase/"
                               "a2ebc046b1d0de8f0c18bcf22e6de0db7b2f145bd04a4c3bee4b42f1f424cd76"
                               ".avro") == 0,
                  "got %s", path);
    dp_stagename_sync(path, sync);
    DP_ASSERT_MSG(memcmp(sync, expect_sync, 16) == 0, "sync marker differs from the vector");
    rc = dp_stagename_path("main", "shop", "v", "inc1", "../x", key, path, sizeof(path), &err);
    DP_ASSERT_MSG(rc == DP_EINVAL && strncmp(err.msg, "table: ", 7) == 0,
                  "path traversal in table: expected DP_EINVAL, got %d '%s'", rc, err.msg);
    rc = dp_stagename_path("main", "shop", "v", "in/c", "t", key, path, sizeof(path), &err);
    DP_ASSERT_MSG(rc == DP_EINVAL, "slash in incarnation: expected DP_EINVAL, got %d", rc);
    rc = dp_stagename_path("main", "shop", "v", "inc", "t", "A2EB", path, sizeof(path), &err);
    DP_ASSERT_MSG(rc == DP_EINVAL, "short upper-case key: expected DP_EINVAL, got %d", rc);
    rc = dp_stagename_path("main", "shop", "v", "inc", "t", key, path, 40, &err);
    DP_ASSERT_MSG(rc == DP_ETOOBIG, "small buffer: expected DP_ETOOBIG, got %d", rc);
}

static const dp_test_case_t stagename_cases[] = {
    {"test_stagename_key_known_answer", test_stagename_key_known_answer},
    {"test_stagename_key_ignores_order", test_stagename_key_ignores_order},
    {"test_stagename_key_changes_with_every_field", test_stagename_key_changes_with_every_field},
    {"test_stagename_key_has_no_ambiguity", test_stagename_key_has_no_ambiguity},
    {"test_stagename_key_refuses_bad_ranges", test_stagename_key_refuses_bad_ranges},
    {"test_stagename_path_and_sync", test_stagename_path_and_sync},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    static const dp_test_suite_t suites[] = {{"stagename", NULL, NULL, stagename_cases},
                                             {NULL, NULL, NULL, NULL}};

    return dp_test_main(argc, argv, suites);
}
