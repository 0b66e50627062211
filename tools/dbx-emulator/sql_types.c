/*
 * sql_types: Databricks column types in the emulator: parsing type text,
 * converting input strings to the stored form, and formatting stored values
 * the way the Statement Execution API returns them (JSON_ARRAY: every value a
 * string or null).
 *
 * Storage (docs/EMULATOR_SQL.md): integers INTEGER; DOUBLE/FLOAT REAL; BOOLEAN
 * INTEGER 0/1 shown as "true"/"false"; DECIMAL(p,s) TEXT with exactly s
 * decimals; TIMESTAMP TEXT "YYYY-MM-DDTHH:MM:SS.ffffffZ" (UTC, sorts as time);
 * DATE TEXT "YYYY-MM-DD"; BINARY BLOB shown base64; STRUCT/MAP/ARRAY JSON TEXT.
 */
#define _POSIX_C_SOURCE 200809L
#include "engine_int.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------------ */
/* Type text                                                                */
/* ------------------------------------------------------------------------ */

typedef struct tbuf {
    char *p;
    size_t len, cap;
    int overflow;
} tbuf_t;

static void tb_add(tbuf_t *b, const char *s)
{
    size_t n = strlen(s);

    if (b->len + n + 1 > b->cap) {
        b->overflow = 1;
        return;
    }
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

static int parse_type_rec(emu_ctx_t *cx, tbuf_t *b, int depth);

static int parse_int_arg(emu_ctx_t *cx, long *v)
{
    const emu_token_t *t = emu_tk_peek(cx->tk);
    char *end = NULL;

    if (t->kind != TK_NUMBER) {
        return emu_syntax(cx);
    }
    errno = 0;
    *v = strtol(t->val, &end, 10);
    if (errno != 0 || end == t->val || *end != '\0') {
        return emu_syntax(cx);
    }
    cx->tk->i++;
    return 0;
}

static int parse_decimal(emu_ctx_t *cx, tbuf_t *b)
{
    long p = 10, s = 0;
    char tmp[48];

    if (emu_tk_accept_op(cx->tk, "(")) {
        if (parse_int_arg(cx, &p) != 0) {
            return -1;
        }
        if (emu_tk_accept_op(cx->tk, ",") && parse_int_arg(cx, &s) != 0) {
            return -1;
        }
        if (!emu_tk_accept_op(cx->tk, ")")) {
            return emu_syntax(cx);
        }
    }
    if (p < 1 || p > 38 || s < 0 || s > p) {
        return emu_fail(cx, "0A000",
                        "[DECIMAL_PRECISION_EXCEEDS_MAX_PRECISION] Decimal precision %ld exceeds "
                        "max precision 38 (or scale %ld is invalid).",
                        p, s);
    }
    snprintf(tmp, sizeof(tmp), "DECIMAL(%ld,%ld)", p, s);
    tb_add(b, tmp);
    return 0;
}

static int parse_struct(emu_ctx_t *cx, tbuf_t *b, int depth)
{
    int first = 1;

    tb_add(b, "STRUCT<");
    if (!emu_tk_accept_op(cx->tk, "<")) {
        return emu_syntax(cx);
    }
    while (!emu_tk_accept_op(cx->tk, ">")) {
        const emu_token_t *f = emu_tk_peek(cx->tk);
        if (!first && !emu_tk_accept_op(cx->tk, ",")) {
            return emu_syntax(cx);
        }
        f = emu_tk_peek(cx->tk);
        if ((f->kind != TK_IDENT && f->kind != TK_QIDENT) ||
            !emu_ident_valid(f->raw[0] == '`' ? f->val : f->raw)) {
            return emu_syntax(cx);
        }
        tb_add(b, first ? "" : ", ");
        tb_add(b, f->kind == TK_QIDENT ? f->val : f->raw);
        tb_add(b, ": ");
        cx->tk->i++;
        emu_tk_accept_op(cx->tk, ":");
        if (parse_type_rec(cx, b, depth + 1) != 0) {
            return -1;
        }
        if (emu_tk_accept_kw(cx->tk, "NOT")) {
            if (!emu_tk_accept_kw(cx->tk, "NULL")) {
                return emu_syntax(cx);
            }
            tb_add(b, " NOT NULL");
        }
        if (emu_tk_accept_kw(cx->tk, "COMMENT")) {
            if (emu_tk_peek(cx->tk)->kind != TK_STRING) {
                return emu_syntax(cx);
            }
            cx->tk->i++;
        }
        first = 0;
    }
    tb_add(b, ">");
    return 0;
}

static int parse_generic(emu_ctx_t *cx, tbuf_t *b, int depth, int nargs, const char *name)
{
    int k;

    tb_add(b, name);
    tb_add(b, "<");
    if (!emu_tk_accept_op(cx->tk, "<")) {
        return emu_syntax(cx);
    }
    for (k = 0; k < nargs; k++) {
        if (k > 0) {
            if (!emu_tk_accept_op(cx->tk, ",")) {
                return emu_syntax(cx);
            }
            tb_add(b, ", ");
        }
        if (parse_type_rec(cx, b, depth + 1) != 0) {
            return -1;
        }
    }
    if (!emu_tk_accept_op(cx->tk, ">")) {
        return emu_syntax(cx);
    }
    tb_add(b, ">");
    return 0;
}

static int parse_type_rec(emu_ctx_t *cx, tbuf_t *b, int depth)
{
    static const char *const simple[][2] = {{"string", "STRING"},
                                            {"bigint", "BIGINT"},
                                            {"long", "BIGINT"},
                                            {"int", "INT"},
                                            {"integer", "INT"},
                                            {"smallint", "SMALLINT"},
                                            {"short", "SMALLINT"},
                                            {"tinyint", "TINYINT"},
                                            {"byte", "TINYINT"},
                                            {"double", "DOUBLE"},
                                            {"float", "FLOAT"},
                                            {"real", "FLOAT"},
                                            {"boolean", "BOOLEAN"},
                                            {"binary", "BINARY"},
                                            {"date", "DATE"},
                                            {"timestamp", "TIMESTAMP"},
                                            {"timestamp_ntz", "TIMESTAMP"},
                                            {"timestamp_ltz", "TIMESTAMP"}};
    const emu_token_t *t = emu_tk_peek(cx->tk);
    const char *w;
    size_t k;

    if (depth > 32 || (t->kind != TK_IDENT && t->kind != TK_PARAM)) {
        return emu_syntax(cx);
    }
    w = t->val; /* a PARAM here is "name:TYPE" written without a space */
    cx->tk->i++;
    for (k = 0; k < sizeof(simple) / sizeof(simple[0]); k++) {
        if (strcasecmp(w, simple[k][0]) == 0) {
            tb_add(b, simple[k][1]);
            return 0;
        }
    }
    if (strcasecmp(w, "varchar") == 0 || strcasecmp(w, "char") == 0) {
        long n = 0;
        if (emu_tk_accept_op(cx->tk, "(") &&
            (parse_int_arg(cx, &n) != 0 || !emu_tk_accept_op(cx->tk, ")"))) {
            return emu_syntax(cx);
        }
        tb_add(b, "STRING");
        return 0;
    }
    if (strcasecmp(w, "decimal") == 0 || strcasecmp(w, "dec") == 0 ||
        strcasecmp(w, "numeric") == 0) {
        return parse_decimal(cx, b);
    }
    if (strcasecmp(w, "struct") == 0) {
        return parse_struct(cx, b, depth);
    }
    if (strcasecmp(w, "map") == 0) {
        return parse_generic(cx, b, depth, 2, "MAP");
    }
    if (strcasecmp(w, "array") == 0) {
        return parse_generic(cx, b, depth, 1, "ARRAY");
    }
    cx->tk->i--;
    return emu_fail(cx, "0A000", "[UNSUPPORTED_DATATYPE] Unsupported data type \"%.100s\".",
                    t->raw);
}

int emu_parse_type(emu_ctx_t *cx, char *out, size_t outlen)
{
    tbuf_t b = {out, 0, outlen, 0};

    out[0] = '\0';
    if (parse_type_rec(cx, &b, 0) != 0) {
        return -1;
    }
    if (b.overflow) {
        return emu_fail(cx, "54000", "[TYPE_TOO_LONG] The type text exceeds %zu bytes.", outlen);
    }
    return 0;
}

emu_kind_t emu_type_kind(const char *type, int *prec, int *scale)
{
    static const struct {
        const char *prefix;
        emu_kind_t k;
    } map[] = {{"STRING", EMU_T_STRING},
               {"BIGINT", EMU_T_BIGINT},
               {"INT", EMU_T_INT},
               {"SMALLINT", EMU_T_SMALLINT},
               {"TINYINT", EMU_T_TINYINT},
               {"DOUBLE", EMU_T_DOUBLE},
               {"FLOAT", EMU_T_FLOAT},
               {"BOOLEAN", EMU_T_BOOLEAN},
               {"BINARY", EMU_T_BINARY},
               {"DATE", EMU_T_DATE},
               {"TIMESTAMP", EMU_T_TIMESTAMP},
               {"DECIMAL", EMU_T_DECIMAL},
               {"STRUCT", EMU_T_STRUCT},
               {"MAP", EMU_T_MAP},
               {"ARRAY", EMU_T_ARRAY},
               {"VOID", EMU_T_NULL}};
    size_t k;

    if (prec != NULL) {
        *prec = 0;
    }
    if (scale != NULL) {
        *scale = 0;
    }
    for (k = 0; k < sizeof(map) / sizeof(map[0]); k++) {
        size_t n = strlen(map[k].prefix);
        if (strncmp(type, map[k].prefix, n) == 0 && !isalpha((unsigned char)type[n])) {
            if (map[k].k == EMU_T_DECIMAL && prec != NULL && scale != NULL &&
                sscanf(type, "DECIMAL(%d,%d)", prec, scale) != 2) {
                *prec = 10;
                *scale = 0;
            }
            return map[k].k;
        }
    }
    return EMU_T_STRING;
}

const char *emu_kind_name(emu_kind_t k)
{
    static const char *const names[] = {
        "STRING", "LONG", "INT",       "SHORT",   "BYTE",   "DOUBLE", "FLOAT", "BOOLEAN",
        "BINARY", "DATE", "TIMESTAMP", "DECIMAL", "STRUCT", "MAP",    "ARRAY", "NULL"};

    return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "STRING";
}

void emu_col_set(emu_col_t *col, const char *name, const char *type, int nullable)
{
    memset(col, 0, sizeof(*col));
    snprintf(col->name, sizeof(col->name), "%s", name);
    snprintf(col->type, sizeof(col->type), "%s", type);
    col->kind = emu_type_kind(type, &col->prec, &col->scale);
    col->nullable = nullable;
}

/* ------------------------------------------------------------------------ */
/* Decimal, date and timestamp text                                         */
/* ------------------------------------------------------------------------ */

int emu_decimal_norm(const char *in, int prec, int scale, char *out, size_t outlen)
{
    char digits[160];
    size_t nd = 0, nint = 0, i;
    const char *p = in;
    int neg = 0, seen = 0, carry, o = 0;

    while (isspace((unsigned char)*p)) {
        p++;
    }
    if (*p == '-' || *p == '+') {
        neg = *p == '-';
        p++;
    }
    for (; isdigit((unsigned char)*p); p++, seen = 1) {
        if (nd == 0 && *p == '0') {
            continue; /* leading zeros */
        }
        if (nd + 1 >= 80) {
            return -1;
        }
        digits[nd++] = *p;
    }
    nint = nd;
    if (*p == '.') {
        for (p++; isdigit((unsigned char)*p); p++, seen = 1) {
            if (nd + 1 < sizeof(digits)) {
                digits[nd++] = *p;
            }
        }
    }
    while (isspace((unsigned char)*p)) {
        p++;
    }
    if (!seen || *p != '\0') {
        return -1;
    }
    /* Pad or round (half up) the fraction to exactly scale digits. */
    while (nd < nint + (size_t)scale) {
        digits[nd++] = '0';
    }
    carry = nd > nint + (size_t)scale && digits[nint + (size_t)scale] >= '5';
    nd = nint + (size_t)scale;
    for (i = nd; carry && i > 0; i--) {
        carry = digits[i - 1] == '9';
        digits[i - 1] = carry ? '0' : (char)(digits[i - 1] + 1);
    }
    if (carry) {
        memmove(digits + 1, digits, nd);
        digits[0] = '1';
        nd++;
        nint++;
    }
    if (nint > (size_t)(prec - scale)) {
        return -1;
    }
    for (i = 0; i < nd && digits[i] == '0'; i++) {
    }
    if (outlen < nd + 4) {
        return -1;
    }
    if (neg && i < nd) {
        out[o++] = '-';
    }
    if (nint == 0) {
        out[o++] = '0';
    }
    memcpy(out + o, digits, nint);
    o += (int)nint;
    if (scale > 0) {
        out[o++] = '.';
        memcpy(out + o, digits + nint, (size_t)scale);
        o += scale;
    }
    out[o] = '\0';
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
    long long era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

void emu_date_from_days(long long z, char *out, size_t outlen)
{
    long long era, y;
    unsigned doe, yoe, doy, mp, d, m;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = (long long)yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    snprintf(out, outlen, "%04lld-%02u-%02u", y + (m <= 2), m, d);
}

void emu_timestamp_from_micros(long long us, char *out, size_t outlen)
{
    long long days = us / 86400000000LL, rem = us % 86400000000LL;
    char date[32];

    if (rem < 0) {
        rem += 86400000000LL;
        days--;
    }
    emu_date_from_days(days, date, sizeof(date));
    snprintf(out, outlen, "%sT%02lld:%02lld:%02lld.%06lldZ", date, rem / 3600000000LL,
             rem / 60000000LL % 60, rem / 1000000LL % 60, rem % 1000000LL);
}

/* Reads exactly n digits. */
static int digits_n(const char **p, int n, int *v)
{
    int k;

    *v = 0;
    for (k = 0; k < n; k++) {
        if (!isdigit((unsigned char)(*p)[k])) {
            return -1;
        }
        *v = *v * 10 + ((*p)[k] - '0');
    }
    *p += n;
    return 0;
}

static int parse_date_part(const char **p, int *y, int *mo, int *d)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (digits_n(p, 4, y) || *(*p)++ != '-' || digits_n(p, 2, mo) || *(*p)++ != '-' ||
        digits_n(p, 2, d) || *mo < 1 || *mo > 12 || *d < 1 || *d > mdays[*mo - 1]) {
        return -1;
    }
    return 0;
}

int emu_timestamp_norm(const char *in, char *out, size_t outlen)
{
    const char *p = in;
    int y, mo, d, h = 0, mi = 0, s = 0, oh = 0, om = 0, sign = 0;
    long long frac = 0, us;
    int nf = 0;

    while (isspace((unsigned char)*p)) {
        p++;
    }
    if (parse_date_part(&p, &y, &mo, &d) != 0) {
        return -1;
    }
    if (*p == 'T' || *p == ' ') {
        p++;
        if (digits_n(&p, 2, &h) || *p++ != ':' || digits_n(&p, 2, &mi)) {
            return -1;
        }
        if (*p == ':' && (p++, digits_n(&p, 2, &s))) {
            return -1;
        }
        if (*p == '.') {
            for (p++; isdigit((unsigned char)*p); p++, nf++) {
                if (nf < 6) {
                    frac = frac * 10 + (*p - '0');
                }
            }
        }
    }
    for (; nf < 6; nf++) {
        frac *= 10;
    }
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p++ == '-' ? -1 : 1;
        if (digits_n(&p, 2, &oh) != 0) {
            return -1;
        }
        if (*p == ':') {
            p++;
        }
        if (digits_n(&p, 2, &om) != 0) {
            return -1;
        }
    }
    while (isspace((unsigned char)*p)) {
        p++;
    }
    if (*p != '\0' || h > 23 || mi > 59 || s > 59) {
        return -1;
    }
    us = ((days_from_civil(y, (unsigned)mo, (unsigned)d) * 24 + h) * 60 + mi) * 60 + s;
    us -= (long long)sign * (oh * 3600 + om * 60);
    emu_timestamp_from_micros(us * 1000000LL + frac, out, outlen);
    return 0;
}

