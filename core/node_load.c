/*
 * node_load.c — reading a document from the store: loading it, and
 * refreshing an open one with what other processes stored.
 *
 *   load     snapshot (if any and sound) + the changes stored after it
 *            + the stored pending set, imported with sync_import. The
 *            changes after the snapshot are hashed on the way in, resuming
 *            from the chain position the snapshot records (its segment
 *            root, then the stored bodies after that boundary, hashed
 *            only), and must end at the heads (hash and root); any
 *            disagreement throws the snapshot away and loads from
 *            the changes alone; a disagreement then is ECORRUPT, and
 *            store_changes_verify names the damaged change.
 *   refresh  when the store counter moved since we last looked (another
 *            process wrote), the same for the changes past `known`, hashed
 *            from the chain position at `known` (likewise from its root);
 *            changes we hold already must be byte-identical (else EFORK).
 *
 * Workload: a load reads the snapshot (decompressed) and a short tail; a
 * refresh is free unless another process wrote (one mdb_env_info read),
 * then a read transaction over the document's heads and new records.
 */
#include <stdio.h>
#include <string.h>

#include "mem.h"
#include "node.h"
#include "sync.h"

/* ---- gathering stored changes -------------------------------------------- */

/* Changes read from the store, copied, for sync_import. */
typedef struct loose {
  buf bytes;
  pend *p;
  size_t *at; /* offset of each body in bytes (bytes may move) */
  uint32_t n, cap;
} loose;

static int loose_add(loose *l, uint32_t actor, uint32_t seq,
                     const uint8_t *body, size_t len) {
  if (l->n == l->cap) {
    uint32_t cap = l->cap ? 2 * l->cap : 64;
    pend *p = mem_realloc(l->p, cap * sizeof *p);
    if (!p) return ACCORD_ENOMEM;
    l->p = p;
    size_t *at = mem_realloc(l->at, cap * sizeof *at);
    if (!at) return ACCORD_ENOMEM;
    l->at = at;
    l->cap = cap;
  }
  l->p[l->n].actor = actor;
  l->p[l->n].seq = seq;
  l->p[l->n].len = len;
  l->at[l->n] = l->bytes.len;
  buf_put(&l->bytes, body, len);
  if (l->bytes.err) return l->bytes.err;
  l->n++;
  return 0;
}

static pend *loose_fix(loose *l) {
  for (uint32_t i = 0; i < l->n; i++) l->p[i].body = l->bytes.p + l->at[i];
  return l->p;
}

static void loose_free(loose *l) {
  buf_free(&l->bytes);
  mem_free(l->p);
  mem_free(l->at);
  memset(l, 0, sizeof *l);
}

/* Reading one actor's stored changes after what the document holds.
 * Hashing resumes at a position the document and the store agree on
 * (`from`: a snapshot's vector entry, or `known`): from the root of its
 * segment, so the stored bodies after that boundary up to `from` (at most
 * HASHCHAIN_SEG - 1) are read and only hashed, and the hash at `from`
 * must be the position's (else `mismatch`). */
typedef struct tail {
  accord_doc *doc;
  loose *l;
  uint32_t actor;   /* doc index */
  uint32_t from;    /* the resume point: bodies up to here are only hashed */
  uint32_t have;    /* the document's chain length: compare up to here */
  int mismatch;     /* the chain did not hash to `at` at `from` */
  uint8_t at[ACCORD_HASH_BYTES];
  hashchain h;
} tail;

/* Starts t at pos; returns the first seq to read (pos->seq + 1 when pos is
 * a segment boundary). An implausible pos sets mismatch. */
static uint32_t tail_start(tail *t, const hashchain_pos *pos) {
  uint32_t b = pos->seq - pos->seq % HASHCHAIN_SEG;
  t->from = pos->seq;
  t->mismatch = !store_pos_plausible(pos->seq, pos->hash, pos->root);
  memcpy(t->at, pos->hash, ACCORD_HASH_BYTES);
  hashchain_start(&t->h, t->doc->id, t->doc->actor[t->actor], b,
                  b ? pos->root : NULL);
  return b + 1;
}

