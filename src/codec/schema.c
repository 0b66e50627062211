/*
 * schema: compiles Avro schema JSON (jansson) into the flat node program
 * described in schema.h, keeping logicalType and default that avro-c drops.
 *
 * Invariants of a compiled schema: node 0 is the root; the fields of a record
 * and the branches of a union are contiguous; named types are defined once
 * and referenced by node index (so a recursive type is a cycle in the graph,
 * which every walker bounds with DP_SCHEMA_MAX_DEPTH).
 */
#include "codec/schema.h"

#include "core/buf.h"

#include "core/mem.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Data errors                                                          */
/* ------------------------------------------------------------------ */

static const char *const reject_names[DP_REJ_COUNT_] = {
    [DP_REJ_NONE] = "OK",
    [DP_REJ_FRAMING] = "FRAMING",
    [DP_REJ_UNKNOWN_SCHEMA_ID] = "UNKNOWN_SCHEMA_ID",
    [DP_REJ_INCOMPATIBLE_SCHEMA] = "INCOMPATIBLE_SCHEMA",
    [DP_REJ_TRUNCATED] = "TRUNCATED",
    [DP_REJ_TRAILING_BYTES] = "TRAILING_BYTES",
    [DP_REJ_BAD_LENGTH] = "BAD_LENGTH",
    [DP_REJ_BAD_VARINT] = "BAD_VARINT",
    [DP_REJ_BAD_UNION_BRANCH] = "BAD_UNION_BRANCH",
    [DP_REJ_BAD_UTF8] = "BAD_UTF8",
    [DP_REJ_MISSING_FIELD] = "MISSING_FIELD",
    [DP_REJ_UNKNOWN_FIELD] = "UNKNOWN_FIELD",
    [DP_REJ_BAD_TYPE] = "BAD_TYPE",
    [DP_REJ_BAD_EVENT_ID] = "BAD_EVENT_ID",
    [DP_REJ_BAD_EVENT_NAME] = "BAD_EVENT_NAME",
    [DP_REJ_BAD_MERCHANT_ID] = "BAD_MERCHANT_ID",
    [DP_REJ_BAD_CURRENCY] = "BAD_CURRENCY",
    [DP_REJ_BAD_DECIMAL] = "BAD_DECIMAL",
    [DP_REJ_BAD_TIMESTAMP] = "BAD_TIMESTAMP",
    [DP_REJ_BAD_JSON] = "BAD_JSON",
    [DP_REJ_TOO_LARGE] = "TOO_LARGE",
};

const char *dp_reject_name(dp_reject_code_t code)
{
    if ((unsigned)code >= DP_REJ_COUNT_)
        return "UNKNOWN";
    return reject_names[code];
}

int dp_reject_set(dp_reject_t *rej, dp_reject_code_t code, const char *path, const char *fmt, ...)
{
    va_list ap;

    if (!rej)
        return DP_EINVAL;
    rej->code = code;
    snprintf(rej->path, sizeof(rej->path), "%s", path ? path : "$");
    va_start(ap, fmt);
    vsnprintf(rej->reason, sizeof(rej->reason), fmt, ap);
    va_end(ap);
    return DP_EINVAL;
}

/* ------------------------------------------------------------------ */
/* Compiler                                                             */
/* ------------------------------------------------------------------ */

typedef struct named {
    const char *fullname; /* borrowed from schema->names */
    uint32_t node;
} named_t;

typedef struct parser {
    dp_schema_t *schema;
    size_t cap_nodes, cap_fields, cap_branches, cap_symbols, cap_names;
    named_t *named;
    size_t nnamed, cap_named;
    int depth;
    dp_err_t *err;
} parser_t;

static const char *const type_names[] = {"null",   "boolean", "int",    "long",   "float",
                                         "double", "bytes",   "string", "record", "enum",
                                         "array",  "map",     "union",  "fixed"};

