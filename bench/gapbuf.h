/*
 * gapbuf.h — the baseline text buffer: a plain gap buffer of UTF-8 bytes
 * addressed by code point positions.
 *
 * This is what the engine's speed is compared against (DESIGN.md §10: "for
 * text: a plain gap buffer doing the same edits"), so it is deliberately
 * the textbook structure, with no index: moving the gap costs the distance
 * moved, in bytes, exactly like a byte-addressed gap buffer. Knowing the
 * code point position of the gap makes code point addressing cost no more
 * than that.
 */
#ifndef BENCH_GAPBUF_H
#define BENCH_GAPBUF_H

#include <stddef.h>

/* Layout: buf[0 .. gap_start) is the text before the gap,
 * buf[gap_end .. cap) the text after it.
 * Invariants: gap_start <= gap_end <= cap; both sides are valid UTF-8 (the
 * gap never splits a code point); gap_cp counts the code points before the
 * gap and cps all of them. */
typedef struct gapbuf {
  char *buf;
  size_t cap, gap_start, gap_end;
  size_t gap_cp, cps;
  size_t wide; /* code points of more than one byte in the buffer: while
                  there are none, positions are byte offsets */
} gapbuf;

enum { GAPBUF_OK = 0, GAPBUF_ERANGE = -1, GAPBUF_ENOMEM = -2 };

/* An empty buffer with room for cap bytes. Returns GAPBUF_OK/ENOMEM. */
int gapbuf_init(gapbuf *g, size_t cap);

void gapbuf_free(gapbuf *g);

/* At code point pos, deletes del code points and inserts s (len bytes of
 * valid UTF-8). Returns GAPBUF_ERANGE (pos or pos+del past the end; nothing
 * changed) or GAPBUF_ENOMEM (nothing changed). */
int gapbuf_splice(gapbuf *g, size_t pos, size_t del, const char *s,
                  size_t len);

/* The text as a malloc'd NUL-terminated string, byte length in *len; NULL
 * on out of memory. */
char *gapbuf_text(const gapbuf *g, size_t *len);

#endif /* BENCH_GAPBUF_H */
