/*
 * test_badinput.c — hostile bytes and failing allocations.
 *
 * Inputs from outside (batches for accord_doc_import, saved documents for
 * accord_doc_load, version vectors for accord_doc_changes_since) are cut at
 * every length, have bits flipped (every bit of small inputs, many random
 * ones of larger inputs), get bytes appended, or are replaced by random
 * bytes. Every refusal must be a negative error that leaves the target
 * document exactly as it was (JSON and version vector); a flipped input that
 * still decodes may be accepted, but must leave a usable document. Run under
 * ASan/UBSan, which turn any out-of-bounds read into a failure.
 *
 * Fault injection: mem_fail_after(k) fails the k-th allocation of one call,
 * for every k until the call no longer allocates that many times. Each call
 * returns 0 or ACCORD_ENOMEM, a failed import or commit leaves the document
 * unchanged and usable, and nothing leaks (LeakSanitizer).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "docutil.h"
#include "mem.h"

/* ---------------------------------------------------------------------------
 * Fixtures: a source replica with a bit of everything, its batch and saved
 * bytes, and a target replica with content of its own.
 */
typedef struct fixture {
  accord_doc *src, *target;
  uint8_t *batch, *saved, *target_saved, *one; /* one: a one-change batch */
  size_t batch_len, saved_len, target_saved_len, one_len;
  char *target_json;
  uint8_t *target_vv;
  size_t target_vv_len;
} fixture;

static void txn_do(accord_doc *doc, void (*fn)(accord_txn *, accord_doc *)) {
  accord_txn *t = NULL;
  AOK(accord_txn_begin(doc, &t));
  fn(t, doc);
  AOK(accord_txn_commit(t, NULL));
}

static void fill_src(accord_txn *t, accord_doc *doc) {
  (void)doc;
  accord_id m, l, tx;
  accord_value v = accord_str("caf\xc3\xa9", 5), c = accord_counter(3);
  accord_value b = accord_bytes("\0\1\2", 3), d = accord_double(2.5);
  AOK(accord_map_put_object(t, ACCORD_ROOT, "map", ACCORD_MAP, &m));
  AOK(accord_map_put_object(t, ACCORD_ROOT, "list", ACCORD_LIST, &l));
  AOK(accord_map_put_object(t, ACCORD_ROOT, "text", ACCORD_TEXT, &tx));
  AOK(accord_map_put(t, m, "s", &v));
  AOK(accord_map_put(t, m, "c", &c));
  AOK(accord_map_put(t, m, "b", &b));
  AOK(accord_list_insert(t, l, 0, &d));
  AOK(accord_list_insert_object(t, l, 1, ACCORD_MAP, NULL));
  AOK(accord_text_splice(t, tx, 0, 0, "h\xc3\xa9llo \xf0\x9f\x98\x80", 11));
  AOK(accord_txn_set_message(t, "first", 5));
}

static void edit_src(accord_txn *t, accord_doc *doc) {
  accord_value v;
  AOK(accord_map_get(doc, ACCORD_ROOT, "text", &v));
  AOK(accord_text_splice(t, v.u.obj, 2, 2, "XY\xe6\x97\xa5", 5));
  AOK(accord_map_get(doc, ACCORD_ROOT, "map", &v));
  AOK(accord_map_increment(t, v.u.obj, "c", -7));
  AOK(accord_map_delete(t, v.u.obj, "b"));
  AOK(accord_map_get(doc, ACCORD_ROOT, "list", &v));
  AOK(accord_list_delete(t, v.u.obj, 0, 1));
}

static void edit_src_again(accord_txn *t, accord_doc *doc) {
  accord_value v, x = accord_timestamp(1700000000000LL);
  AOK(accord_map_get(doc, ACCORD_ROOT, "text", &v));
  AOK(accord_text_splice(t, v.u.obj, 0, 1, "", 0));
  AOK(accord_map_get(doc, ACCORD_ROOT, "map", &v));
  AOK(accord_map_increment(t, v.u.obj, "c", 100));
  AOK(accord_map_put(t, v.u.obj, "when", &x));
}

