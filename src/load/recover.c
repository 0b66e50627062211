/*
 * recover: claims and the completion of pending manifests, on the recovery
 * thread (see recover.h).
 */
#include "load/recover.h"

#include "batch/sysrows.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/retry.h"
#include "dbx/files.h"
#include "load/claims.h"
#include "load/dbxconn.h"
#include "load/dbxpool.h"
#include "load/loadops.h"
#include "ops/health.h"
#include "ops/metrics.h"
#include "stage/manifest.h"
#include "stage/stagename.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_MANIFESTS 4096
#define MAX_TOPICS    64

struct dp_recover {
    const dp_config_t *cfg;
    char *incarnation;
    char *worker_id;
    dp_loadops_t *ops;
    dp_dbx_client_t *client; /* the recovery thread's own */
    dp_retry_t *retry;
    rd_kafka_t *rk;

    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    dp_recover_part_t *queue; /* submitted, not yet being claimed */
    size_t nqueue;
    dp_recover_part_t *done; /* claimed, not yet taken */
    size_t ndone;
    size_t inflight;         /* being claimed */
    dp_recover_part_t *gaps; /* ranges lost to retention, to record: start = first, */
    size_t ngaps;            /* committed_fp = last */

    _Atomic long long heartbeat_ms;
    _Atomic uint64_t completed, repaired, pruned;
};

/* The state of one batch. */
typedef struct batch {
    dp_recover_t *r;
    dp_recover_part_t *parts;
    size_t n;
    int64_t *floor;          /* per part: loaded through + 1 (or -1: unknown, latest) */
    int64_t *ledger_fp;      /* per part: fingerprint at the ledger's end, or -1 */
    int64_t *ledger_through; /* per part */
    char **seen;             /* per part: keys seen, comma-separated (owned), */
    size_t nseen;            /* as many as the parts when the batch began */
    char **keys;             /* every manifest listed (owned) */
    size_t nkeys;
    dp_manifest_t **ms; /* per key: the manifest read, or NULL (gone/untrusted) */
    int *pending;       /* per key: covers a part at or past its floor */
} batch_t;

static void beat(void *ctx)
{
    dp_recover_t *r = ctx;

    atomic_store(&r->heartbeat_ms, dp_clock_mono_ms());
    dp_health_beat(DP_HEALTH_LOADER);
}

/* ------------------------------------------------------------------------- */
/* Parts                                                                     */
/* ------------------------------------------------------------------------- */

void dp_recover_parts_free(dp_recover_part_t *parts, size_t n)
{
    for (size_t i = 0; parts && i < n; i++)
        free(parts[i].topic);
    free(parts);
}

/* Appends copies of src[0..n) to *dst (*ndst elements). */
static void append_parts(dp_recover_part_t **dst, size_t *ndst, const dp_recover_part_t *src,
                         size_t n, int copy_topic)
{
    if (n == 0)
        return;
    *dst = dp_realloc(*dst, (*ndst + n) * sizeof(**dst));
    for (size_t i = 0; i < n; i++) {
        (*dst)[*ndst + i] = src[i];
        if (copy_topic)
            (*dst)[*ndst + i].topic = dp_strdup(src[i].topic);
    }
    *ndst += n;
}

/* ------------------------------------------------------------------------- */
/* Claims and the ledger                                                     */
/* ------------------------------------------------------------------------- */

/* The start of part i after the ledger (H3): a committed offset below what
 * Databricks holds regressed (a stale member's commit, an operator reset,
 * offsets expired): start after the ledger and say so. */
static void apply_ledger(batch_t *b, size_t i)
{
    dp_recover_part_t *p = &b->parts[i];
    int64_t next = b->ledger_through[i] + 1;

    if (b->ledger_through[i] < 0)
        return;
    if (p->start >= 0 && p->start >= next)
        return;
    if (p->start >= 0) {
        dp_log(DP_LOG_WARN, "recover",
               "%s [%d]: committed offset @%lld is below what Databricks "
               "holds (loaded through @%lld): starting at @%lld and committing it (repaired)",
               p->topic, (int)p->partition, (long long)p->start, (long long)b->ledger_through[i],
               (long long)next);
        atomic_fetch_add(&b->r->repaired, 1);
        dp_metrics_add(DP_MC_OFFSET_REPAIRS, 1);
    } else {
        dp_log(DP_LOG_WARN, "recover",
               "%s [%d]: no committed offset, but Databricks holds it "
               "loaded through @%lld: starting at @%lld",
               p->topic, (int)p->partition, (long long)b->ledger_through[i], (long long)next);
    }
    p->start = next;
    p->moved = 1;
}

/* The distinct topics of the batch, borrowed. */
static size_t batch_topics(const batch_t *b, const char **topics, size_t cap)
{
    size_t nt = 0;

    for (size_t i = 0; i < b->n; i++) {
        size_t k = 0;

        while (k < nt && strcmp(topics[k], b->parts[i].topic) != 0)
            k++;
        if (k == nt && nt < cap)
            topics[nt++] = b->parts[i].topic;
    }
    return nt;
}

typedef struct topic_job {
    batch_t *b;
    const char *topic;
    int32_t *ps;
    size_t *idx;
    size_t n;
    int64_t *epochs, *through, *fp;
} topic_job_t;

static int take_job(dp_dbx_client_t *client, void *arg, dp_err_t *err)
{
    topic_job_t *tj = arg;
    dp_recover_t *r = tj->b->r;

    return dp_claims_take(client, r->cfg, r->incarnation, tj->topic, tj->ps, tj->n, r->worker_id,
                          tj->epochs, err);
}

