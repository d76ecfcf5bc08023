/*
 * store_forks.c — fork evidence in the node store (schema 2): the "forks"
 * database, ws·doc·actor·seq(4) -> the evidence bytes (core/fork.c), one
 * record per author and seq where its chains part. The first record stored
 * for a key is kept: evidence is never replaced. Records are few (a fork
 * is a member misbehaving) and read when a document opens or the node
 * lists its forks.
 */
#include "store_lmdb.h"

int store_fork_put(store_txn *t, const uint8_t *ws, const uint8_t *doc,
                   const uint8_t *actor, uint32_t seq, const uint8_t *ev,
                   size_t len) {
  uint8_t k[K_SEQ];
  size_t klen = store_key(k, ws, doc, actor, seq);
  MDB_val v;
  int rc = store_get(t, DB_FORKS, k, klen, &v);
  if (rc != ACCORD_ENOTFOUND) return rc; /* 0: kept as it is */
  return store_put(t, DB_FORKS, k, klen, ev, len);
}

int store_fork_each(store_txn *t, const uint8_t *ws, const uint8_t *doc,
                    store_fork_fn fn, void *ctx) {
  uint8_t prefix[K_DOC];
  size_t plen = store_key(prefix, ws, doc, NULL, 0);
  store_scan sc;
  int rc = store_scan_open(&sc, t, DB_FORKS, prefix, plen, NULL, 0);
  while (!rc && (rc = store_scan_next(&sc)) == 1) {
    if (sc.k.mv_size != K_SEQ) {
      rc = store_fail(t->s, ACCORD_ECORRUPT,
                      "a fork record's key in %s has the wrong size",
                      t->s->dir);
      break;
    }
    rc = fn(ctx, (const uint8_t *)sc.k.mv_data + K_WS, sc.v.mv_data,
            sc.v.mv_size);
  }
  store_scan_close(&sc);
  return rc;
}
