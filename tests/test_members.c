/*
 * test_members.c — workspace membership and invites (core/members.c,
 * core/token.c): each attack is named after what it proves and checks the
 * error it gets. Nodes live in temporary directories; "sync" here moves a
 * document's missing changes from one node to another as the network layer
 * will (accord_doc_changes_since → accord_node_doc_import).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* before the engine's headers: its helpers name variables like their types */
#include "store_testutil.h"
#include "crypto.h"
#include "members.h"
#include "node.h"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------- */

typedef struct peer {
  char *dir;
  accord_node *node;
} peer;

static void peer_open(peer *p) {
  p->dir = st_tmpdir();
  p->node = st_open(p->dir, NULL);
}

static void peer_close(peer *p) {
  accord_node_close(p->node);
  st_rmrf(p->dir);
  free(p->dir);
}

/* to learns workspace ws from from (genesis and key, as an invite gives). */
static void adopt(peer *from, peer *to, const uint8_t *ws) {
  uint8_t *g, key[32];
  size_t glen;
  NOK(from->node, node_ws_genesis(from->node, ws, &g, &glen));
  NOK(from->node, node_ws_key(from->node, ws, key));
  NOK(to->node, node_ws_adopt(to->node, g, glen, key, ws));
  accord_free(g);
}

typedef struct docrec {
  const store_doc *d;
} docrec;

static int put_doc_txn(store_txn *t, void *ctx) {
  store_doc have;
  const store_doc *d = ((docrec *)ctx)->d;
  int rc = store_doc_get(t, d->ws, d->id, &have);
  return rc == ACCORD_ENOTFOUND ? store_doc_put(t, d) : rc;
}

/* Sends what `to` lacks of document id from `from`; returns the import's
 * result. The receiver gets the document record first if it lacks it (the
 * network layer's job; here straight through the store). */
static int sync_doc(peer *from, peer *to, const uint8_t *ws,
                    const uint8_t *id) {
  accord_doc *src, *dst;
  accord_doc_info info;
  NOK(from->node, accord_node_doc_open(from->node, ws, id, &src));
  NOK(from->node, accord_node_doc_info(from->node, src, &info));
  store_doc d;
  memcpy(d.ws, ws, 16);
  memcpy(d.id, id, 16);
  memcpy(d.creator, info.creator, 8);
  d.created = info.created;
  d.type = info.type;
  d.type_len = strlen(info.type);
  docrec c = {&d};
  NOK(to->node, store_write(to->node->st, put_doc_txn, &c, NULL));
  NOK(to->node, accord_node_doc_open(to->node, ws, id, &dst));
  uint8_t *vv, *batch;
  size_t vlen, blen;
  AOK(accord_doc_version(dst, &vv, &vlen));
  AOK(accord_doc_changes_since(src, vv, vlen, &batch, &blen));
  int rc = accord_node_doc_import(to->node, dst, batch, blen, NULL);
  accord_free(vv);
  accord_free(batch);
  accord_node_doc_close(to->node, dst);
  accord_node_doc_close(from->node, src);
  return rc;
}

static void sys_id(const uint8_t *ws, uint8_t *id) {
  AOK(accord_system_doc_id(ws, id));
}

static int sync_sys(peer *from, peer *to, const uint8_t *ws) {
  uint8_t id[16];
  sys_id(ws, id);
  return sync_doc(from, to, ws, id);
}

/* Makes `who` a member of ws through `by` and gives it the membership. */
static void join(peer *by, peer *who, const uint8_t *ws, const char *name) {
  adopt(by, who, ws);
  NOK(by->node, accord_member_add(by->node, ws,
                                  accord_node_public_key(who->node), name,
                                  "marketing"));
  NOK(who->node, sync_sys(by, who, ws));
}

/* The JSON of document id on p. */
static char *doc_json(peer *p, const uint8_t *ws, const uint8_t *id) {
  accord_doc *doc;
  NOK(p->node, accord_node_doc_open(p->node, ws, id, &doc));
  char *j = test_json(doc);
  accord_node_doc_close(p->node, doc);
  return j;
}

static void put_int(peer *p, const uint8_t *ws, const uint8_t *id,
                    const char *key, int64_t v) {
  accord_doc *doc;
  NOK(p->node, accord_node_doc_open(p->node, ws, id, &doc));
  st_put_int(p->node, doc, key, v);
  accord_node_doc_close(p->node, doc);
}

/* One durable commit; its result (the transaction is undone on error). */
static int try_put(peer *p, const uint8_t *ws, const uint8_t *id,
                   const char *key, int64_t v) {
  accord_doc *doc;
  accord_txn *t;
  accord_value x = accord_int(v);
  NOK(p->node, accord_node_doc_open(p->node, ws, id, &doc));
  NOK(p->node, accord_node_txn_begin(p->node, doc, &t));
  AOK(accord_map_put(t, ACCORD_ROOT, key, &x));
  int rc = accord_node_txn_commit(p->node, t, NULL);
  accord_node_doc_close(p->node, doc);
  return rc;
}

static int nmembers(peer *p, const uint8_t *ws, size_t *removed) {
  accord_member *m;
  size_t n, r = 0;
  NOK(p->node, accord_member_list(p->node, ws, &m, &n));
  for (size_t i = 0; i < n; i++) r += m[i].removed != 0;
  accord_free(m);
  if (removed) *removed = r;
  return (int)n;
}

/* A replica of document id outside any node, written with a fresh key pair
 * (a stranger unless someone adds pk), holding what p has of it. */
