/*
 * config: loading the configuration file through the descriptor table
 * (config_table.c). Order of precedence, lowest first: the table's defaults,
 * the JSON file, the environment variables named in the table. Secrets never
 * come from the JSON file: a literal secret key is an error pointing to its
 * environment variable and its `*_file` key.
 *
 * Every error names the key path, the value given (compact JSON, truncated)
 * and what is allowed; JSON syntax errors and duplicate keys are reported as
 * "file:line:column: reason" by jansson (JSON_REJECT_DUPLICATES).
 */
#include "config/config_int.h"
#include "core/mem.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define PATH_MAX_LEN    256
#define SHOW_MAX        80
#define SECRET_FILE_MAX (64 * 1024)

/* ------------------------------------------------------------------------- */
/* Small helpers                                                             */
/* ------------------------------------------------------------------------- */

/* Compact JSON of a value, for messages, truncated to SHOW_MAX bytes. */
static void show_json(const json_t *value, char *out, size_t outlen)
{
    char *text = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);

    snprintf(out, outlen, "%.*s%s", SHOW_MAX, text ? text : "?",
             text && strlen(text) > SHOW_MAX ? "..." : "");
    dp_free_secret(text); /* a kafka property may hold a credential */
}

static int parse_int64(const char *text, int64_t *out)
{
    char *end = NULL;
    long long v;

    errno = 0;
    v = strtoll(text, &end, 10);
    if (errno || end == text || *end) {
        return -1;
    }
    *out = (int64_t)v;
    return 0;
}

/* "<digits>[KiB|MiB|GiB]" -> bytes. */
static int parse_bytes(const char *text, int64_t *out)
{
    static const struct {
        const char *suffix;
        int64_t mult;
    } units[] = {{"", 1}, {"KiB", 1LL << 10}, {"MiB", 1LL << 20}, {"GiB", 1LL << 30}};
    char *end = NULL;
    long long v;

    errno = 0;
    if (text[0] < '0' || text[0] > '9') {
        return -1;
    }
    v = strtoll(text, &end, 10);
    if (errno) {
        return -1;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(end, units[i].suffix) == 0) {
            if (v > INT64_MAX / units[i].mult) {
                return -1;
            }
            *out = (int64_t)v * units[i].mult;
            return 0;
        }
    }
    return -1;
}

/* Zeroes a secret string before it is freed (mem.h). */
static void wipe(char *s)
{
    dp_wipe(s, s ? strlen(s) : 0);
}

static void replace_str(char **slot, const char *value, int secret)
{
    if (secret) {
        wipe(*slot);
    }
    free(*slot);
    *slot = dp_strdup(value);
}

static int is_numeric(dp_config_type_t type)
{
    return type == DP_CT_INT || type == DP_CT_MS || type == DP_CT_SEC || type == DP_CT_BYTES;
}

/* ------------------------------------------------------------------------- */
/* Setting one field                                                         */
/* ------------------------------------------------------------------------- */

static int bad_value(const dp_config_desc_t *desc, const char *label, const char *shown,
                     const char *what, dp_err_t *err)
{
    char allowed[256];

    dp_config_allowed_text(desc, allowed, sizeof(allowed));
    return dp_err_set(err, DP_EINVAL, 0, "config: %s = %s: must be %s%s%s", label, shown, what,
                      what[0] && allowed[0] ? " " : "", allowed);
}

static int set_number(dp_config_t *cfg, const dp_config_desc_t *desc, int64_t v, const char *label,
                      const char *shown, dp_err_t *err)
{
    char allowed[256];

    if (v < desc->min || v > desc->max) {
        dp_config_allowed_text(desc, allowed, sizeof(allowed));
        return dp_err_set(err, DP_EINVAL, 0, "config: %s = %s: must be %s", label, shown, allowed);
    }
    *(int64_t *)dp_config_field(cfg, desc) = v;
    return 0;
}

