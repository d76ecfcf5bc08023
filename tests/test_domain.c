/*
 * test_domain.c — the domain layer (accord.h, "Domain: goals and
 * messaging"): text diffs as splices (checked against plain strings, and
 * for surviving concurrent edits), goal and messaging documents, target
 * history with reasons, conflicts per field with authors and times, and the
 * alignment report's rules on a node.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "docutil.h"
#include "mem.h"
#include "testutil.h"

/* Applies the splices of diff(a, b) to a plain string: must give b. */
static void check_diff(const char *a, const char *b, size_t max_splices) {
  accord_splice *sp = NULL;
  size_t n = 0;
  AOK(accord_text_diff(a, strlen(a), b, strlen(b), &sp, &n));
  if (max_splices) assert_true(n <= max_splices);
  /* work on code points as UTF-8 bytes: positions via a scan */
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", a);
  size_t last = (size_t)-1;
  for (size_t i = 0; i < n; i++) {
    assert_true(sp[i].pos <= last); /* descending */
    last = sp[i].pos;
    size_t at = 0, cp = 0;
    while (cp < sp[i].pos) {
      at++;
      while ((buf[at] & 0xC0) == 0x80) at++;
      cp++;
    }
    size_t end = at;
    for (size_t k = 0; k < sp[i].del; k++) {
      end++;
      while ((buf[end] & 0xC0) == 0x80) end++;
    }
    char tail[4096];
    snprintf(tail, sizeof tail, "%s", buf + end);
    snprintf(buf + at, sizeof buf - at, "%.*s%s", (int)sp[i].ins_len, sp[i].ins, tail);
  }
  assert_string_equal(buf, b);
  accord_free(sp);
}

static void diff_matches_reference(void **state) {
  (void)state;
  check_diff("", "", 0);
  check_diff("", "new text", 1);
  check_diff("old text", "", 1);
  check_diff("same", "same", 0);
  check_diff("For product teams", "For PM and marketing teams", 1);
  check_diff("abc", "xbz", 2);
  check_diff("separate tools", "different tools", 2);
  check_diff("héllo wörld — ok", "hello world — okay", 0);
  check_diff("naïve café", "naïve cafés", 1);
  check_diff("ab\xF0\x9F\x98\x80" "cd", "ab\xF0\x9F\x98\x81" "cd", 1);
  /* random edits against the reference */
  test_rng r;
  rng_init(&r, test_seed("diff_matches_reference"));
  const char *alpha[] = {"a", "b", "c", " ", "é", "\xE2\x80\x94"};
  for (int it = 0; it < 300; it++) {
    /* a and b as lists of tokens; b is a few random edits of a */
    int ta[80], tb[90];
    size_t la = rng_below(&r, 60), lb = la, edits = rng_below(&r, 5);
    for (size_t i = 0; i < la; i++) ta[i] = tb[i] = (int)rng_below(&r, 6);
    for (size_t e = 0; e < edits; e++) {
      size_t at = rng_below(&r, lb + 1);
      int kind = (int)rng_below(&r, 3);
      if (kind == 0 && lb < 89) { /* insert */
        memmove(tb + at + 1, tb + at, (lb - at) * sizeof *tb);
        tb[at] = (int)rng_below(&r, 6);
        lb++;
      } else if (at < lb && kind == 1) { /* delete */
        memmove(tb + at, tb + at + 1, (lb - at - 1) * sizeof *tb);
        lb--;
      } else if (at < lb) { /* replace */
        tb[at] = (int)rng_below(&r, 6);
      }
    }
    char a[600] = "", b[600] = "";
    for (size_t i = 0; i < la; i++) strcat(a, alpha[ta[i]]);
    for (size_t i = 0; i < lb; i++) strcat(b, alpha[tb[i]]);
    check_diff(a, b, 0);
  }
}

static void diff_rejects_bad_utf8(void **state) {
  (void)state;
  accord_splice *sp = (accord_splice *)1;
  size_t n = 9;
  assert_int_equal(accord_text_diff("a\xff", 2, "a", 1, &sp, &n), ACCORD_EUTF8);
  assert_null(sp);
  assert_int_equal(n, 0);
}

