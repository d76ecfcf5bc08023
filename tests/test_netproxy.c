/*
 * test_netproxy.c — two net/conn.c endpoints talking through the
 * fault-injecting proxy (netproxy.h) on loopback.
 *
 * Clean and delay-only modes: every message arrives, in order, once.
 * Tampering (corrupt, truncate, duplicate, drop) switched on once the
 * connection is open: the receiving side closes with a logged frame reason
 * (the stream's authentication catches it), and every message it did
 * deliver before that was intact and in order. Tampering from the first
 * byte: the handshake refuses, with its reason (or its deadline, for lost
 * bytes). Cut connections: both ends see the drop. After each of these the
 * proxy turns clean and a new connection works. Also a replayed handshake:
 * the initiator's bytes of an earlier session, recorded by the proxy, sent
 * again to the responder from a raw socket, fail at the identity proof.
 * (A frame whose length field says 4 GB is tests/test_conn.c's
 * oversized_frame.) Every case checks the loop closes cleanly.
 */
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "frame.h"
#include "mp.h"
#include "netproxy.h"
#include "testutil.h"

#define SEND_CAP 20000 /* a tampering test gives up after this many */

typedef struct end {
  int is_client;
  int opened, closed, reason;
  char detail[160];
  uint32_t sent, recvd, total;
  int endless; /* keep sending until closed (up to SEND_CAP) */
  conn *c;
  struct world *w;
} end;

typedef struct world {
  uv_loop_t loop;
  uv_timer_t guard;
  conn_listener *l;
  netproxy *px;
  struct sockaddr_in srv;
  end server, client;
  int server_closes; /* over the whole test */
  /* faults switched on when the client opens */
  int tamper_dir;
  const np_faults *tamper;
  char log[64][320];
  int nlog;
} world;

static const uint8_t ws_a[32] = {0xa1, 0xa2, 0xa3};
static uint8_t pk_s[32], sk_s[64], pk_c[32], sk_c[64];

static void log_line(void *ud, const char *line) {
  world *w = ud;
  printf("log: %s\n", line);
  if (w->nlog < 64) snprintf(w->log[w->nlog++], sizeof w->log[0], "%s", line);
}

static int logged(const world *w, const char *needle) {
  for (int i = 0; i < w->nlog; i++)
    if (strstr(w->log[i], needle)) return 1;
  return 0;
}

/* Message i: [i, bin(size_of(i) bytes, each (uint8_t)i)]. */
static size_t size_of(uint32_t i) { return (i * 7919u) % 1000u + 200u; }

static uint8_t *message(uint32_t i, size_t *n) {
  buf b = {0};
  uint8_t data[1200];
  size_t len = size_of(i);
  mp_put_array(&b, 2);
  mp_put_uint(&b, i);
  memset(data, (int)(i & 0xff), len);
  mp_put_bin(&b, data, len);
  return buf_take(&b, n);
}

static void maybe_finish(end *e) {
  if (e->is_client && !e->endless && e->recvd == e->total &&
      e->sent == e->total)
    conn_close(e->c);
}

static void pump(end *e) {
  uint32_t limit = e->endless ? SEND_CAP : e->total;
  while (e->c && e->sent < limit) {
    size_t n;
    uint8_t *m = message(e->sent, &n);
    int rc = conn_send(e->c, m, n);
    accord_free(m);
    if (rc == ACCORD_EBUSY) return;
    if (rc == ACCORD_EINVAL) return; /* closing */
    AOK(rc);
    e->sent++;
  }
  if (e->endless && e->sent == limit) conn_close(e->c);
  maybe_finish(e);
}

static void on_open(conn *c, void *ud) {
  end *e = ud;
  e->c = c;
  e->opened = 1;
  assert_memory_equal(conn_peer_key(c), e->is_client ? pk_s : pk_c, 32);
  if (e->is_client && e->w->tamper)
    netproxy_set(e->w->px, e->w->tamper_dir, e->w->tamper);
  pump(e);
}

/* Whatever arrives has passed authentication: it must be the next message,
 * intact, whatever the proxy does. */
