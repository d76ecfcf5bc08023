/*
 * members_drop.c — removal, whatever the arrival order (members.h
 * members_enforce).
 *
 * Removing member X records, per document, the seq of X's chain the
 * remover held (its cutoff; concurrent removals combine by max). A node
 * that learns of the removal first refuses X's later changes on arrival
 * (members_keycheck). A node that had already stored some of them drops
 * them here, so that both end with the same history: for every document of
 * the workspace whose stored chain (or pending set) of a removed member
 * goes past its cutoff, the document's stored history is read back, the
 * changes past the cutoff are left out, the rest is imported into a fresh
 * document (changes of others that depended on dropped ones cannot apply
 * and stay waiting, as on a node that refused them), and the document's
 * records — changes, heads, seals, pending, snapshot — are rewritten in one
 * write transaction. An open document is then reloaded in place (its handle
 * stays valid). The write checks that the heads it read are still the
 * stored ones (another process may have written meanwhile) and retries.
 *
 * Workload: runs after every import into the membership document; with
 * nobody removed it reads the member list and stops; otherwise it checks
 * each document's heads (one read transaction each) and reads a history
 * only when something must be dropped — once per removal per node, in
 * time proportional to the affected documents. Nothing here runs on the
 * edit path.
 */
#include <string.h>

#include "members.h"
#include "mem.h"
#include "node.h"
#include "sync.h"

typedef struct rec {
  uint8_t actor[ACCORD_ACTOR_BYTES];
  uint32_t seq;
  size_t at, len; /* body in the gather's bytes */
  int pending;
} rec;

typedef struct sealrec {
  uint8_t actor[ACCORD_ACTOR_BYTES];
  uint32_t seq;
  int checkpoint; /* a checkpoint record, not the latest seal (store.h) */
  uint8_t ps[SEAL_WIRE_BYTES];
} sealrec;

typedef struct gather {
  const uint8_t *ws, *id;
  store_heads heads;
  buf bytes, recs, seals;
  const uint8_t *actor; /* store_changes_read's current actor */
} gather;

static int add_rec(gather *g, const uint8_t *actor, uint32_t seq,
                   const uint8_t *body, size_t len, int pending) {
  rec r;
  memcpy(r.actor, actor, ACCORD_ACTOR_BYTES);
  r.seq = seq;
  r.at = g->bytes.len;
  r.len = len;
  r.pending = pending;
  buf_put(&g->bytes, body, len);
  buf_put(&g->recs, &r, sizeof r);
  return g->bytes.err ? g->bytes.err : g->recs.err;
}

static int body_one(void *ctx, uint32_t seq, const uint8_t *body, size_t len) {
  gather *g = ctx;
  return add_rec(g, g->actor, seq, body, len, 0);
}

static int pend_one(void *ctx, const store_pend *p) {
  return add_rec(ctx, p->actor, p->seq, p->body, p->len, 1);
}

static int seal_one(void *ctx, const uint8_t *actor, uint32_t seq,
                    const uint8_t *pk_sig, int checkpoint) {
  gather *g = ctx;
  sealrec s;
  memset(&s, 0, sizeof s);
  memcpy(s.actor, actor, ACCORD_ACTOR_BYTES);
  s.seq = seq;
  s.checkpoint = checkpoint;
  memcpy(s.ps, pk_sig, SEAL_WIRE_BYTES);
  buf_put(&g->seals, &s, sizeof s);
  return g->seals.err;
}

static int gather_txn(store_txn *t, void *ctx) {
  gather *g = ctx;
  g->bytes.len = g->recs.len = g->seals.len = 0;
  int rc = store_heads_get(t, g->ws, g->id, &g->heads);
  for (uint32_t i = 0; i < g->heads.n && !rc; i++) {
    g->actor = g->heads.h[i].actor;
    rc = store_changes_read(t, g->ws, g->id, g->actor, 1, g->heads.h[i].seq,
                            body_one, g);
  }
  if (!rc) rc = store_pending_each(t, g->ws, g->id, pend_one, g);
  if (!rc) rc = store_seals_each(t, g->ws, g->id, seal_one, g);
  return rc;
}

/* 1 if (actor, seq) is cut off by cuts. */
static int is_cut(const mcut *cuts, uint32_t n, const uint8_t *actor,
                  uint32_t seq) {
  for (uint32_t i = 0; i < n; i++)
    if (!memcmp(cuts[i].actor, actor, ACCORD_ACTOR_BYTES))
      return seq > cuts[i].cut;
  return 0;
}

typedef struct rewrite {
  gather *g;
  accord_doc *doc;
  const mcut *cuts;
  uint32_t ncuts;
  store_heads now;
  store_pend *pend;
} rewrite;

