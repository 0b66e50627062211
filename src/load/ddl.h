/*
 * ddl: the SQL text deltaport sends to create what it loads into.
 *
 * Only identifiers that passed src/route/tablename.h and column names and types
 * derived from deltaport's own Avro schemas reach this text; no value from
 * an event or from configuration is spliced into SQL here.
 *
 * Thread: any (pure functions).
 */
#ifndef DP_DDL_H
#define DP_DDL_H

#include "core/err.h"

#include <stddef.h>

/* Renders the column list of an Avro record schema (JSON text) as Databricks
 * column definitions: "`event_id` STRING NOT NULL, `event_time` TIMESTAMP NOT
 * NULL, `value` DECIMAL(18,4), `context` STRUCT<`ip`: STRING, ...>, ...".
 * Mapping (Spark's Avro reader, docs/DATABRICKS.md "Avro to Delta types"): string/enum
 * STRING, int INT, long BIGINT, float FLOAT, double DOUBLE, boolean BOOLEAN,
 * bytes/fixed BINARY, long+timestamp-micros/millis TIMESTAMP, int+date DATE,
 * bytes/fixed+decimal(p,s) DECIMAL(p,s), record STRUCT, map MAP<STRING,V>,
 * array ARRAY<T>, ["null",T] nullable T. Other unions are refused.
 * Returns new text (caller frees), or NULL with err filled (DP_EINVAL). */
char *dp_ddl_columns_from_avro(const char *schema_json, dp_err_t *err);

/* "CREATE TABLE IF NOT EXISTS <qualified> (<columns>)": qualified must come
 * from dp_tablename_qualified(). Returns new text or NULL (DP_EINVAL). */
char *dp_ddl_create_table(const char *qualified, const char *schema_json, dp_err_t *err);

/* "COPY INTO <qualified> FROM (SELECT *, current_timestamp() AS _loaded_at
 * FROM '<dir>/') FILEFORMAT = AVRO FILES = ('<file>') FORMAT_OPTIONS
 * ('mergeSchema' = 'true') COPY_OPTIONS ('mergeSchema' = 'true')" for one
 * staged file at path (a /Volumes/... path of [A-Za-z0-9_./-] only; anything
 * else is refused, so no quote can reach the text). The SELECT form gives
 * every row the load time as _loaded_at (staged files do not carry it,
 * avrofile.h). qualified must come from dp_tablename_qualified(). Returns new
 * text or NULL (DP_EINVAL). */
char *dp_ddl_copy_into(const char *qualified, const char *path, dp_err_t *err);

#endif
