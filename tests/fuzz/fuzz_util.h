/*
 * fuzz_util: what several fuzz targets share (tests/fuzz/README.md).
 *
 * - dp_fuzz_tmpdir(): one private scratch directory per process, created on
 *   first use and removed at exit, for targets whose parser reads a file.
 * - dp_fuzz_write(): replaces a file in it with the input bytes.
 * - dp_fuzz_quiet_logs(): sends deltaport's log lines to /dev/null at level
 *   debug, so that log formatting of hostile text runs without flooding the
 *   fuzzer's output.
 * Thread: the fuzzer's one thread.
 */
#ifndef DP_FUZZ_UTIL_H
#define DP_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* libFuzzer's entry points; the replay driver (replay.c) calls them too. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Path of the scratch directory (static storage); aborts when it cannot be
 * created, since a target without it would test nothing. */
const char *dp_fuzz_tmpdir(void);

/* Writes data to <tmpdir>/<name> (replacing it) and returns the path (static
 * storage, valid until the next call). Aborts on I/O errors. */
const char *dp_fuzz_write(const char *name, const uint8_t *data, size_t size);

/* Copies data into new NUL-terminated memory (caller frees). */
char *dp_fuzz_cstr(const uint8_t *data, size_t size);

/* Points deltaport's log at /dev/null, level debug. */
void dp_fuzz_quiet_logs(void);

#endif
