/*
 * snapshot.c — a document's state as bytes, so that opening a document
 * does not replay its history (DESIGN §5: "opening a document loads its
 * latest snapshot and applies only the changes after it").
 *
 * Format: [max_op, objects] where each object is
 *   [type, ref, ctr, depth, body]          (the root: ref 0, ctr 0)
 *   map body:  [[key, [ref, ctr, value, ...]], ...]   live keys only
 *   list/text: [[ref, ctr, len, lref, lctr, rref, rctr, deleted, ...],
 *               content]
 * where refs index the caller's actor table, an origin with ctr 0 is
 * none, and content holds only the visible elements (text as one string,
 * lists as an array of values): tombstones keep their ids and origins, not
 * their content, which lives on in the history.
 *
 * Loading checks everything memory safety depends on: lengths, UTF-8, no
 * two runs sharing an id, every origin present, and every object value
 * naming an object of its type exactly one level deeper (so walks of the
 * tree terminate). It does not replay history to prove that the state is
 * the one the history builds: callers trust their own snapshots (the save
 * format protects them with a checksum) and import changes from anyone
 * else.
 */
#include <string.h>

#include "change.h"
#include "mem.h"
#include "mp.h"
#include "snapshot.h"
#include "utf8.h"

/* ---- writing ------------------------------------------------------------- */

typedef struct wctx {
  const accord_doc *doc;
  const uint32_t *ref; /* doc actor index -> ref */
  buf *b;
  buf content;
  uint32_t nvis; /* list: visible values written */
} wctx;

static void put_id(wctx *w, opid id) {
  mp_put_uint(w->b, opid_none(id) ? 0 : w->ref[id.actor]);
  mp_put_uint(w->b, id.ctr);
}

static int put_run(void *ctx, const sequence *s, const seq_run *r) {
  wctx *w = ctx;
  put_id(w, r->id);
  mp_put_uint(w->b, r->len);
  put_id(w, r->left);
  put_id(w, r->right);
  mp_put_bool(w->b, r->deleted);
  if (!r->deleted && s->is_text)
    buf_put(&w->content, s->content.p + r->off, r->bytes);
  return w->b->err;
}

static int count_run(void *ctx, const sequence *s, const seq_run *r) {
  (void)s;
  (*(uint32_t *)ctx)++;
  (void)r;
  return 0;
}

static int put_elem(void *ctx, opid id, val *v) {
  wctx *w = ctx;
  (void)id;
  change_put_val(&w->content, v);
  w->nvis++;
  return w->content.err;
}

static void put_object(wctx *w, const object *o) {
  buf *b = w->b;
  mp_put_array(b, 5);
  mp_put_uint(b, o->type);
  put_id(w, o->id);
  mp_put_uint(b, o->depth);
  if (o->type == ACCORD_MAP) {
    mp_put_array(b, o->u.m.live);
    for (uint32_t i = 0; i < o->u.m.n; i++) {
      const mentry *e = &o->u.m.e[i];
      if (e->n == 0) continue;
      mp_put_array(b, 2);
      mp_put_str(b, e->key, e->klen);
      mp_put_array(b, 3 * e->n);
      for (uint32_t k = 0; k < e->n; k++) {
        put_id(w, e->regs[k].op);
        change_put_val(b, &e->regs[k].v);
      }
    }
    return;
  }
  const sequence *s = &o->u.s;
  uint32_t runs = 0;
  seq_each_run(s, count_run, &runs);
  mp_put_array(b, 2);
  mp_put_array(b, 8 * runs);
  w->content.len = 0;
  w->nvis = 0;
  seq_each_run(s, put_run, w);
  if (s->is_text) {
    mp_put_str(b, w->content.p, w->content.len);
  } else {
    w->content.len = 0;
    seq_each_visible(s, put_elem, w);
    mp_put_array(b, w->nvis);
    buf_put(b, w->content.p, w->content.len);
  }
  if (w->content.err) b->err = w->content.err;
}

int snap_put(const accord_doc *doc, const uint32_t *ref, buf *b) {
  wctx w;
  memset(&w, 0, sizeof w);
  w.doc = doc;
  w.ref = ref;
  w.b = b;
  const docstate *st = &doc->st;
  mp_put_array(b, 2);
  mp_put_uint(b, st->max_op);
  mp_put_array(b, st->objs.n);
  for (uint32_t i = 0; i < st->objs.cap; i++)
    if (st->objs.slot[i]) put_object(&w, st->objs.slot[i]);
  buf_free(&w.content);
  return b->err;
}

/* ---- reading ------------------------------------------------------------- */

typedef struct rctx {
  mp_reader r;
  accord_doc *doc;
  docstate *st;
  const uint32_t *actors; /* ref -> doc actor index */
  uint32_t nactors;
  uint32_t max_op;
} rctx;

