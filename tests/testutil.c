/*
 * testutil.c — see testutil.h.
 */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t test_seed(const char *name) {
  const char *e = getenv("ACCORD_SEED");
  uint64_t seed;
  if (e && *e) {
    seed = strtoull(e, NULL, 0);
  } else {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    seed = (uint64_t)ts.tv_sec * 1000003u ^ (uint64_t)ts.tv_nsec;
  }
  printf("%s: seed %llu (replay with ACCORD_SEED=%llu)\n", name,
         (unsigned long long)seed, (unsigned long long)seed);
  fflush(stdout);
  return seed;
}

long test_scale(long base) {
  const char *e = getenv("ACCORD_TEST_SCALE");
  long k = e && *e ? strtol(e, NULL, 10) : 1;
  return base * (k > 0 ? k : 1);
}

void rng_init(test_rng *r, uint64_t seed) {
  r->s = seed ? seed : 0x9e3779b97f4a7c15ull;
}

uint64_t rng_next(test_rng *r) {
  uint64_t x = r->s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  r->s = x;
  return x * 0x2545f4914f6cdd1dull;
}

uint64_t rng_below(test_rng *r, uint64_t n) { return rng_next(r) % n; }

char *test_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, n = 0;
  char *p = malloc(cap + 1);
  size_t k;
  while (p && (k = fread(p + n, 1, cap - n, f)) > 0) {
    n += k;
    if (n == cap) {
      char *q = realloc(p, cap * 2 + 1);
      if (!q) {
        free(p);
        p = NULL;
        break;
      }
      p = q;
      cap *= 2;
    }
  }
  fclose(f);
  if (!p) return NULL;
  p[n] = 0;
  if (len) *len = n;
  return p;
}

char *test_read_gz(const char *path, size_t *len) {
  FILE *probe = fopen(path, "rb");
  if (!probe) return NULL;
  fclose(probe);
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "gzip -dc '%s'", path);
  FILE *f = popen(cmd, "r");
  if (!f) return NULL;
  size_t cap = 1 << 20, n = 0, k;
  char *p = malloc(cap + 1);
  while (p && (k = fread(p + n, 1, cap - n, f)) > 0) {
    n += k;
    if (n == cap) {
      char *q = realloc(p, cap * 2 + 1);
      if (!q) {
        free(p);
        p = NULL;
        break;
      }
      p = q;
      cap *= 2;
    }
  }
  if (pclose(f) != 0) {
    free(p);
    return NULL;
  }
  if (!p) return NULL;
  p[n] = 0;
  if (len) *len = n;
  return p;
}

char *test_json(const accord_doc *doc) {
  char *s = NULL;
  size_t n;
  AOK(accord_doc_json(doc, &s, &n));
  return s;
}

void test_actor(uint8_t actor[8], uint64_t n) {
  for (int i = 0; i < 8; i++) actor[i] = (uint8_t)(n >> (8 * (7 - i)));
}
