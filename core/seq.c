/*
 * seq.c — the sequence CRDT (see seq.h for the structure and invariants).
 *
 * Workload: local typing dominates — an insert just after the previous one,
 * which extends the last run in place (no new run, no index update). Remote
 * inserts in sequential histories take the same fast path: the element after
 * origin_left is origin_right. Only concurrent inserts at one place scan.
 *
 * Errors half way through a structural change (only ENOMEM can happen after
 * validation) leave the tree memory-safe but not meaningful; the document
 * layer then rebuilds its state from history (doc.c), so no caller reads a
 * half-changed sequence.
 */
#include "seq.h"

#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "utf8.h"

/* Leaves and inner nodes both start with their parent pointer. */
typedef struct seq_hdr {
  seq_node *parent;
} seq_hdr;

static seq_node *parent_of(void *x) { return ((seq_hdr *)x)->parent; }
static void set_parent(void *x, seq_node *p) { ((seq_hdr *)x)->parent = p; }

static uint32_t child_index(const seq_node *p, const void *x) {
  uint32_t i = 0;
  while (p->child[i] != x) i++;
  return i;
}

static uint32_t leaf_visible(const seq_leaf *l) {
  uint32_t v = 0;
  for (uint32_t i = 0; i < l->n; i++)
    if (!l->r[i].deleted) v += l->r[i].len;
  return v;
}

/* Adds delta to the visible count of leaf x and all its ancestors. A
 * change in another leaf may move the cached leaf's start: forget it.
 * Edits stay in one leaf for long stretches, so the slot each level used
 * last is tried before the scan for x among its parent's children. */
static void adjust(sequence *s, void *x, int64_t delta) {
  if (x != s->pc_leaf) s->pc_leaf = NULL;
  s->visible = (uint32_t)((int64_t)s->visible + delta);
  uint32_t lvl = 0;
  for (seq_node *p = parent_of(x); p; x = p, p = p->parent, lvl++) {
    uint32_t i = lvl < SEQ_ADJ_LEVELS ? s->adj_slot[lvl] : 0;
    if (i >= p->n || p->child[i] != x) {
      i = child_index(p, x);
      if (lvl < SEQ_ADJ_LEVELS) s->adj_slot[lvl] = (uint8_t)i;
    }
    p->count[i] = (uint32_t)((int64_t)p->count[i] + delta);
  }
}

int seq_init(sequence *s, int is_text) {
  memset(s, 0, sizeof *s);
  s->is_text = (uint8_t)(is_text != 0);
  seq_leaf *l = mem_calloc(1, sizeof *l);
  if (!l) return ACCORD_ENOMEM;
  s->root = s->first = s->last = l;
  s->nleaves = 1;
  s->epoch = 1; /* lo_epoch and tc_epoch 0: nothing noted yet */
  return 0;
}

static void free_nodes(void *x, uint32_t h) {
  if (h == 0) return; /* leaves are freed through the leaf chain */
  seq_node *nd = x;
  for (uint32_t i = 0; i < nd->n; i++) free_nodes(nd->child[i], h - 1);
  mem_free(nd);
}

void seq_free(sequence *s) {
  if (!s->first) return;
  free_nodes(s->root, s->height);
  for (seq_leaf *l = s->first, *next; l; l = next) {
    next = l->next;
    mem_free(l);
  }
  idx_free(&s->index);
  buf_free(&s->content);
  for (uint32_t i = 0; i < s->nvals; i++) val_clear(&s->vals[i]);
  mem_free(s->vals);
  memset(s, 0, sizeof *s);
}

size_t seq_mem(const sequence *s) {
  size_t m = s->nleaves * sizeof(seq_leaf) + s->nnodes * sizeof(seq_node) +
             idx_mem(&s->index) + s->content.cap + s->capvals * sizeof(val);
  for (uint32_t i = 0; i < s->nvals; i++)
    if (s->vals[i].type == ACCORD_STR || s->vals[i].type == ACCORD_BYTES)
      m += s->vals[i].len + 1;
  return m;
}

/* ---- locating ------------------------------------------------------------ */

static seq_run *run_at(seq_cur c) { return &c.leaf->r[c.ri]; }

static opid cur_id(seq_cur c) {
  seq_run *r = run_at(c);
  return opid_make(r->id.actor, r->id.ctr + c.off);
}

/* The element after c in sequence order (visible or not). */
static seq_cur cur_next_run(seq_cur c) {
  if (c.ri + 1 < c.leaf->n) {
    c.ri++;
  } else {
    c.leaf = c.leaf->next;
    c.ri = 0;
  }
  c.off = 0;
  return c;
}

static seq_cur cur_next(seq_cur c) {
  if (c.off + 1 < run_at(c)->len) {
    c.off++;
    return c;
  }
  return cur_next_run(c);
}

static seq_cur cur_start(const sequence *s) {
  seq_cur c = {s->first, 0, 0};
  if (s->first->n == 0) c.leaf = NULL; /* only the empty sequence */
  return c;
}

