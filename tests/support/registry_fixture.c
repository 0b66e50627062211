/*
 * registry_fixture: the fake Schema Registry as a child process, plus small
 * libcurl helpers (see registry_fixture.h).
 */
#include "registry_fixture.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_test.h"

#define MAX_ARGS 32

int dp_registry_fixture_start(dp_registry_fixture_t *rf, const char *const *extra_args)
{
    const char *argv[MAX_ARGS];
    char line[256];
    size_t n = 0;

    memset(rf, 0, sizeof(*rf));
    rf->proc.out_fd = -1;
    rf->exit_status = -1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (dp_test_tmpdir("registry", rf->dir, sizeof(rf->dir)) < 0) {
        return -1;
    }
    snprintf(rf->stderr_log, sizeof(rf->stderr_log), "%s/registry.stderr", rf->dir);
    argv[n++] = DP_SCHEMA_REGISTRY_BIN;
    argv[n++] = "--port";
    argv[n++] = "0";
    for (size_t i = 0; extra_args != NULL && extra_args[i] != NULL && n + 1 < MAX_ARGS; i++) {
        if (strcmp(extra_args[i], "--user") == 0 && extra_args[i + 1] != NULL) {
            rf->userpwd = extra_args[i + 1];
        }
        argv[n++] = extra_args[i];
    }
    argv[n] = NULL;
    if (dp_proc_start(&rf->proc, (char *const *)argv, 1, rf->stderr_log) < 0) {
        dp_test_rmtree(rf->dir);
        rf->dir[0] = '\0';
        return -1;
    }
    if (dp_proc_wait_prefix(&rf->proc, "LISTENING ", line, sizeof(line),
                            10000L * dp_test_timeout_scale()) < 0) {
        fprintf(stderr, "registry_fixture: no LISTENING line; see %s\n", rf->stderr_log);
        dp_registry_fixture_stop(rf);
        return -1;
    }
    snprintf(rf->url, sizeof(rf->url), "%s", line);
    return 0;
}

void dp_registry_fixture_stop(dp_registry_fixture_t *rf)
{
    if (rf->proc.pid > 0 && !rf->proc.exited) {
        rf->exit_status = dp_proc_stop(&rf->proc, 10000L * dp_test_timeout_scale());
    }
    if (rf->dir[0] != '\0' && getenv("DP_TEST_KEEP") == NULL) {
        dp_test_rmtree(rf->dir);
        rf->dir[0] = '\0';
    }
}

typedef struct sink {
    char *data;
    size_t len;
} sink_t;

static size_t on_data(char *p, size_t size, size_t nmemb, void *ctx)
{
    sink_t *s = ctx;
    size_t n = size * nmemb;
    char *grown = realloc(s->data, s->len + n + 1);

    if (grown == NULL) {
        return 0;
    }
    s->data = grown;
    memcpy(s->data + s->len, p, n);
    s->len += n;
    s->data[s->len] = '\0';
    return n;
}

int dp_registry_fixture_http(dp_registry_fixture_t *rf, const char *method, const char *path,
                             const char *body, long *status, char **out)
{
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = NULL;
    sink_t sink = {NULL, 0};
    char url[512];
    CURLcode rc;

    *status = 0;
    if (curl == NULL) {
        return -1;
    }
    snprintf(url, sizeof(url), "%s%s", rf->url, path);
    headers = curl_slist_append(headers, "Content-Type: application/vnd.schemaregistry.v1+json");
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L * dp_test_timeout_scale());
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
    if (rf->userpwd != NULL) {
        curl_easy_setopt(curl, CURLOPT_USERPWD, rf->userpwd);
    }
    if (body != NULL) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    }
    rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (out != NULL) {
        *out = sink.data ? sink.data : calloc(1, 1);
    } else {
        free(sink.data);
    }
    return rc == CURLE_OK ? 0 : -1;
}

long dp_registry_fixture_register(dp_registry_fixture_t *rf, const char *subject,
                                  const char *schema_json)
{
    json_t *req = json_pack("{s:s}", "schema", schema_json), *resp;
    char *body = json_dumps(req, JSON_COMPACT), *out = NULL, path[300];
    long status = 0, id = -1;

    snprintf(path, sizeof(path), "/subjects/%s/versions", subject);
    if (dp_registry_fixture_http(rf, "POST", path, body, &status, &out) == 0 && status == 200) {
        resp = json_loads(out, 0, NULL);
        id = json_is_integer(json_object_get(resp, "id"))
                 ? (long)json_integer_value(json_object_get(resp, "id"))
                 : -1;
        json_decref(resp);
    } else {
        fprintf(stderr, "registry_fixture: register %s: HTTP %ld %s\n", subject, status,
                out ? out : "");
    }
    free(out);
    free(body);
    json_decref(req);
    return id;
}

long dp_registry_fixture_register_file(dp_registry_fixture_t *rf, const char *subject,
                                       const char *path)
{
    FILE *f = fopen(path, "rb");
    char *text;
    long size, id;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0) {
        if (f != NULL) {
            fclose(f);
        }
        return -1;
    }
    rewind(f);
    text = calloc(1, (size_t)size + 1);
    if (fread(text, 1, (size_t)size, f) != (size_t)size) {
        size = -1;
    }
    fclose(f);
    id = size < 0 ? -1 : dp_registry_fixture_register(rf, subject, text);
    free(text);
    return id;
}

int dp_registry_fixture_fault(dp_registry_fixture_t *rf, int status, long count, long delay_ms)
{
    char body[128];
    long http = 0;

    snprintf(body, sizeof(body), "{\"status\": %d, \"count\": %ld, \"delay_ms\": %ld}", status,
             count, delay_ms);
    return dp_registry_fixture_http(rf, "POST", "/_admin/fault", body, &http, NULL) == 0 &&
                   http == 200
               ? 0
               : -1;
}

long dp_registry_fixture_id_gets(dp_registry_fixture_t *rf)
{
    char *out = NULL;
    json_t *resp;
    long status = 0, n = -1;

    if (dp_registry_fixture_http(rf, "GET", "/_admin/stats", NULL, &status, &out) == 0 &&
        status == 200) {
        resp = json_loads(out, 0, NULL);
        n = (long)json_integer_value(json_object_get(resp, "schema_id_gets"));
        json_decref(resp);
    }
    free(out);
    return n;
}
