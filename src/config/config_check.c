/*
 * config_check: the checks that span several keys (dp_config_finalize), the
 * librdkafka passthrough (dp_config_apply_kafka), and the text helpers that
 * describe what a key allows, shared by error messages and the docs.
 *
 * The kafka properties are validated by librdkafka itself: finalize applies
 * them to a scratch rd_kafka_conf_t, so `config check` reports exactly the
 * errstr that `run` would hit, after the kafka.properties.<key> path.
 */
#include "config/config_int.h"
#include "core/log.h"
#include "core/mem.h"
#include "kafka/kafka.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ------------------------------------------------------------------------- */
/* Text helpers                                                              */
/* ------------------------------------------------------------------------- */

void dp_config_fmt_bytes(int64_t n, char *out, size_t outlen)
{
    static const char *const units[] = {"GiB", "MiB", "KiB"};
    static const int shifts[] = {30, 20, 10};

    for (int i = 0; i < 3; i++) {
        int64_t unit = (int64_t)1 << shifts[i];
        if (n >= unit && n % unit == 0) {
            snprintf(out, outlen, "%lld%s", (long long)(n / unit), units[i]);
            return;
        }
    }
    snprintf(out, outlen, "%lld", (long long)n);
}

const char *dp_config_type_name(dp_config_type_t type)
{
    switch (type) {
    case DP_CT_STRING:
        return "string";
    case DP_CT_INT:
        return "integer";
    case DP_CT_MS:
        return "integer (ms)";
    case DP_CT_SEC:
        return "integer (s)";
    case DP_CT_BYTES:
        return "byte size";
    case DP_CT_BOOL:
        return "boolean";
    case DP_CT_ENUM:
        return "string (enum)";
    case DP_CT_STRLIST:
        return "array of strings";
    case DP_CT_PROPS:
        return "object (property -> value)";
    case DP_CT_IDMAP:
        return "object (topic -> integer)";
    case DP_CT_ENUMMAP:
        return "object (table -> string)";
    case DP_CT_SECRET:
        return "secret";
    }
    return "?";
}

void dp_config_allowed_text(const dp_config_desc_t *desc, char *out, size_t outlen)
{
    char lo[32], hi[32];
    size_t used;

    out[0] = '\0';
    if (desc->allowed_doc) {
        snprintf(out, outlen, "%s", desc->allowed_doc);
        return;
    }
    switch (desc->type) {
    case DP_CT_INT:
    case DP_CT_MS:
    case DP_CT_SEC:
        snprintf(out, outlen, "between %lld and %lld", (long long)desc->min, (long long)desc->max);
        break;
    case DP_CT_BYTES:
        dp_config_fmt_bytes(desc->min, lo, sizeof(lo));
        dp_config_fmt_bytes(desc->max, hi, sizeof(hi));
        snprintf(out, outlen, "between %s and %s", lo, hi);
        break;
    case DP_CT_STRLIST:
        snprintf(out, outlen, "%lld to %lld items", (long long)desc->min, (long long)desc->max);
        break;
    case DP_CT_IDMAP:
        snprintf(out, outlen, "values between %lld and %lld", (long long)desc->min,
                 (long long)desc->max);
        break;
    case DP_CT_ENUM:
    case DP_CT_ENUMMAP:
        used = (size_t)snprintf(out, outlen, "%s",
                                desc->type == DP_CT_ENUM ? "one of " : "values one of ");
        for (int i = 0; desc->allowed[i] && used < outlen; i++) {
            used += (size_t)snprintf(out + used, outlen - used, "%s%s", i ? ", " : "",
                                     desc->allowed[i]);
        }
        break;
    default:
        break;
    }
}

/* ------------------------------------------------------------------------- */
/* librdkafka passthrough                                                    */
/* ------------------------------------------------------------------------- */

