/*
 * Unit tests of issue 17's pure parts: the times `deltaport replay` takes,
 * and the SQL of a backfill on promotion.
 */
#include "cli/cmd_replay.h"
#include "dp_test.h"
#include "load/backfill.h"
#include "load/load_merge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_replay_times(void)
{
    const int64_t now = 1780000000000000LL; /* 2026-05-28T20:26:40Z */
    int64_t us = 0;

    DP_ASSERT_MSG(dp_cmd_replay_time("2026-05-01T12:00:00Z", now, &us) == 0 &&
                      us == 1777636800000000LL,
                  "RFC 3339 with Z: got %lld", (long long)us);
    DP_ASSERT_MSG(dp_cmd_replay_time("2026-05-01T14:00:00.5+02:00", now, &us) == 0 &&
                      us == 1777636800500000LL,
                  "an offset and a fraction: got %lld", (long long)us);
    DP_ASSERT_MSG(dp_cmd_replay_time("2026-05-01", now, &us) == 0 && us == 1777593600000000LL,
                  "a date is midnight UTC: got %lld", (long long)us);
    DP_ASSERT_MSG(dp_cmd_replay_time("15m", now, &us) == 0 && us == now - 900000000LL,
                  "a duration is that long ago: got %lld", (long long)us);
    DP_ASSERT_MSG(dp_cmd_replay_time("2d", now, &us) == 0 && us == now - 172800000000LL,
                  "2d ago: got %lld", (long long)us);
    DP_ASSERT_MSG(dp_cmd_replay_time("2026-05-01T12:00:00", now, &us) < 0,
                  "a date-time without a zone is ambiguous: refused");
    DP_ASSERT_MSG(dp_cmd_replay_time("yesterday", now, &us) < 0, "words are refused");
    DP_ASSERT_MSG(dp_cmd_replay_time("2026-13-01", now, &us) < 0, "month 13 is refused");
    DP_ASSERT_MSG(dp_cmd_replay_time("-5m", now, &us) < 0, "a negative duration is refused");
}

/* The move merges on the position (incarnation included: a recreated topic
 * reuses offsets), gives the moved rows the move's time as _loaded_at, and
 * the delete takes out of the shared table only the name's rows the own
 * table holds; in merge_event_id mode both go by event_id. */
static void test_backfill_sql(void)
{
    char *sql = dp_backfill_move_sql("`c`.`s`.`evt_purchase`", "`c`.`s`.`evt_otherevents`",
                                     "`event_id`, `event_name`", 0);

    DP_ASSERT_MSG(strcmp(sql,
                         "MERGE INTO `c`.`s`.`evt_purchase` AS t USING (SELECT `event_id`, "
                         "`event_name`, current_timestamp() AS _loaded_at FROM "
                         "`c`.`s`.`evt_otherevents` WHERE event_name = :name) AS s ON "
                         "t._incarnation = s._incarnation AND t._kafka_topic = "
                         "s._kafka_topic AND t._kafka_partition = s._kafka_partition AND "
                         "t._kafka_offset = s._kafka_offset WHEN NOT MATCHED THEN INSERT *") == 0,
                  "got: %s", sql);
    free(sql);
    sql = dp_backfill_delete_sql("`c`.`s`.`evt_purchase`", "`c`.`s`.`evt_otherevents`", 0);
    DP_ASSERT_MSG(strcmp(sql, "MERGE INTO `c`.`s`.`evt_otherevents` AS t USING (SELECT DISTINCT "
                              "_incarnation, _kafka_topic, _kafka_partition, _kafka_offset FROM "
                              "`c`.`s`.`evt_purchase`) AS s ON t.event_name = :name AND "
                              "t._incarnation = s._incarnation AND t._kafka_topic = "
                              "s._kafka_topic AND t._kafka_partition = s._kafka_partition AND "
                              "t._kafka_offset = s._kafka_offset WHEN MATCHED THEN DELETE") == 0,
                  "got: %s", sql);
    free(sql);
    sql = dp_backfill_move_sql("`c`.`s`.`evt_purchase`", "`c`.`s`.`evt_otherevents`", "`event_id`",
                               1);
    DP_ASSERT_MSG(strstr(sql, "QUALIFY ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY "
                              "_incarnation, _kafka_topic, _kafka_partition, _kafka_offset) = 1) "
                              "AS s ON t.event_id = s.event_id WHEN NOT MATCHED THEN INSERT *"),
                  "merge mode moves by event_id, got: %s", sql);
    free(sql);
    sql = dp_backfill_delete_sql("`c`.`s`.`evt_purchase`", "`c`.`s`.`evt_otherevents`", 1);
    DP_ASSERT_MSG(strstr(sql, "USING (SELECT DISTINCT event_id FROM `c`.`s`.`evt_purchase`) AS s "
                              "ON t.event_name = :name AND t.event_id = s.event_id WHEN MATCHED "
                              "THEN DELETE"),
                  "merge mode deletes by event_id, got: %s", sql);
    free(sql);
}

static void test_load_merge_columns(void)
{
    dp_err_t err;
    char *cols = dp_load_merge_columns("{\"type\":\"record\",\"name\":\"r\",\"fields\":["
                                       "{\"name\":\"event_id\",\"type\":\"string\"},"
                                       "{\"name\":\"_kafka_offset\",\"type\":\"long\"},"
                                       "{\"name\":\"_loaded_at\",\"type\":\"long\"}]}",
                                       &err);

    DP_ASSERT_MSG(cols && strcmp(cols, "`event_id`, `_kafka_offset`") == 0,
                  "expected the columns without _loaded_at, got %s", cols ? cols : err.msg);
    free(cols);
    cols = dp_load_merge_columns("{\"type\":\"record\",\"name\":\"r\",\"fields\":["
                                 "{\"name\":\"a`b\",\"type\":\"string\"}]}",
                                 &err);
    DP_ASSERT_MSG(!cols && err.code == DP_EINVAL, "a name that is no identifier is refused");
    free(cols);
}

static const dp_test_case_t cases[] = {
    {"test_replay_times", test_replay_times},
    {"test_backfill_sql", test_backfill_sql},
    {"test_load_merge_columns", test_load_merge_columns},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    const dp_test_suite_t suites[] = {{"replay", NULL, NULL, cases}, {NULL, NULL, NULL, NULL}};

    return dp_test_main(argc, argv, suites);
}
