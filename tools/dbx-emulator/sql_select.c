/*
 * sql_select: SELECT [DISTINCT] items [FROM table [[AS] alias]] [WHERE ...]
 * [GROUP BY ...] [HAVING ...] [ORDER BY ...] [LIMIT n [OFFSET m]], translated
 * to SQLite through sql_expr (table references resolved through the metadata,
 * values bound) and returned in the Statement Execution API's shape: columns
 * with name/type_name/type_text/position and rows of strings or null.
 */
#define _POSIX_C_SOURCE 200809L
#include "sql_expr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_ITEMS 256

typedef struct item {
    char name[256];
    char type[512]; /* "" = decided by the first non-null value */
    emu_kind_t kind;
    int scale;
} item_t;

typedef struct sel {
    emu_xl_t x;
    emu_table_t t;
    int has_table;
    char alias[EMU_NAME_MAX];
    item_t items[MAX_ITEMS];
    const char *aliases[MAX_ITEMS];
    int nitems;
    emu_sbuf_t sql;
} sel_t;

static const char *const k_clause_kws[] = {"from", "where", "group", "having", "order", "limit",
                                           NULL};

static size_t find_before(const emu_toks_t *tk, const char *const *kws, const char *op, size_t end)
{
    size_t i = emu_xl_find(tk, kws, op);

    return i < end ? i : end;
}

/* ------------------------------------------------------------------------ */
/* Item names and types                                                     */
/* ------------------------------------------------------------------------ */

/* The column a token range names when it is exactly a column reference. */
static const emu_col_t *range_col(const sel_t *s, size_t a, size_t b)
{
    const emu_toks_t *tk = s->x.cx->tk;
    const char *name;
    int c;

    if (!s->has_table) {
        return NULL;
    }
    if (b - a == 3 && tk->v[a + 1].kind == TK_OP && strcmp(tk->v[a + 1].val, ".") == 0 &&
        (strcmp(tk->v[a].val, s->alias) == 0 || strcmp(tk->v[a].val, s->t.name.o) == 0)) {
        a += 2;
    }
    if (b - a != 1 || (tk->v[a].kind != TK_IDENT && tk->v[a].kind != TK_QIDENT)) {
        return NULL;
    }
    name = tk->v[a].val;
    c = emu_table_col(&s->t, name);
    return c >= 0 ? &s->t.cols[c] : NULL;
}

static void name_of(const sel_t *s, size_t a, size_t b, char *out, size_t outlen)
{
    const emu_toks_t *tk = s->x.cx->tk;
    size_t i, n = 0;
    int prev_word = 0;

    out[0] = '\0';
    if (b - a == 4 && strcmp(tk->v[a].val, "count") == 0 && strcmp(tk->v[a + 2].val, "*") == 0) {
        snprintf(out, outlen, "count(1)");
        return;
    }
    for (i = a; i < b && n + 1 < outlen; i++) {
        const emu_token_t *t = &tk->v[i];
        int word = t->kind == TK_IDENT || t->kind == TK_QIDENT || t->kind == TK_NUMBER;
        const char *txt = t->kind == TK_IDENT && i + 1 < b && strcmp(tk->v[i + 1].val, "(") == 0
                              ? t->val
                              : t->raw;
        n += (size_t)snprintf(out + n, outlen - n, "%s%s", word && prev_word ? " " : "", txt);
        prev_word = word;
    }
}

static void type_literal(const emu_token_t *t, char *type, size_t len)
{
    if (t->kind == TK_STRING) {
        snprintf(type, len, "STRING");
    } else if (strpbrk(t->val, "eE") != NULL) {
        snprintf(type, len, "DOUBLE");
    } else if (strchr(t->val, '.') != NULL) {
        const char *dot = strchr(t->val, '.');
        int scale = (int)strlen(dot + 1), prec = (int)strlen(t->val) - 1;
        snprintf(type, len, "DECIMAL(%d,%d)", prec < scale ? scale : prec, scale);
    } else {
        snprintf(type, len, strlen(t->val) > 9 ? "BIGINT" : "INT");
    }
}

