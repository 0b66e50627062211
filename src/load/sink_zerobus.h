/*
 * sink_zerobus: the "zerobus" sink (config sink: zerobus). A flush's event
 * rows go to their tables through Zerobus Ingest inserts (dbx/zerobus.h)
 * instead of COPY INTO; everything else of the flush (staged file,
 * manifest, claims, ledger, sync_runs, event_errors) stays on the warehouse
 * path (loader_load.c, docs/DELIVERY.md "The two sinks").
 *
 * Tables. Zerobus writes only tables that exist, with a fixed schema and no
 * DECIMAL type. For the flush's table T (evt_<name>, the shared or the
 * single table) the sink writes the raw table "raw_" + T, whose columns are
 * the staged schema's (canonical + lineage + _loaded_at) with every decimal
 * carried as STRING (the canonical decimal text, scale digits after the
 * point), and keeps a view named T over it:
 *
 *   CREATE VIEW T AS SELECT <columns, each decimal column
 *       CAST(`value` AS DECIMAL(18,4)) AS `value`> FROM raw_T
 *     QUALIFY ROW_NUMBER() OVER (PARTITION BY _incarnation, _kafka_topic,
 *       _kafka_partition, _kafka_offset ORDER BY _loaded_at) = 1
 *
 * so readers query T as with the warehouse sink: same name, same types, one
 * row per Kafka record although Zerobus may store a row more than once (a
 * retried insert, a flush finished again by the next owner). The cast of
 * the decimal text back to DECIMAL(18,4) is exact for every value of the
 * type, up to +-99999999999999.9999.
 *
 * Rows. Each staged record (body + lineage, flush.h) becomes one JSON
 * object, converted on the loader's lanes: strings as JSON strings,
 * int/long as integers, timestamps as integer microseconds since the epoch,
 * dates as days, decimals as their text, bytes as base64, records and maps
 * as objects, arrays as arrays; top-level nulls are left out (a missing
 * nullable column is NULL); _loaded_at is the time the worker converted the
 * row (microseconds). Rows are cut into inserts of at most
 * databricks.zerobus_max_records_per_request rows and
 * databricks.zerobus_max_request_bytes bytes (a larger single row goes
 * alone).
 *
 * A 400 (or 413) refuses a whole insert: its rows are split in halves and sent again
 * until each refused row is alone; those rows become event_errors records
 * (LOAD_REJECTED, Zerobus's message, the row's body and lineage), the others
 * are inserted. Any other refusal (403, 404, another 4xx) keeps every row:
 * the flush is retried. The per-table progress survives a failed attempt (the
 * loader retries the flush): acknowledged rows are not sent again. At most 32
 * insert bodies of a table are built at a time.
 *
 * Thread: a dp_sink_zb_t is shared by the loader's lanes and the recovery
 * thread (all functions are thread-safe); a dp_sink_zb_table_t belongs to
 * one job at a time.
 */
#ifndef DP_SINK_ZEROBUS_H
#define DP_SINK_ZEROBUS_H

#include "batch/flush.h"
#include "config/config.h"
#include "core/buf.h"
#include "core/err.h"
#include "dbx/http.h"
#include "route/tablename.h"

#include <stddef.h>
#include <stdint.h>

typedef struct dp_sink_zb dp_sink_zb_t;

/* Prefix of the raw table of each table the sink writes. */
#define DP_SINK_ZB_RAW_PREFIX "raw_"
/* Room for a raw table name with its NUL. */
#define DP_SINK_ZB_RAW_SIZE (DP_TABLENAME_TABLE_SIZE + sizeof(DP_SINK_ZB_RAW_PREFIX) - 1)

/* Starts the sink: the Zerobus client of cfg's zerobus settings and the
 * compiled staged schema (staged_schema: dp_avrofile_staged_schema()'s
 * text, copied). Returns new (dp_sink_zb_destroy) or NULL with err. */
dp_sink_zb_t *dp_sink_zb_new(const dp_config_t *cfg, const char *staged_schema, dp_err_t *err);
void dp_sink_zb_destroy(dp_sink_zb_t *s);

/* "raw_" + table into out (DP_SINK_ZB_RAW_SIZE). Returns 0 or DP_EINVAL. */
int dp_sink_zb_raw_name(const char *table, char *out, size_t outlen, dp_err_t *err);