static int ledger_job(dp_dbx_client_t *client, void *arg, dp_err_t *err)
{
    topic_job_t *tj = arg;
    dp_recover_t *r = tj->b->r;

    return dp_claims_ledger(client, r->cfg, r->incarnation, tj->topic, tj->ps, tj->n, tj->through,
                            tj->fp, err);
}

/* Takes the claims of every topic's parts and reads the topics' ledgers, all
 * at once: the ledger read does not depend on the claim (a flush loaded
 * meanwhile still has its manifest, which the listing after the claims
 * sees). */
static int claim_topics(batch_t *b, const char *const *topics, size_t nt, dp_err_t *err)
{
    dp_recover_t *r = b->r;
    topic_job_t *tjs = dp_calloc(nt + 1, sizeof(*tjs));
    dp_dbxpool_job_t *jobs = dp_calloc(2 * nt + 1, sizeof(*jobs));
    int rc = 0;

    for (size_t t = 0; t < nt; t++) {
        topic_job_t *tj = &tjs[t];

        tj->b = b;
        tj->topic = topics[t];
        tj->ps = dp_calloc(b->n, sizeof(*tj->ps));
        tj->idx = dp_calloc(b->n, sizeof(*tj->idx));
        tj->epochs = dp_calloc(b->n, sizeof(*tj->epochs));
        tj->through = dp_calloc(b->n, sizeof(*tj->through));
        tj->fp = dp_calloc(b->n, sizeof(*tj->fp));
        for (size_t i = 0; i < b->n; i++) {
            if (strcmp(b->parts[i].topic, topics[t]) == 0) {
                tj->idx[tj->n] = i;
                tj->ps[tj->n++] = b->parts[i].partition;
            }
        }
        jobs[2 * t] = (dp_dbxpool_job_t){take_job, tj, 0, {0}, {{0}}, NULL};
        jobs[2 * t + 1] = (dp_dbxpool_job_t){ledger_job, tj, 0, {0}, {{0}}, NULL};
    }
    dp_dbxpool_run(dp_loadops_pool(r->ops), jobs, 2 * nt, beat, r);
    for (size_t k = 0; k < 2 * nt && rc == 0; k++) {
        if (jobs[k].rc != 0) {
            *err = jobs[k].err;
            rc = jobs[k].rc;
        }
    }
    for (size_t t = 0; t < nt; t++) {
        topic_job_t *tj = &tjs[t];

        for (size_t k = 0; rc == 0 && k < tj->n; k++) {
            size_t i = tj->idx[k];

            b->parts[i].epoch = tj->epochs[k];
            b->ledger_through[i] = tj->through[k];
            b->ledger_fp[i] = tj->fp[k];
            apply_ledger(b, i);
            b->floor[i] = b->parts[i].start == RD_KAFKA_OFFSET_BEGINNING ? 0 : b->parts[i].start;
        }
        free(tj->ps);
        free(tj->idx);
        free(tj->epochs);
        free(tj->through);
        free(tj->fp);
    }
    free(tjs);
    free(jobs);
    return rc;
}

/* ------------------------------------------------------------------------- */
/* Manifests                                                                 */
/* ------------------------------------------------------------------------- */

static void add_key(void *ctx, const char *key)
{
    batch_t *b = ctx;

    if (b->nkeys == MAX_MANIFESTS)
        return;
    b->keys = dp_realloc(b->keys, (b->nkeys + 1) * sizeof(*b->keys));
    b->keys[b->nkeys++] = dp_strdup(key);
}

typedef struct read_job {
    batch_t *b;
    size_t k;
} read_job_t;

static int read_manifest(dp_dbx_client_t *client, void *arg, dp_err_t *err)
{
    read_job_t *rj = arg;
    batch_t *b = rj->b;
    int rc =
        dp_manifest_read(client, b->r->cfg, b->r->incarnation, b->keys[rj->k], &b->ms[rj->k], err);

    if (rc == DP_EINVAL) {
        /* Not ours to trust: never loaded, so it is void for our claim. */
        dp_log(DP_LOG_ERROR, "recover", "manifest %.16s ignored: %s", b->keys[rj->k], err->msg);
        rc = 0;
    }
    return rc;
}

/* Lists the manifests of the incarnation once and reads them all. */
static int read_manifests(batch_t *b, dp_err_t *err)
{
    dp_recover_t *r = b->r;
    dp_dbxpool_job_t *jobs;
    read_job_t *rjs;
    size_t failed;
    int rc;

    if ((rc = dp_manifest_list(r->client, r->cfg, r->incarnation, add_key, b, err)) < 0)
        return rc;
    b->ms = dp_calloc(b->nkeys + 1, sizeof(*b->ms));
    b->pending = dp_calloc(b->nkeys + 1, sizeof(*b->pending));
    jobs = dp_calloc(b->nkeys + 1, sizeof(*jobs));
    rjs = dp_calloc(b->nkeys + 1, sizeof(*rjs));
    for (size_t k = 0; k < b->nkeys; k++) {
        rjs[k] = (read_job_t){b, k};
        jobs[k].fn = read_manifest;
        jobs[k].arg = &rjs[k];
    }
    failed = dp_dbxpool_run(dp_loadops_pool(r->ops), jobs, b->nkeys, beat, r);
    for (size_t k = 0; failed && k < b->nkeys; k++) {
        if (jobs[k].rc != 0) {
            *err = jobs[k].err;
            rc = jobs[k].rc;
            break;
        }
    }
    free(jobs);
    free(rjs);
    return rc;
}

