/*
 * tablename: event name -> table identifier, identifier checks and quoting.
 * See tablename.h for the rules. The character classes are written out
 * byte by byte instead of using <ctype.h>, whose answers depend on the
 * locale.
 */
#include "route/tablename.h"

#include <stdio.h>
#include <string.h>

static const char *const system_tables[] = {
    DP_RUNS_TABLE,         DP_ERRORS_TABLE, DP_STATS_TABLE,     DP_CLAIMS_TABLE,
    DP_INCARNATIONS_TABLE, DP_LEDGER_TABLE, DP_BACKFILLS_TABLE, NULL,
};

static int is_lower(unsigned char c)
{
    return c >= 'a' && c <= 'z';
}

static int is_tail(unsigned char c)
{
    return is_lower(c) || (c >= '0' && c <= '9') || c == '_';
}

/* Describes byte c for an error message without echoing arbitrary bytes:
 * printable ASCII is shown quoted, everything else only in hex. */
static void describe_byte(unsigned char c, char *out, size_t outlen)
{
    if (c >= 0x20 && c < 0x7f && c != '\'') {
        snprintf(out, outlen, "0x%02x '%c'", c, c);
    } else {
        snprintf(out, outlen, "0x%02x", c);
    }
}

/* Checks name[0..len) against ^[a-z(_ if allow_underscore)][a-z0-9_]*$ with
 * 1..max bytes. `what` names the kind of name for messages. */
static int check_chars(const char *name, size_t len, size_t max, int allow_underscore,
                       const char *what, dp_err_t *err)
{
    const unsigned char *p = (const unsigned char *)name;
    char desc[16];
    size_t i;

    if (len == 0) {
        return dp_err_set(err, DP_EINVAL, 0, "%s is empty", what);
    }
    if (len > max) {
        return dp_err_set(err, DP_EINVAL, 0, "%s is %zu bytes long, at most %zu allowed", what, len,
                          max);
    }
    if (!is_lower(p[0]) && !(allow_underscore && p[0] == '_')) {
        describe_byte(p[0], desc, sizeof(desc));
        return dp_err_set(err, DP_EINVAL, 0, "%s must start with %s, got byte %s", what,
                          allow_underscore ? "[a-z_]" : "[a-z]", desc);
    }
    for (i = 1; i < len; i++) {
        if (!is_tail(p[i])) {
            describe_byte(p[i], desc, sizeof(desc));
            return dp_err_set(err, DP_EINVAL, 0,
                              "%s has byte %s at position %zu; only [a-z0-9_] is allowed", what,
                              desc, i);
        }
    }
    return 0;
}

int dp_tablename_for_event(const char *event_name, size_t len, char *out, size_t outlen,
                           dp_err_t *err)
{
    size_t plen = sizeof(DP_TABLENAME_PREFIX) - 1;
    int rc;

    if (event_name == NULL) {
        return dp_err_set(err, DP_EINVAL, 0, "event name is missing");
    }
    rc = check_chars(event_name, len, DP_TABLENAME_EVENT_MAX, 0, "event name", err);
    if (rc < 0) {
        return rc;
    }
    if (outlen < plen + len + 1) {
        return dp_err_set(err, DP_ETOOBIG, 0, "table name needs %zu bytes, buffer has %zu",
                          plen + len + 1, outlen);
    }
    memcpy(out, DP_TABLENAME_PREFIX, plen);
    memcpy(out + plen, event_name, len);
    out[plen + len] = '\0';
    return 0;
}

int dp_tablename_check_identifier(const char *ident, dp_err_t *err)
{
    if (ident == NULL) {
        return dp_err_set(err, DP_EINVAL, 0, "identifier is missing");
    }
    /* strnlen bounds the scan; a longer string is reported as too long. */
    return check_chars(ident, strnlen(ident, DP_TABLENAME_IDENT_MAX + 1), DP_TABLENAME_IDENT_MAX, 1,
                       "identifier", err);
}

int dp_tablename_check_table(const char *table, dp_err_t *err)
{
    if (table == NULL) {
        return dp_err_set(err, DP_EINVAL, 0, "table name is missing");
    }
    return check_chars(table, strnlen(table, DP_TABLENAME_TABLE_MAX + 1), DP_TABLENAME_TABLE_MAX, 1,
                       "table name", err);
}

