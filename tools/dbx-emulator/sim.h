/*
 * sim: what makes the emulator behave like a remote workspace rather than a
 * local library, and what counts the round trips a client makes.
 *
 * Latency: every statement stays RUNNING at least statement_latency_ms (plus
 * copy_ms_per_mib for each MiB a COPY INTO loaded), every Files API call
 * answers after files_latency_ms, every token request after oauth_latency_ms,
 * and at most warehouse_concurrency statements run at once (the rest wait
 * PENDING, as in a warehouse's queue). Settings come from the command line and
 * change at run time (POST /_emulator/latency). Waits happen on the calling
 * thread with no lock held, so concurrent calls overlap.
 *
 * Counters: every API request answered, by kind (statements by their first
 * keywords, status polls, Files calls by method, token requests), read and
 * reset through GET /_emulator/stats and POST /_emulator/stats/reset.
 *
 * Invariant: one mutex guards settings and counters; every function is
 * thread-safe; defaults are zero latency and a concurrency of 10.
 */
#ifndef EMU_SIM_H
#define EMU_SIM_H

#include <jansson.h>
#include <stddef.h>

typedef struct emu_sim emu_sim_t;
struct emu_req;

#define EMU_SIM_LATENCY_MAX_MS      3600000L /* an hour: longer is a mistake, not a test */
#define EMU_SIM_CONCURRENCY_MAX     256L
#define EMU_SIM_CONCURRENCY_DEFAULT 10L /* a classic or pro SQL warehouse cluster */

typedef struct emu_sim_latency {
    long statement_ms;          /* minimum RUNNING time of every statement */
    long files_ms;              /* delay before every Files API answer */
    long copy_ms_per_mib;       /* extra RUNNING time of a COPY INTO per MiB it loaded */
    long oauth_ms;              /* delay before every token answer */
    long warehouse_concurrency; /* statements RUNNING at once (1..256) */
    long zerobus_ms;            /* delay before every Zerobus insert answer */
    long zerobus_visibility_ms; /* acknowledged Zerobus rows appear in the table this much
                                 * later (zerobus.c) */
} emu_sim_latency_t;

/* Fills l with the defaults (no latency, concurrency 10). Pure. */
void emu_sim_latency_defaults(emu_sim_latency_t *l);

/* Applies one command-line option ("--statement-latency-ms", "--files-latency-ms",
 * "--copy-ms-per-mib", "--oauth-latency-ms", "--warehouse-concurrency",
 * "--zerobus-latency-ms", "--zerobus-visibility-ms") to l.
 * Returns 1 when name is one of them and value is valid, 0 when name is not
 * one of them, -1 when the value is out of range or not a number. Pure. */
int emu_sim_latency_option(emu_sim_latency_t *l, const char *name, const char *value);

/* Creates the settings (copied from initial, NULL: defaults) and zeroed counters.
 * Returns new (free with emu_sim_destroy) or NULL on OOM. Thread: any. */
emu_sim_t *emu_sim_new(const emu_sim_latency_t *initial);

/* Wakes every wait in progress (they return at once) and makes later waits
 * return at once: call before stopping the HTTP server. Thread: any. */
void emu_sim_shutdown(emu_sim_t *sim);

/* Frees sim; NULL is a no-op. Thread: once no request runs. */
void emu_sim_destroy(emu_sim_t *sim);

/* Copies the current settings into out (defaults when sim is NULL). Thread: any. */
void emu_sim_get(emu_sim_t *sim, emu_sim_latency_t *out);

/* Returns new: {"statement_latency_ms", "files_latency_ms", "copy_ms_per_mib",
 * "oauth_latency_ms", "warehouse_concurrency", "zerobus_latency_ms",
 * "zerobus_visibility_ms"}. Thread: any. */
json_t *emu_sim_latency_json(emu_sim_t *sim);

/* Sets some or all of the settings from a JSON object with the keys of
 * emu_sim_latency_json (non-negative integers in range). All or nothing: on an
 * unknown key or a bad value nothing changes and errbuf names it. Returns 0 or
 * -1. Thread: any. */
int emu_sim_set_json(emu_sim_t *sim, const char *json, char *errbuf, size_t errlen);

/* Waits ms milliseconds, or less when emu_sim_shutdown is called. Takes no lock
 * while waiting. Thread: any. */
void emu_sim_wait_ms(emu_sim_t *sim, long ms);

/* The kind of a statement for the counters: its first keyword(s) upper-cased
 * ("SELECT", "MERGE", "COPY INTO", "CREATE TABLE", "CREATE SCHEMA" (also for
 * DATABASE), "CREATE VOLUME", "DESCRIBE DETAIL", "DESCRIBE", "SHOW", "INSERT",
 * ...), "UNKNOWN" for NULL text and "OTHER" when it does not start with a
 * word. Writes into buf and returns it. Pure. */
const char *emu_sim_statement_kind(const char *text, char *buf, size_t len);

/* Counts one answered request. endpoint is the request's endpoint name
 * ("files.upload", "statements.get", ...; "" for discovery and admin, which are
 * not counted); chunk is 1 for a result-chunk GET; statement is the submitted
 * text (NULL when the body was not read); unrouted is 1 for a request that
 * matched no API (counted as "other"). Thread: any. */
void emu_sim_count(emu_sim_t *sim, const char *endpoint, int chunk, const char *statement,
                   int unrouted);

/* Adds rows to the Zerobus rows counter (stats "zerobus.rows": rows of the
 * inserts that were acknowledged). Thread: any. */
void emu_sim_count_zerobus_rows(emu_sim_t *sim, long long rows);

/* Returns new: the counters (shape in docs/EMULATOR.md). With reset, the
 * counters are zeroed in the same step, so no request is lost between a read
 * and a reset. Thread: any. */
json_t *emu_sim_stats_json(emu_sim_t *sim, int reset);

/* The server's hook before a reply is queued: counts the request and applies
 * the Files / OAuth latency to it. Thread: HTTP. */
void emu_sim_before_reply(struct emu_req *req, int unrouted);

#endif
