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

/* zstd levels for saved documents: chains are packed once and then kept
 * packed, so they get zstd's strongest ordinary level; the snapshot is
 * compressed on every save, and level 15 is as small for it (automerge-
 * paper: 15 gave 158,676 B in all, 19 158,974 B) in a third of the time. */
#define PACK_LEVEL_SAVE 19
#define PACK_LEVEL_SNAPSHOT 15
/* The node store's snapshots (doc_save without packing): refreshed in
 * housekeeping, they must cost about a copy. */
#define PACK_LEVEL_FAST 1
/* Packed frames never unpack to more than this (bodies and columns). */
#define PACK_MAX_RAW ((size_t)1 << 30)

/* A compression level and the zstd context that one save reuses for all
 * its frames (creating one per frame costs more than a small frame):
 * cctx starts NULL and is created on first use; free it with pack_z_free. */
typedef struct pack_z {
  int level;
  void *cctx;
} pack_z;
void pack_z_free(pack_z *z);

/* Appends a zstd frame holding bodies 1..c->n of an indexed chain
 * (c->base == 0, c->off set) to out. Errors: ENOMEM, ETOOBIG. */
int pack_bodies(const chain *c, pack_z *z, buf *out);

/* Appends the n canonical bodies packed in p[0..len) to out. Errors:
 * EMALFORMED (not a frame pack_bodies wrote for n changes), ETOOBIG,
 * ENOMEM. out keeps what it held on error. */
int unpack_bodies(const uint8_t *p, size_t len, uint32_t n, buf *out);

/* zstd in one frame, for other sections of saved documents: deflate
 * appends p[0..n) compressed to out; inflate appends what a frame holds,
 * at most PACK_MAX_RAW bytes. Errors: ENOMEM, ETOOBIG, EMALFORMED. */
int pack_deflate(const uint8_t *p, size_t n, pack_z *z, buf *out);
int pack_inflate(const uint8_t *p, size_t len, buf *out);

/* Varints for other columnar sections: LEB128 uvarints, zigzag for signed
 * values. pack_get_uv advances *p; EMALFORMED past end or over 64 bits. */
void pack_put_uv(buf *b, uint64_t v);
int pack_get_uv(const uint8_t **p, const uint8_t *end, uint64_t *v);
uint64_t pack_zig(int64_t v);
int64_t pack_unzig(uint64_t u);

#endif
