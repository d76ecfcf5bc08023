/*
 * net.c — the public accord_net (accord.h, "Networking"): its loop (the
 * embedder's or a thread of ours), the call queue, the listener, the
 * addresses we dial with their reconnection backoff, the connections
 * (peers), the timers (store polling, anti-entropy, session deadlines) and
 * the small cache of documents the network keeps open. The sync protocol
 * itself is session.c's.
 *
 * Workspaces: the net serves net->ws[0..nws) (all of the node's, or one).
 * The listener holds every key (the handshake says which one a peer used);
 * each dial uses one workspace's key, so an address is dialled once per
 * workspace, and each peer belongs to one workspace. A net serving all of
 * the node's workspaces takes in those created or joined (by any process)
 * since it started: the poll timer lists them when the store moved, and a
 * new one gets its key in the listener, a dial for every address added
 * with accord_net_add_peer, its remembered peers and beacons. ws[] is a
 * fixed array, so netws pointers stay valid as it grows.
 *
 * Invariants: every peer is in net->peers from its creation (dial, or an
 * accepted connection's open) until its conn's on_close, which frees it;
 * a dial's p is its current peer or NULL, and its timer runs only while p
 * is NULL. The net is freed once stopping, all its uv handles are closed
 * (handles == 0) and no peer is left.
 *
 * Where addresses come from: accord_net_add_peer (the command line, an
 * invite; dialled for every workspace), the store's peers table at start
 * (each remembered member's latest address, for its workspace) and LAN
 * beacons (beacon.h: a member heard is recorded and dialled). A proven
 * member is recorded in the peers table (node_peers.h): at on_open with
 * the address we dialled, or, when it dialled us, with the port its HELLO
 * announces (session.c); node_peer_synced after its first complete
 * session. A dial that knows whom it reaches (pk) does not connect while
 * that member is already connected for its workspace (two nodes that
 * found each other both dial: the loser of the duplicate rule then waits
 * instead of reconnecting and being dropped every backoff).
 *
 * Workload: a handful of connections; the poll timer and the prepare
 * handle read one counter (no I/O) per loop iteration.
 */
/* libuv's headers need POSIX types */
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accord.h"
#include "crypto.h"
#include "doc.h"
#include "mem.h"
#include "members.h"
#include "net.h"
#include "node.h"
#include "node_peers.h"
#include "oplog_bg.h"

#define AE_DEFAULT_MS 5000
#define RECONNECT_MIN_MS 250
#define RECONNECT_MAX_MS 30000
#define POLL_DEFAULT_MS 100

/* ---- small helpers ------------------------------------------------------- */

void net_log(accord_net *net, const char *fmt, ...) {
  if (!net->cb.log) return;
  char line[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  net->cb.log(net->cb.userdata, line);
}

static void conn_log(void *ud, const char *line) {
  accord_net *net = ud;
  if (net->cb.log) net->cb.log(net->cb.userdata, line);
}

uint64_t net_now_ms(void) { return uv_hrtime() / 1000000u; }

int64_t net_wall_ms(void) { return doc_now_ms(); }

uint64_t net_random(accord_net *net) {
  uint64_t x = net->rng; /* xorshift64*: jitter and peer choice only */
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  net->rng = x;
  return x * 0x2545F4914F6CDD1DULL;
}

/* "1.2.3.4:5" or "[::1]:5" into ss. 0 or EINVAL. */
static int parse_addr(const char *s, struct sockaddr_storage *ss) {
  if (!s) return ACCORD_EINVAL;
  char host[64];
  const char *colon;
  memset(ss, 0, sizeof *ss);
  if (s[0] == '[') {
    const char *end = strchr(s, ']');
    if (!end || end[1] != ':' || (size_t)(end - s - 1) >= sizeof host)
      return ACCORD_EINVAL;
    memcpy(host, s + 1, (size_t)(end - s - 1));
    host[end - s - 1] = 0;
    colon = end + 1;
  } else {
    colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof host) return ACCORD_EINVAL;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
  }
  char *e;
  long port = strtol(colon + 1, &e, 10);
  if (colon[1] == 0 || *e || port < 0 || port > 65535) return ACCORD_EINVAL;
  if (s[0] == '[') {
    if (uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)ss))
      return ACCORD_EINVAL;
  } else if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss)) {
    return ACCORD_EINVAL;
  }
  return 0;
}

static int same_addr(const struct sockaddr_storage *a,
                     const struct sockaddr_storage *b) {
  if (a->ss_family != b->ss_family) return 0;
  if (a->ss_family == AF_INET6)
    return !memcmp(a, b, sizeof(struct sockaddr_in6));
  const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
  return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
}

/* ---- the document cache -------------------------------------------------- */

