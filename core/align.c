/*
 * align.c — the alignment report (DESIGN §8) over one workspace: goals
 * without messaging, messaging without goals, goals at risk, messaging not
 * approved by both functions, and fields holding concurrent values.
 *
 * The at-risk rule (docs/schema.md repeats it for users). For a goal that
 * is not done, has a target and a due date after its creation:
 *   progress = (current - baseline) / (target - baseline)
 *     (baseline 0 when unset; current = baseline before any check-in; the
 *      sign works for "down" metrics too, where target < baseline;
 *      target == baseline counts as reached once current is past it)
 *   elapsed  = (now - created) / (due - created), clamped to [0, 1]
 *   at risk  when progress < elapsed - 0.10, i.e. more than ten percentage
 *            points behind the straight line from creation to due date,
 *            or when its status says at-risk or off-track.
 * The slack keeps a goal that is a day behind the line off the report.
 *
 * Workload: a team's workspace, tens to hundreds of documents; every goal
 * and messaging document is opened once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "mem.h"

#define SLACK 0.10

typedef struct item {
  accord_align_kind kind;
  uint8_t doc[ACCORD_DOC_ID_BYTES];
  char *title;
  char detail[512];
  double progress, elapsed;
  size_t order; /* insertion order: keeps fields in table order */
} item;

typedef struct items {
  item *v;
  size_t n, cap;
} items;

static int add(items *it, accord_align_kind kind, const uint8_t *doc,
               const char *title, item **out) {
  if (it->n == it->cap) {
    size_t cap = it->cap ? 2 * it->cap : 16;
    item *v = mem_realloc(it->v, cap * sizeof *v);
    if (!v) return ACCORD_ENOMEM;
    it->v = v;
    it->cap = cap;
  }
  item *x = &it->v[it->n];
  memset(x, 0, sizeof *x);
  size_t len = strlen(title);
  x->title = mem_alloc(len + 1);
  if (!x->title) return ACCORD_ENOMEM;
  memcpy(x->title, title, len + 1);
  x->kind = kind;
  x->order = it->n;
  memcpy(x->doc, doc, ACCORD_DOC_ID_BYTES);
  it->n++;
  *out = x;
  return 0;
}

static void fmt_value(const accord_value *v, char *out, size_t cap) {
  double d;
  if (dom_value_num(v, &d)) snprintf(out, cap, "%g", d);
  else if (v->type == ACCORD_STR)
    snprintf(out, cap, "\"%.*s\"", (int)(v->u.str.len > 60 ? 60 : v->u.str.len),
             v->u.str.ptr);
  else if (v->type == ACCORD_TIMESTAMP) {
    int64_t days = v->u.i / 86400000;
    snprintf(out, cap, "day %lld", (long long)days);
  } else snprintf(out, cap, "a value");
}

static int conflicts(items *it, accord_doc *doc, const uint8_t *id,
                     const char *title) {
  accord_field_value *fv = NULL;
  size_t n = 0;
  int rc = accord_domain_conflicts(doc, &fv, &n);
  if (rc) return rc;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && !strcmp(fv[j].field, fv[i].field)) j++;
    item *x;
    if ((rc = add(it, ACCORD_ALIGN_CONFLICT, id, title, &x))) break;
    size_t w = (size_t)snprintf(x->detail, sizeof x->detail,
                                "%s has %zu concurrent values:", fv[i].field,
                                j - i);
    for (size_t k = i; k < j && w < sizeof x->detail; k++) {
      char v[80];
      fmt_value(&fv[k].value, v, sizeof v);
      w += (size_t)snprintf(x->detail + w, sizeof x->detail - w, "%s %s",
                            k == i ? "" : ",", v);
    }
    i = j;
  }
  accord_free(fv);
  return rc;
}

static int goal_items(items *it, accord_doc *doc, const uint8_t *id,
                      int64_t created_fallback, int64_t now) {
  accord_goal *g = NULL;
  item *x;
  int rc = accord_goal_read(doc, &g);
  if (rc) return rc == ACCORD_ENOTFOUND ? 0 : rc; /* not laid out yet */
  if (!g->nlinks && (rc = add(it, ACCORD_ALIGN_GOAL_UNLINKED, id, g->title, &x)))
    goto done;
  if (!g->nlinks)
    snprintf(x->detail, sizeof x->detail,
             "no messaging document is linked to this goal");
  int64_t created = g->created ? g->created : created_fallback;
  int flagged = !strcmp(g->status, "at-risk") || !strcmp(g->status, "off-track");
  if (strcmp(g->status, "done") && (flagged || (g->has_target && g->due > created))) {
    double progress = 0, elapsed = 0;
    if (accord_goal_progress(g, &progress)) progress = 0;
    if (g->due > created) {
      elapsed = (double)(now - created) / (double)(g->due - created);
      if (elapsed < 0) elapsed = 0;
      if (elapsed > 1) elapsed = 1;
    }
    int behind = g->has_target && g->due > created && progress < elapsed - SLACK;
    if (behind || flagged) {
      if ((rc = add(it, ACCORD_ALIGN_GOAL_AT_RISK, id, g->title, &x))) goto done;
      x->progress = progress;
      x->elapsed = elapsed;
      if (behind)
        snprintf(x->detail, sizeof x->detail,
                 "%.0f%% of the way to the target with %.0f%% of the time "
                 "to the due date gone",
                 progress * 100, elapsed * 100);
      else
        snprintf(x->detail, sizeof x->detail, "its status is %s", g->status);
    }
  }
  rc = conflicts(it, doc, id, g->title);
done:
  accord_free(g);
  return rc;
}

