/*
 * mp.c — MessagePack writer and bounded, canonical-only reader (see mp.h).
 */
#include "mp.h"

#include <string.h>

#include "accord.h"

/* Writer ------------------------------------------------------------------ */

static void put_be(buf *b, uint8_t tag, uint64_t v, int n) {
  uint8_t t[9];
  t[0] = tag;
  for (int i = 0; i < n; i++) t[1 + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
  buf_put(b, t, (size_t)n + 1);
}

void mp_put_uint_slow(buf *b, uint64_t v) {
  if (v < 0x80) buf_put_byte(b, (uint8_t)v);
  else if (v <= 0xff) put_be(b, 0xcc, v, 1);
  else if (v <= 0xffff) put_be(b, 0xcd, v, 2);
  else if (v <= 0xffffffffu) put_be(b, 0xce, v, 4);
  else put_be(b, 0xcf, v, 8);
}

void mp_put_int(buf *b, int64_t v) {
  if (v >= 0) {
    mp_put_uint(b, (uint64_t)v);
  } else if (v >= -32) {
    buf_put_byte(b, (uint8_t)(int8_t)v);
  } else if (v >= INT8_MIN) {
    put_be(b, 0xd0, (uint64_t)v & 0xff, 1);
  } else if (v >= INT16_MIN) {
    put_be(b, 0xd1, (uint64_t)v & 0xffff, 2);
  } else if (v >= INT32_MIN) {
    put_be(b, 0xd2, (uint64_t)v & 0xffffffffu, 4);
  } else {
    put_be(b, 0xd3, (uint64_t)v, 8);
  }
}

void mp_put_double(buf *b, double v) {
  uint64_t u;
  memcpy(&u, &v, sizeof u);
  put_be(b, 0xcb, u, 8);
}

static void put_len(buf *b, size_t len, uint8_t fix, uint8_t fixmax,
                    uint8_t t8, uint8_t t16, uint8_t t32) {
  if (fix && len <= fixmax) buf_put_byte(b, (uint8_t)(fix | len));
  else if (t8 && len <= 0xff) put_be(b, t8, len, 1);
  else if (len <= 0xffff) put_be(b, t16, len, 2);
  else put_be(b, t32, len, 4);
}

void mp_put_str(buf *b, const void *p, size_t len) {
  put_len(b, len, 0xa0, 31, 0xd9, 0xda, 0xdb);
  buf_put(b, p, len);
}

void mp_put_bin(buf *b, const void *p, size_t len) {
  put_len(b, len, 0, 0, 0xc4, 0xc5, 0xc6);
  buf_put(b, p, len);
}

void mp_put_array_slow(buf *b, uint32_t n) {
  put_len(b, n, 0x90, 15, 0, 0xdc, 0xdd);
}
void mp_put_map(buf *b, uint32_t n) { put_len(b, n, 0x80, 15, 0, 0xde, 0xdf); }

void mp_put_ext(buf *b, int8_t type, const void *p, size_t len) {
  switch (len) {
    case 1: buf_put_byte(b, 0xd4); break;
    case 2: buf_put_byte(b, 0xd5); break;
    case 4: buf_put_byte(b, 0xd6); break;
    case 8: buf_put_byte(b, 0xd7); break;
    case 16: buf_put_byte(b, 0xd8); break;
    default: put_len(b, len, 0, 0, 0xc7, 0xc8, 0xc9); break;
  }
  buf_put_byte(b, (uint8_t)type);
  buf_put(b, p, len);
}

/* Reader ------------------------------------------------------------------ */

static int fail(mp_reader *r) {
  r->err = ACCORD_EMALFORMED;
  r->p = r->end;
  return ACCORD_EMALFORMED;
}

/* Reads an n-byte big-endian number after the tag byte. */
static int take_be(mp_reader *r, int n, uint64_t *v) {
  if (mp_left(r) < (size_t)n + 1) return fail(r);
  uint64_t x = 0;
  for (int i = 1; i <= n; i++) x = (x << 8) | r->p[i];
  r->p += n + 1;
  *v = x;
  return 0;
}

mp_kind mp_peek(const mp_reader *r) {
  if (r->err || r->p >= r->end) return MP_NONE;
  uint8_t c = *r->p;
  if (c <= 0x7f) return MP_UINT;
  if (c <= 0x8f) return MP_MAP;
  if (c <= 0x9f) return MP_ARRAY;
  if (c <= 0xbf) return MP_STR;
  if (c >= 0xe0) return MP_NINT;
  switch (c) {
    case 0xc0: return MP_NIL;
    case 0xc2: case 0xc3: return MP_BOOL;
    case 0xc4: case 0xc5: case 0xc6: return MP_BIN;
    case 0xc7: case 0xc8: case 0xc9: case 0xd4: case 0xd5: case 0xd6:
    case 0xd7: case 0xd8: return MP_EXT;
    case 0xca: case 0xcb: return MP_FLOAT;
    case 0xcc: case 0xcd: case 0xce: case 0xcf: return MP_UINT;
    case 0xd0: case 0xd1: case 0xd2: case 0xd3: return MP_NINT;
    case 0xd9: case 0xda: case 0xdb: return MP_STR;
    case 0xdc: case 0xdd: return MP_ARRAY;
    case 0xde: case 0xdf: return MP_MAP;
    default: return MP_NONE; /* 0xc1 is never used */
  }
}

int mp_get_nil(mp_reader *r) {
  if (r->err || r->p >= r->end || *r->p != 0xc0) return fail(r);
  r->p++;
  return 0;
}

int mp_get_bool(mp_reader *r, int *v) {
  if (r->err || r->p >= r->end || (*r->p != 0xc2 && *r->p != 0xc3))
    return fail(r);
  *v = *r->p++ == 0xc3;
  return 0;
}

int mp_get_uint_slow(mp_reader *r, uint64_t *v) {
  if (r->err || r->p >= r->end) return fail(r);
  uint8_t c = *r->p;
  uint64_t x;
  if (c <= 0x7f) {
    r->p++;
    *v = c;
    return 0;
  }
  switch (c) {
    case 0xcc:
      if (take_be(r, 1, &x) || x < 0x80) return fail(r);
      break;
    case 0xcd:
      if (take_be(r, 2, &x) || x <= 0xff) return fail(r);
      break;
    case 0xce:
      if (take_be(r, 4, &x) || x <= 0xffff) return fail(r);
      break;
    case 0xcf:
      if (take_be(r, 8, &x) || x <= 0xffffffffu) return fail(r);
      break;
    default: return fail(r);
  }
  *v = x;
  return 0;
}

int mp_get_uint_max_slow(mp_reader *r, uint64_t max, uint64_t *v) {
  if (mp_get_uint(r, v)) return r->err;
  return *v > max ? fail(r) : 0;
}

int mp_get_int_slow(mp_reader *r, int64_t *v) {
  if (r->err || r->p >= r->end) return fail(r);
  uint8_t c = *r->p;
  uint64_t x;
  if (c >= 0xe0) {
    r->p++;
    *v = (int8_t)c;
    return 0;
  }
  switch (c) {
    case 0xd0:
      if (take_be(r, 1, &x) || (int8_t)x >= -32) return fail(r);
      *v = (int8_t)x;
      return 0;
    case 0xd1:
      if (take_be(r, 2, &x) || (int16_t)x >= INT8_MIN) return fail(r);
      *v = (int16_t)x;
      return 0;
    case 0xd2:
      if (take_be(r, 4, &x) || (int32_t)x >= INT16_MIN) return fail(r);
      *v = (int32_t)x;
      return 0;
    case 0xd3:
      if (take_be(r, 8, &x) || (int64_t)x >= INT32_MIN) return fail(r);
      *v = (int64_t)x;
      return 0;
    default: {
      uint64_t u;
      if (mp_get_uint(r, &u)) return r->err;
      if (u > INT64_MAX) return fail(r);
      *v = (int64_t)u;
      return 0;
    }
  }
}

int mp_get_double(mp_reader *r, double *v) {
  uint64_t x;
  if (r->err || r->p >= r->end || *r->p != 0xcb || take_be(r, 8, &x))
    return fail(r);
  memcpy(v, &x, sizeof *v);
  return 0;
}

/* Reads a length header: fix (mask/low bits), 8/16/32-bit forms, with the
 * shortest-form rule. t8 may be 0 when the kind has no 8-bit form. */
static int get_len(mp_reader *r, uint8_t fix, uint8_t fixmask, size_t fixmax,
                   uint8_t t8, uint8_t t16, uint8_t t32, size_t *len) {
  if (r->err || r->p >= r->end) return fail(r);
  uint8_t c = *r->p;
  uint64_t x;
  if (fixmask && (c & ~fixmask) == fix) {
    r->p++;
    *len = c & fixmask;
    return 0;
  }
  size_t min;
  if (t8 && c == t8) {
    if (take_be(r, 1, &x)) return fail(r);
    min = fixmask ? fixmax + 1 : 0;
  } else if (c == t16) {
    if (take_be(r, 2, &x)) return fail(r);
    min = t8 ? 0x100 : fixmax + 1;
  } else if (c == t32) {
    if (take_be(r, 4, &x)) return fail(r);
    min = 0x10000;
  } else {
    return fail(r);
  }
  if (x < min) return fail(r);
  *len = (size_t)x;
  return 0;
}

static int get_bytes(mp_reader *r, size_t len, const uint8_t **p) {
  if (len > mp_left(r)) return fail(r);
  *p = r->p;
  r->p += len;
  return 0;
}

int mp_get_str_slow(mp_reader *r, const char **p, size_t *len) {
  const uint8_t *q;
  if (get_len(r, 0xa0, 0x1f, 31, 0xd9, 0xda, 0xdb, len) ||
      get_bytes(r, *len, &q))
    return r->err;
  *p = (const char *)q;
  return 0;
}

int mp_get_bin_slow(mp_reader *r, const uint8_t **p, size_t *len) {
  if (get_len(r, 0, 0, 0, 0xc4, 0xc5, 0xc6, len) || get_bytes(r, *len, p))
    return r->err;
  return 0;
}

int mp_get_array_slow(mp_reader *r, uint32_t *n) {
  size_t len;
  if (get_len(r, 0x90, 0x0f, 15, 0, 0xdc, 0xdd, &len)) return r->err;
  if (len > mp_left(r)) return fail(r);
  *n = (uint32_t)len;
  return 0;
}

int mp_get_map_slow(mp_reader *r, uint32_t *n) {
  size_t len;
  if (get_len(r, 0x80, 0x0f, 15, 0, 0xde, 0xdf, &len)) return r->err;
  if (len > mp_left(r) / 2) return fail(r);
  *n = (uint32_t)len;
  return 0;
}

int mp_get_ext(mp_reader *r, int8_t *type, const uint8_t **p, size_t *len) {
  if (r->err || r->p >= r->end) return fail(r);
  uint8_t c = *r->p;
  size_t n;
  switch (c) {
    case 0xd4: n = 1; break;
    case 0xd5: n = 2; break;
    case 0xd6: n = 4; break;
    case 0xd7: n = 8; break;
    case 0xd8: n = 16; break;
    default:
      if (get_len(r, 0, 0, 0, 0xc7, 0xc8, 0xc9, &n)) return r->err;
      /* the fixext sizes must use their short forms */
      if (n == 1 || n == 2 || n == 4 || n == 8 || n == 16) return fail(r);
      goto typed;
  }
  r->p++;
typed:
  if (r->p >= r->end) return fail(r);
  *type = (int8_t)*r->p++;
  *len = n;
  return get_bytes(r, n, p);
}

int mp_skip(mp_reader *r) { return mp_skip_n(r, 1); }

int mp_skip_n(mp_reader *r, uint32_t count) {
  /* pending counts how many values remain at each open nesting level */
  uint64_t pending[MP_MAX_DEPTH + 1];
  int depth = 0;
  pending[0] = count;
  while (depth >= 0) {
    if (pending[depth] == 0) {
      depth--;
      continue;
    }
    pending[depth]--;
    /* Fast path: the forms whose header is one byte are always canonical,
     * and they are nearly every value of a change body (fixints, fixstrs,
     * fixarrays, nil). Same checks as the getters below: a fixstr's bytes
     * must be there, a fixarray's count bounded by the bytes left. Batches
     * are sized with this skip before decoding (change_body_len), so it
     * runs over every imported byte. */
    if (!r->err && r->p < r->end) {
      uint8_t c = *r->p;
      if (c <= 0x7f || c >= 0xe0 || c == 0xc0) { /* fixint, nil */
        r->p++;
        continue;
      }
      if (c >= 0xa0 && c <= 0xbf) { /* fixstr */
        size_t n = c & 0x1fu;
        if (n >= mp_left(r)) return fail(r);
        r->p += 1 + n;
        continue;
      }
      if (c == 0xcc || c == 0xd0) { /* uint8, int8: shortest forms only */
        if (mp_left(r) < 2) return fail(r);
        uint8_t x = r->p[1];
        if (c == 0xcc ? x < 0x80 : (int8_t)x >= -32) return fail(r);
        r->p += 2;
        continue;
      }
      if (c == 0xcd || c == 0xd1) { /* uint16, int16: shortest forms only */
        if (mp_left(r) < 3) return fail(r);
        uint16_t x = (uint16_t)(r->p[1] << 8 | r->p[2]);
        if (c == 0xcd ? x <= 0xff : (int16_t)x >= INT8_MIN) return fail(r);
        r->p += 3;
        continue;
      }
      if (c >= 0x90 && c <= 0x9f) { /* fixarray */
        uint32_t n = c & 0x0fu;
        r->p++;
        if (n > mp_left(r)) return fail(r);
        if (n) {
          if (depth == MP_MAX_DEPTH) return fail(r);
          pending[++depth] = n;
        }
        continue;
      }
    }
    const char *s;
    const uint8_t *q;
    size_t len;
    uint64_t u;
    int64_t i;
    double d;
    int b;
    int8_t t;
    uint32_t n = 0;
    switch (mp_peek(r)) {
      case MP_NIL: mp_get_nil(r); break;
      case MP_BOOL: mp_get_bool(r, &b); break;
      case MP_UINT: mp_get_uint(r, &u); break;
      case MP_NINT: mp_get_int(r, &i); break;
      case MP_FLOAT: mp_get_double(r, &d); break; /* float64 only */
      case MP_STR: mp_get_str(r, &s, &len); break;
      case MP_BIN: mp_get_bin(r, &q, &len); break;
      case MP_EXT: mp_get_ext(r, &t, &q, &len); break;
      case MP_ARRAY:
      case MP_MAP: {
        int map = mp_peek(r) == MP_MAP;
        if (map ? mp_get_map(r, &n) : mp_get_array(r, &n)) return r->err;
        if (n) {
          if (depth == MP_MAX_DEPTH) return fail(r);
          pending[++depth] = map ? 2 * (uint64_t)n : n;
        }
        break;
      }
      default: return fail(r);
    }
    if (r->err) return r->err;
  }
  return 0;
}
