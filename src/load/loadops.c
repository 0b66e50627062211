/*
 * loadops: system objects, tables, staging, COPY INTO and bookkeeping shared
 * by the loader and recovery (see loadops.h).
 */
#include "load/loadops.h"

#include "batch/sysrows.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "dbx/files.h"
#include "load/backfill.h"
#include "load/ddl.h"
#include "load/load_merge.h"
#include "load/sink_zerobus.h"
#include "load/stmt.h"
#include "ops/metrics.h"
#include "route/tablename.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILE_MAX    ((size_t)1 << 31)
#define BLOCK_BYTES (64 * 1024)

typedef struct known_table {
    char *name;
    char id[DP_CLAIMS_TABLE_ID_SIZE];
} known_table_t;

struct dp_loadops {
    const dp_config_t *cfg;
    char *incarnation;
    char *worker_id;
    char *staged_schema;  /* canonical + lineage */
    char *staged_columns; /* its columns, backquoted (load_merge.h) */
    char *errors_schema;  /* event_errors body + lineage */
    dp_dbxpool_t *pool;
    dp_sink_zb_t *zb; /* owned; sink "zerobus" only: event rows go through Zerobus */

    pthread_mutex_t setup_mu; /* held while the system objects are made */
    int setup_done;
    int schema_done; /* the schema (and incarnations) made before setup */

    pthread_mutex_t mu; /* guards what follows */
    known_table_t *tables;
    size_t ntables;
    char **dirs;
    size_t ndirs;
};

/* Made by setup. backfills is made by its own thread, when it runs
 * (backfill.h): a pool that does not backfill pays nothing for it. */
static const char *const SYSTEM_TABLES[] = {DP_ERRORS_TABLE, DP_RUNS_TABLE,         DP_LEDGER_TABLE,
                                            DP_CLAIMS_TABLE, DP_INCARNATIONS_TABLE, NULL};

const char *const *dp_loadops_system_tables(void)
{
    return SYSTEM_TABLES;
}

dp_loadops_t *dp_loadops_new(const dp_loadops_opts_t *opts, dp_err_t *err)
{
    dp_loadops_t *ops = dp_calloc(1, sizeof(*ops));

    ops->cfg = opts->cfg;
    ops->incarnation = dp_strdup(opts->incarnation);
    ops->worker_id = dp_strdup(opts->worker_id);
    ops->pool = opts->pool;
    pthread_mutex_init(&ops->setup_mu, NULL);
    pthread_mutex_init(&ops->mu, NULL);
    if (dp_avrofile_staged_schema(opts->canonical_schema, strlen(opts->canonical_schema),
                                  &ops->staged_schema, err) < 0 ||
        dp_avrofile_staged_schema(dp_sysrows_event_errors_schema,
                                  strlen(dp_sysrows_event_errors_schema), &ops->errors_schema,
                                  err) < 0 ||
        !(ops->staged_columns = dp_load_merge_columns(ops->staged_schema, err))) {
        dp_loadops_destroy(ops);
        return NULL;
    }
    if (opts->cfg->sink == DP_CONFIG_SINK_ZEROBUS &&
        !(ops->zb = dp_sink_zb_new(opts->cfg, ops->staged_schema, err))) {
        dp_loadops_destroy(ops);
        return NULL;
    }
    return ops;
}

void dp_loadops_destroy(dp_loadops_t *ops)
{
    if (!ops)
        return;
    for (size_t i = 0; i < ops->ntables; i++)
        free(ops->tables[i].name);
    free(ops->tables);
    for (size_t i = 0; i < ops->ndirs; i++)
        free(ops->dirs[i]);
    free(ops->dirs);
    dp_sink_zb_destroy(ops->zb);
    free(ops->staged_schema);
    free(ops->staged_columns);
    free(ops->errors_schema);
    free(ops->incarnation);
    free(ops->worker_id);
    pthread_mutex_destroy(&ops->mu);
    pthread_mutex_destroy(&ops->setup_mu);
    free(ops);
}

dp_dbxpool_t *dp_loadops_pool(const dp_loadops_t *ops)
{
    return ops->pool;
}

