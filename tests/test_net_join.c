/*
 * test_net_join.c — joining a workspace with an invite (accord_net_join,
 * net/session.c's JOIN and GENESIS). With membership still a stub
 * (node_invite_redeem refuses every invite), the refusal path: the member
 * logs the refusal and closes, the joiner's joined callback reports
 * EINVITE once, the joiner holds no workspace, and both loops close
 * clean. A wrong workspace key gets ENET (the member never answers).
 * The success path is tested once invites exist.
 */
#include "net_testutil.h"

static int joined_calls, joined_rc;
static void on_joined(void *ud, int rc) {
  joined_calls++;
  joined_rc = rc;
}
static int join_over(tworld *w, void *ud) { return joined_calls > 0; }

static void try_join(tworld *w, const uint8_t *key, accord_net **net) {
  accord_join_info inv;
  uint8_t secret[32] = {1, 2, 3};
  char addr[64];
  snprintf(addr, sizeof addr, "127.0.0.1:%d", accord_net_port(w->n[0].net));
  inv.workspace = w->ws;
  inv.key = key;
  inv.secret = secret;
  inv.address = addr;
  accord_net_opts o;
  memset(&o, 0, sizeof o);
  o.uv_loop = &w->loop;
  o.handshake_ms = 500;
  o.cb.joined = on_joined;
  o.cb.log = tw_log;
  o.cb.userdata = &w->n[1];
  joined_calls = 0;
  AOK(accord_net_join(w->n[1].node, &o, &inv, "newcomer", NULL, net));
  assert_true(tw_run(w, join_over, NULL, 10000));
  tw_wait(w, 50); /* nothing more is reported */
  assert_int_equal(joined_calls, 1);
}

static void refused(void **state) {
  tworld w;
  memset(&w, 0, sizeof w);
  assert_int_equal(uv_loop_init(&w.loop), 0);
  uv_timer_init(&w.loop, &w.check);
  w.check.data = &w;
  tw_node(&w, 0);
  w.n[1].w = &w;
  w.n[1].dir = st_tmpdir();
  w.n[1].node = st_open(w.n[1].dir, NULL); /* no workspace */
  w.nn = 2;
  tw_start(&w, 0);
  uint8_t key[32];
  AOK(node_ws_key(w.n[0].node, w.ws, key));
  accord_net *jn;
  try_join(&w, key, &jn);
  assert_int_equal(joined_rc, ACCORD_EINVITE);
  assert_true(tw_logged(&w.n[0], "invite refused"));
  accord_ws_info *l;
  size_t n;
  AOK(accord_node_ws_list(w.n[1].node, &l, &n));
  assert_int_equal(n, 0);
  accord_free(l);
  accord_net_stop(jn);
  /* a key the member does not hold: it never answers */
  key[0] ^= 1;
  try_join(&w, key, &jn);
  assert_int_equal(joined_rc, ACCORD_ENET);
  accord_net_stop(jn);
  /* bad invites are refused at once */
  accord_join_info inv = {w.ws, key, key, "nowhere"};
  accord_net_opts o;
  memset(&o, 0, sizeof o);
  o.uv_loop = &w.loop;
  assert_int_equal(accord_net_join(w.n[1].node, &o, &inv, "x", NULL, &jn),
                   ACCORD_EINVAL);
  assert_null(jn);
  inv.address = "127.0.0.1:1";
  assert_int_equal(accord_net_join(w.n[1].node, &o, &inv, "", NULL, &jn),
                   ACCORD_EINVAL);
  /* a workspace the node has already: joined at once, nothing redeemed */
  AOK(node_ws_key(w.n[0].node, w.ws, key));
  o.cb.joined = on_joined;
  joined_calls = 0;
  AOK(accord_net_join(w.n[0].node, &o, &inv, "again", NULL, &jn));
  assert_int_equal(joined_calls, 0); /* not from inside the call */
  assert_true(tw_run(&w, join_over, NULL, 10000));
  assert_int_equal(joined_rc, 0);
  accord_net_stop(jn);
  tw_free(&w);
}

TEST_MAIN(cmocka_unit_test(refused))
