/*
 * oplog_bg.c — packing a chain's cold changes into frames on the
 * document's worker thread while the user types (issue 3: a document
 * never saved held 7.8 MB for automerge-paper, 5.3 MB of it change bodies
 * nothing reads).
 *
 * Packing costs ~190 ns a change (columns, the read-back check, zstd)
 * against ~107 ns for a whole keystroke's commit, so it stays off the
 * keystroke path: when the unpacked tail of a chain holds PACK_HOT recent
 * changes and at least one full frame of older ones, the next commit or
 * import copies the oldest frame's bodies into a job (about a copy of
 * 80 KB) and posts it to the worker (sync_bg.c, a call job); a later
 * commit, import or oplog_bg_settle finds it done and installs the frame
 * (chain_add_frame), dropping those bodies from the tail. The job owns
 * copies, so the main thread goes on appending to (and reallocating) the
 * tail meanwhile; a job whose chain was cut or repacked since (gen) is
 * dropped. Without a worker thread the job runs inline: the document then
 * pays for packing on the commit that starts it, and still works.
 *
 * The worker packs at most a PACK_DUTY-th of the time while changes come
 * at machine speed (a benchmark's replay, a bulk import; B4x100 writes 26 M
 * changes in seconds): after a job, the next may start only when PACK_DUTY
 * times its length has passed since it started, checked every PACK_RECHECK
 * commits (one clock read). The first job of a document waits PACK_GRACE
 * after its chain first became due: that first job also makes the thread,
 * which starts on the typing thread's core and shares it until the next
 * load balance. On this project's shared 2-core machines a worker busy all
 * along took the typing thread's core as often as not. People type
 * thousands of times slower than those limits, so they never hold them
 * back. oplog_bg_settle packs what is left at once.
 *
 * Chains shorter than PACK_MIN_CHAIN are not packed at all.
 *
 * Frames hold PACK_FRAME changes (or PACK_FRAME_BYTES of bodies): small
 * enough that a verified import waits little behind a job (one frame,
 * ~0.5 ms), and that a reader unpacks little to reach an old change; big
 * enough that zstd and the columns still find their runs (sizes in
 * bench/RESULTS.md). The newest PACK_HOT changes stay unpacked: a peer a
 * little behind, and a merge comparing what both hold, read them as they
 * are.
 *
 * Threading: the worker reads the job's copies and writes the job's out,
 * rc and times, then the document's pk_done (release; a commit's only
 * look at the job). The main thread touches the job only while it is idle
 * (before bg_call, after bg_done/bg_finish, which acquire the pool's
 * state). The chain itself is only ever touched by the main thread.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "mem.h"
#include "oplog_bg.h"
#include "pack.h"
#include "sync_bg.h"

struct pack_job {
  bg_job bg;
  int busy;       /* posted, not yet installed */
  int off;        /* packing failed once: never again (the doc still works) */
  uint32_t actor; /* whose chain */
  uint32_t gen;   /* the chain's gen when the job was made */
  uint32_t from;  /* the job packs from+1..from+src.n */
  chain src;      /* copies: src.n bodies, base 0, indexed */
  buf out;        /* the frame */
  int rc;
  uint64_t frames; /* installed, for tests and the bench */
  _Atomic int *done; /* the document's pk_done */
  int fail;          /* tests: the next job fails */
  int64_t t0, t1;    /* the worker's clock when the job ran */
};

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void pack_run(void *arg) {
  pack_job *j = arg;
  pack_z z = {PACK_LEVEL_FRAME, NULL, 0};
  j->t0 = mono_ns();
  j->out.len = 0;
  j->out.err = 0;
  j->rc = j->fail ? ACCORD_ENOMEM : pack_bodies(&j->src, &z, &j->out);
  pack_z_free(&z);
  j->t1 = mono_ns();
  atomic_store_explicit(j->done, 1, memory_order_release);
}

/* How many of the tail's oldest changes the next frame takes, 0 if the
 * tail is not cold enough yet. */
static uint32_t frame_take(const chain *c) {
  uint32_t tail = c->n - c->base;
  if (!c->off || tail <= PACK_HOT || c->n < PACK_MIN_CHAIN) return 0;
  uint32_t cold = tail - PACK_HOT, k = cold < PACK_FRAME ? cold : PACK_FRAME;
  size_t bytes = c->off[k] - c->off[0];
  if (k == PACK_FRAME && bytes <= PACK_FRAME_BYTES) return k;
  if (bytes < PACK_FRAME_BYTES) return 0; /* neither full yet */
  /* large changes: as many as fit the bytes, at least one */
  uint32_t lo = 1, hi = k;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo + 1) / 2;
    if (c->off[mid] - c->off[0] <= PACK_FRAME_BYTES) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/* Copies the first k bodies of actor's tail into the job and posts it. */
