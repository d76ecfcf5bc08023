/*
 * test_sync.c — the sync primitives (version, changes_since, import) and
 * convergence.
 *
 *   - property test: 3 to 5 replicas of one document make random edits on
 *     every type (root and nested maps, lists, text, counters, objects
 *     created and deleted), exchanging batches over a lossy "network" that
 *     duplicates, reorders (delivers old batches late) and drops them, and
 *     are sometimes replaced by a save + load of themselves; after a final
 *     all-pairs sync every replica has identical JSON, equal chain heads
 *     and nothing pending;
 *   - causal delivery: a change whose dependencies are missing waits
 *     (stats.pending) and is applied when they arrive; importing a batch
 *     twice changes nothing (stats.duplicates); a one-change import that
 *     fails half way through its ops changes nothing;
 *   - the concurrent trace friendsforever replayed with one replica per
 *     agent converges to its endContent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "docutil.h"
#include "trace_util.h"

/* ---------------------------------------------------------------------------
 * Random edits. A replica learns the objects it may edit by walking its own
 * document from the root.
 */
#define MAX_OBJS 256
#define MAX_DEPTH 4

typedef struct objref {
  accord_id id;
  accord_type type;
  int depth;
} objref;

static void walk(const accord_doc *doc, accord_id id, accord_type type,
                 int depth, objref *out, size_t *n) {
  if (*n == MAX_OBJS) return;
  out[*n].id = id;
  out[*n].type = type;
  out[*n].depth = depth;
  (*n)++;
  accord_value v;
  if (type == ACCORD_MAP) {
    size_t size = 0;
    AOK(accord_map_size(doc, id, &size));
    for (size_t i = 0; i < size; i++) {
      const char *key;
      size_t len;
      AOK(accord_map_key(doc, id, i, &key, &len));
      AOK(accord_map_get(doc, id, key, &v));
      if (v.type >= ACCORD_MAP) walk(doc, v.u.obj, v.type, depth + 1, out, n);
    }
  } else if (type == ACCORD_LIST) {
    size_t len = 0;
    AOK(accord_list_len(doc, id, &len));
    for (size_t i = 0; i < len; i++) {
      AOK(accord_list_get(doc, id, i, &v));
      if (v.type >= ACCORD_MAP) walk(doc, v.u.obj, v.type, depth + 1, out, n);
    }
  }
}

static const char *const keys[] = {"a", "b", "c", "d", "title",
                                   "\xc3\xa9t\xc3\xa9"};
static const char *const strs[] = {"", "x", "hello", "\xe6\x97\xa5\xe6\x9c\xac",
                                   "\xf0\x9f\x98\x80", "caf\xc3\xa9 au lait"};

static accord_value random_scalar(test_rng *r) {
  switch (rng_below(r, 9)) {
    case 0: return accord_null();
    case 1: return accord_bool((int)rng_below(r, 2));
    case 2: return accord_int((int64_t)rng_next(r));
    case 3: return accord_int((int64_t)rng_below(r, 100));
    case 4: return accord_double((double)(int64_t)rng_below(r, 100000) / 8.0);
    case 5: {
      const char *s = strs[rng_below(r, 6)];
      return accord_str(s, strlen(s));
    }
    case 6: return accord_bytes("\0\1\2\3\xff", rng_below(r, 6));
    case 7: return accord_timestamp((int64_t)rng_below(r, 1ull << 41));
    default: return accord_counter((int64_t)rng_below(r, 50));
  }
}

static accord_type random_objtype(test_rng *r) {
  static const accord_type t[] = {ACCORD_MAP, ACCORD_LIST, ACCORD_TEXT};
  return t[rng_below(r, 3)];
}

static const char *const pieces[] = {"a", "bc", " ", "\n", "\xc3\xa9",
                                     "\xe6\x97\xa5", "\xf0\x9f\x98\x80",
                                     "word ", "xyz"};

/* One random operation on a random reachable object; refusals that the
 * API documents for the situation (incrementing a non-counter, deleting a
 * missing key) are accepted, anything else must succeed. */
