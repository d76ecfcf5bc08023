/*
 * trace.c — reading trace files and turning their JSON into the flat arrays
 * of trace.h.
 *
 * Reading: a *.gz file is decompressed by `gzip -dc -- 'PATH'` through
 * popen (no zlib dependency); the path is single-quoted with every ' written
 * as '\'' so no shell metacharacter in it is interpreted. Output is capped at
 * BJSON_MAX_INPUT. The file is first checked to exist, be a regular file and
 * be readable, so those errors are reported as such rather than as "bad
 * gzip data".
 *
 * Conversion is two passes over the JSON tree: the first checks the shape
 * and sizes the arrays, the second fills them. Both passes are driven by
 * the same walk (fill == 0 / 1) so they cannot disagree.
 */
#define _POSIX_C_SOURCE 200809L

#include "trace.h"
#include "json.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- reading the file ---------------------------------------------------- */

static int ends_with(const char *s, const char *suffix)
{
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Reads f to EOF into a malloc'd, NUL-terminated buffer. */
static int read_stream(FILE *f, const char *path, char **out, size_t *len)
{
  size_t cap = 1 << 20, n = 0;
  char *buf = malloc(cap);
  if (buf == NULL)
    return bench_fail("out of memory reading %s", path);
  for (;;) {
    size_t got;
    if (cap - n < 2) {
      char *nb;
      if (cap >= BJSON_MAX_INPUT) {
        free(buf);
        return bench_fail("%s: more than %zu bytes of JSON", path,
                          BJSON_MAX_INPUT);
      }
      nb = realloc(buf, cap * 2);
      if (nb == NULL) {
        free(buf);
        return bench_fail("out of memory reading %s", path);
      }
      buf = nb;
      cap *= 2;
    }
    got = fread(buf + n, 1, cap - n - 1, f);
    n += got;
    if (got == 0)
      break;
  }
  if (ferror(f)) {
    free(buf);
    return bench_fail("error reading %s", path);
  }
  buf[n] = '\0';
  *out = buf;
  *len = n;
  return 0;
}

static int read_file(const char *path, char **out, size_t *len)
{
  struct stat st;
  FILE *f;
  int rc;

  *out = NULL;
  *len = 0;
  if (stat(path, &st) != 0)
    return bench_fail("cannot open %s: %s", path, strerror(errno));
  if (!S_ISREG(st.st_mode))
    return bench_fail("%s is not a regular file", path);
  f = fopen(path, "rb");
  if (f == NULL)
    return bench_fail("cannot open %s: %s", path, strerror(errno));
  if (!ends_with(path, ".gz")) {
    rc = read_stream(f, path, out, len);
    fclose(f);
    return rc;
  }
  fclose(f);

  /* gzip -dc -- 'path' 2>/dev/null, with ' escaped as '\'' */
  size_t quotes = 0;
  for (const char *c = path; *c; c++)
    quotes += *c == '\'';
  size_t cmdcap = strlen(path) + 3 * quotes + 64;
  char *cmd = malloc(cmdcap), *o;
  if (cmd == NULL)
    return bench_fail("out of memory");
  o = cmd;
  o += sprintf(o, "gzip -dc -- '");
  for (const char *c = path; *c; c++) {
    if (*c == '\'') {
      memcpy(o, "'\\''", 4);
      o += 4;
    } else {
      *o++ = *c;
    }
  }
  strcpy(o, "' 2>/dev/null");

  fflush(NULL); /* the child must not inherit unflushed stdio buffers */
  f = popen(cmd, "r");
  free(cmd);
  if (f == NULL)
    return bench_fail("cannot run gzip: %s", strerror(errno));
  rc = read_stream(f, path, out, len);
  int status = pclose(f);
  if (rc == 0 && status != 0) {
    free(*out);
    *out = NULL;
    return bench_fail("%s is not valid gzip data (gzip -dc failed)", path);
  }
  return rc;
}

/* ---- small converters ---------------------------------------------------- */

#define MAX_EXACT ((double)(UINT64_C(1) << 53))

/* A non-negative integer no larger than max. */
static int get_size(const bjson_value *v, double max, size_t *out)
{
  if (v == NULL || v->type != BJSON_NUMBER)
    return -1;
  double d = v->u.number;
  if (!(d >= 0) || d > max || d > MAX_EXACT) /* also rejects NaN */
    return -1;
  uint64_t u = (uint64_t)d;
  if ((double)u != d || u > SIZE_MAX) /* not an integer */
    return -1;
  *out = (size_t)u;
  return 0;
}

static int is_leap(long y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int digits(const char *s, size_t n, long *out)
{
  long v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return 0;
}

/* "YYYY-MM-DDTHH:MM:SS[.fff...](Z|+HH:MM|-HH:MM)" to ms since the epoch. */
static int parse_time(const char *s, size_t len, int64_t *out)
{
  static const int cum[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273,
                              304, 334};
  static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  long y, mo, d, h, mi, sec, ms = 0, oh = 0, om = 0;
  size_t i = 19;
  int sign = 0;

  if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') ||
      s[13] != ':' || s[16] != ':' || digits(s, 4, &y) || digits(s + 5, 2, &mo) ||
      digits(s + 8, 2, &d) || digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) ||
      digits(s + 17, 2, &sec))
    return -1;
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
      (mo == 2 && d == 29 && !is_leap(y)) || h > 23 || mi > 59 || sec > 60)
    return -1;
  if (s[i] == '.') {
    long scale = 100;
    i++;
    if (i >= len || s[i] < '0' || s[i] > '9')
      return -1;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, scale /= 10)
      ms += scale * (s[i] - '0');
  }
  if (i < len && s[i] == 'Z') {
    i++;
  } else if (i < len && (s[i] == '+' || s[i] == '-')) {
    sign = s[i] == '-' ? -1 : 1;
    if (len - i != 6 || s[i + 3] != ':' || digits(s + i + 1, 2, &oh) ||
        digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
      return -1;
    i += 6;
  } else {
    return -1;
  }
  if (i != len)
    return -1;
  long py = y - 1;
  int64_t days = (int64_t)py * 365 + py / 4 - py / 100 + py / 400 +
                 cum[mo - 1] + (d - 1) + (mo > 2 && is_leap(y));
  days -= 719162; /* days from 0001-01-01 to 1970-01-01 */
  int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec -
                 sign * (oh * 3600 + om * 60);
  *out = secs * 1000 + ms;
  return 0;
}

