/*
 * stagename: flush keys (hash of the sorted offset ranges), staged file paths
 * and sync markers. See stagename.h for the canonical serialization; changing
 * it renames every staged file, so a new layout must take a new version tag.
 */
#include "stage/stagename.h"

#include "core/buf.h"
#include "core/mem.h"
#include "route/tablename.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_TAG  "deltaport/stagename/v1"
#define SYNC_TAG "deltaport/sync/v1"

static int in_set(unsigned char c, const char *extra)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr(extra, c) != NULL);
}

/* Checks a NUL-terminated name of 1..max bytes drawn from [A-Za-z0-9] plus
 * the characters of `extra`. */
static int check_name(const char *s, size_t max, const char *extra, const char *what, dp_err_t *err)
{
    size_t len, i;

    if (s == NULL || s[0] == '\0') {
        return dp_err_set(err, DP_EINVAL, 0, "%s is missing or empty", what);
    }
    len = strnlen(s, max + 1);
    if (len > max) {
        return dp_err_set(err, DP_EINVAL, 0, "%s is longer than %zu bytes", what, max);
    }
    for (i = 0; i < len; i++) {
        if (!in_set((unsigned char)s[i], extra)) {
            return dp_err_set(err, DP_EINVAL, 0, "%s has byte 0x%02x at position %zu", what,
                              (unsigned char)s[i], i);
        }
    }
    return 0;
}

static int check_incarnation(const char *inc, dp_err_t *err)
{
    return check_name(inc, DP_STAGENAME_INCARNATION_MAX, "_-", "incarnation", err);
}

static int check_range(const dp_range_t *r, size_t i, dp_err_t *err)
{
    int rc;

    if ((rc = check_name(r->topic, DP_STAGENAME_TOPIC_MAX, "._-", "topic", err)) < 0 ||
        (rc = check_incarnation(r->incarnation, err)) < 0) {
        dp_err_prefix(err, "range %zu: ", i);
        return rc;
    }
    if (r->partition < 0 || r->first < 0 || r->first > r->last) {
        return dp_err_set(err, DP_EINVAL, 0,
                          "range %zu: %s [%d] offsets %lld..%lld are not a valid range", i,
                          r->topic, (int)r->partition, (long long)r->first, (long long)r->last);
    }
    return 0;
}

static int cmp_range(const void *pa, const void *pb)
{
    const dp_range_t *a = pa, *b = pb;
    int c;

    if ((c = strcmp(a->topic, b->topic)) != 0) {
        return c;
    }
    if ((c = strcmp(a->incarnation, b->incarnation)) != 0) {
        return c;
    }
    return (a->partition > b->partition) - (a->partition < b->partition);
}

static void put_be(dp_buf_t *buf, uint64_t v, int bytes)
{
    unsigned char tmp[8];
    int i;

    for (i = 0; i < bytes; i++) {
        tmp[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
    }
    /* The buffer is unbounded (SIZE_MAX), so appends cannot fail. */
    dp_buf_append(buf, tmp, (size_t)bytes, NULL);
}

static void put_str(dp_buf_t *buf, const char *s)
{
    size_t len = strlen(s);

    put_be(buf, len, 4);
    dp_buf_append(buf, s, len, NULL);
}

static void serialize(const dp_range_t *sorted, size_t n, dp_buf_t *buf)
{
    size_t i;

    dp_buf_append(buf, KEY_TAG, sizeof(KEY_TAG), NULL); /* with its NUL */
    put_be(buf, n, 8);
    for (i = 0; i < n; i++) {
        put_str(buf, sorted[i].topic);
        put_str(buf, sorted[i].incarnation);
        put_be(buf, (uint32_t)sorted[i].partition, 4);
        put_be(buf, (uint64_t)sorted[i].first, 8);
        put_be(buf, (uint64_t)sorted[i].last, 8);
        /* A flush of the same offsets under a newer claim is another flush:
         * its files must not reuse the names of one that was fenced. */
        if (sorted[i].epoch != 0)
            put_be(buf, (uint64_t)sorted[i].epoch, 8);
    }
}

static void to_hex(const unsigned char *md, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[md[i] >> 4];
        out[2 * i + 1] = digits[md[i] & 15];
    }
    out[2 * n] = '\0';
}

