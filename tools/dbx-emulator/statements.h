/*
 * statements: the SQL Statement Execution API (docs/DATABRICKS.md, "The APIs
 * in brief").
 *
 * Owns every submitted statement and a pool of executor threads that run them
 * in submission order (FIFO) through emu_engine_execute(), at most the
 * warehouse concurrency at once (sim.h), each RUNNING at least the statement
 * latency. Submit waits up to wait_timeout for a terminal state,
 * then answers with the current state (on_wait_timeout=CONTINUE) or cancels
 * (CANCEL). States: PENDING (queued, or held by a "pending" fault), RUNNING,
 * SUCCEEDED, FAILED, CANCELED. Invariants: a terminal state never changes;
 * at most max_retained statements are kept, the oldest terminal ones are
 * forgotten first (GET then answers 404, as Databricks after purging).
 * All state is under one mutex; handlers are called on HTTP threads.
 */
#ifndef EMU_STATEMENTS_H
#define EMU_STATEMENTS_H

#include <stddef.h>

#include "engine.h"
#include "server.h"
#include "sim.h"

/* Creates the store and starts its first executor; engine and sim (may be NULL:
 * no latency, concurrency 10) are borrowed and must outlive the store. Returns
 * new (free with emu_statements_destroy) or NULL. Thread: main. */
emu_statements_t *emu_statements_new(emu_engine_t *engine, emu_sim_t *sim, size_t max_retained);

/* Re-reads the warehouse concurrency after a settings change: grows the pool
 * and lets queued statements start. Thread: any. */
void emu_statements_kick(emu_statements_t *stmts);

/* Stops the executor and wakes every waiting submit, which then answers with
 * the state it sees. Call before stopping the HTTP server. Thread: main. */
void emu_statements_shutdown(emu_statements_t *stmts);

/* Frees everything (calls shutdown first if needed); NULL is a no-op. Thread: main. */
void emu_statements_destroy(emu_statements_t *stmts);

/* POST /api/2.0/sql/statements: validates req->body, queues, waits. Thread: HTTP. */
void emu_statements_submit(emu_req_t *req);

/* GET /api/2.0/sql/statements/{id} (chunk < 0) or .../result/chunks/{chunk}. Thread: HTTP. */
void emu_statements_get(emu_req_t *req, const char *id, long chunk);

/* POST /api/2.0/sql/statements/{id}/cancel: best effort, 200 {}. Thread: HTTP. */
void emu_statements_cancel(emu_req_t *req, const char *id);

#endif
