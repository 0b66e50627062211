/*
 * worker_env: the fixture of the worker's integration tests: an embedded
 * Kafka (one broker, topic TOPIC with PARTITIONS partitions), a Databricks
 * emulator, a worker configuration (catalog main, schema wt) and helpers to
 * produce, run workers, query, wait on logs and check that every record the
 * broker holds is in exactly one table.
 *
 * Thread: the test's thread.
 */
#ifndef DP_WORKER_ENV_H
#define DP_WORKER_ENV_H

#include "dp_proc.h"
#include "emu_fixture.h"
#include "kafka_fixture.h"

#include <jansson.h>
#include <stddef.h>

#define TOPIC      "events"
#define PARTITIONS 8
#define MAX_TABLES 64

typedef struct env {
    dp_kafka_fixture_t kf;
    dp_emu_fixture_t ef;
    char token[2048];
    char config[400];
    char group[64];
    int up;
} env_t;

/* Settings of the configurations written from now on:
 * worker.shutdown_timeout_ms, and JSON members appended to the "kafka" and
 * "databricks" objects (each "" or starting with ", "). */
extern long g_shutdown_ms;
extern const char *g_kafka_extra;
extern const char *g_databricks_extra;
extern const char *g_top_extra; /* members appended to the top-level object */

long scaled(long ms);
/* Writes env->config (routing threshold, flush.max_events). */
int write_config(env_t *env, long threshold, long max_events);
int env_start(env_t *env, long threshold, long max_events);
void env_stop(env_t *env);
/* `deltaport produce` count events, every invalid_every-th invalid. */
int produce(env_t *env, int count, int invalid_every, int seed);
/* `deltaport run` as worker id, its log in <dir>/<id>.log. */
int start_worker(env_t *env, dp_proc_t *proc, const char *id);
json_t *rows_of(env_t *env, const char *sql);
long long scalar(env_t *env, const char *sql);
/* Waits until sync_runs accounts for `want` rows; returns what it saw. */
long long wait_loaded(env_t *env, long long want, long timeout_ms);
int file_contains(const char *path, const char *needle);
int wait_request(env_t *env, const char *needle, long timeout_ms);
int wait_log(env_t *env, const char *id, const char *needle, long timeout_ms);
/* Every record the broker holds in exactly one table: returns the number of
 * event_errors rows, or -1 after a failed assertion. */
long long check_exactly_once(env_t *env, long long produced);
/* Partitions whose committed offset is their high watermark. */
int committed_to_end(env_t *env);

/* Waits until every partition is committed to its end (committed_to_end);
 * returns how many are, after at most timeout_ms (scaled). */
int wait_committed_to_end(env_t *env, long timeout_ms);
/* Commits offset with metadata md for partition p, as a stale member. */
int commit_stale(env_t *env, int p, long long offset, const char *md);
/* `deltaport incarnation show|new` (new with --force): out receives the id. */
int incarnation(env_t *env, const char *verb, char *out, size_t outlen);
void clear_faults(env_t *env);

/* Produces count canonical JSON events named name (event ids
 * "<name>-<first_id + i>") into partition (or -1: spread by key), and then
 * flushes. Returns 0 or -1. */
int produce_json(env_t *env, int partition, const char *name, int count, int first_id);

/* Produces one record of len bytes (not an event) into partition. */
int produce_blob(env_t *env, int partition, size_t len);

#endif
