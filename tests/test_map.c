/*
 * test_map.c — maps, counters and transactions through the public API.
 *
 *   - every scalar type written and read back (int64 extremes, bytes with
 *     NUL bytes, ...), and the document's JSON for them;
 *   - counters; nested maps, lists and text inside maps and lists; delete;
 *     an object replaced by a scalar; map_size and bytewise key order;
 *   - concurrent sets on two replicas: the same winner everywhere, both
 *     values listed by accord_map_conflicts with their op ids, winner first,
 *     and a later set that saw both resolves the conflict; concurrent
 *     increments all count; a delete only removes values it saw;
 *   - a reference model: thousands of random operations on two maps against
 *     a plain key -> value table, with aborts and reloads;
 *   - error codes (ETYPE, ENOTFOUND, EUTF8, ETOOBIG, ERANGE, EBUSY) and
 *     transaction rules: an aborted transaction leaves the document exactly
 *     as it was.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "docutil.h"

static void assert_value_eq(const accord_value *got, const accord_value *want) {
  assert_int_equal(got->type, want->type);
  switch (want->type) {
    case ACCORD_NULL: break;
    case ACCORD_BOOL: assert_int_equal(!!got->u.boolean, !!want->u.boolean); break;
    case ACCORD_INT:
    case ACCORD_TIMESTAMP:
    case ACCORD_COUNTER: assert_true(got->u.i == want->u.i); break;
    case ACCORD_DOUBLE:
      assert_memory_equal(&got->u.d, &want->u.d, sizeof(double));
      break;
    case ACCORD_STR:
    case ACCORD_BYTES:
      assert_int_equal(got->u.str.len, want->u.str.len);
      if (want->u.str.len)
        assert_memory_equal(got->u.str.ptr, want->u.str.ptr, want->u.str.len);
      break;
    default: assert_true(du_id_eq(got->u.obj, want->u.obj)); break;
  }
}

static void put(accord_doc *doc, accord_id obj, const char *key,
                accord_value v) {
  accord_txn *t = NULL;
  AOK(accord_txn_begin(doc, &t));
  AOK(accord_map_put(t, obj, key, &v));
  AOK(accord_txn_commit(t, NULL));
}

static accord_value get(const accord_doc *doc, accord_id obj,
                        const char *key) {
  accord_value v;
  AOK(accord_map_get(doc, obj, key, &v));
  return v;
}

/* ---------------------------------------------------------------------------
 * Single replica.
 */
static void scalars_round_trip(void **state) {
  (void)state;
  accord_doc *doc = du_new(1);
  static const char bytes[] = {0, 'a', 0, (char)0xff, 0};
  static const char text[] = "h\xc3\xa9llo \xe6\x97\xa5\xf0\x9f\x98\x80";
  const accord_value vals[] = {
      accord_null(),
      accord_bool(1),
      accord_bool(0),
      accord_int(0),
      accord_int(-1),
      accord_int(INT64_MIN),
      accord_int(INT64_MAX),
      accord_int(4294967296LL),
      accord_double(1.5),
      accord_double(-0.0),
      accord_double(1e308),
      accord_double(5e-324),
      accord_double(-123456.789),
      accord_str(text, sizeof text - 1),
      accord_str("", 0),
      accord_bytes(bytes, sizeof bytes),
      accord_bytes("", 0),
      accord_timestamp(0),
      accord_timestamp(-86400000),
      accord_timestamp(1700000000123LL),
      accord_timestamp(INT64_MAX),
      accord_counter(0),
      accord_counter(INT64_MIN),
  };
  size_t nv = sizeof vals / sizeof *vals;
  char key[16];
  accord_txn *t = NULL;
  AOK(accord_txn_begin(doc, &t));
  for (size_t j = 0; j < nv; j++) {
    snprintf(key, sizeof key, "k%02zu", j);
    AOK(accord_map_put(t, ACCORD_ROOT, key, &vals[j]));
    accord_value v = get(doc, ACCORD_ROOT, key); /* visible in the txn */
    assert_value_eq(&v, &vals[j]);
  }
  AOK(accord_txn_commit(t, NULL));
  for (size_t j = 0; j < nv; j++) {
    snprintf(key, sizeof key, "k%02zu", j);
    accord_value v = get(doc, ACCORD_ROOT, key);
    assert_value_eq(&v, &vals[j]);
  }
  /* the same after a reload and on a replica that imported the history */
  doc = du_reload(doc);
  accord_doc *other = du_new(2);
  du_sync(other, doc);
  for (size_t j = 0; j < nv; j++) {
    snprintf(key, sizeof key, "k%02zu", j);
    accord_value v = get(doc, ACCORD_ROOT, key);
    assert_value_eq(&v, &vals[j]);
    v = get(other, ACCORD_ROOT, key);
    assert_value_eq(&v, &vals[j]);
  }
  size_t n = 0;
  AOK(accord_map_size(doc, ACCORD_ROOT, &n));
  assert_int_equal(n, nv);
  accord_doc_free(other);
  accord_doc_free(doc);
}

static void json_of_scalars(void **state) {
  (void)state;
  accord_doc *doc = du_new(1);
  accord_txn *t = NULL;
  AOK(accord_txn_begin(doc, &t));
  const struct {
    const char *key;
    accord_value v;
  } kv[] = {
      {"ts", accord_timestamp(1700000000000LL)},
      {"t", accord_bool(1)},
      {"s", accord_str("x\"y", 3)},
      {"nl", accord_str("a\nb", 3)},
      {"n", accord_null()},
      {"max", accord_int(INT64_MAX)},
      {"i", accord_int(INT64_MIN)},
      {"f", accord_bool(0)},
      {"counter", accord_counter(41)},
      {"bytes", accord_bytes("\0a\0", 3)},
  };
  for (size_t j = 0; j < sizeof kv / sizeof *kv; j++)
    AOK(accord_map_put(t, ACCORD_ROOT, kv[j].key, &kv[j].v));
  AOK(accord_map_increment(t, ACCORD_ROOT, "counter", 1));
  AOK(accord_txn_commit(t, NULL));
  du_assert_json(doc,
                 "{\"bytes\":\"AGEA\",\"counter\":42,\"f\":false,"
                 "\"i\":-9223372036854775808,\"max\":9223372036854775807,"
                 "\"n\":null,\"nl\":\"a\\nb\",\"s\":\"x\\\"y\",\"t\":true,"
                 "\"ts\":1700000000000}");
  accord_doc_free(doc);
}

