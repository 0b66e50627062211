/*
 * claims: partition claims, the fencing rule and the ledger (see claims.h).
 */
#include "load/claims.h"

#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "load/ddl.h"
#include "load/stmt.h"
#include "route/tablename.h"

#include <openssl/rand.h>

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TS          "{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}"
#define NULLABLE(t) "[\"null\",\"" t "\"]"
#define NULLABLE_TS "[\"null\"," TS "]"

/* clang-format off: one field per line reads better than what it makes of NULLABLE(). */
const char dp_claims_schema[] =
    "{\"type\":\"record\",\"name\":\"Claim\",\"namespace\":\"io.deltaport\",\"fields\":["
    "{\"name\":\"incarnation\",\"type\":\"string\"},"
    "{\"name\":\"topic\",\"type\":\"string\"},"
    "{\"name\":\"kpartition\",\"type\":\"int\"},"
    "{\"name\":\"epoch\",\"type\":\"long\"},"
    "{\"name\":\"member\",\"type\":\"string\"},"
    "{\"name\":\"claimed_at_us\",\"type\":\"long\"},"
    "{\"name\":\"floor_offset\",\"type\":" NULLABLE("long") "},"
                                                            "{\"name\":\"seen\",\"type\":" NULLABLE(
                                                                "string") "}]}";

const char dp_claims_incarnations_schema[] =
    "{\"type\":\"record\",\"name\":\"Incarnation\",\"namespace\":\"io.deltaport\",\"fields\":["
    "{\"name\":\"group_id\",\"type\":\"string\"},"
    "{\"name\":\"seq\",\"type\":\"long\"},"
    "{\"name\":\"incarnation\",\"type\":\"string\"},"
    "{\"name\":\"created_at_us\",\"type\":\"long\"}]}";

const char dp_claims_ledger_schema[] =
    "{\"type\":\"record\",\"name\":\"LedgerRow\",\"namespace\":\"io.deltaport\",\"fields\":["
    "{\"name\":\"kind\",\"type\":\"string\"},"
    "{\"name\":\"incarnation\",\"type\":\"string\"},"
    "{\"name\":\"topic\",\"type\":" NULLABLE(
        "string") "},"
                  "{\"name\":\"kpartition\",\"type\":" NULLABLE(
                      "int") "},"
                             "{\"name\":\"first_offset\",\"type\":" NULLABLE(
                                 "long") "},"
                                         "{\"name\":\"last_offset\",\"type\":" NULLABLE(
                                             "long") "},"
                                                     "{\"name\":\"epoch\",\"type\":" NULLABLE(
                                                         "long") "},"
                                                                 "{\"name\":\"last_fp\",\"type\":" NULLABLE(
                                                                     "long") "},"
                                                                             "{\"name\":\"ts_min\",\"type\":" NULLABLE_TS
                                                                             "},"
                                                                             "{\"name\":\"ts_max\",\"type\":" NULLABLE_TS
                                                                             "},"
                                                                             "{\"name\":\"event_name\",\"type\":" NULLABLE(
                                                                                 "string") "},"
                                                                                           "{\"name\":\"stat_day\",\"type\":[\"null\",{\"type\":\"int\",\"logicalType\":\"date\"}]},"
                                                                                           "{\"name\":\"events\",\"type\":" NULLABLE(
                                                                                               "long") "},"
                                                                                                       "{\"name\":\"run_key\",\"type\":\"string\"},"
                                                                                                       "{\"name\":\"worker_id\",\"type\":\"string\"},"
                                                                                                       "{\"name\":\"_loaded_at\",\"type\":" TS
                                                                                                       "}]}";
/* clang-format on */

/* What an abandoned claim's seen is set to (never a manifest key). */
#define ABANDONED "!"

static int run(dp_dbx_client_t *client, const dp_config_t *cfg, const char *what, const char *sql,
               const dp_dbx_sql_param_t *params, size_t nparams, dp_dbx_sql_result_t *res,
               dp_err_t *err)
{
    return dp_stmt_exec_params(client, cfg, what, sql, params, nparams, res, err);
}

