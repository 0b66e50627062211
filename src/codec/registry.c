/*
 * registry: Schema Registry client with a bounded cache of outcomes per
 * schema id (see registry.h).
 *
 * HTTP goes through dp_dbx_call() (src/dbx/http.h), the project's one
 * retry loop, so this file has no loop of its own: a lookup is at most
 * max_attempts attempts of timeout_ms each, with the retry module's jittered
 * delay between them, which bounds how long the poll thread waits. What
 * happens after a lookup failed is the cache's business: the failed outcome
 * is stored with an expiry, and until then every question about that id
 * gets the stored answer without a request.
 *
 * Ownership: the client owns the cache entries (schema text and messages),
 * the dbx client and the Basic credential line, which is wiped on destroy.
 */
#include "codec/registry.h"

#include "config/config.h"
#include "core/log.h"
#include "core/mem.h"
#include "dbx/http.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Confluent's error_code for "Schema not found" (Schema Registry API
 * reference, "Errors": 40403). */
#define CONFLUENT_SCHEMA_NOT_FOUND 40403

enum { ST_FOUND = 1, ST_NOT_FOUND, ST_INVALID, ST_UNAVAILABLE };

typedef struct entry {
    uint32_t id;
    int state;  /* ST_* */
    char *text; /* ST_FOUND: the schema JSON text (owned) */
    size_t len;
    char *msg;               /* other states: the error message (owned) */
    long long expires_ms;    /* other states: ask again from this time on */
    unsigned long long used; /* recency tick for eviction */
} entry_t;

struct dp_registry {
    dp_dbx_client_t *client;
    char *url;
    char *auth_line; /* "Authorization: Basic ..." or NULL; wiped on destroy */
    long retry_ms;
    long not_found_ttl_ms;
    entry_t *entries;
    size_t n, cap, max;
    unsigned long long tick;
    dp_registry_stats_t stats;
};

/* ------------------------------------------------------------------------- */
/* Construction                                                              */
/* ------------------------------------------------------------------------- */

/* Builds "Authorization: Basic base64(user:password)" (RFC 7617). */
static char *basic_line(const char *user, const char *password)
{
    static const char prefix[] = "Authorization: Basic ";
    size_t ul = strlen(user), pl = strlen(password), n = ul + 1 + pl;
    unsigned char *pair = dp_malloc(n);
    char *line = dp_malloc(sizeof(prefix) + 4 * ((n + 2) / 3) + 1);

    memcpy(pair, user, ul);
    pair[ul] = ':';
    memcpy(pair + ul + 1, password, pl);
    memcpy(line, prefix, sizeof(prefix) - 1);
    EVP_EncodeBlock((unsigned char *)line + sizeof(prefix) - 1, pair, (int)n);
    OPENSSL_cleanse(pair, n);
    free(pair);
    return line;
}

dp_registry_t *dp_registry_new(const dp_registry_opts_t *opts, dp_err_t *err)
{
    dp_registry_t *reg = NULL;
    dp_dbx_config_t dc;
    long timeout = opts->timeout_ms > 0 ? opts->timeout_ms : 5000;

    if (opts->url == NULL || opts->url[0] == '\0') {
        dp_err_set(err, DP_EINVAL, 0, "registry: no URL configured");
        return NULL;
    }
    memset(&dc, 0, sizeof(dc));
    dc.host = opts->url;
    dc.allow_insecure_http = opts->allow_insecure_http;
    dc.ca_file = opts->ca_file;
    dc.ca_setting = "schemas.registry_ca_file";
    dc.connect_timeout_ms = timeout / 2 > 0 ? timeout / 2 : 1;
    dc.request_timeout_ms = timeout;
    dc.max_response_bytes = opts->max_schema_bytes > 0 ? opts->max_schema_bytes : (size_t)1 << 20;
    dc.retry.max_attempts = opts->max_attempts > 0 ? opts->max_attempts : 2;
    dc.retry.base_delay_ms = 200;
    dc.retry.max_delay_ms = 1000;
    dc.retry.max_retry_after_ms = 1000; /* a longer Retry-After is served by the hold */
    dc.retry.max_elapsed_ms = 2 * timeout;
    dc.clock = opts->clock;
    reg = dp_calloc(1, sizeof(*reg));
    reg->client = dp_dbx_client_new(&dc, err);
    if (reg->client == NULL) {
        dp_err_prefix(err, "registry: ");
        dp_registry_destroy(reg);
        return NULL;
    }
    reg->url = dp_strdup(dp_dbx_client_host(reg->client));
    if (opts->user != NULL) {
        reg->auth_line = basic_line(opts->user, opts->password ? opts->password : "");
    }
    reg->retry_ms = opts->retry_ms > 0 ? opts->retry_ms : 5000;
    reg->not_found_ttl_ms = opts->not_found_ttl_ms > 0 ? opts->not_found_ttl_ms : 60000;
    reg->max = opts->cache_max > 0 ? opts->cache_max : 10000;
    return reg;
}

