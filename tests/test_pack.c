/*
 * test_pack.c — packed history (core/pack.c) and save format 5.
 *
 *   - random histories (several authors, text edits of every shape, map
 *     ops, messages, deps) come back byte for byte from pack/unpack, and
 *     through save/load: the same batch, the same chain heads (hashes);
 *   - a document keeps working after a save packed its chains: local
 *     commits append behind the packed changes, and its hashes agree with a
 *     replica that never packed;
 *   - hostile frames (truncated, flipped, crafted columns) are refused or
 *     unpack to some bytes, never crash, and leave the output as it was;
 *   - frames with a prefix and with cut blocks come back exactly, only
 *     with their prefix and within their bound; pack_text gives a frame's
 *     text; saves compress the snapshot against the history's text (form
 *     2), fall back to form 1 past the prefix limit, and a damaged form 2
 *     file is refused or loads some checked state, never a crash;
 *   - version 1 frames (every right origin in RCTR) still unpack;
 *   - snapshots with the run flags joined (written now) and in three
 *     columns (written before) load to the same state; hostile ones of
 *     both layouts are refused or built, never a crash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docutil.h"
#include "testutil.h"
/* engine internals */
#include "doc.h"
#include "change.h"
#include "mp.h"
#include "pack.h"
#include "snapshot.h"
#include "sum.h"

static const char *const pieces[] = {
    "a", "b", " ", "hello", "\xc3\xa9", "\xe6\x97\xa5", "\xf0\x9f\x98\x80",
    "xyz\xc3\xa9", "\n"};

/* One random transaction on doc: text splices, sometimes a map put or a
 * message, sometimes several ops. */
static void random_txn(accord_doc *doc, accord_id text, test_rng *r) {
  accord_txn *t = NULL;
  AOK(accord_txn_begin(doc, &t));
  if (rng_below(r, 10) == 0) AOK(accord_txn_set_message(t, "why", 3));
  if (rng_below(r, 4) == 0) accord_txn_set_time(t, (int64_t)rng_below(r, 1u << 30));
  uint64_t nops = 1 + (rng_below(r, 5) == 0 ? rng_below(r, 4) : 0);
  for (uint64_t k = 0; k < nops; k++) {
    size_t len;
    AOK(accord_text_len(doc, text, &len));
    uint64_t what = rng_below(r, 12);
    if (what == 1) { /* the list: runs of values in the snapshot */
      accord_id list = du_get_obj(doc, ACCORD_ROOT, "list");
      size_t n;
      AOK(accord_list_len(doc, list, &n));
      accord_value v = accord_int((int64_t)rng_below(r, 100));
      if (n && rng_below(r, 3) == 0)
        AOK(accord_list_delete(t, list, (size_t)rng_below(r, n), 1));
      else
        AOK(accord_list_insert(t, list, (size_t)rng_below(r, n + 1), &v));
    } else if (what == 0) {
      accord_value v = accord_int((int64_t)rng_below(r, 1000));
      AOK(accord_map_put(t, ACCORD_ROOT, rng_below(r, 2) ? "k" : "n", &v));
    } else if (what < 4 && len > 0) {
      size_t pos = (size_t)rng_below(r, len);
      size_t del = 1 + (size_t)rng_below(r, len - pos < 5 ? len - pos : 5);
      AOK(accord_text_splice(t, text, pos, del, NULL, 0));
    } else {
      const char *s = pieces[rng_below(r, sizeof pieces / sizeof *pieces)];
      size_t pos = (size_t)rng_below(r, len + 1);
      if (rng_below(r, 3)) pos = len; /* typing at the end, mostly */
      AOK(accord_text_splice(t, text, pos, 0, s, strlen(s)));
    }
  }
  AOK(accord_txn_commit(t, NULL));
}

static uint8_t *all_changes(accord_doc *doc, size_t *len) {
  uint8_t *b = NULL;
  AOK(accord_doc_changes_since(doc, NULL, 0, &b, len));
  return b;
}

static void assert_same_heads(accord_doc *a, accord_doc *b, uint64_t nactors) {
  for (uint64_t i = 1; i <= nactors; i++) {
    uint8_t actor[8], ha[ACCORD_HASH_BYTES], hb[ACCORD_HASH_BYTES];
    uint64_t sa = 0, sb = 0;
    test_actor(actor, i);
    int ra = accord_doc_chain_head(a, actor, &sa, ha);
    int rb = accord_doc_chain_head(b, actor, &sb, hb);
    assert_int_equal(ra, rb);
    if (ra) continue;
    assert_int_equal(sa, sb);
    assert_memory_equal(ha, hb, sizeof ha);
  }
}

/* Three authors editing one text, syncing now and then. */
static void make_history(accord_doc **d, test_rng *r, int rounds) {
  for (uint64_t i = 0; i < 3; i++) d[i] = du_new(i + 1);
  accord_id text = du_put_object(d[0], ACCORD_ROOT, "text", ACCORD_TEXT);
  du_put_object(d[0], ACCORD_ROOT, "list", ACCORD_LIST);
  du_sync(d[1], d[0]);
  du_sync(d[2], d[0]);
  for (int i = 0; i < rounds; i++) {
    random_txn(d[rng_below(r, 3)], text, r);
    if (rng_below(r, 20) == 0) {
      uint64_t a = rng_below(r, 3), b = rng_below(r, 3);
      if (a != b) du_sync(d[a], d[b]);
    }
  }
}

