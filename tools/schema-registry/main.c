/*
 * deltaport-schema-registry: a small fake of Confluent's Schema Registry REST
 * API for tests and the demo (docs/SCHEMA_REGISTRY.md). Serves, on 127.0.0.1:
 *   POST /subjects/{subject}/versions            register -> {"id": N}
 *   POST /subjects/{subject}                     lookup -> version object
 *   GET  /subjects                               ["subject", ...]
 *   GET  /subjects/{subject}/versions            [1, 2, ...]
 *   GET  /subjects/{subject}/versions/{v|latest} {"subject","version","id","schema"}
 *   GET  /schemas/ids/{id}                       {"schema": "..."}
 *   POST /compatibility/subjects/{subject}/versions/latest  {"is_compatible": bool}
 *   GET  /config                                 {"compatibilityLevel": "BACKWARD"}
 * with Confluent's error bodies ({"error_code": 40401, "message": ...}), and
 * for tests (never behind auth or faults):
 *   POST /_admin/fault {"status": 503, "count": N, "delay_ms": D}  (status 0 clears)
 *   GET  /_admin/stats {"requests": N, "schema_id_gets": M}
 * Options: --port N (0: any free port), --user USER:PASSWORD (HTTP Basic on
 * every API call), --first-id N (first schema id, default 1), --fault STATUS
 * (answer STATUS until cleared). Prints "LISTENING http://127.0.0.1:PORT"
 * once ready and stops on SIGTERM or SIGINT.
 */
#define _GNU_SOURCE
#include "store.h"

#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_BODY (4u << 20)

typedef struct app {
    sr_store_t *store;
    struct MHD_Daemon *daemon;
    const char *user;     /* "user:password" or NULL */
    pthread_mutex_t lock; /* guards the fault and the counters */
    int fault_status;
    long fault_count; /* < 0: until cleared */
    long delay_ms;
    long requests, schema_id_gets;
} app_t;

typedef struct req {
    char *body;
    size_t len;
    int too_big;
} req_t;

/* ------------------------------------------------------------------------- */
/* Replies                                                                   */
/* ------------------------------------------------------------------------- */

static enum MHD_Result reply_json(struct MHD_Connection *conn, int status, json_t *json)
{
    char *text = json_dumps(json, JSON_COMPACT);
    struct MHD_Response *resp;
    enum MHD_Result ret;

    json_decref(json);
    if (text == NULL) {
        return MHD_NO;
    }
    resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "application/vnd.schemaregistry.v1+json");
    if (status == 401) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                "Basic realm=\"schema-registry\"");
    }
    ret = MHD_queue_response(conn, (unsigned int)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result reply_error(struct MHD_Connection *conn, int status, int code,
                                   const char *message)
{
    return reply_json(conn, status,
                      json_pack("{s:i, s:s}", "error_code", code, "message", message));
}

static enum MHD_Result reply_store(struct MHD_Connection *conn, json_t *json, const sr_error_t *e)
{
    if (json == NULL) {
        return reply_error(conn, e->status, e->code, e->message);
    }
    return reply_json(conn, 200, json);
}

/* ------------------------------------------------------------------------- */
/* Routes                                                                    */
/* ------------------------------------------------------------------------- */

static int parse_long(const char *s, long *out)
{
    char *end = NULL;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 0) {
        return -1;
    }
    *out = v;
    return 0;
}

/* The "schema" string of a request body, or NULL. Borrowed from body. */
static const char *schema_of(json_t *body)
{
    const char *type = json_string_value(json_object_get(body, "schemaType"));

    if (type != NULL && strcmp(type, "AVRO") != 0) {
        return NULL;
    }
    return json_string_value(json_object_get(body, "schema"));
}

static enum MHD_Result admin(app_t *app, struct MHD_Connection *conn, const char *method,
                             const char *url, json_t *body)
{
    json_t *out;

    if (strcmp(method, "POST") == 0 && strcmp(url, "/_admin/fault") == 0 && body != NULL) {
        pthread_mutex_lock(&app->lock);
        app->fault_status = (int)json_integer_value(json_object_get(body, "status"));
        app->fault_count = json_is_integer(json_object_get(body, "count"))
                               ? (long)json_integer_value(json_object_get(body, "count"))
                               : -1;
        app->delay_ms = (long)json_integer_value(json_object_get(body, "delay_ms"));
        pthread_mutex_unlock(&app->lock);
        return reply_json(conn, 200, json_pack("{s:b}", "ok", 1));
    }
    if (strcmp(method, "GET") == 0 && strcmp(url, "/_admin/stats") == 0) {
        pthread_mutex_lock(&app->lock);
        out = json_pack("{s:I, s:I}", "requests", (json_int_t)app->requests, "schema_id_gets",
                        (json_int_t)app->schema_id_gets);
        pthread_mutex_unlock(&app->lock);
        return reply_json(conn, 200, out);
    }
    return reply_error(conn, 404, 404, "Unknown admin endpoint");
}

