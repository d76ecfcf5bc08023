/*
 * buf.h — a growable byte buffer with a sticky error flag.
 *
 * Writers append without checking each call; the first allocation failure
 * (or growth past BUF_MAX) sets err, later appends do nothing, and the owner
 * checks err once at the end. Invariant: len <= cap; p is NULL iff cap == 0.
 */
#ifndef ACCORD_BUF_H
#define ACCORD_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define BUF_MAX ((size_t)1 << 31) /* 2 GiB: no single encoding grows beyond */

typedef struct buf {
  uint8_t *p;
  size_t len, cap;
  int err; /* 0 or a negative ACCORD_E* code */
} buf;

int buf_grow(buf *b, size_t extra);
void buf_free(buf *b);
/* Hands the bytes to the caller (NUL-terminated one past len) and resets b.
 * Returns NULL when b->err is set or memory runs out. */
uint8_t *buf_take(buf *b, size_t *len);

static inline int buf_reserve(buf *b, size_t extra) {
  if (b->cap - b->len >= extra) return !b->err;
  return buf_grow(b, extra) == 0;
}

/* For long-lived buffers: reserve, and on failure return the error with
 * the buffer as it was (not left failed for later appends). */
static inline int buf_try_reserve(buf *b, size_t extra) {
  if (buf_reserve(b, extra)) return 0;
  int rc = b->err;
  b->err = 0;
  return rc;
}

static inline void buf_put(buf *b, const void *p, size_t n) {
  if (n == 0 || !buf_reserve(b, n)) return;
  if (n <= 4) { /* a keystroke's bytes: a loop, not a call */
    const uint8_t *s = p;
    for (size_t i = 0; i < n; i++) b->p[b->len + i] = s[i];
  } else {
    memcpy(b->p + b->len, p, n);
  }
  b->len += n;
}

static inline void buf_put_byte(buf *b, uint8_t c) {
  if (!buf_reserve(b, 1)) return;
  b->p[b->len++] = c;
}

#endif