/* ---- conversion ---------------------------------------------------------- */

typedef struct sizes {
  size_t npatches, pool_bytes, nparents;
} sizes;

/* Pass over the txns array: checks (fill == 0) or fills (fill == 1). */
static int walk_txns(trace *t, const bjson_value *txns, int fill, sizes *sz,
                     int *all_timed)
{
  size_t np = 0, pool = 0, npar = 0;

  for (size_t i = 0; i < txns->u.arr.len; i++) {
    const bjson_value *tx = &txns->u.arr.items[i];
    const bjson_value *patches = bjson_get(tx, "patches");
    const bjson_value *time = bjson_get(tx, "time");
    trace_txn *out = fill ? &t->txns[i] : NULL;

    if (tx->type != BJSON_OBJECT)
      return bench_fail("txn %zu is not an object", i);
    if (patches == NULL || patches->type != BJSON_ARRAY)
      return bench_fail("txn %zu has no \"patches\" array", i);
    if (fill) {
      out->first_patch = np;
      out->npatches = patches->u.arr.len;
      out->time_ms = 0;
      if (time != NULL && time->type == BJSON_STRING &&
          parse_time(time->u.str.ptr, time->u.str.len, &out->time_ms) == 0) {
        if (out->time_ms < INT64_C(1000000000000)) /* before 2001: not real */
          *all_timed = 0;
      } else {
        *all_timed = 0;
      }
    }
    for (size_t k = 0; k < patches->u.arr.len; k++) {
      const bjson_value *p = &patches->u.arr.items[k];
      size_t pos, del;
      if (p->type != BJSON_ARRAY || p->u.arr.len != 3 ||
          get_size(&p->u.arr.items[0], MAX_EXACT, &pos) != 0 ||
          get_size(&p->u.arr.items[1], MAX_EXACT, &del) != 0 ||
          p->u.arr.items[2].type != BJSON_STRING)
        return bench_fail("txn %zu patch %zu is not [pos, delCount, \"text\"]"
                          " with non-negative integers",
                          i, k);
      const bjson_value *s = &p->u.arr.items[2];
      if (fill) {
        trace_patch *tp = &t->patches[np];
        char *dst = t->pool + pool;
        memcpy(dst, s->u.str.ptr, s->u.str.len);
        dst[s->u.str.len] = '\0';
        tp->pos = pos;
        tp->del = del;
        tp->ins = dst;
        tp->ins_len = s->u.str.len;
        tp->ins_cps = bench_utf8_count(dst, s->u.str.len);
        t->ins_cps += tp->ins_cps;
        t->del_cps += del;
      }
      np++;
      pool += s->u.str.len + 1;
    }

    if (!t->concurrent)
      continue;
    const bjson_value *parents = bjson_get(tx, "parents");
    const bjson_value *agent = bjson_get(tx, "agent");
    size_t a;
    if (parents == NULL || parents->type != BJSON_ARRAY)
      return bench_fail("txn %zu has no \"parents\" array", i);
    if (get_size(agent, (double)(t->num_agents - 1), &a) != 0)
      return bench_fail("txn %zu: \"agent\" is not an integer below "
                        "numAgents (%zu)",
                        i, t->num_agents);
    for (size_t k = 0; k < parents->u.arr.len; k++) {
      size_t par;
      if (i == 0 || get_size(&parents->u.arr.items[k], (double)(i - 1),
                             &par) != 0)
        return bench_fail("txn %zu: parent %zu is not the index of an "
                          "earlier txn",
                          i, k);
      if (fill) {
        t->parent_pool[npar + k] = par;
        t->txns[par].num_children++;
      }
    }
    if (fill) {
      out->agent = a;
      out->parents = t->parent_pool + npar;
      out->nparents = parents->u.arr.len;
    }
    npar += parents->u.arr.len;
  }
  sz->npatches = np;
  sz->pool_bytes = pool;
  sz->nparents = npar;
  return 0;
}