static void save_load_keeps_history(void **state) {
  (void)state;
  test_rng r;
  rng_init(&r, test_seed("save_load_keeps_history"));
  accord_doc *d[3];
  make_history(d, &r, (int)test_scale(1500));
  for (int i = 0; i < 3; i++) {
    size_t blen, slen, blen2, slen2;
    uint8_t *before = all_changes(d[i], &blen);
    uint8_t *saved = NULL, *saved2 = NULL;
    AOK(accord_doc_save(d[i], &saved, &slen));
    accord_doc *l = NULL;
    uint8_t actor[8];
    test_actor(actor, (uint64_t)i + 1);
    AOK(accord_doc_load(saved, slen, actor, &l));
    du_assert_same_json(d[i], l);
    /* a loaded document saves to the same bytes, without unpacking */
    AOK(accord_doc_save(l, &saved2, &slen2));
    assert_int_equal(slen, slen2);
    assert_memory_equal(saved, saved2, slen);
    uint8_t *after = all_changes(l, &blen2); /* unpacks */
    assert_int_equal(blen, blen2);
    assert_memory_equal(before, after, blen);
    assert_same_heads(d[i], l, 3);
    accord_free(before);
    accord_free(after);
    accord_free(saved);
    accord_free(saved2);
    accord_doc_free(l);
  }
  for (int i = 0; i < 3; i++) accord_doc_free(d[i]);
}

static void packed_chains_keep_working(void **state) {
  (void)state;
  test_rng r;
  rng_init(&r, test_seed("packed_chains_keep_working"));
  accord_doc *d[3];
  make_history(d, &r, (int)test_scale(600));
  accord_doc *mirror = du_new(9); /* never saved: never packed */
  du_sync(mirror, d[0]);
  accord_id text = du_get_obj(d[0], ACCORD_ROOT, "text");
  for (int round = 0; round < 4; round++) {
    uint8_t *saved = NULL;
    size_t slen;
    AOK(accord_doc_save(d[0], &saved, &slen)); /* packs d[0]'s chains */
    accord_free(saved);
    /* local commits append behind the packed changes */
    for (int i = 0; i < 50; i++) random_txn(d[0], text, &r);
    du_sync(mirror, d[0]);
    du_assert_same_json(d[0], mirror);
    assert_same_heads(d[0], mirror, 3);
  }
  /* the node store's save (no packing) of packed changes plus a tail */
  {
    uint8_t *plain = NULL;
    size_t plen;
    AOK(accord_doc_save(d[0], &plain, &plen));
    accord_free(plain);
    for (int i = 0; i < 20; i++) random_txn(d[0], text, &r);
    AOK(doc_save(d[0], 0, &plain, &plen));
    accord_doc *l = NULL;
    AOK(accord_doc_load(plain, plen, NULL, &l));
    du_sync(mirror, d[0]);
    du_assert_same_json(l, mirror);
    assert_same_heads(l, mirror, 3);
    accord_doc_free(l);
    accord_free(plain);
  }
  /* and an aborted transaction (a rebuild) after packing */
  uint8_t *saved = NULL;
  size_t slen;
  AOK(accord_doc_save(d[0], &saved, &slen));
  accord_free(saved);
  accord_txn *t = NULL;
  AOK(accord_txn_begin(d[0], &t));
  AOK(accord_text_splice(t, text, 0, 0, "zz", 2));
  accord_txn_abort(t);
  du_assert_same_json(d[0], mirror);
  du_sync_all(d, 3);
  for (int i = 0; i < 3; i++) accord_doc_free(d[i]);
  accord_doc_free(mirror);
}

/* The packed frame of d's local chain, unpacked, is its bodies. */
static void pack_is_exact(void **state) {
  (void)state;
  test_rng r;
  rng_init(&r, test_seed("pack_is_exact"));
  accord_doc *d[3];
  make_history(d, &r, (int)test_scale(900));
  for (int i = 0; i < 3; i++) {
    accord_doc *doc = d[i];
    AOK(doc_index_chains(doc));
    for (uint32_t a = 0; a < doc->nactors; a++) {
      chain *c = &doc->chains[a];
      buf z = {0}, out = {0};
      pack_z pz = {3, NULL, 0};
      AOK(pack_bodies(c, &pz, &z));
      pack_z_free(&pz);
      AOK(unpack_bodies(z.p, z.len, c->n, &out));
      assert_int_equal(out.len, c->bytes.len);
      if (out.len) assert_memory_equal(out.p, c->bytes.p, out.len);
      /* the wrong number of changes is refused */
      out.len = 0;
      assert_int_equal(unpack_bodies(z.p, z.len, c->n + 1, &out),
                       ACCORD_EMALFORMED);
      assert_int_equal(out.len, 0);
      buf_free(&z);
      buf_free(&out);
    }
  }
  for (int i = 0; i < 3; i++) accord_doc_free(d[i]);
}