const dp_config_t *dp_loadops_cfg(const dp_loadops_t *ops)
{
    return ops->cfg;
}

dp_sink_zb_t *dp_loadops_sink(const dp_loadops_t *ops)
{
    return ops->zb;
}

const char *dp_loadops_schema_of(const dp_loadops_t *ops, const char *table)
{
    if (strcmp(table, DP_ERRORS_TABLE) == 0)
        return ops->errors_schema;
    if (strcmp(table, DP_RUNS_TABLE) == 0)
        return dp_sysrows_sync_runs_schema;
    if (strcmp(table, DP_LEDGER_TABLE) == 0)
        return dp_claims_ledger_schema;
    if (strcmp(table, DP_CLAIMS_TABLE) == 0)
        return dp_claims_schema;
    if (strcmp(table, DP_INCARNATIONS_TABLE) == 0)
        return dp_claims_incarnations_schema;
    if (strcmp(table, DP_BACKFILLS_TABLE) == 0)
        return dp_sysrows_backfills_schema;
    return ops->staged_schema;
}

static int qualified(const dp_loadops_t *ops, const char *table, char *out, dp_err_t *err)
{
    return dp_tablename_qualified(ops->cfg->databricks.catalog, ops->cfg->databricks.schema, table,
                                  out, DP_TABLENAME_QUALIFIED_SIZE, err);
}

int dp_loadops_path(const dp_loadops_t *ops, const char *table, const char *key,
                    char path[DP_STAGENAME_PATH_SIZE], dp_err_t *err)
{
    const dp_config_t *cfg = ops->cfg;

    return dp_stagename_path(cfg->databricks.catalog, cfg->databricks.schema,
                             cfg->databricks.volume, ops->incarnation, table, key, path,
                             DP_STAGENAME_PATH_SIZE, err);
}

/* ------------------------------------------------------------------------- */
/* Known tables and folders                                                  */
/* ------------------------------------------------------------------------- */

/* Index of table in ops->tables, or ntables. Called with mu held. */
static size_t table_index(const dp_loadops_t *ops, const char *table)
{
    size_t i = 0;

    while (i < ops->ntables && strcmp(ops->tables[i].name, table) != 0)
        i++;
    return i;
}

static void remember_table(dp_loadops_t *ops, const char *table, const char *id)
{
    size_t i;

    pthread_mutex_lock(&ops->mu);
    i = table_index(ops, table);
    if (i == ops->ntables) {
        ops->tables = dp_realloc(ops->tables, (i + 1) * sizeof(*ops->tables));
        ops->tables[i].name = dp_strdup(table);
        ops->ntables++;
    }
    snprintf(ops->tables[i].id, sizeof(ops->tables[i].id), "%s", id ? id : "");
    pthread_mutex_unlock(&ops->mu);
}

static int table_known(dp_loadops_t *ops, const char *table)
{
    int known;

    pthread_mutex_lock(&ops->mu);
    known = table_index(ops, table) < ops->ntables;
    pthread_mutex_unlock(&ops->mu);
    return known;
}

void dp_loadops_table_id(dp_loadops_t *ops, const char *table, char out[DP_CLAIMS_TABLE_ID_SIZE])
{
    size_t i;

    pthread_mutex_lock(&ops->mu);
    i = table_index(ops, table);
    snprintf(out, DP_CLAIMS_TABLE_ID_SIZE, "%s", i < ops->ntables ? ops->tables[i].id : "");
    pthread_mutex_unlock(&ops->mu);
}

void dp_loadops_forget_table(dp_loadops_t *ops, const char *table)
{
    size_t i;

    pthread_mutex_lock(&ops->mu);
    i = table_index(ops, table);
    if (i < ops->ntables) {
        free(ops->tables[i].name);
        ops->tables[i] = ops->tables[--ops->ntables];
    }
    pthread_mutex_unlock(&ops->mu);
}

