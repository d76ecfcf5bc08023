/*
 * test_frame.c — net/frame.c: encrypted frames round trip whatever the
 * read boundaries; truncated, oversized, corrupted, reordered, replayed
 * and trailing bytes are refused with their own status, and an oversized
 * length costs no allocation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "frame.h"
#include "mem.h"
#include "mp.h"
#include "testutil.h"

static const uint8_t key[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9};

/* A msgpack message: [i, bin(len bytes of i)]. */
static uint8_t *make_msg(uint32_t i, size_t len, size_t *n) {
  buf b = {0};
  mp_put_array(&b, 2);
  mp_put_uint(&b, i);
  uint8_t *data = malloc(len ? len : 1);
  assert_non_null(data);
  memset(data, (int)(i & 0xff), len);
  mp_put_bin(&b, data, len);
  free(data);
  assert_int_equal(b.err, 0);
  return buf_take(&b, n);
}

/* A whole stream: header, one frame per message, FINAL if final. */
typedef struct stream {
  uint8_t *p;
  size_t n;
  size_t *ends; /* offset just past each frame */
  int frames;
} stream;

static void stream_make(stream *s, const uint8_t k[32], int count,
                        const size_t *sizes, int final) {
  buf b = {0};
  frame_enc e;
  uint8_t hdr[FRAME_HEADER_BYTES];
  AOK(frame_enc_init(&e, k, hdr));
  buf_put(&b, hdr, sizeof hdr);
  s->ends = calloc((size_t)count + 1, sizeof *s->ends);
  s->frames = 0;
  for (int i = 0; i < count + (final ? 1 : 0); i++) {
    size_t mlen = 0;
    uint8_t *m = i < count ? make_msg((uint32_t)i, sizes[i], &mlen) : NULL;
    assert_int_equal(buf_try_reserve(&b, frame_size(mlen)), 0);
    AOK(frame_enc_seal(&e, m, mlen, i == count, b.p + b.len));
    b.len += frame_size(mlen);
    s->ends[s->frames++] = b.len;
    accord_free(m);
  }
  frame_enc_clear(&e);
  s->p = buf_take(&b, &s->n);
}

static void stream_free(stream *s) {
  accord_free(s->p);
  free(s->ends);
}

/* Decodes p..n in chunks (chunk 0: random sizes from rng) and checks the
 * messages are the ones stream_make wrote; returns the final status
 * (FRAME_END, FRAME_MORE or an error) and the count of good messages. */
static int decode(const uint8_t k[32], const uint8_t *p, size_t n,
                  size_t chunk, test_rng *rng, const size_t *sizes, int count,
                  int *got) {
  frame_dec d;
  frame_dec_init(&d, k);
  int rc = FRAME_MORE;
  *got = 0;
  size_t off = 0;
  while (off < n && rc >= 0 && rc != FRAME_END) {
    size_t c = chunk ? chunk : 1 + (size_t)rng_below(rng, 3000);
    if (c > n - off) c = n - off;
    const uint8_t *q = p + off;
    size_t left = c;
    while (left > 0) {
      const uint8_t *msg;
      size_t len;
      rc = frame_dec_next(&d, &q, &left, &msg, &len);
      if (rc == FRAME_MSG) {
        size_t elen = 0;
        assert_true(*got < count);
        uint8_t *want = make_msg((uint32_t)*got, sizes[*got], &elen);
        assert_int_equal(len, elen);
        assert_memory_equal(msg, want, len);
        accord_free(want);
        (*got)++;
        continue;
      }
      if (rc != FRAME_MORE) break;
    }
    if (rc == FRAME_MSG) rc = FRAME_MORE; /* the chunk ended on a frame */
    off += c - left;
    if (rc == FRAME_END && off < n) { /* trailing bytes */
      const uint8_t *msg;
      size_t len;
      q = p + off;
      left = n - off;
      rc = frame_dec_next(&d, &q, &left, &msg, &len);
      break;
    }
  }
  frame_dec_free(&d);
  return rc;
}

static void round_trip(void **state) {
  (void)state;
  size_t sizes[40];
  test_rng rng;
  rng_init(&rng, test_seed("frame.round_trip"));
  for (int i = 0; i < 40; i++)
    sizes[i] = i % 7 == 0 ? (size_t)rng_below(&rng, 200000)
                          : (size_t)rng_below(&rng, 300);
  stream s;
  stream_make(&s, key, 40, sizes, 1);
  size_t chunks[] = {0, 1, 2, 5, 17, 4096, 65536, s.n};
  for (size_t c = 0; c < sizeof chunks / sizeof *chunks; c++) {
    int got = 0;
    int rc = decode(key, s.p, s.n, chunks[c], &rng, sizes, 40, &got);
    assert_int_equal(rc, FRAME_END);
    assert_int_equal(got, 40);
  }
  stream_free(&s);
}

