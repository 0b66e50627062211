/*
 * sql_copy: what COPY INTO reads from a staged file, independent of its format.
 * A file is loaded whole into memory as typed columns and rows of cells
 * (avro_ocf.c for AVRO object container files, sql_jsonl.c for JSON lines);
 * sql_copy.c then checks the columns against the table and binds the cells.
 */
#ifndef EMU_SQL_COPY_H
#define EMU_SQL_COPY_H

#include "engine_int.h"

/* One value: a JSON value (null, string, integer, real, boolean, object, array),
 * or bytes for a BINARY column (is_blob). Owned by its emu_filedata_t. */
typedef struct emu_cell {
    json_t *j;
    unsigned char *blob;
    size_t len;
    int is_blob;
} emu_cell_t;

typedef struct emu_filedata {
    emu_col_t *cols;   /* file columns with Databricks types (owned) */
    int ncols;
    emu_cell_t *cells; /* nrows * ncols, row-major (owned) */
    size_t nrows;
    long long bytes;   /* file size */
} emu_filedata_t;

/* Largest file COPY INTO reads (bytes); bigger files are corrupt for the emulator. */
#define EMU_COPY_MAX_FILE (256LL * 1024 * 1024)

/* Loads an Avro object container file. The column types come from the header's
 * schema JSON (logical types kept), the values from avro-c's reader. Returns 0,
 * or -1 with err filled (a corrupt or unreadable file). Thread: engine lock held. */
int emu_avro_load(const char *path, emu_filedata_t *out, char *err, size_t errlen);

/* Loads a JSON lines file (one object per line), inferring column types as Spark
 * does (integers BIGINT, reals DOUBLE, objects STRUCT, arrays ARRAY). */
int emu_jsonl_load(const char *path, emu_filedata_t *out, char *err, size_t errlen);

/* Releases what d holds and zeroes it. */
void emu_filedata_free(emu_filedata_t *d);

/* Appends one empty row (cells zeroed); returns its first cell or NULL. */
emu_cell_t *emu_filedata_add_row(emu_filedata_t *d);

/* Binds cell as column col's stored value at idx. Returns 0 or -1 with err. */
int emu_bind_cell(sqlite3_stmt *st, int idx, const emu_col_t *col, const emu_cell_t *cell,
                  char *err, size_t errlen);

#endif
