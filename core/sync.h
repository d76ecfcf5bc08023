/*
 * sync.h — batches and import, shared by the public sync calls and
 * save/load (save.c).
 */
#ifndef ACCORD_SYNC_H
#define ACCORD_SYNC_H

#include "change.h"

/* The document's decoder scratch; NULL when out of memory. */
decoder *doc_decoder(accord_doc *doc);

/* The batch format's version (sync.c's header gives the layout). */
#define BATCH_VERSION 3

/* Appends a batch of the changes after known[actor index] (NULL: all). */
int sync_put_batch(accord_doc *doc, const uint32_t *known, buf *b);
/* The last seq of actor's chain a batch may carry: all of it without
 * verification or for our own sealed chain, else up to its seal (the
 * unsealed tail could not be checked by the receiver). */
uint32_t sync_send_to(const accord_doc *doc, uint32_t actor);
/* Appends one batch chain entry: [ref, from + 1, seal or nil, the bodies
 * of seqs from+1..to of actor's chain] (bodies in frames are read one
 * frame at a time, oplog.c; a failure to read them sets b->err). The seal
 * (NULL: the chain's latest) goes only when it covers exactly to: a cut
 * chain carries a checkpoint or a seal made for the cut (node_net.c). */
void sync_put_chain(buf *b, const accord_doc *doc, uint32_t actor,
                    uint32_t ref, uint32_t from, uint32_t to,
                    const chain_seal *seal);

/* Imports a batch (may be NULL) plus extra loose changes (copied), all or
 * nothing. */
int sync_import(accord_doc *doc, const uint8_t *batch, size_t len,
                const pend *extra, uint32_t nextra,
                accord_import_stats *stats);

#endif
