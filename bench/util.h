/*
 * util.h — small helpers shared by every accord-bench command: the
 * monotonic clock, one-line error reporting, UTF-8 code point arithmetic,
 * comparing a result text with a trace's endContent, JSON string output and
 * writing a file.
 *
 * Error convention of the whole program: a function that fails prints one
 * line "accord-bench: CONTEXT: reason" to stderr through bench_fail() and
 * returns -1; its callers just propagate -1. CONTEXT is the trace's name,
 * set once by main.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#if defined(__GNUC__)
#define BENCH_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define BENCH_PRINTF(f, a)
#endif

/* Milliseconds on CLOCK_MONOTONIC (arbitrary origin). */
double bench_now_ms(void);

/* Sets the prefix bench_fail puts after "accord-bench: " (NULL: none).
 * The string is borrowed and must outlive all later bench_fail calls. */
void bench_set_context(const char *ctx);

/* Prints "accord-bench: CONTEXT: <message>\n" to stderr; returns -1. */
int bench_fail(const char *fmt, ...) BENCH_PRINTF(1, 2);

/* Code points in s[0..len), counting every byte that does not continue a
 * sequence (10xxxxxx). Exact for valid UTF-8, which is all we store. */
size_t bench_utf8_count(const char *s, size_t len);

/* 1 if s[0..len) is valid UTF-8 (shortest forms, no surrogates, at most
 * U+10FFFF), else 0. */
int bench_utf8_valid(const char *s, size_t len);

/* Compares a produced text with the expected one. Returns 0 when they are
 * equal, else reports "<what>: text differs from endContent at code point
 * N (...)" and returns -1. */
int bench_check_text(const char *what, const char *got, size_t got_len,
                     const char *want, size_t want_len);

/* Writes s as a JSON string literal (quotes and escapes included). */
void bench_print_json_string(FILE *f, const char *s, size_t len);

/* Writes buf[0..len) to path (created or truncated). Reports and returns -1
 * on failure. */
int bench_write_file(const char *path, const char *buf, size_t len);

#endif /* BENCH_UTIL_H */
