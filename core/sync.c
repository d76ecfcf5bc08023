/*
 * sync.c — version vectors, batches of changes, and importing them.
 *
 * Version vector: [doc bin16, {actor bin8: seq}] with keys in id order, sequence
 * the highest change applied (contiguously) from that actor.
 *
 * Batch: [1, doc bin16, [actor bin8...], [chain...]] where a chain is
 * [actor ref, first seq, body fields...] — the bodies (change.h) of
 * consecutive seqs, six msgpack values each, copied from storage as they
 * are.
 *
 * Import is all or nothing. Changes are grouped per actor in seq order
 * together with the ones already waiting (pending); each round applies, per
 * actor, every change that extends the chain and whose deps are present,
 * until a round makes no progress. What is left waits in pending. Any error
 * truncates the chains back, restores pending, and rebuilds the state.
 */
#include <stdlib.h>
#include <string.h>

#include "change.h"
#include "mem.h"
#include "mp.h"
#include "sync.h"

#define BATCH_VERSION 1

decoder *doc_decoder(accord_doc *doc) {
  if (!doc->dec) doc->dec = mem_calloc(1, sizeof(decoder));
  return doc->dec;
}

/* ---- version vectors ----------------------------------------------------- */

/* Actor indexes with at least one change, in actor id order. */
static uint32_t *sorted_actors(const accord_doc *doc, uint32_t *n) {
  uint32_t *by_rank = mem_alloc((doc->nactors + 1) * sizeof *by_rank);
  if (!by_rank) return NULL;
  for (uint32_t i = 0; i < doc->nactors; i++) by_rank[doc->rank[i]] = i;
  *n = 0;
  for (uint32_t r = 0; r < doc->nactors; r++)
    if (doc->chains[by_rank[r]].n > 0) by_rank[(*n)++] = by_rank[r];
  return by_rank;
}

int accord_doc_version(const accord_doc *doc, uint8_t **out, size_t *len) {
  if (!out || !len) return ACCORD_EINVAL;
  *out = NULL;
  if (!doc) return ACCORD_EINVAL;
  uint32_t n, *a = sorted_actors(doc, &n);
  if (!a) return ACCORD_ENOMEM;
  buf b = {0};
  mp_put_array(&b, 2);
  mp_put_bin(&b, doc->id, ACCORD_DOC_ID_BYTES);
  mp_put_map(&b, n);
  for (uint32_t i = 0; i < n; i++) {
    mp_put_bin(&b, doc->actor[a[i]], ACCORD_ACTOR_BYTES);
    mp_put_uint(&b, doc->chains[a[i]].n);
  }
  mem_free(a);
  *out = buf_take(&b, len);
  return *out ? 0 : ACCORD_ENOMEM;
}

/* Parses a version vector into known[actor index] (actors we do not know
 * are irrelevant: we have nothing of theirs to send). */
static int parse_version(const accord_doc *doc, const uint8_t *vv,
                         size_t len, uint32_t *known) {
  mp_reader r;
  uint32_t n, m;
  const uint8_t *id, *prev = NULL;
  size_t idlen;
  mp_reader_init(&r, vv, len);
  if (mp_get_array(&r, &n) || n != 2 || mp_get_bin(&r, &id, &idlen) ||
      idlen != ACCORD_DOC_ID_BYTES)
    return ACCORD_EMALFORMED;
  if (memcmp(id, doc->id, ACCORD_DOC_ID_BYTES)) return ACCORD_EOTHERDOC;
  if (mp_get_map(&r, &m)) return ACCORD_EMALFORMED;
  for (uint32_t i = 0; i < m; i++) {
    uint64_t seq;
    uint32_t a;
    if (mp_get_bin(&r, &id, &idlen) || idlen != ACCORD_ACTOR_BYTES ||
        mp_get_uint_max(&r, UINT32_MAX, &seq))
      return ACCORD_EMALFORMED;
    if (prev && memcmp(prev, id, ACCORD_ACTOR_BYTES) >= 0)
      return ACCORD_EMALFORMED;
    prev = id;
    if (doc_actor_find(doc, id, &a)) known[a] = (uint32_t)seq;
  }
  return r.p == r.end ? 0 : ACCORD_EMALFORMED;
}

/* ---- batches ------------------------------------------------------------- */

