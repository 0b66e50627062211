/*
 * Unit tests of the pure parts of src/dbx/: path encoding, error bodies,
 * OAuth token responses, directory pages, statement responses, COPY INTO
 * counts and failure kinds. Canned JSON strings, no server.
 */
#include "dbx/dbx_int.h"
#include "dbx/sql.h"
#include "dp_test.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------
 * Paths
 * ------------------------------------------------------------------------- */

static void test_dbx_encode_path_keeps_slashes_and_escapes_the_rest(void)
{
    static const struct {
        const char *in;
        const char *out;
    } ok[] = {
        {"/Volumes/main/s/v/f.avro", "/Volumes/main/s/v/f.avro"},
        {"/Volumes/main/s/v/a b/c%d.avro", "/Volumes/main/s/v/a%20b/c%25d.avro"},
        {"/Volumes/main/s/v/x?y#z&=+", "/Volumes/main/s/v/x%3Fy%23z%26%3D%2B"},
        {"/Volumes/main/s/v/caf\xc3\xa9", "/Volumes/main/s/v/caf%C3%A9"},
        {"/Volumes/main/s/v/dir/", "/Volumes/main/s/v/dir/"},
        {"/Volumes/c/s/v", "/Volumes/c/s/v"},
        {"/Volumes/c/s/v/a~b-c_d.e", "/Volumes/c/s/v/a~b-c_d.e"},
    };
    static const char *const bad[] = {
        "/tmp/x",
        "Volumes/c/s/v/f",
        "/Volumes/c/s",
        "/Volumes/c//v/f",
        "/Volumes/c/s/v/../f",
        "/Volumes/c/s/v/./f",
        "/Volumes/c/s/v/a\nb",
        "/Volumes/c/s/v/f//",
        NULL,
    };
    char out[256];
    dp_err_t err;
    size_t i;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int rc = dp_dbx_encode_path(ok[i].in, out, sizeof(out), &err);

        DP_ASSERT_MSG(rc == 0 && strcmp(out, ok[i].out) == 0,
                      "'%s': expected '%s', got rc %d '%s' (%s)", ok[i].in, ok[i].out, rc,
                      rc == 0 ? out : "", rc == 0 ? "" : err.msg);
    }
    for (i = 0; bad[i] != NULL; i++) {
        int rc = dp_dbx_encode_path(bad[i], out, sizeof(out), &err);

        DP_ASSERT_MSG(rc == DP_EINVAL, "'%s' must be refused with DP_EINVAL, got %d", bad[i], rc);
    }
    DP_ASSERT_MSG(dp_dbx_encode_path("/Volumes/c/s/v/f", out, 10, &err) == DP_ETOOBIG,
                  "a small buffer gives DP_ETOOBIG");
}

static void test_dbx_volume_object_from_path(void)
{
    dp_retry_object_t obj;
    char name[64];

    dp_dbx_volume_object("/Volumes/main/sales/stage/inc/t/k.avro", DP_RETRY_ACCESS_WRITE, name,
                         sizeof(name), &obj);
    DP_ASSERT_MSG(strcmp(name, "main.sales.stage") == 0 && obj.kind == DP_RETRY_OBJ_VOLUME &&
                      obj.access == DP_RETRY_ACCESS_WRITE && obj.name == name,
                  "expected volume main.sales.stage, got %s", name);
}

/* ---------------------------------------------------------------------------
 * Error bodies and tokens
 * ------------------------------------------------------------------------- */

