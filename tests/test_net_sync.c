/*
 * test_net_sync.c — sync sessions and gossip between nodes in one process
 * over loopback (ephemeral ports, net/session.c, net/net.c): nodes that
 * edited offline converge once connected; a line A-B-C carries changes end
 * to end; a push lost on purpose is repaired by anti-entropy; a peer
 * restarted mid-sync is reconnected and the sync finishes with nothing
 * lost or duplicated; the library's own network thread with
 * accord_net_call; a workspace created while the nets run is served
 * without a restart. Each case is bounded by a deadline on the loop and
 * checks that the loop closes clean.
 */
#include "net_testutil.h"
#include "oplog_bg.h"

/* Three nodes edit offline (several documents, one of them shared after
 * the first sync), then connect in a star and converge. */
static void converge3(void **state) {
  tworld w;
  tw_init(&w, 3);
  accord_doc *d[3];
  for (int i = 0; i < 3; i++) {
    d[i] = tw_doc_new(&w, i, i == 0 ? "note" : "goal");
    char k[8], v[16];
    for (int j = 0; j < 20; j++) {
      snprintf(k, sizeof k, "k%d", j);
      snprintf(v, sizeof v, "n%d-%d", i, j);
      tw_put(&w, i, d[i], k, v);
    }
  }
  assert_false(tw_same(&w, 0, 3));
  for (int i = 0; i < 3; i++) tw_start(&w, i);
  tw_link(&w, 1, 0);
  tw_link(&w, 2, 0);
  assert_true(tw_run(&w, tw_all_same, NULL, 10000));
  /* every node now edits the shared system document concurrently */
  accord_doc *sys[3];
  uint8_t id[16];
  accord_doc_info info;
  AOK(accord_node_doc_info(w.n[0].node, d[0], &info));
  memcpy(id, info.id, 16);
  for (int i = 0; i < 3; i++) {
    AOK(accord_node_doc_open(w.n[i].node, w.ws, id, &sys[i]));
    tw_put(&w, i, sys[i], "same", i == 0 ? "a" : i == 1 ? "b" : "c");
  }
  assert_true(tw_run(&w, tw_all_same, NULL, 10000));
  assert_true(w.n[1].changed > 0 && w.n[2].changed > 0);
  assert_true(w.n[1].progress_calls > 0);
  for (int i = 0; i < 3; i++) {
    accord_node_doc_close(w.n[i].node, sys[i]);
    accord_node_doc_close(w.n[i].node, d[i]);
  }
  tw_free(&w);
}

/* A-B-C: A and C never connect; changes flow both ways through B. */
static int line_done(tworld *w, void *ud) {
  return tw_same(w, 0, 3) && w->n[1].up == 2;
}
static void line(void **state) {
  tworld w;
  tw_init(&w, 3);
  for (int i = 0; i < 3; i++) tw_start(&w, i);
  tw_link(&w, 0, 1);
  tw_link(&w, 1, 2);
  accord_doc *a = tw_doc_new(&w, 0, "goal");
  tw_put(&w, 0, a, "from", "A");
  accord_doc *c = tw_doc_new(&w, 2, "messaging");
  tw_put(&w, 2, c, "from", "C");
  assert_true(tw_run(&w, line_done, NULL, 10000));
  assert_int_equal(w.n[0].up, 1);
  assert_int_equal(w.n[2].up, 1);
  /* live edits after the sessions: pushed and forwarded */
  tw_put(&w, 0, a, "live", "A2");
  tw_put(&w, 2, c, "live", "C2");
  assert_true(tw_run(&w, line_done, NULL, 10000));
  char *s = tw_state(&w, 2);
  assert_non_null(strstr(s, "A2"));
  free(s);
  accord_node_doc_close(w.n[0].node, a);
  accord_node_doc_close(w.n[2].node, c);
  tw_free(&w);
}

