/*
 * config_table: the one table of configuration keys, the
 * per-key validators it names, and the librdkafka properties deltaport
 * rejects under kafka.properties.
 *
 * Adding a setting = adding a field to dp_config_t and one row here; the
 * loader, the environment overrides, `config dump` and the generated
 * docs/CONFIGURATION.md follow from the row. Defaults are written as text and
 * parsed by the same code as environment values, so a default can never
 * bypass a range check (test_config checks every default loads).
 */
#include "config/config_int.h"
#include "core/log.h"
#include "core/url.h"
#include "kafka/kafka.h"
#include "route/router.h"
#include "route/tablename.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define F(member) offsetof(dp_config_t, member)
#define KIB       1024LL
#define MIB       (1024LL * 1024LL)
#define GIB       (1024LL * 1024LL * 1024LL)

/* The enum fields hold indexes into these lists; keep them in step with the
 * enums the other modules use. */
static const char *const start_values[] = {"earliest", "latest", NULL};
static const char *const gap_values[] = {"record", "stop", NULL};
static const char *const route_values[] = {"threshold", "per_event", "single", NULL};
static const char *const auth_values[] = {"oauth", "pat", NULL};
static const char *const level_values[] = {"debug", "info", "warn", "error", NULL};
static const char *const sink_values[] = {"warehouse", "zerobus", NULL};
static const char *const load_values[] = {"copy", "merge_event_id", NULL};

_Static_assert(DP_ROUTE_THRESHOLD == 0 && DP_ROUTE_PER_EVENT == 1 && DP_ROUTE_SINGLE == 2,
               "route_values must follow dp_route_mode_t");
_Static_assert(DP_CONFIG_SINK_WAREHOUSE == 0 && DP_CONFIG_SINK_ZEROBUS == 1,
               "sink_values must follow DP_CONFIG_SINK_*");
_Static_assert(DP_CONFIG_LOAD_COPY == 0 && DP_CONFIG_LOAD_MERGE_EVENT_ID == 1,
               "load_values must follow DP_CONFIG_LOAD_*");
_Static_assert(DP_LOG_DEBUG == 0 && DP_LOG_INFO == 1 && DP_LOG_WARN == 2 && DP_LOG_ERROR == 3,
               "level_values must follow dp_log_level_t");

/* ------------------------------------------------------------------------- */
/* Validators                                                                */
/* ------------------------------------------------------------------------- */

static int only_chars(const char *s, const char *extra)
{
    for (; *s; s++) {
        int ok = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
                 (extra && strchr(extra, *s) != NULL);
        if (!ok) {
            return 0;
        }
    }
    return 1;
}

static const char *str_of(const dp_config_desc_t *desc, const dp_config_t *cfg)
{
    return *(char *const *)dp_config_field(cfg, desc);
}

/* Unity Catalog identifiers: the one rule of tablename.c, so that a name the
 * configuration accepts is a name the SQL side accepts. */
static int check_ident(const dp_config_desc_t *desc, const dp_config_t *cfg, dp_err_t *err)
{
    const char *s = str_of(desc, cfg);
    dp_err_t why;
    int rc;

    if (s && (rc = dp_tablename_check_identifier(s, &why)) < 0) {
        return dp_err_set(err, rc, 0, "config: %s = \"%.80s\": %s (must match ^[a-z_][a-z0-9_]*$)",
                          desc->path, s, why.msg);
    }
    return 0;
}

/* Shared and single tables: the one table-name rule of tablename.c (the
 * same length limit as every evt_<name>), and not a system table. */