const char *dp_avro_type_name(dp_avro_type_t type)
{
    if ((unsigned)type >= sizeof(type_names) / sizeof(type_names[0]))
        return "?";
    return type_names[type];
}

static int primitive_type(const char *name)
{
    int t;

    for (t = DP_AVRO_NULL; t <= DP_AVRO_STRING; t++) {
        if (strcmp(name, type_names[t]) == 0)
            return t;
    }
    return -1;
}

static void *grow(void *arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return arr;
    while (*cap < need)
        *cap = *cap ? *cap * 2 : 16;
    return dp_realloc(arr, *cap * elem);
}

static int new_node(parser_t *p, dp_avro_type_t type, uint32_t *out)
{
    dp_schema_t *s = p->schema;

    if (s->nnodes >= DP_SCHEMA_MAX_NODES)
        return dp_err_set(p->err, DP_EINVAL, 0, "schema has more than %d types",
                          DP_SCHEMA_MAX_NODES);
    s->nodes = grow(s->nodes, &p->cap_nodes, s->nnodes + 1, sizeof(*s->nodes));
    memset(&s->nodes[s->nnodes], 0, sizeof(s->nodes[0]));
    s->nodes[s->nnodes].type = (uint8_t)type;
    *out = (uint32_t)s->nnodes++;
    return 0;
}

static const char *ns_of(const char *fullname, char *buf, size_t len)
{
    const char *dot = strrchr(fullname, '.');

    if (!dot)
        return NULL;
    snprintf(buf, len, "%.*s", (int)(dot - fullname), fullname);
    return buf;
}

static int lookup_named(parser_t *p, const char *name, const char *ns, uint32_t *out)
{
    char full[512];
    size_t i;

    snprintf(full, sizeof(full), "%s%s%s", ns && !strchr(name, '.') ? ns : "",
             ns && !strchr(name, '.') ? "." : "", name);
    for (i = 0; i < p->nnamed; i++) {
        if (strcmp(p->named[i].fullname, full) == 0 || strcmp(p->named[i].fullname, name) == 0) {
            *out = p->named[i].node;
            return 0;
        }
    }
    return dp_err_set(p->err, DP_EINVAL, 0, "unknown type name '%s'", name);
}

/* Registers the named type defined by object j at node; sets *fullname. */
static int register_named(parser_t *p, const json_t *j, const char *ns, uint32_t node,
                          const char **fullname)
{
    const char *name = json_string_value(json_object_get(j, "name"));
    const char *own_ns = json_string_value(json_object_get(j, "namespace"));
    dp_schema_t *s = p->schema;
    char full[512];
    size_t i;

    if (!name || !*name)
        return dp_err_set(p->err, DP_EINVAL, 0, "named type without a name");
    if (own_ns && *own_ns)
        ns = own_ns;
    snprintf(full, sizeof(full), "%s%s%s", ns && !strchr(name, '.') ? ns : "",
             ns && !strchr(name, '.') ? "." : "", name);
    for (i = 0; i < p->nnamed; i++) {
        if (strcmp(p->named[i].fullname, full) == 0)
            return dp_err_set(p->err, DP_EINVAL, 0, "type '%s' defined twice", full);
    }
    s->names = grow(s->names, &p->cap_names, s->nnames + 1, sizeof(*s->names));
    s->names[s->nnames] = dp_strdup(full);
    p->named = grow(p->named, &p->cap_named, p->nnamed + 1, sizeof(*p->named));
    p->named[p->nnamed].fullname = s->names[s->nnames];
    p->named[p->nnamed++].node = node;
    *fullname = s->names[s->nnames++];
    s->nodes[node].name = *fullname;
    return 0;
}

static int compile(parser_t *p, const json_t *j, const char *ns, uint32_t *out);

