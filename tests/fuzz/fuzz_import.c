/*
 * fuzz_import.c — libFuzzer target for accord_doc_import: arbitrary bytes
 * imported into a document that already has content (fuzz_common.c).
 *
 * Checked on every input, beyond "no crash, no leak, no UB":
 *   - a refused batch leaves the document's JSON and version unchanged;
 *   - an accepted batch leaves a coherent document: importing the same
 *     bytes again changes nothing, save + load gives the same JSON, and a
 *     fresh replica importing the document's changes gets the same JSON.
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
  accord_doc *base = fuzz_base();
  int rc = accord_doc_save(base, &g_base, &g_base_len);
  if (rc) fuzz_die("save base", rc);
  accord_doc_free(base);
  return 0;
}

static accord_doc *load(const uint8_t *p, size_t n, uint64_t actor) {
  uint8_t a[ACCORD_ACTOR_BYTES];
  fuzz_actor(a, actor);
  accord_doc *d = NULL;
  int rc = accord_doc_load(p, n, a, &d);
  if (rc) fuzz_die("load", rc);
  return d;
}

static uint8_t *version(const accord_doc *d, size_t *len) {
  uint8_t *vv = NULL;
  int rc = accord_doc_version(d, &vv, len);
  if (rc) fuzz_die("version", rc);
  return vv;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  accord_doc *doc = load(g_base, g_base_len, 1);
  char *before = fuzz_json(doc);
  size_t vlen = 0;
  uint8_t *vv = version(doc, &vlen);

  accord_import_stats st;
  int rc = accord_doc_import(doc, data, size, &st);
  if (rc > 0) fuzz_die("import returned a positive code", 0);
  if (rc < 0) {
    if (!strcmp(accord_strerror(rc), "unknown error"))
      fuzz_die("import returned an unknown code", rc);
    char *after = fuzz_json(doc);
    size_t vlen2 = 0;
    uint8_t *vv2 = version(doc, &vlen2);
    if (strcmp(before, after) != 0) fuzz_die("failed import changed JSON", rc);
    if (vlen != vlen2 || memcmp(vv, vv2, vlen) != 0)
      fuzz_die("failed import changed the version", rc);
    accord_free(after);
    accord_free(vv2);
  } else {
    char *after = fuzz_json(doc);
    /* idempotent */
    rc = accord_doc_import(doc, data, size, &st);
    if (rc) fuzz_die("second import of an accepted batch", rc);
    if (st.applied != 0) fuzz_die("second import applied changes", 0);
    char *again = fuzz_json(doc);
    if (strcmp(after, again) != 0) fuzz_die("second import changed JSON", 0);
    accord_free(again);
    /* save + load */
    uint8_t *saved = NULL;
    size_t slen = 0;
    if ((rc = accord_doc_save(doc, &saved, &slen))) fuzz_die("save", rc);
    accord_doc *copy = load(saved, slen, 1);
    char *cj = fuzz_json(copy);
    if (strcmp(after, cj) != 0) fuzz_die("save + load changed JSON", 0);
    accord_free(cj);
    accord_doc_free(copy);
    accord_free(saved);
    /* a fresh replica of what was applied */
    uint8_t *batch = NULL;
    size_t blen = 0;
    if ((rc = accord_doc_changes_since(doc, NULL, 0, &batch, &blen)))
      fuzz_die("changes_since", rc);
    uint8_t a[ACCORD_ACTOR_BYTES];
    fuzz_actor(a, 9);
    accord_doc *fresh = NULL;
    if ((rc = accord_doc_new(fuzz_doc_id, a, &fresh))) fuzz_die("new", rc);
    if ((rc = accord_doc_import(fresh, batch, blen, &st)))
      fuzz_die("fresh import of changes_since", rc);
    char *fj = fuzz_json(fresh);
    if (strcmp(after, fj) != 0) fuzz_die("fresh replica differs", 0);
    accord_free(fj);
    accord_doc_free(fresh);
    accord_free(batch);
    accord_free(after);
  }
  accord_free(before);
  accord_free(vv);
  accord_doc_free(doc);
  return 0;
}
