/*
 * bench.h — the commands of accord-bench and what they share.
 *
 * Each command takes a loaded trace and the parsed options, prints one JSON
 * line to stdout on success and returns 0, or reports one line to stderr
 * (bench_fail) and returns -1. main.c owns argument parsing and dispatch.
 */
#ifndef BENCH_BENCH_H
#define BENCH_BENCH_H

#include <stddef.h>

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

/* run_merge.c: concurrent trace, one accord replica per agent. */
int cmd_merge(const trace *t, const bench_opts *o);

#endif /* BENCH_BENCH_H */
