/*
 * Integration tests of the emulator's Files API on a Volume: upload with and
 * without overwrite, download (whole and ranged), HEAD metadata, listing with
 * paging, delete, directories, missing volumes and percent-encoded names.
 */
#include <stdlib.h>
#include <string.h>

#include "dp_test.h"
#include "emu_fixture.h"

#define VOL  "/api/2.0/fs/files/Volumes/main/files_t/v"
#define DIRS "/api/2.0/fs/directories/Volumes/main/files_t/v"

static dp_emu_fixture_t ef;
static int ready;

static int run_sql(const char *sql)
{
    json_t *r = NULL;
    int ok = dp_emu_sql(&ef, DP_EMU_PAT, sql, &r) == 0 && strcmp(dp_emu_state(r), "SUCCEEDED") == 0;

    if (!ok) {
        char *text = r ? json_dumps(r, JSON_COMPACT) : NULL;

        fprintf(stderr, "setup statement %s failed: %s\n", sql, text ? text : "(no response)");
        free(text);
    }
    json_decref(r);
    return ok;
}

static int suite_init(void)
{
    ready = dp_emu_fixture_start(&ef, NULL) == 0 &&
            run_sql("CREATE SCHEMA IF NOT EXISTS main.files_t") &&
            run_sql("CREATE VOLUME IF NOT EXISTS main.files_t.v");
    return 0;
}

static int suite_cleanup(void)
{
    dp_emu_fixture_stop(&ef);
    return 0;
}

/* One call with the admin PAT; returns the status, body into *body (new) when asked. */
static long call(const char *method, const char *path, const char *data, size_t len, char **body)
{
    long status = 0;
    char *tmp = NULL;

    dp_emu_http(&ef, method, path, DP_EMU_PAT, data, len, data ? "application/octet-stream" : NULL,
                &status, &tmp, NULL);
    if (body != NULL) {
        *body = tmp;
    } else {
        free(tmp);
    }
    return status;
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s ? s : "(missing)";
}

#define NEED_READY()                                                                               \
    do {                                                                                           \
        if (!ready) {                                                                              \
            dp_test_skip("emulator or volume set-up failed (see stderr)");                         \
            return;                                                                                \
        }                                                                                          \
    } while (0)

static void test_emulator_files_put_get_head_roundtrip(void)
{
    static const char data[] = "bin\0ary\npayload";
    char *body = NULL, *headers = NULL;
    size_t len = 0;
    long status = 0;

    NEED_READY();
    status = call("PUT", VOL "/deep/er/x.bin", data, sizeof(data), NULL);
    DP_ASSERT_FATAL_MSG(status == 204, "expected 204 from upload (parents created), got %ld",
                        status);
    dp_emu_http(&ef, "GET", VOL "/deep/er/x.bin", DP_EMU_PAT, NULL, 0, NULL, &status, &body, &len);
    DP_ASSERT_MSG(status == 200, "expected 200 from download, got %ld", status);
    DP_ASSERT_MSG(len == sizeof(data) && memcmp(body, data, len) == 0,
                  "expected the %zu uploaded bytes back, got %zu", sizeof(data), len);
    free(body);
    dp_emu_http_ex(&ef, "HEAD", VOL "/deep/er/x.bin", DP_EMU_PAT, NULL, 0, NULL, &status, NULL,
                   NULL, &headers);
    DP_ASSERT_MSG(status == 200, "expected 200 from HEAD, got %ld", status);
    DP_ASSERT_MSG(strstr(headers, "Content-Length: 16") != NULL,
                  "expected Content-Length: 16 in headers:\n%s", headers);
    DP_ASSERT_MSG(strstr(headers, "Last-Modified: ") != NULL, "expected Last-Modified in:\n%s",
                  headers);
    DP_ASSERT_MSG(strstr(headers, "Content-Type: ") != NULL, "expected Content-Type in:\n%s",
                  headers);
    free(headers);
}

static void test_emulator_files_overwrite_false_conflicts(void)
{
    char *body = NULL;
    json_t *err;
    long status;

    NEED_READY();
    DP_ASSERT_FATAL_MSG(call("PUT", VOL "/ow.txt?overwrite=false", "one", 3, NULL) == 204,
                        "expected the first upload to succeed");
    status = call("PUT", VOL "/ow.txt?overwrite=false", "two", 3, &body);
    err = json_loads(body, 0, NULL);
    DP_ASSERT_MSG(status == 409, "expected 409, got %ld", status);
    DP_ASSERT_MSG(strcmp(str(err, "error_code"), "ALREADY_EXISTS") == 0,
                  "expected ALREADY_EXISTS, got %s", str(err, "error_code"));
    DP_ASSERT_MSG(strcmp(str(err, "message"), "The file being created already exists.") == 0,
                  "expected Databricks' message, got %s", str(err, "message"));
    json_decref(err);
    free(body);
    DP_ASSERT_MSG(call("PUT", VOL "/ow.txt", "three", 5, NULL) == 204,
                  "expected overwrite (omitted = true) to succeed");
    call("GET", VOL "/ow.txt", NULL, 0, &body);
    DP_ASSERT_MSG(strcmp(body, "three") == 0, "expected the overwritten content, got %s", body);
    free(body);
}