static void test_dbx_parse_error_body_forms(void)
{
    const char *a = "{\"error_code\":\"PERMISSION_DENIED\",\"message\":\"no\",\"details\":[]}";
    const char *b = "{\"error\":\"invalid_client\",\"error_description\":\"bad secret\"}";
    char code[64], msg[64];

    DP_ASSERT_MSG(dp_dbx_parse_error_body(a, strlen(a), code, sizeof(code), msg, sizeof(msg)) ==
                          0 &&
                      !strcmp(code, "PERMISSION_DENIED") && !strcmp(msg, "no"),
                  "Databricks form: got %s / %s", code, msg);
    DP_ASSERT_MSG(dp_dbx_parse_error_body(b, strlen(b), code, sizeof(code), msg, sizeof(msg)) ==
                          0 &&
                      !strcmp(code, "invalid_client") && !strcmp(msg, "bad secret"),
                  "OAuth form: got %s / %s", code, msg);
    DP_ASSERT_MSG(dp_dbx_parse_error_body("<html>", 6, code, sizeof(code), msg, sizeof(msg)) ==
                          -1 &&
                      code[0] == '\0',
                  "HTML gives no code");
    DP_ASSERT_MSG(dp_dbx_parse_error_body(NULL, 0, code, sizeof(code), msg, sizeof(msg)) == -1,
                  "empty body gives no code");
}

static void test_dbx_parse_token_response(void)
{
    const char *ok = "{\"access_token\":\"abc.def\",\"token_type\":\"Bearer\",\"expires_in\":3599,"
                     "\"scope\":\"all-apis\"}";
    const char *noexp = "{\"access_token\":\"t\"}";
    const char *strexp = "{\"access_token\":\"t\",\"expires_in\":\"120\"}";
    const char *none = "{\"token_type\":\"Bearer\"}";
    char tok[16];
    long exp = 0;
    dp_err_t err;

    DP_ASSERT_MSG(dp_oauth_parse_token_response(ok, strlen(ok), tok, sizeof(tok), &exp, &err) ==
                          0 &&
                      !strcmp(tok, "abc.def") && exp == 3599,
                  "expected abc.def / 3599, got %s / %ld", tok, exp);
    DP_ASSERT_MSG(
        dp_oauth_parse_token_response(noexp, strlen(noexp), tok, sizeof(tok), &exp, &err) == 0 &&
            exp == 3600,
        "missing expires_in defaults to 3600, got %ld", exp);
    DP_ASSERT_MSG(
        dp_oauth_parse_token_response(strexp, strlen(strexp), tok, sizeof(tok), &exp, &err) == 0 &&
            exp == 120,
        "string expires_in accepted, got %ld", exp);
    DP_ASSERT_MSG(dp_oauth_parse_token_response(none, strlen(none), tok, sizeof(tok), &exp, &err) ==
                      DP_EINVAL,
                  "no access_token is DP_EINVAL");
    DP_ASSERT_MSG(dp_oauth_parse_token_response("garbage", 7, tok, sizeof(tok), &exp, &err) ==
                      DP_EINVAL,
                  "garbage is DP_EINVAL");
    DP_ASSERT_MSG(dp_oauth_parse_token_response(ok, strlen(ok), tok, 4, &exp, &err) == DP_ETOOBIG,
                  "a small buffer is DP_ETOOBIG");
    DP_ASSERT_MSG(strstr(err.msg, "abc") == NULL, "an error must never echo the token: %s",
                  err.msg);
}

/* ---------------------------------------------------------------------------
 * Directory pages
 * ------------------------------------------------------------------------- */

typedef struct collect {
    int n;
    int stop_after;
    char names[8][32];
    long long sizes[8];
    int dirs;
} collect_t;

static int collect_cb(void *ctx, const dp_dbx_file_entry_t *e)
{
    collect_t *c = ctx;

    if (c->n < 8) {
        snprintf(c->names[c->n], sizeof(c->names[0]), "%s", e->name);
        c->sizes[c->n] = e->file_size;
    }
    c->dirs += e->is_directory;
    c->n++;
    return c->stop_after > 0 && c->n >= c->stop_after;
}

