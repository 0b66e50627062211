/*
 * Unit tests of router: threshold promotion, stickiness, modes, bounds.
 */
#include "dp_test.h"
#include "route/router.h"

#include <stdint.h>
#include <string.h>

static const char *route(dp_router_t *router, const char *name)
{
    const char *table = NULL;
    dp_err_t err;

    if (dp_router_route(router, name, strlen(name), &table, &err) < 0)
        return NULL;
    return table;
}

static void test_router_threshold_promotes_after_exceeding(void)
{
    dp_router_t *router = dp_router_new(DP_ROUTE_THRESHOLD, 3, "evt_otherevents", NULL, 100);
    const char *t;

    for (int i = 1; i <= 3; i++) {
        t = route(router, "add_to_cart");
        DP_ASSERT_MSG(t && strcmp(t, "evt_otherevents") == 0,
                      "event %d: expected evt_otherevents (count not above 3), got %s", i,
                      t ? t : "(error)");
    }
    t = route(router, "add_to_cart");
    DP_ASSERT_MSG(t && strcmp(t, "evt_add_to_cart") == 0,
                  "4th event: expected evt_add_to_cart, got %s", t ? t : "(error)");
    DP_ASSERT_MSG(dp_router_is_promoted(router, "add_to_cart"), "expected promoted");
    DP_ASSERT_MSG(!dp_router_is_promoted(router, "purchase"), "unseen name promoted");
    dp_router_destroy(router);
}

static void test_router_shared_counts_from_other_workers_promote(void)
{
    dp_router_t *router = dp_router_new(DP_ROUTE_THRESHOLD, 10, "evt_otherevents", NULL, 100);
    const char *t;

    dp_router_apply_shared(router, "purchase", 10, 0);
    t = route(router, "purchase");
    DP_ASSERT_MSG(t && strcmp(t, "evt_purchase") == 0,
                  "10 shared + 1 local > 10: expected evt_purchase, got %s", t ? t : "(error)");
    dp_router_apply_shared(router, "refund", 0, 1);
    t = route(router, "refund");
    DP_ASSERT_MSG(t && strcmp(t, "evt_refund") == 0,
                  "existing table is sticky: expected evt_refund, got %s", t ? t : "(error)");
    /* A later re-read with a lower count (window slid) keeps the promotion. */
    dp_router_apply_shared(router, "purchase", 0, 0);
    t = route(router, "purchase");
    DP_ASSERT_MSG(t && strcmp(t, "evt_purchase") == 0, "promotion not sticky: got %s",
                  t ? t : "(error)");
    dp_router_destroy(router);
}

struct taken {
    char names[8][64];
    int64_t counts[8];
    int n;
};

static void visit(void *ctx, const char *name, int64_t count)
{
    struct taken *tk = ctx;

    if (tk->n < 8) {
        snprintf(tk->names[tk->n], sizeof(tk->names[0]), "%s", name);
        tk->counts[tk->n++] = count;
    }
}

static void test_router_take_local_resets_counts(void)
{
    dp_router_t *router = dp_router_new(DP_ROUTE_THRESHOLD, 1000, "evt_otherevents", NULL, 100);
    struct taken tk = {0};

    for (int i = 0; i < 5; i++)
        route(router, "page_view");
    route(router, "search");
    dp_router_take_local(router, visit, &tk);
    DP_ASSERT_FATAL_MSG(tk.n == 2, "expected 2 names taken, got %d", tk.n);
    for (int i = 0; i < tk.n; i++) {
        int64_t want = strcmp(tk.names[i], "page_view") == 0 ? 5 : 1;

        DP_ASSERT_MSG(tk.counts[i] == want, "%s: expected %lld, got %lld", tk.names[i],
                      (long long)want, (long long)tk.counts[i]);
    }
    tk.n = 0;
    dp_router_take_local(router, visit, &tk);
    DP_ASSERT_MSG(tk.n == 0, "expected nothing after a take, got %d names", tk.n);
    dp_router_destroy(router);
}

/* Counts taken for a flush keep counting while it loads: the 21st event of a
 * name with threshold 20 is promoted whether the first 20 are routed, in
 * flight or loaded; a flush that is not loaded gives its counts back. */