static int qualified(const dp_config_t *cfg, const char *table, char *out, dp_err_t *err)
{
    return dp_tablename_qualified(cfg->databricks.catalog, cfg->databricks.schema, table, out,
                                  DP_TABLENAME_QUALIFIED_SIZE, err);
}

int dp_claims_setup_incarnations(dp_dbx_client_t *client, const dp_config_t *cfg, dp_err_t *err)
{
    char q[DP_TABLENAME_QUALIFIED_SIZE], sql[DP_TABLENAME_QUALIFIED_SIZE + 40];
    char *ddl;
    int rc;

    if (cfg->databricks.create_schema) {
        if (dp_tablename_schema_qualified(cfg->databricks.catalog, cfg->databricks.schema, q,
                                          sizeof(q), err) < 0)
            return DP_EINVAL;
        snprintf(sql, sizeof(sql), "CREATE SCHEMA IF NOT EXISTS %s", q);
        if ((rc = dp_stmt_exec(client, cfg, "create schema", sql, NULL, err)) < 0)
            return rc == DP_EINVAL ? DP_EFAIL : rc;
    }
    if (qualified(cfg, DP_INCARNATIONS_TABLE, q, err) < 0 ||
        !(ddl = dp_ddl_create_table(q, dp_claims_incarnations_schema, err)))
        return DP_EINVAL;
    rc = dp_stmt_exec(client, cfg, "create table", ddl, NULL, err);
    free(ddl);
    return rc == DP_EINVAL ? DP_EFAIL : rc;
}

/* ------------------------------------------------------------------------- */
/* Take                                                                      */
/* ------------------------------------------------------------------------- */

/* The largest epoch of any claim on topic, or 0. */
static int max_epoch(dp_dbx_client_t *client, const dp_config_t *cfg, const char *q,
                     const dp_dbx_sql_param_t *params, int64_t *out, dp_err_t *err)
{
    char sql[DP_TABLENAME_QUALIFIED_SIZE + 160];
    dp_dbx_sql_result_t res;
    int rc;

    snprintf(sql, sizeof(sql),
             "SELECT MAX(epoch) FROM %s WHERE incarnation = :inc AND "
             "topic = :topic",
             q);
    if ((rc = run(client, cfg, "claims: read epochs", sql, params, 2, &res, err)) == 0)
        *out = dp_stmt_cell_ll(&res, 0, 0, 0);
    dp_dbx_sql_result_clear(&res);
    return rc;
}

/* [{"kpartition":p},...] of the parts still to take (epochs[i] < 0). */
static char *take_rows(const int32_t *parts, const int64_t *epochs, size_t n)
{
    json_t *arr = json_array();
    char *text;

    for (size_t i = 0; i < n; i++) {
        if (epochs[i] < 0)
            json_array_append_new(arr, json_pack("{s:i}", "kpartition", (int)parts[i]));
    }
    text = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return text;
}

