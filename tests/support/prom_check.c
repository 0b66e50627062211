/*
 * prom_check: see prom_check.h. Line-oriented; label values are compared as
 * written, which is what the exposition we produce needs.
 */
#include "prom_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FAMILIES 256
#define MAX_SERIES   4096
#define NAME_MAX_    200
#define SERIES_MAX_  600

typedef struct family {
    char name[NAME_MAX_];
    char type[16];
    int help, typed, closed;
    double last_le, bucket_count;
    int buckets;
} family_t;

typedef struct state {
    family_t fam[MAX_FAMILIES];
    int nfam;
    char (*series)[SERIES_MAX_];
    int nseries;
    int current; /* family of the previous sample, -1 none */
} state_t;

static family_t *find_family(state_t *st, const char *name, int add)
{
    for (int i = 0; i < st->nfam; i++) {
        if (strcmp(st->fam[i].name, name) == 0)
            return &st->fam[i];
    }
    if (!add || st->nfam == MAX_FAMILIES)
        return NULL;
    memset(&st->fam[st->nfam], 0, sizeof(family_t));
    snprintf(st->fam[st->nfam].name, NAME_MAX_, "%s", name);
    return &st->fam[st->nfam++];
}

/* The family a sample name belongs to (histogram suffixes stripped when that
 * family is declared as a histogram). */
static family_t *family_of(state_t *st, const char *name, const char **suffix)
{
    static const char *const sfx[] = {"_bucket", "_sum", "_count", NULL};
    char base[NAME_MAX_];
    family_t *f;

    *suffix = "";
    for (int i = 0; sfx[i]; i++) {
        size_t n = strlen(name), k = strlen(sfx[i]);

        if (n > k && strcmp(name + n - k, sfx[i]) == 0 && n - k < sizeof(base)) {
            memcpy(base, name, n - k);
            base[n - k] = '\0';
            f = find_family(st, base, 0);
            if (f && strcmp(f->type, "histogram") == 0) {
                *suffix = sfx[i];
                return f;
            }
        }
    }
    return find_family(st, name, 0);
}

static int fail(char *why, size_t len, int line, const char *msg, const char *ctx)
{
    snprintf(why, len, "line %d: %s: %.200s", line, msg, ctx);
    return -1;
}

static int check_sample(state_t *st, char *line, int ln, char *why, size_t whylen)
{
    char name[NAME_MAX_], *sp, *end, *brace;
    const char *suffix;
    family_t *f;
    double v;
    size_t n;

    sp = strrchr(line, ' ');
    if (!sp)
        return fail(why, whylen, ln, "sample without value", line);
    *sp = '\0';
    v = strtod(sp + 1, &end);
    if (*end != '\0')
        return fail(why, whylen, ln, "bad value", sp + 1);
    brace = strchr(line, '{');
    n = brace ? (size_t)(brace - line) : strlen(line);
    if (n == 0 || n >= sizeof(name))
        return fail(why, whylen, ln, "bad metric name", line);
    memcpy(name, line, n);
    name[n] = '\0';
    if (brace && line[strlen(line) - 1] != '}')
        return fail(why, whylen, ln, "unterminated labels", line);
    f = family_of(st, name, &suffix);
    if (!f || !f->typed || !f->help)
        return fail(why, whylen, ln, "sample before its # HELP and # TYPE", line);
    if (f->closed)
        return fail(why, whylen, ln, "family's samples are not together", line);
    if (st->current >= 0 && &st->fam[st->current] != f)
        st->fam[st->current].closed = 1;
    st->current = (int)(f - st->fam);
    for (int i = 0; i < st->nseries; i++) {
        if (strcmp(st->series[i], line) == 0)
            return fail(why, whylen, ln, "duplicate series", line);
    }
    if (st->nseries < MAX_SERIES)
        snprintf(st->series[st->nseries++], SERIES_MAX_, "%s", line);
    if (strcmp(suffix, "_bucket") == 0) {
        const char *le = strstr(line, "le=\"");
        char *lend = NULL;
        double bound = le ? strtod(le + 4, &lend) : 0;

        if (!le)
            return fail(why, whylen, ln, "bucket without le", line);
        if (strncmp(le + 4, "+Inf\"", 5) == 0)
            bound = 1e300;
        else if (lend == le + 4 || *lend != '"')
            return fail(why, whylen, ln, "le is not a number", line);
        if (f->buckets > 0 && (bound <= f->last_le || v < f->bucket_count))
            return fail(why, whylen, ln, "buckets not ascending or not cumulative", line);
        f->last_le = bound;
        f->bucket_count = v;
        f->buckets++;
    } else if (strcmp(suffix, "_count") == 0) {
        if (f->last_le != 1e300 || v != f->bucket_count)
            return fail(why, whylen, ln, "_count differs from the +Inf bucket", line);
    }
    return 0;
}