/* Huge rewrites fall back to one splice and are still right. */
static void diff_falls_back_on_large_input(void **state) {
  (void)state;
  size_t len = 20000;
  char *a = malloc(len + 1), *b = malloc(len + 1);
  for (size_t i = 0; i < len; i++) {
    a[i] = (char)('a' + i % 7);
    b[i] = (char)('a' + i % 5);
  }
  a[len] = b[len] = 0;
  accord_splice *sp = NULL;
  size_t n = 0;
  AOK(accord_text_diff(a, len, b, len, &sp, &n));
  assert_true(n >= 1);
  accord_doc *d = du_new(1);
  accord_txn *t;
  accord_id text;
  AOK(accord_txn_begin(d, &t));
  AOK(accord_map_put_object(t, ACCORD_ROOT, "t", ACCORD_TEXT, &text));
  AOK(accord_text_splice(t, text, 0, 0, a, len));
  AOK(accord_text_update(t, text, b, len, NULL));
  AOK(accord_txn_commit(t, NULL));
  du_assert_text(d, text, b);
  accord_free(sp);
  accord_doc_free(d);
  free(a);
  free(b);
}

/* Two replicas: one edits the start through the diff, the other the end;
 * after sync both edits survive (DESIGN §8). */
static void diff_edits_survive_concurrency(void **state) {
  (void)state;
  accord_doc *a = du_new(1), *b = du_new(2);
  accord_txn *t;
  accord_id text;
  const char *base =
      "For product teams who plan in separate tools, accord is the shared "
      "workspace. Unlike wikis, it works offline.";
  AOK(accord_txn_begin(a, &t));
  AOK(accord_messaging_init(t, "Launch", 1000));
  AOK(accord_messaging_set(t, "positioning", base));
  AOK(accord_txn_commit(t, NULL));
  du_sync(b, a);
  AOK(accord_domain_text_field(a, "positioning", &text));
  size_t n = 0;
  AOK(accord_txn_begin(a, &t));
  AOK(accord_text_update(t, text,
                         "For PM and marketing teams who plan in separate tools, accord is the "
                         "shared workspace. Unlike wikis, it works offline.",
                         strlen("For PM and marketing teams who plan in separate tools, accord "
                                "is the shared workspace. Unlike wikis, it works offline."),
                         &n));
  AOK(accord_txn_commit(t, NULL));
  assert_int_equal(n, 1);
  AOK(accord_txn_begin(b, &t));
  AOK(accord_messaging_set(t, "value-prop", "x"));
  AOK(accord_messaging_set(
      t, "positioning",
      "For product teams who plan in separate tools, accord is the shared "
      "workspace. Unlike wikis, it works offline and never loses an edit."));
  AOK(accord_txn_commit(t, NULL));
  du_sync_both(a, b);
  du_assert_text(a, text,
                 "For PM and marketing teams who plan in separate tools, accord is the "
                 "shared workspace. Unlike wikis, it works offline and never loses an edit.");
  du_assert_same_json(a, b);
  accord_doc_free(a);
  accord_doc_free(b);
}

typedef struct events {
  int n;
  char field[16][16];
  double value[16];
  char why[16][64];
} events;

static int on_event(void *ud, const accord_goal_event *e) {
  events *ev = ud;
  assert_true(ev->n < 16);
  snprintf(ev->field[ev->n], 16, "%s", e->field);
  ev->value[ev->n] = e->value.type == ACCORD_INT ? (double)e->value.u.i : -1;
  snprintf(ev->why[ev->n], 64, "%.*s", (int)e->why_len, e->why);
  ev->n++;
  return 0;
}