static void on_message(conn *c, const uint8_t *msg, size_t len, void *ud) {
  end *e = ud;
  mp_reader r;
  mp_reader_init(&r, msg, len);
  uint32_t n;
  uint64_t i;
  const uint8_t *bin;
  size_t blen;
  assert_int_equal(mp_get_array(&r, &n), 0);
  assert_int_equal(mp_get_uint(&r, &i), 0);
  assert_int_equal(mp_get_bin(&r, &bin, &blen), 0);
  assert_int_equal(i, e->recvd);
  assert_int_equal(blen, size_of((uint32_t)i));
  for (size_t k = 0; k < blen; k++) assert_int_equal(bin[k], i & 0xff);
  e->recvd++;
  maybe_finish(e);
}

static void on_drain(conn *c, void *ud) { pump(ud); }

static void on_close(conn *c, int reason, const char *detail, void *ud) {
  end *e = ud;
  assert_int_equal(e->closed, 0);
  e->closed = 1;
  e->reason = reason;
  snprintf(e->detail, sizeof e->detail, "%s", detail);
  e->c = NULL;
  if (!e->is_client) e->w->server_closes++;
}

static const conn_callbacks cbs = {on_open, on_message, on_drain, on_close};

static void on_guard(uv_timer_t *t) { fail_msg("test took too long"); }

static conn_options opts(world *w, const uint8_t *pk, const uint8_t *sk) {
  conn_options o = {.hs = {.ws_key = ws_a, .pk = pk, .sk = sk},
                    .send_queue_max = 16384,
                    .log = log_line,
                    .log_ud = w};
  return o;
}

/* A listener on 127.0.0.1 and a proxy in front of it. server_hs_ms: the
 * server's handshake deadline (0: default). */
static void world_init(world *w, uint32_t server_hs_ms) {
  static int keyed;
  if (!keyed) {
    AOK(sign_keypair(pk_s, sk_s));
    AOK(sign_keypair(pk_c, sk_c));
    keyed = 1;
  }
  /* A write to a socket the peer has reset raises SIGPIPE, which kills
   * the process unless ignored; libuv does not ignore it for us (and the
   * networking layer's embedders must ignore it too). */
  signal(SIGPIPE, SIG_IGN);
  memset(w, 0, sizeof *w);
  assert_int_equal(uv_loop_init(&w->loop), 0);
  uv_timer_init(&w->loop, &w->guard);
  uv_timer_start(&w->guard, on_guard, 60000, 0);
  uv_unref((uv_handle_t *)&w->guard);
  conn_options so = opts(w, pk_s, sk_s);
  so.handshake_ms = server_hs_ms;
  assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &w->srv), 0);
  char err[200] = "";
  AOK(conn_listen(&w->loop, (struct sockaddr *)&w->srv, &so, &cbs,
                  &w->server, &w->l, err, sizeof err));
  w->srv.sin_port = htons((uint16_t)conn_listener_port(w->l));
  assert_int_equal(netproxy_start(&w->loop, (struct sockaddr *)&w->srv,
                                  test_seed("netproxy"), log_line, w,
                                  &w->px),
                   0);
}

/* Closes everything and checks no handle is left. */
static void world_end(world *w) {
  conn_listener_close(w->l);
  netproxy_close(w->px);
  uv_close((uv_handle_t *)&w->guard, NULL);
  uv_run(&w->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&w->loop), 0);
}

/* One connection through the proxy, run until it is over on both ends:
 * the client closed, the proxy holds nothing open, and the server closed
 * every connection the proxy made to it. */
static void round_(world *w, uint32_t total, int endless) {
  memset(&w->server, 0, sizeof w->server);
  memset(&w->client, 0, sizeof w->client);
  w->server.w = w->client.w = w;
  w->client.is_client = 1;
  w->server.total = w->client.total = total;
  w->client.endless = endless;
  w->server.total = endless ? 0 : total;
  conn_options co = opts(w, pk_c, sk_c);
  struct sockaddr_in pa;
  netproxy_addr(w->px, &pa);
  char err[200] = "";
  AOK(conn_connect(&w->loop, (struct sockaddr *)&pa, &co, &cbs, &w->client,
                   &w->client.c, err, sizeof err));
  while (!(w->client.closed && netproxy_open_count(w->px) == 0 &&
           (uint64_t)w->server_closes ==
               netproxy_stats(w->px, 0)->connected))
    uv_run(&w->loop, UV_RUN_ONCE);
  printf("round: client sent %u got %u, closed: %s (%s); server got %u, "
         "closed: %s (%s)\n",
         w->client.sent, w->client.recvd, conn_reason_str(w->client.reason),
         w->client.detail, w->server.recvd,
         conn_reason_str(w->server.reason), w->server.detail);
}

