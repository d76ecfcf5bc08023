/*
 * engine.h — helpers around accord.h shared by the engine commands
 * (run_trace.c, run_merge.c): fixed ids, reporting accord error codes,
 * reading and checking a text, and measuring save/load.
 *
 * Determinism: every document of a run uses the same doc id and actors
 * derived from small integers, and every commit gets the trace's time, so
 * two runs commit byte-identical changes.
 */
#ifndef BENCH_ENGINE_H
#define BENCH_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "accord.h"
#include "trace.h"
#include "util.h"

/* The doc id every replica of the benchmark document shares. */
extern const uint8_t bench_doc_id[ACCORD_DOC_ID_BYTES];

/* Actor n as 8 big-endian bytes, so actors order like their numbers.
 * n = 0 is never used: the root object's actor is all zeros. */
void bench_actor(uint64_t n, uint8_t out[ACCORD_ACTOR_BYTES]);

/* Like bench_fail, with ": ENAME (description)" of accord code rc appended.
 * Returns -1. */
int bench_efail(int rc, const char *fmt, ...) BENCH_PRINTF(2, 3);

/* Reads text object `text` of doc, writes it to out_path when that is not
 * NULL, and compares it with t's endContent (what names the document in
 * the error message). */
int bench_check_doc(const accord_doc *doc, accord_id text, const trace *t,
                    const char *what, const char *out_path);

/* Imports into `into` the changes of `from`: only those `into` lacks (by
 * its version vector) when by_version is set, else everything `from` holds.
 * Reports a failure as "<what>: ENAME (...)" and returns -1. */
int bench_pull(accord_doc *into, accord_doc *from, int by_version,
               const char *what);

/* What save/load of a document measured. */
typedef struct bench_saveload {
  size_t save_bytes;
  double save_ms; /* accord_doc_save, the fastest repeat */
  double first_save_ms; /* the first accord_doc_save (packs the history) */
  double load_ms; /* accord_doc_load + finding "text" + accord_text_read */
} bench_saveload;

/* Saves doc, loads the bytes as a new document (actor load_actor), finds
 * root key "text" in it, checks it is `text` and that it reads as t's
 * endContent. Best of `repeat` timed rounds. */
int bench_save_load(accord_doc *doc, accord_id text, const trace *t,
                    uint64_t load_actor, unsigned repeat, bench_saveload *out);

#endif /* BENCH_ENGINE_H */
