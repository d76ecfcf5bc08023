/*
 * sum.c — see sum.h. Four independent lanes each fold in one 64-bit word
 * per step (multiply, rotate, multiply), so the loop runs at the speed of
 * the multipliers; a final avalanche mixes lanes, tail and length so that
 * every input bit reaches every output bit.
 */
#include "sum.h"

#include <string.h>

#define K1 0x9e3779b97f4a7c15ull /* 2^64 / golden ratio, odd */
#define K2 0xd6e8feb86659fd93ull
#define K3 0xa0761d6478bd642full

static uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static uint64_t word(const uint8_t *p) {
  uint64_t w;
  memcpy(&w, p, 8);
  return w;
}

static uint64_t fold(uint64_t lane, uint64_t w) {
  return rotl(lane ^ (w * K1), 29) * K2;
}

static uint64_t avalanche(uint64_t h) {
  h ^= h >> 31;
  h *= K3;
  h ^= h >> 29;
  h *= K1;
  h ^= h >> 32;
  return h;
}

uint64_t sum64(const void *data, size_t n) {
  const uint8_t *p = data;
  uint64_t a = K1, b = K2, c = K3, d = K1 ^ K2;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a = fold(a, word(p + i));
    b = fold(b, word(p + i + 8));
    c = fold(c, word(p + i + 16));
    d = fold(d, word(p + i + 24));
  }
  uint64_t h = rotl(a, 1) + rotl(b, 7) + rotl(c, 12) + rotl(d, 18);
  for (; i + 8 <= n; i += 8) h = fold(h, word(p + i));
  uint64_t tail = 0;
  if (i < n) memcpy(&tail, p + i, n - i);
  h = fold(h, tail);
  return avalanche(h ^ (uint64_t)n * K3);
}
