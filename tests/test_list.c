/*
 * test_list.c — lists through the public API.
 *
 *   - insert / delete / get of scalars and nested objects, and the errors
 *     (ERANGE, ETYPE, ENOTFOUND, EUTF8) that leave the list unchanged;
 *   - a reference model: thousands of random inserts and deletes against a
 *     plain array, with aborts and reloads;
 *   - concurrent inserts and deletes on three replicas converge: every
 *     element that nobody deleted survives exactly once, deleted ones are
 *     gone, and elements keep the relative order every replica saw;
 *   - runs inserted concurrently at one index are not interleaved.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "docutil.h"

static int64_t get_int(const accord_doc *doc, accord_id l, size_t i) {
  accord_value v;
  AOK(accord_list_get(doc, l, i, &v));
  assert_int_equal(v.type, ACCORD_INT);
  return v.u.i;
}

static size_t list_len(const accord_doc *doc, accord_id l) {
  size_t n = 0;
  AOK(accord_list_len(doc, l, &n));
  return n;
}

static void insert_int(accord_txn *t, accord_id l, size_t i, int64_t x) {
  accord_value v = accord_int(x);
  AOK(accord_list_insert(t, l, i, &v));
}

static void scalars_and_objects(void **state) {
  (void)state;
  accord_doc *doc = du_new(1);
  accord_id l = du_put_object(doc, ACCORD_ROOT, "l", ACCORD_LIST);
  assert_int_equal(list_len(doc, l), 0);
  accord_txn *t = NULL;
  AOK(accord_txn_begin(doc, &t));
  insert_int(t, l, 0, 2);
  insert_int(t, l, 0, 1);
  insert_int(t, l, 2, 4);
  insert_int(t, l, 2, 3);
  accord_value s = accord_str("five", 4), b = accord_bool(1), n = accord_null();
  AOK(accord_list_insert(t, l, 4, &s));
  AOK(accord_list_insert(t, l, 5, &b));
  AOK(accord_list_insert(t, l, 6, &n));
  accord_id m, tx, ll;
  AOK(accord_list_insert_object(t, l, 7, ACCORD_MAP, &m));
  AOK(accord_list_insert_object(t, l, 8, ACCORD_TEXT, &tx));
  AOK(accord_list_insert_object(t, l, 0, ACCORD_LIST, &ll));
  AOK(accord_map_put(t, m, "k", &s));
  AOK(accord_text_splice(t, tx, 0, 0, "txt", 3));
  insert_int(t, ll, 0, 0);
  AOK(accord_txn_commit(t, NULL));
  du_assert_json(doc, "{\"l\":[[0],1,2,3,4,\"five\",true,null,{\"k\":\"five\"},"
                      "\"txt\"]}");
  assert_int_equal(list_len(doc, l), 10);
  for (int i = 1; i <= 4; i++) assert_int_equal(get_int(doc, l, (size_t)i), i);
  accord_value v;
  AOK(accord_list_get(doc, l, 0, &v));
  assert_int_equal(v.type, ACCORD_LIST);
  assert_true(du_id_eq(v.u.obj, ll));
  AOK(accord_list_get(doc, l, 5, &v));
  assert_int_equal(v.type, ACCORD_STR);
  assert_int_equal(v.u.str.len, 4);
  assert_memory_equal(v.u.str.ptr, "five", 4);
  AOK(accord_list_get(doc, l, 8, &v));
  assert_int_equal(v.type, ACCORD_MAP);
  assert_true(du_id_eq(v.u.obj, m));
  AOK(accord_list_get(doc, l, 9, &v));
  assert_int_equal(v.type, ACCORD_TEXT);
  assert_true(du_id_eq(v.u.obj, tx));

  /* errors change nothing */
  char *before = test_json(doc);
  accord_id nowhere = {31337, {7, 7, 7, 7, 7, 7, 7, 7}};
  accord_value one = accord_int(1), bad = accord_str("\xc3\x28", 2);
  accord_value objv = accord_int(0);
  objv.type = ACCORD_LIST;
  objv.u.obj = ll;
  AOK(accord_txn_begin(doc, &t));
  assert_int_equal(accord_list_insert(t, l, 11, &one), ACCORD_ERANGE);
  assert_int_equal(accord_list_insert(t, l, SIZE_MAX, &one), ACCORD_ERANGE);
  assert_int_equal(accord_list_insert_object(t, l, 11, ACCORD_MAP, NULL),
                   ACCORD_ERANGE);
  assert_int_equal(accord_list_delete(t, l, 10, 1), ACCORD_ERANGE);
  assert_int_equal(accord_list_delete(t, l, 5, 6), ACCORD_ERANGE);
  assert_int_equal(accord_list_delete(t, l, 1, SIZE_MAX), ACCORD_ERANGE);
  assert_int_equal(accord_list_delete(t, l, SIZE_MAX, 2), ACCORD_ERANGE);
  assert_int_equal(accord_list_get(doc, l, 10, &v), ACCORD_ERANGE);
  assert_int_equal(accord_list_insert(t, l, 0, &bad), ACCORD_EUTF8);
  assert_int_equal(accord_list_insert(t, l, 0, &objv), ACCORD_ETYPE);
  assert_int_equal(accord_list_insert_object(t, l, 0, ACCORD_INT, NULL),
                   ACCORD_ETYPE);
  assert_int_equal(accord_list_insert(t, ACCORD_ROOT, 0, &one), ACCORD_ETYPE);
  assert_int_equal(accord_list_insert(t, tx, 0, &one), ACCORD_ETYPE);
  assert_int_equal(accord_list_delete(t, m, 0, 1), ACCORD_ETYPE);
  assert_int_equal(accord_list_get(doc, tx, 0, &v), ACCORD_ETYPE);
  size_t len;
  assert_int_equal(accord_list_len(doc, ACCORD_ROOT, &len), ACCORD_ETYPE);
  assert_int_equal(accord_list_insert(t, nowhere, 0, &one), ACCORD_ENOTFOUND);
  assert_int_equal(accord_list_delete(t, nowhere, 0, 1), ACCORD_ENOTFOUND);
  assert_int_equal(accord_list_len(doc, nowhere, &len), ACCORD_ENOTFOUND);
  assert_int_equal(accord_list_get(doc, nowhere, 0, &v), ACCORD_ENOTFOUND);
  du_assert_json(doc, before);
  accord_change_info info;
  AOK(accord_txn_commit(t, &info));
  assert_int_equal(info.seq, 0);
  accord_free(before);

  /* deletes, including a range and an object */
  AOK(accord_txn_begin(doc, &t));
  AOK(accord_list_delete(t, l, 2, 3)); /* 2 3 4 */
  AOK(accord_list_delete(t, l, 0, 1)); /* [0] */
  AOK(accord_txn_commit(t, NULL));
  du_assert_json(doc, "{\"l\":[1,\"five\",true,null,{\"k\":\"five\"},\"txt\"]}");
  AOK(accord_txn_begin(doc, &t));
  AOK(accord_list_delete(t, l, 0, 6));
  AOK(accord_txn_commit(t, NULL));
  du_assert_json(doc, "{\"l\":[]}");
  assert_int_equal(list_len(doc, l), 0);
  assert_int_equal(accord_list_get(doc, l, 0, &v), ACCORD_ERANGE);
  AOK(accord_txn_begin(doc, &t));
  insert_int(t, l, 0, 9);
  AOK(accord_txn_commit(t, NULL));
  du_assert_json(doc, "{\"l\":[9]}");

  accord_doc *other = du_new(2);
  du_sync(other, doc);
  du_assert_same_json(doc, other);
  accord_doc_free(other);
  accord_doc_free(doc);
}

