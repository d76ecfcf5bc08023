/*
 * pack.c — a chain's change bodies (change.h) as columns, compressed.
 *
 * Row by row, a text edit costs about 16 bytes of msgpack, most of it the
 * same few bytes each time (array headers, the text's ref and counter, a
 * back of 1). Split into columns — one per field, each the values of that
 * field for all changes of the chain in order — the same field's values sit
 * next to each other: long runs of equal bytes and the typed text in one
 * piece, which zstd then squeezes to a fraction of a byte per edit.
 *
 * Raw format (what the zstd frame holds): uvarint version (2), then NCOLS
 * columns, each uvarint length ‖ bytes. Values are uvarints (svarints
 * zigzag-coded), actors 8 bytes. Per change, FLAG says how it is kept:
 *   0 columnar: START uvarint start_delta, TIME svarint time_delta,
 *     NACT uvarint + ACT 8 bytes each (new actors), NDEP uvarint pairs and
 *     per pair DEP uvarint ref, DSEQ svarint (seq minus the previous dep's:
 *     deps name heads, which only grow), message nil, NOPS uvarint, per op
 *     KIND byte and
 *       obj:   OBJREF uvarint (0 nil, else ref + 1), OBJCTR svarint (delta
 *              from the previous op's obj counter; absent for nil)
 *       INS:   LREF (0 nil, else ref + 1), LBACK uvarint back; RREF likewise,
 *              RCTR: 0 the previous right origin's counter, 1 the left
 *              origin's counter + 1, else 2 + svarint (the counter minus
 *              the previous right origin's); TLEN uvarint + TEXT bytes.
 *              Version 2 writes no RCTR when the left origin is the
 *              author's own previous op (LREF 0, LBACK 1: typing on): the
 *              right origin is then the previous one (code 0), and an
 *              insert where it is not stays raw. Typing on and keeping the
 *              right origin go together (automerge-paper: 175,968 times of
 *              175,968), so RCTR keeps only the jumps, not a second copy of
 *              where they are (RCTR 10.5 KB -> 4.1 KB compressed).
 *              Version 2 writes LBACK as back + 1, or 0 for the element
 *              just before the last delete's target (typing again after
 *              backspaces: 2,668 times in automerge-paper, LBACK 15.8 KB
 *              -> 14.4 KB).
 *              Version 2's KIND may also be K_RMV_PREV: a delete of the
 *              author's previous op, with no TREF and TCTR (the first
 *              backspace after typing, which broke TCTR's runs: automerge-
 *              paper's TCTR 17.4 KB -> 14.1 KB, KIND +0.5 KB).
 *       RMV:   TREF uvarint ref, TCTR svarint (target counter minus the
 *              previous target's), COUNT uvarint
 *   1 raw: RAWLEN uvarint + RAW bytes, the body as it is.
 * Everything else (map ops, list inserts, messages) stays raw. FLAG, KIND,
 * TEXT, RAW, ACT and DEP hold their values as they are; every other column
 * holds runs: pairs (count >= 1, value) of uvarints. The packer
 * decodes each columnar change straight back and compares it with the body;
 * any difference keeps that change raw, so unpacking gives back exactly the
 * bytes that were packed, whatever they were.
 *
 * Unpacking reads hostile bytes (a saved file): every read is bounded by its
 * column, counts are bounded by the bytes left, the frame by PACK_MAX_RAW,
 * and the output grows only with what was really decompressed. It checks
 * structure, not meaning: bodies are checked when something decodes them,
 * as with format 4's raw bodies.
 */
#include "pack.h"

#include <string.h>
#include <zstd.h>

#include "mem.h"
#include "mp.h"
#include "utf8.h"

#define PACK_VERSION 2 /* 1 is still read */
/* In the KIND column of version 2 only: a delete (OP_RMV) of the author's
 * previous op (TREF 0 and back 1: a backspace right after typing), whose
 * TREF and TCTR are not written. */
#define K_RMV_PREV 8

enum {
  C_FLAG, C_RAWLEN, C_RAW, C_START, C_TIME, C_NACT, C_ACT, C_NDEP, C_DEP,
  C_NOPS, C_KIND, C_OBJREF, C_OBJCTR, C_LREF, C_LBACK, C_RREF, C_RCTR,
  C_TLEN, C_TEXT, C_TREF, C_TCTR, C_COUNT, C_DSEQ, NCOLS
};

/* ---- varints ------------------------------------------------------------- */

#define put_uv pack_put_uv

