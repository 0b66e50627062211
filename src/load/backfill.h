/*
 * backfill: when an event name earns its own table (routing.mode threshold),
 * its rows move from the shared table into that table, once per name
 * (routing.backfill_on_promotion; docs/DELIVERY.md, "Backfill on promotion").
 *
 * Two statements, each idempotent, so a crash between them (or during
 * either) and a rerun give the same result:
 *
 *   1. copy the name's rows of the shared table into its own table, merged
 *      on the row's position (_incarnation, _kafka_topic, _kafka_partition,
 *      _kafka_offset): the incarnation is part of it because a recreated
 *      topic reuses offsets. A table in merge_event_id mode is merged on
 *      event_id instead (the first row by position of each event_id), so
 *      that the move adds no event_id the table holds. The moved rows get
 *      the move's time as _loaded_at, so that a reader of "rows loaded since
 *      T" sees them;
 *   2. delete from the shared table the name's rows that the own table now
 *      holds (same key), as a MERGE ... WHEN MATCHED THEN DELETE.
 *
 * When: a name is moved once the table has existed for settle =
 * 3 x routing.stats_refresh_s + flush.max_age_ms, by which time every worker
 * routes the name to its own table and has loaded the flushes it cut before
 * (a worker learns of the table at its next refresh of the counts).
 *
 * Who: one worker per name. The `backfills` system table holds one row per
 * (event_name, shared_table, epoch): a worker claims the next epoch with an
 * insert-if-absent MERGE and reads it back (the first writer wins, as for
 * partition claims), runs the two steps, then marks its row done. A claim
 * that is still running after BACKFILL_LEASE_S (a dead worker) is taken over
 * at the next epoch; as the steps are idempotent, even two runs at once
 * would give the same result. Each completed move is a sync_runs row of kind
 * 'backfill' (rows = rows moved, inserted_rows = rows inserted into the own
 * table, duplicates = shared rows deleted that were already there).
 *
 * Cost: once per process, 2 statements (the backfills table, IF NOT EXISTS,
 * and the names already moved); one SHOW TABLES per routing.stats_refresh_s;
 * per name moved, once: 7 statements (read the claim, claim, read back,
 * move, delete, done, sync_runs) and one Files upload.
 *
 * Thread: its own, with its own client; dp_backfill_new/destroy from the
 * worker's thread.
 */
#ifndef DP_BACKFILL_H
#define DP_BACKFILL_H

#include "config/config.h"
#include "core/err.h"
#include "load/dbxconn.h"
#include "load/loadops.h"
#include "route/tablename.h"

#include <stddef.h>

/* A claim running longer than this is taken over (its worker died). */
#define DP_BACKFILL_LEASE_S 600

typedef struct dp_backfill dp_backfill_t;

typedef struct dp_backfill_opts {
    const dp_config_t *cfg;   /* borrowed for the object's life */
    const char *incarnation;  /* copied */
    const char *worker_id;    /* copied */
    dp_loadops_t *ops;        /* borrowed: staged schema, sync_runs */
    const dp_dbxconn_t *conn; /* borrowed: the credential */
} dp_backfill_opts_t;

/* Starts the thread. Returns new (dp_backfill_destroy) or NULL with err. */
dp_backfill_t *dp_backfill_new(const dp_backfill_opts_t *opts, dp_err_t *err);

/* Stops the thread (a move in progress finishes its statement first; the
 * next worker reruns an unfinished one) and frees everything. NULL: no-op. */
void dp_backfill_destroy(dp_backfill_t *bf);

/* Names moved by this process. */
unsigned long dp_backfill_moved(const dp_backfill_t *bf);

/* The SQL of the two steps for name's rows (a :name parameter) from shared
 * into own (qualified names from dp_tablename_qualified()); columns is the
 * backquoted column list of the staged rows (without _loaded_at) and
 * merge_event_id the own table's load mode. Return new text (caller frees).
 * Pure; exposed for the unit tests. */
char *dp_backfill_move_sql(const char *own, const char *shared, const char *columns,
                           int merge_event_id);
char *dp_backfill_delete_sql(const char *own, const char *shared, int merge_event_id);

#endif