/* The index of (topic, partition) in the batch, or n. */
static size_t part_index(const batch_t *b, const char *topic, int32_t partition)
{
    size_t i = 0;

    while (i < b->n &&
           !(b->parts[i].partition == partition && strcmp(b->parts[i].topic, topic) == 0))
        i++;
    return i;
}

/* Marks the manifests that cover a part of the batch at or past its floor
 * (an unknown floor, a start at the end, sees every one) and builds each
 * part's seen list. */
static void mark_pending(batch_t *b)
{
    dp_buf_t *seen = dp_calloc(b->n + 1, sizeof(*seen));

    for (size_t i = 0; i < b->n; i++)
        dp_buf_init(&seen[i], SIZE_MAX);
    for (size_t k = 0; k < b->nkeys; k++) {
        const dp_manifest_t *m = b->ms[k];

        for (size_t j = 0; m && j < m->nranges; j++) {
            size_t i = part_index(b, m->ranges[j].topic, m->ranges[j].partition);

            if (i == b->n || (b->floor[i] >= 0 && m->ranges[j].last < b->floor[i]))
                continue;
            b->pending[k] = 1;
            if (dp_buf_len(&seen[i]) > 0)
                dp_buf_append(&seen[i], ",", 1, NULL);
            dp_buf_append(&seen[i], m->key, strlen(m->key), NULL);
        }
    }
    for (size_t i = 0; i < b->n; i++) {
        dp_buf_append(&seen[i], "", 1, NULL);
        b->seen[i] = dp_strdup((const char *)dp_buf_data(&seen[i]));
        dp_buf_free(&seen[i]);
    }
    free(seen);
}

/* Publishes the claims of one topic with what they saw. */
static int publish_topic(batch_t *b, const char *topic, dp_err_t *err)
{
    dp_recover_t *r = b->r;
    dp_claims_pub_t *pubs = dp_calloc(b->n, sizeof(*pubs));
    size_t *idx = dp_calloc(b->n, sizeof(*idx));
    size_t n = 0;
    int rc;

    for (size_t i = 0; i < b->n; i++) {
        if (strcmp(b->parts[i].topic, topic) != 0)
            continue;
        pubs[n] =
            (dp_claims_pub_t){b->parts[i].partition, b->parts[i].epoch, b->floor[i], b->seen[i], 0};
        idx[n++] = i;
    }
    rc = dp_claims_publish(r->client, r->cfg, r->incarnation, topic, pubs, n, err);
    for (size_t k = 0; rc == 0 && k < n; k++) {
        b->parts[idx[k]].won = pubs[k].won;
        if (!pubs[k].won)
            dp_log(DP_LOG_WARN, "recover",
                   "%s [%d]: claim %lld was superseded before it was "
                   "published; another worker owns the partition now",
                   topic, (int)pubs[k].partition, (long long)pubs[k].epoch);
    }
    free(pubs);
    free(idx);
    return rc;
}

/* One poll of judge_pending (dp_retry_poll): judges the n manifests. */
typedef struct judge_poll {
    batch_t *b;
    const dp_manifest_t **ms;
    size_t n;
    dp_claims_verdict_t *v;
    char **why;
    dp_err_t *err;
} judge_poll_t;

/* Returns a DP_E* code, 1 while a verdict is undecided, else 0. */
static int judge_once(void *ctx)
{
    judge_poll_t *jp = ctx;
    int rc;

    beat(jp->b->r);
    rc = dp_claims_judge_many(jp->b->r->client, jp->b->r->cfg, jp->ms, jp->n, jp->v, jp->why, 512,
                              jp->err);
    for (size_t j = 0; rc == 0 && j < jp->n; j++)
        if (jp->v[j] == DP_CLAIMS_UNDECIDED)
            return 1;
    return rc;
}

/* Judges the pending manifests, waiting a little for claims being published
 * (claims.h); a void one is dropped from the batch (nobody loads it). */
static int judge_pending(batch_t *b, dp_err_t *err)
{
    dp_recover_t *r = b->r;
    const dp_manifest_t **ms = dp_calloc(b->nkeys + 1, sizeof(*ms));
    size_t *idx = dp_calloc(b->nkeys + 1, sizeof(*idx));
    dp_claims_verdict_t *v = dp_calloc(b->nkeys + 1, sizeof(*v));
    char **why = dp_calloc(b->nkeys + 1, sizeof(*why));
    size_t n = 0;
    int rc = 0;

    for (size_t k = 0; k < b->nkeys; k++) {
        if (b->pending[k] && b->ms[k]) {
            ms[n] = b->ms[k];
            why[n] = dp_calloc(1, 512);
            idx[n++] = k;
        }
    }
    if (n > 0) {
        judge_poll_t jp = {b, ms, n, v, why, err};

        rc = dp_retry_poll(r->retry, 60, 250, judge_once, &jp);
        rc = rc == 1 ? 0 : rc;
    }
    for (size_t j = 0; rc == 0 && j < n; j++) {
        if (v[j] == DP_CLAIMS_UNDECIDED) {
            rc = dp_err_set(err, DP_EAGAIN, 1, "recover: flush %.16s: %s", ms[j]->key, why[j]);
        } else if (v[j] == DP_CLAIMS_VOID) {
            dp_log(DP_LOG_INFO, "recover", "flush %.16s of worker %s is void, not loaded: %s",
                   ms[j]->key, ms[j]->worker_id, why[j]);
            b->pending[idx[j]] = 0;
        }
    }
    for (size_t j = 0; j < n; j++)
        free(why[j]);
    free(why);
    free(ms);
    free(idx);
    free(v);
    return rc;
}