static void random_op(test_rng *r, accord_doc *doc, accord_txn *t,
                      long *ops) {
  objref objs[MAX_OBJS];
  size_t n = 0;
  walk(doc, ACCORD_ROOT, ACCORD_MAP, 0, objs, &n);
  const objref *o = &objs[rng_below(r, n)];
  (*ops)++;
  if (rng_below(r, 10) == 0) { /* the shared counter */
    AOK(accord_map_increment(t, ACCORD_ROOT, "C",
                             (int64_t)rng_below(r, 100) - 30));
    return;
  }
  if (o->type == ACCORD_MAP) {
    const char *key = keys[rng_below(r, sizeof keys / sizeof *keys)];
    uint64_t what = rng_below(r, 100);
    if (what < 45) {
      accord_value v = random_scalar(r);
      AOK(accord_map_put(t, o->id, key, &v));
    } else if (what < 60) {
      int rc = accord_map_increment(t, o->id, key,
                                    (int64_t)rng_below(r, 21) - 10);
      assert_true(rc == 0 || rc == ACCORD_ETYPE || rc == ACCORD_ENOTFOUND);
    } else if (what < 75) {
      int rc = accord_map_delete(t, o->id, key);
      assert_true(rc == 0 || rc == ACCORD_ENOTFOUND);
    } else if (o->depth < MAX_DEPTH) {
      AOK(accord_map_put_object(t, o->id, key, random_objtype(r), NULL));
    } else {
      accord_value v = random_scalar(r);
      AOK(accord_map_put(t, o->id, key, &v));
    }
  } else if (o->type == ACCORD_LIST) {
    size_t len = 0;
    AOK(accord_list_len(doc, o->id, &len));
    uint64_t what = rng_below(r, 100);
    if (len > 0 && (what < 30 || len > 20)) {
      size_t at = rng_below(r, len);
      size_t k = 1 + rng_below(r, len - at < 3 ? len - at : 3);
      AOK(accord_list_delete(t, o->id, at, k));
    } else if (what < 45 && o->depth < MAX_DEPTH) {
      AOK(accord_list_insert_object(t, o->id, rng_below(r, len + 1),
                                    random_objtype(r), NULL));
    } else {
      accord_value v = random_scalar(r);
      AOK(accord_list_insert(t, o->id, rng_below(r, len + 1), &v));
    }
  } else {
    size_t len = 0;
    AOK(accord_text_len(doc, o->id, &len));
    size_t pos = rng_below(r, len + 1), del = 0;
    if (pos < len && (rng_below(r, 3) == 0 || len > 120))
      del = 1 + rng_below(r, len - pos < 10 ? len - pos : 10);
    char s[64];
    size_t sl = 0, k = rng_below(r, 5);
    for (size_t j = 0; j < k; j++) {
      const char *p = pieces[rng_below(r, sizeof pieces / sizeof *pieces)];
      memcpy(s + sl, p, strlen(p));
      sl += strlen(p);
    }
    AOK(accord_text_splice(t, o->id, pos, del, s, sl));
  }
}

/* ---------------------------------------------------------------------------
 * The network: batches in flight.
 */
typedef struct flight {
  uint8_t *bytes;
  size_t len;
  int dst;
} flight;

typedef struct net {
  flight *f;
  size_t n, cap;
  size_t sent, delivered, dropped, duplicated, late;
} net;

static void net_hold(net *nw, uint8_t *bytes, size_t len, int dst) {
  if (nw->n == nw->cap) {
    nw->cap = nw->cap ? 2 * nw->cap : 16;
    nw->f = realloc(nw->f, nw->cap * sizeof *nw->f);
    assert_non_null(nw->f);
  }
  nw->f[nw->n].bytes = bytes;
  nw->f[nw->n].len = len;
  nw->f[nw->n].dst = dst;
  nw->n++;
}

static void deliver(accord_doc *dst, const uint8_t *bytes, size_t len) {
  accord_import_stats st;
  int rc = accord_doc_import(dst, bytes, len, &st);
  if (rc != 0)
    fail_msg("import of a valid batch (%zu bytes) failed: %s", len,
             accord_err_name(rc));
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n) {
  uint8_t *q = malloc(n ? n : 1);
  assert_non_null(q);
  memcpy(q, p, n);
  return q;
}

typedef struct sim {
  test_rng r;
  int nrep;
  accord_doc *docs[5];
  net nw;
  long ops, txns, reloads;
} sim;

static void sim_edit(sim *s, int i) {
  accord_txn *t = NULL;
  AOK(accord_txn_begin(s->docs[i], &t));
  size_t nops = 1 + rng_below(&s->r, 4);
  for (size_t k = 0; k < nops; k++) random_op(&s->r, s->docs[i], t, &s->ops);
  if (rng_below(&s->r, 20) == 0) {
    accord_txn_abort(t);
  } else {
    AOK(accord_txn_commit(t, NULL));
    s->txns++;
  }
}

/* src answers dst's version; the batch is delivered now, later, twice or
 * never. */
static void sim_send(sim *s, int src, int dst) {
  size_t vlen = 0, blen = 0;
  uint8_t *vv = du_version(s->docs[dst], &vlen), *batch = NULL;
  AOK(accord_doc_changes_since(s->docs[src], vv, vlen, &batch, &blen));
  accord_free(vv);
  s->nw.sent++;
  uint64_t fate = rng_below(&s->r, 100);
  if (fate < 55) {
    deliver(s->docs[dst], batch, blen);
    s->nw.delivered++;
  } else if (fate < 75) {
    net_hold(&s->nw, dup_bytes(batch, blen), blen, dst);
  } else if (fate < 85) {
    s->nw.dropped++;
  } else {
    deliver(s->docs[dst], batch, blen);
    net_hold(&s->nw, dup_bytes(batch, blen), blen, dst);
    s->nw.duplicated++;
  }
  accord_free(batch);
}

/* Delivers some held batches, in random order. */
static void sim_deliver_late(sim *s, int all) {
  for (size_t k = 0; k < s->nw.n;) {
    size_t j = k + rng_below(&s->r, s->nw.n - k);
    flight tmp = s->nw.f[k];
    s->nw.f[k] = s->nw.f[j];
    s->nw.f[j] = tmp;
    if (all || rng_below(&s->r, 3) == 0) {
      deliver(s->docs[s->nw.f[k].dst], s->nw.f[k].bytes, s->nw.f[k].len);
      free(s->nw.f[k].bytes);
      s->nw.f[k] = s->nw.f[--s->nw.n];
      s->nw.late++;
    } else {
      k++;
    }
  }
}

