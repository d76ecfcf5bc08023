/*
 * doc.c — creating and freeing documents, public ids, and rebuilding the
 * state from history.
 *
 * Rebuild is the engine's one recovery mechanism: it replays every chain
 * in a causal order into a fresh state and swaps it in only when complete.
 * Transaction aborts, failed imports and allocation failures half way
 * through a change all end here. It costs a full replay, so it is for
 * rare paths only.
 */
#define _POSIX_C_SOURCE 200809L
#include <string.h>
#include <time.h>

#include "change.h"
#include "crypto.h"
#include "mem.h"
#include "oplog_bg.h"
#include "sync_bg.h"

const accord_id accord_root_id = {0, {0}};

int64_t doc_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int accord_doc_new(const uint8_t *doc_id, const uint8_t *actor,
                   accord_doc **out) {
  if (!out) return ACCORD_EINVAL;
  *out = NULL;
  int rc = crypto_init();
  if (rc) return rc;
  accord_doc *doc = mem_calloc(1, sizeof *doc);
  if (!doc) return ACCORD_ENOMEM;
  if (doc_id) memcpy(doc->id, doc_id, ACCORD_DOC_ID_BYTES);
  else crypto_random(doc->id, ACCORD_DOC_ID_BYTES);
  uint8_t a[ACCORD_ACTOR_BYTES];
  if (actor) memcpy(a, actor, ACCORD_ACTOR_BYTES);
  else crypto_random(a, ACCORD_ACTOR_BYTES);
  uint32_t local;
  if ((rc = doc_actor_index(doc, a, &local)) || (rc = state_init(&doc->st))) {
    accord_doc_free(doc);
    return rc;
  }
  *out = doc;
  return 0;
}

void accord_doc_free(accord_doc *doc) {
  if (!doc) return;
  state_free(&doc->st);
  for (uint32_t i = 0; i < doc->nactors; i++) chain_free(&doc->chains[i]);
  for (uint32_t i = 0; i < doc->npending; i++) {
    mem_free(doc->pending[i].body);
    mem_free(doc->pending[i].seal);
  }
  mem_free(doc->pending);
  fork_truncate(doc, 0);
  mem_free(doc->forks);
  oplog_bg_free(doc); /* before the pool: its job may be running there */
  bg_pool_free(doc->bg);
  chain_rd_free(&doc->rd);
  mem_free(doc->chains);
  mem_free(doc->actor);
  mem_free(doc->rank);
  mem_free(doc->order);
  mem_free(doc->seen);
  accord_txn *t = &doc->txn;
  buf_free(&t->ops);
  mem_free(t->msg);
  mem_free(t->actors);
  mem_free(t->aref);
  mem_free(t->deps);
  if (doc->dec) {
    decoder_free(doc->dec);
    mem_free(doc->dec);
  }
  crypto_wipe(doc->sk, sizeof doc->sk);
  mem_free(doc);
}

const uint8_t *accord_doc_id(const accord_doc *doc) { return doc->id; }

size_t accord_doc_pending(const accord_doc *doc) {
  return doc ? doc->npending : 0;
}
const uint8_t *accord_doc_actor(const accord_doc *doc) { return doc->actor[0]; }

size_t accord_doc_mem_bytes(const accord_doc *doc) {
  return sizeof *doc + state_mem(&doc->st) + oplog_mem(doc) +
         oplog_bg_mem(doc) + doc->txn.ops.cap;
}

int accord_doc_settle(accord_doc *doc) {
  if (!doc) return ACCORD_EINVAL;
  if (doc->poisoned) return doc->poisoned;
  if (doc->txn_open) return ACCORD_EBUSY;
  oplog_bg_settle(doc);
  return 0;
}

int doc_opid(const accord_doc *doc, accord_id id, opid *out) {
  static const uint8_t zero[ACCORD_ACTOR_BYTES];
  if (id.counter == 0) {
    if (memcmp(id.actor, zero, sizeof zero)) return ACCORD_ENOTFOUND;
    *out = opid_make(0, 0);
    return 0;
  }
  uint32_t a;
  if (id.counter > ACCORD_MAX_COUNTER || !doc_actor_find(doc, id.actor, &a))
    return ACCORD_ENOTFOUND;
  *out = opid_make(a, (uint32_t)id.counter);
  return 0;
}

accord_id doc_public_id(const accord_doc *doc, opid id) {
  accord_id r;
  memset(&r, 0, sizeof r);
  if (opid_none(id)) return r;
  r.counter = id.ctr;
  memcpy(r.actor, doc->actor[id.actor], ACCORD_ACTOR_BYTES);
  return r;
}

int doc_obj_find(const accord_doc *doc, accord_id id, unsigned mask,
                 object **out) {
  opid o;
  if (!doc) return ACCORD_EINVAL;
  if (doc->poisoned) return doc->poisoned;
  /* doc_obj's inline check missed (or found an object of another type) */
  if (doc_opid(doc, id, &o)) return ACCORD_ENOTFOUND;
  object *x = state_obj(&doc->st, o);
  if (!x) return ACCORD_ENOTFOUND;
  docstate *st = (docstate *)&doc->st; /* a cache, not state */
  st->last_id = id;
  st->last_obj = x;
  if (!(mask & TYPE_BIT(x->type))) return ACCORD_ETYPE;
  *out = x;
  return 0;
}

