/*
 * trace_util.c — a small JSON reader for the editing traces (trace_util.h).
 *
 * Decoded strings never grow beyond their JSON spelling (quotes included),
 * so one pool the size of the input holds every string of the trace with its
 * NUL, and pointers into it stay valid without reallocation.
 */
#include "trace_util.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

typedef struct jp {
  const char *begin, *p, *end;
  char *pool;
  size_t pool_len;
  int err;
} jp;

static void jp_fail(jp *j, const char *what) {
  if (!j->err)
    fprintf(stderr, "trace: %s at byte %td\n", what, j->p - j->begin);
  j->err = 1;
  j->p = j->end;
}

static void jp_ws(jp *j) {
  while (j->p < j->end &&
         (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
    j->p++;
}

static int jp_peek(jp *j) {
  jp_ws(j);
  return j->p < j->end ? (unsigned char)*j->p : -1;
}

static void jp_expect(jp *j, char c) {
  if (jp_peek(j) != (unsigned char)c) {
    jp_fail(j, "unexpected character");
    return;
  }
  j->p++;
}

/* Consumes c if it is next; 1 if it was. */
static int jp_accept(jp *j, char c) {
  if (jp_peek(j) != (unsigned char)c) return 0;
  j->p++;
  return 1;
}

static long jp_hex4(jp *j) {
  if (j->end - j->p < 4) return -1;
  long v = 0;
  for (int i = 0; i < 4; i++) {
    char c = j->p[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= c - '0';
    else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
    else return -1;
  }
  j->p += 4;
  return v;
}

static void pool_put_cp(jp *j, uint32_t cp) {
  char *o = j->pool + j->pool_len;
  if (cp < 0x80) {
    o[0] = (char)cp;
    j->pool_len += 1;
  } else if (cp < 0x800) {
    o[0] = (char)(0xc0 | (cp >> 6));
    o[1] = (char)(0x80 | (cp & 0x3f));
    j->pool_len += 2;
  } else if (cp < 0x10000) {
    o[0] = (char)(0xe0 | (cp >> 12));
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[2] = (char)(0x80 | (cp & 0x3f));
    j->pool_len += 3;
  } else {
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    j->pool_len += 4;
  }
}

/* Decodes a string into the pool; returns it (NUL-terminated) or NULL. */
static const char *jp_string(jp *j, size_t *len) {
  jp_expect(j, '"');
  if (j->err) return NULL;
  char *s = j->pool + j->pool_len;
  while (j->p < j->end && *j->p != '"') {
    char c = *j->p++;
    if ((unsigned char)c < 0x20) {
      jp_fail(j, "control character in string");
      return NULL;
    }
    if (c != '\\') {
      j->pool[j->pool_len++] = c;
      continue;
    }
    if (j->p >= j->end) break;
    c = *j->p++;
    switch (c) {
      case '"': case '\\': case '/': j->pool[j->pool_len++] = c; break;
      case 'b': j->pool[j->pool_len++] = '\b'; break;
      case 'f': j->pool[j->pool_len++] = '\f'; break;
      case 'n': j->pool[j->pool_len++] = '\n'; break;
      case 'r': j->pool[j->pool_len++] = '\r'; break;
      case 't': j->pool[j->pool_len++] = '\t'; break;
      case 'u': {
        long hi = jp_hex4(j);
        if (hi < 0 || (hi >= 0xdc00 && hi <= 0xdfff)) {
          jp_fail(j, "bad \\u escape");
          return NULL;
        }
        uint32_t cp = (uint32_t)hi;
        if (hi >= 0xd800 && hi <= 0xdbff) {
          long lo = -1;
          if (j->end - j->p >= 2 && j->p[0] == '\\' && j->p[1] == 'u') {
            j->p += 2;
            lo = jp_hex4(j);
          }
          if (lo < 0xdc00 || lo > 0xdfff) {
            jp_fail(j, "unpaired surrogate");
            return NULL;
          }
          cp = 0x10000 + (((uint32_t)hi - 0xd800) << 10) +
               ((uint32_t)lo - 0xdc00);
        }
        pool_put_cp(j, cp);
        break;
      }
      default: jp_fail(j, "bad escape"); return NULL;
    }
  }
  if (j->p >= j->end) {
    jp_fail(j, "unterminated string");
    return NULL;
  }
  j->p++; /* closing quote */
  *len = (size_t)(j->pool + j->pool_len - s);
  j->pool[j->pool_len++] = 0;
  return s;
}

static long long jp_int(jp *j) {
  jp_ws(j);
  int neg = 0;
  if (j->p < j->end && *j->p == '-') {
    neg = 1;
    j->p++;
  }
  if (j->p >= j->end || *j->p < '0' || *j->p > '9') {
    jp_fail(j, "expected an integer");
    return 0;
  }
  long long v = 0;
  while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
    if (v > (LLONG_MAX - 9) / 10) {
      jp_fail(j, "integer too large");
      return 0;
    }
    v = v * 10 + (*j->p++ - '0');
  }
  if (j->p < j->end && (*j->p == '.' || *j->p == 'e' || *j->p == 'E')) {
    jp_fail(j, "expected an integer, got a fraction");
    return 0;
  }
  return neg ? -v : v;
}

static size_t jp_size(jp *j) {
  long long v = jp_int(j);
  if (v < 0) jp_fail(j, "negative count");
  return (size_t)v;
}

/* Skips any value; depth bounds recursion on hostile input. */
static void jp_skip(jp *j, int depth) {
  if (depth > 64) {
    jp_fail(j, "nesting too deep");
    return;
  }
  int c = jp_peek(j);
  if (c == '"') {
    size_t keep = j->pool_len, n;
    jp_string(j, &n);
    j->pool_len = keep;
  } else if (c == '{' || c == '[') {
    char close = c == '{' ? '}' : ']';
    j->p++;
    if (jp_accept(j, close)) return;
    do {
      if (c == '{') {
        jp_skip(j, depth + 1);
        jp_expect(j, ':');
      }
      jp_skip(j, depth + 1);
    } while (!j->err && jp_accept(j, ','));
    jp_expect(j, close);
  } else if (c == '-' || (c >= '0' && c <= '9')) {
    j->p++;
    while (j->p < j->end && strchr("0123456789+-.eE", *j->p)) j->p++;
  } else if (c == 't' || c == 'f' || c == 'n') {
    while (j->p < j->end && *j->p >= 'a' && *j->p <= 'z') j->p++;
  } else {
    jp_fail(j, "unexpected value");
  }
}

/* Reads an object key into the pool and rewinds the pool (the key stays
 * readable until the next pool write). */
static const char *jp_key(jp *j) {
  size_t keep = j->pool_len, n;
  const char *k = jp_string(j, &n);
  jp_expect(j, ':');
  j->pool_len = keep;
  return k ? k : "";
}

/* Growable arrays used while parsing. */
typedef struct vec {
  void *p;
  size_t n, cap, elem;
} vec;

static void *vec_push(vec *v) {
  if (v->n == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 64;
    void *q = realloc(v->p, cap * v->elem);
    if (!q) return NULL;
    v->p = q;
    v->cap = cap;
  }
  return (char *)v->p + v->elem * v->n++;
}

static size_t count_cps(const char *s, size_t n) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) k += ((unsigned char)s[i] & 0xc0) != 0x80;
  return k;
}

