/*
 * test_net_proc.c — several node processes converge: two net_node
 * processes (tests/net_node.c) serve two node directories that edited
 * offline, one dialling the other; this process watches both directories
 * (LMDB is multi-process) until they hold the same documents, then commits
 * to the first directory as the CLI would — another process — and expects
 * the change to reach the second directory through the serving processes
 * (noticed by polling the store counter). The processes are then stopped
 * with SIGTERM and must exit 0 (clean stop, loop closed).
 */
#include "net_testutil.h"

#include <signal.h>

typedef struct proc {
  uv_process_t h;
  int exited;
  int64_t status;
  int term_signal;
} proc;

static void on_exit_(uv_process_t *h, int64_t status, int term_signal) {
  proc *p = h->data;
  p->exited = 1;
  p->status = status;
  p->term_signal = term_signal;
  uv_close((uv_handle_t *)h, NULL);
}

static void spawn(tworld *w, proc *p, char **args) {
  uv_process_options_t o;
  uv_stdio_container_t io[3];
  memset(&o, 0, sizeof o);
  io[0].flags = UV_IGNORE;
  io[1].flags = UV_INHERIT_FD;
  io[1].data.fd = 1;
  io[2].flags = UV_INHERIT_FD;
  io[2].data.fd = 2;
  o.stdio = io;
  o.stdio_count = 3;
  o.file = NET_NODE_BIN;
  o.args = args;
  o.exit_cb = on_exit_;
  memset(p, 0, sizeof *p);
  p->h.data = p;
  assert_int_equal(uv_spawn(&w->loop, &p->h, &o), 0);
}

static int read_port(const char *path) {
  FILE *f = fopen(path, "r");
  int port = 0;
  if (!f) return 0;
  if (fscanf(f, "%d", &port) != 1) port = 0;
  fclose(f);
  return port;
}

typedef struct portwait {
  const char *path;
  int port;
} portwait;

static int port_ready(tworld *w, void *ud) {
  portwait *p = ud;
  p->port = read_port(p->path);
  return p->port > 0;
}

static int both_exited(tworld *w, void *ud) {
  proc *p = ud;
  return p[0].exited && p[1].exited;
}

static int has_text(tworld *w, void *ud) {
  char *s = tw_state(w, 1);
  int ok = strstr(s, (const char *)ud) != NULL;
  free(s);
  return ok;
}

static void two_processes(void **state) {
  tworld w;
  tw_init(&w, 2);
  accord_doc *a = tw_doc_new(&w, 0, "goal");
  accord_doc *b = tw_doc_new(&w, 1, "messaging");
  tw_put(&w, 0, a, "by", "first");
  tw_put(&w, 1, b, "by", "second");
  assert_false(tw_same(&w, 0, 2));
  char *pf0 = st_path(w.n[0].dir, "port"), *pf1 = st_path(w.n[1].dir, "port");
  proc p[2];
  char *args0[] = {"net_node", w.n[0].dir, pf0, NULL};
  spawn(&w, &p[0], args0);
  portwait pw = {pf0, 0};
  assert_true(tw_run(&w, port_ready, &pw, 10000));
  char paddr[64];
  snprintf(paddr, sizeof paddr, "127.0.0.1:%d", pw.port);
  char *args1[] = {"net_node", w.n[1].dir, pf1, paddr, NULL};
  spawn(&w, &p[1], args1);
  assert_true(tw_run(&w, tw_all_same, NULL, 20000));
  /* another process (this one) commits to the first directory */
  tw_put(&w, 0, a, "cli", "committed-elsewhere");
  assert_true(tw_run(&w, has_text, "committed-elsewhere", 10000));
  assert_true(tw_same(&w, 0, 2));
  uv_process_kill(&p[0].h, SIGTERM);
  uv_process_kill(&p[1].h, SIGTERM);
  assert_true(tw_run(&w, both_exited, p, 10000));
  assert_int_equal(p[0].status, 0);
  assert_int_equal(p[1].status, 0);
  assert_int_equal(p[0].term_signal, 0);
  accord_node_doc_close(w.n[0].node, a);
  accord_node_doc_close(w.n[1].node, b);
  free(pf0);
  free(pf1);
  tw_free(&w);
}

TEST_MAIN(cmocka_unit_test(two_processes))