static void test_emulator_files_range_download(void)
{
    char *body = NULL, *headers = NULL;
    static const char *const range[] = {"Range: bytes=2-4", NULL};
    long status = 0;

    NEED_READY();
    call("PUT", VOL "/range.txt", "0123456789", 10, NULL);
    dp_emu_http_ex(&ef, "GET", VOL "/range.txt", DP_EMU_PAT, NULL, 0, range, &status, &body, NULL,
                   &headers);
    DP_ASSERT_MSG(status == 206, "expected 206, got %ld", status);
    DP_ASSERT_MSG(strcmp(body, "234") == 0, "expected 234, got %s", body);
    DP_ASSERT_MSG(strstr(headers, "Content-Range: bytes 2-4/10") != NULL,
                  "expected Content-Range in:\n%s", headers);
    free(body);
    free(headers);
}

/* Lists DIRS/page with page_size 2 and collects every name in order. */
static void test_emulator_files_list_pages_sorted(void)
{
    char path[512], names[256] = "", token[1024] = "", *body = NULL;
    const char *next;
    json_t *page, *e;
    int pages = 0, i;
    size_t k;

    NEED_READY();
    for (i = 5; i >= 1; i--) {
        snprintf(path, sizeof(path), VOL "/page/f%d.avro", i);
        DP_ASSERT_FATAL_MSG(call("PUT", path, "x", 1, NULL) == 204, "expected upload of f%d", i);
    }
    do {
        snprintf(path, sizeof(path), DIRS "/page?page_size=2%s%s", token[0] ? "&page_token=" : "",
                 token);
        DP_ASSERT_FATAL_MSG(call("GET", path, NULL, 0, &body) == 200, "expected 200 listing");
        page = json_loads(body, 0, NULL);
        free(body);
        DP_ASSERT_MSG(json_array_size(json_object_get(page, "contents")) <= 2,
                      "expected at most 2 entries per page");
        json_array_foreach(json_object_get(page, "contents"), k, e)
        {
            strncat(names, str(e, "name"), sizeof(names) - strlen(names) - 2);
            strncat(names, " ", sizeof(names) - strlen(names) - 1);
            DP_ASSERT_MSG(json_is_false(json_object_get(e, "is_directory")) &&
                              json_integer_value(json_object_get(e, "file_size")) == 1 &&
                              json_integer_value(json_object_get(e, "last_modified")) > 0,
                          "expected file entries with size and mtime");
            DP_ASSERT_MSG(strncmp(str(e, "path"), "/Volumes/main/files_t/v/page/", 29) == 0,
                          "expected an absolute volume path, got %s", str(e, "path"));
        }
        next = json_string_value(json_object_get(page, "next_page_token"));
        snprintf(token, sizeof(token), "%s", next ? next : "");
        json_decref(page);
        pages++;
    } while (token[0] != '\0' && pages < 10);
    DP_ASSERT_MSG(strcmp(names, "f1.avro f2.avro f3.avro f4.avro f5.avro ") == 0,
                  "expected five sorted names, got '%s'", names);
    DP_ASSERT_MSG(pages == 3, "expected 3 pages of 2, got %d", pages);
}

static void test_emulator_files_delete_then_404(void)
{
    char *body = NULL;
    json_t *err;
    long status;

    NEED_READY();
    call("PUT", VOL "/del.txt", "x", 1, NULL);
    status = call("DELETE", VOL "/del.txt", NULL, 0, NULL);
    DP_ASSERT_MSG(status == 204 || status == 200, "expected 204 from delete, got %ld", status);
    status = call("GET", VOL "/del.txt", NULL, 0, &body);
    err = json_loads(body, 0, NULL);
    DP_ASSERT_MSG(status == 404, "expected 404 after delete, got %ld", status);
    DP_ASSERT_MSG(strcmp(str(err, "error_code"), "NOT_FOUND") == 0, "expected NOT_FOUND, got %s",
                  str(err, "error_code"));
    json_decref(err);
    free(body);
    status = call("DELETE", VOL "/del.txt", NULL, 0, NULL);
    DP_ASSERT_MSG(status == 404, "expected 404 deleting a missing file, got %ld", status);
}