/* A full exchange: both ends get every message; a clean close. */
static void clean_round(world *w, uint32_t total) {
  round_(w, total, 0);
  assert_true(w->client.opened);
  assert_true(w->server.opened);
  assert_int_equal(w->client.recvd, total);
  assert_int_equal(w->server.recvd, total);
  assert_int_equal(w->client.reason, CONN_CLOSED);
  assert_int_equal(w->server.reason, CONN_PEER_CLOSED);
}

static void print_stats(world *w) {
  for (int d = 0; d < 2; d++) {
    const np_stats *s = netproxy_stats(w->px, d);
    printf("proxy %s: in %llu out %llu chunks %llu dropped %llu delayed %llu "
           "dup %llu truncated %llu corrupted %llu cuts %llu\n",
           d ? "down" : "up", (unsigned long long)s->bytes_in,
           (unsigned long long)s->bytes_out, (unsigned long long)s->chunks,
           (unsigned long long)s->dropped, (unsigned long long)s->delayed,
           (unsigned long long)s->duplicated,
           (unsigned long long)s->truncated,
           (unsigned long long)s->corrupted, (unsigned long long)s->cuts);
  }
}

/* ---- clean and delayed --------------------------------------------------- */

static void clean(void **state) {
  (void)state;
  world w;
  world_init(&w, 0);
  clean_round(&w, 500);
  print_stats(&w);
  for (int d = 0; d < 2; d++) {
    const np_stats *s = netproxy_stats(w.px, d);
    assert_true(s->chunks > 0);
    assert_int_equal(s->bytes_in, s->bytes_out);
  }
  size_t n;
  netproxy_captured(w.px, NP_UP, &n);
  assert_true(n > 64); /* the initiator's handshake and more */
  world_end(&w);
}

static void delayed(void **state) {
  (void)state;
  world w;
  world_init(&w, 0);
  np_faults f = {.delay = 1000, .delay_ms = 5}; /* random 1..5 ms each */
  netproxy_set(w.px, NP_UP, &f);
  netproxy_set(w.px, NP_DOWN, &f);
  clean_round(&w, 300);
  print_stats(&w);
  assert_true(netproxy_stats(w.px, NP_UP)->delayed > 0);
  assert_true(netproxy_stats(w.px, NP_DOWN)->delayed > 0);
  world_end(&w);
}

/* ---- tampering after the handshake --------------------------------------- */

/* The client opens, the proxy starts tampering with what it sends, the
 * client keeps sending: the server must close with a frame reason. Then
 * the proxy turns clean and a new connection works. */
static void tamper_frames(const np_faults *f) {
  world w;
  world_init(&w, 0);
  w.tamper = f;
  w.tamper_dir = NP_UP;
  round_(&w, 0, 1);
  print_stats(&w);
  const np_stats *s = netproxy_stats(w.px, NP_UP);
  assert_true(s->dropped + s->truncated + s->duplicated + s->corrupted > 0);
  assert_true(w.client.opened);
  assert_true(w.server.opened);
  assert_true(w.client.sent < SEND_CAP); /* detected, not given up on */
  assert_int_equal(w.server.reason, CONN_FRAME);
  const char *ok[] = {frame_status_str(FRAME_EBADTAG),
                      frame_status_str(FRAME_ETOOBIG)};
  int known = !strcmp(w.server.detail, ok[0]) ||
              !strcmp(w.server.detail, ok[1]);
  if (!known) fail_msg("unexpected frame reason: %s", w.server.detail);
  char line[240];
  snprintf(line, sizeof line, "bad frame: %s", w.server.detail);
  assert_true(logged(&w, line));
  assert_true(w.client.closed);
  assert_true(w.client.reason == CONN_EOF || w.client.reason == CONN_IO);
  /* what got through before was intact (on_message checks each) */
  assert_true(w.server.recvd < w.client.sent);

  w.tamper = NULL;
  netproxy_clean(w.px);
  clean_round(&w, 200);
  world_end(&w);
}

static void frames_corrupted(void **state) {
  (void)state;
  np_faults f = {.corrupt = 1000};
  tamper_frames(&f);
}

static void frames_truncated(void **state) {
  (void)state;
  np_faults f = {.truncate = 1000};
  tamper_frames(&f);
}

static void frames_duplicated(void **state) {
  (void)state;
  np_faults f = {.dup = 1000};
  tamper_frames(&f);
}

