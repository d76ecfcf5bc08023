/*
 * test_peers.c — the peers table (core/store_peers.c) through the node's
 * internal API (core/node_peers.h): addresses kept most recent first,
 * deduplicated and bounded; times only moving forward; summaries; records
 * surviving a reopen; listing order and workspaces kept apart; sightings
 * that only move the time skip the durable write; arguments refused with
 * nothing changed; allocations failing in turn (ENOMEM, the record as it
 * was); and damaged records (every truncation, each broken
 * rule, random byte flips with a printed seed) giving ECORRUPT, never a
 * crash or a half-decoded peer, with forget still able to remove them.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_testutil.h"

#include "mem.h"
#include "node.h"
#include "node_peers.h"
#include "store.h"

typedef struct fx {
  char *tmp, *dir;
  accord_node *node;
  uint8_t ws[16], ws2[16];
  uint8_t pk[4][32];
} fx;

static void fx_open(fx *f) { f->node = st_open(f->dir, NULL); }
static void fx_close(fx *f) {
  accord_node_close(f->node);
  f->node = NULL;
}

static void fx_init(fx *f) {
  memset(f, 0, sizeof *f);
  f->tmp = st_tmpdir();
  f->dir = st_path(f->tmp, "node");
  fx_open(f);
  AOK(accord_node_ws_create(f->node, "team", f->ws));
  AOK(accord_node_ws_create(f->node, "other", f->ws2));
  for (int i = 0; i < 4; i++) {
    uint8_t sk[64];
    AOK(sign_keypair(f->pk[i], sk));
  }
}

static void fx_free(fx *f) {
  fx_close(f);
  st_rmrf(f->tmp);
  free(f->dir);
  free(f->tmp);
}

static node_peer get(fx *f, int i) {
  node_peer p;
  NOK(f->node, node_peer_get(f->node, f->ws, f->pk[i], &p));
  return p;
}

/* ---- the rules ----------------------------------------------------------- */

static void addresses(void **state) {
  (void)state;
  fx f;
  fx_init(&f);
  NOK(f.node, node_peer_seen(f.node, f.ws, f.pk[0], "10.0.0.1:4000", 1000));
  node_peer p = get(&f, 0);
  assert_memory_equal(p.pk, f.pk[0], 32);
  assert_int_equal(p.naddrs, 1);
  assert_string_equal(p.addr[0], "10.0.0.1:4000");
  assert_int_equal(p.last_seen, 1000);
  assert_int_equal(p.last_synced, 0);
  assert_null(p.summary);

  NOK(f.node, node_peer_seen(f.node, f.ws, f.pk[0], "[::1]:4001", 2000));
  NOK(f.node, node_peer_seen(f.node, f.ws, f.pk[0], "laptop.lan:9", 3000));
  /* seen again at the first address: it moves to the front, once */
  NOK(f.node, node_peer_seen(f.node, f.ws, f.pk[0], "10.0.0.1:4000", 4000));
  p = get(&f, 0);
  assert_int_equal(p.naddrs, 3);
  assert_string_equal(p.addr[0], "10.0.0.1:4000");
  assert_string_equal(p.addr[1], "laptop.lan:9");
  assert_string_equal(p.addr[2], "[::1]:4001");
  assert_int_equal(p.last_seen, 4000);

  /* an older sighting does not move last_seen back, but the address it
   * came from is still the latest one heard */
  NOK(f.node, node_peer_seen(f.node, f.ws, f.pk[0], "[::1]:4001", 100));
  p = get(&f, 0);
  assert_int_equal(p.last_seen, 4000);
  assert_string_equal(p.addr[0], "[::1]:4001");
  assert_int_equal(p.naddrs, 3);

  /* bounded: the oldest fall off */
  char a[32];
  for (int i = 0; i < 20; i++) {
    snprintf(a, sizeof a, "192.168.1.%d:%d", i, 5000 + i);
    NOK(f.node,
        node_peer_seen(f.node, f.ws, f.pk[0], a, 5000 + (int64_t)i * 100000));
  }
  p = get(&f, 0);
  assert_int_equal(p.naddrs, STORE_PEER_ADDRS);
  for (uint32_t i = 0; i < p.naddrs; i++) {
    snprintf(a, sizeof a, "192.168.1.%u:%u", 19 - i, 5019 - i);
    assert_string_equal(p.addr[i], a);
  }
  /* no address: only the time */
  NOK(f.node, node_peer_seen(f.node, f.ws, f.pk[0], NULL, 1LL << 40));
  node_peer q = get(&f, 0);
  assert_int_equal(q.last_seen, 1LL << 40);
  assert_int_equal(q.naddrs, STORE_PEER_ADDRS);
  assert_string_equal(q.addr[0], p.addr[0]);
  fx_free(&f);
}

