/*
 * kafka: the worker's librdkafka consumer (see kafka.h).
 *
 * The rebalance callback follows librdkafka 2.0.2's contract (docs/PLATFORM.md,
 * "The consumer contract"): cooperative partitions are added
 * and removed incrementally; start positions are decided here from the
 * committed offsets because auto.offset.reset is "error"; the app-pause flag
 * survives an unassign in 2.0.2, so the set of partitions we paused is kept
 * and re-applied (or cleared) on every assignment, and only partitions we
 * paused are resumed.
 */
#define _GNU_SOURCE /* memmem */
#include "kafka/kafka.h"

#include "batch/flush.h"
#include "core/log.h"
#include "core/mem.h"
#include "kafka/kstats.h"
#include "ops/health.h"
#include "ops/metrics.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dp_kafka {
    rd_kafka_t *rk;
    dp_kafka_hooks_t hooks;
    int initial_latest;
    int paused;                               /* dp_kafka_pause_all in force */
    rd_kafka_topic_partition_list_t *stale;   /* revoked while paused: flag still set */
    rd_kafka_topic_partition_list_t *errored; /* paused because they cannot be consumed */
    char *incarnation;                        /* sent as "inc=<id>" with every commit */
    char *worker_id;                          /* for log lines; NULL if unknown */
    char *group;                              /* for log lines; immutable */
};

const char *const dp_kafka_owned_keys[] = {
    "enable.auto.commit",
    "enable.auto.offset.store",
    "auto.offset.reset",
    "group.id",
    "partition.assignment.strategy",
    "rebalance_cb",
    "statistics.interval.ms",
    NULL,
};

/* Defaults the user may override through the `kafka` properties: a local
 * queue large enough that the fetcher does not idle. In 2.0.2 (which has no
 * fetch.queue.backoff.ms) a fetcher that reaches queued.min.messages waits
 * for its next wakeup, up to about 1 s, so a consumer that decodes more
 * slowly than it fetches stalls in bursts; 1,000,000 avoids it, and the
 * queue stays bounded in bytes. */
static const char *const default_props[][2] = {
    {"queued.min.messages", "1000000"},
    {"queued.max.messages.kbytes", "65536"},
    {"enable.partition.eof", "false"},
    {NULL, NULL},
};

/* ------------------------------------------------------------------------- */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------- */

