/*
 * schema: Avro schema JSON -> a compiled, immutable "field program" that the
 * codec modules (avro_walk, json_event, decode) interpret.
 *
 * avro-c 1.11.1 drops logicalType and default when it parses a schema
 * (docs/PLATFORM.md, "Schemas"), so schemas are parsed here with jansson and keep
 * both. A compiled schema is a flat array of nodes; node 0 is the root. Named
 * types referenced again (or recursively) point at the node that defined
 * them. Once compiled a schema is read-only and may be shared by any number
 * of threads.
 *
 * This header also holds the vocabulary of data errors (dp_reject_t): the
 * stable codes ("TRUNCATED", "BAD_CURRENCY", ...) that a rejected event
 * carries into event_errors, with the field path ("$.attribution.channel").
 */
#ifndef DP_SCHEMA_H
#define DP_SCHEMA_H

#include "core/err.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ */
/* Data errors                                                          */
/* ------------------------------------------------------------------ */

/* Stable codes of rejected events; the names (dp_reject_name) are part of the
 * data contract (docs/EVENTS.md) and never change meaning. */
typedef enum {
    DP_REJ_NONE = 0,
    DP_REJ_FRAMING,             /* neither 0x00 frame, topic schema nor '{' */
    DP_REJ_UNKNOWN_SCHEMA_ID,   /* Confluent schema id not loaded */
    DP_REJ_INCOMPATIBLE_SCHEMA, /* writer schema cannot be read as canonical */
    DP_REJ_TRUNCATED,           /* body ends inside a value */
    DP_REJ_TRAILING_BYTES,      /* bytes left after the record */
    DP_REJ_BAD_LENGTH,          /* negative or impossible length or count */
    DP_REJ_BAD_VARINT,          /* varint longer than 10 bytes or int overflow */
    DP_REJ_BAD_UNION_BRANCH,    /* union index out of range */
    DP_REJ_BAD_UTF8,            /* string is not valid UTF-8 */
    DP_REJ_MISSING_FIELD,       /* required field absent or null */
    DP_REJ_UNKNOWN_FIELD,       /* JSON field the schema cannot hold */
    DP_REJ_BAD_TYPE,            /* value of the wrong type or out of range */
    DP_REJ_BAD_EVENT_ID,        /* empty or longer than 256 bytes */
    DP_REJ_BAD_EVENT_NAME,      /* not snake_case or longer than 100 */
    DP_REJ_BAD_MERCHANT_ID,     /* empty or longer than 256 bytes */
    DP_REJ_BAD_CURRENCY,        /* not an ISO 4217 code */
    DP_REJ_BAD_DECIMAL,         /* not a decimal(18,4) */
    DP_REJ_BAD_TIMESTAMP,       /* unparsable or outside 2000..2100 */
    DP_REJ_BAD_JSON,            /* not a JSON object */
    DP_REJ_TOO_LARGE,           /* message, output or nesting over a limit */
    DP_REJ_COUNT_
} dp_reject_code_t;

#define DP_REJECT_PATH_MAX   128
#define DP_REJECT_REASON_MAX 256

typedef struct dp_reject {
    dp_reject_code_t code;
    char path[DP_REJECT_PATH_MAX];     /* "$.context.ip", "$" for the whole message */
    char reason[DP_REJECT_REASON_MAX]; /* readable, never contains payload bytes */
} dp_reject_t;

/* Returns the stable name of a code ("BAD_CURRENCY"); borrowed, static. */
const char *dp_reject_name(dp_reject_code_t code);

