/*
 * test_history.c — accord_doc_history (who changed what, when and why, in a
 * causal order) and document marks (undoing everything after a point, as
 * the store does when a disk write fails).
 */
#include <stdio.h>
#include <string.h>

#include "docutil.h"
#include "doc.h"
#include "testutil.h"

typedef struct seen {
  int n;
  uint64_t seq[16];
  uint8_t actor[16][8];
  char msg[16][64];
  accord_op_kind kind[16];
  char key[16][16];
  int64_t value[16];
  char text[16][16];
  int stop_after; /* 0: never */
} seen;

static int record(void *userdata, const accord_change_meta *c) {
  seen *s = userdata;
  int i = s->n++;
  assert_true(i < 16);
  s->seq[i] = c->seq;
  memcpy(s->actor[i], c->actor, 8);
  snprintf(s->msg[i], sizeof s->msg[i], "%.*s", (int)c->message_len,
           c->message ? c->message : "");
  assert_true(c->nops >= 1);
  assert_non_null(c->bytes);
  assert_true(c->len > 0);
  s->kind[i] = c->ops[0].kind;
  snprintf(s->key[i], sizeof s->key[i], "%.*s", (int)c->ops[0].key_len,
           c->ops[0].key ? c->ops[0].key : "");
  s->value[i] = c->ops[0].value.type == ACCORD_INT ? c->ops[0].value.u.i : -1;
  snprintf(s->text[i], sizeof s->text[i], "%.*s", (int)c->ops[0].text_len,
           c->ops[0].text ? c->ops[0].text : "");
  return s->stop_after && s->n == s->stop_after ? 42 : 0;
}

static void commit_put(accord_doc *d, const char *key, int64_t v,
                       const char *msg) {
  accord_txn *t;
  accord_value x = accord_int(v);
  AOK(accord_txn_begin(d, &t));
  AOK(accord_map_put(t, ACCORD_ROOT, key, &x));
  AOK(accord_txn_set_message(t, msg, strlen(msg)));
  AOK(accord_txn_commit(t, NULL));
}

/* The history lists every change once, causally ordered, with its author,
 * seq, message and operations. */
static void history_in_causal_order(void **state) {
  (void)state;
  accord_doc *a = du_new(1), *b = du_new(2);
  commit_put(a, "target", 160, "first plan");
  du_sync(b, a);
  commit_put(b, "target", 170, "after the Q1 review");
  accord_id text = du_put_object(a, ACCORD_ROOT, "notes", ACCORD_TEXT);
  accord_txn *t;
  AOK(accord_txn_begin(a, &t));
  AOK(accord_text_splice(t, text, 0, 0, "hi", 2));
  AOK(accord_txn_commit(t, NULL));
  du_sync_both(a, b);

  seen s;
  memset(&s, 0, sizeof s);
  AOK(accord_doc_history(a, record, &s));
  assert_int_equal(s.n, 4);
  uint8_t ana[8], ben[8];
  test_actor(ana, 1);
  test_actor(ben, 2);
  int ben_at = -1, plan_at = -1;
  for (int i = 0; i < s.n; i++) {
    if (!memcmp(s.actor[i], ben, 8)) ben_at = i;
    if (!strcmp(s.msg[i], "first plan")) plan_at = i;
  }
  assert_true(plan_at >= 0 && ben_at > plan_at); /* Ben saw Ana's plan */
  assert_memory_equal(s.actor[plan_at], ana, 8);
  assert_int_equal(s.seq[plan_at], 1);
  assert_int_equal(s.kind[plan_at], ACCORD_OP_SET);
  assert_string_equal(s.key[plan_at], "target");
  assert_int_equal(s.value[plan_at], 160);
  assert_string_equal(s.msg[ben_at], "after the Q1 review");
  assert_int_equal(s.value[ben_at], 170);
  assert_int_equal(s.seq[ben_at], 1);
  int text_at = -1;
  for (int i = 0; i < s.n; i++)
    if (s.kind[i] == ACCORD_OP_INSERT) text_at = i;
  assert_true(text_at >= 0);
  assert_string_equal(s.text[text_at], "hi");
  assert_int_equal(s.seq[text_at], 3);

  /* the same history on the other replica */
  seen s2;
  memset(&s2, 0, sizeof s2);
  AOK(accord_doc_history(b, record, &s2));
  assert_int_equal(s2.n, 4);

  /* a non-zero return stops the walk and comes back */
  memset(&s, 0, sizeof s);
  s.stop_after = 2;
  assert_int_equal(accord_doc_history(a, record, &s), 42);
  assert_int_equal(s.n, 2);
  accord_doc_free(a);
  accord_doc_free(b);
}

