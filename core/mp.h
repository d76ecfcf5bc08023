/*
 * mp.h — MessagePack writer and bounded reader for accord's encodings.
 *
 * Why not msgpack-c here: its unpacker builds an object tree in a zone and
 * sizes arrays from the counts the input claims before seeing the data, and
 * its packer calls a function pointer for every field. Changes are decoded
 * from hostile peers and encoded on every keystroke, so this file writes
 * straight into a buf and reads with a cursor that checks every length
 * against the bytes that remain and allocates nothing. msgpack-c stays the
 * independent reference the tests check this codec against.
 *
 * Canonical form: the writer always emits the shortest encoding of every
 * integer and length, and doubles as float64. The reader refuses any other
 * form, so a valid encoding has exactly one byte string.
 *
 * Reader errors are sticky: the first failure sets r->err (ACCORD_EMALFORMED)
 * and every later read fails, so decoders check once per record.
 */
#ifndef ACCORD_MP_H
#define ACCORD_MP_H

#include <stdint.h>
#include <string.h>

#include "buf.h"

/* Writer ------------------------------------------------------------------ */
void mp_put_uint_slow(buf *b, uint64_t v);
void mp_put_array_slow(buf *b, uint32_t n);

/* The small cases inline: changes are written on every keystroke. */
static inline void mp_put_nil(buf *b) { buf_put_byte(b, 0xc0); }
static inline void mp_put_bool(buf *b, int v) {
  buf_put_byte(b, v ? 0xc3 : 0xc2);
}
static inline void mp_put_uint(buf *b, uint64_t v) {
  if (v < 0x80) buf_put_byte(b, (uint8_t)v);
  else mp_put_uint_slow(b, v);
}
static inline void mp_put_array(buf *b, uint32_t n) {
  if (n <= 15) buf_put_byte(b, (uint8_t)(0x90 | n));
  else mp_put_array_slow(b, n);
}
void mp_put_int(buf *b, int64_t v);
void mp_put_double(buf *b, double v);
void mp_put_str(buf *b, const void *p, size_t len);
void mp_put_bin(buf *b, const void *p, size_t len);
void mp_put_map(buf *b, uint32_t n);
void mp_put_ext(buf *b, int8_t type, const void *p, size_t len);

/* Unchecked writers for the hot path (one encoded change per keystroke):
 * the same bytes as the mp_put_* of the same name, written at p into room
 * the caller reserved (a uint or int takes at most 9 bytes, an array, str
 * or bin header at most 5); each returns the end of what it wrote. One
 * reserve per op instead of one bounds check per byte. */
static inline uint8_t *mp_w_be(uint8_t *p, uint8_t tag, uint64_t v, int n) {
  *p++ = tag;
  for (int i = n - 1; i >= 0; i--) *p++ = (uint8_t)(v >> (8 * i));
  return p;
}
static inline uint8_t *mp_w_nil(uint8_t *p) {
  *p = 0xc0;
  return p + 1;
}
static inline uint8_t *mp_w_uint(uint8_t *p, uint64_t v) {
  if (v < 0x80) {
    *p = (uint8_t)v;
    return p + 1;
  }
  if (v <= 0xff) return mp_w_be(p, 0xcc, v, 1);
  if (v <= 0xffff) return mp_w_be(p, 0xcd, v, 2);
  if (v <= 0xffffffffu) return mp_w_be(p, 0xce, v, 4);
  return mp_w_be(p, 0xcf, v, 8);
}
static inline uint8_t *mp_w_int(uint8_t *p, int64_t v) {
  if (v >= 0) return mp_w_uint(p, (uint64_t)v);
  if (v >= -32) {
    *p = (uint8_t)(int8_t)v;
    return p + 1;
  }
  if (v >= INT8_MIN) return mp_w_be(p, 0xd0, (uint64_t)v & 0xff, 1);
  if (v >= INT16_MIN) return mp_w_be(p, 0xd1, (uint64_t)v & 0xffff, 2);
  if (v >= INT32_MIN) return mp_w_be(p, 0xd2, (uint64_t)v & 0xffffffffu, 4);
  return mp_w_be(p, 0xd3, (uint64_t)v, 8);
}
static inline uint8_t *mp_w_array(uint8_t *p, uint32_t n) {
  if (n <= 15) {
    *p = (uint8_t)(0x90 | n);
    return p + 1;
  }
  return n <= 0xffff ? mp_w_be(p, 0xdc, n, 2) : mp_w_be(p, 0xdd, n, 4);
}
static inline uint8_t *mp_w_str(uint8_t *p, const void *s, uint32_t len) {
  if (len <= 31) *p++ = (uint8_t)(0xa0 | len);
  else if (len <= 0xff) p = mp_w_be(p, 0xd9, len, 1);
  else if (len <= 0xffff) p = mp_w_be(p, 0xda, len, 2);
  else p = mp_w_be(p, 0xdb, len, 4);
  if (len <= 4) { /* a keystroke's text: a loop, not a call */
    for (uint32_t i = 0; i < len; i++) p[i] = ((const uint8_t *)s)[i];
  } else {
    memcpy(p, s, len);
  }
  return p + len;
}
static inline uint8_t *mp_w_bin(uint8_t *p, const void *s, uint32_t len) {
  if (len <= 0xff) p = mp_w_be(p, 0xc4, len, 1);
  else if (len <= 0xffff) p = mp_w_be(p, 0xc5, len, 2);
  else p = mp_w_be(p, 0xc6, len, 4);
  if (len) memcpy(p, s, len);
  return p + len;
}

