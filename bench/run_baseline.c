/*
 * run_baseline.c — `accord-bench baseline`: replays a sequential trace on the
 * plain gap buffer of gapbuf.c. The same replay is the baseline that
 * `accord-bench trace` measures the engine against, in the same process.
 *
 * Timed: the splices only (buffer creation and reading the text back are
 * outside the clock, as they are for the engine).
 */
#include "bench.h"
#include "gapbuf.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int replay_once(const trace *t, double *ms, char **text, size_t *len)
{
  gapbuf g;
  double t0, t1;
  int rc;

  if (gapbuf_init(&g, 4096) != GAPBUF_OK)
    return bench_fail("out of memory");
  if (gapbuf_splice(&g, 0, 0, t->start, t->start_len) != GAPBUF_OK) {
    gapbuf_free(&g);
    return bench_fail("out of memory");
  }
  t0 = bench_now_ms();
  for (size_t i = 0; i < t->ntxns; i++) {
    const trace_txn *x = &t->txns[i];
    for (size_t k = 0; k < x->npatches; k++) {
      const trace_patch *p = &t->patches[x->first_patch + k];
      rc = gapbuf_splice(&g, p->pos, p->del, p->ins, p->ins_len);
      if (rc != GAPBUF_OK) {
        if (rc == GAPBUF_ERANGE)
          bench_fail("baseline: txn %zu patch %zu: position %zu + %zu past "
                     "the end of the text (%zu code points)",
                     i, k, p->pos, p->del, g.cps);
        else
          bench_fail("baseline: out of memory");
        gapbuf_free(&g);
        return -1;
      }
    }
  }
  t1 = bench_now_ms();
  *ms = t1 - t0;
  *text = gapbuf_text(&g, len);
  gapbuf_free(&g);
  if (*text == NULL)
    return bench_fail("out of memory");
  return 0;
}

int baseline_replay(const trace *t, unsigned repeat, double *ms, char **text,
                    size_t *len)
{
  *text = NULL;
  for (unsigned r = 0; r < repeat; r++) {
    double run_ms = 0;
    free(*text);
    *text = NULL;
    if (replay_once(t, &run_ms, text, len) != 0)
      return -1;
    if (r == 0 || run_ms < *ms)
      *ms = run_ms;
  }
  return 0;
}

int cmd_baseline(const trace *t, const bench_opts *o)
{
  char *text = NULL;
  size_t len = 0;
  double ms = 0;
  int rc = -1;
  uint64_t ops = t->ins_cps + t->del_cps;

  if (baseline_replay(t, o->repeat, &ms, &text, &len) != 0)
    goto done;
  if (o->out != NULL && bench_write_file(o->out, text, len) != 0)
    goto done;
  if (bench_check_text("baseline", text, len, t->end, t->end_len) != 0)
    goto done;
  printf("{\"trace\":");
  bench_print_json_string(stdout, o->name, strlen(o->name));
  printf(",\"patches\":%zu,\"ops\":%llu,\"baseline_ms\":%.3f,"
         "\"ops_per_s\":%.0f}\n",
         t->npatches, (unsigned long long)ops, ms,
         ms > 0 ? (double)ops / (ms / 1e3) : 0.0);
  rc = fflush(stdout) == 0 ? 0 : bench_fail("cannot write to stdout");
done:
  free(text);
  return rc;
}