int sync_put_batch(accord_doc *doc, const uint32_t *known, buf *b) {
  int rc = doc_index_chains(doc);
  if (rc) return rc;
  uint32_t n, *a = sorted_actors(doc, &n);
  if (!a) return ACCORD_ENOMEM;
  uint32_t k = 0;
  for (uint32_t i = 0; i < n; i++)
    if (doc->chains[a[i]].n > (known ? known[a[i]] : 0)) a[k++] = a[i];
  mp_put_array(b, 4);
  mp_put_uint(b, BATCH_VERSION);
  mp_put_bin(b, doc->id, ACCORD_DOC_ID_BYTES);
  mp_put_array(b, k);
  for (uint32_t i = 0; i < k; i++)
    mp_put_bin(b, doc->actor[a[i]], ACCORD_ACTOR_BYTES);
  mp_put_array(b, k);
  for (uint32_t i = 0; i < k; i++) {
    const chain *c = &doc->chains[a[i]];
    uint32_t from = known ? known[a[i]] : 0;
    uint64_t fields = 2 + 6 * (uint64_t)(c->n - from);
    if (fields > UINT32_MAX) {
      b->err = ACCORD_ETOOBIG;
      break;
    }
    mp_put_array(b, (uint32_t)fields);
    mp_put_uint(b, i);
    mp_put_uint(b, from + 1);
    buf_put(b, c->bytes.p + c->off[from], c->off[c->n] - c->off[from]);
  }
  mem_free(a);
  return b->err;
}

int accord_doc_changes_since(accord_doc *doc, const uint8_t *vv,
                             size_t vv_len, uint8_t **out, size_t *len) {
  if (!out || !len) return ACCORD_EINVAL;
  *out = NULL;
  if (!doc || (!vv && vv_len)) return ACCORD_EINVAL;
  if (doc->poisoned) return doc->poisoned;
  uint32_t *known = mem_calloc(doc->nactors, sizeof *known);
  if (!known) return ACCORD_ENOMEM;
  int rc = vv ? parse_version(doc, vv, vv_len, known) : 0;
  buf b = {0};
  if (!rc) rc = sync_put_batch(doc, known, &b);
  mem_free(known);
  if (rc) {
    buf_free(&b);
    return rc;
  }
  *out = buf_take(&b, len);
  return *out ? 0 : ACCORD_ENOMEM;
}

/* ---- import -------------------------------------------------------------- */

/* A change to consider: from the batch (borrowed) or pending (owned). */
typedef struct cand {
  uint32_t actor, seq;
  const uint8_t *body;
  size_t len;
  int from_pending;
  int done;
} cand;

static int cand_cmp(const void *x, const void *y) {
  const cand *a = x, *b = y;
  if (a->actor != b->actor) return a->actor < b->actor ? -1 : 1;
  if (a->seq != b->seq) return a->seq < b->seq ? -1 : 1;
  return a->from_pending - b->from_pending;
}

typedef struct importer {
  accord_doc *doc;
  cand *c;
  size_t n, cap;
  doc_mark mark; /* the document before the import */
  accord_import_stats st;
} importer;

static int add_cand(importer *im, uint32_t actor, uint32_t seq,
                    const uint8_t *body, size_t len, int from_pending) {
  if (im->n == im->cap) {
    size_t cap = im->cap ? 2 * im->cap : 64;
    cand *c = mem_realloc(im->c, cap * sizeof *c);
    if (!c) return ACCORD_ENOMEM;
    im->c = c;
    im->cap = cap;
  }
  cand *x = &im->c[im->n++];
  x->actor = actor;
  x->seq = seq;
  x->body = body;
  x->len = len;
  x->from_pending = from_pending;
  x->done = 0;
  return 0;
}

/* A change we already have: the same bytes, or evidence of a fork. */
static int check_known(const accord_doc *doc, const cand *x) {
  size_t len;
  const uint8_t *have = chain_body(&doc->chains[x->actor], x->seq, &len);
  if (len == x->len && memcmp(have, x->body, len) == 0) return 0;
  return ACCORD_EFORK;
}

