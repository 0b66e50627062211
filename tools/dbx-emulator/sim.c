/*
 * sim: latency settings and waits of the emulator (see sim.h). The statement
 * latency and the warehouse concurrency are applied by statements.c, which
 * reads them here; the Files and OAuth latencies happen in
 * emu_sim_before_reply(), called by the server once per answered request.
 */
#define _POSIX_C_SOURCE 200809L
#include "sim.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server.h"

struct emu_sim {
    pthread_mutex_t mu;
    pthread_cond_t wake; /* broadcast by emu_sim_shutdown */
    int stopping;
    emu_sim_latency_t lat;
};

/* The settings by their option and JSON names, with their bounds. */
static const struct {
    const char *option, *key;
    size_t offset;
    long min, max;
} SETTINGS[] = {
    {"--statement-latency-ms", "statement_latency_ms", offsetof(emu_sim_latency_t, statement_ms),
     0, EMU_SIM_LATENCY_MAX_MS},
    {"--files-latency-ms", "files_latency_ms", offsetof(emu_sim_latency_t, files_ms), 0,
     EMU_SIM_LATENCY_MAX_MS},
    {"--copy-ms-per-mib", "copy_ms_per_mib", offsetof(emu_sim_latency_t, copy_ms_per_mib), 0,
     EMU_SIM_LATENCY_MAX_MS},
    {"--oauth-latency-ms", "oauth_latency_ms", offsetof(emu_sim_latency_t, oauth_ms), 0,
     EMU_SIM_LATENCY_MAX_MS},
    {"--warehouse-concurrency", "warehouse_concurrency",
     offsetof(emu_sim_latency_t, warehouse_concurrency), 1, EMU_SIM_CONCURRENCY_MAX}};
#define NSETTINGS (sizeof(SETTINGS) / sizeof(SETTINGS[0]))

static long *field(emu_sim_latency_t *l, size_t k)
{
    return (long *)((char *)l + SETTINGS[k].offset);
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
    json_object_foreach(o, key, v) {
        for (k = 0; k < NSETTINGS && strcmp(key, SETTINGS[k].key) != 0; k++) {
        }
        if (k == NSETTINGS) {
            snprintf(errbuf, errlen, "unknown latency setting '%.64s' (known: statement_latency_ms, "
                                     "files_latency_ms, copy_ms_per_mib, oauth_latency_ms, "
                                     "warehouse_concurrency)", key);
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
    while (!sim->stopping &&
           pthread_cond_timedwait(&sim->wake, &sim->mu, &deadline) != ETIMEDOUT) {
    }
    pthread_mutex_unlock(&sim->mu);
}

void emu_sim_before_reply(struct emu_req *req, int unrouted)
{
    emu_sim_t *sim = req->srv->sim;
    emu_sim_latency_t l;

    if (sim == NULL) {
        return;
    }
    if (unrouted) {
        return;
    }
    emu_sim_get(sim, &l);
    if (strncmp(req->endpoint, "files.", 6) == 0) {
        emu_sim_wait_ms(sim, l.files_ms);
    } else if (strcmp(req->endpoint, "oauth.token") == 0) {
        emu_sim_wait_ms(sim, l.oauth_ms);
    }
}
