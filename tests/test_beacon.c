/*
 * test_beacon.c — LAN discovery beacons.
 *
 * The codec (net/beacon_codec.c): round trips under the right key among
 * several; a golden beacon (fixed key, nonce and contents) freezing the
 * format; every bit flip, every other length and every wrong key refused;
 * beacons that open but break a rule (version, port 0, time) refused;
 * nothing readable (neither the identity, the port nor the workspace id
 * appears, and two beacons of one node share nothing); the time window at
 * its edges; replays, and the replay memory's bound.
 *
 * The libuv part (net/beacon.c) over multicast on 127.0.0.1, with a group
 * and port picked at random per run (seed printed) so that concurrent runs
 * do not hear each other: two endpoints of one workspace find each other
 * (identity, workspace and address as announced), a third with another
 * workspace key receives their beacons and finds nothing, nobody finds
 * itself; a stopped endpoint is heard no more; the loop closes cleanly.
 * The libuv cases skip when the machine cannot do multicast on loopback.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beacon.h"
#include "testutil.h"

static const uint8_t ws_key_a[32] = {0x5a, 1, 2, 3};
static const uint8_t ws_key_b[32] = {0x5b, 1, 2, 3};
static const uint8_t ws_id_a[16] = {0xaa, 0xaa};
static const uint8_t ws_id_b[16] = {0xbb, 0xbb};

/* The beacon of test "golden". */
#define GOLDEN_BEACON                                                      \
  "000102030405060708090a0b0c0d0e0f1011121314151617"                       \
  "10f606264353a79f84824b9f03fc171da3e2763a54d1c792c140927e8d9acde5e33f1e" \
  "68ca15210268f7f0a23dc1e26a0397647cfa4d599316305e"

static void hex(const uint8_t *p, size_t n, char *out) {
  for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", p[i]);
}

static beacon_msg msg_of(uint16_t port, uint8_t fill, int64_t time) {
  beacon_msg m;
  memset(&m, 0, sizeof m);
  m.port = port;
  memset(m.pk, fill, sizeof m.pk);
  m.time = time;
  return m;
}

/* ---- codec --------------------------------------------------------------- */

static void roundtrip(void **state) {
  (void)state;
  uint8_t keys[3][32];
  beacon_key(ws_key_b, keys[0]);
  beacon_key((const uint8_t[32]){9}, keys[1]);
  beacon_key(ws_key_a, keys[2]);
  beacon_msg m = msg_of(4711, 0x42, 1700000000123), got;
  uint8_t out[BEACON_BYTES];
  AOK(beacon_seal(keys[2], &m, 1, out));
  size_t which = 99;
  assert_int_equal(beacon_open(out, sizeof out, (const uint8_t(*)[32])keys,
                               3, &which, &got),
                   BEACON_OK);
  assert_int_equal(which, 2);
  assert_int_equal(got.port, 4711);
  assert_memory_equal(got.pk, m.pk, 32);
  assert_int_equal(got.time, 1700000000123);
  assert_memory_equal(got.nonce, m.nonce, BEACON_NONCE_BYTES);
  assert_memory_equal(got.nonce, out, BEACON_NONCE_BYTES);
  /* none of the other keys opens it */
  assert_int_equal(beacon_open(out, sizeof out, (const uint8_t(*)[32])keys,
                               2, &which, &got),
                   BEACON_EAUTH);
  assert_int_equal(beacon_open(out, sizeof out, NULL, 0, &which, &got),
                   BEACON_EAUTH);
  /* what beacon_seal refuses to make */
  beacon_msg bad = msg_of(0, 1, 5);
  assert_int_equal(beacon_seal(keys[0], &bad, 1, out), ACCORD_EINVAL);
  bad = msg_of(1, 1, -5);
  assert_int_equal(beacon_seal(keys[0], &bad, 1, out), ACCORD_EINVAL);
}

/* The format, frozen: a change to it must show up here as a deliberate
 * diff. */