/* Frames of version 1 (every right origin written) still unpack, to the
 * same bodies as version 2's; version 2's are smaller on typing. */
static void pack_v1_still_unpacks(void **state) {
  (void)state;
  test_rng r;
  rng_init(&r, test_seed("pack_v1_still_unpacks"));
  accord_doc *d[3];
  make_history(d, &r, (int)test_scale(900));
  size_t total1 = 0, total2 = 0;
  for (int i = 0; i < 3; i++) {
    accord_doc *doc = d[i];
    AOK(doc_index_chains(doc));
    for (uint32_t a = 0; a < doc->nactors; a++) {
      chain *c = &doc->chains[a];
      buf z1 = {0}, z2 = {0}, out = {0};
      pack_z pz = {3, NULL, 0};
      AOK(pack_bodies_v1(c, &pz, &z1));
      AOK(pack_bodies(c, &pz, &z2));
      pack_z_free(&pz);
      total1 += z1.len;
      total2 += z2.len;
      AOK(unpack_bodies(z1.p, z1.len, c->n, &out));
      assert_int_equal(out.len, c->bytes.len);
      if (out.len) assert_memory_equal(out.p, c->bytes.p, out.len);
      out.len = 0;
      AOK(unpack_bodies(z2.p, z2.len, c->n, &out));
      assert_int_equal(out.len, c->bytes.len);
      if (out.len) assert_memory_equal(out.p, c->bytes.p, out.len);
      buf_free(&z1);
      buf_free(&z2);
      buf_free(&out);
    }
  }
  (void)total1;
  (void)total2;
  for (int i = 0; i < 3; i++) accord_doc_free(d[i]);
  /* one author typing, now and then elsewhere or a backspace: version 2
   * is smaller, and both unpack to the bodies */
  accord_doc *t = du_new(1);
  accord_id text = du_put_object(t, ACCORD_ROOT, "text", ACCORD_TEXT);
  size_t pos = 0;
  for (int i = 0; i < 2000; i++) {
    size_t len;
    AOK(accord_text_len(t, text, &len));
    if (rng_below(&r, 40) == 0) pos = (size_t)rng_below(&r, len + 1);
    accord_txn *x = NULL;
    AOK(accord_txn_begin(t, &x));
    if (pos > 0 && rng_below(&r, 8) == 0)
      AOK(accord_text_splice(x, text, --pos, 1, NULL, 0));
    else
      AOK(accord_text_splice(x, text, pos++, 0, "e", 1));
    AOK(accord_txn_commit(x, NULL));
  }
  AOK(doc_index_chains(t));
  const chain *c = &t->chains[0];
  buf z1 = {0}, z2 = {0}, out = {0};
  pack_z pz = {3, NULL, 0};
  AOK(pack_bodies_v1(c, &pz, &z1));
  AOK(pack_bodies(c, &pz, &z2));
  pack_z_free(&pz);
  assert_true(z2.len < z1.len);
  AOK(unpack_bodies(z1.p, z1.len, c->n, &out));
  assert_int_equal(out.len, c->bytes.len);
  assert_memory_equal(out.p, c->bytes.p, out.len);
  out.len = 0;
  AOK(unpack_bodies(z2.p, z2.len, c->n, &out));
  assert_int_equal(out.len, c->bytes.len);
  assert_memory_equal(out.p, c->bytes.p, out.len);
  buf_free(&out);
  buf_free(&z1);
  buf_free(&z2);
  accord_doc_free(t);
}

static void hostile_frames(void **state) {
  (void)state;
  test_rng r;
  rng_init(&r, test_seed("hostile_frames"));
  accord_doc *d[3];
  make_history(d, &r, 300);
  AOK(doc_index_chains(d[0]));
  chain *c = &d[0]->chains[0];
  buf z = {0}, out = {0};
  pack_z pz = {1, NULL, 0};
  AOK(pack_bodies(c, &pz, &z));
  uint8_t *m = malloc(z.len);
  assert_non_null(m);
  /* truncated frames */
  for (size_t n = 0; n < z.len; n++) {
    out.len = 0;
    assert_int_not_equal(unpack_bodies(z.p, n, c->n, &out), 0);
    assert_int_equal(out.len, 0);
  }
  /* flipped bytes: refused, or some bodies (zstd's checksum is off) */
  for (int i = 0; i < (int)test_scale(2000); i++) {
    memcpy(m, z.p, z.len);
    for (int k = 0; k < 1 + (int)rng_below(&r, 3); k++)
      m[rng_below(&r, z.len)] ^= (uint8_t)(1 + rng_below(&r, 255));
    out.len = 0;
    int rc = unpack_bodies(m, z.len, c->n, &out);
    if (rc) assert_int_equal(out.len, 0);
  }
  /* crafted columns: random raw bytes behind a valid version, compressed */
  for (int i = 0; i < (int)test_scale(2000); i++) {
    uint8_t raw[64];
    size_t n = 1 + (size_t)rng_below(&r, sizeof raw);
    raw[0] = (uint8_t)(1 + rng_below(&r, 2)); /* versions 1 and 2 */
    for (size_t k = 1; k < n; k++)
      raw[k] = (uint8_t)(rng_below(&r, 4) ? rng_below(&r, 4) : rng_next(&r));
    buf f = {0};
    AOK(pack_deflate(raw, n, &pz, &f));
    out.len = 0;
    int rc = unpack_bodies(f.p, f.len, (uint32_t)rng_below(&r, 4), &out);
    if (rc) assert_int_equal(out.len, 0);
    buf_free(&f);
  }
  /* a run claiming more values than the column's changes use */
  static const uint8_t claim[] = {
      1,                       /* version */
      1, 0,                    /* FLAG: one columnar change */
      0, 0,                    /* RAWLEN, RAW */
      2, 0xff, 0x7f,           /* START: a run of 16383 */
  };
  buf f = {0};
  AOK(pack_deflate(claim, sizeof claim, &pz, &f));
  out.len = 0;
  assert_int_equal(unpack_bodies(f.p, f.len, 1, &out), ACCORD_EMALFORMED);
  buf_free(&f);
  free(m);
  pack_z_free(&pz);
  buf_free(&z);
  buf_free(&out);
  for (int i = 0; i < 3; i++) accord_doc_free(d[i]);
}

