/*
 * loader_load: the loader's work on Databricks (see loader.h): one flush with
 * its manifest, rejected rows, retiring, and the group-wide event counts.
 *
 * One flush, in order (the order is the protocol; steps of one kind run
 * concurrently on the dbxpool's lanes):
 *   1. its tables exist (created and their ids read once per process);
 *   2. every table's container file is built and uploaded;
 *   3. the manifest is written (one Files call);
 *   4. the claims judge it (one statement per topic): a fenced flush stops;
 *   5. every file is loaded by COPY INTO;
 *   6. rows Databricks refused go to event_errors (an extra file);
 *   7. the bookkeeping: ledger and sync_runs, two COPY INTOs at once.
 * What succeeded is remembered for the job, so that a retry redoes only what
 * failed.
 */
#include "load/loader_int.h"

#include "batch/sysrows.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "dbx/sql.h"
#include "load/claims.h"
#include "load/sink_zerobus.h"
#include "load/stmt.h"
#include "ops/health.h"
#include "ops/metrics.h"
#include "stage/avrofile.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void dp_loader__beat(void *ctx)
{
    dp_loader_t *loader = ctx;

    atomic_store(&loader->heartbeat_ms, dp_clock_mono_ms());
    dp_health_beat(DP_HEALTH_LOADER);
}

static void beat(void *ctx)
{
    dp_loader__beat(ctx);
}

/* Adds the calls the loader's own client made since *mark to the job. */
static void count_own(dp_loader_t *loader, dp_dbx_counts_t *mark)
{
    dp_dbx_counts_t now;

    dp_dbx_client_counts(loader->client, &now);
    for (int i = 0; i < DP_DBX_CALL_COUNT_; i++)
        loader->prog.cost.calls[i] += now.calls[i] - mark->calls[i];
    *mark = now;
}

/* ------------------------------------------------------------------------- */
/* The job's set-up                                                          */
/* ------------------------------------------------------------------------- */

/* The flush key: a hash of its sorted offset ranges (stagename.h). */
static int flush_key(const dp_loader_t *loader, const dp_flush_t *flush,
                     char key[DP_STAGENAME_KEY_SIZE], dp_err_t *err)
{
    size_t n = dp_flush_nranges(flush), k = 0;
    dp_range_t *ranges = dp_calloc(n ? n : 1, sizeof(*ranges));
    int rc;

    for (size_t i = 0; i < n; i++) {
        dp_range_t *r = &ranges[k];

        if (dp_flush_range(flush, i, &r->topic, &r->partition, &r->first, &r->last) == 0) {
            r->incarnation = loader->incarnation;
            r->epoch = dp_flush_range_epoch(flush, i);
            k++;
        }
    }
    rc = dp_stagename_key(ranges, k, key, err);
    free(ranges);
    return rc;
}

/* The manifest of a flush (ranges and counts; files are added once staged). */
static dp_manifest_t *manifest_of(const dp_loader_t *loader, const dp_flush_t *flush,
                                  const char *key, const dp_loader_stat_t *stats, size_t nstats)
{
    dp_manifest_t *m =
        dp_manifest_new(key, loader->incarnation, loader->worker_id, dp_flush_opened_at(flush));
    int32_t day = (int32_t)(dp_flush_opened_at(flush) / 1000000 / 86400);

    for (size_t i = 0; i < dp_flush_nranges(flush); i++) {
        const char *topic;
        int32_t part;
        int64_t first, last;

        if (dp_flush_range(flush, i, &topic, &part, &first, &last) == 0) {
            dp_manifest_range_t *r;

            dp_manifest_add_range(m, topic, part, first, last, dp_flush_range_epoch(flush, i));
            r = &m->ranges[m->nranges - 1];
            r->fp = dp_flush_range_fp(flush, i);
            dp_flush_range_ts(flush, i, &r->ts_min, &r->ts_max); /* the ledger's time index */
        }
    }
    for (size_t i = 0; i < nstats; i++)
        dp_manifest_add_count(m, stats[i].name, day, stats[i].count);
    return m;
}

void dp_loader__clear_prog(dp_loader_t *loader)
{
    dp_loader_prog_t *p = &loader->prog;

    for (size_t i = 0; i < p->nfiles; i++) {
        free(p->files[i].refused_why);
        dp_sink_zb_table_free(p->files[i].zb);
    }
    free(p->files);
    free(p->extra.refused_why);
    dp_manifest_destroy(p->m);
    memset(p, 0, sizeof(*p));
}