/* ------------------------------------------------------------------------- */
/* Finishing flushes                                                         */
/* ------------------------------------------------------------------------- */

typedef struct id_job {
    dp_recover_t *r;
    const char *table;
    char id[DP_CLAIMS_TABLE_ID_SIZE];
} id_job_t;

static int read_id(dp_dbx_client_t *client, void *arg, dp_err_t *err)
{
    id_job_t *ij = arg;

    return dp_claims_table_id(client, ij->r->cfg, ij->table, ij->id, err);
}

/* H5: a file is replayed only into the table it was staged for. A table
 * dropped and recreated since has lost its COPY INTO history, so the replay
 * would load rows a second time: refuse, and say so (the partitions wait).
 * The tables' ids are read fresh, concurrently, once per table. */
static int same_tables(batch_t *b, dp_err_t *err)
{
    dp_recover_t *r = b->r;
    id_job_t *ijs = NULL;
    dp_dbxpool_job_t *jobs;
    size_t n = 0;
    int rc = 0;

    for (size_t k = 0; k < b->nkeys; k++) {
        for (size_t i = 0; b->pending[k] && i < b->ms[k]->nfiles; i++) {
            const dp_manifest_file_t *f = &b->ms[k]->files[i];
            int dup = 0;

            for (size_t j = 0; j < n; j++)
                dup |= strcmp(ijs[j].table, f->table) == 0;
            if (dup || !f->table_id || !f->table_id[0])
                continue;
            ijs = dp_realloc(ijs, (n + 1) * sizeof(*ijs));
            memset(&ijs[n], 0, sizeof(ijs[n]));
            ijs[n].r = r;
            ijs[n].table = f->table;
            n++;
        }
    }
    jobs = dp_calloc(n + 1, sizeof(*jobs));
    for (size_t j = 0; j < n; j++) {
        jobs[j].fn = read_id;
        jobs[j].arg = &ijs[j];
    }
    if (dp_dbxpool_run(dp_loadops_pool(r->ops), jobs, n, beat, r) > 0) {
        for (size_t j = 0; j < n && rc == 0; j++) {
            if (jobs[j].rc != 0) {
                *err = jobs[j].err;
                rc = jobs[j].rc;
            }
        }
    }
    for (size_t k = 0; rc == 0 && k < b->nkeys; k++) {
        for (size_t i = 0; b->pending[k] && rc == 0 && i < b->ms[k]->nfiles; i++) {
            const dp_manifest_file_t *f = &b->ms[k]->files[i];

            for (size_t j = 0; f->table_id && f->table_id[0] && j < n; j++) {
                if (strcmp(ijs[j].table, f->table) != 0 || !ijs[j].id[0] ||
                    strcmp(ijs[j].id, f->table_id) == 0)
                    continue;
                rc = dp_err_set(err, DP_EFAIL, 0,
                                "recover: table %s was dropped and recreated "
                                "since flush %.16s was staged for it (table id %s, now %s): "
                                "finishing that flush could load its rows twice, so its "
                                "partitions wait for an operator (docs/DELIVERY.md)",
                                f->table, b->ms[k]->key, f->table_id, ijs[j].id);
            }
        }
    }
    free(jobs);
    free(ijs);
    return rc;
}

typedef struct copy_job {
    dp_recover_t *r;
    const dp_manifest_file_t *f;
    long long inserted, duplicates;
} copy_job_t;

static int copy_file(dp_dbx_client_t *client, void *arg, dp_err_t *err)
{
    copy_job_t *cj = arg;
    int rc = dp_loadops_load(cj->r->ops, client, cj->f->table, cj->f->path, cj->f->rows,
                             &cj->inserted, &cj->duplicates, err);

    /* Rows refused while finishing another worker's flush: the partition
     * waits (an operator decides), never drops them. */
    return rc == DP_EINVAL ? DP_EFAIL : rc;
}

/* The sync_runs rows of a finished manifest. */
static int64_t run_rows(const batch_t *b, const dp_manifest_t *m, const copy_job_t *cjs,
                        dp_buf_t *runs, dp_err_t *err)
{
    dp_sysrows_run_t run;
    int64_t n = 0;

    memset(&run, 0, sizeof(run));
    run.run_key = m->key;
    run.worker_id = b->r->worker_id;
    run.ranges_json = "[]";
    run.status = "LOADED";
    run.kind = "file";
    run.started_at_us = run.finished_at_us = dp_clock_wall_us();
    for (size_t i = 0; i < m->nfiles; i++) {
        run.table = m->files[i].table;
        run.file_path = m->files[i].path;
        run.rows = m->files[i].rows;
        run.bytes = m->files[i].bytes;
        run.inserted_rows = cjs[i].inserted;
        run.duplicates = cjs[i].duplicates;
        run.statements = 1;
        if (dp_sysrows_run(runs, &run, err) < 0)
            return DP_ETOOBIG;
        n++;
    }
    return n;
}

/* Loads every file of the valid pending manifests (concurrently), then each
 * manifest's ledger and sync_runs rows. */
