/*
 * backfill: a promoted name's rows move from the shared table into its own
 * (see backfill.h).
 */
#include "load/backfill.h"

#include "batch/sysrows.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "load/load_merge.h"
#include "load/sink_zerobus.h"
#include "load/stmt.h"
#include "ops/metrics.h"
#include "route/tablename.h"

#include <inttypes.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A name whose own table was seen, and since when. */
typedef struct seen_name {
    char *name;
    int64_t since_us;
    int done;
} seen_name_t;

struct dp_backfill {
    const dp_config_t *cfg;
    char *incarnation;
    char *worker_id;
    dp_loadops_t *ops;
    dp_dbx_client_t *client; /* owned: this thread's */
    char *columns;           /* the staged rows' columns, backquoted */

    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;

    /* Thread only. */
    seen_name_t *names;
    size_t nnames;
    int done_read; /* the names already moved were read */
    _Atomic unsigned long moved;
};

/* ------------------------------------------------------------------------- */
/* SQL                                                                       */
/* ------------------------------------------------------------------------- */

#define POSITION "_incarnation, _kafka_topic, _kafka_partition, _kafka_offset"
#define ON_POSITION                                                                                \
    "t._incarnation = s._incarnation AND t._kafka_topic = s._kafka_topic AND "                     \
    "t._kafka_partition = s._kafka_partition AND t._kafka_offset = s._kafka_offset"

