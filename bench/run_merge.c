/*
 * run_merge.c — `accord-bench merge`: a concurrent trace replayed on accord,
 * one replica per agent, exchanging changes the way peers would.
 *
 * Why one replica per agent (not one per branch): a document's local actor
 * is fixed when it is created, and an agent's edits must all carry that
 * agent's actor, on one hash chain. One long-lived replica per agent gives
 * exactly that, with no forking of documents. It is correct when every
 * agent's transactions form a causal chain (each descends from the same
 * agent's previous one); then, for txn i by agent a, the replica of a holds
 * a subset of i's history, and importing the missing changes makes it hold
 * exactly i's history: the state the trace's positions refer to. If an
 * agent edits on two concurrent branches, that agent's chain would fork;
 * this is detected and reported, never replayed into garbage.
 *
 * Bookkeeping (bench side, never trusted to the engine):
 *   vv[i*A + b]   how many of agent b's txns are in the history of txn i,
 *                 txn i included. Exact because each agent's txns are a
 *                 chain: a history holds a prefix of every agent's chain.
 *   have[a*A + b] the same for what replica a holds now.
 *   batch[i]      the one-change batch txn i produced, taken right after
 *                 its commit with accord_doc_changes_since(replica, version
 *                 before the commit); NULL when the txn changed nothing.
 * For txn i by agent a: target = max of vv over i's parents; require
 * target[a] == number of a's earlier txns (the chain condition) and
 * have[a] <= target; import the batches of the missing txns in index order
 * (a topological order: the agents' ascending runs merged), expecting
 * nothing to stay pending; then edit.
 *
 * Timed (ms): the whole replay loop, best of --repeat runs that read no
 * clock inside it. One more run splits it: edit_ms, begin + splices + commit;
 * sync_ms: taking versions and batches and importing them. merge_ms: a fresh
 * document importing accord_doc_changes_since(NULL) of every replica. Then
 * every replica pulls from every other with its own version vector, and all
 * of them, and the merged document, must read as endContent.
 *
 * Actors: agent a is actor a+1 (so agent 0 has the lowest id); the setup
 * change creating the text object is actor A+1, the merged document A+2,
 * the reloaded copy A+3.
 */
#include "bench.h"
#include "engine.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Cap on txns x agents, the size of the vv table. */
#define MERGE_MAX_VV_CELLS ((size_t)1 << 26)

typedef struct merge_run {
  const trace *t;
  size_t A, n;
  accord_doc **rep;  /* [A] one replica per agent */
  size_t *have;      /* [A*A] */
  size_t *vv;        /* [n*A] */
  size_t *seqno;     /* [n] position of txn i in its agent's chain */
  size_t *chain;     /* [n] txn indexes grouped by agent, ascending */
  size_t *chain_off; /* [A+1] agent b's chain is chain[chain_off[b]..[b+1]) */
  uint8_t **batch;   /* [n] */
  size_t *batch_len; /* [n] */
  size_t *missing;   /* [n] scratch */
  size_t *target;    /* [A] scratch */
  accord_id text;
  accord_doc *merged;
  int split;         /* time edit_ms and sync_ms (costs a clock read each) */
  /* results */
  double ms, edit_ms, sync_ms, merge_ms;
  uint64_t change_bytes, sync_bytes, imports;
} merge_run;

static void run_free(merge_run *m)
{
  if (m->rep != NULL)
    for (size_t a = 0; a < m->A; a++)
      accord_doc_free(m->rep[a]);
  if (m->batch != NULL)
    for (size_t i = 0; i < m->n; i++)
      accord_free(m->batch[i]);
  accord_doc_free(m->merged);
  free(m->rep);
  free(m->have);
  free(m->vv);
  free(m->seqno);
  free(m->chain);
  free(m->chain_off);
  free(m->batch);
  free(m->batch_len);
  free(m->missing);
  free(m->target);
  memset(m, 0, sizeof(*m));
}

