/*
 * test_seal.c — seals (DESIGN §4): attacks on changes in transit that must
 * fail, each with the error it gets and the target document unchanged, and
 * the paths that must work.
 *
 * Attacks: a relay flips one bit of a change; an outsider forges a change
 * under a member's actor (with its own key, or claiming the member's key);
 * a chain is truncated and extended with a fake change (carrying an older
 * genuine seal); unsealed changes reach a verifying document; an old batch
 * version; every single-bit change of a sealed batch. Working paths: a replayed batch is a no-op; reordered batches
 * and missing deps still wait in pending; A's changes reach C through B with
 * A's seal; save/load keeps seals (also waiting ones); node documents seal
 * with the node's identity.
 *
 * The attacks rewrite batches at the byte level with the engine's msgpack
 * codec (core/mp.h), as a hostile relay would.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_testutil.h"
#include "testutil.h"

#include "change.h"
#include "crypto.h"
#include "mp.h"
#include "node_net.h"
#include "sum.h"
#include "sync.h"

static const uint8_t doc_id[ACCORD_DOC_ID_BYTES] = {0xd0, 0xc5, 1, 2, 3};
static const uint8_t ws_id[ACCORD_WS_ID_BYTES] = {0x77, 0x73, 9, 8, 7};

/* A replica with its own key pair, signing for ws_id. */
typedef struct member {
  uint8_t pk[32], sk[64], actor[8];
  accord_doc *doc;
} member;

static void member_new(member *m) {
  AOK(accord_sign_keypair(m->pk, m->sk));
  AOK(accord_key_actor(m->pk, m->actor));
  AOK(accord_doc_new(doc_id, m->actor, &m->doc));
  AOK(accord_doc_set_signer(m->doc, m->sk, ws_id));
}

static void member_free(member *m) { accord_doc_free(m->doc); }

static void put_str(accord_doc *doc, const char *key, const char *s) {
  accord_txn *t;
  accord_value v = accord_str(s, strlen(s));
  AOK(accord_txn_begin(doc, &t));
  AOK(accord_map_put(t, ACCORD_ROOT, key, &v));
  AOK(accord_txn_commit(t, NULL));
}

/* The changes dst lacks from src. Free with accord_free. */
static uint8_t *batch_for(accord_doc *src, accord_doc *dst, size_t *len) {
  uint8_t *vv, *out;
  size_t vlen;
  AOK(accord_doc_version(dst, &vv, &vlen));
  AOK(accord_doc_changes_since(src, vv, vlen, &out, len));
  accord_free(vv);
  return out;
}

/* Imports and expects rc, with dst's JSON unchanged when rc != 0. */
static void import_expect(accord_doc *dst, const uint8_t *b, size_t len,
                          int want) {
  char *before = test_json(dst);
  accord_import_stats st;
  int rc = accord_doc_import(dst, b, len, &st);
  if (rc != want)
    fail_msg("import -> %s, wanted %s", accord_err_name(rc),
             accord_err_name(want));
  if (rc) {
    char *after = test_json(dst);
    assert_string_equal(before, after);
    accord_free(after);
  }
  accord_free(before);
}

/* ---- batches taken apart and put together -------------------------------- */

/* One chain of a batch that holds exactly one (doc id in doc_id). */
typedef struct onechain {
  uint8_t actor[8];
  uint64_t first;
  const uint8_t *seal; /* 96 bytes or NULL */
  const uint8_t *bodies;
  size_t blen;
  uint32_t n;
} onechain;

static void parse_one(const uint8_t *b, size_t len, onechain *o) {
  mp_reader r;
  uint32_t n, na, nc, fields;
  uint64_t version, ref;
  const uint8_t *p;
  size_t l;
  mp_reader_init(&r, b, len);
  assert_int_equal(mp_get_array(&r, &n), 0);
  assert_int_equal(mp_get_uint(&r, &version), 0);
  assert_int_equal(mp_get_bin(&r, &p, &l), 0);
  assert_int_equal(mp_get_array(&r, &na), 0);
  assert_int_equal(na, 1);
  assert_int_equal(mp_get_bin(&r, &p, &l), 0);
  memcpy(o->actor, p, 8);
  assert_int_equal(mp_get_array(&r, &nc), 0);
  assert_int_equal(nc, 1);
  assert_int_equal(mp_get_array(&r, &fields), 0);
  assert_int_equal(mp_get_uint(&r, &ref), 0);
  assert_int_equal(mp_get_uint(&r, &o->first), 0);
  o->seal = NULL;
  if (!mp_try_nil(&r)) {
    assert_int_equal(mp_get_bin(&r, &o->seal, &l), 0);
    assert_int_equal(l, 96);
  }
  o->bodies = r.p;
  o->blen = mp_left(&r);
  o->n = (fields - 3) / 6;
}

/* A batch of one chain; bodies are the concatenation of n bodies. */
static uint8_t *make_batch(const uint8_t *actor, uint64_t first,
                           const uint8_t *seal, const uint8_t *bodies,
                           size_t blen, uint32_t n, size_t *len) {
  buf b = {0};
  mp_put_array(&b, 4);
  mp_put_uint(&b, BATCH_VERSION);
  mp_put_bin(&b, doc_id, ACCORD_DOC_ID_BYTES);
  mp_put_array(&b, 1);
  mp_put_bin(&b, actor, 8);
  mp_put_array(&b, 1);
  mp_put_array(&b, 3 + 6 * n);
  mp_put_uint(&b, 0);
  mp_put_uint(&b, first);
  if (seal) mp_put_bin(&b, seal, 96);
  else mp_put_nil(&b);
  buf_put(&b, bodies, blen);
  assert_int_equal(b.err, 0);
  *len = b.len;
  return b.p;
}

static uint8_t *find_bytes(uint8_t *hay, size_t n, const void *needle,
                           size_t m) {
  for (size_t i = 0; i + m <= n; i++)
    if (!memcmp(hay + i, needle, m)) return hay + i;
  return NULL;
}


/* ---- sealed cut points (node_net_batch, checkpoints) -------------------- */

/* n changes of about 130 bytes of bodies each. */
static void put_many(accord_doc *doc, int n, const char *tag) {
  char key[32], v[101];
  memset(v, 'v', 100);
  v[100] = 0;
  for (int i = 0; i < n; i++) {
    snprintf(key, sizeof key, "%s%d", tag, i);
    put_str(doc, key, v);
  }
}

static const chain *chain_of(const accord_doc *doc, const uint8_t *actor,
                             uint32_t *ai) {
  uint32_t a;
  assert_true(doc_actor_find(doc, actor, &a));
  if (ai) *ai = a;
  return &doc->chains[a];
}