int net_doc(accord_net *net, const uint8_t *ws, const uint8_t *id,
            accord_doc **out) {
  ndcache *lru = &net->cache[0];
  for (int i = 0; i < NET_DOC_CACHE; i++) {
    ndcache *c = &net->cache[i];
    if (c->doc && !memcmp(c->id, id, ACCORD_DOC_ID_BYTES) &&
        !memcmp(c->ws, ws, ACCORD_WS_ID_BYTES)) {
      /* take in what other processes (the CLI) stored since: a cached
       * document would otherwise send only what this process saw */
      ndoc *nd = node_entry(net->node, c->doc);
      int rc = nd ? node_refresh(net->node, nd) : 0;
      if (rc) return rc;
      c->used = ++net->tick;
      *out = c->doc;
      return 0;
    }
    if (!c->doc || (lru->doc && c->used < lru->used)) lru = c;
  }
  accord_doc *d;
  int rc = accord_node_doc_open(net->node, ws, id, &d);
  if (rc) return rc;
  if (lru->doc) accord_node_doc_close(net->node, lru->doc);
  memcpy(lru->ws, ws, ACCORD_WS_ID_BYTES);
  memcpy(lru->id, id, ACCORD_DOC_ID_BYTES);
  lru->doc = d;
  lru->used = ++net->tick;
  *out = d;
  return 0;
}

static void cache_close(accord_net *net) {
  for (int i = 0; i < NET_DOC_CACHE; i++)
    if (net->cache[i].doc) {
      accord_node_doc_close(net->node, net->cache[i].doc);
      net->cache[i].doc = NULL;
    }
}

/* ---- peers --------------------------------------------------------------- */

static void maybe_free(accord_net *net);
static void dial_schedule(dial *d);

static peer *peer_new(accord_net *net) {
  peer *p = mem_calloc(1, sizeof *p);
  if (!p) return NULL;
  p->magic = PEER_MAGIC;
  p->net = net;
  p->next = net->peers;
  net->peers = p;
  net->npeers++;
  snprintf(p->name, sizeof p->name, "?");
  return p;
}

static void peer_unlink(peer *p) {
  accord_net *net = p->net;
  for (peer **pp = &net->peers; *pp; pp = &(*pp)->next)
    if (*pp == p) {
      *pp = p->next;
      break;
    }
  net->npeers--;
}

void net_announce(peer *p) {
  accord_net *net = p->net;
  if (p->announced) return;
  p->announced = 1;
  if (net->cb.peer && !net->stopping)
    net->cb.peer(net->cb.userdata, p->pk, p->name, 1);
}

/* A conn's userdata is its peer, or, for an accepted connection before
 * its handshake ended, the net (told apart by the first field). */
static int is_net(void *ud) { return ud && *(uint32_t *)ud == NET_MAGIC; }

static void on_open(conn *c, void *ud) {
  peer *p = ud;
  if (is_net(ud)) { /* accepted: the peer starts now */
    accord_net *net = ud;
    p = net->stopping || net->npeers >= NET_PEERS_MAX ? NULL : peer_new(net);
    conn_set_userdata(c, p);
    if (!p) {
      if (!net->stopping)
        net_log(net, "accord net: %s: refused: %u connections already",
                conn_peer_name(c), (unsigned)NET_PEERS_MAX);
      conn_close(c);
      return;
    }
    p->c = c;
    size_t wi = conn_ws_index(c);
    p->w = &net->ws[wi < net->nws ? wi : 0];
  }
  accord_net *net = p->net;
  p->open = 1;
  p->stranger = conn_is_stranger(c);
  p->opened_ms = net_now_ms();
  memcpy(p->pk, conn_peer_key(c), 32);
  snprintf(p->name, sizeof p->name, "%s", conn_peer_name(c));
  if (p->d) p->d->backoff = net->o.reconnect_min_ms;
  /* Two nodes that dial each other end with two connections; both keep
   * the one whose initiator has the smaller key and close the other, so
   * pushes do not travel twice. A dial whose connection lost this way
   * retries only at the backoff cap (the peer may go away later). */
  for (peer *q = net->peers; q; q = q->next) {
    if (q == p || !q->open || q->closing || q->w != p->w ||
        memcmp(q->pk, p->pk, 32))
      continue;
    const uint8_t *ip = p->d ? net->node->pk : p->pk;
    const uint8_t *iq = q->d ? net->node->pk : q->pk;
    peer *drop = memcmp(ip, iq, 32) < 0 ? q : p;
    if (ip == iq) drop = p; /* both ours or both theirs: keep the older */
    if (drop->d) drop->d->backoff = net->o.reconnect_max_ms;
    if (drop == p) {
      session_fail(p, "duplicate connection to this peer");
      return;
    }
    session_fail(q, "duplicate connection to this peer");
  }
  if (!p->stranger) net_announce(p); /* a stranger, once it joined */
  if (p->d && !p->stranger && !net->joining) {
    memcpy(p->d->pk, p->pk, 32);
    p->d->has_pk = 1;
    net_peer_seen(net, p->w, p->pk, p->d->text);
  }
  session_open(p);
}

static void on_message(conn *c, const uint8_t *msg, size_t len, void *ud) {
  peer *p = ud;
  if (!p || p->closing || p->net->stopping) return;
  p->net->stat_msgs_in++;
  session_message(p, msg, len);
}

static void on_drain(conn *c, void *ud) {
  peer *p = ud;
  if (p && !p->closing && !p->net->stopping) session_pump(p);
}

