/*
 * load_merge: the merge_event_id load mode (load.mode, load.table_modes;
 * docs/DELIVERY.md, "Load modes").
 *
 * In copy mode a staged file is loaded by COPY INTO, whose load history makes
 * every Kafka record land once. Two records with the same event_id (a
 * producer's retry, a mobile client's resend) are two records, and both land.
 * In merge_event_id mode the same staged file is merged on event_id instead:
 *
 *   MERGE WITH SCHEMA EVOLUTION INTO <table> AS t
 *   USING (SELECT <columns>, current_timestamp() AS _loaded_at
 *          FROM read_files('<file>', format => 'avro')
 *          QUALIFY ROW_NUMBER() OVER (PARTITION BY event_id
 *                  ORDER BY _kafka_topic, _kafka_partition, _kafka_offset) = 1) AS s
 *   ON t.event_id = s.event_id
 *   WHEN NOT MATCHED THEN INSERT *
 *
 * - the source keeps, of the rows of one file that share an event_id, the
 *   first by Kafka position (topic, partition, offset);
 * - a row whose event_id the table already holds is not inserted (an
 *   insert-only merge: no row of the table is rewritten);
 * - the same file merged again (a retry, a crash between the load and the
 *   commit, a new owner finishing the manifest) inserts nothing: a replayed
 *   flush stays idempotent without COPY INTO's load history;
 * - the columns are named (the staged rows' own: the canonical fields and
 *   the lineage), not `*`: read_files may add a _rescued_data column when it
 *   infers a schema, which must not reach the table;
 * - WITH SCHEMA EVOLUTION adds a column the canonical schema gained, as
 *   COPY INTO's mergeSchema does (without it, MERGE drops a source column the
 *   table lacks).
 * One statement per file, as COPY INTO: a flush still costs T + 3 statements.
 *
 * The rows left out are "duplicates": num_inserted_rows of the MERGE against
 * the file's rows. They get no event_errors row; they are counted in
 * sync_runs (column duplicates) and deltaport_duplicates_merged_total.
 *
 * Thread: any (pure functions, and statements on the caller's client).
 */
#ifndef DP_LOAD_MERGE_H
#define DP_LOAD_MERGE_H

#include "config/config.h"
#include "core/err.h"

/* 1 when table is loaded in merge_event_id mode: an event table (never a
 * system table) whose load.table_modes entry, else load.mode, says so. */
int dp_load_merge_mode(const dp_config_t *cfg, const char *table);

/* The MERGE above for one staged file at path (a /Volumes/... path of
 * [A-Za-z0-9_./-] only; anything else is refused, so no quote can reach the
 * text) into qualified (from dp_tablename_qualified()); columns from
 * dp_load_merge_columns(). Returns new text (caller frees) or NULL with err
 * (DP_EINVAL). */
char *dp_load_merge_sql(const char *qualified, const char *path, const char *columns,
                        dp_err_t *err);

/* The backquoted field list of an Avro record schema ("`a`, `b`, ..."),
 * without a last _loaded_at field: the staged rows' columns. Each name must
 * be an identifier. Returns new text (caller frees) or NULL with err. */
char *dp_load_merge_columns(const char *schema_json, dp_err_t *err);

#endif
