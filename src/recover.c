/*
 * recover: completes pending manifests of newly assigned partitions (see
 * recover.h).
 */
#include "recover.h"

#include "avrofile.h"
#include "claims.h"
#include "clock.h"
#include "dbx/files.h"
#include "dbx/sql.h"
#include "dbxconn.h"
#include "ddl.h"
#include "log.h"
#include "manifest.h"
#include "mem.h"
#include "stagename.h"
#include "sysrows.h"
#include "tablename.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_PENDING 4096

struct dp_recover {
    const dp_config_t *cfg;
    char *incarnation;
    char *worker_id;
    dp_dbxconn_t conn;
    int setup_done;
};

typedef struct pending {
    int64_t first, last;
    char key[DP_STAGENAME_KEY_SIZE];
} pending_t;

typedef struct pending_list {
    pending_t *items;
    size_t n;
    dp_buf_t *seen; /* the keys listed for the current partition, comma-separated */
} pending_list_t;

dp_recover_t *dp_recover_new(const dp_config_t *cfg, const char *incarnation,
                             const char *worker_id, dp_err_t *err)
{
    dp_recover_t *r = dp_calloc(1, sizeof(*r));

    r->cfg = cfg;
    r->incarnation = dp_strdup(incarnation);
    r->worker_id = dp_strdup(worker_id);
    if (dp_dbxconn_open(&r->conn, cfg, NULL, NULL, err) < 0) {
        dp_recover_destroy(r);
        return NULL;
    }
    return r;
}

void dp_recover_destroy(dp_recover_t *r)
{
    if (!r)
        return;
    dp_dbxconn_close(&r->conn);
    free(r->incarnation);
    free(r->worker_id);
    free(r);
}

static void add_pending(void *ctx, int64_t first, int64_t last, const char *key)
{
    pending_list_t *pl = ctx;

    if (pl->seen) {
        if (dp_buf_len(pl->seen) > 0)
            dp_buf_append(pl->seen, ",", 1, NULL);
        dp_buf_append(pl->seen, key, strlen(key), NULL);
    }
    if (pl->n == MAX_PENDING)
        return;
    pl->items = dp_realloc(pl->items, (pl->n + 1) * sizeof(*pl->items));
    pl->items[pl->n].first = first;
    pl->items[pl->n].last = last;
    snprintf(pl->items[pl->n].key, DP_STAGENAME_KEY_SIZE, "%s", key);
    pl->n++;
}

static int by_first(const void *a, const void *b)
{
    const pending_t *x = a, *y = b;

    return x->first < y->first ? -1 : x->first > y->first;
}

/* COPY INTO the file's table; *inserted gets num_inserted_rows. */
static int copy_file(dp_recover_t *r, const dp_manifest_file_t *f, long long *inserted,
                     dp_err_t *err)
{
    char q[DP_TABLENAME_QUALIFIED_SIZE];
    dp_dbx_sql_opts_t opts;
    dp_dbx_sql_result_t res;
    dp_dbx_copy_counts_t counts;
    char *sql;
    int rc;

    if (dp_tablename_qualified(r->cfg->databricks.catalog, r->cfg->databricks.schema, f->table, q,
                               sizeof(q), err) < 0 ||
        !(sql = dp_ddl_copy_into(q, f->path, err)))
        return DP_EINVAL;
    memset(&opts, 0, sizeof(opts));
    opts.wait_timeout_s = (int)r->cfg->databricks.statement_wait_timeout_s;
    memset(&res, 0, sizeof(res));
    rc = dp_dbx_sql_execute(r->conn.client, sql, NULL, 0, r->cfg->databricks.catalog,
                            r->cfg->databricks.schema, &opts, &res, err);
    free(sql);
    if (rc == 0 && res.state != DP_DBX_SQL_SUCCEEDED)
        rc = dp_err_set(err, DP_EFAIL, 1, "recover: COPY INTO %s: %s", q, res.message);
    if (rc == 0 && dp_dbx_sql_copy_counts(&res, &counts, err) == 0)
        *inserted = counts.num_inserted_rows;
    dp_dbx_sql_result_clear(&res);
    return rc;
}

