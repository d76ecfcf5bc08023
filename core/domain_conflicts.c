/*
 * domain_conflicts.c — the concurrent values of goal and messaging fields
 * (accord_domain_conflicts): for every non-text field of the table in
 * domain.c, accord_map_conflicts on its key, each value with its author and
 * the time of the change that set it (found by one walk of the history, and
 * only when there is a conflict at all).
 */
#include <string.h>

#include "domain.h"
#include "mem.h"

/* ---- when was an op made --------------------------------------------------- */

typedef struct times_ctx {
  const accord_id *ops;
  size_t n;
  int64_t *times;
} times_ctx;

static int times_visit(void *ud, const accord_change_meta *c) {
  times_ctx *t = ud;
  for (size_t i = 0; i < t->n; i++) {
    const accord_id *o = &t->ops[i];
    if (memcmp(o->actor, c->actor, ACCORD_ACTOR_BYTES)) continue;
    for (size_t k = 0; k < c->nops; k++)
      if (c->ops[k].op.counter == o->counter) t->times[i] = c->time;
  }
  return 0;
}

int dom_op_times(accord_doc *doc, const accord_id *ops, size_t n,
                 int64_t *times) {
  times_ctx t = {ops, n, times};
  for (size_t i = 0; i < n; i++) times[i] = 0;
  return n ? accord_doc_history(doc, times_visit, &t) : 0;
}

/* ---- conflicts ---------------------------------------------------------------- */

#define MAX_CONFLICT_VALUES 16

typedef struct conf_ctx {
  accord_doc *doc;
  int is_goal;
  /* what the measure pass found, reused by the fill pass */
  accord_id ops[64];
  int64_t times[64];
  size_t nops;
  int timed;
} conf_ctx;

/* Builds the accord_field_value array: result is a struct holding the
 * array pointer and count. */
typedef struct conf_result {
  accord_field_value *v;
  size_t n;
} conf_result;

static int conf_build(pack *p, void *vctx, void *vres) {
  conf_ctx *c = vctx;
  conf_result *r = vres;
  accord_field_value *all = NULL;
  size_t n = 0, cap = 0;
  accord_id metric;
  int has_metric =
      !dom_get_obj(c->doc, ACCORD_ROOT, "metric", ACCORD_MAP, &metric);
  /* first count */
  for (int pass = 0; pass < 2; pass++) {
    n = 0;
    for (const dfield *f = dom_fields(c->is_goal); f->name; f++) {
      if (f->kind == DF_TEXT) continue;
      if (f->in_metric && !has_metric) continue;
      accord_conflict cf[MAX_CONFLICT_VALUES];
      size_t k = 0;
      if (accord_map_conflicts(c->doc, f->in_metric ? metric : ACCORD_ROOT,
                               f->key, cf, MAX_CONFLICT_VALUES, &k) ||
          k < 2)
        continue;
      if (k > MAX_CONFLICT_VALUES) k = MAX_CONFLICT_VALUES;
      for (size_t i = 0; i < k; i++, n++) {
        if (pass == 0) continue;
        accord_field_value *fv = &all[n];
        fv->field = f->name;
        fv->value = cf[i].value;
        if (fv->value.type == ACCORD_STR || fv->value.type == ACCORD_BYTES)
          fv->value.u.str.ptr =
              pk_str(p, cf[i].value.u.str.ptr, cf[i].value.u.str.len);
        memcpy(fv->author, cf[i].op.actor, ACCORD_ACTOR_BYTES);
        size_t j;
        for (j = 0; j < c->nops; j++)
          if (!memcmp(&c->ops[j].actor, cf[i].op.actor, ACCORD_ACTOR_BYTES) &&
              c->ops[j].counter == cf[i].op.counter)
            break;
        if (j == c->nops && c->nops < 64) c->ops[c->nops++] = cf[i].op;
        fv->time = j < c->nops && c->timed ? c->times[j] : 0;
      }
    }
    if (pass == 0) {
      cap = n;
      if (!cap) break;
      all = pk_alloc(p, cap * sizeof *all);
      if (!all) return ACCORD_ENOMEM;
    }
  }
  r->v = all;
  r->n = n;
  if (p->measure && c->nops && !c->timed) {
    int rc = dom_op_times(c->doc, c->ops, c->nops, c->times);
    if (rc) return rc;
    c->timed = 1;
  }
  return p->err;
}

int accord_domain_conflicts(accord_doc *doc, accord_field_value **out,
                            size_t *n) {
  if (!doc || !out || !n) return ACCORD_EINVAL;
  *out = NULL;
  *n = 0;
  accord_value v;
  if (accord_map_get(doc, ACCORD_ROOT, "title", &v)) return ACCORD_ENOTFOUND;
  conf_ctx c = {0};
  c.doc = doc;
  c.is_goal = !accord_map_get(doc, ACCORD_ROOT, "metric", &v);
  conf_result *r = NULL;
  int rc = pk_run(conf_build, &c, sizeof *r, (void **)&r);
  if (rc) return rc;
  if (!r->n) {
    mem_free(r);
    return 0;
  }
  /* Hand out the array itself: move it to the front of the buffer. */
  size_t bytes = r->n * sizeof *r->v;
  size_t count = r->n;
  memmove(r, r->v, bytes);
  *out = (accord_field_value *)r;
  *n = count;
  return 0;
}
