/*
 * test_text.c — the text CRDT through the public API.
 *
 *   - reference model: thousands of random splices (ASCII and multi-byte
 *     code points: é, 日, 😀) per seed against a plain code point array,
 *     with aborts and save/load in between;
 *   - typing: inserts after inserts (the sequence's typing note) mixed
 *     with backspaces, jumps, aborts, reloads and a replica's edits, against
 *     the model;
 *   - deleting on: runs of backspaces and Delete keys (the note a local
 *     delete leaves), typing where the deletion was, and selections across
 *     runs, against the model, a replica and a reload;
 *   - refused input: invalid UTF-8 (EUTF8), positions out of range (ERANGE),
 *     wrong object types — and the text is unchanged after each refusal;
 *   - the sequential editing traces replayed one transaction per trace
 *     transaction reproduce endContent exactly, on the editing replica, on a
 *     replica that imports the history and after a reload;
 *   - non-interleaving (Fugue): replicas typing words concurrently at one
 *     position end with each word whole, whatever the typing pattern
 *     (one character per transaction, one splice, backwards) and delivery
 *     order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "docutil.h"
#include "trace_util.h"

/* ---------------------------------------------------------------------------
 * A plain code point array: the model.
 */
typedef struct cpvec {
  uint32_t *p;
  size_t n, cap;
} cpvec;

static void cp_reserve(cpvec *v, size_t n) {
  if (n < v->cap) return; /* always leaves p non-NULL */
  size_t cap = v->cap ? v->cap : 64;
  while (cap < n) cap *= 2;
  v->p = realloc(v->p, cap * sizeof *v->p);
  assert_non_null(v->p);
  v->cap = cap;
}

static void cp_splice(cpvec *v, size_t pos, size_t del, const uint32_t *ins,
                      size_t nins) {
  assert_true(pos + del <= v->n);
  cp_reserve(v, v->n - del + nins);
  memmove(v->p + pos + nins, v->p + pos + del,
          (v->n - pos - del) * sizeof *v->p);
  if (nins) memcpy(v->p + pos, ins, nins * sizeof *ins);
  v->n = v->n - del + nins;
}

static size_t enc_cp(uint32_t cp, char *o) {
  if (cp < 0x80) {
    o[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (char)(0xc0 | (cp >> 6));
    o[1] = (char)(0x80 | (cp & 0x3f));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (char)(0xe0 | (cp >> 12));
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
  }
  o[0] = (char)(0xf0 | (cp >> 18));
  o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
  o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
  o[3] = (char)(0x80 | (cp & 0x3f));
  return 4;
}

/* UTF-8 of cps (malloc'd, NUL-terminated). */
static char *cps_utf8(const uint32_t *cps, size_t n, size_t *len) {
  char *s = malloc(4 * n + 1);
  assert_non_null(s);
  size_t k = 0;
  for (size_t j = 0; j < n; j++) k += enc_cp(cps[j], s + k);
  s[k] = 0;
  *len = k;
  return s;
}

static size_t count_cps(const char *s, size_t n) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) k += ((unsigned char)s[i] & 0xc0) != 0x80;
  return k;
}

/* Asserts that text obj holds exactly the model's code points. */
static void assert_text_is(const accord_doc *doc, accord_id t,
                           const cpvec *m) {
  size_t n = 0, len = 0, want_len = 0;
  AOK(accord_text_len(doc, t, &n));
  assert_int_equal(n, m->n);
  char *want = cps_utf8(m->p, m->n, &want_len);
  char *got = NULL;
  AOK(accord_text_read(doc, t, &got, &len));
  assert_non_null(got);
  if (len != want_len || memcmp(got, want, len) != 0) {
    print_error("text differs from the model:\n  got  \"%.500s\"\n"
                "  want \"%.500s\"\n", got, want);
    accord_free(got);
    free(want);
    fail();
  }
  assert_int_equal(got[len], 0);
  accord_free(got);
  free(want);
}

static accord_id new_text(accord_doc *doc) {
  return du_put_object(doc, ACCORD_ROOT, "text", ACCORD_TEXT);
}

/* ---------------------------------------------------------------------------
 * Reference model.
 */
static const uint32_t alphabet[] = {
    'a', 'b', 'c', 'd', 'e', 'x', 'y', 'z', ' ', '\n', 'A', '.',
    0xe9 /* é */, 0xdf /* ß */, 0x3b1 /* α */, 0x65e5 /* 日 */,
    0x672c /* 本 */, 0x1f600 /* 😀 */, 0x1f680 /* 🚀 */, 0x10ffff};