void pack_put_uv(buf *b, uint64_t v) {
  if (b->cap - b->len >= 10 && !b->err) { /* room: write in place */
    uint8_t *q = b->p + b->len;
    while (v >= 0x80) {
      *q++ = (uint8_t)(v | 0x80);
      v >>= 7;
    }
    *q++ = (uint8_t)v;
    b->len = (size_t)(q - b->p);
    return;
  }
  uint8_t t[10];
  size_t n = 0;
  while (v >= 0x80) {
    t[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  t[n++] = (uint8_t)v;
  buf_put(b, t, n);
}

uint64_t pack_zig(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }

static void put_sv(buf *b, int64_t v) { put_uv(b, pack_zig(v)); }

/* A column cursor. Run-length columns (rle) hold pairs (count >= 1, value)
 * of uvarints; the others hold the values themselves. */
typedef struct rd {
  const uint8_t *p, *end;
  int rle;
  uint64_t left, val; /* rle: what is left of the current run */
} rd;

int pack_get_uv(const uint8_t **p, const uint8_t *end, uint64_t *v) {
  uint64_t x = 0;
  for (int s = 0; s < 64; s += 7) {
    if (*p == end) return ACCORD_EMALFORMED;
    uint8_t c = *(*p)++;
    if (s == 63 && c > 1) return ACCORD_EMALFORMED;
    x |= (uint64_t)(c & 0x7f) << s;
    if (!(c & 0x80)) {
      *v = x;
      return 0;
    }
  }
  return ACCORD_EMALFORMED;
}

static int get_plain(rd *r, uint64_t *v) {
  return pack_get_uv(&r->p, r->end, v);
}

static int get_uv(rd *r, uint64_t *v) {
  if (!r->rle) return get_plain(r, v);
  if (r->left == 0 &&
      (get_plain(r, &r->left) || r->left == 0 || get_plain(r, &r->val)))
    return ACCORD_EMALFORMED;
  r->left--;
  *v = r->val;
  return 0;
}

/* Columns kept as runs: all but bytes, and but the columns whose lengths
 * bound how many changes, ops and deps a frame can claim (FLAG: one byte a
 * change, KIND: one a op, DEP: at least one a dep), so that the work and
 * the output of unpacking grow only with the bytes really decompressed. */
static int col_rle(int col) {
  return col != C_RAW && col != C_ACT && col != C_TEXT && col != C_DEP &&
         col != C_FLAG && col != C_KIND;
}

int64_t pack_unzig(uint64_t u) { return (int64_t)(u >> 1) ^ -(int64_t)(u & 1); }

static int get_sv(rd *r, int64_t *v) {
  uint64_t u;
  if (get_uv(r, &u)) return ACCORD_EMALFORMED;
  *v = pack_unzig(u);
  return 0;
}

static int get_bytes(rd *r, size_t n, const uint8_t **p) {
  if ((size_t)(r->end - r->p) < n) return ACCORD_EMALFORMED;
  *p = r->p;
  r->p += n;
  return 0;
}

/* ---- spans: the counters a body uses ------------------------------------- */

/* start_delta and the counters spanned by a body's ops (change.h), for any
 * well-formed body. */
static int body_span(const uint8_t *body, size_t len, uint64_t *sd,
                     uint64_t *span) {
  mp_reader r;
  int64_t td;
  uint32_t nops;
  mp_reader_init(&r, body, len);
  if (mp_get_uint(&r, sd) || mp_get_int(&r, &td) || mp_skip(&r) ||
      mp_skip(&r) || mp_skip(&r) || mp_get_array(&r, &nops))
    return ACCORD_EMALFORMED;
  *span = 0;
  for (uint32_t k = 0; k < nops; k++) {
    uint32_t n, m;
    uint64_t kind;
    const char *s;
    size_t sl;
    if (mp_get_array(&r, &n) || n < 2 || mp_get_uint(&r, &kind))
      return ACCORD_EMALFORMED;
    for (uint32_t i = 2; i < n; i++)
      if (mp_skip(&r)) return ACCORD_EMALFORMED;
    if (kind != OP_INS) {
      if (mp_skip(&r)) return ACCORD_EMALFORMED;
      *span += 1;
    } else if (mp_peek(&r) == MP_STR) {
      if (mp_get_str(&r, &s, &sl)) return ACCORD_EMALFORMED;
      *span += utf8_count((const uint8_t *)s, sl);
    } else {
      if (mp_get_array(&r, &m)) return ACCORD_EMALFORMED;
      for (uint32_t i = 0; i < m; i++)
        if (mp_skip(&r)) return ACCORD_EMALFORMED;
      *span += m;
    }
  }
  return r.p == r.end ? 0 : ACCORD_EMALFORMED;
}

/* ---- unpacking one change ------------------------------------------------ */

/* Decoding state: a cursor per column and the previous counters. */
typedef struct unp {
  rd c[NCOLS];
  uint64_t ver; /* PACK_VERSION or 1 */
  uint64_t end_op; /* counter after the previous change */
  uint64_t obj, right, target, dseq;
  size_t limit; /* out grows no further (checked per op) */
} unp;

/* Reads an id column pair: ref + 1 (0: nil) and, unless nil, *has = 1. */
static int get_ref1(unp *u, int col, uint64_t *ref, int *has) {
  uint64_t v;
  if (get_uv(&u->c[col], &v)) return ACCORD_EMALFORMED;
  *has = v != 0;
  *ref = v ? v - 1 : 0;
  return 0;
}

static int get_delta(unp *u, int col, uint64_t *prev) {
  int64_t d;
  if (get_sv(&u->c[col], &d)) return ACCORD_EMALFORMED;
  uint64_t v = *prev + (uint64_t)d;
  if (v > UINT32_MAX) return ACCORD_EMALFORMED;
  *prev = v;
  return 0;
}

/* Writes the next change's body to out. */
static int unp_change(unp *u, buf *out) {
  const uint8_t *p;
  uint64_t flag, v, sd, n, span;
  if (get_uv(&u->c[C_FLAG], &flag) || flag > 1) return ACCORD_EMALFORMED;
  if (flag == 1) {
    if (get_uv(&u->c[C_RAWLEN], &n) ||
        get_bytes(&u->c[C_RAW], (size_t)n, &p) ||
        body_span(p, (size_t)n, &sd, &span) || sd > UINT32_MAX ||
        span > UINT32_MAX)
      return ACCORD_EMALFORMED;
    buf_put(out, p, (size_t)n);
    u->end_op += sd + span;
    return u->end_op > UINT32_MAX ? ACCORD_EMALFORMED : 0;
  }
  int64_t td;
  if (get_uv(&u->c[C_START], &sd) || sd > UINT32_MAX ||
      get_sv(&u->c[C_TIME], &td))
    return ACCORD_EMALFORMED;
  uint64_t ctr = u->end_op + sd;
  if (ctr > UINT32_MAX) return ACCORD_EMALFORMED;
  mp_put_uint(out, sd);
  mp_put_int(out, td);
  if (get_uv(&u->c[C_NACT], &n) ||
      n > (uint64_t)(u->c[C_ACT].end - u->c[C_ACT].p) / ACCORD_ACTOR_BYTES)
    return ACCORD_EMALFORMED;
  mp_put_array(out, (uint32_t)n);
  for (uint64_t i = 0; i < n; i++) {
    if (get_bytes(&u->c[C_ACT], ACCORD_ACTOR_BYTES, &p))
      return ACCORD_EMALFORMED;
    mp_put_bin(out, p, ACCORD_ACTOR_BYTES);
  }
  if (get_uv(&u->c[C_NDEP], &n) ||
      n > (uint64_t)(u->c[C_DEP].end - u->c[C_DEP].p))
    return ACCORD_EMALFORMED;
  mp_put_array(out, (uint32_t)(2 * n));
  for (uint64_t i = 0; i < n; i++) {
    if (get_uv(&u->c[C_DEP], &v) || get_delta(u, C_DSEQ, &u->dseq))
      return ACCORD_EMALFORMED;
    mp_put_uint(out, v);
    mp_put_uint(out, u->dseq);
  }
  mp_put_nil(out);
  uint64_t nops;
  if (get_uv(&u->c[C_NOPS], &nops) ||
      nops > (uint64_t)(u->c[C_KIND].end - u->c[C_KIND].p))
    return ACCORD_EMALFORMED;
  mp_put_array(out, (uint32_t)nops);
  for (uint64_t k = 0; k < nops; k++) {
    uint64_t kind, oref = 0, lref = 0, lback = 0, rref = 0, tlen, cnt, t;
    int hobj, hl, hr;
    if (out->err || out->len > u->limit)
      return out->err ? out->err : ACCORD_ETOOBIG;
    if (get_uv(&u->c[C_KIND], &kind) ||
        (kind != OP_INS && kind != OP_RMV &&
         (kind != K_RMV_PREV || u->ver < 2)) ||
        get_ref1(u, C_OBJREF, &oref, &hobj) ||
        (hobj && get_delta(u, C_OBJCTR, &u->obj)))
      return ACCORD_EMALFORMED;
    uint32_t objf = hobj ? 2 : 1;
    if (kind == OP_INS) {
      size_t ncp;
      if (get_ref1(u, C_LREF, &lref, &hl) ||
          (hl && get_uv(&u->c[C_LBACK], &lback)))
        return ACCORD_EMALFORMED;
      if (hl && u->ver >= 2) /* 0: just before the last delete's target */
        lback = lback ? lback - 1 : ctr + 1 - u->target;
      if ((hl && lback > ctr) ||
          get_ref1(u, C_RREF, &rref, &hr))
        return ACCORD_EMALFORMED;
      t = 0; /* version 2, typing on: the previous right origin */
      if (hr && (u->ver < 2 || !hl || lref != 0 || lback != 1) &&
          get_uv(&u->c[C_RCTR], &t))
        return ACCORD_EMALFORMED;
      if (hr && t == 1) { /* just after the left origin */
        if (!hl) return ACCORD_EMALFORMED;
        u->right = ctr - lback + 1;
      } else if (hr && t > 1) { /* a jump from the previous right origin */
        u->right += (uint64_t)pack_unzig(t - 2);
      }
      if ((hr && u->right > ctr) || get_uv(&u->c[C_TLEN], &tlen) ||
          get_bytes(&u->c[C_TEXT], (size_t)tlen, &p) ||
          !utf8_valid(p, (size_t)tlen, &ncp) || ncp == 0)
        return ACCORD_EMALFORMED;
      mp_put_array(out, 2 + objf + (hl ? 2 : 1) + (hr ? 2 : 1));
      mp_put_uint(out, OP_INS);
      if (hobj) {
        mp_put_uint(out, oref);
        mp_put_uint(out, u->obj);
      } else {
        mp_put_nil(out);
      }
      if (hl) {
        mp_put_uint(out, lref);
        mp_put_uint(out, lback);
      } else {
        mp_put_nil(out);
      }
      if (hr) {
        mp_put_uint(out, rref);
        mp_put_uint(out, ctr - u->right);
      } else {
        mp_put_nil(out);
      }
      mp_put_str(out, p, (size_t)tlen);
      ctr += ncp;
    } else {
      uint64_t tref = 0;
      if (kind == K_RMV_PREV) { /* the author's previous op */
        if (ctr == 0) return ACCORD_EMALFORMED;
        u->target = ctr - 1;
      } else if (get_uv(&u->c[C_TREF], &tref) ||
                 get_delta(u, C_TCTR, &u->target) || u->target > ctr) {
        return ACCORD_EMALFORMED;
      }
      if (get_uv(&u->c[C_COUNT], &cnt)) return ACCORD_EMALFORMED;
      mp_put_array(out, 4 + objf);
      mp_put_uint(out, OP_RMV);
      if (hobj) {
        mp_put_uint(out, oref);
        mp_put_uint(out, u->obj);
      } else {
        mp_put_nil(out);
      }
      mp_put_uint(out, tref);
      mp_put_uint(out, ctr - u->target);
      mp_put_uint(out, cnt);
      ctr += 1;
    }
    if (ctr > UINT32_MAX) return ACCORD_EMALFORMED;
  }
  u->end_op = ctr;
  return out->err;
}

/* ---- packing ------------------------------------------------------------- */

typedef struct enc {
  buf c[NCOLS];
  uint64_t end_op, obj, right, target, dseq;
  uint64_t ver; /* the version written */
} enc;

static int enc_ref1(enc *e, int col, mp_reader *r, uint64_t *ref,
                    uint64_t *second) {
  if (mp_try_nil(r)) {
    put_uv(&e->c[col], 0);
    return 0;
  }
  if (mp_get_uint(r, ref) || mp_get_uint(r, second)) return -1;
  put_uv(&e->c[col], *ref + 1);
  return 1;
}

/* Writes one body into the columns (not FLAG); -1 if it does not fit the
 * columnar form. Sets *end to the counter after it. */
static int enc_columnar(enc *e, const uint8_t *body, size_t len,
                        uint64_t *end) {
  mp_reader r;
  uint64_t sd, v, ref, x;
  int64_t td;
  uint32_t n, nops;
  mp_reader_init(&r, body, len);
  if (mp_get_uint(&r, &sd) || mp_get_int(&r, &td) || mp_get_array(&r, &n))
    return -1;
  uint64_t ctr = e->end_op + sd;
  put_uv(&e->c[C_START], sd);
  put_sv(&e->c[C_TIME], td);
  put_uv(&e->c[C_NACT], n);
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *id;
    size_t l;
    if (mp_get_bin(&r, &id, &l) || l != ACCORD_ACTOR_BYTES) return -1;
    buf_put(&e->c[C_ACT], id, l);
  }
  if (mp_get_array(&r, &n) || n % 2) return -1;
  put_uv(&e->c[C_NDEP], n / 2);
  for (uint32_t i = 0; i < n / 2; i++) {
    if (mp_get_uint(&r, &v) || mp_get_uint(&r, &x) || x > UINT32_MAX)
      return -1;
    put_uv(&e->c[C_DEP], v);
    put_sv(&e->c[C_DSEQ], (int64_t)(x - e->dseq));
    e->dseq = x;
  }
  if (!mp_try_nil(&r) || mp_get_array(&r, &nops)) return -1;
  put_uv(&e->c[C_NOPS], nops);
  for (uint32_t k = 0; k < nops; k++) {
    uint64_t kind;
    if (mp_get_array(&r, &n) || mp_get_uint(&r, &kind) ||
        (kind != OP_INS && kind != OP_RMV))
      return -1;
    size_t kat = e->c[C_KIND].len; /* KIND is one byte a value */
    put_uv(&e->c[C_KIND], kind);
    int h = enc_ref1(e, C_OBJREF, &r, &ref, &x);
    if (h < 0) return -1;
    if (h) {
      put_sv(&e->c[C_OBJCTR], (int64_t)(x - e->obj));
      e->obj = x;
    }
    if (kind == OP_INS) {
      uint64_t left = 0; /* the left origin's counter + 1; 0: none */
      h = enc_ref1(e, C_LREF, &r, &ref, &x);
      if (h < 0 || x > ctr) return -1;
      int on = 0; /* typing on: the left origin is the previous counter */
      if (h) {
        /* version 2: 0 for just before the last delete's target (typing
         * again after backspaces), else back + 1 */
        if (e->ver < 2) put_uv(&e->c[C_LBACK], x);
        else if (x != 1 && x + e->target == ctr + 1) put_uv(&e->c[C_LBACK], 0);
        else put_uv(&e->c[C_LBACK], x + 1);
        left = ctr - x + 1;
        on = x == 1 && ref == 0 && e->ver >= 2; /* own previous op */
      }
      h = enc_ref1(e, C_RREF, &r, &ref, &x);
      if (h < 0 || x > ctr) return -1;
      if (h) { /* typing goes on before the same right origin; a jump often
                * lands inside a typed run, just before left's successor */
        uint64_t right = ctr - x;
        if (on && right != e->right) return -1; /* not representable */
        if (!on)
          put_uv(&e->c[C_RCTR],
                 right == e->right ? 0
                 : right == left   ? 1
                                   : 2 + pack_zig((int64_t)(right - e->right)));
        e->right = right;
      }
      const char *s;
      size_t sl, ncp;
      if (mp_peek(&r) != MP_STR || mp_get_str(&r, &s, &sl) ||
          !utf8_valid((const uint8_t *)s, sl, &ncp))
        return -1;
      put_uv(&e->c[C_TLEN], sl);
      buf_put(&e->c[C_TEXT], s, sl);
      ctr += ncp;
    } else {
      if (mp_get_uint(&r, &ref) || mp_get_uint(&r, &x) || x > ctr ||
          mp_get_uint(&r, &v))
        return -1;
      if (e->ver >= 2 && ref == 0 && x == 1) { /* backspace after typing */
        if (e->c[C_KIND].err) return -1;
        e->c[C_KIND].p[kat] = K_RMV_PREV;
      } else {
        put_uv(&e->c[C_TREF], ref);
        put_sv(&e->c[C_TCTR], (int64_t)((ctr - x) - e->target));
      }
      e->target = ctr - x;
      put_uv(&e->c[C_COUNT], v);
      ctr += 1;
    }
  }
  if (r.p != r.end || r.err) return -1;
  *end = ctr;
  return 0;
}

/* Packs one change: columnar if it comes back byte for byte, else raw. */
static int enc_change(enc *e, const uint8_t *body, size_t len, buf *scratch) {
  size_t mark[NCOLS];
  for (int i = 0; i < NCOLS; i++) mark[i] = e->c[i].len;
  /* only the counters change besides the columns: no copy of the whole
   * encoder, no memset of a decoder per change (they were a third of the
   * packing time) */
  enc before;
  before.end_op = e->end_op;
  before.obj = e->obj;
  before.right = e->right;
  before.target = e->target;
  before.dseq = e->dseq;
  uint64_t end = 0;
  int ok = enc_columnar(e, body, len, &end) == 0;
  for (int i = 0; i < NCOLS && ok; i++) ok = !e->c[i].err;
  if (ok) { /* read it back */
    unp u;
    put_uv(&e->c[C_FLAG], 0);
    for (int i = 0; i < NCOLS; i++)
      u.c[i] = (rd){e->c[i].p + mark[i], e->c[i].p + e->c[i].len, 0, 0, 0};
    u.limit = SIZE_MAX;
    u.ver = e->ver;
    u.end_op = before.end_op;
    u.obj = before.obj;
    u.right = before.right;
    u.target = before.target;
    u.dseq = before.dseq;
    scratch->len = 0;
    ok = !e->c[C_FLAG].err && unp_change(&u, scratch) == 0 &&
         scratch->len == len && !memcmp(scratch->p, body, len) &&
         u.end_op == end;
    if (ok) {
      e->end_op = end;
      return 0;
    }
    e->c[C_FLAG].len = mark[C_FLAG];
  }
  /* raw: undo the columns and keep the bytes */
  for (int i = 0; i < NCOLS; i++) {
    if (e->c[i].err) return e->c[i].err;
    e->c[i].len = mark[i];
  }
  e->obj = before.obj;
  e->right = before.right;
  e->target = before.target;
  e->dseq = before.dseq;
  uint64_t sd, span;
  if (body_span(body, len, &sd, &span)) return ACCORD_EMALFORMED;
  e->end_op = before.end_op + sd + span;
  put_uv(&e->c[C_FLAG], 1);
  put_uv(&e->c[C_RAWLEN], len);
  buf_put(&e->c[C_RAW], body, len);
  return 0;
}

void pack_z_free(pack_z *z) {
  ZSTD_freeCCtx(z->cctx);
  z->cctx = NULL;
}

/* Sets z's parameters on its context (created on first use); the prefix,
 * if any, holds for the next frame only. */
static int z_setup(pack_z *z, const uint8_t *pre, size_t plen, size_t n) {
  if (!z->cctx && !(z->cctx = ZSTD_createCCtx())) return ACCORD_ENOMEM;
  ZSTD_CCtx *c = z->cctx;
  size_t e = ZSTD_CCtx_reset(c, ZSTD_reset_session_and_parameters);
  if (!ZSTD_isError(e))
    e = ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, z->level);
  if (!ZSTD_isError(e) && z->strategy)
    e = ZSTD_CCtx_setParameter(c, ZSTD_c_strategy, z->strategy);
  if (!ZSTD_isError(e) && plen) {
    /* the window must reach back into the prefix */
    int wlog = 10; /* ZSTD_WINDOWLOG_MIN */
    while (wlog < PACK_PREFIX_WLOG && ((size_t)1 << wlog) < plen + n) wlog++;
    e = ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, wlog);
    if (!ZSTD_isError(e)) e = ZSTD_CCtx_refPrefix(c, pre, plen);
  }
  return ZSTD_isError(e) ? ACCORD_ENOMEM : 0; /* only allocation fails */
}