/* Snapshots (their run columns) from hostile bytes: refused or built,
 * never a crash or a leak. */
static void hostile_snapshots(void **state) {
  (void)state;
  test_rng r;
  rng_init(&r, test_seed("hostile_snapshots"));
  accord_doc *d[3];
  make_history(d, &r, 400);
  du_sync_all(d, 3);
  accord_doc *doc = d[2];
  uint32_t *ref = malloc((doc->nactors + 1) * sizeof *ref);
  assert_non_null(ref);
  for (uint32_t a = 0; a < doc->nactors; a++) ref[a] = a;
  for (int split = 0; split < 2; split++) {
    buf snap = {0};
    AOK(split ? snap_put_split(doc, ref, &snap) : snap_put(doc, ref, &snap));
    docstate st;
    AOK(snap_get(doc, snap.p, snap.len, ref, doc->nactors, &st));
    state_free(&st);
    uint8_t *m = malloc(snap.len);
    assert_non_null(m);
    for (size_t n = 0; n < snap.len; n += 1 + n / 16)
      assert_int_not_equal(snap_get(doc, snap.p, n, ref, doc->nactors, &st),
                           0);
    for (int i = 0; i < (int)test_scale(3000); i++) {
      memcpy(m, snap.p, snap.len);
      for (int k = 0; k < 1 + (int)rng_below(&r, 3); k++)
        m[rng_below(&r, snap.len)] ^= (uint8_t)(1 + rng_below(&r, 255));
      if (snap_get(doc, m, snap.len, ref, doc->nactors, &st) == 0)
        state_free(&st);
    }
    free(m);
    buf_free(&snap);
  }
  free(ref);
  for (int i = 0; i < 3; i++) accord_doc_free(d[i]);
}

/* Snapshots whose run flags are in three columns (written before they
 * were joined) still load, to the same state as the joined ones. */
static void split_flags_still_load(void **state) {
  (void)state;
  test_rng r;
  rng_init(&r, test_seed("split_flags_still_load"));
  accord_doc *d[3];
  make_history(d, &r, 600);
  du_sync_all(d, 3);
  accord_doc *doc = d[1];
  uint32_t *ref = malloc((doc->nactors + 1) * sizeof *ref);
  assert_non_null(ref);
  for (uint32_t a = 0; a < doc->nactors; a++) ref[a] = a;
  char *want = test_json(doc);
  buf joined = {0}, split = {0};
  AOK(snap_put(doc, ref, &joined));
  AOK(snap_put_split(doc, ref, &split));
  assert_true(split.len > joined.len); /* two more columns' bytes */
  const buf *b[2] = {&joined, &split};
  for (int k = 0; k < 2; k++) {
    docstate st, old = doc->st;
    AOK(snap_get(doc, b[k]->p, b[k]->len, ref, doc->nactors, &st));
    doc->st = st;
    char *got = test_json(doc);
    doc->st = old;
    state_free(&st);
    assert_string_equal(got, want);
    accord_free(got);
  }
  accord_free(want);
  buf_free(&joined);
  buf_free(&split);
  free(ref);
  for (int i = 0; i < 3; i++) accord_doc_free(d[i]);
}

/* A packed history that turns out damaged when first read: the reader
 * gets EMALFORMED, the document is unchanged and still saves as it was. */
static void damaged_history_refused_when_read(void **state) {
  (void)state;
  test_rng r;
  rng_init(&r, test_seed("damaged_history_refused_when_read"));
  accord_doc *d[3];
  make_history(d, &r, 300);
  uint8_t *saved = NULL, *again = NULL, *batch = NULL;
  size_t slen, alen, blen;
  AOK(accord_doc_save(d[0], &saved, &slen));
  accord_doc *l = NULL;
  AOK(accord_doc_load(saved, slen, NULL, &l));
  chain *c = NULL;
  for (uint32_t a = 0; a < l->nactors; a++)
    if (l->chains[a].base) c = &l->chains[a];
  assert_non_null(c);
  c->fr[0].len--; /* cut short: what the file checksum would catch */
  char *before = test_json(l);
  int rc = accord_doc_changes_since(l, NULL, 0, &batch, &blen);
  assert_int_equal(rc, ACCORD_EMALFORMED);
  assert_null(batch);
  assert_int_not_equal(c->base, 0); /* still packed, as it was */
  char *after = test_json(l);
  assert_string_equal(before, after);
  AOK(accord_doc_save(l, &again, &alen));
  accord_free(before);
  accord_free(after);
  accord_free(saved);
  accord_free(again);
  accord_doc_free(l);
  for (int i = 0; i < 3; i++) accord_doc_free(d[i]);
}

