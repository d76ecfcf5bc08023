/*
 * test_net_attack.c — attacks on a node's sessions (net/session.c) from a
 * hand-driven connection that completes the handshake (it holds the
 * workspace key and a key pair) and then misbehaves: protocol messages
 * that are valid msgpack but malformed (unknown type, wrong field count,
 * bad summary entry, a summary of another workspace, an oversized
 * summary, a repeated actor in a version vector, a batch that does not
 * parse, changes claiming more to come than a document can hold), a frame whose length field says 4 GB, a peer that opens and
 * says nothing (before and after the handshake). Each must close the
 * connection with the reason in the node's log, and leave the node
 * serving: a well-behaved node syncs with it afterwards.
 */
#include "net_testutil.h"

#include "mp.h"

typedef struct client {
  conn *c;
  int opened, closed, received;
  buf msg;      /* sent on open (if len) */
  buf msg2;     /* and then this (if len) */
  const void *raw; /* or raw bytes */
  size_t rawlen;
} client;

static void c_open(conn *c, void *ud) {
  client *k = ud;
  k->opened = 1;
  if (k->msg.len) assert_int_equal(conn_send(c, k->msg.p, k->msg.len), 0);
  if (k->msg2.len)
    assert_int_equal(conn_send(c, k->msg2.p, k->msg2.len), 0);
  if (k->raw) assert_int_equal(conn_send_raw(c, k->raw, k->rawlen), 0);
}
static void c_message(conn *c, const uint8_t *m, size_t n, void *ud) {
  ((client *)ud)->received++;
}
static void c_close(conn *c, int reason, const char *detail, void *ud) {
  ((client *)ud)->closed = 1;
  ((client *)ud)->c = NULL;
}
static const conn_callbacks ccb = {c_open, c_message, NULL, c_close};

static uint8_t cpk[32], csk[64];

/* Connects to node 0 with the workspace key and a fresh identity. */
static void dial_node(tworld *w, client *k) {
  uint8_t key[32];
  AOK(node_ws_key(w->n[0].node, w->ws, key));
  AOK(accord_sign_keypair(cpk, csk));
  /* a member's key: what it sends is judged as a member's (the strangers
   * test overrides the membership check to make it a stranger) */
  NOK(w->n[0].node, accord_member_add(w->n[0].node, w->ws, cpk, "client", NULL));
  conn_options o;
  memset(&o, 0, sizeof o);
  o.hs.ws_key = key;
  o.hs.pk = cpk;
  o.hs.sk = csk;
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", accord_net_port(w->n[0].net), &a);
  char err[128];
  AOK(conn_connect(&w->loop, (struct sockaddr *)&a, &o, &ccb, k, &k->c, err,
                   sizeof err));
}

typedef struct want {
  const char *needle;
  client *k;
} want;

static int refused(tworld *w, void *ud) {
  want *x = ud;
  return tw_logged(&w->n[0], x->needle) && x->k->closed;
}

/* Sends msg (built by the caller) on a fresh connection and expects the
 * node to log needle and close. */
static client last;
static buf second; /* a second message for the next expect_refused */
static void expect_refused(tworld *w, buf *msg, const void *raw, size_t rawlen,
                           const char *needle) {
  client k;
  memset(&k, 0, sizeof k);
  if (msg) k.msg = *msg;
  k.msg2 = second;
  memset(&second, 0, sizeof second);
  k.raw = raw;
  k.rawlen = rawlen;
  w->n[0].nlog = 0;
  dial_node(w, &k);
  want x = {needle, &k};
  int ok = tw_run(w, refused, &x, 10000);
  if (!ok) {
    for (int i = 0; i < w->n[0].nlog; i++) printf("log: %s\n", w->n[0].log[i]);
    fail_msg("expected '%s' in the log", needle);
  }
  if (msg) buf_free(msg);
  buf_free(&k.msg2);
  last = k;
}

static void start_world(tworld *w) {
  tw_init(w, 2);
  accord_doc *d = tw_doc_new(w, 0, "goal");
  tw_put(w, 0, d, "k", "v");
  accord_node_doc_close(w->n[0].node, d);
  tw_start(w, 0);
}

/* After the attacks the node still serves a member. */
static void still_serves(tworld *w) {
  tw_start(w, 1);
  tw_link(w, 1, 0);
  assert_true(tw_run(w, tw_all_same, NULL, 10000));
}

static void put_ws(buf *b, tworld *w) { mp_put_bin(b, w->ws, 16); }

