/*
 * test_store_chain.c — the store on the segmented hash chain (hashchain.h):
 * runs of odd lengths stored and verified, with every head checked against
 * a chain computed here straight from hashchain.h's definition (one
 * BLAKE2b per seq over its segment: no hashchain.c, no spans); resuming
 * from the store's own records (a store reopened before each put, so its
 * cache is empty), from compressed chunks after compaction, and from the
 * cache; damaged heads refused before anything is written; damaged records
 * found by verification; and a node reloading after snapshot + tail
 * arriving at the same chain positions.
 *
 * Bodies are random but decodable (six msgpack values, change.h), so the
 * store's record walk accepts them; randomised cases print their seed.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store_testutil.h"

#include "buf.h"
#include "crypto.h"
#include "doc.h"
#include "hashchain.h"
#include "mem.h"
#include "node.h"
#include "store.h"

#define MAXN 1400

/* ---- bodies and the reference chain -------------------------------------- */

typedef struct chainref {
  uint8_t doc[16], actor[8];
  buf bytes;
  uint32_t off[MAXN + 1];
  uint32_t n;
  uint8_t hash[MAXN + 1][32], root[MAXN + 1][32]; /* at seq s */
} chainref;

/* n random bodies of up to maxlen payload bytes. */
static void ref_bodies(chainref *c, test_rng *r, uint32_t n, uint32_t maxlen) {
  c->n = n;
  c->bytes.len = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t len = (uint32_t)rng_below(r, maxlen + 1);
    uint8_t head[7] = {(uint8_t)rng_below(r, 128), (uint8_t)rng_below(r, 128),
                       0x90, 0x90, 0xc0, 0xc4, (uint8_t)len};
    c->off[i] = (uint32_t)c->bytes.len;
    buf_put(&c->bytes, head, sizeof head);
    for (uint32_t k = 0; k < len; k++) {
      uint8_t b = (uint8_t)rng_next(r);
      buf_put(&c->bytes, &b, 1);
    }
  }
  c->off[n] = (uint32_t)c->bytes.len;
  assert_int_equal(c->bytes.err, 0);
}

/* hash(s) for every s, from hashchain.h's definition. */
static void ref_hash(chainref *c) {
  static const uint8_t personal[16] = "accord-chain-v2";
  uint8_t seg_root[32] = {0};
  memset(c->hash[0], 0, 32);
  memset(c->root[0], 0, 32);
  for (uint32_t s = 1; s <= c->n; s++) {
    uint32_t b = (s - 1) - (s - 1) % HASHCHAIN_SEG;
    uint8_t first[4] = {(uint8_t)((b + 1) >> 24), (uint8_t)((b + 1) >> 16),
                        (uint8_t)((b + 1) >> 8), (uint8_t)(b + 1)};
    hash_state st;
    hash_init_personal(&st, personal);
    hash_update(&st, seg_root, 32);
    hash_update(&st, c->doc, 16);
    hash_update(&st, c->actor, 8);
    hash_update(&st, first, 4);
    hash_update(&st, c->bytes.p + c->off[b], c->off[s] - c->off[b]);
    hash_final(&st, c->hash[s]);
    if (s % HASHCHAIN_SEG == 0) memcpy(seg_root, c->hash[s], 32);
    memcpy(c->root[s], seg_root, 32);
  }
}

static chainref *ref_new(test_rng *r, uint8_t tag, uint32_t n,
                         uint32_t maxlen) {
  chainref *c = calloc(1, sizeof *c);
  assert_non_null(c);
  for (int i = 0; i < 16; i++) c->doc[i] = (uint8_t)(0xd0 + i);
  memset(c->actor, tag, 8);
  ref_bodies(c, r, n, maxlen);
  ref_hash(c);
  return c;
}

static void ref_free(chainref *c) {
  buf_free(&c->bytes);
  free(c);
}

/* ---- a bare store -------------------------------------------------------- */

static const uint8_t ws_id[16] = {0x77, 1, 2, 3};

