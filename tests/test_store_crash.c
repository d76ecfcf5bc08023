/*
 * test_store_crash.c — the node store against kill -9 and other processes.
 *
 *   crash_kill9          a child commits in a loop (with housekeeping:
 *                        snapshots, compaction, closing and reopening the
 *                        document) and prints each change after commit
 *                        returns; the parent SIGKILLs it at a random moment.
 *                        After each kill the store opens, every printed
 *                        change is there, the document equals a replay of
 *                        its history and every stored change checks. Trials
 *                        alternate durable and batched mode (kill -9 must
 *                        lose nothing in either). ACCORD_CRASH_TRIALS sets
 *                        the number of trials (default 20).
 *   two_processes        two children, one durable and one batched, commit
 *                        at the same time to one shared document (retrying
 *                        on ESTALE) and to one document each: everything
 *                        from both is there afterwards.
 *   sees_other_process   a document open in one process takes in what
 *                        another process committed when a transaction
 *                        begins; accord_node_changed moves.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store_testutil.h"

typedef struct setup {
  char *dir;
  uint8_t ws[16], id[16];
} setup;

static void make_store(setup *s) {
  s->dir = st_tmpdir();
  accord_node *node = st_open(s->dir, NULL);
  accord_doc *doc;
  accord_txn *t;
  accord_id text;
  NOK(node, accord_node_ws_create(node, "crash", s->ws));
  NOK(node, accord_node_doc_create(node, s->ws, "goal", &doc));
  memcpy(s->id, accord_doc_id(doc), 16);
  NOK(node, accord_node_txn_begin(node, doc, &t));
  AOK(accord_map_put_object(t, ACCORD_ROOT, "text", ACCORD_TEXT, &text));
  NOK(node, accord_node_txn_commit(node, t, NULL));
  accord_node_close(node);
}

static void drop_store(setup *s) {
  st_rmrf(s->dir);
  free(s->dir);
}

/* ---- kill -9 ------------------------------------------------------------ */

static void crash_child(const setup *s, int fd, int batched) {
  accord_node_opts o;
  memset(&o, 0, sizeof o);
  o.durability = batched ? ACCORD_BATCHED : ACCORD_DURABLE;
  o.snapshot_changes = 25;
  o.compact_changes = 10;
  accord_node *node = NULL;
  accord_doc *doc = NULL;
  if (accord_node_open(s->dir, &o, &node) ||
      accord_node_doc_open(node, s->ws, s->id, &doc))
    _exit(3);
  size_t n;
  accord_value v;
  if (accord_map_size(doc, ACCORD_ROOT, &n) ||
      accord_map_get(doc, ACCORD_ROOT, "text", &v))
    _exit(4);
  accord_id text = v.u.obj;
  for (long i = (long)n - 1;; i++) { /* "text" is one of the n keys */
    char key[24];
    accord_txn *t;
    size_t len;
    snprintf(key, sizeof key, "k%07ld", i);
    accord_value val = accord_int(i);
    if (accord_node_txn_begin(node, doc, &t) ||
        accord_map_put(t, ACCORD_ROOT, key, &val) ||
        accord_text_len(doc, text, &len) ||
        accord_text_splice(t, text, len / 2, 0, "ab", 2) ||
        accord_node_txn_commit(node, t, NULL))
      _exit(5);
    char line[32];
    int k = snprintf(line, sizeof line, "%ld\n", i);
    if (write(fd, line, (size_t)k) != k) _exit(6);
    if (i % 40 == 0 && accord_node_maintain(node, 0, NULL)) _exit(7);
    if (i % 97 == 0) { /* close: snapshot and compaction at close */
      accord_node_doc_close(node, doc);
      if (accord_node_doc_open(node, s->ws, s->id, &doc)) _exit(8);
      if (accord_map_get(doc, ACCORD_ROOT, "text", &v)) _exit(9);
      text = v.u.obj;
    }
  }
}