static accord_doc *outsider(peer *p, const uint8_t *ws, const uint8_t *id,
                            uint8_t *pk) {
  uint8_t sk[64], actor[8];
  accord_doc *doc, *src;
  AOK(accord_sign_keypair(pk, sk));
  AOK(accord_key_actor(pk, actor));
  AOK(accord_doc_new(id, actor, &doc));
  AOK(accord_doc_set_signer(doc, sk, ws));
  NOK(p->node, accord_node_doc_open(p->node, ws, id, &src));
  uint8_t *b;
  size_t n;
  AOK(accord_doc_changes_since(src, NULL, 0, &b, &n));
  AOK(accord_doc_import(doc, b, n, NULL));
  accord_free(b);
  accord_node_doc_close(p->node, src);
  return doc;
}

/* Imports what doc has beyond p's copy; returns the import's result and
 * checks that a refused import changed nothing. */
static int push(accord_doc *doc, peer *p, const uint8_t *ws) {
  accord_doc *dst;
  NOK(p->node, accord_node_doc_open(p->node, ws, accord_doc_id(doc), &dst));
  char *before = test_json(dst);
  uint8_t *vv, *b;
  size_t vlen, n;
  AOK(accord_doc_version(dst, &vv, &vlen));
  AOK(accord_doc_changes_since(doc, vv, vlen, &b, &n));
  int rc = accord_node_doc_import(p->node, dst, b, n, NULL);
  if (rc) {
    char *after = test_json(dst);
    assert_string_equal(before, after);
    accord_free(after);
  }
  accord_free(before);
  accord_free(vv);
  accord_free(b);
  accord_node_doc_close(p->node, dst);
  return rc;
}

static void set_int(accord_doc *doc, const char *key, int64_t v) {
  accord_txn *t;
  accord_value x = accord_int(v);
  AOK(accord_txn_begin(doc, &t));
  AOK(accord_map_put(t, ACCORD_ROOT, key, &x));
  AOK(accord_txn_commit(t, NULL));
}

/* ---- membership ---------------------------------------------------------- */

/* The founder is a member from the first write of the workspace: the
 * system document exists with the founder's entry, and the member check
 * the network layer makes says so (and says no to a stranger's key). */
static void founder_is_first_member(void **state) {
  (void)state;
  peer a;
  peer_open(&a);
  uint8_t ws[16], id[16], pk[32], sk[64];
  NOK(a.node, accord_node_ws_create(a.node, "team", ws));
  accord_doc_info *docs;
  size_t n;
  NOK(a.node, accord_node_doc_list(a.node, ws, ACCORD_SYSTEM_TYPE, &docs, &n));
  assert_int_equal(n, 1);
  sys_id(ws, id);
  assert_memory_equal(docs[0].id, id, 16);
  accord_free(docs);
  accord_member *m;
  NOK(a.node, accord_member_list(a.node, ws, &m, &n));
  assert_int_equal(n, 1);
  assert_memory_equal(m[0].public_key, accord_node_public_key(a.node), 32);
  assert_memory_equal(m[0].actor, accord_node_actor(a.node), 8);
  assert_memory_equal(m[0].added_by, accord_node_actor(a.node), 8);
  assert_int_equal(m[0].removed, 0);
  accord_free(m);
  NOK(a.node, accord_member_update(a.node, ws, "Ana", "product"));
  NOK(a.node, accord_member_list(a.node, ws, &m, &n));
  assert_string_equal(m[0].name, "Ana");
  assert_string_equal(m[0].role, "product");
  accord_free(m);
  assert_int_equal(accord_member_update(a.node, ws, NULL, "sales"),
                   ACCORD_EINVAL);
  assert_int_equal(
      node_member_check(a.node, ws, accord_node_public_key(a.node)), 1);
  AOK(accord_sign_keypair(pk, sk));
  assert_int_equal(node_member_check(a.node, ws, pk), 0);
  accord_doc *second;
  assert_int_equal(accord_node_doc_create(a.node, ws, ACCORD_SYSTEM_TYPE,
                                          &second),
                   ACCORD_EINVAL); /* one membership document per workspace */
  uint8_t nows[16] = {0};
  assert_int_equal(node_member_check(a.node, nows, pk), ACCORD_ENOTFOUND);
  assert_int_equal(node_invite_redeem(a.node, nows, sk, pk, "Z", NULL),
                   ACCORD_ENOTFOUND);
  assert_int_equal(accord_member_list(a.node, nows, &m, &n),
                   ACCORD_ENOTFOUND);
  peer_close(&a);
}

/* A change sealed by a key that is not a member's is refused (ENOTMEMBER)
 * and changes nothing: seals prove who wrote, membership who may. */
static void forged_change_by_non_member_refused(void **state) {
  (void)state;
  peer a;
  peer_open(&a);
  uint8_t ws[16], id[16], pk[32];
  accord_doc *doc;
  NOK(a.node, accord_node_ws_create(a.node, "team", ws));
  NOK(a.node, accord_node_doc_create(a.node, ws, "goal", &doc));
  memcpy(id, accord_doc_id(doc), 16);
  st_put_int(a.node, doc, "x", 1);
  accord_node_doc_close(a.node, doc);
  accord_doc *eve = outsider(&a, ws, id, pk);
  set_int(eve, "x", 666);
  assert_int_equal(push(eve, &a, ws), ACCORD_ENOTMEMBER);
  assert_non_null(strstr(accord_node_errmsg(a.node), "not a member"));
  /* once added, the same key's changes are taken */
  NOK(a.node, accord_member_add(a.node, ws, pk, "Eve", NULL));
  NOK(a.node, push(eve, &a, ws));
  char *j = doc_json(&a, ws, id);
  assert_string_equal(j, "{\"x\":666}");
  accord_free(j);
  accord_doc_free(eve);
  peer_close(&a);
}

/* A stranger who writes itself into the membership document is refused:
 * membership changes count only when a member made them (ENOTMEMBER). */