static int compile_union(parser_t *p, const json_t *j, const char *ns, uint32_t *out)
{
    dp_schema_t *s = p->schema;
    size_t i, n = json_array_size(j);
    uint32_t node, first, child;
    int rc;

    if (n == 0)
        return dp_err_set(p->err, DP_EINVAL, 0, "empty union");
    if ((rc = new_node(p, DP_AVRO_UNION, &node)) < 0)
        return rc;
    first = (uint32_t)s->nbranches;
    s->branches = grow(s->branches, &p->cap_branches, s->nbranches + n, sizeof(*s->branches));
    s->nbranches += n;
    s->nodes[node].n = (uint32_t)n;
    s->nodes[node].first = first;
    for (i = 0; i < n; i++) {
        if ((rc = compile(p, json_array_get(j, i), ns, &child)) < 0)
            return rc;
        if (s->nodes[child].type == DP_AVRO_UNION)
            return dp_err_set(p->err, DP_EINVAL, 0, "union directly inside a union");
        s->branches[first + i] = child;
    }
    *out = node;
    return 0;
}

static int compile_record(parser_t *p, const json_t *j, const char *ns, uint32_t node)
{
    const json_t *fields = json_object_get(j, "fields");
    dp_schema_t *s = p->schema;
    char nsbuf[512];
    const char *fullname;
    size_t i, k, n;
    uint32_t first, child;
    int rc;

    if ((rc = register_named(p, j, ns, node, &fullname)) < 0)
        return rc;
    if (!json_is_array(fields))
        return dp_err_set(p->err, DP_EINVAL, 0, "record '%s' without a fields array", fullname);
    n = json_array_size(fields);
    if (n > DP_SCHEMA_MAX_FIELDS)
        return dp_err_set(p->err, DP_EINVAL, 0, "record '%s' has more than %d fields", fullname,
                          DP_SCHEMA_MAX_FIELDS);
    ns = ns_of(fullname, nsbuf, sizeof(nsbuf));
    first = (uint32_t)s->nfields;
    s->fields = grow(s->fields, &p->cap_fields, s->nfields + n, sizeof(*s->fields));
    if (n > 0) /* a record without fields: s->fields may still be NULL */
        memset(&s->fields[first], 0, n * sizeof(s->fields[0]));
    s->nfields += n;
    s->nodes[node].n = (uint32_t)n;
    s->nodes[node].first = first;
    for (i = 0; i < n; i++) {
        const json_t *f = json_array_get(fields, i);
        const char *fname = json_string_value(json_object_get(f, "name"));

        if (!fname || !*fname)
            return dp_err_set(p->err, DP_EINVAL, 0, "field %zu of '%s' has no name", i, fullname);
        for (k = 0; k < i; k++) {
            if (strcmp(s->fields[first + k].name, fname) == 0)
                return dp_err_set(p->err, DP_EINVAL, 0, "field '%s' twice in '%s'", fname,
                                  fullname);
        }
        s->fields[first + i].name = fname;
        s->fields[first + i].defval = json_object_get(f, "default");
        if ((rc = compile(p, json_object_get(f, "type"), ns, &child)) < 0) {
            dp_err_prefix(p->err, "field '%s': ", fname);
            return rc;
        }
        s->fields[first + i].node = child;
    }
    return 0;
}

static int compile_enum(parser_t *p, const json_t *j, const char *ns, uint32_t node)
{
    const json_t *syms = json_object_get(j, "symbols");
    dp_schema_t *s = p->schema;
    const char *fullname;
    size_t i, n;
    int rc;

    if ((rc = register_named(p, j, ns, node, &fullname)) < 0)
        return rc;
    n = json_array_size(syms);
    if (!json_is_array(syms) || n == 0)
        return dp_err_set(p->err, DP_EINVAL, 0, "enum '%s' without symbols", fullname);
    s->symbols = grow(s->symbols, &p->cap_symbols, s->nsymbols + n, sizeof(*s->symbols));
    s->nodes[node].first = (uint32_t)s->nsymbols;
    s->nodes[node].n = (uint32_t)n;
    for (i = 0; i < n; i++) {
        const char *sym = json_string_value(json_array_get(syms, i));

        if (!sym)
            return dp_err_set(p->err, DP_EINVAL, 0, "enum '%s': symbol %zu not a string", fullname,
                              i);
        s->symbols[s->nsymbols++] = sym;
    }
    return 0;
}

