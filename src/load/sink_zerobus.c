/*
 * sink_zerobus: a flush's event rows as Zerobus Ingest inserts (see
 * sink_zerobus.h).
 *
 * Parts: the DDL of a table's raw table and view; the conversion of a
 * staged record to a JSON row (walked over the compiled staged schema with
 * avro_walk, so every length is checked); the batching of rows into inserts,
 * their sending (dbx/zerobus.h) and the halving of refused inserts; and, for
 * recovery, a reader of the staged container files (null, deflate and snappy
 * codecs, the sync marker checked after every block).
 */
#include "load/sink_zerobus.h"

#include "batch/sysrows.h"
#include "codec/avro_walk.h"
#include "codec/schema.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "dbx/files.h"
#include "dbx/zerobus.h"
#include "load/claims.h"
#include "load/ddl.h"
#include "load/stmt.h"
#include "ops/metrics.h"

#include <jansson.h>
#include <libdeflate.h>
#include <math.h>
#include <openssl/evp.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOADED_AT     "_loaded_at"
#define FIRST_LINEAGE "_kafka_topic"
#define JSON_DEPTH    32
#define BLOCK_MAX     ((size_t)1 << 30)
#define SEND_MAX      32 /* insert bodies built at a time, per table */

struct dp_sink_zb {
    const dp_config_t *cfg;
    struct dp_zerobus *zb; /* owned */
    char *staged;          /* the tables' schema (canonical + lineage + _loaded_at) */
    dp_schema_t *rec;      /* owned: the staged record's schema (without _loaded_at) */
    uint32_t ncanon;       /* fields of the canonical record; the lineage follows */
    size_t max_bytes, max_records;
};

/* ------------------------------------------------------------------------- */
/* Schemas and names                                                         */
/* ------------------------------------------------------------------------- */

int dp_sink_zb_raw_name(const char *table, char *out, size_t outlen, dp_err_t *err)
{
    int n;

    if (dp_tablename_check_table(table, err) < 0)
        return DP_EINVAL;
    n = snprintf(out, outlen, "%s%s", DP_SINK_ZB_RAW_PREFIX, table);
    if (n < 0 || (size_t)n >= outlen)
        return dp_err_set(err, DP_EINVAL, 0, "zerobus: raw table name of %s too long", table);
    return 0;
}

/* The record schema of a staged file: the staged schema without its last
 * field when that is _loaded_at (new text, free). */
static char *record_schema(const char *staged, dp_err_t *err)
{
    json_t *root = json_loads(staged, 0, NULL), *fields = json_object_get(root, "fields");
    size_t n = json_array_size(fields);
    const char *last =
        n ? json_string_value(json_object_get(json_array_get(fields, n - 1), "name")) : NULL;
    char *text = NULL, *dumped;

    if (!json_is_array(fields)) {
        dp_err_set(err, DP_EINVAL, 0, "zerobus: the staged schema is not a record");
        json_decref(root);
        return NULL;
    }
    if (last && strcmp(last, LOADED_AT) == 0)
        json_array_remove(fields, n - 1);
    if ((dumped = json_dumps(root, JSON_COMPACT)) != NULL) {
        text = dp_strdup(dumped);
        free(dumped); /* jansson's allocation */
    }
    json_decref(root);
    if (!text)
        dp_err_set(err, DP_EFAIL, 0, "zerobus: cannot serialize the record schema");
    return text;
}

/* A decimal type of the staged schema (bytes/fixed + logicalType decimal). */
static int is_decimal(const json_t *t)
{
    const char *lt = json_string_value(json_object_get(t, "logicalType"));

    return json_is_object(t) && lt && strcmp(lt, "decimal") == 0;
}

/* Replaces every decimal type under t by "string", in place. */
static json_t *decimals_as_strings(json_t *t, int depth)
{
    size_t i;
    json_t *v;
    const char *key;

    if (depth > 32)
        return t;
    if (is_decimal(t)) {
        json_decref(t);
        return json_string("string");
    }
    if (json_is_array(t)) {
        json_array_foreach(t, i, v)
        {
            json_incref(v);
            json_array_set_new(t, i, decimals_as_strings(v, depth + 1));
        }
    } else if (json_is_object(t)) {
        json_object_foreach(t, key, v)
        {
            /* Replacing the value of a key being visited keeps the iteration valid. */
            if (strcmp(key, "type") == 0 || strcmp(key, "fields") == 0 ||
                strcmp(key, "items") == 0 || strcmp(key, "values") == 0) {
                json_incref(v);
                json_object_set_new(t, key, decimals_as_strings(v, depth + 1));
            }
        }
    }
    return t;
}

/* `c`.`s`.`t` of the raw table (raw = 1) or the view (raw = 0). */
static int qualified_of(const char *catalog, const char *schema, const char *table, int raw,
                        char *out, dp_err_t *err)
{
    char name[DP_SINK_ZB_RAW_SIZE];

    if (raw && dp_sink_zb_raw_name(table, name, sizeof(name), err) < 0)
        return DP_EINVAL;
    return dp_tablename_qualified(catalog, schema, raw ? name : table, out,
                                  DP_TABLENAME_QUALIFIED_SIZE, err);
}

char *dp_sink_zb_table_sql(const char *catalog, const char *schema, const char *table,
                           const char *staged_schema, dp_err_t *err)
{
    char q[DP_TABLENAME_QUALIFIED_SIZE], *text, *sql;
    json_t *root;

    if (qualified_of(catalog, schema, table, 1, q, err) < 0)
        return NULL;
    if (!(root = json_loads(staged_schema, 0, NULL))) {
        dp_err_set(err, DP_EINVAL, 0, "zerobus: the staged schema is not JSON");
        return NULL;
    }
    root = decimals_as_strings(root, 0);
    text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (!text) {
        dp_err_set(err, DP_EFAIL, 0, "zerobus: cannot serialize the table schema");
        return NULL;
    }
    sql = dp_ddl_create_table(q, text, err);
    free(text);
    return sql;
}

