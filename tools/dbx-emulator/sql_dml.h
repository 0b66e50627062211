/*
 * sql_dml: helpers shared by INSERT (sql_dml.c) and MERGE (sql_merge.c).
 */
#ifndef EMU_SQL_DML_H
#define EMU_SQL_DML_H

#include "engine_int.h"

/* Parses a value: literal, :param, NULL, or CAST(<one of those> AS type). *out is new
 * text (free()) or NULL with *is_null set. Returns 0 or -1 (error set). */
int emu_dml_value(emu_ctx_t *cx, char **out, int *is_null);

/* Fails with [DELTA_SCHEMA_NOT_SET] for a table without columns. Returns -1. */
int emu_dml_schema_not_set(emu_ctx_t *cx, const emu_table_t *t);

#endif
