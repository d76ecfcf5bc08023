/*
 * docutil.c — see docutil.h.
 */
#include "docutil.h"

#include <stdio.h>
#include <string.h>

#include "testutil.h"

const uint8_t du_doc_id[ACCORD_DOC_ID_BYTES] = {
    0xac, 0xc0, 0x2d, 0x00, 0x7e, 0x57, 0xd0, 0xc5,
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};

accord_doc *du_new(uint64_t actor) {
  uint8_t a[ACCORD_ACTOR_BYTES];
  test_actor(a, actor);
  accord_doc *d = NULL;
  AOK(accord_doc_new(du_doc_id, a, &d));
  assert_non_null(d);
  return d;
}

uint8_t *du_version(const accord_doc *doc, size_t *len) {
  uint8_t *vv = NULL;
  AOK(accord_doc_version(doc, &vv, len));
  assert_non_null(vv);
  return vv;
}

accord_import_stats du_sync(accord_doc *dst, accord_doc *src) {
  size_t vlen = 0, blen = 0;
  uint8_t *vv = du_version(dst, &vlen);
  uint8_t *batch = NULL;
  AOK(accord_doc_changes_since(src, vv, vlen, &batch, &blen));
  accord_import_stats st;
  memset(&st, 0xff, sizeof st);
  AOK(accord_doc_import(dst, batch, blen, &st));
  accord_free(batch);
  accord_free(vv);
  return st;
}

void du_sync_both(accord_doc *a, accord_doc *b) {
  du_sync(b, a);
  du_sync(a, b);
}

void du_assert_same_json(const accord_doc *a, const accord_doc *b) {
  char *ja = test_json(a), *jb = test_json(b);
  if (strcmp(ja, jb) != 0) {
    print_error("documents differ:\n  %.2000s\n  %.2000s\n", ja, jb);
    accord_free(ja);
    accord_free(jb);
    fail();
  }
  accord_free(ja);
  accord_free(jb);
}

/* Drops whitespace outside strings in place: the header does not promise a
 * layout, only the content. */
static void json_compact(char *s) {
  char *o = s;
  int in_str = 0;
  for (; *s; s++) {
    if (in_str) {
      *o++ = *s;
      if (*s == '\\' && s[1]) *o++ = *++s;
      else if (*s == '"') in_str = 0;
    } else if (*s == '"') {
      in_str = 1;
      *o++ = *s;
    } else if (*s != ' ' && *s != '\n' && *s != '\r' && *s != '\t') {
      *o++ = *s;
    }
  }
  *o = 0;
}

void du_assert_json(const accord_doc *doc, const char *want) {
  char *j = test_json(doc);
  json_compact(j);
  if (strcmp(j, want) != 0) {
    print_error("JSON\n  got  %.2000s\n  want %.2000s\n", j, want);
    accord_free(j);
    fail();
  }
  accord_free(j);
}

void du_sync_all(accord_doc **docs, size_t n) {
  size_t rounds = 0, applied;
  do {
    applied = 0;
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < n; j++)
        if (i != j) applied += du_sync(docs[j], docs[i]).applied;
    rounds++;
    assert_true(rounds <= n + 3);
  } while (applied > 0);
  /* quiescent: one more pass shows nothing pending anywhere */
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++)
      if (i != j) {
        accord_import_stats st = du_sync(docs[j], docs[i]);
        assert_int_equal(st.applied, 0);
        assert_int_equal(st.pending, 0);
      }
  for (size_t i = 1; i < n; i++) du_assert_same_json(docs[0], docs[i]);
  /* every author's chain head agrees everywhere */
  for (size_t a = 0; a < n; a++) {
    const uint8_t *actor = accord_doc_actor(docs[a]);
    uint64_t seq0 = 0, seq = 0;
    uint8_t h0[ACCORD_HASH_BYTES], h[ACCORD_HASH_BYTES];
    int rc0 = accord_doc_chain_head(docs[0], actor, &seq0, h0);
    for (size_t i = 1; i < n; i++) {
      int rc = accord_doc_chain_head(docs[i], actor, &seq, h);
      assert_int_equal(rc, rc0);
      if (rc == 0) {
        assert_int_equal(seq, seq0);
        assert_memory_equal(h, h0, sizeof h);
      }
    }
  }
}

char *du_text(const accord_doc *doc, accord_id obj) {
  char *s = NULL;
  size_t len = 0;
  AOK(accord_text_read(doc, obj, &s, &len));
  assert_non_null(s);
  assert_int_equal(strlen(s), len);
  return s;
}

void du_assert_text(const accord_doc *doc, accord_id obj, const char *want) {
  char *s = du_text(doc, obj);
  if (strcmp(s, want) != 0) {
    print_error("text\n  got  \"%.2000s\"\n  want \"%.2000s\"\n", s, want);
    accord_free(s);
    fail();
  }
  accord_free(s);
}

accord_id du_get_obj(const accord_doc *doc, accord_id obj, const char *key) {
  accord_value v;
  AOK(accord_map_get(doc, obj, key, &v));
  assert_true(v.type == ACCORD_MAP || v.type == ACCORD_LIST ||
              v.type == ACCORD_TEXT);
  return v.u.obj;
}

accord_id du_put_object(accord_doc *doc, accord_id obj, const char *key,
                        accord_type type) {
  accord_txn *t = NULL;
  accord_id id;
  AOK(accord_txn_begin(doc, &t));
  AOK(accord_map_put_object(t, obj, key, type, &id));
  AOK(accord_txn_commit(t, NULL));
  return id;
}

accord_doc *du_reload(accord_doc *doc) {
  uint8_t *bytes = NULL;
  size_t len = 0;
  uint8_t actor[ACCORD_ACTOR_BYTES];
  memcpy(actor, accord_doc_actor(doc), sizeof actor);
  char *before = test_json(doc);
  size_t vlen = 0, vlen2 = 0;
  uint8_t *vv = du_version(doc, &vlen);
  AOK(accord_doc_save(doc, &bytes, &len));
  accord_doc *d = NULL;
  AOK(accord_doc_load(bytes, len, actor, &d));
  assert_non_null(d);
  accord_free(bytes);
  assert_memory_equal(accord_doc_id(d), accord_doc_id(doc),
                      ACCORD_DOC_ID_BYTES);
  assert_memory_equal(accord_doc_actor(d), actor, ACCORD_ACTOR_BYTES);
  accord_doc_free(doc);
  du_assert_json(d, before);
  accord_free(before);
  /* the reloaded replica has applied exactly what the saved one had */
  uint8_t *vv2 = du_version(d, &vlen2);
  assert_int_equal(vlen2, vlen);
  assert_memory_equal(vv2, vv, vlen);
  accord_free(vv);
  accord_free(vv2);
  return d;
}

int du_id_eq(accord_id a, accord_id b) {
  return a.counter == b.counter && !memcmp(a.actor, b.actor, sizeof a.actor);
}

int du_id_cmp(accord_id a, accord_id b) {
  if (a.counter != b.counter) return a.counter < b.counter ? -1 : 1;
  return memcmp(a.actor, b.actor, sizeof a.actor);
}
