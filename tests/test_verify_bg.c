/*
 * test_verify_bg.c — seals of large imports checked on the document's
 * worker thread while the changes apply (core/sync_bg.c). The batches here
 * hold more than BG_MIN changes so that they take that path (test_seal.c's
 * small batches take the sequential one). Tampering anywhere must still be
 * refused, with ESEAL (EKEY for the seal's key) when the bytes still parse,
 * and leave the document as
 * it was; good batches import as they do sequentially, seals and hashes
 * included; changes cut short by missing deps wait and verify later.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#include "sync_bg.h"

static const uint8_t doc_id[ACCORD_DOC_ID_BYTES] = {0xb9, 0x01, 2, 3};
static const uint8_t ws_id[ACCORD_WS_ID_BYTES] = {0x77, 0x73, 1, 2, 3};

#define MANY (BG_MIN + 100)

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

/* n changes, each setting one key. */
static void write_many(accord_doc *doc, const char *prefix, int n) {
  for (int i = 0; i < n; i++) {
    char key[32];
    snprintf(key, sizeof key, "%s%d", prefix, i % 50);
    accord_txn *t;
    AOK(accord_txn_begin(doc, &t));
    accord_value v = accord_int(i);
    AOK(accord_map_put(t, ACCORD_ROOT, key, &v));
    AOK(accord_txn_commit(t, NULL));
  }
}

static uint8_t *batch_for(accord_doc *src, accord_doc *dst, size_t *len) {
  uint8_t *vv, *out;
  size_t vlen;
  AOK(accord_doc_version(dst, &vv, &vlen));
  AOK(accord_doc_changes_since(src, vv, vlen, &out, len));
  accord_free(vv);
  return out;
}

static accord_doc *verifier(void) {
  accord_doc *d;
  AOK(accord_doc_new(doc_id, NULL, &d));
  AOK(accord_doc_set_workspace(d, ws_id));
  return d;
}

static void same_json(accord_doc *a, accord_doc *b) {
  char *ja = test_json(a), *jb = test_json(b);
  assert_string_equal(ja, jb);
  accord_free(ja);
  accord_free(jb);
}

static void bulk_imports(void **state) {
  (void)state;
  member a;
  member_new(&a);
  write_many(a.doc, "k", MANY);
  accord_doc *r = verifier();
  size_t len;
  uint8_t *b = batch_for(a.doc, r, &len);
  accord_import_stats st;
  uint64_t early = bg_early_done();
  AOK(accord_doc_import(r, b, len, &st));
  assert_int_equal(st.applied, MANY);
  /* hashed while the batch was parsed (sync.c, bg_early_chain) */
  assert_true(bg_early_done() > early);
  same_json(a.doc, r);
  /* replayed: the sequential path sees duplicates */
  AOK(accord_doc_import(r, b, len, &st));
  assert_int_equal(st.applied, 0);
  assert_int_equal(st.duplicates, MANY);
  accord_free(b);
  uint64_t seq;
  uint8_t pk[32], ha[32], hr[32];
  AOK(accord_doc_chain_seal(r, a.actor, &seq, pk));
  assert_int_equal(seq, MANY);
  assert_memory_equal(pk, a.pk, 32);
  AOK(accord_doc_chain_head(r, a.actor, &seq, hr));
  AOK(accord_doc_chain_head(a.doc, a.actor, NULL, ha));
  assert_memory_equal(ha, hr, 32);
  /* a second bulk batch continues from the hash the worker left */
  write_many(a.doc, "m", MANY);
  b = batch_for(a.doc, r, &len);
  AOK(accord_doc_import(r, b, len, &st));
  accord_free(b);
  assert_int_equal(st.applied, MANY);
  AOK(accord_doc_chain_seal(r, a.actor, &seq, NULL));
  assert_int_equal(seq, 2 * MANY);
  same_json(a.doc, r);
  /* the receiver forwards it all, sealed, to a third replica */
  accord_doc *c = verifier();
  b = batch_for(r, c, &len);
  AOK(accord_doc_import(c, b, len, NULL));
  accord_free(b);
  same_json(a.doc, c);
  accord_doc_free(c);
  accord_doc_free(r);
  accord_doc_free(a.doc);
}