static size_t random_insert(test_rng *r, uint32_t *ins) {
  size_t n;
  switch (rng_below(r, 6)) {
    case 0: n = 0; break;
    case 1: n = 10 + rng_below(r, 30); break; /* a pasted run */
    default: n = 1 + rng_below(r, 4); break;
  }
  int ascii = rng_below(r, 2) == 0;
  for (size_t j = 0; j < n; j++)
    ins[j] = alphabet[rng_below(r, ascii ? 12 : sizeof alphabet /
                                                    sizeof *alphabet)];
  return n;
}

static void model_run(uint64_t seed, long txns) {
  test_rng r;
  rng_init(&r, seed);
  accord_doc *doc = du_new(1);
  accord_id t = new_text(doc);
  cpvec m = {0}, saved = {0};
  uint32_t ins[64];
  for (long it = 0; it < txns; it++) {
    accord_txn *txn = NULL;
    AOK(accord_txn_begin(doc, &txn));
    cp_reserve(&saved, m.n + 1);
    if (m.n) memcpy(saved.p, m.p, m.n * sizeof *m.p);
    saved.n = m.n;
    size_t nsplices = 1 + rng_below(&r, 3);
    for (size_t k = 0; k < nsplices; k++) {
      size_t pos = rng_below(&r, 3) == 0 ? m.n : rng_below(&r, m.n + 1);
      size_t room = m.n - pos, del = 0;
      if (room && rng_below(&r, m.n > 400 ? 2 : 4) == 0)
        del = 1 + rng_below(&r, room < 25 ? room : 25);
      size_t nins = random_insert(&r, ins);
      size_t blen;
      char *s = cps_utf8(ins, nins, &blen);
      int rc = accord_text_splice(txn, t, pos, del, s, blen);
      if (rc != 0)
        fail_msg("txn %ld splice(pos %zu, del %zu, \"%s\") on length %zu: %s",
                 it, pos, del, s, m.n, accord_err_name(rc));
      free(s);
      cp_splice(&m, pos, del, ins, nins);
      if (rng_below(&r, 8) == 0) { /* reads inside the transaction */
        size_t n = 0;
        AOK(accord_text_len(doc, t, &n));
        assert_int_equal(n, m.n);
      }
    }
    if (rng_below(&r, 50) == 0) {
      accord_txn_abort(txn);
      cp_splice(&m, 0, m.n, saved.p, saved.n);
      assert_text_is(doc, t, &m);
    } else {
      accord_change_info info;
      AOK(accord_txn_commit(txn, &info));
    }
    size_t n = 0;
    AOK(accord_text_len(doc, t, &n));
    assert_int_equal(n, m.n);
    if (it % 64 == 0) assert_text_is(doc, t, &m);
    if (it % 700 == 699) {
      doc = du_reload(doc);
      assert_text_is(doc, t, &m);
    }
  }
  assert_text_is(doc, t, &m);
  /* a second replica that imports the whole history agrees */
  accord_doc *other = du_new(2);
  du_sync(other, doc);
  assert_text_is(other, t, &m);
  accord_doc_free(other);
  accord_doc_free(doc);
  free(m.p);
  free(saved.p);
}

static void reference_model(void **state) {
  (void)state;
  uint64_t seed = test_seed("text.reference_model");
  long txns = test_scale(1500);
  for (uint64_t s = 0; s < 4; s++) {
    printf("  seed %llu\n", (unsigned long long)(seed + s));
    model_run(seed + s, txns);
  }
}

/* ---------------------------------------------------------------------------
 * Typing: an insert right after the previous local insert takes its place
 * from a note the sequence keeps (seq.h, tc_*) instead of a position
 * lookup. Runs of typing interrupted by backspaces, jumps, several splices
 * per transaction, aborted transactions, reloads and a concurrent replica's
 * edits taken in must each leave the note unused or still right.
 */
static void model_from_doc(cpvec *m, const accord_doc *doc, accord_id t) {
  char *s = du_text(doc, t); /* ASCII only in this test */
  size_t n = strlen(s);
  cp_reserve(m, n + 1);
  for (size_t i = 0; i < n; i++) m->p[i] = (uint8_t)s[i];
  m->n = n;
  accord_free(s);
}

