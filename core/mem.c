/*
 * mem.c — allocator wrappers (see mem.h). The countdown is a plain global:
 * only single-threaded tests set it, and production never does.
 */
#define _POSIX_C_SOURCE 200112L
#include "mem.h"

#include <stdlib.h>
#include <string.h>

static long fail_countdown;

static int should_fail(void) {
  if (fail_countdown <= 0) return 0;
  return --fail_countdown == 0;
}

void *mem_alloc(size_t n) { return should_fail() ? NULL : malloc(n ? n : 1); }

void *mem_calloc(size_t count, size_t size) {
  return should_fail() ? NULL : calloc(count ? count : 1, size ? size : 1);
}

void *mem_realloc(void *p, size_t n) {
  return should_fail() ? NULL : realloc(p, n ? n : 1);
}

void *mem_calloc_aligned(size_t align, size_t size) {
  void *p = NULL;
  if (should_fail() || posix_memalign(&p, align, size ? size : 1)) return NULL;
  return memset(p, 0, size);
}

void mem_free(void *p) { free(p); }

void mem_fail_after(long n) { fail_countdown = n; }
