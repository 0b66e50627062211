/*
 * ingest: decode, validate, route, append (see ingest.h).
 */
#include "batch/ingest.h"

#include "batch/sysrows.h"
#include "codec/decode.h"
#include "codec/registry.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "load/loadops.h"
#include "ops/metrics.h"
#include "route/router.h"

#include <stdio.h>
#include <stdlib.h>

#define MAX_NAMES 100000

struct dp_ingest {
    const dp_config_t *cfg;
    dp_decoder_t *dec;
    dp_registry_t *registry; /* NULL without schemas.registry_url */
    dp_decode_scratch_t scratch;
    int scratch_ready;
    dp_router_t *router;
    int ready;        /* routing may start (dp_ingest_ready) */
    dp_buf_t errbody; /* scratch for event_errors bodies */
};

/* Allocates the object and its decoder, registry client, router and
 * scratch buffers, all owned by it (dp_ingest_destroy frees them). */
dp_ingest_t *dp_ingest_new(const dp_config_t *cfg, dp_err_t *err)
{
    dp_ingest_t *in = dp_calloc(1, sizeof(*in));

    in->cfg = cfg;
    /* Only the threshold needs the group's counts before routing. */
    in->ready = cfg->routing.mode != DP_ROUTE_THRESHOLD;
    dp_buf_init(&in->errbody, 2 * DP_SYSROWS_RAW_MAX);
    in->router = dp_router_new((dp_route_mode_t)cfg->routing.mode, cfg->routing.threshold,
                               cfg->routing.shared_table, cfg->routing.single_table, MAX_NAMES);
    if (!(in->dec = dp_decoder_open(cfg->schemas.dir, err)))
        goto fail;
    in->registry = dp_registry_from_config(cfg, err);
    if (!in->registry && err->code != DP_OK)
        goto fail;
    for (size_t i = 0; i < cfg->schemas.fixed_writer_schema_ids.n; i++) {
        const dp_config_pair_t *p = &cfg->schemas.fixed_writer_schema_ids.items[i];

        if (dp_decoder_set_topic_schema(in->dec, p->key, (uint32_t)p->num, err) < 0)
            goto fail;
    }
    dp_decode_scratch_init(&in->scratch, DP_DECODE_DEFAULT_MAX_MESSAGE * 2);
    in->scratch_ready = 1;
    return in;
fail:
    dp_ingest_destroy(in);
    return NULL;
}

void dp_ingest_destroy(dp_ingest_t *in)
{
    if (!in)
        return;
    if (in->scratch_ready)
        dp_decode_scratch_free(&in->scratch);
    dp_decoder_destroy(in->dec);
    dp_registry_destroy(in->registry);
    dp_router_destroy(in->router);
    dp_buf_free(&in->errbody);
    free(in);
}

int dp_ingest_ready(const dp_ingest_t *in)
{
    return in->ready;
}

struct stat_acc {
    dp_loader_stat_t *items; /* owned by the accumulator until handed to the caller */
    size_t n, cap;
};

/* Appends one count (its name copied) to the accumulator, growing it. */
static void take_stat(void *ctx, const char *name, int64_t count)
{
    struct stat_acc *acc = ctx;

    if (acc->n == acc->cap) {
        acc->cap = acc->cap ? acc->cap * 2 : 32;
        acc->items = dp_realloc(acc->items, acc->cap * sizeof(*acc->items));
    }
    acc->items[acc->n].name = dp_strdup(name);
    acc->items[acc->n].count = count;
    acc->items[acc->n].table_exists = 0;
    acc->n++;
}

dp_loader_stat_t *dp_ingest_take_counts(dp_ingest_t *in, size_t *n)
{
    struct stat_acc acc = {NULL, 0, 0};

    dp_router_take_local(in->router, take_stat, &acc);
    *n = acc.n;
    return acc.items;
}

void dp_ingest_add_loaded(dp_ingest_t *in, dp_loader_stat_t *stats, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dp_router_add_shared(in->router, stats[i].name, stats[i].count);
    dp_loader_stats_free(stats, n);
}