static int msg_items(items *it, accord_doc *doc, const uint8_t *id) {
  accord_messaging *m = NULL;
  item *x;
  int rc = accord_messaging_read(doc, &m);
  if (rc) return rc == ACCORD_ENOTFOUND ? 0 : rc;
  if (!m->nlinks) {
    if ((rc = add(it, ACCORD_ALIGN_MSG_UNLINKED, id, m->title, &x))) goto done;
    snprintf(x->detail, sizeof x->detail,
             "this messaging is linked to no goal");
  }
  int product = 0, marketing = 0;
  for (size_t i = 0; i < m->napprovals; i++) {
    product |= !strcmp(m->approvals[i].role, "product");
    marketing |= !strcmp(m->approvals[i].role, "marketing");
  }
  if (!product || !marketing) {
    if ((rc = add(it, ACCORD_ALIGN_MSG_UNAPPROVED, id, m->title, &x)))
      goto done;
    snprintf(x->detail, sizeof x->detail, "%s",
             product ? "approved by product, not yet by marketing"
             : marketing ? "approved by marketing, not yet by product"
                         : "approved by neither product nor marketing");
  }
  rc = conflicts(it, doc, id, m->title);
done:
  accord_free(m);
  return rc;
}

static int by_kind(const void *a, const void *b) {
  const item *x = a, *y = b;
  if (x->kind != y->kind) return x->kind < y->kind ? -1 : 1;
  int c = memcmp(x->doc, y->doc, ACCORD_DOC_ID_BYTES);
  if (c) return c;
  return x->order < y->order ? -1 : x->order > y->order;
}

typedef struct align_result {
  accord_align_item *v;
  size_t n;
} align_result;

static int align_build(pack *p, void *ctx, void *res) {
  items *it = ctx;
  align_result *r = res;
  accord_align_item *v = it->n ? pk_alloc(p, it->n * sizeof *v) : NULL;
  if (it->n && !v) return ACCORD_ENOMEM;
  for (size_t i = 0; i < it->n; i++) {
    v[i].kind = it->v[i].kind;
    memcpy(v[i].doc, it->v[i].doc, ACCORD_DOC_ID_BYTES);
    v[i].title = pk_str(p, it->v[i].title, strlen(it->v[i].title));
    v[i].detail = pk_str(p, it->v[i].detail, strlen(it->v[i].detail));
    v[i].progress = it->v[i].progress;
    v[i].elapsed = it->v[i].elapsed;
  }
  r->v = v;
  r->n = it->n;
  return p->err;
}

int accord_align_report(accord_node *node, const uint8_t *ws, int64_t now_ms,
                        accord_align_item **out, size_t *n) {
  if (!node || !ws || !out || !n) return ACCORD_EINVAL;
  *out = NULL;
  *n = 0;
  items it = {0};
  accord_doc_info *docs = NULL;
  size_t nd = 0;
  int rc = accord_node_doc_list(node, ws, NULL, &docs, &nd);
  for (size_t i = 0; !rc && i < nd; i++) {
    int goal = !strcmp(docs[i].type, ACCORD_GOAL_TYPE);
    if (!goal && strcmp(docs[i].type, ACCORD_MESSAGING_TYPE)) continue;
    accord_doc *doc = NULL;
    if ((rc = accord_node_doc_open(node, ws, docs[i].id, &doc))) break;
    rc = goal ? goal_items(&it, doc, docs[i].id, docs[i].created, now_ms)
              : msg_items(&it, doc, docs[i].id);
    accord_node_doc_close(node, doc);
  }
  accord_free(docs);
  if (!rc && it.n) {
    qsort(it.v, it.n, sizeof *it.v, by_kind);
    align_result *r = NULL;
    rc = pk_run(align_build, &it, sizeof *r, (void **)&r);
    if (!rc) {
      size_t count = r->n;
      memmove(r, r->v, count * sizeof *r->v);
      *out = (accord_align_item *)r;
      *n = count;
    }
  }
  for (size_t i = 0; i < it.n; i++) mem_free(it.v[i].title);
  mem_free(it.v);
  return rc;
}