static int set_enum(dp_config_t *cfg, const dp_config_desc_t *desc, const char *text,
                    const char *label, const char *shown, dp_err_t *err)
{
    for (int i = 0; desc->allowed[i]; i++) {
        if (strcmp(text, desc->allowed[i]) == 0) {
            *(int *)dp_config_field(cfg, desc) = i;
            return 0;
        }
    }
    return bad_value(desc, label, shown, "", err);
}

/* Sets a scalar from text; `shown` is how the value appears in messages. */
static int set_text_shown(dp_config_t *cfg, const dp_config_desc_t *desc, const char *text,
                          const char *label, const char *shown, dp_err_t *err)
{
    int64_t v = 0;

    switch (desc->type) {
    case DP_CT_STRING:
    case DP_CT_SECRET:
        if (!*text) {
            return bad_value(desc, label, shown, "a non-empty string", err);
        }
        replace_str(dp_config_field(cfg, desc), text, desc->type == DP_CT_SECRET);
        return 0;
    case DP_CT_INT:
    case DP_CT_MS:
    case DP_CT_SEC:
        if (parse_int64(text, &v) < 0) {
            return bad_value(desc, label, shown, "an integer", err);
        }
        return set_number(cfg, desc, v, label, shown, err);
    case DP_CT_BYTES:
        if (parse_bytes(text, &v) < 0) {
            return bad_value(desc, label, shown, "a byte count (digits, optionally KiB, MiB, GiB)",
                             err);
        }
        return set_number(cfg, desc, v, label, shown, err);
    case DP_CT_BOOL:
        if (strcmp(text, "true") != 0 && strcmp(text, "false") != 0) {
            return bad_value(desc, label, shown, "true or false", err);
        }
        *(int *)dp_config_field(cfg, desc) = strcmp(text, "true") == 0;
        return 0;
    case DP_CT_ENUM:
        return set_enum(cfg, desc, text, label, shown, err);
    default:
        return dp_err_set(err, DP_EINVAL, 0, "config: %s: cannot be set from text", label);
    }
}

int dp_config_set_text(dp_config_t *cfg, const dp_config_desc_t *desc, const char *text,
                       const char *label, dp_err_t *err)
{
    char shown[SHOW_MAX + 8];

    snprintf(shown, sizeof(shown), "\"%.*s\"", SHOW_MAX, desc->type == DP_CT_SECRET ? "***" : text);
    return set_text_shown(cfg, desc, text, label, shown, err);
}

/* ------------------------------------------------------------------------- */
/* Lists and maps from JSON                                                  */
/* ------------------------------------------------------------------------- */

static void strlist_clear(dp_config_strlist_t *list)
{
    for (size_t i = 0; i < list->n; i++) {
        free(list->items[i]);
    }
    free(list->items);
    list->items = NULL;
    list->n = 0;
}

static void map_clear(dp_config_map_t *map)
{
    for (size_t i = 0; i < map->n; i++) {
        free(map->items[i].key);
        /* a librdkafka property may carry a credential (sasl.oauthbearer.config) */
        dp_free_secret(map->items[i].value);
    }
    free(map->items);
    map->items = NULL;
    map->n = 0;
}

static int set_strlist(dp_config_t *cfg, const dp_config_desc_t *desc, const json_t *value,
                       const char *shown, dp_err_t *err)
{
    dp_config_strlist_t *list = dp_config_field(cfg, desc);
    size_t n = json_is_array(value) ? json_array_size(value) : 0;

    if (!json_is_array(value) || n < (size_t)desc->min || n > (size_t)desc->max) {
        return bad_value(desc, desc->path, shown, "an array of strings,", err);
    }
    strlist_clear(list);
    list->items = dp_calloc(n, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(value, i));
        if (!s || !*s) {
            return dp_err_set(err, DP_EINVAL, 0, "config: %s[%zu]: must be a non-empty string",
                              desc->path, i);
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(list->items[j], s) == 0) {
                return dp_err_set(err, DP_EINVAL, 0, "config: %s: lists \"%.80s\" twice",
                                  desc->path, s);
            }
        }
        list->items[list->n++] = dp_strdup(s);
    }
    return 0;
}

/* librdkafka takes every property as text; numbers and booleans are accepted
 * in the file for readability and turned into the text librdkafka parses.
 * Returns new text (strings unbounded: PEM properties are long), or NULL. */