static void fill_target(accord_txn *t, accord_doc *doc) {
  (void)doc;
  accord_value v = accord_int(-5);
  accord_id tx;
  AOK(accord_map_put(t, ACCORD_ROOT, "mine", &v));
  AOK(accord_map_put_object(t, ACCORD_ROOT, "notes", ACCORD_TEXT, &tx));
  AOK(accord_text_splice(t, tx, 0, 0, "target", 6));
}

static void one_edit(accord_txn *t, accord_doc *doc) {
  (void)doc;
  accord_value v = accord_str("x", 1);
  AOK(accord_map_put(t, ACCORD_ROOT, "k", &v));
}

static void fixture_init(fixture *f) {
  memset(f, 0, sizeof *f);
  f->src = du_new(1);
  accord_doc *helper = du_new(2);
  txn_do(f->src, fill_src);
  du_sync(helper, f->src);
  txn_do(helper, edit_src); /* a second author */
  du_sync(f->src, helper);
  txn_do(f->src, edit_src_again);
  accord_doc_free(helper);
  AOK(accord_doc_changes_since(f->src, NULL, 0, &f->batch, &f->batch_len));
  AOK(accord_doc_save(f->src, &f->saved, &f->saved_len));

  f->target = du_new(3);
  txn_do(f->target, fill_target);
  AOK(accord_doc_save(f->target, &f->target_saved, &f->target_saved_len));
  f->target_json = test_json(f->target);
  f->target_vv = du_version(f->target, &f->target_vv_len);

  /* a batch holding exactly one small change */
  size_t vlen;
  uint8_t *vv = du_version(f->src, &vlen);
  txn_do(f->src, one_edit);
  AOK(accord_doc_changes_since(f->src, vv, vlen, &f->one, &f->one_len));
  accord_free(vv);
}

static void fixture_free(fixture *f) {
  accord_doc_free(f->src);
  accord_doc_free(f->target);
  accord_free(f->batch);
  accord_free(f->saved);
  accord_free(f->target_saved);
  accord_free(f->one);
  accord_free(f->target_json);
  accord_free(f->target_vv);
}

/* Asserts the target is exactly as the fixture made it. */
static void assert_target_unchanged(const fixture *f, const char *what) {
  char *j = test_json(f->target);
  size_t vlen = 0;
  uint8_t *vv = du_version(f->target, &vlen);
  int same = !strcmp(j, f->target_json) && vlen == f->target_vv_len &&
             !memcmp(vv, f->target_vv, vlen);
  if (!same) print_error("after %s the target changed:\n  %s\n", what, j);
  accord_free(j);
  accord_free(vv);
  assert_true(same);
}

/* Replaces the target with a fresh load of its saved bytes. */
static void reset_target(fixture *f) {
  accord_doc_free(f->target);
  f->target = NULL;
  uint8_t actor[8];
  test_actor(actor, 3);
  AOK(accord_doc_load(f->target_saved, f->target_saved_len, actor,
                      &f->target));
}

/* An exact-size heap copy, so that ASan sees reads past the end. */
static uint8_t *copy_of(const uint8_t *p, size_t n) {
  uint8_t *q = malloc(n ? n : 1);
  assert_non_null(q);
  if (n) memcpy(q, p, n);
  return q;
}

/* Imports bytes into the target. On error: nothing changed. On success
 * (a mutation that still decodes): the document still works; the target is
 * then reset. Returns 1 if accepted. */
