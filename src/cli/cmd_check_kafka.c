/*
 * cmd_check_kafka: the Kafka part of `deltaport check` (see cmd_check.c).
 */
#include "cli/cmd_check_int.h"

#include <librdkafka/rdkafka.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------- */
/* 2. Kafka                                                                  */
/* ------------------------------------------------------------------------- */

#define KAFKA_ERR_LEN 512

/* Keeps librdkafka's last error text (opaque: char[KAFKA_ERR_LEN]). */
static void kafka_error_cb(rd_kafka_t *rk, int code, const char *reason, void *opaque)
{
    (void)rk;
    snprintf(opaque, KAFKA_ERR_LEN, "%s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)code), reason);
}

/* librdkafka's own log lines would interleave with the report; the error
 * callback keeps what matters for the FAIL line. */
static void kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    (void)level;
    (void)fac;
    (void)buf;
}

/* A consumer-type handle with the user's properties and no group.id: it can
 * read metadata but never joins the group. Returns new or NULL (err). */
static rd_kafka_t *kafka_open(const check_t *ck, char *last, dp_err_t *err)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk = NULL;
    char errstr[512];

    if (rd_kafka_conf_set(conf, "bootstrap.servers", ck->cfg->kafka.bootstrap_servers, errstr,
                          sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        dp_err_set(err, DP_EINVAL, 0, "kafka.bootstrap_servers: %s", errstr);
        goto out;
    }
    if (dp_config_apply_kafka(ck->cfg, conf, err) < 0)
        goto out;
    rd_kafka_conf_set_error_cb(conf, kafka_error_cb);
    rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
    rd_kafka_conf_set_opaque(conf, last);
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (!rk) {
        dp_err_set(err, DP_EINVAL, 0, "rd_kafka_new: %s", errstr);
        goto out;
    }
    conf = NULL; /* owned by rk now */
out:
    if (conf)
        rd_kafka_conf_destroy(conf);
    return rk;
}

static const rd_kafka_metadata_topic_t *find_topic(const rd_kafka_metadata_t *md, const char *name)
{
    for (int i = 0; i < md->topic_cnt; i++) {
        if (strcmp(md->topics[i].topic, name) == 0)
            return &md->topics[i];
    }
    return NULL;
}

static void check_topic(check_t *ck, const rd_kafka_metadata_t *md, const char *name)
{
    const rd_kafka_metadata_topic_t *t = find_topic(md, name);
    char what[300];

    snprintf(what, sizeof(what), "kafka topic %s", name);
    if (!t || t->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        dp_check__report(
            ck, ST_FAIL, what,
            "topic %s does not exist in the cluster; fix: create it, or correct kafka.topics",
            name);
    } else if (t->err) {
        dp_check__report(ck, ST_FAIL, what,
                         "%s; fix: allow the client Describe and Read on topic %s",
                         rd_kafka_err2str(t->err), name);
    } else {
        dp_check__report(ck, ST_OK, what, "%d partition%s", t->partition_cnt,
                         t->partition_cnt == 1 ? "" : "s");
    }
}

/* Lists the topics topic_regex matches (internal "__" topics excluded). */
static void check_regex(check_t *ck, const rd_kafka_metadata_t *md)
{
    const char *rx = ck->cfg->kafka.topic_regex;
    char what[300], list[1024];
    size_t len = 0;
    int n = 0;
    regex_t re;

    snprintf(what, sizeof(what), "kafka topics %s", rx);
    if (regcomp(&re, rx, REG_EXTENDED | REG_NOSUB) != 0) {
        dp_check__report(ck, ST_FAIL, what,
                         "not a POSIX regular expression; fix: kafka.topic_regex");
        return;
    }
    list[0] = '\0';
    for (int i = 0; i < md->topic_cnt; i++) {
        const rd_kafka_metadata_topic_t *t = &md->topics[i];

        if (strncmp(t->topic, "__", 2) == 0 || regexec(&re, t->topic, 0, NULL, 0) != 0)
            continue;
        if (len < sizeof(list))
            len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s (%d)", n ? ", " : "",
                                    t->topic, t->partition_cnt);
        n++;
    }
    regfree(&re);
    if (n == 0)
        dp_check__report(ck, ST_FAIL, what,
                         "no topic matches; fix: create one, or correct kafka.topic_regex");
    else
        dp_check__report(ck, ST_OK, what, "%d matching: %s", n, list);
}

void dp_check__kafka(check_t *ck)
{
    char last[KAFKA_ERR_LEN] = "";
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_t *rk = NULL;
    rd_kafka_resp_err_t kerr;
    dp_err_t err;

    dp_err_clear(&err);
    rk = kafka_open(ck, last, &err);
    if (!rk) {
        dp_check__report(ck, ST_FAIL, "kafka brokers", "%s; fix: correct kafka.properties",
                         err.msg);
        goto skip_topics;
    }
    kerr = rd_kafka_metadata(rk, 1, NULL, &md, KAFKA_TIMEOUT_MS);
    rd_kafka_poll(rk, 0); /* serve the error callback */
    if (kerr) {
        dp_check__report(
            ck, ST_FAIL, "kafka brokers",
            "no metadata from %s within %d s: %s%s%s; fix: check kafka.bootstrap_servers and "
            "the security settings in kafka.properties",
            ck->cfg->kafka.bootstrap_servers, KAFKA_TIMEOUT_MS / 1000, rd_kafka_err2str(kerr),
            last[0] ? "; " : "", last);
        goto skip_topics;
    }
    dp_check__report(ck, ST_OK, "kafka brokers", "%s answered: %d broker%s, %d topic%s",
                     ck->cfg->kafka.bootstrap_servers, md->broker_cnt,
                     md->broker_cnt == 1 ? "" : "s", md->topic_cnt, md->topic_cnt == 1 ? "" : "s");
    if (ck->cfg->kafka.topic_regex)
        check_regex(ck, md);
    for (size_t i = 0; i < ck->cfg->kafka.topics.n; i++)
        check_topic(ck, md, ck->cfg->kafka.topics.items[i]);
    goto out;
skip_topics:
    dp_check__skip(ck, "kafka topics", "kafka brokers");
out:
    if (md)
        rd_kafka_metadata_destroy(md);
    if (rk)
        rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
}