/* Allocations, agent chains, and the replicas holding the setup change. */
static int run_init(merge_run *m, const trace *t)
{
  uint8_t actor[ACCORD_ACTOR_BYTES];
  accord_doc *setup = NULL;
  accord_txn *txn = NULL;
  uint8_t *batch = NULL;
  size_t len, A = t->num_agents, n = t->ntxns;
  int rc;

  memset(m, 0, sizeof(*m));
  m->t = t;
  m->A = A;
  m->n = n;
  if (n > MERGE_MAX_VV_CELLS / A)
    return bench_fail("%zu txns x %zu agents is too large for this replay",
                      n, A);
  m->rep = calloc(A, sizeof(*m->rep));
  m->have = calloc(A * A, sizeof(size_t));
  m->vv = calloc(n * A + 1, sizeof(size_t));
  m->seqno = calloc(n + 1, sizeof(size_t));
  m->chain = calloc(n + 1, sizeof(size_t));
  m->chain_off = calloc(A + 1, sizeof(size_t));
  m->batch = calloc(n + 1, sizeof(*m->batch));
  m->batch_len = calloc(n + 1, sizeof(size_t));
  m->missing = calloc(n + 1, sizeof(size_t));
  m->target = calloc(A, sizeof(size_t));
  if (!m->rep || !m->have || !m->vv || !m->seqno || !m->chain ||
      !m->chain_off || !m->batch || !m->batch_len || !m->missing ||
      !m->target)
    return bench_fail("out of memory");

  /* Chains: counting sort of txn indexes by agent. */
  for (size_t i = 0; i < n; i++)
    m->chain_off[t->txns[i].agent + 1]++;
  for (size_t b = 0; b < A; b++)
    m->chain_off[b + 1] += m->chain_off[b];
  for (size_t b = 0; b < A; b++)
    m->target[b] = m->chain_off[b];
  for (size_t i = 0; i < n; i++) {
    size_t b = t->txns[i].agent;
    m->seqno[i] = m->target[b] - m->chain_off[b];
    m->chain[m->target[b]++] = i;
  }

  /* The setup change: the text object every replica edits. */
  bench_actor(A + 1, actor);
  rc = accord_doc_new(bench_doc_id, actor, &setup);
  if (rc != 0)
    return bench_efail(rc, "setup: accord_doc_new");
  rc = accord_txn_begin(setup, &txn);
  if (rc == 0) {
    accord_txn_set_time(txn, TRACE_TIME_BASE - 1);
    rc = accord_map_put_object(txn, ACCORD_ROOT, "text", ACCORD_TEXT,
                               &m->text);
    if (rc == 0)
      rc = accord_txn_commit(txn, NULL);
    else
      accord_txn_abort(txn);
  }
  if (rc == 0)
    rc = accord_doc_changes_since(setup, NULL, 0, &batch, &len);
  accord_doc_free(setup);
  if (rc != 0)
    return bench_efail(rc, "setup: creating the text object");

  for (size_t a = 0; a < A && rc == 0; a++) {
    bench_actor(a + 1, actor);
    rc = accord_doc_new(bench_doc_id, actor, &m->rep[a]);
    if (rc == 0)
      rc = accord_doc_import(m->rep[a], batch, len, NULL);
  }
  accord_free(batch);
  if (rc != 0)
    return bench_efail(rc, "setup: creating the agents' replicas");
  return 0;
}

