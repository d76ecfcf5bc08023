/*
 * test_net_progress.c — the progress a node reports while it syncs with a
 * peer (accord_net_progress through the progress callback, net/session.c)
 * meets: every report has docs_done <= docs_total and changes_done <=
 * changes_total, and once the nodes hold the same documents the last
 * report of each round has done == total for both, with nothing left
 * asked for (the peer's nasked is 0). A round that ends short of its
 * totals is what made `accord join`/`sync` wait a second quiet window
 * (cli/cmd_net.c) and an embedder's progress bar stop short of 100%.
 *
 * Anti-entropy runs every few milliseconds here so that summary rounds
 * overlap the answers still on their way: a document that differs again
 * in the next summary while its changes are in flight is the case that
 * counted it twice.
 *
 * joined: a fresh node joins a workspace of many documents with an
 * invite. several: two nodes that edited offline sync many documents both
 * ways. changing: the same while the sender keeps committing to some of
 * the documents during the round. wrong_remaining: a hand-driven peer
 * answers in several batches whose `remaining` is too low for one
 * document and too high for another (a sender's figure can be off: changes
 * committed during a long answer, pending or forked changes at the
 * receiver): done still never passes total, and both meet at the end.
 */
#include "net_testutil.h"

#include <time.h>

#include "mp.h"

#define PDOCS 40 /* documents a node holds */
#define PKEYS 8  /* changes a document */

/* Every report of a node, summed up. */
typedef struct prec {
  uint64_t reports;
  uint64_t rounds;     /* rounds seen to end (the counts went back to 0) */
  uint64_t over;       /* reports with a done past its total */
  uint64_t short_ends; /* rounds whose last report did not meet */
  uint64_t max_docs;   /* the largest docs_total reported */
  accord_net_progress last;
} prec;

static prec rec[TW_MAX];

static int met(const accord_net_progress *p) {
  return p->docs_done == p->docs_total && p->changes_done == p->changes_total;
}

static void on_progress(void *ud, const accord_net_progress *p) {
  tnode *t = ud;
  prec *r = &rec[t - t->w->n];
  if (getenv("ACCORD_TEST_VERBOSE"))
    printf("[%s] progress %llu/%llu docs %llu/%llu changes\n", t->dir,
           (unsigned long long)p->docs_done, (unsigned long long)p->docs_total,
           (unsigned long long)p->changes_done,
           (unsigned long long)p->changes_total);
  if (p->docs_done > p->docs_total || p->changes_done > p->changes_total)
    r->over++;
  /* one peer per node here: a total that went down is a new round, and
   * the report before it was the last of the previous one */
  if (r->reports && p->docs_total < r->last.docs_total) {
    r->rounds++;
    if (!met(&r->last)) r->short_ends++;
  }
  if (p->docs_total > r->max_docs) r->max_docs = p->docs_total;
  r->reports++;
  r->last = *p;
  r->last.peer_key = NULL;
  t->progress_calls++;
}

/* Node i's net: as tw_start, with the recording progress callback. */
static void pstart(tworld *w, int i) {
  tnode *t = &w->n[i];
  accord_net_opts o;
  memset(&o, 0, sizeof o);
  o.uv_loop = &w->loop;
  o.listen = "127.0.0.1:0";
  o.anti_entropy_ms = w->ae_ms;
  o.reconnect_min_ms = 20;
  o.reconnect_max_ms = 200;
  o.poll_ms = 20;
  o.handshake_ms = 3000;
  o.no_discovery = 1;
  o.cb.userdata = t;
  o.cb.log = tw_log;
  o.cb.peer = tw_peer;
  o.cb.doc_changed = tw_changed;
  o.cb.progress = on_progress;
  AOK(accord_net_start(t->node, &o, &t->net));
}

/* n documents of type "goal" on node i, PKEYS one-key commits each of a
 * value of about size bytes (>= 32). */
static void fill(tworld *w, int i, int n, size_t size, accord_doc **keep) {
  char *val = malloc(size + 1);
  assert_non_null(val);
  memset(val, 'v', size);
  val[size] = 0;
  for (int k = 0; k < n; k++) {
    accord_doc *d = tw_doc_new(w, i, "goal");
    for (int j = 0; j < PKEYS; j++) {
      char key[16];
      snprintf(key, sizeof key, "k%d", j);
      snprintf(val, 32, "node %d doc %d ", i, k);
      val[strlen(val)] = 'v';
      tw_put(w, i, d, key, val);
    }
    if (keep) keep[k] = d;
    else accord_node_doc_close(w->n[i].node, d);
  }
  free(val);
}

