/*
 * snapshot.c — a document's state as bytes, so that opening a document
 * does not replay its history (DESIGN §5: "opening a document loads its
 * latest snapshot and applies only the changes after it").
 *
 * Format: [max_op, objects] where each object is
 *   [type, ref, ctr, depth, body]          (the root: ref 0, ctr 0)
 *   map body:  [[key, [ref, ctr, value, ...]], ...]   live keys only
 *   list/text: [runs, columns bin, content]
 * where refs index the caller's actor table and content holds only the
 * visible elements (text as one string, lists as an array of values):
 * tombstones keep their ids and origins, not their content, which lives on
 * in the history. columns are the runs in sequence order as SNCOLS columns
 * of uvarints (pack.h), each uvarint length ‖ values:
 *   REF  the run's actor ref          CTR  svarint: its first counter minus
 *   LEN  elements                          the previous run's end counter
 *   DEL  1 for a tombstone
 *   LTAG the left origin: 0 none, 1 the last element of the previous run,
 *        2 the last element of the nearest earlier run with a smaller first
 *        counter, 3 given in LREF (ref) and LCTR (svarint: counter minus
 *        the run's)
 *   RTAG the right origin: 0 none, 1 the first element of the next run, 2
 *        the first element of the nearest later run with a smaller first
 *        counter, 3 given in RREF and RCTR.
 * Written since branch perf2: DEL and RTAG are empty and LTAG holds each
 * run's three flags as one value, DEL | LTAG << 1 | RTAG << 3 (one symbol
 * per run instead of three: 2.3 KB less for automerge-paper, whose flags
 * follow each other closely). Runs with DEL empty and n > 0 are read that
 * way; snapshots with the three columns are still read.
 * The guesses hit most of the time (an element's origins were its
 * neighbours, older than it), which is what makes the columns compress: a
 * run costs about 3 bytes in a saved document instead of 8.
 * Format 4 saves wrote list/text bodies as rows, [[ref, ctr, len, lref,
 * lctr, rref, rctr, deleted, ...], content] (an origin with ctr 0 is none);
 * they are still read.
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
#include "pack.h"
#include "snapshot.h"
#include "utf8.h"

/* ---- writing ------------------------------------------------------------- */

typedef struct wctx {
  const accord_doc *doc;
  const uint32_t *ref; /* doc actor index -> ref */
  buf *b;
  buf content;
  uint32_t nvis; /* list: visible values written */
  seq_run *runs;
  uint32_t nruns, capruns;
  int err;
  int split; /* flags in three columns, as before (snap_put_split) */
} wctx;

static void put_id(wctx *w, opid id) {
  mp_put_uint(w->b, opid_none(id) ? 0 : w->ref[id.actor]);
  mp_put_uint(w->b, id.ctr);
}

static int put_run(void *ctx, const sequence *s, const seq_run *r) {
  wctx *w = ctx;
  if (w->nruns == w->capruns) {
    uint32_t cap = w->capruns ? 2 * w->capruns : 64;
    seq_run *n = mem_realloc(w->runs, (size_t)cap * sizeof *n);
    if (!n) return w->err = ACCORD_ENOMEM;
    w->runs = n;
    w->capruns = cap;
  }
  w->runs[w->nruns++] = *r;
  if (!r->deleted && s->is_text)
    buf_put(&w->content, s->content.p + r->off, r->bytes);
  return w->content.err;
}

/* A run read from columns, before its content. */
typedef struct crun {
  opid id, left, right;
  uint32_t len;
  uint8_t deleted;
  uint8_t ltag, rtag; /* joined flags: the origin tags, read with DEL */
} crun;

enum { S_REF, S_CTR, S_LEN, S_DEL, S_LTAG, S_LREF, S_LCTR, S_RTAG, S_RREF,
       S_RCTR, SNCOLS };

/* For every run i, near[2i] is 1 + the nearest earlier run whose first
 * counter is smaller, near[2i+1] the nearest later one (0: none); stack
 * holds n entries. Linear: each run is pushed and popped once a side. */