/* ---------------------------------------------------------------------------
 * Reference model: a plain array of ints (strings are stored as ints too:
 * element x is the string "s<x>" when x is odd and large).
 */
typedef struct ivec {
  int64_t *p;
  size_t n, cap;
} ivec;

static void iv_insert(ivec *v, size_t i, int64_t x) {
  if (v->n == v->cap) {
    v->cap = v->cap ? 2 * v->cap : 64;
    v->p = realloc(v->p, v->cap * sizeof *v->p);
    assert_non_null(v->p);
  }
  memmove(v->p + i + 1, v->p + i, (v->n - i) * sizeof *v->p);
  v->p[i] = x;
  v->n++;
}

static void iv_delete(ivec *v, size_t i, size_t k) {
  memmove(v->p + i, v->p + i + k, (v->n - i - k) * sizeof *v->p);
  v->n -= k;
}

static void iv_copy(ivec *dst, const ivec *src) {
  dst->n = 0;
  for (size_t i = 0; i < src->n; i++) iv_insert(dst, i, src->p[i]);
}

static int is_str_elem(int64_t x) { return x >= 1000000 && (x & 1); }

static void model_insert(accord_txn *t, accord_id l, size_t i, int64_t x) {
  if (is_str_elem(x)) {
    char s[32];
    int n = snprintf(s, sizeof s, "s%lld", (long long)x);
    accord_value v = accord_str(s, (size_t)n);
    AOK(accord_list_insert(t, l, i, &v));
  } else {
    insert_int(t, l, i, x);
  }
}

