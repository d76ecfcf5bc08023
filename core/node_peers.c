/*
 * node_peers.c — the peers a node remembers (node_peers.h): the rules for
 * updating a peer record (address list most recent first, deduplicated,
 * bounded; times that only move forward; writes skipped when only the
 * time moved a little), each update one write transaction of the store.
 *
 * Invariant: every record this file writes passes store_peer_put's checks
 * (it refuses the rest), so a record failing to decode was damaged
 * elsewhere; updates then stop with ECORRUPT rather than guess.
 *
 * Also the public listing, accord_node_peers (accord.h): the same records
 * copied into one accord_free-able buffer, summaries left out (they are
 * the sync layer's business).
 */
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "node.h"
#include "node_peers.h"

typedef struct upd {
  accord_node *node;
  const uint8_t *ws, *pk;
  int64_t now;
  const char *addr; /* seen: NULL or a valid address */
  int synced;
  const uint8_t *summary;
  size_t summary_len;
} upd;

static int upd_txn(store_txn *t, void *ctx) {
  upd *u = ctx;
  store_ws ws;
  int rc = store_ws_get(t, u->ws, &ws);
  if (rc) return rc;
  store_peer old, p;
  int fresh = 0;
  rc = store_peer_get(t, u->ws, u->pk, &old);
  if (rc == ACCORD_ENOTFOUND) {
    memset(&old, 0, sizeof old);
    fresh = 1;
  } else if (rc) {
    return rc;
  }
  p = old;
  memcpy(p.ws, u->ws, ACCORD_WS_ID_BYTES);
  memcpy(p.pk, u->pk, 32);
  if (u->now > p.last_seen) p.last_seen = u->now;
  if (u->addr) {
    size_t len = strlen(u->addr);
    p.naddrs = 1;
    p.addr[0] = u->addr;
    p.addr_len[0] = len;
    for (uint32_t i = 0; i < old.naddrs && p.naddrs < STORE_PEER_ADDRS; i++) {
      if (old.addr_len[i] == len && !memcmp(old.addr[i], u->addr, len))
        continue;
      p.addr[p.naddrs] = old.addr[i];
      p.addr_len[p.naddrs++] = old.addr_len[i];
    }
  }
  if (u->synced) {
    p.last_synced = u->now > old.last_synced ? u->now : old.last_synced;
    p.summary = u->summary_len ? u->summary : NULL;
    p.summary_len = u->summary_len;
  } else if (!fresh) {
    /* only a sighting: worth a durable write if it tells something new */
    int addr_known = !u->addr || (old.naddrs > 0 &&
                                  old.addr_len[0] == p.addr_len[0] &&
                                  !memcmp(old.addr[0], u->addr,
                                          p.addr_len[0]));
    if (addr_known && p.last_seen - old.last_seen < NODE_PEER_SEEN_MS)
      return 0;
  }
  return store_peer_put(t, &p);
}

static int check_args(accord_node *node, const uint8_t *ws,
                      const uint8_t *pk, int64_t now) {
  if (!node || !ws || !pk || now < 0) return ACCORD_EINVAL;
  if (!memcmp(pk, node->pk, SIGN_PUBLIC_BYTES)) return ACCORD_EINVAL;
  return 0;
}

int node_peer_seen(accord_node *node, const uint8_t *ws, const uint8_t *pk,
                   const char *addr, int64_t now) {
  int rc = check_args(node, ws, pk, now);
  if (rc) return rc;
  if (addr && !store_peer_addr_ok(addr, strlen(addr))) return ACCORD_EINVAL;
  upd u = {node, ws, pk, now, addr, 0, NULL, 0};
  return store_write(node->st, upd_txn, &u, NULL);
}

int node_peer_synced(accord_node *node, const uint8_t *ws, const uint8_t *pk,
                     int64_t now, const uint8_t *summary, size_t len) {
  int rc = check_args(node, ws, pk, now);
  if (rc) return rc;
  if (len && !summary) return ACCORD_EINVAL;
  if (len > STORE_PEER_SUMMARY_MAX) return ACCORD_ETOOBIG;
  upd u = {node, ws, pk, now, NULL, 1, summary, len};
  return store_write(node->st, upd_txn, &u, NULL);
}

/* ---- reading ------------------------------------------------------------- */

void node_peer_clear(node_peer *p) {
  if (!p) return;
  mem_free(p->summary);
  p->summary = NULL;
  p->summary_len = 0;
}

void node_peer_list_free(node_peer *list, size_t n) {
  if (!list) return;
  for (size_t i = 0; i < n; i++) node_peer_clear(&list[i]);
  mem_free(list);
}

/* Copies a borrowed store record into an owned node_peer. */
static int copy_out(const store_peer *s, node_peer *out) {
  memset(out, 0, sizeof *out);
  memcpy(out->pk, s->pk, 32);
  out->naddrs = s->naddrs;
  for (uint32_t i = 0; i < s->naddrs; i++) {
    memcpy(out->addr[i], s->addr[i], s->addr_len[i]);
    out->addr[i][s->addr_len[i]] = 0;
  }
  out->last_seen = s->last_seen;
  out->last_synced = s->last_synced;
  if (s->summary_len) {
    out->summary = mem_alloc(s->summary_len);
    if (!out->summary) return ACCORD_ENOMEM;
    memcpy(out->summary, s->summary, s->summary_len);
    out->summary_len = s->summary_len;
  }
  return 0;
}

