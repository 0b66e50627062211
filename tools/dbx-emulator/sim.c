/*
 * sim: latency settings, waits and round-trip counters of the emulator (see
 * sim.h). The statement latency and the warehouse concurrency are applied by
 * statements.c, which reads them here; the Files and OAuth latencies and the
 * counting happen in emu_sim_before_reply(), called by the server once per
 * answered request.
 */
#define _POSIX_C_SOURCE 200809L
#include "sim.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server.h"

#define MAX_KINDS 64
#define KIND_LEN  32

static const char *const FILES_KINDS[] = {"upload", "download", "head", "delete", "list", "mkdir"};
#define NFILES (sizeof(FILES_KINDS) / sizeof(FILES_KINDS[0]))

typedef struct kind_count {
    char name[KIND_LEN];
    long long n;
} kind_count_t;

typedef struct counters {
    long long oauth_tokens, polls, chunks, cancels, other, statements;
    long long zerobus_inserts, zerobus_rows;
    long long files[NFILES];
    kind_count_t kinds[MAX_KINDS];
    int nkinds;
    long long since_ms; /* wall clock of the start or the last reset */
} counters_t;

struct emu_sim {
    pthread_mutex_t mu;
    pthread_cond_t wake; /* broadcast by emu_sim_shutdown */
    int stopping;
    emu_sim_latency_t lat;
    counters_t c;
};

/* The settings by their option and JSON names, with their bounds. */
static const struct {
    const char *option, *key;
    size_t offset;
    long min, max;
} SETTINGS[] = {{"--statement-latency-ms", "statement_latency_ms",
                 offsetof(emu_sim_latency_t, statement_ms), 0, EMU_SIM_LATENCY_MAX_MS},
                {"--files-latency-ms", "files_latency_ms", offsetof(emu_sim_latency_t, files_ms), 0,
                 EMU_SIM_LATENCY_MAX_MS},
                {"--copy-ms-per-mib", "copy_ms_per_mib",
                 offsetof(emu_sim_latency_t, copy_ms_per_mib), 0, EMU_SIM_LATENCY_MAX_MS},
                {"--oauth-latency-ms", "oauth_latency_ms", offsetof(emu_sim_latency_t, oauth_ms), 0,
                 EMU_SIM_LATENCY_MAX_MS},
                {"--warehouse-concurrency", "warehouse_concurrency",
                 offsetof(emu_sim_latency_t, warehouse_concurrency), 1, EMU_SIM_CONCURRENCY_MAX},
                {"--zerobus-latency-ms", "zerobus_latency_ms",
                 offsetof(emu_sim_latency_t, zerobus_ms), 0, EMU_SIM_LATENCY_MAX_MS},
                {"--zerobus-visibility-ms", "zerobus_visibility_ms",
                 offsetof(emu_sim_latency_t, zerobus_visibility_ms), 0, EMU_SIM_LATENCY_MAX_MS}};
#define NSETTINGS (sizeof(SETTINGS) / sizeof(SETTINGS[0]))

static long *field(emu_sim_latency_t *l, size_t k)
{
    return (long *)((char *)l + SETTINGS[k].offset);
}

static long long now_wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------------ */
/* Settings                                                                 */
/* ------------------------------------------------------------------------ */

void emu_sim_latency_defaults(emu_sim_latency_t *l)
{
    memset(l, 0, sizeof(*l));
    l->warehouse_concurrency = EMU_SIM_CONCURRENCY_DEFAULT;
}

int emu_sim_latency_option(emu_sim_latency_t *l, const char *name, const char *value)
{
    char *end = NULL;
    long v;
    size_t k;

    for (k = 0; k < NSETTINGS; k++) {
        if (strcmp(name, SETTINGS[k].option) != 0) {
            continue;
        }
        if (value == NULL || value[0] == '\0' || value[0] == '-' || value[0] == '+') {
            return -1;
        }
        errno = 0;
        v = strtol(value, &end, 10);
        if (errno != 0 || end == value || *end != '\0' || v < SETTINGS[k].min ||
            v > SETTINGS[k].max) {
            return -1;
        }
        *field(l, k) = v;
        return 1;
    }
    return 0;
}

