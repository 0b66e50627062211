/*
 * sql_decimal: exact DECIMAL arithmetic and comparison for the emulator's SQL (see
 * sql_decimal.h). The result type of each operation is decided by the translator
 * (sql_expr.c) with Spark's rules and passed in as (p, s); this file computes the value
 * exactly and checks that it fits.
 */
#define _POSIX_C_SOURCE 200809L
#include "sql_decimal.h"

#include "engine_int.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DIGITS 38

/* 10^n for 0 <= n <= 38. */
static emu_i128 pow10_i(int n)
{
    emu_i128 v = 1;

    while (n-- > 0) {
        v *= 10;
    }
    return v;
}

static emu_i128 abs_i(emu_i128 v)
{
    return v < 0 ? -v : v;
}

int emu_dec_parse(const char *s, emu_i128 *v, int *scale)
{
    emu_i128 acc = 0;
    int neg = 0, digits = 0, sc = 0, seen = 0, point = 0;

    while (isspace((unsigned char)*s)) {
        s++;
    }
    if (*s == '+' || *s == '-') {
        neg = *s++ == '-';
    }
    for (;; s++) {
        if (*s == '.' && !point) {
            point = 1;
            continue;
        }
        if (!isdigit((unsigned char)*s)) {
            break;
        }
        seen = 1;
        if (acc != 0 || *s != '0') {
            if (++digits > MAX_DIGITS) {
                return -1;
            }
        }
        if (point) {
            if (sc >= MAX_DIGITS) {
                return -1;
            }
            sc++;
        }
        acc = acc * 10 + (*s - '0');
    }
    while (isspace((unsigned char)*s)) {
        s++;
    }
    if (!seen || *s != '\0') {
        return -1;
    }
    *v = neg ? -acc : acc;
    *scale = sc;
    return 0;
}

int emu_dec_from_double(double d, char *out, size_t outlen)
{
    char buf[64], mant[64], *e, *eend = NULL;
    int prec, exp10, nd = 0, point = -1, k, o = 0, neg;

    if (isnan(d) || isinf(d)) {
        return -1;
    }
    for (prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*e", prec - 1, d);
        if (strtod(buf, NULL) == d) {
            break;
        }
    }
    /* buf is [-]d.ddde[+-]xx: collect the mantissa digits and the exponent */
    neg = buf[0] == '-';
    e = strchr(buf, 'e');
    if (e == NULL) {
        return -1;
    }
    exp10 = (int)strtol(e + 1, &eend, 10);
    if (eend == e + 1 || *eend != '\0') {
        return -1;
    }
    for (k = neg; buf + k < e; k++) {
        if (isdigit((unsigned char)buf[k])) {
            mant[nd++] = buf[k];
        }
    }
    while (nd > 1 && mant[nd - 1] == '0') {
        nd--; /* trailing zeros of the mantissa carry no value */
    }
    point = 1 + exp10; /* digits before the decimal point */
    if (outlen < (size_t)(nd + abs(exp10) + 8)) {
        return -1;
    }
    if (neg) {
        out[o++] = '-';
    }
    if (point <= 0) {
        out[o++] = '0';
        out[o++] = '.';
        for (k = 0; k < -point; k++) {
            out[o++] = '0';
        }
        for (k = 0; k < nd; k++) {
            out[o++] = mant[k];
        }
    } else {
        for (k = 0; k < point; k++) {
            out[o++] = k < nd ? mant[k] : '0';
        }
        if (nd > point) {
            out[o++] = '.';
            for (k = point; k < nd; k++) {
                out[o++] = mant[k];
            }
        }
    }
    out[o] = '\0';
    return 0;
}

int emu_dec_from_value(sqlite3_value *a, emu_i128 *v, int *scale)
{
    char buf[400];

    switch (sqlite3_value_type(a)) {
    case SQLITE_NULL:
        return 1;
    case SQLITE_INTEGER:
        *v = sqlite3_value_int64(a);
        *scale = 0;
        return 0;
    case SQLITE_FLOAT:
        if (emu_dec_from_double(sqlite3_value_double(a), buf, sizeof(buf)) != 0) {
            return -1;
        }
        return emu_dec_parse(buf, v, scale);
    case SQLITE_TEXT:
        return emu_dec_parse((const char *)sqlite3_value_text(a), v, scale);
    default:
        return -1;
    }
}

