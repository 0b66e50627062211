/*
 * log: JSON-lines logger (see log.h). Lines are bounded (4 KiB of message);
 * a longer message is cut, never split over two lines.
 */
#include "log.h"

#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

volatile int dp_log_threshold = DP_LOG_INFO;
static FILE *log_stream;

static const char *const level_names[] = {"debug", "info", "warn", "error", "fatal"};

void dp_log_set_level(dp_log_level_t level)
{
    dp_log_threshold = (int)level;
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
    log_stream = stream;
}

size_t dp_log_json_escape(char *out, size_t outlen, const char *s)
{
    size_t o = 0;

    if (outlen == 0)
        return 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char tmp[8];
        size_t n;

        if (c == '"' || c == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)c;
            n = 2;
        } else if (c == '\n') {
            memcpy(tmp, "\\n", 2);
            n = 2;
        } else if (c < 0x20) {
            n = (size_t)snprintf(tmp, sizeof(tmp), "\\u%04x", c);
        } else {
            tmp[0] = (char)c;
            n = 1;
        }
        if (o + n >= outlen)
            break;
        memcpy(out + o, tmp, n);
        o += n;
    }
    out[o] = '\0';
    return o;
}

void dp_log_write(dp_log_level_t level, const char *module, const char *fmt, ...)
{
    char msg[4096], esc[8192], line[8448], ts[40];
    struct timeval tv;
    struct tm tm;
    va_list ap;
    int n;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    dp_log_json_escape(esc, sizeof(esc), msg);
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    if ((int)level < 0 || (int)level > DP_LOG_FATAL)
        level = DP_LOG_ERROR;
    n = snprintf(line, sizeof(line), "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"module\":\"%s\",\"msg\":\"%s\"}\n",
                 ts, (long)(tv.tv_usec / 1000), level_names[level], module, esc);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(line))
        n = (int)sizeof(line) - 1;
    fwrite(line, 1, (size_t)n, log_stream ? log_stream : stderr);
    fflush(log_stream ? log_stream : stderr);
}
