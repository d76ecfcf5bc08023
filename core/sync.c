/*
 * sync.c — version vectors, batches of changes, and importing them.
 *
 * Version vector: [doc bin16, {actor bin8: seq}] with keys in id order, sequence
 * the highest change applied (contiguously) from that actor.
 *
 * Batch (version 3): [3, doc bin16, [actor bin8...], [chain...]] where a
 * chain is [actor ref, first seq, seal, body fields...] — the bodies
 * (change.h) of consecutive seqs, six msgpack values each, copied from
 * storage as they are. seal is nil or bin96: the author's public key (32)
 * and its signature (64, seal.c) over the chain hash at the chain's last
 * seq (hashchain.h). Version 1 had no seal field; version 2's seals signed
 * the chain hash as it was before it was hashed in segments. Both are
 * refused (EVERSION), so an older peer meets a clear error, not ESEAL.
 *
 * Seals on the sending side: the local actor's chain is sealed (signed)
 * when a batch is built, if its head moved since its last seal and the
 * document has a signer. Another author's chain goes with the latest seal
 * stored for it; a document that verifies sends such a chain only up to
 * that seal (the unsealed tail could not be checked by the receiver). A
 * document that does not verify sends everything, sealed where it can.
 * Bounded batches (node_net.c) cut chains larger than a batch where a seal
 * can go with the cut: one signed for it on our own chain, a checkpoint
 * (an earlier verified seal the chain kept, seal.c) on another author's.
 *
 * Seals on import, with verification on: every batch chain must carry a
 * seal whose key derives to the chain's actor (else ESEAL, EKEY). Before a
 * change is applied, the run of changes from the chain's head to the next
 * seal (batch and waiting ones alike) is hashed and the seal checked
 * against that hash: a bad one fails the import (ESEAL), or, if the run
 * holds waiting changes, those are dropped as never verified and the run
 * retried. A run that reaches no seal yet (a gap in the author's chain)
 * waits in pending with its seal. The document's keycheck hook (members.c
 * for node documents) then decides whether the sealing key may write
 * these seqs at all (ENOTMEMBER). A seal reached replaces the chain's
 * latest, which may stay as a checkpoint (seal_adopt); a failed import
 * restores both with its mark. Verification is independent of deps:
 * a verified change may still wait for them. With verification off, seals
 * that arrive are ignored. Changes given to sync_import directly (loaded
 * from the node's own store) are trusted.
 *
 * Large plain imports (every author's changes extend its chain, nothing
 * waiting) hash and check their seals on a second thread while the main
 * thread applies (sync_bg.c); a bad seal then undoes the import like any
 * other failure, with ESEAL.
 *
 * Forks. A batch change that differs from the one we hold under its seq
 * fails the import (EFORK), unless verification is on and the author's
 * seal over the batch's run checks while the seal we hold covers our
 * version: then the author signed both, our chain is kept, the author's
 * changes in the batch are skipped, the rest imports, and the evidence is
 * recorded in the document (fork.c) when the import succeeds.
 *
 * Import is all or nothing. Changes are grouped per actor in seq order
 * together with the ones already waiting (pending); each round applies, per
 * actor, every change that extends the chain and whose deps are present,
 * until a round makes no progress. What is left waits in pending. Any error
 * truncates the chains back, restores pending, and rebuilds the state.
 */
#include <stdlib.h>
#include <string.h>

#include "change.h"
#include "crypto.h"
#include "mem.h"
#include "mp.h"
#include "oplog_bg.h"
#include "sync.h"
#include "sync_bg.h"


decoder *doc_decoder(accord_doc *doc) {
  if (!doc->dec) doc->dec = mem_calloc(1, sizeof(decoder));
  return doc->dec;
}

/* ---- version vectors ----------------------------------------------------- */

/* Actor indexes with at least one change, in actor id order: in small
 * (SMALL_ACTORS entries) when they fit, else allocated. Peers exchange a
 * version and a batch per edit, so these stay off the heap for documents
 * with few authors. */
#define SMALL_ACTORS 16
static inline uint32_t *sorted_actors(const accord_doc *doc, uint32_t *n,
                                      uint32_t *small) {
  uint32_t *a = doc->nactors <= SMALL_ACTORS
                    ? small
                    : mem_alloc(doc->nactors * sizeof *a);
  if (!a) return NULL;
  const uint32_t *order = doc->order;
  const chain *chains = doc->chains;
  uint32_t k = 0, na = doc->nactors;
  for (uint32_t r = 0; r < na; r++)
    if (chains[order[r]].n > 0) a[k++] = order[r];
  *n = k;
  return a;
}

int accord_doc_version(const accord_doc *doc, uint8_t **out, size_t *len) {
  if (!out || !len) return ACCORD_EINVAL;
  *out = NULL;
  if (!doc) return ACCORD_EINVAL;
  uint32_t n, small[SMALL_ACTORS], *a = sorted_actors(doc, &n, small);
  if (!a) return ACCORD_ENOMEM;
  /* the exact bound: array, bin16, map header, (bin8, uint32) per actor,
   * and a NUL as buf_take leaves; written unchecked into one allocation
   * (a buf's growth went through realloc: ~200 instructions of a version
   * taken per edit) */
  uint8_t *v = mem_alloc(1 + 18 + 5 + (size_t)n * (10 + 5) + 1);
  if (v) {
    uint8_t *p = mp_w_array(v, 2);
    p = mp_w_bin(p, doc->id, ACCORD_DOC_ID_BYTES);
    p = n <= 15 ? (*p = (uint8_t)(0x80 | n), p + 1)
        : n <= 0xffff ? mp_w_be(p, 0xde, n, 2) : mp_w_be(p, 0xdf, n, 4);
    for (uint32_t i = 0; i < n; i++) {
      p = mp_w_bin(p, doc->actor[a[i]], ACCORD_ACTOR_BYTES);
      p = mp_w_uint(p, doc->chains[a[i]].n);
    }
    *p = 0;
    *len = (size_t)(p - v);
  }
  if (a != small) mem_free(a);
  *out = v;
  return v ? 0 : ACCORD_ENOMEM;
}

/* An actor id as a number in the order of its bytes (memcmp's order): one
 * compare, not a call, per entry of a version. */
_Static_assert(ACCORD_ACTOR_BYTES == 8, "actor_key: an id fits a uint64");
static inline uint64_t actor_key(const uint8_t *id) {
  uint64_t k;
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  memcpy(&k, id, sizeof k);
  k = __builtin_bswap64(k);
#else
  k = 0;
  for (int i = 0; i < ACCORD_ACTOR_BYTES; i++) k = k << 8 | id[i];
#endif
  return k;
}

/* Parses a version vector into known[actor index] (actors we do not know
 * are irrelevant: we have nothing of theirs to send). */