/* Finds visible element pos (counted from the leaf's first element). */
static int find_in_leaf_pos(seq_leaf *l, size_t pos, seq_cur *c) {
  for (uint32_t i = 0; i < l->n; i++) {
    if (l->r[i].deleted) continue;
    if (pos < l->r[i].len) {
      c->leaf = l;
      c->ri = i;
      c->off = (uint32_t)pos;
      return 1;
    }
    pos -= l->r[i].len;
  }
  return 0;
}

int seq_find_visible(const sequence *s, size_t pos, seq_cur *c) {
  if (pos >= s->visible) return 0;
  if (s->tc_epoch == s->epoch && pos == s->tc_pos) {
    /* deleting what was just typed, or backspacing on: the last local
     * edit noted this place */
    *c = s->tc;
    sequence *w = (sequence *)s; /* a cache, not state */
    w->hint = c->leaf;
    w->hint_ri = c->ri;
    return 1;
  }
  /* typing stays in one leaf for long stretches: try it first */
  if (s->pc_leaf && pos >= s->pc_start &&
      find_in_leaf_pos(s->pc_leaf, pos - s->pc_start, c)) {
    sequence *w = (sequence *)s; /* caches, not state */
    w->hint = c->leaf; /* a local delete looks up this id next */
    w->hint_ri = c->ri;
    return 1;
  }
  size_t want = pos;
  void *x = s->root;
  for (uint32_t h = s->height; h > 0; h--) {
    seq_node *nd = x;
    uint32_t i = 0;
    while (i + 1 < nd->n && pos >= nd->count[i]) pos -= nd->count[i++];
    x = nd->child[i];
  }
  if (!find_in_leaf_pos(x, pos, c)) return 0; /* counts disagree: never */
  sequence *w = (sequence *)s; /* a cache, not state */
  w->pc_leaf = x;
  w->pc_start = (uint32_t)(want - pos);
  w->hint = c->leaf; /* a local delete looks up this id next */
  w->hint_ri = c->ri;
  return 1;
}

/* Finds id in leaf l, trying run guess first: ids are unique, so a run
 * that holds id is the answer wherever the guess came from. */
static int find_in_leaf(seq_leaf *l, opid id, seq_cur *c, uint32_t guess) {
  if (guess < l->n) {
    const seq_run *r = &l->r[guess];
    if (r->id.actor == id.actor && id.ctr >= r->id.ctr &&
        id.ctr - r->id.ctr < r->len) {
      c->leaf = l;
      c->ri = guess;
      c->off = id.ctr - r->id.ctr;
      return 1;
    }
  }
  for (uint32_t i = 0; i < l->n; i++) {
    const seq_run *r = &l->r[i];
    if (r->id.actor == id.actor && id.ctr >= r->id.ctr &&
        id.ctr - r->id.ctr < r->len) {
      c->leaf = l;
      c->ri = i;
      c->off = id.ctr - r->id.ctr;
      return 1;
    }
  }
  return 0;
}

int seq_find_id(const sequence *s, opid id, seq_cur *c) {
  sequence *w = (sequence *)s; /* caches, not docstate */
  if (s->hint && find_in_leaf(s->hint, id, c, s->hint_ri)) {
    w->hint_ri = c->ri;
    return 1;
  }
  uint64_t found;
  seq_leaf *l = idx_floor(&s->index, opid_key(id), &found);
  if (!l || (uint32_t)(found >> 32) != id.actor ||
      !find_in_leaf(l, id, c, UINT32_MAX))
    return 0;
  w->hint = l;
  w->hint_ri = c->ri;
  return 1;
}

/* Order of two leaves in the sequence: climb to the common ancestor. */
static int leaf_cmp(seq_leaf *a, seq_leaf *b) {
  void *xa = a, *xb = b;
  seq_node *pa = a->parent, *pb = b->parent;
  while (pa != pb) {
    xa = pa;
    xb = pb;
    pa = pa->parent;
    pb = pb->parent;
  }
  return child_index(pa, xa) < child_index(pa, xb) ? -1 : 1;
}

static int cur_cmp(seq_cur a, seq_cur b) {
  if (a.leaf != b.leaf) return leaf_cmp(a.leaf, b.leaf);
  if (a.ri != b.ri) return a.ri < b.ri ? -1 : 1;
  return a.off < b.off ? -1 : a.off > b.off;
}

/* Position order of two existing ids; "none" is the start when
 * none_is_end is 0, the end otherwise. */
static int id_cmp(const sequence *s, opid a, opid b, int none_is_end) {
  if (opid_eq(a, b)) return 0;
  if (opid_none(a)) return none_is_end ? 1 : -1;
  if (opid_none(b)) return none_is_end ? -1 : 1;
  seq_cur ca = {0}, cb = {0};
  /* both ids are origins of integrated elements, so both exist */
  seq_find_id(s, a, &ca);
  seq_find_id(s, b, &cb);
  return cur_cmp(ca, cb);
}

