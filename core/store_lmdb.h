/*
 * store_lmdb.h — what the store*.c files share behind store.h: the
 * environment, the named databases, key builders, and the one place LMDB
 * return codes become accord codes. Only core/store*.c include this.
 *
 * Error convention inside the store: functions return 0, a negative
 * ACCORD_E* code (with a sentence recorded by store_fail), or
 * STORE_MAP_FULL, a positive sentinel that store_write turns into "grow the
 * map and run again". The sentinel never leaves store_write.
 */
#ifndef ACCORD_STORE_LMDB_H
#define ACCORD_STORE_LMDB_H

#include <lmdb.h>
#include <stdint.h>
#include <string.h>

#include "store.h"

#define STORE_MAP_FULL 1

enum {
  DB_META,
  DB_WS,
  DB_CHANGES,
  DB_HEADS,
  DB_SEALS,
  DB_PENDING,
  DB_DOCS,
  DB_SNAPSHOTS,
  DB_PEERS,
  DB_FORKS, /* schema 2 */
  DB_COUNT
};
extern const char *const store_db_names[DB_COUNT];

/* The hashing state of a chain where a store_changes_put left it, so that
 * the next put to that chain (the next commit) resumes without reading the
 * bodies of the open segment back. It is used only when the head the put
 * extends equals pos (seq, hash and root) for the same (ws, doc, actor):
 * the state is a function of the segment's root and bodies, and pos.hash
 * of the state, so an equal head means the same state whatever happened
 * since (an aborted transaction, another process's writes). */
#define STORE_CHAIN_CACHE 8
typedef struct store_chain_cache {
  uint8_t key[ACCORD_WS_ID_BYTES + ACCORD_DOC_ID_BYTES +
              ACCORD_ACTOR_BYTES]; /* ws·doc·actor (K_ACTOR) */
  int used;
  hashchain h;
  hashchain_pos pos;
} store_chain_cache;

struct store {
  MDB_env *env;
  MDB_dbi dbi[DB_COUNT];
  MDB_txn *rtxn; /* a reset read transaction, renewed by store_read */
  int rbusy;     /* rtxn is in use (a nested read opens its own) */
  char *dir;
  store_opts o;
  uint32_t psize;    /* LMDB's page size */
  uint32_t unsynced; /* batched: commits since the last fsync */
  int64_t synced_ms; /* batched: when the last fsync happened */
  int sync_err;      /* batched: a background fsync failed */
  void *zc, *zd;     /* zstd contexts, created on first use */
  buf zbuf;          /* compression scratch */
  store_chain_cache chains[STORE_CHAIN_CACHE];
  uint32_t chains_next; /* the entry to replace next (round robin) */
  char err[512];
};

struct store_txn {
  store *s;
  MDB_txn *txn;
  int write;
};

/* Translates an LMDB or errno code met while doing `what`: MDB_MAP_FULL
 * becomes STORE_MAP_FULL, everything else an ACCORD_E* code with a
 * sentence. */
int store_lmdb_err(store *s, int rc, const char *what);

/* Thin wrappers: 0, ENOTFOUND (get), STORE_MAP_FULL, or an error. */
static inline int store_get(store_txn *t, int db, const void *k, size_t klen,
                            MDB_val *v) {
  MDB_val key = {klen, (void *)k};
  int rc = mdb_get(t->txn, t->s->dbi[db], &key, v);
  if (rc == MDB_NOTFOUND) return ACCORD_ENOTFOUND;
  return rc ? store_lmdb_err(t->s, rc, "reading") : 0;
}
static inline int store_put(store_txn *t, int db, const void *k, size_t klen,
                            const void *v, size_t vlen) {
  MDB_val key = {klen, (void *)k}, data = {vlen, (void *)v};
  int rc = mdb_put(t->txn, t->s->dbi[db], &key, &data, 0);
  return rc ? store_lmdb_err(t->s, rc, "writing") : 0;
}
/* Reserves vlen bytes for the value and returns where to write them. */
static inline int store_put_reserve(store_txn *t, int db, const void *k,
                                    size_t klen, size_t vlen, uint8_t **p) {
  MDB_val key = {klen, (void *)k}, data = {vlen, NULL};
  *p = NULL;
  int rc = mdb_put(t->txn, t->s->dbi[db], &key, &data, MDB_RESERVE);
  if (rc) return store_lmdb_err(t->s, rc, "writing");
  *p = data.mv_data;
  return 0;
}
static inline int store_del(store_txn *t, int db, const void *k,
                            size_t klen) {
  MDB_val key = {klen, (void *)k};
  int rc = mdb_del(t->txn, t->s->dbi[db], &key, NULL);
  if (rc == MDB_NOTFOUND) return 0;
  return rc ? store_lmdb_err(t->s, rc, "deleting") : 0;
}

