/*
 * err: deltaport's error convention.
 *
 * Every fallible function returns int: 0 for success, a negative DP_E* code
 * for failure, and fills a caller-owned dp_err_t (always the last parameter)
 * with the code, whether a retry may succeed, and a bounded message.
 */
#ifndef DP_ERR_H
#define DP_ERR_H

#include <stddef.h>

enum {
    DP_OK = 0,
    DP_EFAIL = -1,     /* anything not named below */
    DP_EINVAL = -2,    /* bad input: configuration, event, argument */
    DP_ENOTFOUND = -3, /* the named object does not exist */
    DP_ETOOBIG = -4,   /* a bounded buffer or limit would be exceeded */
    DP_ETIMEDOUT = -5, /* a deadline passed */
    DP_EIO = -6,       /* transport or file I/O */
    DP_EDENIED = -7,   /* permission denied / authentication refused */
    DP_EAGAIN = -8,    /* temporary condition; retry later */
};

#define DP_ERR_MSG_MAX 512

typedef struct dp_err {
    int code;                 /* DP_E* or DP_OK */
    int retryable;            /* 1 when the same call may succeed later */
    char msg[DP_ERR_MSG_MAX]; /* NUL-terminated, truncated to fit */
} dp_err_t;

/* Resets err to DP_OK. err may be NULL. Thread: any. */
void dp_err_clear(dp_err_t *err);

/* Fills err (may be NULL) and returns code, so callers can write
 * `return dp_err_set(err, DP_EINVAL, 0, "...", ...);`. Thread: any. */
int dp_err_set(dp_err_t *err, int code, int retryable, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prefixes err's message with a context string ("config: "). Thread: any. */
void dp_err_prefix(dp_err_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Returns the constant name of a code ("DP_EINVAL"); borrowed, static. */
const char *dp_err_name(int code);

#endif