emu_sim_t *emu_sim_new(const emu_sim_latency_t *initial)
{
    emu_sim_t *sim = calloc(1, sizeof(*sim));
    pthread_condattr_t attr;

    if (sim == NULL) {
        return NULL;
    }
    pthread_mutex_init(&sim->mu, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&sim->wake, &attr);
    pthread_condattr_destroy(&attr);
    if (initial != NULL) {
        sim->lat = *initial;
    } else {
        emu_sim_latency_defaults(&sim->lat);
    }
    sim->c.since_ms = now_wall_ms();
    return sim;
}

void emu_sim_shutdown(emu_sim_t *sim)
{
    if (sim == NULL) {
        return;
    }
    pthread_mutex_lock(&sim->mu);
    sim->stopping = 1;
    pthread_cond_broadcast(&sim->wake);
    pthread_mutex_unlock(&sim->mu);
}

void emu_sim_destroy(emu_sim_t *sim)
{
    if (sim == NULL) {
        return;
    }
    pthread_cond_destroy(&sim->wake);
    pthread_mutex_destroy(&sim->mu);
    free(sim);
}

void emu_sim_get(emu_sim_t *sim, emu_sim_latency_t *out)
{
    if (sim == NULL) {
        emu_sim_latency_defaults(out);
        return;
    }
    pthread_mutex_lock(&sim->mu);
    *out = sim->lat;
    pthread_mutex_unlock(&sim->mu);
}

json_t *emu_sim_latency_json(emu_sim_t *sim)
{
    emu_sim_latency_t l;
    json_t *o = json_object();
    size_t k;

    emu_sim_get(sim, &l);
    for (k = 0; k < NSETTINGS; k++) {
        json_object_set_new(o, SETTINGS[k].key, json_integer(*field(&l, k)));
    }
    return o;
}

int emu_sim_set_json(emu_sim_t *sim, const char *json, char *errbuf, size_t errlen)
{
    json_error_t je;
    json_t *o = json_loads(json != NULL ? json : "", 0, &je), *v;
    emu_sim_latency_t l;
    const char *key;
    size_t k;
    int rc = -1;

    if (!json_is_object(o)) {
        snprintf(errbuf, errlen, "latency settings must be a JSON object: %s", je.text);
        goto out;
    }
    emu_sim_get(sim, &l);
    json_object_foreach(o, key, v)
    {
        for (k = 0; k < NSETTINGS && strcmp(key, SETTINGS[k].key) != 0; k++) {
        }
        if (k == NSETTINGS) {
            snprintf(errbuf, errlen,
                     "unknown latency setting '%.64s' (known: statement_latency_ms, "
                     "files_latency_ms, copy_ms_per_mib, oauth_latency_ms, "
                     "warehouse_concurrency, zerobus_latency_ms, zerobus_visibility_ms)",
                     key);
            goto out;
        }
        if (!json_is_integer(v) || json_integer_value(v) < SETTINGS[k].min ||
            json_integer_value(v) > SETTINGS[k].max) {
            snprintf(errbuf, errlen, "%s must be an integer between %ld and %ld", key,
                     SETTINGS[k].min, SETTINGS[k].max);
            goto out;
        }
        *field(&l, k) = (long)json_integer_value(v);
    }
    pthread_mutex_lock(&sim->mu);
    sim->lat = l;
    pthread_mutex_unlock(&sim->mu);
    rc = 0;
out:
    json_decref(o);
    return rc;
}

