/*
 * cmd_incarnation: show or mint the pool's incarnation (see
 * cmd_incarnation.h).
 *
 * `new` makes every worker of the group read every topic again from its
 * beginning under new staged names: right after a topic was deleted and
 * recreated, and wrong otherwise (everything would load a second time). So
 * it refuses, unless --force:
 *   - when the topics still hold what the current incarnation loaded: the
 *     message at the end of a ledger range has the fingerprint recorded for
 *     it (nothing was recreated);
 *   - while the group has members (or when its membership cannot be read:
 *     the embedded Kafka answers no DescribeGroups).
 */
#include "cli/cmd_incarnation.h"

#include "cli/cli.h"
#include "config/config.h"
#include "core/log.h"
#include "core/mem.h"
#include "kafka/kafka.h"
#include "load/claims.h"
#include "load/dbxconn.h"
#include "load/stmt.h"
#include "route/tablename.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CHECKED 64

static const char incarnation_help[] =
    "usage: deltaport incarnation show --config FILE\n"
    "       deltaport incarnation new --config FILE [--force]\n"
    "\n"
    "show prints the pool's incarnation: the id every commit carries, so that offsets of\n"
    "a deleted and recreated topic are never trusted (docs/DELIVERY.md). new mints a new\n"
    "one: run it after a topic was recreated, with every worker stopped; the workers then\n"
    "read every partition from its beginning. new is refused while the topics still hold\n"
    "what the current incarnation loaded (nothing was recreated: everything would load a\n"
    "second time), while the group has members, and when its membership cannot be read\n"
    "(the embedded Kafka answers no DescribeGroups); --force overrides.\n"
    "\n"
    "options:\n"
    "  -c, --config FILE   the configuration (databricks.*, kafka.*)\n"
    "      --force         mint without those checks\n"
    "  -h, --help          this text\n"
    "\n"
    "Exit status: 0 success, 1 failure or refusal, 2 usage error.\n";

/* A consumer outside the group, with the configuration's client settings. */
static rd_kafka_t *new_consumer(const dp_config_t *cfg, dp_err_t *err)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char errstr[512], group[96];
    rd_kafka_t *rk;

    snprintf(group, sizeof(group), "deltaport-incarnation-check-%s", cfg->worker.id);
    if (dp_config_kafka_apply_cb(conf, (void *)cfg, err) < 0 ||
        rd_kafka_conf_set(conf, "bootstrap.servers", cfg->kafka.bootstrap_servers, errstr,
                          sizeof(errstr)) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof(errstr)) !=
            RD_KAFKA_CONF_OK) {
        if (err->code == DP_OK)
            dp_err_set(err, DP_EINVAL, 0, "kafka: %s", errstr);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        dp_err_set(err, DP_EFAIL, 0, "kafka: %s", errstr);
    }
    return rk;
}

/* The number of members of the group, or -1 with why when it cannot be read. */
static int group_members(rd_kafka_t *rk, const char *group, char *why, size_t whylen)
{
    const struct rd_kafka_group_list *list = NULL;
    rd_kafka_resp_err_t rerr = rd_kafka_list_groups(rk, group, &list, 10000);
    int n = -1;

    if (rerr) {
        snprintf(why, whylen, "%s", rd_kafka_err2str(rerr));
    } else if (list->group_cnt == 0) {
        n = 0;
    } else if (list->groups[0].err) {
        snprintf(why, whylen, "%s", rd_kafka_err2str(list->groups[0].err));
    } else {
        n = list->groups[0].member_cnt;
    }
    if (list)
        rd_kafka_group_list_destroy(list);
    return n;
}

typedef struct loaded_end {
    char *topic;
    int32_t partition;
    int64_t last;
    int64_t fp;
    int seen;
} loaded_end_t;