static void convergence(const char *name, int nrep, long rounds) {
  sim s;
  memset(&s, 0, sizeof s);
  rng_init(&s.r, test_seed(name));
  s.nrep = nrep;
  for (int i = 0; i < nrep; i++) s.docs[i] = du_new((uint64_t)i + 1);
  /* containers that live all along (random edits use lowercase keys, so
   * they never replace these), next to the ones edits create and drop */
  accord_txn *t = NULL;
  accord_value ctr = accord_counter(0);
  AOK(accord_txn_begin(s.docs[0], &t));
  AOK(accord_map_put_object(t, ACCORD_ROOT, "L", ACCORD_LIST, NULL));
  AOK(accord_map_put_object(t, ACCORD_ROOT, "M", ACCORD_MAP, NULL));
  AOK(accord_map_put_object(t, ACCORD_ROOT, "T", ACCORD_TEXT, NULL));
  AOK(accord_map_put(t, ACCORD_ROOT, "C", &ctr));
  AOK(accord_txn_commit(t, NULL));
  for (int i = 1; i < nrep; i++) du_sync(s.docs[i], s.docs[0]);
  for (long round = 0; round < rounds; round++) {
    for (int i = 0; i < nrep; i++) {
      size_t ntx = rng_below(&s.r, 3);
      for (size_t k = 0; k < ntx; k++) sim_edit(&s, i);
    }
    size_t nsend = rng_below(&s.r, (uint64_t)nrep + 1);
    for (size_t k = 0; k < nsend; k++) {
      int a = (int)rng_below(&s.r, (uint64_t)nrep);
      int b = (int)rng_below(&s.r, (uint64_t)nrep);
      if (a != b) sim_send(&s, a, b);
    }
    sim_deliver_late(&s, 0);
    for (int i = 0; i < nrep; i++)
      if (rng_below(&s.r, 25) == 0) {
        s.docs[i] = du_reload(s.docs[i]);
        s.reloads++;
      }
  }
  sim_deliver_late(&s, 1);
  du_sync_all(s.docs, (size_t)nrep);
  /* a newcomer that imports one replica's whole history agrees */
  accord_doc *fresh = du_new(99);
  accord_import_stats st = du_sync(fresh, s.docs[nrep - 1]);
  assert_int_equal(st.pending, 0);
  du_assert_same_json(fresh, s.docs[0]);
  /* and so does every replica after a reload */
  for (int i = 0; i < nrep; i++) {
    s.docs[i] = du_reload(s.docs[i]);
    du_assert_same_json(fresh, s.docs[i]);
  }
  char *json = test_json(fresh);
  printf("  %d replicas, %ld rounds: %ld ops in %ld txns, %zu batches sent "
         "(%zu now, %zu late, %zu dropped, %zu duplicated), %ld reloads; "
         "%zu bytes of JSON\n",
         nrep, rounds, s.ops, s.txns, s.nw.sent, s.nw.delivered, s.nw.late,
         s.nw.dropped, s.nw.duplicated, s.reloads, strlen(json));
  if (getenv("ACCORD_TEST_VERBOSE")) printf("%s\n", json);
  accord_free(json);
  accord_doc_free(fresh);
  for (int i = 0; i < nrep; i++) accord_doc_free(s.docs[i]);
  free(s.nw.f);
}

static void convergence_3_replicas(void **state) {
  (void)state;
  convergence("sync.convergence_3_replicas", 3, test_scale(600));
}

static void convergence_5_replicas(void **state) {
  (void)state;
  convergence("sync.convergence_5_replicas", 5, test_scale(400));
}

/* ---------------------------------------------------------------------------
 * Causality and duplicates.
 */
static void put_int(accord_doc *doc, const char *key, int64_t x) {
  accord_txn *t = NULL;
  accord_value v = accord_int(x);
  AOK(accord_txn_begin(doc, &t));
  AOK(accord_map_put(t, ACCORD_ROOT, key, &v));
  AOK(accord_txn_commit(t, NULL));
}

/* The changes doc made since version vv (vv from doc itself earlier). */
static uint8_t *changes_after(accord_doc *doc, const uint8_t *vv, size_t vlen,
                              size_t *len) {
  uint8_t *batch = NULL;
  AOK(accord_doc_changes_since(doc, vv, vlen, &batch, len));
  return batch;
}

/* Changes we hold are recognised by their bytes, a whole known run at a
 * time (sync.c, known_prefix). A batch whose known part differs in one
 * byte is a fork (EFORK), and one cut short anywhere is refused; neither
 * changes anything. */
