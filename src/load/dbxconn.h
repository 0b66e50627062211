/*
 * dbxconn: builds the Databricks client (and its OAuth or PAT credential)
 * from the configuration, so the loader, `deltaport check` and
 * `deltaport query` connect the same way.
 */
#ifndef DP_DBXCONN_H
#define DP_DBXCONN_H

#include "config/config.h"
#include "core/err.h"
#include "dbx/http.h"
#include "dbx/oauth.h"

typedef struct dp_dbxconn {
    dp_oauth_t *oauth;       /* owned */
    dp_dbx_client_t *client; /* owned */
} dp_dbxconn_t;

/* Fills conn from cfg (borrowed only during the call). liveness may be NULL.
 * Returns 0, or DP_EINVAL with err; conn is then empty. Thread: any. */
int dp_dbxconn_open(dp_dbxconn_t *conn, const dp_config_t *cfg, dp_dbx_liveness_fn liveness,
                    void *liveness_ctx, dp_err_t *err);

/* Another client with conn's credential (the OAuth token cache is shared and
 * thread-safe), for another thread. Returns new (dp_dbx_client_destroy,
 * before conn is closed) or NULL with err. */
dp_dbx_client_t *dp_dbxconn_new_client(const dp_dbxconn_t *conn, const dp_config_t *cfg,
                                       dp_dbx_liveness_fn liveness, void *liveness_ctx,
                                       dp_err_t *err);

/* Releases what conn holds; safe on an empty conn. */
void dp_dbxconn_close(dp_dbxconn_t *conn);

#endif