char *dp_sink_zb_view_sql(const char *catalog, const char *schema, const char *table,
                          const char *staged_schema, dp_err_t *err)
{
    char qv[DP_TABLENAME_QUALIFIED_SIZE], qr[DP_TABLENAME_QUALIFIED_SIZE];
    json_t *root = NULL, *fields, *f;
    dp_buf_t out;
    size_t i, len;
    char *sql = NULL;
    int rc = 0;

    if (qualified_of(catalog, schema, table, 0, qv, err) < 0 ||
        qualified_of(catalog, schema, table, 1, qr, err) < 0)
        return NULL;
    root = json_loads(staged_schema, 0, NULL);
    fields = json_object_get(root, "fields");
    if (!json_is_array(fields) || json_array_size(fields) == 0) {
        dp_err_set(err, DP_EINVAL, 0, "zerobus: the staged schema is not a record");
        json_decref(root);
        return NULL;
    }
    dp_buf_init(&out, 256 * 1024);
    rc = dp_buf_append(&out, "CREATE VIEW IF NOT EXISTS ", 26, err);
    rc = rc ? rc : dp_buf_append(&out, qv, strlen(qv), err);
    rc = rc ? rc : dp_buf_append(&out, " AS SELECT ", 11, err);
    json_array_foreach(fields, i, f)
    {
        const char *name = json_string_value(json_object_get(f, "name"));
        json_t *type = json_object_get(f, "type");
        char col[2 * DP_TABLENAME_COLUMN_QUOTED_SIZE + 64], qn[DP_TABLENAME_COLUMN_QUOTED_SIZE];

        if (rc < 0)
            break;
        if (!name || dp_tablename_column_quoted(name, qn, sizeof(qn), NULL) < 0) {
            rc = dp_err_set(err, DP_EINVAL, 0, "zerobus: field %zu has no usable name", i);
            break;
        }
        if (json_is_array(type) && json_array_size(type) == 2)
            type = json_array_get(type, 1); /* ["null", T] */
        if (is_decimal(type))
            snprintf(col, sizeof(col), "%sCAST(%s AS DECIMAL(%lld,%lld)) AS %s", i ? ", " : "", qn,
                     (long long)json_integer_value(json_object_get(type, "precision")),
                     (long long)json_integer_value(json_object_get(type, "scale")), qn);
        else
            snprintf(col, sizeof(col), "%s%s", i ? ", " : "", qn);
        rc = dp_buf_append(&out, col, strlen(col), err);
    }
    if (rc == 0) {
        /* One row per record: the first load of each (incarnation, topic,
         * partition, offset). */
        static const char *const by[] = {"_incarnation",  "_kafka_topic", "_kafka_partition",
                                         "_kafka_offset", "_loaded_at",   NULL};

        rc = dp_buf_append(&out, " FROM ", 6, err);
        rc = rc ? rc : dp_buf_append(&out, qr, strlen(qr), err);
        rc = rc ? rc : dp_buf_append(&out, " QUALIFY ROW_NUMBER() OVER (PARTITION BY ", 41, err);
        for (size_t k = 0; rc == 0 && by[k]; k++) {
            const char *sep = !by[k + 1] ? ") = 1" : !by[k + 2] ? " ORDER BY " : ", ";
            char qn[DP_TABLENAME_COLUMN_QUOTED_SIZE];

            rc = dp_tablename_column_quoted(by[k], qn, sizeof(qn), err);
            rc = rc ? rc : dp_buf_append(&out, qn, strlen(qn), err);
            rc = rc ? rc : dp_buf_append(&out, sep, strlen(sep), err);
        }
        rc = rc ? rc : dp_buf_append(&out, "", 1, err);
    }
    if (rc == 0)
        sql = (char *)dp_buf_detach(&out, &len);
    dp_buf_free(&out);
    json_decref(root);
    return sql;
}

/* ------------------------------------------------------------------------- */
/* Lifecycle                                                                 */
/* ------------------------------------------------------------------------- */

dp_sink_zb_t *dp_sink_zb_new(const dp_config_t *cfg, const char *staged_schema, dp_err_t *err)
{
    dp_sink_zb_t *s = dp_calloc(1, sizeof(*s));
    dp_zerobus_config_t zc;
    char *text;
    int lin;

    s->cfg = cfg;
    s->staged = dp_strdup(staged_schema);
    s->max_bytes = (size_t)cfg->databricks.zerobus_max_request_bytes;
    s->max_records = (size_t)cfg->databricks.zerobus_max_records_per_request;
    if (!(text = record_schema(staged_schema, err)))
        goto fail;
    s->rec = dp_schema_parse(text, strlen(text), err);
    free(text);
    if (!s->rec)
        goto fail;
    lin = dp_schema_field_index(s->rec, 0, FIRST_LINEAGE);
    if (lin < 0) {
        dp_err_set(err, DP_EINVAL, 0, "zerobus: the staged schema has no %s field", FIRST_LINEAGE);
        goto fail;
    }
    s->ncanon = (uint32_t)lin;
    memset(&zc, 0, sizeof(zc));
    zc.endpoint = cfg->databricks.zerobus_endpoint;
    zc.workspace_host = cfg->databricks.host;
    zc.workspace_id = cfg->databricks.workspace_id;
    zc.client_id = cfg->databricks.client_id;
    zc.client_secret = cfg->databricks.client_secret;
    zc.allow_insecure_http = cfg->databricks.allow_insecure_http;
    zc.ca_file = cfg->databricks.ca_file;
    zc.request_timeout_ms = (long)cfg->databricks.http_timeout_ms;
    zc.retry.max_attempts = (int)cfg->databricks.max_retries + 1;
    zc.max_in_flight = (size_t)cfg->databricks.zerobus_max_in_flight;
    if (!(s->zb = dp_zerobus_new(&zc, err)))
        goto fail;
    return s;
fail:
    dp_sink_zb_destroy(s);
    return NULL;
}