static int start(accord_doc *doc, pack_job *j, uint32_t actor, uint32_t k) {
  const chain *c = &doc->chains[actor];
  uint32_t at = c->off[0], len = c->off[k] - at;
  if (k + 1 > j->src.cap) {
    uint32_t *off = mem_realloc(j->src.off, ((size_t)k + 1) * sizeof *off);
    if (!off) return ACCORD_ENOMEM;
    j->src.off = off;
    j->src.cap = k + 1;
  }
  j->src.bytes.len = 0;
  int rc = buf_try_reserve(&j->src.bytes, len);
  if (rc) return rc;
  buf_put(&j->src.bytes, c->bytes.p + at, len);
  for (uint32_t i = 0; i <= k; i++) j->src.off[i] = c->off[i] - at;
  j->src.n = k;
  j->actor = actor;
  j->gen = c->gen;
  j->from = c->base;
  j->busy = doc->pk_busy = 1;
  j->done = &doc->pk_done;
  atomic_store_explicit(&doc->pk_done, 0, memory_order_relaxed);
  bg_call(&j->bg, &doc->bg, pack_run, j);
  return 0;
}

/* The finished job's frame goes into its chain if the chain still holds
 * those changes as the job copied them. */
static void install(accord_doc *doc, pack_job *j) {
  j->busy = doc->pk_busy = 0;
  doc->pk_after = j->t0 + PACK_DUTY * (j->t1 - j->t0);
  uint32_t last = j->from + j->src.n;
  if (j->rc) {
    j->off = 1; /* ENOMEM or past PACK_MAX_RAW: stop trying */
  } else if (j->actor < doc->nactors) {
    chain *c = &doc->chains[j->actor];
    if (c->gen == j->gen && c->base == j->from && c->n >= last && c->off) {
      uint8_t *p = mem_realloc(j->out.p, j->out.len ? j->out.len : 1);
      if (p && !chain_add_frame(c, p, j->out.len, last)) {
        memset(&j->out, 0, sizeof j->out); /* taken by the chain */
        j->frames++;
      } else if (p) {
        j->out.p = p;
        j->out.cap = j->out.len ? j->out.len : 1;
      }
    }
  }
  /* the copies are dropped: the next job is thousands of commits away */
  buf_free(&j->src.bytes);
  buf_free(&j->out);
  mem_free(j->src.off);
  j->src.off = NULL;
  j->src.cap = 0;
}

/* force: start a job even if the worker's share says wait (settling). */
static void tick(accord_doc *doc, int force) {
  pack_job *j = doc->pk;
  if (j && j->busy) {
    if (!bg_done(&j->bg)) return;
    install(doc, j);
  }
  if (j && j->off) return;
  for (uint32_t a = 0; a < doc->nactors; a++) {
    uint32_t k = frame_take(&doc->chains[a]);
    if (!k) continue;
    if (!force) {
      int64_t now = mono_ns();
      if (!doc->pk_after) doc->pk_after = now + PACK_GRACE;
      if (now < doc->pk_after) {
        /* too soon after the last job, or in a burst that just made the
         * first one due: look again a while later */
        doc->pk_next = doc->chains[0].n + PACK_RECHECK;
        return;
      }
    }
    doc->pk_next = 0;
    if (!j && !(j = doc->pk = mem_calloc(1, sizeof *j))) return;
    if (start(doc, j, a, k)) j->off = 1; /* no memory for the copy */
    return;
  }
}

void oplog_bg_tick(accord_doc *doc) { tick(doc, 0); }

void oplog_bg_settle(accord_doc *doc) {
  for (;;) {
    pack_job *j = doc->pk;
    if (j && j->busy) {
      bg_finish(&j->bg);
      install(doc, j);
    }
    tick(doc, 1);
    j = doc->pk;
    if (!j || !j->busy) return;
  }
}

void oplog_bg_free(accord_doc *doc) {
  pack_job *j = doc->pk;
  if (!j) return;
  if (j->busy) bg_finish(&j->bg);
  doc->pk_busy = 0;
  buf_free(&j->src.bytes);
  buf_free(&j->out);
  mem_free(j->src.off);
  mem_free(j);
  doc->pk = NULL;
}

void oplog_bg_fail_next(accord_doc *doc) {
  if (!doc->pk) doc->pk = mem_calloc(1, sizeof *doc->pk);
  if (doc->pk) doc->pk->fail = 1;
}

uint64_t oplog_bg_frames(const accord_doc *doc) {
  return doc->pk ? doc->pk->frames : 0;
}

size_t oplog_bg_mem(const accord_doc *doc) {
  const pack_job *j = doc->pk;
  if (!j) return 0;
  /* out belongs to the worker while the job runs (not counted then: it
   * is a fraction of the copies) */
  return sizeof *j + j->src.bytes.cap + j->src.cap * sizeof(uint32_t) +
         (j->busy ? 0 : j->out.cap);
}
