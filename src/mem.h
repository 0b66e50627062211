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

#endif
