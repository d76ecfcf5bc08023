/*
 * txn.c — transactions: local edits become ops, applied at once and
 * encoded into the open change; commit appends the change to the local
 * actor's chain.
 *
 * This is the hot path (one transaction per keystroke in our benchmarks):
 * the transaction lives inside the document and reuses its buffers, so a
 * typical keystroke allocates nothing.
 *
 * Every public operation validates its arguments before it changes
 * anything, so a failed call leaves the document and the transaction as
 * they were. Only an allocation failure while applying can leave the state
 * half changed; then the state is rebuilt from history and the transaction
 * is marked failed (its later calls and its commit return the error).
 */
#include <string.h>

#include "change.h"
#include "mem.h"
#include "utf8.h"

static int txn_usable(const accord_txn *t) {
  if (!t || !t->doc || !t->doc->txn_open || t != &t->doc->txn)
    return ACCORD_EINVAL;
  if (t->doc->poisoned) return t->doc->poisoned;
  return t->doc->txn_err;
}

int accord_txn_begin(accord_doc *doc, accord_txn **out) {
  if (!out) return ACCORD_EINVAL;
  *out = NULL;
  if (!doc) return ACCORD_EINVAL;
  if (doc->poisoned) return doc->poisoned;
  if (doc->txn_open) return ACCORD_EBUSY;
  accord_txn *t = &doc->txn;
  const chain *own = &doc->chains[0];
  t->doc = doc;
  t->ops.len = 0;
  t->ops.err = 0;
  t->nops = 0;
  t->time_set = 0;
  t->ndeps = 0;
  if (t->msg) {
    mem_free(t->msg);
    t->msg = NULL;
  }
  t->msglen = 0;
  /* the change's actor table starts as the previous change's. After a
   * commit that added no actor the refs hold exactly that table already
   * (the usual case when typing): keep them; else start over */
  uint32_t ref;
  int rc = 0;
  if (own->ntab == 0 || t->nactors != own->ntab ||
      memcmp(t->actors, own->tab, own->ntab * sizeof *own->tab) != 0) {
    for (uint32_t i = 0; i < t->nactors; i++) t->aref[t->actors[i]] = 0;
    t->nactors = 0;
    if (own->ntab == 0) rc = txn_ref(t, 0, &ref);
    for (uint32_t i = 0; i < own->ntab && !rc; i++)
      rc = txn_ref(t, own->tab[i], &ref);
    if (rc) return rc;
  }
  t->ninherit = t->nactors;

  /* deps: heads of other actors that arrived since our last change, in
   * actor id order (ranks are that order) */
  uint32_t n = 0;
  for (uint32_t a = 1; a < doc->nactors; a++)
    if (doc->chains[a].n > doc->seen[a]) n++;
  if (n) {
    uint32_t *deps = mem_realloc(t->deps, 2 * n * sizeof *deps);
    if (!deps) return ACCORD_ENOMEM;
    t->deps = deps;
    for (uint32_t a = 1; a < doc->nactors; a++) {
      if (doc->chains[a].n <= doc->seen[a]) continue;
      uint32_t k = t->ndeps++;
      while (k > 0 && doc->rank[deps[2 * (k - 1)]] > doc->rank[a]) {
        deps[2 * k] = deps[2 * (k - 1)];
        deps[2 * k + 1] = deps[2 * (k - 1) + 1];
        k--;
      }
      deps[2 * k] = a;
      deps[2 * k + 1] = doc->chains[a].n;
    }
    for (uint32_t i = 0; i < n; i++)
      if ((rc = txn_ref(t, deps[2 * i], &ref))) return rc;
  }
  t->start_op = doc->st.max_op + 1;
  doc->txn_open = 1;
  doc->txn_err = 0;
  *out = t;
  return 0;
}

int accord_txn_set_message(accord_txn *t, const char *msg, size_t len) {
  int rc = txn_usable(t);
  if (rc) return rc;
  if (!msg && len) return ACCORD_EINVAL;
  if (len > ACCORD_MAX_MESSAGE) return ACCORD_ETOOBIG;
  if (!utf8_valid((const uint8_t *)msg, len, NULL)) return ACCORD_EUTF8;
  char *m = mem_alloc(len + 1);
  if (!m) return ACCORD_ENOMEM;
  if (len) memcpy(m, msg, len);
  m[len] = 0;
  mem_free(t->msg);
  t->msg = m;
  t->msglen = (uint32_t)len;
  return 0;
}

