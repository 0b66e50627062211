/*
 * load_merge: the merge_event_id load mode (see load_merge.h).
 */
#include "load_merge.h"

#include "mem.h"
#include "tablename.h"

#include <stdio.h>
#include <string.h>

int dp_load_merge_mode(const dp_config_t *cfg, const char *table)
{
    return !dp_tablename_is_system(table) &&
           dp_config_load_mode(cfg, table) == DP_CONFIG_LOAD_MERGE_EVENT_ID;
}

char *dp_load_merge_sql(const char *qualified, const char *path, dp_err_t *err)
{
    static const char fmt[] =
        "MERGE WITH SCHEMA EVOLUTION INTO %s AS t USING (SELECT *, current_timestamp() AS "
        "_loaded_at FROM read_files('%s', format => 'avro') QUALIFY ROW_NUMBER() OVER "
        "(PARTITION BY event_id ORDER BY _kafka_topic, _kafka_partition, _kafka_offset) = 1) "
        "AS s ON t.event_id = s.event_id WHEN NOT MATCHED THEN INSERT *";
    size_t n, plen = strlen(path);
    char *sql;

    /* The path is ours (stagename.h), checked again here: only these bytes
     * can reach the quoted literal. */
    if (strncmp(path, "/Volumes/", 9) != 0 || path[plen - 1] == '/' || strstr(path, "..") ||
        strspn(path, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-") != plen) {
        dp_err_set(err, DP_EINVAL, 0, "load_merge: '%.80s' is not a staging Volume file path",
                   path);
        return NULL;
    }
    n = sizeof(fmt) + strlen(qualified) + plen;
    sql = dp_malloc(n);
    snprintf(sql, n, fmt, qualified, path);
    return sql;
}
