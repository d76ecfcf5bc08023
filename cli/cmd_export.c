/*
 * cmd_export.c — `accord log [ID]` (every change of the workspace's goals
 * and messaging, oldest first, with its author and message) and
 * `accord export [--format json|md] [ID]`.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void hex(const uint8_t *p, size_t n, char *out) {
  for (size_t i = 0; i < n; i++) snprintf(out + 2 * i, 3, "%02x", p[i]);
}

/* ---- log ------------------------------------------------------------------------------- */

typedef struct log_entry {
  int64_t time;
  uint8_t author[ACCORD_ACTOR_BYTES];
  uint64_t seq;
  const accord_doc_info *doc;
  char *message;
  char summary[160];
} log_entry;

typedef struct log_ctx {
  log_entry *v;
  size_t n, cap;
  const accord_doc_info *doc;
} log_ctx;

static int log_visit(void *ud, const accord_change_meta *m) {
  log_ctx *l = ud;
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 64;
    log_entry *v = realloc(l->v, cap * sizeof *v);
    if (!v) return ACCORD_ENOMEM;
    l->v = v;
    l->cap = cap;
  }
  log_entry *e = &l->v[l->n];
  memset(e, 0, sizeof *e);
  e->time = m->time;
  memcpy(e->author, m->actor, ACCORD_ACTOR_BYTES);
  e->seq = m->seq;
  e->doc = l->doc;
  if (m->message) {
    e->message = malloc(m->message_len + 1);
    if (!e->message) return ACCORD_ENOMEM;
    memcpy(e->message, m->message, m->message_len);
    e->message[m->message_len] = 0;
  }
  /* what it touched: map keys set, characters inserted and removed */
  size_t ins = 0, del = 0, items = 0, w = 0;
  for (size_t i = 0; i < m->nops; i++) {
    const accord_op_info *o = &m->ops[i];
    if (o->kind == ACCORD_OP_INSERT && o->text) ins += o->count;
    else if (o->kind == ACCORD_OP_INSERT) items += o->count;
    else if (o->kind == ACCORD_OP_REMOVE) del += o->count;
    else if (o->key && w < sizeof e->summary - 40) {
      char k[48];
      /* links and approvals are keyed by ids: name the key kind instead */
      if (o->key_len == 32 || o->key_len == 16)
        snprintf(k, sizeof k, "%s", o->key_len == 32 ? "link" : "approval");
      else
        snprintf(k, sizeof k, "%.*s", (int)(o->key_len > 32 ? 32 : o->key_len), o->key);
      if (strstr(e->summary, k)) continue;
      w += (size_t)snprintf(e->summary + w, sizeof e->summary - w, "%s%s", w ? ", " : "", k);
    }
  }
  if (items && w < sizeof e->summary - 40)
    w += (size_t)snprintf(e->summary + w, sizeof e->summary - w, "%s+%zu item%s",
                          w ? "; " : "", items, items == 1 ? "" : "s");
  if (ins || del)
    snprintf(e->summary + w, sizeof e->summary - w, "%s+%zu/-%zu chars", w ? "; " : "", ins, del);
  l->n++;
  return 0;
}