static char *format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *format(const char *fmt, ...)
{
    va_list ap, ap2;
    char *out;
    int n;

    va_start(ap, fmt);
    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    out = dp_malloc((size_t)n + 1);
    vsnprintf(out, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return out;
}

char *dp_backfill_move_sql(const char *own, const char *shared, const char *columns,
                           int merge_event_id)
{
    if (merge_event_id)
        return format("MERGE INTO %s AS t USING (SELECT %s, current_timestamp() AS _loaded_at "
                      "FROM %s WHERE event_name = :name QUALIFY ROW_NUMBER() OVER (PARTITION BY "
                      "event_id ORDER BY " POSITION ") = 1) AS s ON t.event_id = s.event_id "
                      "WHEN NOT MATCHED THEN INSERT *",
                      own, columns, shared);
    return format("MERGE INTO %s AS t USING (SELECT %s, current_timestamp() AS _loaded_at FROM %s "
                  "WHERE event_name = :name) AS s ON " ON_POSITION " WHEN NOT MATCHED THEN "
                  "INSERT *",
                  own, columns, shared);
}

char *dp_backfill_delete_sql(const char *own, const char *shared, int merge_event_id)
{
    /* The shared table is the target here: t is the shared row, s the own. */
    if (merge_event_id)
        return format("MERGE INTO %s AS t USING (SELECT DISTINCT event_id FROM %s) AS s ON "
                      "t.event_name = :name AND t.event_id = s.event_id WHEN MATCHED THEN DELETE",
                      shared, own);
    return format("MERGE INTO %s AS t USING (SELECT DISTINCT " POSITION " FROM %s) AS s ON "
                  "t.event_name = :name AND " ON_POSITION " WHEN MATCHED THEN DELETE",
                  shared, own);
}

/* ------------------------------------------------------------------------- */
/* Statements                                                                */
/* ------------------------------------------------------------------------- */

static int run(dp_backfill_t *bf, const char *what, const char *sql,
               const dp_dbx_sql_param_t *params, size_t n, dp_dbx_sql_result_t *res, dp_err_t *err)
{
    return dp_stmt_exec_params(bf->client, bf->cfg, what, sql, params, n, res, err);
}

static int qualified(const dp_backfill_t *bf, const char *table, char *out, dp_err_t *err)
{
    return dp_tablename_qualified(bf->cfg->databricks.catalog, bf->cfg->databricks.schema, table,
                                  out, DP_TABLENAME_QUALIFIED_SIZE, err);
}

static seen_name_t *find(dp_backfill_t *bf, const char *name)
{
    for (size_t i = 0; i < bf->nnames; i++) {
        if (strcmp(bf->names[i].name, name) == 0)
            return &bf->names[i];
    }
    return NULL;
}

static seen_name_t *add(dp_backfill_t *bf, const char *name, int64_t now)
{
    seen_name_t *s = find(bf, name);

    if (s)
        return s;
    bf->names = dp_realloc(bf->names, (bf->nnames + 1) * sizeof(*bf->names));
    s = &bf->names[bf->nnames++];
    s->name = dp_strdup(name);
    s->since_us = now;
    s->done = 0;
    return s;
}

/* The names already moved out of this shared table (by any worker). */
static int read_done(dp_backfill_t *bf, dp_err_t *err)
{
    char q[DP_TABLENAME_QUALIFIED_SIZE], sql[DP_TABLENAME_QUALIFIED_SIZE + 160];
    dp_dbx_sql_param_t p[] = {{"shared", bf->cfg->routing.shared_table, "STRING"}};
    dp_dbx_sql_result_t res;
    int rc;

    if (qualified(bf, DP_BACKFILLS_TABLE, q, err) < 0)
        return DP_EINVAL;
    snprintf(sql, sizeof(sql),
             "SELECT DISTINCT event_name FROM %s WHERE shared_table = :shared "
             "AND state = 'done'",
             q);
    if ((rc = run(bf, "backfill: read the names moved", sql, p, 1, &res, err)) == 0) {
        for (size_t i = 0; i < dp_stmt_nrows(&res); i++) {
            const char *name = dp_stmt_cell(&res, i, 0);

            if (name)
                add(bf, name, 0)->done = 1;
        }
    }
    dp_dbx_sql_result_clear(&res);
    return rc;
}

/* The evt_ tables of the schema (SHOW TABLES): names seen for the first
 * time are noted with the time. */
static int read_tables(dp_backfill_t *bf, int64_t now, dp_err_t *err)
{
    const dp_config_t *cfg = bf->cfg;
    char q[DP_TABLENAME_QUALIFIED_SIZE], sql[DP_TABLENAME_QUALIFIED_SIZE + 20];
    size_t plen = strlen(DP_TABLENAME_PREFIX);
    dp_dbx_sql_result_t res;
    int rc;

    if (dp_tablename_schema_qualified(cfg->databricks.catalog, cfg->databricks.schema, q, sizeof(q),
                                      err) < 0)
        return DP_EINVAL;
    snprintf(sql, sizeof(sql), "SHOW TABLES IN %s", q);
    if ((rc = run(bf, "backfill: list tables", sql, NULL, 0, &res, err)) == 0) {
        for (size_t i = 0; i < dp_stmt_nrows(&res); i++) {
            const char *t = dp_stmt_cell(&res, i, 1); /* database, tableName, isTemporary */

            if (!t || strncmp(t, DP_TABLENAME_PREFIX, plen) != 0 || !t[plen] ||
                strcmp(t, cfg->routing.shared_table) == 0 ||
                strcmp(t, cfg->routing.single_table) == 0)
                continue;
            add(bf, t + plen, now);
        }
    }
    dp_dbx_sql_result_clear(&res);
    return rc;
}

/* Takes the claim on moving name. *won = 1 when this worker runs it now;
 * *done = 1 when it was moved already. */
static int claim(dp_backfill_t *bf, const char *name, int64_t *epoch_out, char *now_out,
                 size_t nowlen, int *won, int *done, dp_err_t *err)
{
    char q[DP_TABLENAME_QUALIFIED_SIZE], sql[DP_TABLENAME_QUALIFIED_SIZE + 600];
    char epoch[24];
    const char *shared = bf->cfg->routing.shared_table;
    dp_dbx_sql_param_t rp[] = {{"name", name, "STRING"}, {"shared", shared, "STRING"}};
    dp_dbx_sql_result_t res;
    int64_t now = dp_clock_wall_us(), last = 0;
    int rc;

    *won = *done = 0;
    if (qualified(bf, DP_BACKFILLS_TABLE, q, err) < 0)
        return DP_EINVAL;
    snprintf(sql, sizeof(sql),
             "SELECT epoch, member, claimed_at_us, state FROM %s WHERE "
             "event_name = :name AND shared_table = :shared ORDER BY epoch DESC LIMIT 1",
             q);
    if ((rc = run(bf, "backfill: read the claim", sql, rp, 2, &res, err)) == 0 &&
        dp_stmt_nrows(&res) == 1) {
        const char *state = dp_stmt_cell(&res, 0, 3), *member = dp_stmt_cell(&res, 0, 1);

        last = dp_stmt_cell_ll(&res, 0, 0, 0);
        if (state && strcmp(state, "done") == 0)
            *done = 1;
        else if ((!member || strcmp(member, bf->worker_id) != 0) &&
                 now - dp_stmt_cell_ll(&res, 0, 2, 0) < (int64_t)DP_BACKFILL_LEASE_S * 1000000)
            last = -1; /* running elsewhere, within its lease */
        /* This worker's own claim still running: its run failed (a refused
         * statement, or a stop); the steps are idempotent, so it claims the
         * next epoch now instead of waiting out its own lease. */
    }
    dp_dbx_sql_result_clear(&res);
    if (rc < 0 || *done || last < 0)
        return rc;
    snprintf(epoch, sizeof(epoch), "%" PRId64, last + 1);
    snprintf(now_out, nowlen, "%" PRId64, now);
    {
        dp_dbx_sql_param_t p[] = {{"name", name, "STRING"},
                                  {"shared", shared, "STRING"},
                                  {"epoch", epoch, "BIGINT"},
                                  {"member", bf->worker_id, "STRING"},
                                  {"now", now_out, "BIGINT"}};

        snprintf(sql, sizeof(sql),
                 "MERGE INTO %s AS t USING (VALUES (:name, :shared, CAST(:epoch AS BIGINT), "
                 ":member, CAST(:now AS BIGINT))) AS s(event_name, shared_table, epoch, member, "
                 "claimed_at_us) ON t.event_name = s.event_name AND t.shared_table = "
                 "s.shared_table AND t.epoch = s.epoch WHEN NOT MATCHED THEN INSERT (event_name, "
                 "shared_table, epoch, member, claimed_at_us, state) VALUES (s.event_name, "
                 "s.shared_table, s.epoch, s.member, s.claimed_at_us, 'running')",
                 q);
        if ((rc = run(bf, "backfill: claim", sql, p, 5, NULL, err)) < 0)
            return rc;
        /* Whoever inserted first: read what won. */
        snprintf(sql, sizeof(sql),
                 "SELECT member, claimed_at_us FROM %s WHERE event_name = "
                 ":name AND shared_table = :shared AND epoch = CAST(:epoch AS BIGINT)",
                 q);
        if ((rc = run(bf, "backfill: read the claim back", sql, p, 3, &res, err)) == 0) {
            const char *who = dp_stmt_cell(&res, 0, 0), *at = dp_stmt_cell(&res, 0, 1);

            *won = who && at && strcmp(who, bf->worker_id) == 0 && strcmp(at, now_out) == 0;
        }
        dp_dbx_sql_result_clear(&res);
    }
    *epoch_out = last + 1;
    return rc;
}

/* Marks this worker's claim (name, epoch) done with its counts. */
static int mark_done(dp_backfill_t *bf, const char *name, int64_t epoch, long long moved,
                     long long deleted, dp_err_t *err)
{
    char q[DP_TABLENAME_QUALIFIED_SIZE], sql[DP_TABLENAME_QUALIFIED_SIZE + 600];
    char e[24], m[24], d[24], f[24];
    dp_dbx_sql_param_t p[] = {
        {"name", name, "STRING"}, {"shared", bf->cfg->routing.shared_table, "STRING"},
        {"epoch", e, "BIGINT"},   {"member", bf->worker_id, "STRING"},
        {"moved", m, "BIGINT"},   {"deleted", d, "BIGINT"},
        {"fin", f, "BIGINT"}};

    if (qualified(bf, DP_BACKFILLS_TABLE, q, err) < 0)
        return DP_EINVAL;
    snprintf(e, sizeof(e), "%" PRId64, epoch);
    snprintf(m, sizeof(m), "%lld", moved);
    snprintf(d, sizeof(d), "%lld", deleted);
    snprintf(f, sizeof(f), "%lld", (long long)dp_clock_wall_us());
    snprintf(sql, sizeof(sql),
             "MERGE INTO %s AS t USING (VALUES (:name, :shared, CAST(:epoch AS BIGINT), :member, "
             "CAST(:moved AS BIGINT), CAST(:deleted AS BIGINT), CAST(:fin AS BIGINT))) AS "
             "s(event_name, shared_table, epoch, member, moved, deleted, finished_at_us) ON "
             "t.event_name = s.event_name AND t.shared_table = s.shared_table AND t.epoch = "
             "s.epoch AND t.member = s.member WHEN MATCHED THEN UPDATE SET state = 'done', "
             "moved = s.moved, deleted = s.deleted, finished_at_us = s.finished_at_us",
             q);
    return run(bf, "backfill: mark done", sql, p, 7, NULL, err);
}

static int fill_one(void *ctx, dp_avrofile_t *file, dp_err_t *err)
{
    const dp_buf_t *rows = ctx;

    return dp_avrofile_append_encoded(file, dp_buf_data(rows), dp_buf_len(rows), 1, err) < 0
               ? DP_EFAIL
               : 0;
}

/* The move's sync_runs row (kind 'backfill'), staged and copied. */
static int record(dp_backfill_t *bf, const char *name, const char *own, int64_t epoch,
                  long long moved, long long deleted, int64_t started_us, dp_err_t *err)
{
    char text[DP_TABLENAME_TABLE_SIZE * 2 + 80], key[DP_STAGENAME_KEY_SIZE];
    char path[DP_STAGENAME_PATH_SIZE];
    unsigned char md[32];
    unsigned int mdlen = 0;
    dp_sysrows_run_t run;
    dp_buf_t rows;
    json_t *j = json_pack("{s:s,s:s,s:I,s:I,s:I}", "event_name", name, "from",
                          bf->cfg->routing.shared_table, "epoch", (json_int_t)epoch, "moved",
                          (json_int_t)moved, "deleted", (json_int_t)deleted);
    char *ranges = json_dumps(j, JSON_COMPACT);
    long long inserted = 0;
    int rc;

    json_decref(j);
    snprintf(text, sizeof(text), "backfill/%s/%s/%" PRId64, bf->cfg->routing.shared_table, name,
             epoch);
    EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL);
    for (unsigned int i = 0; i < 32; i++)
        snprintf(key + 2 * i, 3, "%02x", md[i]);
    memset(&run, 0, sizeof(run));
    run.run_key = key;
    run.worker_id = bf->worker_id;
    run.table = own;
    run.file_path = bf->cfg->routing.shared_table;
    run.ranges_json = ranges;
    run.status = "BACKFILLED";
    run.kind = "backfill";
    run.rows = moved;
    run.inserted_rows = moved;
    run.duplicates = deleted > moved ? deleted - moved : 0;
    run.started_at_us = started_us;
    run.finished_at_us = dp_clock_wall_us();
    run.statements = 7;
    run.files_calls = 1;
    run.load_ms = (run.finished_at_us - started_us) / 1000;
    dp_buf_init(&rows, 1 << 20);
    if ((rc = dp_sysrows_run(&rows, &run, err)) == 0 &&
        (rc = dp_loadops_path(bf->ops, DP_RUNS_TABLE, key, path, err)) == 0 &&
        (rc = dp_loadops_stage(bf->ops, bf->client, DP_RUNS_TABLE, path, fill_one, &rows, NULL,
                               NULL, err)) == 0)
        rc = dp_loadops_copy(bf->ops, bf->client, DP_RUNS_TABLE, path, &inserted, err);
    dp_buf_free(&rows);
    free(ranges);
    return rc;
}

