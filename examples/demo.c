/*
 * demo.c — accord's main job as one short story. Ana (PM) and Ben
 * (marketing) share a goal and its launch messaging in one workspace
 * document, edit it offline on their laptops, and converge when they sync.
 *
 * The network and the CLI do not exist yet, so each laptop is an in-memory
 * replica of the same document, and a sync is what peers will do over the
 * wire: one side sends its version vector, the other answers with the changes
 * it lacks as one batch of bytes, the first imports it. Public API only.
 *
 * Exit status: 0 when both replicas end identical with both edits and the
 * resolution in place; 1 otherwise, or on any library error.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accord.h"

typedef struct laptop {
  const char *name;
  accord_doc *doc;
} laptop;

static laptop ana = {"Ana", NULL},
              ben = {"Ben", NULL}, *const laptops[] = {&ana, &ben};
/* Object ids are the same on every replica: one id names an object on both. */
static accord_id metric, checkins, positioning;
static const char *BOLD = "", *DIM = "", *GREEN = "", *OFF = "";
static int step;

static void fail(const char *what, const char *why) {
  fprintf(stderr, "accord-demo failed: %s: %s\n", what, why);
  exit(1);
}
#define CHECK(call)                                  \
  do {                                               \
    int rc_ = (call);                                \
    if (rc_ != 0) fail(#call, accord_strerror(rc_)); \
  } while (0)

/* One numbered sentence of the story. */
static void say(const char *sentence) {
  printf("\n%s%d. %s%s\n", BOLD, ++step, sentence, OFF);
}

/* Who an actor id belongs to: in the product, the workspace member list. */
static const char *who(const uint8_t *actor) {
  for (int i = 0; i < 2; i++)
    if (!memcmp(actor, accord_doc_actor(laptops[i]->doc), ACCORD_ACTOR_BYTES))
      return laptops[i]->name;
  return "someone else";
}

static void put(accord_txn *txn, accord_id obj, const char *key,
                accord_value v) {
  CHECK(accord_map_put(txn, obj, key, &v));
}
static void put_str(accord_txn *txn, accord_id obj, const char *key,
                    const char *s) {
  put(txn, obj, key, accord_str(s, strlen(s)));
}
static accord_id put_text(accord_txn *txn, accord_id obj, const char *key,
                          const char *s) {
  accord_id t;
  CHECK(accord_map_put_object(txn, obj, key, ACCORD_TEXT, &t));
  CHECK(accord_text_splice(txn, t, 0, 0, s, strlen(s)));
  return t;
}

static size_t code_points(const char *s, size_t n) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) k += ((unsigned char)s[i] & 0xC0) != 0x80;
  return k;
}

/* Rewrites the first occurrence of old as repl with one splice at code-point
 * positions: an edit, never a whole-text replacement (DESIGN §8). */
static void rewrite(accord_txn *txn, const accord_doc *doc, accord_id text,
                    const char *old, const char *repl) {
  char *s = NULL;
  CHECK(accord_text_read(doc, text, &s, NULL));
  const char *at = strstr(s, old);
  if (!at) fail(old, "not found in the text");
  size_t pos = code_points(s, (size_t)(at - s));
  accord_free(s);
  CHECK(accord_text_splice(txn, text, pos, code_points(old, strlen(old)), repl,
                           strlen(repl)));
}

/* An offline session on l's laptop: a positioning edit and a new target in
 * one change, then a check-in appended to the goal in another. */
static void work_offline(laptop *l, const char *old, const char *repl,
                         int64_t target, const char *why, int64_t when,
                         int64_t value, const char *note) {
  accord_txn *txn;
  accord_id c;
  size_t n;
  CHECK(accord_txn_begin(l->doc, &txn));
  CHECK(accord_txn_set_message(txn, why, strlen(why)));
  rewrite(txn, l->doc, positioning, old, repl);
  put(txn, metric, "target", accord_int(target));
  CHECK(accord_txn_commit(txn, NULL));
  CHECK(accord_list_len(l->doc, checkins, &n));
  CHECK(accord_txn_begin(l->doc, &txn));
  CHECK(accord_list_insert_object(txn, checkins, n, ACCORD_MAP, &c));
  put(txn, c, "time", accord_timestamp(when));
  put(txn, c, "value", accord_int(value));
  put_str(txn, c, "note", note);
  put_str(txn, c, "author", l->name);
  CHECK(accord_txn_commit(txn, NULL));
}