static void test_dbx_parse_directory_pages(void)
{
    const char *p1 = "{\"contents\":[{\"path\":\"/Volumes/c/s/v/a.avro\",\"is_directory\":false,"
                     "\"file_size\":12,\"last_modified\":1700000000000,\"name\":\"a.avro\"},"
                     "{\"path\":\"/Volumes/c/s/v/d\",\"is_directory\":true}],"
                     "\"next_page_token\":\"tok/2+\"}";
    const char *last = "{\"contents\":[]}";
    const char *empty = "{}";
    collect_t c = {0};
    char next[32];
    int stopped;
    dp_err_t err;

    DP_ASSERT_FATAL_MSG(dp_dbx_files_parse_page(p1, strlen(p1), collect_cb, &c, next, sizeof(next),
                                                &stopped, &err) == 0,
                        "page 1 parses: %s", err.msg);
    DP_ASSERT_MSG(c.n == 2 && !strcmp(c.names[0], "a.avro") && c.sizes[0] == 12 &&
                      !strcmp(c.names[1], "d") && c.dirs == 1 && c.sizes[1] == -1,
                  "expected a.avro(12) and dir d, got %d entries", c.n);
    DP_ASSERT_MSG(!strcmp(next, "tok/2+") && !stopped, "expected next token, got '%s'", next);
    DP_ASSERT_MSG(dp_dbx_files_parse_page(last, strlen(last), collect_cb, &c, next, sizeof(next),
                                          &stopped, &err) == 0 &&
                      next[0] == '\0',
                  "last page has no token");
    DP_ASSERT_MSG(
        dp_dbx_files_parse_page(empty, 2, collect_cb, &c, next, sizeof(next), &stopped, &err) == 0,
        "an empty directory answers {}");
    memset(&c, 0, sizeof(c));
    c.stop_after = 1;
    dp_dbx_files_parse_page(p1, strlen(p1), collect_cb, &c, next, sizeof(next), &stopped, &err);
    DP_ASSERT_MSG(c.n == 1 && stopped == 1, "callback stop honoured, got %d entries", c.n);
    DP_ASSERT_MSG(dp_dbx_files_parse_page("[1]", 3, collect_cb, &c, next, sizeof(next), &stopped,
                                          &err) == DP_EINVAL,
                  "not an object: DP_EINVAL");
}

/* ---------------------------------------------------------------------------
 * Statements
 * ------------------------------------------------------------------------- */

static const char *const copy_ok =
    "{\"statement_id\":\"01ef-aa\",\"status\":{\"state\":\"SUCCEEDED\"},"
    "\"manifest\":{\"format\":\"JSON_ARRAY\",\"schema\":{\"column_count\":3,\"columns\":["
    "{\"name\":\"num_affected_rows\",\"type_name\":\"LONG\",\"position\":0},"
    "{\"name\":\"num_inserted_rows\",\"type_name\":\"LONG\",\"position\":1},"
    "{\"name\":\"num_skipped_corrupt_files\",\"type_name\":\"LONG\",\"position\":2}]},"
    "\"total_chunk_count\":1,\"total_row_count\":1},"
    "\"result\":{\"chunk_index\":0,\"row_offset\":0,\"row_count\":1,"
    "\"data_array\":[[\"1500\",\"1500\",\"0\"]]}}";

static void test_dbx_sql_parse_states(void)
{
    static const struct {
        const char *state;
        dp_dbx_sql_state_t expect;
    } cases[] = {
        {"PENDING", DP_DBX_SQL_PENDING},     {"RUNNING", DP_DBX_SQL_RUNNING},
        {"SUCCEEDED", DP_DBX_SQL_SUCCEEDED}, {"FAILED", DP_DBX_SQL_FAILED},
        {"CANCELED", DP_DBX_SQL_CANCELED},   {"CLOSED", DP_DBX_SQL_CLOSED},
        {"WEIRD", DP_DBX_SQL_UNKNOWN},
    };
    dp_dbx_sql_result_t res = {0};
    char body[256];
    dp_err_t err;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(body, sizeof(body), "{\"statement_id\":\"s-%zu\",\"status\":{\"state\":\"%s\"}}",
                 i, cases[i].state);
        DP_ASSERT_MSG(dp_dbx_sql_parse_response(body, strlen(body), &res, &err) == 0 &&
                          res.state == cases[i].expect,
                      "%s: expected state %d, got %d", cases[i].state, cases[i].expect, res.state);
        DP_ASSERT_MSG(!strcmp(dp_dbx_sql_state_name(res.state),
                              cases[i].expect == DP_DBX_SQL_UNKNOWN ? "UNKNOWN" : cases[i].state),
                      "state name round trip for %s", cases[i].state);
    }
    DP_ASSERT_MSG(dp_dbx_sql_parse_response("{\"status\":{}}", 13, &res, &err) == DP_EINVAL,
                  "no statement_id: DP_EINVAL");
    DP_ASSERT_MSG(dp_dbx_sql_parse_response("nope", 4, &res, &err) == DP_EINVAL,
                  "not JSON: DP_EINVAL");
    dp_dbx_sql_result_clear(&res);
}

