/*
 * node_doc.c — documents of a node, kept in step with the store: the
 * bookkeeping of open documents, durable commits and imports, creating and
 * opening. Loading and refreshing are node_load.c's; snapshots, compaction,
 * closing and verification node_maint.c's.
 *
 * An open document is an ordinary engine document (accord_doc) plus what
 * the node knows of its stored state (ndoc, node.h): per actor, how many
 * changes the store held when we last looked (known) and the chain's
 * position there (hash and segment root, hashchain.h). A commit or import
 * is engine first, then persist: one write transaction storing what the
 * document holds past `known` — per actor the new changes as records and
 * the new head, and the pending set when an import changed it. Persist
 * first checks that the stored heads are still `known` for the actors it
 * writes; if another process got there first, ESTALE. If persist fails the engine step is undone (nmark), so memory and
 * disk agree. ESTALE on commit goes to the caller (the transaction's edits
 * were made against an outdated document; the document is refreshed, the
 * caller begins again); on import it is handled here: refresh, import
 * again.
 *
 * Workload: one persist per commit, the hot path of durable editing: it
 * reads the document's heads (a short cursor scan), appends one record and
 * rewrites one head. Nothing on it grows with the document's history.
 */
#include <stdio.h>
#include <string.h>

#include "members.h"
#include "mem.h"
#include "node.h"
#include "sync.h"

/* ---- entries ------------------------------------------------------------- */

ndoc *node_entry(accord_node *node, const accord_doc *doc) {
  if (!node || !doc) return NULL;
  for (uint32_t i = 0; i < node->ndocs; i++)
    if (node->docs[i]->doc == doc) return node->docs[i];
  return NULL;
}

ndoc *node_entry_by_id(accord_node *node, const uint8_t *ws,
                       const uint8_t *id) {
  for (uint32_t i = 0; i < node->ndocs; i++) {
    ndoc *nd = node->docs[i];
    if (!memcmp(nd->ws, ws, ACCORD_WS_ID_BYTES) &&
        !memcmp(nd->doc->id, id, ACCORD_DOC_ID_BYTES))
      return nd;
  }
  return NULL;
}

/* known[] and kpos[] cover at least n actors (new ones zero). */
int node_known_reserve(ndoc *nd, uint32_t n) {
  if (n <= nd->nknown) return 0;
  uint32_t *k = mem_realloc(nd->known, n * sizeof *k);
  if (!k) return ACCORD_ENOMEM;
  nd->known = k;
  hashchain_pos *h = mem_realloc(nd->kpos, n * sizeof *h);
  if (!h) return ACCORD_ENOMEM;
  nd->kpos = h;
  memset(nd->known + nd->nknown, 0, (n - nd->nknown) * sizeof *k);
  memset(nd->kpos + nd->nknown, 0, (n - nd->nknown) * sizeof *h);
  nd->nknown = n;
  return 0;
}

int node_doc_signer(const accord_node *node, accord_doc *doc,
                    const uint8_t *ws) {
  int rc = accord_doc_set_signer(doc, node->sk, ws);
  if (rc) return rc;
  members_hook((accord_node *)node, doc);
  return accord_doc_set_verify(doc, 1);
}

void node_entry_describe(ndoc *nd, const store_doc *d) {
  memcpy(nd->creator, d->creator, ACCORD_ACTOR_BYTES);
  nd->created = d->created;
  memcpy(nd->type, d->type, d->type_len);
  nd->type[d->type_len] = 0;
}

/* ---- undo ---------------------------------------------------------------- */

static int nmark_take(accord_doc *doc, nmark *m) {
  int rc = doc_mark_take(doc, &m->m);
  m->active = rc == 0;
  return rc;
}

/* Forgets the mark (the step succeeded). */
static void nmark_drop(nmark *m) {
  if (m->active) doc_mark_free(&m->m);
  m->active = 0;
}

static void nmark_restore(accord_doc *doc, nmark *m) {
  if (!m->active) return;
  m->active = 0;
  doc_mark_restore(doc, &m->m); /* a failed rebuild poisons the document */
}

static void nmark_free(nmark *m) { nmark_drop(m); }

/* ---- persist ------------------------------------------------------------- */

typedef struct persistctx {
  ndoc *nd;
  int all_seen;
  store_pend *pend;
} persistctx;

