/*
 * url: configuration URL checks on curl_url (see url.h).
 */
#include "core/url.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

/* 1 when part of u is set (and, for the path, more than "/"). */
static int has_part(CURLU *u, CURLUPart part)
{
    char *v = NULL;
    int set;

    if (curl_url_get(u, part, &v, 0) != CURLUE_OK || !v)
        return 0;
    set = part == CURLUPART_PATH ? strcmp(v, "/") != 0 && v[0] != '\0' : 1;
    curl_free(v);
    return set;
}

int dp_url_check(const char *text, dp_url_path_t path, int *is_http, char *why, size_t len)
{
    CURLU *u = curl_url();
    CURLUcode uc;
    char *scheme = NULL, *v = NULL;
    int rc = -1;

    if (!u) {
        snprintf(why, len, "out of memory");
        return -1;
    }
    if (!text || !strstr(text, "://")) {
        snprintf(why, len, "no scheme");
        goto out;
    }
    /* No flags: a scheme is required, spaces are refused, nothing guessed. */
    uc = curl_url_set(u, CURLUPART_URL, text, 0);
    if (uc != CURLUE_OK) {
        snprintf(why, len, "%s", curl_url_strerror(uc));
        goto out;
    }
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK || !scheme) {
        snprintf(why, len, "no scheme");
        goto out;
    }
    if (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0) {
        snprintf(why, len, "scheme %.20s (https:// only)", scheme);
        goto out;
    }
    if (!has_part(u, CURLUPART_HOST)) {
        snprintf(why, len, "no host");
        goto out;
    }
    if (has_part(u, CURLUPART_USER) || has_part(u, CURLUPART_PASSWORD)) {
        snprintf(why, len, "a user or password in the URL");
        goto out;
    }
    if (has_part(u, CURLUPART_QUERY)) {
        snprintf(why, len, "a query");
        goto out;
    }
    if (has_part(u, CURLUPART_FRAGMENT)) {
        snprintf(why, len, "a fragment");
        goto out;
    }
    if (path == DP_URL_NO_PATH && has_part(u, CURLUPART_PATH)) {
        curl_url_get(u, CURLUPART_PATH, &v, 0);
        snprintf(why, len, "a path (%.60s)", v ? v : "?");
        goto out;
    }
    if (is_http)
        *is_http = strcmp(scheme, "http") == 0;
    rc = 0;
out:
    curl_free(scheme);
    curl_free(v);
    curl_url_cleanup(u);
    return rc;
}