static void counters(void **state) {
  (void)state;
  accord_doc *doc = du_new(1);
  accord_txn *t = NULL;
  AOK(accord_txn_begin(doc, &t));
  accord_value c = accord_counter(5);
  AOK(accord_map_put(t, ACCORD_ROOT, "c", &c));
  AOK(accord_map_increment(t, ACCORD_ROOT, "c", 3));
  accord_value v = get(doc, ACCORD_ROOT, "c");
  assert_int_equal(v.type, ACCORD_COUNTER);
  assert_int_equal(v.u.i, 8);
  AOK(accord_txn_commit(t, NULL));
  AOK(accord_txn_begin(doc, &t));
  AOK(accord_map_increment(t, ACCORD_ROOT, "c", -10));
  AOK(accord_map_increment(t, ACCORD_ROOT, "c", 0));
  AOK(accord_txn_commit(t, NULL));
  v = get(doc, ACCORD_ROOT, "c");
  assert_int_equal(v.type, ACCORD_COUNTER);
  assert_int_equal(v.u.i, -2);
  du_assert_json(doc, "{\"c\":-2}");
  doc = du_reload(doc);
  AOK(accord_txn_begin(doc, &t));
  AOK(accord_map_increment(t, ACCORD_ROOT, "c", 1000));
  AOK(accord_txn_commit(t, NULL));
  v = get(doc, ACCORD_ROOT, "c");
  assert_int_equal(v.u.i, 998);

  /* increments need a counter */
  put(doc, ACCORD_ROOT, "i", accord_int(1));
  AOK(accord_txn_begin(doc, &t));
  assert_int_equal(accord_map_increment(t, ACCORD_ROOT, "i", 1), ACCORD_ETYPE);
  assert_int_equal(accord_map_increment(t, ACCORD_ROOT, "nope", 1),
                   ACCORD_ENOTFOUND);
  accord_txn_abort(t);
  v = get(doc, ACCORD_ROOT, "i");
  assert_int_equal(v.type, ACCORD_INT);
  assert_int_equal(v.u.i, 1);

  /* a counter replaced by a plain value is no longer a counter, and back */
  put(doc, ACCORD_ROOT, "c", accord_str("s", 1));
  AOK(accord_txn_begin(doc, &t));
  assert_int_equal(accord_map_increment(t, ACCORD_ROOT, "c", 1), ACCORD_ETYPE);
  c = accord_counter(7);
  AOK(accord_map_put(t, ACCORD_ROOT, "c", &c));
  AOK(accord_map_increment(t, ACCORD_ROOT, "c", 1));
  AOK(accord_txn_commit(t, NULL));
  v = get(doc, ACCORD_ROOT, "c");
  assert_int_equal(v.type, ACCORD_COUNTER);
  assert_int_equal(v.u.i, 8);
  accord_doc_free(doc);
}

static void nested_objects(void **state) {
  (void)state;
  accord_doc *doc = du_new(1);
  accord_txn *t = NULL;
  accord_id m, l, tx, inner, lm, lt, ll;
  AOK(accord_txn_begin(doc, &t));
  AOK(accord_map_put_object(t, ACCORD_ROOT, "m", ACCORD_MAP, &m));
  AOK(accord_map_put_object(t, ACCORD_ROOT, "l", ACCORD_LIST, &l));
  AOK(accord_map_put_object(t, ACCORD_ROOT, "t", ACCORD_TEXT, &tx));
  AOK(accord_map_put_object(t, m, "inner", ACCORD_LIST, &inner));
  AOK(accord_list_insert_object(t, l, 0, ACCORD_MAP, &lm));
  AOK(accord_list_insert_object(t, l, 1, ACCORD_TEXT, &lt));
  AOK(accord_list_insert_object(t, l, 2, ACCORD_LIST, &ll));
  accord_value one = accord_int(1), two = accord_int(2);
  AOK(accord_map_put(t, lm, "k", &one));
  AOK(accord_text_splice(t, lt, 0, 0, "txt", 3));
  AOK(accord_list_insert(t, ll, 0, &two));
  AOK(accord_text_splice(t, tx, 0, 0, "hi", 2));
  AOK(accord_map_put_object(t, m, "deeper", ACCORD_MAP, NULL));
  AOK(accord_txn_commit(t, NULL));

  static const char want[] =
      "{\"l\":[{\"k\":1},\"txt\",[2]],\"m\":{\"deeper\":{},\"inner\":[]},"
      "\"t\":\"hi\"}";
  du_assert_json(doc, want);

  /* object ids come back from reads and name the same objects */
  accord_type ty;
  AOK(accord_obj_type(doc, ACCORD_ROOT, &ty));
  assert_int_equal(ty, ACCORD_MAP);
  accord_value v = get(doc, ACCORD_ROOT, "m");
  assert_int_equal(v.type, ACCORD_MAP);
  assert_true(du_id_eq(v.u.obj, m));
  v = get(doc, ACCORD_ROOT, "l");
  assert_int_equal(v.type, ACCORD_LIST);
  assert_true(du_id_eq(v.u.obj, l));
  v = get(doc, ACCORD_ROOT, "t");
  assert_int_equal(v.type, ACCORD_TEXT);
  assert_true(du_id_eq(v.u.obj, tx));
  v = get(doc, m, "inner");
  assert_true(du_id_eq(v.u.obj, inner));
  AOK(accord_list_get(doc, l, 0, &v));
  assert_int_equal(v.type, ACCORD_MAP);
  assert_true(du_id_eq(v.u.obj, lm));
  AOK(accord_list_get(doc, l, 1, &v));
  assert_int_equal(v.type, ACCORD_TEXT);
  assert_true(du_id_eq(v.u.obj, lt));
  AOK(accord_obj_type(doc, ll, &ty));
  assert_int_equal(ty, ACCORD_LIST);
  AOK(accord_obj_type(doc, lt, &ty));
  assert_int_equal(ty, ACCORD_TEXT);

  /* ids are (counter, our actor) and distinct */
  const uint8_t *me = accord_doc_actor(doc);
  accord_id ids[] = {m, l, tx, inner, lm, lt, ll};
  for (size_t a = 0; a < 7; a++) {
    assert_memory_equal(ids[a].actor, me, ACCORD_ACTOR_BYTES);
    assert_true(ids[a].counter > 0);
    for (size_t b = a + 1; b < 7; b++) assert_false(du_id_eq(ids[a], ids[b]));
  }

  accord_doc *other = du_new(2);
  du_sync(other, doc);
  du_assert_json(other, want);
  doc = du_reload(doc);
  du_assert_json(doc, want);
  accord_doc_free(other);
  accord_doc_free(doc);
}