static int conf_set(rd_kafka_conf_t *conf, const char *key, const char *value, dp_err_t *err)
{
    char errstr[512];

    if (rd_kafka_conf_set(conf, key, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
        return dp_err_set(err, DP_EINVAL, 0, "kafka: %s: %s", key, errstr);
    return 0;
}

static int list_has(const rd_kafka_topic_partition_list_t *list, const char *topic, int32_t part)
{
    if (!list)
        return 0;
    for (int i = 0; i < list->cnt; i++) {
        if (list->elems[i].partition == part && strcmp(list->elems[i].topic, topic) == 0)
            return 1;
    }
    return 0;
}

static void list_remove(rd_kafka_topic_partition_list_t *list, const char *topic, int32_t part)
{
    if (list)
        rd_kafka_topic_partition_list_del(list, topic, part);
}

static void list_add_unique(rd_kafka_topic_partition_list_t *list, const char *topic, int32_t part)
{
    if (!list_has(list, topic, part))
        rd_kafka_topic_partition_list_add(list, topic, part);
}

static int is_cooperative(rd_kafka_t *rk)
{
    const char *proto = rd_kafka_rebalance_protocol(rk);

    return proto && strcmp(proto, "COOPERATIVE") == 0;
}

/* ------------------------------------------------------------------------- */
/* Rebalance                                                                 */
/* ------------------------------------------------------------------------- */

/* 1 when tp's commit metadata names an incarnation other than ours
 * ("inc=<id>[;...]"; commits by other tools have none and are trusted). */
static int foreign_incarnation(const dp_kafka_t *kafka, const rd_kafka_topic_partition_t *tp)
{
    const char *md = tp->metadata;
    size_t n = tp->metadata_size, len;

    if (!kafka->incarnation || !md || n < 4 || memcmp(md, "inc=", 4) != 0)
        return 0;
    len = strlen(kafka->incarnation);
    return n - 4 < len || memcmp(md + 4, kafka->incarnation, len) != 0 ||
           (n - 4 > len && md[4 + len] != ';');
}

/* Sets each element's .offset to its committed offset, or to the initial
 * position when the group never committed it (or committed it in another
 * incarnation: then the beginning). */
static void set_start_positions(dp_kafka_t *kafka, rd_kafka_topic_partition_list_t *parts)
{
    rd_kafka_resp_err_t rerr = rd_kafka_committed(kafka->rk, parts, 10000);

    if (rerr)
        dp_log(DP_LOG_WARN, "kafka",
               "reading committed offsets failed: %s; partitions without "
               "one start at the initial position",
               rd_kafka_err2str(rerr));
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &parts->elems[i];

        if (tp->offset >= 0 && foreign_incarnation(kafka, tp)) {
            /* A commit of another incarnation: an offset into the log of a
             * topic that was deleted since (or a replaced cluster). The new
             * log is read from its beginning. */
            dp_log(DP_LOG_WARN, "kafka",
                   "%s [%d]: committed offset @%lld belongs to another "
                   "incarnation (%.*s), not %s: ignored, reading from the beginning",
                   tp->topic, (int)tp->partition, (long long)tp->offset, (int)tp->metadata_size,
                   (const char *)tp->metadata, kafka->incarnation);
            tp->offset = RD_KAFKA_OFFSET_BEGINNING;
            continue;
        }
        if (tp->offset < 0)
            tp->offset = kafka->initial_latest ? RD_KAFKA_OFFSET_END : RD_KAFKA_OFFSET_BEGINNING;
    }
}

/* Applies the pause state to newly assigned partitions (after assign). */
static void apply_pause_state(dp_kafka_t *kafka, rd_kafka_topic_partition_list_t *parts)
{
    rd_kafka_topic_partition_list_t *resume = rd_kafka_topic_partition_list_new(parts->cnt);
    rd_kafka_topic_partition_list_t *pause = rd_kafka_topic_partition_list_new(parts->cnt);

    for (int i = 0; i < parts->cnt; i++) {
        const char *t = parts->elems[i].topic;
        int32_t p = parts->elems[i].partition;
        int was_stale = list_has(kafka->stale, t, p);

        list_remove(kafka->stale, t, p);
        list_remove(kafka->errored, t, p);
        if (kafka->paused && !was_stale)
            rd_kafka_topic_partition_list_add(pause, t, p);
        else if (!kafka->paused && was_stale)
            rd_kafka_topic_partition_list_add(resume, t, p);
    }
    if (pause->cnt)
        rd_kafka_pause_partitions(kafka->rk, pause);
    if (resume->cnt)
        rd_kafka_resume_partitions(kafka->rk, resume);
    rd_kafka_topic_partition_list_destroy(pause);
    rd_kafka_topic_partition_list_destroy(resume);
}

static void do_assign(dp_kafka_t *kafka, rd_kafka_topic_partition_list_t *parts)
{
    if (parts->cnt > 0) {
        set_start_positions(kafka, parts);
        dp_kstats_committed(parts);
        if (kafka->hooks.on_assign)
            kafka->hooks.on_assign(kafka->hooks.opaque, parts);
    }
    if (is_cooperative(kafka->rk)) {
        rd_kafka_error_t *error = rd_kafka_incremental_assign(kafka->rk, parts);

        if (error) {
            dp_log(DP_LOG_ERROR, "kafka", "incremental assign failed: %s",
                   rd_kafka_error_string(error));
            rd_kafka_error_destroy(error);
            return;
        }
    } else {
        rd_kafka_resp_err_t rerr = rd_kafka_assign(kafka->rk, parts);

        if (rerr) {
            dp_log(DP_LOG_ERROR, "kafka", "assign failed: %s", rd_kafka_err2str(rerr));
            return;
        }
    }
    for (int i = 0; i < parts->cnt; i++)
        dp_log(DP_LOG_INFO, "kafka", "assigned %s [%d] @%lld", parts->elems[i].topic,
               (int)parts->elems[i].partition, (long long)parts->elems[i].offset);
    if (parts->cnt > 0)
        apply_pause_state(kafka, parts);
}

static void do_revoke(dp_kafka_t *kafka, rd_kafka_topic_partition_list_t *parts)
{
    int lost = rd_kafka_assignment_lost(kafka->rk);

    if (kafka->hooks.on_revoke && parts->cnt > 0)
        kafka->hooks.on_revoke(kafka->hooks.opaque, parts, lost);
    for (int i = 0; i < parts->cnt; i++) {
        const char *t = parts->elems[i].topic;
        int32_t p = parts->elems[i].partition;

        dp_log(DP_LOG_INFO, "kafka", "%s %s [%d]", lost ? "lost" : "revoked", t, (int)p);
        if (kafka->paused || list_has(kafka->errored, t, p))
            list_add_unique(kafka->stale, t, p);
        list_remove(kafka->errored, t, p);
    }
    if (is_cooperative(kafka->rk)) {
        rd_kafka_error_t *error = rd_kafka_incremental_unassign(kafka->rk, parts);

        if (error) {
            dp_log(DP_LOG_ERROR, "kafka", "incremental unassign failed: %s",
                   rd_kafka_error_string(error));
            rd_kafka_error_destroy(error);
        }
    } else {
        rd_kafka_assign(kafka->rk, NULL);
    }
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t rerr,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    dp_kafka_t *kafka = opaque;

    (void)rk;
    if (rerr == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        do_assign(kafka, parts);
    } else if (rerr == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        do_revoke(kafka, parts);
    } else {
        dp_log(DP_LOG_ERROR, "kafka", "rebalance error: %s", rd_kafka_err2str(rerr));
        do_revoke(kafka, parts);
    }
}

/* ------------------------------------------------------------------------- */
/* librdkafka's log lines and broker state                                   */
/* ------------------------------------------------------------------------- */

int dp_kafka_log_level(int syslog_level)
{
    if (syslog_level <= 3)
        return DP_LOG_ERROR; /* emerg, alert, crit, err */
    if (syslog_level == 4)
        return DP_LOG_WARN;
    if (syslog_level <= 6)
        return DP_LOG_INFO; /* notice, info */
    return DP_LOG_DEBUG;
}

static int topic_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

int dp_kafka_log_partition(const char *line, char *topic, size_t len, int32_t *partition)
{
    for (const char *p = strstr(line, " ["); p; p = strstr(p + 1, " [")) {
        const char *start = p, *d = p + 2;
        long v = 0;

        while (start > line && topic_char(start[-1]))
            start--;
        if (start == p || (size_t)(p - start) >= len || *d < '0' || *d > '9')
            continue;
        while (*d >= '0' && *d <= '9' && v < 1000000)
            v = v * 10 + (*d++ - '0');
        if (*d != ']' || v >= 1000000)
            continue;
        memcpy(topic, start, (size_t)(p - start));
        topic[p - start] = '\0';
        *partition = (int32_t)v;
        return 1;
    }
    return 0;
}

/* librdkafka's log callback (its own threads; see kafka.h). */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    const dp_kafka_t *kafka = rd_kafka_opaque(rk);
    int ours = dp_kafka_log_level(level);
    char topic[256], part[16], thread[128] = "";
    dp_log_field_t fields[6];
    size_t n = 0;
    int32_t partition;

    /* "[thrd:main]: text": the thread becomes a field. */
    if (strncmp(buf, "[thrd:", 6) == 0 && strstr(buf, "]: ")) {
        const char *end = strstr(buf, "]: ");

        snprintf(thread, sizeof(thread), "%.*s", (int)(end - buf - 6), buf + 6);
        buf = end + 3;
    }
    if (ours >= DP_LOG_ERROR)
        dp_health_kafka_error(buf);
    if (ours < dp_log_threshold)
        return;
    if (kafka && kafka->worker_id)
        fields[n++] = (dp_log_field_t){"worker_id", kafka->worker_id};
    if (kafka && kafka->group)
        fields[n++] = (dp_log_field_t){"group", kafka->group};
    fields[n++] = (dp_log_field_t){"fac", fac};
    if (thread[0])
        fields[n++] = (dp_log_field_t){"thread", thread};
    if (dp_kafka_log_partition(buf, topic, sizeof(topic), &partition)) {
        snprintf(part, sizeof(part), "%d", (int)partition);
        fields[n++] = (dp_log_field_t){"topic", topic};
        fields[n++] = (dp_log_field_t){"partition", part};
    }
    dp_log_write_fields((dp_log_level_t)ours, "rdkafka", fields, n, buf);
}

