/*
 * fuzz_common.c — see fuzz_common.h.
 */
#include "fuzz_common.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const uint8_t fuzz_frame_key[32] = {0x66, 0x72, 0x61, 0x6d, 0x65};
const uint8_t fuzz_beacon_ws_key[32] = {0x62, 0x65, 0x61, 0x63, 0x6f, 0x6e};

const uint8_t fuzz_ws_id[ACCORD_WS_ID_BYTES] = {0x77, 0x73, 0x66, 0x7a};

const uint8_t fuzz_doc_id[ACCORD_DOC_ID_BYTES] = {
    0xf0, 0x22, 0xd0, 0xc0, 0x00, 0x01, 0x02, 0x03,
    0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b};

void fuzz_die(const char *what, int rc) {
  fprintf(stderr, "fuzz: %s: %s\n", what, rc ? accord_err_name(rc) : "");
  abort();
}

void fuzz_actor(uint8_t actor[ACCORD_ACTOR_BYTES], uint64_t n) {
  for (int i = 0; i < ACCORD_ACTOR_BYTES; i++)
    actor[i] = (uint8_t)(n >> (8 * (ACCORD_ACTOR_BYTES - 1 - i)));
}

static void ok(int rc, const char *what) {
  if (rc) fuzz_die(what, rc);
}

static accord_doc *new_doc(uint64_t n) {
  uint8_t a[ACCORD_ACTOR_BYTES];
  fuzz_actor(a, n);
  accord_doc *d = NULL;
  ok(accord_doc_new(fuzz_doc_id, a, &d), "doc_new");
  return d;
}

void fuzz_sync_into(accord_doc *dst, accord_doc *src) {
  uint8_t *vv = NULL, *batch = NULL;
  size_t vlen = 0, blen = 0;
  ok(accord_doc_version(dst, &vv, &vlen), "version");
  ok(accord_doc_changes_since(src, vv, vlen, &batch, &blen), "changes_since");
  ok(accord_doc_import(dst, batch, blen, NULL), "import");
  accord_free(vv);
  accord_free(batch);
}

static accord_txn *begin(accord_doc *d, int64_t time) {
  accord_txn *t = NULL;
  ok(accord_txn_begin(d, &t), "txn_begin");
  accord_txn_set_time(t, time);
  return t;
}

accord_doc *fuzz_base(void) {
  accord_doc *base = new_doc(1), *other = new_doc(2);
  accord_txn *t = begin(base, 1700000000000LL);
  accord_id m, l, tx, inner;
  accord_value s = accord_str("caf\xc3\xa9", 5), c = accord_counter(10);
  accord_value i = accord_int(-123456789), b = accord_bytes("\0\1\2", 3);
  ok(accord_map_put_object(t, ACCORD_ROOT, "map", ACCORD_MAP, &m), "put");
  ok(accord_map_put_object(t, ACCORD_ROOT, "list", ACCORD_LIST, &l), "put");
  ok(accord_map_put_object(t, ACCORD_ROOT, "text", ACCORD_TEXT, &tx), "put");
  ok(accord_map_put(t, m, "s", &s), "put");
  ok(accord_map_put(t, m, "c", &c), "put");
  ok(accord_map_put(t, m, "b", &b), "put");
  ok(accord_list_insert(t, l, 0, &i), "insert");
  ok(accord_list_insert_object(t, l, 1, ACCORD_MAP, &inner), "insert");
  ok(accord_map_put(t, inner, "deep", &s), "put");
  ok(accord_text_splice(t, tx, 0, 0, "hello \xf0\x9f\x98\x80 world", 16),
     "splice");
  ok(accord_txn_set_message(t, "base", 4), "message");
  ok(accord_txn_commit(t, NULL), "commit");
  fuzz_sync_into(other, base);
  t = begin(other, 1700000001000LL);
  ok(accord_text_splice(t, tx, 6, 0, "\xe6\x97\xa5", 3), "splice");
  ok(accord_map_increment(t, m, "c", 5), "increment");
  ok(accord_txn_commit(t, NULL), "commit");
  fuzz_sync_into(base, other);
  accord_doc_free(other);
  return base;
}

