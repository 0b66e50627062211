/*
 * stagename: names of staged files (docs/STAGING.md).
 *
 *   /Volumes/<catalog>/<schema>/<volume>/<incarnation>/<table>/<key>.avro
 *
 * <key> is the lower-case hex SHA-256 (all 64 digits) of a canonical
 * serialization of the flush's offset ranges, sorted. It depends only on the
 * ranges, never on the bytes of the file, so a flush that is retried after a
 * crash (same ranges, same routing pinned in its manifest) produces the same
 * path, and COPY INTO, which skips a path the table has already loaded, loads
 * it at most once. Every table of one flush shares the key; the <table>
 * directory keeps their files apart.
 *
 * Canonical serialization (version 1), all integers big-endian:
 *   "deltaport/stagename/v1" NUL
 *   u64 number of ranges
 *   per range, in sorted order:
 *     u32 len(topic) topic, u32 len(incarnation) incarnation,
 *     u32 partition, u64 first offset, u64 last offset
 * Sorting is by topic (bytewise), incarnation, partition. Length prefixes
 * make the encoding prefix-free, so ("a","bc") and ("ab","c") cannot
 * collide, and the leading count separates one range list from another.
 *
 * Thread: every function is pure and may be called from any thread.
 */
#ifndef DP_STAGENAME_H
#define DP_STAGENAME_H

#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

/* Hex digits of a key (the full SHA-256) and the size of its buffer. */
#define DP_STAGENAME_KEY_LEN  64
#define DP_STAGENAME_KEY_SIZE (DP_STAGENAME_KEY_LEN + 1)
/* Longest accepted incarnation id ([A-Za-z0-9_-], e.g. a UUID). */
#define DP_STAGENAME_INCARNATION_MAX 64
/* Longest Kafka topic name (Kafka's own limit). */
#define DP_STAGENAME_TOPIC_MAX 249
/* Room for any path dp_stagename_path() accepts, with its NUL. */
#define DP_STAGENAME_PATH_SIZE 1280

/* One partition's share of a flush: offsets first..last, both included.
 * The strings are borrowed for the duration of the call. */
typedef struct dp_range {
    const char *topic;
    const char *incarnation;
    int32_t partition;
    int64_t first;
    int64_t last;
    int64_t epoch; /* the writer's claim epoch (claims.h); 0 is left out of the hash */
} dp_range_t;

/*
 * Computes the key of a flush covering ranges[0..n) into out (64 hex digits
 * and a NUL). The caller's array is not reordered (a sorted copy is hashed).
 * Returns 0 or DP_EINVAL: n is 0, a topic or incarnation is missing, empty,
 * too long or has characters outside its set (topic: [A-Za-z0-9._-];
 * incarnation: [A-Za-z0-9_-]), a partition is negative, first < 0 or
 * first > last, or two ranges name the same (topic, incarnation, partition).
 */
int dp_stagename_key(const dp_range_t *ranges, size_t n, char out[DP_STAGENAME_KEY_SIZE],
                     dp_err_t *err);

/*
 * Writes the staged file path
 * /Volumes/<catalog>/<schema>/<volume>/<incarnation>/<table>/<key>.avro into
 * out (outlen bytes; DP_STAGENAME_PATH_SIZE always suffices). catalog,
 * schema, volume and table must pass dp_tablename_check_identifier(), the
 * incarnation the rule above, and key must be 64 lower-case hex digits.
 * Returns 0, DP_EINVAL (err names the part) or DP_ETOOBIG. out is untouched
 * on failure.
 */
int dp_stagename_path(const char *catalog, const char *schema, const char *volume,
                      const char *incarnation, const char *table, const char *key, char *out,
                      size_t outlen, dp_err_t *err);

/*
 * Derives the 16-byte Avro sync marker of a staged file from its path: the
 * first 16 bytes of SHA-256("deltaport/sync/v1" NUL path). A retry of the
 * same flush therefore writes identical bytes when the rows are identical.
 */
void dp_stagename_sync(const char *path, unsigned char sync[16]);

#endif