int pack_deflate_cut(const uint8_t *p, size_t n, const size_t *cut,
                     size_t ncut, const uint8_t *pre, size_t plen,
                     pack_z *z, buf *out) {
  if (n > PACK_MAX_RAW) return ACCORD_ETOOBIG;
  int rc = z_setup(z, pre, plen, n);
  if (rc) return rc;
  ZSTD_CCtx *c = z->cctx;
  if (ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(c, n))) return ACCORD_ENOMEM;
  size_t at = out->len, from = 0;
  for (size_t i = 0; i < ncut; i++)
    if (cut[i] > n || (i && cut[i] < cut[i - 1])) return ACCORD_EINVAL;
  /* each cut ends a block: a few bytes of header, and the next block's
   * entropy tables fit its own column instead of a mix of two */
  if ((rc = buf_try_reserve(out, ZSTD_compressBound(n) + 8 * ncut + 64)))
    return rc;
  for (size_t i = 0; i <= ncut; i++) {
    size_t to = i < ncut ? cut[i] : n;
    if (i < ncut && to - from < PACK_CUT_MIN) continue; /* too short */
    ZSTD_inBuffer in = {p + from, to - from, 0};
    ZSTD_EndDirective end = i < ncut ? ZSTD_e_flush : ZSTD_e_end;
    size_t left;
    do {
      if (out->cap - out->len < 64 &&
          (rc = buf_try_reserve(out, out->cap - at + 64)))
        return rc;
      ZSTD_outBuffer o = {out->p, out->cap, out->len};
      left = ZSTD_compressStream2(c, &o, &in, end);
      out->len = o.pos;
      if (ZSTD_isError(left)) {
        out->len = at;
        return ACCORD_ENOMEM; /* only allocation fails */
      }
    } while (left != 0 || in.pos != in.size);
    from = to;
  }
  return 0;
}

