/*
 * sync.h — batches and import, shared by the public sync calls and
 * save/load (save.c).
 */
#ifndef ACCORD_SYNC_H
#define ACCORD_SYNC_H

#include "change.h"

/* The document's decoder scratch; NULL when out of memory. */
decoder *doc_decoder(accord_doc *doc);

/* Appends a batch of the changes after known[actor index] (NULL: all). */
int sync_put_batch(accord_doc *doc, const uint32_t *known, buf *b);

/* Imports a batch (may be NULL) plus extra loose changes (copied), all or
 * nothing. */
int sync_import(accord_doc *doc, const uint8_t *batch, size_t len,
                const pend *extra, uint32_t nextra,
                accord_import_stats *stats);

#endif