/* Random bytes with runs, so that zstd finds matches. */
static void fill(test_rng *r, uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    p[i] = i > 8 && rng_below(r, 4) ? p[i - 1 - rng_below(r, 8)]
                                    : (uint8_t)rng_next(r);
}

static void prefix_frames(void **state) {
  (void)state;
  test_rng r;
  rng_init(&r, test_seed("prefix_frames"));
  pack_z pz = {12, NULL, 0};
  for (int i = 0; i < (int)test_scale(200); i++) {
    size_t plen = 1 + (size_t)rng_below(&r, 4000);
    size_t n = 1 + (size_t)rng_below(&r, 4000);
    uint8_t *pre = malloc(plen), *p = malloc(n), *other = malloc(plen);
    assert_non_null(pre);
    assert_non_null(p);
    assert_non_null(other);
    fill(&r, pre, plen);
    fill(&r, other, plen);
    /* the input repeats parts of the prefix */
    for (size_t k = 0; k + 16 < n && k + 16 < plen; k += 32)
      memcpy(p + k, pre + rng_below(&r, plen - 16), 16);
    size_t cut[6];
    size_t ncut = (size_t)rng_below(&r, 7);
    for (size_t k = 0; k < ncut; k++)
      cut[k] = (size_t)rng_below(&r, n + 1);
    for (size_t a = 0; a < ncut; a++) /* ascending */
      for (size_t b = a + 1; b < ncut; b++)
        if (cut[b] < cut[a]) {
          size_t t = cut[a];
          cut[a] = cut[b];
          cut[b] = t;
        }
    buf f = {0}, out = {0};
    AOK(pack_deflate_cut(p, n, cut, ncut, pre, plen, &pz, &f));
    AOK(pack_inflate_prefix(f.p, f.len, pre, plen, n, &out));
    assert_int_equal(out.len, n);
    assert_memory_equal(out.p, p, n);
    /* one byte less room: refused */
    out.len = 0;
    assert_int_equal(pack_inflate_prefix(f.p, f.len, pre, plen, n - 1, &out),
                     ACCORD_ETOOBIG);
    /* another prefix, or none: refused, or some bytes within the bound */
    out.len = 0;
    (void)pack_inflate_prefix(f.p, f.len, other, plen, n, &out);
    assert_true(out.len <= n);
    out.len = 0;
    int rc = pack_inflate(f.p, f.len, &out);
    (void)rc;
    /* cuts out of order are refused */
    if (ncut >= 2 && cut[0] != cut[ncut - 1]) {
      size_t t = cut[0];
      cut[0] = cut[ncut - 1];
      cut[ncut - 1] = t;
      buf g = {0};
      assert_int_equal(pack_deflate_cut(p, n, cut, ncut, pre, plen, &pz, &g),
                       ACCORD_EINVAL);
      buf_free(&g);
    }
    /* flipped bytes: refused or some bytes, never more than the bound */
    for (int k = 0; k < 20; k++) {
      uint8_t *m = malloc(f.len);
      assert_non_null(m);
      memcpy(m, f.p, f.len);
      m[rng_below(&r, f.len)] ^= (uint8_t)(1 + rng_below(&r, 255));
      out.len = 0;
      rc = pack_inflate_prefix(m, f.len, pre, plen, n, &out);
      assert_true(out.len <= n);
      free(m);
    }
    buf_free(&f);
    buf_free(&out);
    free(pre);
    free(p);
    free(other);
  }
  /* input that is the prefix: the frame refers to it, and decoding with
   * another prefix or none cannot give it back */
  uint8_t pre[1000], other[1000], in[1000];
  for (size_t i = 0; i < sizeof pre; i++) {
    pre[i] = (uint8_t)rng_next(&r);
    other[i] = (uint8_t)(pre[i] ^ 0x5a);
  }
  memcpy(in, pre, sizeof in);
  buf f = {0}, out = {0};
  AOK(pack_deflate_prefix(in, sizeof in, pre, sizeof pre, &pz, &f));
  assert_true(f.len < 100);
  AOK(pack_inflate_prefix(f.p, f.len, pre, sizeof pre, sizeof pre, &out));
  assert_int_equal(out.len, sizeof pre);
  assert_memory_equal(out.p, pre, sizeof pre);
  out.len = 0;
  if (!pack_inflate_prefix(f.p, f.len, other, sizeof other, sizeof pre, &out))
    assert_memory_not_equal(out.p, pre, out.len < 16 ? out.len : 16);
  out.len = 0;
  assert_int_not_equal(pack_inflate(f.p, f.len, &out), 0);
  buf_free(&f);
  buf_free(&out);
  pack_z_free(&pz);
}