/* accord_doc_history callback: prints every change of the target. */
static int target_change(void *userdata, const accord_change_meta *c) {
  for (size_t i = 0; i < c->nops; i++) {
    const accord_op_info *op = &c->ops[i];
    if (op->kind != ACCORD_OP_SET || op->key_len != 6 ||
        memcmp(op->key, "target", 6) != 0)
      continue;
    printf("   %-3s set the target to %lld: \"%.*s\"\n", who(c->actor),
           (long long)op->value.u.i, (int)c->message_len,
           c->message ? c->message : "");
    ++*(int *)userdata;
  }
  return 0;
}

/* Prints the positioning as it reads on l's laptop. */
static void show_text(laptop *l) {
  char *s = NULL;
  CHECK(accord_text_read(l->doc, positioning, &s, NULL));
  printf("   %s's laptop: \"%s\"\n", l->name, s);
  accord_free(s);
}

/* to sends its version vector; from answers with the changes to lacks. */
static void sync_to(laptop *from, laptop *to) {
  uint8_t *vv = NULL, *batch = NULL;
  size_t vv_len, len;
  accord_import_stats st;
  CHECK(accord_doc_version(to->doc, &vv, &vv_len));
  CHECK(accord_doc_changes_since(from->doc, vv, vv_len, &batch, &len));
  CHECK(accord_doc_import(to->doc, batch, len, &st));
  printf(
      "   %s%s -> %s: %zu B version vector, %zu B of changes, %zu applied%s\n",
      DIM, from->name, to->name, vv_len, len, st.applied, OFF);
  accord_free(vv);
  accord_free(batch);
}

/* Indents the library's compact JSON; strings are copied untouched. */
static void print_json(const char *s) {
  int depth = 1, in_str = 0;
  printf("   ");
  for (const char *p = s; *p; p++) {
    char c = *p;
    if (in_str || !strchr("{[]},:", c)) {
      putchar(c);
      if (in_str && c == '\\') putchar(*++p); /* copy the escaped char too */
      if (c == '"') in_str = !in_str;
    } else if (c == ':') {
      printf(": ");
    } else {
      if (c == '}' || c == ']') printf("\n%*s", 2 * --depth + 1, "");
      putchar(c);
      if (c == '{' || c == '[') depth++;
      if (c != '}' && c != ']') printf("\n%*s", 2 * depth + 1, "");
    }
  }
  putchar('\n');
}

