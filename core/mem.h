/*
 * mem.h — the library's allocator, with fault injection for tests.
 *
 * Every allocation in libaccord goes through these functions so that tests
 * can make the k-th allocation fail (mem_fail_after) and check that each
 * failure is reported as ACCORD_ENOMEM and leaves state unchanged.
 */
#ifndef ACCORD_MEM_H
#define ACCORD_MEM_H

#include <stddef.h>

void *mem_alloc(size_t n);
void *mem_calloc(size_t count, size_t size);
void *mem_realloc(void *p, size_t n);
/* Zeroed memory aligned to align (a power of two, a multiple of
 * sizeof(void *)): for structs holding a hash_state (crypto.h), which
 * libsodium declares 64-byte aligned. Freed with mem_free. */
void *mem_calloc_aligned(size_t align, size_t size);
void mem_free(void *p);

/* Test hook: the n-th allocation from now on fails (n = 1: the next one);
 * n = 0 disables injection. Not thread-safe: tests only. */
void mem_fail_after(long n);

#endif
