/*
 * Helpers shared by the emulator engine's unit tests: a fresh engine in a
 * temporary directory, running a statement and reading result cells, and
 * writing Avro object container files whose header schema carries logical
 * types (avro-c drops them, so the header is written here by hand).
 */
#ifndef TEST_EMU_ENGINE_SUPPORT_H
#define TEST_EMU_ENGINE_SUPPORT_H

#include "engine.h"

#include <stddef.h>

/* Opens an engine on a new temporary dir (path into dir, >= 512 bytes) with an
 * optional permissions JSON text (written to dir/perms.json). NULL on failure. */
emu_engine_t *t_open(const char *tag, const char *perms_json, char *dir);
/* Closes the engine and removes dir. */
void t_close(emu_engine_t *e, const char *dir);

/* Runs sql as principal (NULL: admin) in main.default; params is a JSON text or NULL.
 * Returns 0/-1 as emu_engine_execute; res filled. */
int t_exec(emu_engine_t *e, const char *principal, const char *sql, const char *params,
           emu_result_t *res);
/* Runs sql as admin and asserts it succeeds (records a failure with the message). */
int t_ok(emu_engine_t *e, const char *sql);
/* Cell (row, col) of res as a string, "NULL" for null, "<none>" when absent. */
const char *t_cell(const emu_result_t *res, size_t row, size_t col);
/* Number of rows of res. */
size_t t_nrows(const emu_result_t *res);
/* Field of column col in the manifest ("name", "type_text"...), or "<none>". */
const char *t_colinfo(const emu_result_t *res, size_t col, const char *field);

/* Writes an OCF at path: header with schema_json (verbatim, logical types kept)
 * and codec "null", one block holding the given already-encoded records. */
int t_write_ocf(const char *path, const char *schema_json, const unsigned char *body,
                size_t body_len, long nrecords);
/* Avro zig-zag varint of v appended to buf at *len (cap bytes). */
void t_avro_long(unsigned char *buf, size_t *len, size_t cap, long long v);
/* Avro string/bytes (length + data). */
void t_avro_bytes(unsigned char *buf, size_t *len, size_t cap, const void *p, size_t n);
/* Writes a text file. */
int t_write_file(const char *path, const char *text);

/* Runs sql as admin (params: JSON text or NULL) and asserts it succeeds with exactly the rows
 * want (compact JSON, e.g. [["1","a"]]). Returns 1 when it did. t_rows: without parameters. */
int t_rows_p(emu_engine_t *e, const char *sql, const char *params, const char *want);
int t_rows(emu_engine_t *e, const char *sql, const char *want);
/* Runs sql as principal (NULL: admin) and asserts it fails with a message starting with prefix
 * and (when state is not NULL) that SQLSTATE. Returns 1 when it did. */
int t_fails(emu_engine_t *e, const char *principal, const char *sql, const char *params,
            const char *prefix, const char *state);
/* Runs sql as principal and asserts it succeeds. Returns 1 when it did. */
int t_ok_as(emu_engine_t *e, const char *principal, const char *sql);

#endif
