/*
 * change.c — canonical change codec (format in change.h).
 *
 * Decoding is the boundary with hostile peers: every length is checked
 * against the bytes left before use, every count is bounded by them, every
 * string is validated UTF-8, every id reference is checked against the
 * change's actor table and its first-reference order, and counters may not
 * pass ACCORD_MAX_COUNTER. Scratch arrays grow geometrically and are reused.
 */
#include "change.h"

#include <string.h>

#include "crypto.h"
#include "mem.h"
#include "mp.h"
#include "utf8.h"

/* ---- encoding ------------------------------------------------------------ */

int txn_ref_slow(accord_txn *t, uint32_t actor, uint32_t *ref) {
  if (actor >= t->caparef) {
    uint32_t cap = t->caparef ? t->caparef : 8;
    while (cap <= actor) cap *= 2;
    uint32_t *a = mem_realloc(t->aref, cap * sizeof *a);
    if (!a) return ACCORD_ENOMEM;
    memset(a + t->caparef, 0, (cap - t->caparef) * sizeof *a);
    t->aref = a;
    t->caparef = cap;
  }
  if (!t->aref[actor]) {
    if (t->nactors == t->capactors) {
      uint32_t cap = t->capactors ? 2 * t->capactors : 8;
      uint32_t *a = mem_realloc(t->actors, cap * sizeof *a);
      if (!a) return ACCORD_ENOMEM;
      t->actors = a;
      t->capactors = cap;
    }
    t->actors[t->nactors++] = actor;
    t->aref[actor] = t->nactors;
  }
  *ref = t->aref[actor] - 1;
  return 0;
}

static void put_obj(buf *b, const accord_txn *t, opid obj) {
  if (opid_none(obj)) {
    mp_put_nil(b);
    return;
  }
  mp_put_uint(b, t->aref[obj.actor] - 1);
  mp_put_uint(b, obj.ctr);
}

static void put_back(buf *b, const accord_txn *t, opid id, uint32_t ctr) {
  if (opid_none(id)) {
    mp_put_nil(b);
    return;
  }
  mp_put_uint(b, t->aref[id.actor] - 1);
  mp_put_uint(b, ctr - id.ctr);
}

/* put_obj and put_back into reserved room (at most 18 bytes each). */
static uint8_t *w_obj(uint8_t *p, const accord_txn *t, opid obj) {
  if (opid_none(obj)) return mp_w_nil(p);
  p = mp_w_uint(p, t->aref[obj.actor] - 1);
  return mp_w_uint(p, obj.ctr);
}

static uint8_t *w_back(uint8_t *p, const accord_txn *t, opid id,
                       uint32_t ctr) {
  if (opid_none(id)) return mp_w_nil(p);
  p = mp_w_uint(p, t->aref[id.actor] - 1);
  return mp_w_uint(p, ctr - id.ctr);
}

/* The ops a keystroke makes (text insert, remove), written with one
 * reserve each: the same bytes as the general case below. */
void change_put_text_ins(buf *b, const accord_txn *t, opid obj, uint32_t ctr,
                         opid left, opid right, const uint8_t *content,
                         uint32_t nbytes) {
  if (!buf_reserve(b, (size_t)64 + nbytes)) return;
  uint8_t *p = b->p + b->len;
  p = mp_w_array(p, 2 + (opid_none(obj) ? 1 : 2) +
                        (opid_none(left) ? 1 : 2) +
                        (opid_none(right) ? 1 : 2));
  *p++ = OP_INS;
  p = w_obj(p, t, obj);
  p = w_back(p, t, left, ctr);
  p = w_back(p, t, right, ctr);
  if (nbytes == 1) { /* a keystroke: no call to memcpy for one byte */
    p[0] = 0xa1;
    p[1] = content[0];
    p += 2;
  } else {
    p = mp_w_str(p, content, nbytes);
  }
  b->len = (size_t)(p - b->p);
}

