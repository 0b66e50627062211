/*
 * emu_stub: a stand-in for engine.h used only while the dbxemu_engine target
 * does not exist yet (server.cmake). Volumes are directories under
 * <state_dir>/volumes; "CREATE VOLUME c.s.v" makes one; "SELECT 1" returns a
 * row; anything else fails. Not part of the shipped emulator.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine.h"

struct emu_engine {
    char dir[1024];
};

emu_engine_t *emu_engine_open(const char *state_dir, const char *permissions_file, char *errbuf,
                              size_t errlen)
{
    emu_engine_t *e = calloc(1, sizeof(*e));

    (void)permissions_file;
    (void)errbuf;
    (void)errlen;
    if (e != NULL) {
        snprintf(e->dir, sizeof(e->dir), "%s/volumes", state_dir);
        mkdir(e->dir, 0755);
    }
    return e;
}

void emu_engine_close(emu_engine_t *engine)
{
    free(engine);
}

void emu_result_clear(emu_result_t *res)
{
    if (res != NULL) {
        json_decref(res->columns);
        json_decref(res->rows);
        memset(res, 0, sizeof(*res));
    }
}

int emu_engine_execute(emu_engine_t *engine, const char *principal, const char *catalog,
                       const char *schema, const char *statement, const json_t *parameters,
                       emu_result_t *res)
{
    char c[64], s[64], v[64], path[1400];

    (void)principal;
    (void)catalog;
    (void)schema;
    (void)parameters;
    memset(res, 0, sizeof(*res));
    if (sscanf(statement, "CREATE VOLUME %63[a-z_].%63[a-z_].%63[a-z_]", c, s, v) == 3) {
        snprintf(path, sizeof(path), "%s/%s", engine->dir, c);
        mkdir(path, 0755);
        snprintf(path, sizeof(path), "%s/%s/%s", engine->dir, c, s);
        mkdir(path, 0755);
        snprintf(path, sizeof(path), "%s/%s/%s/%s", engine->dir, c, s, v);
        mkdir(path, 0755);
        res->succeeded = 1;
        return 0;
    }
    if (strcmp(statement, "SELECT 1") == 0) {
        res->succeeded = 1;
        res->columns = json_pack("[{s:s,s:s,s:s,s:i}]", "name", "1", "type_name", "INT",
                                 "type_text", "INT", "position", 0);
        res->rows = json_pack("[[s]]", "1");
        return 0;
    }
    snprintf(res->error_code, sizeof(res->error_code), "BAD_REQUEST");
    snprintf(res->sql_state, sizeof(res->sql_state), "42601");
    snprintf(res->message, sizeof(res->message), "[PARSE_SYNTAX_ERROR] Syntax error.");
    return -1;
}

int emu_engine_volume_path(emu_engine_t *engine, const char *principal, const char *volume_path,
                           emu_volume_access_t access, char *local, size_t locallen, char *msg,
                           size_t msglen)
{
    char c[64], s[64], v[64], root[1400];
    int off = 0;
    struct stat st;

    (void)principal;
    (void)access;
    if (strstr(volume_path, "..") || strstr(volume_path, "//") ||
        sscanf(volume_path, "/Volumes/%63[^/]/%63[^/]/%63[^/]%n", c, s, v, &off) != 3) {
        snprintf(msg, msglen, "Invalid path %s", volume_path);
        return -400;
    }
    snprintf(root, sizeof(root), "%s/%s/%s/%s", engine->dir, c, s, v);
    if (stat(root, &st) < 0) {
        snprintf(msg, msglen, "Volume '%s.%s.%s' does not exist.", c, s, v);
        return -404;
    }
    snprintf(local, locallen, "%s%s", root, volume_path + off);
    return 0;
}