void seq_local_origins(const sequence *s, size_t pos, opid *left, opid *right,
                       seq_cur *at) {
  seq_cur c;
  sequence *w = (sequence *)s; /* notes for seq_insert_at, not state */
  if (pos == 0) {
    *left = opid_make(0, 0);
    c = cur_start(s);
  } else {
    if (s->tc_epoch == s->epoch && s->tc_pos == pos - 1)
      c = s->tc; /* typing on after the last local insert */
    else
      seq_find_visible(s, pos - 1, &c);
    *left = cur_id(c);
    c = cur_next(c);
  }
  *right = c.leaf ? cur_id(c) : opid_make(0, 0);
  *at = c;
  w->lo_epoch = s->epoch;
  w->lo_pos = pos;
}

/* ---- structural changes -------------------------------------------------- */

/* Makes p's parent list hold nw right after old, splitting ancestors as
 * needed. nwcount of old's visible elements now belong to nw. */
static int insert_after(sequence *s, void *old, void *nw, uint32_t nwcount) {
  seq_node *p = parent_of(old);
  if (!p) {
    seq_node *root = mem_calloc(1, sizeof *root);
    if (!root) return ACCORD_ENOMEM;
    s->nnodes++;
    root->n = 2;
    root->child[0] = old;
    root->count[0] = s->visible - nwcount;
    root->child[1] = nw;
    root->count[1] = nwcount;
    set_parent(old, root);
    set_parent(nw, root);
    s->root = root;
    s->height++;
    return 0;
  }
  uint32_t i = child_index(p, old);
  p->count[i] -= nwcount;
  if (p->n == SEQ_FANOUT) {
    seq_node *q = mem_calloc(1, sizeof *q);
    if (!q) return ACCORD_ENOMEM;
    s->nnodes++;
    uint32_t keep = i + 1 == SEQ_FANOUT ? SEQ_FANOUT - 1 : SEQ_FANOUT / 2;
    q->n = p->n - keep;
    memcpy(q->child, &p->child[keep], q->n * sizeof p->child[0]);
    memcpy(q->count, &p->count[keep], q->n * sizeof p->count[0]);
    p->n = keep;
    uint32_t qcount = 0;
    for (uint32_t k = 0; k < q->n; k++) {
      set_parent(q->child[k], q);
      qcount += q->count[k];
    }
    seq_node *into = p;
    if (i + 1 > keep) {
      into = q;
      i -= keep;
      qcount += nwcount;
    }
    memmove(&into->child[i + 2], &into->child[i + 1],
            (into->n - i - 1) * sizeof p->child[0]);
    memmove(&into->count[i + 2], &into->count[i + 1],
            (into->n - i - 1) * sizeof p->count[0]);
    into->child[i + 1] = nw;
    into->count[i + 1] = nwcount;
    into->n++;
    set_parent(nw, into);
    return insert_after(s, p, q, qcount);
  }
  memmove(&p->child[i + 2], &p->child[i + 1], (p->n - i - 1) * sizeof p->child[0]);
  memmove(&p->count[i + 2], &p->count[i + 1], (p->n - i - 1) * sizeof p->count[0]);
  p->child[i + 1] = nw;
  p->count[i + 1] = nwcount;
  p->n++;
  set_parent(nw, p);
  return 0;
}

/* Ensures *leaf has room for k more runs at *at, splitting it if needed;
 * *leaf and *at then name the place in whichever half it fell. */
static int make_room(sequence *s, seq_leaf **leaf, uint32_t *at, uint32_t k) {
  seq_leaf *l = *leaf;
  if (l->n + k <= SEQ_LEAF_RUNS) return 0;
  seq_leaf *r = mem_alloc(sizeof *r);
  if (!r) return ACCORD_ENOMEM;
  s->nleaves++;
  s->pc_leaf = NULL; /* runs move between leaves */
  /* appending at a leaf's end (typing at the end of the text) keeps the
   * left leaf full; anywhere else split evenly */
  uint32_t keep = *at == l->n ? l->n - 1 : l->n / 2;
  r->n = l->n - keep;
  memcpy(r->r, &l->r[keep], r->n * sizeof l->r[0]);
  l->n = keep;
  r->parent = l->parent;
  r->prev = l;
  r->next = l->next;
  if (l->next) l->next->prev = r;
  else s->last = r;
  l->next = r;
  /* the moved runs' keys are in the index already (it holds every run's
   * first id): only their leaf changes */
  for (uint32_t i = 0; i < r->n; i++)
    idx_set(&s->index, opid_key(r->r[i].id), r);
  int rc = insert_after(s, l, r, leaf_visible(r));
  if (rc) return rc;
  if (*at > keep) {
    *leaf = r;
    *at -= keep;
  }
  return 0;
}

static uint32_t byte_off(const sequence *s, const seq_run *r, uint32_t k) {
  if (!s->is_text) return k;
  if (r->bytes == r->len) return k;
  return (uint32_t)utf8_offset(s->content.p + r->off, r->bytes, k);
}

