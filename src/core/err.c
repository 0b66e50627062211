/*
 * err: dp_err_t helpers. Messages are bounded (DP_ERR_MSG_MAX) and always
 * NUL-terminated; nothing here allocates.
 */
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void dp_err_clear(dp_err_t *err)
{
    if (!err)
        return;
    err->code = DP_OK;
    err->retryable = 0;
    err->msg[0] = '\0';
}

int dp_err_set(dp_err_t *err, int code, int retryable, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return code;
    err->code = code;
    err->retryable = retryable;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}

void dp_err_prefix(dp_err_t *err, const char *fmt, ...)
{
    char prefix[128], old[DP_ERR_MSG_MAX];
    va_list ap;

    if (!err)
        return;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    snprintf(err->msg, sizeof(err->msg), "%s%s", prefix, old);
}

const char *dp_err_name(int code)
{
    switch (code) {
    case DP_OK:
        return "DP_OK";
    case DP_EFAIL:
        return "DP_EFAIL";
    case DP_EINVAL:
        return "DP_EINVAL";
    case DP_ENOTFOUND:
        return "DP_ENOTFOUND";
    case DP_ETOOBIG:
        return "DP_ETOOBIG";
    case DP_ETIMEDOUT:
        return "DP_ETIMEDOUT";
    case DP_EIO:
        return "DP_EIO";
    case DP_EDENIED:
        return "DP_EDENIED";
    case DP_EAGAIN:
        return "DP_EAGAIN";
    default:
        return "DP_E?";
    }
}
