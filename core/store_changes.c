/*
 * store_changes.c — the changes database: change records, reading them
 * back, checking them against the hash chain, and compaction.
 *
 * A record holds a run of consecutive changes of one (doc, actor), keyed
 * by the seq of its LAST change, so that a cursor positioned at seq s
 * (MDB_SET_RANGE) lands on the record containing s. Value:
 *   format (1: plain, 2: zstd) ‖ varint count ‖ chain hash after the last
 *   change (32) ‖ [zstd: varint raw length] ‖ payload
 * where the payload (after decompression) is the change bodies back to
 * back; bodies delimit themselves (change_body_len).
 *
 * Every record carries the chain hash after its last change (the
 * segmented chain, hashchain.h), so checking a chain
 * (store_changes_verify, hashing from seq 0) finds the first damaged
 * record, hence the change (or, in a chunk, the range of changes) that is
 * bad. A put resumes hashing at the stored head: from the root of its
 * segment and the bodies after it, read back from these records, or from
 * the store's cache of chain states (store_lmdb.h) when the head is the
 * one the cache stands at. zstd frames
 * carry their own checksum, so a damaged chunk fails to decompress.
 *
 * Workload: a local commit writes one plain record of one change; an
 * imported batch writes its run per actor as chunks of up to CHUNK_RAW
 * bytes. Compaction (at document close and accord_node_maintain) rewrites
 * the trailing small records of a chain into compressed chunks of about
 * CHUNK_RAW bytes: automerge-paper's 259,778 one-edit changes (4.27 MB of
 * bodies) become about 70 records of 6-8 KB.
 *
 * Invariant: the records of a chain cover seqs 1..head without gaps or
 * overlaps, in key order.
 */
#include <stdio.h>
#include <string.h>
#include <zstd.h>

#include "change.h"
#include "crypto.h"
#include "mem.h"
#include "store_lmdb.h"

#define REC_PLAIN 1
#define REC_ZSTD 2
#define CHUNK_RAW (64 * 1024)
#define SMALL_RAW (CHUNK_RAW / 2) /* records below this get compacted */
#define ZIP_MIN 512               /* runs smaller than this stay plain */
#define LEVEL_IMPORT 3
#define LEVEL_COMPACT 6
#define REC_MAX_RAW ((uint64_t)1 << 31)

/* ---- compression --------------------------------------------------------- */

int store_zip(store *s, const uint8_t *p, size_t n, int level) {
  if (!s->zc && !(s->zc = ZSTD_createCCtx())) return ACCORD_ENOMEM;
  ZSTD_CCtx *zc = s->zc;
  ZSTD_CCtx_reset(zc, ZSTD_reset_session_and_parameters);
  if (ZSTD_isError(ZSTD_CCtx_setParameter(zc, ZSTD_c_compressionLevel,
                                          level)) ||
      ZSTD_isError(ZSTD_CCtx_setParameter(zc, ZSTD_c_checksumFlag, 1)))
    return ACCORD_ENOMEM;
  size_t bound = ZSTD_compressBound(n);
  s->zbuf.len = 0;
  s->zbuf.err = 0;
  int rc = buf_try_reserve(&s->zbuf, bound);
  if (rc) return rc;
  size_t z = ZSTD_compress2(zc, s->zbuf.p, bound, p, n);
  if (ZSTD_isError(z)) return ACCORD_ENOMEM; /* only allocation can fail */
  s->zbuf.len = z;
  return 0;
}

int store_unzip(store *s, const uint8_t *p, size_t n, size_t raw, buf *out) {
  if (!s->zd && !(s->zd = ZSTD_createDCtx())) return ACCORD_ENOMEM;
  unsigned long long fcs = ZSTD_getFrameContentSize(p, n);
  if (fcs != raw)
    return store_fail(s, ACCORD_ECORRUPT, "compressed frame header damaged");
  int rc = buf_try_reserve(out, raw ? raw : 1);
  if (rc) return rc;
  size_t r = ZSTD_decompressDCtx(s->zd, out->p + out->len, raw, p, n);
  if (ZSTD_isError(r) || r != raw)
    return store_fail(s, ACCORD_ECORRUPT, "%s",
                      ZSTD_isError(r) ? ZSTD_getErrorName(r) : "short frame");
  out->len += raw;
  return 0;
}