static void on_close(conn *c, int reason, const char *detail, void *ud) {
  peer *p = ud;
  if (!p || is_net(ud)) return; /* accepted, never opened */
  accord_net *net = p->net;
  if (p->open && p->announced && net->cb.peer && !net->stopping)
    net->cb.peer(net->cb.userdata, p->pk, p->name, 0);
  dial *d = p->d;
  if (net->joining && d && d == net->join_dial) {
    d->p = NULL;
    p->d = NULL;
    net_join_done(net, p->open ? ACCORD_EINVITE : ACCORD_ENET);
    d = NULL; /* removed */
  }
  if (d) {
    d->p = NULL;
    if (!d->removed && !net->stopping) dial_schedule(d);
  }
  peer_unlink(p);
  session_free(p);
  mem_free(p);
  maybe_free(net);
}

static const conn_callbacks conn_cbs = {on_open, on_message, on_drain,
                                        on_close};

/* ---- dialling ------------------------------------------------------------ */

static void dial_now(uv_timer_t *t) {
  dial *d = t->data;
  accord_net *net = d->net;
  if (d->p || d->removed || net->stopping) return;
  if (d->has_pk) /* that member is connected already: try again later */
    for (peer *q = net->peers; q; q = q->next)
      if (q->open && !q->closing && q->w == d->w && !memcmp(q->pk, d->pk, 32)) {
        dial_schedule(d);
        return;
      }
  peer *p = peer_new(net);
  if (!p) {
    dial_schedule(d);
    return;
  }
  p->d = d;
  p->w = d->w;
  d->p = p;
  snprintf(p->name, sizeof p->name, "%s", d->text);
  char err[160] = "";
  conn *c;
  int rc = conn_connect(net->loop, (const struct sockaddr *)&d->addr,
                        &d->w->copts, &conn_cbs, p, &c, err, sizeof err);
  if (rc) {
    net_log(net, "accord net: %s: connect: %s", d->text, err);
    d->p = NULL;
    peer_unlink(p);
    mem_free(p);
    dial_schedule(d);
    return;
  }
  p->c = c;
}

/* Next attempt after backoff with jitter (0.5x .. 1.5x), then doubles. */
static void dial_schedule(dial *d) {
  accord_net *net = d->net;
  uint64_t b = d->backoff;
  uint64_t wait = b / 2 + net_random(net) % (b + 1);
  d->backoff = (uint32_t)(b * 2 > net->o.reconnect_max_ms
                              ? net->o.reconnect_max_ms
                              : b * 2);
  uv_timer_start(&d->timer, dial_now, wait, 0);
}

static void dial_closed(uv_handle_t *h) {
  dial *d = h->data;
  accord_net *net = d->net;
  net->handles--;
  mem_free(d);
  maybe_free(net);
}

static void dial_free(dial *d) {
  uv_timer_stop(&d->timer);
  if (!uv_is_closing((uv_handle_t *)&d->timer))
    uv_close((uv_handle_t *)&d->timer, dial_closed);
}

/* Dials ss for workspace w (pk: the member expected there, or NULL). */
static int add_dial_pk(accord_net *net, netws *w,
                       const struct sockaddr_storage *ss, const char *text,
                       const uint8_t *pk) {
  for (dial *d = net->dials; d; d = d->next)
    if (!d->removed && d->w == w && same_addr(&d->addr, ss)) return 0;
  dial *d = mem_calloc(1, sizeof *d);
  if (!d) return ACCORD_ENOMEM;
  if (pk) {
    memcpy(d->pk, pk, 32);
    d->has_pk = 1;
  }
  d->net = net;
  d->w = w;
  d->addr = *ss;
  snprintf(d->text, sizeof d->text, "%s", text);
  d->backoff = net->o.reconnect_min_ms;
  uv_timer_init(net->loop, &d->timer);
  d->timer.data = d;
  net->handles++;
  d->next = net->dials;
  net->dials = d;
  uv_timer_start(&d->timer, dial_now, 0, 0);
  return 0;
}

static int add_dial(accord_net *net, netws *w,
                    const struct sockaddr_storage *ss, const char *text) {
  return add_dial_pk(net, w, ss, text, NULL);
}

/* ---- the peers table and LAN discovery ----------------------------------- */

void net_peer_seen(accord_net *net, netws *w, const uint8_t *pk,
                   const char *addr) {
  int rc = node_peer_seen(net->node, w->id, pk, addr, net_wall_ms());
  if (rc)
    net_log(net, "accord net: %s: recording the peer: %s", addr ? addr : "?",
            accord_strerror(rc));
}

void net_peer_synced(peer *p) {
  accord_net *net = p->net;
  int rc = node_peer_synced(net->node, p->w->id, p->pk, net_wall_ms(), NULL,
                            0);
  if (rc)
    net_log(net, "accord net: %s: recording the sync: %s", p->name,
            accord_strerror(rc));
}

static int ws_member(netws *w, const uint8_t *pk);

/* Dials the latest address of every member of w the peers table knows
 * (a peer removed from the workspace since is not dialled: the handshake
 * would refuse it anyway). Older addresses stay in the table for a later
 * version to try; one dial per member keeps a node with many remembered
 * peers from opening many doomed connections at start. */
