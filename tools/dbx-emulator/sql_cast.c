/*
 * sql_cast: SQL functions behind the translator's CAST, LIKE and division, with the
 * semantics of Databricks SQL in its default ANSI mode (ANSI_MODE = true):
 *
 *   emu_cast(x, src, dst, p, s, try)  CAST(x AS dst) / try_cast; src and dst are emu_kind_t
 *                                     codes (src -1: judge by the stored value), p and s the
 *                                     DECIMAL target's precision and scale. A malformed value
 *                                     raises [CAST_INVALID_INPUT], an integer that does not fit
 *                                     [CAST_OVERFLOW], a decimal that does not fit
 *                                     [NUMERIC_VALUE_OUT_OF_RANGE.WITH_SUGGESTION]; try gives NULL.
 *                                     Casts to DECIMAL are exact from integers, strings and
 *                                     decimals (HALF_UP), from doubles via their shortest text.
 *   emu_like(x, pattern, esc, ci)     x LIKE pattern (ci 1: ILIKE): '%' and '_' (one character,
 *                                     UTF-8 aware), esc escapes them; case-sensitive as in Spark.
 *   emu_div(a, b)                     a / b as DOUBLE; 0 divisor raises [DIVIDE_BY_ZERO].
 *   emu_idiv(a, b)                    a div b (BIGINT, truncated); emu_fmod(a, b) DOUBLE a % b.
 * NULL in gives NULL out.
 */
#define _POSIX_C_SOURCE 200809L
#include "engine_int.h"
#include "sql_decimal.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void type_name(int kind, int p, int s, char *out, size_t outlen)
{
    static const char *const names[] = {
        "STRING", "BIGINT", "INT",       "SMALLINT", "TINYINT", "DOUBLE", "FLOAT", "BOOLEAN",
        "BINARY", "DATE",   "TIMESTAMP", "DECIMAL",  "STRUCT",  "MAP",    "ARRAY", "VOID"};

    if (kind == EMU_T_DECIMAL) {
        snprintf(out, outlen, "DECIMAL(%d,%d)", p, s);
    } else if (kind >= 0 && (size_t)kind < sizeof(names) / sizeof(names[0])) {
        snprintf(out, outlen, "%s", names[kind]);
    } else {
        snprintf(out, outlen, "STRING");
    }
}

/* The source kind: the translator's when known, else the stored value's. */
static int src_kind(sqlite3_value *x, int src)
{
    if (src >= 0) {
        return src;
    }
    switch (sqlite3_value_type(x)) {
    case SQLITE_INTEGER:
        return EMU_T_BIGINT;
    case SQLITE_FLOAT:
        return EMU_T_DOUBLE;
    case SQLITE_BLOB:
        return EMU_T_BINARY;
    default:
        return EMU_T_STRING;
    }
}

static void invalid(sqlite3_context *ctx, sqlite3_value *x, int src, int dst, int p, int s)
{
    char from[48], to[48], msg[512];

    type_name(src, 0, 0, from, sizeof(from));
    type_name(dst, p, s, to, sizeof(to));
    snprintf(msg, sizeof(msg),
             "[CAST_INVALID_INPUT] The value '%.100s' of the type \"%s\" cannot be cast to \"%s\" "
             "because it is malformed. Correct the value as per the syntax, or change its target "
             "type. Use `try_cast` to tolerate malformed input and return NULL instead.",
             sqlite3_value_text(x) != NULL ? (const char *)sqlite3_value_text(x) : "", from, to);
    sqlite3_result_error(ctx, msg, -1);
}

static void overflow(sqlite3_context *ctx, sqlite3_value *x, int src, int dst)
{
    char from[48], to[48], msg[512];

    type_name(src, 0, 0, from, sizeof(from));
    type_name(dst, 0, 0, to, sizeof(to));
    snprintf(msg, sizeof(msg),
             "[CAST_OVERFLOW] The value %.100s%s of the type \"%s\" cannot be cast to \"%s\" due "
             "to an overflow. Use `try_cast` to tolerate overflow and return NULL instead.",
             sqlite3_value_text(x) != NULL ? (const char *)sqlite3_value_text(x) : "",
             src == EMU_T_BIGINT ? "L" : "", from, to);
    sqlite3_result_error(ctx, msg, -1);
}