static void typing_with_interruptions(void **state) {
  (void)state;
  uint64_t seed = test_seed("text.typing_with_interruptions");
  test_rng r;
  rng_init(&r, seed);
  accord_doc *a = du_new(1), *b = du_new(2);
  accord_id t = new_text(a);
  du_sync(b, a);
  cpvec m = {0}, saved = {0};
  size_t cur = 0, typed_on = 0, remote = 0;
  long txns = test_scale(3000);
  for (long it = 0; it < txns; it++) {
    if (rng_below(&r, 40) == 0) { /* b edits; a takes it in */
      accord_txn *bt = NULL;
      size_t bn = 0;
      AOK(accord_text_len(b, t, &bn));
      AOK(accord_txn_begin(b, &bt));
      AOK(accord_text_splice(bt, t, rng_below(&r, bn + 1), 0, "XY", 2));
      AOK(accord_txn_commit(bt, NULL));
      du_sync(a, b);
      model_from_doc(&m, a, t);
      if (cur > m.n) cur = m.n;
      remote++;
      continue;
    }
    accord_txn *txn = NULL;
    AOK(accord_txn_begin(a, &txn));
    cp_reserve(&saved, m.n + 1);
    if (m.n) memcpy(saved.p, m.p, m.n * sizeof *m.p);
    saved.n = m.n;
    size_t saved_cur = cur;
    size_t nsplices = 1 + rng_below(&r, 4);
    for (size_t k = 0; k < nsplices; k++) {
      uint64_t what = rng_below(&r, 20);
      size_t pos = cur, del = 0;
      if (what < 3 && cur > 0) { /* backspace */
        del = 1 + rng_below(&r, cur < 3 ? cur : 3);
        pos = cur - del;
      } else if (what < 6) { /* the cursor jumps */
        pos = rng_below(&r, m.n + 1);
        if (pos < m.n && rng_below(&r, 2)) del = 1;
      } else if (what < 8 && cur < m.n) { /* the Delete key, typing on */
        del = 1 + rng_below(&r, m.n - cur < 3 ? m.n - cur : 3);
      } else {
        typed_on++;
      }
      uint32_t ins[4];
      size_t nins = del && rng_below(&r, 2) ? 0 : 1 + rng_below(&r, 4);
      char s[4];
      for (size_t j = 0; j < nins; j++) {
        ins[j] = alphabet[rng_below(&r, 12)]; /* ASCII */
        s[j] = (char)ins[j];
      }
      int rc = accord_text_splice(txn, t, pos, del, s, nins);
      if (rc != 0)
        fail_msg("txn %ld splice(pos %zu, del %zu) on length %zu: %s", it,
                 pos, del, m.n, accord_err_name(rc));
      cp_splice(&m, pos, del, ins, nins);
      cur = pos + nins;
    }
    if (rng_below(&r, 30) == 0) {
      accord_txn_abort(txn);
      cp_splice(&m, 0, m.n, saved.p, saved.n);
      cur = saved_cur;
    } else {
      AOK(accord_txn_commit(txn, NULL));
    }
    if (it % 16 == 0) assert_text_is(a, t, &m);
    if (it % 900 == 899) {
      a = du_reload(a);
      assert_text_is(a, t, &m);
    }
  }
  assert_text_is(a, t, &m);
  du_sync_both(a, b);
  du_assert_same_json(a, b);
  assert_true(typed_on > 1000 && remote > 10); /* the paths were taken */
  accord_doc_free(a);
  accord_doc_free(b);
  free(m.p);
  free(saved.p);
}

/* Deleting on: runs of single backspaces and of the Delete key, typing
 * where the deletion was, and deletes across several runs (one RMV per
 * run), over text typed in bursts of ASCII and multi-byte code points. A
 * local delete notes its neighbour's place for the next one (seq.c); the
 * text is checked against the model after every transaction, and a
 * replica built from the history and a reload must agree at the end. */
