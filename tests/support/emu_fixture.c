/*
 * emu_fixture: the Databricks emulator as a child process, plus small libcurl
 * helpers (see emu_fixture.h).
 */
#include "emu_fixture.h"

#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_test.h"

#define MAX_ARGS 96

/* ---------------------------------------------------------------------------
 * Process
 * ------------------------------------------------------------------------- */

int dp_emu_fixture_start(dp_emu_fixture_t *ef, const char *const *extra_args)
{
    const char *argv[MAX_ARGS];
    char line[256];
    size_t n = 0, i;
    long timeout = 20000L * dp_test_timeout_scale();

    memset(ef, 0, sizeof(*ef));
    ef->proc.out_fd = -1;
    ef->exit_status = -1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (dp_test_tmpdir("emu", ef->dir, sizeof(ef->dir)) < 0) {
        return -1;
    }
    snprintf(ef->state_dir, sizeof(ef->state_dir), "%s/state", ef->dir);
    snprintf(ef->request_log, sizeof(ef->request_log), "%s/requests.log", ef->dir);
    snprintf(ef->stderr_log, sizeof(ef->stderr_log), "%s/emulator.stderr", ef->dir);
    argv[n++] = DP_EMULATOR_BIN;
    argv[n++] = "--port";
    argv[n++] = "0";
    argv[n++] = "--state-dir";
    argv[n++] = ef->state_dir;
    argv[n++] = "--request-log";
    argv[n++] = ef->request_log;
    argv[n++] = "--client";
    argv[n++] = DP_EMU_CLIENT_ID ":" DP_EMU_CLIENT_SECRET;
    argv[n++] = "--pat";
    argv[n++] = DP_EMU_PAT "=admin";
    argv[n++] = "--seed";
    argv[n++] = "1";
    for (i = 0; extra_args != NULL && extra_args[i] != NULL && n + 1 < MAX_ARGS; i++) {
        argv[n++] = extra_args[i];
    }
    argv[n] = NULL;
    if (dp_proc_start(&ef->proc, (char *const *)argv, 1, ef->stderr_log) < 0) {
        dp_test_rmtree(ef->dir);
        ef->dir[0] = '\0';
        return -1;
    }
    if (dp_proc_wait_prefix(&ef->proc, "LISTENING ", line, sizeof(line), timeout) < 0) {
        fprintf(stderr, "emu_fixture: no LISTENING line; see %s\n", ef->stderr_log);
        dp_emu_fixture_stop(ef);
        return -1;
    }
    snprintf(ef->url, sizeof(ef->url), "%s", line);
    return 0;
}

void dp_emu_fixture_stop(dp_emu_fixture_t *ef)
{
    if (ef->proc.pid > 0 && !ef->proc.exited) {
        ef->exit_status = dp_proc_stop(&ef->proc, 10000L * dp_test_timeout_scale());
    }
    if (ef->dir[0] != '\0' && getenv("DP_TEST_KEEP") == NULL) {
        dp_test_rmtree(ef->dir);
        ef->dir[0] = '\0';
    }
}

/* ---------------------------------------------------------------------------
 * HTTP
 * ------------------------------------------------------------------------- */

typedef struct growbuf {
    char *data;
    size_t len;
} growbuf_t;

static size_t collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    growbuf_t *b = userdata;
    size_t n = size * nmemb;
    char *grown = realloc(b->data, b->len + n + 1);

    if (grown == NULL) {
        return 0;
    }
    memcpy(grown + b->len, ptr, n);
    b->data = grown;
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

/* Builds the header list; returns new (curl_slist_free_all) or NULL. */
static struct curl_slist *build_headers(const char *bearer, const char *const *headers)
{
    struct curl_slist *list = NULL;
    char auth[1024];
    size_t i;

    if (bearer != NULL) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", bearer);
        list = curl_slist_append(list, auth);
    }
    for (i = 0; headers != NULL && headers[i] != NULL; i++) {
        list = curl_slist_append(list, headers[i]);
    }
    return curl_slist_append(list, "Expect:");
}

int dp_emu_http_ex(dp_emu_fixture_t *ef, const char *method, const char *path, const char *bearer,
                   const void *body, size_t len, const char *const *headers, long *status,
                   char **resp_body, size_t *resp_len, char **resp_headers)
{
    CURL *curl = curl_easy_init();
    struct curl_slist *hlist = build_headers(bearer, headers);
    growbuf_t out = {NULL, 0}, hdr = {NULL, 0};
    char url[4096];
    CURLcode cc = CURLE_OUT_OF_MEMORY;

    *status = 0;
    if (curl == NULL) {
        goto out;
    }
    snprintf(url, sizeof(url), "%s%s", ef->url, path);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    if (ef->ca_file[0] != '\0')
        curl_easy_setopt(curl, CURLOPT_CAINFO, ef->ca_file);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hlist);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 90L * dp_test_timeout_scale());
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &hdr);
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    }
    if (body != NULL) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    cc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
out:
    if (resp_body != NULL) {
        *resp_body = out.data ? out.data : calloc(1, 1);
        out.data = NULL;
    }
    if (resp_len != NULL) {
        *resp_len = out.len;
    }
    if (resp_headers != NULL) {
        *resp_headers = hdr.data ? hdr.data : calloc(1, 1);
        hdr.data = NULL;
    }
    free(out.data);
    free(hdr.data);
    curl_slist_free_all(hlist);
    curl_easy_cleanup(curl);
    return cc == CURLE_OK ? 0 : -(int)cc;
}

