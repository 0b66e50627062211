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
#include "batch/flush.h"
#include "core/buf.h"
#include "stage/avrofile.h"

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
    dp_buf_t lin;

    if ((f = dp_avrofile_new(schema, codec, block_bytes, sync, max_bytes, &err)) == NULL) {
        fprintf(stderr, "new: %s\n", err.msg);
        return 1;
    }
    if (codec == DP_AVROFILE_DEFLATE && dp_avrofile_set_deflate_level(f, level, &err) < 0) {
        fprintf(stderr, "level: %s\n", err.msg);
        dp_avrofile_destroy(f);
        return 1;
    }
    dp_buf_init(&lin, 4096);
    t0 = now_s();
    for (i = 0; i < records; i++) {
        size_t k = (size_t)i % POOL, n = off[k + 1] - off[k];
        const unsigned char *body = dp_buf_data(pool) + off[k];

        dp_buf_reset(&lin);
        dp_flush_put_lineage(&lin, "orders", (int)(i % 12), i, 1700000000123LL + i,
                             "0f3a1c2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b", &err);
        if (dp_avrofile_append(f, body, n, dp_buf_data(&lin), dp_buf_len(&lin), &err) ==
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
    dp_buf_free(&lin);
    dp_avrofile_destroy(f);
    return 0;
}

/* argv[i] as a positive number, or def when absent; exits on anything else. */
static long long arg(int argc, char **argv, int i, long long def)
{
    char *end = NULL;
    long long v;

    if (argc <= i)
        return def;
    v = strtoll(argv[i], &end, 10);
    if (end == argv[i] || *end != '\0' || v <= 0) {
        fprintf(stderr, "avrofile_bench: argument %d ('%s') is not a positive number\n", i,
                argv[i]);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    long records = (long)arg(argc, argv, 1, 1000000);
    size_t block_bytes = (size_t)arg(argc, argv, 2, 65536);
    size_t max_bytes = (size_t)arg(argc, argv, 3, 64 << 20);
    size_t off[POOL + 1];
    dp_buf_t pool;
    int i, rc;

    level = (int)arg(argc, argv, 4, 1);
    dp_buf_init(&pool, SIZE_MAX);
    for (i = 0; i < POOL; i++) {
        off[i] = dp_buf_len(&pool);
        make_body(&pool, i);
    }
    off[POOL] = dp_buf_len(&pool);
    printf("pool: %d bodies, %.0f bytes on average; block_bytes %zu, max_bytes %zu, level %d\n",
           POOL, (double)off[POOL] / POOL, block_bytes, max_bytes, level);
    rc = run(DP_AVROFILE_NULL, &pool, off, records, block_bytes, max_bytes) ||
         run(DP_AVROFILE_DEFLATE, &pool, off, records, block_bytes, max_bytes) ||
         run(DP_AVROFILE_SNAPPY, &pool, off, records, block_bytes, max_bytes);
    dp_buf_free(&pool);
    return rc;
}
