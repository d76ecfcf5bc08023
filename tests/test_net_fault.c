/*
 * test_net_fault.c — two nodes syncing through the fault-injecting proxy
 * (netproxy.h) between them: node 1 dials node 0 through the proxy only.
 *
 * faults: while the proxy drops, delays, duplicates, truncates and
 * corrupts bytes and cuts connections in both directions (seeded: the
 * seed is printed, ACCORD_SEED replays the fault decisions), both nodes
 * keep editing. Tampering is detected: connections close with a logged
 * reason (counted by net_testutil's tw_is_tamper), nothing tampered is
 * stored (the nodes' documents stay readable, and the proxy did corrupt,
 * truncate, drop, duplicate and cut), and the nodes reconnect. Once the
 * proxy turns clean they converge (identical JSON), and the loop closes
 * with nothing left open (ASan: no leak).
 */
#include "net_testutil.h"
#include "netproxy.h"

static void px_log(void *ud, const char *line) {
  if (getenv("ACCORD_TEST_VERBOSE")) printf("[proxy] %s\n", line);
}

static int reconnected(tworld *w, void *ud) {
  return w->n[1].up > 0 && tw_same(w, 0, 2);
}

static void faults(void **state) {
  uint64_t seed = test_seed("net fault proxy");
  test_rng r;
  rng_init(&r, seed);
  tworld w;
  tw_init(&w, 2);
  tw_start(&w, 0);
  tw_start(&w, 1);
  struct sockaddr_in target;
  uv_ip4_addr("127.0.0.1", accord_net_port(w.n[0].net), &target);
  netproxy *px;
  assert_int_equal(netproxy_start(&w.loop, (struct sockaddr *)&target, seed,
                                   px_log, NULL, &px),
                   0);
  char addr[64];
  snprintf(addr, sizeof addr, "127.0.0.1:%d", netproxy_port(px));
  AOK(accord_net_add_peer(w.n[1].net, addr));

  accord_doc *d[2];
  for (int i = 0; i < 2; i++) d[i] = tw_doc_new(&w, i, "goal");
  tw_put(&w, 0, d[0], "start", "a");
  tw_put(&w, 1, d[1], "start", "b");
  assert_true(tw_run(&w, tw_all_same, NULL, 20000)); /* clean at first */

  np_faults f = {.drop = 20, .delay = 100, .dup = 20, .truncate = 20,
                 .corrupt = 40, .cut = 10, .delay_ms = 20};
  netproxy_set(px, NP_UP, &f);
  netproxy_set(px, NP_DOWN, &f);
  /* edit on both sides while the link misbehaves, until every kind of
   * fault happened and a tampered connection was closed (bounded) */
  int round = 0;
  for (;; round++) {
    const np_stats *u = netproxy_stats(px, NP_UP), *dn = netproxy_stats(px, NP_DOWN);
    int all = u->corrupted + dn->corrupted > 0 &&
              u->truncated + dn->truncated > 0 &&
              u->dropped + dn->dropped > 0 &&
              u->duplicated + dn->duplicated > 0 &&
              u->delayed + dn->delayed > 0 && u->cuts + dn->cuts > 0;
    if (round >= 40 && all && w.n[0].tampered + w.n[1].tampered > 0) break;
    if (round > 4000)
      fail_msg("faults did not all happen: corrupted %llu truncated %llu "
               "dropped %llu duplicated %llu cuts %llu, tampered %d",
               (unsigned long long)(u->corrupted + dn->corrupted),
               (unsigned long long)(u->truncated + dn->truncated),
               (unsigned long long)(u->dropped + dn->dropped),
               (unsigned long long)(u->duplicated + dn->duplicated),
               (unsigned long long)(u->cuts + dn->cuts),
               w.n[0].tampered + w.n[1].tampered);
    int i = (int)rng_below(&r, 2);
    char k[16], v[32];
    snprintf(k, sizeof k, "k%u", (unsigned)rng_below(&r, 50));
    snprintf(v, sizeof v, "%d-%d", i, round);
    tw_put(&w, i, d[i], k, v);
    tw_wait(&w, 1 + rng_below(&r, 20));
  }
  for (int dir = 0; dir < 2; dir++) {
    const np_stats *s = netproxy_stats(px, dir);
    printf("%s: chunks %llu dropped %llu delayed %llu duplicated %llu "
           "truncated %llu corrupted %llu cuts %llu\n",
           dir == NP_UP ? "up" : "down", (unsigned long long)s->chunks,
           (unsigned long long)s->dropped, (unsigned long long)s->delayed,
           (unsigned long long)s->duplicated,
           (unsigned long long)s->truncated, (unsigned long long)s->corrupted,
           (unsigned long long)s->cuts);
  }
  printf("rounds %d, tampering detected %d + %d, connections %llu\n", round,
         w.n[0].tampered, w.n[1].tampered,
         (unsigned long long)netproxy_stats(px, NP_UP)->accepted);
  assert_true(netproxy_stats(px, NP_UP)->accepted > 1); /* reconnected */

  netproxy_clean(px);
  tw_put(&w, 0, d[0], "end", "a");
  tw_put(&w, 1, d[1], "end", "b");
  assert_true(tw_run(&w, reconnected, NULL, 60000));
  for (int i = 0; i < 2; i++) accord_node_doc_close(w.n[i].node, d[i]);
  netproxy_close(px);
  tw_free(&w);
}

TEST_MAIN(cmocka_unit_test(faults))
