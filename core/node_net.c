/*
 * node_net.c — the node calls the network layer needs (node_net.h):
 * summaries from stored heads, documents announced by peers, bounded
 * batches.
 *
 * Batches are written in the format of sync.c (version 3: [3, doc,
 * [actor...], [[ref, first, seal|nil, bodies...]...]]), cut at change
 * boundaries so that no batch passes what the receiver gathers. A chain
 * sent whole carries its seal as sync.c would. A cut chain carries a seal
 * too, so that a verifying receiver takes it: our own chain a seal signed
 * for the cut; another author's chain is cut only where we hold a seal of
 * its author (its checkpoints, seal.c), the furthest that fits the
 * budget, else the first one past it while the batch stays within the
 * receiver's limit. Only when no kept seal fits that limit does a chain
 * go cut and unsealed, as before checkpoints (docs/sync.md).
 *
 * Workload: a summary per session and per anti-entropy round (one read
 * transaction, a head scan per document); a batch per push or per slice
 * of an initial sync.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "doc.h"
#include "mem.h"
#include "mp.h"
#include "node.h"
#include "node_net.h"
#include "sync.h"


/* ---- summary ------------------------------------------------------------- */

typedef struct sumctx {
  node_net_doc *d;
  size_t n, cap;
  store_txn *t;
  const uint8_t *ws;
} sumctx;

static int sum_one(void *ctx, const store_doc *d) {
  sumctx *c = ctx;
  if (c->n == c->cap) {
    size_t cap = c->cap ? 2 * c->cap : 16;
    node_net_doc *p = mem_realloc(c->d, cap * sizeof *p);
    if (!p) return ACCORD_ENOMEM;
    c->d = p;
    c->cap = cap;
  }
  node_net_doc *e = &c->d[c->n];
  memset(e, 0, sizeof *e);
  memcpy(e->id, d->id, ACCORD_DOC_ID_BYTES);
  size_t tl = d->type_len > STORE_TYPE_MAX ? STORE_TYPE_MAX : d->type_len;
  memcpy(e->type, d->type, tl);
  memcpy(e->creator, d->creator, ACCORD_ACTOR_BYTES);
  e->created = d->created;
  c->n++; /* counted now so that its heads are freed whatever happens */
  int rc = store_heads_get(c->t, d->ws, d->id, &e->heads);
  if (rc) return rc;
  store_heads *hs = &e->heads;
  if (hs->n) {
    hash_state h;
    uint8_t full[32];
    hash_init(&h);
    for (uint32_t i = 0; i < hs->n; i++) {
      uint8_t seq[4] = {(uint8_t)(hs->h[i].seq >> 24),
                        (uint8_t)(hs->h[i].seq >> 16),
                        (uint8_t)(hs->h[i].seq >> 8),
                        (uint8_t)hs->h[i].seq};
      hash_update(&h, hs->h[i].actor, ACCORD_ACTOR_BYTES);
      hash_update(&h, seq, 4);
      hash_update(&h, hs->h[i].hash, ACCORD_HASH_BYTES);
    }
    hash_final(&h, full);
    memcpy(e->digest, full, NODE_NET_DIGEST_BYTES);
  }
  return 0;
}

static int sum_txn(store_txn *t, void *ctx) {
  sumctx *c = ctx;
  c->t = t;
  node_net_summary_free(c->d, c->n); /* a rerun starts over */
  c->d = NULL;
  c->n = c->cap = 0;
  store_ws w;
  int rc = store_ws_get(t, c->ws, &w);
  return rc ? rc : store_doc_each(t, c->ws, sum_one, c);
}

static int sys_first(const void *a, const void *b) {
  const node_net_doc *x = a, *y = b;
  int sx = !strcmp(x->type, "system"), sy = !strcmp(y->type, "system");
  if (sx != sy) return sy - sx;
  return memcmp(x->id, y->id, ACCORD_DOC_ID_BYTES);
}