/* Bit flips across a bulk batch (every byte of its start and end, every
 * 37th between): refused, the document unchanged; ESEAL (EKEY in the
 * seal's key) whenever a replica that does not verify would take the
 * bytes. */
static void bulk_tamper_refused(void **state) {
  (void)state;
  member a;
  member_new(&a);
  write_many(a.doc, "k", MANY);
  accord_doc *r = verifier();
  size_t len;
  uint8_t *b = batch_for(a.doc, r, &len);
  long tried = 0, parsed = 0, waits = 0;
  for (size_t at = 0; at < len; at += (at < 200 || at + 200 >= len ? 1 : 37)) {
    for (int bit = 0; bit < 8; bit += 5) {
      b[at] ^= (uint8_t)(1u << bit);
      accord_doc *lax;
      AOK(accord_doc_new(doc_id, NULL, &lax));
      int lax_rc = accord_doc_import(lax, b, len, NULL);
      accord_doc_free(lax);
      accord_doc *d = verifier(); /* fresh: nothing waiting, the bulk path */
      accord_import_stats st;
      int rc = accord_doc_import(d, b, len, &st);
      b[at] ^= (uint8_t)(1u << bit);
      /* a changed first seq leaves a gap: the changes wait unchecked, as
       * out-of-order batches do, and are checked when the gap closes */
      if (rc == 0 && (st.applied || st.pending != MANY))
        fail_msg("byte %zu bit %d: tampered bulk batch imported (%zu applied)",
                 at, bit, st.applied);
      waits += rc == 0;
      /* bytes that still parse: the seal (or its key) gives it away */
      if (rc && lax_rc == 0 && rc != ACCORD_ESEAL && rc != ACCORD_EKEY)
        fail_msg("byte %zu bit %d: %s, wanted ESEAL or EKEY", at, bit,
                 accord_err_name(rc));
      parsed += lax_rc == 0;
      tried++;
      assert_int_equal(accord_doc_chain_head(d, a.actor, NULL, NULL),
                       ACCORD_ENOTFOUND);
      char *j = test_json(d);
      assert_string_equal(j, "{}");
      accord_free(j);
      accord_doc_free(d);
    }
  }
  printf("%ld flips refused (%ld of them parse, %ld wait)\n", tried,
         parsed, waits);
  assert_true(parsed > waits);
  AOK(accord_doc_import(r, b, len, NULL)); /* the genuine one */
  same_json(a.doc, r);
  accord_free(b);
  accord_doc_free(r);
  accord_doc_free(a.doc);
}

/* Two authors in one bulk batch, one seal bad: nothing of either applies. */
static void bulk_one_bad_seal(void **state) {
  (void)state;
  member a, c;
  member_new(&a);
  member_new(&c);
  write_many(a.doc, "a", MANY);
  write_many(c.doc, "c", MANY);
  accord_doc *relay = verifier();
  size_t len;
  uint8_t *b = batch_for(a.doc, relay, &len);
  AOK(accord_doc_import(relay, b, len, NULL));
  accord_free(b);
  b = batch_for(c.doc, relay, &len);
  AOK(accord_doc_import(relay, b, len, NULL));
  accord_free(b);
  accord_doc *r = verifier();
  b = batch_for(relay, r, &len);
  /* C's seal is its public key followed by the signature */
  uint8_t *sig = NULL;
  for (size_t i = 0; i + 96 <= len; i++)
    if (!memcmp(b + i, c.pk, 32)) sig = b + i + 32;
  assert_non_null(sig);
  sig[10] ^= 4;
  assert_int_equal(accord_doc_import(r, b, len, NULL), ACCORD_ESEAL);
  char *j = test_json(r);
  assert_string_equal(j, "{}");
  accord_free(j);
  sig[10] ^= 4;
  accord_import_stats st;
  AOK(accord_doc_import(r, b, len, &st));
  assert_int_equal(st.applied, 2 * MANY);
  same_json(relay, r);
  accord_free(b);
  accord_doc_free(r);
  accord_doc_free(relay);
  accord_doc_free(a.doc);
  accord_doc_free(c.doc);
}

