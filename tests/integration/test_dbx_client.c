/*
 * Integration tests of the Databricks client (src/dbx/, src/core/retry.c)
 * against the real emulator (tests/support/emu_fixture.h): token caching and
 * refresh, the Files API round trip, overwrite=false, statements that need
 * polling, 429/503/500/drop handling, FAILED statements told apart as data
 * or set-up, bad credentials and PERMISSION_DENIED messages.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "dbx/files.h"
#include "dbx/http.h"
#include "dbx/oauth.h"
#include "dbx/sql.h"
#include "dp_test.h"
#include "emu_fixture.h"

#define VOLUME "/Volumes/main/default/dbx_stage"

static dp_emu_fixture_t ef;
static int started;
static long beats;

static void beat(void *ctx)
{
    (void)ctx;
    beats++;
}

#define NEED_STARTED()                                                                             \
    do {                                                                                           \
        if (!started) {                                                                            \
            dp_test_skip("emulator did not start (see its stderr log)");                           \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* ---------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------- */

static void http_config(const dp_emu_fixture_t *f, dp_dbx_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->host = f->url;
    cfg->allow_insecure_http = 1;
    cfg->connect_timeout_ms = 5000L * dp_test_timeout_scale();
    cfg->request_timeout_ms = 90000L * dp_test_timeout_scale();
    cfg->warehouse_id = DP_EMU_WAREHOUSE;
    cfg->retry.max_attempts = 5;
    cfg->retry.base_delay_ms = 20;
    cfg->retry.max_delay_ms = 200;
    cfg->retry.max_retry_after_ms = 5000;
    cfg->liveness = beat;
}

static dp_oauth_t *new_oauth(const dp_emu_fixture_t *f, const char *id, const char *secret,
                             const char *pat)
{
    dp_oauth_config_t ocfg = {.client_id = id, .client_secret = secret, .pat = pat};
    dp_dbx_config_t cfg;
    dp_err_t err;
    dp_oauth_t *oauth;

    http_config(f, &cfg);
    oauth = dp_oauth_new(&ocfg, &cfg, &err);
    if (oauth == NULL) {
        fprintf(stderr, "dp_oauth_new failed: %s\n", err.msg);
    }
    return oauth;
}

static dp_dbx_client_t *new_client(const dp_emu_fixture_t *f, dp_oauth_t *oauth,
                                   const char *warehouse)
{
    dp_dbx_config_t cfg;
    dp_dbx_client_t *client;
    dp_err_t err;

    http_config(f, &cfg);
    if (warehouse != NULL) {
        cfg.warehouse_id = warehouse;
    }
    cfg.auth = dp_oauth_credential;
    cfg.auth_ctx = oauth;
    client = dp_dbx_client_new(&cfg, &err);
    if (client == NULL) {
        fprintf(stderr, "dp_dbx_client_new failed: %s\n", err.msg);
    }
    return client;
}

/* Counts request-log lines with method and path (path prefix when it ends
 * with '*'), optionally only those with status. */
static int count_requests(const dp_emu_fixture_t *f, const char *method, const char *path,
                          long status)
{
    FILE *fp = fopen(f->request_log, "r");
    char line[4096];
    size_t plen = strlen(path);
    int prefix = plen > 0 && path[plen - 1] == '*', n = 0;

    if (fp == NULL) {
        return -1;
    }
    while (fgets(line, sizeof(line), fp) != NULL) {
        json_t *o = json_loads(line, 0, NULL);
        const char *m = json_string_value(json_object_get(o, "method"));
        const char *p = json_string_value(json_object_get(o, "path"));
        long s = (long)json_integer_value(json_object_get(o, "status"));

        if (m && p && !strcmp(m, method) &&
            (prefix ? !strncmp(p, path, plen - 1) : !strcmp(p, path)) &&
            (status == 0 || s == status)) {
            n++;
        }
        json_decref(o);
    }
    fclose(fp);
    return n;
}

static int run_sql(dp_dbx_client_t *client, const char *sql, dp_dbx_sql_result_t *res,
                   dp_err_t *err)
{
    dp_dbx_sql_opts_t opts = {0};

    opts.wait_timeout_s = 5;
    opts.liveness = beat;
    return dp_dbx_sql_execute(client, sql, NULL, 0, "main", "default", &opts, res, err);
}

static int suite_init(void)
{
    dp_dbx_sql_result_t res = {0};
    dp_oauth_t *admin;
    dp_dbx_client_t *client;
    dp_err_t err;

    dp_log_set_level(DP_LOG_ERROR);
    started = dp_emu_fixture_start(&ef, NULL) == 0;
    if (!started) {
        return 0;
    }
    admin = new_oauth(&ef, NULL, NULL, DP_EMU_PAT);
    client = new_client(&ef, admin, NULL);
    if (run_sql(client, "CREATE VOLUME IF NOT EXISTS main.default.dbx_stage", &res, &err) != 0) {
        fprintf(stderr, "set-up: CREATE VOLUME failed: %s\n", err.msg);
        started = 0;
    }
    dp_dbx_sql_result_clear(&res);
    dp_dbx_client_destroy(client);
    dp_oauth_destroy(admin);
    return 0;
}