static int rewrite_txn(store_txn *t, void *ctx) {
  rewrite *w = ctx;
  gather *g = w->g;
  accord_doc *doc = w->doc;
  int rc = store_heads_get(t, g->ws, g->id, &w->now);
  if (rc) return rc;
  /* the history we read must still be the stored one */
  if (w->now.n != g->heads.n) return ACCORD_ESTALE;
  for (uint32_t i = 0; i < w->now.n; i++) {
    const store_head *h = store_heads_find(&g->heads, w->now.h[i].actor);
    if (!h || h->seq != w->now.h[i].seq) return ACCORD_ESTALE;
  }
  if ((rc = store_doc_history_clear(t, g->ws, g->id))) return rc;
  for (uint32_t a = 0; a < doc->nactors && !rc; a++) {
    const chain *ch = &doc->chains[a];
    if (!ch->n) continue;
    store_run run = {ch->bytes.p, ch->off, 1, ch->n};
    store_head h;
    hashchain_pos empty, pos;
    memset(&empty, 0, sizeof empty); /* chains from seq 0 */
    memcpy(h.actor, doc->actor[a], ACCORD_ACTOR_BYTES);
    rc = store_changes_put(t, g->ws, g->id, doc->actor[a], &run, &empty, &pos);
    if (!rc) {
      store_head_set(&h, &pos);
      rc = store_head_put(t, g->ws, g->id, &h);
    }
  }
  const sealrec *s = (const sealrec *)g->seals.p;
  size_t ns = g->seals.len / sizeof *s;
  for (size_t i = 0; i < ns && !rc; i++) {
    uint32_t a;
    if (!doc_actor_find(doc, s[i].actor, &a) || s[i].seq > doc->chains[a].n ||
        is_cut(w->cuts, w->ncuts, s[i].actor, s[i].seq))
      continue;
    /* checkpoints past the cutoff go with the changes they cover */
    rc = s[i].checkpoint
             ? store_seal_cp_put(t, g->ws, g->id, s[i].actor, s[i].seq, s[i].ps)
             : store_seal_put(t, g->ws, g->id, s[i].actor, s[i].seq, s[i].ps);
  }
  for (uint32_t i = 0; i < doc->npending && !rc; i++) {
    w->pend[i].actor = doc->actor[doc->pending[i].actor];
    w->pend[i].seq = doc->pending[i].seq;
    w->pend[i].body = doc->pending[i].body;
    w->pend[i].len = doc->pending[i].len;
  }
  if (!rc) rc = store_pending_replace(t, g->ws, g->id, w->pend, doc->npending);
  return rc;
}

/* Imports the kept records into doc: chains together, then the waiting
 * ones one by one (dropping any the engine refuses, as loading does). */
static int rebuild(accord_doc *doc, gather *g, const mcut *cuts,
                   uint32_t ncuts) {
  const rec *r = (const rec *)g->recs.p;
  size_t n = g->recs.len / sizeof *r;
  pend *p = n ? mem_alloc(n * sizeof *p) : NULL;
  if (n && !p) return ACCORD_ENOMEM;
  uint32_t k = 0;
  int rc = 0;
  for (size_t i = 0; i < n && !rc; i++) {
    if (r[i].pending || is_cut(cuts, ncuts, r[i].actor, r[i].seq)) continue;
    memset(&p[k], 0, sizeof p[k]);
    rc = doc_actor_index(doc, r[i].actor, &p[k].actor);
    p[k].seq = r[i].seq;
    p[k].body = g->bytes.p + r[i].at;
    p[k].len = r[i].len;
    k++;
  }
  if (!rc && k) rc = sync_import(doc, NULL, 0, p, k, NULL);
  for (size_t i = 0; i < n && !rc; i++) {
    if (!r[i].pending || is_cut(cuts, ncuts, r[i].actor, r[i].seq)) continue;
    pend one;
    memset(&one, 0, sizeof one);
    if ((rc = doc_actor_index(doc, r[i].actor, &one.actor))) break;
    one.seq = r[i].seq;
    one.body = g->bytes.p + r[i].at;
    one.len = r[i].len;
    rc = sync_import(doc, NULL, 0, &one, 1, NULL);
    if (rc != ACCORD_ENOMEM) rc = 0;
  }
  mem_free(p);
  return rc;
}

/* Puts a freshly loaded copy of an open document in place of its state
 * (the caller's handle stays the same). */
static int reload_open(accord_node *node, ndoc *nd) {
  ndoc *t;
  if (nd->doc->txn_open) return 0; /* reloads at its next refresh */
  int rc = node_load_doc(node, nd->ws, nd->doc->id, &t);
  if (rc) return rc;
  accord_doc tmp = *nd->doc;
  *nd->doc = *t->doc;
  *t->doc = tmp;
  nd->doc->txn.doc = nd->doc;
  t->doc->txn.doc = t->doc;
#define SWAP(T, f) do { T x_ = nd->f; nd->f = t->f; t->f = x_; } while (0)
  SWAP(uint32_t *, known);
  SWAP(uint32_t, nknown);
  SWAP(uint64_t, seen);
  SWAP(hashchain_pos *, kpos);
#undef SWAP
  nd->pending_dirty = 0;
  nd->ok_gen = 0; /* members.c's cached check no longer applies */
  node_entry_free(t);
  return 0;
}

