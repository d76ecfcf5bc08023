/*
 * run_net.c — `accord-bench sync` and `accord-bench gossip`: the network
 * layer (accord.h, "Networking") over encrypted loopback TCP between node
 * stores (LMDB) in temporary directories. One JSON line per measurement.
 *
 *   sync     the automerge-paper history (one document, 259,778 changes)
 *            from a node that has it to a fresh node: time from
 *            accord_net_add_peer on the fresh node to the progress
 *            callback reporting every change stored (handshake, summaries,
 *            version vectors, ~1 MiB batches, imports into LMDB). Each node
 *            runs on its own network thread (thread mode), as two laptops
 *            would. Twice: the receiver DURABLE (every batch fsynced), and
 *            BATCHED (a bulk import, accord_durability), fsynced before the
 *            clock stops. --repeat N runs it N times.
 *   gossip   live edits, both nodes on one libuv loop (loop mode, one
 *            thread: both sides' work is on the clock): a one-key change
 *            committed on A, time until B's doc_changed callback, p50/p99
 *            over --edits; then sustained throughput: 100,000 changes
 *            committed on A in bursts of 100 per loop iteration, time until
 *            B stored all. Then 32 nodes, each dialling 3 random others:
 *            an edit on a random node, time until all 32 stored it, and
 *            protocol messages received per node per edit.
 *            Nodes use BATCHED durability (a durable commit's fsync costs
 *            milliseconds and would be what we measure).
 *
 * Nodes join the workspace with node_enroll (core/members.h: what an
 * invite does, without the network); message counts come
 * from net.h's test hooks. Those are the only internal headers used.
 */
#define _XOPEN_SOURCE 700
#include "bench.h"
#include "engine.h"
#include "util.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "members.h"
#include "net.h"

