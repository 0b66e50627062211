/*
 * store: the fake registry's state: schemas by global id, subjects with their
 * versions, and the BACKWARD compatibility check (see store.h).
 *
 * Invariant: a schema text that is already registered (compared as parsed
 * JSON, so key order and spacing do not matter) always gets its first id
 * back, in every subject, as Confluent's registry does.
 */
#include "store.h"

#include "codec/resolve.h"
#include "codec/schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SCHEMAS  10000
#define MAX_SUBJECTS 1000
#define MAX_VERSIONS 1000

typedef struct stored {
    long id;
    char *text;   /* as registered (owned) */
    json_t *json; /* parsed, for equality (owned) */
} stored_t;

typedef struct subject {
    char *name;
    long *ids; /* version v is ids[v - 1] */
    size_t n;
} subject_t;

struct sr_store {
    pthread_mutex_t lock;
    stored_t *schemas;
    size_t nschemas;
    subject_t *subjects;
    size_t nsubjects;
    long next_id;
};

sr_store_t *sr_store_new(long first_id)
{
    sr_store_t *st = calloc(1, sizeof(*st));

    if (st == NULL) {
        return NULL;
    }
    pthread_mutex_init(&st->lock, NULL);
    st->next_id = first_id > 0 ? first_id : 1;
    st->schemas = calloc(MAX_SCHEMAS, sizeof(*st->schemas));
    st->subjects = calloc(MAX_SUBJECTS, sizeof(*st->subjects));
    if (st->schemas == NULL || st->subjects == NULL) {
        sr_store_destroy(st);
        return NULL;
    }
    return st;
}