void dp_sink_zb_destroy(dp_sink_zb_t *s)
{
    if (!s)
        return;
    dp_zerobus_destroy(s->zb);
    dp_schema_destroy(s->rec);
    free(s->staged);
    free(s);
}

struct dp_zerobus *dp_sink_zb_client(dp_sink_zb_t *s)
{
    return s->zb;
}

/* ------------------------------------------------------------------------- */
/* Tables                                                                    */
/* ------------------------------------------------------------------------- */

int dp_sink_zb_prepare(dp_sink_zb_t *s, dp_dbx_client_t *client, const char *table, dp_err_t *err)
{
    const dp_config_t *cfg = s->cfg;
    char where[DP_TABLENAME_QUALIFIED_SIZE], raw[DP_SINK_ZB_RAW_SIZE];
    char id[DP_CLAIMS_TABLE_ID_SIZE] = "";
    dp_retry_object_t obj = {DP_RETRY_OBJ_SCHEMA, DP_RETRY_ACCESS_CREATE, where};
    char *sql = dp_sink_zb_table_sql(cfg->databricks.catalog, cfg->databricks.schema, table,
                                     s->staged, err);
    dp_stmt_t st;
    dp_err_t e2;
    int rc;

    if (!sql || dp_sink_zb_raw_name(table, raw, sizeof(raw), err) < 0) {
        free(sql);
        return DP_EINVAL;
    }
    snprintf(where, sizeof(where), "%s.%s", cfg->databricks.catalog, cfg->databricks.schema);
    memset(&st, 0, sizeof(st));
    st.what = "zerobus: create raw table";
    st.sql = sql;
    st.object = &obj;
    rc = dp_stmt_run(client, cfg, &st, NULL, err);
    free(sql);
    /* A principal without CREATE TABLE goes on when the table is there
     * (`deltaport ddl` prints what an administrator runs). */
    if (rc < 0 && !err->retryable && dp_claims_table_id(client, cfg, raw, id, &e2) == 0 && id[0]) {
        dp_log(DP_LOG_INFO, "zerobus", "%s exists; not creating it (%s)", raw, err->msg);
        rc = 0;
    }
    if (rc < 0)
        return rc;
    if (!(sql = dp_sink_zb_view_sql(cfg->databricks.catalog, cfg->databricks.schema, table,
                                    s->staged, err)))
        return DP_EINVAL;
    st.what = "zerobus: create view";
    st.sql = sql;
    rc = dp_stmt_run(client, cfg, &st, NULL, err);
    free(sql);
    if (rc < 0 && !err->retryable) {
        /* Loading needs the raw table only; the view is what readers use. */
        dp_log(DP_LOG_WARN, "zerobus",
               "view %s not created (readers see the rows of %s only "
               "once it exists; `deltaport ddl` prints it): %s",
               table, raw, err->msg);
        rc = 0;
    }
    return rc;
}

/* ------------------------------------------------------------------------- */
/* Rows as JSON                                                              */
/* ------------------------------------------------------------------------- */

static int put(dp_buf_t *o, const char *s, size_t n, dp_err_t *err)
{
    return dp_buf_append(o, s, n, err) < 0 ? DP_ETOOBIG : 0;
}

static int puts_(dp_buf_t *o, const char *s, dp_err_t *err)
{
    return put(o, s, strlen(s), err);
}

/* A JSON string of n bytes of UTF-8 (checked by the walker). */
static int put_string(dp_buf_t *o, const uint8_t *p, size_t n, dp_err_t *err)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;

    if (put(o, "\"", 1, err) < 0)
        return DP_ETOOBIG;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        char esc[6];

        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        if (put(o, (const char *)p + run, i - run, err) < 0)
            return DP_ETOOBIG;
        run = i + 1;
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            if (put(o, esc, 2, err) < 0)
                return DP_ETOOBIG;
            continue;
        }
        memcpy(esc, "\\u00", 4);
        esc[4] = hex[c >> 4];
        esc[5] = hex[c & 15];
        if (put(o, esc, 6, err) < 0)
            return DP_ETOOBIG;
    }
    if (put(o, (const char *)p + run, n - run, err) < 0 || put(o, "\"", 1, err) < 0)
        return DP_ETOOBIG;
    return 0;
}

int dp_sink_zb_decimal_text(const void *unscaled, size_t len, int scale, char *out, size_t outlen,
                            dp_err_t *err)
{
    const uint8_t *b = unscaled;
    __int128 v = 0;
    unsigned __int128 mag;
    char digits[64];
    size_t nd = 0, o = 0;
    int neg;

    if (len > 16 || scale < 0 || scale > 38)
        return dp_err_set(err, DP_EINVAL, 0, "decimal of %zu bytes, scale %d", len, scale);
    if (len > 0 && (b[0] & 0x80))
        v = -1; /* sign extension */
    for (size_t i = 0; i < len; i++)
        v = (__int128)(((unsigned __int128)v << 8) | b[i]);
    neg = v < 0;
    mag = neg ? (unsigned __int128)0 - (unsigned __int128)v : (unsigned __int128)v;
    do {
        digits[nd++] = (char)('0' + (int)(mag % 10));
        mag /= 10;
    } while (mag > 0);
    while (nd <= (size_t)scale)
        digits[nd++] = '0'; /* at least one digit before the point */
    if (outlen < nd + 3)
        return dp_err_set(err, DP_ETOOBIG, 0, "decimal text too long");
    if (neg)
        out[o++] = '-';
    while (nd > 0) {
        if (nd == (size_t)scale && scale > 0)
            out[o++] = '.';
        out[o++] = digits[--nd];
    }
    out[o] = '\0';
    return 0;
}

static int value_json(const dp_schema_t *s, const dp_avro_value_t *v, dp_buf_t *o, int depth,
                      dp_err_t *err);