static void golden(void **state) {
  (void)state;
  uint8_t key[32], out[BEACON_BYTES];
  beacon_key(ws_key_a, key);
  beacon_msg m = msg_of(0x1234, 0x77, 0x0102030405060708);
  for (int i = 0; i < BEACON_NONCE_BYTES; i++) m.nonce[i] = (uint8_t)i;
  AOK(beacon_seal(key, &m, 0, out));
  char h[2 * BEACON_BYTES + 1];
  hex(out, sizeof out, h);
  printf("golden: %s\n", h);
  assert_int_equal(BEACON_BYTES, 83);
  assert_string_equal(h, GOLDEN_BEACON);
}

static void tampered(void **state) {
  (void)state;
  uint8_t key[32], out[BEACON_BYTES], big[BEACON_BYTES + 1];
  beacon_key(ws_key_a, key);
  beacon_msg m = msg_of(80, 3, 1000), got;
  AOK(beacon_seal(key, &m, 1, out));
  for (size_t i = 0; i < 8 * sizeof out; i++) {
    out[i / 8] ^= (uint8_t)(1u << (i % 8));
    assert_int_equal(
        beacon_open(out, sizeof out, (const uint8_t(*)[32])&key, 1, NULL,
                    &got),
        BEACON_EAUTH);
    out[i / 8] ^= (uint8_t)(1u << (i % 8));
  }
  for (size_t n = 0; n < sizeof big; n++) {
    if (n == BEACON_BYTES) continue;
    memset(big, 0, sizeof big);
    memcpy(big, out, n < BEACON_BYTES ? n : BEACON_BYTES);
    assert_int_equal(beacon_open(big, n, (const uint8_t(*)[32])&key, 1,
                                 NULL, &got),
                     BEACON_ESIZE);
  }
  assert_int_equal(beacon_open(NULL, BEACON_BYTES,
                               (const uint8_t(*)[32])&key, 1, NULL, &got),
                   BEACON_ESIZE);
  assert_int_equal(beacon_open(out, sizeof out, (const uint8_t(*)[32])&key,
                               1, NULL, &got),
                   BEACON_OK);
}

/* Sealed by a member but breaking a rule: refused after opening. */
static void bad_contents(void **state) {
  (void)state;
  uint8_t key[32], out[BEACON_BYTES], nonce[BEACON_NONCE_BYTES] = {1};
  beacon_key(ws_key_a, key);
  beacon_msg got;
  uint8_t plain[BEACON_PLAIN_BYTES];
  memset(plain, 0, sizeof plain);
  plain[0] = 1;
  plain[2] = 80; /* port 80 */
  plain[3 + 32 + 7] = 9;
  beacon_seal_plain(key, nonce, plain, out);
  assert_int_equal(beacon_open(out, sizeof out, (const uint8_t(*)[32])&key,
                               1, NULL, &got),
                   BEACON_OK);
  assert_int_equal(got.time, 9);
  plain[0] = 2; /* a version we do not know */
  beacon_seal_plain(key, nonce, plain, out);
  assert_int_equal(beacon_open(out, sizeof out, (const uint8_t(*)[32])&key,
                               1, NULL, &got),
                   BEACON_EFORMAT);
  plain[0] = 1;
  plain[2] = 0; /* port 0 */
  beacon_seal_plain(key, nonce, plain, out);
  assert_int_equal(beacon_open(out, sizeof out, (const uint8_t(*)[32])&key,
                               1, NULL, &got),
                   BEACON_EFORMAT);
  plain[2] = 80;
  plain[3 + 32] = 0x80; /* time < 0 */
  beacon_seal_plain(key, nonce, plain, out);
  assert_int_equal(beacon_open(out, sizeof out, (const uint8_t(*)[32])&key,
                               1, NULL, &got),
                   BEACON_EFORMAT);
}

static int contains(const uint8_t *h, size_t hn, const uint8_t *n, size_t nn) {
  for (size_t i = 0; i + nn <= hn; i++)
    if (!memcmp(h + i, n, nn)) return 1;
  return 0;
}

