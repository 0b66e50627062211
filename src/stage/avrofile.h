/*
 * avrofile: writes one table's batch as an Avro Object Container File in
 * memory, ready for a Files API upload and COPY INTO ... FILEFORMAT = AVRO.
 *
 * We write the container ourselves instead of using avro-c's file writer
 * because avro-c drops logicalType from the header schema and seeds its
 * sync marker from rand() (docs/PLATFORM.md, "Container files"): our header
 * carries the staged schema text exactly as given, so Databricks types
 * timestamp-micros columns TIMESTAMP and bytes+decimal(18,4) DECIMAL(18,4)
 * (docs/DATABRICKS.md, "Avro to Delta types"), and the sync marker is chosen by the caller
 * (dp_stagename_sync()), so a retry writes identical bytes.
 *
 * Layout (Avro 1.11 specification, "Object Container Files"):
 *   "Obj" 0x01, metadata map {"avro.schema": staged schema JSON,
 *   "avro.codec": "null" | "deflate" | "snappy"}, 16-byte sync;
 *   then blocks: long record count, long byte size, records (raw RFC 1951
 *   deflate for "deflate"; snappy followed by the big-endian CRC-32 of the
 *   records for "snappy"), sync.
 *
 * Records: the staged record is the canonical record followed by the
 * lineage fields _kafka_topic (string), _kafka_partition (int),
 * _kafka_offset (long), _kafka_timestamp (["null", long timestamp-micros])
 * and _incarnation (string) (flush.h). An Avro record is the concatenation
 * of its fields, so a staged record is the canonical body bytes, copied
 * unchanged, plus the encoded lineage values. The body is trusted to be a
 * valid encoding of the canonical schema (the validator checked it); this
 * module does not decode it.
 *
 * _loaded_at: the tables (and the staged schema, which their columns are
 * made from) end with _loaded_at (long, timestamp-micros), the load time,
 * which the COPY INTO sets (ddl.h). A file never carries it: its header
 * schema is the schema given without a last field named _loaded_at, and its
 * records end with the lineage.
 *
 * Memory: the file is held in one buffer capped at max_bytes; the open block
 * and the compressor (libdeflate's, about 500 KiB at level 1 for "deflate")
 * come on top. An append
 * is refused with DP_ETOOBIG when the file could exceed max_bytes after it,
 * counting the open block at its worst-case compressed size, so
 * dp_avrofile_finish() never fails for size. Buffers are reused across
 * dp_avrofile_reset(): appends allocate nothing once the buffers have grown.
 * The file buffer of a destroyed writer is kept for the next writer with the
 * same max_bytes (one buffer, process-wide), so writing file after file does
 * not grow, and fault in, a new buffer each time.
 *
 * Thread: one writer is used by one thread at a time.
 */
#ifndef DP_AVROFILE_H
#define DP_AVROFILE_H

#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
    DP_AVROFILE_NULL = 0,    /* records stored as they are */
    DP_AVROFILE_DEFLATE = 1, /* raw deflate (RFC 1951, libdeflate), level 1 by default */
    DP_AVROFILE_SNAPPY = 2,  /* snappy + CRC-32 per block (Spark's own default for Avro):
                              * about 3x faster than deflate level 1, files ~45% larger */
} dp_avrofile_codec_t;

typedef struct dp_avrofile dp_avrofile_t;

/*
 * Builds the staged schema from the canonical schema's JSON text (len bytes):
 * the same record with every attribute kept (logicalType, precision, scale,
 * defaults, docs), the lineage fields and _loaded_at appended, serialized compactly
 * with keys in their original order. Sets *out to new memory (caller frees
 * with free()). Returns 0 or DP_EINVAL (not JSON, not a record, a field
 * already uses a lineage name, or avro-c cannot parse the result).
 * Thread: any (avro-c's error text is process-wide; messages may be mixed).
 */
int dp_avrofile_staged_schema(const char *canonical_json, size_t len, char **out, dp_err_t *err);

