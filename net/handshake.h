/*
 * handshake.h — the connection handshake (DESIGN §6, docs/handshake.md) as
 * a pure state machine: bytes in, bytes out, no sockets and no clock. The
 * transport (conn.c) moves the bytes and enforces the deadline.
 *
 *   1  I -> R   e_I ‖ mac(K, e_I)                                   64 bytes
 *   2  R -> I   e_R ‖ mac(K, e_I ‖ e_R) ‖ box2(pk_R)               112 bytes
 *   3  I -> R   box3(pk_I ‖ sig_I(th ‖ pk_R))                      112 bytes
 *   4  R -> I   box4(sig_R(th ‖ pk_I))                              80 bytes
 *
 * K is the workspace key, e_* ephemeral X25519 keys, pk_* Ed25519 node
 * identities, th the transcript hash (workspace key hash and both ephemeral
 * keys); boxes are encrypted under keys derived from X25519(e_I, e_R) and
 * th. The two session keys (one per direction) are derived from the same
 * secret and the whole transcript, identities included.
 *
 * Messages have fixed sizes, so no framing is needed before the session
 * keys exist. Bytes the peer sends after its last handshake message belong
 * to the framed stream: hs_feed stops consuming at the end of the
 * handshake and reports how much it used.
 */
#ifndef ACCORD_HANDSHAKE_H
#define ACCORD_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

#define HS_KEY_BYTES 32 /* workspace key and session keys */
#define HS_MSG_MAX 112
#define HS_MAX_KEYS 16 /* workspace keys a responder tries */

/* Membership check: 1 if the node with Ed25519 public key pk may connect.
 * Called once per handshake, with a key that has not yet proved itself on
 * the initiator's side (it is checked early, to stop sooner) and with a
 * proven key on the responder's. */
typedef int (*hs_member_fn)(void *userdata, const uint8_t pk[SIGN_PUBLIC_BYTES]);

/* Membership check of a responder holding several workspace keys: index
 * says which key message 1 was authenticated with (0: ws_key, i: the
 * i-th of more_keys). Takes precedence over is_member when set. */
typedef int (*hs_member_ws_fn)(void *userdata, size_t index,
                               const uint8_t pk[SIGN_PUBLIC_BYTES]);

/* What a side brings to a handshake; hs_init copies the keys. */
typedef struct hs_config {
  const uint8_t *ws_key;             /* 32 bytes: the workspace key */
  const uint8_t *pk;                 /* SIGN_PUBLIC_BYTES: our identity */
  const uint8_t *sk;                 /* SIGN_SECRET_BYTES */
  hs_member_fn is_member;            /* NULL: any key that proves itself */
  void *userdata;
  /* Responder only. more_keys: n_more further workspace keys (32 bytes
   * each, contiguous; n_more < HS_MAX_KEYS): message 1 may be
   * authenticated with any of them (ws_index says which). */
  const uint8_t *more_keys;
  size_t n_more;
  hs_member_ws_fn is_member_ws;
  /* Responder only: a peer that proves its key but is not a member is
   * accepted as a stranger (hs.stranger) instead of refused; the layer
   * above lets it do nothing but redeem an invite. */
  int allow_strangers;
} hs_config;

typedef enum hs_status {
  HS_CONTINUE = 0, /* send hs->out if any, then wait for more bytes */
  HS_DONE = 1,     /* send hs->out if any; session keys are ready */
  HS_FAIL = -1     /* hs->reason says why; send nothing more, close */
} hs_status;

/* Why a handshake failed. Stable values, named by hs_reason_str. */
typedef enum hs_reason {
  HS_OK = 0,
  HS_BAD_MAC,     /* ephemeral key not authenticated with our workspace
                     key: a stranger, another workspace, or a replayed or
                     altered message 2. A responder answers nothing. */
  HS_BAD_KEY,     /* a low-order ephemeral key */
  HS_BAD_BOX,     /* an identity box failed to decrypt: tampered with, or
                     replayed from another session */
  HS_BAD_SIG,     /* an identity proof's signature does not verify */
  HS_NOT_MEMBER,  /* a proven key the membership check refuses */
  HS_SELF,        /* the peer is this node */
  HS_NOMEM
} hs_reason;

const char *hs_reason_str(int reason);

/* Invariants: in[0..have) holds the part received of the message expected
 * next, whose size is `want`; out[0..out_len) the message to send, which
 * the caller takes (hs_take_output) before feeding more. Ephemeral and
 * intermediate secrets are wiped when the handshake ends either way. */
typedef struct hs {
  int initiator, state;
  hs_reason reason;
  uint8_t ws_key[HS_KEY_BYTES];
  uint8_t more[HS_MAX_KEYS - 1][HS_KEY_BYTES];
  size_t n_more;
  size_t ws_index; /* responder: the key message 1 used (0: ws_key) */
  hs_member_ws_fn is_member_ws;
  int allow_strangers;
  int stranger; /* responder: the peer proved its key, is no member */
  uint8_t ws_hash[32];
  uint8_t pk[SIGN_PUBLIC_BYTES], sk[SIGN_SECRET_BYTES];
  hs_member_fn is_member;
  void *userdata;
  uint8_t eph_pk[KX_BYTES], eph_sk[KX_BYTES];
  uint8_t peer_eph[KX_BYTES];
  uint8_t shared[KX_BYTES];
  uint8_t th[32];
  uint8_t peer_pk[SIGN_PUBLIC_BYTES]; /* valid once state is done */
  uint8_t tx_key[HS_KEY_BYTES], rx_key[HS_KEY_BYTES];
  uint8_t in[HS_MSG_MAX];
  size_t have, want;
  uint8_t out[HS_MSG_MAX];
  size_t out_len;
} hs;

/* Starts a handshake. The initiator's first message is then in h->out.
 * 0, ACCORD_EINVAL (a missing key), ACCORD_ENOMEM (libsodium). */
int hs_init(hs *h, int initiator, const hs_config *cfg);
/* Consumes bytes (p, n) up to the end of the message expected next,
 * setting *used; processes each complete message. Returns HS_CONTINUE,
 * HS_DONE (h->tx_key, h->rx_key and h->peer_pk are set; *used may be less
 * than n: the rest is the peer's framed stream) or HS_FAIL (h->reason).
 * After HS_DONE or HS_FAIL, further calls return the same and use
 * nothing. */
int hs_feed(hs *h, const uint8_t *p, size_t n, size_t *used);
/* The pending outgoing message, if any: copies it to dst (HS_MSG_MAX
 * bytes) and returns its length (0: nothing to send). */
size_t hs_take_output(hs *h, uint8_t *dst);
/* Wipes every key the state holds. */
void hs_clear(hs *h);

#endif
