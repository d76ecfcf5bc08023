/*
 * test_utf8.c — UTF-8 validation and code point arithmetic (core/utf8.c)
 * against a reference decoder written from the Unicode standard's table of
 * well-formed byte sequences (Unicode 15, table 3-7), which is structured
 * differently from the code under test (byte ranges per lead byte instead
 * of decode-then-check).
 *
 * Covers: known valid and invalid sequences (overlong forms, surrogates,
 * code points above U+10FFFF, truncated and stray bytes), every code point,
 * every 1-, 2- and 3-byte string, a sample of 4-byte strings, and random
 * strings (of all widths, and mostly ASCII) for validity, counting and
 * offsets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "utf8.h"

/* ---------------------------------------------------------------------------
 * Reference: table 3-7. Returns the length of the well-formed sequence at
 * s[0..n), or 0 if there is none.
 */
static size_t ref_seq(const uint8_t *s, size_t n) {
  static const struct {
    uint8_t lo0, hi0, lo1, hi1;
    size_t len;
  } rows[] = {
      {0x00, 0x7f, 0, 0, 1},       {0xc2, 0xdf, 0x80, 0xbf, 2},
      {0xe0, 0xe0, 0xa0, 0xbf, 3}, {0xe1, 0xec, 0x80, 0xbf, 3},
      {0xed, 0xed, 0x80, 0x9f, 3}, {0xee, 0xef, 0x80, 0xbf, 3},
      {0xf0, 0xf0, 0x90, 0xbf, 4}, {0xf1, 0xf3, 0x80, 0xbf, 4},
      {0xf4, 0xf4, 0x80, 0x8f, 4},
  };
  if (n == 0) return 0;
  for (size_t r = 0; r < sizeof rows / sizeof *rows; r++) {
    if (s[0] < rows[r].lo0 || s[0] > rows[r].hi0) continue;
    size_t len = rows[r].len;
    if (n < len) return 0;
    if (len >= 2 && (s[1] < rows[r].lo1 || s[1] > rows[r].hi1)) return 0;
    for (size_t k = 2; k < len; k++)
      if (s[k] < 0x80 || s[k] > 0xbf) return 0;
    return len;
  }
  return 0;
}

/* 1 and the code point count if valid. */
static int ref_valid(const uint8_t *s, size_t n, size_t *ncp) {
  size_t i = 0, c = 0;
  while (i < n) {
    size_t k = ref_seq(s + i, n - i);
    if (!k) return 0;
    i += k;
    c++;
  }
  *ncp = c;
  return 1;
}

/* Encodes cp as UTF-8 without any check (surrogates too); returns length. */
static size_t ref_encode(uint32_t cp, uint8_t *o) {
  if (cp < 0x80) {
    o[0] = (uint8_t)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (uint8_t)(0xc0 | (cp >> 6));
    o[1] = (uint8_t)(0x80 | (cp & 0x3f));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (uint8_t)(0xe0 | (cp >> 12));
    o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
    o[2] = (uint8_t)(0x80 | (cp & 0x3f));
    return 3;
  }
  o[0] = (uint8_t)(0xf0 | (cp >> 18));
  o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
  o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
  o[3] = (uint8_t)(0x80 | (cp & 0x3f));
  return 4;
}

/* Checks utf8_valid against the reference for s, alone and between ASCII
 * neighbours; for valid strings also utf8_count and every utf8_offset. */