/* Nothing an observer can read or link. */
static void opaque(void **state) {
  (void)state;
  uint8_t key[32], a[BEACON_BYTES], b[BEACON_BYTES];
  beacon_key(ws_key_a, key);
  uint8_t pk[32];
  for (int i = 0; i < 32; i++) pk[i] = (uint8_t)(0xc0 + i);
  beacon_msg m = msg_of(0xbeef, 0, 1234567);
  memcpy(m.pk, pk, 32);
  AOK(beacon_seal(key, &m, 1, a));
  AOK(beacon_seal(key, &m, 1, b));
  assert_false(contains(a, sizeof a, pk, 8));
  assert_false(contains(a, sizeof a, ws_id_a, 16));
  assert_false(contains(a, sizeof a, ws_key_a, 8));
  assert_false(contains(a, sizeof a, key, 8));
  assert_false(contains(a, sizeof a, (const uint8_t *)"\xbe\xef", 2) &&
               contains(b, sizeof b, (const uint8_t *)"\xbe\xef", 2));
  /* the same message twice: no common run of 4 bytes at the same place */
  int same = 0;
  for (size_t i = 0; i + 4 <= sizeof a; i++) same += !memcmp(a + i, b + i, 4);
  assert_int_equal(same, 0);
}

static void window(void **state) {
  (void)state;
  static beacon_seen seen; /* 24 KiB: not on the stack */
  memset(&seen, 0, sizeof seen);
  int64_t now = 1700000000000;
  beacon_msg m = msg_of(1, 1, now);
  for (int i = 0; i < 4; i++) {
    int64_t t[4] = {now - BEACON_WINDOW_MS - 1, now + BEACON_WINDOW_MS + 1,
                    0, INT64_MAX};
    m.time = t[i];
    m.nonce[0] = (uint8_t)(100 + i);
    assert_int_equal(beacon_check(&seen, &m, now), BEACON_ESTALE);
  }
  assert_int_equal(seen.n, 0); /* refused: nothing remembered */
  m.time = now - BEACON_WINDOW_MS; /* the edges are inside */
  m.nonce[0] = 1;
  assert_int_equal(beacon_check(&seen, &m, now), BEACON_OK);
  m.time = now + BEACON_WINDOW_MS;
  m.nonce[0] = 2;
  assert_int_equal(beacon_check(&seen, &m, now), BEACON_OK);
  /* a replay, even with another time, is refused */
  m.nonce[0] = 1;
  m.time = now;
  assert_int_equal(beacon_check(&seen, &m, now), BEACON_EREPLAY);
  assert_int_equal(beacon_check(&seen, &m, -1), BEACON_ESTALE);
  m.time = -1;
  assert_int_equal(beacon_check(&seen, &m, now), BEACON_ESTALE);
}

static void replay_memory(void **state) {
  (void)state;
  static beacon_seen seen;
  memset(&seen, 0, sizeof seen);
  int64_t now = 5000000;
  beacon_msg m = msg_of(1, 1, now);
  for (uint32_t i = 0; i < BEACON_SEEN_MAX + 10; i++) {
    memcpy(m.nonce, &i, sizeof i);
    assert_int_equal(beacon_check(&seen, &m, now), BEACON_OK);
  }
  assert_int_equal(seen.n, BEACON_SEEN_MAX);
  /* the last BEACON_SEEN_MAX are remembered, the first 10 forgotten */
  for (uint32_t i = 10; i < BEACON_SEEN_MAX + 10; i += 97) {
    memcpy(m.nonce, &i, sizeof i);
    assert_int_equal(beacon_check(&seen, &m, now), BEACON_EREPLAY);
  }
  uint32_t i = 3;
  memcpy(m.nonce, &i, sizeof i);
  assert_int_equal(beacon_check(&seen, &m, now), BEACON_OK);
}

/* ---- libuv, over multicast on loopback ----------------------------------- */

typedef struct ep {
  const char *name;
  beacon *b;
  uint8_t pk[32];
  uint16_t listen_port;
  int found[3]; /* by endpoint index */
  int found_other;
  struct world *w;
} ep;

