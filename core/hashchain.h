/*
 * hashchain.h — the per-(doc, actor) hash chain (DESIGN §4, as amended in
 * docs/chain.md): what a seal signs, what links a batch to what we hold.
 *
 * The chain is hashed in segments of HASHCHAIN_SEG changes. With R(0) the
 * zero hash and b = s - 1 - (s - 1) % HASHCHAIN_SEG the last segment
 * boundary before change s,
 *
 *   hash(s) = BLAKE2b-256[personal "accord-chain-v2"](
 *               R(b) ‖ doc (16) ‖ actor (8) ‖ be32(b + 1) ‖
 *               body(b + 1) ‖ body(b + 2) ‖ … ‖ body(s))
 *   R(b + HASHCHAIN_SEG) = hash(b + HASHCHAIN_SEG)
 *
 * Bodies are six self-delimiting msgpack values (change.h), so the input
 * parses one way only, and hash(s) commits to every change 1..s like the
 * one-step-per-change chain it replaces. What changes is the cost: a
 * verifier streams a run of bodies through one BLAKE2b state and
 * finalises only at segment ends and where it needs a hash (a seal, a
 * stored head), instead of one finalisation — a whole 128-byte block —
 * per change. A keystroke's body is about 16 bytes, so that is about 8
 * changes a block instead of one (bench/RESULTS.md, issue 5).
 *
 * Resuming at s needs R at s's segment start and the bodies after it (at
 * most HASHCHAIN_SEG - 1): every place that keeps a chain hash to resume
 * from keeps the root too (hashchain_pos).
 */
#ifndef ACCORD_HASHCHAIN_H
#define ACCORD_HASHCHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "accord.h"
#include "crypto.h"

#define HASHCHAIN_SEG 64

/* Where a chain stands after seq: its hash there, and the root of seq's
 * segment, R(seq - seq % HASHCHAIN_SEG), which hashing resumes from (at a
 * boundary the two are equal). seq 0: both zero. */
typedef struct hashchain_pos {
  uint32_t seq;
  uint8_t hash[ACCORD_HASH_BYTES];
  uint8_t root[ACCORD_HASH_BYTES];
} hashchain_pos;

/* A chain being hashed: the open segment's header and bodies so far. */
typedef struct hashchain {
  hash_state st;
  uint32_t seq; /* changes absorbed */
  uint8_t root[ACCORD_HASH_BYTES];
  uint8_t doc[ACCORD_DOC_ID_BYTES];
  uint8_t actor[ACCORD_ACTOR_BYTES];
} hashchain;

/* Starts h at the segment boundary seq (a multiple of HASHCHAIN_SEG) whose
 * root is root (NULL: zeros; seq must then be 0). */
void hashchain_start(hashchain *h, const uint8_t *doc, const uint8_t *actor,
                     uint32_t seq, const uint8_t *root);
/* Absorbs the body of change h->seq + 1. */
void hashchain_add(hashchain *h, const uint8_t *body, size_t len);
/* Absorbs n bodies lying back to back at p (len bytes in all). They may
 * not cross a segment boundary: n <= hashchain_room(h). */
void hashchain_addn(hashchain *h, const uint8_t *p, size_t len, uint32_t n);
/* Absorbs n bodies back to back from p: body k is [p + off[k],
 * p + off[k + 1]) (the layout of a chain's tail and a store run). */
void hashchain_span(hashchain *h, const uint8_t *p, const uint32_t *off,
                    uint32_t n);
/* Changes that fit before the open segment closes (1..HASHCHAIN_SEG). */
static inline uint32_t hashchain_room(const hashchain *h) {
  return HASHCHAIN_SEG - h->seq % HASHCHAIN_SEG;
}
/* The chain hash at h->seq (h is unchanged). */
void hashchain_hash(const hashchain *h, uint8_t out[ACCORD_HASH_BYTES]);
/* Where h stands. */
void hashchain_pos_of(const hashchain *h, hashchain_pos *p);

/* Bodies handed over one at a time that mostly lie back to back (a run
 * of a batch): absorbed a segment at a time, not one by one. Each body
 * must stay where it is until the feed is flushed; h is not up to date
 * before then. Start with {h} (the rest zero). */
typedef struct hashchain_feed {
  hashchain *h;
  const uint8_t *p;
  size_t len;
  uint32_t n;
} hashchain_feed;
void hashchain_feed_body(hashchain_feed *f, const uint8_t *body, size_t len);
void hashchain_feed_flush(hashchain_feed *f);

#endif
