/*
 * log: one JSON object per line on stderr (style.md 11):
 *   {"ts":"2026-11-24T06:41:55.123Z","level":"warn","module":"stager","msg":"..."}
 * The level is checked before formatting. Messages must never carry a secret:
 * callers log ids, sizes and error texts, never tokens or payloads.
 */
#ifndef DP_LOG_H
#define DP_LOG_H

#include <stdio.h>

typedef enum {
    DP_LOG_DEBUG = 0,
    DP_LOG_INFO = 1,
    DP_LOG_WARN = 2,
    DP_LOG_ERROR = 3,
    DP_LOG_FATAL = 4,
} dp_log_level_t;

/* Current threshold; lines below it are dropped before formatting. */
extern volatile int dp_log_threshold;

/* Sets the threshold. Thread: any (a plain store). */
void dp_log_set_level(dp_log_level_t level);

/* Parses "debug|info|warn|error"; returns 0 and sets *out, or -1. */
int dp_log_parse_level(const char *name, dp_log_level_t *out);

/* Redirects output (default stderr); the stream is borrowed. Thread: before
 * other threads log. */
void dp_log_set_stream(FILE *stream);

/* Formats and writes one line. Use the dp_log() macro. Thread: any (each line
 * is written with one fwrite under the stream's lock). */
void dp_log_write(dp_log_level_t level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define dp_log(level, module, ...)                                                                 \
    do {                                                                                           \
        if ((int)(level) >= dp_log_threshold)                                                      \
            dp_log_write((level), (module), __VA_ARGS__);                                          \
    } while (0)

/* Appends s to out (size outlen, always NUL-terminated) as the body of a JSON
 * string: quotes, backslashes and control characters escaped. Returns the
 * number of bytes written (excluding the NUL). */
size_t dp_log_json_escape(char *out, size_t outlen, const char *s);

#endif
