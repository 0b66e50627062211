/*
 * engine: entry points of the emulator engine (engine.h): opening the state
 * directory and its SQLite database, running one statement under the engine
 * mutex inside one SQLite transaction, result and error helpers, and the
 * Files API path mapping.
 *
 * Invariants: one mutex serialises everything; a FAILED statement leaves no
 * trace in the database (ROLLBACK); Volume files live under
 * <state_dir>/volumes/<catalog>/<schema>/<volume>/ and a mapped path never
 * leaves its volume directory (no ".", "..", empty segments or backslashes).
 */
#define _POSIX_C_SOURCE 200809L
#include "engine_int.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Results and errors                                                       */
/* ------------------------------------------------------------------------ */

static void vfail(emu_ctx_t *cx, const char *code, const char *sqlstate, const char *fmt,
                  va_list ap)
{
    emu_result_t *res = cx->res;
    size_t n;

    json_decref(res->columns);
    json_decref(res->rows);
    res->columns = NULL;
    res->rows = NULL;
    res->succeeded = 0;
    snprintf(res->error_code, sizeof(res->error_code), "%s", code);
    snprintf(res->sql_state, sizeof(res->sql_state), "%s", sqlstate);
    vsnprintf(res->message, sizeof(res->message), fmt, ap);
    n = strlen(res->message);
    if (n < sizeof(res->message)) {
        snprintf(res->message + n, sizeof(res->message) - n, " SQLSTATE: %s", sqlstate);
    }
}

int emu_fail(emu_ctx_t *cx, const char *sqlstate, const char *fmt, ...)
{
    va_list ap;

    if (cx->res->message[0] != '\0') {
        return -1; /* keep the first, most precise error */
    }
    va_start(ap, fmt);
    vfail(cx, "BAD_REQUEST", sqlstate, fmt, ap);
    va_end(ap);
    return -1;
}

int emu_fail_code(emu_ctx_t *cx, const char *code, const char *sqlstate, const char *fmt, ...)
{
    va_list ap;

    if (cx->res->message[0] != '\0') {
        return -1;
    }
    va_start(ap, fmt);
    vfail(cx, code, sqlstate, fmt, ap);
    va_end(ap);
    return -1;
}

int emu_syntax(emu_ctx_t *cx)
{
    const emu_token_t *t = emu_tk_peek(cx->tk);

    if (t->kind == TK_EOF) {
        return emu_fail(cx, "42601", "[PARSE_SYNTAX_ERROR] Syntax error at or near end of input.");
    }
    return emu_fail(cx, "42601", "[PARSE_SYNTAX_ERROR] Syntax error at or near '%.200s'.", t->raw);
}

int emu_fail_db(emu_ctx_t *cx, const char *what)
{
    return emu_fail_code(cx, "INTERNAL_ERROR", "XX000", "[INTERNAL_ERROR] %s: %s", what,
                         sqlite3_errmsg(cx->eng->db));
}

void emu_result_add_column(emu_result_t *res, const char *name, const char *type_text)
{
    int prec = 0, scale = 0;
    emu_kind_t k = emu_type_kind(type_text, &prec, &scale);
    json_t *col;

    if (res->columns == NULL) {
        res->columns = json_array();
    }
    col = json_pack("{s:s, s:s, s:s, s:I}", "name", name, "type_name", emu_kind_name(k),
                    "type_text", type_text, "position", (json_int_t)json_array_size(res->columns));
    if (col != NULL && k == EMU_T_DECIMAL) {
        json_object_set_new(col, "type_precision", json_integer(prec));
        json_object_set_new(col, "type_scale", json_integer(scale));
    }
    json_array_append_new(res->columns, col);
}

int emu_result_simple(emu_ctx_t *cx, int n, const char *const *names, const char *const *types,
                      const char *const *vals)
{
    json_t *row = json_array();
    int k;

    for (k = 0; k < n; k++) {
        emu_result_add_column(cx->res, names[k], types[k]);
        json_array_append_new(row, vals[k] != NULL ? json_string(vals[k]) : json_null());
    }
    if (cx->res->rows == NULL) {
        cx->res->rows = json_array();
    }
    json_array_append_new(cx->res->rows, row);
    return 0;
}

