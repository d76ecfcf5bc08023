/*
 * engine.c — the accord.h helpers of engine.h: ids, error reporting with
 * accord's code names, text checks, pulling changes and the save/load
 * measurement.
 */
#include "engine.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const uint8_t bench_doc_id[ACCORD_DOC_ID_BYTES] = {
    'a', 'c', 'c', 'o', 'r', 'd', '-', 'b', 'e', 'n', 'c', 'h', '-', 'd', 'o', 'c'};

void bench_actor(uint64_t n, uint8_t out[ACCORD_ACTOR_BYTES])
{
  for (int i = ACCORD_ACTOR_BYTES - 1; i >= 0; i--) {
    out[i] = (uint8_t)(n & 0xFF);
    n >>= 8;
  }
}

int bench_efail(int rc, const char *fmt, ...)
{
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  return bench_fail("%s: %s (%s)", msg, accord_err_name(rc),
                    accord_strerror(rc));
}

int bench_check_doc(const accord_doc *doc, accord_id text, const trace *t,
                    const char *what, const char *out_path)
{
  char *s = NULL;
  size_t len = 0;
  int rc = accord_text_read(doc, text, &s, &len);
  if (rc != 0)
    return bench_efail(rc, "%s: accord_text_read", what);
  rc = 0;
  if (out_path != NULL)
    rc = bench_write_file(out_path, s, len);
  if (rc == 0)
    rc = bench_check_text(what, s, len, t->end, t->end_len);
  accord_free(s);
  return rc;
}

int bench_pull(accord_doc *into, accord_doc *from, int by_version,
               const char *what)
{
  uint8_t *ver = NULL, *batch = NULL;
  size_t ver_len = 0, len = 0;
  int rc = 0;
  if (by_version)
    rc = accord_doc_version(into, &ver, &ver_len);
  if (rc == 0)
    rc = accord_doc_changes_since(from, ver, ver_len, &batch, &len);
  if (rc == 0)
    rc = accord_doc_import(into, batch, len, NULL);
  accord_free(ver);
  accord_free(batch);
  return rc != 0 ? bench_efail(rc, "%s", what) : 0;
}

static int same_id(accord_id a, accord_id b)
{
  return a.counter == b.counter &&
         memcmp(a.actor, b.actor, ACCORD_ACTOR_BYTES) == 0;
}

int bench_save_load(accord_doc *doc, accord_id text, const trace *t,
                    uint64_t load_actor, unsigned repeat, bench_saveload *out)
{
  uint8_t actor[ACCORD_ACTOR_BYTES];
  bench_actor(load_actor, actor);
  memset(out, 0, sizeof(*out));

  for (unsigned r = 0; r < repeat; r++) {
    uint8_t *bytes = NULL;
    size_t len = 0, text_len = 0;
    accord_doc *loaded = NULL;
    accord_value v;
    char *s = NULL;
    double t0, t1, t2;
    int rc;

    t0 = bench_now_ms();
    rc = accord_doc_save(doc, &bytes, &len);
    t1 = bench_now_ms();
    if (rc != 0)
      return bench_efail(rc, "accord_doc_save");
    rc = accord_doc_load(bytes, len, actor, &loaded);
    if (rc == 0)
      rc = accord_map_get(loaded, ACCORD_ROOT, "text", &v);
    if (rc == 0 && (v.type != ACCORD_TEXT || !same_id(v.u.obj, text))) {
      accord_free(bytes);
      accord_doc_free(loaded);
      return bench_fail("loaded document: root key \"text\" is not the text "
                        "object that was saved");
    }
    if (rc == 0)
      rc = accord_text_read(loaded, v.u.obj, &s, &text_len);
    t2 = bench_now_ms();
    accord_free(bytes);
    if (rc != 0) {
      accord_doc_free(loaded);
      return bench_efail(rc, "loading the saved document");
    }
    rc = bench_check_text("loaded document", s, text_len, t->end, t->end_len);
    accord_free(s);
    accord_doc_free(loaded);
    if (rc != 0)
      return -1;
    if (r == 0)
      out->first_save_ms = t1 - t0;
    if (r == 0 || t1 - t0 < out->save_ms)
      out->save_ms = t1 - t0;
    if (r == 0 || t2 - t1 < out->load_ms)
      out->load_ms = t2 - t1;
    out->save_bytes = len;
  }
  return 0;
}
