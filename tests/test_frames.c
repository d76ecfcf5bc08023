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
#include "sync_bg.h"

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
  /* a short chain is not packed, however cold */
  type(&t, &r, PACK_MIN_CHAIN - 2);
  AOK(accord_doc_settle(t.doc));
  assert_int_equal(t.doc->chains[0].nfr, 0);
  assert_false(t.doc->pk_busy);
  type(&t, &r, 6 * PACK_FRAME + 500 - (PACK_MIN_CHAIN - 2));
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
  memset(&c->hp, 0, sizeof c->hp);
  AOK(accord_doc_chain_head(t.doc, t.doc->actor[0], NULL, h1));
  AOK(accord_doc_chain_head(u, t.doc->actor[0], NULL, h2));
  assert_memory_equal(h1, h2, sizeof h1);
  assert_int_equal(c->nfr, nfr);
  accord_doc_free(u);
  typed_free(&t);
}

/* The base a settled chain of n changes reaches: every full frame of the
 * changes older than the hot ones. */
static uint32_t settled_base(uint32_t n) {
  return (n - PACK_HOT) / PACK_FRAME * PACK_FRAME;
}

/* Rolls back to a mark taken at seq `at` after typing to `total`: inside
 * a frame, at a frame boundary, in the tail; settled first or with a job
 * possibly in flight. The document reads as it did at the mark, its chain
 * ends there, and it keeps working. */
static void rollback_to(uint64_t seed, uint32_t at, uint32_t total,
                        int settle) {
  test_rng r;
  rng_init(&r, seed);
  typed t;
  typed_new(&t, 1);
  type(&t, &r, at - 1);
  assert_int_equal(t.doc->chains[0].n, at);
  doc_mark m;
  AOK(doc_mark_take(t.doc, &m));
  char *ref = malloc(t.len + 1), *json = test_json(t.doc);
  assert_non_null(ref);
  memcpy(ref, t.ref, t.len);
  size_t len = t.len;
  type(&t, &r, total - at);
  if (settle) {
    AOK(accord_doc_settle(t.doc));
    assert_int_equal(t.doc->chains[0].base, settled_base(total));
  }
  AOK(doc_mark_restore(t.doc, &m));
  const chain *c = &t.doc->chains[0];
  assert_int_equal(c->n, at);
  assert_true(c->base <= at);
  if (settle) /* the frames before the cut stay */
    assert_int_equal(c->base, at < settled_base(total)
                                  ? at / PACK_FRAME * PACK_FRAME
                                  : settled_base(total));
  char *again = test_json(t.doc);
  assert_string_equal(json, again);
  check_text(t.doc, t.text, ref, len);
  memcpy(t.ref, ref, len);
  t.len = len;
  /* it keeps working: typing on, packing on, a rebuild, a sync */
  type(&t, &r, 2 * PACK_FRAME);
  AOK(accord_doc_settle(t.doc));
  check_text(t.doc, t.text, t.ref, t.len);
  AOK(doc_rebuild(t.doc));
  check_text(t.doc, t.text, t.ref, t.len);
  accord_doc *u = unpacked_copy(t.doc);
  check_text(u, t.text, t.ref, t.len);
  accord_doc_free(u);
  accord_free(json);
  accord_free(again);
  free(ref);
  typed_free(&t);
}

static void rollback_across_frames(void **state) {
  (void)state;
  uint64_t seed = test_seed("rollback_across_frames");
  uint32_t total = 5 * PACK_FRAME + 1500, base = settled_base(total);
  rollback_to(seed, PACK_FRAME + 100, total, 1);  /* inside frame 1 */
  rollback_to(seed, 2 * PACK_FRAME, total, 1);    /* a frame boundary */
  rollback_to(seed, PACK_FRAME - 1, total, 1);    /* frame 0's last but one */
  rollback_to(seed, base + 100, total, 1);        /* in the tail */
  rollback_to(seed, PACK_FRAME + 100, total, 0);  /* a job may be running */
  rollback_to(seed, 2, total, 0);
}

/* A peer that has a few changes catches up from a framed document; what it
 * sends back is all duplicates; neither side unpacks its chains. Sealed
 * and verified, so the seal's hash is read through the frames too. */
