/*
 * out.c — everything the command prints: a streaming JSON writer (two-space
 * indentation, RFC 8259 escapes), aligned tables, progress bars, times and
 * numbers, colour (only when stdout is a terminal and NO_COLOR is unset:
 * cli.color decides once, in main.c).
 *
 * Widths count code points, which is right for the Latin, Cyrillic and
 * Greek text teams write goals in; wide CJK characters would misalign a
 * column, never corrupt output.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

/* ---- JSON -------------------------------------------------------------------- */

void jw_init(jw *w, FILE *f) {
  memset(w, 0, sizeof *w);
  w->f = f;
  w->first[0] = 1;
}

static void indent(jw *w) {
  fputc('\n', w->f);
  for (int i = 0; i < w->depth; i++) fputs("  ", w->f);
}

/* Before a value: the comma and newline of its container. */
static void pre(jw *w) {
  if (w->after_key) {
    w->after_key = 0;
    return;
  }
  if (w->depth > 0) {
    if (!w->first[w->depth]) fputc(',', w->f);
    indent(w);
  }
  w->first[w->depth] = 0;
}

static void open_(jw *w, char ch) {
  pre(w);
  fputc(ch, w->f);
  if (w->depth < 63) w->depth++;
  w->first[w->depth] = 1;
}

static void close_(jw *w, char ch) {
  int empty = w->first[w->depth];
  if (w->depth > 0) w->depth--;
  if (!empty) indent(w);
  fputc(ch, w->f);
}

void jw_obj(jw *w) { open_(w, '{'); }
void jw_obj_end(jw *w) { close_(w, '}'); }
void jw_arr(jw *w) { open_(w, '['); }
void jw_arr_end(jw *w) { close_(w, ']'); }

static void raw_str(jw *w, const char *s, size_t n) {
  fputc('"', w->f);
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    switch (ch) {
      case '"': fputs("\\\"", w->f); break;
      case '\\': fputs("\\\\", w->f); break;
      case '\n': fputs("\\n", w->f); break;
      case '\r': fputs("\\r", w->f); break;
      case '\t': fputs("\\t", w->f); break;
      default:
        if (ch < 0x20) fprintf(w->f, "\\u%04x", ch);
        else fputc(ch, w->f);
    }
  }
  fputc('"', w->f);
}

void jw_key(jw *w, const char *key) {
  pre(w);
  raw_str(w, key, strlen(key));
  fputs(": ", w->f);
  w->after_key = 1;
}

void jw_strn(jw *w, const char *s, size_t n) {
  pre(w);
  raw_str(w, s ? s : "", s ? n : 0);
}
void jw_str(jw *w, const char *s) { jw_strn(w, s, s ? strlen(s) : 0); }

void jw_num(jw *w, double d) {
  pre(w);
  if (!isfinite(d)) fputs("null", w->f);
  else if (d == floor(d) && fabs(d) < 1e15) fprintf(w->f, "%.0f", d);
  else fprintf(w->f, "%.15g", d);
}

void jw_int(jw *w, int64_t i) {
  pre(w);
  fprintf(w->f, "%lld", (long long)i);
}

void jw_null(jw *w) {
  pre(w);
  fputs("null", w->f);
}

void jw_bool(jw *w, int b) {
  pre(w);
  fputs(b ? "true" : "false", w->f);
}

void jw_hex(jw *w, const uint8_t *p, size_t n) {
  pre(w);
  fputc('"', w->f);
  for (size_t i = 0; i < n; i++) fprintf(w->f, "%02x", p[i]);
  fputc('"', w->f);
}

void jw_time(jw *w, int64_t ms) {
  if (!ms) {
    jw_null(w);
    return;
  }
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  char b[32];
  gmtime_r(&t, &tm);
  strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
  jw_str(w, b);
}

void jw_date(jw *w, int64_t ms) {
  if (!ms) {
    jw_null(w);
    return;
  }
  char b[32];
  fmt_date(ms, b, sizeof b);
  jw_str(w, b);
}

