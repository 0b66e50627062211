/*
 * registry_fixture: deltaport-schema-registry (the fake Confluent Schema
 * Registry of tools/schema-registry) as a child process of a CUnit test.
 *
 * dp_registry_fixture_start() starts it on 127.0.0.1 with port 0 and the
 * caller's extra arguments (--user U:P, --first-id N, --fault 503), waits for
 * its LISTENING line and fills rf->url. dp_registry_fixture_register() and
 * dp_registry_fixture_fault() drive it over HTTP (libcurl);
 * dp_registry_fixture_stop() sends SIGTERM and checks for a clean exit.
 * Thread: the test's thread.
 */
#ifndef DP_REGISTRY_FIXTURE_H
#define DP_REGISTRY_FIXTURE_H

#include "dp_proc.h"

typedef struct dp_registry_fixture {
    dp_proc_t proc;
    char url[128]; /* "http://127.0.0.1:PORT" */
    char dir[256]; /* temporary directory (its stderr log) */
    char stderr_log[300];
    const char *userpwd; /* "user:password" given with --user, or NULL */
    int exit_status;     /* set by stop: 0 after a clean SIGTERM exit */
} dp_registry_fixture_t;

/* Starts the fake; extra_args is NULL-terminated and may be NULL. A
 * "--user", "U:P" pair there is remembered (borrowed) for the helpers.
 * Returns 0 or -1 (nothing left running). */
int dp_registry_fixture_start(dp_registry_fixture_t *rf, const char *const *extra_args);

/* Stops the child and removes the directory (kept when DP_TEST_KEEP is set).
 * Safe twice and on a zeroed fixture. */
void dp_registry_fixture_stop(dp_registry_fixture_t *rf);

/* POSTs {"schema": <text of file or literal>} to /subjects/<subject>/versions.
 * Returns the id, or -1. schema_json is the schema text itself. */
long dp_registry_fixture_register(dp_registry_fixture_t *rf, const char *subject,
                                  const char *schema_json);

/* Same with the schema read from a file. */
long dp_registry_fixture_register_file(dp_registry_fixture_t *rf, const char *subject,
                                       const char *path);

/* POST /_admin/fault: status (0 clears), count (-1: until cleared), delay
 * before every API answer. Returns 0 or -1. */
int dp_registry_fixture_fault(dp_registry_fixture_t *rf, int status, long count, long delay_ms);

/* GET /_admin/stats: GET /schemas/ids/... requests served so far, or -1. */
long dp_registry_fixture_id_gets(dp_registry_fixture_t *rf);

/* One request; body may be NULL. *status gets the HTTP status and, when out
 * is not NULL, *out a new NUL-terminated body (free()). Returns 0 or -1. */
int dp_registry_fixture_http(dp_registry_fixture_t *rf, const char *method, const char *path,
                             const char *body, long *status, char **out);

#endif
