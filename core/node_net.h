/*
 * node_net.h — what the network layer (net/) needs from a node beyond the
 * public API: a workspace summary read from the stored heads (no document
 * is opened), creating a document record announced by a peer, and
 * building bounded batches of changes (the public accord_doc_changes_since
 * returns one unbounded batch). node_net.c implements them.
 *
 * Everything runs on the node's thread, like the rest of the node.
 */
#ifndef ACCORD_NODE_NET_H
#define ACCORD_NODE_NET_H

#include <stddef.h>
#include <stdint.h>

#include "accord.h"
#include "buf.h"
#include "store.h"

#define NODE_NET_DIGEST_BYTES 16

/* One document of a workspace summary. */
typedef struct node_net_doc {
  uint8_t id[ACCORD_DOC_ID_BYTES];
  char type[STORE_TYPE_MAX + 1];
  uint8_t creator[ACCORD_ACTOR_BYTES];
  int64_t created;
  /* BLAKE2b of the stored heads (actor, seq, chain hash, in actor order):
   * two nodes with the same digest hold the same applied changes. All
   * zeros for a document without changes. */
  uint8_t digest[NODE_NET_DIGEST_BYTES];
  store_heads heads; /* node_net_summary: the stored heads (owned) */
} node_net_doc;

/* Every document of ws: *out, *n of them, "system" documents first, then
 * in id order, each with its stored heads. One read transaction. Free with
 * node_net_summary_free. Errors: ENOTFOUND (ws), ESTORE, ENOMEM. */
int node_net_summary(accord_node *node, const uint8_t *ws, node_net_doc **out,
                     size_t *n);
void node_net_summary_free(node_net_doc *d, size_t n);

/* Records document d->id of ws, announced by a peer, unless it exists (a
 * known document keeps its record). type must be 1..64 bytes of
 * [A-Za-z0-9._-]. Errors: EINVAL (type), ENOTFOUND (ws), EFULL, ESTORE. */
int node_net_doc_ensure(accord_node *node, const uint8_t *ws,
                        const node_net_doc *d);

/* A version vector as the network layer tracks it: per actor id, the
 * changes known (store_heads' hash is unused). */

/* Appends to b one batch (accord_doc_import's format) of the changes of
 * doc past *known, at most about max_bytes of change bodies (at least one
 * change when any is due), and advances known past what it holds. limit
 * (at least max_bytes) is what the receiver gathers, in body bytes: a
 * chain cut at a seal of its author may pass max_bytes to reach one, never
 * limit. The network asks for up to 32 MiB and sends the batch in pieces.
 * *nchanges gets the number of changes in the batch, *more whether changes
 * remain past the new known. A cut chain carries a seal (one signed for
 * the cut for our own chain, a kept checkpoint for another author's) so
 * that a verifying receiver takes it; only another author's chain with no
 * kept seal within limit travels cut and unsealed (docs/sync.md).
 * Errors: ENOMEM, EMALFORMED (the document's history is corrupt). */
int node_net_batch(accord_doc *doc, store_heads *known, size_t max_bytes,
                   size_t limit, buf *b, uint32_t *nchanges, int *more);

/* The changes of doc past known (what a peer that has known lacks). */
uint64_t node_net_missing(accord_doc *doc, const store_heads *known);

/* Sets known to the document's version (actor -> applied seq). */
int node_net_version(const accord_doc *doc, store_heads *known);

/* Parses a batch's chains without applying them: for each, fn(ctx, actor,
 * first seq, count). Errors: EMALFORMED. */
typedef int (*node_net_chain_fn)(void *ctx, const uint8_t *actor,
                                 uint32_t first, uint32_t n);
int node_net_batch_chains(const uint8_t *batch, size_t len,
                          node_net_chain_fn fn, void *ctx);

#endif
