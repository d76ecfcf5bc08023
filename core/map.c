/*
 * map.c — maps of multi-value registers.
 *
 * Entries are a sorted array (by key bytes): our maps are records — a goal's
 * dozen fields — so binary search and memmove beat hashing, and key order
 * comes for free for listing and JSON. Each entry's values are kept winner
 * first (descending op id). A set removes the values it saw (pred) and adds
 * its own; values it did not see stay as conflicts. Delete is a set of
 * nothing.
 */
#include <string.h>

#include "doc.h"
#include "mem.h"

static int key_cmp(const mentry *e, const char *key, size_t klen) {
  size_t n = e->klen < klen ? e->klen : klen;
  int c = memcmp(e->key, key, n);
  if (c) return c;
  return e->klen < klen ? -1 : e->klen > klen;
}

/* Index of key, or of where it would go (with *found = 0). */
static uint32_t search(const kvmap *m, const char *key, size_t klen,
                       int *found) {
  uint32_t lo = 0, hi = m->n;
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    int c = key_cmp(&m->e[mid], key, klen);
    if (c == 0) {
      *found = 1;
      return mid;
    }
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  *found = 0;
  return lo;
}

mentry *map_find(const kvmap *m, const char *key, size_t klen) {
  int found;
  uint32_t i = search(m, key, klen, &found);
  return found ? &m->e[i] : NULL;
}

mentry *map_live_entry(const kvmap *m, size_t i) {
  for (uint32_t k = 0; k < m->n; k++)
    if (m->e[k].n > 0 && i-- == 0) return &m->e[k];
  return NULL;
}

static int in_pred(const oper *o, opid id) {
  for (uint32_t i = 0; i < o->npred; i++)
    if (opid_eq(o->pred[i], id)) return 1;
  return 0;
}

int map_apply(accord_doc *doc, docstate *st, object *ob, const oper *o) {
  kvmap *m = &ob->u.m;
  int found;
  uint32_t at = search(m, o->key, o->klen, &found);
  if (!found && o->kind == OP_DEL) return 0;
  if (o->kind == OP_SET && o->v.type > ACCORD_TEXT) return ACCORD_EMALFORMED;

  /* everything that can fail happens before the map changes */
  mreg nr;
  nr.op = o->id;
  if (o->kind == OP_SET && val_copy(&nr.v, &o->v)) return ACCORD_ENOMEM;
  if (!found) {
    char *key = mem_alloc((size_t)o->klen + 1);
    if (!key) goto nomem;
    memcpy(key, o->key, o->klen);
    key[o->klen] = 0;
    if (m->n == m->cap) {
      uint32_t cap = m->cap ? 2 * m->cap : 8;
      mentry *e = mem_realloc(m->e, cap * sizeof *e);
      if (!e) {
        mem_free(key);
        goto nomem;
      }
      m->e = e;
      m->cap = cap;
    }
    memmove(&m->e[at + 1], &m->e[at], (m->n - at) * sizeof *m->e);
    memset(&m->e[at], 0, sizeof *m->e);
    m->e[at].key = key;
    m->e[at].klen = o->klen;
    m->n++;
  }
  mentry *e = &m->e[at];
  if (o->kind == OP_SET && e->n == e->cap) {
    uint32_t cap = e->cap ? 2 * e->cap : 1;
    mreg *r = mem_realloc(e->regs, cap * sizeof *r);
    if (!r) goto nomem;
    e->regs = r;
    e->cap = cap;
  }
  if (o->kind == OP_SET && (o->v.type == ACCORD_MAP ||
                            o->v.type == ACCORD_LIST ||
                            o->v.type == ACCORD_TEXT)) {
    int rc = state_new_obj(st, ob, o->id, o->v.type);
    if (rc) {
      val_clear(&nr.v);
      return rc;
    }
  }

  int was_live = e->n > 0;
  uint32_t k = 0;
  for (uint32_t i = 0; i < e->n; i++) {
    if (in_pred(o, e->regs[i].op)) val_clear(&e->regs[i].v);
    else e->regs[k++] = e->regs[i];
  }
  e->n = k;
  if (o->kind == OP_SET) {
    uint32_t pos = 0;
    while (pos < e->n && op_newer(doc, e->regs[pos].op, nr.op)) pos++;
    memmove(&e->regs[pos + 1], &e->regs[pos], (e->n - pos) * sizeof nr);
    e->regs[pos] = nr;
    e->n++;
  }
  m->live += (e->n > 0) - was_live;
  return 0;

nomem:
  if (o->kind == OP_SET) val_clear(&nr.v);
  return ACCORD_ENOMEM;
}

int map_increment(kvmap *m, const char *key, size_t klen, opid target,
                  int64_t delta) {
  mentry *e = map_find(m, key, klen);
  if (!e) return 0; /* the counter was deleted concurrently */
  for (uint32_t i = 0; i < e->n; i++) {
    val *v = &e->regs[i].v;
    if (opid_eq(e->regs[i].op, target) && v->type == ACCORD_COUNTER)
      v->u.i = (int64_t)((uint64_t)v->u.i + (uint64_t)delta);
  }
  return 0;
}

void map_free(kvmap *m) {
  for (uint32_t i = 0; i < m->n; i++) {
    mentry *e = &m->e[i];
    for (uint32_t k = 0; k < e->n; k++) val_clear(&e->regs[k].v);
    mem_free(e->regs);
    mem_free(e->key);
  }
  mem_free(m->e);
  memset(m, 0, sizeof *m);
}

size_t map_mem(const kvmap *m) {
  size_t s = m->cap * sizeof(mentry);
  for (uint32_t i = 0; i < m->n; i++) {
    const mentry *e = &m->e[i];
    s += e->klen + 1 + e->cap * sizeof(mreg);
    for (uint32_t k = 0; k < e->n; k++)
      if (e->regs[k].v.type == ACCORD_STR || e->regs[k].v.type == ACCORD_BYTES)
        s += e->regs[k].v.len + 1;
  }
  return s;
}