/* Parses a batch into candidates. */
static int read_batch(importer *im, const uint8_t *p, size_t len) {
  accord_doc *doc = im->doc;
  mp_reader r;
  uint32_t n, na, nc = 0;
  uint64_t version;
  const uint8_t *id;
  size_t idlen;
  mp_reader_init(&r, p, len);
  if (mp_get_array(&r, &n) || n != 4 || mp_get_uint(&r, &version))
    return ACCORD_EMALFORMED;
  if (version != BATCH_VERSION) return ACCORD_EVERSION;
  if (mp_get_bin(&r, &id, &idlen) || idlen != ACCORD_DOC_ID_BYTES)
    return ACCORD_EMALFORMED;
  if (memcmp(id, doc->id, ACCORD_DOC_ID_BYTES)) return ACCORD_EOTHERDOC;
  if (mp_get_array(&r, &na) || na > ACCORD_MAX_ACTORS) return ACCORD_EMALFORMED;
  uint32_t *map = mem_alloc((na + 1) * sizeof *map);
  if (!map) return ACCORD_ENOMEM;
  int rc = 0;
  for (uint32_t i = 0; i < na && !rc; i++) {
    if (mp_get_bin(&r, &id, &idlen) || idlen != ACCORD_ACTOR_BYTES)
      rc = ACCORD_EMALFORMED;
    else rc = doc_actor_index(doc, id, &map[i]);
  }
  if (!rc && mp_get_array(&r, &nc)) rc = ACCORD_EMALFORMED;
  for (uint32_t i = 0; i < nc && !rc; i++) {
    uint32_t fields;
    uint64_t ref, first;
    if (mp_get_array(&r, &fields) || fields < 2 || (fields - 2) % 6 ||
        mp_get_uint(&r, &ref) || ref >= na ||
        mp_get_uint_max(&r, UINT32_MAX - 1, &first) || first == 0 ||
        first + (fields - 2) / 6 > UINT32_MAX) {
      rc = ACCORD_EMALFORMED;
      break;
    }
    for (uint32_t k = 0; k < (fields - 2) / 6 && !rc; k++) {
      size_t blen = change_body_len(r.p, mp_left(&r));
      if (!blen) {
        rc = ACCORD_EMALFORMED;
        break;
      }
      rc = add_cand(im, map[ref], (uint32_t)(first + k), r.p, blen, 0);
      r.p += blen;
    }
  }
  mem_free(map);
  if (!rc && r.p != r.end) rc = ACCORD_EMALFORMED;
  return rc;
}

/* Decodes and applies one change that extends its chain, if its deps are
 * present. *applied says whether it was. */
static int try_apply(importer *im, const cand *x, int *applied) {
  accord_doc *doc = im->doc;
  decoder *d = doc_decoder(doc);
  if (!d) return ACCORD_ENOMEM;
  chain *c = &doc->chains[x->actor];
  dchange ch;
  chain_ctx prev = chain_context(c);
  int rc = change_decode(doc, d, x->actor, &prev, x->body, x->len, &ch);
  if (rc) return rc;
  c = &doc->chains[x->actor]; /* decoding may have grown the actor table */
  *applied = 0;
  for (uint32_t k = 0; k < ch.ndeps; k++)
    if (doc->chains[ch.deps[2 * k]].n < ch.deps[2 * k + 1]) return 0;
  im->mark.touched = 1;
  for (uint32_t k = 0; k < ch.nops; k++)
    if ((rc = state_apply(doc, &doc->st, &ch.ops[k]))) return rc;
  if ((rc = chain_tab_reserve(c, ch.ntab)) ||
      (rc = chain_append(c, x->body, x->len, ch.end_op, ch.time)))
    return rc;
  chain_set_tab(c, ch.tab, ch.ntab); /* reserved: cannot fail */
  *applied = 1;
  return 0;
}

static int apply_ready(importer *im) {
  accord_doc *doc = im->doc;
  if (im->n > 1) qsort(im->c, im->n, sizeof *im->c, cand_cmp);
  for (int progress = 1; progress;) {
    progress = 0;
    for (size_t i = 0; i < im->n;) {
      uint32_t a = im->c[i].actor;
      size_t j = i;
      for (; j < im->n && im->c[j].actor == a; j++) {
        cand *x = &im->c[j];
        if (x->done) continue;
        const chain *c = &doc->chains[a];
        if (x->seq <= c->n) {
          int rc = check_known(doc, x);
          /* a waiting change that disagrees with the chain was never
           * verified: drop it. One from this batch is a fork. */
          if (rc && !x->from_pending) return rc;
          x->done = 1;
          if (!x->from_pending) im->st.duplicates++;
          continue;
        }
        if (x->seq != c->n + 1) break;
        int applied, rc = try_apply(im, x, &applied);
        if (rc && x->from_pending && rc != ACCORD_ENOMEM) {
          /* an earlier import left a change that turns out bad: drop it
           * and repair whatever part of it was applied */
          x->done = 1;
          if ((rc = doc_rebuild(doc))) return rc;
          continue;
        }
        if (rc) return rc;
        if (!applied) break;
        x->done = 1;
        im->st.applied++;
        progress = 1;
      }
      while (j < im->n && im->c[j].actor == a) j++;
      i = j;
    }
  }
  return 0;
}

/* Replaces pending with the candidates left over. Copies batch bodies;
 * pending bodies move. On failure nothing changed. */
