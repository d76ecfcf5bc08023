/*
 * embed_node.c — accord's network on the embedder's own libuv loop. Two
 * laptops, Ana's and Ben's, each a node (a directory: identity and store)
 * in a fresh temporary directory, in this one process and on this one
 * uv_loop_t:
 *   1. Ana founds a workspace, writes a note and listens on an ephemeral
 *      loopback port;
 *   2. Ana invites Ben: accord_invite_create gives a token (a string a real
 *      client would show, mail or QR-code), Ben parses it and joins with it
 *      (accord_invite_parse, accord_net_join);
 *   3. the note reaches Ben; Ben's doc_changed callback prints it and
 *      commits a reply, which reaches Ana; Ana's doc_changed callback
 *      prints the document with both.
 * Public API only (and libuv's, which is the embedder's own dependency);
 * docs/api.md ("Networking") is the guide.
 *
 * The threading rule in loop mode: the network runs on the loop's thread,
 * which here is the main thread. Between runs of the loop and inside
 * callbacks the nodes are ours to use; accord_net_stop is called from the
 * loop's thread but never from inside an accord callback, so finishing is
 * deferred to a timer callback (on_finish).
 *
 * Build against an installed accord:
 *   cc embed_node.c $(pkg-config --cflags --libs accord libuv)
 *
 * Prints fixed lines (ids, ports and tokens are random, so they are not
 * printed), ending with "loop closed cleanly". Exit status: 0 when both
 * directions synced and every handle closed; 1 on any error or after 30 s
 * without getting there. The directories are removed.
 */
#define _XOPEN_SOURCE 700 /* mkdtemp, nftw; libuv needs POSIX types */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <accord.h>
#include <uv.h>

/* As in embed_store.c: remember the failing call, go to the single exit. */
#define TRY(call)     \
  do {                \
    rc = (call);      \
    if (rc != 0) {    \
      failed = #call; \
      goto done;      \
    }                 \
  } while (0)

#define DEADLINE_MS 30000

static const char NOTE[] = "Ship the public beta on Friday";
static const char REPLY[] = "Agreed: I will write the release notes";

typedef struct world world;

/* One laptop: its directory, node and network. */
typedef struct laptop {
  const char *name;
  char dir[4096];
  accord_node *node;
  accord_net *net;
  world *w;
} laptop;

struct world {
  uv_loop_t loop;
  uv_timer_t timer; /* the deadline, then the deferred finish */
  laptop ana, ben;
  uint8_t ws[ACCORD_WS_ID_BYTES];
  uint8_t note_id[ACCORD_DOC_ID_BYTES];
  int joined;      /* Ben's joined callback reported 0 */
  int ben_saw;     /* the note reached Ben, who replied */
  int ana_saw;     /* the reply reached Ana */
  int finishing;   /* on_finish is scheduled */
  int rc;          /* the first error, or 0 */
};

static void on_finish(uv_timer_t *timer);

/* Stops the run: both nets, then the timer. Called from callbacks, which
 * must not call accord_net_stop themselves, so it goes through the timer:
 * restarted with timeout 0, it fires on the next loop iteration. */
static void finish(world *w, int rc, const char *who, const char *failed) {
  if (rc && !w->rc) {
    w->rc = rc;
    fprintf(stderr, "embed_node: %s: %s failed: %s\n", who, failed,
            accord_strerror(rc));
  }
  if (w->finishing) return;
  w->finishing = 1;
  uv_timer_start(&w->timer, on_finish, 0, 0);
}

static void on_finish(uv_timer_t *timer) {
  world *w = timer->data;
  /* Loop mode: no accord callback fires after accord_net_stop returns; the
   * net's handles close as the loop goes on, and uv_run returns once they
   * and our timer are closed. */
  accord_net_stop(w->ana.net);
  accord_net_stop(w->ben.net);
  w->ana.net = w->ben.net = NULL;
  uv_close((uv_handle_t *)timer, NULL);
}

static void on_deadline(uv_timer_t *timer) {
  world *w = timer->data;
  fprintf(stderr, "embed_node: no sync within %d ms\n", DEADLINE_MS);
  if (!w->rc) w->rc = ACCORD_ENET;
  w->finishing = 1;
  on_finish(timer);
}

/* Network log lines (refused connections, reconnects) go to stderr: they
 * help when something goes wrong, and stdout stays deterministic. */
static void on_log(void *userdata, const char *line) {
  laptop *l = userdata;
  if (getenv("EMBED_VERBOSE")) fprintf(stderr, "[%s] %s\n", l->name, line);
}

/* accord_net_join's outcome, once. */
static void on_joined(void *userdata, int result) {
  laptop *l = userdata;
  if (result != 0) {
    finish(l->w, result, l->name, "joining");
    return;
  }
  l->w->joined = 1;
  printf("%s: joined the workspace\n", l->name);
}