/* Ensures a run starts at the element c names; c is updated to it. */
static int split_at(sequence *s, seq_cur *c) {
  if (c->off == 0) return 0;
  uint32_t at = c->ri + 1;
  int rc = make_room(s, &c->leaf, &at, 1);
  if (rc) return rc;
  /* the run to split is at at-1 of the leaf make_room left in c->leaf: a
   * leaf split keeps a slot and the run before it in one half (the half
   * of the slot: at <= keep stays, at > keep moves, and at-1 with it) */
  c->ri = at - 1;
  seq_leaf *l = c->leaf;
  seq_run *head = &l->r[c->ri];
  seq_run tail = *head;
  uint32_t k = c->off, b = byte_off(s, head, k);
  tail.id.ctr += k;
  tail.left = opid_make(head->id.actor, head->id.ctr + k - 1);
  tail.len -= k;
  tail.off += b;
  tail.bytes -= s->is_text ? b : k;
  head->len = k;
  head->bytes = s->is_text ? b : k;
  memmove(&l->r[at + 1], &l->r[at], (l->n - at) * sizeof l->r[0]);
  l->r[at] = tail;
  l->n++;
  c->ri = at;
  c->off = 0;
  return idx_put(&s->index, opid_key(tail.id), l);
}

/* Reserves space for the new elements' content before anything changes. */
static int reserve_content(sequence *s, uint32_t n, uint32_t nbytes) {
  if (s->is_text) {
    if (s->content.len + (size_t)nbytes > UINT32_MAX) return ACCORD_ETOOBIG;
    return buf_try_reserve(&s->content, nbytes);
  }
  if (s->nvals + (uint64_t)n > UINT32_MAX / 2) return ACCORD_ETOOBIG;
  if (s->nvals + n > s->capvals) {
    uint32_t cap = s->capvals ? s->capvals : 8;
    while (cap < s->nvals + n) cap *= 2;
    val *v = mem_realloc(s->vals, cap * sizeof *v);
    if (!v) return ACCORD_ENOMEM;
    s->vals = v;
    s->capvals = cap;
  }
  return 0;
}

static void append_content(sequence *s, seq_run *r, uint32_t n,
                           const uint8_t *content, uint32_t nbytes, val *vals) {
  if (s->is_text) {
    /* reserved (reserve_content); a keystroke is one byte, and a call to
     * memcpy costs more than the copy */
    if (nbytes == 1) s->content.p[s->content.len] = *content;
    else if (nbytes) memcpy(s->content.p + s->content.len, content, nbytes);
    s->content.len += nbytes;
  } else {
    memcpy(&s->vals[s->nvals], vals, n * sizeof *vals);
    s->nvals += n;
  }
  r->len += n;
  r->bytes += s->is_text ? nbytes : n;
}

/* Inserts the new run at c (an element, or the end when c.leaf is NULL). */
/* Inserts nr at c; on success *last is the place of its last element. */
static int insert_at(sequence *s, seq_cur c, seq_run nr, const uint8_t *content,
                     uint32_t nbytes, val *vals, seq_cur *last) {
  uint32_t n = nr.len;
  int rc = reserve_content(s, n, nbytes);
  if (rc) return rc;
  if (c.leaf && c.off && (rc = split_at(s, &c))) return rc;
  seq_leaf *l = c.leaf ? c.leaf : s->last;
  uint32_t at = c.leaf ? c.ri : s->last->n;

  /* extend the previous run when the new elements continue it */
  seq_leaf *pl = at > 0 ? l : l->prev;
  if (pl && pl->n > 0) {
    uint32_t pi = at > 0 ? at - 1 : pl->n - 1;
    seq_run *p = &pl->r[pi];
    if (!p->deleted && p->id.actor == nr.id.actor &&
        p->id.ctr + p->len == nr.id.ctr &&
        opid_eq(nr.left, opid_make(p->id.actor, nr.id.ctr - 1)) &&
        opid_eq(nr.right, p->right) &&
        p->off + p->bytes == (s->is_text ? s->content.len : s->nvals)) {
      append_content(s, p, n, content, nbytes, vals);
      adjust(s, pl, n);
      last->leaf = pl;
      last->ri = pi;
      last->off = p->len - 1;
      return 0;
    }
  }
  if ((rc = make_room(s, &l, &at, 1))) return rc;
  if ((rc = idx_put(&s->index, opid_key(nr.id), l))) return rc;
  /* nothing below can fail: the content space is reserved, so on any
   * error above the caller still owns vals */
  nr.off = s->is_text ? (uint32_t)s->content.len : s->nvals;
  nr.len = 0;
  nr.bytes = 0;
  append_content(s, &nr, n, content, nbytes, vals);
  memmove(&l->r[at + 1], &l->r[at], (l->n - at) * sizeof l->r[0]);
  l->r[at] = nr;
  l->n++;
  adjust(s, l, n);
  last->leaf = l;
  last->ri = at;
  last->off = n - 1;
  return 0;
}