static void membership_change_by_non_member_refused(void **state) {
  (void)state;
  peer a;
  peer_open(&a);
  uint8_t ws[16], id[16], pk[32];
  NOK(a.node, accord_node_ws_create(a.node, "team", ws));
  sys_id(ws, id);
  accord_doc *eve = outsider(&a, ws, id, pk);
  accord_value v, m;
  AOK(accord_map_get(eve, ACCORD_ROOT, "members", &m));
  accord_txn *t;
  accord_id e;
  char hex[17];
  uint8_t actor[8];
  AOK(accord_key_actor(pk, actor));
  for (int i = 0; i < 8; i++) snprintf(hex + 2 * i, 3, "%02x", actor[i]);
  AOK(accord_txn_begin(eve, &t));
  AOK(accord_map_put_object(t, m.u.obj, hex, ACCORD_MAP, &e));
  v = accord_bytes(pk, 32);
  AOK(accord_map_put(t, e, "pk", &v));
  v = accord_bytes(accord_node_actor(a.node), 8); /* claims Ana added her */
  AOK(accord_map_put(t, e, "added_by", &v));
  AOK(accord_txn_commit(t, NULL));
  assert_int_equal(push(eve, &a, ws), ACCORD_ENOTMEMBER);
  assert_int_equal(nmembers(&a, ws, NULL), 1);
  assert_int_equal(node_member_check(a.node, ws, pk), 0);
  accord_doc_free(eve);
  peer_close(&a);
}

/* An add and the new member's own membership changes arrive in one batch
 * (relayed by the new member): accepted, because the system document is
 * checked after the import, against the membership it leads to. */
static void add_and_new_members_change_in_one_batch(void **state) {
  (void)state;
  peer a, b, c;
  peer_open(&a);
  peer_open(&b);
  peer_open(&c);
  uint8_t ws[16];
  NOK(a.node, accord_node_ws_create(a.node, "team", ws));
  join(&a, &b, ws, "Ben");
  NOK(b.node, accord_member_update(b.node, ws, "Benjamin", NULL));
  adopt(&a, &c, ws);
  NOK(c.node, sync_sys(&b, &c, ws)); /* Ana's add and Ben's change */
  accord_member *m;
  size_t n;
  NOK(c.node, accord_member_list(c.node, ws, &m, &n));
  assert_int_equal(n, 2);
  int found = 0;
  for (size_t i = 0; i < n; i++)
    found += !strcmp(m[i].name, "Benjamin") &&
             !memcmp(m[i].added_by, accord_node_actor(a.node), 8);
  assert_int_equal(found, 1);
  accord_free(m);
  peer_close(&a);
  peer_close(&b);
  peer_close(&c);
}

/* A node that is not a member cannot commit (ENOTMEMBER, with a message
 * that says so), neither to a document nor to the membership. */
static void non_member_node_cannot_commit(void **state) {
  (void)state;
  peer a, b;
  peer_open(&a);
  peer_open(&b);
  uint8_t ws[16], id[16];
  accord_doc *doc;
  NOK(a.node, accord_node_ws_create(a.node, "team", ws));
  NOK(a.node, accord_node_doc_create(a.node, ws, "goal", &doc));
  memcpy(id, accord_doc_id(doc), 16);
  st_put_int(a.node, doc, "x", 1);
  accord_node_doc_close(a.node, doc);
  adopt(&a, &b, ws);
  NOK(b.node, sync_sys(&a, &b, ws));
  NOK(b.node, sync_doc(&a, &b, ws, id));
  NOK(b.node, accord_node_doc_open(b.node, ws, id, &doc));
  accord_txn *t;
  accord_value v = accord_int(2);
  NOK(b.node, accord_node_txn_begin(b.node, doc, &t));
  AOK(accord_map_put(t, ACCORD_ROOT, "x", &v));
  assert_int_equal(accord_node_txn_commit(b.node, t, NULL),
                   ACCORD_ENOTMEMBER);
  assert_non_null(strstr(accord_node_errmsg(b.node), "not a member"));
  char *j = test_json(doc);
  assert_string_equal(j, "{\"x\":1}"); /* undone in memory too */
  accord_free(j);
  accord_node_doc_close(b.node, doc);
  uint8_t pk[32], sk[64];
  AOK(accord_sign_keypair(pk, sk));
  assert_int_equal(accord_member_add(b.node, ws, pk, "Zed", NULL),
                   ACCORD_ENOTMEMBER);
  assert_int_equal(nmembers(&b, ws, NULL), 1);
  peer_close(&a);
  peer_close(&b);
}

/* A key that derives to an actor id the membership already holds with
 * another key is refused: by the add (EKEY) and on the wire (ENOTMEMBER).
 * (Real collisions of 8-byte ids are out of reach, so a member writes the
 * conflicting record by hand.) */
