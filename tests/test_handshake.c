/*
 * test_handshake.c — net/handshake.c between two state machines, no
 * sockets: success (keys agree crosswise, identities learned, frames
 * flow), and each refusal: wrong workspace key (the responder says
 * nothing), non-members on either side, tampered messages, a forged
 * identity, replayed messages, a low-order ephemeral key. Also: nothing an
 * eavesdropper records names either node.
 */
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "handshake.h"
#include "testutil.h"

typedef struct node {
  uint8_t pk[SIGN_PUBLIC_BYTES], sk[SIGN_SECRET_BYTES];
} node;

static void node_make(node *n) { AOK(sign_keypair(n->pk, n->sk)); }

static const uint8_t ws_a[32] = {0xa1, 0xa2, 0xa3};
static const uint8_t ws_b[32] = {0xb1, 0xb2, 0xb3};

/* is_member over a small allow list (userdata); NULL list: everyone. */
typedef struct allow {
  const uint8_t *keys[4];
  int n, calls;
} allow;

static int allow_fn(void *ud, const uint8_t *pk) {
  allow *a = ud;
  a->calls++;
  for (int i = 0; i < a->n; i++)
    if (!memcmp(a->keys[i], pk, SIGN_PUBLIC_BYTES)) return 1;
  return 0;
}

static hs_config cfg_of(const node *n, const uint8_t *ws, allow *a) {
  hs_config c = {.ws_key = ws, .pk = n->pk, .sk = n->sk,
                 .is_member = a ? allow_fn : NULL, .userdata = a};
  return c;
}

/* The messages of one run, as an eavesdropper records them. */
typedef struct wire {
  uint8_t msg[4][HS_MSG_MAX];
  size_t len[4];
  int count;
} wire;

/* Tamper hook: called with each message before delivery. */
typedef void (*tamper_fn)(int index, uint8_t *msg, size_t len);

/* Runs the handshake, delivering each side's output to the other (in
 * chunks of `chunk` bytes, 0: whole), until both stop. Returns the final
 * statuses in *si, *sr. */
static void run(hs *i, hs *r, size_t chunk, wire *w, tamper_fn tamper,
                int *si, int *sr) {
  *si = *sr = HS_CONTINUE;
  uint8_t m[HS_MSG_MAX];
  size_t n = hs_take_output(i, m);
  hs *from = i, *to = r;
  int *sto = sr;
  if (w) w->count = 0;
  int guard = 0;
  while (n > 0 && guard++ < 10) {
    if (tamper) tamper(w ? w->count : 0, m, n);
    if (w && w->count < 4) {
      memcpy(w->msg[w->count], m, n);
      w->len[w->count++] = n;
    }
    size_t off = 0;
    while (off < n) {
      size_t k = chunk && chunk < n - off ? chunk : n - off, used = 0;
      *sto = hs_feed(to, m + off, k, &used);
      assert_int_equal(used, *sto == HS_FAIL ? used : k);
      off += k;
      if (*sto != HS_CONTINUE) break;
    }
    n = hs_take_output(to, m);
    hs *t = from;
    from = to;
    to = t;
    sto = sto == sr ? si : sr;
  }
}

static void check_keys(const hs *i, const hs *r) {
  assert_memory_equal(i->tx_key, r->rx_key, HS_KEY_BYTES);
  assert_memory_equal(i->rx_key, r->tx_key, HS_KEY_BYTES);
  assert_memory_not_equal(i->tx_key, i->rx_key, HS_KEY_BYTES);
}

