/*
 * fuzz_sealed.c — libFuzzer target for accord_doc_import with seal
 * verification on: arbitrary bytes imported into a verifying document that
 * holds author 1's sealed chain (fuzz_common.c, fuzz_sealed_base). The
 * seeds are sealed batches that extend that chain (short, and long enough
 * for the worker thread: core/sync_bg.c), another author's, and a fork of
 * author 1 deep in the chain, so mutations reach the hash chain
 * (core/hashchain.c), the seal checks and the fork evidence builder with
 * hostile lengths and bodies.
 *
 * Checked on every input, beyond "no crash, no leak, no UB":
 *   - a refused batch leaves the document's JSON, version and fork records
 *     unchanged;
 *   - an accepted batch: importing it again applies nothing, and every
 *     fork record the document holds verifies on its own
 *     (accord_fork_verify).
 */
#include <stdlib.h>
#include <string.h>

#include "accord.h"
#include "fuzz_common.h"

static uint8_t *g_base;
static size_t g_base_len;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  accord_doc *base = fuzz_sealed_base(NULL, NULL, NULL);
  int rc = accord_doc_save(base, &g_base, &g_base_len);
  if (rc) fuzz_die("save base", rc);
  accord_doc_free(base);
  return 0;
}

static size_t forks_checked(const accord_doc *d) {
  accord_fork *f = NULL;
  size_t n = 0;
  int rc = accord_doc_forks(d, &f, &n);
  if (rc) fuzz_die("forks", rc);
  for (size_t i = 0; i < n; i++)
    if ((rc = accord_fork_verify(f[i].evidence, f[i].evidence_len, NULL)))
      fuzz_die("a recorded fork does not verify", rc);
  accord_free(f);
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  accord_doc *doc = NULL;
  uint8_t actor[ACCORD_ACTOR_BYTES];
  fuzz_actor(actor, 9);
  int rc = accord_doc_load(g_base, g_base_len, actor, &doc);
  if (rc) fuzz_die("load", rc);
  char *before = fuzz_json(doc);
  uint8_t *vv = NULL, *vv2 = NULL;
  size_t vlen = 0, vlen2 = 0;
  if ((rc = accord_doc_version(doc, &vv, &vlen))) fuzz_die("version", rc);
  size_t forks = forks_checked(doc);

  accord_import_stats st;
  rc = accord_doc_import(doc, data, size, &st);
  if (rc > 0) fuzz_die("import returned a positive code", 0);
  if (rc < 0) {
    if (!strcmp(accord_strerror(rc), "unknown error"))
      fuzz_die("import returned an unknown code", rc);
    char *after = fuzz_json(doc);
    if (strcmp(before, after) != 0) fuzz_die("failed import changed JSON", rc);
    if ((rc = accord_doc_version(doc, &vv2, &vlen2))) fuzz_die("version", rc);
    if (vlen != vlen2 || memcmp(vv, vv2, vlen) != 0)
      fuzz_die("failed import changed the version", 0);
    if (forks_checked(doc) != forks)
      fuzz_die("failed import changed the fork records", 0);
    accord_free(after);
  } else {
    forks_checked(doc);
    rc = accord_doc_import(doc, data, size, &st);
    if (rc) fuzz_die("second import of an accepted batch", rc);
    if (st.applied != 0) fuzz_die("second import applied changes", 0);
  }
  accord_free(before);
  accord_free(vv);
  accord_free(vv2);
  accord_doc_free(doc);
  return 0;
}
