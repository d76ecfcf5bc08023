/*
 * cmd_goal.c — `accord goal add|list|show|set|checkin|history`: parsing
 * and printing around the library's goal documents (accord.h, "Goals").
 * Every value is checked (accord_domain_check) before the first write.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* ---- JSON -------------------------------------------------------------------- */

void json_goal(cli *c, jw *w, accord_doc *doc, const uint8_t *id) {
  accord_goal *g = NULL;
  double p;
  jw_obj(w);
  jw_key(w, "id");
  jw_hex(w, id, ACCORD_DOC_ID_BYTES);
  jw_key(w, "short_id");
  jw_str(w, ids_short(c, id));
  if (accord_goal_read(doc, &g)) {
    jw_obj_end(w);
    return;
  }
  jw_key(w, "title");
  jw_str(w, g->title);
  jw_key(w, "description");
  jw_str(w, g->description);
  jw_key(w, "metric");
  jw_str(w, g->metric);
  jw_key(w, "unit");
  jw_str(w, g->unit);
  jw_key(w, "direction");
  jw_str(w, g->direction);
  jw_key(w, "baseline");
  if (g->has_baseline) jw_num(w, g->baseline);
  else jw_null(w);
  jw_key(w, "target");
  if (g->has_target) jw_num(w, g->target);
  else jw_null(w);
  jw_key(w, "current");
  if (g->has_current) jw_num(w, g->current);
  else jw_null(w);
  jw_key(w, "progress");
  if (!accord_goal_progress(g, &p)) jw_num(w, (double)(int64_t)(p * 1000 + (p >= 0 ? 0.5 : -0.5)) / 1000);
  else jw_null(w);
  jw_key(w, "due");
  jw_date(w, g->due);
  jw_key(w, "status");
  jw_str(w, g->status);
  jw_key(w, "team");
  if (*g->team) jw_str(w, g->team);
  else jw_null(w);
  jw_key(w, "owners");
  jw_arr(w);
  for (size_t i = 0; i < g->nowners; i++) jw_str(w, g->owners[i]);
  jw_arr_end(w);
  jw_key(w, "checkins");
  jw_arr(w);
  for (size_t i = 0; i < g->ncheckins; i++) {
    const accord_checkin *ci = &g->checkins[i];
    jw_obj(w);
    jw_key(w, "time");
    jw_time(w, ci->time);
    jw_key(w, "value");
    jw_num(w, ci->value);
    jw_key(w, "note");
    jw_str(w, ci->note);
    jw_key(w, "author");
    jw_str(w, *ci->author ? ci->author : ids_member(c, ci->actor));
    jw_obj_end(w);
  }
  jw_arr_end(w);
  jw_key(w, "messaging");
  jw_arr(w);
  for (size_t i = 0; i < g->nlinks; i++) jw_hex(w, g->links[i], ACCORD_DOC_ID_BYTES);
  jw_arr_end(w);
  jw_key(w, "created");
  jw_time(w, g->created);
  jw_key(w, "conflicts");
  json_conflicts(c, w, doc);
  jw_obj_end(w);
  accord_free(g);
}

/* ---- add ------------------------------------------------------------------------ */

typedef struct goal_add_ctx {
  const char *title;
  int64_t now;
  const char *fields[9], *values[9];
  size_t nfields;
  const char **owners;
  size_t nowners;
} goal_add_ctx;

static int goal_add_edit(accord_txn *txn, void *vctx) {
  goal_add_ctx *a = vctx;
  int rc = accord_goal_init(txn, a->title, a->now);
  for (size_t i = 0; !rc && i < a->nfields; i++)
    rc = accord_goal_set(txn, a->fields[i], a->values[i]);
  for (size_t i = 0; !rc && i < a->nowners; i++)
    rc = accord_goal_add_owner(txn, a->owners[i]);
  return rc;
}

