/*
 * fork.c — evidence of forks (DESIGN §4; issue 5 item 6): an author that
 * signed two different chains of one document.
 *
 * When an import meets, with verification on, an author's sealed run that
 * differs from the chain we hold at some seq s, and its seal checks, the
 * author has signed both histories: sync.c keeps our chain, skips the run
 * and records here the proof, self-contained so that anyone can check it
 * without our document:
 *
 *   ["accord-fork", 2, workspace bin16, doc bin16, actor bin8, s,
 *    root bin32,            the chain's root at b (hashchain.h), where
 *                           b = (s-1) - (s-1) % HASHCHAIN_SEG
 *    shared bin,            the bodies b+1..s-1, which both chains hold
 *    [seal seq, seal bin96, bodies bin], the chain we kept, s..seal seq
 *    [seal seq, seal bin96, bodies bin]] the chain we refused, likewise
 *
 * bodies are change bodies (change.h) back to back; a seal is pk ‖ sig
 * (seal.c). accord_fork_verify hashes each side on from root and the
 * shared bodies (a chain hash resumes at a segment boundary: hashchain.h),
 * checks both seals against the same key, which must derive to the actor,
 * and that the two changes at s differ. Because both seals cover the root
 * and the shared bodies, the two histories share everything before s.
 * Version 1 started from the chain hash at s-1, which the segmented chain
 * cannot resume from; its records are refused (EVERSION).
 *
 * Records live in the document (doc->forks, at most ACCORD_MAX_FORKS and
 * ACCORD_MAX_FORK_BYTES, one per (actor, s); past the limits a fork is
 * still refused but not recorded), are saved with it (save.c) and, for
 * node documents, stored in the node store's "forks" database
 * (node_forks.c).
 */
#include <string.h>

#include "change.h"
#include "crypto.h"
#include "mem.h"
#include "mp.h"
#include "sync.h"

#define FORK_MAGIC "accord-fork"
#define FORK_VERSION 2

static const uint8_t zero32[32];

typedef struct side {
  uint64_t seal_seq;
  const uint8_t *seal, *bodies;
  size_t blen;
  const uint8_t *first; /* the body at s */
  size_t flen;
  uint8_t at_s[ACCORD_HASH_BYTES];
} side;

static int get_side(mp_reader *r, side *sd) {
  uint32_t three;
  size_t slen;
  if (mp_get_array(r, &three) || three != 3 ||
      mp_get_uint_max(r, UINT32_MAX, &sd->seal_seq) ||
      mp_get_bin(r, &sd->seal, &slen) || slen != SEAL_WIRE_BYTES ||
      mp_get_bin(r, &sd->bodies, &sd->blen))
    return ACCORD_EMALFORMED;
  return 0;
}

/* Hashes a side on from the shared part (h: the chain at s - 1) and
 * checks its seal. */
static int check_side(const accord_fork *f, uint64_t s, const hashchain *at,
                      side *sd) {
  if (sd->seal_seq < s) return ACCORD_EMALFORMED;
  hashchain h = *at;
  uint8_t end[ACCORD_HASH_BYTES];
  size_t off = 0;
  for (uint64_t q = s; q <= sd->seal_seq; q++) {
    size_t len = change_body_len(sd->bodies + off, sd->blen - off);
    if (!len) return ACCORD_EMALFORMED;
    hashchain_add(&h, sd->bodies + off, len);
    if (q == s) {
      sd->first = sd->bodies;
      sd->flen = len;
      hashchain_hash(&h, sd->at_s);
    }
    off += len;
  }
  if (off != sd->blen) return ACCORD_EMALFORMED;
  hashchain_hash(&h, end);
  uint8_t actor[ACCORD_ACTOR_BYTES];
  key_actor(sd->seal, actor);
  if (memcmp(actor, f->actor, sizeof actor)) return ACCORD_EKEY;
  if (!seal_check_ids(f->workspace, f->doc, f->actor, (uint32_t)sd->seal_seq,
                      end, sd->seal))
    return ACCORD_ESEAL;
  return 0;
}

