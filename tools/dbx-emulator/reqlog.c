/*
 * reqlog: JSON-lines request log (see reqlog.h). The statement text is cut at
 * 200 characters on a UTF-8 boundary so that the line stays valid JSON.
 */
#include "reqlog.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STATEMENT_PREFIX_CHARS 200

struct emu_reqlog {
    pthread_mutex_t mu;
    FILE *fp;
};

emu_reqlog_t *emu_reqlog_open(const char *path)
{
    emu_reqlog_t *log = calloc(1, sizeof(*log));

    if (log == NULL) {
        return NULL;
    }
    log->fp = fopen(path, "a");
    if (log->fp == NULL) {
        free(log);
        return NULL;
    }
    pthread_mutex_init(&log->mu, NULL);
    return log;
}

void emu_reqlog_close(emu_reqlog_t *log)
{
    if (log == NULL) {
        return;
    }
    fclose(log->fp);
    pthread_mutex_destroy(&log->mu);
    free(log);
}

/* Byte length of the first `chars` UTF-8 characters of s. */
static size_t utf8_prefix_len(const char *s, size_t chars)
{
    size_t i = 0, n = 0;

    while (s[i] != '\0' && n < chars) {
        i++;
        while (((unsigned char)s[i] & 0xC0) == 0x80) {
            i++;
        }
        n++;
    }
    return i;
}

/* A JSON string for s; bytes that are not UTF-8 (a raw path) become a marker
 * instead of losing the whole line. Returns new. */
static json_t *safe_string(const char *s, size_t len)
{
    json_t *v = json_stringn(s, len);

    return v != NULL ? v : json_string("(not UTF-8)");
}

static void set_opt_string(json_t *o, const char *key, const char *value)
{
    if (value != NULL) {
        json_object_set_new(o, key, safe_string(value, strlen(value)));
    }
}

static void format_ts(char *buf, size_t len)
{
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

void emu_reqlog_write(emu_reqlog_t *log, const emu_reqlog_entry_t *e)
{
    char ts[40];
    char *line = NULL;
    json_t *o = NULL;

    if (log == NULL) {
        return;
    }
    format_ts(ts, sizeof(ts));
    o = json_pack("{s:s, s:s, s:o, s:o, s:i, s:o, s:I, s:I}", "ts", ts, "method",
                  e->method ? e->method : "", "path",
                  safe_string(e->path ? e->path : "", strlen(e->path ? e->path : "")), "query",
                  safe_string(e->query ? e->query : "", strlen(e->query ? e->query : "")), "status",
                  e->status, "principal",
                  e->principal ? safe_string(e->principal, strlen(e->principal)) : json_null(),
                  "bytes_in", (json_int_t)e->bytes_in, "bytes_out", (json_int_t)e->bytes_out);
    if (o == NULL) {
        goto out;
    }
    set_opt_string(o, "statement_id", e->statement_id);
    if (e->statement != NULL) {
        json_object_set_new(
            o, "statement",
            json_stringn(e->statement, utf8_prefix_len(e->statement, STATEMENT_PREFIX_CHARS)));
    }
    set_opt_string(o, "fault", e->fault);
    line = json_dumps(o, JSON_COMPACT);
    if (line == NULL) {
        goto out;
    }
    pthread_mutex_lock(&log->mu);
    fprintf(log->fp, "%s\n", line);
    fflush(log->fp);
    pthread_mutex_unlock(&log->mu);
out:
    free(line);
    json_decref(o);
}