dp_registry_t *dp_registry_from_config(const dp_config_t *cfg, dp_err_t *err)
{
    dp_registry_opts_t o;

    dp_err_clear(err);
    if (cfg->schemas.registry_url == NULL) {
        return NULL;
    }
    memset(&o, 0, sizeof(o));
    o.url = cfg->schemas.registry_url;
    o.allow_insecure_http = cfg->schemas.registry_allow_insecure_http;
    o.user = cfg->schemas.registry_user;
    o.password = cfg->schemas.registry_password;
    o.ca_file = cfg->schemas.registry_ca_file;
    o.timeout_ms = (long)cfg->schemas.registry_timeout_ms;
    o.retry_ms = (long)cfg->schemas.registry_retry_ms;
    /* 0 in the file means "do not remember"; the option's 0 means default */
    o.not_found_ttl_ms = cfg->schemas.registry_not_found_ttl_ms > 0
                             ? (long)cfg->schemas.registry_not_found_ttl_ms
                             : 1;
    o.cache_max = (size_t)cfg->schemas.registry_cache_max;
    return dp_registry_new(&o, err);
}

static void entry_clear(entry_t *e)
{
    free(e->text);
    free(e->msg);
    memset(e, 0, sizeof(*e));
}

void dp_registry_destroy(dp_registry_t *reg)
{
    if (reg == NULL) {
        return;
    }
    for (size_t i = 0; i < reg->n; i++) {
        entry_clear(&reg->entries[i]);
    }
    free(reg->entries);
    dp_free_secret(reg->auth_line);
    dp_dbx_client_destroy(reg->client);
    free(reg->url);
    free(reg);
}

void dp_registry_stats(const dp_registry_t *reg, dp_registry_stats_t *out)
{
    *out = reg->stats;
    out->requests = dp_dbx_client_attempts(reg->client);
    out->cached = reg->n;
}

/* ------------------------------------------------------------------------- */
/* Cache                                                                     */
/* ------------------------------------------------------------------------- */

static entry_t *cache_find(dp_registry_t *reg, uint32_t id)
{
    for (size_t i = 0; i < reg->n; i++) {
        if (reg->entries[i].id == id) {
            return &reg->entries[i];
        }
    }
    return NULL;
}

/* Returns a cleared entry for id: a free slot, or the least recently used
 * one when the cache is full. */
static entry_t *cache_slot(dp_registry_t *reg, uint32_t id)
{
    entry_t *e = cache_find(reg, id);
    size_t lru = 0;

    if (e == NULL && reg->n < reg->max) {
        if (reg->n == reg->cap) {
            reg->cap = reg->cap ? reg->cap * 2 : 16;
            if (reg->cap > reg->max) {
                reg->cap = reg->max;
            }
            reg->entries = dp_realloc(reg->entries, reg->cap * sizeof(*reg->entries));
        }
        e = &reg->entries[reg->n++];
        memset(e, 0, sizeof(*e));
    } else if (e == NULL) {
        for (size_t i = 1; i < reg->n; i++) {
            if (reg->entries[i].used < reg->entries[lru].used) {
                lru = i;
            }
        }
        e = &reg->entries[lru];
    }
    entry_clear(e);
    e->id = id;
    e->used = ++reg->tick;
    return e;
}

