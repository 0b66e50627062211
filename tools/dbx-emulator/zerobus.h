/*
 * zerobus: the emulator's Zerobus Ingest REST endpoint (docs/EMULATOR.md,
 * "Zerobus Ingest").
 *
 *   POST /zerobus/v1/tables/<catalog>.<schema>.<table>/insert
 *   Authorization: Bearer <a token minted with resource
 *       api://databricks/workspaces/<workspace-id>/zerobusDirectWriteApi and
 *       authorization_details naming that table>
 *   body: a JSON array of row objects            -> 200 {}
 *
 * The rows are checked against the table's columns as Zerobus does (an
 * unknown column, a value of the wrong JSON type, a missing NOT NULL column
 * or a DECIMAL column, which Zerobus's type mapping lacks, is a 400
 * INVALID_PARAMETER_VALUE naming the record and the column), all or nothing;
 * then they become rows of the same SQLite table SELECT reads. With a
 * visibility delay (zerobus_visibility_ms, sim.h) the rows are acknowledged
 * at once and written into the table that much later by a background
 * thread, as Zerobus acknowledges durability before the table shows them.
 * Rows still waiting are written when the emulator stops.
 *
 * The module's own state (the rows waiting) is guarded by its mutex; the
 * engine is entered under the engine's mutex (engine_int.h). Thread: any.
 */
#ifndef EMU_ZEROBUS_H
#define EMU_ZEROBUS_H

#include <stddef.h>

#include "engine.h"
#include "sim.h"

typedef struct emu_zerobus emu_zerobus_t;
struct emu_req;

/* Limits of one insert request; bigger ones are refused (413 / 400). */
#define EMU_ZEROBUS_MAX_BYTES_DEFAULT   (10u * 1024u * 1024u)
#define EMU_ZEROBUS_MAX_RECORDS_DEFAULT 10000

/* Creates the endpoint's state and starts its writer thread. engine and sim
 * are borrowed for its life. Returns new (emu_zerobus_destroy) or NULL. */
emu_zerobus_t *emu_zerobus_new(emu_engine_t *engine, emu_sim_t *sim, size_t max_bytes,
                               long max_records);

/* Writes the rows still waiting, stops the thread and frees. NULL is a no-op. */
void emu_zerobus_destroy(emu_zerobus_t *zb);

/* The largest request body accepted. */
size_t emu_zerobus_max_bytes(const emu_zerobus_t *zb);

/* First phase (headers only): checks the token's audience against the
 * table of the path. Returns 0 with req->principal set, or -1 with the
 * reply made (401 / 403). Thread: HTTP. */
int emu_zerobus_authenticate(struct emu_req *req);

/* Last phase: the insert itself (the body is buffered). Thread: HTTP. */
void emu_zerobus_handle(struct emu_req *req);

/* Rows acknowledged but not yet in their table (tests, admin). */
long long emu_zerobus_pending(emu_zerobus_t *zb);

#endif
