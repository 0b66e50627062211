/*
 * cmd_replay: replay of a time window (see cmd_replay.h).
 */
#include "cli/cmd_replay.h"

#include "batch/flush.h"
#include "batch/sysrows.h"
#include "cli/cli.h"
#include "cli/cmd_report.h"
#include "codec/decode.h"
#include "codec/json_event.h"
#include "codec/registry.h"
#include "config/config.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "dbx/files.h"
#include "load/dbxconn.h"
#include "load/dbxpool.h"
#include "load/loadops.h"
#include "load/stmt.h"
#include "route/router.h"
#include "route/tablename.h"

#include <inttypes.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Rows buffered over all tables before they are staged and merged. */
#define BATCH_BYTES ((size_t)64 << 20)
#define MAX_NAMES   256
#define INC_SIZE    64

static const char replay_help[] =
    "usage: deltaport replay --config FILE --from TIME [--to TIME] [--topic T]\n"
    "         [--names a,b,...] [--dry-run]\n"
    "\n"
    "Loads again the events the pool loaded in a time window (by Kafka timestamp), from\n"
    "Kafka, into the tables that hold them today, merged on event_id: rows missing from\n"
    "a table come back, and nothing is duplicated (a second run changes nothing). Only\n"
    "what the ledger says was loaded is read, with a consumer of its own: no consumer\n"
    "group, no offsets committed, no manifest, ledger row or claim written; one sync_runs\n"
    "row of kind 'replay' records the run (docs/DELIVERY.md, \"Replay of a time window\").\n"
    "\n"
    "options:\n"
    "  -c, --config FILE   the pool's configuration\n"
    "  -f, --from TIME     start of the window: 2026-05-01T12:00:00Z (RFC 3339, Z or an\n"
    "                      offset), 2026-05-01 (midnight UTC), or 90s, 15m, 24h, 7d ago\n"
    "  -t, --to TIME       end of the window, included (default: now, i.e. everything\n"
    "                      loaded since --from); refused past the newest loaded record\n"
    "  -T, --topic T       only this topic (default: every topic of the ledger)\n"
    "  -n, --names LIST    only these event names, comma-separated\n"
    "      --dry-run       say what would be read, load nothing\n"
    "  -h, --help          this text\n"
    "\n"
    "Exit status: 0 success, 1 failure (refused windows included), 2 usage error.\n";

/* One partition's offsets to read. */
typedef struct span {
    char *topic;
    int32_t partition;
    int64_t first, last; /* of the ledger ranges meeting the window */
    int64_t ranges;
    int64_t low, high; /* the log's watermarks */
    int64_t in_window; /* records read whose timestamp is in the window */
    int done;
} span_t;

/* Lineage: the offsets (and Kafka timestamps) the rows of one name span in
 * one table and partition. */
typedef struct lin {
    char *table, *name, *topic;
    int32_t partition;
    int64_t min, max;
    int64_t ts_min, ts_max; /* microseconds; -1 when unknown */
} lin_t;

/* One destination table's rows waiting to be merged. */
typedef struct dest {
    char *table;
    dp_buf_t rows;  /* staged records: canonical body + lineage */
    int64_t n;      /* in rows */
    int64_t chunks; /* files merged so far */
    int64_t replayed, inserted, duplicates;
} dest_t;

typedef struct replay {
    const dp_config_t *cfg;
    dp_dbxconn_t conn;
    dp_dbxpool_t *pool;
    dp_loadops_t *ops;
    char inc[INC_SIZE];
    char run_key[DP_STAGENAME_KEY_SIZE];
    dp_decoder_t *dec;
    dp_registry_t *registry;
    dp_decode_scratch_t scratch;
    int64_t from_us, to_us;
    const char *topic;
    char *names_buf;
    const char *names[MAX_NAMES];
    size_t nnames;
    int dry_run;

    span_t *spans;
    size_t nspans, last_span;
    lin_t *lins;
    size_t nlins;
    char **tables; /* tables of the schema (SHOW TABLES) */
    size_t ntables;
    char **indexed; /* tables whose lineage was read */
    size_t nindexed;
    dest_t *dests;
    size_t ndests;
    size_t buffered;

    int64_t total, seen, in_window, replayed, rejected, other_names, no_lineage, untimed;
    dp_dbx_counts_t pool_cost; /* calls of the staging and merge jobs */
    int64_t started_us;
    long long last_bar_ms;
    int tty;
} replay_t;

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

/* ------------------------------------------------------------------------- */
/* Times                                                                     */
/* ------------------------------------------------------------------------- */

int dp_cmd_replay_time(const char *text, int64_t now_us, int64_t *us)
{
    size_t len = strlen(text);
    long long secs;
    char full[40];

    if (len == 10 && text[4] == '-' && text[7] == '-') {
        snprintf(full, sizeof(full), "%sT00:00:00Z", text);
        return dp_iso8601_to_micros(full, strlen(full), us);
    }
    if (len >= 20 && text[4] == '-')
        return dp_iso8601_to_micros(text, len, us);
    if (dp_cmd_report_duration(text, &secs) == 0 && secs <= INT64_MAX / 1000000 &&
        secs * 1000000 <= now_us) {
        *us = now_us - secs * 1000000;
        return 0;
    }
    return -1;
}

/* "2026-05-01T12:00:00.123456Z" into out (at least 32 bytes). */
static void fmt_ts(int64_t us, char *out, size_t outlen)
{
    time_t t = (time_t)(us / 1000000);
    struct tm tm;
    char base[24];

    gmtime_r(&t, &tm);
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, outlen, "%s.%06dZ", base, (int)(us % 1000000));
}

/* A TIMESTAMP cell as microseconds; -1 when NULL or unreadable. */
static int64_t cell_ts(const dp_dbx_sql_result_t *res, size_t row, size_t col)
{
    const char *v = dp_stmt_cell(res, row, col);
    int64_t us;

    return v && dp_iso8601_to_micros(v, strlen(v), &us) == 0 ? us : -1;
}

/* ------------------------------------------------------------------------- */
/* Statements                                                                */
/* ------------------------------------------------------------------------- */

static int run_sql(replay_t *r, const char *what, const char *sql, const dp_dbx_sql_param_t *params,
                   size_t n, dp_dbx_sql_result_t *res, dp_err_t *err)
{
    return dp_stmt_exec_params(r->conn.client, r->cfg, what, sql, params, n, res, err);
}