/* Pushes dropped on purpose: anti-entropy repairs them. */
static int synced2(tworld *w, void *ud) {
  return w->n[0].up == 1 && w->n[1].up == 1 && tw_same(w, 0, 2);
}
static void antientropy(void **state) {
  tworld w;
  tw_init(&w, 2);
  w.ae_ms = 100;
  tw_start(&w, 0);
  tw_start(&w, 1);
  tw_link(&w, 1, 0);
  accord_doc *a = tw_doc_new(&w, 0, "goal");
  tw_put(&w, 0, a, "x", "1");
  assert_true(tw_run(&w, synced2, NULL, 10000));
  net_debug_drop_pushes(w.n[0].net, 1000000);
  tw_put(&w, 0, a, "x", "2");
  tw_put(&w, 0, a, "y", "3");
  /* no push arrives; until anti-entropy runs the nodes differ */
  assert_false(tw_same(&w, 0, 2));
  assert_true(tw_run(&w, synced2, NULL, 10000));
  assert_true(w.n[0].net->drop_pushes < 1000000); /* pushes were lost */
  accord_node_doc_close(w.n[0].node, a);
  tw_free(&w);
}

/* A large history: the sending node is restarted mid-sync (its network
 * and the node itself, on the same port); the receiver reconnects (backoff)
 * and finishes the sync, every change once. Then the same for the
 * receiver. */
static int has_started(tworld *w, void *ud) {
  tnode *t = &w->n[1];
  return t->docs_done > 0 && t->docs_done < t->docs_total;
}
#define RDOCS 12
static void restart(void **state) {
  tworld w;
  tw_init(&w, 2);
  /* 12 documents of 3,000 changes of ~100 bytes (300 KB each): the sync
   * goes a document at a time, so "mid-sync" is between documents */
  long n = test_scale(3000);
  char chunk[101];
  memset(chunk, 'x', 100);
  chunk[100] = 0;
  for (int k = 0; k < RDOCS; k++) {
    accord_doc *a = tw_doc_new(&w, 0, "goal");
    accord_txn *t;
    accord_id text;
    AOK(accord_node_txn_begin(w.n[0].node, a, &t));
    AOK(accord_map_put_object(t, ACCORD_ROOT, "text", ACCORD_TEXT, &text));
    AOK(accord_node_txn_commit(w.n[0].node, t, NULL));
    for (long i = 0; i < n; i++) {
      AOK(accord_txn_begin(a, &t));
      AOK(accord_text_splice(t, text, 0, 0, chunk, 100));
      AOK(accord_txn_commit(t, NULL));
    }
    accord_node_doc_close(w.n[0].node, a); /* stores them in one write */
  }
  tw_start(&w, 0);
  tw_start(&w, 1);
  tw_link(&w, 1, 0);
  int stopped_mid = tw_run(&w, has_started, NULL, 20000);
  int port = accord_net_port(w.n[0].net);
  tw_stop(&w, 0);
  accord_node_close(w.n[0].node);
  tw_wait(&w, 50); /* node 1 sees the connection drop, retries, fails */
  w.n[0].node = st_open(w.n[0].dir, NULL);
  tw_start_at(&w, 0, port);
  assert_true(tw_run(&w, tw_all_same, NULL, 60000));
  printf("sender stopped mid-sync: %d (%llu of %llu documents)\n",
         stopped_mid, (unsigned long long)w.n[1].docs_done,
         (unsigned long long)w.n[1].docs_total);
  assert_true(tw_logged(&w.n[1], "127.0.0.1")); /* the drop was logged */
  AOK(accord_node_verify(w.n[1].node));
  /* every change once: each chain of node 0's actor is exactly n+1 long */
  accord_doc_info *l;
  size_t nl;
  AOK(accord_node_doc_list(w.n[1].node, w.ws, "goal", &l, &nl));
  assert_int_equal(nl, RDOCS);
  for (size_t k = 0; k < nl; k++) {
    accord_doc *b;
    AOK(accord_node_doc_open(w.n[1].node, w.ws, l[k].id, &b));
    uint64_t seq;
    AOK(accord_doc_chain_head(b, accord_node_actor(w.n[0].node), &seq, NULL));
    assert_int_equal(seq, (uint64_t)n + 1);
    accord_node_doc_close(w.n[1].node, b);
  }
  accord_free(l);
  tw_free(&w);
}

static int has_frames(tworld *w, void *ud) {
  (void)w;
  return oplog_bg_frames(ud) > 0;
}