static void deleting_on(void **state) {
  (void)state;
  uint64_t seed = test_seed("text.deleting_on");
  test_rng r;
  rng_init(&r, seed);
  accord_doc *a = du_new(1);
  accord_id t = new_text(a);
  cpvec m = {0};
  size_t cur = 0, chains = 0;
  long steps = test_scale(10000);
  for (long it = 0; it < steps; it++) {
    uint64_t what = rng_below(&r, 10);
    size_t len = what < 4 ? 1 + rng_below(&r, 12) : 1; /* chain length */
    for (size_t k = 0; k < len; k++) {
      size_t pos = cur, del = 0, nins = 0;
      uint32_t ins[8];
      if (what < 2) { /* backspace */
        if (cur == 0) break;
        pos = cur - 1;
        del = 1;
      } else if (what < 4) { /* the Delete key */
        if (cur == m.n) break;
        del = 1;
      } else if (what < 5) { /* a selection across runs, maybe replaced */
        pos = rng_below(&r, m.n + 1);
        del = rng_below(&r, m.n - pos + 1);
        nins = rng_below(&r, 3);
      } else if (what < 6) { /* the cursor jumps, mostly a few places */
        size_t lo = cur > 3 ? cur - 3 : 0, hi = cur + 3 < m.n ? cur + 3 : m.n;
        cur = rng_below(&r, 3) ? lo + rng_below(&r, hi - lo + 1)
                               : rng_below(&r, m.n + 1);
        continue;
      } else { /* typing */
        nins = 1 + rng_below(&r, 8);
      }
      int ascii = rng_below(&r, 3) != 0;
      for (size_t j = 0; j < nins; j++)
        ins[j] = alphabet[rng_below(&r, ascii ? 12 : sizeof alphabet /
                                                         sizeof *alphabet)];
      size_t slen = 0;
      char *str = cps_utf8(ins, nins, &slen);
      accord_txn *txn = NULL;
      AOK(accord_txn_begin(a, &txn));
      int rc = accord_text_splice(txn, t, pos, del, str, slen);
      free(str);
      if (rc != 0)
        fail_msg("step %ld splice(pos %zu, del %zu) on length %zu: %s", it,
                 pos, del, m.n, accord_err_name(rc));
      AOK(accord_txn_commit(txn, NULL));
      cp_splice(&m, pos, del, ins, nins);
      cur = pos + nins;
      assert_text_is(a, t, &m);
      if (k > 0) chains++;
    }
  }
  accord_doc *b = du_new(2); /* the same text from the history */
  du_sync(b, a);
  du_assert_same_json(a, b);
  a = du_reload(a);
  assert_text_is(a, t, &m);
  du_assert_same_json(a, b);
  assert_true(chains > 200); /* deleting on was exercised */
  accord_doc_free(a);
  accord_doc_free(b);
  free(m.p);
}

/* ---------------------------------------------------------------------------
 * Refused input.
 */
static void invalid_utf8_refused(void **state) {
  (void)state;
  static const struct {
    const char *s;
    size_t len;
  } bad[] = {
      {"\xc0\x80", 2},         {"\xc1\xbf", 2},         {"\xe0\x80\xaf", 3},
      {"\xed\xa0\x80", 3},     {"\xed\xbf\xbf", 3},     {"\xf4\x90\x80\x80", 4},
      {"\xf5\x80\x80\x80", 4}, {"\xff", 1},             {"\x80", 1},
      {"ab\xc3", 3},           {"\xe6\x97", 2},         {"\xf0\x9f\x98", 3},
      {"ok\xc3(", 4},          {"\xf8\x88\x80\x80\x80", 5},
  };
  accord_doc *doc = du_new(1);
  accord_id t = new_text(doc);
  accord_txn *txn = NULL;
  AOK(accord_txn_begin(doc, &txn));
  AOK(accord_text_splice(txn, t, 0, 0, "h\xc3\xa9llo", 6));
  AOK(accord_txn_commit(txn, NULL));

  AOK(accord_txn_begin(doc, &txn));
  for (size_t j = 0; j < sizeof bad / sizeof *bad; j++) {
    /* insert only, and insert with a deletion that must not happen */
    assert_int_equal(accord_text_splice(txn, t, 1, 0, bad[j].s, bad[j].len),
                     ACCORD_EUTF8);
    assert_int_equal(accord_text_splice(txn, t, 1, 2, bad[j].s, bad[j].len),
                     ACCORD_EUTF8);
    du_assert_text(doc, t, "h\xc3\xa9llo");
  }
  /* the transaction is still usable */
  AOK(accord_text_splice(txn, t, 5, 0, "!", 1));
  AOK(accord_txn_commit(txn, NULL));
  du_assert_text(doc, t, "h\xc3\xa9llo!");

  /* a refused splice in a transaction of its own commits nothing */
  AOK(accord_txn_begin(doc, &txn));
  assert_int_equal(accord_text_splice(txn, t, 0, 0, "\xff", 1), ACCORD_EUTF8);
  accord_change_info info;
  AOK(accord_txn_commit(txn, &info));
  assert_int_equal(info.seq, 0);
  du_assert_text(doc, t, "h\xc3\xa9llo!");
  accord_doc_free(doc);
}