/* mkdir -p of dir, once per process. */
static int ensure_dir(dp_loadops_t *ops, dp_dbx_client_t *client, const char *dir, dp_err_t *err)
{
    int known = 0;

    pthread_mutex_lock(&ops->mu);
    for (size_t i = 0; i < ops->ndirs && !known; i++)
        known = strcmp(ops->dirs[i], dir) == 0;
    pthread_mutex_unlock(&ops->mu);
    if (known)
        return 0;
    if (dp_dbx_files_mkdirs(client, dir, err) < 0)
        return DP_EFAIL;
    pthread_mutex_lock(&ops->mu);
    ops->dirs = dp_realloc(ops->dirs, (ops->ndirs + 1) * sizeof(*ops->dirs));
    ops->dirs[ops->ndirs++] = dp_strdup(dir);
    pthread_mutex_unlock(&ops->mu);
    return 0;
}

/* ------------------------------------------------------------------------- */
/* System objects and tables                                                 */
/* ------------------------------------------------------------------------- */

typedef struct table_job {
    dp_loadops_t *ops;
    const char *table;
    int read_id;
} table_job_t;

/* CREATE TABLE IF NOT EXISTS with explicit columns, then (read_id) its id. */
static int create_table(dp_dbx_client_t *client, void *arg, dp_err_t *err)
{
    table_job_t *tj = arg;
    dp_loadops_t *ops = tj->ops;
    char q[DP_TABLENAME_QUALIFIED_SIZE], where[DP_TABLENAME_QUALIFIED_SIZE];
    char id[DP_CLAIMS_TABLE_ID_SIZE] = "";
    dp_retry_object_t obj = {DP_RETRY_OBJ_SCHEMA, DP_RETRY_ACCESS_CREATE, where};
    dp_stmt_t s;
    char *sql;
    int rc;

    if (ops->zb && !dp_tablename_is_system(tj->table)) {
        /* Sink zerobus: the raw table and its view. A recreated raw table
         * loses no load history (Zerobus keeps none), so no id is kept. */
        if ((rc = dp_sink_zb_prepare(ops->zb, client, tj->table, err)) == 0)
            remember_table(ops, tj->table, NULL);
        return rc;
    }
    if (qualified(ops, tj->table, q, err) < 0 ||
        !(sql = dp_ddl_create_table(q, dp_loadops_schema_of(ops, tj->table), err)))
        return DP_EINVAL;
    snprintf(where, sizeof(where), "%s.%s", ops->cfg->databricks.catalog,
             ops->cfg->databricks.schema);
    memset(&s, 0, sizeof(s));
    s.what = "create table";
    s.sql = sql;
    s.object = &obj;
    rc = dp_stmt_run(client, ops->cfg, &s, NULL, err);
    free(sql);
    if (rc == 0 && tj->read_id)
        rc = dp_claims_table_id(client, ops->cfg, tj->table, id, err);
    if (rc == 0)
        remember_table(ops, tj->table, id);
    return rc;
}

static int create_volume(dp_dbx_client_t *client, void *arg, dp_err_t *err)
{
    dp_loadops_t *ops = arg;
    char q[DP_TABLENAME_QUALIFIED_SIZE], sql[DP_TABLENAME_QUALIFIED_SIZE + 40];
    char dir[DP_STAGENAME_PATH_SIZE];

    if (qualified(ops, ops->cfg->databricks.volume, q, err) < 0)
        return DP_EINVAL;
    snprintf(sql, sizeof(sql), "CREATE VOLUME IF NOT EXISTS %s", q);
    if (dp_stmt_exec(client, ops->cfg, "create volume", sql, NULL, err) < 0)
        return DP_EFAIL;
    if (dp_manifest_dir(ops->cfg, ops->incarnation, dir, sizeof(dir)) < 0)
        return dp_err_set(err, DP_ETOOBIG, 0, "manifest folder path too long");
    return ensure_dir(ops, client, dir, err);
}

static int create_schema(dp_dbx_client_t *client, void *arg, dp_err_t *err)
{
    dp_loadops_t *ops = arg;
    char q[DP_TABLENAME_QUALIFIED_SIZE], sql[DP_TABLENAME_QUALIFIED_SIZE + 40];

    if (dp_tablename_schema_qualified(ops->cfg->databricks.catalog, ops->cfg->databricks.schema, q,
                                      sizeof(q), err) < 0)
        return DP_EINVAL;
    snprintf(sql, sizeof(sql), "CREATE SCHEMA IF NOT EXISTS %s", q);
    return dp_stmt_exec(client, ops->cfg, "create schema", sql, NULL, err) < 0 ? DP_EFAIL : 0;
}