/* The end of each ledger range chain of the incarnation, with fingerprints. */
static size_t ledger_ends(dp_dbx_client_t *client, const dp_config_t *cfg, const char *inc,
                          loaded_end_t **out, dp_err_t *err)
{
    char q[DP_TABLENAME_QUALIFIED_SIZE], sql[DP_TABLENAME_QUALIFIED_SIZE + 300];
    dp_dbx_sql_param_t param = {"inc", inc, "STRING"};
    dp_dbx_sql_result_t res;
    loaded_end_t *ends;
    size_t n = 0;

    *out = NULL;
    dp_err_clear(err);
    if (dp_tablename_qualified(cfg->databricks.catalog, cfg->databricks.schema, DP_LEDGER_TABLE, q,
                               sizeof(q), err) < 0)
        return 0;
    snprintf(sql, sizeof(sql),
             "SELECT topic, kpartition, MAX(last_offset), MAX_BY(last_fp, "
             "last_offset) FROM %s WHERE kind = 'range' AND incarnation = :inc GROUP BY topic, "
             "kpartition",
             q);
    if (dp_stmt_exec_params(client, cfg, "read the ledger", sql, &param, 1, &res, err) < 0) {
        dp_dbx_sql_result_clear(&res);
        /* No ledger yet: nothing was loaded, nothing to compare. */
        return strstr(res.message, "TABLE_OR_VIEW_NOT_FOUND") ? (err->code = DP_OK, 0) : 0;
    }
    ends = dp_calloc(dp_stmt_nrows(&res) + 1, sizeof(*ends));
    for (size_t i = 0; i < dp_stmt_nrows(&res) && n < MAX_CHECKED; i++) {
        const char *topic = dp_stmt_cell(&res, i, 0);
        long long p = dp_stmt_cell_ll(&res, i, 1, -1), last = dp_stmt_cell_ll(&res, i, 2, -1),
                  fp = dp_stmt_cell_ll(&res, i, 3, -1);

        if (!topic || p < 0 || last < 0 || fp <= 0)
            continue;
        ends[n].topic = dp_strdup(topic);
        ends[n].partition = (int32_t)p;
        ends[n].last = last;
        ends[n].fp = fp;
        n++;
    }
    dp_dbx_sql_result_clear(&res);
    *out = ends;
    return n;
}

/* Reads the message at each end; returns how many still have the
 * fingerprint that was loaded (the log was not replaced). */
static int still_loaded(rd_kafka_t *rk, loaded_end_t *ends, size_t n, char *which, size_t whichlen)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new((int)n);
    size_t left = n;
    int matches = 0;

    for (size_t i = 0; i < n; i++)
        rd_kafka_topic_partition_list_add(list, ends[i].topic, ends[i].partition)->offset =
            ends[i].last;
    if (rd_kafka_assign(rk, list) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_topic_partition_list_destroy(list);
        return 0;
    }
    for (int polls = 0; left > 0 && polls < 100; polls++) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);

        if (!m)
            continue;
        for (size_t i = 0; m->rkt && i < n; i++) {
            if (ends[i].seen || ends[i].partition != m->partition ||
                strcmp(ends[i].topic, rd_kafka_topic_name(m->rkt)) != 0)
                continue;
            ends[i].seen = 1;
            left--;
            if (!m->err && m->offset == ends[i].last &&
                (int64_t)dp_kafka_fingerprint(m) == ends[i].fp) {
                if (matches++ == 0)
                    snprintf(which, whichlen, "%s [%d] @%lld", ends[i].topic,
                             (int)ends[i].partition, (long long)ends[i].last);
            }
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_assign(rk, NULL);
    rd_kafka_topic_partition_list_destroy(list);
    return matches;
}

