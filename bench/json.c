/*
 * json.c — the bounded JSON parser behind json.h.
 *
 * Data structure: a recursive-descent parser over [p, end). Children of the
 * array or object being parsed are collected on two shared growable stacks
 * (values, members); when the container closes, its children are copied into
 * an exactly sized block of the arena and popped. Nested containers push
 * above their parent's children and pop before the parent continues, so the
 * stacks never interleave two containers' children.
 *
 * Invariants: p never passes end; depth <= BJSON_MAX_DEPTH; every string in
 * the tree is valid UTF-8 and NUL-terminated; a decoded string is never
 * longer than its source span, so its arena block is sized from the span.
 *
 * Workload: one parse per trace file (up to tens of MB, millions of small
 * nodes), so nodes are bump-allocated rather than malloc'd one by one.
 */
#include "json.h"
#include "util.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- arena --------------------------------------------------------------- */

#define ARENA_CHUNK ((size_t)1 << 20)

typedef struct arena_chunk {
  struct arena_chunk *next;
  size_t used, cap;
  max_align_t data[]; /* cap bytes follow */
} arena_chunk;

struct bjson_doc {
  arena_chunk *chunks; /* newest first; allocation happens in the first */
  bjson_value root;
};

static void *arena_alloc(bjson_doc *doc, size_t n)
{
  const size_t align = sizeof(max_align_t);
  arena_chunk *c = doc->chunks;
  if (n > SIZE_MAX - align)
    return NULL;
  n = (n + align - 1) / align * align;
  if (c == NULL || c->cap - c->used < n) {
    size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
    c = malloc(sizeof(*c) + cap);
    if (c == NULL)
      return NULL;
    c->used = 0;
    c->cap = cap;
    c->next = doc->chunks;
    doc->chunks = c;
  }
  void *p = (char *)c->data + c->used;
  c->used += n;
  return p;
}

void bjson_free(bjson_doc *doc)
{
  if (doc == NULL)
    return;
  while (doc->chunks != NULL) {
    arena_chunk *next = doc->chunks->next;
    free(doc->chunks);
    doc->chunks = next;
  }
  free(doc);
}

/* ---- parser state -------------------------------------------------------- */

typedef struct parser {
  const unsigned char *start, *p, *end;
  int depth;
  bjson_doc *doc;
  bjson_value *vals; /* stack of array children */
  size_t nvals, capvals;
  bjson_member *mems; /* stack of object members */
  size_t nmems, capmems;
  char *err;
  size_t errcap;
} parser;

BENCH_PRINTF(2, 3)
static int perr(parser *ps, const char *fmt, ...)
{
  if (ps->err != NULL && ps->errcap > 0) {
    va_list ap;
    int n = snprintf(ps->err, ps->errcap, "at byte %zu: ",
                     (size_t)(ps->p - ps->start));
    if (n >= 0 && (size_t)n < ps->errcap) {
      va_start(ap, fmt);
      vsnprintf(ps->err + n, ps->errcap - (size_t)n, fmt, ap);
      va_end(ap);
    }
  }
  return -1;
}

static int grow(void **buf, size_t *cap, size_t need, size_t elem)
{
  size_t ncap;
  void *nb;
  if (need <= *cap)
    return 0;
  ncap = *cap ? *cap : 64;
  while (ncap < need) {
    if (ncap > SIZE_MAX / 2 / elem)
      return -1;
    ncap *= 2;
  }
  nb = realloc(*buf, ncap * elem);
  if (nb == NULL)
    return -1;
  *buf = nb;
  *cap = ncap;
  return 0;
}

static void skip_ws(parser *ps)
{
  while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' ||
                             *ps->p == '\n' || *ps->p == '\r'))
    ps->p++;
}

static int parse_value(parser *ps, bjson_value *out);

/* ---- strings ------------------------------------------------------------- */

static int hex4(const unsigned char *s, uint32_t *out)
{
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) {
    unsigned c = s[i];
    v <<= 4;
    if (c >= '0' && c <= '9')
      v |= c - '0';
    else if (c >= 'a' && c <= 'f')
      v |= c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      v |= c - 'A' + 10;
    else
      return -1;
  }
  *out = v;
  return 0;
}

