/*
 * tablename: the one strict mapping from an event name to a table
 * identifier, and the checks every identifier passes before it reaches SQL.
 *
 * Rules (docs/STAGING.md, "Table names"):
 * - An event name is accepted only when it matches ^[a-z][a-z0-9_]*$ and is
 *   1..DP_TABLENAME_EVENT_MAX bytes long. Its table is "evt_" + name.
 *   Anything else is an error for event_errors; the name is never spliced
 *   into SQL, and error messages describe the offending byte in hex rather
 *   than echo untrusted text.
 * - The mapping is injective (a fixed prefix followed by the name itself), so
 *   two event names never share a table, and no event name reaches a system
 *   table (sync_runs, event_errors, event_stats, claims, incarnations, ledger): none
 *   of them starts with "evt_".
 * - Identifiers from configuration (catalog, schema, volume) match
 *   ^[a-z_][a-z0-9_]*$ and are 1..DP_TABLENAME_IDENT_MAX bytes (Unity
 *   Catalog's limit is 255 characters). Lower case only: Unity Catalog folds
 *   names to lower case, so "Evt_A" and "evt_a" would be one object.
 * - Table names have one limit everywhere (configuration, router, flush):
 *   DP_TABLENAME_TABLE_MAX bytes, the longest event name plus the prefix, so
 *   the shared and single tables of the configuration obey the same bound as
 *   every "evt_<name>".
 * - SQL sees names only as `catalog`.`schema`.`table` built from checked
 *   identifiers; the allowed characters contain no backquote, so the quoting
 *   cannot be broken out of.
 *
 * Thread: every function is pure and may be called from any thread.
 */
#ifndef DP_TABLENAME_H
#define DP_TABLENAME_H

#include "core/err.h"

#include <stddef.h>

/* The system tables: the one place their names are spelled (every module
 * names them through these; dp_tablename_system_tables() lists them). */
#define DP_RUNS_TABLE         "sync_runs"
#define DP_ERRORS_TABLE       "event_errors"
#define DP_STATS_TABLE        "event_stats"
#define DP_CLAIMS_TABLE       "claims"
#define DP_INCARNATIONS_TABLE "incarnations"
#define DP_LEDGER_TABLE       "ledger"
#define DP_BACKFILLS_TABLE    "backfills"

/* Longest accepted event name, in bytes. */
#define DP_TABLENAME_EVENT_MAX 100
/* Prefix of every destination table of an event name. */
#define DP_TABLENAME_PREFIX "evt_"
/* Longest configuration identifier, in bytes. */
#define DP_TABLENAME_IDENT_MAX 255
/* Longest table name, in bytes: the prefix plus the longest event name. */
#define DP_TABLENAME_TABLE_MAX (sizeof(DP_TABLENAME_PREFIX) - 1 + DP_TABLENAME_EVENT_MAX)
/* Room for any table name (dp_tablename_for_event(), dp_tablename_check_table()),
 * with its NUL. */
#define DP_TABLENAME_TABLE_SIZE (DP_TABLENAME_TABLE_MAX + 1)
/* Room for any dp_tablename_qualified() result, with its NUL. */
#define DP_TABLENAME_QUALIFIED_SIZE (3 * (DP_TABLENAME_IDENT_MAX + 2) + 2 + 1)

/*
 * Maps an event name (len bytes at event_name, not NUL-terminated, may
 * contain any byte) to its destination table "evt_<name>", written into out
 * (outlen bytes; DP_TABLENAME_TABLE_SIZE always suffices) with a NUL.
 * Returns 0, DP_EINVAL (not a valid event name: err says why and where), or
 * DP_ETOOBIG (out too small). out is untouched on failure.
 */
int dp_tablename_for_event(const char *event_name, size_t len, char *out, size_t outlen,
                           dp_err_t *err);

/*
 * Checks a NUL-terminated identifier from configuration (catalog, schema,
 * volume or table name) against ^[a-z_][a-z0-9_]*$, 1..255 bytes.
 * Returns 0 or DP_EINVAL.
 */
int dp_tablename_check_identifier(const char *ident, dp_err_t *err);

/*
 * Checks a NUL-terminated table name: ^[a-z_][a-z0-9_]*$ of 1 to
 * DP_TABLENAME_TABLE_MAX bytes. Returns 0 or DP_EINVAL.
 */
int dp_tablename_check_table(const char *table, dp_err_t *err);

/*
 * Checks the configured shared or single table (default "evt_otherevents"):
 * a valid table name (dp_tablename_check_table()) that is not a system table.
 * Returns 0 or DP_EINVAL.
 */
int dp_tablename_check_shared(const char *table, dp_err_t *err);

/* Returns 1 when name is one of the system tables, else 0. */
int dp_tablename_is_system(const char *name);

/* NULL-terminated list of the system tables; borrowed, static. */
const char *const *dp_tablename_system_tables(void);

/*
 * Writes `catalog`.`schema`.`table` into out (outlen bytes;
 * DP_TABLENAME_QUALIFIED_SIZE always suffices) after checking all three with
 * dp_tablename_check_identifier(). Returns 0, DP_EINVAL (err names which
 * part is wrong) or DP_ETOOBIG. out is untouched on failure.
 */
int dp_tablename_qualified(const char *catalog, const char *schema, const char *table, char *out,
                           size_t outlen, dp_err_t *err);

/* Writes `catalog` into out after checking it (as above). Returns 0,
 * DP_EINVAL or DP_ETOOBIG. */
int dp_tablename_catalog_quoted(const char *catalog, char *out, size_t outlen, dp_err_t *err);

/* Writes `principal` into out for a GRANT statement shown to a user (not run
 * by deltaport): a service principal's application id or a user's email, any
 * backquote doubled as Databricks SQL escapes it. Returns 0 or DP_ETOOBIG. */
int dp_tablename_principal_quoted(const char *principal, char *out, size_t outlen, dp_err_t *err);

/* Longest column (Avro field) name, in bytes, and room for it quoted. */
#define DP_TABLENAME_COLUMN_MAX         255
#define DP_TABLENAME_COLUMN_QUOTED_SIZE (DP_TABLENAME_COLUMN_MAX + 3)

/* Writes `column` into out for a column of our own schemas (Avro field
 * names, which may hold capitals): [A-Za-z0-9_], 1..DP_TABLENAME_COLUMN_MAX
 * bytes. Returns 0, DP_EINVAL (err says why) or DP_ETOOBIG (out too small;
 * DP_TABLENAME_COLUMN_QUOTED_SIZE always suffices). out is untouched on
 * failure. */
int dp_tablename_column_quoted(const char *column, char *out, size_t outlen, dp_err_t *err);

/* Writes `catalog`.`schema` into out after checking both (as above).
 * Returns 0, DP_EINVAL or DP_ETOOBIG. */
int dp_tablename_schema_qualified(const char *catalog, const char *schema, char *out, size_t outlen,
                                  dp_err_t *err);

#endif