/* Reads doc as JSON into *json (accord_free) if it is the note; 1 if so. */
static int read_note(laptop *l, const uint8_t *ws, const uint8_t *doc_id,
                     accord_doc **doc, char **json, int *rc) {
  accord_doc_info info;
  *rc = accord_node_doc_open(l->node, ws, doc_id, doc);
  if (*rc) return 0;
  /* info.type is borrowed until the document is closed. */
  *rc = accord_node_doc_info(l->node, *doc, &info);
  if (*rc || strcmp(info.type, "note") != 0) return 0;
  *rc = accord_doc_json(*doc, json, NULL);
  return *rc == 0;
}

/* Changes from a peer were stored. Runs on the network thread (the loop's),
 * where the node may be used: read the document, and on Ben's side answer
 * with a durable commit, which the network pushes to Ana by itself. */
static void on_doc_changed(void *userdata, const uint8_t *ws,
                           const uint8_t *doc_id) {
  laptop *l = userdata;
  world *w = l->w;
  int rc = 0;
  const char *failed = "";
  accord_doc *doc = NULL;
  accord_txn *txn = NULL;
  char *json = NULL;
  accord_value v;

  if (l == &w->ben && !w->ben_saw) {
    /* Other documents (the workspace's membership document) change too. */
    if (!read_note(l, ws, doc_id, &doc, &json, &rc)) goto done;
    w->ben_saw = 1;
    printf("ben sees: %s\n", json);
    v = accord_str(REPLY, strlen(REPLY));
    TRY(accord_node_txn_begin(l->node, doc, &txn));
    TRY(accord_map_put(txn, ACCORD_ROOT, "reply", &v));
    rc = accord_node_txn_commit(l->node, txn, NULL); /* frees txn */
    txn = NULL;
    if (rc) failed = "accord_node_txn_commit";
  } else if (l == &w->ana && w->ben_saw && !w->ana_saw &&
             memcmp(doc_id, w->note_id, ACCORD_DOC_ID_BYTES) == 0) {
    TRY(accord_node_doc_open(l->node, ws, doc_id, &doc));
    if (accord_map_get(doc, ACCORD_ROOT, "reply", &v) != 0)
      goto done; /* not the reply yet */
    TRY(accord_doc_json(doc, &json, NULL));
    w->ana_saw = 1;
    printf("ana sees: %s\n", json);
    finish(w, 0, l->name, "");
  }
done:
  if (rc) {
    if (!*failed) failed = "reading the document";
    finish(w, rc, l->name, failed);
  }
  accord_txn_abort(txn);
  accord_free(json);
  accord_node_doc_close(l->node, doc);
}

/* The options both nodes share: the loop, and the callbacks with the
 * laptop as userdata. All-zero fields keep their defaults. */
static accord_net_opts net_opts(laptop *l) {
  accord_net_opts o;
  memset(&o, 0, sizeof o);
  o.no_discovery = 1; /* the two nodes meet through the invite */
  o.uv_loop = &l->w->loop; /* our loop, passed as void * */
  o.cb.doc_changed = on_doc_changed;
  o.cb.joined = on_joined;
  o.cb.log = on_log;
  o.cb.userdata = l;
  return o;
}

/* Ana's side, before the loop runs: a workspace, her member name, the
 * note, and the network listening on an ephemeral loopback port. */
static int ana_start(world *w) {
  int rc = 0;
  const char *failed = "";
  laptop *a = &w->ana;
  accord_doc *doc = NULL;
  accord_txn *txn = NULL;
  accord_value v = accord_str(NOTE, strlen(NOTE));
  accord_net_opts o = net_opts(a);

  TRY(accord_node_open(a->dir, NULL, &a->node));
  TRY(accord_node_ws_create(a->node, "Launch team", w->ws));
  TRY(accord_member_update(a->node, w->ws, "ana", "product"));
  TRY(accord_node_doc_create(a->node, w->ws, "note", &doc));
  memcpy(w->note_id, accord_doc_id(doc), ACCORD_DOC_ID_BYTES);
  TRY(accord_node_txn_begin(a->node, doc, &txn));
  TRY(accord_map_put(txn, ACCORD_ROOT, "note", &v));
  rc = accord_node_txn_commit(a->node, txn, NULL); /* frees txn */
  txn = NULL;
  if (rc) {
    failed = "accord_node_txn_commit";
    goto done;
  }
  printf("ana: workspace \"Launch team\", note written\n");

  o.workspace = w->ws;
  o.listen = "127.0.0.1:0"; /* port 0: an ephemeral port */
  TRY(accord_net_start(a->node, &o, &a->net));
  printf("ana: listening on 127.0.0.1 (ephemeral port)\n");
done:
  if (rc)
    fprintf(stderr, "embed_node: ana: %s failed: %s (%s)\n", failed,
            accord_strerror(rc), a->node ? accord_node_errmsg(a->node) : "");
  accord_txn_abort(txn);
  accord_node_doc_close(a->node, doc);
  return rc;
}