/* A history larger than a message reaches a receiver that verifies seals:
 * the batch travels in pieces and is imported whole, so every chain ends
 * at its seal (a chain cut into unsealed slices would be refused, ESEAL). */
static void verified_large(void **state) {
  tworld w;
  tw_init(&w, 2);
  accord_doc *a = tw_doc_new(&w, 0, "goal");
  accord_txn *t;
  accord_id text;
  AOK(accord_node_txn_begin(w.n[0].node, a, &t));
  AOK(accord_map_put_object(t, ACCORD_ROOT, "text", ACCORD_TEXT, &text));
  AOK(accord_node_txn_commit(w.n[0].node, t, NULL));
  char chunk[101];
  memset(chunk, 'y', 100);
  chunk[100] = 0;
  for (int i = 0; i < 30000; i++) { /* ~3 MB of changes */
    AOK(accord_txn_begin(a, &t));
    AOK(accord_text_splice(t, text, 0, 0, chunk, 100));
    AOK(accord_txn_commit(t, NULL));
  }
  accord_doc_info info;
  AOK(accord_node_doc_info(w.n[0].node, a, &info));
  accord_node_doc_close(w.n[0].node, a);
  /* the receiver knows the document and verifies it */
  node_net_doc rec;
  memset(&rec, 0, sizeof rec);
  memcpy(rec.id, info.id, 16);
  strcpy(rec.type, "goal");
  memcpy(rec.creator, info.creator, 8);
  rec.created = info.created;
  AOK(node_net_doc_ensure(w.n[1].node, w.ws, &rec));
  accord_doc *b;
  AOK(accord_node_doc_open(w.n[1].node, w.ws, info.id, &b));
  AOK(accord_doc_set_workspace(b, w.ws));
  AOK(accord_doc_set_verify(b, 1));
  tw_start(&w, 0);
  tw_start(&w, 1);
  tw_link(&w, 1, 0);
  assert_true(tw_run(&w, tw_all_same, NULL, 30000));
  uint64_t seq, sealed;
  AOK(accord_doc_chain_head(b, accord_node_actor(w.n[0].node), &seq, NULL));
  assert_int_equal(seq, 30001);
  AOK(accord_doc_chain_seal(b, accord_node_actor(w.n[0].node), &sealed, NULL));
  assert_int_equal(sealed, 30001);
  assert_false(tw_logged(&w.n[1], "refused changes"));
  /* nothing happens after the sync: the receiver's poll packs the cold
   * history into frames all the same */
  assert_true(tw_run(&w, has_frames, b, 10000));
  accord_node_doc_close(w.n[1].node, b);
  tw_free(&w);
}

/* One node serves two workspaces on one port: a peer of each, and a peer
 * of both, each get exactly their workspaces' documents. */