static void out_of_range_refused(void **state) {
  (void)state;
  accord_doc *doc = du_new(1);
  accord_id t = new_text(doc);
  accord_txn *txn = NULL;
  AOK(accord_txn_begin(doc, &txn));
  AOK(accord_text_splice(txn, t, 0, 0, "\xe6\x97\xa5\xe6\x9c\xac\xf0\x9f\x98\x80" "ab", 12));
  /* 5 code points: 日本😀ab */
  static const struct {
    size_t pos, del;
  } bad[] = {{6, 0}, {5, 1}, {2, 4}, {0, 6}, {SIZE_MAX, 0},
             {0, SIZE_MAX}, {1, SIZE_MAX}, {SIZE_MAX, SIZE_MAX}, {7, 0}};
  for (size_t j = 0; j < sizeof bad / sizeof *bad; j++) {
    int rc = accord_text_splice(txn, t, bad[j].pos, bad[j].del, "x", 1);
    if (rc != ACCORD_ERANGE)
      fail_msg("splice(%zu, %zu) -> %s, want ERANGE", bad[j].pos, bad[j].del,
               accord_err_name(rc));
    du_assert_text(doc, t, "\xe6\x97\xa5\xe6\x9c\xac\xf0\x9f\x98\x80" "ab");
  }
  /* the edges themselves are fine */
  AOK(accord_text_splice(txn, t, 5, 0, "z", 1));
  AOK(accord_text_splice(txn, t, 0, 6, "", 0));
  AOK(accord_txn_commit(txn, NULL));
  du_assert_text(doc, t, "");
  size_t n = 99;
  AOK(accord_text_len(doc, t, &n));
  assert_int_equal(n, 0);
  AOK(accord_txn_begin(doc, &txn));
  assert_int_equal(accord_text_splice(txn, t, 0, 1, "", 0), ACCORD_ERANGE);
  assert_int_equal(accord_text_splice(txn, t, 1, 0, "a", 1), ACCORD_ERANGE);
  accord_txn_abort(txn);
  accord_doc_free(doc);
}

/* An object created by a transaction that aborted is gone, even right
 * after being edited (the document remembers the last object it looked
 * up: the abort rebuilds the state and forgets it); the same after a
 * reload. */
static void aborted_objects_gone(void **state) {
  (void)state;
  accord_doc *doc = du_new(1);
  accord_id t = new_text(doc);
  accord_txn *txn = NULL;
  accord_id u;
  AOK(accord_txn_begin(doc, &txn));
  AOK(accord_text_splice(txn, t, 0, 0, "a", 1));
  AOK(accord_map_put_object(txn, ACCORD_ROOT, "u", ACCORD_TEXT, &u));
  AOK(accord_text_splice(txn, u, 0, 0, "b", 1));
  size_t n = 0;
  AOK(accord_text_len(doc, u, &n));
  assert_int_equal(n, 1);
  accord_txn_abort(txn);
  assert_int_equal(accord_text_len(doc, u, &n), ACCORD_ENOTFOUND);
  AOK(accord_txn_begin(doc, &txn));
  assert_int_equal(accord_text_splice(txn, u, 0, 0, "c", 1),
                   ACCORD_ENOTFOUND);
  AOK(accord_text_splice(txn, t, 0, 0, "c", 1));
  AOK(accord_txn_commit(txn, NULL));
  du_assert_text(doc, t, "c");
  doc = du_reload(doc);
  AOK(accord_txn_begin(doc, &txn));
  AOK(accord_text_splice(txn, t, 1, 0, "d", 1));
  AOK(accord_txn_commit(txn, NULL));
  du_assert_text(doc, t, "cd");
  assert_int_equal(accord_text_len(doc, u, &n), ACCORD_ENOTFOUND);
  accord_doc_free(doc);
}