/* Stages rows (n records of schema) at the path the original worker used
 * for (table, m->key) and loads them: COPY INTO skips the file if that
 * worker's load got there first. */
static int stage_rows(dp_recover_t *r, const dp_manifest_t *m, const char *table,
                      const char *schema, const dp_buf_t *rows, int64_t n, dp_err_t *err)
{
    char path[DP_STAGENAME_PATH_SIZE];
    unsigned char sync[16];
    dp_avrofile_t *file = NULL;
    dp_manifest_file_t mf;
    const void *data;
    size_t len;
    long long ins = 0;
    int exists, rc;

    rc = dp_stagename_path(r->cfg->databricks.catalog, r->cfg->databricks.schema,
                           r->cfg->databricks.volume, m->incarnation, table, m->key, path,
                           sizeof(path), err);
    if (rc < 0)
        return rc;
    dp_stagename_sync(path, sync);
    file = dp_avrofile_new(schema, DP_AVROFILE_DEFLATE, 64 * 1024, sync, (size_t)1 << 30, err);
    if (!file)
        return DP_EFAIL;
    if ((rc = dp_avrofile_append_encoded(file, dp_buf_data(rows), dp_buf_len(rows), (uint64_t)n,
                                         err)) < 0 ||
        (rc = dp_avrofile_finish(file, &data, &len, err)) < 0 ||
        (rc = dp_dbx_files_upload(r->conn.client, path, data, len, 1, &exists, err)) < 0)
        goto out;
    memset(&mf, 0, sizeof(mf));
    mf.table = (char *)table;
    mf.path = path;
    rc = copy_file(r, &mf, &ins, err);
out:
    dp_avrofile_destroy(file);
    return rc;
}

/* Loads the ledger and sync_runs rows of a completed manifest. */
static int load_runs(dp_recover_t *r, const dp_manifest_t *m, const long long *inserted,
                     dp_err_t *err)
{
    dp_sysrows_run_t run;
    dp_buf_t rows;
    int64_t n = 0;
    int rc;

    dp_buf_init(&rows, 64 * 1024 * 1024);
    if ((rc = dp_claims_ledger_rows(&rows, m, err)) < 0 ||
        (rc = stage_rows(r, m, DP_LEDGER_TABLE, dp_claims_ledger_schema, &rows, rc, err)) < 0)
        goto out;
    dp_buf_reset(&rows);
    memset(&run, 0, sizeof(run));
    run.run_key = m->key;
    run.worker_id = r->worker_id;
    run.ranges_json = "[]";
    run.status = "LOADED";
    run.started_at_us = run.finished_at_us = dp_clock_wall_us();
    for (size_t i = 0; i < m->nfiles; i++) {
        if (strcmp(m->files[i].table, "event_stats") == 0)
            continue;
        run.table = m->files[i].table;
        run.file_path = m->files[i].path;
        run.rows = m->files[i].rows;
        run.bytes = m->files[i].bytes;
        run.inserted_rows = inserted[i];
        if ((rc = dp_sysrows_run(&rows, &run, err)) < 0)
            goto out;
        n++;
    }
    rc = stage_rows(r, m, "sync_runs", dp_sysrows_sync_runs_schema, &rows, n, err);
out:
    dp_buf_free(&rows);
    return rc;
}

/* Asks the claims whether m may be loaded, waiting a little for a claim that
 * is being published (claims.h). */
static int judge(dp_recover_t *r, const dp_manifest_t *m, dp_claims_verdict_t *verdict,
                 dp_err_t *err)
{
    char why[512];
    int rc = 0;

    for (int attempt = 0; attempt < 60; attempt++) {
        if ((rc = dp_claims_judge(r->conn.client, r->cfg, m, verdict, why, sizeof(why), err)) < 0)
            return rc;
        if (*verdict != DP_CLAIMS_UNDECIDED)
            break;
        nanosleep(&(struct timespec){0, 250 * 1000000L}, NULL);
    }
    if (*verdict == DP_CLAIMS_UNDECIDED)
        return dp_err_set(err, DP_EAGAIN, 1, "recover: flush %.16s: %s", m->key, why);
    if (*verdict == DP_CLAIMS_VOID)
        dp_log(DP_LOG_INFO, "recover", "flush %.16s of worker %s is void, not loaded: %s", m->key,
               m->worker_id, why);
    return 0;
}