/* SQLSTATE of the error classes the engine's SQL functions raise. */
static const char *step_state(const char *msg)
{
    static const char *const map[][2] = {{"[NUMERIC_VALUE_OUT_OF_RANGE", "22003"},
                                         {"[CAST_OVERFLOW", "22003"},
                                         {"[ARITHMETIC_OVERFLOW", "22003"},
                                         {"[CAST_INVALID_INPUT", "22018"},
                                         {"[DIVIDE_BY_ZERO", "22012"},
                                         {"[INVALID_FORMAT", "22018"}};
    size_t k;

    for (k = 0; k < sizeof(map) / sizeof(map[0]); k++) {
        if (strncmp(msg, map[k][0], strlen(map[k][0])) == 0) {
            return map[k][1];
        }
    }
    return NULL;
}

int emu_fail_step(emu_ctx_t *cx, const char *what)
{
    const char *msg = sqlite3_errmsg(cx->eng->db), *state = step_state(msg);

    if (state != NULL) {
        return emu_fail(cx, state, "%s", msg);
    }
    return emu_fail(cx, "22000", "[QUERY_EXECUTION_ERROR] %s: %s", what, msg);
}

const char *emu_keep(emu_ctx_t *cx, const char *s)
{
    json_t *j;

    if (cx->keep == NULL && (cx->keep = json_array()) == NULL) {
        return NULL;
    }
    j = json_string(s);
    if (j == NULL || json_array_append_new(cx->keep, j) != 0) {
        return NULL;
    }
    return json_string_value(j);
}

void emu_temp_name(emu_ctx_t *cx, char *out, size_t outlen)
{
    snprintf(out, outlen, "emu_t%d", cx->ntemp++);
}