static void largest_message(void **state) {
  (void)state;
  /* bin32 takes 5 bytes of header, the array and index 2 */
  size_t sizes[2] = {FRAME_MSG_MAX - 7, 3};
  stream s;
  stream_make(&s, key, 2, sizes, 1);
  int got = 0;
  test_rng rng;
  rng_init(&rng, 1);
  assert_int_equal(decode(key, s.p, s.n, 65536, &rng, sizes, 2, &got),
                   FRAME_END);
  assert_int_equal(got, 2);
  assert_int_equal(decode(key, s.p, s.n, s.n, &rng, sizes, 2, &got),
                   FRAME_END);
  stream_free(&s);

  /* one byte more does not fit a frame */
  frame_enc e;
  uint8_t hdr[FRAME_HEADER_BYTES];
  AOK(frame_enc_init(&e, key, hdr));
  uint8_t *big = malloc(frame_size(FRAME_MSG_MAX + 1));
  assert_int_equal(frame_enc_seal(&e, big, FRAME_MSG_MAX + 1, 0, big),
                   ACCORD_ETOOBIG);
  free(big);
}

/* A length field above the limit fails after 4 bytes, allocating
 * nothing (every allocation is made to fail: ENOMEM would show one). */
static void oversized_length(void **state) {
  (void)state;
  uint32_t lens[] = {0xffffffffu, FRAME_MAX + 1, 0x80000000u};
  for (int i = 0; i < 3; i++) {
    stream s;
    stream_make(&s, key, 0, NULL, 0); /* just the header */
    uint8_t in[FRAME_HEADER_BYTES + 4 + 10] = {0};
    memcpy(in, s.p, FRAME_HEADER_BYTES);
    uint8_t *l = in + FRAME_HEADER_BYTES;
    l[0] = (uint8_t)(lens[i] >> 24);
    l[1] = (uint8_t)(lens[i] >> 16);
    l[2] = (uint8_t)(lens[i] >> 8);
    l[3] = (uint8_t)lens[i];
    frame_dec d;
    frame_dec_init(&d, key);
    const uint8_t *p = in, *msg;
    size_t n = sizeof in, len;
    mem_fail_after(1);
    int rc = frame_dec_next(&d, &p, &n, &msg, &len);
    mem_fail_after(0);
    assert_int_equal(rc, FRAME_ETOOBIG);
    assert_int_equal(n, 10); /* stopped right after the length field */
    /* failed for good */
    assert_int_equal(frame_dec_next(&d, &p, &n, &msg, &len), FRAME_ETOOBIG);
    frame_dec_free(&d);
    stream_free(&s);
  }
  printf("%s\n", frame_status_str(FRAME_ETOOBIG));
}

/* Every prefix of a stream decodes the messages it holds whole and then
 * asks for more; it never ends, fails or delivers a partial message. */
static void truncated(void **state) {
  (void)state;
  size_t sizes[5] = {10, 0, 1000, 3, 70000};
  stream s;
  stream_make(&s, key, 5, sizes, 1);
  test_rng rng;
  rng_init(&rng, 2);
  for (size_t cut = 0; cut < s.n; cut += cut < 200 ? 1 : 97) {
    int got = 0;
    int rc = decode(key, s.p, cut, 0, &rng, sizes, 5, &got);
    assert_int_equal(rc, FRAME_MORE);
    int whole = 0;
    while (whole < s.frames - 1 && s.ends[whole] <= cut) whole++;
    assert_int_equal(got, whole);
  }
  stream_free(&s);
}

/* Flipping any bit of the stream loses the stream: a length error or an
 * authentication failure, or (a longer length) a wait for bytes that never
 * come; never a message other than the ones written. */
static void corrupted(void **state) {
  (void)state;
  size_t sizes[3] = {5, 40, 2};
  stream s;
  stream_make(&s, key, 3, sizes, 1);
  test_rng rng;
  rng_init(&rng, 3);
  for (size_t i = 0; i < s.n; i++) {
    for (int bit = 0; bit < 8; bit += 3) {
      s.p[i] ^= (uint8_t)(1u << bit);
      int got = 0;
      int rc = decode(key, s.p, s.n, 0, &rng, sizes, 3, &got);
      assert_true(rc == FRAME_EBADTAG || rc == FRAME_ETOOBIG ||
                  rc == FRAME_MORE);
      int frame = 0;
      while (s.ends[frame] <= i) frame++;
      if (i >= FRAME_HEADER_BYTES) assert_int_equal(got, frame);
      s.p[i] ^= (uint8_t)(1u << bit);
    }
  }
  /* the wrong key: the first frame fails */
  uint8_t other[32] = {9};
  int got = 0;
  assert_int_equal(decode(other, s.p, s.n, 0, &rng, sizes, 3, &got),
                   FRAME_EBADTAG);
  assert_int_equal(got, 0);
  stream_free(&s);
}