/* Reads the child's lines until EOF; returns how many, keeping them. */
static size_t read_printed(int fd, long **out) {
  size_t cap = 1024, n = 0, blen = 0;
  long *p = malloc(cap * sizeof *p);
  char buf[8192];
  assert_non_null(p);
  for (;;) {
    ssize_t k = read(fd, buf + blen, sizeof buf - blen);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    blen += (size_t)k;
    size_t start = 0;
    for (size_t i = 0; i < blen; i++) {
      if (buf[i] != '\n') continue;
      buf[i] = 0;
      if (n == cap) {
        cap *= 2;
        p = realloc(p, cap * sizeof *p);
        assert_non_null(p);
      }
      p[n++] = strtol(buf + start, NULL, 10);
      start = i + 1;
    }
    memmove(buf, buf + start, blen - start);
    blen -= start;
  }
  *out = p;
  return n;
}

static void crash_kill9(void **state) {
  (void)state;
  const char *e = getenv("ACCORD_CRASH_TRIALS");
  long trials = e && *e ? strtol(e, NULL, 10) : 20;
  if (trials < 1) trials = 1;
  test_rng r;
  rng_init(&r, test_seed("crash_kill9"));
  setup s;
  make_store(&s);
  size_t total = 0;
  for (long trial = 0; trial < trials; trial++) {
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    int batched = trial % 2;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      close(fds[0]);
      crash_child(&s, fds[1], batched);
      _exit(0);
    }
    close(fds[1]);
    /* a random moment: sometimes during open, mostly mid-commit */
    long us = rng_below(&r, 10) == 0 ? (long)rng_below(&r, 5000)
                                     : 20000 + (long)rng_below(&r, 150000);
    usleep((useconds_t)us);
    kill(pid, SIGKILL);
    long *printed;
    size_t n = read_printed(fds[0], &printed);
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFSIGNALED(status))
      fail_msg("trial %ld: child exited with %d before the kill", trial,
               WEXITSTATUS(status));

    accord_node *node = st_open(s.dir, NULL);
    accord_doc *doc;
    NOK(node, accord_node_doc_open(node, s.ws, s.id, &doc));
    for (size_t i = 0; i < n; i++) {
      char key[24];
      accord_value v;
      snprintf(key, sizeof key, "k%07ld", printed[i]);
      if (accord_map_get(doc, ACCORD_ROOT, key, &v))
        fail_msg("trial %ld (%s): printed change %ld is missing", trial,
                 batched ? "batched" : "durable", printed[i]);
      assert_int_equal(v.u.i, printed[i]);
    }
    st_assert_replays(doc);
    NOK(node, accord_node_verify(node));
    accord_node_close(node);
    total += n;
    free(printed);
  }
  printf("crash_kill9: %ld trials, %zu commits printed and found\n", trials,
         total);
  drop_store(&s);
}

/* ---- two processes ------------------------------------------------------ */

#define TWO_N 40

static void two_child(const setup *s, char tag) {
  accord_node *node = NULL;
  accord_doc *shared = NULL, *own = NULL;
  accord_node_opts o;
  memset(&o, 0, sizeof o);
  /* one durable and one batched: the two modes share a directory */
  o.durability = tag == 'b' ? ACCORD_BATCHED : ACCORD_DURABLE;
  if (accord_node_open(s->dir, &o, &node) ||
      accord_node_doc_open(node, s->ws, s->id, &shared) ||
      accord_node_doc_create(node, s->ws, "child", &own))
    _exit(3);
  for (int i = 0; i < TWO_N; i++) {
    char key[16];
    snprintf(key, sizeof key, "%c%d", tag, i);
    accord_value v = accord_int(i);
    int rc, tries = 0;
    do {
      accord_txn *t;
      if (accord_node_txn_begin(node, shared, &t) ||
          accord_map_put(t, ACCORD_ROOT, key, &v))
        _exit(4);
      rc = accord_node_txn_commit(node, t, NULL);
    } while (rc == ACCORD_ESTALE && ++tries < 1000);
    if (rc) _exit(5);
    accord_txn *t;
    if (accord_node_txn_begin(node, own, &t) ||
        accord_map_put(t, ACCORD_ROOT, key, &v) ||
        accord_node_txn_commit(node, t, NULL))
      _exit(6);
  }
  accord_node_close(node);
  _exit(0);
}