static store *open_store(const char *dir) {
  store_opts o = {0, 1, 1, (uint64_t)64 << 20, (uint64_t)1 << 40, 0};
  store *s = NULL;
  char err[512] = "";
  int rc = store_open(dir, &o, &s, NULL, err, sizeof err);
  if (rc) fail_msg("store_open: %s: %s", accord_err_name(rc), err);
  return s;
}

typedef struct putctx {
  const chainref *c;
  store_run run;
  hashchain_pos prev, out;
} putctx;

static int put_txn(store_txn *t, void *ctx) {
  putctx *p = ctx;
  store_head h;
  int rc = store_changes_put(t, ws_id, p->c->doc, p->c->actor, &p->run,
                             &p->prev, &p->out);
  if (rc) return rc;
  memcpy(h.actor, p->c->actor, 8);
  store_head_set(&h, &p->out);
  return store_head_put(t, ws_id, p->c->doc, &h);
}

typedef struct headctx {
  const chainref *c;
  store_head h;
  int rc;
} headctx;

static int head_txn(store_txn *t, void *ctx) {
  headctx *g = ctx;
  g->rc = store_head_get(t, ws_id, g->c->doc, g->c->actor, &g->h);
  return 0;
}

/* The stored head (zeros if none), as a position. */
static hashchain_pos stored_pos(store *s, const chainref *c) {
  headctx g;
  hashchain_pos p;
  memset(&g, 0, sizeof g);
  memset(&p, 0, sizeof p);
  g.c = c;
  AOK(store_read(s, head_txn, &g));
  if (g.rc != ACCORD_ENOTFOUND) {
    if (g.rc) fail_msg("head: %s: %s", accord_err_name(g.rc),
                       store_errmsg(s));
    store_head_pos(&g.h, &p);
  }
  return p;
}

static void assert_at(const chainref *c, const hashchain_pos *p,
                      uint32_t seq) {
  assert_int_equal(p->seq, seq);
  assert_memory_equal(p->hash, c->hash[seq], 32);
  assert_memory_equal(p->root, c->root[seq], 32);
}

/* Puts changes from..from+len-1 after the stored head; checks the
 * position the put returns and the stored head against the reference. */
static int append(store *s, const chainref *c, uint32_t len) {
  putctx p;
  memset(&p, 0, sizeof p);
  p.c = c;
  p.prev = stored_pos(s, c);
  p.run.base = c->bytes.p;
  p.run.off = c->off + p.prev.seq;
  p.run.first = p.prev.seq + 1;
  p.run.n = len;
  int rc = store_write(s, put_txn, &p, NULL);
  if (rc) return rc;
  assert_at(c, &p.out, p.prev.seq + len);
  hashchain_pos now = stored_pos(s, c);
  assert_at(c, &now, p.prev.seq + len);
  return 0;
}

typedef struct verctx {
  const chainref *c;
  store_head h;
  uint32_t next;
  int bodies_rc;
} verctx;

static int same_body(void *ctx, uint32_t seq, const uint8_t *body,
                     size_t len) {
  verctx *v = ctx;
  const chainref *c = v->c;
  if (seq != v->next || len != c->off[seq] - c->off[seq - 1] ||
      memcmp(body, c->bytes.p + c->off[seq - 1], len))
    return ACCORD_EINVAL;
  v->next++;
  return 0;
}

static int verify_txn(store_txn *t, void *ctx) {
  verctx *v = ctx;
  int rc = store_changes_verify(t, ws_id, v->c->doc, &v->h);
  v->next = 1;
  v->bodies_rc = rc ? 0
                    : store_changes_read(t, ws_id, v->c->doc, v->c->actor, 1,
                                         v->h.seq, same_body, v);
  return rc;
}

/* store_changes_verify against the stored head, whose position must be
 * the reference's at seq; and the bodies read back are the ones put. */
static int verify(store *s, const chainref *c, uint32_t seq) {
  verctx v;
  memset(&v, 0, sizeof v);
  v.c = c;
  hashchain_pos p = stored_pos(s, c);
  assert_at(c, &p, seq);
  memcpy(v.h.actor, c->actor, 8);
  store_head_set(&v.h, &p);
  int rc = store_read(s, verify_txn, &v);
  if (!rc) {
    assert_int_equal(v.bodies_rc, 0);
    assert_int_equal(v.next, seq + 1);
  }
  return rc;
}