static void history_empty_doc(void **state) {
  (void)state;
  accord_doc *a = du_new(1);
  seen s;
  memset(&s, 0, sizeof s);
  AOK(accord_doc_history(a, record, &s));
  assert_int_equal(s.n, 0);
  assert_int_equal(accord_doc_history(a, NULL, NULL), ACCORD_EINVAL);
  accord_doc_free(a);
}

/* A mark undoes local commits, imports and pending changes after it. */
static void mark_restores_everything(void **state) {
  (void)state;
  accord_doc *a = du_new(1), *b = du_new(2), *c = du_new(3);
  commit_put(a, "k", 1, "one");
  commit_put(b, "x", 5, "b1");
  du_sync(c, b);
  commit_put(c, "y", 6, "c depends on b1");
  char *before = test_json(a);
  size_t vlen;
  uint8_t *vv = du_version(a, &vlen);

  doc_mark m;
  AOK(doc_mark_take(a, &m));
  commit_put(a, "k", 2, "two");
  accord_import_stats st = du_sync(a, c); /* c's change waits for b1 ... */
  (void)st;
  du_sync(a, b); /* ... until b1 arrives */
  char *during = test_json(a);
  assert_string_not_equal(during, before);
  accord_free(during);
  AOK(doc_mark_restore(a, &m));

  du_assert_json(a, before);
  size_t vlen2;
  uint8_t *vv2 = du_version(a, &vlen2);
  assert_int_equal(vlen, vlen2);
  assert_memory_equal(vv, vv2, vlen);
  /* and it goes on working: the same changes apply again */
  commit_put(a, "k", 3, "three");
  du_sync(a, b);
  du_sync(a, c);
  accord_value v;
  AOK(accord_map_get(a, ACCORD_ROOT, "y", &v));
  assert_int_equal(v.u.i, 6);
  accord_free(before);
  accord_free(vv);
  accord_free(vv2);
  accord_doc_free(a);
  accord_doc_free(b);
  accord_doc_free(c);
}

/* A mark taken with changes pending restores them. */
static void mark_restores_pending(void **state) {
  (void)state;
  accord_doc *a = du_new(1), *b = du_new(2), *c = du_new(3);
  commit_put(b, "x", 5, "b1");
  du_sync(c, b);
  commit_put(c, "y", 6, "c1");
  /* c's own change alone (what c sends a peer that has b1): it waits */
  size_t vlen, blen;
  uint8_t *vv = du_version(b, &vlen), *batch;
  AOK(accord_doc_changes_since(c, vv, vlen, &batch, &blen));
  accord_import_stats st;
  AOK(accord_doc_import(a, batch, blen, &st));
  accord_free(vv);
  accord_free(batch);
  assert_int_equal(st.pending, 1);
  doc_mark m;
  AOK(doc_mark_take(a, &m));
  st = du_sync(a, b); /* releases the pending change */
  assert_int_equal(st.pending, 0);
  AOK(doc_mark_restore(a, &m));
  st = du_sync(a, b);
  assert_int_equal(st.applied, 2); /* b1 and the restored pending c1 */
  assert_int_equal(st.pending, 0);
  accord_doc_free(a);
  accord_doc_free(b);
  accord_doc_free(c);
}

TEST_MAIN(cmocka_unit_test(history_in_causal_order),
          cmocka_unit_test(history_empty_doc),
          cmocka_unit_test(mark_restores_everything),
          cmocka_unit_test(mark_restores_pending))
