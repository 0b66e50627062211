/*
 * loader_load: the loader's work on Databricks (see loader.h): statements,
 * staging, COPY INTO, one flush with its manifest, rejected rows, retiring,
 * and the group-wide event counts.
 */
#include "loader_int.h"

#include "avrofile.h"
#include "buf.h"
#include "claims.h"
#include "clock.h"
#include "dbx/files.h"
#include "dbx/sql.h"
#include "ddl.h"
#include "log.h"
#include "manifest.h"
#include "mem.h"
#include "metrics.h"
#include "stagename.h"
#include "sysrows.h"
#include "tablename.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------------- */
/* Statements                                                                */
/* ------------------------------------------------------------------------- */

/* Runs one statement to a final state. Returns 0 when it SUCCEEDED; else a
 * DP_E* code with err naming the statement's purpose and Databricks' words. */
static int run_sql(dp_loader_t *loader, const char *what, const dp_retry_object_t *obj,
                   const char *sql, const dp_dbx_sql_param_t *params, size_t nparams,
                   dp_dbx_sql_result_t *res, dp_err_t *err)
{
    dp_dbx_sql_opts_t opts;
    dp_dbx_sql_result_t local;
    dp_dbx_sql_result_t *r = res ? res : &local;
    int rc;

    memset(&opts, 0, sizeof(opts));
    memset(r, 0, sizeof(*r));
    opts.wait_timeout_s = (int)loader->cfg->databricks.statement_wait_timeout_s;
    opts.liveness = dp_loader__beat;
    opts.liveness_ctx = loader;
    if (obj)
        opts.object = *obj;
    rc = dp_dbx_sql_execute(loader->client, sql, params, nparams, loader->cfg->databricks.catalog,
                            loader->cfg->databricks.schema, &opts, r, err);
    if (rc == 0 && r->state != DP_DBX_SQL_SUCCEEDED) {
        dp_dbx_sql_failure_t kind = dp_dbx_sql_failure_kind(r);

        rc = dp_err_set(err, kind == DP_DBX_SQL_FAIL_DATA ? DP_EINVAL : DP_EFAIL,
                        kind == DP_DBX_SQL_FAIL_TRANSIENT, "%s: statement %s %s: %s", what,
                        r->statement_id, dp_dbx_sql_state_name(r->state), r->message);
    } else if (rc < 0) {
        dp_err_prefix(err, "%s: ", what);
    }
    if (!res)
        dp_dbx_sql_result_clear(&local);
    return rc;
}

static int qualified(dp_loader_t *loader, const char *table, char *out, dp_err_t *err)
{
    return dp_tablename_qualified(loader->cfg->databricks.catalog, loader->cfg->databricks.schema,
                                  table, out, QUALIFIED_MAX, err);
}

static int known(dp_loader_t *loader, const char *key)
{
    for (size_t i = 0; i < loader->nknown; i++) {
        if (strcmp(loader->known[i], key) == 0)
            return 1;
    }
    return 0;
}

static void remember(dp_loader_t *loader, const char *key)
{
    if (loader->nknown == loader->knowncap) {
        loader->knowncap = loader->knowncap ? loader->knowncap * 2 : 32;
        loader->known = dp_realloc(loader->known, loader->knowncap * sizeof(char *));
    }
    loader->known[loader->nknown++] = dp_strdup(key);
}

static const char *schema_of(dp_loader_t *loader, const char *table)
{
    if (strcmp(table, ERRORS_TABLE) == 0)
        return loader->errors_schema;
    if (strcmp(table, RUNS_TABLE) == 0)
        return dp_sysrows_sync_runs_schema;
    if (strcmp(table, STATS_TABLE) == 0)
        return dp_sysrows_event_stats_schema;
    if (strcmp(table, DP_LEDGER_TABLE) == 0)
        return dp_claims_ledger_schema;
    return loader->staged_schema;
}