static void synced_summary(void **state) {
  (void)state;
  fx f;
  fx_init(&f);
  static uint8_t sum[STORE_PEER_SUMMARY_MAX];
  for (size_t i = 0; i < sizeof sum; i++) sum[i] = (uint8_t)(i * 31 + 7);
  /* a sync creates the peer, and counts as a sighting */
  NOK(f.node, node_peer_synced(f.node, f.ws, f.pk[1], 5000, sum, 10));
  node_peer p = get(&f, 1);
  assert_int_equal(p.last_synced, 5000);
  assert_int_equal(p.last_seen, 5000);
  assert_int_equal(p.naddrs, 0);
  assert_int_equal(p.summary_len, 10);
  assert_memory_equal(p.summary, sum, 10);
  node_peer_clear(&p);
  assert_null(p.summary);

  NOK(f.node, node_peer_seen(f.node, f.ws, f.pk[1], "h:1", 6000));
  NOK(f.node,
      node_peer_synced(f.node, f.ws, f.pk[1], 7000, sum, sizeof sum));
  /* the biggest summary, and the record survives a reopen */
  fx_close(&f);
  fx_open(&f);
  p = get(&f, 1);
  assert_int_equal(p.last_synced, 7000);
  assert_int_equal(p.last_seen, 7000);
  assert_int_equal(p.naddrs, 1);
  assert_string_equal(p.addr[0], "h:1");
  assert_int_equal(p.summary_len, sizeof sum);
  assert_memory_equal(p.summary, sum, sizeof sum);
  node_peer_clear(&p);
  /* too big: refused, nothing changed */
  assert_int_equal(
      node_peer_synced(f.node, f.ws, f.pk[1], 8000, sum, sizeof sum + 1),
      ACCORD_ETOOBIG);
  /* an empty summary clears it */
  NOK(f.node, node_peer_synced(f.node, f.ws, f.pk[1], 9000, NULL, 0));
  p = get(&f, 1);
  assert_int_equal(p.last_synced, 9000);
  assert_null(p.summary);
  assert_int_equal(p.summary_len, 0);
  node_peer_clear(&p);
  fx_free(&f);
}

static void listing(void **state) {
  (void)state;
  fx f;
  fx_init(&f);
  node_peer *v;
  size_t n;
  NOK(f.node, node_peer_list(f.node, f.ws, &v, &n));
  assert_int_equal(n, 0);
  assert_null(v);
  NOK(f.node, node_peer_seen(f.node, f.ws, f.pk[0], "a:1", 300));
  NOK(f.node, node_peer_seen(f.node, f.ws, f.pk[1], "b:1", 900));
  NOK(f.node, node_peer_seen(f.node, f.ws, f.pk[2], "c:1", 600));
  NOK(f.node, node_peer_seen(f.node, f.ws2, f.pk[3], "d:1", 1000));
  NOK(f.node, node_peer_synced(f.node, f.ws2, f.pk[0], 50, NULL, 0));
  NOK(f.node, node_peer_list(f.node, f.ws, &v, &n));
  assert_int_equal(n, 3);
  assert_memory_equal(v[0].pk, f.pk[1], 32); /* most recently seen first */
  assert_memory_equal(v[1].pk, f.pk[2], 32);
  assert_memory_equal(v[2].pk, f.pk[0], 32);
  assert_string_equal(v[1].addr[0], "c:1");
  node_peer_list_free(v, n);
  NOK(f.node, node_peer_list(f.node, f.ws2, &v, &n));
  assert_int_equal(n, 2);
  assert_memory_equal(v[0].pk, f.pk[3], 32);
  assert_memory_equal(v[1].pk, f.pk[0], 32);
  assert_int_equal(v[1].naddrs, 0);
  node_peer_list_free(v, n);

  NOK(f.node, node_peer_forget(f.node, f.ws, f.pk[1]));
  assert_int_equal(node_peer_forget(f.node, f.ws, f.pk[1]), ACCORD_ENOTFOUND);
  node_peer p;
  assert_int_equal(node_peer_get(f.node, f.ws, f.pk[1], &p),
                   ACCORD_ENOTFOUND);
  NOK(f.node, node_peer_list(f.node, f.ws, &v, &n));
  assert_int_equal(n, 2);
  node_peer_list_free(v, n);
  /* the same key in the other workspace is another record */
  NOK(f.node, node_peer_get(f.node, f.ws2, f.pk[0], &p));
  node_peer_clear(&p);

  /* every allocation failing in turn: ENOMEM or success, no leak */
  for (long k = 1; k < 20; k++) {
    mem_fail_after(k);
    int rc = node_peer_list(f.node, f.ws, &v, &n);
    mem_fail_after(0);
    if (rc == 0) {
      assert_int_equal(n, 2);
      node_peer_list_free(v, n);
      break;
    }
    assert_int_equal(rc, ACCORD_ENOMEM);
    assert_null(v);
  }
  fx_free(&f);
}