static void delete_and_replace(void **state) {
  (void)state;
  accord_doc *doc = du_new(1);
  put(doc, ACCORD_ROOT, "a", accord_int(1));
  put(doc, ACCORD_ROOT, "b", accord_int(2));
  accord_txn *t = NULL;
  AOK(accord_txn_begin(doc, &t));
  AOK(accord_map_delete(t, ACCORD_ROOT, "a"));
  assert_int_equal(accord_map_delete(t, ACCORD_ROOT, "a"), ACCORD_ENOTFOUND);
  assert_int_equal(accord_map_delete(t, ACCORD_ROOT, "zz"), ACCORD_ENOTFOUND);
  AOK(accord_txn_commit(t, NULL));
  accord_value v;
  assert_int_equal(accord_map_get(doc, ACCORD_ROOT, "a", &v), ACCORD_ENOTFOUND);
  size_t n = 0;
  AOK(accord_map_size(doc, ACCORD_ROOT, &n));
  assert_int_equal(n, 1);
  AOK(accord_map_conflicts(doc, ACCORD_ROOT, "a", NULL, 0, &n));
  assert_int_equal(n, 0);
  du_assert_json(doc, "{\"b\":2}");

  /* an object replaced by a scalar, and a scalar by an object */
  accord_id m = du_put_object(doc, ACCORD_ROOT, "x", ACCORD_MAP);
  put(doc, m, "inside", accord_int(5));
  du_assert_json(doc, "{\"b\":2,\"x\":{\"inside\":5}}");
  put(doc, ACCORD_ROOT, "x", accord_int(7));
  v = get(doc, ACCORD_ROOT, "x");
  assert_int_equal(v.type, ACCORD_INT);
  assert_int_equal(v.u.i, 7);
  du_assert_json(doc, "{\"b\":2,\"x\":7}");
  accord_id l = du_put_object(doc, ACCORD_ROOT, "b", ACCORD_LIST);
  v = get(doc, ACCORD_ROOT, "b");
  assert_int_equal(v.type, ACCORD_LIST);
  assert_true(du_id_eq(v.u.obj, l));
  du_assert_json(doc, "{\"b\":[],\"x\":7}");

  /* deleting a key that holds an object */
  AOK(accord_txn_begin(doc, &t));
  AOK(accord_map_delete(t, ACCORD_ROOT, "b"));
  AOK(accord_txn_commit(t, NULL));
  du_assert_json(doc, "{\"x\":7}");
  /* a set after a delete brings the key back */
  put(doc, ACCORD_ROOT, "a", accord_str("back", 4));
  du_assert_json(doc, "{\"a\":\"back\",\"x\":7}");

  accord_doc *other = du_new(2);
  du_sync(other, doc);
  du_assert_same_json(doc, other);
  accord_doc_free(other);
  accord_doc_free(doc);
}

static int cmp_bytes(const void *a, const void *b) {
  const char *x = *(const char *const *)a, *y = *(const char *const *)b;
  return strcmp(x, y); /* strcmp compares as unsigned char */
}

static void size_and_key_order(void **state) {
  (void)state;
  const char *keys[] = {"b",      "a",        "ab",   "B",
                        "\xc3\xa9", "~",      "a\x7f", "\xe6\x97\xa5",
                        "aa",     "0",        " ",    "\xf0\x9f\x98\x80",
                        "zz",     "a b"};
  size_t nk = sizeof keys / sizeof *keys;
  accord_doc *doc = du_new(1);
  accord_txn *t = NULL;
  AOK(accord_txn_begin(doc, &t));
  for (size_t j = 0; j < nk; j++) {
    accord_value v = accord_int((int64_t)j);
    AOK(accord_map_put(t, ACCORD_ROOT, keys[j], &v));
    size_t n = 0;
    AOK(accord_map_size(doc, ACCORD_ROOT, &n));
    assert_int_equal(n, j + 1);
  }
  AOK(accord_txn_commit(t, NULL));
  const char *sorted[32];
  memcpy(sorted, keys, sizeof keys);
  qsort(sorted, nk, sizeof *sorted, cmp_bytes);
  for (size_t j = 0; j < nk; j++) {
    const char *k = NULL;
    size_t len = 0;
    AOK(accord_map_key(doc, ACCORD_ROOT, j, &k, &len));
    assert_int_equal(len, strlen(sorted[j]));
    assert_string_equal(k, sorted[j]); /* NUL-terminated */
  }
  const char *k = NULL;
  size_t len;
  assert_int_equal(accord_map_key(doc, ACCORD_ROOT, nk, &k, &len),
                   ACCORD_ERANGE);
  assert_int_equal(accord_map_key(doc, ACCORD_ROOT, SIZE_MAX, &k, &len),
                   ACCORD_ERANGE);
  /* deleted keys leave the order */
  AOK(accord_txn_begin(doc, &t));
  AOK(accord_map_delete(t, ACCORD_ROOT, "ab"));
  AOK(accord_map_delete(t, ACCORD_ROOT, sorted[0]));
  AOK(accord_txn_commit(t, NULL));
  size_t n = 0;
  AOK(accord_map_size(doc, ACCORD_ROOT, &n));
  assert_int_equal(n, nk - 2);
  size_t j = 0;
  for (size_t s = 0; s < nk; s++) {
    if (s == 0 || !strcmp(sorted[s], "ab")) continue;
    AOK(accord_map_key(doc, ACCORD_ROOT, j++, &k, &len));
    assert_string_equal(k, sorted[s]);
  }
  assert_int_equal(accord_map_key(doc, ACCORD_ROOT, j, &k, &len),
                   ACCORD_ERANGE);
  accord_doc_free(doc);
}

/* ---------------------------------------------------------------------------
 * Two replicas.
 */