void store_zip_free(store *s) {
  ZSTD_freeCCtx(s->zc);
  ZSTD_freeDCtx(s->zd);
  s->zc = s->zd = NULL;
}

/* ---- hashing ------------------------------------------------------------- */

/* ---- records ------------------------------------------------------------- */

typedef struct rec {
  uint32_t first, last;
  int format;
  const uint8_t *hash;
  size_t raw;              /* payload bytes once decompressed */
  const uint8_t *payload;  /* as stored */
  size_t plen;
} rec;

/* Names a change or range for messages: "document W/D: change A#S". */
static int bad(store *s, const uint8_t *key, uint32_t first, uint32_t last,
               const char *why) {
  char hex[81], w[sizeof s->err];
  store_hex(key, K_ACTOR, hex);
  snprintf(w, sizeof w, "%s", why);
  if (first == last)
    return store_fail(s, ACCORD_ECORRUPT,
                      "document %.32s/%.32s: change %s#%u is damaged (%s)",
                      hex, hex + 32, hex + 64, first, w);
  return store_fail(s, ACCORD_ECORRUPT,
                    "document %.32s/%.32s: changes %s#%u..%u are damaged (%s)",
                    hex, hex + 32, hex + 64, first, last, w);
}

static int rec_parse(store *s, const MDB_val *k, const MDB_val *v, rec *r) {
  const uint8_t *key = k->mv_data, *p = v->mv_data, *end = p + v->mv_size;
  uint64_t n, raw = 0;
  r->last = be32_get(key + K_ACTOR);
  if (p == end || (p[0] != REC_PLAIN && p[0] != REC_ZSTD))
    return bad(s, key, r->last, r->last, "unknown record format");
  r->format = *p++;
  if (varint_get(&p, end, &n) || n == 0 || n > r->last ||
      (size_t)(end - p) < ACCORD_HASH_BYTES)
    return bad(s, key, r->last, r->last, "bad record header");
  r->first = r->last - (uint32_t)n + 1;
  r->hash = p;
  p += ACCORD_HASH_BYTES;
  if (r->format == REC_ZSTD && (varint_get(&p, end, &raw) ||
                                raw > REC_MAX_RAW))
    return bad(s, key, r->first, r->last, "bad record header");
  r->payload = p;
  r->plen = (size_t)(end - p);
  r->raw = r->format == REC_ZSTD ? (size_t)raw : r->plen;
  return 0;
}

/* The record's bodies: the payload itself, or decompressed into scratch. */
static int rec_bodies(store *s, const uint8_t *key, const rec *r, buf *scratch,
                      const uint8_t **p) {
  if (r->format == REC_PLAIN) {
    *p = r->payload;
    return 0;
  }
  scratch->len = 0;
  scratch->err = 0;
  int rc = store_unzip(s, r->payload, r->plen, r->raw, scratch);
  if (rc == ACCORD_ECORRUPT) return bad(s, key, r->first, r->last, s->err);
  *p = scratch->p;
  return rc;
}

/* Writes one record of changes first..last (payload p, raw bytes). */
static int rec_put(store_txn *t, const uint8_t *prefix, uint32_t first,
                   uint32_t last, const uint8_t *hash, const uint8_t *p,
                   size_t raw, int level) {
  store *s = t->s;
  uint8_t k[K_SEQ], head[1 + 10 + ACCORD_HASH_BYTES + 10];
  int format = REC_PLAIN, rc;
  const uint8_t *payload = p;
  size_t plen = raw;
  if (level && raw >= ZIP_MIN) {
    if ((rc = store_zip(s, p, raw, level))) return rc;
    if (s->zbuf.len < raw) {
      format = REC_ZSTD;
      payload = s->zbuf.p;
      plen = s->zbuf.len;
    }
  }
  size_t h = 0;
  head[h++] = (uint8_t)format;
  h += varint_put(head + h, (uint64_t)last - first + 1);
  memcpy(head + h, hash, ACCORD_HASH_BYTES);
  h += ACCORD_HASH_BYTES;
  if (format == REC_ZSTD) h += varint_put(head + h, raw);
  memcpy(k, prefix, K_ACTOR);
  be32_put(k + K_ACTOR, last);
  uint8_t *v = NULL;
  if ((rc = store_put_reserve(t, DB_CHANGES, k, K_SEQ, h + plen, &v)))
    return rc;
  memcpy(v, head, h);
  memcpy(v + h, payload, plen);
  return 0;
}

