/*
 * idtext.c — a member's public key as a short printable id (issue 5 item 1),
 * in the spirit of Syncthing's device ids:
 *
 *   AAAAAAA-AAAAAAB-BBBBBBB-BBBBBBC-...   (8 groups of 7, 63 characters)
 *
 * The 32-byte key is written in base32 (RFC 4648 alphabet A-Z 2-7, no
 * padding): 52 characters, the last holding 1 key bit and 4 zero bits. The
 * 52 are cut into 4 blocks of 13, each followed by one check character, and
 * the 56 are shown as 8 groups of 7 with dashes between them.
 *
 * Check character: the Damm algorithm over the quasigroup x*y = 2x + y of
 * GF(32) (polynomial x^5 + x^2 + 1). It is a Latin square, so every single
 * substitution changes the result, and totally anti-symmetric ((c*x)*y =
 * (c*y)*x only when x = y, because 2 != 1), so every transposition of two
 * adjacent characters changes it too, the check character included; the
 * tests try all of them. Luhn mod 32, Syncthing's choice, misses the
 * transposition of the two characters of value 0 and 31 ("A7" <-> "7A").
 * Block k's check starts from k instead of 0, so swapped blocks are caught
 * as well.
 *
 * Parsing is case-insensitive and ignores dashes and spaces anywhere; the
 * padding bits must be zero, so every key has exactly one id.
 */
#include <string.h>

#include "accord.h"

#define B32 "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
#define KEY_CHARS 52 /* ceil(256 / 5) */
#define BLOCK 13
#define BLOCKS 4
#define GROUP 7

_Static_assert(BLOCK * BLOCKS == KEY_CHARS, "id blocks");
_Static_assert(BLOCKS * (BLOCK + 1) == 8 * GROUP, "id groups");
_Static_assert(ACCORD_ID_TEXT_BYTES == 8 * GROUP + 7 + 1, "id text size");

/* x * y = 2x + y in GF(32). */
static unsigned damm_op(unsigned x, unsigned y) {
  x <<= 1;
  if (x & 0x20) x ^= 0x25;
  return x ^ y;
}

/* The check value of digits d[0..n) starting from start: 0 when the last
 * digit is the right check digit. */
static unsigned damm(unsigned start, const unsigned char *d, size_t n) {
  unsigned v = start;
  for (size_t i = 0; i < n; i++) v = damm_op(v, d[i]);
  return v;
}

static int b32_value(char ch) {
  if (ch >= 'a' && ch <= 'z') return ch - 'a';
  if (ch >= 'A' && ch <= 'Z') return ch - 'A';
  if (ch >= '2' && ch <= '7') return ch - '2' + 26;
  return -1;
}

int accord_id_format(const uint8_t *public_key, char *out, size_t size) {
  if (!public_key || !out || size < ACCORD_ID_TEXT_BYTES) return ACCORD_EINVAL;
  unsigned char d[BLOCKS * (BLOCK + 1)];
  unsigned acc = 0, bits = 0;
  size_t n = 0, k = 0;
  for (size_t i = 0; i < 32; i++) {
    acc = (acc << 8 | public_key[i]) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      d[k++] = (unsigned char)((acc >> bits) & 31);
      n++;
      if (n % BLOCK == 0) {
        /* the digit that brings the block's check to 0: 2v + c = 0 */
        d[k] = (unsigned char)damm_op(damm(n / BLOCK - 1, d + k - BLOCK,
                                           BLOCK), 0);
        k++;
      }
    }
  }
  d[k++] = (unsigned char)((acc << (5 - bits)) & 31); /* the last bit */
  n++;
  d[k] = (unsigned char)damm_op(damm(BLOCKS - 1, d + k - BLOCK, BLOCK), 0);
  k++;
  size_t o = 0;
  for (size_t i = 0; i < k; i++) {
    if (i && i % GROUP == 0) out[o++] = '-';
    out[o++] = B32[d[i]];
  }
  out[o] = 0;
  return 0;
}

int accord_id_parse(const char *text, uint8_t *public_key) {
  if (!text || !public_key) return ACCORD_EINVAL;
  unsigned char d[BLOCKS * (BLOCK + 1)];
  size_t k = 0;
  for (const char *p = text; *p; p++) {
    if (*p == '-' || *p == ' ') continue;
    int v = b32_value(*p);
    if (v < 0 || k == sizeof d) return ACCORD_EMALFORMED;
    d[k++] = (unsigned char)v;
  }
  if (k != sizeof d) return ACCORD_EMALFORMED;
  for (unsigned b = 0; b < BLOCKS; b++)
    if (damm(b, d + b * (BLOCK + 1), BLOCK + 1)) return ACCORD_EMALFORMED;
  uint8_t key[32];
  unsigned acc = 0, bits = 0;
  size_t o = 0;
  for (size_t i = 0; i < sizeof d; i++) {
    if (i % (BLOCK + 1) == BLOCK) continue; /* a check digit */
    acc = (acc << 5 | d[i]) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      if (o < sizeof key) key[o++] = (uint8_t)(acc >> bits);
    }
  }
  /* 260 bits read: 256 of key and 4 of padding, which must be zero */
  if (o != sizeof key || bits != 4 || (acc & 15)) return ACCORD_EMALFORMED;
  memcpy(public_key, key, sizeof key);
  return 0;
}
