/*
 * fuzz_load.c — libFuzzer target for accord_doc_load: arbitrary bytes as a
 * saved document.
 *
 * Checked on every input, beyond "no crash, no leak, no UB": a refused
 * input sets *out to NULL; an accepted one gives a working document whose
 * save loads back to the same JSON and whose changes rebuild the same JSON
 * on a fresh replica.
 */
#include <stdlib.h>
#include <string.h>

#include "accord.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t a[ACCORD_ACTOR_BYTES];
  fuzz_actor(a, 1);
  accord_doc *doc = (accord_doc *)&a; /* must be overwritten */
  int rc = accord_doc_load(data, size, a, &doc);
  if (rc > 0) fuzz_die("load returned a positive code", 0);
  if (rc < 0) {
    if (doc != NULL) fuzz_die("failed load left *out set", rc);
    if (!strcmp(accord_strerror(rc), "unknown error"))
      fuzz_die("load returned an unknown code", rc);
    return 0;
  }
  char *json = fuzz_json(doc);
  (void)accord_doc_mem_bytes(doc);
  uint8_t *saved = NULL;
  size_t slen = 0;
  if ((rc = accord_doc_save(doc, &saved, &slen))) fuzz_die("save", rc);
  accord_doc *copy = NULL;
  if ((rc = accord_doc_load(saved, slen, a, &copy)))
    fuzz_die("reload of a save", rc);
  char *cj = fuzz_json(copy);
  if (strcmp(json, cj) != 0) fuzz_die("save + load changed JSON", 0);
  accord_free(cj);
  accord_doc_free(copy);
  accord_free(saved);

  /* This build skips the file checksum (ACCORD_FUZZING), so the history may
   * be damaged or disagree with the snapshot; that is what the checksum
   * refuses in production. What must hold regardless: the history either
   * serves changes or says it is malformed, and a fresh replica either
   * imports them or refuses them with a known error. */
  uint8_t *batch = NULL;
  size_t blen = 0;
  rc = accord_doc_changes_since(doc, NULL, 0, &batch, &blen);
  if (rc && rc != ACCORD_EMALFORMED) fuzz_die("changes_since", rc);
  if (!rc) {
    accord_doc *fresh = NULL;
    fuzz_actor(a, 9);
    if ((rc = accord_doc_new(accord_doc_id(doc), a, &fresh)))
      fuzz_die("new", rc);
    rc = accord_doc_import(fresh, batch, blen, NULL);
    if (rc > 0 || (rc < 0 && !strcmp(accord_strerror(rc), "unknown error")))
      fuzz_die("fresh import returned an unknown code", rc);
    char *fj = fuzz_json(fresh);
    accord_free(fj);
    accord_doc_free(fresh);
    accord_free(batch);
  }
  accord_free(json);
  accord_doc_free(doc);
  return 0;
}
