/*
 * handshake.c — the handshake state machine (message flow in handshake.h,
 * the reasoning in docs/handshake.md).
 *
 * Derivations, every one keyed BLAKE2b-256 with a label naming its use, so
 * no value ever serves two purposes:
 *   ws_hash  = kh(K, "accord-hs1 workspace")
 *   mac1     = kh(K, "accord-hs1 msg1" ‖ e_I)
 *   mac2     = kh(K, "accord-hs1 msg2" ‖ e_I ‖ e_R)
 *   th       = H("accord-hs1 transcript" ‖ ws_hash ‖ e_I ‖ e_R)
 *   k_boxN   = kh(ss, "accord-hs1 boxN" ‖ th)            ss = X25519(e_I, e_R)
 *   sig_I    = Ed25519_I("accord-hs1 initiator proof" ‖ th ‖ pk_R)
 *   sig_R    = Ed25519_R("accord-hs1 responder proof" ‖ th ‖ pk_I)
 *   th_final = H(th ‖ pk_I ‖ pk_R)
 *   k_i2r    = kh(ss, "accord-hs1 i2r" ‖ th_final), k_r2i likewise
 * Boxes are one-shot AEADs (box_seal, nonce zero: every box key encrypts
 * exactly one message) with th as associated data.
 *
 * A responder may hold several workspace keys (more_keys): message 1's MAC
 * is checked under each, and the key that matches (ws_index) is the one
 * the rest of the handshake uses, so nothing changes on the wire and a
 * node without any of the keys still learns nothing. A responder that
 * allows strangers accepts a proven key the membership check refuses, and
 * says so (stranger): the session layer then only lets it redeem an
 * invite.
 *
 * Workload: one handshake per connection; cost is two X25519 operations,
 * one signature and one verification per side.
 */
#include "handshake.h"

#include <string.h>

#include "accord.h"

enum {
  ST_I_WAIT2 = 1,
  ST_I_WAIT4,
  ST_R_WAIT1,
  ST_R_WAIT3,
  ST_DONE,
  ST_FAILED
};

#define MSG1_BYTES (KX_BYTES + 32)
#define MSG2_BYTES (KX_BYTES + 32 + SIGN_PUBLIC_BYTES + BOX_ABYTES)
#define MSG3_BYTES (SIGN_PUBLIC_BYTES + SIGN_BYTES + BOX_ABYTES)
#define MSG4_BYTES (SIGN_BYTES + BOX_ABYTES)
_Static_assert(MSG2_BYTES <= HS_MSG_MAX && MSG3_BYTES <= HS_MSG_MAX,
               "HS_MSG_MAX");

#define LABEL(s) (const uint8_t *)(s), sizeof(s) - 1

const char *hs_reason_str(int reason) {
  switch (reason) {
  case HS_OK: return "ok";
  case HS_BAD_MAC:
    return "handshake not authenticated with the workspace key";
  case HS_BAD_KEY: return "peer sent an invalid ephemeral key";
  case HS_BAD_BOX:
    return "identity proof could not be decrypted (tampered or replayed)";
  case HS_BAD_SIG: return "identity proof has a bad signature";
  case HS_NOT_MEMBER: return "peer is not a member of the workspace";
  case HS_SELF: return "peer is this node";
  case HS_NOMEM: return "out of memory";
  default: return "unknown handshake failure";
  }
}

/* kh(key, label ‖ a ‖ b) */
static void kh(uint8_t out[32], const uint8_t key[32], const uint8_t *label,
               size_t llen, const uint8_t *a, size_t alen, const uint8_t *b,
               size_t blen) {
  hash_state s;
  hash_init_keyed(&s, key);
  hash_update(&s, label, llen);
  if (alen) hash_update(&s, a, alen);
  if (blen) hash_update(&s, b, blen);
  hash_final(&s, out);
  crypto_wipe(&s, sizeof s);
}

/* The bytes a proof signs: label ‖ th ‖ the peer's identity. */
#define PROOF_LABEL_I "accord-hs1 initiator proof"
#define PROOF_LABEL_R "accord-hs1 responder proof"
#define PROOF_MAX (sizeof PROOF_LABEL_I - 1 + 32 + SIGN_PUBLIC_BYTES)
_Static_assert(sizeof PROOF_LABEL_I == sizeof PROOF_LABEL_R, "labels");