static void dial_known(accord_net *net, netws *w) {
  node_peer *l = NULL;
  size_t n = 0;
  if (net->o.no_remembered_peers) return;
  int rc = node_peer_list(net->node, w->id, &l, &n);
  if (rc) {
    net_log(net, "accord net: reading the peers table: %s",
            accord_strerror(rc));
    return;
  }
  for (size_t i = 0; i < n; i++) {
    struct sockaddr_storage ss;
    if (!l[i].naddrs || parse_addr(l[i].addr[0], &ss) ||
        !ws_member(w, l[i].pk))
      continue;
    rc = add_dial_pk(net, w, &ss, l[i].addr[0], l[i].pk);
    if (rc)
      net_log(net, "accord net: %s: cannot add peer: %s", l[i].addr[0],
              accord_strerror(rc));
  }
  node_peer_list_free(l, n);
}

/* A member's beacon: remember it and dial it (unless connected: the dial
 * then only waits, see dial_now). */
static void on_found(void *ud, const uint8_t *wsid, const uint8_t *pk,
                     const struct sockaddr *addr, const char *addr_text) {
  accord_net *net = ud;
  if (net->stopping) return;
  for (size_t i = 0; i < net->nws; i++) {
    netws *w = &net->ws[i];
    if (memcmp(w->id, wsid, ACCORD_WS_ID_BYTES)) continue;
    /* a beacon is sealed with the workspace key, which a removed member
     * still holds: the table is for members only */
    if (!ws_member(w, pk)) return;
    net_peer_seen(net, w, pk, addr_text);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    memcpy(&ss, addr,
           addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                       : sizeof(struct sockaddr_in));
    int rc = add_dial_pk(net, w, &ss, addr_text, pk);
    if (rc)
      net_log(net, "accord net: %s: cannot add peer: %s", addr_text,
              accord_strerror(rc));
    return;
  }
}

static struct {
  char group[32];
  uint16_t port;
  uint32_t interval_ms;
} beacon_conf;

void net_debug_beacon_config(const char *group, uint16_t port,
                             uint32_t interval_ms) {
  snprintf(beacon_conf.group, sizeof beacon_conf.group, "%s",
           group ? group : "");
  beacon_conf.port = port;
  beacon_conf.interval_ms = interval_ms;
}

beacon *net_debug_beacon(accord_net *net) { return net->beacon; }

/* Starts LAN discovery for every workspace served, if on and listening.
 * A failure (no multicast here) is logged: the net runs without. */
static void discovery_start(accord_net *net) {
  if (net->o.no_discovery || !net->port || net->beacon || net->stopping)
    return;
  beacon_ws ws[NET_WS_MAX];
  for (size_t i = 0; i < net->nws; i++) {
    ws[i].id = net->ws[i].id;
    ws[i].key = net->ws[i].key;
  }
  beacon_options bo;
  memset(&bo, 0, sizeof bo);
  bo.pk = net->node->pk;
  bo.listen_port = (uint16_t)net->port;
  bo.ws = ws;
  bo.nws = net->nws;
  bo.interval_ms = beacon_conf.interval_ms;
  bo.group = beacon_conf.group[0] ? beacon_conf.group : NULL;
  bo.port = beacon_conf.port;
  /* beacons go out (and so announce the address) on the interface we
   * listen on; any address: the system's choice */
  bo.interface = net->listen_host[0] ? net->listen_host : NULL;
  bo.on_found = on_found;
  bo.ud = net;
  bo.log = conn_log;
  bo.log_ud = net;
  char err[160] = "";
  if (beacon_start(net->loop, &bo, &net->beacon, err, sizeof err)) {
    net->beacon = NULL;
    net_log(net, "accord net: LAN discovery off: %s", err);
  }
}

/* An address is dialled once for each workspace we serve: a member of
 * several may hold any of them (all_ws: also for those served later). */
static int add_peer_here(accord_net *net, const struct sockaddr_storage *ss,
                         const char *text) {
  int rc = 0;
  for (size_t i = 0; i < net->nws && !rc; i++)
    rc = add_dial(net, &net->ws[i], ss, text);
  for (dial *d = net->dials; d && !rc; d = d->next)
    if (!d->removed && same_addr(&d->addr, ss)) d->all_ws = 1;
  return rc;
}

static int remove_peer_here(accord_net *net,
                            const struct sockaddr_storage *ss) {
  int found = 0;
  for (dial **dd = &net->dials; *dd;) {
    dial *d = *dd;
    if (d->removed || !same_addr(&d->addr, ss)) {
      dd = &d->next;
      continue;
    }
    d->removed = 1;
    *dd = d->next;
    if (d->p) {
      d->p->d = NULL;
      if (d->p->c) conn_close(d->p->c);
      d->p = NULL;
    }
    dial_free(d);
    found = 1;
  }
  return found ? 0 : ACCORD_ENOTFOUND;
}

/* ---- the call queue ------------------------------------------------------ */

static int on_net_thread(const accord_net *net) {
  uv_thread_t self = uv_thread_self();
  return uv_thread_equal(&self, &net->thread);
}

static void stop_here(accord_net *net);

static void run_calls(accord_net *net) {
  for (;;) {
    uv_mutex_lock(&net->mu);
    callq *q = net->calls;
    if (q) {
      net->calls = q->next;
      if (!net->calls) net->calls_tail = NULL;
    }
    uv_mutex_unlock(&net->mu);
    if (!q) break;
    q->fn(net, q->ud);
    mem_free(q);
  }
}

static void on_async(uv_async_t *a) {
  accord_net *net = a->data;
  run_calls(net);
  uv_mutex_lock(&net->mu);
  int stop = net->stop_req;
  uv_mutex_unlock(&net->mu);
  if (stop && !net->stopping) stop_here(net);
}

