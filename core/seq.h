/*
 * seq.h — the sequence CRDT behind lists and text (Fugue semantics).
 *
 * Data structure (DESIGN §3):
 *   - Elements live in runs: consecutive elements by one actor with
 *     consecutive counters, where every element after the first has its
 *     predecessor in the run as origin_left and all share one origin_right.
 *     Ordinary typing makes one run per burst. Runs split on demand.
 *   - Runs sit in the leaves of a B+tree whose inner nodes keep the visible
 *     length of every child: position -> run in O(log n).
 *   - An id index (idx.h) maps (actor, counter) -> leaf for remote inserts
 *     and deletes in O(log n).
 *   - Runs are never removed (deleted elements stay as tombstones), so the
 *     tree only ever splits, never merges.
 *
 * Invariants:
 *   - A run never spans two actors; its counters are consecutive; it is
 *     wholly visible or wholly deleted.
 *   - idx holds exactly the runs' first elements, each naming its leaf.
 *   - A node's count[i] is the number of visible elements under child[i].
 *   - Text runs reference bytes [off, off+bytes) of the content arena, the
 *     UTF-8 of exactly len code points; list runs reference values
 *     [off, off+len) of vals.
 *
 * Integration (the YjsMod / FugueMax rule of Weidner, Gentle and Kleppmann):
 * a new run is placed between its origins; among concurrent siblings with
 * the same origins the lower op id — (counter, actor id), the order that
 * breaks every tie in DESIGN §2 — comes first. Runs typed by one user are
 * never interleaved with another's.
 */
#ifndef ACCORD_SEQ_H
#define ACCORD_SEQ_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "idx.h"
#include "types.h"

#define SEQ_LEAF_RUNS 32
#define SEQ_FANOUT 32
#define SEQ_ADJ_LEVELS 8
_Static_assert(SEQ_FANOUT <= 256, "adj_slot holds a child slot in a byte");

typedef struct seq_run {
  opid id;       /* first element */
  opid left;     /* origin_left of the first element; none = start */
  opid right;    /* origin_right of every element; none = end */
  uint32_t len;  /* elements */
  uint32_t off;  /* text: byte offset in content; list: index in vals */
  uint32_t bytes;/* text: UTF-8 bytes (== len when ASCII); list: len */
  uint8_t deleted;
} seq_run;

typedef struct seq_node seq_node;

typedef struct seq_leaf {
  seq_node *parent;
  struct seq_leaf *next, *prev;
  uint32_t n;
  seq_run r[SEQ_LEAF_RUNS];
} seq_leaf;

struct seq_node {
  seq_node *parent;
  uint32_t n;
  uint32_t count[SEQ_FANOUT];
  void *child[SEQ_FANOUT];
};

/* A location: run r[ri] of leaf at element offset off. leaf == NULL is the
 * end of the sequence. */
typedef struct seq_cur {
  seq_leaf *leaf;
  uint32_t ri, off;
} seq_cur;

typedef struct sequence {
  void *root;       /* seq_leaf when height == 0, else seq_node */
  uint32_t height;
  uint32_t visible; /* visible elements in the whole sequence */
  seq_leaf *first, *last;
  seq_leaf *hint;   /* leaf of the last id lookup: edits are local */
  uint32_t hint_ri; /* and the run there to try first (a guess: checked) */
  /* Typing: every change to the sequence bumps epoch. seq_local_origins
   * notes its position (lo_*); the seq_insert_at that follows it with no
   * change in between knows its last new element's visible position and
   * place, kept in tc_* while epoch stays the same, so typing on after it
   * needs no position lookup. A local delete that grew a tombstone
   * (seq_delete_at) notes the visible element next to it there too, so
   * backspacing on, deleting forward on, or typing where the deletion was
   * needs none either. */
  uint64_t epoch, lo_epoch, tc_epoch;
  size_t lo_pos, tc_pos;
  seq_cur tc;
  /* The last element a remote insert made (rc_id, at rc) while epoch stays
   * rc_epoch: a remote typist's next keystroke names it as its left
   * origin, and seq_integrate then needs no id lookup. */
  uint64_t rc_epoch;
  opid rc_id;
  seq_cur rc;
  seq_leaf *pc_leaf; /* leaf of the last position lookup, and the visible */
  uint32_t pc_start; /* position of its first element; NULL when unknown */
  /* adjust's guess, per level above the leaves, of the child slot it
   * updated last: checked before use, so never wrong, only a miss */
  uint8_t adj_slot[SEQ_ADJ_LEVELS];
  idx index;
  uint8_t is_text;
  buf content;      /* text: UTF-8 of every element ever inserted */
  val *vals;        /* list: values of every element ever inserted */
  uint32_t nvals, capvals;
  size_t nleaves, nnodes;
} sequence;

