/*
 * store: the state of deltaport-schema-registry, a fake Confluent Schema
 * Registry for tests: schemas with global ids, subjects with versions, and a
 * BACKWARD compatibility check. In memory only; thread-safe (one mutex),
 * because libmicrohttpd serves each connection on its own thread.
 *
 * Functions that answer JSON return new references (caller decrefs) or NULL
 * with e filled with the HTTP status and Confluent's error_code/message.
 */
#ifndef SR_STORE_H
#define SR_STORE_H

#include <jansson.h>
#include <pthread.h>

typedef struct sr_store sr_store_t;

typedef struct sr_error {
    int status; /* HTTP status */
    int code;   /* Confluent error_code (40401, 40403, 42201, ...) */
    char message[300];
} sr_error_t;

/* New empty store; ids are handed out from first_id up. NULL on OOM. */
sr_store_t *sr_store_new(long first_id);
void sr_store_destroy(sr_store_t *st);

/* POST /subjects/{subject}/versions: the id of text (the same id when the
 * same schema is registered again, in any subject), or -1 with e. */
long sr_store_register(sr_store_t *st, const char *subject, const char *text, sr_error_t *e);

/* GET /schemas/ids/{id}: {"schema": text}, or 40403. */
json_t *sr_store_schema(sr_store_t *st, long id, sr_error_t *e);

/* GET /subjects/{subject}/versions/{version} (-1 = latest):
 * {"subject","version","id","schema"}, or 40401 / 40402. */
json_t *sr_store_version(sr_store_t *st, const char *subject, long version, sr_error_t *e);

/* GET /subjects/{subject}/versions: [1, 2, ...], or 40401. */
json_t *sr_store_versions(sr_store_t *st, const char *subject, sr_error_t *e);

/* GET /subjects: ["a", ...]. */
json_t *sr_store_subjects(sr_store_t *st);

/* POST /subjects/{subject}: the version holding text, or 40401 / 40403. */
json_t *sr_store_lookup(sr_store_t *st, const char *subject, const char *text, sr_error_t *e);

/* POST /compatibility/subjects/{subject}/versions/latest:
 * {"is_compatible": bool, "messages": [why]}, or 40401 / 42201. */
json_t *sr_store_compatible(sr_store_t *st, const char *subject, const char *text, sr_error_t *e);

#endif
