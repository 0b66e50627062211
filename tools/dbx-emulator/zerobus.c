/*
 * zerobus: the Zerobus Ingest REST endpoint of the emulator (see zerobus.h).
 *
 * It writes into the engine's tables directly, under the engine's mutex,
 * with the engine's own helpers (engine_int.h): the table's columns, the
 * grant check, the conversion of a value to the column's storage. Nothing
 * here builds SQL from request text: the data table and column names are the
 * engine's own ("d_<hex>", "c<n>") and every value is bound.
 */
#define _POSIX_C_SOURCE 200809L
#include "zerobus.h"

#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "engine_int.h"
#include "oauth.h"
#include "server.h"

static const char PREFIX[] = "/zerobus/v1/tables/";
static const char SUFFIX[] = "/insert";

typedef struct pending {
    struct pending *next;
    long long due_ms;
    emu_name_t name;
    json_t *rows; /* owned */
} pending_t;

struct emu_zerobus {
    emu_engine_t *engine;
    emu_sim_t *sim;
    size_t max_bytes;
    long max_records;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pending_t *head, *tail; /* in due order (one delay for all at a time) */
    long long npending;     /* rows */
    int stop;
    pthread_t thread;
    int started;
};

static long long mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------------ */
/* Names                                                                    */
/* ------------------------------------------------------------------------ */

/* Parses the table of "/zerobus/v1/tables/<c>.<s>.<t>/insert" into n (lower
 * case). Returns 0, or -1 when the path does not name three valid parts. */
static int path_table(const char *path, emu_name_t *n)
{
    const char *p = path + sizeof(PREFIX) - 1, *end = strstr(p, SUFFIX);
    char parts[3][EMU_NAME_MAX];
    int k = 0;

    if (strncmp(path, PREFIX, sizeof(PREFIX) - 1) != 0 || end == NULL || end[7] != '\0')
        return -1;
    while (k < 3) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        size_t len = dot ? (size_t)(dot - p) : (size_t)(end - p);

        if (len == 0 || len >= EMU_NAME_MAX)
            return -1;
        for (size_t i = 0; i < len; i++)
            parts[k][i] = (char)tolower((unsigned char)p[i]);
        parts[k][len] = '\0';
        if (!emu_ident_valid(parts[k]))
            return -1;
        k++;
        if (!dot)
            break;
        p = dot + 1;
    }
    if (k != 3 || p + strlen(parts[2]) != end)
        return -1;
    memset(n, 0, sizeof(*n));
    snprintf(n->c, sizeof(n->c), "%s", parts[0]);
    snprintf(n->s, sizeof(n->s), "%s", parts[1]);
    snprintf(n->o, sizeof(n->o), "%s", parts[2]);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Values                                                                   */
/* ------------------------------------------------------------------------ */

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

/* A 64-bit integer from a JSON integer or a string of digits (the protobuf
 * JSON mapping writes int64 either way). Returns 0 or -1. */
static int int64_of(const json_t *v, long long *out)
{
    const char *s;
    char *end = NULL;

    if (json_is_integer(v)) {
        *out = (long long)json_integer_value(v);
        return 0;
    }
    if (!json_is_string(v) || !(s = json_string_value(v))[0])
        return -1;
    errno = 0;
    *out = strtoll(s, &end, 10);
    return errno == 0 && end != s && *end == '\0' ? 0 : -1;
}

