/*
 * server: the emulator's HTTP front (libmicrohttpd, one thread per connection,
 * bound to 127.0.0.1 only).
 *
 * Owns the daemon, the per-request context (emu_req_t) and the order every API
 * request goes through: route -> authenticate (bearer token; a Zerobus insert
 * needs a token minted for its table) -> faults ->
 * body (buffered in memory, or streamed to a temporary file for uploads) ->
 * handler -> request log -> response. Handlers (oauth, files, statements,
 * admin) fill the request's reply through the emu_reply_* helpers; exactly one
 * reply is made per request. The shared services (engine, token store, fault
 * table, statement store, request log) are owned by main.c and borrowed here
 * for the daemon's lifetime.
 */
#ifndef EMU_SERVER_H
#define EMU_SERVER_H

#include <jansson.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "faults.h"
#include "oauth.h"
#include "reqlog.h"
#include "sim.h"

struct MHD_Daemon;
struct MHD_Connection;
struct MHD_Response;
typedef struct emu_statements emu_statements_t;
typedef struct emu_zerobus emu_zerobus_t;

/* Everything a handler may use; all members borrowed from main.c. */
typedef struct emu_server {
    struct MHD_Daemon *daemon;
    unsigned short port;      /* bound port, known once started */
    char base_url[64];        /* "http://127.0.0.1:PORT" ("https://" with TLS) */
    const char *tls_cert_pem; /* PEM certificate (chain) to serve HTTPS, or NULL: HTTP */
    const char *tls_key_pem;  /* its PEM private key (with tls_cert_pem) */
    const char *state_dir;
    char tmp_dir[PATH_MAX]; /* uploads are streamed here, then renamed */
    const char *warehouse_id;
    unsigned long long max_upload; /* bytes */
    emu_engine_t *engine;
    emu_oauth_t *oauth;
    emu_faults_t *faults;
    emu_reqlog_t *reqlog;
    emu_statements_t *statements;
    emu_sim_t *sim;           /* latency settings and round-trip counters */
    emu_zerobus_t *zerobus;   /* the Zerobus Ingest endpoint (zerobus.h) */
    const char *workspace_id; /* named in Zerobus tokens' resource */
} emu_server_t;

typedef enum { EMU_BODY_NONE = 0, EMU_BODY_BUFFER, EMU_BODY_FILE, EMU_BODY_DISCARD } emu_body_t;

/* One HTTP request, from its headers to its reply. Owned by the server. */
typedef struct emu_req {
    emu_server_t *srv;
    struct MHD_Connection *conn;
    const char *method;    /* borrowed from MHD */
    const char *path;      /* borrowed from MHD, already percent-decoded */
    char endpoint[32];     /* fault/endpoint name, e.g. "files.upload" */
    char principal[128];   /* authenticated principal, "" when none */
    emu_fault_hit_t fault; /* fault fired for this request (kind NONE otherwise) */
    int route;             /* server.c's route number */
    char route_id[64];     /* statement id taken from the path, if any */
    long route_chunk;      /* chunk index taken from the path, if any */
    /* body */
    emu_body_t body_mode;
    char *body; /* NUL-terminated when buffered */
    size_t body_len, body_cap, body_max;
    int body_too_big;
    int upload_fd;
    char upload_tmp[PATH_MAX];
    char upload_local[PATH_MAX];
    int upload_overwrite;
    unsigned long long bytes_in;
    /* reply */
    int status;
    struct MHD_Response *resp;
    unsigned long long bytes_out;
    int replied;
    /* request log extras */
    char statement_id[64];
    char *statement_text; /* new, first part of the statement, for the log */
} emu_req_t;

/* Starts the daemon on 127.0.0.1:port (0 = any free port) and fills
 * srv->port and srv->base_url; with srv->tls_cert_pem and tls_key_pem it
 * serves HTTPS only (libmicrohttpd with GnuTLS). Returns 0, or -1 with
 * errbuf filled. Thread: main. */
int emu_server_start(emu_server_t *srv, unsigned short port, char *errbuf, size_t errlen);

/* Stops the daemon, waiting for running handlers. Safe when not started. Thread: main. */
void emu_server_stop(emu_server_t *srv);

/* Replies with a JSON body; takes ownership of body (also on failure). Thread: HTTP. */
void emu_reply_json(emu_req_t *req, int status, json_t *body);

/* Replies {"error_code":code,"message":...} as Databricks' REST errors. Thread: HTTP. */
void emu_reply_error(emu_req_t *req, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Replies with no body (e.g. 204). Thread: HTTP. */
void emu_reply_empty(emu_req_t *req, int status);

/* Replies with a prepared response; takes ownership of resp. bytes_out is for
 * the request log. Thread: HTTP. */
void emu_reply_response(emu_req_t *req, int status, struct MHD_Response *resp,
                        unsigned long long bytes_out);

/* Value of a query argument (borrowed, valid during the request) or NULL. */
const char *emu_req_arg(emu_req_t *req, const char *key);

/* Value of a request header (borrowed, valid during the request) or NULL. */
const char *emu_req_header(emu_req_t *req, const char *name);

/* Handlers implemented elsewhere (one per module). Thread: HTTP. */
void emu_oauth_handle_discovery(emu_req_t *req);
void emu_oauth_handle_token(emu_req_t *req);
int emu_files_begin_upload(emu_req_t *req);
void emu_files_handle(emu_req_t *req, int is_dir, const char *volume_path);
void emu_admin_handle(emu_req_t *req);

#endif