static int record_json(const dp_schema_t *s, uint32_t node, const uint8_t *p, size_t len,
                       dp_buf_t *o, int depth, dp_err_t *err)
{
    const dp_schema_node_t *nd = &s->nodes[node];
    dp_avro_cursor_t cur;
    dp_reject_t rej;

    dp_avro_cursor_init(&cur, s, p, len, NULL, &rej);
    if (put(o, "{", 1, err) < 0)
        return DP_ETOOBIG;
    for (uint32_t i = 0; i < nd->n; i++) {
        const dp_schema_field_t *f = dp_schema_field(s, node, i);
        dp_avro_value_t fv;
        int rc;

        if (dp_avro_read_value(&cur, f->node, &fv) < 0)
            return dp_err_set(err, DP_EINVAL, 0, "field %s: %s", f->name, rej.reason);
        if ((i > 0 && put(o, ",", 1, err) < 0) ||
            put_string(o, (const uint8_t *)f->name, strlen(f->name), err) < 0 ||
            put(o, ":", 1, err) < 0)
            return DP_ETOOBIG;
        if ((rc = value_json(s, &fv, o, depth + 1, err)) < 0)
            return rc;
    }
    return put(o, "}", 1, err);
}

static int base64_json(const uint8_t *p, size_t n, dp_buf_t *o, dp_err_t *err)
{
    size_t len = 4 * ((n + 2) / 3);
    unsigned char *dst;

    if (put(o, "\"", 1, err) < 0 || !(dst = dp_buf_extend(o, len + 1, err)))
        return DP_ETOOBIG;
    EVP_EncodeBlock(dst, p, (int)n);
    dp_buf_truncate(o, dp_buf_len(o) - 1); /* the encoder's NUL */
    return put(o, "\"", 1, err);
}

static int value_json(const dp_schema_t *s, const dp_avro_value_t *v, dp_buf_t *o, int depth,
                      dp_err_t *err)
{
    const dp_schema_node_t *nd = &s->nodes[v->node];
    char num[80];
    int rc;

    if (depth > JSON_DEPTH)
        return dp_err_set(err, DP_EINVAL, 0, "value nested deeper than %d", JSON_DEPTH);
    if (v->is_null || nd->type == DP_AVRO_NULL)
        return put(o, "null", 4, err);
    switch (nd->type) {
    case DP_AVRO_BOOLEAN:
        return v->l ? put(o, "true", 4, err) : put(o, "false", 5, err);
    case DP_AVRO_INT:
    case DP_AVRO_LONG:
        if (nd->logical == DP_LT_TIMESTAMP_MILLIS) {
            if (v->l > INT64_MAX / 1000 || v->l < INT64_MIN / 1000)
                return dp_err_set(err, DP_EINVAL, 0, "timestamp-millis %lld out of range",
                                  (long long)v->l);
            snprintf(num, sizeof(num), "%lld", (long long)v->l * 1000);
        } else {
            snprintf(num, sizeof(num), "%lld", (long long)v->l);
        }
        return puts_(o, num, err);
    case DP_AVRO_FLOAT:
    case DP_AVRO_DOUBLE:
        if (!isfinite(v->d))
            return put(o, "null", 4, err); /* JSON has no NaN or infinity */
        snprintf(num, sizeof(num), "%.17g", v->d);
        return puts_(o, num, err);
    case DP_AVRO_STRING:
        return put_string(o, v->ptr, v->len, err);
    case DP_AVRO_ENUM: {
        const char *sym = s->symbols[nd->first + (uint32_t)v->l];

        return put_string(o, (const uint8_t *)sym, strlen(sym), err);
    }
    case DP_AVRO_BYTES:
    case DP_AVRO_FIXED:
        if (nd->logical == DP_LT_DECIMAL) {
            if ((rc = dp_sink_zb_decimal_text(v->ptr, v->len, nd->scale, num, sizeof(num), err)) <
                0)
                return rc;
            return put_string(o, (const uint8_t *)num, strlen(num), err);
        }
        return base64_json(v->ptr, v->len, o, err);
    case DP_AVRO_RECORD:
        return record_json(s, v->node, v->ptr, v->len, o, depth, err);
    case DP_AVRO_ARRAY:
    case DP_AVRO_MAP: {
        int is_map = nd->type == DP_AVRO_MAP, first = 1, more;
        dp_avro_value_t key, item;
        dp_avro_iter_t it;
        dp_reject_t rej;

        dp_avro_iter_init(&it, s, v, &rej);
        if (put(o, is_map ? "{" : "[", 1, err) < 0)
            return DP_ETOOBIG;
        while ((more = dp_avro_iter_next(&it, &key, &item)) > 0) {
            if ((!first && put(o, ",", 1, err) < 0) ||
                (is_map && (put_string(o, key.ptr, key.len, err) < 0 || put(o, ":", 1, err) < 0)))
                return DP_ETOOBIG;
            first = 0;
            if ((rc = value_json(s, &item, o, depth + 1, err)) < 0)
                return rc;
        }
        if (more < 0)
            return dp_err_set(err, DP_EINVAL, 0, "malformed %s: %s", is_map ? "map" : "array",
                              rej.reason);
        return put(o, is_map ? "}" : "]", 1, err);
    }
    default:
        return dp_err_set(err, DP_EINVAL, 0, "Avro type %s has no JSON form",
                          dp_avro_type_name((dp_avro_type_t)nd->type));
    }
}

/* Fields [from, to) of the root record from p[0..len), as "name":value
 * members (nulls left out); every byte must be used. *first tracks commas. */
