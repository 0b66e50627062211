/*
 * decode: one Kafka message -> the canonical Avro body of a CanonicalEvent
 * plus borrowed views of the fields routing and stats need, or a rejection
 * with a stable code and a field path (docs/EVENTS.md).
 *
 * Wire formats, told apart per message:
 *   - a topic given a fixed writer schema (dp_decoder_set_topic_schema):
 *     every message is a plain Avro body of that schema;
 *   - byte 0x00: Confluent framing, 4-byte big-endian schema id, body;
 *   - first non-space byte '{': a JSON object (json_event.h);
 *   - anything else: FRAMING.
 * When the writer schema is the canonical one (dp_schema_equal) the body is
 * passed through: out->body points into the payload and nothing is
 * allocated or copied. Other writer schemas are read by field NAME into the
 * canonical order (missing optional fields take their default, int->long
 * and other Avro promotions, timestamp-millis -> micros) through a
 * conversion program compiled once when the schema is added; JSON is
 * encoded. Both write into the caller's scratch buffer.
 *
 * Thread: the decoder is built and given schemas on one thread, then is
 * read-only: any number of threads may call dp_decode_message at once, each
 * with its own dp_decode_scratch_t.
 */
#ifndef DP_DECODE_H
#define DP_DECODE_H

#include "codec/avro_walk.h"
#include "codec/schema.h"
#include "codec/validate.h"
#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

typedef struct dp_decoder dp_decoder_t;

typedef enum {
    DP_FORMAT_NONE = 0,
    DP_FORMAT_CONFLUENT,  /* 0x00 + schema id + body */
    DP_FORMAT_PLAIN_AVRO, /* topic with a fixed writer schema */
    DP_FORMAT_JSON,
} dp_decode_format_t;

/* Per-thread reusable output space; keeps its capacity between messages. */
typedef struct dp_decode_scratch {
    dp_buf_t body;
} dp_decode_scratch_t;

/* Result of one message. All pointers borrow the payload or the scratch and
 * stay valid until the next call with the same scratch. */
typedef struct dp_decoded {
    const uint8_t *body; /* canonical Avro body (binary CanonicalEvent) */
    size_t body_len;
    int passthrough; /* 1: body points into the payload */
    dp_decode_format_t format;
    uint32_t schema_id; /* Confluent/topic schema id; 0 for JSON */
    dp_event_view_t ev; /* event_id, event_name, event_time, ... */
    dp_reject_t reject; /* on failure: code, field path, reason */
} dp_decoded_t;

#define DP_DECODE_DEFAULT_MAX_MESSAGE (1u << 20)

/* Creates a decoder whose reader schema is the canonical schema given as
 * JSON text. Returns new (free with dp_decoder_destroy) or NULL with err
 * (DP_EINVAL: bad schema or a canonical field missing). Thread: any. */
dp_decoder_t *dp_decoder_new(const char *canonical_json, size_t len, dp_err_t *err);

/* Creates a decoder from a schemas directory: DIR/canonical_event.avsc and
 * every DIR/ids/<id>.avsc. Returns new or NULL (DP_EIO, DP_EINVAL). */
dp_decoder_t *dp_decoder_open(const char *schemas_dir, dp_err_t *err);

/* Frees a decoder; NULL is a no-op. */
void dp_decoder_destroy(dp_decoder_t *dec);

/* Adds (or replaces) writer schema `id`. The compatibility with the
 * canonical schema is decided here, once: an incompatible schema is kept and
 * logged, and every message with its id is rejected INCOMPATIBLE_SCHEMA.
 * Returns 0, or DP_EINVAL when the text is not a valid record schema.
 * Thread: not concurrently with dp_decode_message (the cache is pluggable:
 * a registry client calls this before messages of a new id are decoded). */
int dp_decoder_add_schema(dp_decoder_t *dec, uint32_t id, const char *json_text, size_t len,
                          dp_err_t *err);

/* Loads every DIR/<digits>.avsc as writer schema <digits>. 0, DP_EIO or
 * DP_EINVAL (the first failure; files before it stay loaded). */
int dp_decoder_load_ids(dp_decoder_t *dec, const char *ids_dir, dp_err_t *err);

/* 1 when schema id is loaded and compatible (why may be NULL; gets the
 * reason otherwise), 0 when incompatible, -1 when unknown. */
int dp_decoder_schema_status(const dp_decoder_t *dec, uint32_t id, const char **why);

/* Declares that every message of `topic` is plain Avro of writer schema id.
 * 0, or DP_ENOTFOUND when id is not loaded. */
int dp_decoder_set_topic_schema(dp_decoder_t *dec, const char *topic, uint32_t id, dp_err_t *err);

/* Largest payload accepted (default 1 MiB); larger ones are TOO_LARGE. */
void dp_decoder_set_max_message(dp_decoder_t *dec, size_t max);

/* The canonical schema (borrowed, valid for the decoder's life). */
const dp_schema_t *dp_decoder_canonical(const dp_decoder_t *dec);

/* Scratch with an output cap of `max` bytes (2 x max message is plenty). */
void dp_decode_scratch_init(dp_decode_scratch_t *scratch, size_t max);
void dp_decode_scratch_free(dp_decode_scratch_t *scratch);

/* Decodes and validates one message. topic may be NULL. Returns 0 with out
 * filled, or DP_EINVAL with out->reject set and err->msg
 * "CODE $.path: reason". Never allocates on the pass-through path; the JSON
 * path allocates only inside jansson. Thread: any (see above). */
int dp_decode_message(const dp_decoder_t *dec, const char *topic, const void *payload, size_t len,
                      dp_decoded_t *out, dp_decode_scratch_t *scratch, dp_err_t *err);

#endif
