/*
 * test_fork.c — forks (DESIGN §4, issue 5 item 6): a member runs two
 * replicas of one key that each extend the same chain differently. A
 * verifying receiver that has one history and meets the other keeps the
 * first, skips the forking author's changes, imports the rest of the batch
 * and records evidence that verifies on its own (accord_fork_verify), that
 * survives save/load and, for node documents, node reopen. Unprovable
 * divergence (verification off, a forged seal, a seal we do not hold)
 * still fails with EFORK and changes nothing.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_testutil.h"
#include "testutil.h"

#include "mp.h"
#include "store.h"
#include "sum.h"

static uint8_t doc_id[ACCORD_DOC_ID_BYTES] = {0xf0, 0x4c, 1, 2, 3};
static uint8_t ws_id[ACCORD_WS_ID_BYTES] = {0x77, 0x73, 9, 8, 7};

typedef struct key {
  uint8_t pk[32], sk[64], actor[8];
} key;

static void key_new(key *k) {
  AOK(accord_sign_keypair(k->pk, k->sk));
  AOK(accord_key_actor(k->pk, k->actor));
}

static accord_doc *replica(const key *k) {
  accord_doc *d;
  AOK(accord_doc_new(doc_id, k->actor, &d));
  AOK(accord_doc_set_signer(d, k->sk, ws_id));
  return d;
}

static void put_str(accord_doc *doc, const char *k, const char *s) {
  accord_txn *t;
  accord_value v = accord_str(s, strlen(s));
  AOK(accord_txn_begin(doc, &t));
  AOK(accord_map_put(t, ACCORD_ROOT, k, &v));
  AOK(accord_txn_commit(t, NULL));
}

static uint8_t *all_of(accord_doc *src, size_t *len) {
  uint8_t *out;
  AOK(accord_doc_changes_since(src, NULL, 0, &out, len));
  return out;
}

static void import_ok(accord_doc *dst, const uint8_t *b, size_t len) {
  AOK(accord_doc_import(dst, b, len, NULL));
}

/* The scene: A1 and A2 share A's key. A1 writes 1, 2; A2 takes 1 and
 * writes its own 2, 3. B writes two changes of its own. */
typedef struct scene {
  key a, b;
  accord_doc *a1, *a2, *bdoc;
  uint8_t a1_hash2[32], a2_hash2[32]; /* chain hashes at seq 2 */
  uint8_t *first, *forked; /* A1's history; A2's and B's together */
  size_t first_len, forked_len;
} scene;

static void scene_new(scene *s) {
  memset(s, 0, sizeof *s);
  key_new(&s->a);
  key_new(&s->b);
  s->a1 = replica(&s->a);
  s->a2 = replica(&s->a);
  s->bdoc = replica(&s->b);
  put_str(s->a1, "a", "one");
  size_t len;
  uint8_t *b1 = all_of(s->a1, &len);
  import_ok(s->a2, b1, len);
  import_ok(s->bdoc, b1, len); /* B builds on A's first change only */
  accord_free(b1);
  put_str(s->bdoc, "b", "b's first");
  put_str(s->bdoc, "b2", "b's second");
  put_str(s->a1, "a", "two, as A1 says");
  put_str(s->a2, "a", "two, as A2 says");
  uint64_t seq;
  AOK(accord_doc_chain_head(s->a1, s->a.actor, &seq, s->a1_hash2));
  assert_int_equal(seq, 2);
  AOK(accord_doc_chain_head(s->a2, s->a.actor, &seq, s->a2_hash2));
  assert_int_equal(seq, 2);
  assert_memory_not_equal(s->a1_hash2, s->a2_hash2, 32);
  put_str(s->a2, "c", "three, A2's");
  s->first = all_of(s->a1, &s->first_len);
  /* a relay holds A2's history and B's changes */
  key d;
  key_new(&d);
  accord_doc *relay = replica(&d);
  uint8_t *b2 = all_of(s->a2, &len);
  import_ok(relay, b2, len);
  accord_free(b2);
  b2 = all_of(s->bdoc, &len);
  import_ok(relay, b2, len);
  accord_free(b2);
  s->forked = all_of(relay, &s->forked_len); /* A2's 1..3 and B's 1..2 */
  accord_doc_free(relay);
}

static void scene_free(scene *s) {
  accord_free(s->first);
  accord_free(s->forked);
  accord_doc_free(s->a1);
  accord_doc_free(s->a2);
  accord_doc_free(s->bdoc);
}