int emu_date_norm(const char *in, char *out, size_t outlen)
{
    const char *p = in;
    int y, mo, d;

    if (parse_date_part(&p, &y, &mo, &d) != 0 || (*p != '\0' && *p != 'T' && *p != ' ')) {
        return -1;
    }
    snprintf(out, outlen, "%04d-%02d-%02d", y, mo, d);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Binding input text, formatting output                                    */
/* ------------------------------------------------------------------------ */

static int bind_int(sqlite3_stmt *st, int idx, const emu_col_t *col, const char *text)
{
    static const long long lim[][2] = {
        {LLONG_MIN, LLONG_MAX}, {INT_MIN, INT_MAX}, {-32768, 32767}, {-128, 127}};
    int which = col->kind == EMU_T_BIGINT     ? 0
                : col->kind == EMU_T_INT      ? 1
                : col->kind == EMU_T_SMALLINT ? 2
                                              : 3;
    char *end = NULL;
    long long v;

    errno = 0;
    v = strtoll(text, &end, 10);
    while (end != NULL && isspace((unsigned char)*end)) {
        end++;
    }
    if (errno != 0 || end == text || *end != '\0' || v < lim[which][0] || v > lim[which][1]) {
        return -1;
    }
    sqlite3_bind_int64(st, idx, v);
    return 0;
}

static int bind_json(sqlite3_stmt *st, int idx, const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &je);
    char *s;

    if (j == NULL) {
        return -1;
    }
    s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    if (s == NULL) {
        return -1;
    }
    sqlite3_bind_text(st, idx, s, -1, free);
    return 0;
}