void change_put_rmv(buf *b, const accord_txn *t, opid obj, uint32_t ctr,
                    opid target, uint32_t count) {
  if (!buf_reserve(b, 64)) return;
  uint8_t *p = b->p + b->len;
  p = mp_w_array(p, 4 + (opid_none(obj) ? 1 : 2));
  *p++ = OP_RMV;
  p = w_obj(p, t, obj);
  p = w_back(p, t, target, ctr);
  p = mp_w_uint(p, count);
  b->len = (size_t)(p - b->p);
}

static void put_i64be(uint8_t out[8], int64_t v) {
  uint64_t u = (uint64_t)v;
  for (int i = 0; i < 8; i++) out[i] = (uint8_t)(u >> (56 - 8 * i));
}

void change_put_val(buf *b, const val *v) {
  uint8_t x[8] = {0};
  switch (v->type) {
    case ACCORD_NULL: mp_put_nil(b); break;
    case ACCORD_BOOL: mp_put_bool(b, v->u.i != 0); break;
    case ACCORD_INT: mp_put_int(b, v->u.i); break;
    case ACCORD_DOUBLE: mp_put_double(b, v->u.d); break;
    case ACCORD_STR: mp_put_str(b, v->u.s, v->len); break;
    case ACCORD_BYTES: mp_put_bin(b, v->u.s, v->len); break;
    case ACCORD_TIMESTAMP:
      put_i64be(x, v->u.i);
      mp_put_ext(b, EXT_TIMESTAMP, x, 8);
      break;
    case ACCORD_COUNTER:
      put_i64be(x, v->u.i);
      mp_put_ext(b, EXT_COUNTER, x, 8);
      break;
    case ACCORD_MAP: mp_put_ext(b, EXT_MAKE_MAP, x, 1); break;
    case ACCORD_LIST: mp_put_ext(b, EXT_MAKE_LIST, x, 1); break;
    case ACCORD_TEXT: mp_put_ext(b, EXT_MAKE_TEXT, x, 1); break;
    default: b->err = ACCORD_EINVAL; break;
  }
}

void change_put_op(buf *b, const accord_txn *t, const oper *o) {
  if (o->kind == OP_INS && o->content) {
    change_put_text_ins(b, t, o->obj, o->id.ctr, o->left, o->right,
                        o->content, o->nbytes);
    return;
  }
  if (o->kind == OP_RMV) {
    change_put_rmv(b, t, o->obj, o->id.ctr, o->target, o->count);
    return;
  }
  uint32_t ctr = o->id.ctr;
  uint32_t objf = opid_none(o->obj) ? 1 : 2;
  switch (o->kind) {
    case OP_SET:
    case OP_DEL:
      mp_put_array(b, (o->kind == OP_SET ? 4 : 3) + objf);
      mp_put_uint(b, o->kind);
      put_obj(b, t, o->obj);
      mp_put_str(b, o->key, o->klen);
      mp_put_array(b, 2 * o->npred);
      for (uint32_t i = 0; i < o->npred; i++) put_back(b, t, o->pred[i], ctr);
      if (o->kind == OP_SET) change_put_val(b, &o->v);
      break;
    case OP_INS:
      mp_put_array(b, 2 + objf + (opid_none(o->left) ? 1 : 2) +
                          (opid_none(o->right) ? 1 : 2));
      mp_put_uint(b, OP_INS);
      put_obj(b, t, o->obj);
      put_back(b, t, o->left, ctr);
      put_back(b, t, o->right, ctr);
      if (o->content) {
        mp_put_str(b, o->content, o->nbytes);
      } else {
        mp_put_array(b, o->n);
        for (uint32_t i = 0; i < o->n; i++) change_put_val(b, &o->vals[i]);
      }
      break;
    case OP_RMV:
      mp_put_array(b, 4 + objf);
      mp_put_uint(b, OP_RMV);
      put_obj(b, t, o->obj);
      put_back(b, t, o->target, ctr);
      mp_put_uint(b, o->count);
      break;
    case OP_INC:
      mp_put_array(b, 5 + objf);
      mp_put_uint(b, OP_INC);
      put_obj(b, t, o->obj);
      if (o->key) mp_put_str(b, o->key, o->klen);
      else mp_put_nil(b);
      put_back(b, t, o->target, ctr);
      mp_put_int(b, o->delta);
      break;
    default: b->err = ACCORD_EINVAL; break;
  }
}