/* H5: a file is replayed only into the table it was staged for. A table
 * dropped and recreated since has lost its COPY INTO history, so the replay
 * would load rows a second time: refuse, and say so (the partitions wait). */
static int same_tables(dp_recover_t *r, const dp_manifest_t *m, dp_err_t *err)
{
    char id[DP_CLAIMS_TABLE_ID_SIZE];
    int rc;

    for (size_t i = 0; i < m->nfiles; i++) {
        const dp_manifest_file_t *f = &m->files[i];

        if (!f->table_id || !f->table_id[0])
            continue;
        if ((rc = dp_claims_table_id(r->conn.client, r->cfg, f->table, id, err)) < 0)
            return rc;
        if (id[0] && strcmp(id, f->table_id) != 0)
            return dp_err_set(err, DP_EFAIL, 0, "recover: table %s was dropped and recreated "
                              "since flush %.16s was staged for it (table id %s, now %s): "
                              "finishing that flush could load its rows twice, so its partitions "
                              "wait for an operator (docs/DELIVERY.md)", f->table, m->key,
                              f->table_id, id);
    }
    return 0;
}

/* Reads, judges and finishes one manifest. *m receives it (new; NULL when it
 * does not exist, or is void: nothing to do). */
static int complete(dp_recover_t *r, const char *key, dp_manifest_t **m, dp_err_t *err)
{
    dp_claims_verdict_t verdict;
    long long *inserted = NULL;
    int rc = dp_manifest_read(r->conn.client, r->cfg, r->incarnation, key, m, err);

    if (rc < 0 || !*m)
        return rc;
    if ((rc = judge(r, *m, &verdict, err)) < 0 || verdict == DP_CLAIMS_VOID ||
        (rc = same_tables(r, *m, err)) < 0) {
        dp_manifest_destroy(*m);
        *m = NULL;
        return rc;
    }
    inserted = dp_calloc((*m)->nfiles + 1, sizeof(*inserted));
    for (size_t i = 0; i < (*m)->nfiles && rc == 0; i++)
        rc = copy_file(r, &(*m)->files[i], &inserted[i], err);
    if (rc == 0)
        rc = load_runs(r, *m, inserted, err);
    if (rc == 0)
        dp_log(DP_LOG_INFO, "recover", "completed flush %.16s of worker %s: %zu files, %zu ranges",
               key, (*m)->worker_id, (*m)->nfiles, (*m)->nranges);
    free(inserted);
    return rc;
}

/* Moves the start of every assigned partition the manifest covers past its
 * range (the whole manifest was loaded, whichever index entry led here). */
static void advance(rd_kafka_topic_partition_list_t *parts, const dp_manifest_t *m,
                    int64_t *anchors)
{
    for (size_t k = 0; k < m->nranges; k++) {
        rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_find(
            parts, m->ranges[k].topic, m->ranges[k].partition);
        int64_t next = m->ranges[k].last + 1;

        if (!tp || tp->offset == RD_KAFKA_OFFSET_END)
            continue;
        if (m->ranges[k].fp && tp->offset <= next)
            anchors[tp - parts->elems] = m->ranges[k].fp; /* for a start at next */
        if (tp->offset == RD_KAFKA_OFFSET_BEGINNING || tp->offset < next) {
            dp_log(DP_LOG_INFO, "recover", "%s [%d] starts at @%lld, after a finished flush",
                   tp->topic, (int)tp->partition, (long long)next);
            tp->offset = next;
        }
    }
}

static int seen_before(const pending_list_t *pl, size_t upto, const char *key)
{
    for (size_t i = 0; i < upto; i++) {
        if (strcmp(pl->items[i].key, key) == 0)
            return 1;
    }
    return 0;
}

