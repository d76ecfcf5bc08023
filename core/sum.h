/*
 * sum.h — a fast 64-bit checksum for detecting corrupted bytes at rest.
 *
 * Not cryptographic: it catches bit rot and truncation, not someone who
 * rewrites a file on purpose (hash chains and seals are for that). It runs
 * at several GB/s, so checking a whole saved document costs less than
 * reading it.
 */
#ifndef ACCORD_SUM_H
#define ACCORD_SUM_H

#include <stddef.h>
#include <stdint.h>

uint64_t sum64(const void *p, size_t n);

#endif
