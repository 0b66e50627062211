/*
 * mem: allocation wrappers that abort on out-of-memory (see mem.h).
 */
#include "mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t size)
{
    fprintf(stderr, "{\"level\":\"fatal\",\"module\":\"mem\",\"msg\":\"out of memory allocating %zu bytes\"}\n",
            size);
    abort();
}

void *dp_malloc(size_t size)
{
    void *p = malloc(size ? size : 1);

    if (!p)
        oom(size);
    return p;
}

void *dp_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (!p)
        oom(n * size);
    return p;
}

void *dp_realloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);

    if (!p)
        oom(size);
    return p;
}

char *dp_strdup(const char *s)
{
    return dp_strndup(s, strlen(s));
}

char *dp_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = dp_malloc(len + 1);

    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}