/* 1 if t's chain ends at h (hash and root). */
static int tail_ends_at(const tail *t, const store_head *h) {
  uint8_t hash[ACCORD_HASH_BYTES];
  hashchain_hash(&t->h, hash);
  return t->h.seq == h->seq && !memcmp(hash, h->hash, ACCORD_HASH_BYTES) &&
         !memcmp(t->h.root, h->root, ACCORD_HASH_BYTES);
}

static int tail_body(void *ctx, uint32_t seq, const uint8_t *body,
                     size_t len) {
  tail *t = ctx;
  hashchain_add(&t->h, body, len);
  if (seq <= t->from) {
    if (seq == t->from) {
      uint8_t hash[ACCORD_HASH_BYTES];
      hashchain_hash(&t->h, hash);
      if (memcmp(hash, t->at, ACCORD_HASH_BYTES)) t->mismatch = 1;
    }
    return t->mismatch ? ACCORD_ECORRUPT : 0;
  }
  if (seq <= t->have) {
    size_t hl;
    const uint8_t *have = chain_body(&t->doc->chains[t->actor], seq, &hl);
    return hl == len && !memcmp(have, body, len) ? 0 : ACCORD_EFORK;
  }
  return loose_add(t->l, t->actor, seq, body, len);
}

typedef struct pendctx {
  accord_doc *doc;
  loose *l;
} pendctx;

static int pending_one(void *ctx, const store_pend *p) {
  pendctx *c = ctx;
  uint32_t a;
  int rc = doc_actor_index(c->doc, p->actor, &a);
  if (rc) return rc == ACCORD_ETOOBIG ? 0 : rc;
  if (p->seq <= c->doc->chains[a].n) return 0; /* applied meanwhile */
  for (uint32_t i = 0; i < c->doc->npending; i++)
    if (c->doc->pending[i].actor == a && c->doc->pending[i].seq == p->seq)
      return 0;
  return loose_add(c->l, a, p->seq, p->body, p->len);
}

/* Imports stored pending changes: together if they can be, else one by
 * one, dropping those the engine refuses (a waiting change is unverified;
 * the engine drops bad ones the same way). */
static int import_pending(accord_doc *doc, loose *l) {
  if (!l->n) return 0;
  pend *p = loose_fix(l);
  int rc = sync_import(doc, NULL, 0, p, l->n, NULL);
  if (rc != ACCORD_ENOMEM && rc)
    for (uint32_t i = 0; i < l->n; i++) {
      rc = sync_import(doc, NULL, 0, &p[i], 1, NULL);
      if (rc == ACCORD_ENOMEM) return rc;
    }
  return rc == ACCORD_ENOMEM ? rc : 0;
}

const char *node_hex_doc(const uint8_t *ws, const uint8_t *id, char *out) {
  store_hex(ws, ACCORD_WS_ID_BYTES, out);
  out[32] = '/';
  store_hex(id, ACCORD_DOC_ID_BYTES, out + 33);
  return out;
}

/* ---- loading ------------------------------------------------------------- */

#define LOAD_RETRY 1 /* internal: the snapshot disagrees; load without it */

typedef struct loadctx {
  accord_node *node;
  const uint8_t *ws, *id;
  int use_snapshot, snap_used, snap_bad;
  store_doc d;
  char type[STORE_TYPE_MAX];
  accord_doc *doc;
  store_heads heads, vv;
  buf snap;
  loose changes, pending;
} loadctx;

