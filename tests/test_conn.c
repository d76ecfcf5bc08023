/*
 * test_conn.c — net/conn.c over loopback TCP (ephemeral ports): two
 * connections exchange thousands of messages both ways through a small
 * send queue (backpressure: EBUSY, then on_drain), over IPv4 and IPv6 (the
 * IPv6 case skips when the machine has no ::1); and the attacks the
 * transport must refuse, each closing with its logged reason: wrong
 * workspace key, non-member, a peer that sends nothing, a 4 GB length
 * field, a refused connect. Every case checks the loop closes cleanly
 * (uv_loop_close returns 0: all handles closed, nothing leaked).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "frame.h"
#include "mp.h"
#include "testutil.h"

typedef struct peer {
  const char *name;
  int is_client;
  conn *c;
  int opened, closed, reason;
  char detail[160];
  uint32_t sent, recvd, total;
  int busy, drains;
  struct world *w;
} peer;

typedef struct world {
  uv_loop_t loop;
  uv_timer_t guard;
  conn_listener *l;
  peer server, client;
  char log[16][320];
  int nlog;
} world;

static const uint8_t ws_a[32] = {0xa1, 0xa2, 0xa3};
static const uint8_t ws_b[32] = {0xb1, 0xb2, 0xb3};
static uint8_t pk_s[32], sk_s[64], pk_c[32], sk_c[64];

static void keys(void) {
  static int done;
  if (done) return;
  AOK(sign_keypair(pk_s, sk_s));
  AOK(sign_keypair(pk_c, sk_c));
  done = 1;
}

static void log_line(void *ud, const char *line) {
  world *w = ud;
  printf("log: %s\n", line);
  if (w->nlog < 16) snprintf(w->log[w->nlog++], sizeof w->log[0], "%s", line);
}

static int logged(const world *w, const char *needle) {
  for (int i = 0; i < w->nlog; i++)
    if (strstr(w->log[i], needle)) return 1;
  return 0;
}

/* Message i: [i, bin(size_of(i) bytes, each (uint8_t)i)]. */
static size_t size_of(uint32_t i) {
  return (i * 7919u) % 1500u + (i % 250 == 0 ? 100000u : 0u);
}

static uint8_t *message(uint32_t i, size_t *n) {
  buf b = {0};
  size_t len = size_of(i);
  mp_put_array(&b, 2);
  mp_put_uint(&b, i);
  uint8_t *data = malloc(len + 1);
  memset(data, (int)(i & 0xff), len);
  mp_put_bin(&b, data, len);
  free(data);
  return buf_take(&b, n);
}

static void maybe_finish(peer *p) {
  if (p->is_client && p->total && p->recvd == p->total &&
      p->sent == p->total)
    conn_close(p->c);
}

static void pump(peer *p) {
  while (p->sent < p->total) {
    size_t n;
    uint8_t *m = message(p->sent, &n);
    int rc = conn_send(p->c, m, n);
    accord_free(m);
    if (rc == ACCORD_EBUSY) {
      p->busy++;
      assert_true(conn_queued(p->c) > 0);
      return;
    }
    AOK(rc);
    p->sent++;
  }
  maybe_finish(p);
}

static void on_open(conn *c, void *ud) {
  peer *p = ud;
  p->c = c;
  p->opened = 1;
  assert_memory_equal(conn_peer_key(c), p->is_client ? pk_s : pk_c, 32);
  /* what conn_send refuses */
  assert_int_equal(conn_send(c, (const uint8_t *)"\x01\x02", 2),
                   ACCORD_EINVAL);
  assert_int_equal(conn_send(c, (const uint8_t *)"", 0), ACCORD_EINVAL);
  static uint8_t big[FRAME_MSG_MAX + 1];
  assert_int_equal(conn_send(c, big, sizeof big), ACCORD_ETOOBIG);
  pump(p);
}

static void on_message(conn *c, const uint8_t *msg, size_t len, void *ud) {
  peer *p = ud;
  mp_reader r;
  mp_reader_init(&r, msg, len);
  uint32_t n;
  uint64_t i;
  const uint8_t *bin;
  size_t blen;
  assert_int_equal(mp_get_array(&r, &n), 0);
  assert_int_equal(mp_get_uint(&r, &i), 0);
  assert_int_equal(mp_get_bin(&r, &bin, &blen), 0);
  assert_int_equal(i, p->recvd); /* in order, none lost or doubled */
  assert_int_equal(blen, size_of((uint32_t)i));
  for (size_t k = 0; k < blen; k += 97) assert_int_equal(bin[k], i & 0xff);
  p->recvd++;
  maybe_finish(p);
}

