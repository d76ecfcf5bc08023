/*
 * save.c — a whole document as bytes, and back, fast.
 *
 * Format (version 7):
 *   ["accord-doc", 7, doc bin16, workspace bin16, verify bool,
 *    [actor bin8 ...],
 *    history: [[ref, n, end_op, time, [table refs], form, bodies bin, seal]
 *              ...],
 *    pending: [ref, seq, body bin, seal bin96|nil, ...],
 *    forks: [evidence bin ...],
 *    form, snapshot bin, checksum uint]
 * forks holds the fork evidence the document recorded (fork.c), each
 * checked again on load. form 1: the bytes that follow are compressed,
 * bodies as pack.c's columns (n changes) and the snapshot as one zstd
 * frame; form 0: they are as they are (bodies back to back), for the short
 * ones compression would grow. The snapshot's form may also be 2: one zstd
 * frame compressed with the history's text as its prefix (history_prefix:
 * in file order, each packed chain's text columns, each other chain's
 * bodies), so the text the snapshot repeats from the history costs
 * references instead of a second copy (automerge-paper: 57.7 KB -> about
 * 45 KB); only when that prefix fits the limits below. Version 4 held the
 * bodies back to back, no forks and the snapshot uncompressed; version 5
 * is version 6's layout. Both are still read, but their seals and fork
 * evidence sign the chain hash as it was before it was hashed in segments
 * (hashchain.h) and would not check: they are dropped on load (an own
 * chain is sealed again when next sent; another author's waits for its
 * next sealed batch before it is forwarded).
 * seal is nil or [seq, bin96] or [seq, bin96, [cseq, bin96, ...]]: the
 * chain's latest good seal (seal.c), the public key and signature as
 * batches carry them (sync.c), then its checkpoints (earlier verified
 * seals of another author, ascending, seal.c) when it has some. Version 6
 * is version 7 without checkpoints (read: its chains get none, so a relay
 * cuts them only past its next seals). workspace and
 * verify are the document's seal settings (accord_doc_set_workspace,
 * accord_doc_set_verify); the signer's secret key is never saved: set it
 * again after loading. Version 3 had no seals and is refused (EVERSION).
 * history holds each author's change bodies back to back (what peers need
 * to keep syncing and verify hash chains); snapshot is the materialized
 * state (snapshot.c), so loading builds the document without replaying
 * history; checksum is sum64 (sum.h) of every byte before it, so a corrupted
 * file is refused instead of loaded wrong. It detects corruption, not
 * tampering: a crafted file can still hold a state its history does not
 * build, which is why documents from others travel as changes. Builds for
 * fuzzing (ACCORD_FUZZING) skip the check so that the fuzzer reaches the
 * parsers behind it.
 */
#include <string.h>

#include "mem.h"
#include "mp.h"
#include "pack.h"
#include "snapshot.h"
#include "sum.h"
#include "sync.h"

#define SAVE_MAGIC "accord-doc"
#define SAVE_VERSION 7
#define SAVE_VERSION_SEG 6 /* 7's layout without checkpoints */
#define SAVE_VERSION_FORKS 5 /* 6's layout, old chain hash */
#define SAVE_VERSION_ROWS 4 /* bodies uncompressed, still read */
/* The history prefix of the snapshot (form 2) holds at most
 * SAVE_PREFIX_MAX bytes, and building it inflates at most
 * SAVE_PREFIX_INFLATE bytes of packed columns: it costs each load about
 * 0.5 ms per MB inflated, and zstd's window must reach over it. */
#define SAVE_PREFIX_MAX ((size_t)8 << 20)
#define SAVE_PREFIX_INFLATE ((size_t)64 << 20)

/* Appends the history prefix (form 2) of doc's chains as they are saved or
 * were loaded (each wholly packed or wholly bodies) to pre: in file order,
 * a packed chain's text (pack_text), a chain of bodies its bytes. The
 * file's actor i is doc actor actors[i] (a loaded document can order its
 * actors otherwise: its own comes first); actors NULL: the same index.
 * ETOOBIG past the limits; EMALFORMED for a packed chain that does not
 * inflate. */