static char *prop_text(const json_t *value)
{
    char num[64];

    if (json_is_string(value)) {
        return dp_strdup(json_string_value(value));
    } else if (json_is_integer(value)) {
        snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(value));
    } else if (json_is_real(value)) {
        snprintf(num, sizeof(num), "%.15g", json_real_value(value));
    } else if (json_is_boolean(value)) {
        snprintf(num, sizeof(num), "%s", json_is_true(value) ? "true" : "false");
    } else {
        return NULL;
    }
    return dp_strdup(num);
}

/* Checks one entry of a map key and returns its text in *text (new). */
static int map_entry(const dp_config_desc_t *desc, const char *key, const json_t *value,
                     char **text, int64_t *num, dp_err_t *err)
{
    char shown[SHOW_MAX + 8], digits[32];
    const char *why;

    show_json(value, shown, sizeof(shown));
    if (desc->type == DP_CT_IDMAP) {
        *num = json_integer_value(value);
        if (!json_is_integer(value) || *num < desc->min || *num > desc->max) {
            return dp_err_set(err, DP_EINVAL, 0,
                              "config: %s.%s = %s: must be an integer between %lld and %lld",
                              desc->path, key, shown, (long long)desc->min, (long long)desc->max);
        }
        snprintf(digits, sizeof(digits), "%lld", (long long)*num);
        *text = dp_strdup(digits);
        return 0;
    }
    if (desc->type == DP_CT_ENUMMAP) {
        char allowed[256];
        size_t used = 0;

        for (int i = 0; json_is_string(value) && desc->allowed[i]; i++) {
            if (strcmp(json_string_value(value), desc->allowed[i]) == 0) {
                *num = i;
                *text = dp_strdup(desc->allowed[i]);
                return 0;
            }
        }
        allowed[0] = '\0';
        for (int i = 0; desc->allowed[i] && used < sizeof(allowed); i++) {
            used += (size_t)snprintf(allowed + used, sizeof(allowed) - used, "%s%s", i ? ", " : "",
                                     desc->allowed[i]);
        }
        return dp_err_set(err, DP_EINVAL, 0, "config: %s.%s = %s: must be one of %s", desc->path,
                          key, shown, allowed);
    }
    if ((why = dp_config_kafka_rejects(key)) != NULL) {
        return dp_err_set(err, DP_EINVAL, 0, "config: %s.%s: not allowed here: %s", desc->path, key,
                          why);
    }
    if ((*text = prop_text(value)) == NULL) {
        return dp_err_set(err, DP_EINVAL, 0,
                          "config: %s.%s = %s: must be a string, a number or a boolean", desc->path,
                          key, shown);
    }
    return 0;
}

static int set_map(dp_config_t *cfg, const dp_config_desc_t *desc, const json_t *value,
                   const char *shown, dp_err_t *err)
{
    dp_config_map_t *map = dp_config_field(cfg, desc);
    const char *key;
    json_t *item;
    char *text = NULL;
    int64_t num = 0;
    int rc;

    if (!json_is_object(value)) {
        return bad_value(desc, desc->path, shown, "an object", err);
    }
    map_clear(map);
    map->items = dp_calloc(json_object_size(value) + 1, sizeof(dp_config_pair_t));
    json_object_foreach((json_t *)value, key, item)
    {
        if ((rc = map_entry(desc, key, item, &text, &num, err)) < 0) {
            return rc;
        }
        map->items[map->n].key = dp_strdup(key);
        map->items[map->n].value = text;
        map->items[map->n].num = num;
        map->n++;
    }
    return 0;
}

/* ------------------------------------------------------------------------- */
/* One key of the file                                                       */
/* ------------------------------------------------------------------------- */