static void success(void **state) {
  (void)state;
  node a, b;
  node_make(&a);
  node_make(&b);
  allow la = {{b.pk}, 1, 0}, lb = {{a.pk}, 1, 0};
  hs_config ca = cfg_of(&a, ws_a, &la), cb = cfg_of(&b, ws_a, &lb);
  size_t chunks[] = {0, 1, 7};
  for (int c = 0; c < 3; c++) {
    hs i, r;
    AOK(hs_init(&i, 1, &ca));
    AOK(hs_init(&r, 0, &cb));
    int si, sr;
    wire w;
    run(&i, &r, chunks[c], &w, NULL, &si, &sr);
    assert_int_equal(si, HS_DONE);
    assert_int_equal(sr, HS_DONE);
    assert_int_equal(w.count, 4);
    assert_int_equal(w.len[0] + w.len[1] + w.len[2] + w.len[3],
                     64 + 112 + 112 + 80);
    check_keys(&i, &r);
    assert_memory_equal(i.peer_pk, b.pk, SIGN_PUBLIC_BYTES);
    assert_memory_equal(r.peer_pk, a.pk, SIGN_PUBLIC_BYTES);
    /* an eavesdropper's record names neither node */
    for (int k = 0; k < w.count; k++)
      for (size_t off = 0; off + 8 <= w.len[k]; off++) {
        assert_memory_not_equal(w.msg[k] + off, a.pk, 8);
        assert_memory_not_equal(w.msg[k] + off, b.pk, 8);
      }
    /* the session keys carry frames both ways */
    const hs *sides[2][2] = {{&i, &r}, {&r, &i}};
    for (int d = 0; d < 2; d++) {
      frame_enc e;
      uint8_t st[FRAME_HEADER_BYTES + 32];
      AOK(frame_enc_init(&e, sides[d][0]->tx_key, st));
      AOK(frame_enc_seal(&e, (const uint8_t *)"\xa1x", 2, 0,
                         st + FRAME_HEADER_BYTES));
      frame_dec dec;
      frame_dec_init(&dec, sides[d][1]->rx_key);
      const uint8_t *p = st, *msg;
      size_t n = FRAME_HEADER_BYTES + frame_size(2), len;
      assert_int_equal(frame_dec_next(&dec, &p, &n, &msg, &len), FRAME_MSG);
      assert_memory_equal(msg, "\xa1x", 2);
      frame_dec_free(&dec);
    }
    /* done: nothing more is consumed */
    size_t used = 1;
    assert_int_equal(hs_feed(&i, (const uint8_t *)"x", 1, &used), HS_DONE);
    assert_int_equal(used, 0);
    hs_clear(&i);
    hs_clear(&r);
  }
  assert_int_equal(la.calls, 3);
  assert_int_equal(lb.calls, 3);
  /* two sessions between the same nodes get different keys (fresh
   * ephemeral keys): checked by running once more */
  hs i1, r1, i2, r2;
  int s1, s2;
  AOK(hs_init(&i1, 1, &ca));
  AOK(hs_init(&r1, 0, &cb));
  run(&i1, &r1, 0, NULL, NULL, &s1, &s2);
  AOK(hs_init(&i2, 1, &ca));
  AOK(hs_init(&r2, 0, &cb));
  run(&i2, &r2, 0, NULL, NULL, &s1, &s2);
  assert_memory_not_equal(i1.tx_key, i2.tx_key, HS_KEY_BYTES);
}

/* Bytes after the peer's last handshake message are left for the framed
 * stream. */
static void trailing_bytes(void **state) {
  (void)state;
  node a, b;
  node_make(&a);
  node_make(&b);
  hs_config ca = cfg_of(&a, ws_a, NULL), cb = cfg_of(&b, ws_a, NULL);
  hs i, r;
  AOK(hs_init(&i, 1, &ca));
  AOK(hs_init(&r, 0, &cb));
  uint8_t m[HS_MSG_MAX + 16];
  size_t n = hs_take_output(&i, m), used;
  assert_int_equal(hs_feed(&r, m, n, &used), HS_CONTINUE);
  n = hs_take_output(&r, m);
  assert_int_equal(hs_feed(&i, m, n, &used), HS_CONTINUE);
  n = hs_take_output(&i, m);
  assert_int_equal(hs_feed(&r, m, n, &used), HS_DONE);
  n = hs_take_output(&r, m);
  assert_int_equal(n, 80);
  memcpy(m + n, "stream", 6);
  assert_int_equal(hs_feed(&i, m, n + 6, &used), HS_DONE);
  assert_int_equal(used, n);
  check_keys(&i, &r);
}

/* Without the workspace key: the responder fails at once and sends
 * nothing, so the stranger learns nothing (not even that we are accord). */
