/*
 * state.c — the objects a document's history builds, and applying one op.
 *
 * The object table is open addressing over op ids (linear probing, at most
 * half full). Objects are allocated one by one so that pointers to them stay
 * valid while the table grows. Objects are never removed: one that is no
 * longer reachable from the root may still receive concurrent ops.
 *
 * state_apply checks that an op fits the state before changing anything
 * where that is cheap; a failure after a change (ENOMEM) is repaired by the
 * caller rebuilding the state from history.
 */
#include <string.h>

#include "doc.h"
#include "mem.h"

void val_clear(val *v) {
  if (v->type == ACCORD_STR || v->type == ACCORD_BYTES) mem_free(v->u.s);
  memset(v, 0, sizeof *v);
}

int val_copy(val *dst, const val *v) {
  *dst = *v;
  if (v->type == ACCORD_STR || v->type == ACCORD_BYTES) {
    char *s = mem_alloc((size_t)v->len + 1);
    if (!s) {
      memset(dst, 0, sizeof *dst); /* never left holding a borrowed string */
      return ACCORD_ENOMEM;
    }
    if (v->len) memcpy(s, v->u.s, v->len);
    s[v->len] = 0;
    dst->u.s = s;
  }
  return 0;
}

/* ---- object table -------------------------------------------------------- */

static uint32_t hash_id(opid id, uint32_t cap) {
  return (uint32_t)((opid_key(id) * 0x9e3779b97f4a7c15ull) >> 32) & (cap - 1);
}

object *state_obj(const docstate *st, opid id) {
  uint32_t i = hash_id(id, st->objs.cap);
  for (;;) {
    object *o = st->objs.slot[i];
    if (!o) return NULL;
    if (opid_eq(o->id, id)) return o;
    i = (i + 1) & (st->objs.cap - 1);
  }
}

static void place(object **slot, uint32_t cap, object *o) {
  uint32_t i = hash_id(o->id, cap);
  while (slot[i]) i = (i + 1) & (cap - 1);
  slot[i] = o;
}

int state_new_obj(docstate *st, const object *parent, opid id, uint8_t type) {
  if (state_obj(st, id)) return ACCORD_EMALFORMED;
  uint32_t depth = parent ? parent->depth + 1u : 0;
  if (depth > ACCORD_MAX_DEPTH) return ACCORD_ETOOBIG;
  if (2 * (st->objs.n + 1) > st->objs.cap) {
    uint32_t cap = st->objs.cap * 2;
    object **slot = mem_calloc(cap, sizeof *slot);
    if (!slot) return ACCORD_ENOMEM;
    for (uint32_t i = 0; i < st->objs.cap; i++)
      if (st->objs.slot[i]) place(slot, cap, st->objs.slot[i]);
    mem_free(st->objs.slot);
    st->objs.slot = slot;
    st->objs.cap = cap;
  }
  object *o = mem_calloc(1, sizeof *o);
  if (!o) return ACCORD_ENOMEM;
  o->id = id;
  o->type = type;
  o->depth = (uint16_t)depth;
  if (type == ACCORD_LIST || type == ACCORD_TEXT) {
    int rc = seq_init(&o->u.s, type == ACCORD_TEXT);
    if (rc) {
      mem_free(o);
      return rc;
    }
  }
  place(st->objs.slot, st->objs.cap, o);
  st->objs.n++;
  return 0;
}

int state_init(docstate *st) {
  memset(st, 0, sizeof *st);
  st->objs.slot = mem_calloc(16, sizeof *st->objs.slot);
  if (!st->objs.slot) return ACCORD_ENOMEM;
  st->objs.cap = 16;
  int rc = state_new_obj(st, NULL, opid_make(0, 0), ACCORD_MAP);
  if (rc) state_free(st);
  return rc;
}

void state_free(docstate *st) {
  for (uint32_t i = 0; i < st->objs.cap; i++) {
    object *o = st->objs.slot[i];
    if (!o) continue;
    if (o->type == ACCORD_MAP) map_free(&o->u.m);
    else seq_free(&o->u.s);
    mem_free(o);
  }
  mem_free(st->objs.slot);
  memset(st, 0, sizeof *st);
}

