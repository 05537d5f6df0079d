/* SPDX-License-Identifier: Apache-2.0 */
/*
 * alloc-count: counts malloc, calloc and realloc while 'alloc_counting' is
 * set, for tests that show a path allocates nothing.  The test executable is
 * linked with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc (meson: the
 * link arguments of its entry); include this once, in that test's file.
 */
#ifndef DSE_ALLOC_COUNT_H
#define DSE_ALLOC_COUNT_H

#include <stdbool.h>
#include <stddef.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);

static bool alloc_counting;
static unsigned n_allocs;

void *
__wrap_malloc(size_t n)
{
    n_allocs += alloc_counting;
    return __real_malloc(n);
}

void *
__wrap_calloc(size_t n, size_t size)
{
    n_allocs += alloc_counting;
    return __real_calloc(n, size);
}

void *
__wrap_realloc(void *p, size_t n)
{
    n_allocs += alloc_counting;
    return __real_realloc(p, n);
}

#endif
