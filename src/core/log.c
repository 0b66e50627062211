/*
 * log: JSON-lines logger (see log.h). A line is built whole in a stack
 * buffer (LINE_MAX_ bytes) and written with one fwrite; every text that goes
 * into it passes dp_log_json_escape_n, so the line is valid UTF-8 JSON
 * whatever the bytes of the message or of a field.
 */
#include "core/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#define LINE_MAX_  16384
#define MODULE_MAX 64
/* Room kept for "...[cut, <20 digits> bytes]". */
#define CUT_RESERVE 40

_Atomic int dp_log_threshold = DP_LOG_INFO;
static _Atomic(FILE *) log_stream;

static const char *const level_names[] = {"debug", "info", "warn", "error", "fatal"};

void dp_log_set_level(dp_log_level_t level)
{
    atomic_store(&dp_log_threshold, (int)level);
}

int dp_log_parse_level(const char *name, dp_log_level_t *out)
{
    for (int i = 0; i <= DP_LOG_ERROR; i++) {
        if (strcasecmp(name, level_names[i]) == 0) {
            *out = (dp_log_level_t)i;
            return 0;
        }
    }
    return -1;
}

void dp_log_set_stream(FILE *stream)
{
    atomic_store(&log_stream, stream);
}

/* ------------------------------------------------------------------------- */
/* Escaping                                                                  */
/* ------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s[0..len), or 0 when it is not valid;
 * then *bad is the number of bytes to replace by one U+FFFD (the maximal
 * prefix of a valid sequence, at least 1). */
static size_t utf8_seq(const unsigned char *s, size_t len, size_t *bad)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t need, i;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* UTF-16 surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* past U+10FFFF */
    } else {
        *bad = 1; /* a continuation byte, C0, C1 or F5..FF */
        return 0;
    }
    for (i = 1; i < need; i++) {
        unsigned char b = i < len ? s[i] : 0;

        if (b < lo || b > hi) {
            *bad = i;
            return 0;
        }
        lo = 0x80;
        hi = 0xBF;
    }
    return need;
}

/* The escaped form of the character at s (tmp holds it, n its length);
 * returns the number of input bytes it stands for. */
