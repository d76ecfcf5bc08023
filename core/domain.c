/*
 * domain.c — the ground the goal and messaging documents stand on: their
 * field tables and value parsing, typed reads of map keys, the writes they
 * share (init, field set, links), conflicts per field, and the packer that
 * turns results into single buffers. goal.c, messaging.c and align.c build
 * on it; docs/schema.md is the schema in prose.
 *
 * Invariant kept by every write here: a value is checked before anything is
 * written, so a write fails half way only when memory runs out.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doc.h"
#include "domain.h"
#include "mem.h"
#include "utf8.h"

/* ---- field tables ---------------------------------------------------------- */

static const char *const DIRECTIONS[] = {"up", "down", NULL};
static const char *const TEAMS[] = {"product", "marketing", "shared", NULL};
static const char *const GOAL_STATUS[] = {"on-track", "at-risk", "off-track",
                                          "done", NULL};
static const char *const MSG_STATUS[] = {"draft", "review", "approved", NULL};

static const dfield GOAL_FIELDS[] = {
    {"title", "title", 0, DF_TEXT, NULL, 0},
    {"description", "description", 0, DF_TEXT, NULL, 0},
    {"metric", "name", 1, DF_STR, NULL, 0},
    {"unit", "unit", 1, DF_STR, NULL, 0},
    {"baseline", "baseline", 1, DF_NUM, NULL, 1},
    {"target", "target", 1, DF_NUM, NULL, 1},
    {"direction", "direction", 1, DF_ENUM, DIRECTIONS, 0},
    {"due", "due", 0, DF_DATE, NULL, 1},
    {"team", "team", 0, DF_ENUM, TEAMS, 1},
    {"status", "status", 0, DF_ENUM, GOAL_STATUS, 1},
    {NULL, NULL, 0, DF_STR, NULL, 0}};

static const dfield MSG_FIELDS[] = {
    {"title", "title", 0, DF_TEXT, NULL, 0},
    {"product", "product", 0, DF_STR, NULL, 0},
    {"value-prop", "value_prop", 0, DF_TEXT, NULL, 0},
    {"positioning", "positioning", 0, DF_TEXT, NULL, 0},
    {"press-release", "press_release", 0, DF_TEXT, NULL, 0},
    {"faq", "faq", 0, DF_TEXT, NULL, 0},
    {"status", "status", 0, DF_ENUM, MSG_STATUS, 0},
    {NULL, NULL, 0, DF_STR, NULL, 0}};

const dfield *dom_fields(int is_goal) {
  return is_goal ? GOAL_FIELDS : MSG_FIELDS;
}

