/*
 * avrofile_bench: append throughput of the staged-file writer.
 *
 *   avrofile_bench [records=1000000] [block_bytes=65536] [max_bytes=67108864] [level=1]
 *
 * Builds a pool of 4096 event bodies shaped like the canonical event (ids,
 * names, timestamps, a properties map and the producer's raw JSON, about
 * 330 bytes each, Avro-encoded with buf's helpers), then appends `records`
 * of them with lineage for each codec, finishing and resetting the file
 * whenever it reaches max_bytes as the batcher would. Prints records/s,
 * input MB/s (canonical body bytes) and the output size.
 */
#include "avrofile.h"
#include "buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POOL 4096

static const char schema[] =
    "{\"type\":\"record\",\"name\":\"BenchEvent\",\"fields\":["
    "{\"name\":\"event_id\",\"type\":\"string\"},{\"name\":\"event_name\",\"type\":\"string\"},"
    "{\"name\":\"event_time\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}},"
    "{\"name\":\"merchant_id\",\"type\":\"string\"},"
    "{\"name\":\"value\",\"type\":[\"null\",{\"type\":\"bytes\",\"logicalType\":\"decimal\","
    "\"precision\":18,\"scale\":4}]},"
    "{\"name\":\"properties\",\"type\":{\"type\":\"map\",\"values\":\"string\"}},"
    "{\"name\":\"raw_payload\",\"type\":\"string\"}]}";

static unsigned long long rng = 88172645463325252ULL;

static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static void put_str(dp_buf_t *b, const char *s)
{
    dp_buf_put_bytes(b, s, strlen(s), NULL);
}

/* One canonical-shaped body into b. */
static void make_body(dp_buf_t *b, int i)
{
    static const char *names[] = {"page_view", "add_to_cart", "purchase", "search", "login"};
    const char *name = names[rnd(5)];
    char id[48], merchant[24], raw[256], price[16];
    unsigned char dec[3] = {1, (unsigned char)rnd(256), (unsigned char)rnd(256)};

    snprintf(id, sizeof(id), "%08x-%04x-4%03x-%04x-%012x", rnd(1u << 31), rnd(65536), rnd(4096),
             rnd(65536), rnd(1u << 31));
    snprintf(merchant, sizeof(merchant), "m-%04u", rnd(200));
    snprintf(price, sizeof(price), "%u.%02u", rnd(500), rnd(100));
    snprintf(raw, sizeof(raw),
             "{\"event\":\"%s\",\"id\":\"%s\",\"merchant\":\"%s\",\"price\":\"%s\","
             "\"currency\":\"EUR\",\"page\":\"https://shop.example/p/%u\"}",
             name, id, merchant, price, rnd(100000));
    put_str(b, id);
    put_str(b, name);
    dp_buf_put_long(b, 1700000000000000LL + i * 1000LL, NULL);
    put_str(b, merchant);
    dp_buf_put_long(b, 1, NULL);
    dp_buf_put_bytes(b, dec, sizeof(dec), NULL);
    dp_buf_put_long(b, 2, NULL); /* map block of 2 entries, then 0 */
    put_str(b, "currency");
    put_str(b, "EUR");
    put_str(b, "price");
    put_str(b, price);
    dp_buf_put_long(b, 0, NULL);
    put_str(b, raw);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int level = 1;

static int run(dp_avrofile_codec_t codec, const dp_buf_t *pool, const size_t *off, long records,
               size_t block_bytes, size_t max_bytes)
{
    static const unsigned char sync[16] = "bench-sync-16byt";
    dp_avrofile_t *f;
    dp_err_t err;
    const void *data;
    size_t len, out_bytes = 0, in_bytes = 0;
    long i, files = 0;
    double t0, dt;

    if ((f = dp_avrofile_new(schema, codec, block_bytes, sync, max_bytes, &err)) == NULL) {
        fprintf(stderr, "new: %s\n", err.msg);
        return 1;
    }
    if (codec == DP_AVROFILE_DEFLATE && dp_avrofile_set_deflate_level(f, level, &err) < 0) {
        fprintf(stderr, "level: %s\n", err.msg);
        dp_avrofile_destroy(f);
        return 1;
    }
    t0 = now_s();
    for (i = 0; i < records; i++) {
        size_t k = (size_t)i % POOL, n = off[k + 1] - off[k];
        const unsigned char *body = dp_buf_data(pool) + off[k];
        if (dp_avrofile_append(f, body, n, "orders", (int)(i % 12), i, 1700000000123456LL, &err) ==
            DP_ETOOBIG) {
            dp_avrofile_finish(f, &data, &len, &err);
            out_bytes += len;
            files++;
            dp_avrofile_reset(f, NULL);
            i--;
            continue;
        }
        in_bytes += n;
    }
    dp_avrofile_finish(f, &data, &len, &err);
    out_bytes += len;
    files++;
    dt = now_s() - t0;
    printf("%-8s %ld records in %.3f s: %.0f records/s, %.1f MB/s in, %zu -> %zu bytes "
           "(%.1f%%), %ld files\n",
           dp_avrofile_codec_name(codec), records, dt, records / dt, in_bytes / dt / 1e6, in_bytes,
           out_bytes, 100.0 * out_bytes / in_bytes, files);
    dp_avrofile_destroy(f);
    return 0;
}

/* A non-negative integer argument, or exit 2 naming it. */
static long long arg_num(const char *text, const char *what)
{
    char *end = NULL;
    long long v;

    errno = 0;
    v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < 0) {
        fprintf(stderr, "%s: \"%s\" is not a non-negative integer\n", what, text);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    long records = argc > 1 ? (long)arg_num(argv[1], "avrofile_bench: records") : 1000000;
    size_t block_bytes = argc > 2 ? (size_t)arg_num(argv[2], "avrofile_bench: block_bytes") : 65536;
    size_t max_bytes = argc > 3 ? (size_t)arg_num(argv[3], "avrofile_bench: max_bytes") : 64 << 20;
    size_t off[POOL + 1];
    dp_buf_t pool;
    int i, rc;

    level = argc > 4 ? (int)arg_num(argv[4], "avrofile_bench: level") : 1;
    dp_buf_init(&pool, SIZE_MAX);
    for (i = 0; i < POOL; i++) {
        off[i] = dp_buf_len(&pool);
        make_body(&pool, i);
    }
    off[POOL] = dp_buf_len(&pool);
    printf("pool: %d bodies, %.0f bytes on average; block_bytes %zu, max_bytes %zu, level %d\n",
           POOL, (double)off[POOL] / POOL, block_bytes, max_bytes, level);
    rc = run(DP_AVROFILE_NULL, &pool, off, records, block_bytes, max_bytes) ||
         run(DP_AVROFILE_DEFLATE, &pool, off, records, block_bytes, max_bytes);
    dp_buf_free(&pool);
    return rc;
}
