/*
 * buf: growable byte buffer with a hard cap, and Avro varint helpers.
 * See buf.h for the invariants (len <= cap <= max; a refused append changes
 * nothing) and the ownership rules.
 */
#include "core/buf.h"

#include <errno.h>
#include <stdio.h>

#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

#define BUF_MIN_ALLOC 256

void dp_buf_init(dp_buf_t *buf, size_t max)
{
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
    buf->max = max;
}

void dp_buf_free(dp_buf_t *buf)
{
    if (buf == NULL) {
        return;
    }
    free(buf->data);
    dp_buf_init(buf, buf->max);
}

void dp_buf_reset(dp_buf_t *buf)
{
    buf->len = 0;
}

const unsigned char *dp_buf_data(const dp_buf_t *buf)
{
    return buf->data;
}

size_t dp_buf_len(const dp_buf_t *buf)
{
    return buf->len;
}

size_t dp_buf_max(const dp_buf_t *buf)
{
    return buf->max;
}

size_t dp_buf_capacity(const dp_buf_t *buf)
{
    return buf->cap;
}

size_t dp_buf_room(const dp_buf_t *buf)
{
    return buf->max - buf->len;
}

/* Grows the allocation to hold `need` bytes: doubling keeps appends
 * amortised O(1); the cap keeps the allocation within max. */
static void grow(dp_buf_t *buf, size_t need)
{
    size_t cap = buf->cap ? buf->cap : BUF_MIN_ALLOC;

    while (cap < need) {
        cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
    }
    if (cap > buf->max) {
        cap = buf->max;
    }
    buf->data = dp_realloc(buf->data, cap);
    buf->cap = cap;
}

int dp_buf_reserve(dp_buf_t *buf, size_t extra, dp_err_t *err)
{
    if (extra > buf->max - buf->len) {
        return dp_err_set(err, DP_ETOOBIG, 0, "buffer full: %zu + %zu bytes exceeds the cap of %zu",
                          buf->len, extra, buf->max);
    }
    if (buf->len + extra > buf->cap) {
        grow(buf, buf->len + extra);
    }
    return 0;
}

unsigned char *dp_buf_extend(dp_buf_t *buf, size_t n, dp_err_t *err)
{
    unsigned char *p;

    if (dp_buf_reserve(buf, n, err) < 0) {
        return NULL;
    }
    p = buf->data + buf->len;
    buf->len += n;
    return p;
}

int dp_buf_append(dp_buf_t *buf, const void *p, size_t n, dp_err_t *err)
{
    unsigned char *dst;

    if (n == 0) {
        return 0;
    }
    if ((dst = dp_buf_extend(buf, n, err)) == NULL) {
        return DP_ETOOBIG;
    }
    memcpy(dst, p, n);
    return 0;
}

void dp_buf_truncate(dp_buf_t *buf, size_t len)
{
    if (len < buf->len) {
        buf->len = len;
    }
}

unsigned char *dp_buf_detach(dp_buf_t *buf, size_t *len)
{
    unsigned char *data = buf->len ? buf->data : NULL;

    *len = buf->len;
    if (data == NULL) {
        free(buf->data);
    }
    dp_buf_init(buf, buf->max);
    return data;
}

/* ---- Avro binary encoding ---- */

size_t dp_buf_encode_long(unsigned char *out, int64_t v)
{
    /* Zig-zag maps small magnitudes of either sign to small unsigned values;
     * the shift is done on uint64_t so it is defined for negative v. */
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v < 0 ? -1 : 0);
    size_t n = 0;

    while (z >= 0x80) {
        out[n++] = (unsigned char)(z | 0x80);
        z >>= 7;
    }
    out[n++] = (unsigned char)z;
    return n;
}

size_t dp_buf_long_size(int64_t v)
{
    unsigned char tmp[DP_BUF_LONG_MAX_BYTES];

    return dp_buf_encode_long(tmp, v);
}

int dp_buf_put_long(dp_buf_t *buf, int64_t v, dp_err_t *err)
{
    unsigned char tmp[DP_BUF_LONG_MAX_BYTES];
    size_t n = dp_buf_encode_long(tmp, v);

    return dp_buf_append(buf, tmp, n, err);
}

int dp_buf_put_int(dp_buf_t *buf, int32_t v, dp_err_t *err)
{
    /* An int's zig-zag varint equals the long's for every int32 value. */
    return dp_buf_put_long(buf, v, err);
}

int dp_buf_put_bytes(dp_buf_t *buf, const void *p, size_t n, dp_err_t *err)
{
    unsigned char tmp[DP_BUF_LONG_MAX_BYTES];
    size_t hdr;
    unsigned char *dst;

    if (n > (size_t)INT64_MAX) {
        return dp_err_set(err, DP_ETOOBIG, 0, "bytes value of %zu bytes is too long", n);
    }
    hdr = dp_buf_encode_long(tmp, (int64_t)n);
    if (n > SIZE_MAX - hdr || (dst = dp_buf_extend(buf, hdr + n, err)) == NULL) {
        return dp_err_set(err, DP_ETOOBIG, 0, "buffer full: %zu + %zu bytes exceeds the cap of %zu",
                          buf->len, n, buf->max);
    }
    memcpy(dst, tmp, hdr);
    if (n) {
        memcpy(dst + hdr, p, n);
    }
    return 0;
}

int dp_buf_put_real(dp_buf_t *buf, double d, int as_float, dp_err_t *err)
{
    unsigned char b[8];
    uint64_t u = 0;
    uint32_t u32;
    float f;
    int n = as_float ? 4 : 8;

    if (as_float) {
        f = (float)d;
        memcpy(&u32, &f, 4);
        u = u32;
    } else {
        memcpy(&u, &d, 8);
    }
    for (int i = 0; i < n; i++)
        b[i] = (unsigned char)(u >> (8 * i));
    return dp_buf_append(buf, b, (size_t)n, err);
}

int dp_buf_read_long(const unsigned char *p, size_t n, int64_t *v, size_t *used, dp_err_t *err)
{
    uint64_t z = 0;
    size_t i;

    for (i = 0; i < n && i < DP_BUF_LONG_MAX_BYTES; i++) {
        z |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if ((p[i] & 0x80) == 0) {
            *v = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
            *used = i + 1;
            return 0;
        }
    }
    if (i == DP_BUF_LONG_MAX_BYTES) {
        return dp_err_set(err, DP_EINVAL, 0, "avro long: varint longer than %d bytes",
                          DP_BUF_LONG_MAX_BYTES);
    }
    return dp_err_set(err, DP_EINVAL, 0, "avro long: input ends after %zu bytes inside a varint",
                      n);
}

char *dp_buf_read_file(const char *path, size_t max, size_t *len, dp_err_t *err)
{
    FILE *f = fopen(path, "rb");
    char *text;
    size_t n;

    if (!f) {
        dp_err_set(err, DP_EIO, 0, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    text = dp_malloc(max + 1);
    n = fread(text, 1, max + 1, f);
    if (ferror(f) || n > max) {
        dp_err_set(err, DP_EIO, 0, "%s: read error or larger than %zu bytes", path, max);
        free(text);
        fclose(f);
        return NULL;
    }
    fclose(f);
    text[n] = '\0';
    if (len)
        *len = n;
    return text;
}
