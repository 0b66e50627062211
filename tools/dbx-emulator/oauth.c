/*
 * oauth: credential and token store (see oauth.h). Issued tokens live in a
 * growable array; expired ones are pruned once they are an hour past expiry,
 * so memory stays bounded by the issue rate times (ttl + 1 h).
 */
#include "oauth.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PRUNE_AFTER_SECONDS 3600.0

typedef struct cred {
    char *key;   /* client id, or the PAT itself */
    char *value; /* secret, or the PAT's principal */
} cred_t;

typedef struct token {
    char value[65];
    char *principal;
    char *audience; /* NULL: the workspace's APIs */
    double expires; /* monotonic seconds; < 0: never (PAT) */
} token_t;

struct emu_oauth {
    pthread_mutex_t mu;
    long ttl;
    cred_t *clients;
    size_t nclients;
    cred_t *pats;
    size_t npats;
    token_t *tokens;
    size_t ntokens, captokens;
};

static double now_mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

emu_oauth_t *emu_oauth_new(long ttl_seconds)
{
    emu_oauth_t *oauth = calloc(1, sizeof(*oauth));

    if (oauth == NULL) {
        return NULL;
    }
    pthread_mutex_init(&oauth->mu, NULL);
    oauth->ttl = ttl_seconds;
    return oauth;
}

static void free_creds(cred_t *creds, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        free(creds[i].key);
        free(creds[i].value);
    }
    free(creds);
}

void emu_oauth_destroy(emu_oauth_t *oauth)
{
    size_t i;

    if (oauth == NULL) {
        return;
    }
    free_creds(oauth->clients, oauth->nclients);
    free_creds(oauth->pats, oauth->npats);
    for (i = 0; i < oauth->ntokens; i++) {
        free(oauth->tokens[i].principal);
        free(oauth->tokens[i].audience);
    }
    free(oauth->tokens);
    pthread_mutex_destroy(&oauth->mu);
    free(oauth);
}

/* Splits "key<sep>value" into a new cred appended to *creds. Returns 0 or -1. */
static int add_cred(cred_t **creds, size_t *n, const char *spec, char sep)
{
    const char *p = strchr(spec, sep);
    cred_t *grown;

    if (p == NULL || p == spec || p[1] == '\0') {
        return -1;
    }
    grown = realloc(*creds, (*n + 1) * sizeof(**creds));
    if (grown == NULL) {
        return -1;
    }
    *creds = grown;
    grown[*n].key = strndup(spec, (size_t)(p - spec));
    grown[*n].value = strdup(p + 1);
    (*n)++;
    return grown[*n - 1].key && grown[*n - 1].value ? 0 : -1;
}

int emu_oauth_add_client(emu_oauth_t *oauth, const char *id_secret)
{
    return add_cred(&oauth->clients, &oauth->nclients, id_secret, ':');
}

int emu_oauth_add_pat(emu_oauth_t *oauth, const char *token_principal)
{
    return add_cred(&oauth->pats, &oauth->npats, token_principal, '=');
}

long emu_oauth_ttl(const emu_oauth_t *oauth)
{
    return oauth->ttl;
}

/* Constant-time comparison of two strings (lengths may differ). */
static int secret_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);

    return la == lb && CRYPTO_memcmp(a, b, la) == 0;
}

/* Drops tokens long past expiry. Caller holds mu. */
static void prune(emu_oauth_t *oauth, double now)
{
    size_t i = 0;

    while (i < oauth->ntokens) {
        token_t *t = &oauth->tokens[i];

        if (t->expires + PRUNE_AFTER_SECONDS < now) {
            free(t->principal);
            free(t->audience);
            *t = oauth->tokens[--oauth->ntokens];
        } else {
            i++;
        }
    }
}

