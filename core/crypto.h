/*
 * crypto.h — the only door to libsodium (DESIGN §1).
 */
#ifndef ACCORD_CRYPTO_H
#define ACCORD_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

/* Initialises libsodium once (thread-safe). 0 or ACCORD_ENOMEM. */
int crypto_init(void);
void crypto_random(void *out, size_t n);

/* Incremental BLAKE2b-256. */
typedef struct hash_state {
  unsigned char opaque[384] __attribute__((aligned(64)));
} hash_state;
void hash_init(hash_state *h);
void hash_update(hash_state *h, const void *p, size_t n);
void hash_final(hash_state *h, uint8_t out[32]);

#endif