int accord_obj_type(const accord_doc *doc, accord_id id, accord_type *out) {
  object *o;
  int rc = doc_obj(doc, id, ~0u, &o);
  if (rc) return rc;
  *out = (accord_type)o->type;
  return 0;
}

int doc_fail(accord_doc *doc, int rc) {
  if (!doc->poisoned) doc->poisoned = rc ? rc : ACCORD_ENOMEM;
  return rc;
}

static int apply_change(void *ctx, accord_doc *doc, uint32_t actor,
                        uint32_t seq, const dchange *ch, const uint8_t *body,
                        size_t len) {
  docstate *st = ctx;
  (void)actor;
  (void)seq;
  (void)body;
  (void)len;
  int rc = 0;
  for (uint32_t k = 0; k < ch->nops && !rc; k++)
    rc = state_apply(doc, st, &ch->ops[k]);
  return rc;
}

int doc_rebuild(accord_doc *doc) {
  docstate st;
  int rc = state_init(&st);
  if (!rc) rc = doc_walk(doc, apply_change, &st);
  if (rc) {
    state_free(&st);
    return doc_fail(doc, rc);
  }
  state_free(&doc->st);
  doc->st = st;
  return 0;
}

/* ---- marks --------------------------------------------------------------- */

int doc_mark_take(const accord_doc *doc, doc_mark *m) {
  return doc_mark_take_in(doc, m, NULL, NULL, 0);
}

int doc_mark_take_in(const accord_doc *doc, doc_mark *m, chain *heads,
                     uint32_t *seen, uint32_t cap) {
  memset(m, 0, sizeof *m);
  m->nactors = doc->nactors;
  if (heads && doc->nactors <= cap) {
    m->heads = heads;
    m->seen = seen;
    m->borrowed = 1;
    if (doc->npending &&
        !(m->pending = mem_alloc(doc->npending * sizeof *m->pending)))
      goto nomem;
  } else {
    m->heads = mem_alloc((doc->nactors + 1) * sizeof *m->heads);
    m->pending = mem_alloc((doc->npending + 1) * sizeof *m->pending);
    m->seen = mem_alloc((doc->nactors + 1) * sizeof *m->seen);
    if (!m->heads || !m->pending || !m->seen) goto nomem;
  }
  memcpy(m->heads, doc->chains, doc->nactors * sizeof *m->heads);
  memcpy(m->seen, doc->seen, doc->nactors * sizeof *m->seen);
  for (; m->npending < doc->npending; m->npending++) {
    const pend *p = &doc->pending[m->npending];
    pend *q = &m->pending[m->npending];
    *q = *p;
    q->seal = NULL;
    if (!(q->body = mem_alloc(p->len ? p->len : 1))) goto nomem;
    memcpy(q->body, p->body, p->len);
    if (p->seal) {
      if (!(q->seal = mem_alloc(SEAL_WIRE_BYTES))) {
        m->npending++; /* so that its body is freed */
        goto nomem;
      }
      memcpy(q->seal, p->seal, SEAL_WIRE_BYTES);
    }
  }
  m->pending_bytes = doc->pending_bytes;
  m->nforks = doc->nforks;
  return 0;
nomem:
  doc_mark_free(m);
  return ACCORD_ENOMEM;
}

void doc_mark_free(doc_mark *m) {
  for (uint32_t i = 0; i < m->npending; i++) {
    mem_free(m->pending[i].body);
    mem_free(m->pending[i].seal);
  }
  mem_free(m->pending);
  if (!m->borrowed) {
    mem_free(m->heads);
    mem_free(m->seen);
  }
  memset(m, 0, sizeof *m);
}

int doc_mark_restore(accord_doc *doc, doc_mark *m) {
  int changed = doc->nactors != m->nactors || m->touched;
  for (uint32_t a = 0; a < doc->nactors; a++) {
    chain *c = &doc->chains[a];
    const chain *h = a < m->nactors ? &m->heads[a] : NULL;
    uint32_t n = h ? h->n : 0;
    if (c->n != n) changed = 1;
    chain_truncate(c, h);
    if (h) {
      /* checkpoints only grow during an import (seal_adopt appends):
       * the mark's are a prefix of the chain's */
      c->seal = h->seal;
      if (c->ncps > h->ncps) c->ncps = h->ncps;
      c->gap_seq = h->gap_seq;
      c->gap = h->gap;
    } else {
      memset(&c->seal, 0, sizeof c->seal);
      c->ncps = 0;
      c->gap_seq = 0;
    }
    doc->seen[a] = h ? m->seen[a] : 0;
  }
  doc_actors_truncate(doc, m->nactors); /* authors the undone part named */
  for (uint32_t i = 0; i < doc->npending; i++) {
    mem_free(doc->pending[i].body);
    mem_free(doc->pending[i].seal);
  }
  mem_free(doc->pending);
  doc->pending = m->pending;
  doc->npending = doc->cappending = m->npending;
  doc->pending_bytes = m->pending_bytes;
  m->pending = NULL;
  m->npending = 0;
  fork_truncate(doc, m->nforks);
  doc_mark_free(m);
  return changed ? doc_rebuild(doc) : 0;
}