/* The receiver's single fork record is A's at seq 2, kept A1's. */
static void expect_fork(const scene *s, const accord_fork *f) {
  assert_memory_equal(f->doc, doc_id, ACCORD_DOC_ID_BYTES);
  assert_memory_equal(f->workspace, ws_id, 16);
  assert_memory_equal(f->actor, s->a.actor, 8);
  assert_int_equal(f->seq, 2);
  assert_memory_equal(f->public_key, s->a.pk, 32);
  assert_memory_equal(f->kept, s->a1_hash2, 32);
  assert_memory_equal(f->refused, s->a2_hash2, 32);
  accord_fork g;
  AOK(accord_fork_verify(f->evidence, f->evidence_len, &g));
  assert_int_equal(g.seq, 2);
  assert_memory_equal(g.kept, f->kept, 32);
}

static void fork_recorded(void **state) {
  (void)state;
  scene s;
  scene_new(&s);
  key r;
  key_new(&r);
  accord_doc *rd = replica(&r);
  import_ok(rd, s.first, s.first_len);
  accord_import_stats st;
  AOK(accord_doc_import(rd, s.forked, s.forked_len, &st));
  assert_int_equal(st.forks, 1);
  /* B's two changes, which depend on A2's 1 (= A1's 1), not on the fork */
  assert_int_equal(st.applied, 2);
  assert_int_equal(st.duplicates, 1); /* A's seq 1 */
  assert_int_equal(st.pending, 0);
  /* the first chain is kept */
  uint64_t seq;
  uint8_t h[32];
  AOK(accord_doc_chain_head(rd, s.a.actor, &seq, h));
  assert_int_equal(seq, 2);
  assert_memory_equal(h, s.a1_hash2, 32);
  char *j = test_json(rd);
  assert_non_null(strstr(j, "two, as A1 says"));
  assert_null(strstr(j, "A2"));
  assert_non_null(strstr(j, "b's second"));
  accord_free(j);
  accord_fork *f;
  size_t n;
  AOK(accord_doc_forks(rd, &f, &n));
  assert_int_equal(n, 1);
  expect_fork(&s, &f[0]);
  accord_free(f);

  /* the same batch again: the fork is seen again, the evidence kept once */
  AOK(accord_doc_import(rd, s.forked, s.forked_len, &st));
  assert_int_equal(st.forks, 1);
  assert_int_equal(st.applied, 0);
  AOK(accord_doc_forks(rd, &f, &n));
  assert_int_equal(n, 1);
  accord_free(f);

  /* the receiver can still forward A1's chain with A1's seal */
  accord_doc *fresh;
  AOK(accord_doc_new(doc_id, NULL, &fresh));
  AOK(accord_doc_set_workspace(fresh, ws_id));
  size_t len;
  uint8_t *fw = all_of(rd, &len);
  import_ok(fresh, fw, len);
  accord_free(fw);
  char *j1 = test_json(rd), *j2 = test_json(fresh);
  assert_string_equal(j1, j2);
  accord_free(j1);
  accord_free(j2);
  accord_doc_free(fresh);
  accord_doc_free(rd);
  scene_free(&s);
}

/* Every single-bit change of the evidence is refused by the checker. */
static void evidence_verifies(void **state) {
  (void)state;
  scene s;
  scene_new(&s);
  key r;
  key_new(&r);
  accord_doc *rd = replica(&r);
  import_ok(rd, s.first, s.first_len);
  import_ok(rd, s.forked, s.forked_len);
  accord_fork *f;
  size_t n;
  AOK(accord_doc_forks(rd, &f, &n));
  assert_int_equal(n, 1);
  size_t len = f[0].evidence_len;
  uint8_t *ev = malloc(len);
  memcpy(ev, f[0].evidence, len);
  AOK(accord_fork_verify(ev, len, NULL));
  for (size_t i = 0; i < len; i++)
    for (int bit = 0; bit < 8; bit += 3) {
      ev[i] ^= (uint8_t)(1 << bit);
      int rc = accord_fork_verify(ev, len, NULL);
      if (rc == 0)
        fail_msg("bit %d of byte %zu flipped: still verifies", bit, i);
      ev[i] ^= (uint8_t)(1 << bit);
    }
  for (size_t cut = 0; cut < len; cut += 7)
    assert_int_not_equal(accord_fork_verify(ev, cut, NULL), 0);
  assert_int_equal(accord_fork_verify(NULL, 0, NULL), ACCORD_EINVAL);
  AOK(accord_fork_verify(ev, len, NULL));
  free(ev);
  accord_free(f);
  accord_doc_free(rd);
  scene_free(&s);
}

/* A fork deep in a chain: the evidence starts at the segment of the
 * change before the fork (hashchain.h), with the bodies both chains share
 * from there; around and across segment boundaries it proves the fork,
 * and changing any byte of it (the shared bodies included) does not. */
