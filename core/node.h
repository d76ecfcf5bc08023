/*
 * node.h — the node behind the public accord_node_* API: node.c (opening,
 * identity, workspaces, listings) and node_doc.c (documents kept in step
 * with the store) share these.
 */
#ifndef ACCORD_NODE_H
#define ACCORD_NODE_H

#include <sys/types.h>

#include "crypto.h"
#include "doc.h"
#include "store.h"

/* The undo of a commit or import the store refused: the engine's mark
 * (chains and pending) plus the per-actor `seen` counts a commit moves,
 * which the engine's mark does not restore. Buffers are reused. */
typedef struct nmark {
  doc_mark m;
  int active;
} nmark;

/* An open document and what the node knows of its stored state.
 * Invariant: for every actor index a < nknown, the store held changes
 * 1..known[a] of that actor (with matching bytes) when we last looked;
 * the document's chains hold at least that much. When the store counter
 * equals seen, the store holds nothing for this document that the
 * document lacks. */
typedef struct ndoc {
  accord_doc *doc;
  uint8_t ws[ACCORD_WS_ID_BYTES];
  uint32_t refs;
  char type[STORE_TYPE_MAX + 1];
  uint8_t creator[ACCORD_ACTOR_BYTES];
  int64_t created;
  uint32_t *known;
  hashchain_pos *kpos; /* the stored chain at known[a]: seq, hash and
                          segment root (kpos[a].seq == known[a]) */
  uint32_t nknown;
  uint64_t seen;
  int pending_dirty; /* the stored pending set may differ from the doc's */
  int snap_bad;      /* the stored snapshot failed to load: rewrite it */
  int pinned;        /* a workspace's system document, held open by
                        members.c (one of refs) until the node closes */
  /* members.c's caches on a pinned system document: the founder's actor
   * (from the genesis record) and the last positive write check, valid
   * while the document's chains total ok_gen changes */
  int has_founder;
  uint8_t founder[ACCORD_ACTOR_BYTES];
  uint64_t ok_gen;
  uint32_t forks_stored; /* doc->forks[0..forks_stored) are in the store */
  nmark mark;
  store_heads heads; /* scratch for the write path */
} ndoc;

struct accord_node {
  store *st;
  char *dir;
  uint8_t pk[SIGN_PUBLIC_BYTES];
  uint8_t sk[SIGN_SECRET_BYTES];
  uint8_t actor[ACCORD_ACTOR_BYTES];
  uint32_t snapshot_changes, compact_changes;
  ndoc **docs;
  uint32_t ndocs, capdocs;
  dev_t dev;
  ino_t ino;
};

/* ---- node_doc.c ---------------------------------------------------------- */

/* The entry of an open document of this node, or NULL. */
ndoc *node_entry(accord_node *node, const accord_doc *doc);
ndoc *node_entry_by_id(accord_node *node, const uint8_t *ws,
                       const uint8_t *id);
/* known[] and kpos[] cover at least n actors (new ones zero). */
int node_known_reserve(ndoc *nd, uint32_t n);
/* Makes the node's identity the signer of one of its documents (seals,
 * seal.c), turns seal verification on and installs the membership check
 * (members.c): imports accept only members' sealed changes. */
int node_doc_signer(const accord_node *node, accord_doc *doc,
                    const uint8_t *ws);
static inline uint32_t node_known_of(const ndoc *nd, uint32_t a) {
  return a < nd->nknown ? nd->known[a] : 0;
}
void node_entry_describe(ndoc *nd, const store_doc *d);
/* Frees an entry and its document. NULL is a no-op. */
void node_entry_free(ndoc *nd);
/* 1 if the document holds something the store lacks. */
int node_unpersisted(const ndoc *nd);
/* Stores what the document holds past `known`, in one write.
 * Errors: ESTALE (another process wrote first), EFULL, ESTORE, ENOMEM. */
int node_persist(accord_node *node, ndoc *nd);

/* ---- node_load.c --------------------------------------------------------- */

/* Loads a stored document into a new entry (refs 1). Errors: ENOTFOUND,
 * ECORRUPT (with the damaged change named), ESTORE, ENOMEM. */
int node_load_doc(accord_node *node, const uint8_t *ws, const uint8_t *id,
                  ndoc **out);
/* Takes in what other processes stored since we last looked. */
int node_refresh(accord_node *node, ndoc *nd);
/* Checks every stored change of a document against its chain. */
int node_check_chains(accord_node *node, const uint8_t *ws,
                      const uint8_t *id);
/* "ws-hex/doc-hex" into out (72 bytes). */
const char *node_hex_doc(const uint8_t *ws, const uint8_t *id, char *out);

/* ---- node_forks.c -------------------------------------------------------- */

/* Adds the document's stored fork evidence to it (damaged records are
 * skipped). Errors: ESTORE, ENOMEM. */
int node_forks_load(accord_node *node, ndoc *nd);

/* ---- node_maint.c -------------------------------------------------------- */

/* Closes every open document (persisting what it can). */
void node_close_docs(accord_node *node);

#endif
