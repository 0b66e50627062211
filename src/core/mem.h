/*
 * mem: allocation wrappers. Out of memory aborts with a log line naming the
 * size: offsets are committed only after a load, so a restart
 * loses nothing, and callers need no untestable NULL branches. Bad input
 * never aborts; it comes back as a dp_err_t.
 */
#ifndef DP_MEM_H
#define DP_MEM_H

#include <stddef.h>

/* Returns new memory (caller frees with free()); never NULL. Thread: any. */
void *dp_malloc(size_t size);
void *dp_calloc(size_t n, size_t size);
void *dp_realloc(void *ptr, size_t size);
char *dp_strdup(const char *s);
char *dp_strndup(const char *s, size_t n);

/* Overwrites n bytes at p with zeros in a way the compiler cannot drop as a
 * dead store (explicit_bzero), for secrets about to be freed or to leave
 * scope. p may be NULL. Thread: any. */
void dp_wipe(void *p, size_t n);

/* Wipes the NUL-terminated secret s (a token, a password, a header line
 * carrying one) and frees it. NULL is a no-op. Thread: any. */
void dp_free_secret(char *s);

/* Makes jansson wipe every block it frees (json_set_alloc_funcs with a free
 * that zeroes the block first), so that a token or a password that passed
 * through a parsed JSON document does not stay in freed memory. Idempotent
 * (pthread_once); call it before other threads use jansson (the
 * configuration loader and the OAuth client do). Thread: any. */
void dp_mem_wipe_json_frees(void);

/* Gives the free memory of every malloc arena back to the kernel
 * (malloc_trim), at most once per interval_ms; does nothing elsewhere than
 * glibc. After a burst, the buffers librdkafka's threads and the flushes
 * freed stay in the arenas they came from; a steady stream never returns
 * them by itself. Returns 1 when it trimmed. Thread: any. */
int dp_mem_give_back(long long interval_ms);

#endif
