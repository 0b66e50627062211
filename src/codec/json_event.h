/*
 * json_event: a JSON object (jansson) -> Avro binary of a compiled record
 * schema, field by field, with the field path in every error. avro-c has no
 * JSON -> datum (docs/PLATFORM.md, "No JSON input"), and it would lose
 * logical types.
 *
 * Accepted JSON per Avro type (docs/EVENTS.md, "JSON input"):
 *   string          JSON string only (no stringified numbers)
 *   long/int        JSON integer (int: 32-bit range)
 *   timestamp-*     JSON integer in the unit of the type, or an ISO-8601
 *                   string "2026-11-24T06:41:55.123Z" / "...+01:00"
 *                   (fractions beyond microseconds are truncated)
 *   decimal(p,s)    JSON string "12.34" (exact), or JSON number with at most
 *                   s decimals after its shortest round-trip form
 *   union           null -> the null branch; otherwise the first branch that
 *                   accepts the JSON type
 *   record          object; absent or null fields take the default, or are
 *                   MISSING_FIELD when the field has none
 *   map/array       object/array; map<string> values must be JSON strings
 * Unknown fields (keys no record of the schema holds, at any depth): when the
 * top-level record has a raw_payload string field and the object does not
 * set it, the whole original JSON text goes into raw_payload so nothing is
 * lost; otherwise they are UNKNOWN_FIELD.
 * Thread: any. Allocation: none beyond growing `out` (bounded by its max).
 */
#ifndef DP_JSON_EVENT_H
#define DP_JSON_EVENT_H

#include "codec/avro_walk.h"
#include "codec/schema.h"

#include <jansson.h>
#include <stdint.h>

/* Appends the encoding of object `root` as the schema's root record to out.
 * text/text_len: the original JSON text (for raw_payload), may be NULL.
 * Returns 0, or DP_EINVAL with rej set (MISSING_FIELD, UNKNOWN_FIELD,
 * BAD_TYPE, BAD_DECIMAL, BAD_TIMESTAMP, TOO_LARGE when out is full). */
int dp_json_event_encode(const dp_schema_t *schema, const json_t *root, const char *text,
                         size_t text_len, dp_buf_t *out, dp_reject_t *rej);

/* Appends the encoding of a field default (Avro default rules: a union
 * default is a value of the first branch) of type `node`. 0 or DP_EINVAL. */
int dp_json_encode_default(const dp_schema_t *schema, uint32_t node, const json_t *defval,
                           dp_buf_t *out, dp_reject_t *rej);

/* Parses an ISO-8601 / RFC 3339 date-time with a Z or +hh:mm offset into
 * microseconds since the epoch. 0 or -1. */
int dp_iso8601_to_micros(const char *s, size_t len, int64_t *micros);

/* Parses a plain decimal "[-+]digits[.digits]" with at most `scale` decimals
 * into an unscaled integer (value * 10^scale) with |unscaled| < 10^precision.
 * 0, or -1 with a reason in why (static). */
int dp_decimal_parse(const char *s, size_t len, int precision, int scale, int64_t *unscaled,
                     const char **why);

#endif
