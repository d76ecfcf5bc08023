/*
 * sync_bg.c — checking the seals of a large import on a second thread
 * while the main thread decodes and applies its changes (issue 5: verified
 * import at most 1.5x the unverified one).
 *
 * The floor of a verified import is cryptography the unverified one skips:
 * a BLAKE2b chain step per change and an Ed25519 check per seal. Neither
 * depends on the document's state, only on the chain hash the run starts
 * from and the bytes of the batch, so it runs beside the apply instead of
 * before it. Import is all or nothing already (doc_mark): when a seal turns
 * out bad, the import fails with ESEAL and is undone like any other failed
 * import, so the changes applied meanwhile never become visible.
 *
 * Used only for the plain bulk case, where what every check covers is
 * known before applying anything: verification on, nothing waiting in
 * pending, no loose changes, at least BG_MIN changes, and per author one
 * run that extends its chain exactly (first seq = head + 1, consecutive)
 * with its only seal on its last change. Anything else (replays, gaps,
 * forks, several chains of one author) takes the sequential path in
 * sync.c, which is where the subtle cases live.
 *
 * Early jobs (bg_early_*): the worker starts on a run as soon as the
 * importer parsed its chain's header, and hashes each body as soon as the
 * importer has delimited it, so hashing overlaps the parse and the
 * planning too; the importer
 * checks afterwards that the runs are exactly the plain bulk shape above
 * (sync.c, bg_match) and cancels the job otherwise. Runs are added while
 * the worker runs: into room reserved at the start (never moved), each
 * written before nposted (release) covers it; closed says none follows.
 *
 * Threading: the worker gets copies of everything it reads except the
 * batch's bytes, which the caller keeps unchanged until bg_finish; it
 * writes only its own job, and the state's release/acquire (DONE) orders
 * those writes before bg_finish reads them. A document runs one import at a time (the header's
 * threading rule), so its thread has at most one job. Failing to make the
 * thread is not an error: the job then runs on the calling thread, as it
 * does in a child of fork(), which keeps the parent's pool (never used, freed
 * without a join) and makes no thread.
 *
 * Call jobs (bg_call) run any function on the same thread: the document
 * packs cold changes there (oplog_bg.c). They are left running after
 * bg_call returns and collected with bg_done; posting another job finishes
 * one still in flight first (post), so the pool's single slot holds one
 * job at a time whoever posted it.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "change.h"
#include "crypto.h"
#include "mem.h"
#include "sync_bg.h"

/* Hashes the run's bodies on from the chain before it (they lie back to
 * back in the batch, so a segment at a time) and checks its seal. */
static void run_one(const bg_job *j, bg_run *r) {
  hashchain h;
  memcpy(&h, r->from, sizeof h);
  hashchain_feed f = {&h, NULL, 0, 0};
  for (uint32_t k = 0; k < r->n; k++)
    hashchain_feed_body(&f, j->body[r->at + k], j->len[r->at + k]);
  hashchain_feed_flush(&f);
  hashchain_pos_of(&h, &r->end);
  r->ok = seal_check_ids(j->ws, j->doc, r->actor, r->end.seq, r->end.hash,
                         r->seal);
}

static inline void cpu_relax(void);

/* An early run: its bodies' lengths come from the importer as it parses
 * them (delimiting them here again cost 12% of the worker's time). If the
 * importer stops before the last (a malformed batch), the job is closed
 * and cancelled, and the run fails; the import fails with the parse's
 * error then. Bodies follow each other, so they are absorbed a segment at
 * a time, as soon as the importer has delimited the segment. */
static void run_early(bg_job *j, bg_run *r) {
  hashchain h;
  memcpy(&h, r->from, sizeof h);
  hashchain_feed f = {&h, NULL, 0, 0};
  const uint8_t *p = r->start;
  for (uint32_t k = 0; k < r->n; k++) {
    for (unsigned spin = 1;
         k >= atomic_load_explicit(&r->nlen, memory_order_acquire); spin++) {
      int closed = atomic_load_explicit(&j->closed, memory_order_acquire);
      if (k < atomic_load_explicit(&r->nlen, memory_order_acquire)) break;
      if (closed || atomic_load_explicit(&j->cancel, memory_order_relaxed))
        return; /* ok stays 0 */
      cpu_relax();
      if ((spin & 63) == 0) sched_yield(); /* the importer may need this CPU */
    }
    size_t len = r->lens[k];
    hashchain_feed_body(&f, p, len);
    p += len;
  }
  hashchain_feed_flush(&f);
  hashchain_pos_of(&h, &r->end);
  r->ok = seal_check_ids(j->ws, j->doc, r->actor, r->end.seq, r->end.hash,
                         r->seal);
}