static void known_changes_altered_refused(void **state) {
  (void)state;
  accord_doc *a = du_new(1), *b = du_new(2);
  put_int(a, "x", 1);
  put_int(a, "y", 7);
  put_int(a, "z", 3);
  size_t blen;
  uint8_t *batch = changes_after(a, NULL, 0, &blen);
  accord_import_stats st;
  AOK(accord_doc_import(b, batch, blen, &st));
  assert_int_equal(st.applied, 3);
  accord_free(batch);
  put_int(a, "w", 4);
  batch = changes_after(a, NULL, 0, &blen);
  char *j1 = test_json(b);
  size_t v1len, v2len;
  uint8_t *v1 = du_version(b, &v1len);
  /* every cut of the batch fails and changes nothing */
  for (size_t cut = 0; cut < blen; cut++)
    assert_int_not_equal(accord_doc_import(b, batch, cut, NULL), 0);
  /* the second change's value, y = 7: key "y", no pred, 7 */
  static const uint8_t y7[] = {0xa1, 'y', 0x90, 0x07};
  size_t at = 0;
  while (at + sizeof y7 <= blen && memcmp(batch + at, y7, sizeof y7)) at++;
  assert_true(at + sizeof y7 <= blen);
  batch[at + 3] = 0x08;
  assert_int_equal(accord_doc_import(b, batch, blen, &st), ACCORD_EFORK);
  du_assert_json(b, j1);
  uint8_t *v2 = du_version(b, &v2len);
  assert_int_equal(v1len, v2len);
  assert_memory_equal(v1, v2, v1len);
  /* restored, the known three are duplicates and the fourth applies */
  batch[at + 3] = 0x07;
  AOK(accord_doc_import(b, batch, blen, &st));
  assert_int_equal(st.applied, 1);
  assert_int_equal(st.duplicates, 3);
  du_assert_same_json(a, b);
  accord_free(j1);
  accord_free(v1);
  accord_free(v2);
  accord_free(batch);
  accord_doc_free(a);
  accord_doc_free(b);
}

static void causal_order_pending(void **state) {
  (void)state;
  accord_doc *a = du_new(1), *b = du_new(2), *c = du_new(3), *d = du_new(4);
  size_t v0len, v1len, b1len, b2len;
  uint8_t *v0 = du_version(a, &v0len);
  put_int(a, "x", 1);
  uint8_t *batch1 = changes_after(a, v0, v0len, &b1len); /* a:1 */
  uint8_t *v1 = du_version(a, &v1len);
  put_int(a, "y", 2);
  uint8_t *batch2 = changes_after(a, v1, v1len, &b2len); /* a:2 */

  /* b gets a:2 first: it waits */
  char *empty = test_json(b);
  size_t bv0len;
  uint8_t *bv0 = du_version(b, &bv0len);
  accord_import_stats st;
  assert_int_equal(accord_doc_pending(b), 0);
  AOK(accord_doc_import(b, batch2, b2len, &st));
  assert_int_equal(st.applied, 0);
  assert_true(st.pending > 0);
  assert_int_equal(accord_doc_pending(b), st.pending);
  du_assert_json(b, empty);
  size_t bv1len;
  uint8_t *bv1 = du_version(b, &bv1len);
  assert_int_equal(bv1len, bv0len);
  assert_memory_equal(bv1, bv0, bv0len);
  accord_free(bv1);

  /* then the earlier batch: a:1 applies and releases a:2 */
  AOK(accord_doc_import(b, batch1, b1len, &st));
  assert_int_equal(st.applied, 2);
  assert_int_equal(st.pending, 0);
  assert_int_equal(accord_doc_pending(b), 0);
  du_assert_same_json(a, b);
  du_assert_json(b, "{\"x\":1,\"y\":2}");

  /* across actors: c builds on a:1 and a:2; d hears from c first */
  du_sync(c, a);
  size_t cvlen, cblen;
  uint8_t *cv = du_version(c, &cvlen);
  put_int(c, "z", 3);
  uint8_t *cbatch = changes_after(c, cv, cvlen, &cblen); /* c:1 only */
  AOK(accord_doc_import(d, cbatch, cblen, &st));
  assert_int_equal(st.applied, 0);
  assert_int_equal(st.pending, 1);
  du_assert_json(d, "{}");
  /* a:2 alone still cannot apply (a:1 is missing) */
  AOK(accord_doc_import(d, batch2, b2len, &st));
  assert_int_equal(st.applied, 0);
  assert_true(st.pending >= 1);
  du_assert_json(d, "{}");
  /* the missing changes arrive: all three apply */
  AOK(accord_doc_import(d, batch1, b1len, &st));
  assert_int_equal(st.applied, 3);
  assert_int_equal(st.pending, 0);
  du_assert_json(d, "{\"x\":1,\"y\":2,\"z\":3}");
  du_assert_same_json(c, d);
  accord_doc *docs[] = {a, b, c, d};
  du_sync_all(docs, 4);

  accord_free(empty);
  accord_free(bv0);
  accord_free(v0);
  accord_free(v1);
  accord_free(batch1);
  accord_free(batch2);
  accord_free(cv);
  accord_free(cbatch);
  for (int i = 0; i < 4; i++) accord_doc_free(docs[i]);
}

/* A batch of one change that extends its author's chain, with its deps
 * present, is applied straight from the batch (sync.c, import_one). Every
 * cut of it is refused. When its second op does not fit the state (an insert into an object that does
 * not exist) after its first op was applied, the import fails and changes
 * nothing: the first op is undone, the chain does not move, nothing waits;
 * the intact change then applies. */
