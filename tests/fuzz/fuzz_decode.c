/*
 * fuzz_decode: the message decoder (src/codec/decode.c) on hostile bytes: framing,
 * Confluent Avro bodies (canonical pass-through and the conversion program of
 * an older writer schema), plain Avro of a topic with a fixed writer schema,
 * and JSON events.
 *
 * Every input is decoded three ways: with no topic (the first byte picks the
 * framing), and as plain Avro of writer schema 1 (canonical) and 2 (older).
 * Oracle beyond the sanitizers: a body the decoder produced (conversion or
 * JSON) is canonical Avro, so decoding it again as plain canonical Avro must
 * succeed and give the same event id and name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/decode.h"
#include "fuzz_util.h"

static dp_decoder_t *dec;
static dp_decode_scratch_t scratch, scratch2;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    dp_err_t err;

    (void)argc;
    (void)argv;
    dp_fuzz_quiet_logs();
    dec = dp_decoder_open(DP_SOURCE_DIR "/schemas", &err);
    if (dec == NULL || dp_decoder_set_topic_schema(dec, "plain1", 1, &err) < 0 ||
        dp_decoder_set_topic_schema(dec, "plain2", 2, &err) < 0) {
        fprintf(stderr, "fuzz_decode: set-up failed: %s\n", err.msg);
        abort();
    }
    dp_decode_scratch_init(&scratch, 2 * DP_DECODE_DEFAULT_MAX_MESSAGE);
    dp_decode_scratch_init(&scratch2, 2 * DP_DECODE_DEFAULT_MAX_MESSAGE);
    return 0;
}

static int same(const dp_strview_t *a, const dp_strview_t *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->ptr, b->ptr, a->len) == 0);
}

/* Decodes a produced body again as canonical plain Avro (see above). */
static void recheck(const dp_decoded_t *out)
{
    dp_decoded_t again;
    dp_err_t err;
    uint8_t *copy;

    if (out->passthrough || out->body_len == 0) {
        return;
    }
    copy = malloc(out->body_len);
    if (copy == NULL) {
        abort();
    }
    memcpy(copy, out->body, out->body_len);
    if (dp_decode_message(dec, "plain1", copy, out->body_len, &again, &scratch2, &err) != 0) {
        fprintf(stderr, "fuzz_decode: a body the decoder produced does not decode again: %s\n",
                err.msg);
        abort();
    }
    if (!same(&again.ev.event_id, &out->ev.event_id) ||
        !same(&again.ev.event_name, &out->ev.event_name) ||
        again.ev.event_time != out->ev.event_time) {
        fprintf(stderr, "fuzz_decode: the produced body decodes to another event\n");
        abort();
    }
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const topics[] = {NULL, "plain1", "plain2"};
    dp_decoded_t out;
    dp_err_t err;

    for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++) {
        if (dp_decode_message(dec, topics[i], data, size, &out, &scratch, &err) == 0) {
            recheck(&out);
        }
    }
    return 0;
}
