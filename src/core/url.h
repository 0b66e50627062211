/*
 * url: checks of the URLs in the configuration (databricks.host,
 * schemas.registry_url) on libcurl's own URL parser (curl_url), the one that
 * will later parse them for every request, so that what the configuration
 * accepts is what libcurl can connect to.
 */
#ifndef DP_URL_H
#define DP_URL_H

#include <stddef.h>

/* What a URL may carry besides scheme://host[:port]. */
typedef enum {
    DP_URL_NO_PATH = 0, /* nothing else ("/" alone counts as no path) */
    DP_URL_PATH = 1     /* a path prefix (a registry behind a proxy) */
} dp_url_path_t;

/* Checks that text is an absolute URL with scheme https (or http), a host,
 * an optional port, no user or password, no query, no fragment, no spaces,
 * and a path only when path allows one. Returns 0, or -1 with why (size
 * len) naming the first problem: "no scheme", "scheme ftp", "no host", "a
 * path (/sql)", "a query", ... or libcurl's own reason. *is_http is set to 1
 * for http://, 0 for https:// (may be NULL). Thread: any. */
int dp_url_check(const char *text, dp_url_path_t path, int *is_http, char *why, size_t len);

#endif
