/*
 * decode_bench: single-thread throughput of dp_decode_message for the three
 * paths of the worker: canonical pass-through (Confluent id 1), an older
 * writer schema resolved into the canonical (id 2), and JSON encoded into
 * the canonical. Usage: decode_bench [SCHEMAS_DIR] [ITERATIONS_SCALE]
 * Prints events per CPU-second and MB/s of input per path; exits 1 if any
 * event fails.
 */
#include "codec/decode.h"
#include "codec/json_event.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef DP_SOURCE_DIR
#define DP_SOURCE_DIR "."
#endif

#define NMSG 1024

typedef struct msg {
    uint8_t *data;
    size_t len;
} msg_t;

/* CPU time of this process: the machine may be shared, and a single-thread
 * loop's CPU time is what the per-core rate means. */
static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void make_json(char *out, size_t outlen, int i, int old)
{
    if (old) {
        snprintf(out, outlen,
                 "{\"event_id\":\"evt-%08d-2f1c\",\"event_name\":\"product_viewed\","
                 "\"merchant_id\":\"merchant-0042\",\"event_time\":%lld,\"event_type\":\"track\","
                 "\"received_at\":%lld,\"user_id\":\"user-%d\",\"anonymous_id\":\"anon-%d\","
                 "\"session_seq\":%d,\"value\":\"%d.99\",\"currency\":\"EUR\","
                 "\"properties\":{\"sku\":\"SKU-%d\",\"color\":\"blue\",\"size\":\"M\"}}",
                 i, 1764000000000000LL + i, 1764000000000LL + i, i % 997, i, i % 50, i % 300, i);
        return;
    }
    snprintf(
        out, outlen,
        "{\"event_id\":\"evt-%08d-2f1c\",\"event_name\":\"product_viewed\","
        "\"event_time\":%lld,\"merchant_id\":\"merchant-0042\",\"event_type\":\"track\","
        "\"user_id\":\"user-%d\",\"anonymous_id\":\"anon-%d\",\"platform\":\"web\","
        "\"value\":\"%d.99\",\"currency\":\"EUR\","
        "\"attribution\":{\"campaign_id\":\"spring\",\"channel\":\"email\",\"medium\":\"cpc\"},"
        "\"context\":{\"ip\":\"203.0.113.7\",\"user_agent\":\"Mozilla/5.0 (X11; Linux x86_64)\","
        "\"locale\":\"en-GB\",\"page_url\":\"https://shop.example/p/%d\"},"
        "\"properties\":{\"sku\":\"SKU-%d\",\"color\":\"blue\",\"size\":\"M\"}}",
        i, 1764000000000000LL + i, i % 997, i, i % 300, i, i);
}

static msg_t framed(const dp_schema_t *schema, uint32_t id, const char *json)
{
    json_error_t jerr;
    json_t *root = json_loads(json, 0, &jerr);
    dp_buf_t buf;
    dp_reject_t rej = {DP_REJ_NONE, "", ""};
    msg_t m = {NULL, 0};
    uint8_t hdr[5] = {0, (uint8_t)(id >> 24), (uint8_t)(id >> 16), (uint8_t)(id >> 8), (uint8_t)id};

    dp_buf_init(&buf, 1 << 16);
    dp_buf_append(&buf, hdr, 5, NULL);
    if (root && dp_json_event_encode(schema, root, json, strlen(json), &buf, &rej) == 0) {
        m.data = buf.data;
        m.len = buf.len;
    } else {
        fprintf(stderr, "fixture: %s\n", root ? rej.reason : jerr.text);
        dp_buf_free(&buf);
    }
    json_decref(root);
    return m;
}

static int run(const char *label, const dp_decoder_t *dec, msg_t *msgs, long iters)
{
    dp_decode_scratch_t scratch;
    dp_decoded_t out;
    dp_err_t err = {DP_OK, 0, ""};
    double t0, dt, bytes = 0;
    long i, bad = 0, routed = 0;

    dp_decode_scratch_init(&scratch, 4 << 20);
    t0 = now_s();
    for (i = 0; i < iters; i++) {
        const msg_t *m = &msgs[i % NMSG];

        if (dp_decode_message(dec, NULL, m->data, m->len, &out, &scratch, &err) != 0) {
            if (bad++ == 0)
                fprintf(stderr, "%s: %s\n", label, err.msg);
        }
        routed += (long)out.ev.event_name.len; /* keep the result alive */
        bytes += (double)m->len;
    }
    dt = now_s() - t0;
    printf("%-34s %9ld events in %.3f s CPU: %10.0f events/s, %7.1f MB/s (avg %zu B in)\n", label,
           iters, dt, (double)iters / dt, bytes / dt / 1e6, (size_t)(bytes / (double)iters));
    dp_decode_scratch_free(&scratch);
    return bad || routed == 0;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : DP_SOURCE_DIR "/schemas";
    double scale = 1;
    static msg_t canon[NMSG], old[NMSG], json[NMSG];
    char text[2048], path[1024];
    dp_schema_t *s2;
    dp_decoder_t *dec;
    dp_err_t err = {DP_OK, 0, ""};
    int i, rc = 0;

    if (argc > 2) {
        char *end = NULL;

        errno = 0;
        scale = strtod(argv[2], &end);
        if (errno != 0 || end == argv[2] || *end != '\0' || !(scale > 0 && scale <= 1000)) {
            fprintf(stderr, "decode_bench: scale '%s' is not a number in (0, 1000]\n", argv[2]);
            return 2;
        }
    }
    if (!(dec = dp_decoder_open(dir, &err))) {
        fprintf(stderr, "decoder: %s\n", err.msg);
        return 1;
    }
    snprintf(path, sizeof(path), "%s/ids/2.avsc", dir);
    if (!(s2 = dp_schema_load_file(path, &err))) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    for (i = 0; i < NMSG; i++) {
        make_json(text, sizeof(text), i, 0);
        canon[i] = framed(dp_decoder_canonical(dec), 1, text);
        json[i].data = (uint8_t *)strdup(text);
        json[i].len = strlen(text);
        make_json(text, sizeof(text), i, 1);
        old[i] = framed(s2, 2, text);
    }
    /* A scale below 1 (0.01) makes a run short enough for callgrind. */
    rc |= run("canonical pass-through (id 1)", dec, canon, (long)(4000000 * scale) + 1);
    rc |= run("old writer schema -> canonical (id 2)", dec, old, (long)(1000000 * scale) + 1);
    rc |= run("JSON -> canonical", dec, json, (long)(300000 * scale) + 1);
    for (i = 0; i < NMSG; i++) {
        free(canon[i].data);
        free(old[i].data);
        free(json[i].data);
    }
    dp_schema_destroy(s2);
    dp_decoder_destroy(dec);
    return rc;
}
