/*
 * config: the worker's configuration, one JSON file plus environment
 * overrides (docs/CONFIGURATION.md).
 *
 * Every setting is one row of a descriptor table (config_table.c): its JSON
 * path, type, default, allowed range or values, place in dp_config_t, secret
 * flag, environment variable and one-line description. The loader, the
 * environment overrides, `deltaport config dump` and docs/CONFIGURATION.md
 * are all driven by that table, so they cannot disagree.
 *
 * Invariants of a dp_config_t returned by dp_config_load():
 * - every key of the file was known, of the right type and within range;
 *   duplicates were rejected by the JSON parser;
 * - secrets (client secret, token, Kafka passwords) came only from their
 *   environment variable or from the file named by the `*_file` key, never
 *   from the JSON file itself; they are never printed (dp_config_dump masks
 *   them);
 * - `kafka.properties` holds no key that deltaport owns, and librdkafka
 *   accepted every property (dp_config_finalize tried them on a scratch
 *   rd_kafka_conf_t);
 * - the cross-key checks of dp_config_finalize() passed.
 *
 * Thread: a dp_config_t is built on the main thread before other threads
 * start; afterwards it is read-only and may be read from any thread.
 */
#ifndef DP_CONFIG_H
#define DP_CONFIG_H

#include "core/err.h"

#include <librdkafka/rdkafka.h>
#include <stdint.h>
#include <stdio.h>

/* A list of strings (e.g. kafka.topics). items[0..n) are owned. */
typedef struct dp_config_strlist {
    char **items;
    size_t n;
} dp_config_strlist_t;

/* One entry of an object of free keys: kafka.properties (value is the text
 * given to rd_kafka_conf_set, num unused) or schemas.fixed_writer_schema_ids
 * (key is a topic, num the schema id, value its decimal text). Owned. */
typedef struct dp_config_pair {
    char *key;
    char *value;
    int64_t num;
} dp_config_pair_t;

/* An ordered object of free keys, in file order. items[0..n) are owned. */
typedef struct dp_config_map {
    dp_config_pair_t *items;
    size_t n;
} dp_config_map_t;

/* kafka.initial_position */
enum { DP_CONFIG_START_EARLIEST = 0, DP_CONFIG_START_LATEST = 1 };
/* kafka.on_retention_gap */
enum { DP_CONFIG_GAP_RECORD = 0, DP_CONFIG_GAP_STOP = 1 };
/* databricks.auth */
enum { DP_CONFIG_AUTH_OAUTH = 0, DP_CONFIG_AUTH_PAT = 1 };
/* sink: how event rows reach their tables (docs/DELIVERY.md, "The two sinks") */
enum { DP_CONFIG_SINK_WAREHOUSE = 0, DP_CONFIG_SINK_ZEROBUS = 1 };
/* load.mode and the values of load.table_modes (docs/DELIVERY.md, "Load modes") */
enum { DP_CONFIG_LOAD_COPY = 0, DP_CONFIG_LOAD_MERGE_EVENT_ID = 1 };

/*
 * The effective configuration. Strings are owned by the config (NULL means
 * "not set", only for optional keys); booleans are 0/1; enums are the index
 * of the value in the allowed list documented next to the field. Durations
 * carry their unit in the name (_ms, _s). Field comments give the JSON key;
 * docs/CONFIGURATION.md has defaults and ranges.
 */