/* Every checkpoint of actor's chain checks against the chain, ascending,
 * below the latest seal. */
static void cps_verify(accord_doc *doc, const uint8_t *actor) {
  uint32_t a;
  const chain *c = chain_of(doc, actor, &a);
  for (uint32_t i = 0; i < c->ncps; i++) {
    const chain_seal *s = &c->cps[i];
    assert_true(s->seq < c->seal.seq && s->seq <= c->n);
    if (i) assert_true(s->seq > c->cps[i - 1].seq);
    hashchain h;
    hashchain_pos at;
    chain_rd r;
    memset(&r, 0, sizeof r);
    AOK(chain_hasher(doc, a, &r, s->seq, &h));
    chain_rd_free(&r);
    hashchain_pos_of(&h, &at);
    uint8_t ps[96];
    memcpy(ps, s->pk, 32);
    memcpy(ps + 32, s->sig, 64);
    assert_true(seal_check(doc, a, s->seq, at.hash, ps));
  }
}

/* Checks that every chain src's batch cuts ends at a seal src holds for it
 * (one made for the cut for src's own chain): another author's chain ends
 * at its latest seal or at one of its checkpoints, carrying that seal.
 * Returns how many chains ended at a checkpoint. */
static int check_cuts(accord_doc *src, const uint8_t *b, size_t len) {
  mp_reader r;
  uint32_t n, na, nc, fields;
  uint64_t version, ref, first;
  const uint8_t *p, *actors[16];
  size_t l;
  int at_cp = 0;
  mp_reader_init(&r, b, len);
  AOK(mp_get_array(&r, &n));
  AOK(mp_get_uint(&r, &version));
  AOK(mp_get_bin(&r, &p, &l));
  AOK(mp_get_array(&r, &na));
  assert_true(na <= 16);
  for (uint32_t i = 0; i < na; i++) AOK(mp_get_bin(&r, &actors[i], &l));
  AOK(mp_get_array(&r, &nc));
  for (uint32_t i = 0; i < nc; i++) {
    AOK(mp_get_array(&r, &fields));
    AOK(mp_get_uint(&r, &ref));
    AOK(mp_get_uint(&r, &first));
    const uint8_t *seal = NULL;
    if (!mp_try_nil(&r)) {
      AOK(mp_get_bin(&r, &seal, &l));
      assert_int_equal(l, 96);
    }
    uint32_t k = (fields - 3) / 6, last = (uint32_t)first + k - 1;
    AOK(mp_skip_n(&r, fields - 3));
    uint32_t a;
    const chain *c = chain_of(src, actors[ref], &a);
    if (!seal) fail_msg("a chain ending at %u goes unsealed", last);
    if (a == 0) continue; /* checked by the importer */
    if (c->seal.seq == last) {
      assert_memory_equal(seal, c->seal.pk, 32);
      assert_memory_equal(seal + 32, c->seal.sig, 64);
      continue;
    }
    uint32_t j = 0;
    while (j < c->ncps && c->cps[j].seq != last) j++;
    if (j == c->ncps) fail_msg("a cut at %u, at no kept seal", last);
    assert_memory_equal(seal, c->cps[j].pk, 32);
    assert_memory_equal(seal + 32, c->cps[j].sig, 64);
    at_cp++;
  }
  assert_true(r.p == r.end);
  return at_cp;
}

/* Moves what dst lacks of src in batches of node_net_batch (max bytes of
 * bodies, limit), each imported; checks the cuts. Returns the number of
 * batches; *cut_at_cp counts chains cut at checkpoints. */
static int cut_sync(accord_doc *src, accord_doc *dst, size_t max, size_t lim,
                    int *cut_at_cp) {
  store_heads known = {0};
  AOK(node_net_version(dst, &known));
  int batches = 0, more = 1, cps = 0;
  while (more) {
    buf b = {0};
    uint32_t n;
    AOK(node_net_batch(src, &known, max, lim, &b, &n, &more));
    cps += check_cuts(src, b.p, b.len);
    accord_import_stats st;
    int rc = accord_doc_import(dst, b.p, b.len, &st);
    if (rc) fail_msg("batch %d: import -> %s", batches, accord_err_name(rc));
    assert_int_equal(st.pending, 0);
    buf_free(&b);
    assert_true(++batches < 100000);
  }
  store_heads_free(&known);
  if (cut_at_cp) *cut_at_cp = cps;
  return batches;
}

static void same_json(accord_doc *x, accord_doc *y) {
  char *jx = test_json(x), *jy = test_json(y);
  assert_string_equal(jx, jy);
  accord_free(jx);
  accord_free(jy);
}

/* A chain larger than a batch reaches a verifying document from its
 * author: every cut carries a seal the author made for it. */
static void cut_own_chain_sealed(void **state) {
  (void)state;
  member a, b;
  member_new(&a);
  member_new(&b);
  put_many(a.doc, 300, "k");
  int batches = cut_sync(a.doc, b.doc, 2000, 2000, NULL);
  printf("%d batches\n", batches);
  assert_true(batches >= 10);
  same_json(a.doc, b.doc);
  uint64_t seq;
  AOK(accord_doc_chain_seal(b.doc, a.actor, &seq, NULL));
  assert_int_equal(seq, 300);
  /* the author's head seal is its own, not a cut's */
  AOK(accord_doc_chain_seal(a.doc, a.actor, &seq, NULL));
  assert_int_equal(seq, 300);
  member_free(&a);
  member_free(&b);
}

/* A relay that received a large chain in sealed pieces keeps those seals
 * as checkpoints and cuts the chain only there: at the furthest that fits
 * the budget, or the first past it (within the limit); after save/load as
 * well. With no kept seal within the limit it sends the cut unsealed, as
 * before checkpoints, and a verifying receiver refuses it. */