/* The "brokers" object of a statistics JSON (new reference, or NULL). Only
 * that object is parsed when it can be found: with many partitions the
 * whole document is mostly "topics" (92 KB for 128 partitions, 6 ms to
 * parse whole), and this runs on the poll thread. */
static json_t *stats_brokers(const char *json, size_t len)
{
    const char *key = memmem(json, len, "\"brokers\":", 10), *p;
    json_t *root, *brokers;

    if (key) {
        for (p = key + 10; p < json + len && (*p == ' ' || *p == '\n' || *p == '\t'); p++)
            ;
        if (p < json + len && *p == '{') {
            brokers = json_loadb(p, (size_t)(json + len - p), JSON_DISABLE_EOF_CHECK, NULL);
            if (json_is_object(brokers))
                return brokers;
            json_decref(brokers);
        }
    }
    root = json_loadb(json, len, 0, NULL);
    brokers = json_incref(json_object_get(root, "brokers"));
    json_decref(root);
    return brokers;
}

int dp_kafka_stats_brokers_up(const char *json, size_t len)
{
    json_t *brokers = stats_brokers(json, len), *b;
    const char *name;
    int up = 0;

    if (!json_is_object(brokers)) {
        json_decref(brokers);
        return -1;
    }
    json_object_foreach(brokers, name, b)
    {
        const char *source = json_string_value(json_object_get(b, "source"));
        const char *state = json_string_value(json_object_get(b, "state"));

        /* "logical" (GroupCoordinator) and "internal" are views of brokers
         * counted already, or no broker at all. */
        if (source && (strcmp(source, "logical") == 0 || strcmp(source, "internal") == 0))
            continue;
        if (state && strcmp(state, "UP") == 0)
            up++;
    }
    json_decref(brokers);
    return up;
}

