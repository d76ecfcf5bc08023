/*
 * idx.h — an ordered map from 64-bit keys to pointers (a B+tree).
 *
 * Used by sequences to find the leaf holding an element from its op id:
 * key = actor index << 32 | counter of a run's first element. Lookups are
 * "floor" searches: the entry with the greatest key <= the one asked.
 *
 * Workload: one put per new run (mostly at the end of an actor's range),
 * one set per run that moves when a sequence leaf splits, one remove per
 * merge of two runs, one rekey per run whose first id moves, and one
 * floor per id lookup that misses the sequence's leaf hint. All
 * O(log n); only splits allocate.
 */
#ifndef ACCORD_IDX_H
#define ACCORD_IDX_H

#include <stddef.h>
#include <stdint.h>

#define IDX_SPARE 16 /* height + 2 nodes; 48^14 keys is beyond reach */

typedef struct idx {
  void *root;      /* NULL when empty */
  uint32_t height; /* 0: root is a leaf */
  size_t nodes;    /* for memory accounting */
  uint32_t nspare; /* preallocated nodes, so a put never fails half way */
  void *spare[IDX_SPARE];
  void *tail;      /* the rightmost leaf, or NULL: found again when needed */
} idx;

/* Inserts key or replaces its value. Returns 0 or ACCORD_ENOMEM (then the
 * map is unchanged). A key above every other one (a new run of the local
 * actor, the usual case) goes straight into the rightmost leaf while it
 * has room. */
int idx_put(idx *m, uint64_t key, void *val);

/* Sets the value of key when it is present (returns 1; 0 and nothing
 * changed otherwise). One descent, never allocates: a sequence leaf that
 * splits moves runs whose keys stay, only their leaf changes. */
int idx_set(idx *m, uint64_t key, void *val);

/* Builds the map from n keys in strictly ascending order (into an empty
 * map), bottom-up: O(n), no splits. Returns 0 or ACCORD_ENOMEM (then the
 * map is empty). */
int idx_build(idx *m, const uint64_t *keys, void *const *vals, size_t n);

/* Changes key old (present) to key new, keeping its value, where no other
 * key lies between old and new: the entry keeps its place, so this is one
 * descent that rewrites the key and the separators equal to it. Never
 * allocates, never fails; a sequence uses it when a run's first id moves
 * by a few elements (a tombstone growing as letters are deleted). */
void idx_rekey(idx *m, uint64_t old, uint64_t new_key);

/* Removes key if present. Never allocates, never fails. */
void idx_remove(idx *m, uint64_t key);

/* The value of the greatest key <= key, its key in *found; NULL if none. */
void *idx_floor(const idx *m, uint64_t key, uint64_t *found);

void idx_free(idx *m);
size_t idx_mem(const idx *m);

#endif