static uint8_t ws2[16];
static int two_ws_done(tworld *w, void *ud) {
  char *a1 = tw_state_ws(w, 0, w->ws), *a2 = tw_state_ws(w, 0, ws2);
  char *b1 = tw_state_ws(w, 1, w->ws), *c2 = tw_state_ws(w, 2, ws2);
  char *d1 = tw_state_ws(w, 3, w->ws), *d2 = tw_state_ws(w, 3, ws2);
  int ok = *a1 && *a2 && !strcmp(a1, b1) && !strcmp(a2, c2) &&
           !strcmp(a1, d1) && !strcmp(a2, d2);
  free(a1), free(a2), free(b1), free(c2), free(d1), free(d2);
  return ok;
}
static void adopt(tworld *w, int i, const uint8_t *ws) {
  char name[16];
  snprintf(name, sizeof name, "node-%d", i);
  NOK(w->n[0].node, node_enroll(w->n[0].node, ws, w->n[i].node, name, NULL));
}
static void two_workspaces(void **state) {
  tworld w;
  tw_init(&w, 1);
  AOK(accord_node_ws_create(w.n[0].node, "other", ws2));
  for (int i = 1; i < 4; i++) {
    w.n[i].w = &w;
    w.n[i].dir = st_tmpdir();
    w.n[i].node = st_open(w.n[i].dir, NULL);
  }
  w.nn = 4;
  adopt(&w, 1, w.ws); /* B: the first workspace */
  adopt(&w, 2, ws2);  /* C: the second */
  adopt(&w, 3, w.ws); /* D: both */
  adopt(&w, 3, ws2);
  accord_doc *d1, *d2;
  AOK(accord_node_doc_create(w.n[0].node, w.ws, "goal", &d1));
  AOK(accord_node_doc_create(w.n[0].node, ws2, "goal", &d2));
  tw_put(&w, 0, d1, "ws", "one");
  tw_put(&w, 0, d2, "ws", "two");
  for (int i = 0; i < 4; i++) tw_start(&w, i);
  for (int i = 1; i < 4; i++) tw_link(&w, i, 0);
  assert_true(tw_run(&w, two_ws_done, NULL, 10000));
  /* B never learned of the second workspace, nor C of the first */
  char *b2 = tw_state_ws(&w, 1, ws2), *c1 = tw_state_ws(&w, 2, w.ws);
  assert_string_equal(b2, "");
  assert_string_equal(c1, "");
  free(b2);
  free(c1);
  assert_int_equal(w.n[0].up, 4); /* B, C, and D twice (one per workspace) */
  accord_node_doc_close(w.n[0].node, d1);
  accord_node_doc_close(w.n[0].node, d2);
  tw_free(&w);
}

/* A workspace created after the nets started is served without a restart:
 * A creates it and enrolls B, and B, which dialled A for the first
 * workspace, syncs the new one too (A's listener learned its key, B's
 * added address is dialled for it). */
static int ws2_same(tworld *w, void *ud) {
  char *a = tw_state_ws(w, 0, ws2), *b = tw_state_ws(w, 1, ws2);
  int same = !strcmp(a, b) && strstr(a, "\"later\"") != NULL;
  free(a);
  free(b);
  return same && w->n[0].up == 2;
}

static void new_workspace(void **state) {
  tworld w;
  tw_init(&w, 2);
  tw_start(&w, 0);
  tw_start(&w, 1);
  tw_link(&w, 1, 0);
  accord_doc *d = tw_doc_new(&w, 0, "goal");
  tw_put(&w, 0, d, "k", "v");
  accord_node_doc_close(w.n[0].node, d);
  assert_true(tw_run(&w, tw_all_same, NULL, 10000));
  AOK(accord_node_ws_create(w.n[0].node, "later", ws2));
  NOK(w.n[0].node, node_enroll(w.n[0].node, ws2, w.n[1].node, "b", NULL));
  AOK(accord_node_doc_create(w.n[0].node, ws2, "goal", &d));
  tw_put(&w, 0, d, "ws", "later");
  accord_node_doc_close(w.n[0].node, d);
  assert_true(tw_run(&w, ws2_same, NULL, 10000));
  tw_free(&w);
}

/* IPv6: listening and dialling on ::1 (skipped where the machine has no
 * IPv6 loopback). */
static void ipv6(void **state) {
  tworld w;
  tw_init(&w, 2);
  int rc = tw_start_host(&w, 0, "[::1]", 0);
  if (rc == ACCORD_ENET) {
    tw_free(&w);
    skip();
  }
  AOK(rc);
  AOK(tw_start_host(&w, 1, "[::1]", 0));
  accord_doc *a = tw_doc_new(&w, 0, "goal");
  tw_put(&w, 0, a, "over", "ipv6");
  char addr[64];
  snprintf(addr, sizeof addr, "[::1]:%d", accord_net_port(w.n[0].net));
  AOK(accord_net_add_peer(w.n[1].net, addr));
  assert_true(tw_run(&w, tw_all_same, NULL, 10000));
  assert_int_equal(w.n[1].up, 1);
  assert_int_equal(accord_net_add_peer(w.n[1].net, "[::1:5"), ACCORD_EINVAL);
  assert_int_equal(accord_net_add_peer(w.n[1].net, "::1:5"), ACCORD_EINVAL);
  assert_int_equal(accord_net_add_peer(w.n[1].net, "1.2.3.4:70000"),
                   ACCORD_EINVAL);
  assert_int_equal(accord_net_remove_peer(w.n[1].net, "127.0.0.1:9"),
                   ACCORD_ENOTFOUND);
  AOK(accord_net_remove_peer(w.n[1].net, addr));
  accord_node_doc_close(w.n[0].node, a);
  tw_free(&w);
}

