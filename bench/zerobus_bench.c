/*
 * zerobus_bench: Zerobus inserts per second of the client (src/dbx/zerobus.h)
 * against a running emulator (bench/zerobus.sh starts one). Not a test.
 *
 *   zerobus_bench URL CLIENT_ID SECRET INSERTS ROWS_PER_INSERT IN_FLIGHT
 *
 * Creates main.bench.t (id STRING, n BIGINT, s STRING) through the
 * Statement Execution API, then sends INSERTS inserts of ROWS_PER_INSERT rows
 * each (a ~100-byte row) with at most IN_FLIGHT at once, and prints one line:
 * inserts, rows, seconds, inserts/s, rows/s, MB/s of JSON.
 */
#include "core/log.h"
#include "dbx/zerobus.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct body {
    char *p;
    size_t n;
};

static size_t on_data(char *d, size_t size, size_t nmemb, void *ctx)
{
    struct body *b = ctx;
    size_t k = size * nmemb;
    char *grown = realloc(b->p, b->n + k + 1);

    if (!grown)
        return 0;
    b->p = grown;
    memcpy(b->p + b->n, d, k);
    b->n += k;
    b->p[b->n] = '\0';
    return k;
}

/* POST text to url; returns the body (free) or NULL. */
static char *post(const char *url, const char *userpwd, const char *bearer, const char *type,
                  const char *text)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    struct body b = {NULL, 0};
    char line[512];

    if (!c)
        return NULL;
    snprintf(line, sizeof(line), "Content-Type: %s", type);
    h = curl_slist_append(h, line);
    if (bearer) {
        snprintf(line, sizeof(line), "Authorization: Bearer %s", bearer);
        h = curl_slist_append(h, line);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (userpwd)
        curl_easy_setopt(c, CURLOPT_USERPWD, userpwd);
    if (curl_easy_perform(c) != CURLE_OK) {
        free(b.p);
        b.p = NULL;
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return b.p;
}

static int sql(const char *base, const char *token, const char *stmt)
{
    char url[512], *resp;
    json_t *req = json_pack("{s:s, s:s, s:s}", "statement", stmt, "warehouse_id", "emulator-wh",
                            "wait_timeout", "30s");
    char *text = json_dumps(req, JSON_COMPACT);
    int ok;

    snprintf(url, sizeof(url), "%s/api/2.0/sql/statements", base);
    resp = post(url, NULL, token, "application/json", text);
    ok = resp && strstr(resp, "\"SUCCEEDED\"") != NULL;
    if (!ok)
        fprintf(stderr, "zerobus_bench: %s: %s\n", stmt, resp ? resp : "(no answer)");
    free(resp);
    free(text);
    json_decref(req);
    return ok ? 0 : -1;
}

static long parse(const char *s, long min)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);

    return end && *end == '\0' && v >= min ? v : -1;
}

int main(int argc, char **argv)
{
    long n, rows, inflight;
    char url[512], userpwd[256], token[256], *resp;
    json_t *j;
    dp_zerobus_config_t zc;
    dp_zerobus_insert_t *ins;
    char **bodies;
    dp_zerobus_t *zb;
    dp_err_t err;
    struct timespec t0, t1;
    double secs, bytes = 0;
    size_t failed;

    if (argc != 7 || (n = parse(argv[4], 1)) < 0 || (rows = parse(argv[5], 1)) < 0 ||
        (inflight = parse(argv[6], 1)) < 0) {
        fprintf(stderr, "usage: zerobus_bench URL CLIENT_ID SECRET INSERTS ROWS_PER_INSERT "
                        "IN_FLIGHT\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    dp_log_set_level(DP_LOG_ERROR);
    snprintf(url, sizeof(url), "%s/oidc/v1/token", argv[1]);
    snprintf(userpwd, sizeof(userpwd), "%s:%s", argv[2], argv[3]);
    resp = post(url, userpwd, NULL, "application/x-www-form-urlencoded",
                "grant_type=client_credentials&scope=all-apis");
    j = resp ? json_loads(resp, 0, NULL) : NULL;
    free(resp);
    if (!json_string_value(json_object_get(j, "access_token"))) {
        fprintf(stderr, "zerobus_bench: no workspace token\n");
        return 1;
    }
    snprintf(token, sizeof(token), "%s", json_string_value(json_object_get(j, "access_token")));
    json_decref(j);
    if (sql(argv[1], token, "CREATE SCHEMA IF NOT EXISTS main.bench") < 0 ||
        sql(argv[1], token,
            "CREATE TABLE IF NOT EXISTS main.bench.t (id STRING NOT NULL, "
            "n BIGINT, s STRING)") < 0)
        return 1;
    memset(&zc, 0, sizeof(zc));
    zc.endpoint = argv[1];
    zc.workspace_host = argv[1];
    zc.workspace_id = "1234567890123456";
    zc.client_id = argv[2];
    zc.client_secret = argv[3];
    zc.allow_insecure_http = 1;
    zc.max_in_flight = (size_t)inflight;
    if (!(zb = dp_zerobus_new(&zc, &err))) {
        fprintf(stderr, "zerobus_bench: %s\n", err.msg);
        return 1;
    }
    ins = calloc((size_t)n, sizeof(*ins));
    bodies = calloc((size_t)n, sizeof(*bodies));
    for (long i = 0; i < n; i++) {
        size_t cap = (size_t)rows * 128 + 16, len = 0;

        bodies[i] = malloc(cap);
        len += (size_t)snprintf(bodies[i] + len, cap - len, "[");
        for (long r = 0; r < rows; r++)
            len += (size_t)snprintf(bodies[i] + len, cap - len,
                                    "%s{\"id\":\"i%ld-r%ld\",\"n\":%ld,\"s\":\"a string of the "
                                    "row, about fifty bytes long\"}",
                                    r ? "," : "", i, r, r);
        len += (size_t)snprintf(bodies[i] + len, cap - len, "]");
        ins[i].table = "main.bench.t";
        ins[i].body = bodies[i];
        ins[i].len = len;
        bytes += (double)len;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    failed = dp_zerobus_send(zb, ins, (size_t)n, NULL, NULL, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("inserts %ld, rows %ld, in flight %ld: %.2f s, %.0f inserts/s, %.0f rows/s, "
           "%.1f MB/s, %zu failed\n",
           n, n * rows, inflight, secs, (double)n / secs, (double)(n * rows) / secs,
           bytes / secs / 1e6, failed);
    for (long i = 0; i < n; i++)
        free(bodies[i]);
    free(bodies);
    free(ins);
    dp_zerobus_destroy(zb);
    curl_global_cleanup();
    return failed ? 1 : 0;
}