static int qualified(const replay_t *r, const char *table, char *out, dp_err_t *err)
{
    return dp_tablename_qualified(r->cfg->databricks.catalog, r->cfg->databricks.schema, table, out,
                                  DP_TABLENAME_QUALIFIED_SIZE, err);
}

/* The pool's current incarnation (read, never minted: a replay of a pool
 * that never loaded anything has nothing to read). */
static int read_incarnation(replay_t *r, dp_err_t *err)
{
    char q[DP_TABLENAME_QUALIFIED_SIZE], sql[DP_TABLENAME_QUALIFIED_SIZE + 120];
    dp_dbx_sql_param_t p[] = {{"g", r->cfg->kafka.group_id, "STRING"}};
    dp_dbx_sql_result_t res;
    const char *inc;
    int rc;

    if (qualified(r, DP_INCARNATIONS_TABLE, q, err) < 0)
        return DP_EINVAL;
    snprintf(sql, sizeof(sql),
             "SELECT incarnation FROM %s WHERE group_id = :g ORDER BY seq DESC "
             "LIMIT 1",
             q);
    rc = run_sql(r, "replay: read the incarnation", sql, p, 1, &res, err);
    if (rc == 0) {
        inc = dp_stmt_cell(&res, 0, 0);
        if (!inc || !inc[0] || strlen(inc) >= sizeof(r->inc))
            rc = dp_err_set(err, DP_EFAIL, 0,
                            "replay: consumer group %s has no incarnation: "
                            "the pool has loaded nothing yet",
                            r->cfg->kafka.group_id);
        else
            snprintf(r->inc, sizeof(r->inc), "%s", inc);
    }
    dp_dbx_sql_result_clear(&res);
    return rc;
}

static span_t *find_span(replay_t *r, const char *topic, int32_t partition)
{
    /* Messages come in runs of one partition: the last one found first. */
    if (r->last_span < r->nspans && r->spans[r->last_span].partition == partition &&
        strcmp(r->spans[r->last_span].topic, topic) == 0)
        return &r->spans[r->last_span];
    for (size_t i = 0; i < r->nspans; i++) {
        if (r->spans[i].partition == partition && strcmp(r->spans[i].topic, topic) == 0) {
            r->last_span = i;
            return &r->spans[i];
        }
    }
    return NULL;
}

/* The ledger's ranges that meet the window, as spans per partition; and the
 * newest record the pool loaded (*newest, -1 when unknown). Ranges written
 * before timestamps were recorded (ts NULL) cannot be placed in time:
 * *untimed counts them. */
static int read_ledger(replay_t *r, int64_t *newest, int64_t *untimed, dp_err_t *err)
{
    char q[DP_TABLENAME_QUALIFIED_SIZE], sql[DP_TABLENAME_QUALIFIED_SIZE + 400];
    char from[40], to[40];
    const char *tf = r->topic ? " AND topic = :topic" : "";
    dp_dbx_sql_param_t p[] = {{"inc", r->inc, "STRING"},
                              {"from", from, "TIMESTAMP"},
                              {"to", to, "TIMESTAMP"},
                              {"topic", r->topic, "STRING"}};
    dp_dbx_sql_param_t p2[] = {p[0], p[3]};
    dp_dbx_sql_result_t res;
    int rc;

    if (qualified(r, DP_LEDGER_TABLE, q, err) < 0)
        return DP_EINVAL;
    fmt_ts(r->from_us, from, sizeof(from));
    fmt_ts(r->to_us, to, sizeof(to));
    snprintf(sql, sizeof(sql),
             "SELECT topic, kpartition, first_offset, last_offset FROM %s "
             "WHERE kind = 'range' AND incarnation = :inc AND ts_max >= :from AND "
             "ts_min <= :to%s ORDER BY topic, kpartition, first_offset",
             q, tf);
    if ((rc = run_sql(r, "replay: read the ledger", sql, p, r->topic ? 4 : 3, &res, err)) < 0) {
        dp_dbx_sql_result_clear(&res);
        return rc;
    }
    for (size_t i = 0; i < dp_stmt_nrows(&res); i++) {
        const char *topic = dp_stmt_cell(&res, i, 0);
        long long part = dp_stmt_cell_ll(&res, i, 1, -1);
        long long first = dp_stmt_cell_ll(&res, i, 2, -1), last = dp_stmt_cell_ll(&res, i, 3, -1);
        span_t *s;

        if (!topic || part < 0 || part > INT32_MAX || first < 0 || last < first)
            continue;
        if (!(s = find_span(r, topic, (int32_t)part))) {
            r->spans = dp_realloc(r->spans, (r->nspans + 1) * sizeof(*r->spans));
            s = &r->spans[r->nspans++];
            memset(s, 0, sizeof(*s));
            s->topic = dp_strdup(topic);
            s->partition = (int32_t)part;
            s->first = first;
            s->last = last;
        }
        if (first < s->first)
            s->first = first;
        if (last > s->last)
            s->last = last;
        s->ranges++;
    }
    dp_dbx_sql_result_clear(&res);
    snprintf(sql, sizeof(sql),
             "SELECT MAX(ts_max), COUNT(*) - COUNT(ts_max) FROM %s WHERE "
             "kind = 'range' AND incarnation = :inc%s",
             q, tf);
    rc =
        run_sql(r, "replay: read the ledger's newest record", sql, p2, r->topic ? 2 : 1, &res, err);
    if (rc == 0) {
        *newest = cell_ts(&res, 0, 0);
        *untimed = dp_stmt_cell_ll(&res, 0, 1, 0);
    }
    dp_dbx_sql_result_clear(&res);
    return rc;
}

/* ------------------------------------------------------------------------- */
/* Lineage                                                                   */
/* ------------------------------------------------------------------------- */

static int has_table(const replay_t *r, const char *table)
{
    for (size_t i = 0; i < r->ntables; i++) {
        if (strcmp(r->tables[i], table) == 0)
            return 1;
    }
    return 0;
}

static int read_tables(replay_t *r, dp_err_t *err)
{
    char q[DP_TABLENAME_QUALIFIED_SIZE], sql[DP_TABLENAME_QUALIFIED_SIZE + 20];
    dp_dbx_sql_result_t res;
    int rc;

    if (dp_tablename_schema_qualified(r->cfg->databricks.catalog, r->cfg->databricks.schema, q,
                                      sizeof(q), err) < 0)
        return DP_EINVAL;
    snprintf(sql, sizeof(sql), "SHOW TABLES IN %s", q);
    if ((rc = run_sql(r, "replay: list tables", sql, NULL, 0, &res, err)) == 0) {
        r->tables = dp_calloc(dp_stmt_nrows(&res) + 1, sizeof(*r->tables));
        for (size_t i = 0; i < dp_stmt_nrows(&res); i++) {
            const char *name = dp_stmt_cell(&res, i, 1); /* database, tableName, isTemporary */

            if (name && !dp_tablename_is_system(name))
                r->tables[r->ntables++] = dp_strdup(name);
        }
    }
    dp_dbx_sql_result_clear(&res);
    return rc;
}