static int goal_add(cli *c, int argc, char **argv) {
  const char *metric = NULL, *unit = NULL, *baseline = NULL, *target = NULL,
             *due = NULL, *team = NULL, *direction = NULL, *description = NULL;
  const char **owners = NULL;
  size_t nowners = 0, npos = 0;
  char *pos[1];
  opt opts[] = {{"metric", 1, &metric, NULL, NULL, NULL},
                {"unit", 1, &unit, NULL, NULL, NULL},
                {"baseline", 1, &baseline, NULL, NULL, NULL},
                {"target", 1, &target, NULL, NULL, NULL},
                {"due", 1, &due, NULL, NULL, NULL},
                {"team", 1, &team, NULL, NULL, NULL},
                {"direction", 1, &direction, NULL, NULL, NULL},
                {"description", 1, &description, NULL, NULL, NULL},
                {"owner", 1, NULL, &owners, &nowners, NULL},
                {NULL, 0, NULL, NULL, NULL, NULL}};
  int rc = parse_opts("goal add", argc, argv, opts, pos, 1, 1, &npos);
  goal_add_ctx a = {0};
  const char **names = NULL;
  accord_doc *doc = NULL;
  if (rc) goto done;
  if ((rc = cli_open(c))) goto done;
  a.title = pos[0];
  a.now = c->now;
  if (!*a.title) {
    rc = cli_fail(EX_USAGE, "a goal needs a title");
    goto done;
  }
  const char *given[][2] = {{"metric", metric},       {"unit", unit},
                            {"baseline", baseline},   {"target", target},
                            {"due", due},             {"team", team},
                            {"direction", direction}, {"description", description}};
  for (size_t i = 0; i < sizeof given / sizeof *given; i++) {
    const char *why;
    if (!given[i][1]) continue;
    if (accord_domain_check(1, given[i][0], given[i][1], &why)) {
      rc = cli_fail(EX_USAGE, "--%s \"%s\": %s", given[i][0], given[i][1], why);
      goto done;
    }
    a.fields[a.nfields] = given[i][0];
    a.values[a.nfields++] = given[i][1];
  }
  names = calloc(nowners + 1, sizeof *names);
  if (!names) {
    rc = cli_fail(EX_FAIL, "out of memory");
    goto done;
  }
  for (size_t i = 0; i < nowners; i++) {
    const accord_member *p = ids_find_member(c, owners[i]);
    if (!p) {
      rc = cli_fail(EX_NOTFOUND, "--owner %s: no member of this workspace has that name or id",
                    owners[i]);
      goto done;
    }
    names[i] = p->name;
  }
  a.owners = names;
  a.nowners = nowners;
  int lrc = accord_node_doc_create(c->node, c->ws, ACCORD_GOAL_TYPE, &doc);
  if (!lrc) lrc = cli_edit(c, doc, "add goal", goal_add_edit, &a, NULL);
  if (lrc) {
    rc = cli_lib_fail(c, lrc, "cannot add the goal");
    goto done;
  }
  if (c->json) {
    jw w;
    jw_init(&w, stdout);
    json_goal(c, &w, doc, accord_doc_id(doc));
    jw_end(&w);
  } else {
    /* the new id may lengthen the short form: reload */
    accord_free(c->docs);
    c->docs = NULL;
    if ((rc = ids_load(c))) goto done;
    printf("%s\n", ids_short(c, accord_doc_id(doc)));
  }
done:
  accord_node_doc_close(c->node, doc);
  free(owners);
  free(names);
  return rc;
}

/* ---- list ------------------------------------------------------------------------ */

static const char *status_color(const char *status) {
  if (!strcmp(status, "on-track") || !strcmp(status, "approved")) return C_GREEN;
  if (!strcmp(status, "at-risk") || !strcmp(status, "review")) return C_YELLOW;
  if (!strcmp(status, "off-track")) return C_RED;
  return C_DIM;
}