int emu_dec_rescale(emu_i128 v, int from, int to, emu_i128 *out)
{
    emu_i128 m, q, r;

    if (to >= from) {
        if (to - from > MAX_DIGITS || __builtin_mul_overflow(v, pow10_i(to - from), out)) {
            return -1;
        }
        return 0;
    }
    if (from - to > MAX_DIGITS) {
        *out = 0;
        return 0;
    }
    m = pow10_i(from - to);
    q = v / m;
    r = abs_i(v % m);
    if (r >= m - r) { /* r >= m/2 without overflow: HALF_UP */
        q += v < 0 ? -1 : 1;
    }
    *out = q;
    return 0;
}

int emu_dec_fits(emu_i128 v, int prec)
{
    return prec >= MAX_DIGITS + 1 || abs_i(v) < pow10_i(prec);
}

void emu_dec_text(emu_i128 v, int scale, char *out, size_t outlen)
{
    char digits[48];
    emu_i128 a = abs_i(v);
    int n = 0, o = 0, k;

    do {
        digits[n++] = (char)('0' + (int)(a % 10));
        a /= 10;
    } while (a != 0);
    while (n <= scale) {
        digits[n++] = '0'; /* at least one digit before the point */
    }
    if (outlen < (size_t)n + 3) {
        if (outlen > 0) {
            out[0] = '\0';
        }
        return;
    }
    if (v < 0) {
        out[o++] = '-';
    }
    for (k = n - 1; k >= 0; k--) {
        out[o++] = digits[k];
        if (k == scale && scale > 0) {
            out[o++] = '.';
        }
    }
    out[o] = '\0';
}

/* ------------------------------------------------------------------------ */
/* SQL functions                                                            */
/* ------------------------------------------------------------------------ */

static void out_of_range(sqlite3_context *ctx, emu_i128 v, int vscale, int p, int s)
{
    char num[48], msg[256];

    emu_dec_text(v, vscale, num, sizeof(num));
    snprintf(msg, sizeof(msg),
             "[NUMERIC_VALUE_OUT_OF_RANGE.WITH_SUGGESTION] %s cannot be represented as "
             "Decimal(%d, %d). If necessary set \"ANSI_MODE\" to \"false\" to bypass this error, "
             "and return NULL instead.",
             num, p, s);
    sqlite3_result_error(ctx, msg, -1);
}

static void too_wide(sqlite3_context *ctx)
{
    sqlite3_result_error(ctx,
                         "[ARITHMETIC_OVERFLOW] The decimal operation needs more than 38 digits "
                         "(the emulator computes decimals in 128 bits).",
                         -1);
}

static void not_a_number(sqlite3_context *ctx, sqlite3_value *a)
{
    char msg[300];

    snprintf(msg, sizeof(msg),
             "[CAST_INVALID_INPUT] The value '%.100s' of the type \"STRING\" cannot be cast to "
             "\"DECIMAL\" because it is malformed. Correct the value as per the syntax, or change "
             "its target type. Use `try_cast` to tolerate malformed input and return NULL instead.",
             sqlite3_value_text(a) != NULL ? (const char *)sqlite3_value_text(a) : "");
    sqlite3_result_error(ctx, msg, -1);
}

static void divide_by_zero(sqlite3_context *ctx)
{
    sqlite3_result_error(ctx,
                         "[DIVIDE_BY_ZERO] Division by zero. Use `try_divide` to tolerate divisor "
                         "being 0 and return NULL instead. If necessary set \"ANSI_MODE\" to "
                         "\"false\" to bypass this error.",
                         -1);
}

/* Reads two operands; returns 0, 1 when either is NULL (result NULL set), -1 on error (set). */
static int two(sqlite3_context *ctx, sqlite3_value **argv, emu_i128 *a, int *sa, emu_i128 *b,
               int *sb)
{
    int ra = emu_dec_from_value(argv[0], a, sa), rb = emu_dec_from_value(argv[1], b, sb);

    if (ra == 1 || rb == 1) {
        sqlite3_result_null(ctx);
        return 1;
    }
    if (ra < 0 || rb < 0) {
        not_a_number(ctx, ra < 0 ? argv[0] : argv[1]);
        return -1;
    }
    return 0;
}

/* Quotient num / den rounded HALF_UP (den != 0). */
static emu_i128 div_half_up(emu_i128 num, emu_i128 den)
{
    emu_i128 q = num / den, r = abs_i(num % den), d = abs_i(den);

    if (r >= d - r) {
        q += (num < 0) != (den < 0) ? -1 : 1;
    }
    return q;
}