static void goal_fields_history_and_conflicts(void **state) {
  (void)state;
  accord_doc *a = du_new(1), *b = du_new(2);
  accord_txn *t;
  AOK(accord_txn_begin(a, &t));
  AOK(accord_goal_init(t, "Grow weekly active teams", 1000));
  AOK(accord_goal_set(t, "metric", "weekly active teams"));
  AOK(accord_goal_set(t, "baseline", "120"));
  AOK(accord_goal_set(t, "target", "150"));
  AOK(accord_goal_set(t, "due", "2026-06-30"));
  AOK(accord_goal_set(t, "team", "shared"));
  AOK(accord_goal_add_owner(t, "Ana"));
  AOK(accord_goal_add_owner(t, "Ana"));
  assert_int_equal(accord_goal_set(t, "target", "lots"), ACCORD_EINVAL);
  assert_int_equal(accord_goal_set(t, "due", "2026-02-30"), ACCORD_EINVAL);
  assert_int_equal(accord_goal_set(t, "colour", "red"), ACCORD_EINVAL);
  assert_int_equal(accord_goal_set(t, "status", "fine"), ACCORD_EINVAL);
  AOK(accord_goal_set(t, "status", "At Risk"));
  AOK(accord_txn_commit(t, NULL));
  du_sync(b, a);
  /* concurrent targets, with reasons */
  AOK(accord_txn_begin(a, &t));
  AOK(accord_txn_set_message(t, "webinar data", 12));
  AOK(accord_goal_set(t, "target", "160"));
  AOK(accord_goal_checkin(t, 128, "signups", "Ana", 2000));
  AOK(accord_txn_commit(t, NULL));
  AOK(accord_txn_begin(b, &t));
  AOK(accord_txn_set_message(t, "newsletter", 10));
  AOK(accord_goal_set(t, "target", "170"));
  AOK(accord_goal_checkin(t, 131, "invites", "Ben", 3000));
  AOK(accord_txn_commit(t, NULL));
  du_sync_both(a, b);
  accord_goal *g = NULL;
  AOK(accord_goal_read(a, &g));
  assert_string_equal(g->title, "Grow weekly active teams");
  assert_string_equal(g->status, "at-risk");
  assert_int_equal(g->nowners, 1);
  assert_int_equal(g->ncheckins, 2);
  assert_true(g->has_current);
  assert_true(g->current == 131); /* the latest by time */
  assert_true(g->target == 170);  /* actor 2 wins the tie */
  double p;
  AOK(accord_goal_progress(g, &p));
  assert_true(p > 0.219 && p < 0.221); /* (131 - 120) / (170 - 120) */
  accord_free(g);
  accord_field_value *fv = NULL;
  size_t n = 0;
  AOK(accord_domain_conflicts(a, &fv, &n));
  assert_int_equal(n, 2);
  assert_string_equal(fv[0].field, "target");
  assert_string_equal(fv[1].field, "target");
  assert_int_equal(fv[0].value.u.i, 170);
  assert_int_equal(fv[1].value.u.i, 160);
  assert_true(fv[0].time > 0 && fv[1].time > 0);
  accord_free(fv);
  /* resolving is a set that supersedes both */
  AOK(accord_txn_begin(a, &t));
  AOK(accord_txn_set_message(t, "split the difference", 20));
  AOK(accord_goal_set(t, "target", "165"));
  AOK(accord_txn_commit(t, NULL));
  du_sync_both(a, b);
  AOK(accord_domain_conflicts(b, &fv, &n));
  assert_int_equal(n, 0);
  assert_null(fv);
  events ev = {0};
  AOK(accord_goal_history(b, on_event, &ev));
  /* creation: baseline, target, due, team, status (on-track then at-risk) */
  int targets = 0;
  for (int i = 0; i < ev.n; i++)
    if (!strcmp(ev.field[i], "target")) targets++;
  assert_int_equal(targets, 4);
  assert_string_equal(ev.field[ev.n - 1], "target");
  assert_true(ev.value[ev.n - 1] == 165);
  assert_string_equal(ev.why[ev.n - 1], "split the difference");
  du_assert_same_json(a, b);
  accord_doc_free(a);
  accord_doc_free(b);
}