/* The cache entry of (ws·doc·actor) key standing at pos, or NULL. */
static store_chain_cache *cache_find(store *s, const uint8_t *key,
                                     const hashchain_pos *pos) {
  for (uint32_t i = 0; i < STORE_CHAIN_CACHE; i++) {
    store_chain_cache *c = &s->chains[i];
    if (c->used && c->pos.seq == pos->seq &&
        !memcmp(c->key, key, K_ACTOR) &&
        !memcmp(c->pos.hash, pos->hash, ACCORD_HASH_BYTES) &&
        !memcmp(c->pos.root, pos->root, ACCORD_HASH_BYTES))
      return c;
  }
  return NULL;
}

/* The entry to hash the chain key in when the cache does not stand at its
 * head: the chain's old entry if it has one, else the oldest. */
static store_chain_cache *cache_slot(store *s, const uint8_t *key) {
  for (uint32_t i = 0; i < STORE_CHAIN_CACHE; i++)
    if (s->chains[i].used && !memcmp(s->chains[i].key, key, K_ACTOR))
      return &s->chains[i];
  store_chain_cache *c = &s->chains[s->chains_next];
  s->chains_next = (s->chains_next + 1) % STORE_CHAIN_CACHE;
  return c;
}

static const uint8_t zero_hash[ACCORD_HASH_BYTES];

static int add_body(void *ctx, uint32_t seq, const uint8_t *body,
                    size_t len) {
  (void)seq;
  hashchain_add(ctx, body, len);
  return 0;
}

/* Starts h at prev by hashing the stored bodies of prev's open segment
 * and checks they end at prev->hash. */
static int resume(store_txn *t, const uint8_t *ws, const uint8_t *doc,
                  const uint8_t *actor, const uint8_t *prefix,
                  const hashchain_pos *prev, hashchain *h) {
  store *s = t->s;
  uint32_t b = prev->seq - prev->seq % HASHCHAIN_SEG;
  uint8_t hash[ACCORD_HASH_BYTES];
  hashchain_start(h, doc, actor, b, b ? prev->root : NULL);
  if (!b && memcmp(prev->root, zero_hash, ACCORD_HASH_BYTES))
    goto mismatch;
  /* one update per body: this path runs once per chain and process (the
   * cache serves the next put), for at most HASHCHAIN_SEG - 1 bodies */
  if (prev->seq > b) {
    int rc = store_changes_read(t, ws, doc, actor, b + 1, prev->seq,
                                add_body, h);
    if (rc) return rc;
  }
  hashchain_hash(h, hash);
  if (!memcmp(hash, prev->hash, ACCORD_HASH_BYTES)) return 0;
mismatch:;
  char hex[81];
  store_hex(prefix, K_ACTOR, hex);
  return store_fail(s, ACCORD_ECORRUPT,
                    "document %.32s/%.32s: the stored chain of %s does not "
                    "hash to its head at seq %u (the head, or changes "
                    "%u..%u, are damaged); nothing was written",
                    hex, hex + 32, hex + 64, prev->seq, b + 1, prev->seq);
}

