/*
 * crypto.c — libsodium behind crypto.h. BLAKE2b for hash chains (DESIGN
 * §4); random bytes for ids. Signing and key exchange arrive with the
 * identity and network parts.
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
