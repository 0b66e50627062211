/*
 * claims: who owns a partition, recorded in Databricks, so that a worker
 * that stalled past its session timeout (a "zombie") cannot load a flush for
 * partitions that moved (hole H1 of docs/DELIVERY.md), and the ledger of what
 * was loaded (H3).
 *
 *   <c>.<s>.claims   one row per (incarnation, topic, kpartition, epoch):
 *                    member, claimed_at_us, floor_offset, seen.
 *   <c>.<s>.ledger   what each flush loaded, staged and loaded by COPY INTO
 *                    with the flush's bookkeeping: one row of kind 'range'
 *                    per partition range (first_offset, last_offset, epoch,
 *                    last_fp: the fingerprint of the message at last_offset,
 *                    ts_min/ts_max: its records' timestamps) and one row of
 *                    kind 'count' per event name (event_name, stat_day,
 *                    events: the counts behind the routing threshold).
 *   <c>.<s>.incarnations  one row per incarnation of a consumer group.
 *
 * The handshake. A worker that is assigned partitions first *takes* a claim:
 * one new row per partition with an epoch above every epoch of the topic
 * (one MERGE, insert-if-absent, for the whole assignment of a topic; the rows
 * are read back to learn which partitions this worker won, and a lost race is
 * retried with a higher epoch). Then it reads the pending manifests and
 * *publishes*, again in one MERGE for the topic, what it saw: floor_offset
 * (where the partition was loaded through: the larger of the committed
 * offset and the ledger, plus one) and seen (the keys of the pending
 * manifests it read that cover the partition). A flusher writes its
 * manifest, which carries the epoch it held for each partition, and then
 * *judges* it:
 *
 *   a manifest M is VOID when some partition r of M has a published claim
 *   newer than M's epoch for r that did not see M (M's key is not in seen)
 *   and whose floor is not past M's range of r. Such a claimant re-cuts
 *   those offsets, so nobody may load M. Otherwise M is VALID: every newer
 *   claimant saw it and finishes it, or had loaded past it.
 *
 * A newer claim that is not published yet makes the verdict UNDECIDED (ask
 * again shortly). One that is not published but is itself superseded by a
 * later claim is *abandoned* (its seen set to "!", compare-and-set against
 * its publication, so exactly one of the two wins): its owner never cut
 * anything, and if it tries to publish later it learns it lost. Every reader
 * (the flusher itself and every worker finishing pending manifests) applies
 * the same rule, so a verdict never changes once given.
 *
 * Round trips: per topic of an assignment, a take costs 3 statements (the
 * highest epoch, the MERGE, the read-back) and a publication 2, whatever the
 * number of partitions; a judgement costs 1 statement per topic of the
 * manifests judged together.
 *
 * Values travel as statement parameters (a set of rows as one JSON string,
 * expanded by inline(from_json(...))); the numbers are formatted by us.
 * Thread: the caller's, with a dbx client of that thread.
 */
#ifndef DP_CLAIMS_H
#define DP_CLAIMS_H

#include "config/config.h"
#include "core/buf.h"
#include "core/err.h"
#include "dbx/http.h"
#include "route/tablename.h"
#include "stage/manifest.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
    DP_CLAIMS_VALID = 0,
    DP_CLAIMS_VOID = 1,
    DP_CLAIMS_UNDECIDED = 2,
} dp_claims_verdict_t;

/* Avro schemas of the claims, ledger and incarnations tables (JSON text,
 * static). */
extern const char dp_claims_schema[];
extern const char dp_claims_ledger_schema[];
extern const char dp_claims_incarnations_schema[];

/* Creates the schema (when configured) and the incarnations table, IF NOT
 * EXISTS: what must exist before the pool's incarnation is read (the other
 * system tables are made by loadops, which needs the incarnation). Returns 0
 * or a DP_E* code (DP_EINVAL: a bad identifier in the configuration). */
int dp_claims_setup_incarnations(dp_dbx_client_t *client, const dp_config_t *cfg, dp_err_t *err);

/* Takes a claim on parts[0..n) of topic for member. epochs[i] receives the
 * epoch won for parts[i] (the same for all unless a race was lost for some).
 * Returns 0 or a DP_E* code. */
int dp_claims_take(dp_dbx_client_t *client, const dp_config_t *cfg, const char *incarnation,
                   const char *topic, const int32_t *parts, size_t n, const char *member,
                   int64_t *epochs, dp_err_t *err);

