/*
 * clock: the two clocks every module reads, in one place.
 * Thread: any.
 */
#ifndef DP_CLOCK_H
#define DP_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Milliseconds on the monotonic clock (durations, deadlines). */
long long dp_clock_mono_ms(void);

/* Microseconds since the epoch on the wall clock (timestamps in rows). */
int64_t dp_clock_wall_us(void);

/* The wall-clock instant ms from now, for pthread_cond_timedwait(). */
struct timespec dp_clock_deadline(long ms);

#endif
