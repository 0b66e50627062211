/*
 * ddl: Avro schema to Databricks column definitions (see ddl.h).
 */
#include "load/ddl.h"

#include "core/buf.h"
#include "core/mem.h"
#include "route/tablename.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define DDL_MAX   (64 * 1024)
#define DDL_DEPTH 16

static int render_type(json_t *type, dp_buf_t *out, int *nullable, int depth, dp_err_t *err);

static int put(dp_buf_t *out, const char *s, dp_err_t *err)
{
    return dp_buf_append(out, s, strlen(s), err);
}

/* Column and field names come from our own schemas, but still: only
 * [A-Za-z0-9_] reaches the SQL text (quoted by route/tablename.c). */
static int put_ident(dp_buf_t *out, const char *name, dp_err_t *err)
{
    char q[DP_TABLENAME_COLUMN_QUOTED_SIZE];

    if (dp_tablename_column_quoted(name, q, sizeof(q), NULL) < 0)
        return dp_err_set(err, DP_EINVAL, 0, "ddl: field name '%.64s' is not [A-Za-z0-9_]+", name);
    return put(out, q, err) < 0 ? DP_ETOOBIG : 0;
}

static int render_fields(json_t *fields, dp_buf_t *out, int in_struct, int depth, dp_err_t *err)
{
    size_t i;
    json_t *f;

    if (!json_is_array(fields) || json_array_size(fields) == 0)
        return dp_err_set(err, DP_EINVAL, 0, "ddl: a record needs a non-empty fields array");
    json_array_foreach(fields, i, f)
    {
        const char *name = json_string_value(json_object_get(f, "name"));
        int nullable = 0;

        if (!name)
            return dp_err_set(err, DP_EINVAL, 0, "ddl: field %zu has no name", i);
        if ((i > 0 && put(out, ", ", err) < 0) || put_ident(out, name, err) < 0 ||
            put(out, in_struct ? ": " : " ", err) < 0 ||
            render_type(json_object_get(f, "type"), out, &nullable, depth + 1, err) < 0)
            return DP_EINVAL;
        if (!nullable && !in_struct && put(out, " NOT NULL", err) < 0)
            return DP_ETOOBIG;
    }
    return 0;
}

static int render_named(const char *t, json_t *type, dp_buf_t *out, int depth, dp_err_t *err)
{
    const char *logical =
        json_is_object(type) ? json_string_value(json_object_get(type, "logicalType")) : NULL;
    char tmp[64];

    if (logical && strcmp(logical, "decimal") == 0 &&
        (strcmp(t, "bytes") == 0 || strcmp(t, "fixed") == 0)) {
        json_int_t p = json_integer_value(json_object_get(type, "precision"));
        json_int_t s = json_integer_value(json_object_get(type, "scale"));

        if (p < 1 || p > 38 || s < 0 || s > p)
            return dp_err_set(err, DP_EINVAL, 0, "ddl: decimal(%lld,%lld) is out of range",
                              (long long)p, (long long)s);
        snprintf(tmp, sizeof(tmp), "DECIMAL(%lld,%lld)", (long long)p, (long long)s);
        return put(out, tmp, err);
    }
    if (logical && strcmp(t, "long") == 0 &&
        (strcmp(logical, "timestamp-micros") == 0 || strcmp(logical, "timestamp-millis") == 0))
        return put(out, "TIMESTAMP", err);
    if (logical && strcmp(t, "int") == 0 && strcmp(logical, "date") == 0)
        return put(out, "DATE", err);
    if (strcmp(t, "string") == 0 || strcmp(t, "enum") == 0)
        return put(out, "STRING", err);
    if (strcmp(t, "int") == 0)
        return put(out, "INT", err);
    if (strcmp(t, "long") == 0)
        return put(out, "BIGINT", err);
    if (strcmp(t, "float") == 0)
        return put(out, "FLOAT", err);
    if (strcmp(t, "double") == 0)
        return put(out, "DOUBLE", err);
    if (strcmp(t, "boolean") == 0)
        return put(out, "BOOLEAN", err);
    if (strcmp(t, "bytes") == 0 || strcmp(t, "fixed") == 0)
        return put(out, "BINARY", err);
    if (strcmp(t, "record") == 0) {
        if (put(out, "STRUCT<", err) < 0 ||
            render_fields(json_object_get(type, "fields"), out, 1, depth, err) < 0)
            return DP_EINVAL;
        return put(out, ">", err);
    }
    if (strcmp(t, "map") == 0) {
        int nullable = 0;

        if (put(out, "MAP<STRING, ", err) < 0 ||
            render_type(json_object_get(type, "values"), out, &nullable, depth + 1, err) < 0)
            return DP_EINVAL;
        return put(out, ">", err);
    }
    if (strcmp(t, "array") == 0) {
        int nullable = 0;

        if (put(out, "ARRAY<", err) < 0 ||
            render_type(json_object_get(type, "items"), out, &nullable, depth + 1, err) < 0)
            return DP_EINVAL;
        return put(out, ">", err);
    }
    return dp_err_set(err, DP_EINVAL, 0, "ddl: Avro type '%.32s' has no column mapping", t);
}

