/*
 * domain_diff.c — text edits as minimal splices (DESIGN §8): the character
 * diff between an old and a new text, and applying it to a text object, so
 * that an editor's saved file becomes a few splices and concurrent edits
 * elsewhere in the same text survive the merge.
 *
 * Algorithm. The common prefix and suffix are trimmed first (bytewise,
 * backed off to code point boundaries): an edit in one place costs
 * O(length) and no more. The middle is diffed with Myers' greedy O(ND)
 * algorithm over code points, keeping the furthest-reaching diagonal of
 * every round so the edit script can be walked back; that costs O((N+M)·D)
 * time and (D+1)² ints of memory. D is capped at MAX_D, and lower for long
 * texts so that (N+M)·D stays under WORK_BUDGET: beyond it (texts
 * rewritten wholesale, or adversarial input) the middle becomes a single
 * splice, which is still correct, only less minimal. Edits separated by
 * at most MERGE_GAP unchanged code points become one splice.
 *
 * Workload: texts of a few KiB edited by hand in an editor; D is usually
 * tens of code points.
 */
#include <stdint.h>
#include <string.h>

#include "doc.h"
#include "domain.h"
#include "mem.h"
#include "utf8.h"

#define MAX_D 1024
#define MERGE_GAP 2
#define WORK_BUDGET ((size_t)50 * 1000 * 1000)

/* Decodes valid UTF-8 into code points; boff (may be NULL) receives the
 * byte offset of each code point and, at [n], len. */
static void decode(const uint8_t *s, size_t len, uint32_t *cp, uint32_t *boff) {
  size_t i = 0, k = 0;
  while (i < len) {
    uint32_t c = s[i];
    size_t extra = c < 0x80 ? 0 : c < 0xE0 ? 1 : c < 0xF0 ? 2 : 3;
    if (extra) c &= 0x3Fu >> extra;
    if (boff) boff[k] = (uint32_t)i;
    for (size_t j = 1; j <= extra; j++) c = c << 6 | (s[i + j] & 0x3Fu);
    cp[k++] = c;
    i += extra + 1;
  }
  if (boff) boff[k] = (uint32_t)len;
}

typedef struct hunks {
  accord_splice *s;
  size_t n, cap;
} hunks;

static int push(hunks *h, size_t pos, size_t del, const char *ins,
                size_t ins_len) {
  if (h->n == h->cap) {
    size_t cap = h->cap ? 2 * h->cap : 8;
    accord_splice *s = mem_realloc(h->s, cap * sizeof *s);
    if (!s) return ACCORD_ENOMEM;
    h->s = s;
    h->cap = cap;
  }
  h->s[h->n++] = (accord_splice){pos, del, ins, ins_len};
  return 0;
}

/* Myers over a[0..n) and b[0..m); the edit script (from the start: '='
 * keep, 'D' delete a[x], 'I' insert b[y]) in *script, its length in *len.
 * Returns 1 when D would pass MAX_D (no script), 0, or ENOMEM. */
static int myers(const uint32_t *a, size_t n, const uint32_t *b, size_t m,
                 char **script, size_t *len) {
  /* Cap D by memory (MAX_D) and by time: the search costs about
   * (N + M) * D steps, kept under WORK_BUDGET. */
  if (n + m > WORK_BUDGET) return 1; /* also keeps positions in int32 */
  size_t maxd = n + m < MAX_D ? n + m : MAX_D;
  if (maxd > WORK_BUDGET / (n + m)) maxd = WORK_BUDGET / (n + m);
  int32_t *trace = mem_alloc((maxd + 1) * (maxd + 1) * sizeof *trace);
  if (!trace) return ACCORD_ENOMEM;
  long d, k, x, y, found = -1;
#define V(dd, kk) trace[(dd) * (dd) + (kk) + (dd)]
  for (d = 0; d <= (long)maxd && found < 0; d++) {
    for (k = -d; k <= d; k += 2) {
      if (d == 0) x = 0;
      else if (k == -d || (k != d && V(d - 1, k - 1) < V(d - 1, k + 1)))
        x = V(d - 1, k + 1);
      else
        x = V(d - 1, k - 1) + 1;
      y = x - k;
      while (x < (long)n && y < (long)m && a[x] == b[y]) x++, y++;
      V(d, k) = (int32_t)x;
      if (x >= (long)n && y >= (long)m) {
        found = d;
        break;
      }
    }
  }
  if (found < 0) {
    mem_free(trace);
    return 1;
  }
  char *s = mem_alloc(n + m + 1);
  if (!s) {
    mem_free(trace);
    return ACCORD_ENOMEM;
  }
  size_t at = n + m + 1; /* written backwards */
  x = (long)n;
  y = (long)m;
  for (d = found; d > 0; d--) {
    k = x - y;
    long pk = (k == -d || (k != d && V(d - 1, k - 1) < V(d - 1, k + 1)))
                  ? k + 1
                  : k - 1;
    long px = V(d - 1, pk), py = px - pk;
    long sx = pk == k + 1 ? px : px + 1; /* where the snake starts */
    while (x > sx) s[--at] = '=', x--, y--;
    s[--at] = pk == k + 1 ? 'I' : 'D';
    x = px;
    y = py;
  }
  while (x > 0) s[--at] = '=', x--;
#undef V
  mem_free(trace);
  *len = n + m + 1 - at;
  memmove(s, s + at, *len);
  *script = s;
  return 0;
}