static void wrong_objects_refused(void **state) {
  (void)state;
  accord_doc *doc = du_new(1);
  accord_id t = new_text(doc);
  accord_id list = du_put_object(doc, ACCORD_ROOT, "list", ACCORD_LIST);
  accord_id nowhere = {999999, {9, 9, 9, 9, 9, 9, 9, 9}};
  accord_txn *txn = NULL;
  AOK(accord_txn_begin(doc, &txn));
  assert_int_equal(accord_text_splice(txn, ACCORD_ROOT, 0, 0, "a", 1),
                   ACCORD_ETYPE);
  assert_int_equal(accord_text_splice(txn, list, 0, 0, "a", 1), ACCORD_ETYPE);
  assert_int_equal(accord_text_splice(txn, nowhere, 0, 0, "a", 1),
                   ACCORD_ENOTFOUND);
  AOK(accord_text_splice(txn, t, 0, 0, "a", 1));
  AOK(accord_txn_commit(txn, NULL));
  size_t n;
  char *s = NULL;
  assert_int_equal(accord_text_len(doc, ACCORD_ROOT, &n), ACCORD_ETYPE);
  assert_int_equal(accord_text_len(doc, list, &n), ACCORD_ETYPE);
  assert_int_equal(accord_text_len(doc, nowhere, &n), ACCORD_ENOTFOUND);
  assert_int_equal(accord_text_read(doc, list, &s, &n), ACCORD_ETYPE);
  assert_null(s);
  assert_int_equal(accord_text_read(doc, nowhere, &s, &n), ACCORD_ENOTFOUND);
  assert_null(s);
  accord_type ty;
  AOK(accord_obj_type(doc, t, &ty));
  assert_int_equal(ty, ACCORD_TEXT);
  du_assert_json(doc, "{\"list\":[],\"text\":\"a\"}");
  accord_doc_free(doc);
}

/* U+0000 is a scalar value like any other: it counts as one code point and
 * the byte length from accord_text_read covers it. */
static void nul_code_point(void **state) {
  (void)state;
  accord_doc *doc = du_new(1);
  accord_id t = new_text(doc);
  accord_txn *txn = NULL;
  AOK(accord_txn_begin(doc, &txn));
  AOK(accord_text_splice(txn, t, 0, 0, "a\0b", 3));
  AOK(accord_txn_commit(txn, NULL));
  size_t n = 0;
  AOK(accord_text_len(doc, t, &n));
  assert_int_equal(n, 3);
  char *s = NULL;
  AOK(accord_text_read(doc, t, &s, &n));
  assert_int_equal(n, 3);
  assert_memory_equal(s, "a\0b", 4);
  accord_free(s);
  accord_doc_free(doc);
}

/* ---------------------------------------------------------------------------
 * Sequential traces.
 */
static void replay_sequential(const char *name) {
  trace tr;
  if (trace_load(name, &tr) != 0) fail_msg("cannot load trace %s", name);
  assert_false(tr.concurrent);
  accord_doc *doc = du_new(1);
  accord_id t = new_text(doc);
  size_t len = 0, changes = 1;
  accord_txn *txn = NULL;
  accord_change_info info;
  if (tr.start_len) {
    AOK(accord_txn_begin(doc, &txn));
    AOK(accord_text_splice(txn, t, 0, 0, tr.start_content, tr.start_len));
    AOK(accord_txn_commit(txn, NULL));
    len = count_cps(tr.start_content, tr.start_len);
    changes++;
  }
  for (size_t i = 0; i < tr.ntxns; i++) {
    const trace_txn *tx = &tr.txns[i];
    AOK(accord_txn_begin(doc, &txn));
    accord_txn_set_time(txn, 1600000000000 + (int64_t)i);
    for (size_t k = 0; k < tx->npatches; k++) {
      const trace_patch *p = &tx->patches[k];
      int rc = accord_text_splice(txn, t, p->pos, p->del, p->ins, p->ins_len);
      if (rc != 0)
        fail_msg("%s txn %zu patch %zu (pos %zu del %zu, length %zu): %s",
                 name, i, k, p->pos, p->del, len, accord_err_name(rc));
      len = len - p->del + p->ins_cps;
    }
    AOK(accord_txn_commit(txn, &info));
    changes += info.seq != 0;
    if (i % 16 == 0) {
      size_t n = 0;
      AOK(accord_text_len(doc, t, &n));
      if (n != len)
        fail_msg("%s after txn %zu: length %zu, want %zu", name, i, n, len);
    }
  }
  size_t n = 0;
  AOK(accord_text_len(doc, t, &n));
  assert_int_equal(n, count_cps(tr.end_content, tr.end_len));
  du_assert_text(doc, t, tr.end_content);

  /* a replica importing the whole history in one batch gets the same */
  accord_doc *other = du_new(2);
  accord_import_stats st = du_sync(other, doc);
  assert_int_equal(st.applied, changes);
  assert_int_equal(st.pending, 0);
  du_assert_text(other, t, tr.end_content);
  accord_doc_free(other);

  /* and so does the editing replica after a reload */
  doc = du_reload(doc);
  du_assert_text(doc, t, tr.end_content);
  printf("  %s: %zu txns, %zu patches, %zu code points, %zu bytes of memory\n",
         name, tr.ntxns, tr.npatches, n, accord_doc_mem_bytes(doc));
  accord_doc_free(doc);
  trace_free(&tr);
}