int accord_net_call(accord_net *net, void (*fn)(accord_net *, void *),
                    void *ud) {
  if (!net || !fn) return ACCORD_EINVAL;
  callq *q = mem_calloc(1, sizeof *q);
  if (!q) return ACCORD_ENOMEM;
  q->fn = fn;
  q->ud = ud;
  uv_mutex_lock(&net->mu);
  if (net->calls_tail) net->calls_tail->next = q;
  else net->calls = q;
  net->calls_tail = q;
  uv_mutex_unlock(&net->mu);
  uv_async_send(&net->async);
  return 0;
}

typedef struct peer_op {
  struct sockaddr_storage ss;
  char text[80];
  int add;
} peer_op;

static void peer_op_run(accord_net *net, void *ud) {
  peer_op *op = ud;
  if (!net->stopping) {
    int rc = op->add ? add_peer_here(net, &op->ss, op->text)
                     : remove_peer_here(net, &op->ss);
    if (rc && op->add)
      net_log(net, "accord net: %s: cannot add peer: %s", op->text,
              accord_strerror(rc));
  }
  mem_free(op);
}

static int peer_op_post(accord_net *net, const char *address, int add) {
  struct sockaddr_storage ss;
  if (!net || parse_addr(address, &ss)) return ACCORD_EINVAL;
  if (on_net_thread(net) && !net->stopping)
    return add ? add_peer_here(net, &ss, address)
               : remove_peer_here(net, &ss);
  peer_op *op = mem_calloc(1, sizeof *op);
  if (!op) return ACCORD_ENOMEM;
  op->ss = ss;
  op->add = add;
  snprintf(op->text, sizeof op->text, "%s", address);
  int rc = accord_net_call(net, peer_op_run, op);
  if (rc) mem_free(op);
  return rc;
}

int accord_net_add_peer(accord_net *net, const char *address) {
  return peer_op_post(net, address, 1);
}

int accord_net_remove_peer(accord_net *net, const char *address) {
  return peer_op_post(net, address, 0);
}

int accord_net_port(const accord_net *net) { return net ? net->port : 0; }

/* ---- timers -------------------------------------------------------------- */

static void check_store(accord_net *net) {
  uint64_t c;
  if (net->stopping || net->joining || net->join_failed || accord_node_changed(net->node, &c) || c == net->counter)
    return;
  net->counter = c;
  session_scan(net);
}

static void on_prepare(uv_prepare_t *h) { check_store(h->data); }

static void ws_copts(accord_net *net, netws *w);
static void dial_known(accord_net *net, netws *w);
static void discovery_start(accord_net *net);

/* Workspaces the node has that the net does not serve yet (see the file
 * comment). Workspaces are never deleted, so an unchanged count means
 * nothing new. */
static void add_new_ws(accord_net *net) {
  uint64_t c;
  if (net->fixed_ws || net->stopping || net->nws >= NET_WS_MAX ||
      accord_node_changed(net->node, &c) || c == net->ws_counter)
    return;
  net->ws_counter = c;
  accord_ws_info *l = NULL;
  size_t n = 0;
  int added = 0;
  if (accord_node_ws_list(net->node, &l, &n) || n == net->nws) {
    accord_free(l);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    size_t k = 0;
    while (k < net->nws && memcmp(net->ws[k].id, l[i].id, ACCORD_WS_ID_BYTES))
      k++;
    if (k < net->nws) continue;
    if (net->nws >= NET_WS_MAX) {
      net_log(net, "accord net: more than %u workspaces: the others are "
              "not served", (unsigned)NET_WS_MAX);
      break;
    }
    netws *w = &net->ws[net->nws];
    memset(w, 0, sizeof *w);
    memcpy(w->id, l[i].id, ACCORD_WS_ID_BYTES);
    if (node_ws_key(net->node, w->id, w->key) ||
        (net->listener && conn_listener_add_key(net->listener, w->key))) {
      crypto_wipe(w->key, sizeof w->key);
      continue;
    }
    memcpy(net->more_keys[net->nws - 1], w->key, 32);
    ws_copts(net, w);
    net->nws++;
    dial *first = net->dials; /* new dials go in front of it */
    for (dial *d = first; d; d = d->next)
      if (d->all_ws && !d->removed) add_dial(net, w, &d->addr, d->text);
    dial_known(net, w);
    added = 1;
  }
  accord_free(l);
  if (added && net->beacon) { /* announce and recognise it too */
    beacon_stop(net->beacon);
    net->beacon = NULL;
    discovery_start(net);
  }
}

static void on_poll(uv_timer_t *t) {
  accord_net *net = t->data;
  add_new_ws(net);
  check_store(net);
  /* cached documents pack their cold history into frames while the node
   * is idle too (commits and imports do it otherwise: after a large sync
   * and nothing since, a document would keep its whole unpacked tail) */
  for (int i = 0; i < NET_DOC_CACHE; i++) {
    accord_doc *d = net->cache[i].doc;
    if (d && !d->txn_open && !d->poisoned) oplog_bg_tick(d);
  }
  /* a peer that opened but never sent its summary is dropped, and so is a
   * member removed while connected (membership is a store read: cheap) */
  uint64_t now = net_now_ms();
  for (peer *p = net->peers; p; p = p->next) {
    if (!p->open || p->closing) continue;
    if (!p->synced && now - p->opened_ms > net->o.handshake_ms)
      session_fail(p, "no summary within %u ms", net->o.handshake_ms);
    else if (!p->stranger && !net->joining && !net->join_failed &&
             !ws_member(p->w, p->pk))
      session_fail(p, "no longer a member of the workspace");
  }
}