static int convert(trace *t, const bjson_value *root)
{
  const bjson_value *kind, *start, *end, *txns, *agents;
  sizes sz;
  int all_timed = 1;

  if (root->type != BJSON_OBJECT)
    return bench_fail("the trace is not a JSON object");
  kind = bjson_get(root, "kind");
  if (kind != NULL) {
    if (kind->type != BJSON_STRING)
      return bench_fail("\"kind\" is not a string");
    if (strcmp(kind->u.str.ptr, "concurrent") == 0)
      t->concurrent = 1;
    else if (strcmp(kind->u.str.ptr, "sequential") != 0)
      return bench_fail("unknown trace kind \"%s\"", kind->u.str.ptr);
  }
  start = bjson_get(root, "startContent");
  end = bjson_get(root, "endContent");
  txns = bjson_get(root, "txns");
  if (start != NULL && start->type != BJSON_STRING)
    return bench_fail("\"startContent\" is not a string");
  if (end == NULL || end->type != BJSON_STRING)
    return bench_fail("no \"endContent\" string");
  if (txns == NULL || txns->type != BJSON_ARRAY)
    return bench_fail("no \"txns\" array");
  t->num_agents = 1;
  if (t->concurrent) {
    agents = bjson_get(root, "numAgents");
    if (get_size(agents, TRACE_MAX_AGENTS, &t->num_agents) != 0 ||
        t->num_agents == 0)
      return bench_fail("\"numAgents\" is not an integer in 1..%d",
                        TRACE_MAX_AGENTS);
    if (start != NULL && start->u.str.len != 0)
      return bench_fail("a concurrent trace must start empty");
  }

  if (walk_txns(t, txns, 0, &sz, &all_timed) != 0)
    return -1;

  size_t start_len = start ? start->u.str.len : 0;
  size_t pool = sz.pool_bytes + start_len + 1 + end->u.str.len + 1;
  t->ntxns = txns->u.arr.len;
  t->npatches = sz.npatches;
  t->txns = calloc(t->ntxns ? t->ntxns : 1, sizeof(*t->txns));
  t->patches = calloc(sz.npatches ? sz.npatches : 1, sizeof(*t->patches));
  t->pool = malloc(pool);
  t->parent_pool = calloc(sz.nparents ? sz.nparents : 1, sizeof(size_t));
  if (!t->txns || !t->patches || !t->pool || !t->parent_pool)
    return bench_fail("out of memory");

  if (walk_txns(t, txns, 1, &sz, &all_timed) != 0)
    return -1;

  char *p = t->pool + sz.pool_bytes;
  memcpy(p, start ? start->u.str.ptr : "", start_len);
  p[start_len] = '\0';
  t->start = p;
  t->start_len = start_len;
  t->start_cps = bench_utf8_count(p, start_len);
  p += start_len + 1;
  memcpy(p, end->u.str.ptr, end->u.str.len);
  p[end->u.str.len] = '\0';
  t->end = p;
  t->end_len = end->u.str.len;
  t->end_cps = bench_utf8_count(p, end->u.str.len);

  /* Times: the trace's own (made non-decreasing) when all are real, else
   * a synthetic 1 ms per transaction, so every run commits the same bytes. */
  for (size_t i = 0; i < t->ntxns; i++) {
    trace_txn *x = &t->txns[i];
    if (!all_timed)
      x->time_ms = TRACE_TIME_BASE + (int64_t)i;
    else if (i > 0 && x->time_ms < t->txns[i - 1].time_ms)
      x->time_ms = t->txns[i - 1].time_ms;
  }
  if (t->concurrent) {
    for (size_t i = 0; i < t->ntxns; i++) {
      const bjson_value *nc = bjson_get(&txns->u.arr.items[i], "numChildren");
      size_t n;
      if (nc != NULL &&
          (get_size(nc, MAX_EXACT, &n) != 0 || n != t->txns[i].num_children))
        return bench_fail("txn %zu: \"numChildren\" does not match the txns "
                          "naming it as a parent (%zu)",
                          i, t->txns[i].num_children);
    }
  }
  return 0;
}