void dp_ingest_release(dp_ingest_t *in, dp_loader_stat_t *stats, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dp_router_release(in->router, stats[i].name, stats[i].count);
    dp_loader_stats_free(stats, n);
}

void dp_ingest_apply_shared(dp_ingest_t *in, dp_loader_stat_t *shared, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dp_router_apply_shared(in->router, shared[i].name, shared[i].count, shared[i].table_exists);
    dp_loader_stats_free(shared, n);
    if (!in->ready && shared) {
        in->ready = 1;
        dp_log(DP_LOG_INFO, "worker", "routing ready: %zu event name(s) known to the group", n);
    }
}

/* Appends the event_errors record of a rejected message. */
static int add_error(dp_ingest_t *in, dp_flush_t *flush, const rd_kafka_message_t *msg,
                     const char *code, const char *message, dp_err_t *err)
{
    dp_buf_reset(&in->errbody);
    if (dp_sysrows_error(&in->errbody, code, message, msg->payload, msg->len, in->cfg->worker.id,
                         err) < 0)
        return DP_ETOOBIG;
    return dp_flush_add(flush, DP_ERRORS_TABLE, rd_kafka_topic_name(msg->rkt), msg->partition,
                        msg->offset, rd_kafka_message_timestamp(msg, NULL),
                        dp_buf_data(&in->errbody), dp_buf_len(&in->errbody), err);
}

/* Decodes a message; a schema id that is not loaded is asked from the
 * registry, added to the decoder, and the message decoded again. Returns 0,
 * DP_EINVAL (rejected: dec->reject), or DP_EAGAIN when the registry is
 * unavailable: the message is valid as far as we know, so it is held. */
static int decode(dp_ingest_t *in, const char *topic, const rd_kafka_message_t *msg,
                  dp_decoded_t *dec, dp_err_t *err)
{
    int rc = dp_decode_message(in->dec, topic, msg->payload, msg->len, dec, &in->scratch, err);

    if (rc == 0 || !in->registry || dec->reject.code != DP_REJ_UNKNOWN_SCHEMA_ID)
        return rc;
    rc = dp_registry_load_into(in->registry, in->dec, dec->schema_id, err);
    if (rc == DP_EAGAIN)
        return rc;
    if (rc == 0)
        return dp_decode_message(in->dec, topic, msg->payload, msg->len, dec, &in->scratch, err);
    dp_reject_set(&dec->reject,
                  rc == DP_ENOTFOUND ? DP_REJ_UNKNOWN_SCHEMA_ID : DP_REJ_INCOMPATIBLE_SCHEMA, "$",
                  "%s", err->msg);
    return DP_EINVAL;
}

int dp_ingest_add(dp_ingest_t *in, dp_flush_t *flush, const rd_kafka_message_t *msg, int *rejected,
                  dp_err_t *err)
{
    const char *topic = rd_kafka_topic_name(msg->rkt);
    const char *table = NULL;
    dp_decoded_t dec;
    char reason[600];
    int rc;

    *rejected = 0;
    if ((rc = decode(in, topic, msg, &dec, err)) == DP_EAGAIN)
        return rc;
    if (rc < 0) {
        snprintf(reason, sizeof(reason), "%s: %s", dec.reject.path, dec.reject.reason);
        if ((rc = add_error(in, flush, msg, dp_reject_name(dec.reject.code), reason, err)) == 0) {
            *rejected = 1;
            dp_metrics_reject(dec.reject.code);
        }
        return rc;
    }
    if (dp_router_route(in->router, dec.ev.event_name.ptr, dec.ev.event_name.len, &table, err) <
        0) {
        snprintf(reason, sizeof(reason), "$.event_name: %s", err->msg);
        if ((rc = add_error(in, flush, msg, "BAD_EVENT_NAME", reason, err)) == 0) {
            *rejected = 1;
            dp_metrics_reject(DP_REJ_BAD_EVENT_NAME);
        }
        return rc;
    }
    return dp_flush_add(flush, table, topic, msg->partition, msg->offset,
                        rd_kafka_message_timestamp(msg, NULL), dec.body, dec.body_len, err);
}