/* The first failed job's error into err; returns its code, or 0. */
static int first_failure(const dp_dbxpool_job_t *jobs, size_t n, dp_err_t *err)
{
    for (size_t i = 0; i < n; i++) {
        if (jobs[i].rc != 0) {
            if (err)
                *err = jobs[i].err;
            return jobs[i].rc < 0 ? jobs[i].rc : DP_EFAIL;
        }
    }
    return 0;
}

void dp_loadops_note_early_setup(dp_loadops_t *ops)
{
    pthread_mutex_lock(&ops->setup_mu);
    ops->schema_done = 1;
    pthread_mutex_unlock(&ops->setup_mu);
    remember_table(ops, DP_INCARNATIONS_TABLE, NULL);
}

int dp_loadops_setup(dp_loadops_t *ops, void (*beat)(void *), void *ctx, dp_err_t *err)
{
    enum { NSYS = sizeof(SYSTEM_TABLES) / sizeof(SYSTEM_TABLES[0]) - 1 };
    dp_dbxpool_job_t jobs[NSYS + 1];
    table_job_t tj[NSYS];
    int rc = 0;

    pthread_mutex_lock(&ops->setup_mu);
    if (ops->setup_done)
        goto out;
    memset(jobs, 0, sizeof(jobs));
    if (ops->cfg->databricks.create_schema && !ops->schema_done) {
        jobs[0].fn = create_schema;
        jobs[0].arg = ops;
        dp_dbxpool_run(ops->pool, jobs, 1, beat, ctx);
        if ((rc = first_failure(jobs, 1, err)) < 0)
            goto out;
    }
    memset(jobs, 0, sizeof(jobs));
    {
        size_t n = 0;

        for (size_t i = 0; i < NSYS; i++) {
            if (table_known(ops, SYSTEM_TABLES[i]))
                continue;
            tj[n].ops = ops;
            tj[n].table = SYSTEM_TABLES[i];
            tj[n].read_id = 0;
            jobs[n].fn = create_table;
            jobs[n].arg = &tj[n];
            n++;
        }
        jobs[n].fn = create_volume;
        jobs[n].arg = ops;
        dp_dbxpool_run(ops->pool, jobs, n + 1, beat, ctx);
        if ((rc = first_failure(jobs, n + 1, err)) == 0)
            ops->setup_done = 1;
    }
out:
    pthread_mutex_unlock(&ops->setup_mu);
    return rc;
}

int dp_loadops_prepare_table(dp_loadops_t *ops, dp_dbx_client_t *client, const char *table,
                             dp_err_t *err)
{
    table_job_t tj = {ops, table, !dp_tablename_is_system(table)};

    return table_known(ops, table) ? 0 : create_table(client, &tj, err);
}

/* ------------------------------------------------------------------------- */
/* Staging and COPY INTO                                                     */
/* ------------------------------------------------------------------------- */

int dp_loadops_stage(dp_loadops_t *ops, dp_dbx_client_t *client, const char *table,
                     const char *path, dp_loadops_fill_fn fill, void *ctx, int64_t *rows,
                     int64_t *bytes, dp_err_t *err)
{
    char dir[DP_STAGENAME_PATH_SIZE];
    unsigned char sync[16];
    dp_avrofile_t *file;
    const void *data;
    size_t len;
    long long t0;
    int exists = 0, rc;

    dp_stagename_sync(path, sync);
    file = dp_avrofile_new(dp_loadops_schema_of(ops, table), DP_AVROFILE_SNAPPY, BLOCK_BYTES, sync,
                           FILE_MAX, err);
    if (!file)
        return DP_EFAIL;
    rc = fill(ctx, file, err);
    if (rc == 0 && dp_avrofile_finish(file, &data, &len, err) < 0)
        rc = DP_EFAIL;
    snprintf(dir, sizeof(dir), "%s", path);
    if (strrchr(dir, '/'))
        *strrchr(dir, '/') = '\0';
    if (rc == 0 && ensure_dir(ops, client, dir, err) < 0)
        rc = DP_EFAIL;
    t0 = dp_clock_mono_ms();
    /* Overwrite: the name depends only on the offset ranges, so a retry of
     * the same flush writes the same rows; COPY INTO skips what it loaded. */
    if (rc == 0 && dp_dbx_files_upload(client, path, data, len, 1, &exists, err) < 0)
        rc = DP_EFAIL;
    if (rc == 0) {
        dp_metrics_observe(DP_MH_UPLOAD_SECONDS, (double)(dp_clock_mono_ms() - t0) / 1000.0);
        if (rows)
            *rows = (int64_t)dp_avrofile_count(file);
        if (bytes)
            *bytes = (int64_t)len;
    }
    dp_avrofile_destroy(file);
    return rc;
}