static int get_id(rctx *x, int may_none, opid *id) {
  uint64_t ref, ctr;
  if (mp_get_uint(&x->r, &ref) || mp_get_uint_max(&x->r, x->max_op, &ctr))
    return ACCORD_EMALFORMED;
  if (ctr == 0) {
    if (!may_none || ref) return ACCORD_EMALFORMED;
    *id = opid_make(0, 0);
    return 0;
  }
  if (ref >= x->nactors) return ACCORD_EMALFORMED;
  *id = opid_make(x->actors[ref], (uint32_t)ctr);
  return 0;
}

static int get_map(rctx *x, object *o) {
  uint32_t n, nregs;
  if (mp_get_array(&x->r, &n)) return ACCORD_EMALFORMED;
  for (uint32_t i = 0; i < n; i++) {
    const char *key;
    size_t klen;
    uint32_t two;
    if (mp_get_array(&x->r, &two) || two != 2 ||
        mp_get_str(&x->r, &key, &klen) || klen == 0 ||
        klen > ACCORD_MAX_KEY || mp_get_array(&x->r, &nregs) ||
        nregs == 0 || nregs % 3)
      return ACCORD_EMALFORMED;
    if (!utf8_valid((const uint8_t *)key, klen, NULL)) return ACCORD_EUTF8;
    if (map_find(&o->u.m, key, klen)) return ACCORD_EMALFORMED;
    for (uint32_t k = 0; k < nregs / 3; k++) {
      /* each value goes in as a set that saw nothing: concurrent values
       * stay side by side and the register orders them itself */
      oper op;
      memset(&op, 0, sizeof op);
      op.kind = OP_SET;
      op.obj = o->id;
      op.key = key;
      op.klen = (uint32_t)klen;
      int rc = get_id(x, 0, &op.id);
      if (!rc) rc = change_read_val(&x->r, &op.v);
      if (!rc) {
        mentry *e = map_find(&o->u.m, key, klen);
        for (uint32_t j = 0; e && j < e->n; j++)
          if (opid_eq(e->regs[j].op, op.id)) rc = ACCORD_EMALFORMED;
      }
      /* objects come from their own entries: only the value is set here */
      uint8_t t = op.v.type;
      if (t == ACCORD_MAP || t == ACCORD_LIST || t == ACCORD_TEXT)
        op.v.type = ACCORD_NULL;
      if (!rc) rc = map_apply(x->doc, x->st, o, &op);
      if (rc) return rc;
      mentry *e = map_find(&o->u.m, key, klen);
      for (uint32_t j = 0; j < e->n; j++)
        if (opid_eq(e->regs[j].op, op.id)) e->regs[j].v.type = t;
    }
  }
  return 0;
}

static int get_seq(rctx *x, object *o) {
  uint32_t two, nf, nv = 0;
  if (mp_get_array(&x->r, &two) || two != 2 || mp_get_array(&x->r, &nf) ||
      nf % 8)
    return ACCORD_EMALFORMED;
  /* the runs come before the content they index: read ahead to it */
  mp_reader runs = x->r;
  for (uint32_t i = 0; i < nf; i++)
    if (mp_skip(&x->r)) return ACCORD_EMALFORMED;
  const char *text = NULL;
  size_t tlen = 0;
  if (o->type == ACCORD_TEXT) {
    if (mp_get_str(&x->r, &text, &tlen)) return ACCORD_EMALFORMED;
    if (!utf8_valid((const uint8_t *)text, tlen, NULL)) return ACCORD_EUTF8;
  } else if (mp_get_array(&x->r, &nv)) {
    return ACCORD_EMALFORMED;
  }
  mp_reader after = x->r;
  x->r = runs;
  size_t used = 0;
  uint32_t vals_used = 0;
  int rc = 0;
  for (uint32_t i = 0; i < nf / 8 && !rc; i++) {
    opid id, left, right;
    uint64_t len;
    int deleted;
    if (get_id(x, 0, &id) || mp_get_uint_max(&x->r, UINT32_MAX, &len) ||
        get_id(x, 1, &left) || get_id(x, 1, &right) ||
        mp_get_bool(&x->r, &deleted) || len == 0)
      return ACCORD_EMALFORMED;
    if (deleted) {
      rc = seq_build_run(&o->u.s, id, (uint32_t)len, left, right, 1, NULL, 0,
                         NULL);
    } else if (text) {
      size_t end = used + utf8_offset((const uint8_t *)text + used,
                                      tlen - used, (size_t)len);
      if (utf8_count((const uint8_t *)text + used, end - used) != len)
        return ACCORD_EMALFORMED;
      rc = seq_build_run(&o->u.s, id, (uint32_t)len, left, right, 0,
                         (const uint8_t *)text + used,
                         (uint32_t)(end - used), NULL);
      used = end;
    } else {
      if (len > nv - vals_used) return ACCORD_EMALFORMED;
      val *v = mem_calloc(len, sizeof *v);
      if (!v) return ACCORD_ENOMEM;
      uint32_t k;
      for (k = 0; k < len && !rc; k++) {
        val b;
        rc = change_read_val(&after, &b);
        if (!rc) rc = val_copy(&v[k], &b);
      }
      if (!rc)
        rc = seq_build_run(&o->u.s, id, (uint32_t)len, left, right, 0, NULL,
                           0, v);
      if (rc) /* on success the values moved into the sequence */
        for (uint32_t j = 0; j < k; j++) val_clear(&v[j]);
      mem_free(v);
      vals_used += (uint32_t)len;
    }
  }
  if (rc) return rc;
  if (text ? used != tlen : vals_used != nv) return ACCORD_EMALFORMED;
  x->r = after;
  return seq_build_done(&o->u.s);
}