static void dec_overflow(sqlite3_context *ctx, const char *value, int p, int s)
{
    char msg[512];

    snprintf(msg, sizeof(msg),
             "[NUMERIC_VALUE_OUT_OF_RANGE.WITH_SUGGESTION] %.100s cannot be represented as "
             "Decimal(%d, %d). If necessary set \"ANSI_MODE\" to \"false\" to bypass this error, "
             "and return NULL instead.",
             value, p, s);
    sqlite3_result_error(ctx, msg, -1);
}

/* Copies text without surrounding spaces into out; 0, or -1 when too long. */
static int trimmed(const char *t, char *out, size_t outlen)
{
    size_t n;

    while (isspace((unsigned char)*t)) {
        t++;
    }
    n = strlen(t);
    while (n > 0 && isspace((unsigned char)t[n - 1])) {
        n--;
    }
    if (n + 1 > outlen) {
        return -1;
    }
    memcpy(out, t, n);
    out[n] = '\0';
    return 0;
}

/* ---- to integers ---- */

static void to_integer(sqlite3_context *ctx, sqlite3_value *x, int src, int dst, int try_)
{
    static const long long lim[][2] = {
        {LLONG_MIN, LLONG_MAX}, {INT_MIN, INT_MAX}, {-32768, 32767}, {-128, 127}};
    int which = dst == EMU_T_BIGINT ? 0 : dst == EMU_T_INT ? 1 : dst == EMU_T_SMALLINT ? 2 : 3;
    char buf[512], *end = NULL;
    long long v = 0;
    double d;
    emu_i128 dv;
    int ds;

    switch (sqlite3_value_type(x)) {
    case SQLITE_INTEGER:
        v = sqlite3_value_int64(x);
        break;
    case SQLITE_FLOAT:
        d = trunc(sqlite3_value_double(x));
        if (isnan(d) || d < (double)lim[which][0] || d >= -(double)lim[which][0]) {
            goto too_big;
        }
        v = (long long)d;
        break;
    case SQLITE_TEXT:
        if (trimmed((const char *)sqlite3_value_text(x), buf, sizeof(buf)) != 0) {
            goto bad;
        }
        if (src == EMU_T_DECIMAL) {
            /* a decimal truncates towards zero, as Spark's Decimal.toLong */
            if (emu_dec_parse(buf, &dv, &ds) != 0) {
                goto bad;
            }
            while (ds-- > 0) {
                dv /= 10;
            }
            if (dv < lim[which][0] || dv > lim[which][1]) {
                goto too_big;
            }
            v = (long long)dv;
            break;
        }
        if (src == EMU_T_TIMESTAMP || src == EMU_T_DATE) {
            goto bad;
        }
        errno = 0;
        v = strtoll(buf, &end, 10);
        if (end == buf || *end != '\0' || errno != 0) {
            goto bad; /* ANSI: only whole numbers in range */
        }
        break;
    default:
        goto bad;
    }
    if (v < lim[which][0] || v > lim[which][1]) {
        goto too_big;
    }
    sqlite3_result_int64(ctx, v);
    return;
too_big:
    if (try_) {
        sqlite3_result_null(ctx);
    } else if (sqlite3_value_type(x) == SQLITE_TEXT && src != EMU_T_DECIMAL) {
        invalid(ctx, x, src, dst, 0, 0);
    } else {
        overflow(ctx, x, src, dst);
    }
    return;
bad:
    if (try_) {
        sqlite3_result_null(ctx);
    } else {
        invalid(ctx, x, src, dst, 0, 0);
    }
}

/* ---- to DECIMAL(p, s) ---- */

/* 1 when t is [+-]digits[.digits] (or .digits). */
static int is_number(const char *t)
{
    int digits = 0;

    if (*t == '+' || *t == '-') {
        t++;
    }
    for (; isdigit((unsigned char)*t); t++) {
        digits++;
    }
    if (*t == '.') {
        for (t++; isdigit((unsigned char)*t); t++) {
            digits++;
        }
    }
    return digits > 0 && *t == '\0';
}

