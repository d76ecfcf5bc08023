/*
 * frame.h — the transport's framing (DESIGN §6): after the handshake each
 * direction of a connection is
 *
 *     header (24 bytes) ‖ frame ‖ frame ‖ ...
 *     frame = u32 big-endian length ‖ ciphertext (length bytes)
 *
 * The header starts one crypto_secretstream_xchacha20poly1305 stream under
 * the direction's session key (net/handshake.c derives it); each ciphertext
 * is one stream message holding exactly one canonical msgpack value. The
 * last frame of a cleanly closed direction carries the FINAL tag and an
 * empty plaintext; nothing may follow it.
 *
 * Pure code: no sockets, no libuv, so it is unit-tested and fuzzed alone.
 * Workload: one frame_enc_seal per message sent, one frame_dec_next loop per
 * socket read (64 KiB reads carrying many small frames or a part of a big
 * one).
 */
#ifndef ACCORD_FRAME_H
#define ACCORD_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

/* The largest ciphertext a frame may carry (its length field), checked
 * before anything is allocated; the largest message is 17 bytes less. */
#define FRAME_MAX ((uint32_t)4 << 20)
#define FRAME_MSG_MAX (FRAME_MAX - SSTREAM_ABYTES)
#define FRAME_OVERHEAD (4 + SSTREAM_ABYTES)
#define FRAME_HEADER_BYTES SSTREAM_HEADER_BYTES

/* Results of frame_dec_next: >= 0 a state, < 0 an error that ends the
 * stream (the decoder stays failed; frame_status_str names each). */
typedef enum frame_status {
  FRAME_MORE = 0,      /* all input consumed, no complete message yet */
  FRAME_MSG = 1,       /* one message decoded */
  FRAME_END = 2,       /* the peer's FINAL frame: the stream ended cleanly */
  FRAME_ETOOBIG = -1,  /* a length field above FRAME_MAX */
  FRAME_EBADTAG = -2,  /* a frame failed authentication (or is shorter
                          than its tag): altered, forged, reordered,
                          replayed, or sealed under another key */
  FRAME_EENDED = -3,   /* bytes after the FINAL frame */
  FRAME_ENOTMSG = -4,  /* plaintext is not exactly one msgpack value */
  FRAME_ENOMEM = -5
} frame_status;

const char *frame_status_str(int status);

/* ---- sending ------------------------------------------------------------- */
typedef struct frame_enc {
  sstream_state st;
  int ended; /* the FINAL frame was sealed: nothing more may be */
} frame_enc;

/* Starts a stream under key (32 bytes); header receives the bytes to send
 * before the first frame. 0 or ACCORD_ENOMEM (libsodium failed to start). */
int frame_enc_init(frame_enc *e, const uint8_t key[32],
                   uint8_t header[FRAME_HEADER_BYTES]);
/* Bytes of the frame carrying an n-byte message. */
static inline size_t frame_size(size_t n) { return n + FRAME_OVERHEAD; }
/* Seals msg (n bytes) into out, which holds frame_size(n) bytes. final:
 * the stream's last frame (n may be 0). msg is not checked for msgpack
 * here: conn_send does. Errors: ETOOBIG (n > FRAME_MSG_MAX), EINVAL (the
 * stream already ended). */
int frame_enc_seal(frame_enc *e, const uint8_t *msg, size_t n, int final,
                   uint8_t *out);
/* Wipes the stream state. */
void frame_enc_clear(frame_enc *e);

/* ---- receiving ----------------------------------------------------------- */
/* Invariants: have counts the bytes of the current part (header, length
 * field or body) received so far; need <= FRAME_MAX once the length is
 * read; body holds bcap bytes, plain pcap; status < 0 once failed, and
 * then never changes. */
typedef struct frame_dec {
  sstream_state st;
  uint8_t key[32];
  uint8_t hdr[FRAME_HEADER_BYTES];
  uint8_t len[4];
  int phase; /* header, length, body, ended */
  int status;
  uint32_t need; /* length of the frame being received */
  size_t have;
  uint8_t *body;  /* a frame split across reads, gathered */
  uint8_t *plain; /* the decrypted message */
  size_t bcap, pcap;
} frame_dec;

/* Prepares to receive a stream under key (copied). */
void frame_dec_init(frame_dec *d, const uint8_t key[32]);
/* Consumes bytes from *p (*n of them) until one message is complete or the
 * input runs out, advancing *p and *n. Returns FRAME_MSG with *msg, *len
 * set (borrowed: valid until the next call or frame_dec_free), FRAME_MORE
 * (*n is then 0), FRAME_END (the peer closed its stream; further calls
 * with bytes give FRAME_EENDED), or an error. Call again while *n > 0. */
int frame_dec_next(frame_dec *d, const uint8_t **p, size_t *n,
                   const uint8_t **msg, size_t *len);
/* Frees the buffers and wipes keys. NULL-safe fields; d itself is the
 * caller's. */
void frame_dec_free(frame_dec *d);

/* 1 if p..p+n is exactly one canonical msgpack value (core/mp.h). */
int frame_is_msgpack(const uint8_t *p, size_t n);

#endif
