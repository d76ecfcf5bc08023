/*
 * crypto.c — libsodium behind crypto.h. BLAKE2b for hash chains (DESIGN
 * §4); random bytes for ids; Ed25519 key pairs for device identities
 * (node.c keeps them); Ed25519 signatures for seals (seal.c). X25519,
 * keyed BLAKE2b, one-shot AEAD boxes and secretstream for the handshake
 * and transport (net/, in the network block at the end).
 */
#include "crypto.h"

#include <sodium.h>
#include <string.h>

#include "accord.h"

_Static_assert(sizeof(hash_state) >= sizeof(crypto_generichash_state),
               "hash_state too small for libsodium's state");

int crypto_init(void) { return sodium_init() < 0 ? ACCORD_ENOMEM : 0; }

void crypto_random(void *out, size_t n) { randombytes_buf(out, n); }

void hash_init(hash_state *h) {
  crypto_generichash_init((crypto_generichash_state *)h->opaque, NULL, 0, 32);
}

void hash_init_personal(hash_state *h, const uint8_t personal[16]) {
  crypto_generichash_blake2b_init_salt_personal(
      (crypto_generichash_blake2b_state *)h->opaque, NULL, 0, 32, NULL,
      personal);
}

void hash_update(hash_state *h, const void *p, size_t n) {
  crypto_generichash_update((crypto_generichash_state *)h->opaque, p, n);
}

void hash_final(hash_state *h, uint8_t out[32]) {
  crypto_generichash_final((crypto_generichash_state *)h->opaque, out, 32);
}

void hash_bytes(const void *p, size_t n, uint8_t out[32]) {
  crypto_generichash(out, 32, p, n, NULL, 0);
}

_Static_assert(SIGN_PUBLIC_BYTES == crypto_sign_PUBLICKEYBYTES, "pk size");
_Static_assert(SIGN_SECRET_BYTES == crypto_sign_SECRETKEYBYTES, "sk size");

int sign_keypair(uint8_t pk[SIGN_PUBLIC_BYTES], uint8_t sk[SIGN_SECRET_BYTES]) {
  int rc = crypto_init();
  if (rc) return rc;
  return crypto_sign_keypair(pk, sk) == 0 ? 0 : ACCORD_ENOMEM;
}

int sign_key_check(const uint8_t sk[SIGN_SECRET_BYTES],
                   const uint8_t pk[SIGN_PUBLIC_BYTES]) {
  uint8_t pk2[crypto_sign_PUBLICKEYBYTES], sk2[crypto_sign_SECRETKEYBYTES];
  if (crypto_init()) return 0;
  int ok = crypto_sign_seed_keypair(pk2, sk2, sk) == 0 &&
           sodium_memcmp(sk2, sk, sizeof sk2) == 0 &&
           sodium_memcmp(pk2, pk, sizeof pk2) == 0;
  sodium_memzero(sk2, sizeof sk2);
  return ok;
}

_Static_assert(SIGN_BYTES == crypto_sign_BYTES, "signature size");

void sign_detached(uint8_t sig[SIGN_BYTES], const void *m, size_t n,
                   const uint8_t sk[SIGN_SECRET_BYTES]) {
  crypto_sign_detached(sig, NULL, m, n, sk);
}

int sign_verify(const uint8_t sig[SIGN_BYTES], const void *m, size_t n,
                const uint8_t pk[SIGN_PUBLIC_BYTES]) {
  return crypto_sign_verify_detached(sig, m, n, pk) == 0;
}

void key_actor(const uint8_t pk[SIGN_PUBLIC_BYTES], uint8_t actor[8]) {
  uint8_t h[32];
  hash_bytes(pk, SIGN_PUBLIC_BYTES, h);
  memcpy(actor, h, 8);
}

void crypto_wipe(void *p, size_t n) { sodium_memzero(p, n); }

/* ---- network: handshake and transport (net/) ----------------------------- */

_Static_assert(KX_BYTES == crypto_scalarmult_BYTES &&
                   KX_BYTES == crypto_scalarmult_SCALARBYTES,
               "X25519 sizes");