static int suite_cleanup(void)
{
    dp_emu_fixture_stop(&ef);
    return 0;
}

/* ---------------------------------------------------------------------------
 * OAuth
 * ------------------------------------------------------------------------- */

static void test_dbx_token_fetched_once_then_refreshed_after_expiry(void)
{
    dp_oauth_t *oauth;
    dp_dbx_client_t *client;
    int i, exists, before, after, unauthorized;
    long long size;
    long status = 0;
    dp_err_t err;

    NEED_STARTED();
    oauth = new_oauth(&ef, DP_EMU_CLIENT_ID, DP_EMU_CLIENT_SECRET, NULL);
    client = new_client(&ef, oauth, NULL);
    before = count_requests(&ef, "POST", "/oidc/v1/token", 200);
    for (i = 0; i < 8; i++) {
        int rc = dp_dbx_files_head(client, VOLUME "/nothing-here", &exists, &size, &err);

        DP_ASSERT_MSG(rc == 0 && exists == 0, "head %d: rc %d exists %d (%s)", i, rc, exists,
                      err.msg);
    }
    after = count_requests(&ef, "POST", "/oidc/v1/token", 200);
    DP_ASSERT_MSG(after - before == 1 && dp_oauth_fetches(oauth) == 1,
                  "8 calls should fetch one token: log %d, client %ld", after - before,
                  dp_oauth_fetches(oauth));

    dp_emu_http(&ef, "POST", "/_emulator/tokens/expire", NULL, "", 0, NULL, &status, NULL, NULL);
    DP_ASSERT_FATAL_MSG(status == 200, "expire endpoint answered %ld", status);
    unauthorized = count_requests(&ef, "HEAD", "/api/2.0/fs/files*", 401);
    DP_ASSERT_MSG(dp_dbx_files_head(client, VOLUME "/nothing-here", &exists, &size, &err) == 0,
                  "call after expiry should succeed after one refresh: %s", err.msg);
    DP_ASSERT_MSG(count_requests(&ef, "POST", "/oidc/v1/token", 200) - before == 2 &&
                      dp_oauth_fetches(oauth) == 2,
                  "expiry should cause exactly one more token request (client %ld)",
                  dp_oauth_fetches(oauth));
    DP_ASSERT_MSG(count_requests(&ef, "HEAD", "/api/2.0/fs/files*", 401) - unauthorized == 1,
                  "exactly one 401 before the refresh");
    dp_dbx_client_destroy(client);
    dp_oauth_destroy(oauth);
}

static void test_dbx_bad_client_secret_is_a_clear_permanent_error(void)
{
    const char *secret = "wrong-secret-value-42";
    dp_oauth_t *oauth;
    dp_dbx_client_t *client;
    char token[256];
    int exists, before;
    dp_err_t err;
    int rc;

    NEED_STARTED();
    oauth = new_oauth(&ef, DP_EMU_CLIENT_ID, secret, NULL);
    before = count_requests(&ef, "POST", "/oidc/v1/token", 0);
    rc = dp_oauth_token(oauth, NULL, token, sizeof(token), &err);
    DP_ASSERT_MSG(rc == DP_EDENIED && !err.retryable, "expected permanent DP_EDENIED, got %s (%d)",
                  dp_err_name(rc), err.retryable);
    DP_ASSERT_MSG(strstr(err.msg, DP_EMU_CLIENT_ID) != NULL && strstr(err.msg, "secret") != NULL,
                  "message should name the client and the secret setting: %s", err.msg);
    DP_ASSERT_MSG(strstr(err.msg, secret) == NULL, "the secret must never appear: %s", err.msg);
    DP_ASSERT_MSG(count_requests(&ef, "POST", "/oidc/v1/token", 0) - before == 1,
                  "a refused secret is not retried");
    client = new_client(&ef, oauth, NULL);
    rc = dp_dbx_files_head(client, VOLUME "/x", &exists, NULL, &err);
    DP_ASSERT_MSG(rc == DP_EDENIED && strstr(err.msg, "head " VOLUME "/x") != NULL,
                  "an API call reports the credential error with the call: %s", err.msg);
    dp_dbx_client_destroy(client);
    dp_oauth_destroy(oauth);
}

/* ---------------------------------------------------------------------------
 * Files
 * ------------------------------------------------------------------------- */

typedef struct listing {
    int n;
    char names[16][64];
    long long sizes[16];
} listing_t;

static int on_entry(void *ctx, const dp_dbx_file_entry_t *e)
{
    listing_t *l = ctx;

    if (l->n < 16) {
        snprintf(l->names[l->n], sizeof(l->names[0]), "%s", e->name);
        l->sizes[l->n] = e->file_size;
    }
    l->n++;
    return 0;
}

static long long listed_size(const listing_t *l, const char *name)
{
    int i;

    for (i = 0; i < l->n && i < 16; i++) {
        if (strcmp(l->names[i], name) == 0) {
            return l->sizes[i];
        }
    }
    return -1;
}

