/*
 * test_mp.c — the MessagePack codec (core/mp.c) against msgpack-c, an
 * independent implementation.
 *
 * Writer: random values of every kind (integers around every width
 * boundary, doubles from random bit patterns, str/bin/ext/array/map lengths
 * around every header boundary, nested containers) are encoded with
 * mp_put_*; the bytes must equal what msgpack-c's packer produces (it also
 * uses shortest forms, str8 included) and msgpack_unpack_next must decode
 * them back to the value. The unchecked writers (mp_w_*) must write the
 * same bytes as the checked ones.
 *
 * Reader: round trips through mp_get_* and mp_skip; refusal of every
 * non-shortest form, of every strict prefix of a valid encoding, of lengths
 * and counts beyond the input, of nesting deeper than MP_MAX_DEPTH; the
 * error is sticky. change_body_len (change.c's sizing of a change body,
 * with its own fast path) sizes exactly what mp_skip_n does.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "testutil.h"

#include "buf.h"
#include "change.h"
#include "mem.h"
#include "mp.h"

/* ---------------------------------------------------------------------------
 * Test values: a tree mirroring what is encoded.
 */
typedef enum vkind {
  V_NIL,
  V_BOOL,
  V_UINT, /* written with mp_put_uint */
  V_INT,  /* written with mp_put_int (any sign) */
  V_DOUBLE,
  V_STR,
  V_BIN,
  V_EXT,
  V_ARRAY,
  V_MAP,
  V_NKINDS
} vkind;

typedef struct tval {
  vkind k;
  int b;
  uint64_t u;
  int64_t i;
  double d;
  int8_t et;
  uint8_t *data; /* str, bin, ext */
  size_t len;
  struct tval *items; /* array: n, map: 2n (key, value, key, value ...) */
  uint32_t n;
} tval;

static void tval_free(tval *v) {
  free(v->data);
  if (v->items) {
    size_t m = v->k == V_MAP ? 2 * (size_t)v->n : v->n;
    for (size_t j = 0; j < m; j++) tval_free(&v->items[j]);
    free(v->items);
  }
  memset(v, 0, sizeof *v);
}

static const uint64_t uint_edges[] = {
    0,          1,          0x7e,        0x7f,        0x80,
    0x81,       0xfe,       0xff,        0x100,       0x101,
    0xfffe,     0xffff,     0x10000,     0x10001,     0xfffffffeu,
    0xffffffffu, 0x100000000ull, 0x100000001ull, INT64_MAX,
    (uint64_t)INT64_MAX + 1, UINT64_MAX - 1, UINT64_MAX};

static const int64_t int_edges[] = {
    -1,        -2,         -31,        -32,
    -33,       -127,       -128,       -129,
    -255,      -256,       -32767,     -32768,
    -32769,    -65536,     INT32_MIN + 1, INT32_MIN,
    (int64_t)INT32_MIN - 1, INT64_MIN + 1, INT64_MIN, 0,
    1,         127,        128,        255,
    256,       65535,      65536,      INT64_MAX};

static const size_t len_edges[] = {0,   1,   2,   15,    16,    17,   30,
                                   31,  32,  33,  254,   255,   256,  257,
                                   300, 511, 512, 1000};

static uint64_t gen_uint(test_rng *r) {
  switch (rng_below(r, 3)) {
    case 0:
      return uint_edges[rng_below(r, sizeof uint_edges / sizeof *uint_edges)];
    case 1: return rng_next(r) >> rng_below(r, 64);
    default: return rng_below(r, 300);
  }
}

static int64_t gen_int(test_rng *r) {
  switch (rng_below(r, 4)) {
    case 0:
      return int_edges[rng_below(r, sizeof int_edges / sizeof *int_edges)];
    case 1: return (int64_t)(rng_next(r) >> rng_below(r, 64));
    case 2: return -(int64_t)(rng_next(r) >> (1 + rng_below(r, 63)));
    default: return (int64_t)rng_below(r, 600) - 300;
  }
}

static double gen_double(test_rng *r) {
  static const double nice[] = {0.0, -0.0, 1.0, -1.5, 3.141592653589793,
                                1e300, -1e-300, 5e-324};
  if (rng_below(r, 3) == 0) return nice[rng_below(r, 8)];
  uint64_t bits = rng_next(r);
  double d;
  memcpy(&d, &bits, sizeof d); /* NaNs, infinities, subnormals included */
  return d;
}

static size_t gen_len(test_rng *r) {
  if (rng_below(r, 2))
    return len_edges[rng_below(r, sizeof len_edges / sizeof *len_edges)];
  return rng_below(r, 40);
}

static uint8_t *gen_bytes(test_rng *r, size_t n) {
  uint8_t *p = malloc(n ? n : 1);
  assert_non_null(p);
  for (size_t j = 0; j < n; j++) p[j] = (uint8_t)rng_next(r);
  return p;
}

/* A random value; depth limits nesting, and containers get fewer elements
 * deeper down so one value stays small. */
static void gen_value(test_rng *r, tval *v, int depth) {
  memset(v, 0, sizeof *v);
  v->k = (vkind)rng_below(r, depth >= 4 ? V_ARRAY : V_NKINDS);
  switch (v->k) {
    case V_NIL: break;
    case V_BOOL: v->b = (int)rng_below(r, 2); break;
    case V_UINT: v->u = gen_uint(r); break;
    case V_INT: v->i = gen_int(r); break;
    case V_DOUBLE: v->d = gen_double(r); break;
    case V_STR:
    case V_BIN:
      v->len = gen_len(r);
      v->data = gen_bytes(r, v->len);
      break;
    case V_EXT: {
      static const size_t ext_lens[] = {0,  1,  2,  3,  4,   5,   7,   8,
                                        9,  15, 16, 17, 100, 255, 256, 257};
      v->len = ext_lens[rng_below(r, 16)];
      v->et = (int8_t)rng_next(r);
      v->data = gen_bytes(r, v->len);
      break;
    }
    case V_ARRAY:
    case V_MAP: {
      static const uint32_t counts[] = {0, 1, 2, 3, 14, 15, 16, 17};
      v->n = depth >= 2 ? (uint32_t)rng_below(r, 4) : counts[rng_below(r, 8)];
      size_t m = v->k == V_MAP ? 2 * (size_t)v->n : v->n;
      v->items = calloc(m ? m : 1, sizeof *v->items);
      assert_non_null(v->items);
      for (size_t j = 0; j < m; j++) gen_value(r, &v->items[j], depth + 1);
      break;
    }
    default: break;
  }
}

/* ---------------------------------------------------------------------------
 * Encoding both ways.
 */
