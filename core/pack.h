/*
 * pack.h — a chain's change bodies as compressed columns (format in pack.c).
 *
 * Used by saved documents (save format 5) and to keep history that nothing
 * reads compressed in memory. Unpacking rebuilds exactly the canonical
 * bodies that were packed, byte for byte, so hashes and seals still hold.
 */
#ifndef ACCORD_PACK_H
#define ACCORD_PACK_H

#include "doc.h"

/* zstd settings for saved documents. Chains are packed once and then kept
 * packed: level 16's search with the btultra2 parser (level 19's) packs
 * automerge-paper's history (782 KB of columns) to 101,265 B in ~45 ms,
 * where level 19 gave 100,870 B in ~150 ms (level 17 101,487 B, 15
 * 109,592 B). The snapshot is compressed on every save, with the history's
 * text as a zstd prefix (save.c): level 16 brings automerge-paper to
 * 128,398 B in all, under Automerge's 129,358, at ~40 ms a save; level 9
 * (lazy2) would take ~4 ms for 131,901 B (12, btlazy2, spends 16 ms
 * indexing sveltecomponent's prefix). */
#define PACK_LEVEL_SAVE 16
#define PACK_STRATEGY_SAVE 9 /* ZSTD_btultra2 */
#define PACK_LEVEL_SNAPSHOT 16
/* The node store's snapshots (doc_save without packing): refreshed in
 * housekeeping, they must cost about a copy. */
#define PACK_LEVEL_FAST 1
/* Packed frames never unpack to more than this (bodies and columns). */
#define PACK_MAX_RAW ((size_t)1 << 30)

/* A compression level and the zstd context that one save reuses for all
 * its frames (creating one per frame costs more than a small frame):
 * cctx starts NULL and is created on first use; free it with pack_z_free.
 * strategy 0 is the level's own, else a ZSTD_strategy that replaces it. */
typedef struct pack_z {
  int level;
  void *cctx;
  int strategy;
} pack_z;
void pack_z_free(pack_z *z);

/* Appends a zstd frame holding bodies 1..c->n of an indexed chain
 * (c->base == 0, c->off set) to out. Errors: ENOMEM, ETOOBIG. */
int pack_bodies(const chain *c, pack_z *z, buf *out);
/* The same as version 1 wrote it (every right origin in RCTR), which
 * unpack_bodies still reads. For tests. */
int pack_bodies_v1(const chain *c, pack_z *z, buf *out);

/* Appends the n canonical bodies packed in p[0..len) to out. Errors:
 * EMALFORMED (not a frame pack_bodies wrote for n changes), ETOOBIG,
 * ENOMEM. out keeps what it held on error. */
int unpack_bodies(const uint8_t *p, size_t len, uint32_t n, buf *out);

/* zstd in one frame, for other sections of saved documents: deflate
 * appends p[0..n) compressed to out; inflate appends what a frame holds,
 * at most PACK_MAX_RAW bytes. Errors: ENOMEM, ETOOBIG, EMALFORMED. */
int pack_deflate(const uint8_t *p, size_t n, pack_z *z, buf *out);
int pack_inflate(const uint8_t *p, size_t len, buf *out);

/* The same with pre[0..plen) as a zstd prefix: bytes both sides hold
 * already, which the frame refers to instead of repeating them. The frame
 * inflates only with the same prefix (another gives other bytes or
 * EMALFORMED). inflate appends at most max bytes (ETOOBIG past it).
 * Deflate's window covers prefix and input up to 1 << PACK_PREFIX_WLOG. */
#define PACK_PREFIX_WLOG 24
/* And with blocks ending at the ncut ascending offsets cut[] of p (those
 * less than PACK_CUT_MIN bytes after the previous end are skipped): zstd
 * gives each block its own entropy tables, so a block per column codes
 * each column with tables of its own. The frame is an ordinary one. */
#define PACK_CUT_MIN 64
int pack_deflate_cut(const uint8_t *p, size_t n, const size_t *cut,
                     size_t ncut, const uint8_t *pre, size_t plen,
                     pack_z *z, buf *out);
int pack_deflate_prefix(const uint8_t *p, size_t n, const uint8_t *pre,
                        size_t plen, pack_z *z, buf *out);
int pack_inflate_prefix(const uint8_t *p, size_t len, const uint8_t *pre,
                        size_t plen, size_t max, buf *out);

/* Appends the text a pack_bodies frame holds (its RAW column, then its
 * TEXT column: the bodies kept as they are and inserted text) to out, as
 * long as out stays within max bytes. Inflating the frame may take at
 * most *budget bytes, which are then taken from *budget. Errors:
 * EMALFORMED, ETOOBIG, ENOMEM; out may hold part of the text then. */
int pack_text(const uint8_t *p, size_t len, size_t max, size_t *budget,
              buf *out);

/* Varints for other columnar sections: LEB128 uvarints, zigzag for signed
 * values. pack_get_uv advances *p; EMALFORMED past end or over 64 bits. */
void pack_put_uv(buf *b, uint64_t v);
int pack_get_uv(const uint8_t **p, const uint8_t *end, uint64_t *v);
uint64_t pack_zig(int64_t v);
int64_t pack_unzig(uint64_t u);

#endif
