/*
 * test_hashchain.c — the segmented hash chain (hashchain.h): every way of
 * feeding it (one body, runs, spans, a feed with gaps, resuming from a
 * position) gives the hashes of the definition, which the test computes on
 * its own, one-shot, from the bytes the header comment names; a pinned
 * vector keeps the format from changing by accident; and each hash binds
 * the document, the author and every byte before it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "crypto.h"
#include "hashchain.h"

#define N 300
/* computed independently, with Python's hashlib.blake2b(person=...) */
#define PINNED "ff95da6b325a69cf3aae0b56a39fcadde4e11a8dae53bc1ce30e178601333bb1"

static const uint8_t doc_id[ACCORD_DOC_ID_BYTES] = {0xd0, 0xc1, 2, 3};
static const uint8_t actor_id[ACCORD_ACTOR_BYTES] = {0xac, 0x70, 9};

typedef struct chainfix {
  uint8_t bytes[N * 40];
  uint32_t off[N + 1]; /* body k (0-based, seq k + 1) is [off[k], off[k+1]) */
  uint8_t hash[N + 1][ACCORD_HASH_BYTES]; /* by the definition; [0] zeros */
} chainfix;

/* hash(s) straight from hashchain.h's definition. */
static void define(const uint8_t *doc, const uint8_t *actor, chainfix *f) {
  static const uint8_t personal[16] = "accord-chain-v2";
  memset(f->hash[0], 0, ACCORD_HASH_BYTES);
  for (uint32_t s = 1; s <= N; s++) {
    uint32_t b = s - 1 - (s - 1) % HASHCHAIN_SEG;
    uint8_t first[4] = {(uint8_t)((b + 1) >> 24), (uint8_t)((b + 1) >> 16),
                        (uint8_t)((b + 1) >> 8), (uint8_t)(b + 1)};
    hash_state st;
    hash_init_personal(&st, personal);
    hash_update(&st, f->hash[b], ACCORD_HASH_BYTES);
    hash_update(&st, doc, ACCORD_DOC_ID_BYTES);
    hash_update(&st, actor, ACCORD_ACTOR_BYTES);
    hash_update(&st, first, 4);
    hash_update(&st, f->bytes + f->off[b], f->off[s] - f->off[b]);
    hash_final(&st, f->hash[s]);
  }
}

static void fill(chainfix *f, test_rng *r) {
  f->off[0] = 0;
  for (uint32_t k = 0; k < N; k++) {
    uint32_t len = 1 + (uint32_t)rng_below(r, 39);
    for (uint32_t i = 0; i < len; i++)
      f->bytes[f->off[k] + i] = (uint8_t)rng_next(r);
    f->off[k + 1] = f->off[k] + len;
  }
  define(doc_id, actor_id, f);
}

static const uint8_t *body(const chainfix *f, uint32_t seq, size_t *len) {
  *len = f->off[seq] - f->off[seq - 1];
  return f->bytes + f->off[seq - 1];
}

static void expect_at(const hashchain *h, const chainfix *f) {
  uint8_t got[ACCORD_HASH_BYTES];
  hashchain_hash(h, got);
  assert_memory_equal(got, f->hash[h->seq], ACCORD_HASH_BYTES);
  hashchain_pos p;
  hashchain_pos_of(h, &p);
  assert_int_equal(p.seq, h->seq);
  assert_memory_equal(p.hash, f->hash[h->seq], ACCORD_HASH_BYTES);
  assert_memory_equal(p.root, f->hash[h->seq - h->seq % HASHCHAIN_SEG],
                      ACCORD_HASH_BYTES);
}

/* One body at a time: the definition's hash at every seq. */
static void one_at_a_time(void **state) {
  (void)state;
  test_rng r;
  rng_init(&r, test_seed("one_at_a_time"));
  static chainfix f;
  fill(&f, &r);
  hashchain h;
  hashchain_start(&h, doc_id, actor_id, 0, NULL);
  expect_at(&h, &f);
  for (uint32_t s = 1; s <= N; s++) {
    size_t len;
    const uint8_t *p = body(&f, s, &len);
    hashchain_add(&h, p, len);
    expect_at(&h, &f);
  }
}

/* Spans split at random points, and a feed whose bodies sometimes lie
 * elsewhere (copied out, so the feed must absorb what it holds first),
 * reach the same hashes. */