static void relay_cuts_at_checkpoints(void **state) {
  (void)state;
  uint64_t spacing = seal_checkpoint_bytes;
  seal_checkpoint_bytes = 1500;
  member a, b, c, d, e, f;
  member_new(&a);
  member_new(&b);
  member_new(&c);
  member_new(&d);
  member_new(&e);
  member_new(&f);
  put_many(a.doc, 300, "k");
  put_str(b.doc, "b", "relay's own");
  cut_sync(a.doc, b.doc, 4000, 4000, NULL);
  const chain *ca = chain_of(b.doc, a.actor, NULL);
  printf("relay: %u checkpoints\n", ca->ncps);
  assert_true(ca->ncps >= 8);
  cps_verify(b.doc, a.actor);
  /* the first kept seal past the budget */
  int at_cp = 0;
  int nb = cut_sync(b.doc, c.doc, 3000, 1 << 20, &at_cp);
  assert_int_equal(at_cp, (int)ca->ncps);
  assert_int_equal(nb, (int)ca->ncps + 1);
  same_json(b.doc, c.doc);
  /* the furthest kept seal within the budget */
  nb = cut_sync(b.doc, d.doc, 9000, 9000, &at_cp);
  assert_true(at_cp > 0 && at_cp < (int)ca->ncps);
  assert_true(nb < (int)ca->ncps);
  same_json(b.doc, d.doc);
  /* saved and loaded, the relay keeps its checkpoints */
  uint8_t *saved;
  size_t len;
  AOK(accord_doc_save(b.doc, &saved, &len));
  accord_doc *b2;
  AOK(accord_doc_load(saved, len, b.actor, &b2));
  accord_free(saved);
  AOK(accord_doc_set_signer(b2, b.sk, ws_id));
  const chain *c2 = chain_of(b2, a.actor, NULL);
  assert_int_equal(c2->ncps, ca->ncps);
  for (uint32_t i = 0; i < ca->ncps; i++) {
    assert_int_equal(c2->cps[i].seq, ca->cps[i].seq);
    assert_memory_equal(c2->cps[i].sig, ca->cps[i].sig, 64);
  }
  cut_sync(b2, e.doc, 3000, 1 << 20, &at_cp);
  assert_int_equal(at_cp, (int)ca->ncps);
  same_json(b.doc, e.doc);
  /* no kept seal within the limit: unsealed, refused */
  store_heads known = {0};
  buf bb = {0};
  uint32_t n;
  int more;
  AOK(node_net_version(f.doc, &known));
  AOK(node_net_batch(b.doc, &known, 1000, 1000, &bb, &n, &more));
  assert_true(more);
  assert_int_equal(accord_doc_import(f.doc, bb.p, bb.len, NULL),
                   ACCORD_ESEAL);
  buf_free(&bb);
  store_heads_free(&known);
  accord_doc_free(b2);
  member_free(&a);
  member_free(&b);
  member_free(&c);
  member_free(&d);
  member_free(&e);
  member_free(&f);
  seal_checkpoint_bytes = spacing;
}

/* Seals that arrive one small batch at a time (gossip) are thinned to the
 * spacing: consecutive kept seals at most that far apart (each batch is
 * smaller), any two checkpoints apart by one in between more than it. */
static void checkpoints_spaced(void **state) {
  (void)state;
  uint64_t spacing = seal_checkpoint_bytes;
  seal_checkpoint_bytes = 2000;
  member a, b;
  member_new(&a);
  member_new(&b);
  for (int i = 0; i < 400; i++) {
    put_many(a.doc, 1 + i % 3, i % 2 ? "odd" : "even");
    size_t len;
    uint8_t *x = batch_for(a.doc, b.doc, &len);
    AOK(accord_doc_import(b.doc, x, len, NULL));
    accord_free(x);
  }
  uint32_t ci;
  const chain *c = chain_of(b.doc, a.actor, &ci);
  chain *cw = &b.doc->chains[ci];
  uint64_t total, gap;
  chain_rd r;
  memset(&r, 0, sizeof r);
  AOK(chain_bytes(cw, &r, 0, c->n, &total));
  printf("%u checkpoints for %llu bytes\n", c->ncps,
         (unsigned long long)total);
  assert_true(c->ncps >= total / 2000 - 1);
  assert_true(c->ncps < 2 * total / 2000 + 1);
  uint32_t prev = 0;
  for (uint32_t i = 0; i <= c->ncps; i++) {
    uint32_t at = i < c->ncps ? c->cps[i].seq : c->seal.seq;
    AOK(chain_bytes(cw, &r, prev, at, &gap));
    assert_true(gap <= 2000);
    if (i + 1 < c->ncps) {
      AOK(chain_bytes(cw, &r, prev, c->cps[i + 1].seq, &gap));
      assert_true(gap > 2000);
    }
    prev = at;
  }
  chain_rd_free(&r);
  cps_verify(b.doc, a.actor);
  member_free(&a);
  member_free(&b);
  seal_checkpoint_bytes = spacing;
}

/* Flips a bit of the signature of the seal of pk's key in batch x. */
static void spoil_seal(uint8_t *x, size_t len, const uint8_t *pk) {
  uint8_t *at = find_bytes(x, len, pk, 32);
  assert_non_null(at);
  at[32 + 10] ^= 0x04;
}

/* Hostile batches add no checkpoint: a bad seal that waited in pending, a
 * seal of another key, a bad signature. Only seals that verified are
 * kept (with the spacing at 1 byte, every replaced one would be). */
static void hostile_adds_no_checkpoint(void **state) {
  (void)state;
  uint64_t spacing = seal_checkpoint_bytes;
  seal_checkpoint_bytes = 1;
  member a, b, c, d;
  member_new(&a);
  member_new(&b);
  member_new(&c);
  member_new(&d);
  size_t len, plen, alen;
  put_many(a.doc, 3, "x");
  uint8_t *x = batch_for(a.doc, b.doc, &len);
  AOK(accord_doc_import(b.doc, x, len, NULL));
  accord_free(x);
  put_many(a.doc, 3, "y");
  uint8_t *ba = batch_for(a.doc, b.doc, &alen); /* 4..6, sealed at 6 */
  x = batch_for(a.doc, d.doc, &len);
  AOK(accord_doc_import(d.doc, x, len, NULL));
  accord_free(x);
  put_many(a.doc, 3, "z");
  uint8_t *bp = batch_for(a.doc, d.doc, &plen); /* 7..9, sealed at 9 */
  spoil_seal(bp, plen, a.pk);
  accord_import_stats st;
  AOK(accord_doc_import(b.doc, bp, plen, &st)); /* waits: 4..6 missing */
  assert_int_equal(st.pending, 3);
  const chain *ca = chain_of(b.doc, a.actor, NULL);
  assert_int_equal(ca->ncps, 0);
  AOK(accord_doc_import(b.doc, ba, alen, &st));
  ca = chain_of(b.doc, a.actor, NULL);
  assert_int_equal(ca->n, 6);
  assert_int_equal(ca->seal.seq, 6);
  assert_int_equal(ca->ncps, 1);
  assert_int_equal(ca->cps[0].seq, 3);
  assert_int_equal(st.pending, 0); /* the bad run was dropped */
  cps_verify(b.doc, a.actor);
  /* 7..9 with c's key in place of a's, or a bad signature */
  x = batch_for(a.doc, b.doc, &len);
  uint8_t *at = find_bytes(x, len, a.pk, 32);
  assert_non_null(at);
  uint8_t keep[96];
  memcpy(keep, at, 96);
  memcpy(at, c.pk, 32);
  import_expect(b.doc, x, len, ACCORD_EKEY);
  memcpy(at, keep, 96);
  at[32 + 5] ^= 0x01;
  import_expect(b.doc, x, len, ACCORD_ESEAL);
  ca = chain_of(b.doc, a.actor, NULL);
  assert_int_equal(ca->ncps, 1);
  assert_int_equal(ca->seal.seq, 6);
  at[32 + 5] ^= 0x01; /* the genuine one */
  AOK(accord_doc_import(b.doc, x, len, NULL));
  ca = chain_of(b.doc, a.actor, NULL);
  assert_int_equal(ca->ncps, 2);
  assert_int_equal(ca->cps[1].seq, 6);
  assert_int_equal(ca->seal.seq, 9);
  cps_verify(b.doc, a.actor);
  accord_free(x);
  accord_free(ba);
  accord_free(bp);
  member_free(&a);
  member_free(&b);
  member_free(&c);
  member_free(&d);
  seal_checkpoint_bytes = spacing;
}