static void enc_mp(buf *b, const tval *v) {
  switch (v->k) {
    case V_NIL: mp_put_nil(b); break;
    case V_BOOL: mp_put_bool(b, v->b); break;
    case V_UINT: mp_put_uint(b, v->u); break;
    case V_INT: mp_put_int(b, v->i); break;
    case V_DOUBLE: mp_put_double(b, v->d); break;
    case V_STR: mp_put_str(b, v->data, v->len); break;
    case V_BIN: mp_put_bin(b, v->data, v->len); break;
    case V_EXT: mp_put_ext(b, v->et, v->data, v->len); break;
    case V_ARRAY:
      mp_put_array(b, v->n);
      for (uint32_t j = 0; j < v->n; j++) enc_mp(b, &v->items[j]);
      break;
    case V_MAP:
      mp_put_map(b, v->n);
      for (size_t j = 0; j < 2 * (size_t)v->n; j++) enc_mp(b, &v->items[j]);
      break;
    default: fail();
  }
}

static void enc_ref(msgpack_packer *pk, const tval *v) {
  int rc = 0;
  switch (v->k) {
    case V_NIL: rc = msgpack_pack_nil(pk); break;
    case V_BOOL: rc = v->b ? msgpack_pack_true(pk) : msgpack_pack_false(pk); break;
    case V_UINT: rc = msgpack_pack_uint64(pk, v->u); break;
    case V_INT: rc = msgpack_pack_int64(pk, v->i); break;
    case V_DOUBLE: rc = msgpack_pack_double(pk, v->d); break;
    case V_STR:
      rc = msgpack_pack_str(pk, v->len) ||
           msgpack_pack_str_body(pk, v->data, v->len);
      break;
    case V_BIN:
      rc = msgpack_pack_bin(pk, v->len) ||
           msgpack_pack_bin_body(pk, v->data, v->len);
      break;
    case V_EXT:
      rc = msgpack_pack_ext(pk, v->len, v->et) ||
           msgpack_pack_ext_body(pk, v->data, v->len);
      break;
    case V_ARRAY:
      rc = msgpack_pack_array(pk, v->n);
      for (uint32_t j = 0; j < v->n; j++) enc_ref(pk, &v->items[j]);
      break;
    case V_MAP:
      rc = msgpack_pack_map(pk, v->n);
      for (size_t j = 0; j < 2 * (size_t)v->n; j++) enc_ref(pk, &v->items[j]);
      break;
    default: fail();
  }
  assert_int_equal(rc, 0);
}

static void hexdump(const char *label, const uint8_t *p, size_t n) {
  fprintf(stderr, "%s (%zu bytes):", label, n);
  for (size_t j = 0; j < n && j < 64; j++) fprintf(stderr, " %02x", p[j]);
  fprintf(stderr, n > 64 ? " ...\n" : "\n");
}

static void assert_same_bytes(const uint8_t *got, size_t got_len,
                              const uint8_t *want, size_t want_len) {
  size_t j = 0;
  while (j < got_len && j < want_len && got[j] == want[j]) j++;
  if (j == got_len && j == want_len) return;
  fprintf(stderr, "encodings differ at byte %zu\n", j);
  hexdump("mp_put  ", got + (j > 8 ? j - 8 : 0), got_len - (j > 8 ? j - 8 : 0));
  hexdump("msgpack ", want + (j > 8 ? j - 8 : 0),
          want_len - (j > 8 ? j - 8 : 0));
  fail_msg("mp_put_* and msgpack-c disagree");
}

