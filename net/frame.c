/*
 * frame.c — encrypted, length-prefixed frames (the format is in frame.h).
 *
 * The decoder is a small state machine over the parts of the stream
 * (header, then length field and body per frame), so a socket read may end
 * anywhere. A length field is checked against FRAME_MAX before any buffer
 * is sized from it: a peer that announces 4 GB gets FRAME_ETOOBIG after 4
 * bytes and costs no memory. A frame that arrives whole in one read is
 * decrypted straight from the read buffer; only split frames are copied.
 * Buffers above FRAME_KEEP are released once their message is consumed, so
 * one large message does not pin megabytes for the connection's life.
 */
#include "frame.h"

#include <string.h>

#include "accord.h"
#include "mem.h"
#include "mp.h"

enum { PH_HEADER, PH_LENGTH, PH_BODY, PH_ENDED };

#define FRAME_KEEP ((size_t)256 << 10)

const char *frame_status_str(int status) {
  switch (status) {
  case FRAME_MORE: return "need more bytes";
  case FRAME_MSG: return "message";
  case FRAME_END: return "stream ended";
  case FRAME_ETOOBIG: return "frame length exceeds the 4 MiB limit";
  case FRAME_EBADTAG: return "frame failed authentication";
  case FRAME_EENDED: return "bytes after the end of the stream";
  case FRAME_ENOTMSG: return "frame is not one msgpack message";
  case FRAME_ENOMEM: return "out of memory";
  default: return "unknown frame status";
  }
}

int frame_is_msgpack(const uint8_t *p, size_t n) {
  mp_reader r;
  mp_reader_init(&r, p, n);
  return n > 0 && mp_skip(&r) == 0 && mp_left(&r) == 0;
}

/* ---- sending ------------------------------------------------------------- */

int frame_enc_init(frame_enc *e, const uint8_t key[32],
                   uint8_t header[FRAME_HEADER_BYTES]) {
  int rc = crypto_init();
  if (rc) return rc;
  sstream_push_init(&e->st, header, key);
  e->ended = 0;
  return 0;
}

int frame_enc_seal(frame_enc *e, const uint8_t *msg, size_t n, int final,
                   uint8_t *out) {
  if (e->ended) return ACCORD_EINVAL;
  if (n > FRAME_MSG_MAX) return ACCORD_ETOOBIG;
  uint32_t len = (uint32_t)(n + SSTREAM_ABYTES);
  out[0] = (uint8_t)(len >> 24);
  out[1] = (uint8_t)(len >> 16);
  out[2] = (uint8_t)(len >> 8);
  out[3] = (uint8_t)len;
  sstream_push(&e->st, out + 4, msg, n,
               final ? SSTREAM_TAG_FINAL : SSTREAM_TAG_MESSAGE);
  if (final) e->ended = 1;
  return 0;
}

void frame_enc_clear(frame_enc *e) { crypto_wipe(e, sizeof *e); }

/* ---- receiving ----------------------------------------------------------- */

static int fail(frame_dec *d, int status) {
  d->status = status;
  crypto_wipe(&d->st, sizeof d->st);
  return status;
}

/* *b holds at least need bytes (need <= FRAME_MAX, checked before). */
static int reserve(uint8_t **b, size_t *cap, size_t need) {
  if (*cap >= need) return 0;
  uint8_t *nb = mem_realloc(*b, need ? need : 1);
  if (!nb) return -1;
  *b = nb;
  *cap = need;
  return 0;
}

static void release(frame_dec *d) {
  mem_free(d->body);
  mem_free(d->plain);
  d->body = d->plain = NULL;
  d->bcap = d->pcap = 0;
}

void frame_dec_init(frame_dec *d, const uint8_t key[32]) {
  memset(d, 0, sizeof *d);
  memcpy(d->key, key, 32);
  d->phase = PH_HEADER;
}

void frame_dec_free(frame_dec *d) {
  release(d);
  crypto_wipe(&d->st, sizeof d->st);
  crypto_wipe(d->key, sizeof d->key);
}

/* Takes up to `want - have` bytes into dst; 1 once the part is complete. */
static int take(uint8_t *dst, size_t want, size_t *have, const uint8_t **p,
                size_t *n) {
  size_t k = want - *have;
  if (k > *n) k = *n;
  memcpy(dst + *have, *p, k);
  *have += k;
  *p += k;
  *n -= k;
  return *have == want;
}

/* Opens one complete ciphertext c of d->need bytes. */
static int open_frame(frame_dec *d, const uint8_t *c, const uint8_t **msg,
                      size_t *len) {
  uint8_t tag = 0;
  size_t mlen = d->need - SSTREAM_ABYTES;
  if (sstream_pull(&d->st, d->plain, &tag, c, d->need) != 0)
    return fail(d, FRAME_EBADTAG);
  d->phase = PH_LENGTH;
  d->have = 0;
  if (tag == SSTREAM_TAG_FINAL) {
    if (mlen != 0) return fail(d, FRAME_ENOTMSG);
    d->phase = PH_ENDED;
    crypto_wipe(&d->st, sizeof d->st);
    return FRAME_END;
  }
  /* our encoder uses MESSAGE and FINAL only */
  if (tag != SSTREAM_TAG_MESSAGE) return fail(d, FRAME_EBADTAG);
  if (!frame_is_msgpack(d->plain, mlen)) return fail(d, FRAME_ENOTMSG);
  *msg = d->plain;
  *len = mlen;
  return FRAME_MSG;
}

int frame_dec_next(frame_dec *d, const uint8_t **p, size_t *n,
                   const uint8_t **msg, size_t *len) {
  *msg = NULL;
  *len = 0;
  if (d->status < 0) return d->status;
  if ((d->bcap > FRAME_KEEP || d->pcap > FRAME_KEEP) && d->phase != PH_BODY)
    release(d);
  while (*n > 0) {
    switch (d->phase) {
    case PH_HEADER:
      if (!take(d->hdr, FRAME_HEADER_BYTES, &d->have, p, n)) break;
      if (sstream_pull_init(&d->st, d->hdr, d->key) != 0)
        return fail(d, FRAME_EBADTAG);
      crypto_wipe(d->key, sizeof d->key);
      d->phase = PH_LENGTH;
      d->have = 0;
      break;
    case PH_LENGTH:
      if (!take(d->len, 4, &d->have, p, n)) break;
      d->need = (uint32_t)d->len[0] << 24 | (uint32_t)d->len[1] << 16 |
                (uint32_t)d->len[2] << 8 | d->len[3];
      if (d->need > FRAME_MAX) return fail(d, FRAME_ETOOBIG);
      if (d->need < SSTREAM_ABYTES) return fail(d, FRAME_EBADTAG);
      d->phase = PH_BODY;
      d->have = 0;
      if (reserve(&d->plain, &d->pcap, d->need - SSTREAM_ABYTES) != 0)
        return fail(d, FRAME_ENOMEM);
      break;
    case PH_BODY:
      if (d->have == 0 && *n >= d->need) { /* whole: no copy */
        const uint8_t *c = *p;
        *p += d->need;
        *n -= d->need;
        return open_frame(d, c, msg, len);
      }
      if (reserve(&d->body, &d->bcap, d->need) != 0)
        return fail(d, FRAME_ENOMEM);
      if (!take(d->body, d->need, &d->have, p, n)) break;
      return open_frame(d, d->body, msg, len);
    default: /* PH_ENDED */
      return fail(d, FRAME_EENDED);
    }
  }
  return FRAME_MORE;
}