static void on_drain(conn *c, void *ud) {
  peer *p = ud;
  p->drains++;
  pump(p);
}

static void on_close(conn *c, int reason, const char *detail, void *ud) {
  peer *p = ud;
  assert_int_equal(p->closed, 0); /* exactly once */
  p->closed = 1;
  p->reason = reason;
  snprintf(p->detail, sizeof p->detail, "%s", detail);
  p->c = NULL;
  /* one connection per test: the server side's end ends the listener */
  if (!p->is_client && p->w->l) {
    conn_listener_close(p->w->l);
    p->w->l = NULL;
  }
}

static const conn_callbacks cbs = {on_open, on_message, on_drain, on_close};

static void on_guard(uv_timer_t *t) { fail_msg("test took too long"); }

static void world_init(world *w) {
  keys();
  memset(w, 0, sizeof *w);
  assert_int_equal(uv_loop_init(&w->loop), 0);
  uv_timer_init(&w->loop, &w->guard);
  uv_timer_start(&w->guard, on_guard, 60000, 0);
  uv_unref((uv_handle_t *)&w->guard); /* does not keep the loop alive */
  w->server.name = "server";
  w->client.name = "client";
  w->client.is_client = 1;
  w->server.w = w->client.w = w;
}

static conn_options opts_of(world *w, const uint8_t *ws, const uint8_t *pk,
                            const uint8_t *sk) {
  conn_options o = {.hs = {.ws_key = ws, .pk = pk, .sk = sk},
                    .log = log_line, .log_ud = w};
  return o;
}

/* Runs the loop dry, then checks every handle is closed. */
static void world_run(world *w) {
  uv_run(&w->loop, UV_RUN_DEFAULT);
  uv_close((uv_handle_t *)&w->guard, NULL);
  uv_run(&w->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&w->loop), 0);
}

/* Listens on ip (port 0); 0, or -1 if the address family is missing. */
static int world_listen(world *w, const char *ip, conn_options *so,
                        struct sockaddr_storage *addr) {
  memset(addr, 0, sizeof *addr);
  if (strchr(ip, ':'))
    assert_int_equal(uv_ip6_addr(ip, 0, (struct sockaddr_in6 *)addr), 0);
  else
    assert_int_equal(uv_ip4_addr(ip, 0, (struct sockaddr_in *)addr), 0);
  char err[200] = "";
  int rc = conn_listen(&w->loop, (struct sockaddr *)addr, so, &cbs,
                       &w->server, &w->l, err, sizeof err);
  if (rc) {
    printf("listen on %s: %s\n", ip, err);
    return -1;
  }
  int port = conn_listener_port(w->l);
  assert_true(port > 0);
  if (addr->ss_family == AF_INET6)
    ((struct sockaddr_in6 *)addr)->sin6_port = htons((uint16_t)port);
  else
    ((struct sockaddr_in *)addr)->sin_port = htons((uint16_t)port);
  return 0;
}

static void connect_client(world *w, const struct sockaddr_storage *addr,
                           conn_options *co) {
  char err[200] = "";
  conn *c = NULL;
  AOK(conn_connect(&w->loop, (const struct sockaddr *)addr, co, &cbs,
                   &w->client, &c, err, sizeof err));
  w->client.c = c;
}

static void exchange(const char *ip) {
  world w;
  world_init(&w);
  conn_options so = opts_of(&w, ws_a, pk_s, sk_s),
               co = opts_of(&w, ws_a, pk_c, sk_c);
  so.send_queue_max = co.send_queue_max = 8192; /* small: backpressure */
  struct sockaddr_storage addr;
  if (world_listen(&w, ip, &so, &addr)) {
    uv_close((uv_handle_t *)&w.guard, NULL);
    uv_run(&w.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&w.loop), 0);
    skip();
  }
  w.server.total = w.client.total = (uint32_t)test_scale(3000);
  connect_client(&w, &addr, &co);
  world_run(&w);
  for (int k = 0; k < 2; k++) {
    peer *p = k ? &w.client : &w.server;
    printf("%s: sent %u received %u, EBUSY %d, drains %d, closed: %s (%s)\n",
           p->name, p->sent, p->recvd, p->busy, p->drains,
           conn_reason_str(p->reason), p->detail);
    assert_true(p->opened);
    assert_true(p->closed);
    assert_int_equal(p->sent, p->total);
    assert_int_equal(p->recvd, p->total);
    assert_true(p->busy > 0); /* the queue limit was hit ... */
    assert_true(p->drains > 0); /* ... and drained */
  }
  assert_int_equal(w.client.reason, CONN_CLOSED);
  assert_int_equal(w.server.reason, CONN_PEER_CLOSED);
  assert_true(logged(&w, "closed by peer"));
}

