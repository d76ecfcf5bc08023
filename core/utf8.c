/*
 * utf8.c — see utf8.h. The ASCII fast paths matter: almost all text our
 * users type is ASCII, and these run on every splice.
 */
#include "utf8.h"

#include <string.h>

int utf8_valid(const uint8_t *s, size_t len, size_t *ncp) {
  size_t i = 0, n = 0;
  while (i < len) {
    uint64_t w;
    if (len - i >= 8 && (memcpy(&w, s + i, 8), !(w & 0x8080808080808080u))) {
      i += 8; /* eight ASCII bytes */
      n += 8;
      continue;
    }
    uint8_t c = s[i];
    if (c < 0x80) {
      i++;
      n++;
      continue;
    }
    uint32_t cp;
    size_t k;
    if (c >= 0xc2 && c <= 0xdf) {
      k = 1;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      k = 2;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      k = 3;
      cp = c & 0x07;
    } else {
      return 0;
    }
    if (len - i <= k) return 0;
    for (size_t j = 1; j <= k; j++) {
      if ((s[i + j] & 0xc0) != 0x80) return 0;
      cp = (cp << 6) | (s[i + j] & 0x3f);
    }
    if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return 0;
    i += k + 1;
    n++;
  }
  if (ncp) *ncp = n;
  return 1;
}

size_t utf8_count(const uint8_t *s, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++) n += (s[i] & 0xc0) != 0x80;
  return n;
}

size_t utf8_offset(const uint8_t *s, size_t len, size_t n) {
  size_t i = 0;
  while (n > 0 && i < len) {
    i++;
    while (i < len && (s[i] & 0xc0) == 0x80) i++;
    n--;
  }
  return i;
}