/* Binds v as the value of col at idx. Returns 0, or -1 with why filled. */
static int bind_value(sqlite3_stmt *st, int idx, const emu_col_t *col, const json_t *v, char *why,
                      size_t wlen)
{
    char buf[64], err[512];
    const char *want = NULL;
    long long n = 0;
    char *text;
    int rc;

    if (v == NULL || json_is_null(v)) {
        if (!col->nullable) {
            snprintf(why, wlen, "column `%s` is NOT NULL and has no value", col->name);
            return -1;
        }
        sqlite3_bind_null(st, idx);
        return 0;
    }
    switch (col->kind) {
    case EMU_T_STRING:
        if (!json_is_string(v)) {
            want = "a string";
            break;
        }
        sqlite3_bind_text(st, idx, json_string_value(v), (int)json_string_length(v),
                          SQLITE_TRANSIENT);
        return 0;
    case EMU_T_BIGINT:
    case EMU_T_INT:
    case EMU_T_SMALLINT:
    case EMU_T_TINYINT:
    case EMU_T_TIMESTAMP:
    case EMU_T_DATE:
        if (int64_of(v, &n) < 0) {
            want = col->kind == EMU_T_TIMESTAMP ? "an integer (microseconds since the epoch)"
                   : col->kind == EMU_T_DATE    ? "an integer (days since the epoch)"
                                                : "an integer";
            break;
        }
        if (col->kind == EMU_T_TIMESTAMP) {
            if (n < -62135596800000000LL || n > 253402300799999999LL) {
                snprintf(why, wlen, "column `%s`: timestamp %lld is out of range", col->name, n);
                return -1;
            }
            emu_timestamp_from_micros(n, buf, sizeof(buf));
        } else if (col->kind == EMU_T_DATE) {
            emu_date_from_days(n, buf, sizeof(buf));
        } else {
            snprintf(buf, sizeof(buf), "%lld", n);
        }
        if (emu_bind_text_as(st, idx, col, buf, err, sizeof(err)) != 0) {
            snprintf(why, wlen, "column `%s`: %lld does not fit %s", col->name, n, col->type);
            return -1;
        }
        return 0;
    case EMU_T_DOUBLE:
    case EMU_T_FLOAT:
        if (!json_is_number(v)) {
            want = "a number";
            break;
        }
        sqlite3_bind_double(st, idx, json_number_value(v));
        return 0;
    case EMU_T_BOOLEAN:
        if (!json_is_boolean(v)) {
            want = "a boolean";
            break;
        }
        sqlite3_bind_int(st, idx, json_is_true(v));
        return 0;
    case EMU_T_BINARY: {
        size_t len = json_is_string(v) ? json_string_length(v) : 0;
        unsigned char *raw;
        int got;

        if (!json_is_string(v) || len % 4 != 0) {
            want = "a base64 string";
            break;
        }
        raw = malloc(len / 4 * 3 + 1);
        got =
            raw ? EVP_DecodeBlock(raw, (const unsigned char *)json_string_value(v), (int)len) : -1;
        if (got < 0) {
            free(raw);
            want = "a base64 string";
            break;
        }
        if (len >= 1 && json_string_value(v)[len - 1] == '=')
            got--;
        if (len >= 2 && json_string_value(v)[len - 2] == '=')
            got--;
        sqlite3_bind_blob(st, idx, raw, got, free);
        return 0;
    }
    case EMU_T_DECIMAL:
        snprintf(why, wlen,
                 "column `%s` is %s, which Zerobus Ingest cannot write (its type mapping has no "
                 "DECIMAL)",
                 col->name, col->type);
        return -1;
    case EMU_T_STRUCT:
    case EMU_T_MAP:
    case EMU_T_ARRAY:
        if (col->kind == EMU_T_ARRAY ? !json_is_array(v) : !json_is_object(v)) {
            want = col->kind == EMU_T_ARRAY ? "an array" : "an object";
            break;
        }
        text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        rc = text ? emu_bind_text_as(st, idx, col, text, err, sizeof(err)) : -1;
        free(text);
        if (rc != 0) {
            snprintf(why, wlen, "column `%s`: the value cannot be stored as %s", col->name,
                     col->type);
            return -1;
        }
        return 0;
    default:
        want = "a value of a type Zerobus Ingest writes";
        break;
    }
    snprintf(why, wlen, "column `%s` is %s: expected %s, got %s", col->name, col->type, want,
             json_kind(v));
    return -1;
}

/* ------------------------------------------------------------------------ */
/* Rows into a table                                                        */
/* ------------------------------------------------------------------------ */

typedef struct outcome {
    int status; /* 200, or the HTTP status of the refusal */
    char code[48];
    char msg[768];
} outcome_t;