void change_put_body(buf *b, const accord_doc *doc, const accord_txn *t,
                     uint32_t prev_end, int64_t prev_time) {
  if (t->nactors == t->ninherit && t->ndeps == 0 && !t->msg) {
    /* what typing commits: no new actor, no deps, no message */
    if (!buf_reserve(b, 9 + 9 + 3 + 5 + t->ops.len)) return;
    uint8_t *p = b->p + b->len;
    p = mp_w_uint(p, t->start_op - prev_end);
    p = mp_w_int(p, (int64_t)((uint64_t)t->time - (uint64_t)prev_time));
    p[0] = 0x90; /* actors: [] */
    p[1] = 0x90; /* deps: [] */
    p[2] = 0xc0; /* message: nil */
    p = mp_w_array(p + 3, t->nops);
    size_t n = t->ops.len;
    if (n >= 8 && n <= 16) { /* one keystroke's op: two words, no call */
      uint64_t lo, hi;
      memcpy(&lo, t->ops.p, 8);
      memcpy(&hi, t->ops.p + n - 8, 8);
      memcpy(p, &lo, 8);
      memcpy(p + n - 8, &hi, 8);
    } else if (n) {
      memcpy(p, t->ops.p, n);
    }
    b->len = (size_t)(p - b->p) + n;
    return;
  }
  /* one reserve for the whole body, then unchecked writes */
  size_t room = 9 + 9 + 5 +
                (size_t)(t->nactors - t->ninherit) * (5 + ACCORD_ACTOR_BYTES) +
                5 + (size_t)t->ndeps * 18 + 5 + (t->msg ? t->msglen : 0) +
                5 + t->ops.len;
  if (!buf_reserve(b, room)) return;
  uint8_t *p = b->p + b->len;
  p = mp_w_uint(p, t->start_op - prev_end);
  /* deltas of clocks set far apart could overflow: wrap, as the decoder
   * does, so every pair of times has one encoding */
  p = mp_w_int(p, (int64_t)((uint64_t)t->time - (uint64_t)prev_time));
  p = mp_w_array(p, t->nactors - t->ninherit);
  for (uint32_t i = t->ninherit; i < t->nactors; i++)
    p = mp_w_bin(p, doc->actor[t->actors[i]], ACCORD_ACTOR_BYTES);
  p = mp_w_array(p, 2 * t->ndeps);
  for (uint32_t i = 0; i < t->ndeps; i++) {
    p = mp_w_uint(p, t->aref[t->deps[2 * i]] - 1);
    p = mp_w_uint(p, t->deps[2 * i + 1]);
  }
  if (t->msg) p = mp_w_str(p, t->msg, t->msglen);
  else p = mp_w_nil(p);
  p = mp_w_array(p, t->nops);
  if (t->ops.len) memcpy(p, t->ops.p, t->ops.len);
  b->len = (size_t)(p - b->p) + t->ops.len;
}

/* ---- decoding ------------------------------------------------------------ */

void decoder_free(decoder *d) {
  mem_free(d->ops);
  mem_free(d->ids);
  mem_free(d->vals);
  mem_free(d->deps);
  mem_free(d->refs);
  memset(d, 0, sizeof *d);
}

static int grow(void **p, uint32_t *cap, uint32_t need, size_t size) {
  if (need <= *cap) return 0;
  uint32_t c = *cap ? *cap : 16;
  while (c < need) c *= 2;
  void *q = mem_realloc(*p, (size_t)c * size);
  if (!q) return ACCORD_ENOMEM;
  *p = q;
  *cap = c;
  return 0;
}