static void entry_fail(dp_registry_t *reg, entry_t *e, int state, long ttl_ms, const char *msg)
{
    free(e->text);
    e->text = NULL;
    free(e->msg);
    e->state = state;
    e->msg = dp_strdup(msg);
    e->expires_ms = dp_dbx_client_now_ms(reg->client) + ttl_ms;
}

/* ------------------------------------------------------------------------- */
/* One lookup                                                                */
/* ------------------------------------------------------------------------- */

long dp_registry_parse_error_code(const char *body, size_t len)
{
    json_t *root = body ? json_loadb(body, len, 0, NULL) : NULL;
    long code = 0;

    if (json_is_integer(json_object_get(root, "error_code"))) {
        code = (long)json_integer_value(json_object_get(root, "error_code"));
    }
    json_decref(root);
    return code;
}

int dp_registry_parse_schema(const char *body, size_t len, char **text, size_t *textlen, char *type,
                             size_t typelen)
{
    json_t *root = json_loadb(body ? body : "", len, 0, NULL);
    json_t *schema = json_object_get(root, "schema");
    const char *t = json_string_value(json_object_get(root, "schemaType"));
    int rc = 0;

    *text = NULL;
    *textlen = 0;
    type[0] = '\0';
    if (!json_is_string(schema)) {
        rc = DP_EAGAIN;
    } else if (t != NULL && strcmp(t, "AVRO") != 0) {
        snprintf(type, typelen, "%s", t);
        rc = DP_EINVAL;
    } else {
        *textlen = json_string_length(schema);
        *text = dp_malloc(*textlen + 1);
        memcpy(*text, json_string_value(schema), *textlen);
        (*text)[*textlen] = '\0';
    }
    json_decref(root);
    return rc;
}

/* Fills e from a 200 body {"schema": "...", "schemaType": "AVRO"}. */
static void take_schema(dp_registry_t *reg, entry_t *e, const dp_dbx_response_t *resp)
{
    char msg[DP_ERR_MSG_MAX], type[24];
    int rc =
        dp_registry_parse_schema(resp->body, resp->body_len, &e->text, &e->len, type, sizeof(type));

    if (rc == DP_EAGAIN) {
        snprintf(msg, sizeof(msg),
                 "the registry at %s answered schema id %u without a \"schema\" string", reg->url,
                 e->id);
        entry_fail(reg, e, ST_UNAVAILABLE, reg->retry_ms, msg);
    } else if (rc == DP_EINVAL) {
        snprintf(msg, sizeof(msg),
                 "schema id %u in the registry at %s is a %.20s schema; only AVRO is read", e->id,
                 reg->url, type);
        entry_fail(reg, e, ST_INVALID, reg->not_found_ttl_ms, msg);
    } else {
        e->state = ST_FOUND;
        dp_log(DP_LOG_INFO, "registry", "schema id %u fetched from %s (%zu bytes)", e->id, reg->url,
               e->len);
    }
}

