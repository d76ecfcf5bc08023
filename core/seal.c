/*
 * seal.c — seals: an author's signature over the head of its hash chain
 * (DESIGN §4), and the document's signer and verification settings.
 *
 * The signed message is 94 bytes, fixed:
 *   "accord-seal-v1" (14 bytes, domain separation: a seal can never be
 *   mistaken for another signature made with the same key)
 *   ‖ workspace id (16; zeros for a document outside a workspace)
 *   ‖ doc id (16) ‖ actor (8) ‖ seq (8, big-endian)
 *   ‖ chain hash at seq (32, hashchain.h: the segmented BLAKE2b chain)
 * One seal authenticates the whole chain up to seq, so signing costs one
 * Ed25519 signature per batch, not per change. The author's key must derive
 * to the chain's actor (key_actor, crypto.h).
 *
 * The local actor's seal is cached in its chain (chain.seal) and re-signed
 * only when the head moved (seal_own, called when a batch is built).
 * Verification of received seals happens in sync.c's import.
 *
 * Checkpoints: another author's chain also keeps some earlier verified
 * seals (chain.cps, seal_adopt), so that a relay can send a chain larger
 * than a batch in sealed pieces: it cuts where the author sealed. Our own
 * chain needs none: a batch cut in it carries a seal made for the cut
 * (seal_at), one signature per cut.
 */
#include <string.h>

#include "crypto.h"
#include "doc.h"
#include "mem.h"

#define SEAL_DOMAIN "accord-seal-v1"
#define SEAL_DOMAIN_BYTES 14
#define SEAL_MSG_BYTES (SEAL_DOMAIN_BYTES + 16 + 16 + 8 + 8 + 32)

_Static_assert(sizeof(SEAL_DOMAIN) - 1 == SEAL_DOMAIN_BYTES, "seal domain");
_Static_assert(SEAL_WIRE_BYTES == SIGN_PUBLIC_BYTES + SIGN_BYTES, "seal size");

static void seal_message(const uint8_t *ws, const uint8_t *doc_id,
                         const uint8_t *actor, uint32_t seq,
                         const uint8_t *hash, uint8_t m[SEAL_MSG_BYTES]) {
  uint8_t *p = m;
  memcpy(p, SEAL_DOMAIN, SEAL_DOMAIN_BYTES);
  p += SEAL_DOMAIN_BYTES;
  memcpy(p, ws, 16);
  p += 16;
  memcpy(p, doc_id, ACCORD_DOC_ID_BYTES);
  p += ACCORD_DOC_ID_BYTES;
  memcpy(p, actor, ACCORD_ACTOR_BYTES);
  p += ACCORD_ACTOR_BYTES;
  for (int i = 7; i >= 0; i--) *p++ = (uint8_t)((uint64_t)seq >> (8 * i));
  memcpy(p, hash, ACCORD_HASH_BYTES);
}

/* Signs our chain at seq, whose chain hash is hash, into out. */
static void seal_sign(const accord_doc *doc, uint32_t seq,
                      const uint8_t *hash, chain_seal *out) {
  uint8_t m[SEAL_MSG_BYTES];
  seal_message(doc->ws, doc->id, doc->actor[0], seq, hash, m);
  sign_detached(out->sig, m, sizeof m, doc->sk);
  memcpy(out->pk, doc->sk + 32, SIGN_PUBLIC_BYTES);
  out->seq = seq;
}

int seal_own(accord_doc *doc) {
  chain *c = &doc->chains[0];
  if (!doc->has_signer || c->n == 0 || c->seal.seq == c->n) return 0;
  int rc = chain_hash(doc, 0);
  if (!rc) seal_sign(doc, c->n, c->hp.hash, &c->seal);
  return rc;
}

int seal_at(const accord_doc *doc, chain_rd *r, uint32_t seq,
            chain_seal *out) {
  if (!doc->has_signer || seq == 0 || seq > doc->chains[0].n)
    return ACCORD_EINVAL;
  hashchain h;
  uint8_t hash[ACCORD_HASH_BYTES];
  int rc = chain_hasher(doc, 0, r, seq, &h);
  if (rc) return rc;
  hashchain_hash(&h, hash);
  seal_sign(doc, seq, hash, out);
  return 0;
}

/* ---- checkpoints --------------------------------------------------------- */

uint64_t seal_checkpoint_bytes = SEAL_CHECKPOINT_BYTES;

static int cp_reserve(chain *c) {
  if (c->ncps < c->capcps) return 0;
  uint32_t cap = c->capcps ? 2 * c->capcps : 4;
  chain_seal *p = mem_realloc(c->cps, cap * sizeof *p);
  if (!p) return ACCORD_ENOMEM;
  c->cps = p;
  c->capcps = cap;
  return 0;
}

int seal_cp_push(chain *c, uint32_t seq, const uint8_t *pk_sig) {
  if (seq == 0 || seq > c->n || (c->seal.seq && seq >= c->seal.seq) ||
      (c->ncps && seq <= c->cps[c->ncps - 1].seq))
    return 0;
  int rc = cp_reserve(c);
  if (rc) return rc;
  chain_seal *s = &c->cps[c->ncps++];
  s->seq = seq;
  memcpy(s->pk, pk_sig, 32);
  memcpy(s->sig, pk_sig + 32, 64);
  c->gap_seq = 0;
  return 0;
}