/* Lineage is sorted by (name, topic, partition) and searched by halves: a
 * replay resolves every record. */
static int key_cmp(const char *name, const char *topic, int32_t partition, const lin_t *l)
{
    int c = strcmp(name, l->name);

    if (c == 0)
        c = strcmp(topic, l->topic);
    return c ? c : (partition > l->partition) - (partition < l->partition);
}

static int lin_cmp(const void *a, const void *b)
{
    const lin_t *x = a;

    return key_cmp(x->name, x->topic, x->partition, b);
}

/* Index of the first lineage entry of name (and, when topic is not NULL, of
 * topic and partition), or nlins. */
static size_t first_lin(const replay_t *r, const char *name, const char *topic, int32_t partition)
{
    size_t lo = 0, hi = r->nlins;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = topic ? key_cmp(name, topic, partition, &r->lins[mid])
                      : strcmp(name, r->lins[mid].name);

        if (c > 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Reads, once, where the rows of every name lie in table: one statement. */
static int index_table(replay_t *r, const char *table, dp_err_t *err)
{
    char q[DP_TABLENAME_QUALIFIED_SIZE], sql[DP_TABLENAME_QUALIFIED_SIZE + 300];
    dp_dbx_sql_param_t p[] = {{"inc", r->inc, "STRING"}};
    dp_dbx_sql_result_t res;
    int rc;

    for (size_t i = 0; i < r->nindexed; i++) {
        if (strcmp(r->indexed[i], table) == 0)
            return 0;
    }
    if (!has_table(r, table))
        return 0;
    if (qualified(r, table, q, err) < 0)
        return DP_EINVAL;
    snprintf(sql, sizeof(sql),
             "SELECT event_name, _kafka_topic, _kafka_partition, "
             "MIN(_kafka_offset), MAX(_kafka_offset), MIN(_kafka_timestamp), "
             "MAX(_kafka_timestamp) FROM %s WHERE _incarnation = :inc GROUP BY event_name, "
             "_kafka_topic, _kafka_partition",
             q);
    if ((rc = run_sql(r, "replay: read lineage", sql, p, 1, &res, err)) == 0) {
        size_t n = dp_stmt_nrows(&res);

        r->lins = dp_realloc(r->lins, (r->nlins + n + 1) * sizeof(*r->lins));
        for (size_t i = 0; i < n; i++) {
            const char *name = dp_stmt_cell(&res, i, 0), *topic = dp_stmt_cell(&res, i, 1);
            long long part = dp_stmt_cell_ll(&res, i, 2, -1);
            lin_t *l = &r->lins[r->nlins];

            if (!name || !topic || part < 0 || part > INT32_MAX)
                continue;
            l->table = dp_strdup(table);
            l->name = dp_strdup(name);
            l->topic = dp_strdup(topic);
            l->partition = (int32_t)part;
            l->min = dp_stmt_cell_ll(&res, i, 3, -1);
            l->max = dp_stmt_cell_ll(&res, i, 4, -1);
            l->ts_min = cell_ts(&res, i, 5);
            l->ts_max = cell_ts(&res, i, 6);
            r->nlins++;
        }
        r->indexed = dp_realloc(r->indexed, (r->nindexed + 1) * sizeof(*r->indexed));
        r->indexed[r->nindexed++] = dp_strdup(table);
        qsort(r->lins, r->nlins, sizeof(*r->lins), lin_cmp);
    }
    dp_dbx_sql_result_clear(&res);
    return rc;
}

/* Of the name's rows in every partition, the table whose rows were around
 * ts (microseconds) in time: NULL when the name has no rows anywhere. */
static const char *by_time(const replay_t *r, const char *name, const char *own, int64_t ts)
{
    const lin_t *in = NULL, *below = NULL, *above = NULL;

    for (size_t i = first_lin(r, name, NULL, 0); i < r->nlins; i++) {
        const lin_t *l = &r->lins[i];

        if (strcmp(l->name, name) != 0)
            break;
        if (l->ts_min < 0)
            continue;
        if (ts >= l->ts_min && ts <= l->ts_max && (!in || strcmp(l->table, own) == 0))
            in = l;
        if (l->ts_min <= ts && (!below || l->ts_min > below->ts_min))
            below = l;
        if (l->ts_min > ts && (!above || l->ts_min < above->ts_min))
            above = l;
    }
    return in ? in->table : below ? below->table : above ? above->table : NULL;
}

/* The table that holds the rows of name around (topic, partition, offset)
 * today (lineage: the name's rows in that partition, else in any partition
 * around that time ts), else where routing sends the name. own is
 * evt_<name>. */
static int resolve(replay_t *r, const char *name, const char *own, const char *topic,
                   int32_t partition, int64_t offset, int64_t ts, const char **table, dp_err_t *err)
{
    const lin_t *in = NULL, *below = NULL, *above = NULL;
    const dp_config_t *cfg = r->cfg;
    int rc;

    if ((rc = index_table(r, own, err)) < 0 ||
        (rc = index_table(r, cfg->routing.shared_table, err)) < 0 ||
        (rc = index_table(r, cfg->routing.single_table, err)) < 0)
        return rc;
    for (size_t i = first_lin(r, name, topic, partition); i < r->nlins; i++) {
        const lin_t *l = &r->lins[i];

        if (key_cmp(name, topic, partition, l) != 0)
            break;
        /* Rows in two tables at once (a backfill half done): the own table. */
        if (offset >= l->min && offset <= l->max && (!in || strcmp(l->table, own) == 0))
            in = l;
        if (l->min <= offset && (!below || l->min > below->min))
            below = l;
        if (l->min > offset && (!above || l->min < above->min))
            above = l;
    }
    /* Promotion moves a name forward in offsets (shared, then its own table):
     * a missing row belongs to the table its neighbours before it are in. */
    if (in || below || above) {
        *table = (in ? in : below ? below : above)->table;
        return 0;
    }
    if ((*table = by_time(r, name, own, ts)) != NULL)
        return 0;
    r->no_lineage++;
    if (cfg->routing.mode == DP_ROUTE_SINGLE)
        *table = cfg->routing.single_table;
    else if (cfg->routing.mode == DP_ROUTE_PER_EVENT || has_table(r, own))
        *table = own;
    else
        *table = cfg->routing.shared_table;
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Loading                                                                   */
/* ------------------------------------------------------------------------- */

static dest_t *dest_of(replay_t *r, const char *table)
{
    for (size_t i = 0; i < r->ndests; i++) {
        if (strcmp(r->dests[i].table, table) == 0)
            return &r->dests[i];
    }
    r->dests = dp_realloc(r->dests, (r->ndests + 1) * sizeof(*r->dests));
    memset(&r->dests[r->ndests], 0, sizeof(r->dests[0]));
    r->dests[r->ndests].table = dp_strdup(table);
    dp_buf_init(&r->dests[r->ndests].rows, SIZE_MAX);
    return &r->dests[r->ndests++];
}

/* hex SHA-256 of text into out. */
static void hex_sha256(const char *text, char out[DP_STAGENAME_KEY_SIZE])
{
    unsigned char md[32];
    unsigned int mdlen = 0;

    EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL);
    for (unsigned int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

typedef struct merge_job {
    replay_t *r;
    dest_t *d;
    char path[DP_STAGENAME_PATH_SIZE];
    int64_t rows;
    long long inserted, duplicates;
} merge_job_t;

static int fill_rows(void *ctx, dp_avrofile_t *file, dp_err_t *err)
{
    merge_job_t *mj = ctx;

    return dp_avrofile_append_encoded(file, dp_buf_data(&mj->d->rows), dp_buf_len(&mj->d->rows),
                                      (uint64_t)mj->d->n, err) < 0
               ? DP_EFAIL
               : 0;
}

/* Stages one table's rows, merges them on event_id, deletes the file. */
static int merge_job(dp_dbx_client_t *client, void *arg, dp_err_t *err)
{
    merge_job_t *mj = arg;
    dp_loadops_t *ops = mj->r->ops;
    dp_err_t derr;
    int absent = 0, rc;

    if ((rc = dp_loadops_prepare_table(ops, client, mj->d->table, err)) < 0 ||
        (rc = dp_loadops_stage(ops, client, mj->d->table, mj->path, fill_rows, mj, &mj->rows, NULL,
                               err)) < 0)
        return rc;
    rc = dp_loadops_merge(ops, client, mj->d->table, mj->path, mj->rows, &mj->inserted,
                          &mj->duplicates, err);
    if (dp_dbx_files_delete(client, mj->path, &absent, &derr) < 0)
        dp_log(DP_LOG_WARN, "replay", "could not delete the staged file %s (left behind): %s",
               mj->path, derr.msg);
    return rc;
}

/* Merges every table's buffered rows, concurrently. */
static int load_all(replay_t *r, dp_err_t *err)
{
    merge_job_t *mjs = dp_calloc(r->ndests + 1, sizeof(*mjs));
    dp_dbxpool_job_t *jobs = dp_calloc(r->ndests + 1, sizeof(*jobs));
    size_t n = 0;
    int rc = 0;

    for (size_t i = 0; i < r->ndests && rc == 0; i++) {
        dest_t *d = &r->dests[i];
        char text[DP_STAGENAME_KEY_SIZE + 300], key[DP_STAGENAME_KEY_SIZE];

        if (d->n == 0)
            continue;
        snprintf(text, sizeof(text), "replay/%s/%s/%lld", r->run_key, d->table,
                 (long long)d->chunks);
        hex_sha256(text, key);
        mjs[n].r = r;
        mjs[n].d = d;
        rc = dp_loadops_path(r->ops, d->table, key, mjs[n].path, err);
        jobs[n].fn = merge_job;
        jobs[n].arg = &mjs[n];
        n++;
    }
    if (rc == 0 && n > 0)
        dp_dbxpool_run(r->pool, jobs, n, NULL, NULL);
    for (size_t i = 0; i < n; i++) {
        dest_t *d = mjs[i].d;

        dp_dbx_counts_add(&r->pool_cost, &jobs[i].cost);
        if (jobs[i].rc != 0 && rc == 0) {
            *err = jobs[i].err;
            rc = jobs[i].rc < 0 ? jobs[i].rc : DP_EFAIL;
        }
        if (jobs[i].rc == 0) {
            d->replayed += mjs[i].rows;
            d->inserted += mjs[i].inserted;
            d->duplicates += mjs[i].duplicates;
            d->chunks++;
            dp_buf_reset(&d->rows);
            d->n = 0;
        }
    }
    if (rc == 0)
        r->buffered = 0;
    free(mjs);
    free(jobs);
    return rc;
}

/* ------------------------------------------------------------------------- */
/* Kafka                                                                     */
/* ------------------------------------------------------------------------- */

static rd_kafka_t *make_consumer(const replay_t *r, dp_err_t *err)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *const props[][2] = {
        {"bootstrap.servers", r->cfg->kafka.bootstrap_servers},
        {"group.id", "deltaport-replay"}, /* never joined: assign() only */
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"enable.partition.eof", "true"},
        {"auto.offset.reset", "error"},
        {NULL, NULL},
    };
    char errstr[512];
    rd_kafka_t *rk;

    if (dp_config_apply_kafka(r->cfg, conf, err) < 0) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    for (int i = 0; props[i][0]; i++) {
        if (rd_kafka_conf_set(conf, props[i][0], props[i][1], errstr, sizeof(errstr)) !=
            RD_KAFKA_CONF_OK) {
            dp_err_set(err, DP_EINVAL, 0, "replay: kafka %s: %s", props[i][0], errstr);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    }
    if (!(rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr)))) {
        dp_err_set(err, DP_EINVAL, 0, "replay: kafka consumer: %s", errstr);
        rd_kafka_conf_destroy(conf);
    }
    return rk;
}

/* Reads each span's watermarks; refuses a window retention cut into (with
 * the earliest time available) and ranges past the log's end. */
static int check_log(replay_t *r, rd_kafka_t *rk, dp_err_t *err)
{
    char q[DP_TABLENAME_QUALIFIED_SIZE], sql[DP_TABLENAME_QUALIFIED_SIZE + 400];
    char from[40], to[40], when[40];
    int gone = 0;

    for (size_t i = 0; i < r->nspans; i++) {
        span_t *s = &r->spans[i];
        rd_kafka_resp_err_t rerr =
            rd_kafka_query_watermark_offsets(rk, s->topic, s->partition, &s->low, &s->high, 10000);

        if (rerr)
            return dp_err_set(err, DP_EFAIL, 1,
                              "replay: %s [%d]: the log's offsets could not be "
                              "read: %s",
                              s->topic, (int)s->partition, rd_kafka_err2str(rerr));
        if (s->last >= s->high)
            return dp_err_set(err, DP_EFAIL, 0,
                              "replay: %s [%d]: the ledger says @%lld was "
                              "loaded, but the log ends at @%lld: the topic was recreated or "
                              "truncated (docs/DELIVERY.md); nothing replayed",
                              s->topic, (int)s->partition, (long long)s->last,
                              (long long)s->high - 1);
        gone |= s->first < s->low;
    }
    if (!gone)
        return 0;
    /* The earliest --from that needs no record retention removed: just after
     * the newest record of the ranges that start below a low watermark. */
    if (qualified(r, DP_LEDGER_TABLE, q, err) < 0)
        return DP_EINVAL;
    fmt_ts(r->from_us, from, sizeof(from));
    fmt_ts(r->to_us, to, sizeof(to));
    {
        dp_dbx_sql_param_t p[] = {
            {"inc", r->inc, "STRING"}, {"from", from, "TIMESTAMP"}, {"to", to, "TIMESTAMP"}};
        dp_dbx_sql_result_t res;
        int64_t earliest = -1;
        const span_t *first_gone = NULL;
        int rc;

        snprintf(sql, sizeof(sql),
                 "SELECT topic, kpartition, first_offset, ts_max FROM %s WHERE "
                 "kind = 'range' AND incarnation = :inc AND ts_max >= :from AND ts_min <= :to",
                 q);
        if ((rc = run_sql(r, "replay: read the ledger", sql, p, 3, &res, err)) < 0) {
            dp_dbx_sql_result_clear(&res);
            return rc;
        }
        for (size_t i = 0; i < dp_stmt_nrows(&res); i++) {
            const char *topic = dp_stmt_cell(&res, i, 0);
            long long part = dp_stmt_cell_ll(&res, i, 1, -1),
                      first = dp_stmt_cell_ll(&res, i, 2, -1);
            int64_t ts = cell_ts(&res, i, 3);
            const span_t *s = topic ? find_span(r, topic, (int32_t)part) : NULL;

            if (s && first < s->low && ts >= earliest) {
                earliest = ts + 1;
                if (!first_gone)
                    first_gone = s;
            }
        }
        dp_dbx_sql_result_clear(&res);
        if (!first_gone) {
            for (size_t i = 0; i < r->nspans && !first_gone; i++)
                first_gone = r->spans[i].first < r->spans[i].low ? &r->spans[i] : NULL;
        }
        fmt_ts(earliest > 0 ? earliest : r->from_us, when, sizeof(when));
        return dp_err_set(err, DP_EFAIL, 0,
                          "replay: the window starts before what the log still "
                          "holds: %s [%d] was loaded from @%lld, but retention removed everything "
                          "before @%lld. The earliest time available is %s: replay with --from "
                          "%s or later",
                          first_gone->topic, (int)first_gone->partition,
                          (long long)first_gone->first, (long long)first_gone->low, when, when);
    }
}

/* ListOffsets by time, only as a cross-check of the ledger's index: logged. */
static void cross_check(const replay_t *r, rd_kafka_t *rk)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)r->nspans);
    rd_kafka_resp_err_t rerr;
    int answered = 0;

    for (size_t i = 0; i < r->nspans; i++)
        rd_kafka_topic_partition_list_add(l, r->spans[i].topic, r->spans[i].partition)->offset =
            r->from_us / 1000;
    rerr = rd_kafka_offsets_for_times(rk, l, 10000);
    for (int i = 0; !rerr && i < l->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &l->elems[i];
        const span_t *s = find_span((replay_t *)r, tp->topic, tp->partition);

        if (tp->err || tp->offset < 0 || !s)
            continue;
        answered++;
        if (tp->offset < s->first)
            dp_log(DP_LOG_INFO, "replay",
                   "%s [%d]: the broker's first record at or after the "
                   "window's start is @%lld, before the ledger's @%lld (Kafka timestamps are not "
                   "monotonic; the records between are read only if the ledger says so)",
                   tp->topic, (int)tp->partition, (long long)tp->offset, (long long)s->first);
    }
    if (rerr || answered == 0)
        dp_log(DP_LOG_INFO, "replay",
               "the broker gave no offset for the window's start (%s): "
               "the ledger's timestamps alone decide",
               rerr ? rd_kafka_err2str(rerr) : "-1");
    rd_kafka_topic_partition_list_destroy(l);
}