static void malformed(void **state) {
  tworld w;
  start_world(&w);
  buf b = {0};
  /* an unknown type */
  mp_put_array(&b, 1);
  mp_put_uint(&b, 99);
  expect_refused(&w, &b, NULL, 0, "bad message: unknown type 99");
  /* not an array */
  memset(&b, 0, sizeof b);
  mp_put_uint(&b, 1);
  expect_refused(&w, &b, NULL, 0, "bad message: not a protocol message");
  /* a summary with the wrong field count */
  memset(&b, 0, sizeof b);
  mp_put_array(&b, 2);
  mp_put_uint(&b, 1);
  mp_put_uint(&b, 1);
  expect_refused(&w, &b, NULL, 0, "bad message: type 1 with 2 fields");
  /* a summary of another workspace */
  memset(&b, 0, sizeof b);
  uint8_t other[16] = {1, 2, 3};
  mp_put_array(&b, 4);
  mp_put_uint(&b, 1);
  mp_put_bin(&b, other, 16);
  mp_put_uint(&b, 2);
  mp_put_array(&b, 0);
  expect_refused(&w, &b, NULL, 0, "summary of another workspace");
  /* a summary entry with a bad type name */
  memset(&b, 0, sizeof b);
  uint8_t id[16] = {9}, actor[8] = {1}, dg[16] = {0};
  mp_put_array(&b, 4);
  mp_put_uint(&b, 1);
  put_ws(&b, &w);
  mp_put_uint(&b, 2);
  mp_put_array(&b, 1);
  mp_put_array(&b, 5);
  mp_put_bin(&b, id, 16);
  mp_put_str(&b, "../etc", 6);
  mp_put_bin(&b, actor, 8);
  mp_put_int(&b, 0);
  mp_put_bin(&b, dg, 16);
  expect_refused(&w, &b, NULL, 0, "malformed summary entry 0");
  /* a summary claiming more entries than allowed */
  memset(&b, 0, sizeof b);
  mp_put_array(&b, 4);
  mp_put_uint(&b, 1);
  put_ws(&b, &w);
  mp_put_uint(&b, 2);
  mp_put_array(&b, NET_SUM_PER_MSG + 1);
  for (int i = 0; i < NET_SUM_PER_MSG + 1; i++) mp_put_nil(&b);
  expect_refused(&w, &b, NULL, 0, "summary too long");
  /* a version vector naming an actor twice */
  memset(&b, 0, sizeof b);
  mp_put_array(&b, 4);
  mp_put_uint(&b, 2);
  mp_put_bin(&b, id, 16);
  mp_put_array(&b, 2);
  for (int i = 0; i < 2; i++) {
    mp_put_array(&b, 2);
    mp_put_bin(&b, actor, 8);
    mp_put_uint(&b, 5);
  }
  mp_put_uint(&b, 0);
  expect_refused(&w, &b, NULL, 0, "repeats an actor");
  /* changes whose batch does not parse */
  memset(&b, 0, sizeof b);
  mp_put_array(&b, 8);
  mp_put_uint(&b, 3);
  mp_put_bin(&b, id, 16);
  mp_put_str(&b, "goal", 4);
  mp_put_bin(&b, actor, 8);
  mp_put_int(&b, 0);
  mp_put_uint(&b, 0);
  mp_put_uint(&b, 0);
  mp_put_bin(&b, "junk", 4);
  expect_refused(&w, &b, NULL, 0, "malformed batch");
  /* changes whose `remaining` passes the most a document can hold (it
   * would wrap the receiver's progress sums) */
  memset(&b, 0, sizeof b);
  mp_put_array(&b, 8);
  mp_put_uint(&b, 3);
  mp_put_bin(&b, id, 16);
  mp_put_str(&b, "goal", 4);
  mp_put_bin(&b, actor, 8);
  mp_put_int(&b, 0);
  mp_put_uint(&b, 0);
  mp_put_uint(&b, NET_REMAINING_MAX + 1);
  mp_put_bin(&b, "junk", 4);
  expect_refused(&w, &b, NULL, 0, "malformed changes");
  /* a piece of one batch, then a piece of another document's */
  for (int k = 0; k < 2; k++) {
    buf *m = k ? &second : &b;
    memset(m, 0, sizeof *m);
    id[1] = (uint8_t)k;
    mp_put_array(m, 8);
    mp_put_uint(m, 3);
    mp_put_bin(m, id, 16);
    mp_put_str(m, "goal", 4);
    mp_put_bin(m, actor, 8);
    mp_put_int(m, 0);
    mp_put_uint(m, 2); /* a piece: more follow */
    mp_put_uint(m, 0);
    mp_put_bin(m, "part", 4);
  }
  id[1] = 0;
  expect_refused(&w, &b, NULL, 0, "pieces of two batches interleaved");
  /* none of it created a document */
  accord_doc_info *l;
  size_t n;
  AOK(accord_node_doc_list(w.n[0].node, w.ws, "goal", &l, &n));
  assert_int_equal(n, 1);
  accord_free(l);
  still_serves(&w);
  tw_free(&w);
}

