/*
 * router: decides the destination table of each event (README.md, "How a
 * worker loads"; docs/STAGING.md, "Table names").
 *
 * Modes:
 *   threshold  an event name gets its own table `evt_<name>` once it has been
 *              seen more than `threshold` times within the window (counts of
 *              every worker of the group, read from Databricks' event_stats
 *              table, plus this worker's counts not yet loaded); until then
 *              its events go to the shared table. Promotion is sticky: a name
 *              whose table exists keeps it.
 *   per_event  every valid name gets its own table (threshold 0).
 *   single     every event goes to one table.
 * Event names become table names only through dp_tablename_for_event().
 *
 * Memory is bounded: at most max_names distinct names are tracked; events of
 * further names go to the shared table (threshold mode) and are counted in
 * dp_router_untracked().
 *
 * Thread: not thread-safe; the poll thread owns the router. Counts loaded by
 * the loader thread are handed over through dp_router_apply_shared().
 */
#ifndef DP_ROUTER_H
#define DP_ROUTER_H

#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
    DP_ROUTE_THRESHOLD = 0,
    DP_ROUTE_PER_EVENT = 1,
    DP_ROUTE_SINGLE = 2,
} dp_route_mode_t;

typedef struct dp_router dp_router_t;

/* Creates a router. shared_table and single_table are copied (they must be
 * valid identifiers; the caller checked them). Returns new (free with
 * dp_router_destroy). */
dp_router_t *dp_router_new(dp_route_mode_t mode, int64_t threshold, const char *shared_table,
                           const char *single_table, size_t max_names);

void dp_router_destroy(dp_router_t *router);

/* Routes one event by name: *table receives a borrowed, NUL-terminated table
 * name valid until the router is destroyed, and the name's local count is
 * incremented. Returns 0, or DP_EINVAL (the name is not a valid snake_case
 * name of at most 100 characters; err says why; the event belongs in
 * event_errors). */
int dp_router_route(dp_router_t *router, const char *name, size_t len, const char **table,
                    dp_err_t *err);

/* Sets the group-wide count of name within the window (from event_stats) and,
 * when table_exists, marks it promoted (sticky). Names not mentioned keep
 * their previous values. */
void dp_router_apply_shared(dp_router_t *router, const char *name, int64_t count, int table_exists);

/* Visits the counts routed since the last dp_router_take_local() and moves
 * them to the name's in-flight count: the caller stages them as event_stats
 * rows of a flush. Routing counts them until dp_router_add_shared() (loaded)
 * or dp_router_release() (not loaded) takes them out, so that a name does not
 * fall back under the threshold while its flush loads. visit receives
 * borrowed strings. */
void dp_router_take_local(dp_router_t *router,
                          void (*visit)(void *ctx, const char *name, int64_t count), void *ctx);

/* Folds counts taken by dp_router_take_local() back in as shared counts once
 * their flush is loaded (so that this worker's own counts keep counting until
 * the next re-read of event_stats). */
void dp_router_add_shared(dp_router_t *router, const char *name, int64_t count);

/* Takes counts of dp_router_take_local() out of the in-flight count without
 * adding them: their flush was not loaded (fenced), and its events are read
 * again and routed anew. */
void dp_router_release(dp_router_t *router, const char *name, int64_t count);

/* 1 when name has its own table. */
int dp_router_is_promoted(const dp_router_t *router, const char *name);

/* Number of events of names beyond max_names. */
uint64_t dp_router_untracked(const dp_router_t *router);

#endif
