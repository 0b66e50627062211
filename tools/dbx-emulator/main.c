/*
 * deltaport-dbx-emulator: a local Databricks workspace for tests and the demo
 * (OAuth M2M, Files API on Volumes, Statement Execution API), with fault
 * injection. See docs/EMULATOR.md.
 *
 * main owns every service and their order: parse the command line, open the
 * engine, build the token store, fault table, request log and statement store,
 * start the HTTP server (HTTPS with --tls-cert and --tls-key), print
 * "LISTENING http[s]://127.0.0.1:PORT", wait for
 * SIGTERM/SIGINT, then tear down in reverse (statements first, so that
 * waiting submits answer before the server stops). Exit status: 0 after a
 * clean stop, 1 when start-up fails, 2 on a usage error.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"
#include "faults.h"
#include "oauth.h"
#include "reqlog.h"
#include "server.h"
#include "sim.h"
#include "statements.h"
#include "zerobus.h"

#define MAX_REPEATED 32

typedef struct options {
    long port;
    const char *state_dir;
    const char *clients[MAX_REPEATED];
    size_t nclients;
    const char *pats[MAX_REPEATED];
    size_t npats;
    const char *faults[MAX_REPEATED];
    size_t nfaults;
    long token_ttl;
    const char *warehouse_id;
    const char *permissions;
    const char *request_log;
    unsigned long long seed;
    unsigned long long max_upload;
    long max_statements;
    const char *workspace_id;
    unsigned long long zerobus_max_bytes;
    long zerobus_max_records;
    emu_sim_latency_t latency; /* --statement-latency-ms and friends (sim.h) */
    const char *tls_cert;      /* PEM files: serve HTTPS (both or neither) */
    const char *tls_key;
} options_t;

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: deltaport-dbx-emulator [--port N] [--state-dir DIR] [--client ID:SECRET]...\n"
            "         [--pat TOKEN=PRINCIPAL]... [--token-ttl SECONDS] [--warehouse-id ID]\n"
            "         [--permissions FILE] [--request-log FILE] [--fault JSON]... [--seed N]\n"
            "         [--max-upload-bytes N] [--max-statements N]\n"
            "         [--statement-latency-ms N] [--files-latency-ms N] [--copy-ms-per-mib N]\n"
            "         [--oauth-latency-ms N] [--warehouse-concurrency N]\n"
            "         [--workspace-id DIGITS] [--zerobus-latency-ms N]\n"
            "         [--zerobus-visibility-ms N] [--zerobus-max-request-bytes N]\n"
            "         [--zerobus-max-records N] [--tls-cert PEM --tls-key PEM]\n"
            "Listens on 127.0.0.1 and prints 'LISTENING http://127.0.0.1:PORT' when ready\n"
            "(https:// with --tls-cert and --tls-key).\n"
            "See docs/EMULATOR.md.\n");
}