typedef struct dp_config {
    char *source; /* path the file was read from */
    int sink;     /* sink: DP_CONFIG_SINK_* */
    struct {
        char *bootstrap_servers;    /* kafka.bootstrap_servers */
        dp_config_strlist_t topics; /* kafka.topics (or empty) */
        char *topic_regex;          /* kafka.topic_regex (or NULL) */
        char *group_id;             /* kafka.group_id */
        int initial_position;       /* DP_CONFIG_START_* */
        int on_retention_gap;       /* DP_CONFIG_GAP_* */
        dp_config_map_t properties; /* kafka.properties, verbatim */
        char *sasl_password;        /* secret -> sasl.password */
        char *sasl_password_file;
        char *ssl_key_password; /* secret -> ssl.key.password */
        char *ssl_key_password_file;
        char *ssl_keystore_password; /* secret -> ssl.keystore.password */
        char *ssl_keystore_password_file;
        char *sasl_oauthbearer_client_secret; /* secret -> sasl.oauthbearer.client.secret */
        char *sasl_oauthbearer_client_secret_file;
    } kafka;
    struct {
        char *dir;                               /* schemas.dir */
        dp_config_map_t fixed_writer_schema_ids; /* topic -> schema id */
        char *registry_url;                      /* schemas.registry_url (or NULL) */
        int registry_allow_insecure_http;
        char *registry_user;     /* basic auth user (or NULL) */
        char *registry_password; /* secret */
        char *registry_password_file;
        char *registry_ca_file;            /* NULL: the system CA bundle */
        int64_t registry_timeout_ms;       /* one HTTP attempt */
        int64_t registry_retry_ms;         /* a failed id is not asked again sooner */
        int64_t registry_not_found_ttl_ms; /* how long a 404 is remembered */
        int64_t registry_cache_max;        /* ids remembered by the client */
    } schemas;
    struct {
        int mode; /* dp_route_mode_t: threshold, per_event, single */
        int64_t threshold;
        int64_t window_days;
        char *shared_table;
        char *single_table;
        int64_t stats_refresh_s;
        int backfill_on_promotion; /* move a promoted name's rows out of the shared table */
    } routing;
    struct {
        int mode;                    /* DP_CONFIG_LOAD_*: every event table's, unless... */
        dp_config_map_t table_modes; /* ...this table -> mode (num: DP_CONFIG_LOAD_*) says */
    } load;
    struct {
        int64_t max_events;
        int64_t max_bytes;
        int64_t max_age_ms;
        int64_t memory_budget_bytes;
    } flush;
    struct {
        char *host; /* https://... without trailing '/' */
        int allow_insecure_http;
        char *warehouse_id;
        char *catalog;
        char *schema;
        char *volume;
        int create_schema;
        int auth; /* DP_CONFIG_AUTH_* */
        char *client_id;
        char *client_secret; /* secret */
        char *client_secret_file;
        char *token; /* secret */
        char *token_file;
        int64_t http_timeout_ms;
        int64_t statement_wait_timeout_s;
        int64_t max_retries;
        int64_t max_concurrent_statements; /* lanes of the dbxpool */
        char *ca_file;                     /* NULL: the system CA bundle */
        /* sink "zerobus" (src/dbx/zerobus.h, src/load/sink_zerobus.h) */
        char *zerobus_endpoint;                  /* https://<workspace-id>.zerobus.<region>... */
        char *workspace_id;                      /* digits: the token's resource */
        int64_t zerobus_max_in_flight;           /* inserts in flight per worker */
        int64_t zerobus_max_request_bytes;       /* body of one insert */
        int64_t zerobus_max_records_per_request; /* rows of one insert */
    } databricks;
    struct {
        char *listen; /* "host:port" of /metrics, /healthz, /readyz */
        int64_t liveness_max_age_ms;
        int64_t readiness_broker_timeout_ms; /* 0: /readyz ignores the brokers */
    } http;
    struct {
        int level;                   /* dp_log_level_t: debug, info, warn, error */
        int64_t progress_interval_s; /* 0: no progress line */
    } log;
    struct {
        char *id; /* defaults to the host name */
        int64_t shutdown_timeout_ms;
    } worker;
} dp_config_t;

/*
 * Reads and validates the configuration file at path: applies the table's
 * defaults, the file, the environment overrides (DELTAPORT_KAFKA_BOOTSTRAP_SERVERS,
 * DELTAPORT_DATABRICKS_HOST, ...), reads secrets from their environment
 * variable or `*_file`, then runs dp_config_finalize().
 * Returns new (free with dp_config_destroy), or NULL with err filled:
 * DP_EINVAL (the message starts with "config: " and names the key path, the
 * value and what is allowed, or "file:line:column: reason" for bad JSON) or
 * DP_EIO (the file or a secret file cannot be read).
 * Thread: main, before other threads start (reads the environment).
 */