/* ------------------------------------------------------------------------- */
/* Reading                                                                   */
/* ------------------------------------------------------------------------- */

static void bar(replay_t *r, int final)
{
    long long now = dp_clock_mono_ms();
    int width = 30, fill;
    double frac;
    char line[200];

    if (!final && now - r->last_bar_ms < (r->tty ? 200 : 10000))
        return;
    r->last_bar_ms = now;
    frac = r->total > 0 ? (double)r->seen / (double)r->total : 1.0;
    if (frac > 1.0)
        frac = 1.0;
    fill = (int)(frac * width);
    snprintf(line, sizeof(line),
             "replay: [%.*s%*s] %3d%% %lld/%lld records read, %lld in the "
             "window",
             fill, "##############################", width - fill, "", (int)(frac * 100),
             (long long)r->seen, (long long)r->total, (long long)r->in_window);
    if (r->tty)
        fprintf(stderr, "\r%s%s", line, final ? "\n" : "");
    else
        fprintf(stderr, "%s\n", line);
    fflush(stderr);
}

static int name_wanted(const replay_t *r, const char *name, size_t len)
{
    if (r->nnames == 0)
        return 1;
    for (size_t i = 0; i < r->nnames; i++) {
        if (strlen(r->names[i]) == len && memcmp(r->names[i], name, len) == 0)
            return 1;
    }
    return 0;
}