static void to_decimal(sqlite3_context *ctx, sqlite3_value *x, int src, int p, int s, int try_)
{
    char buf[512], out[128];
    emu_i128 v, r;
    double d;
    char *end = NULL;

    switch (sqlite3_value_type(x)) {
    case SQLITE_INTEGER:
        v = sqlite3_value_int64(x);
        if (emu_dec_rescale(v, 0, s, &r) != 0 || !emu_dec_fits(r, p)) {
            snprintf(buf, sizeof(buf), "%lld", (long long)sqlite3_value_int64(x));
            goto too_big;
        }
        emu_dec_text(r, s, out, sizeof(out));
        sqlite3_result_text(ctx, out, -1, SQLITE_TRANSIENT);
        return;
    case SQLITE_FLOAT:
        if (emu_dec_from_double(sqlite3_value_double(x), buf, sizeof(buf)) != 0) {
            goto bad;
        }
        break;
    case SQLITE_TEXT:
        if (trimmed((const char *)sqlite3_value_text(x), buf, sizeof(buf)) != 0) {
            goto bad;
        }
        if (strpbrk(buf, "eE") != NULL) { /* 1e3: through its double, as Spark reads it */
            d = strtod(buf, &end);
            if (end == buf || *end != '\0' || emu_dec_from_double(d, buf, sizeof(buf)) != 0) {
                goto bad;
            }
        }
        break;
    default:
        goto bad;
    }
    if (src == EMU_T_TIMESTAMP || src == EMU_T_DATE || src == EMU_T_BINARY) {
        goto bad;
    }
    if (emu_decimal_norm(buf, p, s, out, sizeof(out)) == 0) {
        sqlite3_result_text(ctx, out, -1, SQLITE_TRANSIENT);
        return;
    }
    if (!is_number(buf)) {
        goto bad; /* no number at all; else one that does not fit */
    }
too_big:
    if (try_) {
        sqlite3_result_null(ctx);
    } else {
        dec_overflow(ctx, buf, p, s);
    }
    return;
bad:
    if (try_) {
        sqlite3_result_null(ctx);
    } else {
        invalid(ctx, x, src, EMU_T_DECIMAL, p, s);
    }
}

/* ---- to STRING ---- */

static void to_string(sqlite3_context *ctx, sqlite3_value *x, int src)
{
    const char *t;
    char buf[128];
    size_t n;

    switch (sqlite3_value_type(x)) {
    case SQLITE_INTEGER:
        if (src == EMU_T_BOOLEAN) {
            sqlite3_result_text(ctx, sqlite3_value_int64(x) != 0 ? "true" : "false", -1,
                                SQLITE_STATIC);
            return;
        }
        snprintf(buf, sizeof(buf), "%lld", (long long)sqlite3_value_int64(x));
        sqlite3_result_text(ctx, buf, -1, SQLITE_TRANSIENT);
        return;
    case SQLITE_FLOAT:
        emu_format_double(sqlite3_value_double(x), buf, sizeof(buf));
        sqlite3_result_text(ctx, buf, -1, SQLITE_TRANSIENT);
        return;
    case SQLITE_BLOB:
        sqlite3_result_text(ctx, sqlite3_value_blob(x), sqlite3_value_bytes(x), SQLITE_TRANSIENT);
        return;
    default:
        t = (const char *)sqlite3_value_text(x);
        n = t != NULL ? strlen(t) : 0;
        if (src == EMU_T_TIMESTAMP && n == 27 && t[10] == 'T' && t[26] == 'Z') {
            /* Spark's text of a timestamp: "2026-11-24 06:41:55.1234", fraction trimmed */
            memcpy(buf, t, 26);
            buf[10] = ' ';
            n = 26;
            while (buf[n - 1] == '0') {
                n--;
            }
            if (buf[n - 1] == '.') {
                n--;
            }
            sqlite3_result_text(ctx, buf, (int)n, SQLITE_TRANSIENT);
            return;
        }
        sqlite3_result_value(ctx, x);
        return;
    }
}

/* ---- the others ---- */

static void to_double(sqlite3_context *ctx, sqlite3_value *x, int src, int dst, int try_)
{
    char buf[512], *end = NULL;
    double d;

    switch (sqlite3_value_type(x)) {
    case SQLITE_INTEGER:
    case SQLITE_FLOAT:
        d = sqlite3_value_double(x);
        break;
    case SQLITE_TEXT:
        if (src == EMU_T_TIMESTAMP || src == EMU_T_DATE ||
            trimmed((const char *)sqlite3_value_text(x), buf, sizeof(buf)) != 0) {
            goto bad;
        }
        d = strtod(buf, &end);
        if (end == buf || *end != '\0') {
            goto bad;
        }
        break;
    default:
        goto bad;
    }
    sqlite3_result_double(ctx, dst == EMU_T_FLOAT ? (double)(float)d : d);
    return;
bad:
    if (try_) {
        sqlite3_result_null(ctx);
    } else {
        invalid(ctx, x, src, dst, 0, 0);
    }
}