static void sync_far_behind_peer(void **state) {
  (void)state;
  test_rng r;
  rng_init(&r, test_seed("sync_far_behind_peer"));
  static const uint8_t ws[ACCORD_WS_ID_BYTES] = {1, 2, 3};
  uint8_t pk[32], sk[64], actor[ACCORD_ACTOR_BYTES];
  AOK(accord_sign_keypair(pk, sk));
  AOK(accord_key_actor(pk, actor));
  typed a;
  memset(&a, 0, sizeof a);
  AOK(accord_doc_new(doc_id, actor, &a.doc));
  AOK(accord_doc_set_signer(a.doc, sk, ws));
  accord_txn *x;
  AOK(accord_txn_begin(a.doc, &x));
  AOK(accord_map_put_object(x, ACCORD_ROOT, "text", ACCORD_TEXT, &a.text));
  AOK(accord_txn_commit(x, NULL));
  a.cap = 1024;
  a.ref = malloc(a.cap);
  type(&a, &r, 100);
  uint8_t *b0, *b1, *vv;
  size_t l0, l1, vlen;
  AOK(accord_doc_changes_since(a.doc, NULL, 0, &b0, &l0));
  accord_doc *b;
  uint8_t ba[ACCORD_ACTOR_BYTES];
  test_actor(ba, 2);
  AOK(accord_doc_new(doc_id, ba, &b));
  AOK(accord_doc_set_workspace(b, ws));
  AOK(accord_doc_import(b, b0, l0, NULL));
  accord_free(b0);
  type(&a, &r, 6 * PACK_FRAME);
  AOK(accord_doc_settle(a.doc));
  const chain *c = &a.doc->chains[0];
  uint32_t nfr = c->nfr, base = c->base;
  assert_true(nfr >= 5);
  size_t mem = accord_doc_mem_bytes(a.doc);
  AOK(accord_doc_version(b, &vv, &vlen));
  AOK(accord_doc_changes_since(a.doc, vv, vlen, &b1, &l1));
  accord_free(vv);
  accord_import_stats st;
  b->pk_after = 1; /* as if the first job's grace had passed */
  AOK(accord_doc_import(b, b1, l1, &st));
  assert_int_equal(st.applied, 6 * PACK_FRAME);
  accord_free(b1);
  assert_int_equal(c->nfr, nfr); /* the sender read frames, kept them */
  assert_int_equal(c->base, base);
  assert_true(accord_doc_mem_bytes(a.doc) <= mem);
  check_text(b, a.text, a.ref, a.len);
  /* the import left b packing its long new tail: a verified bulk import
   * (seal checks on the same worker) waits for that job, then runs */
  assert_true(b->pk_busy);
  AOK(accord_doc_version(b, &vv, &vlen));
  type(&a, &r, 2 * BG_MIN);
  AOK(accord_doc_changes_since(a.doc, vv, vlen, &b1, &l1));
  accord_free(vv);
  AOK(accord_doc_import(b, b1, l1, &st));
  assert_int_equal(st.applied, 2 * BG_MIN);
  accord_free(b1);
  check_text(b, a.text, a.ref, a.len);
  AOK(accord_doc_settle(a.doc));
  nfr = c->nfr;
  base = c->base;
  mem = accord_doc_mem_bytes(a.doc);
  /* the sender read its frames one at a time and kept them */
  assert_int_equal(c->nfr, nfr);
  assert_int_equal(c->base, base);
  assert_true(accord_doc_mem_bytes(a.doc) <= mem);
  /* everything back: all duplicates, compared frame by frame */
  AOK(accord_doc_changes_since(b, NULL, 0, &b1, &l1));
  AOK(accord_doc_import(a.doc, b1, l1, &st));
  assert_int_equal(st.applied, 0);
  assert_int_equal(st.duplicates, 6 * PACK_FRAME + 2 * BG_MIN + 101);
  accord_free(b1);
  assert_int_equal(c->nfr, nfr);
  assert_int_equal(c->base, base);
  check_text(a.doc, a.text, a.ref, a.len);
  /* the importer packs what it received */
  AOK(accord_doc_settle(b));
  uint32_t ai;
  assert_true(doc_actor_find(b, actor, &ai));
  assert_true(b->chains[ai].nfr >= 5);
  check_text(b, a.text, a.ref, a.len);
  /* the seal, checked by b over hashes read through the frames */
  uint64_t sseq;
  AOK(accord_doc_chain_seal(b, actor, &sseq, NULL));
  assert_int_equal(sseq, c->n);
  accord_doc_free(b);
  typed_free(&a);
}