size_t state_mem(const docstate *st) {
  size_t m = st->objs.cap * sizeof(object *);
  for (uint32_t i = 0; i < st->objs.cap; i++) {
    const object *o = st->objs.slot[i];
    if (!o) continue;
    m += sizeof *o + (o->type == ACCORD_MAP ? map_mem(&o->u.m)
                                            : seq_mem(&o->u.s));
  }
  return m;
}

/* ---- applying ops -------------------------------------------------------- */

static int is_object_type(uint8_t t) {
  return t == ACCORD_MAP || t == ACCORD_LIST || t == ACCORD_TEXT;
}

static int apply_ins(accord_doc *doc, docstate *st, object *o, const oper *op) {
  sequence *s = &o->u.s;
  if (o->type == ACCORD_TEXT) {
    if (!op->content) return ACCORD_EMALFORMED;
    if (op->at)
      return seq_insert_at(s, *op->at, op->id, op->n, op->left, op->right,
                           op->content, op->nbytes, NULL);
    return seq_integrate(s, doc->rank, op->id, op->n, op->left, op->right,
                         op->content, op->nbytes, NULL);
  }
  if (op->content) return ACCORD_EMALFORMED;
  for (uint32_t k = 0; k < op->n; k++)
    if (is_object_type(op->vals[k].type) && o->depth >= ACCORD_MAX_DEPTH)
      return ACCORD_ETOOBIG;
  val *copy = mem_calloc(op->n, sizeof *copy);
  if (!copy) return ACCORD_ENOMEM;
  uint32_t i;
  int rc = 0;
  for (i = 0; i < op->n && !rc; i++) rc = val_copy(&copy[i], &op->vals[i]);
  if (!rc && op->at)
    rc = seq_insert_at(s, *op->at, op->id, op->n, op->left, op->right, NULL,
                       0, copy);
  else if (!rc)
    rc = seq_integrate(s, doc->rank, op->id, op->n, op->left, op->right,
                       NULL, 0, copy);
  if (rc) {
    while (i > 0) val_clear(&copy[--i]);
    mem_free(copy);
    return rc;
  }
  mem_free(copy); /* the values moved into the sequence */
  for (i = 0; i < op->n && !rc; i++)
    if (is_object_type(op->vals[i].type))
      rc = state_new_obj(st, o, opid_make(op->id.actor, op->id.ctr + i),
                         op->vals[i].type);
  return rc;
}

static int apply_inc(object *o, const oper *op) {
  if (o->type == ACCORD_MAP) {
    if (!op->key) return ACCORD_EMALFORMED;
    return map_increment(&o->u.m, op->key, op->klen, op->target, op->delta);
  }
  if (o->type != ACCORD_LIST || op->key) return ACCORD_EMALFORMED;
  val *v = seq_list_get_id(&o->u.s, op->target);
  if (!v) return ACCORD_EMALFORMED;
  if (v->type == ACCORD_COUNTER)
    v->u.i = (int64_t)((uint64_t)v->u.i + (uint64_t)op->delta);
  return 0;
}

int state_apply(accord_doc *doc, docstate *st, const oper *op) {
  object *o = state_obj(st, op->obj);
  if (!o) return ACCORD_EMALFORMED;
  int rc;
  switch (op->kind) {
    case OP_SET:
    case OP_DEL:
      if (o->type != ACCORD_MAP) return ACCORD_EMALFORMED;
      rc = map_apply(doc, st, o, op);
      break;
    case OP_INS:
      if (o->type == ACCORD_MAP) return ACCORD_EMALFORMED;
      rc = apply_ins(doc, st, o, op);
      break;
    case OP_RMV: {
      uint32_t newly;
      if (o->type == ACCORD_MAP) return ACCORD_EMALFORMED;
      rc = seq_delete(&o->u.s, op->target, op->count, &newly);
      break;
    }
    case OP_INC: rc = apply_inc(o, op); break;
    default: return ACCORD_EMALFORMED;
  }
  if (rc) return rc;
  uint32_t last = op->id.ctr + op_span(op) - 1;
  if (last > st->max_op) st->max_op = last;
  return 0;
}