/* a and b equal with '-', '_' and ' ' alike and ASCII case ignored. */
static int name_eq(const char *a, const char *b) {
  for (;; a++, b++) {
    char x = *a, y = *b;
    if (x == '_' || x == ' ') x = '-';
    if (y == '_' || y == ' ') y = '-';
    if (x >= 'A' && x <= 'Z') x = (char)(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = (char)(y - 'A' + 'a');
    if (x != y) return 0;
    if (!x) return 1;
  }
}

const dfield *dom_field(int is_goal, const char *name) {
  if (!name) return NULL;
  for (const dfield *f = dom_fields(is_goal); f->name; f++)
    if (name_eq(f->name, name) || name_eq(f->key, name)) return f;
  return NULL;
}

const char *dom_choice(const dfield *f, const char *value) {
  if (!f->choices || !value) return NULL;
  for (const char *const *c = f->choices; *c; c++)
    if (name_eq(*c, value)) return *c;
  return NULL;
}

int dom_parse_num(const char *s, double *out) {
  if (!s || !*s) return ACCORD_EINVAL;
  for (const char *p = s; *p; p++)
    if (!strchr("0123456789+-.eE", *p)) return ACCORD_EINVAL;
  char *end;
  double d = strtod(s, &end);
  if (*end || end == s || !isfinite(d)) return ACCORD_EINVAL;
  *out = d;
  return 0;
}

accord_value dom_num_value(double d) {
  /* no libm in the library: the range check comes first, so the cast is
   * defined */
  if (d >= -9007199254740992.0 && d <= 9007199254740992.0 &&
      d == (double)(int64_t)d)
    return accord_int((int64_t)d);
  return accord_double(d);
}

int dom_value_num(const accord_value *v, double *d) {
  if (v->type == ACCORD_INT) *d = (double)v->u.i;
  else if (v->type == ACCORD_DOUBLE) *d = v->u.d;
  else return 0;
  return 1;
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = (unsigned)(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

int accord_parse_date(const char *s, int64_t *ms) {
  if (!s || !ms || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
    return ACCORD_EINVAL;
  for (int i = 0; i < 10; i++)
    if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) return ACCORD_EINVAL;
  int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
  static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1970 || m < 1 || m > 12 || d < 1) return ACCORD_EINVAL;
  int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > mdays[m - 1] + (m == 2 && leap)) return ACCORD_EINVAL;
  *ms = days_from_civil(y, (unsigned)m, (unsigned)d) * 86400000;
  return 0;
}

int accord_domain_check(int is_goal, const char *field, const char *value,
                        const char **why) {
  const char *w = NULL;
  const dfield *f = dom_field(is_goal, field);
  double d;
  int64_t t;
  if (!f) w = "there is no such field";
  else if (!value) w = "a value is needed";
  else if (!utf8_valid((const uint8_t *)value, strlen(value), NULL))
    w = "the value is not valid UTF-8";
  else switch (f->kind) {
      case DF_NUM:
        if (dom_parse_num(value, &d)) w = "the value is not a number";
        break;
      case DF_DATE:
        if (accord_parse_date(value, &t))
          w = "the value is not a date of the form YYYY-MM-DD";
        break;
      case DF_ENUM:
        if (!dom_choice(f, value)) w = "the value is not one of the choices";
        break;
      case DF_STR:
        if (!*value && !strcmp(f->name, "title")) w = "the value is empty";
        break;
      case DF_TEXT:
        if (!*value && !strcmp(f->name, "title")) w = "a title cannot be empty";
        break;
    }
  if (why) *why = w;
  return w ? ACCORD_EINVAL : 0;
}

/* ---- typed reads ---------------------------------------------------------- */

int dom_get_obj(const accord_doc *doc, accord_id obj, const char *key,
                accord_type t, accord_id *out) {
  accord_value v;
  int rc = accord_map_get(doc, obj, key, &v);
  if (rc) return rc;
  if (v.type != t) return ACCORD_ETYPE;
  *out = v.u.obj;
  return 0;
}

const char *dom_get_str(const accord_doc *doc, accord_id obj, const char *key,
                        size_t *len) {
  accord_value v;
  if (accord_map_get(doc, obj, key, &v) || v.type != ACCORD_STR) {
    if (len) *len = 0;
    return "";
  }
  if (len) *len = v.u.str.len;
  return v.u.str.ptr;
}

int dom_get_num(const accord_doc *doc, accord_id obj, const char *key,
                double *out) {
  accord_value v;
  return !accord_map_get(doc, obj, key, &v) && dom_value_num(&v, out);
}

int64_t dom_get_ts(const accord_doc *doc, accord_id obj, const char *key) {
  accord_value v;
  if (accord_map_get(doc, obj, key, &v) || v.type != ACCORD_TIMESTAMP)
    return 0;
  return v.u.i;
}

int dom_get_text(const accord_doc *doc, accord_id obj, const char *key,
                 char **out) {
  accord_id t;
  *out = NULL;
  if (dom_get_obj(doc, obj, key, ACCORD_TEXT, &t)) {
    *out = mem_alloc(1);
    if (!*out) return ACCORD_ENOMEM;
    **out = 0;
    return 0;
  }
  return accord_text_read(doc, t, out, NULL);
}

int dom_get_links(const accord_doc *doc, pack *p,
                  const uint8_t (**out)[ACCORD_DOC_ID_BYTES], size_t *n) {
  accord_id links;
  size_t total = 0, k = 0;
  *out = NULL;
  *n = 0;
  if (dom_get_obj(doc, ACCORD_ROOT, "links", ACCORD_MAP, &links)) return 0;
  if (accord_map_size(doc, links, &total) || !total) return 0;
  uint8_t(*ids)[ACCORD_DOC_ID_BYTES] = pk_alloc(p, total * sizeof *ids);
  if (!ids) return ACCORD_ENOMEM;
  for (size_t i = 0; i < total; i++) {
    const char *key;
    size_t len;
    if (accord_map_key(doc, links, i, &key, &len)) continue;
    if (len == 2 * ACCORD_DOC_ID_BYTES && !dom_unhex(key, len, ids[k])) k++;
  }
  *out = (const uint8_t(*)[ACCORD_DOC_ID_BYTES])ids;
  *n = k;
  return 0;
}

int dom_get_strlist(const accord_doc *doc, accord_id list, pack *p,
                    const char ***out, size_t *n) {
  size_t len = 0, k = 0;
  *out = NULL;
  *n = 0;
  if (accord_list_len(doc, list, &len) || !len) return 0;
  const char **a = pk_alloc(p, len * sizeof *a);
  if (!a) return ACCORD_ENOMEM;
  for (size_t i = 0; i < len; i++) {
    accord_value v;
    if (accord_list_get(doc, list, i, &v) || v.type != ACCORD_STR) continue;
    a[k++] = pk_str(p, v.u.str.ptr, v.u.str.len);
  }
  *out = a;
  *n = k;
  return p->err;
}

/* ---- writes ---------------------------------------------------------------- */

const accord_doc *dom_txn_doc(const accord_txn *txn) { return txn->doc; }

int dom_put_str(accord_txn *txn, accord_id obj, const char *key,
                const char *s) {
  accord_value v = accord_str(s, strlen(s));
  return accord_map_put(txn, obj, key, &v);
}

static int same_value(const accord_value *a, const accord_value *b) {
  double x, y;
  if (dom_value_num(a, &x) && dom_value_num(b, &y)) return x == y;
  if (a->type != b->type) return 0;
  if (a->type == ACCORD_STR)
    return a->u.str.len == b->u.str.len &&
           !memcmp(a->u.str.ptr, b->u.str.ptr, a->u.str.len);
  return a->type == ACCORD_TIMESTAMP && a->u.i == b->u.i;
}

int dom_set_field(accord_txn *txn, int is_goal, const dfield *f,
                  const char *value) {
  const accord_doc *doc = txn->doc;
  int rc = accord_domain_check(is_goal, f->name, value, NULL);
  if (rc) return rc;
  accord_id obj = ACCORD_ROOT;
  if (accord_map_get(doc, ACCORD_ROOT, "title", &(accord_value){0}))
    return ACCORD_ENOTFOUND; /* not laid out: not a domain document */
  if (f->in_metric &&
      (rc = dom_get_obj(doc, ACCORD_ROOT, "metric", ACCORD_MAP, &obj))) {
    if (rc != ACCORD_ENOTFOUND) return rc;
    if ((rc = accord_map_put_object(txn, ACCORD_ROOT, "metric", ACCORD_MAP,
                                    &obj)))
      return rc;
  }
  accord_value v;
  double d;
  int64_t t;
  switch (f->kind) {
    case DF_TEXT: {
      accord_id text;
      rc = dom_get_obj(doc, obj, f->key, ACCORD_TEXT, &text);
      if (rc == ACCORD_ENOTFOUND)
        rc = accord_map_put_object(txn, obj, f->key, ACCORD_TEXT, &text);
      return rc ? rc : accord_text_update(txn, text, value, strlen(value), NULL);
    }
    case DF_STR: v = accord_str(value, strlen(value)); break;
    case DF_ENUM:
      value = dom_choice(f, value);
      v = accord_str(value, strlen(value));
      break;
    case DF_NUM:
      if (dom_parse_num(value, &d)) return ACCORD_EINVAL;
      v = dom_num_value(d);
      break;
    case DF_DATE:
      if (accord_parse_date(value, &t)) return ACCORD_EINVAL;
      v = accord_timestamp(t);
      break;
  }
  /* Writing what the field already holds, without a conflict, would only
   * grow the history: skip it. With a conflict it is a resolution. */
  accord_conflict cur[2];
  size_t n = 0;
  if (!accord_map_conflicts(doc, obj, f->key, cur, 2, &n) && n == 1 &&
      same_value(&cur[0].value, &v))
    return 0;
  return accord_map_put(txn, obj, f->key, &v);
}

int dom_init(accord_txn *txn, const char *title, const char *const *texts,
             int64_t now_ms) {
  accord_value v;
  accord_id t;
  int rc;
  if (!txn || !title || !*title) return ACCORD_EINVAL;
  if (!utf8_valid((const uint8_t *)title, strlen(title), NULL))
    return ACCORD_EUTF8;
  if (!accord_map_get(txn->doc, ACCORD_ROOT, "title", &v))
    return ACCORD_EINVAL;
  if ((rc = accord_map_put_object(txn, ACCORD_ROOT, "title", ACCORD_TEXT, &t)) ||
      (rc = accord_text_splice(txn, t, 0, 0, title, strlen(title))))
    return rc;
  for (; *texts; texts++)
    if ((rc = accord_map_put_object(txn, ACCORD_ROOT, *texts, ACCORD_TEXT,
                                    NULL)))
      return rc;
  v = accord_timestamp(now_ms);
  return accord_map_put(txn, ACCORD_ROOT, "created", &v);
}

int dom_list_add_unique(accord_txn *txn, const char *key, const char *s) {
  const accord_doc *doc = txn->doc;
  accord_id list;
  size_t n = 0;
  int rc;
  if (!s || !*s) return ACCORD_EINVAL;
  if (!utf8_valid((const uint8_t *)s, strlen(s), NULL)) return ACCORD_EUTF8;
  if (accord_map_get(doc, ACCORD_ROOT, "title", &(accord_value){0}))
    return ACCORD_ENOTFOUND;
  rc = dom_get_obj(doc, ACCORD_ROOT, key, ACCORD_LIST, &list);
  if (rc == ACCORD_ENOTFOUND)
    rc = accord_map_put_object(txn, ACCORD_ROOT, key, ACCORD_LIST, &list);
  if (rc || (rc = accord_list_len(doc, list, &n))) return rc;
  for (size_t i = 0; i < n; i++) {
    accord_value v;
    if (!accord_list_get(doc, list, i, &v) && v.type == ACCORD_STR &&
        v.u.str.len == strlen(s) && !memcmp(v.u.str.ptr, s, v.u.str.len))
      return 0;
  }
  accord_value v = accord_str(s, strlen(s));
  return accord_list_insert(txn, list, n, &v);
}

int accord_domain_link(accord_txn *txn, const uint8_t *other_id,
                       int64_t now_ms) {
  accord_id links;
  char hex[2 * ACCORD_DOC_ID_BYTES + 1];
  int rc;
  if (!txn || !other_id) return ACCORD_EINVAL;
  if (accord_map_get(txn->doc, ACCORD_ROOT, "title", &(accord_value){0}))
    return ACCORD_ENOTFOUND;
  rc = dom_get_obj(txn->doc, ACCORD_ROOT, "links", ACCORD_MAP, &links);
  if (rc == ACCORD_ENOTFOUND)
    rc = accord_map_put_object(txn, ACCORD_ROOT, "links", ACCORD_MAP, &links);
  if (rc) return rc;
  dom_hex(other_id, ACCORD_DOC_ID_BYTES, hex);
  accord_value v;
  if (!accord_map_get(txn->doc, links, hex, &v)) return 0; /* linked */
  v = accord_timestamp(now_ms);
  return accord_map_put(txn, links, hex, &v);
}

int accord_domain_text_field(const accord_doc *doc, const char *field,
                             accord_id *out) {
  if (!doc || !out) return ACCORD_EINVAL;
  accord_value v;
  int rc = accord_map_get(doc, ACCORD_ROOT, "metric", &v);
  const dfield *f = dom_field(rc == 0, field);
  if (!f || f->kind != DF_TEXT) return ACCORD_EINVAL;
  return dom_get_obj(doc, ACCORD_ROOT, f->key, ACCORD_TEXT, out);
}

/* ---- hex ------------------------------------------------------------------ */

void dom_hex(const uint8_t *p, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  out[2 * n] = 0;
}

static int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int dom_unhex(const char *s, size_t len, uint8_t *out) {
  if (len % 2) return ACCORD_EINVAL;
  for (size_t i = 0; i < len; i += 2) {
    int hi = nibble(s[i]), lo = nibble(s[i + 1]);
    if (hi < 0 || lo < 0) return ACCORD_EINVAL;
    out[i / 2] = (uint8_t)(hi << 4 | lo);
  }
  return 0;
}

/* ---- the packer ------------------------------------------------------------ */

#define ALIGN8(n) (((n) + 7) & ~(size_t)7)

void *pk_alloc(pack *p, size_t n) {
  if (p->err) return NULL;
  p->off = ALIGN8(p->off);
  if (p->measure) {
    if (p->ntmp == p->captmp) {
      size_t cap = p->captmp ? 2 * p->captmp : 16;
      void **t = mem_realloc(p->tmp, cap * sizeof *t);
      if (!t) goto nomem;
      p->tmp = t;
      p->captmp = cap;
    }
    void *b = mem_calloc(1, n ? n : 1);
    if (!b) goto nomem;
    p->tmp[p->ntmp++] = b;
    p->off += n;
    return b;
  }
  void *b = p->base + p->off;
  memset(b, 0, n);
  p->off += n;
  return b;
nomem:
  p->err = ACCORD_ENOMEM;
  return NULL;
}

const char *pk_str(pack *p, const char *s, size_t len) {
  if (p->measure || p->err) {
    p->off += len + 1;
    return "";
  }
  char *d = p->base + p->off;
  if (len) memcpy(d, s, len);
  d[len] = 0;
  p->off += len + 1;
  return d;
}

int pk_run(pk_build_fn build, void *ctx, size_t result_size, void **out) {
  pack p = {0};
  int rc;
  *out = NULL;
  p.measure = 1;
  void *scratch = mem_calloc(1, result_size);
  if (!scratch) return ACCORD_ENOMEM;
  p.off = ALIGN8(result_size);
  rc = build(&p, ctx, scratch);
  if (!rc) rc = p.err;
  for (size_t i = 0; i < p.ntmp; i++) mem_free(p.tmp[i]);
  mem_free(p.tmp);
  mem_free(scratch);
  if (rc) return rc;
  size_t total = p.off;
  pack f = {0};
  f.base = mem_calloc(1, total ? total : 1);
  if (!f.base) return ACCORD_ENOMEM;
  f.off = ALIGN8(result_size);
  rc = build(&f, ctx, f.base);
  if (!rc && f.off != total) rc = ACCORD_EINVAL; /* builder not repeatable */
  if (rc) {
    mem_free(f.base);
    return rc;
  }
  *out = f.base;
  return 0;
}
