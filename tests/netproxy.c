/*
 * netproxy.c — the fault-injecting loopback proxy (netproxy.h has the
 * contract).
 *
 * A proxied connection is a pair: s[0] the accepted socket (the side that
 * connected to us), s[1] the socket to the target, and a timer for
 * delayed chunks. Direction d reads s[d] and writes s[1 - d]. Reading
 * starts once the target has accepted (the kernel buffers what the client
 * sends meanwhile).
 *
 * Invariants, per direction: the queue holds chunks in the order they
 * must go out, with non-decreasing due times (a delayed chunk holds back
 * the ones after it, so delay never reorders); `queued` is the bytes in
 * the queue and `inflight` the bytes handed to uv_write and not yet
 * completed; reading is stopped while queued + inflight > NP_HOLD_MAX.
 * A pair is freed from the close callback of the last of its three
 * handles, so write callbacks cancelled by the close still see it; the
 * proxy is freed once its listener and every pair are gone.
 *
 * Workload: tests; a few connections, megabytes at most. Plain malloc:
 * this is not library code, and ASan checks it for leaks like the rest.
 */
#define _POSIX_C_SOURCE 200809L

#include "netproxy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pair pair;

/* A chunk waiting in a direction's queue, then the write carrying it. */
typedef struct chunk {
  uv_write_t req;
  struct chunk *next;
  pair *pr;
  int dir;
  uint64_t due; /* uv_now() ms at which it may go */
  size_t n;
  uint8_t data[];
} chunk;

typedef struct dirstate {
  chunk *head, *tail;
  size_t queued, inflight;
  int reading, src_eof, shut, shut_done;
  uv_shutdown_t sreq;
  uint8_t rbuf[65536];
} dirstate;

struct pair {
  pair *next;
  netproxy *p;
  uv_tcp_t s[2];
  uv_connect_t creq;
  uv_timer_t timer;
  dirstate d[2];
  int handles, closing;
  unsigned id;
};

struct netproxy {
  uv_loop_t *loop;
  uv_tcp_t listener;
  struct sockaddr_storage target;
  int port, closing, listener_open;
  uint64_t rng;
  np_faults f[2];
  np_stats st[2];
  pair *pairs;
  int npairs;
  unsigned next_id;
  pair *latest;
  uint8_t cap[2][NP_CAPTURE];
  size_t caplen[2];
  void (*log)(void *, const char *);
  void *log_ud;
};

/* ---- helpers ------------------------------------------------------------- */

static void plog(netproxy *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void plog(netproxy *p, const char *fmt, ...) {
  if (!p->log) return;
  char line[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  p->log(p->log_ud, line);
}

/* xorshift64*: deterministic for a seed. */
static uint64_t rnd(netproxy *p) {
  uint64_t x = p->rng;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  p->rng = x;
  return x * 2685821657736338717ull;
}
static uint64_t below(netproxy *p, uint64_t n) { return rnd(p) % n; }
static int roll(netproxy *p, uint32_t per_mille) {
  return per_mille && below(p, 1000) < per_mille;
}

static void maybe_free_proxy(netproxy *p) {
  if (p->closing && !p->listener_open && p->npairs == 0) free(p);
}

/* ---- closing ------------------------------------------------------------- */

static void on_pair_handle_closed(uv_handle_t *h) {
  pair *pr = h->data;
  if (--pr->handles > 0) return;
  netproxy *p = pr->p;
  for (pair **pp = &p->pairs; *pp; pp = &(*pp)->next)
    if (*pp == pr) {
      *pp = pr->next;
      break;
    }
  if (p->latest == pr) p->latest = NULL;
  p->npairs--;
  free(pr);
  maybe_free_proxy(p);
}

static void pair_close(pair *pr, const char *why) {
  if (pr->closing) return;
  pr->closing = 1;
  pr->p->st[0].closed++;
  plog(pr->p, "netproxy: connection %u closed: %s", pr->id, why);
  for (int d = 0; d < 2; d++) {
    chunk *c = pr->d[d].head;
    while (c) {
      chunk *next = c->next;
      free(c);
      c = next;
    }
    pr->d[d].head = pr->d[d].tail = NULL;
    pr->d[d].queued = 0;
  }
  uv_close((uv_handle_t *)&pr->s[0], on_pair_handle_closed);
  uv_close((uv_handle_t *)&pr->s[1], on_pair_handle_closed);
  uv_close((uv_handle_t *)&pr->timer, on_pair_handle_closed);
}

/* ---- writing ------------------------------------------------------------- */

static void pump(pair *pr, int d);

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b);
static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b);