/* pack_text: a frame's TEXT and RAW columns, bounded; hostile frames are
 * refused or give some text. */
static void pack_text_of_frames(void **state) {
  (void)state;
  test_rng r;
  rng_init(&r, test_seed("pack_text_of_frames"));
  accord_doc *d = du_new(1);
  accord_id text = du_put_object(d, ACCORD_ROOT, "text", ACCORD_TEXT);
  const char *words[] = {"hello", " ", "world", "\xc3\xa9", "!"};
  buf want = {0};
  for (int i = 0; i < 200; i++) {
    const char *w = words[rng_below(&r, 5)];
    accord_txn *t = NULL;
    size_t len;
    AOK(accord_text_len(d, text, &len));
    AOK(accord_txn_begin(d, &t));
    AOK(accord_text_splice(t, text, len, 0, w, strlen(w)));
    AOK(accord_txn_commit(t, NULL));
    buf_put(&want, w, strlen(w));
  }
  AOK(doc_index_chains(d));
  chain *c = &d->chains[0];
  buf z = {0}, out = {0};
  pack_z pz = {3, NULL, 0};
  AOK(pack_bodies(c, &pz, &z));
  size_t budget = (size_t)1 << 20;
  AOK(pack_text(z.p, z.len, 1 << 20, &budget, &out));
  assert_true(budget < ((size_t)1 << 20)); /* the inflated bytes */
  /* the first change (the root's map op) raw, then the text typed */
  assert_true(out.len > want.len);
  assert_memory_equal(out.p + out.len - want.len, want.p, want.len);
  size_t all = out.len;
  out.len = 0;
  budget = (size_t)1 << 20;
  assert_int_equal(pack_text(z.p, z.len, all - 1, &budget, &out),
                   ACCORD_ETOOBIG);
  out.len = 0;
  budget = 100; /* the columns are larger */
  assert_int_equal(pack_text(z.p, z.len, 1 << 20, &budget, &out),
                   ACCORD_ETOOBIG);
  uint8_t *m = malloc(z.len);
  assert_non_null(m);
  for (size_t n = 0; n < z.len; n++) {
    out.len = 0;
    budget = (size_t)1 << 20;
    assert_int_not_equal(pack_text(z.p, n, 1 << 20, &budget, &out), 0);
  }
  for (int i = 0; i < (int)test_scale(2000); i++) {
    memcpy(m, z.p, z.len);
    m[rng_below(&r, z.len)] ^= (uint8_t)(1 + rng_below(&r, 255));
    out.len = 0;
    budget = (size_t)1 << 20;
    (void)pack_text(m, z.len, 4096, &budget, &out);
    assert_true(out.len <= 4096);
  }
  free(m);
  pack_z_free(&pz);
  buf_free(&z);
  buf_free(&out);
  buf_free(&want);
  accord_doc_free(d);
}

/* The snapshot's form in a saved document (the second-to-last item). */
static uint64_t snapshot_form(const uint8_t *p, size_t len) {
  mp_reader rd;
  uint32_t n;
  uint64_t form;
  mp_reader_init(&rd, p, len);
  assert_int_equal(mp_get_array(&rd, &n), 0);
  assert_int_equal(n, 12);
  for (int i = 0; i < 9; i++) assert_int_equal(mp_skip(&rd), 0);
  assert_int_equal(mp_get_uint(&rd, &form), 0);
  return form;
}

/* Offset and length of the saved snapshot bytes. */
static void snapshot_span(const uint8_t *p, size_t len, size_t *at,
                          size_t *n) {
  mp_reader rd;
  uint32_t k;
  uint64_t form;
  const uint8_t *s;
  mp_reader_init(&rd, p, len);
  assert_int_equal(mp_get_array(&rd, &k), 0);
  for (int i = 0; i < 9; i++) assert_int_equal(mp_skip(&rd), 0);
  assert_int_equal(mp_get_uint(&rd, &form), 0);
  assert_int_equal(mp_get_bin(&rd, &s, n), 0);
  *at = (size_t)(s - p);
}

static void resum(uint8_t *p, size_t len) {
  /* the checksum: a uint64 (0xcf + 8 bytes) at the end */
  uint64_t v = sum64(p, len - 9);
  assert_int_equal(p[len - 9], 0xcf);
  for (int i = 0; i < 8; i++) p[len - 1 - i] = (uint8_t)(v >> (8 * i));
}