static int try_import(fixture *f, const uint8_t *p, size_t n,
                      const char *what) {
  uint8_t *q = copy_of(p, n);
  accord_import_stats st;
  int rc = accord_doc_import(f->target, q, n, &st);
  free(q);
  if (rc > 0) fail_msg("%s: import returned positive %d", what, rc);
  if (rc < 0) {
    assert_non_null(accord_strerror(rc));
    assert_string_not_equal(accord_strerror(rc), "unknown error");
    assert_target_unchanged(f, what);
    return 0;
  }
  /* accepted: the document must be coherent */
  char *j = test_json(f->target);
  accord_free(j);
  uint8_t *bytes = NULL;
  size_t len = 0;
  AOK(accord_doc_save(f->target, &bytes, &len));
  accord_doc *d = NULL;
  AOK(accord_doc_load(bytes, len, NULL, &d));
  du_assert_same_json(d, f->target);
  accord_doc_free(d);
  accord_free(bytes);
  reset_target(f);
  return 1;
}

/* Loads bytes. On error *out stays NULL; on success the document works. */
static int try_load(const uint8_t *p, size_t n, const char *what) {
  uint8_t *q = copy_of(p, n);
  accord_doc *d = (accord_doc *)q; /* must be overwritten */
  int rc = accord_doc_load(q, n, NULL, &d);
  free(q);
  if (rc > 0) fail_msg("%s: load returned positive %d", what, rc);
  if (rc < 0) {
    if (d != NULL) fail_msg("%s: load failed but *out is not NULL", what);
    return 0;
  }
  assert_non_null(d);
  char *j = test_json(d);
  accord_free(j);
  uint8_t *bytes = NULL;
  size_t len = 0;
  AOK(accord_doc_save(d, &bytes, &len));
  accord_free(bytes);
  accord_doc_free(d);
  return 1;
}

/* ---------------------------------------------------------------------------
 * Hostile bytes.
 */
static void truncated_batches(void **state) {
  (void)state;
  fixture f;
  fixture_init(&f);
  const uint8_t *inputs[] = {f.batch, f.one};
  size_t lens[] = {f.batch_len, f.one_len};
  for (int k = 0; k < 2; k++)
    for (size_t cut = 0; cut < lens[k]; cut++) {
      char what[64];
      snprintf(what, sizeof what, "batch %d cut at %zu of %zu", k, cut,
               lens[k]);
      if (try_import(&f, inputs[k], cut, what))
        fail_msg("%s was accepted", what);
    }
  /* the whole batch still imports */
  accord_import_stats st;
  AOK(accord_doc_import(f.target, f.batch, f.batch_len, &st));
  assert_true(st.applied > 0);
  fixture_free(&f);
}

static void truncated_saves(void **state) {
  (void)state;
  fixture f;
  fixture_init(&f);
  for (size_t cut = 0; cut < f.saved_len; cut++) {
    char what[64];
    snprintf(what, sizeof what, "save cut at %zu of %zu", cut, f.saved_len);
    if (try_load(f.saved, cut, what)) fail_msg("%s was accepted", what);
  }
  assert_int_equal(try_load(f.saved, f.saved_len, "whole save"), 1);
  fixture_free(&f);
}

static void trailing_bytes_refused(void **state) {
  (void)state;
  fixture f;
  fixture_init(&f);
  static const uint8_t tails[][2] = {{0x00, 0}, {0xc0, 0}, {0x90, 0},
                                     {0xff, 0xff}};
  for (size_t k = 0; k < 4; k++) {
    size_t tl = k == 3 ? 2 : 1;
    uint8_t *p = malloc(f.batch_len + tl);
    assert_non_null(p);
    memcpy(p, f.batch, f.batch_len);
    memcpy(p + f.batch_len, tails[k], tl);
    if (try_import(&f, p, f.batch_len + tl, "batch with trailing bytes"))
      fail_msg("batch + %zu trailing byte(s) %02x was accepted", tl,
               tails[k][0]);
    free(p);
    p = malloc(f.saved_len + tl);
    assert_non_null(p);
    memcpy(p, f.saved, f.saved_len);
    memcpy(p + f.saved_len, tails[k], tl);
    if (try_load(p, f.saved_len + tl, "save with trailing bytes"))
      fail_msg("save + %zu trailing byte(s) %02x was accepted", tl,
               tails[k][0]);
    free(p);
  }
  fixture_free(&f);
}

