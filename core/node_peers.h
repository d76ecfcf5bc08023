/*
 * node_peers.h — the peers a node remembers, per workspace: internal API
 * for the network layer (net/), over the store's peers table (store.h,
 * core/store_peers.c).
 *
 * A peer is another member's public key with the addresses it was reached
 * or announced at (most recent first, at most STORE_PEER_ADDRS, "host:port"
 * text), when it was last seen and last synced (ms since the epoch, 0:
 * never; the caller passes the clock, so tests need none), and an opaque
 * summary the sync layer stores after a sync (what the peer had), at most
 * STORE_PEER_SUMMARY_MAX bytes.
 *
 * Each call is one store transaction on the node's thread. A write is
 * durable (one fsync in the default mode), so node_peer_seen skips it when
 * nothing but the time moved, by less than NODE_PEER_SEEN_MS: a peer heard
 * from every few seconds (beacons, anti-entropy) costs a write a minute,
 * not one per message.
 *
 * A stored record that fails to decode gives ECORRUPT (with a sentence in
 * accord_node_errmsg) from get, list, seen and synced, and nothing is
 * returned or changed; node_peer_forget removes it whatever its state.
 */
#ifndef ACCORD_NODE_PEERS_H
#define ACCORD_NODE_PEERS_H

#include <stddef.h>
#include <stdint.h>

#include "accord.h"
#include "store.h"

#define NODE_PEER_SEEN_MS 60000

/* A peer, copied out of the store: the caller owns it (node_peer_clear). */
typedef struct node_peer {
  uint8_t pk[32];
  uint32_t naddrs;
  /* NUL-terminated, most recent first */
  char addr[STORE_PEER_ADDRS][STORE_PEER_ADDR_MAX + 1];
  int64_t last_seen, last_synced;
  uint8_t *summary; /* summary_len bytes, or NULL */
  size_t summary_len;
} node_peer;

/* Records that the member with public key pk (32 bytes) of workspace ws
 * (16 bytes) was seen now (ms), at addr ("host:port", NUL-terminated;
 * NULL: no address, e.g. a peer that connected to us from an ephemeral
 * port). addr moves to the front of the peer's addresses (the oldest falls
 * off past STORE_PEER_ADDRS); last_seen becomes max(last_seen, now). The
 * first sighting creates the peer. Errors: EINVAL (NULL ws or pk, a
 * malformed addr, now < 0, pk is this node's own key), ENOTFOUND (no such
 * workspace), ECORRUPT, EFULL, ESTORE, ENOMEM. */
int node_peer_seen(accord_node *node, const uint8_t *ws, const uint8_t *pk,
                   const char *addr, int64_t now);

/* Records a finished sync with pk at now (ms): last_synced = now (and
 * last_seen at least now) and the summary replaced by summary[0..len)
 * (copied; len 0: none). Creates the peer if needed. Errors: EINVAL (as
 * above), ETOOBIG (len > STORE_PEER_SUMMARY_MAX), ENOTFOUND, ECORRUPT,
 * EFULL, ESTORE, ENOMEM. */
int node_peer_synced(accord_node *node, const uint8_t *ws, const uint8_t *pk,
                     int64_t now, const uint8_t *summary, size_t len);

/* The peer pk of ws into *out (cleared first; free with node_peer_clear).
 * Errors: EINVAL, ENOTFOUND (no such peer), ECORRUPT, ESTORE, ENOMEM. */
int node_peer_get(accord_node *node, const uint8_t *ws, const uint8_t *pk,
                  node_peer *out);

/* Every peer of ws, most recently seen first (ties in key order): *out
 * (NULL when *n is 0) holds *n peers; free with node_peer_list_free.
 * Errors: EINVAL, ECORRUPT (any damaged record: nothing returned), ESTORE,
 * ENOMEM. */
int node_peer_list(accord_node *node, const uint8_t *ws, node_peer **out,
                   size_t *n);

/* Forgets a peer. Errors: EINVAL, ENOTFOUND, EFULL, ESTORE. */
int node_peer_forget(accord_node *node, const uint8_t *ws, const uint8_t *pk);

/* Frees what a node_peer owns (not the struct). NULL is a no-op. */
void node_peer_clear(node_peer *p);
/* Frees a list from node_peer_list. NULL is a no-op. */
void node_peer_list_free(node_peer *list, size_t n);

#endif
