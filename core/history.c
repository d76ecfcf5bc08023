/*
 * history.c — walking a document's changes in a causal order: the engine's
 * rebuild replays them, and accord_doc_history shows them to people ("who
 * changed the target, when, and why").
 *
 * The walk decodes each chain in order and moves to another chain when the
 * next change waits for a dependency, until a round makes no progress. Every
 * stored change was applied once, so a complete walk always exists; one that
 * stops short means the stored history is corrupt (EMALFORMED).
 *
 * Each author's changes are read through a reader of its own (chain_rd),
 * which holds one unpacked frame at a time while the walk moves along the
 * chain: a rebuild never unpacks whole chains in the document.
 */
#include <string.h>

#include "change.h"
#include "mem.h"

int doc_walk(accord_doc *doc, doc_visit_fn visit, void *ctx) {
  uint32_t n = doc->nactors;
  uint32_t *done = mem_calloc(n, sizeof *done);
  chain *head = mem_calloc(n, sizeof *head); /* each author's walk so far */
  chain_rd *rd = mem_calloc(n ? n : 1, sizeof *rd);
  decoder d;
  memset(&d, 0, sizeof d);
  int rc = !done || !head || !rd ? ACCORD_ENOMEM : 0;
  if (rc) goto out;
  for (int progress = 1; progress && !rc;) {
    progress = 0;
    for (uint32_t a = 0; a < n && !rc; a++) {
      while (done[a] < doc->chains[a].n) {
        size_t len;
        const uint8_t *body;
        if ((rc = chain_get(&doc->chains[a], &rd[a], done[a] + 1, &body,
                            &len)))
          break;
        dchange ch;
        chain_ctx prev = chain_context(&head[a]);
        if ((rc = change_decode(doc, &d, a, &prev, body, len, &ch))) break;
        uint32_t k;
        for (k = 0; k < ch.ndeps; k++)
          if (done[ch.deps[2 * k]] < ch.deps[2 * k + 1]) break;
        if (k < ch.ndeps) break; /* waits for another chain */
        if ((rc = visit(ctx, doc, a, done[a] + 1, &ch, body, len))) break;
        if ((rc = chain_set_tab(&head[a], ch.tab, ch.ntab))) break;
        head[a].end_op = ch.end_op;
        head[a].time = ch.time;
        done[a]++;
        progress = 1;
      }
    }
  }
  for (uint32_t a = 0; a < n && !rc; a++)
    if (done[a] != doc->chains[a].n) rc = ACCORD_EMALFORMED;
out:
  decoder_free(&d);
  for (uint32_t a = 0; head && a < n; a++) mem_free(head[a].tab);
  for (uint32_t a = 0; rd && a < n; a++) chain_rd_free(&rd[a]);
  mem_free(rd);
  mem_free(done);
  mem_free(head);
  return rc;
}

/* ---- the public view ----------------------------------------------------- */

typedef struct hist_ctx {
  accord_change_fn fn;
  void *userdata;
  accord_op_info *ops;
  uint32_t cap;
  int stopped; /* the callback's non-zero return */
} hist_ctx;

static int show_change(void *ctx, accord_doc *doc, uint32_t actor,
                       uint32_t seq, const dchange *ch, const uint8_t *body,
                       size_t len) {
  hist_ctx *h = ctx;
  if (ch->nops > h->cap) {
    accord_op_info *ops = mem_realloc(h->ops, ch->nops * sizeof *ops);
    if (!ops) return ACCORD_ENOMEM;
    h->ops = ops;
    h->cap = ch->nops;
  }
  for (uint32_t k = 0; k < ch->nops; k++) {
    const oper *o = &ch->ops[k];
    accord_op_info *p = &h->ops[k];
    memset(p, 0, sizeof *p);
    static const accord_op_kind kinds[OP_KINDS] = {
        ACCORD_OP_SET, ACCORD_OP_DELETE, ACCORD_OP_INSERT, ACCORD_OP_REMOVE,
        ACCORD_OP_INCREMENT};
    p->kind = kinds[o->kind];
    p->op = doc_public_id(doc, o->id);
    p->obj = doc_public_id(doc, o->obj);
    p->key = o->key;
    p->key_len = o->klen;
    switch (o->kind) {
      case OP_SET: val_public(doc, &o->v, o->id, &p->value); break;
      case OP_INS:
        p->count = o->n;
        if (o->content) {
          p->text = (const char *)o->content;
          p->text_len = o->nbytes;
        } else {
          val_public(doc, &o->vals[0], o->id, &p->value);
        }
        break;
      case OP_RMV: p->count = o->count; break;
      case OP_INC: p->delta = o->delta; break;
      default: break;
    }
  }
  accord_change_meta m;
  memset(&m, 0, sizeof m);
  m.actor = doc->actor[actor];
  m.seq = seq;
  m.start_op = ch->start_op;
  m.time = ch->time;
  m.message = ch->msg;
  m.message_len = ch->msglen;
  m.ops = h->ops;
  m.nops = ch->nops;
  m.bytes = body;
  m.len = len;
  int rc = h->fn(h->userdata, &m);
  if (rc) h->stopped = rc;
  return rc;
}

int accord_doc_history(accord_doc *doc, accord_change_fn fn, void *userdata) {
  if (!doc || !fn) return ACCORD_EINVAL;
  if (doc->poisoned) return doc->poisoned;
  hist_ctx h;
  memset(&h, 0, sizeof h);
  h.fn = fn;
  h.userdata = userdata;
  int rc = doc_walk(doc, show_change, &h);
  mem_free(h.ops);
  return h.stopped ? h.stopped : rc;
}
