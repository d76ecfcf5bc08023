/*
 * goal.c — goal documents (DESIGN §8; keys in docs/schema.md): laying one
 * out, setting its fields, owners and check-ins, reading it as an
 * accord_goal, and the history of its tracked fields (target, baseline,
 * due, team, status) with who, when and why.
 *
 * The current value is not stored: it is the value of the latest check-in
 * by time (ties: the later one in the list). Storing it as well would give
 * two sources of truth, and concurrent check-ins would make it a conflict
 * although both check-ins are simply facts.
 */
#include <string.h>

#include "doc.h"
#include "domain.h"
#include "mem.h"
#include "utf8.h"

static const char *const GOAL_TEXTS[] = {"description", NULL};

static int is_goal(const accord_doc *doc) {
  accord_value v;
  return !accord_map_get(doc, ACCORD_ROOT, "title", &v) &&
         !accord_map_get(doc, ACCORD_ROOT, "metric", &v) &&
         v.type == ACCORD_MAP;
}

int accord_goal_init(accord_txn *txn, const char *title, int64_t now_ms) {
  if (!txn) return ACCORD_EINVAL;
  accord_id metric;
  accord_value v;
  int rc = dom_init(txn, title, GOAL_TEXTS, now_ms);
  if (rc) return rc;
  if ((rc = accord_map_put_object(txn, ACCORD_ROOT, "metric", ACCORD_MAP,
                                  &metric)) ||
      (rc = dom_put_str(txn, metric, "direction", "up")) ||
      (rc = dom_put_str(txn, ACCORD_ROOT, "status", "on-track")) ||
      (rc = accord_map_put_object(txn, ACCORD_ROOT, "checkins", ACCORD_LIST,
                                  NULL)) ||
      (rc = accord_map_put_object(txn, ACCORD_ROOT, "owners", ACCORD_LIST,
                                  NULL)) ||
      (rc = accord_map_put_object(txn, ACCORD_ROOT, "links", ACCORD_MAP,
                                  NULL)))
    return rc;
  (void)v;
  return 0;
}

int accord_goal_set(accord_txn *txn, const char *field, const char *value) {
  if (!txn || !field) return ACCORD_EINVAL;
  const dfield *f = dom_field(1, field);
  if (!f) return ACCORD_EINVAL;
  if (!is_goal(dom_txn_doc(txn))) return ACCORD_ENOTFOUND;
  return dom_set_field(txn, 1, f, value);
}

int accord_goal_add_owner(accord_txn *txn, const char *owner) {
  if (!txn) return ACCORD_EINVAL;
  if (!is_goal(dom_txn_doc(txn))) return ACCORD_ENOTFOUND;
  return dom_list_add_unique(txn, "owners", owner);
}

int accord_goal_checkin(accord_txn *txn, double value, const char *note,
                        const char *author, int64_t time_ms) {
  if (!txn || value != value || value - value != 0) return ACCORD_EINVAL;
  const accord_doc *doc = dom_txn_doc(txn);
  if (!note) note = "";
  if (!author) author = "";
  if (!utf8_valid((const uint8_t *)note, strlen(note), NULL) ||
      !utf8_valid((const uint8_t *)author, strlen(author), NULL))
    return ACCORD_EUTF8;
  if (!is_goal(doc)) return ACCORD_ENOTFOUND;
  accord_id list, c;
  size_t n = 0;
  int rc = dom_get_obj(doc, ACCORD_ROOT, "checkins", ACCORD_LIST, &list);
  if (rc == ACCORD_ENOTFOUND)
    rc = accord_map_put_object(txn, ACCORD_ROOT, "checkins", ACCORD_LIST,
                               &list);
  if (rc || (rc = accord_list_len(doc, list, &n))) return rc;
  accord_value t = accord_timestamp(time_ms), v = dom_num_value(value);
  if ((rc = accord_list_insert_object(txn, list, n, ACCORD_MAP, &c)) ||
      (rc = accord_map_put(txn, c, "time", &t)) ||
      (rc = accord_map_put(txn, c, "value", &v)) ||
      (rc = dom_put_str(txn, c, "note", note)) ||
      (rc = dom_put_str(txn, c, "author", author)))
    return rc;
  return 0;
}

/* ---- reading ----------------------------------------------------------------- */