/* One partition's publication: its claim (partition, epoch), the floor and
 * the seen list (comma-separated manifest keys, "" for none; borrowed). won
 * is set by dp_claims_publish: 1, or 0 when that claim was abandoned by a
 * reader because a later claim exists (the partition is somebody else's). */
typedef struct dp_claims_pub {
    int32_t partition;
    int64_t epoch;
    int64_t floor;
    const char *seen;
    int won;
} dp_claims_pub_t;

/* Publishes pubs[0..n) of topic in one statement and reads them back.
 * Returns 0 or a DP_E* code. */
int dp_claims_publish(dp_dbx_client_t *client, const dp_config_t *cfg, const char *incarnation,
                      const char *topic, dp_claims_pub_t *pubs, size_t n, dp_err_t *err);

/* Reads the ledger of a topic in one statement: for parts[i], through[i]
 * receives the last offset loaded in this incarnation (-1 when none) and
 * fp[i] the fingerprint of the message there (-1 when unknown). Returns 0 or
 * a DP_E* code. */
int dp_claims_ledger(dp_dbx_client_t *client, const dp_config_t *cfg, const char *incarnation,
                     const char *topic, const int32_t *parts, size_t n, int64_t *through,
                     int64_t *fp, dp_err_t *err);

/* Judges manifests ms[0..n) (see above) with one statement per topic they
 * cover: verdicts[i] receives the verdict of ms[i]; why (may be NULL, an
 * array of n buffers of whylen bytes) receives, for VOID and UNDECIDED, the
 * partition and claim that decided. Returns 0 or a DP_E* code. */
int dp_claims_judge_many(dp_dbx_client_t *client, const dp_config_t *cfg,
                         const dp_manifest_t *const *ms, size_t n, dp_claims_verdict_t *verdicts,
                         char **why, size_t whylen, dp_err_t *err);

/* dp_claims_judge_many() for one manifest. */
int dp_claims_judge(dp_dbx_client_t *client, const dp_config_t *cfg, const dp_manifest_t *m,
                    dp_claims_verdict_t *verdict, char *why, size_t whylen, dp_err_t *err);

/* The pool's incarnation for consumer group `group`: the newest row of the
 * incarnations table (group_id, seq, incarnation, created_at_us). With mint,
 * or when the group has none, a new one (a random UUID) is added first; of
 * two workers minting at once, the first insert wins and both read it.
 * out receives it (DP_CLAIMS_INCARNATION_SIZE bytes). Returns 0 or a DP_E*
 * code. Every staged name, manifest, claim, ledger row and commit of the
 * pool carries it: a deleted and recreated topic, after `deltaport
 * incarnation new`, never reuses an old name or an old offset. */
#define DP_CLAIMS_INCARNATION_SIZE 40
int dp_claims_incarnation(dp_dbx_client_t *client, const dp_config_t *cfg, const char *group,
                          int mint, char out[DP_CLAIMS_INCARNATION_SIZE], dp_err_t *err);

/* The Delta table id of table (DESCRIBE DETAIL) into out, or "" when the
 * table does not exist. Manifests record it per file, and a replay refuses to
 * load a file into a table that was dropped and recreated since (its load
 * history is gone, so the file would load a second time: H5). Returns 0 or a
 * DP_E* code. */
#define DP_CLAIMS_TABLE_ID_SIZE 64
int dp_claims_table_id(dp_dbx_client_t *client, const dp_config_t *cfg, const char *table,
                       char out[DP_CLAIMS_TABLE_ID_SIZE], dp_err_t *err);

/* Appends the ledger rows of m to out as Avro record bodies of
 * dp_claims_ledger_schema: one 'range' row per range and one 'count' row per
 * event count of m. Returns the number of rows, or DP_ETOOBIG. */
int dp_claims_ledger_rows(dp_buf_t *out, const dp_manifest_t *m, dp_err_t *err);

/* The SQL that reads the shared event counts (kind 'count' rows of the
 * ledger) since :since (a DATE parameter), grouped by event name, for
 * dp_loader's refresh; qualified is the ledger's qualified name. Writes into
 * out (outlen bytes). */
void dp_claims_counts_sql(const char *qualified, char *out, size_t outlen);

#endif
