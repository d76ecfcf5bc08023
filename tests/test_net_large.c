/*
 * test_net_large.c — documents larger than what a receiver gathers (the
 * network's NET_ASM_MAX, 32 MiB, lowered here through net_asm_max so that
 * the limit is reached without writing 32 MiB) travel between verifying
 * nodes: the author cuts its chain into batches, each sealed for its cut
 * (node_net_batch); a relay keeps those seals as checkpoints (seal.c) and
 * cuts the author's chain only there, also after it was closed and
 * reopened (the checkpoints come back from the store's seals records).
 * Each case is
 * bounded by a deadline on the loop and checks that the loop closes clean.
 */
#include "net_testutil.h"

#include "doc.h"

#define ASM_BYTES ((size_t)64 << 10)  /* the lowered gather limit */
#define CP_BYTES ((uint64_t)8 << 10)  /* the lowered checkpoint spacing */

/* Nodes a and b hold the same documents with identical JSON. */
typedef struct pair {
  int a, b;
} pair;
static int pair_same(tworld *w, void *ud) {
  const pair *p = ud;
  char *x = tw_state(w, p->a), *y = tw_state(w, p->b);
  int same = !strcmp(x, y);
  free(x);
  free(y);
  return same;
}

/* The checkpoints node i keeps for author's chain of document id. */
static uint32_t node_cps(tworld *w, int i, const uint8_t *id,
                         const uint8_t *author, uint32_t *seal_seq) {
  accord_doc *d;
  AOK(accord_node_doc_open(w->n[i].node, w->ws, id, &d));
  uint32_t a;
  assert_true(doc_actor_find(d, author, &a));
  uint32_t n = d->chains[a].ncps;
  if (seal_seq) *seal_seq = d->chains[a].seal.seq;
  accord_node_doc_close(w->n[i].node, d);
  return n;
}

static void no_refusal(tworld *w, int i) {
  if (tw_logged(&w->n[i], "refused changes"))
    fail_msg("node %d refused changes", i);
}

/* A writes a document ~15 times the (lowered) limit; fresh member B syncs
 * it from A, C from B only (B relays A's chain, cut at checkpoints), then
 * D from B after B was closed and reopened. */
static void relay_large(void **state) {
  (void)state;
  size_t asm_was = net_asm_max;
  uint64_t cp_was = seal_checkpoint_bytes;
  net_asm_max = ASM_BYTES;
  seal_checkpoint_bytes = CP_BYTES;
  tworld w;
  tw_init(&w, 4);
  accord_doc *a = tw_doc_new(&w, 0, "goal");
  accord_txn *t;
  accord_id text;
  AOK(accord_node_txn_begin(w.n[0].node, a, &t));
  AOK(accord_map_put_object(t, ACCORD_ROOT, "text", ACCORD_TEXT, &text));
  AOK(accord_node_txn_commit(w.n[0].node, t, NULL));
  char chunk[101];
  for (int i = 0; i < 8000; i++) { /* ~1 MB of change bodies */
    memset(chunk, 'a' + i % 26, 100);
    AOK(accord_txn_begin(a, &t));
    AOK(accord_text_splice(t, text, 0, 0, chunk, 100));
    AOK(accord_txn_commit(t, NULL));
  }
  accord_doc_info info;
  AOK(accord_node_doc_info(w.n[0].node, a, &info));
  accord_node_doc_close(w.n[0].node, a); /* stores them in one write */
  const uint8_t *author = accord_node_actor(w.n[0].node);
  /* B writes no snapshot (which would hold its checkpoints too, save.c):
   * after its restart they can only come from the seals records */
  accord_node_opts nosnap;
  memset(&nosnap, 0, sizeof nosnap);
  nosnap.snapshot_changes = UINT32_MAX;
  accord_node_close(w.n[1].node);
  w.n[1].node = st_open(w.n[1].dir, &nosnap);

  tw_start(&w, 0);
  tw_start(&w, 1);
  tw_link(&w, 1, 0);
  pair ab = {0, 1};
  assert_true(tw_run(&w, pair_same, &ab, 60000));
  no_refusal(&w, 1);
  uint32_t sealed, cps = node_cps(&w, 1, info.id, author, &sealed);
  printf("B keeps %u checkpoints, sealed at %u\n", cps, sealed);
  assert_int_equal(sealed, 8001);
  assert_true(cps >= 10);
  tw_stop(&w, 0); /* from here on, A's changes come from B only */

  tw_start(&w, 2);
  tw_link(&w, 2, 1);
  pair bc = {1, 2};
  assert_true(tw_run(&w, pair_same, &bc, 60000));
  no_refusal(&w, 2);
  assert_true(node_cps(&w, 2, info.id, author, &sealed) >= 10);
  assert_int_equal(sealed, 8001);

  /* B closed and reopened: its checkpoints come from the store */
  int port = accord_net_port(w.n[1].net);
  tw_stop(&w, 1);
  accord_node_close(w.n[1].node);
  w.n[1].node = st_open(w.n[1].dir, &nosnap);
  assert_int_equal(node_cps(&w, 1, info.id, author, NULL), cps);
  tw_start_at(&w, 1, port);
  tw_start(&w, 3);
  tw_link(&w, 3, 1);
  pair bd = {1, 3};
  assert_true(tw_run(&w, pair_same, &bd, 60000));
  no_refusal(&w, 3);
  AOK(accord_node_verify(w.n[3].node));
  tw_free(&w);
  net_asm_max = asm_was;
  seal_checkpoint_bytes = cp_was;
}

TEST_MAIN(cmocka_unit_test(relay_large))