int pack_deflate_prefix(const uint8_t *p, size_t n, const uint8_t *pre,
                        size_t plen, pack_z *z, buf *out) {
  return pack_deflate_cut(p, n, NULL, 0, pre, plen, z, out);
}

int pack_deflate(const uint8_t *p, size_t n, pack_z *z, buf *out) {
  return pack_deflate_prefix(p, n, NULL, 0, z, out);
}

/* Rewrites a column of uvarints as runs (into out, emptied first). */
static void put_runs(buf *out, const buf *col) {
  rd r = {col->p, col->p ? col->p + col->len : NULL, 0, 0, 0};
  uint64_t v = 0, cur = 0, count = 0;
  out->len = 0;
  while (r.p < r.end) {
    get_plain(&r, &v); /* we wrote it */
    if (count && v == cur) {
      count++;
      continue;
    }
    if (count) {
      put_uv(out, count);
      put_uv(out, cur);
    }
    cur = v;
    count = 1;
  }
  if (count) {
    put_uv(out, count);
    put_uv(out, cur);
  }
}

static int pack_bodies_v(const chain *c, pack_z *z, uint64_t ver, buf *out) {
  enc e;
  buf raw = {0}, scratch = {0};
  int rc = 0;
  memset(&e, 0, sizeof e);
  e.ver = ver;
  if (c->base || (c->n && !c->off)) return ACCORD_EINVAL;
  /* no column is ever NULL: cursors do arithmetic on their pointers */
  for (int i = 0; i < NCOLS && !rc; i++)
    rc = buf_try_reserve(&e.c[i], 16);
  for (uint32_t s = 1; s <= c->n && !rc; s++) {
    size_t len;
    const uint8_t *body = chain_body(c, s, &len);
    rc = enc_change(&e, body, len, &scratch);
  }
  size_t cut[NCOLS];
  if (!rc) {
    put_uv(&raw, ver);
    for (int i = 0; i < NCOLS; i++) {
      cut[i] = raw.len; /* a block ends before each column */
      if (col_rle(i)) {
        put_runs(&scratch, &e.c[i]);
        put_uv(&raw, scratch.len);
        buf_put(&raw, scratch.p, scratch.len);
      } else {
        put_uv(&raw, e.c[i].len);
        buf_put(&raw, e.c[i].p, e.c[i].len);
      }
    }
    if (scratch.err) rc = scratch.err;
    rc = raw.err;
  }
  if (!rc) rc = pack_deflate_cut(raw.p, raw.len, cut, NCOLS, NULL, 0, z, out);
  for (int i = 0; i < NCOLS; i++) buf_free(&e.c[i]);
  buf_free(&raw);
  buf_free(&scratch);
  return rc;
}