int dp_prom_check(const char *text, size_t len, char *why, size_t whylen)
{
    state_t *st = calloc(1, sizeof(*st));
    char *copy = malloc(len + 1), *line, *next;
    int ln = 0, rc = 0;

    st->series = calloc(MAX_SERIES, SERIES_MAX_);
    st->current = -1;
    memcpy(copy, text, len);
    copy[len] = '\0';
    if (len == 0 || text[len - 1] != '\n')
        rc = fail(why, whylen, 0, "exposition does not end with a newline", "");
    for (line = copy; rc == 0 && *line; line = next) {
        char name[NAME_MAX_], kind[16];
        family_t *f;

        next = strchr(line, '\n');
        if (!next)
            break;
        *next++ = '\0';
        ln++;
        if (strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0) {
            int is_help = line[2] == 'H';

            if (sscanf(line + 7, "%199s %15s", name, kind) < 1)
                rc = fail(why, whylen, ln, "bad comment", line);
            else if (!(f = find_family(st, name, 1)))
                rc = fail(why, whylen, ln, "too many families", line);
            else if ((is_help && f->help) || (!is_help && f->typed))
                rc = fail(why, whylen, ln, "second # HELP or # TYPE", line);
            else if (is_help)
                f->help = 1;
            else if (strcmp(kind, "counter") && strcmp(kind, "gauge") &&
                     strcmp(kind, "histogram") && strcmp(kind, "summary") &&
                     strcmp(kind, "untyped"))
                rc = fail(why, whylen, ln, "unknown type", line);
            else {
                f->typed = 1;
                snprintf(f->type, sizeof(f->type), "%s", kind);
            }
        } else if (line[0] == '#' || line[0] == '\0') {
            continue;
        } else {
            rc = check_sample(st, line, ln, why, whylen);
        }
    }
    if (rc == 0)
        snprintf(why, whylen, "ok");
    free(copy);
    free(st->series);
    free(st);
    return rc;
}

int dp_prom_value(const char *text, const char *series, double *value)
{
    size_t n = strlen(series);
    const char *p = text;

    while (p && *p) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ') {
            char *end = NULL;

            *value = strtod(p + n + 1, &end);
            return end != p + n + 1 && (*end == '\0' || *end == '\n' || *end == ' ') ? 0 : -1;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return -1;
}

int dp_prom_sum(const char *text, const char *name, double *sum)
{
    size_t n = strlen(name);
    const char *p = text;
    int found = 0;

    *sum = 0;
    while (p && *p) {
        if (strncmp(p, name, n) == 0 && (p[n] == ' ' || p[n] == '{')) {
            const char *sp = strchr(p, '\n');
            const char *v = p;

            for (const char *q = p; q < (sp ? sp : p + strlen(p)); q++) {
                if (*q == ' ')
                    v = q + 1;
            }
            char *end = NULL;
            double x = strtod(v, &end);

            if (end == v || (*end != '\0' && *end != '\n'))
                return -1; /* a sample whose value is not a number */
            *sum += x;
            found++;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return found;
}
