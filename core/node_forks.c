/*
 * node_forks.c — fork evidence (core/fork.c) of a node's documents: loaded
 * into a document when it opens, and listed per workspace. Storing new
 * evidence is part of a document's persist (node_doc.c), in the same write
 * as the import that found it.
 *
 * Invariant (ndoc.forks_stored): the document's records [0, forks_stored)
 * are in the store. Records another process stores after a document opened
 * reach it when it is opened again (a refresh takes in changes only); the
 * workspace listing always reads the store.
 */
#include <string.h>

#include "mem.h"
#include "node.h"

typedef struct forkctx {
  accord_doc *doc; /* loading into this document, or */
  fork_ev *ev;     /* collecting copies */
  uint32_t n, cap;
  store *st;
  const uint8_t *ws;
} forkctx;

static int load_one(void *vctx, const uint8_t *doc, const uint8_t *ev,
                    size_t len) {
  forkctx *c = vctx;
  (void)doc;
  uint8_t *copy = mem_alloc(len ? len : 1);
  if (!copy) return ACCORD_ENOMEM;
  memcpy(copy, ev, len);
  int rc = fork_add_bytes(c->doc, copy, len); /* takes copy */
  /* a damaged record is evidence lost, not a reason to refuse the document */
  return rc == ACCORD_ENOMEM ? rc : 0;
}

static int load_txn(store_txn *t, void *vctx) {
  forkctx *c = vctx;
  return store_fork_each(t, c->ws, c->doc->id, load_one, c);
}

int node_forks_load(accord_node *node, ndoc *nd) {
  forkctx c;
  memset(&c, 0, sizeof c);
  c.doc = nd->doc;
  c.ws = nd->ws;
  uint32_t before = nd->doc->nforks;
  int rc = store_read(node->st, load_txn, &c);
  if (rc) {
    fork_truncate(nd->doc, before);
    return rc;
  }
  nd->forks_stored = nd->doc->nforks;
  return 0;
}

static int collect_one(void *vctx, const uint8_t *doc, const uint8_t *ev,
                       size_t len) {
  forkctx *c = vctx;
  char hex[72];
  if (accord_fork_verify(ev, len, NULL))
    return store_fail(c->st, ACCORD_ECORRUPT,
                      "document %s: a stored fork record does not verify",
                      node_hex_doc(c->ws, doc, hex));
  if (c->n == c->cap) {
    uint32_t cap = c->cap ? 2 * c->cap : 8;
    fork_ev *e = mem_realloc(c->ev, cap * sizeof *e);
    if (!e) return ACCORD_ENOMEM;
    c->ev = e;
    c->cap = cap;
  }
  if (!(c->ev[c->n].ev = mem_alloc(len ? len : 1))) return ACCORD_ENOMEM;
  memcpy(c->ev[c->n].ev, ev, len);
  c->ev[c->n].len = len;
  c->n++;
  return 0;
}

static int collect_txn(store_txn *t, void *vctx) {
  forkctx *c = vctx;
  store_ws w;
  int rc = store_ws_get(t, c->ws, &w);
  return rc ? rc : store_fork_each(t, c->ws, NULL, collect_one, c);
}

int accord_node_forks(accord_node *node, const uint8_t *ws, accord_fork **out,
                      size_t *n) {
  if (!out || !n) return ACCORD_EINVAL;
  *out = NULL;
  *n = 0;
  if (!node || !ws) return ACCORD_EINVAL;
  store_clear_err(node->st);
  forkctx c;
  memset(&c, 0, sizeof c);
  c.st = node->st;
  c.ws = ws;
  int rc = store_read(node->st, collect_txn, &c);
  if (!rc) rc = fork_list(c.ev, c.n, out, n);
  for (uint32_t i = 0; i < c.n; i++) mem_free(c.ev[i].ev);
  mem_free(c.ev);
  return rc;
}
