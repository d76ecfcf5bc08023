/*
 * snapshot.h — a document's state as bytes (format in snapshot.c).
 */
#ifndef ACCORD_SNAPSHOT_H
#define ACCORD_SNAPSHOT_H

#include "doc.h"

/* Appends the state; ref maps each actor index to its place in the actor
 * table the reader will be given. */
int snap_put(const accord_doc *doc, const uint32_t *ref, buf *b);
/* The same with each run's flags in three columns, as snapshots were
 * written before they were joined (snapshot.c); still read. For tests. */
int snap_put_split(const accord_doc *doc, const uint32_t *ref, buf *b);

/* Builds a state from bytes into *out (initialised here; freed on error).
 * actors maps refs to the document's actor indexes. Errors: EMALFORMED,
 * EUTF8, ETOOBIG, ENOMEM. */
int snap_get(accord_doc *doc, const uint8_t *p, size_t len,
             const uint32_t *actors, uint32_t nactors, docstate *out);

#endif