/* CREATE TABLE IF NOT EXISTS with explicit columns, once per table. */
static int ensure_table(dp_loader_t *loader, const char *table, dp_err_t *err)
{
    char q[QUALIFIED_MAX], key[QUALIFIED_MAX + 8];
    char *sql;
    int rc;

    snprintf(key, sizeof(key), "table:%s", table);
    if (known(loader, key))
        return 0;
    if (qualified(loader, table, q, err) < 0)
        return DP_EINVAL;
    sql = dp_ddl_create_table(q, schema_of(loader, table), err);
    if (!sql)
        return DP_EINVAL;
    {
        char where[QUALIFIED_MAX];
        dp_retry_object_t obj = {DP_RETRY_OBJ_SCHEMA, DP_RETRY_ACCESS_CREATE, where};

        snprintf(where, sizeof(where), "%s.%s", loader->cfg->databricks.catalog,
                 loader->cfg->databricks.schema);
        rc = run_sql(loader, "create table", &obj, sql, NULL, 0, NULL, err);
    }
    free(sql);
    if (rc == 0)
        remember(loader, key);
    return rc;
}

static int ensure_setup(dp_loader_t *loader, dp_err_t *err)
{
    const dp_config_t *cfg = loader->cfg;
    char sql[QUALIFIED_MAX * 2], q[QUALIFIED_MAX];
    const char *system[] = {ERRORS_TABLE, RUNS_TABLE, STATS_TABLE, NULL};

    if (loader->setup_done)
        return 0;
    if (cfg->databricks.create_schema) {
        if (dp_tablename_check_identifier(cfg->databricks.catalog, err) < 0 ||
            dp_tablename_check_identifier(cfg->databricks.schema, err) < 0)
            return DP_EINVAL;
        snprintf(sql, sizeof(sql), "CREATE SCHEMA IF NOT EXISTS `%s`.`%s`",
                 cfg->databricks.catalog, cfg->databricks.schema);
        if (run_sql(loader, "create schema", NULL, sql, NULL, 0, NULL, err) < 0)
            return DP_EFAIL;
    }
    if (qualified(loader, cfg->databricks.volume, q, err) < 0)
        return DP_EINVAL;
    snprintf(sql, sizeof(sql), "CREATE VOLUME IF NOT EXISTS %s", q);
    if (run_sql(loader, "create volume", NULL, sql, NULL, 0, NULL, err) < 0)
        return DP_EFAIL;
    for (int i = 0; system[i]; i++) {
        if (ensure_table(loader, system[i], err) < 0)
            return DP_EFAIL;
    }
    if (dp_claims_setup(loader->client, cfg, err) < 0)
        return DP_EFAIL;
    remember(loader, "table:" DP_LEDGER_TABLE);
    loader->setup_done = 1;
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Staging and COPY INTO                                                     */
/* ------------------------------------------------------------------------- */

/* The flush key: a hash of its sorted offset ranges (stagename.h). */
static int flush_key(dp_loader_t *loader, const dp_flush_t *flush, char key[DP_STAGENAME_KEY_SIZE],
                     dp_err_t *err)
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

/* Uploads data to path (creating its directory once). */
static int upload(dp_loader_t *loader, const char *path, const void *data, size_t len,
                  dp_err_t *err)
{
    char dir[DP_STAGENAME_PATH_SIZE + 8];
    char *slash;
    int exists = 0;

    snprintf(dir, sizeof(dir), "dir:%s", path);
    slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    if (!known(loader, dir)) {
        if (dp_dbx_files_mkdirs(loader->client, dir + 4, err) < 0)
            return DP_EFAIL;
        remember(loader, dir);
    }
    dp_loader__beat(loader);
    /* Overwrite: the name depends only on the offset ranges, so a retry of
     * the same flush writes the same rows; COPY INTO skips what it loaded. */
    return dp_dbx_files_upload(loader->client, path, data, len, 1, &exists, err);
}

/* COPY INTO table from the directory of path, naming only its file. */
static int copy_into(dp_loader_t *loader, const char *table, const char *path,
                     long long *inserted, dp_err_t *err)
{
    char q[QUALIFIED_MAX];
    dp_dbx_sql_result_t res;
    dp_dbx_copy_counts_t counts;
    char *sql;
    int rc;

    if (qualified(loader, table, q, err) < 0 || !(sql = dp_ddl_copy_into(q, path, err)))
        return DP_EFAIL;
    {
        dp_retry_object_t obj = {DP_RETRY_OBJ_TABLE, DP_RETRY_ACCESS_WRITE, q};

        rc = run_sql(loader, "copy into", &obj, sql, NULL, 0, &res, err);
    }
    free(sql);
    if (rc == 0 && dp_dbx_sql_copy_counts(&res, &counts, err) == 0)
        *inserted = counts.num_inserted_rows;
    dp_dbx_sql_result_clear(&res);
    return rc;
}

/* COPY INTO of one staged file (inserted may be NULL). DP_EINVAL when
 * Databricks refused the data. */
static int load_staged(dp_loader_t *loader, const char *table, const char *path,
                       long long *inserted, dp_err_t *err)
{
    long long n = 0, t0 = dp_clock_mono_ms();
    int rc = copy_into(loader, table, path, &n, err);

    if (inserted)
        *inserted = n;
    if (rc == 0)
        dp_metrics_observe(DP_MH_COPY_INTO_SECONDS, (double)(dp_clock_mono_ms() - t0) / 1000.0);
    if (rc == 0)
        dp_metrics_rows_loaded(table, n);
    return rc;
}

/* Writes one table's container file, uploads it to path and loads it. The
 * records come from table ti of flush (when flush is not NULL) followed by
 * rows (nrows encoded records, when rows is not NULL). With stage_only the
 * file is only uploaded (load_staged() loads it later). run (may be NULL)
 * receives the file's numbers. A COPY INTO that Databricks refused because of
 * the data returns DP_EINVAL. */
static int stage_and_load(dp_loader_t *loader, const char *table, const char *key,
                          const dp_flush_t *flush, size_t ti, const dp_buf_t *rows, int64_t nrows,
                          int stage_only, dp_sysrows_run_t *run, char *path, dp_err_t *err)
{
    const dp_config_t *cfg = loader->cfg;
    unsigned char sync[16];
    dp_avrofile_t *file = NULL;
    const void *data;
    size_t len;
    long long inserted = 0, t0;
    int rc;

    /* Only COPY INTO's own data refusal may return DP_EINVAL from here. */
    if (ensure_table(loader, table, err) < 0 ||
        dp_stagename_path(cfg->databricks.catalog, cfg->databricks.schema, cfg->databricks.volume,
                          loader->incarnation, table, key, path, DP_STAGENAME_PATH_SIZE, err) < 0)
        return DP_EFAIL;
    dp_stagename_sync(path, sync);
    file = dp_avrofile_new(schema_of(loader, table), DP_AVROFILE_SNAPPY, 64 * 1024, sync,
                           FILE_MAX, err);
    if (!file)
        return DP_EFAIL;
    {
        struct appender a = {file, 0, err};

        if (flush)
            dp_flush_table_records(flush, ti, append_records, &a);
        if (rows && nrows > 0)
            append_records(&a, dp_buf_data(rows), dp_buf_len(rows), nrows);
        rc = a.rc < 0 ? DP_EFAIL : 0;
    }
    if (rc == 0 && dp_avrofile_finish(file, &data, &len, err) < 0)
        rc = DP_EFAIL;
    t0 = dp_clock_mono_ms();
    if (rc == 0 && upload(loader, path, data, len, err) < 0)
        rc = DP_EFAIL;
    if (rc == 0)
        dp_metrics_observe(DP_MH_UPLOAD_SECONDS, (double)(dp_clock_mono_ms() - t0) / 1000.0);
    if (rc == 0 && !stage_only)
        rc = load_staged(loader, table, path, &inserted, err);
    if ((rc == 0 || rc == DP_EINVAL) && run) {
        run->rows = (int64_t)dp_avrofile_count(file);
        run->bytes = (int64_t)len;
        run->inserted_rows = inserted;
    }
    dp_avrofile_destroy(file);
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

static const char *rejection_of(const dp_loader_t *loader, const char *table)
{
    for (size_t i = 0; i < loader->nrejected; i++) {
        if (strcmp(loader->rejected[i], table) == 0)
            return loader->rejected_why[i];
    }
    return NULL;
}

static void reject_table(dp_loader_t *loader, const char *table, const char *why)
{
    loader->rejected = dp_realloc(loader->rejected, (loader->nrejected + 1) * sizeof(char *));
    loader->rejected_why =
        dp_realloc(loader->rejected_why, (loader->nrejected + 1) * sizeof(char *));
    loader->rejected[loader->nrejected] = dp_strdup(table);
    loader->rejected_why[loader->nrejected] = dp_strdup(why);
    loader->nrejected++;
}

void dp_loader__clear_rejections(dp_loader_t *loader)
{
    for (size_t i = 0; i < loader->nrejected; i++) {
        free(loader->rejected[i]);
        free(loader->rejected_why[i]);
    }
    free(loader->rejected);
    free(loader->rejected_why);
    loader->rejected = loader->rejected_why = NULL;
    loader->nrejected = 0;
}

struct rejecter {
    dp_loader_t *loader;
    dp_buf_t *out;      /* event_errors records */
    dp_buf_t body;      /* scratch */
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

/* The Delta table id of table for the manifest (H5), re-read at most once a
 * minute; NULL when it cannot be read (the manifest then has none). */
static const char *table_id_of(dp_loader_t *loader, const char *table)
{
    char id[DP_CLAIMS_TABLE_ID_SIZE];
    long long now = dp_clock_mono_ms();
    size_t i;
    dp_err_t err;

    for (i = 0; i < loader->nids; i++) {
        if (strcmp(loader->id_table[i], table) == 0)
            break;
    }
    if (i < loader->nids && now - loader->id_at[i] < 60000)
        return loader->id_value[i];
    if (dp_claims_table_id(loader->client, loader->cfg, table, id, &err) < 0 || !id[0]) {
        dp_log(DP_LOG_DEBUG, "loader", "no table id for %s: %s", table, err.msg);
        return NULL;
    }
    if (i == loader->nids) {
        loader->id_table = dp_realloc(loader->id_table, (i + 1) * sizeof(char *));
        loader->id_value = dp_realloc(loader->id_value, (i + 1) * sizeof(char *));
        loader->id_at = dp_realloc(loader->id_at, (i + 1) * sizeof(long long));
        loader->id_table[i] = dp_strdup(table);
        loader->id_value[i] = NULL;
        loader->nids++;
    }
    free(loader->id_value[i]);
    loader->id_value[i] = dp_strdup(id);
    loader->id_at[i] = now;
    return loader->id_value[i];
}

/* Stages every file of the flush (destination tables, event_errors,
 * event_stats) and lists them in the manifest m, with their tables' ids.
 * Nothing is loaded yet. */
static int stage_flush(dp_loader_t *loader, const dp_flush_t *flush, const char *key,
                       const dp_loader_stat_t *stats, size_t nstats, dp_manifest_t *m,
                       dp_buf_t *rows, dp_err_t *err)
{
    char path[DP_STAGENAME_PATH_SIZE];
    int32_t day = (int32_t)(dp_flush_opened_at(flush) / 1000000 / 86400);
    dp_sysrows_run_t run;
    int rc;

    for (size_t ti = 0; ti < dp_flush_ntables(flush); ti++) {
        int64_t n = 0;
        const char *table = dp_flush_table(flush, ti, &n);

        if (n == 0)
            continue;
        memset(&run, 0, sizeof(run));
        if ((rc = stage_and_load(loader, table, key, flush, ti, NULL, 0, 1, &run, path, err)) < 0)
            return rc;
        dp_manifest_add_file(m, table, path, run.rows, run.bytes);
        dp_manifest_set_table_id(m, m->nfiles - 1, table_id_of(loader, table));
    }
    if (nstats == 0)
        return 0;
    dp_buf_reset(rows);
    for (size_t i = 0; i < nstats; i++) {
        if (dp_sysrows_stat(rows, key, loader->worker_id, stats[i].name, day, stats[i].count,
                            err) < 0)
            return DP_ETOOBIG;
    }
    memset(&run, 0, sizeof(run));
    if ((rc = stage_and_load(loader, STATS_TABLE, key, NULL, 0, rows, (int64_t)nstats, 1, &run,
                             path, err)) < 0)
        return rc;
    dp_manifest_add_file(m, STATS_TABLE, path, run.rows, run.bytes);
    return 0;
}

static size_t table_index(const dp_flush_t *flush, const char *table)
{
    for (size_t ti = 0; ti < dp_flush_ntables(flush); ti++) {
        if (strcmp(dp_flush_table(flush, ti, NULL), table) == 0)
            return ti;
    }
    return (size_t)-1;
}

/* Turns the rows of a table Databricks refused into event_errors records. */
static int reject_rows(dp_loader_t *loader, const dp_flush_t *flush, const char *table,
                       const char *why, dp_buf_t *extra, int64_t *nextra, dp_err_t *err)
{
    struct rejecter r = {loader, extra, {0}, why, 0, err};
    size_t ti = table_index(flush, table);
    int rc;

    if (ti == (size_t)-1)
        return DP_EFAIL;
    dp_buf_init(&r.body, 2 * DP_SYSROWS_RAW_MAX);
    rc = dp_flush_table_each(flush, ti, reject_row, &r);
    dp_buf_free(&r.body);
    *nextra += r.n;
    return rc;
}

/* Loads the staged files of the manifest, in its order. A destination table
 * whose rows Databricks refuses (an error of the data) is remembered for the
 * whole job and its rows become event_errors records in extra; the flush
 * goes on. */
static int load_files(dp_loader_t *loader, const dp_flush_t *flush, const dp_manifest_t *m,
                      dp_sysrows_run_t *run, dp_buf_t *runs, int64_t *nruns, dp_buf_t *extra,
                      int64_t *nextra, dp_err_t *err)
{
    int rc;

    for (size_t i = 0; i < m->nfiles; i++) {
        const dp_manifest_file_t *f = &m->files[i];
        const char *why = rejection_of(loader, f->table);
        int system = dp_tablename_is_system(f->table);
        long long inserted = 0;

        run->started_at_us = dp_clock_wall_us();
        run->table = f->table;
        run->file_path = f->path;
        run->rows = f->rows;
        run->bytes = f->bytes;
        run->status = "LOADED";
        rc = why ? DP_EINVAL : load_staged(loader, f->table, f->path, &inserted, err);
        if (rc == DP_EINVAL && !system) {
            if (!why) {
                reject_table(loader, f->table, err->msg);
                why = err->msg;
                dp_log(DP_LOG_ERROR, "loader", "%s refused %lld rows; they go to event_errors: "
                       "%s", f->table, (long long)f->rows, why);
            }
            rc = reject_rows(loader, flush, f->table, why, extra, nextra, err);
            run->status = "REJECTED";
        } else if (rc == DP_EINVAL) {
            rc = DP_EFAIL; /* our own rows refused in a system table: retry, never drop */
        }
        if (rc < 0)
            return rc;
        run->inserted_rows = inserted;
        run->finished_at_us = dp_clock_wall_us();
        /* sync_runs counts event rows: the counts file is not one. */
        if (strcmp(f->table, STATS_TABLE) != 0) {
            if ((rc = dp_sysrows_run(runs, run, err)) < 0)
                return rc;
            (*nruns)++;
        }
        dp_log(DP_LOG_INFO, "loader", "%s: %lld rows staged, %lld inserted, %lld bytes (%s)",
               f->table, (long long)f->rows, inserted, (long long)f->bytes, f->path);
    }
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

static dp_manifest_t *manifest_of(dp_loader_t *loader, const dp_flush_t *flush, const char *key)
{
    dp_manifest_t *m = dp_manifest_new(key, loader->incarnation, loader->worker_id,
                                       dp_flush_opened_at(flush));

    for (size_t i = 0; i < dp_flush_nranges(flush); i++) {
        const char *topic;
        int32_t part;
        int64_t first, last;

        if (dp_flush_range(flush, i, &topic, &part, &first, &last) == 0) {
            dp_manifest_add_range(m, topic, part, first, last, dp_flush_range_epoch(flush, i));
            m->ranges[m->nranges - 1].fp = dp_flush_range_fp(flush, i);
        }
    }
    return m;
}

/* After the manifest is written: may this worker load it? A partition of
 * the flush may have moved while it was staged (this worker stalled past its
 * session timeout, or a revoke's drain ran out of time): then the new owner's
 * claim decides (claims.h). Returns 0 (load it), 1 (fenced: nobody loads it;
 * the flush is marked and the caller reports success so the worker learns it),
 * or a DP_E* code (not known yet or Databricks failed: the job is retried). */
static int may_load(dp_loader_t *loader, dp_flush_t *flush, const dp_manifest_t *m,
                    dp_err_t *err)
{
    dp_claims_verdict_t verdict = DP_CLAIMS_UNDECIDED;
    char why[512];
    int rc = 0;

    for (int attempt = 0; attempt < 40; attempt++) {
        if ((rc = dp_claims_judge(loader->client, loader->cfg, m, &verdict, why, sizeof(why),
                                  err)) < 0)
            return rc;
        if (verdict != DP_CLAIMS_UNDECIDED)
            break;
        dp_loader__beat(loader);
        nanosleep(&(struct timespec){0, 250 * 1000000L}, NULL);
    }
    if (verdict == DP_CLAIMS_VALID)
        return 0;
    if (verdict == DP_CLAIMS_UNDECIDED)
        return dp_err_set(err, DP_EAGAIN, 1, "flush %.16s: %s", m->key, why);
    dp_log(DP_LOG_WARN, "loader", "flush %.16s fenced, not loaded (its partitions are read "
           "again by their owners): %s", m->key, why);
    dp_metrics_add(DP_MC_FLUSHES_FENCED, 1);
    if (dp_manifest_delete(loader->client, loader->cfg, m, err) < 0)
        dp_log(DP_LOG_WARN, "loader", "deleting fenced manifest %.16s: %s (it stays void)",
               m->key, err->msg);
    dp_flush_set_fenced(flush, 1);
    return 1;
}

/* Stage every file, write the manifest, then load: from the manifest on,
 * whoever owns these partitions next finishes this flush instead of cutting
 * its offsets again (manifest.h). */
int dp_loader__load_flush(dp_loader_t *loader, dp_flush_t *flush, const dp_loader_stat_t *stats,
                          size_t nstats, dp_err_t *err)
{
    char key[DP_STAGENAME_KEY_SIZE], key2[DP_STAGENAME_KEY_SIZE], path[DP_STAGENAME_PATH_SIZE];
    dp_manifest_t *m = NULL;
    dp_sysrows_run_t run;
    dp_buf_t runs, rows, extra;
    char *ranges = NULL;
    int64_t nruns = 0, nextra = 0;
    int rc;

    dp_buf_init(&runs, 64 * 1024 * 1024);
    dp_buf_init(&rows, 64 * 1024 * 1024);
    dp_buf_init(&extra, SIZE_MAX);
    if ((rc = ensure_setup(loader, err)) < 0 || (rc = flush_key(loader, flush, key, err)) < 0)
        goto out;
    m = manifest_of(loader, flush, key);
    if ((rc = stage_flush(loader, flush, key, stats, nstats, m, &rows, err)) < 0 ||
        (rc = dp_manifest_write(loader->client, loader->cfg, m, err)) < 0 ||
        (rc = may_load(loader, flush, m, err)) != 0)
        goto out;
    ranges = ranges_json(flush);
    memset(&run, 0, sizeof(run));
    run.run_key = key;
    run.worker_id = loader->worker_id;
    run.ranges_json = ranges;
    if ((rc = load_files(loader, flush, m, &run, &runs, &nruns, &extra, &nextra, err)) < 0)
        goto out;
    if (nextra > 0) {
        rejected_key(key, key2);
        run.started_at_us = dp_clock_wall_us();
        run.status = "LOADED";
        run.table = ERRORS_TABLE;
        run.file_path = path;
        if ((rc = stage_and_load(loader, ERRORS_TABLE, key2, NULL, 0, &extra, nextra, 0, &run,
                                 path, err)) < 0)
            goto out;
        run.finished_at_us = dp_clock_wall_us();
        if ((rc = dp_sysrows_run(&runs, &run, err)) < 0)
            goto out;
        nruns++;
    }
    /* The ledger of the offsets loaded (claims.h), then sync_runs, the
     * record of the files: both after every table. */
    dp_buf_reset(&rows);
    if ((rc = dp_claims_ledger_rows(&rows, m, err)) < 0 ||
        (rc = stage_and_load(loader, DP_LEDGER_TABLE, key, NULL, 0, &rows, rc, 0, NULL, path,
                             err)) < 0)
        goto out;
    rc = stage_and_load(loader, RUNS_TABLE, key, NULL, 0, &runs, nruns, 0, NULL, path, err);
out:
    dp_manifest_destroy(m);
    free(ranges);
    dp_buf_free(&runs);
    dp_buf_free(&rows);
    dp_buf_free(&extra);
    return rc > 0 ? 0 : rc;
}

/* Deletes the manifest, then the staged files of a committed flush (best
 * effort: a file left behind costs storage, never correctness). */
void dp_loader__retire_files(dp_loader_t *loader, const dp_flush_t *flush)
{
    const dp_config_t *cfg = loader->cfg;
    const char *extra[] = {STATS_TABLE, RUNS_TABLE, DP_LEDGER_TABLE, ERRORS_TABLE};
    char key[DP_STAGENAME_KEY_SIZE], key2[DP_STAGENAME_KEY_SIZE], path[DP_STAGENAME_PATH_SIZE];
    size_t nt = dp_flush_ntables(flush);
    dp_manifest_t *m;
    dp_err_t err;

    if (flush_key(loader, flush, key, &err) < 0)
        return;
    m = manifest_of(loader, flush, key);
    if (dp_manifest_delete(loader->client, cfg, m, &err) < 0)
        dp_log(DP_LOG_WARN, "loader", "deleting the manifest of %s: %s", key, err.msg);
    dp_manifest_destroy(m);
    rejected_key(key, key2);
    for (size_t i = 0; i < nt + 4; i++) {
        const char *table = i < nt ? dp_flush_table(flush, i, NULL) : extra[i - nt];
        int absent = 0;

        if (dp_stagename_path(cfg->databricks.catalog, cfg->databricks.schema,
                              cfg->databricks.volume, loader->incarnation, table,
                              i == nt + 3 ? key2 : key, path, sizeof(path), &err) < 0)
            continue;
        if (dp_dbx_files_delete(loader->client, path, &absent, &err) < 0)
            dp_log(DP_LOG_WARN, "loader", "deleting %s: %s", path, err.msg);
    }
}

/* ------------------------------------------------------------------------- */
/* Group-wide event counts                                                   */
/* ------------------------------------------------------------------------- */

static void mark_tables(json_t *rows, dp_loader_stat_t *stats, size_t n)
{
    size_t i;
    json_t *row;

    json_array_foreach(rows, i, row)
    {
        /* SHOW TABLES: database, tableName, isTemporary. */
        const char *name = json_string_value(json_array_get(row, 1));

        if (!name || strncmp(name, DP_TABLENAME_PREFIX, strlen(DP_TABLENAME_PREFIX)) != 0)
            continue;
        for (size_t k = 0; k < n; k++) {
            if (strcmp(stats[k].name, name + strlen(DP_TABLENAME_PREFIX)) == 0)
                stats[k].table_exists = 1;
        }
    }
}

/* Reads event_stats within the window and the existing evt_ tables; hands
 * the result to the poll thread. A failure is logged and retried later. */
void dp_loader__refresh_stats(dp_loader_t *loader)
{
    const dp_config_t *cfg = loader->cfg;
    char q[QUALIFIED_MAX], sql[QUALIFIED_MAX + 200], since[16];
    time_t t = time(NULL) - (time_t)cfg->routing.window_days * 86400;
    dp_dbx_sql_param_t param = {"since", since, "DATE"};
    dp_dbx_sql_result_t res, tables;
    dp_loader_stat_t *stats = NULL;
    size_t n = 0, i;
    json_t *row;
    struct tm tm;
    dp_err_t err;

    if (!loader->setup_done || qualified(loader, STATS_TABLE, q, &err) < 0)
        return;
    gmtime_r(&t, &tm);
    strftime(since, sizeof(since), "%Y-%m-%d", &tm);
    snprintf(sql, sizeof(sql), "SELECT event_name, CAST(SUM(events) AS BIGINT) FROM %s "
             "WHERE stat_day >= :since GROUP BY event_name", q);
    if (run_sql(loader, "read event_stats", NULL, sql, &param, 1, &res, &err) < 0) {
        dp_log(DP_LOG_WARN, "loader", "%s", err.msg);
        dp_dbx_sql_result_clear(&res);
        return;
    }
    stats = dp_calloc(json_array_size(res.rows) + 1, sizeof(*stats));
    json_array_foreach(res.rows, i, row)
    {
        const char *name = json_string_value(json_array_get(row, 0));
        const char *count = json_string_value(json_array_get(row, 1));

        if (!name || !count)
            continue;
        stats[n].name = dp_strdup(name);
        stats[n].count = strtoll(count, NULL, 10);
        n++;
    }
    dp_dbx_sql_result_clear(&res);
    snprintf(sql, sizeof(sql), "SHOW TABLES IN `%s`.`%s`", cfg->databricks.catalog,
             cfg->databricks.schema);
    if (run_sql(loader, "list tables", NULL, sql, NULL, 0, &tables, &err) == 0)
        mark_tables(tables.rows, stats, n);
    else
        dp_log(DP_LOG_DEBUG, "loader", "%s", err.msg);
    dp_dbx_sql_result_clear(&tables);
    pthread_mutex_lock(&loader->mu);
    dp_loader_stats_free(loader->shared, loader->nshared);
    loader->shared = stats;
    loader->nshared = n;
    loader->shared_new = 1;
    pthread_mutex_unlock(&loader->mu);
}