static int set_json(dp_config_t *cfg, const dp_config_desc_t *desc, const json_t *value,
                    dp_err_t *err)
{
    char shown[SHOW_MAX + 8];
    char num[32];

    show_json(value, shown, sizeof(shown));
    switch (desc->type) {
    case DP_CT_STRING:
    case DP_CT_ENUM:
        if (!json_is_string(value)) {
            return bad_value(desc, desc->path, shown,
                             desc->type == DP_CT_STRING ? "a non-empty string" : "a string", err);
        }
        return dp_config_set_text(cfg, desc, json_string_value(value), desc->path, err);
    case DP_CT_BOOL:
        if (!json_is_boolean(value)) {
            return bad_value(desc, desc->path, shown, "true or false", err);
        }
        *(int *)dp_config_field(cfg, desc) = json_is_true(value);
        return 0;
    case DP_CT_BYTES:
    case DP_CT_INT:
    case DP_CT_MS:
    case DP_CT_SEC:
        if (desc->type == DP_CT_BYTES && json_is_string(value)) {
            return dp_config_set_text(cfg, desc, json_string_value(value), desc->path, err);
        }
        if (!json_is_integer(value)) {
            return bad_value(desc, desc->path, shown,
                             desc->type == DP_CT_BYTES ? "a byte count" : "an integer", err);
        }
        snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(value));
        return set_text_shown(cfg, desc, num, desc->path, shown, err);
    case DP_CT_STRLIST:
        return set_strlist(cfg, desc, value, shown, err);
    case DP_CT_PROPS:
    case DP_CT_IDMAP:
    case DP_CT_ENUMMAP:
        return set_map(cfg, desc, value, shown, err);
    case DP_CT_SECRET:
    default:
        break;
    }
    return dp_err_set(err, DP_EINVAL, 0,
                      "config: %s: secrets are not accepted in the configuration file; set %s or "
                      "%s_file",
                      desc->path, desc->env, desc->path);
}

/* When path lies under prefix ("" = top level), sets the next component of
 * path after prefix (*name, *len) and returns 1. */
static int component(const char *path, const char *prefix, const char **name, size_t *len)
{
    size_t plen = strlen(prefix);
    const char *dot;

    if (plen && (strncmp(path, prefix, plen) != 0 || path[plen] != '.')) {
        return 0;
    }
    *name = plen ? path + plen + 1 : path;
    dot = strchr(*name, '.');
    *len = dot ? (size_t)(dot - *name) : strlen(*name);
    return 1;
}

/* Keys allowed directly under prefix, in table order, secrets excluded. */
static void allowed_keys(const char *prefix, char *out, size_t outlen)
{
    size_t used = 0, len, len2;
    const char *name, *name2;

    out[0] = '\0';
    for (size_t i = 0; i < dp_config_table_len; i++) {
        int seen = 0;
        if (dp_config_table[i].type == DP_CT_SECRET ||
            !component(dp_config_table[i].path, prefix, &name, &len)) {
            continue;
        }
        for (size_t j = 0; j < i && !seen; j++) {
            seen = dp_config_table[j].type != DP_CT_SECRET &&
                   component(dp_config_table[j].path, prefix, &name2, &len2) && len2 == len &&
                   strncmp(name, name2, len) == 0;
        }
        if (!seen && used < outlen) {
            used += (size_t)snprintf(out + used, outlen - used, "%s%.*s", used ? ", " : "",
                                     (int)len, name);
        }
    }
}

static int is_section(const char *path)
{
    size_t len = strlen(path);

    for (size_t i = 0; i < dp_config_table_len; i++) {
        if (strncmp(dp_config_table[i].path, path, len) == 0 &&
            dp_config_table[i].path[len] == '.') {
            return 1;
        }
    }
    return 0;
}

static int walk(dp_config_t *cfg, const json_t *obj, const char *prefix, dp_err_t *err);