/* The runs of an early job as the importer posts them, until it closes. */
static void worker_early(bg_job *j) {
  for (uint32_t i = 0;; i++) {
    for (unsigned spin = 1;; spin++) {
      int closed = atomic_load_explicit(&j->closed, memory_order_acquire);
      if (i < atomic_load_explicit(&j->nposted, memory_order_acquire)) break;
      if (closed || atomic_load_explicit(&j->cancel, memory_order_relaxed))
        return;
      cpu_relax();
      if ((spin & 63) == 0) sched_yield(); /* the importer may need this CPU */
    }
    run_early(j, &j->runs[i]);
  }
}

static void *worker(void *arg) {
  bg_job *j = arg;
  if (j->fn) {
    j->fn(j->arg);
    return NULL;
  }
  if (j->early) {
    worker_early(j);
    return NULL;
  }
  for (uint32_t i = 0; i < j->nruns; i++) run_one(j, &j->runs[i]);
  return NULL;
}

/* ---- the document's worker thread ---------------------------------------- */

/* One parked thread per document, made at its first bulk import and ended
 * by accord_doc_free. A thread made per import would not help: Linux
 * starts a new thread on its parent's CPU and moves it only at the next
 * load balance (milliseconds later), so it ran after the apply, not
 * beside it (measured: it started about 400 us late, when the apply was
 * over).
 *
 * Handing over: state goes IDLE -> POSTED (the importer) -> RUNNING (the
 * worker takes it) -> DONE (the worker) -> IDLE (the importer, in
 * bg_finish). If the importer finishes applying while the job is still
 * POSTED — the worker was not scheduled, the machine is busy — it takes
 * the job back (POSTED -> IDLE) and runs it itself, so a loaded machine
 * costs little more than checking inline. Each side spins a little
 * (SPIN_NS, yielding) before it sleeps on its condition variable: waking a
 * sleeping thread on our VMs costs 40-60 us, a fifth of a 1,000-change
 * batch, and a bulk import posts its next job within microseconds. The
 * mutex makes the sleeps safe: a side changes state and signals under it. */
#define SPIN_NS 100000
enum { BG_IDLE, BG_POSTED, BG_RUNNING, BG_DONE, BG_QUIT };

struct bg_pool {
  pid_t pid; /* the process whose thread it is: a fork() child has none */
  pthread_t th;
  pthread_mutex_t mu;
  pthread_cond_t go, done;
  _Atomic int state;
  bg_job *job;
  int up; /* the thread has started (under mu) */
};

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

/* Spins until state is want (1) or SPIN_NS passed (0). */
static int spin_for(bg_pool *p, int want) {
  int64_t until = 0;
  for (unsigned i = 0;; i++) {
    if (atomic_load_explicit(&p->state, memory_order_acquire) == want)
      return 1;
    cpu_relax();
    if ((i & 63) == 0) {
      int64_t now = mono_ns();
      if (!until) until = now + SPIN_NS;
      else if (now > until) return 0;
      /* the other side may be waiting for this CPU: let it run */
      sched_yield();
    }
  }
}

static void *pool_main(void *arg) {
  bg_pool *p = arg;
  pthread_mutex_lock(&p->mu);
  p->up = 1;
  pthread_cond_signal(&p->done);
  pthread_mutex_unlock(&p->mu);
  for (;;) {
    int st = atomic_load_explicit(&p->state, memory_order_acquire);
    if (st != BG_POSTED && st != BG_QUIT && !spin_for(p, BG_POSTED)) {
      pthread_mutex_lock(&p->mu);
      while ((st = atomic_load(&p->state)) != BG_POSTED && st != BG_QUIT)
        pthread_cond_wait(&p->go, &p->mu);
      pthread_mutex_unlock(&p->mu);
    }
    if (atomic_load(&p->state) == BG_QUIT) break;
    int posted = BG_POSTED;
    if (!atomic_compare_exchange_strong(&p->state, &posted, BG_RUNNING))
      continue; /* the importer took it back */
    worker(p->job);
    pthread_mutex_lock(&p->mu);
    atomic_store_explicit(&p->state, BG_DONE, memory_order_release);
    pthread_cond_signal(&p->done);
    pthread_mutex_unlock(&p->mu);
  }
  return NULL;
}

