/*
 * trace_util.h — loads the editing traces in /work/shared/traces (see its
 * README.md) for the text and sync tests.
 *
 * A trace is read whole into memory: every inserted string lives in one
 * pool owned by the trace, patches point into it. The JSON reader is
 * written for these files (objects, arrays, strings with escapes including
 * \uXXXX surrogate pairs, integers); unknown keys are skipped whatever their
 * value.
 */
#ifndef ACCORD_TRACE_UTIL_H
#define ACCORD_TRACE_UTIL_H

#include <stddef.h>

typedef struct trace_patch {
  size_t pos;      /* code points */
  size_t del;      /* code points */
  const char *ins; /* UTF-8, NUL-terminated, points into the trace's pool */
  size_t ins_len;  /* bytes */
  size_t ins_cps;  /* code points */
} trace_patch;

typedef struct trace_txn {
  trace_patch *patches;
  size_t npatches;
  size_t *parents; /* concurrent traces only: indexes of earlier txns */
  size_t nparents;
  int agent; /* concurrent traces only; 0 otherwise */
} trace_txn;

typedef struct trace {
  int concurrent; /* "kind": "concurrent" */
  int num_agents;
  const char *start_content, *end_content; /* into the pool; "" if absent */
  size_t start_len, end_len;               /* bytes */
  trace_txn *txns;
  size_t ntxns;
  size_t npatches; /* over all txns */
  /* private */
  char *pool_;
  trace_patch *patch_store_;
  size_t *parent_store_;
} trace;

/* Reads name (a file in ACCORD_TRACES_DIR, gzip-compressed JSON). Returns 0,
 * or -1 when the file is missing or is not a trace (a message is printed). */
int trace_load(const char *name, trace *t);
void trace_free(trace *t);

#endif