/* ---- runs of odd lengths ------------------------------------------------- */

static const uint32_t single[] = {1, 63, 64, 65, 200};
/* ending mid-segment, on a boundary, just past one, then continued */
static const uint32_t continued[] = {1, 62, 1, 65, 30, 3, 200, 127, 1};

/* reopen: a new store before every put, so hashing resumes from the
 * records (the cache of the store instance is empty). */
static void runs(int reopen) {
  test_rng r;
  rng_init(&r, test_seed(reopen ? "store_chain.runs_reopened"
                                : "store_chain.runs_cached"));
  char *tmp = st_tmpdir();
  store *s = open_store(tmp);
  for (uint32_t i = 0; i < sizeof single / sizeof *single; i++) {
    chainref *c = ref_new(&r, (uint8_t)(i + 1), single[i], 40);
    if (reopen) {
      store_close(s);
      s = open_store(tmp);
    }
    AOK(append(s, c, single[i]));
    AOK(verify(s, c, single[i]));
    ref_free(c);
  }
  chainref *c = ref_new(&r, 0x40, 600, 40);
  uint32_t at = 0;
  for (uint32_t i = 0; i < sizeof continued / sizeof *continued; i++) {
    if (reopen) {
      store_close(s);
      s = open_store(tmp);
    }
    AOK(append(s, c, continued[i]));
    at += continued[i];
    AOK(verify(s, c, at));
  }
  /* one change at a time across two boundaries */
  for (uint32_t i = 0; i < 70; i++) {
    if (reopen && i % 7 == 0) {
      store_close(s);
      s = open_store(tmp);
    }
    AOK(append(s, c, 1));
    at++;
  }
  AOK(verify(s, c, at));
  ref_free(c);
  store_close(s);
  st_rmrf(tmp);
  free(tmp);
}

static void runs_cached(void **state) {
  (void)state;
  runs(0);
}

static void runs_reopened(void **state) {
  (void)state;
  runs(1);
}

/* A run larger than a chunk becomes several compressed records; compaction
 * merges the small ones after it; hashing then resumes from inside a
 * compressed chunk. */
typedef struct compactctx {
  const chainref *c;
  size_t before, after;
} compactctx;

static int compact_txn(store_txn *t, void *ctx) {
  compactctx *k = ctx;
  k->before = k->after = 0;
  return store_changes_compact(t, ws_id, k->c->doc, k->c->actor, 0,
                               &k->before, &k->after);
}

static void large_runs_and_compaction(void **state) {
  (void)state;
  test_rng r;
  rng_init(&r, test_seed("store_chain.large_runs_and_compaction"));
  char *tmp = st_tmpdir();
  store *s = open_store(tmp);
  chainref *c = ref_new(&r, 0x51, 1390, 250);
  AOK(append(s, c, 1000)); /* ~130 KB: several chunks */
  AOK(verify(s, c, 1000));
  for (uint32_t i = 0; i < 37; i++) AOK(append(s, c, 1));
  AOK(verify(s, c, 1037));
  compactctx k = {c, 0, 0};
  AOK(store_write(s, compact_txn, &k, NULL));
  assert_true(k.before >= 37);
  assert_true(k.after < k.before);
  AOK(verify(s, c, 1037));
  store_close(s);
  s = open_store(tmp); /* resume from the compacted records */
  AOK(append(s, c, 300));
  AOK(verify(s, c, 1337));
  store_close(s);
  s = open_store(tmp);
  for (uint32_t i = 0; i < 53; i++) AOK(append(s, c, 1));
  AOK(verify(s, c, 1390));
  store_close(s);
  ref_free(c);
  st_rmrf(tmp);
  free(tmp);
}

/* ---- damage -------------------------------------------------------------- */

static void flip_root(uint8_t *v, size_t *len) {
  assert_int_equal(*len, 4 + 64);
  v[4 + 32 + 7] ^= 0x20;
}

static void heads_key(const chainref *c, uint8_t *k) {
  memcpy(k, ws_id, 16);
  memcpy(k + 16, c->doc, 16);
  memcpy(k + 32, c->actor, 8);
}

