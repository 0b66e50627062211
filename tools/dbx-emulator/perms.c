/*
 * perms: grant list of the emulator (see perms.h). Names are compared
 * case-insensitively, as Unity Catalog stores them lower-case.
 */
#define _POSIX_C_SOURCE 200809L
#include "perms.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct grant {
    char *principal;
    char priv[32];
    int level;
    char *c, *s, *o; /* lower case; NULL above the level */
} grant_t;

struct emu_perms {
    grant_t *v;
    size_t n;
};

static const char *const k_privs[] = {"USE CATALOG",
                                      "USE SCHEMA",
                                      "CREATE SCHEMA",
                                      "CREATE TABLE",
                                      "CREATE VOLUME",
                                      "READ VOLUME",
                                      "WRITE VOLUME",
                                      "SELECT",
                                      "MODIFY",
                                      "ALL PRIVILEGES",
                                      "BROWSE",
                                      "MANAGE",
                                      NULL};

int emu_perms_priv_norm(const char *in, char *out, size_t outlen)
{
    size_t i, k;

    for (i = 0; in[i] != '\0' && i + 1 < outlen; i++) {
        out[i] = in[i] == '_' ? ' ' : (char)toupper((unsigned char)in[i]);
    }
    if (outlen == 0 || in[i] != '\0') {
        return -1;
    }
    out[i] = '\0';
    if (strcmp(out, "ALL") == 0 && i + 12 < outlen) {
        snprintf(out, outlen, "ALL PRIVILEGES");
    }
    for (k = 0; k_privs[k] != NULL; k++) {
        if (strcmp(out, k_privs[k]) == 0) {
            return 0;
        }
    }
    return -1;
}

static char *lower_dup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    size_t i;

    if (p == NULL) {
        return NULL;
    }
    for (i = 0; i < n; i++) {
        p[i] = (char)tolower((unsigned char)s[i]);
    }
    p[n] = '\0';
    return p;
}

/* Parses "CATALOG main" / "SCHEMA main.s" / "TABLE main.s.t" / "VOLUME main.s.v". */
static int parse_on(const char *on, grant_t *g)
{
    static const char *const kinds[] = {"CATALOG ", "SCHEMA ", "TABLE ", "VOLUME "};
    const char *name = NULL, *d1, *d2;
    int k, want;

    for (k = 0; k < 4; k++) {
        if (strncasecmp(on, kinds[k], strlen(kinds[k])) == 0) {
            g->level = k;
            name = on + strlen(kinds[k]);
            break;
        }
    }
    if (name == NULL) {
        return -1;
    }
    while (*name == ' ') {
        name++;
    }
    want = g->level == 0 ? 0 : g->level == 1 ? 1 : 2;
    d1 = strchr(name, '.');
    d2 = d1 != NULL ? strchr(d1 + 1, '.') : NULL;
    if ((want == 0 && d1 != NULL) || (want == 1 && (d1 == NULL || d2 != NULL)) ||
        (want == 2 && (d2 == NULL || strchr(d2 + 1, '.') != NULL))) {
        return -1;
    }
    g->c = lower_dup(name, d1 != NULL ? (size_t)(d1 - name) : strlen(name));
    if (want >= 1) {
        g->s = lower_dup(d1 + 1, d2 != NULL ? (size_t)(d2 - d1 - 1) : strlen(d1 + 1));
    }
    if (want == 2) {
        g->o = lower_dup(d2 + 1, strlen(d2 + 1));
    }
    return g->c != NULL && g->c[0] != '\0' ? 0 : -1;
}

static void grant_free(grant_t *g)
{
    free(g->principal);
    free(g->c);
    free(g->s);
    free(g->o);
}

