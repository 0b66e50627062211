/*
 * load_merge: the merge_event_id load mode (see load_merge.h).
 */
#include "load/load_merge.h"

#include "core/buf.h"
#include "core/mem.h"
#include "route/tablename.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

int dp_load_merge_mode(const dp_config_t *cfg, const char *table)
{
    return !dp_tablename_is_system(table) &&
           dp_config_load_mode(cfg, table) == DP_CONFIG_LOAD_MERGE_EVENT_ID;
}

char *dp_load_merge_sql(const char *qualified, const char *path, const char *columns, dp_err_t *err)
{
    static const char fmt[] =
        "MERGE WITH SCHEMA EVOLUTION INTO %s AS t USING (SELECT %s, current_timestamp() AS "
        "_loaded_at FROM read_files('%s', format => 'avro') QUALIFY ROW_NUMBER() OVER "
        "(PARTITION BY event_id ORDER BY _kafka_topic, _kafka_partition, _kafka_offset) = 1) "
        "AS s ON t.event_id = s.event_id WHEN NOT MATCHED THEN INSERT *";
    size_t n, plen = strlen(path);
    char *sql;

    /* The path is ours (stagename.h), checked again here: only these bytes
     * can reach the quoted literal. */
    if (strncmp(path, "/Volumes/", 9) != 0 || path[plen - 1] == '/' || strstr(path, "..") ||
        strspn(path, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-") !=
            plen) {
        dp_err_set(err, DP_EINVAL, 0, "load_merge: '%.80s' is not a staging Volume file path",
                   path);
        return NULL;
    }
    n = sizeof(fmt) + strlen(qualified) + strlen(columns) + plen;
    sql = dp_malloc(n);
    snprintf(sql, n, fmt, qualified, columns, path);
    return sql;
}

char *dp_load_merge_columns(const char *schema_json, dp_err_t *err)
{
    json_t *root = json_loads(schema_json, 0, NULL), *fields = json_object_get(root, "fields");
    dp_buf_t out;
    size_t i, len;
    json_t *f;
    char *text;

    if (!json_is_array(fields) || json_array_size(fields) == 0) {
        json_decref(root);
        dp_err_set(err, DP_EINVAL, 0, "load_merge: the staged schema has no fields");
        return NULL;
    }
    dp_buf_init(&out, 1 << 20);
    json_array_foreach(fields, i, f)
    {
        const char *name = json_string_value(json_object_get(f, "name"));
        char q[DP_TABLENAME_COLUMN_QUOTED_SIZE];
        dp_err_t why;

        if (!name || (i + 1 == json_array_size(fields) && strcmp(name, "_loaded_at") == 0))
            continue;
        /* Our own schema's names; checked as identifiers all the same. */
        if (dp_tablename_check_identifier(name, &why) < 0) {
            dp_err_set(err, DP_EINVAL, 0, "load_merge: column %.80s: %s", name, why.msg);
            json_decref(root);
            dp_buf_free(&out);
            return NULL;
        }
        if (dp_tablename_column_quoted(name, q, sizeof(q), err) < 0 ||
            (dp_buf_len(&out) && dp_buf_append(&out, ", ", 2, err) < 0) ||
            dp_buf_append(&out, q, strlen(q), err) < 0) {
            json_decref(root);
            dp_buf_free(&out);
            return NULL;
        }
    }
    json_decref(root);
    dp_buf_append(&out, "", 1, err);
    text = (char *)dp_buf_detach(&out, &len);
    return text;
}