int pack_bodies(const chain *c, pack_z *z, buf *out) {
  return pack_bodies_v(c, z, PACK_VERSION, out);
}

int pack_bodies_v1(const chain *c, pack_z *z, buf *out) {
  return pack_bodies_v(c, z, 1, out);
}

/* ---- unpacking ----------------------------------------------------------- */

/* Decompresses one whole zstd frame, growing raw only as output arrives. */
int pack_inflate_prefix(const uint8_t *p, size_t len, const uint8_t *pre,
                        size_t plen, size_t max, buf *raw) {
  ZSTD_DCtx *z = ZSTD_createDCtx();
  if (!z) return ACCORD_ENOMEM;
  size_t at = raw->len;
  if (max > PACK_MAX_RAW) max = PACK_MAX_RAW;
  ZSTD_inBuffer in = {p, len, 0};
  int rc = 0;
  size_t ret = 1;
  if (plen && ZSTD_isError(ZSTD_DCtx_refPrefix(z, pre, plen)))
    rc = ACCORD_ENOMEM;
  while (ret != 0 && !rc) {
    size_t lim = at + max, had = in.pos;
    if (raw->len == lim) {
      /* full: the frame may still end without more output */
      ZSTD_outBuffer o = {raw->p, raw->len, raw->len};
      ret = ZSTD_decompressStream(z, &o, &in);
      if (ZSTD_isError(ret)) rc = ACCORD_EMALFORMED;
      else if (ret != 0 && in.pos == had) rc = ACCORD_ETOOBIG;
      continue;
    }
    if (raw->len == raw->cap) {
      size_t want = raw->cap ? raw->cap : len * 8 + 4096;
      if (want > lim - raw->len) want = lim - raw->len;
      if ((rc = buf_try_reserve(raw, want))) break;
    }
    /* never past the bound, whatever the buffer's capacity */
    ZSTD_outBuffer o = {raw->p, raw->cap < lim ? raw->cap : lim, raw->len};
    ret = ZSTD_decompressStream(z, &o, &in);
    raw->len = o.pos;
    if (ZSTD_isError(ret)) {
      /* zstd's frames ask for at most a 128 MiB window (its default
       * limit); a failure here is a bad frame, not memory */
      rc = ACCORD_EMALFORMED;
      break;
    }
    if (ret != 0 && in.pos == in.size && o.pos < o.size) {
      rc = ACCORD_EMALFORMED; /* truncated frame */
      break;
    }
  }
  if (!rc && in.pos != in.size) rc = ACCORD_EMALFORMED; /* trailing bytes */
  ZSTD_freeDCtx(z);
  return rc;
}