static int render_type(json_t *type, dp_buf_t *out, int *nullable, int depth, dp_err_t *err)
{
    if (depth > DDL_DEPTH)
        return dp_err_set(err, DP_EINVAL, 0, "ddl: schema nested deeper than %d", DDL_DEPTH);
    if (json_is_string(type))
        return render_named(json_string_value(type), type, out, depth, err);
    if (json_is_object(type)) {
        const char *t = json_string_value(json_object_get(type, "type"));

        if (!t)
            return dp_err_set(err, DP_EINVAL, 0, "ddl: a type object needs a \"type\"");
        return render_named(t, type, out, depth, err);
    }
    if (json_is_array(type) && json_array_size(type) == 2 &&
        json_is_string(json_array_get(type, 0)) &&
        strcmp(json_string_value(json_array_get(type, 0)), "null") == 0) {
        *nullable = 1;
        return render_type(json_array_get(type, 1), out, nullable, depth + 1, err);
    }
    return dp_err_set(err, DP_EINVAL, 0, "ddl: only [\"null\", T] unions have a column mapping");
}

char *dp_ddl_columns_from_avro(const char *schema_json, dp_err_t *err)
{
    json_error_t jerr;
    json_t *schema = json_loads(schema_json, 0, &jerr);
    dp_buf_t out;
    char *text = NULL;
    size_t len;

    if (!schema) {
        dp_err_set(err, DP_EINVAL, 0, "ddl: schema is not JSON: %s (line %d)", jerr.text,
                   jerr.line);
        return NULL;
    }
    dp_buf_init(&out, DDL_MAX);
    if (render_fields(json_object_get(schema, "fields"), &out, 0, 0, err) == 0 &&
        dp_buf_append(&out, "", 1, err) == 0)
        text = (char *)dp_buf_detach(&out, &len);
    dp_buf_free(&out);
    json_decref(schema);
    return text;
}

char *dp_ddl_create_table(const char *qualified, const char *schema_json, dp_err_t *err)
{
    static const char prefix[] = "CREATE TABLE IF NOT EXISTS ";
    char *cols = dp_ddl_columns_from_avro(schema_json, err);
    char *sql;
    size_t n;

    if (!cols)
        return NULL;
    n = sizeof(prefix) + strlen(qualified) + strlen(cols) + 4;
    sql = dp_malloc(n);
    snprintf(sql, n, "%s%s (%s)", prefix, qualified, cols);
    free(cols);
    return sql;
}

char *dp_ddl_copy_into(const char *qualified, const char *path, dp_err_t *err)
{
    static const char fmt[] = "COPY INTO %s FROM (SELECT *, current_timestamp() AS _loaded_at "
                              "FROM '%.*s') FILEFORMAT = AVRO FILES = ('%s') "
                              "FORMAT_OPTIONS ('mergeSchema' = 'true') "
                              "COPY_OPTIONS ('mergeSchema' = 'true')";
    const char *file = strrchr(path, '/');
    size_t n, plen = strlen(path);
    char *sql;

    if (strncmp(path, "/Volumes/", 9) != 0 || !file || file[1] == '\0' || strstr(path, "..") ||
        strspn(path, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-") !=
            plen) {
        dp_err_set(err, DP_EINVAL, 0, "ddl: '%.80s' is not a staging Volume file path", path);
        return NULL;
    }
    n = sizeof(fmt) + strlen(qualified) + 2 * plen;
    sql = dp_malloc(n);
    snprintf(sql, n, fmt, qualified, (int)(file + 1 - path), path, file + 1);
    return sql;
}