int main(void) {
  const char *nc = getenv("NO_COLOR");
  if (isatty(STDOUT_FILENO) && !(nc && *nc))
    BOLD = "\033[1m", DIM = "\033[2m", GREEN = "\033[32m", OFF = "\033[0m";
  accord_txn *txn;
  accord_id goal, msg, keys;
  const int64_t day = 86400000, mar1 = 1740787200000; /* 2025-03-01 UTC */

  say("Ana (PM) creates the team's workspace document: the Q2 goal and the "
      "launch messaging.");
  CHECK(accord_doc_new(NULL, NULL, &ana.doc));
  CHECK(accord_txn_begin(ana.doc, &txn));
  CHECK(accord_map_put_object(txn, ACCORD_ROOT, "goal", ACCORD_MAP, &goal));
  put_str(txn, goal, "title", "Grow weekly active teams");
  CHECK(accord_map_put_object(txn, goal, "metric", ACCORD_MAP, &metric));
  put_str(txn, metric, "name", "weekly active teams");
  put_str(txn, metric, "unit", "teams");
  put(txn, metric, "baseline", accord_int(120));
  put(txn, metric, "target", accord_int(150));
  put_str(txn, metric, "direction", "up");
  put(txn, goal, "due", accord_timestamp(mar1 + 121 * day)); /* 30 June */
  put_str(txn, goal, "team", "shared");
  put_str(txn, goal, "status", "on track");
  CHECK(accord_map_put_object(txn, goal, "checkins", ACCORD_LIST, &checkins));
  CHECK(accord_map_put_object(txn, ACCORD_ROOT, "messaging", ACCORD_MAP, &msg));
  put_str(txn, msg, "title", "Launch messaging");
  put_str(txn, msg, "product", "accord");
  put_text(txn, msg, "value_proposition",
           "Agree on what success means, then say it the same way everywhere.");
  positioning =
      put_text(txn, msg, "positioning",
               "For product teams who plan in separate tools, accord is the "
               "shared workspace — goals and messaging side by side. Unlike "
               "wikis, it works offline and merges everyone’s edits.");
  CHECK(accord_map_put_object(txn, msg, "key_messages", ACCORD_LIST, &keys));
  const char *km[] = {"Goals and messaging live side by side.",
                      "Works offline; syncs peer to peer."};
  for (size_t i = 0; i < 2; i++) {
    accord_value v = accord_str(km[i], strlen(km[i]));
    CHECK(accord_list_insert(txn, keys, i, &v));
  }
  put_str(txn, msg, "status", "draft");
  CHECK(accord_txn_set_message(txn, "create Q2 workspace", 19));
  CHECK(accord_txn_commit(txn, NULL));
  const uint8_t *id = accord_doc_id(ana.doc);
  printf("   %sdoc id %02x%02x%02x%02x… (the invite carries it to Ben)%s\n",
         DIM, id[0], id[1], id[2], id[3], OFF);

  say("Ben (marketing) opens the same document id on his laptop and syncs a "
      "copy.");
  CHECK(accord_doc_new(accord_doc_id(ana.doc), NULL, &ben.doc));
  sync_to(&ana, &ben);

  say("Both go offline; Ana rewrites the audience in the positioning's first "
      "sentence, sets the target to 160 and logs a check-in.");
  work_offline(&ana, "product teams who plan in separate tools",
               "PM and marketing teams who ship launches together", 160,
               "webinar funnel converts better than planned", mar1 + 14 * day,
               128, "Webinar sign-ups converted");
  show_text(&ana);

  say("Meanwhile Ben sharpens the last sentence, sets the target to 170 and "
      "logs his own check-in.");
  work_offline(&ben, "works offline and merges everyone’s edits",
               "works offline, needs no server, and never loses an edit", 170,
               "conference leads are strong", mar1 + 15 * day, 131,
               "Newsletter drove invites");
  show_text(&ben);

  say("Back online, they sync both ways by exchanging bytes.");
  sync_to(&ana, &ben);
  sync_to(&ben, &ana);

  say("The positioning now keeps both edits, on both laptops:");
  show_text(&ana);
  show_text(&ben);

  say("The target was set twice concurrently, so both values survive as a "
      "conflict:");
  accord_conflict cf[4];
  size_t n;
  CHECK(accord_map_conflicts(ana.doc, metric, "target", cf, 4, &n));
  if (n != 2) fail("target", "expected two concurrent values");
  for (size_t i = 0; i < n && i < 4; i++)
    printf("   target = %lld   set by %s%s\n", (long long)cf[i].value.u.i,
           who(cf[i].op.actor),
           i == 0 ? "   (shown for now: highest op id)" : "");

  say("Ana resolves it with 165 (\"split the difference after the Q1 review\") "
      "and syncs it to Ben.");
  CHECK(accord_txn_begin(ana.doc, &txn));
  const char *why = "split the difference after the Q1 review";
  CHECK(accord_txn_set_message(txn, why, strlen(why)));
  put(txn, metric, "target", accord_int(165));
  CHECK(accord_txn_commit(txn, NULL));
  sync_to(&ana, &ben);
  for (int i = 0; i < 2; i++) {
    CHECK(accord_map_conflicts(laptops[i]->doc, metric, "target", cf, 4, &n));
    if (n != 1 || cf[0].value.u.i != 165)
      fail("target", "resolution did not stick");
  }
  printf("   target = 165 on both laptops, set by %s, no conflict left\n",
         who(cf[0].op.actor));

  say("Ben's laptop keeps the target's history: who changed it, and why.");
  int changes = 0;
  CHECK(accord_doc_history(ben.doc, target_change, &changes));
  if (changes != 4) fail("history", "expected four settings of the target");

  say("Both laptops now hold this document:");
  char *json_a = NULL, *json_b = NULL;
  CHECK(accord_doc_json(ana.doc, &json_a, NULL));
  CHECK(accord_doc_json(ben.doc, &json_b, NULL));
  print_json(json_a);
  int same = !strcmp(json_a, json_b),
      merged = strstr(json_a, "ship launches") &&
               strstr(json_a, "never loses an edit");
  accord_free(json_a);
  accord_free(json_b);
  accord_doc_free(ana.doc);
  accord_doc_free(ben.doc);
  if (!merged) fail("positioning", "an edit was lost in the merge");
  if (!same) fail("replicas", "Ana's and Ben's JSON differ");
  printf("\n%sBoth laptops hold identical documents.%s\n", GREEN, OFF);
  return 0;
}