/* Routes under /subjects/{subject}... (rest points after "/subjects/"). */
static enum MHD_Result subjects(app_t *app, struct MHD_Connection *conn, const char *method,
                                const char *rest, json_t *body)
{
    char subject[256];
    const char *slash = strchr(rest, '/'), *text;
    size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
    sr_error_t e = {0, 0, ""};
    long v = 0, id;

    if (n == 0 || n >= sizeof(subject)) {
        return reply_error(conn, 404, 40401, "Subject not found.");
    }
    memcpy(subject, rest, n);
    subject[n] = '\0';
    text = schema_of(body);
    if (slash == NULL && strcmp(method, "POST") == 0) {
        if (text == NULL) {
            return reply_error(conn, 422, 42201, "Invalid schema: no AVRO \"schema\" string");
        }
        return reply_store(conn, sr_store_lookup(app->store, subject, text, &e), &e);
    }
    if (slash != NULL && strcmp(slash, "/versions") == 0 && strcmp(method, "POST") == 0) {
        if (text == NULL) {
            return reply_error(conn, 422, 42201, "Invalid schema: no AVRO \"schema\" string");
        }
        id = sr_store_register(app->store, subject, text, &e);
        return id < 0 ? reply_error(conn, e.status, e.code, e.message)
                      : reply_json(conn, 200, json_pack("{s:I}", "id", (json_int_t)id));
    }
    if (slash != NULL && strcmp(slash, "/versions") == 0 && strcmp(method, "GET") == 0) {
        return reply_store(conn, sr_store_versions(app->store, subject, &e), &e);
    }
    if (slash != NULL && strncmp(slash, "/versions/", 10) == 0 && strcmp(method, "GET") == 0) {
        if (strcmp(slash + 10, "latest") == 0) {
            v = -1;
        } else if (parse_long(slash + 10, &v) < 0 || v == 0) {
            return reply_error(conn, 422, 42202, "Invalid version");
        }
        return reply_store(conn, sr_store_version(app->store, subject, v, &e), &e);
    }
    return reply_error(conn, 405, 405, "Method not allowed");
}

static enum MHD_Result api(app_t *app, struct MHD_Connection *conn, const char *method,
                           const char *url, json_t *body)
{
    static const char compat[] = "/compatibility/subjects/";
    sr_error_t e = {0, 0, ""};
    const char *text;
    long id;

    if (strcmp(method, "GET") == 0 && strncmp(url, "/schemas/ids/", 13) == 0) {
        if (parse_long(url + 13, &id) < 0) {
            return reply_error(conn, 404, 40403, "Schema not found");
        }
        return reply_store(conn, sr_store_schema(app->store, id, &e), &e);
    }
    if (strcmp(method, "GET") == 0 && strcmp(url, "/subjects") == 0) {
        return reply_json(conn, 200, sr_store_subjects(app->store));
    }
    if (strncmp(url, "/subjects/", 10) == 0) {
        return subjects(app, conn, method, url + 10, body);
    }
    if (strcmp(method, "POST") == 0 && strncmp(url, compat, sizeof(compat) - 1) == 0) {
        char subject[256];
        const char *s = url + sizeof(compat) - 1, *tail = strstr(s, "/versions/latest");

        text = schema_of(body);
        if (tail == NULL || tail == s || (size_t)(tail - s) >= sizeof(subject) || text == NULL) {
            return reply_error(conn, 422, 42201, "Invalid request");
        }
        memcpy(subject, s, (size_t)(tail - s));
        subject[tail - s] = '\0';
        return reply_store(conn, sr_store_compatible(app->store, subject, text, &e), &e);
    }
    if (strcmp(method, "GET") == 0 && strcmp(url, "/config") == 0) {
        return reply_json(conn, 200, json_pack("{s:s}", "compatibilityLevel", "BACKWARD"));
    }
    return reply_error(conn, 404, 404, "HTTP 404 Not Found");
}

/* ------------------------------------------------------------------------- */
/* Request handling                                                          */
/* ------------------------------------------------------------------------- */

static int authorized(app_t *app, struct MHD_Connection *conn)
{
    char *pass = NULL, *user;
    size_t ul;
    int ok;

    if (app->user == NULL) {
        return 1;
    }
    user = MHD_basic_auth_get_username_password(conn, &pass);
    ul = user ? strlen(user) : 0;
    ok = user != NULL && pass != NULL && strncmp(app->user, user, ul) == 0 &&
         app->user[ul] == ':' && strcmp(app->user + ul + 1, pass) == 0;
    MHD_free(user);
    MHD_free(pass);
    return ok;
}

/* Counts the request (is_id_get: a GET /schemas/ids/..., answered or not)
 * and returns the status of an injected fault for it, or 0. */
static int take_fault(app_t *app, int is_id_get, long *delay_ms)
{
    int status = 0;

    pthread_mutex_lock(&app->lock);
    app->requests++;
    app->schema_id_gets += is_id_get;
    *delay_ms = app->delay_ms;
    if (app->fault_status != 0 && app->fault_count != 0) {
        status = app->fault_status;
        if (app->fault_count > 0 && --app->fault_count == 0) {
            app->fault_status = 0;
        }
    }
    pthread_mutex_unlock(&app->lock);
    return status;
}