/* A refused one-change batch from an author we never heard of leaves no
 * trace of that author either: the version, the JSON and a save are as
 * before. */
static void unknown_author_refused_leaves_nothing(void **state) {
  (void)state;
  accord_doc *a = du_new(1), *b = du_new(2);
  accord_id t = du_put_object(a, ACCORD_ROOT, "t", ACCORD_TEXT);
  (void)t;
  size_t blen, v1len, v2len, s1len, s2len;
  uint8_t *batch = changes_after(a, NULL, 0, &blen);
  uint8_t *v1 = du_version(b, &v1len), *s1 = NULL, *s2 = NULL;
  AOK(accord_doc_save(b, &s1, &s1len));
  /* the body's last byte cut off, the batch's lengths kept: malformed */
  batch[blen - 1] = 0xc1; /* never used in msgpack */
  assert_int_not_equal(accord_doc_import(b, batch, blen, NULL), 0);
  uint8_t *v2 = du_version(b, &v2len);
  assert_int_equal(v1len, v2len);
  assert_memory_equal(v1, v2, v1len);
  AOK(accord_doc_save(b, &s2, &s2len));
  assert_int_equal(s1len, s2len);
  assert_memory_equal(s1, s2, s1len);
  accord_free(batch);
  accord_free(v1);
  accord_free(v2);
  accord_free(s1);
  accord_free(s2);
  accord_doc_free(a);
  accord_doc_free(b);
}

/* The same for an author the refused change names in its actor table
 * (c, whose text a edits), while its own author (a) is known. */
static void named_author_refused_leaves_nothing(void **state) {
  (void)state;
  accord_doc *a = du_new(1), *b = du_new(2), *c = du_new(3);
  du_put_object(a, ACCORD_ROOT, "mine", ACCORD_TEXT);
  du_sync(b, a);
  accord_id t = du_put_object(c, ACCORD_ROOT, "t", ACCORD_TEXT);
  du_sync(a, c);
  size_t vlen, blen, s1len, s2len;
  uint8_t *v = du_version(a, &vlen);
  accord_txn *txn = NULL;
  AOK(accord_txn_begin(a, &txn));
  AOK(accord_text_splice(txn, t, 0, 0, "x", 1));
  AOK(accord_txn_commit(txn, NULL));
  uint8_t *batch = changes_after(a, v, vlen, &blen), *s1 = NULL, *s2 = NULL;
  AOK(accord_doc_save(b, &s1, &s1len));
  batch[blen - 1] = 0xc1; /* never used in msgpack */
  assert_int_not_equal(accord_doc_import(b, batch, blen, NULL), 0);
  AOK(accord_doc_save(b, &s2, &s2len));
  assert_int_equal(s1len, s2len);
  assert_memory_equal(s1, s2, s1len);
  accord_free(batch);
  accord_free(v);
  accord_free(s1);
  accord_free(s2);
  accord_doc_free(a);
  accord_doc_free(b);
  accord_doc_free(c);
}

static void one_change_import_failure_changes_nothing(void **state) {
  (void)state;
  accord_doc *a = du_new(1), *b = du_new(2);
  accord_id t = du_put_object(a, ACCORD_ROOT, "t", ACCORD_TEXT);
  accord_id u = du_put_object(a, ACCORD_ROOT, "u", ACCORD_TEXT);
  assert_true(u.counter < 0x70);
  du_sync(b, a);
  size_t vlen, blen, v1len, v2len;
  uint8_t *v = du_version(a, &vlen);
  accord_txn *txn = NULL;
  AOK(accord_txn_begin(a, &txn));
  AOK(accord_text_splice(txn, t, 0, 0, "hello", 5));
  AOK(accord_text_splice(txn, u, 0, 0, "world", 5));
  AOK(accord_txn_commit(txn, NULL));
  uint8_t *batch = changes_after(a, v, vlen, &blen);
  /* the second insert: [2, ref, u's counter, nil, nil, "world"] */
  size_t at = 0;
  while (at + 6 <= blen && memcmp(batch + at, "\xa5world", 6)) at++;
  assert_true(at >= 3 && at + 6 <= blen);
  assert_int_equal(batch[at - 3], u.counter);
  char *j1 = test_json(b);
  uint8_t *v1 = du_version(b, &v1len);
  /* every cut of the batch is refused and changes nothing */
  for (size_t cut = 0; cut < blen; cut++)
    assert_int_not_equal(accord_doc_import(b, batch, cut, NULL), 0);
  du_assert_json(b, j1);
  batch[at - 3] = 0x7f; /* no object there */
  accord_import_stats st;
  assert_int_equal(accord_doc_import(b, batch, blen, &st), ACCORD_EMALFORMED);
  du_assert_json(b, j1);
  du_assert_text(b, t, "");
  uint8_t *v2 = du_version(b, &v2len);
  assert_int_equal(v1len, v2len);
  assert_memory_equal(v1, v2, v1len);
  assert_int_equal(accord_doc_pending(b), 0);
  batch[at - 3] = (uint8_t)u.counter;
  AOK(accord_doc_import(b, batch, blen, &st));
  assert_int_equal(st.applied, 1);
  assert_int_equal(st.pending, 0);
  du_assert_same_json(a, b);
  du_assert_text(b, t, "hello");
  accord_free(j1);
  accord_free(v);
  accord_free(v1);
  accord_free(v2);
  accord_free(batch);
  accord_doc_free(a);
  accord_doc_free(b);
}