/* Cursor over the records whose keys start with prefix. */
typedef struct store_scan {
  store_txn *t;
  MDB_cursor *c;
  const uint8_t *prefix;
  size_t plen;
  int started;
  MDB_val k, v;
} store_scan;
/* Positions before the first record >= from (NULL: the prefix itself). */
int store_scan_open(store_scan *sc, store_txn *t, int db,
                    const uint8_t *prefix, size_t plen, const uint8_t *from,
                    size_t flen);
/* 1 with sc->k / sc->v set, 0 at the end of the prefix, or an error. */
int store_scan_next(store_scan *sc);
/* Deletes the record the scan stands on. */
int store_scan_del(store_scan *sc);
void store_scan_close(store_scan *sc);

/* ---- keys ---------------------------------------------------------------- */

#define K_WS ACCORD_WS_ID_BYTES                /* 16 */
#define K_DOC (K_WS + ACCORD_DOC_ID_BYTES)     /* 32 */
#define K_ACTOR (K_DOC + ACCORD_ACTOR_BYTES)   /* 40 */
#define K_SEQ (K_ACTOR + 4)                    /* 44 */

static inline void be32_put(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}
static inline uint32_t be32_get(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}
static inline void be64_put(uint8_t *p, uint64_t v) {
  be32_put(p, (uint32_t)(v >> 32));
  be32_put(p + 4, (uint32_t)v);
}
static inline uint64_t be64_get(const uint8_t *p) {
  return (uint64_t)be32_get(p) << 32 | be32_get(p + 4);
}

/* ws·doc[·actor[·seq]] into k; returns the length. */
static inline size_t store_key(uint8_t *k, const uint8_t *ws,
                               const uint8_t *doc, const uint8_t *actor,
                               uint32_t seq) {
  memcpy(k, ws, K_WS);
  if (!doc) return K_WS;
  memcpy(k + K_WS, doc, ACCORD_DOC_ID_BYTES);
  if (!actor) return K_DOC;
  memcpy(k + K_DOC, actor, ACCORD_ACTOR_BYTES);
  if (!seq) return K_ACTOR;
  be32_put(k + K_ACTOR, seq);
  return K_SEQ;
}

/* ---- compression (store_changes.c) --------------------------------------- */

/* zstd frame (with its checksum) of p[0..n) into s->zbuf (reset first). */
int store_zip(store *s, const uint8_t *p, size_t n, int level);
/* Decompresses a frame that must expand to exactly raw bytes, appended to
 * out. Errors: ECORRUPT (recorded), ENOMEM. */
int store_unzip(store *s, const uint8_t *p, size_t n, size_t raw, buf *out);

void store_zip_free(store *s);

/* LEB128 varints for record headers. */
static inline size_t varint_put(uint8_t *p, uint64_t v) {
  size_t n = 0;
  while (v >= 0x80) {
    p[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  p[n++] = (uint8_t)v;
  return n;
}
/* 0 on success (advancing *p), -1 when malformed. */
static inline int varint_get(const uint8_t **p, const uint8_t *end,
                             uint64_t *v) {
  uint64_t x = 0;
  for (unsigned shift = 0; shift < 64 && *p < end; shift += 7) {
    uint8_t b = *(*p)++;
    x |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = x;
      return 0;
    }
  }
  return -1;
}

#endif
