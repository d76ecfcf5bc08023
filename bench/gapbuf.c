/*
 * gapbuf.c — the gap buffer of gapbuf.h (the baseline for text speed).
 *
 * Moving the gap walks code points from the gap edge (a code point starts
 * at every byte that is not 10xxxxxx) and memmoves the bytes crossed; an
 * insertion that does not fit in the gap doubles the buffer. Sequential
 * editing traces put most edits next to the previous one, which is the case
 * a gap buffer is good at, so this is a strong baseline.
 */
#include "gapbuf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int is_cont(char c) { return ((unsigned char)c & 0xC0) == 0x80; }

int gapbuf_init(gapbuf *g, size_t cap)
{
  memset(g, 0, sizeof(*g));
  g->buf = malloc(cap ? cap : 1);
  if (g->buf == NULL)
    return GAPBUF_ENOMEM;
  g->cap = cap;
  g->gap_end = cap;
  return GAPBUF_OK;
}

void gapbuf_free(gapbuf *g)
{
  free(g->buf);
  memset(g, 0, sizeof(*g));
}

/* Moves the gap so that exactly pos code points precede it (pos <= cps). */
static void move_gap(gapbuf *g, size_t pos)
{
  if (g->wide == 0) { /* ASCII only: code points are bytes */
    if (pos < g->gap_start) {
      size_t n = g->gap_start - pos;
      memmove(g->buf + g->gap_end - n, g->buf + pos, n);
      g->gap_end -= n;
    } else {
      size_t n = pos - g->gap_start;
      memmove(g->buf + g->gap_start, g->buf + g->gap_end, n);
      g->gap_end += n;
    }
    g->gap_start = pos;
    g->gap_cp = pos;
    return;
  }
  if (pos < g->gap_cp) {
    size_t k = g->gap_cp - pos, i = g->gap_start, n;
    while (k > 0) {
      i--;
      if (!is_cont(g->buf[i]))
        k--;
    }
    n = g->gap_start - i;
    memmove(g->buf + g->gap_end - n, g->buf + i, n);
    g->gap_start = i;
    g->gap_end -= n;
  } else if (pos > g->gap_cp) {
    size_t k = pos - g->gap_cp, j = g->gap_end, n;
    while (k > 0) {
      j++;
      while (j < g->cap && is_cont(g->buf[j]))
        j++;
      k--;
    }
    n = j - g->gap_end;
    memmove(g->buf + g->gap_start, g->buf + g->gap_end, n);
    g->gap_start += n;
    g->gap_end = j;
  }
  g->gap_cp = pos;
}

static int reserve(gapbuf *g, size_t need)
{
  size_t gap = g->gap_end - g->gap_start, after, ncap;
  char *nb;
  if (gap >= need)
    return GAPBUF_OK;
  if (g->cap > SIZE_MAX / 2 || need > SIZE_MAX / 2 - g->cap)
    return GAPBUF_ENOMEM;
  ncap = g->cap * 2;
  if (ncap < g->cap - gap + need + 64)
    ncap = g->cap - gap + need + 64;
  nb = malloc(ncap);
  if (nb == NULL)
    return GAPBUF_ENOMEM;
  after = g->cap - g->gap_end;
  memcpy(nb, g->buf, g->gap_start);
  memcpy(nb + ncap - after, g->buf + g->gap_end, after);
  free(g->buf);
  g->buf = nb;
  g->gap_end = ncap - after;
  g->cap = ncap;
  return GAPBUF_OK;
}

int gapbuf_splice(gapbuf *g, size_t pos, size_t del, const char *s,
                  size_t len)
{
  size_t ins_cps = 0;
  if (pos > g->cps || del > g->cps - pos)
    return GAPBUF_ERANGE;
  if (reserve(g, len) != GAPBUF_OK)
    return GAPBUF_ENOMEM;
  move_gap(g, pos);
  if (del > 0 && g->wide == 0) {
    g->gap_end += del;
    g->cps -= del;
  } else if (del > 0) {
    size_t j = g->gap_end;
    for (size_t k = 0; k < del; k++) {
      size_t start = j++;
      while (j < g->cap && is_cont(g->buf[j]))
        j++;
      g->wide -= j - start > 1;
    }
    g->gap_end = j;
    g->cps -= del;
  }
  memcpy(g->buf + g->gap_start, s, len);
  g->gap_start += len;
  for (size_t i = 0; i < len; i++) {
    ins_cps += !is_cont(s[i]);
    g->wide += (unsigned char)s[i] >= 0xC0; /* a multi-byte lead byte */
  }
  g->gap_cp += ins_cps;
  g->cps += ins_cps;
  return GAPBUF_OK;
}

char *gapbuf_text(const gapbuf *g, size_t *len)
{
  size_t after = g->cap - g->gap_end, n = g->gap_start + after;
  char *out = malloc(n + 1);
  if (out == NULL)
    return NULL;
  memcpy(out, g->buf, g->gap_start);
  memcpy(out + g->gap_start, g->buf + g->gap_end, after);
  out[n] = '\0';
  *len = n;
  return out;
}
