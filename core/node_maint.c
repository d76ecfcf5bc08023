/*
 * node_maint.c — housekeeping of stored documents: snapshot refresh and
 * compaction of change records (at the last close of a document and in
 * accord_node_maintain), closing documents, and accord_node_verify.
 *
 * Snapshots: written when enough changes came after the current one (see
 * maintain_one), covering exactly the stored heads, with the chain hash of
 * each; compaction merges trailing small change records into compressed
 * chunks (store_changes.c). Both happen in one write transaction per
 * document, never on the commit path.
 */
#include <stdio.h>
#include <string.h>

#include "mem.h"
#include "node.h"
#include "sync.h"

/* ---- housekeeping: snapshots and compaction ------------------------------ */

/* What a document's housekeeping would do, read in one snapshot. */
typedef struct plan {
  const uint8_t *ws, *id;
  store_heads heads, vv;
  uint32_t *tails; /* per head: trailing small change records */
  int snap_bad;
} plan;

static int plan_txn(store_txn *t, void *ctx) {
  plan *p = ctx;
  int rc = store_heads_get(t, p->ws, p->id, &p->heads);
  if (rc) return rc;
  rc = store_snapshot_get(t, p->ws, p->id, NULL, &p->vv);
  if (rc == ACCORD_ECORRUPT) p->snap_bad = 1;
  if (rc == ACCORD_ECORRUPT || rc == ACCORD_ENOTFOUND) {
    p->vv.n = 0;
    rc = 0;
  }
  if (rc) return rc;
  mem_free(p->tails);
  if (!(p->tails = mem_calloc(p->heads.n + 1, sizeof *p->tails)))
    return ACCORD_ENOMEM;
  for (uint32_t i = 0; i < p->heads.n && !rc; i++)
    rc = store_changes_tail(t, p->ws, p->id, p->heads.h[i].actor,
                            &p->tails[i]);
  return rc;
}

typedef struct housework {
  const uint8_t *ws, *id;
  const uint8_t *snap; /* NULL: no snapshot to write */
  size_t snap_len;
  const store_heads *vv;
  const plan *p;
  uint32_t min_records;
  size_t before, after;
} housework;

static int housework_txn(store_txn *t, void *ctx) {
  housework *hw = ctx;
  int rc = 0;
  hw->before = hw->after = 0; /* the transaction may run again */
  if (hw->snap)
    rc = store_snapshot_put(t, hw->ws, hw->id, hw->snap, hw->snap_len, hw->vv);
  for (uint32_t i = 0; i < hw->p->heads.n && !rc; i++)
    if (hw->p->tails[i] >= hw->min_records)
      rc = store_changes_compact(t, hw->ws, hw->id, hw->p->heads.h[i].actor,
                                 hw->min_records, &hw->before, &hw->after);
  return rc;
}

/* The document's version vector with chain positions (hash and segment
 * root, which loading resumes hashing from), if its chains are
 * exactly the stored heads (else the snapshot waits for another time). */
static int snapshot_vv(const ndoc *nd, const store_heads *heads,
                       store_heads *vv) {
  const accord_doc *doc = nd->doc;
  uint32_t with = 0;
  vv->n = 0;
  for (uint32_t a = 0; a < doc->nactors; a++) {
    uint32_t n = doc->chains[a].n;
    if (!n) continue;
    const store_head *h = store_heads_find(heads, doc->actor[a]);
    if (!h || h->seq != n || node_known_of(nd, a) != n ||
        memcmp(h->hash, nd->kpos[a].hash, ACCORD_HASH_BYTES) ||
        memcmp(h->root, nd->kpos[a].root, ACCORD_HASH_BYTES))
      return 1;
    int rc = store_heads_push(vv, h);
    if (rc) return rc;
    with++;
  }
  return with == heads->n ? 0 : 1;
}

static int maintain_one(accord_node *node, const uint8_t *ws,
                        const uint8_t *id, ndoc *nd, unsigned flags,
                        int closing, accord_maintain_stats *st) {
  int all = (flags & ACCORD_MAINTAIN_ALL) != 0, rc = 0;
  if (nd) {
    if (nd->doc->poisoned) return nd->doc->poisoned;
    rc = node_refresh(node, nd);
    if (!rc && node_unpersisted(nd)) rc = node_persist(node, nd);
    if (rc) return rc;
  }
  plan p;
  memset(&p, 0, sizeof p);
  p.ws = ws;
  p.id = id;
  ndoc *tmp = NULL;
  uint8_t *bytes = NULL;
  size_t len = 0;
  store_heads vv = {0};
  if ((rc = store_read(node->st, plan_txn, &p))) goto done;
  uint64_t behind = 0, covered = 0;
  for (uint32_t i = 0; i < p.heads.n; i++) {
    const store_head *v = store_heads_find(&p.vv, p.heads.h[i].actor);
    uint32_t h = p.heads.h[i].seq, c = !v ? 0 : v->seq < h ? v->seq : h;
    behind += h - c;
    covered += c;
  }
  /* A refresh costs about the document's size, so periodic housekeeping
   * waits until the changes after the snapshot are also an eighth of what
   * it covers: amortised, a constant per change. Closing refreshes at the
   * plain threshold, so that the next open replays little. */
  int snap = p.snap_bad || (nd && nd->snap_bad) || (all && behind > 0) ||
             (behind >= node->snapshot_changes &&
              (closing || behind * 8 >= covered));
  uint32_t min = all ? 2 : node->compact_changes;
  if (min < 2) min = 2;
  int compact = 0;
  for (uint32_t i = 0; i < p.heads.n; i++) compact |= p.tails[i] >= min;
  if (!snap && !compact) goto done;
  if (snap && !nd) {
    if ((rc = node_load_doc(node, ws, id, &tmp))) goto done;
    nd = tmp;
  }
  if (snap) {
    rc = snapshot_vv(nd, &p.heads, &vv);
    if (rc == 0) rc = doc_save(nd->doc, 0, &bytes, &len); /* no packing */
    if (rc == 1 || rc == ACCORD_EBUSY) rc = 0; /* not now */
    if (rc) goto done;
  }
  if (!bytes && !compact) goto done;
  housework hw = {ws, id, bytes, len, &vv, &p, min, 0, 0};
  if ((rc = store_write(node->st, housework_txn, &hw, NULL))) goto done;
  if (bytes && nd) nd->snap_bad = 0;
  if (st) {
    st->snapshots += bytes != NULL;
    st->records_before += hw.before;
    st->records_after += hw.after;
  }
done:
  mem_free(bytes);
  store_heads_free(&vv);
  store_heads_free(&p.heads);
  store_heads_free(&p.vv);
  mem_free(p.tails);
  node_entry_free(tmp);
  return rc;
}

