/*
 * mem: allocation wrappers that abort on out-of-memory, and the wiping of
 * secrets before their memory is freed (see mem.h).
 */
#define _DEFAULT_SOURCE /* explicit_bzero, malloc_usable_size (glibc) */
#include "core/mem.h"

#include <jansson.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void oom(size_t size)
{
    fprintf(
        stderr,
        "{\"level\":\"fatal\",\"module\":\"mem\",\"msg\":\"out of memory allocating %zu bytes\"}\n",
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

void dp_wipe(void *p, size_t n)
{
    if (p && n)
        explicit_bzero(p, n);
}

void dp_free_secret(char *s)
{
    if (!s)
        return;
    dp_wipe(s, strlen(s));
    free(s);
}

/* jansson's free: the whole block (its usable size) is zeroed first. */
static void json_wiping_free(void *p)
{
    if (p)
        dp_wipe(p, malloc_usable_size(p));
    free(p);
}

static void install_json_free(void)
{
    json_set_alloc_funcs(malloc, json_wiping_free);
}

void dp_mem_wipe_json_frees(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;

    pthread_once(&once, install_json_free);
}

int dp_mem_give_back(long long interval_ms)
{
#ifdef __GLIBC__
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    static long long last;
    struct timespec ts;
    long long now;
    int due;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    pthread_mutex_lock(&mu);
    due = last == 0 || now - last >= interval_ms;
    if (due)
        last = now;
    pthread_mutex_unlock(&mu);
    if (due)
        malloc_trim(0);
    return due;
#else
    (void)interval_ms;
    return 0;
#endif
}
