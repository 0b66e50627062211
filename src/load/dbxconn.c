/*
 * dbxconn: Databricks client from configuration (see dbxconn.h).
 */
#include "load/dbxconn.h"

#include <string.h>

static void http_config(dp_dbx_config_t *http, const dp_config_t *cfg, dp_dbx_liveness_fn liveness,
                        void *liveness_ctx)
{
    memset(http, 0, sizeof(*http));
    http->host = cfg->databricks.host;
    http->allow_insecure_http = cfg->databricks.allow_insecure_http;
    http->ca_file = cfg->databricks.ca_file;
    http->request_timeout_ms = (long)cfg->databricks.http_timeout_ms;
    http->warehouse_id = cfg->databricks.warehouse_id;
    http->retry.max_attempts = (int)cfg->databricks.max_retries + 1;
    /* Sink zerobus: recovery downloads a staged file (never larger than a
     * flush, with a margin for the container's overhead). */
    if (cfg->sink == DP_CONFIG_SINK_ZEROBUS && cfg->flush.max_bytes > 8 * 1024 * 1024)
        http->max_response_bytes = (size_t)cfg->flush.max_bytes * 2;
    http->liveness = liveness;
    http->liveness_ctx = liveness_ctx;
}

dp_dbx_client_t *dp_dbxconn_new_client(const dp_dbxconn_t *conn, const dp_config_t *cfg,
                                       dp_dbx_liveness_fn liveness, void *liveness_ctx,
                                       dp_err_t *err)
{
    dp_dbx_config_t http;

    http_config(&http, cfg, liveness, liveness_ctx);
    http.auth = dp_oauth_credential;
    http.auth_ctx = conn->oauth;
    return dp_dbx_client_new(&http, err);
}

int dp_dbxconn_open(dp_dbxconn_t *conn, const dp_config_t *cfg, dp_dbx_liveness_fn liveness,
                    void *liveness_ctx, dp_err_t *err)
{
    dp_dbx_config_t http;
    dp_oauth_config_t oc;

    memset(conn, 0, sizeof(*conn));
    http_config(&http, cfg, liveness, liveness_ctx);
    memset(&oc, 0, sizeof(oc));
    if (cfg->databricks.auth == DP_CONFIG_AUTH_PAT) {
        oc.pat = cfg->databricks.token;
    } else {
        oc.client_id = cfg->databricks.client_id;
        oc.client_secret = cfg->databricks.client_secret;
    }
    conn->oauth = dp_oauth_new(&oc, &http, err);
    if (!conn->oauth)
        return DP_EINVAL;
    http.auth = dp_oauth_credential;
    http.auth_ctx = conn->oauth;
    conn->client = dp_dbx_client_new(&http, err);
    if (!conn->client) {
        dp_dbxconn_close(conn);
        return DP_EINVAL;
    }
    return 0;
}

void dp_dbxconn_close(dp_dbxconn_t *conn)
{
    dp_dbx_client_destroy(conn->client);
    dp_oauth_destroy(conn->oauth);
    conn->client = NULL;
    conn->oauth = NULL;
}