static void snapshot_against_history(void **state) {
  (void)state;
  test_rng r;
  rng_init(&r, test_seed("snapshot_against_history"));
  accord_doc *d[3];
  make_history(d, &r, (int)test_scale(1200));
  du_sync_all(d, 3);
  uint8_t *saved = NULL, *again = NULL;
  size_t slen, alen;
  AOK(accord_doc_save(d[0], &saved, &slen));
  assert_int_equal(snapshot_form(saved, slen), 2);
  accord_doc *l = NULL;
  AOK(accord_doc_load(saved, slen, NULL, &l));
  du_assert_same_json(d[0], l);
  assert_same_heads(d[0], l, 3);
  /* loaded by an author whose actor is not the file's first: the loaded
   * document orders its actors otherwise, the prefix must not change */
  for (uint64_t a = 1; a <= 3; a++) {
    uint8_t actor[8];
    test_actor(actor, a);
    accord_doc *la = NULL;
    AOK(accord_doc_load(saved, slen, actor, &la));
    du_assert_same_json(d[0], la);
    assert_same_heads(d[0], la, 3);
    accord_doc_free(la);
  }
  /* saved again from the loaded (packed) document: form 2 again */
  AOK(accord_doc_save(l, &again, &alen));
  assert_int_equal(snapshot_form(again, alen), 2);
  accord_doc_free(l);
  AOK(accord_doc_load(again, alen, NULL, &l));
  du_assert_same_json(d[0], l);
  accord_doc_free(l);
  /* damaged snapshot bytes under a good checksum: refused or a checked
   * state, never a crash or a leak */
  size_t at, n;
  snapshot_span(saved, slen, &at, &n);
  uint8_t *m = malloc(slen);
  assert_non_null(m);
  int refused = 0;
  for (int i = 0; i < (int)test_scale(400); i++) {
    memcpy(m, saved, slen);
    m[at + rng_below(&r, n)] ^= (uint8_t)(1 + rng_below(&r, 255));
    resum(m, slen);
    l = NULL;
    if (accord_doc_load(m, slen, NULL, &l)) refused++;
    accord_doc_free(l);
  }
  assert_true(refused > 0);
  /* the history's text damaged instead (the snapshot's prefix): the same */
  for (int i = 0; i < (int)test_scale(400); i++) {
    memcpy(m, saved, slen);
    m[rng_below(&r, at)] ^= (uint8_t)(1 + rng_below(&r, 255));
    resum(m, slen);
    l = NULL;
    if (accord_doc_load(m, slen, NULL, &l) == 0) {
      char *j = test_json(l);
      accord_free(j);
    }
    accord_doc_free(l);
  }
  free(m);
  accord_free(saved);
  accord_free(again);
  for (int i = 0; i < 3; i++) accord_doc_free(d[i]);
}

/* A history whose text passes the prefix limit: the snapshot is saved on
 * its own (form 1) and loads. */
static void large_history_no_prefix(void **state) {
  (void)state;
  accord_doc *d = du_new(1);
  accord_id text = du_put_object(d, ACCORD_ROOT, "text", ACCORD_TEXT);
  size_t chunk = (size_t)1 << 20;
  char *s = malloc(chunk);
  assert_non_null(s);
  for (size_t i = 0; i < chunk; i++) s[i] = (char)('a' + i % 23);
  for (int k = 0; k < 9; k++) {
    accord_txn *t = NULL;
    AOK(accord_txn_begin(d, &t));
    AOK(accord_text_splice(t, text, 0, k ? 1 : 0, s, chunk));
    AOK(accord_txn_commit(t, NULL));
  }
  uint8_t *saved = NULL;
  size_t slen;
  AOK(accord_doc_save(d, &saved, &slen));
  assert_int_equal(snapshot_form(saved, slen), 1);
  accord_doc *l = NULL;
  AOK(accord_doc_load(saved, slen, NULL, &l));
  du_assert_same_json(d, l);
  accord_doc_free(l);
  accord_free(saved);
  free(s);
  accord_doc_free(d);
}

/* Format 4's snapshot: sequences as rows (refs are doc actor indexes). */
static void v4_id(buf *b, opid id) {
  mp_put_uint(b, opid_none(id) ? 0 : id.actor);
  mp_put_uint(b, id.ctr);
}

typedef struct v4ctx {
  buf *b, content;
  uint32_t nvis;
} v4ctx;

static int v4_run(void *ctx, const sequence *s, const seq_run *r) {
  v4ctx *w = ctx;
  v4_id(w->b, r->id);
  mp_put_uint(w->b, r->len);
  v4_id(w->b, r->left);
  v4_id(w->b, r->right);
  mp_put_bool(w->b, r->deleted);
  if (!r->deleted && s->is_text)
    buf_put(&w->content, s->content.p + r->off, r->bytes);
  return 0;
}

static int v4_count(void *ctx, const sequence *s, const seq_run *r) {
  (void)s;
  (void)r;
  (*(uint32_t *)ctx)++;
  return 0;
}

static int v4_elem(void *ctx, opid id, val *v) {
  v4ctx *w = ctx;
  (void)id;
  change_put_val(&w->content, v);
  w->nvis++;
  return 0;
}

