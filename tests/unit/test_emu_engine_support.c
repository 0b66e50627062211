/*
 * Helpers of the emulator engine's unit tests (see test_emu_engine_support.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "test_emu_engine_support.h"

#include "dp_test.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int t_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    size_t n = strlen(text);
    int rc;

    if (f == NULL) {
        return -1;
    }
    rc = fwrite(text, 1, n, f) == n ? 0 : -1;
    if (fclose(f) != 0) {
        rc = -1;
    }
    return rc;
}

emu_engine_t *t_open(const char *tag, const char *perms_json, char *dir)
{
    char perms[600], err[256];
    emu_engine_t *e;

    if (dp_test_tmpdir(tag, dir, 512) != 0) {
        return NULL;
    }
    if (perms_json != NULL) {
        snprintf(perms, sizeof(perms), "%s/perms.json", dir);
        if (t_write_file(perms, perms_json) != 0) {
            return NULL;
        }
    }
    e = emu_engine_open(dir, perms_json != NULL ? perms : NULL, err, sizeof(err));
    DP_ASSERT_MSG(e != NULL, "expected the engine to open, got error '%s'", err);
    return e;
}

void t_close(emu_engine_t *e, const char *dir)
{
    emu_engine_close(e);
    dp_test_rmtree(dir);
}

int t_exec(emu_engine_t *e, const char *principal, const char *sql, const char *params,
           emu_result_t *res)
{
    json_error_t je;
    json_t *p = params != NULL ? json_loads(params, 0, &je) : NULL;
    int rc;

    rc = emu_engine_execute(e, principal != NULL ? principal : "admin", "main", "default", sql, p,
                            res);
    json_decref(p);
    return rc;
}

int t_ok(emu_engine_t *e, const char *sql)
{
    emu_result_t res;
    int rc = t_exec(e, NULL, sql, NULL, &res);

    DP_ASSERT_MSG(rc == 0, "expected SUCCEEDED for '%s', got FAILED: %s", sql, res.message);
    emu_result_clear(&res);
    return rc;
}

const char *t_cell(const emu_result_t *res, size_t row, size_t col)
{
    json_t *v = json_array_get(json_array_get(res->rows, row), col);

    if (json_is_null(v)) {
        return "NULL";
    }
    return json_is_string(v) ? json_string_value(v) : "<none>";
}

size_t t_nrows(const emu_result_t *res)
{
    return json_array_size(res->rows);
}

const char *t_colinfo(const emu_result_t *res, size_t col, const char *field)
{
    const char *s = json_string_value(json_object_get(json_array_get(res->columns, col), field));

    return s != NULL ? s : "<none>";
}

void t_avro_long(unsigned char *buf, size_t *len, size_t cap, long long v)
{
    unsigned long long z = ((unsigned long long)v << 1) ^ (unsigned long long)(v >> 63);

    do {
        unsigned char b = (unsigned char)(z & 0x7f);
        z >>= 7;
        if (z != 0) {
            b |= 0x80;
        }
        if (*len < cap) {
            buf[(*len)++] = b;
        }
    } while (z != 0);
}

void t_avro_bytes(unsigned char *buf, size_t *len, size_t cap, const void *p, size_t n)
{
    t_avro_long(buf, len, cap, (long long)n);
    if (*len + n <= cap) {
        memcpy(buf + *len, p, n);
        *len += n;
    }
}

int t_write_ocf(const char *path, const char *schema_json, const unsigned char *body,
                size_t body_len, long nrecords)
{
    static const unsigned char sync[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    size_t cap = 4096 + strlen(schema_json) + body_len, len = 0;
    unsigned char *buf = malloc(cap);
    FILE *f;
    int rc = -1;

    if (buf == NULL) {
        return -1;
    }
    memcpy(buf, "Obj\x01", 4);
    len = 4;
    t_avro_long(buf, &len, cap, 2); /* metadata map: one block of 2 entries */
    t_avro_bytes(buf, &len, cap, "avro.schema", 11);
    t_avro_bytes(buf, &len, cap, schema_json, strlen(schema_json));
    t_avro_bytes(buf, &len, cap, "avro.codec", 10);
    t_avro_bytes(buf, &len, cap, "null", 4);
    t_avro_long(buf, &len, cap, 0);
    memcpy(buf + len, sync, 16);
    len += 16;
    if (nrecords > 0) {
        t_avro_long(buf, &len, cap, nrecords);
        t_avro_long(buf, &len, cap, (long long)body_len);
        memcpy(buf + len, body, body_len);
        len += body_len;
        memcpy(buf + len, sync, 16);
        len += 16;
    }
    f = fopen(path, "wb");
    if (f != NULL) {
        rc = fwrite(buf, 1, len, f) == len ? 0 : -1;
        if (fclose(f) != 0) {
            rc = -1;
        }
    }
    free(buf);
    return rc;
}

int t_rows(emu_engine_t *e, const char *sql, const char *want)
{
    return t_rows_p(e, sql, NULL, want);
}

int t_rows_p(emu_engine_t *e, const char *sql, const char *params, const char *want)
{
    emu_result_t res;
    int rc = t_exec(e, NULL, sql, params, &res), ok;
    char *got = rc == 0 ? json_dumps(res.rows, JSON_COMPACT) : NULL;

    ok = rc == 0 && got != NULL && strcmp(got, want) == 0;
    DP_ASSERT_MSG(ok, "expected rows %s for '%s', got rc %d rows %s '%s'", want, sql, rc,
                  got != NULL ? got : "(none)", res.message);
    free(got);
    emu_result_clear(&res);
    return ok;
}

int t_fails(emu_engine_t *e, const char *principal, const char *sql, const char *params,
            const char *prefix, const char *state)
{
    emu_result_t res;
    int rc = t_exec(e, principal, sql, params, &res), ok;

    ok = rc == -1 && strncmp(res.message, prefix, strlen(prefix)) == 0 &&
         (state == NULL || strcmp(res.sql_state, state) == 0);
    DP_ASSERT_MSG(ok, "expected '%s...' (%s) for '%s', got rc %d '%s' (%s)", prefix,
                  state != NULL ? state : "-", sql, rc, res.message, res.sql_state);
    emu_result_clear(&res);
    return ok;
}

int t_ok_as(emu_engine_t *e, const char *principal, const char *sql)
{
    emu_result_t res;
    int rc = t_exec(e, principal, sql, NULL, &res);

    DP_ASSERT_MSG(rc == 0, "expected SUCCEEDED for '%s' as %s, got FAILED: %s", sql,
                  principal != NULL ? principal : "admin", res.message);
    emu_result_clear(&res);
    return rc == 0;
}