/* One keystroke (a one-char splice or a one-value list insert) committed
 * on a, its change sent to b at once. */
static void key_to(accord_doc *a, accord_doc *b, accord_id obj, int list,
                   size_t pos, char c) {
  size_t vlen, blen;
  uint8_t *v = du_version(a, &vlen);
  accord_txn *t = NULL;
  AOK(accord_txn_begin(a, &t));
  if (list) {
    accord_value x = accord_int(c);
    AOK(accord_list_insert(t, obj, pos, &x));
  } else {
    AOK(accord_text_splice(t, obj, pos, 0, &c, 1));
  }
  AOK(accord_txn_commit(t, NULL));
  uint8_t *batch = changes_after(a, v, vlen, &blen);
  accord_import_stats st;
  AOK(accord_doc_import(b, batch, blen, &st));
  assert_int_equal(st.applied, 1);
  accord_free(batch);
  accord_free(v);
}

/* A peer's typing arrives a keystroke at a time: the receiver extends the
 * run of the previous keystroke without a lookup or a scan (seq.c) only
 * when nothing else sits after it; a local insert in between, an element
 * of its own after the run, or typing elsewhere take the general path.
 * Text and lists end as on the sender. */
static void remote_typing_runs(void **state) {
  (void)state;
  for (int list = 0; list < 2; list++) {
    accord_doc *a = du_new(1), *b = du_new(2);
    accord_id t = du_put_object(a, ACCORD_ROOT, "t",
                                list ? ACCORD_LIST : ACCORD_TEXT);
    du_sync(b, a);
    key_to(a, b, t, list, 0, 'a'); /* left: the start */
    key_to(a, b, t, list, 1, 'b'); /* extends a's run */
    key_to(a, b, t, list, 2, 'c');
    du_assert_same_json(a, b);
    /* b types after 'a' itself: its note is gone, and a's next keystroke
     * after 'c' finds 'c' by lookup */
    size_t vlen, blen;
    uint8_t *v = du_version(b, &vlen);
    accord_txn *x = NULL;
    AOK(accord_txn_begin(b, &x));
    if (list) {
      accord_value y = accord_int('Y');
      AOK(accord_list_insert(x, t, 1, &y));
    } else {
      AOK(accord_text_splice(x, t, 1, 0, "Y", 1));
    }
    AOK(accord_txn_commit(x, NULL));
    uint8_t *yb = changes_after(b, v, vlen, &blen);
    key_to(a, b, t, list, 3, 'd');
    key_to(a, b, t, list, 4, 'e'); /* extends again */
    /* a types at the start, then after its own 'e' (run continues, but
     * the note points at the start now) */
    key_to(a, b, t, list, 0, '0');
    key_to(a, b, t, list, 6, 'f');
    AOK(accord_doc_import(a, yb, blen, NULL));
    du_assert_same_json(a, b);
    if (!list) {
      du_assert_text(a, t, "0aYbcdef");
      du_assert_text(b, t, "0aYbcdef");
    }
    /* b receives a keystroke whose right origin is not what follows its
     * left origin here: b's own 'Z' sits between them */
    v = (accord_free(v), du_version(a, &vlen));
    accord_txn *z = NULL;
    AOK(accord_txn_begin(b, &z));
    if (list) {
      accord_value y = accord_int('Z');
      AOK(accord_list_insert(z, t, 8, &y));
    } else {
      AOK(accord_text_splice(z, t, 8, 0, "Z", 1));
    }
    AOK(accord_txn_commit(z, NULL));
    key_to(a, b, t, list, 8, 'g'); /* after 'f', concurrent with 'Z' */
    key_to(a, b, t, list, 9, 'h');
    du_sync_both(a, b);
    du_assert_same_json(a, b);
    if (!list) du_assert_text(a, t, "0aYbcdefghZ");
    accord_free(v);
    accord_free(yb);
    accord_doc_free(a);
    accord_doc_free(b);
  }
}

/* A version's actors come in strictly ascending id order: the same
 * version with two entries swapped, or one twice, is refused; in order,
 * it gives what the version from the document gives. */