/* A sighting that only moves the time by less than NODE_PEER_SEEN_MS
 * writes nothing; a new address or a later time does. */
static void seen_write_skipped(void **state) {
  (void)state;
  fx f;
  fx_init(&f);
  store *st = f.node->st;
  NOK(f.node, node_peer_seen(f.node, f.ws, f.pk[0], "a:1", 1000));
  uint64_t c0 = store_counter(st);
  NOK(f.node, node_peer_seen(f.node, f.ws, f.pk[0], "a:1", 2000));
  NOK(f.node, node_peer_seen(f.node, f.ws, f.pk[0], NULL, 3000));
  assert_int_equal(store_counter(st), c0);
  assert_int_equal(get(&f, 0).last_seen, 1000);
  NOK(f.node, node_peer_seen(f.node, f.ws, f.pk[0], "b:1", 3000));
  assert_true(store_counter(st) > c0);
  c0 = store_counter(st);
  NOK(f.node,
      node_peer_seen(f.node, f.ws, f.pk[0], "b:1", 3000 + NODE_PEER_SEEN_MS));
  assert_true(store_counter(st) > c0);
  assert_int_equal(get(&f, 0).last_seen, 3000 + NODE_PEER_SEEN_MS);
  fx_free(&f);
}

static void refused(void **state) {
  (void)state;
  fx f;
  fx_init(&f);
  NOK(f.node, node_peer_seen(f.node, f.ws, f.pk[0], "a:1", 1000));
  uint64_t c0 = store_counter(f.node->st);
  static const char *bad[] = {
      "",          "a",           ":1",        "a:",        "a:0",
      "a:65536",   "a:123456",    "a:1x",      "a b:1",     "a:-1",
      "h\x7f:1",   "h\xc3\xa9:1", "a:\t1",     "host",      "a:99999",
      "a:01",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    printf("address \"%s\"\n", bad[i]);
    assert_int_equal(node_peer_seen(f.node, f.ws, f.pk[0], bad[i], 2000),
                     ACCORD_EINVAL);
  }
  char longa[STORE_PEER_ADDR_MAX + 2];
  memset(longa, 'h', sizeof longa);
  memcpy(longa + STORE_PEER_ADDR_MAX - 2, ":1", 3); /* 255 bytes: fine */
  NOK(f.node, node_peer_seen(f.node, f.ws, f.pk[0], longa, 1000));
  memset(longa, 'h', sizeof longa);
  memcpy(longa + STORE_PEER_ADDR_MAX - 1, ":1", 3); /* 256: too long */
  assert_int_equal(node_peer_seen(f.node, f.ws, f.pk[0], longa, 2000),
                   ACCORD_EINVAL);
  c0 = store_counter(f.node->st);
  assert_int_equal(
      node_peer_seen(f.node, f.ws, accord_node_public_key(f.node), "a:1", 1),
      ACCORD_EINVAL);
  assert_int_equal(node_peer_seen(f.node, f.ws, f.pk[0], "a:1", -1),
                   ACCORD_EINVAL);
  assert_int_equal(node_peer_seen(f.node, NULL, f.pk[0], "a:1", 1),
                   ACCORD_EINVAL);
  assert_int_equal(node_peer_seen(f.node, f.ws, NULL, "a:1", 1),
                   ACCORD_EINVAL);
  assert_int_equal(node_peer_synced(f.node, f.ws, f.pk[0], 1, NULL, 3),
                   ACCORD_EINVAL);
  uint8_t nows[16] = {1, 2, 3};
  assert_int_equal(node_peer_seen(f.node, nows, f.pk[0], "a:1", 1),
                   ACCORD_ENOTFOUND);
  assert_int_equal(node_peer_synced(f.node, nows, f.pk[0], 1, NULL, 0),
                   ACCORD_ENOTFOUND);
  assert_int_equal(store_counter(f.node->st), c0); /* nothing written */
  node_peer p = get(&f, 0);
  assert_int_equal(p.naddrs, 2);
  assert_int_equal(p.last_seen, 1000);
  node_peer *v;
  size_t n;
  assert_int_equal(node_peer_list(f.node, NULL, &v, &n), ACCORD_EINVAL);
  fx_free(&f);
}