/* ---- API ----------------------------------------------------------------- */

int trace_load(const char *path, trace **out)
{
  char *text = NULL, err[256];
  size_t len;
  bjson_doc *json = NULL;
  trace *t = NULL;
  int rc = -1;

  *out = NULL;
  if (read_file(path, &text, &len) != 0)
    goto done;
  if (bjson_parse(text, len, &json, err, sizeof(err)) != 0) {
    bench_fail("malformed JSON %s", err);
    goto done;
  }
  free(text);
  text = NULL;
  t = calloc(1, sizeof(*t));
  if (t == NULL) {
    bench_fail("out of memory");
    goto done;
  }
  if (convert(t, bjson_root(json)) != 0)
    goto done;
  rc = 0;
done:
  free(text);
  bjson_free(json);
  if (rc == 0)
    *out = t;
  else
    trace_free(t);
  return rc;
}

void trace_free(trace *t)
{
  if (t == NULL)
    return;
  free(t->txns);
  free(t->patches);
  free(t->pool);
  free(t->parent_pool);
  free(t);
}

char *trace_name(const char *path)
{
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  size_t n = strlen(base);
  static const char *const suffixes[] = {".json.gz", ".gz", ".json"};
  for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
    size_t m = strlen(suffixes[i]);
    if (n > m && strcmp(base + n - m, suffixes[i]) == 0) {
      n -= m;
      break;
    }
  }
  char *name = malloc(n + 1);
  if (name != NULL) {
    memcpy(name, base, n);
    name[n] = '\0';
  }
  return name;
}