static void wrong_workspace(void **state) {
  (void)state;
  node a, b;
  node_make(&a);
  node_make(&b);
  hs_config ca = cfg_of(&a, ws_b, NULL), cb = cfg_of(&b, ws_a, NULL);
  hs i, r;
  AOK(hs_init(&i, 1, &ca));
  AOK(hs_init(&r, 0, &cb));
  int si, sr;
  wire w;
  run(&i, &r, 0, &w, NULL, &si, &sr);
  assert_int_equal(sr, HS_FAIL);
  assert_int_equal(r.reason, HS_BAD_MAC);
  assert_int_equal(w.count, 1); /* message 1 only: no answer */
  uint8_t m[HS_MSG_MAX];
  assert_int_equal(hs_take_output(&r, m), 0);
  assert_int_equal(si, HS_CONTINUE);
  /* random bytes are no better */
  AOK(hs_init(&r, 0, &cb));
  uint8_t junk[64];
  for (int k = 0; k < 64; k++) junk[k] = (uint8_t)(k * 37 + 1);
  size_t used;
  assert_int_equal(hs_feed(&r, junk, 64, &used), HS_FAIL);
  assert_int_equal(hs_take_output(&r, m), 0);
  assert_string_equal(hs_reason_str(r.reason),
                      "handshake not authenticated with the workspace key");
}

static void non_member(void **state) {
  (void)state;
  node a, b, c;
  node_make(&a);
  node_make(&b);
  node_make(&c);
  /* the responder knows only c: a proves itself, and is refused */
  allow lb = {{c.pk}, 1, 0};
  hs_config ca = cfg_of(&a, ws_a, NULL), cb = cfg_of(&b, ws_a, &lb);
  hs i, r;
  AOK(hs_init(&i, 1, &ca));
  AOK(hs_init(&r, 0, &cb));
  int si, sr;
  wire w;
  run(&i, &r, 0, &w, NULL, &si, &sr);
  assert_int_equal(sr, HS_FAIL);
  assert_int_equal(r.reason, HS_NOT_MEMBER);
  assert_int_equal(w.count, 3); /* no message 4: the responder's proof */
  assert_int_equal(si, HS_CONTINUE);
  /* the initiator knows only c: it stops at message 2, before revealing
   * its own identity */
  allow la = {{c.pk}, 1, 0};
  ca = cfg_of(&a, ws_a, &la);
  cb = cfg_of(&b, ws_a, NULL);
  AOK(hs_init(&i, 1, &ca));
  AOK(hs_init(&r, 0, &cb));
  run(&i, &r, 0, &w, NULL, &si, &sr);
  assert_int_equal(si, HS_FAIL);
  assert_int_equal(i.reason, HS_NOT_MEMBER);
  assert_int_equal(w.count, 2);
  assert_int_equal(sr, HS_CONTINUE);
}

static int flip_at = -1;
static void flip(int index, uint8_t *m, size_t n) {
  if (index == flip_at) m[n / 2] ^= 0x20;
}

/* A flipped bit in any message ends the handshake on the receiving side,
 * with no session. */
static void tampered(void **state) {
  (void)state;
  node a, b;
  node_make(&a);
  node_make(&b);
  hs_config ca = cfg_of(&a, ws_a, NULL), cb = cfg_of(&b, ws_a, NULL);
  const int want[4] = {HS_BAD_MAC, HS_BAD_MAC, HS_BAD_BOX, HS_BAD_BOX};
  for (flip_at = 0; flip_at < 4; flip_at++) {
    hs i, r;
    AOK(hs_init(&i, 1, &ca));
    AOK(hs_init(&r, 0, &cb));
    int si, sr;
    wire w;
    run(&i, &r, 0, &w, flip, &si, &sr);
    hs *victim = flip_at % 2 == 0 ? &r : &i;
    assert_int_equal(flip_at % 2 == 0 ? sr : si, HS_FAIL);
    assert_int_equal(victim->reason, want[flip_at]);
    assert_int_equal(w.count, flip_at + 1);
    assert_false(si == HS_DONE && sr == HS_DONE);
  }
  flip_at = -1;
}

/* A node with the workspace key cannot pass as another member: it can
 * claim b's public key but cannot sign for it. */
