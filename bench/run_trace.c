/*
 * run_trace.c — `accord-bench trace`: a sequential trace replayed on accord
 * with one transaction per patch, as a user's keystrokes would be committed
 * and sent one by one.
 *
 * Timed (ms): for every patch, accord_txn_begin + accord_txn_set_time +
 * accord_text_splice + accord_txn_commit. Not timed: creating the document
 * and its text object (one setup transaction), reading the text back.
 * change_bytes sums accord_change_info.len over the commits: the encoded
 * changes a peer would receive. After the replay: the text must equal
 * endContent; save/load are measured (bench_save_load) and the loaded text
 * checked too; mem_bytes is accord_doc_mem_bytes of the replayed document
 * after that save (which packs its history into one frame); before any
 * save, mem_replay_bytes is the same right after the replay (the worker
 * may still be packing cold changes, and the tail it has not reached yet
 * is unpacked), and mem_settled_bytes after accord_doc_settle waited for
 * that packing to finish (settle_ms: how long the wait took);
 * baseline_ms is the gap buffer doing the same patches in this process.
 *
 * Actors: the editor is actor 1, the loaded copy actor 2 (engine.h).
 */
#include "bench.h"
#include "engine.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct replay_result {
  double ms;
  uint64_t change_bytes;
} replay_result;

/* Creates the document with its text object (and startContent). */
static int create_doc(const trace *t, accord_doc **out, accord_id *text)
{
  uint8_t actor[ACCORD_ACTOR_BYTES];
  accord_doc *doc = NULL;
  accord_txn *txn = NULL;
  int rc;

  *out = NULL;
  bench_actor(1, actor);
  rc = accord_doc_new(bench_doc_id, actor, &doc);
  if (rc != 0)
    return bench_efail(rc, "accord_doc_new");
  rc = accord_txn_begin(doc, &txn);
  if (rc != 0) {
    accord_doc_free(doc);
    return bench_efail(rc, "setup: accord_txn_begin");
  }
  accord_txn_set_time(txn, t->ntxns > 0 ? t->txns[0].time_ms
                                        : TRACE_TIME_BASE);
  rc = accord_map_put_object(txn, ACCORD_ROOT, "text", ACCORD_TEXT, text);
  if (rc == 0 && t->start_len > 0)
    rc = accord_text_splice(txn, *text, 0, 0, t->start, t->start_len);
  if (rc != 0) {
    accord_txn_abort(txn);
    accord_doc_free(doc);
    return bench_efail(rc, "setup: creating the text object");
  }
  rc = accord_txn_commit(txn, NULL);
  if (rc != 0) {
    accord_doc_free(doc);
    return bench_efail(rc, "setup: accord_txn_commit");
  }
  *out = doc;
  return 0;
}

/* One timed replay into a new document, returned in *out. */
static int replay(const trace *t, accord_doc **out, accord_id *text,
                  replay_result *res)
{
  accord_doc *doc;
  double t0, t1;
  uint64_t bytes = 0;

  if (create_doc(t, &doc, text) != 0)
    return -1;
  t0 = bench_now_ms();
  for (size_t i = 0; i < t->ntxns; i++) {
    const trace_txn *x = &t->txns[i];
    for (size_t k = 0; k < x->npatches; k++) {
      const trace_patch *p = &t->patches[x->first_patch + k];
      accord_change_info info;
      accord_txn *txn;
      int rc = accord_txn_begin(doc, &txn);
      if (rc != 0) {
        accord_doc_free(doc);
        return bench_efail(rc, "txn %zu patch %zu: accord_txn_begin", i, k);
      }
      accord_txn_set_time(txn, x->time_ms);
      rc = accord_text_splice(txn, *text, p->pos, p->del, p->ins, p->ins_len);
      if (rc != 0) {
        accord_txn_abort(txn);
        accord_doc_free(doc);
        return bench_efail(rc,
                           "txn %zu patch %zu: accord_text_splice(pos %zu, "
                           "del %zu, %zu bytes)",
                           i, k, p->pos, p->del, p->ins_len);
      }
      rc = accord_txn_commit(txn, &info);
      if (rc != 0) {
        accord_doc_free(doc);
        return bench_efail(rc, "txn %zu patch %zu: accord_txn_commit", i, k);
      }
      bytes += info.len;
    }
  }
  t1 = bench_now_ms();
  res->ms = t1 - t0;
  res->change_bytes = bytes;
  *out = doc;
  return 0;
}

int cmd_trace(const trace *t, const bench_opts *o)
{
  accord_doc *doc = NULL;
  accord_id text = {0, {0}};
  replay_result best = {0, 0};
  bench_saveload sl;
  char *base_text = NULL;
  size_t base_len = 0, mem, mem_replay, mem_settled;
  double settle_ms, t0;
  double base_ms = 0;
  uint64_t ops = t->ins_cps + t->del_cps;
  int rc = -1;

  for (unsigned r = 0; r < o->repeat; r++) {
    replay_result res = {0, 0};
    accord_doc_free(doc);
    doc = NULL;
    if (replay(t, &doc, &text, &res) != 0)
      goto done;
    if (r == 0 || res.ms < best.ms)
      best = res;
  }
  mem_replay = accord_doc_mem_bytes(doc);
  t0 = bench_now_ms();
  rc = accord_doc_settle(doc);
  settle_ms = bench_now_ms() - t0;
  if (rc != 0) {
    rc = bench_efail(rc, "accord_doc_settle");
    goto done;
  }
  rc = -1;
  mem_settled = accord_doc_mem_bytes(doc);
  if (bench_check_doc(doc, text, t, "replayed document", o->out) != 0)
    goto done;
  if (bench_save_load(doc, text, t, 2, o->repeat, &sl) != 0)
    goto done;
  mem = accord_doc_mem_bytes(doc);
  if (baseline_replay(t, o->repeat, &base_ms, &base_text, &base_len) != 0)
    goto done;
  if (bench_check_text("baseline", base_text, base_len, t->end,
                       t->end_len) != 0)
    goto done;

  printf("{\"trace\":");
  bench_print_json_string(stdout, o->name, strlen(o->name));
  printf(",\"patches\":%zu,\"ops\":%" PRIu64 ",\"ms\":%.3f,"
         "\"ops_per_s\":%.0f,\"change_bytes\":%" PRIu64 ","
         "\"change_bytes_per_edit\":%.2f,\"save_bytes\":%zu,"
         "\"save_ms\":%.3f,\"first_save_ms\":%.3f,\"load_ms\":%.3f,"
         "\"mem_replay_bytes\":%zu,\"mem_settled_bytes\":%zu,"
         "\"settle_ms\":%.3f,"
         "\"mem_bytes\":%zu,\"baseline_ms\":%.3f,\"ratio_vs_baseline\":%.2f}\n",
         t->npatches, ops, best.ms,
         best.ms > 0 ? (double)ops / (best.ms / 1e3) : 0.0, best.change_bytes,
         t->npatches > 0 ? (double)best.change_bytes / (double)t->npatches
                         : 0.0,
         sl.save_bytes, sl.save_ms, sl.first_save_ms, sl.load_ms, mem_replay,
         mem_settled, settle_ms, mem,
         base_ms,
         base_ms > 0 ? best.ms / base_ms : 0.0);
  rc = fflush(stdout) == 0 ? 0 : bench_fail("cannot write to stdout");
done:
  free(base_text);
  accord_doc_free(doc);
  return rc;
}
