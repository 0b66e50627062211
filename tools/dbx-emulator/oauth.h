/*
 * oauth: service principals, personal access tokens and issued OAuth tokens.
 *
 * Owns the credentials given on the command line (--client ID:SECRET,
 * --pat TOKEN=PRINCIPAL) and every access token minted by POST /oidc/v1/token.
 * Tokens are 32 random bytes from OpenSSL RAND_bytes in hex, with an expiry on
 * the monotonic clock; PATs never expire. Invariants: a token maps to exactly
 * one principal; an expired token stays known (so the 401 can say "expired")
 * until the store prunes it. Every function is thread-safe (one mutex).
 */
#ifndef EMU_OAUTH_H
#define EMU_OAUTH_H

#include <stddef.h>

typedef struct emu_oauth emu_oauth_t;

typedef enum {
    EMU_AUTH_OK = 0,
    EMU_AUTH_MISSING = -1, /* no bearer token */
    EMU_AUTH_UNKNOWN = -2, /* token never issued */
    EMU_AUTH_EXPIRED = -3, /* token issued but expired */
    EMU_AUTH_AUDIENCE = -4 /* token of another API (a Zerobus token on the workspace APIs,
                            * or a token of another table on a Zerobus insert) */
} emu_auth_result_t;

/* Creates an empty store whose tokens live ttl_seconds.
 * Returns new (free with emu_oauth_destroy) or NULL on OOM. Thread: main. */
emu_oauth_t *emu_oauth_new(long ttl_seconds);

/* Frees the store; NULL is a no-op. Thread: main, once no request runs. */
void emu_oauth_destroy(emu_oauth_t *oauth);

/* Adds a service principal from "ID:SECRET". Returns 0 or -1 (malformed). Thread: main. */
int emu_oauth_add_client(emu_oauth_t *oauth, const char *id_secret);

/* Adds a personal access token from "TOKEN=PRINCIPAL". Returns 0 or -1. Thread: main. */
int emu_oauth_add_pat(emu_oauth_t *oauth, const char *token_principal);

/* Checks client credentials and mints a token into token (>= 65 bytes).
 * Returns 0, or -1 when the client is unknown or the secret wrong, -2 when
 * RAND_bytes or memory fails. Thread: any. */
int emu_oauth_issue(emu_oauth_t *oauth, const char *client_id, const char *secret, char *token,
                    size_t tokenlen);

/* emu_oauth_issue for an audience: NULL is the workspace's APIs; a Zerobus
 * token has "zerobus:<catalog>.<schema>.<table>" (the one table it may
 * write). Same returns. Thread: any. */
int emu_oauth_issue_for(emu_oauth_t *oauth, const char *client_id, const char *secret,
                        const char *audience, char *token, size_t tokenlen);

/* Token lifetime in seconds, for "expires_in". Thread: any. */
long emu_oauth_ttl(const emu_oauth_t *oauth);

/* Resolves a bearer token (may be NULL) of the workspace's APIs to its
 * principal, copied into principal. Returns an emu_auth_result_t
 * (EMU_AUTH_AUDIENCE for a Zerobus token). Thread: any. */
int emu_oauth_check(emu_oauth_t *oauth, const char *token, char *principal, size_t len);

/* The same for a token of audience (see emu_oauth_issue_for; NULL is the
 * workspace's): EMU_AUTH_AUDIENCE when the token is valid for another one.
 * Thread: any. */
int emu_oauth_check_for(emu_oauth_t *oauth, const char *token, const char *audience,
                        char *principal, size_t len);

/* Marks every issued OAuth token expired now (PATs are not touched).
 * Returns how many were live. Thread: any. */
int emu_oauth_expire_all(emu_oauth_t *oauth);

#endif