static void trace_automerge_paper(void **state) {
  (void)state;
  replay_sequential("automerge-paper.json.gz");
}

static void trace_sveltecomponent(void **state) {
  (void)state;
  replay_sequential("sveltecomponent.json.gz");
}

/* ---------------------------------------------------------------------------
 * Non-interleaving.
 */
typedef enum typing {
  ONE_CHAR_PER_TXN, /* forward, each character its own change */
  ONE_SPLICE,       /* the whole word in one splice */
  BACKWARDS         /* last character first, each at the same position */
} typing;

static void type_word(accord_doc *doc, accord_id t, size_t pos,
                      const char *word, typing how) {
  size_t len = strlen(word);
  accord_txn *txn = NULL;
  if (how == ONE_SPLICE) {
    AOK(accord_txn_begin(doc, &txn));
    AOK(accord_text_splice(txn, t, pos, 0, word, len));
    AOK(accord_txn_commit(txn, NULL));
    return;
  }
  /* byte offsets of each code point */
  size_t starts[64], ncp = 0;
  for (size_t i = 0; i < len; i++)
    if (((unsigned char)word[i] & 0xc0) != 0x80) starts[ncp++] = i;
  assert_true(ncp < 64);
  starts[ncp] = len;
  for (size_t k = 0; k < ncp; k++) {
    size_t c = how == BACKWARDS ? ncp - 1 - k : k;
    AOK(accord_txn_begin(doc, &txn));
    AOK(accord_text_splice(txn, t, how == BACKWARDS ? pos : pos + k, 0,
                           word + starts[c], starts[c + 1] - starts[c]));
    AOK(accord_txn_commit(txn, NULL));
  }
}

/* 1 if text == prefix + some permutation of words + suffix. */
static int is_whole_words(const char *text, const char *prefix,
                          const char *const *words, size_t nwords,
                          const char *suffix) {
  size_t pl = strlen(prefix), sl = strlen(suffix), tl = strlen(text);
  if (tl < pl + sl || memcmp(text, prefix, pl) != 0 ||
      memcmp(text + tl - sl, suffix, sl) != 0)
    return 0;
  if (nwords == 0) return tl == pl + sl;
  /* try each word first, recurse on the rest */
  for (size_t w = 0; w < nwords; w++) {
    size_t wl = strlen(words[w]);
    if (tl - pl - sl < wl || memcmp(text + pl, words[w], wl) != 0) continue;
    const char *rest[8];
    size_t nr = 0;
    for (size_t k = 0; k < nwords; k++)
      if (k != w) rest[nr++] = words[k];
    if (is_whole_words(text + pl + wl, "", rest, nr, suffix)) return 1;
  }
  return 0;
}

/* n replicas of one document whose text starts as base; each replica types
 * words[i] at code point position pos concurrently; then they sync. */
static void concurrent_words(size_t n, const char *base, size_t pos,
                             const char *const *words, typing how) {
  accord_doc *docs[8];
  assert_true(n <= 6);
  docs[0] = du_new(1);
  accord_id t = new_text(docs[0]);
  if (*base) type_word(docs[0], t, 0, base, ONE_SPLICE);
  for (size_t i = 1; i < n; i++) {
    docs[i] = du_new(i + 1);
    du_sync(docs[i], docs[0]);
  }
  for (size_t i = 0; i < n; i++) type_word(docs[i], t, pos, words[i], how);

  /* two late joiners get the changes in opposite orders */
  accord_doc *late_a = du_new(100), *late_b = du_new(101);
  for (size_t i = 0; i < n; i++) {
    du_sync(late_a, docs[i]);
    du_sync(late_b, docs[n - 1 - i]);
  }

  du_sync_all(docs, n);
  du_assert_same_json(docs[0], late_a);
  du_assert_same_json(docs[0], late_b);

  size_t bl = strlen(base), split = 0;
  for (size_t k = 0; k < pos; k++) {
    split++;
    while (split < bl && ((unsigned char)base[split] & 0xc0) == 0x80) split++;
  }
  char prefix[256];
  assert_true(split < sizeof prefix);
  memcpy(prefix, base, split);
  prefix[split] = 0;
  char *text = du_text(docs[0], t);
  if (!is_whole_words(text, prefix, words, n, base + split)) {
    print_error("words interleaved: \"%s\"\n", text);
    accord_free(text);
    fail();
  }
  accord_free(text);
  for (size_t i = 0; i < n; i++) accord_doc_free(docs[i]);
  accord_doc_free(late_a);
  accord_doc_free(late_b);
}