static int history_prefix(const accord_doc *doc, const uint32_t *actors,
                          uint32_t na, buf *pre) {
  size_t budget = SAVE_PREFIX_INFLATE;
  for (uint32_t i = 0; i < na; i++) {
    const chain *c = &doc->chains[actors ? actors[i] : i];
    if (c->n == 0) continue;
    if (c->nfr > 1 || (c->base && c->base != c->n)) return ACCORD_EINVAL;
    if (!c->base) {
      if (c->bytes.len > SAVE_PREFIX_MAX - pre->len) return ACCORD_ETOOBIG;
      int rc = buf_try_reserve(pre, c->bytes.len);
      if (rc) return rc;
      buf_put(pre, c->bytes.p, c->bytes.len);
      continue;
    }
    int rc = pack_text(c->fr[0].p, c->fr[0].len, SAVE_PREFIX_MAX, &budget,
                       pre);
    if (rc) return rc;
  }
  return 0;
}
int accord_doc_save(accord_doc *doc, uint8_t **out, size_t *len) {
  return doc_save(doc, 1, out, len);
}

int doc_save(accord_doc *doc, int pack, uint8_t **out, size_t *len) {
  if (!out || !len) return ACCORD_EINVAL;
  *out = NULL;
  if (!doc) return ACCORD_EINVAL;
  if (doc->poisoned) return doc->poisoned;
  if (doc->txn_open) return ACCORD_EBUSY;
  /* every actor gets a ref: snapshots may name any of them */
  uint32_t *ref = mem_alloc((doc->nactors + 1) * sizeof *ref);
  if (!ref) return ACCORD_ENOMEM;
  for (uint32_t a = 0; a < doc->nactors; a++) ref[a] = a;
  buf snap = {0}, zsnap = {0}, b = {0};
  pack_z z = {PACK_LEVEL_SAVE, NULL, PACK_STRATEGY_SAVE};
  int rc = snap_put(doc, ref, &snap);
  mem_free(ref);
  for (uint32_t a = 0; a < doc->nactors && !rc; a++) {
    chain *c = &doc->chains[a];
    if (pack) {
      /* the chains stay packed: history nothing reads is kept small */
      rc = chain_pack(c, &z);
      /* bodies loaded as they were and never read yet: a damaged history
       * is saved as it is, and refused when something reads it */
      if (rc == ACCORD_EMALFORMED && c->base == 0) rc = 0;
    }
    /* without packing, a chain of several frames, or of frames and a
     * tail, is written as plain bodies unpacked for the file only (below):
     * unpacking it in memory would keep it large */
  }
  z.level = pack ? PACK_LEVEL_SNAPSHOT : PACK_LEVEL_FAST;
  z.strategy = 0;
  buf pre = {0};
  int zip = 1;
  if (!rc && pack) {
    int prc = history_prefix(doc, NULL, doc->nactors, &pre);
    if (prc == ACCORD_ENOMEM) rc = prc;
    else if (!prc && pre.len) zip = 2; /* else no prefix */
  }
  if (!rc)
    rc = pack_deflate_prefix(snap.p, snap.len, pre.p,
                             zip == 2 ? pre.len : 0, &z, &zsnap);
  buf_free(&pre);
  pack_z_free(&z);
  if (zsnap.len >= snap.len) zip = 0;
  if (!rc) {
    mp_put_array(&b, 12);
    mp_put_str(&b, SAVE_MAGIC, strlen(SAVE_MAGIC));
    mp_put_uint(&b, SAVE_VERSION);
    mp_put_bin(&b, doc->id, ACCORD_DOC_ID_BYTES);
    mp_put_bin(&b, doc->ws, sizeof doc->ws);
    mp_put_bool(&b, doc->verify);
    mp_put_array(&b, doc->nactors);
    for (uint32_t a = 0; a < doc->nactors; a++)
      mp_put_bin(&b, doc->actor[a], ACCORD_ACTOR_BYTES);
    uint32_t with = 0;
    for (uint32_t a = 0; a < doc->nactors; a++) with += doc->chains[a].n > 0;
    mp_put_array(&b, with);
    for (uint32_t a = 0; a < doc->nactors; a++) {
      chain *c = &doc->chains[a];
      if (c->n == 0) continue;
      mp_put_array(&b, 8);
      mp_put_uint(&b, a);
      mp_put_uint(&b, c->n);
      mp_put_uint(&b, c->end_op);
      mp_put_int(&b, c->time);
      mp_put_array(&b, c->ntab);
      for (uint32_t i = 0; i < c->ntab; i++) mp_put_uint(&b, c->tab[i]);
      if (c->nfr == 1 && c->base == c->n) {
        mp_put_uint(&b, 1);
        mp_put_bin(&b, c->fr[0].p, c->fr[0].len);
      } else if (c->nfr == 0) {
        mp_put_uint(&b, 0);
        mp_put_bin(&b, c->bytes.p, c->bytes.len); /* all bodies */
      } else {
        buf all = {0};
        chain_rd r;
        memset(&r, 0, sizeof r);
        int crc = chain_copy(c, &r, 0, c->n, &all);
        chain_rd_free(&r);
        if (crc && !b.err) b.err = crc;
        mp_put_uint(&b, 0);
        mp_put_bin(&b, all.p, all.len);
        buf_free(&all);
      }
      if (c->seal.seq) {
        uint8_t s[SEAL_WIRE_BYTES];
        memcpy(s, c->seal.pk, 32);
        memcpy(s + 32, c->seal.sig, 64);
        mp_put_array(&b, c->ncps ? 3 : 2);
        mp_put_uint(&b, c->seal.seq);
        mp_put_bin(&b, s, sizeof s);
        if (c->ncps) mp_put_array(&b, 2 * c->ncps);
        for (uint32_t i = 0; i < c->ncps; i++) {
          memcpy(s, c->cps[i].pk, 32);
          memcpy(s + 32, c->cps[i].sig, 64);
          mp_put_uint(&b, c->cps[i].seq);
          mp_put_bin(&b, s, sizeof s);
        }
      } else {
        mp_put_nil(&b);
      }
    }
    mp_put_array(&b, 4 * doc->npending);
    for (uint32_t i = 0; i < doc->npending; i++) {
      const pend *p = &doc->pending[i];
      mp_put_uint(&b, p->actor);
      mp_put_uint(&b, p->seq);
      mp_put_bin(&b, p->body, p->len);
      if (p->seal) mp_put_bin(&b, p->seal, SEAL_WIRE_BYTES);
      else mp_put_nil(&b);
    }
    mp_put_array(&b, doc->nforks);
    for (uint32_t i = 0; i < doc->nforks; i++)
      mp_put_bin(&b, doc->forks[i].ev, doc->forks[i].len);
    mp_put_uint(&b, zip);
    if (zip) mp_put_bin(&b, zsnap.p, zsnap.len);
    else mp_put_bin(&b, snap.p, snap.len);
    if (!b.err) mp_put_uint(&b, sum64(b.p, b.len));
    rc = b.err;
  }
  buf_free(&snap);
  buf_free(&zsnap);
  if (rc) {
    buf_free(&b);
    return rc;
  }
  *out = buf_take(&b, len);
  return *out ? 0 : ACCORD_ENOMEM;
}