/* Brings replica a to exactly the history of txn i's parents. */
static int catch_up(merge_run *m, size_t i)
{
  const trace_txn *x = &m->t->txns[i];
  size_t A = m->A, a = x->agent, nmiss = 0;
  size_t *have = m->have + a * A, *target = m->target;

  memset(target, 0, A * sizeof(size_t));
  for (size_t k = 0; k < x->nparents; k++) {
    const size_t *pv = m->vv + x->parents[k] * A;
    for (size_t b = 0; b < A; b++)
      if (pv[b] > target[b])
        target[b] = pv[b];
  }
  if (target[a] != m->seqno[i]) {
    size_t prev = m->chain[m->chain_off[a] + m->seqno[i] - 1];
    return bench_fail("agent %zu edits two concurrent branches: txn %zu does "
                      "not descend from txn %zu, the agent's previous edit "
                      "(its hash chain would fork; this replay needs each "
                      "agent's txns to be causally ordered)",
                      a, i, prev);
  }
  for (size_t b = 0; b < A; b++)
    if (have[b] > target[b])
      return bench_fail("txn %zu: the replica of agent %zu holds %zu txns of "
                        "agent %zu, but the txn's history only %zu",
                        i, a, have[b], b, target[b]);
  /* The missing txns in index order: each agent's are ascending already
   * (chain[]), so the agents' runs are merged, smallest head first (have[]
   * is the cursor: it ends equal to target). A qsort per transaction was
   * ~180 instructions of bookkeeping in the timed loop (callgrind), more
   * than a version taken per edit. */
  for (;;) {
    size_t best = A, bi = 0;
    for (size_t b = 0; b < A; b++) {
      if (have[b] == target[b])
        continue;
      size_t j = m->chain[m->chain_off[b] + have[b]];
      if (best == A || j < bi) {
        best = b;
        bi = j;
      }
    }
    if (best == A)
      break;
    m->missing[nmiss++] = bi;
    have[best]++;
  }
  for (size_t k = 0; k < nmiss; k++) {
    size_t j = m->missing[k];
    accord_import_stats st;
    int rc;
    if (m->batch[j] == NULL)
      continue;
    rc = accord_doc_import(m->rep[a], m->batch[j], m->batch_len[j], &st);
    if (rc != 0)
      return bench_efail(rc, "txn %zu: importing txn %zu into agent %zu's "
                         "replica", i, j, a);
    if (st.pending != 0 || st.applied != 1)
      return bench_fail("txn %zu: importing txn %zu into agent %zu's replica "
                        "applied %zu changes and left %zu pending (expected "
                        "1 and 0)",
                        i, j, a, st.applied, st.pending);
    m->imports++;
  }
  return 0;
}

/* Applies txn i on its agent's replica and keeps its change as a batch. */
static int edit(merge_run *m, size_t i)
{
  const trace *t = m->t;
  const trace_txn *x = &t->txns[i];
  size_t a = x->agent;
  accord_doc *doc = m->rep[a];
  accord_change_info info;
  accord_txn *txn = NULL;
  uint8_t *ver = NULL;
  size_t ver_len = 0;
  double t0, t1, t2;
  int rc;

  t0 = m->split ? bench_now_ms() : 0;
  rc = accord_doc_version(doc, &ver, &ver_len);
  if (rc != 0)
    return bench_efail(rc, "txn %zu: accord_doc_version", i);
  t1 = m->split ? bench_now_ms() : 0;
  rc = accord_txn_begin(doc, &txn);
  if (rc != 0) {
    accord_free(ver);
    return bench_efail(rc, "txn %zu: accord_txn_begin", i);
  }
  accord_txn_set_time(txn, x->time_ms);
  for (size_t k = 0; k < x->npatches; k++) {
    const trace_patch *p = &t->patches[x->first_patch + k];
    rc = accord_text_splice(txn, m->text, p->pos, p->del, p->ins, p->ins_len);
    if (rc != 0) {
      accord_txn_abort(txn);
      accord_free(ver);
      return bench_efail(rc,
                         "txn %zu (agent %zu) patch %zu: accord_text_splice"
                         "(pos %zu, del %zu, %zu bytes)",
                         i, a, k, p->pos, p->del, p->ins_len);
    }
  }
  rc = accord_txn_commit(txn, &info);
  if (rc != 0) {
    accord_free(ver);
    return bench_efail(rc, "txn %zu: accord_txn_commit", i);
  }
  t2 = m->split ? bench_now_ms() : 0;
  m->change_bytes += info.len;
  if (info.seq != 0) {
    rc = accord_doc_changes_since(doc, ver, ver_len, &m->batch[i],
                                  &m->batch_len[i]);
    if (rc != 0) {
      accord_free(ver);
      return bench_efail(rc, "txn %zu: accord_doc_changes_since", i);
    }
    m->sync_bytes += m->batch_len[i];
  }
  accord_free(ver);
  if (m->split) {
    m->edit_ms += t2 - t1;
    m->sync_ms += (t1 - t0) + (bench_now_ms() - t2);
  }

  size_t *have = m->have + a * m->A;
  have[a]++;
  memcpy(m->vv + i * m->A, have, m->A * sizeof(size_t));
  return 0;
}