static void test_dbx_files_upload_list_delete_round_trip(void)
{
    dp_oauth_t *oauth;
    dp_dbx_client_t *client;
    listing_t l = {0};
    int exists = 0, absent = -1, dup = -1;
    long long size = -1;
    dp_err_t err;

    NEED_STARTED();
    oauth = new_oauth(&ef, DP_EMU_CLIENT_ID, DP_EMU_CLIENT_SECRET, NULL);
    client = new_client(&ef, oauth, NULL);
    DP_ASSERT_FATAL_MSG(dp_dbx_files_mkdirs(client, VOLUME "/rt/sub dir", &err) == 0, "mkdirs: %s",
                        err.msg);
    DP_ASSERT_FATAL_MSG(dp_dbx_files_upload(client, VOLUME "/rt/sub dir/a b.avro", "hello", 5, 0,
                                            &dup, &err) == 0 &&
                            dup == 0,
                        "upload a: %s", err.msg);
    DP_ASSERT_FATAL_MSG(dp_dbx_files_upload(client, VOLUME "/rt/sub dir/c%d.avro", "0123456789", 10,
                                            1, NULL, &err) == 0,
                        "upload c: %s", err.msg);
    DP_ASSERT_MSG(dp_dbx_files_list(client, VOLUME "/rt/sub dir", on_entry, &l, &err) == 0,
                  "list: %s", err.msg);
    DP_ASSERT_MSG(l.n == 2 && listed_size(&l, "a b.avro") == 5 && listed_size(&l, "c%d.avro") == 10,
                  "expected a b.avro(5) and c%%d.avro(10), got %d entries", l.n);
    DP_ASSERT_MSG(dp_dbx_files_head(client, VOLUME "/rt/sub dir/c%d.avro", &exists, &size, &err) ==
                          0 &&
                      exists == 1 && size == 10,
                  "head: exists %d size %lld (%s)", exists, size, err.msg);
    DP_ASSERT_MSG(dp_dbx_files_delete(client, VOLUME "/rt/sub dir/a b.avro", &absent, &err) == 0 &&
                      absent == 0,
                  "delete: %s", err.msg);
    DP_ASSERT_MSG(dp_dbx_files_delete(client, VOLUME "/rt/sub dir/a b.avro", &absent, &err) == 0 &&
                      absent == 1,
                  "second delete is success with was_absent: %s", err.msg);
    memset(&l, 0, sizeof(l));
    dp_dbx_files_list(client, VOLUME "/rt/sub dir", on_entry, &l, &err);
    DP_ASSERT_MSG(l.n == 1 && listed_size(&l, "c%d.avro") == 10, "after delete: %d entries", l.n);
    DP_ASSERT_MSG(dp_dbx_files_list(client, VOLUME "/rt/missing", on_entry, &l, &err) ==
                      DP_ENOTFOUND,
                  "listing a missing directory: DP_ENOTFOUND, got %s", err.msg);
    dp_dbx_client_destroy(client);
    dp_oauth_destroy(oauth);
}

static void test_dbx_files_overwrite_false_twice_reports_already_exists(void)
{
    dp_oauth_t *oauth;
    dp_dbx_client_t *client;
    int dup = -1, exists = 0;
    long long size = 0;
    dp_err_t err;

    NEED_STARTED();
    oauth = new_oauth(&ef, DP_EMU_CLIENT_ID, DP_EMU_CLIENT_SECRET, NULL);
    client = new_client(&ef, oauth, NULL);
    dp_dbx_files_mkdirs(client, VOLUME "/ow", &err);
    DP_ASSERT_MSG(dp_dbx_files_upload(client, VOLUME "/ow/k.avro", "first", 5, 0, &dup, &err) ==
                          0 &&
                      dup == 0,
                  "first upload: %s", err.msg);
    DP_ASSERT_MSG(dp_dbx_files_upload(client, VOLUME "/ow/k.avro", "second!", 7, 0, &dup, &err) ==
                          0 &&
                      dup == 1,
                  "second upload with overwrite=false: rc ok and already_exists 1, got %d (%s)",
                  dup, err.msg);
    dp_dbx_files_head(client, VOLUME "/ow/k.avro", &exists, &size, &err);
    DP_ASSERT_MSG(exists && size == 5, "the first content stays (size %lld)", size);
    DP_ASSERT_MSG(dp_dbx_files_upload(client, VOLUME "/ow/k.avro", "second!", 7, 1, &dup, &err) ==
                          0 &&
                      dup == 0,
                  "overwrite=true replaces: %s", err.msg);
    dp_dbx_files_head(client, VOLUME "/ow/k.avro", &exists, &size, &err);
    DP_ASSERT_MSG(size == 7, "new size 7, got %lld", size);
    dp_dbx_client_destroy(client);
    dp_oauth_destroy(oauth);
}

/* ---------------------------------------------------------------------------
 * Retries
 * ------------------------------------------------------------------------- */