static int add_grant(emu_perms_t *p, const char *principal, const char *priv, const char *on,
                     char *err, size_t errlen)
{
    grant_t g, *nv;

    memset(&g, 0, sizeof(g));
    if (emu_perms_priv_norm(priv, g.priv, sizeof(g.priv)) != 0) {
        snprintf(err, errlen, "unknown privilege '%s'", priv);
        return -1;
    }
    if (parse_on(on, &g) != 0) {
        grant_free(&g);
        snprintf(err, errlen,
                 "bad securable '%s' (want 'CATALOG c', 'SCHEMA c.s', 'TABLE c.s.t' or "
                 "'VOLUME c.s.v')",
                 on);
        return -1;
    }
    g.principal = strdup(principal);
    nv = realloc(p->v, (p->n + 1) * sizeof(*nv));
    if (nv == NULL || g.principal == NULL) {
        grant_free(&g);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    p->v = nv;
    p->v[p->n++] = g;
    return 0;
}

static int load_one(emu_perms_t *p, json_t *g, size_t idx, char *err, size_t errlen)
{
    const char *principal = json_string_value(json_object_get(g, "principal"));
    const char *on = json_string_value(json_object_get(g, "on"));
    json_t *priv = json_object_get(g, "privilege"), *privs = json_object_get(g, "privileges");
    json_t *it;
    size_t k;

    if (principal == NULL || on == NULL || (!json_is_string(priv) && !json_is_array(privs))) {
        snprintf(err, errlen,
                 "grants[%zu]: needs \"principal\", \"on\" and \"privilege\" or "
                 "\"privileges\"",
                 idx);
        return -1;
    }
    if (json_is_string(priv) && add_grant(p, principal, json_string_value(priv), on, err, errlen)) {
        return -1;
    }
    json_array_foreach(privs, k, it)
    {
        if (!json_is_string(it) ||
            add_grant(p, principal, json_string_value(it), on, err, errlen)) {
            if (!json_is_string(it)) {
                snprintf(err, errlen, "grants[%zu].privileges[%zu] is not a string", idx, k);
            }
            return -1;
        }
    }
    return 0;
}

emu_perms_t *emu_perms_load(const char *path, char *err, size_t errlen)
{
    json_error_t je;
    json_t *root = NULL, *grants, *g;
    emu_perms_t *p = NULL, *ret = NULL;
    size_t idx;

    root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL) {
        snprintf(err, errlen, "%s:%d:%d: %s", path, je.line, je.column, je.text);
        goto out;
    }
    grants = json_object_get(root, "grants");
    if (!json_is_array(grants)) {
        snprintf(err, errlen, "%s: needs a \"grants\" array", path);
        goto out;
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    json_array_foreach(grants, idx, g)
    {
        if (load_one(p, g, idx, err, errlen) != 0) {
            goto out;
        }
    }
    ret = p;
    p = NULL;
out:
    emu_perms_free(p);
    json_decref(root);
    return ret;
}

void emu_perms_free(emu_perms_t *p)
{
    size_t k;

    if (p == NULL) {
        return;
    }
    for (k = 0; k < p->n; k++) {
        grant_free(&p->v[k]);
    }
    free(p->v);
    free(p);
}

static int name_eq(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcasecmp(a, b) == 0;
}

/* 1 when grant g's securable is (c, s, o) at level or one of its containers. */
static int covers(const grant_t *g, int level, const char *c, const char *s, const char *o)
{
    if (!name_eq(g->c, c)) {
        return 0;
    }
    if (g->level == EMU_PERMS_CATALOG) {
        return 1;
    }
    if (level == EMU_PERMS_CATALOG || !name_eq(g->s, s)) {
        return 0;
    }
    if (g->level == EMU_PERMS_SCHEMA) {
        return 1;
    }
    return g->level == level && name_eq(g->o, o);
}

int emu_perms_granted(const emu_perms_t *p, const char *principal, const char *priv, int level,
                      const char *c, const char *s, const char *o)
{
    size_t k;

    if (p == NULL) {
        return 1;
    }
    for (k = 0; k < p->n; k++) {
        const grant_t *g = &p->v[k];
        if (strcmp(g->principal, principal) != 0 &&
            strcasecmp(g->principal, "account users") != 0) {
            continue;
        }
        if (strcmp(g->priv, priv) != 0 && strcmp(g->priv, "ALL PRIVILEGES") != 0) {
            continue;
        }
        if (covers(g, level, c, s, o)) {
            return 1;
        }
    }
    return 0;
}