static void two_processes(void **state) {
  (void)state;
  setup s;
  make_store(&s);
  pid_t pids[2];
  for (int c = 0; c < 2; c++) {
    pids[c] = fork();
    assert_true(pids[c] >= 0);
    if (pids[c] == 0) two_child(&s, c ? 'b' : 'a');
  }
  for (int c = 0; c < 2; c++) {
    int status;
    assert_int_equal(waitpid(pids[c], &status, 0), pids[c]);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
  }
  accord_node *node = st_open(s.dir, NULL);
  accord_doc *doc;
  NOK(node, accord_node_doc_open(node, s.ws, s.id, &doc));
  for (int c = 0; c < 2; c++)
    for (int i = 0; i < TWO_N; i++) {
      char key[16];
      accord_value v;
      snprintf(key, sizeof key, "%c%d", c ? 'b' : 'a', i);
      AOK(accord_map_get(doc, ACCORD_ROOT, key, &v));
    }
  st_assert_replays(doc);
  accord_doc_info *list;
  size_t n;
  NOK(node, accord_node_doc_list(node, s.ws, "child", &list, &n));
  assert_int_equal(n, 2);
  for (size_t k = 0; k < n; k++) {
    accord_doc *own;
    size_t size;
    NOK(node, accord_node_doc_open(node, s.ws, list[k].id, &own));
    AOK(accord_map_size(own, ACCORD_ROOT, &size));
    assert_int_equal(size, TWO_N);
    accord_node_doc_close(node, own);
  }
  accord_free(list);
  NOK(node, accord_node_verify(node));
  accord_node_close(node);
  drop_store(&s);
}

static void sees_other_process(void **state) {
  (void)state;
  setup s;
  make_store(&s);
  accord_node *node = st_open(s.dir, NULL);
  accord_doc *doc;
  NOK(node, accord_node_doc_open(node, s.ws, s.id, &doc));
  uint64_t before, after;
  NOK(node, accord_node_changed(node, &before));
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    accord_node *n2 = NULL;
    accord_doc *d2 = NULL;
    if (accord_node_open(s.dir, NULL, &n2) ||
        accord_node_doc_open(n2, s.ws, s.id, &d2))
      _exit(3);
    for (int i = 0; i < 5; i++) {
      char key[8];
      snprintf(key, sizeof key, "c%d", i);
      accord_value v = accord_int(i);
      accord_txn *t;
      if (accord_node_txn_begin(n2, d2, &t) ||
          accord_map_put(t, ACCORD_ROOT, key, &v) ||
          accord_node_txn_commit(n2, t, NULL))
        _exit(4);
    }
    accord_node_close(n2);
    _exit(0);
  }
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  NOK(node, accord_node_changed(node, &after));
  assert_true(after > before);
  accord_value v;
  assert_int_equal(accord_map_get(doc, ACCORD_ROOT, "c4", &v),
                   ACCORD_ENOTFOUND);
  st_put_int(node, doc, "parent", 1); /* begin takes the child's in */
  AOK(accord_map_get(doc, ACCORD_ROOT, "c4", &v));
  assert_int_equal(v.u.i, 4);
  accord_node_close(node);

  node = st_open(s.dir, NULL);
  NOK(node, accord_node_doc_open(node, s.ws, s.id, &doc));
  AOK(accord_map_get(doc, ACCORD_ROOT, "parent", &v));
  AOK(accord_map_get(doc, ACCORD_ROOT, "c0", &v));
  st_assert_replays(doc);
  accord_node_close(node);
  drop_store(&s);
}

TEST_MAIN(cmocka_unit_test(crash_kill9), cmocka_unit_test(two_processes),
          cmocka_unit_test(sees_other_process))