static int zerobus_copy(dp_loadops_t *ops, dp_dbx_client_t *client, const char *table,
                        const char *path, long long *inserted, dp_err_t *err);

/* One load statement of the staged file at path into table: COPY INTO, or
 * (merge) the MERGE of load_merge.h; with sink zerobus, an event table's rows
 * are inserted through Zerobus instead (merge does not apply: the view
 * removes redeliveries on the Kafka position). */
static int load_file(dp_loadops_t *ops, dp_dbx_client_t *client, const char *table,
                     const char *path, int merge, long long *inserted, dp_err_t *err)
{
    char q[DP_TABLENAME_QUALIFIED_SIZE];
    dp_retry_object_t obj = {DP_RETRY_OBJ_TABLE, DP_RETRY_ACCESS_WRITE, q};
    dp_dbx_sql_result_t res;
    dp_dbx_copy_counts_t counts;
    long long t0 = dp_clock_mono_ms();
    dp_stmt_t s;
    char *sql;
    int rc;

    *inserted = 0;
    if (ops->zb && !dp_tablename_is_system(table))
        return zerobus_copy(ops, client, table, path, inserted, err);
    if (qualified(ops, table, q, err) < 0 ||
        !(sql = merge ? dp_load_merge_sql(q, path, ops->staged_columns, err)
                      : dp_ddl_copy_into(q, path, err)))
        return DP_EFAIL;
    memset(&s, 0, sizeof(s));
    s.what = merge ? "merge into" : "copy into";
    s.sql = sql;
    s.object = &obj;
    rc = dp_stmt_run(client, ops->cfg, &s, &res, err);
    free(sql);
    if (rc == 0 && dp_dbx_sql_copy_counts(&res, &counts, err) == 0)
        *inserted = counts.num_inserted_rows;
    if (rc == 0) {
        dp_metrics_observe(DP_MH_COPY_INTO_SECONDS, (double)(dp_clock_mono_ms() - t0) / 1000.0);
        dp_metrics_rows_loaded(table, *inserted);
    } else if (strstr(res.message, "TABLE_OR_VIEW_NOT_FOUND")) {
        /* Dropped behind our back: created (and its id read) again next time. */
        dp_loadops_forget_table(ops, table);
        err->code = rc = DP_EFAIL;
        err->retryable = 1;
    }
    dp_dbx_sql_result_clear(&res);
    return rc;
}

int dp_loadops_copy(dp_loadops_t *ops, dp_dbx_client_t *client, const char *table, const char *path,
                    long long *inserted, dp_err_t *err)
{
    return load_file(ops, client, table, path, 0, inserted, err);
}

/* load_file, and the merge's duplicates counted. */
static int load_counted(dp_loadops_t *ops, dp_dbx_client_t *client, const char *table,
                        const char *path, int merge, int64_t rows, long long *inserted,
                        long long *duplicates, dp_err_t *err)
{
    int rc = load_file(ops, client, table, path, merge, inserted, err);
    long long dups = 0;

    if (rc == 0 && merge && rows > *inserted) {
        dups = (long long)rows - *inserted;
        dp_metrics_add(DP_MC_DUPLICATES_MERGED, (uint64_t)dups);
    }
    if (duplicates)
        *duplicates = dups;
    return rc;
}