static int load_txn(store_txn *t, void *ctx) {
  loadctx *c = ctx;
  accord_node *node = c->node;
  store_doc d;
  int rc = store_doc_get(t, c->ws, c->id, &d);
  if (!rc) rc = store_heads_get(t, c->ws, c->id, &c->heads);
  if (rc) return rc;
  c->d = d;
  memcpy(c->type, d.type, d.type_len);
  c->d.type = c->type;
  if (c->use_snapshot) {
    c->snap.len = 0;
    rc = store_snapshot_get(t, c->ws, c->id, &c->snap, &c->vv);
    if (!rc) {
      rc = accord_doc_load(c->snap.p, c->snap.len, node->actor, &c->doc);
      if (!rc && memcmp(c->doc->id, c->id, ACCORD_DOC_ID_BYTES))
        rc = ACCORD_EOTHERDOC;
      if (rc) {
        accord_doc_free(c->doc);
        c->doc = NULL;
      }
      c->snap_used = !rc;
      c->snap_bad = rc != 0;
    } else if (rc == ACCORD_ECORRUPT) {
      c->snap_bad = 1;
    } else if (rc != ACCORD_ENOTFOUND) {
      return rc;
    }
  }
  if (!c->doc && (rc = accord_doc_new(c->id, node->actor, &c->doc))) return rc;
  accord_doc *doc = c->doc;
  if ((rc = node_doc_signer(node, doc, c->ws))) return rc;
  for (uint32_t i = 0; i < c->heads.n; i++) {
    const store_head *h = &c->heads.h[i];
    tail tl;
    hashchain_pos at;
    memset(&at, 0, sizeof at);
    tl.doc = doc;
    tl.l = &c->changes;
    if ((rc = doc_actor_index(doc, h->actor, &tl.actor))) return rc;
    uint32_t have = doc->chains[tl.actor].n;
    if (have) {
      const store_head *v = store_heads_find(&c->vv, h->actor);
      if (!c->snap_used || !v || v->seq != have || have > h->seq)
        return LOAD_RETRY;
      store_head_pos(v, &at);
    }
    uint32_t first = tail_start(&tl, &at);
    tl.have = have;
    if (tl.mismatch) return LOAD_RETRY;
    /* a chain the snapshot covers to its head: nothing to read */
    if (have == h->seq && have) {
      if (memcmp(at.hash, h->hash, ACCORD_HASH_BYTES) ||
          memcmp(at.root, h->root, ACCORD_HASH_BYTES))
        return LOAD_RETRY;
      continue;
    }
    if (first <= h->seq &&
        (rc = store_changes_read(t, c->ws, c->id, h->actor, first, h->seq,
                                 tail_body, &tl)))
      return tl.mismatch ? LOAD_RETRY : rc;
    if (!tail_ends_at(&tl, h)) {
      char hex[72], a[17];
      store_hex(h->actor, ACCORD_ACTOR_BYTES, a);
      return store_fail(store_of(t), ACCORD_ECORRUPT,
                        "document %s: the changes of %s do not hash to "
                        "their head (seq %u)",
                        node_hex_doc(c->ws, c->id, hex), a, h->seq);
    }
  }
  pendctx pc = {doc, &c->pending};
  return store_pending_each(t, c->ws, c->id, pending_one, &pc);
}

/* After the stored changes are in: every chain is exactly at its head. */
static int check_heads(const accord_doc *doc, const store_heads *heads) {
  uint32_t with = 0;
  for (uint32_t a = 0; a < doc->nactors; a++) {
    if (!doc->chains[a].n) continue;
    const store_head *h = store_heads_find(heads, doc->actor[a]);
    if (!h || h->seq != doc->chains[a].n) return ACCORD_ECORRUPT;
    with++;
  }
  return with == heads->n ? 0 : ACCORD_ECORRUPT;
}

typedef struct diagctx {
  const uint8_t *ws, *id;
  store_heads heads;
} diagctx;

static int diag_txn(store_txn *t, void *ctx) {
  diagctx *c = ctx;
  int rc = store_heads_get(t, c->ws, c->id, &c->heads);
  for (uint32_t i = 0; i < c->heads.n && !rc; i++)
    rc = store_changes_verify(t, c->ws, c->id, &c->heads.h[i]);
  return rc;
}

int node_check_chains(accord_node *node, const uint8_t *ws,
                      const uint8_t *id) {
  diagctx c;
  memset(&c, 0, sizeof c);
  c.ws = ws;
  c.id = id;
  int rc = store_read(node->st, diag_txn, &c);
  store_heads_free(&c.heads);
  return rc;
}

/* Names what is wrong with a document that does not load. */
static int diagnose(accord_node *node, const uint8_t *ws, const uint8_t *id,
                    int why) {
  int rc = node_check_chains(node, ws, id);
  if (rc == ACCORD_ECORRUPT || rc == ACCORD_ENOMEM || rc == ACCORD_ESTORE)
    return rc;
  char hex[72];
  return store_fail(node->st, ACCORD_ECORRUPT,
                    "document %s: its stored changes do not load (%s: %s)",
                    node_hex_doc(ws, id, hex), accord_err_name(why),
                    accord_strerror(why));
}

