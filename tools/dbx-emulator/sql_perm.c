/*
 * sql_perm: Unity Catalog privilege checks of the emulator.
 *
 * Rules (docs/EMULATOR_SQL.md, "Grants"):
 *   - without a permissions file, or for the principal "admin", everything is allowed;
 *   - reaching an object needs USE CATALOG on its catalog and USE SCHEMA on its schema;
 *   - a privilege granted on a catalog or schema applies to every object inside it;
 *   - the owner (creator) of a catalog, schema, table or volume holds every privilege
 *     on it and on what it contains.
 */
#define _POSIX_C_SOURCE 200809L
#include "engine_int.h"

#include <stdio.h>
#include <string.h>

/* 1 when principal owns the securable (level, n), 0 otherwise. */
static int owns(emu_engine_t *eng, const char *principal, int level, const emu_name_t *n)
{
    static const char *const sql[] = {
        "SELECT count(*) FROM emu_catalogs WHERE name = ?1 AND owner = ?4",
        "SELECT count(*) FROM emu_schemas WHERE catalog = ?1 AND name = ?2 AND owner = ?4",
        "SELECT count(*) FROM emu_tables WHERE catalog = ?1 AND schema = ?2 AND name = ?3 "
        "AND owner = ?4",
        "SELECT count(*) FROM emu_volumes WHERE catalog = ?1 AND schema = ?2 AND name = ?3 "
        "AND owner = ?4"};
    sqlite3_stmt *st = NULL;
    int rc = 0;

    if (sqlite3_prepare_v2(eng->db, sql[level], -1, &st, NULL) != SQLITE_OK) {
        return 0;
    }
    sqlite3_bind_text(st, 1, n->c, -1, SQLITE_STATIC);
    if (level >= 1) {
        sqlite3_bind_text(st, 2, n->s, -1, SQLITE_STATIC);
    }
    if (level >= 2) {
        sqlite3_bind_text(st, 3, n->o, -1, SQLITE_STATIC);
    }
    sqlite3_bind_text(st, 4, principal, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        rc = sqlite3_column_int(st, 0) > 0;
    }
    sqlite3_finalize(st);
    return rc;
}

/* 1 when principal holds priv on (level, n) by grant or by ownership of it or a container. */
static int holds(emu_engine_t *eng, const char *principal, const char *priv, int level,
                 const emu_name_t *n)
{
    if (emu_perms_granted(eng->perms, principal, priv, level, n->c, n->s, n->o)) {
        return 1;
    }
    if (owns(eng, principal, EMU_PERMS_CATALOG, n)) {
        return 1;
    }
    if (level >= EMU_PERMS_SCHEMA && owns(eng, principal, EMU_PERMS_SCHEMA, n)) {
        return 1;
    }
    return level >= EMU_PERMS_TABLE && owns(eng, principal, level, n);
}

int emu_allowed(emu_engine_t *eng, const char *principal, const char *priv, emu_on_t kind,
                const emu_name_t *n, char *msg, size_t msglen)
{
    static const char *const kinds[] = {"Catalog", "Schema", "Table", "Volume"};
    int level = (int)kind;

    if (eng->perms == NULL || strcmp(principal, "admin") == 0) {
        return 1;
    }
    if (!holds(eng, principal, "USE CATALOG", EMU_PERMS_CATALOG, n)) {
        snprintf(msg, msglen, "User does not have USE CATALOG on Catalog '%s'.", n->c);
        return 0;
    }
    if (level >= EMU_PERMS_SCHEMA && !holds(eng, principal, "USE SCHEMA", EMU_PERMS_SCHEMA, n)) {
        snprintf(msg, msglen, "User does not have USE SCHEMA on Schema '%s.%s'.", n->c, n->s);
        return 0;
    }
    if (priv == NULL || holds(eng, principal, priv, level, n)) {
        return 1;
    }
    if (level == EMU_PERMS_CATALOG) {
        snprintf(msg, msglen, "User does not have %s on %s '%s'.", priv, kinds[level], n->c);
    } else if (level == EMU_PERMS_SCHEMA) {
        snprintf(msg, msglen, "User does not have %s on %s '%s.%s'.", priv, kinds[level], n->c,
                 n->s);
    } else {
        snprintf(msg, msglen, "User does not have %s on %s '%s.%s.%s'.", priv, kinds[level], n->c,
                 n->s, n->o);
    }
    return 0;
}

int emu_require(emu_ctx_t *cx, const char *priv, emu_on_t kind, const emu_name_t *n)
{
    char msg[1024];

    if (emu_allowed(cx->eng, cx->principal, priv, kind, n, msg, sizeof(msg))) {
        return 0;
    }
    return emu_fail(cx, "42501", "[INSUFFICIENT_PERMISSIONS] Insufficient privileges:\n%s", msg);
}
