/*
 * store_docs.c — workspaces, documents, heads, pending changes and
 * snapshots in the store (key layout in store.h).
 *
 * Record formats (version byte first, so a later schema can tell them
 * apart; integers big-endian):
 *   workspaces  1 ‖ workspace key (32) ‖ genesis record (store.h)
 *   docs        1 ‖ creator actor (8) ‖ created ms (8) ‖ type (the rest)
 *   heads       seq (4) ‖ chain hash after seq (32) ‖ root of seq's
 *               segment (32) (hashchain.h; schema 3)
 *   pending     the change body as received
 *   snapshots   2 ‖ format 2 (zstd) ‖ raw length (8) ‖ n (4) ‖
 *               n × (actor (8) ‖ seq (4) ‖ chain hash at seq (32) ‖
 *               segment root at seq (32)) ‖
 *               zstd frame with checksum, split into parts (below)
 * A snapshot is a cache: the version vector says which changes it covers,
 * and the changes database stays the truth. The chain positions let a
 * reader check the changes stored after the snapshot against the heads
 * without hashing the whole history again: hashing resumes from the root
 * and the (at most HASHCHAIN_SEG - 1) bodies after it. The frame's
 * checksum makes a damaged or truncated snapshot fail to load instead of
 * loading wrong.
 *
 * Invariants: every heads entry (actor, seq) has changes 1..seq stored for
 * that actor; a snapshot's vector is at most the heads.
 */
#include <stdio.h>
#include <string.h>

#include "mem.h"
#include "store_lmdb.h"

/* ---- workspaces ---------------------------------------------------------- */

#define WS_VERSION 1
#define DOC_VERSION 1
#define SNAP_VERSION 2 /* 1: vector entries without the root (schema 2) */
#define SNAP_ZSTD 2
#define SNAP_LEVEL 3
#define SNAP_MAX_RAW ((uint64_t)1 << 32)
#define VV_ENTRY (8 + 4 + 2 * ACCORD_HASH_BYTES)
#define HEAD_VALUE (4 + 2 * ACCORD_HASH_BYTES)

int store_ws_put(store_txn *t, const store_ws *ws) {
  uint8_t *p;
  int rc = store_put_reserve(t, DB_WS, ws->id, K_WS, 33 + ws->genesis_len, &p);
  if (rc) return rc;
  p[0] = WS_VERSION;
  memcpy(p + 1, ws->key, 32);
  memcpy(p + 33, ws->genesis, ws->genesis_len);
  return 0;
}

static int ws_parse(store *s, const uint8_t *id, const MDB_val *v,
                    store_ws *out) {
  const uint8_t *p = v->mv_data;
  if (v->mv_size < 33 + GENESIS_MIN || p[0] != WS_VERSION) {
    char hex[33];
    store_hex(id, K_WS, hex);
    return store_fail(s, ACCORD_ECORRUPT, "workspace %s: bad record", hex);
  }
  memcpy(out->id, id, K_WS);
  out->key = p + 1;
  out->genesis = p + 33;
  out->genesis_len = v->mv_size - 33;
  return 0;
}

int store_ws_get(store_txn *t, const uint8_t *id, store_ws *out) {
  MDB_val v;
  int rc = store_get(t, DB_WS, id, K_WS, &v);
  return rc ? rc : ws_parse(t->s, id, &v, out);
}

int store_ws_each(store_txn *t, store_ws_fn fn, void *ctx) {
  store_scan sc;
  int rc = store_scan_open(&sc, t, DB_WS, NULL, 0, NULL, 0);
  while (!rc && (rc = store_scan_next(&sc)) == 1) {
    store_ws ws;
    if (sc.k.mv_size != K_WS) continue;
    rc = ws_parse(t->s, sc.k.mv_data, &sc.v, &ws);
    if (!rc) rc = fn(ctx, &ws);
  }
  store_scan_close(&sc);
  return rc;
}

/* ---- documents ----------------------------------------------------------- */

int store_doc_put(store_txn *t, const store_doc *d) {
  uint8_t k[K_DOC], *p;
  store_key(k, d->ws, d->id, NULL, 0);
  int rc = store_put_reserve(t, DB_DOCS, k, K_DOC, 17 + d->type_len, &p);
  if (rc) return rc;
  p[0] = DOC_VERSION;
  memcpy(p + 1, d->creator, 8);
  be64_put(p + 9, (uint64_t)d->created);
  memcpy(p + 17, d->type, d->type_len);
  return 0;
}

