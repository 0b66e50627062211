/* Temporary: statements not implemented yet fail with UNSUPPORTED_FEATURE. */
#include "engine_int.h"

static int nyi(emu_ctx_t *cx)
{
    return emu_fail(cx, "0A000", "[UNSUPPORTED_FEATURE] Not emulated yet: '%s'.",
                    emu_tk_peek(cx->tk)->raw);
}




int emu_sql_merge(emu_ctx_t *cx) { return nyi(cx); }