static void on_shutdown(uv_shutdown_t *req, int status) {
  pair *pr = req->data;
  if (pr->closing) return;
  for (int d = 0; d < 2; d++)
    if (req == &pr->d[d].sreq) pr->d[d].shut_done = 1;
  if (status < 0) {
    pair_close(pr, uv_strerror(status));
    return;
  }
  if (pr->d[0].shut_done && pr->d[1].shut_done)
    pair_close(pr, "both sides ended");
}

/* Passes the source's EOF on once everything before it is written. */
static void maybe_shutdown(pair *pr, int d) {
  dirstate *ds = &pr->d[d];
  if (pr->closing || !ds->src_eof || ds->head || ds->inflight || ds->shut)
    return;
  ds->shut = 1;
  ds->sreq.data = pr;
  int rc = uv_shutdown(&ds->sreq, (uv_stream_t *)&pr->s[1 - d], on_shutdown);
  if (rc < 0) pair_close(pr, uv_strerror(rc));
}

static void resume(pair *pr, int d) {
  dirstate *ds = &pr->d[d];
  if (pr->closing || ds->reading || ds->src_eof ||
      ds->queued + ds->inflight > NP_HOLD_MAX / 2)
    return;
  if (uv_read_start((uv_stream_t *)&pr->s[d], on_alloc, on_read) == 0)
    ds->reading = 1;
}

static void on_written(uv_write_t *req, int status) {
  chunk *c = (chunk *)req;
  pair *pr = c->pr;
  int d = c->dir;
  pr->d[d].inflight -= c->n;
  free(c);
  if (pr->closing) return;
  if (status < 0) {
    pair_close(pr, uv_strerror(status));
    return;
  }
  resume(pr, d);
  maybe_shutdown(pr, d);
}

static void capture(pair *pr, int d, const uint8_t *data, size_t n) {
  netproxy *p = pr->p;
  if (p->latest != pr) return;
  size_t k = NP_CAPTURE - p->caplen[d];
  if (k > n) k = n;
  memcpy(p->cap[d] + p->caplen[d], data, k);
  p->caplen[d] += k;
}

static void on_timer(uv_timer_t *t) {
  pair *pr = t->data;
  pump(pr, 0);
  pump(pr, 1);
}

static void schedule(pair *pr) {
  uint64_t now = uv_now(pr->p->loop), due = UINT64_MAX;
  for (int d = 0; d < 2; d++)
    if (pr->d[d].head && pr->d[d].head->due < due) due = pr->d[d].head->due;
  if (due == UINT64_MAX) return;
  uv_timer_start(&pr->timer, on_timer, due > now ? due - now : 0, 0);
}

/* Writes every chunk of direction d that is due. */
static void pump(pair *pr, int d) {
  if (pr->closing) return;
  dirstate *ds = &pr->d[d];
  uint64_t now = uv_now(pr->p->loop);
  while (ds->head && ds->head->due <= now) {
    chunk *c = ds->head;
    ds->head = c->next;
    if (!ds->head) ds->tail = NULL;
    ds->queued -= c->n;
    ds->inflight += c->n;
    capture(pr, d, c->data, c->n);
    pr->p->st[d].bytes_out += c->n;
    uv_buf_t b = uv_buf_init((char *)c->data, (unsigned)c->n);
    int rc = uv_write(&c->req, (uv_stream_t *)&pr->s[1 - d], &b, 1,
                      on_written);
    if (rc < 0) {
      ds->inflight -= c->n;
      free(c);
      pair_close(pr, uv_strerror(rc));
      return;
    }
  }
  schedule(pr);
  maybe_shutdown(pr, d);
}