/* The library's own thread: the node is reached through accord_net_call. */
typedef struct tcall {
  tworld *w;
  char *state;
  uv_mutex_t mu;
} tcall;

static void read_state(accord_net *net, void *ud) {
  tcall *c = ud;
  char *s = tw_state(c->w, 1); /* node 1 is the network thread's now */
  uv_mutex_lock(&c->mu);
  free(c->state);
  c->state = s;
  uv_mutex_unlock(&c->mu);
}

static void thread_mode(void **state) {
  tworld w;
  tw_init(&w, 2);
  accord_doc *a = tw_doc_new(&w, 0, "goal");
  tw_put(&w, 0, a, "k", "v");
  accord_node_doc_close(w.n[0].node, a);
  tw_start(&w, 0); /* node 0 on the test's loop */
  accord_net_opts o;
  memset(&o, 0, sizeof o);
  o.listen = "[::1]:0";
  o.poll_ms = 20;
  o.no_discovery = 1;
  accord_net *own;
  int rc = accord_net_start(w.n[1].node, &o, &own);
  if (rc == ACCORD_ENET) { /* no IPv6 here */
    o.listen = "127.0.0.1:0";
    rc = accord_net_start(w.n[1].node, &o, &own);
  }
  AOK(rc);
  char addr[64];
  snprintf(addr, sizeof addr, "127.0.0.1:%d", accord_net_port(w.n[0].net));
  AOK(accord_net_add_peer(own, addr)); /* from another thread */
  tcall c = {.w = &w};
  uv_mutex_init(&c.mu);
  char *want = tw_state(&w, 0);
  int got = 0;
  for (int i = 0; i < 500 && !got; i++) {
    tw_wait(&w, 20); /* node 0 serves on this thread's loop */
    AOK(accord_net_call(own, read_state, &c));
    tw_wait(&w, 5);
    uv_mutex_lock(&c.mu);
    got = c.state && !strcmp(c.state, want);
    uv_mutex_unlock(&c.mu);
  }
  assert_true(got);
  accord_net_stop(own); /* joins: the node is ours again */
  assert_true(tw_same(&w, 0, 2));
  free(want);
  free(c.state);
  uv_mutex_destroy(&c.mu);
  tw_free(&w);
}

/* Two nodes that dial each other keep one connection (both agree which),
 * and still sync. */
static int one_link(tworld *w, void *ud) {
  return w->n[0].up == 1 && w->n[1].up == 1 &&
         tw_logged(&w->n[0], "duplicate connection") &&
         tw_logged(&w->n[1], "duplicate connection") && tw_same(w, 0, 2);
}
static void mutual_dial(void **state) {
  tworld w;
  tw_init(&w, 2);
  tw_start(&w, 0);
  tw_start(&w, 1);
  accord_doc *a = tw_doc_new(&w, 0, "goal");
  tw_put(&w, 0, a, "k", "v");
  tw_link(&w, 0, 1);
  tw_link(&w, 1, 0);
  assert_true(tw_run(&w, one_link, NULL, 10000));
  tw_wait(&w, 100); /* and it stays so */
  assert_int_equal(w.n[0].up, 1);
  assert_int_equal(w.n[1].up, 1);
  tw_put(&w, 0, a, "k", "v2");
  assert_true(tw_run(&w, tw_all_same, NULL, 10000));
  accord_node_doc_close(w.n[0].node, a);
  tw_free(&w);
}

TEST_MAIN(cmocka_unit_test(converge3), cmocka_unit_test(mutual_dial),
          cmocka_unit_test(verified_large), cmocka_unit_test(two_workspaces),
          cmocka_unit_test(ipv6), cmocka_unit_test(line),
          cmocka_unit_test(antientropy), cmocka_unit_test(restart),
          cmocka_unit_test(thread_mode), cmocka_unit_test(new_workspace))