static int persist_txn(store_txn *t, void *ctx) {
  persistctx *c = ctx;
  ndoc *nd = c->nd;
  accord_doc *doc = nd->doc;
  store_heads *hs = &nd->heads;
  int rc = store_heads_get(t, nd->ws, doc->id, hs);
  if (rc) return rc;
  uint32_t before = hs->n, matched = 0;
  c->all_seen = 1;
  for (uint32_t a = 0; a < doc->nactors && !rc; a++) {
    const chain *ch = &doc->chains[a];
    uint32_t k = node_known_of(nd, a);
    store_head *h = store_heads_find(hs, doc->actor[a]);
    uint32_t s = h ? h->seq : 0;
    if (h) matched++;
    if (ch->n <= k) {
      if (s != k) c->all_seen = 0;
      continue;
    }
    if (s != k) return ACCORD_ESTALE;
    store_run run = {ch->bytes.p, &ch->off[k - ch->base], k + 1, ch->n - k};
    store_head nh;
    hashchain_pos prev, pos;
    memset(&prev, 0, sizeof prev);
    if (h) store_head_pos(h, &prev);
    memcpy(nh.actor, doc->actor[a], ACCORD_ACTOR_BYTES);
    /* hashing resumes from the stored head, through the store's records
     * (or its cache), never from the document's chain (a loaded chain is
     * one packed frame) */
    rc = store_changes_put(t, nd->ws, doc->id, doc->actor[a], &run, &prev,
                           &pos);
    if (!rc) {
      store_head_set(&nh, &pos);
      rc = store_head_put(t, nd->ws, doc->id, &nh);
    }
    /* another author's verified seal, to forward its changes later, and
     * the checkpoints kept since the stored one (the seal it replaces
     * among them): with the changes they cover */
    if (!rc && a > 0 && ch->seal.seq > k && ch->seal.seq <= ch->n) {
      uint8_t ps[SEAL_WIRE_BYTES];
      uint32_t was = 0;
      if (ch->ncps) /* the new ones are those from the stored seal on */
        rc = store_seal_seq(t, nd->ws, doc->id, doc->actor[a], &was);
      for (uint32_t i = ch->ncps; i-- > 0 && !rc && ch->cps[i].seq >= was;) {
        memcpy(ps, ch->cps[i].pk, 32);
        memcpy(ps + 32, ch->cps[i].sig, 64);
        rc = store_seal_cp_put(t, nd->ws, doc->id, doc->actor[a],
                               ch->cps[i].seq, ps);
      }
      memcpy(ps, ch->seal.pk, 32);
      memcpy(ps + 32, ch->seal.sig, 64);
      if (!rc)
        rc = store_seal_put(t, nd->ws, doc->id, doc->actor[a], ch->seal.seq,
                            ps);
    }
    /* the scratch heads now say what the store will hold */
    if (!rc && h) *h = nh;
    else if (!rc) rc = store_heads_push(hs, &nh);
  }
  if (rc) return rc;
  if (matched != before) c->all_seen = 0;
  for (uint32_t i = nd->forks_stored; i < doc->nforks && !rc; i++)
    rc = store_fork_put(t, nd->ws, doc->id, doc->actor[doc->forks[i].actor],
                        doc->forks[i].seq, doc->forks[i].ev,
                        doc->forks[i].len);
  if (rc || !nd->pending_dirty) return rc;
  for (uint32_t i = 0; i < doc->npending; i++) {
    c->pend[i].actor = doc->actor[doc->pending[i].actor];
    c->pend[i].seq = doc->pending[i].seq;
    c->pend[i].body = doc->pending[i].body;
    c->pend[i].len = doc->pending[i].len;
  }
  return store_pending_replace(t, nd->ws, doc->id, c->pend, doc->npending);
}

int node_unpersisted(const ndoc *nd) {
  if (nd->pending_dirty || nd->doc->nforks > nd->forks_stored) return 1;
  for (uint32_t a = 0; a < nd->doc->nactors; a++)
    if (nd->doc->chains[a].n > node_known_of(nd, a)) return 1;
  return 0;
}

