/*
 * perms: the emulator's grant list, loaded once from the optional permissions
 * JSON file (docs/EMULATOR_SQL.md, "Grants file"):
 *
 *   {"grants": [{"principal": "sp-1", "privilege": "USE CATALOG", "on": "CATALOG main"},
 *               {"principal": "sp-1", "privileges": ["SELECT", "MODIFY"],
 *                "on": "SCHEMA main.analytics"}, ...]}
 *
 * It answers one question: was principal granted priv on a securable or on one
 * of its containers (Unity Catalog inheritance)? Ownership and the "admin"
 * principal are decided by the caller (sql_perm.c), which knows the owners.
 * Immutable after load, so reads need no lock.
 */
#ifndef EMU_PERMS_H
#define EMU_PERMS_H

#include <stddef.h>

typedef struct emu_perms emu_perms_t;

/* Securable levels, outermost first. */
#define EMU_PERMS_CATALOG 0
#define EMU_PERMS_SCHEMA  1
#define EMU_PERMS_TABLE   2
#define EMU_PERMS_VOLUME  3

/* Loads the grants file at path. Returns new (free with emu_perms_free) or NULL
 * with err filled (unreadable file, bad JSON, unknown privilege or securable).
 * Thread: any. */
emu_perms_t *emu_perms_load(const char *path, char *err, size_t errlen);

/* Frees p; NULL is a no-op. */
void emu_perms_free(emu_perms_t *p);

/* Returns 1 when principal (or "account users", which means everyone) holds priv
 * or ALL PRIVILEGES on the securable at level named (c, s, o) or on its catalog or
 * schema; 0 otherwise. s and o may be NULL above their level. Thread: any. */
int emu_perms_granted(const emu_perms_t *p, const char *principal, const char *priv, int level,
                      const char *c, const char *s, const char *o);

/* Normalises a privilege name ("use_catalog", "Use Catalog" -> "USE CATALOG") into out.
 * Returns 0, or -1 when it is not one of the privileges the emulator knows. */
int emu_perms_priv_norm(const char *in, char *out, size_t outlen);

#endif