static void concurrent_sets_conflict(void **state) {
  (void)state;
  accord_doc *a = du_new(1), *b = du_new(2);
  put(a, ACCORD_ROOT, "base", accord_int(0));
  du_sync(b, a);
  put(a, ACCORD_ROOT, "k", accord_int(1));
  put(b, ACCORD_ROOT, "k", accord_str("two", 3));
  du_sync_both(a, b);
  du_assert_same_json(a, b);

  accord_value va = get(a, ACCORD_ROOT, "k"), vb = get(b, ACCORD_ROOT, "k");
  assert_int_equal(va.type, vb.type);
  accord_conflict ca[4], cb[4];
  size_t na = 0, nb = 0;
  AOK(accord_map_conflicts(a, ACCORD_ROOT, "k", ca, 4, &na));
  AOK(accord_map_conflicts(b, ACCORD_ROOT, "k", cb, 4, &nb));
  assert_int_equal(na, 2);
  assert_int_equal(nb, 2);
  for (size_t j = 0; j < 2; j++) {
    assert_true(du_id_eq(ca[j].op, cb[j].op));
    assert_value_eq(&ca[j].value, &cb[j].value);
  }
  /* winner first: the get value, the higher op id */
  assert_value_eq(&ca[0].value, &va);
  assert_true(du_id_cmp(ca[0].op, ca[1].op) > 0);
  /* both sets came after the same history, so their counters tie and the
   * actor decides: actor 2 wins */
  assert_true(ca[0].op.counter == ca[1].op.counter);
  uint8_t act1[8], act2[8];
  test_actor(act1, 1);
  test_actor(act2, 2);
  assert_memory_equal(ca[0].op.actor, act2, 8);
  assert_memory_equal(ca[1].op.actor, act1, 8);
  assert_int_equal(ca[0].value.type, ACCORD_STR);
  assert_int_equal(ca[0].value.u.str.len, 3);
  assert_memory_equal(ca[0].value.u.str.ptr, "two", 3);
  assert_int_equal(ca[1].value.type, ACCORD_INT);
  assert_int_equal(ca[1].value.u.i, 1);
  du_assert_json(a, "{\"base\":0,\"k\":\"two\"}");

  /* a short buffer still reports the total */
  accord_conflict one;
  size_t n = 0;
  AOK(accord_map_conflicts(a, ACCORD_ROOT, "k", &one, 1, &n));
  assert_int_equal(n, 2);
  assert_true(du_id_eq(one.op, ca[0].op));
  AOK(accord_map_conflicts(a, ACCORD_ROOT, "k", NULL, 0, &n));
  assert_int_equal(n, 2);
  /* keys without a conflict have one value */
  AOK(accord_map_conflicts(a, ACCORD_ROOT, "base", ca, 4, &n));
  assert_int_equal(n, 1);

  /* a set that has seen both resolves the conflict */
  put(a, ACCORD_ROOT, "k", accord_int(3));
  du_sync_both(a, b);
  AOK(accord_map_conflicts(a, ACCORD_ROOT, "k", ca, 4, &na));
  AOK(accord_map_conflicts(b, ACCORD_ROOT, "k", cb, 4, &nb));
  assert_int_equal(na, 1);
  assert_int_equal(nb, 1);
  assert_int_equal(ca[0].value.u.i, 3);
  assert_true(du_id_eq(ca[0].op, cb[0].op));
  assert_memory_equal(ca[0].op.actor, act1, 8);
  du_assert_json(b, "{\"base\":0,\"k\":3}");
  accord_doc_free(a);
  accord_doc_free(b);
}

/* The later counter wins whatever the actor order. */
static void conflict_winner_is_highest_op(void **state) {
  (void)state;
  accord_doc *a = du_new(1), *b = du_new(2);
  /* a makes more operations first, so its next counter is higher */
  for (int j = 0; j < 5; j++) put(a, ACCORD_ROOT, "x", accord_int(j));
  put(a, ACCORD_ROOT, "k", accord_str("from a", 6));
  put(b, ACCORD_ROOT, "k", accord_str("from b", 6));
  du_sync_both(a, b);
  accord_conflict c[2];
  size_t n = 0;
  AOK(accord_map_conflicts(b, ACCORD_ROOT, "k", c, 2, &n));
  assert_int_equal(n, 2);
  assert_true(c[0].op.counter > c[1].op.counter);
  assert_memory_equal(c[0].value.u.str.ptr, "from a", 6);
  accord_value v = get(b, ACCORD_ROOT, "k");
  assert_memory_equal(v.u.str.ptr, "from a", 6);
  du_assert_same_json(a, b);
  accord_doc_free(a);
  accord_doc_free(b);
}

static void concurrent_objects_and_deletes(void **state) {
  (void)state;
  accord_doc *a = du_new(1), *b = du_new(2), *c = du_new(3);
  put(a, ACCORD_ROOT, "k", accord_int(0));
  du_sync(b, a);
  du_sync(c, a);
  /* a deletes k; b sets k concurrently: b's value survives */
  accord_txn *t = NULL;
  AOK(accord_txn_begin(a, &t));
  AOK(accord_map_delete(t, ACCORD_ROOT, "k"));
  AOK(accord_txn_commit(t, NULL));
  put(b, ACCORD_ROOT, "k", accord_int(2));
  /* c and a put different objects at "o" concurrently */
  accord_id ma = du_put_object(a, ACCORD_ROOT, "o", ACCORD_MAP);
  accord_id lc = du_put_object(c, ACCORD_ROOT, "o", ACCORD_LIST);
  put(a, ma, "in a", accord_int(1));
  accord_txn *tc = NULL;
  accord_value one = accord_int(1);
  AOK(accord_txn_begin(c, &tc));
  AOK(accord_list_insert(tc, lc, 0, &one));
  AOK(accord_txn_commit(tc, NULL));
  accord_doc *docs[] = {a, b, c};
  du_sync_all(docs, 3);
  accord_value v = get(a, ACCORD_ROOT, "k");
  assert_int_equal(v.type, ACCORD_INT);
  assert_int_equal(v.u.i, 2);
  size_t n = 0;
  AOK(accord_map_conflicts(a, ACCORD_ROOT, "k", NULL, 0, &n));
  assert_int_equal(n, 1);
  accord_conflict cf[2];
  AOK(accord_map_conflicts(b, ACCORD_ROOT, "o", cf, 2, &n));
  assert_int_equal(n, 2);
  assert_true(du_id_cmp(cf[0].op, cf[1].op) > 0);
  /* an object value's op id is the object's id */
  for (size_t j = 0; j < 2; j++) {
    assert_true(cf[j].value.type == ACCORD_MAP ||
                cf[j].value.type == ACCORD_LIST);
    assert_true(du_id_eq(cf[j].op, cf[j].value.u.obj));
    assert_true(du_id_eq(cf[j].op, cf[j].value.type == ACCORD_MAP ? ma : lc));
  }
  /* the losing object still exists and can be read through its id */
  accord_type ty;
  AOK(accord_obj_type(b, ma, &ty));
  assert_int_equal(ty, ACCORD_MAP);
  AOK(accord_obj_type(b, lc, &ty));
  assert_int_equal(ty, ACCORD_LIST);
  accord_doc_free(a);
  accord_doc_free(b);
  accord_doc_free(c);
}