int pack_inflate(const uint8_t *p, size_t len, buf *raw) {
  return pack_inflate_prefix(p, len, NULL, 0, PACK_MAX_RAW, raw);
}

int pack_text(const uint8_t *p, size_t len, size_t max, size_t *budget,
              buf *out) {
  buf raw = {0};
  int rc = pack_inflate_prefix(p, len, NULL, 0, *budget, &raw);
  if (!rc) {
    *budget -= raw.len;
    rd r = {raw.p, raw.p + raw.len, 0, 0, 0};
    uint64_t v;
    if (get_uv(&r, &v) || v < 1 || v > PACK_VERSION) rc = ACCORD_EMALFORMED;
    for (int i = 0; i < NCOLS && !rc; i++) {
      const uint8_t *col;
      if (get_uv(&r, &v) || v > raw.len || get_bytes(&r, (size_t)v, &col))
        rc = ACCORD_EMALFORMED;
      else if (i != C_TEXT && i != C_RAW)
        continue;
      else if (v > max - out->len || out->len > max)
        rc = ACCORD_ETOOBIG;
      else
        rc = buf_try_reserve(out, (size_t)v);
      if (!rc && (i == C_TEXT || i == C_RAW)) buf_put(out, col, (size_t)v);
    }
  }
  buf_free(&raw);
  return rc;
}