static int goal_list(cli *c, int argc, char **argv) {
  int rc = parse_opts("goal list", argc, argv, NULL, NULL, 0, 0, NULL);
  if (rc || (rc = cli_open(c))) return rc;
  jw w;
  table t;
  jw_init(&w, stdout);
  tbl_init(&t, 7);
  if (c->json) jw_arr(&w);
  else {
    const char *h[] = {"ID", "TITLE", "TEAM", "STATUS", "PROGRESS", "VALUE", "DUE"};
    for (int i = 0; i < 7; i++) tbl_add(&t, NULL, "%s", h[i]);
  }
  size_t shown = 0;
  for (size_t i = 0; i < c->ndocs; i++) {
    if (strcmp(c->docs[i].type, ACCORD_GOAL_TYPE)) continue;
    accord_doc *doc = NULL;
    accord_goal *g = NULL;
    if ((rc = open_doc(c, c->docs[i].id, &doc))) break;
    if (c->json) {
      if (!accord_goal_read(doc, &g)) json_goal(c, &w, doc, c->docs[i].id);
    } else if (!accord_goal_read(doc, &g)) {
      char bar[96], cur[32] = "-", tgt[32] = "-", due[16];
      double p;
      if (!accord_goal_progress(g, &p)) fmt_bar(p, 10, bar, sizeof bar);
      else snprintf(bar, sizeof bar, "(no target)");
      if (g->has_current) fmt_num(g->current, cur, sizeof cur);
      else if (g->has_baseline) fmt_num(g->baseline, cur, sizeof cur);
      if (g->has_target) fmt_num(g->target, tgt, sizeof tgt);
      fmt_date(g->due, due, sizeof due);
      tbl_add(&t, C_CYAN, "%s", ids_short(c, c->docs[i].id));
      tbl_add(&t, NULL, "%s", g->title);
      tbl_add(&t, NULL, "%s", *g->team ? g->team : "-");
      tbl_add(&t, status_color(g->status), "%s", g->status);
      tbl_add(&t, !accord_goal_progress(g, &p) && p >= 1 ? C_GREEN : NULL, "%s", bar);
      tbl_add(&t, NULL, "%s / %s%s%s", cur, tgt, *g->unit ? " " : "", g->unit);
      tbl_add(&t, NULL, "%s", due);
      shown++;
    }
    accord_free(g);
    accord_node_doc_close(c->node, doc);
  }
  if (c->json) {
    jw_arr_end(&w);
    jw_end(&w);
  } else if (!rc) {
    if (shown) tbl_print(c, &t, 1);
    else printf("No goals yet: add one with `accord goal add TITLE --target N`.\n");
  }
  tbl_free(&t);
  return rc;
}

/* ---- show ------------------------------------------------------------------------ */

static int goal_show(cli *c, int argc, char **argv) {
  char *pos[1];
  uint8_t id[ACCORD_DOC_ID_BYTES];
  accord_doc *doc = NULL;
  accord_goal *g = NULL;
  int rc = parse_opts("goal show", argc, argv, NULL, pos, 1, 1, NULL);
  if (rc || (rc = open_typed(c, pos[0], ACCORD_GOAL_TYPE, id, &doc)))
    return rc;
  int lrc = accord_goal_read(doc, &g);
  if (lrc) {
    rc = cli_lib_fail(c, lrc, "cannot read goal %s", pos[0]);
    goto done;
  }
  if (c->json) {
    jw w;
    jw_init(&w, stdout);
    json_goal(c, &w, doc, id);
    jw_end(&w);
    goto done;
  }
  char a[32], b[32], d[32], bar[96];
  double p;
  printf("%s%s%s  %s%s%s\n", col(c, C_BOLD), tty(g->title), col(c, C_OFF),
         col(c, C_CYAN), ids_short(c, id), col(c, C_OFF));
  if (*g->description) print_wrapped(g->description, "  ");
  printf("\n  status     %s%s%s\n", col(c, status_color(g->status)), tty(g->status),
         col(c, C_OFF));
  printf("  team       %s\n", *g->team ? tty(g->team) : "-");
  printf("  metric     %s%s%s%s (%s)\n", *g->metric ? tty(g->metric) : "-",
         *g->unit ? " [" : "", tty(g->unit), *g->unit ? "]" : "", tty(g->direction));
  if (g->has_baseline) fmt_num(g->baseline, a, sizeof a);
  else snprintf(a, sizeof a, "-");
  if (g->has_target) fmt_num(g->target, b, sizeof b);
  else snprintf(b, sizeof b, "-");
  if (g->has_current) fmt_num(g->current, d, sizeof d);
  else snprintf(d, sizeof d, "-");
  printf("  baseline   %s\n  target     %s\n  current    %s\n", a, b, d);
  if (!accord_goal_progress(g, &p)) {
    fmt_bar(p, 20, bar, sizeof bar);
    printf("  progress   %s\n", bar);
  }
  fmt_date(g->due, a, sizeof a);
  printf("  due        %s\n", a);
  printf("  owners     ");
  for (size_t i = 0; i < g->nowners; i++)
    printf("%s%s", i ? ", " : "", tty(g->owners[i]));
  printf("%s\n", g->nowners ? "" : "-");
  printf("  messaging  ");
  for (size_t i = 0; i < g->nlinks; i++)
    printf("%s%s", i ? ", " : "", ids_short(c, g->links[i]));
  printf("%s\n", g->nlinks ? "" : "-");
  if (g->ncheckins) {
    printf("\n  check-ins\n");
    table t;
    tbl_init(&t, 4);
    for (size_t i = 0; i < g->ncheckins; i++) {
      const accord_checkin *ci = &g->checkins[i];
      fmt_time(ci->time, a, sizeof a);
      fmt_num(ci->value, b, sizeof b);
      tbl_add(&t, NULL, "    %s", a);
      tbl_add(&t, C_BOLD, "%s", b);
      tbl_add(&t, NULL, "%s", *ci->author ? ci->author : ids_member(c, ci->actor));
      tbl_add(&t, NULL, "%s", ci->note);
    }
    tbl_print(c, &t, 0);
    tbl_free(&t);
  }
  if (print_conflicts(c, doc, "  ")) printf("\n  resolve with `accord resolve %s FIELD VALUE`\n", ids_short(c, id));
done:
  accord_free(g);
  accord_node_doc_close(c->node, doc);
  return rc;
}