static void apply_logical(dp_schema_node_t *nd, const json_t *j)
{
    const char *lt = json_string_value(json_object_get(j, "logicalType"));
    json_int_t prec = json_integer_value(json_object_get(j, "precision"));
    json_int_t scale = json_integer_value(json_object_get(j, "scale"));

    /* The spec says an invalid logical type is ignored, not an error. */
    if (!lt)
        return;
    if (strcmp(lt, "timestamp-micros") == 0 && nd->type == DP_AVRO_LONG)
        nd->logical = DP_LT_TIMESTAMP_MICROS;
    else if (strcmp(lt, "timestamp-millis") == 0 && nd->type == DP_AVRO_LONG)
        nd->logical = DP_LT_TIMESTAMP_MILLIS;
    else if (strcmp(lt, "date") == 0 && nd->type == DP_AVRO_INT)
        nd->logical = DP_LT_DATE;
    else if (strcmp(lt, "uuid") == 0 && nd->type == DP_AVRO_STRING)
        nd->logical = DP_LT_UUID;
    else if (strcmp(lt, "decimal") == 0 &&
             (nd->type == DP_AVRO_BYTES || nd->type == DP_AVRO_FIXED) && prec >= 1 && prec <= 38 &&
             scale >= 0 && scale <= prec) {
        nd->logical = DP_LT_DECIMAL;
        nd->precision = (uint8_t)prec;
        nd->scale = (uint8_t)scale;
    }
}

static int compile_object(parser_t *p, const json_t *j, const char *ns, uint32_t *out)
{
    const json_t *type = json_object_get(j, "type");
    const char *tname = json_string_value(type);
    dp_schema_t *s = p->schema;
    const char *fullname;
    int prim, rc;

    if (json_is_object(type) || json_is_array(type))
        return compile(p, type, ns, out);
    if (!tname)
        return dp_err_set(p->err, DP_EINVAL, 0, "type object without a \"type\"");
    if ((prim = primitive_type(tname)) >= 0) {
        if ((rc = new_node(p, (dp_avro_type_t)prim, out)) < 0)
            return rc;
        apply_logical(&s->nodes[*out], j);
        return 0;
    }
    if (strcmp(tname, "record") == 0 || strcmp(tname, "error") == 0) {
        if ((rc = new_node(p, DP_AVRO_RECORD, out)) < 0)
            return rc;
        return compile_record(p, j, ns, *out);
    }
    if (strcmp(tname, "enum") == 0) {
        if ((rc = new_node(p, DP_AVRO_ENUM, out)) < 0)
            return rc;
        return compile_enum(p, j, ns, *out);
    }
    if (strcmp(tname, "array") == 0 || strcmp(tname, "map") == 0) {
        uint32_t node, items;
        const json_t *it = json_object_get(j, tname[0] == 'a' ? "items" : "values");

        if ((rc = new_node(p, tname[0] == 'a' ? DP_AVRO_ARRAY : DP_AVRO_MAP, &node)) < 0)
            return rc;
        if ((rc = compile(p, it, ns, &items)) < 0)
            return rc;
        s->nodes[node].first = items;
        *out = node;
        return 0;
    }
    if (strcmp(tname, "fixed") == 0) {
        json_int_t size = json_integer_value(json_object_get(j, "size"));

        if ((rc = new_node(p, DP_AVRO_FIXED, out)) < 0)
            return rc;
        if ((rc = register_named(p, j, ns, *out, &fullname)) < 0)
            return rc;
        if (size < 0 || size > (1 << 20))
            return dp_err_set(p->err, DP_EINVAL, 0, "fixed '%s': bad size", fullname);
        s->nodes[*out].n = (uint32_t)size;
        apply_logical(&s->nodes[*out], j);
        return 0;
    }
    return lookup_named(p, tname, ns, out);
}

