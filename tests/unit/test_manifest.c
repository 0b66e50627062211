/*
 * Unit tests of manifest: JSON round trip, refusal of tampered manifests,
 * index entry names.
 */
#include "dp_test.h"
#include "manifest.h"

#include <stdlib.h>
#include <string.h>

#define KEY "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_manifest_json_round_trip(void)
{
    dp_manifest_t *m = dp_manifest_new(KEY, "i0", "w-1", 1700000000000000LL), *back;
    dp_err_t err;
    char *text;

    dp_manifest_add_range(m, "events", 3, 100, 199, 4);
    dp_manifest_add_range(m, "events", 7, 0, 41, 4);
    dp_manifest_add_file(m, "evt_purchase", "/Volumes/main/s/v/i0/evt_purchase/" KEY ".avro", 12,
                         3456);
    dp_manifest_set_table_id(m, 0, "5b1c2f7e-0000-4000-8000-00000000abcd");
    text = dp_manifest_to_json(m);
    back = dp_manifest_from_json(text, strlen(text), &err);
    DP_ASSERT_FATAL_MSG(back != NULL, "round trip failed: %s", err.msg);
    DP_ASSERT_MSG(strcmp(back->key, KEY) == 0 && strcmp(back->worker_id, "w-1") == 0 &&
                      back->loaded_at == 1700000000000000LL,
                  "header fields changed: %s %s %lld", back->key, back->worker_id,
                  (long long)back->loaded_at);
    DP_ASSERT_MSG(back->nranges == 2 && back->ranges[1].partition == 7 &&
                      back->ranges[0].first == 100 && back->ranges[0].last == 199 &&
                      back->ranges[0].epoch == 4 && back->ranges[1].epoch == 4,
                  "ranges changed (%zu)", back->nranges);
    DP_ASSERT_MSG(back->files[0].table_id &&
                      strcmp(back->files[0].table_id, "5b1c2f7e-0000-4000-8000-00000000abcd") == 0,
                  "table id lost: %s", back->files[0].table_id ? back->files[0].table_id : "NULL");
    DP_ASSERT_MSG(back->nfiles == 1 && back->files[0].rows == 12 && back->files[0].bytes == 3456 &&
                      strcmp(back->files[0].table, "evt_purchase") == 0,
                  "files changed (%zu)", back->nfiles);
    free(text);
    dp_manifest_destroy(back);
    dp_manifest_destroy(m);
}

static void test_manifest_refuses_tampered_files(void)
{
    const char *bad[] = {
        "{\"version\":1,\"key\":\"" KEY "\",\"incarnation\":\"i0\",\"worker_id\":\"w\","
        "\"loaded_at\":0,\"ranges\":[],\"files\":[{\"table\":\"evt_x; DROP TABLE t\","
        "\"path\":\"/Volumes/a/b/c/x.avro\",\"rows\":1,\"bytes\":1}]}",
        "{\"version\":1,\"key\":\"" KEY "\",\"incarnation\":\"i0\",\"worker_id\":\"w\","
        "\"loaded_at\":0,\"ranges\":[],\"files\":[{\"table\":\"evt_x\","
        "\"path\":\"/Volumes/a/b/c/x') --.avro\",\"rows\":1,\"bytes\":1}]}",
        "{\"version\":1,\"key\":\"" KEY "\",\"incarnation\":\"i0\",\"worker_id\":\"w\","
        "\"loaded_at\":0,\"ranges\":[{\"topic\":\"t\",\"partition\":0,\"first\":9,\"last\":3}],"
        "\"files\":[]}",
        "{\"version\":2,\"key\":\"" KEY "\",\"incarnation\":\"i0\",\"worker_id\":\"w\","
        "\"ranges\":[],\"files\":[]}",
        "not json",
        NULL,
    };
    dp_err_t err;

    for (int i = 0; bad[i]; i++) {
        dp_manifest_t *m = dp_manifest_from_json(bad[i], strlen(bad[i]), &err);

        DP_ASSERT_MSG(m == NULL && err.code == DP_EINVAL, "manifest %d should be refused", i);
        dp_manifest_destroy(m);
    }
}

static void test_manifest_entry_names_sort_and_parse(void)
{
    char a[128], b[128], key[DP_STAGENAME_KEY_SIZE];
    int64_t first, last;

    DP_ASSERT_MSG(dp_manifest_entry_name(9, 99, KEY, a, sizeof(a)) == 0, "name failed");
    DP_ASSERT_MSG(dp_manifest_entry_name(100, 150, KEY, b, sizeof(b)) == 0, "name failed");
    DP_ASSERT_MSG(strcmp(a, b) < 0, "names must sort by first offset: %s vs %s", a, b);
    DP_ASSERT_MSG(dp_manifest_entry_parse(b, &first, &last, key) == 0 && first == 100 &&
                      last == 150 && strcmp(key, KEY) == 0,
                  "parse of %s failed", b);
    DP_ASSERT_MSG(dp_manifest_entry_parse("00000000000000000009-x-" KEY, &first, &last, key) < 0,
                  "a malformed entry was accepted");
    DP_ASSERT_MSG(dp_manifest_entry_parse("tmp.txt", &first, &last, key) < 0,
                  "a foreign file was accepted");
}

static const dp_test_case_t cases[] = {
    {"test_manifest_json_round_trip", test_manifest_json_round_trip},
    {"test_manifest_refuses_tampered_files", test_manifest_refuses_tampered_files},
    {"test_manifest_entry_names_sort_and_parse", test_manifest_entry_names_sort_and_parse},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    const dp_test_suite_t suites[] = {{"manifest", NULL, NULL, cases}, {NULL, NULL, NULL, NULL}};

    return dp_test_main(argc, argv, suites);
}