static int doc_parse(store *s, const uint8_t *k, const MDB_val *v,
                     store_doc *out) {
  const uint8_t *p = v->mv_data;
  if (v->mv_size < 18 || v->mv_size > 17 + STORE_TYPE_MAX ||
      p[0] != DOC_VERSION) {
    char hex[65];
    store_hex(k, K_DOC, hex);
    return store_fail(s, ACCORD_ECORRUPT, "document %.32s/%s: bad record",
                      hex, hex + 32);
  }
  memcpy(out->ws, k, K_WS);
  memcpy(out->id, k + K_WS, ACCORD_DOC_ID_BYTES);
  memcpy(out->creator, p + 1, 8);
  out->created = (int64_t)be64_get(p + 9);
  out->type = (const char *)p + 17;
  out->type_len = v->mv_size - 17;
  return 0;
}

int store_doc_get(store_txn *t, const uint8_t *ws, const uint8_t *doc,
                  store_doc *out) {
  uint8_t k[K_DOC];
  MDB_val v;
  store_key(k, ws, doc, NULL, 0);
  int rc = store_get(t, DB_DOCS, k, K_DOC, &v);
  return rc ? rc : doc_parse(t->s, k, &v, out);
}

int store_doc_each(store_txn *t, const uint8_t *ws, store_doc_fn fn,
                   void *ctx) {
  store_scan sc;
  int rc = store_scan_open(&sc, t, DB_DOCS, ws, ws ? K_WS : 0, NULL, 0);
  while (!rc && (rc = store_scan_next(&sc)) == 1) {
    store_doc d;
    if (sc.k.mv_size != K_DOC) continue;
    rc = doc_parse(t->s, sc.k.mv_data, &sc.v, &d);
    if (!rc) rc = fn(ctx, &d);
  }
  store_scan_close(&sc);
  return rc;
}

/* ---- heads --------------------------------------------------------------- */

void store_heads_free(store_heads *hs) {
  mem_free(hs->h);
  memset(hs, 0, sizeof *hs);
}

int store_heads_push(store_heads *hs, const store_head *h) {
  if (hs->n == hs->cap) {
    uint32_t cap = hs->cap ? 2 * hs->cap : 8;
    store_head *p = mem_realloc(hs->h, cap * sizeof *p);
    if (!p) return ACCORD_ENOMEM;
    hs->h = p;
    hs->cap = cap;
  }
  hs->h[hs->n++] = *h;
  return 0;
}

store_head *store_heads_find(const store_heads *hs, const uint8_t *actor) {
  for (uint32_t i = 0; i < hs->n; i++)
    if (!memcmp(hs->h[i].actor, actor, ACCORD_ACTOR_BYTES)) return &hs->h[i];
  return NULL;
}

void store_head_pos(const store_head *h, hashchain_pos *p) {
  p->seq = h->seq;
  memcpy(p->hash, h->hash, ACCORD_HASH_BYTES);
  memcpy(p->root, h->root, ACCORD_HASH_BYTES);
}

void store_head_set(store_head *h, const hashchain_pos *p) {
  h->seq = p->seq;
  memcpy(h->hash, p->hash, ACCORD_HASH_BYTES);
  memcpy(h->root, p->root, ACCORD_HASH_BYTES);
}

int store_pos_plausible(uint32_t seq, const uint8_t *hash,
                        const uint8_t *root) {
  static const uint8_t zero[ACCORD_HASH_BYTES];
  if (seq < HASHCHAIN_SEG && memcmp(root, zero, ACCORD_HASH_BYTES)) return 0;
  if (seq % HASHCHAIN_SEG == 0 && memcmp(root, hash, ACCORD_HASH_BYTES))
    return 0;
  return 1;
}

static int head_parse(store *s, const uint8_t *k, const MDB_val *v,
                      store_head *h) {
  const uint8_t *p = v->mv_data;
  if (v->mv_size == HEAD_VALUE) {
    memcpy(h->actor, k + K_DOC, ACCORD_ACTOR_BYTES);
    h->seq = be32_get(p);
    memcpy(h->hash, p + 4, ACCORD_HASH_BYTES);
    memcpy(h->root, p + 4 + ACCORD_HASH_BYTES, ACCORD_HASH_BYTES);
    if (store_pos_plausible(h->seq, h->hash, h->root)) return 0;
  }
  char hex[81];
  store_hex(k, K_ACTOR, hex);
  return store_fail(s, ACCORD_ECORRUPT,
                    "document %.32s/%.32s: bad head record for actor %s",
                    hex, hex + 32, hex + 64);
}