/* Appends a token for principal. Caller holds mu. Returns 0 or -1 on OOM. */
static int store_token(emu_oauth_t *oauth, const char *value, const char *principal,
                       const char *audience, double now)
{
    token_t *t;

    if (oauth->ntokens == oauth->captokens) {
        size_t cap = oauth->captokens ? oauth->captokens * 2 : 16;
        token_t *grown = realloc(oauth->tokens, cap * sizeof(*grown));

        if (grown == NULL) {
            return -1;
        }
        oauth->tokens = grown;
        oauth->captokens = cap;
    }
    t = &oauth->tokens[oauth->ntokens];
    snprintf(t->value, sizeof(t->value), "%s", value);
    t->principal = strdup(principal);
    t->audience = audience != NULL ? strdup(audience) : NULL;
    if (t->principal == NULL || (audience != NULL && t->audience == NULL)) {
        free(t->principal);
        free(t->audience);
        return -1;
    }
    t->expires = now + (double)oauth->ttl;
    oauth->ntokens++;
    return 0;
}

int emu_oauth_issue(emu_oauth_t *oauth, const char *client_id, const char *secret, char *token,
                    size_t tokenlen)
{
    return emu_oauth_issue_for(oauth, client_id, secret, NULL, token, tokenlen);
}

int emu_oauth_issue_for(emu_oauth_t *oauth, const char *client_id, const char *secret,
                        const char *audience, char *token, size_t tokenlen)
{
    unsigned char raw[32];
    char hex[65];
    size_t i;
    int rc = -1;
    double now = now_mono();

    pthread_mutex_lock(&oauth->mu);
    for (i = 0; i < oauth->nclients; i++) {
        if (strcmp(oauth->clients[i].key, client_id) == 0 &&
            secret_equal(oauth->clients[i].value, secret)) {
            break;
        }
    }
    if (i == oauth->nclients) {
        goto out;
    }
    rc = -2;
    if (RAND_bytes(raw, (int)sizeof(raw)) != 1) {
        goto out;
    }
    for (i = 0; i < sizeof(raw); i++) {
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    }
    prune(oauth, now);
    if (store_token(oauth, hex, client_id, audience, now) < 0) {
        goto out;
    }
    snprintf(token, tokenlen, "%s", hex);
    rc = 0;
out:
    pthread_mutex_unlock(&oauth->mu);
    return rc;
}

int emu_oauth_check(emu_oauth_t *oauth, const char *token, char *principal, size_t len)
{
    return emu_oauth_check_for(oauth, token, NULL, principal, len);
}

static int same_audience(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

int emu_oauth_check_for(emu_oauth_t *oauth, const char *token, const char *audience,
                        char *principal, size_t len)
{
    size_t i;
    int rc = EMU_AUTH_UNKNOWN;

    if (token == NULL || token[0] == '\0') {
        return EMU_AUTH_MISSING;
    }
    pthread_mutex_lock(&oauth->mu);
    for (i = 0; i < oauth->npats && rc == EMU_AUTH_UNKNOWN; i++) {
        if (secret_equal(oauth->pats[i].key, token)) {
            snprintf(principal, len, "%s", oauth->pats[i].value);
            rc = audience == NULL ? EMU_AUTH_OK : EMU_AUTH_AUDIENCE;
        }
    }
    for (i = 0; i < oauth->ntokens && rc == EMU_AUTH_UNKNOWN; i++) {
        if (secret_equal(oauth->tokens[i].value, token)) {
            snprintf(principal, len, "%s", oauth->tokens[i].principal);
            rc = !same_audience(oauth->tokens[i].audience, audience) ? EMU_AUTH_AUDIENCE
                 : oauth->tokens[i].expires > now_mono()             ? EMU_AUTH_OK
                                                                     : EMU_AUTH_EXPIRED;
        }
    }
    pthread_mutex_unlock(&oauth->mu);
    return rc;
}

int emu_oauth_expire_all(emu_oauth_t *oauth)
{
    size_t i;
    int live = 0;
    double now = now_mono();

    pthread_mutex_lock(&oauth->mu);
    for (i = 0; i < oauth->ntokens; i++) {
        if (oauth->tokens[i].expires > now) {
            live++;
            oauth->tokens[i].expires = now - 1.0;
        }
    }
    pthread_mutex_unlock(&oauth->mu);
    return live;
}
