/*
 * oplog_bg.h — packing cold changes into frames in the background
 * (oplog_bg.c).
 */
#ifndef ACCORD_OPLOG_BG_H
#define ACCORD_OPLOG_BG_H

#include <stddef.h>
#include <stdint.h>

#include "doc.h"

/* The newest changes of a chain that stay unpacked. */
#define PACK_HOT 1024
/* Chains shorter than this stay unpacked: they hold little (16 K typed
 * changes are ~260 KB), and a peer reading one whole (a merge) should not
 * pay for unpacking it (friendsforever's merge read its two 13 K-change
 * chains through 4 frames: +17.7% instructions). */
#define PACK_MIN_CHAIN 16384
/* Changes per frame, unless their bodies pass PACK_FRAME_BYTES first. */
#define PACK_FRAME 4096
#define PACK_FRAME_BYTES ((size_t)1 << 20)
/* zstd level of the frames made while typing; a save repacks the chain
 * into one frame at PACK_LEVEL_SAVE. */
#define PACK_LEVEL_FRAME 3
/* While changes come at machine speed, the worker packs at most one
 * PACK_DUTY-th of the time (oplog_bg.c), looking again every PACK_RECHECK
 * commits. */
#define PACK_DUTY 16
#define PACK_RECHECK 1024
/* The first job waits this long (ns) after the chain first became due. */
#define PACK_GRACE ((int64_t)50 * 1000000)

typedef struct pack_job pack_job;

/* After a commit or an import: installs a finished frame, and starts the
 * next when a chain's tail is cold enough. Cannot fail (a failure to pack
 * only stops packing). Cheap when there is nothing to do. */
void oplog_bg_tick(accord_doc *doc);
/* Packs everything that is cold, waiting for the worker: the document as
 * it settles when the user pauses (accord_doc_settle). */
void oplog_bg_settle(accord_doc *doc);
/* Waits for a job in flight and frees the document's packing state. */
void oplog_bg_free(accord_doc *doc);
/* Frames installed so far (tests, bench). */
uint64_t oplog_bg_frames(const accord_doc *doc);
/* Tests: the next job fails as if the worker ran out of memory. */
void oplog_bg_fail_next(accord_doc *doc);
/* Bytes held by the packing state (copies of a job in flight). */
size_t oplog_bg_mem(const accord_doc *doc);

/* Whether the next commit to chain c should call oplog_bg_tick: a job in
 * flight is done, or none is and the tail may be cold enough. Inline and
 * a load or two: every commit asks (calling the tick on each commit while
 * a job ran cost ~35 instructions a commit, callgrind). */
static inline int oplog_bg_due(accord_doc *doc, const chain *c) {
  if (doc->pk_busy)
    return atomic_load_explicit(&doc->pk_done, memory_order_relaxed);
  /* bytes.len counts the dead bytes too: at worst a few extra ticks */
  return c->n >= doc->pk_next && c->n >= PACK_MIN_CHAIN &&
         (c->n - c->base >= PACK_HOT + PACK_FRAME ||
          c->bytes.len >= 2 * PACK_FRAME_BYTES);
}

#endif