/* Decodes one record; a schema id not loaded is asked from the registry.
 * Returns 0, or DP_EINVAL (rejected: in event_errors, not replayed). */
static int decode(replay_t *r, const rd_kafka_message_t *m, dp_decoded_t *dec, dp_err_t *err)
{
    const char *topic = rd_kafka_topic_name(m->rkt);
    int rc = dp_decode_message(r->dec, topic, m->payload, m->len, dec, &r->scratch, err);

    if (rc == 0 || !r->registry || dec->reject.code != DP_REJ_UNKNOWN_SCHEMA_ID)
        return rc;
    if ((rc = dp_registry_load_into(r->registry, r->dec, dec->schema_id, err)) < 0)
        return rc == DP_EAGAIN ? DP_EFAIL : DP_EINVAL;
    return dp_decode_message(r->dec, topic, m->payload, m->len, dec, &r->scratch, err);
}

/* One record of span s: replayed when it is in the window. */
static int take(replay_t *r, span_t *s, const rd_kafka_message_t *m, dp_err_t *err)
{
    const char *topic = rd_kafka_topic_name(m->rkt);
    int64_t ts_ms = rd_kafka_message_timestamp(m, NULL);
    char own[DP_TABLENAME_TABLE_SIZE], name[DP_TABLENAME_EVENT_MAX + 1];
    const char *table;
    dp_decoded_t dec;
    dest_t *d;
    size_t before;
    int rc;

    if (ts_ms < 0) {
        r->untimed++;
        return 0;
    }
    if (ts_ms * 1000 < r->from_us || ts_ms * 1000 > r->to_us)
        return 0;
    r->in_window++;
    s->in_window++;
    if ((rc = decode(r, m, &dec, err)) == DP_EINVAL) {
        r->rejected++;
        return 0;
    }
    if (rc < 0)
        return rc;
    if (dp_tablename_for_event(dec.ev.event_name.ptr, dec.ev.event_name.len, own, sizeof(own),
                               err) < 0) {
        r->rejected++; /* in event_errors (BAD_EVENT_NAME) */
        return 0;
    }
    if (!name_wanted(r, dec.ev.event_name.ptr, dec.ev.event_name.len)) {
        r->other_names++;
        return 0;
    }
    snprintf(name, sizeof(name), "%.*s", (int)dec.ev.event_name.len, dec.ev.event_name.ptr);
    if ((rc = resolve(r, name, own, topic, m->partition, m->offset, ts_ms * 1000, &table, err)) < 0)
        return rc;
    d = dest_of(r, table);
    before = dp_buf_len(&d->rows);
    if (dp_buf_append(&d->rows, dec.body, dec.body_len, err) < 0 ||
        dp_flush_put_lineage(&d->rows, topic, m->partition, m->offset, ts_ms, r->inc, err) < 0)
        return DP_ETOOBIG;
    d->n++;
    r->replayed++;
    r->buffered += dp_buf_len(&d->rows) - before;
    if (r->buffered >= BATCH_BYTES && !r->dry_run)
        return load_all(r, err);
    if (r->dry_run) {
        dp_buf_reset(&d->rows);
        d->replayed++;
        d->n = 0;
        r->buffered = 0;
    }
    return 0;
}

