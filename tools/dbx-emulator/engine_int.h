/*
 * engine_int: internals shared by the emulator engine's files only
 * (engine.c, sql_*.c, avro_ocf.c, perms.c). Nothing here is part of engine.h.
 *
 * Invariants:
 *   - every function below runs with engine->mu held (emu_engine_execute and
 *     emu_engine_volume_path take it once, at the top);
 *   - only identifiers that passed emu_ident_valid() (or names the engine made
 *     itself, such as the data table "d_<hex>" and its columns "c<n>") are ever
 *     placed in SQLite SQL text; every value is bound.
 */
#ifndef EMU_ENGINE_INT_H
#define EMU_ENGINE_INT_H

#include "engine.h"
#include "perms.h"
#include "sql_lex.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>

#define EMU_NAME_MAX    256
#define EMU_MAX_COLUMNS 1024

struct emu_engine {
    pthread_mutex_t mu;
    sqlite3 *db;
    char *state_dir;
    emu_perms_t *perms; /* NULL: every principal has every privilege */
};

/* A resolved three-part name. */
typedef struct emu_name {
    char c[EMU_NAME_MAX];
    char s[EMU_NAME_MAX];
    char o[EMU_NAME_MAX]; /* object; empty for a schema name */
} emu_name_t;

/* One statement being executed. Borrowed pointers, except keep. */
typedef struct emu_ctx {
    emu_engine_t *eng;
    const char *principal;
    char catalog[EMU_NAME_MAX]; /* session default, lower case */
    char schema[EMU_NAME_MAX];
    const json_t *params;
    emu_result_t *res;
    emu_toks_t *tk;
    const char *sql;            /* the statement's text (CREATE VIEW stores its query's text) */
    json_t *keep;               /* owned: strings that live until the statement ends (emu_keep) */
    int ntemp;                  /* temporary tables temp.emu_t0.. made by this statement */
    int depth;                  /* nesting of subqueries and views being translated */
    int nrel;                   /* relations (FROM items) named so far: r1, r2, ... */
    long long now_us;           /* current_timestamp() of the statement; 0 until first read */
    const emu_name_t *defining; /* CREATE VIEW: the view being defined (cycle check) */
} emu_ctx_t;

/* Column kinds (Databricks type_name). */
typedef enum {
    EMU_T_STRING = 0,
    EMU_T_BIGINT,
    EMU_T_INT,
    EMU_T_SMALLINT,
    EMU_T_TINYINT,
    EMU_T_DOUBLE,
    EMU_T_FLOAT,
    EMU_T_BOOLEAN,
    EMU_T_BINARY,
    EMU_T_DATE,
    EMU_T_TIMESTAMP,
    EMU_T_DECIMAL,
    EMU_T_STRUCT,
    EMU_T_MAP,
    EMU_T_ARRAY,
    EMU_T_NULL
} emu_kind_t;

/* One column of a table, as kept in emu_columns. */
typedef struct emu_col {
    char name[EMU_NAME_MAX];
    char type[512]; /* canonical type_text, e.g. DECIMAL(18,4) */
    emu_kind_t kind;
    int prec, scale;
    int nullable;
} emu_col_t;

/* A table's (or view's) metadata. cols and view_text are owned (free with emu_table_free). */
typedef struct emu_table {
    emu_name_t name;
    char id[40];   /* UUID */
    char data[48]; /* SQLite table holding the rows: d_<32 hex> (empty for a view) */
    char owner[EMU_NAME_MAX];
    long long created_ms;
    emu_col_t *cols;
    int ncols;
    int is_view;    /* 1: a view; its query is view_text, resolved in view_c.view_s */
    int view_named; /* 1: the view was created with a column list (columns map by position) */
    char *view_text;
    char view_c[EMU_NAME_MAX], view_s[EMU_NAME_MAX];
} emu_table_t;

/* ---- engine.c: results and errors ---- */

/* Fails the statement: error_code BAD_REQUEST, sql_state, message "fmt ... SQLSTATE: s".
 * Returns -1. Thread: engine lock held. */
