/*
 * net_testutil.h — a world of nodes with accord_net on one libuv loop, for
 * the network tests (test_net_*.c): temporary node directories sharing a
 * workspace, one-line commits, running the loop until a condition holds
 * (bounded by a deadline: a test never hangs), convergence checks (every
 * node lists the same documents with identical JSON), and a clean
 * teardown that asserts the loop closed with nothing left open.
 * Header-only (static inline), like store_testutil.h.
 */
#ifndef ACCORD_NET_TESTUTIL_H
#define ACCORD_NET_TESTUTIL_H

#define _XOPEN_SOURCE 700

#include <uv.h>

#include "members.h"
#include "net.h"
#include "store_testutil.h"

#define TW_MAX 40
#define TW_LOG 64

typedef struct tnode {
  char *dir;
  accord_node *node;
  accord_net *net;
  int up;      /* peers connected now */
  int changed; /* doc_changed calls */
  uint64_t progress_calls, last_done, last_total, docs_done, docs_total;
  char log[TW_LOG][400];
  int nlog;
  int tampered; /* log lines that report tampering (tw_is_tamper) */
  struct tworld *w;
} tnode;

typedef struct tworld {
  uv_loop_t loop;
  uv_timer_t check;
  tnode n[TW_MAX];
  int nn;
  uint8_t ws[ACCORD_WS_ID_BYTES];
  int (*cond)(struct tworld *, void *);
  void *cond_ud;
  int met;
  uint64_t deadline;
  uint32_t ae_ms;
  int discovery; /* tw_start turns LAN discovery on */
} tworld;

/* Whether a log line says a connection closed because its bytes were
 * tampered with (the reasons of conn.c, frame.c, handshake.c and
 * session.c for bytes that do not authenticate or parse). */
static inline int tw_is_tamper(const char *line) {
  static const char *const why[] = {
      "frame failed authentication", "frame length exceeds",
      "frame is not one msgpack message", "bytes after the end of the stream",
      "handshake not authenticated", "invalid ephemeral key",
      "identity proof", "bad message"};
  for (size_t i = 0; i < sizeof why / sizeof why[0]; i++)
    if (strstr(line, why[i])) return 1;
  return 0;
}

static inline void tw_log(void *ud, const char *line) {
  tnode *t = ud;
  if (tw_is_tamper(line)) t->tampered++;
  if (getenv("ACCORD_TEST_VERBOSE")) printf("[%s] %s\n", t->dir, line);
  if (t->nlog == TW_LOG) { /* keep the latest lines */
    memmove(t->log[0], t->log[1], sizeof t->log[0] * (TW_LOG - 1));
    t->nlog--;
  }
  snprintf(t->log[t->nlog++], sizeof t->log[0], "%s", line);
}

static inline void tw_peer(void *ud, const uint8_t *pk, const char *addr,
                           int up) {
  tnode *t = ud;
  t->up += up ? 1 : -1;
}

static inline void tw_changed(void *ud, const uint8_t *ws, const uint8_t *id) {
  ((tnode *)ud)->changed++;
}

static inline void tw_progress(void *ud, const accord_net_progress *p) {
  tnode *t = ud;
  t->progress_calls++;
  assert_true(p->docs_done <= p->docs_total);
  t->last_done = p->changes_done;
  t->last_total = p->changes_total;
  t->docs_done = p->docs_done;
  t->docs_total = p->docs_total;
}

/* Node i exists; the first one founds the workspace, the others are
 * enrolled by it (node_enroll: what joining does, without the network). */
static inline void tw_node(tworld *w, int i) {
  tnode *t = &w->n[i];
  t->w = w;
  if (!t->dir) t->dir = st_tmpdir();
  t->node = st_open(t->dir, NULL);
  if (i == 0 && w->nn == 0) {
    AOK(accord_node_ws_create(t->node, "team", w->ws));
  } else if (i != 0) {
    char name[16];
    snprintf(name, sizeof name, "node-%d", i);
    NOK(w->n[0].node, node_enroll(w->n[0].node, w->ws, t->node, name, NULL));
  }
  if (i + 1 > w->nn) w->nn = i + 1;
}

/* Every node takes in node 0's membership document: all know all. */
static inline void tw_members(tworld *w) {
  for (int i = 1; i < w->nn; i++) {
    char name[16];
    snprintf(name, sizeof name, "node-%d", i);
    NOK(w->n[0].node,
        node_enroll(w->n[0].node, w->ws, w->n[i].node, name, NULL));
  }
}

static inline void tw_init(tworld *w, int n) {
  memset(w, 0, sizeof *w);
  assert_int_equal(uv_loop_init(&w->loop), 0);
  uv_timer_init(&w->loop, &w->check);
  w->check.data = w;
  w->ae_ms = 200;
  for (int i = 0; i < n; i++) tw_node(w, i);
  tw_members(w);
}

/* Starts node i's network, listening on host:port (0: ephemeral). 0 or
 * accord_net_start's error. */
static inline int tw_start_host(tworld *w, int i, const char *host, int port) {
  tnode *t = &w->n[i];
  accord_net_opts o;
  char listen[64];
  snprintf(listen, sizeof listen, "%s:%d", host, port);
  memset(&o, 0, sizeof o);
  o.uv_loop = &w->loop;
  o.listen = listen;
  o.anti_entropy_ms = w->ae_ms;
  o.reconnect_min_ms = 20;
  o.reconnect_max_ms = 200;
  o.poll_ms = 20;
  o.handshake_ms = 3000;
  /* discovery only where a test turns it on (w->discovery, with a group
   * and port of its own: net_debug_beacon_config) */
  o.no_discovery = !w->discovery;
  o.cb.userdata = t;
  o.cb.log = tw_log;
  o.cb.peer = tw_peer;
  o.cb.doc_changed = tw_changed;
  o.cb.progress = tw_progress;
  int rc = accord_net_start(t->node, &o, &t->net);
  if (!rc) assert_true(accord_net_port(t->net) > 0);
  return rc;
}