static void test_dbx_429_retry_after_is_honoured(void)
{
    dp_oauth_t *oauth;
    dp_dbx_client_t *client;
    long long t0, ms;
    int before;
    dp_err_t err;

    NEED_STARTED();
    oauth = new_oauth(&ef, DP_EMU_CLIENT_ID, DP_EMU_CLIENT_SECRET, NULL);
    client = new_client(&ef, oauth, NULL);
    dp_dbx_files_mkdirs(client, VOLUME "/r429", &err);
    before = count_requests(&ef, "PUT", "/api/2.0/fs/files*", 0);
    DP_ASSERT_FATAL_MSG(dp_emu_fault(&ef, "{\"endpoint\":\"files.upload\",\"kind\":\"429\","
                                          "\"count\":1,\"retry_after\":2}") == 0,
                        "fault set");
    t0 = dp_test_now_ms();
    DP_ASSERT_MSG(dp_dbx_files_upload(client, VOLUME "/r429/f", "x", 1, 1, NULL, &err) == 0,
                  "upload after a 429 should succeed: %s", err.msg);
    ms = dp_test_now_ms() - t0;
    DP_ASSERT_MSG(ms >= 1900,
                  "Retry-After: 2 must be waited (backoff alone is <= 200 ms), "
                  "waited %lld ms",
                  ms);
    DP_ASSERT_MSG(count_requests(&ef, "PUT", "/api/2.0/fs/files*", 0) - before == 2,
                  "one 429 then one success");
    DP_ASSERT_MSG(count_requests(&ef, "PUT", "/api/2.0/fs/files*", 429) >= 1, "the 429 is logged");
    dp_dbx_client_destroy(client);
    dp_oauth_destroy(oauth);
}

static void test_dbx_503_and_dropped_connections_are_retried(void)
{
    dp_oauth_t *oauth;
    dp_dbx_client_t *client;
    int before;
    dp_err_t err;

    NEED_STARTED();
    oauth = new_oauth(&ef, DP_EMU_CLIENT_ID, DP_EMU_CLIENT_SECRET, NULL);
    client = new_client(&ef, oauth, NULL);
    dp_dbx_files_mkdirs(client, VOLUME "/r503", &err);
    before = count_requests(&ef, "PUT", "/api/2.0/fs/files*", 0);
    dp_emu_fault(&ef, "{\"endpoint\":\"files.upload\",\"kind\":\"503\",\"count\":2}");
    DP_ASSERT_MSG(dp_dbx_files_upload(client, VOLUME "/r503/f", "abc", 3, 1, NULL, &err) == 0,
                  "upload after two 503 should succeed: %s", err.msg);
    DP_ASSERT_MSG(count_requests(&ef, "PUT", "/api/2.0/fs/files*", 0) - before == 3,
                  "two 503 then success: %d uploads",
                  count_requests(&ef, "PUT", "/api/2.0/fs/files*", 0) - before);
    dp_emu_fault(&ef, "{\"endpoint\":\"files.upload\",\"kind\":\"drop\",\"count\":1}");
    DP_ASSERT_MSG(dp_dbx_files_upload(client, VOLUME "/r503/g", "abc", 3, 1, NULL, &err) == 0,
                  "upload after a dropped connection should succeed: %s", err.msg);
    dp_emu_fault(&ef, "{\"endpoint\":\"files.upload\",\"kind\":\"503\",\"count\":10}");
    DP_ASSERT_MSG(dp_dbx_files_upload(client, VOLUME "/r503/h", "abc", 3, 1, NULL, &err) ==
                          DP_EAGAIN &&
                      err.retryable && strstr(err.msg, "gave up after 5 attempts") != NULL,
                  "a 503 storm exhausts 5 attempts, retryable: %s", err.msg);
    dp_emu_http(&ef, "DELETE", "/_emulator/faults", NULL, NULL, 0, NULL, &(long){0}, NULL, NULL);
    dp_dbx_client_destroy(client);
    dp_oauth_destroy(oauth);
}

static void test_dbx_500_not_retried_for_submit_but_retried_for_upload(void)
{
    dp_dbx_sql_result_t res = {0};
    dp_oauth_t *oauth;
    dp_dbx_client_t *client;
    int before;
    dp_err_t err;
    int rc;

    NEED_STARTED();
    oauth = new_oauth(&ef, DP_EMU_CLIENT_ID, DP_EMU_CLIENT_SECRET, NULL);
    client = new_client(&ef, oauth, NULL);
    before = count_requests(&ef, "POST", "/api/2.0/sql/statements", 0);
    dp_emu_fault(&ef, "{\"endpoint\":\"statements.submit\",\"kind\":\"500\",\"count\":1}");
    rc = run_sql(client, "SELECT 1", &res, &err);
    DP_ASSERT_MSG(rc == DP_EIO && !err.retryable && strstr(err.msg, "not idempotent") != NULL,
                  "submit + 500: expected permanent DP_EIO, got %s: %s", dp_err_name(rc), err.msg);
    DP_ASSERT_MSG(count_requests(&ef, "POST", "/api/2.0/sql/statements", 0) - before == 1,
                  "the submit must be sent exactly once");
    dp_dbx_sql_result_clear(&res);

    dp_dbx_files_mkdirs(client, VOLUME "/r500", &err);
    before = count_requests(&ef, "PUT", "/api/2.0/fs/files*", 0);
    dp_emu_fault(&ef, "{\"endpoint\":\"files.upload\",\"kind\":\"500\",\"count\":1}");
    DP_ASSERT_MSG(dp_dbx_files_upload(client, VOLUME "/r500/f", "x", 1, 1, NULL, &err) == 0,
                  "an idempotent upload is retried after 500: %s", err.msg);
    DP_ASSERT_MSG(count_requests(&ef, "PUT", "/api/2.0/fs/files*", 0) - before == 2,
                  "500 then success");
    dp_dbx_client_destroy(client);
    dp_oauth_destroy(oauth);
}