static int refuse(outcome_t *o, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int refuse(outcome_t *o, int status, const char *code, const char *fmt, ...)
{
    va_list ap;

    o->status = status;
    snprintf(o->code, sizeof(o->code), "%s", code);
    va_start(ap, fmt);
    vsnprintf(o->msg, sizeof(o->msg), fmt, ap);
    va_end(ap);
    return -1;
}

/* Checks rows (a JSON array of objects) against table n and, with write,
 * inserts them in one transaction. check_grants: the principal needs SELECT
 * and MODIFY on the table. Returns 0 or -1 with o filled. Takes the engine's
 * mutex. */
static int apply_rows(emu_zerobus_t *zb, const char *principal, const emu_name_t *n,
                      const json_t *rows, int check_grants, int write, outcome_t *o)
{
    emu_engine_t *eng = zb->engine;
    emu_result_t res;
    emu_ctx_t cx;
    emu_table_t t;
    sqlite3_stmt *st = NULL;
    char msg[512], why[512], *sql = NULL;
    size_t i, cap;
    int loaded = 0, rc = -1, began = 0;

    memset(&res, 0, sizeof(res));
    memset(&cx, 0, sizeof(cx));
    memset(&t, 0, sizeof(t));
    cx.eng = eng;
    cx.principal = principal;
    cx.res = &res;
    o->status = 200;
    pthread_mutex_lock(&eng->mu);
    if (check_grants &&
        (!emu_allowed(eng, principal, "SELECT", EMU_ON_TABLE, n, msg, sizeof(msg)) ||
         !emu_allowed(eng, principal, "MODIFY", EMU_ON_TABLE, n, msg, sizeof(msg)))) {
        refuse(o, 403, "PERMISSION_DENIED", "%s", msg);
        goto out;
    }
    switch (emu_table_load(&cx, n, &t)) {
    case 0:
        loaded = 1;
        break;
    case 1:
        refuse(o, 404, "NOT_FOUND", "Table '%s.%s.%s' does not exist.", n->c, n->s, n->o);
        goto out;
    default:
        refuse(o, 500, "INTERNAL_ERROR", "Could not read table '%s.%s.%s': %s", n->c, n->s, n->o,
               res.message);
        goto out;
    }
    if (t.ncols == 0) {
        refuse(o, 400, "INVALID_PARAMETER_VALUE",
               "Table '%s.%s.%s' has no columns; Zerobus Ingest writes only tables with a schema.",
               n->c, n->s, n->o);
        goto out;
    }
    cap = 64 + (size_t)t.ncols * 24;
    if ((sql = malloc(cap)) == NULL) {
        refuse(o, 500, "INTERNAL_ERROR", "out of memory");
        goto out;
    }
    {
        size_t len = (size_t)snprintf(sql, cap, "INSERT INTO %s(", t.data);

        for (int k = 0; k < t.ncols; k++)
            len += (size_t)snprintf(sql + len, cap - len, "%sc%d", k ? ", " : "", k);
        len += (size_t)snprintf(sql + len, cap - len, ") VALUES(");
        for (int k = 0; k < t.ncols; k++)
            len += (size_t)snprintf(sql + len, cap - len, "%s?%d", k ? ", " : "", k + 1);
        snprintf(sql + len, cap - len, ")");
    }
    if (write) {
        if (sqlite3_exec(eng->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
            refuse(o, 500, "INTERNAL_ERROR", "begin: %s", sqlite3_errmsg(eng->db));
            goto out;
        }
        began = 1;
    }
    if (sqlite3_prepare_v2(eng->db, sql, -1, &st, NULL) != SQLITE_OK) {
        refuse(o, 500, "INTERNAL_ERROR", "prepare: %s", sqlite3_errmsg(eng->db));
        goto out;
    }
    for (i = 0; i < json_array_size(rows); i++) {
        const json_t *row = json_array_get(rows, i), *v;
        const char *key;

        if (!json_is_object(row)) {
            refuse(o, 400, "INVALID_PARAMETER_VALUE", "Record %zu is %s, not an object.", i,
                   json_kind(row));
            goto out;
        }
        json_object_foreach((json_t *)row, key, v)
        {
            if (emu_table_col(&t, key) < 0) {
                refuse(o, 400, "INVALID_PARAMETER_VALUE",
                       "Record %zu: column `%.200s` does not exist in table '%s.%s.%s'.", i, key,
                       n->c, n->s, n->o);
                goto out;
            }
        }
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        for (int k = 0; k < t.ncols; k++) {
            const json_t *val = NULL;

            /* Columns match case-insensitively, as the table's do. */
            json_object_foreach((json_t *)row, key, v)
            {
                if (strcasecmp(key, t.cols[k].name) == 0)
                    val = v;
            }
            if (bind_value(st, k + 1, &t.cols[k], val, why, sizeof(why)) < 0) {
                refuse(o, 400, "INVALID_PARAMETER_VALUE", "Record %zu: %s.", i, why);
                goto out;
            }
        }
        if (write && sqlite3_step(st) != SQLITE_DONE) {
            refuse(o, 500, "INTERNAL_ERROR", "insert: %s", sqlite3_errmsg(eng->db));
            goto out;
        }
    }
    if (write) {
        sqlite3_finalize(st);
        st = NULL;
        if (emu_table_touch(&cx, t.id, 1, 0) != 0 ||
            sqlite3_exec(eng->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
            refuse(o, 500, "INTERNAL_ERROR", "commit: %s", sqlite3_errmsg(eng->db));
            goto out;
        }
        began = 0;
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    if (began)
        sqlite3_exec(eng->db, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_unlock(&eng->mu);
    if (loaded)
        emu_table_free(&t);
    emu_result_clear(&res);
    free(sql);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Delayed visibility                                                       */
/* ------------------------------------------------------------------------ */

static void write_pending(emu_zerobus_t *zb, pending_t *p)
{
    outcome_t o;

    /* The grants were checked when the rows were acknowledged. */
    if (apply_rows(zb, "admin", &p->name, p->rows, 0, 1, &o) < 0)
        fprintf(stderr,
                "deltaport-dbx-emulator: zerobus: %zu acknowledged rows for %s.%s.%s "
                "not written: %s\n",
                json_array_size(p->rows), p->name.c, p->name.s, p->name.o, o.msg);
    json_decref(p->rows);
    free(p);
}

static void *writer(void *arg)
{
    emu_zerobus_t *zb = arg;

    pthread_mutex_lock(&zb->mu);
    for (;;) {
        pending_t *p = zb->head;

        if (p == NULL && zb->stop)
            break;
        if (p == NULL || (!zb->stop && p->due_ms > mono_ms())) {
            struct timespec until;
            long long wait = p ? p->due_ms - mono_ms() : 1000;

            clock_gettime(CLOCK_MONOTONIC, &until);
            until.tv_sec += wait / 1000;
            until.tv_nsec += (wait % 1000) * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&zb->cv, &zb->mu, &until);
            continue;
        }
        long long nrows = (long long)json_array_size(p->rows);

        zb->head = p->next;
        if (zb->head == NULL)
            zb->tail = NULL;
        pthread_mutex_unlock(&zb->mu);
        write_pending(zb, p); /* frees p */
        pthread_mutex_lock(&zb->mu);
        zb->npending -= nrows;
    }
    pthread_mutex_unlock(&zb->mu);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* HTTP                                                                     */
/* ------------------------------------------------------------------------ */

int emu_zerobus_authenticate(emu_req_t *req)
{
    const char *h = emu_req_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
    const char *token = NULL;
    char audience[3 * EMU_NAME_MAX + 16];
    emu_name_t n;
    int rc;

    if (path_table(req->path, &n) < 0) {
        emu_reply_error(req, 400, "INVALID_PARAMETER_VALUE",
                        "The path must name a table as /zerobus/v1/tables/<catalog>.<schema>."
                        "<table>/insert.");
        return -1;
    }
    if (h != NULL && strncasecmp(h, "Bearer ", 7) == 0) {
        token = h + 7;
        while (*token == ' ')
            token++;
    }
    snprintf(audience, sizeof(audience), "zerobus:%s.%s.%s", n.c, n.s, n.o);
    rc = emu_oauth_check_for(req->srv->oauth, token, audience, req->principal,
                             sizeof(req->principal));
    if (rc == EMU_AUTH_OK)
        return 0;
    if (rc == EMU_AUTH_AUDIENCE) {
        emu_reply_error(req, 403, "PERMISSION_DENIED",
                        "The token is not authorized to write table '%s.%s.%s': mint it with "
                        "resource api://databricks/workspaces/<id>/zerobusDirectWriteApi and "
                        "authorization_details naming this table.",
                        n.c, n.s, n.o);
        return -1;
    }
    req->principal[0] = '\0';
    emu_reply_error(req, 401, "UNAUTHENTICATED", "%s",
                    rc == EMU_AUTH_MISSING   ? "Missing bearer token in Authorization header."
                    : rc == EMU_AUTH_EXPIRED ? "Token is expired."
                                             : "Invalid access token.");
    MHD_add_response_header(req->resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    return -1;
}

void emu_zerobus_handle(emu_req_t *req)
{
    emu_zerobus_t *zb = req->srv->zerobus;
    emu_sim_latency_t lat;
    json_error_t je;
    json_t *rows;
    emu_name_t n;
    outcome_t o;
    size_t nrows;

    if (zb == NULL || path_table(req->path, &n) < 0) {
        emu_reply_error(req, 404, "ENDPOINT_NOT_FOUND", "No API found for '%s %s'", req->method,
                        req->path);
        return;
    }
    rows = json_loadb(req->body ? req->body : "", req->body_len, 0, &je);
    if (!json_is_array(rows)) {
        json_decref(rows);
        emu_reply_error(req, 400, "INVALID_PARAMETER_VALUE",
                        "The body must be a JSON array of records: %s", je.text);
        return;
    }
    nrows = json_array_size(rows);
    if ((long)nrows > zb->max_records) {
        json_decref(rows);
        emu_reply_error(req, 400, "INVALID_PARAMETER_VALUE",
                        "A request holds at most %ld records; this one has %zu.", zb->max_records,
                        nrows);
        return;
    }
    emu_sim_get(zb->sim, &lat);
    if (apply_rows(zb, req->principal, &n, rows, 1, lat.zerobus_visibility_ms == 0, &o) < 0) {
        json_decref(rows);
        emu_reply_error(req, o.status, o.code, "%s", o.msg);
        return;
    }
    if (lat.zerobus_visibility_ms > 0 && nrows > 0) {
        pending_t *p = calloc(1, sizeof(*p));

        if (p == NULL) {
            json_decref(rows);
            emu_reply_error(req, 500, "INTERNAL_ERROR", "out of memory");
            return;
        }
        p->name = n;
        p->rows = rows;
        rows = NULL;
        p->due_ms = mono_ms() + lat.zerobus_visibility_ms;
        pthread_mutex_lock(&zb->mu);
        /* Keep the queue in due order even when the delay changed meanwhile. */
        if (zb->tail == NULL || zb->tail->due_ms <= p->due_ms) {
            if (zb->tail)
                zb->tail->next = p;
            else
                zb->head = p;
            zb->tail = p;
        } else {
            pending_t **pp = &zb->head;

            while (*pp && (*pp)->due_ms <= p->due_ms)
                pp = &(*pp)->next;
            p->next = *pp;
            *pp = p;
        }
        zb->npending += (long long)nrows;
        pthread_cond_signal(&zb->cv);
        pthread_mutex_unlock(&zb->mu);
    }
    json_decref(rows);
    emu_sim_count_zerobus_rows(zb->sim, (long long)nrows);
    emu_reply_json(req, 200, json_object());
}

/* ------------------------------------------------------------------------ */
/* Lifecycle                                                                */
/* ------------------------------------------------------------------------ */

emu_zerobus_t *emu_zerobus_new(emu_engine_t *engine, emu_sim_t *sim, size_t max_bytes,
                               long max_records)
{
    emu_zerobus_t *zb = calloc(1, sizeof(*zb));
    pthread_condattr_t attr;

    if (zb == NULL)
        return NULL;
    zb->engine = engine;
    zb->sim = sim;
    zb->max_bytes = max_bytes ? max_bytes : EMU_ZEROBUS_MAX_BYTES_DEFAULT;
    zb->max_records = max_records > 0 ? max_records : EMU_ZEROBUS_MAX_RECORDS_DEFAULT;
    pthread_mutex_init(&zb->mu, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&zb->cv, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&zb->thread, NULL, writer, zb) != 0) {
        emu_zerobus_destroy(zb);
        return NULL;
    }
    zb->started = 1;
    return zb;
}

void emu_zerobus_destroy(emu_zerobus_t *zb)
{
    if (zb == NULL)
        return;
    if (zb->started) {
        pthread_mutex_lock(&zb->mu);
        zb->stop = 1; /* the writer writes what waits, then ends */
        pthread_cond_signal(&zb->cv);
        pthread_mutex_unlock(&zb->mu);
        pthread_join(zb->thread, NULL);
    }
    pthread_cond_destroy(&zb->cv);
    pthread_mutex_destroy(&zb->mu);
    free(zb);
}

size_t emu_zerobus_max_bytes(const emu_zerobus_t *zb)
{
    return zb ? zb->max_bytes : EMU_ZEROBUS_MAX_BYTES_DEFAULT;
}

long long emu_zerobus_pending(emu_zerobus_t *zb)
{
    long long n;

    pthread_mutex_lock(&zb->mu);
    n = zb->npending;
    pthread_mutex_unlock(&zb->mu);
    return n;
}