static size_t proof_msg(uint8_t out[PROOF_MAX], int initiator,
                        const uint8_t th[32], const uint8_t *peer) {
  size_t l = sizeof PROOF_LABEL_I - 1;
  memcpy(out, initiator ? PROOF_LABEL_I : PROOF_LABEL_R, l);
  memcpy(out + l, th, 32);
  memcpy(out + l + 32, peer, SIGN_PUBLIC_BYTES);
  return PROOF_MAX;
}

static void wipe_secrets(hs *h) {
  crypto_wipe(h->eph_sk, sizeof h->eph_sk);
  crypto_wipe(h->shared, sizeof h->shared);
  crypto_wipe(h->sk, sizeof h->sk);
  crypto_wipe(h->ws_key, sizeof h->ws_key);
  crypto_wipe(h->more, sizeof h->more);
  crypto_wipe(h->in, sizeof h->in);
}

static int fail(hs *h, hs_reason why) {
  h->state = ST_FAILED;
  h->reason = why;
  h->out_len = 0; /* a failing side says nothing */
  wipe_secrets(h);
  crypto_wipe(h->tx_key, sizeof h->tx_key);
  crypto_wipe(h->rx_key, sizeof h->rx_key);
  return HS_FAIL;
}

static void transcript(hs *h, const uint8_t *e_i, const uint8_t *e_r) {
  hash_state s;
  hash_init(&s);
  hash_update(&s, LABEL("accord-hs1 transcript"));
  hash_update(&s, h->ws_hash, 32);
  hash_update(&s, e_i, KX_BYTES);
  hash_update(&s, e_r, KX_BYTES);
  hash_final(&s, h->th);
}

static void box_key(hs *h, const char *label, uint8_t out[32]) {
  kh(out, h->shared, (const uint8_t *)label, strlen(label), h->th, 32, NULL,
     0);
}

static int finish(hs *h, const uint8_t *pk_i, const uint8_t *pk_r) {
  uint8_t thf[32], i2r[32], r2i[32];
  hash_state s;
  hash_init(&s);
  hash_update(&s, h->th, 32);
  hash_update(&s, pk_i, SIGN_PUBLIC_BYTES);
  hash_update(&s, pk_r, SIGN_PUBLIC_BYTES);
  hash_final(&s, thf);
  kh(i2r, h->shared, LABEL("accord-hs1 i2r"), thf, 32, NULL, 0);
  kh(r2i, h->shared, LABEL("accord-hs1 r2i"), thf, 32, NULL, 0);
  memcpy(h->tx_key, h->initiator ? i2r : r2i, 32);
  memcpy(h->rx_key, h->initiator ? r2i : i2r, 32);
  crypto_wipe(i2r, sizeof i2r);
  crypto_wipe(r2i, sizeof r2i);
  h->state = ST_DONE;
  wipe_secrets(h);
  return HS_DONE;
}

static int member(hs *h, const uint8_t *pk) {
  if (h->is_member_ws) return h->is_member_ws(h->userdata, h->ws_index, pk);
  return h->is_member ? h->is_member(h->userdata, pk) : 1;
}

int hs_init(hs *h, int initiator, const hs_config *cfg) {
  if (!h || !cfg || !cfg->ws_key || !cfg->pk || !cfg->sk ||
      cfg->n_more >= HS_MAX_KEYS || (cfg->n_more && !cfg->more_keys))
    return ACCORD_EINVAL;
  memset(h, 0, sizeof *h);
  int rc = crypto_init();
  if (rc) return rc;
  h->initiator = initiator != 0;
  memcpy(h->ws_key, cfg->ws_key, HS_KEY_BYTES);
  memcpy(h->pk, cfg->pk, SIGN_PUBLIC_BYTES);
  memcpy(h->sk, cfg->sk, SIGN_SECRET_BYTES);
  h->is_member = cfg->is_member;
  h->userdata = cfg->userdata;
  if (!initiator && cfg->n_more) {
    memcpy(h->more, cfg->more_keys, cfg->n_more * HS_KEY_BYTES);
    h->n_more = cfg->n_more;
  }
  h->is_member_ws = cfg->is_member_ws;
  h->allow_strangers = !initiator && cfg->allow_strangers;
  kh(h->ws_hash, h->ws_key, LABEL("accord-hs1 workspace"), NULL, 0, NULL, 0);
  if (h->initiator) {
    if ((rc = kx_keypair(h->eph_pk, h->eph_sk))) {
      hs_clear(h);
      return rc;
    }
    memcpy(h->out, h->eph_pk, KX_BYTES);
    kh(h->out + KX_BYTES, h->ws_key, LABEL("accord-hs1 msg1"), h->eph_pk,
       KX_BYTES, NULL, 0);
    h->out_len = MSG1_BYTES;
    h->state = ST_I_WAIT2;
    h->want = MSG2_BYTES;
  } else {
    h->state = ST_R_WAIT1;
    h->want = MSG1_BYTES;
  }
  return 0;
}

