/*
 * testutil.h — shared helpers for accord's cmocka tests.
 *
 * TEST_MAIN runs the cases given; with an argument it runs only the case of
 * that name (how ctest runs one case per test). Randomised tests take their
 * seed from test_seed(), which prints it and honours ACCORD_SEED.
 */
#ifndef ACCORD_TESTUTIL_H
#define ACCORD_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the includes above first */
#include <cmocka.h>

#include "accord.h"

#define TEST_MAIN(...)                                                     \
  int main(int argc, char **argv) {                                        \
    const struct CMUnitTest tests_[] = {__VA_ARGS__};                      \
    if (argc > 1) cmocka_set_test_filter(argv[1]);                         \
    return cmocka_run_group_tests(tests_, NULL, NULL);                     \
  }

/* Asserts that an accord call returned 0, printing the error otherwise. */
#define AOK(call)                                                          \
  do {                                                                     \
    int rc_ = (call);                                                      \
    if (rc_ != 0)                                                          \
      fail_msg("%s -> %s (%s)", #call, accord_err_name(rc_),               \
               accord_strerror(rc_));                                      \
  } while (0)

/* The seed for a randomised test: ACCORD_SEED if set, else time-based.
 * Printed so that a failure can be replayed. */
uint64_t test_seed(const char *name);
/* Iterations: ACCORD_TEST_SCALE (default 1) times base. */
long test_scale(long base);

/* xorshift64* generator: deterministic for a seed. */
typedef struct { uint64_t s; } test_rng;
void rng_init(test_rng *r, uint64_t seed);
uint64_t rng_next(test_rng *r);
/* Uniform in [0, n); n > 0. */
uint64_t rng_below(test_rng *r, uint64_t n);

/* Reads a whole file; NULL if missing. Free with free(). */
char *test_read_file(const char *path, size_t *len);
/* Decompresses a .gz file with the system's gzip; NULL on failure. */
char *test_read_gz(const char *path, size_t *len);

/* A document's JSON (asserts success); free with accord_free. */
char *test_json(const accord_doc *doc);

/* Makes an actor id from a small number (big-endian; ordered like n). */
void test_actor(uint8_t actor[8], uint64_t n);

#endif