_Static_assert(BOX_ABYTES == crypto_aead_xchacha20poly1305_ietf_ABYTES,
               "AEAD tag size");
_Static_assert(sizeof(sstream_state) >=
                   sizeof(crypto_secretstream_xchacha20poly1305_state),
               "sstream_state too small for libsodium's state");
_Static_assert(SSTREAM_HEADER_BYTES ==
                   crypto_secretstream_xchacha20poly1305_HEADERBYTES,
               "secretstream header size");
_Static_assert(SSTREAM_ABYTES == crypto_secretstream_xchacha20poly1305_ABYTES,
               "secretstream overhead");
_Static_assert(SSTREAM_TAG_MESSAGE ==
                       crypto_secretstream_xchacha20poly1305_TAG_MESSAGE &&
                   SSTREAM_TAG_FINAL ==
                       crypto_secretstream_xchacha20poly1305_TAG_FINAL,
               "secretstream tags");

int kx_keypair(uint8_t pk[KX_BYTES], uint8_t sk[KX_BYTES]) {
  int rc = crypto_init();
  if (rc) return rc;
  randombytes_buf(sk, KX_BYTES);
  return crypto_scalarmult_base(pk, sk) == 0 ? 0 : ACCORD_ENOMEM;
}

int kx_shared(uint8_t out[KX_BYTES], const uint8_t sk[KX_BYTES],
              const uint8_t peer[KX_BYTES]) {
  /* libsodium refuses (returns -1 for) an all-zero result */
  return crypto_scalarmult(out, sk, peer) == 0 ? 0 : -1;
}

void hash_init_keyed(hash_state *h, const uint8_t key[32]) {
  crypto_generichash_init((crypto_generichash_state *)h->opaque, key, 32, 32);
}

int crypto_equal(const void *a, const void *b, size_t n) {
  return sodium_memcmp(a, b, n) == 0;
}

static const unsigned char box_nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];

void box_seal(uint8_t *out, const uint8_t *m, size_t n, const uint8_t *ad,
              size_t adlen, const uint8_t key[32]) {
  crypto_aead_xchacha20poly1305_ietf_encrypt(out, NULL, m, n, ad, adlen, NULL,
                                             box_nonce, key);
}

int box_open(uint8_t *out, const uint8_t *c, size_t clen, const uint8_t *ad,
             size_t adlen, const uint8_t key[32]) {
  return crypto_aead_xchacha20poly1305_ietf_decrypt(
             out, NULL, NULL, c, clen, ad, adlen, box_nonce, key) == 0
             ? 0
             : -1;
}

#define SSTATE(s) ((crypto_secretstream_xchacha20poly1305_state *)(s)->opaque)

void sstream_push_init(sstream_state *s, uint8_t header[SSTREAM_HEADER_BYTES],
                       const uint8_t key[32]) {
  crypto_secretstream_xchacha20poly1305_init_push(SSTATE(s), header, key);
}

void sstream_push(sstream_state *s, uint8_t *c, const uint8_t *m, size_t n,
                  uint8_t tag) {
  crypto_secretstream_xchacha20poly1305_push(SSTATE(s), c, NULL, m, n, NULL,
                                             0, tag);
}

int sstream_pull_init(sstream_state *s,
                      const uint8_t header[SSTREAM_HEADER_BYTES],
                      const uint8_t key[32]) {
  return crypto_secretstream_xchacha20poly1305_init_pull(SSTATE(s), header,
                                                         key) == 0
             ? 0
             : -1;
}

int sstream_pull(sstream_state *s, uint8_t *m, uint8_t *tag, const uint8_t *c,
                 size_t clen) {
  unsigned char t = 0;
  if (crypto_secretstream_xchacha20poly1305_pull(SSTATE(s), m, NULL, &t, c,
                                                 clen, NULL, 0) != 0)
    return -1;
  *tag = t;
  return 0;
}
/* ---- end of network block ------------------------------------------------ */