static void on_ae(uv_timer_t *t) {
  accord_net *net = t->data;
  size_t n = 0;
  for (peer *p = net->peers; p; p = p->next)
    if (p->synced && !p->closing) n++;
  if (!n) return;
  size_t k = (size_t)(net_random(net) % n);
  for (peer *p = net->peers; p; p = p->next)
    if (p->synced && !p->closing && k-- == 0) {
      session_send_summary(p, 1);
      break;
    }
}

/* ---- starting and stopping ----------------------------------------------- */

/* Whether pk is a member of workspace w (a dial's check, and the poll's). */
static int ws_member(netws *w, const uint8_t *pk) {
  accord_net *net = w->net;
  /* joining: the member we dial is proven by the workspace key and its
   * signature; we have no member list yet to check it against */
  if (net->joining) return 1;
  if (net->debug_member) return net->debug_member(net->debug_member_ud, pk);
  return node_member_check(net->node, w->id, pk) == 1;
}

static int is_member(void *ud, const uint8_t *pk) { return ws_member(ud, pk); }

/* The listener's check: index says which workspace key message 1 used. */
static int is_member_ws(void *ud, size_t index, const uint8_t *pk) {
  accord_net *net = ud;
  return index < net->nws && ws_member(&net->ws[index], pk);
}

static void handle_closed(uv_handle_t *h) {
  accord_net *net = h->data;
  net->handles--;
  maybe_free(net);
}

static void net_free(accord_net *net) {
  cache_close(net);
  for (size_t i = 0; i < net->nws; i++) {
    node_net_summary_free(net->ws[i].sum, net->ws[i].nsum);
    crypto_wipe(net->ws[i].key, sizeof net->ws[i].key);
  }
  crypto_wipe(net->more_keys, sizeof net->more_keys);
  uv_mutex_destroy(&net->mu);
  mem_free(net);
}

/* Loop mode frees the net once everything closed; thread mode lets the
 * loop end and accord_net_stop frees it after the join. */
static void maybe_free(accord_net *net) {
  if (!net->stopping || net->handles > 0 || net->npeers > 0) return;
  if (!net->own) net_free(net);
}

static void stop_here(accord_net *net) {
  net->stopping = 1;
  run_calls(net);
  beacon_stop(net->beacon);
  net->beacon = NULL;
  if (net->listener) conn_listener_close(net->listener);
  net->listener = NULL;
  while (net->dials) {
    dial *d = net->dials;
    net->dials = d->next;
    d->removed = 1;
    if (d->p) {
      d->p->d = NULL;
      d->p = NULL;
    }
    dial_free(d);
  }
  for (peer *p = net->peers; p; p = p->next)
    if (p->c) conn_close(p->c);
  cache_close(net);
  uv_close((uv_handle_t *)&net->poll, handle_closed);
  uv_close((uv_handle_t *)&net->ae, handle_closed);
  uv_close((uv_handle_t *)&net->prepare, handle_closed);
  uv_close((uv_handle_t *)&net->async, handle_closed);
}

static void thread_main(void *arg) {
  accord_net *net = arg;
  uv_run(net->loop, UV_RUN_DEFAULT);
}

/* The options that dial for w: the listener's, with w's key alone. */
static void ws_copts(accord_net *net, netws *w) {
  w->net = net;
  w->copts = net->copts;
  memset(&w->copts.hs, 0, sizeof w->copts.hs);
  w->copts.hs.ws_key = w->key;
  w->copts.hs.pk = net->node->pk;
  w->copts.hs.sk = net->node->sk;
  w->copts.hs.is_member = is_member;
  w->copts.hs.userdata = w;
}

/* Every workspace of the node (up to NET_WS_MAX) into net->ws. */
static int all_ws(accord_net *net) {
  accord_ws_info *l = NULL;
  size_t n = 0;
  int rc = accord_node_ws_list(net->node, &l, &n);
  if (!rc && n == 0) rc = ACCORD_ENOTFOUND;
  if (!rc && n > NET_WS_MAX) rc = ACCORD_EINVAL;
  for (size_t i = 0; !rc && i < n; i++)
    memcpy(net->ws[i].id, l[i].id, ACCORD_WS_ID_BYTES);
  if (!rc) net->nws = n;
  accord_free(l);
  return rc;
}

/* Writing to a connection the peer has closed raises SIGPIPE, whose
 * default action ends the process; libuv leaves the choice to the program.
 * A library cannot let a peer's disconnect kill its host, so a SIGPIPE
 * still at its default is set to ignored (the write then fails with EPIPE,
 * which closes that connection). A handler the program installed is left
 * alone. */
static void sigpipe_ignore(void) {
  struct sigaction sa;
  if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPIPE, &sa, NULL);
  }
}

/* A join of a workspace the node has: reported on the network thread. */
static void joined_already(accord_net *net, void *ud) {
  if (net->cb.joined && !net->stopping) net->cb.joined(net->cb.userdata, 0);
}

