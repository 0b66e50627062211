/*
 * oauth_http: the OIDC discovery documents and the client-credentials token
 * endpoint, as Databricks workspaces serve them (docs/DATABRICKS.md, "The APIs
 * in brief").
 * Client credentials come in HTTP Basic (what the SDKs and CLI send) or, as a
 * fallback, as client_id/client_secret form fields. Errors use the OAuth shape
 * {"error","error_description"}, not Databricks' REST shape.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server.h"

#define FIELD_MAX   512
#define DETAILS_MAX 8192 /* authorization_details: three objects with full names */

void emu_oauth_handle_discovery(emu_req_t *req)
{
    char issuer[128], authz[128], token[128], jwks[128];
    const char *base = req->srv->base_url;

    snprintf(issuer, sizeof(issuer), "%s/oidc", base);
    snprintf(authz, sizeof(authz), "%s/oidc/v1/authorize", base);
    snprintf(token, sizeof(token), "%s/oidc/v1/token", base);
    snprintf(jwks, sizeof(jwks), "%s/oidc/jwks.json", base);
    emu_reply_json(
        req, 200,
        json_pack("{s:s, s:s, s:s, s:s, s:[s,s], s:[s,s,s], s:[s,s,s,s,s,s], s:[s,s,s], s:[s], "
                  "s:[s], s:[s]}",
                  "issuer", issuer, "authorization_endpoint", authz, "token_endpoint", token,
                  "jwks_uri", jwks, "response_types_supported", "code", "id_token",
                  "grant_types_supported", "client_credentials", "authorization_code",
                  "refresh_token", "scopes_supported", "all-apis", "sql", "files", "openid",
                  "email", "offline_access", "token_endpoint_auth_methods_supported",
                  "client_secret_basic", "client_secret_post", "none", "subject_types_supported",
                  "public", "id_token_signing_alg_values_supported", "RS256",
                  "code_challenge_methods_supported", "S256"));
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Decodes application/x-www-form-urlencoded text of length len into out. */
static void form_decode(const char *s, size_t len, char *out, size_t outlen)
{
    size_t i = 0, o = 0;

    while (i < len && o + 1 < outlen) {
        if (s[i] == '+') {
            out[o++] = ' ';
            i++;
        } else if (s[i] == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            out[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 3;
        } else {
            out[o++] = s[i++];
        }
    }
    out[o] = '\0';
}

/* Finds key in a form body and decodes its value into out. Returns 0 or -1. */
static int form_field(const char *body, const char *key, char *out, size_t outlen)
{
    size_t klen = strlen(key);
    const char *p = body;

    while (p != NULL && *p != '\0') {
        const char *amp = strchr(p, '&');
        size_t plen = amp ? (size_t)(amp - p) : strlen(p);

        if (plen > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
            form_decode(p + klen + 1, plen - klen - 1, out, outlen);
            return 0;
        }
        p = amp ? amp + 1 : NULL;
    }
    return -1;
}

/* Decodes "Basic base64(id:secret)" into id and secret. Returns 0 or -1. */
static int basic_credentials(const char *header, char *id, char *secret, size_t len)
{
    unsigned char decoded[2 * FIELD_MAX];
    const char *b64;
    size_t b64len, pad = 0;
    int n;
    char *colon;

    if (header == NULL || strncasecmp(header, "Basic ", 6) != 0) {
        return -1;
    }
    b64 = header + 6;
    b64len = strlen(b64);
    if (b64len == 0 || b64len % 4 != 0 || b64len / 4 * 3 >= sizeof(decoded)) {
        return -1;
    }
    n = EVP_DecodeBlock(decoded, (const unsigned char *)b64, (int)b64len);
    if (n < 0) {
        return -1;
    }
    pad = (b64[b64len - 1] == '=') + (b64[b64len - 2] == '=');
    n -= (int)pad;
    decoded[n] = '\0';
    colon = strchr((char *)decoded, ':');
    if (colon == NULL) {
        return -1;
    }
    *colon = '\0';
    snprintf(id, len, "%s", (char *)decoded);
    snprintf(secret, len, "%s", colon + 1);
    return 0;
}

static void oauth_error(emu_req_t *req, int status, const char *error, const char *description)
{
    emu_reply_json(req, status,
                   json_pack("{s:s, s:s}", "error", error, "error_description", description));
}

/* The audience of a token request: NULL for the workspace's APIs (no
 * resource), "zerobus:<c.s.t>" for a Zerobus token (resource
 * api://databricks/workspaces/<this workspace>/zerobusDirectWriteApi and
 * authorization_details granting SELECT and MODIFY on a TABLE, as the Zerobus
 * SDK asks). Returns 0, or -1 with the OAuth error replied. */
static int token_audience(emu_req_t *req, const char *body, char *audience, size_t len, int *has)
{
    char resource[FIELD_MAX] = "", want[FIELD_MAX], *details = malloc(DETAILS_MAX);
    json_t *arr = NULL, *it;
    const char *table = NULL;
    size_t i;
    int rc = -1;

    *has = 0;
    if (details == NULL) {
        oauth_error(req, 500, "server_error", "out of memory");
        return -1;
    }
    details[0] = '\0';
    if (form_field(body, "resource", resource, sizeof(resource)) < 0) {
        free(details);
        return 0;
    }
    snprintf(want, sizeof(want), "api://databricks/workspaces/%s/zerobusDirectWriteApi",
             req->srv->workspace_id ? req->srv->workspace_id : "");
    if (strcmp(resource, want) != 0) {
        oauth_error(req, 400, "invalid_target",
                    "Unknown resource: this workspace's Zerobus resource is "
                    "api://databricks/workspaces/<its id>/zerobusDirectWriteApi.");
        goto out;
    }
    form_field(body, "authorization_details", details, DETAILS_MAX);
    arr = json_loads(details, 0, NULL);
    json_array_foreach(arr, i, it)
    {
        const char *kind = json_string_value(json_object_get(it, "object_type"));
        json_t *privs = json_object_get(it, "privileges"), *pv;
        size_t k;
        int sel = 0, mod = 0;

        if (!kind || strcmp(kind, "TABLE") != 0)
            continue;
        json_array_foreach(privs, k, pv)
        {
            sel |= json_is_string(pv) && strcmp(json_string_value(pv), "SELECT") == 0;
            mod |= json_is_string(pv) && strcmp(json_string_value(pv), "MODIFY") == 0;
        }
        if (sel && mod)
            table = json_string_value(json_object_get(it, "object_full_path"));
    }
    if (table == NULL || strlen(table) + 9 >= len) {
        oauth_error(req, 400, "invalid_request",
                    "A Zerobus token needs authorization_details granting SELECT and MODIFY on "
                    "a TABLE (object_full_path catalog.schema.table).");
        goto out;
    }
    snprintf(audience, len, "zerobus:%s", table);
    for (char *c = audience; *c; c++)
        *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
    *has = 1;
    rc = 0;
out:
    json_decref(arr);
    free(details);
    return rc;
}

void emu_oauth_handle_token(emu_req_t *req)
{
    char grant[64] = "", scope[FIELD_MAX] = "all-apis";
    char id[FIELD_MAX] = "", secret[FIELD_MAX] = "", token[80];
    char audience[FIELD_MAX];
    const char *body = req->body ? req->body : "";
    int rc, has_audience = 0;

    if (form_field(body, "grant_type", grant, sizeof(grant)) < 0 ||
        strcmp(grant, "client_credentials") != 0) {
        oauth_error(req, 400, "unsupported_grant_type",
                    "Only grant_type=client_credentials is supported by the emulator.");
        return;
    }
    form_field(body, "scope", scope, sizeof(scope));
    if (basic_credentials(emu_req_header(req, "Authorization"), id, secret, sizeof(id)) < 0) {
        form_field(body, "client_id", id, sizeof(id));
        form_field(body, "client_secret", secret, sizeof(secret));
    }
    if (token_audience(req, body, audience, sizeof(audience), &has_audience) < 0) {
        return;
    }
    rc = id[0] ? emu_oauth_issue_for(req->srv->oauth, id, secret, has_audience ? audience : NULL,
                                     token, sizeof(token))
               : -1;
    if (rc == -1) {
        oauth_error(req, 401, "invalid_client", "Client authentication failed.");
        return;
    }
    if (rc < 0) {
        oauth_error(req, 500, "server_error", "Could not mint a token.");
        return;
    }
    snprintf(req->principal, sizeof(req->principal), "%s", id);
    emu_reply_json(req, 200,
                   json_pack("{s:s, s:s, s:I, s:s}", "access_token", token, "token_type", "Bearer",
                             "expires_in", (json_int_t)emu_oauth_ttl(req->srv->oauth), "scope",
                             scope));
}