typedef struct getctx {
  const uint8_t *ws, *pk;
  node_peer *out;
} getctx;

static int get_txn(store_txn *t, void *ctx) {
  getctx *g = ctx;
  store_peer p;
  int rc = store_peer_get(t, g->ws, g->pk, &p);
  if (rc) return rc;
  rc = copy_out(&p, g->out);
  if (rc) node_peer_clear(g->out);
  return rc;
}

int node_peer_get(accord_node *node, const uint8_t *ws, const uint8_t *pk,
                  node_peer *out) {
  if (!node || !ws || !pk || !out) return ACCORD_EINVAL;
  memset(out, 0, sizeof *out);
  getctx g = {ws, pk, out};
  return store_read(node->st, get_txn, &g);
}

typedef struct listctx {
  const uint8_t *ws;
  node_peer *v;
  size_t n, cap;
} listctx;

static int list_one(void *ctx, const store_peer *p) {
  listctx *l = ctx;
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 8;
    node_peer *v = mem_realloc(l->v, cap * sizeof *v);
    if (!v) return ACCORD_ENOMEM;
    l->v = v;
    l->cap = cap;
  }
  int rc = copy_out(p, &l->v[l->n]);
  if (rc) return rc;
  l->n++;
  return 0;
}

static int list_txn(store_txn *t, void *ctx) {
  listctx *l = ctx;
  return store_peer_each(t, l->ws, list_one, l);
}

/* Most recently seen first; ties by key (stable for equal times). */
static int by_seen(const void *a, const void *b) {
  const node_peer *x = a, *y = b;
  if (x->last_seen != y->last_seen) return x->last_seen > y->last_seen ? -1 : 1;
  return memcmp(x->pk, y->pk, 32);
}

int node_peer_list(accord_node *node, const uint8_t *ws, node_peer **out,
                   size_t *n) {
  if (out) *out = NULL;
  if (n) *n = 0;
  if (!node || !ws || !out || !n) return ACCORD_EINVAL;
  listctx l = {ws, NULL, 0, 0};
  int rc = store_read(node->st, list_txn, &l);
  if (rc) {
    node_peer_list_free(l.v, l.n);
    return rc;
  }
  if (l.n) qsort(l.v, l.n, sizeof *l.v, by_seen);
  *out = l.v;
  *n = l.n;
  return 0;
}

static int del_txn(store_txn *t, void *ctx) {
  const uint8_t *const *k = ctx;
  return store_peer_del(t, k[0], k[1]);
}

int node_peer_forget(accord_node *node, const uint8_t *ws, const uint8_t *pk) {
  if (!node || !ws || !pk) return ACCORD_EINVAL;
  const uint8_t *k[2] = {ws, pk};
  return store_write(node->st, del_txn, (void *)k, NULL);
}

/* ---- public listing (accord_node_peers) ------------------------------------ */

/* One buffer, as the other public listings: the entries, then each entry's
 * address pointer array, then the address strings. Its size is bounded by
 * STORE_PEER_ADDRS addresses of STORE_PEER_ADDR_MAX bytes per peer. */
int accord_node_peers(accord_node *node, const uint8_t *ws,
                      accord_peer_info **out, size_t *n) {
  if (out) *out = NULL;
  if (n) *n = 0;
  if (!node || !ws || !out || !n) return ACCORD_EINVAL;
  node_peer *v = NULL;
  size_t count = 0;
  int rc = node_peer_list(node, ws, &v, &count);
  if (rc || !count) {
    node_peer_list_free(v, count);
    return rc;
  }
  size_t ptrs = 0, text = 0;
  for (size_t i = 0; i < count; i++) {
    ptrs += v[i].naddrs;
    for (uint32_t k = 0; k < v[i].naddrs; k++) text += strlen(v[i].addr[k]) + 1;
  }
  size_t head = count * sizeof(accord_peer_info);
  uint8_t *block = mem_alloc(head + ptrs * sizeof(char *) + text);
  if (!block) {
    node_peer_list_free(v, count);
    return ACCORD_ENOMEM;
  }
  accord_peer_info *r = (accord_peer_info *)block;
  const char **pp = (const char **)(block + head);
  char *tp = (char *)(pp + ptrs);
  for (size_t i = 0; i < count; i++) {
    memcpy(r[i].public_key, v[i].pk, ACCORD_PUBKEY_BYTES);
    r[i].naddrs = v[i].naddrs;
    r[i].addrs = v[i].naddrs ? pp : NULL;
    r[i].last_seen = v[i].last_seen;
    r[i].last_synced = v[i].last_synced;
    for (uint32_t k = 0; k < v[i].naddrs; k++) {
      size_t len = strlen(v[i].addr[k]) + 1;
      memcpy(tp, v[i].addr[k], len);
      *pp++ = tp;
      tp += len;
    }
  }
  node_peer_list_free(v, count);
  *out = r;
  *n = count;
  return 0;
}
