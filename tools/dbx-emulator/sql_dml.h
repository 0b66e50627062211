/*
 * sql_dml: helpers shared by INSERT (sql_dml.c) and MERGE (sql_merge.c).
 */
#include <jansson.h>
#ifndef EMU_SQL_DML_H
#define EMU_SQL_DML_H

#include "engine_int.h"

/* Parses a value: literal, :param, NULL, or CAST(<one of those> AS type). *out is new
 * text (free()) or NULL with *is_null set. Returns 0 or -1 (error set). */
int emu_dml_value(emu_ctx_t *cx, char **out, int *is_null);

/* Fails with [DELTA_SCHEMA_NOT_SET] for a table without columns. Returns -1. */
int emu_dml_schema_not_set(emu_ctx_t *cx, const emu_table_t *t);

/* Fails the statement with a message "[ERROR_CLASS] ... SQLSTATE: s" (as emu_bind_text_as
 * writes them): the class text, and the state taken from it (22018 when absent). Returns -1. */
int emu_dml_fail_message(emu_ctx_t *cx, const char *err);

/* Binds one cell of a query result (emu_select_run: a string or null; type_name is the result
 * column's, e.g. "BINARY", whose cells are base64) as column col's stored value at idx.
 * Returns 0, or -1 with a Databricks-style message in err. */
int emu_dml_bind_result(sqlite3_stmt *st, int idx, const emu_col_t *col, const json_t *cell,
                        const char *type_name, char *err, size_t errlen);

#endif