int dp_claims_take(dp_dbx_client_t *client, const dp_config_t *cfg, const char *incarnation,
                   const char *topic, const int32_t *parts, size_t n, const char *member,
                   int64_t *epochs, dp_err_t *err)
{
    char q[DP_TABLENAME_QUALIFIED_SIZE], sql[2 * DP_TABLENAME_QUALIFIED_SIZE + 900];
    char now[24], e[24];
    char *rows = NULL;
    size_t left = n;
    int rc = 0;

    if (n == 0)
        return 0;
    if (qualified(cfg, DP_CLAIMS_TABLE, q, err) < 0)
        return DP_EINVAL;
    for (size_t i = 0; i < n; i++)
        epochs[i] = -1;
    for (int attempt = 0; left > 0 && attempt < 8; attempt++) {
        dp_dbx_sql_param_t params[] = {{"inc", incarnation, "STRING"},
                                       {"topic", topic, "STRING"},
                                       {"member", member, "STRING"},
                                       {"now", now, "BIGINT"},
                                       {"e", e, "BIGINT"},
                                       {"rows", NULL, "STRING"}};
        dp_dbx_sql_result_t res;
        int64_t top = 0;

        if ((rc = max_epoch(client, cfg, q, params, &top, err)) < 0)
            break;
        snprintf(e, sizeof(e), "%" PRId64, top + 1);
        snprintf(now, sizeof(now), "%lld", (long long)dp_clock_wall_us());
        free(rows);
        rows = take_rows(parts, epochs, n);
        params[5].value = rows;
        snprintf(sql, sizeof(sql),
                 "MERGE INTO %s AS t USING (SELECT :inc AS incarnation, :topic AS topic, "
                 "r.kpartition AS kpartition, CAST(:e AS BIGINT) AS epoch, :member AS member, "
                 "CAST(:now AS BIGINT) AS claimed_at_us FROM inline(from_json(:rows, "
                 "'ARRAY<STRUCT<kpartition:INT>>')) AS r) AS s "
                 "ON t.incarnation = s.incarnation AND t.topic = s.topic AND "
                 "t.kpartition = s.kpartition AND t.epoch = s.epoch "
                 "WHEN NOT MATCHED THEN INSERT (incarnation, topic, kpartition, epoch, member, "
                 "claimed_at_us) VALUES (s.incarnation, s.topic, s.kpartition, s.epoch, s.member, "
                 "s.claimed_at_us)",
                 q);
        if ((rc = run(client, cfg, "claims: take claims", sql, params, 6, NULL, err)) < 0)
            break;
        /* A MERGE reports only totals: read the rows back to learn which
         * partitions this worker won (never infer it from the counts). */
        snprintf(sql, sizeof(sql),
                 "SELECT kpartition, member, claimed_at_us FROM %s WHERE "
                 "incarnation = :inc AND topic = :topic AND epoch = CAST(:e AS BIGINT)",
                 q);
        {
            dp_dbx_sql_param_t rb[] = {params[0], params[1], params[4]};

            rc = run(client, cfg, "claims: read claims back", sql, rb, 3, &res, err);
        }
        for (size_t k = 0; rc == 0 && k < dp_stmt_nrows(&res); k++) {
            long long p = dp_stmt_cell_ll(&res, k, 0, -1);
            const char *who = dp_stmt_cell(&res, k, 1);
            const char *at = dp_stmt_cell(&res, k, 2);

            if (!who || strcmp(who, member) != 0 || !at || strcmp(at, now) != 0)
                continue;
            for (size_t i = 0; i < n; i++) {
                if (parts[i] == p && epochs[i] < 0) {
                    epochs[i] = top + 1;
                    left--;
                }
            }
        }
        dp_dbx_sql_result_clear(&res);
        if (rc < 0)
            break;
        if (left > 0)
            dp_log(DP_LOG_INFO, "claims",
                   "%s: %zu claim(s) at epoch %lld lost to another "
                   "worker; taking them at a higher epoch",
                   topic, left, (long long)(top + 1));
    }
    free(rows);
    if (rc == 0 && left > 0)
        rc = dp_err_set(err, DP_EFAIL, 1,
                        "claims: %s: %zu partition(s) could not be claimed "
                        "after 8 rounds of races",
                        topic, left);
    return rc;
}

/* ------------------------------------------------------------------------- */
/* Publish                                                                   */
/* ------------------------------------------------------------------------- */

