/*
 * sql_decimal: exact DECIMAL values for the emulator's SQL. A value is an unscaled
 * 128-bit integer and a scale (38 digits fit: 10^38 < 2^127), so DECIMAL(38, s) is exact;
 * rounding is HALF_UP (away from zero on .5), as Spark's java.math.BigDecimal does.
 *
 * In SQLite a DECIMAL value travels as TEXT with its scale's digits ("12.3400"); the SQL
 * functions registered by emu_sql_register_decimal (engine_int.h) compute on that text:
 *   emu_dec_arith(op, a, b, p, s)   a op b as DECIMAL(p, s); op 1 '+', 2 '-', 3 '*', 4 '/', 5 '%'
 *   emu_dec_cmp(a, b)               -1, 0, 1 (NULL when either is NULL)
 *   emu_dec_eqns(a, b)              a <=> b (1 or 0, never NULL)
 *   emu_dec_neg(a)                  -a
 *   emu_dec_sum(x), emu_dec_min(x), emu_dec_max(x)   aggregates (emu_dec_sum also over a window)
 * Operands may also be INTEGER (exact) or REAL (its shortest decimal text). Overflows raise
 * [NUMERIC_VALUE_OUT_OF_RANGE.WITH_SUGGESTION] and division by zero [DIVIDE_BY_ZERO], as
 * Databricks SQL does in its default ANSI mode.
 */
#ifndef EMU_SQL_DECIMAL_H
#define EMU_SQL_DECIMAL_H

#include <sqlite3.h>
#include <stddef.h>

__extension__ typedef __int128 emu_i128;

/* Parses decimal text ([+-]digits[.digits], spaces around allowed, at most 38 significant
 * digits) into an unscaled value and its scale. Returns 0, or -1 when s is not such a number. */
int emu_dec_parse(const char *s, emu_i128 *v, int *scale);

/* Reads a SQLite value (INTEGER, REAL or decimal TEXT) as a decimal. Returns 0, 1 for NULL,
 * -1 when it is not a number (or has more than 38 digits). */
int emu_dec_from_value(sqlite3_value *a, emu_i128 *v, int *scale);

/* Changes the scale of v (from -> to), rounding HALF_UP when digits are dropped. Returns 0, or
 * -1 when the result does not fit in 128 bits. */
int emu_dec_rescale(emu_i128 v, int from, int to, emu_i128 *out);

/* 1 when |v| has at most prec digits. */
int emu_dec_fits(emu_i128 v, int prec);

/* Writes v with scale digits after the point ("-0.0500"); out needs 44 bytes. */
void emu_dec_text(emu_i128 v, int scale, char *out, size_t outlen);

/* Writes the plain decimal text of a double, from its shortest round-trip form (what Spark's
 * Decimal(double) reads), e.g. 1e+20 -> "100000000000000000000". Returns 0 or -1 (NaN, inf). */
int emu_dec_from_double(double d, char *out, size_t outlen);

#endif