/* accord_net_start, and accord_net_join when inv is set. */
static int net_start(accord_node *node, const accord_net_opts *opts,
                     const accord_join_info *inv, const char *name,
                     const char *role, accord_net **out) {
  if (!out) return ACCORD_EINVAL;
  *out = NULL;
  if (!node) return ACCORD_EINVAL;
  struct sockaddr_storage jss;
  if (inv) {
    size_t nl = name ? strlen(name) : 0, rl = role ? strlen(role) : 0;
    if (!inv->workspace || !inv->key || !inv->secret ||
        parse_addr(inv->address, &jss) || nl == 0 || nl > 256 ||
        rl > NET_ROLE_MAX)
      return ACCORD_EINVAL;
  }
  sigpipe_ignore();
  accord_net_opts o;
  if (opts) o = *opts;
  else memset(&o, 0, sizeof o);
  if (!o.anti_entropy_ms) o.anti_entropy_ms = AE_DEFAULT_MS;
  if (!o.reconnect_min_ms) o.reconnect_min_ms = RECONNECT_MIN_MS;
  if (!o.reconnect_max_ms) o.reconnect_max_ms = RECONNECT_MAX_MS;
  if (o.reconnect_max_ms < o.reconnect_min_ms)
    o.reconnect_max_ms = o.reconnect_min_ms;
  if (!o.poll_ms) o.poll_ms = POLL_DEFAULT_MS;
  if (!o.handshake_ms) o.handshake_ms = CONN_HANDSHAKE_MS;
  struct sockaddr_storage lss;
  if (o.listen && parse_addr(o.listen, &lss)) return ACCORD_EINVAL;
  accord_net *net = mem_calloc(1, sizeof *net);
  if (!net) return ACCORD_ENOMEM;
  net->magic = NET_MAGIC;
  net->node = node;
  net->cb = o.cb;
  int rc = 0;
  if (inv) {
    uint8_t have[32];
    net->nws = 1;
    net->fixed_ws = 1;
    memcpy(net->ws[0].id, inv->workspace, ACCORD_WS_ID_BYTES);
    memcpy(net->ws[0].key, inv->key, 32);
    memcpy(net->join_secret, inv->secret, 32);
    snprintf(net->join_name, sizeof net->join_name, "%s", name);
    snprintf(net->join_role, sizeof net->join_role, "%s", role ? role : "");
    net->join_has_role = role != NULL;
    /* a workspace we have already: nothing to join */
    net->joining = node_ws_key(node, net->ws[0].id, have) != 0;
    crypto_wipe(have, sizeof have);
  } else if (o.workspace) {
    net->fixed_ws = 1;
    net->nws = 1;
    memcpy(net->ws[0].id, o.workspace, ACCORD_WS_ID_BYTES);
  } else {
    rc = all_ws(net);
  }
  for (size_t i = 0; !rc && !inv && i < net->nws; i++)
    rc = node_ws_key(node, net->ws[i].id, net->ws[i].key);
  if (rc) {
    for (size_t i = 0; i < NET_WS_MAX; i++)
      crypto_wipe(net->ws[i].key, sizeof net->ws[i].key);
    mem_free(net);
    return rc;
  }
  o.workspace = NULL;
  o.listen = NULL;
  net->o = o;
  uint8_t seed[8];
  crypto_random(seed, sizeof seed);
  memcpy(&net->rng, seed, sizeof seed);
  net->rng |= 1;
  if (uv_mutex_init(&net->mu)) {
    mem_free(net);
    return ACCORD_ENOMEM;
  }
  if (o.uv_loop) {
    net->loop = o.uv_loop;
    net->thread = uv_thread_self();
  } else {
    net->own = 1;
    net->loop = &net->own_loop;
    if (uv_loop_init(net->loop)) {
      uv_mutex_destroy(&net->mu);
      mem_free(net);
      return ACCORD_ENET;
    }
  }
  /* the listener: every workspace key (message 1 says which), strangers
   * allowed (they may only JOIN, session.c) */
  net->copts.hs.ws_key = net->ws[0].key;
  for (size_t i = 1; i < net->nws; i++)
    memcpy(net->more_keys[i - 1], net->ws[i].key, 32);
  net->copts.hs.more_keys = net->more_keys[0];
  net->copts.hs.n_more = net->nws - 1;
  net->copts.hs.is_member_ws = is_member_ws;
  net->copts.hs.pk = node->pk;
  net->copts.hs.sk = node->sk;
  net->copts.hs.userdata = net;
  net->copts.hs.allow_strangers = 1;
  net->copts.handshake_ms = o.handshake_ms;
  net->copts.send_queue_max = NET_QUEUE_BYTES;
  net->copts.log = conn_log;
  net->copts.log_ud = net;
  /* dialling: one workspace key each */
  for (size_t i = 0; i < net->nws; i++) ws_copts(net, &net->ws[i]);
  uv_async_init(net->loop, &net->async, on_async);
  uv_timer_init(net->loop, &net->poll);
  uv_timer_init(net->loop, &net->ae);
  uv_prepare_init(net->loop, &net->prepare);
  net->async.data = net->poll.data = net->ae.data = net->prepare.data = net;
  net->handles = 4;
  if (accord_node_changed(node, &net->counter)) net->counter = 0;
  net->ws_counter = net->counter;
  for (size_t i = 0; !rc && !net->joining && i < net->nws; i++)
    rc = node_net_summary(node, net->ws[i].id, &net->ws[i].sum,
                          &net->ws[i].nsum);
  if (!rc && !net->joining) session_scan(net); /* sorts the summaries */
  if (!rc && inv) {
    rc = add_peer_here(net, &jss, inv->address);
    if (!rc && net->joining) net->join_dial = net->dials;
  }
  char err[160] = "";
  if (!rc && opts && opts->listen) {
    if (conn_listen(net->loop, (const struct sockaddr *)&lss, &net->copts,
                    &conn_cbs, net, &net->listener, err, sizeof err)) {
      net_log(net, "accord net: listen: %s", err);
      rc = ACCORD_ENET;
    } else {
      net->port = conn_listener_port(net->listener);
    }
  }
  if (!rc && opts && opts->listen && opts->listen[0] != '[') {
    const char *colon = strrchr(opts->listen, ':');
    size_t hl = (size_t)(colon - opts->listen);
    if (hl < sizeof net->listen_host &&
        strncmp(opts->listen, "0.0.0.0", hl) != 0) {
      memcpy(net->listen_host, opts->listen, hl);
      net->listen_host[hl] = 0;
    }
  }
  for (size_t i = 0; !rc && !net->joining && i < net->nws; i++)
    dial_known(net, &net->ws[i]);
  if (!rc && !net->joining) discovery_start(net);
  if (!rc) {
    uv_timer_start(&net->poll, on_poll, o.poll_ms, o.poll_ms);
    uv_timer_start(&net->ae, on_ae, o.anti_entropy_ms, o.anti_entropy_ms);
    uv_prepare_start(&net->prepare, on_prepare);
  }
  /* read before the thread starts: from then on net->joining is the
   * network thread's */
  int already = !rc && !net->joining && inv && net->cb.joined;
  if (!rc && net->own && uv_thread_create(&net->thread, thread_main, net))
    rc = ACCORD_ENET;
  else if (already)
    rc = accord_net_call(net, joined_already, NULL); /* on the net thread */
  if (rc) {
    stop_here(net);
    if (net->own) {
      uv_run(net->loop, UV_RUN_DEFAULT);
      uv_loop_close(net->loop);
      net_free(net);
    } else {
      /* loop mode: the handles close when the embedder runs its loop; the
       * net is freed then (maybe_free) */
    }
    return rc;
  }
  *out = net;
  return 0;
}