/* An import that fails after one chain adopted a seal (keeping the one it
 * replaced as a checkpoint) leaves the checkpoints as they were. */
static void failed_import_keeps_checkpoints(void **state) {
  (void)state;
  uint64_t spacing = seal_checkpoint_bytes;
  seal_checkpoint_bytes = 1;
  member a, e, b, g;
  member_new(&a);
  member_new(&e);
  member_new(&b);
  member_new(&g);
  size_t len;
  put_many(a.doc, 2, "x");
  uint8_t *x = batch_for(a.doc, b.doc, &len);
  AOK(accord_doc_import(b.doc, x, len, NULL));
  accord_free(x);
  put_many(a.doc, 2, "y");
  put_many(e.doc, 2, "e");
  x = batch_for(a.doc, g.doc, &len);
  AOK(accord_doc_import(g.doc, x, len, NULL));
  accord_free(x);
  x = batch_for(e.doc, g.doc, &len);
  AOK(accord_doc_import(g.doc, x, len, NULL));
  accord_free(x);
  /* a's 3..4 (applied first: a is b's actor 1) then e's 1..2, spoilt */
  x = batch_for(g.doc, b.doc, &len);
  spoil_seal(x, len, e.pk);
  import_expect(b.doc, x, len, ACCORD_ESEAL);
  const chain *ca = chain_of(b.doc, a.actor, NULL);
  assert_int_equal(ca->n, 2);
  assert_int_equal(ca->seal.seq, 2);
  assert_int_equal(ca->ncps, 0);
  spoil_seal(x, len, e.pk); /* back as it was */
  AOK(accord_doc_import(b.doc, x, len, NULL));
  ca = chain_of(b.doc, a.actor, NULL);
  assert_int_equal(ca->seal.seq, 4);
  assert_int_equal(ca->ncps, 1);
  assert_int_equal(ca->cps[0].seq, 2);
  cps_verify(b.doc, a.actor);
  accord_free(x);
  member_free(&a);
  member_free(&e);
  member_free(&b);
  member_free(&g);
  seal_checkpoint_bytes = spacing;
}

/* A chain cut back (chain_truncate: forks, member removal) drops the
 * checkpoints past the cut and keeps the rest. */
static void truncate_drops_checkpoints(void **state) {
  (void)state;
  uint64_t spacing = seal_checkpoint_bytes;
  seal_checkpoint_bytes = 1;
  member a, b;
  member_new(&a);
  member_new(&b);
  for (int i = 0; i < 5; i++) { /* seals at 2, 4, 6, 8, 10 */
    put_many(a.doc, 2, i % 2 ? "p" : "q");
    size_t len;
    uint8_t *x = batch_for(a.doc, b.doc, &len);
    AOK(accord_doc_import(b.doc, x, len, NULL));
    accord_free(x);
  }
  uint32_t ai;
  chain_of(b.doc, a.actor, &ai);
  chain *c = &b.doc->chains[ai];
  assert_int_equal(c->ncps, 4);
  chain h = *c;
  h.n = 5;
  chain_truncate(c, &h);
  assert_int_equal(c->n, 5);
  assert_int_equal(c->ncps, 2);
  assert_int_equal(c->cps[0].seq, 2);
  assert_int_equal(c->cps[1].seq, 4);
  chain_truncate(c, NULL);
  assert_int_equal(c->ncps, 0);
  member_free(&a);
  member_free(&b);
  seal_checkpoint_bytes = spacing;
}

/* ---- the working paths --------------------------------------------------- */

static void sealed_batch_imports(void **state) {
  (void)state;
  member a, b;
  member_new(&a);
  member_new(&b);
  put_str(a.doc, "x", "one");
  put_str(a.doc, "y", "two");
  size_t len;
  uint8_t *batch = batch_for(a.doc, b.doc, &len);
  accord_import_stats st;
  AOK(accord_doc_import(b.doc, batch, len, &st));
  assert_int_equal(st.applied, 2);
  uint64_t seq;
  uint8_t pk[32];
  AOK(accord_doc_chain_seal(b.doc, a.actor, &seq, pk));
  assert_int_equal(seq, 2);
  assert_memory_equal(pk, a.pk, 32);
  /* the sender sealed its own head, once */
  AOK(accord_doc_chain_seal(a.doc, a.actor, &seq, NULL));
  assert_int_equal(seq, 2);
  char *ja = test_json(a.doc), *jb = test_json(b.doc);
  assert_string_equal(ja, jb);
  accord_free(ja);
  accord_free(jb);
  accord_free(batch);
  /* a signer whose key is not the document's actor */
  uint8_t pk2[32], sk2[64];
  AOK(accord_sign_keypair(pk2, sk2));
  assert_int_equal(accord_doc_set_signer(b.doc, sk2, ws_id), ACCORD_EINVAL);
  member_free(&a);
  member_free(&b);
}


/* A document saved by the build before the chain was hashed in segments
 * (save format 5, the same layout as 6) loads, without the seals it held:
 * they sign the old chain hash and would not check. The loaded relay no
 * longer forwards A's changes until a sealed batch of A's arrives; its
 * own chain is sealed again when it sends. */