static void check_list(const accord_doc *doc, accord_id l, const ivec *m) {
  assert_int_equal(list_len(doc, l), m->n);
  for (size_t i = 0; i < m->n; i++) {
    accord_value v;
    AOK(accord_list_get(doc, l, i, &v));
    if (is_str_elem(m->p[i])) {
      char s[32];
      int n = snprintf(s, sizeof s, "s%lld", (long long)m->p[i]);
      assert_int_equal(v.type, ACCORD_STR);
      assert_int_equal(v.u.str.len, (size_t)n);
      assert_memory_equal(v.u.str.ptr, s, (size_t)n);
    } else {
      assert_int_equal(v.type, ACCORD_INT);
      assert_true(v.u.i == m->p[i]);
    }
  }
}

static void model_run(uint64_t seed, long txns) {
  test_rng r;
  rng_init(&r, seed);
  accord_doc *doc = du_new(1);
  accord_id l = du_put_object(doc, ACCORD_ROOT, "l", ACCORD_LIST);
  ivec m = {0}, saved = {0};
  int64_t next = 1000000;
  for (long it = 0; it < txns; it++) {
    iv_copy(&saved, &m);
    accord_txn *t = NULL;
    AOK(accord_txn_begin(doc, &t));
    size_t nops = 1 + rng_below(&r, 4);
    for (size_t op = 0; op < nops; op++) {
      uint64_t what = rng_below(&r, 10);
      if (what < 6 || m.n == 0) {
        /* a run of 1..4 consecutive inserts, often at the end */
        size_t i = rng_below(&r, 3) == 0 ? m.n : rng_below(&r, m.n + 1);
        size_t k = 1 + rng_below(&r, 4);
        for (size_t j = 0; j < k; j++) {
          model_insert(t, l, i + j, next);
          iv_insert(&m, i + j, next++);
        }
      } else if (what < 9) {
        size_t i = rng_below(&r, m.n);
        size_t room = m.n - i;
        size_t k = 1 + rng_below(&r, room < 6 ? room : 6);
        AOK(accord_list_delete(t, l, i, k));
        iv_delete(&m, i, k);
      } else {
        size_t i = rng_below(&r, m.n);
        accord_value v;
        AOK(accord_list_get(doc, l, i, &v));
        assert_true(v.type == (is_str_elem(m.p[i]) ? ACCORD_STR : ACCORD_INT));
      }
    }
    if (m.n > 300) { /* keep it small enough to compare often */
      AOK(accord_list_delete(t, l, 0, 100));
      iv_delete(&m, 0, 100);
    }
    if (rng_below(&r, 40) == 0) {
      accord_txn_abort(t);
      iv_copy(&m, &saved);
    } else {
      AOK(accord_txn_commit(t, NULL));
    }
    assert_int_equal(list_len(doc, l), m.n);
    if (it % 20 == 0) check_list(doc, l, &m);
    if (it % 500 == 499) {
      doc = du_reload(doc);
      check_list(doc, l, &m);
    }
  }
  check_list(doc, l, &m);
  accord_doc *other = du_new(2);
  du_sync(other, doc);
  check_list(other, l, &m);
  accord_doc_free(other);
  accord_doc_free(doc);
  free(m.p);
  free(saved.p);
}