int dp_emu_http(dp_emu_fixture_t *ef, const char *method, const char *path, const char *bearer,
                const void *body, size_t len, const char *content_type, long *status,
                char **resp_body, size_t *resp_len)
{
    char ct[256];
    const char *headers[2] = {NULL, NULL};

    if (content_type != NULL) {
        snprintf(ct, sizeof(ct), "Content-Type: %s", content_type);
        headers[0] = ct;
    }
    return dp_emu_http_ex(ef, method, path, bearer, body, len, headers, status, resp_body, resp_len,
                          NULL);
}

int dp_emu_token(dp_emu_fixture_t *ef, const char *client_id, const char *secret, char *token,
                 size_t len)
{
    static const char form[] = "grant_type=client_credentials&scope=all-apis";
    CURL *curl = curl_easy_init();
    growbuf_t out = {NULL, 0};
    char url[256];
    long status = 0;
    json_t *j = NULL;
    const char *t;
    int rc = -1;

    if (curl == NULL) {
        return -1;
    }
    snprintf(url, sizeof(url), "%s/oidc/v1/token", ef->url);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    if (ef->ca_file[0] != '\0')
        curl_easy_setopt(curl, CURLOPT_CAINFO, ef->ca_file);
    curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(curl, CURLOPT_USERNAME, client_id);
    curl_easy_setopt(curl, CURLOPT_PASSWORD, secret);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, form);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L * dp_test_timeout_scale());
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out);
    if (curl_easy_perform(curl) != CURLE_OK) {
        goto out;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    j = status == 200 && out.data ? json_loads(out.data, 0, NULL) : NULL;
    t = json_string_value(json_object_get(j, "access_token"));
    if (t == NULL || strlen(t) + 1 > len) {
        goto out;
    }
    snprintf(token, len, "%s", t);
    rc = 0;
out:
    json_decref(j);
    free(out.data);
    curl_easy_cleanup(curl);
    return rc;
}

const char *dp_emu_state(const json_t *stmt)
{
    const char *s = json_string_value(json_object_get(json_object_get(stmt, "status"), "state"));

    return s ? s : "";
}

static int is_terminal(const char *state)
{
    return strcmp(state, "SUCCEEDED") == 0 || strcmp(state, "FAILED") == 0 ||
           strcmp(state, "CANCELED") == 0 || strcmp(state, "CLOSED") == 0;
}

/* One request whose 200 JSON body is returned (new) or NULL. */
static json_t *json_call(dp_emu_fixture_t *ef, const char *method, const char *path,
                         const char *token, const char *body)
{
    long status = 0;
    char *resp = NULL;
    json_t *j = NULL;

    if (dp_emu_http(ef, method, path, token, body, body ? strlen(body) : 0, "application/json",
                    &status, &resp, NULL) == 0 &&
        status == 200) {
        j = json_loads(resp, 0, NULL);
    }
    free(resp);
    return j;
}

int dp_emu_sql(dp_emu_fixture_t *ef, const char *token, const char *statement, json_t **resp)
{
    json_t *req = json_pack("{s:s, s:s, s:s}", "statement", statement, "warehouse_id",
                            DP_EMU_WAREHOUSE, "wait_timeout", "50s");
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    char path[256];
    long long deadline = dp_test_now_ms() + 60000LL * dp_test_timeout_scale();
    json_t *j = body ? json_call(ef, "POST", "/api/2.0/sql/statements", token, body) : NULL;
    const char *id;

    free(body);
    json_decref(req);
    while (j != NULL && !is_terminal(dp_emu_state(j)) && dp_test_now_ms() < deadline) {
        id = json_string_value(json_object_get(j, "statement_id"));
        if (id == NULL) {
            break;
        }
        snprintf(path, sizeof(path), "/api/2.0/sql/statements/%s", id);
        dp_test_sleep_ms(100);
        json_decref(j);
        j = json_call(ef, "GET", path, token, NULL);
    }
    *resp = j;
    return j != NULL && is_terminal(dp_emu_state(j)) ? 0 : -1;
}

json_t *dp_emu_latency(dp_emu_fixture_t *ef, const char *json)
{
    return json_call(ef, json != NULL ? "POST" : "GET", "/_emulator/latency", NULL, json);
}

json_t *dp_emu_stats(dp_emu_fixture_t *ef, int reset)
{
    return reset ? json_call(ef, "POST", "/_emulator/stats/reset", NULL, "")
                 : json_call(ef, "GET", "/_emulator/stats", NULL, NULL);
}

int dp_emu_fault(dp_emu_fixture_t *ef, const char *json)
{
    json_t *j = json_call(ef, "POST", "/_emulator/faults", NULL, json);
    int rc = j != NULL ? 0 : -1;

    json_decref(j);
    return rc;
}

json_t *dp_emu_rows(dp_emu_fixture_t *ef, const char *token, const char *statement)
{
    json_t *resp = NULL, *rows = NULL;

    if (dp_emu_sql(ef, token, statement, &resp) == 0 && resp &&
        strcmp(dp_emu_state(resp), "SUCCEEDED") == 0) {
        rows = json_object_get(json_object_get(resp, "result"), "data_array");
        rows = rows ? json_incref(rows) : json_array();
    }
    json_decref(resp);
    return rows;
}

long long dp_emu_scalar(dp_emu_fixture_t *ef, const char *token, const char *statement)
{
    json_t *rows = dp_emu_rows(ef, token, statement);
    const char *v = rows ? json_string_value(json_array_get(json_array_get(rows, 0), 0)) : NULL;
    long long n = -1;

    if (dp_test_parse_ll(v, "", &n) < 0)
        n = -1;

    json_decref(rows);
    return n;
}