static void load_reset(loadctx *c) {
  accord_doc_free(c->doc);
  c->doc = NULL;
  c->snap_used = 0;
  c->changes.n = 0;
  c->changes.bytes.len = 0;
  c->pending.n = 0;
  c->pending.bytes.len = 0;
}

/* ---- seals --------------------------------------------------------------- */

static int seal_one(void *ctx, const uint8_t *actor, uint32_t seq,
                    const uint8_t *pk_sig, int checkpoint) {
  accord_doc *doc = ctx;
  uint32_t a;
  if (!doc_actor_find(doc, actor, &a) || a == 0) return 0;
  chain *c = &doc->chains[a];
  /* an actor's checkpoints come after its latest seal, ascending; one out
   * of order or past the chain is ignored (seal_cp_push) */
  if (checkpoint) return seal_cp_push(c, seq, pk_sig);
  if (seq > c->n || seq <= c->seal.seq) return 0;
  c->seal.seq = seq;
  memcpy(c->seal.pk, pk_sig, 32);
  memcpy(c->seal.sig, pk_sig + 32, 64);
  return 0;
}

typedef struct sealctx {
  const uint8_t *ws;
  accord_doc *doc;
} sealctx;

static int seals_txn(store_txn *t, void *ctx) {
  sealctx *c = ctx;
  return store_seals_each(t, c->ws, c->doc->id, seal_one, c->doc);
}

/* The stored seals of other authors' chains (verified when they were
 * stored) and their checkpoints, so that the document forwards their
 * changes, cut where their authors sealed them. */
static int load_seals(accord_node *node, const uint8_t *ws, accord_doc *doc) {
  sealctx c = {ws, doc};
  return store_read(node->st, seals_txn, &c);
}

/* Loads a stored document into a new entry (refs 1). */
int node_load_doc(accord_node *node, const uint8_t *ws, const uint8_t *id,
                  ndoc **out) {
  loadctx c;
  memset(&c, 0, sizeof c);
  c.node = node;
  c.ws = ws;
  c.id = id;
  uint64_t seen = store_counter(node->st);
  int rc = 0, snap_bad = 0;
  for (c.use_snapshot = 1; c.use_snapshot >= 0; c.use_snapshot--) {
    load_reset(&c);
    rc = store_read(node->st, load_txn, &c);
    snap_bad |= c.snap_bad;
    if (!rc && c.changes.n)
      rc = sync_import(c.doc, NULL, 0, loose_fix(&c.changes), c.changes.n,
                       NULL);
    if (!rc) rc = check_heads(c.doc, &c.heads);
    if (!rc) rc = import_pending(c.doc, &c.pending);
    if (!rc) rc = load_seals(node, ws, c.doc);
    if (!rc) break;
    if (rc == ACCORD_ENOMEM || rc == ACCORD_ENOTFOUND || rc == ACCORD_ESTORE)
      break;
    if (c.snap_used || rc == LOAD_RETRY) {
      snap_bad = 1;
      continue;
    }
    rc = diagnose(node, ws, id, rc);
    break;
  }
  ndoc *nd = NULL;
  if (!rc && !(nd = mem_calloc(1, sizeof *nd))) rc = ACCORD_ENOMEM;
  if (!rc) {
    memcpy(nd->ws, ws, ACCORD_WS_ID_BYTES);
    nd->doc = c.doc;
    c.doc = NULL;
    nd->refs = 1;
    nd->seen = seen;
    nd->snap_bad = snap_bad;
    node_entry_describe(nd, &c.d);
    rc = node_known_reserve(nd, nd->doc->nactors);
    for (uint32_t i = 0; i < c.heads.n && !rc; i++) {
      uint32_t a;
      if (!doc_actor_find(nd->doc, c.heads.h[i].actor, &a)) continue;
      nd->known[a] = c.heads.h[i].seq;
      store_head_pos(&c.heads.h[i], &nd->kpos[a]);
    }
    if (rc) {
      node_entry_free(nd);
      nd = NULL;
    }
  }
  if (!rc && snap_bad) {
    char hex[72];
    store_fail(node->st, 0,
               "document %s: its snapshot was damaged or stale and was "
               "bypassed; it will be rewritten",
               node_hex_doc(ws, id, hex));
  }
  load_reset(&c);
  loose_free(&c.changes);
  loose_free(&c.pending);
  store_heads_free(&c.heads);
  store_heads_free(&c.vv);
  buf_free(&c.snap);
  *out = nd;
  return rc;
}