static int by_time(const void *a, const void *b) {
  const log_entry *x = a, *y = b;
  if (x->time != y->time) return x->time < y->time ? -1 : 1;
  if (x->doc != y->doc) return x->doc < y->doc ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int cmd_log(cli *c, int argc, char **argv) {
  char *pos[1];
  size_t npos = 0;
  uint8_t id[ACCORD_DOC_ID_BYTES];
  int rc = parse_opts("log", argc, argv, NULL, pos, 0, 1, &npos);
  if (rc || (rc = cli_open(c))) return rc;
  if (npos && (rc = ids_resolve(c, pos[0], NULL, id, NULL))) return rc;
  log_ctx l = {0};
  for (size_t i = 0; i < c->ndocs && !rc; i++) {
    if (npos && memcmp(c->docs[i].id, id, ACCORD_DOC_ID_BYTES)) continue;
    accord_doc *doc = NULL;
    if ((rc = open_doc(c, c->docs[i].id, &doc))) break;
    l.doc = &c->docs[i];
    int lrc = accord_doc_history(doc, log_visit, &l);
    if (lrc) rc = cli_lib_fail(c, lrc, "cannot read the history of %s", ids_short(c, c->docs[i].id));
    accord_node_doc_close(c->node, doc);
  }
  if (!rc) {
    qsort(l.v, l.n, sizeof *l.v, by_time);
    jw w;
    jw_init(&w, stdout);
    table t;
    tbl_init(&t, 5);
    if (c->json) jw_arr(&w);
    else {
      const char *h[] = {"WHEN (UTC)", "WHO", "DOCUMENT", "WHAT", "WHY"};
      for (int i = 0; i < 5; i++) tbl_add(&t, NULL, "%s", h[i]);
    }
    for (size_t i = 0; i < l.n; i++) {
      log_entry *e = &l.v[i];
      if (c->json) {
        jw_obj(&w);
        jw_key(&w, "time");
        jw_time(&w, e->time);
        jw_key(&w, "author");
        jw_str(&w, ids_member(c, e->author));
        jw_key(&w, "author_id");
        jw_hex(&w, e->author, ACCORD_ACTOR_BYTES);
        jw_key(&w, "doc");
        jw_hex(&w, e->doc->id, ACCORD_DOC_ID_BYTES);
        jw_key(&w, "type");
        jw_str(&w, e->doc->type);
        jw_key(&w, "seq");
        jw_int(&w, (int64_t)e->seq);
        jw_key(&w, "message");
        if (e->message) jw_str(&w, e->message);
        else jw_null(&w);
        jw_key(&w, "changed");
        jw_str(&w, e->summary);
        jw_obj_end(&w);
      } else {
        char when[32];
        fmt_time(e->time, when, sizeof when);
        tbl_add(&t, C_DIM, "%s", when);
        tbl_add(&t, NULL, "%s", ids_member(c, e->author));
        tbl_add(&t, C_CYAN, "%s %s", ids_short(c, e->doc->id),
                strcmp(e->doc->type, ACCORD_GOAL_TYPE) ? "msg" : "goal");
        tbl_add(&t, NULL, "%s", e->summary);
        tbl_add(&t, NULL, "%s", e->message ? e->message : "");
      }
    }
    if (c->json) {
      jw_arr_end(&w);
      jw_end(&w);
    } else if (l.n) {
      tbl_print(c, &t, 1);
    } else {
      printf("No changes yet.\n");
    }
    tbl_free(&t);
  }
  for (size_t i = 0; i < l.n; i++) free(l.v[i].message);
  free(l.v);
  return rc;
}

/* ---- export ------------------------------------------------------------------------------ */

static void md_text(const char *heading, const char *text) {
  if (!*text) return;
  printf("**%s**\n\n%s\n\n", heading, text);
}

static void md_goal(cli *c, accord_doc *doc, const uint8_t *id) {
  accord_goal *g = NULL;
  if (accord_goal_read(doc, &g)) return;
  char a[32] = "-", b[32] = "-", d[32] = "-", due[16];
  if (g->has_baseline) fmt_num(g->baseline, a, sizeof a);
  if (g->has_target) fmt_num(g->target, b, sizeof b);
  if (g->has_current) fmt_num(g->current, d, sizeof d);
  fmt_date(g->due, due, sizeof due);
  printf("### %s\n\n", g->title);
  if (*g->description) printf("%s\n\n", g->description);
  printf("- id: `%s`\n- status: %s\n- team: %s\n- metric: %s%s%s%s (%s)\n"
         "- baseline → target: %s → %s (current %s)\n- due: %s\n",
         ids_short(c, id), g->status, *g->team ? g->team : "-",
         *g->metric ? g->metric : "-", *g->unit ? " [" : "", g->unit,
         *g->unit ? "]" : "", g->direction, a, b, d, due);
  if (g->nowners) {
    printf("- owners: ");
    for (size_t i = 0; i < g->nowners; i++) printf("%s%s", i ? ", " : "", g->owners[i]);
    printf("\n");
  }
  if (g->nlinks) {
    printf("- messaging: ");
    for (size_t i = 0; i < g->nlinks; i++) printf("%s`%s`", i ? ", " : "", ids_short(c, g->links[i]));
    printf("\n");
  }
  for (size_t i = 0; i < g->ncheckins; i++) {
    char t[32], v[32];
    fmt_time(g->checkins[i].time, t, sizeof t);
    fmt_num(g->checkins[i].value, v, sizeof v);
    printf("%s  - %s: %s%s%s\n", i ? "" : "- check-ins:\n", t, v,
           *g->checkins[i].note ? " — " : "", g->checkins[i].note);
  }
  printf("\n");
  accord_free(g);
}

static void md_msg(cli *c, accord_doc *doc, const uint8_t *id) {
  accord_messaging *m = NULL;
  if (accord_messaging_read(doc, &m)) return;
  printf("### %s\n\n- id: `%s`\n- product: %s\n- status: %s\n", m->title,
         ids_short(c, id), *m->product ? m->product : "-", m->status);
  if (m->naudiences) {
    printf("- audiences: ");
    for (size_t i = 0; i < m->naudiences; i++) printf("%s%s", i ? ", " : "", m->audiences[i]);
    printf("\n");
  }
  for (size_t i = 0; i < m->napprovals; i++)
    printf("%s  - %s (%s)\n", i ? "" : "- approvals:\n",
           *m->approvals[i].name ? m->approvals[i].name : ids_member(c, m->approvals[i].member),
           m->approvals[i].role);
  printf("\n");
  md_text("Value proposition", m->value_prop);
  md_text("Positioning", m->positioning);
  if (m->nkey_messages) {
    printf("**Key messages**\n\n");
    for (size_t i = 0; i < m->nkey_messages; i++) {
      printf("%zu. %s\n", i + 1, m->key_messages[i].message);
      for (size_t k = 0; k < m->key_messages[i].nproof_points; k++)
        printf("   - %s\n", m->key_messages[i].proof_points[k]);
    }
    printf("\n");
  }
  md_text("Press release", m->press_release);
  md_text("FAQ", m->faq);
  accord_free(m);
}

int cmd_export(cli *c, int argc, char **argv) {
  const char *format = NULL;
  char *pos[1];
  size_t npos = 0;
  opt opts[] = {{"format", 1, &format, NULL, NULL, NULL}, {NULL, 0, NULL, NULL, NULL, NULL}};
  uint8_t id[ACCORD_DOC_ID_BYTES];
  int rc = parse_opts("export", argc, argv, opts, pos, 0, 1, &npos);
  if (rc) return rc;
  if (!format) format = "json";
  int md = !strcmp(format, "md") || !strcmp(format, "markdown");
  if (!md && strcmp(format, "json"))
    return cli_fail(EX_USAGE, "--format must be json or md, not \"%s\"", format);
  if ((rc = cli_open(c))) return rc;
  if (npos && (rc = ids_resolve(c, pos[0], NULL, id, NULL))) return rc;
  jw w;
  jw_init(&w, stdout);
  if (!npos) {
    char ws[33];
    hex(c->ws, ACCORD_WS_ID_BYTES, ws);
    if (md) {
      printf("# %s\n\n", c->ws_name);
    } else {
      jw_obj(&w);
      jw_key(&w, "workspace");
      jw_obj(&w);
      jw_key(&w, "id");
      jw_str(&w, ws);
      jw_key(&w, "name");
      jw_str(&w, c->ws_name);
      jw_obj_end(&w);
      jw_key(&w, "members");
      jw_arr(&w);
      for (size_t i = 0; i < c->nmembers; i++) {
        jw_obj(&w);
        jw_key(&w, "member");
        jw_hex(&w, c->members[i].actor, ACCORD_ACTOR_BYTES);
        jw_key(&w, "name");
        jw_str(&w, c->members[i].name);
        jw_key(&w, "role");
        jw_str(&w, c->members[i].role);
        jw_obj_end(&w);
      }
      jw_arr_end(&w);
    }
  }
  /* goals first, then messaging; each document's change count makes any
   * committed change visible in the export */
  for (int pass = 0; pass < 2 && !rc; pass++) {
    const char *type = pass ? ACCORD_MESSAGING_TYPE : ACCORD_GOAL_TYPE;
    if (!npos) {
      if (md) printf("## %s\n\n", pass ? "Messaging" : "Goals");
      else {
        jw_key(&w, pass ? "messaging" : "goals");
        jw_arr(&w);
      }
    }
    for (size_t i = 0; i < c->ndocs; i++) {
      if (strcmp(c->docs[i].type, type)) continue;
      if (npos && memcmp(c->docs[i].id, id, ACCORD_DOC_ID_BYTES)) continue;
      accord_doc *doc = NULL;
      if ((rc = open_doc(c, c->docs[i].id, &doc))) break;
      if (md) {
        if (pass) md_msg(c, doc, c->docs[i].id);
        else md_goal(c, doc, c->docs[i].id);
      } else if (pass) {
        json_msg(c, &w, doc, c->docs[i].id);
      } else {
        json_goal(c, &w, doc, c->docs[i].id);
      }
      accord_node_doc_close(c->node, doc);
    }
    if (!npos && !md) jw_arr_end(&w);
  }
  if (!npos && !md) {
    jw_key(&w, "changes");
    jw_obj(&w);
    for (size_t i = 0; i < c->ndocs && !rc; i++) {
      accord_doc *doc = NULL;
      if ((rc = open_doc(c, c->docs[i].id, &doc))) break;
      char h[33];
      hex(c->docs[i].id, ACCORD_DOC_ID_BYTES, h);
      jw_key(&w, h);
      jw_int(&w, doc_changes(doc));
      accord_node_doc_close(c->node, doc);
    }
    jw_obj_end(&w);
    jw_obj_end(&w);
  }
  if (!md) jw_end(&w);
  return rc;
}