/* Decoding state for one change. */
typedef struct dec {
  mp_reader r;
  accord_doc *doc;
  decoder *d;
  const uint32_t *refs; /* the actor table: d->refs, or prev's borrowed */
  int fixup;         /* some op keeps an index into ids or vals */
  uint32_t nrefs;    /* entries in the change's actor table (author incl.) */
  uint32_t next_ref; /* the next ref that may appear for the first time */
  uint32_t nids, nvals;
  int err;
} dec;

/* The readers below are inline: a keystroke's change is a dozen of them,
 * and a call each was ~20% of its decoding (callgrind). bad() is the cold
 * path. */
#if defined(__GNUC__)
#define DEC_INLINE static inline __attribute__((always_inline))
#define DEC_COLD __attribute__((noinline, cold))
#else
#define DEC_INLINE static inline
#define DEC_COLD
#endif

DEC_COLD static int bad(dec *x) {
  if (!x->err) x->err = ACCORD_EMALFORMED;
  x->r.p = x->r.end;
  return x->err;
}

DEC_INLINE int get_ref(dec *x, uint32_t *actor) {
  uint64_t ref;
  if (mp_get_uint(&x->r, &ref) || ref >= x->nrefs) return bad(x);
  if (ref > x->next_ref) return bad(x); /* not in first-reference order */
  if (ref == x->next_ref) x->next_ref++;
  *actor = x->refs[ref];
  return 0;
}

DEC_INLINE int get_obj(dec *x, opid *o) {
  if (mp_try_nil(&x->r)) {
    *o = opid_make(0, 0);
    return 0;
  }
  uint64_t ctr;
  if (get_ref(x, &o->actor) ||
      mp_get_uint_max(&x->r, ACCORD_MAX_COUNTER, &ctr) || ctr == 0)
    return bad(x);
  o->ctr = (uint32_t)ctr;
  return 0;
}

/* An id older than the op at ctr: nil allowed when may_none. */
DEC_INLINE int get_back(dec *x, uint32_t ctr, int may_none, opid *o) {
  if (may_none && mp_try_nil(&x->r)) {
    *o = opid_make(0, 0);
    return 0;
  }
  uint64_t back;
  if (get_ref(x, &o->actor) || mp_get_uint(&x->r, &back) || back == 0 ||
      back >= ctr)
    return bad(x);
  o->ctr = ctr - (uint32_t)back;
  return 0;
}

/* A str of at most max bytes, valid UTF-8; its code points go to ncp when
 * not NULL. */
DEC_INLINE int get_text(dec *x, const char **s, uint32_t *len, uint32_t max,
                    size_t *ncp) {
  size_t n;
  if (mp_get_str(&x->r, s, &n)) return bad(x);
  if (n > max) return x->err = ACCORD_ETOOBIG, bad(x);
  /* a keystroke is a byte or two of ASCII: valid, a code point a byte */
  size_t i = 0;
  if (n <= 16)
    while (i < n && (uint8_t)(*s)[i] < 0x80) i++;
  if (i == n) {
    if (ncp) *ncp = n;
  } else if (!utf8_valid((const uint8_t *)*s, n, ncp)) {
    return x->err = ACCORD_EUTF8, bad(x);
  }
  *len = (uint32_t)n;
  return 0;
}

static int64_t get_i64be(const uint8_t *p) {
  uint64_t u = 0;
  for (int i = 0; i < 8; i++) u = (u << 8) | p[i];
  return (int64_t)u;
}