static void reference_model(void **state) {
  (void)state;
  uint64_t seed = test_seed("list.reference_model");
  long txns = test_scale(1500);
  for (uint64_t s = 0; s < 3; s++) {
    printf("  seed %llu\n", (unsigned long long)(seed + s));
    model_run(seed + s, txns);
  }
}

/* ---------------------------------------------------------------------------
 * Concurrency.
 */
#define NREP 3

/* Reads a list of ints into v. */
static void read_ints(const accord_doc *doc, accord_id l, ivec *v) {
  v->n = 0;
  size_t n = list_len(doc, l);
  for (size_t i = 0; i < n; i++) iv_insert(v, i, get_int(doc, l, i));
}

static size_t index_of(const ivec *v, int64_t x) {
  for (size_t i = 0; i < v->n; i++)
    if (v->p[i] == x) return i;
  return SIZE_MAX;
}

static void concurrent_edits_converge(void **state) {
  (void)state;
  test_rng r;
  rng_init(&r, test_seed("list.concurrent_edits_converge"));
  long rounds = test_scale(150);
  accord_doc *docs[NREP];
  for (int i = 0; i < NREP; i++) docs[i] = du_new((uint64_t)i + 1);
  accord_id l = du_put_object(docs[0], ACCORD_ROOT, "l", ACCORD_LIST);
  accord_txn *t = NULL;
  AOK(accord_txn_begin(docs[0], &t));
  for (int j = 0; j < 20; j++) insert_int(t, l, (size_t)j, j);
  AOK(accord_txn_commit(t, NULL));
  for (int i = 1; i < NREP; i++) du_sync(docs[i], docs[0]);

  /* every value ever inserted; deleted[x] once anyone deleted it. Replica
   * i inserts 100 + i, 100 + i + NREP, ...: values are unique. */
  const int64_t MAXV = 100 + NREP * (rounds * 5 + 1);
  unsigned char *inserted = calloc((size_t)MAXV, 1);
  unsigned char *deleted = calloc((size_t)MAXV, 1);
  unsigned char *present = calloc((size_t)MAXV, 1);
  assert_true(inserted && deleted && present);
  for (int j = 0; j < 20; j++) inserted[j] = 1;
  int64_t next[NREP];
  for (int i = 0; i < NREP; i++) next[i] = 100 + i;
  ivec seen[NREP];
  memset(seen, 0, sizeof seen);

  for (long round = 0; round < rounds; round++) {
    for (int i = 0; i < NREP; i++) {
      AOK(accord_txn_begin(docs[i], &t));
      size_t nops = 1 + rng_below(&r, 5);
      for (size_t op = 0; op < nops; op++) {
        size_t n = list_len(docs[i], l);
        if (n == 0 || rng_below(&r, 3)) {
          size_t at = rng_below(&r, n + 1);
          assert_true(next[i] < MAXV);
          inserted[next[i]] = 1;
          insert_int(t, l, at, next[i]);
          next[i] += NREP;
        } else {
          size_t at = rng_below(&r, n);
          size_t k = 1 + rng_below(&r, n - at < 3 ? n - at : 3);
          for (size_t j = 0; j < k; j++) deleted[get_int(docs[i], l, at + j)] = 1;
          AOK(accord_list_delete(t, l, at, k));
        }
      }
      AOK(accord_txn_commit(t, NULL));
    }
    /* what each replica sees now, before it hears of the others */
    for (int i = 0; i < NREP; i++) read_ints(docs[i], l, &seen[i]);
    /* a few random one-way syncs */
    size_t nsync = rng_below(&r, 4);
    for (size_t s = 0; s < nsync; s++) {
      int a = (int)rng_below(&r, NREP), b = (int)rng_below(&r, NREP);
      if (a != b) du_sync(docs[b], docs[a]);
    }
    ivec after = {0};
    for (int i = 0; i < NREP; i++) {
      read_ints(docs[i], l, &after);
      /* elements this replica saw keep their relative order */
      size_t last = 0;
      int have_last = 0;
      for (size_t k = 0; k < seen[i].n; k++) {
        size_t at = index_of(&after, seen[i].p[k]);
        if (at == SIZE_MAX) continue; /* deleted by someone since */
        if (have_last) assert_true(at > last);
        last = at;
        have_last = 1;
      }
    }
    free(after.p);
  }
  du_sync_all(docs, NREP);
  ivec fin = {0};
  read_ints(docs[0], l, &fin);
  /* every value at most once; present exactly when inserted and not deleted */
  for (size_t k = 0; k < fin.n; k++) {
    int64_t x = fin.p[k];
    assert_true(x >= 0 && x < MAXV);
    assert_false(present[x]);
    present[x] = 1;
  }
  for (int64_t x = 0; x < MAXV; x++)
    if (present[x] != (inserted[x] && !deleted[x]))
      fail_msg("value %lld: present %d, inserted %d, deleted %d",
               (long long)x, present[x], inserted[x], deleted[x]);
  free(fin.p);
  free(inserted);
  free(deleted);
  free(present);
  for (int i = 0; i < NREP; i++) {
    free(seen[i].p);
    accord_doc_free(docs[i]);
  }
}