static void save_format_5_drops_seals(void **state) {
  (void)state;
  member a, b, c;
  member_new(&a);
  member_new(&b);
  member_new(&c);
  put_str(b.doc, "y", "b's"); /* B's own change needs nothing of A's */
  put_str(a.doc, "x", "one");
  size_t l1, len;
  uint8_t *b1 = batch_for(a.doc, b.doc, &l1);
  AOK(accord_doc_import(b.doc, b1, l1, NULL));
  uint8_t *saved;
  AOK(accord_doc_save(b.doc, &saved, &len));
  AOK(accord_doc_chain_seal(b.doc, a.actor, NULL, NULL));
  /* the version byte follows the array header and the 10-byte magic; the
   * checksum is the last value, a uint64 over every byte before it */
  assert_int_equal(saved[12], 7); /* the current version */
  saved[12] = 5;
  assert_true(len > 9 && saved[len - 9] == 0xcf);
  uint64_t sum = sum64(saved, len - 9);
  for (int k = 0; k < 8; k++)
    saved[len - 8 + k] = (uint8_t)(sum >> (56 - 8 * k));
  accord_doc *old;
  AOK(accord_doc_load(saved, len, b.actor, &old));
  accord_free(saved);
  assert_int_equal(accord_doc_chain_seal(old, a.actor, NULL, NULL),
                   ACCORD_ENOTFOUND);
  AOK(accord_doc_set_signer(old, b.sk, ws_id));
  /* what it sends a verifying peer imports: B's own chain, sealed anew */
  uint8_t *fw = batch_for(old, c.doc, &len);
  accord_import_stats st;
  AOK(accord_doc_import(c.doc, fw, len, &st));
  accord_free(fw);
  assert_int_equal(st.applied, 1);
  assert_int_equal(st.pending, 0);
  uint64_t seq;
  AOK(accord_doc_chain_seal(c.doc, b.actor, &seq, NULL));
  assert_int_equal(seq, 1);
  /* A's next sealed batch brings A's seal back */
  put_str(a.doc, "x", "two");
  uint8_t *b2 = batch_for(a.doc, old, &len);
  AOK(accord_doc_import(old, b2, len, NULL));
  accord_free(b2);
  AOK(accord_doc_chain_seal(old, a.actor, &seq, NULL));
  assert_int_equal(seq, 2);
  accord_free(b1);
  accord_doc_free(old);
  member_free(&a);
  member_free(&b);
  member_free(&c);
}
/* The signed bytes are the documented layout (core/seal.c, docs/engine.md):
 * a change to it must be deliberate, and must change this test. */
static void seal_layout_is_documented(void **state) {
  (void)state;
  member a;
  member_new(&a);
  put_str(a.doc, "x", "one");
  put_str(a.doc, "x", "two");
  uint8_t *batch;
  size_t len;
  AOK(accord_doc_changes_since(a.doc, NULL, 0, &batch, &len));
  onechain o;
  parse_one(batch, len, &o);
  assert_non_null(o.seal);
  assert_memory_equal(o.seal, a.pk, 32);
  uint64_t seq;
  uint8_t hash[ACCORD_HASH_BYTES], m[94], *p = m;
  AOK(accord_doc_chain_head(a.doc, a.actor, &seq, hash));
  assert_int_equal(seq, 2);
  memcpy(p, "accord-seal-v1", 14);
  p += 14;
  memcpy(p, ws_id, 16);
  p += 16;
  memcpy(p, doc_id, 16);
  p += 16;
  memcpy(p, a.actor, 8);
  p += 8;
  for (int i = 7; i >= 0; i--) *p++ = (uint8_t)(seq >> (8 * i));
  memcpy(p, hash, 32);
  assert_true(sign_verify(o.seal + 32, m, sizeof m, a.pk));
  m[14] ^= 1; /* another workspace */
  assert_false(sign_verify(o.seal + 32, m, sizeof m, a.pk));
  accord_free(batch);
  member_free(&a);
}

static void replay_is_noop(void **state) {
  (void)state;
  member a, b;
  member_new(&a);
  member_new(&b);
  put_str(a.doc, "x", "one");
  put_str(a.doc, "y", "two");
  size_t len;
  uint8_t *batch = batch_for(a.doc, b.doc, &len);
  AOK(accord_doc_import(b.doc, batch, len, NULL));
  char *before = test_json(b.doc);
  accord_import_stats st;
  AOK(accord_doc_import(b.doc, batch, len, &st));
  assert_int_equal(st.applied, 0);
  assert_int_equal(st.duplicates, 2);
  assert_int_equal(st.pending, 0);
  char *after = test_json(b.doc);
  assert_string_equal(before, after);
  accord_free(before);
  accord_free(after);
  accord_free(batch);
  member_free(&a);
  member_free(&b);
}

static void reordered_batches_wait(void **state) {
  (void)state;
  member a, b, c;
  member_new(&a);
  member_new(&b);
  member_new(&c);
  /* A's own chain out of order: 2 arrives before 1 */
  put_str(a.doc, "x", "one");
  size_t l1, l2, l3;
  uint8_t *b1 = batch_for(a.doc, c.doc, &l1);
  AOK(accord_doc_import(b.doc, b1, l1, NULL));
  put_str(a.doc, "x", "two");
  uint8_t *b2 = batch_for(a.doc, b.doc, &l2);
  accord_import_stats st;
  AOK(accord_doc_import(c.doc, b2, l2, &st));
  assert_int_equal(st.applied, 0);
  assert_int_equal(st.pending, 1);
  assert_int_equal(accord_doc_chain_seal(c.doc, a.actor, NULL, NULL),
                   ACCORD_ENOTFOUND);
  AOK(accord_doc_import(c.doc, b1, l1, &st));
  assert_int_equal(st.applied, 2);
  assert_int_equal(st.pending, 0);
  uint64_t seq;
  AOK(accord_doc_chain_seal(c.doc, a.actor, &seq, NULL));
  assert_int_equal(seq, 2);

  /* deps: B's change builds on A's; a fresh D gets B's first */
  member d;
  member_new(&d);
  AOK(accord_doc_import(b.doc, b2, l2, NULL));
  put_str(b.doc, "y", "from b");
  uint8_t *b3 = batch_for(b.doc, a.doc, &l3); /* B's change alone */
  AOK(accord_doc_import(d.doc, b3, l3, &st));
  assert_int_equal(st.applied, 0);
  assert_int_equal(st.pending, 1);
  accord_free(b3);
  b3 = batch_for(a.doc, d.doc, &l3);
  AOK(accord_doc_import(d.doc, b3, l3, &st));
  assert_int_equal(st.applied, 3);
  assert_int_equal(st.pending, 0);
  AOK(accord_doc_chain_seal(d.doc, b.actor, &seq, NULL));
  assert_int_equal(seq, 1);
  char *jb = test_json(b.doc), *jd = test_json(d.doc);
  assert_string_equal(jb, jd);
  accord_free(jb);
  accord_free(jd);
  accord_free(b3);
  accord_free(b1);
  accord_free(b2);
  member_free(&a);
  member_free(&b);
  member_free(&c);
  member_free(&d);
}

