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
    emu_col_t *cols; /* file columns with Databricks types (owned) */
    int ncols;
    emu_cell_t *cells; /* nrows * ncols, row-major (owned) */
    size_t nrows;
    long long bytes; /* file size */
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

/* Appends to out (a JSON array) the regular files under dir/rel (recursively, at most 16
 * levels, when recurse), as paths relative to dir; names starting with '.' or '_' are
 * skipped, as Spark skips them. At most 10000 files. Thread: any. */
void emu_copy_list_dir(const char *dir, const char *rel, int recurse, int depth, json_t *out);

/* Appends one empty row (cells zeroed); returns its first cell or NULL. */
emu_cell_t *emu_filedata_add_row(emu_filedata_t *d);

/* Binds cell as column col's stored value at idx. Returns 0 or -1 with err. */
int emu_bind_cell(sqlite3_stmt *st, int idx, const emu_col_t *col, const emu_cell_t *cell,
                  char *err, size_t errlen);

/* ---- sql_copy_select.c: COPY INTO t FROM (SELECT items FROM 'path') ---- */

typedef enum {
    EMU_CI_STAR = 0, /* every column of the file */
    EMU_CI_COLUMN,   /* one file column, maybe renamed */
    EMU_CI_CONST, /* a value computed once per statement (literal, :param, current_timestamp()) */
    EMU_CI_META   /* a _metadata field of the file */
} emu_copy_item_kind_t;

typedef struct emu_copy_item {
    emu_copy_item_kind_t kind;
    char name[EMU_NAME_MAX]; /* output column name (not for STAR) */
    char src[EMU_NAME_MAX];  /* COLUMN: file column; META: file_path, file_name or file_size */
    char type[512];          /* CONST and META: the column type */
    json_t *value;           /* CONST: owned; json null for SQL NULL */
} emu_copy_item_t;

/* The select list of the SELECT form. Owns items (free with emu_copy_select_free). */
typedef struct emu_copy_select {
    emu_copy_item_t *items;
    int nitems;
} emu_copy_select_t;

/* Parses "(SELECT items FROM '<source>')" at the cursor into sel and the source path
 * into source. Returns 0, or -1 with the error set (syntax, an expression the
 * emulator does not evaluate, an unbound parameter). Thread: engine lock held. */
int emu_copy_select_parse(emu_ctx_t *cx, emu_copy_select_t *sel, char *source, size_t srclen);

/* Replaces d (a file just read from local, known as vpath) by the select list's
 * projection: its columns and rows. Fails with [UNRESOLVED_COLUMN...] for a column
 * the file lacks and [DELTA_DUPLICATE_COLUMNS_FOUND] when two outputs share a
 * name. Returns 0 or -1 (error set; d is then freed). Thread: engine lock held. */
int emu_copy_select_apply(emu_ctx_t *cx, const emu_copy_select_t *sel, const char *vpath,
                          emu_filedata_t *d);

/* Releases what sel holds and zeroes it. */
void emu_copy_select_free(emu_copy_select_t *sel);

#endif