static int parse_version(const accord_doc *doc, const uint8_t *vv,
                         size_t len, uint32_t *known) {
  mp_reader r;
  uint32_t m;
  const uint8_t *id, *prev = NULL;
  /* An array of 2 and a bin8 of 16, and per entry a bin8 of 8, have one
   * encoding each (the readers refuse longer forms): matched byte for
   * byte, a version being read per edit by a gossiping peer. */
  if (len < 19 || vv[0] != 0x92 || vv[1] != 0xc4 ||
      vv[2] != ACCORD_DOC_ID_BYTES)
    return ACCORD_EMALFORMED;
  if (memcmp(vv + 3, doc->id, ACCORD_DOC_ID_BYTES)) return ACCORD_EOTHERDOC;
  mp_reader_init(&r, vv + 19, len - 19);
  if (mp_get_map(&r, &m)) return ACCORD_EMALFORMED;
  for (uint32_t i = 0; i < m; i++) {
    uint64_t seq;
    uint32_t a;
    if (mp_left(&r) < 2 + ACCORD_ACTOR_BYTES || r.p[0] != 0xc4 ||
        r.p[1] != ACCORD_ACTOR_BYTES)
      return ACCORD_EMALFORMED;
    id = r.p + 2;
    r.p += 2 + ACCORD_ACTOR_BYTES;
    if (mp_get_uint_max(&r, UINT32_MAX, &seq)) return ACCORD_EMALFORMED;
    if (prev && actor_key(prev) >= actor_key(id)) return ACCORD_EMALFORMED;
    prev = id;
    if (doc_actor_find(doc, id, &a)) known[a] = (uint32_t)seq;
  }
  return r.p == r.end ? 0 : ACCORD_EMALFORMED;
}

/* ---- batches ------------------------------------------------------------- */

/* The last seq of actor's chain a batch may carry. */
uint32_t sync_send_to(const accord_doc *doc, uint32_t actor) {
  const chain *c = &doc->chains[actor];
  if (!doc->verify || (actor == 0 && !doc->has_signer)) return c->n;
  return actor == 0 ? c->n : c->seal.seq;
}

/* A batch chain's header: array, ref, first seq, seal (bin96) or nil;
 * at most CHAIN_HEAD_MAX bytes. */
#define CHAIN_HEAD_MAX (5 + 5 + 5 + 2 + SEAL_WIRE_BYTES)

static size_t chain_head_size(const chain *c, uint32_t ref, uint32_t from,
                              uint32_t to) {
  return mp_array_size(3 + 6 * (uint64_t)(to - from)) + mp_uint_size(ref) +
         mp_uint_size((uint64_t)from + 1) +
         (c->seal.seq == to ? 2 + SEAL_WIRE_BYTES : 1);
}

static uint8_t *w_chain_head(uint8_t *p, const chain_seal *s, uint32_t ref,
                             uint32_t from, uint32_t to) {
  p = mp_w_array(p, (uint32_t)(3 + 6 * (uint64_t)(to - from)));
  p = mp_w_uint(p, ref);
  p = mp_w_uint(p, from + 1);
  if (s->seq != to) return mp_w_nil(p);
  p = mp_w_be(p, 0xc4, SEAL_WIRE_BYTES, 1);
  memcpy(p, s->pk, 32);
  memcpy(p + 32, s->sig, 64);
  return p + SEAL_WIRE_BYTES;
}

/* 0, or ETOOBIG when a chain of to - from changes cannot be one array. */
static int chain_fits(uint32_t from, uint32_t to) {
  return 3 + 6 * (uint64_t)(to - from) > UINT32_MAX ? ACCORD_ETOOBIG : 0;
}

void sync_put_chain(buf *b, const accord_doc *doc, uint32_t actor,
                    uint32_t ref, uint32_t from, uint32_t to,
                    const chain_seal *seal) {
  chain *c = &doc->chains[actor];
  int rc = chain_fits(from, to);
  if (!seal) seal = &c->seal;
  if (!rc && buf_reserve(b, CHAIN_HEAD_MAX))
    b->len = (size_t)(w_chain_head(b->p + b->len, seal, ref, from, to) - b->p);
  /* old changes are read a frame at a time, never unpacked in the chain */
  chain_rd r;
  memset(&r, 0, sizeof r);
  if (!rc && !b->err) rc = chain_copy(c, &r, from, to, b);
  chain_rd_free(&r);
  if (rc && !b->err) b->err = rc;
}

int sync_put_batch(accord_doc *doc, const uint32_t *known, buf *b) {
  int rc = seal_own(doc);
  if (rc) return rc;
  uint32_t n, small[SMALL_ACTORS], *a = sorted_actors(doc, &n, small);
  if (!a) return ACCORD_ENOMEM;
  uint32_t k = 0;
  size_t bytes = 0;
  int tails = 1; /* every chain sent reads only bodies in its tail */
  for (uint32_t i = 0; i < n && !rc; i++) {
    uint32_t from = known ? known[a[i]] : 0, to = sync_send_to(doc, a[i]);
    if (to <= from) continue;
    chain *c = &doc->chains[a[i]];
    if ((rc = chain_fits(from, to))) break;
    if (tails && from >= c->base) {
      /* only the chains sent need their tails indexed (a batch per edit
       * sends one of the document's chains) */
      if ((rc = chain_index_from(c, from))) break;
      bytes += 10 + chain_head_size(c, k, from, to) +
               (c->off[to - c->base] - c->off[from - c->base]);
    } else {
      tails = 0; /* frames to read: their bodies grow b as they are read */
    }
    a[k++] = a[i];
  }
  /* headers (array, version, bin16, two array headers), the chains, and
   * buf_take's NUL */
  size_t head = 1 + 1 + 18 + 2 * mp_array_size(k);
  size_t need = head + (tails ? bytes : 10 * (size_t)k) + 1;
  if (!rc && tails && !b->p && need <= BUF_MAX) {
    /* a fresh buffer gets exactly the batch and its NUL: not buf_grow's
     * 64, 128, ... (a keystroke's batch of ~55 bytes took 64 or 128,
     * and a peer keeping batches keeps that slack), and not its loop:
     * a batch is taken per edit */
    b->p = mem_alloc(need);
    if (!b->p) rc = ACCORD_ENOMEM;
    else b->cap = need;
  }
  if (rc || !buf_reserve(b, need)) {
    if (a != small) mem_free(a);
    return rc ? rc : b->err;
  }
  uint8_t *p = b->p + b->len;
  p = mp_w_array(p, 4);
  p = mp_w_uint(p, BATCH_VERSION);
  p = mp_w_bin(p, doc->id, ACCORD_DOC_ID_BYTES);
  p = mp_w_array(p, k);
  for (uint32_t i = 0; i < k; i++)
    p = mp_w_bin(p, doc->actor[a[i]], ACCORD_ACTOR_BYTES);
  p = mp_w_array(p, k);
  b->len = (size_t)(p - b->p);
  if (!tails) { /* a peer far behind: frames read one at a time */
    for (uint32_t i = 0; i < k && !b->err; i++)
      sync_put_chain(b, doc, a[i], i, known ? known[a[i]] : 0,
                     sync_send_to(doc, a[i]), NULL);
  } else {
    /* the exact size is reserved (a bound with room for a seal per chain
     * made a batch of one keystroke 256 bytes, not 64, and a peer keeping
     * batches touched 4x the pages): unchecked writes, each body run
     * copied once, as a batch is taken per edit */
    for (uint32_t i = 0; i < k; i++) {
      const chain *c = &doc->chains[a[i]];
      uint32_t from = known ? known[a[i]] : 0, to = sync_send_to(doc, a[i]);
      p = w_chain_head(p, &c->seal, i, from, to);
      size_t at = c->off[from - c->base], nb = c->off[to - c->base] - at;
      memcpy(p, c->bytes.p + at, nb);
      p += nb;
    }
    b->len = (size_t)(p - b->p);
  }
  if (a != small) mem_free(a);
  return b->err;
}