static int enqueue(pair *pr, int d, const uint8_t *data, size_t n,
                   uint64_t due) {
  dirstate *ds = &pr->d[d];
  chunk *c = malloc(sizeof *c + n);
  if (!c) return -1;
  memset(c, 0, sizeof *c);
  c->pr = pr;
  c->dir = d;
  c->n = n;
  memcpy(c->data, data, n);
  if (ds->tail && ds->tail->due > due) due = ds->tail->due;
  c->due = due;
  if (ds->tail) ds->tail->next = c;
  else ds->head = c;
  ds->tail = c;
  ds->queued += n;
  return 0;
}

/* ---- reading: where the faults happen ------------------------------------ */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b) {
  pair *pr = h->data;
  int d = h == (uv_handle_t *)&pr->s[0] ? 0 : 1;
  *b = uv_buf_init((char *)pr->d[d].rbuf, sizeof pr->d[d].rbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b) {
  pair *pr = s->data;
  netproxy *p = pr->p;
  int d = s == (uv_stream_t *)&pr->s[0] ? 0 : 1;
  dirstate *ds = &pr->d[d];
  if (pr->closing || nread == 0) return;
  if (nread < 0) {
    if (nread != UV_EOF) {
      pair_close(pr, uv_strerror((int)nread));
      return;
    }
    uv_read_stop(s);
    ds->reading = 0;
    ds->src_eof = 1;
    maybe_shutdown(pr, d);
    return;
  }
  const np_faults *f = &p->f[d];
  np_stats *st = &p->st[d];
  uint8_t *data = (uint8_t *)b->base;
  size_t n = (size_t)nread;
  st->bytes_in += n;
  st->chunks++;
  if (roll(p, f->cut)) {
    st->cuts++;
    pair_close(pr, "cut by the proxy");
    return;
  }
  if (roll(p, f->drop)) {
    size_t len = 1 + (size_t)below(p, n), at = (size_t)below(p, n - len + 1);
    memmove(data + at, data + at + len, n - at - len);
    n -= len;
    st->dropped += len;
  }
  if (n > 1 && roll(p, f->truncate)) {
    n = 1 + (size_t)below(p, n - 1);
    st->truncated++;
  }
  if (n > 0 && roll(p, f->corrupt)) {
    int flips = 1 + (int)below(p, 3);
    for (int i = 0; i < flips; i++)
      data[below(p, n)] ^= (uint8_t)(1u << below(p, 8));
    st->corrupted++;
  }
  uint64_t due = uv_now(p->loop);
  if (roll(p, f->delay)) {
    due += 1 + below(p, f->delay_ms ? f->delay_ms : 20);
    st->delayed++;
  }
  int copies = 1;
  if (roll(p, f->dup)) {
    copies = 2;
    st->duplicated++;
  }
  for (int i = 0; i < copies && n > 0; i++)
    if (enqueue(pr, d, data, n, due)) {
      pair_close(pr, "out of memory");
      return;
    }
  if (ds->queued + ds->inflight > NP_HOLD_MAX) {
    uv_read_stop(s);
    ds->reading = 0;
  }
  pump(pr, d);
}

/* ---- accepting ----------------------------------------------------------- */

static void on_connected(uv_connect_t *req, int status) {
  pair *pr = req->data;
  if (pr->closing) return;
  if (status < 0) {
    pair_close(pr, uv_strerror(status));
    return;
  }
  pr->p->st[0].connected++;
  plog(pr->p, "netproxy: connection %u up", pr->id);
  for (int d = 0; d < 2; d++) resume(pr, d);
}

static void on_connection(uv_stream_t *server, int status) {
  netproxy *p = server->data;
  if (status < 0) return;
  pair *pr = calloc(1, sizeof *pr);
  if (!pr) return; /* the kernel keeps it in the backlog */
  pr->p = p;
  pr->id = ++p->next_id;
  uv_tcp_init(p->loop, &pr->s[0]);
  uv_tcp_init(p->loop, &pr->s[1]);
  uv_timer_init(p->loop, &pr->timer);
  pr->s[0].data = pr->s[1].data = pr->timer.data = pr->creq.data = pr;
  pr->handles = 3;
  pr->next = p->pairs;
  p->pairs = pr;
  p->npairs++;
  p->latest = pr;
  p->caplen[0] = p->caplen[1] = 0;
  p->st[0].accepted++;
  int rc = uv_accept(server, (uv_stream_t *)&pr->s[0]);
  if (rc == 0)
    rc = uv_tcp_connect(&pr->creq, &pr->s[1],
                        (const struct sockaddr *)&p->target, on_connected);
  if (rc < 0) pair_close(pr, uv_strerror(rc));
}

/* ---- the proxy ----------------------------------------------------------- */

int netproxy_start(uv_loop_t *loop, const struct sockaddr *target,
                   uint64_t seed, void (*log)(void *, const char *),
                   void *log_ud, netproxy **out) {
  *out = NULL;
  netproxy *p = calloc(1, sizeof *p);
  if (!p) return UV_ENOMEM;
  p->loop = loop;
  p->log = log;
  p->log_ud = log_ud;
  p->rng = seed ? seed : 0x9e3779b97f4a7c15ull;
  memcpy(&p->target, target,
         target->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                       : sizeof(struct sockaddr_in));
  printf("netproxy: seed %llu\n", (unsigned long long)seed);
  uv_tcp_init(loop, &p->listener);
  p->listener.data = p;
  p->listener_open = 1;
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", 0, &a);
  int rc = uv_tcp_bind(&p->listener, (const struct sockaddr *)&a, 0);
  if (rc == 0) rc = uv_listen((uv_stream_t *)&p->listener, 64, on_connection);
  if (rc == 0) {
    struct sockaddr_in got;
    int len = sizeof got;
    rc = uv_tcp_getsockname(&p->listener, (struct sockaddr *)&got, &len);
    p->port = ntohs(got.sin_port);
  }
  if (rc < 0) {
    netproxy_close(p);
    return rc;
  }
  *out = p;
  return 0;
}

int netproxy_port(const netproxy *p) { return p->port; }

void netproxy_addr(const netproxy *p, struct sockaddr_in *addr) {
  uv_ip4_addr("127.0.0.1", p->port, addr);
}

void netproxy_set(netproxy *p, int dir, const np_faults *f) {
  static const np_faults clean;
  p->f[dir & 1] = f ? *f : clean;
}

void netproxy_clean(netproxy *p) {
  netproxy_set(p, NP_UP, NULL);
  netproxy_set(p, NP_DOWN, NULL);
}

void netproxy_cut_all(netproxy *p) {
  for (pair *pr = p->pairs; pr; pr = pr->next) {
    if (!pr->closing) p->st[0].cuts++;
    pair_close(pr, "cut by the test");
  }
}

int netproxy_open_count(const netproxy *p) {
  int n = 0;
  for (const pair *pr = p->pairs; pr; pr = pr->next) n += !pr->closing;
  return n;
}

const np_stats *netproxy_stats(const netproxy *p, int dir) {
  return &p->st[dir & 1];
}

const uint8_t *netproxy_captured(const netproxy *p, int dir, size_t *len) {
  *len = p->caplen[dir & 1];
  return p->cap[dir & 1];
}

static void on_listener_closed(uv_handle_t *h) {
  netproxy *p = h->data;
  p->listener_open = 0;
  maybe_free_proxy(p);
}

void netproxy_close(netproxy *p) {
  if (!p || p->closing) return;
  p->closing = 1;
  for (pair *pr = p->pairs; pr; pr = pr->next) pair_close(pr, "proxy closed");
  uv_close((uv_handle_t *)&p->listener, on_listener_closed);
}
