/*
 * store_peers.c — the peers database: what this node remembers of other
 * members of its workspaces (store.h, "peers").
 *
 * Key: ws (16) · member public key (32). Record (integers big-endian):
 *   1 (version)
 *   last seen ms (8) ‖ last synced ms (8)        both >= 0; 0: never
 *   n (1) ‖ n × (length (1) ‖ "host:port")      n <= STORE_PEER_ADDRS,
 *                                                most recent first, distinct
 *   summary length (4) ‖ summary                 <= STORE_PEER_SUMMARY_MAX
 * and nothing after. A record is read as hostile (a damaged disk or a bug
 * elsewhere may have written it): every length is checked against what is
 * left and against its bound, every address revalidated, and a record
 * that breaks any rule is ECORRUPT as a whole — no half-decoded peer
 * reaches the network layer. put refuses to write what get would refuse.
 *
 * Workload: a handful of peers per workspace; a write when a peer is first
 * seen at an address or after a sync, reads when the network layer
 * starts or looks for addresses to dial.
 */
#include <stdio.h>
#include <string.h>

#include "mem.h"
#include "store_lmdb.h"

#define PEER_VERSION 1
#define K_PEER (K_WS + 32)
#define PEER_FIXED (1 + 8 + 8 + 1 + 4) /* a record without addresses */

int store_peer_addr_ok(const char *s, size_t n) {
  if (!s || n < 3 || n > STORE_PEER_ADDR_MAX) return 0;
  size_t colon = n;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x21 || c > 0x7e) return 0;
    if (c == ':') colon = i;
  }
  /* a host before the last ':', a port of 1..5 digits after it, without
   * leading zeros (one spelling per address, so that dedup works) */
  if (colon == 0 || colon >= n - 1 || n - colon - 1 > 5) return 0;
  if (s[colon + 1] == '0') return 0;
  unsigned long port = 0;
  for (size_t i = colon + 1; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return 0;
    port = port * 10 + (unsigned long)(s[i] - '0');
  }
  return port >= 1 && port <= 65535;
}

/* 0 if p's fields are within the record's rules, else the broken rule. */
static const char *peer_check(const store_peer *p) {
  if (p->naddrs > STORE_PEER_ADDRS) return "too many addresses";
  if (p->last_seen < 0 || p->last_synced < 0) return "a negative time";
  if (p->summary_len > STORE_PEER_SUMMARY_MAX) return "summary too big";
  if (p->summary_len && !p->summary) return "summary missing";
  for (uint32_t i = 0; i < p->naddrs; i++) {
    if (!store_peer_addr_ok(p->addr[i], p->addr_len[i]))
      return "a malformed address";
    for (uint32_t j = 0; j < i; j++)
      if (p->addr_len[j] == p->addr_len[i] &&
          !memcmp(p->addr[j], p->addr[i], p->addr_len[i]))
        return "a repeated address";
  }
  return NULL;
}

static int peer_bad(store *s, const uint8_t *k, const char *why) {
  char hex[2 * K_PEER + 1];
  store_hex(k, K_PEER, hex);
  return store_fail(s, ACCORD_ECORRUPT, "peer %.64s of workspace %.32s: %s",
                    hex + 32, hex, why);
}

/* Decodes v into out (pointers into v). 0 or ECORRUPT. */
static int peer_parse(store *s, const uint8_t *k, const MDB_val *v,
                      store_peer *out) {
  const uint8_t *p = v->mv_data, *end = p + v->mv_size;
  store_peer r;
  memset(&r, 0, sizeof r);
  if (v->mv_size < PEER_FIXED || p[0] != PEER_VERSION)
    return peer_bad(s, k, "bad record header");
  r.last_seen = (int64_t)be64_get(p + 1);
  r.last_synced = (int64_t)be64_get(p + 9);
  r.naddrs = p[17];
  p += 18;
  if (r.naddrs > STORE_PEER_ADDRS) return peer_bad(s, k, "too many addresses");
  for (uint32_t i = 0; i < r.naddrs; i++) {
    if (end - p < 1 || (size_t)(end - p - 1) < p[0])
      return peer_bad(s, k, "address runs past the record");
    r.addr_len[i] = p[0];
    r.addr[i] = (const char *)p + 1;
    p += 1 + p[0];
  }
  if (end - p < 4) return peer_bad(s, k, "summary length missing");
  r.summary_len = be32_get(p);
  p += 4;
  if (r.summary_len != (size_t)(end - p))
    return peer_bad(s, k, "summary length does not match the record");
  r.summary = r.summary_len ? p : NULL;
  const char *why = peer_check(&r);
  if (why) return peer_bad(s, k, why);
  memcpy(r.ws, k, K_WS);
  memcpy(r.pk, k + K_WS, 32);
  *out = r;
  return 0;
}