static void dec_arith(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    int op = sqlite3_value_int(argv[0]), p = sqlite3_value_int(argv[3]),
        s = sqlite3_value_int(argv[4]), sa, sb, sm, e;
    emu_i128 a, b, va, vb, r, num, den;
    char text[48];

    (void)argc;
    if (two(ctx, argv + 1, &a, &sa, &b, &sb) != 0) {
        return;
    }
    sm = sa > sb ? sa : sb;
    switch (op) {
    case 1: /* + */
    case 2: /* - */
    case 5: /* % */
        if (emu_dec_rescale(a, sa, sm, &va) != 0 || emu_dec_rescale(b, sb, sm, &vb) != 0) {
            too_wide(ctx);
            return;
        }
        if (op == 5) {
            if (vb == 0) {
                divide_by_zero(ctx);
                return;
            }
            r = va % vb; /* the sign of the dividend, as Java's BigDecimal.remainder */
        } else if (op == 1 ? __builtin_add_overflow(va, vb, &r)
                           : __builtin_sub_overflow(va, vb, &r)) {
            too_wide(ctx);
            return;
        }
        break;
    case 3: /* * */
        if (__builtin_mul_overflow(a, b, &r)) {
            too_wide(ctx);
            return;
        }
        sm = sa + sb;
        break;
    case 4: /* / : a/10^sa / (b/10^sb) at scale s = a * 10^(sb+s-sa) / b */
        if (b == 0) {
            divide_by_zero(ctx);
            return;
        }
        e = sb + s - sa;
        num = a;
        den = b;
        if ((e >= 0 && emu_dec_rescale(a, 0, e, &num) != 0) ||
            (e < 0 && emu_dec_rescale(b, 0, -e, &den) != 0)) {
            too_wide(ctx);
            return;
        }
        r = div_half_up(num, den);
        sm = s;
        break;
    default:
        sqlite3_result_error(ctx, "emu_dec_arith: unknown operator", -1);
        return;
    }
    if (emu_dec_rescale(r, sm, s, &r) != 0) {
        too_wide(ctx);
        return;
    }
    if (!emu_dec_fits(r, p)) {
        out_of_range(ctx, r, s, p, s);
        return;
    }
    emu_dec_text(r, s, text, sizeof(text));
    sqlite3_result_text(ctx, text, -1, SQLITE_TRANSIENT);
}

static long double approx(emu_i128 v, int scale)
{
    long double d = (long double)v;

    while (scale-- > 0) {
        d /= 10;
    }
    return d;
}

/* -1, 0, 1. When the scales cannot be aligned in 128 bits, long doubles decide. */
static int compare(emu_i128 a, int sa, emu_i128 b, int sb)
{
    emu_i128 va, vb;
    long double da, db;
    int sm = sa > sb ? sa : sb;

    if (emu_dec_rescale(a, sa, sm, &va) == 0 && emu_dec_rescale(b, sb, sm, &vb) == 0) {
        return va < vb ? -1 : va > vb;
    }
    da = approx(a, sa);
    db = approx(b, sb);
    return da < db ? -1 : da > db;
}

static void dec_cmp(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    emu_i128 a, b;
    int sa, sb;

    (void)argc;
    if (two(ctx, argv, &a, &sa, &b, &sb) != 0) {
        return;
    }
    sqlite3_result_int(ctx, compare(a, sa, b, sb));
}

static void dec_eqns(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    int na = sqlite3_value_type(argv[0]) == SQLITE_NULL,
        nb = sqlite3_value_type(argv[1]) == SQLITE_NULL;
    emu_i128 a, b;
    int sa, sb;

    (void)argc;
    if (na || nb) {
        sqlite3_result_int(ctx, na && nb);
        return;
    }
    if (two(ctx, argv, &a, &sa, &b, &sb) != 0) {
        return;
    }
    sqlite3_result_int(ctx, compare(a, sa, b, sb) == 0);
}

static void dec_neg(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    emu_i128 a;
    int sa, rc = emu_dec_from_value(argv[0], &a, &sa);
    char text[48];

    (void)argc;
    if (rc == 1) {
        sqlite3_result_null(ctx);
        return;
    }
    if (rc < 0) {
        not_a_number(ctx, argv[0]);
        return;
    }
    emu_dec_text(-a, sa, text, sizeof(text));
    sqlite3_result_text(ctx, text, -1, SQLITE_TRANSIENT);
}

/* ------------------------------------------------------------------------ */
/* Aggregates                                                               */
/* ------------------------------------------------------------------------ */

/* SQLite's aggregate context is 8-byte aligned: the 128-bit value is kept as bytes. */
typedef struct agg {
    unsigned char vbytes[sizeof(emu_i128)];
    int scale;
    long long n;   /* non-NULL values seen (sum) */
    int error;     /* 1: overflow or a value that is not a number */
    char best[48]; /* min/max: the text of the best value so far */
} agg_t;

static emu_i128 agg_get(const agg_t *g)
{
    emu_i128 v;

    memcpy(&v, g->vbytes, sizeof(v));
    return v;
}

