/*
 * cmd_check_report: the check command's output, one line per check with the
 * configuration's secrets scrubbed. Both halves of the command (cmd_check.c,
 * cmd_check_kafka.c) report through it, so neither calls the other.
 */
#include "cli/cmd_check_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------------- */
/* Output                                                                    */
/* ------------------------------------------------------------------------- */

/* Replaces every occurrence of secret in line (cap bytes) by "(secret)";
 * what does not fit is cut off. */
static void scrub(char *line, size_t cap, const char *secret)
{
    static const char mask[] = "(secret)";
    const size_t mlen = sizeof(mask) - 1;
    size_t slen = secret ? strlen(secret) : 0;
    char *p, *from = line;

    if (slen < 4)
        return;
    while ((p = strstr(from, secret)) != NULL) {
        size_t at = (size_t)(p - line), tail = strlen(p + slen);

        if (at + mlen >= cap) {
            *p = '\0';
            return;
        }
        if (at + mlen + tail >= cap)
            tail = cap - 1 - at - mlen;
        memmove(p + mlen, p + slen, tail);
        memcpy(p, mask, mlen);
        p[mlen + tail] = '\0';
        from = p + mlen;
    }
}

static void scrub_all(const check_t *ck, char *line, size_t cap)
{
    const dp_config_t *c = ck->cfg;

    if (!c)
        return;
    scrub(line, cap, c->databricks.client_secret);
    scrub(line, cap, c->databricks.token);
    scrub(line, cap, c->kafka.sasl_password);
    scrub(line, cap, c->kafka.ssl_key_password);
    scrub(line, cap, c->kafka.ssl_keystore_password);
    scrub(line, cap, c->kafka.sasl_oauthbearer_client_secret);
}

/* Prints one check line and counts it. Newlines in the text (Databricks
 * messages carry some) become spaces, so one check is one line. */
void dp_check__report(check_t *ck, status_t st, const char *what, const char *fmt, ...)
{
    static const char *const tags[] = {"OK  ", "FAIL", "SKIP"};
    char line[LINE_MAX_LEN];
    int n;
    va_list ap;

    n = snprintf(line, sizeof(line), "%s %s: ", tags[st], what);
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof(line))
        vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    for (char *p = line; *p; p++) {
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    }
    scrub_all(ck, line, sizeof(line));
    printf("%s\n", line);
    fflush(stdout);
    if (st == ST_OK)
        ck->passed++;
    else if (st == ST_FAIL)
        ck->failed++;
    else
        ck->skipped++;
}

void dp_check__skip(check_t *ck, const char *what, const char *needs)
{
    dp_check__report(ck, ST_SKIP, what, "needs %s", needs);
}