static size_t escape_one(const unsigned char *s, size_t len, char tmp[8], size_t *n)
{
    unsigned char c = s[0];
    size_t seq, bad = 1;

    if (c == '"' || c == '\\') {
        tmp[0] = '\\';
        tmp[1] = (char)c;
        *n = 2;
        return 1;
    }
    if (c < 0x20 || c == 0x7F) {
        static const char hex[] = "0123456789abcdef";

        if (c == '\n' || c == '\r' || c == '\t') {
            tmp[0] = '\\';
            tmp[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
            *n = 2;
        } else {
            memcpy(tmp, "\\u00", 4);
            tmp[4] = hex[c >> 4];
            tmp[5] = hex[c & 15];
            *n = 6;
        }
        return 1;
    }
    seq = utf8_seq(s, len, &bad);
    if (seq == 0) {
        memcpy(tmp, "\\ufffd", 6);
        *n = 6;
        return bad;
    }
    memcpy(tmp, s, seq);
    *n = seq;
    return seq;
}

size_t dp_log_json_escape_n(char *out, size_t outlen, const char *s, size_t len, size_t whole_len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t limit, soft, o = 0, i = 0, cut_o = SIZE_MAX;
    int overflow = 0;

    if (outlen == 0)
        return 0;
    if (whole_len > len) {
        /* The text was cut before: drop a sequence cut short at its end
         * rather than show it as \ufffd. */
        size_t back = 1;

        while (back <= 3 && back <= len && (p[len - back] & 0xC0) == 0x80)
            back++;
        if (back <= len && p[len - back] >= 0xC0) {
            size_t bad = 0;

            if (utf8_seq(p + len - back, back, &bad) == 0 && bad == back)
                len -= back;
        }
    }
    limit = outlen - 1;
    soft = limit > CUT_RESERVE ? limit - CUT_RESERVE : 0;
    while (i < len) {
        char tmp[8];
        size_t n, used = escape_one(p + i, len - i, tmp, &n);

        if (o + n > soft && cut_o == SIZE_MAX)
            cut_o = o;
        if (o + n > limit) {
            overflow = 1;
            break;
        }
        memcpy(out + o, tmp, n);
        o += n;
        i += used;
    }
    if (!overflow && whole_len <= len) {
        out[o] = '\0';
        return o;
    }
    /* Cut: back to the last character boundary that leaves room for the
     * marker, then the marker with the whole length. */
    if (o > soft)
        o = cut_o == SIZE_MAX ? soft : cut_o;
    snprintf(out + o, outlen - o, DP_LOG_CUT_MARKER "%zu bytes]",
             whole_len > len ? whole_len : len);
    return o + strlen(out + o);
}

size_t dp_log_json_escape(char *out, size_t outlen, const char *s)
{
    size_t len = strlen(s);

    return dp_log_json_escape_n(out, outlen, s, len, len);
}

/* ------------------------------------------------------------------------- */
/* Lines                                                                     */
/* ------------------------------------------------------------------------- */

typedef struct line {
    char buf[LINE_MAX_];
    size_t len;
} line_t;

static void put_raw(line_t *l, const char *s)
{
    size_t n = strlen(s);

    if (l->len + n < sizeof(l->buf)) {
        memcpy(l->buf + l->len, s, n);
        l->len += n;
        l->buf[l->len] = '\0';
    }
}

/* Appends the escaped s[0..len) with at most max bytes of output. */
static void put_escaped(line_t *l, const char *s, size_t len, size_t whole, size_t max)
{
    size_t room = sizeof(l->buf) - l->len;

    if (room > max + 1)
        room = max + 1;
    l->len += dp_log_json_escape_n(l->buf + l->len, room, s, len, whole);
}

static void emit(dp_log_level_t level, const char *module, const dp_log_field_t *fields,
                 size_t nfields, const char *msg, size_t len, size_t whole)
{
    line_t l;
    char ts[48], frac[16];
    struct timeval tv;
    struct tm tm;
    FILE *out = atomic_load(&log_stream);

    if ((int)level < 0 || (int)level > DP_LOG_FATAL)
        level = DP_LOG_ERROR;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(frac, sizeof(frac), ".%03ldZ", (long)(tv.tv_usec / 1000));
    l.len = 0;
    l.buf[0] = '\0';
    put_raw(&l, "{\"ts\":\"");
    put_raw(&l, ts);
    put_raw(&l, frac);
    put_raw(&l, "\",\"level\":\"");
    put_raw(&l, level_names[level]);
    put_raw(&l, "\",\"module\":\"");
    module = module ? module : "?";
    put_escaped(&l, module, strlen(module), strlen(module), MODULE_MAX);
    put_raw(&l, "\",");
    for (size_t i = 0; i < nfields; i++) {
        /* Keep room for the message: fields that do not fit are left out. */
        if (!fields[i].key || !fields[i].value ||
            l.len + 2 * DP_LOG_FIELD_MAX + 1024 > sizeof(l.buf))
            continue;
        put_raw(&l, "\"");
        put_escaped(&l, fields[i].key, strlen(fields[i].key), strlen(fields[i].key), 64);
        put_raw(&l, "\":\"");
        put_escaped(&l, fields[i].value, strlen(fields[i].value), strlen(fields[i].value),
                    DP_LOG_FIELD_MAX);
        put_raw(&l, "\",");
    }
    put_raw(&l, "\"msg\":\"");
    /* 4 bytes stay for the closing "}\n and the NUL. */
    put_escaped(&l, msg, len, whole, sizeof(l.buf) - l.len - 4);
    put_raw(&l, "\"}\n");
    out = out ? out : stderr;
    fwrite(l.buf, 1, l.len, out);
    fflush(out);
}

void dp_log_write(dp_log_level_t level, const char *module, const char *fmt, ...)
{
    char msg[DP_LOG_MSG_MAX + 1];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0) {
        snprintf(msg, sizeof(msg), "(message could not be formatted)");
        n = (int)strlen(msg);
    }
    emit(level, module, NULL, 0, msg, (size_t)n < DP_LOG_MSG_MAX ? (size_t)n : DP_LOG_MSG_MAX,
         (size_t)n);
}

void dp_log_write_fields(dp_log_level_t level, const char *module, const dp_log_field_t *fields,
                         size_t nfields, const char *msg)
{
    size_t whole;

    if ((int)level < atomic_load(&dp_log_threshold))
        return;
    msg = msg ? msg : "";
    whole = strlen(msg);
    emit(level, module, fields, nfields, msg, whole < DP_LOG_MSG_MAX ? whole : DP_LOG_MSG_MAX,
         whole);
}
