/*
 * cmd_replay: `deltaport replay --config F --from TIME [--to TIME]
 * [--topic T] [--names a,b] [--dry-run]`, which loads again what the pool
 * loaded in a time window (docs/DELIVERY.md, "Replay of a time window").
 *
 *   1. The window's offsets come from the ledger: every kind 'range' row of
 *      the pool's incarnation carries its records' smallest and largest
 *      Kafka timestamp (ts_min, ts_max), so the ranges whose [ts_min, ts_max]
 *      meets the window give, per partition, the first and last offset to
 *      read. Kafka's own ListOffsets-by-time is asked only as a cross-check
 *      (the embedded Kafka answers -1, "no record after T", for everything).
 *      Only what the ledger says was loaded is read: nothing above a
 *      partition's ledger, and a --to past the newest loaded record is
 *      refused (replaying what the pool has yet to load would make a
 *      copy-mode table load it twice).
 *   2. A window that retention has cut into is refused with the earliest
 *      time from which every record is still in the log.
 *   3. Its own consumer (assign(), outside the group) reads those offsets; a
 *      record whose Kafka timestamp is in [from, to] (and whose name is in
 *      --names) is decoded as the worker decodes it.
 *   4. Each record goes to the table that holds its rows today, found by
 *      lineage (per table, name and partition, the offsets its rows span),
 *      not to the table routing would choose now; a name no table holds
 *      goes where routing sends it.
 *   5. The rows are staged per table and merged on event_id (load_merge.h)
 *      whatever the table's load mode, so a replay never adds an event_id a
 *      table holds: run twice, it changes nothing.
 *   6. It writes no manifest, ledger row or claim and commits no offset; one
 *      sync_runs row of kind 'replay' records it.
 * A progress bar goes to stderr (a line every 10 s when stderr is not a
 * terminal); the summary to stdout.
 */
#ifndef DP_CMD_REPLAY_H
#define DP_CMD_REPLAY_H

#include <stdint.h>

/* Returns the process exit status: 0, 1 (failure, message on stderr) or 2
 * (usage). */
int dp_cmd_replay(int argc, char **argv);

/* Parses a --from/--to TIME: an RFC 3339 date-time with Z or an offset
 * ("2026-05-01T12:00:00Z"), a date ("2026-05-01", midnight UTC), or a
 * duration ago ("90s", "15m", "24h", "7d") counted from now_us. *us receives
 * microseconds since the epoch. Returns 0 or -1. Pure. */
int dp_cmd_replay_time(const char *text, int64_t now_us, int64_t *us);

#endif
