/*
 * buf: a growable byte buffer with a hard cap fixed at init,
 * plus the Avro binary primitives the staging path appends to it.
 *
 * Invariants: len <= cap <= max at all times; an append that would take len
 * past max fails with DP_ETOOBIG and leaves the buffer exactly as it was
 * (contents and length). Memory grows by doubling (at least 256 bytes) and is
 * never given back by dp_buf_reset(), so a buffer reused across batches stops
 * allocating once it has reached its working size.
 *
 * Ownership: a dp_buf_t owns its data. dp_buf_data() is borrowed and valid
 * until the next append, reserve, detach or dp_buf_free(). The struct is
 * public so it can be embedded by value; its fields are private to buf.c
 * (use the accessors), as with curl's dynbuf.
 *
 * Avro encoding (Avro 1.11 specification, "Binary Encoding"): int and long
 * are zig-zag varints, 1 to 5 and 1 to 10 bytes; string and bytes are a long
 * length followed by the raw bytes.
 *
 * Thread: a buffer is used by one thread at a time.
 */
#ifndef DP_BUF_H
#define DP_BUF_H

#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

/* Longest zig-zag varint of a 64-bit long. */
#define DP_BUF_LONG_MAX_BYTES 10

typedef struct dp_buf {
    unsigned char *data; /* private: allocated bytes, NULL until first growth */
    size_t len;          /* private: bytes in use */
    size_t cap;          /* private: bytes allocated */
    size_t max;          /* private: hard cap on len */
} dp_buf_t;

/* Initialises an empty buffer that will never hold more than max bytes.
 * Allocates nothing. Thread: any. */
void dp_buf_init(dp_buf_t *buf, size_t max);

/* Releases the memory; the buffer is empty again and keeps its max, so it
 * may be reused. buf may be NULL. Thread: any. */
void dp_buf_free(dp_buf_t *buf);

/* Empties the buffer and keeps its memory for the next use. */
void dp_buf_reset(dp_buf_t *buf);

/* Borrowed view of the bytes (NULL when nothing was ever allocated). */
const unsigned char *dp_buf_data(const dp_buf_t *buf);
size_t dp_buf_len(const dp_buf_t *buf);
size_t dp_buf_max(const dp_buf_t *buf);
/* Bytes allocated (len <= capacity <= max). */
size_t dp_buf_capacity(const dp_buf_t *buf);
/* Bytes still appendable before the cap: max - len. */
size_t dp_buf_room(const dp_buf_t *buf);

/* Makes room for `extra` more bytes without changing the contents.
 * Returns 0, or DP_ETOOBIG (len + extra > max; nothing changes). */
int dp_buf_reserve(dp_buf_t *buf, size_t extra, dp_err_t *err);

/* Appends n bytes (p may be NULL when n is 0). Returns 0 or DP_ETOOBIG
 * (buffer unchanged). */
int dp_buf_append(dp_buf_t *buf, const void *p, size_t n, dp_err_t *err);

/* Returns a writable pointer to `n` bytes at the end of the buffer and counts
 * them as used; the caller fills them before the next call on buf. Returns
 * NULL with DP_ETOOBIG in err when they do not fit (buffer unchanged). */
unsigned char *dp_buf_extend(dp_buf_t *buf, size_t n, dp_err_t *err);

/* Shortens the buffer to len bytes (no-op when len >= the current length);
 * memory is kept. Used to undo a partly written record. */
void dp_buf_truncate(dp_buf_t *buf, size_t len);

/* Takes the bytes out of the buffer: returns new memory (caller frees with
 * free(), NULL when empty) and sets *len; the buffer is left empty with no
 * memory. */
unsigned char *dp_buf_detach(dp_buf_t *buf, size_t *len);

/* Reads the whole file at path, at most max bytes: returns new memory
 * (caller frees) holding *len bytes and a NUL after them, or NULL with err
 * (DP_EIO: cannot open or read, or larger than max). */
char *dp_buf_read_file(const char *path, size_t max, size_t *len, dp_err_t *err);

/* ---- Avro binary encoding ---- */

/* Appends v as an Avro long (zig-zag varint). Returns 0 or DP_ETOOBIG. */
int dp_buf_put_long(dp_buf_t *buf, int64_t v, dp_err_t *err);

/* Appends v as an Avro int (same encoding, at most 5 bytes). */
int dp_buf_put_int(dp_buf_t *buf, int32_t v, dp_err_t *err);

/* Appends an Avro string or bytes value: long length n, then the n bytes.
 * Atomic: on DP_ETOOBIG nothing is appended. */
int dp_buf_put_bytes(dp_buf_t *buf, const void *p, size_t n, dp_err_t *err);

/* Appends d as an Avro float (4 bytes, when as_float) or double (8 bytes),
 * little-endian IEEE 754. Returns 0 or DP_ETOOBIG (nothing appended). */
int dp_buf_put_real(dp_buf_t *buf, double d, int as_float, dp_err_t *err);

/* Number of bytes dp_buf_put_long would append for v (1..10). */
size_t dp_buf_long_size(int64_t v);

/* Encodes v as an Avro long into out (room for DP_BUF_LONG_MAX_BYTES);
 * returns the number of bytes written. */
size_t dp_buf_encode_long(unsigned char *out, int64_t v);

/* Decodes one Avro long from p[0..n). On success sets *v and *used and
 * returns 0; returns DP_EINVAL when the input ends inside the varint or the
 * varint is longer than 10 bytes. Never reads past p + n. */
int dp_buf_read_long(const unsigned char *p, size_t n, int64_t *v, size_t *used, dp_err_t *err);

#endif