static int finish_pending(batch_t *b, dp_err_t *err)
{
    dp_recover_t *r = b->r;
    size_t nf = 0, j = 0;
    copy_job_t *cjs;
    dp_dbxpool_job_t *jobs;
    int rc = 0;

    for (size_t k = 0; k < b->nkeys; k++)
        nf += b->pending[k] ? b->ms[k]->nfiles : 0;
    cjs = dp_calloc(nf + 1, sizeof(*cjs));
    jobs = dp_calloc(nf + 1, sizeof(*jobs));
    for (size_t k = 0; k < b->nkeys; k++) {
        for (size_t i = 0; b->pending[k] && i < b->ms[k]->nfiles; i++, j++) {
            cjs[j] = (copy_job_t){r, &b->ms[k]->files[i], 0, 0};
            jobs[j].fn = copy_file;
            jobs[j].arg = &cjs[j];
        }
    }
    if (dp_dbxpool_run(dp_loadops_pool(r->ops), jobs, nf, beat, r) > 0) {
        for (j = 0; j < nf && rc == 0; j++) {
            if (jobs[j].rc != 0) {
                *err = jobs[j].err;
                rc = jobs[j].rc;
            }
        }
    }
    j = 0;
    for (size_t k = 0; rc == 0 && k < b->nkeys; k++) {
        dp_buf_t runs;
        int64_t nruns;

        if (!b->pending[k])
            continue;
        dp_buf_init(&runs, 64 * 1024 * 1024);
        nruns = run_rows(b, b->ms[k], &cjs[j], &runs, err);
        j += b->ms[k]->nfiles;
        rc = nruns < 0 ? (int)nruns
                       : dp_loadops_bookkeep(r->ops, b->ms[k], &runs, nruns, beat, r, NULL, err);
        dp_buf_free(&runs);
        if (rc == 0) {
            atomic_fetch_add(&r->completed, 1);
            dp_metrics_add(DP_MC_MANIFESTS_COMPLETED, 1);
            dp_log(DP_LOG_INFO, "recover",
                   "completed flush %.16s of worker %s: %zu files, %zu "
                   "ranges",
                   b->ms[k]->key, b->ms[k]->worker_id, b->ms[k]->nfiles, b->ms[k]->nranges);
        }
    }
    free(cjs);
    free(jobs);
    return rc;
}

/* Moves the start of every part a finished manifest covers past its range,
 * and records the fingerprint of the message before the new start. */
static void advance(batch_t *b)
{
    for (size_t k = 0; k < b->nkeys; k++) {
        const dp_manifest_t *m = b->ms[k];

        for (size_t j = 0; b->pending[k] && j < m->nranges; j++) {
            size_t i = part_index(b, m->ranges[j].topic, m->ranges[j].partition);
            dp_recover_part_t *p = &b->parts[i];
            int64_t next = m->ranges[j].last + 1;

            if (i == b->n || p->start == RD_KAFKA_OFFSET_END)
                continue;
            if (p->start == RD_KAFKA_OFFSET_BEGINNING || p->start <= next) {
                if (m->ranges[j].fp)
                    p->anchor = m->ranges[j].fp;
                if (p->start != next) {
                    dp_log(DP_LOG_INFO, "recover",
                           "%s [%d] starts at @%lld, after a finished "
                           "flush",
                           p->topic, (int)p->partition, (long long)next);
                    p->start = next;
                    p->moved = 1;
                }
            }
        }
    }
    /* Other anchors: the commit metadata, else the ledger. */
    for (size_t i = 0; i < b->n; i++) {
        dp_recover_part_t *p = &b->parts[i];

        if (p->start <= 0) {
            p->anchor = -1;
            continue;
        }
        if (p->anchor >= 0)
            continue;
        if (p->committed_fp >= 0 && !p->moved)
            p->anchor = p->committed_fp;
        else if (b->ledger_through[i] == p->start - 1)
            p->anchor = b->ledger_fp[i];
    }
}

/* ------------------------------------------------------------------------- */
/* The log's ends                                                            */
/* ------------------------------------------------------------------------- */

/* Checks each start against the watermarks of its partition (see recover.h,
 * step 6), so that the poll thread never seeks outside the log. A partition
 * whose watermarks cannot be read is left to the poll thread, which handles
 * an "offset out of range" answer the same way. */
int dp_recover_place_start(dp_recover_t *r, const char *topic, int32_t partition, int64_t *start,
                           int *anchored, int64_t low, int64_t high)
{
    if (*start > high) {
        dp_log(DP_LOG_ERROR, "recover",
               "%s [%d] stopped: its start @%lld is past the end of the "
               "log (high watermark @%lld): the topic was recreated or truncated, or offsets "
               "were reset. Nothing is skipped: the partition waits for an operator (after a "
               "recreation: `deltaport incarnation new`, then restart the pool; "
               "docs/DELIVERY.md)",
               topic, (int)partition, (long long)*start, (long long)high);
        return 1;
    }
    if (*start < low && r->cfg->kafka.on_retention_gap == DP_CONFIG_GAP_STOP) {
        dp_log(DP_LOG_ERROR, "recover",
               "%s [%d] stopped: records @%lld..@%lld were removed by "
               "retention before they were loaded (the log starts at @%lld); "
               "kafka.on_retention_gap is stop",
               topic, (int)partition, (long long)*start, (long long)low - 1, (long long)low);
        return 1;
    }
    if (*start < low) {
        dp_log(DP_LOG_ERROR, "recover",
               "%s [%d]: records @%lld..@%lld were removed by retention "
               "before they were loaded (the log starts at @%lld): %lld record(s) lost, "
               "recorded in sync_runs as LOST_TO_RETENTION; going on from @%lld",
               topic, (int)partition, (long long)*start, (long long)low - 1, (long long)low,
               (long long)(low - *start), (long long)low);
        dp_metrics_add(DP_MC_RECORDS_LOST_RETENTION, (uint64_t)(low - *start));
        dp_recover_record_gap(r, topic, partition, *start, low - 1);
        *start = low;
        *anchored = 0;
    } else if (*anchored && *start - 1 < low) {
        dp_log(DP_LOG_WARN, "recover",
               "%s [%d]: @%lld, the message before the start, is gone "
               "(retention; the log starts at @%lld): the log cannot be checked; reading from "
               "@%lld",
               topic, (int)partition, (long long)*start - 1, (long long)low, (long long)*start);
        *anchored = 0;
    }
    return 0;
}