static void exchange_ipv4(void **state) {
  (void)state;
  exchange("127.0.0.1");
}

static void exchange_ipv6(void **state) {
  (void)state;
  exchange("::1");
}

/* A refused handshake: the server closes with the reason, the client sees
 * the connection dropped; neither side opens. */
static void refused(const uint8_t *client_ws, hs_member_fn member,
                    const char *want) {
  world w;
  world_init(&w);
  conn_options so = opts_of(&w, ws_a, pk_s, sk_s),
               co = opts_of(&w, client_ws, pk_c, sk_c);
  so.hs.is_member = member;
  struct sockaddr_storage addr;
  assert_int_equal(world_listen(&w, "127.0.0.1", &so, &addr), 0);
  connect_client(&w, &addr, &co);
  world_run(&w);
  assert_false(w.server.opened);
  assert_false(w.client.opened);
  assert_int_equal(w.server.reason, CONN_HANDSHAKE);
  assert_string_equal(w.server.detail, want);
  assert_true(logged(&w, want));
  assert_int_equal(w.client.reason, CONN_EOF);
}

static void wrong_workspace(void **state) {
  (void)state;
  refused(ws_b, NULL, hs_reason_str(HS_BAD_MAC));
}

static int nobody(void *ud, const uint8_t *pk) { return 0; }

static void non_member(void **state) {
  (void)state;
  refused(ws_a, nobody, hs_reason_str(HS_NOT_MEMBER));
}

/* A peer that connects and sends nothing is dropped at the deadline. */
typedef struct raw {
  uv_tcp_t tcp;
  uv_connect_t req;
  char rbuf[256];
  int eof;
} raw;

static void raw_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b) {
  raw *r = h->data;
  *b = uv_buf_init(r->rbuf, sizeof r->rbuf);
}

static void raw_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  raw *r = s->data;
  assert_true(n <= 0); /* the server never says anything */
  if (n < 0) {
    r->eof = 1;
    uv_close((uv_handle_t *)&r->tcp, NULL);
  }
}

static void raw_connected(uv_connect_t *req, int status) {
  raw *r = req->data;
  assert_int_equal(status, 0);
  assert_int_equal(uv_read_start((uv_stream_t *)&r->tcp, raw_alloc, raw_read),
                   0);
}

static void silent_peer(void **state) {
  (void)state;
  world w;
  world_init(&w);
  conn_options so = opts_of(&w, ws_a, pk_s, sk_s);
  so.handshake_ms = 100;
  struct sockaddr_storage addr;
  assert_int_equal(world_listen(&w, "127.0.0.1", &so, &addr), 0);
  raw r;
  memset(&r, 0, sizeof r);
  uv_tcp_init(&w.loop, &r.tcp);
  r.tcp.data = r.req.data = &r;
  assert_int_equal(uv_tcp_connect(&r.req, &r.tcp,
                                  (const struct sockaddr *)&addr,
                                  raw_connected),
                   0);
  world_run(&w);
  assert_int_equal(w.server.reason, CONN_TIMEOUT);
  assert_true(logged(&w, "handshake timeout"));
  assert_true(r.eof);
}

/* Closing the listener ends the connections it accepted that are still in
 * their handshake, at once and silently (no on_close, no log line: their
 * owner may be freed next), instead of at the handshake's deadline. */
static void close_listener(uv_timer_t *t) {
  world *w = t->data;
  conn_listener_close(w->l);
  w->l = NULL;
  uv_close((uv_handle_t *)t, NULL);
}