static void runs_near(const uint32_t *ctr, uint32_t n, uint32_t *near,
                      uint32_t *stack) {
  uint32_t top = 0;
  for (uint32_t i = 0; i < n; i++) {
    while (top && ctr[stack[top - 1]] >= ctr[i]) top--;
    near[2 * i] = top ? stack[top - 1] + 1 : 0;
    stack[top++] = i;
  }
  top = 0;
  for (uint32_t i = n; i-- > 0;) {
    while (top && ctr[stack[top - 1]] >= ctr[i]) top--;
    near[2 * i + 1] = top ? stack[top - 1] + 1 : 0;
    stack[top++] = i;
  }
}

static opid run_last(const seq_run *r) {
  return opid_make(r->id.actor, r->id.ctr + r->len - 1);
}

/* Writes the runs collected in w as columns. */
static void put_run_columns(wctx *w) {
  buf col[SNCOLS];
  memset(col, 0, sizeof col);
  uint32_t n = w->nruns;
  uint32_t *tmp = mem_alloc(((size_t)4 * n + 1) * sizeof *tmp);
  if (!tmp) {
    w->b->err = ACCORD_ENOMEM;
    return;
  }
  uint32_t *ctr = tmp, *stack = tmp + n, *near = tmp + 2 * n;
  for (uint32_t i = 0; i < n; i++) ctr[i] = w->runs[i].id.ctr;
  runs_near(ctr, n, near, stack);
  int64_t end = 0;
  for (uint32_t i = 0; i < n; i++) {
    const seq_run *r = &w->runs[i];
    pack_put_uv(&col[S_REF], w->ref[r->id.actor]);
    pack_put_uv(&col[S_CTR], pack_zig((int64_t)r->id.ctr - end));
    end = (int64_t)r->id.ctr + r->len;
    pack_put_uv(&col[S_LEN], r->len);
    unsigned ltag, rtag;
    if (opid_none(r->left)) {
      ltag = 0;
    } else if (i > 0 && opid_eq(r->left, run_last(&w->runs[i - 1]))) {
      ltag = 1;
    } else if (near[2 * i] &&
               opid_eq(r->left, run_last(&w->runs[near[2 * i] - 1]))) {
      ltag = 2;
    } else {
      ltag = 3;
      pack_put_uv(&col[S_LREF], w->ref[r->left.actor]);
      pack_put_uv(&col[S_LCTR],
                  pack_zig((int64_t)r->left.ctr - (int64_t)r->id.ctr));
    }
    if (opid_none(r->right)) {
      rtag = 0;
    } else if (i + 1 < n && opid_eq(r->right, w->runs[i + 1].id)) {
      rtag = 1;
    } else if (near[2 * i + 1] &&
               opid_eq(r->right, w->runs[near[2 * i + 1] - 1].id)) {
      rtag = 2;
    } else {
      rtag = 3;
      pack_put_uv(&col[S_RREF], w->ref[r->right.actor]);
      pack_put_uv(&col[S_RCTR],
                  pack_zig((int64_t)r->right.ctr - (int64_t)r->id.ctr));
    }
    if (w->split) {
      pack_put_uv(&col[S_DEL], r->deleted != 0);
      pack_put_uv(&col[S_LTAG], ltag);
      pack_put_uv(&col[S_RTAG], rtag);
    } else { /* the joined flags (DEL and RTAG stay empty) */
      pack_put_uv(&col[S_LTAG], (r->deleted != 0) | ltag << 1 | rtag << 3);
    }
  }
  mem_free(tmp);
  size_t total = 0;
  buf all = {0};
  for (int c = 0; c < SNCOLS; c++) {
    if (col[c].err) w->b->err = col[c].err;
    total += col[c].len + 10;
  }
  if (buf_reserve(&all, total)) {
    for (int c = 0; c < SNCOLS; c++) {
      pack_put_uv(&all, col[c].len);
      buf_put(&all, col[c].p, col[c].len);
    }
  }
  if (all.err) w->b->err = all.err;
  mp_put_bin(w->b, all.p, all.len);
  buf_free(&all);
  for (int c = 0; c < SNCOLS; c++) buf_free(&col[c]);
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
  w->content.len = 0;
  w->nvis = 0;
  w->nruns = 0;
  if (seq_each_run(s, put_run, w) && !w->err) w->err = w->content.err;
  if (w->err) {
    b->err = w->err;
    return;
  }
  mp_put_array(b, 3);
  mp_put_uint(b, w->nruns);
  put_run_columns(w);
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

static int put_all(const accord_doc *doc, const uint32_t *ref, int split,
                   buf *b) {
  wctx w;
  memset(&w, 0, sizeof w);
  w.split = split;
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
  mem_free(w.runs);
  return b->err;
}

int snap_put(const accord_doc *doc, const uint32_t *ref, buf *b) {
  return put_all(doc, ref, 0, b);
}

int snap_put_split(const accord_doc *doc, const uint32_t *ref, buf *b) {
  return put_all(doc, ref, 1, b);
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


static opid run_last_c(const crun *r) {
  return opid_make(r->id.actor, r->id.ctr + r->len - 1);
}

/* An origin: tag 0 none, 1 or 2 the guess g (if there is one), 3 given as
 * ref and counter delta from the run's counter. The tag is read from
 * tag_col, or is joined (0-3) when the flags were read joined. */
static int get_origin(rctx *x, const uint8_t **c, const uint8_t *const *e,
                      int tag_col, int joined, opid run, const opid *g1,
                      const opid *g2, opid *out) {
  uint64_t tag = (uint64_t)joined, ref, d;
  if (joined < 0 &&
      (pack_get_uv(&c[tag_col], e[tag_col], &tag) || tag > 3))
    return ACCORD_EMALFORMED;
  if (tag == 0) {
    *out = opid_make(0, 0);
    return 0;
  }
  if (tag < 3) {
    const opid *g = tag == 1 ? g1 : g2;
    if (!g) return ACCORD_EMALFORMED;
    *out = *g;
    return 0;
  }
  if (pack_get_uv(&c[tag_col + 1], e[tag_col + 1], &ref) ||
      ref >= x->nactors || pack_get_uv(&c[tag_col + 2], e[tag_col + 2], &d))
    return ACCORD_EMALFORMED;
  uint64_t ctr = (uint64_t)run.ctr + (uint64_t)pack_unzig(d);
  if (ctr == 0 || ctr > x->max_op) return ACCORD_EMALFORMED;
  *out = opid_make(x->actors[ref], (uint32_t)ctr);
  return 0;
}

/* Reads n runs from columns into runs[]. */
static int get_run_columns(rctx *x, const uint8_t *p, size_t len, uint32_t n,
                           crun *runs, uint32_t *tmp) {
  const uint8_t *c[SNCOLS], *e[SNCOLS], *end = p + len;
  for (int k = 0; k < SNCOLS; k++) {
    uint64_t l;
    if (pack_get_uv(&p, end, &l) || l > (uint64_t)(end - p))
      return ACCORD_EMALFORMED;
    c[k] = p;
    e[k] = p += l;
  }
  if (p != end || (uint64_t)(e[S_LEN] - c[S_LEN]) < n)
    return ACCORD_EMALFORMED;
  int joined = n > 0 && c[S_DEL] == e[S_DEL]; /* the flags as one value */
  uint32_t *ctr = tmp, *stack = tmp + n, *near = tmp + 2 * n;
  uint64_t at = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint64_t ref, d, l, del;
    if (pack_get_uv(&c[S_REF], e[S_REF], &ref) || ref >= x->nactors ||
        pack_get_uv(&c[S_CTR], e[S_CTR], &d) ||
        pack_get_uv(&c[S_LEN], e[S_LEN], &l) || l == 0 || l > UINT32_MAX ||
        pack_get_uv(&c[joined ? S_LTAG : S_DEL], e[joined ? S_LTAG : S_DEL],
                    &del) ||
        del > (joined ? 31u : 1u))
      return ACCORD_EMALFORMED;
    runs[i].ltag = (uint8_t)(del >> 1 & 3);
    runs[i].rtag = (uint8_t)(del >> 3);
    del &= 1;
    uint64_t first = at + (uint64_t)pack_unzig(d); /* wraps if bad */
    if (first < 1 || first > x->max_op || first + l - 1 > x->max_op)
      return ACCORD_EMALFORMED;
    at = first + l;
    runs[i].id = opid_make(x->actors[ref], (uint32_t)first);
    runs[i].len = (uint32_t)l;
    runs[i].deleted = (uint8_t)del;
    ctr[i] = (uint32_t)first;
  }
  runs_near(ctr, n, near, stack);
  for (uint32_t i = 0; i < n; i++) {
    crun *r = &runs[i];
    opid pl, nl, nr;
    if (i > 0) pl = run_last_c(&runs[i - 1]);
    if (near[2 * i]) nl = run_last_c(&runs[near[2 * i] - 1]);
    if (near[2 * i + 1]) nr = runs[near[2 * i + 1] - 1].id;
    if (get_origin(x, c, e, S_LTAG, joined ? r->ltag : -1, r->id,
                   i > 0 ? &pl : NULL, near[2 * i] ? &nl : NULL, &r->left) ||
        get_origin(x, c, e, S_RTAG, joined ? r->rtag : -1, r->id,
                   i + 1 < n ? &runs[i + 1].id : NULL,
                   near[2 * i + 1] ? &nr : NULL, &r->right))
      return ACCORD_EMALFORMED;
  }
  for (int k = 0; k < SNCOLS; k++)
    if (c[k] != e[k]) return ACCORD_EMALFORMED; /* unused values */
  return 0;
}

/* Builds a run (content from text or the values after `vals`). */
static int build_run(object *o, const crun *r, const char *text, size_t tlen,
                     size_t *used, mp_reader *vals, uint32_t nv,
                     uint32_t *vals_used) {
  int rc = 0;
  if (r->deleted)
    return seq_build_run(&o->u.s, r->id, r->len, r->left, r->right, 1, NULL,
                         0, NULL);
  if (text) {
    size_t end = *used + utf8_offset((const uint8_t *)text + *used,
                                     tlen - *used, r->len);
    if (utf8_count((const uint8_t *)text + *used, end - *used) != r->len)
      return ACCORD_EMALFORMED;
    rc = seq_build_run(&o->u.s, r->id, r->len, r->left, r->right, 0,
                       (const uint8_t *)text + *used,
                       (uint32_t)(end - *used), NULL);
    *used = end;
    return rc;
  }
  if (r->len > nv - *vals_used) return ACCORD_EMALFORMED;
  val *v = mem_calloc(r->len, sizeof *v);
  if (!v) return ACCORD_ENOMEM;
  uint32_t k;
  for (k = 0; k < r->len && !rc; k++) {
    val b;
    rc = change_read_val(vals, &b);
    if (!rc) rc = val_copy(&v[k], &b);
  }
  if (!rc)
    rc = seq_build_run(&o->u.s, r->id, r->len, r->left, r->right, 0, NULL, 0,
                       v);
  if (rc) /* on success the values moved into the sequence */
    for (uint32_t j = 0; j < k; j++) val_clear(&v[j]);
  mem_free(v);
  *vals_used += r->len;
  return rc;
}

static int get_seq_cols(rctx *x, object *o) {
  uint64_t n;
  const uint8_t *cols;
  size_t clen, tlen = 0;
  uint32_t nv = 0;
  if (mp_get_uint_max(&x->r, UINT32_MAX / 8, &n) ||
      mp_get_bin(&x->r, &cols, &clen) || n > clen)
    return ACCORD_EMALFORMED;
  const char *text = NULL;
  if (o->type == ACCORD_TEXT) {
    if (mp_get_str(&x->r, &text, &tlen)) return ACCORD_EMALFORMED;
    if (!utf8_valid((const uint8_t *)text, tlen, NULL)) return ACCORD_EUTF8;
  } else if (mp_get_array(&x->r, &nv)) {
    return ACCORD_EMALFORMED;
  }
  crun *runs = mem_alloc((size_t)(n + 1) * sizeof *runs);
  uint32_t *tmp = mem_alloc((size_t)(4 * n + 1) * sizeof *tmp);
  int rc = runs && tmp ? 0 : ACCORD_ENOMEM;
  if (!rc) rc = get_run_columns(x, cols, clen, (uint32_t)n, runs, tmp);
  size_t used = 0;
  uint32_t vals_used = 0;
  for (uint32_t i = 0; i < n && !rc; i++)
    rc = build_run(o, &runs[i], text, tlen, &used, &x->r, nv, &vals_used);
  mem_free(runs);
  mem_free(tmp);
  if (rc) return rc;
  if (text ? used != tlen : vals_used != nv) return ACCORD_EMALFORMED;
  return seq_build_done(&o->u.s);
}

static int get_seq(rctx *x, object *o) {
  uint32_t two, nf, nv = 0;
  if (mp_get_array(&x->r, &two)) return ACCORD_EMALFORMED;
  if (two == 3) return get_seq_cols(x, o);
  if (two != 2 || mp_get_array(&x->r, &nf) || nf % 8) /* format 4 rows */
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
