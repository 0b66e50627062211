/*
 * fuzz_config: the configuration loader (src/config*.c) on a hostile file:
 * JSON syntax, unknown and duplicate keys, types, ranges, byte sizes, the
 * librdkafka passthrough (applied to a scratch rd_kafka_conf_t by finalize),
 * then the dump with masked secrets and the Kafka transport warnings.
 *
 * The input is written to a scratch file and loaded like `config check`
 * would. The secrets come from the environment, set to marker values;
 * oracle beyond the sanitizers: no marker ever appears in the dump or in an
 * error message (unless the input itself holds it: libFuzzer learns the
 * marker from the comparison and writes it into keys).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "fuzz_util.h"
#include "kafka/kafka.h"

#define MARKER "FuzzSecretMarker7"

static const char *const secret_envs[] = {
    "DELTAPORT_DATABRICKS_CLIENT_SECRET",    "DELTAPORT_DATABRICKS_TOKEN",
    "DELTAPORT_KAFKA_SASL_PASSWORD",         "DELTAPORT_KAFKA_SSL_KEY_PASSWORD",
    "DELTAPORT_KAFKA_SSL_KEYSTORE_PASSWORD", "DELTAPORT_KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET",
    "DELTAPORT_SCHEMA_REGISTRY_PASSWORD",
};

static int marker_in_input; /* the input itself holds the marker: nothing to prove */

static void no_marker(const char *where, const char *text)
{
    if (!marker_in_input && text != NULL && strstr(text, MARKER) != NULL) {
        fprintf(stderr, "fuzz_config: a secret appears in %s: %s\n", where, text);
        abort();
    }
}

static void on_warning(void *ctx, const char *msg)
{
    (void)ctx;
    no_marker("a transport warning", msg);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char *const overrides[] = {"DELTAPORT_KAFKA_BOOTSTRAP_SERVERS",
                                            "DELTAPORT_DATABRICKS_HOST",
                                            "DELTAPORT_WORKER_ID",
                                            "DELTAPORT_DATABRICKS_CLIENT_ID",
                                            "DELTAPORT_LOG_LEVEL",
                                            "DELTAPORT_SCHEMA_REGISTRY_URL",
                                            "DELTAPORT_SCHEMA_REGISTRY_USER"};

    (void)argc;
    (void)argv;
    dp_fuzz_quiet_logs();
    for (size_t i = 0; i < sizeof(overrides) / sizeof(overrides[0]); i++) {
        unsetenv(overrides[i]);
    }
    for (size_t i = 0; i < sizeof(secret_envs) / sizeof(secret_envs[0]); i++) {
        setenv(secret_envs[i], MARKER, 1);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = dp_fuzz_write("config.json", data, size);
    dp_config_t *cfg;
    dp_kafka_opts_t opts;
    dp_err_t err;
    char *dump = NULL;
    size_t dumplen = 0;
    FILE *out;

    marker_in_input = memmem(data, size, MARKER, strlen(MARKER)) != NULL;
    dp_err_clear(&err);
    cfg = dp_config_load(path, &err);
    if (cfg == NULL) {
        no_marker("an error message", err.msg);
        return 0;
    }
    out = open_memstream(&dump, &dumplen);
    if (out == NULL) {
        abort();
    }
    dp_config_dump(cfg, out);
    fclose(out);
    no_marker("config dump", dump);
    free(dump);
    dp_config_kafka_warnings(cfg, on_warning, NULL);
    dp_config_kafka_opts(cfg, &opts);
    dp_config_destroy(cfg);
    return 0;
}