static int compile(parser_t *p, const json_t *j, const char *ns, uint32_t *out)
{
    int prim, rc;

    if (++p->depth > 64) {
        rc = dp_err_set(p->err, DP_EINVAL, 0, "schema nested deeper than 64");
    } else if (json_is_string(j)) {
        prim = primitive_type(json_string_value(j));
        rc = prim >= 0 ? new_node(p, (dp_avro_type_t)prim, out)
                       : lookup_named(p, json_string_value(j), ns, out);
    } else if (json_is_array(j)) {
        rc = compile_union(p, j, ns, out);
    } else if (json_is_object(j)) {
        rc = compile_object(p, j, ns, out);
    } else {
        rc = dp_err_set(p->err, DP_EINVAL, 0, "a type must be a string, object or array");
    }
    p->depth--;
    return rc;
}

/* Smallest encoding of a node; a type in progress (recursion) counts 0,
 * which only makes the walker's count bounds more conservative. */
static uint32_t minsize(dp_schema_t *s, uint32_t node, uint8_t *state)
{
    dp_schema_node_t *nd = &s->nodes[node];
    uint64_t sum = 0;
    uint32_t i;

    if (state[node] == 2)
        return nd->minsize;
    if (state[node] == 1)
        return 0;
    state[node] = 1;
    switch (nd->type) {
    case DP_AVRO_NULL:
        sum = 0;
        break;
    case DP_AVRO_FLOAT:
        sum = 4;
        break;
    case DP_AVRO_DOUBLE:
        sum = 8;
        break;
    case DP_AVRO_FIXED:
        sum = nd->n;
        break;
    case DP_AVRO_RECORD:
        for (i = 0; i < nd->n; i++)
            sum += minsize(s, s->fields[nd->first + i].node, state);
        break;
    case DP_AVRO_UNION:
        for (i = 0; i < nd->n; i++)
            minsize(s, s->branches[nd->first + i], state);
        sum = 1;
        break;
    case DP_AVRO_ARRAY:
    case DP_AVRO_MAP:
        minsize(s, nd->first, state);
        sum = 1;
        break;
    default:
        sum = 1;
        break;
    }
    nd->minsize = sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
    state[node] = 2;
    return nd->minsize;
}

dp_schema_t *dp_schema_parse(const char *json_text, size_t len, dp_err_t *err)
{
    parser_t p;
    json_error_t jerr;
    uint8_t *state = NULL;
    uint32_t root;
    size_t i;

    memset(&p, 0, sizeof(p));
    p.err = err;
    p.schema = dp_calloc(1, sizeof(*p.schema));
    p.schema->json = json_loadb(json_text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!p.schema->json) {
        dp_err_set(err, DP_EINVAL, 0, "schema JSON line %d column %d: %s", jerr.line, jerr.column,
                   jerr.text);
        goto fail;
    }
    if (compile(&p, p.schema->json, NULL, &root) < 0)
        goto fail;
    if (p.schema->nodes[0].type != DP_AVRO_RECORD) {
        dp_err_set(err, DP_EINVAL, 0, "top-level type is %s, not a record",
                   dp_avro_type_name(p.schema->nodes[0].type));
        goto fail;
    }
    state = dp_calloc(p.schema->nnodes, 1);
    for (i = 0; i < p.schema->nnodes; i++)
        minsize(p.schema, (uint32_t)i, state);
    free(state);
    free(p.named);
    return p.schema;
fail:
    free(p.named);
    dp_schema_destroy(p.schema);
    return NULL;
}

dp_schema_t *dp_schema_load_file(const char *path, dp_err_t *err)
{
    size_t n;
    char *text = dp_buf_read_file(path, (size_t)1 << 20, &n, err);
    dp_schema_t *schema = NULL;

    if (text && !(schema = dp_schema_parse(text, n, err)))
        dp_err_prefix(err, "%s: ", path);
    free(text);
    return schema;
}