int change_read_val(mp_reader *r, val *v) {
  memset(v, 0, sizeof *v);
  const char *s;
  const uint8_t *q;
  size_t n;
  int8_t t;
  int b;
  switch (mp_peek(r)) {
    case MP_NIL:
      mp_get_nil(r);
      v->type = ACCORD_NULL;
      break;
    case MP_BOOL:
      mp_get_bool(r, &b);
      v->type = ACCORD_BOOL;
      v->u.i = b;
      break;
    case MP_UINT:
    case MP_NINT:
      v->type = ACCORD_INT;
      mp_get_int(r, &v->u.i);
      break;
    case MP_FLOAT:
      v->type = ACCORD_DOUBLE;
      mp_get_double(r, &v->u.d);
      break;
    case MP_STR:
      v->type = ACCORD_STR;
      if (mp_get_str(r, &s, &n)) return ACCORD_EMALFORMED;
      if (n >= UINT32_MAX - 1) return ACCORD_ETOOBIG;
      if (!utf8_valid((const uint8_t *)s, n, NULL)) return ACCORD_EUTF8;
      v->len = (uint32_t)n;
      v->u.s = (char *)s;
      break;
    case MP_BIN:
      v->type = ACCORD_BYTES;
      if (mp_get_bin(r, &q, &n)) return ACCORD_EMALFORMED;
      if (n >= UINT32_MAX - 1) return ACCORD_ETOOBIG;
      v->len = (uint32_t)n;
      v->u.s = (char *)q;
      break;
    case MP_EXT:
      if (mp_get_ext(r, &t, &q, &n)) return ACCORD_EMALFORMED;
      if ((t == EXT_TIMESTAMP || t == EXT_COUNTER) && n == 8) {
        v->type = t == EXT_TIMESTAMP ? ACCORD_TIMESTAMP : ACCORD_COUNTER;
        v->u.i = get_i64be(q);
      } else if (t >= EXT_MAKE_MAP && t <= EXT_MAKE_TEXT && n == 1 &&
                 q[0] == 0) {
        v->type = t == EXT_MAKE_MAP    ? ACCORD_MAP
                  : t == EXT_MAKE_LIST ? ACCORD_LIST
                                       : ACCORD_TEXT;
      } else {
        return ACCORD_EMALFORMED;
      }
      break;
    default: return ACCORD_EMALFORMED;
  }
  return r->err ? ACCORD_EMALFORMED : 0;
}

static int get_val(dec *x, val *v) {
  int rc = change_read_val(&x->r, v);
  if (rc) {
    if (!x->err) x->err = rc;
    return bad(x);
  }
  return 0;
}

/* Ops keep indexes into the scratch arrays while they may still grow;
 * pointers are set once the change is complete. */
#define IDX_PTR(i) ((const void *)(uintptr_t)(i))
#define PTR_IDX(p) ((uint32_t)(uintptr_t)(p))