static void v4_snapshot(const accord_doc *doc, buf *b) {
  const docstate *st = &doc->st;
  mp_put_array(b, 2);
  mp_put_uint(b, st->max_op);
  mp_put_array(b, st->objs.n);
  for (uint32_t i = 0; i < st->objs.cap; i++) {
    const object *o = st->objs.slot[i];
    if (!o) continue;
    mp_put_array(b, 5);
    mp_put_uint(b, o->type);
    v4_id(b, o->id);
    mp_put_uint(b, o->depth);
    if (o->type == ACCORD_MAP) {
      mp_put_array(b, o->u.m.live);
      for (uint32_t k = 0; k < o->u.m.n; k++) {
        const mentry *e = &o->u.m.e[k];
        if (e->n == 0) continue;
        mp_put_array(b, 2);
        mp_put_str(b, e->key, e->klen);
        mp_put_array(b, 3 * e->n);
        for (uint32_t j = 0; j < e->n; j++) {
          v4_id(b, e->regs[j].op);
          change_put_val(b, &e->regs[j].v);
        }
      }
      continue;
    }
    v4ctx w = {b, {0}, 0};
    uint32_t runs = 0;
    seq_each_run(&o->u.s, v4_count, &runs);
    mp_put_array(b, 2);
    mp_put_array(b, 8 * runs);
    seq_each_run(&o->u.s, v4_run, &w);
    if (o->u.s.is_text) {
      mp_put_str(b, w.content.p, w.content.len);
    } else {
      seq_each_visible(&o->u.s, v4_elem, &w);
      mp_put_array(b, w.nvis);
      buf_put(b, w.content.p, w.content.len);
    }
    buf_free(&w.content);
  }
}

/* A format 4 file, written as the old save did (no seals, no pending). */
static uint8_t *save_v4(accord_doc *doc, size_t *len) {
  buf snap = {0}, b = {0};
  v4_snapshot(doc, &snap);
  AOK(doc_index_chains(doc));
  mp_put_array(&b, 10);
  mp_put_str(&b, "accord-doc", 10);
  mp_put_uint(&b, 4);
  mp_put_bin(&b, doc->id, ACCORD_DOC_ID_BYTES);
  mp_put_bin(&b, doc->ws, sizeof doc->ws);
  mp_put_bool(&b, doc->verify);
  mp_put_array(&b, doc->nactors);
  for (uint32_t a = 0; a < doc->nactors; a++)
    mp_put_bin(&b, doc->actor[a], ACCORD_ACTOR_BYTES);
  uint32_t with = 0;
  for (uint32_t a = 0; a < doc->nactors; a++) with += doc->chains[a].n > 0;
  mp_put_array(&b, with);
  for (uint32_t a = 0; a < doc->nactors; a++) {
    const chain *c = &doc->chains[a];
    if (c->n == 0) continue;
    mp_put_array(&b, 7);
    mp_put_uint(&b, a);
    mp_put_uint(&b, c->n);
    mp_put_uint(&b, c->end_op);
    mp_put_int(&b, c->time);
    mp_put_array(&b, c->ntab);
    for (uint32_t i = 0; i < c->ntab; i++) mp_put_uint(&b, c->tab[i]);
    mp_put_bin(&b, c->bytes.p, c->bytes.len);
    mp_put_nil(&b);
  }
  mp_put_array(&b, 0);
  mp_put_bin(&b, snap.p, snap.len);
  mp_put_uint(&b, sum64(b.p, b.len));
  assert_int_equal(b.err, 0);
  buf_free(&snap);
  return buf_take(&b, len);
}

/* Format 4 files (bodies and snapshot uncompressed) still load; an unknown
 * version is refused with EVERSION. */
static void format4_still_loads(void **state) {
  (void)state;
  test_rng r;
  rng_init(&r, test_seed("format4_still_loads"));
  accord_doc *d[3];
  make_history(d, &r, 300);
  du_sync_all(d, 3);
  size_t len, blen, blen2;
  uint8_t *v4 = save_v4(d[1], &len);
  accord_doc *l = NULL;
  AOK(accord_doc_load(v4, len, NULL, &l));
  du_assert_same_json(d[1], l);
  uint8_t *before = all_changes(d[1], &blen);
  uint8_t *after = all_changes(l, &blen2);
  assert_int_equal(blen, blen2);
  assert_memory_equal(before, after, blen);
  assert_same_heads(d[1], l, 3);
  accord_fork *f;
  size_t nf = 9;
  AOK(accord_doc_forks(l, &f, &nf)); /* format 4 had no forks */
  assert_int_equal(nf, 0);
  accord_free(f);
  accord_doc_free(l);
  /* and through the current format (7) */
  uint8_t *v5 = NULL;
  size_t len5;
  AOK(accord_doc_save(d[1], &v5, &len5));
  assert_true(len5 < len);
  assert_int_equal(v5[12], 7);
  v5[12] = 8;
  l = (accord_doc *)1;
  assert_int_equal(accord_doc_load(v5, len5, NULL, &l), ACCORD_EVERSION);
  assert_null(l);
  free(v4);
  accord_free(v5);
  accord_free(before);
  accord_free(after);
  for (int i = 0; i < 3; i++) accord_doc_free(d[i]);
}

TEST_MAIN(cmocka_unit_test(save_load_keeps_history),
          cmocka_unit_test(packed_chains_keep_working),
          cmocka_unit_test(pack_is_exact),
          cmocka_unit_test(hostile_frames),
          cmocka_unit_test(hostile_snapshots),
          cmocka_unit_test(damaged_history_refused_when_read),
          cmocka_unit_test(format4_still_loads),
          cmocka_unit_test(prefix_frames),
          cmocka_unit_test(pack_text_of_frames),
          cmocka_unit_test(snapshot_against_history),
          cmocka_unit_test(large_history_no_prefix),
          cmocka_unit_test(split_flags_still_load),
          cmocka_unit_test(pack_v1_still_unpacks))