static int check_table(const dp_config_desc_t *desc, const dp_config_t *cfg, dp_err_t *err)
{
    const char *s = str_of(desc, cfg);
    dp_err_t why;
    int rc;

    if (s && (rc = dp_tablename_check_table(s, &why)) < 0) {
        return dp_err_set(err, rc, 0, "config: %s = \"%.80s\": %s (must match ^[a-z_][a-z0-9_]*$)",
                          desc->path, s, why.msg);
    }
    if (s && dp_tablename_is_system(s)) {
        const char *const *names = dp_tablename_system_tables();
        char list[200];
        size_t used = 0;
        for (int i = 0; names[i] && used < sizeof(list); i++) {
            used +=
                (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", names[i]);
        }
        return dp_err_set(err, DP_EINVAL, 0,
                          "config: %s = \"%s\": is one of deltaport's system tables (%s)",
                          desc->path, s, list);
    }
    return 0;
}

/* load.table_modes: its keys are event tables (the table-name rule of
 * tablename.c), never a system table (those are always copied). */
static int check_table_map(const dp_config_desc_t *desc, const dp_config_t *cfg, dp_err_t *err)
{
    const dp_config_map_t *map = dp_config_field(cfg, desc);
    dp_err_t why;

    for (size_t i = 0; i < map->n; i++) {
        if (dp_tablename_check_table(map->items[i].key, &why) < 0) {
            return dp_err_set(err, DP_EINVAL, 0,
                              "config: %s.%.80s: %s (a table name matches ^[a-z_][a-z0-9_]*$)",
                              desc->path, map->items[i].key, why.msg);
        }
        if (dp_tablename_is_system(map->items[i].key)) {
            return dp_err_set(err, DP_EINVAL, 0,
                              "config: %s.%s: a system table is always loaded by COPY INTO",
                              desc->path, map->items[i].key);
        }
    }
    return 0;
}

/* Kafka topic names: [A-Za-z0-9._-], at most 249 characters (Kafka's own
 * limit, kafka/common/internals/Topic.java). */
static int topic_ok(const char *s)
{
    size_t len = strlen(s);

    return len > 0 && len <= 249 && only_chars(s, "._-");
}

static int check_topics(const dp_config_desc_t *desc, const dp_config_t *cfg, dp_err_t *err)
{
    const dp_config_strlist_t *list = dp_config_field(cfg, desc);

    for (size_t i = 0; i < list->n; i++) {
        if (!topic_ok(list->items[i])) {
            return dp_err_set(err, DP_EINVAL, 0,
                              "config: %s[%zu] = \"%.80s\": a topic name is 1 to 249 of "
                              "[A-Za-z0-9._-]",
                              desc->path, i, list->items[i]);
        }
    }
    return 0;
}

static int check_topic_map(const dp_config_desc_t *desc, const dp_config_t *cfg, dp_err_t *err)
{
    const dp_config_map_t *map = dp_config_field(cfg, desc);

    for (size_t i = 0; i < map->n; i++) {
        if (!topic_ok(map->items[i].key)) {
            return dp_err_set(err, DP_EINVAL, 0,
                              "config: %s.%.80s: a topic name is 1 to 249 of [A-Za-z0-9._-]",
                              desc->path, map->items[i].key);
        }
    }
    return 0;
}

/* librdkafka treats a subscription as a regex only when it starts with '^'
 * (rdkafka.h, rd_kafka_subscribe). */
static int check_regex(const dp_config_desc_t *desc, const dp_config_t *cfg, dp_err_t *err)
{
    const char *s = str_of(desc, cfg);

    if (s && s[0] != '^') {
        return dp_err_set(err, DP_EINVAL, 0,
                          "config: %s = \"%.80s\": must start with '^' (librdkafka reads "
                          "only such subscriptions as regular expressions)",
                          desc->path, s);
    }
    return 0;
}

/* databricks.host: https://host[:port] (http:// only with
 * databricks.allow_insecure_http, checked in config_check.c), on libcurl's
 * URL parser. */
static int check_url(const dp_config_desc_t *desc, const dp_config_t *cfg, dp_err_t *err)
{
    const char *s = str_of(desc, cfg);
    char why[128];

    if (!s) {
        return 0;
    }
    if (!strstr(s, "://")) {
        return dp_err_set(err, DP_EINVAL, 0,
                          "config: %s = \"%.80s\": must be a URL starting with https://",
                          desc->path, s);
    }
    if (dp_url_check(s, DP_URL_NO_PATH, NULL, why, sizeof(why)) < 0) {
        return dp_err_set(err, DP_EINVAL, 0,
                          "config: %s = \"%.80s\": must be scheme://host[:port] with no path, "
                          "query or spaces (%s)",
                          desc->path, s, why);
    }
    return 0;
}

/* Schema Registry URL: http(s)://host[:port][/path] (a path prefix is allowed
 * for registries behind a proxy); plain http only with
 * schemas.registry_allow_insecure_http. */
static int check_registry_url(const dp_config_desc_t *desc, const dp_config_t *cfg, dp_err_t *err)
{
    const char *s = str_of(desc, cfg);
    char why[128];
    int is_http = 0;

    if (!s) {
        return 0;
    }
    if (strncmp(s, "https://", 8) != 0 &&
        !(strncmp(s, "http://", 7) == 0 && cfg->schemas.registry_allow_insecure_http)) {
        return dp_err_set(err, DP_EINVAL, 0,
                          "config: %s = \"%.80s\": must start with https:// (http:// only with "
                          "schemas.registry_allow_insecure_http)",
                          desc->path, s);
    }
    if (dp_url_check(s, DP_URL_PATH, &is_http, why, sizeof(why)) < 0) {
        return dp_err_set(err, DP_EINVAL, 0,
                          "config: %s = \"%.80s\": must be scheme://host[:port][/path] with no "
                          "query or spaces (%s)",
                          desc->path, s, why);
    }
    return 0;
}

/* Basic auth needs both halves, and a registry to talk to. */
static int check_registry_user(const dp_config_desc_t *desc, const dp_config_t *cfg, dp_err_t *err)
{
    const char *user = str_of(desc, cfg);

    if (user && strchr(user, ':')) {
        return dp_err_set(err, DP_EINVAL, 0, "config: %s: must not contain ':' (HTTP Basic)",
                          desc->path);
    }
    if (user && !cfg->schemas.registry_password) {
        return dp_err_set(err, DP_EINVAL, 0,
                          "config: %s is set but schemas.registry_password is not: set "
                          "DELTAPORT_SCHEMA_REGISTRY_PASSWORD or schemas.registry_password_file",
                          desc->path);
    }
    if (!user && cfg->schemas.registry_password) {
        return dp_err_set(err, DP_EINVAL, 0,
                          "config: schemas.registry_password is set but %s is not", desc->path);
    }
    if (user && !cfg->schemas.registry_url) {
        return dp_err_set(err, DP_EINVAL, 0, "config: %s is set but schemas.registry_url is not",
                          desc->path);
    }
    return 0;
}

static int check_listen(const dp_config_desc_t *desc, const dp_config_t *cfg, dp_err_t *err)
{
    const char *s = str_of(desc, cfg), *colon = s ? strrchr(s, ':') : NULL;
    long port = -1;
    char *end = NULL;

    if (!s) {
        return 0;
    }
    if (colon && colon[1] >= '0' && colon[1] <= '9' && strlen(colon + 1) <= 5) {
        port = strtol(colon + 1, &end, 10);
    }
    if (port < 0 || port > 65535 || !end || *end) {
        return dp_err_set(err, DP_EINVAL, 0,
                          "config: %s = \"%.80s\": must be \"host:port\" or \":port\" with a "
                          "port between 0 and 65535",
                          desc->path, s);
    }
    return 0;
}

/* The broker state comes from librdkafka's statistics every second or more
 * (kafka.h), so a shorter timeout would only flap. */
static int check_broker_timeout(const dp_config_desc_t *desc, const dp_config_t *cfg, dp_err_t *err)
{
    int64_t v = *(const int64_t *)dp_config_field(cfg, desc);

    if (v != 0 && v < 2000) {
        return dp_err_set(err, DP_EINVAL, 0,
                          "config: %s = %lld: must be 0 (off) or at least 2000 (the broker "
                          "state is sampled every 1 to 5 s)",
                          desc->path, (long long)v);
    }
    return 0;
}

static int check_worker_id(const dp_config_desc_t *desc, const dp_config_t *cfg, dp_err_t *err)
{
    const char *s = str_of(desc, cfg);

    if (s && (strlen(s) > 253 || !only_chars(s, "._-"))) {
        return dp_err_set(err, DP_EINVAL, 0,
                          "config: %s = \"%.80s\": must be 1 to 253 of [A-Za-z0-9._-]", desc->path,
                          s);
    }
    return 0;
}

static int check_warehouse(const dp_config_desc_t *desc, const dp_config_t *cfg, dp_err_t *err)
{
    const char *s = str_of(desc, cfg);

    if (s && (strlen(s) > 64 || !only_chars(s, "_-"))) {
        return dp_err_set(err, DP_EINVAL, 0,
                          "config: %s = \"%.80s\": a warehouse id is 1 to 64 of [A-Za-z0-9_-] "
                          "(the last part of the warehouse's HTTP path)",
                          desc->path, s);
    }
    return 0;
}

/* The workspace id is the number in the workspace URL's o= parameter; it is
 * spliced into the Zerobus token's resource, so digits only. */
static int check_workspace_id(const dp_config_desc_t *desc, const dp_config_t *cfg, dp_err_t *err)
{
    const char *s = str_of(desc, cfg);

    if (s && (strlen(s) > 32 || strspn(s, "0123456789") != strlen(s))) {
        return dp_err_set(err, DP_EINVAL, 0,
                          "config: %s = \"%.80s\": a workspace id is 1 to 32 digits (the o= "
                          "number of the workspace URL)",
                          desc->path, s);
    }
    return 0;
}

/* The Zerobus endpoint: https://host[:port], like databricks.host (plain http
 * only with databricks.allow_insecure_http, checked in config_check.c). */
static int check_zerobus_url(const dp_config_desc_t *desc, const dp_config_t *cfg, dp_err_t *err)
{
    return check_url(desc, cfg, err);
}

/* ------------------------------------------------------------------------- */
/* The table                                                                 */
/* ------------------------------------------------------------------------- */

#define SECRET(p, member, envname, prop, what)                                                     \
    {.path = p,                                                                                    \
     .type = DP_CT_SECRET,                                                                         \
     .offset = F(member),                                                                          \
     .env = envname,                                                                               \
     .kafka_property = prop,                                                                       \
     .doc = what " (secret: environment variable or " p "_file only)"},                            \
    {                                                                                              \
        .path = p "_file", .type = DP_CT_STRING, .offset = F(member##_file),                       \
        .doc = "File holding " p " (e.g. a mounted Kubernetes Secret); a trailing newline is "     \
               "ignored"                                                                           \
    }

const dp_config_desc_t dp_config_table[] = {
    /* top level */
    {.path = "sink",
     .type = DP_CT_ENUM,
     .offset = F(sink),
     .def = "warehouse",
     .allowed = sink_values,
     .env = "DELTAPORT_SINK",
     .doc = "How event rows reach their tables: warehouse (staged files and COPY INTO) or "
            "zerobus (Zerobus Ingest inserts; the warehouse keeps the DDL and the bookkeeping). "
            "docs/DELIVERY.md compares them"},

    /* kafka */
    {.path = "kafka.bootstrap_servers",
     .type = DP_CT_STRING,
     .offset = F(kafka.bootstrap_servers),
     .flags = DP_CF_REQUIRED,
     .env = "DELTAPORT_KAFKA_BOOTSTRAP_SERVERS",
     .doc = "Brokers as host:port,host:port (librdkafka's bootstrap.servers)"},
    {.path = "kafka.topics",
     .type = DP_CT_STRLIST,
     .offset = F(kafka.topics),
     .min = 1,
     .max = 1000,
     .check = check_topics,
     .doc = "Topics to consume; exactly one of topics and topic_regex"},
    {.path = "kafka.topic_regex",
     .type = DP_CT_STRING,
     .offset = F(kafka.topic_regex),
     .check = check_regex,
     .allowed_doc = "starting with ^",
     .doc = "Subscribe to every topic matching this regular expression (starts with ^)"},
    {.path = "kafka.group_id",
     .type = DP_CT_STRING,
     .offset = F(kafka.group_id),
     .def = "deltaport",
     .doc = "Consumer group shared by every worker of the pool"},
    {.path = "kafka.initial_position",
     .type = DP_CT_ENUM,
     .offset = F(kafka.initial_position),
     .def = "earliest",
     .allowed = start_values,
     .doc = "Where a partition without a committed offset starts; other out-of-range "
            "positions are errors, never silent resets"},
    {.path = "kafka.on_retention_gap",
     .type = DP_CT_ENUM,
     .offset = F(kafka.on_retention_gap),
     .def = "record",
     .allowed = gap_values,
     .doc = "When a partition's start lies below the broker's low watermark (retention removed "
            "records before they were loaded): record the lost range in sync_runs, log an "
            "error and the metric deltaport_records_lost_to_retention_total, and go on from "
            "the low watermark; or stop the partition"},
    {.path = "kafka.properties",
     .type = DP_CT_PROPS,
     .offset = F(kafka.properties),
     .doc = "librdkafka properties passed verbatim to rd_kafka_conf_set (strings, numbers or "
            "booleans); the keys deltaport owns are rejected"},
    SECRET("kafka.sasl_password", kafka.sasl_password, "DELTAPORT_KAFKA_SASL_PASSWORD",
           "sasl.password", "SASL password"),
    SECRET("kafka.ssl_key_password", kafka.ssl_key_password, "DELTAPORT_KAFKA_SSL_KEY_PASSWORD",
           "ssl.key.password", "Passphrase of the client's private key"),
    SECRET("kafka.ssl_keystore_password", kafka.ssl_keystore_password,
           "DELTAPORT_KAFKA_SSL_KEYSTORE_PASSWORD", "ssl.keystore.password",
           "Password of the PKCS#12 keystore"),
    SECRET("kafka.sasl_oauthbearer_client_secret", kafka.sasl_oauthbearer_client_secret,
           "DELTAPORT_KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET", "sasl.oauthbearer.client.secret",
           "Client secret of SASL/OAUTHBEARER (OIDC)"),

    /* schemas */
    {.path = "schemas.dir",
     .type = DP_CT_STRING,
     .offset = F(schemas.dir),
     .def = "schemas",
     .doc = "Directory with canonical_event.avsc and ids/<id>.avsc, relative to the working "
            "directory (the image uses /usr/local/share/deltaport/schemas)"},
    {.path = "schemas.fixed_writer_schema_ids",
     .type = DP_CT_IDMAP,
     .offset = F(schemas.fixed_writer_schema_ids),
     .min = 1,
     .max = 2147483647,
     .check = check_topic_map,
     .doc = "Topic -> schema id, for topics carrying plain (unframed) Avro written with that "
            "schema"},
    {.path = "schemas.registry_url",
     .type = DP_CT_STRING,
     .offset = F(schemas.registry_url),
     .env = "DELTAPORT_SCHEMA_REGISTRY_URL",
     .check = check_registry_url,
     .allowed_doc = "https://host[:port][/path] (http:// with registry_allow_insecure_http)",
     .def_doc = "(none: only schemas/ids)",
     .doc = "Confluent-compatible Schema Registry asked for writer schema ids not in "
            "schemas/ids (docs/SCHEMA_REGISTRY.md)"},
    {.path = "schemas.registry_allow_insecure_http",
     .type = DP_CT_BOOL,
     .offset = F(schemas.registry_allow_insecure_http),
     .def = "false",
     .doc = "Accept an http:// registry URL (a local registry only); logged as a warning"},
    {.path = "schemas.registry_user",
     .type = DP_CT_STRING,
     .offset = F(schemas.registry_user),
     .env = "DELTAPORT_SCHEMA_REGISTRY_USER",
     .check = check_registry_user,
     .doc = "HTTP Basic user of the registry (Confluent Cloud: the API key)"},
    SECRET("schemas.registry_password", schemas.registry_password,
           "DELTAPORT_SCHEMA_REGISTRY_PASSWORD", NULL,
           "HTTP Basic password of the registry (Confluent Cloud: the API secret)"),
    {.path = "schemas.registry_ca_file",
     .type = DP_CT_STRING,
     .offset = F(schemas.registry_ca_file),
     .def_doc = "(system CA bundle)",
     .doc = "PEM file of CA certificates to trust for the registry"},
    {.path = "schemas.registry_timeout_ms",
     .type = DP_CT_MS,
     .offset = F(schemas.registry_timeout_ms),
     .def = "5000",
     .min = 100,
     .max = 60000,
     .doc = "Timeout of one registry request (the poll thread waits at most about twice this)"},
    {.path = "schemas.registry_retry_ms",
     .type = DP_CT_MS,
     .offset = F(schemas.registry_retry_ms),
     .def = "5000",
     .min = 100,
     .max = 600000,
     .doc = "After a failed lookup (outage, 5xx, auth), the id is not asked again sooner; its "
            "messages are held meanwhile"},
    {.path = "schemas.registry_not_found_ttl_ms",
     .type = DP_CT_MS,
     .offset = F(schemas.registry_not_found_ttl_ms),
     .def = "60000",
     .min = 0,
     .max = 86400000,
     .doc = "How long an id the registry does not know (404, 40403) is remembered before it is "
            "asked again"},
    {.path = "schemas.registry_cache_max",
     .type = DP_CT_INT,
     .offset = F(schemas.registry_cache_max),
     .def = "10000",
     .min = 16,
     .max = 1000000,
     .doc = "Schema ids (found or not) the registry client remembers; the least recently used "
            "is forgotten first"},

    /* routing */
    {.path = "routing.mode",
     .type = DP_CT_ENUM,
     .offset = F(routing.mode),
     .def = "threshold",
     .allowed = route_values,
     .doc = "threshold: own table past the threshold; per_event: own table always; single: "
            "one table"},
    {.path = "routing.threshold",
     .type = DP_CT_INT,
     .offset = F(routing.threshold),
     .def = "10000",
     .min = 0,
     .max = 1000000000,
     .doc = "An event name gets its own table once seen more than this many times in the "
            "window"},
    {.path = "routing.window_days",
     .type = DP_CT_INT,
     .offset = F(routing.window_days),
     .def = "30",
     .min = 1,
     .max = 3650,
     .doc = "Sliding window of the threshold counts"},
    {.path = "routing.shared_table",
     .type = DP_CT_STRING,
     .offset = F(routing.shared_table),
     .def = "evt_otherevents",
     .check = check_table,
     .allowed_doc = "matching ^[a-z_][a-z0-9_]*$, at most 104 bytes, not a system table",
     .doc = "Table of events whose name has no table of its own"},
    {.path = "routing.single_table",
     .type = DP_CT_STRING,
     .offset = F(routing.single_table),
     .def = "events_all",
     .check = check_table,
     .allowed_doc = "matching ^[a-z_][a-z0-9_]*$, at most 104 bytes, not a system table",
     .doc = "Table of every event in single mode"},
    {.path = "routing.stats_refresh_s",
     .type = DP_CT_SEC,
     .offset = F(routing.stats_refresh_s),
     .def = "300",
     .min = 10,
     .max = 86400,
     .doc = "How often the group-wide event counts are re-read from the ledger (threshold mode "
            "only)"},
    {.path = "routing.backfill_on_promotion",
     .type = DP_CT_BOOL,
     .offset = F(routing.backfill_on_promotion),
     .def = "true",
     .doc = "When a name earns its own table (threshold mode), move its rows from the shared "
            "table into it, once per name (docs/DELIVERY.md, \"Backfill on promotion\")"},

    /* load */
    {.path = "load.mode",
     .type = DP_CT_ENUM,
     .offset = F(load.mode),
     .def = "copy",
     .allowed = load_values,
     .doc = "How a flush's staged file is loaded into an event table: copy (COPY INTO: every "
            "Kafka record once) or merge_event_id (MERGE on event_id: also every event_id once; "
            "docs/DELIVERY.md, \"Load modes\")"},
    {.path = "load.table_modes",
     .type = DP_CT_ENUMMAP,
     .offset = F(load.table_modes),
     .allowed = load_values,
     .check = check_table_map,
     .def_doc = "(none: load.mode for every table)",
     .doc = "Event table -> copy or merge_event_id, overriding load.mode for that table"},

    /* flush */
    {.path = "flush.max_events",
     .type = DP_CT_INT,
     .offset = F(flush.max_events),
     .def = "100000",
     .min = 1,
     .max = 10000000,
     .doc = "Flush a table buffer at this many events"},
    {.path = "flush.max_bytes",
     .type = DP_CT_BYTES,
     .offset = F(flush.max_bytes),
     .def = "128MiB",
     .min = 64 * KIB,
     .max = 16 * GIB,
     .doc = "Largest flush (the records of all its tables, buffered); cut when full. A flush "
            "never exceeds it (nor half of memory_budget_bytes), except one record larger "
            "than it, alone"},
    {.path = "flush.max_age_ms",
     .type = DP_CT_MS,
     .offset = F(flush.max_age_ms),
     .def = "5400000",
     .min = 100,
     .max = 7LL * 24 * 3600 * 1000,
     .doc = "Flush when the oldest buffered event is this old (90 minutes, as mParticle)"},
    {.path = "flush.memory_budget_bytes",
     .type = DP_CT_BYTES,
     .offset = F(flush.memory_budget_bytes),
     .def = "512MiB",
     .min = 64 * KIB,
     .max = 1024 * GIB,
     .doc = "Bound on all buffered bytes: the open flush plus the one loading; when the open "
            "flush is full while the other loads, the worker pauses its partitions"},

    /* databricks */
    {.path = "databricks.host",
     .type = DP_CT_STRING,
     .offset = F(databricks.host),
     .flags = DP_CF_REQUIRED,
     .env = "DELTAPORT_DATABRICKS_HOST",
     .check = check_url,
     .allowed_doc = "https://host[:port] (http:// with allow_insecure_http)",
     .doc = "Workspace URL, https://dbc-....cloud.databricks.com"},
    {.path = "databricks.allow_insecure_http",
     .type = DP_CT_BOOL,
     .offset = F(databricks.allow_insecure_http),
     .def = "false",
     .doc = "Accept an http:// host (the local emulator only); logged as a warning"},
    {.path = "databricks.warehouse_id",
     .type = DP_CT_STRING,
     .offset = F(databricks.warehouse_id),
     .flags = DP_CF_REQUIRED,
     .check = check_warehouse,
     .allowed_doc = "1 to 64 of [A-Za-z0-9_-]",
     .doc = "SQL warehouse running the COPY INTO statements"},
    {.path = "databricks.catalog",
     .type = DP_CT_STRING,
     .offset = F(databricks.catalog),
     .flags = DP_CF_REQUIRED,
     .check = check_ident,
     .allowed_doc = "matching ^[a-z_][a-z0-9_]*$, at most 255 bytes",
     .doc = "Unity Catalog catalog"},
    {.path = "databricks.schema",
     .type = DP_CT_STRING,
     .offset = F(databricks.schema),
     .flags = DP_CF_REQUIRED,
     .check = check_ident,
     .allowed_doc = "matching ^[a-z_][a-z0-9_]*$, at most 255 bytes",
     .doc = "Schema holding the tables and the staging volume"},
    {.path = "databricks.volume",
     .type = DP_CT_STRING,
     .offset = F(databricks.volume),
     .def = "deltaport_staging",
     .check = check_ident,
     .allowed_doc = "matching ^[a-z_][a-z0-9_]*$, at most 255 bytes",
     .doc = "Volume for staged files and manifests"},
    {.path = "databricks.create_schema",
     .type = DP_CT_BOOL,
     .offset = F(databricks.create_schema),
     .def = "false",
     .doc = "CREATE SCHEMA IF NOT EXISTS at start (needs the CREATE SCHEMA grant)"},
    {.path = "databricks.auth",
     .type = DP_CT_ENUM,
     .offset = F(databricks.auth),
     .def = "oauth",
     .allowed = auth_values,
     .doc = "oauth: service principal (OAuth M2M); pat: personal access token"},
    {.path = "databricks.client_id",
     .type = DP_CT_STRING,
     .offset = F(databricks.client_id),
     .env = "DELTAPORT_DATABRICKS_CLIENT_ID",
     .doc = "Service principal's application id (auth oauth)"},
    SECRET("databricks.client_secret", databricks.client_secret,
           "DELTAPORT_DATABRICKS_CLIENT_SECRET", NULL, "Service principal's OAuth secret"),
    SECRET("databricks.token", databricks.token, "DELTAPORT_DATABRICKS_TOKEN", NULL,
           "Personal access token (auth pat)"),
    {.path = "databricks.http_timeout_ms",
     .type = DP_CT_MS,
     .offset = F(databricks.http_timeout_ms),
     .def = "60000",
     .min = 1000,
     .max = 600000,
     .doc = "Total timeout of one HTTP request"},
    {.path = "databricks.statement_wait_timeout_s",
     .type = DP_CT_SEC,
     .offset = F(databricks.statement_wait_timeout_s),
     .def = "30",
     .min = 5,
     .max = 50,
     .doc = "wait_timeout of a statement before polling (the API allows 5 to 50 s)"},
    {.path = "databricks.max_retries",
     .type = DP_CT_INT,
     .offset = F(databricks.max_retries),
     .def = "8",
     .min = 0,
     .max = 100,
     .doc = "Retries of one call before the flush is kept and the partitions pause"},
    {.path = "databricks.max_concurrent_statements",
     .type = DP_CT_INT,
     .offset = F(databricks.max_concurrent_statements),
     .def = "4",
     .min = 1,
     .max = 64,
     .doc = "Statements and Files calls one worker runs at once (the uploads and COPY INTOs of "
            "a flush's tables, the files of flushes it finishes); warehouses queue what "
            "exceeds their concurrency"},
    {.path = "databricks.ca_file",
     .type = DP_CT_STRING,
     .offset = F(databricks.ca_file),
     .def_doc = "(system CA bundle)",
     .doc = "PEM file of CA certificates to trust"},
    {.path = "databricks.zerobus_endpoint",
     .type = DP_CT_STRING,
     .offset = F(databricks.zerobus_endpoint),
     .env = "DELTAPORT_DATABRICKS_ZEROBUS_ENDPOINT",
     .check = check_zerobus_url,
     .allowed_doc = "https://host[:port] (http:// with allow_insecure_http)",
     .def_doc = "(required with sink zerobus)",
     .doc = "Zerobus Ingest server of the workspace, "
            "https://<workspace-id>.zerobus.<region>.cloud.databricks.com (sink zerobus)"},
    {.path = "databricks.workspace_id",
     .type = DP_CT_STRING,
     .offset = F(databricks.workspace_id),
     .env = "DELTAPORT_DATABRICKS_WORKSPACE_ID",
     .check = check_workspace_id,
     .allowed_doc = "1 to 32 digits",
     .def_doc = "(required with sink zerobus)",
     .doc = "Workspace id (the o= number of the workspace URL), named in the Zerobus token's "
            "resource (sink zerobus)"},
    {.path = "databricks.zerobus_max_in_flight",
     .type = DP_CT_INT,
     .offset = F(databricks.zerobus_max_in_flight),
     .def = "8",
     .min = 1,
     .max = 256,
     .doc = "Zerobus inserts one worker has in flight at once (HTTP/2 streams on one "
            "connection, or connections over HTTP/1.1)"},
    {.path = "databricks.zerobus_max_request_bytes",
     .type = DP_CT_BYTES,
     .offset = F(databricks.zerobus_max_request_bytes),
     .def = "2MiB",
     .min = 16 * KIB,
     .max = 64 * MIB,
     .doc = "Largest body of one Zerobus insert (Databricks publishes no REST limit: a "
            "conservative default, docs/DATABRICKS.md); a single larger row is sent alone"},
    {.path = "databricks.zerobus_max_records_per_request",
     .type = DP_CT_INT,
     .offset = F(databricks.zerobus_max_records_per_request),
     .def = "1000",
     .min = 1,
     .max = 100000,
     .doc = "Most rows in one Zerobus insert (no published limit: a conservative default)"},

    /* http, log, worker */
    {.path = "http.listen",
     .type = DP_CT_STRING,
     .offset = F(http.listen),
     .def = "0.0.0.0:9464",
     .check = check_listen,
     .allowed_doc = "host:port or :port, port 0 to 65535",
     .doc = "Address of /metrics, /healthz and /readyz (port 0: any free port)"},
    {.path = "http.liveness_max_age_ms",
     .type = DP_CT_MS,
     .offset = F(http.liveness_max_age_ms),
     .def = "60000",
     .min = 1000,
     .max = 3600000,
     .doc = "/healthz fails when a thread's heartbeat is older than this"},
    {.path = "http.readiness_broker_timeout_ms",
     .type = DP_CT_MS,
     .offset = F(http.readiness_broker_timeout_ms),
     .def = "60000",
     .min = 0,
     .max = 3600000,
     .check = check_broker_timeout,
     .allowed_doc = "0 (off), or between 2000 and 3600000",
     .doc = "/readyz fails (and says why) once no Kafka broker has been reachable for this "
            "long; liveness never depends on the brokers"},
    {.path = "log.level",
     .type = DP_CT_ENUM,
     .offset = F(log.level),
     .def = "info",
     .allowed = level_values,
     .env = "DELTAPORT_LOG_LEVEL",
     .doc = "Lowest level written to stderr"},
    {.path = "log.progress_interval_s",
     .type = DP_CT_SEC,
     .offset = F(log.progress_interval_s),
     .def = "60",
     .min = 0,
     .max = 86400,
     .doc = "Seconds between two progress lines of `run` (consumed, buffered, loaded, "
            "committed, lag, next flush due); 0: none"},
    {.path = "worker.id",
     .type = DP_CT_STRING,
     .offset = F(worker.id),
     .def_doc = "(host name)",
     .env = "DELTAPORT_WORKER_ID",
     .check = check_worker_id,
     .allowed_doc = "1 to 253 of [A-Za-z0-9._-]",
     .doc = "Name of this worker in logs, sync_runs and claims (the pod name in Kubernetes)"},
    {.path = "worker.shutdown_timeout_ms",
     .type = DP_CT_MS,
     .offset = F(worker.shutdown_timeout_ms),
     .def = "170000",
     .min = 1000,
     .max = 3600000,
     .doc = "Deadline of the SIGTERM flush; keep it 10 s under the pod's grace period"},
};

const size_t dp_config_table_len = sizeof(dp_config_table) / sizeof(dp_config_table[0]);

/* Properties deltaport takes from its own keys, and secret properties that
 * must not sit in the file. The owned consumer keys come from kafka.h. */
const dp_config_reserved_t dp_config_reserved_props[] = {
    {"bootstrap.servers", "set kafka.bootstrap_servers (or DELTAPORT_KAFKA_BOOTSTRAP_SERVERS)"},
    {"metadata.broker.list", "set kafka.bootstrap_servers (or DELTAPORT_KAFKA_BOOTSTRAP_SERVERS)"},
    {"sasl.password", "secret: set DELTAPORT_KAFKA_SASL_PASSWORD or kafka.sasl_password_file"},
    {"ssl.key.password",
     "secret: set DELTAPORT_KAFKA_SSL_KEY_PASSWORD or kafka.ssl_key_password_file"},
    {"ssl.keystore.password",
     "secret: set DELTAPORT_KAFKA_SSL_KEYSTORE_PASSWORD or kafka.ssl_keystore_password_file"},
    {"sasl.oauthbearer.client.secret",
     "secret: set DELTAPORT_KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET or "
     "kafka.sasl_oauthbearer_client_secret_file"},
    {"ssl.key.pem", "secret: mount the key and set ssl.key.location instead"},
    {NULL, NULL},
};

/* ------------------------------------------------------------------------- */
/* Lookups                                                                   */
/* ------------------------------------------------------------------------- */

void *dp_config_field(const dp_config_t *cfg, const dp_config_desc_t *desc)
{
    return (char *)cfg + desc->offset;
}

const dp_config_desc_t *dp_config_find(const char *path)
{
    for (size_t i = 0; i < dp_config_table_len; i++) {
        if (strcmp(dp_config_table[i].path, path) == 0) {
            return &dp_config_table[i];
        }
    }
    return NULL;
}

static const char *owned_hint(const char *property)
{
    if (strcmp(property, "statistics.interval.ms") == 0) {
        return "owned by deltaport: its statistics give the broker state of /readyz and "
               "deltaport_kafka_brokers_up (see http.readiness_broker_timeout_ms)";
    }
    if (strcmp(property, "group.id") == 0) {
        return "owned by deltaport: set kafka.group_id";
    }
    if (strcmp(property, "auto.offset.reset") == 0) {
        return "owned by deltaport: set kafka.initial_position (earliest or latest)";
    }
    if (strcmp(property, "partition.assignment.strategy") == 0) {
        return "owned by deltaport: it always uses cooperative-sticky";
    }
    if (strcmp(property, "rebalance_cb") == 0) {
        return "owned by deltaport: it installs its own rebalance callback";
    }
    return "owned by deltaport: offsets are stored and committed only after a load succeeds";
}

const char *dp_config_kafka_rejects(const char *property)
{
    for (int i = 0; dp_kafka_owned_keys[i]; i++) {
        if (strcmp(property, dp_kafka_owned_keys[i]) == 0) {
            return owned_hint(property);
        }
    }
    for (int i = 0; dp_config_reserved_props[i].property; i++) {
        if (strcmp(property, dp_config_reserved_props[i].property) == 0) {
            return dp_config_reserved_props[i].hint;
        }
    }
    return NULL;
}

int dp_config_check_keys(const dp_config_t *cfg, dp_err_t *err)
{
    int rc;

    for (size_t i = 0; i < dp_config_table_len; i++) {
        if (dp_config_table[i].check &&
            (rc = dp_config_table[i].check(&dp_config_table[i], cfg, err)) < 0) {
            return rc;
        }
    }
    return 0;
}