/* The start of tp after the ledger (H3): a committed offset below what
 * Databricks holds regressed (a stale member's commit, an operator reset,
 * offsets expired): start after the ledger and say so. */
static void apply_ledger(rd_kafka_topic_partition_t *tp, int64_t through, int *repaired)
{
    int64_t next = through + 1;

    if (through < 0)
        return;
    if (tp->offset >= 0 && tp->offset >= next)
        return;
    if (tp->offset >= 0)
        dp_log(DP_LOG_WARN, "recover", "%s [%d]: committed offset @%lld is below what Databricks "
               "holds (loaded through @%lld): starting at @%lld and committing it (repaired)",
               tp->topic, (int)tp->partition, (long long)tp->offset, (long long)through,
               (long long)next);
    else
        dp_log(DP_LOG_WARN, "recover", "%s [%d]: no committed offset, but Databricks holds it "
               "loaded through @%lld: starting at @%lld", tp->topic, (int)tp->partition,
               (long long)through, (long long)next);
    tp->offset = next;
    (*repaired)++;
}

/* Claims the partitions of one topic (indexes idx[0..n) of parts), reads the
 * ledger, lists their pending manifests into pl and publishes what it saw. */
static int claim_topic(dp_recover_t *r, rd_kafka_topic_partition_list_t *parts, const int *idx,
                       size_t n, int64_t *epochs, int64_t *through_all, pending_list_t *pl,
                       int *repaired, dp_err_t *err)
{
    const char *topic = parts->elems[idx[0]].topic;
    int32_t *ps = dp_calloc(n, sizeof(*ps));
    int64_t *through = dp_calloc(n, sizeof(*through)), *floor = dp_calloc(n, sizeof(*floor));
    char **seen = dp_calloc(n, sizeof(*seen));
    int *won = dp_calloc(n, sizeof(*won));
    int64_t epoch = 0;
    dp_buf_t keys;
    int rc;

    dp_buf_init(&keys, SIZE_MAX);
    for (size_t i = 0; i < n; i++)
        ps[i] = parts->elems[idx[i]].partition;
    if ((rc = dp_claims_take(r->conn.client, r->cfg, r->incarnation, topic, ps, n, r->worker_id,
                             &epoch, err)) < 0 ||
        (rc = dp_claims_ledger(r->conn.client, r->cfg, r->incarnation, topic, ps, n, through,
                               err)) < 0)
        goto out;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rd_kafka_topic_partition_t *tp = &parts->elems[idx[i]];

        epochs[idx[i]] = epoch;
        through_all[idx[i]] = through[i];
        apply_ledger(tp, through[i], repaired);
        floor[i] = tp->offset == RD_KAFKA_OFFSET_BEGINNING ? 0 : tp->offset;
        dp_buf_reset(&keys);
        pl->seen = &keys;
        /* An unknown start (latest) lists every entry: each one it sees is
         * in seen, so none of them is voided by this claim. */
        rc = dp_manifest_pending(r->conn.client, r->cfg, r->incarnation, topic, tp->partition,
                                 floor[i] >= 0 ? floor[i] : 0, add_pending, pl, err);
        pl->seen = NULL;
        dp_buf_append(&keys, "", 1, NULL);
        seen[i] = dp_strdup((const char *)dp_buf_data(&keys));
    }
    if (rc == 0)
        rc = dp_claims_publish(r->conn.client, r->cfg, r->incarnation, topic, ps, floor, seen, n,
                               epoch, won, err);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (!won[i])
            dp_log(DP_LOG_WARN, "recover", "%s [%d]: claim %lld was superseded before it was "
                   "published; another worker owns the partition now", topic, (int)ps[i],
                   (long long)epoch);
    }
    dp_log(DP_LOG_INFO, "recover", "claimed %zu partition(s) of %s at epoch %lld", n, topic,
           (long long)epoch);