int store_heads_get(store_txn *t, const uint8_t *ws, const uint8_t *doc,
                    store_heads *hs) {
  uint8_t k[K_DOC];
  store_key(k, ws, doc, NULL, 0);
  hs->n = 0;
  store_scan sc;
  int rc = store_scan_open(&sc, t, DB_HEADS, k, K_DOC, NULL, 0);
  while (!rc && (rc = store_scan_next(&sc)) == 1) {
    store_head h;
    if (sc.k.mv_size != K_ACTOR) continue;
    rc = head_parse(t->s, sc.k.mv_data, &sc.v, &h);
    if (!rc) rc = store_heads_push(hs, &h);
  }
  store_scan_close(&sc);
  return rc;
}

int store_head_get(store_txn *t, const uint8_t *ws, const uint8_t *doc,
                   const uint8_t *actor, store_head *out) {
  uint8_t k[K_ACTOR];
  MDB_val v;
  store_key(k, ws, doc, actor, 0);
  int rc = store_get(t, DB_HEADS, k, K_ACTOR, &v);
  return rc ? rc : head_parse(t->s, k, &v, out);
}

int store_head_put(store_txn *t, const uint8_t *ws, const uint8_t *doc,
                   const store_head *h) {
  uint8_t k[K_ACTOR], v[HEAD_VALUE];
  store_key(k, ws, doc, h->actor, 0);
  be32_put(v, h->seq);
  memcpy(v + 4, h->hash, ACCORD_HASH_BYTES);
  memcpy(v + 4 + ACCORD_HASH_BYTES, h->root, ACCORD_HASH_BYTES);
  return store_put(t, DB_HEADS, k, K_ACTOR, v, sizeof v);
}

/* ---- seals --------------------------------------------------------------- */

#define SEAL_VALUE (4 + 96)

int store_seal_put(store_txn *t, const uint8_t *ws, const uint8_t *doc,
                   const uint8_t *actor, uint32_t seq, const uint8_t *pk_sig) {
  uint8_t k[K_ACTOR], v[SEAL_VALUE];
  store_key(k, ws, doc, actor, 0);
  be32_put(v, seq);
  memcpy(v + 4, pk_sig, 96);
  return store_put(t, DB_SEALS, k, K_ACTOR, v, sizeof v);
}

int store_seal_cp_put(store_txn *t, const uint8_t *ws, const uint8_t *doc,
                      const uint8_t *actor, uint32_t seq,
                      const uint8_t *pk_sig) {
  uint8_t k[K_SEQ];
  if (seq == 0) return ACCORD_EINVAL;
  store_key(k, ws, doc, actor, seq);
  return store_put(t, DB_SEALS, k, K_SEQ, pk_sig, 96);
}

int store_seal_seq(store_txn *t, const uint8_t *ws, const uint8_t *doc,
                   const uint8_t *actor, uint32_t *seq) {
  uint8_t k[K_ACTOR];
  MDB_val v;
  *seq = 0;
  store_key(k, ws, doc, actor, 0);
  int rc = store_get(t, DB_SEALS, k, K_ACTOR, &v);
  if (rc == ACCORD_ENOTFOUND) return 0;
  if (rc) return rc;
  if (v.mv_size != SEAL_VALUE)
    return store_fail(t->s, ACCORD_ECORRUPT, "seals: a malformed record");
  *seq = be32_get(v.mv_data);
  return 0;
}

int store_seals_each(store_txn *t, const uint8_t *ws, const uint8_t *doc,
                     store_seal_fn fn, void *ctx) {
  uint8_t k[K_DOC];
  store_key(k, ws, doc, NULL, 0);
  store_scan sc;
  int rc = store_scan_open(&sc, t, DB_SEALS, k, K_DOC, NULL, 0);
  while (!rc && (rc = store_scan_next(&sc)) == 1) {
    const uint8_t *key = sc.k.mv_data, *v = sc.v.mv_data;
    if (sc.k.mv_size == K_ACTOR && sc.v.mv_size == SEAL_VALUE) {
      rc = fn(ctx, key + K_DOC, be32_get(v), v + 4, 0);
    } else if (sc.k.mv_size == K_SEQ && sc.v.mv_size == 96 &&
               be32_get(key + K_ACTOR) != 0) {
      rc = fn(ctx, key + K_DOC, be32_get(key + K_ACTOR), v, 1);
    } else {
      rc = store_fail(t->s, ACCORD_ECORRUPT, "seals: a malformed record");
      break;
    }
  }
  store_scan_close(&sc);
  return rc;
}