/* Node i's rounds are over: a report came, the last one met, and no peer
 * of its net has a document asked for. */
static int settled(tworld *w, int i) {
  const prec *r = &rec[i];
  if (!r->reports || !met(&r->last)) return 0;
  for (peer *p = w->n[i].net->peers; p; p = p->next)
    if (p->nasked || !met(&p->prog)) return 0;
  return 1;
}

/* Nodes [0, nn) hold the same, and every receiving node settled. */
typedef struct want {
  int from, to; /* the receivers: [from, to) */
} want;
static int done(tworld *w, void *ud) {
  const want *k = ud;
  if (!tw_all_same(w, NULL)) return 0;
  for (int i = k->from; i < k->to; i++)
    if (!settled(w, i)) return 0;
  return 1;
}

static void check(tworld *w, int from, int to, uint64_t min_docs) {
  for (int i = from; i < to; i++) {
    const prec *r = &rec[i];
    printf("node %d: %llu reports, %llu rounds ended, last %llu/%llu docs "
           "%llu/%llu changes\n",
           i, (unsigned long long)r->reports, (unsigned long long)r->rounds,
           (unsigned long long)r->last.docs_done,
           (unsigned long long)r->last.docs_total,
           (unsigned long long)r->last.changes_done,
           (unsigned long long)r->last.changes_total);
  }
  /* messages until the nodes hold the same (a document asked for again
   * while its answer is on its way is sent again) */
  assert_true(tw_run(w, tw_all_same, NULL, 30000));
  uint64_t msgs = 0;
  for (int i = 0; i < w->nn; i++)
    if (w->n[i].net) msgs += w->n[i].net->stat_msgs_out;
  printf("messages sent until the nodes held the same: %llu\n",
         (unsigned long long)msgs);
  want k = {from, to};
  int ok = tw_run(w, done, &k, 30000);
  for (int i = from; i < to; i++) {
    const prec *r = &rec[i];
    if (!ok)
      printf("node %d did not settle: last %llu/%llu docs %llu/%llu changes\n",
             i, (unsigned long long)r->last.docs_done,
             (unsigned long long)r->last.docs_total,
             (unsigned long long)r->last.changes_done,
             (unsigned long long)r->last.changes_total);
    assert_int_equal(r->over, 0);
    assert_int_equal(r->short_ends, 0);
    /* the counts that met were those of a round with the documents in
     * it, not of an empty one */
    assert_true(r->max_docs >= min_docs);
  }
  assert_true(ok);
}

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int joined_calls, joined_rc;
static void on_joined(void *ud, int rc) {
  (void)ud;
  joined_calls++;
  joined_rc = rc;
}
static int join_over(tworld *w, void *ud) { return joined_calls > 0; }

/* A founds a workspace with PDOCS documents; B (no workspace) joins it with
 * an invite and syncs them all. */
static void joined(void **state) {
  tworld w;
  memset(rec, 0, sizeof rec);
  tw_init(&w, 1);
  w.ae_ms = 5;
  w.n[1].w = &w;
  w.n[1].dir = st_tmpdir();
  w.n[1].node = st_open(w.n[1].dir, NULL);
  w.nn = 2;
  fill(&w, 0, PDOCS, 32, NULL);
  pstart(&w, 0);
  char addr[64];
  snprintf(addr, sizeof addr, "127.0.0.1:%d", accord_net_port(w.n[0].net));
  const char *addrs[] = {addr};
  char *token;
  NOK(w.n[0].node, accord_invite_create(w.n[0].node, w.ws, addrs, 1,
                                        wall_ms() + 600000, &token));
  accord_invite *inv;
  AOK(accord_invite_parse(token, &inv));
  accord_join_info ji = {inv->ws, inv->key, inv->secret, addr};
  accord_net_opts o;
  memset(&o, 0, sizeof o);
  o.uv_loop = &w.loop;
  o.listen = "127.0.0.1:0";
  o.no_discovery = 1;
  o.anti_entropy_ms = w.ae_ms;
  o.reconnect_min_ms = 20;
  o.reconnect_max_ms = 200;
  o.poll_ms = 20;
  o.handshake_ms = 3000;
  o.cb.userdata = &w.n[1];
  o.cb.log = tw_log;
  o.cb.peer = tw_peer;
  o.cb.doc_changed = tw_changed;
  o.cb.progress = on_progress;
  o.cb.joined = on_joined;
  joined_calls = 0;
  AOK(accord_net_join(w.n[1].node, &o, &ji, "newcomer", NULL, &w.n[1].net));
  assert_true(tw_run(&w, join_over, NULL, 20000));
  assert_int_equal(joined_rc, 0);
  check(&w, 1, 2, PDOCS);
  accord_invite_free(inv);
  accord_free(token);
  tw_free(&w);
}