/* The DDL of table's pair, for a staged schema (pure; `deltaport ddl` and
 * the sink use the same text): CREATE TABLE IF NOT EXISTS of the raw
 * table, and CREATE VIEW IF NOT EXISTS of the view. catalog and schema are
 * configuration identifiers. Return new text (free) or NULL with err. */
char *dp_sink_zb_table_sql(const char *catalog, const char *schema, const char *table,
                           const char *staged_schema, dp_err_t *err);
char *dp_sink_zb_view_sql(const char *catalog, const char *schema, const char *table,
                          const char *staged_schema, dp_err_t *err);

/* Creates table's raw table and view (two statements, on the caller's
 * client). A principal that may not create tables gets on when the raw
 * table exists already (`deltaport ddl` made it). Returns 0 or a DP_E*
 * code. */
int dp_sink_zb_prepare(dp_sink_zb_t *s, dp_dbx_client_t *client, const char *table, dp_err_t *err);

/* Progress of one table of one flush across attempts; owned by the
 * loader's file record (dp_sink_zb_table_free). */
typedef struct dp_sink_zb_table dp_sink_zb_table_t;
void dp_sink_zb_table_free(dp_sink_zb_table_t *t);

/* What a load did. */
typedef struct dp_sink_zb_result {
    int64_t rows;     /* records of the table */
    int64_t acked;    /* rows acknowledged (durable in Zerobus) */
    int64_t rejected; /* rows Zerobus refused (now event_errors records) */
    int64_t inserts;  /* insert requests sent, splits included */
} dp_sink_zb_result_t;

/* Inserts the rows of table ti of flush (the job's first attempt, or the
 * rows still pending in *state from an earlier one; *state is made on the
 * first call). Rows refused are kept in *state as event_errors records
 * (dp_sink_zb_rejects). beat(ctx) is called while it waits. Returns 0 once
 * every row is acknowledged or refused, DP_ENOTFOUND when the raw table is
 * gone (the caller creates it again), or another DP_E* code (retry later:
 * what was acknowledged is kept). */
int dp_sink_zb_load_flush_table(dp_sink_zb_t *s, dp_dbx_client_t *client, const dp_flush_t *flush,
                                size_t ti, const char *worker_id, dp_sink_zb_table_t **state,
                                dp_sink_zb_result_t *res, void (*beat)(void *), void *ctx,
                                dp_err_t *err);

/* The event_errors records (encoded body + lineage, sysrows.h) of the rows
 * refused so far, and their count; borrowed from t (NULL t: none). */
const dp_buf_t *dp_sink_zb_rejects(const dp_sink_zb_table_t *t, int64_t *n);

/* Recovery: downloads the staged container file at path (table's) and
 * inserts every row of it, as a flush finished by another owner (the rows
 * that its first owner inserted are sent again; the view hides them).
 * Refused rows are appended to rejects (event_errors records) and counted
 * in res->rejected. Returns 0 or a DP_E* code as above. */
int dp_sink_zb_load_file(dp_sink_zb_t *s, dp_dbx_client_t *client, const char *table,
                         const char *path, const char *worker_id, dp_buf_t *rejects,
                         dp_sink_zb_result_t *res, void (*beat)(void *), void *ctx, dp_err_t *err);

/* Converts one staged record (body of the canonical record, then the
 * lineage fields) to its JSON row, appended to out; loaded_at_us is the
 * _loaded_at value. Returns 0, DP_EINVAL (malformed record) or DP_ETOOBIG.
 * Thread: any (unit-tested). */
int dp_sink_zb_row_json(const dp_sink_zb_t *s, const void *body, size_t body_len,
                        const void *lineage, size_t lineage_len, int64_t loaded_at_us,
                        dp_buf_t *out, dp_err_t *err);

/* The decimal text of an Avro decimal (big-endian two's complement unscaled
 * value of len <= 16 bytes) with scale digits after the point:
 * "-99999999999999.9999". Returns 0 or DP_EINVAL. Pure (unit-tested). */
int dp_sink_zb_decimal_text(const void *unscaled, size_t len, int scale, char *out, size_t outlen,
                            dp_err_t *err);

/* The Zerobus client (tests). */
struct dp_zerobus;
struct dp_zerobus *dp_sink_zb_client(dp_sink_zb_t *s);

#endif