static void check_string(const uint8_t *s, size_t n) {
  size_t want_n = 0;
  int want = ref_valid(s, n, &want_n);
  size_t got_n = (size_t)-1;
  /* an exact-size copy so ASan catches reads past the end */
  uint8_t *c = malloc(n ? n : 1);
  assert_non_null(c);
  memcpy(c, s, n);
  int got = utf8_valid(c, n, &got_n);
  if (got != want) {
    fprintf(stderr, "utf8_valid(");
    for (size_t j = 0; j < n && j < 40; j++) fprintf(stderr, "%02x ", s[j]);
    fprintf(stderr, ") = %d, reference says %d\n", got, want);
    free(c);
    fail();
  }
  assert_int_equal(utf8_valid(c, n, NULL), want);
  if (want) {
    assert_int_equal(got_n, want_n);
    assert_int_equal(utf8_count(c, n), want_n);
    size_t off = 0;
    for (size_t k = 0; k <= want_n; k++) {
      assert_int_equal(utf8_offset(c, n, k), off);
      if (off < n) off += ref_seq(c + off, n - off);
    }
  }
  free(c);

  /* embedded: "a" + s + "b" is valid exactly when s is */
  uint8_t *e = malloc(n + 2);
  assert_non_null(e);
  e[0] = 'a';
  memcpy(e + 1, s, n);
  e[n + 1] = 'b';
  size_t en = 0;
  assert_int_equal(utf8_valid(e, n + 2, &en), want);
  if (want) assert_int_equal(en, want_n + 2);
  free(e);
}

#define STR(lit) (const uint8_t *)(lit), sizeof(lit) - 1

static void known_valid(void **state) {
  (void)state;
  static const struct {
    const char *s;
    size_t len, ncp;
  } cases[] = {
      {"", 0, 0},
      {"a", 1, 1},
      {"a\0b", 3, 3}, /* NUL is a code point like any other */
      {"\xc3\xa9", 2, 1},                 /* é */
      {"\xe6\x97\xa5", 3, 1},             /* 日 */
      {"\xf0\x9f\x98\x80", 4, 1},         /* 😀 */
      {"\xc2\x80", 2, 1},                 /* U+0080 */
      {"\xdf\xbf", 2, 1},                 /* U+07FF */
      {"\xe0\xa0\x80", 3, 1},             /* U+0800 */
      {"\xed\x9f\xbf", 3, 1},             /* U+D7FF */
      {"\xee\x80\x80", 3, 1},             /* U+E000 */
      {"\xef\xbf\xbf", 3, 1},             /* U+FFFF */
      {"\xf0\x90\x80\x80", 4, 1},         /* U+10000 */
      {"\xf4\x8f\xbf\xbf", 4, 1},         /* U+10FFFF */
      {"h\xc3\xa9llo \xe6\x97\xa5\xf0\x9f\x98\x80!", 15, 9},
  };
  for (size_t j = 0; j < sizeof cases / sizeof *cases; j++) {
    size_t n = 99;
    const uint8_t *s = (const uint8_t *)cases[j].s;
    assert_int_equal(utf8_valid(s, cases[j].len, &n), 1);
    assert_int_equal(n, cases[j].ncp);
    assert_int_equal(utf8_count(s, cases[j].len), cases[j].ncp);
    assert_int_equal(utf8_offset(s, cases[j].len, cases[j].ncp), cases[j].len);
    check_string(s, cases[j].len);
  }
  const uint8_t *s = (const uint8_t *)"h\xc3\xa9llo \xe6\x97\xa5\xf0\x9f\x98\x80!";
  assert_int_equal(utf8_offset(s, 15, 0), 0);
  assert_int_equal(utf8_offset(s, 15, 1), 1);
  assert_int_equal(utf8_offset(s, 15, 2), 3);
  assert_int_equal(utf8_offset(s, 15, 6), 7);  /* 日 */
  assert_int_equal(utf8_offset(s, 15, 7), 10); /* 😀 */
  assert_int_equal(utf8_offset(s, 15, 8), 14); /* ! */
  assert_int_equal(utf8_offset(s, 15, 9), 15);
}

