/*
 * oplog.c — per-actor hash chains of encoded change bodies (DESIGN §4).
 *
 * Bodies are stored back to back in one buffer per chain with an offset
 * array: a change costs its encoded bytes plus 4. Sending changes to a peer
 * copies bodies as they are; nothing is re-encoded. Saving and loading
 * leave a chain packed (pack.h): its bodies compressed as columns, about
 * 1/30 of their size for typing, unpacked again only when something reads
 * old bodies (sync, import, rebuild, hashing); local commits append behind
 * the packed changes without unpacking them.
 *
 * Hashes are computed lazily: chain_hash brings a chain's hash up to its
 * head when a head is needed (sealing, comparing, saving), so typing pays
 * for encoding but not for hashing each keystroke. The hash of change k is
 * BLAKE2b-256(hash(k-1) ‖ prefix(doc, actor, k) ‖ body(k)).
 */
#include <string.h>

#include "change.h"
#include "crypto.h"
#include "mem.h"
#include "mp.h"
#include "pack.h"

int chain_prepare(chain *c) {
  if (!c->off && c->n > c->base) { /* loaded from format 4 */
    int rc = chain_index(c);
    if (rc) return rc;
  }
  if (c->n - c->base + 2 > c->cap) {
    uint32_t cap = c->cap ? 2 * c->cap : 16;
    uint32_t *off = mem_realloc(c->off, cap * sizeof *off);
    if (!off) return ACCORD_ENOMEM;
    if (c->cap == 0) off[0] = 0;
    c->off = off;
    c->cap = cap;
  }
  return 0;
}

void chain_push(chain *c, uint32_t end_op, int64_t time) {
  c->n++;
  c->off[c->n - c->base] = (uint32_t)c->bytes.len;
  c->end_op = end_op;
  c->time = time;
}

int chain_append(chain *c, const uint8_t *body, size_t len, uint32_t end_op,
                 int64_t time) {
  int rc = chain_prepare(c);
  if (rc) return rc;
  if (c->bytes.len + len > UINT32_MAX) return ACCORD_ETOOBIG;
  if ((rc = buf_try_reserve(&c->bytes, len))) return rc;
  buf_put(&c->bytes, body, len);
  chain_push(c, end_op, time);
  return 0;
}

/* Unpacks changes 1..base in front of the bodies that follow them. */
static int chain_unpack(chain *c) {
  buf nb = {0};
  int rc = unpack_bodies(c->packed.p, c->packed.len, c->base, &nb);
  if (!rc) {
    buf_put(&nb, c->bytes.p, c->bytes.len);
    rc = nb.err ? nb.err : nb.len > UINT32_MAX ? ACCORD_ETOOBIG : 0;
  }
  if (rc) {
    buf_free(&nb);
    return rc;
  }
  buf_free(&c->bytes);
  c->bytes = nb;
  mem_free(c->off);
  c->off = NULL;
  c->cap = 0;
  buf_free(&c->packed);
  c->base = 0;
  return 0;
}

int chain_index(chain *c) {
  if (c->base) {
    int rc = chain_unpack(c);
    if (rc) return rc;
  }
  if (c->off || c->n == 0) return 0;
  uint32_t *off = mem_alloc(((size_t)c->n + 16) * sizeof *off);
  if (!off) return ACCORD_ENOMEM;
  off[0] = 0;
  for (uint32_t i = 1; i <= c->n; i++) {
    size_t len = change_body_len(c->bytes.p + off[i - 1],
                                 c->bytes.len - off[i - 1]);
    if (!len) {
      mem_free(off);
      return ACCORD_EMALFORMED;
    }
    off[i] = off[i - 1] + (uint32_t)len;
  }
  if (off[c->n] != c->bytes.len) {
    mem_free(off);
    return ACCORD_EMALFORMED;
  }
  c->off = off;
  c->cap = c->n + 16;
  return 0;
}

int doc_index_chains(accord_doc *doc) {
  for (uint32_t a = 0; a < doc->nactors; a++) {
    int rc = chain_index(&doc->chains[a]);
    if (rc) return rc;
  }
  return 0;
}

int chain_tab_reserve(chain *c, uint32_t n) {
  if (n > c->captab) {
    uint32_t cap = c->captab ? c->captab : 4;
    while (cap < n) cap *= 2;
    uint32_t *t = mem_realloc(c->tab, cap * sizeof *t);
    if (!t) return ACCORD_ENOMEM;
    c->tab = t;
    c->captab = cap;
  }
  return 0;
}

int chain_set_tab(chain *c, const uint32_t *tab, uint32_t n) {
  int rc = chain_tab_reserve(c, n);
  if (rc) return rc;
  if (tab != c->tab) memcpy(c->tab, tab, n * sizeof *tab);
  c->ntab = n;
  return 0;
}

int chain_pack(chain *c, pack_z *z) {
  if (c->base == c->n) return 0; /* packed already, or empty */
  int rc = chain_index(c);
  if (rc) return rc;
  buf p = {0};
  if ((rc = pack_bodies(c, z, &p)) || p.len >= c->bytes.len) {
    /* a short chain's frame can outweigh its bodies; a chain past what
     * one frame holds (PACK_MAX_RAW) stays as it is too */
    buf_free(&p);
    return rc == ACCORD_ETOOBIG ? 0 : rc;
  }
  uint8_t *q = mem_realloc(p.p, p.len); /* the frame is far below its bound */
  if (q) {
    p.p = q;
    p.cap = p.len;
  }
  buf_free(&c->bytes);
  mem_free(c->off);
  c->off = NULL;
  c->cap = 0;
  c->packed = p;
  c->base = c->n;
  return 0;
}

void chain_truncate(chain *c, const chain *h) {
  uint32_t n = h ? h->n : 0;
  if (n >= c->n) return;
  if ((n < c->base || !c->off) && chain_index(c)) return;
  c->n = n;
  c->end_op = h ? h->end_op : 0;
  c->time = h ? h->time : 0;
  c->ntab = h ? h->ntab : 0;
  c->bytes.len = c->off[n - c->base];
  if (c->hashed > n) {
    c->hashed = 0; /* recomputed from the start when next needed */
    memset(c->hash, 0, sizeof c->hash);
  }
}

void chain_free(chain *c) {
  mem_free(c->off);
  mem_free(c->tab);
  buf_free(&c->bytes);
  buf_free(&c->packed);
  memset(c, 0, sizeof *c);
}

int chain_hash(const accord_doc *doc, uint32_t actor) {
  chain *c = &doc->chains[actor];
  if (c->hashed < c->n && (c->hashed < c->base || !c->off)) {
    int rc = chain_index(c);
    if (rc) return rc;
  }
  while (c->hashed < c->n) {
    uint32_t seq = c->hashed + 1;
    size_t len;
    const uint8_t *body = chain_body(c, seq, &len);
    change_chain_step(doc->id, doc->actor[actor], seq, body, len, c->hash);
    c->hashed = seq;
  }
  return 0;
}

size_t oplog_mem(const accord_doc *doc) {
  size_t m = doc->capactors * (ACCORD_ACTOR_BYTES + 3 * sizeof(uint32_t) +
                               sizeof(chain));
  for (uint32_t i = 0; i < doc->nactors; i++)
    m += (doc->chains[i].cap + doc->chains[i].captab) * sizeof(uint32_t) +
         doc->chains[i].bytes.cap + doc->chains[i].packed.cap;
  for (uint32_t i = 0; i < doc->npending; i++) m += doc->pending[i].len;
  return m + doc->cappending * sizeof(pend);
}
