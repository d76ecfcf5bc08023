/*
 * util.c — process-wide helpers of accord-bench: the monotonic clock, the
 * one-line error reporter, UTF-8 counting and validation, the endContent
 * comparison, JSON string output and file writing. No state except the
 * error context string set by main.
 */
#define _POSIX_C_SOURCE 200809L

#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

static const char *g_context;

double bench_now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void bench_set_context(const char *ctx) { g_context = ctx; }

int bench_fail(const char *fmt, ...)
{
  va_list ap;
  fputs("accord-bench: ", stderr);
  if (g_context != NULL)
    fprintf(stderr, "%s: ", g_context);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return -1;
}

size_t bench_utf8_count(const char *s, size_t len)
{
  size_t n = 0;
  for (size_t i = 0; i < len; i++)
    n += ((unsigned char)s[i] & 0xC0) != 0x80;
  return n;
}

int bench_utf8_valid(const char *str, size_t len)
{
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0;
  while (i < len) {
    unsigned c = s[i];
    size_t n;
    uint32_t cp, min;
    if (c < 0x80) {
      i++;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 2, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      n = 3, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      n = 4, cp = c & 0x07, min = 0x10000;
    } else {
      return 0;
    }
    if (len - i < n)
      return 0;
    for (size_t k = 1; k < n; k++) {
      if ((s[i + k] & 0xC0) != 0x80)
        return 0;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return 0;
    i += n;
  }
  return 1;
}

int bench_check_text(const char *what, const char *got, size_t got_len,
                     const char *want, size_t want_len)
{
  size_t i = 0, cp;
  if (got_len == want_len && memcmp(got, want, got_len) == 0)
    return 0;
  while (i < got_len && i < want_len && got[i] == want[i])
    i++;
  /* Back up to the start of the code point holding the first difference. */
  while (i > 0 && ((unsigned char)want[i] & 0xC0) == 0x80)
    i--;
  cp = bench_utf8_count(want, i);
  return bench_fail("%s: text differs from endContent at code point %zu "
                    "(got %zu code points, expected %zu)",
                    what, cp, bench_utf8_count(got, got_len),
                    bench_utf8_count(want, want_len));
}

void bench_print_json_string(FILE *f, const char *s, size_t len)
{
  fputc('"', f);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\')
      fprintf(f, "\\%c", c);
    else if (c < 0x20)
      fprintf(f, "\\u%04x", c);
    else
      fputc(c, f);
  }
  fputc('"', f);
}

int bench_write_file(const char *path, const char *buf, size_t len)
{
  FILE *f = fopen(path, "wb");
  if (f == NULL)
    return bench_fail("cannot write %s: %s", path, strerror(errno));
  if (fwrite(buf, 1, len, f) != len || fflush(f) != 0) {
    int e = errno;
    fclose(f);
    return bench_fail("cannot write %s: %s", path, strerror(e));
  }
  if (fclose(f) != 0)
    return bench_fail("cannot write %s: %s", path, strerror(errno));
  return 0;
}