int store_changes_put(store_txn *t, const uint8_t *ws, const uint8_t *doc,
                      const uint8_t *actor, const store_run *run,
                      const hashchain_pos *prev, hashchain_pos *out) {
  store *s = t->s;
  uint8_t prefix[K_ACTOR], hash[ACCORD_HASH_BYTES];
  store_key(prefix, ws, doc, actor, 0);
  if (prev->seq != run->first - 1)
    return store_fail(s, ACCORD_EINVAL,
                      "store_changes_put: a run from seq %u after seq %u",
                      run->first, prev->seq);
  /* the chain is hashed in its cache entry, which is marked unused until
   * the put is done (on failure its state matches no position) */
  store_chain_cache *c = cache_find(s, prefix, prev);
  if (!c) {
    c = cache_slot(s, prefix);
    c->used = 0;
    int rc = resume(t, ws, doc, actor, prefix, prev, &c->h);
    if (rc) return rc;
  }
  hashchain *h = &c->h;
  c->used = 0;
  const uint32_t *off = run->off;
  for (uint32_t i = 0; i < run->n;) {
    uint32_t j = i + 1;
    size_t raw = off[j] - off[i];
    while (j < run->n && raw + (off[j + 1] - off[j]) <= CHUNK_RAW) {
      raw += off[j + 1] - off[j];
      j++;
    }
    hashchain_span(h, run->base, off + i, j - i);
    hashchain_hash(h, hash);
    int rc = rec_put(t, prefix, run->first + i, run->first + j - 1, hash,
                     run->base + off[i], raw, j - i > 1 ? LEVEL_IMPORT : 0);
    if (rc) return rc;
    i = j;
  }
  out->seq = h->seq;
  memcpy(out->root, h->root, ACCORD_HASH_BYTES);
  if (run->n) memcpy(out->hash, hash, ACCORD_HASH_BYTES);
  else memcpy(out->hash, prev->hash, ACCORD_HASH_BYTES);
  memcpy(c->key, prefix, K_ACTOR);
  c->pos = *out;
  c->used = 1;
  return 0;
}

/* Calls fn for each body of the record's payload p (raw bytes) with seq at
 * least from and at most to; checks the count. */
typedef int (*body_fn)(void *ctx, uint32_t seq, const uint8_t *body,
                       size_t len);
static int rec_each(store *s, const uint8_t *key, const rec *r,
                    const uint8_t *p, uint32_t from, uint32_t to, body_fn fn,
                    void *ctx) {
  size_t left = r->raw;
  uint32_t seq = r->first;
  while (left) {
    size_t len = change_body_len(p, left);
    if (!len || seq > r->last)
      return bad(s, key, seq > r->last ? r->last : seq,
                 seq > r->last ? r->last : seq, "body does not decode");
    if (seq >= from && seq <= to) {
      int rc = fn(ctx, seq, p, len);
      if (rc) return rc;
    }
    p += len;
    left -= len;
    seq++;
  }
  if (seq != r->last + 1) return bad(s, key, seq, r->last, "changes missing");
  return 0;
}

int store_changes_read(store_txn *t, const uint8_t *ws, const uint8_t *doc,
                       const uint8_t *actor, uint32_t from, uint32_t to,
                       store_body_fn fn, void *ctx) {
  store *s = t->s;
  uint8_t prefix[K_ACTOR], k[K_SEQ];
  store_key(prefix, ws, doc, actor, 0);
  store_key(k, ws, doc, actor, from);
  buf scratch = {0};
  store_scan sc;
  uint32_t next = from;
  int rc = store_scan_open(&sc, t, DB_CHANGES, prefix, K_ACTOR, k, K_SEQ);
  while (!rc && next <= to && (rc = store_scan_next(&sc)) == 1) {
    rec r;
    const uint8_t *p = NULL;
    if (sc.k.mv_size != K_SEQ) continue;
    if ((rc = rec_parse(s, &sc.k, &sc.v, &r))) break;
    if (r.first > next) {
      rc = bad(s, sc.k.mv_data, next, r.first - 1, "missing");
      break;
    }
    if ((rc = rec_bodies(s, sc.k.mv_data, &r, &scratch, &p))) break;
    rc = rec_each(s, sc.k.mv_data, &r, p, next, to, fn, ctx);
    next = r.last + 1;
  }
  store_scan_close(&sc);
  buf_free(&scratch);
  if (rc < 0) return rc;
  if (next <= to) return bad(s, k, next, to, "missing");
  return 0;
}