typedef struct readctx {
  const chainref *c;
  uint32_t from, to;
  int rc;
} readctx;

static int count_one(void *ctx, uint32_t seq, const uint8_t *b, size_t l) {
  (void)ctx;
  (void)seq;
  (void)b;
  (void)l;
  return 0;
}

static int read_txn(store_txn *t, void *ctx) {
  readctx *x = ctx;
  x->rc = store_changes_read(t, ws_id, x->c->doc, x->c->actor, x->from, x->to,
                             count_one, NULL);
  return 0;
}

/* The rc of reading changes from..to of c. */
static int read_rc(store *s, const chainref *c, uint32_t from, uint32_t to) {
  readctx x = {c, from, to, 0};
  AOK(store_read(s, read_txn, &x));
  return x.rc;
}

static void damaged_head_root(void **state) {
  (void)state;
  test_rng r;
  rng_init(&r, test_seed("store_chain.damaged_head_root"));
  char *tmp = st_tmpdir();
  store *s = open_store(tmp);
  chainref *c = ref_new(&r, 0x61, 200, 30);
  AOK(append(s, c, 70));
  AOK(append(s, c, 30)); /* head at 100: root R(64), 36 bodies after it */

  /* through the cache: a prev whose root or hash is not the chain's */
  for (int which = 0; which < 2; which++) {
    putctx p;
    memset(&p, 0, sizeof p);
    p.c = c;
    p.prev = stored_pos(s, c);
    (which ? p.prev.hash : p.prev.root)[3] ^= 1;
    p.run.base = c->bytes.p;
    p.run.off = c->off + 100;
    p.run.first = 101;
    p.run.n = 5;
    assert_int_equal(store_write(s, put_txn, &p, NULL), ACCORD_ECORRUPT);
    assert_non_null(strstr(store_errmsg(s), "seq 100"));
    assert_int_equal(read_rc(s, c, 101, 101), ACCORD_ECORRUPT); /* none */
  }
  store_close(s);

  uint8_t k[40];
  heads_key(c, k);
  AOK(store_debug_poke(tmp, "heads", k, sizeof k, flip_root));
  s = open_store(tmp);
  hashchain_pos bad = stored_pos(s, c); /* plausible: seq 100, root != 0 */
  assert_int_equal(bad.seq, 100);
  assert_memory_not_equal(bad.root, c->root[100], 32);
  assert_int_equal(append(s, c, 5), ACCORD_ECORRUPT);
  const char *msg = store_errmsg(s);
  char hex[17];
  for (int i = 0; i < 8; i++) snprintf(hex + 2 * i, 3, "%02x", c->actor[i]);
  if (!strstr(msg, hex) || !strstr(msg, "seq 100") ||
      !strstr(msg, "nothing was written"))
    fail_msg("message: %s", msg);
  /* nothing written: no change 101, the head as it was */
  assert_int_equal(read_rc(s, c, 101, 101), ACCORD_ECORRUPT);
  hashchain_pos still = stored_pos(s, c);
  assert_memory_equal(&still, &bad, sizeof bad);
  /* and verification blames the head */
  verctx v;
  memset(&v, 0, sizeof v);
  v.c = c;
  memcpy(v.h.actor, c->actor, 8);
  store_head_set(&v.h, &bad);
  assert_int_equal(store_read(s, verify_txn, &v), ACCORD_ECORRUPT);
  assert_non_null(strstr(store_errmsg(s), "head"));
  store_close(s);
  ref_free(c);
  st_rmrf(tmp);
  free(tmp);
}

/* A head below the first boundary has a root of zeros: one that does not
 * is refused as soon as it is read. So is a head of the wrong length. */
static void cut_head(uint8_t *v, size_t *len) {
  (void)v;
  *len = 4 + 32; /* schema 2's length */
}