/* Fills rej (may be NULL) and returns DP_EINVAL. Thread: any. */
int dp_reject_set(dp_reject_t *rej, dp_reject_code_t code, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ------------------------------------------------------------------ */
/* Compiled schema                                                      */
/* ------------------------------------------------------------------ */

typedef enum {
    DP_AVRO_NULL = 0,
    DP_AVRO_BOOLEAN,
    DP_AVRO_INT,
    DP_AVRO_LONG,
    DP_AVRO_FLOAT,
    DP_AVRO_DOUBLE,
    DP_AVRO_BYTES,
    DP_AVRO_STRING,
    DP_AVRO_RECORD,
    DP_AVRO_ENUM,
    DP_AVRO_ARRAY,
    DP_AVRO_MAP,
    DP_AVRO_UNION,
    DP_AVRO_FIXED,
} dp_avro_type_t;

typedef enum {
    DP_LT_NONE = 0,
    DP_LT_TIMESTAMP_MICROS, /* long */
    DP_LT_TIMESTAMP_MILLIS, /* long */
    DP_LT_DECIMAL,          /* bytes or fixed, with precision and scale */
    DP_LT_DATE,             /* int */
    DP_LT_UUID,             /* string */
} dp_logical_t;

/* Limits enforced when compiling: they bound the stack of every walker. */
#define DP_SCHEMA_MAX_NODES  4096
#define DP_SCHEMA_MAX_FIELDS 256 /* per record */
#define DP_SCHEMA_MAX_DEPTH  32  /* nesting of values while walking */

typedef struct dp_schema_node {
    uint8_t type;      /* dp_avro_type_t */
    uint8_t logical;   /* dp_logical_t */
    uint8_t precision; /* decimal only */
    uint8_t scale;     /* decimal only */
    uint32_t n;        /* record: fields; union: branches; enum: symbols; fixed: size */
    uint32_t first;    /* record: index in fields[]; union: index in branches[];
                          enum: index in symbols[]; array/map: node of the items */
    uint32_t minsize;  /* fewest bytes any value of this node encodes to */
    const char *name;  /* full name of named types, else NULL (borrowed from the schema) */
} dp_schema_node_t;

typedef struct dp_schema_field {
    const char *name;     /* borrowed from the schema's JSON */
    uint32_t node;        /* type of the field */
    const json_t *defval; /* default value, NULL when the field has none */
} dp_schema_field_t;

/* The compiled program. All members are read-only after dp_schema_parse. */
typedef struct dp_schema {
    dp_schema_node_t *nodes;
    size_t nnodes;
    dp_schema_field_t *fields;
    size_t nfields;
    uint32_t *branches; /* union branch node indices */
    size_t nbranches;
    const char **symbols; /* enum symbols, borrowed from json */
    size_t nsymbols;
    json_t *json; /* owned: the parsed schema text (names, defaults) */
    char **names; /* owned full names of named types */
    size_t nnames;
} dp_schema_t;

/* Parses and compiles a schema from JSON text (len bytes, need not be NUL
 * terminated). Returns new (free with dp_schema_destroy) or NULL with err set
 * (DP_EINVAL: bad JSON, unknown type name, over a limit). Thread: any. */
dp_schema_t *dp_schema_parse(const char *json_text, size_t len, dp_err_t *err);

/* Reads a file and parses it. Returns new or NULL (DP_EIO, DP_EINVAL). */
dp_schema_t *dp_schema_load_file(const char *path, dp_err_t *err);

/* Frees a schema; NULL is a no-op. */
void dp_schema_destroy(dp_schema_t *schema);

/* Returns the field index (relative to the record's first field) of `name`
 * in record node `rec`, or -1. */
int dp_schema_field_index(const dp_schema_t *schema, uint32_t rec, const char *name);

/* Returns the record field entry i of node rec (borrowed). */
static inline const dp_schema_field_t *dp_schema_field(const dp_schema_t *schema, uint32_t rec,
                                                       uint32_t i)
{
    return &schema->fields[schema->nodes[rec].first + i];
}

/* For a union ["null", T] (either order) returns the node of T and sets
 * *null_branch / *value_branch; returns -1 for any other node. */
int dp_schema_nullable(const dp_schema_t *schema, uint32_t node, int *null_branch,
                       int *value_branch);

/* 1 when nodes a (of schema sa) and b (of sb) encode the same binary values
 * with the same field names and logical types (record names, docs and
 * defaults are ignored), else 0. */
int dp_schema_equal(const dp_schema_t *sa, uint32_t a, const dp_schema_t *sb, uint32_t b);

/* Name of a type ("string", "record", ...); borrowed, static. */
const char *dp_avro_type_name(dp_avro_type_t type);

#endif