static void second_key_for_existing_actor_refused(void **state) {
  (void)state;
  peer a;
  peer_open(&a);
  uint8_t ws[16], id[16], doc_id[16], mpk[32], other[32], osk[64];
  accord_doc *doc;
  NOK(a.node, accord_node_ws_create(a.node, "team", ws));
  NOK(a.node, accord_node_doc_create(a.node, ws, "goal", &doc));
  memcpy(doc_id, accord_doc_id(doc), 16);
  st_put_int(a.node, doc, "x", 1);
  accord_node_doc_close(a.node, doc);
  sys_id(ws, id);
  /* mallory, a member, records `other`'s actor id with her own key */
  accord_doc *mal = outsider(&a, ws, id, mpk);
  NOK(a.node, accord_member_add(a.node, ws, mpk, "Mallory", NULL));
  uint8_t *b;
  size_t n;
  accord_doc *src;
  NOK(a.node, accord_node_doc_open(a.node, ws, id, &src));
  AOK(accord_doc_changes_since(src, NULL, 0, &b, &n));
  AOK(accord_doc_import(mal, b, n, NULL));
  accord_free(b);
  accord_node_doc_close(a.node, src);
  AOK(accord_sign_keypair(other, osk));
  uint8_t oactor[8];
  char hex[17];
  AOK(accord_key_actor(other, oactor));
  for (int i = 0; i < 8; i++) snprintf(hex + 2 * i, 3, "%02x", oactor[i]);
  accord_value m, v;
  accord_id e;
  accord_txn *t;
  AOK(accord_map_get(mal, ACCORD_ROOT, "members", &m));
  AOK(accord_txn_begin(mal, &t));
  AOK(accord_map_put_object(t, m.u.obj, hex, ACCORD_MAP, &e));
  v = accord_bytes(mpk, 32); /* not the key that derives to hex */
  AOK(accord_map_put(t, e, "pk", &v));
  AOK(accord_txn_commit(t, NULL));
  NOK(a.node, push(mal, &a, ws));
  assert_int_equal(accord_member_add(a.node, ws, other, "Otto", NULL),
                   ACCORD_EKEY);
  /* and a change sealed with `other` for that actor id is refused */
  accord_doc *o;
  AOK(accord_doc_new(doc_id, oactor, &o));
  AOK(accord_doc_set_signer(o, osk, ws));
  set_int(o, "y", 2);
  assert_int_equal(push(o, &a, ws), ACCORD_ENOTMEMBER);
  assert_non_null(strstr(accord_node_errmsg(a.node), "recorded key"));
  accord_doc_free(o);
  accord_doc_free(mal);
  peer_close(&a);
}

/* A stranger's membership change that waits for its deps must not block
 * the membership document: it is not kept, and the member's change it
 * waited for still imports. */
static void waiting_non_member_change_does_not_jam(void **state) {
  (void)state;
  peer a, b;
  peer_open(&a);
  peer_open(&b);
  uint8_t ws[16], id[16], pk[32];
  NOK(a.node, accord_node_ws_create(a.node, "team", ws));
  join(&a, &b, ws, "Ben");
  NOK(b.node, accord_member_update(b.node, ws, "Benjamin", NULL));
  sys_id(ws, id);
  accord_doc *eve = outsider(&b, ws, id, pk); /* has Ben's change */
  accord_value m;
  AOK(accord_map_get(eve, ACCORD_ROOT, "members", &m));
  set_int(eve, "eve", 1);
  /* only Eve's chain reaches A: it waits for Ben's change */
  accord_doc *bs;
  uint8_t *vv, *batch;
  size_t vlen, blen;
  NOK(b.node, accord_node_doc_open(b.node, ws, id, &bs));
  AOK(accord_doc_version(bs, &vv, &vlen));
  accord_node_doc_close(b.node, bs);
  AOK(accord_doc_changes_since(eve, vv, vlen, &batch, &blen));
  accord_doc *as;
  accord_import_stats st;
  NOK(a.node, accord_node_doc_open(a.node, ws, id, &as));
  NOK(a.node, accord_node_doc_import(a.node, as, batch, blen, &st));
  assert_int_equal(st.applied, 0);
  assert_int_equal(st.pending, 0); /* not kept */
  accord_node_doc_close(a.node, as);
  NOK(a.node, sync_sys(&b, &a, ws)); /* Ben's change still comes in */
  /* and Eve's change, sent again with its deps, is refused */
  accord_free(batch);
  AOK(accord_doc_changes_since(eve, NULL, 0, &batch, &blen));
  NOK(a.node, accord_node_doc_open(a.node, ws, id, &as));
  assert_int_equal(accord_node_doc_import(a.node, as, batch, blen, NULL),
                   ACCORD_ENOTMEMBER);
  accord_node_doc_close(a.node, as);
  accord_member *list;
  size_t n;
  NOK(a.node, accord_member_list(a.node, ws, &list, &n));
  assert_int_equal(n, 2);
  accord_free(list);
  accord_free(vv);
  accord_free(batch);
  accord_doc_free(eve);
  peer_close(&a);
  peer_close(&b);
}

/* ---- removal ------------------------------------------------------------- */

/* A founder, B and X share goal D; everyone has X's first change. */
static void removal_setup(peer *a, peer *b, peer *x, uint8_t *ws,
                          uint8_t *id) {
  accord_doc *doc;
  peer_open(a);
  peer_open(b);
  peer_open(x);
  NOK(a->node, accord_node_ws_create(a->node, "team", ws));
  NOK(a->node, accord_node_doc_create(a->node, ws, "goal", &doc));
  memcpy(id, accord_doc_id(doc), 16);
  st_put_int(a->node, doc, "a", 1);
  accord_node_doc_close(a->node, doc);
  join(a, b, ws, "Ben");
  join(a, x, ws, "Xavier");
  NOK(b->node, sync_sys(a, b, ws));
  NOK(b->node, sync_doc(a, b, ws, id));
  NOK(x->node, sync_doc(a, x, ws, id));
  put_int(x, ws, id, "x", 1);
  NOK(a->node, sync_doc(x, a, ws, id));
  NOK(b->node, sync_doc(x, b, ws, id));
}

static void assert_same_json(peer *a, peer *b, peer *x, const uint8_t *ws,
                             const uint8_t *id, const char *want) {
  char *ja = doc_json(a, ws, id), *jb = doc_json(b, ws, id),
       *jx = doc_json(x, ws, id);
  assert_string_equal(ja, want);
  assert_string_equal(ja, jb);
  assert_string_equal(ja, jx);
  accord_free(ja);
  accord_free(jb);
  accord_free(jx);
}