/* Bytes the writers above take for a uint of value v, an array header of
 * n elements (n < 2^32: larger counts do not fit the format). */
static inline size_t mp_uint_size(uint64_t v) {
  return v < 0x80 ? 1 : v <= 0xff ? 2 : v <= 0xffff ? 3
                                     : v <= 0xffffffffu ? 5 : 9;
}
static inline size_t mp_array_size(uint64_t n) {
  return n <= 15 ? 1 : n <= 0xffff ? 3 : 5;
}

/* Reader ------------------------------------------------------------------ */
typedef enum mp_kind {
  MP_NONE = 0, /* end of input or error */
  MP_NIL,
  MP_BOOL,
  MP_UINT, /* non-negative integer */
  MP_NINT, /* negative integer */
  MP_FLOAT,
  MP_STR,
  MP_BIN,
  MP_ARRAY,
  MP_MAP,
  MP_EXT
} mp_kind;

typedef struct mp_reader {
  const uint8_t *p, *end;
  int err;
} mp_reader;

static inline void mp_reader_init(mp_reader *r, const uint8_t *p, size_t n) {
  r->p = p;
  r->end = p + n;
  r->err = 0;
}

static inline size_t mp_left(const mp_reader *r) {
  return (size_t)(r->end - r->p);
}

mp_kind mp_peek(const mp_reader *r);
/* Each getter returns 0 on success, ACCORD_EMALFORMED on a wrong kind,
 * a non-shortest form or a length beyond the input. */
int mp_get_nil(mp_reader *r);
int mp_get_bool(mp_reader *r, int *v);
int mp_get_double(mp_reader *r, double *v);

/* The getters below read the one-byte forms (fixint, fixarray, fixstr,
 * nil, bin8) inline and leave everything else, errors included, to the
 * *_slow function of the same name in mp.c: those forms are nearly every
 * value of a change body, a version or a batch header, and a call per
 * value was ~40% of decoding a keystroke's change (callgrind,
 * friendsforever). The one-byte forms are canonical by construction, and
 * the bounds are the slow path's: a count or a length must fit in the
 * bytes after the header. Invariant: a reader with err set has p == end
 * (every failure moves p there, and nothing moves p after one), so the
 * fast paths test p < end and not err. */
#if defined(__GNUC__)
#define MP_INLINE static inline __attribute__((always_inline))
#else
#define MP_INLINE static inline
#endif
int mp_get_uint_slow(mp_reader *r, uint64_t *v);
int mp_get_int_slow(mp_reader *r, int64_t *v);
int mp_get_str_slow(mp_reader *r, const char **p, size_t *len);
int mp_get_bin_slow(mp_reader *r, const uint8_t **p, size_t *len);
int mp_get_array_slow(mp_reader *r, uint32_t *n);
int mp_get_map_slow(mp_reader *r, uint32_t *n);

