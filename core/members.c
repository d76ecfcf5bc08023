/*
 * members.c — workspace membership (members.h).
 *
 * STEP 0: only the workspace record calls are real; node_member_check
 * accepts every key until the membership system document exists.
 */
#include <string.h>

#include "crypto.h"
#include "members.h"
#include "mem.h"
#include "node.h"

typedef struct wsget {
  const uint8_t *ws;
  uint8_t *key;
  uint8_t *genesis;
  size_t len;
} wsget;

static int ws_get_txn(store_txn *t, void *ctx) {
  wsget *c = ctx;
  store_ws ws;
  int rc = store_ws_get(t, c->ws, &ws);
  if (rc) return rc;
  if (c->key) memcpy(c->key, ws.key, 32);
  if (c->genesis || !c->key) {
    c->genesis = mem_alloc(ws.genesis_len);
    if (!c->genesis) return ACCORD_ENOMEM;
    memcpy(c->genesis, ws.genesis, ws.genesis_len);
    c->len = ws.genesis_len;
  }
  return 0;
}

int node_ws_key(accord_node *node, const uint8_t *ws, uint8_t *key) {
  if (!node || !ws || !key) return ACCORD_EINVAL;
  wsget c = {ws, key, NULL, 0};
  return store_read(node->st, ws_get_txn, &c);
}

int node_ws_genesis(accord_node *node, const uint8_t *ws, uint8_t **out,
                    size_t *len) {
  if (!node || !ws || !out || !len) return ACCORD_EINVAL;
  wsget c = {ws, NULL, NULL, 0};
  int rc = store_read(node->st, ws_get_txn, &c);
  if (rc) {
    mem_free(c.genesis);
    return rc;
  }
  *out = c.genesis;
  *len = c.len;
  return 0;
}

typedef struct wsadopt {
  const store_ws *ws;
} wsadopt;

static int ws_adopt_txn(store_txn *t, void *ctx) {
  const store_ws *ws = ((wsadopt *)ctx)->ws;
  store_ws have;
  int rc = store_ws_get(t, ws->id, &have);
  if (rc == 0) return memcmp(have.key, ws->key, 32) ? ACCORD_EINVAL : 0;
  if (rc != ACCORD_ENOTFOUND) return rc;
  return store_ws_put(t, ws);
}

int node_ws_adopt(accord_node *node, const uint8_t *genesis, size_t len,
                  const uint8_t *key, const uint8_t *expect_id) {
  if (!node || !genesis || !key || !expect_id) return ACCORD_EINVAL;
  uint8_t h[32];
  if (len < GENESIS_MIN || len > GENESIS_MIN + 256 || genesis[0] != 1)
    return ACCORD_EMALFORMED;
  hash_bytes(genesis, len, h);
  if (memcmp(h, expect_id, ACCORD_WS_ID_BYTES)) return ACCORD_EMALFORMED;
  store_ws ws;
  memcpy(ws.id, h, ACCORD_WS_ID_BYTES);
  ws.genesis = genesis;
  ws.genesis_len = len;
  ws.key = key;
  wsadopt c = {&ws};
  store_clear_err(node->st);
  return store_write(node->st, ws_adopt_txn, &c, NULL);
}

int node_member_check(accord_node *node, const uint8_t *ws, const uint8_t *pk) {
  if (!node || !ws || !pk) return ACCORD_EINVAL;
  uint8_t key[32];
  int rc = node_ws_key(node, ws, key);
  crypto_wipe(key, sizeof key);
  return rc ? rc : 1; /* STEP 0: every key */
}

int node_invite_redeem(accord_node *node, const uint8_t *ws,
                       const uint8_t *secret, const uint8_t *joiner_pk,
                       const char *name, const char *role) {
  (void)role;
  if (!node || !ws || !secret || !joiner_pk || !name) return ACCORD_EINVAL;
  return ACCORD_EINVITE; /* STEP 0: no invites yet */
}