int dp_claims_publish(dp_dbx_client_t *client, const dp_config_t *cfg, const char *incarnation,
                      const char *topic, dp_claims_pub_t *pubs, size_t n, dp_err_t *err)
{
    char q[DP_TABLENAME_QUALIFIED_SIZE], sql[DP_TABLENAME_QUALIFIED_SIZE + 900], emin[24];
    json_t *arr = json_array();
    char *rows;
    int64_t lo = INT64_MAX;
    dp_dbx_sql_result_t res;
    int rc;

    if (n == 0) {
        json_decref(arr);
        return 0;
    }
    if (qualified(cfg, DP_CLAIMS_TABLE, q, err) < 0) {
        json_decref(arr);
        return DP_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(arr,
                              json_pack("{s:i,s:I,s:I,s:s}", "kpartition", (int)pubs[i].partition,
                                        "epoch", (json_int_t)pubs[i].epoch, "floor_offset",
                                        (json_int_t)pubs[i].floor, "seen", pubs[i].seen));
        pubs[i].won = 0;
        if (pubs[i].epoch < lo)
            lo = pubs[i].epoch;
    }
    rows = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    snprintf(emin, sizeof(emin), "%" PRId64, lo);
    {
        dp_dbx_sql_param_t params[] = {{"inc", incarnation, "STRING"},
                                       {"topic", topic, "STRING"},
                                       {"rows", rows, "STRING"},
                                       {"emin", emin, "BIGINT"}};

        snprintf(sql, sizeof(sql),
                 "MERGE INTO %s AS t USING (SELECT :inc AS incarnation, :topic AS topic, "
                 "r.kpartition AS kpartition, r.epoch AS epoch, r.floor_offset AS floor_offset, "
                 "r.seen AS seen FROM inline(from_json(:rows, 'ARRAY<STRUCT<kpartition:INT,"
                 "epoch:BIGINT,floor_offset:BIGINT,seen:STRING>>')) AS r) AS s "
                 "ON t.incarnation = s.incarnation AND t.topic = s.topic AND "
                 "t.kpartition = s.kpartition AND t.epoch = s.epoch "
                 "WHEN MATCHED AND t.seen IS NULL THEN UPDATE SET floor_offset = s.floor_offset, "
                 "seen = s.seen",
                 q);
        rc = run(client, cfg, "claims: publish claims", sql, params, 3, NULL, err);
        /* Compare-and-set: read back which publications took. */
        snprintf(sql, sizeof(sql),
                 "SELECT kpartition, epoch, seen FROM %s WHERE incarnation = "
                 ":inc AND topic = :topic AND epoch >= CAST(:emin AS BIGINT)",
                 q);
        if (rc == 0) {
            dp_dbx_sql_param_t rb[] = {params[0], params[1], params[3]};

            rc = run(client, cfg, "claims: read publications back", sql, rb, 3, &res, err);
            for (size_t k = 0; rc == 0 && k < dp_stmt_nrows(&res); k++) {
                long long p = dp_stmt_cell_ll(&res, k, 0, -1), ep = dp_stmt_cell_ll(&res, k, 1, -1);
                const char *seen = dp_stmt_cell(&res, k, 2);

                for (size_t i = 0; seen && i < n; i++) {
                    if (pubs[i].partition == p && pubs[i].epoch == ep)
                        pubs[i].won = strcmp(seen, pubs[i].seen) == 0;
                }
            }
            dp_dbx_sql_result_clear(&res);
        }
    }
    free(rows);
    return rc;
}

/* ------------------------------------------------------------------------- */
/* Ledger                                                                    */
/* ------------------------------------------------------------------------- */

int dp_claims_ledger(dp_dbx_client_t *client, const dp_config_t *cfg, const char *incarnation,
                     const char *topic, const int32_t *parts, size_t n, int64_t *through,
                     int64_t *fp, dp_err_t *err)
{
    char q[DP_TABLENAME_QUALIFIED_SIZE], sql[DP_TABLENAME_QUALIFIED_SIZE + 300];
    dp_dbx_sql_param_t params[] = {{"inc", incarnation, "STRING"}, {"topic", topic, "STRING"}};
    dp_dbx_sql_result_t res;
    int rc;

    for (size_t i = 0; i < n; i++)
        through[i] = fp[i] = -1;
    if (qualified(cfg, DP_LEDGER_TABLE, q, err) < 0)
        return DP_EINVAL;
    snprintf(sql, sizeof(sql),
             "SELECT kpartition, MAX(last_offset), MAX_BY(last_fp, "
             "last_offset) FROM %s WHERE kind = 'range' AND incarnation = :inc AND "
             "topic = :topic GROUP BY kpartition",
             q);
    if ((rc = run(client, cfg, "claims: read the ledger", sql, params, 2, &res, err)) == 0) {
        for (size_t k = 0; k < dp_stmt_nrows(&res); k++) {
            long long p = dp_stmt_cell_ll(&res, k, 0, -1);

            for (size_t i = 0; i < n; i++) {
                if (parts[i] != p)
                    continue;
                through[i] = dp_stmt_cell_ll(&res, k, 1, -1);
                fp[i] = dp_stmt_cell_ll(&res, k, 2, -1);
                if (fp[i] == 0)
                    fp[i] = -1; /* written before fingerprints existed */
            }
        }
    }
    dp_dbx_sql_result_clear(&res);
    return rc;
}