static void huge_length(void **state) {
  tworld w;
  start_world(&w);
  static const uint8_t len[4] = {0xff, 0xff, 0xff, 0xff};
  expect_refused(&w, NULL, len, 4, "frame length exceeds the 4 MiB limit");
  still_serves(&w);
  tw_free(&w);
}

/* Handshake done, then nothing: dropped once the summary deadline passes
 * (the handshake's, 3 s in these tests). */
static void silent_after_handshake(void **state) {
  tworld w;
  start_world(&w);
  expect_refused(&w, NULL, NULL, 0, "no summary within");
  still_serves(&w);
  tw_free(&w);
}

/* A TCP connection that never starts the handshake. */
static void on_tcp_connect(uv_connect_t *r, int status) {}
static int silent_refused(tworld *w, void *ud) {
  return tw_logged(&w->n[0], "handshake timeout");
}
static void silent_tcp(void **state) {
  tworld w;
  start_world(&w);
  uv_tcp_t t;
  uv_connect_t r;
  uv_tcp_init(&w.loop, &t);
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", accord_net_port(w.n[0].net), &a);
  assert_int_equal(uv_tcp_connect(&r, &t, (struct sockaddr *)&a,
                                  on_tcp_connect), 0);
  assert_true(tw_run(&w, silent_refused, NULL, 10000));
  uv_close((uv_handle_t *)&t, NULL);
  still_serves(&w);
  tw_free(&w);
}

/* Strangers: peers that prove a key the node's membership refuses (forced
 * by a test hook while membership is a stub). They hear nothing, and may
 * send nothing but a join request; with today's stub every invite is
 * refused. */
static int refuse_client(void *ud, const uint8_t *pk) {
  return memcmp(pk, cpk, 32) != 0;
}
static void strangers(void **state) {
  tworld w;
  start_world(&w);
  net_debug_member_override(w.n[0].net, refuse_client, NULL);
  buf b = {0};
  /* anything but JOIN: a summary */
  mp_put_array(&b, 4);
  mp_put_uint(&b, 1);
  put_ws(&b, &w);
  mp_put_uint(&b, 2);
  mp_put_array(&b, 0);
  expect_refused(&w, &b, NULL, 0,
                 "a stranger sent something other than a join request");
  assert_int_equal(last.received, 0); /* it learned nothing */
  /* a join request with a wrong secret: refused */
  memset(&b, 0, sizeof b);
  uint8_t secret[32] = {7};
  mp_put_array(&b, 4);
  mp_put_uint(&b, 5);
  mp_put_bin(&b, secret, 32);
  mp_put_str(&b, "mallory", 7);
  mp_put_nil(&b);
  expect_refused(&w, &b, NULL, 0, "invite refused");
  assert_int_equal(last.received, 0);
  /* a malformed join request */
  memset(&b, 0, sizeof b);
  mp_put_array(&b, 4);
  mp_put_uint(&b, 5);
  mp_put_bin(&b, secret, 31);
  mp_put_str(&b, "mallory", 7);
  mp_put_nil(&b);
  expect_refused(&w, &b, NULL, 0, "malformed join request");
  net_debug_member_override(w.n[0].net, NULL, NULL);
  still_serves(&w);
  tw_free(&w);
}

/* A member removed while connected is dropped (the removal is forced by
 * the membership hook while membership is a stub). */
static uint8_t removed_pk[32];
static int refuse_removed(void *ud, const uint8_t *pk) {
  return memcmp(pk, removed_pk, 32) != 0;
}
static int dropped(tworld *w, void *ud) {
  return tw_logged(&w->n[0], "no longer a member") && w->n[1].up == 0;
}
static int stranger_refused(tworld *w, void *ud) {
  return tw_logged(&w->n[0], "a stranger sent something other");
}
static void removed_member(void **state) {
  tworld w;
  start_world(&w);
  still_serves(&w); /* node 1 connected and synced */
  memcpy(removed_pk, accord_node_public_key(w.n[1].node), 32);
  net_debug_member_override(w.n[0].net, refuse_removed, NULL);
  assert_true(tw_run(&w, dropped, NULL, 10000));
  /* it reconnects, now a stranger: it hears nothing, and what it sends
   * (its summary) is refused */
  assert_true(tw_run(&w, stranger_refused, NULL, 10000));
  assert_int_equal(w.n[0].up, 0); /* node 0 never counted it again */
  tw_free(&w);
}

TEST_MAIN(cmocka_unit_test(malformed), cmocka_unit_test(removed_member), cmocka_unit_test(strangers), cmocka_unit_test(huge_length),
          cmocka_unit_test(silent_after_handshake),
          cmocka_unit_test(silent_tcp))