typedef struct txn_spans {
  size_t patch0, npatches, parent0, nparents;
  int agent;
} txn_spans;

static void parse_txn(jp *j, vec *patches, vec *parents, txn_spans *ts) {
  ts->patch0 = patches->n;
  ts->parent0 = parents->n;
  jp_expect(j, '{');
  if (jp_accept(j, '}')) return;
  do {
    const char *k = jp_key(j);
    if (!strcmp(k, "patches")) {
      jp_expect(j, '[');
      if (jp_accept(j, ']')) continue;
      do {
        trace_patch *tp = vec_push(patches);
        if (!tp) {
          jp_fail(j, "out of memory");
          return;
        }
        jp_expect(j, '[');
        tp->pos = jp_size(j);
        jp_expect(j, ',');
        tp->del = jp_size(j);
        jp_expect(j, ',');
        tp->ins = jp_string(j, &tp->ins_len);
        if (tp->ins) tp->ins_cps = count_cps(tp->ins, tp->ins_len);
        jp_expect(j, ']');
      } while (!j->err && jp_accept(j, ','));
      jp_expect(j, ']');
    } else if (!strcmp(k, "parents")) {
      jp_expect(j, '[');
      if (jp_accept(j, ']')) continue;
      do {
        size_t *pp = vec_push(parents);
        if (!pp) {
          jp_fail(j, "out of memory");
          return;
        }
        *pp = jp_size(j);
      } while (!j->err && jp_accept(j, ','));
      jp_expect(j, ']');
    } else if (!strcmp(k, "agent")) {
      ts->agent = (int)jp_int(j);
    } else {
      jp_skip(j, 1);
    }
  } while (!j->err && jp_accept(j, ','));
  jp_expect(j, '}');
  ts->npatches = patches->n - ts->patch0;
  ts->nparents = parents->n - ts->parent0;
}