/* A bulk batch one of whose chains does not extend its author's chain
 * exactly (part of it known already): whether the worker started on the
 * other one or not, the import comes out as the sequential path makes it. */
static void bulk_early_cancelled(void **state) {
  (void)state;
  member a, c;
  member_new(&a);
  member_new(&c);
  write_many(a.doc, "a", MANY);
  accord_doc *r = verifier();
  size_t len;
  write_many(c.doc, "c", 10);
  uint8_t *b = batch_for(c.doc, r, &len); /* small: checked inline */
  AOK(accord_doc_import(r, b, len, NULL));
  accord_free(b);
  write_many(c.doc, "c", MANY - 10);
  accord_doc *relay = verifier();
  b = batch_for(a.doc, relay, &len);
  AOK(accord_doc_import(relay, b, len, NULL));
  accord_free(b);
  b = batch_for(c.doc, relay, &len);
  AOK(accord_doc_import(relay, b, len, NULL));
  accord_free(b);
  /* everything, C's chain from its first change */
  AOK(accord_doc_changes_since(relay, NULL, 0, &b, &len));
  accord_import_stats st;
  AOK(accord_doc_import(r, b, len, &st));
  assert_int_equal(st.applied, 2 * MANY - 10);
  assert_int_equal(st.duplicates, 10);
  assert_int_equal(st.pending, 0);
  same_json(relay, r);
  uint64_t seq;
  uint8_t hr[32], hc[32];
  AOK(accord_doc_chain_seal(r, c.actor, &seq, NULL));
  assert_int_equal(seq, MANY);
  AOK(accord_doc_chain_seal(r, a.actor, &seq, NULL));
  assert_int_equal(seq, MANY);
  AOK(accord_doc_chain_head(r, c.actor, NULL, hr));
  AOK(accord_doc_chain_head(c.doc, c.actor, NULL, hc));
  assert_memory_equal(hr, hc, 32);
  /* and a bad seal there is still caught */
  accord_doc *r2 = verifier();
  uint8_t *sig = NULL;
  for (size_t i = 0; i + 96 <= len; i++)
    if (!memcmp(b + i, a.pk, 32)) sig = b + i + 32;
  assert_non_null(sig);
  sig[3] ^= 1;
  assert_int_equal(accord_doc_import(r2, b, len, NULL), ACCORD_ESEAL);
  sig[3] ^= 1;
  accord_doc_free(r2);
  accord_free(b);
  accord_doc_free(r);
  accord_doc_free(relay);
  accord_doc_free(a.doc);
  accord_doc_free(c.doc);
}

/* A bulk batch cut short or broken mid-way fails as malformed (not as a
 * bad seal, though the worker already hashed part of it), changes
 * nothing, and the document's worker takes the next import as usual. */
static void bulk_truncated(void **state) {
  (void)state;
  member a;
  member_new(&a);
  write_many(a.doc, "k", MANY);
  accord_doc *r = verifier();
  size_t len;
  uint8_t *b = batch_for(a.doc, r, &len);
  size_t cuts[] = {len - 1, len - 100, len / 2, len / 4};
  for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
    assert_int_equal(accord_doc_import(r, b, cuts[i], NULL),
                     ACCORD_EMALFORMED);
    assert_int_equal(accord_doc_chain_head(r, a.actor, NULL, NULL),
                     ACCORD_ENOTFOUND);
    char *j = test_json(r);
    assert_string_equal(j, "{}");
    accord_free(j);
  }
  accord_import_stats st;
  AOK(accord_doc_import(r, b, len, &st));
  assert_int_equal(st.applied, MANY);
  same_json(a.doc, r);
  accord_free(b);
  accord_doc_free(r);
  accord_doc_free(a.doc);
}