int accord_fork_verify(const uint8_t *ev, size_t len, accord_fork *out) {
  if (!ev) return ACCORD_EINVAL;
  int rc = crypto_init();
  if (rc) return rc;
  accord_fork f;
  memset(&f, 0, sizeof f);
  mp_reader r;
  uint32_t n;
  uint64_t version;
  const char *magic;
  size_t mlen, l1, l2, l3, l4, slen;
  const uint8_t *ws, *doc, *actor, *root, *shared;
  mp_reader_init(&r, ev, len);
  if (mp_get_array(&r, &n) || mp_get_str(&r, &magic, &mlen) ||
      mlen != strlen(FORK_MAGIC) || memcmp(magic, FORK_MAGIC, mlen) ||
      mp_get_uint(&r, &version))
    return ACCORD_EMALFORMED;
  if (version != FORK_VERSION) return ACCORD_EVERSION;
  side ours, theirs;
  if (n != 10 || mp_get_bin(&r, &ws, &l1) || l1 != 16 ||
      mp_get_bin(&r, &doc, &l2) || l2 != ACCORD_DOC_ID_BYTES ||
      mp_get_bin(&r, &actor, &l3) || l3 != ACCORD_ACTOR_BYTES ||
      mp_get_uint_max(&r, UINT32_MAX, &f.seq) || f.seq == 0 ||
      mp_get_bin(&r, &root, &l4) || l4 != ACCORD_HASH_BYTES ||
      mp_get_bin(&r, &shared, &slen) || get_side(&r, &ours) ||
      get_side(&r, &theirs) || r.p != r.end)
    return ACCORD_EMALFORMED;
  uint32_t b = (uint32_t)(f.seq - 1 - (f.seq - 1) % HASHCHAIN_SEG);
  if (b == 0 && memcmp(root, zero32, sizeof zero32))
    return ACCORD_EMALFORMED; /* a chain starts from zeros */
  memcpy(f.workspace, ws, 16);
  memcpy(f.doc, doc, ACCORD_DOC_ID_BYTES);
  memcpy(f.actor, actor, ACCORD_ACTOR_BYTES);
  /* the shared bodies: exactly b+1..s-1 */
  hashchain at;
  hashchain_start(&at, f.doc, f.actor, b, root);
  size_t off = 0;
  while (at.seq + 1 < f.seq) {
    size_t bl = change_body_len(shared + off, slen - off);
    if (!bl) return ACCORD_EMALFORMED;
    hashchain_add(&at, shared + off, bl);
    off += bl;
  }
  if (off != slen) return ACCORD_EMALFORMED;
  if ((rc = check_side(&f, f.seq, &at, &ours)) ||
      (rc = check_side(&f, f.seq, &at, &theirs)))
    return rc;
  /* one key signed both: the same key, not merely the same actor */
  if (memcmp(ours.seal, theirs.seal, SIGN_PUBLIC_BYTES)) return ACCORD_EKEY;
  if (ours.flen == theirs.flen && !memcmp(ours.first, theirs.first, ours.flen))
    return ACCORD_EMALFORMED; /* the same change: no fork */
  if (out) {
    memcpy(f.public_key, ours.seal, SIGN_PUBLIC_BYTES);
    memcpy(f.kept, ours.at_s, ACCORD_HASH_BYTES);
    memcpy(f.refused, theirs.at_s, ACCORD_HASH_BYTES);
    f.evidence = ev;
    f.evidence_len = len;
    *out = f;
  }
  return 0;
}

int fork_build(const accord_doc *doc, uint32_t actor, uint32_t seq,
               const uint8_t *root, const uint8_t *shared, size_t slen,
               const uint8_t *ours, size_t olen, uint32_t oseal_seq,
               const uint8_t *oseal, const uint8_t *theirs, size_t tlen,
               uint32_t tseal_seq, const uint8_t *tseal, buf *out) {
  if (slen + olen + tlen > ACCORD_MAX_FORK_BYTES) return ACCORD_EFORK;
  buf b = {0};
  mp_put_array(&b, 10);
  mp_put_str(&b, FORK_MAGIC, strlen(FORK_MAGIC));
  mp_put_uint(&b, FORK_VERSION);
  mp_put_bin(&b, doc->ws, 16);
  mp_put_bin(&b, doc->id, ACCORD_DOC_ID_BYTES);
  mp_put_bin(&b, doc->actor[actor], ACCORD_ACTOR_BYTES);
  mp_put_uint(&b, seq);
  mp_put_bin(&b, root, ACCORD_HASH_BYTES);
  mp_put_bin(&b, shared, slen);
  mp_put_array(&b, 3);
  mp_put_uint(&b, oseal_seq);
  mp_put_bin(&b, oseal, SEAL_WIRE_BYTES);
  mp_put_bin(&b, ours, olen);
  mp_put_array(&b, 3);
  mp_put_uint(&b, tseal_seq);
  mp_put_bin(&b, tseal, SEAL_WIRE_BYTES);
  mp_put_bin(&b, theirs, tlen);
  if (b.err) {
    buf_free(&b);
    return ACCORD_ENOMEM;
  }
  int rc = accord_fork_verify(b.p, b.len, NULL);
  if (rc) {
    buf_free(&b);
    return rc == ACCORD_ENOMEM ? rc : ACCORD_EFORK;
  }
  *out = b;
  return 0;
}