static int keep_pending(importer *im) {
  accord_doc *doc = im->doc;
  size_t left = 0, bytes = 0;
  for (size_t i = 0; i < im->n; i++)
    if (!im->c[i].done) {
      /* the same change twice among the leftovers: keep one */
      if (i > 0 && !im->c[i - 1].done && im->c[i - 1].actor == im->c[i].actor &&
          im->c[i - 1].seq == im->c[i].seq) {
        /* the same bytes, or two unverified versions of one change: keep
         * the first (a waiting one sorts first); a bad one is dropped when
         * its turn comes and the good one arrives again with the next sync */
        im->c[i].done = 2;
        if (!im->c[i].from_pending) im->st.duplicates++;
        continue;
      }
      left++;
      bytes += im->c[i].len;
    }
  if (bytes > ACCORD_MAX_PENDING_BYTES) return ACCORD_ETOOBIG;
  pend *p = left ? mem_alloc(left * sizeof *p) : NULL;
  if (left && !p) return ACCORD_ENOMEM;
  size_t k = 0;
  for (size_t i = 0; i < im->n; i++) {
    cand *x = &im->c[i];
    if (x->done) continue;
    p[k].actor = x->actor;
    p[k].seq = x->seq;
    p[k].len = x->len;
    if (x->from_pending) {
      p[k].body = (uint8_t *)x->body;
    } else if ((p[k].body = mem_alloc(x->len ? x->len : 1))) {
      memcpy(p[k].body, x->body, x->len);
    } else {
      for (size_t j = 0, m = 0; j < i; j++) { /* undo the copies */
        if (im->c[j].done) continue;
        if (!im->c[j].from_pending) mem_free(p[m].body);
        m++;
      }
      mem_free(p);
      return ACCORD_ENOMEM;
    }
    k++;
  }
  /* pending bodies not carried over were applied or duplicates: free */
  for (size_t i = 0; i < im->n; i++)
    if (im->c[i].done && im->c[i].from_pending) mem_free((void *)im->c[i].body);
  mem_free(doc->pending);
  doc->pending = p;
  doc->npending = (uint32_t)left;
  doc->cappending = (uint32_t)left;
  doc->pending_bytes = bytes;
  return 0;
}

int sync_import(accord_doc *doc, const uint8_t *batch, size_t len,
                const pend *extra, uint32_t nextra,
                accord_import_stats *stats) {
  if (stats) memset(stats, 0, sizeof *stats);
  if (!doc || (!batch && len)) return ACCORD_EINVAL;
  if (doc->poisoned) return doc->poisoned;
  if (doc->txn_open) return ACCORD_EBUSY;
  importer im;
  memset(&im, 0, sizeof im);
  im.doc = doc;
  int rc = doc_index_chains(doc);
  if (!rc) rc = doc_mark_take(doc, &im.mark);
  if (rc) return rc;
  for (uint32_t i = 0; i < doc->npending && !rc; i++)
    rc = add_cand(&im, doc->pending[i].actor, doc->pending[i].seq,
                  doc->pending[i].body, doc->pending[i].len, 1);
  for (uint32_t i = 0; i < nextra && !rc; i++)
    rc = add_cand(&im, extra[i].actor, extra[i].seq, extra[i].body,
                  extra[i].len, 0);
  if (!rc && batch) rc = read_batch(&im, batch, len);
  if (!rc) rc = apply_ready(&im);
  if (!rc) rc = keep_pending(&im);
  if (rc) {
    /* keep_pending replaces pending only on success, so the mark's copy of
     * it is only needed by callers that undo a successful import */
    doc_mark_restore(doc, &im.mark);
  } else {
    doc_mark_free(&im.mark);
    if (stats) {
      *stats = im.st;
      stats->pending = doc->npending;
    }
  }
  mem_free(im.c);
  return rc;
}

int accord_doc_import(accord_doc *doc, const uint8_t *batch, size_t len,
                      accord_import_stats *stats) {
  if (!batch) return ACCORD_EINVAL;
  return sync_import(doc, batch, len, NULL, 0, stats);
}

int accord_doc_chain_head(accord_doc *doc, const uint8_t *actor,
                          uint64_t *seq, uint8_t *hash) {
  uint32_t a;
  if (!doc || !actor) return ACCORD_EINVAL;
  if (!doc_actor_find(doc, actor, &a) || doc->chains[a].n == 0)
    return ACCORD_ENOTFOUND;
  int rc = chain_hash(doc, a);
  if (rc) return rc;
  if (seq) *seq = doc->chains[a].n;
  if (hash) memcpy(hash, doc->chains[a].hash, ACCORD_HASH_BYTES);
  return 0;
}