/* Marks s read and stops fetching it. Returns 1. */
static size_t finish_span(rd_kafka_t *rk, span_t *s)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);

    rd_kafka_topic_partition_list_add(l, s->topic, s->partition);
    rd_kafka_pause_partitions(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    s->done = 1;
    return 1;
}

/* Reads every span from its first to its last offset. */
static int read_spans(replay_t *r, rd_kafka_t *rk, dp_err_t *err)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)r->nspans);
    rd_kafka_resp_err_t rerr;
    size_t left = r->nspans;
    int rc = 0;

    for (size_t i = 0; i < r->nspans; i++) {
        rd_kafka_topic_partition_list_add(l, r->spans[i].topic, r->spans[i].partition)->offset =
            r->spans[i].first;
        r->total += r->spans[i].last - r->spans[i].first + 1;
    }
    rerr = rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (rerr)
        return dp_err_set(err, DP_EFAIL, 0, "replay: assign: %s", rd_kafka_err2str(rerr));
    while (left > 0 && rc == 0) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);
        span_t *s;

        bar(r, 0);
        if (stop_flag) {
            rc = dp_err_set(err, DP_EFAIL, 0,
                            "replay: interrupted; what was merged stays (a "
                            "replay can be run again)");
            break;
        }
        if (!m)
            continue;
        s = find_span(r, rd_kafka_topic_name(m->rkt), m->partition);
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            /* The log's end: past the span's last offset (compaction or a
             * transaction marker took it), the span is read. */
            if (s && !s->done && m->offset <= s->last)
                rc = dp_err_set(err, DP_EFAIL, 1,
                                "replay: %s [%d] ended at @%lld before "
                                "@%lld",
                                s->topic, (int)s->partition, (long long)m->offset,
                                (long long)s->last);
            else if (s && !s->done)
                left -= finish_span(rk, s);
        } else if (m->err) {
            rc = dp_err_set(err, DP_EFAIL, 1, "replay: %s", rd_kafka_message_errstr(m));
        } else if (s && !s->done && m->offset >= s->first) {
            if (m->offset <= s->last) {
                r->seen++;
                rc = take(r, s, m, err);
            }
            if (m->offset >= s->last)
                left -= finish_span(rk, s);
        }
        rd_kafka_message_destroy(m);
    }
    bar(r, 1);
    return rc;
}

/* ------------------------------------------------------------------------- */
/* The run's sync_runs row                                                   */
/* ------------------------------------------------------------------------- */

static char *run_json(const replay_t *r)
{
    json_t *root = json_object(), *ranges = json_array(), *tables = json_object();
    char from[40], to[40];
    char *text;

    fmt_ts(r->from_us, from, sizeof(from));
    fmt_ts(r->to_us, to, sizeof(to));
    for (size_t i = 0; i < r->nspans; i++)
        json_array_append_new(ranges, json_pack("{s:s,s:i,s:I,s:I}", "topic", r->spans[i].topic,
                                                "partition", (int)r->spans[i].partition, "first",
                                                (json_int_t)r->spans[i].first, "last",
                                                (json_int_t)r->spans[i].last));
    for (size_t i = 0; i < r->ndests; i++)
        json_object_set_new(tables, r->dests[i].table,
                            json_pack("{s:I,s:I,s:I}", "rows", (json_int_t)r->dests[i].replayed,
                                      "inserted", (json_int_t)r->dests[i].inserted, "duplicates",
                                      (json_int_t)r->dests[i].duplicates));
    json_object_set_new(root, "from", json_string(from));
    json_object_set_new(root, "to", json_string(to));
    json_object_set_new(root, "ranges", ranges);
    json_object_set_new(root, "tables", tables);
    text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}