static void fetch(dp_registry_t *reg, entry_t *e)
{
    static const long accept[] = {404, 0};
    dp_dbx_response_t resp;
    dp_dbx_request_t req;
    dp_err_t err;
    char path[64], what[96], msg[DP_ERR_MSG_MAX];

    memset(&resp, 0, sizeof(resp));
    memset(&req, 0, sizeof(req));
    snprintf(path, sizeof(path), "/schemas/ids/%u", e->id);
    snprintf(what, sizeof(what), "schema registry GET /schemas/ids/%u", e->id);
    req.method = "GET";
    req.path = path;
    req.auth_header = reg->auth_line;
    req.idempotent = 1;
    req.accept = accept;
    req.what = what;
    if (dp_dbx_call(reg->client, &req, &resp, &err) < 0) {
        snprintf(msg, sizeof(msg), "schema registry at %s unavailable for schema id %u: %s",
                 reg->url, e->id, err.msg);
        entry_fail(reg, e, ST_UNAVAILABLE, reg->retry_ms, msg);
    } else if (resp.status == 404 && dp_registry_parse_error_code(resp.body, resp.body_len) ==
                                         CONFLUENT_SCHEMA_NOT_FOUND) {
        snprintf(msg, sizeof(msg), "schema id %u not found in the registry at %s", e->id, reg->url);
        entry_fail(reg, e, ST_NOT_FOUND, reg->not_found_ttl_ms, msg);
    } else if (resp.status == 404) {
        /* Not the registry's own answer (a wrong URL or path prefix): an id is
         * declared missing only by the registry, never by a proxy. */
        snprintf(msg, sizeof(msg),
                 "%s answered 404 for schema id %u without the registry's error_code 40403; "
                 "is schemas.registry_url right?",
                 reg->url, e->id);
        entry_fail(reg, e, ST_UNAVAILABLE, reg->retry_ms, msg);
    } else {
        take_schema(reg, e, &resp);
    }
    dp_dbx_response_clear(&resp);
    if (e->state == ST_UNAVAILABLE) {
        dp_log(DP_LOG_WARN, "registry", "%s; messages of this id are held, next attempt in %ld ms",
               e->msg, reg->retry_ms);
    } else if (e->state != ST_FOUND) {
        dp_log(DP_LOG_WARN, "registry",
               "%s; its messages go to event_errors (asked again in "
               "%ld ms)",
               e->msg, reg->not_found_ttl_ms);
    }
}

static int answer(dp_registry_t *reg, const entry_t *e, long long now, const char **text,
                  size_t *len, dp_err_t *err)
{
    switch (e->state) {
    case ST_FOUND:
        reg->stats.found++;
        if (text != NULL) {
            *text = e->text;
        }
        if (len != NULL) {
            *len = e->len;
        }
        dp_err_clear(err);
        return 0;
    case ST_NOT_FOUND:
        reg->stats.not_found++;
        return dp_err_set(err, DP_ENOTFOUND, 0, "%s", e->msg);
    case ST_INVALID:
        reg->stats.not_found++;
        return dp_err_set(err, DP_EINVAL, 0, "%s", e->msg);
    default:
        reg->stats.unavailable++;
        return dp_err_set(err, DP_EAGAIN, 1, "%s (next attempt in %lld ms)", e->msg,
                          e->expires_ms > now ? e->expires_ms - now : 0);
    }
}

int dp_registry_get(dp_registry_t *reg, uint32_t id, const char **text, size_t *len, dp_err_t *err)
{
    entry_t *e = cache_find(reg, id);
    long long now = dp_dbx_client_now_ms(reg->client);

    if (e == NULL || (e->state != ST_FOUND && now >= e->expires_ms)) {
        e = cache_slot(reg, id);
        fetch(reg, e);
        now = dp_dbx_client_now_ms(reg->client);
    }
    e->used = ++reg->tick;
    return answer(reg, e, now, text, len, err);
}

int dp_registry_load_into(dp_registry_t *reg, dp_decoder_t *dec, uint32_t id, dp_err_t *err)
{
    const char *text = NULL;
    size_t len = 0;
    entry_t *e;
    int rc;

    if ((rc = dp_registry_get(reg, id, &text, &len, err)) < 0) {
        return rc;
    }
    if ((rc = dp_decoder_add_schema(dec, id, text, len, err)) < 0) {
        char msg[DP_ERR_MSG_MAX];

        /* Remember it as unreadable, so its messages do not reparse it. */
        snprintf(msg, sizeof(msg),
                 "schema id %u from the registry at %s is not a usable Avro "
                 "record schema: %s",
                 id, reg->url, err ? err->msg : "invalid");
        e = cache_find(reg, id);
        entry_fail(reg, e, ST_INVALID, reg->not_found_ttl_ms, msg);
        dp_log(DP_LOG_WARN, "registry", "%s", msg);
        return dp_err_set(err, DP_EINVAL, 0, "%s", msg);
    }
    return 0;
}