int emu_fail(emu_ctx_t *cx, const char *sqlstate, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same with an explicit error_code (e.g. INTERNAL_ERROR). */
int emu_fail_code(emu_ctx_t *cx, const char *code, const char *sqlstate, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* [PARSE_SYNTAX_ERROR] near the current token. Returns -1. */
int emu_syntax(emu_ctx_t *cx);
/* INTERNAL_ERROR carrying sqlite3_errmsg. Returns -1. */
int emu_fail_db(emu_ctx_t *cx, const char *what);
/* Sets a one-row result of (name, type) columns; vals are copied. Returns 0. */
int emu_result_simple(emu_ctx_t *cx, int n, const char *const *names, const char *const *types,
                      const char *const *vals);
/* Appends a column description {name,type_name,type_text,position} to res->columns. */
void emu_result_add_column(emu_result_t *res, const char *name, const char *type_text);

/* Runs SQL without results; returns 0 or -1 (with INTERNAL_ERROR). */
int emu_exec(emu_ctx_t *cx, const char *sql);
/* Fails the statement after sqlite3_step failed: an error raised by one of the engine's SQL
 * functions ("[CLASS] text", e.g. a CAST that overflows) keeps its class and SQLSTATE; anything
 * else is [QUERY_EXECUTION_ERROR] (what names the statement). Returns -1. */
int emu_fail_step(emu_ctx_t *cx, const char *what);
/* A copy of s that lives until the statement ends (owned by cx->keep); NULL on OOM. */
const char *emu_keep(emu_ctx_t *cx, const char *s);
/* Names a new temporary table of this statement ("emu_t<k>", dropped when it ends) in out. */
void emu_temp_name(emu_ctx_t *cx, char *out, size_t outlen);
/* The statement's clock (microseconds since the epoch), read once per statement. */
long long emu_stmt_now_us(emu_ctx_t *cx);
/* Current wall-clock time in milliseconds. */
long long emu_now_ms(void);
/* Writes a fresh random UUID (36 chars + NUL) into out (>= 37 bytes). */
void emu_uuid(char *out);

/* emu_engine_volume_path with the lock already held; vol (may be NULL) gets the volume's
 * name once the path parsed. Same returns. */
int emu_volume_locked(emu_engine_t *engine, const char *principal, const char *volume_path,
                      emu_volume_access_t access, char *local, size_t locallen, char *msg,
                      size_t msglen, emu_name_t *vol);

/* ---- sql_ident.c: names ---- */

/* 1 when s is a valid identifier: [a-z0-9_] (any case), 1..255 bytes. */
int emu_ident_valid(const char *s);
/* Parses a 1..3-part name at the current token; nparts gets the count. parts are
 * lower-cased. Returns 0 or -1 (syntax error set). */
int emu_parse_name(emu_ctx_t *cx, char parts[3][EMU_NAME_MAX], int *nparts);
/* Parses and resolves an object name (table/volume) against the session. */
int emu_parse_object(emu_ctx_t *cx, emu_name_t *out);
/* Parses and resolves a schema name ([c.]s). */
int emu_parse_schema(emu_ctx_t *cx, emu_name_t *out);
/* Returns 1 when the catalog/schema/volume exists, 0 when not, -1 on error. */
int emu_catalog_exists(emu_ctx_t *cx, const char *c);
int emu_schema_exists(emu_ctx_t *cx, const char *c, const char *s);
int emu_volume_exists(emu_ctx_t *cx, const emu_name_t *n);
/* Fails with [SCHEMA_NOT_FOUND] / [CATALOG_NOT_FOUND] when the container of n is
 * missing; returns 0 when present, -1 otherwise. */
int emu_require_schema(emu_ctx_t *cx, const emu_name_t *n);
/* Loads table n into t (0), or 1 when absent, -1 on error. Free with emu_table_free. */
int emu_table_load(emu_ctx_t *cx, const emu_name_t *n, emu_table_t *t);
/* Like emu_table_load but fails with [TABLE_OR_VIEW_NOT_FOUND] when absent. */
int emu_table_require(emu_ctx_t *cx, const emu_name_t *n, emu_table_t *t);
/* Like emu_table_require, and fails with [EXPECT_TABLE_NOT_VIEW.NO_ALTERNATIVE] when n is a
 * view (operation names the statement, e.g. "INSERT"); t is then freed. */
int emu_table_require_table(emu_ctx_t *cx, const emu_name_t *n, emu_table_t *t,
                            const char *operation);
void emu_table_free(emu_table_t *t);
/* Finds a column case-insensitively; returns its index or -1. */
int emu_table_col(const emu_table_t *t, const char *name);
/* Adds a column to a table (metadata and data table). Returns 0 or -1. */
int emu_table_add_column(emu_ctx_t *cx, emu_table_t *t, const char *name, const char *type,
                         int nullable, const char *comment);

/* ---- sql_perm.c: privilege checks (owner + grants + inheritance) ---- */

/* Securable kinds for messages and checks. */
typedef enum { EMU_ON_CATALOG, EMU_ON_SCHEMA, EMU_ON_TABLE, EMU_ON_VOLUME } emu_on_t;

/* Checks USE CATALOG + USE SCHEMA (when kind is below a catalog) and then priv on the
 * securable n (NULL priv: only the USE checks). Fails with [INSUFFICIENT_PERMISSIONS].
 * Returns 0 when allowed, -1 when denied. */
int emu_require(emu_ctx_t *cx, const char *priv, emu_on_t kind, const emu_name_t *n);
/* The same check without a ctx; fills msg. Returns 1 allowed, 0 denied. */
int emu_allowed(emu_engine_t *eng, const char *principal, const char *priv, emu_on_t kind,
                const emu_name_t *n, char *msg, size_t msglen);

/* ---- sql_ddl.c / sql_view.c ---- */
int emu_sql_create(emu_ctx_t *cx);
int emu_sql_drop(emu_ctx_t *cx);
/* CREATE [OR REPLACE] VIEW ...: the cursor is after VIEW; replace tells OR REPLACE. */
int emu_sql_create_view(emu_ctx_t *cx, int replace);
/* DROP VIEW [IF EXISTS] v: the cursor is after VIEW. */
int emu_sql_drop_view(emu_ctx_t *cx);
int emu_sql_alter(emu_ctx_t *cx);
int emu_sql_describe(emu_ctx_t *cx);
int emu_sql_show(emu_ctx_t *cx);

/* ---- sql_types.c ---- */

/* Parses a type at the current token into canonical text (upper-case, e.g.
 * "STRUCT<a: STRING>"). Returns 0 or -1 (syntax error set). */
int emu_parse_type(emu_ctx_t *cx, char *out, size_t outlen);
/* Kind, precision and scale of a canonical type text. */
emu_kind_t emu_type_kind(const char *type, int *prec, int *scale);
/* Databricks type_name of a kind ("LONG", "DECIMAL", ...). */
const char *emu_kind_name(emu_kind_t k);
/* Fills a column from name + canonical type. */
void emu_col_set(emu_col_t *col, const char *name, const char *type, int nullable);
/* Converts text to the storage of col and binds it at idx. Returns 0, or -1 with a
 * Databricks-style message in err. NULL text binds NULL. */
int emu_bind_text_as(sqlite3_stmt *st, int idx, const emu_col_t *col, const char *text, char *err,
                     size_t errlen);
/* Formats stored value v of a column typed (kind, scale) as a JSON string or null. */
json_t *emu_format_value(sqlite3_stmt *st, int i, emu_kind_t kind, int scale);
/* Normalises a decimal string to scale digits; 0, or -1 when not a number / too big. */
int emu_decimal_norm(const char *in, int prec, int scale, char *out, size_t outlen);
/* Normalises a timestamp text to YYYY-MM-DDTHH:MM:SS.ffffffZ; 0 or -1. */
int emu_timestamp_norm(const char *in, char *out, size_t outlen);
/* Normalises a date text (YYYY-MM-DD, optionally followed by a time) to YYYY-MM-DD; 0 or -1. */
int emu_date_norm(const char *in, char *out, size_t outlen);
/* Shortest text that reads back as d ("1.5", "100.0", "NaN", "Infinity"). */
void emu_format_double(double d, char *out, size_t outlen);
/* Formats microseconds since the epoch the same way. */
void emu_timestamp_from_micros(long long us, char *out, size_t outlen);
/* Formats days since the epoch as YYYY-MM-DD. */
void emu_date_from_days(long long days, char *out, size_t outlen);
/* Base64 of len bytes; returns new string (free()). */
char *emu_base64(const unsigned char *p, size_t len);

/* ---- sql_params.c ---- */

/* Looks a named parameter up. Returns 1 found (*value may be NULL for SQL NULL,
 * *type may be NULL), 0 missing. */
int emu_param_get(const emu_ctx_t *cx, const char *name, const char **value, const char **type);
/* Fails with [UNBOUND_SQL_PARAMETER] for name. Returns -1. */
int emu_param_unbound(emu_ctx_t *cx, const char *name);

/* ---- sql_dml.c / sql_merge.c / sql_select.c / sql_copy.c / sql_delete.c ---- */
int emu_sql_insert(emu_ctx_t *cx);
int emu_sql_delete(emu_ctx_t *cx);
int emu_sql_merge(emu_ctx_t *cx);
int emu_sql_select(emu_ctx_t *cx);
int emu_sql_copy(emu_ctx_t *cx);

/* ---- sql_funcs.c ---- */

/* Registers the engine's SQL functions on db (max_by/min_by as emu_max_by and
 * emu_min_by, the casts, LIKE, division and greatest/least of sql_cast.c, the exact decimal
 * arithmetic of sql_decimal.c). Returns 0 or -1. Thread: while opening the engine. */
int emu_sql_register_functions(sqlite3 *db);
/* sql_cast.c and sql_decimal.c: their part of emu_sql_register_functions. */
int emu_sql_register_cast(sqlite3 *db);
int emu_sql_register_decimal(sqlite3 *db);

/* ---- sql_select.c / sql_inline.c ---- */

/* Runs the SELECT at the cursor, whose tokens end at index end (exclusive: EOF for a
 * statement, the closing parenthesis of a subquery), and returns its result columns
 * and rows (new refs, in the Statement Execution API's shape). Returns 0, or -1 with
 * the error set on cx->res. Used by SELECT statements, MERGE ... USING (SELECT ...) and
 * INSERT ... SELECT. */
int emu_select_run(emu_ctx_t *cx, size_t end, json_t **columns, json_t **rows);

/* Parses inline(from_json(<:param | 'json'>, 'ARRAY<STRUCT<...>>')) at the cursor,
 * loads its rows into a temporary table of the statement (emu_temp_name, dropped by
 * emu_engine_execute after the statement) and describes it in t (name.o "inline", data the
 * temporary table, one column per struct field; free with emu_table_free). Returns 0 or -1. */
int emu_inline_load(emu_ctx_t *cx, emu_table_t *t);

/* Parses read_files('<path>' [, option => value, ...]) at the cursor (sql_readfiles.c),
 * loads the files' rows into a temporary table of the statement and describes it in t the
 * same way (name.o "read_files"). Returns 0 or -1. */
int emu_read_files_load(emu_ctx_t *cx, emu_table_t *t);

/* Parses a literal or :param at the current token into a newly allocated text
 * (NULL for SQL NULL) with *is_null set. Returns 0 or -1 (error set). */
int emu_parse_value(emu_ctx_t *cx, char **out, int *is_null);
/* Records that a statement wrote one file of `bytes` to table id (DESCRIBE DETAIL). */
int emu_table_touch(emu_ctx_t *cx, const char *id, long long files, long long bytes);

#endif