/* ---- clearing a document's history ------------------------------------- */

int store_doc_history_clear(store_txn *t, const uint8_t *ws,
                            const uint8_t *doc) {
  static const int dbs[] = {DB_CHANGES, DB_HEADS, DB_SEALS, DB_PENDING,
                            DB_SNAPSHOTS};
  uint8_t k[K_DOC];
  store_key(k, ws, doc, NULL, 0);
  int rc = 0;
  for (size_t i = 0; i < sizeof dbs / sizeof dbs[0] && !rc; i++) {
    store_scan sc;
    rc = store_scan_open(&sc, t, dbs[i], k, K_DOC, NULL, 0);
    while (!rc && (rc = store_scan_next(&sc)) == 1) rc = store_scan_del(&sc);
    store_scan_close(&sc);
  }
  return rc;
}

/* ---- pending ------------------------------------------------------------- */

int store_pending_replace(store_txn *t, const uint8_t *ws, const uint8_t *doc,
                          const store_pend *p, uint32_t n) {
  uint8_t k[K_SEQ];
  store_key(k, ws, doc, NULL, 0);
  store_scan sc;
  int rc = store_scan_open(&sc, t, DB_PENDING, k, K_DOC, NULL, 0);
  while (!rc && (rc = store_scan_next(&sc)) == 1) rc = store_scan_del(&sc);
  store_scan_close(&sc);
  for (uint32_t i = 0; i < n && !rc; i++) {
    store_key(k, ws, doc, p[i].actor, p[i].seq);
    rc = store_put(t, DB_PENDING, k, K_SEQ, p[i].body, p[i].len);
  }
  return rc;
}

int store_pending_each(store_txn *t, const uint8_t *ws, const uint8_t *doc,
                       store_pend_fn fn, void *ctx) {
  uint8_t k[K_DOC];
  store_key(k, ws, doc, NULL, 0);
  store_scan sc;
  int rc = store_scan_open(&sc, t, DB_PENDING, k, K_DOC, NULL, 0);
  while (!rc && (rc = store_scan_next(&sc)) == 1) {
    const uint8_t *key = sc.k.mv_data;
    if (sc.k.mv_size != K_SEQ) continue;
    store_pend p = {key + K_DOC, be32_get(key + K_ACTOR), sc.v.mv_data,
                    sc.v.mv_size};
    if (p.seq == 0) continue;
    rc = fn(ctx, &p);
  }
  store_scan_close(&sc);
  return rc;
}

/* ---- snapshots ----------------------------------------------------------- */

/* A snapshot record is split into parts keyed ws·doc·part (from 0), each
 * filling exactly SNAP_PAGES overflow pages. One large value would need a
 * run of contiguous free pages as long as the snapshot, which a free list
 * fragmented by small commits rarely has, so the file would grow by about
 * the snapshot's size at every refresh; parts that fill single pages are
 * placed in any free page. Measured on automerge-paper's history with
 * housekeeping every 10,000 commits: 5.0 MB on disk with one-value
 * snapshots split in 8-page parts, 3.0 MB with 1-page parts. */
#define SNAP_PAGES 1
#define SNAP_PART(s) ((size_t)SNAP_PAGES * (s)->psize - 16)

static int snap_bad(store *s, const uint8_t *k, const char *why) {
  char hex[65], w[sizeof s->err];
  store_hex(k, K_DOC, hex);
  snprintf(w, sizeof w, "%s", why);
  return store_fail(s, ACCORD_ECORRUPT, "document %.32s/%s: the snapshot %s",
                    hex, hex + 32, w);
}

int store_snapshot_del(store_txn *t, const uint8_t *ws, const uint8_t *doc) {
  uint8_t k[K_DOC];
  store_key(k, ws, doc, NULL, 0);
  store_scan sc;
  int rc = store_scan_open(&sc, t, DB_SNAPSHOTS, k, K_DOC, NULL, 0);
  while (!rc && (rc = store_scan_next(&sc)) == 1) rc = store_scan_del(&sc);
  store_scan_close(&sc);
  return rc;
}

