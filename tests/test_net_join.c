/*
 * test_net_join.c — joining a workspace with an invite (accord_net_join,
 * net/session.c's JOIN and GENESIS).
 *
 * refused: an invite the member does not know: the member logs the
 * refusal and closes, the joiner's joined callback reports EINVITE once,
 * the joiner holds no workspace, and both loops close clean. A wrong
 * workspace key gets ENET (the member never answers); bad join infos are
 * refused at once; a workspace the node has already is joined at once.
 *
 * joined: the success path with a real invite. A (founder) and C (a
 * member) are connected; A creates an invite carrying its listen address,
 * B parses the token and joins with what it carries: B becomes a member
 * (in A's, B's and — after sync — C's member lists), receives A's
 * documents and converges. The used token is refused to a fourth node D,
 * by A and, once C has synced the membership document, by C. An expired
 * invite is refused.
 */
#include "net_testutil.h"

#include <time.h>

#include "node.h"

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

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Node i (no workspace yet) joins with a parsed invite through addr. */
static accord_net *join_via(tworld *w, int i, const accord_invite *inv,
                            const char *addr, const char *name) {
  accord_join_info ji = {inv->ws, inv->key, inv->secret, addr};
  accord_net_opts o;
  memset(&o, 0, sizeof o);
  o.uv_loop = &w->loop;
  o.listen = "127.0.0.1:0";
  o.no_discovery = 1;
  o.anti_entropy_ms = w->ae_ms;
  o.reconnect_min_ms = 20;
  o.reconnect_max_ms = 200;
  o.poll_ms = 20;
  o.handshake_ms = 3000;
  o.cb.userdata = &w->n[i];
  o.cb.log = tw_log;
  o.cb.peer = tw_peer;
  o.cb.doc_changed = tw_changed;
  o.cb.joined = on_joined;
  accord_net *net;
  joined_calls = 0;
  AOK(accord_net_join(w->n[i].node, &o, &ji, name, NULL, &net));
  assert_true(tw_run(w, join_over, NULL, 20000));
  return net;
}

/* Whether node i lists pk as a current member (ENOTMEMBER: no membership
 * document yet). */
static int lists_member(tworld *w, int i, const uint8_t *pk) {
  accord_member *m;
  size_t n;
  int rc = accord_member_list(w->n[i].node, w->ws, &m, &n);
  if (rc == ACCORD_ENOTMEMBER || rc == ACCORD_ENOTFOUND) return 0;
  AOK(rc);
  int found = 0;
  for (size_t k = 0; k < n; k++)
    if (!memcmp(m[k].public_key, pk, 32) && !m[k].removed) found = 1;
  accord_free(m);
  return found;
}

static int same_01(tworld *w, void *ud) { return tw_same(w, 0, 2); }

static int same_02(tworld *w, void *ud) {
  char *a = tw_state(w, 0), *b = tw_state(w, 2);
  int same = !strcmp(a, b) && strlen(a) > 0;
  free(a);
  free(b);
  return same && lists_member(w, 2, w->n[2].node->pk);
}

/* C (node 1) knows B's membership and the invite used. */
static int c_knows(tworld *w, void *ud) {
  if (!lists_member(w, 1, w->n[2].node->pk)) return 0;
  accord_invite_info *l;
  size_t n;
  AOK(accord_invite_list(w->n[1].node, w->ws, &l, &n));
  int used = 0;
  for (size_t k = 0; k < n; k++)
    if (!memcmp(l[k].id, ud, ACCORD_INVITE_ID_BYTES) && l[k].used) used = 1;
  accord_free(l);
  return used;
}

static void joined(void **state) {
  tworld w;
  tw_init(&w, 2); /* A founds, C is a member */
  for (int i = 2; i < 4; i++) { /* B and D: no workspace */
    w.n[i].w = &w;
    w.n[i].dir = st_tmpdir();
    w.n[i].node = st_open(w.n[i].dir, NULL);
  }
  w.nn = 4;
  accord_doc *d = tw_doc_new(&w, 0, "goal");
  for (int k = 0; k < 10; k++) {
    char key[8];
    snprintf(key, sizeof key, "k%d", k);
    tw_put(&w, 0, d, key, "from A");
  }
  accord_node_doc_close(w.n[0].node, d);
  tw_start(&w, 0);
  tw_start(&w, 1);
  tw_link(&w, 1, 0);
  assert_true(tw_run(&w, same_01, NULL, 20000));

  char addr_a[64];
  snprintf(addr_a, sizeof addr_a, "127.0.0.1:%d", accord_net_port(w.n[0].net));
  const char *addrs[] = {addr_a};
  char *token;
  NOK(w.n[0].node, accord_invite_create(w.n[0].node, w.ws, addrs, 1,
                                        wall_ms() + 600000, &token));
  accord_invite *inv;
  AOK(accord_invite_parse(token, &inv));
  assert_memory_equal(inv->ws, w.ws, ACCORD_WS_ID_BYTES);
  assert_int_equal(inv->naddrs, 1);
  assert_string_equal(inv->addrs[0], addr_a);
  uint8_t inv_id[ACCORD_INVITE_ID_BYTES];
  AOK(accord_invite_id(inv->secret, inv_id));

  /* B joins */
  w.n[2].net = join_via(&w, 2, inv, inv->addrs[0], "bee");
  assert_int_equal(joined_rc, 0);
  assert_true(tw_run(&w, same_02, NULL, 20000));
  assert_true(lists_member(&w, 0, w.n[2].node->pk));
  assert_true(lists_member(&w, 2, w.n[0].node->pk));
  assert_true(tw_logged(&w.n[0], "joined the workspace as \"bee\""));

  /* the used token: refused by A */
  accord_net *dn = join_via(&w, 3, inv, inv->addrs[0], "dee");
  assert_int_equal(joined_rc, ACCORD_EINVITE);
  assert_true(tw_logged(&w.n[0], "invite refused"));
  accord_net_stop(dn);
  /* and by C once it synced the membership document */
  assert_true(tw_run(&w, c_knows, inv_id, 20000));
  char addr_c[64];
  snprintf(addr_c, sizeof addr_c, "127.0.0.1:%d", accord_net_port(w.n[1].net));
  dn = join_via(&w, 3, inv, addr_c, "dee");
  assert_int_equal(joined_rc, ACCORD_EINVITE);
  assert_true(tw_logged(&w.n[1], "invite refused"));
  accord_net_stop(dn);
  assert_false(lists_member(&w, 0, w.n[3].node->pk));
  accord_invite_free(inv);
  accord_free(token);

  /* an expired invite */
  int64_t expires = wall_ms() + 300;
  NOK(w.n[0].node, accord_invite_create(w.n[0].node, w.ws, addrs, 1, expires,
                                        &token));
  AOK(accord_invite_parse(token, &inv));
  while (wall_ms() <= expires + 10) tw_wait(&w, 50);
  w.n[0].nlog = 0;
  dn = join_via(&w, 3, inv, inv->addrs[0], "dee");
  assert_int_equal(joined_rc, ACCORD_EINVITE);
  assert_true(tw_logged(&w.n[0], "invite refused"));
  accord_net_stop(dn);
  accord_invite_free(inv);
  accord_free(token);
  accord_ws_info *l;
  size_t n;
  AOK(accord_node_ws_list(w.n[3].node, &l, &n));
  assert_int_equal(n, 0); /* D joined nothing */
  accord_free(l);
  tw_free(&w);
}

TEST_MAIN(cmocka_unit_test(refused), cmocka_unit_test(joined))