static void frames_dropped(void **state) {
  (void)state;
  np_faults f = {.drop = 1000};
  tamper_frames(&f);
}

/* A mix of everything but cuts, at lower rates. */
static void frames_mixed(void **state) {
  (void)state;
  np_faults f = {.drop = 50, .delay = 200, .dup = 50, .truncate = 50,
                 .corrupt = 50, .delay_ms = 3};
  tamper_frames(&f);
}

/* ---- tampering during the handshake -------------------------------------- */

/* Message 1 corrupted: the responder refuses it (and says nothing). */
static void handshake_corrupted_up(void **state) {
  (void)state;
  world w;
  world_init(&w, 0);
  np_faults f = {.corrupt = 1000};
  netproxy_set(w.px, NP_UP, &f);
  round_(&w, 10, 0);
  assert_false(w.server.opened);
  assert_false(w.client.opened);
  assert_int_equal(w.server.reason, CONN_HANDSHAKE);
  assert_string_equal(w.server.detail, hs_reason_str(HS_BAD_MAC));
  assert_true(logged(&w, hs_reason_str(HS_BAD_MAC)));
  assert_int_equal(w.client.reason, CONN_EOF);
  assert_int_equal(netproxy_stats(w.px, NP_DOWN)->bytes_out, 0);
  netproxy_clean(w.px);
  clean_round(&w, 100);
  world_end(&w);
}

/* Message 2 corrupted: the initiator refuses it (its MAC or its box). */
static void handshake_corrupted_down(void **state) {
  (void)state;
  world w;
  world_init(&w, 0);
  np_faults f = {.corrupt = 1000};
  netproxy_set(w.px, NP_DOWN, &f);
  round_(&w, 10, 0);
  assert_false(w.server.opened);
  assert_false(w.client.opened);
  assert_int_equal(w.client.reason, CONN_HANDSHAKE);
  int known = !strcmp(w.client.detail, hs_reason_str(HS_BAD_MAC)) ||
              !strcmp(w.client.detail, hs_reason_str(HS_BAD_BOX));
  if (!known) fail_msg("unexpected handshake reason: %s", w.client.detail);
  assert_true(logged(&w, "handshake refused"));
  assert_int_equal(w.server.reason, CONN_EOF);
  netproxy_clean(w.px);
  clean_round(&w, 100);
  world_end(&w);
}

/* Bytes of message 1 lost: the responder's deadline ends it. */
static void handshake_dropped(void **state) {
  (void)state;
  world w;
  world_init(&w, 300);
  np_faults f = {.drop = 1000};
  netproxy_set(w.px, NP_UP, &f);
  round_(&w, 10, 0);
  assert_false(w.server.opened);
  assert_false(w.client.opened);
  assert_int_equal(w.server.reason, CONN_TIMEOUT);
  assert_true(logged(&w, "handshake timeout"));
  netproxy_clean(w.px);
  clean_round(&w, 100);
  world_end(&w);
}

/* ---- cuts ---------------------------------------------------------------- */

/* The proxy cuts the connection at the client's first chunk after the
 * handshake: both ends see it dropped, neither thinks it ended cleanly. */
static void cut_by_fault(void **state) {
  (void)state;
  world w;
  world_init(&w, 0);
  np_faults f = {.cut = 1000};
  w.tamper = &f;
  w.tamper_dir = NP_UP;
  round_(&w, 0, 1);
  assert_int_equal(netproxy_stats(w.px, NP_UP)->cuts, 1);
  assert_true(w.client.opened && w.server.opened);
  assert_true(w.client.reason == CONN_EOF || w.client.reason == CONN_IO);
  assert_true(w.server.reason == CONN_EOF || w.server.reason == CONN_IO);
  assert_true(logged(&w, "cut by the proxy"));
  w.tamper = NULL;
  netproxy_clean(w.px);
  clean_round(&w, 100);
  world_end(&w);
}

static void on_open_cut(conn *c, void *ud) {
  end *e = ud;
  on_open(c, ud);
  if (e->is_client) netproxy_cut_all(e->w->px);
}