static int members_json(const dp_schema_t *s, uint32_t from, uint32_t to, const uint8_t *p,
                        size_t len, int *first, dp_buf_t *o, dp_err_t *err)
{
    dp_avro_cursor_t cur;
    dp_reject_t rej;

    dp_avro_cursor_init(&cur, s, p, len, NULL, &rej);
    cur.depth = 1;
    for (uint32_t i = from; i < to; i++) {
        const dp_schema_field_t *f = dp_schema_field(s, 0, i);
        dp_avro_value_t fv;
        int rc;

        cur.path[1] = f->name; /* error paths name the field */
        if (dp_avro_read_value(&cur, f->node, &fv) < 0)
            return dp_err_set(err, DP_EINVAL, 0, "staged record, field %s: %s", f->name,
                              rej.reason);
        if (fv.is_null || s->nodes[fv.node].type == DP_AVRO_NULL)
            continue;
        if ((!*first && put(o, ",", 1, err) < 0) ||
            put_string(o, (const uint8_t *)f->name, strlen(f->name), err) < 0 ||
            put(o, ":", 1, err) < 0)
            return DP_ETOOBIG;
        *first = 0;
        if ((rc = value_json(s, &fv, o, 1, err)) < 0)
            return rc;
    }
    if (cur.p != cur.end)
        return dp_err_set(err, DP_EINVAL, 0, "staged record: %zu bytes after its fields",
                          (size_t)(cur.end - cur.p));
    return 0;
}