static void known_invalid(void **state) {
  (void)state;
  static const struct {
    const char *what;
    const char *s;
    size_t len;
  } cases[] = {
      {"overlong NUL", "\xc0\x80", 2},
      {"overlong U+007F", "\xc1\xbf", 2},
      {"overlong 3-byte U+0000", "\xe0\x80\x80", 3},
      {"overlong 3-byte U+07FF", "\xe0\x9f\xbf", 3},
      {"overlong 4-byte U+0000", "\xf0\x80\x80\x80", 4},
      {"overlong 4-byte U+FFFF", "\xf0\x8f\xbf\xbf", 4},
      {"high surrogate U+D800", "\xed\xa0\x80", 3},
      {"low surrogate U+DFFF", "\xed\xbf\xbf", 3},
      {"surrogate pair as CESU-8", "\xed\xa0\xbd\xed\xb8\x80", 6},
      {"U+110000", "\xf4\x90\x80\x80", 4},
      {"lead F5", "\xf5\x80\x80\x80", 4},
      {"lead F7", "\xf7\xbf\xbf\xbf", 4},
      {"lead F8 (5-byte form)", "\xf8\x88\x80\x80\x80", 5},
      {"lead FC (6-byte form)", "\xfc\x84\x80\x80\x80\x80", 6},
      {"byte FE", "\xfe", 1},
      {"byte FF", "\xff", 1},
      {"truncated 2-byte", "\xc3", 1},
      {"truncated 3-byte", "\xe6\x97", 2},
      {"truncated 4-byte", "\xf0\x9f\x98", 3},
      {"truncated at end", "abc\xe6", 4},
      {"stray continuation", "\x80", 1},
      {"stray continuation after ASCII", "a\xbf", 2},
      {"missing continuation", "\xc3\x41", 2},
      {"missing middle continuation", "\xe6\x41\xa5", 3},
      {"continuation too many", "\xc3\xa9\xa9", 3},
  };
  for (size_t j = 0; j < sizeof cases / sizeof *cases; j++) {
    const uint8_t *s = (const uint8_t *)cases[j].s;
    if (utf8_valid(s, cases[j].len, NULL) != 0)
      fail_msg("utf8_valid accepted %s", cases[j].what);
    check_string(s, cases[j].len);
  }
}

/* Every scalar value is valid alone; every surrogate is not. */
static void every_code_point(void **state) {
  (void)state;
  uint8_t o[4];
  for (uint32_t cp = 0; cp <= 0x10ffff; cp++) {
    size_t n = ref_encode(cp, o), k = 0;
    int want = cp < 0xd800 || cp > 0xdfff;
    if (utf8_valid(o, n, &k) != want)
      fail_msg("utf8_valid(U+%04X) != %d", (unsigned)cp, want);
    if (want) {
      assert_int_equal(k, 1);
      assert_int_equal(utf8_count(o, n), 1);
      assert_int_equal(utf8_offset(o, n, 1), n);
    }
  }
}

/* Every byte string of length 1, 2 and 3. */
static void every_short_string(void **state) {
  (void)state;
  uint8_t s[3];
  for (unsigned a = 0; a < 256; a++) {
    s[0] = (uint8_t)a;
    check_string(s, 1);
    for (unsigned b = 0; b < 256; b++) {
      s[1] = (uint8_t)b;
      check_string(s, 2);
    }
  }
  /* length 3 is 16M strings: compare validity only, in place */
  for (unsigned a = 0; a < 256; a++)
    for (unsigned b = 0; b < 256; b++)
      for (unsigned c = 0; c < 256; c++) {
        s[0] = (uint8_t)a;
        s[1] = (uint8_t)b;
        s[2] = (uint8_t)c;
        size_t wn = 0, gn = 0;
        int want = ref_valid(s, 3, &wn);
        if (utf8_valid(s, 3, &gn) != want)
          fail_msg("utf8_valid(%02x %02x %02x) != %d", a, b, c, want);
        if (want && gn != wn)
          fail_msg("count(%02x %02x %02x) %zu != %zu", a, b, c, gn, wn);
      }
}

/* 4-byte strings: every lead byte from F0 and every second byte, with the
 * last two bytes drawn from the interesting edges. */