int unpack_bodies(const uint8_t *p, size_t len, uint32_t n, buf *out) {
  buf raw = {0};
  unp u;
  size_t at = out->len;
  memset(&u, 0, sizeof u);
  u.limit = at + PACK_MAX_RAW;
  int rc = pack_inflate(p, len, &raw);
  if (!rc) {
    rd r = {raw.p, raw.p + raw.len, 0, 0, 0};
    uint64_t v;
    if (get_uv(&r, &v) || v < 1 || v > PACK_VERSION) rc = ACCORD_EMALFORMED;
    u.ver = v;
    for (int i = 0; i < NCOLS && !rc; i++) {
      const uint8_t *col;
      if (get_uv(&r, &v) || v > raw.len || get_bytes(&r, (size_t)v, &col))
        rc = ACCORD_EMALFORMED;
      else u.c[i] = (rd){col, col + v, col_rle(i), 0, 0};
    }
    if (!rc && (r.p != r.end ||
                (uint64_t)(u.c[C_FLAG].end - u.c[C_FLAG].p) != n))
      rc = ACCORD_EMALFORMED;
  }
  for (uint32_t s = 0; s < n && !rc; s++) {
    rc = unp_change(&u, out);
    if (!rc && out->len - at > PACK_MAX_RAW) rc = ACCORD_ETOOBIG;
  }
  for (int i = 0; i < NCOLS && !rc; i++)
    if (u.c[i].p != u.c[i].end || u.c[i].left)
      rc = ACCORD_EMALFORMED; /* unused values */
  buf_free(&raw);
  if (rc) {
    out->len = at;
    out->err = 0;
  }
  return rc;
}
