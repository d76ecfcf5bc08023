/*
 * oplog.c — per-actor hash chains of encoded change bodies (DESIGN §4).
 *
 * Bodies are stored back to back in one buffer per chain with an offset
 * array: a change costs its encoded bytes plus 4. Sending changes to a peer
 * copies bodies as they are; nothing is re-encoded. Saving and loading
 * leave a chain as one packed frame (pack.h): its bodies compressed as
 * columns, about 1/30 of their size for typing. Local commits append to
 * the unpacked tail behind the frames, and cold changes of the tail move
 * into further frames in the background (oplog_bg.c), so a document being
 * typed into holds little more than its state. Readers of old bodies
 * (sync, import, rebuild, hashing) unpack one frame at a time into a
 * chain_rd and drop it afterwards, so memory stays bounded after a sync;
 * chain_index unpacks everything, for the few readers that still want all
 * bodies in one piece (membership, the node store's loading).
 *
 * Hashes are computed lazily: chain_hash brings a chain's hash up to its
 * head when a head is needed (sealing, comparing, saving), so typing pays
 * for encoding but not for hashing each keystroke. The chain is hashed in
 * segments (hashchain.h); a chain caches one position (hp), and resumes
 * from its segment's root, absorbing at most HASHCHAIN_SEG - 1 bodies
 * again.
 */
#include <string.h>

#include "change.h"
#include "crypto.h"
#include "mem.h"
#include "mp.h"
#include "pack.h"

static int index_tail(chain *c);

/* Room a tail keeps when it shrinks (bytes; a quarter as many offsets). */
#define CHAIN_SLACK ((size_t)64 << 10)

/* The tail's offsets: off is skip entries into its allocation (those of
 * changes that moved into frames, dropped without moving the others), and
 * cap counts the entries from off. Offsets are positions in bytes: the
 * bytes before off[0] are dead, bodies of changes now in frames. */
static void off_free(chain *c) {
  mem_free(c->off ? c->off - c->skip : NULL);
  c->off = NULL;
  c->cap = c->skip = 0;
}

/* Moves the live tail to the front of its allocations. */
static void tail_compact(chain *c) {
  uint32_t live = c->n - c->base, dead = c->off[0];
  if (dead) {
    memmove(c->bytes.p, c->bytes.p + dead, c->bytes.len - dead);
    c->bytes.len -= dead;
  }
  uint32_t *o = c->off - c->skip;
  for (uint32_t i = 0; i <= live; i++) o[i] = c->off[i] - dead;
  c->off = o;
  c->cap += c->skip;
  c->skip = 0;
}

/* Room for k more offsets in the tail. Out of room, the skipped entries are
 * reclaimed only when they are as many as the live ones (else compacting
 * every few thousand appends would move a long tail each time: a backlog
 * is O(tail)); growth at least doubles, to the size asked in one step. */
static int off_reserve(chain *c, uint32_t k) {
  uint32_t live = c->n - c->base + 1;
  if (c->cap >= live && k <= c->cap - live) return 0;
  if (c->skip && c->skip >= live) {
    tail_compact(c);
    if (k <= c->cap - live) return 0;
  }
  size_t total = (size_t)c->skip + c->cap;
  size_t need = (size_t)c->skip + live + k;
  size_t cap = total ? 2 * total : 16;
  if (cap < need) cap = need;
  if (cap > UINT32_MAX) return ACCORD_ETOOBIG;
  uint32_t *off = mem_realloc(c->off ? c->off - c->skip : NULL,
                              cap * sizeof *off);
  if (!off) return ACCORD_ENOMEM;
  if (total == 0) off[0] = 0;
  c->off = off + c->skip;
  c->cap = (uint32_t)(cap - c->skip);
  return 0;
}

int chain_prepare(chain *c) {
  if (!c->off && c->n > c->base) { /* loaded from format 4 */
    int rc = index_tail(c);
    if (rc) return rc;
  }
  return off_reserve(c, 1);
}