/* ---------------------------------------------------------------------------
 * Statements
 * ------------------------------------------------------------------------- */

static void test_dbx_statement_pending_is_polled_to_succeeded(void)
{
    dp_dbx_sql_result_t res = {0};
    dp_oauth_t *oauth;
    dp_dbx_client_t *client;
    long long t0, ms;
    long beats0;
    int polls;
    dp_err_t err;
    int rc;

    NEED_STARTED();
    oauth = new_oauth(&ef, DP_EMU_CLIENT_ID, DP_EMU_CLIENT_SECRET, NULL);
    client = new_client(&ef, oauth, NULL);
    /* longer than the 5 s server-side wait, so the client has to poll */
    dp_emu_fault(&ef, "{\"endpoint\":\"statements.submit\",\"kind\":\"pending\",\"count\":1,"
                      "\"seconds\":7}");
    polls = count_requests(&ef, "GET", "/api/2.0/sql/statements/*", 0);
    beats0 = beats;
    t0 = dp_test_now_ms();
    rc = run_sql(client, "SELECT 1", &res, &err);
    ms = dp_test_now_ms() - t0;
    DP_ASSERT_MSG(rc == 0 && res.state == DP_DBX_SQL_SUCCEEDED,
                  "expected SUCCEEDED, got rc %d state %s: %s", rc,
                  dp_dbx_sql_state_name(res.state), err.msg);
    DP_ASSERT_MSG(ms >= 6500, "the statement was pending 7 s, returned after %lld ms", ms);
    DP_ASSERT_MSG(count_requests(&ef, "GET", "/api/2.0/sql/statements/*", 0) - polls >= 1,
                  "the client polled GET at least once");
    DP_ASSERT_MSG(beats - beats0 >= 5, "liveness beat while waiting (%ld beats)", beats - beats0);
    DP_ASSERT_MSG(res.statement_id[0] != '\0' && json_array_size(res.rows) == 1,
                  "statement id and one row kept");
    dp_dbx_sql_result_clear(&res);
    dp_dbx_client_destroy(client);
    dp_oauth_destroy(oauth);
}

static void test_dbx_failed_statement_data_vs_setup(void)
{
    dp_dbx_sql_result_t res = {0};
    dp_oauth_t *oauth;
    dp_dbx_client_t *client, *nowh;
    dp_err_t err;
    int rc;

    NEED_STARTED();
    oauth = new_oauth(&ef, DP_EMU_CLIENT_ID, DP_EMU_CLIENT_SECRET, NULL);
    client = new_client(&ef, oauth, NULL);
    dp_emu_fault(&ef, "{\"endpoint\":\"statements.submit\",\"kind\":\"failed\",\"count\":1,"
                      "\"error_class\":\"DELTA_FAILED_TO_MERGE_FIELDS\"}");
    rc = run_sql(client, "SELECT 1", &res, &err);
    DP_ASSERT_MSG(rc == DP_EINVAL && res.state == DP_DBX_SQL_FAILED &&
                      dp_dbx_sql_failure_kind(&res) == DP_DBX_SQL_FAIL_DATA &&
                      !strcmp(res.error_class, "DELTA_FAILED_TO_MERGE_FIELDS"),
                  "data failure: rc %s state %s class '%s' (%s)", dp_err_name(rc),
                  dp_dbx_sql_state_name(res.state), res.error_class, err.msg);
    DP_ASSERT_MSG(strstr(err.msg, res.statement_id) != NULL, "message names the statement: %s",
                  err.msg);

    rc = run_sql(client, "SELECT * FROM main.default.no_such_table_dbx", &res, &err);
    DP_ASSERT_MSG(rc == DP_ENOTFOUND && dp_dbx_sql_failure_kind(&res) == DP_DBX_SQL_FAIL_SETUP &&
                      !strcmp(res.error_class, "TABLE_OR_VIEW_NOT_FOUND"),
                  "set-up failure: rc %s class '%s' (%s)", dp_err_name(rc), res.error_class,
                  err.msg);

    nowh = new_client(&ef, oauth, "no-such-warehouse");
    rc = run_sql(nowh, "SELECT 1", &res, &err);
    DP_ASSERT_MSG(rc == DP_ENOTFOUND && dp_dbx_sql_failure_kind(&res) == DP_DBX_SQL_FAIL_SETUP &&
                      strstr(err.msg, "SQL WAREHOUSE no-such-warehouse") != NULL,
                  "missing warehouse is a set-up failure naming it: rc %s (%s)", dp_err_name(rc),
                  err.msg);
    dp_dbx_sql_result_clear(&res);
    dp_dbx_client_destroy(nowh);
    dp_dbx_client_destroy(client);
    dp_oauth_destroy(oauth);
}