static void removal_teardown(peer *a, peer *b, peer *x) {
  peer_close(a);
  peer_close(b);
  peer_close(x);
}

/* The removal reaches everyone before X's new change: every node refuses
 * it (ENOTMEMBER), X itself drops it, and X can no longer commit. */
static void removed_members_new_changes_refused_removal_first(void **state) {
  (void)state;
  peer a, b, x;
  uint8_t ws[16], id[16];
  removal_setup(&a, &b, &x, ws, id);
  put_int(&x, ws, id, "x", 2); /* past what A knows: cut off */
  NOK(a.node, accord_member_remove(a.node, ws, accord_node_actor(x.node)));
  size_t removed;
  assert_int_equal(nmembers(&a, ws, &removed), 3);
  assert_int_equal(removed, 1);
  assert_int_equal(node_member_check(a.node, ws,
                                     accord_node_public_key(x.node)),
                   0);
  /* a removed key cannot come back (its cutoffs would be erased) */
  assert_int_equal(accord_member_add(a.node, ws,
                                     accord_node_public_key(x.node), "X",
                                     NULL),
                   ACCORD_EINVAL);
  NOK(b.node, sync_sys(&a, &b, ws));
  assert_int_equal(sync_doc(&x, &b, ws, id), ACCORD_ENOTMEMBER);
  assert_non_null(strstr(accord_node_errmsg(b.node), "removed"));
  assert_int_equal(sync_doc(&x, &a, ws, id), ACCORD_ENOTMEMBER);
  NOK(x.node, sync_sys(&a, &x, ws)); /* X learns it, drops its x=2 */
  put_int(&b, ws, id, "b", 1);
  NOK(a.node, sync_doc(&b, &a, ws, id));
  NOK(x.node, sync_doc(&a, &x, ws, id));
  assert_same_json(&a, &b, &x, ws, id, "{\"a\":1,\"b\":1,\"x\":1}");
  /* X cannot write any more, nor change the membership */
  assert_int_equal(try_put(&x, ws, id, "x", 3), ACCORD_ENOTMEMBER);
  assert_non_null(strstr(accord_node_errmsg(x.node), "removed"));
  uint8_t pk[32], sk[64];
  AOK(accord_sign_keypair(pk, sk));
  assert_int_equal(accord_member_add(x.node, ws, pk, "Accomplice", NULL),
                   ACCORD_ENOTMEMBER);
  assert_int_equal(accord_member_remove(x.node, ws, accord_node_actor(a.node)),
                   ACCORD_ENOTMEMBER);
  removal_teardown(&a, &b, &x);
}

/* X's new change reaches B (and B builds on it) before the removal: when
 * the removal arrives, B drops X's change and B's dependent change waits;
 * all three nodes end with the same document. */
static void removed_members_new_changes_dropped_changes_first(void **state) {
  (void)state;
  peer a, b, x;
  uint8_t ws[16], id[16];
  removal_setup(&a, &b, &x, ws, id);
  put_int(&x, ws, id, "x", 2);
  NOK(b.node, sync_doc(&x, &b, ws, id)); /* B stores x=2 */
  put_int(&b, ws, id, "y", 1);           /* after seeing x=2: depends on it */
  put_int(&a, ws, id, "a", 2);
  NOK(a.node, accord_member_remove(a.node, ws, accord_node_actor(x.node)));
  NOK(b.node, sync_sys(&a, &b, ws)); /* the removal after the change */
  NOK(x.node, sync_sys(&a, &x, ws));
  char *jb = doc_json(&b, ws, id);
  assert_string_equal(jb, "{\"a\":1,\"x\":1}");
  accord_free(jb);
  NOK(a.node, sync_doc(&b, &a, ws, id));
  NOK(b.node, sync_doc(&a, &b, ws, id));
  NOK(x.node, sync_doc(&a, &x, ws, id));
  assert_same_json(&a, &b, &x, ws, id, "{\"a\":2,\"x\":1}");
  /* and it stays so after reopening (the stored records were rewritten) */
  accord_node_close(b.node);
  b.node = st_open(b.dir, NULL);
  NOK(b.node, accord_node_verify(b.node));
  assert_same_json(&a, &b, &x, ws, id, "{\"a\":2,\"x\":1}");
  removal_teardown(&a, &b, &x);
}

/* Two members remove X concurrently knowing different amounts of X's
 * work: the cutoffs combine by max, the same on every node. */
static void concurrent_removals_take_the_larger_cutoff(void **state) {
  (void)state;
  peer a, b, x;
  uint8_t ws[16], id[16];
  removal_setup(&a, &b, &x, ws, id);
  put_int(&x, ws, id, "x", 2);
  NOK(b.node, sync_doc(&x, &b, ws, id)); /* B knows x=2, A does not */
  NOK(a.node, accord_member_remove(a.node, ws, accord_node_actor(x.node)));
  NOK(b.node, accord_member_remove(b.node, ws, accord_node_actor(x.node)));
  NOK(b.node, sync_sys(&a, &b, ws));
  NOK(a.node, sync_sys(&b, &a, ws));
  NOK(x.node, sync_sys(&a, &x, ws));
  NOK(a.node, sync_doc(&b, &a, ws, id)); /* x=2 is within B's cutoff */
  NOK(x.node, sync_doc(&a, &x, ws, id));
  assert_same_json(&a, &b, &x, ws, id, "{\"a\":1,\"x\":2}");
  assert_int_equal(try_put(&x, ws, id, "x", 3), ACCORD_ENOTMEMBER);
  removal_teardown(&a, &b, &x);
}

/* Two members add the same person concurrently (two entries, one wins
 * everywhere) and one of them removes that person before syncing: the
 * removal counts whichever entry it was written into. Each member removes
 * in turn, so one of the two rounds writes into the entry that loses. */