static void to_boolean(sqlite3_context *ctx, sqlite3_value *x, int src, int try_)
{
    static const char *const yes[] = {"t", "true", "y", "yes", "1", NULL};
    static const char *const no[] = {"f", "false", "n", "no", "0", NULL};
    char buf[64];
    int k;

    switch (sqlite3_value_type(x)) {
    case SQLITE_INTEGER:
    case SQLITE_FLOAT:
        sqlite3_result_int(ctx, sqlite3_value_double(x) != 0);
        return;
    case SQLITE_TEXT:
        if (trimmed((const char *)sqlite3_value_text(x), buf, sizeof(buf)) == 0) {
            for (k = 0; yes[k] != NULL; k++) {
                if (strcasecmp(buf, yes[k]) == 0 || strcasecmp(buf, no[k]) == 0) {
                    sqlite3_result_int(ctx, strcasecmp(buf, yes[k]) == 0);
                    return;
                }
            }
        }
        break;
    default:
        break;
    }
    if (try_) {
        sqlite3_result_null(ctx);
    } else {
        invalid(ctx, x, src, EMU_T_BOOLEAN, 0, 0);
    }
}

static void to_time(sqlite3_context *ctx, sqlite3_value *x, int src, int dst, int try_)
{
    char buf[64];
    const char *t;

    if (sqlite3_value_type(x) == SQLITE_INTEGER && dst == EMU_T_TIMESTAMP) {
        emu_timestamp_from_micros(sqlite3_value_int64(x) * 1000000LL, buf, sizeof(buf));
        sqlite3_result_text(ctx, buf, -1, SQLITE_TRANSIENT);
        return;
    }
    if (sqlite3_value_type(x) == SQLITE_TEXT) {
        t = (const char *)sqlite3_value_text(x);
        if (dst == EMU_T_TIMESTAMP ? emu_timestamp_norm(t, buf, sizeof(buf)) == 0
                                   : emu_date_norm(t, buf, sizeof(buf)) == 0) {
            sqlite3_result_text(ctx, buf, -1, SQLITE_TRANSIENT);
            return;
        }
    }
    if (try_) {
        sqlite3_result_null(ctx);
    } else {
        invalid(ctx, x, src, dst, 0, 0);
    }
}

static void cast_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    sqlite3_value *x = argv[0];
    int src = src_kind(x, sqlite3_value_int(argv[1])), dst = sqlite3_value_int(argv[2]),
        p = sqlite3_value_int(argv[3]), s = sqlite3_value_int(argv[4]),
        try_ = sqlite3_value_int(argv[5]);

    (void)argc;
    if (sqlite3_value_type(x) == SQLITE_NULL) {
        sqlite3_result_null(ctx);
        return;
    }
    switch (dst) {
    case EMU_T_BIGINT:
    case EMU_T_INT:
    case EMU_T_SMALLINT:
    case EMU_T_TINYINT:
        to_integer(ctx, x, src, dst, try_);
        return;
    case EMU_T_DECIMAL:
        to_decimal(ctx, x, src, p, s, try_);
        return;
    case EMU_T_DOUBLE:
    case EMU_T_FLOAT:
        to_double(ctx, x, src, dst, try_);
        return;
    case EMU_T_BOOLEAN:
        to_boolean(ctx, x, src, try_);
        return;
    case EMU_T_TIMESTAMP:
    case EMU_T_DATE:
        to_time(ctx, x, src, dst, try_);
        return;
    case EMU_T_BINARY:
        if (sqlite3_value_type(x) == SQLITE_TEXT || sqlite3_value_type(x) == SQLITE_BLOB) {
            sqlite3_result_blob(ctx, sqlite3_value_blob(x), sqlite3_value_bytes(x),
                                SQLITE_TRANSIENT);
        } else if (try_) {
            sqlite3_result_null(ctx);
        } else {
            invalid(ctx, x, src, dst, 0, 0);
        }
        return;
    case EMU_T_STRING:
        to_string(ctx, x, src);
        return;
    default: /* STRUCT, MAP, ARRAY: the JSON text as it is */
        sqlite3_result_value(ctx, x);
        return;
    }
}

/* ------------------------------------------------------------------------ */
/* LIKE                                                                     */
/* ------------------------------------------------------------------------ */