static void fork_deep_in_chain(void **state) {
  (void)state;
  uint32_t before[] = {63, 64, 65, 127, 130};
  for (size_t i = 0; i < sizeof before / sizeof before[0]; i++) {
    key a, r;
    key_new(&a);
    key_new(&r);
    accord_doc *a1 = replica(&a), *a2 = replica(&a), *rd = replica(&r);
    char v[32];
    for (uint32_t k = 1; k <= before[i]; k++) {
      snprintf(v, sizeof v, "v%u", k);
      put_str(a1, "a", v);
    }
    size_t len;
    uint8_t *b = all_of(a1, &len);
    import_ok(a2, b, len);
    accord_free(b);
    put_str(a1, "a", "A1's");
    put_str(a2, "a", "A2's");
    uint8_t h1[32], h2[32];
    uint64_t seq;
    AOK(accord_doc_chain_head(a1, a.actor, &seq, h1));
    AOK(accord_doc_chain_head(a2, a.actor, &seq, h2));
    assert_int_equal(seq, before[i] + 1);
    b = all_of(a1, &len);
    import_ok(rd, b, len);
    accord_free(b);
    b = all_of(a2, &len);
    accord_import_stats st;
    AOK(accord_doc_import(rd, b, len, &st));
    accord_free(b);
    assert_int_equal(st.forks, 1);
    accord_fork *f;
    size_t n;
    AOK(accord_doc_forks(rd, &f, &n));
    assert_int_equal(n, 1);
    assert_int_equal(f[0].seq, before[i] + 1);
    assert_memory_equal(f[0].kept, h1, 32);
    assert_memory_equal(f[0].refused, h2, 32);
    size_t elen = f[0].evidence_len;
    uint8_t *ev = malloc(elen);
    memcpy(ev, f[0].evidence, elen);
    AOK(accord_fork_verify(ev, elen, NULL));
    for (size_t k = 0; k < elen; k++) {
      ev[k] ^= 0x10;
      if (accord_fork_verify(ev, elen, NULL) == 0)
        fail_msg("fork after %u: byte %zu changed, still verifies", before[i],
                 k);
      ev[k] ^= 0x10;
    }
    free(ev);
    accord_free(f);
    accord_doc_free(a1);
    accord_doc_free(a2);
    accord_doc_free(rd);
  }
}

/* Divergence nobody can prove keeps EFORK and changes nothing. */
static void unprovable_divergence(void **state) {
  (void)state;
  scene s;
  scene_new(&s);
  /* verification off */
  accord_doc *lax;
  AOK(accord_doc_new(doc_id, NULL, &lax));
  import_ok(lax, s.first, s.first_len);
  char *before = test_json(lax);
  assert_int_equal(accord_doc_import(lax, s.forked, s.forked_len, NULL),
                   ACCORD_EFORK);
  char *after = test_json(lax);
  assert_string_equal(before, after);
  accord_free(before);
  accord_free(after);
  accord_fork *f;
  size_t n;
  AOK(accord_doc_forks(lax, &f, &n));
  assert_int_equal(n, 0);
  accord_free(f);

  /* an outsider without A's key rewrites A's seq 2 and keeps A's genuine
   * seal: the seal does not check, nothing proves A forked */
  accord_doc *z;
  AOK(accord_doc_new(doc_id, s.a.actor, &z));
  uint8_t *b1;
  size_t l1;
  b1 = all_of(s.a2, &l1); /* A's 1..3 as A2 has them */
  import_ok(z, s.first, s.first_len);
  put_str(z, "a", "forged");
  uint8_t *zb;
  size_t zlen;
  zb = all_of(z, &zlen); /* 1..3 unsealed (Z has no key) */
  key r;
  key_new(&r);
  accord_doc *rd = replica(&r);
  import_ok(rd, b1, l1); /* R holds A2's history this time */
  before = test_json(rd);
  assert_int_equal(accord_doc_import(rd, zb, zlen, NULL), ACCORD_ESEAL);
  /* A1's genuine chain against A2's: provable, recorded */
  accord_import_stats st;
  AOK(accord_doc_import(rd, s.first, s.first_len, &st));
  assert_int_equal(st.forks, 1);
  after = test_json(rd);
  assert_string_equal(before, after); /* A2's history kept: it came first */
  accord_free(before);
  accord_free(after);
  AOK(accord_doc_forks(rd, &f, &n));
  assert_int_equal(n, 1);
  assert_memory_equal(f[0].kept, s.a2_hash2, 32);
  assert_memory_equal(f[0].refused, s.a1_hash2, 32);
  AOK(accord_fork_verify(f[0].evidence, f[0].evidence_len, NULL));
  accord_free(f);
  accord_free(zb);
  accord_free(b1);
  accord_doc_free(z);
  accord_doc_free(rd);
  accord_doc_free(lax);
  scene_free(&s);
}