int dp_loadops_load(dp_loadops_t *ops, dp_dbx_client_t *client, const char *table, const char *path,
                    int64_t rows, long long *inserted, long long *duplicates, dp_err_t *err)
{
    return load_counted(ops, client, table, path, dp_load_merge_mode(ops->cfg, table), rows,
                        inserted, duplicates, err);
}

int dp_loadops_merge(dp_loadops_t *ops, dp_dbx_client_t *client, const char *table,
                     const char *path, int64_t rows, long long *inserted, long long *duplicates,
                     dp_err_t *err)
{
    return load_counted(ops, client, table, path, 1, rows, inserted, duplicates, err);
}

/* ------------------------------------------------------------------------- */
/* Bookkeeping                                                               */
/* ------------------------------------------------------------------------- */

typedef struct rows_file {
    dp_loadops_t *ops;
    const char *table;
    const dp_buf_t *rows;
    int64_t n;
    char path[DP_STAGENAME_PATH_SIZE];
} rows_file_t;

static int fill_rows(void *ctx, dp_avrofile_t *file, dp_err_t *err)
{
    const rows_file_t *rf = ctx;

    if (rf->n == 0)
        return 0;
    return dp_avrofile_append_encoded(file, dp_buf_data(rf->rows), dp_buf_len(rf->rows),
                                      (uint64_t)rf->n, err) < 0
               ? DP_EFAIL
               : 0;
}

int dp_loadops_stage_rows(dp_loadops_t *ops, dp_dbx_client_t *client, const char *table,
                          const char *path, const dp_buf_t *rows, int64_t n, int64_t *bytes,
                          dp_err_t *err)
{
    rows_file_t rf = {ops, table, rows, n, ""};

    return dp_loadops_stage(ops, client, table, path, fill_rows, &rf, NULL, bytes, err);
}

/* Stages one bookkeeping file and loads it. */
static int stage_and_copy(dp_dbx_client_t *client, void *arg, dp_err_t *err)
{
    rows_file_t *rf = arg;
    long long inserted = 0;
    int rc =
        dp_loadops_stage_rows(rf->ops, client, rf->table, rf->path, rf->rows, rf->n, NULL, err);

    if (rc == 0)
        rc = dp_loadops_copy(rf->ops, client, rf->table, rf->path, &inserted, err);
    /* Our own rows refused by a system table: retried, never dropped. */
    return rc == DP_EINVAL ? DP_EFAIL : rc;
}

int dp_loadops_bookkeep(dp_loadops_t *ops, const dp_manifest_t *m, const dp_buf_t *runs,
                        int64_t nruns, void (*beat)(void *), void *ctx, dp_dbx_counts_t *cost,
                        dp_err_t *err)
{
    rows_file_t rf[2];
    dp_dbxpool_job_t jobs[2];
    dp_buf_t ledger;
    int rc;

    dp_buf_init(&ledger, 256 * 1024 * 1024);
    memset(jobs, 0, sizeof(jobs));
    memset(rf, 0, sizeof(rf));
    if ((rc = dp_claims_ledger_rows(&ledger, m, err)) < 0)
        goto out;
    rf[0] = (rows_file_t){ops, DP_LEDGER_TABLE, &ledger, rc, ""};
    rf[1] = (rows_file_t){ops, DP_RUNS_TABLE, runs, nruns, ""};
    for (int i = 0; i < 2; i++) {
        if ((rc = dp_loadops_path(ops, rf[i].table, m->key, rf[i].path, err)) < 0)
            goto out;
        jobs[i].fn = stage_and_copy;
        jobs[i].arg = &rf[i];
    }
    dp_dbxpool_run(ops->pool, jobs, 2, beat, ctx);
    rc = first_failure(jobs, 2, err);
    if (cost) {
        dp_dbx_counts_add(cost, &jobs[0].cost);
        dp_dbx_counts_add(cost, &jobs[1].cost);
    }
out:
    dp_buf_free(&ledger);
    return rc;
}