/* ---- the document's records ---------------------------------------------- */

int fork_find(const accord_doc *doc, uint32_t actor, uint32_t seq) {
  for (uint32_t i = 0; i < doc->nforks; i++)
    if (doc->forks[i].actor == actor && doc->forks[i].seq == seq) return (int)i;
  return -1;
}

size_t fork_bytes(const accord_doc *doc) {
  size_t n = 0;
  for (uint32_t i = 0; i < doc->nforks; i++) n += doc->forks[i].len;
  return n;
}

int fork_reserve(accord_doc *doc, uint32_t n) {
  if (doc->nforks + n <= doc->capforks) return 0;
  uint32_t cap = doc->capforks ? doc->capforks : 4;
  while (cap < doc->nforks + n) cap *= 2;
  fork_ev *f = mem_realloc(doc->forks, cap * sizeof *f);
  if (!f) return ACCORD_ENOMEM;
  doc->forks = f;
  doc->capforks = cap;
  return 0;
}

void fork_push(accord_doc *doc, uint32_t actor, uint32_t seq, uint8_t *ev,
               size_t len) {
  fork_ev *f = &doc->forks[doc->nforks++];
  f->actor = actor;
  f->seq = seq;
  f->ev = ev;
  f->len = len;
}

int fork_add_bytes(accord_doc *doc, uint8_t *ev, size_t len) {
  accord_fork f;
  uint32_t a;
  int rc = accord_fork_verify(ev, len, &f);
  if (!rc && memcmp(f.doc, doc->id, ACCORD_DOC_ID_BYTES)) rc = ACCORD_EOTHERDOC;
  if (!rc) rc = doc_actor_index(doc, f.actor, &a);
  if (!rc && (fork_find(doc, a, (uint32_t)f.seq) >= 0 ||
              doc->nforks >= ACCORD_MAX_FORKS ||
              fork_bytes(doc) + len > ACCORD_MAX_FORK_BYTES)) {
    mem_free(ev); /* known already, or no room: the first ones are kept */
    return 0;
  }
  if (!rc) rc = fork_reserve(doc, 1);
  if (rc) {
    mem_free(ev);
    return rc;
  }
  fork_push(doc, a, (uint32_t)f.seq, ev, len);
  return 0;
}

void fork_truncate(accord_doc *doc, uint32_t n) {
  while (doc->nforks > n) mem_free(doc->forks[--doc->nforks].ev);
}

/* ---- public -------------------------------------------------------------- */

int fork_list(const fork_ev *ev, uint32_t n, accord_fork **out, size_t *nout) {
  size_t bytes = n * sizeof(accord_fork);
  for (uint32_t i = 0; i < n; i++) bytes += ev[i].len;
  accord_fork *f = mem_alloc(bytes ? bytes : 1);
  if (!f) return ACCORD_ENOMEM;
  uint8_t *p = (uint8_t *)(f + n);
  for (uint32_t i = 0; i < n; i++) {
    memcpy(p, ev[i].ev, ev[i].len);
    int rc = accord_fork_verify(p, ev[i].len, &f[i]);
    if (rc) { /* records are checked when they enter: cannot happen */
      mem_free(f);
      return rc;
    }
    p += ev[i].len;
  }
  *out = f;
  *nout = n;
  return 0;
}

int accord_doc_forks(const accord_doc *doc, accord_fork **out, size_t *n) {
  if (!out || !n) return ACCORD_EINVAL;
  *out = NULL;
  *n = 0;
  if (!doc) return ACCORD_EINVAL;
  return fork_list(doc->forks, doc->nforks, out, n);
}