static void concurrent_increments(void **state) {
  (void)state;
  accord_doc *a = du_new(1), *b = du_new(2), *c = du_new(3);
  put(a, ACCORD_ROOT, "n", accord_counter(10));
  du_sync(b, a);
  du_sync(c, a);
  accord_txn *t = NULL;
  for (int j = 0; j < 3; j++) {
    AOK(accord_txn_begin(a, &t));
    AOK(accord_map_increment(t, ACCORD_ROOT, "n", 5));
    AOK(accord_txn_commit(t, NULL));
  }
  AOK(accord_txn_begin(b, &t));
  AOK(accord_map_increment(t, ACCORD_ROOT, "n", 7));
  AOK(accord_map_increment(t, ACCORD_ROOT, "n", -1));
  AOK(accord_txn_commit(t, NULL));
  AOK(accord_txn_begin(c, &t));
  AOK(accord_map_increment(t, ACCORD_ROOT, "n", -100));
  AOK(accord_txn_commit(t, NULL));
  accord_doc *docs[] = {a, b, c};
  du_sync_all(docs, 3);
  for (int j = 0; j < 3; j++) {
    accord_value v = get(docs[j], ACCORD_ROOT, "n");
    assert_int_equal(v.type, ACCORD_COUNTER);
    assert_int_equal(v.u.i, 10 + 15 + 6 - 100);
  }
  du_assert_json(a, "{\"n\":-69}");
  accord_doc_free(a);
  accord_doc_free(b);
  accord_doc_free(c);
}

/* ---------------------------------------------------------------------------
 * Reference model.
 */
#define NKEYS 12
static const char *const model_keys[NKEYS] = {
    "a", "b", "c", "key", "k\xc3\xa9y", "\xe6\x97\xa5\xe6\x9c\xac",
    "x", "y", "a longer key with spaces", "Z", "_", "a\x7f"};

typedef struct mval {
  int present;
  accord_type type;
  int b;
  int64_t i;
  double d;
  char *s; /* STR, BYTES: malloc'd */
  size_t len;
} mval;

typedef struct model {
  mval v[2][NKEYS];
} model;

static void mval_clear(mval *m) {
  free(m->s);
  memset(m, 0, sizeof *m);
}

static void model_copy(model *dst, const model *src) {
  for (int o = 0; o < 2; o++)
    for (int k = 0; k < NKEYS; k++) {
      mval_clear(&dst->v[o][k]);
      dst->v[o][k] = src->v[o][k];
      if (src->v[o][k].s) {
        dst->v[o][k].s = malloc(src->v[o][k].len + 1);
        assert_non_null(dst->v[o][k].s);
        memcpy(dst->v[o][k].s, src->v[o][k].s, src->v[o][k].len + 1);
      }
    }
}

static void model_free(model *m) {
  for (int o = 0; o < 2; o++)
    for (int k = 0; k < NKEYS; k++) mval_clear(&m->v[o][k]);
}

static const char *const model_strings[] = {
    "", "x", "hello", "caf\xc3\xa9", "\xf0\x9f\x98\x80\xe6\x97\xa5",
    "a somewhat longer string value"};

/* A random scalar (or counter) value, and the model's copy of it. */
static accord_value random_scalar(test_rng *r, mval *m, char *scratch) {
  mval_clear(m);
  m->present = 1;
  accord_value v;
  switch (rng_below(r, 8)) {
    case 0: v = accord_null(); break;
    case 1: v = accord_bool((int)rng_below(r, 2)); m->b = v.u.boolean; break;
    case 2: v = accord_int((int64_t)rng_next(r)); m->i = v.u.i; break;
    case 3: {
      double d = (double)(int64_t)rng_below(r, 2000000) / 7.0 - 1000.0;
      v = accord_double(d);
      m->d = d;
      break;
    }
    case 4: {
      const char *s = model_strings[rng_below(r, 6)];
      v = accord_str(s, strlen(s));
      m->len = v.u.str.len;
      break;
    }
    case 5: {
      size_t n = rng_below(r, 9);
      for (size_t j = 0; j < n; j++)
        scratch[j] = rng_below(r, 3) ? 0 : (char)rng_next(r);
      v = accord_bytes(scratch, n);
      m->len = n;
      break;
    }
    case 6: v = accord_timestamp((int64_t)rng_below(r, 1ull << 42)); m->i = v.u.i; break;
    default:
      v = accord_counter((int64_t)rng_below(r, 2000) - 1000);
      m->i = v.u.i;
      break;
  }
  m->type = v.type;
  if (v.type == ACCORD_STR || v.type == ACCORD_BYTES) {
    m->s = malloc(m->len + 1);
    assert_non_null(m->s);
    memcpy(m->s, v.u.str.ptr, m->len);
    m->s[m->len] = 0;
  }
  return v;
}

static void check_key(const accord_doc *doc, accord_id obj, int k,
                      const mval *m) {
  accord_value v;
  int rc = accord_map_get(doc, obj, model_keys[k], &v);
  size_t n = 99;
  AOK(accord_map_conflicts(doc, obj, model_keys[k], NULL, 0, &n));
  if (!m->present) {
    assert_int_equal(rc, ACCORD_ENOTFOUND);
    assert_int_equal(n, 0);
    return;
  }
  AOK(rc);
  assert_int_equal(n, 1);
  assert_int_equal(v.type, m->type);
  switch (m->type) {
    case ACCORD_BOOL: assert_int_equal(!!v.u.boolean, m->b); break;
    case ACCORD_INT:
    case ACCORD_TIMESTAMP:
    case ACCORD_COUNTER: assert_true(v.u.i == m->i); break;
    case ACCORD_DOUBLE: assert_memory_equal(&v.u.d, &m->d, sizeof m->d); break;
    case ACCORD_STR:
    case ACCORD_BYTES:
      assert_int_equal(v.u.str.len, m->len);
      if (m->len) assert_memory_equal(v.u.str.ptr, m->s, m->len);
      break;
    default: break;
  }
}