static void forged_identity(void **state) {
  (void)state;
  node a, b, mallory;
  node_make(&a);
  node_make(&b);
  node_make(&mallory);
  node fake = mallory;
  memcpy(fake.pk, b.pk, SIGN_PUBLIC_BYTES);
  allow la = {{b.pk}, 1, 0};
  hs_config cm = cfg_of(&fake, ws_a, NULL), ca = cfg_of(&a, ws_a, &la);
  hs i, r;
  AOK(hs_init(&i, 1, &cm));
  AOK(hs_init(&r, 0, &ca));
  int si, sr;
  run(&i, &r, 0, NULL, NULL, &si, &sr);
  assert_int_equal(sr, HS_FAIL);
  assert_int_equal(r.reason, HS_BAD_SIG);
  assert_int_equal(la.calls, 0); /* refused before membership is asked */
  /* and as responder */
  AOK(hs_init(&i, 1, &ca));
  AOK(hs_init(&r, 0, &cm));
  run(&i, &r, 0, NULL, NULL, &si, &sr);
  assert_int_equal(si, HS_FAIL);
  assert_int_equal(i.reason, HS_BAD_SIG);
}

/* Replays: an attacker who recorded a whole session replays message 1 to
 * the responder. The responder answers with a fresh ephemeral key, so the
 * recorded message 3 no longer opens and no session results. A recorded
 * message 2 fed to a new initiator fails its MAC (bound to e_I). */
static void replayed(void **state) {
  (void)state;
  node a, b;
  node_make(&a);
  node_make(&b);
  hs_config ca = cfg_of(&a, ws_a, NULL), cb = cfg_of(&b, ws_a, NULL);
  hs i, r;
  AOK(hs_init(&i, 1, &ca));
  AOK(hs_init(&r, 0, &cb));
  int si, sr;
  wire old;
  run(&i, &r, 0, &old, NULL, &si, &sr);
  assert_int_equal(si, HS_DONE);
  assert_int_equal(sr, HS_DONE);

  hs r2;
  AOK(hs_init(&r2, 0, &cb));
  size_t used;
  assert_int_equal(hs_feed(&r2, old.msg[0], old.len[0], &used), HS_CONTINUE);
  uint8_t m[HS_MSG_MAX];
  assert_int_equal(hs_take_output(&r2, m), 112);
  assert_memory_not_equal(m, old.msg[1], 112); /* a fresh answer */
  assert_int_equal(hs_feed(&r2, old.msg[2], old.len[2], &used), HS_FAIL);
  assert_int_equal(r2.reason, HS_BAD_BOX);
  assert_int_equal(hs_take_output(&r2, m), 0);

  hs i2;
  AOK(hs_init(&i2, 1, &ca));
  assert_int_equal(hs_feed(&i2, old.msg[1], old.len[1], &used), HS_FAIL);
  assert_int_equal(i2.reason, HS_BAD_MAC);
  assert_int_equal(hs_take_output(&i2, m), 0); /* failed: says nothing */
}

/* A low-order ephemeral key (here zero) with a valid MAC: the shared
 * secret would be public, so it is refused. */
static void low_order_key(void **state) {
  (void)state;
  node b;
  node_make(&b);
  hs_config cb = cfg_of(&b, ws_a, NULL);
  uint8_t m1[64] = {0};
  hash_state s;
  hash_init_keyed(&s, ws_a);
  hash_update(&s, "accord-hs1 msg1", 15);
  hash_update(&s, m1, 32);
  hash_final(&s, m1 + 32);
  hs r;
  AOK(hs_init(&r, 0, &cb));
  size_t used;
  assert_int_equal(hs_feed(&r, m1, 64, &used), HS_FAIL);
  assert_int_equal(r.reason, HS_BAD_KEY);
  uint8_t m[HS_MSG_MAX];
  assert_int_equal(hs_take_output(&r, m), 0);
}

/* Talking to oneself is refused (the same identity on both ends). */
static void self(void **state) {
  (void)state;
  node a;
  node_make(&a);
  hs_config ca = cfg_of(&a, ws_a, NULL);
  hs i, r;
  AOK(hs_init(&i, 1, &ca));
  AOK(hs_init(&r, 0, &ca));
  int si, sr;
  run(&i, &r, 0, NULL, NULL, &si, &sr);
  assert_int_equal(si, HS_FAIL);
  assert_int_equal(i.reason, HS_SELF);
  hs_config bad = {.ws_key = NULL, .pk = a.pk, .sk = a.sk};
  assert_int_equal(hs_init(&i, 1, &bad), ACCORD_EINVAL);
}