static void spans_and_feeds(void **state) {
  (void)state;
  test_rng r;
  rng_init(&r, test_seed("spans_and_feeds"));
  static chainfix f;
  fill(&f, &r);
  hashchain h;
  hashchain_start(&h, doc_id, actor_id, 0, NULL);
  while (h.seq < N) {
    uint32_t n = 1 + (uint32_t)rng_below(&r, 150);
    if (n > N - h.seq) n = N - h.seq;
    hashchain_span(&h, f.bytes, f.off + h.seq, n);
    expect_at(&h, &f);
  }
  static uint8_t copies[N][40];
  hashchain g;
  hashchain_start(&g, doc_id, actor_id, 0, NULL);
  hashchain_feed feed = {&g, NULL, 0, 0};
  for (uint32_t s = 1; s <= N; s++) {
    size_t len;
    const uint8_t *p = body(&f, s, &len);
    if (rng_below(&r, 8) == 0) {
      memcpy(copies[s - 1], p, len);
      p = copies[s - 1];
    }
    hashchain_feed_body(&feed, p, len);
    if (rng_below(&r, 16) == 0) {
      hashchain_feed_flush(&feed);
      expect_at(&g, &f);
    }
  }
  hashchain_feed_flush(&feed);
  expect_at(&g, &f);
}

/* From any position, starting at its segment's root and absorbing the
 * bodies after it reaches the same hash, and goes on to the same head. */
static void resumes_from_a_position(void **state) {
  (void)state;
  test_rng r;
  rng_init(&r, test_seed("resumes_from_a_position"));
  static chainfix f;
  fill(&f, &r);
  uint32_t at[] = {0, 1, 63, 64, 65, 127, 128, 129, 200, N};
  for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
    uint32_t s = at[i], b = s - s % HASHCHAIN_SEG;
    hashchain h;
    hashchain_start(&h, doc_id, actor_id, b, b ? f.hash[b] : NULL);
    hashchain_span(&h, f.bytes, f.off + b, s - b);
    assert_int_equal(h.seq, s);
    expect_at(&h, &f);
    hashchain_span(&h, f.bytes, f.off + s, N - s);
    expect_at(&h, &f);
  }
}

/* Each hash binds the document, the author and every byte before it. */
static void binds_everything_before(void **state) {
  (void)state;
  test_rng r;
  rng_init(&r, test_seed("binds_everything_before"));
  static chainfix f, g;
  fill(&f, &r);
  uint8_t other_doc[ACCORD_DOC_ID_BYTES], other_actor[ACCORD_ACTOR_BYTES];
  memcpy(other_doc, doc_id, sizeof other_doc);
  other_doc[15] ^= 1;
  memcpy(other_actor, actor_id, sizeof other_actor);
  other_actor[7] ^= 0x80;
  g = f;
  define(other_doc, actor_id, &g);
  for (uint32_t s = 1; s <= N; s++)
    assert_memory_not_equal(f.hash[s], g.hash[s], ACCORD_HASH_BYTES);
  define(doc_id, other_actor, &g);
  for (uint32_t s = 1; s <= N; s++)
    assert_memory_not_equal(f.hash[s], g.hash[s], ACCORD_HASH_BYTES);
  uint32_t k = 1 + (uint32_t)rng_below(&r, N);
  g = f;
  g.bytes[g.off[k - 1] + rng_below(&r, g.off[k] - g.off[k - 1])] ^=
      (uint8_t)(1u << rng_below(&r, 8));
  define(doc_id, actor_id, &g);
  for (uint32_t s = 1; s <= N; s++) {
    if (s < k) assert_memory_equal(f.hash[s], g.hash[s], ACCORD_HASH_BYTES);
    else assert_memory_not_equal(f.hash[s], g.hash[s], ACCORD_HASH_BYTES);
  }
  /* and the incremental chain agrees with the changed definition */
  hashchain h;
  hashchain_start(&h, doc_id, actor_id, 0, NULL);
  hashchain_span(&h, g.bytes, g.off, N);
  uint8_t head[ACCORD_HASH_BYTES];
  hashchain_hash(&h, head);
  assert_memory_equal(head, g.hash[N], ACCORD_HASH_BYTES);
}

/* A pinned vector: the 130-change chain whose body s is the one byte
 * s mod 256 (computed independently: Python's hashlib.blake2b). Seals,
 * stores and fork evidence depend on these bytes; a change to the format
 * must change this test, on purpose. */
static void pinned_vector(void **state) {
  (void)state;
  hashchain h;
  hashchain_start(&h, doc_id, actor_id, 0, NULL);
  for (uint32_t s = 1; s <= 130; s++) {
    uint8_t b = (uint8_t)s;
    hashchain_add(&h, &b, 1);
  }
  uint8_t got[ACCORD_HASH_BYTES];
  hashchain_hash(&h, got);
  char hex[2 * ACCORD_HASH_BYTES + 1];
  for (int i = 0; i < ACCORD_HASH_BYTES; i++)
    snprintf(hex + 2 * i, 3, "%02x", got[i]);
  assert_string_equal(hex, PINNED);
}

TEST_MAIN(cmocka_unit_test(one_at_a_time), cmocka_unit_test(spans_and_feeds),
          cmocka_unit_test(resumes_from_a_position),
          cmocka_unit_test(binds_everything_before),
          cmocka_unit_test(pinned_vector))