static void save_load_framed(void **state) {
  (void)state;
  test_rng r;
  rng_init(&r, test_seed("save_load_framed"));
  typed t;
  typed_new(&t, 1);
  type(&t, &r, 4 * PACK_FRAME + 3000);
  AOK(accord_doc_settle(t.doc));
  chain *c = &t.doc->chains[0];
  uint32_t nfr = c->nfr;
  assert_true(nfr >= 3);
  /* the node store's fast save: plain bodies, the chain stays framed */
  uint8_t *fast, *s1, *s2;
  size_t flen, l1, l2;
  AOK(doc_save(t.doc, 0, &fast, &flen));
  assert_int_equal(c->nfr, nfr);
  accord_doc *f;
  uint8_t la[ACCORD_ACTOR_BYTES];
  test_actor(la, 3);
  AOK(accord_doc_load(fast, flen, la, &f));
  check_text(f, t.text, t.ref, t.len);
  /* a save repacks into one frame: the same file as the unpacked chain */
  accord_doc *u = unpacked_copy(t.doc);
  AOK(accord_doc_save(t.doc, &s1, &l1));
  assert_int_equal(c->nfr, 1);
  assert_int_equal(c->base, c->n);
  accord_doc *l;
  AOK(accord_doc_load(s1, l1, la, &l));
  check_text(l, t.text, t.ref, t.len);
  uint8_t *bl, *bu;
  size_t lbl, lbu;
  AOK(accord_doc_changes_since(l, NULL, 0, &bl, &lbl));
  AOK(accord_doc_changes_since(u, NULL, 0, &bu, &lbu));
  assert_int_equal(lbl, lbu);
  assert_memory_equal(bl, bu, lbl);
  /* the same file as a chain that was never framed gives (both loaded
   * with the same local actor) */
  AOK(accord_doc_save(f, &s2, &l2));
  uint8_t *s3;
  size_t l3;
  AOK(accord_doc_save(l, &s3, &l3));
  assert_int_equal(l2, l3);
  assert_memory_equal(s2, s3, l2);
  /* typing on after the save frames again behind the one frame */
  type(&t, &r, 2 * PACK_FRAME);
  AOK(accord_doc_settle(t.doc));
  assert_true(c->nfr >= 2);
  assert_int_equal(c->fr[0].last, c->fr[1].last - PACK_FRAME);
  check_text(t.doc, t.text, t.ref, t.len);
  accord_free(fast);
  accord_free(s1);
  accord_free(s2);
  accord_free(s3);
  accord_free(bl);
  accord_free(bu);
  accord_doc_free(f);
  accord_doc_free(l);
  accord_doc_free(u);
  typed_free(&t);
}

/* A job that fails (as out of memory on the worker) stops packing; the
 * document goes on as one that never packs. */
static void failed_job_stops_packing(void **state) {
  (void)state;
  test_rng r;
  rng_init(&r, test_seed("failed_job_stops_packing"));
  typed t;
  typed_new(&t, 1);
  type(&t, &r, PACK_FRAME + 10);
  oplog_bg_fail_next(t.doc);
  type(&t, &r, PACK_MIN_CHAIN);
  AOK(accord_doc_settle(t.doc));
  const chain *c = &t.doc->chains[0];
  assert_int_equal(c->nfr, 0);
  assert_int_equal(oplog_bg_frames(t.doc), 0);
  check_text(t.doc, t.text, t.ref, t.len);
  accord_doc *u = unpacked_copy(t.doc);
  check_text(u, t.text, t.ref, t.len);
  accord_doc_free(u);
  typed_free(&t);
}

/* In a fork() child the worker thread stayed in the parent: jobs run
 * inline at the commit (or settle) that starts them, and frames still
 * come. */