/* Length of the UTF-8 character starting at p (1 for stray bytes). */
static size_t u8len(const unsigned char *p)
{
    if (*p >= 0xf0 && p[1] != 0 && p[2] != 0 && p[3] != 0) {
        return 4;
    }
    if (*p >= 0xe0 && p[1] != 0 && p[2] != 0) {
        return 3;
    }
    if (*p >= 0xc0 && p[1] != 0) {
        return 2;
    }
    return 1;
}

static int same(unsigned char a, unsigned char b, int ci)
{
    return ci ? tolower(a) == tolower(b) : a == b;
}

/* 1 when s matches pattern p (esc: the escape byte, 0 for none). */
static int like_match(const unsigned char *s, const unsigned char *p, unsigned char esc, int ci)
{
    const unsigned char *star_p = NULL, *star_s = NULL;

    while (*s != '\0') {
        if (*p != '\0' && esc != 0 && *p == esc && p[1] != '\0') {
            if (same(*s, p[1], ci)) {
                s++;
                p += 2;
                continue;
            }
        } else if (*p == '_') {
            s += u8len(s);
            p++;
            continue;
        } else if (*p == '%') {
            star_p = p++;
            star_s = s;
            continue;
        } else if (*p != '\0' && same(*s, *p, ci)) {
            s++;
            p++;
            continue;
        }
        if (star_p == NULL) {
            return 0;
        }
        p = star_p + 1;
        star_s += u8len(star_s);
        s = star_s;
    }
    while (*p == '%') {
        p++;
    }
    return *p == '\0';
}

static void like_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    const unsigned char *s = sqlite3_value_text(argv[0]), *p = sqlite3_value_text(argv[1]),
                        *e = sqlite3_value_text(argv[2]);

    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL || sqlite3_value_type(argv[1]) == SQLITE_NULL ||
        s == NULL || p == NULL) {
        sqlite3_result_null(ctx);
        return;
    }
    sqlite3_result_int(ctx, like_match(s, p, e != NULL ? e[0] : 0, sqlite3_value_int(argv[3])));
}

/* ------------------------------------------------------------------------ */
/* Division                                                                 */
/* ------------------------------------------------------------------------ */

static void divide_by_zero(sqlite3_context *ctx)
{
    sqlite3_result_error(ctx,
                         "[DIVIDE_BY_ZERO] Division by zero. Use `try_divide` to tolerate divisor "
                         "being 0 and return NULL instead. If necessary set \"ANSI_MODE\" to "
                         "\"false\" to bypass this error.",
                         -1);
}

static void div_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    int kind = *(const int *)sqlite3_user_data(ctx);
    double a, b;
    long long ia, ib;

    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL || sqlite3_value_type(argv[1]) == SQLITE_NULL) {
        sqlite3_result_null(ctx);
        return;
    }
    if (kind == 1) { /* div: integers, truncated */
        ia = sqlite3_value_int64(argv[0]);
        ib = sqlite3_value_int64(argv[1]);
        if (ib == 0) {
            divide_by_zero(ctx);
        } else if (ib == -1) {
            sqlite3_result_int64(ctx, ia == LLONG_MIN ? ia : -ia);
        } else {
            sqlite3_result_int64(ctx, ia / ib);
        }
        return;
    }
    a = sqlite3_value_double(argv[0]);
    b = sqlite3_value_double(argv[1]);
    if (b == 0) {
        divide_by_zero(ctx);
        return;
    }
    sqlite3_result_double(ctx, kind == 2 ? fmod(a, b) : a / b);
}

static const int k_div = 0, k_idiv = 1, k_fmod = 2;

int emu_sql_register_cast(sqlite3 *db)
{
    int f = SQLITE_UTF8 | SQLITE_DETERMINISTIC;

    if (sqlite3_create_function_v2(db, "emu_cast", 6, f, NULL, cast_fn, NULL, NULL, NULL) ||
        sqlite3_create_function_v2(db, "emu_like", 4, f, NULL, like_fn, NULL, NULL, NULL) ||
        sqlite3_create_function_v2(db, "emu_div", 2, f, (void *)&k_div, div_fn, NULL, NULL, NULL) ||
        sqlite3_create_function_v2(db, "emu_idiv", 2, f, (void *)&k_idiv, div_fn, NULL, NULL,
                                   NULL) ||
        sqlite3_create_function_v2(db, "emu_fmod", 2, f, (void *)&k_fmod, div_fn, NULL, NULL,
                                   NULL)) {
        return -1;
    }
    return 0;
}