static void implausible_heads(void **state) {
  (void)state;
  test_rng r;
  rng_init(&r, test_seed("store_chain.implausible_heads"));
  char *tmp = st_tmpdir();
  store *s = open_store(tmp);
  chainref *c = ref_new(&r, 0x62, 10, 30);
  AOK(append(s, c, 10));
  store_close(s);
  uint8_t k[40];
  heads_key(c, k);
  AOK(store_debug_poke(tmp, "heads", k, sizeof k, flip_root));
  s = open_store(tmp);
  headctx g;
  memset(&g, 0, sizeof g);
  g.c = c;
  AOK(store_read(s, head_txn, &g));
  assert_int_equal(g.rc, ACCORD_ECORRUPT);
  assert_non_null(strstr(store_errmsg(s), "bad head record"));
  store_close(s);
  AOK(store_debug_poke(tmp, "heads", k, sizeof k, cut_head));
  s = open_store(tmp);
  memset(&g, 0, sizeof g);
  g.c = c;
  AOK(store_read(s, head_txn, &g));
  assert_int_equal(g.rc, ACCORD_ECORRUPT);
  store_close(s);
  ref_free(c);
  st_rmrf(tmp);
  free(tmp);
}

/* A body byte flipped in the stored record of change 7 (the body still
 * decodes: the byte is in its bin payload): verification names change 7.
 * A record's stored hash flipped: verification names that record. */
static void flip_last_byte(uint8_t *v, size_t *len) { v[*len - 1] ^= 0x01; }
static void flip_rec_hash(uint8_t *v, size_t *len) {
  assert_true(*len > 2 + 32);
  v[2 + 5] ^= 0x01; /* plain, one change: format, count, hash */
}

static void damaged_record_found(void **state) {
  (void)state;
  test_rng r;
  rng_init(&r, test_seed("store_chain.damaged_record_found"));
  char *tmp = st_tmpdir();
  store *s = open_store(tmp);
  chainref *a = ref_new(&r, 0x71, 150, 30), *b = ref_new(&r, 0x72, 150, 30);
  for (uint32_t i = 0; i < 150; i++) {
    AOK(append(s, a, 1));
    AOK(append(s, b, 1));
  }
  AOK(verify(s, a, 150));
  AOK(verify(s, b, 150));
  store_close(s);
  /* change 7 of a: a body byte (bodies have at least 7 bytes; make sure
   * its payload is not empty, so the flipped byte is payload) */
  uint8_t k[44];
  heads_key(a, k);
  k[40] = k[41] = k[42] = 0;
  k[43] = 7;
  if (a->off[7] - a->off[6] == 7) k[43] = 8; /* empty payload: use #8 */
  uint32_t hit = k[43];
  AOK(store_debug_poke(tmp, "changes", k, sizeof k, flip_last_byte));
  heads_key(b, k);
  k[40] = k[41] = k[42] = 0;
  k[43] = 99;
  AOK(store_debug_poke(tmp, "changes", k, sizeof k, flip_rec_hash));
  s = open_store(tmp);
  char want[40], hex[17];
  for (int i = 0; i < 8; i++) snprintf(hex + 2 * i, 3, "%02x", a->actor[i]);
  snprintf(want, sizeof want, "%s#%u", hex, hit);
  assert_int_equal(verify(s, a, 150), ACCORD_ECORRUPT);
  if (!strstr(store_errmsg(s), want) ||
      !strstr(store_errmsg(s), "hash mismatch"))
    fail_msg("wanted %s: %s", want, store_errmsg(s));
  for (int i = 0; i < 8; i++) snprintf(hex + 2 * i, 3, "%02x", b->actor[i]);
  snprintf(want, sizeof want, "%s#99", hex);
  assert_int_equal(verify(s, b, 150), ACCORD_ECORRUPT);
  if (!strstr(store_errmsg(s), want))
    fail_msg("wanted %s: %s", want, store_errmsg(s));
  store_close(s);
  ref_free(a);
  ref_free(b);
  st_rmrf(tmp);
  free(tmp);
}

/* ---- a node reloading after snapshot + tail ------------------------------ */

/* The node's own chain of doc, hashed here from its bodies, must be where
 * the node and the store say it is. */
