/*
 * fuzz_emu_sql: the Databricks emulator's SQL front end on hostile statement
 * text: the lexer (tools/dbx-emulator/sql_lex.c) and every statement parser
 * it dispatches to (DDL, SHOW/DESCRIBE, GRANT, INSERT, MERGE, SELECT
 * expressions, COPY INTO with its options and file reads), through
 * emu_engine_execute on a real engine.
 *
 * Set-up (once): an engine in a scratch directory with a schema, a table of
 * every column type with a few rows, and a Volume holding one Avro and one
 * JSON lines file for COPY INTO. Each input is one statement run as the
 * admin, with three named parameters (:p1 string, :p2 BIGINT, :p3 NULL).
 * A statement that succeeded may have changed the catalog, so the database
 * is put back to the set-up snapshot (SQLite's backup API) and the staged
 * files are rewritten if a DROP removed them: every input starts from the
 * same state, which keeps findings reproducible. DP_FUZZ_VERBOSE=1 prints
 * each statement's outcome (for growing the seed corpus by hand).
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine_int.h"
#include "fuzz_util.h"

static emu_engine_t *eng;
static json_t *params;
static sqlite3 *snapshot; /* in-memory copy of the database after set-up */
static char avro_local[1024], jsonl_local[1024];
static unsigned char *avro_seed;
static int verbose; /* DP_FUZZ_VERBOSE set: print each statement's outcome */
static size_t avro_seed_len;

static const char *const setup_sql[] = {
    "CREATE SCHEMA s",
    "CREATE TABLE s.t (id BIGINT NOT NULL, name STRING, amount DECIMAL(18,4), at TIMESTAMP, "
    "day DATE, ratio DOUBLE, ok BOOLEAN, raw BINARY, small INT, tiny TINYINT, "
    "props MAP<STRING, STRING>, tags ARRAY<STRING>, ctx STRUCT<a: STRING, b: BIGINT>)",
    "INSERT INTO s.t (id, name, amount, at, day, ratio, ok) VALUES (1, 'a', 12.3400, "
    "'2026-11-24T06:41:55.123Z', '2026-11-24', 0.5, true), (2, NULL, -1, NULL, NULL, NULL, "
    "false)",
    "CREATE TABLE s.evt (event_id STRING, event_time TIMESTAMP)",
    "CREATE VOLUME s.stage",
};

static void read_seed(void)
{
    FILE *f = fopen(DP_SOURCE_DIR "/tests/fuzz/corpus/emu_avro/seed-canonical-deflate.avro", "rb");
    long n;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) <= 0 ||
        fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "fuzz_emu_sql: cannot read the Avro seed file\n");
        abort();
    }
    avro_seed = malloc((size_t)n);
    if (avro_seed == NULL || fread(avro_seed, 1, (size_t)n, f) != (size_t)n) {
        abort();
    }
    avro_seed_len = (size_t)n;
    fclose(f);
}

/* (Re)writes the staged files when absent (a DROP VOLUME removes them). */
static void stage_files(void)
{
    static const char jsonl[] = "{\"event_id\":\"j1\",\"event_time\":\"2026-11-24T06:41:55Z\"}\n"
                                "{\"event_id\":\"j2\",\"n\":3,\"o\":{\"x\":[1,2]}}\n";
    struct stat st;
    char dir[1100];
    FILE *f;

    if (stat(avro_local, &st) == 0 && stat(jsonl_local, &st) == 0) {
        return;
    }
    snprintf(dir, sizeof(dir), "%s", avro_local);
    *strrchr(dir, '/') = '\0';
    mkdir(dir, 0700); /* the volume's directory; its parents exist */
    f = fopen(avro_local, "wb");
    if (f == NULL || fwrite(avro_seed, 1, avro_seed_len, f) != avro_seed_len || fclose(f) != 0) {
        abort();
    }
    f = fopen(jsonl_local, "wb");
    if (f == NULL || fwrite(jsonl, 1, sizeof(jsonl) - 1, f) != sizeof(jsonl) - 1 ||
        fclose(f) != 0) {
        abort();
    }
}

/* Copies every page of database "main" of from into to (SQLite's backup API). */
static int copy_db(sqlite3 *to, sqlite3 *from)
{
    sqlite3_backup *b = sqlite3_backup_init(to, "main", from, "main");
    int rc;

    if (b == NULL) {
        return -1;
    }
    rc = sqlite3_backup_step(b, -1);
    sqlite3_backup_finish(b);
    return rc == SQLITE_DONE ? 0 : -1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256], msg[256];
    emu_result_t res;

    (void)argc;
    (void)argv;
    verbose = getenv("DP_FUZZ_VERBOSE") != NULL;
    read_seed();
    eng = emu_engine_open(dp_fuzz_tmpdir(), NULL, err, sizeof(err));
    if (eng == NULL) {
        fprintf(stderr, "fuzz_emu_sql: engine: %s\n", err);
        abort();
    }
    for (size_t i = 0; i < sizeof(setup_sql) / sizeof(setup_sql[0]); i++) {
        if (emu_engine_execute(eng, "admin", "main", "default", setup_sql[i], NULL, &res) != 0) {
            fprintf(stderr, "fuzz_emu_sql: set-up '%s': %s\n", setup_sql[i], res.message);
            abort();
        }
        emu_result_clear(&res);
    }
    if (emu_engine_volume_path(eng, "admin", "/Volumes/main/s/stage/a.avro", EMU_VOLUME_WRITE,
                               avro_local, sizeof(avro_local), msg, sizeof(msg)) != 0 ||
        emu_engine_volume_path(eng, "admin", "/Volumes/main/s/stage/b.json", EMU_VOLUME_WRITE,
                               jsonl_local, sizeof(jsonl_local), msg, sizeof(msg)) != 0) {
        fprintf(stderr, "fuzz_emu_sql: volume path: %s\n", msg);
        abort();
    }
    stage_files();
    if (sqlite3_open(":memory:", &snapshot) != SQLITE_OK || copy_db(snapshot, eng->db) != 0) {
        fprintf(stderr, "fuzz_emu_sql: cannot snapshot the database\n");
        abort();
    }
    params = json_pack("[{s:s, s:s}, {s:s, s:s, s:s}, {s:s}]", "name", "p1", "value", "x'y", "name",
                       "p2", "value", "42", "type", "BIGINT", "name", "p3");
    return 0;
}

static void restore(void)
{
    if (copy_db(eng->db, snapshot) != 0) {
        fprintf(stderr, "fuzz_emu_sql: cannot restore the snapshot: %s\n", sqlite3_errmsg(eng->db));
        abort();
    }
    stage_files();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *sql = dp_fuzz_cstr(data, size);
    emu_result_t res;

    int rc = emu_engine_execute(eng, "admin", "main", "s", sql, params, &res);

    if (verbose) {
        fprintf(stderr, "fuzz_emu_sql: %s: %.300s\n", rc == 0 ? "SUCCEEDED" : "FAILED",
                rc == 0 ? sql : res.message);
    }
    if (rc == 0) {
        restore();
    }
    emu_result_clear(&res);
    free(sql);
    return 0;
}