void dp_schema_destroy(dp_schema_t *schema)
{
    size_t i;

    if (!schema)
        return;
    for (i = 0; i < schema->nnames; i++)
        free(schema->names[i]);
    free(schema->names);
    free(schema->nodes);
    free(schema->fields);
    free(schema->branches);
    free(schema->symbols);
    json_decref(schema->json);
    free(schema);
}

/* ------------------------------------------------------------------ */
/* Queries                                                              */
/* ------------------------------------------------------------------ */

int dp_schema_field_index(const dp_schema_t *schema, uint32_t rec, const char *name)
{
    const dp_schema_node_t *nd = &schema->nodes[rec];
    uint32_t i;

    if (nd->type != DP_AVRO_RECORD)
        return -1;
    for (i = 0; i < nd->n; i++) {
        if (strcmp(schema->fields[nd->first + i].name, name) == 0)
            return (int)i;
    }
    return -1;
}

int dp_schema_nullable(const dp_schema_t *schema, uint32_t node, int *null_branch,
                       int *value_branch)
{
    const dp_schema_node_t *nd = &schema->nodes[node];
    uint32_t b0, b1;

    if (nd->type != DP_AVRO_UNION || nd->n != 2)
        return -1;
    b0 = schema->branches[nd->first];
    b1 = schema->branches[nd->first + 1];
    if (schema->nodes[b0].type == DP_AVRO_NULL && schema->nodes[b1].type != DP_AVRO_NULL) {
        *null_branch = 0;
        *value_branch = 1;
        return (int)b1;
    }
    if (schema->nodes[b1].type == DP_AVRO_NULL && schema->nodes[b0].type != DP_AVRO_NULL) {
        *null_branch = 1;
        *value_branch = 0;
        return (int)b0;
    }
    return -1;
}

static int equal_rec(const dp_schema_t *sa, uint32_t a, const dp_schema_t *sb, uint32_t b,
                     int depth)
{
    const dp_schema_node_t *na = &sa->nodes[a], *nb = &sb->nodes[b];
    uint32_t i;

    if (depth > DP_SCHEMA_MAX_DEPTH)
        return 0; /* recursive types: treat as different (safe: converted, not copied) */
    if (na->type != nb->type || na->logical != nb->logical || na->precision != nb->precision ||
        na->scale != nb->scale)
        return 0;
    switch (na->type) {
    case DP_AVRO_RECORD:
        if (na->n != nb->n)
            return 0;
        for (i = 0; i < na->n; i++) {
            const dp_schema_field_t *fa = &sa->fields[na->first + i];
            const dp_schema_field_t *fb = &sb->fields[nb->first + i];

            if (strcmp(fa->name, fb->name) != 0 ||
                !equal_rec(sa, fa->node, sb, fb->node, depth + 1))
                return 0;
        }
        return 1;
    case DP_AVRO_UNION:
        if (na->n != nb->n)
            return 0;
        for (i = 0; i < na->n; i++) {
            if (!equal_rec(sa, sa->branches[na->first + i], sb, sb->branches[nb->first + i],
                           depth + 1))
                return 0;
        }
        return 1;
    case DP_AVRO_ENUM:
        if (na->n != nb->n)
            return 0;
        for (i = 0; i < na->n; i++) {
            if (strcmp(sa->symbols[na->first + i], sb->symbols[nb->first + i]) != 0)
                return 0;
        }
        return 1;
    case DP_AVRO_ARRAY:
    case DP_AVRO_MAP:
        return equal_rec(sa, na->first, sb, nb->first, depth + 1);
    case DP_AVRO_FIXED:
        return na->n == nb->n;
    default:
        return 1;
    }
}

int dp_schema_equal(const dp_schema_t *sa, uint32_t a, const dp_schema_t *sb, uint32_t b)
{
    return equal_rec(sa, a, sb, b, 0);
}