void accord_txn_set_time(accord_txn *t, int64_t ms) {
  if (txn_usable(t)) return;
  t->time = ms;
  t->time_set = 1;
}

static void txn_close(accord_doc *doc) {
  doc->txn_open = 0;
  doc->txn_err = 0;
}

void accord_txn_abort(accord_txn *t) {
  if (!t || !t->doc || t != &t->doc->txn || !t->doc->txn_open) return;
  accord_doc *doc = t->doc;
  if (t->nops > 0 || doc->txn_err) doc_rebuild(doc);
  txn_close(doc);
}

int accord_txn_commit(accord_txn *t, accord_change_info *info) {
  if (info) memset(info, 0, sizeof *info);
  int rc = txn_usable(t);
  if (rc) {
    if (rc != ACCORD_EINVAL) accord_txn_abort(t);
    return rc;
  }
  accord_doc *doc = t->doc;
  if (t->nops == 0) {
    txn_close(doc);
    return 0;
  }
  chain *c = &doc->chains[0];
  if (c->n == UINT32_MAX - 1) {
    accord_txn_abort(t);
    return ACCORD_ETOOBIG;
  }
  if (!t->time_set) t->time = doc_now_ms();
  /* the body is written straight into the chain; everything that can fail
   * comes before chain_push */
  /* the table only grows from the one inherited at begin: the same
   * length is the same table, nothing to copy */
  int newtab = t->nactors != c->ntab;
  rc = chain_prepare(c);
  if (!rc && newtab) rc = chain_tab_reserve(c, t->nactors);
  if (!rc) {
    size_t mark = c->bytes.len;
    change_put_body(&c->bytes, doc, t, c->end_op, c->time);
    rc = c->bytes.err ? c->bytes.err
         : c->bytes.len > UINT32_MAX ? ACCORD_ETOOBIG : 0;
    c->bytes.err = 0;
    if (rc) c->bytes.len = mark;
  }
  if (rc) {
    accord_txn_abort(t);
    return rc;
  }
  chain_push(c, doc->st.max_op + 1, t->time);
  if (newtab) chain_set_tab(c, t->actors, t->nactors); /* reserved */
  for (uint32_t a = 0; a < doc->nactors; a++) doc->seen[a] = doc->chains[a].n;
  if (info) {
    info->seq = c->n;
    info->start_op = t->start_op;
    info->bytes = chain_body(c, c->n, &info->len);
  }
  txn_close(doc);
  return 0;
}

/* ---- emitting ops -------------------------------------------------------- */

/* Rebuilds the state from history plus the transaction's ops so far,
 * decoded from their own encoding. */
static int txn_replay(accord_txn *t) {
  accord_doc *doc = t->doc;
  int rc = doc_rebuild(doc);
  if (rc || t->nops == 0) return rc;
  buf b = {0};
  const chain *c = &doc->chains[0];
  change_put_body(&b, doc, t, c->end_op, c->time);
  decoder d;
  memset(&d, 0, sizeof d);
  dchange ch;
  chain_ctx prev = chain_context(c);
  rc = b.err ? b.err : change_decode(doc, &d, 0, &prev, b.p, b.len, &ch);
  for (uint32_t k = 0; !rc && k < ch.nops; k++)
    rc = state_apply(doc, &doc->st, &ch.ops[k]);
  decoder_free(&d);
  buf_free(&b);
  return rc;
}

/* Registers refs for the actors an op names, in encoding order. */
static int ref_op(accord_txn *t, const oper *o) {
  uint32_t r;
  int rc = 0;
  if (!opid_none(o->obj)) rc = txn_ref(t, o->obj.actor, &r);
  for (uint32_t i = 0; i < o->npred && !rc; i++)
    rc = txn_ref(t, o->pred[i].actor, &r);
  if (!rc && !opid_none(o->left)) rc = txn_ref(t, o->left.actor, &r);
  if (!rc && !opid_none(o->right)) rc = txn_ref(t, o->right.actor, &r);
  if (!rc && (o->kind == OP_RMV || o->kind == OP_INC))
    rc = txn_ref(t, o->target.actor, &r);
  return rc;
}

