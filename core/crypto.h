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
/* One-shot BLAKE2b-256. */
void hash_bytes(const void *p, size_t n, uint8_t out[32]);

/* Ed25519 device identity (DESIGN §2). sk is libsodium's 64-byte form:
 * seed ‖ public key. 0 or ACCORD_ENOMEM (libsodium failed to start). */
#define SIGN_PUBLIC_BYTES 32
#define SIGN_SECRET_BYTES 64
int sign_keypair(uint8_t pk[SIGN_PUBLIC_BYTES], uint8_t sk[SIGN_SECRET_BYTES]);
/* 1 if sk is a well-formed secret key whose public half is pk (rederived
 * from the seed), else 0. */
int sign_key_check(const uint8_t sk[SIGN_SECRET_BYTES],
                   const uint8_t pk[SIGN_PUBLIC_BYTES]);

/* Wipes key material (not optimised away). */
void crypto_wipe(void *p, size_t n);

#endif