/* librdkafka's statistics callback (served by the consumer poll). Returns 0:
 * librdkafka frees json. */
static int stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    int up = dp_kafka_stats_brokers_up(json, len);

    (void)rk;
    (void)opaque;
    if (up >= 0) {
        dp_metrics_set(DP_MG_KAFKA_BROKERS_UP, up);
        dp_health_kafka_brokers(up);
    }
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Construction                                                              */
/* ------------------------------------------------------------------------- */

static rd_kafka_conf_t *build_conf(dp_kafka_t *kafka, const dp_kafka_opts_t *opts, dp_err_t *err)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char interval[16];

    for (int i = 0; default_props[i][0]; i++) {
        if (conf_set(conf, default_props[i][0], default_props[i][1], err) < 0)
            goto fail;
    }
    if (opts->apply_properties && opts->apply_properties(conf, opts->apply_ctx, err) < 0)
        goto fail;
    if (conf_set(conf, "bootstrap.servers", opts->bootstrap_servers, err) < 0 ||
        conf_set(conf, "group.id", opts->group_id, err) < 0 ||
        conf_set(conf, "enable.auto.commit", "false", err) < 0 ||
        conf_set(conf, "enable.auto.offset.store", "false", err) < 0 ||
        conf_set(conf, "auto.offset.reset", "error", err) < 0 ||
        conf_set(conf, "partition.assignment.strategy", "cooperative-sticky", err) < 0)
        goto fail;
    if (opts->client_id && conf_set(conf, "client.id", opts->client_id, err) < 0)
        goto fail;
    snprintf(interval, sizeof(interval), "%d",
             opts->stats_interval_ms > 0 ? opts->stats_interval_ms : 5000);
    if (conf_set(conf, "statistics.interval.ms", interval, err) < 0)
        goto fail;
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_stats_cb(conf, stats_cb);
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_opaque(conf, kafka);
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