void sr_store_destroy(sr_store_t *st)
{
    if (st == NULL) {
        return;
    }
    for (size_t i = 0; i < st->nschemas; i++) {
        free(st->schemas[i].text);
        json_decref(st->schemas[i].json);
    }
    for (size_t i = 0; i < st->nsubjects; i++) {
        free(st->subjects[i].name);
        free(st->subjects[i].ids);
    }
    free(st->schemas);
    free(st->subjects);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

/* ------------------------------------------------------------------------- */
/* Lookups (lock held)                                                       */
/* ------------------------------------------------------------------------- */

static stored_t *by_id(sr_store_t *st, long id)
{
    for (size_t i = 0; i < st->nschemas; i++) {
        if (st->schemas[i].id == id) {
            return &st->schemas[i];
        }
    }
    return NULL;
}

static stored_t *by_json(sr_store_t *st, const json_t *json)
{
    for (size_t i = 0; i < st->nschemas; i++) {
        if (json_equal(st->schemas[i].json, json)) {
            return &st->schemas[i];
        }
    }
    return NULL;
}

static subject_t *by_subject(sr_store_t *st, const char *name)
{
    for (size_t i = 0; i < st->nsubjects; i++) {
        if (strcmp(st->subjects[i].name, name) == 0) {
            return &st->subjects[i];
        }
    }
    return NULL;
}

static json_t *version_json(const subject_t *sub, size_t v, const stored_t *s)
{
    return json_pack("{s:s, s:I, s:I, s:s}", "subject", sub->name, "version", (json_int_t)v, "id",
                     (json_int_t)s->id, "schema", s->text);
}

/* The version (1-based) of id in sub, or 0. */
static size_t version_of(const subject_t *sub, long id)
{
    for (size_t v = 0; v < sub->n; v++) {
        if (sub->ids[v] == id) {
            return v + 1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Operations                                                                */
/* ------------------------------------------------------------------------- */

/* Parses a schema text as JSON; a bare name ("string") is JSON too once
 * quoted, which Confluent accepts, but the worker only reads records. */
static json_t *parse_schema(const char *text, sr_error_t *e)
{
    json_error_t jerr;
    json_t *json = json_loads(text, JSON_DECODE_ANY, &jerr);

    if (json == NULL) {
        e->status = 422;
        e->code = 42201;
        snprintf(e->message, sizeof(e->message), "Invalid schema: %s", jerr.text);
    }
    return json;
}

long sr_store_register(sr_store_t *st, const char *subject, const char *text, sr_error_t *e)
{
    json_t *json = parse_schema(text, e);
    stored_t *s;
    subject_t *sub;
    long id = -1;

    if (json == NULL) {
        return -1;
    }
    pthread_mutex_lock(&st->lock);
    s = by_json(st, json);
    if (s == NULL) {
        if (st->nschemas == MAX_SCHEMAS) {
            e->status = 500;
            e->code = 50001;
            snprintf(e->message, sizeof(e->message), "Too many schemas");
            goto out;
        }
        s = &st->schemas[st->nschemas++];
        s->id = st->next_id++;
        s->text = strdup(text);
        s->json = json_incref(json);
    }
    sub = by_subject(st, subject);
    if (sub == NULL) {
        if (st->nsubjects == MAX_SUBJECTS) {
            e->status = 500;
            e->code = 50001;
            snprintf(e->message, sizeof(e->message), "Too many subjects");
            goto out;
        }
        sub = &st->subjects[st->nsubjects++];
        sub->name = strdup(subject);
        sub->ids = calloc(MAX_VERSIONS, sizeof(long));
    }
    if (version_of(sub, s->id) == 0) {
        if (sub->n == MAX_VERSIONS) {
            e->status = 500;
            e->code = 50001;
            snprintf(e->message, sizeof(e->message), "Too many versions");
            goto out;
        }
        sub->ids[sub->n++] = s->id;
    }
    id = s->id;
out:
    pthread_mutex_unlock(&st->lock);
    json_decref(json);
    return id;
}

json_t *sr_store_schema(sr_store_t *st, long id, sr_error_t *e)
{
    json_t *out = NULL;
    stored_t *s;

    pthread_mutex_lock(&st->lock);
    s = by_id(st, id);
    if (s != NULL) {
        out = json_pack("{s:s}", "schema", s->text);
    } else {
        e->status = 404;
        e->code = 40403;
        snprintf(e->message, sizeof(e->message), "Schema %ld not found", id);
    }
    pthread_mutex_unlock(&st->lock);
    return out;
}

static void subject_missing(sr_error_t *e, const char *subject)
{
    e->status = 404;
    e->code = 40401;
    snprintf(e->message, sizeof(e->message), "Subject '%.200s' not found.", subject);
}

json_t *sr_store_version(sr_store_t *st, const char *subject, long version, sr_error_t *e)
{
    json_t *out = NULL;
    subject_t *sub;

    pthread_mutex_lock(&st->lock);
    sub = by_subject(st, subject);
    if (sub == NULL) {
        subject_missing(e, subject);
    } else if (version == -1 && sub->n > 0) {
        out = version_json(sub, sub->n, by_id(st, sub->ids[sub->n - 1]));
    } else if (version >= 1 && (size_t)version <= sub->n) {
        out = version_json(sub, (size_t)version, by_id(st, sub->ids[version - 1]));
    } else {
        e->status = 404;
        e->code = 40402;
        snprintf(e->message, sizeof(e->message), "Version %ld not found.", version);
    }
    pthread_mutex_unlock(&st->lock);
    return out;
}

json_t *sr_store_versions(sr_store_t *st, const char *subject, sr_error_t *e)
{
    json_t *out = NULL;
    subject_t *sub;

    pthread_mutex_lock(&st->lock);
    sub = by_subject(st, subject);
    if (sub == NULL) {
        subject_missing(e, subject);
    } else {
        out = json_array();
        for (size_t v = 1; v <= sub->n; v++) {
            json_array_append_new(out, json_integer((json_int_t)v));
        }
    }
    pthread_mutex_unlock(&st->lock);
    return out;
}

json_t *sr_store_subjects(sr_store_t *st)
{
    json_t *out = json_array();

    pthread_mutex_lock(&st->lock);
    for (size_t i = 0; i < st->nsubjects; i++) {
        json_array_append_new(out, json_string(st->subjects[i].name));
    }
    pthread_mutex_unlock(&st->lock);
    return out;
}

json_t *sr_store_lookup(sr_store_t *st, const char *subject, const char *text, sr_error_t *e)
{
    json_t *json = parse_schema(text, e), *out = NULL;
    subject_t *sub;
    stored_t *s;
    size_t v;

    if (json == NULL) {
        return NULL;
    }
    pthread_mutex_lock(&st->lock);
    sub = by_subject(st, subject);
    s = by_json(st, json);
    if (sub == NULL) {
        subject_missing(e, subject);
    } else if (s == NULL || (v = version_of(sub, s->id)) == 0) {
        e->status = 404;
        e->code = 40403;
        snprintf(e->message, sizeof(e->message), "Schema not found");
    } else {
        out = version_json(sub, v, s);
    }
    pthread_mutex_unlock(&st->lock);
    json_decref(json);
    return out;
}

/* BACKWARD: the new schema, as reader, can read data written with the latest
 * version. Decided by deltaport's own resolver (src/codec/resolve.c), the code the
 * worker reads with, so the fake and the worker cannot disagree. */
json_t *sr_store_compatible(sr_store_t *st, const char *subject, const char *text, sr_error_t *e)
{
    dp_schema_t *reader = NULL, *writer = NULL;
    dp_resolver_t *res = NULL;
    dp_err_t err;
    subject_t *sub;
    char why[512] = "", *latest = NULL;
    json_t *out = NULL;

    pthread_mutex_lock(&st->lock);
    sub = by_subject(st, subject);
    if (sub != NULL && sub->n > 0) {
        latest = strdup(by_id(st, sub->ids[sub->n - 1])->text);
    }
    pthread_mutex_unlock(&st->lock);
    if (latest == NULL) {
        subject_missing(e, subject);
        return NULL;
    }
    reader = dp_schema_parse(text, strlen(text), &err);
    writer = dp_schema_parse(latest, strlen(latest), &err);
    if (reader == NULL || writer == NULL) {
        e->status = 422;
        e->code = 42201;
        snprintf(e->message, sizeof(e->message), "Invalid schema: %s", err.msg);
        goto out;
    }
    res = dp_resolver_new(writer, reader, why, sizeof(why));
    out = json_pack("{s:b}", "is_compatible", res != NULL);
    if (res == NULL) {
        json_object_set_new(out, "messages", json_pack("[s]", why));
    }
out:
    dp_resolver_destroy(res);
    dp_schema_destroy(reader);
    dp_schema_destroy(writer);
    free(latest);
    return out;
}