static int apply_secret(const dp_config_t *cfg, const dp_config_desc_t *desc, rd_kafka_conf_t *conf,
                        dp_err_t *err)
{
    const char *value = *(char *const *)dp_config_field(cfg, desc);
    char errstr[512];

    if (!value || !desc->kafka_property) {
        return 0;
    }
    if (rd_kafka_conf_set(conf, desc->kafka_property, value, errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
        /* errstr may quote the value; the value is a secret, so it is not shown. */
        return dp_err_set(err, DP_EINVAL, 0, "config: %s: librdkafka refused %s", desc->path,
                          desc->kafka_property);
    }
    return 0;
}

/* What to do instead of SASL/OAUTHBEARER with OIDC, which Debian 12's
 * librdkafka 2.0.2 is built without (it needs libcurl in librdkafka). */
#define OIDC_ALTERNATIVES                                                                          \
    "use SASL/SCRAM-SHA-512, SASL/PLAIN (Confluent Cloud API keys) or mTLS if the cluster "        \
    "offers them, or a librdkafka built with OIDC (docs/SETUP.md, \"What Debian's librdkafka "     \
    "cannot do\")"

int dp_config_apply_kafka(const dp_config_t *cfg, rd_kafka_conf_t *conf, dp_err_t *err)
{
    const dp_config_map_t *props = &cfg->kafka.properties;
    char errstr[512];
    int rc;

    for (size_t i = 0; i < props->n; i++) {
        if (rd_kafka_conf_set(conf, props->items[i].key, props->items[i].value, errstr,
                              sizeof(errstr)) != RD_KAFKA_CONF_OK) {
            if (strstr(errstr, "not supported in this build") &&
                strncmp(props->items[i].key, "sasl.oauthbearer.", 17) == 0) {
                return dp_err_set(
                    err, DP_EINVAL, 0,
                    "config: kafka.properties.%s = \"%.40s\": not supported by "
                    "this librdkafka %s (Debian 12's is built without OAuth/OIDC); " OIDC_ALTERNATIVES,
                    props->items[i].key, props->items[i].value, rd_kafka_version_str());
            }
            return dp_err_set(err, DP_EINVAL, 0, "config: kafka.properties.%s = \"%.80s\": %s",
                              props->items[i].key, props->items[i].value, errstr);
        }
    }
    for (size_t i = 0; i < dp_config_table_len; i++) {
        if (dp_config_table[i].type == DP_CT_SECRET &&
            (rc = apply_secret(cfg, &dp_config_table[i], conf, err)) < 0) {
            return rc;
        }
    }
    return 0;
}

int dp_config_kafka_apply_cb(rd_kafka_conf_t *conf, void *ctx, dp_err_t *err)
{
    return dp_config_apply_kafka((const dp_config_t *)ctx, conf, err);
}

/* ------------------------------------------------------------------------- */
/* Transport warnings                                                        */
/* ------------------------------------------------------------------------- */

/* The value of kafka.properties.<key>, or NULL. Borrowed from cfg. */
static const char *kafka_prop(const dp_config_t *cfg, const char *key)
{
    const char *v = NULL;

    for (size_t i = 0; i < cfg->kafka.properties.n; i++) {
        if (strcmp(cfg->kafka.properties.items[i].key, key) == 0) {
            v = cfg->kafka.properties.items[i].value; /* librdkafka keeps the last one */
        }
    }
    return v;
}

/* librdkafka's false: "false", "f" or "0" (its bool parser, any case). */
static int prop_is_false(const char *v)
{
    return v && (!strcasecmp(v, "false") || !strcasecmp(v, "f") || !strcmp(v, "0"));
}

/* 1 when host (no port, no brackets) names this machine: localhost, a
 * *.localhost name, 127.0.0.0/8, ::1 or ::ffff:127.x.y.z. */
static int host_is_loopback(const char *host)
{
    unsigned char a4[4], a6[16];
    static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    size_t n = strlen(host);

    if (!strcasecmp(host, "localhost") || (n > 10 && !strcasecmp(host + n - 10, ".localhost"))) {
        return 1;
    }
    if (inet_pton(AF_INET, host, a4) == 1) {
        return a4[0] == 127;
    }
    if (inet_pton(AF_INET6, host, a6) == 1) {
        static const unsigned char one[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        return !memcmp(a6, one, 16) || (!memcmp(a6, v4mapped, 12) && a6[12] == 127);
    }
    return 0;
}

/* Copies the host of one bootstrap entry ("[proto://]host[:port]",
 * "[v6]:port") into out. Returns 0, or -1 when it is empty or too long. */
static int broker_host(const char *entry, size_t len, char *out, size_t outlen)
{
    const char *p = entry, *end = entry + len, *colon = NULL;

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }
    while (end > p && (end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }
    for (const char *q = p; q + 2 < end; q++) {
        if (q[0] == ':' && q[1] == '/' && q[2] == '/') {
            p = q + 3;
            break;
        }
    }
    if (p < end && *p == '[') {
        const char *close = memchr(p, ']', (size_t)(end - p));
        if (close == NULL) {
            return -1;
        }
        p++;
        end = close;
    } else {
        for (const char *q = p; q < end; q++) {
            if (*q == ':') {
                colon = colon ? end : q; /* two colons: a bare IPv6 address */
            }
        }
        if (colon != NULL && colon != end) {
            end = colon;
        }
    }
    if (end <= p || (size_t)(end - p) >= outlen) {
        return -1;
    }
    memcpy(out, p, (size_t)(end - p));
    out[end - p] = '\0';
    return 0;
}

int dp_config_kafka_warnings(const dp_config_t *cfg, dp_config_warn_fn warn, void *ctx)
{
    const char *proto = kafka_prop(cfg, "security.protocol");
    const char *verify = kafka_prop(cfg, "enable.ssl.certificate.verification");
    const char *ident = kafka_prop(cfg, "ssl.endpoint.identification.algorithm");
    const char *servers = cfg->kafka.bootstrap_servers ? cfg->kafka.bootstrap_servers : "";
    int plain = proto == NULL || !strcasecmp(proto, "plaintext");
    int sasl_plain = proto != NULL && !strcasecmp(proto, "sasl_plaintext");
    int tls = proto != NULL && (!strcasecmp(proto, "ssl") || !strcasecmp(proto, "sasl_ssl"));
    char msg[512], host[256];
    int n = 0;

    if (tls && prop_is_false(verify)) {
        warn(ctx, "kafka: kafka.properties.enable.ssl.certificate.verification is false: the "
                  "broker's certificate is not checked, so anyone on the network path can pose "
                  "as the broker, read every event and, with SASL, the password; remove the "
                  "property and set ssl.ca.location to the broker's CA instead");
        n++;
    }
    if (tls && ident != NULL && !strcasecmp(ident, "none")) {
        warn(ctx, "kafka: kafka.properties.ssl.endpoint.identification.algorithm is none: the "
                  "broker's certificate is not matched to its host name, so any certificate "
                  "of the CA passes; use https (the default)");
        n++;
    }
    for (const char *p = servers; (plain || sasl_plain) && *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);

        if (broker_host(p, len, host, sizeof(host)) == 0 && !host_is_loopback(host)) {
            snprintf(msg, sizeof(msg),
                     "kafka: security.protocol is %s%s and broker %.200s is not on this host: "
                     "%s cross the network unencrypted; set kafka.properties.security.protocol "
                     "to %s",
                     plain ? "plaintext" : "sasl_plaintext", proto ? "" : " (the default)", host,
                     plain ? "events" : "events and the SASL credentials",
                     plain ? "ssl or sasl_ssl" : "sasl_ssl");
            warn(ctx, msg);
            n++;
            break; /* one line says it; the protocol is per client, not per broker */
        }
        p += len + (comma ? 1 : 0);
    }
    return n;
}

static void log_warning(void *ctx, const char *msg)
{
    (void)ctx;
    dp_log(DP_LOG_WARN, "config", "%s", msg);
}

void dp_config_kafka_opts(const dp_config_t *cfg, dp_kafka_opts_t *opts)
{
    dp_config_kafka_warnings(cfg, log_warning, NULL);
    memset(opts, 0, sizeof(*opts));
    opts->bootstrap_servers = cfg->kafka.bootstrap_servers;
    opts->group_id = cfg->kafka.group_id;
    opts->topics = (const char *const *)cfg->kafka.topics.items;
    opts->ntopics = cfg->kafka.topics.n;
    opts->topic_regex = cfg->kafka.topic_regex;
    opts->initial_position_latest = cfg->kafka.initial_position == DP_CONFIG_START_LATEST;
    /* kafka.c sets client.id after the user's properties, so a client.id the
     * user chose must not be replaced by the worker id. */
    opts->client_id = cfg->worker.id;
    for (size_t i = 0; i < cfg->kafka.properties.n; i++) {
        if (strcmp(cfg->kafka.properties.items[i].key, "client.id") == 0) {
            opts->client_id = NULL;
        }
    }
    opts->apply_properties = dp_config_kafka_apply_cb;
    opts->apply_ctx = (void *)cfg;
    opts->worker_id = cfg->worker.id;
    /* A quarter of the readiness timeout, between 1 and 5 s: the broker
     * state is at most that old when /readyz decides. */
    opts->stats_interval_ms = 5000;
    if (cfg->http.readiness_broker_timeout_ms > 0) {
        int64_t q = cfg->http.readiness_broker_timeout_ms / 4 / 1000 * 1000;

        opts->stats_interval_ms = (int)(q < 1000 ? 1000 : q > 5000 ? 5000 : q);
    }
}

/* ------------------------------------------------------------------------- */
/* Cross-key checks                                                          */
/* ------------------------------------------------------------------------- */

static void default_worker_id(dp_config_t *cfg)
{
    char host[256] = "";

    if (cfg->worker.id) {
        return;
    }
    if (gethostname(host, sizeof(host) - 1) != 0 || !host[0]) {
        snprintf(host, sizeof(host), "deltaport");
    }
    cfg->worker.id = dp_strdup(host);
}

static void strip_trailing_slashes(char *url)
{
    size_t len = url ? strlen(url) : 0;

    while (len > 0 && url[len - 1] == '/') {
        url[--len] = '\0';
    }
}

static int check_subscription(const dp_config_t *cfg, dp_err_t *err)
{
    const dp_config_map_t *ids = &cfg->schemas.fixed_writer_schema_ids;

    if ((cfg->kafka.topics.n > 0) == (cfg->kafka.topic_regex != NULL)) {
        return dp_err_set(err, DP_EINVAL, 0,
                          "config: kafka: set exactly one of kafka.topics and kafka.topic_regex");
    }
    for (size_t i = 0; i < ids->n && cfg->kafka.topics.n > 0; i++) {
        size_t j = 0;
        while (j < cfg->kafka.topics.n && strcmp(cfg->kafka.topics.items[j], ids->items[i].key)) {
            j++;
        }
        if (j == cfg->kafka.topics.n) {
            return dp_err_set(err, DP_EINVAL, 0,
                              "config: schemas.fixed_writer_schema_ids.%s: topic is not in "
                              "kafka.topics",
                              ids->items[i].key);
        }
    }
    return 0;
}

static int check_databricks(const dp_config_t *cfg, dp_err_t *err)
{
    const char *host = cfg->databricks.host;

    if (!host) {
        return dp_err_set(err, DP_EINVAL, 0, "config: databricks.host is required");
    }
    if (strncmp(host, "https://", 8) != 0 && !cfg->databricks.allow_insecure_http) {
        return dp_err_set(err, DP_EINVAL, 0,
                          "config: databricks.host = \"%.80s\": must start with https:// "
                          "(http:// only with databricks.allow_insecure_http: true)",
                          host);
    }
    if (cfg->databricks.auth == DP_CONFIG_AUTH_OAUTH && !cfg->databricks.client_id) {
        return dp_err_set(err, DP_EINVAL, 0,
                          "config: databricks.client_id is required with databricks.auth "
                          "\"oauth\" (or set DELTAPORT_DATABRICKS_CLIENT_ID)");
    }
    if (cfg->databricks.auth == DP_CONFIG_AUTH_OAUTH && !cfg->databricks.client_secret) {
        return dp_err_set(err, DP_EINVAL, 0,
                          "config: databricks.client_secret is not set: set "
                          "DELTAPORT_DATABRICKS_CLIENT_SECRET or databricks.client_secret_file");
    }
    if (cfg->databricks.auth == DP_CONFIG_AUTH_PAT && !cfg->databricks.token) {
        return dp_err_set(err, DP_EINVAL, 0,
                          "config: databricks.token is not set: set DELTAPORT_DATABRICKS_TOKEN "
                          "or databricks.token_file");
    }
    /* The server holds a submit for wait_timeout before it answers PENDING:
     * a request timeout inside that window cuts every slow statement off and
     * submits it again, adding load to a warehouse that is already slow. */
    if (cfg->databricks.http_timeout_ms < cfg->databricks.statement_wait_timeout_s * 1000 + 5000) {
        return dp_err_set(err, DP_EINVAL, 0,
                          "config: databricks.http_timeout_ms = %lld must be at least "
                          "databricks.statement_wait_timeout_s (%lld s) + 5 s, or a statement "
                          "that takes the whole wait times out on the client and is submitted "
                          "again",
                          (long long)cfg->databricks.http_timeout_ms,
                          (long long)cfg->databricks.statement_wait_timeout_s);
    }
    return 0;
}

/* sink "zerobus": Zerobus takes only OAuth M2M tokens, minted for the
 * workspace id at the Zerobus endpoint (docs/DATABRICKS.md, "Zerobus Ingest"). */
static int check_zerobus(const dp_config_t *cfg, dp_err_t *err)
{
    const char *ep = cfg->databricks.zerobus_endpoint;

    if (cfg->sink != DP_CONFIG_SINK_ZEROBUS) {
        return 0;
    }
    /* The zerobus sink inserts rows; a MERGE on event_id is a warehouse load. */
    if (cfg->load.mode == DP_CONFIG_LOAD_MERGE_EVENT_ID) {
        return dp_err_set(err, DP_EINVAL, 0,
                          "config: load.mode \"merge_event_id\" needs sink \"warehouse\" "
                          "(the zerobus sink inserts rows; its views remove redeliveries on "
                          "the Kafka position, not on event_id)");
    }
    for (size_t i = 0; i < cfg->load.table_modes.n; i++) {
        if (cfg->load.table_modes.items[i].num == DP_CONFIG_LOAD_MERGE_EVENT_ID) {
            return dp_err_set(err, DP_EINVAL, 0,
                              "config: load.table_modes.%.64s = \"merge_event_id\" needs sink "
                              "\"warehouse\" (the zerobus sink inserts rows)",
                              cfg->load.table_modes.items[i].key);
        }
    }
    if (cfg->databricks.auth != DP_CONFIG_AUTH_OAUTH) {
        return dp_err_set(err, DP_EINVAL, 0,
                          "config: sink \"zerobus\" needs databricks.auth \"oauth\" (Zerobus "
                          "Ingest accepts only OAuth tokens of a service principal)");
    }
    if (!ep) {
        return dp_err_set(err, DP_EINVAL, 0,
                          "config: databricks.zerobus_endpoint is required with sink "
                          "\"zerobus\" (https://<workspace-id>.zerobus.<region>.cloud."
                          "databricks.com, or set DELTAPORT_DATABRICKS_ZEROBUS_ENDPOINT)");
    }
    if (strncmp(ep, "https://", 8) != 0 && !cfg->databricks.allow_insecure_http) {
        return dp_err_set(err, DP_EINVAL, 0,
                          "config: databricks.zerobus_endpoint = \"%.80s\": must start with "
                          "https:// (http:// only with databricks.allow_insecure_http: true)",
                          ep);
    }
    if (!cfg->databricks.workspace_id) {
        return dp_err_set(err, DP_EINVAL, 0,
                          "config: databricks.workspace_id is required with sink \"zerobus\" "
                          "(the o= number of the workspace URL, or set "
                          "DELTAPORT_DATABRICKS_WORKSPACE_ID)");
    }
    return 0;
}

static int check_flush(const dp_config_t *cfg, dp_err_t *err)
{
    char budget[32], max[32];

    if (cfg->flush.memory_budget_bytes < cfg->flush.max_bytes) {
        dp_config_fmt_bytes(cfg->flush.memory_budget_bytes, budget, sizeof(budget));
        dp_config_fmt_bytes(cfg->flush.max_bytes, max, sizeof(max));
        return dp_err_set(err, DP_EINVAL, 0,
                          "config: flush.memory_budget_bytes = %s: must be at least "
                          "flush.max_bytes (%s)",
                          budget, max);
    }
    return 0;
}

static const char *kafka_property(const dp_config_t *cfg, const char *key)
{
    for (size_t i = 0; i < cfg->kafka.properties.n; i++) {
        if (strcmp(cfg->kafka.properties.items[i].key, key) == 0) {
            return cfg->kafka.properties.items[i].value;
        }
    }
    return NULL;
}

/* sasl.mechanism is only checked by rd_kafka_new (`run` would fail at
 * start): the mechanisms this librdkafka was built with (builtin.features),
 * and a clear word on AWS_MSK_IAM, which librdkafka does not implement. */
static int check_sasl_mechanism(const dp_config_t *cfg, rd_kafka_conf_t *conf, dp_err_t *err)
{
    static const struct {
        const char *mechanism, *feature;
    } known[] = {
        {"PLAIN", "sasl_plain"},
        {"SCRAM-SHA-256", "sasl_scram"},
        {"SCRAM-SHA-512", "sasl_scram"},
        {"GSSAPI", "sasl_gssapi"},
        {"OAUTHBEARER", "sasl_oauthbearer"},
    };
    const char *mech = kafka_property(cfg, "sasl.mechanism");
    char features[512] = "";
    size_t len = sizeof(features);

    if (!mech) {
        mech = kafka_property(cfg, "sasl.mechanisms");
    }
    if (!mech) {
        return 0;
    }
    if (strcmp(mech, "AWS_MSK_IAM") == 0) {
        return dp_err_set(err, DP_EINVAL, 0,
                          "config: kafka.properties.sasl.mechanism = \"AWS_MSK_IAM\": not "
                          "supported: librdkafka has no AWS_MSK_IAM mechanism (IAM needs "
                          "OAUTHBEARER with an AWS token callback, which deltaport does not "
                          "have). For Amazon MSK use SASL/SCRAM-SHA-512 (a secret in AWS "
                          "Secrets Manager) or mTLS (docs/SETUP.md, \"Amazon MSK\")");
    }
    rd_kafka_conf_get(conf, "builtin.features", features, &len);
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (strcmp(mech, known[i].mechanism) == 0) {
            if (strstr(features, known[i].feature)) {
                return 0;
            }
            return dp_err_set(err, DP_EINVAL, 0,
                              "config: kafka.properties.sasl.mechanism = \"%.40s\": this "
                              "librdkafka was built without it (builtin.features: %s)",
                              mech, features);
        }
    }
    return dp_err_set(err, DP_EINVAL, 0,
                      "config: kafka.properties.sasl.mechanism = \"%.40s\": unknown mechanism; "
                      "librdkafka knows PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, GSSAPI and "
                      "OAUTHBEARER",
                      mech);
}

static int check_kafka_properties(const dp_config_t *cfg, dp_err_t *err)
{
    rd_kafka_conf_t *scratch = rd_kafka_conf_new();
    int rc = dp_config_apply_kafka(cfg, scratch, err);

    if (rc == 0) {
        rc = check_sasl_mechanism(cfg, scratch, err);
    }
    rd_kafka_conf_destroy(scratch);
    return rc;
}

int dp_config_finalize(dp_config_t *cfg, dp_err_t *err)
{
    int rc;

    default_worker_id(cfg);
    strip_trailing_slashes(cfg->databricks.host);
    strip_trailing_slashes(cfg->databricks.zerobus_endpoint);
    if ((rc = dp_config_check_keys(cfg, err)) < 0 || (rc = check_subscription(cfg, err)) < 0 ||
        (rc = check_databricks(cfg, err)) < 0 || (rc = check_zerobus(cfg, err)) < 0 ||
        (rc = check_flush(cfg, err)) < 0 || (rc = check_kafka_properties(cfg, err)) < 0) {
        return rc;
    }
    return 0;
}