/* Every allocation failing in turn: ENOMEM and the record as it was, or
 * success. */
static void alloc_failures(void **state) {
  (void)state;
  fx f;
  fx_init(&f);
  NOK(f.node, node_peer_synced(f.node, f.ws, f.pk[0], 1000,
                               (const uint8_t *)"old", 3));
  int failed = 0;
  for (long k = 1; k < 50; k++) {
    mem_fail_after(k);
    int rc = node_peer_synced(f.node, f.ws, f.pk[0], 2000,
                              (const uint8_t *)"newer", 5);
    mem_fail_after(0);
    node_peer p = get(&f, 0);
    if (rc == 0) {
      assert_int_equal(p.last_synced, 2000);
      assert_int_equal(p.summary_len, 5);
      node_peer_clear(&p);
      break;
    }
    failed++;
    assert_int_equal(rc, ACCORD_ENOMEM);
    assert_int_equal(p.last_synced, 1000);
    assert_int_equal(p.summary_len, 3);
    assert_memory_equal(p.summary, "old", 3);
    node_peer_clear(&p);
  }
  assert_true(failed > 0);
  for (long k = 1; k < 50; k++) {
    node_peer p;
    mem_fail_after(k);
    int rc = node_peer_get(f.node, f.ws, f.pk[0], &p);
    mem_fail_after(0);
    if (rc == 0) {
      node_peer_clear(&p);
      break;
    }
    assert_int_equal(rc, ACCORD_ENOMEM);
    assert_null(p.summary);
  }
  fx_free(&f);
}

/* ---- damaged records ----------------------------------------------------- */

/* The poke callback's instructions (store_debug_poke takes no context). */
static size_t poke_len;          /* cut the record to this many bytes */
static size_t poke_at;           /* then xor poke_x into byte poke_at */
static uint8_t poke_x;
static uint8_t saved[1024];      /* the record as it was */
static size_t saved_len;

static void poke_fn(uint8_t *v, size_t *len) {
  memcpy(saved, v, *len < sizeof saved ? *len : sizeof saved);
  saved_len = *len;
  if (poke_len < *len) *len = poke_len;
  if (poke_at < *len) v[poke_at] ^= poke_x;
}

static void read_back(uint8_t *v, size_t *len) {
  memcpy(saved, v, *len < sizeof saved ? *len : sizeof saved);
  saved_len = *len;
}

/* A record of pk[0] with two addresses (one byte apart) and a summary. */
static void write_record(fx *f) {
  NOK(f->node, node_peer_seen(f->node, f->ws, f->pk[0], "a.lan:10", 1000));
  NOK(f->node, node_peer_seen(f->node, f->ws, f->pk[0], "a.lan:11", 2000));
  NOK(f->node,
      node_peer_synced(f->node, f->ws, f->pk[0], 3000, (const uint8_t *)"xyz",
                       3));
}

/* Damages the record (closed node), reopens, and checks: get either fails
 * with ECORRUPT or returns a record that obeys every rule; on ECORRUPT,
 * list and updates fail too and change nothing; forget removes it.
 * Returns 1 if it was ECORRUPT. */
