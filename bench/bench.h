/*
 * bench.h — the commands of accord-bench and what they share.
 *
 * Each trace command takes a loaded trace and the parsed options, prints
 * one JSON line to stdout on success and returns 0, or reports one line to
 * stderr (bench_fail) and returns -1. `crdt` takes its own options and
 * prints one line per benchmark. main.c owns argument parsing and dispatch.
 */
#ifndef BENCH_BENCH_H
#define BENCH_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "trace.h"

typedef struct bench_opts {
  const char *name; /* the trace's name for the "trace" field */
  const char *out;  /* --out PATH: write the final text there, or NULL */
  unsigned repeat;  /* --repeat N: report the best of N timed runs (>= 1) */
} bench_opts;

/* run_baseline.c: the gap buffer alone. */
int cmd_baseline(const trace *t, const bench_opts *o);

/* Replays every patch of sequential trace t on a gap buffer, best of
 * `repeat` runs; *ms is the best time and *text (malloc'd) the final text
 * of the last run. Reports and returns -1 on a position out of range. */
int baseline_replay(const trace *t, unsigned repeat, double *ms, char **text,
                    size_t *len);

/* run_trace.c: sequential trace, one accord transaction per patch. */
int cmd_trace(const trace *t, const bench_opts *o);

/* run_verify.c: sequential trace; importing its sealed batches with and
 * without seal verification. */
int cmd_verify(const trace *t, const bench_opts *o);

/* run_merge.c: concurrent trace, one accord replica per agent. */
int cmd_merge(const trace *t, const bench_opts *o);

/* Options of `accord-bench crdt`. */
typedef struct crdt_opts {
  size_t n;          /* --n: the suite's N (default 6000) */
  uint64_t seed;     /* --seed: of the random inputs (default 42) */
  const char *only;  /* --only NAME: one benchmark or group, or NULL */
  int all;           /* --all: also the heavy ones (B4x100) */
  const char *trace; /* --trace PATH: B4's editing trace */
} crdt_opts;

/* run_crdt.c: the crdt-benchmarks suite (B1-B4), one JSON line each. Stops
 * at the first failure (reported) and returns -1. */
int cmd_crdt(const crdt_opts *o);

/* 1 if --only NAME selects at least one benchmark. */
int crdt_known(const char *name);

/* run_store.c: `accord-bench store [options]` (argv[0] is the first
 * option): the node store's durable and batched commits, the history's
 * size on disk, reopening. Returns the exit status (0, 1, 2 usage). */
int cmd_store(int argc, char **argv);

/* run_net.c: `accord-bench sync FILE`: initial sync of a trace's history
 * to a fresh node over encrypted loopback TCP. */
int cmd_sync(const trace *t, const bench_opts *o);

/* run_net.c: `accord-bench gossip [--edits N]`: live edits between two
 * nodes (latency, sustained rate), then 32 nodes of degree 3. Returns 0 or
 * -1 (reported). */
int cmd_gossip(unsigned edits);

/* run_crypto.c: `accord-bench crypto`, the cost of a chain step and of a
 * seal check (issue 5's floor). */
int cmd_crypto(void);

#endif /* BENCH_BENCH_H */