/* Gives o the next counter, encodes it into the change and applies it. */
static int emit(accord_txn *t, oper *o) {
  accord_doc *doc = t->doc;
  uint32_t span = op_span(o);
  if ((uint64_t)doc->st.max_op + span > ACCORD_MAX_COUNTER)
    return ACCORD_ETOOBIG;
  o->id = opid_make(0, doc->st.max_op + 1);
  size_t mark = t->ops.len;
  uint32_t marka = t->nactors;
  int rc = ref_op(t, o);
  if (!rc) {
    change_put_op(&t->ops, t, o);
    rc = t->ops.err;
  }
  if (rc) {
    t->ops.len = mark;
    t->ops.err = 0;
    while (t->nactors > marka) t->aref[t->actors[--t->nactors]] = 0;
    return rc;
  }
  rc = state_apply(doc, &doc->st, o);
  if (rc) {
    /* validated above, so only an allocation failed, and the state may be
     * half changed: drop the op and rebuild the state as it was */
    t->ops.len = mark;
    t->ops.err = 0;
    while (t->nactors > marka) t->aref[t->actors[--t->nactors]] = 0;
    if (txn_replay(t)) doc->txn_err = rc; /* could not: fail the txn */
    return rc;
  }
  t->nops++;
  return 0;
}

static int check_str(const char *s, size_t len) {
  if (!s && len) return ACCORD_EINVAL;
  if (len >= UINT32_MAX / 2) return ACCORD_ETOOBIG;
  return utf8_valid((const uint8_t *)s, len, NULL) ? 0 : ACCORD_EUTF8;
}

static int check_key(const char *key, size_t *klen) {
  if (!key) return ACCORD_EINVAL;
  *klen = strlen(key);
  if (*klen == 0) return ACCORD_EINVAL;
  if (*klen > ACCORD_MAX_KEY) return ACCORD_ETOOBIG;
  return utf8_valid((const uint8_t *)key, *klen, NULL) ? 0 : ACCORD_EUTF8;
}

/* A public value as a stored value (strings borrowed). */
static int to_val(const accord_value *v, int objects, val *out) {
  memset(out, 0, sizeof *out);
  if (!v) return ACCORD_EINVAL;
  out->type = (uint8_t)v->type;
  switch (v->type) {
    case ACCORD_NULL: return 0;
    case ACCORD_BOOL: out->u.i = v->u.boolean != 0; return 0;
    case ACCORD_INT:
    case ACCORD_TIMESTAMP:
    case ACCORD_COUNTER: out->u.i = v->u.i; return 0;
    case ACCORD_DOUBLE: out->u.d = v->u.d; return 0;
    case ACCORD_STR:
    case ACCORD_BYTES: {
      int rc = v->type == ACCORD_STR ? check_str(v->u.str.ptr, v->u.str.len)
               : (!v->u.str.ptr && v->u.str.len) ? ACCORD_EINVAL
               : v->u.str.len >= UINT32_MAX / 2 ? ACCORD_ETOOBIG
                                                 : 0;
      out->u.s = (char *)v->u.str.ptr;
      out->len = (uint32_t)v->u.str.len;
      return rc;
    }
    case ACCORD_MAP:
    case ACCORD_LIST:
    case ACCORD_TEXT: return objects ? 0 : ACCORD_ETYPE;
    default: return ACCORD_ETYPE;
  }
}

/* ---- maps ---------------------------------------------------------------- */

/* A SET or DEL of key whose pred is every value the key has now. */
static int map_write(accord_txn *t, accord_id objid, const char *key,
                     oper *o) {
  int rc = txn_usable(t);
  if (rc) return rc;
  object *ob;
  size_t klen;
  if ((rc = doc_obj(t->doc, objid, TYPE_BIT(ACCORD_MAP), &ob)) ||
      (rc = check_key(key, &klen)))
    return rc;
  o->obj = ob->id;
  o->key = key;
  o->klen = (uint32_t)klen;
  if (o->kind == OP_SET && (o->v.type == ACCORD_MAP ||
                            o->v.type == ACCORD_LIST ||
                            o->v.type == ACCORD_TEXT) &&
      ob->depth >= ACCORD_MAX_DEPTH)
    return ACCORD_ETOOBIG;
  mentry *e = map_find(&ob->u.m, key, klen);
  if (o->kind == OP_DEL && (!e || e->n == 0)) return ACCORD_ENOTFOUND;
  opid small[8], *pred = small;
  uint32_t n = e ? e->n : 0;
  if (n > 8 && !(pred = mem_alloc(n * sizeof *pred))) return ACCORD_ENOMEM;
  for (uint32_t i = 0; i < n; i++) pred[i] = e->regs[i].op;
  o->pred = pred;
  o->npred = n;
  rc = emit(t, o);
  if (pred != small) mem_free(pred);
  return rc;
}