/* ---- verification -------------------------------------------------------- */

/* Verification feeds a record's bodies (back to back in its payload) to
 * the chain in spans that end at segment ends and at the record's end:
 * one BLAKE2b update per span, not per change. */
typedef struct vctx {
  hashchain h;
  const uint8_t *p; /* the open span: n bodies, len bytes */
  size_t len;
  uint32_t n;
} vctx;

static void verify_flush(vctx *v) {
  hashchain_addn(&v->h, v->p, v->len, v->n);
  v->n = 0;
  v->len = 0;
}

static int verify_body(void *ctx, uint32_t seq, const uint8_t *body,
                       size_t len) {
  vctx *v = ctx;
  (void)seq;
  if (!v->n) v->p = body;
  v->len += len;
  if (++v->n == hashchain_room(&v->h)) verify_flush(v);
  return 0;
}

int store_changes_verify(store_txn *t, const uint8_t *ws, const uint8_t *doc,
                         const store_head *h) {
  store *s = t->s;
  uint8_t prefix[K_ACTOR], hash[ACCORD_HASH_BYTES];
  store_key(prefix, ws, doc, h->actor, 0);
  vctx v;
  memset(&v, 0, sizeof v);
  hashchain_start(&v.h, doc, h->actor, 0, NULL);
  buf scratch = {0};
  store_scan sc;
  uint32_t next = 1;
  int rc = store_scan_open(&sc, t, DB_CHANGES, prefix, K_ACTOR, NULL, 0);
  while (!rc && next <= h->seq && (rc = store_scan_next(&sc)) == 1) {
    rec r;
    const uint8_t *p = NULL;
    if (sc.k.mv_size != K_SEQ) continue;
    if ((rc = rec_parse(s, &sc.k, &sc.v, &r))) break;
    if (r.first != next) {
      rc = bad(s, sc.k.mv_data, next, r.first > next ? r.first - 1 : next,
               r.first > next ? "missing" : "records overlap");
      break;
    }
    if ((rc = rec_bodies(s, sc.k.mv_data, &r, &scratch, &p))) break;
    rc = rec_each(s, sc.k.mv_data, &r, p, 1, UINT32_MAX, verify_body, &v);
    verify_flush(&v); /* the span points into this record's bodies */
    if (rc) break;
    hashchain_hash(&v.h, hash);
    if (memcmp(hash, r.hash, ACCORD_HASH_BYTES)) {
      rc = bad(s, sc.k.mv_data, r.first, r.last, "hash mismatch");
      break;
    }
    next = r.last + 1;
  }
  store_scan_close(&sc);
  buf_free(&scratch);
  if (rc < 0) return rc;
  if (next <= h->seq) return bad(s, prefix, next, h->seq, "missing");
  hashchain_hash(&v.h, hash);
  if (v.h.seq != h->seq || memcmp(hash, h->hash, ACCORD_HASH_BYTES) ||
      memcmp(v.h.root, h->root, ACCORD_HASH_BYTES))
    return bad(s, prefix, h->seq, h->seq,
               "does not match the head's hash and root");
  return 0;
}

/* ---- compaction ---------------------------------------------------------- */

typedef struct piece {
  uint32_t last;
  uint8_t hash[ACCORD_HASH_BYTES];
  size_t end; /* payload end offset in the merged buffer */
} piece;