static int damaged(fx *f, size_t len, size_t at, uint8_t x) {
  uint8_t key[48];
  memcpy(key, f->ws, 16);
  memcpy(key + 16, f->pk[0], 32);
  fx_close(f);
  poke_len = len;
  poke_at = at;
  poke_x = x;
  AOK(store_debug_poke(f->dir, "peers", key, sizeof key, poke_fn));
  fx_open(f);
  node_peer p;
  int rc = node_peer_get(f->node, f->ws, f->pk[0], &p);
  if (rc == 0) { /* the damage left a valid record: it must obey the rules */
    assert_true(p.naddrs <= STORE_PEER_ADDRS);
    for (uint32_t i = 0; i < p.naddrs; i++)
      assert_true(store_peer_addr_ok(p.addr[i], strlen(p.addr[i])));
    assert_true(p.last_seen >= 0 && p.last_synced >= 0);
    assert_true(p.summary_len <= STORE_PEER_SUMMARY_MAX);
    node_peer_clear(&p);
    NOK(f->node, node_peer_forget(f->node, f->ws, f->pk[0]));
    write_record(f);
    return 0;
  }
  assert_int_equal(rc, ACCORD_ECORRUPT);
  assert_non_null(strstr(accord_node_errmsg(f->node), "peer"));
  node_peer *v = NULL;
  size_t n = 9;
  assert_int_equal(node_peer_list(f->node, f->ws, &v, &n), ACCORD_ECORRUPT);
  assert_null(v);
  assert_int_equal(n, 0);
  assert_int_equal(node_peer_seen(f->node, f->ws, f->pk[0], "c:1", 1 << 30),
                   ACCORD_ECORRUPT);
  assert_int_equal(node_peer_synced(f->node, f->ws, f->pk[0], 1 << 30, NULL,
                                    0),
                   ACCORD_ECORRUPT);
  /* the damaged bytes are still as they were */
  fx_close(f);
  uint8_t before[1024];
  size_t blen = saved_len < len ? saved_len : len;
  memcpy(before, saved, saved_len);
  if (at < blen) before[at] ^= x;
  AOK(store_debug_poke(f->dir, "peers", key, sizeof key, read_back));
  assert_int_equal(saved_len, blen);
  assert_memory_equal(saved, before, blen);
  fx_open(f);
  /* other peers still list once it is gone */
  NOK(f->node, node_peer_forget(f->node, f->ws, f->pk[0]));
  NOK(f->node, node_peer_list(f->node, f->ws, &v, &n));
  node_peer_list_free(v, n);
  write_record(f);
  return 1;
}

/* Every truncation and each broken rule. The record's layout: version
 * (byte 0), last seen (1..8), last synced (9..16), n = 2 (17), then the
 * most recent address first: 8 (18) "a.lan:11" (19..26), 8 (27)
 * "a.lan:10" (28..35), summary length 3 (36..39), "xyz" (40..42). */
static void corrupt_records(void **state) {
  (void)state;
  fx f;
  fx_init(&f);
  write_record(&f);
  NOK(f.node, node_peer_seen(f.node, f.ws, f.pk[1], "other:1", 1));
  const size_t full = 43;
  /* untouched: fine, and the layout above is right */
  assert_int_equal(damaged(&f, full, full, 0), 0);
  static const uint8_t golden[43] = {
      1,                                   /* version */
      0, 0, 0, 0, 0, 0, 0x0b, 0xb8,        /* last seen 3000 */
      0, 0, 0, 0, 0, 0, 0x0b, 0xb8,        /* last synced 3000 */
      2,                                   /* addresses */
      8, 'a', '.', 'l', 'a', 'n', ':', '1', '1',
      8, 'a', '.', 'l', 'a', 'n', ':', '1', '0',
      0, 0, 0, 3, 'x', 'y', 'z'};          /* summary */
  assert_int_equal(saved_len, full);
  assert_memory_equal(saved, golden, full);
  for (size_t len = 0; len < full; len++)
    assert_int_equal(damaged(&f, len, full, 0), 1);
  assert_int_equal(damaged(&f, full, 0, 0x03), 1);  /* version 2 */
  assert_int_equal(damaged(&f, full, 1, 0x80), 1);  /* last seen < 0 */
  assert_int_equal(damaged(&f, full, 9, 0x80), 1);  /* last synced < 0 */
  assert_int_equal(damaged(&f, full, 17, 0x08), 1); /* n = 10 > 8 */
  assert_int_equal(damaged(&f, full, 17, 0x01), 1); /* n = 3 */
  assert_int_equal(damaged(&f, full, 17, 0x03), 1); /* n = 1 */
  assert_int_equal(damaged(&f, full, 18, 0x80), 1); /* length past end */
  assert_int_equal(damaged(&f, full, 18, 0x0f), 1); /* length 7 */
  assert_int_equal(damaged(&f, full, 20, 0x0e), 1); /* "a lan:11" */
  assert_int_equal(damaged(&f, full, 26, 0x01), 1); /* a repeat */
  assert_int_equal(damaged(&f, full, 25, 0x01), 1); /* port "01" */
  assert_int_equal(damaged(&f, full, 24, 0x0c), 1); /* "a.lan611" */
  assert_int_equal(damaged(&f, full, 36, 0x01), 1); /* summary length */
  assert_int_equal(damaged(&f, full, 39, 0x01), 1); /* summary length */
  /* a change that keeps every rule is not damage the store can see */
  assert_int_equal(damaged(&f, full, 41, 0x01), 0);
  fx_free(&f);
}

