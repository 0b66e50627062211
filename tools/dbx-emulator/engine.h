/*
 * engine: the emulator's catalog, storage and SQL, on SQLite.
 *
 * The HTTP side (server, oauth, files, statements) calls only this header.
 * The engine owns:
 *   - one SQLite database in <state_dir>/emulator.db holding the Unity Catalog
 *     metadata (catalogs, schemas, volumes, tables with ids and owners), the
 *     per-table COPY INTO load history, and the rows of every table;
 *   - the Volume files, stored under <state_dir>/volumes/<catalog>/<schema>/<volume>/;
 *   - the grants, from an optional permissions file (docs/EMULATOR.md).
 * It starts with catalog `main` and schema `main.default`, owned by "admin".
 *
 * Every function is thread-safe: one mutex serialises the engine.
 * Principals are plain strings: the OAuth client id or the name given to a
 * personal access token. The principal "admin" has every privilege.
 */
#ifndef EMU_ENGINE_H
#define EMU_ENGINE_H

#include <jansson.h>
#include <stddef.h>

typedef struct emu_engine emu_engine_t;

/* Outcome of one SQL statement, in the Statement Execution API's terms. */
typedef struct emu_result {
    int succeeded;          /* 1: state SUCCEEDED; 0: state FAILED */
    json_t *columns;        /* new ref or NULL: array of {"name","type_name","type_text",
                             * "position"[, "type_precision","type_scale"]} as in
                             * manifest.schema.columns */
    json_t *rows;           /* new ref or NULL: array of rows, each an array of strings or
                             * null (Databricks returns every value as a string) */
    char error_code[64];    /* on failure: status.error.error_code, e.g. "BAD_REQUEST" */
    char sql_state[8];      /* on failure: SQLSTATE, e.g. "42P01" */
    char message[2048];     /* on failure: "[ERROR_CLASS] text", as Databricks words it */
    long long bytes_loaded; /* COPY INTO: bytes of the files it read (the cost model's input) */
} emu_result_t;

/* Opens (creating when absent) the engine state in state_dir.
 * permissions_file may be NULL: then every principal has every privilege.
 * Returns new (free with emu_engine_close), or NULL with errbuf filled. */
emu_engine_t *emu_engine_open(const char *state_dir, const char *permissions_file, char *errbuf,
                              size_t errlen);

/* Closes the engine; NULL is a no-op. */
void emu_engine_close(emu_engine_t *engine);

/* Executes one statement as principal, with the session defaults catalog and
 * schema (either may be NULL) and named parameters (NULL or a JSON array of
 * {"name","value"[,"type"]}, referenced as :name; a missing or null value is
 * SQL NULL). Always fills res (clear it with emu_result_clear); returns 0 when
 * the statement SUCCEEDED, -1 when it FAILED. */
int emu_engine_execute(emu_engine_t *engine, const char *principal, const char *catalog,
                       const char *schema, const char *statement, const json_t *parameters,
                       emu_result_t *res);

/* Releases what res holds and zeroes it. NULL is a no-op. */
void emu_result_clear(emu_result_t *res);

/* Access kinds for Volume paths. */
typedef enum { EMU_VOLUME_READ = 0, EMU_VOLUME_WRITE = 1 } emu_volume_access_t;

/* Maps a Files API path "/Volumes/<catalog>/<schema>/<volume>[/rest]" to the
 * local file path that stores it, after checking that the volume exists and
 * that principal holds USE CATALOG, USE SCHEMA and READ VOLUME (or WRITE
 * VOLUME for EMU_VOLUME_WRITE) on it. The path must not contain "." or ".."
 * segments, empty segments, NUL or backslashes.
 * Returns 0 with local filled; -400 (malformed path), -403 (permission denied)
 * or -404 (catalog, schema or volume missing), with msg filled in Databricks'
 * words, e.g. "User does not have WRITE VOLUME on Volume 'main.s.v'.". */
int emu_engine_volume_path(emu_engine_t *engine, const char *principal, const char *volume_path,
                           emu_volume_access_t access, char *local, size_t locallen, char *msg,
                           size_t msglen);

#endif