/* A responder holding several workspace keys finds the one message 1 was
 * authenticated with; the membership check learns which; an initiator
 * with none of them still gets no answer. */
static size_t seen_index = 99;
static int member_ws_fn(void *ud, size_t index, const uint8_t *pk) {
  seen_index = index;
  return 1;
}
static void several_keys(void **state) {
  (void)state;
  node a, b;
  node_make(&a);
  node_make(&b);
  static const uint8_t ws_c[32] = {0xc1}, ws_d[32] = {0xd1};
  uint8_t more[3][32];
  memcpy(more[0], ws_b, 32);
  memcpy(more[1], ws_c, 32);
  memcpy(more[2], ws_d, 32);
  for (int k = 0; k < 4; k++) {
    const uint8_t *key = k == 0 ? ws_a : more[k - 1];
    hs_config ca = cfg_of(&a, key, NULL), cb = cfg_of(&b, ws_a, NULL);
    cb.more_keys = more[0];
    cb.n_more = 3;
    cb.is_member_ws = member_ws_fn;
    hs i, r;
    AOK(hs_init(&i, 1, &ca));
    AOK(hs_init(&r, 0, &cb));
    int si, sr;
    seen_index = 99;
    run(&i, &r, 7, NULL, NULL, &si, &sr);
    assert_int_equal(si, HS_DONE);
    assert_int_equal(sr, HS_DONE);
    assert_int_equal(r.ws_index, (size_t)k);
    assert_int_equal(seen_index, (size_t)k);
    check_keys(&i, &r);
    hs_clear(&i);
    hs_clear(&r);
  }
  /* a key the responder lacks: refused without an answer */
  static const uint8_t ws_e[32] = {0xe1};
  hs_config ca = cfg_of(&a, ws_e, NULL), cb = cfg_of(&b, ws_a, NULL);
  cb.more_keys = more[0];
  cb.n_more = 3;
  hs i, r;
  AOK(hs_init(&i, 1, &ca));
  AOK(hs_init(&r, 0, &cb));
  int si, sr;
  wire w;
  run(&i, &r, 0, &w, NULL, &si, &sr);
  assert_int_equal(sr, HS_FAIL);
  assert_int_equal(r.reason, HS_BAD_MAC);
  assert_int_equal(w.count, 1);
  /* too many keys */
  cb.n_more = HS_MAX_KEYS;
  assert_int_equal(hs_init(&r, 0, &cb), ACCORD_EINVAL);
}

/* A responder that allows strangers completes the handshake with a proven
 * non-member and flags it; a member is not flagged. */
static void stranger(void **state) {
  (void)state;
  node a, b, c;
  node_make(&a);
  node_make(&b);
  node_make(&c);
  allow lb = {{c.pk}, 1, 0};
  for (int member = 0; member < 2; member++) {
    hs_config ca = cfg_of(member ? &c : &a, ws_a, NULL),
              cb = cfg_of(&b, ws_a, &lb);
    cb.allow_strangers = 1;
    hs i, r;
    AOK(hs_init(&i, 1, &ca));
    AOK(hs_init(&r, 0, &cb));
    int si, sr;
    run(&i, &r, 0, NULL, NULL, &si, &sr);
    assert_int_equal(si, HS_DONE);
    assert_int_equal(sr, HS_DONE);
    assert_int_equal(r.stranger, !member);
    assert_memory_equal(r.peer_pk, member ? c.pk : a.pk, SIGN_PUBLIC_BYTES);
    check_keys(&i, &r);
  }
}

TEST_MAIN(cmocka_unit_test(success), cmocka_unit_test(several_keys),
          cmocka_unit_test(stranger), cmocka_unit_test(trailing_bytes),
          cmocka_unit_test(wrong_workspace), cmocka_unit_test(non_member),
          cmocka_unit_test(tampered), cmocka_unit_test(forged_identity),
          cmocka_unit_test(replayed), cmocka_unit_test(low_order_key),
          cmocka_unit_test(self))