static void no_worker_packs_inline(void **state) {
  (void)state;
  test_rng r;
  rng_init(&r, test_seed("no_worker_packs_inline"));
  typed t;
  typed_new(&t, 1);
  type(&t, &r, PACK_MIN_CHAIN + 10);
  AOK(accord_doc_settle(t.doc)); /* the pool exists, and is idle */
  uint32_t nfr = t.doc->chains[0].nfr;
  assert_int_equal(nfr, (PACK_MIN_CHAIN + 11 - PACK_HOT) / PACK_FRAME);
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int ok = 1;
    type(&t, &r, 3 * PACK_FRAME); /* cmocka asserts: exit non-zero */
    ok = ok && accord_doc_settle(t.doc) == 0;
    ok = ok && t.doc->chains[0].nfr == nfr + 3 && !t.doc->pk_busy;
    char *s;
    size_t n;
    ok = ok && accord_text_read(t.doc, t.text, &s, &n) == 0 && n == t.len &&
         !memcmp(s, t.ref, n);
    _exit(ok ? 0 : 1);
  }
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  typed_free(&t);
}

/* Freeing a document whose job may still run on the worker waits for it
 * (ASan and TSan see the rest). */
static void free_with_job_in_flight(void **state) {
  (void)state;
  test_rng r;
  rng_init(&r, test_seed("free_with_job_in_flight"));
  typed t;
  typed_new(&t, 1);
  t.doc->pk_after = 1; /* as if the first job's grace had passed */
  type(&t, &r, PACK_MIN_CHAIN + 10);
  assert_true(t.doc->pk_busy); /* posted at the commit that made it due */
  typed_free(&t);
}

/* chain_reserve on a tail behind frames and on an empty chain: afterwards
 * k appends of the reserved bytes move nothing, and every body reads back;
 * cutting back leaves the chain as it was. */
static void reserve_then_append(chain *c, uint32_t k) {
  chain h = *c; /* the head to cut back to */
  const uint8_t *body;
  size_t blen;
  chain_rd rd;
  memset(&rd, 0, sizeof rd);
  static const uint8_t none[12] = {1, 2, 0x90, 0x90, 0xc0, 0x90}; /* bytes */
  if (c->n) AOK(chain_get(c, &rd, c->n, &body, &blen));
  else body = none, blen = sizeof none;
  uint8_t *copy = malloc(blen);
  assert_non_null(copy);
  memcpy(copy, body, blen);
  chain_rd_free(&rd);
  AOK(chain_reserve(c, k, k * blen));
  const uint32_t *off = c->off;
  const uint8_t *bytes = c->bytes.p;
  uint32_t n = c->n;
  for (uint32_t i = 0; i < k; i++) AOK(chain_append(c, copy, blen, 1, 1));
  assert_ptr_equal(c->off, off);
  assert_ptr_equal(c->bytes.p, bytes);
  assert_int_equal(c->n, n + k);
  for (uint32_t s = n + 1; s <= c->n; s++) {
    AOK(chain_get(c, &rd, s, &body, &blen));
    assert_memory_equal(body, copy, blen);
  }
  chain_rd_free(&rd);
  free(copy);
  chain_truncate(c, h.n ? &h : NULL);
  assert_int_equal(c->n, n);
}

static void chain_reserve_appends_in_place(void **state) {
  (void)state;
  test_rng r;
  rng_init(&r, test_seed("chain_reserve_appends_in_place"));
  typed t;
  typed_new(&t, 1);
  type(&t, &r, 5 * PACK_FRAME + 700);
  AOK(accord_doc_settle(t.doc));
  type(&t, &r, 40); /* a tail behind the frames */
  chain *c = &t.doc->chains[0];
  assert_true(c->nfr >= 1 && c->base < c->n);
  reserve_then_append(c, 1000);
  reserve_then_append(c, 2);
  check_text(t.doc, t.text, t.ref, t.len);
  type(&t, &r, 50); /* the chain still takes commits */
  check_text(t.doc, t.text, t.ref, t.len);
  typed_free(&t);
  chain e;
  memset(&e, 0, sizeof e);
  reserve_then_append(&e, 300);
  chain_free(&e);
}

TEST_MAIN(cmocka_unit_test(frames_made_and_installed),
          cmocka_unit_test(chain_reserve_appends_in_place),
          cmocka_unit_test(reads_across_frames),
          cmocka_unit_test(rollback_across_frames),
          cmocka_unit_test(sync_far_behind_peer),
          cmocka_unit_test(save_load_framed),
          cmocka_unit_test(failed_job_stops_packing),
          cmocka_unit_test(no_worker_packs_inline),
          cmocka_unit_test(free_with_job_in_flight))