/* Runs inserted concurrently at one index stay whole (lists are Fugue
 * sequences too), typed forwards or each at the front. */
static void concurrent_runs_not_interleaved(void **state) {
  (void)state;
  for (int backwards = 0; backwards <= 1; backwards++) {
    accord_doc *a = du_new(1), *b = du_new(2);
    accord_id l = du_put_object(a, ACCORD_ROOT, "l", ACCORD_LIST);
    accord_txn *t = NULL;
    AOK(accord_txn_begin(a, &t));
    insert_int(t, l, 0, 0);
    insert_int(t, l, 1, 99);
    AOK(accord_txn_commit(t, NULL));
    du_sync(b, a);
    for (int k = 0; k < 5; k++) {
      AOK(accord_txn_begin(a, &t));
      insert_int(t, l, backwards ? 1 : 1 + (size_t)k, backwards ? 15 - k : 11 + k);
      AOK(accord_txn_commit(t, NULL));
      AOK(accord_txn_begin(b, &t));
      insert_int(t, l, backwards ? 1 : 1 + (size_t)k, backwards ? 25 - k : 21 + k);
      AOK(accord_txn_commit(t, NULL));
    }
    du_sync_both(a, b);
    du_assert_same_json(a, b);
    ivec v = {0};
    read_ints(a, l, &v);
    assert_int_equal(v.n, 12);
    assert_int_equal(v.p[0], 0);
    assert_int_equal(v.p[11], 99);
    /* 11..15 and 21..25, each run whole and in order */
    int64_t first = v.p[1] < 20 ? 11 : 21, second = first == 11 ? 21 : 11;
    for (int k = 0; k < 5; k++) {
      assert_int_equal(v.p[1 + k], first + k);
      assert_int_equal(v.p[6 + k], second + k);
    }
    free(v.p);
    accord_doc_free(a);
    accord_doc_free(b);
  }
}

TEST_MAIN(cmocka_unit_test(scalars_and_objects),
          cmocka_unit_test(reference_model),
          cmocka_unit_test(concurrent_edits_converge),
          cmocka_unit_test(concurrent_runs_not_interleaved))
