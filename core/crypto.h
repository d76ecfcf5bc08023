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
/* hash_init with BLAKE2b's personalisation (16 bytes): a domain of its own. */
void hash_init_personal(hash_state *h, const uint8_t personal[16]);
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

/* Ed25519 detached signatures (64 bytes). sign_detached cannot fail for a
 * well-formed sk; sign_verify returns 1 if sig is pk's signature of m. */
#define SIGN_BYTES 64
void sign_detached(uint8_t sig[SIGN_BYTES], const void *m, size_t n,
                   const uint8_t sk[SIGN_SECRET_BYTES]);
int sign_verify(const uint8_t sig[SIGN_BYTES], const void *m, size_t n,
                const uint8_t pk[SIGN_PUBLIC_BYTES]);

/* The actor id of a public key (DESIGN §2): BLAKE2b-256(pk), its first 8
 * bytes. The one derivation: node identities, signers and seal checks all
 * use it. */
void key_actor(const uint8_t pk[SIGN_PUBLIC_BYTES], uint8_t actor[8]);

/* Wipes key material (not optimised away). */
void crypto_wipe(void *p, size_t n);

/* ---- network: handshake and transport (net/) -----------------------------
 * X25519 ephemeral keys, keyed BLAKE2b (MACs and the KDF), a one-shot AEAD
 * for the handshake's identity boxes, and secretstream for the framed
 * transport. net/handshake.c and net/frame.c are the users. */
#define KX_BYTES 32 /* X25519 public key, secret key and shared secret */
/* A fresh X25519 key pair. 0 or ACCORD_ENOMEM (libsodium failed to start). */
int kx_keypair(uint8_t pk[KX_BYTES], uint8_t sk[KX_BYTES]);
/* out = X25519(sk, peer). 0, or -1 if peer is a low-order point (the
 * result would be all zeros, known to anyone): refuse such a peer. */
int kx_shared(uint8_t out[KX_BYTES], const uint8_t sk[KX_BYTES],
              const uint8_t peer[KX_BYTES]);
/* Keyed BLAKE2b-256 (key: 32 bytes), incremental: a MAC and a KDF. */
void hash_init_keyed(hash_state *h, const uint8_t key[32]);
/* 1 if a and b hold the same n bytes; time independent of the contents. */
int crypto_equal(const void *a, const void *b, size_t n);

/* One-shot AEAD (XChaCha20-Poly1305, nonce zero): for keys that encrypt
 * exactly one message, as the handshake's derived keys do. out holds
 * n + BOX_ABYTES bytes (box_seal) or clen - BOX_ABYTES (box_open).
 * box_open: 0, or -1 if the box or ad was tampered with or the key is
 * wrong. */
#define BOX_ABYTES 16
void box_seal(uint8_t *out, const uint8_t *m, size_t n, const uint8_t *ad,
              size_t adlen, const uint8_t key[32]);
int box_open(uint8_t *out, const uint8_t *c, size_t clen, const uint8_t *ad,
             size_t adlen, const uint8_t key[32]);

/* crypto_secretstream_xchacha20poly1305: one stream per direction. The
 * pusher makes a random header the puller needs first. A message costs
 * SSTREAM_ABYTES more than its plaintext. */
typedef struct sstream_state {
  unsigned char opaque[64] __attribute__((aligned(16)));
} sstream_state;
#define SSTREAM_HEADER_BYTES 24
#define SSTREAM_ABYTES 17
#define SSTREAM_TAG_MESSAGE 0
#define SSTREAM_TAG_FINAL 3
void sstream_push_init(sstream_state *s, uint8_t header[SSTREAM_HEADER_BYTES],
                       const uint8_t key[32]);
/* c receives n + SSTREAM_ABYTES bytes. */
void sstream_push(sstream_state *s, uint8_t *c, const uint8_t *m, size_t n,
                  uint8_t tag);
/* 0, or -1 for an unusable header. */
int sstream_pull_init(sstream_state *s,
                      const uint8_t header[SSTREAM_HEADER_BYTES],
                      const uint8_t key[32]);
/* m receives clen - SSTREAM_ABYTES bytes, *tag the message's tag. 0, or -1
 * if the message fails authentication (forged, altered, reordered, cut or
 * replayed: each message's key depends on every one before it). */
int sstream_pull(sstream_state *s, uint8_t *m, uint8_t *tag, const uint8_t *c,
                 size_t clen);
/* ---- end of network block ------------------------------------------------ */

#endif