int dp_sink_zb_row_json(const dp_sink_zb_t *s, const void *body, size_t body_len,
                        const void *lineage, size_t lineage_len, int64_t loaded_at_us,
                        dp_buf_t *out, dp_err_t *err)
{
    size_t mark = dp_buf_len(out);
    char tail[64];
    int first = 1, rc;

    snprintf(tail, sizeof(tail), "%s\"%s\":%lld}", "", LOADED_AT, (long long)loaded_at_us);
    if ((rc = put(out, "{", 1, err)) < 0 ||
        (rc = members_json(s->rec, 0, s->ncanon, body, body_len, &first, out, err)) < 0 ||
        (rc = members_json(s->rec, s->ncanon, s->rec->nodes[0].n, lineage, lineage_len, &first, out,
                           err)) < 0 ||
        (rc = (first ? 0 : put(out, ",", 1, err))) < 0 || (rc = puts_(out, tail, err)) < 0) {
        dp_buf_truncate(out, mark);
        return rc;
    }
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Inserts                                                                   */
/* ------------------------------------------------------------------------- */

typedef struct zrec {
    const uint8_t *body, *lin;
    size_t body_len, lin_len;
} zrec_t;

typedef struct span {
    size_t first, n;
} span_t;

enum { PENDING = 0, ACKED = 1, REFUSED = 2 };

struct dp_sink_zb_table {
    size_t nrecs;
    uint8_t *mark;    /* PENDING, ACKED or REFUSED per record */
    dp_buf_t rejects; /* event_errors records */
    int64_t nrejects, acked, inserts;
};

static dp_sink_zb_table_t *table_new(size_t nrecs)
{
    dp_sink_zb_table_t *t = dp_calloc(1, sizeof(*t));

    t->nrecs = nrecs;
    t->mark = dp_calloc(nrecs ? nrecs : 1, 1);
    dp_buf_init(&t->rejects, SIZE_MAX);
    return t;
}

void dp_sink_zb_table_free(dp_sink_zb_table_t *t)
{
    if (!t)
        return;
    free(t->mark);
    dp_buf_free(&t->rejects);
    free(t);
}

const dp_buf_t *dp_sink_zb_rejects(const dp_sink_zb_table_t *t, int64_t *n)
{
    *n = t ? t->nrejects : 0;
    return t ? &t->rejects : NULL;
}

/* One job's rows: the JSON of each record, back to back. */
typedef struct rows {
    dp_buf_t json;
    size_t *off; /* row i is json[off[i], off[i + 1]) */
} rows_t;

static int convert(const dp_sink_zb_t *s, const zrec_t *recs, size_t n, rows_t *rows, dp_err_t *err)
{
    int64_t now = dp_clock_wall_us();

    dp_buf_init(&rows->json, SIZE_MAX);
    rows->off = dp_calloc(n + 1, sizeof(*rows->off));
    for (size_t i = 0; i < n; i++) {
        int rc;

        rows->off[i] = dp_buf_len(&rows->json);
        if ((rc = dp_sink_zb_row_json(s, recs[i].body, recs[i].body_len, recs[i].lin,
                                      recs[i].lin_len, now, &rows->json, err)) < 0) {
            dp_err_prefix(err, "zerobus: row %zu: ", i);
            return rc;
        }
    }
    rows->off[n] = dp_buf_len(&rows->json);
    return 0;
}

static void rows_free(rows_t *rows)
{
    dp_buf_free(&rows->json);
    free(rows->off);
}

/* Cuts the pending records into spans within the request limits. */
static span_t *initial_spans(const dp_sink_zb_t *s, const uint8_t *mark, const rows_t *rows,
                             size_t n, size_t *nspans)
{
    span_t *sp = dp_calloc(n + 1, sizeof(*sp));
    size_t k = 0, i = 0;

    while (i < n) {
        size_t bytes = 2, first;

        while (i < n && mark[i] != PENDING)
            i++;
        if (i == n)
            break;
        first = i;
        while (i < n && mark[i] == PENDING && i - first < s->max_records) {
            size_t row = rows->off[i + 1] - rows->off[i] + 1;

            if (i > first && bytes + row > s->max_bytes)
                break;
            bytes += row;
            i++;
        }
        sp[k++] = (span_t){first, i - first};
    }
    *nspans = k;
    return sp;
}

/* The body of one insert: "[row,row,...]" (new, free). */
static char *span_body(const rows_t *rows, span_t sp, size_t *len)
{
    const unsigned char *j = dp_buf_data(&rows->json);
    size_t n = rows->off[sp.first + sp.n] - rows->off[sp.first] + sp.n + 1, o = 0;
    char *b = dp_malloc(n + 1);

    b[o++] = '[';
    for (size_t i = sp.first; i < sp.first + sp.n; i++) {
        size_t rl = rows->off[i + 1] - rows->off[i];

        if (i > sp.first)
            b[o++] = ',';
        memcpy(b + o, j + rows->off[i], rl);
        o += rl;
    }
    b[o++] = ']';
    b[o] = '\0';
    *len = o;
    return b;
}

/* A refused record becomes an event_errors record (body + lineage). */
static int reject(dp_sink_zb_table_t *t, const zrec_t *r, const char *why, const char *worker_id,
                  dp_err_t *err)
{
    dp_buf_t body;
    int rc;

    dp_buf_init(&body, 2 * DP_SYSROWS_RAW_MAX);
    rc = dp_sysrows_error(&body, "LOAD_REJECTED", why, r->body, r->body_len, worker_id, err);
    if (rc == 0 && (dp_buf_append(&t->rejects, dp_buf_data(&body), dp_buf_len(&body), err) < 0 ||
                    dp_buf_append(&t->rejects, r->lin, r->lin_len, err) < 0))
        rc = DP_ETOOBIG;
    dp_buf_free(&body);
    if (rc == 0)
        t->nrejects++;
    return rc;
}

/* Sends every pending record of t, halving refused inserts. Returns 0 when
 * none is pending any more, or the first failure other than a 400. */
static int send_rows(dp_sink_zb_t *s, dp_dbx_client_t *client, const char *table,
                     const zrec_t *recs, const rows_t *rows, dp_sink_zb_table_t *t,
                     const char *worker_id, void (*beat)(void *), void *ctx, dp_err_t *err)
{
    const dp_config_t *cfg = s->cfg;
    char target[3 * (DP_TABLENAME_IDENT_MAX + 1) + 8], raw[DP_SINK_ZB_RAW_SIZE];
    size_t nsp = 0;
    span_t *sp;
    int rc = 0;

    if (dp_sink_zb_raw_name(table, raw, sizeof(raw), err) < 0)
        return DP_EINVAL;
    snprintf(target, sizeof(target), "%s.%s.%s", cfg->databricks.catalog, cfg->databricks.schema,
             raw);
    sp = initial_spans(s, t->mark, rows, t->nrecs, &nsp);
    while (nsp > 0 && rc == 0) {
        /* At most SEND_MAX bodies at a time: the rest waits for the next round. */
        size_t nsend = nsp < SEND_MAX ? nsp : SEND_MAX;
        dp_zerobus_insert_t *ins = dp_calloc(nsend, sizeof(*ins));
        char **bodies = dp_calloc(nsend, sizeof(*bodies));
        span_t *next = dp_calloc(2 * nsp, sizeof(*next));
        size_t nnext = 0;

        for (size_t i = nsend; i < nsp; i++)
            next[nnext++] = sp[i];
        for (size_t i = 0; i < nsend; i++) {
            bodies[i] = span_body(rows, sp[i], &ins[i].len);
            ins[i].table = target;
            ins[i].body = bodies[i];
        }
        dp_zerobus_send(s->zb, ins, nsend, client, beat, ctx);
        t->inserts += (int64_t)nsend;
        for (size_t i = 0; i < nsend; i++) {
            if (ins[i].rc == 0) {
                memset(t->mark + sp[i].first, ACKED, sp[i].n);
                t->acked += (int64_t)sp[i].n;
            } else if ((ins[i].status == 400 || ins[i].status == 413) && sp[i].n > 1) {
                /* Zerobus refuses the whole insert: find the rows it refuses. */
                next[nnext++] = (span_t){sp[i].first, sp[i].n / 2};
                next[nnext++] = (span_t){sp[i].first + sp[i].n / 2, sp[i].n - sp[i].n / 2};
            } else if (ins[i].status == 400 || ins[i].status == 413) {
                dp_log(DP_LOG_ERROR, "zerobus", "%s refused a row; it goes to event_errors: %s",
                       target, ins[i].err.msg);
                if ((rc = reject(t, &recs[sp[i].first], ins[i].err.msg, worker_id, err)) == 0)
                    t->mark[sp[i].first] = REFUSED;
            } else if (rc == 0) {
                /* Another refusal (403, 404, 4xx) keeps the rows: the flush is
                 * retried, never turned into event_errors as a whole. */
                *err = ins[i].err;
                rc = ins[i].rc < 0 && ins[i].rc != DP_EINVAL ? ins[i].rc : DP_EFAIL;
            }
            free(bodies[i]);
        }
        free(ins);
        free(bodies);
        free(sp);
        sp = next;
        nsp = nnext;
    }
    free(sp);
    return rc;
}

typedef struct collect {
    zrec_t *recs;
    size_t n, cap;
} collect_t;

static int collect_rec(void *ctx, const dp_flush_record_t *rec)
{
    collect_t *c = ctx;

    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 1024;
        c->recs = dp_realloc(c->recs, c->cap * sizeof(*c->recs));
    }
    c->recs[c->n++] = (zrec_t){rec->body, rec->lineage, rec->body_len, rec->lineage_len};
    return 0;
}

static void result_of(const dp_sink_zb_table_t *t, dp_sink_zb_result_t *res)
{
    res->rows = (int64_t)t->nrecs;
    res->acked = t->acked;
    res->rejected = t->nrejects;
    res->inserts = t->inserts;
}