/* Ana invites, Ben joins with the token. The loop has not run yet, and it
 * runs on this thread: Ana's node is still ours to use here. */
static int invite_and_join(world *w) {
  int rc = 0;
  const char *failed = "";
  char addr[64];
  const char *addrs[1] = {addr};
  char *token = NULL;
  accord_invite *inv = NULL;
  accord_join_info join;
  accord_net_opts o = net_opts(&w->ben);
  int64_t expires = ((int64_t)time(NULL) + 3600) * 1000; /* in an hour */

  snprintf(addr, sizeof addr, "127.0.0.1:%d", accord_net_port(w->ana.net));
  TRY(accord_invite_create(w->ana.node, w->ws, addrs, 1, expires, &token));

  /* Ben's side: all he has is the token. */
  TRY(accord_node_open(w->ben.dir, NULL, &w->ben.node));
  TRY(accord_invite_parse(token, &inv));
  printf("ben: invite parsed (%zu peer address)\n", inv->naddrs);
  if (inv->naddrs < 1) {
    rc = ACCORD_EINVAL;
    failed = "the invite has no address";
    goto done;
  }
  join.workspace = inv->ws;
  join.key = inv->key;
  join.secret = inv->secret;
  join.address = inv->addrs[0];
  /* Copies what it needs: the invite may be freed (and wiped) at once. The
   * outcome arrives through on_joined. */
  TRY(accord_net_join(w->ben.node, &o, &join, "ben", "marketing",
                      &w->ben.net));
done:
  if (rc)
    fprintf(stderr, "embed_node: %s failed: %s\n", failed,
            accord_strerror(rc));
  accord_invite_free(inv);
  accord_free(token);
  return rc;
}

static int by_name(const void *a, const void *b) {
  return strcmp(((const accord_member *)a)->name,
                ((const accord_member *)b)->name);
}

/* After the network stopped: the node is ours again on any thread. */
static int print_members(world *w) {
  accord_member *m = NULL;
  size_t n = 0;
  int rc = accord_member_list(w->ana.node, w->ws, &m, &n);
  if (rc) {
    fprintf(stderr, "embed_node: accord_member_list: %s\n",
            accord_strerror(rc));
    return rc;
  }
  qsort(m, n, sizeof *m, by_name); /* listed in actor id order: random */
  printf("members on ana's node:");
  for (size_t i = 0; i < n; i++)
    printf("%s %s (%s)", i ? "," : "", m[i].name, m[i].role);
  printf("\n");
  accord_free(m);
  return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

static int make_dir(laptop *l) {
  const char *tmp = getenv("TMPDIR");
  snprintf(l->dir, sizeof l->dir, "%s/accord-embed-node-XXXXXX",
           tmp && *tmp ? tmp : "/tmp");
  if (mkdtemp(l->dir)) return 0;
  perror("embed_node: mkdtemp");
  l->dir[0] = '\0';
  return -1;
}

int main(void) {
  static world w; /* zeroed */
  int rc = 1, setup, loop_ok = 0, closed = 0;

  w.ana.name = "ana";
  w.ben.name = "ben";
  w.ana.w = w.ben.w = &w;
  if (uv_loop_init(&w.loop) != 0) return 1;
  uv_timer_init(&w.loop, &w.timer);
  w.timer.data = &w;
  if (make_dir(&w.ana) || make_dir(&w.ben)) goto done;

  setup = ana_start(&w);
  if (setup == 0) setup = invite_and_join(&w);
  if (setup) {
    finish(&w, setup, "main", "setting up"); /* stops what started */
  } else {
    /* Bounded in time: past the deadline, stop whatever happened. */
    uv_timer_start(&w.timer, on_deadline, DEADLINE_MS, 0);
  }
  /* Runs until every handle is closed: the nets' (after accord_net_stop)
   * and our timer's. */
  uv_run(&w.loop, UV_RUN_DEFAULT);
  closed = 1;
  if (uv_loop_close(&w.loop) == 0) {
    loop_ok = 1;
  } else {
    fprintf(stderr, "embed_node: handles left open on the loop\n");
  }
  if (w.rc == 0 && w.joined && w.ana_saw) rc = print_members(&w);
  if (rc == 0 && loop_ok) printf("loop closed cleanly\n");
  else rc = 1;
done:
  if (!closed) { /* a directory could not be made: nothing ran */
    uv_close((uv_handle_t *)&w.timer, NULL);
    uv_run(&w.loop, UV_RUN_DEFAULT);
    uv_loop_close(&w.loop);
  }
  accord_node_close(w.ana.node);
  accord_node_close(w.ben.node);
  /* The stores are ours to delete: identity.key and LMDB's files. */
  if (w.ana.dir[0]) nftw(w.ana.dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
  if (w.ben.dir[0]) nftw(w.ben.dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
  return rc == 0 ? 0 : 1;
}
