/*
 * crypto.c — libsodium behind crypto.h. BLAKE2b for hash chains (DESIGN
 * §4); random bytes for ids; Ed25519 key pairs for device identities
 * (node.c keeps them). Signing and key exchange arrive with the network
 * parts.
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

void crypto_wipe(void *p, size_t n) { sodium_memzero(p, n); }