int accord_doc_changes_since(accord_doc *doc, const uint8_t *vv,
                             size_t vv_len, uint8_t **out, size_t *len) {
  if (!out || !len) return ACCORD_EINVAL;
  *out = NULL;
  if (!doc || (!vv && vv_len)) return ACCORD_EINVAL;
  if (doc->poisoned) return doc->poisoned;
  uint32_t small[SMALL_ACTORS] = {0};
  uint32_t *known = doc->nactors <= SMALL_ACTORS
                        ? small
                        : mem_calloc(doc->nactors, sizeof *known);
  if (!known) return ACCORD_ENOMEM;
  int rc = vv ? parse_version(doc, vv, vv_len, known) : 0;
  buf b = {0};
  if (!rc) rc = sync_put_batch(doc, known, &b);
  if (known != small) mem_free(known);
  if (rc) {
    buf_free(&b);
    return rc;
  }
  *out = buf_take(&b, len);
  return *out ? 0 : ACCORD_ENOMEM;
}

/* ---- import -------------------------------------------------------------- */

/* A change to consider: from the batch (borrowed) or pending (owned). */
typedef struct cand {
  uint32_t actor, seq;
  const uint8_t *body;
  size_t len;
  const uint8_t *seal; /* pk ‖ sig over the chain at seq, or NULL */
  uint8_t from_pending;
  uint8_t done;
  uint8_t verified; /* its seal run checked (or trusted) */
  uint8_t stuck;    /* its run reaches no seal: it cannot in this import */
  uint32_t hidx;    /* sealed and verified: its run's hash is hash[hidx-1] */
  /* on an author's first candidate (sorted): where its candidates end and
   * where the last scan stopped (all before it are done), so that each
   * round of apply_all resumes instead of rescanning the done ones
   * (32 bits: reserve_cands caps the candidates; a merge holds tens of
   * thousands, and a smaller candidate is fewer pages touched) */
  uint32_t gend, resume;
} cand;

static int cand_cmp(const void *x, const void *y) {
  const cand *a = x, *b = y;
  if (a->actor != b->actor) return a->actor < b->actor ? -1 : 1;
  if (a->seq != b->seq) return a->seq < b->seq ? -1 : 1;
  return a->from_pending - b->from_pending;
}

typedef struct importer {
  accord_doc *doc;
  cand *c;
  size_t n, cap;
  hashchain_pos *hash; /* where verified runs left their chains */
  uint32_t nhash, caphash;
  doc_mark mark; /* the document before the import */
  accord_import_stats st;
  fork_ev *forks; /* evidence found, added to the document on success */
  uint32_t nforks, capforks;
  int sorted; /* c is in cand_cmp order */
  /* c starts here: most imports (a peer's latest edit) hold a change or
   * two, and a heap array per import cost ~300 instructions (callgrind) */
  cand small[8];
} importer;

/* Makes room for n more candidates. */
static int reserve_cands(importer *im, size_t n) {
  if (im->cap - im->n >= n) return 0;
  if (n > UINT32_MAX - im->n) return ACCORD_ETOOBIG; /* cand.gend */
  size_t cap = im->cap;
  while (cap - im->n < n) cap *= 2;
  cand *c = im->c == im->small ? mem_alloc(cap * sizeof *c)
                               : mem_realloc(im->c, cap * sizeof *c);
  if (!c) return ACCORD_ENOMEM;
  if (im->c == im->small) memcpy(c, im->small, sizeof im->small);
  im->c = c;
  im->cap = cap;
  return 0;
}

static int add_cand(importer *im, uint32_t actor, uint32_t seq,
                    const uint8_t *body, size_t len, const uint8_t *seal,
                    int from_pending, int verified) {
  if (im->n == im->cap) {
    int rc = reserve_cands(im, 1);
    if (rc) return rc;
  }
  cand *x = &im->c[im->n++];
  x->actor = actor;
  x->seq = seq;
  x->body = body;
  x->len = len;
  x->seal = seal;
  x->from_pending = (uint8_t)from_pending;
  x->done = 0;
  x->verified = (uint8_t)verified;
  x->stuck = 0;
  x->hidx = 0;
  x->gend = x->resume = 0;
  return 0;
}

/* A change we already have: the same bytes, or evidence of a fork. */
static int check_known(accord_doc *doc, const cand *x) {
  size_t len;
  const uint8_t *have;
  int rc = chain_get(&doc->chains[x->actor], &doc->rd, x->seq, &have, &len);
  if (rc) return rc == ACCORD_EMALFORMED ? ACCORD_EFORK : rc;
  if (len == x->len && memcmp(have, x->body, len) == 0) return 0;
  return ACCORD_EFORK;
}

/* Candidate j of the actor run [i, e), from the batch, differs from the
 * change we hold at its seq s. With verification on, if its author sealed
 * both our chain (the seal we hold covers s) and the batch's run from s
 * (up to its first seal), with the same key, the author forked: the batch's
 * changes of that author are skipped (done) and the evidence kept for the
 * end of the import. Otherwise, or if the evidence does not check, EFORK as
 * before: nothing proves who is lying. */
