/*
 * openflush: the flush being filled, and when to cut it (see openflush.h).
 */
#include "batch/openflush.h"

#include "core/clock.h"

/* Allocates the open flush (owned by o: dp_openflush_free, or handed over
 * before dp_openflush_next). */
static void open_flush(dp_openflush_t *o)
{
    o->flush = dp_flush_new(++o->seq, dp_clock_wall_us(), o->incarnation, o->cap);
    o->since_ms = 0;
    o->announced = 0;
}

void dp_openflush_init(dp_openflush_t *o, const dp_config_t *cfg, const char *incarnation)
{
    o->cfg = cfg;
    o->incarnation = incarnation;
    o->seq = 0;
    /* A flush never exceeds max_bytes, and the open flush plus the one
     * loading never exceed the budget (issue 11 item 7). */
    o->cap = (size_t)cfg->flush.max_bytes;
    if (o->cap > (size_t)(cfg->flush.memory_budget_bytes / 2))
        o->cap = (size_t)(cfg->flush.memory_budget_bytes / 2);
    open_flush(o);
}

void dp_openflush_next(dp_openflush_t *o)
{
    open_flush(o);
}

void dp_openflush_added(dp_openflush_t *o)
{
    if (o->since_ms == 0)
        o->since_ms = dp_clock_mono_ms();
}

void dp_openflush_drop(dp_openflush_t *o, const rd_kafka_topic_partition_list_t *parts)
{
    for (int i = 0; o->flush && i < parts->cnt; i++)
        dp_flush_drop_partition(o->flush, parts->elems[i].topic, parts->elems[i].partition);
}

size_t dp_openflush_new_tables(dp_openflush_t *o, const char **names, size_t max)
{
    size_t nt = dp_flush_ntables(o->flush), n = 0;

    if (o->announced > nt)
        o->announced = nt; /* a dropped partition emptied a table */
    while (o->announced < nt && n < max)
        names[n++] = dp_flush_table(o->flush, o->announced++, NULL);
    return n;
}

const char *dp_openflush_due(const dp_openflush_t *o)
{
    const dp_config_t *cfg = o->cfg;

    if (dp_flush_rows(o->flush) == 0)
        return NULL;
    if (dp_flush_max_table_rows(o->flush) >= cfg->flush.max_events)
        return "max_events";
    if ((int64_t)dp_flush_bytes(o->flush) >= cfg->flush.max_bytes || dp_flush_full(o->flush))
        return "max_bytes";
    if (o->since_ms && dp_clock_mono_ms() - o->since_ms >= cfg->flush.max_age_ms)
        return "max_age";
    return NULL;
}

void dp_openflush_free(dp_openflush_t *o)
{
    dp_flush_destroy(o->flush);
    o->flush = NULL;
}