/* Checks each start against the watermarks of its partition (see recover.h,
 * step 6), so that the poll thread never seeks outside the log. A partition
 * whose watermarks cannot be read is left to the poll thread, which handles
 * an "offset out of range" answer the same way. */
static void check_ends(batch_t *b)
{
    dp_recover_t *r = b->r;

    for (size_t i = 0; r->rk && i < b->n; i++) {
        dp_recover_part_t *p = &b->parts[i];
        int64_t low = -1, high = -1, start = p->start;
        int anchored = p->anchor >= 0;

        if (p->start < 0 ||
            rd_kafka_query_watermark_offsets(r->rk, p->topic, p->partition, &low, &high, 5000) !=
                RD_KAFKA_RESP_ERR_NO_ERROR)
            continue;
        p->stop = dp_recover_place_start(r, p->topic, p->partition, &start, &anchored, low, high);
        if (!anchored)
            p->anchor = -1;
        if (start != p->start) {
            p->start = start;
            p->moved = 1;
        }
    }
}

/* ------------------------------------------------------------------------- */
/* Pruning                                                                   */
/* ------------------------------------------------------------------------- */

/* Deletes the manifests of the batch that no part claimed here still needs
 * and whose every range the group has committed past (H2: then no owner can
 * need it), with their files. */
