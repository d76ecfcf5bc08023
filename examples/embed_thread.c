/*
 * embed_thread.c — accord's network on the library's own thread. The same
 * story as embed_node.c (Ana founds a workspace with a note and listens on
 * an ephemeral loopback port, invites Ben, Ben joins with the token, the
 * note reaches Ben, Ben's reply reaches Ana), but with opts.uv_loop NULL:
 * each accord_net runs its own loop on a thread the library starts, and
 * this program needs no libuv.
 *
 * The threading rule in practice: from accord_net_start (or _join) until
 * accord_net_stop returns, a node belongs to its network thread. The main
 * thread then never touches it directly; it asks for work with
 * accord_net_call (Ana's invite, Ben's reply are made that way) and waits
 * on a condition variable for what the callbacks report. The callbacks run
 * on the network threads and may use their own node. After
 * accord_net_stop the node is the main thread's again.
 *
 * Build against an installed accord:
 *   cc embed_thread.c $(pkg-config --cflags --libs accord) -pthread
 *
 * Prints fixed lines (ids, ports and tokens are random, so they are not
 * printed), ending with "networks stopped". Exit status: 0 when both
 * directions synced; 1 on any error or when a step takes more than 30 s.
 * The directories are removed.
 */
#define _XOPEN_SOURCE 700 /* mkdtemp, nftw, clock_gettime */
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <accord.h>

/* As in embed_store.c: remember the failing call, go to the single exit. */
#define TRY(call)     \
  do {                \
    rc = (call);      \
    if (rc != 0) {    \
      failed = #call; \
      goto done;      \
    }                 \
  } while (0)

#define STEP_SECONDS 30

static const char NOTE[] = "Ship the public beta on Friday";
static const char REPLY[] = "Agreed: I will write the release notes";

typedef struct world world;

typedef struct laptop {
  const char *name;
  char dir[4096];
  accord_node *node;
  accord_net *net;
  world *w;
} laptop;

/* What the threads share. Everything below `lock` is read and written with
 * it held; the ids above it are written by the main thread before any
 * network starts and only read afterwards. */
struct world {
  laptop ana, ben;
  uint8_t ws[ACCORD_WS_ID_BYTES];
  uint8_t note_id[ACCORD_DOC_ID_BYTES];
  pthread_mutex_t lock;
  pthread_cond_t cond; /* signalled at every change below */
  char *token;         /* Ana's invite (accord_free) */
  int joined;          /* Ben's joined callback reported 0 */
  int ben_saw;         /* the note reached Ben */
  int ana_saw;         /* the reply reached Ana */
  int rc;              /* the first error, or 0 */
};

/* Records an error (the first one) and wakes the main thread. Lock held. */
static void fail_locked(world *w, int rc, const char *who, const char *what) {
  if (!w->rc) {
    w->rc = rc;
    fprintf(stderr, "embed_thread: %s: %s failed: %s\n", who, what,
            accord_strerror(rc));
  }
  pthread_cond_broadcast(&w->cond);
}

/* Main thread: waits until *flag is set or an error is recorded, at most
 * STEP_SECONDS. 0 when the flag is set. */
static int wait_for(world *w, const int *flag, const char *what) {
  struct timespec until;
  int rc = 0;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += STEP_SECONDS;
  pthread_mutex_lock(&w->lock);
  while (!*flag && !w->rc && rc == 0)
    rc = pthread_cond_timedwait(&w->cond, &w->lock, &until);
  if (!*flag && !w->rc) {
    fprintf(stderr, "embed_thread: no %s within %d s\n", what, STEP_SECONDS);
    w->rc = ACCORD_ENET;
  }
  rc = *flag ? 0 : w->rc;
  pthread_mutex_unlock(&w->lock);
  return rc;
}

/* ---- on the network threads ----------------------------------------------- */

static void on_log(void *userdata, const char *line) {
  laptop *l = userdata;
  if (getenv("EMBED_VERBOSE")) fprintf(stderr, "[%s] %s\n", l->name, line);
}

static void on_joined(void *userdata, int result) {
  laptop *l = userdata;
  pthread_mutex_lock(&l->w->lock);
  if (result != 0) {
    fail_locked(l->w, result, l->name, "joining");
  } else {
    l->w->joined = 1;
    printf("%s: joined the workspace\n", l->name);
    fflush(stdout);
    pthread_cond_broadcast(&l->w->cond);
  }
  pthread_mutex_unlock(&l->w->lock);
}