static int prog_init(dp_loader_t *loader, const dp_flush_t *flush, const dp_loader_stat_t *stats,
                     size_t nstats, dp_err_t *err)
{
    dp_loader_prog_t *p = &loader->prog;
    size_t nt = dp_flush_ntables(flush);

    if (p->ready && p->seq == dp_flush_seq(flush))
        return 0;
    dp_loader__clear_prog(loader);
    p->seq = dp_flush_seq(flush);
    if (flush_key(loader, flush, p->key, err) < 0)
        return DP_EINVAL;
    p->files = dp_calloc(nt + 1, sizeof(*p->files));
    for (size_t ti = 0; ti < nt; ti++) {
        int64_t rows = 0;
        const char *table = dp_flush_table(flush, ti, &rows);
        dp_loader_file_t *f = &p->files[p->nfiles];

        if (rows == 0)
            continue;
        f->table = table;
        f->ti = ti;
        f->rows = rows; /* the file's once staged; orders the jobs until then */
        if (dp_loadops_path(loader->ops, table, p->key, f->path, err) < 0)
            return DP_EINVAL;
        p->nfiles++;
    }
    p->m = manifest_of(loader, flush, p->key, stats, nstats);
    p->started_us = dp_clock_wall_us();
    p->ready = 1;
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Jobs on the lanes                                                         */
/* ------------------------------------------------------------------------- */

typedef struct file_job {
    dp_loader_t *loader;
    const dp_flush_t *flush;
    dp_loader_file_t *f;
} file_job_t;

struct appender {
    dp_avrofile_t *file;
    int rc;
    dp_err_t *err;
};

static void append_records(void *ctx, const void *data, size_t len, int64_t n)
{
    struct appender *a = ctx;

    if (a->rc == 0)
        a->rc = dp_avrofile_append_encoded(a->file, data, len, (uint64_t)n, a->err);
}

static int fill_table(void *ctx, dp_avrofile_t *file, dp_err_t *err)
{
    file_job_t *fj = ctx;
    struct appender a = {file, 0, err};

    dp_flush_table_records(fj->flush, fj->f->ti, append_records, &a);
    return a.rc < 0 ? DP_EFAIL : 0;
}

static int stage_job(dp_dbx_client_t *client, void *arg, dp_err_t *err)
{
    file_job_t *fj = arg;
    int rc;

    /* A table new to this process is created (and its id read) by the
     * same job, concurrently with the other tables' uploads. */
    if ((rc = dp_loadops_prepare_table(fj->loader->ops, client, fj->f->table, err)) < 0)
        return rc;
    fj->f->started_us = dp_clock_wall_us();
    rc = dp_loadops_stage(fj->loader->ops, client, fj->f->table, fj->f->path, fill_table, fj,
                          &fj->f->rows, &fj->f->bytes, err);
    fj->f->stage_ms = (dp_clock_wall_us() - fj->f->started_us) / 1000;
    return rc;
}

/* Sink zerobus: the table's rows go through Zerobus from the flush in
 * memory (converted to JSON on this lane); refused rows stay in f->zb for
 * event_errors, and what was acknowledged is not sent again on a retry. */
static int zerobus_job(dp_sink_zb_t *zb, dp_dbx_client_t *client, file_job_t *fj, dp_err_t *err)
{
    dp_sink_zb_result_t res;
    int rc = dp_sink_zb_load_flush_table(zb, client, fj->flush, fj->f->ti, fj->loader->worker_id,
                                         &fj->f->zb, &res, NULL, NULL, err);

    fj->f->inserted = res.acked;
    if (rc == DP_ENOTFOUND) {
        /* The raw table is gone, and with it the rows acknowledged into it:
         * created again by the next attempt's prepare, every row sent again. */
        dp_loadops_forget_table(fj->loader->ops, fj->f->table);
        dp_sink_zb_table_free(fj->f->zb);
        fj->f->zb = NULL;
        fj->f->staged = 0;
        err->retryable = 1;
        rc = DP_EFAIL;
    }
    return rc;
}

static int copy_job(dp_dbx_client_t *client, void *arg, dp_err_t *err)
{
    file_job_t *fj = arg;
    int64_t t0 = dp_clock_wall_us();
    dp_sink_zb_t *zb = dp_loadops_sink(fj->loader->ops);
    int rc = zb && !dp_tablename_is_system(fj->f->table)
                 ? zerobus_job(zb, client, fj, err)
                 : dp_loadops_load(fj->loader->ops, client, fj->f->table, fj->f->path, fj->f->rows,
                                   &fj->f->inserted, &fj->f->duplicates, err);

    fj->f->copy_ms = (dp_clock_wall_us() - t0) / 1000;
    return rc;
}

static int by_rows_desc(const void *a, const void *b)
{
    const file_job_t *x = a, *y = b;

    return x->f->rows < y->f->rows ? 1 : x->f->rows > y->f->rows ? -1 : 0;
}

/* Runs fn over the files of the job that want it (want(f) true),
 * concurrently; marks each done with mark(f, rc, err). Returns the first
 * failure that mark did not absorb, or 0. */
static int run_files(dp_loader_t *loader, const dp_flush_t *flush, dp_dbxpool_fn fn,
                     int (*want)(const dp_loader_file_t *),
                     int (*mark)(dp_loader_t *, dp_loader_file_t *, int, const dp_err_t *),
                     dp_err_t *err)
{
    dp_loader_prog_t *p = &loader->prog;
    dp_dbxpool_job_t *jobs = dp_calloc(p->nfiles + 1, sizeof(*jobs));
    file_job_t *fjs = dp_calloc(p->nfiles + 1, sizeof(*fjs));
    size_t n = 0;
    int rc = 0;

    for (size_t i = 0; i < p->nfiles; i++) {
        if (want(&p->files[i]))
            fjs[n++] = (file_job_t){loader, flush, &p->files[i]};
    }
    /* The largest first: the flush takes about as long as its largest file. */
    qsort(fjs, n, sizeof(*fjs), by_rows_desc);
    for (size_t i = 0; i < n; i++) {
        jobs[i].fn = fn;
        jobs[i].arg = &fjs[i];
    }
    dp_dbxpool_run(dp_loadops_pool(loader->ops), jobs, n, beat, loader);
    for (size_t i = 0; i < n; i++) {
        int r;

        dp_dbx_counts_add(&p->cost, &jobs[i].cost);
        dp_dbx_counts_add(&fjs[i].f->cost, &jobs[i].cost);
        r = mark(loader, fjs[i].f, jobs[i].rc, &jobs[i].err);
        if (r < 0 && rc == 0) {
            rc = r;
            *err = jobs[i].err;
        }
    }
    free(jobs);
    free(fjs);
    return rc;
}

static int want_stage(const dp_loader_file_t *f)
{
    return !f->staged;
}

static int mark_staged(dp_loader_t *loader, dp_loader_file_t *f, int rc, const dp_err_t *err)
{
    (void)loader;
    (void)err;
    f->staged = rc == 0;
    return rc;
}

static int want_copy(const dp_loader_file_t *f)
{
    return !f->copied && !f->refused;
}

/* A COPY INTO that Databricks refused because of the data: an event
 * table's rows go to event_errors and the flush goes on; our own rows
 * refused by a system table are retried, never dropped. */
static int mark_copied(dp_loader_t *loader, dp_loader_file_t *f, int rc, const dp_err_t *err)
{
    (void)loader;
    f->finished_us = dp_clock_wall_us();
    if (rc == 0) {
        f->copied = 1;
        dp_log(DP_LOG_INFO, "loader", "%s: %lld rows staged, %lld inserted, %lld bytes (%s)",
               f->table, (long long)f->rows, f->inserted, (long long)f->bytes, f->path);
        return 0;
    }
    if (rc == DP_EINVAL && !dp_tablename_is_system(f->table)) {
        f->refused = 1;
        f->refused_why = dp_strdup(err->msg);
        dp_log(DP_LOG_ERROR, "loader", "%s refused %lld rows; they go to event_errors: %s",
               f->table, (long long)f->rows, err->msg);
        return 0;
    }
    return rc == DP_EINVAL ? DP_EFAIL : rc;
}

/* ------------------------------------------------------------------------- */
/* Rejected rows                                                             */
/* ------------------------------------------------------------------------- */

struct rejecter {
    dp_loader_t *loader;
    dp_buf_t *out; /* event_errors records */
    dp_buf_t body; /* scratch */
    const char *why;
    int64_t n;
    dp_err_t *err;
};

/* One refused row becomes one event_errors record with the row's lineage. */
static int reject_row(void *ctx, const dp_flush_record_t *rec)
{
    struct rejecter *r = ctx;

    dp_buf_reset(&r->body);
    if (dp_sysrows_error(&r->body, "LOAD_REJECTED", r->why, rec->body, rec->body_len,
                         r->loader->worker_id, r->err) < 0 ||
        dp_buf_append(r->out, dp_buf_data(&r->body), dp_buf_len(&r->body), r->err) < 0 ||
        dp_buf_append(r->out, rec->lineage, rec->lineage_len, r->err) < 0)
        return DP_ETOOBIG;
    r->n++;
    return 0;
}

/* The key of the extra event_errors file of a flush whose table was refused:
 * hex SHA-256 of "<key>/rejected", deterministic like the key itself. */
static void rejected_key(const char *key, char out[DP_STAGENAME_KEY_SIZE])
{
    unsigned char md[32];
    char text[DP_STAGENAME_KEY_SIZE + 16];
    unsigned int mdlen = 0;

    snprintf(text, sizeof(text), "%s/rejected", key);
    EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL);
    for (unsigned int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

typedef struct extra_job {
    dp_loader_t *loader;
    dp_buf_t rows;
    int64_t n;
} extra_job_t;

static int extra_job(dp_dbx_client_t *client, void *arg, dp_err_t *err)
{
    extra_job_t *ej = arg;
    dp_loader_file_t *f = &ej->loader->prog.extra;
    int rc = dp_loadops_stage_rows(ej->loader->ops, client, DP_ERRORS_TABLE, f->path, &ej->rows,
                                   ej->n, &f->bytes, err);

    f->rows = ej->n;
    if (rc == 0)
        rc = dp_loadops_copy(ej->loader->ops, client, DP_ERRORS_TABLE, f->path, &f->inserted, err);
    return rc == DP_EINVAL ? DP_EFAIL : rc;
}

/* Turns the rows of every refused table into one event_errors file and
 * loads it. */
static int load_rejections(dp_loader_t *loader, const dp_flush_t *flush, dp_err_t *err)
{
    dp_loader_prog_t *p = &loader->prog;
    extra_job_t ej = {loader, {0}, 0};
    dp_dbxpool_job_t job;
    char key2[DP_STAGENAME_KEY_SIZE];
    int rc = 0;

    if (p->extra_done)
        return 0;
    dp_buf_init(&ej.rows, SIZE_MAX);
    for (size_t i = 0; i < p->nfiles && rc == 0; i++) {
        struct rejecter r = {loader, &ej.rows, {0}, p->files[i].refused_why, 0, err};
        int64_t nz = 0;
        const dp_buf_t *zr = dp_sink_zb_rejects(p->files[i].zb, &nz);

        if (!p->files[i].refused) {
            /* Rows Zerobus refused one by one (sink zerobus). */
            if (nz > 0 && dp_buf_append(&ej.rows, dp_buf_data(zr), dp_buf_len(zr), err) < 0)
                rc = DP_ETOOBIG;
            ej.n += nz;
            continue;
        }
        dp_buf_init(&r.body, 2 * DP_SYSROWS_RAW_MAX);
        rc = dp_flush_table_each(flush, p->files[i].ti, reject_row, &r);
        dp_buf_free(&r.body);
        ej.n += r.n;
    }
    if (rc == 0 && ej.n > 0) {
        rejected_key(p->key, key2);
        p->extra.table = DP_ERRORS_TABLE;
        p->extra.started_us = dp_clock_wall_us();
        if ((rc = dp_loadops_path(loader->ops, DP_ERRORS_TABLE, key2, p->extra.path, err)) == 0) {
            memset(&job, 0, sizeof(job));
            job.fn = extra_job;
            job.arg = &ej;
            dp_dbxpool_run(dp_loadops_pool(loader->ops), &job, 1, beat, loader);
            dp_dbx_counts_add(&p->cost, &job.cost);
            p->extra.cost = job.cost;
            p->extra.finished_us = dp_clock_wall_us();
            if ((rc = job.rc) < 0)
                *err = job.err;
        }
    }
    if (rc == 0)
        p->extra_done = 1;
    dp_buf_free(&ej.rows);
    return rc;
}

/* ------------------------------------------------------------------------- */
/* One flush                                                                 */
/* ------------------------------------------------------------------------- */

/* The flush's ranges as JSON for sync_runs: [{"topic","partition","first","last"}]. */
static char *ranges_json(const dp_flush_t *flush)
{
    json_t *arr = json_array();
    char *text;

    for (size_t i = 0; i < dp_flush_nranges(flush); i++) {
        const char *topic;
        int32_t part;
        int64_t first, last;

        if (dp_flush_range(flush, i, &topic, &part, &first, &last) == 0)
            json_array_append_new(arr, json_pack("{s:s,s:i,s:I,s:I}", "topic", topic, "partition",
                                                 (int)part, "first", (json_int_t)first, "last",
                                                 (json_int_t)last));
    }
    text = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return text;
}

/* One poll of may_load (dp_retry_poll). */
typedef struct may_load_poll {
    dp_loader_t *loader;
    const dp_manifest_t *m;
    dp_claims_verdict_t *verdict;
    char *why;
    size_t whylen;
    dp_err_t *err;
} may_load_poll_t;

/* Returns a DP_E* code, 1 while the verdict is undecided, else 0. */
static int may_load_once(void *ctx)
{
    may_load_poll_t *mp = ctx;
    int rc = dp_claims_judge(mp->loader->client, mp->loader->cfg, mp->m, mp->verdict, mp->why,
                             mp->whylen, mp->err);

    if (rc < 0)
        return rc;
    if (*mp->verdict != DP_CLAIMS_UNDECIDED)
        return 0;
    dp_loader__beat(mp->loader);
    return 1;
}

/* After the manifest is written: may this worker load it? A partition of
 * the flush may have moved while it was staged (this worker stalled past its
 * session timeout, or a revoke's drain ran out of time): then the new owner's
 * claim decides (claims.h). Returns 0 (load it), 1 (fenced: nobody loads it;
 * the flush is marked and the caller reports success so the worker learns it),
 * or a DP_E* code (not known yet or Databricks failed: the job is retried). */
static int may_load(dp_loader_t *loader, dp_flush_t *flush, const dp_manifest_t *m, dp_err_t *err)
{
    dp_claims_verdict_t verdict = DP_CLAIMS_UNDECIDED;
    char why[512];
    may_load_poll_t mp = {loader, m, &verdict, why, sizeof(why), err};
    int rc;

    if ((rc = dp_retry_poll(loader->retry, 40, 250, may_load_once, &mp)) < 0)
        return rc;
    if (verdict == DP_CLAIMS_VALID)
        return 0;
    if (verdict == DP_CLAIMS_UNDECIDED)
        return dp_err_set(err, DP_EAGAIN, 1, "flush %.16s: %s", m->key, why);
    dp_log(DP_LOG_WARN, "loader",
           "flush %.16s fenced, not loaded (its partitions are read "
           "again by their owners): %s",
           m->key, why);
    dp_metrics_add(DP_MC_FLUSHES_FENCED, 1);
    if (dp_manifest_delete(loader->client, loader->cfg, m, err) < 0)
        dp_log(DP_LOG_WARN, "loader", "deleting fenced manifest %.16s: %s (it stays void)", m->key,
               err->msg);
    dp_flush_set_fenced(flush, 1);
    return 1;
}

static int file_row(dp_buf_t *runs, const dp_loader_t *loader, const dp_loader_file_t *f,
                    const char *ranges, dp_err_t *err)
{
    dp_sysrows_run_t run;

    memset(&run, 0, sizeof(run));
    run.run_key = loader->prog.key;
    run.worker_id = loader->worker_id;
    run.table = f->table;
    run.file_path = f->path;
    run.ranges_json = ranges;
    run.status = f->refused ? "REJECTED" : "LOADED";
    run.kind = "file";
    run.rows = f->rows;
    run.bytes = f->bytes;
    run.inserted_rows = f->inserted;
    run.duplicates = f->duplicates;
    run.started_at_us = f->started_us;
    run.finished_at_us = f->finished_us;
    run.statements = f->cost.calls[DP_DBX_CALL_STATEMENT];
    run.files_calls = f->cost.calls[DP_DBX_CALL_FILES_WRITE] +
                      f->cost.calls[DP_DBX_CALL_FILES_READ] +
                      f->cost.calls[DP_DBX_CALL_FILES_MKDIR];
    run.load_ms = f->stage_ms + f->copy_ms; /* this table's own load */
    return dp_sysrows_run(runs, &run, err);
}

/* The sync_runs rows of the job: one per file, one for the rejected rows,
 * and the flush's own row with its totals. The two statements and two
 * uploads of the bookkeeping itself are counted in advance. */
static int64_t sync_rows(dp_loader_t *loader, const dp_flush_t *flush, dp_buf_t *runs,
                         dp_err_t *err)
{
    dp_loader_prog_t *p = &loader->prog;
    char *ranges = ranges_json(flush);
    int64_t n = 0, rows = 0, bytes = 0, ins = 0, dups = 0;
    dp_sysrows_run_t run;
    int rc = 0;

    for (size_t i = 0; i < p->nfiles && rc == 0; i++, n++) {
        rc = file_row(runs, loader, &p->files[i], ranges, err);
        rows += p->files[i].rows;
        bytes += p->files[i].bytes;
        ins += p->files[i].inserted;
        dups += p->files[i].duplicates;
    }
    if (rc == 0 && p->extra.table) {
        rc = file_row(runs, loader, &p->extra, ranges, err);
        bytes += p->extra.bytes;
        ins += p->extra.inserted;
        n++;
    }
    memset(&run, 0, sizeof(run));
    run.run_key = p->key;
    run.worker_id = loader->worker_id;
    run.table = "";
    run.file_path = "";
    run.ranges_json = ranges;
    run.status = "FLUSH";
    run.kind = "flush";
    run.rows = rows;
    run.bytes = bytes;
    run.inserted_rows = ins;
    run.duplicates = dups;
    run.started_at_us = p->started_us;
    run.finished_at_us = dp_clock_wall_us();
    run.statements = p->cost.calls[DP_DBX_CALL_STATEMENT] + 2;
    run.files_calls = p->cost.calls[DP_DBX_CALL_FILES_WRITE] +
                      p->cost.calls[DP_DBX_CALL_FILES_READ] +
                      p->cost.calls[DP_DBX_CALL_FILES_MKDIR] + 2;
    run.load_ms = (run.finished_at_us - run.started_at_us) / 1000;
    if (rc == 0)
        rc = dp_sysrows_run(runs, &run, err);
    free(ranges);
    return rc < 0 ? rc : n + 1;
}

int dp_loader__load_flush(dp_loader_t *loader, dp_flush_t *flush, const dp_loader_stat_t *stats,
                          size_t nstats, dp_err_t *err)
{
    dp_loader_prog_t *p = &loader->prog;
    dp_dbx_counts_t mark;
    dp_buf_t runs;
    int64_t nruns;
    int rc;

    dp_dbx_client_counts(loader->client, &mark);
    dp_buf_init(&runs, 64 * 1024 * 1024);
    if ((rc = dp_loadops_setup(loader->ops, beat, loader, err)) < 0 ||
        (rc = prog_init(loader, flush, stats, nstats, err)) < 0)
        goto out;
    /* 1-2. Every table created (once per process) and its file staged. */
    if ((rc = run_files(loader, flush, stage_job, want_stage, mark_staged, err)) < 0)
        goto out;
    /* 3. The manifest, once every file it names is uploaded. */
    if (!p->manifest_written) {
        for (size_t i = 0; i < p->m->nfiles; i++)
            free(p->m->files[i].table), free(p->m->files[i].path), free(p->m->files[i].table_id);
        p->m->nfiles = 0;
        for (size_t i = 0; i < p->nfiles; i++) {
            char id[DP_CLAIMS_TABLE_ID_SIZE];

            dp_manifest_add_file(p->m, p->files[i].table, p->files[i].path, p->files[i].rows,
                                 p->files[i].bytes);
            dp_loadops_table_id(loader->ops, p->files[i].table, id);
            dp_manifest_set_table_id(p->m, p->m->nfiles - 1, id[0] ? id : NULL);
        }
        if ((rc = dp_manifest_write(loader->client, loader->cfg, p->m, err)) < 0)
            goto out;
        p->manifest_written = 1;
    }
    /* 4. The claims check (H1). */
    if (!p->judged) {
        if ((rc = may_load(loader, flush, p->m, err)) != 0)
            goto out;
        p->judged = 1;
    }
    /* 5-6. Every file loaded, refused rows as event_errors. */
    if ((rc = run_files(loader, flush, copy_job, want_copy, mark_copied, err)) < 0 ||
        (rc = load_rejections(loader, flush, err)) < 0)
        goto out;
    /* 7. Ledger and sync_runs: only after every COPY INTO succeeded (H3). */
    count_own(loader, &mark);
    if ((nruns = sync_rows(loader, flush, &runs, err)) < 0) {
        rc = (int)nruns;
        goto out;
    }
    if ((rc = dp_loadops_bookkeep(loader->ops, p->m, &runs, nruns, beat, loader, &p->cost, err)) <
        0)
        goto out;
    dp_log(DP_LOG_INFO, "loader",
           "flush %.16s loaded: %zu files, %ld statements, %ld Files "
           "calls, %ld Zerobus inserts, %lld ms",
           p->key, p->nfiles, p->cost.calls[DP_DBX_CALL_STATEMENT],
           p->cost.calls[DP_DBX_CALL_FILES_WRITE] + p->cost.calls[DP_DBX_CALL_FILES_READ] +
               p->cost.calls[DP_DBX_CALL_FILES_MKDIR],
           p->cost.calls[DP_DBX_CALL_ZEROBUS],
           (long long)((dp_clock_wall_us() - p->started_us) / 1000));
out:
    count_own(loader, &mark);
    dp_buf_free(&runs);
    return rc > 0 ? 0 : rc;
}

/* ------------------------------------------------------------------------- */
/* Retiring                                                                  */
/* ------------------------------------------------------------------------- */

/* The paths of a committed flush: its manifest's files, bookkeeping and the
 * rejected rows' file. */
static size_t flush_paths(dp_loader_t *loader, const dp_flush_t *flush, char ***paths,
                          dp_manifest_t **m)
{
    char key[DP_STAGENAME_KEY_SIZE], key2[DP_STAGENAME_KEY_SIZE], path[DP_STAGENAME_PATH_SIZE];
    size_t n;
    dp_err_t err;

    *m = NULL;
    if (flush_key(loader, flush, key, &err) < 0) {
        *paths = NULL;
        return 0;
    }
    *m = manifest_of(loader, flush, key, NULL, 0);
    for (size_t ti = 0; ti < dp_flush_ntables(flush); ti++) {
        int64_t rows = 0;
        const char *table = dp_flush_table(flush, ti, &rows);

        if (rows > 0 && dp_loadops_path(loader->ops, table, key, path, &err) == 0)
            dp_manifest_add_file(*m, table, path, rows, 0);
    }
    n = dp_loadops_manifest_paths(loader->ops, *m, paths);
    rejected_key(key, key2);
    if (dp_loadops_path(loader->ops, DP_ERRORS_TABLE, key2, path, &err) == 0) {
        *paths = dp_realloc(*paths, (n + 1) * sizeof(**paths));
        (*paths)[n++] = dp_strdup(path);
    }
    return n;
}

void dp_loader__retire_files(dp_loader_t *loader, dp_flush_t *const *flushes, size_t nf)
{
    char **all = NULL;
    size_t nall = 0;
    dp_err_t err;

    /* Manifests first, so that nobody finishes a flush whose files go. */
    for (size_t i = 0; i < nf; i++) {
        char **paths = NULL;
        dp_manifest_t *m = NULL;
        size_t n = flush_paths(loader, flushes[i], &paths, &m);

        if (m && dp_manifest_delete(loader->client, loader->cfg, m, &err) < 0)
            dp_log(DP_LOG_WARN, "loader", "deleting the manifest of %.16s: %s", m->key, err.msg);
        dp_manifest_destroy(m);
        all = dp_realloc(all, (nall + n + 1) * sizeof(*all));
        for (size_t k = 0; k < n; k++)
            all[nall++] = paths[k];
        free(paths);
    }
    dp_loadops_delete(loader->ops, all, nall, beat, loader);
    for (size_t i = 0; i < nall; i++)
        free(all[i]);
    free(all);
}

/* ------------------------------------------------------------------------- */
/* Group-wide event counts                                                   */
/* ------------------------------------------------------------------------- */

void dp_loader_stats_free(dp_loader_stat_t *stats, size_t n)
{
    for (size_t i = 0; stats && i < n; i++)
        free(stats[i].name);
    free(stats);
}

static void mark_tables(const dp_dbx_sql_result_t *tables, dp_loader_stat_t *stats, size_t n)
{
    for (size_t i = 0; i < dp_stmt_nrows(tables); i++) {
        /* SHOW TABLES: database, tableName, isTemporary. */
        const char *name = dp_stmt_cell(tables, i, 1);

        if (!name || strncmp(name, DP_TABLENAME_PREFIX, strlen(DP_TABLENAME_PREFIX)) != 0)
            continue;
        for (size_t k = 0; k < n; k++) {
            if (strcmp(stats[k].name, name + strlen(DP_TABLENAME_PREFIX)) == 0)
                stats[k].table_exists = 1;
        }
    }
}

/* Adds the evt_ tables that have no count yet (a name promoted in a window
 * that has passed) as names with a table. */
static size_t add_tables(const dp_dbx_sql_result_t *tables, dp_loader_stat_t **stats, size_t n)
{
    size_t plen = strlen(DP_TABLENAME_PREFIX);

    for (size_t i = 0; i < dp_stmt_nrows(tables); i++) {
        const char *name = dp_stmt_cell(tables, i, 1);
        int known = 0;

        if (!name || strncmp(name, DP_TABLENAME_PREFIX, plen) != 0)
            continue;
        for (size_t k = 0; k < n && !known; k++)
            known = strcmp((*stats)[k].name, name + plen) == 0;
        if (known)
            continue;
        *stats = dp_realloc(*stats, (n + 1) * sizeof(**stats));
        (*stats)[n].name = dp_strdup(name + plen);
        (*stats)[n].count = 0;
        (*stats)[n].table_exists = 1;
        n++;
    }
    return n;
}

int dp_loader__refresh_stats(dp_loader_t *loader)
{
    const dp_config_t *cfg = loader->cfg;
    char q[QUALIFIED_MAX], sql[QUALIFIED_MAX + 200], since[16];
    time_t t = time(NULL) - (time_t)cfg->routing.window_days * 86400;
    dp_dbx_sql_param_t param = {"since", since, "DATE"};
    dp_dbx_sql_result_t res, tables;
    dp_loader_stat_t *stats = NULL;
    size_t n = 0;
    struct tm tm;

    memset(&tables, 0, sizeof(tables));
    dp_err_t err;
    dp_stmt_t s;
    int rc;

    if (dp_tablename_qualified(cfg->databricks.catalog, cfg->databricks.schema, DP_LEDGER_TABLE, q,
                               sizeof(q), &err) < 0)
        return DP_EINVAL;
    gmtime_r(&t, &tm);
    strftime(since, sizeof(since), "%Y-%m-%d", &tm);
    dp_claims_counts_sql(q, sql, sizeof(sql));
    memset(&s, 0, sizeof(s));
    s.what = "read the event counts";
    s.sql = sql;
    s.params = &param;
    s.nparams = 1;
    s.liveness = beat;
    s.liveness_ctx = loader;
    if ((rc = dp_stmt_run(loader->client, cfg, &s, &res, &err)) < 0) {
        dp_log(DP_LOG_WARN, "loader", "%s", err.msg);
        dp_dbx_sql_result_clear(&res);
        return rc;
    }
    stats = dp_calloc(dp_stmt_nrows(&res) + 1, sizeof(*stats));
    for (size_t i = 0; i < dp_stmt_nrows(&res); i++) {
        const char *name = dp_stmt_cell(&res, i, 0);
        long long count = dp_stmt_cell_ll(&res, i, 1, -1);

        if (!name || count < 0)
            continue;
        stats[n].name = dp_strdup(name);
        stats[n].count = count;
        n++;
    }
    dp_dbx_sql_result_clear(&res);
    if (dp_tablename_schema_qualified(cfg->databricks.catalog, cfg->databricks.schema, q, sizeof(q),
                                      &err) == 0) {
        snprintf(sql, sizeof(sql), "SHOW TABLES IN %s", q);
        s.what = "list tables";
        s.sql = sql;
        s.params = NULL;
        s.nparams = 0;
        rc = dp_stmt_run(loader->client, cfg, &s, &tables, &err);
    }
    if (rc == 0) {
        mark_tables(&tables, stats, n);
        n = add_tables(&tables, &stats, n);
    } else {
        dp_log(DP_LOG_WARN, "loader", "%s", err.msg);
    }
    dp_dbx_sql_result_clear(&tables);
    if (rc < 0) {
        dp_loader_stats_free(stats, n);
        return rc;
    }
    pthread_mutex_lock(&loader->mu);
    dp_loader_stats_free(loader->shared, loader->nshared);
    loader->shared = stats;
    loader->nshared = n;
    loader->shared_new = 1;
    loader->shared_known = 1;
    pthread_mutex_unlock(&loader->mu);
    return 0;
}