static void relay_keeps_seal(void **state) {
  (void)state;
  member a, b, c;
  member_new(&a);
  member_new(&b);
  member_new(&c);
  put_str(a.doc, "x", "one");
  put_str(a.doc, "y", "two");
  size_t len;
  uint8_t *batch = batch_for(a.doc, b.doc, &len);
  AOK(accord_doc_import(b.doc, batch, len, NULL));
  accord_free(batch);
  put_str(b.doc, "z", "b's");
  /* C hears of A only through B */
  batch = batch_for(b.doc, c.doc, &len);
  accord_import_stats st;
  AOK(accord_doc_import(c.doc, batch, len, &st));
  assert_int_equal(st.applied, 3);
  accord_free(batch);
  uint64_t seq;
  uint8_t pk[32];
  AOK(accord_doc_chain_seal(c.doc, a.actor, &seq, pk));
  assert_int_equal(seq, 2);
  assert_memory_equal(pk, a.pk, 32);
  AOK(accord_doc_chain_seal(c.doc, b.actor, &seq, pk));
  assert_int_equal(seq, 1);
  assert_memory_equal(pk, b.pk, 32);
  char *ja = test_json(b.doc), *jc = test_json(c.doc);
  assert_string_equal(ja, jc);
  accord_free(ja);
  accord_free(jc);
  member_free(&a);
  member_free(&b);
  member_free(&c);
}

static void save_load_keeps_seals(void **state) {
  (void)state;
  member a, b, c;
  member_new(&a);
  member_new(&b);
  member_new(&c);
  put_str(a.doc, "x", "one");
  size_t l1, l2, len;
  uint8_t *b1 = batch_for(a.doc, b.doc, &l1);
  AOK(accord_doc_import(b.doc, b1, l1, NULL));
  put_str(a.doc, "x", "two");
  uint8_t *b2 = batch_for(a.doc, b.doc, &l2);
  /* C keeps A's second change waiting, with its seal */
  AOK(accord_doc_import(c.doc, b2, l2, NULL));
  uint8_t *saved;
  AOK(accord_doc_save(b.doc, &saved, &len));
  accord_doc *b2doc;
  AOK(accord_doc_load(saved, len, b.actor, &b2doc));
  accord_free(saved);
  uint64_t seq;
  uint8_t pk[32];
  AOK(accord_doc_chain_seal(b2doc, a.actor, &seq, pk));
  assert_int_equal(seq, 1);
  assert_memory_equal(pk, a.pk, 32);
  AOK(accord_doc_set_signer(b2doc, b.sk, ws_id)); /* keeps the seals */
  AOK(accord_doc_chain_seal(b2doc, a.actor, &seq, NULL));
  /* the loaded relay still forwards A's change with A's seal */
  member d;
  member_new(&d);
  uint8_t *fw = batch_for(b2doc, d.doc, &len);
  AOK(accord_doc_import(d.doc, fw, len, NULL));
  accord_free(fw);
  AOK(accord_doc_chain_seal(d.doc, a.actor, &seq, NULL));
  assert_int_equal(seq, 1);
  /* C saved and loaded with a waiting sealed change; it still verifies */
  AOK(accord_doc_save(c.doc, &saved, &len));
  accord_doc *c2;
  AOK(accord_doc_load(saved, len, c.actor, &c2));
  accord_free(saved);
  accord_import_stats st;
  AOK(accord_doc_import(c2, b1, l1, &st));
  assert_int_equal(st.applied, 2);
  AOK(accord_doc_chain_seal(c2, a.actor, &seq, NULL));
  assert_int_equal(seq, 2);
  accord_free(b1);
  accord_free(b2);
  accord_doc_free(b2doc);
  accord_doc_free(c2);
  member_free(&a);
  member_free(&b);
  member_free(&c);
  member_free(&d);
}

static void node_docs_seal(void **state) {
  (void)state;
  char *tmp = st_tmpdir();
  accord_node *node = st_open(tmp, NULL);
  uint8_t ws[ACCORD_WS_ID_BYTES];
  accord_doc *doc;
  NOK(node, accord_node_ws_create(node, "w", ws));
  NOK(node, accord_node_doc_create(node, ws, "goal", &doc));
  uint8_t id[ACCORD_DOC_ID_BYTES];
  memcpy(id, accord_doc_id(doc), sizeof id);
  st_put_int(node, doc, "k", 1);
  /* a replica that verifies for the same workspace */
  accord_doc *peer;
  uint8_t peer_actor[8] = {5, 5, 5, 5, 5, 5, 5, 5};
  AOK(accord_doc_new(id, peer_actor, &peer));
  AOK(accord_doc_set_workspace(peer, ws));
  uint8_t *batch;
  size_t len;
  AOK(accord_doc_changes_since(doc, NULL, 0, &batch, &len));
  AOK(accord_doc_import(peer, batch, len, NULL));
  accord_free(batch);
  uint64_t seq;
  uint8_t pk[32];
  AOK(accord_doc_chain_seal(peer, accord_node_actor(node), &seq, pk));
  assert_int_equal(seq, 1);
  assert_memory_equal(pk, accord_node_public_key(node), 32);
  /* reopened: still the signer */
  accord_node_close(node);
  node = st_open(tmp, NULL);
  NOK(node, accord_node_doc_open(node, ws, id, &doc));
  st_put_int(node, doc, "k", 2);
  uint8_t *vv;
  size_t vlen;
  AOK(accord_doc_version(peer, &vv, &vlen));
  AOK(accord_doc_changes_since(doc, vv, vlen, &batch, &len));
  accord_free(vv);
  AOK(accord_doc_import(peer, batch, len, NULL));
  accord_free(batch);
  AOK(accord_doc_chain_seal(peer, accord_node_actor(node), &seq, NULL));
  assert_int_equal(seq, 2);
  /* a document for another workspace does not accept its seals */
  accord_doc *other;
  AOK(accord_doc_new(id, NULL, &other));
  AOK(accord_doc_set_workspace(other, ws_id));
  AOK(accord_doc_changes_since(doc, NULL, 0, &batch, &len));
  import_expect(other, batch, len, ACCORD_ESEAL);
  accord_free(batch);
  accord_doc_free(other);
  accord_doc_free(peer);
  accord_node_close(node);
  st_rmrf(tmp);
  free(tmp);
}

/* Three members edit and exchange batches over a network that delays,
 * duplicates, reorders and drops them, and sometimes reload themselves from
 * saved bytes: every import succeeds (seals check whatever the order), and a
 * final all-pairs sync converges with nothing waiting. */