/* Flips every bit of small inputs and test_scale(1500) random bits of
 * larger ones. */
static void bit_flips(void **state) {
  (void)state;
  fixture f;
  fixture_init(&f);
  test_rng r;
  rng_init(&r, test_seed("badinput.bit_flips"));
  const uint8_t *inputs[] = {f.one, f.batch, f.saved};
  size_t lens[] = {f.one_len, f.batch_len, f.saved_len};
  const char *names[] = {"one-change batch", "batch", "save"};
  for (int k = 0; k < 3; k++) {
    size_t bits = lens[k] * 8, accepted = 0, tries = 0;
    int every = bits <= 4096;
    long n = every ? (long)bits : test_scale(1500);
    uint8_t *p = copy_of(inputs[k], lens[k]);
    for (long it = 0; it < n; it++) {
      size_t bit = every ? (size_t)it : rng_below(&r, bits);
      p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
      char what[96];
      snprintf(what, sizeof what, "%s with bit %zu flipped", names[k], bit);
      accepted += k == 2 ? try_load(p, lens[k], what)
                         : try_import(&f, p, lens[k], what);
      tries++;
      p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    printf("  %s (%zu bytes): %zu of %zu bit flips still decoded\n", names[k],
           lens[k], accepted, tries);
    free(p);
  }
  fixture_free(&f);
}

static void random_bytes(void **state) {
  (void)state;
  fixture f;
  fixture_init(&f);
  test_rng r;
  rng_init(&r, test_seed("badinput.random_bytes"));
  long n = test_scale(3000);
  uint8_t buf[512];
  size_t prefix_accepted = 0;
  for (long it = 0; it < n; it++) {
    size_t len = rng_below(&r, sizeof buf);
    for (size_t j = 0; j < len; j++) buf[j] = (uint8_t)rng_next(&r);
    if (try_import(&f, buf, len, "random bytes"))
      fail_msg("random bytes (%zu) accepted as a batch", len);
    if (try_load(buf, len, "random bytes"))
      fail_msg("random bytes (%zu) accepted as a saved document", len);
    /* a valid beginning followed by noise reaches deeper decoding paths */
    const uint8_t *src = it & 1 ? f.batch : f.saved;
    size_t slen = it & 1 ? f.batch_len : f.saved_len;
    size_t cut = rng_below(&r, slen);
    size_t tail = rng_below(&r, 64);
    uint8_t *p = malloc(cut + tail + 1);
    assert_non_null(p);
    memcpy(p, src, cut);
    for (size_t j = 0; j < tail; j++) p[cut + j] = (uint8_t)rng_next(&r);
    if (it & 1)
      prefix_accepted += try_import(&f, p, cut + tail, "prefix + noise");
    else
      prefix_accepted += try_load(p, cut + tail, "prefix + noise");
    free(p);
  }
  printf("  %zu of %ld valid-prefix-plus-noise inputs decoded\n",
         prefix_accepted, n);
  fixture_free(&f);
}

static void hostile_version_vectors(void **state) {
  (void)state;
  fixture f;
  fixture_init(&f);
  size_t vlen = 0, blen = 0;
  uint8_t *vv = du_version(f.src, &vlen), *out = NULL;
  assert_true(vlen > 1);
  /* zero bytes: "everything" or malformed (the header's "NULL/0" allows
   * either reading), never a crash */
  out = NULL;
  int rc0 = accord_doc_changes_since(f.src, vv, 0, &out, &blen);
  assert_true(rc0 == 0 || rc0 == ACCORD_EMALFORMED);
  accord_free(out);
  for (size_t cut = 1; cut < vlen; cut++) {
    uint8_t *p = copy_of(vv, cut);
    out = (uint8_t *)p;
    int rc = accord_doc_changes_since(f.src, p, cut, &out, &blen);
    free(p);
    if (rc == 0) {
      accord_free(out);
      fail_msg("version vector cut at %zu of %zu accepted", cut, vlen);
    }
    assert_true(rc < 0);
  }
  test_rng r;
  rng_init(&r, test_seed("badinput.hostile_version_vectors"));
  for (long it = 0; it < test_scale(2000); it++) {
    uint8_t buf[64];
    size_t len = 1 + rng_below(&r, sizeof buf);
    for (size_t j = 0; j < len; j++) buf[j] = (uint8_t)rng_next(&r);
    if (it % 2) { /* flip a bit of the real one */
      len = vlen < sizeof buf ? vlen : sizeof buf;
      memcpy(buf, vv, len);
      size_t bit = rng_below(&r, len * 8);
      buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    uint8_t *p = copy_of(buf, len);
    out = NULL;
    int rc = accord_doc_changes_since(f.src, p, len, &out, &blen);
    free(p);
    assert_true(rc <= 0);
    if (rc == 0) {
      /* whatever it answered must be importable */
      accord_doc *d = du_new(9);
      accord_import_stats st;
      AOK(accord_doc_import(d, out, blen, &st));
      accord_doc_free(d);
      accord_free(out);
    }
  }
  accord_free(vv);
  fixture_free(&f);
}

/* ---------------------------------------------------------------------------
 * Fault injection.
 */
typedef struct step {
  const char *name;
  /* runs the call with injection armed; returns its result */
  int (*run)(fixture *f);
  /* checks the state after a failed run (injection off) */
  void (*after_fail)(fixture *f);
} step;

static int run_new(fixture *f) {
  (void)f;
  accord_doc *d = (accord_doc *)f;
  int rc = accord_doc_new(du_doc_id, NULL, &d);
  if (rc == 0) accord_doc_free(d);
  else if (d != NULL) fail_msg("doc_new failed but *out is not NULL");
  return rc;
}

static int run_save(fixture *f) {
  uint8_t *out = NULL;
  size_t len;
  int rc = accord_doc_save(f->src, &out, &len);
  accord_free(out);
  return rc;
}

static int run_load(fixture *f) {
  accord_doc *d = (accord_doc *)f;
  int rc = accord_doc_load(f->saved, f->saved_len, NULL, &d);
  if (rc == 0) accord_doc_free(d);
  else if (d != NULL) fail_msg("load failed but *out is not NULL");
  return rc;
}

static int run_import(fixture *f) {
  accord_import_stats st;
  return accord_doc_import(f->target, f->batch, f->batch_len, &st);
}

static int run_changes_since(fixture *f) {
  uint8_t *out = NULL;
  size_t len;
  int rc = accord_doc_changes_since(f->src, f->target_vv, f->target_vv_len,
                                    &out, &len);
  accord_free(out);
  return rc;
}

static int run_reads(fixture *f) {
  char *s = NULL;
  uint8_t *vv = NULL;
  size_t len;
  int rc = accord_doc_json(f->src, &s, &len);
  accord_free(s);
  if (rc) return rc;
  rc = accord_doc_version(f->src, &vv, &len);
  accord_free(vv);
  if (rc) return rc;
  accord_value v;
  if ((rc = accord_map_get(f->src, ACCORD_ROOT, "text", &v))) return rc;
  s = NULL;
  rc = accord_text_read(f->src, v.u.obj, &s, &len);
  accord_free(s);
  return rc;
}

/* A transaction with an operation of every kind, then commit. An operation
 * that fails leaves the transaction usable: the test goes on with the
 * next. */
static int run_commit(fixture *f) {
  accord_txn *t = NULL;
  int rc = accord_txn_begin(f->target, &t), worst = 0;
  if (rc) return rc;
  accord_value v = accord_str("a string value", 14), tv;
  accord_id l = {0, {0}};
  int ops[6];
  ops[0] = accord_map_put(t, ACCORD_ROOT, "new key", &v);
  ops[1] = accord_map_put_object(t, ACCORD_ROOT, "list", ACCORD_LIST, &l);
  ops[2] = ops[1] ? 0 : accord_list_insert(t, l, 0, &v);
  ops[3] = accord_map_get(f->target, ACCORD_ROOT, "notes", &tv);
  ops[4] = ops[3] ? ops[3]
                  : accord_text_splice(t, tv.u.obj, 3, 1, "\xf0\x9f\x98\x80", 4);
  ops[5] = accord_txn_set_message(t, "msg", 3);
  for (int k = 0; k < 6; k++) {
    if (ops[k] != 0 && ops[k] != ACCORD_ENOMEM)
      fail_msg("operation %d returned %s", k, accord_err_name(ops[k]));
    if (ops[k]) worst = ops[k];
  }
  rc = accord_txn_commit(t, NULL);
  return rc ? rc : worst;
}

static void after_fail_target(fixture *f) {
  assert_target_unchanged(f, "a failed call");
}

/* After a failed import, the same import succeeds: the document is not
 * poisoned by the failure. */
static void after_fail_import(fixture *f) {
  after_fail_target(f);
  accord_import_stats st;
  AOK(accord_doc_import(f->target, f->batch, f->batch_len, &st));
  assert_true(st.applied > 0);
}

/* After a failed commit (or operation), the document is usable. */
static void after_fail_commit(fixture *f) {
  accord_txn *t = NULL;
  AOK(accord_txn_begin(f->target, &t));
  accord_txn_abort(t);
  char *j = test_json(f->target);
  accord_free(j);
}

static void fault_sweep(const step *s) {
  fixture f;
  fixture_init(&f);
  long k, clean = 0, failures = 0;
  for (k = 1; clean < 3 && k < 100000; k++) {
    reset_target(&f);
    mem_fail_after(k);
    int rc = s->run(&f);
    mem_fail_after(0);
    if (rc != 0 && rc != ACCORD_ENOMEM)
      fail_msg("%s with allocation %ld failing: %s", s->name, k,
               accord_err_name(rc));
    if (rc == ACCORD_ENOMEM) {
      failures++;
      clean = 0;
      if (s->after_fail) s->after_fail(&f);
    } else {
      clean++;
    }
  }
  printf("  %s: %ld allocation points failed cleanly\n", s->name, failures);
  assert_true(failures > 0); /* the sweep did reach the allocator */
  fixture_free(&f);
}

static const step steps[] = {
    {"doc_new", run_new, NULL},
    {"save", run_save, NULL},
    {"load", run_load, NULL},
    {"import", run_import, after_fail_import},
    {"changes_since", run_changes_since, NULL},
    {"reads", run_reads, NULL},
    {"commit", run_commit, after_fail_commit},
};

static void fault_doc_new(void **state) {
  (void)state;
  fault_sweep(&steps[0]);
}
static void fault_save(void **state) {
  (void)state;
  fault_sweep(&steps[1]);
}
static void fault_load(void **state) {
  (void)state;
  fault_sweep(&steps[2]);
}
static void fault_import(void **state) {
  (void)state;
  fault_sweep(&steps[3]);
}
static void fault_changes_since(void **state) {
  (void)state;
  fault_sweep(&steps[4]);
}
static void fault_reads(void **state) {
  (void)state;
  fault_sweep(&steps[5]);
}
static void fault_txn(void **state) {
  (void)state;
  fault_sweep(&steps[6]);
}

/* A commit that fails aborts its transaction: the document is as before. */
static void failed_commit_aborts(void **state) {
  (void)state;
  fixture f;
  fixture_init(&f);
  long seen = 0;
  for (long k = 1; k < 100000; k++) {
    reset_target(&f);
    accord_txn *t = NULL;
    AOK(accord_txn_begin(f.target, &t));
    accord_value v = accord_int(1);
    AOK(accord_map_put(t, ACCORD_ROOT, "k", &v));
    AOK(accord_map_put_object(t, ACCORD_ROOT, "obj", ACCORD_MAP, NULL));
    mem_fail_after(k);
    int rc = accord_txn_commit(t, NULL);
    mem_fail_after(0);
    if (rc == 0) break;
    assert_int_equal(rc, ACCORD_ENOMEM);
    seen++;
    assert_target_unchanged(&f, "a failed commit");
    /* and the next transaction works */
    AOK(accord_txn_begin(f.target, &t));
    AOK(accord_map_put(t, ACCORD_ROOT, "k", &v));
    AOK(accord_txn_commit(t, NULL));
  }
  printf("  commit: %ld allocation points failed cleanly\n", seen);
  fixture_free(&f);
}

/* The header's rule: "An operation that fails changes nothing and the
 * transaction stays usable" — also when it fails for lack of memory. */
static void failed_op_keeps_txn_usable(void **state) {
  (void)state;
  fixture f;
  fixture_init(&f);
  long seen = 0;
  for (long k = 1; k < 100000; k++) {
    reset_target(&f);
    accord_txn *t = NULL;
    AOK(accord_txn_begin(f.target, &t));
    accord_value v = accord_str("a string value", 14), got;
    accord_id l;
    AOK(accord_map_put_object(t, ACCORD_ROOT, "list", ACCORD_LIST, &l));
    char *before = test_json(f.target);
    mem_fail_after(k);
    int rc = accord_list_insert(t, l, 0, &v);
    mem_fail_after(0);
    if (rc == 0) {
      accord_free(before);
      accord_txn_abort(t);
      break;
    }
    assert_int_equal(rc, ACCORD_ENOMEM);
    seen++;
    du_assert_json(f.target, before); /* nothing changed */
    accord_free(before);
    /* the transaction goes on */
    AOK(accord_list_insert(t, l, 0, &v));
    AOK(accord_map_put(t, ACCORD_ROOT, "after", &v));
    AOK(accord_txn_commit(t, NULL));
    AOK(accord_list_get(f.target, l, 0, &got));
    assert_int_equal(got.type, ACCORD_STR);
    size_t n = 0;
    AOK(accord_list_len(f.target, l, &n));
    assert_int_equal(n, 1);
  }
  printf("  list_insert: %ld allocation points failed cleanly\n", seen);
  assert_true(seen > 0);
  fixture_free(&f);
}

/* A splice or list delete is one call even when it makes several ops (one
 * RMV per run it deletes from, then the insert): when any of them fails
 * for lack of memory, none stays, and the transaction goes on. Each k is
 * a fresh document, so the buffers grow while the call runs. */
static void sweep_multi_op_call(int text) {
  static const char ins[] =
      "a longer insert, so that the content and op buffers grow while the "
      "call runs: \xe2\x82\xac\xe2\x82\xac\xe2\x82\xac and more text "
      "after the deleted runs";
  long seen = 0;
  for (long k = 1; k < 100000; k++) {
    accord_doc *d = du_new(1);
    accord_txn *t = NULL;
    accord_id o;
    AOK(accord_txn_begin(d, &t));
    AOK(accord_map_put_object(t, ACCORD_ROOT, "o",
                              text ? ACCORD_TEXT : ACCORD_LIST, &o));
    if (text) { /* runs abc, XYZ, def */
      AOK(accord_text_splice(t, o, 0, 0, "abcdef", 6));
      AOK(accord_text_splice(t, o, 3, 0, "XYZ", 3));
    } else {
      accord_value v[6];
      for (int i = 0; i < 6; i++) v[i] = accord_int(i);
      AOK(accord_list_insert_values(t, o, 0, v, 6));
      AOK(accord_list_insert_values(t, o, 3, v, 3));
    }
    AOK(accord_txn_commit(t, NULL));
    AOK(accord_txn_begin(d, &t));
    char *before = test_json(d);
    mem_fail_after(k);
    int rc = text ? accord_text_splice(t, o, 1, 7, ins, strlen(ins))
                  : accord_list_delete(t, o, 1, 7);
    mem_fail_after(0);
    if (rc == 0) {
      accord_free(before);
      accord_txn_abort(t);
      accord_doc_free(d);
      break;
    }
    assert_int_equal(rc, ACCORD_ENOMEM);
    seen++;
    du_assert_json(d, before); /* no op of the call stayed */
    accord_free(before);
    /* the transaction goes on, and holds only what succeeds now */
    if (text) {
      AOK(accord_text_splice(t, o, 1, 7, "-", 1));
    } else {
      AOK(accord_list_delete(t, o, 1, 7));
    }
    AOK(accord_txn_commit(t, NULL));
    size_t n = 0;
    if (text) {
      du_assert_text(d, o, "a-f");
    } else {
      AOK(accord_list_len(d, o, &n));
      assert_int_equal(n, 2);
    }
    accord_doc *back = du_new(2); /* a replica from the history */
    du_sync(back, d);
    du_assert_same_json(back, d);
    accord_doc_free(back);
    accord_doc_free(d);
  }
  printf("  %s: %ld allocation points failed cleanly\n",
         text ? "text_splice" : "list_delete", seen);
  assert_true(seen > 0);
}

static void failed_splice_changes_nothing(void **state) {
  (void)state;
  sweep_multi_op_call(1);
}

static void failed_list_delete_changes_nothing(void **state) {
  (void)state;
  sweep_multi_op_call(0);
}

/* An abort whose rebuild runs out of memory either restores the document
 * or leaves it refusing work with an error; it never crashes or leaks. */
static void abort_under_pressure(void **state) {
  (void)state;
  fixture f;
  fixture_init(&f);
  for (long k = 1; k < 5000; k++) {
    reset_target(&f);
    accord_txn *t = NULL;
    AOK(accord_txn_begin(f.target, &t));
    accord_value v = accord_int(1);
    AOK(accord_map_put(t, ACCORD_ROOT, "mine", &v));
    AOK(accord_map_put_object(t, ACCORD_ROOT, "obj", ACCORD_LIST, NULL));
    mem_fail_after(k);
    accord_txn_abort(t);
    mem_fail_after(0);
    char *j = NULL;
    size_t len;
    int rc = accord_doc_json(f.target, &j, &len);
    if (rc == 0) {
      if (strcmp(j, f.target_json) != 0)
        fail_msg("abort with allocation %ld failing left %s", k, j);
      accord_free(j);
    } else {
      assert_true(rc < 0);
      assert_null(j);
    }
  }
  fixture_free(&f);
}

TEST_MAIN(cmocka_unit_test(truncated_batches),
          cmocka_unit_test(truncated_saves),
          cmocka_unit_test(trailing_bytes_refused),
          cmocka_unit_test(bit_flips), cmocka_unit_test(random_bytes),
          cmocka_unit_test(hostile_version_vectors),
          cmocka_unit_test(fault_doc_new), cmocka_unit_test(fault_save),
          cmocka_unit_test(fault_load), cmocka_unit_test(fault_import),
          cmocka_unit_test(fault_changes_since),
          cmocka_unit_test(fault_reads), cmocka_unit_test(fault_txn),
          cmocka_unit_test(failed_commit_aborts),
          cmocka_unit_test(failed_splice_changes_nothing),
          cmocka_unit_test(failed_list_delete_changes_nothing),
          cmocka_unit_test(failed_op_keeps_txn_usable),
          cmocka_unit_test(abort_under_pressure))