static void concurrent_add_then_remove(int b_removes) {
  peer a, b;
  peer_open(&a);
  peer_open(&b);
  uint8_t ws[16], pk[32], sk[64], actor[8];
  NOK(a.node, accord_node_ws_create(a.node, "team", ws));
  join(&a, &b, ws, "Ben");
  AOK(accord_sign_keypair(pk, sk));
  AOK(accord_key_actor(pk, actor));
  NOK(a.node, accord_member_add(a.node, ws, pk, "Jo", NULL));
  NOK(b.node, accord_member_add(b.node, ws, pk, "Jo", NULL));
  peer *r = b_removes ? &b : &a;
  NOK(r->node, accord_member_remove(r->node, ws, actor));
  NOK(b.node, sync_sys(&a, &b, ws));
  NOK(a.node, sync_sys(&b, &a, ws));
  assert_int_equal(node_member_check(a.node, ws, pk), 0);
  assert_int_equal(node_member_check(b.node, ws, pk), 0);
  size_t removed;
  assert_int_equal(nmembers(&a, ws, &removed), 3);
  assert_int_equal(removed, 1);
  assert_int_equal(nmembers(&b, ws, &removed), 3);
  assert_int_equal(removed, 1);
  peer_close(&a);
  peer_close(&b);
}

static void removal_survives_concurrent_adds(void **state) {
  (void)state;
  concurrent_add_then_remove(0);
  concurrent_add_then_remove(1);
}

/* ---- relaying ------------------------------------------------------------ */

/* Node documents verify seals, so a relay forwards another author's
 * changes only up to a seal it holds: B stores A's seal with A's changes
 * and, after a restart, still relays them to C, which checks them. */
static void relay_after_reopen_forwards_sealed_changes(void **state) {
  (void)state;
  peer a, b, c;
  peer_open(&a);
  peer_open(&b);
  peer_open(&c);
  uint8_t ws[16], id[16];
  accord_doc *doc;
  NOK(a.node, accord_node_ws_create(a.node, "team", ws));
  join(&a, &b, ws, "Ben");
  join(&a, &c, ws, "Cleo");
  NOK(b.node, sync_sys(&a, &b, ws)); /* B knows Cleo too */
  NOK(a.node, accord_node_doc_create(a.node, ws, "goal", &doc));
  memcpy(id, accord_doc_id(doc), 16);
  st_put_int(a.node, doc, "a", 1);
  st_put_int(a.node, doc, "a", 2);
  accord_node_doc_close(a.node, doc);
  NOK(b.node, sync_doc(&a, &b, ws, id));
  accord_node_close(b.node);
  b.node = st_open(b.dir, NULL);
  NOK(c.node, sync_doc(&b, &c, ws, id)); /* A's changes, by B */
  char *ja = doc_json(&a, ws, id), *jc = doc_json(&c, ws, id);
  assert_string_equal(ja, "{\"a\":2}");
  assert_string_equal(ja, jc);
  accord_free(ja);
  accord_free(jc);
  peer_close(&a);
  peer_close(&b);
  peer_close(&c);
}


/* ---- invites ------------------------------------------------------------- */

static const char *const ADDRS[] = {"192.0.2.7:7311", "laptop.local:7311"};

/* A member's invite: token parses back to what it carries. */
static char *make_invite(peer *a, const uint8_t *ws, accord_invite **inv) {
  char *token;
  int64_t now = (int64_t)time(NULL) * 1000;
  NOK(a->node, accord_invite_create(a->node, ws, ADDRS, 2,
                                    now + 7 * 86400000LL, &token));
  AOK(accord_invite_parse(token, inv));
  return token;
}

/* An invite carries what a joiner needs; redeeming it once adds the joiner
 * (and uses it up: the listing says so); the same joiner again is a
 * no-op. */
static void invite_token_and_redeem(void **state) {
  (void)state;
  peer a, j;
  peer_open(&a);
  peer_open(&j);
  uint8_t ws[16], key[32], id[16];
  NOK(a.node, accord_node_ws_create(a.node, "team", ws));
  accord_invite *inv;
  char *token = make_invite(&a, ws, &inv);
  assert_memory_equal(inv->ws, ws, 16);
  NOK(a.node, node_ws_key(a.node, ws, key));
  assert_memory_equal(inv->key, key, 32);
  assert_int_equal(inv->naddrs, 2);
  assert_string_equal(inv->addrs[0], ADDRS[0]);
  assert_string_equal(inv->addrs[1], ADDRS[1]);
  assert_true(inv->expires > (int64_t)time(NULL) * 1000);
  accord_invite_info *list;
  size_t n;
  NOK(a.node, accord_invite_list(a.node, ws, &list, &n));
  assert_int_equal(n, 1);
  AOK(accord_invite_id(inv->secret, id));
  assert_memory_equal(list[0].id, id, 16);
  assert_memory_equal(list[0].by, accord_node_actor(a.node), 8);
  assert_int_equal(list[0].used, 0);
  accord_free(list);
  NOK(a.node, accord_node_invite_redeem(a.node, ws, inv->secret,
                                        accord_node_public_key(j.node),
                                        "Jo", "product"));
  assert_int_equal(node_member_check(a.node, ws,
                                     accord_node_public_key(j.node)),
                   1);
  NOK(a.node, node_invite_redeem(a.node, ws, inv->secret,
                                 accord_node_public_key(j.node), "Jo",
                                 "product")); /* the same joiner: no-op */
  NOK(a.node, accord_invite_list(a.node, ws, &list, &n));
  assert_int_equal(list[0].used, 1);
  assert_memory_equal(list[0].used_by, accord_node_actor(j.node), 8);
  accord_free(list);
  /* the joiner adopts the workspace (its genesis comes from a member) and
   * syncs: now it may write */
  adopt(&a, &j, ws);
  NOK(j.node, sync_sys(&a, &j, ws));
  NOK(j.node, accord_member_update(j.node, ws, "Joanna", NULL));
  accord_invite_free(inv);
  accord_free(token);
  peer_close(&a);
  peer_close(&j);
}