static size_t put_utf8(char *o, uint32_t cp)
{
  if (cp < 0x80) {
    o[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (char)(0xC0 | (cp >> 6));
    o[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (char)(0xE0 | (cp >> 12));
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | (cp >> 18));
  o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  o[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* At the opening quote. Decodes into the arena; *len excludes the NUL. */
static int parse_string(parser *ps, const char **out, size_t *len)
{
  const unsigned char *s = ps->p + 1, *q = s;
  size_t o = 0;
  char *buf;

  /* Pass 1: find the closing quote, so the output can be sized. */
  while (q < ps->end && *q != '"') {
    if (*q == '\\') {
      if (ps->end - q < 2) {
        q = ps->end; /* a final backslash escapes nothing: unterminated */
        break;
      }
      q += 2;
    } else {
      q++;
    }
  }
  if (q >= ps->end)
    return perr(ps, "unterminated string");
  buf = arena_alloc(ps->doc, (size_t)(q - s) + 1);
  if (buf == NULL)
    return perr(ps, "out of memory");

  /* Pass 2: decode, checking each escape and the raw bytes. */
  while (s < q) {
    const unsigned char *run = s;
    while (s < q && *s != '\\' && *s >= 0x20)
      s++;
    if (!bench_utf8_valid((const char *)run, (size_t)(s - run))) {
      ps->p = run;
      return perr(ps, "invalid UTF-8 in string");
    }
    memcpy(buf + o, run, (size_t)(s - run));
    o += (size_t)(s - run);
    if (s == q)
      break;
    ps->p = s;
    if (*s < 0x20)
      return perr(ps, "control character in string");
    /* *s == '\\'; pass 1 guaranteed s + 1 < q + 1 */
    switch (s[1]) {
    case '"': buf[o++] = '"'; s += 2; break;
    case '\\': buf[o++] = '\\'; s += 2; break;
    case '/': buf[o++] = '/'; s += 2; break;
    case 'b': buf[o++] = '\b'; s += 2; break;
    case 'f': buf[o++] = '\f'; s += 2; break;
    case 'n': buf[o++] = '\n'; s += 2; break;
    case 'r': buf[o++] = '\r'; s += 2; break;
    case 't': buf[o++] = '\t'; s += 2; break;
    case 'u': {
      uint32_t cp, lo;
      if (q - s < 6 || hex4(s + 2, &cp) != 0)
        return perr(ps, "bad \\u escape");
      s += 6;
      if (cp >= 0xDC00 && cp <= 0xDFFF)
        return perr(ps, "lone low surrogate");
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (q - s < 6 || s[0] != '\\' || s[1] != 'u' ||
            hex4(s + 2, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF)
          return perr(ps, "high surrogate without a low surrogate");
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        s += 6;
      }
      o += put_utf8(buf + o, cp);
      break;
    }
    default:
      return perr(ps, "bad escape");
    }
  }
  buf[o] = '\0';
  *out = buf;
  *len = o;
  ps->p = q + 1;
  return 0;
}

/* ---- numbers and literals ------------------------------------------------ */

static int is_digit(const parser *ps, const unsigned char *q)
{
  return q < ps->end && *q >= '0' && *q <= '9';
}

static int parse_number(parser *ps, double *out)
{
  const unsigned char *q = ps->p;
  char tmp[512];
  char *endp;
  size_t n;

  if (q < ps->end && *q == '-')
    q++;
  if (!is_digit(ps, q))
    return perr(ps, "bad number");
  if (*q == '0')
    q++;
  else
    while (is_digit(ps, q))
      q++;
  if (q < ps->end && *q == '.') {
    q++;
    if (!is_digit(ps, q))
      return perr(ps, "bad number: digit expected after '.'");
    while (is_digit(ps, q))
      q++;
  }
  if (q < ps->end && (*q == 'e' || *q == 'E')) {
    q++;
    if (q < ps->end && (*q == '+' || *q == '-'))
      q++;
    if (!is_digit(ps, q))
      return perr(ps, "bad number: digit expected in exponent");
    while (is_digit(ps, q))
      q++;
  }
  n = (size_t)(q - ps->p);
  if (n >= sizeof(tmp))
    return perr(ps, "number too long");
  /* strtod needs a terminator and must not see past the validated span
   * (it would accept "0x1p3", "inf", ...), hence the copy. */
  memcpy(tmp, ps->p, n);
  tmp[n] = '\0';
  *out = strtod(tmp, &endp);
  if (endp != tmp + n)
    return perr(ps, "bad number");
  ps->p = q;
  return 0;
}

static int parse_literal(parser *ps, const char *word, size_t n)
{
  if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
    return perr(ps, "unexpected character");
  ps->p += n;
  return 0;
}

/* ---- containers ---------------------------------------------------------- */

static int parse_array(parser *ps, bjson_value *out)
{
  size_t base = ps->nvals, n;
  bjson_value *items = NULL;

  ps->p++; /* '[' */
  skip_ws(ps);
  if (ps->p < ps->end && *ps->p == ']') {
    ps->p++;
  } else {
    for (;;) {
      bjson_value v;
      if (parse_value(ps, &v) != 0)
        return -1;
      if (grow((void **)&ps->vals, &ps->capvals, ps->nvals + 1,
               sizeof(*ps->vals)) != 0)
        return perr(ps, "out of memory");
      ps->vals[ps->nvals++] = v;
      skip_ws(ps);
      if (ps->p < ps->end && *ps->p == ',') {
        ps->p++;
        continue;
      }
      if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
        break;
      }
      return perr(ps, "expected ',' or ']'");
    }
  }
  n = ps->nvals - base;
  if (n > 0) {
    items = arena_alloc(ps->doc, n * sizeof(*items));
    if (items == NULL)
      return perr(ps, "out of memory");
    memcpy(items, ps->vals + base, n * sizeof(*items));
  }
  ps->nvals = base;
  out->type = BJSON_ARRAY;
  out->u.arr.items = items;
  out->u.arr.len = n;
  return 0;
}

static int parse_object(parser *ps, bjson_value *out)
{
  size_t base = ps->nmems, n;
  bjson_member *mems = NULL;

  ps->p++; /* '{' */
  skip_ws(ps);
  if (ps->p < ps->end && *ps->p == '}') {
    ps->p++;
  } else {
    for (;;) {
      bjson_member m;
      skip_ws(ps);
      if (ps->p >= ps->end || *ps->p != '"')
        return perr(ps, "expected a string key");
      if (parse_string(ps, &m.key, &m.key_len) != 0)
        return -1;
      skip_ws(ps);
      if (ps->p >= ps->end || *ps->p != ':')
        return perr(ps, "expected ':'");
      ps->p++;
      if (parse_value(ps, &m.value) != 0)
        return -1;
      if (grow((void **)&ps->mems, &ps->capmems, ps->nmems + 1,
               sizeof(*ps->mems)) != 0)
        return perr(ps, "out of memory");
      ps->mems[ps->nmems++] = m;
      skip_ws(ps);
      if (ps->p < ps->end && *ps->p == ',') {
        ps->p++;
        continue;
      }
      if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        break;
      }
      return perr(ps, "expected ',' or '}'");
    }
  }
  n = ps->nmems - base;
  if (n > 0) {
    mems = arena_alloc(ps->doc, n * sizeof(*mems));
    if (mems == NULL)
      return perr(ps, "out of memory");
    memcpy(mems, ps->mems + base, n * sizeof(*mems));
  }
  ps->nmems = base;
  out->type = BJSON_OBJECT;
  out->u.obj.members = mems;
  out->u.obj.len = n;
  return 0;
}

static int parse_value(parser *ps, bjson_value *out)
{
  int rc;
  skip_ws(ps);
  if (ps->p >= ps->end)
    return perr(ps, "unexpected end of input");
  switch (*ps->p) {
  case '{':
  case '[':
    if (ps->depth >= BJSON_MAX_DEPTH)
      return perr(ps, "nested deeper than %d levels", BJSON_MAX_DEPTH);
    ps->depth++;
    rc = *ps->p == '{' ? parse_object(ps, out) : parse_array(ps, out);
    ps->depth--;
    return rc;
  case '"':
    out->type = BJSON_STRING;
    return parse_string(ps, &out->u.str.ptr, &out->u.str.len);
  case 't':
    out->type = BJSON_BOOL;
    out->u.boolean = 1;
    return parse_literal(ps, "true", 4);
  case 'f':
    out->type = BJSON_BOOL;
    out->u.boolean = 0;
    return parse_literal(ps, "false", 5);
  case 'n':
    out->type = BJSON_NULL;
    out->u.number = 0;
    return parse_literal(ps, "null", 4);
  default:
    out->type = BJSON_NUMBER;
    return parse_number(ps, &out->u.number);
  }
}

/* ---- API ----------------------------------------------------------------- */

int bjson_parse(const char *text, size_t len, bjson_doc **out, char *err,
                size_t errcap)
{
  parser ps;
  bjson_doc *doc;
  int rc = -1;

  *out = NULL;
  memset(&ps, 0, sizeof(ps));
  ps.err = err;
  ps.errcap = errcap;
  if (err != NULL && errcap > 0)
    err[0] = '\0';
  ps.start = ps.p = (const unsigned char *)text;
  ps.end = ps.start + len;
  if (len > BJSON_MAX_INPUT)
    return perr(&ps, "input larger than %zu bytes", BJSON_MAX_INPUT);
  doc = calloc(1, sizeof(*doc));
  if (doc == NULL)
    return perr(&ps, "out of memory");
  ps.doc = doc;
  if (parse_value(&ps, &doc->root) != 0)
    goto done;
  skip_ws(&ps);
  if (ps.p != ps.end) {
    perr(&ps, "unexpected data after the JSON value");
    goto done;
  }
  rc = 0;
done:
  free(ps.vals);
  free(ps.mems);
  if (rc != 0)
    bjson_free(doc);
  else
    *out = doc;
  return rc;
}

const bjson_value *bjson_root(const bjson_doc *doc) { return &doc->root; }

const bjson_value *bjson_get(const bjson_value *v, const char *key)
{
  size_t klen;
  if (v == NULL || v->type != BJSON_OBJECT)
    return NULL;
  klen = strlen(key);
  for (size_t i = 0; i < v->u.obj.len; i++) {
    const bjson_member *m = &v->u.obj.members[i];
    if (m->key_len == klen && memcmp(m->key, key, klen) == 0)
      return &m->value;
  }
  return NULL;
}