int seq_integrate(sequence *s, const uint32_t *ranks, opid id, uint32_t n,
                  opid left, opid right, const uint8_t *content,
                  uint32_t nbytes, val *vals) {
  seq_cur lc, e;
  /* typing on after the last insert, with no change since: left's place
   * is where that insert put its last element */
  int cont = s->rc_epoch == s->epoch && !opid_none(left) &&
             opid_eq(left, s->rc_id);
  s->epoch++;
  if (n == 0) return ACCORD_EMALFORMED;
  if (opid_none(left)) {
    e = cur_start(s);
  } else {
    if (cont) lc = s->rc;
    else if (!seq_find_id(s, left, &lc)) return ACCORD_EMALFORMED;
    e = cur_next(lc);
  }
  /* A peer typing on: left (found from the note) ends the run its previous
   * keystroke extended, the new elements continue that run (same author,
   * next counters, same right origin, content at the end of the store),
   * and right is what follows left (or both are the end). Then nothing
   * concurrent sits between the origins, the scan below would stop at
   * once, and insert_at would extend the run: extend it here, without the
   * scan and the general insert's steps. */
  if (cont) {
    seq_run *r = run_at(lc);
    if (lc.off + 1 == r->len && !r->deleted && r->id.actor == id.actor &&
        r->id.ctr + r->len == id.ctr && left.actor == id.actor &&
        left.ctr + 1 == id.ctr && opid_eq(right, r->right) &&
        r->off + r->bytes == (s->is_text ? s->content.len : s->nvals) &&
        (opid_none(right) ? !e.leaf : e.leaf && opid_eq(cur_id(e), right))) {
      buf *t = &s->content;
      if (s->is_text && nbytes == 1 && t->cap > t->len && !t->err &&
          t->len < UINT32_MAX) {
        /* a keystroke with room: reserve_content and append_content
         * here, without their two calls (~25 instructions, callgrind) */
        t->p[t->len++] = *content;
        r->len++;
        r->bytes++;
      } else {
        int rc = reserve_content(s, n, nbytes);
        if (rc) return rc;
        append_content(s, r, n, content, nbytes, vals);
      }
      adjust(s, lc.leaf, n);
      s->rc.off = r->len - 1; /* leaf and run as before */
      s->rc_id = opid_make(id.actor, id.ctr + n - 1);
      s->rc_epoch = s->epoch;
      return 0;
    }
  }

  /* right must exist. Without concurrency it is the element right after
   * left (or the end), which proves it without a lookup: that saves one
   * of the two id lookups of nearly every remote insert. */
  seq_cur rc;
  if (!opid_none(right) && !(e.leaf && opid_eq(cur_id(e), right)) &&
      !seq_find_id(s, right, &rc))
    return ACCORD_EMALFORMED;

  /* Scan the elements between the origins (only concurrent inserts can be
   * there). Within a run, every element after the first has its
   * predecessor as origin_left, which lies after ours: such elements are
   * skipped, so the scan moves a run segment at a time. */
  seq_cur dest = e;
  int scanning = 0;
  for (;;) {
    if (!scanning) dest = e;
    if (!e.leaf) {
      if (!opid_none(right)) return ACCORD_EMALFORMED; /* right before left */
      break;
    }
    if (!opid_none(right) && opid_eq(cur_id(e), right)) break;
    const seq_run *o = run_at(e);
    opid oleft =
        e.off ? opid_make(o->id.actor, o->id.ctr + e.off - 1) : o->left;
    int cl = id_cmp(s, oleft, left, 0);
    if (cl < 0) break;
    if (cl == 0) {
      int cr = id_cmp(s, o->right, right, 1);
      if (cr < 0) {
        scanning = 1;
      } else if (cr == 0) {
        /* siblings: the lower op id (counter, then actor id) first */
        uint32_t octr = o->id.ctr + e.off;
        if (id.ctr < octr ||
            (id.ctr == octr && ranks[id.actor] < ranks[o->id.actor]))
          break;
        scanning = 0;
      } else {
        scanning = 0;
      }
    }
    /* skip the rest of the run segment, stopping at right if it is there */
    uint32_t end = o->len;
    if (!opid_none(right) && right.actor == o->id.actor &&
        right.ctr > o->id.ctr + e.off && right.ctr - o->id.ctr < o->len)
      end = right.ctr - o->id.ctr;
    if (end < o->len) e.off = end;
    else e = cur_next_run(e);
  }

  return seq_insert_at(s, dest, id, n, left, right, content, nbytes, vals);
}

int seq_insert_at(sequence *s, seq_cur at, opid id, uint32_t n, opid left,
                  opid right, const uint8_t *content, uint32_t nbytes,
                  val *vals) {
  seq_run nr;
  memset(&nr, 0, sizeof nr);
  nr.id = id;
  nr.left = left;
  nr.right = right;
  nr.len = n;
  /* at came from seq_local_origins with no change since: the first new
   * element takes the position it noted */
  int local = s->lo_epoch == s->epoch && n > 0;
  s->epoch++;
  seq_cur last;
  int rc = insert_at(s, at, nr, content, nbytes, vals, &last);
  if (rc) return rc;
  if (local) {
    s->tc = last;
    s->tc_pos = s->lo_pos + n - 1;
    s->tc_epoch = s->epoch;
  } else if (n > 0) { /* local typing has its own note: keep its path lean */
    s->rc = last;
    s->rc_id = opid_make(id.actor, id.ctr + n - 1);
    s->rc_epoch = s->epoch;
  }
  return 0;
}