static void version_order_checked(void **state) {
  (void)state;
  accord_doc *a = du_new(1), *b = du_new(2), *c = du_new(3);
  put_int(b, "x", 1);
  put_int(c, "y", 2);
  du_sync(a, b);
  du_sync(a, c);
  put_int(a, "z", 3);
  uint8_t ida[ACCORD_ACTOR_BYTES], idb[ACCORD_ACTOR_BYTES];
  test_actor(ida, 2);
  test_actor(idb, 3);
  if (memcmp(ida, idb, sizeof ida) > 0) { /* ida: the smaller id */
    uint8_t t[ACCORD_ACTOR_BYTES];
    memcpy(t, ida, sizeof t);
    memcpy(ida, idb, sizeof t);
    memcpy(idb, t, sizeof t);
  }
  for (int form = 0; form < 3; form++) {
    /* [doc, {first: 1, second: 1}]: in order, swapped, the same twice */
    const uint8_t *first = form == 1 ? idb : ida;
    const uint8_t *second = form == 0 ? idb : form == 1 ? ida : ida;
    uint8_t vv[2 + 18 + 1 + 2 * 11], *p = vv;
    *p++ = 0x92;
    *p++ = 0xc4;
    *p++ = ACCORD_DOC_ID_BYTES;
    memcpy(p, accord_doc_id(a), ACCORD_DOC_ID_BYTES);
    p += ACCORD_DOC_ID_BYTES;
    *p++ = 0x82;
    for (int k = 0; k < 2; k++) {
      *p++ = 0xc4;
      *p++ = ACCORD_ACTOR_BYTES;
      memcpy(p, k ? second : first, ACCORD_ACTOR_BYTES);
      p += ACCORD_ACTOR_BYTES;
      *p++ = 0x01;
    }
    uint8_t *batch = NULL;
    size_t blen = 0;
    int rc = accord_doc_changes_since(a, vv, (size_t)(p - vv), &batch, &blen);
    if (form == 0) {
      AOK(rc); /* b and c are known: only a's change */
      accord_doc *d = du_new(4);
      du_sync(d, b);
      du_sync(d, c);
      accord_import_stats st;
      AOK(accord_doc_import(d, batch, blen, &st));
      assert_int_equal(st.applied, 1);
      du_assert_same_json(a, d);
      accord_doc_free(d);
    } else {
      assert_int_equal(rc, ACCORD_EMALFORMED);
      assert_null(batch);
    }
    accord_free(batch);
  }
  accord_doc_free(a);
  accord_doc_free(b);
  accord_doc_free(c);
}

static void duplicate_import_noop(void **state) {
  (void)state;
  accord_doc *a = du_new(1), *b = du_new(2);
  put_int(a, "x", 1);
  accord_id t = du_put_object(a, ACCORD_ROOT, "t", ACCORD_TEXT);
  accord_txn *txn = NULL;
  AOK(accord_txn_begin(a, &txn));
  AOK(accord_text_splice(txn, t, 0, 0, "hello", 5));
  AOK(accord_txn_commit(txn, NULL));
  size_t blen;
  uint8_t *batch = changes_after(a, NULL, 0, &blen);
  accord_import_stats st;
  AOK(accord_doc_import(b, batch, blen, &st));
  assert_int_equal(st.applied, 3);
  assert_int_equal(st.duplicates, 0);
  assert_int_equal(st.pending, 0);
  char *j1 = test_json(b);
  size_t v1len, v2len;
  uint8_t *v1 = du_version(b, &v1len);
  AOK(accord_doc_import(b, batch, blen, &st));
  assert_int_equal(st.applied, 0);
  assert_int_equal(st.duplicates, 3);
  assert_int_equal(st.pending, 0);
  du_assert_json(b, j1);
  uint8_t *v2 = du_version(b, &v2len);
  assert_int_equal(v1len, v2len);
  assert_memory_equal(v1, v2, v1len);
  /* a's own changes are duplicates to a */
  AOK(accord_doc_import(a, batch, blen, &st));
  assert_int_equal(st.applied, 0);
  assert_int_equal(st.duplicates, 3);
  /* old and new mixed: only the new one applies */
  put_int(a, "y", 2);
  accord_free(batch);
  batch = changes_after(a, NULL, 0, &blen);
  AOK(accord_doc_import(b, batch, blen, &st));
  assert_int_equal(st.applied, 1);
  assert_int_equal(st.duplicates, 3);
  du_assert_same_json(a, b);
  /* an empty batch is a valid batch */
  accord_free(batch);
  accord_free(v1);
  v1 = du_version(b, &v1len);
  batch = changes_after(a, v1, v1len, &blen);
  AOK(accord_doc_import(b, batch, blen, &st));
  assert_int_equal(st.applied, 0);
  assert_int_equal(st.duplicates, 0);
  assert_int_equal(st.pending, 0);
  AOK(accord_doc_import(b, batch, blen, NULL)); /* stats may be NULL */
  du_assert_same_json(a, b);
  accord_free(j1);
  accord_free(v1);
  accord_free(v2);
  accord_free(batch);
  accord_doc_free(a);
  accord_doc_free(b);
}

/* A replica reloaded from its saved bytes goes on with its own chain: its
 * next change is accepted by peers that saw the earlier ones. */
static void reload_continues_chain(void **state) {
  (void)state;
  accord_doc *a = du_new(1), *b = du_new(2);
  put_int(a, "x", 1);
  du_sync(b, a);
  a = du_reload(a);
  put_int(a, "x", 2);
  accord_change_info info;
  accord_txn *t = NULL;
  accord_value v = accord_int(3);
  AOK(accord_txn_begin(a, &t));
  AOK(accord_map_put(t, ACCORD_ROOT, "y", &v));
  AOK(accord_txn_commit(t, &info));
  assert_int_equal(info.seq, 3);
  accord_import_stats st = du_sync(b, a);
  assert_int_equal(st.applied, 2);
  du_assert_same_json(a, b);
  uint64_t sa, sb;
  uint8_t ha[ACCORD_HASH_BYTES], hb[ACCORD_HASH_BYTES];
  AOK(accord_doc_chain_head(a, accord_doc_actor(a), &sa, ha));
  AOK(accord_doc_chain_head(b, accord_doc_actor(a), &sb, hb));
  assert_int_equal(sa, 3);
  assert_int_equal(sb, 3);
  assert_memory_equal(ha, hb, sizeof ha);
  accord_doc_free(a);
  accord_doc_free(b);
}