static bg_pool *pool_new(void) {
  bg_pool *p = mem_calloc(1, sizeof *p);
  if (!p) return NULL;
  pthread_attr_t attr;
  int ok = pthread_attr_init(&attr) == 0;
  if (!ok) {
    mem_free(p);
    return NULL;
  }
  /* hashing and Ed25519 need a few KB of stack */
  pthread_attr_setstacksize(&attr, (size_t)256 << 10);
  if (pthread_mutex_init(&p->mu, NULL)) {
    ok = 0;
  } else if (pthread_cond_init(&p->go, NULL)) {
    pthread_mutex_destroy(&p->mu);
    ok = 0;
  } else if (pthread_cond_init(&p->done, NULL)) {
    pthread_cond_destroy(&p->go);
    pthread_mutex_destroy(&p->mu);
    ok = 0;
  } else if (pthread_create(&p->th, &attr, pool_main, p)) {
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->go);
    pthread_mutex_destroy(&p->mu);
    ok = 0;
  }
  pthread_attr_destroy(&attr);
  if (!ok) {
    mem_free(p);
    return NULL;
  }
  /* wait until the thread runs: a thread still starting holds allocator
   * locks for a while, and a fork() then would copy them held */
  pthread_mutex_lock(&p->mu);
  while (!p->up) pthread_cond_wait(&p->done, &p->mu);
  pthread_mutex_unlock(&p->mu);
  p->pid = getpid();
  return p;
}

void bg_pool_free(bg_pool *p) {
  if (!p) return;
  if (p->pid != getpid()) { /* made before a fork(): its thread is not ours */
    mem_free(p);
    return;
  }
  pthread_mutex_lock(&p->mu);
  atomic_store(&p->state, BG_QUIT); /* idle: bg_finish ran */
  pthread_cond_signal(&p->go);
  pthread_mutex_unlock(&p->mu);
  pthread_join(p->th, NULL);
  pthread_cond_destroy(&p->done);
  pthread_cond_destroy(&p->go);
  pthread_mutex_destroy(&p->mu);
  mem_free(p);
}

int bg_add_run(bg_job *j, const uint8_t *actor, uint32_t first,
               const hashchain *from, const uint8_t *seal) {
  if (j->nruns == j->caprun) {
    uint32_t cap = j->caprun ? 2 * j->caprun : 4;
    bg_run *r = mem_realloc(j->runs, cap * sizeof *r);
    if (!r) return ACCORD_ENOMEM;
    j->runs = r;
    j->caprun = cap;
  }
  bg_run *r = &j->runs[j->nruns++];
  memset(r, 0, sizeof *r);
  memcpy(r->actor, actor, sizeof r->actor);
  memcpy(r->from, from, sizeof r->from);
  r->first = first;
  r->at = j->nbody;
  r->seal = seal;
  return 0;
}

int bg_add_body(bg_job *j, const uint8_t *body, size_t len) {
  if (j->nbody == j->capbody) {
    size_t cap = j->capbody ? 2 * j->capbody : 256;
    const uint8_t **b = mem_realloc(j->body, cap * sizeof *b);
    if (!b) return ACCORD_ENOMEM;
    j->body = b;
    size_t *l = mem_realloc(j->len, cap * sizeof *l);
    if (!l) return ACCORD_ENOMEM;
    j->len = l;
    j->capbody = cap;
  }
  j->body[j->nbody] = body;
  j->len[j->nbody++] = len;
  j->runs[j->nruns - 1].n++;
  return 0;
}

static void post(bg_pool *p, bg_job *j) {
  /* the slot holds one job: one still in flight (a call job) ends first */
  if (p->job && p->job != j) bg_finish(p->job);
  p->job = j;
  pthread_mutex_lock(&p->mu);
  atomic_store_explicit(&p->state, BG_POSTED, memory_order_release);
  pthread_cond_signal(&p->go);
  pthread_mutex_unlock(&p->mu);
  j->pool = p;
}

void bg_start(bg_job *j, bg_pool **pool) {
  if (*pool && (*pool)->pid != getpid()) {
    /* a fork() child: the thread stayed in the parent, and making threads
     * in a child of a threaded process is not safe (its locks were copied
     * in whatever state the parent's threads held them) */
    worker(j);
    return;
  }
  if (!*pool) *pool = pool_new();
  bg_pool *p = *pool;
  if (!p) { /* no thread: check here and now */
    worker(j);
    return;
  }
  post(p, j);
}