out:
    for (size_t i = 0; i < n; i++)
        free(seen[i]);
    free(seen);
    free(won);
    free(ps);
    free(through);
    free(floor);
    dp_buf_free(&keys);
    return rc;
}

/* The fingerprint of the message at `last` in tp's commit metadata
 * ("inc=..;fp=<last>:<hex>"), or -1. */
static int64_t committed_fp(const rd_kafka_topic_partition_t *tp, int64_t last)
{
    char md[128];
    const char *f;
    long long at;
    unsigned fp;

    if (!tp->metadata || tp->metadata_size == 0 || tp->metadata_size >= sizeof(md))
        return -1;
    memcpy(md, tp->metadata, tp->metadata_size);
    md[tp->metadata_size] = '\0';
    f = strstr(md, "fp=");
    if (!f || sscanf(f, "fp=%lld:%x", &at, &fp) != 2 || at != last)
        return -1;
    return (int64_t)fp;
}

/* anchors[i]: the fingerprint of the message just before parts[i]'s start
 * (from a finished manifest, the commit metadata or the ledger), or -1. */
static int find_anchors(dp_recover_t *r, rd_kafka_topic_partition_list_t *parts,
                        const int64_t *through, int64_t *anchors, dp_err_t *err)
{
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &parts->elems[i];
        int rc;

        if (tp->offset <= 0) {
            anchors[i] = -1;
            continue;
        }
        if (anchors[i] >= 0)
            continue; /* a finished manifest ends there */
        if ((anchors[i] = committed_fp(tp, tp->offset - 1)) >= 0)
            continue;
        if (through[i] == tp->offset - 1 &&
            (rc = dp_claims_ledger_fp(r->conn.client, r->cfg, r->incarnation, tp->topic,
                                      tp->partition, through[i], &anchors[i], err)) < 0)
            return rc;
        if (anchors[i] == 0)
            anchors[i] = -1; /* written before fingerprints existed */
    }
    return 0;
}

int dp_recover_assign(dp_recover_t *r, rd_kafka_topic_partition_list_t *parts, int64_t *epochs,
                      int64_t *anchors, int *completed, int *repaired, dp_err_t *err)
{
    pending_list_t pl = {NULL, 0, NULL};
    int *idx = dp_calloc((size_t)parts->cnt + 1, sizeof(*idx));
    char *done = dp_calloc((size_t)parts->cnt + 1, 1);
    int64_t *through = dp_calloc((size_t)parts->cnt + 1, sizeof(*through));
    int rc = 0;

    for (int i = 0; i < parts->cnt; i++)
        anchors[i] = through[i] = -1;
    *completed = *repaired = 0;
    if (!r->setup_done && (rc = dp_claims_setup(r->conn.client, r->cfg, err)) == 0)
        r->setup_done = 1;
    /* Per topic: claim, ledger, list, publish (claims.h). */
    for (int i = 0; i < parts->cnt && rc == 0; i++) {
        size_t n = 0;

        if (done[i])
            continue;
        for (int j = i; j < parts->cnt; j++) {
            if (!done[j] && strcmp(parts->elems[j].topic, parts->elems[i].topic) == 0) {
                idx[n++] = j;
                done[j] = 1;
            }
        }
        rc = claim_topic(r, parts, idx, n, epochs, through, &pl, repaired, err);
    }
    /* In offset order, so that each partition's chain is finished from its
     * start; a manifest listed by several partitions is finished once. */
    if (pl.n > 1)
        qsort(pl.items, pl.n, sizeof(*pl.items), by_first);
    for (size_t k = 0; rc == 0 && k < pl.n; k++) {
        dp_manifest_t *m = NULL;

        if (seen_before(&pl, k, pl.items[k].key))
            continue;
        rc = complete(r, pl.items[k].key, &m, err);
        if (rc == 0 && m) {
            advance(parts, m, anchors);
            (*completed)++;
        }
        dp_manifest_destroy(m);
    }
    if (rc == 0)
        rc = find_anchors(r, parts, through, anchors, err);
    free(pl.items);
    free(idx);
    free(done);
    free(through);
    return rc;
}
