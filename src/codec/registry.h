/*
 * registry: a client of a Confluent-compatible Schema Registry, the source of
 * writer schemas whose id (the 4 bytes after the 0x00 of a Confluent frame)
 * is not in schemas/ids (docs/SCHEMA_REGISTRY.md).
 *
 * It asks GET <url>/schemas/ids/<id> (response {"schema": "<schema JSON
 * text>", "schemaType": ...}) through the Databricks HTTP client of
 * src/dbx/http.h, so that TLS verification, timeouts, bounded bodies and the
 * one retry loop (retry.h) are shared; HTTP Basic auth is optional.
 *
 * Outcomes are remembered per id in a bounded cache (least recently used
 * entry forgotten first):
 *   - found: the schema text, until evicted;
 *   - not found (404 with error_code 40403): for not_found_ttl_ms, then asked
 *     again (the schema may be registered later);
 *   - unavailable (transport error, timeout, 5xx, 401/403, a 404 that is not
 *     the registry's 40403, a malformed body): for retry_ms. The id is not
 *     asked again sooner, however often its messages come back.
 * Invariant: an outage never turns into a rejection. Only the registry's own
 * "schema not found" (40403) says an id does not exist; the worker holds
 * messages whose schema is unavailable and tries again later.
 *
 * Thread: a client is used by one thread at a time (the worker's poll
 * thread); it holds no lock.
 */
#ifndef DP_REGISTRY_H
#define DP_REGISTRY_H

#include "codec/decode.h"
#include "core/err.h"
#include "core/retry.h"

#include <stddef.h>
#include <stdint.h>

struct dp_config;

typedef struct dp_registry dp_registry_t;

/* Client settings; strings are copied. Zero fields take the defaults in
 * brackets. */
typedef struct dp_registry_opts {
    const char *url;               /* "https://sr.example.com[:port][/prefix]" (required) */
    int allow_insecure_http;       /* accept http:// (a local registry) */
    const char *user;              /* HTTP Basic user, NULL = no auth */
    const char *password;          /* HTTP Basic password (with user) */
    const char *ca_file;           /* PEM bundle, NULL = system store */
    long timeout_ms;               /* one attempt, whole transfer [5000]; connect: half */
    int max_attempts;              /* attempts of one lookup, first included [2] */
    long retry_ms;                 /* an unavailable id is not asked again sooner [5000] */
    long not_found_ttl_ms;         /* a 40403 is remembered this long [60000] */
    size_t cache_max;              /* ids remembered, found or not [10000] */
    size_t max_schema_bytes;       /* largest response accepted [1 MiB] */
    const dp_retry_clock_t *clock; /* NULL = real monotonic clock and sleep */
} dp_registry_opts_t;

/* Creates a client. Returns new (free with dp_registry_destroy) or NULL
 * with err (DP_EINVAL: no URL, http:// without allow_insecure_http, an
 * unreadable CA file). Sends nothing yet. Thread: any. */
dp_registry_t *dp_registry_new(const dp_registry_opts_t *opts, dp_err_t *err);

/* Creates the client the configuration asks for (schemas.registry_*).
 * Returns new, or NULL with err->code DP_OK when no registry_url is set, or
 * NULL with err as dp_registry_new. cfg is borrowed for the call only. */
dp_registry_t *dp_registry_from_config(const struct dp_config *cfg, dp_err_t *err);

/* Frees the client; NULL is a no-op. */
void dp_registry_destroy(dp_registry_t *reg);

/* Looks up writer schema `id`: from the cache, else from the registry.
 * Returns 0 with *text borrowed (NUL-terminated, *len bytes; valid until the
 * next call on reg), or
 *   DP_ENOTFOUND  the registry does not know the id (err: "schema id N not
 *                 found in the registry at URL"), remembered not_found_ttl_ms;
 *   DP_EINVAL     the registry holds id but not as an Avro schema
 *                 (schemaType PROTOBUF or JSON), remembered not_found_ttl_ms;
 *   DP_EAGAIN     unavailable: err->retryable is 1 and err says why; nothing
 *                 is asked again for retry_ms (the cached answer comes back
 *                 with "next attempt in N ms").
 * text and len may be NULL. Thread: the client's thread. */
int dp_registry_get(dp_registry_t *reg, uint32_t id, const char **text, size_t *len, dp_err_t *err);

/* Fetches schema id (dp_registry_get) and adds it to dec
 * (dp_decoder_add_schema), so that decoding the message again succeeds or
 * fails on the data. Returns 0, or DP_ENOTFOUND / DP_EAGAIN as
 * dp_registry_get, or DP_EINVAL when the schema is not Avro or not a record
 * schema the decoder accepts (err says which). A schema that the decoder
 * adds but finds incompatible is 0: the decode then rejects its messages
 * INCOMPATIBLE_SCHEMA with the field and the rule.
 * Thread: the thread that decodes with dec (dp_decoder_add_schema). */
int dp_registry_load_into(dp_registry_t *reg, dp_decoder_t *dec, uint32_t id, dp_err_t *err);

/* Counters since creation, for tests and metrics. */
typedef struct dp_registry_stats {
    long requests;    /* HTTP attempts sent */
    long found;       /* lookups answered with a schema (cache included) */
    long not_found;   /* lookups answered 40403 (cache included) */
    long unavailable; /* lookups answered "unavailable" (cache included) */
    size_t cached;    /* ids remembered now */
} dp_registry_stats_t;

void dp_registry_stats(const dp_registry_t *reg, dp_registry_stats_t *out);

/* ------------------------------------------------------------------------- */
/* The response parsers (pure; exposed for tests/fuzz/fuzz_registry.c)        */
/* ------------------------------------------------------------------------- */

/* Reads the body of a 200 answer to GET /schemas/ids/<id>. Returns 0 with
 * *text new (caller frees; NUL-terminated, *textlen bytes, which may include
 * NULs) for an Avro schema (schemaType "AVRO" or absent); DP_EINVAL with the
 * schemaType in type (truncated to typelen) for any other type; DP_EAGAIN
 * when the body has no "schema" string. *text is NULL unless 0. */
int dp_registry_parse_schema(const char *body, size_t len, char **text, size_t *textlen, char *type,
                             size_t typelen);

/* The registry's integer error_code of an error body (40403: schema not
 * found), or 0 when the body has none. body may be NULL. */
long dp_registry_parse_error_code(const char *body, size_t len);

#endif