/* Sink zerobus, a flush another worker left (recovery): the staged file's
 * rows go through Zerobus again (what its first owner inserted is stored
 * twice and hidden by the view), and the rows Zerobus refuses become an
 * event_errors file of their own, named after the staged path. */
static int zerobus_copy(dp_loadops_t *ops, dp_dbx_client_t *client, const char *table,
                        const char *path, long long *inserted, dp_err_t *err)
{
    dp_sink_zb_result_t res;
    rows_file_t rf;
    dp_buf_t rejects;
    unsigned char md[32];
    unsigned int mdlen = 0;
    char text[DP_STAGENAME_PATH_SIZE + 32], key[DP_STAGENAME_KEY_SIZE];
    long long ins = 0;
    int rc;

    /* The raw table may have been dropped since (created again, once per process). */
    if ((rc = dp_loadops_prepare_table(ops, client, table, err)) < 0)
        return rc;
    dp_buf_init(&rejects, SIZE_MAX);
    rc = dp_sink_zb_load_file(ops->zb, client, table, path, ops->worker_id, &rejects, &res, NULL,
                              NULL, err);
    *inserted = res.acked;
    if (rc == DP_ENOTFOUND && !strstr(err->msg, "staged file")) {
        /* The raw table is gone: created again by the next prepare. */
        dp_loadops_forget_table(ops, table);
        err->retryable = 1;
        rc = DP_EFAIL;
    }
    if (rc == 0 && res.rejected > 0) {
        snprintf(text, sizeof(text), "%s/zerobus-rejected", path);
        EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL);
        for (unsigned int i = 0; i < 32; i++)
            snprintf(key + 2 * i, 3, "%02x", md[i]);
        rf = (rows_file_t){ops, DP_ERRORS_TABLE, &rejects, res.rejected, ""};
        if ((rc = dp_loadops_path(ops, DP_ERRORS_TABLE, key, rf.path, err)) == 0 &&
            (rc = dp_loadops_stage(ops, client, DP_ERRORS_TABLE, rf.path, fill_rows, &rf, NULL,
                                   NULL, err)) == 0)
            rc = dp_loadops_copy(ops, client, DP_ERRORS_TABLE, rf.path, &ins, err);
        if (rc == DP_EINVAL)
            rc = DP_EFAIL; /* our own rows refused: retried, never dropped */
    }
    dp_buf_free(&rejects);
    return rc;
}

/* ------------------------------------------------------------------------- */
/* Deleting                                                                  */
/* ------------------------------------------------------------------------- */

static int delete_file(dp_dbx_client_t *client, void *arg, dp_err_t *err)
{
    int absent = 0;

    return dp_dbx_files_delete(client, (const char *)arg, &absent, err);
}

void dp_loadops_delete(dp_loadops_t *ops, char *const *paths, size_t n, void (*beat)(void *),
                       void *ctx)
{
    dp_dbxpool_job_t *jobs = dp_calloc(n + 1, sizeof(*jobs));

    for (size_t i = 0; i < n; i++) {
        jobs[i].fn = delete_file;
        jobs[i].arg = paths[i];
    }
    dp_dbxpool_run(ops->pool, jobs, n, beat, ctx);
    for (size_t i = 0; i < n; i++) {
        if (jobs[i].rc != 0)
            dp_log(DP_LOG_WARN, "loader", "deleting %s: %s (left behind)", paths[i],
                   jobs[i].err.msg);
    }
    free(jobs);
}

size_t dp_loadops_manifest_paths(const dp_loadops_t *ops, const dp_manifest_t *m, char ***paths)
{
    char **out = dp_calloc(m->nfiles + 3, sizeof(*out));
    const char *extra[] = {DP_LEDGER_TABLE, DP_RUNS_TABLE};
    char path[DP_STAGENAME_PATH_SIZE];
    size_t n = 0;
    dp_err_t err;

    for (size_t i = 0; i < m->nfiles; i++)
        out[n++] = dp_strdup(m->files[i].path);
    for (size_t i = 0; i < 2; i++) {
        if (dp_loadops_path(ops, extra[i], m->key, path, &err) == 0)
            out[n++] = dp_strdup(path);
    }
    *paths = out;
    return n;
}
