/*
 * test_frames.c — a chain kept as packed frames of cold changes plus an
 * unpacked tail (core/oplog.c, core/oplog_bg.c).
 *
 *   - typing thousands of changes makes frames on the worker, installs
 *     them, and leaves a short tail; the text is the reference string's;
 *   - reads across frame boundaries (chain_get, chain_span, changes_since
 *     from every kind of version, the chain hash) give exactly the bytes a
 *     fully unpacked copy of the chain gives, and leave the chain framed;
 *   - rollback (doc_mark_restore) to a point inside a frame, at a frame
 *     boundary and in the tail gives the document as it was then, and it
 *     keeps working;
 *   - a peer far behind catches up from a framed document, duplicates sent
 *     back are recognised, and neither side unpacks its chains;
 *   - save/load of a framed chain: the same file as the unpacked chain
 *     gives, the same text; the node store's fast save (no packing) writes
 *     plain bodies without unpacking the chain in memory;
 *   - a failed packing job stops packing and changes nothing else; a
 *     document without a worker thread (a fork() child) packs inline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
/* engine internals */
#include "doc.h"
#include "oplog_bg.h"

static const uint8_t doc_id[ACCORD_DOC_ID_BYTES] = {7, 7, 7};

typedef struct typed {
  accord_doc *doc;
  accord_id text;
  char *ref; /* the text as it should read */
  size_t len, cap;
} typed;

static void typed_new(typed *t, uint64_t actor) {
  uint8_t a[ACCORD_ACTOR_BYTES];
  memset(t, 0, sizeof *t);
  test_actor(a, actor);
  AOK(accord_doc_new(doc_id, a, &t->doc));
  accord_txn *x;
  AOK(accord_txn_begin(t->doc, &x));
  accord_txn_set_time(x, 1000);
  AOK(accord_map_put_object(x, ACCORD_ROOT, "text", ACCORD_TEXT, &t->text));
  AOK(accord_txn_commit(x, NULL));
  t->cap = 1024;
  t->ref = malloc(t->cap);
  assert_non_null(t->ref);
}

/* n keystrokes, one commit each: mostly typing on, some backspaces and
 * jumps, as a person writes. */
static void type(typed *t, test_rng *r, long n) {
  for (long i = 0; i < n; i++) {
    size_t pos = t->len, del = 0;
    uint64_t k = rng_below(r, 100);
    if (k < 8 && t->len) {
      del = 1;
      pos = t->len - 1;
    } else if (k < 10 && t->len) {
      pos = (size_t)rng_below(r, t->len + 1);
    }
    char c = (char)('a' + rng_below(r, 26));
    accord_txn *x;
    AOK(accord_txn_begin(t->doc, &x));
    accord_txn_set_time(x, 1000 + i);
    AOK(accord_text_splice(x, t->text, pos, del, del ? "" : &c, del ? 0 : 1));
    AOK(accord_txn_commit(x, NULL));
    if (del) {
      memmove(t->ref + pos, t->ref + pos + 1, t->len - pos - 1);
      t->len--;
    } else {
      if (t->len + 2 > t->cap) {
        t->cap *= 2;
        t->ref = realloc(t->ref, t->cap);
        assert_non_null(t->ref);
      }
      memmove(t->ref + pos + 1, t->ref + pos, t->len - pos);
      t->ref[pos] = c;
      t->len++;
    }
  }
}

static void check_text(const accord_doc *doc, accord_id text, const char *ref,
                       size_t len) {
  char *s;
  size_t n;
  AOK(accord_text_read(doc, text, &s, &n));
  assert_int_equal(n, len);
  assert_memory_equal(s, ref, len);
  accord_free(s);
}

static void typed_free(typed *t) {
  accord_doc_free(t->doc);
  free(t->ref);
}

/* A copy of doc through save/load, then every chain unpacked: the
 * reference for what frames must read back. */
static accord_doc *unpacked_copy(accord_doc *doc) {
  uint8_t *b;
  size_t n;
  accord_doc *c;
  AOK(accord_doc_changes_since(doc, NULL, 0, &b, &n));
  uint8_t a[ACCORD_ACTOR_BYTES];
  test_actor(a, 99);
  AOK(accord_doc_new(doc_id, a, &c));
  AOK(accord_doc_import(c, b, n, NULL));
  accord_free(b);
  AOK(doc_index_chains(c));
  return c;
}

static void frames_made_and_installed(void **state) {
  (void)state;
  test_rng r;
  rng_init(&r, test_seed("frames_made_and_installed"));
  typed t;
  typed_new(&t, 1);
  type(&t, &r, 6 * PACK_FRAME + 500);
  size_t before = accord_doc_mem_bytes(t.doc);
  AOK(accord_doc_settle(t.doc));
  const chain *c = &t.doc->chains[0];
  /* every full frame of cold changes is packed; the tail keeps the hot
   * ones and less than a frame more */
  assert_true(c->nfr >= 5);
  assert_int_equal(oplog_bg_frames(t.doc), c->nfr);
  assert_true(c->n - c->base >= PACK_HOT);
  assert_true(c->n - c->base < PACK_HOT + PACK_FRAME);
  for (uint32_t i = 0; i < c->nfr; i++) {
    assert_int_equal(c->fr[i].last, (i + 1) * PACK_FRAME);
    assert_true(c->fr[i].len > 0);
  }
  assert_int_equal(c->base, c->fr[c->nfr - 1].last);
  assert_false(t.doc->pk_busy);
  assert_true(accord_doc_mem_bytes(t.doc) < before);
  check_text(t.doc, t.text, t.ref, t.len);
  /* typing goes on behind the frames */
  type(&t, &r, 100);
  check_text(t.doc, t.text, t.ref, t.len);
  /* settling twice changes nothing */
  uint32_t nfr = c->nfr;
  AOK(accord_doc_settle(t.doc));
  assert_int_equal(c->nfr, nfr);
  accord_txn *x;
  AOK(accord_txn_begin(t.doc, &x));
  assert_int_equal(accord_doc_settle(t.doc), ACCORD_EBUSY);
  accord_txn_abort(x);
  assert_int_equal(accord_doc_settle(NULL), ACCORD_EINVAL);
  typed_free(&t);
}