static const char *cell(json_t *row, size_t i)
{
    const char *s = json_string_value(json_array_get(row, i));

    return s ? s : "";
}

static void test_dbx_statement_named_parameters(void)
{
    dp_dbx_sql_param_t params[] = {{"a", "41", "INT"}, {"s", "it's", NULL}, {"n", NULL, NULL}};
    dp_dbx_sql_result_t res = {0};
    dp_oauth_t *oauth;
    dp_dbx_client_t *client;
    json_t *row;
    dp_err_t err;
    int rc;

    NEED_STARTED();
    oauth = new_oauth(&ef, DP_EMU_CLIENT_ID, DP_EMU_CLIENT_SECRET, NULL);
    client = new_client(&ef, oauth, NULL);
    rc = dp_dbx_sql_execute(client, "SELECT :a + 1, :s, :n", params, 3, NULL, NULL, NULL, &res,
                            &err);
    if (rc != 0 && strstr(err.msg, "UNSUPPORTED_FEATURE") != NULL) {
        dp_test_skip("the emulator does not evaluate this SELECT yet: %s", err.msg);
    } else {
        row = json_array_get(res.rows, 0);
        DP_ASSERT_MSG(rc == 0 && json_array_size(row) == 3, "rc %d: %s", rc, err.msg);
        DP_ASSERT_MSG(!strcmp(cell(row, 0), "42") && !strcmp(cell(row, 1), "it's") &&
                          json_is_null(json_array_get(row, 2)),
                      "parameters bound as values");
    }
    params[0].name = "bad name";
    DP_ASSERT_MSG(dp_dbx_sql_execute(client, "SELECT 1", params, 1, NULL, NULL, NULL, &res, &err) ==
                      DP_EINVAL,
                  "an invalid parameter name is refused before sending");
    dp_dbx_sql_result_clear(&res);
    dp_dbx_client_destroy(client);
    dp_oauth_destroy(oauth);
}

static void test_dbx_statement_deadline_cancels_and_reports_timeout(void)
{
    dp_dbx_sql_result_t res = {0};
    dp_dbx_sql_opts_t opts = {0};
    dp_oauth_t *oauth;
    dp_dbx_client_t *client;
    int cancels;
    dp_err_t err;
    int rc;

    NEED_STARTED();
    oauth = new_oauth(&ef, DP_EMU_CLIENT_ID, DP_EMU_CLIENT_SECRET, NULL);
    client = new_client(&ef, oauth, NULL);
    dp_emu_fault(&ef, "{\"endpoint\":\"statements.submit\",\"kind\":\"pending\",\"count\":1,"
                      "\"seconds\":30}");
    cancels = count_requests(&ef, "POST", "/api/2.0/sql/statements/*", 0);
    opts.wait_timeout_s = 5;
    opts.deadline_ms = 2000;
    opts.cancel_grace_ms = 1500;
    rc = dp_dbx_sql_execute(client, "SELECT 1", NULL, 0, NULL, NULL, &opts, &res, &err);
    DP_ASSERT_MSG(rc == DP_ETIMEDOUT && err.retryable,
                  "expected retryable DP_ETIMEDOUT, got %s: %s", dp_err_name(rc), err.msg);
    DP_ASSERT_MSG(strstr(err.msg, res.statement_id) != NULL && res.statement_id[0] != '\0',
                  "the timeout names the statement: %s", err.msg);
    DP_ASSERT_MSG(count_requests(&ef, "POST", "/api/2.0/sql/statements/*", 0) - cancels == 1,
                  "exactly one cancel request was sent");
    dp_dbx_sql_result_clear(&res);
    dp_dbx_client_destroy(client);
    dp_oauth_destroy(oauth);
}

typedef struct token_thread {
    dp_oauth_t *oauth;
    int rc;
    char token[512];
} token_thread_t;

static void *token_worker(void *arg)
{
    token_thread_t *t = arg;
    dp_err_t err;

    t->rc = dp_oauth_token(t->oauth, NULL, t->token, sizeof(t->token), &err);
    return NULL;
}