static void test_dbx_sql_parse_failed_with_error_class(void)
{
    const char *failed =
        "{\"statement_id\":\"s-9\",\"status\":{\"state\":\"FAILED\",\"sql_state\":\"42KD9\","
        "\"error\":{\"error_code\":\"BAD_REQUEST\",\"message\":\"[DELTA_FAILED_TO_MERGE_FIELDS] "
        "Failed to merge fields 'value' and 'value'. SQLSTATE: 22005\"}}}";
    dp_dbx_sql_result_t res = {0};
    dp_err_t err;

    DP_ASSERT_FATAL_MSG(dp_dbx_sql_parse_response(failed, strlen(failed), &res, &err) == 0,
                        "parses: %s", err.msg);
    DP_ASSERT_MSG(res.state == DP_DBX_SQL_FAILED && !strcmp(res.statement_id, "s-9") &&
                      !strcmp(res.error_code, "BAD_REQUEST") && !strcmp(res.sql_state, "42KD9") &&
                      !strcmp(res.error_class, "DELTA_FAILED_TO_MERGE_FIELDS"),
                  "got state %d id %s code %s sqlstate %s class %s", res.state, res.statement_id,
                  res.error_code, res.sql_state, res.error_class);
    DP_ASSERT_MSG(strstr(res.message, "Failed to merge") != NULL, "message kept: %s", res.message);
    dp_dbx_sql_result_clear(&res);
}

static void test_dbx_sql_error_class_extraction(void)
{
    static const struct {
        const char *msg;
        const char *cls;
    } cases[] = {
        {"[TABLE_OR_VIEW_NOT_FOUND] The table ...", "TABLE_OR_VIEW_NOT_FOUND"},
        {"org.apache.spark.SparkException: [CAST_INVALID_INPUT] bad", "CAST_INVALID_INPUT"},
        {"[UNRESOLVED_COLUMN.WITH_SUGGESTION] x", "UNRESOLVED_COLUMN.WITH_SUGGESTION"},
        {"no class here", ""},
        {"[lowercase] x", ""},
        {"[UNCLOSED x", ""},
        {"", ""},
    };
    char cls[64];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dp_dbx_sql_error_class(cases[i].msg, cls, sizeof(cls));
        DP_ASSERT_MSG(!strcmp(cls, cases[i].cls), "'%s': expected '%s', got '%s'", cases[i].msg,
                      cases[i].cls, cls);
    }
    dp_dbx_sql_error_class(NULL, cls, sizeof(cls));
    DP_ASSERT_MSG(cls[0] == '\0', "NULL message gives no class");
}