static int get_op(dec *x, uint32_t ctr, oper *o) {
  uint32_t n;
  /* a copy of a zero op, not memset: GCC makes the memset a rep stos,
   * whose start-up costs more than the few vector stores of a copy (an op
   * is decoded per keystroke) */
  static const oper zero;
  *o = zero;
  o->id = opid_make(0, ctr); /* actor set by the caller */
  uint64_t kind;
  if (mp_get_array(&x->r, &n) || n < 3 || mp_get_uint(&x->r, &kind) ||
      kind >= OP_KINDS)
    return bad(x);
  o->kind = (uint8_t)kind;
  if (get_obj(x, &o->obj)) return x->err;
  uint32_t got = opid_none(o->obj) ? 2 : 3; /* fields read so far */
  switch (o->kind) {
    case OP_SET:
    case OP_DEL: {
      if (get_text(x, &o->key, &o->klen, ACCORD_MAX_KEY, NULL)) return x->err;
      uint32_t np;
      if (mp_get_array(&x->r, &np) || np % 2) return bad(x);
      o->npred = np / 2;
      x->fixup = 1;
      if (grow((void **)&x->d->ids, &x->d->capids, x->nids + o->npred,
               sizeof(opid)))
        return x->err = ACCORD_ENOMEM, bad(x);
      o->pred = IDX_PTR(x->nids);
      for (uint32_t i = 0; i < o->npred; i++)
        if (get_back(x, ctr, 0, &x->d->ids[x->nids++])) return x->err;
      got += 2;
      if (o->kind == OP_SET) {
        if (get_val(x, &o->v)) return x->err;
        got++;
      }
      break;
    }
    case OP_INS: {
      if (get_back(x, ctr, 1, &o->left)) return x->err;
      got += opid_none(o->left) ? 1 : 2;
      if (get_back(x, ctr, 1, &o->right)) return x->err;
      got += opid_none(o->right) ? 1 : 2;
      /* a str (fixstr, str8/16/32: mp_peek's MP_STR, tested inline) */
      uint8_t c0 = x->r.p < x->r.end ? *x->r.p : 0;
      if ((c0 & 0xe0) == 0xa0 || (c0 >= 0xd9 && c0 <= 0xdb)) {
        const char *s;
        size_t ncp;
        if (get_text(x, &s, &o->nbytes, UINT32_MAX - 1, &ncp)) return x->err;
        o->content = (const uint8_t *)s;
        o->n = (uint32_t)ncp;
      } else {
        uint32_t nv;
        if (mp_get_array(&x->r, &nv)) return bad(x);
        if (grow((void **)&x->d->vals, &x->d->capvals, x->nvals + nv,
                 sizeof(val)))
          return x->err = ACCORD_ENOMEM, bad(x);
        o->vals = IDX_PTR(x->nvals);
        x->fixup = 1;
        o->n = nv;
        for (uint32_t i = 0; i < nv; i++)
          if (get_val(x, &x->d->vals[x->nvals++])) return x->err;
      }
      if (o->n == 0) return bad(x);
      got++;
      break;
    }
    case OP_RMV: {
      uint64_t count;
      if (get_back(x, ctr, 0, &o->target) ||
          mp_get_uint_max(&x->r, UINT32_MAX, &count) || count == 0)
        return bad(x);
      o->count = (uint32_t)count;
      got += 3;
      break;
    }
    case OP_INC: {
      if (!mp_try_nil(&x->r)) {
        if (get_text(x, &o->key, &o->klen, ACCORD_MAX_KEY, NULL)) return x->err;
      }
      if (get_back(x, ctr, 0, &o->target) || mp_get_int(&x->r, &o->delta))
        return bad(x);
      got += 4;
      break;
    }
  }
  if (got != n || x->r.err) return bad(x);
  return 0;
}

/* Reads the actor table and deps: the part of a body that does not need
 * the author's chain. */
static int get_actors_deps(dec *x, uint32_t author, const chain_ctx *prev,
                           uint32_t *ndeps) {
  uint32_t na, nd;
  accord_doc *doc = x->doc;
  uint32_t inherit = prev->ntab ? prev->ntab : 1;
  if (mp_get_array(&x->r, &na) || na >= ACCORD_MAX_ACTORS) return bad(x);
  if (prev->ntab && prev->tab[0] != author) return bad(x);
  if (prev->ntab && na == 0) {
    /* most changes add no actor: their table is the previous one, read
     * where it is (copying it was ~25 instructions a change, callgrind) */
    x->refs = prev->tab;
  } else {
    if (grow((void **)&x->d->refs, &x->d->caprefs, inherit + na,
             sizeof(uint32_t)))
      return x->err = ACCORD_ENOMEM, bad(x);
    if (prev->ntab) /* a few entries: a loop, not a call */
      for (uint32_t i = 0; i < inherit; i++) x->d->refs[i] = prev->tab[i];
    else
      x->d->refs[0] = author;
    x->refs = x->d->refs;
  }
  for (uint32_t i = 0; i < na; i++) {
    const uint8_t *id;
    size_t n;
    uint32_t a;
    if (mp_get_bin(&x->r, &id, &n) || n != ACCORD_ACTOR_BYTES) return bad(x);
    int rc = doc_actor_index(doc, id, &a);
    if (rc) return x->err = rc, bad(x);
    for (uint32_t k = 0; k < inherit + i; k++) /* no actor twice */
      if (x->d->refs[k] == a) return bad(x);
    x->d->refs[inherit + i] = a;
  }
  x->nrefs = inherit + na;
  x->next_ref = inherit; /* inherited refs may appear in any order */
  if (mp_get_array(&x->r, &nd) || nd % 2) return bad(x);
  nd /= 2;
  if (grow((void **)&x->d->deps, &x->d->capdeps, 2 * nd + 2,
           sizeof(uint32_t)))
    return x->err = ACCORD_ENOMEM, bad(x);
  for (uint32_t i = 0; i < nd; i++) {
    uint32_t a = 0;
    uint64_t seq;
    /* other actors, in ascending id order */
    if (get_ref(x, &a) || a == author ||
        mp_get_uint_max(&x->r, UINT32_MAX, &seq) || seq == 0)
      return bad(x);
    if (i > 0 && memcmp(doc->actor[x->d->deps[2 * i - 2]], doc->actor[a],
                        ACCORD_ACTOR_BYTES) >= 0)
      return bad(x);
    x->d->deps[2 * i] = a;
    x->d->deps[2 * i + 1] = (uint32_t)seq;
  }
  *ndeps = nd;
  return 0;
}