int accord_text_diff(const char *old_text, size_t old_len,
                     const char *new_text, size_t new_len, accord_splice **out,
                     size_t *n) {
  if (!out || !n || (!old_text && old_len) || (!new_text && new_len))
    return ACCORD_EINVAL;
  *out = NULL;
  *n = 0;
  const uint8_t *a = (const uint8_t *)old_text, *b = (const uint8_t *)new_text;
  if (!utf8_valid(a, old_len, NULL) || !utf8_valid(b, new_len, NULL))
    return ACCORD_EUTF8;
  /* Common prefix and suffix, on code point boundaries. */
  size_t pre = 0, suf = 0;
  while (pre < old_len && pre < new_len && a[pre] == b[pre]) pre++;
  while (pre > 0 && ((pre < old_len && (a[pre] & 0xC0) == 0x80) ||
                     (pre < new_len && (b[pre] & 0xC0) == 0x80)))
    pre--;
  while (suf < old_len - pre && suf < new_len - pre &&
         a[old_len - 1 - suf] == b[new_len - 1 - suf])
    suf++;
  while (suf > 0 && (a[old_len - suf] & 0xC0) == 0x80) suf--;
  if (pre == old_len && pre == new_len) return 0; /* equal */
  size_t pos0 = utf8_count(a, pre);
  const uint8_t *am = a + pre, *bm = b + pre;
  size_t alen = old_len - pre - suf, blen = new_len - pre - suf;
  size_t na = utf8_count(am, alen), nb = utf8_count(bm, blen);
  hunks h = {0};
  int rc = 0;
  uint32_t *ca = NULL, *cb = NULL, *boff = NULL;
  char *script = NULL;
  size_t slen = 0;
  if (!na || !nb) goto one;
  ca = mem_alloc(na * sizeof *ca);
  cb = mem_alloc(nb * sizeof *cb);
  boff = mem_alloc((nb + 1) * sizeof *boff);
  if (!ca || !cb || !boff) {
    rc = ACCORD_ENOMEM;
    goto done;
  }
  decode(am, alen, ca, NULL);
  decode(bm, blen, cb, boff);
  rc = myers(ca, na, cb, nb, &script, &slen);
  if (rc == 1) {
    rc = 0;
    goto one;
  }
  if (rc) goto done;
  {
    /* Hunks from the end, so positions stay those of the old text. */
    size_t x = na, y = nb, i = slen;
    while (i > 0) {
      if (script[i - 1] == '=') {
        i--, x--, y--;
        continue;
      }
      size_t x1 = x, y1 = y;
      for (;;) {
        while (i > 0 && script[i - 1] != '=') {
          if (script[--i] == 'D') x--;
          else y--;
        }
        /* An equal run of at most MERGE_GAP code points between two edits
         * joins them: one splice instead of two, and word-level edits
         * ("separate" -> "different") read as one. */
        size_t run = 0;
        while (run < i && script[i - 1 - run] == '=') run++;
        if (!run || run > MERGE_GAP || run == i) break;
        i -= run, x -= run, y -= run;
      }
      if ((rc = push(&h, pos0 + x, x1 - x, (const char *)bm + boff[y],
                     boff[y1] - boff[y])))
        goto done;
    }
  }
  goto done;
one:
  rc = push(&h, pos0, na, (const char *)bm, blen);
done:
  mem_free(ca);
  mem_free(cb);
  mem_free(boff);
  mem_free(script);
  if (rc) {
    mem_free(h.s);
    return rc;
  }
  *out = h.s;
  *n = h.n;
  return 0;
}

int accord_text_update(accord_txn *txn, accord_id obj, const char *s,
                       size_t len, size_t *nsplices) {
  if (!txn || (!s && len)) return ACCORD_EINVAL;
  char *old = NULL;
  size_t old_len = 0, n = 0;
  accord_splice *sp = NULL;
  int rc = accord_text_read(txn->doc, obj, &old, &old_len);
  if (rc) return rc;
  rc = accord_text_diff(old, old_len, s, len, &sp, &n);
  for (size_t i = 0; !rc && i < n; i++)
    rc = accord_text_splice(txn, obj, sp[i].pos, sp[i].del, sp[i].ins,
                            sp[i].ins_len);
  if (!rc && nsplices) *nsplices = n;
  mem_free(sp);
  mem_free(old);
  return rc;
}