/* Reads the history and pending sections into doc. */
static int get_history(mp_reader *r, accord_doc *doc, const uint32_t *actors,
                       uint32_t nactors, uint64_t version) {
  uint32_t nc, five, np;
  if (mp_get_array(r, &nc)) return ACCORD_EMALFORMED;
  for (uint32_t i = 0; i < nc; i++) {
    uint64_t ref, n, end_op;
    int64_t time;
    const uint8_t *bodies;
    size_t blen;
    uint32_t ntab;
    if (mp_get_array(r, &five) ||
        five != (version >= SAVE_VERSION_FORKS ? 8 : 7) ||
        mp_get_uint_max(r, nactors - 1, &ref) ||
        mp_get_uint_max(r, UINT32_MAX - 1, &n) || n == 0 ||
        mp_get_uint_max(r, ACCORD_MAX_COUNTER + 1, &end_op) ||
        mp_get_int(r, &time) || mp_get_array(r, &ntab) || ntab == 0 ||
        ntab > nactors)
      return ACCORD_EMALFORMED;
    chain *c = &doc->chains[actors[ref]];
    if (c->n) return ACCORD_EMALFORMED; /* an author twice */
    int rc = chain_tab_reserve(c, ntab);
    if (rc) return rc;
    for (uint32_t k = 0; k < ntab; k++) {
      uint64_t t;
      if (mp_get_uint_max(r, nactors - 1, &t)) return ACCORD_EMALFORMED;
      for (uint32_t j = 0; j < k; j++) /* no actor twice */
        if (c->tab[j] == actors[t]) return ACCORD_EMALFORMED;
      c->tab[k] = actors[t];
    }
    if (c->tab[0] != actors[ref]) return ACCORD_EMALFORMED; /* the author */
    c->ntab = ntab;
    uint64_t packed = 0;
    if ((version >= SAVE_VERSION_FORKS && mp_get_uint_max(r, 1, &packed)) ||
        mp_get_bin(r, &bodies, &blen) || blen > UINT32_MAX ||
        (packed ? blen == 0 : blen < 6 * n))
      return ACCORD_EMALFORMED;
    /* bodies are indexed, packed ones unpacked, when first read; both are
     * checked then */
    if (packed) {
      if (!(c->fr = mem_alloc(sizeof *c->fr)) ||
          !(c->fr[0].p = mem_alloc(blen))) {
        if (c->fr) c->capfr = 1; /* freed with the chain */
        return ACCORD_ENOMEM;
      }
      c->capfr = c->nfr = 1;
      memcpy(c->fr[0].p, bodies, blen);
      c->fr[0].len = (uint32_t)blen;
      c->fr[0].last = (uint32_t)n;
      c->base = (uint32_t)n;
    } else {
      if (!buf_reserve(&c->bytes, blen)) return c->bytes.err;
      buf_put(&c->bytes, bodies, blen);
    }
    c->n = (uint32_t)n;
    c->end_op = (uint32_t)end_op;
    c->time = time;
    if (!mp_try_nil(r)) {
      uint32_t two;
      uint64_t sseq;
      const uint8_t *s;
      size_t slen;
      if (mp_get_array(r, &two) ||
          (two != 2 && (two != 3 || version < SAVE_VERSION)) ||
          mp_get_uint_max(r, n, &sseq) || sseq == 0 ||
          mp_get_bin(r, &s, &slen) || slen != SEAL_WIRE_BYTES)
        return ACCORD_EMALFORMED;
      if (version >= SAVE_VERSION_SEG) {
        c->seal.seq = (uint32_t)sseq;
        memcpy(c->seal.pk, s, 32);
        memcpy(c->seal.sig, s + 32, 64);
      }
      /* checkpoints: ascending, below the seal (at most one per seq, so
       * no more than the chain's changes; each costs its 100 bytes of
       * file) */
      uint32_t ncp = 0;
      if (two == 3 && (mp_get_array(r, &ncp) || ncp % 2 || ncp / 2 >= sseq))
        return ACCORD_EMALFORMED;
      for (uint32_t k = 0; k < ncp / 2; k++) {
        uint64_t cseq;
        uint32_t last = k ? c->cps[k - 1].seq : 0;
        if (mp_get_uint_max(r, sseq - 1, &cseq) || cseq <= last ||
            mp_get_bin(r, &s, &slen) || slen != SEAL_WIRE_BYTES)
          return ACCORD_EMALFORMED;
        int rc2 = seal_cp_push(c, (uint32_t)cseq, s);
        if (rc2) return rc2;
      }
    }
  }
  if (mp_get_array(r, &np) || np % 4) return ACCORD_EMALFORMED;
  np /= 4;
  if (np) {
    doc->pending = mem_calloc(np, sizeof *doc->pending);
    if (!doc->pending) return ACCORD_ENOMEM;
    doc->cappending = np;
  }
  for (uint32_t i = 0; i < np; i++) {
    uint64_t ref, seq;
    const uint8_t *body;
    size_t blen;
    if (mp_get_uint_max(r, nactors - 1, &ref) ||
        mp_get_uint_max(r, UINT32_MAX - 1, &seq) || seq == 0 ||
        mp_get_bin(r, &body, &blen) || blen == 0)
      return ACCORD_EMALFORMED;
    const uint8_t *s = NULL;
    size_t slen;
    if (!mp_try_nil(r) &&
        (mp_get_bin(r, &s, &slen) || slen != SEAL_WIRE_BYTES))
      return ACCORD_EMALFORMED;
    pend *p = &doc->pending[doc->npending];
    if (!(p->body = mem_alloc(blen))) return ACCORD_ENOMEM;
    memcpy(p->body, body, blen);
    doc->npending++; /* freed with the document from here on */
    if (s && version >= SAVE_VERSION_SEG) {
      if (!(p->seal = mem_alloc(SEAL_WIRE_BYTES))) return ACCORD_ENOMEM;
      memcpy(p->seal, s, SEAL_WIRE_BYTES);
    }
    p->len = blen;
    p->actor = actors[ref];
    p->seq = (uint32_t)seq;
    doc->pending_bytes += blen;
  }
  return doc->pending_bytes > ACCORD_MAX_PENDING_BYTES ? ACCORD_ETOOBIG : 0;
}