/* 1 if run b continues run a: they could have been inserted as one. */
static int continues(const seq_run *a, const seq_run *b) {
  return a->id.actor == b->id.actor && a->id.ctr + a->len == b->id.ctr &&
         opid_eq(b->left, opid_make(a->id.actor, b->id.ctr - 1)) &&
         opid_eq(b->right, a->right) && a->deleted == b->deleted &&
         a->off + a->bytes == b->off;
}

/* Merges run ri of leaf l with its neighbours in the same leaf where one
 * continues the other: deleting a word letter by letter leaves one
 * tombstone run, not one per letter. */
static void merge_around(sequence *s, seq_leaf *l, uint32_t ri) {
  if (ri + 1 < l->n && continues(&l->r[ri], &l->r[ri + 1])) {
    l->r[ri].len += l->r[ri + 1].len;
    l->r[ri].bytes += l->r[ri + 1].bytes;
    idx_remove(&s->index, opid_key(l->r[ri + 1].id));
    memmove(&l->r[ri + 1], &l->r[ri + 2], (l->n - ri - 2) * sizeof l->r[0]);
    l->n--;
  }
  if (ri > 0 && continues(&l->r[ri - 1], &l->r[ri])) {
    l->r[ri - 1].len += l->r[ri].len;
    l->r[ri - 1].bytes += l->r[ri].bytes;
    idx_remove(&s->index, opid_key(l->r[ri].id));
    memmove(&l->r[ri], &l->r[ri + 1], (l->n - ri - 1) * sizeof l->r[0]);
    l->n--;
  }
}

/* Deleting the tail of visible run r (from element k on) when the next run
 * n is a tombstone it continues into: n grows backwards instead of r being
 * split and the tail merged into n — the same runs, one idx rekey
 * instead of a split and a merge. This is what backspacing looks like. */
static int grow_tombstone_back(sequence *s, seq_leaf *l, uint32_t ri,
                               uint32_t k) {
  seq_run *r = &l->r[ri], *n = &l->r[ri + 1];
  uint32_t take = r->len - k, b = r->bytes - byte_off(s, r, k);
  /* the ids in between are r's: no other run's key lies there */
  idx_rekey(&s->index, opid_key(n->id), opid_key(n->id) - take);
  r->len = k;
  r->bytes -= b;
  n->id.ctr -= take;
  n->left = opid_make(r->id.actor, r->id.ctr + k - 1);
  n->len += take;
  n->off -= b;
  n->bytes += b;
  adjust(s, l, -(int64_t)take);
  return 0;
}

/* The mirror case: deleting the head of visible run r (count elements)
 * when the previous run p is a tombstone that continues into r (the Delete
 * key, or backspacing into text typed earlier). */
static int grow_tombstone_forward(sequence *s, seq_leaf *l, uint32_t ri,
                                  uint32_t count) {
  seq_run *p = &l->r[ri - 1], *r = &l->r[ri];
  uint32_t b = byte_off(s, r, count);
  idx_rekey(&s->index, opid_key(r->id), opid_key(r->id) + count);
  p->len += count;
  p->bytes += b;
  r->id.ctr += count;
  r->left = opid_make(r->id.actor, r->id.ctr - 1);
  r->len -= count;
  r->off += b;
  r->bytes -= b;
  adjust(s, l, -(int64_t)count);
  return 0;
}

/* Marks [c.off, c.off+take) of the visible run at c deleted. When the
 * tombstone grew, *near (if not NULL) receives the place of the visible
 * element next to the deleted ones and *follows whether it follows them
 * (else it precedes them); near->leaf stays NULL otherwise. */
static int delete_in_run(sequence *s, seq_cur c, uint32_t take,
                         seq_cur *near, int *follows) {
  seq_leaf *l = c.leaf;
  seq_run *r = run_at(c);
  seq_run dead = *r; /* r as a tombstone, to test continuity against */
  dead.deleted = 1;
  if (c.off > 0 && c.off + take == r->len && c.ri + 1 < l->n &&
      continues(&dead, &l->r[c.ri + 1])) {
    if (near) { /* r keeps its first c.off elements */
      near->leaf = l;
      near->ri = c.ri;
      near->off = c.off - 1;
      *follows = 0;
    }
    return grow_tombstone_back(s, l, c.ri, c.off);
  }
  if (c.off == 0 && take < r->len && c.ri > 0 &&
      continues(&l->r[c.ri - 1], &dead)) {
    if (near) { /* r now starts after the deleted elements */
      near->leaf = l;
      near->ri = c.ri;
      near->off = 0;
      *follows = 1;
    }
    return grow_tombstone_forward(s, l, c.ri, take);
  }
  opid t = cur_id(c);
  int rc = split_at(s, &c);
  if (!rc && run_at(c)->len > take) {
    seq_cur after = c;
    after.off = take;
    rc = split_at(s, &after);
    if (!rc) seq_find_id(s, t, &c);
  }
  if (rc) return rc;
  run_at(c)->deleted = 1;
  adjust(s, c.leaf, -(int64_t)take);
  merge_around(s, c.leaf, c.ri);
  return 0;
}

