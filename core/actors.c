/*
 * actors.c — a document's actor table: 8-byte actor ids <-> small indexes,
 * and each index's rank in the order of ids (the order every replica agrees
 * on, used to break ties). Index 0 is the local actor.
 *
 * Workload: a handful of actors per document (the team's laptops), looked
 * up once per id in a decoded change; a linear scan is the right tool.
 * Growing keeps rank[] a permutation: the new actor's rank is the number of
 * smaller ids, and every larger id moves up one. order[] is its inverse
 * (the indexes in id order), kept with it: versions and batches list
 * actors in that order, one of each per edit for a gossiping peer.
 */
#include <string.h>

#include "doc.h"
#include "mem.h"

int doc_actor_find(const accord_doc *doc, const uint8_t *id, uint32_t *out) {
  for (uint32_t i = 0; i < doc->nactors; i++) {
    if (memcmp(doc->actor[i], id, ACCORD_ACTOR_BYTES) == 0) {
      *out = i;
      return 1;
    }
  }
  return 0;
}

static int grow_actors(accord_doc *doc) {
  uint32_t cap = doc->capactors ? 2 * doc->capactors : 4;
  uint8_t(*a)[ACCORD_ACTOR_BYTES] = mem_realloc(doc->actor, cap * sizeof *a);
  if (!a) return ACCORD_ENOMEM;
  doc->actor = a;
  uint32_t *r = mem_realloc(doc->rank, cap * sizeof *r);
  if (!r) return ACCORD_ENOMEM;
  doc->rank = r;
  uint32_t *o = mem_realloc(doc->order, cap * sizeof *o);
  if (!o) return ACCORD_ENOMEM;
  doc->order = o;
  uint32_t *s = mem_realloc(doc->seen, cap * sizeof *s);
  if (!s) return ACCORD_ENOMEM;
  doc->seen = s;
  chain *c = mem_realloc(doc->chains, cap * sizeof *c);
  if (!c) return ACCORD_ENOMEM;
  doc->chains = c;
  doc->capactors = cap;
  return 0;
}

int doc_actor_index(accord_doc *doc, const uint8_t *id, uint32_t *out) {
  if (doc_actor_find(doc, id, out)) return 0;
  if (doc->nactors >= ACCORD_MAX_ACTORS) return ACCORD_ETOOBIG;
  if (doc->nactors == doc->capactors) {
    int rc = grow_actors(doc);
    if (rc) return rc;
  }
  uint32_t n = doc->nactors, rank = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (memcmp(doc->actor[i], id, ACCORD_ACTOR_BYTES) < 0) rank++;
    else doc->rank[i]++;
  }
  memcpy(doc->actor[n], id, ACCORD_ACTOR_BYTES);
  doc->rank[n] = rank;
  memmove(&doc->order[rank + 1], &doc->order[rank],
          (n - rank) * sizeof *doc->order);
  doc->order[rank] = n;
  doc->seen[n] = 0;
  memset(&doc->chains[n], 0, sizeof doc->chains[n]);
  doc->nactors++;
  *out = n;
  return 0;
}

void doc_actors_truncate(accord_doc *doc, uint32_t n) {
  if (n >= doc->nactors) return;
  for (uint32_t a = n; a < doc->nactors; a++) chain_free(&doc->chains[a]);
  doc->nactors = n;
  /* ranks among the actors left, and order[] their inverse again */
  for (uint32_t i = 0; i < n; i++) {
    uint32_t rank = 0;
    for (uint32_t j = 0; j < n; j++)
      if (memcmp(doc->actor[j], doc->actor[i], ACCORD_ACTOR_BYTES) < 0) rank++;
    doc->rank[i] = rank;
    doc->order[rank] = i;
  }
}