int accord_net_start(accord_node *node, const accord_net_opts *opts,
                     accord_net **out) {
  return net_start(node, opts, NULL, NULL, NULL, out);
}

int accord_net_join(accord_node *node, const accord_net_opts *opts,
                    const accord_join_info *invite, const char *name,
                    const char *role, accord_net **out) {
  if (!invite) {
    if (out) *out = NULL;
    return ACCORD_EINVAL;
  }
  return net_start(node, opts, invite, name, role, out);
}

void net_join_done(accord_net *net, int rc) {
  if (!net->joining) return;
  if (rc == 0) {
    net->joining = 0;
    if (net->join_dial && net->join_dial->p) {
      peer *p = net->join_dial->p;
      memcpy(net->join_dial->pk, p->pk, 32);
      net->join_dial->has_pk = 1;
      net_peer_seen(net, p->w, p->pk, net->join_dial->text);
    }
    net->join_dial = NULL;
    discovery_start(net);
  } else {
    /* one attempt: a refusal will not change by retrying */
    dial *d = net->join_dial;
    net->join_dial = NULL;
    net->joining = 0;
    net->join_failed = 1;
    if (d) remove_peer_here(net, &d->addr);
  }
  crypto_wipe(net->join_secret, sizeof net->join_secret);
  if (net->cb.joined && !net->stopping)
    net->cb.joined(net->cb.userdata, rc);
}

void accord_net_stop(accord_net *net) {
  if (!net) return;
  if (!net->own) {
    if (!net->stopping) stop_here(net);
    net->cb.peer = NULL;
    net->cb.progress = NULL;
    net->cb.doc_changed = NULL;
    net->cb.log = NULL;
    maybe_free(net);
    return;
  }
  uv_mutex_lock(&net->mu);
  net->stop_req = 1;
  uv_mutex_unlock(&net->mu);
  uv_async_send(&net->async);
  uv_thread_join(&net->thread);
  run_calls(net);
  uv_loop_close(net->loop);
  net_free(net);
}

/* ---- test hooks ---------------------------------------------------------- */

void net_debug_member_override(accord_net *net,
                               int (*fn)(void *, const uint8_t *), void *ud) {
  net->debug_member = fn;
  net->debug_member_ud = ud;
}

void net_debug_drop_pushes(accord_net *net, uint32_t n) {
  net->drop_pushes = n;
}

void net_debug_stats(const accord_net *net, uint64_t *out, uint64_t *in) {
  *out = net->stat_msgs_out;
  *in = net->stat_msgs_in;
}

conn *net_debug_conn(accord_net *net) {
  for (peer *p = net->peers; p; p = p->next)
    if (p->open && !p->closing) return p->c;
  return NULL;
}