int dp_stagename_key(const dp_range_t *ranges, size_t n, char out[DP_STAGENAME_KEY_SIZE],
                     dp_err_t *err)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    dp_range_t *sorted = NULL;
    dp_buf_t buf;
    size_t i;
    int rc = 0;

    dp_buf_init(&buf, SIZE_MAX);
    if (n == 0) {
        return dp_err_set(err, DP_EINVAL, 0, "a flush key needs at least one range");
    }
    for (i = 0; i < n; i++) {
        if ((rc = check_range(&ranges[i], i, err)) < 0) {
            goto out;
        }
    }
    sorted = dp_malloc(n * sizeof(*sorted));
    memcpy(sorted, ranges, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), cmp_range);
    for (i = 1; i < n; i++) {
        if (cmp_range(&sorted[i - 1], &sorted[i]) == 0) {
            rc = dp_err_set(err, DP_EINVAL, 0, "%s [%d] of incarnation %s appears twice",
                            sorted[i].topic, (int)sorted[i].partition, sorted[i].incarnation);
            goto out;
        }
    }
    serialize(sorted, n, &buf);
    SHA256(dp_buf_data(&buf), dp_buf_len(&buf), md);
    to_hex(md, sizeof(md), out);
out:
    dp_buf_free(&buf);
    free(sorted);
    return rc;
}

static int check_key(const char *key, dp_err_t *err)
{
    size_t i;

    for (i = 0; i < DP_STAGENAME_KEY_LEN; i++) {
        if (key[i] == '\0' ||
            !((key[i] >= '0' && key[i] <= '9') || (key[i] >= 'a' && key[i] <= 'f'))) {
            break;
        }
    }
    if (i != DP_STAGENAME_KEY_LEN || key[i] != '\0') {
        return dp_err_set(err, DP_EINVAL, 0, "key: expected %d lower-case hex digits",
                          DP_STAGENAME_KEY_LEN);
    }
    return 0;
}

int dp_stagename_path(const char *catalog, const char *schema, const char *volume,
                      const char *incarnation, const char *table, const char *key, char *out,
                      size_t outlen, dp_err_t *err)
{
    const char *parts[4] = {catalog, schema, volume, table};
    const char *names[4] = {"catalog", "schema", "volume", "table"};
    int i, rc, len;

    for (i = 0; i < 4; i++) {
        if ((rc = dp_tablename_check_identifier(parts[i], err)) < 0) {
            dp_err_prefix(err, "%s: ", names[i]);
            return rc;
        }
    }
    if ((rc = check_incarnation(incarnation, err)) < 0 ||
        (rc = (key ? check_key(key, err) : dp_err_set(err, DP_EINVAL, 0, "key is missing"))) < 0) {
        return rc;
    }
    len = snprintf(NULL, 0, "/Volumes/%s/%s/%s/%s/%s/%s.avro", catalog, schema, volume, incarnation,
                   table, key);
    if (len < 0 || (size_t)len >= outlen) {
        return dp_err_set(err, DP_ETOOBIG, 0, "staged path needs %d bytes, buffer has %zu", len + 1,
                          outlen);
    }
    snprintf(out, outlen, "/Volumes/%s/%s/%s/%s/%s/%s.avro", catalog, schema, volume, incarnation,
             table, key);
    return 0;
}

void dp_stagename_sync(const char *path, unsigned char sync[16])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    dp_buf_t buf;

    dp_buf_init(&buf, SIZE_MAX);
    dp_buf_append(&buf, SYNC_TAG, sizeof(SYNC_TAG), NULL);
    dp_buf_append(&buf, path, strlen(path), NULL);
    SHA256(dp_buf_data(&buf), dp_buf_len(&buf), md);
    memcpy(sync, md, 16);
    dp_buf_free(&buf);
}