static void messaging_keys_and_approvals(void **state) {
  (void)state;
  accord_doc *a = du_new(1), *b = du_new(2);
  accord_txn *t;
  uint8_t ana[8], ben[8];
  test_actor(ana, 1);
  test_actor(ben, 2);
  const char *proofs[] = {"one workspace", "offline"};
  AOK(accord_txn_begin(a, &t));
  assert_int_equal(accord_messaging_init(t, "", 1), ACCORD_EINVAL);
  AOK(accord_messaging_init(t, "Launch", 1));
  assert_int_equal(accord_messaging_init(t, "Again", 1), ACCORD_EINVAL);
  assert_int_equal(accord_goal_set(t, "target", "3"), ACCORD_ENOTFOUND);
  AOK(accord_messaging_add_audience(t, "PMs"));
  AOK(accord_messaging_key_add(t, "Side by side", proofs, 2));
  AOK(accord_messaging_key_add(t, "Second", NULL, 0));
  AOK(accord_messaging_key_remove(t, 1));
  assert_int_equal(accord_messaging_key_remove(t, 1), ACCORD_ERANGE);
  AOK(accord_messaging_approve(t, ana, "Ana", "product", 5));
  AOK(accord_txn_commit(t, NULL));
  du_sync(b, a);
  AOK(accord_txn_begin(b, &t));
  AOK(accord_messaging_approve(t, ben, "Ben", "marketing", 6));
  AOK(accord_txn_commit(t, NULL));
  du_sync_both(a, b);
  accord_messaging *m = NULL;
  AOK(accord_messaging_read(a, &m));
  assert_string_equal(m->status, "approved");
  assert_int_equal(m->napprovals, 2);
  assert_int_equal(m->nkey_messages, 1);
  assert_string_equal(m->key_messages[0].message, "Side by side");
  assert_int_equal(m->key_messages[0].nproof_points, 2);
  assert_string_equal(m->key_messages[0].proof_points[1], "offline");
  assert_int_equal(m->naudiences, 1);
  accord_free(m);
  accord_doc_free(a);
  accord_doc_free(b);
}