static int bind_kind(sqlite3_stmt *st, int idx, const emu_col_t *col, const char *text)
{
    char buf[128], *end = NULL;
    double d;

    switch (col->kind) {
    case EMU_T_BIGINT:
    case EMU_T_INT:
    case EMU_T_SMALLINT:
    case EMU_T_TINYINT:
        return bind_int(st, idx, col, text);
    case EMU_T_DOUBLE:
    case EMU_T_FLOAT:
        errno = 0;
        d = strtod(text, &end);
        if (end == text || *end != '\0') {
            return -1;
        }
        sqlite3_bind_double(st, idx, d);
        return 0;
    case EMU_T_BOOLEAN:
        if (strcasecmp(text, "true") == 0 || strcmp(text, "1") == 0) {
            sqlite3_bind_int(st, idx, 1);
        } else if (strcasecmp(text, "false") == 0 || strcmp(text, "0") == 0) {
            sqlite3_bind_int(st, idx, 0);
        } else {
            return -1;
        }
        return 0;
    case EMU_T_DECIMAL:
        if (emu_decimal_norm(text, col->prec, col->scale, buf, sizeof(buf)) != 0) {
            return -2;
        }
        break;
    case EMU_T_TIMESTAMP:
        if (emu_timestamp_norm(text, buf, sizeof(buf)) != 0) {
            return -1;
        }
        break;
    case EMU_T_DATE:
        if (emu_date_norm(text, buf, sizeof(buf)) != 0) {
            return -1;
        }
        break;
    case EMU_T_BINARY:
        sqlite3_bind_blob(st, idx, text, (int)strlen(text), SQLITE_TRANSIENT);
        return 0;
    case EMU_T_STRUCT:
    case EMU_T_MAP:
    case EMU_T_ARRAY:
        return bind_json(st, idx, text);
    default:
        sqlite3_bind_text(st, idx, text, -1, SQLITE_TRANSIENT);
        return 0;
    }
    sqlite3_bind_text(st, idx, buf, -1, SQLITE_TRANSIENT);
    return 0;
}

