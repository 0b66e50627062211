/*
 * claims: partition claims, the fencing rule and the ledger (see claims.h).
 */
#include "claims.h"

#include "buf.h"
#include "clock.h"
#include "dbx/sql.h"
#include "ddl.h"
#include "log.h"
#include "mem.h"
#include "tablename.h"

#include <openssl/rand.h>

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TS "{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}"
#define NULLABLE(t) "[\"null\",\"" t "\"]"

/* The claims table's columns, as an Avro record for dp_ddl_create_table(). */
static const char claims_schema[] =
    "{\"type\":\"record\",\"name\":\"Claim\",\"namespace\":\"io.deltaport\",\"fields\":["
    "{\"name\":\"incarnation\",\"type\":\"string\"},"
    "{\"name\":\"topic\",\"type\":\"string\"},"
    "{\"name\":\"kpartition\",\"type\":\"int\"},"
    "{\"name\":\"epoch\",\"type\":\"long\"},"
    "{\"name\":\"member\",\"type\":\"string\"},"
    "{\"name\":\"claimed_at_us\",\"type\":\"long\"},"
    "{\"name\":\"floor_offset\",\"type\":" NULLABLE("long") "},"
    "{\"name\":\"seen\",\"type\":" NULLABLE("string") "}]}";

static const char incarnations_schema[] =
    "{\"type\":\"record\",\"name\":\"Incarnation\",\"namespace\":\"io.deltaport\",\"fields\":["
    "{\"name\":\"group_id\",\"type\":\"string\"},"
    "{\"name\":\"seq\",\"type\":\"long\"},"
    "{\"name\":\"incarnation\",\"type\":\"string\"},"
    "{\"name\":\"created_at_us\",\"type\":\"long\"}]}";

const char dp_claims_ledger_schema[] =
    "{\"type\":\"record\",\"name\":\"LedgerRange\",\"namespace\":\"io.deltaport\",\"fields\":["
    "{\"name\":\"incarnation\",\"type\":\"string\"},"
    "{\"name\":\"topic\",\"type\":\"string\"},"
    "{\"name\":\"kpartition\",\"type\":\"int\"},"
    "{\"name\":\"first_offset\",\"type\":\"long\"},"
    "{\"name\":\"last_offset\",\"type\":\"long\"},"
    "{\"name\":\"epoch\",\"type\":\"long\"},"
    "{\"name\":\"last_fp\",\"type\":\"long\"},"
    "{\"name\":\"run_key\",\"type\":\"string\"},"
    "{\"name\":\"worker_id\",\"type\":\"string\"},"
    "{\"name\":\"_loaded_at\",\"type\":" TS "}]}";

/* What an abandoned claim's seen is set to (never a manifest key). */
#define ABANDONED "!"

/* Runs one statement to SUCCEEDED; res (may be NULL) receives the result,
 * which the caller clears. */
static int exec(dp_dbx_client_t *client, const dp_config_t *cfg, const char *what,
                const char *sql, const dp_dbx_sql_param_t *params, size_t nparams,
                dp_dbx_sql_result_t *res, dp_err_t *err)
{
    dp_dbx_sql_opts_t opts;
    dp_dbx_sql_result_t local;
    dp_dbx_sql_result_t *r = res ? res : &local;
    int rc;

    memset(&opts, 0, sizeof(opts));
    memset(r, 0, sizeof(*r));
    opts.wait_timeout_s = (int)cfg->databricks.statement_wait_timeout_s;
    rc = dp_dbx_sql_execute(client, sql, params, nparams, cfg->databricks.catalog,
                            cfg->databricks.schema, &opts, r, err);
    if (rc == 0 && r->state != DP_DBX_SQL_SUCCEEDED)
        rc = dp_err_set(err, DP_EFAIL, dp_dbx_sql_failure_kind(r) == DP_DBX_SQL_FAIL_TRANSIENT,
                        "claims: %s: %s %s", what, dp_dbx_sql_state_name(r->state), r->message);
    else if (rc < 0)
        dp_err_prefix(err, "claims: %s: ", what);
    if (!res || rc < 0)
        dp_dbx_sql_result_clear(r);
    return rc;
}

static int qualified(const dp_config_t *cfg, const char *table, char *out, dp_err_t *err)
{
    return dp_tablename_qualified(cfg->databricks.catalog, cfg->databricks.schema, table, out,
                                  DP_TABLENAME_QUALIFIED_SIZE, err);
}