MP_INLINE int mp_try_nil(mp_reader *r) { /* 1 if a nil was consumed */
  if (r->p < r->end && *r->p == 0xc0) {
    r->p++;
    return 1;
  }
  return 0;
}
MP_INLINE int mp_get_uint(mp_reader *r, uint64_t *v) {
  if (r->p < r->end) {
    uint8_t c = *r->p;
    if (c <= 0x7f) {
      r->p++;
      *v = c;
      return 0;
    }
    /* uint16, shortest form only: seqs and counters of a long history */
    if (c == 0xcd && r->end - r->p >= 3 && r->p[1]) {
      *v = (uint64_t)r->p[1] << 8 | r->p[2];
      r->p += 3;
      return 0;
    }
  }
  return mp_get_uint_slow(r, v);
}
MP_INLINE int mp_get_int(mp_reader *r, int64_t *v) {
  if (r->p < r->end) {
    uint8_t c = *r->p;
    if (c <= 0x7f || c >= 0xe0) { /* positive, negative fixint */
      r->p++;
      *v = c <= 0x7f ? (int64_t)c : (int64_t)(int8_t)c;
      return 0;
    }
  }
  return mp_get_int_slow(r, v);
}
MP_INLINE int mp_get_str(mp_reader *r, const char **p, size_t *len) {
  if (r->p < r->end && (*r->p & 0xe0) == 0xa0 &&
      (size_t)(*r->p & 0x1f) < (size_t)(r->end - r->p)) {
    *len = *r->p & 0x1fu;
    *p = (const char *)r->p + 1;
    r->p += 1 + *len;
    return 0;
  }
  return mp_get_str_slow(r, p, len);
}
MP_INLINE int mp_get_bin(mp_reader *r, const uint8_t **p, size_t *len) {
  if (r->end - r->p >= 2 && *r->p == 0xc4 &&
      (size_t)r->p[1] <= (size_t)(r->end - r->p) - 2) {
    *len = r->p[1];
    *p = r->p + 2;
    r->p += 2 + *len;
    return 0;
  }
  return mp_get_bin_slow(r, p, len);
}
/* Counts are bounded by the bytes left (every element takes >= 1 byte). */
MP_INLINE int mp_get_array(mp_reader *r, uint32_t *n) {
  if (r->p < r->end && (*r->p & 0xf0) == 0x90 &&
      (size_t)(*r->p & 0x0f) < (size_t)(r->end - r->p)) {
    *n = *r->p++ & 0x0fu;
    return 0;
  }
  return mp_get_array_slow(r, n);
}
int mp_get_ext(mp_reader *r, int8_t *type, const uint8_t **p, size_t *len);
/* Skips one complete value (nesting at most MP_MAX_DEPTH deep). */
#define MP_MAX_DEPTH 64
int mp_skip(mp_reader *r);
/* Skips count consecutive values (one call where a record is a run of
 * values: change bodies are six). Same checks as mp_skip. */
int mp_skip_n(mp_reader *r, uint32_t count);

/* Pairs are bounded by half the bytes left. */
MP_INLINE int mp_get_map(mp_reader *r, uint32_t *n) {
  if (r->p < r->end && (*r->p & 0xf0) == 0x80 &&
      (size_t)(*r->p & 0x0f) <= (size_t)(r->end - r->p - 1) / 2) {
    *n = *r->p++ & 0x0fu;
    return 0;
  }
  return mp_get_map_slow(r, n);
}
/* Convenience: a uint that must fit in max. */
int mp_get_uint_max_slow(mp_reader *r, uint64_t max, uint64_t *v);
MP_INLINE int mp_get_uint_max(mp_reader *r, uint64_t max, uint64_t *v) {
  const uint8_t *p = r->p;
  if (mp_get_uint(r, v)) return r->err;
  if (*v <= max) return 0;
  r->p = p; /* the slow path fails it the same way */
  return mp_get_uint_max_slow(r, max, v);
}

#endif