/* Fills a file with the one encoded record of the dp_buf_t ctx. */
static int fill_one(void *ctx, dp_avrofile_t *file, dp_err_t *err)
{
    const dp_buf_t *rows = ctx;

    return dp_avrofile_append_encoded(file, dp_buf_data(rows), dp_buf_len(rows), 1, err) < 0
               ? DP_EFAIL
               : 0;
}

static int record_run(replay_t *r, const char *status, dp_err_t *err)
{
    dp_sysrows_run_t run;
    dp_buf_t rows;
    char key[DP_STAGENAME_KEY_SIZE], path[DP_STAGENAME_PATH_SIZE], text[DP_STAGENAME_KEY_SIZE + 8];
    dp_dbx_counts_t counts;
    char *ranges = run_json(r);
    long long inserted = 0;
    int absent = 0, rc;

    memset(&run, 0, sizeof(run));
    run.run_key = r->run_key;
    run.worker_id = r->cfg->worker.id;
    run.table = "";
    run.file_path = "";
    run.ranges_json = ranges;
    run.status = status;
    run.kind = "replay";
    run.rows = r->replayed;
    for (size_t i = 0; i < r->ndests; i++) {
        run.inserted_rows += r->dests[i].inserted;
        run.duplicates += r->dests[i].duplicates;
    }
    run.started_at_us = r->started_us;
    run.finished_at_us = dp_clock_wall_us();
    dp_dbx_client_counts(r->conn.client, &counts);
    dp_dbx_counts_add(&counts, &r->pool_cost);
    /* The run's own statement and upload are counted in advance. */
    run.statements = counts.calls[DP_DBX_CALL_STATEMENT] + 1;
    run.files_calls = counts.calls[DP_DBX_CALL_FILES_WRITE] +
                      counts.calls[DP_DBX_CALL_FILES_MKDIR] +
                      counts.calls[DP_DBX_CALL_FILES_DELETE] + 1;
    run.load_ms = (run.finished_at_us - run.started_at_us) / 1000;
    dp_buf_init(&rows, 1 << 20);
    snprintf(text, sizeof(text), "%s/run", r->run_key);
    hex_sha256(text, key);
    if ((rc = dp_sysrows_run(&rows, &run, err)) == 0 &&
        (rc = dp_loadops_path(r->ops, DP_RUNS_TABLE, key, path, err)) == 0 &&
        (rc = dp_loadops_stage(r->ops, r->conn.client, DP_RUNS_TABLE, path, fill_one, &rows, NULL,
                               NULL, err)) == 0) {
        dp_err_t derr;

        rc = dp_loadops_copy(r->ops, r->conn.client, DP_RUNS_TABLE, path, &inserted, err);
        if (dp_dbx_files_delete(r->conn.client, path, &absent, &derr) < 0)
            dp_log(DP_LOG_WARN, "replay", "could not delete %s (left behind): %s", path, derr.msg);
    }
    dp_buf_free(&rows);
    free(ranges);
    return rc;
}

/* ------------------------------------------------------------------------- */
/* The command                                                               */
/* ------------------------------------------------------------------------- */

/* The schemas, the registry and the loader's operations (staging, merges). */
static int set_up(replay_t *r, dp_err_t *err)
{
    const dp_config_t *cfg = r->cfg;
    char path[4096], text[300];
    dp_loadops_opts_t oo;
    char *canonical;

    if (!(r->dec = dp_decoder_open(cfg->schemas.dir, err)))
        return DP_EINVAL;
    r->registry = dp_registry_from_config(cfg, err);
    if (!r->registry && err->code != DP_OK)
        return DP_EINVAL;
    for (size_t i = 0; i < cfg->schemas.fixed_writer_schema_ids.n; i++) {
        const dp_config_pair_t *p = &cfg->schemas.fixed_writer_schema_ids.items[i];

        if (dp_decoder_set_topic_schema(r->dec, p->key, (uint32_t)p->num, err) < 0)
            return DP_EINVAL;
    }
    dp_decode_scratch_init(&r->scratch, DP_DECODE_DEFAULT_MAX_MESSAGE * 2);
    if (!(r->pool = dp_dbxpool_new(&r->conn, cfg, (size_t)cfg->databricks.max_concurrent_statements,
                                   err)))
        return DP_EINVAL;
    snprintf(path, sizeof(path), "%s/canonical_event.avsc", cfg->schemas.dir);
    if (!(canonical = dp_buf_read_file(path, 4 * 1024 * 1024, NULL, err)))
        return DP_EINVAL;
    oo.cfg = cfg;
    oo.incarnation = r->inc;
    oo.worker_id = cfg->worker.id;
    oo.canonical_schema = canonical;
    oo.pool = r->pool;
    r->ops = dp_loadops_new(&oo, err);
    free(canonical);
    if (!r->ops)
        return DP_EINVAL;
    snprintf(text, sizeof(text), "%s/%lld/%lld/%lld/%d", r->inc, (long long)r->from_us,
             (long long)r->to_us, (long long)r->started_us, (int)getpid());
    hex_sha256(text, r->run_key);
    return 0;
}

static void tear_down(replay_t *r)
{
    for (size_t i = 0; i < r->nspans; i++)
        free(r->spans[i].topic);
    free(r->spans);
    for (size_t i = 0; i < r->nlins; i++) {
        free(r->lins[i].table);
        free(r->lins[i].name);
        free(r->lins[i].topic);
    }
    free(r->lins);
    for (size_t i = 0; i < r->ntables; i++)
        free(r->tables[i]);
    free(r->tables);
    for (size_t i = 0; i < r->nindexed; i++)
        free(r->indexed[i]);
    free(r->indexed);
    for (size_t i = 0; i < r->ndests; i++) {
        free(r->dests[i].table);
        dp_buf_free(&r->dests[i].rows);
    }
    free(r->dests);
    dp_loadops_destroy(r->ops);
    dp_dbxpool_destroy(r->pool);
    if (r->dec)
        dp_decode_scratch_free(&r->scratch);
    dp_decoder_destroy(r->dec);
    dp_registry_destroy(r->registry);
    free(r->names_buf);
}