static int parse_ull(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end = NULL;
    unsigned long long v;

    if (s == NULL || *s == '\0' || *s == '-') {
        return -1;
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

static int push(const char **list, size_t *n, const char *v)
{
    if (*n == MAX_REPEATED) {
        return -1;
    }
    list[(*n)++] = v;
    return 0;
}

/* Handles one "--name value" pair. Returns 0 or -1 (bad value). */
static int apply_option(options_t *o, const char *name, const char *v)
{
    unsigned long long n = 0;
    int sim = emu_sim_latency_option(&o->latency, name, v);

    if (sim != 0) {
        return sim > 0 ? 0 : -1;
    }
    if (strcmp(name, "--port") == 0 && parse_ull(v, 65535, &n) == 0) {
        o->port = (long)n;
    } else if (strcmp(name, "--state-dir") == 0) {
        o->state_dir = v;
    } else if (strcmp(name, "--client") == 0) {
        return push(o->clients, &o->nclients, v);
    } else if (strcmp(name, "--pat") == 0) {
        return push(o->pats, &o->npats, v);
    } else if (strcmp(name, "--fault") == 0) {
        return push(o->faults, &o->nfaults, v);
    } else if (strcmp(name, "--token-ttl") == 0 && parse_ull(v, 86400 * 365, &n) == 0 && n > 0) {
        o->token_ttl = (long)n;
    } else if (strcmp(name, "--warehouse-id") == 0 && v[0] != '\0') {
        o->warehouse_id = v;
    } else if (strcmp(name, "--permissions") == 0) {
        o->permissions = v;
    } else if (strcmp(name, "--request-log") == 0) {
        o->request_log = v;
    } else if (strcmp(name, "--seed") == 0 && parse_ull(v, ~0ull, &n) == 0) {
        o->seed = n;
    } else if (strcmp(name, "--max-upload-bytes") == 0 && parse_ull(v, ~0ull, &n) == 0) {
        o->max_upload = n;
    } else if (strcmp(name, "--max-statements") == 0 && parse_ull(v, 10000000, &n) == 0 && n > 0) {
        o->max_statements = (long)n;
    } else if (strcmp(name, "--tls-cert") == 0 && v[0] != '\0') {
        o->tls_cert = v;
    } else if (strcmp(name, "--tls-key") == 0 && v[0] != '\0') {
        o->tls_key = v;
    } else if (strcmp(name, "--workspace-id") == 0 && v[0] != '\0' && strlen(v) <= 32 &&
               strspn(v, "0123456789") == strlen(v)) {
        o->workspace_id = v;
    } else if (strcmp(name, "--zerobus-max-request-bytes") == 0 &&
               parse_ull(v, 1ull << 30, &n) == 0 && n >= 1024) {
        o->zerobus_max_bytes = n;
    } else if (strcmp(name, "--zerobus-max-records") == 0 && parse_ull(v, 10000000, &n) == 0 &&
               n > 0) {
        o->zerobus_max_records = (long)n;
    } else {
        return -1;
    }
    return 0;
}

/* Returns 0, 1 when --help was asked, or -1 on a usage error. */
static int parse_args(int argc, char **argv, options_t *o)
{
    int i;

    memset(o, 0, sizeof(*o));
    o->token_ttl = 3600;
    o->warehouse_id = "emulator-wh";
    o->seed = 1;
    o->max_upload = 5ull * 1024 * 1024 * 1024; /* the Files API's single-shot limit */
    o->max_statements = 10000;
    o->workspace_id = "1234567890123456";
    o->zerobus_max_bytes = EMU_ZEROBUS_MAX_BYTES_DEFAULT;
    o->zerobus_max_records = EMU_ZEROBUS_MAX_RECORDS_DEFAULT;
    emu_sim_latency_defaults(&o->latency);
    for (i = 1; i < argc; i++) {
        char name[64];
        const char *eq = strchr(argv[i], '=');
        const char *value;

        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            return 1;
        }
        if (strncmp(argv[i], "--", 2) == 0 && eq != NULL && (size_t)(eq - argv[i]) < sizeof(name)) {
            snprintf(name, sizeof(name), "%.*s", (int)(eq - argv[i]), argv[i]);
            value = eq + 1;
        } else if (i + 1 < argc) {
            snprintf(name, sizeof(name), "%s", argv[i]);
            value = argv[++i];
        } else {
            fprintf(stderr, "deltaport-dbx-emulator: %s needs a value\n", argv[i]);
            return -1;
        }
        if (apply_option(o, name, value) < 0) {
            fprintf(stderr, "deltaport-dbx-emulator: bad option %s %s\n", name, value);
            return -1;
        }
    }
    if ((o->tls_cert == NULL) != (o->tls_key == NULL)) {
        fprintf(stderr, "deltaport-dbx-emulator: --tls-cert and --tls-key go together\n");
        return -1;
    }
    return 0;
}

/* Reads a whole PEM file into new memory (NUL-terminated; caller frees).
 * Returns NULL with a message on stderr. */
static char *read_pem(const char *what, const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n = -1;

    if (f != NULL && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && n < (1L << 20) &&
        fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) != NULL &&
        fread(buf, 1, (size_t)n, f) == (size_t)n) {
        buf[n] = '\0';
        fclose(f);
        return buf;
    }
    fprintf(stderr, "deltaport-dbx-emulator: %s %s: cannot read it (%s)\n", what, path,
            f == NULL ? strerror(errno) : "empty, over 1 MiB or unreadable");
    if (f != NULL) {
        fclose(f);
    }
    free(buf);
    return NULL;
}

/* Removes a directory tree we created (best effort, no symlink following). */
static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *de;
    char child[4096];
    struct stat st;

    if (d != NULL) {
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
                continue;
            }
            snprintf(child, sizeof(child), "%s/%s", path, de->d_name);
            if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode)) {
                remove_tree(child);
            } else {
                unlink(child);
            }
        }
        closedir(d);
    }
    rmdir(path);
}

/* Everything main builds; torn down by teardown() in reverse. */
typedef struct app {
    options_t opt;
    char state_dir[PATH_MAX];
    int state_dir_is_temp;
    char *tls_cert_pem; /* owned; the server borrows them */
    char *tls_key_pem;
    emu_server_t srv;
} app_t;