void jw_value(jw *w, const accord_value *v) {
  switch (v->type) {
    case ACCORD_INT:
    case ACCORD_COUNTER: jw_int(w, v->u.i); break;
    case ACCORD_DOUBLE: jw_num(w, v->u.d); break;
    case ACCORD_STR: jw_strn(w, v->u.str.ptr, v->u.str.len); break;
    case ACCORD_BOOL: jw_bool(w, v->u.boolean); break;
    case ACCORD_TIMESTAMP: {
      /* Midnight UTC is a date (due), anything else a time. */
      if (v->u.i % 86400000 == 0) jw_date(w, v->u.i);
      else jw_time(w, v->u.i);
      break;
    }
    default: jw_null(w);
  }
}

void jw_end(jw *w) { fputc('\n', w->f); }

/* ---- formatting --------------------------------------------------------------------- */

const char *col(const cli *c, const char *code) { return c->color ? code : ""; }

void fmt_time(int64_t ms, char *out, size_t cap) {
  if (!ms) {
    snprintf(out, cap, "-");
    return;
  }
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, cap, "%Y-%m-%d %H:%M", &tm);
}

void fmt_date(int64_t ms, char *out, size_t cap) {
  if (!ms) {
    snprintf(out, cap, "-");
    return;
  }
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, cap, "%Y-%m-%d", &tm);
}

void fmt_num(double d, char *out, size_t cap) {
  if (d == floor(d) && fabs(d) < 1e15) snprintf(out, cap, "%.0f", d);
  else snprintf(out, cap, "%g", d);
}

void fmt_value(const accord_value *v, char *out, size_t cap) {
  switch (v->type) {
    case ACCORD_INT: snprintf(out, cap, "%lld", (long long)v->u.i); break;
    case ACCORD_DOUBLE: fmt_num(v->u.d, out, cap); break;
    case ACCORD_STR:
      snprintf(out, cap, "%.*s", (int)v->u.str.len, v->u.str.ptr);
      break;
    case ACCORD_TIMESTAMP:
      if (v->u.i % 86400000 == 0) fmt_date(v->u.i, out, cap);
      else fmt_time(v->u.i, out, cap);
      break;
    case ACCORD_NULL: snprintf(out, cap, "(deleted)"); break;
    default: snprintf(out, cap, "(object)");
  }
}

void fmt_bar(double p, int width, char *out, size_t cap) {
  double q = p < 0 ? 0 : p > 1 ? 1 : p;
  int full = (int)lround(q * width);
  size_t w = 0;
  for (int i = 0; i < width && w + 4 < cap; i++) {
    const char *cell = i < full ? "\xe2\x96\x88" : "\xe2\x96\x91"; /* █ ░ */
    memcpy(out + w, cell, 3);
    w += 3;
  }
  snprintf(out + w, cap - w, " %3.0f%%", p * 100);
}

size_t disp_width(const char *s) {
  size_t n = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == 0x1b) {
      while (*p && *p != 'm') p++;
      if (!*p) break;
      continue;
    }
    n += (*p & 0xC0) != 0x80;
  }
  return n;
}

/* ---- terminal safety ---------------------------------------------------------------- */

/* 1 for bytes a terminal would act on: C0 controls (but not newline when
 * keep_nl), DEL. Text from other members is shown, never obeyed. */
static int is_ctl(unsigned char ch, int keep_nl) {
  return (ch < 0x20 && !(keep_nl && ch == '\n')) || ch == 0x7f;
}

const char *tty(const char *s) {
  static char *bufs[4];
  static int next;
  size_t n = 0;
  int dirty = 0;
  for (; s[n]; n++) dirty |= is_ctl((unsigned char)s[n], 0);
  if (!dirty) return s;
  char **b = &bufs[next++ & 3];
  free(*b);
  *b = malloc(n + 1);
  if (!*b) return "?";
  for (size_t i = 0; i <= n; i++)
    (*b)[i] = i < n && is_ctl((unsigned char)s[i], 0) ? ' ' : s[i];
  return *b;
}

/* ---- tables ---------------------------------------------------------------------- */

void tbl_init(table *t, size_t ncols) {
  memset(t, 0, sizeof *t);
  t->ncols = ncols;
}

