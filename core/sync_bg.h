/*
 * sync_bg.h — seal checks of a bulk import on a second thread (sync_bg.c),
 * and other work for that thread (call jobs: packing cold changes,
 * oplog_bg.c).
 */
#ifndef ACCORD_SYNC_BG_H
#define ACCORD_SYNC_BG_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "doc.h"

typedef struct bg_pool bg_pool;
/* Ends a document's worker thread (NULL: none). */
void bg_pool_free(bg_pool *p);

/* Imports smaller than this verify inline: a thread costs tens of us. */
#define BG_MIN 256

/* One author's run: n changes from seq first, extending a chain hashed up
 * to first - 1 in from, sealed at its last change. */
typedef struct bg_run {
  uint8_t actor[ACCORD_ACTOR_BYTES];
  uint32_t idx; /* the actor's index in the document (for the caller) */
  uint32_t first, n;
  size_t at; /* its first body in the job's arrays */
  /* an early run (bg_early_add): its bodies follow each other from start,
   * in the batch, instead of the job's arrays; the importer stores their
   * lengths in lens as it parses them, and nlen (release) says how many */
  const uint8_t *start;
  size_t *lens;
  _Atomic uint32_t nlen;
  const uint8_t *seal; /* pk ‖ sig, in the batch */
  /* the chain before the run: a hashchain copied in bytewise, because
   * runs live in a plain allocation and hash_state wants 64-byte alignment */
  unsigned char from[sizeof(hashchain)];
  hashchain_pos end; /* out: where the chain stands at its end */
  int ok;            /* out: the seal checks */
} bg_run;

typedef struct bg_job {
  uint8_t ws[16], doc[ACCORD_DOC_ID_BYTES];
  bg_run *runs;
  uint32_t nruns, caprun;
  const uint8_t **body; /* borrowed from the batch */
  size_t *len;
  size_t nbody, capbody;
  struct bg_pool *pool; /* running there, until bg_finish */
  /* early jobs (bg_early_*): runs are added while the worker runs; it
   * reads runs[0..nposted) (fixed capacity caprun) until closed */
  int early;
  _Atomic uint32_t nposted;
  _Atomic int closed, cancel;
  /* a call job (bg_call): the worker runs fn(arg) and nothing else; fn
   * touches only what the job's owner gave it until bg_done or bg_finish */
  void (*fn)(void *arg);
  void *arg;
} bg_job;

/* Building a job (before bg_start): a run, then its bodies in order.
 * Errors: ENOMEM. */
int bg_add_run(bg_job *j, const uint8_t *actor, uint32_t first,
               const hashchain *from, const uint8_t *seal);
int bg_add_body(bg_job *j, const uint8_t *body, size_t len);
/* Starts checking on the document's worker thread (*pool, made on first
 * use), or on the calling thread if no thread can be made. */
void bg_start(bg_job *j, bg_pool **pool);
/* Early jobs: the worker starts on the first run while the importer still
 * parses the batch. bg_early_begin makes room for cap runs and returns 0,
 * or -1 when no worker thread can take it (the caller then plans after
 * parsing). bg_early_add adds a run whose n bodies follow each other from
 * start, and starts the worker on the first; it returns the run, whose
 * body lengths the caller then publishes with bg_early_len, or NULL when
 * full or out of memory. bg_early_close says no run
 * follows; bg_cancel stops the worker and empties the job (the caller
 * then plans as for a job never started). */
int bg_early_begin(bg_job *j, bg_pool **pool, uint32_t cap);
bg_run *bg_early_add(bg_job *j, bg_pool **pool, const uint8_t *actor,
                     uint32_t aidx, uint32_t first, uint32_t n,
                     const hashchain *from, const uint8_t *seal,
                     const uint8_t *start);
/* The length of r's k-th body (k: 0, 1, ... in order, k < r->n). */
static inline void bg_early_len(bg_run *r, uint32_t k, size_t len) {
  r->lens[k] = len;
  atomic_store_explicit(&r->nlen, k + 1, memory_order_release);
}
void bg_early_close(bg_job *j);
void bg_cancel(bg_job *j);
/* Early jobs finished (not cancelled) in this process, for tests. */
uint64_t bg_early_done(void);
/* Waits for the checks: 0 when every seal checks, else ESEAL. A call job
 * not yet taken by the worker runs here. */
int bg_finish(bg_job *j);
/* Starts a call job: fn(arg) on the document's worker thread, or here and
 * now when no thread can be made (returns 1 then, else 0). Another job of
 * the pool that is still in flight is finished first (bg_finish): a pool
 * runs one job at a time, so a seal check waits for at most one call job,
 * which its owner keeps short. */
int bg_call(bg_job *j, bg_pool **pool, void (*fn)(void *), void *arg);
/* 1 when j is finished (then the worker no longer touches it; the job
 * need not be freed), 0 while the worker runs or has yet to take it. Does
 * not wait. */
int bg_done(bg_job *j);
/* Waits if needed and frees. */
void bg_free(bg_job *j);

#endif