static void summary(const replay_t *r)
{
    char from[40], to[40];
    int64_t inserted = 0, dups = 0;
    size_t with = 0;

    fmt_ts(r->from_us, from, sizeof(from));
    fmt_ts(r->to_us, to, sizeof(to));
    for (size_t i = 0; i < r->nspans; i++)
        with += r->spans[i].in_window > 0;
    /* A ledger range bounds its records' timestamps, not each record's: a
     * partition may be read for a range that meets the window and hold no
     * record in it. */
    printf("replay %s .. %s, incarnation %s: %zu partition(s) read (%zu with records in the "
           "window), %lld records read, %lld in the window, %lld replayed%s\n",
           from, to, r->inc, r->nspans, with, (long long)r->seen, (long long)r->in_window,
           (long long)r->replayed, r->dry_run ? " (dry run)" : "");
    for (size_t i = 0; i < r->ndests; i++) {
        printf("  %-40s %10lld rows, %10lld inserted, %10lld already there\n", r->dests[i].table,
               (long long)r->dests[i].replayed, (long long)r->dests[i].inserted,
               (long long)r->dests[i].duplicates);
        inserted += r->dests[i].inserted;
        dups += r->dests[i].duplicates;
    }
    printf("inserted %lld, already there %lld; skipped: %lld rejected (in event_errors), %lld of "
           "other names, %lld without a timestamp; %lld routed without lineage\n",
           (long long)inserted, (long long)dups, (long long)r->rejected, (long long)r->other_names,
           (long long)r->untimed, (long long)r->no_lineage);
}

/* The whole run once the options are parsed. */
static int replay(replay_t *r, int to_given, dp_err_t *err)
{
    char when[40];
    int64_t newest = -1, untimed = 0;
    rd_kafka_t *rk = NULL;
    int rc;

    if ((rc = read_incarnation(r, err)) < 0 || (rc = set_up(r, err)) < 0 ||
        (rc = read_ledger(r, &newest, &untimed, err)) < 0)
        return rc;
    if (untimed > 0)
        dp_log(DP_LOG_WARN, "replay",
               "%lld ledger range(s) were loaded before deltaport "
               "recorded their timestamps: their records cannot be found by time and are not "
               "replayed",
               (long long)untimed);
    if (newest >= 0 && r->to_us > newest) {
        fmt_ts(newest, when, sizeof(when));
        if (to_given)
            return dp_err_set(err, DP_EFAIL, 0,
                              "replay: --to is past the newest record the pool "
                              "has loaded (%s): records after it may not be loaded yet, and a "
                              "replay of them would be loaded again by the pool; use --to %s or "
                              "earlier, or leave --to out",
                              when, when);
        r->to_us = newest;
        if (r->to_us < r->from_us)
            return dp_err_set(err, DP_EFAIL, 0,
                              "replay: --from is after the newest record the pool has "
                              "loaded (%s): nothing loaded lies in the window; use --from %s "
                              "or earlier",
                              when, when);
    }
    if (r->nspans == 0) {
        fprintf(stderr, "replay: the ledger has no loaded record in the window\n");
        summary(r);
        return r->dry_run ? 0 : record_run(r, "REPLAYED", err);
    }
    if (!(rk = make_consumer(r, err)))
        return DP_EINVAL;
    if ((rc = check_log(r, rk, err)) == 0) {
        cross_check(r, rk);
        if ((rc = read_tables(r, err)) == 0 && (rc = read_spans(r, rk, err)) == 0 && !r->dry_run)
            rc = load_all(r, err);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    if (rc == 0) {
        summary(r);
        if (!r->dry_run)
            rc = record_run(r, "REPLAYED", err);
    }
    return rc;
}

int dp_cmd_replay(int argc, char **argv)
{
    const char *path = NULL, *from = NULL, *to = NULL, *names = NULL, *topic = NULL;
    dp_config_t *cfg = NULL;
    replay_t r;
    dp_err_t err;
    int rc = 1, prc, nargs, dry_run = 0;
    const dp_cli_opt_t opts[] = {
        {"config", 'c', DP_CLI_STRING, &path, "FILE", 1, 0, NULL},
        {"from", 'f', DP_CLI_STRING, &from, "TIME", 1, 0, NULL},
        {"to", 't', DP_CLI_STRING, &to, "TIME", 0, 0, NULL},
        {"topic", 'T', DP_CLI_STRING, &topic, "T", 0, 0, NULL},
        {"names", 'n', DP_CLI_STRING, &names, "LIST", 0, 0, NULL},
        {"dry-run", 0, DP_CLI_FLAG, &dry_run, NULL, 0, 0, NULL},
        {NULL, 0, 0, NULL, NULL, 0, 0, NULL},
    };
    const dp_cli_spec_t spec = {"replay", replay_help, opts, 0, 0, NULL};

    memset(&r, 0, sizeof(r));
    if ((prc = dp_cli_parse(&spec, argc, argv, NULL, &nargs, stdout, stderr)) != DP_CLI_OK)
        return dp_cli_exit(prc);
    r.topic = topic;
    r.dry_run = dry_run;
    r.started_us = dp_clock_wall_us();
    if (dp_cmd_replay_time(from, r.started_us, &r.from_us) < 0)
        return dp_cli_exit(dp_cli_usage_error(&spec, stderr,
                                              "--from: '%s' is not a time "
                                              "(2026-05-01T12:00:00Z, 2026-05-01 or 24h)",
                                              from));
    r.to_us = r.started_us;
    if (to && dp_cmd_replay_time(to, r.started_us, &r.to_us) < 0)
        return dp_cli_exit(dp_cli_usage_error(&spec, stderr,
                                              "--to: '%s' is not a time "
                                              "(2026-05-01T12:00:00Z, 2026-05-01 or 24h)",
                                              to));
    if (r.to_us < r.from_us)
        return dp_cli_exit(dp_cli_usage_error(&spec, stderr, "--to is before --from"));
    if (names) {
        char *save = NULL, *tok;

        r.names_buf = dp_strdup(names);
        for (tok = r.names_buf; tok && r.nnames < MAX_NAMES; tok = save) {
            save = strchr(tok, ',');
            if (save)
                *save++ = '\0';
            if (*tok)
                r.names[r.nnames++] = tok;
        }
    }
    dp_log_set_level(DP_LOG_WARN);
    cfg = dp_config_load(path, &err);
    r.cfg = cfg;
    r.tty = isatty(2);
    if (!cfg || dp_config_finalize(cfg, &err) < 0 ||
        dp_dbxconn_open(&r.conn, cfg, NULL, NULL, &err) < 0) {
        fprintf(stderr, "deltaport: %s\n", err.msg);
        goto out;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (replay(&r, to != NULL, &err) < 0)
        fprintf(stderr, "deltaport %s\n", err.msg);
    else
        rc = 0;
out:
    tear_down(&r);
    dp_dbxconn_close(&r.conn);
    dp_config_destroy(cfg);
    return rc;
}
