/*
 * Unit tests of manifest: JSON round trip, refusal of tampered manifests,
 * the trust check of what is read back from the Volume.
 */
#include "config/config.h"
#include "dp_test.h"
#include "stage/manifest.h"

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
        "{\"version\":3,\"key\":\"" KEY "\",\"incarnation\":\"i0\",\"worker_id\":\"w\","
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

static void test_manifest_counts_and_timestamps_round_trip(void)
{
    dp_manifest_t *m = dp_manifest_new(KEY, "i0", "w-1", 1), *back;
    dp_err_t err;
    char *text;

    dp_manifest_add_range(m, "events", 3, 100, 199, 4);
    m->ranges[0].ts_min = 1700000000000000LL;
    m->ranges[0].ts_max = 1700000000999000LL;
    dp_manifest_add_count(m, "page_view", 19700, 1234);
    dp_manifest_add_count(m, "purchase", 19700, 5);
    text = dp_manifest_to_json(m);
    back = dp_manifest_from_json(text, strlen(text), &err);
    DP_ASSERT_FATAL_MSG(back != NULL, "round trip failed: %s", err.msg);
    DP_ASSERT_MSG(back->ranges[0].ts_min == 1700000000000000LL &&
                      back->ranges[0].ts_max == 1700000000999000LL,
                  "timestamps changed");
    DP_ASSERT_MSG(back->ncounts == 2 && strcmp(back->counts[0].name, "page_view") == 0 &&
                      back->counts[0].day == 19700 && back->counts[0].count == 1234 &&
                      back->counts[1].count == 5,
                  "counts changed (%zu)", back->ncounts);
    free(text);
    dp_manifest_destroy(back);
    dp_manifest_destroy(m);
}

/* A manifest read from the Volume names only staged files of its own
 * incarnation's event tables (or event_errors). */
static void test_manifest_check_refuses_foreign_paths_and_system_tables(void)
{
    dp_config_t cfg;
    dp_err_t err;
    struct {
        const char *inc, *table, *path;
        int ok;
    } cases[] = {
        {"i0", "evt_a", "/Volumes/c/s/v/i0/evt_a/" KEY ".avro", 1},
        {"i0", "event_errors", "/Volumes/c/s/v/i0/event_errors/" KEY ".avro", 1},
        {"i1", "evt_a", "/Volumes/c/s/v/i0/evt_a/" KEY ".avro", 0},     /* other incarnation */
        {"i0", "evt_a", "/Volumes/c/s/v/i1/evt_a/" KEY ".avro", 0},     /* other folder */
        {"i0", "evt_a", "/Volumes/c/s/v/i0/evt_b/" KEY ".avro", 0},     /* other table */
        {"i0", "evt_a", "/Volumes/c/other/v/i0/evt_a/" KEY ".avro", 0}, /* other schema */
        {"i0", "evt_a", "/Volumes/c/s/v/i0/evt_a/x.avro", 0},           /* not a key */
        {"i0", "ledger", "/Volumes/c/s/v/i0/ledger/" KEY ".avro", 0},   /* system table */
        {"i0", "claims", "/Volumes/c/s/v/i0/claims/" KEY ".avro", 0},
        {NULL, NULL, NULL, 0},
    };

    memset(&cfg, 0, sizeof(cfg));
    cfg.databricks.catalog = "c";
    cfg.databricks.schema = "s";
    cfg.databricks.volume = "v";
    for (int i = 0; cases[i].table; i++) {
        dp_manifest_t *m = dp_manifest_new(KEY, cases[i].inc, "w", 0);
        int rc;

        dp_manifest_add_file(m, cases[i].table, cases[i].path, 1, 1);
        rc = dp_manifest_check(&cfg, "i0", m, &err);
        DP_ASSERT_MSG((rc == 0) == cases[i].ok, "case %d (%s %s): expected %s, got %d", i,
                      cases[i].table, cases[i].path, cases[i].ok ? "accepted" : "refused", rc);
        dp_manifest_destroy(m);
    }
}

static const dp_test_case_t cases[] = {
    {"test_manifest_json_round_trip", test_manifest_json_round_trip},
    {"test_manifest_refuses_tampered_files", test_manifest_refuses_tampered_files},
    {"test_manifest_counts_and_timestamps_round_trip",
     test_manifest_counts_and_timestamps_round_trip},
    {"test_manifest_check_refuses_foreign_paths_and_system_tables",
     test_manifest_check_refuses_foreign_paths_and_system_tables},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    const dp_test_suite_t suites[] = {{"manifest", NULL, NULL, cases}, {NULL, NULL, NULL, NULL}};

    return dp_test_main(argc, argv, suites);
}
