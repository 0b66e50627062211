/*
 * fuzz_registry: what the worker does with a Schema Registry's answer
 * (src/codec/registry.c): the response parsers (dp_registry_parse_schema,
 * dp_registry_parse_error_code), then the writer schema it carries added to
 * a decoder (dp_decoder_add_schema: parsing, compatibility with the canonical
 * schema, the conversion program) and one message decoded with it.
 *
 * Input: the response body, optionally followed by a NUL byte and an Avro
 * body; the body is decoded as a Confluent frame with the schema's id, so
 * that the conversion program compiled from a hostile schema runs on hostile
 * data. (A JSON body cannot hold a raw NUL, so the split is unambiguous.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/decode.h"
#include "codec/registry.h"
#include "fuzz_util.h"

#define FUZZ_ID 100u

static dp_decoder_t *dec;
static dp_decode_scratch_t scratch;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    dp_err_t err;

    (void)argc;
    (void)argv;
    dp_fuzz_quiet_logs();
    dec = dp_decoder_open(DP_SOURCE_DIR "/schemas", &err);
    if (dec == NULL) {
        fprintf(stderr, "fuzz_registry: set-up failed: %s\n", err.msg);
        abort();
    }
    dp_decode_scratch_init(&scratch, 2 * DP_DECODE_DEFAULT_MAX_MESSAGE);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t json_len = nul ? (size_t)(nul - data) : size;
    char *text = NULL, type[24];
    size_t len = 0;
    dp_decoded_t out;
    dp_err_t err;
    uint8_t *frame;

    dp_registry_parse_error_code((const char *)data, json_len);
    if (dp_registry_parse_schema((const char *)data, json_len, &text, &len, type, sizeof(type)) !=
        0) {
        return 0;
    }
    if (dp_decoder_add_schema(dec, FUZZ_ID, text, len, &err) == 0 && nul != NULL) {
        size_t body = size - json_len - 1;

        frame = malloc(5 + body);
        if (frame == NULL) {
            abort();
        }
        frame[0] = 0;
        frame[1] = 0;
        frame[2] = 0;
        frame[3] = 0;
        frame[4] = (uint8_t)FUZZ_ID;
        memcpy(frame + 5, nul + 1, body);
        dp_decode_message(dec, NULL, frame, 5 + body, &out, &scratch, &err);
        free(frame);
    }
    free(text);
    return 0;
}