static void test_dbx_concurrent_callers_fetch_one_token(void)
{
    token_thread_t t[8];
    pthread_t th[8];
    dp_oauth_t *oauth;
    int i, before;

    NEED_STARTED();
    oauth = new_oauth(&ef, DP_EMU_CLIENT_ID, DP_EMU_CLIENT_SECRET, NULL);
    before = count_requests(&ef, "POST", "/oidc/v1/token", 0);
    for (i = 0; i < 8; i++) {
        t[i].oauth = oauth;
        t[i].rc = -99;
        pthread_create(&th[i], NULL, token_worker, &t[i]);
    }
    for (i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
    }
    for (i = 0; i < 8; i++) {
        DP_ASSERT_MSG(t[i].rc == 0 && strcmp(t[i].token, t[0].token) == 0,
                      "thread %d: rc %d, same token %d", i, t[i].rc,
                      strcmp(t[i].token, t[0].token) == 0);
    }
    DP_ASSERT_MSG(count_requests(&ef, "POST", "/oidc/v1/token", 0) - before == 1 &&
                      dp_oauth_fetches(oauth) == 1,
                  "8 concurrent callers: one token request, got %ld", dp_oauth_fetches(oauth));
    dp_oauth_destroy(oauth);
}

/* ---------------------------------------------------------------------------
 * Permissions (a second emulator with a grants file)
 * ------------------------------------------------------------------------- */

static dp_emu_fixture_t pef;
static int pstarted;
static char grants_path[512];

static int perms_init(void)
{
    static const char grants[] =
        "{\"grants\":["
        "{\"principal\":\"" DP_EMU_CLIENT_ID
        "\",\"privilege\":\"USE CATALOG\",\"on\":\"CATALOG main\"},"
        "{\"principal\":\"" DP_EMU_CLIENT_ID "\",\"privilege\":\"USE SCHEMA\","
        "\"on\":\"SCHEMA main.default\"},"
        "{\"principal\":\"" DP_EMU_CLIENT_ID "\",\"privilege\":\"READ VOLUME\","
        "\"on\":\"VOLUME main.default.locked\"}]}";
    const char *args[] = {"--permissions", grants_path, NULL};
    dp_dbx_sql_result_t res = {0};
    dp_oauth_t *admin;
    dp_dbx_client_t *client;
    dp_err_t err;
    FILE *fp;

    snprintf(grants_path, sizeof(grants_path), "/tmp/dp-dbx-grants-%d.json", (int)getpid());
    fp = fopen(grants_path, "w");
    if (fp == NULL) {
        return 0;
    }
    fputs(grants, fp);
    fclose(fp);
    pstarted = dp_emu_fixture_start(&pef, args) == 0;
    if (!pstarted) {
        return 0;
    }
    admin = new_oauth(&pef, NULL, NULL, DP_EMU_PAT);
    client = new_client(&pef, admin, NULL);
    if (run_sql(client, "CREATE VOLUME IF NOT EXISTS main.default.locked", &res, &err) != 0 ||
        run_sql(client, "CREATE TABLE IF NOT EXISTS main.default.evt_locked (id BIGINT)", &res,
                &err) != 0) {
        fprintf(stderr, "perms set-up failed: %s\n", err.msg);
        pstarted = 0;
    }
    dp_dbx_sql_result_clear(&res);
    dp_dbx_client_destroy(client);
    dp_oauth_destroy(admin);
    return 0;
}

static int perms_cleanup(void)
{
    dp_emu_fixture_stop(&pef);
    unlink(grants_path);
    return 0;
}

static void test_dbx_permission_denied_names_object_and_grant(void)
{
    dp_dbx_sql_result_t res = {0};
    dp_dbx_sql_opts_t opts = {0};
    dp_oauth_t *oauth;
    dp_dbx_client_t *client;
    int before;
    dp_err_t err;
    int rc;

    if (!pstarted) {
        dp_test_skip("emulator with --permissions did not start");
        return;
    }
    oauth = new_oauth(&pef, DP_EMU_CLIENT_ID, DP_EMU_CLIENT_SECRET, NULL);
    client = new_client(&pef, oauth, NULL);
    before = count_requests(&pef, "PUT", "/api/2.0/fs/files*", 0);
    rc = dp_dbx_files_upload(client, "/Volumes/main/default/locked/f.avro", "x", 1, 0, NULL, &err);
    DP_ASSERT_MSG(rc == DP_EDENIED && !err.retryable, "upload without WRITE VOLUME: got %s (%s)",
                  dp_err_name(rc), err.msg);
    DP_ASSERT_MSG(strstr(err.msg, "WRITE VOLUME") != NULL &&
                      strstr(err.msg, "main.default.locked") != NULL,
                  "message names the grant and the volume: %s", err.msg);
    DP_ASSERT_MSG(count_requests(&pef, "PUT", "/api/2.0/fs/files*", 0) - before == 1,
                  "a permission error is not retried");

    opts.wait_timeout_s = 5;
    opts.object.kind = DP_RETRY_OBJ_TABLE;
    opts.object.access = DP_RETRY_ACCESS_READ;
    opts.object.name = "main.default.evt_locked";
    rc = dp_dbx_sql_execute(client, "SELECT id FROM main.default.evt_locked", NULL, 0, "main",
                            "default", &opts, &res, &err);
    DP_ASSERT_MSG(rc == DP_EDENIED && dp_dbx_sql_failure_kind(&res) == DP_DBX_SQL_FAIL_SETUP,
                  "SELECT without the grant: set-up DP_EDENIED, got %s class '%s' (%s)",
                  dp_err_name(rc), res.error_class, err.msg);
    DP_ASSERT_MSG(strstr(err.msg, "SELECT") != NULL &&
                      strstr(err.msg, "main.default.evt_locked") != NULL,
                  "message names the grant and the table: %s", err.msg);
    dp_dbx_sql_result_clear(&res);
    dp_dbx_client_destroy(client);
    dp_oauth_destroy(oauth);
}