/* ---- set -------------------------------------------------------------------------- */

typedef struct set_ctx {
  const char *field, *value;
} set_ctx;

static int goal_set_edit(accord_txn *txn, void *vctx) {
  set_ctx *s = vctx;
  return accord_goal_set(txn, s->field, s->value);
}

static int goal_set(cli *c, int argc, char **argv) {
  const char *why = NULL;
  char *pos[3];
  opt opts[] = {{"why", 1, &why, NULL, NULL, NULL}, {NULL, 0, NULL, NULL, NULL, NULL}};
  uint8_t id[ACCORD_DOC_ID_BYTES];
  accord_doc *doc = NULL;
  const char *problem;
  int rc = parse_opts("goal set", argc, argv, opts, pos, 3, 3, NULL);
  if (rc) return rc;
  if (accord_domain_check(1, pos[1], pos[2], &problem))
    return cli_fail(EX_USAGE, "cannot set %s to \"%s\": %s (fields: title, description, "
                    "metric, unit, baseline, target, direction, due, team, status)",
                    pos[1], pos[2], problem);
  if ((rc = open_typed(c, pos[0], ACCORD_GOAL_TYPE, id, &doc)))
    return rc;
  char msg[128];
  snprintf(msg, sizeof msg, "set %s", pos[1]);
  set_ctx s = {pos[1], pos[2]};
  uint64_t seq;
  int lrc = cli_edit(c, doc, why ? why : msg, goal_set_edit, &s, &seq);
  if (lrc) rc = cli_lib_fail(c, lrc, "cannot set %s of goal %s", pos[1], pos[0]);
  else if (c->json) {
    jw w;
    jw_init(&w, stdout);
    json_goal(c, &w, doc, id);
    jw_end(&w);
  } else if (!seq) printf("%s already reads that: nothing changed\n", pos[1]);
  accord_node_doc_close(c->node, doc);
  return rc;
}

/* ---- checkin ------------------------------------------------------------------------ */

typedef struct checkin_ctx {
  double value;
  const char *note, *author;
  int64_t now;
} checkin_ctx;

static int checkin_edit(accord_txn *txn, void *vctx) {
  checkin_ctx *k = vctx;
  return accord_goal_checkin(txn, k->value, k->note, k->author, k->now);
}

static int goal_checkin(cli *c, int argc, char **argv) {
  const char *note = NULL, *problem;
  char *pos[2];
  opt opts[] = {{"note", 1, &note, NULL, NULL, NULL}, {NULL, 0, NULL, NULL, NULL, NULL}};
  uint8_t id[ACCORD_DOC_ID_BYTES];
  accord_doc *doc = NULL;
  int rc = parse_opts("goal checkin", argc, argv, opts, pos, 2, 2, NULL);
  if (rc) return rc;
  if (accord_domain_check(1, "target", pos[1], &problem))
    return cli_fail(EX_USAGE, "cannot check in \"%s\": %s", pos[1], problem);
  if ((rc = open_typed(c, pos[0], ACCORD_GOAL_TYPE, id, &doc)))
    return rc;
  const accord_member *me = ids_me(c);
  checkin_ctx k = {strtod(pos[1], NULL), note, me ? me->name : NULL, c->now};
  int lrc = cli_edit(c, doc, note ? note : "check-in", checkin_edit, &k, NULL);
  if (lrc) rc = cli_lib_fail(c, lrc, "cannot check in on goal %s", pos[0]);
  else if (c->json) {
    jw w;
    jw_init(&w, stdout);
    json_goal(c, &w, doc, id);
    jw_end(&w);
  }
  accord_node_doc_close(c->node, doc);
  return rc;
}