static int fork_found(importer *im, size_t i, size_t e, size_t j) {
  accord_doc *doc = im->doc;
  const cand *x = &im->c[j];
  uint32_t a = x->actor, s = x->seq;
  chain *c = &doc->chains[a];
  if (!doc->verify || c->seal.seq < s) return ACCORD_EFORK;
  buf theirs = {0}, ours = {0}, shared = {0}, ev = {0};
  uint32_t expect = s, tseq = 0;
  const uint8_t *tseal = NULL;
  for (size_t k = j; k < e && !tseal; k++) {
    const cand *y = &im->c[k];
    if (y->from_pending || y->done) continue;
    if (y->seq != expect) break; /* a gap, or the same seq twice */
    buf_put(&theirs, y->body, y->len);
    expect++;
    if (y->seal) {
      tseal = y->seal;
      tseq = y->seq;
    }
  }
  int rc = theirs.err;
  if (!rc && !tseal) rc = ACCORD_EFORK;
  if (!rc) {
    /* evidence starts at s-1's segment (hashchain.h): its root, and the
     * bodies from there to s-1. Forks are rare; hashing the chain from the
     * start when needed costs no more than its import did. */
    uint8_t oseal[SEAL_WIRE_BYTES];
    hashchain h;
    rc = chain_hasher(doc, a, &doc->rd, s - 1, &h);
    uint32_t b = h.seq - h.seq % HASHCHAIN_SEG;
    if (!rc) rc = chain_copy(c, &doc->rd, b, s - 1, &shared);
    if (!rc) rc = chain_copy(c, &doc->rd, s - 1, c->seal.seq, &ours);
    memcpy(oseal, c->seal.pk, 32);
    memcpy(oseal + 32, c->seal.sig, 64);
    if (!rc)
      rc = fork_build(doc, a, s, h.root, shared.p, shared.len, ours.p,
                      ours.len, c->seal.seq, oseal, theirs.p, theirs.len,
                      tseq, tseal, &ev);
  }
  buf_free(&theirs);
  buf_free(&ours);
  buf_free(&shared);
  if (rc) return rc;
  int known = fork_find(doc, a, s) >= 0;
  size_t bytes = fork_bytes(doc) + ev.len;
  for (uint32_t k = 0; k < im->nforks; k++) {
    if (im->forks[k].actor == a && im->forks[k].seq == s) known = 1;
    bytes += im->forks[k].len;
  }
  if (known || doc->nforks + im->nforks >= ACCORD_MAX_FORKS ||
      bytes > ACCORD_MAX_FORK_BYTES) {
    buf_free(&ev); /* the first evidence is kept */
  } else {
    if (im->nforks == im->capforks) {
      uint32_t cap = im->capforks ? 2 * im->capforks : 4;
      fork_ev *f = mem_realloc(im->forks, cap * sizeof *f);
      if (!f) {
        buf_free(&ev);
        return ACCORD_ENOMEM;
      }
      im->forks = f;
      im->capforks = cap;
    }
    fork_ev *f = &im->forks[im->nforks++];
    f->actor = a;
    f->seq = s;
    f->len = ev.len;
    f->ev = ev.p;
  }
  for (size_t k = i; k < e; k++)
    if (!im->c[k].from_pending) im->c[k].done = 1;
  im->st.forks++;
  return 0;
}

/* How many of the nch changes of a batch chain from seq first, at r, are
 * ones we hold byte for byte; r moves past them. Those are duplicates and
 * need no candidate: apply_ready would find each known and equal
 * (check_known), and nothing else would look at them. Bodies are six
 * self-delimiting values, so bytes equal to our bodies first..last
 * concatenated are exactly those bodies; anything else (a fork, a
 * malformed body) is left to the candidates. A merge that pulls from a
 * replica holding what we hold skips sizing and comparing each change. */
static uint32_t known_prefix(accord_doc *doc, uint32_t actor,
                             uint32_t first, uint32_t nch, mp_reader *r) {
  chain *c = &doc->chains[actor];
  if (!nch || first > c->n || r->err) return 0;
  uint32_t k = c->n - first + 1 < nch ? c->n - first + 1 : nch;
  const uint8_t *at = r->p;
  size_t left = mp_left(r);
  /* old changes are compared span by span, each read from its frame */
  for (uint32_t from = first - 1, to = from + k; from < to;) {
    const uint8_t *p;
    const uint32_t *off;
    uint32_t upto;
    if (chain_span(c, &doc->rd, from, to, &p, &off, &upto)) return 0;
    size_t len = off[upto - from] - off[0];
    if (len > left || memcmp(at, p + off[0], len)) return 0;
    at += len;
    left -= len;
    from = upto;
  }
  r->p = at;
  return k;
}

/* Runs an early job takes (a batch with more chains plans after parsing). */
#define BG_EARLY_RUNS 64

/* While parsing a plain bulk import (ej not NULL: verification on, nothing
 * waiting), starts hashing on the worker at the first large chain instead
 * of after parsing and planning (issue 5: the worker's hashing is the
 * longer side, so its start is the import's critical path). Each chain
 * must extend its author's chain exactly, one chain per author, else the
 * early job is cancelled and bg_plan decides after parsing as before.
 * Returns 0 or an error (ENOMEM). */
static int bg_early_chain(importer *im, bg_job **ej, uint32_t a,
                          uint32_t first, uint32_t nch, const uint8_t *seal,
                          const mp_reader *r, uint32_t chains_left,
                          bg_run **posted) {
  accord_doc *doc = im->doc;
  bg_job *j = *ej;
  *posted = NULL;
  if (!nch) return 0;
  /* a body is at least 6 bytes: a claimed count the batch cannot hold
   * reserves nothing (the parse fails on it) */
  int fits = seal && first == doc->chains[a].n + 1 && nch <= mp_left(r) / 6;
  for (uint32_t i = 0; fits && i < j->nruns; i++)
    if (j->runs[i].idx == a) fits = 0;
  if (!j->early) {
    if (!fits || nch < BG_MIN || chains_left > BG_EARLY_RUNS ||
        bg_early_begin(j, &doc->bg, chains_left)) {
      *ej = NULL; /* not this batch */
      return 0;
    }
    memcpy(j->ws, doc->ws, sizeof j->ws);
    memcpy(j->doc, doc->id, sizeof j->doc);
  }
  hashchain h;
  int rc = fits ? chain_hasher(doc, a, &doc->rd, first - 1, &h) : 0;
  if (!rc && fits)
    *posted = bg_early_add(j, &doc->bg, doc->actor[a], a, first, nch, &h,
                           seal, r->p);
  if (!*posted) {
    bg_cancel(j);
    *ej = NULL;
  }
  return rc;
}