static int put_str(dp_buf_t *out, const char *s, dp_err_t *err)
{
    return dp_buf_put_bytes(out, s, strlen(s), err);
}

/* A union ["null", long] holding v. */
static int put_opt_long(dp_buf_t *out, int64_t v, dp_err_t *err)
{
    return dp_buf_put_long(out, 1, err) < 0 ? DP_ETOOBIG : dp_buf_put_long(out, v, err);
}

static int put_opt_str(dp_buf_t *out, const char *s, dp_err_t *err)
{
    return dp_buf_put_long(out, 1, err) < 0 ? DP_ETOOBIG : put_str(out, s, err);
}

static int put_null(dp_buf_t *out, dp_err_t *err)
{
    return dp_buf_put_long(out, 0, err);
}

/* The fields after the kind-specific ones (_loaded_at is set by the COPY
 * INTO, ddl.h). */
static int put_tail(dp_buf_t *out, const dp_manifest_t *m, dp_err_t *err)
{
    if (put_str(out, m->key, err) < 0 || put_str(out, m->worker_id, err) < 0)
        return DP_ETOOBIG;
    return 0;
}

int dp_claims_ledger_rows(dp_buf_t *out, const dp_manifest_t *m, dp_err_t *err)
{
    for (size_t i = 0; i < m->nranges; i++) {
        const dp_manifest_range_t *r = &m->ranges[i];
        int ts = r->ts_max > 0;

        if (put_str(out, "range", err) < 0 || put_str(out, m->incarnation, err) < 0 ||
            put_opt_str(out, r->topic, err) < 0 || dp_buf_put_long(out, 1, err) < 0 ||
            dp_buf_put_int(out, r->partition, err) < 0 || put_opt_long(out, r->first, err) < 0 ||
            put_opt_long(out, r->last, err) < 0 || put_opt_long(out, r->epoch, err) < 0 ||
            put_opt_long(out, (int64_t)r->fp, err) < 0 ||
            (ts ? put_opt_long(out, r->ts_min, err) : put_null(out, err)) < 0 ||
            (ts ? put_opt_long(out, r->ts_max, err) : put_null(out, err)) < 0 ||
            put_null(out, err) < 0 || put_null(out, err) < 0 || put_null(out, err) < 0 ||
            put_tail(out, m, err) < 0)
            return DP_ETOOBIG;
    }
    for (size_t i = 0; i < m->ncounts; i++) {
        const dp_manifest_count_t *c = &m->counts[i];

        if (put_str(out, "count", err) < 0 || put_str(out, m->incarnation, err) < 0 ||
            put_null(out, err) < 0 || put_null(out, err) < 0 || put_null(out, err) < 0 ||
            put_null(out, err) < 0 || put_null(out, err) < 0 || put_null(out, err) < 0 ||
            put_null(out, err) < 0 || put_null(out, err) < 0 ||
            put_opt_str(out, c->name, err) < 0 || dp_buf_put_long(out, 1, err) < 0 ||
            dp_buf_put_int(out, c->day, err) < 0 || put_opt_long(out, c->count, err) < 0 ||
            put_tail(out, m, err) < 0)
            return DP_ETOOBIG;
    }
    return (int)(m->nranges + m->ncounts);
}

void dp_claims_counts_sql(const char *qualified_name, char *out, size_t outlen)
{
    snprintf(out, outlen,
             "SELECT event_name, CAST(SUM(events) AS BIGINT) FROM %s WHERE "
             "kind = 'count' AND stat_day >= :since GROUP BY event_name",
             qualified_name);
}

/* ------------------------------------------------------------------------- */
/* Judge                                                                     */
/* ------------------------------------------------------------------------- */

/* Marks the unpublished claim (p, epoch) abandoned, unless it was published
 * meanwhile. *won = 1 when the mark took. */