static void agg_set(agg_t *g, emu_i128 v)
{
    memcpy(g->vbytes, &v, sizeof(v));
}

static void agg_add(sqlite3_context *ctx, sqlite3_value *x, int sign)
{
    agg_t *g = sqlite3_aggregate_context(ctx, (int)sizeof(*g));
    emu_i128 a, va, vg, sum;
    int sa, sm, rc;

    if (g == NULL) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    rc = emu_dec_from_value(x, &a, &sa);
    if (rc == 1 || g->error) {
        return;
    }
    if (rc < 0) {
        g->error = 2;
        return;
    }
    sm = sa > g->scale ? sa : g->scale;
    if (emu_dec_rescale(a, sa, sm, &va) != 0 ||
        emu_dec_rescale(agg_get(g), g->scale, sm, &vg) != 0 ||
        (sign > 0 ? __builtin_add_overflow(vg, va, &sum) : __builtin_sub_overflow(vg, va, &sum))) {
        g->error = 1;
        return;
    }
    agg_set(g, sum);
    g->scale = sm;
    g->n += sign;
}

static void sum_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    agg_add(ctx, argv[0], 1);
}

static void sum_inverse(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    agg_add(ctx, argv[0], -1);
}

static void sum_value(sqlite3_context *ctx)
{
    agg_t *g = sqlite3_aggregate_context(ctx, 0);
    char text[48];

    if (g != NULL && g->error == 1) {
        too_wide(ctx);
        return;
    }
    if (g != NULL && g->error == 2) {
        sqlite3_result_error(ctx, "[CAST_INVALID_INPUT] sum() of a value that is not a decimal.",
                             -1);
        return;
    }
    if (g == NULL || g->n == 0) {
        sqlite3_result_null(ctx);
        return;
    }
    if (!emu_dec_fits(agg_get(g), MAX_DIGITS)) {
        out_of_range(ctx, agg_get(g), g->scale, MAX_DIGITS, g->scale);
        return;
    }
    emu_dec_text(agg_get(g), g->scale, text, sizeof(text));
    sqlite3_result_text(ctx, text, -1, SQLITE_TRANSIENT);
}

static void minmax_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    int dir = *(const int *)sqlite3_user_data(ctx), sa, rc;
    agg_t *g = sqlite3_aggregate_context(ctx, (int)sizeof(*g));
    emu_i128 a;

    (void)argc;
    if (g == NULL) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    rc = emu_dec_from_value(argv[0], &a, &sa);
    if (rc == 1 || g->error) {
        return;
    }
    if (rc < 0) {
        g->error = 2;
        return;
    }
    if (g->n == 0 || dir * compare(a, sa, agg_get(g), g->scale) > 0) {
        agg_set(g, a);
        g->scale = sa;
        g->n = 1;
        emu_dec_text(a, sa, g->best, sizeof(g->best));
    }
}

static void minmax_final(sqlite3_context *ctx)
{
    agg_t *g = sqlite3_aggregate_context(ctx, 0);

    if (g != NULL && g->error) {
        sqlite3_result_error(ctx,
                             "[CAST_INVALID_INPUT] min()/max() of a value that is not a "
                             "decimal.",
                             -1);
        return;
    }
    if (g == NULL || g->n == 0) {
        sqlite3_result_null(ctx);
        return;
    }
    sqlite3_result_text(ctx, g->best, -1, SQLITE_TRANSIENT);
}

static const int k_max = 1, k_min = -1;

int emu_sql_register_decimal(sqlite3 *db)
{
    int f = SQLITE_UTF8 | SQLITE_DETERMINISTIC;

    if (sqlite3_create_function_v2(db, "emu_dec_arith", 5, f, NULL, dec_arith, NULL, NULL, NULL) ||
        sqlite3_create_function_v2(db, "emu_dec_cmp", 2, f, NULL, dec_cmp, NULL, NULL, NULL) ||
        sqlite3_create_function_v2(db, "emu_dec_eqns", 2, f, NULL, dec_eqns, NULL, NULL, NULL) ||
        sqlite3_create_function_v2(db, "emu_dec_neg", 1, f, NULL, dec_neg, NULL, NULL, NULL) ||
        sqlite3_create_window_function(db, "emu_dec_sum", 1, f, NULL, sum_step, sum_value,
                                       sum_value, sum_inverse, NULL) ||
        sqlite3_create_function_v2(db, "emu_dec_max", 1, f, (void *)&k_max, NULL, minmax_step,
                                   minmax_final, NULL) ||
        sqlite3_create_function_v2(db, "emu_dec_min", 1, f, (void *)&k_min, NULL, minmax_step,
                                   minmax_final, NULL)) {
        return -1;
    }
    return 0;
}