/* Reads the forks section (versions 5 and 6) into doc; version 5's are
 * parsed and dropped. */
static int get_forks(mp_reader *r, accord_doc *doc, uint64_t version) {
  uint32_t n;
  if (mp_get_array(r, &n) || n > ACCORD_MAX_FORKS) return ACCORD_EMALFORMED;
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *ev;
    size_t len;
    if (mp_get_bin(r, &ev, &len)) return ACCORD_EMALFORMED;
    if (version < SAVE_VERSION_SEG) continue;
    uint8_t *copy = mem_alloc(len ? len : 1);
    if (!copy) return ACCORD_ENOMEM;
    memcpy(copy, ev, len);
    int rc = fork_add_bytes(doc, copy, len); /* takes copy */
    if (rc == ACCORD_ENOMEM) return rc;
    if (rc) return ACCORD_EMALFORMED;
  }
  return 0;
}

int accord_doc_load(const uint8_t *bytes, size_t len, const uint8_t *actor,
                    accord_doc **out) {
  if (!out) return ACCORD_EINVAL;
  *out = NULL;
  if (!bytes) return ACCORD_EINVAL;
  mp_reader r;
  uint32_t n, na;
  uint64_t version;
  const char *magic;
  size_t mlen, idlen;
  const uint8_t *docid;
  mp_reader_init(&r, bytes, len);
  if (mp_get_array(&r, &n) || mp_get_str(&r, &magic, &mlen) ||
      mlen != strlen(SAVE_MAGIC) || memcmp(magic, SAVE_MAGIC, mlen) ||
      mp_get_uint(&r, &version))
    return ACCORD_EMALFORMED;
  if (version != SAVE_VERSION && version != SAVE_VERSION_SEG &&
      version != SAVE_VERSION_FORKS && version != SAVE_VERSION_ROWS)
    return ACCORD_EVERSION;
  const uint8_t *ws;
  size_t wslen;
  int verify;
  if (n != (version >= SAVE_VERSION_FORKS ? 12 : 10) ||
      mp_get_bin(&r, &docid, &idlen) ||
      idlen != ACCORD_DOC_ID_BYTES || mp_get_bin(&r, &ws, &wslen) ||
      wslen != 16 || mp_get_bool(&r, &verify) || mp_get_array(&r, &na) ||
      na > ACCORD_MAX_ACTORS)
    return ACCORD_EMALFORMED;

  accord_doc *doc;
  int rc = accord_doc_new(docid, actor, &doc);
  if (rc) return rc;
  memcpy(doc->ws, ws, sizeof doc->ws);
  doc->verify = verify;
  uint32_t *actors = mem_alloc((na + 1) * sizeof *actors);
  if (!actors) rc = ACCORD_ENOMEM;
  for (uint32_t i = 0; i < na && !rc; i++) {
    const uint8_t *id;
    size_t l;
    if (mp_get_bin(&r, &id, &l) || l != ACCORD_ACTOR_BYTES) rc = ACCORD_EMALFORMED;
    else rc = doc_actor_index(doc, id, &actors[i]);
  }
  if (!rc && na == 0) rc = ACCORD_EMALFORMED;
  if (!rc) rc = get_history(&r, doc, actors, na, version);
  if (!rc && version >= SAVE_VERSION_FORKS)
    rc = get_forks(&r, doc, version);
  const uint8_t *snap = NULL;
  size_t slen = 0;
  uint64_t sum = 0;
  const uint8_t *summed_end = NULL;
  uint64_t zip = 0;
  if (!rc &&
      ((version >= SAVE_VERSION_FORKS && mp_get_uint_max(&r, 2, &zip)) ||
       mp_get_bin(&r, &snap, &slen)))
    rc = ACCORD_EMALFORMED;
  summed_end = r.p;
  if (!rc && (mp_get_uint(&r, &sum) || r.p != r.end)) rc = ACCORD_EMALFORMED;
#ifndef ACCORD_FUZZING
  if (!rc && sum != sum64(bytes, (size_t)(summed_end - bytes)))
    rc = ACCORD_EMALFORMED;
#else
  (void)summed_end;
#endif
  docstate st;
  buf zsnap = {0}, pre = {0};
  if (!rc && zip == 2) {
    rc = history_prefix(doc, actors, na, &pre);
    if (rc && rc != ACCORD_ENOMEM) rc = ACCORD_EMALFORMED;
  }
  if (!rc && zip) {
    rc = pack_inflate_prefix(snap, slen, pre.p, pre.len, PACK_MAX_RAW,
                             &zsnap);
    buf_free(&pre);
    snap = zsnap.p;
    slen = zsnap.len;
  }
  if (!rc) rc = snap_get(doc, snap, slen, actors, na, &st);
  buf_free(&zsnap);
  buf_free(&pre);
  mem_free(actors);
  if (rc) {
    accord_doc_free(doc);
    return rc;
  }
  state_free(&doc->st);
  doc->st = st;
  *out = doc;
  return 0;
}