/* ---- the four messages --------------------------------------------------- */

static int on_msg1(hs *h) { /* responder */
  uint8_t mac[32], key[32];
  const uint8_t *e_i = h->in;
  /* every key is tried, so the time taken says only how many we hold */
  size_t found = 0;
  for (size_t i = 0; i <= h->n_more; i++) {
    const uint8_t *k = i == 0 ? h->ws_key : h->more[i - 1];
    kh(mac, k, LABEL("accord-hs1 msg1"), e_i, KX_BYTES, NULL, 0);
    if (crypto_equal(mac, h->in + KX_BYTES, 32) && !found) found = i + 1;
  }
  if (!found) return fail(h, HS_BAD_MAC);
  h->ws_index = found - 1;
  if (h->ws_index) { /* the rest of the handshake runs under that key */
    memcpy(h->ws_key, h->more[h->ws_index - 1], HS_KEY_BYTES);
    kh(h->ws_hash, h->ws_key, LABEL("accord-hs1 workspace"), NULL, 0, NULL,
       0);
  }
  crypto_wipe(h->more, sizeof h->more);
  memcpy(h->peer_eph, e_i, KX_BYTES);
  if (kx_keypair(h->eph_pk, h->eph_sk)) return fail(h, HS_NOMEM);
  if (kx_shared(h->shared, h->eph_sk, h->peer_eph))
    return fail(h, HS_BAD_KEY);
  transcript(h, h->peer_eph, h->eph_pk);
  uint8_t *o = h->out;
  memcpy(o, h->eph_pk, KX_BYTES);
  kh(o + KX_BYTES, h->ws_key, LABEL("accord-hs1 msg2"), h->peer_eph,
     KX_BYTES, h->eph_pk, KX_BYTES);
  box_key(h, "accord-hs1 box2", key);
  box_seal(o + KX_BYTES + 32, h->pk, SIGN_PUBLIC_BYTES, h->th, 32, key);
  crypto_wipe(key, sizeof key);
  h->out_len = MSG2_BYTES;
  h->state = ST_R_WAIT3;
  h->want = MSG3_BYTES;
  return HS_CONTINUE;
}

static int on_msg2(hs *h) { /* initiator */
  uint8_t mac[32], key[32], pm[PROOF_MAX], body[SIGN_PUBLIC_BYTES + SIGN_BYTES];
  const uint8_t *e_r = h->in;
  kh(mac, h->ws_key, LABEL("accord-hs1 msg2"), h->eph_pk, KX_BYTES, e_r,
     KX_BYTES);
  if (!crypto_equal(mac, h->in + KX_BYTES, 32)) return fail(h, HS_BAD_MAC);
  memcpy(h->peer_eph, e_r, KX_BYTES);
  if (kx_shared(h->shared, h->eph_sk, h->peer_eph))
    return fail(h, HS_BAD_KEY);
  transcript(h, h->eph_pk, h->peer_eph);
  box_key(h, "accord-hs1 box2", key);
  int bad = box_open(h->peer_pk, h->in + KX_BYTES + 32,
                     SIGN_PUBLIC_BYTES + BOX_ABYTES, h->th, 32, key);
  crypto_wipe(key, sizeof key);
  if (bad) return fail(h, HS_BAD_BOX);
  if (crypto_equal(h->peer_pk, h->pk, SIGN_PUBLIC_BYTES))
    return fail(h, HS_SELF);
  /* not yet proven (message 4 proves it), but a key we would refuse
   * anyway need not learn who we are */
  if (!member(h, h->peer_pk)) return fail(h, HS_NOT_MEMBER);
  memcpy(body, h->pk, SIGN_PUBLIC_BYTES);
  sign_detached(body + SIGN_PUBLIC_BYTES, pm,
                proof_msg(pm, 1, h->th, h->peer_pk), h->sk);
  box_key(h, "accord-hs1 box3", key);
  box_seal(h->out, body, sizeof body, h->th, 32, key);
  crypto_wipe(key, sizeof key);
  h->out_len = MSG3_BYTES;
  h->state = ST_I_WAIT4;
  h->want = MSG4_BYTES;
  return HS_CONTINUE;
}