int bg_early_begin(bg_job *j, bg_pool **pool, uint32_t cap) {
  if (*pool && (*pool)->pid != getpid()) return -1; /* see bg_start */
  if (!*pool) *pool = pool_new();
  if (!*pool || !cap) return -1;
  bg_run *r = mem_alloc(cap * sizeof *r);
  if (!r) return -1;
  mem_free(j->runs);
  j->runs = r;
  j->caprun = cap;
  j->nruns = 0;
  j->early = 1;
  atomic_store(&j->nposted, 0);
  atomic_store(&j->closed, 0);
  atomic_store(&j->cancel, 0);
  return 0;
}

bg_run *bg_early_add(bg_job *j, bg_pool **pool, const uint8_t *actor,
                     uint32_t aidx, uint32_t first, uint32_t n,
                     const hashchain *from, const uint8_t *seal,
                     const uint8_t *start) {
  if (!j->early || j->nruns == j->caprun) return NULL;
  size_t *lens = mem_alloc((n ? n : 1) * sizeof *lens);
  if (!lens) return NULL;
  /* the worker may be reading runs[0..nruns): written only past them */
  bg_run *r = &j->runs[j->nruns];
  memset(r, 0, sizeof *r);
  r->lens = lens;
  memcpy(r->actor, actor, sizeof r->actor);
  memcpy(r->from, from, sizeof r->from);
  r->idx = aidx;
  r->first = first;
  r->n = n;
  r->seal = seal;
  r->start = start;
  j->nruns++;
  atomic_store_explicit(&j->nposted, j->nruns, memory_order_release);
  if (j->nruns == 1) post(*pool, j);
  return r;
}

void bg_early_close(bg_job *j) {
  atomic_store_explicit(&j->closed, 1, memory_order_release);
}

void bg_cancel(bg_job *j) {
  atomic_store_explicit(&j->cancel, 1, memory_order_relaxed);
  bg_free(j);
}

static _Atomic uint64_t early_done;

uint64_t bg_early_done(void) { return atomic_load(&early_done); }

int bg_finish(bg_job *j) {
  bg_pool *p = j->pool;
  if (j->early && !atomic_load_explicit(&j->cancel, memory_order_relaxed))
    atomic_fetch_add(&early_done, 1);
  /* nothing more comes: an early worker must not wait for it */
  atomic_store_explicit(&j->closed, 1, memory_order_release);
  int posted = BG_POSTED;
  if (p && atomic_compare_exchange_strong(&p->state, &posted, BG_IDLE)) {
    worker(j); /* not started yet: do it here */
    j->pool = NULL;
  } else if (p) {
    if (!spin_for(p, BG_DONE)) {
      pthread_mutex_lock(&p->mu);
      while (atomic_load(&p->state) != BG_DONE)
        pthread_cond_wait(&p->done, &p->mu);
      pthread_mutex_unlock(&p->mu);
    }
    atomic_store(&p->state, BG_IDLE);
    j->pool = NULL;
  }
  if (p && p->job == j) p->job = NULL;
  for (uint32_t i = 0; i < j->nruns; i++)
    if (!j->runs[i].ok) return ACCORD_ESEAL;
  return 0;
}

int bg_call(bg_job *j, bg_pool **pool, void (*fn)(void *), void *arg) {
  j->fn = fn;
  j->arg = arg;
  if ((*pool && (*pool)->pid != getpid()) ||
      (!*pool && !(*pool = pool_new()))) {
    fn(arg); /* see bg_start */
    return 1;
  }
  post(*pool, j);
  return 0;
}

int bg_done(bg_job *j) {
  bg_pool *p = j->pool;
  if (!p) return 1;
  if (atomic_load_explicit(&p->state, memory_order_acquire) != BG_DONE)
    return 0;
  atomic_store(&p->state, BG_IDLE);
  j->pool = NULL;
  p->job = NULL;
  return 1;
}

void bg_free(bg_job *j) {
  if (j->pool) bg_finish(j);
  for (uint32_t i = 0; i < j->nruns; i++) mem_free(j->runs[i].lens);
  mem_free(j->runs);
  mem_free(j->body);
  mem_free(j->len);
  memset(j, 0, sizeof *j);
}