int emu_bind_text_as(sqlite3_stmt *st, int idx, const emu_col_t *col, const char *text, char *err,
                     size_t errlen)
{
    int rc;

    if (text == NULL) {
        sqlite3_bind_null(st, idx);
        return 0;
    }
    rc = bind_kind(st, idx, col, text);
    if (rc == -2) {
        snprintf(err, errlen,
                 "[NUMERIC_VALUE_OUT_OF_RANGE] The value '%.100s' cannot be represented as %s "
                 "(or is not a number) for column `%s`. SQLSTATE: 22003",
                 text, col->type, col->name);
    } else if (rc != 0) {
        snprintf(err, errlen,
                 "[CAST_INVALID_INPUT] The value '%.100s' of the type \"STRING\" cannot be cast "
                 "to \"%s\" because it is malformed (column `%s`). SQLSTATE: 22018",
                 text, col->type, col->name);
    }
    return rc == 0 ? 0 : -1;
}

char *emu_base64(const unsigned char *p, size_t len)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;
    size_t i;

    if (out == NULL) {
        return NULL;
    }
    for (i = 0; i + 2 < len; i += 3) {
        *o++ = tbl[p[i] >> 2];
        *o++ = tbl[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
        *o++ = tbl[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)];
        *o++ = tbl[p[i + 2] & 63];
    }
    if (i < len) {
        *o++ = tbl[p[i] >> 2];
        if (i + 1 < len) {
            *o++ = tbl[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
            *o++ = tbl[(p[i + 1] & 15) << 2];
        } else {
            *o++ = tbl[(p[i] & 3) << 4];
            *o++ = '=';
        }
        *o++ = '=';
    }
    *o = '\0';
    return out;
}

