/*
 * idx.c — B+tree for idx.h. Inner nodes keep, per child, the smallest key
 * below it; keys[0] of an inner node is never compared (everything smaller
 * than keys[1] goes to child 0). Leaves keep sorted keys and values.
 */
#include "idx.h"

#include <string.h>

#include "accord.h"
#include "mem.h"

#define IDX_N 48

typedef struct inode {
  uint32_t n;
  uint64_t keys[IDX_N];
  void *child[IDX_N];
} inode; /* also used for leaves: child[] holds the values */

/* Index of the last key <= key in a node (0 if all are greater). */
static uint32_t slot(const inode *x, uint64_t key) {
  uint32_t lo = 0, hi = x->n;
  while (hi - lo > 1) {
    uint32_t mid = (lo + hi) / 2;
    if (x->keys[mid] <= key) lo = mid;
    else hi = mid;
  }
  return lo;
}

void *idx_floor(const idx *m, uint64_t key, uint64_t *found) {
  const inode *x = m->root;
  if (!x) return NULL;
  for (uint32_t h = m->height; h > 0; h--) x = x->child[slot(x, key)];
  uint32_t i = slot(x, key);
  if (x->keys[i] > key) {
    /* key is below the leaf's first key: only possible in the leftmost
     * leaf, where nothing is smaller */
    return NULL;
  }
  if (found) *found = x->keys[i];
  return x->child[i];
}

int idx_set(idx *m, uint64_t key, void *val) {
  inode *x = m->root;
  if (!x) return 0;
  for (uint32_t h = m->height; h > 0; h--) x = x->child[slot(x, key)];
  uint32_t i = slot(x, key);
  if (x->keys[i] != key) return 0;
  x->child[i] = val;
  return 1;
}

static void node_insert(inode *x, uint32_t at, uint64_t key, void *val) {
  memmove(&x->keys[at + 1], &x->keys[at], (x->n - at) * sizeof x->keys[0]);
  memmove(&x->child[at + 1], &x->child[at], (x->n - at) * sizeof x->child[0]);
  x->keys[at] = key;
  x->child[at] = val;
  x->n++;
}

/* Inserts into the subtree at x of height h. When x had to split, *split
 * receives the new right sibling (its first key is its separator). Splits
 * take nodes from m->spare, filled beforehand, so they cannot fail. */
static int insert(idx *m, inode *x, uint32_t h, uint64_t key, void *val,
                  inode **split) {
  *split = NULL;
  uint32_t i = slot(x, key);
  if (h == 0) {
    if (x->n > 0 && x->keys[i] == key) {
      x->child[i] = val;
      return 0;
    }
    if (x->n > 0 && x->keys[i] < key) i++;
  } else {
    inode *sub;
    int rc = insert(m, x->child[i], h - 1, key, val, &sub);
    if (rc || !sub) return rc;
    key = sub->keys[0];
    val = sub;
    i++;
  }
  if (x->n < IDX_N) {
    node_insert(x, i, key, val);
    return 0;
  }
  inode *r = m->spare[--m->nspare];
  if (x == m->tail) m->tail = r; /* h == 0 here: tail is a leaf */
  m->nodes++;
  /* appends at the right edge leave the left node full: sequences grow
   * mostly at the end of an actor's range */
  uint32_t keep = i == IDX_N ? IDX_N - 1 : IDX_N / 2;
  r->n = x->n - keep;
  memcpy(r->keys, &x->keys[keep], r->n * sizeof x->keys[0]);
  memcpy(r->child, &x->child[keep], r->n * sizeof x->child[0]);
  x->n = keep;
  if (i <= keep) node_insert(x, i, key, val);
  else node_insert(r, i - keep, key, val);
  *split = r;
  return 0;
}

int idx_put(idx *m, uint64_t key, void *val) {
  /* a put splits at most one node per level plus a new root */
  while (m->nspare < m->height + 2) {
    inode *x = mem_alloc(sizeof *x);
    if (!x) return ACCORD_ENOMEM;
    m->spare[m->nspare++] = x;
  }
  if (!m->root) {
    inode *x = m->spare[--m->nspare];
    m->nodes = 1;
    x->n = 1;
    x->keys[0] = key;
    x->child[0] = val;
    m->root = x;
    m->height = 0;
    return 0;
  }
  inode *t = m->tail;
  if (!t) { /* found again after a build or a removal that freed it */
    t = m->root;
    for (uint32_t h = m->height; h > 0; h--) t = t->child[t->n - 1];
    m->tail = t;
  }
  if (t->n < IDX_N && key > t->keys[t->n - 1]) {
    /* above every key: the end of the rightmost leaf, and no separator
     * changes (each is its subtree's smallest key) */
    t->keys[t->n] = key;
    t->child[t->n] = val;
    t->n++;
    return 0;
  }
  inode *sub;
  int rc = insert(m, m->root, m->height, key, val, &sub);
  if (rc || !sub) return rc;
  inode *newroot = m->spare[--m->nspare];
  inode *old = m->root;
  newroot->n = 2;
  newroot->keys[0] = old->keys[0];
  newroot->child[0] = old;
  newroot->keys[1] = sub->keys[0];
  newroot->child[1] = sub;
  m->root = newroot;
  m->height++;
  m->nodes++;
  return 0;
}