/* ---- history ------------------------------------------------------------------------- */

typedef struct hist_ctx {
  cli *c;
  jw *w;
  table *t;
} hist_ctx;

static int hist_event(void *ud, const accord_goal_event *e) {
  hist_ctx *h = ud;
  if (h->w) {
    jw_obj(h->w);
    jw_key(h->w, "field");
    jw_str(h->w, e->field);
    jw_key(h->w, "value");
    jw_value(h->w, &e->value);
    jw_key(h->w, "author");
    jw_str(h->w, ids_member(h->c, e->author));
    jw_key(h->w, "author_id");
    jw_hex(h->w, e->author, ACCORD_ACTOR_BYTES);
    jw_key(h->w, "time");
    jw_time(h->w, e->time);
    jw_key(h->w, "why");
    jw_strn(h->w, e->why, e->why_len);
    jw_obj_end(h->w);
  } else {
    char t[32], v[256];
    fmt_time(e->time, t, sizeof t);
    fmt_value(&e->value, v, sizeof v);
    tbl_add(h->t, C_DIM, "%s", t);
    tbl_add(h->t, NULL, "%s", ids_member(h->c, e->author));
    tbl_add(h->t, NULL, "%s", e->field);
    tbl_add(h->t, C_BOLD, "%s", v);
    tbl_add(h->t, NULL, "%.*s", (int)e->why_len, e->why);
  }
  return 0;
}

static int goal_history(cli *c, int argc, char **argv) {
  char *pos[1];
  uint8_t id[ACCORD_DOC_ID_BYTES];
  accord_doc *doc = NULL;
  int rc = parse_opts("goal history", argc, argv, NULL, pos, 1, 1, NULL);
  if (rc || (rc = open_typed(c, pos[0], ACCORD_GOAL_TYPE, id, &doc)))
    return rc;
  jw w;
  table t;
  jw_init(&w, stdout);
  tbl_init(&t, 5);
  hist_ctx h = {c, c->json ? &w : NULL, &t};
  if (c->json) jw_arr(&w);
  else {
    const char *hd[] = {"WHEN (UTC)", "WHO", "FIELD", "VALUE", "WHY"};
    for (int i = 0; i < 5; i++) tbl_add(&t, NULL, "%s", hd[i]);
  }
  int lrc = accord_goal_history(doc, hist_event, &h);
  if (lrc) rc = cli_lib_fail(c, lrc, "cannot read the history of goal %s", pos[0]);
  else if (c->json) {
    jw_arr_end(&w);
    jw_end(&w);
  } else {
    tbl_print(c, &t, 1);
  }
  tbl_free(&t);
  accord_node_doc_close(c->node, doc);
  return rc;
}

/* ---- dispatch -------------------------------------------------------------------------- */

int cmd_goal(cli *c, int argc, char **argv) {
  static const struct {
    const char *name;
    int (*run)(cli *, int, char **);
  } subs[] = {{"add", goal_add},         {"list", goal_list},
              {"show", goal_show},       {"set", goal_set},
              {"checkin", goal_checkin}, {"history", goal_history}};
  if (argc == 0)
    return cli_fail(EX_USAGE, "`accord goal` needs a command: add, list, show, set, checkin or history (see accord goal --help)");
  if (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
    cli_usage(stdout, "goal");
    return EX_OK;
  }
  for (size_t i = 0; i < sizeof subs / sizeof *subs; i++)
    if (!strcmp(argv[0], subs[i].name)) return subs[i].run(c, argc - 1, argv + 1);
  return cli_fail(EX_USAGE, "unknown command \"goal %s\" (see accord goal --help)",
                  argv[0]);
}
