/*
 * fuzz_frame.c — libFuzzer target for the transport's frame decoder
 * (net/frame.c): arbitrary bytes as the received half of a connection,
 * after the handshake, under a fixed session key (fuzz_frame_key; the seed
 * corpus from fuzz_corpus holds valid streams under it, so mutations reach
 * the paths behind authentication).
 *
 * Input: byte 0 picks how the rest is cut into reads; the rest is the
 * stream. Checked on every input, beyond "no crash, no leak, no UB":
 *   - every message delivered is one msgpack value of at most
 *     FRAME_MSG_MAX bytes;
 *   - the outcome does not depend on where reads end: decoding the stream
 *     whole and in chunks gives the same messages and the same end state;
 *   - a failed decoder stays failed.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "frame.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct outcome {
  int status; /* last status: FRAME_MORE, FRAME_END or an error */
  size_t messages;
  uint8_t digest[32]; /* of the messages, each length-prefixed */
} outcome;

/* Chunk sizes: whole (seed 0), or from a small generator over seed. */
static void decode(const uint8_t *p, size_t n, unsigned seed, outcome *o) {
  frame_dec d;
  frame_dec_init(&d, fuzz_frame_key);
  hash_state h;
  hash_init(&h);
  o->status = FRAME_MORE;
  o->messages = 0;
  uint32_t x = seed * 2654435761u + 1;
  size_t off = 0;
  while (off < n && o->status >= 0 && o->status != FRAME_END) {
    size_t c = n - off;
    if (seed) {
      x ^= x << 13, x ^= x >> 17, x ^= x << 5;
      size_t k = 1 + x % (seed % 4 == 0 ? 7 : 300);
      if (k < c) c = k;
    }
    const uint8_t *q = p + off;
    size_t left = c;
    while (left > 0) {
      const uint8_t *msg;
      size_t len;
      int rc = frame_dec_next(&d, &q, &left, &msg, &len);
      if (rc == FRAME_MSG) {
        if (len > FRAME_MSG_MAX || !frame_is_msgpack(msg, len))
          fuzz_die("delivered a message that is not msgpack", 0);
        uint8_t l[8] = {(uint8_t)len, (uint8_t)(len >> 8),
                        (uint8_t)(len >> 16), (uint8_t)(len >> 24)};
        hash_update(&h, l, sizeof l);
        hash_update(&h, msg, len);
        o->messages++;
        o->status = FRAME_MORE;
        continue;
      }
      o->status = rc;
      if (rc != FRAME_MORE) break;
    }
    off += c - left;
  }
  /* bytes after the end are an error, whatever the chunking */
  if (o->status == FRAME_END && off < n) {
    const uint8_t *q = p + off, *msg;
    size_t left = n - off, len;
    o->status = frame_dec_next(&d, &q, &left, &msg, &len);
  }
  if (o->status < 0) {
    const uint8_t *q = p, *msg;
    size_t left = n, len;
    if (n && frame_dec_next(&d, &q, &left, &msg, &len) != o->status)
      fuzz_die("a failed decoder recovered", o->status);
  }
  hash_final(&h, o->digest);
  frame_dec_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  outcome whole, split;
  decode(data + 1, size - 1, 0, &whole);
  decode(data + 1, size - 1, 1u + data[0], &split);
  if (whole.status != split.status)
    fuzz_die("status depends on the chunking", split.status);
  if (whole.messages != split.messages ||
      memcmp(whole.digest, split.digest, 32) != 0)
    fuzz_die("messages depend on the chunking", 0);
  return 0;
}
