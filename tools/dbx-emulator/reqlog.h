/*
 * reqlog: the emulator's request log, one JSON object a line per request.
 *
 * Fields: ts (UTC, ISO 8601 with milliseconds), method, path, query, status,
 * principal (null when unauthenticated), statement_id and statement (first 200
 * characters) for statement calls, bytes_in, bytes_out, fault (kind name, when
 * one fired). Authorization headers and tokens are never passed in, so they
 * can never be written. Lines are written whole under a mutex and flushed, so
 * a test may read the file while the emulator runs.
 */
#ifndef EMU_REQLOG_H
#define EMU_REQLOG_H

#include <stddef.h>

typedef struct emu_reqlog emu_reqlog_t;

/* One finished request; every pointer is borrowed and may be NULL. */
typedef struct emu_reqlog_entry {
    const char *method;
    const char *path;
    const char *query;
    int status;
    const char *principal;
    const char *statement_id;
    const char *statement;
    unsigned long long bytes_in;
    unsigned long long bytes_out;
    const char *fault;
} emu_reqlog_entry_t;

/* Opens path for appending. Returns new (free with emu_reqlog_close) or NULL
 * with errno set. Thread: main. */
emu_reqlog_t *emu_reqlog_open(const char *path);

/* Closes the log; NULL is a no-op. Thread: main, once no request runs. */
void emu_reqlog_close(emu_reqlog_t *log);

/* Appends one line; a NULL log is a no-op. Thread: any. */
void emu_reqlog_write(emu_reqlog_t *log, const emu_reqlog_entry_t *entry);

#endif