void tbl_add(table *t, const char *color, const char *fmt, ...) {
  if (t->ncells == t->cap) {
    size_t cap = t->cap ? 2 * t->cap : 64;
    char **cells = realloc(t->cells, cap * sizeof *cells);
    if (cells) t->cells = cells;
    const char **colors = realloc(t->colors, cap * sizeof *colors);
    if (colors) t->colors = colors;
    if (!cells || !colors) {
      fprintf(stderr, "accord: out of memory\n");
      exit(EX_FAIL);
    }
    t->cap = cap;
  }
  va_list ap;
  va_start(ap, fmt);
  int len = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *s = malloc((size_t)(len < 0 ? 0 : len) + 1);
  if (!s) {
    fprintf(stderr, "accord: out of memory\n");
    exit(EX_FAIL);
  }
  va_start(ap, fmt);
  vsnprintf(s, (size_t)(len < 0 ? 0 : len) + 1, fmt, ap);
  va_end(ap);
  /* Cells are one line, and never terminal controls: every control
   * character (newlines and tabs too) becomes a space. */
  for (char *p = s; *p; p++)
    if (is_ctl((unsigned char)*p, 0)) *p = ' ';
  t->cells[t->ncells] = s;
  t->colors[t->ncells] = color;
  t->ncells++;
  t->nrows = t->ncells / t->ncols;
}

/* Longest a cell may be shown before it is cut with an ellipsis. */
#define MAX_CELL 48

void tbl_print(const cli *c, table *t, int header) {
  size_t w[16] = {0};
  size_t ncols = t->ncols < 16 ? t->ncols : 16;
  for (size_t r = 0; r < t->nrows; r++)
    for (size_t k = 0; k < ncols; k++) {
      size_t dw = disp_width(t->cells[r * t->ncols + k]);
      if (dw > MAX_CELL && k + 1 < ncols) dw = MAX_CELL;
      if (dw > w[k]) w[k] = dw;
    }
  for (size_t r = 0; r < t->nrows; r++) {
    for (size_t k = 0; k < ncols; k++) {
      const char *s = t->cells[r * t->ncols + k];
      const char *color = header && r == 0 ? C_BOLD : t->colors[r * t->ncols + k];
      size_t dw = disp_width(s);
      if (color) fputs(col(c, color), stdout);
      if (dw > MAX_CELL && k + 1 < ncols) {
        /* cut at MAX_CELL - 1 code points; the last column runs on */
        size_t n = 0;
        const char *p = s;
        while (*p && n < MAX_CELL - 1) {
          p++;
          while ((*p & 0xC0) == 0x80) p++;
          n++;
        }
        fwrite(s, 1, (size_t)(p - s), stdout);
        fputs("\xe2\x80\xa6", stdout); /* … */
        dw = MAX_CELL;
      } else {
        fputs(s, stdout);
      }
      if (color) fputs(col(c, C_OFF), stdout);
      if (k + 1 < ncols)
        for (size_t pad = dw; pad < w[k] + 2; pad++) fputc(' ', stdout);
    }
    fputc('\n', stdout);
  }
}

void tbl_free(table *t) {
  for (size_t i = 0; i < t->ncells; i++) free(t->cells[i]);
  free(t->cells);
  free(t->colors);
  memset(t, 0, sizeof *t);
}

void print_wrapped(const char *text, const char *ind) {
  const size_t width = 76;
  if (!*text) {
    printf("%s(empty)\n", ind);
    return;
  }
  const char *p = text;
  while (*p) {
    const char *nl = strchr(p, '\n');
    size_t line = nl ? (size_t)(nl - p) : strlen(p);
    if (!line) printf("%s\n", ind);
    /* wrap the line at spaces */
    while (line > 0) {
      size_t take = line, cps = 0, last_space = 0, i = 0;
      for (i = 0; i < line; i++) {
        if ((p[i] & 0xC0) != 0x80) cps++;
        if (cps > width) break;
        if (p[i] == ' ') last_space = i;
      }
      if (i < line) take = last_space ? last_space : i;
      printf("%s", ind);
      for (size_t k = 0; k < take; k++)
        putchar(is_ctl((unsigned char)p[k], 1) ? ' ' : p[k]);
      putchar('\n');
      p += take;
      line -= take;
      while (line > 0 && *p == ' ') p++, line--;
    }
    if (!nl) break;
    p = nl + 1;
  }
}