static void check_model(const accord_doc *doc, const accord_id *objs,
                        const model *m) {
  for (int o = 0; o < 2; o++) {
    size_t live = 0, n = 0;
    for (int k = 0; k < NKEYS; k++) {
      check_key(doc, objs[o], k, &m->v[o][k]);
      live += m->v[o][k].present;
    }
    AOK(accord_map_size(doc, objs[o], &n));
    assert_int_equal(n, live);
    /* the keys, in bytewise order, are exactly the present ones */
    const char *prev = NULL;
    for (size_t j = 0; j < n; j++) {
      const char *key = NULL;
      size_t len = 0;
      AOK(accord_map_key(doc, objs[o], j, &key, &len));
      int k = 0;
      while (k < NKEYS && strcmp(model_keys[k], key) != 0) k++;
      assert_true(k < NKEYS);
      assert_true(m->v[o][k].present);
      if (prev) assert_true(strcmp(prev, key) < 0);
      prev = model_keys[k];
    }
  }
}

static void model_run(uint64_t seed, long txns) {
  test_rng r;
  rng_init(&r, seed);
  accord_doc *doc = du_new(1);
  accord_id objs[2];
  objs[0] = du_put_object(doc, ACCORD_ROOT, "m1", ACCORD_MAP);
  objs[1] = du_put_object(doc, ACCORD_ROOT, "m2", ACCORD_MAP);
  model m, saved;
  memset(&m, 0, sizeof m);
  memset(&saved, 0, sizeof saved);
  char scratch[16];
  for (long it = 0; it < txns; it++) {
    model_copy(&saved, &m);
    accord_txn *t = NULL;
    AOK(accord_txn_begin(doc, &t));
    size_t nops = 1 + rng_below(&r, 4);
    for (size_t op = 0; op < nops; op++) {
      int o = (int)rng_below(&r, 2), k = (int)rng_below(&r, NKEYS);
      accord_id obj = objs[o];
      const char *key = model_keys[k];
      mval *mv = &m.v[o][k];
      uint64_t what = rng_below(&r, 100);
      if (what < 40) {
        accord_value v = random_scalar(&r, mv, scratch);
        AOK(accord_map_put(t, obj, key, &v));
      } else if (what < 55) {
        int64_t delta = (int64_t)rng_below(&r, 200) - 100;
        int rc = accord_map_increment(t, obj, key, delta);
        if (!mv->present) {
          assert_int_equal(rc, ACCORD_ENOTFOUND);
        } else if (mv->type != ACCORD_COUNTER) {
          assert_int_equal(rc, ACCORD_ETYPE);
        } else {
          AOK(rc);
          mv->i += delta;
        }
      } else if (what < 72) {
        int rc = accord_map_delete(t, obj, key);
        if (mv->present) {
          AOK(rc);
          mval_clear(mv);
        } else {
          assert_int_equal(rc, ACCORD_ENOTFOUND);
        }
      } else if (what < 82) {
        static const accord_type kinds[] = {ACCORD_MAP, ACCORD_LIST,
                                            ACCORD_TEXT};
        accord_type ty = kinds[rng_below(&r, 3)];
        accord_id id;
        AOK(accord_map_put_object(t, obj, key, ty, &id));
        mval_clear(mv);
        mv->present = 1;
        mv->type = ty;
        accord_type got;
        AOK(accord_obj_type(doc, id, &got));
        assert_int_equal(got, ty);
      } else {
        check_key(doc, obj, k, mv);
      }
    }
    if (rng_below(&r, 30) == 0) {
      accord_txn_abort(t);
      model_copy(&m, &saved);
    } else {
      AOK(accord_txn_commit(t, NULL));
    }
    if (it % 25 == 0) check_model(doc, objs, &m);
    if (it % 600 == 599) {
      doc = du_reload(doc);
      check_model(doc, objs, &m);
    }
  }
  check_model(doc, objs, &m);
  accord_doc *other = du_new(2);
  du_sync(other, doc);
  check_model(other, objs, &m);
  du_assert_same_json(doc, other);
  accord_doc_free(other);
  accord_doc_free(doc);
  model_free(&m);
  model_free(&saved);
}

static void reference_model(void **state) {
  (void)state;
  uint64_t seed = test_seed("map.reference_model");
  long txns = test_scale(1500);
  for (uint64_t s = 0; s < 3; s++) {
    printf("  seed %llu\n", (unsigned long long)(seed + s));
    model_run(seed + s, txns);
  }
}

/* ---------------------------------------------------------------------------
 * Errors and transactions.
 */