typedef struct world {
  uv_loop_t loop;
  uv_timer_t guard;
  ep e[3];
  char group[32];
  uint16_t port;
} world;

static void log_line(void *ud, const char *line) {
  printf("log %s: %s\n", ((ep *)ud)->name, line);
}

static void on_found(void *ud, const uint8_t *ws, const uint8_t *pk,
                     const struct sockaddr *addr, const char *text) {
  ep *e = ud;
  for (int i = 0; i < 3; i++) {
    ep *o = &e->w->e[i];
    if (memcmp(pk, o->pk, 32)) continue;
    assert_true(o != e); /* never ourselves */
    assert_memory_equal(ws, ws_id_a, 16);
    const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
    assert_int_equal(in->sin_family, AF_INET);
    assert_int_equal(ntohs(in->sin_port), o->listen_port);
    char want[32];
    snprintf(want, sizeof want, "127.0.0.1:%u", o->listen_port);
    assert_string_equal(text, want);
    e->found[i]++;
    return;
  }
  e->found_other++;
}

static void on_guard(uv_timer_t *t) { fail_msg("test took too long"); }

/* Starts endpoint i with one workspace; 0, or -1 if multicast is not
 * available here. */
static int ep_start(world *w, int i, const char *name, const uint8_t *id,
                    const uint8_t *key) {
  ep *e = &w->e[i];
  e->name = name;
  e->w = w;
  uint8_t sk[64];
  AOK(sign_keypair(e->pk, sk));
  e->listen_port = (uint16_t)(20000 + i);
  beacon_ws ws = {id, key};
  beacon_options o = {e->pk, e->listen_port, &ws, 1, 30, w->group, w->port,
                      "127.0.0.1", on_found, e, log_line, e};
  char err[200] = "";
  int rc = beacon_start(&w->loop, &o, &e->b, err, sizeof err);
  if (rc) {
    printf("beacon_start: %s\n", err);
    return -1;
  }
  return 0;
}

static void world_close(world *w) {
  for (int i = 0; i < 3; i++) beacon_stop(w->e[i].b);
  uv_close((uv_handle_t *)&w->guard, NULL);
  uv_run(&w->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&w->loop), 0);
}

static int world_init(world *w) {
  memset(w, 0, sizeof *w);
  test_rng r;
  rng_init(&r, test_seed("beacon group"));
  snprintf(w->group, sizeof w->group, "239.255.%u.%u",
           (unsigned)rng_below(&r, 256), 1 + (unsigned)rng_below(&r, 254));
  w->port = (uint16_t)(30000 + rng_below(&r, 20000));
  printf("group %s port %u\n", w->group, w->port);
  assert_int_equal(uv_loop_init(&w->loop), 0);
  uv_timer_init(&w->loop, &w->guard);
  uv_timer_start(&w->guard, on_guard, 30000, 0);
  uv_unref((uv_handle_t *)&w->guard);
  if (ep_start(w, 0, "A", ws_id_a, ws_key_a) ||
      ep_start(w, 1, "B", ws_id_a, ws_key_a) ||
      ep_start(w, 2, "C", ws_id_b, ws_key_b)) {
    world_close(w);
    return -1;
  }
  return 0;
}

static const beacon_stats *st(world *w, int i) {
  return beacon_get_stats(w->e[i].b);
}