static void peer_key(uint8_t k[K_PEER], const uint8_t *ws, const uint8_t *pk) {
  memcpy(k, ws, K_WS);
  memcpy(k + K_WS, pk, 32);
}

int store_peer_put(store_txn *t, const store_peer *p) {
  if (!p) return ACCORD_EINVAL;
  const char *why = peer_check(p);
  if (why)
    return store_fail(t->s, ACCORD_EINVAL, "peer record: %s", why);
  size_t n = PEER_FIXED + p->summary_len;
  for (uint32_t i = 0; i < p->naddrs; i++) n += 1 + p->addr_len[i];
  /* encoded apart first: p may point into the record being replaced */
  uint8_t *v = mem_alloc(n), *w = v, k[K_PEER];
  if (!v) return ACCORD_ENOMEM;
  *w++ = PEER_VERSION;
  be64_put(w, (uint64_t)p->last_seen);
  be64_put(w + 8, (uint64_t)p->last_synced);
  w += 16;
  *w++ = (uint8_t)p->naddrs;
  for (uint32_t i = 0; i < p->naddrs; i++) {
    *w++ = (uint8_t)p->addr_len[i];
    memcpy(w, p->addr[i], p->addr_len[i]);
    w += p->addr_len[i];
  }
  be32_put(w, (uint32_t)p->summary_len);
  if (p->summary_len) memcpy(w + 4, p->summary, p->summary_len);
  peer_key(k, p->ws, p->pk);
  int rc = store_put(t, DB_PEERS, k, K_PEER, v, n);
  mem_free(v);
  return rc;
}

int store_peer_get(store_txn *t, const uint8_t *ws, const uint8_t *pk,
                   store_peer *out) {
  uint8_t k[K_PEER];
  MDB_val v;
  if (!ws || !pk || !out) return ACCORD_EINVAL;
  peer_key(k, ws, pk);
  int rc = store_get(t, DB_PEERS, k, K_PEER, &v);
  return rc ? rc : peer_parse(t->s, k, &v, out);
}

int store_peer_each(store_txn *t, const uint8_t *ws, store_peer_fn fn,
                    void *ctx) {
  store_scan sc;
  int rc = store_scan_open(&sc, t, DB_PEERS, ws, ws ? K_WS : 0, NULL, 0);
  while (!rc && (rc = store_scan_next(&sc)) == 1) {
    store_peer p;
    if (sc.k.mv_size != K_PEER) {
      rc = store_fail(t->s, ACCORD_ECORRUPT,
                      "peers: a key of %zu bytes (not %d)", sc.k.mv_size,
                      K_PEER);
      break;
    }
    rc = peer_parse(t->s, sc.k.mv_data, &sc.v, &p);
    if (!rc) rc = fn(ctx, &p);
  }
  store_scan_close(&sc);
  return rc;
}

int store_peer_del(store_txn *t, const uint8_t *ws, const uint8_t *pk) {
  uint8_t k[K_PEER];
  MDB_val v;
  if (!ws || !pk) return ACCORD_EINVAL;
  peer_key(k, ws, pk);
  int rc = store_get(t, DB_PEERS, k, K_PEER, &v);
  return rc ? rc : store_del(t, DB_PEERS, k, K_PEER);
}
