/*
 * utf8.h — UTF-8 validation and code point arithmetic.
 *
 * Text positions in accord count Unicode scalar values (code points); text is
 * stored as UTF-8. Valid means: shortest form, no surrogates (U+D800..DFFF),
 * nothing above U+10FFFF. Everything stored has passed utf8_valid, so the
 * counting helpers may assume well-formed input.
 */
#ifndef ACCORD_UTF8_H
#define ACCORD_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* 1 if s[0..len) is valid UTF-8 (and *ncp receives its code point count,
 * when ncp is not NULL), else 0. */
int utf8_valid(const uint8_t *s, size_t len, size_t *ncp);

/* Code points in valid UTF-8. */
size_t utf8_count(const uint8_t *s, size_t len);

/* Byte offset of code point n in valid UTF-8 (n <= count; n == count gives
 * len). */
size_t utf8_offset(const uint8_t *s, size_t len, size_t n);

#endif