/* Parses a batch into candidates. */
static int read_batch(importer *im, const uint8_t *p, size_t len,
                      bg_job *ej) {
  accord_doc *doc = im->doc;
  mp_reader r;
  uint32_t n, na, nc = 0;
  uint64_t version;
  const uint8_t *id;
  size_t idlen;
  mp_reader_init(&r, p, len);
  if (mp_get_array(&r, &n) || n != 4 || mp_get_uint(&r, &version))
    return ACCORD_EMALFORMED;
  if (version != BATCH_VERSION) return ACCORD_EVERSION;
  if (mp_get_bin(&r, &id, &idlen) || idlen != ACCORD_DOC_ID_BYTES)
    return ACCORD_EMALFORMED;
  if (memcmp(id, doc->id, ACCORD_DOC_ID_BYTES)) return ACCORD_EOTHERDOC;
  if (mp_get_array(&r, &na) || na > ACCORD_MAX_ACTORS) return ACCORD_EMALFORMED;
  uint32_t small[16]; /* batch ref -> actor index; most batches name few */
  uint32_t *map = na <= 16 ? small : mem_alloc(na * sizeof *map);
  if (!map) return ACCORD_ENOMEM;
  int rc = 0;
  for (uint32_t i = 0; i < na && !rc; i++) {
    if (mp_get_bin(&r, &id, &idlen) || idlen != ACCORD_ACTOR_BYTES)
      rc = ACCORD_EMALFORMED;
    else rc = doc_actor_index(doc, id, &map[i]);
  }
  if (!rc && mp_get_array(&r, &nc)) rc = ACCORD_EMALFORMED;
  for (uint32_t i = 0; i < nc && !rc; i++) {
    uint32_t fields;
    uint64_t ref, first;
    const uint8_t *seal = NULL;
    size_t slen = 0;
    if (mp_get_array(&r, &fields) || fields < 3 || (fields - 3) % 6 ||
        mp_get_uint(&r, &ref) || ref >= na ||
        mp_get_uint_max(&r, UINT32_MAX - 1, &first) || first == 0 ||
        first + (fields - 3) / 6 > UINT32_MAX ||
        (!mp_try_nil(&r) &&
         (mp_get_bin(&r, &seal, &slen) || slen != SEAL_WIRE_BYTES))) {
      rc = ACCORD_EMALFORMED;
      break;
    }
    uint32_t nch = (fields - 3) / 6;
    if (!doc->verify) {
      seal = NULL; /* neither checked nor kept */
    } else if (nch && !seal) {
      rc = ACCORD_ESEAL; /* unsealed changes cannot be verified */
      break;
    } else if (seal) {
      uint8_t actor[ACCORD_ACTOR_BYTES];
      key_actor(seal, actor);
      if (memcmp(actor, doc->actor[map[ref]], ACCORD_ACTOR_BYTES)) {
        rc = ACCORD_EKEY;
        break;
      }
      if (nch && doc->keycheck &&
          (rc = doc->keycheck(doc->keycheck_ud, doc, actor, seal,
                              (uint32_t)first, (uint32_t)(first + nch - 1))))
        break;
    }
    bg_run *posted = NULL; /* the worker hashes this chain's bodies */
    if (ej && (rc = bg_early_chain(im, &ej, map[ref], (uint32_t)first, nch,
                                   seal, &r, nc - i, &posted)))
      break;
    uint32_t k = known_prefix(doc, map[ref], (uint32_t)first, nch, &r);
    im->st.duplicates += k;
    /* room for the chain's candidates at once (a merge of a whole history
     * grew the array by doubling, copying it each time); a body takes at
     * least 6 bytes, so a claimed count the batch cannot hold reserves
     * nothing beyond what it holds */
    if (nch - k > 1 && nch - k <= mp_left(&r) / 6 &&
        (rc = reserve_cands(im, nch - k)))
      break;
    uint32_t k0 = k;
    const uint8_t *run = r.p;
    for (; k < nch && !rc; k++) {
      size_t blen = change_body_len(r.p, mp_left(&r));
      if (!blen) {
        rc = ACCORD_EMALFORMED;
        break;
      }
      if (posted) bg_early_len(posted, k, blen);
      rc = add_cand(im, map[ref], (uint32_t)(first + k), r.p, blen,
                    k + 1 == nch ? seal : NULL, 0, !doc->verify);
      r.p += blen;
    }
    /* a run that extends its chain will most likely be appended whole:
     * room for it at once (a merge's chain grew by doubling from empty,
     * copying its bodies each time). Only capacity, within what the batch
     * holds: a failure here is left for the appends to meet. */
    if (!rc && nch - k0 > 1 && first + k0 == doc->chains[map[ref]].n + 1)
      (void)chain_reserve(&doc->chains[map[ref]], nch - k0,
                          (size_t)(r.p - run));
  }
  if (map != small) mem_free(map);
  if (!rc && r.p != r.end) rc = ACCORD_EMALFORMED;
  return rc;
}

/* Decodes and applies one change that extends its chain, if its deps are
 * present. *applied says whether it was. */
static int try_apply(importer *im, const cand *x, int *applied) {
  accord_doc *doc = im->doc;
  decoder *d = doc_decoder(doc);
  if (!d) return ACCORD_ENOMEM;
  chain *c = &doc->chains[x->actor];
  dchange ch;
  chain_ctx prev = chain_context(c);
  int rc = change_decode(doc, d, x->actor, &prev, x->body, x->len, &ch);
  if (rc) return rc;
  c = &doc->chains[x->actor]; /* decoding may have grown the actor table */
  *applied = 0;
  for (uint32_t k = 0; k < ch.ndeps; k++)
    if (doc->chains[ch.deps[2 * k]].n < ch.deps[2 * k + 1]) return 0;
  im->mark.touched = 1;
  for (uint32_t k = 0; k < ch.nops; k++)
    if ((rc = state_apply(doc, &doc->st, &ch.ops[k]))) return rc;
  if ((ch.ntab != c->ntab && (rc = chain_tab_reserve(c, ch.ntab))) ||
      (rc = chain_append(c, x->body, x->len, ch.end_op, ch.time)))
    return rc;
  /* a change's table is its predecessor's plus the actors it adds: the
   * same length is the same table (most changes add none) */
  if (ch.ntab != c->ntab)
    chain_set_tab(c, ch.tab, ch.ntab); /* reserved: cannot fail */
  *applied = 1;
  return 0;
}

/* ---- seal runs ----------------------------------------------------------- */

/* Checks the run of candidates [i, e) of one actor that extends its chain
 * up to the last seal it reaches: one candidate per seq (the first not
 * done), consecutive from the head. Only that last seal is checked: it
 * covers every change before it, so a hostile batch full of seals still
 * costs one signature check per run. Returns 1 (the run verified: marked),
 * 0 (no seal reached yet), or an error: ESEAL when the seal does not check
 * and the run holds only changes of this import; a run holding waiting
 * changes drops them (never verified) and is tried again. */
static int verify_run(importer *im, size_t i, size_t e) {
  accord_doc *doc = im->doc;
  uint32_t a = im->c[i].actor;
  for (;;) {
    const chain *c = &doc->chains[a];
    hashchain h;
    hashchain_pos at;
    int rc = chain_hasher(doc, a, &doc->rd, c->n, &h);
    if (rc) return rc;
    hashchain_feed f = {&h, NULL, 0, 0};
    uint32_t expect = c->n + 1;
    size_t k, end = e;
    int pending = 0, pending_at = 0;
    const uint8_t *seal = NULL;
    for (k = i; k < e; k++) {
      cand *y = &im->c[k];
      if (y->done || y->seq < expect) continue;
      if (y->seq > expect) break; /* a gap: nothing to check yet */
      hashchain_feed_body(&f, y->body, y->len);
      pending |= y->from_pending;
      expect++;
      if (y->seal) {
        seal = y->seal;
        end = k + 1;
        pending_at = pending;
        hashchain_feed_flush(&f);
        hashchain_pos_of(&h, &at);
      }
    }
    if (!seal) return 0;
    pending = pending_at;
    int ok = seal_check(doc, a, at.seq, at.hash, seal);
    if (ok && im->nhash == im->caphash) {
      uint32_t cap = im->caphash ? 2 * im->caphash : 16;
      hashchain_pos *t = mem_realloc(im->hash, cap * sizeof *t);
      if (!t) return ACCORD_ENOMEM;
      im->hash = t;
      im->caphash = cap;
    }
    if (ok) im->hash[im->nhash++] = at;
    /* mark (or drop) the candidates the run took */
    expect = c->n + 1;
    for (k = i; k < end; k++) {
      cand *y = &im->c[k];
      if (y->done || y->seq != expect) continue;
      expect++;
      if (ok) {
        y->verified = 1;
        if (k + 1 == end) y->hidx = im->nhash;
      } else if (y->from_pending) {
        y->done = 1;
      }
    }
    if (ok) return 1;
    if (!pending) return ACCORD_ESEAL;
  }
}