dp_config_t *dp_config_load(const char *path, dp_err_t *err);

/*
 * Frees cfg and everything it owns; secrets are overwritten before they are
 * freed. NULL and half-built configs are accepted. Thread: any.
 */
void dp_config_destroy(dp_config_t *cfg);

/*
 * Cross-key checks, returning the first problem: exactly one of kafka.topics
 * and kafka.topic_regex; https unless databricks.allow_insecure_http; the
 * credentials that databricks.auth needs; sink "zerobus" needs OAuth M2M,
 * databricks.zerobus_endpoint and databricks.workspace_id; flush.memory_budget_bytes >=
 * flush.max_bytes; librdkafka accepts every kafka property. Fills
 * worker.id with the host name when unset. Idempotent.
 * Returns 0 or DP_EINVAL with err filled ("config: <key>: ..."). Thread: main.
 */
int dp_config_finalize(dp_config_t *cfg, dp_err_t *err);

/*
 * Writes the effective configuration as indented JSON, in table order, with
 * every secret replaced by "(set)" or "(unset)". Returns 0 or DP_EIO.
 * Thread: any.
 */
int dp_config_dump(const dp_config_t *cfg, FILE *out);

/*
 * The load mode of an event table (DP_CONFIG_LOAD_*): its load.table_modes
 * entry, else load.mode. Thread: any.
 */
int dp_config_load_mode(const dp_config_t *cfg, const char *table);

/*
 * Sets the user's librdkafka properties (kafka.properties, in file order) and
 * the Kafka secrets on conf. The keys deltaport owns (group.id, bootstrap
 * servers, commit settings, assignment strategy, rebalance callback) are not
 * touched: the kafka module sets them. Returns 0 or DP_EINVAL with err
 * "config: kafka.properties.<key> = "<value>": <librdkafka's errstr>".
 * Thread: any.
 */
int dp_config_apply_kafka(const dp_config_t *cfg, rd_kafka_conf_t *conf, dp_err_t *err);

/*
 * dp_config_apply_kafka() in the shape of kafka.h's dp_kafka_apply_fn:
 * ctx is the const dp_config_t *. Thread: any.
 */
int dp_config_kafka_apply_cb(rd_kafka_conf_t *conf, void *ctx, dp_err_t *err);

struct dp_kafka_opts;

/*
 * Fills the kafka module's options (kafka.h, dp_kafka_opts_t) from cfg:
 * bootstrap servers, group, topics or regex, initial position, client id
 * (worker.id, unless kafka.properties sets client.id) and
 * dp_config_kafka_apply_cb with cfg as its context. Every
 * pointer is borrowed from cfg, which must outlive dp_kafka_new(). Logs the
 * transport warnings of dp_config_kafka_warnings().
 * Thread: any.
 */
void dp_config_kafka_opts(const dp_config_t *cfg, struct dp_kafka_opts *opts);

/* Receives one warning sentence (borrowed for the call). */
typedef void (*dp_config_warn_fn)(void *ctx, const char *msg);

/*
 * The Kafka transport's risks, one sentence each through warn: TLS with
 * enable.ssl.certificate.verification=false or
 * ssl.endpoint.identification.algorithm=none; security.protocol plaintext
 * (the default) or sasl_plaintext while a bootstrap server is not a loopback
 * address (localhost, 127.0.0.0/8, ::1). Returns the number of warnings.
 * dp_config_kafka_opts logs them at warn, so every worker says them at start.
 * Thread: any.
 */
int dp_config_kafka_warnings(const dp_config_t *cfg, dp_config_warn_fn warn, void *ctx);

/*
 * Writes docs/CONFIGURATION.md (Markdown generated from the table).
 * Returns 0 or DP_EIO. Thread: any.
 */
int dp_config_doc(FILE *out);

/*
 * Writes the JSON Schema (draft-07) of the configuration file, generated
 * from the same table: every section and key, types, ranges, enums, and the
 * librdkafka properties kafka.properties refuses. Returns 0 or DP_EIO.
 */
int dp_config_schema(FILE *out);

#endif
