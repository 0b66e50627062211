/*
 * prom_check: a strict reader of the Prometheus text format 0.0.4, for the
 * metrics tests. It checks what a scrape by Prometheus 3 relies on: every
 * sample belongs to a family announced by one # HELP and one # TYPE before
 * it, a family's samples are contiguous, no series repeats, values parse,
 * histogram buckets are cumulative and end with le="+Inf" equal to _count,
 * and the text ends with a newline.
 */
#ifndef DP_PROM_CHECK_H
#define DP_PROM_CHECK_H

#include <stddef.h>

/* Returns 0 when text (len bytes) is valid; else -1 with the first problem
 * (and its line) in why. */
int dp_prom_check(const char *text, size_t len, char *why, size_t whylen);

/* Finds the sample whose series (name plus labels exactly as written, e.g.
 * "deltaport_flushes_total{reason=\"max_age\"}") is series and stores its
 * value. Returns 0, or -1 when absent or not a number. */
int dp_prom_value(const char *text, const char *series, double *value);

/* Sums every sample of metric name (any labels). Returns the number of
 * samples found, or -1 when a sample's value is not a number. */
int dp_prom_sum(const char *text, const char *name, double *sum);

#endif