/* After x, whose seal a run checked, was applied: its seal becomes the
 * chain's, and the hash the run computed saves hashing the run again (the
 * chain's hash stopped where the run began: nothing hashes chains between
 * a run's check and its last change). Seals inside a run were not checked
 * and are not kept. */
static int seal_reached(importer *im, const cand *x) {
  chain *c = &im->doc->chains[x->actor];
  c->hp = im->hash[x->hidx - 1];
  /* the seal it replaces may stay as a checkpoint (seal.c) */
  return seal_adopt(im->doc, x->actor, &im->doc->rd, x->seq, x->seal);
}

/* Whether the candidates are in cand_cmp order already: a batch from
 * one replica whose actor indexes line up with ours comes sorted, and
 * glibc's qsort allocates and merge-sorts even a sorted array (callgrind,
 * friendsforever merge: 15M instructions for 3 sorts). */
static int cands_sorted(const importer *im) {
  for (size_t i = 1; i < im->n; i++)
    if (cand_cmp(&im->c[i - 1], &im->c[i]) > 0) return 0;
  return 1;
}

static int apply_ready(importer *im) {
  accord_doc *doc = im->doc;
  if (im->n > 1 && !im->sorted && !cands_sorted(im))
    qsort(im->c, im->n, sizeof *im->c, cand_cmp);
  im->sorted = 1;
  for (int progress = 1; progress;) {
    progress = 0;
    for (size_t i = 0; i < im->n;) {
      cand *g = &im->c[i];
      uint32_t a = g->actor;
      if (!g->gend) { /* the first round: find the author's candidates */
        size_t end = i;
        while (end < im->n && im->c[end].actor == a) end++;
        g->gend = (uint32_t)end;
        g->resume = (uint32_t)i;
      }
      size_t j = g->resume, e = g->gend;
      for (; j < e; j++) {
        cand *x = &im->c[j];
        if (x->done) continue;
        const chain *c = &doc->chains[a];
        if (x->seq <= c->n) {
          int rc = check_known(doc, x);
          /* a waiting change that disagrees with the chain was never
           * verified: drop it. One from this batch is a fork: proven (its
           * author's run is skipped) or not (EFORK). */
          if (rc && !x->from_pending) {
            if ((rc = fork_found(im, i, e, j))) return rc;
            continue;
          }
          x->done = 1;
          if (!x->from_pending) im->st.duplicates++;
          continue;
        }
        if (x->seq != c->n + 1) break;
        if (!x->verified) {
          /* the chain cannot move until x is verified, and no candidates
           * arrive mid-import: a run that reached no seal never will */
          if (x->stuck) break;
          int vr = verify_run(im, j, e);
          if (vr < 0) return vr;
          if (vr == 0) { /* waits for the rest of its run */
            x->stuck = 1;
            break;
          }
          if (x->done) continue; /* a waiting change the run dropped */
        }
        int applied, rc = try_apply(im, x, &applied);
        if (rc && x->from_pending && rc != ACCORD_ENOMEM) {
          /* an earlier import left a change that turns out bad: drop it
           * and repair whatever part of it was applied */
          x->done = 1;
          if ((rc = doc_rebuild(doc))) return rc;
          continue;
        }
        if (rc) return rc;
        if (!applied) break;
        /* its seal was checked */
        if (x->hidx && (rc = seal_reached(im, x))) return rc;
        x->done = 1;
        im->st.applied++;
        progress = 1;
      }
      g->resume = (uint32_t)j;
      i = e;
    }
  }
  return 0;
}

/* ---- seals checked beside the apply (sync_bg.c) -------------------------- */

/* The plain bulk import: per actor, the candidates extend its chain
 * exactly, with one seal, on the last. */
static int bulk_shape(importer *im) {
  accord_doc *doc = im->doc;
  for (size_t i = 0; i < im->n;) {
    uint32_t a = im->c[i].actor;
    size_t e = i;
    while (e < im->n && im->c[e].actor == a) e++;
    const chain *c = &doc->chains[a];
    for (size_t k = i; k < e; k++) {
      const cand *y = &im->c[k];
      if (y->from_pending || y->seq != c->n + 1 + (k - i) ||
          (y->seal != NULL) != (k + 1 == e))
        return 0;
    }
    i = e;
  }
  return 1;
}

/* Hands the seal checks of a plain bulk import to a second thread and
 * marks its candidates verified: provisionally, bg_finish has the last
 * word. Leaves j empty (nruns 0) for any other import. */
static int bg_plan(importer *im, bg_job *j) {
  accord_doc *doc = im->doc;
  if (!doc->verify || doc->npending || im->n < BG_MIN) return 0;
  /* before the worker starts, so on the critical path: skip the sort of a
   * batch that comes sorted (cands_sorted) */
  if (!cands_sorted(im)) qsort(im->c, im->n, sizeof *im->c, cand_cmp);
  im->sorted = 1;
  if (!bulk_shape(im)) return 0;
  memcpy(j->ws, doc->ws, sizeof j->ws);
  memcpy(j->doc, doc->id, sizeof j->doc);
  for (size_t i = 0; i < im->n;) {
    uint32_t a = im->c[i].actor;
    size_t e = i;
    while (e < im->n && im->c[e].actor == a) e++;
    const chain *c = &doc->chains[a];
    hashchain h;
    int rc = chain_hasher(doc, a, &doc->rd, c->n, &h);
    if (!rc) rc = bg_add_run(j, doc->actor[a], c->n + 1, &h,
                             im->c[e - 1].seal);
    if (!rc) j->runs[j->nruns - 1].idx = a;
    for (size_t k = i; k < e && !rc; k++)
      rc = bg_add_body(j, im->c[k].body, im->c[k].len);
    if (rc) return rc;
    i = e;
  }
  for (size_t i = 0; i < im->n; i++) im->c[i].verified = 1;
  return 0;
}

/* After parsing, whether an early job covers the import exactly as
 * bg_plan would have planned it: per author one run, the same changes
 * (its bodies start where the candidates' do, and come one after another
 * in the batch as read_batch found them), sealed on its last. If so, its
 * candidates are marked verified, provisionally (bg_finish decides). */