int store_snapshot_put(store_txn *t, const uint8_t *ws, const uint8_t *doc,
                       const uint8_t *bytes, size_t len,
                       const store_heads *vv) {
  store *s = t->s;
  uint8_t k[K_DOC + 4];
  int rc = store_zip(s, bytes, len, SNAP_LEVEL);
  if (rc || (rc = store_snapshot_del(t, ws, doc))) return rc;
  size_t head = 14 + (size_t)vv->n * VV_ENTRY, total = head + s->zbuf.len;
  uint8_t *h = mem_alloc(head);
  if (!h) return ACCORD_ENOMEM;
  h[0] = SNAP_VERSION;
  h[1] = SNAP_ZSTD;
  be64_put(h + 2, len);
  be32_put(h + 10, vv->n);
  for (uint32_t i = 0; i < vv->n; i++) {
    uint8_t *e = h + 14 + VV_ENTRY * i;
    memcpy(e, vv->h[i].actor, 8);
    be32_put(e + 8, vv->h[i].seq);
    memcpy(e + 12, vv->h[i].hash, ACCORD_HASH_BYTES);
    memcpy(e + 12 + ACCORD_HASH_BYTES, vv->h[i].root, ACCORD_HASH_BYTES);
  }
  store_key(k, ws, doc, NULL, 0);
  for (size_t off = 0, part = 0; off < total && !rc; part++) {
    size_t n = total - off < SNAP_PART(s) ? total - off : SNAP_PART(s);
    uint8_t *p;
    be32_put(k + K_DOC, (uint32_t)part);
    if ((rc = store_put_reserve(t, DB_SNAPSHOTS, k, sizeof k, n, &p))) break;
    for (size_t i = 0; i < n; i++, off++)
      p[i] = off < head ? h[off] : s->zbuf.p[off - head];
  }
  mem_free(h);
  return rc;
}

int store_snapshot_get(store_txn *t, const uint8_t *ws, const uint8_t *doc,
                       buf *out, store_heads *vv) {
  store *s = t->s;
  uint8_t k[K_DOC];
  store_key(k, ws, doc, NULL, 0);
  buf rec = {0};
  store_scan sc;
  uint32_t parts = 0;
  size_t need = 14; /* grows to the header's size, then the whole record */
  int rc = store_scan_open(&sc, t, DB_SNAPSHOTS, k, K_DOC, NULL, 0);
  while (!rc && (rc = store_scan_next(&sc)) == 1) {
    if (sc.k.mv_size != K_DOC + 4 ||
        be32_get((const uint8_t *)sc.k.mv_data + K_DOC) != parts++) {
      rc = snap_bad(s, k, "is missing a part");
      break;
    }
    buf_put(&rec, sc.v.mv_data, sc.v.mv_size);
    if ((rc = rec.err)) break;
    if (rec.len >= 14 && need == 14)
      need = 14 + (size_t)be32_get(rec.p + 10) * VV_ENTRY;
    if (!out && rec.len >= need) break; /* only the vector is wanted */
  }
  store_scan_close(&sc);
  if (rc < 0) goto done;
  rc = 0;
  if (parts == 0) {
    rc = ACCORD_ENOTFOUND;
    goto done;
  }
  const uint8_t *p = rec.p;
  uint64_t raw = 0;
  uint32_t n = 0;
  int ok = rec.len >= 14 && p[0] == SNAP_VERSION && p[1] == SNAP_ZSTD;
  if (ok) {
    raw = be64_get(p + 2);
    n = be32_get(p + 10);
    ok = raw <= SNAP_MAX_RAW && n <= (rec.len - 14) / VV_ENTRY;
  }
  if (!ok) {
    rc = snap_bad(s, k, "record is damaged");
    goto done;
  }
  if (vv) {
    vv->n = 0;
    for (uint32_t i = 0; i < n && !rc; i++) {
      const uint8_t *e = p + 14 + VV_ENTRY * i;
      store_head h;
      memcpy(h.actor, e, 8);
      h.seq = be32_get(e + 8);
      memcpy(h.hash, e + 12, ACCORD_HASH_BYTES);
      memcpy(h.root, e + 12 + ACCORD_HASH_BYTES, ACCORD_HASH_BYTES);
      if (!store_pos_plausible(h.seq, h.hash, h.root))
        rc = snap_bad(s, k, "version vector is damaged");
      else rc = store_heads_push(vv, &h);
    }
  }
  if (!rc && out) {
    size_t head = 14 + (size_t)n * VV_ENTRY;
    rc = store_unzip(s, p + head, rec.len - head, (size_t)raw, out);
    if (rc == ACCORD_ECORRUPT) rc = snap_bad(s, k, s->err);
  }
done:
  buf_free(&rec);
  return rc;
}

void store_hex(const uint8_t *p, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  out[2 * n] = 0;
}