int dp_sink_zb_load_flush_table(dp_sink_zb_t *s, dp_dbx_client_t *client, const dp_flush_t *flush,
                                size_t ti, const char *worker_id, dp_sink_zb_table_t **state,
                                dp_sink_zb_result_t *res, void (*beat)(void *), void *ctx,
                                dp_err_t *err)
{
    collect_t c = {NULL, 0, 0};
    const char *table = dp_flush_table(flush, ti, NULL);
    rows_t rows = {{0}, NULL};
    int rc;

    memset(res, 0, sizeof(*res));
    if (!table)
        return dp_err_set(err, DP_EINVAL, 0, "zerobus: the flush has no table %zu", ti);
    if (dp_flush_table_each(flush, ti, collect_rec, &c) < 0) {
        free(c.recs);
        return dp_err_set(err, DP_EFAIL, 0, "zerobus: the records of %s are malformed", table);
    }
    if (!*state)
        *state = table_new(c.n);
    if ((*state)->nrecs != c.n) {
        free(c.recs);
        return dp_err_set(err, DP_EFAIL, 0, "zerobus: %s holds %zu records, the job %zu", table,
                          c.n, (*state)->nrecs);
    }
    rc = convert(s, c.recs, c.n, &rows, err);
    if (rc == 0)
        rc = send_rows(s, client, table, c.recs, &rows, *state, worker_id, beat, ctx, err);
    result_of(*state, res);
    if (rc == 0)
        dp_metrics_rows_loaded(table, (*state)->acked);
    rows_free(&rows);
    free(c.recs);
    return rc;
}

/* ------------------------------------------------------------------------- */
/* Staged files (recovery)                                                   */
/* ------------------------------------------------------------------------- */

typedef struct container {
    char *codec;
    char *schema; /* header schema text */
    unsigned char sync[16];
    unsigned char **blocks; /* decompressed blocks, owned */
    size_t *block_len;
    int64_t *block_count;
    size_t nblocks;
} container_t;

static void container_free(container_t *c)
{
    for (size_t i = 0; i < c->nblocks; i++)
        free(c->blocks[i]);
    free(c->blocks);
    free(c->block_len);
    free(c->block_count);
    free(c->codec);
    free(c->schema);
}

static int read_long_at(const unsigned char *p, size_t len, size_t *at, int64_t *v)
{
    size_t used = 0;

    if (*at > len || dp_buf_read_long(p + *at, len - *at, v, &used, NULL) < 0)
        return -1;
    *at += used;
    return 0;
}

/* Decompresses one block's payload into new memory. */
static unsigned char *inflate_block(const char *codec, const unsigned char *p, size_t n,
                                    size_t *out_len, dp_err_t *err)
{
    unsigned char *out;

    if (!codec || strcmp(codec, "null") == 0) {
        out = dp_malloc(n ? n : 1);
        memcpy(out, p, n);
        *out_len = n;
        return out;
    }
    if (strcmp(codec, "snappy") == 0) {
        size_t raw = 0;
        uint32_t crc;

        if (n < 4 || snappy_uncompressed_length((const char *)p, n - 4, &raw) != SNAPPY_OK ||
            raw > BLOCK_MAX) {
            dp_err_set(err, DP_EINVAL, 0, "staged file: bad snappy block");
            return NULL;
        }
        out = dp_malloc(raw ? raw : 1);
        if (snappy_uncompress((const char *)p, n - 4, (char *)out, &raw) != SNAPPY_OK) {
            free(out);
            dp_err_set(err, DP_EINVAL, 0, "staged file: bad snappy block");
            return NULL;
        }
        crc = (uint32_t)p[n - 4] << 24 | (uint32_t)p[n - 3] << 16 | (uint32_t)p[n - 2] << 8 |
              p[n - 1];
        if ((uint32_t)libdeflate_crc32(0, out, raw) != crc) {
            free(out);
            dp_err_set(err, DP_EINVAL, 0, "staged file: snappy block CRC mismatch");
            return NULL;
        }
        *out_len = raw;
        return out;
    }
    if (strcmp(codec, "deflate") == 0) {
        struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
        size_t cap = n * 4 + 1024, got = 0;
        enum libdeflate_result r = LIBDEFLATE_INSUFFICIENT_SPACE;

        out = NULL;
        while (d && r == LIBDEFLATE_INSUFFICIENT_SPACE && cap <= BLOCK_MAX) {
            out = dp_realloc(out, cap);
            r = libdeflate_deflate_decompress(d, p, n, out, cap, &got);
            cap *= 2;
        }
        if (d)
            libdeflate_free_decompressor(d);
        if (r != LIBDEFLATE_SUCCESS) {
            free(out);
            dp_err_set(err, DP_EINVAL, 0, "staged file: bad deflate block");
            return NULL;
        }
        *out_len = got;
        return out;
    }
    dp_err_set(err, DP_EINVAL, 0, "staged file: codec '%.20s' unknown", codec);
    return NULL;
}

/* Parses an Avro object container file (Avro 1.11, "Object Container Files"). */
static int container_parse(const unsigned char *p, size_t len, container_t *c, dp_err_t *err)
{
    size_t at = 4;
    int64_t n, size;

    memset(c, 0, sizeof(*c));
    if (len < 4 || memcmp(p, "Obj\x01", 4) != 0)
        return dp_err_set(err, DP_EINVAL, 0, "staged file: not an Avro container");
    for (;;) {
        if (read_long_at(p, len, &at, &n) < 0)
            return dp_err_set(err, DP_EINVAL, 0, "staged file: truncated header");
        if (n == 0)
            break;
        if (n < 0) {
            n = -n;
            if (read_long_at(p, len, &at, &size) < 0)
                return dp_err_set(err, DP_EINVAL, 0, "staged file: truncated header");
        }
        for (int64_t i = 0; i < n; i++) {
            int64_t kl, vl;
            size_t k0, v0;

            if (read_long_at(p, len, &at, &kl) < 0 || kl < 0 || (size_t)kl > len - at)
                return dp_err_set(err, DP_EINVAL, 0, "staged file: bad header key");
            k0 = at;
            at += (size_t)kl;
            if (read_long_at(p, len, &at, &vl) < 0 || vl < 0 || (size_t)vl > len - at)
                return dp_err_set(err, DP_EINVAL, 0, "staged file: bad header value");
            v0 = at;
            at += (size_t)vl;
            if (kl == 10 && memcmp(p + k0, "avro.codec", 10) == 0)
                c->codec = dp_strndup((const char *)p + v0, (size_t)vl);
            else if (kl == 11 && memcmp(p + k0, "avro.schema", 11) == 0)
                c->schema = dp_strndup((const char *)p + v0, (size_t)vl);
        }
    }
    if (!c->schema || len - at < 16)
        return dp_err_set(err, DP_EINVAL, 0, "staged file: header without a schema or sync");
    memcpy(c->sync, p + at, 16);
    at += 16;
    while (at < len) {
        int64_t count, bytes;
        unsigned char *raw;
        size_t raw_len = 0;

        if (read_long_at(p, len, &at, &count) < 0 || read_long_at(p, len, &at, &bytes) < 0 ||
            count < 0 || bytes < 0 || (size_t)bytes > len - at || len - at - (size_t)bytes < 16)
            return dp_err_set(err, DP_EINVAL, 0, "staged file: bad block header");
        if (memcmp(p + at + bytes, c->sync, 16) != 0)
            return dp_err_set(err, DP_EINVAL, 0, "staged file: sync marker mismatch");
        if (!(raw = inflate_block(c->codec, p + at, (size_t)bytes, &raw_len, err)))
            return DP_EINVAL;
        c->blocks = dp_realloc(c->blocks, (c->nblocks + 1) * sizeof(*c->blocks));
        c->block_len = dp_realloc(c->block_len, (c->nblocks + 1) * sizeof(*c->block_len));
        c->block_count = dp_realloc(c->block_count, (c->nblocks + 1) * sizeof(*c->block_count));
        c->blocks[c->nblocks] = raw;
        c->block_len[c->nblocks] = raw_len;
        c->block_count[c->nblocks] = count;
        c->nblocks++;
        at += (size_t)bytes + 16;
    }
    return 0;
}