static void prune(batch_t *b)
{
    dp_recover_t *r = b->r;
    rd_kafka_topic_partition_list_t *list;
    char **paths = NULL;
    size_t npaths = 0, nm = 0;
    dp_err_t err;

    if (!r->rk || b->nkeys == 0)
        return;
    list = rd_kafka_topic_partition_list_new(16);
    for (size_t k = 0; k < b->nkeys; k++) {
        for (size_t j = 0; b->ms[k] && !b->pending[k] && j < b->ms[k]->nranges; j++) {
            const dp_manifest_range_t *rg = &b->ms[k]->ranges[j];

            if (!rd_kafka_topic_partition_list_find(list, rg->topic, rg->partition))
                rd_kafka_topic_partition_list_add(list, rg->topic, rg->partition);
        }
    }
    if (list->cnt == 0 || rd_kafka_committed(r->rk, list, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_topic_partition_list_destroy(list);
        return;
    }
    for (size_t k = 0; k < b->nkeys; k++) {
        const dp_manifest_t *m = b->ms[k];
        int past = m && !b->pending[k];
        char **mp = NULL;
        size_t n;

        for (size_t j = 0; past && j < m->nranges; j++) {
            rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_find(
                list, m->ranges[j].topic, m->ranges[j].partition);

            past = tp && tp->err == RD_KAFKA_RESP_ERR_NO_ERROR && tp->offset > m->ranges[j].last;
        }
        if (!past)
            continue;
        if (dp_manifest_delete(r->client, r->cfg, m, &err) < 0) {
            dp_log(DP_LOG_WARN, "recover", "pruning manifest %.16s: %s", m->key, err.msg);
            continue;
        }
        nm++;
        n = dp_loadops_manifest_paths(r->ops, m, &mp);
        paths = dp_realloc(paths, (npaths + n + 1) * sizeof(*paths));
        for (size_t i = 0; i < n; i++)
            paths[npaths++] = mp[i];
        free(mp);
    }
    rd_kafka_topic_partition_list_destroy(list);
    dp_loadops_delete(r->ops, paths, npaths, beat, r);
    for (size_t i = 0; i < npaths; i++)
        free(paths[i]);
    free(paths);
    if (nm > 0) {
        atomic_fetch_add(&r->pruned, nm);
        dp_metrics_add(DP_MC_MANIFESTS_PRUNED, nm);
        dp_log(DP_LOG_INFO, "recover", "pruned %zu manifest(s) every owner had committed past", nm);
    }
}

/* ------------------------------------------------------------------------- */
/* A batch                                                                   */
/* ------------------------------------------------------------------------- */

static void batch_free(batch_t *b)
{
    for (size_t i = 0; b->seen && i < b->nseen; i++)
        free(b->seen[i]);
    for (size_t k = 0; k < b->nkeys; k++) {
        free(b->keys[k]);
        dp_manifest_destroy(b->ms ? b->ms[k] : NULL);
    }
    free(b->seen);
    free(b->keys);
    free(b->ms);
    free(b->pending);
    free(b->floor);
    free(b->ledger_fp);
    free(b->ledger_through);
}

/* Claims b->parts and finishes what is pending on them. */
static int run_batch(batch_t *b, dp_err_t *err)
{
    dp_recover_t *r = b->r;
    const char *topics[MAX_TOPICS];
    size_t nt = batch_topics(b, topics, MAX_TOPICS);
    int rc;

    for (size_t i = 0; i < b->n; i++) {
        b->parts[i].anchor = -1;
        b->parts[i].won = 1;
        b->parts[i].moved = 0;
        b->parts[i].stop = 0;
        b->ledger_through[i] = b->ledger_fp[i] = -1;
    }
    if ((rc = dp_loadops_setup(r->ops, beat, r, err)) < 0)
        return rc;
    /* Claims (SUCCEEDED) and ledgers, before anything is read about pending
     * flushes (H1). */
    rc = claim_topics(b, topics, nt, err);
    if (rc == 0)
        rc = read_manifests(b, err);
    if (rc < 0)
        return rc;
    mark_pending(b);
    for (size_t t = 0; t < nt && rc == 0; t++) {
        beat(r);
        rc = publish_topic(b, topics[t], err);
    }
    if (rc == 0)
        rc = judge_pending(b, err);
    if (rc == 0)
        rc = same_tables(b, err);
    if (rc == 0)
        rc = finish_pending(b, err);
    if (rc == 0) {
        advance(b);
        check_ends(b);
    }
    if (rc == 0)
        dp_log(DP_LOG_INFO, "recover",
               "claimed %zu partition(s) in %zu topic(s); %zu pending "
               "manifest(s) listed",
               b->n, nt, b->nkeys);
    return rc;
}

/* Stages and loads the sync_runs row of one lost range. */
static int record_gap(dp_recover_t *r, const dp_recover_part_t *g, dp_err_t *err)
{
    char text[512], key[DP_STAGENAME_KEY_SIZE], path[DP_STAGENAME_PATH_SIZE], ranges[400];
    unsigned char md[32];
    unsigned int mdlen = 0;
    dp_buf_t rows;
    dp_sysrows_run_t run;
    long long inserted = 0;
    int rc;

    snprintf(text, sizeof(text), "gap/%s/%s/%d/%lld/%lld", r->incarnation, g->topic,
             (int)g->partition, (long long)g->start, (long long)g->committed_fp);
    EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL);
    for (unsigned int i = 0; i < 32; i++)
        snprintf(key + 2 * i, 3, "%02x", md[i]);
    snprintf(ranges, sizeof(ranges),
             "[{\"topic\":\"%s\",\"partition\":%d,\"first\":%lld,"
             "\"last\":%lld}]",
             g->topic, (int)g->partition, (long long)g->start, (long long)g->committed_fp);
    memset(&run, 0, sizeof(run));
    run.run_key = key;
    run.worker_id = r->worker_id;
    run.table = "";
    run.file_path = "";
    run.ranges_json = ranges;
    run.status = "LOST_TO_RETENTION";
    run.kind = "gap";
    run.rows = g->committed_fp - g->start + 1;
    run.started_at_us = run.finished_at_us = dp_clock_wall_us();
    dp_buf_init(&rows, 64 * 1024);
    if ((rc = dp_sysrows_run(&rows, &run, err)) == 0 &&
        (rc = dp_loadops_path(r->ops, DP_RUNS_TABLE, key, path, err)) == 0 &&
        (rc = dp_loadops_setup(r->ops, beat, r, err)) == 0 &&
        (rc = dp_loadops_stage_rows(r->ops, r->client, DP_RUNS_TABLE, path, &rows, 1, NULL, err)) ==
            0)
        rc = dp_loadops_copy(r->ops, r->client, DP_RUNS_TABLE, path, &inserted, err);
    dp_buf_free(&rows);
    return rc;
}

