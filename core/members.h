/*
 * members.h — workspace membership as the rest of the engine and the
 * network layer see it (DESIGN §2, §7). members.c owns the membership
 * system document, the rules deciding who is a member, and invites.
 *
 * Contract for net/: these are the only membership calls the network layer
 * makes. All run on the node's thread.
 */
#ifndef ACCORD_MEMBERS_H
#define ACCORD_MEMBERS_H

#include <stddef.h>
#include <stdint.h>

#include "accord.h"

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

#endif