static void assert_node_chain(accord_node *node, accord_doc *doc) {
  ndoc *nd = node_entry(node, doc);
  assert_non_null(nd);
  chain *ch = &doc->chains[0];
  AOK(chain_index(ch));
  chainref *c = calloc(1, sizeof *c);
  assert_non_null(c);
  memcpy(c->doc, doc->id, 16);
  memcpy(c->actor, doc->actor[0], 8);
  assert_true(ch->n <= MAXN);
  c->n = ch->n;
  for (uint32_t s = 1; s <= ch->n; s++) {
    size_t len;
    const uint8_t *p = chain_body(ch, s, &len);
    c->off[s - 1] = (uint32_t)c->bytes.len;
    buf_put(&c->bytes, p, len);
  }
  c->off[ch->n] = (uint32_t)c->bytes.len;
  ref_hash(c);
  assert_at(c, &nd->kpos[0], ch->n);
  assert_int_equal(nd->known[0], ch->n);
  NOK(node, node_check_chains(node, nd->ws, doc->id));
  ref_free(c);
}

/* A document that loaded without bypassing its snapshot: a snapshot whose
 * position did not resume would be bypassed quietly (snap_bad, to be
 * rewritten) and the document loaded from its changes alone. */
static void assert_not_bypassed(accord_node *node, accord_doc *doc) {
  ndoc *nd = node_entry(node, doc);
  assert_non_null(nd);
  assert_int_equal(nd->snap_bad, 0);
}

typedef struct snapctx {
  const uint8_t *ws, *id;
  store_heads vv;
} snapctx;

static int snap_txn(store_txn *t, void *ctx) {
  snapctx *c = ctx;
  return store_snapshot_get(t, c->ws, c->id, NULL, &c->vv);
}

/* The stored snapshot of (ws, id) covers seq of the node's own chain. */
static void assert_snapshot_at(accord_node *node, const uint8_t *ws,
                               const uint8_t *id, uint32_t seq) {
  snapctx c = {ws, id, {0}};
  NOK(node, store_read(node->st, snap_txn, &c));
  const store_head *h = store_heads_find(&c.vv, accord_node_actor(node));
  assert_non_null(h);
  assert_int_equal(h->seq, seq);
  store_heads_free(&c.vv);
}

static void commit_chars(accord_node *node, accord_doc *doc, accord_id text,
                         int n) {
  for (int i = 0; i < n; i++) {
    accord_txn *t;
    NOK(node, accord_node_txn_begin(node, doc, &t));
    AOK(accord_text_splice(t, text, 0, 0, "x", 1));
    NOK(node, accord_node_txn_commit(node, t, NULL));
  }
}

/* Snapshots behind the head at mid-segment seqs (100, then 170), tails
 * past a boundary (128, 192) shorter than the snapshot threshold, so that
 * closing writes no newer snapshot: loading resumes from the snapshot's
 * root (the stored bodies after 64, resp. 128, hashed only). */