static void test_router_counts_in_flight_keep_counting(void)
{
    dp_router_t *router = dp_router_new(DP_ROUTE_THRESHOLD, 20, "evt_otherevents", NULL, 100);
    dp_router_t *fenced = dp_router_new(DP_ROUTE_THRESHOLD, 20, "evt_otherevents", NULL, 100);
    struct taken tk = {0};
    const char *t;

    for (int i = 0; i < 20; i++) {
        route(router, "purchase");
        route(fenced, "purchase");
    }
    dp_router_take_local(router, visit, &tk);
    DP_ASSERT_FATAL_MSG(tk.n == 1 && tk.counts[0] == 20, "expected purchase 20 taken");
    t = route(router, "purchase");
    DP_ASSERT_MSG(t && strcmp(t, "evt_purchase") == 0,
                  "20 in flight + 1 > 20: expected evt_purchase, got %s", t ? t : "(error)");
    dp_router_add_shared(router, "purchase", 20);
    tk.n = 0;
    dp_router_take_local(router, visit, &tk);
    DP_ASSERT_MSG(tk.n == 1 && tk.counts[0] == 1, "expected the 21st alone taken");

    tk.n = 0;
    dp_router_take_local(fenced, visit, &tk);
    dp_router_release(fenced, "purchase", 20);
    t = route(fenced, "purchase");
    DP_ASSERT_MSG(t && strcmp(t, "evt_otherevents") == 0,
                  "released counts still counted: expected evt_otherevents, got %s",
                  t ? t : "(error)");
    dp_router_destroy(router);
    dp_router_destroy(fenced);
}

static void test_router_rejects_bad_names_and_modes(void)
{
    dp_router_t *single = dp_router_new(DP_ROUTE_SINGLE, 0, "evt_otherevents", "events_all", 10);
    dp_router_t *per = dp_router_new(DP_ROUTE_PER_EVENT, 12345, "evt_otherevents", NULL, 10);
    const char *t;
    const char *bad[] = {"Purchase", "add-to-cart", "", "9lives", "a b", NULL};

    t = route(single, "purchase");
    DP_ASSERT_MSG(t && strcmp(t, "events_all") == 0, "single: got %s", t ? t : "(error)");
    t = route(per, "purchase");
    DP_ASSERT_MSG(t && strcmp(t, "evt_purchase") == 0, "per_event: got %s", t ? t : "(error)");
    for (int i = 0; bad[i]; i++) {
        DP_ASSERT_MSG(route(per, bad[i]) == NULL, "bad name '%s' was routed", bad[i]);
        DP_ASSERT_MSG(route(single, bad[i]) == NULL, "single: bad name '%s' was routed", bad[i]);
    }
    dp_router_destroy(single);
    dp_router_destroy(per);
}

static void test_router_bounds_distinct_names(void)
{
    dp_router_t *router = dp_router_new(DP_ROUTE_PER_EVENT, 0, "evt_otherevents", NULL, 4);
    char name[32];
    const char *t = NULL;

    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof(name), "name_%d", i);
        t = route(router, name);
    }
    DP_ASSERT_MSG(t && strcmp(t, "evt_otherevents") == 0,
                  "name beyond max_names: expected the shared table, got %s", t ? t : "(error)");
    DP_ASSERT_MSG(dp_router_untracked(router) == 6, "expected 6 untracked events, got %llu",
                  (unsigned long long)dp_router_untracked(router));
    dp_router_destroy(router);
}

static const dp_test_case_t cases[] = {
    {"test_router_threshold_promotes_after_exceeding",
     test_router_threshold_promotes_after_exceeding},
    {"test_router_shared_counts_from_other_workers_promote",
     test_router_shared_counts_from_other_workers_promote},
    {"test_router_take_local_resets_counts", test_router_take_local_resets_counts},
    {"test_router_counts_in_flight_keep_counting", test_router_counts_in_flight_keep_counting},
    {"test_router_rejects_bad_names_and_modes", test_router_rejects_bad_names_and_modes},
    {"test_router_bounds_distinct_names", test_router_bounds_distinct_names},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    const dp_test_suite_t suites[] = {{"router", NULL, NULL, cases}, {NULL, NULL, NULL, NULL}};

    return dp_test_main(argc, argv, suites);
}