/* Parses "null", "deflate" or "snappy" into *codec. Returns 0 or DP_EINVAL. */
int dp_avrofile_codec_parse(const char *name, dp_avrofile_codec_t *codec, dp_err_t *err);

/* Returns "null", "deflate" or "snappy"; borrowed, static. */
const char *dp_avrofile_codec_name(dp_avrofile_codec_t codec);

/*
 * Creates a writer and writes the header.
 * staged_schema_json: the staged schema text (dp_avrofile_staged_schema(),
 *   or a table's schema of sysrows.h or claims.h); copied, and written into
 *   the header byte for byte, except that a last field named _loaded_at is
 *   left out (see above).
 * block_bytes: a block is closed before it would pass this many
 *   uncompressed bytes (a single larger record gets a block of its own);
 *   64 KiB to 1 MiB suits Spark's readers.
 * sync: the 16-byte sync marker (copied).
 * max_bytes: the cap on the whole file.
 * Returns new (free with dp_avrofile_destroy()), or NULL with err set:
 * DP_EINVAL (bad argument or schema not JSON) or DP_ETOOBIG (the header
 * alone exceeds max_bytes).
 */
dp_avrofile_t *dp_avrofile_new(const char *staged_schema_json, dp_avrofile_codec_t codec,
                               size_t block_bytes, const unsigned char sync[16], size_t max_bytes,
                               dp_err_t *err);

/*
 * Appends one staged record: the canonical body (len bytes) followed by the
 * encoded lineage (lineage_len bytes, dp_flush_put_lineage()), both copied.
 * Returns 0, DP_ETOOBIG (max_bytes would be passed: nothing was appended,
 * flush and retry with a new file) or DP_EINVAL (the file is finished).
 */
int dp_avrofile_append(dp_avrofile_t *f, const void *body, size_t len, const void *lineage,
                       size_t lineage_len, dp_err_t *err);

/*
 * Appends `records` complete staged records already encoded back to back in
 * data[0..len) (canonical body + lineage each, as the flush buffers hold
 * them); copied as they are, without decoding. The run is never split: it
 * joins the open block when it fits within block_bytes, else starts a block,
 * so a run larger than block_bytes becomes one block of its own. A run of at
 * least block_bytes while no block is open is compressed straight from data
 * (no copy; the flush's chunks are such runs). Pass runs of about
 * block_bytes or more for well-sized blocks. Returns 0, DP_ETOOBIG (as for
 * dp_avrofile_append: nothing appended) or DP_EINVAL (finished file, or
 * records and len not both zero or both non-zero).
 */
int dp_avrofile_append_encoded(dp_avrofile_t *f, const void *data, size_t len, uint64_t records,
                               dp_err_t *err);

/*
 * Closes the open block and returns the whole file: *data is borrowed,
 * valid until dp_avrofile_reset() or dp_avrofile_destroy(). Calling it again
 * returns the same bytes; appends are refused afterwards. Returns 0 or
 * DP_EFAIL (the compressor failed: not expected).
 */
int dp_avrofile_finish(dp_avrofile_t *f, const void **data, size_t *len, dp_err_t *err);

/* Empties the writer for the next file, keeping its memory, schema and
 * codec; sync (may be NULL to keep the current one) is the new file's sync
 * marker. Invalidates data returned by dp_avrofile_finish(). */
void dp_avrofile_reset(dp_avrofile_t *f, const unsigned char sync[16]);

/* Sets the deflate level (1 fastest .. 9 smallest; default 1) of a deflate
 * writer that holds no record yet; it stays through resets. The level is
 * part of what makes the bytes reproducible: a retry must use the same one.
 * Returns 0 or DP_EINVAL. */
int dp_avrofile_set_deflate_level(dp_avrofile_t *f, int level, dp_err_t *err);

/* Records appended since creation or the last reset. */
uint64_t dp_avrofile_count(const dp_avrofile_t *f);

/* Bytes held now: the file so far plus the open block, uncompressed. */
size_t dp_avrofile_size(const dp_avrofile_t *f);

/* Frees the writer; f may be NULL or half-built. */
void dp_avrofile_destroy(dp_avrofile_t *f);

#endif