static void test_dbx_sql_copy_counts(void)
{
    const char *positional = "{\"statement_id\":\"p\",\"status\":{\"state\":\"SUCCEEDED\"},"
                             "\"result\":{\"data_array\":[[\"7\",\"5\",\"1\"]]}}";
    const char *norow = "{\"statement_id\":\"n\",\"status\":{\"state\":\"SUCCEEDED\"}}";
    const char *badcell = "{\"statement_id\":\"b\",\"status\":{\"state\":\"SUCCEEDED\"},"
                          "\"result\":{\"data_array\":[[\"x\",null,\"1\"]]}}";
    dp_dbx_sql_result_t res = {0};
    dp_dbx_copy_counts_t n;
    dp_err_t err;

    dp_dbx_sql_parse_response(copy_ok, strlen(copy_ok), &res, &err);
    DP_ASSERT_MSG(json_array_size(res.columns) == 3 && json_array_size(res.rows) == 1,
                  "columns and rows kept");
    DP_ASSERT_MSG(dp_dbx_sql_copy_counts(&res, &n, &err) == 0 && n.num_affected_rows == 1500 &&
                      n.num_inserted_rows == 1500 && n.num_skipped_corrupt_files == 0,
                  "expected 1500/1500/0, got %lld/%lld/%lld", n.num_affected_rows,
                  n.num_inserted_rows, n.num_skipped_corrupt_files);
    DP_ASSERT_MSG(res.next_chunk == 0, "a single chunk leaves nothing to fetch");
    dp_dbx_sql_parse_response(positional, strlen(positional), &res, &err);
    DP_ASSERT_MSG(dp_dbx_sql_copy_counts(&res, &n, &err) == 0 && n.num_affected_rows == 7 &&
                      n.num_inserted_rows == 5 && n.num_skipped_corrupt_files == 1,
                  "positional: expected 7/5/1");
    dp_dbx_sql_parse_response(norow, strlen(norow), &res, &err);
    DP_ASSERT_MSG(dp_dbx_sql_copy_counts(&res, &n, &err) == DP_EINVAL, "no row: DP_EINVAL");
    dp_dbx_sql_parse_response(badcell, strlen(badcell), &res, &err);
    DP_ASSERT_MSG(dp_dbx_sql_copy_counts(&res, &n, &err) == DP_EINVAL, "bad cell: DP_EINVAL");
    dp_dbx_sql_result_clear(&res);
}

static void test_dbx_sql_parse_notes_more_chunks(void)
{
    const char *first =
        "{\"statement_id\":\"c\",\"status\":{\"state\":\"SUCCEEDED\"},"
        "\"manifest\":{\"total_chunk_count\":3},\"result\":{\"chunk_index\":0,"
        "\"data_array\":[[\"a\"]],\"next_chunk_index\":1,"
        "\"next_chunk_internal_link\":\"/api/2.0/sql/statements/c/result/chunks/1\"}}";
    dp_dbx_sql_result_t res = {0};
    dp_err_t err;

    DP_ASSERT_MSG(dp_dbx_sql_parse_response(first, strlen(first), &res, &err) == 0 &&
                      res.next_chunk == 1 && json_array_size(res.rows) == 1,
                  "expected next chunk 1, got %ld", res.next_chunk);
    dp_dbx_sql_result_clear(&res);
}