int seq_init(sequence *s, int is_text);
void seq_free(sequence *s);
size_t seq_mem(const sequence *s);

/* The origins a local insert at visible position pos (0..visible) takes,
 * and in *at the place it goes (for seq_insert_at). */
void seq_local_origins(const sequence *s, size_t pos, opid *left, opid *right,
                       seq_cur *at);

/* Integrates a run of n new elements with ids id..id+n-1 between left and
 * right. Text: content is n code points of valid UTF-8 in nbytes bytes.
 * List: vals[n] are moved in (owned by the sequence on success).
 * ranks orders actor indexes for tie breaks. On success *pos receives the
 * visible position of the first new element. Errors: EMALFORMED (an origin
 * is unknown or out of order), ENOMEM; on error nothing changed. */
int seq_integrate(sequence *s, const uint32_t *ranks, opid id, uint32_t n,
                  opid left, opid right, const uint8_t *content,
                  uint32_t nbytes, val *vals);

/* Inserts like seq_integrate at a place from seq_local_origins (with no
 * change to the sequence since): the local fast path, no scan needed. */
int seq_insert_at(sequence *s, seq_cur at, opid id, uint32_t n, opid left,
                  opid right, const uint8_t *content, uint32_t nbytes,
                  val *vals);

/* Marks elements target..target+count-1 deleted; already deleted ones stay
 * so. *newly receives how many were visible. Errors: EMALFORMED (an id is
 * unknown), ENOMEM; on error nothing changed. */
int seq_delete(sequence *s, opid target, uint32_t count, uint32_t *newly);

/* The local fast path of seq_delete: deletes elements [c.off, c.off +
 * count) of the visible run at c, the visible element pos, where c came
 * from seq_find_visible with no change to the sequence since and count <=
 * the run's len - c.off. Errors: ENOMEM (then the document rebuilds its
 * state). */
int seq_delete_at(sequence *s, seq_cur c, size_t pos, uint32_t count);

/* Building a sequence from a snapshot: runs arrive in sequence order.
 * Text: content holds the run's nbytes of UTF-8 when it is visible (deleted
 * runs keep no content). List: vals holds its len values when visible
 * (moved in on success); deleted runs get nulls. Errors: EMALFORMED (ids
 * overlap an earlier run, bad lengths), ENOMEM. seq_build_done builds the
 * tree above the leaves and checks that every origin exists. */
int seq_build_run(sequence *s, opid id, uint32_t len, opid left, opid right,
                  int deleted, const uint8_t *content, uint32_t nbytes,
                  val *vals);
int seq_build_done(sequence *s);

/* Calls fn for every run in order (for snapshots). */
typedef int (*seq_run_fn)(void *ctx, const sequence *s, const seq_run *r);
int seq_each_run(const sequence *s, seq_run_fn fn, void *ctx);

/* Element lookup for lists and text. */
int seq_find_visible(const sequence *s, size_t pos, seq_cur *c);
int seq_find_id(const sequence *s, opid id, seq_cur *c);

/* The visible text (appended to out). */
void seq_text(const sequence *s, buf *out);

/* The value of visible list element at pos (pos < visible), and its id. */
val *seq_list_get(const sequence *s, size_t pos, opid *id);
/* The value of a list element by id (visible or not); NULL if unknown. */
val *seq_list_get_id(const sequence *s, opid id);

/* Iteration over visible elements in order, for JSON and save. */
typedef int (*seq_elem_fn)(void *ctx, opid id, val *v);
int seq_each_visible(const sequence *s, seq_elem_fn fn, void *ctx);

#endif