void chain_push(chain *c, uint32_t end_op, int64_t time) {
  c->n++;
  c->off[c->n - c->base] = (uint32_t)c->bytes.len;
  c->end_op = end_op;
  c->time = time;
}

int chain_reserve(chain *c, uint32_t k, size_t bytes) {
  int rc = chain_prepare(c); /* the tail indexed, off allocated */
  if (rc) return rc;
  if ((rc = off_reserve(c, k))) return rc;
  if (bytes > UINT32_MAX - c->bytes.len) return ACCORD_ETOOBIG;
  return buf_try_reserve(&c->bytes, bytes);
}

int chain_append_slow(chain *c, const uint8_t *body, size_t len,
                      uint32_t end_op, int64_t time) {
  int rc = chain_prepare(c);
  if (rc) return rc;
  if (c->bytes.len + len > UINT32_MAX) return ACCORD_ETOOBIG;
  if ((rc = buf_try_reserve(&c->bytes, len))) return rc;
  buf_put(&c->bytes, body, len);
  chain_push(c, end_op, time);
  return 0;
}

/* Fills off[0..n] with the boundaries of the n bodies in p[0..len), which
 * they must fill exactly. EMALFORMED otherwise. */
static int find_bodies(const uint8_t *p, size_t len, uint32_t n,
                       uint32_t *off) {
  off[0] = 0;
  for (uint32_t i = 1; i <= n; i++) {
    size_t l = change_body_len(p + off[i - 1], len - off[i - 1]);
    if (!l) return ACCORD_EMALFORMED;
    off[i] = off[i - 1] + (uint32_t)l;
  }
  return off[n] == len ? 0 : ACCORD_EMALFORMED;
}

/* The seq before frame i's first change. */
static inline uint32_t frame_from(const chain *c, uint32_t i) {
  return i ? c->fr[i - 1].last : 0;
}

static void frames_free(chain *c, uint32_t from) {
  for (uint32_t i = from; i < c->nfr; i++) mem_free(c->fr[i].p);
  c->nfr = from;
  c->base = from ? c->fr[from - 1].last : 0;
  if (!from) {
    mem_free(c->fr);
    c->fr = NULL;
    c->capfr = 0;
  }
}

/* Unpacks every frame in front of the tail's bodies. */
static int chain_unpack(chain *c) {
  buf nb = {0};
  int rc = 0;
  for (uint32_t i = 0; i < c->nfr && !rc && !nb.err; i++)
    rc = unpack_bodies(c->fr[i].p, c->fr[i].len,
                       c->fr[i].last - frame_from(c, i), &nb);
  if (!rc) {
    uint32_t dead = c->off ? c->off[0] : 0;
    buf_put(&nb, c->bytes.p + dead, c->bytes.len - dead);
    rc = nb.err ? nb.err : nb.len > UINT32_MAX ? ACCORD_ETOOBIG : 0;
  }
  if (rc) {
    buf_free(&nb);
    return rc;
  }
  buf_free(&c->bytes);
  c->bytes = nb;
  off_free(c);
  frames_free(c, 0);
  c->gen++;
  return 0;
}

/* Finds the boundaries of a tail loaded in one piece (format 4). */
static int index_tail(chain *c) {
  if (c->off || c->n == c->base) return 0;
  uint32_t n = c->n - c->base;
  uint32_t *off = mem_alloc(((size_t)n + 16) * sizeof *off);
  if (!off) return ACCORD_ENOMEM;
  if (find_bodies(c->bytes.p, c->bytes.len, n, off)) {
    mem_free(off);
    return ACCORD_EMALFORMED;
  }
  c->off = off;
  c->cap = n + 16;
  return 0;
}

int chain_index(chain *c) {
  if (c->nfr) {
    int rc = chain_unpack(c);
    if (rc) return rc;
  }
  return index_tail(c);
}

int chain_index_from(chain *c, uint32_t from) {
  return from < c->base ? chain_index(c) : index_tail(c);
}

/* ---- reading old changes one frame at a time ----------------------------- */

void chain_rd_free(chain_rd *r) {
  buf_free(&r->bytes);
  mem_free(r->off);
  memset(r, 0, sizeof *r);
}

