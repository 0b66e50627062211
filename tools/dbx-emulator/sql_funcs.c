/*
 * sql_funcs: SQL functions the engine adds to SQLite for Databricks functions
 * SQLite lacks: the aggregates max_by(x, y) and min_by(x, y): the value
 * of x on the row where y is largest (smallest). Rows whose y is NULL are
 * ignored, x may be NULL, and a group without a non-NULL y gives NULL, as in
 * Spark. Ties keep the first row seen (Databricks calls the choice
 * non-deterministic). y is compared in SQLite's order: numbers, then text,
 * then blobs. And greatest(...) / least(...) (emu_greatest, emu_least), which,
 * unlike SQLite's max()/min() of several arguments, skip NULL arguments as Spark
 * does (NULL only when all are NULL). The casts (sql_cast.c) and the decimal
 * arithmetic (sql_decimal.c) register themselves from here too.
 */
#define _POSIX_C_SOURCE 200809L
#include "engine_int.h"

#include <string.h>

typedef struct by_state {
    sqlite3_value *x, *y; /* the best row so far (owned copies) */
} by_state_t;

static const int k_max = 1, k_min = -1;

static int rank(int type)
{
    switch (type) {
    case SQLITE_INTEGER:
    case SQLITE_FLOAT:
        return 1;
    case SQLITE_TEXT:
        return 2;
    case SQLITE_BLOB:
        return 3;
    default:
        return 0;
    }
}

/* <0, 0, >0 as a sorts before, with or after b (neither is NULL). */
static int compare(sqlite3_value *a, sqlite3_value *b)
{
    int ta = sqlite3_value_type(a), tb = sqlite3_value_type(b), n, c;
    double da, db;

    if (rank(ta) != rank(tb)) {
        return rank(ta) - rank(tb);
    }
    if (ta == SQLITE_INTEGER && tb == SQLITE_INTEGER) {
        sqlite3_int64 ia = sqlite3_value_int64(a), ib = sqlite3_value_int64(b);
        return ia < ib ? -1 : ia > ib;
    }
    if (rank(ta) == 1) {
        da = sqlite3_value_double(a);
        db = sqlite3_value_double(b);
        return da < db ? -1 : da > db;
    }
    n = sqlite3_value_bytes(a) < sqlite3_value_bytes(b) ? sqlite3_value_bytes(a)
                                                        : sqlite3_value_bytes(b);
    c = memcmp(ta == SQLITE_TEXT ? (const void *)sqlite3_value_text(a) : sqlite3_value_blob(a),
               tb == SQLITE_TEXT ? (const void *)sqlite3_value_text(b) : sqlite3_value_blob(b),
               (size_t)n);
    return c != 0 ? c : sqlite3_value_bytes(a) - sqlite3_value_bytes(b);
}

static void by_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    int dir = *(const int *)sqlite3_user_data(ctx);
    by_state_t *st;
    sqlite3_value *x, *y;

    if (argc != 2 || sqlite3_value_type(argv[1]) == SQLITE_NULL) {
        return;
    }
    st = sqlite3_aggregate_context(ctx, (int)sizeof(*st));
    if (st == NULL) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    if (st->y != NULL && dir * compare(argv[1], st->y) <= 0) {
        return;
    }
    x = sqlite3_value_dup(argv[0]);
    y = sqlite3_value_dup(argv[1]);
    if (x == NULL || y == NULL) {
        sqlite3_value_free(x);
        sqlite3_value_free(y);
        sqlite3_result_error_nomem(ctx);
        return;
    }
    sqlite3_value_free(st->x);
    sqlite3_value_free(st->y);
    st->x = x;
    st->y = y;
}

static void by_final(sqlite3_context *ctx)
{
    by_state_t *st = sqlite3_aggregate_context(ctx, 0);

    if (st == NULL || st->x == NULL) {
        sqlite3_result_null(ctx);
    } else {
        sqlite3_result_value(ctx, st->x);
    }
    if (st != NULL) {
        sqlite3_value_free(st->x);
        sqlite3_value_free(st->y);
        st->x = NULL;
        st->y = NULL;
    }
}

static void extreme(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    int dir = *(const int *)sqlite3_user_data(ctx), k;
    sqlite3_value *best = NULL;

    for (k = 0; k < argc; k++) {
        if (sqlite3_value_type(argv[k]) == SQLITE_NULL) {
            continue;
        }
        if (best == NULL || dir * compare(argv[k], best) > 0) {
            best = argv[k];
        }
    }
    if (best == NULL) {
        sqlite3_result_null(ctx);
    } else {
        sqlite3_result_value(ctx, best);
    }
}

int emu_sql_register_functions(sqlite3 *db)
{
    int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC;

    if (sqlite3_create_function_v2(db, "emu_max_by", 2, flags, (void *)&k_max, NULL, by_step,
                                   by_final, NULL) != SQLITE_OK ||
        sqlite3_create_function_v2(db, "emu_min_by", 2, flags, (void *)&k_min, NULL, by_step,
                                   by_final, NULL) != SQLITE_OK ||
        sqlite3_create_function_v2(db, "emu_greatest", -1, flags, (void *)&k_max, extreme, NULL,
                                   NULL, NULL) != SQLITE_OK ||
        sqlite3_create_function_v2(db, "emu_least", -1, flags, (void *)&k_min, extreme, NULL, NULL,
                                   NULL) != SQLITE_OK ||
        emu_sql_register_cast(db) != 0 || emu_sql_register_decimal(db) != 0) {
        return -1;
    }
    return 0;
}