/* Frames swapped, repeated or dropped fail authentication: each message's
 * key depends on the ones before it. */
static void reordered_replayed(void **state) {
  (void)state;
  size_t sizes[3] = {5, 6, 7};
  stream s;
  stream_make(&s, key, 3, sizes, 0);
  size_t h = FRAME_HEADER_BYTES, e0 = s.ends[0], e1 = s.ends[1],
         e2 = s.ends[2];
  uint8_t *v = malloc(s.n * 2);
  test_rng rng;
  rng_init(&rng, 4);
  int got;
  /* swapped: header, frame 1, frame 0 */
  memcpy(v, s.p, h);
  memcpy(v + h, s.p + e0, e1 - e0);
  memcpy(v + h + (e1 - e0), s.p + h, e0 - h);
  assert_int_equal(decode(key, v, e1, 0, &rng, sizes, 3, &got),
                   FRAME_EBADTAG);
  assert_int_equal(got, 0);
  /* replayed: frame 0 twice */
  memcpy(v, s.p, e0);
  memcpy(v + e0, s.p + h, e0 - h);
  assert_int_equal(decode(key, v, e0 + (e0 - h), 0, &rng, sizes, 3, &got),
                   FRAME_EBADTAG);
  assert_int_equal(got, 1);
  /* dropped: frame 1 missing */
  memcpy(v, s.p, e0);
  memcpy(v + e0, s.p + e1, e2 - e1);
  assert_int_equal(decode(key, v, e0 + (e2 - e1), 0, &rng, sizes, 3, &got),
                   FRAME_EBADTAG);
  assert_int_equal(got, 1);
  free(v);
  stream_free(&s);
}

static void after_final(void **state) {
  (void)state;
  size_t sizes[1] = {4};
  stream s;
  stream_make(&s, key, 1, sizes, 1);
  uint8_t *v = malloc(s.n + 1);
  memcpy(v, s.p, s.n);
  v[s.n] = 0;
  test_rng rng;
  rng_init(&rng, 5);
  int got;
  assert_int_equal(decode(key, v, s.n + 1, 0, &rng, sizes, 1, &got),
                   FRAME_EENDED);
  assert_int_equal(got, 1);
  free(v);
  stream_free(&s);

  /* nothing may be sealed after the end */
  frame_enc e;
  uint8_t hdr[FRAME_HEADER_BYTES], out[64];
  AOK(frame_enc_init(&e, key, hdr));
  AOK(frame_enc_seal(&e, NULL, 0, 1, out));
  assert_int_equal(frame_enc_seal(&e, (const uint8_t *)"\x01", 1, 0, out),
                   ACCORD_EINVAL);
}

/* A well-authenticated frame whose plaintext is not one msgpack value
 * (empty, two values, a truncated value) is refused. */
static void not_msgpack(void **state) {
  (void)state;
  const struct {
    const char *p;
    size_t n;
  } bad[] = {{"", 0}, {"\x01\x02", 2}, {"\x92\x01", 2}, {"\xc1", 1},
             {"\xcc\x05", 2} /* non-canonical uint */};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    frame_enc e;
    uint8_t in[FRAME_HEADER_BYTES + 64];
    AOK(frame_enc_init(&e, key, in));
    AOK(frame_enc_seal(&e, (const uint8_t *)bad[i].p, bad[i].n, 0,
                       in + FRAME_HEADER_BYTES));
    frame_dec d;
    frame_dec_init(&d, key);
    const uint8_t *p = in, *msg;
    size_t n = FRAME_HEADER_BYTES + frame_size(bad[i].n), len;
    assert_int_equal(frame_dec_next(&d, &p, &n, &msg, &len), FRAME_ENOTMSG);
    frame_dec_free(&d);
  }
  assert_true(frame_is_msgpack((const uint8_t *)"\x91\xc0", 2));
}

/* Out of memory while buffering a split frame is reported, not a crash. */
static void split_nomem(void **state) {
  (void)state;
  size_t sizes[1] = {100};
  stream s;
  stream_make(&s, key, 1, sizes, 0);
  frame_dec d;
  frame_dec_init(&d, key);
  const uint8_t *p = s.p, *msg;
  size_t n = s.n - 1, len;
  mem_fail_after(1);
  int rc = frame_dec_next(&d, &p, &n, &msg, &len);
  mem_fail_after(0);
  assert_int_equal(rc, FRAME_ENOMEM);
  frame_dec_free(&d);
  stream_free(&s);
}

TEST_MAIN(cmocka_unit_test(round_trip), cmocka_unit_test(largest_message),
          cmocka_unit_test(oversized_length), cmocka_unit_test(truncated),
          cmocka_unit_test(corrupted), cmocka_unit_test(reordered_replayed),
          cmocka_unit_test(after_final), cmocka_unit_test(not_msgpack),
          cmocka_unit_test(split_nomem))