/* Moves name's rows from the shared table into own, if this worker wins the
 * claim. */
static int move(dp_backfill_t *bf, seen_name_t *sn, dp_err_t *err)
{
    const dp_config_t *cfg = bf->cfg;
    char own[DP_TABLENAME_TABLE_SIZE], qown[DP_TABLENAME_QUALIFIED_SIZE];
    char qshared[DP_TABLENAME_QUALIFIED_SIZE], now[24];
    char rown[DP_SINK_ZB_RAW_SIZE], rshared[DP_SINK_ZB_RAW_SIZE];
    const char *town, *tshared;
    dp_dbx_sql_param_t p[] = {{"name", sn->name, "STRING"}};
    dp_dbx_sql_result_t res;
    long long moved = 0, deleted = 0;
    int64_t epoch = 0, t0 = dp_clock_wall_us();
    int won = 0, done = 0, merge, rc;
    char *sql;

    if (dp_tablename_for_event(sn->name, strlen(sn->name), own, sizeof(own), err) < 0)
        return DP_EINVAL;
    town = own;
    tshared = cfg->routing.shared_table;
    /* With sink zerobus, evt_<name> and the shared table are views over their
     * raw tables: the rows move between the raw tables, keeping their Kafka
     * position, so the views' deduplication still holds. */
    if (cfg->sink == DP_CONFIG_SINK_ZEROBUS) {
        if (dp_sink_zb_raw_name(own, rown, sizeof(rown), err) < 0 ||
            dp_sink_zb_raw_name(cfg->routing.shared_table, rshared, sizeof(rshared), err) < 0)
            return DP_EINVAL;
        town = rown;
        tshared = rshared;
    }
    if (qualified(bf, town, qown, err) < 0 || qualified(bf, tshared, qshared, err) < 0)
        return DP_EINVAL;
    if ((rc = claim(bf, sn->name, &epoch, now, sizeof(now), &won, &done, err)) < 0)
        return rc;
    if (done) {
        sn->done = 1;
        return 0;
    }
    if (!won)
        return 0; /* another worker moves it: asked again later */
    merge = dp_load_merge_mode(cfg, own);
    dp_log(DP_LOG_INFO, "backfill", "%s: moving its rows from %s into %s (claim %" PRId64 ")",
           sn->name, cfg->routing.shared_table, own, epoch);
    sql = dp_backfill_move_sql(qown, qshared, bf->columns, merge);
    rc = run(bf, "backfill: move rows", sql, p, 1, &res, err);
    free(sql);
    if (rc == 0)
        moved = dp_stmt_count(&res, "num_inserted_rows", 0);
    dp_dbx_sql_result_clear(&res);
    if (rc < 0)
        return rc;
    dp_log(DP_LOG_INFO, "backfill", "%s: %lld rows copied into %s; deleting them from %s", sn->name,
           moved, own, cfg->routing.shared_table);
    sql = dp_backfill_delete_sql(qown, qshared, merge);
    rc = run(bf, "backfill: delete moved rows", sql, p, 1, &res, err);
    free(sql);
    if (rc == 0)
        deleted = dp_stmt_count(&res, "num_deleted_rows", 0);
    dp_dbx_sql_result_clear(&res);
    if (rc < 0 || (rc = mark_done(bf, sn->name, epoch, moved, deleted, err)) < 0)
        return rc;
    sn->done = 1;
    atomic_fetch_add(&bf->moved, 1);
    dp_metrics_add(DP_MC_BACKFILL_ROWS_MOVED, (uint64_t)moved);
    dp_log(DP_LOG_INFO, "backfill",
           "%s: moved from %s into %s: %lld rows inserted, %lld deleted "
           "from the shared table",
           sn->name, cfg->routing.shared_table, own, moved, deleted);
    if ((rc = record(bf, sn->name, own, epoch, moved, deleted, t0, err)) < 0)
        dp_log(DP_LOG_WARN, "backfill", "%s: the sync_runs row was not written: %s", sn->name,
               err->msg);
    return 0;
}

