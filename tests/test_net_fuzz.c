/*
 * test_net_fuzz.c — the session's message decoders (net/session.c) under
 * random inputs: valid messages of every type (summary, version vector,
 * changes with a real batch, join request, genesis record) mutated at
 * random (bytes flipped, cut short, bytes inserted, fields swapped) and
 * plain random bytes, each fed to a fresh session of a running node. No
 * input may crash or leak (ASan), and the node must still serve a member
 * afterwards. Randomised: the seed is printed (ACCORD_SEED replays it).
 * libFuzzer targets live in tests/fuzz/; this runs in every ctest.
 */
#include "net_testutil.h"

#include "mp.h"

static void add(buf *seeds, size_t *off, size_t *n, buf *m) {
  off[*n] = seeds->len;
  buf_put(seeds, m->p, m->len);
  (*n)++;
  off[*n] = seeds->len;
  buf_free(m);
}

static void random_messages(void **state) {
  uint64_t seed = test_seed("random_messages");
  test_rng rng;
  rng_init(&rng, seed);
  tworld w;
  tw_init(&w, 2);
  accord_doc *d = tw_doc_new(&w, 0, "goal");
  tw_put(&w, 0, d, "k", "v");
  uint8_t *batch;
  size_t blen;
  AOK(accord_doc_changes_since(d, NULL, 0, &batch, &blen));
  accord_doc_info info;
  AOK(accord_node_doc_info(w.n[0].node, d, &info));
  accord_node_doc_close(w.n[0].node, d);
  tw_start(&w, 0);

  /* seeds: one valid message of each type */
  buf seeds = {0}, m = {0};
  size_t off[8], n = 0;
  uint8_t dg[16] = {0}, secret[32] = {0};
  mp_put_array(&m, 4);
  mp_put_uint(&m, 1);
  mp_put_bin(&m, w.ws, 16);
  mp_put_uint(&m, 3);
  mp_put_array(&m, 1);
  mp_put_array(&m, 5);
  mp_put_bin(&m, info.id, 16);
  mp_put_str(&m, "goal", 4);
  mp_put_bin(&m, info.creator, 8);
  mp_put_int(&m, info.created);
  mp_put_bin(&m, dg, 16);
  add(&seeds, off, &n, &m);
  mp_put_array(&m, 4);
  mp_put_uint(&m, 2);
  mp_put_bin(&m, info.id, 16);
  mp_put_array(&m, 1);
  mp_put_array(&m, 2);
  mp_put_bin(&m, info.creator, 8);
  mp_put_uint(&m, 0);
  mp_put_uint(&m, 1);
  add(&seeds, off, &n, &m);
  for (int piece = 0; piece < 2; piece++) {
    mp_put_array(&m, 8);
    mp_put_uint(&m, 3);
    mp_put_bin(&m, info.id, 16);
    mp_put_str(&m, "goal", 4);
    mp_put_bin(&m, info.creator, 8);
    mp_put_int(&m, info.created);
    mp_put_uint(&m, piece ? 2 : 1);
    mp_put_uint(&m, 0);
    mp_put_bin(&m, batch, blen);
    add(&seeds, off, &n, &m);
  }
  mp_put_array(&m, 4);
  mp_put_uint(&m, 5);
  mp_put_bin(&m, secret, 32);
  mp_put_str(&m, "eve", 3);
  mp_put_nil(&m);
  add(&seeds, off, &n, &m);
  mp_put_array(&m, 2);
  mp_put_uint(&m, 6);
  mp_put_bin(&m, secret, 32);
  add(&seeds, off, &n, &m);
  accord_free(batch);

  long iters = test_scale(3000), refused = 0, taken = 0;
  uint8_t msg[4096];
  for (long it = 0; it < iters; it++) {
    size_t len;
    size_t k = (size_t)rng_below(&rng, n + 1);
    if (k == n) { /* plain random bytes */
      len = (size_t)rng_below(&rng, 64);
      for (size_t i = 0; i < len; i++) msg[i] = (uint8_t)rng_next(&rng);
    } else {
      len = off[k + 1] - off[k];
      assert_true(len < sizeof msg - 64);
      memcpy(msg, seeds.p + off[k], len);
      int muts = 1 + (int)rng_below(&rng, 4);
      for (int j = 0; j < muts && len; j++) {
        size_t at = (size_t)rng_below(&rng, len);
        switch (rng_below(&rng, 5)) {
        case 0: msg[at] ^= (uint8_t)(1u << rng_below(&rng, 8)); break;
        case 1: msg[at] = (uint8_t)rng_next(&rng); break;
        case 2: len = at; break; /* cut short */
        case 3: /* insert a byte */
          memmove(msg + at + 1, msg + at, len - at);
          msg[at] = (uint8_t)rng_next(&rng);
          len++;
          break;
        default: /* interesting values */
          msg[at] = (uint8_t[]){0x00, 0x7f, 0x80, 0xc0, 0xc4, 0xcc, 0xce,
                                0xdc, 0xdd, 0xff}[rng_below(&rng, 10)];
        }
      }
    }
    peer p;
    memset(&p, 0, sizeof p);
    p.magic = PEER_MAGIC;
    p.net = w.n[0].net;
    p.w = &w.n[0].net->ws[0];
    p.open = 1;
    p.stranger = (int)rng_below(&rng, 4) == 0;
    snprintf(p.name, sizeof p.name, "fuzz");
    session_message(&p, msg, len);
    if (!p.closing && rng_below(&rng, 2)) /* a second message */
      session_message(&p, msg, len);
    if (p.closing) refused++;
    else taken++;
    session_free(&p);
  }
  buf_free(&seeds);
  printf("%ld refused, %ld taken\n", refused, taken);
  /* both kinds happened: the inputs reached the decoders */
  assert_true(refused > iters / 4);
  assert_true(taken > 0);
  /* the node still serves */
  tw_start(&w, 1);
  tw_link(&w, 1, 0);
  assert_true(tw_run(&w, tw_all_same, NULL, 10000));
  tw_free(&w);
}

TEST_MAIN(cmocka_unit_test(random_messages))