/* A and B edited offline; connected, each receives the other's documents. */
static void several(void **state) {
  tworld w;
  memset(rec, 0, sizeof rec);
  tw_init(&w, 2);
  w.ae_ms = 5;
  fill(&w, 0, PDOCS, 32, NULL);
  fill(&w, 1, PDOCS / 2, 32, NULL);
  pstart(&w, 0);
  pstart(&w, 1);
  tw_link(&w, 1, 0);
  check(&w, 0, 2, PDOCS / 2);
  tw_free(&w);
}

/* Whether node i has started receiving (a report with work). */
static int receiving(tworld *w, void *ud) {
  (void)ud;
  return rec[1].reports > 0 && rec[1].last.docs_total > 0;
}

/* As several, with larger documents (the answers take many loop
 * iterations), A committing to a quarter of its documents at a time while
 * B's first round is under way, and B committing to its own. */
static void changing(void **state) {
  tworld w;
  memset(rec, 0, sizeof rec);
  tw_init(&w, 2);
  w.ae_ms = 5;
  accord_doc *docs[PDOCS], *mine[4];
  fill(&w, 0, PDOCS, 16384, docs);
  fill(&w, 1, 4, 32, mine);
  pstart(&w, 0);
  pstart(&w, 1);
  tw_link(&w, 1, 0);
  assert_true(tw_run(&w, receiving, NULL, 20000));
  for (int round = 0; round < 10; round++) {
    char val[32];
    snprintf(val, sizeof val, "changed %d", round);
    for (int k = round % 4; k < PDOCS; k += 4) tw_put(&w, 0, docs[k], "live", val);
    tw_put(&w, 1, mine[round % 4], "live", val);
    tw_wait(&w, 3); /* the loop runs: pushes, summaries, answers */
  }
  check(&w, 0, 2, 4);
  assert_true(rec[1].max_docs >= PDOCS);
  for (int k = 0; k < PDOCS; k++) accord_node_doc_close(w.n[0].node, docs[k]);
  for (int k = 0; k < 4; k++) accord_node_doc_close(w.n[1].node, mine[k]);
  tw_free(&w);
}

/* ---- a hand-driven peer ---------------------------------------------- */

typedef struct client {
  conn *c;
  int closed;
  buf *msgs; /* sent on open */
  size_t nmsgs;
} client;

static void c_open(conn *c, void *ud) {
  client *k = ud;
  for (size_t i = 0; i < k->nmsgs; i++)
    assert_int_equal(conn_send(c, k->msgs[i].p, k->msgs[i].len), 0);
}
static void c_message(conn *c, const uint8_t *m, size_t n, void *ud) {}
static void c_close(conn *c, int reason, const char *detail, void *ud) {
  ((client *)ud)->closed = 1;
  ((client *)ud)->c = NULL;
}
static const conn_callbacks ccb = {c_open, c_message, NULL, c_close};

/* The CHG messages answering for node 1's document d, appended to
 * k->msgs: three rounds of three commits, each sent as a batch of its own
 * (sealed at its end: the receiver verifies seals), with `remaining` say
 * on all but the last, which is flagged CHG_LAST with 0. Returns the
 * number of changes sent. */
static uint64_t answer(tworld *w, accord_doc *d, uint64_t say, client *k) {
  accord_doc_info info;
  AOK(accord_node_doc_info(w->n[1].node, d, &info));
  store_heads known = {0};
  uint64_t total = 0;
  for (int round = 0; round < 3; round++) {
    for (int j = 0; j < 3; j++) {
      char key[16];
      snprintf(key, sizeof key, "r%dk%d", round, j);
      tw_put(w, 1, d, key, "v");
    }
    int more = round < 2; /* as the receiver sees it */
    buf b = {0};
    uint32_t n;
    int left;
    AOK(node_net_batch(d, &known, NET_ASM_MAX, NET_ASM_MAX, &b, &n, &left));
    assert_false(left);
    total += n;
    buf *m = &k->msgs[k->nmsgs++];
    memset(m, 0, sizeof *m);
    mp_put_array(m, 8);
    mp_put_uint(m, MSG_CHG);
    mp_put_bin(m, info.id, ACCORD_DOC_ID_BYTES);
    mp_put_str(m, "goal", 4);
    mp_put_bin(m, info.creator, ACCORD_ACTOR_BYTES);
    mp_put_int(m, info.created);
    mp_put_uint(m, more ? 0 : CHG_LAST);
    mp_put_uint(m, more ? say : 0);
    mp_put_bin(m, b.p, b.len);
    assert_int_equal(m->err, 0);
    buf_free(&b);
  }
  store_heads_free(&known);
  return total;
}

