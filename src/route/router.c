/*
 * router: destination table per event (see router.h).
 *
 * Names live in an open-addressing hash table (FNV-1a, linear probing) that
 * never shrinks and holds at most max_names entries, so memory is bounded by
 * configuration whatever names arrive.
 */
#include "route/router.h"

#include "core/mem.h"
#include "route/tablename.h"

#include <stdlib.h>
#include <string.h>

#define TABLE_MAX_LEN DP_TABLENAME_TABLE_SIZE

typedef struct name_entry {
    char *name; /* owned; NULL = empty slot */
    size_t name_len;
    char table[TABLE_MAX_LEN]; /* evt_<name> */
    int64_t shared;            /* group-wide count in the window */
    int64_t local;             /* routed since the last take_local */
    int64_t inflight;          /* taken by take_local, its flush not yet loaded */
    int promoted;
} name_entry_t;

struct dp_router {
    dp_route_mode_t mode;
    int64_t threshold;
    char *shared_table;
    char *single_table;
    name_entry_t *slots;
    size_t nslots; /* power of two, >= 2 * max_names */
    size_t *used;  /* indexes of the filled slots, in insertion order */
    size_t count;
    size_t max_names;
    uint64_t untracked;
};

static uint64_t fnv1a(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL;

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

dp_router_t *dp_router_new(dp_route_mode_t mode, int64_t threshold, const char *shared_table,
                           const char *single_table, size_t max_names)
{
    dp_router_t *router = dp_calloc(1, sizeof(*router));
    size_t n = 16;

    router->mode = mode;
    router->threshold = mode == DP_ROUTE_PER_EVENT ? 0 : threshold;
    router->shared_table = dp_strdup(shared_table);
    router->single_table = dp_strdup(single_table ? single_table : shared_table);
    router->max_names = max_names ? max_names : 1;
    while (n < 2 * router->max_names)
        n <<= 1;
    router->nslots = n;
    router->slots = dp_calloc(n, sizeof(*router->slots));
    router->used = dp_calloc(router->max_names, sizeof(*router->used));
    return router;
}

void dp_router_destroy(dp_router_t *router)
{
    if (!router)
        return;
    for (size_t i = 0; i < router->count; i++)
        free(router->slots[router->used[i]].name);
    free(router->slots);
    free(router->used);
    free(router->shared_table);
    free(router->single_table);
    free(router);
}

/* Finds name; inserts it when absent and there is room (create). Returns
 * NULL when absent and not created. */
static name_entry_t *lookup(dp_router_t *router, const char *name, size_t len, int create,
                            dp_err_t *err, int *invalid)
{
    size_t mask = router->nslots - 1;
    size_t i = (size_t)fnv1a(name, len) & mask;
    name_entry_t *e;

    *invalid = 0;
    for (;; i = (i + 1) & mask) {
        e = &router->slots[i];
        if (!e->name)
            break;
        if (e->name_len == len && memcmp(e->name, name, len) == 0)
            return e;
    }
    if (!create || router->count >= router->max_names)
        return NULL;
    if (dp_tablename_for_event(name, len, e->table, sizeof(e->table), err) < 0) {
        *invalid = 1;
        return NULL;
    }
    e->name = dp_strndup(name, len);
    e->name_len = len;
    router->used[router->count++] = i;
    return e;
}

int dp_router_route(dp_router_t *router, const char *name, size_t len, const char **table,
                    dp_err_t *err)
{
    char scratch[TABLE_MAX_LEN];
    name_entry_t *e;
    int invalid;

    e = lookup(router, name, len, 1, err, &invalid);
    if (invalid)
        return DP_EINVAL;
    if (!e) {
        /* Beyond max_names: still validate, then use the shared table. */
        if (dp_tablename_for_event(name, len, scratch, sizeof(scratch), err) < 0)
            return DP_EINVAL;
        router->untracked++;
        *table = router->mode == DP_ROUTE_SINGLE ? router->single_table : router->shared_table;
        return 0;
    }
    e->local++;
    if (router->mode == DP_ROUTE_SINGLE) {
        *table = router->single_table;
        return 0;
    }
    if (!e->promoted && e->shared + e->inflight + e->local > router->threshold)
        e->promoted = 1;
    *table = e->promoted ? e->table : router->shared_table;
    return 0;
}

void dp_router_apply_shared(dp_router_t *router, const char *name, int64_t count, int table_exists)
{
    name_entry_t *e;
    int invalid;

    e = lookup(router, name, strlen(name), 1, NULL, &invalid);
    if (!e)
        return;
    e->shared = count;
    if (table_exists || (router->mode != DP_ROUTE_SINGLE && e->shared > router->threshold))
        e->promoted = 1;
}

void dp_router_take_local(dp_router_t *router,
                          void (*visit)(void *ctx, const char *name, int64_t count), void *ctx)
{
    /* Only the filled slots: the table is sized for max_names and mostly
     * empty, and walking it all at every cut touched tens of MiB. */
    for (size_t k = 0; k < router->count; k++) {
        name_entry_t *e = &router->slots[router->used[k]];

        if (e->local > 0) {
            visit(ctx, e->name, e->local);
            e->inflight += e->local;
            e->local = 0;
        }
    }
}

void dp_router_add_shared(dp_router_t *router, const char *name, int64_t count)
{
    int invalid;
    name_entry_t *e = lookup(router, name, strlen(name), 0, NULL, &invalid);

    if (!e)
        return;
    e->inflight = e->inflight > count ? e->inflight - count : 0;
    e->shared += count;
}

void dp_router_release(dp_router_t *router, const char *name, int64_t count)
{
    int invalid;
    name_entry_t *e = lookup(router, name, strlen(name), 0, NULL, &invalid);

    if (e)
        e->inflight = e->inflight > count ? e->inflight - count : 0;
}

int dp_router_is_promoted(const dp_router_t *router, const char *name)
{
    size_t mask = router->nslots - 1;
    size_t len = strlen(name);

    for (size_t i = (size_t)fnv1a(name, len) & mask; router->slots[i].name; i = (i + 1) & mask) {
        if (strcmp(router->slots[i].name, name) == 0)
            return router->slots[i].promoted;
    }
    return 0;
}

uint64_t dp_router_untracked(const dp_router_t *router)
{
    return router->untracked;
}