/* Random byte flips: each gives ECORRUPT or a record that obeys the
 * rules. */
static void corrupt_random(void **state) {
  (void)state;
  fx f;
  fx_init(&f);
  write_record(&f);
  test_rng r;
  rng_init(&r, test_seed("corrupt_random"));
  long rounds = test_scale(60), bad = 0;
  for (long i = 0; i < rounds; i++) {
    size_t at = (size_t)rng_below(&r, 43);
    uint8_t x = (uint8_t)(1 + rng_below(&r, 255));
    bad += damaged(&f, 43, at, x);
  }
  printf("%ld of %ld flips were refused\n", bad, rounds);
  assert_true(bad > 0);
  fx_free(&f);
}

/* accord_node_peers: the public listing copies what the table holds (keys,
 * addresses most recent first, times) into one buffer, most recently seen
 * first, and keeps workspaces apart. */
static void public_listing(void **state) {
  (void)state;
  fx f;
  fx_init(&f);
  accord_peer_info *v = NULL;
  size_t n = 99;
  AOK(accord_node_peers(f.node, f.ws, &v, &n));
  assert_int_equal(n, 0);
  assert_null(v);
  NOK(f.node, node_peer_seen(f.node, f.ws, f.pk[0], "10.0.0.1:7700", 1000));
  NOK(f.node, node_peer_seen(f.node, f.ws, f.pk[0], "[::1]:7701", 2000));
  NOK(f.node, node_peer_seen(f.node, f.ws, f.pk[1], NULL, 5000));
  NOK(f.node, node_peer_synced(f.node, f.ws, f.pk[0], 3000,
                               (const uint8_t *)"sum", 3));
  NOK(f.node, node_peer_seen(f.node, f.ws2, f.pk[2], "10.0.0.9:1", 9000));
  AOK(accord_node_peers(f.node, f.ws, &v, &n));
  assert_int_equal(n, 2);
  assert_memory_equal(v[0].public_key, f.pk[1], 32);
  assert_int_equal(v[0].naddrs, 0);
  assert_null(v[0].addrs);
  assert_int_equal(v[0].last_seen, 5000);
  assert_int_equal(v[0].last_synced, 0);
  assert_memory_equal(v[1].public_key, f.pk[0], 32);
  assert_int_equal(v[1].naddrs, 2);
  assert_string_equal(v[1].addrs[0], "[::1]:7701");
  assert_string_equal(v[1].addrs[1], "10.0.0.1:7700");
  assert_int_equal(v[1].last_seen, 3000);
  assert_int_equal(v[1].last_synced, 3000);
  accord_free(v);
  AOK(accord_node_peers(f.node, f.ws2, &v, &n));
  assert_int_equal(n, 1);
  assert_memory_equal(v[0].public_key, f.pk[2], 32);
  assert_string_equal(v[0].addrs[0], "10.0.0.9:1");
  accord_free(v);
  assert_int_equal(accord_node_peers(f.node, NULL, &v, &n), ACCORD_EINVAL);
  assert_null(v);
  assert_int_equal(n, 0);
  assert_int_equal(accord_node_peers(f.node, f.ws, NULL, &n), ACCORD_EINVAL);
  fx_free(&f);
}

TEST_MAIN(cmocka_unit_test(addresses), cmocka_unit_test(synced_summary),
          cmocka_unit_test(listing), cmocka_unit_test(seen_write_skipped),
          cmocka_unit_test(refused), cmocka_unit_test(alloc_failures),
          cmocka_unit_test(corrupt_records),
          cmocka_unit_test(corrupt_random),
          cmocka_unit_test(public_listing))