/* Compares msgpack-c's decoding with the value. */
static void check_ref_obj(const msgpack_object *o, const tval *v) {
  switch (v->k) {
    case V_NIL: assert_int_equal(o->type, MSGPACK_OBJECT_NIL); break;
    case V_BOOL:
      assert_int_equal(o->type, MSGPACK_OBJECT_BOOLEAN);
      assert_int_equal(o->via.boolean, v->b);
      break;
    case V_UINT:
      assert_int_equal(o->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
      assert_true(o->via.u64 == v->u);
      break;
    case V_INT:
      if (v->i >= 0) {
        assert_int_equal(o->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
        assert_true(o->via.u64 == (uint64_t)v->i);
      } else {
        assert_int_equal(o->type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
        assert_true(o->via.i64 == v->i);
      }
      break;
    case V_DOUBLE:
      assert_int_equal(o->type, MSGPACK_OBJECT_FLOAT64);
      assert_memory_equal(&o->via.f64, &v->d, sizeof v->d);
      break;
    case V_STR:
      assert_int_equal(o->type, MSGPACK_OBJECT_STR);
      assert_int_equal(o->via.str.size, v->len);
      if (v->len) assert_memory_equal(o->via.str.ptr, v->data, v->len);
      break;
    case V_BIN:
      assert_int_equal(o->type, MSGPACK_OBJECT_BIN);
      assert_int_equal(o->via.bin.size, v->len);
      if (v->len) assert_memory_equal(o->via.bin.ptr, v->data, v->len);
      break;
    case V_EXT:
      assert_int_equal(o->type, MSGPACK_OBJECT_EXT);
      assert_int_equal(o->via.ext.type, v->et);
      assert_int_equal(o->via.ext.size, v->len);
      if (v->len) assert_memory_equal(o->via.ext.ptr, v->data, v->len);
      break;
    case V_ARRAY:
      assert_int_equal(o->type, MSGPACK_OBJECT_ARRAY);
      assert_int_equal(o->via.array.size, v->n);
      for (uint32_t j = 0; j < v->n; j++)
        check_ref_obj(&o->via.array.ptr[j], &v->items[j]);
      break;
    case V_MAP:
      assert_int_equal(o->type, MSGPACK_OBJECT_MAP);
      assert_int_equal(o->via.map.size, v->n);
      for (uint32_t j = 0; j < v->n; j++) {
        check_ref_obj(&o->via.map.ptr[j].key, &v->items[2 * j]);
        check_ref_obj(&o->via.map.ptr[j].val, &v->items[2 * j + 1]);
      }
      break;
    default: fail();
  }
}

/* Reads v back with mp_get_*. Returns 0 when it was read and matched, the
 * reader's error when reading failed (values that were read must match). */
static int read_mp(mp_reader *r, const tval *v) {
  mp_kind want;
  switch (v->k) {
    case V_NIL: want = MP_NIL; break;
    case V_BOOL: want = MP_BOOL; break;
    case V_UINT: want = MP_UINT; break;
    case V_INT: want = v->i >= 0 ? MP_UINT : MP_NINT; break;
    case V_DOUBLE: want = MP_FLOAT; break;
    case V_STR: want = MP_STR; break;
    case V_BIN: want = MP_BIN; break;
    case V_EXT: want = MP_EXT; break;
    case V_ARRAY: want = MP_ARRAY; break;
    case V_MAP: want = MP_MAP; break;
    default: want = MP_NONE; break;
  }
  mp_kind got = mp_peek(r);
  if (got == MP_NONE) {
    /* only at the end of (truncated) input */
    assert_true(r->err || mp_left(r) == 0);
    int rc = mp_get_nil(r);
    assert_int_equal(rc, ACCORD_EMALFORMED);
    return rc;
  }
  assert_int_equal(got, want);
  switch (v->k) {
    case V_NIL: return mp_get_nil(r);
    case V_BOOL: {
      int b = -1;
      if (mp_get_bool(r, &b)) return r->err;
      assert_int_equal(b, v->b);
      return 0;
    }
    case V_UINT: {
      uint64_t u = 0;
      if (mp_get_uint(r, &u)) return r->err;
      assert_true(u == v->u);
      return 0;
    }
    case V_INT: {
      int64_t i = 0;
      if (mp_get_int(r, &i)) return r->err;
      assert_true(i == v->i);
      return 0;
    }
    case V_DOUBLE: {
      double d = 0;
      if (mp_get_double(r, &d)) return r->err;
      assert_memory_equal(&d, &v->d, sizeof d);
      return 0;
    }
    case V_STR: {
      const char *p = NULL;
      size_t n = 0;
      if (mp_get_str(r, &p, &n)) return r->err;
      assert_int_equal(n, v->len);
      if (n) assert_memory_equal(p, v->data, n);
      return 0;
    }
    case V_BIN: {
      const uint8_t *p = NULL;
      size_t n = 0;
      if (mp_get_bin(r, &p, &n)) return r->err;
      assert_int_equal(n, v->len);
      if (n) assert_memory_equal(p, v->data, n);
      return 0;
    }
    case V_EXT: {
      const uint8_t *p = NULL;
      size_t n = 0;
      int8_t t = 0;
      if (mp_get_ext(r, &t, &p, &n)) return r->err;
      assert_int_equal(t, v->et);
      assert_int_equal(n, v->len);
      if (n) assert_memory_equal(p, v->data, n);
      return 0;
    }
    case V_ARRAY:
    case V_MAP: {
      uint32_t n = 0;
      int rc = v->k == V_MAP ? mp_get_map(r, &n) : mp_get_array(r, &n);
      if (rc) return r->err;
      assert_int_equal(n, v->n);
      size_t m = v->k == V_MAP ? 2 * (size_t)n : n;
      for (size_t j = 0; j < m; j++)
        if ((rc = read_mp(r, &v->items[j])) != 0) return rc;
      return 0;
    }
    default: fail();
  }
  return -1;
}

/* Encodes v both ways, compares, decodes with both decoders. */
static void check_value(const tval *v) {
  buf b = {0};
  enc_mp(&b, v);
  assert_int_equal(b.err, 0);

  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  enc_ref(&pk, v);
  assert_same_bytes(b.p, b.len, (const uint8_t *)sb.data, sb.size);

  msgpack_unpacked up;
  msgpack_unpacked_init(&up);
  size_t off = 0;
  msgpack_unpack_return ur =
      msgpack_unpack_next(&up, (const char *)b.p, b.len, &off);
  assert_int_equal(ur, MSGPACK_UNPACK_SUCCESS);
  assert_int_equal(off, b.len);
  check_ref_obj(&up.data, v);
  msgpack_unpacked_destroy(&up);

  mp_reader r;
  mp_reader_init(&r, b.p, b.len);
  assert_int_equal(read_mp(&r, v), 0);
  assert_int_equal(r.err, 0);
  assert_int_equal(mp_left(&r), 0);
  assert_int_equal(mp_peek(&r), MP_NONE);

  mp_reader_init(&r, b.p, b.len);
  assert_int_equal(mp_skip(&r), 0);
  assert_int_equal(mp_left(&r), 0);

  msgpack_sbuffer_destroy(&sb);
  buf_free(&b);
}

/* ---------------------------------------------------------------------------
 * Writer against msgpack-c.
 */
static void random_values_match_msgpack_c(void **state) {
  (void)state;
  test_rng r;
  rng_init(&r, test_seed("mp.random_values_match_msgpack_c"));
  long n = test_scale(3000);
  for (long it = 0; it < n; it++) {
    tval v;
    gen_value(&r, &v, 0);
    check_value(&v);
    tval_free(&v);
  }
}

static void integers_match_msgpack_c(void **state) {
  (void)state;
  tval v = {0};
  /* every small integer, across the fixint / 8 / 16-bit boundaries */
  for (int64_t i = -70000; i <= 70000; i++) {
    v.k = V_INT;
    v.i = i;
    check_value(&v);
    if (i >= 0) {
      v.k = V_UINT;
      v.u = (uint64_t)i;
      check_value(&v);
    }
  }
  /* every power of two and its neighbours, both signs */
  for (int s = 0; s < 64; s++) {
    for (int d = -2; d <= 2; d++) {
      uint64_t u = ((uint64_t)1 << s) + (uint64_t)(int64_t)d;
      v.k = V_UINT;
      v.u = u;
      check_value(&v);
      v.k = V_INT;
      v.i = (int64_t)u;
      check_value(&v);
      v.i = -(int64_t)(u & (uint64_t)INT64_MAX);
      check_value(&v);
    }
  }
  for (size_t j = 0; j < sizeof int_edges / sizeof *int_edges; j++) {
    v.k = V_INT;
    v.i = int_edges[j];
    check_value(&v);
  }
  for (size_t j = 0; j < sizeof uint_edges / sizeof *uint_edges; j++) {
    v.k = V_UINT;
    v.u = uint_edges[j];
    check_value(&v);
  }
}

/* Lengths around every header boundary, the 64 KiB ones included, for
 * str, bin, ext, array and map. */
static void length_boundaries_match_msgpack_c(void **state) {
  (void)state;
  static const size_t lens[] = {0,     1,     2,     3,     4,     5,
                                8,     15,    16,    17,    31,    32,
                                33,    255,   256,   257,   65535, 65536,
                                65537, 70000};
  test_rng r;
  rng_init(&r, 12345);
  for (size_t j = 0; j < sizeof lens / sizeof *lens; j++) {
    size_t n = lens[j];
    tval v = {0};
    for (int k = V_STR; k <= V_EXT; k++) {
      v.k = (vkind)k;
      v.len = n;
      v.et = (int8_t)(j * 37 - 100);
      v.data = gen_bytes(&r, n);
      check_value(&v);
      free(v.data);
      v.data = NULL;
    }
    for (int k = V_ARRAY; k <= V_MAP; k++) {
      memset(&v, 0, sizeof v);
      v.k = (vkind)k;
      v.n = (uint32_t)n;
      size_t m = k == V_MAP ? 2 * n : n;
      v.items = calloc(m ? m : 1, sizeof *v.items);
      assert_non_null(v.items);
      for (size_t e = 0; e < m; e++) {
        v.items[e].k = e % 3 ? V_NIL : V_INT;
        v.items[e].i = (int64_t)e;
      }
      check_value(&v);
      free(v.items);
    }
  }
}

/* ---------------------------------------------------------------------------
 * Reader.
 */

/* What one getter makes of bytes: 0 if it read them all. */
typedef enum getter {
  G_UINT,
  G_INT,
  G_DOUBLE,
  G_STR,
  G_BIN,
  G_ARRAY,
  G_MAP,
  G_EXT,
  G_SKIP
} getter;

static int run_getter(getter g, const uint8_t *p, size_t n) {
  mp_reader r;
  mp_reader_init(&r, p, n);
  uint64_t u;
  int64_t i;
  double d;
  const char *s;
  const uint8_t *q;
  size_t len;
  uint32_t cnt;
  int8_t t;
  int rc;
  switch (g) {
    case G_UINT: rc = mp_get_uint(&r, &u); break;
    case G_INT: rc = mp_get_int(&r, &i); break;
    case G_DOUBLE: rc = mp_get_double(&r, &d); break;
    case G_STR: rc = mp_get_str(&r, &s, &len); break;
    case G_BIN: rc = mp_get_bin(&r, &q, &len); break;
    case G_ARRAY: rc = mp_get_array(&r, &cnt); break;
    case G_MAP: rc = mp_get_map(&r, &cnt); break;
    case G_EXT: rc = mp_get_ext(&r, &t, &q, &len); break;
    default: rc = mp_skip(&r); break;
  }
  if (rc) {
    assert_int_equal(rc, ACCORD_EMALFORMED);
    assert_int_equal(r.err, ACCORD_EMALFORMED);
    return rc;
  }
  assert_int_equal(r.err, 0);
  return 0;
}

/* Header bytes followed by body zero bytes. */
static uint8_t *with_body(const uint8_t *hdr, size_t hn, size_t body,
                          size_t *n) {
  uint8_t *p = calloc(hn + body + 1, 1);
  assert_non_null(p);
  memcpy(p, hdr, hn);
  *n = hn + body;
  return p;
}

typedef struct form {
  const char *what;
  getter g;
  uint8_t hdr[9];
  size_t hn;
  size_t body; /* bytes after the header */
} form;

/* Every one of these is a correct MessagePack encoding of its value, just
 * not the shortest one, so a canonical reader must refuse it. */
static const form non_shortest[] = {
    {"uint8 5", G_UINT, {0xcc, 0x05}, 2, 0},
    {"uint8 127", G_UINT, {0xcc, 0x7f}, 2, 0},
    {"uint16 255", G_UINT, {0xcd, 0x00, 0xff}, 3, 0},
    {"uint16 0", G_UINT, {0xcd, 0x00, 0x00}, 3, 0},
    {"uint32 65535", G_UINT, {0xce, 0x00, 0x00, 0xff, 0xff}, 5, 0},
    {"uint64 2^32-1", G_UINT, {0xcf, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, 9, 0},
    {"uint64 0", G_UINT, {0xcf, 0, 0, 0, 0, 0, 0, 0, 0}, 9, 0},
    {"int uint8 5", G_INT, {0xcc, 0x05}, 2, 0},
    {"int8 -32", G_INT, {0xd0, 0xe0}, 2, 0},
    {"int8 -1", G_INT, {0xd0, 0xff}, 2, 0},
    {"int8 5", G_INT, {0xd0, 0x05}, 2, 0},
    {"int8 127", G_INT, {0xd0, 0x7f}, 2, 0},
    {"int16 -128", G_INT, {0xd1, 0xff, 0x80}, 3, 0},
    {"int16 100", G_INT, {0xd1, 0x00, 0x64}, 3, 0},
    {"int16 1000", G_INT, {0xd1, 0x03, 0xe8}, 3, 0},
    {"int32 -32768", G_INT, {0xd2, 0xff, 0xff, 0x80, 0x00}, 5, 0},
    {"int32 70000", G_INT, {0xd2, 0x00, 0x01, 0x11, 0x70}, 5, 0},
    {"int64 -2^31", G_INT, {0xd3, 0xff, 0xff, 0xff, 0xff, 0x80, 0, 0, 0}, 9, 0},
    {"int64 1", G_INT, {0xd3, 0, 0, 0, 0, 0, 0, 0, 1}, 9, 0},
    {"str8 len 0", G_STR, {0xd9, 0x00}, 2, 0},
    {"str8 len 31", G_STR, {0xd9, 0x1f}, 2, 31},
    {"str16 len 255", G_STR, {0xda, 0x00, 0xff}, 3, 255},
    {"str16 len 31", G_STR, {0xda, 0x00, 0x1f}, 3, 31},
    {"str32 len 65535", G_STR, {0xdb, 0x00, 0x00, 0xff, 0xff}, 5, 65535},
    {"bin16 len 255", G_BIN, {0xc5, 0x00, 0xff}, 3, 255},
    {"bin16 len 0", G_BIN, {0xc5, 0x00, 0x00}, 3, 0},
    {"bin32 len 65535", G_BIN, {0xc6, 0x00, 0x00, 0xff, 0xff}, 5, 65535},
    {"array16 len 15", G_ARRAY, {0xdc, 0x00, 0x0f}, 3, 15},
    {"array16 len 0", G_ARRAY, {0xdc, 0x00, 0x00}, 3, 0},
    {"array32 len 65535", G_ARRAY, {0xdd, 0x00, 0x00, 0xff, 0xff}, 5, 65535},
    {"map16 len 15", G_MAP, {0xde, 0x00, 0x0f}, 3, 30},
    {"map32 len 65535", G_MAP, {0xdf, 0x00, 0x00, 0xff, 0xff}, 5, 131070},
    {"ext8 len 1", G_EXT, {0xc7, 0x01, 0x05}, 3, 1},
    {"ext8 len 2", G_EXT, {0xc7, 0x02, 0x05}, 3, 2},
    {"ext8 len 4", G_EXT, {0xc7, 0x04, 0x05}, 3, 4},
    {"ext8 len 8", G_EXT, {0xc7, 0x08, 0x05}, 3, 8},
    {"ext8 len 16", G_EXT, {0xc7, 0x10, 0x05}, 3, 16},
    {"ext16 len 255", G_EXT, {0xc8, 0x00, 0xff, 0x05}, 4, 255},
    {"ext16 len 16", G_EXT, {0xc8, 0x00, 0x10, 0x05}, 4, 16},
    {"ext32 len 65535", G_EXT, {0xc9, 0x00, 0x00, 0xff, 0xff, 0x05}, 6, 65535},
};

static void non_shortest_forms_refused(void **state) {
  (void)state;
  int bad = 0;
  for (size_t j = 0; j < sizeof non_shortest / sizeof *non_shortest; j++) {
    const form *f = &non_shortest[j];
    size_t n;
    /* bodies are zero bytes: nil-free but valid positive fixints (0x00) */
    uint8_t *p = with_body(f->hdr, f->hn, f->body, &n);
    int got = run_getter(f->g, p, n), skipped = run_getter(G_SKIP, p, n);
    free(p);
    if (got == 0) {
      print_error("getter accepted non-shortest %s\n", f->what);
      bad++;
    }
    if (skipped == 0) {
      print_error("mp_skip accepted non-shortest %s\n", f->what);
      bad++;
    }
  }
  assert_int_equal(bad, 0);
}

/* float32 is valid MessagePack but never canonical here (doubles are
 * written as float64), so mp_skip must refuse it like mp_get_double does. */
static void skip_refuses_float32(void **state) {
  (void)state;
  const uint8_t f32[] = {0xca, 0x3f, 0x80, 0x00, 0x00};
  assert_int_equal(run_getter(G_DOUBLE, f32, sizeof f32), ACCORD_EMALFORMED);
  assert_int_equal(run_getter(G_SKIP, f32, sizeof f32), ACCORD_EMALFORMED);
}

/* The shortest forms right next to the refused ones are accepted: the
 * refusals above are about form, not about the values. */
static const form shortest[] = {
    {"uint8 128", G_UINT, {0xcc, 0x80}, 2, 0},
    {"uint16 256", G_UINT, {0xcd, 0x01, 0x00}, 3, 0},
    {"uint32 65536", G_UINT, {0xce, 0x00, 0x01, 0x00, 0x00}, 5, 0},
    {"uint64 2^32", G_UINT, {0xcf, 0, 0, 0, 1, 0, 0, 0, 0}, 9, 0},
    {"int8 -33", G_INT, {0xd0, 0xdf}, 2, 0},
    {"int16 -129", G_INT, {0xd1, 0xff, 0x7f}, 3, 0},
    {"int32 -32769", G_INT, {0xd2, 0xff, 0xff, 0x7f, 0xff}, 5, 0},
    {"int64 -2^31-1", G_INT, {0xd3, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff}, 9, 0},
    {"float64 1.0", G_DOUBLE, {0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0}, 9, 0},
    {"str8 len 32", G_STR, {0xd9, 0x20}, 2, 32},
    {"str16 len 256", G_STR, {0xda, 0x01, 0x00}, 3, 256},
    {"str32 len 65536", G_STR, {0xdb, 0x00, 0x01, 0x00, 0x00}, 5, 65536},
    {"bin8 len 0", G_BIN, {0xc4, 0x00}, 2, 0},
    {"bin16 len 256", G_BIN, {0xc5, 0x01, 0x00}, 3, 256},
    {"array16 len 16", G_ARRAY, {0xdc, 0x00, 0x10}, 3, 16},
    {"map16 len 16", G_MAP, {0xde, 0x00, 0x10}, 3, 32},
    {"ext8 len 0", G_EXT, {0xc7, 0x00, 0x05}, 3, 0},
    {"ext8 len 3", G_EXT, {0xc7, 0x03, 0x05}, 3, 3},
    {"ext8 len 17", G_EXT, {0xc7, 0x11, 0x05}, 3, 17},
    {"fixext16", G_EXT, {0xd8, 0x05}, 2, 16},
    {"ext16 len 256", G_EXT, {0xc8, 0x01, 0x00, 0x05}, 4, 256},
};

static void shortest_forms_accepted(void **state) {
  (void)state;
  for (size_t j = 0; j < sizeof shortest / sizeof *shortest; j++) {
    const form *f = &shortest[j];
    size_t n;
    uint8_t *p = with_body(f->hdr, f->hn, f->body, &n);
    int got = run_getter(f->g, p, n);
    mp_reader r;
    mp_reader_init(&r, p, n);
    int skipped = mp_skip(&r);
    size_t left = mp_left(&r);
    free(p);
    if (got != 0) fail_msg("getter refused shortest %s", f->what);
    if (skipped != 0 || left != 0)
      fail_msg("mp_skip did not consume %s", f->what);
  }
}

/* Every strict prefix of an encoding is incomplete and must be refused, by
 * mp_skip and by the typed getters; msgpack-c agrees it needs more bytes. */
static void truncated_inputs_refused(void **state) {
  (void)state;
  test_rng r;
  rng_init(&r, test_seed("mp.truncated_inputs_refused"));
  long n = test_scale(300);
  for (long it = 0; it < n; it++) {
    tval v;
    gen_value(&r, &v, 1);
    buf b = {0};
    enc_mp(&b, &v);
    assert_int_equal(b.err, 0);
    if (b.len > 3000) { /* keep the quadratic walk cheap */
      buf_free(&b);
      tval_free(&v);
      it--;
      continue;
    }
    for (size_t cut = 0; cut < b.len; cut++) {
      /* a copy of exactly cut bytes, so ASan sees any read past the end */
      uint8_t *p = malloc(cut ? cut : 1);
      assert_non_null(p);
      memcpy(p, b.p, cut);
      mp_reader rd;
      mp_reader_init(&rd, p, cut);
      if (mp_skip(&rd) == 0) {
        hexdump("input", b.p, b.len);
        fail_msg("mp_skip accepted a prefix of %zu of %zu bytes", cut, b.len);
      }
      assert_int_equal(rd.err, ACCORD_EMALFORMED);
      mp_reader_init(&rd, p, cut);
      assert_int_equal(read_mp(&rd, &v), ACCORD_EMALFORMED);
      msgpack_unpacked up;
      msgpack_unpacked_init(&up);
      size_t off = 0;
      msgpack_unpack_return ur =
          msgpack_unpack_next(&up, (const char *)p, cut, &off);
      assert_int_not_equal(ur, MSGPACK_UNPACK_SUCCESS);
      msgpack_unpacked_destroy(&up);
      free(p);
    }
    buf_free(&b);
    tval_free(&v);
  }
}

/* Lengths and counts that claim more than the input holds. */
static void lengths_beyond_input_refused(void **state) {
  (void)state;
  static const form beyond[] = {
      {"fixstr 5, 4 bytes", G_STR, {0xa5}, 1, 4},
      {"str8 40, 39 bytes", G_STR, {0xd9, 40}, 2, 39},
      {"str16 300, 10 bytes", G_STR, {0xda, 0x01, 0x2c}, 3, 10},
      {"str32 2^32-1", G_STR, {0xdb, 0xff, 0xff, 0xff, 0xff}, 5, 100},
      {"bin8 5, 4 bytes", G_BIN, {0xc4, 5}, 2, 4},
      {"bin32 2^32-1", G_BIN, {0xc6, 0xff, 0xff, 0xff, 0xff}, 5, 100},
      {"fixext4, 3 bytes", G_EXT, {0xd6, 0x01}, 2, 3},
      {"ext8 3, 2 bytes", G_EXT, {0xc7, 3, 0x01}, 3, 2},
      {"ext8 without type", G_EXT, {0xc7, 3}, 2, 0},
      {"ext32 2^32-1", G_EXT, {0xc9, 0xff, 0xff, 0xff, 0xff, 0x01}, 6, 100},
      {"fixarray 15, 14 bytes", G_ARRAY, {0x9f}, 1, 14},
      {"array16 16, 15 bytes", G_ARRAY, {0xdc, 0x00, 0x10}, 3, 15},
      {"array32 65536, 100 bytes", G_ARRAY, {0xdd, 0x00, 0x01, 0x00, 0x00}, 5, 100},
      {"array32 2^32-1", G_ARRAY, {0xdd, 0xff, 0xff, 0xff, 0xff}, 5, 1000},
      {"fixmap 15, 29 bytes", G_MAP, {0x8f}, 1, 29},
      {"map16 16, 31 bytes", G_MAP, {0xde, 0x00, 0x10}, 3, 31},
      {"map32 2^32-1", G_MAP, {0xdf, 0xff, 0xff, 0xff, 0xff}, 5, 1000},
      {"uint64 cut", G_UINT, {0xcf, 0, 0, 0}, 4, 0},
      {"int16 cut", G_INT, {0xd1, 0xff}, 2, 0},
      {"float64 cut", G_DOUBLE, {0xcb, 0, 0, 0, 0, 0, 0, 0}, 8, 0},
  };
  for (size_t j = 0; j < sizeof beyond / sizeof *beyond; j++) {
    const form *f = &beyond[j];
    size_t n;
    uint8_t *p = with_body(f->hdr, f->hn, f->body, &n);
    int got = run_getter(f->g, p, n), skipped = run_getter(G_SKIP, p, n);
    free(p);
    if (got == 0) fail_msg("getter accepted %s", f->what);
    if (skipped == 0) fail_msg("mp_skip accepted %s", f->what);
  }
  /* the same counts are fine when the bytes are there */
  uint8_t arr[3 + 16] = {0xdc, 0x00, 0x10};
  assert_int_equal(run_getter(G_ARRAY, arr, sizeof arr), 0);
  assert_int_equal(run_getter(G_SKIP, arr, sizeof arr), 0);
  uint8_t map[3 + 32] = {0xde, 0x00, 0x10};
  assert_int_equal(run_getter(G_MAP, map, sizeof map), 0);
  assert_int_equal(run_getter(G_SKIP, map, sizeof map), 0);
}

/* Bytes that are never valid MessagePack, and wrong kinds for getters. */
static void wrong_kinds_refused(void **state) {
  (void)state;
  const uint8_t c1[] = {0xc1};
  mp_reader r;
  mp_reader_init(&r, c1, 1);
  assert_int_equal(mp_peek(&r), MP_NONE);
  assert_int_equal(run_getter(G_SKIP, c1, 1), ACCORD_EMALFORMED);

  const uint8_t neg[] = {0xff};            /* -1 */
  const uint8_t big[] = {0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0}; /* 2^63 */
  const uint8_t str[] = {0xa1, 'x'};
  const uint8_t nil[] = {0xc0};
  assert_int_equal(run_getter(G_UINT, neg, 1), ACCORD_EMALFORMED);
  assert_int_equal(run_getter(G_INT, big, sizeof big), ACCORD_EMALFORMED);
  assert_int_equal(run_getter(G_UINT, big, sizeof big), 0);
  assert_int_equal(run_getter(G_INT, str, 2), ACCORD_EMALFORMED);
  assert_int_equal(run_getter(G_BIN, str, 2), ACCORD_EMALFORMED);
  assert_int_equal(run_getter(G_STR, nil, 1), ACCORD_EMALFORMED);
  assert_int_equal(run_getter(G_ARRAY, nil, 1), ACCORD_EMALFORMED);
  assert_int_equal(run_getter(G_DOUBLE, neg, 1), ACCORD_EMALFORMED);
  assert_int_equal(run_getter(G_EXT, str, 2), ACCORD_EMALFORMED);
  assert_int_equal(run_getter(G_SKIP, nil, 0), ACCORD_EMALFORMED); /* empty */

  uint64_t u = 0;
  const uint8_t five[] = {0x05};
  mp_reader_init(&r, five, 1);
  assert_int_equal(mp_get_uint_max(&r, 5, &u), 0);
  assert_int_equal(u, 5);
  mp_reader_init(&r, five, 1);
  assert_int_equal(mp_get_uint_max(&r, 4, &u), ACCORD_EMALFORMED);
  assert_int_equal(r.err, ACCORD_EMALFORMED);

  int b = -1;
  mp_reader_init(&r, nil, 1);
  assert_int_equal(mp_try_nil(&r), 1);
  assert_int_equal(mp_left(&r), 0);
  mp_reader_init(&r, five, 1);
  assert_int_equal(mp_try_nil(&r), 0); /* not nil: nothing consumed */
  assert_int_equal(r.err, 0);
  assert_int_equal(mp_left(&r), 1);
  assert_int_equal(mp_get_bool(&r, &b), ACCORD_EMALFORMED);
}

/* Containers nested d deep, the innermost holding one integer. */
static uint8_t *nested(size_t d, int maps, size_t *n) {
  uint8_t *p = malloc(2 * d + 1);
  assert_non_null(p);
  size_t k = 0;
  for (size_t j = 0; j < d; j++) {
    if (maps) {
      p[k++] = 0x81; /* {0: ...} */
      p[k++] = 0x00;
    } else {
      p[k++] = 0x91; /* [...] */
    }
  }
  p[k++] = 0x07;
  *n = k;
  return p;
}

static void skip_depth_limit(void **state) {
  (void)state;
  for (int maps = 0; maps <= 1; maps++) {
    size_t n;
    uint8_t *p = nested(MP_MAX_DEPTH, maps, &n);
    mp_reader r;
    mp_reader_init(&r, p, n);
    assert_int_equal(mp_skip(&r), 0);
    assert_int_equal(mp_left(&r), 0);
    free(p);

    p = nested(MP_MAX_DEPTH + 1, maps, &n);
    mp_reader_init(&r, p, n);
    assert_int_equal(mp_skip(&r), ACCORD_EMALFORMED);
    assert_int_equal(r.err, ACCORD_EMALFORMED);
    free(p);

    p = nested(10000, maps, &n);
    mp_reader_init(&r, p, n);
    assert_int_equal(mp_skip(&r), ACCORD_EMALFORMED);
    free(p);
  }
  /* deep but wide: 64 levels each with a sibling after the nested value */
  buf b = {0};
  for (int j = 0; j < MP_MAX_DEPTH; j++) mp_put_array(&b, 2);
  mp_put_nil(&b);
  for (int j = 0; j < MP_MAX_DEPTH; j++) mp_put_str(&b, "s", 1);
  mp_put_nil(&b);
  assert_int_equal(b.err, 0);
  mp_reader r;
  mp_reader_init(&r, b.p, b.len);
  assert_int_equal(mp_skip(&r), 0);
  assert_int_equal(r.err, 0);
  assert_int_equal(mp_left(&r), 1); /* the trailing nil is a second value */
  buf_free(&b);
}

static void errors_are_sticky(void **state) {
  (void)state;
  /* a bad uint followed by perfectly good values */
  const uint8_t p[] = {0xcc, 0x05, 0xc0, 0x01, 0xa1, 'x'};
  mp_reader r;
  mp_reader_init(&r, p, sizeof p);
  uint64_t u;
  assert_int_equal(mp_get_uint(&r, &u), ACCORD_EMALFORMED);
  assert_int_equal(r.err, ACCORD_EMALFORMED);
  assert_int_equal(mp_peek(&r), MP_NONE);
  assert_int_equal(mp_try_nil(&r), 0);
  assert_int_equal(mp_get_nil(&r), ACCORD_EMALFORMED);
  assert_int_equal(mp_get_uint(&r, &u), ACCORD_EMALFORMED);
  assert_int_equal(mp_skip(&r), ACCORD_EMALFORMED);
  assert_int_equal(r.err, ACCORD_EMALFORMED);

  /* reading on from a good position after a wrong-kind call still fails */
  const uint8_t q[] = {0xc0, 0xc0};
  mp_reader_init(&r, q, sizeof q);
  int b;
  assert_int_equal(mp_get_bool(&r, &b), ACCORD_EMALFORMED);
  assert_int_equal(mp_get_nil(&r), ACCORD_EMALFORMED);
  assert_int_equal(mp_left(&r), 0);
}

/* mp_skip has a fast path for the one-byte-header forms and the 8/16-bit
 * integers; it must accept and refuse exactly what the getters do. The
 * reference walks the value with mp_peek and the getters. */
static int ref_skip(mp_reader *r) {
  const char *s;
  const uint8_t *q;
  size_t len;
  uint64_t u;
  int64_t i;
  double d;
  int b;
  int8_t t;
  uint32_t n;
  switch (mp_peek(r)) {
    case MP_NIL: return mp_get_nil(r);
    case MP_BOOL: return mp_get_bool(r, &b);
    case MP_UINT: return mp_get_uint(r, &u);
    case MP_NINT: return mp_get_int(r, &i);
    case MP_FLOAT: return mp_get_double(r, &d);
    case MP_STR: return mp_get_str(r, &s, &len);
    case MP_BIN: return mp_get_bin(r, &q, &len);
    case MP_EXT: return mp_get_ext(r, &t, &q, &len);
    case MP_ARRAY:
    case MP_MAP: {
      int map = mp_peek(r) == MP_MAP;
      if (map ? mp_get_map(r, &n) : mp_get_array(r, &n)) return r->err;
      for (uint64_t k = 0; k < (map ? 2 * (uint64_t)n : n); k++)
        if (ref_skip(r)) return r->err;
      return 0;
    }
    default: return mp_get_nil(r); /* fails, as mp_skip does */
  }
}

static void skip_matches_getters(void **state) {
  (void)state;
  test_rng r;
  rng_init(&r, test_seed("mp.skip_matches_getters"));
  long n = test_scale(5000), refused = 0;
  for (long it = 0; it < n; it++) {
    tval v;
    gen_value(&r, &v, 0);
    buf b = {0};
    enc_mp(&b, &v);
    tval_free(&v);
    assert_int_equal(b.err, 0);
    /* the value as written, then with bytes changed or cut off */
    for (int m = 0; m < 8; m++) {
      size_t len = b.len;
      if (m > 0 && b.len > 0) {
        if (rng_below(&r, 2)) {
          len = (size_t)rng_below(&r, b.len);
        } else {
          size_t at = (size_t)rng_below(&r, b.len);
          b.p[at] = rng_below(&r, 2) ? (uint8_t)rng_next(&r)
                                      : (uint8_t)(0xc0 + rng_below(&r, 32));
        }
      }
      mp_reader x, y;
      mp_reader_init(&x, b.p, len);
      mp_reader_init(&y, b.p, len);
      int fast = mp_skip(&x), ref = ref_skip(&y);
      if (fast != ref || x.p != y.p || x.err != y.err)
        hexdump("skip disagrees with the getters on", b.p, len);
      assert_int_equal(fast, ref);
      assert_int_equal(x.err, y.err);
      assert_ptr_equal(x.p, y.p);
      refused += fast != 0;
    }
    buf_free(&b);
  }
  /* the mutations must have reached the refusing paths too */
  assert_true(refused > 0);
  assert_true(refused < 8 * n);
}

/* mp_skip_n(r, k) is k calls of the skip: the same end and error on runs
 * of random values, whole, mutated and cut. */
static void skip_n_matches_getters(void **state) {
  (void)state;
  test_rng r;
  rng_init(&r, test_seed("mp.skip_n_matches_getters"));
  long n = test_scale(2000), refused = 0;
  for (long it = 0; it < n; it++) {
    uint32_t k = (uint32_t)rng_below(&r, 7);
    buf b = {0};
    for (uint32_t i = 0; i < k; i++) {
      tval v;
      gen_value(&r, &v, 0);
      enc_mp(&b, &v);
      tval_free(&v);
    }
    assert_int_equal(b.err, 0);
    size_t len = b.len;
    if (b.len > 0 && rng_below(&r, 2)) {
      if (rng_below(&r, 2)) len = (size_t)rng_below(&r, b.len);
      else b.p[rng_below(&r, b.len)] = (uint8_t)rng_next(&r);
    }
    mp_reader x, y;
    mp_reader_init(&x, b.p, len);
    mp_reader_init(&y, b.p, len);
    int fast = mp_skip_n(&x, k), ref = 0;
    for (uint32_t i = 0; i < k && !ref; i++) ref = ref_skip(&y);
    assert_int_equal(fast, ref);
    assert_int_equal(x.err, y.err);
    assert_ptr_equal(x.p, y.p);
    refused += fast != 0;
    buf_free(&b);
  }
  assert_true(refused > 0);
  assert_true(refused < n);
}

/* Values of the forms change bodies are made of (change_body_len's fast
 * path: small ints of every width up to 32 bits, nil, bool, short str,
 * bin8, arrays of them), sometimes one it leaves to mp_skip_n. */
static void gen_body_value(test_rng *r, buf *b, int depth) {
  switch (rng_below(r, depth >= 3 ? 6 : 7)) {
    case 0: mp_put_uint(b, gen_uint(r) >> rng_below(r, 64)); break;
    case 1: mp_put_int(b, gen_int(r) / (1 + (int64_t)rng_below(r, 1 << 20))); break;
    case 2: if (rng_below(r, 2)) mp_put_nil(b); else mp_put_bool(b, 1); break;
    case 3: {
      size_t n = rng_below(r, 3) ? rng_below(r, 32) : gen_len(r);
      uint8_t *p = gen_bytes(r, n);
      for (size_t i = 0; i < n; i++) p[i] &= 0x7f;
      mp_put_str(b, p, n);
      free(p);
      break;
    }
    case 4: {
      size_t n = rng_below(r, 3) ? 8 : gen_len(r);
      uint8_t *p = gen_bytes(r, n);
      mp_put_bin(b, p, n);
      free(p);
      break;
    }
    case 5:
      if (rng_below(r, 8) == 0) mp_put_double(b, gen_double(r));
      else mp_put_uint(b, rng_below(r, 128));
      break;
    default: {
      uint32_t n = (uint32_t)(rng_below(r, 8) ? rng_below(r, 8) : rng_below(r, 20));
      mp_put_array(b, n);
      for (uint32_t i = 0; i < n; i++) gen_body_value(r, b, depth + 1);
    }
  }
}

/* change_body_len (a fast path for the forms bodies use, mp_skip_n for
 * the rest) sizes exactly what mp_skip_n(6) does, on bodies and on bodies
 * cut short or with a byte changed. */
static void body_len_matches_skip_n(void **state) {
  (void)state;
  test_rng r;
  rng_init(&r, test_seed("mp.body_len_matches_skip_n"));
  long n = test_scale(20000), refused = 0;
  for (long it = 0; it < n; it++) {
    buf b = {0};
    for (int i = 0; i < 6; i++) gen_body_value(&r, &b, 0);
    size_t extra = rng_below(&r, 4); /* the next body, or a batch's end */
    for (size_t i = 0; i < extra; i++) mp_put_uint(&b, rng_below(&r, 128));
    assert_int_equal(b.err, 0);
    size_t len = b.len;
    if (rng_below(&r, 2)) {
      if (rng_below(&r, 2)) len = (size_t)rng_below(&r, b.len);
      else b.p[rng_below(&r, b.len)] = (uint8_t)rng_next(&r);
    }
    mp_reader x;
    mp_reader_init(&x, b.p, len);
    size_t want = mp_skip_n(&x, 6) ? 0 : (size_t)(x.p - b.p);
    assert_int_equal(change_body_len(b.p, len), want);
    refused += want == 0;
    buf_free(&b);
  }
  assert_true(refused > 0);
  assert_true(refused < n);
}

/* Bodies of typing's shape (two deltas, no actors, no deps, no message,
 * then the ops), which change_body_len matches by their fixed bytes: the
 * same sizes as mp_skip_n, whole, cut short or with a byte changed. */
static void body_len_typing_shape(void **state) {
  (void)state;
  test_rng r;
  rng_init(&r, test_seed("mp.body_len_typing_shape"));
  long n = test_scale(20000), refused = 0;
  for (long it = 0; it < n; it++) {
    buf b = {0};
    mp_put_uint(&b, rng_below(&r, 2) ? rng_below(&r, 128) : rng_next(&r));
    int64_t t = (int64_t)rng_below(&r, 1u << 20) - (1 << 19);
    mp_put_int(&b, rng_below(&r, 2) ? t : t % 64);
    mp_put_array(&b, 0);
    mp_put_array(&b, 0);
    mp_put_nil(&b);
    gen_body_value(&r, &b, 0);
    size_t extra = rng_below(&r, 4);
    for (size_t i = 0; i < extra; i++) mp_put_uint(&b, rng_below(&r, 128));
    assert_int_equal(b.err, 0);
    size_t len = b.len;
    if (rng_below(&r, 2)) {
      if (rng_below(&r, 2)) len = (size_t)rng_below(&r, b.len);
      else b.p[rng_below(&r, b.len)] = (uint8_t)rng_next(&r);
    }
    mp_reader x;
    mp_reader_init(&x, b.p, len);
    size_t want = mp_skip_n(&x, 6) ? 0 : (size_t)(x.p - b.p);
    assert_int_equal(change_body_len(b.p, len), want);
    refused += want == 0;
    buf_free(&b);
  }
  assert_true(refused > 0);
  assert_true(refused < n);
}

/* The writer's buf reports allocation failure once, at the end. */
static void writer_out_of_memory(void **state) {
  (void)state;
  buf b = {0};
  mem_fail_after(1);
  mp_put_str(&b, "hello", 5);
  mem_fail_after(0);
  assert_int_equal(b.err, ACCORD_ENOMEM);
  mp_put_uint(&b, 1000); /* ignored: the error is sticky */
  assert_int_equal(b.err, ACCORD_ENOMEM);
  size_t n = 99;
  assert_null(buf_take(&b, &n));
  assert_null(b.p);
  assert_int_equal(b.len, 0);

  /* growth in the middle of a value */
  char big[300];
  memset(big, 'a', sizeof big);
  mp_put_str(&b, big, 10); /* first block */
  assert_int_equal(b.err, 0);
  mem_fail_after(1);
  mp_put_str(&b, big, sizeof big); /* needs to grow */
  mem_fail_after(0);
  assert_int_equal(b.err, ACCORD_ENOMEM);
  buf_free(&b);
  assert_int_equal(b.err, 0);
}

/* The unchecked writers (mp_w_*) write the bytes of the checked ones, for
 * values around every width and header boundary and at the extremes. */
static void raw_writers_match_put(void **state) {
  (void)state;
  static const uint64_t edges[] = {0,          0x7f,       0x80,
                                   0xff,       0x100,      0xffff,
                                   0x10000,    0xffffffffu, 0x100000000ull,
                                   UINT64_MAX};
  uint8_t raw[80000];
  char src[70000];
  for (size_t i = 0; i < sizeof src; i++) src[i] = (char)('a' + i % 26);
  size_t checks = 0;
  for (size_t e = 0; e < sizeof edges / sizeof edges[0]; e++) {
    for (int d = -2; d <= 2; d++) {
      uint64_t v = edges[e] + (uint64_t)(int64_t)d;
      for (int kind = 0; kind < 6; kind++) {
        buf b = {0};
        uint8_t *end = raw;
        int64_t sv = kind == 2 ? -(int64_t)(v >> 1) - 1 : (int64_t)v;
        uint32_t n = (uint32_t)v;
        size_t len = v < sizeof src ? (size_t)v : 0;
        switch (kind) {
          case 0:
            mp_put_uint(&b, v);
            end = mp_w_uint(raw, v);
            break;
          case 1:
          case 2:
            mp_put_int(&b, sv);
            end = mp_w_int(raw, sv);
            break;
          case 3:
            mp_put_array(&b, n);
            end = mp_w_array(raw, n);
            break;
          case 4:
            mp_put_str(&b, src, len);
            end = mp_w_str(raw, src, (uint32_t)len);
            break;
          default:
            mp_put_bin(&b, src, len);
            end = mp_w_bin(raw, src, (uint32_t)len);
            break;
        }
        assert_int_equal(b.err, 0);
        assert_same_bytes(raw, (size_t)(end - raw), b.p, b.len);
        buf_free(&b);
        checks++;
      }
    }
  }
  for (int64_t v = -70000; v <= 70000; v += 7) { /* every small width */
    buf b = {0};
    mp_put_int(&b, v);
    uint8_t *end = mp_w_int(raw, v);
    assert_same_bytes(raw, (size_t)(end - raw), b.p, b.len);
    buf_free(&b);
  }
  static const int64_t ends[] = {INT64_MIN, INT32_MIN, INT16_MIN, INT8_MIN,
                                 -33, -32, -1};
  for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
    buf b = {0};
    mp_put_int(&b, ends[i]);
    uint8_t *end = mp_w_int(raw, ends[i]);
    assert_same_bytes(raw, (size_t)(end - raw), b.p, b.len);
    buf_free(&b);
  }
  buf b = {0};
  mp_put_nil(&b);
  assert_int_equal(b.len, 1);
  assert_true(mp_w_nil(raw) == raw + 1 && raw[0] == b.p[0]);
  buf_free(&b);
  assert_int_equal(checks, 10 * 5 * 6);
}

TEST_MAIN(cmocka_unit_test(random_values_match_msgpack_c),
          cmocka_unit_test(integers_match_msgpack_c),
          cmocka_unit_test(length_boundaries_match_msgpack_c),
          cmocka_unit_test(non_shortest_forms_refused),
          cmocka_unit_test(skip_refuses_float32),
          cmocka_unit_test(shortest_forms_accepted),
          cmocka_unit_test(truncated_inputs_refused),
          cmocka_unit_test(lengths_beyond_input_refused),
          cmocka_unit_test(wrong_kinds_refused),
          cmocka_unit_test(skip_depth_limit),
          cmocka_unit_test(skip_matches_getters),
          cmocka_unit_test(skip_n_matches_getters),
          cmocka_unit_test(body_len_matches_skip_n),
          cmocka_unit_test(body_len_typing_shape),
          cmocka_unit_test(errors_are_sticky),
          cmocka_unit_test(writer_out_of_memory),
          cmocka_unit_test(raw_writers_match_put))