long long emu_stmt_now_us(emu_ctx_t *cx)
{
    struct timespec ts;

    if (cx->now_us == 0) {
        clock_gettime(CLOCK_REALTIME, &ts);
        cx->now_us = (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    }
    return cx->now_us;
}

int emu_exec(emu_ctx_t *cx, const char *sql)
{
    if (sqlite3_exec(cx->eng->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        return emu_fail_db(cx, "sqlite");
    }
    return 0;
}

long long emu_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void emu_uuid(char *out)
{
    unsigned char b[16];
    int fd = open("/dev/urandom", O_RDONLY);
    size_t k;

    if (fd < 0 || read(fd, b, sizeof(b)) != (ssize_t)sizeof(b)) {
        /* Fall back to SQLite's PRNG: uniqueness, not secrecy, is what matters. */
        sqlite3_randomness((int)sizeof(b), b);
    }
    if (fd >= 0) {
        close(fd);
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    for (k = 0; k < 16; k++) {
        int dash = k == 4 || k == 6 || k == 8 || k == 10;
        snprintf(out, 3, "%02x", b[k]);
        out += 2;
        if (dash) {
            *out++ = '-';
        }
    }
    *out = '\0';
}

/* ------------------------------------------------------------------------ */
/* Open / close                                                             */
/* ------------------------------------------------------------------------ */

static const char k_schema_sql[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS emu_catalogs(name TEXT PRIMARY KEY, owner TEXT NOT NULL,"
    " created_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS emu_schemas(catalog TEXT NOT NULL, name TEXT NOT NULL,"
    " owner TEXT NOT NULL, created_ms INTEGER NOT NULL, PRIMARY KEY(catalog, name));"
    "CREATE TABLE IF NOT EXISTS emu_volumes(catalog TEXT NOT NULL, schema TEXT NOT NULL,"
    " name TEXT NOT NULL, owner TEXT NOT NULL, id TEXT NOT NULL, created_ms INTEGER NOT NULL,"
    " PRIMARY KEY(catalog, schema, name));"
    "CREATE TABLE IF NOT EXISTS emu_tables(catalog TEXT NOT NULL, schema TEXT NOT NULL,"
    " name TEXT NOT NULL, id TEXT NOT NULL UNIQUE, owner TEXT NOT NULL,"
    " created_ms INTEGER NOT NULL, modified_ms INTEGER NOT NULL, comment TEXT,"
    " properties TEXT NOT NULL DEFAULT '{}', num_files INTEGER NOT NULL DEFAULT 0,"
    " size_bytes INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(catalog, schema, name));"
    "CREATE TABLE IF NOT EXISTS emu_columns(table_id TEXT NOT NULL, position INTEGER NOT NULL,"
    " name TEXT NOT NULL, type TEXT NOT NULL, nullable INTEGER NOT NULL, comment TEXT,"
    " PRIMARY KEY(table_id, position));"
    "CREATE TABLE IF NOT EXISTS emu_load_history(table_id TEXT NOT NULL, path TEXT NOT NULL,"
    " loaded_ms INTEGER NOT NULL, num_rows INTEGER NOT NULL, size_bytes INTEGER NOT NULL,"
    " PRIMARY KEY(table_id, path));"
    /* a view is a row of emu_tables (names, owner, columns) plus its query here */
    "CREATE TABLE IF NOT EXISTS emu_views(id TEXT PRIMARY KEY, query TEXT NOT NULL,"
    " catalog TEXT NOT NULL, schema TEXT NOT NULL, named INTEGER NOT NULL);"
    "INSERT OR IGNORE INTO emu_catalogs VALUES('main', 'admin', 0);"
    "INSERT OR IGNORE INTO emu_schemas VALUES('main', 'default', 'admin', 0);";

static int mkdir_p(const char *path)
{
    char buf[4096];
    size_t i, n = strlen(path);

    if (n == 0 || n >= sizeof(buf)) {
        return -1;
    }
    memcpy(buf, path, n + 1);
    for (i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char saved = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
                return -1;
            }
            buf[i] = saved;
        }
    }
    return 0;
}

emu_engine_t *emu_engine_open(const char *state_dir, const char *permissions_file, char *errbuf,
                              size_t errlen)
{
    emu_engine_t *e = NULL, *ret = NULL;
    char path[4096];
    char *err = NULL;

    e = calloc(1, sizeof(*e));
    if (e == NULL || pthread_mutex_init(&e->mu, NULL) != 0) {
        snprintf(errbuf, errlen, "out of memory");
        free(e);
        return NULL;
    }
    e->state_dir = strdup(state_dir);
    snprintf(path, sizeof(path), "%s/volumes", state_dir);
    if (e->state_dir == NULL || mkdir_p(path) != 0) {
        snprintf(errbuf, errlen, "cannot create %s: %s", path, strerror(errno));
        goto out;
    }
    if (permissions_file != NULL) {
        e->perms = emu_perms_load(permissions_file, errbuf, errlen);
        if (e->perms == NULL) {
            goto out;
        }
    }
    snprintf(path, sizeof(path), "%s/emulator.db", state_dir);
    if (sqlite3_open_v2(path, &e->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        snprintf(errbuf, errlen, "cannot open %s: %s", path,
                 e->db != NULL ? sqlite3_errmsg(e->db) : "out of memory");
        goto out;
    }
    sqlite3_busy_timeout(e->db, 5000);
    if (emu_sql_register_functions(e->db) != 0) {
        snprintf(errbuf, errlen, "cannot register SQL functions on %s: %s", path,
                 sqlite3_errmsg(e->db));
        goto out;
    }
    if (sqlite3_exec(e->db, k_schema_sql, NULL, NULL, &err) != SQLITE_OK) {
        snprintf(errbuf, errlen, "cannot initialise %s: %s", path, err != NULL ? err : "?");
        goto out;
    }
    ret = e;
    e = NULL;
out:
    sqlite3_free(err);
    emu_engine_close(e);
    return ret;
}

void emu_engine_close(emu_engine_t *engine)
{
    if (engine == NULL) {
        return;
    }
    sqlite3_close(engine->db);
    emu_perms_free(engine->perms);
    free(engine->state_dir);
    pthread_mutex_destroy(&engine->mu);
    free(engine);
}

void emu_result_clear(emu_result_t *res)
{
    if (res == NULL) {
        return;
    }
    json_decref(res->columns);
    json_decref(res->rows);
    memset(res, 0, sizeof(*res));
}

/* ------------------------------------------------------------------------ */
/* Execute                                                                  */
/* ------------------------------------------------------------------------ */

static void set_session(char *dst, const char *src, const char *dflt)
{
    size_t i;

    snprintf(dst, EMU_NAME_MAX, "%s", src != NULL && src[0] != '\0' ? src : dflt);
    for (i = 0; dst[i] != '\0'; i++) {
        dst[i] = (char)tolower((unsigned char)dst[i]);
    }
}

static int dispatch(emu_ctx_t *cx)
{
    emu_toks_t *tk = cx->tk;

    if (emu_tk_is_kw(tk, "CREATE")) {
        return emu_sql_create(cx);
    }
    if (emu_tk_is_kw(tk, "DROP")) {
        return emu_sql_drop(cx);
    }
    if (emu_tk_is_kw(tk, "ALTER")) {
        return emu_sql_alter(cx);
    }
    if (emu_tk_is_kw(tk, "DESCRIBE") || emu_tk_is_kw(tk, "DESC")) {
        return emu_sql_describe(cx);
    }
    if (emu_tk_is_kw(tk, "SHOW")) {
        return emu_sql_show(cx);
    }
    if (emu_tk_is_kw(tk, "INSERT")) {
        return emu_sql_insert(cx);
    }
    if (emu_tk_is_kw(tk, "MERGE")) {
        return emu_sql_merge(cx);
    }
    if (emu_tk_is_kw(tk, "SELECT")) {
        return emu_sql_select(cx);
    }
    if (emu_tk_is_kw(tk, "COPY")) {
        return emu_sql_copy(cx);
    }
    if (emu_tk_is_kw(tk, "DELETE")) {
        return emu_sql_delete(cx);
    }
    return emu_syntax(cx);
}

int emu_engine_execute(emu_engine_t *engine, const char *principal, const char *catalog,
                       const char *schema, const char *statement, const json_t *parameters,
                       emu_result_t *res)
{
    emu_toks_t tk;
    emu_ctx_t cx;
    size_t errpos = 0;
    int rc = -1, k;

    memset(res, 0, sizeof(*res));
    memset(&tk, 0, sizeof(tk));
    memset(&cx, 0, sizeof(cx));
    cx.eng = engine;
    cx.principal = principal != NULL ? principal : "anonymous";
    cx.params = parameters;
    cx.res = res;
    cx.tk = &tk;
    cx.sql = statement;
    set_session(cx.catalog, catalog, "main");
    set_session(cx.schema, schema, "default");
    pthread_mutex_lock(&engine->mu);
    if (statement == NULL || emu_lex(statement, &tk, &errpos) != 0) {
        emu_fail(&cx, "42601", "[PARSE_SYNTAX_ERROR] Syntax error at or near '%.20s'.",
                 statement != NULL ? statement + errpos : "");
        goto out;
    }
    if (emu_exec(&cx, "BEGIN IMMEDIATE") != 0) {
        goto out;
    }
    rc = dispatch(&cx);
    if (rc == 0 && sqlite3_exec(engine->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        rc = emu_fail_db(&cx, "commit");
    }
    if (rc != 0) {
        sqlite3_exec(engine->db, "ROLLBACK", NULL, NULL, NULL);
    }
    /* rows of inline(...), read_files(...) and MERGE sources live for one statement */
    for (k = 0; k < cx.ntemp; k++) {
        char drop[64];
        snprintf(drop, sizeof(drop), "DROP TABLE IF EXISTS temp.emu_t%d", k);
        sqlite3_exec(engine->db, drop, NULL, NULL, NULL);
    }
    sqlite3_exec(engine->db, "DROP TABLE IF EXISTS temp.emu_src", NULL, NULL, NULL);
out:
    pthread_mutex_unlock(&engine->mu);
    emu_lex_free(&tk);
    json_decref(cx.keep);
    if (rc == 0) {
        res->succeeded = 1;
        if (res->columns == NULL) {
            res->columns = json_array();
        }
        if (res->rows == NULL) {
            res->rows = json_array();
        }
        return 0;
    }
    res->succeeded = 0;
    if (res->message[0] == '\0') {
        snprintf(res->error_code, sizeof(res->error_code), "INTERNAL_ERROR");
        snprintf(res->sql_state, sizeof(res->sql_state), "XX000");
        snprintf(res->message, sizeof(res->message), "[INTERNAL_ERROR] statement failed.");
    }
    return -1;
}

/* ------------------------------------------------------------------------ */
/* Volume paths                                                             */
/* ------------------------------------------------------------------------ */

/* Splits "/Volumes/c/s/v[/rest]"; validates every segment. Returns 0 or -1. */
static int split_volume_path(const char *p, emu_name_t *n, const char **rest)
{
    const char *seg;
    int k;

    if (strncmp(p, "/Volumes/", 9) != 0 || strchr(p, '\\') != NULL) {
        return -1;
    }
    /* Every segment: non-empty, not "." or "..". */
    for (seg = p + 1; *seg != '\0';) {
        const char *e = strchr(seg, '/');
        size_t len = e != NULL ? (size_t)(e - seg) : strlen(seg);
        if (len == 0 || (len == 1 && seg[0] == '.') ||
            (len == 2 && seg[0] == '.' && seg[1] == '.')) {
            if (!(len == 0 && e == NULL)) {
                return -1;
            }
        }
        if (e == NULL) {
            break;
        }
        seg = e + 1;
        if (*seg == '\0') {
            break; /* one trailing slash is accepted (a directory) */
        }
    }
    seg = p + 9;
    for (k = 0; k < 3; k++) {
        char *dst = k == 0 ? n->c : k == 1 ? n->s : n->o;
        const char *e = strchr(seg, '/');
        size_t len = e != NULL ? (size_t)(e - seg) : strlen(seg), i;
        if (len == 0 || len >= EMU_NAME_MAX) {
            return -1;
        }
        for (i = 0; i < len; i++) {
            dst[i] = (char)tolower((unsigned char)seg[i]);
        }
        dst[len] = '\0';
        if (!emu_ident_valid(dst)) {
            return -1;
        }
        seg = e != NULL ? e + 1 : seg + len;
    }
    *rest = seg;
    return 0;
}

int emu_volume_locked(emu_engine_t *engine, const char *principal, const char *volume_path,
                      emu_volume_access_t access, char *local, size_t locallen, char *msg,
                      size_t msglen, emu_name_t *vol)
{
    emu_result_t res;
    emu_ctx_t cx;
    emu_name_t n;
    const char *rest = "";
    int rc = -400, ex, w;

    memset(&res, 0, sizeof(res));
    memset(&cx, 0, sizeof(cx));
    memset(&n, 0, sizeof(n));
    cx.eng = engine;
    cx.res = &res;
    cx.principal = principal != NULL ? principal : "anonymous";
    if (volume_path == NULL || split_volume_path(volume_path, &n, &rest) != 0) {
        snprintf(msg, msglen,
                 "Invalid path: '%.200s'. Expected /Volumes/<catalog>/<schema>/"
                 "<volume>/<path> without '.', '..' or empty segments.",
                 volume_path != NULL ? volume_path : "");
        return -400;
    }
    if (vol != NULL) {
        *vol = n;
    }
    if ((ex = emu_catalog_exists(&cx, n.c)) != 1) {
        snprintf(msg, msglen, "Catalog '%s' does not exist.", n.c);
        rc = -404;
        goto out;
    }
    if ((ex = emu_schema_exists(&cx, n.c, n.s)) != 1) {
        snprintf(msg, msglen, "Schema '%s.%s' does not exist.", n.c, n.s);
        rc = -404;
        goto out;
    }
    if ((ex = emu_volume_exists(&cx, &n)) != 1) {
        snprintf(msg, msglen, "Volume '%s.%s.%s' does not exist.", n.c, n.s, n.o);
        rc = -404;
        goto out;
    }
    if (!emu_allowed(engine, cx.principal,
                     access == EMU_VOLUME_WRITE ? "WRITE VOLUME" : "READ VOLUME", EMU_ON_VOLUME, &n,
                     msg, msglen)) {
        rc = -403;
        goto out;
    }
    w = snprintf(local, locallen, "%s/volumes/%s/%s/%s%s%s", engine->state_dir, n.c, n.s, n.o,
                 rest[0] != '\0' ? "/" : "", rest);
    if (w < 0 || (size_t)w >= locallen) {
        snprintf(msg, msglen, "Path too long: '%.200s'.", volume_path);
        rc = -400;
        goto out;
    }
    rc = 0;
out:
    emu_result_clear(&res);
    return rc;
}

int emu_engine_volume_path(emu_engine_t *engine, const char *principal, const char *volume_path,
                           emu_volume_access_t access, char *local, size_t locallen, char *msg,
                           size_t msglen)
{
    int rc;

    pthread_mutex_lock(&engine->mu);
    rc = emu_volume_locked(engine, principal, volume_path, access, local, locallen, msg, msglen,
                           NULL);
    pthread_mutex_unlock(&engine->mu);
    return rc;
}