/* ------------------------------------------------------------------------- */
/* The thread                                                                */
/* ------------------------------------------------------------------------- */

static int stopping(dp_backfill_t *bf)
{
    int stop;

    pthread_mutex_lock(&bf->mu);
    stop = bf->stop;
    pthread_mutex_unlock(&bf->mu);
    return stop;
}

/* One round: the tables, then every name whose table is old enough. */
static void round_once(dp_backfill_t *bf)
{
    const dp_config_t *cfg = bf->cfg;
    int64_t now = dp_clock_wall_us();
    int64_t settle = 3 * cfg->routing.stats_refresh_s * 1000000 + cfg->flush.max_age_ms * 1000;
    dp_err_t err;

    if (!bf->done_read) {
        if (dp_loadops_prepare_table(bf->ops, bf->client, DP_BACKFILLS_TABLE, &err) < 0 ||
            read_done(bf, &err) < 0) {
            dp_log(DP_LOG_WARN, "backfill", "%s (tried again later)", err.msg);
            return;
        }
        bf->done_read = 1;
    }
    if (read_tables(bf, now, &err) < 0) {
        dp_log(DP_LOG_WARN, "backfill", "%s (tried again later)", err.msg);
        return;
    }
    for (size_t i = 0; i < bf->nnames && !stopping(bf); i++) {
        seen_name_t *sn = &bf->names[i];

        if (sn->done || now - sn->since_us < settle)
            continue;
        if (move(bf, sn, &err) < 0)
            dp_log(DP_LOG_WARN, "backfill",
                   "%s: %s (tried again later; each step is "
                   "idempotent)",
                   sn->name, err.msg);
    }
}