int seq_delete_at(sequence *s, seq_cur c, size_t pos, uint32_t count) {
  s->epoch++;
  seq_cur near = {NULL, 0, 0};
  int after = 0;
  int rc = delete_in_run(s, c, count, &near, &after);
  if (!rc && near.leaf && (after || pos > 0)) {
    /* backspacing on (or deleting forward on) finds its place here */
    s->tc = near;
    s->tc_pos = after ? pos : pos - 1;
    s->tc_epoch = s->epoch;
  }
  return rc;
}

int seq_delete(sequence *s, opid target, uint32_t count, uint32_t *newly) {
  seq_cur c;
  *newly = 0;
  s->epoch++;
  if (count == 0 || (uint64_t)target.ctr + count > UINT32_MAX)
    return ACCORD_EMALFORMED;
  /* validate the whole range first: a bad id must change nothing */
  if (!seq_find_id(s, target, &c)) return ACCORD_EMALFORMED;
  for (uint32_t done = run_at(c)->len - c.off; done < count;) {
    seq_cur v;
    if (!seq_find_id(s, opid_make(target.actor, target.ctr + done), &v))
      return ACCORD_EMALFORMED;
    done += run_at(v)->len - v.off;
  }
  for (uint32_t done = 0; done < count;) {
    if (done > 0) seq_find_id(s, opid_make(target.actor, target.ctr + done), &c);
    seq_run *r = run_at(c);
    uint32_t take = r->len - c.off;
    if (take > count - done) take = count - done;
    if (!r->deleted) {
      int rc = delete_in_run(s, c, take, NULL, NULL);
      if (rc) return rc;
      *newly += take;
    }
    done += take;
  }
  return 0;
}

/* ---- reading ------------------------------------------------------------- */

void seq_text(const sequence *s, buf *out) {
  for (const seq_leaf *l = s->first; l; l = l->next)
    for (uint32_t i = 0; i < l->n; i++)
      if (!l->r[i].deleted)
        buf_put(out, s->content.p + l->r[i].off, l->r[i].bytes);
}

val *seq_list_get(const sequence *s, size_t pos, opid *id) {
  seq_cur c;
  if (s->is_text || !seq_find_visible(s, pos, &c)) return NULL;
  if (id) *id = cur_id(c);
  return &s->vals[run_at(c)->off + c.off];
}

val *seq_list_get_id(const sequence *s, opid id) {
  seq_cur c;
  if (s->is_text || !seq_find_id(s, id, &c)) return NULL;
  return &s->vals[run_at(c)->off + c.off];
}

int seq_each_visible(const sequence *s, seq_elem_fn fn, void *ctx) {
  for (const seq_leaf *l = s->first; l; l = l->next) {
    for (uint32_t i = 0; i < l->n; i++) {
      const seq_run *r = &l->r[i];
      if (r->deleted) continue;
      for (uint32_t k = 0; k < r->len; k++) {
        int rc = fn(ctx, opid_make(r->id.actor, r->id.ctr + k),
                    s->is_text ? NULL : &s->vals[r->off + k]);
        if (rc) return rc;
      }
    }
  }
  return 0;
}

/* ---- snapshots ----------------------------------------------------------- */

/* Runs per leaf when loading: room is left for the edits to come. */
#define BUILD_FILL (SEQ_LEAF_RUNS * 3 / 4)

int seq_each_run(const sequence *s, seq_run_fn fn, void *ctx) {
  for (const seq_leaf *l = s->first; l; l = l->next)
    for (uint32_t i = 0; i < l->n; i++) {
      int rc = fn(ctx, s, &l->r[i]);
      if (rc) return rc;
    }
  return 0;
}