int change_decode(accord_doc *doc, decoder *d, uint32_t author,
                  const chain_ctx *prev, const uint8_t *body, size_t len,
                  dchange *out) {
  uint32_t prev_end = prev->end_op;
  int64_t prev_time = prev->time;
  dec x;
  memset(&x, 0, sizeof x);
  memset(out, 0, sizeof *out);
  x.doc = doc;
  x.d = d;
  mp_reader_init(&x.r, body, len);
  uint64_t sd;
  int64_t td;
  if (mp_get_uint(&x.r, &sd) || mp_get_int(&x.r, &td)) return bad(&x);
  if (sd > ACCORD_MAX_COUNTER || (uint64_t)prev_end + sd == 0 ||
      (uint64_t)prev_end + sd > ACCORD_MAX_COUNTER)
    return bad(&x);
  out->start_op = prev_end + (uint32_t)sd;
  out->time = (int64_t)((uint64_t)prev_time + (uint64_t)td);
  if (get_actors_deps(&x, author, prev, &out->ndeps)) return x.err;
  out->deps = d->deps;
  if (!mp_try_nil(&x.r)) {
    if (get_text(&x, &out->msg, &out->msglen, ACCORD_MAX_MESSAGE, NULL))
      return x.err;
  }
  uint32_t nops;
  if (mp_get_array(&x.r, &nops) || nops == 0) return bad(&x);
  if (grow((void **)&d->ops, &d->capops, nops, sizeof(oper)))
    return x.err = ACCORD_ENOMEM, bad(&x);
  uint64_t ctr = out->start_op;
  for (uint32_t k = 0; k < nops; k++) {
    oper *o = &d->ops[k];
    if (get_op(&x, (uint32_t)ctr, o)) return x.err;
    o->id.actor = author;
    ctr += op_span(o);
    if (ctr > ACCORD_MAX_COUNTER) return x.err = ACCORD_ETOOBIG, bad(&x);
  }
  if (x.r.p != x.r.end || x.next_ref != x.nrefs) return bad(&x);
  for (uint32_t k = 0; x.fixup && k < nops; k++) {
    oper *o = &d->ops[k];
    if ((o->kind == OP_SET || o->kind == OP_DEL) && o->npred)
      o->pred = d->ids + PTR_IDX(o->pred);
    else if (o->kind == OP_SET || o->kind == OP_DEL)
      o->pred = NULL; /* d->ids may be NULL: no arithmetic on it */
    if (o->kind == OP_INS && !o->content) o->vals = d->vals + PTR_IDX(o->vals);
  }
  out->end_op = (uint32_t)ctr;
  out->nops = nops;
  out->ops = d->ops;
  out->tab = x.refs;
  out->ntab = x.nrefs;
  return 0;
}