static void test_dbx_sql_failure_kind(void)
{
    static const struct {
        dp_dbx_sql_state_t state;
        const char *code;
        const char *cls;
        dp_dbx_sql_failure_t kind;
    } cases[] = {
        {DP_DBX_SQL_SUCCEEDED, "", "", DP_DBX_SQL_FAIL_NONE},
        {DP_DBX_SQL_CLOSED, "", "", DP_DBX_SQL_FAIL_NONE},
        {DP_DBX_SQL_FAILED, "BAD_REQUEST", "DELTA_FAILED_TO_MERGE_FIELDS", DP_DBX_SQL_FAIL_DATA},
        {DP_DBX_SQL_FAILED, "BAD_REQUEST", "CAST_INVALID_INPUT", DP_DBX_SQL_FAIL_DATA},
        {DP_DBX_SQL_FAILED, "BAD_REQUEST", "NUMERIC_VALUE_OUT_OF_RANGE", DP_DBX_SQL_FAIL_DATA},
        {DP_DBX_SQL_FAILED, "BAD_REQUEST", "FAILED_READ_FILE.NO_HINT", DP_DBX_SQL_FAIL_DATA},
        {DP_DBX_SQL_FAILED, "BAD_REQUEST", "INSUFFICIENT_PERMISSIONS", DP_DBX_SQL_FAIL_SETUP},
        {DP_DBX_SQL_FAILED, "BAD_REQUEST", "TABLE_OR_VIEW_NOT_FOUND", DP_DBX_SQL_FAIL_SETUP},
        {DP_DBX_SQL_FAILED, "BAD_REQUEST", "SCHEMA_NOT_FOUND", DP_DBX_SQL_FAIL_SETUP},
        {DP_DBX_SQL_FAILED, "BAD_REQUEST", "PERMISSION_DENIED", DP_DBX_SQL_FAIL_SETUP},
        {DP_DBX_SQL_UNKNOWN, "NOT_FOUND", "", DP_DBX_SQL_FAIL_SETUP}, /* warehouse missing */
        {DP_DBX_SQL_UNKNOWN, "PERMISSION_DENIED", "", DP_DBX_SQL_FAIL_SETUP},
        {DP_DBX_SQL_FAILED, "BAD_REQUEST", "COPY_INTO_DUPLICATED_FILES_COPY_NOT_ALLOWED",
         DP_DBX_SQL_FAIL_TRANSIENT},
        {DP_DBX_SQL_FAILED, "BAD_REQUEST", "DELTA_CONCURRENT_APPEND", DP_DBX_SQL_FAIL_TRANSIENT},
        {DP_DBX_SQL_FAILED, "TEMPORARILY_UNAVAILABLE", "", DP_DBX_SQL_FAIL_TRANSIENT},
        {DP_DBX_SQL_CANCELED, "", "", DP_DBX_SQL_FAIL_TRANSIENT},
        {DP_DBX_SQL_FAILED, "BAD_REQUEST", "PARSE_SYNTAX_ERROR", DP_DBX_SQL_FAIL_UNKNOWN},
        {DP_DBX_SQL_FAILED, "INTERNAL_ERROR", "", DP_DBX_SQL_FAIL_UNKNOWN},
    };
    dp_dbx_sql_result_t res;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&res, 0, sizeof(res));
        res.state = cases[i].state;
        snprintf(res.error_code, sizeof(res.error_code), "%s", cases[i].code);
        snprintf(res.error_class, sizeof(res.error_class), "%s", cases[i].cls);
        DP_ASSERT_MSG(dp_dbx_sql_failure_kind(&res) == cases[i].kind,
                      "case %zu (%s %s): expected kind %d, got %d", i, cases[i].code, cases[i].cls,
                      cases[i].kind, dp_dbx_sql_failure_kind(&res));
    }
}

static const dp_test_case_t cases[] = {
    {"test_dbx_encode_path_keeps_slashes_and_escapes_the_rest",
     test_dbx_encode_path_keeps_slashes_and_escapes_the_rest},
    {"test_dbx_volume_object_from_path", test_dbx_volume_object_from_path},
    {"test_dbx_parse_error_body_forms", test_dbx_parse_error_body_forms},
    {"test_dbx_parse_token_response", test_dbx_parse_token_response},
    {"test_dbx_parse_directory_pages", test_dbx_parse_directory_pages},
    {"test_dbx_sql_parse_states", test_dbx_sql_parse_states},
    {"test_dbx_sql_parse_failed_with_error_class", test_dbx_sql_parse_failed_with_error_class},
    {"test_dbx_sql_error_class_extraction", test_dbx_sql_error_class_extraction},
    {"test_dbx_sql_copy_counts", test_dbx_sql_copy_counts},
    {"test_dbx_sql_parse_notes_more_chunks", test_dbx_sql_parse_notes_more_chunks},
    {"test_dbx_sql_failure_kind", test_dbx_sql_failure_kind},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    const dp_test_suite_t suites[] = {{"dbx_parse", NULL, NULL, cases}, {NULL, NULL, NULL, NULL}};

    return dp_test_main(argc, argv, suites);
}