/* ---------------------------------------------------------------------------
 * Proactive refresh (a third emulator whose tokens live 4 s)
 * ------------------------------------------------------------------------- */

static dp_emu_fixture_t tef;
static int tstarted;

static int ttl_init(void)
{
    const char *args[] = {"--token-ttl", "4", NULL};

    tstarted = dp_emu_fixture_start(&tef, args) == 0;
    return 0;
}

static int ttl_cleanup(void)
{
    dp_emu_fixture_stop(&tef);
    return 0;
}

static void test_dbx_token_refreshed_before_expiry_without_401(void)
{
    dp_oauth_t *oauth;
    dp_dbx_client_t *client;
    int exists;
    dp_err_t err;

    if (!tstarted) {
        dp_test_skip("emulator with --token-ttl did not start");
        return;
    }
    oauth = new_oauth(&tef, DP_EMU_CLIENT_ID, DP_EMU_CLIENT_SECRET, NULL);
    client = new_client(&tef, oauth, NULL);
    DP_ASSERT_MSG(dp_dbx_files_head(client, VOLUME "/x", &exists, NULL, &err) != DP_EDENIED,
                  "first call authenticates: %s", err.msg);
    DP_ASSERT_MSG(dp_oauth_fetches(oauth) == 1, "one token so far");
    /* margin 300 s is capped at half the 4 s lifetime: due after 2 s */
    dp_test_sleep_ms(2500);
    DP_ASSERT_MSG(dp_dbx_files_head(client, VOLUME "/x", &exists, NULL, &err) != DP_EDENIED,
                  "second call authenticates: %s", err.msg);
    DP_ASSERT_MSG(dp_oauth_fetches(oauth) == 2, "refreshed before expiry: %ld fetches",
                  dp_oauth_fetches(oauth));
    DP_ASSERT_MSG(count_requests(&tef, "HEAD", "/api/2.0/fs/files*", 401) == 0,
                  "a proactive refresh means no 401");
    dp_dbx_client_destroy(client);
    dp_oauth_destroy(oauth);
}

static const dp_test_case_t ttl_cases[] = {
    {"test_dbx_token_refreshed_before_expiry_without_401",
     test_dbx_token_refreshed_before_expiry_without_401},
    {NULL, NULL},
};

static const dp_test_case_t perm_cases[] = {
    {"test_dbx_permission_denied_names_object_and_grant",
     test_dbx_permission_denied_names_object_and_grant},
    {NULL, NULL},
};

static const dp_test_case_t cases[] = {
    {"test_dbx_token_fetched_once_then_refreshed_after_expiry",
     test_dbx_token_fetched_once_then_refreshed_after_expiry},
    {"test_dbx_bad_client_secret_is_a_clear_permanent_error",
     test_dbx_bad_client_secret_is_a_clear_permanent_error},
    {"test_dbx_files_upload_list_delete_round_trip", test_dbx_files_upload_list_delete_round_trip},
    {"test_dbx_files_overwrite_false_twice_reports_already_exists",
     test_dbx_files_overwrite_false_twice_reports_already_exists},
    {"test_dbx_429_retry_after_is_honoured", test_dbx_429_retry_after_is_honoured},
    {"test_dbx_503_and_dropped_connections_are_retried",
     test_dbx_503_and_dropped_connections_are_retried},
    {"test_dbx_500_not_retried_for_submit_but_retried_for_upload",
     test_dbx_500_not_retried_for_submit_but_retried_for_upload},
    {"test_dbx_statement_pending_is_polled_to_succeeded",
     test_dbx_statement_pending_is_polled_to_succeeded},
    {"test_dbx_failed_statement_data_vs_setup", test_dbx_failed_statement_data_vs_setup},
    {"test_dbx_statement_named_parameters", test_dbx_statement_named_parameters},
    {"test_dbx_statement_deadline_cancels_and_reports_timeout",
     test_dbx_statement_deadline_cancels_and_reports_timeout},
    {"test_dbx_concurrent_callers_fetch_one_token", test_dbx_concurrent_callers_fetch_one_token},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    const dp_test_suite_t suites[] = {{"dbx_client", suite_init, suite_cleanup, cases},
                                      {"dbx_permissions", perms_init, perms_cleanup, perm_cases},
                                      {"dbx_token_ttl", ttl_init, ttl_cleanup, ttl_cases},
                                      {NULL, NULL, NULL, NULL}};

    return dp_test_main(argc, argv, suites);
}
