/*
 * fuzz_corpus.c — writes seed corpora for the fuzz targets:
 *   DIR/import/  batches the fuzz_import base document can import (whole
 *                histories, single changes, changes out of causal order,
 *                an empty batch);
 *   DIR/load/    saved documents (empty, the base, the editor replica);
 *   DIR/frame/   received transport streams under fuzz_frame_key: a byte
 *                choosing the read sizes, then header and frames (small
 *                and large messages, with and without the FINAL frame);
 *   DIR/beacon/  discovery beacons sealed under fuzz_beacon_ws_key's key;
 *   DIR/token/   invite tokens with 0, 1 and 16 peer addresses;
 *   DIR/sealed/  sealed batches for fuzz_sealed's verifying document:
 *                author 1's chain extended by 3 and by 300 changes (the
 *                worker thread's path), author 2's first changes, and
 *                author 1 forked at seq FUZZ_SEALED_FORK;
 *   DIR/fork/    the evidence that fork leaves.
 * Usage: fuzz_corpus DIR
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "accord.h"
#include "beacon_codec.h"
#include "frame.h"
#include "members.h"
#include "fuzz_common.h"
#include "mp.h"

static void write_file(const char *dir, const char *sub, const char *name,
                       const uint8_t *p, size_t n) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, sub);
  if (mkdir(path, 0777) != 0 && errno != EEXIST) {
    perror(path);
    exit(1);
  }
  snprintf(path, sizeof path, "%s/%s/%s", dir, sub, name);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
    perror(path);
    exit(1);
  }
}

static void since(const char *dir, const char *name, accord_doc *src,
                  const accord_doc *peer) {
  uint8_t *vv = NULL, *batch = NULL;
  size_t vlen = 0, blen = 0;
  int rc;
  if (peer && (rc = accord_doc_version(peer, &vv, &vlen)))
    fuzz_die("version", rc);
  if ((rc = accord_doc_changes_since(src, vv, vlen, &batch, &blen)))
    fuzz_die("changes_since", rc);
  write_file(dir, "import", name, batch, blen);
  accord_free(vv);
  accord_free(batch);
}

static void save(const char *dir, const char *name, accord_doc *d) {
  uint8_t *p = NULL;
  size_t n = 0;
  int rc = accord_doc_save(d, &p, &n);
  if (rc) fuzz_die("save", rc);
  write_file(dir, "load", name, p, n);
  accord_free(p);
}

/* Two beacons (different ports and times), each followed by 8 bytes of a
 * clock for fuzz_beacon's second path. */
static void beacons(const char *dir) {
  uint8_t key[32], out[BEACON_BYTES + 8];
  beacon_key(fuzz_beacon_ws_key, key);
  for (int i = 0; i < 2; i++) {
    beacon_msg m;
    memset(&m, 0, sizeof m);
    m.port = (uint16_t)(4000 + i);
    memset(m.pk, 0x30 + i, sizeof m.pk);
    m.time = 1700000000000 + i;
    m.nonce[0] = (uint8_t)i;
    int rc = beacon_seal(key, &m, 0, out);
    if (rc) fuzz_die("beacon_seal", rc);
    for (int k = 0; k < 8; k++)
      out[BEACON_BYTES + k] = (uint8_t)((uint64_t)m.time >> (56 - 8 * k));
    write_file(dir, "beacon", i ? "beacon-clock" : "beacon", out,
               i ? sizeof out : BEACON_BYTES);
  }
}

/* A stream of count messages [i, bin(size)], FINAL if final. */
static void frames(const char *dir, const char *name, int count, size_t size,
                   int final) {
  buf b = {0};
  frame_enc e;
  uint8_t hdr[FRAME_HEADER_BYTES];
  int rc = frame_enc_init(&e, fuzz_frame_key, hdr);
  if (rc) fuzz_die("frame_enc_init", rc);
  buf_put_byte(&b, (uint8_t)(count * 31 + 7));
  buf_put(&b, hdr, sizeof hdr);
  for (int i = 0; i < count + (final ? 1 : 0); i++) {
    buf m = {0};
    if (i < count) {
      mp_put_array(&m, 2);
      mp_put_uint(&m, (uint64_t)i);
      mp_put_bin(&m, hdr, size < sizeof hdr ? size : sizeof hdr);
    }
    if (m.err || buf_try_reserve(&b, frame_size(m.len)))
      fuzz_die("frames", ACCORD_ENOMEM);
    if ((rc = frame_enc_seal(&e, m.p, m.len, i == count, b.p + b.len)))
      fuzz_die("frame_enc_seal", rc);
    b.len += frame_size(m.len);
    buf_free(&m);
  }
  if (b.err) fuzz_die("frames", b.err);
  write_file(dir, "frame", name, b.p, b.len);
  buf_free(&b);
}

/* DIR/token/: invite tokens with 0, 1 and 16 addresses. */
static void tokens(const char *dir) {
  static const char *const addrs[16] = {
      "127.0.0.1:7000", "[::1]:7001",  "laptop.local:7002", "a:1", "b:2",
      "c:3",            "d:4",         "e:5",               "f:6", "g:7",
      "h:8",            "i:9",         "j:10",              "k:11", "l:12",
      "m:13"};
  static const size_t counts[] = {0, 1, 16};
  for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
    accord_invite inv;
    memset(&inv, 0, sizeof inv);
    memset(inv.ws, 0x11, sizeof inv.ws);
    memset(inv.key, 0x22, sizeof inv.key);
    memset(inv.secret, 0x33, sizeof inv.secret);
    inv.expires = 1767225600000;
    inv.naddrs = counts[i];
    inv.addrs = (const char **)addrs;
    char *t = NULL, name[32];
    int rc = token_encode(&inv, &t);
    if (rc) fuzz_die("token_encode", rc);
    snprintf(name, sizeof name, "addrs-%zu", counts[i]);
    write_file(dir, "token", name, (const uint8_t *)t, strlen(t));
    accord_free(t);
  }
}