/* Static type of the item over tokens [a, b), or "" when only the values can tell. */
static void type_of_item(const sel_t *s, size_t a, size_t b, char *type, size_t len)
{
    const emu_toks_t *tk = s->x.cx->tk;
    const emu_col_t *col = range_col(s, a, b);
    const char *fn;

    type[0] = '\0';
    if (col != NULL) {
        snprintf(type, len, "%s", col->type);
        return;
    }
    if (b - a == 1 && (tk->v[a].kind == TK_NUMBER || tk->v[a].kind == TK_STRING)) {
        type_literal(&tk->v[a], type, len);
        return;
    }
    if (b - a < 4 || tk->v[a].kind != TK_IDENT || strcmp(tk->v[a + 1].val, "(") != 0 ||
        strcmp(tk->v[b - 1].val, ")") != 0) {
        return;
    }
    fn = tk->v[a].val;
    if (strcmp(fn, "count") == 0) {
        snprintf(type, len, "BIGINT");
        return;
    }
    if (strcmp(fn, "avg") == 0 || strcmp(fn, "mean") == 0) {
        snprintf(type, len, "DOUBLE");
        return;
    }
    col = range_col(s, a + 2, b - 1);
    if (col == NULL) {
        return;
    }
    if (strcmp(fn, "min") == 0 || strcmp(fn, "max") == 0) {
        snprintf(type, len, "%s", col->type);
    } else if (strcmp(fn, "sum") == 0) {
        if (col->kind == EMU_T_DECIMAL) {
            snprintf(type, len, "DECIMAL(%d,%d)", col->prec + 10 > 38 ? 38 : col->prec + 10,
                     col->scale);
        } else if (col->kind == EMU_T_DOUBLE || col->kind == EMU_T_FLOAT) {
            snprintf(type, len, "DOUBLE");
        } else {
            snprintf(type, len, "BIGINT");
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Clauses                                                                  */
/* ------------------------------------------------------------------------ */

static int add_item(sel_t *s, const char *name, const char *type)
{
    item_t *it;

    if (s->nitems >= MAX_ITEMS) {
        return emu_fail(s->x.cx, "54011", "[TOO_MANY_ITEMS] At most %d select items.", MAX_ITEMS);
    }
    it = &s->items[s->nitems++];
    snprintf(it->name, sizeof(it->name), "%s", name);
    snprintf(it->type, sizeof(it->type), "%s", type);
    it->kind = type[0] != '\0' ? emu_type_kind(type, NULL, &it->scale) : EMU_T_NULL;
    if (it->kind == EMU_T_DECIMAL) {
        int p = 0;
        emu_type_kind(type, &p, &it->scale);
    }
    return 0;
}

static int star(sel_t *s)
{
    int c;

    if (!s->has_table) {
        return emu_fail(s->x.cx, "42000", "[INVALID_USAGE_OF_STAR_OR_REGEX] Invalid usage of '*' "
                                          "without FROM.");
    }
    for (c = 0; c < s->t.ncols; c++) {
        emu_sb_addf(&s->sql, "%sc%d", s->nitems > 0 ? ", " : "", c);
        if (add_item(s, s->t.cols[c].name, s->t.cols[c].type) != 0) {
            return -1;
        }
    }
    s->x.cx->tk->i++;
    return 0;
}

static int one_item(sel_t *s, size_t end)
{
    emu_toks_t *tk = s->x.cx->tk;
    size_t a = tk->i, b = end;
    char name[256], type[512];
    const emu_token_t *last = &tk->v[end - 1];
    const emu_col_t *col;

    if (end - a == 1 && tk->v[a].kind == TK_OP && strcmp(tk->v[a].val, "*") == 0) {
        return star(s);
    }
    name[0] = '\0';
    if (end - a >= 3 && (last->kind == TK_IDENT || last->kind == TK_QIDENT) &&
        tk->v[end - 2].kind == TK_IDENT && strcmp(tk->v[end - 2].val, "as") == 0) {
        snprintf(name, sizeof(name), "%s", last->kind == TK_QIDENT ? last->val : last->raw);
        b = end - 2;
    } else if (end - a >= 2 && (last->kind == TK_IDENT || last->kind == TK_QIDENT) &&
               tk->v[end - 2].kind == TK_OP && strcmp(tk->v[end - 2].val, ")") == 0) {
        snprintf(name, sizeof(name), "%s", last->kind == TK_QIDENT ? last->val : last->raw);
        b = end - 1;
    }
    col = range_col(s, a, b);
    if (name[0] == '\0') {
        if (col != NULL) {
            snprintf(name, sizeof(name), "%s", col->name);
        } else {
            name_of(s, a, b, name, sizeof(name));
        }
    }
    type_of_item(s, a, b, type, sizeof(type));
    if (s->nitems > 0) {
        emu_sb_add(&s->sql, ",");
    }
    if (emu_xl_expr(&s->x, b, &s->sql, col != NULL) != 0) {
        return -1;
    }
    if (s->nitems >= MAX_ITEMS) {
        /* before aliases[nitems] is written (add_item checks too late for it) */
        return emu_fail(s->x.cx, "54011", "[TOO_MANY_ITEMS] At most %d select items.", MAX_ITEMS);
    }
    if (emu_ident_valid(name)) {
        /* Output alias (validated identifier) so ORDER BY / HAVING can name it. */
        emu_sb_addf(&s->sql, " AS \"%s\"", name);
        s->aliases[s->nitems] = s->items[s->nitems].name;
    }
    tk->i = end;
    return add_item(s, name, type);
}

static int items(sel_t *s, size_t items_end)
{
    emu_toks_t *tk = s->x.cx->tk;

    for (;;) {
        size_t end = find_before(tk, NULL, ",", items_end);
        if (end == tk->i) {
            return emu_syntax(s->x.cx);
        }
        if (one_item(s, end) != 0) {
            return -1;
        }
        if (tk->i >= items_end) {
            return 0;
        }
        tk->i++; /* ',' */
    }
}

static int from(sel_t *s)
{
    emu_toks_t *tk = s->x.cx->tk;
    const emu_token_t *a;

    if (emu_parse_object(s->x.cx, &s->t.name) != 0) {
        return -1;
    }
    snprintf(s->alias, sizeof(s->alias), "%s", s->t.name.o);
    emu_tk_accept_kw(tk, "AS");
    a = emu_tk_peek(tk);
    if ((a->kind == TK_IDENT || a->kind == TK_QIDENT) && emu_tk_at(tk, 1)->kind != TK_OP) {
        int k, clause = 0;
        for (k = 0; k_clause_kws[k] != NULL; k++) {
            clause |= strcmp(a->val, k_clause_kws[k]) == 0;
        }
        if (!clause && strcmp(a->val, "join") != 0 && strcmp(a->val, "inner") != 0 &&
            strcmp(a->val, "left") != 0) {
            snprintf(s->alias, sizeof(s->alias), "%s", a->val);
            tk->i++;
        }
    } else if ((a->kind == TK_IDENT || a->kind == TK_QIDENT) && emu_tk_at(tk, 1)->kind == TK_OP &&
               strcmp(emu_tk_at(tk, 1)->val, ";") == 0) {
        snprintf(s->alias, sizeof(s->alias), "%s", a->val);
        tk->i++;
    }
    if (emu_tk_is_op(tk, ",") || emu_tk_is_kw(tk, "JOIN") || emu_tk_is_kw(tk, "INNER") ||
        emu_tk_is_kw(tk, "LEFT")) {
        return emu_fail(s->x.cx, "0A000", "[UNSUPPORTED_FEATURE] Joins are not emulated.");
    }
    if (emu_table_require(s->x.cx, &s->t.name, &s->t) != 0 ||
        emu_require(s->x.cx, "SELECT", EMU_ON_TABLE, &s->t.name) != 0) {
        return -1;
    }
    s->has_table = 1;
    s->x.scopes[0].alias = s->alias;
    s->x.scopes[0].tname = s->t.name.o;
    s->x.scopes[0].sqlname = NULL;
    s->x.scopes[0].cols = s->t.cols;
    s->x.scopes[0].ncols = s->t.ncols;
    s->x.nscopes = 1;
    return 0;
}

/* WHERE / GROUP BY / HAVING / ORDER BY / LIMIT after the FROM clause. */
static int tail(sel_t *s)
{
    static const char *const after_where[] = {"group", "having", "order", "limit", NULL};
    static const char *const after_group[] = {"having", "order", "limit", NULL};
    static const char *const after_order[] = {"limit", NULL};
    emu_toks_t *tk = s->x.cx->tk;
    struct {
        const char *kw, *by, *sql;
        const char *const *next;
    } cl[] = {{"where", NULL, " WHERE", after_where},
              {"group", "by", " GROUP BY", after_group},
              {"having", NULL, " HAVING", after_order + 0},
              {"order", "by", " ORDER BY", after_order}};
    static const char *const after_having[] = {"order", "limit", NULL};
    size_t k;

    cl[2].next = after_having;
    for (k = 0; k < sizeof(cl) / sizeof(cl[0]); k++) {
        if (!emu_tk_accept_kw(tk, cl[k].kw)) {
            continue;
        }
        if (cl[k].by != NULL && !emu_tk_accept_kw(tk, cl[k].by)) {
            return emu_syntax(s->x.cx);
        }
        emu_sb_add(&s->sql, cl[k].sql);
        if (emu_xl_expr(&s->x, emu_xl_find(tk, cl[k].next, ";"), &s->sql, 0) != 0) {
            return -1;
        }
    }
    if (emu_tk_accept_kw(tk, "LIMIT")) {
        emu_sb_add(&s->sql, " LIMIT");
        if (emu_xl_expr(&s->x, emu_xl_find(tk, (const char *const[]){"offset", NULL}, ";"),
                        &s->sql, 0) != 0) {
            return -1;
        }
        if (emu_tk_accept_kw(tk, "OFFSET")) {
            emu_sb_add(&s->sql, " OFFSET");
            if (emu_xl_expr(&s->x, emu_xl_find(tk, NULL, ";"), &s->sql, 0) != 0) {
                return -1;
            }
        }
    }
    return emu_tk_at_end(tk) ? 0 : emu_syntax(s->x.cx);
}

/* ------------------------------------------------------------------------ */
/* Running                                                                  */
/* ------------------------------------------------------------------------ */

static const char *dynamic_type(int sqlite_type)
{
    switch (sqlite_type) {
    case SQLITE_INTEGER:
        return "BIGINT";
    case SQLITE_FLOAT:
        return "DOUBLE";
    case SQLITE_BLOB:
        return "BINARY";
    default:
        return "STRING";
    }
}

static int run(sel_t *s)
{
    emu_ctx_t *cx = s->x.cx;
    sqlite3_stmt *st = NULL;
    json_t *rows = json_array();
    int k, rc;

    if (sqlite3_prepare_v2(cx->eng->db, s->sql.p, -1, &st, NULL) != SQLITE_OK) {
        json_decref(rows);
        return emu_fail(cx, "42000", "[INVALID_QUERY] The emulator cannot run this query: %s",
                        sqlite3_errmsg(cx->eng->db));
    }
    emu_xl_bind(&s->x, st);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *row = json_array();
        for (k = 0; k < s->nitems; k++) {
            item_t *it = &s->items[k];
            if (it->type[0] == '\0' && sqlite3_column_type(st, k) != SQLITE_NULL) {
                snprintf(it->type, sizeof(it->type), "%s",
                         dynamic_type(sqlite3_column_type(st, k)));
            }
            json_array_append_new(row, emu_format_value(st, k, it->kind, it->scale));
        }
        json_array_append_new(rows, row);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        json_decref(rows);
        return emu_fail(cx, "22000", "[QUERY_EXECUTION_ERROR] %s", sqlite3_errmsg(cx->eng->db));
    }
    for (k = 0; k < s->nitems; k++) {
        emu_result_add_column(cx->res, s->items[k].name,
                              s->items[k].type[0] != '\0' ? s->items[k].type : "STRING");
    }
    cx->res->rows = rows;
    return 0;
}

int emu_sql_select(emu_ctx_t *cx)
{
    sel_t *s = calloc(1, sizeof(*s));
    emu_toks_t *tk = cx->tk;
    size_t items_start, items_end, after_from;
    int rc = -1;

    if (s == NULL) {
        return emu_fail_code(cx, "INTERNAL_ERROR", "XX000", "[INTERNAL_ERROR] out of memory.");
    }
    s->x.cx = cx;
    s->x.binds = json_array();
    s->x.aliases = s->aliases;
    tk->i++; /* SELECT */
    emu_sb_add(&s->sql, emu_tk_accept_kw(tk, "DISTINCT") ? "SELECT DISTINCT " : "SELECT ");
    items_start = tk->i;
    items_end = emu_xl_find(tk, k_clause_kws, ";");
    after_from = items_end;
    if (tk->v[items_end].kind == TK_IDENT && strcmp(tk->v[items_end].val, "from") == 0) {
        tk->i = items_end + 1;
        if (from(s) != 0) {
            goto out;
        }
        after_from = tk->i;
    }
    tk->i = items_start;
    if (items(s, items_end) != 0) {
        goto out;
    }
    s->x.naliases = s->nitems;
    if (s->has_table) {
        emu_sb_addf(&s->sql, " FROM %s", s->t.data);
    }
    tk->i = after_from;
    if (tail(s) != 0 || run(s) != 0) {
        goto out;
    }
    rc = 0;
out:
    emu_sb_free(&s->sql);
    json_decref(s->x.binds);
    emu_table_free(&s->t);
    free(s);
    return rc;
}