/* Whether `new` may go ahead; prints why not. */
static int new_allowed(const dp_config_t *cfg, dp_dbx_client_t *client, const char *inc,
                       dp_err_t *err)
{
    char why[256] = "", which[300] = "";
    loaded_end_t *ends = NULL;
    rd_kafka_t *rk = new_consumer(cfg, err);
    size_t n;
    int members, matches, ok = 0;

    if (!rk)
        return -1;
    n = ledger_ends(client, cfg, inc, &ends, err);
    if (err->code != DP_OK) {
        fprintf(stderr, "deltaport incarnation new: %s\n", err->msg);
        goto out;
    }
    matches = still_loaded(rk, ends, n, which, sizeof(which));
    if (matches > 0) {
        fprintf(stderr,
                "deltaport incarnation new: refused: the topics still hold what "
                "incarnation %s loaded (%d of %zu checked ends match, e.g. %s): nothing was "
                "recreated, and a new incarnation would load everything a second time. Use "
                "--force only if you mean that\n",
                inc, matches, n, which);
        goto out;
    }
    members = group_members(rk, cfg->kafka.group_id, why, sizeof(why));
    if (members < 0) {
        fprintf(stderr,
                "deltaport incarnation new: refused: the members of group %s cannot be "
                "read (%s). Make sure no worker of the group runs, then repeat with --force\n",
                cfg->kafka.group_id, why);
        goto out;
    }
    if (members > 0) {
        fprintf(stderr,
                "deltaport incarnation new: refused: group %s has %d member(s). Stop "
                "every worker of the pool first\n",
                cfg->kafka.group_id, members);
        goto out;
    }
    ok = 1;
out:
    for (size_t i = 0; ends && ends[i].topic; i++)
        free(ends[i].topic);
    free(ends);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return ok ? 0 : -1;
}

int dp_cmd_incarnation(int argc, char **argv)
{
    const char *path = NULL, *verb;
    char inc[DP_CLAIMS_INCARNATION_SIZE], old[DP_CLAIMS_INCARNATION_SIZE];
    dp_config_t *cfg = NULL;
    dp_dbxconn_t conn = {NULL, NULL};
    dp_err_t err;
    int force = 0, rc = 1, nargs, prc;
    char *args[1];
    const dp_cli_opt_t opts[] = {
        {"config", 'c', DP_CLI_STRING, &path, "FILE", 1, 0, NULL},
        {"force", 0, DP_CLI_FLAG, &force, NULL, 0, 0, NULL},
        {NULL, 0, 0, NULL, NULL, 0, 0, NULL},
    };
    const dp_cli_spec_t spec = {"incarnation", incarnation_help, opts, 1, 1, "show or new"};

    if ((prc = dp_cli_parse(&spec, argc, argv, args, &nargs, stdout, stderr)) != DP_CLI_OK)
        return dp_cli_exit(prc);
    verb = args[0];
    if (strcmp(verb, "show") != 0 && strcmp(verb, "new") != 0)
        return dp_cli_exit(
            dp_cli_usage_error(&spec, stderr, "unknown subcommand '%s' (show or new)", verb));
    dp_log_set_level(DP_LOG_ERROR);
    dp_err_clear(&err);
    cfg = dp_config_load(path, &err);
    if (!cfg || dp_config_finalize(cfg, &err) < 0 ||
        dp_dbxconn_open(&conn, cfg, NULL, NULL, &err) < 0 ||
        dp_claims_setup_incarnations(conn.client, cfg, &err) < 0 ||
        dp_claims_incarnation(conn.client, cfg, cfg->kafka.group_id, 0, old, &err) < 0) {
        fprintf(stderr, "deltaport: %s\n", err.msg);
        goto out;
    }
    if (strcmp(verb, "show") == 0) {
        printf("%s\n", old);
        rc = 0;
        goto out;
    }
    fprintf(stderr,
            "deltaport incarnation new: group %s, incarnation %s. A new incarnation "
            "makes every worker read every topic from its beginning under new names.\n",
            cfg->kafka.group_id, old);
    if (!force && new_allowed(cfg, conn.client, old, &err) < 0)
        goto out;
    if (force)
        fprintf(stderr, "deltaport incarnation new: --force: the group's membership and the "
                        "topics' fingerprints are not checked\n");
    if (dp_claims_incarnation(conn.client, cfg, cfg->kafka.group_id, 1, inc, &err) < 0) {
        fprintf(stderr, "deltaport: %s\n", err.msg);
        goto out;
    }
    printf("%s\n", inc);
    rc = 0;
out:
    dp_dbxconn_close(&conn);
    dp_config_destroy(cfg);
    return rc;
}