/* ---------------------------------------------------------------------------
 * The concurrent trace.
 */
static void trace_friendsforever(void **state) {
  (void)state;
  trace tr;
  if (trace_load("friendsforever.json.gz", &tr) != 0)
    fail_msg("cannot load friendsforever.json.gz");
  assert_true(tr.concurrent);
  int na = tr.num_agents;
  assert_true(na >= 1 && na <= 8);
  accord_doc *docs[8];
  unsigned char *applied[8];
  for (int a = 0; a < na; a++) {
    docs[a] = du_new((uint64_t)a + 1);
    applied[a] = calloc(tr.ntxns ? tr.ntxns : 1, 1);
    assert_non_null(applied[a]);
  }
  /* the text object is part of every replica's empty document */
  accord_id text = du_put_object(docs[0], ACCORD_ROOT, "text", ACCORD_TEXT);
  for (int a = 1; a < na; a++) du_sync(docs[a], docs[0]);

  uint8_t **batch = calloc(tr.ntxns ? tr.ntxns : 1, sizeof *batch);
  size_t *blen = calloc(tr.ntxns ? tr.ntxns : 1, sizeof *blen);
  size_t *stack = malloc((tr.ntxns + 1) * sizeof *stack);
  size_t *todo = malloc((tr.ntxns + 1) * sizeof *todo);
  assert_true(batch && blen && stack && todo);
  for (size_t i = 0; i < tr.ntxns; i++) {
    const trace_txn *tx = &tr.txns[i];
    int a = tx->agent;
    assert_true(a >= 0 && a < na);
    /* bring the agent's replica to the parents' state: import the
     * ancestors it lacks, oldest first */
    size_t sp = 0, nt = 0;
    for (size_t k = 0; k < tx->nparents; k++) stack[sp++] = tx->parents[k];
    while (sp) {
      size_t p = stack[--sp];
      assert_true(p < i);
      if (applied[a][p]) continue;
      applied[a][p] = 1;
      todo[nt++] = p;
      for (size_t k = 0; k < tr.txns[p].nparents; k++)
        stack[sp++] = tr.txns[p].parents[k];
    }
    for (size_t x = 1; x < nt; x++) /* insertion sort: nt is small */
      for (size_t y = x; y > 0 && todo[y - 1] > todo[y]; y--) {
        size_t tmp = todo[y];
        todo[y] = todo[y - 1];
        todo[y - 1] = tmp;
      }
    for (size_t k = 0; k < nt; k++) {
      accord_import_stats st;
      AOK(accord_doc_import(docs[a], batch[todo[k]], blen[todo[k]], &st));
      assert_int_equal(st.pending, 0);
    }
    size_t vlen;
    uint8_t *vv = du_version(docs[a], &vlen);
    accord_txn *t = NULL;
    AOK(accord_txn_begin(docs[a], &t));
    for (size_t k = 0; k < tx->npatches; k++) {
      const trace_patch *p = &tx->patches[k];
      int rc = accord_text_splice(t, text, p->pos, p->del, p->ins, p->ins_len);
      if (rc != 0)
        fail_msg("txn %zu (agent %d) patch %zu pos %zu del %zu: %s", i, a, k,
                 p->pos, p->del, accord_err_name(rc));
    }
    AOK(accord_txn_commit(t, NULL));
    batch[i] = changes_after(docs[a], vv, vlen, &blen[i]);
    accord_free(vv);
    applied[a][i] = 1;
  }
  du_sync_all(docs, (size_t)na);
  for (int a = 0; a < na; a++) du_assert_text(docs[a], text, tr.end_content);
  printf("  friendsforever: %zu txns by %d agents, %zu bytes of text\n",
         tr.ntxns, na, tr.end_len);

  for (size_t i = 0; i < tr.ntxns; i++) accord_free(batch[i]);
  free(batch);
  free(blen);
  free(stack);
  free(todo);
  for (int a = 0; a < na; a++) {
    free(applied[a]);
    accord_doc_free(docs[a]);
  }
  trace_free(&tr);
}

TEST_MAIN(cmocka_unit_test(convergence_3_replicas),
          cmocka_unit_test(convergence_5_replicas),
          cmocka_unit_test(causal_order_pending),
          cmocka_unit_test(one_change_import_failure_changes_nothing),
          cmocka_unit_test(unknown_author_refused_leaves_nothing),
          cmocka_unit_test(named_author_refused_leaves_nothing),
          cmocka_unit_test(remote_typing_runs),
          cmocka_unit_test(version_order_checked),
          cmocka_unit_test(duplicate_import_noop),
          cmocka_unit_test(known_changes_altered_refused),
          cmocka_unit_test(reload_continues_chain),
          cmocka_unit_test(trace_friendsforever))
