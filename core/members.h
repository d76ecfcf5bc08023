/*
 * members.h — workspace membership as the rest of the engine and the
 * network layer see it (DESIGN §2, §7). members.c owns the membership
 * system document, the rules deciding who is a member, and invites;
 * members_drop.c enforces removals on stored history; token.c is the
 * invite token codec.
 *
 * Contract for net/: the first section's calls (and the public invite
 * functions of accord.h) are the only membership calls the network layer
 * makes. The second section is the engine's own. All run on the node's
 * thread.
 */
#ifndef ACCORD_MEMBERS_H
#define ACCORD_MEMBERS_H

#include <stddef.h>
#include <stdint.h>

#include "accord.h"
#include "store.h"

/* 1 if the Ed25519 public key pk (32 bytes) belongs to a current member of
 * workspace ws (who may connect and whose new changes are accepted), 0 if
 * not (a stranger, or a removed member), or a negative error (ENOTFOUND:
 * no such workspace; ESTORE; ENOMEM). */
int node_member_check(accord_node *node, const uint8_t *ws, const uint8_t *pk);

/* The 32-byte workspace key of ws into key (the caller wipes it).
 * Errors: ENOTFOUND, ESTORE. */
int node_ws_key(accord_node *node, const uint8_t *ws, uint8_t *key);

/* The genesis record of ws: *out (free with accord_free), *len bytes.
 * Errors: ENOTFOUND, ESTORE, ENOMEM. */
int node_ws_genesis(accord_node *node, const uint8_t *ws, uint8_t **out,
                    size_t *len);

/* Records a workspace this node joins, from its genesis record (received
 * from a member) and its key (from the invite): the id is derived from the
 * genesis and must equal expect_id (16 bytes). Adopting a workspace the
 * node has already is a no-op when the key matches. Errors: EMALFORMED
 * (not a genesis record, or not expect_id's), EINVAL (a different key for
 * a known workspace), EFULL, ESTORE. */
int node_ws_adopt(accord_node *node, const uint8_t *genesis, size_t len,
                  const uint8_t *key, const uint8_t *expect_id);

/* Member side of joining: a stranger with Ed25519 key joiner_pk presents
 * the 32-byte secret of an invite of ws. If the invite exists and is not
 * used, revoked or expired, one durable change adds the joiner as a member
 * (name: UTF-8, 1..256 bytes; role: as for members, NULL for the default)
 * and marks the invite used. Redeeming again with the same key after it
 * succeeded is a no-op (0). Errors: EINVITE, EINVAL, ENOTFOUND (ws),
 * ENOTMEMBER (this node is not a member), EFULL, ESTORE, ENOMEM. */
int node_invite_redeem(accord_node *node, const uint8_t *ws,
                       const uint8_t *secret, const uint8_t *joiner_pk,
                       const char *name, const char *role);

/* Joining without a network, for two nodes of one process (tests,
 * benchmarks, tools): joiner adopts ws from member, member adds joiner's
 * key as a member named name (role may be NULL), and joiner takes in
 * member's membership document. Running it again refreshes joiner's copy
 * of the membership (adopting and adding again are no-ops). Errors: as
 * node_ws_adopt, accord_member_add, accord_node_doc_import. */
int node_enroll(accord_node *member, const uint8_t *ws, accord_node *joiner,
                const char *name, const char *role);

/* ---- the engine's side (members.c) --------------------------------------- */

struct ndoc;

/* The id of ws's membership system document (16 bytes into id). */
void members_sys_id(const uint8_t *ws, uint8_t *id);
/* Records a new workspace (its store record ws) and its system document
 * with the founder's first change adding this node as a member named name
 * (role may be NULL), in one store write. */
int members_found(accord_node *node, const store_ws *ws, const char *name,
                  const char *role);
/* Installs the keycheck hook on a node document (sync.c calls it for
 * every sealed batch chain). */
void members_hook(accord_node *node, accord_doc *doc);
/* The hook: ENOTMEMBER (with the node's message set) when the sealing key
 * may not write seqs first..last of the document. */
int members_keycheck(void *ud, accord_doc *doc, const uint8_t *actor,
                     const uint8_t *pk, uint32_t first, uint32_t last);
/* After an import into the system document: every author must be
 * admitted (ENOTMEMBER). Other documents: 0. */
int members_import_check(accord_node *node, struct ndoc *nd);
/* Before storing this node's own new changes of nd: ENOTMEMBER when the
 * node may not write (not admitted; removed, outside the system doc). */
int members_write_check(accord_node *node, struct ndoc *nd);
/* A removed member and its cutoff for one document. */
typedef struct mcut {
  uint8_t actor[ACCORD_ACTOR_BYTES];
  uint32_t cut;
} mcut;
/* The removed members of ws with their cutoffs for document doc: *out
 * (mem_free) holds *n entries (NULL, 0 when nobody was removed). */
int members_cutoffs(accord_node *node, const uint8_t *ws, const uint8_t *doc,
                    mcut **out, uint32_t *n);
/* After an import into a document: the system document may have brought
 * removals, so members_enforce runs. Other documents: 0. */
int members_after_import(accord_node *node, struct ndoc *nd);
/* Drops, in every document of ws, the changes of removed members past
 * their cutoffs that this node stored before it learnt of the removal
 * (rebuilding those documents, their records and snapshots). */
int members_enforce(accord_node *node, const uint8_t *ws);
/* (members_drop.c) */

/* ---- invite tokens (token.c, docs/token.md) ------------------------------ */

/* Encodes inv as a token (*out: NUL-terminated, free with accord_free).
 * Errors: EINVAL (too many addresses, or one empty, too long or not
 * printable ASCII), ENOMEM. */
int token_encode(const accord_invite *inv, char **out);

#endif