static inline void tw_start_at(tworld *w, int i, int port) {
  AOK(tw_start_host(w, i, "127.0.0.1", port));
}

static inline void tw_start(tworld *w, int i) { tw_start_at(w, i, 0); }

/* i dials j. */
static inline void tw_link(tworld *w, int i, int j) {
  char a[64];
  snprintf(a, sizeof a, "127.0.0.1:%d", accord_net_port(w->n[j].net));
  AOK(accord_net_add_peer(w->n[i].net, a));
}

static inline accord_doc *tw_doc_new(tworld *w, int i, const char *type) {
  accord_doc *d;
  AOK(accord_node_doc_create(w->n[i].node, w->ws, type, &d));
  return d;
}

static inline void tw_put(tworld *w, int i, accord_doc *d, const char *key,
                          const char *val) {
  accord_txn *t;
  AOK(accord_node_txn_begin(w->n[i].node, d, &t));
  accord_value v = accord_str(val, strlen(val));
  AOK(accord_map_put(t, ACCORD_ROOT, key, &v));
  AOK(accord_node_txn_commit(w->n[i].node, t, NULL));
}

/* The JSON of every document of workspace ws of node i, concatenated in
 * id order ("" when the node lacks the workspace). */
static inline char *tw_state_ws(tworld *w, int i, const uint8_t *ws) {
  accord_doc_info *l = NULL;
  size_t n = 0;
  int rc = accord_node_doc_list(w->n[i].node, ws, NULL, &l, &n);
  if (rc != ACCORD_ENOTFOUND) AOK(rc);
  size_t cap = 64, len = 0;
  char *out = malloc(cap);
  assert_non_null(out);
  out[0] = 0;
  for (size_t k = 0; k < n; k++) {
    accord_doc *d;
    char *js;
    AOK(accord_node_doc_open(w->n[i].node, ws, l[k].id, &d));
    AOK(accord_doc_json(d, &js, NULL));
    size_t need = len + strlen(js) + strlen(l[k].type) + 40;
    if (need > cap) {
      cap = 2 * need;
      out = realloc(out, cap);
      assert_non_null(out);
    }
    char hex[33];
    store_hex(l[k].id, 16, hex);
    len += (size_t)sprintf(out + len, "%s:%s=%s\n", hex, l[k].type, js);
    accord_free(js);
    accord_node_doc_close(w->n[i].node, d);
  }
  accord_free(l);
  return out;
}

/* The JSON of every document of node i, concatenated in id order. */
static inline char *tw_state(tworld *w, int i) { return tw_state_ws(w, i, w->ws); }

/* Nodes in [from, to) hold the same documents with identical JSON. */
static inline int tw_same(tworld *w, int from, int to) {
  char *a = tw_state(w, from);
  int same = 1;
  for (int i = from + 1; i < to && same; i++) {
    char *b = tw_state(w, i);
    same = !strcmp(a, b);
    free(b);
  }
  free(a);
  return same;
}

static inline int tw_all_same(tworld *w, void *ud) { return tw_same(w, 0, w->nn); }

static inline void tw_tick(uv_timer_t *t) {
  tworld *w = t->data;
  if (w->cond(w, w->cond_ud)) {
    w->met = 1;
    uv_stop(&w->loop);
  } else if (uv_now(&w->loop) > w->deadline) {
    uv_stop(&w->loop);
  }
}

/* Runs the loop until cond holds (checked every 10 ms) or ms pass.
 * Returns whether cond held. */
static inline int tw_run(tworld *w, int (*cond)(tworld *, void *), void *ud,
                         uint64_t ms) {
  w->cond = cond;
  w->cond_ud = ud;
  w->met = 0;
  uv_update_time(&w->loop);
  w->deadline = uv_now(&w->loop) + ms;
  uv_timer_start(&w->check, tw_tick, 10, 10);
  uv_run(&w->loop, UV_RUN_DEFAULT);
  uv_timer_stop(&w->check);
  return w->met;
}

static inline int tw_false(tworld *w, void *ud) { return 0; }

/* Runs the loop for ms (whatever happens). */
static inline void tw_wait(tworld *w, uint64_t ms) { tw_run(w, tw_false, NULL, ms); }

static inline int tw_logged(const tnode *t, const char *needle) {
  for (int i = 0; i < t->nlog; i++)
    if (strstr(t->log[i], needle)) return 1;
  return 0;
}

static inline void tw_stop(tworld *w, int i) {
  accord_net_stop(w->n[i].net);
  w->n[i].net = NULL;
}

/* Stops every net, closes the nodes, and checks the loop ends clean. */
static inline void tw_free(tworld *w) {
  for (int i = 0; i < w->nn; i++)
    if (w->n[i].net) tw_stop(w, i);
  uv_close((uv_handle_t *)&w->check, NULL);
  uv_run(&w->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&w->loop), 0);
  for (int i = 0; i < w->nn; i++) {
    accord_node_close(w->n[i].node);
    st_rmrf(w->n[i].dir);
    free(w->n[i].dir);
  }
}

#endif