int node_net_summary(accord_node *node, const uint8_t *ws, node_net_doc **out,
                     size_t *n) {
  if (!node || !ws || !out || !n) return ACCORD_EINVAL;
  *out = NULL;
  *n = 0;
  sumctx c = {0};
  c.ws = ws;
  int rc = store_read(node->st, sum_txn, &c);
  if (rc) {
    node_net_summary_free(c.d, c.n);
    return rc;
  }
  if (c.n) qsort(c.d, c.n, sizeof *c.d, sys_first);
  *out = c.d;
  *n = c.n;
  return 0;
}

void node_net_summary_free(node_net_doc *d, size_t n) {
  if (!d) return;
  for (size_t i = 0; i < n; i++) store_heads_free(&d[i].heads);
  mem_free(d);
}

/* ---- documents announced by peers ---------------------------------------- */

static int type_ok(const char *t) {
  size_t n = strlen(t);
  if (n == 0 || n > STORE_TYPE_MAX) return 0;
  for (size_t i = 0; i < n; i++) {
    char ch = t[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
          (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
      return 0;
  }
  return 1;
}

static int ensure_txn(store_txn *t, void *ctx) {
  const store_doc *d = ctx;
  store_ws w;
  store_doc have;
  int rc = store_ws_get(t, d->ws, &w);
  if (rc) return rc;
  rc = store_doc_get(t, d->ws, d->id, &have);
  if (rc != ACCORD_ENOTFOUND) return rc;
  return store_doc_put(t, d);
}

int node_net_doc_ensure(accord_node *node, const uint8_t *ws,
                        const node_net_doc *d) {
  if (!node || !ws || !d || !type_ok(d->type)) return ACCORD_EINVAL;
  store_doc sd;
  memcpy(sd.ws, ws, ACCORD_WS_ID_BYTES);
  memcpy(sd.id, d->id, ACCORD_DOC_ID_BYTES);
  memcpy(sd.creator, d->creator, ACCORD_ACTOR_BYTES);
  sd.created = d->created;
  sd.type = d->type;
  sd.type_len = strlen(d->type);
  store_clear_err(node->st);
  return store_write(node->st, ensure_txn, &sd, NULL);
}

/* ---- batches ------------------------------------------------------------- */

static uint32_t known_of(const store_heads *k, const uint8_t *actor) {
  store_head *h = store_heads_find(k, actor);
  return h ? h->seq : 0;
}

static int known_set(store_heads *k, const uint8_t *actor, uint32_t seq) {
  store_head *h = store_heads_find(k, actor);
  if (h) {
    if (seq > h->seq) h->seq = seq;
    return 0;
  }
  store_head n;
  memset(&n, 0, sizeof n);
  memcpy(n.actor, actor, ACCORD_ACTOR_BYTES);
  n.seq = seq;
  return store_heads_push(k, &n);
}

uint64_t node_net_missing(accord_doc *doc, const store_heads *known) {
  uint64_t n = 0;
  for (uint32_t a = 0; a < doc->nactors; a++) {
    uint32_t to = sync_send_to(doc, a), from = known_of(known, doc->actor[a]);
    if (to > from) n += to - from;
  }
  return n;
}

int node_net_version(const accord_doc *doc, store_heads *known) {
  known->n = 0;
  for (uint32_t a = 0; a < doc->nactors; a++) {
    if (!doc->chains[a].n) continue;
    int rc = known_set(known, doc->actor[a], doc->chains[a].n);
    if (rc) return rc;
  }
  return 0;
}

/* Where a chain cut at end (from < end < to, bodies used) may end sealed:
 * our own chain gets a seal made for the cut; another author's chain of a
 * verifying document ends at a kept seal (its checkpoints, then its latest
 * seal at to): the furthest at or before end, else the first after end
 * when the batch (total bytes so far) stays within limit. *seal gets the
 * seal to send (NULL: none), *end and *used move with it; *defer says
 * the chain should wait for a batch of its own (the first seal fits only
 * in a batch without the chains before it). */
static int cut_seal(accord_doc *doc, uint32_t a, chain_rd *rd, uint32_t from,
                    uint32_t to, size_t total, size_t limit, uint32_t *end,
                    size_t *used, chain_seal *own, const chain_seal **seal,
                    int *defer) {
  chain *c = &doc->chains[a];
  *seal = NULL;
  *defer = 0;
  if (a == 0) {
    if (!doc->has_signer) return 0; /* sent unsealed, as before */
    int rc = seal_at(doc, rd, *end, own);
    if (!rc) *seal = own;
    return rc;
  }
  if (!doc->verify || c->seal.seq != to) return 0;
  const chain_seal *best = NULL, *next = NULL;
  for (uint32_t i = 0; i < c->ncps && !next; i++) {
    const chain_seal *s = &c->cps[i];
    if (s->seq <= from) continue;
    if (s->seq <= *end) best = s;
    else next = s;
  }
  if (!next) next = &c->seal; /* its seq is to, past end */
  uint64_t bytes;
  if (best) {
    int rc = chain_bytes(c, rd, from, best->seq, &bytes);
    if (rc) return rc;
    *end = best->seq;
    *used = (size_t)bytes;
    *seal = best;
    return 0;
  }
  int rc = chain_bytes(c, rd, from, next->seq, &bytes);
  if (rc) return rc;
  if (bytes <= limit && total + bytes <= limit) {
    *end = next->seq;
    *used = (size_t)bytes;
    *seal = next;
  } else if (bytes <= limit && total > 0) {
    *defer = 1;
  }
  /* else: no kept seal within the receiver's limit (an author's sealed
   * run larger than it, or a relay that kept no checkpoint: a store from
   * before checkpoints). The chain goes cut and unsealed, as it always
   * did; a verifying receiver refuses it (ESEAL, docs/sync.md). */
  return 0;
}

int node_net_batch(accord_doc *doc, store_heads *known, size_t max_bytes,
                   size_t limit, buf *b, uint32_t *nchanges, int *more) {
  *nchanges = 0;
  *more = 0;
  if (doc->poisoned) return doc->poisoned;
  if (limit < max_bytes) limit = max_bytes;
  int rc = seal_own(doc);
  if (rc) return rc;
  /* which actors and how far: in actor index order (any order is a valid
   * batch; the receiver applies in causal order) */
  uint32_t *sel = mem_alloc((doc->nactors + 1) * 2 * sizeof *sel);
  const chain_seal **seals = mem_alloc((doc->nactors + 1) * sizeof *seals);
  if (!sel || !seals) {
    mem_free(sel);
    mem_free(seals);
    return ACCORD_ENOMEM;
  }
  uint32_t k = 0;
  size_t budget = max_bytes, total = 0;
  chain_seal own; /* the seal of our own chain cut (one signature per cut) */
  chain_rd rd;
  memset(&rd, 0, sizeof rd);
  for (uint32_t a = 0; a < doc->nactors; a++) {
    uint32_t from = known_of(known, doc->actor[a]), to = sync_send_to(doc, a);
    if (to <= from) continue;
    if (budget == 0) {
      *more = 1;
      continue;
    }
    chain *c = &doc->chains[a];
    /* the furthest seq whose bodies fit the budget (at least one), span by
     * span: old changes are read from their frames, one at a time */
    uint32_t end = from;
    size_t used = 0;
    while (end < to) {
      const uint8_t *p;
      const uint32_t *off;
      uint32_t upto;
      if ((rc = chain_span(c, &rd, end, to, &p, &off, &upto))) break;
      size_t span = off[upto - end] - off[0];
      if (used + span <= budget) {
        used += span;
        end = upto;
        continue;
      }
      uint32_t lo = end, hi = upto; /* the last that fits, or end + 1 */
      while (lo < hi) {
        uint32_t mid = lo + (hi - lo + 1) / 2;
        if (used + (off[mid - end] - off[0]) <= budget) lo = mid;
        else hi = mid - 1;
      }
      if (lo == from) lo = from + 1;
      used += off[lo - end] - off[0];
      end = lo;
      break;
    }
    if (rc) break;
    const chain_seal *seal = NULL;
    if (end < to) {
      /* cut: end it where a seal can go with it (else unsealed) */
      int defer;
      rc = cut_seal(doc, a, &rd, from, to, total, limit, &end, &used, &own,
                    &seal, &defer);
      if (rc) break;
      if (defer) {
        *more = 1;
        continue;
      }
      if (end < to) *more = 1;
    }
    total += used;
    budget = used >= budget ? 0 : budget - used;
    sel[2 * k] = a;
    sel[2 * k + 1] = end;
    seals[k] = seal;
    k++;
  }
  chain_rd_free(&rd);
  if (rc) {
    mem_free(sel);
    mem_free(seals);
    return rc;
  }
  mp_put_array(b, 4);
  mp_put_uint(b, BATCH_VERSION);
  mp_put_bin(b, doc->id, ACCORD_DOC_ID_BYTES);
  mp_put_array(b, k);
  for (uint32_t i = 0; i < k; i++)
    mp_put_bin(b, doc->actor[sel[2 * i]], ACCORD_ACTOR_BYTES);
  mp_put_array(b, k);
  for (uint32_t i = 0; i < k && !rc; i++) {
    uint32_t a = sel[2 * i], to = sel[2 * i + 1];
    uint32_t from = known_of(known, doc->actor[a]);
    sync_put_chain(b, doc, a, i, from, to, seals[i]);
    *nchanges += to - from;
    rc = known_set(known, doc->actor[a], to);
  }
  mem_free(sel);
  mem_free(seals);
  return rc ? rc : b->err;
}

int node_net_batch_chains(const uint8_t *batch, size_t len,
                          node_net_chain_fn fn, void *ctx) {
  mp_reader r;
  uint32_t n, na, nc;
  uint64_t version;
  const uint8_t *id;
  size_t idlen;
  mp_reader_init(&r, batch, len);
  if (mp_get_array(&r, &n) || n != 4 || mp_get_uint(&r, &version) ||
      version != BATCH_VERSION || mp_get_bin(&r, &id, &idlen) ||
      idlen != ACCORD_DOC_ID_BYTES || mp_get_array(&r, &na) ||
      na > ACCORD_MAX_ACTORS || na > mp_left(&r))
    return ACCORD_EMALFORMED;
  const uint8_t **actors = mem_alloc((na + 1) * sizeof *actors);
  if (!actors) return ACCORD_ENOMEM;
  int rc = 0;
  for (uint32_t i = 0; i < na && !rc; i++)
    if (mp_get_bin(&r, &actors[i], &idlen) || idlen != ACCORD_ACTOR_BYTES)
      rc = ACCORD_EMALFORMED;
  if (!rc && mp_get_array(&r, &nc)) rc = ACCORD_EMALFORMED;
  for (uint32_t i = 0; i < nc && !rc; i++) {
    uint32_t fields;
    uint64_t ref, first;
    if (mp_get_array(&r, &fields) || fields < 3 || (fields - 3) % 6 ||
        mp_get_uint(&r, &ref) || ref >= na ||
        mp_get_uint_max(&r, UINT32_MAX - 1, &first) || first == 0 ||
        first + (fields - 3) / 6 > UINT32_MAX || mp_skip(&r)) {
      rc = ACCORD_EMALFORMED;
      break;
    }
    for (uint32_t f = 3; f < fields && !rc; f++)
      if (mp_skip(&r)) rc = ACCORD_EMALFORMED;
    if (!rc && fields > 3)
      rc = fn(ctx, actors[ref], (uint32_t)first, (fields - 3) / 6);
  }
  mem_free(actors);
  if (!rc && r.p != r.end) rc = ACCORD_EMALFORMED;
  return rc;
}