/* A used invite is refused on every node once they synced (EINVITE). */
static void reused_invite_refused(void **state) {
  (void)state;
  peer a, b;
  peer_open(&a);
  peer_open(&b);
  uint8_t ws[16], pk1[32], pk2[32], sk[64];
  NOK(a.node, accord_node_ws_create(a.node, "team", ws));
  join(&a, &b, ws, "Ben");
  accord_invite *inv;
  char *token = make_invite(&a, ws, &inv);
  NOK(b.node, sync_sys(&a, &b, ws)); /* B knows of the invite */
  AOK(accord_sign_keypair(pk1, sk));
  AOK(accord_sign_keypair(pk2, sk));
  NOK(a.node, accord_node_invite_redeem(a.node, ws, inv->secret, pk1, "One",
                                        NULL));
  assert_int_equal(accord_node_invite_redeem(a.node, ws, inv->secret, pk2,
                                             "Two", NULL),
                   ACCORD_EINVITE);
  NOK(b.node, sync_sys(&a, &b, ws));
  assert_int_equal(accord_node_invite_redeem(b.node, ws, inv->secret, pk2,
                                             "Two", NULL),
                   ACCORD_EINVITE);
  assert_int_equal(node_member_check(b.node, ws, pk2), 0);
  assert_int_equal(node_member_check(b.node, ws, pk1), 1);
  /* an invite nobody made */
  uint8_t secret[32] = {1, 2, 3};
  assert_int_equal(accord_node_invite_redeem(b.node, ws, secret, pk2, "Two",
                                             NULL),
                   ACCORD_EINVITE);
  accord_invite_free(inv);
  accord_free(token);
  peer_close(&a);
  peer_close(&b);
}

/* A revoked invite is refused (EINVITE), here and after sync. */
static void revoked_invite_refused(void **state) {
  (void)state;
  peer a, b;
  peer_open(&a);
  peer_open(&b);
  uint8_t ws[16], pk[32], sk[64], id[16];
  NOK(a.node, accord_node_ws_create(a.node, "team", ws));
  join(&a, &b, ws, "Ben");
  accord_invite *inv;
  char *token = make_invite(&a, ws, &inv);
  AOK(accord_invite_id(inv->secret, id));
  /* B has not seen the invite yet */
  assert_int_equal(accord_invite_revoke(b.node, ws, id), ACCORD_EINVITE);
  NOK(a.node, accord_invite_revoke(a.node, ws, id));
  AOK(accord_sign_keypair(pk, sk));
  assert_int_equal(accord_node_invite_redeem(a.node, ws, inv->secret, pk,
                                             "Late", NULL),
                   ACCORD_EINVITE);
  NOK(b.node, sync_sys(&a, &b, ws));
  assert_int_equal(accord_node_invite_redeem(b.node, ws, inv->secret, pk,
                                             "Late", NULL),
                   ACCORD_EINVITE);
  accord_invite_info *list;
  size_t n;
  NOK(b.node, accord_invite_list(b.node, ws, &list, &n));
  assert_int_equal(n, 1);
  assert_int_equal(list[0].revoked, 1);
  accord_free(list);
  assert_int_equal(node_member_check(b.node, ws, pk), 0);
  accord_invite_free(inv);
  accord_free(token);
  peer_close(&a);
  peer_close(&b);
}

/* An expired invite is refused (EINVITE). The clock is not waited on: a
 * member moves the recorded expiry into the past. */
static void expired_invite_refused(void **state) {
  (void)state;
  peer a;
  peer_open(&a);
  uint8_t ws[16], pk[32], sk[64], id[16], sid[16];
  NOK(a.node, accord_node_ws_create(a.node, "team", ws));
  accord_invite *inv;
  char *token = make_invite(&a, ws, &inv);
  int64_t now = (int64_t)time(NULL) * 1000;
  char *none;
  assert_int_equal(accord_invite_create(a.node, ws, NULL, 0, now - 1, &none),
                   ACCORD_EINVAL); /* an expiry in the past is no invite */
  assert_null(none);
  AOK(accord_invite_id(inv->secret, id));
  char hex[33];
  for (int i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", id[i]);
  sys_id(ws, sid);
  accord_doc *doc;
  accord_txn *t;
  accord_value invites, one, v = accord_timestamp(now - 1000);
  NOK(a.node, accord_node_doc_open(a.node, ws, sid, &doc));
  AOK(accord_map_get(doc, ACCORD_ROOT, "invites", &invites));
  AOK(accord_map_get(doc, invites.u.obj, hex, &one));
  NOK(a.node, accord_node_txn_begin(a.node, doc, &t));
  AOK(accord_map_put(t, one.u.obj, "expires", &v));
  NOK(a.node, accord_node_txn_commit(a.node, t, NULL));
  accord_node_doc_close(a.node, doc);
  AOK(accord_sign_keypair(pk, sk));
  assert_int_equal(accord_node_invite_redeem(a.node, ws, inv->secret, pk,
                                             "Late", NULL),
                   ACCORD_EINVITE);
  assert_int_equal(node_member_check(a.node, ws, pk), 0);
  accord_invite_free(inv);
  accord_free(token);
  peer_close(&a);
}

/* ---- tokens -------------------------------------------------------------- */

static const char B32[] = "abcdefghijklmnopqrstuvwxyz234567";
#define PREFIX "accord-invite:"

static size_t b32_dec(const char *s, uint8_t *out) {
  uint32_t acc = 0;
  int bits = 0;
  size_t n = 0;
  for (; *s; s++) {
    acc = acc << 5 | (uint32_t)(strchr(B32, *s) - B32);
    if ((bits += 5) >= 8) out[n++] = (uint8_t)(acc >> (bits -= 8));
  }
  return n;
}

static void b32_enc(const uint8_t *p, size_t n, char *out) {
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    acc = acc << 8 | p[i];
    for (bits += 8; bits >= 5;) *out++ = B32[(acc >> (bits -= 5)) & 31];
  }
  if (bits) *out++ = B32[(acc << (5 - bits)) & 31];
  *out = 0;
}