/* Closes docs[i]: stores what it holds, does its housekeeping, frees it.
 * Errors are dropped: what was not stored was never durable. */
static void close_entry(accord_node *node, uint32_t i) {
  ndoc *nd = node->docs[i];
  if (!nd->doc->poisoned) {
    if (!nd->doc->txn_open && node_unpersisted(nd)) node_persist(node, nd);
    maintain_one(node, nd->ws, nd->doc->id, nd, 0, 1, NULL);
  }
  node->docs[i] = node->docs[--node->ndocs];
  node_entry_free(nd);
}

void accord_node_doc_close(accord_node *node, accord_doc *doc) {
  ndoc *nd = node_entry(node, doc);
  if (!nd || --nd->refs > 0) return;
  for (uint32_t i = 0; i < node->ndocs; i++)
    if (node->docs[i] == nd) {
      close_entry(node, i);
      break;
    }
}

void node_close_docs(accord_node *node) {
  while (node->ndocs) close_entry(node, node->ndocs - 1);
}

/* Every stored document's (ws, id), 32 bytes each. */
static int all_docs_one(void *ctx, const store_doc *d) {
  buf *b = ctx;
  buf_put(b, d->ws, ACCORD_WS_ID_BYTES);
  buf_put(b, d->id, ACCORD_DOC_ID_BYTES);
  return b->err;
}

static int all_docs_txn(store_txn *t, void *ctx) {
  return store_doc_each(t, NULL, all_docs_one, ctx);
}

#define DOC_KEY (ACCORD_WS_ID_BYTES + ACCORD_DOC_ID_BYTES)

int accord_node_maintain(accord_node *node, unsigned flags,
                         accord_maintain_stats *stats) {
  if (stats) memset(stats, 0, sizeof *stats);
  if (!node) return ACCORD_EINVAL;
  store_clear_err(node->st);
  buf ids = {0};
  char first_msg[512] = "";
  int first = store_read(node->st, all_docs_txn, &ids);
  for (size_t off = 0; !first && off < ids.len; off += DOC_KEY) {
    const uint8_t *ws = ids.p + off, *id = ws + ACCORD_WS_ID_BYTES;
    ndoc *nd = node_entry_by_id(node, ws, id);
    int rc = maintain_one(node, ws, id, nd, flags, 0, stats);
    /* one bad document does not stop the others' housekeeping */
    if (rc && !first) {
      first = rc;
      snprintf(first_msg, sizeof first_msg, "%s", store_errmsg(node->st));
    }
    if (rc == ACCORD_ENOMEM) break;
  }
  buf_free(&ids);
  if (first_msg[0]) store_fail(node->st, first, "%s", first_msg);
  return first;
}

typedef struct snapcheck {
  const uint8_t *ws, *id;
  buf snap;
  int found;
} snapcheck;

static int snapcheck_txn(store_txn *t, void *ctx) {
  snapcheck *c = ctx;
  c->snap.len = 0;
  int rc = store_snapshot_get(t, c->ws, c->id, &c->snap, NULL);
  c->found = rc != ACCORD_ENOTFOUND;
  return rc == ACCORD_ENOTFOUND ? 0 : rc;
}

int accord_node_verify(accord_node *node) {
  if (!node) return ACCORD_EINVAL;
  store_clear_err(node->st);
  buf ids = {0};
  int rc = store_read(node->st, all_docs_txn, &ids);
  for (size_t off = 0; !rc && off < ids.len; off += DOC_KEY) {
    const uint8_t *ws = ids.p + off, *id = ws + ACCORD_WS_ID_BYTES;
    if ((rc = node_check_chains(node, ws, id))) break;
    snapcheck sc = {ws, id, {0}, 0};
    rc = store_read(node->st, snapcheck_txn, &sc);
    accord_doc *d = NULL;
    if (!rc && sc.found &&
        (rc = accord_doc_load(sc.snap.p, sc.snap.len, node->actor, &d))) {
      char hex[72];
      rc = store_fail(node->st, ACCORD_ECORRUPT,
                      "document %s: the snapshot does not load (%s)",
                      node_hex_doc(ws, id, hex), accord_err_name(rc));
    }
    accord_doc_free(d);
    buf_free(&sc.snap);
  }
  buf_free(&ids);
  return rc;
}
