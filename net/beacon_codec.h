/*
 * beacon_codec.h — the LAN discovery beacon's bytes (DESIGN §6,
 * "Discovery"): sealing, opening, and the freshness and replay rules. Pure
 * code, no sockets or clock (the caller passes the time), so it is
 * unit-tested and fuzzed alone; net/beacon.c moves the datagrams.
 *
 * A beacon says "a member of workspace W, with identity pk, accepts
 * connections on port P" to whoever holds W's key, and nothing to anyone
 * else. On the wire (BEACON_BYTES, every byte indistinguishable from
 * random to an observer without the key):
 *
 *   nonce (24, random) ‖ AEAD(k_msg, version 1 (1) ‖ port (2) ‖ pk (32) ‖
 *                                   time ms since the epoch (8))
 *   k_beacon = kh(workspace key, "accord-beacon1 key")
 *   k_msg    = kh(k_beacon, "accord-beacon1 msg" ‖ nonce)
 *
 * (kh: keyed BLAKE2b-256; AEAD: XChaCha20-Poly1305 under a key used for
 * this one message, crypto.h's box_seal.) No workspace id travels: a
 * receiver tries the keys of its workspaces, which also means beacons of
 * two workspaces, or two beacons of one node, cannot be linked by anyone
 * outside the workspace. Integers are big-endian.
 *
 * Receivers refuse: any length but BEACON_BYTES; a box no key opens (a
 * stranger, another workspace, or altered bytes); another version; port 0;
 * a time further than BEACON_WINDOW_MS from their clock either way
 * (stale, or from a badly wrong clock); a nonce already accepted within
 * the window (a replay). The replay memory holds the last BEACON_SEEN_MAX
 * accepted nonces, so a replay is caught while fewer valid beacons than
 * that arrive within the window; only members can make valid beacons, and
 * a replay that got through would only announce again an address that was
 * true a moment ago.
 */
#ifndef ACCORD_BEACON_CODEC_H
#define ACCORD_BEACON_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

#define BEACON_VERSION 1
#define BEACON_NONCE_BYTES 24
#define BEACON_PLAIN_BYTES (1 + 2 + SIGN_PUBLIC_BYTES + 8)
#define BEACON_BYTES (BEACON_NONCE_BYTES + BEACON_PLAIN_BYTES + BOX_ABYTES)
#define BEACON_WINDOW_MS 30000
#define BEACON_SEEN_MAX 1024

/* Results of beacon_open and beacon_check (beacon_status_str names them). */
typedef enum beacon_status {
  BEACON_OK = 0,
  BEACON_ESIZE = -1,    /* not BEACON_BYTES long */
  BEACON_EAUTH = -2,    /* no key opens it */
  BEACON_EFORMAT = -3,  /* opens, but another version, port 0 or time < 0 */
  BEACON_ESTALE = -4,   /* time outside the window */
  BEACON_EREPLAY = -5   /* nonce seen already */
} beacon_status;

const char *beacon_status_str(int status);

/* What a beacon carries. */
typedef struct beacon_msg {
  uint16_t port;
  uint8_t pk[SIGN_PUBLIC_BYTES];
  int64_t time;
  uint8_t nonce[BEACON_NONCE_BYTES];
} beacon_msg;

/* k_beacon of a 32-byte workspace key. */
void beacon_key(const uint8_t ws_key[32], uint8_t out[32]);

/* Seals m under k_beacon into out. m->nonce is used as is when
 * fresh_nonce is 0 (tests, golden vectors), else filled with random bytes
 * first. 0, or ACCORD_EINVAL (port 0, time < 0) or ACCORD_ENOMEM
 * (libsodium failed to start). */
int beacon_seal(const uint8_t key[32], beacon_msg *m, int fresh_nonce,
                uint8_t out[BEACON_BYTES]);

/* Seals the plaintext as given, unchecked (tests and the fuzzer make
 * beacons that beacon_seal would refuse to). */
void beacon_seal_plain(const uint8_t key[32],
                       const uint8_t nonce[BEACON_NONCE_BYTES],
                       const uint8_t plain[BEACON_PLAIN_BYTES],
                       uint8_t out[BEACON_BYTES]);

/* Opens p (n bytes, hostile) with the first of keys[0..nkeys) that
 * authenticates it; *which gets its index. BEACON_OK with *out set, or an
 * error status (*out unspecified). No clock involved: see beacon_check. */
int beacon_open(const uint8_t *p, size_t n, const uint8_t (*keys)[32],
                size_t nkeys, size_t *which, beacon_msg *out);

/* Replay memory: the nonces of the last BEACON_SEEN_MAX accepted beacons
 * (a ring; zero-initialise it). */
typedef struct beacon_seen {
  uint8_t e[BEACON_SEEN_MAX][BEACON_NONCE_BYTES];
  uint32_t n, next; /* entries in use; where the next one goes */
} beacon_seen;

/* Freshness and replay: BEACON_OK (then the nonce is remembered),
 * BEACON_ESTALE or BEACON_EREPLAY (nothing changes). now: the receiver's
 * clock, ms since the epoch. */
int beacon_check(beacon_seen *s, const beacon_msg *m, int64_t now);

#endif