void emu_sim_wait_ms(emu_sim_t *sim, long ms)
{
    struct timespec deadline;

    if (sim == NULL || ms <= 0) {
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += ms / 1000;
    deadline.tv_nsec += (ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    /* The condition wait releases the mutex: other threads use sim meanwhile. */
    pthread_mutex_lock(&sim->mu);
    while (!sim->stopping && pthread_cond_timedwait(&sim->wake, &sim->mu, &deadline) != ETIMEDOUT) {
    }
    pthread_mutex_unlock(&sim->mu);
}

/* ------------------------------------------------------------------------ */
/* Counters                                                                 */
/* ------------------------------------------------------------------------ */

/* Skips blanks, -- and slash-star comments, and opening parentheses. */
static const char *skip_noise(const char *p)
{
    for (;;) {
        while (isspace((unsigned char)*p) || *p == '(') {
            p++;
        }
        if (p[0] == '-' && p[1] == '-') {
            while (*p != '\0' && *p != '\n') {
                p++;
            }
        } else if (p[0] == '/' && p[1] == '*') {
            const char *e = strstr(p + 2, "*/");
            p = e != NULL ? e + 2 : p + strlen(p);
        } else {
            return p;
        }
    }
}

/* Reads the next word (letters and _) upper-cased into w; returns the text after it. */
static const char *next_word(const char *p, char *w, size_t len)
{
    size_t n = 0;

    p = skip_noise(p);
    while ((isalpha((unsigned char)*p) || *p == '_') && n + 1 < len) {
        w[n++] = (char)toupper((unsigned char)*p++);
    }
    w[n] = '\0';
    while (isalpha((unsigned char)*p) || *p == '_') {
        p++; /* a word longer than the buffer is cut */
    }
    return p;
}

const char *emu_sim_statement_kind(const char *text, char *buf, size_t len)
{
    static const char *const objects[] = {"TABLE", "SCHEMA", "VOLUME", "CATALOG", "VIEW", NULL};
    char w1[KIND_LEN], w2[KIND_LEN];
    const char *p;
    int k;

    if (text == NULL) {
        snprintf(buf, len, "UNKNOWN");
        return buf;
    }
    p = next_word(text, w1, sizeof(w1));
    if (w1[0] == '\0') {
        snprintf(buf, len, "OTHER");
        return buf;
    }
    snprintf(buf, len, "%s", strcmp(w1, "DESC") == 0 ? "DESCRIBE" : w1);
    if (strcmp(w1, "COPY") == 0) {
        snprintf(buf, len, "COPY INTO");
    } else if (strcmp(w1, "DESCRIBE") == 0 || strcmp(w1, "DESC") == 0) {
        next_word(p, w2, sizeof(w2));
        if (strcmp(w2, "DETAIL") == 0 || strcmp(w2, "HISTORY") == 0) {
            snprintf(buf, len, "DESCRIBE %s", w2);
        }
    } else if (strcmp(w1, "CREATE") == 0 || strcmp(w1, "DROP") == 0 || strcmp(w1, "ALTER") == 0) {
        do {
            p = next_word(p, w2, sizeof(w2));
        } while (strcmp(w2, "OR") == 0 || strcmp(w2, "REPLACE") == 0 ||
                 strcmp(w2, "TEMPORARY") == 0 || strcmp(w2, "TEMP") == 0 ||
                 strcmp(w2, "EXTERNAL") == 0 || strcmp(w2, "MANAGED") == 0);
        if (strcmp(w2, "DATABASE") == 0) {
            snprintf(w2, sizeof(w2), "SCHEMA");
        }
        for (k = 0; objects[k] != NULL; k++) {
            if (strcmp(w2, objects[k]) == 0) {
                snprintf(buf, len, "%s %s", w1, w2);
            }
        }
    }
    return buf;
}

static int find_kind(const counters_t *c, const char *kind)
{
    int k;

    for (k = 0; k < c->nkinds; k++) {
        if (strcmp(c->kinds[k].name, kind) == 0) {
            return k;
        }
    }
    return -1;
}

/* Counts one statement of kind; the table is bounded and its last slot is kept
 * for "OTHER", which takes every kind that finds no room. */
static void count_kind(counters_t *c, const char *kind)
{
    int k = find_kind(c, kind);

    if (k < 0 && c->nkinds >= MAX_KINDS - 1) {
        kind = "OTHER";
        k = find_kind(c, kind);
    }
    if (k < 0) {
        k = c->nkinds++;
        snprintf(c->kinds[k].name, KIND_LEN, "%s", kind);
        c->kinds[k].n = 0;
    }
    c->kinds[k].n++;
}

void emu_sim_count(emu_sim_t *sim, const char *endpoint, int chunk, const char *statement,
                   int unrouted)
{
    char kind[KIND_LEN];
    counters_t *c;
    size_t k;

    if (sim == NULL || (!unrouted && (endpoint == NULL || endpoint[0] == '\0'))) {
        return;
    }
    emu_sim_statement_kind(statement, kind, sizeof(kind));
    pthread_mutex_lock(&sim->mu);
    c = &sim->c;
    if (unrouted) {
        c->other++;
    } else if (strcmp(endpoint, "oauth.token") == 0) {
        c->oauth_tokens++;
    } else if (strcmp(endpoint, "statements.submit") == 0) {
        c->statements++;
        count_kind(c, kind);
    } else if (strcmp(endpoint, "statements.get") == 0) {
        *(chunk ? &c->chunks : &c->polls) += 1;
    } else if (strcmp(endpoint, "statements.cancel") == 0) {
        c->cancels++;
    } else if (strncmp(endpoint, "files.", 6) == 0) {
        for (k = 0; k < NFILES && strcmp(endpoint + 6, FILES_KINDS[k]) != 0; k++) {
        }
        *(k < NFILES ? &c->files[k] : &c->other) += 1;
    } else if (strcmp(endpoint, "zerobus.insert") == 0) {
        c->zerobus_inserts++;
    } else {
        c->other++;
    }
    pthread_mutex_unlock(&sim->mu);
}

void emu_sim_count_zerobus_rows(emu_sim_t *sim, long long rows)
{
    if (sim == NULL) {
        return;
    }
    pthread_mutex_lock(&sim->mu);
    sim->c.zerobus_rows += rows;
    pthread_mutex_unlock(&sim->mu);
}

static json_t *counters_json(const counters_t *c)
{
    json_t *kinds = json_object(), *files = json_object();
    long long total = 0;
    char since[40];
    time_t secs = (time_t)(c->since_ms / 1000);
    struct tm tm;
    size_t k;
    int i;

    for (i = 0; i < c->nkinds; i++) {
        json_object_set_new(kinds, c->kinds[i].name, json_integer(c->kinds[i].n));
    }
    for (k = 0; k < NFILES; k++) {
        json_object_set_new(files, FILES_KINDS[k], json_integer(c->files[k]));
        total += c->files[k];
    }
    json_object_set_new(files, "total", json_integer(total));
    gmtime_r(&secs, &tm);
    strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(since + strlen(since), sizeof(since) - strlen(since), ".%03dZ",
             (int)(c->since_ms % 1000));
    return json_pack("{s:s, s:I, s:{s:I, s:o}, s:I, s:I, s:I, s:o, s:{s:I, s:I}, s:I}", "since",
                     since, "oauth_tokens", (json_int_t)c->oauth_tokens, "statements", "total",
                     (json_int_t)c->statements, "by_kind", kinds, "statement_polls",
                     (json_int_t)c->polls, "statement_chunks", (json_int_t)c->chunks,
                     "statement_cancels", (json_int_t)c->cancels, "files", files, "zerobus",
                     "inserts", (json_int_t)c->zerobus_inserts, "rows", (json_int_t)c->zerobus_rows,
                     "other", (json_int_t)c->other);
}

json_t *emu_sim_stats_json(emu_sim_t *sim, int reset)
{
    counters_t snap;

    pthread_mutex_lock(&sim->mu);
    snap = sim->c;
    if (reset) {
        memset(&sim->c, 0, sizeof(sim->c));
        sim->c.since_ms = now_wall_ms();
    }
    pthread_mutex_unlock(&sim->mu);
    return counters_json(&snap);
}

void emu_sim_before_reply(struct emu_req *req, int unrouted)
{
    emu_sim_t *sim = req->srv->sim;
    emu_sim_latency_t l;

    if (sim == NULL) {
        return;
    }
    emu_sim_count(sim, req->endpoint,
                  req->path != NULL && strstr(req->path, "/result/chunks/") != NULL,
                  req->statement_text, unrouted);
    if (unrouted) {
        return;
    }
    emu_sim_get(sim, &l);
    if (strncmp(req->endpoint, "files.", 6) == 0) {
        emu_sim_wait_ms(sim, l.files_ms);
    } else if (strcmp(req->endpoint, "oauth.token") == 0) {
        emu_sim_wait_ms(sim, l.oauth_ms);
    } else if (strcmp(req->endpoint, "zerobus.insert") == 0) {
        emu_sim_wait_ms(sim, l.zerobus_ms);
    }
}
