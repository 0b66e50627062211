/*
 * faults: rules that make the emulator misbehave on purpose (see faults.h).
 * The table is a fixed-capacity array under one mutex; a rule's remaining
 * count only ever goes down, and -1 means unlimited.
 */
#include "faults.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RULES 64

typedef struct rule {
    char endpoint[48];
    char statement[32];  /* "" or the statement kind it waits for ("COPY INTO") */
    emu_fault_hit_t hit; /* what firing produces */
    long remaining;      /* -1: unlimited */
    double rate;         /* 0..1 */
    long fired;
} rule_t;

struct emu_faults {
    pthread_mutex_t mu;
    uint64_t rng;
    rule_t rules[MAX_RULES];
    size_t n;
};

static const char *const ENDPOINTS[] = {"oauth.token",
                                        "files.upload",
                                        "files.download",
                                        "files.delete",
                                        "files.list",
                                        "files.mkdir",
                                        "files.head",
                                        "files.*",
                                        "statements.submit",
                                        "statements.get",
                                        "statements.cancel",
                                        "statements.*",
                                        "zerobus.insert",
                                        "zerobus.*",
                                        "*",
                                        NULL};

static const struct {
    const char *name;
    emu_fault_kind_t kind;
} KINDS[] = {{"429", EMU_FAULT_429},
             {"503", EMU_FAULT_503},
             {"500", EMU_FAULT_500},
             {"drop", EMU_FAULT_DROP},
             {"pending", EMU_FAULT_PENDING},
             {"failed", EMU_FAULT_FAILED},
             {"expire_token", EMU_FAULT_EXPIRE_TOKEN},
             {NULL, EMU_FAULT_NONE}};

emu_faults_t *emu_faults_new(uint64_t seed)
{
    emu_faults_t *faults = calloc(1, sizeof(*faults));

    if (faults == NULL) {
        return NULL;
    }
    pthread_mutex_init(&faults->mu, NULL);
    /* xorshift64 must never hold 0 */
    faults->rng = seed != 0 ? seed : 0x9E3779B97F4A7C15ull;
    return faults;
}

void emu_faults_destroy(emu_faults_t *faults)
{
    if (faults == NULL) {
        return;
    }
    pthread_mutex_destroy(&faults->mu);
    free(faults);
}

/* xorshift64 (Marsaglia 2003), uniform in [0, 1). Caller holds mu. */
static double next_uniform(emu_faults_t *faults)
{
    uint64_t x = faults->rng;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    faults->rng = x;
    return (double)(x >> 11) / 9007199254740992.0;
}

int emu_faults_endpoint_matches(const char *pattern, const char *endpoint)
{
    size_t plen = strlen(pattern);

    if (strcmp(pattern, "*") == 0) {
        return 1;
    }
    if (plen >= 2 && strcmp(pattern + plen - 2, ".*") == 0) {
        return strncmp(pattern, endpoint, plen - 1) == 0;
    }
    return strcmp(pattern, endpoint) == 0;
}