static int walk_key(dp_config_t *cfg, const char *prefix, const char *key, const json_t *value,
                    dp_err_t *err)
{
    char path[PATH_MAX_LEN], allowed[400], shown[SHOW_MAX + 8];
    const dp_config_desc_t *desc;
    int n = snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", key);

    if (n > 0 && (size_t)n < sizeof(path)) {
        if ((desc = dp_config_find(path)) != NULL) {
            return set_json(cfg, desc, value, err);
        }
        if (is_section(path)) {
            if (!json_is_object(value)) {
                show_json(value, shown, sizeof(shown));
                return dp_err_set(err, DP_EINVAL, 0, "config: %s = %s: must be an object", path,
                                  shown);
            }
            return walk(cfg, value, path, err);
        }
    }
    allowed_keys(prefix, allowed, sizeof(allowed));
    return dp_err_set(err, DP_EINVAL, 0, "config: unknown key \"%.80s%s%.80s\"; allowed %s%s: %s",
                      prefix, *prefix ? "." : "", key, *prefix ? "keys in " : "top-level keys",
                      prefix, allowed);
}

static int walk(dp_config_t *cfg, const json_t *obj, const char *prefix, dp_err_t *err)
{
    const char *key;
    json_t *value;
    int rc;

    json_object_foreach((json_t *)obj, key, value)
    {
        if ((rc = walk_key(cfg, prefix, key, value, err)) < 0) {
            return rc;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Defaults, environment, secrets, required keys                             */
/* ------------------------------------------------------------------------- */

static int apply_defaults(dp_config_t *cfg, dp_err_t *err)
{
    int rc;

    for (size_t i = 0; i < dp_config_table_len; i++) {
        const dp_config_desc_t *desc = &dp_config_table[i];
        if (desc->def && (rc = dp_config_set_text(cfg, desc, desc->def, desc->path, err)) < 0) {
            return rc;
        }
    }
    return 0;
}

static int apply_env(dp_config_t *cfg, dp_err_t *err)
{
    char label[PATH_MAX_LEN];
    int rc;

    for (size_t i = 0; i < dp_config_table_len; i++) {
        const dp_config_desc_t *desc = &dp_config_table[i];
        const char *value = desc->env ? getenv(desc->env) : NULL;
        if (!value || !*value || desc->type == DP_CT_SECRET) { /* secrets: resolve_secret */
            continue;
        }
        snprintf(label, sizeof(label), "%s (from %s)", desc->path, desc->env);
        if ((rc = dp_config_set_text(cfg, desc, value, label, err)) < 0) {
            return rc;
        }
    }
    return 0;
}

/* Reads a secret file: at most SECRET_FILE_MAX bytes, trailing CR/LF
 * removed (Secret files written by `echo` or editors end with one). */
static int read_secret_file(const char *key, const char *path, char **out, dp_err_t *err)
{
    char *buf = dp_malloc(SECRET_FILE_MAX + 1);
    FILE *fp = fopen(path, "rb");
    size_t len = 0;
    int rc = 0;

    if (!fp) {
        rc = dp_err_set(err, DP_EIO, 0, "config: %s = \"%.200s\": cannot read: %s", key, path,
                        strerror(errno));
        goto out;
    }
    len = fread(buf, 1, SECRET_FILE_MAX + 1, fp);
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) {
        len--;
    }
    buf[len <= SECRET_FILE_MAX ? len : SECRET_FILE_MAX] = '\0';
    if (ferror(fp) || len > SECRET_FILE_MAX || len == 0 || strlen(buf) != len) {
        rc = dp_err_set(err, DP_EINVAL, 0,
                        "config: %s = \"%.200s\": must hold 1 to %d bytes of text without NUL", key,
                        path, SECRET_FILE_MAX);
        goto out;
    }
    *out = dp_strdup(buf);
out:
    if (fp) {
        fclose(fp);
    }
    dp_wipe(buf, SECRET_FILE_MAX + 1);
    free(buf);
    return rc;
}

static int resolve_secret(dp_config_t *cfg, const dp_config_desc_t *desc, dp_err_t *err)
{
    char **slot = dp_config_field(cfg, desc), file_key[PATH_MAX_LEN];
    const dp_config_desc_t *file_desc;
    const char *value = getenv(desc->env), *file;
    char *text = NULL;
    int rc;

    if (value && *value) {
        replace_str(slot, value, 1);
        return 0;
    }
    snprintf(file_key, sizeof(file_key), "%s_file", desc->path);
    file_desc = dp_config_find(file_key);
    file = file_desc ? *(char **)dp_config_field(cfg, file_desc) : NULL;
    if (!file) {
        return 0;
    }
    if ((rc = read_secret_file(file_key, file, &text, err)) < 0) {
        return rc;
    }
    replace_str(slot, text, 1);
    wipe(text);
    free(text);
    return 0;
}

static int check_required(const dp_config_t *cfg, dp_err_t *err)
{
    for (size_t i = 0; i < dp_config_table_len; i++) {
        const dp_config_desc_t *desc = &dp_config_table[i];
        if ((desc->flags & DP_CF_REQUIRED) && !is_numeric(desc->type) &&
            *(char **)dp_config_field(cfg, desc) == NULL) {
            return dp_err_set(err, DP_EINVAL, 0, "config: %s is required%s%s%s", desc->path,
                              desc->env ? " (in the file, or set " : "", desc->env ? desc->env : "",
                              desc->env ? ")" : "");
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Public                                                                    */
/* ------------------------------------------------------------------------- */

static int read_json(const char *path, json_t **root, dp_err_t *err)
{
    json_error_t jerr;

    *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!*root) {
        if (json_error_code(&jerr) == json_error_cannot_open_file) {
            return dp_err_set(err, DP_EIO, 0, "config: %s", jerr.text);
        }
        return dp_err_set(err, DP_EINVAL, 0, "config: %s:%d:%d: %s", path, jerr.line, jerr.column,
                          jerr.text);
    }
    if (!json_is_object(*root)) {
        return dp_err_set(err, DP_EINVAL, 0, "config: %s: the top level must be a JSON object",
                          path);
    }
    return 0;
}

dp_config_t *dp_config_parse(const char *path, dp_err_t *err)
{
    dp_config_t *cfg = dp_calloc(1, sizeof(*cfg));
    json_t *root = NULL;
    int rc;

    dp_mem_wipe_json_frees(); /* before any thread: every later JSON free is wiped */
    cfg->source = dp_strdup(path);
    if ((rc = apply_defaults(cfg, err)) < 0 || (rc = read_json(path, &root, err)) < 0 ||
        (rc = walk(cfg, root, "", err)) < 0 || (rc = apply_env(cfg, err)) < 0) {
        goto out;
    }
    for (size_t i = 0; i < dp_config_table_len; i++) {
        if (dp_config_table[i].type == DP_CT_SECRET &&
            (rc = resolve_secret(cfg, &dp_config_table[i], err)) < 0) {
            goto out;
        }
    }
    rc = check_required(cfg, err);
out:
    json_decref(root);
    if (rc < 0) {
        dp_config_destroy(cfg);
        return NULL;
    }
    return cfg;
}

dp_config_t *dp_config_load(const char *path, dp_err_t *err)
{
    dp_config_t *cfg = dp_config_parse(path, err);

    if (cfg && dp_config_finalize(cfg, err) < 0) {
        dp_config_destroy(cfg);
        return NULL;
    }
    return cfg;
}

void dp_config_destroy(dp_config_t *cfg)
{
    if (!cfg) {
        return;
    }
    for (size_t i = 0; i < dp_config_table_len; i++) {
        const dp_config_desc_t *desc = &dp_config_table[i];
        void *field = dp_config_field(cfg, desc);
        if (desc->type == DP_CT_STRING || desc->type == DP_CT_SECRET) {
            if (desc->type == DP_CT_SECRET) {
                wipe(*(char **)field);
            }
            free(*(char **)field);
        } else if (desc->type == DP_CT_STRLIST) {
            strlist_clear(field);
        } else if (desc->type == DP_CT_PROPS || desc->type == DP_CT_IDMAP ||
                   desc->type == DP_CT_ENUMMAP) {
            map_clear(field);
        }
    }
    free(cfg->source);
    free(cfg);
}

int dp_config_load_mode(const dp_config_t *cfg, const char *table)
{
    for (size_t i = 0; i < cfg->load.table_modes.n; i++) {
        if (strcmp(cfg->load.table_modes.items[i].key, table) == 0)
            return (int)cfg->load.table_modes.items[i].num;
    }
    return cfg->load.mode;
}