static const char *const two_words[] = {"hello", "world"};
static const char *const three_words[] = {"alpha ", "beta ", "gamma "};
static const char *const wide_words[] = {"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
                                         "\xf0\x9f\x98\x80\xf0\x9f\x9a\x80",
                                         "caf\xc3\xa9"};

static void words_one_char_per_txn(void **state) {
  (void)state;
  concurrent_words(2, "", 0, two_words, ONE_CHAR_PER_TXN);
}

static void words_one_splice(void **state) {
  (void)state;
  concurrent_words(2, "", 0, two_words, ONE_SPLICE);
}

static void words_typed_backwards(void **state) {
  (void)state;
  concurrent_words(2, "", 0, two_words, BACKWARDS);
}

static void words_three_replicas(void **state) {
  (void)state;
  concurrent_words(3, "", 0, three_words, ONE_CHAR_PER_TXN);
  concurrent_words(3, "", 0, three_words, ONE_SPLICE);
  concurrent_words(3, "", 0, three_words, BACKWARDS);
}

static void words_in_the_middle(void **state) {
  (void)state;
  static const char base[] = "The quick brown fox";
  for (typing how = ONE_CHAR_PER_TXN; how <= BACKWARDS; how++) {
    concurrent_words(2, base, 10, two_words, how);
    concurrent_words(3, base, 10, three_words, how);
    concurrent_words(2, base, 0, two_words, how);
    concurrent_words(2, base, 19, two_words, how); /* at the end */
  }
}

static void words_multibyte(void **state) {
  (void)state;
  static const char base[] = "na\xc3\xafve \xe6\x97\xa5\xf0\x9f\x98\x80 text";
  for (typing how = ONE_CHAR_PER_TXN; how <= BACKWARDS; how++) {
    concurrent_words(3, base, 7, wide_words, how);
    concurrent_words(3, "", 0, wide_words, how);
  }
}

/* Both replicas type words; one of them also deletes around the insertion
 * point concurrently: the surviving text still has each word whole. */
static void words_with_concurrent_delete(void **state) {
  (void)state;
  accord_doc *a = du_new(1), *b = du_new(2);
  accord_id t = new_text(a);
  type_word(a, t, 0, "0123456789", ONE_SPLICE);
  du_sync(b, a);
  type_word(a, t, 5, "hello", ONE_CHAR_PER_TXN);
  accord_txn *txn = NULL;
  AOK(accord_txn_begin(b, &txn));
  AOK(accord_text_splice(txn, t, 3, 4, "", 0)); /* deletes 3456 */
  AOK(accord_txn_commit(txn, NULL));
  type_word(b, t, 3, "world", ONE_CHAR_PER_TXN);
  du_sync_both(a, b);
  du_assert_same_json(a, b);
  char *text = du_text(a, t);
  static const char *const w[] = {"hello", "world"};
  /* "world" went where 3456 were; "hello" was typed between 4 and 5 */
  if (!is_whole_words(text, "012", w, 2, "789")) {
    print_error("got \"%s\"\n", text);
    accord_free(text);
    fail();
  }
  accord_free(text);
  accord_doc_free(a);
  accord_doc_free(b);
}

TEST_MAIN(cmocka_unit_test(reference_model),
          cmocka_unit_test(typing_with_interruptions),
          cmocka_unit_test(deleting_on),
          cmocka_unit_test(invalid_utf8_refused),
          cmocka_unit_test(out_of_range_refused),
          cmocka_unit_test(wrong_objects_refused),
          cmocka_unit_test(aborted_objects_gone),
          cmocka_unit_test(nul_code_point),
          cmocka_unit_test(trace_automerge_paper),
          cmocka_unit_test(trace_sveltecomponent),
          cmocka_unit_test(words_one_char_per_txn),
          cmocka_unit_test(words_one_splice),
          cmocka_unit_test(words_typed_backwards),
          cmocka_unit_test(words_three_replicas),
          cmocka_unit_test(words_in_the_middle),
          cmocka_unit_test(words_multibyte),
          cmocka_unit_test(words_with_concurrent_delete))