static void test_emulator_files_directories(void)
{
    char *body = NULL;
    json_t *list, *e;
    long status;

    NEED_READY();
    DP_ASSERT_MSG(call("PUT", DIRS "/d1/d2", NULL, 0, NULL) == 204, "expected mkdir -p to work");
    DP_ASSERT_MSG(call("PUT", DIRS "/d1/d2", NULL, 0, NULL) == 204, "expected mkdir idempotent");
    DP_ASSERT_MSG(call("HEAD", DIRS "/d1/d2", NULL, 0, NULL) == 200, "expected HEAD 200");
    DP_ASSERT_MSG(call("HEAD", DIRS "/nope", NULL, 0, NULL) == 404, "expected HEAD 404");
    DP_ASSERT_MSG(call("GET", DIRS "/nope", NULL, 0, NULL) == 404, "expected list 404");
    call("GET", DIRS "/d1", NULL, 0, &body);
    list = json_loads(body, 0, NULL);
    free(body);
    e = json_array_get(json_object_get(list, "contents"), 0);
    DP_ASSERT_MSG(strcmp(str(e, "name"), "d2") == 0 &&
                      json_is_true(json_object_get(e, "is_directory")),
                  "expected d2 as a directory, got %s", str(e, "name"));
    json_decref(list);
    status = call("DELETE", DIRS "/d1", NULL, 0, NULL);
    DP_ASSERT_MSG(status == 409, "expected 409 deleting a non-empty directory, got %ld", status);
    DP_ASSERT_MSG(call("DELETE", DIRS "/d1/d2", NULL, 0, NULL) == 204, "expected rmdir d2");
    DP_ASSERT_MSG(call("DELETE", DIRS "/d1", NULL, 0, NULL) == 204, "expected rmdir d1");
}

static void test_emulator_files_missing_volume_is_404(void)
{
    char *body = NULL;
    json_t *err;
    long status;

    NEED_READY();
    status = call("PUT", "/api/2.0/fs/files/Volumes/main/files_t/nope/x.txt", "x", 1, &body);
    err = json_loads(body, 0, NULL);
    DP_ASSERT_MSG(status == 404, "expected 404 for a missing volume, got %ld", status);
    DP_ASSERT_MSG(strcmp(str(err, "error_code"), "NOT_FOUND") == 0, "expected NOT_FOUND, got %s",
                  str(err, "error_code"));
    json_decref(err);
    free(body);
    status = call("GET", "/api/2.0/fs/directories/Volumes/nocat/s/v", NULL, 0, NULL);
    DP_ASSERT_MSG(status == 404, "expected 404 for a missing catalog, got %ld", status);
    status = call("GET", VOL "/x.txt", NULL, 0, NULL);
    DP_ASSERT_MSG(status == 404, "expected 404 for a missing file, got %ld", status);
}

static void test_emulator_files_percent_encoded_names(void)
{
    char *body = NULL;

    NEED_READY();
    DP_ASSERT_FATAL_MSG(call("PUT", VOL "/enc/a%20b%2Bc.txt", "z", 1, NULL) == 204,
                        "expected upload of an encoded name");
    call("GET", DIRS "/enc", NULL, 0, &body);
    DP_ASSERT_MSG(strstr(body, "\"name\":\"a b+c.txt\"") != NULL,
                  "expected the decoded name 'a b+c.txt' in %s", body);
    free(body);
}

static void test_emulator_files_no_token_is_401(void)
{
    long status = 0;

    NEED_READY();
    dp_emu_http(&ef, "GET", VOL "/ow.txt", NULL, NULL, 0, NULL, &status, NULL, NULL);
    DP_ASSERT_MSG(status == 401, "expected 401 without a token, got %ld", status);
}

static const dp_test_case_t cases[] = {
    {"test_emulator_files_put_get_head_roundtrip", test_emulator_files_put_get_head_roundtrip},
    {"test_emulator_files_overwrite_false_conflicts",
     test_emulator_files_overwrite_false_conflicts},
    {"test_emulator_files_range_download", test_emulator_files_range_download},
    {"test_emulator_files_list_pages_sorted", test_emulator_files_list_pages_sorted},
    {"test_emulator_files_delete_then_404", test_emulator_files_delete_then_404},
    {"test_emulator_files_directories", test_emulator_files_directories},
    {"test_emulator_files_missing_volume_is_404", test_emulator_files_missing_volume_is_404},
    {"test_emulator_files_percent_encoded_names", test_emulator_files_percent_encoded_names},
    {"test_emulator_files_no_token_is_401", test_emulator_files_no_token_is_401},
    {NULL, NULL}};

static const dp_test_suite_t suites[] = {{"emulator_files", suite_init, suite_cleanup, cases},
                                         {NULL, NULL, NULL, NULL}};

int main(int argc, char **argv)
{
    return dp_test_main(argc, argv, suites);
}