/* The key of the first of the trailing small records, and how many. */
static int find_tail(store_txn *t, const uint8_t *prefix, uint8_t *first,
                     uint32_t *n) {
  store *s = t->s;
  MDB_cursor *c;
  uint8_t k[K_SEQ];
  memcpy(k, prefix, K_ACTOR);
  memset(k + K_ACTOR, 0xff, 4);
  MDB_val key = {K_SEQ, k}, v;
  *n = 0;
  int rc = mdb_cursor_open(t->txn, s->dbi[DB_CHANGES], &c);
  if (rc) return store_lmdb_err(s, rc, "reading");
  rc = mdb_cursor_get(c, &key, &v, MDB_SET_RANGE);
  if (rc == 0 && key.mv_size == K_SEQ && !memcmp(key.mv_data, k, K_SEQ)) {
    /* seq 0xffffffff itself: start there */
  } else if (rc == 0) {
    rc = mdb_cursor_get(c, &key, &v, MDB_PREV);
  } else if (rc == MDB_NOTFOUND) {
    rc = mdb_cursor_get(c, &key, &v, MDB_LAST);
  }
  while (rc == 0 && key.mv_size == K_SEQ &&
         !memcmp(key.mv_data, prefix, K_ACTOR)) {
    rec r;
    if ((rc = rec_parse(s, &key, &v, &r))) break;
    if (r.raw >= SMALL_RAW) break;
    memcpy(first, key.mv_data, K_SEQ);
    (*n)++;
    rc = mdb_cursor_get(c, &key, &v, MDB_PREV);
  }
  mdb_cursor_close(c);
  if (rc == MDB_NOTFOUND) rc = 0;
  return rc > 0 ? store_lmdb_err(s, rc, "reading") : rc;
}

int store_changes_tail(store_txn *t, const uint8_t *ws, const uint8_t *doc,
                       const uint8_t *actor, uint32_t *n) {
  uint8_t prefix[K_ACTOR], first[K_SEQ];
  store_key(prefix, ws, doc, actor, 0);
  return find_tail(t, prefix, first, n);
}

int store_changes_compact(store_txn *t, const uint8_t *ws, const uint8_t *doc,
                          const uint8_t *actor, uint32_t min_records,
                          size_t *before, size_t *after) {
  store *s = t->s;
  uint8_t prefix[K_ACTOR], first[K_SEQ];
  uint32_t n;
  store_key(prefix, ws, doc, actor, 0);
  int rc = find_tail(t, prefix, first, &n);
  if (rc || n < 2 || n < min_records) return rc;

  /* gather the tail's bodies and record boundaries, deleting as we go */
  buf all = {0}, scratch = {0};
  piece *pc = mem_alloc(n * sizeof *pc);
  uint32_t np = 0, first_seq = 0;
  store_scan sc;
  if (!pc) return ACCORD_ENOMEM;
  rc = store_scan_open(&sc, t, DB_CHANGES, prefix, K_ACTOR, first, K_SEQ);
  while (!rc && (rc = store_scan_next(&sc)) == 1) {
    rec r;
    const uint8_t *p = NULL;
    if (np == n) break; /* cannot happen: the tail ends the chain */
    if ((rc = rec_parse(s, &sc.k, &sc.v, &r)) ||
        (rc = rec_bodies(s, sc.k.mv_data, &r, &scratch, &p)))
      break;
    if (np == 0) first_seq = r.first;
    else if (r.first != pc[np - 1].last + 1) {
      rc = bad(s, sc.k.mv_data, pc[np - 1].last + 1, r.first, "gap");
      break;
    }
    if ((rc = buf_try_reserve(&all, r.raw))) break;
    buf_put(&all, p, r.raw);
    pc[np].last = r.last;
    memcpy(pc[np].hash, r.hash, ACCORD_HASH_BYTES);
    pc[np].end = all.len;
    np++;
    rc = store_scan_del(&sc);
  }
  store_scan_close(&sc);

  /* regroup at record boundaries into chunks of about CHUNK_RAW */
  size_t written = 0;
  if (rc == 0) {
    size_t start = 0;
    uint32_t seq = first_seq;
    for (uint32_t i = 0; i < np && !rc;) {
      uint32_t j = i;
      while (j + 1 < np && pc[j + 1].end - start <= CHUNK_RAW) j++;
      rc = rec_put(t, prefix, seq, pc[j].last, pc[j].hash, all.p + start,
                   pc[j].end - start, LEVEL_COMPACT);
      written++;
      start = pc[j].end;
      seq = pc[j].last + 1;
      i = j + 1;
    }
  }
  mem_free(pc);
  buf_free(&all);
  buf_free(&scratch);
  if (rc) return rc;
  *before += np;
  *after += written;
  return 0;
}
