/*
 * test_store.c — the node store through the public accord_node_* API:
 * directories and identity, schema (older and newer ones refused),
 * workspaces and documents, round trips of every kind of change across
 * close and reopen (and their history), snapshot + tail equal to a full
 * replay, compaction keeping documents byte for byte, durable imports with
 * pending changes, map growth, batched mode, and injected faults: map
 * full, a flipped byte in a stored change, a truncated snapshot, an unsafe
 * or foreign key file, every allocation failing in turn. Crashes and
 * several processes: test_store_crash.c.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_testutil.h"

#include "crypto.h"
#include "mem.h"
#include "node.h"
#include "store.h"

/* ---- directories, identity, schema -------------------------------------- */

static void node_create_reopen(void **state) {
  (void)state;
  char *tmp = st_tmpdir(), *dir = st_path(tmp, "a/b/node");
  accord_node *node = st_open(dir, NULL);
  uint8_t actor[8], pk[32], h[32];
  memcpy(actor, accord_node_actor(node), 8);
  memcpy(pk, accord_node_public_key(node), 32);
  hash_bytes(pk, 32, h);
  assert_memory_equal(actor, h, 8); /* actor = BLAKE2b(pk)[0..8] */
  assert_string_equal(accord_node_dir(node), dir);
  accord_node_close(node);

  struct stat st;
  assert_int_equal(stat(dir, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0700);
  char *key = st_path(dir, "identity.key");
  assert_int_equal(stat(key, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);

  node = st_open(dir, NULL);
  assert_memory_equal(accord_node_actor(node), actor, 8);
  assert_memory_equal(accord_node_public_key(node), pk, 32);
  /* one open per directory per process */
  accord_node *again = NULL;
  assert_int_equal(accord_node_open(dir, NULL, &again), ACCORD_EBUSY);
  assert_null(again);
  accord_node_close(node);
  accord_node_close(NULL);
  free(key);
  free(dir);
  st_rmrf(tmp);
  free(tmp);
}

static void node_default_dir(void **state) {
  (void)state;
  char *tmp = st_tmpdir(), *env_dir = st_path(tmp, "env");
  char *old_dir = getenv("ACCORD_DIR") ? strdup(getenv("ACCORD_DIR")) : NULL;
  char *old_xdg =
      getenv("XDG_DATA_HOME") ? strdup(getenv("XDG_DATA_HOME")) : NULL;
  char *old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;

  setenv("ACCORD_DIR", env_dir, 1);
  accord_node *node = st_open(NULL, NULL);
  assert_string_equal(accord_node_dir(node), env_dir);
  accord_node_close(node);

  unsetenv("ACCORD_DIR");
  setenv("XDG_DATA_HOME", tmp, 1);
  node = st_open(NULL, NULL);
  char *xdg = st_path(tmp, "accord");
  assert_string_equal(accord_node_dir(node), xdg);
  accord_node_close(node);

  unsetenv("XDG_DATA_HOME");
  setenv("HOME", tmp, 1);
  node = st_open(NULL, NULL);
  char *home = st_path(tmp, ".local/share/accord");
  assert_string_equal(accord_node_dir(node), home);
  accord_node_close(node);

  /* an explicit path wins over the environment */
  setenv("ACCORD_DIR", env_dir, 1);
  char *explicit = st_path(tmp, "explicit");
  node = st_open(explicit, NULL);
  assert_string_equal(accord_node_dir(node), explicit);
  accord_node_close(node);

  if (old_dir) setenv("ACCORD_DIR", old_dir, 1);
  else unsetenv("ACCORD_DIR");
  if (old_xdg) setenv("XDG_DATA_HOME", old_xdg, 1);
  else unsetenv("XDG_DATA_HOME");
  if (old_home) setenv("HOME", old_home, 1);
  free(old_dir);
  free(old_xdg);
  free(old_home);
  free(explicit);
  free(home);
  free(xdg);
  free(env_dir);
  st_rmrf(tmp);
  free(tmp);
}

static void node_not_a_store(void **state) {
  (void)state;
  char *tmp = st_tmpdir();
  char err[512];
  accord_node_opts o;
  memset(&o, 0, sizeof o);
  o.errbuf = err;
  o.errbuf_size = sizeof err;
  accord_node *node = NULL;

  /* a directory with somebody else's files */
  char *other = st_path(tmp, "other"), *f = st_path(other, "notes.txt");
  assert_int_equal(mkdir(other, 0700), 0);
  FILE *fp = fopen(f, "w");
  fputs("hello", fp);
  fclose(fp);
  assert_int_equal(accord_node_open(other, &o, &node), ACCORD_ENOTSTORE);
  assert_null(node);
  assert_non_null(strstr(err, "notes.txt"));

  /* a data.mdb that is not LMDB */
  char *junk = st_path(tmp, "junk"), *jf = st_path(junk, "data.mdb");
  assert_int_equal(mkdir(junk, 0700), 0);
  fp = fopen(jf, "w");
  for (int i = 0; i < 5000; i++) fputc('x', fp);
  fclose(fp);
  assert_int_equal(accord_node_open(junk, &o, &node), ACCORD_ENOTSTORE);

  /* an LMDB environment that is not ours */
  char *lmdb = st_path(tmp, "lmdb");
  assert_int_equal(mkdir(lmdb, 0700), 0);
  AOK(store_debug_foreign(lmdb));
  assert_int_equal(accord_node_open(lmdb, &o, &node), ACCORD_ENOTSTORE);
  assert_non_null(strstr(err, "not an accord store"));

  /* no_create on a missing directory */
  char *missing = st_path(tmp, "missing");
  o.no_create = 1;
  assert_int_equal(accord_node_open(missing, &o, &node), ACCORD_ENOTFOUND);
  struct stat st;
  assert_int_not_equal(stat(missing, &st), 0);

  free(missing);
  free(lmdb);
  free(jf);
  free(junk);
  free(f);
  free(other);
  st_rmrf(tmp);
  free(tmp);
}

static void schema_newer_refused(void **state) {
  (void)state;
  char *tmp = st_tmpdir();
  accord_node_close(st_open(tmp, NULL));
  AOK(store_debug_set_schema(tmp, 99));
  char err[512];
  accord_node_opts o;
  memset(&o, 0, sizeof o);
  o.errbuf = err;
  o.errbuf_size = sizeof err;
  accord_node *node = NULL;
  assert_int_equal(accord_node_open(tmp, &o, &node), ACCORD_ESCHEMA);
  assert_non_null(strstr(err, "schema version 99"));
  st_rmrf(tmp);
  free(tmp);
}

/* Schemas 0-2 hold the old per-change chain hashes, which seals sign:
 * such a store is refused with a sentence saying what to do, and left as
 * it was (it opens again once its version is back). */
static void schema_old_refused(void **state) {
  (void)state;
  char *tmp = st_tmpdir();
  accord_node *node = st_open(tmp, NULL);
  uint8_t ws[16];
  NOK(node, accord_node_ws_create(node, "team", ws));
  accord_node_close(node);
  for (uint32_t old = 0; old < STORE_SCHEMA_NO_CPS; old++) {
    AOK(store_debug_set_schema(tmp, old));
    char err[512] = "";
    accord_node_opts o;
    memset(&o, 0, sizeof o);
    o.errbuf = err;
    o.errbuf_size = sizeof err;
    accord_node *bad = NULL;
    assert_int_equal(accord_node_open(tmp, &o, &bad), ACCORD_ESCHEMA);
    assert_null(bad);
    char want[32];
    snprintf(want, sizeof want, "(schema %u;", old);
    if (!strstr(err, want) || !strstr(err, "old hash chain") ||
        !strstr(err, "cannot be migrated") || !strstr(err, "move it aside") ||
        !strstr(err, tmp))
      fail_msg("schema %u: unhelpful message: %s", old, err);
    uint32_t v = 99;
    AOK(store_debug_schema(tmp, &v));
    assert_int_equal(v, old); /* untouched */
  }
  AOK(store_debug_set_schema(tmp, STORE_SCHEMA));
  node = st_open(tmp, NULL);
  accord_ws_info *list;
  size_t n;
  NOK(node, accord_node_ws_list(node, &list, &n));
  assert_int_equal(n, 1);
  accord_free(list);
  accord_node_close(node);
  st_rmrf(tmp);
  free(tmp);
}

/* Schema 3 is schema 4 without checkpoint records: opening it raises its
 * number, and its documents are still there. */
static void schema_3_migrated(void **state) {
  (void)state;
  char *tmp = st_tmpdir();
  accord_node *node = st_open(tmp, NULL);
  uint8_t ws[16];
  NOK(node, accord_node_ws_create(node, "team", ws));
  accord_node_close(node);
  AOK(store_debug_set_schema(tmp, STORE_SCHEMA_NO_CPS));
  node = st_open(tmp, NULL);
  accord_ws_info *list;
  size_t n;
  NOK(node, accord_node_ws_list(node, &list, &n));
  assert_int_equal(n, 1);
  accord_free(list);
  accord_node_close(node);
  uint32_t v = 0;
  AOK(store_debug_schema(tmp, &v));
  assert_int_equal(v, STORE_SCHEMA);
  st_rmrf(tmp);
  free(tmp);
}

static void key_file_permissions(void **state) {
  (void)state;
  char *tmp = st_tmpdir(), *key = st_path(tmp, "identity.key");
  accord_node_close(st_open(tmp, NULL));
  char err[512];
  accord_node_opts o;
  memset(&o, 0, sizeof o);
  o.errbuf = err;
  o.errbuf_size = sizeof err;
  accord_node *node = NULL;

  assert_int_equal(chmod(key, 0644), 0);
  assert_int_equal(accord_node_open(tmp, &o, &node), ACCORD_EKEYPERM);
  assert_null(node);
  assert_non_null(strstr(err, "chmod 600"));
  assert_int_equal(chmod(key, 0640), 0);
  assert_int_equal(accord_node_open(tmp, &o, &node), ACCORD_EKEYPERM);
  assert_int_equal(chmod(key, 0600), 0);
  accord_node_close(st_open(tmp, NULL));

  /* a key from another node: refused */
  char *tmp2 = st_tmpdir(), *key2 = st_path(tmp2, "identity.key");
  accord_node_close(st_open(tmp2, NULL));
  assert_int_equal(rename(key2, key), 0);
  assert_int_equal(accord_node_open(tmp, &o, &node), ACCORD_EIDENTITY);
  /* no key at all: refused */
  assert_int_equal(unlink(key), 0);
  assert_int_equal(accord_node_open(tmp, &o, &node), ACCORD_EIDENTITY);
  assert_non_null(strstr(err, "missing"));

  free(key2);
  st_rmrf(tmp2);
  free(tmp2);
  free(key);
  st_rmrf(tmp);
  free(tmp);
}

/* ---- workspaces and documents ------------------------------------------- */

static void workspaces_and_docs(void **state) {
  (void)state;
  char *tmp = st_tmpdir();
  accord_node *node = st_open(tmp, NULL);
  uint8_t w1[16], w2[16], nows[16] = {0};
  NOK(node, accord_node_ws_create(node, "Product", w1));
  NOK(node, accord_node_ws_create(node, "Marketing — EU", w2));
  assert_int_equal(accord_node_ws_create(node, "", w1), ACCORD_EINVAL);
  assert_int_equal(accord_node_ws_create(node, "\xff", w1), ACCORD_EUTF8);

  accord_doc *g1, *g2, *m1;
  NOK(node, accord_node_doc_create(node, w1, "goal", &g1));
  NOK(node, accord_node_doc_create(node, w1, "goal", &g2));
  NOK(node, accord_node_doc_create(node, w1, "messaging", &m1));
  accord_doc *bad = NULL;
  assert_int_equal(accord_node_doc_create(node, w1, "no spaces", &bad),
                   ACCORD_EINVAL);
  assert_int_equal(accord_node_doc_create(node, nows, "goal", &bad),
                   ACCORD_ENOTFOUND);
  assert_null(bad);
  assert_memory_equal(accord_doc_actor(g1), accord_node_actor(node), 8);
  uint8_t g1id[16];
  memcpy(g1id, accord_doc_id(g1), 16);
  st_put_int(node, g1, "target", 42);

  accord_doc_info info;
  NOK(node, accord_node_doc_info(node, g1, &info));
  assert_string_equal(info.type, "goal");
  assert_memory_equal(info.creator, accord_node_actor(node), 8);
  assert_true(info.created > 0);
  accord_node_close(node); /* closes the documents too */

  node = st_open(tmp, NULL);
  accord_ws_info *wl;
  size_t n;
  NOK(node, accord_node_ws_list(node, &wl, &n));
  assert_int_equal(n, 2);
  int found = 0;
  for (size_t i = 0; i < n; i++) {
    assert_memory_equal(wl[i].founder, accord_node_public_key(node), 32);
    if (!memcmp(wl[i].id, w2, 16)) {
      assert_string_equal(wl[i].name, "Marketing — EU");
      found++;
    }
    if (!memcmp(wl[i].id, w1, 16)) {
      assert_string_equal(wl[i].name, "Product");
      found++;
    }
  }
  assert_int_equal(found, 2);
  accord_free(wl);

  accord_doc_info *dl;
  NOK(node, accord_node_doc_list(node, w1, "goal", &dl, &n));
  assert_int_equal(n, 2);
  for (size_t i = 0; i < n; i++) assert_string_equal(dl[i].type, "goal");
  accord_free(dl);
  /* every workspace also holds its membership document */
  NOK(node, accord_node_doc_list(node, w1, NULL, &dl, &n));
  assert_int_equal(n, 4);
  accord_free(dl);
  NOK(node, accord_node_doc_list(node, w2, NULL, &dl, &n));
  assert_int_equal(n, 1);
  assert_string_equal(dl[0].type, ACCORD_SYSTEM_TYPE);
  accord_free(dl);
  assert_int_equal(accord_node_doc_list(node, nows, NULL, &dl, &n),
                   ACCORD_ENOTFOUND);

  accord_doc *d, *same;
  NOK(node, accord_node_doc_open(node, w1, g1id, &d));
  NOK(node, accord_node_doc_open(node, w1, g1id, &same));
  assert_ptr_equal(d, same);
  accord_value v;
  AOK(accord_map_get(d, ACCORD_ROOT, "target", &v));
  assert_int_equal(v.u.i, 42);
  accord_node_doc_close(node, same);
  AOK(accord_map_get(d, ACCORD_ROOT, "target", &v)); /* still open */
  accord_node_doc_close(node, d);
  assert_int_equal(accord_node_doc_open(node, w2, g1id, &d),
                   ACCORD_ENOTFOUND);
  accord_node_close(node);
  st_rmrf(tmp);
  free(tmp);
}

/* ---- round trips -------------------------------------------------------- */

/* One commit per kind of change, each through the node. */
static void edit_everything(accord_node *node, accord_doc *doc) {
  accord_txn *t;
  accord_id map, list, text;
  accord_value v;
#define TXN(body)                                         \
  do {                                                    \
    NOK(node, accord_node_txn_begin(node, doc, &t));      \
    body;                                                 \
    NOK(node, accord_node_txn_commit(node, t, NULL));     \
  } while (0)
  TXN(AOK(accord_map_put_object(t, ACCORD_ROOT, "m", ACCORD_MAP, &map)));
  TXN(AOK(accord_map_put_object(t, ACCORD_ROOT, "l", ACCORD_LIST, &list)));
  TXN(AOK(accord_map_put_object(t, ACCORD_ROOT, "t", ACCORD_TEXT, &text)));
  TXN(v = accord_null(); AOK(accord_map_put(t, map, "null", &v)));
  TXN(v = accord_bool(1); AOK(accord_map_put(t, map, "bool", &v)));
  TXN(v = accord_int(-7); AOK(accord_map_put(t, map, "int", &v)));
  TXN(v = accord_double(2.5); AOK(accord_map_put(t, map, "double", &v)));
  TXN(v = accord_str("héllo", 6); AOK(accord_map_put(t, map, "str", &v)));
  TXN(v = accord_bytes("\0\1\2", 3); AOK(accord_map_put(t, map, "bytes", &v)));
  TXN(v = accord_timestamp(1700000000000);
      AOK(accord_map_put(t, map, "time", &v)));
  TXN(v = accord_counter(10); AOK(accord_map_put(t, map, "count", &v)));
  TXN(AOK(accord_map_increment(t, map, "count", 5)));
  TXN(AOK(accord_map_delete(t, map, "null")));
  TXN(v = accord_int(1); AOK(accord_list_insert(t, list, 0, &v));
      v = accord_str("two", 3); AOK(accord_list_insert(t, list, 1, &v)));
  TXN(accord_id o; AOK(accord_list_insert_object(t, list, 2, ACCORD_MAP, &o));
      v = accord_int(3); AOK(accord_map_put(t, o, "three", &v)));
  TXN(AOK(accord_list_delete(t, list, 0, 1)));
  TXN(AOK(accord_text_splice(t, text, 0, 0, "Hello, world", 12)));
  TXN(AOK(accord_text_splice(t, text, 5, 7, "!", 1)));
  TXN(AOK(accord_txn_set_message(t, "with a message", 14));
      accord_txn_set_time(t, 1234567);
      AOK(accord_text_splice(t, text, 0, 0, "» ", 3)));
#undef TXN
}

/* What accord_doc_history shows of a document. */
typedef struct hist {
  size_t changes, ops, messages;
  int64_t message_time;
  uint8_t author[8];
  int one_author;
} hist;

static int hist_one(void *ud, const accord_change_meta *c) {
  hist *h = ud;
  if (h->changes++ == 0) memcpy(h->author, c->actor, 8);
  else if (memcmp(h->author, c->actor, 8)) h->one_author = 0;
  h->ops += c->nops;
  if (c->message && c->message_len == 14 &&
      !memcmp(c->message, "with a message", 14)) {
    h->messages++;
    h->message_time = c->time;
  }
  return 0;
}

static void roundtrip_every_change(void **state) {
  (void)state;
  char *tmp = st_tmpdir();
  accord_node *node = st_open(tmp, NULL);
  uint8_t ws[16], id[16];
  accord_doc *doc;
  NOK(node, accord_node_ws_create(node, "w", ws));
  NOK(node, accord_node_doc_create(node, ws, "note", &doc));
  memcpy(id, accord_doc_id(doc), 16);
  edit_everything(node, doc);
  size_t len;
  uint8_t *before = st_save(doc, &len);
  char *json = test_json(doc);
  /* kill the in-memory copy without letting close do anything: reopen the
   * node from another handle is not allowed, so close and reopen */
  accord_node_close(node);

  node = st_open(tmp, NULL);
  NOK(node, accord_node_doc_open(node, ws, id, &doc));
  char *again = test_json(doc);
  assert_string_equal(json, again);
  size_t len2;
  uint8_t *after = st_save(doc, &len2);
  assert_int_equal(len, len2);
  assert_memory_equal(before, after, len);
  st_assert_replays(doc);
  /* the history, change by change: author, time, message, ops */
  hist h = {0, 0, 0, 0, {0}, 1};
  AOK(accord_doc_history(doc, hist_one, &h));
  assert_int_equal(h.changes, 19);
  assert_true(h.one_author);
  assert_memory_equal(h.author, accord_node_actor(node), 8);
  assert_int_equal(h.messages, 1);
  assert_int_equal(h.message_time, 1234567);
  assert_true(h.ops >= 19);
  NOK(node, accord_node_verify(node));
  accord_node_close(node);
  accord_free(before);
  accord_free(after);
  accord_free(json);
  accord_free(again);
  st_rmrf(tmp);
  free(tmp);
}

static void snapshot_plus_tail(void **state) {
  (void)state;
  char *tmp = st_tmpdir();
  accord_node_opts o;
  memset(&o, 0, sizeof o);
  o.snapshot_changes = 20;
  o.compact_changes = 8;
  accord_node *node = st_open(tmp, &o);
  uint8_t ws[16], id[16];
  accord_doc *doc;
  NOK(node, accord_node_ws_create(node, "w", ws));
  NOK(node, accord_node_doc_create(node, ws, "goal", &doc));
  memcpy(id, accord_doc_id(doc), 16);
  accord_txn *t;
  accord_id text;
  NOK(node, accord_node_txn_begin(node, doc, &t));
  AOK(accord_map_put_object(t, ACCORD_ROOT, "text", ACCORD_TEXT, &text));
  NOK(node, accord_node_txn_commit(node, t, NULL));
  for (int i = 0; i < 60; i++) {
    NOK(node, accord_node_txn_begin(node, doc, &t));
    AOK(accord_text_splice(t, text, (size_t)i, 0, "a", 1));
    NOK(node, accord_node_txn_commit(node, t, NULL));
  }
  accord_node_doc_close(node, doc); /* writes a snapshot: 61 changes */
  accord_maintain_stats ms;
  NOK(node, accord_node_maintain(node, 0, &ms));
  assert_int_equal(ms.snapshots, 0); /* nothing new since */

  NOK(node, accord_node_doc_open(node, ws, id, &doc));
  for (int i = 0; i < 15; i++) { /* the tail: fewer than the threshold */
    NOK(node, accord_node_txn_begin(node, doc, &t));
    AOK(accord_text_splice(t, text, 0, 1, "bc", 2));
    NOK(node, accord_node_txn_commit(node, t, NULL));
  }
  char *want = test_json(doc);
  accord_node_close(node);

  node = st_open(tmp, &o);
  NOK(node, accord_node_doc_open(node, ws, id, &doc));
  char *got = test_json(doc);
  assert_string_equal(want, got);
  st_assert_replays(doc);
  NOK(node, accord_node_maintain(node, ACCORD_MAINTAIN_ALL, &ms));
  assert_int_equal(ms.snapshots, 2); /* the goal and the membership doc */
  accord_node_close(node);
  accord_free(want);
  accord_free(got);
  st_rmrf(tmp);
  free(tmp);
}

static void compaction_keeps_bytes(void **state) {
  (void)state;
  char *tmp = st_tmpdir();
  accord_node_opts o;
  memset(&o, 0, sizeof o);
  o.compact_changes = 100000; /* only maintain(ALL) compacts */
  o.snapshot_changes = 100000;
  o.durability = ACCORD_BATCHED; /* thousands of commits: skip the fsyncs */
  accord_node *node = st_open(tmp, &o);
  uint8_t ws[16], id[16];
  accord_doc *doc;
  NOK(node, accord_node_ws_create(node, "w", ws));
  NOK(node, accord_node_doc_create(node, ws, "messaging", &doc));
  memcpy(id, accord_doc_id(doc), 16);
  edit_everything(node, doc);
  accord_id text = {0};
  accord_value v;
  AOK(accord_map_get(doc, ACCORD_ROOT, "t", &v));
  text = v.u.obj;
  test_rng r;
  rng_init(&r, test_seed("compaction_keeps_bytes"));
  for (int i = 0; i < 3000; i++) {
    accord_txn *t;
    size_t len;
    AOK(accord_text_len(doc, text, &len));
    size_t pos = (size_t)rng_below(&r, len + 1);
    NOK(node, accord_node_txn_begin(node, doc, &t));
    if (len && rng_below(&r, 4) == 0)
      AOK(accord_text_splice(t, text, pos == len ? pos - 1 : pos, 1, "", 0));
    else
      AOK(accord_text_splice(t, text, pos, 0, &"xyz"[rng_below(&r, 3)], 1));
    NOK(node, accord_node_txn_commit(node, t, NULL));
  }
  size_t blen;
  uint8_t *before = st_save(doc, &blen);
  accord_maintain_stats ms;
  NOK(node, accord_node_maintain(node, ACCORD_MAINTAIN_ALL, &ms));
  assert_true(ms.records_before > 3000);
  assert_true(ms.records_after < 10);
  NOK(node, accord_node_verify(node));
  accord_node_close(node);

  o.snapshot_changes = 0;
  node = st_open(tmp, &o);
  /* load from the changes alone (drop nothing: the snapshot is a cache,
   * but make sure the chunks are what gets read) */
  NOK(node, accord_node_doc_open(node, ws, id, &doc));
  size_t alen;
  uint8_t *after = st_save(doc, &alen);
  assert_int_equal(blen, alen);
  assert_memory_equal(before, after, blen);
  accord_node_close(node);
  accord_free(before);
  accord_free(after);
  st_rmrf(tmp);
  free(tmp);
}

static void import_durable_with_pending(void **state) {
  (void)state;
  char *tmp = st_tmpdir();
  accord_node *node = st_open(tmp, NULL);
  uint8_t ws[16], id[16];
  accord_doc *doc;
  NOK(node, accord_node_ws_create(node, "w", ws));
  NOK(node, accord_node_doc_create(node, ws, "goal", &doc));
  memcpy(id, accord_doc_id(doc), 16);
  st_put_int(node, doc, "mine", 1);

  /* a peer: replica with its own actor, starting from our changes */
  /* (a member: the node accepts only members' sealed changes) */
  accord_doc *peer = st_member_peer(node, ws, id, "peer");
  uint8_t *batch;
  size_t blen;
  AOK(accord_doc_changes_since(doc, NULL, 0, &batch, &blen));
  AOK(accord_doc_import(peer, batch, blen, NULL));
  accord_free(batch);
  uint8_t *vv1;
  size_t vv1len;
  AOK(accord_doc_version(peer, &vv1, &vv1len));
  accord_txn *t;
  accord_value v = accord_int(2);
  AOK(accord_txn_begin(peer, &t));
  AOK(accord_map_put(t, ACCORD_ROOT, "p1", &v));
  AOK(accord_txn_commit(t, NULL));
  uint8_t *vv2;
  size_t vv2len;
  AOK(accord_doc_version(peer, &vv2, &vv2len));
  AOK(accord_txn_begin(peer, &t));
  AOK(accord_map_put(t, ACCORD_ROOT, "p2", &v));
  AOK(accord_txn_commit(t, NULL));

  /* the second change alone: it waits, durably */
  uint8_t *second;
  size_t slen;
  AOK(accord_doc_changes_since(peer, vv2, vv2len, &second, &slen));
  accord_import_stats st;
  NOK(node, accord_node_doc_import(node, doc, second, slen, &st));
  assert_int_equal(st.pending, 1);
  /* a malformed (truncated) batch: nothing changes, nothing stored */
  assert_int_equal(accord_node_doc_import(node, doc, second, slen - 3, NULL),
                   ACCORD_EMALFORMED);
  accord_node_close(node);

  node = st_open(tmp, NULL);
  NOK(node, accord_node_doc_open(node, ws, id, &doc));
  assert_int_equal(accord_map_get(doc, ACCORD_ROOT, "p2", &v),
                   ACCORD_ENOTFOUND);
  uint8_t *first;
  size_t flen;
  AOK(accord_doc_changes_since(peer, vv1, vv1len, &first, &flen));
  NOK(node, accord_node_doc_import(node, doc, first, flen, &st));
  assert_int_equal(st.applied, 2); /* p1 and the waiting p2 */
  assert_int_equal(st.pending, 0);
  accord_node_close(node);

  node = st_open(tmp, NULL);
  NOK(node, accord_node_doc_open(node, ws, id, &doc));
  AOK(accord_map_get(doc, ACCORD_ROOT, "p2", &v));
  char *a = test_json(doc), *b = test_json(peer);
  assert_string_equal(a, b);
  st_assert_replays(doc);
  NOK(node, accord_node_verify(node));
  accord_node_close(node);
  accord_free(a);
  accord_free(b);
  accord_free(first);
  accord_free(second);
  accord_free(vv1);
  accord_free(vv2);
  accord_doc_free(peer);
  st_rmrf(tmp);
  free(tmp);
}

/* ---- faults ------------------------------------------------------------- */

static void map_grows(void **state) {
  (void)state;
  char *tmp = st_tmpdir();
  accord_node_opts o;
  memset(&o, 0, sizeof o);
  o.map_size = 64 << 10; /* tiny: must grow many times */
  o.durability = ACCORD_BATCHED;
  accord_node *node = st_open(tmp, &o);
  uint8_t ws[16], id[16];
  accord_doc *doc;
  NOK(node, accord_node_ws_create(node, "w", ws));
  NOK(node, accord_node_doc_create(node, ws, "goal", &doc));
  memcpy(id, accord_doc_id(doc), 16);
  char big[3000];
  memset(big, 'q', sizeof big);
  accord_txn *t;
  for (int i = 0; i < 300; i++) {
    char key[16];
    snprintf(key, sizeof key, "k%d", i);
    accord_value v = accord_str(big, sizeof big);
    NOK(node, accord_node_txn_begin(node, doc, &t));
    AOK(accord_map_put(t, ACCORD_ROOT, key, &v));
    NOK(node, accord_node_txn_commit(node, t, NULL));
  }
  uint64_t used, map;
  store_space(node->st, &used, &map, NULL);
  assert_true(map > (64 << 10));
  accord_node_close(node);
  node = st_open(tmp, &o);
  NOK(node, accord_node_doc_open(node, ws, id, &doc));
  size_t n;
  AOK(accord_map_size(doc, ACCORD_ROOT, &n));
  assert_int_equal(n, 300);
  accord_node_close(node);
  st_rmrf(tmp);
  free(tmp);
}

static void map_full_is_clean(void **state) {
  (void)state;
  char *tmp = st_tmpdir();
  accord_node_opts o;
  memset(&o, 0, sizeof o);
  o.map_size = 256 << 10;
  o.map_max = 512 << 10;
  o.compact_changes = 1 << 30;
  o.snapshot_changes = 1 << 30;
  accord_node *node = st_open(tmp, &o);
  uint8_t ws[16], id[16];
  accord_doc *doc;
  NOK(node, accord_node_ws_create(node, "w", ws));
  NOK(node, accord_node_doc_create(node, ws, "goal", &doc));
  memcpy(id, accord_doc_id(doc), 16);
  char big[4000];
  memset(big, 'z', sizeof big);
  int rc = 0, ok = 0;
  char *last_json = NULL;
  for (int i = 0; i < 1000 && !rc; i++) {
    char key[16];
    snprintf(key, sizeof key, "k%d", i);
    accord_value v = accord_str(big, sizeof big);
    accord_txn *t;
    NOK(node, accord_node_txn_begin(node, doc, &t));
    AOK(accord_map_put(t, ACCORD_ROOT, key, &v));
    rc = accord_node_txn_commit(node, t, NULL);
    if (!rc) {
      ok++;
      accord_free(last_json);
      last_json = test_json(doc);
    }
  }
  assert_int_equal(rc, ACCORD_EFULL);
  assert_non_null(strstr(accord_node_errmsg(node), "size limit"));
  assert_true(ok > 10);
  /* the failed commit left no trace in memory */
  char *now = test_json(doc);
  assert_string_equal(now, last_json);
  accord_free(now);
  accord_node_close(node);

  o.map_max = 0; /* room again: everything committed is there */
  node = st_open(tmp, &o);
  NOK(node, accord_node_doc_open(node, ws, id, &doc));
  now = test_json(doc);
  assert_string_equal(now, last_json);
  st_put_int(node, doc, "after", 1);
  accord_node_close(node);
  accord_free(now);
  accord_free(last_json);
  st_rmrf(tmp);
  free(tmp);
}

static void flip_last(uint8_t *v, size_t *len) { v[*len - 1] ^= 0x01; }
static void cut_ten(uint8_t *v, size_t *len) {
  (void)v;
  *len -= 10;
}

static void flipped_byte_in_change(void **state) {
  (void)state;
  char *tmp = st_tmpdir();
  accord_node_opts o;
  memset(&o, 0, sizeof o);
  o.compact_changes = 1 << 30;
  o.snapshot_changes = 1 << 30;
  accord_node *node = st_open(tmp, &o);
  uint8_t ws[16], id[16], other[16], actor[8];
  accord_doc *doc, *doc2;
  NOK(node, accord_node_ws_create(node, "w", ws));
  NOK(node, accord_node_doc_create(node, ws, "goal", &doc));
  NOK(node, accord_node_doc_create(node, ws, "goal", &doc2));
  memcpy(id, accord_doc_id(doc), 16);
  memcpy(other, accord_doc_id(doc2), 16);
  memcpy(actor, accord_node_actor(node), 8);
  for (int i = 0; i < 10; i++) {
    char key[8];
    snprintf(key, sizeof key, "k%d", i);
    st_put_int(node, doc, key, i);
    st_put_int(node, doc2, key, i);
  }
  accord_node_close(node);

  uint8_t key[44];
  memcpy(key, ws, 16);
  memcpy(key + 16, id, 16);
  memcpy(key + 32, actor, 8);
  key[40] = key[41] = key[42] = 0;
  key[43] = 5;
  AOK(store_debug_poke(tmp, "changes", key, sizeof key, flip_last));

  node = st_open(tmp, &o);
  assert_int_equal(accord_node_doc_open(node, ws, id, &doc), ACCORD_ECORRUPT);
  const char *msg = accord_node_errmsg(node);
  char want[64], hex[17];
  for (int i = 0; i < 8; i++) snprintf(hex + 2 * i, 3, "%02x", actor[i]);
  snprintf(want, sizeof want, "%s#5", hex);
  if (!strstr(msg, want)) fail_msg("message lacks %s: %s", want, msg);
  for (int i = 0; i < 4; i++) snprintf(hex + 2 * i, 3, "%02x", id[i]);
  assert_non_null(strstr(msg, hex)); /* names the document */
  /* the rest of the store stays usable */
  NOK(node, accord_node_doc_open(node, ws, other, &doc2));
  st_put_int(node, doc2, "more", 1);
  assert_int_equal(accord_node_verify(node), ACCORD_ECORRUPT);
  assert_non_null(strstr(accord_node_errmsg(node), want));
  accord_node_close(node);
  st_rmrf(tmp);
  free(tmp);
}

static void truncated_snapshot(void **state) {
  (void)state;
  char *tmp = st_tmpdir();
  accord_node_opts o;
  memset(&o, 0, sizeof o);
  o.snapshot_changes = 5;
  accord_node *node = st_open(tmp, &o);
  uint8_t ws[16], id[16];
  accord_doc *doc;
  NOK(node, accord_node_ws_create(node, "w", ws));
  NOK(node, accord_node_doc_create(node, ws, "goal", &doc));
  memcpy(id, accord_doc_id(doc), 16);
  for (int i = 0; i < 30; i++) {
    char key[8];
    snprintf(key, sizeof key, "k%d", i);
    st_put_int(node, doc, key, i);
  }
  char *want = test_json(doc);
  accord_node_close(node); /* snapshot written at close */

  uint8_t key[32];
  memcpy(key, ws, 16);
  memcpy(key + 16, id, 16);
  AOK(store_debug_poke(tmp, "snapshots", key, sizeof key, cut_ten));

  node = st_open(tmp, &o);
  assert_int_equal(accord_node_verify(node), ACCORD_ECORRUPT);
  assert_non_null(strstr(accord_node_errmsg(node), "snapshot"));
  NOK(node, accord_node_doc_open(node, ws, id, &doc));
  assert_non_null(strstr(accord_node_errmsg(node), "snapshot"));
  char *got = test_json(doc);
  assert_string_equal(want, got);
  accord_node_doc_close(node, doc); /* rewrites the snapshot */
  NOK(node, accord_node_verify(node));
  accord_node_close(node);
  accord_free(want);
  accord_free(got);
  st_rmrf(tmp);
  free(tmp);
}

static void batched_mode(void **state) {
  (void)state;
  char *tmp = st_tmpdir();
  accord_node_opts o;
  memset(&o, 0, sizeof o);
  o.durability = ACCORD_BATCHED;
  o.batch_commits = 50;
  accord_node *node = st_open(tmp, &o);
  uint8_t ws[16], id[16];
  accord_doc *doc;
  NOK(node, accord_node_ws_create(node, "w", ws));
  NOK(node, accord_node_doc_create(node, ws, "goal", &doc));
  memcpy(id, accord_doc_id(doc), 16);
  uint64_t c0, c1;
  NOK(node, accord_node_changed(node, &c0));
  for (int i = 0; i < 500; i++) {
    char key[8];
    snprintf(key, sizeof key, "k%d", i);
    st_put_int(node, doc, key, i);
  }
  NOK(node, accord_node_changed(node, &c1));
  assert_true(c1 >= c0 + 500);
  NOK(node, accord_node_sync(node));
  accord_node_close(node);
  node = st_open(tmp, NULL); /* the other mode reads it the same */
  NOK(node, accord_node_doc_open(node, ws, id, &doc));
  size_t n;
  AOK(accord_map_size(doc, ACCORD_ROOT, &n));
  assert_int_equal(n, 500);
  accord_node_close(node);
  st_rmrf(tmp);
  free(tmp);
}

/* Every allocation of a commit, an import and an open failing in turn:
 * ENOMEM with nothing changed in memory, and the store still agreeing. */
static void alloc_failures(void **state) {
  (void)state;
  char *tmp = st_tmpdir();
  accord_node_opts o;
  memset(&o, 0, sizeof o);
  o.durability = ACCORD_BATCHED;
  o.snapshot_changes = 3;
  o.compact_changes = 2;
  accord_node *node = st_open(tmp, &o);
  uint8_t ws[16], id[16];
  accord_doc *doc;
  NOK(node, accord_node_ws_create(node, "w", ws));
  NOK(node, accord_node_doc_create(node, ws, "goal", &doc));
  memcpy(id, accord_doc_id(doc), 16);
  st_put_int(node, doc, "first", 0);
  int failed = 0;
  for (long k = 1; k <= 80; k++) {
    char key[16];
    snprintf(key, sizeof key, "k%ld", k);
    char *before = test_json(doc);
    accord_value v = accord_int(k);
    accord_txn *t;
    mem_fail_after(k);
    int rc = accord_node_txn_begin(node, doc, &t);
    if (!rc) {
      rc = accord_map_put(t, ACCORD_ROOT, key, &v);
      if (!rc) rc = accord_node_txn_commit(node, t, NULL);
      else accord_txn_abort(t);
    }
    mem_fail_after(0);
    if (rc) {
      assert_int_equal(rc, ACCORD_ENOMEM);
      char *after = test_json(doc);
      assert_string_equal(before, after);
      accord_free(after);
      failed++;
    }
    accord_free(before);
  }
  assert_true(failed > 3);

  /* imports: a peer's change */
  /* (a member: the node accepts only members' sealed changes) */
  accord_doc *peer = st_member_peer(node, ws, id, "peer");
  for (long k = 1; k <= 60; k++) {
    accord_txn *t;
    accord_value v = accord_int(k);
    char key[16];
    snprintf(key, sizeof key, "p%ld", k);
    AOK(accord_txn_begin(peer, &t));
    AOK(accord_map_put(t, ACCORD_ROOT, key, &v));
    AOK(accord_txn_commit(t, NULL));
    uint8_t *batch;
    size_t len;
    AOK(accord_doc_changes_since(peer, NULL, 0, &batch, &len));
    char *before = test_json(doc);
    mem_fail_after(k);
    int rc = accord_node_doc_import(node, doc, batch, len, NULL);
    mem_fail_after(0);
    if (rc) {
      assert_int_equal(rc, ACCORD_ENOMEM);
      char *after = test_json(doc);
      assert_string_equal(before, after);
      accord_free(after);
    }
    accord_free(before);
    accord_free(batch);
  }
  accord_doc_free(peer);
  char *want = test_json(doc);
  accord_node_doc_close(node, doc); /* snapshot and compaction */

  /* opening */
  for (long k = 1; k <= 120; k++) {
    mem_fail_after(k);
    int rc = accord_node_doc_open(node, ws, id, &doc);
    mem_fail_after(0);
    if (rc) {
      assert_int_equal(rc, ACCORD_ENOMEM);
      continue;
    }
    char *got = test_json(doc);
    assert_string_equal(want, got);
    accord_free(got);
    accord_node_doc_close(node, doc);
  }
  accord_node_close(node);

  node = st_open(tmp, &o);
  NOK(node, accord_node_doc_open(node, ws, id, &doc));
  char *got = test_json(doc);
  assert_string_equal(want, got);
  st_assert_replays(doc);
  NOK(node, accord_node_verify(node));
  accord_node_close(node);
  accord_free(got);
  accord_free(want);
  st_rmrf(tmp);
  free(tmp);
}

TEST_MAIN(cmocka_unit_test(node_create_reopen),
          cmocka_unit_test(node_default_dir),
          cmocka_unit_test(node_not_a_store),
          cmocka_unit_test(schema_newer_refused),
          cmocka_unit_test(schema_old_refused),
          cmocka_unit_test(schema_3_migrated),
          cmocka_unit_test(key_file_permissions),
          cmocka_unit_test(workspaces_and_docs),
          cmocka_unit_test(roundtrip_every_change),
          cmocka_unit_test(snapshot_plus_tail),
          cmocka_unit_test(compaction_keeps_bytes),
          cmocka_unit_test(import_durable_with_pending),
          cmocka_unit_test(map_grows),
          cmocka_unit_test(map_full_is_clean),
          cmocka_unit_test(flipped_byte_in_change),
          cmocka_unit_test(truncated_snapshot),
          cmocka_unit_test(batched_mode),
          cmocka_unit_test(alloc_failures))
