/*
 * buf.c — growth for buf.h. Doubling keeps appends amortised O(1).
 */
#include "buf.h"

#include <stdlib.h>

#include "accord.h"
#include "mem.h"

int buf_grow(buf *b, size_t extra) {
  if (b->err) return b->err;
  if (extra > BUF_MAX - b->len) return b->err = ACCORD_ETOOBIG;
  size_t need = b->len + extra;
  size_t cap = b->cap ? b->cap : 64;
  /* double while small, then grow by half: big buffers (a long history)
   * should not hold twice what they use */
  while (cap < need) cap = cap < ((size_t)1 << 20) ? cap * 2 : cap + cap / 2;
  /* a first allocation skips realloc's extra work: a version and a
   * batch are a fresh buffer each, one per edit for a peer gossiping */
  uint8_t *p = b->p ? mem_realloc(b->p, cap) : mem_alloc(cap);
  if (!p) return b->err = ACCORD_ENOMEM;
  b->p = p;
  b->cap = cap;
  return 0;
}

void buf_free(buf *b) {
  mem_free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
  b->err = 0;
}

uint8_t *buf_take(buf *b, size_t *len) {
  buf_put_byte(b, 0);
  if (b->err) {
    buf_free(b);
    return NULL;
  }
  uint8_t *p = b->p;
  if (len) *len = b->len - 1;
  b->p = NULL;
  b->len = b->cap = 0;
  return p;
}