static int known_endpoint(const char *name)
{
    size_t i;

    for (i = 0; ENDPOINTS[i] != NULL; i++) {
        if (strcmp(ENDPOINTS[i], name) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Reads an optional non-negative number field; returns 0 or -1 when mistyped. */
static int opt_number(const json_t *rule, const char *key, double *out)
{
    const json_t *v = json_object_get(rule, key);

    if (v == NULL || json_is_null(v)) {
        return 0;
    }
    if (!json_is_number(v) || json_number_value(v) < 0) {
        return -1;
    }
    *out = json_number_value(v);
    return 0;
}

/* Fills r from the JSON rule, checking every field. Returns 0 or -1 with errbuf. */
static int parse_rule(const json_t *rule, rule_t *r, char *errbuf, size_t errlen)
{
    const char *endpoint = json_string_value(json_object_get(rule, "endpoint"));
    const char *kind = json_string_value(json_object_get(rule, "kind"));
    const char *error_class = json_string_value(json_object_get(rule, "error_class"));
    const char *error_code = json_string_value(json_object_get(rule, "error_code"));
    const json_t *statement = json_object_get(rule, "statement");
    double count = -1, rate = 1, retry_after = 0, seconds = 0;
    size_t i;

    memset(r, 0, sizeof(*r));
    if (endpoint == NULL) {
        endpoint = "*";
    }
    if (!known_endpoint(endpoint)) {
        snprintf(errbuf, errlen, "unknown endpoint \"%s\"", endpoint);
        return -1;
    }
    for (i = 0; kind != NULL && KINDS[i].name != NULL; i++) {
        if (strcmp(KINDS[i].name, kind) == 0) {
            break;
        }
    }
    if (kind == NULL || KINDS[i].name == NULL) {
        snprintf(errbuf, errlen, "missing or unknown kind \"%s\"", kind ? kind : "");
        return -1;
    }
    if (opt_number(rule, "count", &count) < 0 || opt_number(rule, "rate", &rate) < 0 ||
        opt_number(rule, "retry_after", &retry_after) < 0 ||
        opt_number(rule, "seconds", &seconds) < 0 || rate > 1) {
        snprintf(errbuf, errlen,
                 "count, rate (0..1), retry_after and seconds must be "
                 "non-negative numbers");
        return -1;
    }
    if (statement && (!json_is_string(statement) || json_string_length(statement) == 0 ||
                      json_string_length(statement) >= sizeof(r->statement) ||
                      strcmp(endpoint, "statements.submit") != 0 ||
                      (KINDS[i].kind != EMU_FAULT_FAILED && KINDS[i].kind != EMU_FAULT_PENDING))) {
        snprintf(errbuf, errlen,
                 "statement (a statement kind such as \"COPY INTO\", under %zu characters) "
                 "applies only to endpoint statements.submit with kind failed or pending",
                 sizeof(r->statement));
        return -1;
    }
    snprintf(r->statement, sizeof(r->statement), "%s",
             statement ? json_string_value(statement) : "");
    snprintf(r->endpoint, sizeof(r->endpoint), "%s", endpoint);
    r->hit.kind = KINDS[i].kind;
    snprintf(r->hit.kind_name, sizeof(r->hit.kind_name), "%s", kind);
    r->hit.retry_after = (int)retry_after;
    r->hit.seconds = seconds;
    snprintf(r->hit.error_class, sizeof(r->hit.error_class), "%s",
             error_class ? error_class : "INTERNAL_ERROR");
    snprintf(r->hit.error_code, sizeof(r->hit.error_code), "%s",
             error_code ? error_code : "BAD_REQUEST");
    r->remaining = json_object_get(rule, "count") ? (long)count : -1;
    r->rate = rate;
    return 0;
}

int emu_faults_add(emu_faults_t *faults, const json_t *rule, char *errbuf, size_t errlen)
{
    rule_t r;
    char dummy[8];
    int rc = -1;

    if (errbuf == NULL) {
        errbuf = dummy;
        errlen = sizeof(dummy);
    }
    if (!json_is_object(rule)) {
        snprintf(errbuf, errlen, "a fault must be a JSON object");
        return -1;
    }
    if (parse_rule(rule, &r, errbuf, errlen) < 0) {
        return -1;
    }
    pthread_mutex_lock(&faults->mu);
    if (faults->n == MAX_RULES) {
        snprintf(errbuf, errlen, "at most %d faults", MAX_RULES);
        goto out;
    }
    faults->rules[faults->n++] = r;
    rc = 0;
out:
    pthread_mutex_unlock(&faults->mu);
    return rc;
}

int emu_faults_add_json(emu_faults_t *faults, const char *json, char *errbuf, size_t errlen)
{
    json_error_t jerr;
    json_t *rule = json_loads(json, 0, &jerr);
    int rc;

    if (rule == NULL) {
        if (errbuf != NULL) {
            snprintf(errbuf, errlen, "invalid JSON: %s", jerr.text);
        }
        return -1;
    }
    rc = emu_faults_add(faults, rule, errbuf, errlen);
    json_decref(rule);
    return rc;
}

void emu_faults_clear(emu_faults_t *faults)
{
    pthread_mutex_lock(&faults->mu);
    faults->n = 0;
    pthread_mutex_unlock(&faults->mu);
}

static json_t *rule_to_json(const rule_t *r)
{
    json_t *o = json_pack("{s:s, s:s, s:f, s:I}", "endpoint", r->endpoint, "kind", r->hit.kind_name,
                          "rate", r->rate, "fired", (json_int_t)r->fired);

    if (o == NULL) {
        return NULL;
    }
    json_object_set_new(o, "remaining",
                        r->remaining < 0 ? json_null() : json_integer(r->remaining));
    if (r->statement[0] != '\0') {
        json_object_set_new(o, "statement", json_string(r->statement));
    }
    if (r->hit.retry_after > 0) {
        json_object_set_new(o, "retry_after", json_integer(r->hit.retry_after));
    }
    if (r->hit.kind == EMU_FAULT_PENDING) {
        json_object_set_new(o, "seconds", json_real(r->hit.seconds));
    }
    if (r->hit.kind == EMU_FAULT_FAILED) {
        json_object_set_new(o, "error_class", json_string(r->hit.error_class));
        json_object_set_new(o, "error_code", json_string(r->hit.error_code));
    }
    return o;
}

json_t *emu_faults_list(emu_faults_t *faults)
{
    json_t *arr = json_array();
    size_t i;

    if (arr == NULL) {
        return NULL;
    }
    pthread_mutex_lock(&faults->mu);
    for (i = 0; i < faults->n; i++) {
        json_array_append_new(arr, rule_to_json(&faults->rules[i]));
    }
    pthread_mutex_unlock(&faults->mu);
    return json_pack("{s:o}", "faults", arr);
}

/* Whether a rule of this kind can act on this endpoint at all. */
static int kind_applies(emu_fault_kind_t kind, const char *endpoint)
{
    if (kind == EMU_FAULT_PENDING || kind == EMU_FAULT_FAILED) {
        return strcmp(endpoint, "statements.submit") == 0;
    }
    if (kind == EMU_FAULT_EXPIRE_TOKEN) {
        return strcmp(endpoint, "oauth.token") != 0;
    }
    return 1;
}

/* The first rule for endpoint that fires: without statement, the rules that
 * name no statement kind; with one, only those naming it. */
static int match(emu_faults_t *faults, const char *endpoint, const char *statement,
                 emu_fault_hit_t *hit)
{
    size_t i;
    int fired = 0;

    memset(hit, 0, sizeof(*hit));
    pthread_mutex_lock(&faults->mu);
    for (i = 0; i < faults->n && !fired; i++) {
        rule_t *r = &faults->rules[i];

        if (r->remaining == 0 || !emu_faults_endpoint_matches(r->endpoint, endpoint) ||
            !kind_applies(r->hit.kind, endpoint) ||
            (statement ? strcmp(r->statement, statement) != 0 : r->statement[0] != '\0')) {
            continue;
        }
        /* rate 1 never draws, so rules without a rate do not move the PRNG */
        if (r->rate < 1 && next_uniform(faults) >= r->rate) {
            continue;
        }
        if (r->remaining > 0) {
            r->remaining--;
        }
        r->fired++;
        *hit = r->hit;
        fired = 1;
    }
    pthread_mutex_unlock(&faults->mu);
    return fired;
}

int emu_faults_match(emu_faults_t *faults, const char *endpoint, emu_fault_hit_t *hit)
{
    return match(faults, endpoint, NULL, hit);
}

int emu_faults_match_statement(emu_faults_t *faults, const char *statement, emu_fault_hit_t *hit)
{
    return match(faults, "statements.submit", statement, hit);
}
