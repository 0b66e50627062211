/*
 * avro_walk: our own bounds-checked reader of Avro binary over a compiled
 * schema (schema.h), and the small encoding buffer the codec writes into.
 *
 * Why not avro-c: avro-c 1.11.1 allocates whatever a length prefix says
 * before checking it against the bytes left, leaks on malformed input and
 * never notices trailing bytes (docs/PLATFORM.md, "Binary input"). The walker:
 *   - never allocates; values are views (pointer + length) into the input;
 *   - checks every length and count against the bytes left before using it,
 *     so work is bounded by the input size (items that encode to zero bytes
 *     draw on a fixed budget of DP_AVRO_ZERO_ITEM_BUDGET per walk);
 *   - validates UTF-8 of strings, union indices, enum indices, int range;
 *   - rejects a record followed by trailing bytes.
 * Errors are data errors (dp_reject_t) with the field path of the value.
 * Thread: any; a cursor belongs to one thread.
 */
#ifndef DP_AVRO_WALK_H
#define DP_AVRO_WALK_H

#include "codec/schema.h"
#include "core/buf.h"

#include <stddef.h>
#include <stdint.h>

#define DP_AVRO_ZERO_ITEM_BUDGET 65536

/* One value read by the walker. Pointers borrow the walked buffer. */
typedef struct dp_avro_value {
    uint32_t node;      /* node of the value, after union resolution */
    int32_t branch;     /* union branch taken, -1 when the type is not a union */
    uint8_t is_null;    /* 1 for a null value */
    int64_t l;          /* boolean, int, long, enum index */
    double d;           /* float, double */
    const uint8_t *ptr; /* string/bytes/fixed: content; record/array/map: encoding */
    size_t len;
    const uint8_t *raw; /* the whole encoding of the value, union index included */
    size_t raw_len;
} dp_avro_value_t;

typedef struct dp_avro_cursor {
    const uint8_t *p, *end, *base;
    const dp_schema_t *schema;
    dp_reject_t *rej; /* may be NULL */
    uint32_t budget;  /* zero-byte items still allowed */
    int depth;
    int trusted; /* 1: strings were validated already (skip the UTF-8 check) */
    const char *path[DP_SCHEMA_MAX_DEPTH + 2];
} dp_avro_cursor_t;

/* Starts a cursor over buf[0..len) (borrowed). path_root names the value
 * being walked in error paths (NULL for "$"). */
void dp_avro_cursor_init(dp_avro_cursor_t *cur, const dp_schema_t *schema, const void *buf,
                         size_t len, const char *path_root, dp_reject_t *rej);

/* Reads a zig-zag varint long. 0, or DP_EINVAL (TRUNCATED, BAD_VARINT). */
int dp_avro_read_long(dp_avro_cursor_t *cur, int64_t *out);

/* Reads (and fully validates) one value of `node`, resolving a union.
 * Returns 0 or DP_EINVAL with the reject set. */
int dp_avro_read_value(dp_avro_cursor_t *cur, uint32_t node, dp_avro_value_t *v);

/* Walks a whole record body: every byte of buf[0..len) must be one record of
 * node rec (TRAILING_BYTES otherwise). When fields is not NULL it receives
 * the nfields (>= the record's field count) top-level values. Returns 0 or
 * DP_EINVAL. No allocation. Thread: any. */
int dp_avro_walk_record(const dp_schema_t *schema, uint32_t rec, const void *buf, size_t len,
                        dp_avro_value_t *fields, size_t nfields, dp_reject_t *rej);

/* The same walk for a body whose strings are known to be valid UTF-8: one
 * this process encoded itself from validated input (the JSON encoder, the
 * writer-schema resolution). Every bound is still checked; only the UTF-8
 * check, already done on the input, is skipped, so each string is validated
 * once whatever the path. */
int dp_avro_walk_record_trusted(const dp_schema_t *schema, uint32_t rec, const void *buf,
                                size_t len, dp_avro_value_t *fields, size_t nfields,
                                dp_reject_t *rej);

/* Iterates the items of an array or map value (v from dp_avro_read_value). */
typedef struct dp_avro_iter {
    dp_avro_cursor_t cur;
    uint32_t items; /* node of the items */
    int is_map;
    int64_t left; /* items left in the current block */
} dp_avro_iter_t;

void dp_avro_iter_init(dp_avro_iter_t *it, const dp_schema_t *schema, const dp_avro_value_t *v,
                       dp_reject_t *rej);

/* Returns 1 with the next item (key: map key, may be NULL), 0 at the end, or
 * DP_EINVAL on malformed input. */
int dp_avro_iter_next(dp_avro_iter_t *it, dp_avro_value_t *key, dp_avro_value_t *val);

/* 1 when s[0..len) is valid UTF-8 (no overlongs, surrogates or > U+10FFFF).
 * ASCII is checked 16 bytes at a time. */
int dp_utf8_valid(const uint8_t *s, size_t len);

#endif
