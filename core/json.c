/*
 * json.c — a document as JSON: maps as objects (keys in bytewise order,
 * the winning value of each), lists as arrays, text as strings, counters and
 * timestamps as numbers, bytes as base64 strings, non-finite doubles as
 * null. Recursion is bounded by ACCORD_MAX_DEPTH.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "doc.h"

static void put_str(buf *b, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  buf_put_byte(b, '"');
  if (n == 0) { /* s may be NULL: no arithmetic on it */
    buf_put_byte(b, '"');
    return;
  }
  size_t run = 0; /* bytes copied as they are, in one go */
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    buf_put(b, s + run, i - run);
    run = i + 1;
    buf_put_byte(b, '\\');
    switch (c) {
      case '"': buf_put_byte(b, '"'); break;
      case '\\': buf_put_byte(b, '\\'); break;
      case '\n': buf_put_byte(b, 'n'); break;
      case '\r': buf_put_byte(b, 'r'); break;
      case '\t': buf_put_byte(b, 't'); break;
      default: {
        char u[5] = {'u', '0', '0', hex[c >> 4], hex[c & 15]};
        buf_put(b, u, 5);
      }
    }
  }
  buf_put(b, s + run, n - run);
  buf_put_byte(b, '"');
}

static void put_base64(buf *b, const uint8_t *p, size_t n) {
  static const char t[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  buf_put_byte(b, '"');
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16;
    if (i + 1 < n) v |= (uint32_t)p[i + 1] << 8;
    if (i + 2 < n) v |= p[i + 2];
    char q[4] = {t[v >> 18], t[(v >> 12) & 63], i + 1 < n ? t[(v >> 6) & 63] : '=',
                 i + 2 < n ? t[v & 63] : '='};
    buf_put(b, q, 4);
  }
  buf_put_byte(b, '"');
}

static void put_obj(const accord_doc *doc, const object *o, buf *b);

static void put_val(const accord_doc *doc, const val *v, opid id, buf *b) {
  char num[40];
  int n;
  switch (v->type) {
    case ACCORD_NULL: buf_put(b, "null", 4); break;
    case ACCORD_BOOL:
      if (v->u.i) buf_put(b, "true", 4);
      else buf_put(b, "false", 5);
      break;
    case ACCORD_INT:
    case ACCORD_TIMESTAMP:
    case ACCORD_COUNTER:
      n = snprintf(num, sizeof num, "%lld", (long long)v->u.i);
      buf_put(b, num, (size_t)n);
      break;
    case ACCORD_DOUBLE:
      if (!isfinite(v->u.d)) {
        buf_put(b, "null", 4);
      } else {
        n = snprintf(num, sizeof num, "%.17g", v->u.d);
        buf_put(b, num, (size_t)n);
      }
      break;
    case ACCORD_STR: put_str(b, v->u.s, v->len); break;
    case ACCORD_BYTES: put_base64(b, (const uint8_t *)v->u.s, v->len); break;
    default: {
      const object *child = state_obj(&doc->st, id);
      if (child) put_obj(doc, child, b);
      else buf_put(b, "null", 4);
    }
  }
}

typedef struct elem_ctx {
  const accord_doc *doc;
  buf *b;
  int first;
} elem_ctx;

static int put_elem(void *ctx, opid id, val *v) {
  elem_ctx *x = ctx;
  if (!x->first) buf_put_byte(x->b, ',');
  x->first = 0;
  put_val(x->doc, v, id, x->b);
  return x->b->err;
}

static void put_obj(const accord_doc *doc, const object *o, buf *b) {
  if (o->type == ACCORD_MAP) {
    buf_put_byte(b, '{');
    int first = 1;
    for (uint32_t i = 0; i < o->u.m.n; i++) {
      const mentry *e = &o->u.m.e[i];
      if (e->n == 0) continue;
      if (!first) buf_put_byte(b, ',');
      first = 0;
      put_str(b, e->key, e->klen);
      buf_put_byte(b, ':');
      put_val(doc, &e->regs[0].v, e->regs[0].op, b);
    }
    buf_put_byte(b, '}');
  } else if (o->type == ACCORD_TEXT) {
    buf t = {0};
    seq_text(&o->u.s, &t);
    if (t.err) b->err = t.err;
    else put_str(b, (const char *)t.p, t.len);
    buf_free(&t);
  } else {
    elem_ctx x = {doc, b, 1};
    buf_put_byte(b, '[');
    seq_each_visible(&o->u.s, put_elem, &x);
    buf_put_byte(b, ']');
  }
}

int accord_doc_json(const accord_doc *doc, char **out, size_t *len) {
  if (!out) return ACCORD_EINVAL;
  *out = NULL;
  if (!doc) return ACCORD_EINVAL;
  if (doc->poisoned) return doc->poisoned;
  buf b = {0};
  put_obj(doc, state_obj(&doc->st, opid_make(0, 0)), &b);
  *out = (char *)buf_take(&b, len);
  return *out ? 0 : ACCORD_ENOMEM;
}