/* Greedy spacing: the seal being replaced (p) stays only if dropping it
 * would leave more than seal_checkpoint_bytes between the last checkpoint
 * and the new seal. So kept seals are at most that far apart unless one
 * run of the author's is larger (then every seal of such runs is kept),
 * and any two consecutive checkpoints enclose more than that spacing:
 * fewer than 2 * bodies / spacing + 1 of them. The bodies since the last
 * checkpoint are carried along (gap); after a load or a cut they are
 * counted once from the chain (reading its frames at worst: once per chain
 * per load, at the first seal adopted). */
int seal_adopt(accord_doc *doc, uint32_t actor, chain_rd *r, uint32_t seq,
               const uint8_t *pk_sig) {
  chain *c = &doc->chains[actor];
  const chain_seal *p = &c->seal;
  uint32_t last = c->ncps ? c->cps[c->ncps - 1].seq : 0;
  if (actor != 0 && seq <= c->n && seq > last && seq > p->seq) {
    /* p, if above the last checkpoint, is the candidate to keep; the
     * bodies since the last kept seal are counted from the chain only when
     * not carried (a load, a cut): the new run was just appended, so it is
     * counted from the tail's offsets */
    int cand = p->seq > last;
    uint32_t from = cand ? p->seq : last;
    uint64_t gap = 0, run;
    int rc = 0;
    if (cand) gap = c->gap_seq == p->seq ? c->gap : 0;
    if (cand && c->gap_seq != p->seq)
      rc = chain_bytes(c, r, last, p->seq, &gap);
    if (!rc) rc = chain_bytes(c, r, from, seq, &run);
    if (rc) return rc;
    if (cand && gap + run > seal_checkpoint_bytes) {
      if ((rc = cp_reserve(c))) return rc;
      c->cps[c->ncps++] = *p;
      gap = run;
    } else {
      gap += run;
    }
    c->gap = gap;
    c->gap_seq = seq;
  } else {
    c->gap_seq = 0; /* counted when next needed */
  }
  c->seal.seq = seq;
  memcpy(c->seal.pk, pk_sig, 32);
  memcpy(c->seal.sig, pk_sig + 32, 64);
  return 0;
}

int seal_check(const accord_doc *doc, uint32_t actor, uint32_t seq,
               const uint8_t *hash, const uint8_t *pk_sig) {
  return seal_check_ids(doc->ws, doc->id, doc->actor[actor], seq, hash,
                        pk_sig);
}

int seal_check_ids(const uint8_t *ws, const uint8_t *doc_id,
                   const uint8_t *actor, uint32_t seq, const uint8_t *hash,
                   const uint8_t *pk_sig) {
  uint8_t m[SEAL_MSG_BYTES];
  seal_message(ws, doc_id, actor, seq, hash, m);
  return sign_verify(pk_sig + SIGN_PUBLIC_BYTES, m, sizeof m, pk_sig);
}

/* ---- public -------------------------------------------------------------- */

int accord_sign_keypair(uint8_t *public_key, uint8_t *secret_key) {
  if (!public_key || !secret_key) return ACCORD_EINVAL;
  return sign_keypair(public_key, secret_key);
}

int accord_key_actor(const uint8_t *public_key, uint8_t *actor) {
  if (!public_key || !actor) return ACCORD_EINVAL;
  int rc = crypto_init();
  if (rc) return rc;
  key_actor(public_key, actor);
  return 0;
}

int accord_doc_set_signer(accord_doc *doc, const uint8_t *secret_key,
                          const uint8_t *workspace_id) {
  uint8_t actor[ACCORD_ACTOR_BYTES];
  if (!doc || !secret_key) return ACCORD_EINVAL;
  if (!sign_key_check(secret_key, secret_key + 32)) return ACCORD_EINVAL;
  key_actor(secret_key + 32, actor);
  if (memcmp(actor, doc->actor[0], ACCORD_ACTOR_BYTES)) return ACCORD_EINVAL;
  chain *c = &doc->chains[0];
  if (doc->has_signer && memcmp(doc->sk, secret_key, sizeof doc->sk))
    memset(&c->seal, 0, sizeof c->seal); /* made with another key */
  memcpy(doc->sk, secret_key, sizeof doc->sk);
  doc->has_signer = 1;
  return accord_doc_set_workspace(doc, workspace_id);
}

int accord_doc_set_workspace(accord_doc *doc, const uint8_t *workspace_id) {
  if (!doc) return ACCORD_EINVAL;
  uint8_t ws[16] = {0};
  if (workspace_id) memcpy(ws, workspace_id, sizeof ws);
  if (memcmp(ws, doc->ws, sizeof ws)) {
    /* seals name the workspace: those made for another one are void */
    for (uint32_t a = 0; a < doc->nactors; a++) {
      memset(&doc->chains[a].seal, 0, sizeof(chain_seal));
      doc->chains[a].ncps = 0;
      doc->chains[a].gap_seq = 0;
    }
    memcpy(doc->ws, ws, sizeof ws);
  }
  doc->verify = 1;
  return 0;
}

int accord_doc_set_verify(accord_doc *doc, int on) {
  if (!doc) return ACCORD_EINVAL;
  doc->verify = on != 0;
  return 0;
}

int accord_doc_chain_seal(const accord_doc *doc, const uint8_t *actor,
                          uint64_t *seq, uint8_t *public_key) {
  uint32_t a;
  if (!doc || !actor) return ACCORD_EINVAL;
  if (!doc_actor_find(doc, actor, &a) || doc->chains[a].seal.seq == 0)
    return ACCORD_ENOTFOUND;
  if (seq) *seq = doc->chains[a].seal.seq;
  if (public_key) memcpy(public_key, doc->chains[a].seal.pk, 32);
  return 0;
}