#define NET_MAX 64
static void random_delivery_converges(void **state) {
  (void)state;
  uint64_t seed = test_seed("random_delivery_converges");
  test_rng rng;
  rng_init(&rng, seed);
  member m[3];
  for (int i = 0; i < 3; i++) member_new(&m[i]);
  struct {
    uint8_t *b;
    size_t len;
    int to;
  } net[NET_MAX];
  int nnet = 0;
  long steps = test_scale(400);
  for (long step = 0; step < steps; step++) {
    int who = (int)rng_below(&rng, 3);
    uint64_t r = rng_below(&rng, 10);
    if (r < 4) {
      char key[8], text[32];
      snprintf(key, sizeof key, "k%d", (int)rng_below(&rng, 6));
      snprintf(text, sizeof text, "v%ld", step);
      put_str(m[who].doc, key, text);
    } else if (r < 7 && nnet < NET_MAX) {
      int to = (who + 1 + (int)rng_below(&rng, 2)) % 3;
      net[nnet].b = batch_for(m[who].doc, m[to].doc, &net[nnet].len);
      net[nnet].to = to;
      nnet++;
    } else if (r < 9 && nnet > 0) {
      int k = (int)rng_below(&rng, (uint64_t)nnet);
      accord_import_stats st;
      int rc = accord_doc_import(m[net[k].to].doc, net[k].b, net[k].len, &st);
      if (rc)
        fail_msg("seed %llu step %ld: import -> %s", (unsigned long long)seed,
                 step, accord_err_name(rc));
      if (rng_below(&rng, 4)) { /* else: kept, delivered again later */
        accord_free(net[k].b);
        net[k] = net[--nnet];
      }
    } else {
      uint8_t *saved;
      size_t len;
      accord_doc *d;
      AOK(accord_doc_save(m[who].doc, &saved, &len));
      AOK(accord_doc_load(saved, len, m[who].actor, &d));
      accord_free(saved);
      AOK(accord_doc_set_signer(d, m[who].sk, ws_id));
      accord_doc_free(m[who].doc);
      m[who].doc = d;
    }
  }
  for (int i = 0; i < nnet; i++) accord_free(net[i].b);
  for (int round = 0; round < 2; round++)
    for (int i = 0; i < 3; i++)
      for (int j = 0; j < 3; j++) {
        if (i == j) continue;
        size_t len;
        uint8_t *b = batch_for(m[i].doc, m[j].doc, &len);
        accord_import_stats st;
        int rc = accord_doc_import(m[j].doc, b, len, &st);
        if (rc)
          fail_msg("seed %llu: final sync -> %s", (unsigned long long)seed,
                   accord_err_name(rc));
        accord_free(b);
      }
  char *j0 = test_json(m[0].doc);
  for (int i = 1; i < 3; i++) {
    char *ji = test_json(m[i].doc);
    if (strcmp(j0, ji))
      fail_msg("seed %llu: replicas differ:\n%s\n%s",
               (unsigned long long)seed, j0, ji);
    accord_free(ji);
  }
  accord_free(j0);
  for (int i = 0; i < 3; i++) {
    size_t len;
    uint8_t *b = batch_for(m[(i + 1) % 3].doc, m[i].doc, &len);
    accord_import_stats st;
    AOK(accord_doc_import(m[i].doc, b, len, &st));
    assert_int_equal(st.applied, 0);
    assert_int_equal(st.pending, 0);
    accord_free(b);
  }
  for (int i = 0; i < 3; i++) member_free(&m[i]);
}

/* ---- attacks ------------------------------------------------------------- */

static void relay_flips_a_bit(void **state) {
  (void)state;
  member a, b;
  member_new(&a);
  member_new(&b);
  put_str(a.doc, "x", "pay alice 100");
  size_t len;
  uint8_t *batch = batch_for(a.doc, b.doc, &len);
  uint8_t *p = find_bytes(batch, len, "alice 100", 9);
  assert_non_null(p);
  p[6] ^= 0x08; /* "100" -> "900": still a canonical change */
  import_expect(b.doc, batch, len, ACCORD_ESEAL);
  /* a bit of the signature, of the key */
  p[6] ^= 0x08;
  batch[len - 1 - 0] ^= 0x01; /* the last body byte: still decodes? */
  int rc = accord_doc_import(b.doc, batch, len, NULL);
  assert_true(rc == ACCORD_ESEAL || rc == ACCORD_EMALFORMED ||
              rc == ACCORD_EUTF8);
  batch[len - 1] ^= 0x01;
  onechain o;
  parse_one(batch, len, &o);
  uint8_t *sig = (uint8_t *)o.seal + 40;
  *sig ^= 0x40;
  import_expect(b.doc, batch, len, ACCORD_ESEAL);
  *sig ^= 0x40;
  uint8_t *key = (uint8_t *)o.seal + 3;
  *key ^= 0x01;
  import_expect(b.doc, batch, len, ACCORD_EKEY);
  *key ^= 0x01;
  /* untouched, it imports */
  import_expect(b.doc, batch, len, 0);
  accord_free(batch);
  member_free(&a);
  member_free(&b);
}

/* Every single-bit change of a sealed batch, anywhere in it, leaves the
 * document as it was: the import fails, or (a changed first seq) the
 * changes only wait in pending, unverified, where they can apply only once
 * their run checks against a seal. */