/* Makes r hold frame i of c. */
static int rd_load(chain *c, chain_rd *r, uint32_t i) {
  if (r->c == c && r->gen == c->gen && r->fi == i && r->fp == c->fr[i].p &&
      r->from == frame_from(c, i))
    return 0;
  uint32_t from = frame_from(c, i), n = c->fr[i].last - from;
  r->c = NULL;
  r->bytes.len = 0;
  r->bytes.err = 0;
  if (n + 1 > r->capoff) {
    uint32_t *off = mem_realloc(r->off, ((size_t)n + 1) * sizeof *off);
    if (!off) return ACCORD_ENOMEM;
    r->off = off;
    r->capoff = n + 1;
  }
  int rc = unpack_bodies(c->fr[i].p, c->fr[i].len, n, &r->bytes);
  if (!rc && r->bytes.err) rc = r->bytes.err; /* a write that failed */
  if (!rc && r->bytes.len > UINT32_MAX) rc = ACCORD_ETOOBIG;
  if (!rc) rc = find_bodies(r->bytes.p, r->bytes.len, n, r->off);
  if (rc) return rc;
  r->c = c;
  r->fp = c->fr[i].p;
  r->gen = c->gen;
  r->fi = i;
  r->from = from;
  return 0;
}

int chain_span(chain *c, chain_rd *r, uint32_t from, uint32_t to,
               const uint8_t **p, const uint32_t **off, uint32_t *upto) {
  if (from >= to || to > c->n) return ACCORD_EINVAL;
  if (from >= c->base) {
    int rc = index_tail(c); /* a format 4 tail: find its boundaries */
    if (rc) return rc;
    *p = c->bytes.p;
    *off = c->off + (from - c->base);
    *upto = to;
    return 0;
  }
  uint32_t lo = 0, hi = c->nfr - 1; /* the frame holding from + 1 */
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    if (c->fr[mid].last > from) hi = mid;
    else lo = mid + 1;
  }
  int rc = rd_load(c, r, lo);
  if (rc) return rc;
  *p = r->bytes.p;
  *off = r->off + (from - r->from);
  *upto = to < c->fr[lo].last ? to : c->fr[lo].last;
  return 0;
}

int chain_get(chain *c, chain_rd *r, uint32_t seq, const uint8_t **body,
              size_t *len) {
  const uint8_t *p;
  const uint32_t *off;
  uint32_t upto;
  int rc = chain_span(c, r, seq - 1, seq, &p, &off, &upto);
  if (rc) return rc;
  *body = p + off[0];
  *len = off[1] - off[0];
  return 0;
}

int chain_bytes(chain *c, chain_rd *r, uint32_t from, uint32_t to,
                uint64_t *out) {
  *out = 0;
  while (from < to) {
    const uint8_t *p;
    const uint32_t *off;
    uint32_t upto;
    int rc = chain_span(c, r, from, to, &p, &off, &upto);
    if (rc) return rc;
    *out += off[upto - from] - off[0];
    from = upto;
  }
  return 0;
}

int chain_copy(chain *c, chain_rd *r, uint32_t from, uint32_t to, buf *out) {
  while (from < to) {
    const uint8_t *p;
    const uint32_t *off;
    uint32_t upto;
    int rc = chain_span(c, r, from, to, &p, &off, &upto);
    if (rc) return rc;
    buf_put(out, p + off[0], off[upto - from] - off[0]);
    if (out->err) return out->err;
    from = upto;
  }
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
  if (c->base == c->n && c->nfr <= 1) return 0; /* packed already, or empty */
  int rc = chain_index(c);
  if (rc) return rc;
  buf p = {0};
  if ((rc = pack_bodies(c, z, &p)) || p.len >= c->bytes.len) {
    /* a short chain's frame can outweigh its bodies; a chain past what
     * one frame holds (PACK_MAX_RAW) stays as it is too */
    buf_free(&p);
    return rc == ACCORD_ETOOBIG ? 0 : rc;
  }
  chain_frame *fr = c->fr;
  if (!c->capfr && !(fr = mem_alloc(sizeof *fr))) {
    buf_free(&p);
    return ACCORD_ENOMEM;
  }
  uint8_t *q = mem_realloc(p.p, p.len); /* the frame is far below its bound */
  if (q) p.p = q;
  buf_free(&c->bytes);
  off_free(c);
  if (!c->capfr) {
    c->fr = fr;
    c->capfr = 1;
  }
  c->fr[0].p = p.p;
  c->fr[0].len = (uint32_t)p.len;
  c->fr[0].last = c->n;
  c->nfr = 1;
  c->base = c->n;
  c->gen++;
  return 0;
}