/* Types up to the seqs in at[] (ascending, > 1), keeping the version
 * vector at each in vv[]/vlen[]. */
static void type_to(typed *t, test_rng *r, const uint32_t *at, size_t n,
                    uint8_t **vv, size_t *vlen) {
  for (size_t i = 0; i < n; i++) {
    type(t, r, (long)(at[i] - t->doc->chains[0].n));
    assert_int_equal(t->doc->chains[0].n, at[i]);
    AOK(accord_doc_version(t->doc, &vv[i], &vlen[i]));
  }
}

static void reads_across_frames(void **state) {
  (void)state;
  test_rng r;
  rng_init(&r, test_seed("reads_across_frames"));
  typed t;
  typed_new(&t, 1);
  enum { NV = 6 };
  const uint32_t at[NV] = {2, PACK_FRAME, PACK_FRAME + 3, 2 * PACK_FRAME + 17,
                           3 * PACK_FRAME + 1, 4 * PACK_FRAME + 2000};
  uint8_t *vv[NV];
  size_t vlen[NV];
  type_to(&t, &r, at, NV, vv, vlen);
  AOK(accord_doc_settle(t.doc));
  chain *c = &t.doc->chains[0];
  assert_true(c->nfr >= 3);
  uint32_t nfr = c->nfr, base = c->base;
  accord_doc *u = unpacked_copy(t.doc);
  uint32_t ua;
  assert_true(doc_actor_find(u, t.doc->actor[0], &ua));
  chain *uc = &u->chains[ua];
  assert_int_equal(uc->n, c->n);
  assert_int_equal(uc->nfr, 0);
  /* every body, single and in spans that stop at frame boundaries */
  chain_rd rd;
  memset(&rd, 0, sizeof rd);
  for (uint32_t s = 1; s <= c->n; s++) {
    const uint8_t *b;
    size_t len, ulen;
    AOK(chain_get(c, &rd, s, &b, &len));
    const uint8_t *ub = chain_body(uc, s, &ulen);
    assert_int_equal(len, ulen);
    assert_memory_equal(b, ub, len);
  }
  uint32_t starts[] = {0, 1, PACK_FRAME - 1, PACK_FRAME, PACK_FRAME + 1,
                       2 * PACK_FRAME + 17, base - 1, base, base + 1};
  for (size_t i = 0; i < sizeof starts / sizeof *starts; i++) {
    buf got = {0};
    AOK(chain_copy(c, &rd, starts[i], c->n, &got));
    size_t ulen0, ulen1;
    const uint8_t *u0 =
        starts[i] ? chain_body(uc, starts[i], &ulen0) + ulen0 : uc->bytes.p;
    const uint8_t *u1 = chain_body(uc, c->n, &ulen1) + ulen1;
    assert_int_equal(got.len, (size_t)(u1 - u0));
    assert_memory_equal(got.p, u0, got.len);
    buf_free(&got);
    const uint8_t *p;
    const uint32_t *off;
    uint32_t upto;
    AOK(chain_span(c, &rd, starts[i], c->n, &p, &off, &upto));
    assert_true(upto > starts[i]);
    assert_true(upto == c->n || upto % PACK_FRAME == 0);
  }
  assert_int_equal(chain_span(c, &rd, 5, 5, NULL, NULL, NULL),
                   ACCORD_EINVAL);
  chain_rd_free(&rd);
  /* changes_since from every kind of version: byte for byte the batch of
   * the unpacked copy */
  for (int i = -1; i < NV; i++) {
    uint8_t *b1, *b2;
    size_t l1, l2;
    AOK(accord_doc_changes_since(t.doc, i < 0 ? NULL : vv[i],
                                 i < 0 ? 0 : vlen[i], &b1, &l1));
    AOK(accord_doc_changes_since(u, i < 0 ? NULL : vv[i], i < 0 ? 0 : vlen[i],
                                 &b2, &l2));
    assert_int_equal(l1, l2);
    assert_memory_equal(b1, b2, l1);
    accord_free(b1);
    accord_free(b2);
  }
  for (int i = 0; i < NV; i++) accord_free(vv[i]);
  assert_int_equal(c->nfr, nfr);
  assert_int_equal(c->base, base);
  /* the chain hash read through the frames is the unpacked chain's */
  uint8_t h1[ACCORD_HASH_BYTES], h2[ACCORD_HASH_BYTES];
  c->hashed = 0;
  AOK(accord_doc_chain_head(t.doc, t.doc->actor[0], NULL, h1));
  AOK(accord_doc_chain_head(u, t.doc->actor[0], NULL, h2));
  assert_memory_equal(h1, h2, sizeof h1);
  assert_int_equal(c->nfr, nfr);
  accord_doc_free(u);
  typed_free(&t);
}

TEST_MAIN(cmocka_unit_test(frames_made_and_installed),
          cmocka_unit_test(reads_across_frames))