static int parse_rc(const char *t) {
  accord_invite *inv = NULL;
  int rc = accord_invite_parse(t, &inv);
  if (rc) assert_null(inv);
  accord_invite_free(inv);
  return rc;
}

/* Bad tokens are refused with a clear error and no result: truncated,
 * wrong checksum, wrong version, random bytes (seeded), trailing junk. */
static void bad_tokens_refused(void **state) {
  (void)state;
  accord_invite inv;
  memset(&inv, 0, sizeof inv);
  memset(inv.ws, 7, 16);
  memset(inv.key, 8, 32);
  memset(inv.secret, 9, 32);
  inv.expires = 1767225600000;
  inv.naddrs = 2;
  inv.addrs = (const char **)ADDRS;
  char *good;
  AOK(token_encode(&inv, &good));
  assert_int_equal(parse_rc(good), 0);
  size_t len = strlen(good);
  char *t = malloc(len + 64);
  /* truncated, at every length */
  for (size_t k = 0; k < len; k++) {
    memcpy(t, good, k);
    t[k] = 0;
    assert_int_equal(parse_rc(t), ACCORD_EMALFORMED);
  }
  /* one character changed anywhere after the prefix: the checksum */
  for (size_t k = strlen(PREFIX); k < len; k++) {
    strcpy(t, good);
    t[k] = t[k] == 'a' ? 'b' : 'a';
    int rc = parse_rc(t);
    assert_true(rc == ACCORD_EMALFORMED);
  }
  strcpy(t, good);
  strcat(t, "aa");
  assert_int_equal(parse_rc(t), ACCORD_EMALFORMED);
  /* wrong version with a correct checksum */
  uint8_t bin[512], h[32];
  size_t n = b32_dec(good + strlen(PREFIX), bin);
  if (n < 100 || n > sizeof bin) fail_msg("token of %zu bytes", n);
  bin[0] = 2;
  hash_bytes(bin, n - 4, h);
  memcpy(bin + n - 4, h, 4);
  strcpy(t, PREFIX);
  b32_enc(bin, n, t + strlen(PREFIX));
  assert_int_equal(parse_rc(t), ACCORD_EVERSION);
  /* an address that is not printable, with a correct checksum */
  n = b32_dec(good + strlen(PREFIX), bin);
  if (n < 100 || n > sizeof bin) fail_msg("token of %zu bytes", n);
  bin[91] = '\n';
  hash_bytes(bin, n - 4, h);
  memcpy(bin + n - 4, h, 4);
  b32_enc(bin, n, t + strlen(PREFIX));
  assert_int_equal(parse_rc(t), ACCORD_EMALFORMED);
  assert_int_equal(accord_invite_parse(NULL, NULL), ACCORD_EINVAL);
  assert_int_equal(parse_rc("hello"), ACCORD_EMALFORMED);
  /* random bytes, with and without the prefix */
  test_rng r;
  rng_init(&r, test_seed("bad_tokens_refused"));
  char junk[300];
  for (int i = 0; i < 2000; i++) {
    size_t k = rng_below(&r, sizeof junk - 1), off = 0;
    if (i & 1) {
      memcpy(junk, PREFIX, strlen(PREFIX));
      off = strlen(PREFIX);
      if (k < off) k = off;
    }
    for (size_t q = off; q < k; q++)
      junk[q] = (i & 2) ? B32[rng_below(&r, 32)]
                        : (char)(1 + rng_below(&r, 255));
    junk[k] = 0;
    int rc = parse_rc(junk);
    assert_true(rc == ACCORD_EMALFORMED || rc == ACCORD_EVERSION);
  }
  /* encoding refuses what parsing would */
  const char *bad[] = {""};
  inv.addrs = bad;
  inv.naddrs = 1;
  char *out;
  assert_int_equal(token_encode(&inv, &out), ACCORD_EINVAL);
  free(t);
  accord_free(good);
}

TEST_MAIN(cmocka_unit_test(founder_is_first_member),
          cmocka_unit_test(forged_change_by_non_member_refused),
          cmocka_unit_test(membership_change_by_non_member_refused),
          cmocka_unit_test(add_and_new_members_change_in_one_batch),
          cmocka_unit_test(non_member_node_cannot_commit),
          cmocka_unit_test(second_key_for_existing_actor_refused),
          cmocka_unit_test(waiting_non_member_change_does_not_jam),
          cmocka_unit_test(removed_members_new_changes_refused_removal_first),
          cmocka_unit_test(removed_members_new_changes_dropped_changes_first),
          cmocka_unit_test(concurrent_removals_take_the_larger_cutoff),
          cmocka_unit_test(removal_survives_concurrent_adds),
          cmocka_unit_test(relay_after_reopen_forwards_sealed_changes),
          cmocka_unit_test(invite_token_and_redeem),
          cmocka_unit_test(reused_invite_refused),
          cmocka_unit_test(revoked_invite_refused),
          cmocka_unit_test(expired_invite_refused),
          cmocka_unit_test(bad_tokens_refused))