/* Stores what the document holds past `known`, in one write. */
int node_persist(accord_node *node, ndoc *nd) {
  persistctx c = {nd, 0, NULL};
  uint64_t id;
  int rc = node_known_reserve(nd, nd->doc->nactors);
  /* this node's own new changes: only a member's are stored */
  if (!rc && nd->doc->chains[0].n > node_known_of(nd, 0))
    rc = members_write_check(node, nd);
  /* a loaded chain finds its change boundaries when first needed; the
   * changes to store must be in the tail (unpacked only if a frame took
   * some, which needs thousands of unstored changes) */
  for (uint32_t a = 0; a < nd->doc->nactors && !rc; a++)
    if (nd->doc->chains[a].n > node_known_of(nd, a))
      rc = chain_index_from(&nd->doc->chains[a], node_known_of(nd, a));
  if (rc) return rc;
  if (nd->pending_dirty && nd->doc->npending &&
      !(c.pend = mem_alloc(nd->doc->npending * sizeof *c.pend)))
    return ACCORD_ENOMEM;
  rc = store_write(node->st, persist_txn, &c, &id);
  mem_free(c.pend);
  if (rc) return rc;
  for (uint32_t i = 0; i < nd->heads.n; i++) {
    uint32_t a;
    const store_head *h = &nd->heads.h[i];
    if (doc_actor_find(nd->doc, h->actor, &a) &&
        nd->doc->chains[a].n == h->seq) {
      nd->known[a] = h->seq;
      store_head_pos(h, &nd->kpos[a]);
    }
  }
  nd->pending_dirty = 0;
  nd->forks_stored = nd->doc->nforks;
  if (c.all_seen) nd->seen = id;
  return 0;
}

/* ---- transactions and imports -------------------------------------------- */

int accord_node_txn_begin(accord_node *node, accord_doc *doc,
                          accord_txn **out) {
  if (!out) return ACCORD_EINVAL;
  *out = NULL;
  ndoc *nd = node_entry(node, doc);
  if (!nd) return ACCORD_EINVAL;
  store_clear_err(node->st);
  int rc = node_refresh(node, nd);
  return rc ? rc : accord_txn_begin(doc, out);
}

int accord_node_txn_commit(accord_node *node, accord_txn *txn,
                           accord_change_info *info) {
  accord_change_info tmp;
  if (!info) info = &tmp;
  memset(info, 0, sizeof *info);
  ndoc *nd = txn ? node_entry(node, txn->doc) : NULL;
  if (!nd || txn != &nd->doc->txn || !nd->doc->txn_open)
    return ACCORD_EINVAL;
  accord_doc *doc = nd->doc;
  store_clear_err(node->st);
  int rc = nmark_take(doc, &nd->mark);
  if (rc) {
    accord_txn_abort(txn);
    return rc;
  }
  if ((rc = accord_txn_commit(txn, info)) || !node_unpersisted(nd) ||
      !(rc = node_persist(node, nd))) {
    nmark_drop(&nd->mark);
    return rc;
  }
  nmark_restore(doc, &nd->mark);
  memset(info, 0, sizeof *info);
  if (rc == ACCORD_ESTALE) {
    char hex[72];
    node_refresh(node, nd);
    store_fail(node->st, rc,
               "document %s: another process committed to it meanwhile; the "
               "transaction was undone and the document brought up to date",
               node_hex_doc(nd->ws, doc->id, hex));
  }
  return rc;
}

int accord_node_doc_import(accord_node *node, accord_doc *doc,
                           const uint8_t *batch, size_t len,
                           accord_import_stats *stats) {
  if (stats) memset(stats, 0, sizeof *stats);
  ndoc *nd = node_entry(node, doc);
  if (!nd || !batch) return ACCORD_EINVAL;
  store_clear_err(node->st);
  int rc = node_refresh(node, nd);
  for (int tries = 0; !rc && tries < 8; tries++) {
    uint32_t before = doc->npending;
    if ((rc = nmark_take(doc, &nd->mark))) break;
    if ((rc = accord_doc_import(doc, batch, len, stats))) break;
    if (before || doc->npending) nd->pending_dirty = 1;
    if ((rc = members_import_check(node, nd))) {
      nmark_restore(doc, &nd->mark);
      if (stats) memset(stats, 0, sizeof *stats);
      break;
    }
    if (stats) stats->pending = doc->npending; /* the check may drop some */
    if (!node_unpersisted(nd) || !(rc = node_persist(node, nd))) {
      nmark_drop(&nd->mark);
      /* stored: removals it brought drop what they cut off */
      return members_after_import(node, nd);
    }
    nmark_restore(doc, &nd->mark);
    if (stats) memset(stats, 0, sizeof *stats);
    if (rc == ACCORD_ESTALE) rc = node_refresh(node, nd);
    else break;
    if (!rc) rc = tries == 7 ? ACCORD_ESTALE : 0;
  }
  nmark_drop(&nd->mark);
  return rc;
}