static int run_once(merge_run *m, const trace *t, int split)
{
  uint8_t actor[ACCORD_ACTOR_BYTES];
  double t0, t1;
  char what[96];
  int rc;

  if (run_init(m, t) != 0)
    return -1;
  m->split = split;
  t0 = bench_now_ms();
  for (size_t i = 0; i < t->ntxns; i++) {
    double s0 = split ? bench_now_ms() : 0;
    if (catch_up(m, i) != 0)
      return -1;
    if (split)
      m->sync_ms += bench_now_ms() - s0;
    if (edit(m, i) != 0)
      return -1;
  }
  t1 = bench_now_ms();
  m->ms = t1 - t0;

  /* Merge every replica into a fresh document. */
  bench_actor(m->A + 2, actor);
  rc = accord_doc_new(bench_doc_id, actor, &m->merged);
  if (rc != 0)
    return bench_efail(rc, "merge: accord_doc_new");
  t0 = bench_now_ms();
  for (size_t a = 0; a < m->A; a++) {
    snprintf(what, sizeof(what), "merge: importing agent %zu's replica", a);
    if (bench_pull(m->merged, m->rep[a], 0, what) != 0)
      return -1;
  }
  m->merge_ms = bench_now_ms() - t0;

  /* Every replica pulls what it lacks from every other. */
  for (size_t a = 0; a < m->A; a++) {
    for (size_t b = 0; b < m->A; b++) {
      if (a == b)
        continue;
      snprintf(what, sizeof(what), "sync: agent %zu pulling from agent %zu",
               a, b);
      if (bench_pull(m->rep[a], m->rep[b], 1, what) != 0)
        return -1;
    }
  }
  for (size_t a = 0; a < m->A; a++) {
    snprintf(what, sizeof(what), "replica of agent %zu", a);
    if (bench_check_doc(m->rep[a], m->text, t, what, NULL) != 0)
      return -1;
  }
  return 0;
}

int cmd_merge(const trace *t, const bench_opts *o)
{
  merge_run m, best;
  bench_saveload sl;
  uint64_t ops = t->ins_cps + t->del_cps;
  size_t mem;
  int rc = -1;

  memset(&m, 0, sizeof(m));
  memset(&best, 0, sizeof(best));
  /* The last repetition splits the replay into edit_ms and sync_ms; the
   * others time it whole, without two clock reads per transaction. */
  for (unsigned r = 0; r <= o->repeat; r++) {
    int split = r == o->repeat;
    run_free(&m);
    if (run_once(&m, t, split) != 0)
      goto done;
    if (split) {
      best.edit_ms = m.edit_ms;
      best.sync_ms = m.sync_ms;
      continue;
    }
    if (r == 0 || m.ms < best.ms)
      best.ms = m.ms;
    if (r == 0 || m.merge_ms < best.merge_ms)
      best.merge_ms = m.merge_ms;
  }
  if (bench_check_doc(m.merged, m.text, t, "merged document", o->out) != 0)
    goto done;
  if (bench_save_load(m.merged, m.text, t, m.A + 3, o->repeat, &sl) != 0)
    goto done;
  mem = accord_doc_mem_bytes(m.merged);

  printf("{\"trace\":");
  bench_print_json_string(stdout, o->name, strlen(o->name));
  printf(",\"txns\":%zu,\"patches\":%zu,\"ops\":%" PRIu64 ",\"agents\":%zu,"
         "\"ms\":%.3f,\"edit_ms\":%.3f,\"sync_ms\":%.3f,"
         "\"change_bytes\":%" PRIu64 ",\"sync_bytes\":%" PRIu64 ","
         "\"imports\":%" PRIu64 ",\"merge_ms\":%.3f,\"save_bytes\":%zu,"
         "\"save_ms\":%.3f,\"first_save_ms\":%.3f,\"load_ms\":%.3f,"
         "\"mem_bytes\":%zu}\n",
         t->ntxns, t->npatches, ops, m.A, best.ms, best.edit_ms, best.sync_ms,
         m.change_bytes, m.sync_bytes, m.imports, best.merge_ms,
         sl.save_bytes, sl.save_ms, sl.first_save_ms, sl.load_ms, mem);
  rc = fflush(stdout) == 0 ? 0 : bench_fail("cannot write to stdout");
done:
  run_free(&m);
  return rc;
}