/* Changes from a peer were stored: runs on this laptop's network thread,
 * which owns the node, so it may open the document and read it. Prints
 * from here, under the lock, so that lines from two threads never mix. */
static void on_doc_changed(void *userdata, const uint8_t *ws,
                           const uint8_t *doc_id) {
  laptop *l = userdata;
  world *w = l->w;
  int rc = 0, *flag;
  const char *failed = "";
  accord_doc *doc = NULL;
  char *json = NULL;
  accord_value v;

  /* Only the note matters here (the membership document changes too).
   * Each flag is set only on its laptop's thread, so reading it here needs
   * no lock. */
  flag = l == &w->ben ? &w->ben_saw : &w->ana_saw;
  if (*flag || memcmp(doc_id, w->note_id, ACCORD_DOC_ID_BYTES) != 0) return;

  TRY(accord_node_doc_open(l->node, ws, doc_id, &doc));
  /* Ana waits for the reply; Ben's first change of the note is it. */
  if (l == &w->ana && accord_map_get(doc, ACCORD_ROOT, "reply", &v) != 0)
    goto done;
  TRY(accord_doc_json(doc, &json, NULL));
done:
  pthread_mutex_lock(&w->lock);
  if (rc) {
    fail_locked(w, rc, l->name, failed);
  } else if (json) {
    printf("%s sees: %s\n", l->name, json);
    fflush(stdout);
    *flag = 1;
    pthread_cond_broadcast(&w->cond);
  }
  pthread_mutex_unlock(&w->lock);
  accord_free(json);
  accord_node_doc_close(l->node, doc);
}

/* Given to accord_net_call on Ana's net: runs on her network thread. */
static void make_invite(accord_net *net, void *userdata) {
  world *w = userdata;
  char addr[64];
  const char *addrs[1] = {addr};
  char *token = NULL;
  int64_t expires = ((int64_t)time(NULL) + 3600) * 1000; /* in an hour */
  int rc;

  snprintf(addr, sizeof addr, "127.0.0.1:%d", accord_net_port(net));
  rc = accord_invite_create(w->ana.node, w->ws, addrs, 1, expires, &token);
  pthread_mutex_lock(&w->lock);
  if (rc) fail_locked(w, rc, "ana", "accord_invite_create");
  w->token = token;
  pthread_cond_broadcast(&w->cond);
  pthread_mutex_unlock(&w->lock);
}

/* Given to accord_net_call on Ben's net: his reply, a durable commit on
 * his network thread, which pushes it to Ana by itself. */
static void write_reply(accord_net *net, void *userdata) {
  world *w = userdata;
  int rc = 0;
  const char *failed = "";
  accord_doc *doc = NULL;
  accord_txn *txn = NULL;
  accord_value v = accord_str(REPLY, strlen(REPLY));

  (void)net;
  TRY(accord_node_doc_open(w->ben.node, w->ws, w->note_id, &doc));
  TRY(accord_node_txn_begin(w->ben.node, doc, &txn));
  TRY(accord_map_put(txn, ACCORD_ROOT, "reply", &v));
  rc = accord_node_txn_commit(w->ben.node, txn, NULL); /* frees txn */
  txn = NULL;
  if (rc) failed = "accord_node_txn_commit";
done:
  accord_txn_abort(txn);
  accord_node_doc_close(w->ben.node, doc);
  /* Nothing printed on success: Ana's thread may print the reply before
   * this one could. */
  if (rc) {
    pthread_mutex_lock(&w->lock);
    fail_locked(w, rc, "ben", failed);
    pthread_mutex_unlock(&w->lock);
  }
}

/* ---- on the main thread ----------------------------------------------------- */

static accord_net_opts net_opts(laptop *l) {
  accord_net_opts o;
  memset(&o, 0, sizeof o); /* uv_loop NULL: the library's own thread */
  o.no_discovery = 1; /* the two nodes meet through the invite */
  o.cb.doc_changed = on_doc_changed;
  o.cb.joined = on_joined;
  o.cb.log = on_log;
  o.cb.userdata = l;
  return o;
}

/* Before any network runs, the nodes are the main thread's: Ana founds the
 * workspace, writes the note, and starts listening. */
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
  accord_node_doc_close(a->node, doc); /* before the node changes hands */
  doc = NULL;
  printf("ana: workspace \"Launch team\", note written\n");

  o.workspace = w->ws;
  o.listen = "127.0.0.1:0"; /* port 0: an ephemeral port */
  TRY(accord_net_start(a->node, &o, &a->net));
  /* From here until accord_net_stop, Ana's node is her network thread's. */
  printf("ana: listening on 127.0.0.1 (ephemeral port)\n");