static int abandon(dp_dbx_client_t *client, const dp_config_t *cfg, const char *incarnation,
                   const char *topic, int32_t p, int64_t epoch, int *won, dp_err_t *err)
{
    dp_claims_pub_t pub = {p, epoch, -1, ABANDONED, 0};
    int rc = dp_claims_publish(client, cfg, incarnation, topic, &pub, 1, err);

    *won = pub.won;
    return rc;
}

/* Whether seen (comma-separated keys) lists key. */
static int lists(const char *seen, const char *key)
{
    size_t klen = strlen(key);

    for (const char *s = strstr(seen, key); s; s = strstr(s + 1, key)) {
        if ((s == seen || s[-1] == ',') && (s[klen] == ',' || s[klen] == '\0'))
            return 1;
    }
    return 0;
}

/* Judges the ranges of m on one topic against res (kpartition, epoch,
 * floor_offset, seen ordered by kpartition, epoch). Sets *abandoned when it
 * abandoned a claim (the rows are then stale). */
static int judge_topic(dp_dbx_client_t *client, const dp_config_t *cfg, const dp_manifest_t *m,
                       const char *topic, const dp_dbx_sql_result_t *res,
                       dp_claims_verdict_t *verdict, char *why, size_t whylen, int *abandoned,
                       dp_err_t *err)
{
    size_t nrows = dp_stmt_nrows(res);

    for (size_t i = 0; i < m->nranges; i++) {
        const dp_manifest_range_t *r = &m->ranges[i];

        if (strcmp(r->topic, topic) != 0)
            continue;
        for (size_t k = 0; k < nrows; k++) {
            long long p = dp_stmt_cell_ll(res, k, 0, -1), epoch = dp_stmt_cell_ll(res, k, 1, 0);
            long long floor = dp_stmt_cell_ll(res, k, 2, -1);
            const char *seen = dp_stmt_cell(res, k, 3);
            int latest = k + 1 == nrows || dp_stmt_cell_ll(res, k + 1, 0, -1) != p;
            int won = 0;

            if (p != r->partition || epoch <= r->epoch)
                continue;
            if (seen && strcmp(seen, ABANDONED) == 0)
                continue;
            if (!seen && latest) {
                snprintf(why, whylen, "%s [%d]: claim %lld is not published yet", topic, (int)p,
                         epoch);
                *verdict = DP_CLAIMS_UNDECIDED;
                return 0;
            }
            if (!seen) {
                int rc = abandon(client, cfg, m->incarnation, topic, (int32_t)p, epoch, &won, err);

                if (rc < 0)
                    return rc;
                *abandoned = 1;
                dp_log(DP_LOG_INFO, "claims",
                       "%s [%d]: claim %lld was superseded before it was "
                       "published: %s",
                       topic, (int)p, epoch,
                       won ? "abandoned"
                           : "published "
                             "meanwhile");
                if (won)
                    continue;
                snprintf(why, whylen, "%s [%d]: claim %lld was published meanwhile", topic, (int)p,
                         epoch);
                *verdict = DP_CLAIMS_UNDECIDED;
                return 0;
            }
            if (lists(seen, m->key) || floor > r->last)
                continue;
            snprintf(why, whylen,
                     "%s [%d] @%lld..%lld: claim %lld (floor @%lld) was taken "
                     "before this flush's manifest existed",
                     topic, (int)p, (long long)r->first, (long long)r->last, epoch, floor);
            *verdict = DP_CLAIMS_VOID;
            return 0;
        }
    }
    return 0;
}

/* The distinct topics of ms, borrowed, into topics (capacity cap). */
static size_t topics_of(const dp_manifest_t *const *ms, size_t n, const char **topics, size_t cap)
{
    size_t nt = 0;

    for (size_t i = 0; i < n; i++) {
        for (size_t r = 0; r < ms[i]->nranges; r++) {
            size_t k = 0;

            while (k < nt && strcmp(topics[k], ms[i]->ranges[r].topic) != 0)
                k++;
            if (k == nt && nt < cap)
                topics[nt++] = ms[i]->ranges[r].topic;
        }
    }
    return nt;
}