int accord_map_put(accord_txn *t, accord_id obj, const char *key,
                   const accord_value *v) {
  oper o;
  memset(&o, 0, sizeof o);
  o.kind = OP_SET;
  int rc = to_val(v, 0, &o.v);
  return rc ? rc : map_write(t, obj, key, &o);
}

static int object_type(accord_type type, val *v) {
  memset(v, 0, sizeof *v);
  if (type != ACCORD_MAP && type != ACCORD_LIST && type != ACCORD_TEXT)
    return ACCORD_ETYPE;
  v->type = (uint8_t)type;
  return 0;
}

int accord_map_put_object(accord_txn *t, accord_id obj, const char *key,
                          accord_type type, accord_id *created) {
  oper o;
  memset(&o, 0, sizeof o);
  o.kind = OP_SET;
  int rc = object_type(type, &o.v);
  if (!rc) rc = map_write(t, obj, key, &o);
  if (!rc && created) *created = doc_public_id(t->doc, o.id);
  return rc;
}

int accord_map_delete(accord_txn *t, accord_id obj, const char *key) {
  oper o;
  memset(&o, 0, sizeof o);
  o.kind = OP_DEL;
  return map_write(t, obj, key, &o);
}

int accord_map_increment(accord_txn *t, accord_id objid, const char *key,
                         int64_t delta) {
  int rc = txn_usable(t);
  if (rc) return rc;
  object *ob;
  size_t klen;
  if ((rc = doc_obj(t->doc, objid, TYPE_BIT(ACCORD_MAP), &ob)) ||
      (rc = check_key(key, &klen)))
    return rc;
  mentry *e = map_find(&ob->u.m, key, klen);
  if (!e || e->n == 0) return ACCORD_ENOTFOUND;
  if (e->regs[0].v.type != ACCORD_COUNTER) return ACCORD_ETYPE;
  oper o;
  memset(&o, 0, sizeof o);
  o.kind = OP_INC;
  o.obj = ob->id;
  o.key = key;
  o.klen = (uint32_t)klen;
  o.target = e->regs[0].op;
  o.delta = delta;
  return emit(t, &o);
}

/* ---- sequences ----------------------------------------------------------- */

typedef struct rmv_ctx {
  accord_txn *t;
  opid obj;
  opid *ranges; /* pairs stored as (first, count in .ctr) */
  uint32_t n, cap;
  opid small[16];
} rmv_ctx;

static int collect_range(void *ctx, opid first, uint32_t count) {
  rmv_ctx *x = ctx;
  if (x->n + 2 > x->cap) {
    uint32_t cap = 2 * x->cap;
    opid *r = mem_alloc(cap * sizeof *r);
    if (!r) return ACCORD_ENOMEM;
    memcpy(r, x->ranges, x->n * sizeof *r);
    if (x->ranges != x->small) mem_free(x->ranges);
    x->ranges = r;
    x->cap = cap;
  }
  x->ranges[x->n++] = first;
  x->ranges[x->n++] = opid_make(0, count);
  return 0;
}

/* Deletes visible elements [pos, pos+n) of sequence ob as RMV ops, one per
 * run-sized id range (collected first: deleting shifts positions). */
/* A zero op to start a keystroke's op from: GCC makes a memset of an
 * oper a rep stos, whose start-up costs more than the vector moves of a
 * copy. */
static const oper zero_op;

static int seq_remove(accord_txn *t, object *ob, size_t pos, size_t n) {
  rmv_ctx x;
  x.t = t;
  x.obj = ob->id;
  x.ranges = x.small;
  x.n = 0;
  x.cap = 16;
  int rc = seq_visible_ranges(&ob->u.s, pos, n, collect_range, &x);
  for (uint32_t i = 0; i < x.n && !rc; i += 2) {
    oper o = zero_op;
    o.kind = OP_RMV;
    o.obj = ob->id;
    o.target = x.ranges[i];
    o.count = x.ranges[i + 1].ctr;
    rc = emit(t, &o);
  }
  if (x.ranges != x.small) mem_free(x.ranges);
  return rc;
}