/* ---- opening, creating, closing ------------------------------------------ */

void node_entry_free(ndoc *nd) {
  if (!nd) return;
  accord_doc_free(nd->doc);
  mem_free(nd->known);
  mem_free(nd->kpos);
  nmark_free(&nd->mark);
  store_heads_free(&nd->heads);
  mem_free(nd);
}

static int docs_reserve(accord_node *node) {
  if (node->ndocs < node->capdocs) return 0;
  uint32_t cap = node->capdocs ? 2 * node->capdocs : 8;
  ndoc **d = mem_realloc(node->docs, cap * sizeof *d);
  if (!d) return ACCORD_ENOMEM;
  node->docs = d;
  node->capdocs = cap;
  return 0;
}

static int valid_type(const char *type, size_t *len) {
  if (!type) return 0;
  size_t n = strlen(type);
  if (n == 0 || n > STORE_TYPE_MAX) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = type[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
      return 0;
  }
  *len = n;
  return 1;
}

static int create_txn(store_txn *t, void *ctx) {
  const store_doc *d = ctx;
  store_ws ws;
  int rc = store_ws_get(t, d->ws, &ws);
  return rc ? rc : store_doc_put(t, d);
}

int accord_node_doc_create(accord_node *node, const uint8_t *ws,
                           const char *type, accord_doc **out) {
  size_t tlen;
  if (!out) return ACCORD_EINVAL;
  *out = NULL;
  if (!node || !ws || !valid_type(type, &tlen)) return ACCORD_EINVAL;
  /* a workspace has one membership document, made with it (members.c) */
  if (!strcmp(type, ACCORD_SYSTEM_TYPE)) return ACCORD_EINVAL;
  store_clear_err(node->st);
  store_doc d;
  memcpy(d.ws, ws, ACCORD_WS_ID_BYTES);
  crypto_random(d.id, ACCORD_DOC_ID_BYTES);
  memcpy(d.creator, node->actor, ACCORD_ACTOR_BYTES);
  d.created = doc_now_ms();
  d.type = type;
  d.type_len = tlen;
  ndoc *nd = mem_calloc(1, sizeof *nd);
  int rc = nd ? docs_reserve(node) : ACCORD_ENOMEM;
  if (!rc) rc = accord_doc_new(d.id, node->actor, &nd->doc);
  if (!rc) rc = node_doc_signer(node, nd->doc, ws);
  if (!rc) rc = node_known_reserve(nd, 1);
  uint64_t id;
  if (!rc) rc = store_write(node->st, create_txn, &d, &id);
  if (rc) {
    node_entry_free(nd);
    return rc;
  }
  memcpy(nd->ws, ws, ACCORD_WS_ID_BYTES);
  node_entry_describe(nd, &d);
  nd->refs = 1;
  nd->seen = id;
  node->docs[node->ndocs++] = nd;
  *out = nd->doc;
  return 0;
}

int accord_node_doc_open(accord_node *node, const uint8_t *ws,
                         const uint8_t *doc_id, accord_doc **out) {
  if (!out) return ACCORD_EINVAL;
  *out = NULL;
  if (!node || !ws || !doc_id) return ACCORD_EINVAL;
  store_clear_err(node->st);
  ndoc *nd = node_entry_by_id(node, ws, doc_id);
  int rc;
  if (nd) {
    if ((rc = node_refresh(node, nd))) return rc;
    nd->refs++;
    *out = nd->doc;
    return 0;
  }
  if ((rc = docs_reserve(node)) || (rc = node_load_doc(node, ws, doc_id, &nd)))
    return rc;
  if ((rc = node_forks_load(node, nd))) {
    node_entry_free(nd);
    return rc;
  }
  node->docs[node->ndocs++] = nd;
  *out = nd->doc;
  return 0;
}

int accord_node_doc_info(accord_node *node, const accord_doc *doc,
                         accord_doc_info *out) {
  ndoc *nd = node_entry(node, doc);
  if (!nd || !out) return ACCORD_EINVAL;
  memset(out, 0, sizeof *out);
  memcpy(out->ws, nd->ws, ACCORD_WS_ID_BYTES);
  memcpy(out->id, doc->id, ACCORD_DOC_ID_BYTES);
  memcpy(out->creator, nd->creator, ACCORD_ACTOR_BYTES);
  out->created = nd->created;
  out->type = nd->type;
  return 0;
}