static int bg_match(importer *im, const bg_job *j) {
  if (im->n < BG_MIN) return 0;
  if (!cands_sorted(im)) qsort(im->c, im->n, sizeof *im->c, cand_cmp);
  im->sorted = 1;
  if (!bulk_shape(im)) return 0;
  uint32_t groups = 0;
  for (size_t i = 0; i < im->n;) {
    uint32_t a = im->c[i].actor;
    size_t e = i;
    while (e < im->n && im->c[e].actor == a) e++;
    const bg_run *r = NULL;
    for (uint32_t k = 0; k < j->nruns && !r; k++)
      if (j->runs[k].idx == a) r = &j->runs[k];
    if (!r || r->first != im->c[i].seq || r->n != e - i ||
        r->start != im->c[i].body || r->seal != im->c[e - 1].seal)
      return 0;
    groups++;
    i = e;
  }
  if (groups != j->nruns) return 0;
  for (size_t i = 0; i < im->n; i++) im->c[i].verified = 1;
  return 1;
}

/* After a successful bulk import whose seals all checked: the chains that
 * reached their run's seal keep it, with the hash the worker computed (as
 * seal_reached does on the sequential path). A run cut short by missing
 * deps keeps its seal in pending and is checked again when it moves. */
static int bg_sealed(importer *im, const bg_job *j) {
  for (uint32_t i = 0; i < j->nruns; i++) {
    const bg_run *r = &j->runs[i];
    chain *c = &im->doc->chains[r->idx];
    uint32_t last = r->first + r->n - 1;
    if (c->n != last) continue;
    c->hp = r->end;
    /* the seal it replaces may stay as a checkpoint (seal.c) */
    int rc = seal_adopt(im->doc, r->idx, &im->doc->rd, last, r->seal);
    if (rc) return rc;
  }
  return 0;
}

/* Replaces pending with the candidates left over. Copies batch bodies;
 * pending bodies move. On failure nothing changed. */
static int keep_pending(importer *im) {
  accord_doc *doc = im->doc;
  size_t left = 0, bytes = 0;
  for (size_t i = 0; i < im->n; i++)
    if (!im->c[i].done) {
      /* the same change twice among the leftovers: keep one */
      if (i > 0 && !im->c[i - 1].done && im->c[i - 1].actor == im->c[i].actor &&
          im->c[i - 1].seq == im->c[i].seq) {
        /* the same bytes, or two unverified versions of one change: keep
         * the first (a waiting one sorts first); a bad one is dropped when
         * its turn comes and the good one arrives again with the next sync */
        im->c[i].done = 2;
        if (!im->c[i].from_pending) im->st.duplicates++;
        continue;
      }
      left++;
      bytes += im->c[i].len;
    }
  if (bytes > ACCORD_MAX_PENDING_BYTES) return ACCORD_ETOOBIG;
  pend *p = left ? mem_alloc(left * sizeof *p) : NULL;
  if (left && !p) return ACCORD_ENOMEM;
  size_t k = 0;
  for (size_t i = 0; i < im->n; i++) {
    cand *x = &im->c[i];
    if (x->done) continue;
    p[k].actor = x->actor;
    p[k].seq = x->seq;
    p[k].len = x->len;
    p[k].seal = NULL;
    if (x->from_pending) {
      p[k].body = (uint8_t *)x->body;
      p[k].seal = (uint8_t *)x->seal;
    } else if ((p[k].body = mem_alloc(x->len ? x->len : 1)) &&
               (!x->seal || (p[k].seal = mem_alloc(SEAL_WIRE_BYTES)))) {
      memcpy(p[k].body, x->body, x->len);
      if (x->seal) memcpy(p[k].seal, x->seal, SEAL_WIRE_BYTES);
    } else {
      mem_free(p[k].body);
      for (size_t j = 0, m = 0; j < i; j++) { /* undo the copies */
        if (im->c[j].done) continue;
        if (!im->c[j].from_pending) {
          mem_free(p[m].body);
          mem_free(p[m].seal);
        }
        m++;
      }
      mem_free(p);
      return ACCORD_ENOMEM;
    }
    k++;
  }
  /* pending bodies (and seals) not carried over were applied, dropped or
   * duplicates: free */
  for (size_t i = 0; i < im->n; i++)
    if (im->c[i].done && im->c[i].from_pending) {
      mem_free((void *)im->c[i].body);
      mem_free((void *)im->c[i].seal);
    }
  mem_free(doc->pending);
  doc->pending = p;
  doc->npending = (uint32_t)left;
  doc->cappending = (uint32_t)left;
  doc->pending_bytes = bytes;
  return 0;
}

/* ---- one change at its chain's head ------------------------------------- */

/* The import gossip makes per keystroke: a batch of one chain holding one
 * change that extends its author's chain, with its deps present, nothing
 * waiting, no seals to check (verification off). It is decoded and applied
 * straight from the batch: no candidates, no sizing of the body (it is the
 * rest of the batch, and decoding checks it ends exactly there), no mark
 * (a failure while applying is repaired by rebuilding the state from the
 * history, which does not hold the change yet: what the mark's restore
 * would do). In the friendsforever replay this was ~1,500 of the ~3,400
 * instructions of each of its 25,457 imports (callgrind).
 *
 * Returns 1 (imported), 0 (not of that shape, or decoding failed: the
 * general path decides, with its own errors), or an error from applying it
 * (nothing changed). Either way short of 1, the authors decoding added to
 * the table are forgotten again, as the general path's mark forgets them. */