int dp_claims_judge_many(dp_dbx_client_t *client, const dp_config_t *cfg,
                         const dp_manifest_t *const *ms, size_t n, dp_claims_verdict_t *verdicts,
                         char **why, size_t whylen, dp_err_t *err)
{
    char q[DP_TABLENAME_QUALIFIED_SIZE], sql[DP_TABLENAME_QUALIFIED_SIZE + 240];
    const char *topics[64];
    char scratch[512];
    size_t nt;
    int rc = 0;

    for (size_t i = 0; i < n; i++) {
        verdicts[i] = DP_CLAIMS_VALID;
        if (why)
            why[i][0] = '\0';
    }
    if (n == 0)
        return 0;
    if (qualified(cfg, DP_CLAIMS_TABLE, q, err) < 0)
        return DP_EINVAL;
    nt = topics_of(ms, n, topics, sizeof(topics) / sizeof(topics[0]));
    snprintf(sql, sizeof(sql),
             "SELECT kpartition, epoch, floor_offset, seen FROM %s WHERE "
             "incarnation = :inc AND topic = :topic AND epoch > CAST(:emin AS BIGINT) "
             "ORDER BY kpartition, epoch",
             q);
    for (size_t t = 0; t < nt && rc == 0; t++) {
        int64_t emin = INT64_MAX;
        int abandoned = 1;
        char e[24];
        const char *inc = NULL;

        for (size_t i = 0; i < n; i++) {
            for (size_t r = 0; r < ms[i]->nranges; r++) {
                if (strcmp(ms[i]->ranges[r].topic, topics[t]) == 0 &&
                    ms[i]->ranges[r].epoch < emin) {
                    emin = ms[i]->ranges[r].epoch;
                    inc = ms[i]->incarnation;
                }
            }
        }
        snprintf(e, sizeof(e), "%" PRId64, emin);
        /* An abandonment changes the rows: read them again (rare). */
        for (int pass = 0; abandoned && pass < 4 && rc == 0; pass++) {
            dp_dbx_sql_param_t params[] = {
                {"inc", inc, "STRING"}, {"topic", topics[t], "STRING"}, {"emin", e, "BIGINT"}};
            dp_dbx_sql_result_t res;

            abandoned = 0;
            if ((rc = run(client, cfg, "claims: read claims", sql, params, 3, &res, err)) == 0) {
                for (size_t i = 0; i < n && rc == 0; i++) {
                    if (verdicts[i] == DP_CLAIMS_VOID)
                        continue;
                    verdicts[i] = DP_CLAIMS_VALID;
                    rc = judge_topic(client, cfg, ms[i], topics[t], &res, &verdicts[i],
                                     why ? why[i] : scratch, why ? whylen : sizeof(scratch),
                                     &abandoned, err);
                }
            }
            dp_dbx_sql_result_clear(&res);
        }
    }
    return rc;
}

int dp_claims_judge(dp_dbx_client_t *client, const dp_config_t *cfg, const dp_manifest_t *m,
                    dp_claims_verdict_t *verdict, char *why, size_t whylen, dp_err_t *err)
{
    return dp_claims_judge_many(client, cfg, &m, 1, verdict, &why, whylen, err);
}

/* ------------------------------------------------------------------------- */
/* Incarnations and table ids                                                */
/* ------------------------------------------------------------------------- */

/* The newest incarnation of group: *seq (0 when none) and out. */
static int newest(dp_dbx_client_t *client, const dp_config_t *cfg, const char *q, const char *group,
                  int64_t *seq, char out[DP_CLAIMS_INCARNATION_SIZE], dp_err_t *err)
{
    char sql[DP_TABLENAME_QUALIFIED_SIZE + 160];
    dp_dbx_sql_param_t params[] = {{"g", group, "STRING"}};
    dp_dbx_sql_result_t res;
    const char *inc;
    int rc;

    snprintf(sql, sizeof(sql),
             "SELECT seq, incarnation FROM %s WHERE group_id = :g ORDER BY "
             "seq DESC LIMIT 1",
             q);
    if ((rc = run(client, cfg, "claims: read the incarnation", sql, params, 1, &res, err)) == 0) {
        *seq = dp_stmt_cell_ll(&res, 0, 0, 0);
        inc = dp_stmt_cell(&res, 0, 1);
        snprintf(out, DP_CLAIMS_INCARNATION_SIZE, "%s", inc ? inc : "");
    }
    dp_dbx_sql_result_clear(&res);
    return rc;
}