static void *recover_main(void *arg)
{
    dp_recover_t *r = arg;
    int failures = 0;
    long long next_try = 0;

    pthread_mutex_lock(&r->mu);
    while (!r->stop) {
        beat(r);
        if (r->ngaps > 0 && dp_clock_mono_ms() >= next_try) {
            dp_recover_part_t g = r->gaps[0];
            dp_err_t err;
            int rc;

            pthread_mutex_unlock(&r->mu);
            rc = record_gap(r, &g, &err);
            pthread_mutex_lock(&r->mu);
            if (rc == 0) {
                free(g.topic);
                memmove(r->gaps, r->gaps + 1, (r->ngaps - 1) * sizeof(*r->gaps));
                r->ngaps--;
            } else {
                long delay = dp_retry_next_delay(r->retry, ++failures, -1) + 500;

                next_try = dp_clock_mono_ms() + delay;
                dp_log(DP_LOG_ERROR, "recover",
                       "recording a range lost to retention failed; "
                       "retrying in %ld ms: %s",
                       delay, err.msg);
            }
        } else if (r->nqueue > 0 && dp_clock_mono_ms() >= next_try) {
            batch_t b;
            dp_err_t err;
            int rc;

            memset(&b, 0, sizeof(b));
            b.r = r;
            b.parts = r->queue;
            b.n = r->nqueue;
            r->queue = NULL;
            r->nqueue = 0;
            r->inflight = b.n;
            pthread_mutex_unlock(&r->mu);
            b.floor = dp_calloc(b.n, sizeof(*b.floor));
            b.ledger_fp = dp_calloc(b.n, sizeof(*b.ledger_fp));
            b.ledger_through = dp_calloc(b.n, sizeof(*b.ledger_through));
            b.seen = dp_calloc(b.n, sizeof(*b.seen));
            b.nseen = b.n;
            {
                /* Keep the inputs: a failed batch is retried from them. */
                int64_t *starts = dp_calloc(b.n, sizeof(*starts));

                for (size_t i = 0; i < b.n; i++)
                    starts[i] = b.parts[i].start;
                rc = run_batch(&b, &err);
                if (rc < 0) {
                    for (size_t i = 0; i < b.n; i++)
                        b.parts[i].start = starts[i];
                }
                free(starts);
            }
            pthread_mutex_lock(&r->mu);
            r->inflight = 0;
            if (rc == 0) {
                append_parts(&r->done, &r->ndone, b.parts, b.n, 0);
                free(b.parts);
                b.parts = NULL;
                b.n = 0;
                failures = 0;
                pthread_mutex_unlock(&r->mu);
                prune(&b);
                pthread_mutex_lock(&r->mu);
            } else {
                long delay = dp_retry_next_delay(r->retry, ++failures, -1) + 500;

                /* Back in front of what arrived meanwhile. */
                append_parts(&b.parts, &b.n, r->queue, r->nqueue, 0);
                free(r->queue);
                r->queue = b.parts;
                r->nqueue = b.n;
                b.parts = NULL;
                b.n = 0;
                next_try = dp_clock_mono_ms() + delay;
                dp_log(DP_LOG_ERROR, "recover",
                       "claiming %zu partition(s) failed; they stay "
                       "paused and are claimed again in %ld ms: %s",
                       r->nqueue, delay, err.msg);
            }
            batch_free(&b);
        } else {
            struct timespec ts = dp_clock_deadline(200);

            pthread_cond_timedwait(&r->cv, &r->mu, &ts);
        }
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

/* ------------------------------------------------------------------------- */
/* API                                                                       */
/* ------------------------------------------------------------------------- */

dp_recover_t *dp_recover_new(const dp_recover_opts_t *opts, dp_err_t *err)
{
    dp_recover_t *r = dp_calloc(1, sizeof(*r));

    r->cfg = opts->cfg;
    r->incarnation = dp_strdup(opts->incarnation);
    r->worker_id = dp_strdup(opts->worker_id);
    r->ops = opts->ops;
    r->retry = dp_retry_new(NULL, NULL, 0);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    atomic_store(&r->heartbeat_ms, dp_clock_mono_ms());
    r->client = dp_dbxconn_new_client(opts->conn, opts->cfg, beat, r, err);
    if (!r->client)
        goto fail;
    if (pthread_create(&r->thread, NULL, recover_main, r) != 0) {
        dp_err_set(err, DP_EFAIL, 0, "recover: cannot start its thread");
        goto fail;
    }
    r->started = 1;
    return r;
fail:
    dp_recover_destroy(r);
    return NULL;
}

void dp_recover_destroy(dp_recover_t *r)
{
    if (!r)
        return;
    if (r->started) {
        pthread_mutex_lock(&r->mu);
        r->stop = 1;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
        pthread_join(r->thread, NULL);
    }
    dp_recover_parts_free(r->queue, r->nqueue);
    dp_recover_parts_free(r->done, r->ndone);
    dp_recover_parts_free(r->gaps, r->ngaps);
    dp_dbx_client_destroy(r->client);
    dp_retry_destroy(r->retry);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r->incarnation);
    free(r->worker_id);
    free(r);
}

void dp_recover_set_kafka(dp_recover_t *r, rd_kafka_t *rk)
{
    pthread_mutex_lock(&r->mu);
    r->rk = rk;
    pthread_mutex_unlock(&r->mu);
}

void dp_recover_submit(dp_recover_t *r, const dp_recover_part_t *parts, size_t n)
{
    pthread_mutex_lock(&r->mu);
    append_parts(&r->queue, &r->nqueue, parts, n, 1);
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

void dp_recover_record_gap(dp_recover_t *r, const char *topic, int32_t partition, int64_t first,
                           int64_t last)
{
    dp_recover_part_t g;

    memset(&g, 0, sizeof(g));
    g.topic = (char *)topic;
    g.partition = partition;
    g.start = first;
    g.committed_fp = last;
    pthread_mutex_lock(&r->mu);
    append_parts(&r->gaps, &r->ngaps, &g, 1, 1);
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

void dp_recover_forget(dp_recover_t *r, const char *topic, int32_t partition)
{
    size_t keep = 0;

    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->nqueue; i++) {
        if (r->queue[i].partition == partition && strcmp(r->queue[i].topic, topic) == 0)
            free(r->queue[i].topic);
        else
            r->queue[keep++] = r->queue[i];
    }
    r->nqueue = keep;
    pthread_mutex_unlock(&r->mu);
}

size_t dp_recover_take(dp_recover_t *r, dp_recover_part_t **out)
{
    size_t n;

    pthread_mutex_lock(&r->mu);
    *out = r->done;
    n = r->ndone;
    r->done = NULL;
    r->ndone = 0;
    pthread_mutex_unlock(&r->mu);
    return n;
}

size_t dp_recover_pending(dp_recover_t *r)
{
    size_t n;

    pthread_mutex_lock(&r->mu);
    n = r->nqueue + r->inflight + r->ndone;
    pthread_mutex_unlock(&r->mu);
    return n;
}

long long dp_recover_heartbeat_age_ms(dp_recover_t *r)
{
    return dp_clock_mono_ms() - atomic_load(&r->heartbeat_ms);
}

uint64_t dp_recover_completed(dp_recover_t *r)
{
    return atomic_load(&r->completed);
}

uint64_t dp_recover_repaired(dp_recover_t *r)
{
    return atomic_load(&r->repaired);
}

uint64_t dp_recover_pruned(dp_recover_t *r)
{
    return atomic_load(&r->pruned);
}