/* The value of column `name` in the first row of a DML result, or -1. */
static long long count_of(const dp_dbx_sql_result_t *res, const char *name)
{
    size_t i;
    json_t *col;

    json_array_foreach(res->columns, i, col)
    {
        const char *v;

        if (!json_is_string(col) || strcmp(json_string_value(col), name) != 0)
            continue;
        v = json_string_value(json_array_get(json_array_get(res->rows, 0), i));
        return v ? strtoll(v, NULL, 10) : -1;
    }
    return -1;
}

static long long cell_ll(json_t *row, size_t i, long long dflt)
{
    const char *v = json_string_value(json_array_get(row, i));

    return v ? strtoll(v, NULL, 10) : dflt;
}

int dp_claims_setup(dp_dbx_client_t *client, const dp_config_t *cfg, dp_err_t *err)
{
    char q[DP_TABLENAME_QUALIFIED_SIZE], sql[2 * DP_TABLENAME_QUALIFIED_SIZE];
    const char *tables[] = {DP_CLAIMS_TABLE, DP_LEDGER_TABLE, DP_INCARNATIONS_TABLE};
    const char *schemas[] = {claims_schema, dp_claims_ledger_schema, incarnations_schema};

    if (cfg->databricks.create_schema) {
        if (dp_tablename_check_identifier(cfg->databricks.catalog, err) < 0 ||
            dp_tablename_check_identifier(cfg->databricks.schema, err) < 0)
            return DP_EINVAL;
        snprintf(sql, sizeof(sql), "CREATE SCHEMA IF NOT EXISTS `%s`.`%s`",
                 cfg->databricks.catalog, cfg->databricks.schema);
        if (exec(client, cfg, "create schema", sql, NULL, 0, NULL, err) < 0)
            return DP_EFAIL;
    }
    for (size_t i = 0; i < 3; i++) {
        char *ddl;
        int rc;

        if (qualified(cfg, tables[i], q, err) < 0 ||
            !(ddl = dp_ddl_create_table(q, schemas[i], err)))
            return DP_EINVAL;
        rc = exec(client, cfg, "create table", ddl, NULL, 0, NULL, err);
        free(ddl);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* The largest epoch of any claim on topic, or 0. */
static int max_epoch(dp_dbx_client_t *client, const dp_config_t *cfg, const char *q,
                     const dp_dbx_sql_param_t *params, int64_t *out, dp_err_t *err)
{
    char sql[DP_TABLENAME_QUALIFIED_SIZE + 160];
    dp_dbx_sql_result_t res;
    int rc;

    snprintf(sql, sizeof(sql), "SELECT MAX(epoch) FROM %s WHERE incarnation = :inc AND "
             "topic = :topic", q);
    if ((rc = exec(client, cfg, "read epochs", sql, params, 2, &res, err)) < 0)
        return rc;
    *out = cell_ll(json_array_get(res.rows, 0), 0, 0);
    dp_dbx_sql_result_clear(&res);
    return 0;
}

int dp_claims_take(dp_dbx_client_t *client, const dp_config_t *cfg, const char *incarnation,
                   const char *topic, const int32_t *parts, size_t n, const char *member,
                   int64_t *epoch, dp_err_t *err)
{
    char q[DP_TABLENAME_QUALIFIED_SIZE], now[24];
    dp_dbx_sql_param_t params[] = {{"inc", incarnation, "STRING"}, {"topic", topic, "STRING"},
                                   {"member", member, "STRING"}, {"now", now, "BIGINT"}};
    dp_buf_t sql;
    int rc = 0;

    if (n == 0)
        return 0;
    if (qualified(cfg, DP_CLAIMS_TABLE, q, err) < 0)
        return DP_EINVAL;
    dp_buf_init(&sql, SIZE_MAX);
    for (int attempt = 0; attempt < 8; attempt++) {
        dp_dbx_sql_result_t res;
        int64_t top = 0;
        char row[160];
        long long inserted;

        if ((rc = max_epoch(client, cfg, q, params, &top, err)) < 0)
            break;
        *epoch = top + 1;
        snprintf(now, sizeof(now), "%lld", (long long)dp_clock_wall_us());
        dp_buf_reset(&sql);
        dp_buf_append(&sql, "MERGE INTO ", 11, NULL);
        dp_buf_append(&sql, q, strlen(q), NULL);
        dp_buf_append(&sql, " AS t USING (VALUES ", 20, NULL);
        for (size_t i = 0; i < n; i++) {
            int len = snprintf(row, sizeof(row), "%s(:inc, :topic, %d, %" PRId64 ", :member, "
                               ":now)", i ? ", " : "", (int)parts[i], *epoch);

            dp_buf_append(&sql, row, (size_t)len, NULL);
        }
        {
            static const char tail[] =
                ") AS s(incarnation, topic, kpartition, epoch, member, claimed_at_us) "
                "ON t.incarnation = s.incarnation AND t.topic = s.topic AND "
                "t.kpartition = s.kpartition AND t.epoch = s.epoch "
                "WHEN NOT MATCHED THEN INSERT (incarnation, topic, kpartition, epoch, member, "
                "claimed_at_us) VALUES (s.incarnation, s.topic, s.kpartition, s.epoch, s.member, "
                "s.claimed_at_us)";

            dp_buf_append(&sql, tail, sizeof(tail), NULL); /* with its NUL */
        }
        if ((rc = exec(client, cfg, "take claims", (const char *)dp_buf_data(&sql), params, 4, &res, err)) < 0)
            break;
        inserted = count_of(&res, "num_inserted_rows");
        dp_dbx_sql_result_clear(&res);
        if (inserted == (long long)n)
            break;
        /* Another worker took the same epoch for one of these partitions in
         * the meantime (a zombie rejoining): go above it. The rows we did
         * insert stay, superseded by the next epoch. */
        dp_log(DP_LOG_WARN, "claims", "claim epoch %" PRId64 " on %s raced another member "
               "(%lld of %zu inserted); taking the next", *epoch, topic, inserted, n);
        rc = dp_err_set(err, DP_EAGAIN, 1, "claims: could not take a claim on %s", topic);
    }
    dp_buf_free(&sql);
    return rc;
}

int dp_claims_publish(dp_dbx_client_t *client, const dp_config_t *cfg, const char *incarnation,
                      const char *topic, const int32_t *parts, const int64_t *floor,
                      char *const *seen, size_t n, int64_t epoch, int *won, dp_err_t *err)
{
    char q[DP_TABLENAME_QUALIFIED_SIZE], sql[DP_TABLENAME_QUALIFIED_SIZE + 640];
    int rc = 0;

    if (qualified(cfg, DP_CLAIMS_TABLE, q, err) < 0)
        return DP_EINVAL;
    /* One statement per partition: the compare-and-set must say which won. */
    snprintf(sql, sizeof(sql),
             "MERGE INTO %s AS t USING (VALUES (:inc, :topic, CAST(:p AS INT), CAST(:e AS BIGINT), "
             "CAST(:floor AS BIGINT), :seen)) AS s(incarnation, topic, kpartition, epoch, "
             "floor_offset, seen) ON t.incarnation = s.incarnation AND t.topic = s.topic AND "
             "t.kpartition = s.kpartition AND t.epoch = s.epoch "
             "WHEN MATCHED AND t.seen IS NULL THEN UPDATE SET floor_offset = s.floor_offset, "
             "seen = s.seen", q);
    for (size_t i = 0; i < n && rc == 0; i++) {
        char p[16], e[24], f[24];
        dp_dbx_sql_param_t params[] = {{"inc", incarnation, "STRING"},
                                       {"topic", topic, "STRING"},
                                       {"p", p, "INT"},
                                       {"e", e, "BIGINT"},
                                       {"floor", f, "BIGINT"},
                                       {"seen", seen[i], "STRING"}};
        dp_dbx_sql_result_t res;

        snprintf(p, sizeof(p), "%d", (int)parts[i]);
        snprintf(e, sizeof(e), "%" PRId64, epoch);
        snprintf(f, sizeof(f), "%" PRId64, floor[i]);
        if ((rc = exec(client, cfg, "publish claim", sql, params, 6, &res, err)) < 0)
            break;
        won[i] = count_of(&res, "num_updated_rows") == 1;
        dp_dbx_sql_result_clear(&res);
    }
    return rc;
}

int dp_claims_ledger(dp_dbx_client_t *client, const dp_config_t *cfg, const char *incarnation,
                     const char *topic, const int32_t *parts, size_t n, int64_t *through,
                     dp_err_t *err)
{
    char q[DP_TABLENAME_QUALIFIED_SIZE], sql[DP_TABLENAME_QUALIFIED_SIZE + 200];
    dp_dbx_sql_param_t params[] = {{"inc", incarnation, "STRING"}, {"topic", topic, "STRING"}};
    dp_dbx_sql_result_t res;
    json_t *row;
    size_t k;
    int rc;

    for (size_t i = 0; i < n; i++)
        through[i] = -1;
    if (qualified(cfg, DP_LEDGER_TABLE, q, err) < 0)
        return DP_EINVAL;
    snprintf(sql, sizeof(sql), "SELECT kpartition, MAX(last_offset) FROM %s WHERE incarnation = "
             ":inc AND topic = :topic GROUP BY kpartition", q);
    if ((rc = exec(client, cfg, "read the ledger", sql, params, 2, &res, err)) < 0)
        return rc;
    json_array_foreach(res.rows, k, row)
    {
        long long p = cell_ll(row, 0, -1), last = cell_ll(row, 1, -1);

        for (size_t i = 0; i < n; i++) {
            if (parts[i] == p)
                through[i] = last;
        }
    }
    dp_dbx_sql_result_clear(&res);
    return 0;
}

int dp_claims_ledger_fp(dp_dbx_client_t *client, const dp_config_t *cfg, const char *incarnation,
                        const char *topic, int32_t partition, int64_t last, int64_t *fp,
                        dp_err_t *err)
{
    char q[DP_TABLENAME_QUALIFIED_SIZE], sql[DP_TABLENAME_QUALIFIED_SIZE + 240], p[16], l[24];
    dp_dbx_sql_param_t params[] = {{"inc", incarnation, "STRING"}, {"topic", topic, "STRING"},
                                   {"p", p, "INT"}, {"last", l, "BIGINT"}};
    dp_dbx_sql_result_t res;
    int rc;

    *fp = -1;
    if (qualified(cfg, DP_LEDGER_TABLE, q, err) < 0)
        return DP_EINVAL;
    snprintf(p, sizeof(p), "%d", (int)partition);
    snprintf(l, sizeof(l), "%" PRId64, last);
    snprintf(sql, sizeof(sql), "SELECT last_fp FROM %s WHERE incarnation = :inc AND topic = :topic "
             "AND kpartition = CAST(:p AS INT) AND last_offset = CAST(:last AS BIGINT) LIMIT 1", q);
    if ((rc = exec(client, cfg, "read the ledger", sql, params, 4, &res, err)) < 0)
        return rc;
    *fp = cell_ll(json_array_get(res.rows, 0), 0, -1);
    dp_dbx_sql_result_clear(&res);
    return 0;
}

/* Marks the unpublished claim (p, epoch) abandoned, unless it was published
 * meanwhile. *won = 1 when the mark took. */
static int abandon(dp_dbx_client_t *client, const dp_config_t *cfg, const char *incarnation,
                   const char *topic, int32_t p, int64_t epoch, int *won, dp_err_t *err)
{
    int64_t floor = -1;
    char *seen[] = {ABANDONED};

    return dp_claims_publish(client, cfg, incarnation, topic, &p, &floor, seen, 1, epoch, won,
                             err);
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

/* Judges the ranges of m on one topic against rows (kpartition, epoch,
 * floor_offset, seen ordered by kpartition, epoch). */
static int judge_topic(dp_dbx_client_t *client, const dp_config_t *cfg, const dp_manifest_t *m,
                       const char *topic, json_t *rows, dp_claims_verdict_t *verdict, char *why,
                       size_t whylen, dp_err_t *err)
{
    for (size_t i = 0; i < m->nranges; i++) {
        const dp_manifest_range_t *r = &m->ranges[i];
        size_t nrows = json_array_size(rows);

        if (strcmp(r->topic, topic) != 0)
            continue;
        for (size_t k = 0; k < nrows; k++) {
            json_t *row = json_array_get(rows, k), *next = json_array_get(rows, k + 1);
            long long p = cell_ll(row, 0, -1), epoch = cell_ll(row, 1, 0);
            long long floor = cell_ll(row, 2, -1);
            const char *seen = json_string_value(json_array_get(row, 3));
            int latest = !next || cell_ll(next, 0, -1) != p;
            int won = 0;

            if (p != r->partition || epoch <= r->epoch)
                continue;
            if (seen && strcmp(seen, ABANDONED) == 0)
                continue;
            if (!seen && latest) {
                snprintf(why, whylen, "%s [%d]: claim %lld is not published yet", topic,
                         (int)p, epoch);
                *verdict = DP_CLAIMS_UNDECIDED;
                return 0;
            }
            if (!seen) {
                int rc = abandon(client, cfg, m->incarnation, topic, (int32_t)p, epoch, &won, err);

                if (rc < 0)
                    return rc;
                dp_log(DP_LOG_INFO, "claims", "%s [%d]: claim %lld was superseded before it was "
                       "published: %s", topic, (int)p, epoch, won ? "abandoned" : "published "
                       "meanwhile");
                if (won)
                    continue;
                snprintf(why, whylen, "%s [%d]: claim %lld was published meanwhile", topic,
                         (int)p, epoch);
                *verdict = DP_CLAIMS_UNDECIDED;
                return 0;
            }
            if (lists(seen, m->key) || floor > r->last)
                continue;
            snprintf(why, whylen, "%s [%d] @%lld..%lld: claim %lld (floor @%lld) was taken "
                     "before this flush's manifest existed", topic, (int)p, (long long)r->first,
                     (long long)r->last, epoch, floor);
            *verdict = DP_CLAIMS_VOID;
            return 0;
        }
    }
    return 0;
}

int dp_claims_judge(dp_dbx_client_t *client, const dp_config_t *cfg, const dp_manifest_t *m,
                    dp_claims_verdict_t *verdict, char *why, size_t whylen, dp_err_t *err)
{
    char q[DP_TABLENAME_QUALIFIED_SIZE], sql[DP_TABLENAME_QUALIFIED_SIZE + 240];
    int rc = 0;

    *verdict = DP_CLAIMS_VALID;
    why[0] = '\0';
    if (qualified(cfg, DP_CLAIMS_TABLE, q, err) < 0)
        return DP_EINVAL;
    snprintf(sql, sizeof(sql), "SELECT kpartition, epoch, floor_offset, seen FROM %s WHERE "
             "incarnation = :inc AND topic = :topic AND epoch > CAST(:emin AS BIGINT) "
             "ORDER BY kpartition, epoch", q);
    for (size_t i = 0; i < m->nranges && rc == 0 && *verdict == DP_CLAIMS_VALID; i++) {
        const char *topic = m->ranges[i].topic;
        int64_t emin = m->ranges[i].epoch;
        int done = 0;
        char e[24];
        dp_dbx_sql_param_t params[] = {{"inc", m->incarnation, "STRING"},
                                       {"topic", topic, "STRING"},
                                       {"emin", e, "BIGINT"}};
        dp_dbx_sql_result_t res;

        for (size_t j = 0; j < i; j++)
            done |= strcmp(m->ranges[j].topic, topic) == 0;
        if (done)
            continue; /* this topic was judged with its first range */
        for (size_t j = i; j < m->nranges; j++) {
            if (strcmp(m->ranges[j].topic, topic) == 0 && m->ranges[j].epoch < emin)
                emin = m->ranges[j].epoch;
        }
        snprintf(e, sizeof(e), "%" PRId64, emin);
        if ((rc = exec(client, cfg, "read claims", sql, params, 3, &res, err)) < 0)
            break;
        rc = judge_topic(client, cfg, m, topic, res.rows, verdict, why, whylen, err);
        dp_dbx_sql_result_clear(&res);
    }
    return rc;
}

static int put_str(dp_buf_t *out, const char *s, dp_err_t *err)
{
    return dp_buf_put_bytes(out, s, strlen(s), err);
}

int dp_claims_ledger_rows(dp_buf_t *out, const dp_manifest_t *m, dp_err_t *err)
{
    for (size_t i = 0; i < m->nranges; i++) {
        const dp_manifest_range_t *r = &m->ranges[i];

        if (put_str(out, m->incarnation, err) < 0 || put_str(out, r->topic, err) < 0 ||
            dp_buf_put_int(out, r->partition, err) < 0 || dp_buf_put_long(out, r->first, err) < 0 ||
            dp_buf_put_long(out, r->last, err) < 0 || dp_buf_put_long(out, r->epoch, err) < 0 ||
            dp_buf_put_long(out, (int64_t)r->fp, err) < 0 ||
            put_str(out, m->key, err) < 0 || put_str(out, m->worker_id, err) < 0)
            return DP_ETOOBIG; /* _loaded_at: set by the COPY INTO (ddl.h) */
    }
    return (int)m->nranges;
}

/* The newest incarnation of group: *seq (0 when none) and out. */
static int newest(dp_dbx_client_t *client, const dp_config_t *cfg, const char *q,
                  const char *group, int64_t *seq, char out[DP_CLAIMS_INCARNATION_SIZE],
                  dp_err_t *err)
{
    char sql[DP_TABLENAME_QUALIFIED_SIZE + 160];
    dp_dbx_sql_param_t params[] = {{"g", group, "STRING"}};
    dp_dbx_sql_result_t res;
    json_t *row;
    const char *inc;
    int rc;

    snprintf(sql, sizeof(sql), "SELECT seq, incarnation FROM %s WHERE group_id = :g ORDER BY "
             "seq DESC LIMIT 1", q);
    if ((rc = exec(client, cfg, "read the incarnation", sql, params, 1, &res, err)) < 0)
        return rc;
    row = json_array_get(res.rows, 0);
    *seq = row ? cell_ll(row, 0, 0) : 0;
    inc = json_string_value(json_array_get(row, 1));
    snprintf(out, DP_CLAIMS_INCARNATION_SIZE, "%s", inc ? inc : "");
    dp_dbx_sql_result_clear(&res);
    return 0;
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
    snprintf(uuid, sizeof(uuid), "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x"
             "%02x", b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
             b[12], b[13], b[14], b[15]);
    snprintf(seqs, sizeof(seqs), "%" PRId64, seq + 1);
    snprintf(now, sizeof(now), "%lld", (long long)dp_clock_wall_us());
    {
        dp_dbx_sql_param_t params[] = {{"g", group, "STRING"}, {"seq", seqs, "BIGINT"},
                                       {"inc", uuid, "STRING"}, {"now", now, "BIGINT"}};

        snprintf(sql, sizeof(sql),
                 "MERGE INTO %s AS t USING (VALUES (:g, CAST(:seq AS BIGINT), :inc, "
                 "CAST(:now AS BIGINT))) AS s(group_id, seq, incarnation, created_at_us) "
                 "ON t.group_id = s.group_id AND t.seq = s.seq WHEN NOT MATCHED THEN INSERT "
                 "(group_id, seq, incarnation, created_at_us) VALUES (s.group_id, s.seq, "
                 "s.incarnation, s.created_at_us)", q);
        if ((rc = exec(client, cfg, "mint an incarnation", sql, params, 4, NULL, err)) < 0)
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
    dp_dbx_sql_opts_t opts;
    dp_dbx_sql_result_t res;
    json_t *col;
    size_t i;
    int rc;

    out[0] = '\0';
    if (qualified(cfg, table, q, err) < 0)
        return DP_EINVAL;
    snprintf(sql, sizeof(sql), "DESCRIBE DETAIL %s", q);
    memset(&opts, 0, sizeof(opts));
    memset(&res, 0, sizeof(res));
    opts.wait_timeout_s = (int)cfg->databricks.statement_wait_timeout_s;
    if ((rc = dp_dbx_sql_execute(client, sql, NULL, 0, cfg->databricks.catalog,
                                 cfg->databricks.schema, &opts, &res, err)) < 0)
        return rc;
    if (res.state != DP_DBX_SQL_SUCCEEDED) {
        /* A missing table has no id; anything else is an error. */
        rc = strstr(res.message, "TABLE_OR_VIEW_NOT_FOUND")
                 ? 0
                 : dp_err_set(err, DP_EFAIL, dp_dbx_sql_failure_kind(&res) ==
                                                 DP_DBX_SQL_FAIL_TRANSIENT,
                              "claims: describe %s: %s", q, res.message);
        dp_dbx_sql_result_clear(&res);
        return rc;
    }
    json_array_foreach(res.columns, i, col)
    {
        const char *v;

        if (json_is_string(col) && strcmp(json_string_value(col), "id") == 0 &&
            (v = json_string_value(json_array_get(json_array_get(res.rows, 0), i))))
            snprintf(out, DP_CLAIMS_TABLE_ID_SIZE, "%s", v);
    }
    dp_dbx_sql_result_clear(&res);
    return 0;
}