static void listener_close_ends_handshakes(void **state) {
  (void)state;
  world w;
  world_init(&w);
  uv_timer_start(&w.guard, on_guard, 5000, 0); /* well before the deadline */
  conn_options so = opts_of(&w, ws_a, pk_s, sk_s);
  so.handshake_ms = 60000;
  struct sockaddr_storage addr;
  assert_int_equal(world_listen(&w, "127.0.0.1", &so, &addr), 0);
  raw r;
  memset(&r, 0, sizeof r);
  uv_tcp_init(&w.loop, &r.tcp);
  r.tcp.data = r.req.data = &r;
  assert_int_equal(uv_tcp_connect(&r.req, &r.tcp,
                                  (const struct sockaddr *)&addr,
                                  raw_connected),
                   0);
  uv_timer_t later;
  uv_timer_init(&w.loop, &later);
  later.data = &w;
  uv_timer_start(&later, close_listener, 200, 0); /* accepted by then */
  world_run(&w);
  assert_true(r.eof);
  assert_int_equal(w.server.closed, 0);
  assert_int_equal(w.server.opened, 0);
  assert_int_equal(w.nlog, 0);
}

/* What the evil client writes after the handshake, bypassing framing. */
static const uint8_t *evil_bytes;
static size_t evil_len;

static void on_open_evil(conn *c, void *ud) {
  peer *p = ud;
  p->c = c;
  p->opened = 1;
  if (p->is_client) AOK(conn_send_raw(c, evil_bytes, evil_len));
}

/* After the handshake the client writes evil bytes: the server closes with
 * `detail`, logged; the client sees the connection dropped. */
static void evil_frame(const char *detail) {
  world w;
  world_init(&w);
  conn_options so = opts_of(&w, ws_a, pk_s, sk_s),
               co = opts_of(&w, ws_a, pk_c, sk_c);
  struct sockaddr_storage addr;
  assert_int_equal(world_listen(&w, "127.0.0.1", &so, &addr), 0);
  conn_callbacks evil = cbs;
  evil.on_open = on_open_evil;
  char err[200];
  conn *c;
  AOK(conn_connect(&w.loop, (const struct sockaddr *)&addr, &co, &evil,
                   &w.client, &c, err, sizeof err));
  world_run(&w);
  assert_true(w.server.opened);
  assert_int_equal(w.server.reason, CONN_FRAME);
  assert_string_equal(w.server.detail, detail);
  char line[200];
  snprintf(line, sizeof line, "bad frame: %s", detail);
  assert_true(logged(&w, line));
  assert_int_equal(w.client.reason, CONN_EOF);
}

/* A length field of 4 GB: refused after 4 bytes, nothing allocated (the
 * allocation check itself is in test_frame.c). */
static void oversized_frame(void **state) {
  (void)state;
  evil_bytes = (const uint8_t *)"\xff\xff\xff\xff";
  evil_len = 4;
  evil_frame(frame_status_str(FRAME_ETOOBIG));
}

/* A frame of the right shape that was not sealed with the session key
 * (as a corrupting proxy would deliver): refused. The stream header went
 * out with the handshake, so these bytes are read as a frame. */
static void forged_frame(void **state) {
  (void)state;
  static uint8_t f[4 + 40];
  f[3] = 40;
  evil_bytes = f;
  evil_len = sizeof f;
  evil_frame(frame_status_str(FRAME_EBADTAG));
}

/* Connecting to a port nobody listens on: on_close, once, with the
 * reason. The port comes from a listener closed just before. */
static void connect_refused(void **state) {
  (void)state;
  world w;
  world_init(&w);
  conn_options so = opts_of(&w, ws_a, pk_s, sk_s),
               co = opts_of(&w, ws_a, pk_c, sk_c);
  struct sockaddr_storage addr;
  assert_int_equal(world_listen(&w, "127.0.0.1", &so, &addr), 0);
  conn_listener_close(w.l);
  w.l = NULL;
  uv_run(&w.loop, UV_RUN_NOWAIT);
  connect_client(&w, &addr, &co);
  world_run(&w);
  assert_true(w.client.closed);
  assert_int_equal(w.client.reason, CONN_CONNECT);
  assert_true(logged(&w, "connect failed"));
  assert_false(w.server.closed);
}

TEST_MAIN(cmocka_unit_test(exchange_ipv4), cmocka_unit_test(exchange_ipv6),
          cmocka_unit_test(wrong_workspace), cmocka_unit_test(non_member),
          cmocka_unit_test(silent_peer),
          cmocka_unit_test(listener_close_ends_handshakes),
          cmocka_unit_test(oversized_frame),
          cmocka_unit_test(forged_frame),
          cmocka_unit_test(connect_refused))