/* ---- refresh ------------------------------------------------------------- */

typedef struct refreshctx {
  ndoc *nd;
  store_heads heads;
  loose changes, pending;
} refreshctx;

static int refresh_txn(store_txn *t, void *ctx) {
  refreshctx *c = ctx;
  ndoc *nd = c->nd;
  accord_doc *doc = nd->doc;
  int rc = store_heads_get(t, nd->ws, doc->id, &c->heads);
  for (uint32_t i = 0; i < c->heads.n && !rc; i++) {
    const store_head *h = &c->heads.h[i];
    tail tl;
    tl.doc = doc;
    tl.l = &c->changes;
    if ((rc = doc_actor_index(doc, h->actor, &tl.actor)) ||
        (rc = node_known_reserve(nd, doc->nactors)))
      break;
    uint32_t k = node_known_of(nd, tl.actor);
    if (h->seq == k) continue;
    char hex[72], a[17];
    store_hex(h->actor, ACCORD_ACTOR_BYTES, a);
    if (h->seq < k)
      return store_fail(store_of(t), ACCORD_ECORRUPT,
                        "document %s: the head of %s went back from %u to %u",
                        node_hex_doc(nd->ws, doc->id, hex), a, k, h->seq);
    tl.have = doc->chains[tl.actor].n;
    if (tl.have > k && (rc = chain_index(&doc->chains[tl.actor]))) break;
    uint32_t first = tail_start(&tl, &nd->kpos[tl.actor]);
    rc = tl.mismatch ? ACCORD_ECORRUPT
                     : store_changes_read(t, nd->ws, doc->id, h->actor, first,
                                          h->seq, tail_body, &tl);
    if (tl.mismatch)
      return store_fail(store_of(t), ACCORD_ECORRUPT,
                        "document %s: the stored changes of %s up to seq %u "
                        "no longer hash to what this process read there",
                        node_hex_doc(nd->ws, doc->id, hex), a, k);
    if (rc == ACCORD_EFORK)
      return store_fail(store_of(t), ACCORD_EFORK,
                        "document %s: another process stored changes of %s "
                        "that differ from this one's",
                        node_hex_doc(nd->ws, doc->id, hex), a);
    if (!rc && !tail_ends_at(&tl, h))
      return store_fail(store_of(t), ACCORD_ECORRUPT,
                        "document %s: the changes of %s do not hash to their "
                        "head (seq %u)",
                        node_hex_doc(nd->ws, doc->id, hex), a, h->seq);
  }
  if (rc) return rc;
  pendctx pc = {doc, &c->pending};
  return store_pending_each(t, nd->ws, doc->id, pending_one, &pc);
}

/* Takes in what other processes stored since we last looked. */
int node_refresh(accord_node *node, ndoc *nd) {
  uint64_t now = store_counter(node->st);
  if (now == nd->seen) return 0;
  refreshctx c;
  memset(&c, 0, sizeof c);
  c.nd = nd;
  int rc = store_read(node->st, refresh_txn, &c);
  if (!rc && c.changes.n) {
    rc = sync_import(nd->doc, NULL, 0, loose_fix(&c.changes), c.changes.n,
                     NULL);
    if (rc && rc != ACCORD_ENOMEM)
      rc = diagnose(node, nd->ws, nd->doc->id, rc);
  }
  if (!rc) {
    for (uint32_t i = 0; i < c.heads.n; i++) {
      uint32_t a;
      const store_head *h = &c.heads.h[i];
      if (!doc_actor_find(nd->doc, h->actor, &a) ||
          nd->doc->chains[a].n < h->seq)
        continue; /* cannot happen: the import brought them */
      nd->known[a] = h->seq;
      store_head_pos(h, &nd->kpos[a]);
    }
    rc = import_pending(nd->doc, &c.pending);
    if (c.pending.n) nd->pending_dirty = 1;
    if (!rc && c.changes.n) rc = load_seals(node, nd->ws, nd->doc);
    if (!rc) nd->seen = now;
  }
  loose_free(&c.changes);
  loose_free(&c.pending);
  store_heads_free(&c.heads);
  return rc;
}