static int rm_one(const char *path, const struct stat *sb, int flag,
                  struct FTW *ftw)
{
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static char *tmpdir(void)
{
  const char *base = getenv("TMPDIR");
  char tmpl[4096];
  snprintf(tmpl, sizeof tmpl, "%s/accord-bench-net-XXXXXX",
           base && *base ? base : "/tmp");
  char *d = mkdtemp(tmpl);
  return d ? strdup(d) : NULL;
}

static int fail_rc(int rc, const char *what)
{
  return bench_fail("%s: %s (%s)", what, accord_err_name(rc),
                    accord_strerror(rc));
}

/* dst joins src's workspace ws as a member (node_enroll: a join without
 * the network). */
static int share_ws(accord_node *src, accord_node *dst, const uint8_t *ws)
{
  return node_enroll(src, ws, dst, "bench peer", NULL);
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* ---- sync ---------------------------------------------------------------- */

typedef struct syncwait {
  uv_mutex_t mu;
  uv_cond_t cv;
  uint64_t want;
  int done;
  accord_net_progress last;
} syncwait;

static void sync_progress(void *ud, const accord_net_progress *p)
{
  syncwait *s = ud;
  uv_mutex_lock(&s->mu);
  s->last = *p;
  if (p->docs_total && p->docs_done == p->docs_total &&
      p->changes_done >= s->want) {
    s->done = 1;
    uv_cond_signal(&s->cv);
  }
  uv_mutex_unlock(&s->mu);
}

typedef struct fsync_call {
  accord_node *node;
  uv_mutex_t *mu;
  uv_cond_t *cv;
  int done, rc;
} fsync_call;

static void do_fsync(accord_net *net, void *ud)
{
  fsync_call *f = ud;
  f->rc = accord_node_sync(f->node);
  uv_mutex_lock(f->mu);
  f->done = 1;
  uv_cond_signal(f->cv);
  uv_mutex_unlock(f->mu);
}

static int sync_once(const trace *t, const bench_opts *o, int durable)
{
  char *da = tmpdir(), *db = tmpdir();
  accord_node *a = NULL, *b = NULL;
  accord_net *na = NULL, *nb = NULL;
  accord_doc *doc;
  accord_txn *txn;
  accord_id text;
  uint8_t ws[ACCORD_WS_ID_BYTES];
  int rc, ret = -1;
  syncwait s;
  memset(&s, 0, sizeof s);
  uv_mutex_init(&s.mu);
  uv_cond_init(&s.cv);
  accord_node_opts bo;
  memset(&bo, 0, sizeof bo);
  bo.durability = ACCORD_BATCHED;
  if (!da || !db) {
    bench_fail("no temporary directory");
    goto done;
  }
  accord_node_opts rbo = bo;
  if (durable) rbo.durability = ACCORD_DURABLE;
  if ((rc = accord_node_open(da, &bo, &a)) ||
      (rc = accord_node_open(db, &rbo, &b)) ||
      (rc = accord_node_ws_create(a, "bench", ws)) ||
      (rc = share_ws(a, b, ws)) ||
      (rc = accord_node_doc_create(a, ws, "messaging", &doc)) ||
      (rc = accord_txn_begin(doc, &txn)) ||
      (rc = accord_map_put_object(txn, ACCORD_ROOT, "text", ACCORD_TEXT,
                                  &text)) ||
      (rc = accord_txn_commit(txn, NULL))) {
    fail_rc(rc, "setup");
    goto done;
  }
  /* the history: one change per trace transaction, stored in one write */
  for (size_t i = 0; i < t->ntxns; i++) {
    const trace_txn *x = &t->txns[i];
    if ((rc = accord_txn_begin(doc, &txn))) break;
    accord_txn_set_time(txn, x->time_ms);
    for (size_t k = 0; k < x->npatches && !rc; k++) {
      const trace_patch *p = &t->patches[x->first_patch + k];
      rc = accord_text_splice(txn, text, p->pos, p->del, p->ins, p->ins_len);
    }
    if (!rc) rc = accord_txn_commit(txn, NULL);
    if (rc) break;
  }
  accord_node_doc_close(a, doc);
  if (rc || (rc = accord_node_sync(a))) {
    fail_rc(rc, "building the history");
    goto done;
  }
  s.want = t->ntxns + 1;
  accord_net_opts oa, ob;
  memset(&oa, 0, sizeof oa);
  oa.listen = "127.0.0.1:0";
  oa.no_discovery = 1; /* the two nodes meet by the address given */
  ob = oa;
  ob.listen = NULL;
  ob.cb.progress = sync_progress;
  ob.cb.userdata = &s;
  if ((rc = accord_net_start(a, &oa, &na)) ||
      (rc = accord_net_start(b, &ob, &nb))) {
    fail_rc(rc, "starting the networks");
    goto done;
  }
  char addr[64];
  snprintf(addr, sizeof addr, "127.0.0.1:%d", accord_net_port(na));
  double t0 = bench_now_ms();
  if ((rc = accord_net_add_peer(nb, addr))) {
    fail_rc(rc, "add peer");
    goto done;
  }
  uv_mutex_lock(&s.mu);
  while (!s.done) {
    if (uv_cond_timedwait(&s.cv, &s.mu, (uint64_t)120 * 1000000000u)) break;
  }
  int ok = s.done;
  accord_net_progress last = s.last;
  uv_mutex_unlock(&s.mu);
  double t1 = bench_now_ms();
  fsync_call f = {b, &s.mu, &s.cv, 0, 0};
  uv_mutex_lock(&s.mu);
  if (!accord_net_call(nb, do_fsync, &f))
    while (!f.done) uv_cond_wait(&s.cv, &s.mu);
  uv_mutex_unlock(&s.mu);
  double t2 = bench_now_ms();
  if (!ok) {
    bench_fail("sync did not finish in 120 s (%llu of %llu changes)",
               (unsigned long long)last.changes_done,
               (unsigned long long)last.changes_total);
    goto done;
  }
  accord_net_stop(na);
  accord_net_stop(nb);
  na = nb = NULL;
  /* the receiver's document is the trace's end */
  accord_doc_info *l;
  size_t n;
  if ((rc = accord_node_doc_list(b, ws, "messaging", &l, &n)) || n != 1) {
    bench_fail("receiver lists %zu documents", n);
    goto done;
  }
  rc = accord_node_doc_open(b, ws, l[0].id, &doc);
  accord_free(l);
  if (rc) {
    fail_rc(rc, "open the received document");
    goto done;
  }
  accord_value v;
  rc = accord_map_get(doc, ACCORD_ROOT, "text", &v);
  if (!rc) rc = bench_check_doc(doc, v.u.obj, t, "received document", NULL);
  accord_node_doc_close(b, doc);
  if (rc) goto done;
  printf("{\"bench\":\"sync\",\"trace\":\"%s\",\"receiver\":\"%s\","
         "\"changes\":%zu,\"sync_ms\":%.1f,\"fsync_ms\":%.1f,"
         "\"total_ms\":%.1f,\"changes_per_s\":%.0f}\n",
         o->name, durable ? "durable" : "batched", t->ntxns + 1, t1 - t0,
         t2 - t1, t2 - t0,
         (t->ntxns + 1) / (t2 - t0) * 1000);
  ret = 0;
done:
  accord_net_stop(na);
  accord_net_stop(nb);
  accord_node_close(a);
  accord_node_close(b);
  if (da) nftw(da, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  if (db) nftw(db, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  free(da);
  free(db);
  uv_cond_destroy(&s.cv);
  uv_mutex_destroy(&s.mu);
  return ret;
}

int cmd_sync(const trace *t, const bench_opts *o)
{
  unsigned n = o->repeat ? o->repeat : 1;
  for (unsigned i = 0; i < n; i++)
    if (sync_once(t, o, 1) || sync_once(t, o, 0))
      return -1;
  return 0;
}

/* ---- gossip -------------------------------------------------------------- */

#define GN 32

typedef struct gnode {
  char *dir;
  accord_node *node;
  accord_net *net;
  uint64_t changed;
  double changed_ms; /* when the last doc_changed fired */
  int up;
} gnode;

typedef struct gworld {
  uv_loop_t loop;
  uv_timer_t tick;
  gnode n[GN];
  int nn;
  uint8_t ws[ACCORD_WS_ID_BYTES];
  int (*cond)(struct gworld *);
  int met;
  uint64_t until;
  uint64_t target;
} gworld;

static void g_changed(void *ud, const uint8_t *ws, const uint8_t *id)
{
  ((gnode *)ud)->changed++;
  ((gnode *)ud)->changed_ms = bench_now_ms();
}

static void g_peer(void *ud, const uint8_t *pk, const char *a, int up)
{
  ((gnode *)ud)->up += up ? 1 : -1;
}

static void g_check(uv_timer_t *t)
{
  gworld *w = t->data;
  if (w->cond(w)) {
    w->met = 1;
    uv_stop(&w->loop);
  } else if (uv_hrtime() > w->until) {
    uv_stop(&w->loop);
  }
}

static int g_run(gworld *w, int (*cond)(gworld *), double ms)
{
  w->cond = cond;
  w->met = 0;
  w->until = uv_hrtime() + (uint64_t)(ms * 1e6);
  if (cond(w))
    return 1;
  uv_timer_start(&w->tick, g_check, 0, 1);
  uv_run(&w->loop, UV_RUN_DEFAULT);
  uv_timer_stop(&w->tick);
  return w->met;
}

static int g_setup(gworld *w, int n)
{
  memset(w, 0, sizeof *w);
  uv_loop_init(&w->loop);
  uv_timer_init(&w->loop, &w->tick);
  w->tick.data = w;
  accord_node_opts bo;
  memset(&bo, 0, sizeof bo);
  bo.durability = ACCORD_BATCHED;
  for (int i = 0; i < n; i++) {
    gnode *g = &w->n[i];
    int rc;
    if (!(g->dir = tmpdir()))
      return bench_fail("no temporary directory");
    if ((rc = accord_node_open(g->dir, &bo, &g->node)))
      return fail_rc(rc, "open node");
    w->nn = i + 1;
    if (i == 0) rc = accord_node_ws_create(g->node, "bench", w->ws);
    else rc = share_ws(w->n[0].node, g->node, w->ws);
    if (rc)
      return fail_rc(rc, "workspace");
  }
  /* every node knows every member before the first connection */
  for (int i = 1; i < w->nn; i++) {
    int rc = share_ws(w->n[0].node, w->n[i].node, w->ws);
    if (rc)
      return fail_rc(rc, "membership");
  }
  for (int i = 0; i < w->nn; i++) {
    gnode *g = &w->n[i];
    int rc;
    accord_net_opts o;
    memset(&o, 0, sizeof o);
    o.uv_loop = &w->loop;
    o.listen = "127.0.0.1:0";
    o.anti_entropy_ms = 60000; /* pushes only: count what gossip costs */
    o.no_discovery = 1;        /* the random topology, not a full mesh */
    o.cb.userdata = g;
    o.cb.doc_changed = g_changed;
    o.cb.peer = g_peer;
    if ((rc = accord_net_start(g->node, &o, &g->net)))
      return fail_rc(rc, "start");
  }
  return 0;
}

static void g_free(gworld *w)
{
  for (int i = 0; i < w->nn; i++)
    accord_net_stop(w->n[i].net);
  uv_close((uv_handle_t *)&w->tick, NULL);
  uv_run(&w->loop, UV_RUN_DEFAULT);
  uv_loop_close(&w->loop);
  for (int i = 0; i < w->nn; i++) {
    accord_node_close(w->n[i].node);
    if (w->n[i].dir)
      nftw(w->n[i].dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(w->n[i].dir);
  }
}

static int g_link(gworld *w, int i, int j)
{
  char a[64];
  snprintf(a, sizeof a, "127.0.0.1:%d", accord_net_port(w->n[j].net));
  int rc = accord_net_add_peer(w->n[i].net, a);
  return rc ? fail_rc(rc, "add peer") : 0;
}

static int b_has(gworld *w) { return w->n[1].changed >= w->target; }
static int never(gworld *w) { return 0; }

static int all_up(gworld *w)
{
  for (int i = 0; i < w->nn; i++)
    if (w->n[i].up < 1)
      return 0;
  return 1;
}

static int all_have(gworld *w)
{
  for (int i = 0; i < w->nn; i++)
    if (w->n[i].changed < w->target)
      return 0;
  return 1;
}

static int put(accord_node *node, accord_doc *d, const char *key, int64_t v)
{
  accord_txn *t;
  accord_value val = accord_int(v);
  int rc = accord_node_txn_begin(node, d, &t);
  if (!rc) rc = accord_map_put(t, ACCORD_ROOT, key, &val);
  if (!rc) rc = accord_node_txn_commit(node, t, NULL);
  return rc;
}

/* B's doc_changed counts stores, not changes: a burst of commits may
 * arrive in one batch. Sustained throughput waits for B's chain head. */
static accord_node *g_bnode;
static uint8_t g_docid[16], g_actor[8];
static uint64_t g_want;
static int b_chain_done(gworld *w)
{
  accord_doc *d;
  uint64_t seq = 0;
  if (accord_node_doc_open(g_bnode, w->ws, g_docid, &d))
    return 0;
  int rc = accord_doc_chain_head(d, g_actor, &seq, NULL);
  accord_node_doc_close(g_bnode, d);
  return !rc && seq >= g_want;
}

typedef struct burst {
  gworld *w;
  accord_doc *d;
  uint64_t left, i;
  int rc;
} burst;

static void on_burst(uv_idle_t *h)
{
  burst *b = h->data;
  for (int k = 0; k < 100 && b->left && !b->rc; k++, b->left--, b->i++)
    b->rc = put(b->w->n[0].node, b->d, "n", (int64_t)b->i);
  if (!b->left || b->rc)
    uv_idle_stop(h);
}

int cmd_gossip(unsigned edits)
{
  gworld w;
  double *lat = calloc(edits, sizeof *lat);
  int ret = -1, rc;
  accord_doc *d = NULL;
  if (!lat || g_setup(&w, 2) || g_link(&w, 1, 0))
    goto done2;
  if (!g_run(&w, all_up, 10000)) {
    bench_fail("nodes did not connect");
    goto done2;
  }
  if ((rc = accord_node_doc_create(w.n[0].node, w.ws, "goal", &d)) ||
      (rc = put(w.n[0].node, d, "k", 0))) {
    fail_rc(rc, "doc");
    goto done2;
  }
  w.target = 1;
  if (!g_run(&w, b_has, 10000)) {
    bench_fail("first change did not arrive");
    goto done2;
  }
  for (unsigned i = 0; i < edits; i++) {
    if ((rc = put(w.n[0].node, d, "k", i + 1))) {
      fail_rc(rc, "commit");
      goto done2;
    }
    double t0 = bench_now_ms();
    w.target = w.n[1].changed + 1;
    if (!g_run(&w, b_has, 10000)) {
      bench_fail("edit %u did not arrive", i);
      goto done2;
    }
    lat[i] = w.n[1].changed_ms - t0;
  }
  qsort(lat, edits, sizeof *lat, cmp_double);
  /* sustained */
  accord_doc_info info;
  if ((rc = accord_node_doc_info(w.n[0].node, d, &info))) {
    fail_rc(rc, "info");
    goto done2;
  }
  memcpy(g_docid, info.id, 16);
  memcpy(g_actor, accord_node_actor(w.n[0].node), 8);
  g_bnode = w.n[1].node;
  uint64_t seq0 = 0;
  if ((rc = accord_doc_chain_head(d, g_actor, &seq0, NULL))) {
    fail_rc(rc, "head");
    goto done2;
  }
  const uint64_t N = 100000;
  g_want = seq0 + N;
  burst b = {&w, d, N, 0, 0};
  uv_idle_t idle;
  uv_idle_init(&w.loop, &idle);
  idle.data = &b;
  double s0 = bench_now_ms();
  uv_idle_start(&idle, on_burst);
  int ok = g_run(&w, b_chain_done, 120000);
  double s1 = bench_now_ms();
  uv_idle_stop(&idle);
  uv_close((uv_handle_t *)&idle, NULL);
  if (!ok || b.rc) {
    bench_fail("sustained run did not finish (%s)", accord_strerror(b.rc));
    goto done2;
  }
  printf("{\"bench\":\"gossip\",\"test\":\"live_edits\",\"edits\":%u,"
         "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,"
         "\"sustained_changes\":%llu,\"sustained_ms\":%.1f,"
         "\"sustained_changes_per_s\":%.0f}\n",
         edits, lat[edits / 2], lat[(size_t)(edits * 0.99)],
         lat[edits - 1], (unsigned long long)N, s1 - s0, N / (s1 - s0) * 1000);
  accord_node_doc_close(w.n[0].node, d);
  d = NULL;
  g_free(&w);

  /* 32 nodes, a random 3-regular graph: a ring (connected) plus a random
   * perfect matching that pairs no ring neighbours; each edge is dialled
   * once */
  if (g_setup(&w, GN))
    goto done;
  uint64_t rng = 42;
  int perm[GN], bad;
  do {
    for (int i = 0; i < GN; i++) perm[i] = i;
    for (int i = GN - 1; i > 0; i--) {
      rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
      int j = (int)((rng >> 33) % (uint64_t)(i + 1)), x = perm[i];
      perm[i] = perm[j];
      perm[j] = x;
    }
    bad = 0;
    for (int i = 0; i < GN; i += 2) {
      int a = perm[i], c = perm[i + 1], dd = a > c ? a - c : c - a;
      if (dd == 1 || dd == GN - 1) bad = 1;
    }
  } while (bad);
  for (int i = 0; i < GN; i++)
    if (g_link(&w, i, (i + 1) % GN))
      goto done;
  for (int i = 0; i < GN; i += 2)
    if (g_link(&w, perm[i], perm[i + 1]))
      goto done;
  if (!g_run(&w, all_up, 20000)) {
    bench_fail("32 nodes did not connect");
    goto done;
  }
  accord_doc *docs[GN] = {0};
  if ((rc = accord_node_doc_create(w.n[0].node, w.ws, "goal", &docs[0])) ||
      (rc = put(w.n[0].node, docs[0], "k", 0))) {
    fail_rc(rc, "doc");
    goto done;
  }
  w.target = 1;
  for (int i = 0; i < GN; i++) w.n[i].changed = i == 0 ? 1 : 0;
  if (!g_run(&w, all_have, 20000)) {
    for (int i = 0; i < GN; i++)
      fprintf(stderr, "node %d: up %d changed %llu\n", i, w.n[i].up,
              (unsigned long long)w.n[i].changed);
    bench_fail("the document did not reach every node");
    goto done;
  }
  if ((rc = accord_node_doc_info(w.n[0].node, docs[0], &info))) goto done;
  for (int i = 1; i < GN; i++)
    if ((rc = accord_node_doc_open(w.n[i].node, w.ws, info.id, &docs[i]))) {
      fail_rc(rc, "open");
      goto done;
    }
  uint64_t in0 = 0, out, in;
  for (int i = 0; i < GN; i++) {
    net_debug_stats(w.n[i].net, &out, &in);
    in0 += in;
  }
  unsigned gedits = edits < 200 ? edits : 200;
  double *glat = calloc(gedits, sizeof *glat);
  if (!glat) goto done;
  for (unsigned e = 0; e < gedits; e++) {
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    int src = (int)((rng >> 33) % GN);
    for (int i = 0; i < GN; i++) w.n[i].changed = 0;
    if ((rc = put(w.n[src].node, docs[src], "k", e))) {
      fail_rc(rc, "commit");
      free(glat);
      goto done;
    }
    w.n[src].changed = 1;
    w.target = 1;
    double t0 = bench_now_ms();
    if (!g_run(&w, all_have, 20000)) {
      bench_fail("edit %u did not reach every node", e);
      free(glat);
      goto done;
    }
    double last = 0;
    for (int i = 0; i < GN; i++)
      if (i != src && w.n[i].changed_ms > last) last = w.n[i].changed_ms;
    glat[e] = last - t0;
    g_run(&w, never, 2); /* let stragglers (duplicates) arrive */
  }
  uint64_t in1 = 0;
  for (int i = 0; i < GN; i++) {
    net_debug_stats(w.n[i].net, &out, &in);
    in1 += in;
  }
  qsort(glat, gedits, sizeof *glat, cmp_double);
  printf("{\"bench\":\"gossip\",\"test\":\"32_nodes_degree_3\",\"edits\":%u,"
         "\"reach_all_p50_ms\":%.3f,\"reach_all_p99_ms\":%.3f,"
         "\"reach_all_max_ms\":%.3f,\"messages_per_node_per_edit\":%.2f}\n",
         gedits, glat[gedits / 2], glat[(size_t)(gedits * 0.99)],
         glat[gedits - 1], (double)(in1 - in0) / GN / gedits);
  free(glat);
  for (int i = 0; i < GN; i++) accord_node_doc_close(w.n[i].node, docs[i]);
  ret = 0;
done:
  g_free(&w);
  free(lat);
  return ret;
done2:
  if (d) accord_node_doc_close(w.n[0].node, d);
  g_free(&w);
  free(lat);
  return ret;
}
