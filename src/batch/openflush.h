/*
 * openflush: the flush the poll thread is filling, and when to cut it. A
 * flush is cut when a table reaches flush.max_events, when it holds
 * flush.max_bytes (or is full), or when its oldest record is
 * flush.max_age_ms old. Its byte cap is flush.max_bytes, at most half of
 * flush.memory_budget_bytes: the open flush plus the one loading never
 * exceed the budget.
 *
 * Thread: the poll thread.
 */
#ifndef DP_OPENFLUSH_H
#define DP_OPENFLUSH_H

#include "batch/flush.h"
#include "config/config.h"

#include <librdkafka/rdkafka.h>

#include <stddef.h>
#include <stdint.h>

typedef struct dp_openflush {
    dp_flush_t *flush;       /* owned: the open flush (NULL before dp_openflush_init) */
    uint64_t seq;            /* its sequence number */
    long long since_ms;      /* monotonic time of its first record, 0 while it has none */
    size_t cap;              /* byte cap of one flush */
    const dp_config_t *cfg;  /* borrowed */
    const char *incarnation; /* borrowed: written into every flush's records */
    size_t announced;        /* tables of the open flush dp_openflush_new_tables gave */
} dp_openflush_t;

/* Opens the first flush (allocated, owned by o until handed over). cfg and
 * incarnation are borrowed for o's life. A zeroed o that was never
 * initialized may be freed. */
void dp_openflush_init(dp_openflush_t *o, const dp_config_t *cfg, const char *incarnation);

/* The open flush was handed over (the loader owns it now): opens the next. */
void dp_openflush_next(dp_openflush_t *o);

/* A record was appended: the flush's age starts at its first one. */
void dp_openflush_added(dp_openflush_t *o);

/* Drops the open flush's records of the partitions of parts (they are read
 * again: after a seek, or by the next owner). */
void dp_openflush_drop(dp_openflush_t *o, const rd_kafka_topic_partition_list_t *parts);

/* Why the open flush is due to be cut ("max_events", "max_bytes",
 * "max_age"), or NULL when it is not (or holds no row). */
const char *dp_openflush_due(const dp_openflush_t *o);

/* The tables the open flush has begun to fill since the last call (names
 * borrowed from the flush, at most max into names); returns their count. */
size_t dp_openflush_new_tables(dp_openflush_t *o, const char **names, size_t max);

/* Destroys the open flush. */
void dp_openflush_free(dp_openflush_t *o);

#endif