static void find_each_other(void **state) {
  (void)state;
  world w;
  if (world_init(&w)) skip();
  ep *a = &w.e[0], *b = &w.e[1], *c = &w.e[2];
  /* until A and B found each other a few times and C has heard both of
   * them several times (so its silence means something) */
  while (a->found[1] < 3 || b->found[0] < 3 ||
         st(&w, 2)->rejected[-BEACON_EAUTH] < 6)
    uv_run(&w.loop, UV_RUN_ONCE);
  for (int i = 0; i < 3; i++) {
    const beacon_stats *s = st(&w, i);
    printf("%s: sent %llu received %llu found %llu own %llu auth-rejected "
           "%llu\n",
           w.e[i].name, (unsigned long long)s->sent,
           (unsigned long long)s->received, (unsigned long long)s->found,
           (unsigned long long)s->own,
           (unsigned long long)s->rejected[-BEACON_EAUTH]);
    assert_true(s->own > 0); /* heard itself, and ignored it */
    assert_int_equal(s->rejected[-BEACON_EREPLAY], 0);
    assert_int_equal(s->rejected[-BEACON_ESTALE], 0);
  }
  assert_int_equal(c->found[0] + c->found[1] + c->found_other, 0);
  assert_int_equal(a->found[2] + b->found[2], 0); /* C's are not ours */
  assert_true(st(&w, 0)->rejected[-BEACON_EAUTH] > 0);
  assert_int_equal(a->found_other + b->found_other, 0);

  /* turned off: A is heard no more. Wait for a few of C's beacons at B
   * (datagrams A sent before stopping may still be queued), then for a
   * few more, during which nothing of A may arrive. */
  beacon_stop(a->b);
  a->b = NULL;
  uint64_t mark = st(&w, 1)->rejected[-BEACON_EAUTH];
  while (st(&w, 1)->rejected[-BEACON_EAUTH] < mark + 2)
    uv_run(&w.loop, UV_RUN_ONCE);
  int from_a = b->found[0];
  mark = st(&w, 1)->rejected[-BEACON_EAUTH];
  while (st(&w, 1)->rejected[-BEACON_EAUTH] < mark + 4)
    uv_run(&w.loop, UV_RUN_ONCE);
  assert_int_equal(b->found[0], from_a);
  world_close(&w);
}

/* Hostile datagrams at the beacon port: counted and refused, nothing
 * found, no crash. */
static void junk(void **state) {
  (void)state;
  world w;
  if (world_init(&w)) skip();
  uv_udp_t s;
  uv_udp_init(&w.loop, &s);
  struct sockaddr_in to;
  uv_ip4_addr("127.0.0.1", 0, &to);
  assert_int_equal(uv_udp_bind(&s, (struct sockaddr *)&to, 0), 0);
  uv_ip4_addr(w.group, w.port, &to);
  assert_int_equal(uv_udp_set_multicast_interface(&s, "127.0.0.1"), 0);
  uint8_t big[2000], key[32], out[BEACON_BYTES];
  memset(big, 0x5a, sizeof big);
  size_t sizes[] = {0, 1, BEACON_BYTES - 1, BEACON_BYTES, BEACON_BYTES + 1,
                    sizeof big};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    uv_buf_t b = uv_buf_init((char *)big, (unsigned)sizes[i]);
    assert_true(uv_udp_try_send(&s, &b, 1, (struct sockaddr *)&to) >= 0);
  }
  /* a beacon sealed with A and B's key but carrying a stale time */
  beacon_key(ws_key_a, key);
  beacon_msg m = msg_of(999, 0xee, 0);
  m.time = (int64_t)uv_now(&w.loop); /* not wall time: stale */
  AOK(beacon_seal(key, &m, 1, out));
  uv_buf_t b = uv_buf_init((char *)out, sizeof out);
  assert_true(uv_udp_try_send(&s, &b, 1, (struct sockaddr *)&to) >= 0);
  while (st(&w, 0)->rejected[-BEACON_ESIZE] < 5 ||
         st(&w, 0)->rejected[-BEACON_EAUTH] < 1 ||
         st(&w, 0)->rejected[-BEACON_ESTALE] < 1 || w.e[0].found[1] < 1)
    uv_run(&w.loop, UV_RUN_ONCE);
  assert_int_equal(w.e[0].found_other, 0);
  assert_int_equal(w.e[1].found_other, 0);
  uv_close((uv_handle_t *)&s, NULL);
  world_close(&w);
}

TEST_MAIN(cmocka_unit_test(roundtrip), cmocka_unit_test(golden),
          cmocka_unit_test(tampered), cmocka_unit_test(bad_contents),
          cmocka_unit_test(opaque), cmocka_unit_test(window),
          cmocka_unit_test(replay_memory),
          cmocka_unit_test(find_each_other), cmocka_unit_test(junk))