static void align_report_rules(void **state) {
  (void)state;
  char dir[] = "/tmp/accord-domain-XXXXXX";
  assert_non_null(mkdtemp(dir));
  accord_node *node;
  uint8_t ws[16];
  AOK(accord_node_open(dir, NULL, &node));
  AOK(accord_node_ws_create(node, "team", ws));
  AOK(accord_member_update(node, ws, "Ana", "product"));
  const int64_t day = 86400000, jan1 = 1767225600000; /* 2026-01-01 */
  accord_doc *g1, *g2, *m;
  accord_txn *t;
  /* g1: 10% of the way with half the time gone: at risk, unlinked */
  AOK(accord_node_doc_create(node, ws, ACCORD_GOAL_TYPE, &g1));
  AOK(accord_node_txn_begin(node, g1, &t));
  AOK(accord_goal_init(t, "Behind", jan1));
  AOK(accord_goal_set(t, "baseline", "0"));
  AOK(accord_goal_set(t, "target", "100"));
  AOK(accord_goal_set(t, "due", "2026-01-21"));
  AOK(accord_goal_checkin(t, 10, "", "Ana", jan1 + day));
  AOK(accord_node_txn_commit(node, t, NULL));
  /* g2: 60% with half the time gone, linked to m */
  AOK(accord_node_doc_create(node, ws, ACCORD_GOAL_TYPE, &g2));
  AOK(accord_node_doc_create(node, ws, ACCORD_MESSAGING_TYPE, &m));
  AOK(accord_node_txn_begin(node, g2, &t));
  AOK(accord_goal_init(t, "Ahead", jan1));
  AOK(accord_goal_set(t, "target", "10"));
  AOK(accord_goal_set(t, "due", "2026-01-21"));
  AOK(accord_goal_checkin(t, 6, "", "Ana", jan1 + day));
  AOK(accord_domain_link(t, accord_doc_id(m), jan1));
  AOK(accord_node_txn_commit(node, t, NULL));
  AOK(accord_node_txn_begin(node, m, &t));
  AOK(accord_messaging_init(t, "Launch", jan1));
  AOK(accord_domain_link(t, accord_doc_id(g2), jan1));
  AOK(accord_node_txn_commit(node, t, NULL));
  accord_align_item *it = NULL;
  size_t n = 0;
  AOK(accord_align_report(node, ws, jan1 + 10 * day, &it, &n));
  assert_int_equal(n, 3);
  assert_int_equal(it[0].kind, ACCORD_ALIGN_GOAL_UNLINKED);
  assert_string_equal(it[0].title, "Behind");
  assert_int_equal(it[1].kind, ACCORD_ALIGN_GOAL_AT_RISK);
  assert_string_equal(it[1].title, "Behind");
  assert_true(it[1].progress > 0.09 && it[1].progress < 0.11);
  assert_true(it[1].elapsed > 0.49 && it[1].elapsed < 0.51);
  assert_int_equal(it[2].kind, ACCORD_ALIGN_MSG_UNAPPROVED);
  accord_free(it);
  accord_member *p = NULL;
  AOK(accord_member_list(node, ws, &p, &n));
  assert_int_equal(n, 1);
  assert_string_equal(p[0].name, "Ana");
  assert_string_equal(p[0].role, "product");
  assert_memory_equal(p[0].actor, accord_node_actor(node), 8);
  accord_free(p);
  accord_node_doc_close(node, g1);
  accord_node_doc_close(node, g2);
  accord_node_doc_close(node, m);
  accord_node_close(node);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

static void dates_parse_strictly(void **state) {
  (void)state;
  int64_t ms;
  AOK(accord_parse_date("2026-06-30", &ms));
  assert_int_equal(ms, 1782777600000);
  AOK(accord_parse_date("2024-02-29", &ms));
  assert_int_equal(accord_parse_date("2025-02-29", &ms), ACCORD_EINVAL);
  assert_int_equal(accord_parse_date("2025-13-01", &ms), ACCORD_EINVAL);
  assert_int_equal(accord_parse_date("2025-1-01", &ms), ACCORD_EINVAL);
  assert_int_equal(accord_parse_date("tomorrow", &ms), ACCORD_EINVAL);
  const char *why;
  assert_int_equal(accord_domain_check(1, "target", "1e3", &why), 0);
  assert_int_equal(accord_domain_check(1, "target", "0x10", &why), ACCORD_EINVAL);
  assert_int_equal(accord_domain_check(1, "target", "nan", &why), ACCORD_EINVAL);
  assert_int_equal(accord_domain_check(0, "value_prop", "x", &why), 0);
  assert_int_equal(accord_domain_check(0, "target", "3", &why), ACCORD_EINVAL);
  assert_non_null(why);
}

/* A goal with every field and a conflict, for the fault-injection test. */
static accord_doc *rich_goal(void) {
  accord_doc *a = du_new(1), *b = du_new(2);
  accord_txn *t;
  AOK(accord_txn_begin(a, &t));
  AOK(accord_goal_init(t, "Grow", 1000));
  AOK(accord_goal_set(t, "target", "150"));
  AOK(accord_goal_add_owner(t, "Ana"));
  AOK(accord_goal_checkin(t, 3, "note", "Ana", 2000));
  AOK(accord_domain_link(t, du_doc_id, 1000));
  AOK(accord_txn_commit(t, NULL));
  du_sync(b, a);
  AOK(accord_txn_begin(a, &t));
  AOK(accord_goal_set(t, "team", "product"));
  AOK(accord_txn_commit(t, NULL));
  AOK(accord_txn_begin(b, &t));
  AOK(accord_goal_set(t, "team", "marketing"));
  AOK(accord_txn_commit(t, NULL));
  du_sync(a, b);
  accord_doc_free(b);
  return a;
}

/* Every allocation of the readers and the diff may fail: the call returns
 * ENOMEM, hands out nothing, and leaks nothing (ASan checks). */
static void readers_survive_allocation_failures(void **state) {
  (void)state;
  accord_doc *g = rich_goal();
  int done = 0;
  for (long k = 1; !done && k < 10000; k++) {
    accord_goal *goal = (accord_goal *)1;
    mem_fail_after(k);
    int rc = accord_goal_read(g, &goal);
    mem_fail_after(0);
    if (rc) {
      assert_int_equal(rc, ACCORD_ENOMEM);
      assert_null(goal);
    } else {
      assert_string_equal(goal->title, "Grow");
      accord_free(goal);
      done = 1;
    }
  }
  assert_true(done);
  done = 0;
  for (long k = 1; !done && k < 10000; k++) {
    accord_field_value *fv = (accord_field_value *)1;
    size_t n = 9;
    mem_fail_after(k);
    int rc = accord_domain_conflicts(g, &fv, &n);
    mem_fail_after(0);
    if (rc) {
      assert_int_equal(rc, ACCORD_ENOMEM);
      assert_null(fv);
    } else {
      assert_int_equal(n, 2);
      assert_string_equal(fv[0].field, "team");
      accord_free(fv);
      done = 1;
    }
  }
  assert_true(done);
  done = 0;
  for (long k = 1; !done && k < 10000; k++) {
    accord_splice *sp = (accord_splice *)1;
    size_t n = 9;
    mem_fail_after(k);
    int rc = accord_text_diff("abcdef", 6, "abXdeYf", 7, &sp, &n);
    mem_fail_after(0);
    if (rc) {
      assert_int_equal(rc, ACCORD_ENOMEM);
      assert_null(sp);
    } else {
      assert_int_equal(n, 1);
      accord_free(sp);
      done = 1;
    }
  }
  assert_true(done);
  accord_doc_free(g);
}

/* Keys of the wrong type (an older or foreign writer) read as empty: no
 * crash, no garbage. */
static void readers_tolerate_wrong_types(void **state) {
  (void)state;
  accord_doc *d = du_new(1);
  accord_txn *t;
  accord_id metric, list;
  accord_value s = accord_str("not text", 8), n = accord_int(5);
  AOK(accord_txn_begin(d, &t));
  AOK(accord_map_put(t, ACCORD_ROOT, "title", &s));
  AOK(accord_map_put_object(t, ACCORD_ROOT, "metric", ACCORD_MAP, &metric));
  AOK(accord_map_put(t, metric, "target", &s));
  AOK(accord_map_put(t, metric, "name", &n));
  AOK(accord_map_put(t, ACCORD_ROOT, "status", &n));
  AOK(accord_map_put_object(t, ACCORD_ROOT, "checkins", ACCORD_MAP, NULL));
  AOK(accord_map_put_object(t, ACCORD_ROOT, "links", ACCORD_LIST, NULL));
  AOK(accord_map_put_object(t, ACCORD_ROOT, "owners", ACCORD_LIST, &list));
  AOK(accord_list_insert(t, list, 0, &n));
  AOK(accord_txn_commit(t, NULL));
  accord_goal *g = NULL;
  AOK(accord_goal_read(d, &g));
  assert_string_equal(g->title, "");
  assert_string_equal(g->metric, "");
  assert_string_equal(g->status, "");
  assert_false(g->has_target);
  assert_int_equal(g->nowners, 0);
  assert_int_equal(g->ncheckins, 0);
  assert_int_equal(g->nlinks, 0);
  accord_free(g);
  /* writing repairs a field of the wrong type */
  AOK(accord_txn_begin(d, &t));
  AOK(accord_goal_set(t, "target", "7"));
  AOK(accord_txn_commit(t, NULL));
  AOK(accord_goal_read(d, &g));
  assert_true(g->has_target && g->target == 7);
  accord_free(g);
  accord_messaging *m = NULL;
  assert_int_equal(accord_messaging_read(d, &m), ACCORD_ENOTFOUND);
  accord_doc_free(d);
}

TEST_MAIN(cmocka_unit_test(diff_matches_reference),
          cmocka_unit_test(diff_rejects_bad_utf8),
          cmocka_unit_test(diff_falls_back_on_large_input),
          cmocka_unit_test(diff_edits_survive_concurrency),
          cmocka_unit_test(goal_fields_history_and_conflicts),
          cmocka_unit_test(messaging_keys_and_approvals),
          cmocka_unit_test(align_report_rules),
          cmocka_unit_test(dates_parse_strictly),
          cmocka_unit_test(readers_survive_allocation_failures),
          cmocka_unit_test(readers_tolerate_wrong_types))
