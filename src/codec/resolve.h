/*
 * resolve: reads Avro written with one schema as another (the canonical),
 * mapping record fields BY NAME: Avro schema resolution done by our own code,
 * because avro-c 1.11.1's resolver crashes when the reader adds a field with
 * a default (docs/PLATFORM.md, "Schemas").
 *
 * dp_resolver_new() decides compatibility once per writer schema and
 * compiles a conversion program; dp_resolver_run() then converts one body
 * per message into a caller-owned buffer without allocating (beyond growing
 * that buffer to its cap). Supported: reader fields missing from the writer
 * take their default; writer fields missing from the reader are skipped;
 * unions on either side (a writer branch the reader cannot hold fails only
 * when a message uses it: null for a required field is MISSING_FIELD);
 * int->long/float/double, long->float/double, float->double,
 * string<->bytes; timestamp-millis -> timestamp-micros; enums whose symbols
 * are a prefix of the reader's; nested records, arrays and maps.
 * Thread: a resolver is immutable after creation; run it from any thread.
 */
#ifndef DP_RESOLVE_H
#define DP_RESOLVE_H

#include "codec/avro_walk.h"
#include "codec/schema.h"

typedef struct dp_resolver dp_resolver_t;

/* Compiles the program reading writer root records as reader root records.
 * Both schemas are borrowed and must outlive the resolver. Returns new (free
 * with dp_resolver_destroy), or NULL when incompatible, with the reason and
 * field path written to why (size whylen). */
dp_resolver_t *dp_resolver_new(const dp_schema_t *writer, const dp_schema_t *reader, char *why,
                               size_t whylen);

void dp_resolver_destroy(dp_resolver_t *res);

/* Converts body (already validated by dp_avro_walk_record against the
 * writer schema) and appends the reader encoding to out. 0, or DP_EINVAL
 * with rej set (MISSING_FIELD, BAD_TYPE, BAD_TIMESTAMP, TOO_LARGE). */
int dp_resolver_run(const dp_resolver_t *res, const void *body, size_t len, dp_buf_t *out,
                    dp_reject_t *rej);

#endif