static int goal_build(pack *p, void *ctx, void *res) {
  const accord_doc *doc = ctx;
  accord_goal *g = res;
  accord_id metric = ACCORD_ROOT, list;
  int has_metric =
      !dom_get_obj(doc, ACCORD_ROOT, "metric", ACCORD_MAP, &metric);
  char *t = NULL;
  size_t len;
  const char *s;
  int rc;
  if ((rc = dom_get_text(doc, ACCORD_ROOT, "title", &t))) return rc;
  g->title = pk_str(p, t, strlen(t));
  mem_free(t);
  if ((rc = dom_get_text(doc, ACCORD_ROOT, "description", &t))) return rc;
  g->description = pk_str(p, t, strlen(t));
  mem_free(t);
#define STR(field, obj, key)             \
  s = dom_get_str(doc, obj, key, &len); \
  g->field = pk_str(p, s, len)
  if (has_metric) {
    STR(metric, metric, "name");
    STR(unit, metric, "unit");
    STR(direction, metric, "direction");
    g->has_baseline = dom_get_num(doc, metric, "baseline", &g->baseline);
    g->has_target = dom_get_num(doc, metric, "target", &g->target);
  } else {
    g->metric = g->unit = g->direction = "";
  }
  STR(team, ACCORD_ROOT, "team");
  STR(status, ACCORD_ROOT, "status");
#undef STR
  g->due = dom_get_ts(doc, ACCORD_ROOT, "due");
  g->created = dom_get_ts(doc, ACCORD_ROOT, "created");
  if (!dom_get_obj(doc, ACCORD_ROOT, "owners", ACCORD_LIST, &list) &&
      (rc = dom_get_strlist(doc, list, p, &g->owners, &g->nowners)))
    return rc;
  if (!dom_get_obj(doc, ACCORD_ROOT, "checkins", ACCORD_LIST, &list)) {
    size_t n = 0, k = 0;
    int64_t latest = INT64_MIN;
    if (accord_list_len(doc, list, &n)) n = 0;
    accord_checkin *c = n ? pk_alloc(p, n * sizeof *c) : NULL;
    if (n && !c) return ACCORD_ENOMEM;
    for (size_t i = 0; i < n; i++) {
      accord_value v;
      if (accord_list_get(doc, list, i, &v) || v.type != ACCORD_MAP) continue;
      accord_checkin *ci = &c[k];
      if (!dom_get_num(doc, v.u.obj, "value", &ci->value)) continue;
      ci->time = dom_get_ts(doc, v.u.obj, "time");
      memcpy(ci->actor, v.u.obj.actor, ACCORD_ACTOR_BYTES);
      s = dom_get_str(doc, v.u.obj, "note", &len);
      ci->note = pk_str(p, s, len);
      s = dom_get_str(doc, v.u.obj, "author", &len);
      ci->author = pk_str(p, s, len);
      if (ci->time >= latest) {
        latest = ci->time;
        g->current = ci->value;
        g->has_current = 1;
      }
      k++;
    }
    g->checkins = c;
    g->ncheckins = k;
  }
  return dom_get_links(doc, p, &g->links, &g->nlinks);
}

int accord_goal_read(const accord_doc *doc, accord_goal **out) {
  if (!out) return ACCORD_EINVAL;
  *out = NULL;
  if (!doc) return ACCORD_EINVAL;
  if (!is_goal(doc)) return ACCORD_ENOTFOUND;
  return pk_run(goal_build, (void *)doc, sizeof(accord_goal), (void **)out);
}

int accord_goal_progress(const accord_goal *g, double *progress) {
  if (!g || !progress) return ACCORD_EINVAL;
  if (!g->has_target) return ACCORD_ENOTFOUND;
  double base = g->has_baseline ? g->baseline : 0;
  double cur = g->has_current ? g->current : base;
  if (g->target != base) *progress = (cur - base) / (g->target - base);
  else if (!strcmp(g->direction, "down")) *progress = cur <= g->target;
  else *progress = cur >= g->target;
  return 0;
}

/* ---- history of the tracked fields --------------------------------------------- */

typedef struct hist_ctx {
  accord_goal_event_fn fn;
  void *userdata;
  accord_id metric;
} hist_ctx;

static int same_id(accord_id a, accord_id b) {
  return a.counter == b.counter &&
         !memcmp(a.actor, b.actor, ACCORD_ACTOR_BYTES);
}

static int hist_visit(void *ud, const accord_change_meta *c) {
  hist_ctx *h = ud;
  for (size_t i = 0; i < c->nops; i++) {
    const accord_op_info *o = &c->ops[i];
    if ((o->kind != ACCORD_OP_SET && o->kind != ACCORD_OP_DELETE) || !o->key)
      continue;
    int in_metric = same_id(o->obj, h->metric);
    if (!in_metric && !same_id(o->obj, ACCORD_ROOT)) continue;
    for (const dfield *f = dom_fields(1); f->name; f++) {
      if (!f->tracked || f->in_metric != in_metric ||
          strlen(f->key) != o->key_len || memcmp(f->key, o->key, o->key_len))
        continue;
      accord_goal_event e;
      e.field = f->name;
      e.value = o->kind == ACCORD_OP_SET ? o->value : accord_null();
      e.author = c->actor;
      e.time = c->time;
      e.why = c->message ? c->message : "";
      e.why_len = c->message ? c->message_len : 0;
      e.seq = c->seq;
      int rc = h->fn(h->userdata, &e);
      if (rc) return rc;
    }
  }
  return 0;
}

int accord_goal_history(accord_doc *doc, accord_goal_event_fn fn,
                        void *userdata) {
  if (!doc || !fn) return ACCORD_EINVAL;
  hist_ctx h = {fn, userdata, ACCORD_ROOT};
  if (!is_goal(doc) ||
      dom_get_obj(doc, ACCORD_ROOT, "metric", ACCORD_MAP, &h.metric))
    return ACCORD_ENOTFOUND;
  return accord_doc_history(doc, hist_visit, &h);
}