static int setup(app_t *app)
{
    options_t *o = &app->opt;
    emu_server_t *srv = &app->srv;
    char err[512] = "";
    size_t i;

    if (o->state_dir == NULL) {
        const char *tmp = getenv("TMPDIR");

        snprintf(app->state_dir, sizeof(app->state_dir), "%s/deltaport-emu-XXXXXX",
                 tmp && tmp[0] ? tmp : "/tmp");
        if (mkdtemp(app->state_dir) == NULL) {
            fprintf(stderr, "deltaport-dbx-emulator: mkdtemp: %s\n", strerror(errno));
            return -1;
        }
        app->state_dir_is_temp = 1;
    } else {
        snprintf(app->state_dir, sizeof(app->state_dir), "%s", o->state_dir);
        if (mkdir(app->state_dir, 0755) < 0 && errno != EEXIST) {
            fprintf(stderr, "deltaport-dbx-emulator: mkdir %s: %s\n", app->state_dir,
                    strerror(errno));
            return -1;
        }
    }
    srv->state_dir = app->state_dir;
    srv->warehouse_id = o->warehouse_id;
    srv->workspace_id = o->workspace_id;
    srv->max_upload = o->max_upload;
    snprintf(srv->tmp_dir, sizeof(srv->tmp_dir), "%s/.uploads", app->state_dir);
    if (mkdir(srv->tmp_dir, 0700) < 0 && errno != EEXIST) {
        fprintf(stderr, "deltaport-dbx-emulator: mkdir %s: %s\n", srv->tmp_dir, strerror(errno));
        return -1;
    }
    srv->engine = emu_engine_open(app->state_dir, o->permissions, err, sizeof(err));
    if (srv->engine == NULL) {
        fprintf(stderr, "deltaport-dbx-emulator: engine: %s\n", err);
        return -1;
    }
    srv->oauth = emu_oauth_new(o->token_ttl);
    srv->faults = emu_faults_new(o->seed);
    if (srv->oauth == NULL || srv->faults == NULL) {
        return -1;
    }
    for (i = 0; i < o->nclients; i++) {
        if (emu_oauth_add_client(srv->oauth, o->clients[i]) < 0) {
            fprintf(stderr, "deltaport-dbx-emulator: --client wants ID:SECRET\n");
            return -1;
        }
    }
    for (i = 0; i < o->npats; i++) {
        if (emu_oauth_add_pat(srv->oauth, o->pats[i]) < 0) {
            fprintf(stderr, "deltaport-dbx-emulator: --pat wants TOKEN=PRINCIPAL\n");
            return -1;
        }
    }
    for (i = 0; i < o->nfaults; i++) {
        if (emu_faults_add_json(srv->faults, o->faults[i], err, sizeof(err)) < 0) {
            fprintf(stderr, "deltaport-dbx-emulator: --fault: %s\n", err);
            return -1;
        }
    }
    if (o->request_log != NULL) {
        srv->reqlog = emu_reqlog_open(o->request_log);
        if (srv->reqlog == NULL) {
            fprintf(stderr, "deltaport-dbx-emulator: %s: %s\n", o->request_log, strerror(errno));
            return -1;
        }
    }
    srv->sim = emu_sim_new(&o->latency);
    srv->statements = srv->sim != NULL
                          ? emu_statements_new(srv->engine, srv->sim, (size_t)o->max_statements)
                          : NULL;
    if (srv->statements == NULL) {
        return -1;
    }
    if (o->tls_cert != NULL) {
        app->tls_cert_pem = read_pem("--tls-cert", o->tls_cert);
        app->tls_key_pem = read_pem("--tls-key", o->tls_key);
        if (app->tls_cert_pem == NULL || app->tls_key_pem == NULL) {
            return -1;
        }
        srv->tls_cert_pem = app->tls_cert_pem;
        srv->tls_key_pem = app->tls_key_pem;
    }
    srv->zerobus = emu_zerobus_new(srv->engine, srv->sim, (size_t)o->zerobus_max_bytes,
                                   o->zerobus_max_records);
    if (srv->zerobus == NULL) {
        return -1;
    }
    if (emu_server_start(srv, (unsigned short)o->port, err, sizeof(err)) < 0) {
        fprintf(stderr, "deltaport-dbx-emulator: %s\n", err);
        return -1;
    }
    return 0;
}

static void teardown(app_t *app)
{
    emu_server_t *srv = &app->srv;

    if (srv->statements != NULL) {
        emu_statements_shutdown(srv->statements);
    }
    emu_sim_shutdown(srv->sim); /* latency waits end, so the server stops at once */
    emu_server_stop(srv);
    emu_zerobus_destroy(srv->zerobus); /* acknowledged rows still waiting are written */
    emu_statements_destroy(srv->statements);
    emu_sim_destroy(srv->sim);
    emu_reqlog_close(srv->reqlog);
    emu_faults_destroy(srv->faults);
    emu_oauth_destroy(srv->oauth);
    emu_engine_close(srv->engine);
    free(app->tls_cert_pem);
    if (app->tls_key_pem != NULL) {
        memset(app->tls_key_pem, 0, strlen(app->tls_key_pem));
        free(app->tls_key_pem);
    }
    if (app->state_dir_is_temp) {
        remove_tree(app->state_dir);
    }
}

int main(int argc, char **argv)
{
    static app_t app;
    sigset_t set;
    int sig = 0, rc;

    rc = parse_args(argc, argv, &app.opt);
    if (rc != 0) {
        usage(rc > 0 ? stdout : stderr);
        return rc > 0 ? 0 : 2;
    }
    /* every thread inherits the mask; only sigwait() below sees the signals */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (setup(&app) < 0) {
        teardown(&app);
        return 1;
    }
    printf("LISTENING %s\n", app.srv.base_url);
    fflush(stdout);
    sigwait(&set, &sig);
    fprintf(stderr, "deltaport-dbx-emulator: signal %d, stopping\n", sig);
    teardown(&app);
    return 0;
}