static enum MHD_Result dispatch(app_t *app, struct MHD_Connection *conn, const char *method,
                                const char *url, req_t *r)
{
    json_t *body = NULL;
    enum MHD_Result ret;
    long delay = 0;
    int fault;

    if (r->too_big) {
        return reply_error(conn, 413, 41301, "Request body too large");
    }
    if (r->len > 0 && (body = json_loadb(r->body, r->len, 0, NULL)) == NULL) {
        return reply_error(conn, 400, 400, "Unexpected character in the request body");
    }
    if (strncmp(url, "/_admin/", 8) == 0) {
        ret = admin(app, conn, method, url, body);
    } else if ((fault = take_fault(
                    app, strcmp(method, "GET") == 0 && strncmp(url, "/schemas/ids/", 13) == 0,
                    &delay)) != 0) {
        ret = reply_error(conn, fault, fault * 100 + 1, "Injected fault");
    } else if (!authorized(app, conn)) {
        ret = reply_error(conn, 401, 401, "Unauthorized");
    } else {
        if (delay > 0) {
            struct timespec ts = {delay / 1000, (delay % 1000) * 1000000L};
            nanosleep(&ts, NULL);
        }
        ret = api(app, conn, method, url, body);
    }
    json_decref(body);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *size, void **con_cls)
{
    req_t *r = *con_cls;

    (void)version;
    if (r == NULL) {
        r = calloc(1, sizeof(*r));
        *con_cls = r;
        return r ? MHD_YES : MHD_NO;
    }
    if (*size > 0) {
        if (r->len + *size > MAX_BODY) {
            r->too_big = 1;
        } else {
            char *p = realloc(r->body, r->len + *size + 1);
            if (p == NULL) {
                return MHD_NO;
            }
            r->body = p;
            memcpy(r->body + r->len, data, *size);
            r->len += *size;
        }
        *size = 0;
        return MHD_YES;
    }
    return dispatch(cls, conn, method, url, r);
}

static void on_done(void *cls, struct MHD_Connection *conn, void **con_cls,
                    enum MHD_RequestTerminationCode toe)
{
    req_t *r = *con_cls;

    (void)cls, (void)conn, (void)toe;
    if (r != NULL) {
        free(r->body);
        free(r);
        *con_cls = NULL;
    }
}

/* ------------------------------------------------------------------------- */
/* Main                                                                      */
/* ------------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f, "usage: deltaport-schema-registry [--port N] [--user USER:PASSWORD] "
               "[--first-id N] [--fault STATUS]\n"
               "A fake Confluent Schema Registry on 127.0.0.1 for tests; prints "
               "'LISTENING http://127.0.0.1:PORT' when ready.\n");
}

static int parse_args(int argc, char **argv, app_t *app, long *port, long *first_id)
{
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n = 0;

        if (strcmp(argv[i], "--help") == 0) {
            return 1;
        }
        if (v == NULL) {
            return -1;
        }
        if (strcmp(argv[i], "--port") == 0 && parse_long(v, &n) == 0 && n <= 65535) {
            *port = n;
        } else if (strcmp(argv[i], "--first-id") == 0 && parse_long(v, &n) == 0 && n > 0) {
            *first_id = n;
        } else if (strcmp(argv[i], "--fault") == 0 && parse_long(v, &n) == 0 && n >= 400 &&
                   n <= 599) {
            app->fault_status = (int)n;
            app->fault_count = -1;
        } else if (strcmp(argv[i], "--user") == 0 && strchr(v, ':') != NULL) {
            app->user = v;
        } else {
            return -1;
        }
        i++;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static app_t app;
    const union MHD_DaemonInfo *info;
    struct sockaddr_in addr;
    long port = 0, first_id = 1;
    sigset_t set;
    int sig = 0, rc;

    pthread_mutex_init(&app.lock, NULL);
    rc = parse_args(argc, argv, &app, &port, &first_id);
    if (rc != 0) {
        usage(rc > 0 ? stdout : stderr);
        return rc > 0 ? 0 : 2;
    }
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    app.store = sr_store_new(first_id);
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    app.daemon =
        MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                             MHD_USE_POLL | MHD_USE_ERROR_LOG,
                         (unsigned short)port, NULL, NULL, on_request, &app, MHD_OPTION_SOCK_ADDR,
                         (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED, on_done, &app,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)60, MHD_OPTION_END);
    info = app.daemon ? MHD_get_daemon_info(app.daemon, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    if (app.store == NULL || info == NULL) {
        fprintf(stderr, "deltaport-schema-registry: cannot listen on 127.0.0.1:%ld\n", port);
        if (app.daemon) {
            MHD_stop_daemon(app.daemon);
        }
        sr_store_destroy(app.store);
        return 1;
    }
    printf("LISTENING http://127.0.0.1:%u\n", (unsigned)info->port);
    fflush(stdout);
    sigwait(&set, &sig);
    MHD_stop_daemon(app.daemon);
    sr_store_destroy(app.store);
    pthread_mutex_destroy(&app.lock);
    return 0;
}