int chain_add_frame(chain *c, uint8_t *p, size_t len, uint32_t last) {
  if (last <= c->base || last > c->n || !c->off || len > UINT32_MAX)
    return ACCORD_EINVAL;
  if (c->nfr == c->capfr) {
    uint32_t cap = c->capfr ? 2 * c->capfr : 8;
    chain_frame *fr = mem_realloc(c->fr, cap * sizeof *fr);
    if (!fr) return ACCORD_ENOMEM;
    c->fr = fr;
    c->capfr = cap;
  }
  /* the tail loses its first k bodies: dropped from the offsets, and
   * from the bytes once they outweigh the live ones (each live byte moves
   * at most once per as many bytes dropped: O(1) a byte) */
  uint32_t k = last - c->base;
  c->off += k;
  c->skip += k;
  c->cap -= k;
  c->fr[c->nfr].p = p;
  c->fr[c->nfr].len = (uint32_t)len;
  c->fr[c->nfr].last = last;
  c->nfr++;
  c->base = last;
  size_t live = c->bytes.len - c->off[0];
  if (c->off[0] < live &&
      !(c->bytes.cap > CHAIN_SLACK && c->bytes.cap / 4 > live))
    return 0; /* neither many dead bytes nor much room to give back */
  tail_compact(c);
  /* a tail that was long (a backlog the worker caught up with, a chain
   * unpacked by chain_index) gives its room back: a shrink at most halves
   * the room, so appends do not pay for it again soon */
  if (c->bytes.cap > CHAIN_SLACK && c->bytes.cap / 4 > c->bytes.len) {
    size_t want = 2 * c->bytes.len > CHAIN_SLACK ? 2 * c->bytes.len
                                                 : CHAIN_SLACK;
    uint8_t *q = mem_realloc(c->bytes.p, want);
    if (q) {
      c->bytes.p = q;
      c->bytes.cap = want;
    }
  }
  uint32_t need = c->n - c->base + 2;
  if (c->cap > CHAIN_SLACK / 4 && c->cap / 4 > need) {
    uint32_t want = 2 * need > CHAIN_SLACK / 4 ? 2 * need : CHAIN_SLACK / 4;
    uint32_t *o = mem_realloc(c->off, (size_t)want * sizeof *o);
    if (o) {
      c->off = o;
      c->cap = want;
    }
  }
  return 0;
}

/* Makes the changes of frame i up to n (its from < n <= its last) the
 * tail, dropping frames i.. and the tail after them. */
static int cut_into_frame(chain *c, uint32_t i, uint32_t n) {
  chain_rd r;
  memset(&r, 0, sizeof r);
  int rc = rd_load(c, &r, i);
  uint32_t k = n - r.from;
  uint32_t *off = NULL;
  if (!rc && !(off = mem_alloc(((size_t)k + 16) * sizeof *off)))
    rc = ACCORD_ENOMEM;
  if (rc) {
    chain_rd_free(&r);
    return rc;
  }
  memcpy(off, r.off, ((size_t)k + 1) * sizeof *off);
  r.bytes.len = off[k];
  buf_free(&c->bytes);
  c->bytes = r.bytes; /* taken from the reader */
  memset(&r.bytes, 0, sizeof r.bytes);
  chain_rd_free(&r);
  off_free(c);
  c->off = off;
  c->cap = k + 16;
  frames_free(c, i);
  return 0;
}