static void error_codes(void **state) {
  (void)state;
  accord_doc *doc = du_new(1);
  accord_id l = du_put_object(doc, ACCORD_ROOT, "l", ACCORD_LIST);
  accord_id tx = du_put_object(doc, ACCORD_ROOT, "t", ACCORD_TEXT);
  put(doc, ACCORD_ROOT, "i", accord_int(1));
  accord_id nowhere = {424242, {1, 2, 3, 4, 5, 6, 7, 8}};
  accord_value one = accord_int(1), v;
  accord_value objv = accord_int(0);
  objv.type = ACCORD_MAP;
  objv.u.obj = l;
  accord_txn *t = NULL;
  accord_conflict c;
  size_t n;
  const char *k;
  accord_type ty;
  AOK(accord_txn_begin(doc, &t));

  /* wrong types */
  assert_int_equal(accord_map_put(t, l, "k", &one), ACCORD_ETYPE);
  assert_int_equal(accord_map_put(t, tx, "k", &one), ACCORD_ETYPE);
  assert_int_equal(accord_map_put_object(t, l, "k", ACCORD_MAP, NULL),
                   ACCORD_ETYPE);
  assert_int_equal(accord_map_delete(t, tx, "k"), ACCORD_ETYPE);
  assert_int_equal(accord_map_increment(t, l, "k", 1), ACCORD_ETYPE);
  assert_int_equal(accord_map_get(doc, l, "k", &v), ACCORD_ETYPE);
  assert_int_equal(accord_map_size(doc, tx, &n), ACCORD_ETYPE);
  assert_int_equal(accord_map_key(doc, l, 0, &k, &n), ACCORD_ETYPE);
  assert_int_equal(accord_map_conflicts(doc, tx, "k", &c, 1, &n), ACCORD_ETYPE);
  assert_int_equal(accord_list_insert(t, ACCORD_ROOT, 0, &one), ACCORD_ETYPE);
  /* object types go through put_object; scalars through put */
  static const accord_type objtypes[] = {ACCORD_MAP, ACCORD_LIST, ACCORD_TEXT};
  for (int j = 0; j < 3; j++) {
    objv.type = objtypes[j];
    assert_int_equal(accord_map_put(t, ACCORD_ROOT, "k", &objv), ACCORD_ETYPE);
  }
  static const accord_type scalartypes[] = {
      ACCORD_NULL, ACCORD_BOOL, ACCORD_INT, ACCORD_DOUBLE, ACCORD_STR,
      ACCORD_BYTES, ACCORD_TIMESTAMP, ACCORD_COUNTER};
  for (int j = 0; j < 8; j++)
    assert_int_equal(
        accord_map_put_object(t, ACCORD_ROOT, "k", scalartypes[j], NULL),
        ACCORD_ETYPE);

  /* unknown objects */
  assert_int_equal(accord_map_put(t, nowhere, "k", &one), ACCORD_ENOTFOUND);
  assert_int_equal(accord_map_put_object(t, nowhere, "k", ACCORD_MAP, NULL),
                   ACCORD_ENOTFOUND);
  assert_int_equal(accord_map_delete(t, nowhere, "k"), ACCORD_ENOTFOUND);
  assert_int_equal(accord_map_increment(t, nowhere, "k", 1), ACCORD_ENOTFOUND);
  assert_int_equal(accord_map_get(doc, nowhere, "k", &v), ACCORD_ENOTFOUND);
  assert_int_equal(accord_map_size(doc, nowhere, &n), ACCORD_ENOTFOUND);
  assert_int_equal(accord_map_key(doc, nowhere, 0, &k, &n), ACCORD_ENOTFOUND);
  assert_int_equal(accord_map_conflicts(doc, nowhere, "k", &c, 1, &n),
                   ACCORD_ENOTFOUND);
  assert_int_equal(accord_obj_type(doc, nowhere, &ty), ACCORD_ENOTFOUND);
  /* a real counter with another actor is another object */
  accord_id other_actor = l;
  other_actor.actor[7] ^= 0x40;
  assert_int_equal(accord_obj_type(doc, other_actor, &ty), ACCORD_ENOTFOUND);
  /* missing keys */
  assert_int_equal(accord_map_get(doc, ACCORD_ROOT, "missing", &v),
                   ACCORD_ENOTFOUND);
  n = 99;
  AOK(accord_map_conflicts(doc, ACCORD_ROOT, "missing", NULL, 0, &n));
  assert_int_equal(n, 0);
  assert_int_equal(accord_map_key(doc, ACCORD_ROOT, 3, &k, &n), ACCORD_ERANGE);

  /* keys: UTF-8, 1 .. 64 KiB */
  assert_int_equal(accord_map_put(t, ACCORD_ROOT, "bad\xff", &one),
                   ACCORD_EUTF8);
  assert_int_equal(accord_map_put(t, ACCORD_ROOT, "\xed\xa0\x80", &one),
                   ACCORD_EUTF8);
  assert_int_equal(accord_map_put_object(t, ACCORD_ROOT, "\xc0\xaf",
                                         ACCORD_LIST, NULL),
                   ACCORD_EUTF8);
  int rc = accord_map_get(doc, ACCORD_ROOT, "\xc3", &v);
  assert_true(rc == ACCORD_ENOTFOUND || rc == ACCORD_EUTF8);
  assert_true(accord_map_put(t, ACCORD_ROOT, "", &one) < 0);
  char *big = malloc(65537 + 1);
  assert_non_null(big);
  memset(big, 'k', 65537);
  big[65537] = 0;
  assert_int_equal(accord_map_put(t, ACCORD_ROOT, big, &one), ACCORD_ETOOBIG);
  big[65536] = 0; /* exactly 64 KiB is allowed */
  AOK(accord_map_put(t, ACCORD_ROOT, big, &one));
  AOK(accord_map_get(doc, ACCORD_ROOT, big, &v));
  /* string values must be UTF-8 too; bytes need not be */
  accord_value bad = accord_str("\xff\xfe", 2);
  assert_int_equal(accord_map_put(t, ACCORD_ROOT, "s", &bad), ACCORD_EUTF8);
  bad = accord_bytes("\xff\xfe", 2);
  AOK(accord_map_put(t, ACCORD_ROOT, "s", &bad));
  /* the refusals changed nothing; the transaction is still usable */
  AOK(accord_txn_commit(t, NULL));
  AOK(accord_map_size(doc, ACCORD_ROOT, &n));
  assert_int_equal(n, 5);
  free(big);
  accord_doc_free(doc);
}