static void write_since(const char *dir, const char *sub, const char *name,
                        accord_doc *src, const uint8_t *vv, size_t vlen) {
  uint8_t *batch = NULL;
  size_t blen = 0;
  int rc = accord_doc_changes_since(src, vv, vlen, &batch, &blen);
  if (rc) fuzz_die("changes_since", rc);
  write_file(dir, sub, name, batch, blen);
  accord_free(batch);
}

/* The seed must import into a copy of base, as fuzz_sealed loads it: a
 * seed the target refuses would only test the first checks. */
static void must_import(accord_doc *base, accord_doc *src,
                        const uint8_t *vv, size_t vlen) {
  uint8_t *p = NULL, *batch = NULL, actor[ACCORD_ACTOR_BYTES];
  size_t n = 0, blen = 0;
  accord_doc *copy = NULL;
  accord_import_stats st;
  fuzz_actor(actor, 9);
  int rc = accord_doc_save(base, &p, &n);
  if (!rc) rc = accord_doc_load(p, n, actor, &copy);
  if (!rc) rc = accord_doc_changes_since(src, vv, vlen, &batch, &blen);
  if (!rc) rc = accord_doc_import(copy, batch, blen, &st);
  if (rc || st.applied == 0) fuzz_die("a sealed seed does not import", rc);
  accord_free(p);
  accord_free(batch);
  accord_doc_free(copy);
}

static void sealed(const char *dir) {
  uint8_t *mid = NULL, *vv = NULL;
  size_t mid_len = 0, vlen = 0;
  accord_doc *a1 = NULL;
  accord_doc *base = fuzz_sealed_base(&mid, &mid_len, &a1);
  int rc = accord_doc_version(base, &vv, &vlen);
  if (rc) fuzz_die("version", rc);
  /* author 1 going on from where the base is */
  accord_doc *a = fuzz_author(1);
  fuzz_sync_into(a, base);
  fuzz_author_write(a, 3, "c", 1700000200000LL);
  write_since(dir, "sealed", "extend-3", a, vv, vlen);
  must_import(base, a, vv, vlen);
  fuzz_author_write(a, 297, "d", 1700000300000LL);
  write_since(dir, "sealed", "extend-300", a, vv, vlen);
  must_import(base, a, vv, vlen);
  accord_doc *b = fuzz_author(2);
  fuzz_author_write(b, 5, "e", 1700000400000LL);
  write_since(dir, "sealed", "author-2", b, NULL, 0);
  must_import(base, b, NULL, 0);
  /* author 1's copy from before seq FUZZ_SEALED_FORK writes other changes */
  fuzz_author_write(a1, 40, "f", 1700000500000LL);
  write_since(dir, "sealed", "fork", a1, mid, mid_len);
  uint8_t *batch = NULL;
  size_t blen = 0;
  accord_import_stats st;
  if ((rc = accord_doc_changes_since(a1, mid, mid_len, &batch, &blen)) ||
      (rc = accord_doc_import(base, batch, blen, &st)))
    fuzz_die("fork import", rc);
  accord_free(batch);
  accord_fork *f = NULL;
  size_t n = 0;
  if ((rc = accord_doc_forks(base, &f, &n)) || n != 1)
    fuzz_die("the fork was not recorded", rc);
  write_file(dir, "fork", "deep", f[0].evidence, f[0].evidence_len);
  accord_free(f);
  accord_doc_free(a);
  accord_doc_free(b);
  accord_doc_free(a1);
  accord_doc_free(base);
  accord_free(mid);
  accord_free(vv);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const char *dir = argv[1];
  if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
    perror(dir);
    return 1;
  }
  uint8_t *mid = NULL;
  size_t mid_len = 0;
  accord_doc *base = fuzz_base(), *ed = fuzz_editor(base, &mid, &mid_len);
  uint8_t a[ACCORD_ACTOR_BYTES];
  fuzz_actor(a, 7);
  accord_doc *empty = NULL;
  int rc = accord_doc_new(fuzz_doc_id, a, &empty);
  if (rc) fuzz_die("new", rc);

  since(dir, "editor-since-base", ed, base); /* applies cleanly */
  since(dir, "editor-all", ed, NULL);        /* mostly duplicates */
  since(dir, "empty-batch", ed, ed);
  since(dir, "base-all", base, NULL);
  /* the editor's second change alone: pending on the base */
  {
    uint8_t *batch = NULL;
    size_t blen = 0;
    if ((rc = accord_doc_changes_since(ed, mid, mid_len, &batch, &blen)))
      fuzz_die("changes_since", rc);
    write_file(dir, "import", "editor-second-only", batch, blen);
    accord_free(batch);
  }
  since(dir, "editor-into-empty", ed, empty);
  save(dir, "empty", empty);
  save(dir, "base", base);
  save(dir, "editor", ed);
  frames(dir, "one", 1, 3, 0);
  frames(dir, "several-final", 5, 24, 1);
  frames(dir, "only-final", 0, 0, 1);
  beacons(dir);
  tokens(dir);
  sealed(dir);
  accord_doc_free(empty);
  accord_doc_free(base);
  accord_doc_free(ed);
  accord_free(mid);
  return 0;
}