void chain_truncate(chain *c, const chain *h) {
  uint32_t n = h ? h->n : 0;
  if (n >= c->n) return;
  if (n < c->base) {
    uint32_t i = 0;
    while (c->fr[i].last <= n) i++; /* the frame holding n + 1 */
    if (n == frame_from(c, i)) {
      /* a frame boundary: the frames after it and the tail go */
      off_free(c);
      buf_free(&c->bytes);
      frames_free(c, i);
    } else if (cut_into_frame(c, i, n)) {
      if (chain_index(c)) return; /* as before frames: left as it was */
    }
  } else if (index_tail(c)) {
    return;
  }
  c->gen++;
  c->n = n;
  /* seals past the cut cover changes that are gone (the caller restores
   * chain.seal; checkpoints past n go here) */
  while (c->ncps && c->cps[c->ncps - 1].seq > n) c->ncps--;
  c->gap_seq = 0;
  c->end_op = h ? h->end_op : 0;
  c->time = h ? h->time : 0;
  c->ntab = h ? h->ntab : 0;
  if (n > c->base || c->off) c->bytes.len = c->off[n - c->base];
  if (c->hp.seq > n) {
    /* the root of the cached segment still holds if the cut spared it;
     * else the hash is recomputed from the start when next needed */
    uint32_t b = c->hp.seq - c->hp.seq % HASHCHAIN_SEG;
    if (b > n) memset(&c->hp, 0, sizeof c->hp);
    else {
      c->hp.seq = b;
      memcpy(c->hp.hash, c->hp.root, sizeof c->hp.hash);
    }
  }
}

void chain_free(chain *c) {
  mem_free(c->cps);
  off_free(c);
  mem_free(c->tab);
  buf_free(&c->bytes);
  frames_free(c, 0);
  memset(c, 0, sizeof *c);
}

int chain_hash_range(const accord_doc *doc, uint32_t actor, chain_rd *r,
                     hashchain *h, uint32_t to) {
  chain *c = &doc->chains[actor];
  while (h->seq < to) {
    const uint8_t *p;
    const uint32_t *off;
    uint32_t upto;
    int rc = chain_span(c, r, h->seq, to, &p, &off, &upto);
    if (rc) return rc;
    hashchain_span(h, p, off, upto - h->seq);
  }
  return 0;
}

int chain_hasher(const accord_doc *doc, uint32_t actor, chain_rd *r,
                 uint32_t at, hashchain *h) {
  chain *c = &doc->chains[actor];
  uint32_t b = c->hp.seq - c->hp.seq % HASHCHAIN_SEG;
  if (b <= at) hashchain_start(h, doc->id, doc->actor[actor], b, c->hp.root);
  else hashchain_start(h, doc->id, doc->actor[actor], 0, NULL);
  int rc = chain_hash_range(doc, actor, r, h, at);
  /* what was hashed further than before is not hashed again */
  if (!rc && at > c->hp.seq) hashchain_pos_of(h, &c->hp);
  return rc;
}

int chain_hash(const accord_doc *doc, uint32_t actor) {
  const chain *c = &doc->chains[actor];
  if (c->hp.seq == c->n) return 0;
  hashchain h;
  chain_rd r;
  memset(&r, 0, sizeof r);
  int rc = chain_hasher(doc, actor, &r, c->n, &h);
  chain_rd_free(&r);
  return rc;
}

size_t oplog_mem(const accord_doc *doc) {
  size_t m = doc->capactors * (ACCORD_ACTOR_BYTES + 3 * sizeof(uint32_t) +
                               sizeof(chain));
  for (uint32_t i = 0; i < doc->nactors; i++) {
    const chain *c = &doc->chains[i];
    m += (c->cap + c->skip + c->captab) * sizeof(uint32_t) + c->bytes.cap +
         c->capfr * sizeof(chain_frame) + c->capcps * sizeof(chain_seal);
    for (uint32_t k = 0; k < c->nfr; k++) m += c->fr[k].len;
  }
  for (uint32_t i = 0; i < doc->npending; i++) m += doc->pending[i].len;
  return m + doc->cappending * sizeof(pend);
}
