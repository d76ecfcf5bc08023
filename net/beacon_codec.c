/*
 * beacon_codec.c — sealing and opening discovery beacons (the format and
 * the rules are in beacon_codec.h).
 *
 * Why a key per message rather than one key and the random nonce: the
 * only AEAD crypto.h offers beside the transport's stream is the
 * handshake's one-shot box (nonce zero), so each beacon derives its own
 * key from k_beacon and its random 24-byte nonce. A repeated key would
 * need a repeated 192-bit random nonce.
 *
 * Workload: a beacon every few seconds per workspace sent, a few per
 * second received; opening costs one keyed hash and one AEAD attempt per
 * workspace key held.
 */
#include "beacon_codec.h"

#include <string.h>

#include "accord.h"

#define LABEL(s) (const uint8_t *)(s), sizeof(s) - 1

const char *beacon_status_str(int status) {
  switch (status) {
  case BEACON_OK: return "ok";
  case BEACON_ESIZE: return "beacon has the wrong size";
  case BEACON_EAUTH: return "beacon not sealed with a key of ours";
  case BEACON_EFORMAT: return "beacon has a bad version, port or time";
  case BEACON_ESTALE: return "beacon time outside the accepted window";
  case BEACON_EREPLAY: return "beacon replayed";
  default: return "unknown beacon status";
  }
}

static void kh(uint8_t out[32], const uint8_t key[32], const uint8_t *label,
               size_t llen, const uint8_t *a, size_t alen) {
  hash_state s;
  hash_init_keyed(&s, key);
  hash_update(&s, label, llen);
  if (alen) hash_update(&s, a, alen);
  hash_final(&s, out);
  crypto_wipe(&s, sizeof s);
}

void beacon_key(const uint8_t ws_key[32], uint8_t out[32]) {
  kh(out, ws_key, LABEL("accord-beacon1 key"), NULL, 0);
}

static void msg_key(const uint8_t key[32], const uint8_t *nonce,
                    uint8_t out[32]) {
  kh(out, key, LABEL("accord-beacon1 msg"), nonce, BEACON_NONCE_BYTES);
}

int beacon_seal(const uint8_t key[32], beacon_msg *m, int fresh_nonce,
                uint8_t out[BEACON_BYTES]) {
  if (!key || !m || !out || m->port == 0 || m->time < 0) return ACCORD_EINVAL;
  int rc = crypto_init();
  if (rc) return rc;
  if (fresh_nonce) crypto_random(m->nonce, BEACON_NONCE_BYTES);
  uint8_t plain[BEACON_PLAIN_BYTES];
  plain[0] = BEACON_VERSION;
  plain[1] = (uint8_t)(m->port >> 8);
  plain[2] = (uint8_t)m->port;
  memcpy(plain + 3, m->pk, SIGN_PUBLIC_BYTES);
  uint64_t t = (uint64_t)m->time;
  for (int i = 0; i < 8; i++)
    plain[3 + SIGN_PUBLIC_BYTES + i] = (uint8_t)(t >> (56 - 8 * i));
  beacon_seal_plain(key, m->nonce, plain, out);
  return 0;
}

void beacon_seal_plain(const uint8_t key[32],
                       const uint8_t nonce[BEACON_NONCE_BYTES],
                       const uint8_t plain[BEACON_PLAIN_BYTES],
                       uint8_t out[BEACON_BYTES]) {
  uint8_t k[32];
  memcpy(out, nonce, BEACON_NONCE_BYTES);
  msg_key(key, nonce, k);
  box_seal(out + BEACON_NONCE_BYTES, plain, BEACON_PLAIN_BYTES, NULL, 0, k);
  crypto_wipe(k, sizeof k);
}

int beacon_open(const uint8_t *p, size_t n, const uint8_t (*keys)[32],
                size_t nkeys, size_t *which, beacon_msg *out) {
  if (!p || n != BEACON_BYTES) return BEACON_ESIZE;
  uint8_t plain[BEACON_PLAIN_BYTES], k[32];
  size_t i;
  int opened = 0;
  for (i = 0; i < nkeys && !opened; i++) {
    msg_key(keys[i], p, k);
    opened = box_open(plain, p + BEACON_NONCE_BYTES,
                      BEACON_BYTES - BEACON_NONCE_BYTES, NULL, 0, k) == 0;
  }
  crypto_wipe(k, sizeof k);
  if (!opened) return BEACON_EAUTH;
  uint64_t t = 0;
  for (int j = 0; j < 8; j++) t = t << 8 | plain[3 + SIGN_PUBLIC_BYTES + j];
  uint16_t port = (uint16_t)(plain[1] << 8 | plain[2]);
  if (plain[0] != BEACON_VERSION || port == 0 || t > INT64_MAX)
    return BEACON_EFORMAT;
  if (which) *which = i - 1;
  out->port = port;
  memcpy(out->pk, plain + 3, SIGN_PUBLIC_BYTES);
  out->time = (int64_t)t;
  memcpy(out->nonce, p, BEACON_NONCE_BYTES);
  return BEACON_OK;
}

int beacon_check(beacon_seen *s, const beacon_msg *m, int64_t now) {
  /* |now - time| > window, without overflow for any int64 inputs */
  if (m->time < 0 || now < 0 || (now >= m->time && now - m->time > BEACON_WINDOW_MS) ||
      (m->time > now && m->time - now > BEACON_WINDOW_MS))
    return BEACON_ESTALE;
  for (uint32_t i = 0; i < s->n; i++)
    if (!memcmp(s->e[i], m->nonce, BEACON_NONCE_BYTES))
      return BEACON_EREPLAY;
  memcpy(s->e[s->next], m->nonce, BEACON_NONCE_BYTES);
  s->next = (s->next + 1) % BEACON_SEEN_MAX;
  if (s->n < BEACON_SEEN_MAX) s->n++;
  return BEACON_OK;
}
