/*
 * run_crypto.c — `accord-bench crypto`: what the cryptography a verified
 * import pays for costs on this machine (issue 5's floor, bench/RESULTS.md):
 * the hash chain per change as core/hashchain.h defines it (a segment of
 * 64 typed changes of ~16 bytes through one BLAKE2b state after a 60-byte
 * header), the per-change step DESIGN §4 first defined, for comparison
 * (BLAKE2b-256 of a 32-byte previous hash, a ~50-byte prefix and the
 * change: one 128-byte block each), BLAKE2b per block of a long input, and
 * one Ed25519 check of a seal's 94-byte message. libsodium directly, as
 * core/crypto.c calls it. Each figure is the best of five timed loops.
 */
#include "bench.h"
#include "util.h"

#include <sodium.h>
#include <stdio.h>

#define CHAIN_INPUT 98 /* 32 + 50 + 16 */

static double best_ns(double (*loop)(unsigned char *, unsigned), unsigned n,
                      unsigned char *scratch)
{
  double best = 0;
  for (int r = 0; r < 5; r++) {
    double ns = loop(scratch, n);
    if (r == 0 || ns < best)
      best = ns;
  }
  return best;
}

/* Each loop feeds its output back into its input, so that no call can be
 * skipped, and returns ns per call. */
static double chain_steps(unsigned char *buf, unsigned n)
{
  double t0 = bench_now_ms();
  for (unsigned i = 0; i < n; i++)
    crypto_generichash(buf, 32, buf, CHAIN_INPUT, NULL, 0);
  return (bench_now_ms() - t0) * 1e6 / n;
}

#define SEG 64     /* HASHCHAIN_SEG */
#define BODY 16    /* a typed character's change body */
#define HEADER 60  /* root, doc, actor, first seq */

/* A segment: returns ns per change. */
static double chain_segments(unsigned char *buf, unsigned n)
{
  static const unsigned char personal[16] = "accord-chain-v2";
  crypto_generichash_blake2b_state st;
  double t0 = bench_now_ms();
  for (unsigned i = 0; i < n; i++) {
    crypto_generichash_blake2b_init_salt_personal(&st, NULL, 0, 32, NULL,
                                                  personal);
    crypto_generichash_blake2b_update(&st, buf, HEADER);
    crypto_generichash_blake2b_update(&st, buf + 64, SEG * BODY);
    crypto_generichash_blake2b_final(&st, buf, 32);
  }
  return (bench_now_ms() - t0) * 1e6 / n / SEG;
}

static double long_hashes(unsigned char *buf, unsigned n)
{
  double t0 = bench_now_ms();
  for (unsigned i = 0; i < n; i++)
    crypto_generichash(buf, 32, buf, 1024, NULL, 0);
  return (bench_now_ms() - t0) * 1e6 / n;
}

static unsigned char pk[crypto_sign_PUBLICKEYBYTES], sig[crypto_sign_BYTES];

static double seal_checks(unsigned char *buf, unsigned n)
{
  double t0 = bench_now_ms();
  for (unsigned i = 0; i < n; i++)
    if (crypto_sign_verify_detached(sig, buf, 94, pk) != 0)
      return -1;
  return (bench_now_ms() - t0) * 1e6 / n;
}

int cmd_crypto(void)
{
  unsigned char buf[64 + SEG * BODY] = {0}, sk[crypto_sign_SECRETKEYBYTES];
  if (sodium_init() < 0)
    return bench_fail("libsodium did not start");
  crypto_sign_keypair(pk, sk);
  crypto_sign_detached(sig, NULL, buf, 94, sk);
  double step = best_ns(chain_steps, 200000, buf);
  double change = best_ns(chain_segments, 10000, buf);
  double kib = best_ns(long_hashes, 50000, buf);
  /* the chain steps changed buf: sign what seal_checks will verify */
  crypto_sign_detached(sig, NULL, buf, 94, sk);
  double check = best_ns(seal_checks, 500, buf);
  sodium_memzero(sk, sizeof sk);
  if (check < 0)
    return bench_fail("a seal did not verify");
  printf("{\"bench\":\"crypto\",\"chain_per_change_ns\":%.1f,"
         "\"old_chain_step_ns\":%.1f,"
         "\"blake2b_block_ns\":%.1f,\"seal_check_us\":%.1f,"
         "\"per_1000_changes_us\":%.1f}\n",
         change, step, kib / 8, check / 1e3, (1000 * change + check) / 1e3);
  return fflush(stdout) == 0 ? 0 : bench_fail("cannot write to stdout");
}