static void txn_rules(void **state) {
  (void)state;
  accord_doc *doc = du_new(1);
  accord_txn *t = NULL, *t2 = (accord_txn *)&t2;
  accord_change_info info;

  /* sequence numbers and op counters */
  AOK(accord_txn_begin(doc, &t));
  accord_id m;
  AOK(accord_map_put_object(t, ACCORD_ROOT, "m", ACCORD_MAP, &m));
  AOK(accord_txn_commit(t, &info));
  assert_int_equal(info.seq, 1);
  assert_int_equal(info.start_op, m.counter);
  assert_memory_equal(m.actor, accord_doc_actor(doc), ACCORD_ACTOR_BYTES);
  assert_non_null(info.bytes);
  assert_true(info.len > 0);
  AOK(accord_txn_begin(doc, &t));
  AOK(accord_txn_commit(t, &info)); /* empty: commits nothing */
  assert_int_equal(info.seq, 0);
  AOK(accord_txn_begin(doc, &t));
  accord_value v = accord_int(5);
  AOK(accord_map_put(t, m, "a", &v));
  AOK(accord_map_put(t, m, "b", &v));
  AOK(accord_txn_commit(t, &info));
  assert_int_equal(info.seq, 2);
  assert_true(info.start_op > m.counter);
  uint64_t seq = 0;
  uint8_t hash[ACCORD_HASH_BYTES];
  AOK(accord_doc_chain_head(doc, accord_doc_actor(doc), &seq, hash));
  assert_int_equal(seq, 2);
  uint8_t stranger[8];
  test_actor(stranger, 77);
  assert_int_equal(accord_doc_chain_head(doc, stranger, &seq, hash),
                   ACCORD_ENOTFOUND);

  /* one transaction at a time; import and save wait for it */
  uint8_t *bytes = NULL, *batch = NULL;
  size_t len = 0, blen = 0;
  AOK(accord_doc_changes_since(doc, NULL, 0, &batch, &blen));
  AOK(accord_txn_begin(doc, &t));
  assert_int_equal(accord_txn_begin(doc, &t2), ACCORD_EBUSY);
  assert_null(t2);
  assert_int_equal(accord_doc_save(doc, &bytes, &len), ACCORD_EBUSY);
  accord_import_stats st;
  assert_int_equal(accord_doc_import(doc, batch, blen, &st), ACCORD_EBUSY);
  accord_free(batch);
  AOK(accord_txn_commit(t, NULL));
  AOK(accord_doc_save(doc, &bytes, &len));
  accord_free(bytes);

  /* messages: UTF-8, at most 64 KiB */
  AOK(accord_txn_begin(doc, &t));
  assert_int_equal(accord_txn_set_message(t, "\xff", 1), ACCORD_EUTF8);
  char *big = malloc(65537);
  assert_non_null(big);
  memset(big, 'm', 65537);
  assert_int_equal(accord_txn_set_message(t, big, 65537), ACCORD_ETOOBIG);
  AOK(accord_txn_set_message(t, big, 65536));
  AOK(accord_txn_set_message(t, "fix typo", 8));
  accord_txn_set_time(t, 1700000000000LL);
  AOK(accord_map_put(t, m, "c", &v));
  AOK(accord_txn_commit(t, &info));
  assert_int_equal(info.seq, 3);
  free(big);

  /* abort restores the previous state exactly */
  accord_id text = du_put_object(doc, ACCORD_ROOT, "text", ACCORD_TEXT);
  accord_id list = du_put_object(doc, ACCORD_ROOT, "list", ACCORD_LIST);
  AOK(accord_txn_begin(doc, &t));
  accord_value ctr = accord_counter(1);
  AOK(accord_map_put(t, ACCORD_ROOT, "ctr", &ctr));
  AOK(accord_text_splice(t, text, 0, 0, "hello", 5));
  AOK(accord_list_insert(t, list, 0, &v));
  AOK(accord_txn_commit(t, NULL));
  char *before = test_json(doc);
  size_t vlen = 0, vlen2 = 0;
  uint8_t *vv = du_version(doc, &vlen);
  uint64_t seq_before = 0;
  AOK(accord_doc_chain_head(doc, accord_doc_actor(doc), &seq_before, hash));

  AOK(accord_txn_begin(doc, &t));
  AOK(accord_map_put(t, ACCORD_ROOT, "new", &v));
  AOK(accord_map_delete(t, m, "a"));
  AOK(accord_map_put_object(t, m, "b", ACCORD_LIST, NULL));
  AOK(accord_map_increment(t, ACCORD_ROOT, "ctr", 41));
  AOK(accord_text_splice(t, text, 1, 3, "ipp", 3));
  AOK(accord_list_delete(t, list, 0, 1));
  accord_id nested;
  AOK(accord_map_put_object(t, ACCORD_ROOT, "nested", ACCORD_MAP, &nested));
  AOK(accord_map_put(t, nested, "x", &v));
  AOK(accord_map_put(t, ACCORD_ROOT, "m", &v)); /* replaces the map */
  accord_txn_abort(t);
  du_assert_json(doc, before);
  uint8_t *vv2 = du_version(doc, &vlen2);
  assert_int_equal(vlen, vlen2);
  assert_memory_equal(vv, vv2, vlen);
  accord_free(vv2);
  AOK(accord_doc_chain_head(doc, accord_doc_actor(doc), &seq, hash));
  assert_int_equal(seq, seq_before);
  /* the object the aborted transaction created is gone */
  accord_type ty;
  assert_int_equal(accord_obj_type(doc, nested, &ty), ACCORD_ENOTFOUND);
  /* and the next transaction continues the chain */
  AOK(accord_txn_begin(doc, &t));
  AOK(accord_map_put(t, ACCORD_ROOT, "after", &v));
  AOK(accord_txn_commit(t, &info));
  assert_int_equal(info.seq, seq_before + 1);
  accord_txn_abort(NULL);
  /* an abort with no operations */
  AOK(accord_txn_begin(doc, &t));
  accord_txn_abort(t);

  /* a replica importing everything agrees with the survivor */
  accord_doc *other = du_new(2);
  du_sync(other, doc);
  du_assert_same_json(doc, other);
  accord_doc_free(other);
  accord_free(before);
  accord_free(vv);
  /* freeing a document with an open transaction frees both */
  AOK(accord_txn_begin(doc, &t));
  AOK(accord_map_put(t, ACCORD_ROOT, "open", &v));
  accord_doc_free(doc);
  accord_doc_free(NULL);
}

static void misc_api(void **state) {
  (void)state;
  assert_string_equal(accord_version(), ACCORD_VERSION_STRING);
  assert_string_equal(accord_err_name(ACCORD_ENOTFOUND), "ENOTFOUND");
  assert_string_equal(accord_err_name(ACCORD_EOTHERDOC), "EOTHERDOC");
  assert_non_null(accord_strerror(ACCORD_EBUSY));
  assert_string_equal(accord_strerror(-12345), "unknown error");
  accord_free(NULL);
  /* random ids when none are given */
  accord_doc *a = NULL, *b = NULL;
  AOK(accord_doc_new(NULL, NULL, &a));
  AOK(accord_doc_new(NULL, NULL, &b));
  assert_memory_not_equal(accord_doc_id(a), accord_doc_id(b), 16);
  assert_memory_not_equal(accord_doc_actor(a), accord_doc_actor(b), 8);
  assert_true(accord_doc_mem_bytes(a) > 0);
  du_assert_json(a, "{}");
  /* a batch from another document is refused */
  put(a, ACCORD_ROOT, "x", accord_int(1));
  uint8_t *batch = NULL;
  size_t blen = 0;
  AOK(accord_doc_changes_since(a, NULL, 0, &batch, &blen));
  assert_int_equal(accord_doc_import(b, batch, blen, NULL), ACCORD_EOTHERDOC);
  du_assert_json(b, "{}");
  accord_free(batch);
  accord_doc_free(a);
  accord_doc_free(b);
}

TEST_MAIN(cmocka_unit_test(scalars_round_trip),
          cmocka_unit_test(json_of_scalars), cmocka_unit_test(counters),
          cmocka_unit_test(nested_objects),
          cmocka_unit_test(delete_and_replace),
          cmocka_unit_test(size_and_key_order),
          cmocka_unit_test(concurrent_sets_conflict),
          cmocka_unit_test(conflict_winner_is_highest_op),
          cmocka_unit_test(concurrent_objects_and_deletes),
          cmocka_unit_test(concurrent_increments),
          cmocka_unit_test(reference_model), cmocka_unit_test(error_codes),
          cmocka_unit_test(txn_rules), cmocka_unit_test(misc_api))
