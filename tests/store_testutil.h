/*
 * store_testutil.h — helpers shared by the node store tests (test_store*.c):
 * temporary directories, opening nodes, one-line commits, and comparing a
 * stored document with a replay of its own history. Header-only (static
 * inline) because every test_<module>.c builds with a fixed list of
 * sources. Every helper asserts success (cmocka).
 */
#ifndef ACCORD_STORE_TESTUTIL_H
#define ACCORD_STORE_TESTUTIL_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

/* A fresh directory under $TMPDIR (or /tmp); free() the result and remove
 * it with st_rmrf. */
static inline char *st_tmpdir(void) {
  const char *base = getenv("TMPDIR");
  char tmpl[4096];
  snprintf(tmpl, sizeof tmpl, "%s/accord-store-XXXXXX",
           base && *base ? base : "/tmp");
  char *d = mkdtemp(tmpl);
  assert_non_null(d);
  char *copy = strdup(d);
  assert_non_null(copy);
  return copy;
}

/* path + "/" + name, malloc'd. */
static inline char *st_path(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = malloc(n);
  assert_non_null(p);
  snprintf(p, n, "%s/%s", dir, name);
  return p;
}

static inline int st_rm_one(const char *path, const struct stat *sb, int flag,
                            struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static inline void st_rmrf(const char *dir) {
  nftw(dir, st_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static inline accord_node *st_open(const char *dir,
                                   const accord_node_opts *o) {
  accord_node *node = NULL;
  accord_node_opts copy;
  char err[512] = "";
  if (o) copy = *o;
  else memset(&copy, 0, sizeof copy);
  copy.errbuf = err;
  copy.errbuf_size = sizeof err;
  int rc = accord_node_open(dir, &copy, &node);
  if (rc) fail_msg("accord_node_open(%s) -> %s: %s", dir, accord_err_name(rc),
                   err);
  return node;
}

/* Asserts that a node call returned 0, printing the node's message. */
#define NOK(node, call)                                                    \
  do {                                                                     \
    int rc_ = (call);                                                      \
    if (rc_ != 0)                                                          \
      fail_msg("%s -> %s (%s)", #call, accord_err_name(rc_),               \
               accord_node_errmsg(node));                                  \
  } while (0)

/* An in-memory replica of document id of workspace ws written by a new
 * member of ws (added by node): its own key pair, sealing its changes so
 * that node accepts them. */
static inline accord_doc *st_member_peer(accord_node *node, const uint8_t *ws,
                                         const uint8_t *id, const char *name) {
  uint8_t pk[32], sk[64], actor[8];
  accord_doc *replica = NULL;
  AOK(accord_sign_keypair(pk, sk));
  AOK(accord_key_actor(pk, actor));
  NOK(node, accord_member_add(node, ws, pk, name, NULL));
  AOK(accord_doc_new(id, actor, &replica));
  AOK(accord_doc_set_signer(replica, sk, ws));
  return replica;
}

/* One durable commit setting root key to an int. */
static inline void st_put_int(accord_node *node, accord_doc *doc,
                              const char *key, int64_t v) {
  accord_txn *t;
  NOK(node, accord_node_txn_begin(node, doc, &t));
  accord_value val = accord_int(v);
  AOK(accord_map_put(t, ACCORD_ROOT, key, &val));
  NOK(node, accord_node_txn_commit(node, t, NULL));
}

/* The document's save bytes (free with accord_free). */
static inline uint8_t *st_save(accord_doc *doc, size_t *len) {
  uint8_t *b = NULL;
  AOK(accord_doc_save(doc, &b, len));
  return b;
}

static inline void st_assert_same_save(accord_doc *a, accord_doc *b) {
  size_t la, lb;
  uint8_t *sa = st_save(a, &la), *sb = st_save(b, &lb);
  assert_int_equal(la, lb);
  assert_memory_equal(sa, sb, la);
  accord_free(sa);
  accord_free(sb);
}

/* Asserts that doc's JSON equals that of a fresh document built by
 * importing every change doc holds (a full replay). */
static inline void st_assert_replays(accord_doc *doc) {
  uint8_t *batch = NULL;
  size_t len = 0;
  AOK(accord_doc_changes_since(doc, NULL, 0, &batch, &len));
  accord_doc *fresh = NULL;
  AOK(accord_doc_new(accord_doc_id(doc), NULL, &fresh));
  AOK(accord_doc_import(fresh, batch, len, NULL));
  char *a = test_json(doc), *b = test_json(fresh);
  assert_string_equal(a, b);
  accord_free(a);
  accord_free(b);
  accord_free(batch);
  accord_doc_free(fresh);
}

#endif