static int import_one(accord_doc *doc, const uint8_t *batch, size_t len) {
  mp_reader r;
  uint64_t ref, first;
  const uint8_t *id;
  size_t idlen;
  uint32_t map[4]; /* batch ref -> actor index */
  if (doc->verify || doc->npending) return 0;
  /* The headers up to the chain's ref are one-byte forms (and bin8) in
   * such a batch: matched byte for byte, the same forms the readers would
   * accept; any other encoding of them goes to the general path.
   *   0x94 [4] 0x02 [version] 0xc4 0x10 doc 0x9n [n actors: 0xc4 0x08 id]
   *   0x91 [one chain] 0x99 [ref, first, seal, six body values] */
  _Static_assert(BATCH_VERSION < 0x80 && ACCORD_DOC_ID_BYTES == 16 &&
                     ACCORD_ACTOR_BYTES == 8,
                 "import_one: one-byte headers");
  const uint8_t *p = batch, *end = batch + len;
  if (len < 21 + 2 || p[0] != 0x94 || p[1] != BATCH_VERSION || p[2] != 0xc4 ||
      p[3] != ACCORD_DOC_ID_BYTES ||
      memcmp(p + 4, doc->id, ACCORD_DOC_ID_BYTES) || (p[20] & 0xf0) != 0x90)
    return 0;
  uint32_t na = p[20] & 0x0fu;
  p += 21;
  if (na > sizeof map / sizeof *map || (size_t)(end - p) < 10u * na + 2)
    return 0;
  for (uint32_t i = 0; i < na; i++, p += 10) {
    if (p[0] != 0xc4 || p[1] != ACCORD_ACTOR_BYTES) return 0;
    /* an author we do not know yet goes the general way, whose mark
     * forgets it again if the import fails */
    if (!doc_actor_find(doc, p + 2, &map[i])) return 0;
  }
  if (p[0] != 0x91 || p[1] != 0x99) return 0;
  mp_reader_init(&r, p + 2, (size_t)(end - p - 2));
  if (mp_get_uint(&r, &ref) || ref >= na ||
      mp_get_uint_max(&r, UINT32_MAX - 1, &first))
    return 0;
  uint32_t a = map[ref];
  chain *c = &doc->chains[a];
  if (first != (uint64_t)c->n + 1) return 0;
  if (!mp_try_nil(&r) &&
      (mp_get_bin(&r, &id, &idlen) || idlen != SEAL_WIRE_BYTES))
    return 0;
  decoder *d = doc_decoder(doc);
  if (!d) return ACCORD_ENOMEM;
  dchange ch;
  chain_ctx prev = chain_context(c);
  const uint8_t *body = r.p;
  size_t blen = mp_left(&r);
  uint32_t nactors = doc->nactors;
  int rc = change_decode(doc, d, a, &prev, body, blen, &ch) ? 1 : 0;
  c = &doc->chains[a]; /* decoding may have grown the actor table */
  for (uint32_t k = 0; !rc && k < ch.ndeps; k++)
    if (doc->chains[ch.deps[2 * k]].n < ch.deps[2 * k + 1]) rc = 1;
  if (rc) { /* 1: for the general path */
    doc_actors_truncate(doc, nactors);
    return 0;
  }
  for (uint32_t k = 0; k < ch.nops && !rc; k++)
    rc = state_apply(doc, &doc->st, &ch.ops[k]);
  if (!rc && ch.ntab != c->ntab) rc = chain_tab_reserve(c, ch.ntab);
  if (!rc) rc = chain_append(c, body, blen, ch.end_op, ch.time);
  if (rc) {
    doc_actors_truncate(doc, nactors);
    doc_rebuild(doc); /* poisons the document if it cannot */
    return rc;
  }
  if (ch.ntab != c->ntab) /* else the same table (see try_apply) */
    chain_set_tab(c, ch.tab, ch.ntab); /* reserved: cannot fail */
  return 1;
}

/* Actors whose chain heads an import's mark keeps on the stack. */
#define MARK_SMALL 8

int sync_import(accord_doc *doc, const uint8_t *batch, size_t len,
                const pend *extra, uint32_t nextra,
                accord_import_stats *stats) {
  if (stats) memset(stats, 0, sizeof *stats);
  if (!doc || (!batch && len)) return ACCORD_EINVAL;
  if (doc->poisoned) return doc->poisoned;
  if (doc->txn_open) return ACCORD_EBUSY;
  if (batch && !nextra) {
    int one = import_one(doc, batch, len);
    if (one < 0) return one;
    if (one) {
      if (stats) stats->applied = 1;
      return 0;
    }
  }
  importer im;
  memset(&im, 0, sizeof im);
  im.doc = doc;
  im.c = im.small;
  im.cap = sizeof im.small / sizeof *im.small;
  chain heads[MARK_SMALL];
  uint32_t seen[MARK_SMALL];
  /* old changes are read from their frames when needed (doc->rd) */
  int rc = doc_mark_take_in(doc, &im.mark, heads, seen, MARK_SMALL);
  if (rc) return rc;
  for (uint32_t i = 0; i < doc->npending && !rc; i++)
    rc = add_cand(&im, doc->pending[i].actor, doc->pending[i].seq,
                  doc->pending[i].body, doc->pending[i].len,
                  doc->pending[i].seal, 1, !doc->verify);
  for (uint32_t i = 0; i < nextra && !rc; i++)
    rc = add_cand(&im, extra[i].actor, extra[i].seq, extra[i].body,
                  extra[i].len, NULL, 0, 1);
  bg_job bg;
  memset(&bg, 0, sizeof bg);
  int early = !rc && !nextra && doc->verify && !doc->npending;
  if (!rc && batch) rc = read_batch(&im, batch, len, early ? &bg : NULL);
  if (bg.early) {
    bg_early_close(&bg);
    /* a batch that failed to parse fails with its own error, not ESEAL */
    if (rc || !bg_match(&im, &bg)) bg_cancel(&bg);
  }
  if (!rc && !nextra && !bg.early) rc = bg_plan(&im, &bg);
  if (!rc && bg.nruns && !bg.early) bg_start(&bg, &doc->bg);
  if (!rc) rc = apply_ready(&im);
  if (bg.nruns) {
    /* a bad seal wins over what applying met: the sequential path checks
     * a run before applying it */
    int brc = bg_finish(&bg);
    if (brc) rc = brc;
    else if (!rc) rc = bg_sealed(&im, &bg);
  }
  bg_free(&bg);
  if (!rc) rc = fork_reserve(doc, im.nforks);
  if (!rc) rc = keep_pending(&im);
  if (!rc) { /* room reserved: cannot fail */
    for (uint32_t k = 0; k < im.nforks; k++)
      fork_push(doc, im.forks[k].actor, im.forks[k].seq, im.forks[k].ev,
                im.forks[k].len);
    im.nforks = 0;
  }
  for (uint32_t k = 0; k < im.nforks; k++) mem_free(im.forks[k].ev);
  mem_free(im.forks);
  if (rc) {
    /* keep_pending replaces pending only on success, so the mark's copy of
     * it is only needed by callers that undo a successful import */
    doc_mark_restore(doc, &im.mark);
  } else {
    doc_mark_free(&im.mark);
    oplog_bg_tick(doc); /* cold changes move into frames */
    if (stats) {
      *stats = im.st;
      stats->pending = doc->npending;
    }
  }
  if (im.c != im.small) mem_free(im.c);
  mem_free(im.hash);
  chain_rd_free(&doc->rd);
  return rc;
}

int accord_doc_import(accord_doc *doc, const uint8_t *batch, size_t len,
                      accord_import_stats *stats) {
  if (!batch) return ACCORD_EINVAL;
  return sync_import(doc, batch, len, NULL, 0, stats);
}

int accord_doc_chain_head(accord_doc *doc, const uint8_t *actor,
                          uint64_t *seq, uint8_t *hash) {
  uint32_t a;
  if (!doc || !actor) return ACCORD_EINVAL;
  if (!doc_actor_find(doc, actor, &a) || doc->chains[a].n == 0)
    return ACCORD_ENOTFOUND;
  int rc = chain_hash(doc, a);
  if (rc) return rc;
  if (seq) *seq = doc->chains[a].n;
  if (hash) memcpy(hash, doc->chains[a].hp.hash, ACCORD_HASH_BYTES);
  return 0;
}