/* Every object value must name an existing object of its type exactly one
 * level deeper: then the object graph is a forest and walks end. */
static int check_child(const docstate *st, const object *parent, opid id,
                       uint8_t type) {
  const object *c = state_obj(st, id);
  return c && c->type == type && c->depth == parent->depth + 1
             ? 0
             : ACCORD_EMALFORMED;
}

typedef struct check_ctx {
  const docstate *st;
  const object *o;
} check_ctx;

static int check_elem(void *ctx, opid id, val *v) {
  check_ctx *c = ctx;
  if (v->type < ACCORD_MAP) return 0;
  return check_child(c->st, c->o, id, v->type);
}

static int check_edges(const docstate *st) {
  for (uint32_t i = 0; i < st->objs.cap; i++) {
    const object *o = st->objs.slot[i];
    if (!o) continue;
    if (o->type == ACCORD_MAP) {
      for (uint32_t k = 0; k < o->u.m.n; k++)
        for (uint32_t j = 0; j < o->u.m.e[k].n; j++) {
          const mreg *g = &o->u.m.e[k].regs[j];
          if (g->v.type >= ACCORD_MAP &&
              check_child(st, o, g->op, g->v.type))
            return ACCORD_EMALFORMED;
        }
    } else if (o->type == ACCORD_LIST) {
      check_ctx c = {st, o};
      int rc = seq_each_visible(&o->u.s, check_elem, &c);
      if (rc) return rc;
    }
  }
  return 0;
}

static int get_object(rctx *x) {
  uint32_t five;
  uint64_t type, depth;
  opid id;
  if (mp_get_array(&x->r, &five) || five != 5 ||
      mp_get_uint(&x->r, &type) || get_id(x, 1, &id) ||
      mp_get_uint_max(&x->r, ACCORD_MAX_DEPTH, &depth))
    return ACCORD_EMALFORMED;
  if (type != ACCORD_MAP && type != ACCORD_LIST && type != ACCORD_TEXT)
    return ACCORD_EMALFORMED;
  object *o;
  if (opid_none(id)) {
    o = state_obj(x->st, id); /* the root exists already */
    if (type != ACCORD_MAP || depth != 0 || o->u.m.n) return ACCORD_EMALFORMED;
  } else {
    if (depth == 0) return ACCORD_EMALFORMED;
    int rc = state_new_obj(x->st, NULL, id, (uint8_t)type);
    if (rc) return rc;
    o = state_obj(x->st, id);
    o->depth = (uint16_t)depth;
  }
  return type == ACCORD_MAP ? get_map(x, o) : get_seq(x, o);
}

int snap_get(accord_doc *doc, const uint8_t *p, size_t len,
             const uint32_t *actors, uint32_t nactors, docstate *out) {
  rctx x;
  memset(&x, 0, sizeof x);
  mp_reader_init(&x.r, p, len);
  x.doc = doc;
  x.actors = actors;
  x.nactors = nactors;
  uint32_t two, n;
  uint64_t max_op;
  if (mp_get_array(&x.r, &two) || two != 2 ||
      mp_get_uint_max(&x.r, ACCORD_MAX_COUNTER, &max_op) ||
      mp_get_array(&x.r, &n) || n == 0)
    return ACCORD_EMALFORMED;
  x.max_op = (uint32_t)max_op;
  int rc = state_init(out);
  if (rc) return rc;
  x.st = out;
  for (uint32_t i = 0; i < n && !rc; i++) rc = get_object(&x);
  if (!rc && x.r.p != x.r.end) rc = ACCORD_EMALFORMED;
  if (!rc) rc = check_edges(out);
  if (rc) {
    state_free(out);
    return rc;
  }
  out->max_op = x.max_op;
  return 0;
}
