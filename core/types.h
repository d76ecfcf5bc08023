/*
 * types.h — ids and values shared by every part of the engine.
 *
 * Inside a document, an actor is a small index into the document's actor
 * table (doc.h) and a counter is 32 bits: an op id is 8 bytes. Actor indexes
 * differ between replicas; anything that must agree across replicas (tie
 * breaks, encodings) goes through the actor's 8-byte id or its rank.
 *
 * Counter 0 is never an operation: opid {0, 0} stands for "none" — the root
 * map as an object, the start of a sequence as a left origin, the end as a
 * right origin.
 */
#ifndef ACCORD_TYPES_H
#define ACCORD_TYPES_H

#include <stdint.h>

#include "accord.h"

/* Lamport counters stop short of 2^32; a change that would pass this is
 * refused (ETOOBIG) rather than wrapped. */
#define ACCORD_MAX_COUNTER 0xfff00000u

typedef struct opid {
  uint32_t ctr;
  uint32_t actor;
} opid;

static inline opid opid_make(uint32_t actor, uint32_t ctr) {
  opid o;
  o.ctr = ctr;
  o.actor = actor;
  return o;
}
static inline int opid_eq(opid a, opid b) {
  return a.ctr == b.ctr && a.actor == b.actor;
}
static inline int opid_none(opid a) { return a.ctr == 0; }
static inline uint64_t opid_key(opid a) {
  return (uint64_t)a.actor << 32 | a.ctr;
}

/* A stored value: a register entry in a map or an element of a list.
 * Strings and bytes are owned (mem_alloc'd, NUL-terminated). For objects
 * (MAP, LIST, TEXT) the id is the creating op's id, which is the value's
 * own op id, so it is not stored again. COUNTER keeps the running total. */
typedef struct val {
  uint8_t type; /* accord_type */
  uint32_t len; /* STR, BYTES */
  union {
    int64_t i;
    double d;
    char *s;
  } u;
} val;

void val_clear(val *v);

#endif