/* The cheap test before reading a history: does the store hold, for a
 * removed member, a head or a waiting change past its cutoff? */
typedef struct needctx {
  const uint8_t *ws, *id;
  const mcut *cuts;
  uint32_t ncuts;
  int need;
} needctx;

static int need_pend(void *ctx, const store_pend *p) {
  needctx *c = ctx;
  if (is_cut(c->cuts, c->ncuts, p->actor, p->seq)) c->need = 1;
  return 0;
}

static int need_txn(store_txn *t, void *ctx) {
  needctx *c = ctx;
  c->need = 0;
  for (uint32_t i = 0; i < c->ncuts && !c->need; i++) {
    store_head h;
    int rc = store_head_get(t, c->ws, c->id, c->cuts[i].actor, &h);
    if (rc == ACCORD_ENOTFOUND) continue;
    if (rc) return rc;
    if (h.seq > c->cuts[i].cut) c->need = 1;
  }
  return c->need ? 0 : store_pending_each(t, c->ws, c->id, need_pend, c);
}

/* Drops what cuts cut off from one document. */
static int drop_doc(accord_node *node, const uint8_t *ws, const uint8_t *id,
                    const mcut *cuts, uint32_t ncuts) {
  gather g;
  memset(&g, 0, sizeof g);
  g.ws = ws;
  g.id = id;
  needctx nc = {ws, id, cuts, ncuts, 0};
  int rc = store_read(node->st, need_txn, &nc);
  if (rc || !nc.need) return rc;
  for (int tries = 0; tries < 8; tries++) {
    accord_doc *doc = NULL;
    rewrite w;
    memset(&w, 0, sizeof w);
    if ((rc = store_read(node->st, gather_txn, &g))) break;
    const rec *r = (const rec *)g.recs.p;
    size_t n = g.recs.len / sizeof *r, cut = 0;
    for (size_t i = 0; i < n; i++)
      cut += is_cut(cuts, ncuts, r[i].actor, r[i].seq);
    if (!cut) break;
    rc = accord_doc_new(id, node->actor, &doc);
    if (!rc) rc = node_doc_signer(node, doc, ws);
    if (!rc) rc = rebuild(doc, &g, cuts, ncuts);
    if (!rc) rc = doc_index_chains(doc);
    if (!rc && doc->npending &&
        !(w.pend = mem_alloc(doc->npending * sizeof *w.pend)))
      rc = ACCORD_ENOMEM;
    w.g = &g;
    w.doc = doc;
    w.cuts = cuts;
    w.ncuts = ncuts;
    if (!rc) rc = store_write(node->st, rewrite_txn, &w, NULL);
    mem_free(w.pend);
    store_heads_free(&w.now);
    accord_doc_free(doc);
    if (rc == ACCORD_ESTALE) continue;
    if (!rc) {
      ndoc *nd = node_entry_by_id(node, ws, id);
      if (nd) rc = reload_open(node, nd);
    }
    break;
  }
  store_heads_free(&g.heads);
  buf_free(&g.bytes);
  buf_free(&g.recs);
  buf_free(&g.seals);
  return rc;
}

typedef struct doclist {
  buf ids;
} doclist;

static int list_one(void *ctx, const store_doc *d) {
  doclist *l = ctx;
  buf_put(&l->ids, d->id, ACCORD_DOC_ID_BYTES);
  return l->ids.err;
}

typedef struct listctx {
  const uint8_t *ws;
  doclist *l;
} listctx;

static int list_txn(store_txn *t, void *ctx) {
  listctx *c = ctx;
  return store_doc_each(t, c->ws, list_one, c->l);
}

int members_enforce(accord_node *node, const uint8_t *ws) {
  doclist l;
  memset(&l, 0, sizeof l);
  listctx c = {ws, &l};
  /* nobody removed (the usual case): nothing to look at */
  mcut *any;
  uint32_t nany;
  uint8_t sys[ACCORD_DOC_ID_BYTES];
  members_sys_id(ws, sys);
  int rc = members_cutoffs(node, ws, sys, &any, &nany);
  mem_free(any);
  if (rc || !nany) return rc;
  rc = store_read(node->st, list_txn, &c);
  for (size_t off = 0; !rc && off < l.ids.len; off += ACCORD_DOC_ID_BYTES) {
    mcut *cuts;
    uint32_t n;
    const uint8_t *id = l.ids.p + off;
    if ((rc = members_cutoffs(node, ws, id, &cuts, &n)) || !n) continue;
    rc = drop_doc(node, ws, id, cuts, n);
    mem_free(cuts);
  }
  buf_free(&l.ids);
  return rc;
}