/* A bulk run whose deps are missing waits with its seal, and is checked
 * (sequentially) and applied when the deps arrive. */
static void bulk_waits_for_deps(void **state) {
  (void)state;
  member a, c;
  member_new(&a);
  member_new(&c);
  write_many(a.doc, "a", 3);
  size_t len;
  uint8_t *ab = batch_for(a.doc, c.doc, &len);
  size_t alen = len;
  AOK(accord_doc_import(c.doc, ab, alen, NULL));
  write_many(c.doc, "c", MANY); /* the first depends on A's 3 */
  accord_doc *r = verifier();
  uint8_t *cb = batch_for(c.doc, a.doc, &len); /* C's changes alone */
  accord_import_stats st;
  AOK(accord_doc_import(r, cb, len, &st));
  assert_int_equal(st.applied, 0);
  assert_int_equal(st.pending, MANY);
  AOK(accord_doc_import(r, ab, alen, &st));
  assert_int_equal(st.applied, 3 + MANY);
  assert_int_equal(st.pending, 0);
  same_json(c.doc, r);
  uint64_t seq;
  AOK(accord_doc_chain_seal(r, c.actor, &seq, NULL));
  assert_int_equal(seq, MANY);
  accord_free(cb);
  accord_free(ab);
  accord_doc_free(r);
  accord_doc_free(a.doc);
  accord_doc_free(c.doc);
}

/* Many documents, each with its own worker, freed in any order. */
static void many_workers(void **state) {
  (void)state;
  member a;
  member_new(&a);
  write_many(a.doc, "k", MANY);
  uint8_t *b;
  size_t len;
  AOK(accord_doc_changes_since(a.doc, NULL, 0, &b, &len));
  accord_doc *r[8];
  for (int i = 0; i < 8; i++) {
    r[i] = verifier();
    AOK(accord_doc_import(r[i], b, len, NULL));
  }
  for (int i = 0; i < 8; i += 2) accord_doc_free(r[i]);
  for (int i = 1; i < 8; i += 2) {
    same_json(a.doc, r[i]);
    accord_doc_free(r[i]);
  }
  accord_free(b);
  accord_doc_free(a.doc);
}

/* A document whose worker thread was made before fork() still imports in
 * the child (checking inline: the thread stayed in the parent) and frees
 * cleanly. */
static void worker_after_fork(void **state) {
  (void)state;
  member a;
  member_new(&a);
  write_many(a.doc, "k", MANY);
  accord_doc *r = verifier();
  size_t len;
  uint8_t *b = batch_for(a.doc, r, &len);
  AOK(accord_doc_import(r, b, len, NULL));
  accord_free(b);
  write_many(a.doc, "m", MANY);
  b = batch_for(a.doc, r, &len);
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    accord_import_stats st;
    int rc = accord_doc_import(r, b, len, &st);
    accord_doc_free(r);
    _exit(rc == 0 && st.applied == MANY ? 0 : 1);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  AOK(accord_doc_import(r, b, len, NULL)); /* and the parent's still works */
  same_json(a.doc, r);
  accord_free(b);
  accord_doc_free(r);
  accord_doc_free(a.doc);
}

TEST_MAIN(cmocka_unit_test(bulk_imports), cmocka_unit_test(bulk_tamper_refused),
          cmocka_unit_test(bulk_one_bad_seal),
          cmocka_unit_test(bulk_early_cancelled),
          cmocka_unit_test(bulk_truncated),
          cmocka_unit_test(bulk_waits_for_deps),
          cmocka_unit_test(many_workers),
          cmocka_unit_test(worker_after_fork))