int dp_claims_incarnation(dp_dbx_client_t *client, const dp_config_t *cfg, const char *group,
                          int mint, char out[DP_CLAIMS_INCARNATION_SIZE], dp_err_t *err)
{
    char q[DP_TABLENAME_QUALIFIED_SIZE], sql[DP_TABLENAME_QUALIFIED_SIZE + 400];
    char uuid[DP_CLAIMS_INCARNATION_SIZE], seqs[24], now[24];
    unsigned char b[16];
    int64_t seq = 0;
    int rc;

    if (qualified(cfg, DP_INCARNATIONS_TABLE, q, err) < 0)
        return DP_EINVAL;
    if ((rc = newest(client, cfg, q, group, &seq, out, err)) < 0)
        return rc;
    if (seq > 0 && !mint)
        return 0;
    if (RAND_bytes(b, sizeof(b)) != 1)
        return dp_err_set(err, DP_EFAIL, 0, "claims: no random bytes for an incarnation id");
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(uuid, sizeof(uuid),
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x"
             "%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
    snprintf(seqs, sizeof(seqs), "%" PRId64, seq + 1);
    snprintf(now, sizeof(now), "%lld", (long long)dp_clock_wall_us());
    {
        dp_dbx_sql_param_t params[] = {{"g", group, "STRING"},
                                       {"seq", seqs, "BIGINT"},
                                       {"inc", uuid, "STRING"},
                                       {"now", now, "BIGINT"}};

        snprintf(sql, sizeof(sql),
                 "MERGE INTO %s AS t USING (VALUES (:g, CAST(:seq AS BIGINT), :inc, "
                 "CAST(:now AS BIGINT))) AS s(group_id, seq, incarnation, created_at_us) "
                 "ON t.group_id = s.group_id AND t.seq = s.seq WHEN NOT MATCHED THEN INSERT "
                 "(group_id, seq, incarnation, created_at_us) VALUES (s.group_id, s.seq, "
                 "s.incarnation, s.created_at_us)",
                 q);
        if ((rc = run(client, cfg, "claims: mint an incarnation", sql, params, 4, NULL, err)) < 0)
            return rc;
    }
    /* Whoever inserted first: read what won. */
    if ((rc = newest(client, cfg, q, group, &seq, out, err)) < 0)
        return rc;
    if (seq == 0 || !out[0])
        return dp_err_set(err, DP_EFAIL, 1, "claims: the incarnation of %s did not stick", group);
    dp_log(DP_LOG_INFO, "claims", "group %s: incarnation %s (number %lld)%s", group, out,
           (long long)seq, strcmp(out, uuid) == 0 ? ", minted" : "");
    return 0;
}

int dp_claims_table_id(dp_dbx_client_t *client, const dp_config_t *cfg, const char *table,
                       char out[DP_CLAIMS_TABLE_ID_SIZE], dp_err_t *err)
{
    char q[DP_TABLENAME_QUALIFIED_SIZE], sql[DP_TABLENAME_QUALIFIED_SIZE + 32];
    dp_dbx_sql_result_t res;
    size_t i;
    json_t *col;
    int rc;

    out[0] = '\0';
    if (qualified(cfg, table, q, err) < 0)
        return DP_EINVAL;
    snprintf(sql, sizeof(sql), "DESCRIBE DETAIL %s", q);
    rc = dp_stmt_exec(client, cfg, "claims: describe", sql, &res, err);
    if (rc < 0 && res.state != DP_DBX_SQL_SUCCEEDED &&
        strstr(res.message, "TABLE_OR_VIEW_NOT_FOUND"))
        rc = 0; /* a missing table has no id */
    else if (rc == 0) {
        json_array_foreach(res.columns, i, col)
        {
            const char *v;

            if (json_is_string(col) && strcmp(json_string_value(col), "id") == 0 &&
                (v = dp_stmt_cell(&res, 0, i)))
                snprintf(out, DP_CLAIMS_TABLE_ID_SIZE, "%s", v);
        }
    }
    dp_dbx_sql_result_clear(&res);
    return rc;
}