/* The test cuts every connection through the proxy while open. */
static void cut_by_test(void **state) {
  (void)state;
  world w;
  world_init(&w, 0);
  conn_options co = opts(&w, pk_c, sk_c);
  struct sockaddr_in pa;
  netproxy_addr(w.px, &pa);
  conn_callbacks cut = cbs;
  cut.on_open = on_open_cut;
  memset(&w.client, 0, sizeof w.client);
  w.client.is_client = 1;
  w.client.w = w.server.w = &w;
  w.client.total = 1000;
  char err[200];
  AOK(conn_connect(&w.loop, (struct sockaddr *)&pa, &co, &cut, &w.client,
                   &w.client.c, err, sizeof err));
  while (!(w.client.closed && w.server_closes == 1))
    uv_run(&w.loop, UV_RUN_ONCE);
  assert_true(w.client.opened);
  assert_true(w.client.reason == CONN_EOF || w.client.reason == CONN_IO);
  assert_true(w.server.reason == CONN_EOF || w.server.reason == CONN_IO);
  assert_true(logged(&w, "cut by the test"));
  clean_round(&w, 100);
  world_end(&w);
}

/* ---- a replayed handshake ------------------------------------------------ */

typedef struct raw {
  uv_tcp_t tcp;
  uv_connect_t creq;
  uv_write_t wreq;
  uv_buf_t out;
  char rbuf[4096];
  size_t got;
  int closed;
} raw;

static void raw_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b) {
  raw *r = h->data;
  *b = uv_buf_init(r->rbuf, sizeof r->rbuf);
}

static void raw_closed(uv_handle_t *h) { ((raw *)h->data)->closed = 1; }

static void raw_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  raw *r = s->data;
  if (n > 0) r->got += (size_t)n;
  if (n < 0) uv_close((uv_handle_t *)&r->tcp, raw_closed);
}

static void raw_written(uv_write_t *req, int status) { (void)status; }

static void raw_connected(uv_connect_t *req, int status) {
  raw *r = req->data;
  assert_int_equal(status, 0);
  assert_int_equal(uv_read_start((uv_stream_t *)&r->tcp, raw_alloc, raw_read),
                   0);
  assert_int_equal(
      uv_write(&r->wreq, (uv_stream_t *)&r->tcp, &r->out, 1, raw_written), 0);
}

/* An attacker recorded a whole session (the proxy's capture of what the
 * initiator sent) and replays it to the responder: message 1 still carries
 * a valid workspace MAC, so the responder answers with message 2 (a fresh
 * ephemeral key); the replayed message 3 was sealed under the old
 * session's keys and fails to open. */
static void replayed_handshake(void **state) {
  (void)state;
  world w;
  world_init(&w, 0);
  clean_round(&w, 20);
  size_t n;
  const uint8_t *rec = netproxy_captured(w.px, NP_UP, &n);
  assert_true(n >= 64 + 112);
  uint8_t *copy = malloc(n);
  memcpy(copy, rec, n);
  int before = w.server_closes;
  memset(&w.server, 0, sizeof w.server);
  w.server.w = &w;
  raw r;
  memset(&r, 0, sizeof r);
  r.out = uv_buf_init((char *)copy, (unsigned)n);
  uv_tcp_init(&w.loop, &r.tcp);
  r.tcp.data = r.creq.data = &r;
  assert_int_equal(uv_tcp_connect(&r.creq, &r.tcp,
                                  (const struct sockaddr *)&w.srv,
                                  raw_connected),
                   0);
  while (!(r.closed && w.server_closes == before + 1))
    uv_run(&w.loop, UV_RUN_ONCE);
  free(copy);
  assert_false(w.server.opened);
  assert_int_equal(w.server.reason, CONN_HANDSHAKE);
  assert_string_equal(w.server.detail, hs_reason_str(HS_BAD_BOX));
  assert_true(logged(&w, hs_reason_str(HS_BAD_BOX)));
  assert_int_equal(r.got, 112); /* message 2, then nothing */
  world_end(&w);
}

TEST_MAIN(cmocka_unit_test(clean), cmocka_unit_test(delayed),
          cmocka_unit_test(frames_corrupted),
          cmocka_unit_test(frames_truncated),
          cmocka_unit_test(frames_duplicated),
          cmocka_unit_test(frames_dropped), cmocka_unit_test(frames_mixed),
          cmocka_unit_test(handshake_corrupted_up),
          cmocka_unit_test(handshake_corrupted_down),
          cmocka_unit_test(handshake_dropped),
          cmocka_unit_test(cut_by_fault), cmocka_unit_test(cut_by_test),
          cmocka_unit_test(replayed_handshake))
