/*
 * fuzz_common.h — the documents the fuzz targets and their seed corpus
 * share. Everything is deterministic (fixed ids and timestamps), so that a
 * seed batch made by fuzz_corpus matches the document fuzz_import imports
 * into: without the right doc id and actors, mutated inputs would stop at
 * EOTHERDOC and never reach the deeper decoding paths.
 */
#ifndef ACCORD_FUZZ_COMMON_H
#define ACCORD_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "accord.h"

extern const uint8_t fuzz_doc_id[ACCORD_DOC_ID_BYTES];

/* The session key fuzz_frame decodes under and its seeds are sealed with. */
extern const uint8_t fuzz_frame_key[32];

/* The workspace key fuzz_beacon's seeds are sealed under. */
extern const uint8_t fuzz_beacon_ws_key[32];

/* Aborts with a message: fuzz targets report bugs by crashing. */
void fuzz_die(const char *what, int rc);

/* test actor n: 8 bytes big-endian. */
void fuzz_actor(uint8_t actor[ACCORD_ACTOR_BYTES], uint64_t n);

/* The base document (actor 1, with a change imported from actor 2): a map,
 * a list, text, a counter, nested objects. */
accord_doc *fuzz_base(void);

/* A replica of the base (actor 3) that made two further changes with edits
 * of every kind: its changes since the base's version are a batch the base
 * can import. If mid_vv is not NULL it receives the editor's version
 * between its two changes (free with accord_free). */
accord_doc *fuzz_editor(const accord_doc *base, uint8_t **mid_vv,
                        size_t *mid_len);

/* Sealed documents (fuzz_sealed, fuzz_fork and their seeds). Author n
 * (1, 2) signs with a key pair derived from n alone; seals name
 * fuzz_ws_id. */
extern const uint8_t fuzz_ws_id[ACCORD_WS_ID_BYTES];
/* A new document of author n, signing (verification on). */
accord_doc *fuzz_author(int n);
/* count one-key commits by doc's author (keys tag0, tag1, ...), times
 * from time on. */
void fuzz_author_write(accord_doc *d, int count, const char *tag,
                       int64_t time);
/* The document fuzz_sealed imports into (actor 9, verifying): author 1's
 * FUZZ_SEALED_BASE changes, sealed, imported. If mid_vv is not NULL it
 * receives the version after author 1's first FUZZ_SEALED_FORK - 1
 * changes (free with accord_free), and *author1 a copy of author 1 at that
 * point (free with accord_doc_free), from which a fork can be made. */
#define FUZZ_SEALED_BASE 100
#define FUZZ_SEALED_FORK 70
accord_doc *fuzz_sealed_base(uint8_t **mid_vv, size_t *mid_len,
                             accord_doc **author1);
/* All of src's changes that dst lacks, imported into dst. */
void fuzz_sync_into(accord_doc *dst, accord_doc *src);

/* Bytes of doc's JSON (free with accord_free); aborts on failure. */
char *fuzz_json(const accord_doc *doc);

#endif