static int on_msg3(hs *h) { /* responder */
  uint8_t key[32], pm[PROOF_MAX], body[SIGN_PUBLIC_BYTES + SIGN_BYTES],
      sig[SIGN_BYTES];
  box_key(h, "accord-hs1 box3", key);
  int bad = box_open(body, h->in, MSG3_BYTES, h->th, 32, key);
  crypto_wipe(key, sizeof key);
  if (bad) return fail(h, HS_BAD_BOX);
  memcpy(h->peer_pk, body, SIGN_PUBLIC_BYTES);
  if (!sign_verify(body + SIGN_PUBLIC_BYTES, pm,
                   proof_msg(pm, 1, h->th, h->pk), h->peer_pk))
    return fail(h, HS_BAD_SIG);
  if (crypto_equal(h->peer_pk, h->pk, SIGN_PUBLIC_BYTES))
    return fail(h, HS_SELF);
  if (!member(h, h->peer_pk)) {
    if (!h->allow_strangers) return fail(h, HS_NOT_MEMBER);
    h->stranger = 1;
  }
  sign_detached(sig, pm, proof_msg(pm, 0, h->th, h->peer_pk), h->sk);
  box_key(h, "accord-hs1 box4", key);
  box_seal(h->out, sig, sizeof sig, h->th, 32, key);
  crypto_wipe(key, sizeof key);
  h->out_len = MSG4_BYTES;
  return finish(h, h->peer_pk, h->pk);
}

static int on_msg4(hs *h) { /* initiator */
  uint8_t key[32], pm[PROOF_MAX], sig[SIGN_BYTES];
  box_key(h, "accord-hs1 box4", key);
  int bad = box_open(sig, h->in, MSG4_BYTES, h->th, 32, key);
  crypto_wipe(key, sizeof key);
  if (bad) return fail(h, HS_BAD_BOX);
  if (!sign_verify(sig, pm, proof_msg(pm, 0, h->th, h->pk), h->peer_pk))
    return fail(h, HS_BAD_SIG);
  return finish(h, h->pk, h->peer_pk);
}

int hs_feed(hs *h, const uint8_t *p, size_t n, size_t *used) {
  *used = 0;
  while (h->state != ST_DONE && h->state != ST_FAILED) {
    size_t k = h->want - h->have;
    if (k > n - *used) k = n - *used;
    memcpy(h->in + h->have, p + *used, k);
    h->have += k;
    *used += k;
    if (h->have < h->want) return HS_CONTINUE;
    h->have = 0;
    int rc;
    switch (h->state) {
    case ST_R_WAIT1: rc = on_msg1(h); break;
    case ST_I_WAIT2: rc = on_msg2(h); break;
    case ST_R_WAIT3: rc = on_msg3(h); break;
    default: rc = on_msg4(h); break;
    }
    /* one message in, at most one out: the caller sends it before the
     * peer can answer, so stop here (the peer cannot have sent more
     * handshake bytes yet, except frames after its last message) */
    if (rc != HS_CONTINUE) return rc;
    if (h->out_len) return HS_CONTINUE;
  }
  return h->state == ST_DONE ? HS_DONE : HS_FAIL;
}

size_t hs_take_output(hs *h, uint8_t *dst) {
  size_t n = h->out_len;
  if (n) memcpy(dst, h->out, n);
  h->out_len = 0;
  crypto_wipe(h->out, sizeof h->out);
  return n;
}

void hs_clear(hs *h) { crypto_wipe(h, sizeof *h); }