static void node_reload_converges(void **state) {
  (void)state;
  char *tmp = st_tmpdir();
  accord_node_opts o;
  memset(&o, 0, sizeof o);
  o.snapshot_changes = 50;
  o.compact_changes = 8;
  accord_node *node = st_open(tmp, &o);
  uint8_t ws[16], id[16];
  accord_doc *doc;
  accord_txn *t;
  accord_id text;
  NOK(node, accord_node_ws_create(node, "w", ws));
  NOK(node, accord_node_doc_create(node, ws, "goal", &doc));
  memcpy(id, accord_doc_id(doc), 16);
  NOK(node, accord_node_txn_begin(node, doc, &t));
  AOK(accord_map_put_object(t, ACCORD_ROOT, "text", ACCORD_TEXT, &text));
  NOK(node, accord_node_txn_commit(node, t, NULL));
  commit_chars(node, doc, text, 99); /* seq 100: mid-segment */
  assert_node_chain(node, doc);
  accord_node_doc_close(node, doc); /* a snapshot at 100 */
  assert_snapshot_at(node, ws, id, 100);

  NOK(node, accord_node_doc_open(node, ws, id, &doc));
  assert_not_bypassed(node, doc);
  assert_node_chain(node, doc);
  commit_chars(node, doc, text, 40); /* the tail crosses 128 */
  assert_node_chain(node, doc);
  char *want = test_json(doc);
  accord_node_close(node);

  /* a new process: loads snapshot + tail, resumes from the store */
  node = st_open(tmp, &o);
  assert_snapshot_at(node, ws, id, 100);
  NOK(node, accord_node_doc_open(node, ws, id, &doc));
  assert_not_bypassed(node, doc);
  char *got = test_json(doc);
  assert_string_equal(want, got);
  assert_node_chain(node, doc);
  commit_chars(node, doc, text, 30);
  assert_node_chain(node, doc);
  accord_maintain_stats ms;
  NOK(node, accord_node_maintain(node, ACCORD_MAINTAIN_ALL, &ms));
  assert_snapshot_at(node, ws, id, 170);
  commit_chars(node, doc, text, 22); /* 192: a boundary */
  char *want2 = test_json(doc);
  accord_node_close(node);

  node = st_open(tmp, &o);
  assert_snapshot_at(node, ws, id, 170);
  NOK(node, accord_node_doc_open(node, ws, id, &doc));
  assert_not_bypassed(node, doc);
  char *got2 = test_json(doc);
  assert_string_equal(want2, got2);
  assert_node_chain(node, doc);
  commit_chars(node, doc, text, 1);
  assert_node_chain(node, doc);
  NOK(node, accord_node_verify(node));
  accord_node_close(node);
  accord_free(want);
  accord_free(got);
  accord_free(want2);
  accord_free(got2);
  st_rmrf(tmp);
  free(tmp);
}

/* Another process extends the chain past a boundary while this one holds
 * it at a mid-segment `known`: the refresh resumes from known's root
 * (hashing the stored bodies after it up to known) and takes the rest. */
static void refresh_resumes(void **state) {
  (void)state;
  char *tmp = st_tmpdir();
  accord_node_opts o;
  memset(&o, 0, sizeof o);
  o.snapshot_changes = 1 << 30;
  o.compact_changes = 1 << 30;
  accord_node *node = st_open(tmp, &o);
  uint8_t ws[16], id[16];
  accord_doc *doc;
  accord_txn *t;
  accord_id text;
  NOK(node, accord_node_ws_create(node, "w", ws));
  NOK(node, accord_node_doc_create(node, ws, "goal", &doc));
  memcpy(id, accord_doc_id(doc), 16);
  NOK(node, accord_node_txn_begin(node, doc, &t));
  AOK(accord_map_put_object(t, ACCORD_ROOT, "text", ACCORD_TEXT, &text));
  NOK(node, accord_node_txn_commit(node, t, NULL));
  commit_chars(node, doc, text, 99); /* known: 100 */
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    accord_node *n2 = NULL;
    accord_doc *d2 = NULL;
    if (accord_node_open(tmp, &o, &n2) ||
        accord_node_doc_open(n2, ws, id, &d2))
      _exit(3);
    for (int i = 0; i < 40; i++) {
      accord_txn *t2;
      if (accord_node_txn_begin(n2, d2, &t2) ||
          accord_text_splice(t2, text, 0, 0, "y", 1) ||
          accord_node_txn_commit(n2, t2, NULL))
        _exit(4);
    }
    accord_node_close(n2);
    _exit(0);
  }
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  commit_chars(node, doc, text, 1); /* begin refreshes to 140 */
  assert_int_equal(doc->chains[0].n, 141);
  assert_node_chain(node, doc);
  char *want = test_json(doc);
  accord_node_close(node);
  node = st_open(tmp, &o);
  NOK(node, accord_node_doc_open(node, ws, id, &doc));
  char *got = test_json(doc);
  assert_string_equal(want, got);
  assert_node_chain(node, doc);
  accord_node_close(node);
  accord_free(want);
  accord_free(got);
  st_rmrf(tmp);
  free(tmp);
}

TEST_MAIN(cmocka_unit_test(runs_cached), cmocka_unit_test(runs_reopened),
          cmocka_unit_test(large_runs_and_compaction),
          cmocka_unit_test(damaged_head_root),
          cmocka_unit_test(implausible_heads),
          cmocka_unit_test(damaged_record_found),
          cmocka_unit_test(node_reload_converges),
          cmocka_unit_test(refresh_resumes))