/* Shortest text that reads back as d, with ".0" when it looks integral. */
void emu_format_double(double d, char *out, size_t outlen)
{
    int prec;

    if (isnan(d)) {
        snprintf(out, outlen, "NaN");
        return;
    }
    if (isinf(d)) {
        snprintf(out, outlen, d > 0 ? "Infinity" : "-Infinity");
        return;
    }
    for (prec = 15; prec <= 17; prec++) {
        snprintf(out, outlen, "%.*g", prec, d);
        if (strtod(out, NULL) == d) {
            break;
        }
    }
    if (strpbrk(out, ".e") == NULL && strlen(out) + 3 <= outlen) {
        size_t n = strlen(out);
        snprintf(out + n, outlen - n, ".0");
    }
}

json_t *emu_format_value(sqlite3_stmt *st, int i, emu_kind_t kind, int scale)
{
    int t = sqlite3_column_type(st, i);
    char buf[128];
    const char *txt;
    char *b64;
    json_t *j;

    if (t == SQLITE_NULL) {
        return json_null();
    }
    if (t == SQLITE_BLOB) {
        b64 = emu_base64(sqlite3_column_blob(st, i), (size_t)sqlite3_column_bytes(st, i));
        j = b64 != NULL ? json_string(b64) : json_null();
        free(b64);
        return j;
    }
    if (kind == EMU_T_BOOLEAN && t == SQLITE_INTEGER) {
        return json_string(sqlite3_column_int64(st, i) != 0 ? "true" : "false");
    }
    if (kind == EMU_T_DECIMAL && t == SQLITE_INTEGER) {
        /* exact: an integer in a DECIMAL expression (COALESCE(d, 0), CASE ... THEN 5) */
        char num[64];
        snprintf(num, sizeof(num), "%lld", (long long)sqlite3_column_int64(st, i));
        if (emu_decimal_norm(num, 38, scale, buf, sizeof(buf)) == 0) {
            return json_string(buf);
        }
    }
    if (kind == EMU_T_DECIMAL && t != SQLITE_TEXT) {
        snprintf(buf, sizeof(buf), "%.*f", scale, sqlite3_column_double(st, i));
        return json_string(buf);
    }
    if (kind == EMU_T_DECIMAL) {
        txt = (const char *)sqlite3_column_text(st, i);
        if (emu_decimal_norm(txt, 38, scale, buf, sizeof(buf)) == 0) {
            return json_string(buf);
        }
        return json_string(txt);
    }
    if (t == SQLITE_FLOAT) {
        double d = sqlite3_column_double(st, i);

        /* an integer column holding a real: truncated when it fits in 64 bits
         * (the cast of a larger value, an infinity or NaN is undefined) */
        if ((kind == EMU_T_BIGINT || kind == EMU_T_INT) && d >= -9223372036854775808.0 &&
            d < 9223372036854775808.0) {
            snprintf(buf, sizeof(buf), "%lld", (long long)d);
        } else {
            emu_format_double(d, buf, sizeof(buf));
        }
        return json_string(buf);
    }
    if (t == SQLITE_INTEGER && (kind == EMU_T_DOUBLE || kind == EMU_T_FLOAT)) {
        emu_format_double((double)sqlite3_column_int64(st, i), buf, sizeof(buf));
        return json_string(buf);
    }
    txt = (const char *)sqlite3_column_text(st, i);
    j = json_string(txt != NULL ? txt : "");
    /* Text that is not UTF-8 cannot travel in JSON: shown as base64 of its bytes. */
    if (j == NULL) {
        b64 = emu_base64(sqlite3_column_blob(st, i), (size_t)sqlite3_column_bytes(st, i));
        j = b64 != NULL ? json_string(b64) : json_null();
        free(b64);
    }
    return j;
}
