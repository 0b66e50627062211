/*
 * faults: the emulator's fault-injection table.
 *
 * A fault is a rule {endpoint, kind, count, rate, statement, ...} set from the command
 * line (--fault JSON) or at run time through POST /_emulator/faults. Every
 * request of the API asks emu_faults_match() once, with the name of its
 * endpoint; the first rule that matches, still has a remaining count and wins
 * its probability draw is applied and its count decremented. Rules whose count
 * reaches zero stay listed (remaining 0) until DELETE /_emulator/faults.
 * Probability draws use a seeded xorshift PRNG, so a run is reproducible.
 * Invariant: the table is only touched under its own mutex; every function is
 * thread-safe.
 */
#ifndef EMU_FAULTS_H
#define EMU_FAULTS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct emu_faults emu_faults_t;

typedef enum {
    EMU_FAULT_NONE = 0,
    EMU_FAULT_429,
    EMU_FAULT_503,
    EMU_FAULT_500,
    EMU_FAULT_DROP,        /* response truncated, connection closed */
    EMU_FAULT_PENDING,     /* statement stays PENDING for `seconds` */
    EMU_FAULT_FAILED,      /* statement FAILED with error_class, not executed */
    EMU_FAULT_EXPIRE_TOKEN /* this request's bearer token is treated as expired */
} emu_fault_kind_t;

/* One applied fault, copied out of the table (no pointers into it). */
typedef struct emu_fault_hit {
    emu_fault_kind_t kind;
    char kind_name[16];    /* "429", "drop", ... for the request log */
    int retry_after;       /* seconds; <= 0: no Retry-After header */
    double seconds;        /* pending duration */
    char error_class[128]; /* failed: e.g. "DELTA_FAILED_TO_MERGE_FIELDS" */
    char error_code[64];   /* failed: status.error.error_code, default "BAD_REQUEST" */
} emu_fault_hit_t;

/* Creates an empty table whose PRNG starts from seed.
 * Returns new (free with emu_faults_destroy) or NULL on OOM. Thread: any. */
emu_faults_t *emu_faults_new(uint64_t seed);

/* Frees the table; NULL is a no-op. Thread: once no request runs. */
void emu_faults_destroy(emu_faults_t *faults);

/* Parses one fault rule from JSON text and appends it.
 * errbuf (may be NULL) receives the reason on failure.
 * Returns 0, or -1 when the JSON or a field is invalid. Thread: any. */
int emu_faults_add_json(emu_faults_t *faults, const char *json, char *errbuf, size_t errlen);

/* Same from a parsed object (borrowed). Returns 0 or -1. Thread: any. */
int emu_faults_add(emu_faults_t *faults, const json_t *rule, char *errbuf, size_t errlen);

/* Removes every rule. Thread: any. */
void emu_faults_clear(emu_faults_t *faults);

/* Returns new: {"faults":[{rule fields..., "remaining": N|null, "fired": N}]}. Thread: any. */
json_t *emu_faults_list(emu_faults_t *faults);

/* Finds the first rule applying to endpoint (e.g. "files.upload") and, when
 * one fires, fills hit and consumes one of its count. Rules of kind pending and
 * failed apply only to "statements.submit"; expire_token never applies to
 * "oauth.token". Returns 1 when a fault fires, 0 otherwise (hit->kind NONE).
 * Thread: any. */
int emu_faults_match(emu_faults_t *faults, const char *endpoint, emu_fault_hit_t *hit);

/* The same for a submitted statement once its text is read: the rules of
 * endpoint statements.submit that name this statement kind (a "statement"
 * field, e.g. "COPY INTO", as emu_sim_statement_kind() spells it), which
 * emu_faults_match() never applies. Returns 1 when one fires. Thread: any. */
int emu_faults_match_statement(emu_faults_t *faults, const char *statement, emu_fault_hit_t *hit);

/* Returns 1 when pattern ("*", "files.*", "files.upload") covers endpoint. Pure. */
int emu_faults_endpoint_matches(const char *pattern, const char *endpoint);

#endif