done:
  if (rc)
    fprintf(stderr, "embed_thread: ana: %s failed: %s (%s)\n", failed,
            accord_strerror(rc), a->node ? accord_node_errmsg(a->node) : "");
  accord_txn_abort(txn);
  accord_node_doc_close(a->node, doc);
  return rc;
}

static int run(world *w) {
  int rc = 0;
  const char *failed = "";
  accord_invite *inv = NULL;
  accord_join_info join;
  accord_net_opts o = net_opts(&w->ben);

  TRY(ana_start(w));
  fflush(stdout);
  /* Ana's node belongs to her network thread now: the invite is made
   * there. make_invite fires exactly once since the call returned 0. */
  TRY(accord_net_call(w->ana.net, make_invite, w));
  pthread_mutex_lock(&w->lock);
  while (!w->token && !w->rc) pthread_cond_wait(&w->cond, &w->lock);
  rc = w->rc;
  pthread_mutex_unlock(&w->lock);
  if (rc) goto done; /* reported by make_invite */

  /* Ben's side: all he has is the token. His node is the main thread's
   * until accord_net_join hands it to his network thread. */
  TRY(accord_node_open(w->ben.dir, NULL, &w->ben.node));
  TRY(accord_invite_parse(w->token, &inv));
  printf("ben: invite parsed (%zu peer address)\n", inv->naddrs);
  fflush(stdout);
  if (inv->naddrs < 1) {
    rc = ACCORD_EINVAL;
    failed = "reading the invite's address";
    goto done;
  }
  join.workspace = inv->ws;
  join.key = inv->key;
  join.secret = inv->secret;
  join.address = inv->addrs[0];
  TRY(accord_net_join(w->ben.node, &o, &join, "ben", "marketing",
                      &w->ben.net));
  accord_invite_free(inv); /* copied by accord_net_join; wipes the key */
  inv = NULL;

  TRY(wait_for(w, &w->joined, "join"));
  TRY(wait_for(w, &w->ben_saw, "note at ben's"));
  printf("main: asks ben's network thread to commit the reply\n");
  fflush(stdout);
  TRY(accord_net_call(w->ben.net, write_reply, w));
  TRY(wait_for(w, &w->ana_saw, "reply at ana's"));
done:
  if (rc && *failed)
    fprintf(stderr, "embed_thread: %s failed: %s\n", failed,
            accord_strerror(rc));
  accord_invite_free(inv);
  return rc;
}

static int by_name(const void *a, const void *b) {
  return strcmp(((const accord_member *)a)->name,
                ((const accord_member *)b)->name);
}

/* After accord_net_stop the node is the main thread's again. */
static int print_members(world *w) {
  accord_member *m = NULL;
  size_t n = 0;
  int rc = accord_member_list(w->ana.node, w->ws, &m, &n);
  if (rc) {
    fprintf(stderr, "embed_thread: accord_member_list: %s\n",
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
  snprintf(l->dir, sizeof l->dir, "%s/accord-embed-thread-XXXXXX",
           tmp && *tmp ? tmp : "/tmp");
  if (mkdtemp(l->dir)) return 0;
  perror("embed_thread: mkdtemp");
  l->dir[0] = '\0';
  return -1;
}

int main(void) {
  static world w; /* zeroed */
  int rc = 1;

  w.ana.name = "ana";
  w.ben.name = "ben";
  w.ana.w = w.ben.w = &w;
  pthread_mutex_init(&w.lock, NULL);
  pthread_cond_init(&w.cond, NULL);
  if (make_dir(&w.ana) == 0 && make_dir(&w.ben) == 0) rc = run(&w);
  /* Waits for each network thread to end (no callback fires after this
   * returns); NULL is a no-op. Pending accord_net_call functions fire
   * during the stop. */
  accord_net_stop(w.ben.net);
  accord_net_stop(w.ana.net);
  if (rc == 0) {
    printf("networks stopped\n");
    rc = print_members(&w);
  }
  accord_node_close(w.ana.node);
  accord_node_close(w.ben.node);
  accord_free(w.token);
  pthread_cond_destroy(&w.cond);
  pthread_mutex_destroy(&w.lock);
  if (w.ana.dir[0]) nftw(w.ana.dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
  if (w.ben.dir[0]) nftw(w.ben.dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
  return rc == 0 ? 0 : 1;
}
