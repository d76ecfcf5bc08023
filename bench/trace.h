/*
 * trace.h — editing traces loaded into flat arrays.
 *
 * A trace file (see /work/shared/traces/README.md) is JSON, usually gzipped.
 * trace_load reads it (through `gzip -dc` for *.gz), parses it with the
 * bounded parser of json.h, checks its shape and copies what the replays need
 * into three arrays: transactions, patches, and one pool holding every
 * inserted string. The JSON tree is freed before trace_load returns, so a
 * replay touches only compact, contiguous data.
 *
 * Invariants after a successful load: every string is valid UTF-8 and
 * NUL-terminated; txns[i] owns patches[first_patch .. first_patch+npatches);
 * in a concurrent trace every parent index is < its child's index (index
 * order is a topological order), every agent < num_agents, and num_children
 * counts the transactions naming this one as a parent. Positions are NOT
 * checked against document lengths here: replays do that.
 */
#ifndef BENCH_TRACE_H
#define BENCH_TRACE_H

#include <stddef.h>
#include <stdint.h>

#define TRACE_MAX_AGENTS 4096

typedef struct trace_patch {
  size_t pos;      /* code points */
  size_t del;      /* code points deleted at pos */
  const char *ins; /* UTF-8 inserted at pos after the deletion */
  size_t ins_len;  /* bytes */
  size_t ins_cps;  /* code points */
} trace_patch;

typedef struct trace_txn {
  size_t first_patch, npatches;
  /* Commit time for the replay, ms since the epoch: the trace's own time
   * when every transaction has a plausible one (made non-decreasing),
   * otherwise TRACE_TIME_BASE + 1 ms per transaction. Deterministic. */
  int64_t time_ms;
  /* Concurrent traces only (0 / NULL otherwise). */
  size_t agent;
  const size_t *parents;
  size_t nparents;
  size_t num_children;
} trace_txn;

#define TRACE_TIME_BASE INT64_C(1609459200000) /* 2021-01-01T00:00:00Z */

typedef struct trace {
  int concurrent;
  const char *start; /* startContent ("" when absent) */
  size_t start_len, start_cps;
  const char *end; /* endContent */
  size_t end_len, end_cps;
  size_t num_agents; /* concurrent: numAgents; sequential: 1 */
  trace_txn *txns;
  size_t ntxns;
  trace_patch *patches;
  size_t npatches;
  uint64_t ins_cps, del_cps; /* totals over all patches */
  /* storage behind the pointers above */
  char *pool;
  size_t *parent_pool;
} trace;

/* Loads the trace at path. Reports (bench_fail) and returns -1 on a missing
 * or unreadable file, bad gzip data, malformed JSON or a malformed trace. */
int trace_load(const char *path, trace **out);

/* NULL is a no-op. */
void trace_free(trace *t);

/* The file's base name without ".json.gz" / ".gz" / ".json", malloc'd
 * (NULL on out of memory). */
char *trace_name(const char *path);

#endif /* BENCH_TRACE_H */