static void sum_entry(tworld *w, accord_doc *d, buf *m) {
  accord_doc_info info;
  uint8_t digest[NODE_NET_DIGEST_BYTES] = {0};
  AOK(accord_node_doc_info(w->n[1].node, d, &info));
  mp_put_array(m, 5);
  mp_put_bin(m, info.id, ACCORD_DOC_ID_BYTES);
  mp_put_str(m, "goal", 4);
  mp_put_bin(m, info.creator, ACCORD_ACTOR_BYTES);
  mp_put_int(m, info.created);
  mp_put_bin(m, digest, sizeof digest);
}

static int answered(tworld *w, void *ud) {
  const prec *r = &rec[0];
  return r->last.docs_total == 2 && r->last.docs_done == 2;
}

static void wrong_remaining(void **state) {
  tworld w;
  memset(rec, 0, sizeof rec);
  tw_init(&w, 2);
  /* node 1 authors two documents offline; it never starts its net: the
   * client speaks for it */
  accord_doc *d[2] = {tw_doc_new(&w, 1, "goal"), tw_doc_new(&w, 1, "goal")};
  pstart(&w, 0);
  client k;
  memset(&k, 0, sizeof k);
  buf msgs[64];
  k.msgs = msgs;
  /* the summary lists both (node 0 lacks them: it asks with VVs), then
   * the answers come without waiting for the VVs: one with `remaining`
   * too low (0 until the end), one too high */
  buf *m = &msgs[k.nmsgs++];
  memset(m, 0, sizeof *m);
  mp_put_array(m, 4);
  mp_put_uint(m, MSG_SUM);
  mp_put_bin(m, w.ws, ACCORD_WS_ID_BYTES);
  mp_put_uint(m, 2 | 4); /* first and last message of the summary */
  mp_put_array(m, 2);
  for (int i = 0; i < 2; i++) sum_entry(&w, d[i], m);
  uint64_t changes = answer(&w, d[0], 0, &k);
  changes += answer(&w, d[1], 100000, &k);
  /* a member's key of its own */
  uint8_t key[32], pk[32], sk[64];
  AOK(node_ws_key(w.n[0].node, w.ws, key));
  AOK(accord_sign_keypair(pk, sk));
  NOK(w.n[0].node, accord_member_add(w.n[0].node, w.ws, pk, "client", NULL));
  conn_options o;
  memset(&o, 0, sizeof o);
  o.hs.ws_key = key;
  o.hs.pk = pk;
  o.hs.sk = sk;
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", accord_net_port(w.n[0].net), &a);
  char err[128];
  AOK(conn_connect(&w.loop, (struct sockaddr *)&a, &o, &ccb, &k, &k.c, err,
                   sizeof err));
  int ok = tw_run(&w, answered, NULL, 20000);
  const prec *r = &rec[0];
  printf("%llu reports, last %llu/%llu docs %llu/%llu changes (%llu sent)\n",
         (unsigned long long)r->reports, (unsigned long long)r->last.docs_done,
         (unsigned long long)r->last.docs_total,
         (unsigned long long)r->last.changes_done,
         (unsigned long long)r->last.changes_total,
         (unsigned long long)changes);
  assert_true(ok);
  assert_int_equal(r->over, 0);
  assert_true(met(&r->last));
  assert_int_equal(r->last.changes_done, changes);
  for (int i = 0; i < 2; i++) { /* and the documents arrived whole */
    accord_doc_info info;
    accord_doc *got;
    AOK(accord_node_doc_info(w.n[1].node, d[i], &info));
    AOK(accord_node_doc_open(w.n[0].node, w.ws, info.id, &got));
    char *want_js = test_json(d[i]), *got_js = test_json(got);
    assert_string_equal(got_js, want_js);
    accord_free(want_js);
    accord_free(got_js);
    accord_node_doc_close(w.n[0].node, got);
  }
  if (k.c) conn_close(k.c);
  for (size_t i = 0; i < k.nmsgs; i++) buf_free(&msgs[i]);
  for (int i = 0; i < 2; i++) accord_node_doc_close(w.n[1].node, d[i]);
  tw_free(&w);
}

TEST_MAIN(cmocka_unit_test(joined), cmocka_unit_test(several),
          cmocka_unit_test(changing), cmocka_unit_test(wrong_remaining))