static void *backfill_main(void *arg)
{
    dp_backfill_t *bf = arg;

    /* The first round after one refresh interval: the worker creates the
     * system tables meanwhile, and no name is due before settle anyway. */
    pthread_mutex_lock(&bf->mu);
    while (!bf->stop) {
        struct timespec ts = dp_clock_deadline((long)bf->cfg->routing.stats_refresh_s * 1000);

        while (!bf->stop && pthread_cond_timedwait(&bf->cv, &bf->mu, &ts) == 0)
            ;
        if (bf->stop)
            break;
        pthread_mutex_unlock(&bf->mu);
        round_once(bf);
        pthread_mutex_lock(&bf->mu);
    }
    pthread_mutex_unlock(&bf->mu);
    return NULL;
}

dp_backfill_t *dp_backfill_new(const dp_backfill_opts_t *opts, dp_err_t *err)
{
    dp_backfill_t *bf = dp_calloc(1, sizeof(*bf));
    char probe[DP_TABLENAME_TABLE_SIZE];

    bf->cfg = opts->cfg;
    bf->incarnation = dp_strdup(opts->incarnation);
    bf->worker_id = dp_strdup(opts->worker_id);
    bf->ops = opts->ops;
    pthread_mutex_init(&bf->mu, NULL);
    pthread_cond_init(&bf->cv, NULL);
    snprintf(probe, sizeof(probe), "%sx", DP_TABLENAME_PREFIX);
    if (!(bf->columns = dp_load_merge_columns(dp_loadops_schema_of(bf->ops, probe), err)))
        goto fail;
    if (!(bf->client = dp_dbxconn_new_client(opts->conn, opts->cfg, NULL, NULL, err)))
        goto fail;
    if (pthread_create(&bf->thread, NULL, backfill_main, bf) != 0) {
        dp_err_set(err, DP_EFAIL, 0, "backfill: cannot start its thread");
        goto fail;
    }
    bf->started = 1;
    return bf;
fail:
    dp_backfill_destroy(bf);
    return NULL;
}

void dp_backfill_destroy(dp_backfill_t *bf)
{
    if (!bf)
        return;
    if (bf->started) {
        pthread_mutex_lock(&bf->mu);
        bf->stop = 1;
        pthread_cond_broadcast(&bf->cv);
        pthread_mutex_unlock(&bf->mu);
        pthread_join(bf->thread, NULL);
    }
    for (size_t i = 0; i < bf->nnames; i++)
        free(bf->names[i].name);
    free(bf->names);
    dp_dbx_client_destroy(bf->client);
    pthread_cond_destroy(&bf->cv);
    pthread_mutex_destroy(&bf->mu);
    free(bf->columns);
    free(bf->incarnation);
    free(bf->worker_id);
    free(bf);
}

unsigned long dp_backfill_moved(const dp_backfill_t *bf)
{
    return atomic_load(&((dp_backfill_t *)bf)->moved);
}