static void four_byte_edges(void **state) {
  (void)state;
  static const uint8_t edge[] = {0x00, 0x41, 0x7f, 0x80, 0x8f,
                                 0x90, 0xbf, 0xc0, 0xf4, 0xff};
  uint8_t s[4];
  for (unsigned a = 0xe0; a < 256; a++)
    for (unsigned b = 0; b < 256; b++)
      for (size_t c = 0; c < sizeof edge; c++)
        for (size_t d = 0; d < sizeof edge; d++) {
          s[0] = (uint8_t)a;
          s[1] = (uint8_t)b;
          s[2] = edge[c];
          s[3] = edge[d];
          size_t wn = 0, gn = 0;
          int want = ref_valid(s, 4, &wn);
          if (utf8_valid(s, 4, &gn) != want)
            fail_msg("utf8_valid(%02x %02x %02x %02x) != %d", a, b, edge[c],
                     edge[d], want);
          if (want) assert_int_equal(gn, wn);
        }
}

/* Random strings: mostly well-formed text of all widths, some with random
 * bytes spliced in. */
static void random_strings(void **state) {
  (void)state;
  test_rng r;
  rng_init(&r, test_seed("utf8.random_strings"));
  long iters = test_scale(20000);
  uint8_t s[256];
  for (long it = 0; it < iters; it++) {
    size_t n = 0, want = rng_below(&r, 60);
    for (size_t k = 0; k < want && n + 4 <= sizeof s; k++) {
      uint32_t cp;
      switch (rng_below(&r, 5)) {
        case 0: cp = (uint32_t)rng_below(&r, 0x80); break;
        case 1: cp = 0x80 + (uint32_t)rng_below(&r, 0x780); break;
        case 2: cp = 0x800 + (uint32_t)rng_below(&r, 0xf800); break;
        case 3: cp = 0x10000 + (uint32_t)rng_below(&r, 0x100000); break;
        default: cp = (uint32_t)rng_below(&r, 0x110000); break;
      }
      n += ref_encode(cp, s + n); /* may be a surrogate: invalid */
    }
    if (n && rng_below(&r, 4) == 0) {
      size_t flips = 1 + rng_below(&r, 3);
      for (size_t f = 0; f < flips; f++) s[rng_below(&r, n)] = (uint8_t)rng_next(&r);
    }
    if (n && rng_below(&r, 8) == 0) n = rng_below(&r, n); /* cut anywhere */
    check_string(s, n);
  }
}

/* Mostly ASCII, as typed text is: runs of 0..20 ASCII bytes (utf8_valid
 * checks eight at a time) between single other code points, stray or
 * truncated bytes, so that every alignment of a run end against the
 * word-at-a-time check is met. */
static void ascii_runs(void **state) {
  (void)state;
  test_rng r;
  rng_init(&r, test_seed("utf8.ascii_runs"));
  long iters = test_scale(20000);
  uint8_t s[256];
  for (long it = 0; it < iters; it++) {
    size_t n = 0;
    while (n + 24 <= sizeof s && rng_below(&r, 6) != 0) {
      size_t run = rng_below(&r, 21);
      for (size_t k = 0; k < run; k++) s[n++] = (uint8_t)rng_below(&r, 0x80);
      switch (rng_below(&r, 4)) {
        case 0: n += ref_encode(0x80 + (uint32_t)rng_below(&r, 0x10ff80),
                                s + n); break; /* may be a surrogate */
        case 1: s[n++] = (uint8_t)(0x80 + rng_below(&r, 0x80)); break;
        default: break; /* ASCII goes on */
      }
    }
    check_string(s, n);
  }
}

TEST_MAIN(cmocka_unit_test(known_valid), cmocka_unit_test(known_invalid),
          cmocka_unit_test(every_code_point),
          cmocka_unit_test(every_short_string),
          cmocka_unit_test(four_byte_edges), cmocka_unit_test(random_strings),
          cmocka_unit_test(ascii_runs))