static void every_bit_flip_refused(void **state) {
  (void)state;
  member a, b;
  member_new(&a);
  member_new(&b);
  put_str(b.doc, "mine", "b");
  put_str(a.doc, "x", "one");
  put_str(a.doc, "y", "two");
  size_t len;
  uint8_t *batch = batch_for(a.doc, b.doc, &len);
  char *initial = test_json(b.doc);
  uint8_t *saved;
  size_t slen;
  AOK(accord_doc_save(b.doc, &saved, &slen));
  for (size_t bit = 0; bit < 8 * len; bit++) {
    accord_doc *d;
    AOK(accord_doc_load(saved, slen, b.actor, &d));
    batch[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    accord_import_stats st;
    int rc = accord_doc_import(d, batch, len, &st);
    batch[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    char *j = test_json(d);
    if (strcmp(j, initial))
      fail_msg("bit %zu (byte %zu): import -> %s changed the document: %s",
               bit, bit / 8, accord_err_name(rc), j);
    accord_free(j);
    accord_doc_free(d);
  }
  import_expect(b.doc, batch, len, 0);
  accord_free(initial);
  accord_free(saved);
  accord_free(batch);
  member_free(&a);
  member_free(&b);
}

static void outsider_forges(void **state) {
  (void)state;
  member a, b, m;
  member_new(&a);
  member_new(&b);
  member_new(&m); /* the outsider, with a key of its own */
  put_str(a.doc, "x", "genuine");
  size_t len, flen;
  uint8_t *batch = batch_for(a.doc, b.doc, &len);
  AOK(accord_doc_import(b.doc, batch, len, NULL));
  accord_free(batch);
  /* M writes as itself, then claims the change is A's (same bytes) */
  batch = batch_for(a.doc, m.doc, &len);
  AOK(accord_doc_import(m.doc, batch, len, NULL));
  accord_free(batch);
  put_str(m.doc, "x", "forged");
  uint8_t *mb = batch_for(m.doc, b.doc, &len);
  onechain o;
  parse_one(mb, len, &o);
  assert_memory_equal(o.actor, m.actor, 8);
  uint8_t *forged = make_batch(a.actor, 2, o.seal, o.bodies, o.blen, o.n,
                               &flen);
  import_expect(b.doc, forged, flen, ACCORD_EKEY); /* M's key, A's actor */
  free(forged);
  /* ... and with A's public key in place of its own */
  uint8_t seal[96];
  memcpy(seal, a.pk, 32);
  memcpy(seal + 32, o.seal + 32, 64);
  forged = make_batch(a.actor, 2, seal, o.bodies, o.blen, o.n, &flen);
  import_expect(b.doc, forged, flen, ACCORD_ESEAL);
  free(forged);
  /* ... and unsealed */
  forged = make_batch(a.actor, 2, NULL, o.bodies, o.blen, o.n, &flen);
  import_expect(b.doc, forged, flen, ACCORD_ESEAL);
  free(forged);
  accord_free(mb);
  /* an unsigned document's batch reaches a verifying one */
  accord_doc *plain;
  AOK(accord_doc_new(doc_id, NULL, &plain));
  put_str(plain, "p", "no keys");
  AOK(accord_doc_changes_since(plain, NULL, 0, &mb, &len));
  import_expect(b.doc, mb, len, ACCORD_ESEAL);
  /* a document without verification takes it */
  accord_doc *lax;
  AOK(accord_doc_new(doc_id, NULL, &lax));
  import_expect(lax, mb, len, 0);
  accord_free(mb);
  accord_doc_free(plain);
  accord_doc_free(lax);
  member_free(&a);
  member_free(&b);
  member_free(&m);
}

static void truncate_and_extend(void **state) {
  (void)state;
  member a, b, c;
  member_new(&a);
  member_new(&b);
  member_new(&c);
  put_str(a.doc, "x", "one");
  put_str(a.doc, "x", "two");
  size_t len, flen;
  uint8_t *b12 = batch_for(a.doc, b.doc, &len); /* 1..2 sealed at 2 */
  onechain o12;
  parse_one(b12, len, &o12);
  assert_int_equal(o12.n, 2);
  /* Z, with no key, writes a fake third change under A's actor */
  accord_doc *z;
  AOK(accord_doc_new(doc_id, a.actor, &z));
  AOK(accord_doc_import(z, b12, len, NULL));
  put_str(z, "x", "fake three");
  uint8_t *vv, *zb;
  size_t vlen, zlen;
  AOK(accord_doc_import(b.doc, b12, len, NULL));
  AOK(accord_doc_version(b.doc, &vv, &vlen));
  AOK(accord_doc_changes_since(z, vv, vlen, &zb, &zlen));
  accord_free(vv);
  onechain oz;
  parse_one(zb, zlen, &oz);
  assert_int_equal(oz.first, 3);
  assert_null(oz.seal); /* Z cannot seal */
  /* the fake change with A's genuine seal at 2 */
  uint8_t *forged = make_batch(a.actor, 3, o12.seal, oz.bodies, oz.blen,
                               oz.n, &flen);
  import_expect(b.doc, forged, flen, ACCORD_ESEAL);
  free(forged);
  /* truncated: change 1 alone with the seal over 1..2 */
  size_t l1 = change_body_len(o12.bodies, o12.blen);
  assert_true(l1 > 0);
  forged = make_batch(a.actor, 1, o12.seal, o12.bodies, l1, 1, &flen);
  import_expect(c.doc, forged, flen, ACCORD_ESEAL);
  free(forged);
  /* truncated and extended: 1, then the fake in place of 2 */
  accord_doc *z2;
  AOK(accord_doc_new(doc_id, a.actor, &z2));
  uint8_t *b1only = make_batch(a.actor, 1, NULL, o12.bodies, l1, 1, &flen);
  AOK(accord_doc_import(z2, b1only, flen, NULL));
  free(b1only);
  put_str(z2, "x", "fake two");
  uint8_t *z2b;
  size_t z2len;
  AOK(accord_doc_changes_since(z2, NULL, 0, &z2b, &z2len));
  onechain oz2;
  parse_one(z2b, z2len, &oz2);
  assert_int_equal(oz2.n, 2);
  forged = make_batch(a.actor, 1, o12.seal, oz2.bodies, oz2.blen, oz2.n,
                      &flen);
  import_expect(c.doc, forged, flen, ACCORD_ESEAL);
  free(forged);
  /* the genuine chain still goes through */
  import_expect(c.doc, b12, len, 0);
  accord_free(z2b);
  accord_free(zb);
  accord_free(b12);
  accord_doc_free(z);
  accord_doc_free(z2);
  member_free(&a);
  member_free(&b);
  member_free(&c);
}

static void old_batch_version(void **state) {
  (void)state;
  member a, b;
  member_new(&a);
  member_new(&b);
  put_str(a.doc, "x", "one");
  size_t len;
  uint8_t *batch = batch_for(a.doc, b.doc, &len);
  assert_int_equal(batch[1], BATCH_VERSION);
  /* 1 had no seals; 2 sealed the chain hash before it had segments */
  batch[1] = 1;
  import_expect(b.doc, batch, len, ACCORD_EVERSION);
  batch[1] = 2;
  import_expect(b.doc, batch, len, ACCORD_EVERSION);
  accord_free(batch);
  member_free(&a);
  member_free(&b);
}

TEST_MAIN(cmocka_unit_test(sealed_batch_imports),
          cmocka_unit_test(seal_layout_is_documented),
          cmocka_unit_test(replay_is_noop),
          cmocka_unit_test(reordered_batches_wait),
          cmocka_unit_test(relay_keeps_seal),
          cmocka_unit_test(save_load_keeps_seals),
          cmocka_unit_test(save_format_5_drops_seals),
          cmocka_unit_test(node_docs_seal),
          cmocka_unit_test(random_delivery_converges),
          cmocka_unit_test(relay_flips_a_bit),
          cmocka_unit_test(every_bit_flip_refused),
          cmocka_unit_test(outsider_forges),
          cmocka_unit_test(truncate_and_extend),
          cmocka_unit_test(old_batch_version),
          cmocka_unit_test(cut_own_chain_sealed),
          cmocka_unit_test(relay_cuts_at_checkpoints),
          cmocka_unit_test(checkpoints_spaced),
          cmocka_unit_test(hostile_adds_no_checkpoint),
          cmocka_unit_test(failed_import_keeps_checkpoints),
          cmocka_unit_test(truncate_drops_checkpoints))