int dp_tablename_is_system(const char *name)
{
    size_t i;

    for (i = 0; system_tables[i] != NULL; i++) {
        if (strcmp(name, system_tables[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

const char *const *dp_tablename_system_tables(void)
{
    return system_tables;
}

int dp_tablename_check_shared(const char *table, dp_err_t *err)
{
    int rc;

    if ((rc = dp_tablename_check_table(table, err)) < 0) {
        dp_err_prefix(err, "shared table: ");
        return rc;
    }
    if (dp_tablename_is_system(table)) {
        return dp_err_set(err, DP_EINVAL, 0, "shared table: %s is a system table", table);
    }
    return 0;
}

int dp_tablename_qualified(const char *catalog, const char *schema, const char *table, char *out,
                           size_t outlen, dp_err_t *err)
{
    const char *parts[3] = {catalog, schema, table};
    const char *names[3] = {"catalog", "schema", "table"};
    int i, rc, n;

    for (i = 0; i < 3; i++) {
        if ((rc = dp_tablename_check_identifier(parts[i], err)) < 0) {
            dp_err_prefix(err, "%s: ", names[i]);
            return rc;
        }
    }
    n = snprintf(NULL, 0, "`%s`.`%s`.`%s`", catalog, schema, table);
    if (n < 0 || (size_t)n >= outlen) {
        return dp_err_set(err, DP_ETOOBIG, 0, "qualified name needs %d bytes, buffer has %zu",
                          n + 1, outlen);
    }
    snprintf(out, outlen, "`%s`.`%s`.`%s`", catalog, schema, table);
    return 0;
}

int dp_tablename_schema_qualified(const char *catalog, const char *schema, char *out, size_t outlen,
                                  dp_err_t *err)
{
    int rc, n;

    if ((rc = dp_tablename_check_identifier(catalog, err)) < 0) {
        dp_err_prefix(err, "catalog: ");
        return rc;
    }
    if ((rc = dp_tablename_check_identifier(schema, err)) < 0) {
        dp_err_prefix(err, "schema: ");
        return rc;
    }
    n = snprintf(out, outlen, "`%s`.`%s`", catalog, schema);
    if (n < 0 || (size_t)n >= outlen)
        return dp_err_set(err, DP_ETOOBIG, 0, "qualified name needs %d bytes, buffer has %zu",
                          n + 1, outlen);
    return 0;
}

int dp_tablename_catalog_quoted(const char *catalog, char *out, size_t outlen, dp_err_t *err)
{
    int rc, n;

    if ((rc = dp_tablename_check_identifier(catalog, err)) < 0) {
        dp_err_prefix(err, "catalog: ");
        return rc;
    }
    n = snprintf(out, outlen, "`%s`", catalog);
    if (n < 0 || (size_t)n >= outlen)
        return dp_err_set(err, DP_ETOOBIG, 0, "quoted name needs %d bytes, buffer has %zu", n + 1,
                          outlen);
    return 0;
}

int dp_tablename_column_quoted(const char *column, char *out, size_t outlen, dp_err_t *err)
{
    size_t n = strlen(column);
    char what[16];

    if (n == 0 || n > DP_TABLENAME_COLUMN_MAX)
        return dp_err_set(err, DP_EINVAL, 0, "column name has %zu bytes, not 1 to %d", n,
                          DP_TABLENAME_COLUMN_MAX);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)column[i];

        if (!is_tail(c) && !(c >= 'A' && c <= 'Z')) {
            describe_byte(c, what, sizeof(what));
            return dp_err_set(err, DP_EINVAL, 0,
                              "column name has %s at byte %zu: only [A-Za-z0-9_] is allowed", what,
                              i);
        }
    }
    if (n + 3 > outlen)
        return dp_err_set(err, DP_ETOOBIG, 0, "quoted column needs %zu bytes, buffer has %zu",
                          n + 3, outlen);
    out[0] = '`';
    memcpy(out + 1, column, n);
    out[n + 1] = '`';
    out[n + 2] = '\0';
    return 0;
}

int dp_tablename_principal_quoted(const char *principal, char *out, size_t outlen, dp_err_t *err)
{
    size_t o = 0;

    if (outlen < 3)
        return dp_err_set(err, DP_ETOOBIG, 0, "principal buffer too small");
    out[o++] = '`';
    for (const char *p = principal; *p; p++) {
        size_t need = *p == '`' ? 2 : 1;

        if (o + need + 2 > outlen)
            return dp_err_set(err, DP_ETOOBIG, 0, "principal name too long to quote");
        if (*p == '`')
            out[o++] = '`';
        out[o++] = *p;
    }
    out[o++] = '`';
    out[o] = '\0';
    return 0;
}