/* Splits the records of c into body and lineage with the file's own schema
 * (its fields up to _kafka_topic are the body). */
static int container_records(const container_t *c, const dp_schema_t *fs, uint32_t ncanon,
                             collect_t *out, dp_err_t *err)
{
    const dp_schema_node_t *root = &fs->nodes[0];

    for (size_t b = 0; b < c->nblocks; b++) {
        dp_avro_cursor_t cur;
        dp_reject_t rej;

        dp_avro_cursor_init(&cur, fs, c->blocks[b], c->block_len[b], NULL, &rej);
        for (int64_t r = 0; r < c->block_count[b]; r++) {
            const uint8_t *start = cur.p, *mid = cur.p;
            dp_avro_value_t v;

            for (uint32_t i = 0; i < root->n; i++) {
                if (i == ncanon)
                    mid = cur.p;
                if (dp_avro_read_value(&cur, dp_schema_field(fs, 0, i)->node, &v) < 0)
                    return dp_err_set(err, DP_EINVAL, 0,
                                      "staged file: record %lld of block "
                                      "%zu: %s",
                                      (long long)r, b, rej.reason);
            }
            if (out->n == out->cap) {
                out->cap = out->cap ? 2 * out->cap : 1024;
                out->recs = dp_realloc(out->recs, out->cap * sizeof(*out->recs));
            }
            out->recs[out->n++] =
                (zrec_t){start, mid, (size_t)(mid - start), (size_t)(cur.p - mid)};
        }
        if (cur.p != cur.end)
            return dp_err_set(err, DP_EINVAL, 0,
                              "staged file: bytes after the records of "
                              "block %zu",
                              b);
    }
    return 0;
}

int dp_sink_zb_load_file(dp_sink_zb_t *s, dp_dbx_client_t *client, const char *table,
                         const char *path, const char *worker_id, dp_buf_t *rejects,
                         dp_sink_zb_result_t *res, void (*beat)(void *), void *ctx, dp_err_t *err)
{
    char *data = NULL;
    size_t len = 0;
    int exists = 0, rc;
    container_t c;
    collect_t recs = {NULL, 0, 0};
    dp_sink_zb_t fs = *s; /* the file's own schema, same client and limits */
    dp_sink_zb_table_t *t = NULL;
    rows_t rows = {{0}, NULL};
    int lin;

    memset(res, 0, sizeof(*res));
    memset(&c, 0, sizeof(c));
    fs.rec = NULL;
    if ((rc = dp_dbx_files_download(client, path, &data, &len, &exists, err)) < 0)
        return rc;
    if (!exists) {
        return dp_err_set(err, DP_ENOTFOUND, 0,
                          "zerobus: staged file %s is gone while its "
                          "manifest is pending (never regenerated: docs/DELIVERY.md)",
                          path);
    }
    if ((rc = container_parse((const unsigned char *)data, len, &c, err)) < 0)
        goto out;
    if (!(fs.rec = dp_schema_parse(c.schema, strlen(c.schema), err)) ||
        (lin = dp_schema_field_index(fs.rec, 0, FIRST_LINEAGE)) < 0) {
        rc = fs.rec ? dp_err_set(err, DP_EINVAL, 0, "staged file %s has no lineage", path)
                    : DP_EINVAL;
        goto out;
    }
    fs.ncanon = (uint32_t)lin;
    if ((rc = container_records(&c, fs.rec, fs.ncanon, &recs, err)) < 0)
        goto out;
    t = table_new(recs.n);
    if ((rc = convert(&fs, recs.recs, recs.n, &rows, err)) == 0)
        rc = send_rows(&fs, client, table, recs.recs, &rows, t, worker_id, beat, ctx, err);
    result_of(t, res);
    if (rc == 0 && t->nrejects > 0 &&
        dp_buf_append(rejects, dp_buf_data(&t->rejects), dp_buf_len(&t->rejects), err) < 0)
        rc = DP_ETOOBIG;
    if (rc == 0)
        dp_metrics_rows_loaded(table, t->acked);
out:
    rows_free(&rows);
    dp_sink_zb_table_free(t);
    free(recs.recs);
    container_free(&c);
    dp_schema_destroy(fs.rec);
    free(data);
    if (rc < 0)
        dp_err_prefix(err, "%s: ", path);
    return rc;
}
