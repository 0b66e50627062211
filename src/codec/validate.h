/*
 * validate: the rules of the canonical event (docs/EVENTS.md), applied to
 * every event whatever its encoding, on views of the fields the decoder
 * extracted. Pure functions: no allocation, no state. Thread: any.
 */
#ifndef DP_VALIDATE_H
#define DP_VALIDATE_H

#include "codec/schema.h"

#include <stddef.h>
#include <stdint.h>

#define DP_EVENT_ID_MAX    256
#define DP_MERCHANT_ID_MAX 256
#define DP_EVENT_NAME_MAX  100
/* event_time and received_at must fall in [2000-01-01, 2100-01-01) UTC. */
#define DP_TIME_MIN_MICROS 946684800000000LL
#define DP_TIME_MAX_MICROS 4102444800000000LL
/* decimal(18,4): |unscaled| < 10^18. */
#define DP_DECIMAL_LIMIT 1000000000000000000LL

/* A borrowed string: not NUL-terminated. */
typedef struct dp_strview {
    const char *ptr;
    size_t len;
} dp_strview_t;

/* The fields of one event the rules (and the router) look at. Views borrow
 * the canonical body they were extracted from. */
typedef struct dp_event_view {
    dp_strview_t event_id;
    dp_strview_t event_name;
    dp_strview_t merchant_id;
    int64_t event_time; /* micros since the epoch */
    int has_received_at;
    int64_t received_at;
    int has_currency;
    dp_strview_t currency;
    int has_value;
    const uint8_t *value; /* decimal: big-endian two's complement unscaled */
    size_t value_len;
} dp_event_view_t;

/* Applies every rule; 0, or DP_EINVAL with rej naming the first failing
 * field (BAD_EVENT_ID, BAD_EVENT_NAME, BAD_MERCHANT_ID, BAD_TIMESTAMP,
 * BAD_CURRENCY, BAD_DECIMAL). */
int dp_validate_event(const dp_event_view_t *ev, dp_reject_t *rej);

/* 1 when name[0..len) is snake_case ^[a-z][a-z0-9_]*$ of at most 100 chars. */
int dp_validate_event_name(const char *name, size_t len);

/* 1 when code[0..len) is an ISO 4217 alphabetic code of the built-in list. */
int dp_validate_currency(const char *code, size_t len);

/* Decodes decimal bytes into *unscaled. 0, or -1 when empty, longer than 8
 * bytes or |unscaled| >= 10^18. */
int dp_decimal_from_bytes(const uint8_t *p, size_t len, int64_t *unscaled);

/* Writes the shortest big-endian two's complement form of v into out (8
 * bytes of room); returns its length (1..8). */
size_t dp_decimal_to_bytes(int64_t v, uint8_t out[8]);

#endif
