/*
 * config_int: internals shared by the config_*.c files only (the descriptor
 * table and the helpers that read and write a field through it). Nothing
 * outside the config module includes this header.
 */
#ifndef DP_CONFIG_INT_H
#define DP_CONFIG_INT_H

#include "config/config.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    DP_CT_STRING,  /* char *; non-empty when given */
    DP_CT_INT,     /* int64_t within [min, max] */
    DP_CT_MS,      /* int64_t milliseconds within [min, max] */
    DP_CT_SEC,     /* int64_t seconds within [min, max] */
    DP_CT_BYTES,   /* int64_t; integer or "<n>KiB|MiB|GiB" within [min, max] */
    DP_CT_BOOL,    /* int 0/1 */
    DP_CT_ENUM,    /* int: index into allowed[] */
    DP_CT_STRLIST, /* dp_config_strlist_t; [min, max] items, no duplicates */
    DP_CT_PROPS,   /* dp_config_map_t of librdkafka properties */
    DP_CT_IDMAP,   /* dp_config_map_t: name -> integer within [min, max] */
    DP_CT_ENUMMAP, /* dp_config_map_t: name -> one of allowed[] (num: its index) */
    DP_CT_SECRET,  /* char *; only from env or the "<path>_file" key */
} dp_config_type_t;

#define DP_CF_REQUIRED 0x1u /* must be set by the file or the environment */

struct dp_config_desc;
typedef int (*dp_config_check_fn)(const struct dp_config_desc *desc, const dp_config_t *cfg,
                                  dp_err_t *err);

typedef struct dp_config_desc {
    const char *path; /* "flush.max_events" */
    dp_config_type_t type;
    size_t offset;              /* offsetof(dp_config_t, ...) */
    unsigned flags;             /* DP_CF_* */
    const char *def;            /* default as text (parsed like an env value), or NULL */
    const char *def_doc;        /* default shown in the docs when def is NULL, or NULL */
    int64_t min, max;           /* numeric range, or item count for lists */
    const char *const *allowed; /* DP_CT_ENUM values, NULL-terminated */
    const char *allowed_doc;    /* what `check` accepts, for docs and messages, or NULL */
    const char *env;            /* overriding environment variable, or NULL */
    const char *kafka_property; /* DP_CT_SECRET applied to this librdkafka key */
    dp_config_check_fn check;   /* per-key validator run after parsing, or NULL */
    const char *doc;            /* one line */
} dp_config_desc_t;

/* The table, in documentation order; dp_config_table_len entries. */
extern const dp_config_desc_t dp_config_table[];
extern const size_t dp_config_table_len;

/* A librdkafka property deltaport rejects under kafka.properties, and why. */
typedef struct dp_config_reserved {
    const char *property;
    const char *hint;
} dp_config_reserved_t;

/* NULL-terminated: keys moved to deltaport keys and secret properties. */
extern const dp_config_reserved_t dp_config_reserved_props[];

/* Address of desc's field inside cfg. */
void *dp_config_field(const dp_config_t *cfg, const dp_config_desc_t *desc);

/* Descriptor of an exact path, or NULL. */
const dp_config_desc_t *dp_config_find(const char *path);

/* Why a kafka property is rejected (owned or reserved), or NULL if allowed. */
const char *dp_config_kafka_rejects(const char *property);

/* Sets a scalar field from text (a default or an environment value);
 * `origin` names where the text came from in error messages. Returns 0 or
 * DP_EINVAL. */
int dp_config_set_text(dp_config_t *cfg, const dp_config_desc_t *desc, const char *text,
                       const char *origin, dp_err_t *err);

/* Formats n bytes as "128MiB" when it is an exact multiple, else digits. */
void dp_config_fmt_bytes(int64_t n, char *out, size_t outlen);

/* Human name of a type for docs and errors ("integer", "duration (ms)"). */
const char *dp_config_type_name(dp_config_type_t type);

/* Text of what a key allows ("between 1 and 10000000", "one of a, b"), for
 * error messages and docs. Empty when anything of the type is allowed. */
void dp_config_allowed_text(const dp_config_desc_t *desc, char *out, size_t outlen);

/* Runs desc->check for every key. Returns 0 or the first error. */
int dp_config_check_keys(const dp_config_t *cfg, dp_err_t *err);

/* Loads JSON text into a fresh config (defaults, file, environment,
 * secrets) without finalizing; `name` is used in messages. */
dp_config_t *dp_config_parse(const char *path, dp_err_t *err);

#endif