/* Skips one value of body_len_fast's forms at *qp, adding a fixarray's
 * values to *need. 0: not one of them, or past end. */
DEC_INLINE int skip_fast(const uint8_t **qp, const uint8_t *end,
                         size_t *need) {
  const uint8_t *q = *qp;
  if (q >= end) return 0;
  uint8_t c = *q;
  size_t room = (size_t)(end - q); /* >= 1 */
  if (c <= 0x7f || c >= 0xe0 || (c >= 0xc0 && c <= 0xc3 && c != 0xc1)) {
    q++; /* fixint, nil, bool */
  } else if ((c & 0xe0) == 0xa0) { /* fixstr */
    if ((size_t)(c & 0x1f) >= room) return 0;
    q += 1 + (c & 0x1f);
  } else if ((c & 0xf0) == 0x90) { /* fixarray: its values are next */
    if ((size_t)(c & 0x0f) >= room) return 0;
    *need += c & 0x0f;
    q++;
  } else if (c == 0xc4) { /* bin8 */
    if (room < 2 || (size_t)q[1] > room - 2) return 0;
    q += 2 + q[1];
  } else if (c == 0xcc || c == 0xd0) { /* uint8, int8: shortest only */
    if (room < 2 || (c == 0xcc ? q[1] < 0x80 : (int8_t)q[1] >= -32))
      return 0;
    q += 2;
  } else if (c == 0xcd || c == 0xd1) { /* uint16, int16 */
    if (room < 3) return 0;
    uint16_t x = (uint16_t)(q[1] << 8 | q[2]);
    if (c == 0xcd ? x <= 0xff : (int16_t)x >= INT8_MIN) return 0;
    q += 3;
  } else if (c == 0xce || c == 0xd2) { /* uint32, int32 */
    if (room < 5) return 0;
    uint32_t x = (uint32_t)q[1] << 24 | (uint32_t)q[2] << 16 |
                 (uint32_t)q[3] << 8 | q[4];
    if (c == 0xce ? x <= 0xffff : (int32_t)x >= INT16_MIN) return 0;
    q += 5;
  } else {
    return 0;
  }
  *qp = q;
  return 1;
}

/* change_body_len for bodies made only of the forms keystrokes use
 * (fixint, nil, bool, fixstr, bin8, fixarray, and the shortest 8/16/32-bit
 * ints), with the checks mp_skip_n makes on them; 0 on anything else, for
 * mp_skip_n to decide. Skipping does not need the nesting: an array of n
 * values is n more values to skip, so one counter replaces mp_skip_n's
 * stack (a body nested past MP_MAX_DEPTH is sized here, and refused when
 * decoded; nothing recurses). Every imported change is sized: this was
 * ~430 instructions of each (callgrind, friendsforever merge). */
static size_t body_len_fast(const uint8_t *p, size_t left) {
  const uint8_t *q = p, *end = p + left;
  size_t need = 6;
  /* the two deltas, then (typing: no actors, deps or message) the same
   * three bytes in nearly every body, matched at once */
  if (!skip_fast(&q, end, &need) || !skip_fast(&q, end, &need)) return 0;
  need -= 2;
  if (need == 4 && end - q > 3 && q[0] == 0x90 && q[1] == 0x90 &&
      q[2] == 0xc0) {
    q += 3;
    need = 1;
  }
  for (; need; need--)
    if (!skip_fast(&q, end, &need)) return 0;
  return (size_t)(q - p);
}

size_t change_body_len(const uint8_t *p, size_t left) {
  size_t n = body_len_fast(p, left);
  if (n) return n;
  mp_reader r;
  mp_reader_init(&r, p, left);
  if (mp_skip_n(&r, 6)) return 0;
  return (size_t)(r.p - p);
}
