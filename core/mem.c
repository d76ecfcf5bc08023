/*
 * mem.c — allocator wrappers (see mem.h). The countdown is a plain global:
 * only single-threaded tests set it, and production never does.
 */
#include "mem.h"

#include <stdlib.h>

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

void mem_free(void *p) { free(p); }

void mem_fail_after(long n) { fail_countdown = n; }