accord_doc *fuzz_editor(const accord_doc *base, uint8_t **mid_vv,
                        size_t *mid_len) {
  accord_doc *ed = new_doc(3);
  uint8_t *batch = NULL;
  size_t blen = 0;
  ok(accord_doc_changes_since((accord_doc *)base, NULL, 0, &batch, &blen),
     "changes_since");
  ok(accord_doc_import(ed, batch, blen, NULL), "import");
  accord_free(batch);
  accord_value v;
  ok(accord_map_get(ed, ACCORD_ROOT, "text", &v), "get");
  accord_id tx = v.u.obj;
  ok(accord_map_get(ed, ACCORD_ROOT, "map", &v), "get");
  accord_id m = v.u.obj;
  ok(accord_map_get(ed, ACCORD_ROOT, "list", &v), "get");
  accord_id l = v.u.obj;
  accord_txn *t = begin(ed, 1700000002000LL);
  ok(accord_text_splice(t, tx, 0, 5, "HELLO", 5), "splice");
  ok(accord_map_delete(t, m, "b"), "delete");
  ok(accord_list_delete(t, l, 0, 1), "list_delete");
  accord_value d = accord_double(0.25), ts = accord_timestamp(1700000000123LL);
  ok(accord_map_put(t, m, "d", &d), "put");
  ok(accord_map_put(t, ACCORD_ROOT, "when", &ts), "put");
  ok(accord_txn_commit(t, NULL), "commit");
  if (mid_vv) ok(accord_doc_version(ed, mid_vv, mid_len), "version");
  t = begin(ed, 1700000003000LL);
  accord_value nul = accord_null(), yes = accord_bool(1);
  ok(accord_list_insert(t, l, 0, &nul), "insert");
  ok(accord_list_insert(t, l, 0, &yes), "insert");
  ok(accord_map_put_object(t, m, "sub", ACCORD_TEXT, NULL), "put_object");
  ok(accord_map_increment(t, m, "c", -1), "increment");
  ok(accord_txn_commit(t, NULL), "commit");
  return ed;
}

static void key_of(int n, uint8_t pk[32], uint8_t sk[64]) {
  uint8_t seed[32];
  memset(seed, n, sizeof seed);
  if (sodium_init() < 0 || crypto_sign_seed_keypair(pk, sk, seed))
    fuzz_die("key pair", 0);
}

accord_doc *fuzz_author(int n) {
  uint8_t pk[32], sk[64], actor[ACCORD_ACTOR_BYTES];
  key_of(n, pk, sk);
  ok(accord_key_actor(pk, actor), "key_actor");
  accord_doc *d = NULL;
  ok(accord_doc_new(fuzz_doc_id, actor, &d), "doc_new");
  ok(accord_doc_set_signer(d, sk, fuzz_ws_id), "set_signer");
  sodium_memzero(sk, sizeof sk);
  return d;
}

void fuzz_author_write(accord_doc *d, int count, const char *tag,
                       int64_t time) {
  for (int i = 0; i < count; i++) {
    char key[32];
    snprintf(key, sizeof key, "%s%d", tag, i % 7);
    accord_value v = accord_int(i);
    accord_txn *t = begin(d, time + i);
    ok(accord_map_put(t, ACCORD_ROOT, key, &v), "put");
    ok(accord_txn_commit(t, NULL), "commit");
  }
}

accord_doc *fuzz_sealed_base(uint8_t **mid_vv, size_t *mid_len,
                             accord_doc **author1) {
  accord_doc *a = fuzz_author(1), *base = new_doc(9);
  ok(accord_doc_set_workspace(base, fuzz_ws_id), "set_workspace");
  fuzz_author_write(a, FUZZ_SEALED_FORK - 1, "a", 1700000000000LL);
  if (mid_vv) ok(accord_doc_version(a, mid_vv, mid_len), "version");
  if (author1) {
    uint8_t *p = NULL;
    size_t n = 0;
    ok(accord_doc_save(a, &p, &n), "save");
    uint8_t pk[32], sk[64], actor[ACCORD_ACTOR_BYTES];
    key_of(1, pk, sk); /* a saved document keeps no secret key */
    ok(accord_key_actor(pk, actor), "key_actor");
    ok(accord_doc_load(p, n, actor, author1), "load");
    accord_free(p);
    ok(accord_doc_set_signer(*author1, sk, fuzz_ws_id), "set_signer");
    sodium_memzero(sk, sizeof sk);
  }
  fuzz_author_write(a, FUZZ_SEALED_BASE - (FUZZ_SEALED_FORK - 1), "b",
                    1700000100000LL);
  fuzz_sync_into(base, a);
  accord_doc_free(a);
  return base;
}

char *fuzz_json(const accord_doc *doc) {
  char *s = NULL;
  size_t n = 0;
  ok(accord_doc_json(doc, &s, &n), "json");
  return s;
}
