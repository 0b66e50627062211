/*
 * admin: the emulator's control endpoints under /_emulator/ (no auth: the
 * server listens on loopback only).
 *   GET    /_emulator/faults         list rules with remaining counts
 *   POST   /_emulator/faults         add one rule (JSON body, see faults.h)
 *   DELETE /_emulator/faults         remove every rule
 *   POST   /_emulator/tokens/expire  expire every issued OAuth token now
 *   GET    /_emulator/latency        the latency settings (sim.h)
 *   POST   /_emulator/latency        change some of them (JSON object)
 *   GET    /_emulator/stats          the round-trip counters
 *   POST   /_emulator/stats/reset    the counters, then zeroed in the same step
 */
#include <string.h>

#include "server.h"
#include "statements.h"

void emu_admin_handle(emu_req_t *req)
{
    char err[256];
    int n;

    if (strcmp(req->path, "/_emulator/faults") == 0) {
        if (strcmp(req->method, "GET") == 0) {
            emu_reply_json(req, 200, emu_faults_list(req->srv->faults));
            return;
        }
        if (strcmp(req->method, "DELETE") == 0) {
            emu_faults_clear(req->srv->faults);
            emu_reply_json(req, 200, json_object());
            return;
        }
        if (strcmp(req->method, "POST") == 0) {
            if (emu_faults_add_json(req->srv->faults, req->body ? req->body : "", err,
                                    sizeof(err)) < 0) {
                emu_reply_error(req, 400, "INVALID_PARAMETER_VALUE", "%s", err);
                return;
            }
            emu_reply_json(req, 200, emu_faults_list(req->srv->faults));
            return;
        }
    }
    if (strcmp(req->path, "/_emulator/latency") == 0) {
        if (strcmp(req->method, "GET") == 0) {
            emu_reply_json(req, 200, emu_sim_latency_json(req->srv->sim));
            return;
        }
        if (strcmp(req->method, "POST") == 0) {
            if (emu_sim_set_json(req->srv->sim, req->body ? req->body : "", err, sizeof(err)) < 0) {
                emu_reply_error(req, 400, "INVALID_PARAMETER_VALUE", "%s", err);
                return;
            }
            emu_statements_kick(req->srv->statements); /* the concurrency may have grown */
            emu_reply_json(req, 200, emu_sim_latency_json(req->srv->sim));
            return;
        }
    }
    if (strcmp(req->path, "/_emulator/stats") == 0 && strcmp(req->method, "GET") == 0) {
        emu_reply_json(req, 200, emu_sim_stats_json(req->srv->sim, 0));
        return;
    }
    if (strcmp(req->path, "/_emulator/stats/reset") == 0 && strcmp(req->method, "POST") == 0) {
        emu_reply_json(req, 200, emu_sim_stats_json(req->srv->sim, 1));
        return;
    }
    if (strcmp(req->path, "/_emulator/tokens/expire") == 0 && strcmp(req->method, "POST") == 0) {
        n = emu_oauth_expire_all(req->srv->oauth);
        emu_reply_json(req, 200, json_pack("{s:i}", "expired", n));
        return;
    }
    emu_reply_error(req, 404, "ENDPOINT_NOT_FOUND", "No API found for '%s %s'", req->method,
                    req->path);
}