static void save_load_keeps_evidence(void **state) {
  (void)state;
  scene s;
  scene_new(&s);
  key r;
  key_new(&r);
  accord_doc *rd = replica(&r);
  import_ok(rd, s.first, s.first_len);
  import_ok(rd, s.forked, s.forked_len);
  uint8_t *saved;
  size_t len;
  AOK(accord_doc_save(rd, &saved, &len));
  accord_doc *back;
  AOK(accord_doc_load(saved, len, r.actor, &back));
  accord_fork *f;
  size_t n;
  AOK(accord_doc_forks(back, &f, &n));
  assert_int_equal(n, 1);
  expect_fork(&s, &f[0]);
  accord_free(f);
  accord_doc_free(back);
  accord_free(saved);
  accord_doc_free(rd);
  scene_free(&s);
}

static void node_keeps_evidence(void **state) {
  (void)state;
  char *tmp = st_tmpdir();
  accord_node *node = st_open(tmp, NULL);
  accord_doc *doc;
  NOK(node, accord_node_ws_create(node, "w", ws_id));
  NOK(node, accord_node_doc_create(node, ws_id, "goal", &doc));
  uint8_t id[ACCORD_DOC_ID_BYTES];
  memcpy(id, accord_doc_id(doc), sizeof id);
  accord_node_doc_close(node, doc);
  /* the scene, in this node's document and workspace */
  memcpy(doc_id, id, sizeof id);
  scene s;
  scene_new(&s);
  /* the authors must be members: node documents take members' changes */
  NOK(node, accord_member_add(node, ws_id, s.a.pk, "forker", NULL));
  NOK(node, accord_member_add(node, ws_id, s.b.pk, "bystander", NULL));
  NOK(node, accord_node_doc_open(node, ws_id, id, &doc));
  NOK(node, accord_node_doc_import(node, doc, s.first, s.first_len, NULL));
  accord_import_stats st;
  NOK(node, accord_node_doc_import(node, doc, s.forked, s.forked_len, &st));
  assert_int_equal(st.forks, 1);
  assert_int_equal(st.applied, 2);
  accord_fork *f;
  size_t n;
  NOK(node, accord_node_forks(node, ws_id, &f, &n));
  assert_int_equal(n, 1);
  expect_fork(&s, &f[0]);
  accord_free(f);
  accord_node_close(node);

  node = st_open(tmp, NULL);
  NOK(node, accord_node_forks(node, ws_id, &f, &n));
  assert_int_equal(n, 1);
  expect_fork(&s, &f[0]);
  accord_free(f);
  NOK(node, accord_node_doc_open(node, ws_id, id, &doc));
  AOK(accord_doc_forks(doc, &f, &n));
  assert_int_equal(n, 1);
  expect_fork(&s, &f[0]);
  accord_free(f);
  uint64_t seq;
  uint8_t h[32];
  AOK(accord_doc_chain_head(doc, s.a.actor, &seq, h));
  assert_int_equal(seq, 2);
  assert_memory_equal(h, s.a1_hash2, 32);
  /* an unknown workspace */
  uint8_t other[16] = {1};
  assert_int_equal(accord_node_forks(node, other, &f, &n), ACCORD_ENOTFOUND);
  accord_node_doc_close(node, doc);
  accord_node_close(node);
  scene_free(&s);
  st_rmrf(tmp);
  free(tmp);
}

/* A schema 1 store (no forks database) is no longer migrated: schemas
 * before 3 hold the old chain hashes (store.c), so it is refused and left
 * as it was. */
static void schema_1_refused(void **state) {
  (void)state;
  char *tmp = st_tmpdir();
  accord_node *node = st_open(tmp, NULL);
  NOK(node, accord_node_ws_create(node, "w", ws_id));
  accord_node_close(node);
  AOK(store_debug_set_schema(tmp, 1));
  uint32_t v = 0;
  AOK(store_debug_schema(tmp, &v));
  assert_int_equal(v, 1);
  assert_int_equal(accord_node_open(tmp, NULL, &node), ACCORD_ESCHEMA);
  AOK(store_debug_schema(tmp, &v));
  assert_int_equal(v, 1);
  st_rmrf(tmp);
  free(tmp);
}

TEST_MAIN(cmocka_unit_test(fork_recorded), cmocka_unit_test(evidence_verifies),
          cmocka_unit_test(fork_deep_in_chain),
          cmocka_unit_test(unprovable_divergence),
          cmocka_unit_test(save_load_keeps_evidence),
          cmocka_unit_test(node_keeps_evidence),
          cmocka_unit_test(schema_1_refused))