static int seq_obj(accord_txn *t, accord_id objid, accord_type type,
                   object **ob) {
  int rc = txn_usable(t);
  return rc ? rc : doc_obj(t->doc, objid, TYPE_BIT(type), ob);
}

int accord_text_splice(accord_txn *t, accord_id objid, size_t pos, size_t del,
                       const char *s, size_t len) {
  object *ob;
  int rc = seq_obj(t, objid, ACCORD_TEXT, &ob);
  if (rc) return rc;
  size_t ncp;
  if (!s && len) return ACCORD_EINVAL;
  if (len >= UINT32_MAX / 2) return ACCORD_ETOOBIG;
  if (!utf8_valid((const uint8_t *)s, len, &ncp)) return ACCORD_EUTF8;
  size_t vis = ob->u.s.visible;
  if (pos > vis || del > vis - pos) return ACCORD_ERANGE;
  if (del && (rc = seq_remove(t, ob, pos, del))) return rc;
  if (len == 0) return 0;
  oper o = zero_op;
  o.kind = OP_INS;
  o.obj = ob->id;
  seq_cur at;
  seq_local_origins(&ob->u.s, pos, &o.left, &o.right, &at);
  o.at = &at;
  o.n = (uint32_t)ncp;
  o.content = (const uint8_t *)s;
  o.nbytes = (uint32_t)len;
  return emit(t, &o);
}

static int list_insert(accord_txn *t, accord_id objid, size_t index,
                       const val *v, uint32_t n, accord_id *created) {
  object *ob;
  int rc = seq_obj(t, objid, ACCORD_LIST, &ob);
  if (rc) return rc;
  if (index > ob->u.s.visible) return ACCORD_ERANGE;
  if (n == 1 && v->type >= ACCORD_MAP && ob->depth >= ACCORD_MAX_DEPTH)
    return ACCORD_ETOOBIG;
  oper o;
  memset(&o, 0, sizeof o);
  o.kind = OP_INS;
  o.obj = ob->id;
  seq_cur at;
  seq_local_origins(&ob->u.s, index, &o.left, &o.right, &at);
  o.at = &at;
  o.n = n;
  o.vals = v;
  rc = emit(t, &o);
  if (!rc && created) *created = doc_public_id(t->doc, o.id);
  return rc;
}

int accord_list_insert(accord_txn *t, accord_id obj, size_t index,
                       const accord_value *v) {
  val x;
  int rc = to_val(v, 0, &x);
  return rc ? rc : list_insert(t, obj, index, &x, 1, NULL);
}

#define MAX_VALUES_PER_INSERT (1u << 20)

int accord_list_insert_values(accord_txn *t, accord_id obj, size_t index,
                              const accord_value *vals, size_t n) {
  if (n == 0) return txn_usable(t);
  if (!vals) return ACCORD_EINVAL;
  if (n > MAX_VALUES_PER_INSERT) return ACCORD_ETOOBIG;
  val *x = mem_alloc(n * sizeof *x);
  if (!x) return ACCORD_ENOMEM;
  int rc = 0;
  for (size_t i = 0; i < n && !rc; i++) rc = to_val(&vals[i], 0, &x[i]);
  if (!rc) rc = list_insert(t, obj, index, x, (uint32_t)n, NULL);
  mem_free(x);
  return rc;
}

int accord_list_insert_object(accord_txn *t, accord_id obj, size_t index,
                              accord_type type, accord_id *created) {
  val x;
  int rc = object_type(type, &x);
  return rc ? rc : list_insert(t, obj, index, &x, 1, created);
}

int accord_list_delete(accord_txn *t, accord_id objid, size_t index,
                       size_t count) {
  object *ob;
  int rc = seq_obj(t, objid, ACCORD_LIST, &ob);
  if (rc) return rc;
  size_t vis = ob->u.s.visible;
  if (index > vis || count > vis - index) return ACCORD_ERANGE;
  return count ? seq_remove(t, ob, index, count) : 0;
}