int trace_load(const char *name, trace *t) {
  memset(t, 0, sizeof *t);
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", ACCORD_TRACES_DIR, name);
  size_t len = 0;
  char *text = test_read_gz(path, &len);
  if (!text) {
    fprintf(stderr, "trace: cannot read %s\n", path);
    return -1;
  }
  jp j = {text, text, text + len, malloc(len + 2), 0, 0};
  vec txns = {NULL, 0, 0, sizeof(txn_spans)};
  vec patches = {NULL, 0, 0, sizeof(trace_patch)};
  vec parents = {NULL, 0, 0, sizeof(size_t)};
  if (!j.pool) jp_fail(&j, "out of memory");
  /* the pool's first byte is an empty string for absent contents */
  if (j.pool) j.pool[j.pool_len++] = 0;
  t->start_content = t->end_content = j.pool;
  jp_expect(&j, '{');
  if (!jp_accept(&j, '}')) {
    do {
      const char *k = jp_key(&j);
      if (!strcmp(k, "kind")) {
        size_t n, keep = j.pool_len;
        const char *v = jp_string(&j, &n);
        t->concurrent = v && !strcmp(v, "concurrent");
        j.pool_len = keep;
      } else if (!strcmp(k, "startContent")) {
        t->start_content = jp_string(&j, &t->start_len);
      } else if (!strcmp(k, "endContent")) {
        t->end_content = jp_string(&j, &t->end_len);
      } else if (!strcmp(k, "numAgents")) {
        t->num_agents = (int)jp_int(&j);
      } else if (!strcmp(k, "txns")) {
        jp_expect(&j, '[');
        if (jp_accept(&j, ']')) continue;
        do {
          txn_spans *ts = vec_push(&txns);
          if (!ts) {
            jp_fail(&j, "out of memory");
            break;
          }
          memset(ts, 0, sizeof *ts);
          parse_txn(&j, &patches, &parents, ts);
        } while (!j.err && jp_accept(&j, ','));
        jp_expect(&j, ']');
      } else {
        jp_skip(&j, 1);
      }
    } while (!j.err && jp_accept(&j, ','));
    jp_expect(&j, '}');
  }
  if (!j.err && jp_peek(&j) != -1) jp_fail(&j, "trailing bytes");
  free(text);
  if (!j.err) t->txns = calloc(txns.n ? txns.n : 1, sizeof *t->txns);
  if (j.err || !t->txns) {
    fprintf(stderr, "trace: %s is not a valid trace\n", path);
    free(j.pool);
    free(txns.p);
    free(patches.p);
    free(parents.p);
    memset(t, 0, sizeof *t);
    return -1;
  }
  t->ntxns = txns.n;
  t->npatches = patches.n;
  t->pool_ = j.pool;
  t->patch_store_ = patches.p;
  t->parent_store_ = parents.p;
  const txn_spans *spans = txns.p;
  for (size_t i = 0; i < txns.n; i++) {
    t->txns[i].patches = t->patch_store_ + spans[i].patch0;
    t->txns[i].npatches = spans[i].npatches;
    t->txns[i].parents = t->parent_store_ + spans[i].parent0;
    t->txns[i].nparents = spans[i].nparents;
    t->txns[i].agent = spans[i].agent;
  }
  free(txns.p);
  if (!t->start_content) t->start_content = t->pool_;
  if (!t->end_content) t->end_content = t->pool_;
  return 0;
}

void trace_free(trace *t) {
  free(t->txns);
  free(t->pool_);
  free(t->patch_store_);
  free(t->parent_store_);
  memset(t, 0, sizeof *t);
}
