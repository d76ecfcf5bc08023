/*
 * test_idx.c — the B+tree id index (core/idx.h) against a sorted array.
 *
 *   - random puts, removes and rekeys (a key moved to a value with no other
 *     key in between, as sequences do when a tombstone grows) on a few
 *     thousand keys, so the tree is three levels deep; after every step a
 *     floor search for every key, and for the values just below and above
 *     it, agrees with the model;
 *   - mostly ascending puts (the rightmost-leaf path) mixed with removes
 *     of the largest keys, puts below, emptying, and a bulk build;
 *   - rekeying every key of a full tree (each a leaf's first key or not)
 *     downwards and back up keeps every floor search right: separators
 *     follow their keys;
 *   - setting the value of every present key changes exactly that value;
 *     an absent key changes nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "idx.h"

typedef struct model {
  uint64_t *k;
  uintptr_t *v;
  size_t n, cap;
} model;

/* Position of the first key >= key. */
static size_t lower(const model *m, uint64_t key) {
  size_t lo = 0, hi = m->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (m->k[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

static void model_put(model *m, uint64_t key, uintptr_t v) {
  size_t i = lower(m, key);
  if (i < m->n && m->k[i] == key) {
    m->v[i] = v;
    return;
  }
  if (m->n == m->cap) {
    m->cap = m->cap ? 2 * m->cap : 64;
    m->k = realloc(m->k, m->cap * sizeof *m->k);
    m->v = realloc(m->v, m->cap * sizeof *m->v);
    assert_non_null(m->k);
    assert_non_null(m->v);
  }
  memmove(m->k + i + 1, m->k + i, (m->n - i) * sizeof *m->k);
  memmove(m->v + i + 1, m->v + i, (m->n - i) * sizeof *m->v);
  m->k[i] = key;
  m->v[i] = v;
  m->n++;
}

static void model_remove_at(model *m, size_t i) {
  memmove(m->k + i, m->k + i + 1, (m->n - i - 1) * sizeof *m->k);
  memmove(m->v + i, m->v + i + 1, (m->n - i - 1) * sizeof *m->v);
  m->n--;
}

/* The model's floor of key: value and key, or 0 if none. */
static uintptr_t model_floor(const model *m, uint64_t key, uint64_t *found) {
  size_t i = lower(m, key);
  if (i < m->n && m->k[i] == key) {
    *found = key;
    return m->v[i];
  }
  if (i == 0) return 0;
  *found = m->k[i - 1];
  return m->v[i - 1];
}

static void check_floor(const idx *x, const model *m, uint64_t key) {
  uint64_t want_key = 0, got_key = 0;
  uintptr_t want = model_floor(m, key, &want_key);
  void *got = idx_floor(x, key, &got_key);
  assert_int_equal((uintptr_t)got, want);
  if (want) assert_int_equal(got_key, want_key);
}

static void check_all(const idx *x, const model *m) {
  for (size_t i = 0; i < m->n; i++) {
    check_floor(x, m, m->k[i]);
    check_floor(x, m, m->k[i] + 1);
    if (m->k[i] > 0) check_floor(x, m, m->k[i] - 1);
  }
  check_floor(x, m, 0);
  check_floor(x, m, UINT64_MAX);
}

static void rekey_random(void **state) {
  (void)state;
  uint64_t seed = test_seed("rekey_random");
  test_rng rng;
  rng_init(&rng, seed);
  idx x;
  memset(&x, 0, sizeof x);
  model m = {0};
  long steps = test_scale(6000);
  size_t rekeys = 0;
  for (long s = 0; s < steps; s++) {
    uint64_t r = rng_below(&rng, 10);
    if (r < 6 || m.n < 2) { /* put: keys spaced so rekeys have room */
      uint64_t key = 1 + rng_below(&rng, 1u << 20) * 4;
      uintptr_t v = (uintptr_t)(s + 1);
      assert_int_equal(idx_put(&x, key, (void *)v), 0);
      model_put(&m, key, v);
    } else if (r < 7) {
      size_t i = rng_below(&rng, m.n);
      idx_remove(&x, m.k[i]);
      model_remove_at(&m, i);
    } else { /* rekey into the gap before or after the key */
      size_t i = rng_below(&rng, m.n);
      uint64_t lo = i > 0 ? m.k[i - 1] + 1 : 0;
      uint64_t hi = i + 1 < m.n ? m.k[i + 1] - 1 : m.k[i] + 100;
      uint64_t nk = lo + rng_below(&rng, hi - lo + 1);
      if (nk == m.k[i]) continue;
      idx_rekey(&x, m.k[i], nk);
      m.k[i] = nk;
      rekeys++;
    }
    if (s % 500 == 0 || s == steps - 1) check_all(&x, &m);
  }
  assert_true(x.height >= 2); /* separators on two levels were exercised */
  assert_true(rekeys > 0);
  idx_free(&x);
  free(m.k);
  free(m.v);
}

static void rekey_every_key(void **state) {
  (void)state;
  idx x;
  memset(&x, 0, sizeof x);
  model m = {0};
  const size_t n = 5000;
  for (size_t i = 0; i < n; i++) {
    uint64_t key = 10 + 10 * (uint64_t)i;
    assert_int_equal(idx_put(&x, key, (void *)(uintptr_t)(i + 1)), 0);
    model_put(&m, key, i + 1);
  }
  assert_true(x.height >= 2);
  for (size_t i = 0; i < n; i++) { /* down by 9: just above the previous */
    idx_rekey(&x, m.k[i], m.k[i] - 9);
    m.k[i] -= 9;
  }
  check_all(&x, &m);
  for (size_t i = n; i-- > 0;) { /* up by 18, from the right */
    idx_rekey(&x, m.k[i], m.k[i] + 18);
    m.k[i] += 18;
  }
  check_all(&x, &m);
  idx_free(&x);
  free(m.k);
  free(m.v);
}

/* Mostly ascending puts (new runs of the local actor: the rightmost-leaf
 * path) mixed with removes of the largest keys (which free the rightmost
 * leaf), rekeys, puts below, a bulk build and a map emptied and refilled. */
static void ascending_puts(void **state) {
  (void)state;
  uint64_t seed = test_seed("ascending_puts");
  test_rng rng;
  rng_init(&rng, seed);
  idx x;
  memset(&x, 0, sizeof x);
  model m = {0};
  uint64_t next = 1000;
  long steps = test_scale(20000);
  for (long s = 0; s < steps; s++) {
    uint64_t r = rng_below(&rng, 100);
    if (r < 70 || m.n == 0) {
      next += 1 + rng_below(&rng, 3);
      assert_int_equal(idx_put(&x, next, (void *)(uintptr_t)(s + 1)), 0);
      model_put(&m, next, (uintptr_t)(s + 1));
    } else if (r < 85) { /* remove a run of the largest keys */
      size_t k = 1 + rng_below(&rng, 60);
      while (k-- && m.n) {
        idx_remove(&x, m.k[m.n - 1]);
        m.n--;
      }
    } else if (r < 95) { /* a put somewhere below */
      uint64_t key = rng_below(&rng, next + 1);
      assert_int_equal(idx_put(&x, key, (void *)(uintptr_t)(s + 1)), 0);
      model_put(&m, key, (uintptr_t)(s + 1));
    } else if (r < 99) {
      size_t i = rng_below(&rng, m.n);
      idx_remove(&x, m.k[i]);
      model_remove_at(&m, i);
    } else if (m.n > 0) { /* empty it: the tree is freed down to nothing */
      while (m.n) {
        idx_remove(&x, m.k[m.n - 1]);
        m.n--;
      }
      assert_null(x.root);
    }
    if (s % 1000 == 0) check_all(&x, &m);
  }
  check_all(&x, &m);
  /* rebuilt in bulk, then appended to */
  idx_free(&x);
  memset(&x, 0, sizeof x);
  void **vals = malloc((m.n + 1) * sizeof *vals);
  assert_non_null(vals);
  for (size_t i = 0; i < m.n; i++) vals[i] = (void *)m.v[i];
  assert_int_equal(idx_build(&x, m.k, vals, m.n), 0);
  free(vals);
  for (int i = 0; i < 500; i++) {
    next += 2;
    assert_int_equal(idx_put(&x, next, (void *)(uintptr_t)(i + 7)), 0);
    model_put(&m, next, (uintptr_t)(i + 7));
  }
  check_all(&x, &m);
  idx_free(&x);
  free(m.k);
  free(m.v);
}

/* idx_set changes the value of every present key (in a tree three levels
 * deep, so leaf first keys and separators are among them) and nothing for
 * an absent key. */
static void set_values(void **state) {
  (void)state;
  test_rng rng;
  rng_init(&rng, test_seed("set_values"));
  idx x;
  memset(&x, 0, sizeof x);
  model m = {0};
  long n = test_scale(6000);
  for (long s = 0; s < n; s++) {
    uint64_t key = 2 + rng_below(&rng, 1u << 20) * 4;
    assert_int_equal(idx_put(&x, key, (void *)(uintptr_t)(s + 1)), 0);
    model_put(&m, key, (uintptr_t)(s + 1));
  }
  assert_true(x.height >= 2);
  for (size_t i = 0; i < m.n; i++) {
    uintptr_t v = (uintptr_t)(1000000 + i);
    assert_int_equal(idx_set(&x, m.k[i], (void *)v), 1);
    m.v[i] = v;
    /* absent keys: just below and above (keys are 4 apart), and 0 */
    assert_int_equal(idx_set(&x, m.k[i] - 1, (void *)1), 0);
    assert_int_equal(idx_set(&x, m.k[i] + 1, (void *)1), 0);
  }
  assert_int_equal(idx_set(&x, 0, (void *)1), 0);
  check_all(&x, &m);
  idx_free(&x);
  idx empty;
  memset(&empty, 0, sizeof empty);
  assert_int_equal(idx_set(&empty, 5, (void *)1), 0);
  free(m.k);
  free(m.v);
}

TEST_MAIN(cmocka_unit_test(rekey_random), cmocka_unit_test(rekey_every_key),
          cmocka_unit_test(ascending_puts), cmocka_unit_test(set_values))