/* Removes key below x; returns 1 and the subtree's new smallest key in
 * *min when that changed, so ancestors keep exact separators (a separator
 * below its child's smallest key would send floor searches astray). */
static int remove_rec(idx *m, inode *x, uint32_t h, uint64_t key,
                      uint64_t *min) {
  uint32_t i = slot(x, key);
  if (h == 0) {
    if (x->n == 0 || x->keys[i] != key) return 0;
  } else {
    inode *c = x->child[i];
    uint64_t cmin;
    int changed = remove_rec(m, c, h - 1, key, &cmin);
    if (c->n > 0) {
      if (!changed) return 0;
      x->keys[i] = cmin;
      if (i > 0) return 0;
      *min = cmin;
      return 1;
    }
    if (c == m->tail) m->tail = NULL;
    mem_free(c);
    m->nodes--;
  }
  memmove(&x->keys[i], &x->keys[i + 1], (x->n - i - 1) * sizeof x->keys[0]);
  memmove(&x->child[i], &x->child[i + 1], (x->n - i - 1) * sizeof x->child[0]);
  x->n--;
  if (i > 0 || x->n == 0) return x->n == 0;
  *min = x->keys[0];
  return 1;
}

void idx_rekey(idx *m, uint64_t old, uint64_t new_key) {
  inode *x = m->root;
  if (!x) return;
  /* separators are exact (every one is its subtree's smallest key), so
   * the ones naming old are the ones on old's path that equal it; with no
   * key between old and new_key, the order everywhere stays the same */
  for (uint32_t h = m->height;; h--) {
    uint32_t i = slot(x, old);
    if (x->keys[i] == old) x->keys[i] = new_key;
    if (h == 0) return;
    x = x->child[i];
  }
}

void idx_remove(idx *m, uint64_t key) {
  uint64_t min;
  inode *r = m->root;
  if (!r) return;
  remove_rec(m, r, m->height, key, &min);
  if (r->n == 0) {
    m->tail = NULL;
    mem_free(r);
    m->nodes--;
    m->root = NULL;
    m->height = 0;
  } else if (m->height > 0 && r->n == 1) {
    m->root = r->child[0];
    m->height--;
    mem_free(r);
    m->nodes--;
  }
}

/* Nodes are filled to 3/4 so that the edits after a load split rarely. */
#define IDX_FILL (IDX_N * 3 / 4)

int idx_build(idx *m, const uint64_t *keys, void *const *vals, size_t n) {
  if (n == 0) return 0;
  /* every node is allocated first, so a failure leaves nothing behind */
  size_t total = 0;
  for (size_t k = n; k > 1 || total == 0;) {
    k = (k + IDX_FILL - 1) / IDX_FILL;
    total += k;
    if (k == 1) break;
  }
  inode **all = mem_alloc(total * sizeof *all);
  if (!all) return ACCORD_ENOMEM;
  for (size_t i = 0; i < total; i++) {
    if (!(all[i] = mem_alloc(sizeof(inode)))) {
      while (i > 0) mem_free(all[--i]);
      mem_free(all);
      return ACCORD_ENOMEM;
    }
  }
  /* leaves, then each level above from the one below */
  size_t made = 0, next = 0;
  for (size_t i = 0; i < n; i += IDX_FILL) {
    inode *x = all[next++];
    x->n = (uint32_t)(n - i < IDX_FILL ? n - i : IDX_FILL);
    memcpy(x->keys, keys + i, x->n * sizeof *keys);
    memcpy(x->child, vals + i, x->n * sizeof *vals);
    made++;
  }
  size_t below = 0; /* first node of the level below */
  uint32_t height = 0;
  while (made > 1) {
    size_t first = next;
    for (size_t i = 0; i < made; i += IDX_FILL) {
      inode *x = all[next++];
      x->n = 0;
      for (size_t j = i; j < made && j < i + IDX_FILL; j++) {
        inode *c = all[below + j];
        x->keys[x->n] = c->keys[0];
        x->child[x->n++] = c;
      }
    }
    made = next - first;
    below = first;
    height++;
  }
  m->root = all[next - 1];
  m->height = height;
  m->tail = NULL; /* found on the next put */
  m->nodes += total;
  mem_free(all);
  return 0;
}

static void free_node(inode *x, uint32_t h) {
  if (h > 0)
    for (uint32_t i = 0; i < x->n; i++) free_node(x->child[i], h - 1);
  mem_free(x);
}

void idx_free(idx *m) {
  if (m->root) free_node(m->root, m->height);
  while (m->nspare) mem_free(m->spare[--m->nspare]);
  m->tail = NULL;
  m->root = NULL;
  m->height = 0;
  m->nodes = 0;
}

size_t idx_mem(const idx *m) {
  return (m->nodes + m->nspare) * sizeof(inode);
}