int seq_build_run(sequence *s, opid id, uint32_t len, opid left, opid right,
                  int deleted, const uint8_t *content, uint32_t nbytes,
                  val *vals) {
  s->epoch++;
  if (len == 0 || id.ctr == 0 ||
      (uint64_t)id.ctr + len - 1 > ACCORD_MAX_COUNTER ||
      (uint64_t)s->visible + len > UINT32_MAX / 2)
    return ACCORD_EMALFORMED;
  /* overlapping ids and unknown origins are caught in seq_build_done */
  int rc = reserve_content(s, deleted ? (s->is_text ? 0 : len) : len,
                           deleted ? 0 : nbytes);
  if (rc) return rc;
  seq_leaf *l = s->last;
  if (l->n >= BUILD_FILL) {
    seq_leaf *nl = mem_calloc(1, sizeof *nl);
    if (!nl) return ACCORD_ENOMEM;
    s->nleaves++;
    nl->prev = l;
    l->next = nl;
    s->last = l = nl;
  }
  seq_run r;
  memset(&r, 0, sizeof r);
  r.id = id;
  r.left = left;
  r.right = right;
  r.deleted = (uint8_t)(deleted != 0);
  r.off = s->is_text ? (uint32_t)s->content.len : s->nvals;
  if (!deleted) {
    append_content(s, &r, len, content, nbytes, vals);
    s->visible += len;
  } else if (!s->is_text) {
    memset(&s->vals[s->nvals], 0, len * sizeof *s->vals); /* nulls */
    s->nvals += len;
    r.len = r.bytes = len;
  } else {
    r.len = len; /* a text tombstone keeps no content: bytes == 0 */
  }
  l->r[l->n++] = r;
  s->pc_leaf = NULL;
  return 0;
}

/* A run's first key and its leaf, for building the id index in one go. */
typedef struct run_key {
  uint64_t key;
  uint32_t len;
  seq_leaf *leaf;
} run_key;

static int run_key_cmp(const void *a, const void *b) {
  uint64_t x = ((const run_key *)a)->key, y = ((const run_key *)b)->key;
  return x < y ? -1 : x > y;
}

/* 1 if id is none or inside one of the n sorted runs. */
static int known_id(const run_key *k, size_t n, opid id) {
  if (opid_none(id)) return 1;
  uint64_t key = opid_key(id);
  size_t lo = 0, hi = n;
  while (lo < hi) { /* the last run starting at or before key */
    size_t mid = lo + (hi - lo) / 2;
    if (k[mid].key <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 && (k[lo - 1].key >> 32) == id.actor &&
         key - k[lo - 1].key < k[lo - 1].len;
}

/* Sorts the runs' ids, refuses overlaps and unknown origins, and builds
 * the id index bottom-up. */
static int build_index(sequence *s) {
  size_t n = 0;
  for (const seq_leaf *l = s->first; l; l = l->next) n += l->n;
  if (n == 0) return 0;
  run_key *k = mem_alloc(n * sizeof *k);
  uint64_t *keys = mem_alloc(n * sizeof *keys);
  void **vals = mem_alloc(n * sizeof *vals);
  int rc = k && keys && vals ? 0 : ACCORD_ENOMEM;
  size_t i = 0;
  for (seq_leaf *l = s->first; !rc && l; l = l->next)
    for (uint32_t j = 0; j < l->n; j++, i++) {
      k[i].key = opid_key(l->r[j].id);
      k[i].len = l->r[j].len;
      k[i].leaf = l;
    }
  if (!rc) qsort(k, n, sizeof *k, run_key_cmp);
  for (i = 1; !rc && i < n; i++) /* no two runs share an id */
    if ((k[i].key >> 32) == (k[i - 1].key >> 32) &&
        k[i].key - k[i - 1].key < k[i - 1].len)
      rc = ACCORD_EMALFORMED;
  for (const seq_leaf *l = s->first; !rc && l; l = l->next)
    for (uint32_t j = 0; !rc && j < l->n; j++)
      if (!known_id(k, n, l->r[j].left) || !known_id(k, n, l->r[j].right))
        rc = ACCORD_EMALFORMED;
  for (i = 0; !rc && i < n; i++) {
    keys[i] = k[i].key;
    vals[i] = k[i].leaf;
  }
  if (!rc) rc = idx_build(&s->index, keys, vals, n);
  mem_free(k);
  mem_free(keys);
  mem_free(vals);
  return rc;
}

int seq_build_done(sequence *s) {
  s->epoch++;
  int rc = build_index(s);
  if (rc) return rc;
  /* the tree above the leaves, one level at a time, bottom-up */
  size_t n = s->nleaves;
  void **level = mem_alloc(n * sizeof *level);
  if (!level) return ACCORD_ENOMEM;
  size_t k = 0;
  for (seq_leaf *l = s->first; l; l = l->next) level[k++] = l;
  uint32_t height = 0;
  while (n > 1) {
    size_t m = 0;
    for (size_t i = 0; i < n; i += BUILD_FILL) {
      seq_node *nd = mem_calloc(1, sizeof *nd);
      if (!nd) {
        mem_free(level);
        return ACCORD_ENOMEM; /* the caller frees the whole sequence */
      }
      s->nnodes++;
      for (size_t j = i; j < n && j < i + BUILD_FILL; j++) {
        void *x = level[j];
        nd->child[nd->n] = x;
        nd->count[nd->n] = height == 0 ? leaf_visible(x) : 0;
        if (height > 0)
          for (uint32_t q = 0; q < ((seq_node *)x)->n; q++)
            nd->count[nd->n] += ((seq_node *)x)->count[q];
        nd->n++;
        set_parent(x, nd);
      }
      level[m++] = nd;
    }
    n = m;
    height++;
  }
  s->root = level[0];
  s->height = height;
  mem_free(level);
  return 0;
}
