/*
 * fuzz_fork.c — libFuzzer target for accord_fork_verify: fork evidence is
 * read from saved documents and node stores, so its bytes are hostile. The
 * seeds are real evidence (fuzz_corpus: author 1 forked deep in its chain,
 * past a hash-chain segment boundary, so the evidence carries shared
 * bodies; core/fork.c has the format).
 *
 * Checked on every input, beyond "no crash, no leak, no UB": evidence that
 * verifies names a seq of at least 1, a public key that derives to its
 * actor, two different chain hashes at that seq, and verifies again.
 */
#include <string.h>

#include "accord.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  accord_fork f;
  int rc = accord_fork_verify(data, size, &f);
  if (rc > 0) fuzz_die("verify returned a positive code", 0);
  if (rc < 0) {
    if (!strcmp(accord_strerror(rc), "unknown error"))
      fuzz_die("verify returned an unknown code", rc);
    return 0;
  }
  uint8_t actor[ACCORD_ACTOR_BYTES];
  if (f.seq < 1) fuzz_die("evidence of a fork at seq 0", 0);
  if ((rc = accord_key_actor(f.public_key, actor))) fuzz_die("key_actor", rc);
  if (memcmp(actor, f.actor, sizeof actor))
    fuzz_die("the key does not derive to the actor", 0);
  if (!memcmp(f.kept, f.refused, sizeof f.kept))
    fuzz_die("both chains hash alike at the fork", 0);
  if (f.evidence != data || f.evidence_len != size)
    fuzz_die("evidence does not point at the input", 0);
  if ((rc = accord_fork_verify(data, size, NULL)))
    fuzz_die("evidence verifies once only", rc);
  return 0;
}