static int subscribe(dp_kafka_t *kafka, const dp_kafka_opts_t *opts, dp_err_t *err)
{
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_resp_err_t rerr;

    if (opts->topic_regex) {
        rd_kafka_topic_partition_list_add(topics, opts->topic_regex, RD_KAFKA_PARTITION_UA);
    } else {
        for (size_t i = 0; i < opts->ntopics; i++)
            rd_kafka_topic_partition_list_add(topics, opts->topics[i], RD_KAFKA_PARTITION_UA);
    }
    rerr = rd_kafka_subscribe(kafka->rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (rerr)
        return dp_err_set(err, DP_EINVAL, 0, "kafka: subscribe: %s", rd_kafka_err2str(rerr));
    return 0;
}

dp_kafka_t *dp_kafka_new(const dp_kafka_opts_t *opts, const dp_kafka_hooks_t *hooks, dp_err_t *err)
{
    dp_kafka_t *kafka;
    rd_kafka_conf_t *conf;
    char errstr[512];

    if (!opts->bootstrap_servers || !opts->group_id || (!opts->topic_regex && opts->ntopics == 0)) {
        dp_err_set(err, DP_EINVAL, 0, "kafka: bootstrap servers, group id and topics are required");
        return NULL;
    }
    if (opts->topic_regex && opts->topic_regex[0] != '^') {
        dp_err_set(err, DP_EINVAL, 0, "kafka: topic regex '%s' must start with '^'",
                   opts->topic_regex);
        return NULL;
    }
    kafka = dp_calloc(1, sizeof(*kafka));
    kafka->hooks = *hooks;
    kafka->initial_latest = opts->initial_position_latest;
    kafka->worker_id = opts->worker_id ? dp_strdup(opts->worker_id) : NULL;
    kafka->group = dp_strdup(opts->group_id);
    kafka->stale = rd_kafka_topic_partition_list_new(8);
    kafka->errored = rd_kafka_topic_partition_list_new(8);
    conf = build_conf(kafka, opts, err);
    if (!conf)
        goto fail;
    kafka->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (!kafka->rk) {
        rd_kafka_conf_destroy(conf);
        dp_err_set(err, DP_EINVAL, 0, "kafka: creating the consumer: %s", errstr);
        goto fail;
    }
    conf = NULL; /* owned by rk now */
    rd_kafka_poll_set_consumer(kafka->rk);
    if (subscribe(kafka, opts, err) < 0)
        goto fail;
    return kafka;
fail:
    dp_kafka_destroy(kafka);
    return NULL;
}

/* ------------------------------------------------------------------------- */
/* Poll, commit, pause                                                       */
/* ------------------------------------------------------------------------- */

static void partition_failed(dp_kafka_t *kafka, rd_kafka_message_t *msg)
{
    const char *topic = rd_kafka_topic_name(msg->rkt);
    rd_kafka_topic_partition_list_t *one = rd_kafka_topic_partition_list_new(1);

    rd_kafka_topic_partition_list_add(one, topic, msg->partition);
    rd_kafka_pause_partitions(kafka->rk, one);
    rd_kafka_topic_partition_list_destroy(one);
    list_add_unique(kafka->errored, topic, msg->partition);
    dp_metrics_add(DP_MC_OFFSET_OUT_OF_RANGE, 1);
    dp_log(DP_LOG_ERROR, "kafka", "%s [%d] @%lld cannot be consumed, partition paused: %s", topic,
           (int)msg->partition, (long long)msg->offset, rd_kafka_message_errstr(msg));
    if (kafka->hooks.on_partition_error)
        kafka->hooks.on_partition_error(kafka->hooks.opaque, topic, msg->partition, msg->err,
                                        rd_kafka_message_errstr(msg));
}

uint32_t dp_kafka_fingerprint(const rd_kafka_message_t *msg)
{
    return dp_flush_fingerprint(msg->key, msg->key_len, msg->payload, msg->len);
}

int dp_kafka_seek(dp_kafka_t *kafka, const char *topic, int32_t partition, int64_t offset,
                  dp_err_t *err)
{
    rd_kafka_topic_partition_list_t *one = rd_kafka_topic_partition_list_new(1);
    rd_kafka_error_t *error;
    int rc = 0;

    rd_kafka_topic_partition_list_add(one, topic, partition)->offset = offset;
    /* Timeout 0: 2.0.2 passes the timeout in the wrong unit (librdkafka
     * #4230), so any wait is a few milliseconds and may report a time-out
     * while the seek proceeds. */
    error = rd_kafka_seek_partitions(kafka->rk, one, 0);
    if (error) {
        rc = dp_err_set(err, DP_EFAIL, 1, "seek %s [%d] to @%lld: %s", topic, (int)partition,
                        (long long)offset, rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    } else if (one->elems[0].err && one->elems[0].err != RD_KAFKA_RESP_ERR__TIMED_OUT &&
               one->elems[0].err != RD_KAFKA_RESP_ERR__IN_PROGRESS) {
        /* __IN_PROGRESS: a logical offset (beginning) is being looked up. */
        rc = dp_err_set(err, DP_EFAIL, 1, "seek %s [%d] to @%lld: %s", topic, (int)partition,
                        (long long)offset, rd_kafka_err2str(one->elems[0].err));
    }
    rd_kafka_topic_partition_list_destroy(one);
    return rc;
}

int dp_kafka_restart(dp_kafka_t *kafka, const char *topic, int32_t partition, int64_t offset,
                     dp_err_t *err)
{
    rd_kafka_topic_partition_list_t *one = rd_kafka_topic_partition_list_new(1);
    rd_kafka_error_t *error;
    int rc = 0;

    rd_kafka_topic_partition_list_add(one, topic, partition)->offset = offset;
    error = rd_kafka_incremental_unassign(kafka->rk, one);
    if (!error)
        error = rd_kafka_incremental_assign(kafka->rk, one);
    if (error) {
        rc = dp_err_set(err, DP_EFAIL, 0, "restart %s [%d] at @%lld: %s", topic, (int)partition,
                        (long long)offset, rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    } else {
        /* The pause flag lives on the partition object and survives the
         * reassignment: set it as it must be now. */
        list_remove(kafka->errored, topic, partition);
        if (kafka->paused)
            rd_kafka_pause_partitions(kafka->rk, one);
        else
            rd_kafka_resume_partitions(kafka->rk, one);
    }
    rd_kafka_topic_partition_list_destroy(one);
    return rc;
}

rd_kafka_message_t *dp_kafka_poll(dp_kafka_t *kafka, int timeout_ms)
{
    rd_kafka_message_t *msg = rd_kafka_consumer_poll(kafka->rk, timeout_ms);

    dp_kstats_on_poll(kafka->rk, msg, kafka->paused, kafka->errored);
    if (!msg || !msg->err)
        return msg;
    if (msg->rkt && msg->partition >= 0 && msg->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET)
        partition_failed(kafka, msg);
    else if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
        dp_log(DP_LOG_WARN, "kafka", "consumer error: %s: %s", rd_kafka_err2name(msg->err),
               rd_kafka_message_errstr(msg));
    rd_kafka_message_destroy(msg);
    return NULL;
}

struct commit_ctx {
    rd_kafka_topic_partition_list_t *parts;
    rd_kafka_resp_err_t err;
};

static void commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t rerr,
                      rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
    struct commit_ctx *ctx = opaque;

    (void)rk;
    ctx->err = rerr;
    for (int i = 0; offsets && i < offsets->cnt; i++) {
        rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_find(
            ctx->parts, offsets->elems[i].topic, offsets->elems[i].partition);

        if (tp)
            tp->err = offsets->elems[i].err;
    }
}

/* Whether a refused commit may be tried again after polling. A stale
 * generation (ILLEGAL_GENERATION) is one of them: the group moved on while
 * the flush loaded, and once the consumer has rejoined, the commit of the
 * partitions it still owns goes through (the caller checks the assignment
 * again before each attempt; partitions gone by then are the next owner's). */
static int commit_retryable(rd_kafka_resp_err_t rerr)
{
    switch (rerr) {
    case RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__WAIT_COORD:
        return 1;
    default:
        return 0;
    }
}

int dp_kafka_commit(dp_kafka_t *kafka, rd_kafka_topic_partition_list_t *parts, dp_err_t *err)
{
    struct commit_ctx ctx = {parts, RD_KAFKA_RESP_ERR_NO_ERROR};
    rd_kafka_resp_err_t rerr, first = RD_KAFKA_RESP_ERR_NO_ERROR;
    const rd_kafka_topic_partition_t *bad = NULL;

    if (!parts || parts->cnt == 0)
        return 0;
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &parts->elems[i];

        tp->err = RD_KAFKA_RESP_ERR_NO_ERROR;
        if (kafka->incarnation) {
            /* "inc=<id>", then ";" and what the caller put there (the
             * fingerprint of the last message loaded). */
            size_t extra = tp->metadata ? tp->metadata_size : 0;
            size_t len = strlen(kafka->incarnation) + 4 + (extra ? extra + 1 : 0);
            char *md = dp_malloc(len + 1);

            snprintf(md, len + 1, "inc=%s%s%.*s", kafka->incarnation, extra ? ";" : "", (int)extra,
                     extra ? (const char *)tp->metadata : "");
            free(tp->metadata); /* the list owns it (rd_kafka_topic_partition_list_destroy) */
            tp->metadata = md;
            tp->metadata_size = len;
        }
    }
    rerr = rd_kafka_commit_queue(kafka->rk, parts, NULL, commit_cb, &ctx);
    if (!rerr)
        rerr = ctx.err;
    for (int i = 0; i < parts->cnt && !bad; i++) {
        if (parts->elems[i].err) {
            bad = &parts->elems[i];
            first = bad->err;
        }
    }
    if (!rerr && !bad)
        return 0;
    if (!first)
        first = rerr;
    if (bad)
        return dp_err_set(err, commit_retryable(first) ? DP_EAGAIN : DP_EFAIL,
                          commit_retryable(first), "kafka: commit %s [%d] @%lld: %s", bad->topic,
                          (int)bad->partition, (long long)bad->offset, rd_kafka_err2str(first));
    return dp_err_set(err, commit_retryable(first) ? DP_EAGAIN : DP_EFAIL, commit_retryable(first),
                      "kafka: commit of %d partition(s): %s", parts->cnt, rd_kafka_err2str(first));
}

static void set_paused(dp_kafka_t *kafka, int pause)
{
    rd_kafka_topic_partition_list_t *assigned = NULL;

    if (kafka->paused == pause)
        return;
    kafka->paused = pause;
    if (rd_kafka_assignment(kafka->rk, &assigned) || !assigned)
        return;
    if (pause) {
        rd_kafka_pause_partitions(kafka->rk, assigned);
    } else {
        for (int i = assigned->cnt - 1; i >= 0; i--) {
            if (list_has(kafka->errored, assigned->elems[i].topic, assigned->elems[i].partition))
                rd_kafka_topic_partition_list_del_by_idx(assigned, i);
        }
        rd_kafka_resume_partitions(kafka->rk, assigned);
    }
    rd_kafka_topic_partition_list_destroy(assigned);
}

static void pause_one(dp_kafka_t *kafka, const char *topic, int32_t partition, int pause)
{
    rd_kafka_topic_partition_list_t *one = rd_kafka_topic_partition_list_new(1);

    rd_kafka_topic_partition_list_add(one, topic, partition);
    if (pause)
        rd_kafka_pause_partitions(kafka->rk, one);
    else
        rd_kafka_resume_partitions(kafka->rk, one);
    rd_kafka_topic_partition_list_destroy(one);
}

void dp_kafka_set_incarnation(dp_kafka_t *kafka, const char *incarnation)
{
    free(kafka->incarnation);
    kafka->incarnation = incarnation ? dp_strdup(incarnation) : NULL;
}

void dp_kafka_hold(dp_kafka_t *kafka, const char *topic, int32_t partition)
{
    /* The errored set has exactly the semantics wanted: paused whatever the
     * global state, and handled on revoke and re-assign. */
    if (list_has(kafka->errored, topic, partition))
        return;
    list_add_unique(kafka->errored, topic, partition);
    if (!kafka->paused)
        pause_one(kafka, topic, partition, 1);
}

void dp_kafka_release(dp_kafka_t *kafka, const char *topic, int32_t partition)
{
    if (!list_has(kafka->errored, topic, partition))
        return;
    list_remove(kafka->errored, topic, partition);
    if (!kafka->paused)
        pause_one(kafka, topic, partition, 0); /* only what we paused (librdkafka #4636) */
}

void dp_kafka_pause_all(dp_kafka_t *kafka)
{
    set_paused(kafka, 1);
}

void dp_kafka_resume_all(dp_kafka_t *kafka)
{
    set_paused(kafka, 0);
}

int dp_kafka_is_paused(const dp_kafka_t *kafka)
{
    return kafka->paused;
}

rd_kafka_topic_partition_list_t *dp_kafka_assignment(dp_kafka_t *kafka)
{
    rd_kafka_topic_partition_list_t *assigned = NULL;

    if (rd_kafka_assignment(kafka->rk, &assigned) || !assigned)
        return NULL;
    if (assigned->cnt == 0) {
        rd_kafka_topic_partition_list_destroy(assigned);
        return NULL;
    }
    return assigned;
}

rd_kafka_t *dp_kafka_handle(dp_kafka_t *kafka)
{
    return kafka->rk;
}

void dp_kafka_destroy(dp_kafka_t *kafka)
{
    if (!kafka)
        return;
    if (kafka->rk) {
        rd_kafka_consumer_close(kafka->rk);
        rd_kafka_destroy(kafka->rk);
    }
    if (kafka->stale)
        rd_kafka_topic_partition_list_destroy(kafka->stale);
    if (kafka->errored)
        rd_kafka_topic_partition_list_destroy(kafka->errored);
    free(kafka->incarnation);
    free(kafka->worker_id);
    free(kafka->group);
    free(kafka);
}
