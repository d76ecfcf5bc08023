/*
 * hashchain.c — the segmented hash chain (hashchain.h).
 *
 * Workload: every change hashed on import with verification (a peer's
 * whole history on first sync), on store writes and on load; a hash is
 * finalised per seal, per stored record and per head. Callers hand over
 * runs of bodies that lie back to back (a batch's chain, a chain's tail,
 * a store record), so hashchain_span feeds BLAKE2b a segment at a time.
 */
#include "hashchain.h"

#include <string.h>

static const uint8_t personal[16] = "accord-chain-v2";

/* Opens the segment after the boundary h->seq, whose root is h->root. */
static void segment_open(hashchain *h) {
  uint8_t first[4] = {(uint8_t)((h->seq + 1) >> 24),
                      (uint8_t)((h->seq + 1) >> 16),
                      (uint8_t)((h->seq + 1) >> 8), (uint8_t)(h->seq + 1)};
  hash_init_personal(&h->st, personal);
  hash_update(&h->st, h->root, sizeof h->root);
  hash_update(&h->st, h->doc, sizeof h->doc);
  hash_update(&h->st, h->actor, sizeof h->actor);
  hash_update(&h->st, first, sizeof first);
}

void hashchain_start(hashchain *h, const uint8_t *doc, const uint8_t *actor,
                     uint32_t seq, const uint8_t *root) {
  h->seq = seq;
  if (root) memcpy(h->root, root, sizeof h->root);
  else memset(h->root, 0, sizeof h->root);
  memcpy(h->doc, doc, sizeof h->doc);
  memcpy(h->actor, actor, sizeof h->actor);
  segment_open(h);
}

void hashchain_addn(hashchain *h, const uint8_t *p, size_t len, uint32_t n) {
  if (!n) return;
  hash_update(&h->st, p, len);
  h->seq += n;
  if (h->seq % HASHCHAIN_SEG == 0) {
    hash_final(&h->st, h->root);
    segment_open(h);
  }
}

void hashchain_add(hashchain *h, const uint8_t *body, size_t len) {
  hashchain_addn(h, body, len, 1);
}

void hashchain_span(hashchain *h, const uint8_t *p, const uint32_t *off,
                    uint32_t n) {
  while (n) {
    uint32_t m = hashchain_room(h);
    if (m > n) m = n;
    hashchain_addn(h, p + off[0], off[m] - off[0], m);
    off += m;
    n -= m;
  }
}

void hashchain_hash(const hashchain *h, uint8_t out[ACCORD_HASH_BYTES]) {
  if (h->seq % HASHCHAIN_SEG == 0) {
    memcpy(out, h->root, ACCORD_HASH_BYTES);
    return;
  }
  hash_state st = h->st;
  hash_final(&st, out);
}

void hashchain_pos_of(const hashchain *h, hashchain_pos *p) {
  p->seq = h->seq;
  memcpy(p->root, h->root, sizeof p->root);
  hashchain_hash(h, p->hash);
}

void hashchain_feed_flush(hashchain_feed *f) {
  hashchain_addn(f->h, f->p, f->len, f->n);
  f->len = 0;
  f->n = 0;
}

void hashchain_feed_body(hashchain_feed *f, const uint8_t *body, size_t len) {
  if (f->n && f->p + f->len != body) hashchain_feed_flush(f);
  if (!f->n) f->p = body;
  f->len += len;
  if (++f->n == hashchain_room(f->h)) hashchain_feed_flush(f);
}
