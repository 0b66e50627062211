/*
 * log: one JSON object per line on stderr:
 *   {"ts":"2026-11-24T06:41:55.123Z","level":"warn","module":"stager","msg":"..."}
 * and, for lines with fields (librdkafka's, the progress line), the fields
 * between "module" and "msg":
 *   {"ts":...,"level":"error","module":"rdkafka","worker_id":"w-1","group":"g",
 *    "fac":"FAIL","msg":"..."}
 *
 * Every line is valid UTF-8 JSON whatever the text it carries: quotes,
 * backslashes and control characters are escaped, bytes that are not valid
 * UTF-8 become \ufffd, and a value too long for its bound is cut at a
 * character boundary and ends with DP_LOG_CUT_MARKER and its length in bytes
 * ("...[cut, 9000 bytes]"). A line is never split in two.
 *
 * The level is checked before formatting. Messages must never carry a secret:
 * callers log ids, sizes and error texts, never tokens or payloads.
 *
 * Thread: every function may be called from any thread (librdkafka's
 * threads log through here too); each line is written with one fwrite, which
 * holds the stream's lock, so lines never interleave.
 */
#ifndef DP_LOG_H
#define DP_LOG_H

#include <stddef.h>
#include <stdio.h>

typedef enum {
    DP_LOG_DEBUG = 0,
    DP_LOG_INFO = 1,
    DP_LOG_WARN = 2,
    DP_LOG_ERROR = 3,
    DP_LOG_FATAL = 4,
} dp_log_level_t;

/* The bound of a message, in bytes before escaping; longer ones are cut. */
#define DP_LOG_MSG_MAX 4096
/* The bound of one field value, in bytes after escaping. */
#define DP_LOG_FIELD_MAX 512
/* What a cut value ends with, followed by its whole length: "...[cut, N bytes]". */
#define DP_LOG_CUT_MARKER "...[cut, "

/* Current threshold; lines below it are dropped before formatting. */
extern _Atomic int dp_log_threshold;

/* Sets the threshold. */
void dp_log_set_level(dp_log_level_t level);

/* Parses "debug|info|warn|error"; returns 0 and sets *out, or -1. */
int dp_log_parse_level(const char *name, dp_log_level_t *out);

/* Redirects output (default stderr; NULL restores it); the stream is
 * borrowed and must stay open until it is replaced. */
void dp_log_set_stream(FILE *stream);

/* Formats and writes one line. Use the dp_log() macro. */
void dp_log_write(dp_log_level_t level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define dp_log(level, module, ...)                                                                 \
    do {                                                                                           \
        if ((int)(level) >= dp_log_threshold)                                                      \
            dp_log_write((level), (module), __VA_ARGS__);                                          \
    } while (0)

/* One extra key of a line. key and value are borrowed; a NULL value leaves
 * the field out. Keys are the caller's constants ([a-z_]), values any text. */
typedef struct dp_log_field {
    const char *key;
    const char *value;
} dp_log_field_t;

/* Writes one line with fields[0..nfields) before "msg" (not formatted:
 * msg is taken as is, up to DP_LOG_MSG_MAX bytes). The caller checks the
 * level first (or lets this function drop the line). */
void dp_log_write_fields(dp_log_level_t level, const char *module, const dp_log_field_t *fields,
                         size_t nfields, const char *msg);

/* Writes s[0..len) into out (size outlen, always NUL-terminated) as the body
 * of a JSON string: '"' and '\' escaped, control characters and DEL as \n,
 * \r, \t or \u00XX, bytes that are not valid UTF-8 (stray continuation
 * bytes, overlong forms, surrogates, past U+10FFFF, a sequence cut short) as
 * \ufffd, valid UTF-8 kept. When the result does not fit, it is cut at a
 * character boundary and ends with "...[cut, <whole> bytes]", where whole is
 * whole_len (the length of the text before it was bounded; pass len when s
 * is the whole text). Returns the number of bytes written (excluding the
 * NUL). outlen must be at least 64 for the marker to fit. */
size_t dp_log_json_escape_n(char *out, size_t outlen, const char *s, size_t len, size_t whole_len);

/* dp_log_json_escape_n over the NUL-terminated s. */
size_t dp_log_json_escape(char *out, size_t outlen, const char *s);

#endif
