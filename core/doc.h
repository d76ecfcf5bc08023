/*
 * doc.h — the document: actors, objects, operations, history, transactions.
 *
 * A document is two things kept in step:
 *   - its history (oplog.c): per actor, the hash chain of encoded changes;
 *   - its state (struct state): the objects those changes build, with the
 *     Lamport clock. The state is a pure function of the history, so any
 *     failure half way through changing it is repaired by rebuilding it from
 *     the history (doc_rebuild), and a transaction abort is the same rebuild.
 *
 * Actor index 0 is always the local actor. Indexes are local to this
 * replica; rank[] gives every index its place in the order of actor ids.
 */
#ifndef ACCORD_DOC_H
#define ACCORD_DOC_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "hashchain.h"
#include "seq.h"
#include "types.h"

#define ACCORD_MAX_KEY 65536
#define ACCORD_MAX_MESSAGE 65536
/* Distinct authors per document: far beyond any team's devices, and small
 * enough that the actor table's linear scans stay cheap on hostile input. */
#define ACCORD_MAX_ACTORS 4096
#define ACCORD_MAX_PENDING_BYTES ((size_t)256 << 20)

/* ---- maps ---------------------------------------------------------------- */

/* One value of a multi-value register and the op that set it. */
typedef struct mreg {
  opid op;
  val v;
} mreg;

/* A key and its current values, winner (highest op id) first. n == 0 means
 * deleted; the entry stays so that later sets find their place. */
typedef struct mentry {
  char *key; /* NUL-terminated */
  uint32_t klen;
  uint32_t n, cap;
  mreg *regs;
} mentry;

typedef struct kvmap {
  mentry *e; /* sorted by key bytes */
  uint32_t n, cap;
  uint32_t live; /* entries with at least one value */
} kvmap;

/* ---- objects ------------------------------------------------------------- */

/* Objects nest at most this deep: every walk of the tree may recurse. */
#define ACCORD_MAX_DEPTH 256

typedef struct object {
  opid id;
  uint8_t type; /* ACCORD_MAP, ACCORD_LIST, ACCORD_TEXT */
  uint16_t depth; /* the root is 0 */
  union {
    kvmap m;
    sequence s;
  } u;
} object;

typedef struct objtab {
  object **slot; /* open addressing by opid_key */
  uint32_t cap, n;
} objtab;

/* The state the history builds. */
typedef struct docstate {
  objtab objs;
  uint32_t max_op; /* highest counter seen */
  /* doc_obj's last answer: the object named by public id last_id. Objects
   * live as long as their state, and a new state (state_init) starts with
   * none, so it never names a freed object. Every call of an edit names
   * its object, and typing names the same one each time. */
  accord_id last_id;
  object *last_obj;
} docstate;

/* ---- operations ---------------------------------------------------------- */

typedef enum op_kind {
  OP_SET = 0, /* obj key pred value */
  OP_DEL = 1, /* obj key pred */
  OP_INS = 2, /* obj left right content: n elements, ids id..id+n-1 */
  OP_RMV = 3, /* obj target count: delete a contiguous id range */
  OP_INC = 4, /* obj key|- target delta: add to the counter set by target */
  OP_KINDS
} op_kind;

typedef struct oper {
  uint8_t kind;
  opid id; /* its first counter */
  opid obj;
  const char *key; /* borrowed; NULL for list counters */
  uint32_t klen;
  const opid *pred;
  uint32_t npred;
  val v; /* SET; strings borrowed */
  opid left, right;
  uint32_t n;              /* INS elements */
  const seq_cur *at;       /* INS made here: where it goes (no scan) */
  const uint8_t *content;  /* INS text: UTF-8 of n code points */
  uint32_t nbytes;
  const val *vals;         /* INS list: n values, strings borrowed */
  opid target;             /* RMV, INC */
  uint32_t count;          /* RMV */
  int64_t delta;           /* INC */
} oper;

static inline uint32_t op_span(const oper *o) {
  return o->kind == OP_INS ? o->n : 1;
}

/* ---- history ------------------------------------------------------------- */

/* A seal (DESIGN §4, seal.c): the author's Ed25519 signature over its
 * chain's hash at seq. seq == 0: none. On the wire and in pending it is the
 * 96 bytes pk ‖ sig (SEAL_WIRE_BYTES). */
#define SEAL_WIRE_BYTES 96
typedef struct chain_seal {
  uint32_t seq;
  uint8_t pk[32];
  uint8_t sig[64];
} chain_seal;

/* A pack.h frame of consecutive changes of one chain: it holds the
 * changes after the previous frame's last (or from 1) up to last. */
typedef struct chain_frame {
  uint32_t last;
  uint32_t len;
  uint8_t *p; /* exactly len bytes */
} chain_frame;

/* One actor's hash chain in this document: a list of packed frames
 * (fr[0..nfr), oldest first, pack.h: compressed columns) of the changes
 * 1..base, then an unpacked tail: change k > base is the body bytes
 * [off[k-base-1], off[k-base]) of bytes (bytes before off[0] are dead). Loading and saving leave a chain
 * as one frame (base == n), which keeps history that nothing reads small;
 * new changes append to the tail, and cold ones move from the tail into
 * new frames as the user types (oplog_bg.c, on the document's worker
 * thread). Readers of old changes unpack one frame at a time (chain_rd);
 * chain_index unpacks everything (base becomes 0) for the few that need
 * every body in one piece. A document loaded from format 4 gets its
 * bodies in one piece and off == NULL: chain_index finds the boundaries.
 * Invariants: fr[i].last ascend; base == fr[nfr-1].last (0 if nfr == 0);
 * base <= n. gen changes whenever frames are removed or replaced, or
 * changes cut (chain_truncate), so a reader's cached frame and a packing
 * job made before then are known stale. */
typedef struct chain {
  uint32_t n;       /* changes: the head sequence */
  uint32_t *off;    /* n - base + 1 offsets, or NULL until needed */
  uint32_t cap, skip; /* room from off; entries dropped before it (oplog.c) */
  buf bytes;
  uint32_t base;    /* changes held in frames */
  chain_frame *fr;
  uint32_t nfr, capfr;
  uint32_t gen;
  uint32_t end_op;  /* first counter after the head change */
  int64_t time;     /* head change's time */
  hashchain_pos hp; /* the chain hash at some hp.seq <= n, and its root */
  uint32_t *tab;    /* the head change's actor table (change.h); it only */
  uint32_t ntab, captab; /* ever grows, so a prefix is an older table */
  /* The latest seal known to be good for this chain: made here (the local
   * actor's) or received, verified and reached by the chain (seal.seq <=
   * n). Forwarded with the changes it covers. */
  chain_seal seal;
  /* Checkpoints (seal.c, seal_adopt): earlier verified seals of another
   * author's chain, kept so that a relay can cut the chain where the
   * author sealed it (node_net.c). Invariants: cps[0..ncps) ascend by
   * seq, every seq < seal.seq (and <= n); only seals that verified (or
   * were stored after verifying) enter; consecutive kept seals are at
   * most seal_checkpoint_bytes of bodies apart unless one run of the
   * author's alone is larger, so ncps stays below 2 * bodies / that
   * spacing + 1. gap is the body bytes from the last checkpoint (or the
   * chain's start) to seal.seq when gap_seq == seal.seq, else unknown. */
  chain_seal *cps;
  uint32_t ncps, capcps;
  uint32_t gap_seq;
  uint64_t gap;
} chain;

/* Reading old changes without unpacking the chain: a reader holds at most
 * one frame of one chain unpacked, as long as the chain keeps its frames
 * (gen); zero-initialised, freed with chain_rd_free. A reader is one
 * operation's scratch: it holds the frame's bodies until freed. */
typedef struct chain_rd {
  const chain *c; /* the chain whose frame fi it holds, NULL: none */
  const uint8_t *fp; /* that frame's bytes (c->fr[fi].p) */
  uint32_t gen, fi;
  uint32_t from; /* the seq before the frame's first change */
  buf bytes;     /* the frame's bodies */
  uint32_t *off; /* their boundaries */
  uint32_t capoff;
} chain_rd;
/* A change that arrived before its dependencies. */
typedef struct pend {
  uint32_t actor, seq;
  uint8_t *body;
  size_t len;
  uint8_t *seal; /* NULL, or SEAL_WIRE_BYTES (owned): the seal that came
                    with this change, the last of its batch chain */
} pend;

/* Evidence that an author signed two different chains (fork.c). */
typedef struct fork_ev {
  uint32_t actor, seq;
  uint8_t *ev; /* owned: the bytes fork_check verifies */
  size_t len;
} fork_ev;

/* ---- the document -------------------------------------------------------- */

struct accord_txn {
  accord_doc *doc;
  buf ops;           /* encoded ops */
  uint32_t nops;
  uint32_t start_op; /* first counter of this change */
  int64_t time;
  int time_set;
  char *msg;
  uint32_t msglen;
  /* change-local actor table in first-reference order (doc indexes); ref 0
   * is the author. aref maps doc index -> ref + 1 (0: not yet used). */
  uint32_t *actors, nactors, capactors;
  uint32_t ninherit; /* entries taken from the previous change's table */
  uint32_t *aref, caparef;
  /* deps: (actor index, seq), sorted by actor id */
  uint32_t *deps, ndeps;
};

struct accord_doc {
  uint8_t id[ACCORD_DOC_ID_BYTES];
  uint8_t (*actor)[ACCORD_ACTOR_BYTES];
  uint32_t *rank;
  uint32_t *order; /* the inverse of rank: indexes in actor id order */
  chain *chains; /* parallel to actor[] */
  uint32_t nactors, capactors;
  uint32_t *seen; /* per actor: seq known at the last local commit */
  docstate st;
  pend *pending;
  uint32_t npending, cappending;
  size_t pending_bytes;
  struct accord_txn txn;
  int txn_open;
  int txn_err;   /* an op of the open transaction failed half way */
  void *dec;     /* decoder scratch (change.h), created on first use */
  int poisoned; /* 0, or the error that left the state unrepairable */
  /* seals (seal.c): the signer's key (sk is libsodium's seed ‖ pk, wiped
   * on free), the workspace the seals name (zeros: none), and whether
   * imports require seals */
  int has_signer;
  uint8_t sk[64];
  uint8_t ws[16];
  int verify;
  /* Membership (members.c): with verification on, import calls keycheck
   * for every sealed batch chain after the seal's key was matched to the
   * chain's actor: first..last are the seqs the chain carries. Non-zero
   * (ENOTMEMBER) fails the whole import. NULL: every key is accepted. */
  int (*keycheck)(void *ud, accord_doc *doc, const uint8_t *actor,
                  const uint8_t *pk, uint32_t first, uint32_t last);
  void *keycheck_ud;
  fork_ev *forks; /* evidence of forks, in the order found (fork.c) */
  uint32_t nforks, capforks;
  struct bg_pool *bg; /* worker thread for seal checks (sync_bg.c), or NULL */
  chain_rd rd; /* the import's reader of old changes, emptied after it */
  /* packing cold changes on the worker (oplog_bg.c): its job, or NULL
   * until the first; pk_busy: a job is in flight; pk_done: the worker
   * finished it (the only field of the document the worker writes) */
  struct pack_job *pk;
  int pk_busy;
  _Atomic int pk_done;
  /* no job starts before pk_after (monotonic ns; 0: not set yet) unless
   * settling; commits look again once the local chain reaches pk_next */
  int64_t pk_after;
  uint32_t pk_next;
};

/* actors.c */
int doc_actor_index(accord_doc *doc, const uint8_t *id, uint32_t *out);
int doc_actor_find(const accord_doc *doc, const uint8_t *id, uint32_t *out);
/* Forgets the actors from index n on (their chains must be empty: a mark
 * restored them to nothing), so that a refused import leaves no trace of
 * the authors it named. */
void doc_actors_truncate(accord_doc *doc, uint32_t n);

/* state.c */
int state_init(docstate *st);
void state_free(docstate *st);
object *state_obj(const docstate *st, opid id);
/* Creates an object inside parent (NULL for the root). Errors: EMALFORMED
 * (the id exists), ETOOBIG (too deep), ENOMEM. */
int state_new_obj(docstate *st, const object *parent, opid id, uint8_t type);
size_t state_mem(const docstate *st);
/* 1 if op a wins over op b (higher (counter, actor id)). */
static inline int op_newer(const accord_doc *d, opid a, opid b) {
  if (a.ctr != b.ctr) return a.ctr > b.ctr;
  return d->rank[a.actor] > d->rank[b.actor];
}
/* Applies one op to the state. Errors: EMALFORMED (the op does not fit the
 * state: unknown object, wrong type, unknown element), ENOMEM. */
int state_apply(accord_doc *doc, docstate *st, const oper *o);
/* v as a public value (strings borrowed; objects named by op). read.c */
void val_public(const accord_doc *doc, const val *v, opid op,
                accord_value *out);
/* Copies v (strings duplicated) into dst. */
int val_copy(val *dst, const val *v);

/* map.c */
mentry *map_find(const kvmap *m, const char *key, size_t klen);
int map_apply(accord_doc *doc, docstate *st, object *o, const oper *op);
int map_increment(kvmap *m, const char *key, size_t klen, opid target,
                  int64_t delta);
void map_free(kvmap *m);
size_t map_mem(const kvmap *m);
/* The i-th live entry in key order. */
mentry *map_live_entry(const kvmap *m, size_t i);

/* history.c */
struct dchange;
/* Visits every change in a causal order (each after its author's previous
 * change and its deps). A non-zero return from visit stops the walk. */
typedef int (*doc_visit_fn)(void *ctx, accord_doc *doc, uint32_t actor,
                            uint32_t seq, const struct dchange *ch,
                            const uint8_t *body, size_t len);
int doc_walk(accord_doc *doc, doc_visit_fn visit, void *ctx);

/* oplog.c */
int chain_append_slow(chain *c, const uint8_t *body, size_t len,
                      uint32_t end_op, int64_t time);
/* Appends change n+1. Errors: ENOMEM, ETOOBIG (the chain as it was). The
 * common case inline: room for the offset and the bytes (an import
 * reserves a run's room at once, chain_reserve), a keystroke's body copied
 * as two words; anything else goes to oplog.c. */
static inline int chain_append(chain *c, const uint8_t *body, size_t len,
                               uint32_t end_op, int64_t time) {
  buf *b = &c->bytes;
  if (!c->off || c->n - c->base + 2 > c->cap || len == 0 ||
      b->cap - b->len < len || b->len + len > UINT32_MAX)
    return chain_append_slow(c, body, len, end_op, time);
  if (len >= 8 && len <= 16) {
    uint64_t lo, hi;
    memcpy(&lo, body, 8);
    memcpy(&hi, body + len - 8, 8);
    memcpy(b->p + b->len, &lo, 8);
    memcpy(b->p + b->len + len - 8, &hi, 8);
  } else {
    memcpy(b->p + b->len, body, len);
  }
  b->len += len;
  c->n++;
  c->off[c->n - c->base] = (uint32_t)b->len;
  c->end_op = end_op;
  c->time = time;
  return 0;
}
/* Appending in place: chain_prepare makes room for one more change's
 * offset; the caller writes the body to c->bytes; chain_push (which cannot
 * fail) makes those bytes change n+1. */
int chain_prepare(chain *c);
void chain_push(chain *c, uint32_t end_op, int64_t time);
/* Room for k more changes of bytes bytes in all, so that appending them
 * grows nothing (a batch's run of a chain, sized before it is applied).
 * Only capacity: the chain's contents do not change, on failure either.
 * Errors: ENOMEM, ETOOBIG, chain_prepare's. */
int chain_reserve(chain *c, uint32_t k, size_t bytes);
/* Makes tab[0..n) the chain's actor table (n >= its current size); cannot
 * fail after chain_tab_reserve(c, n). */
int chain_tab_reserve(chain *c, uint32_t n);
int chain_set_tab(chain *c, const uint32_t *tab, uint32_t n);
/* Cuts the chain back to the head h had (n, end_op, time, ntab). */
void chain_truncate(chain *c, const chain *h);
void chain_free(chain *c);
/* Body of change seq > c->base (after chain_index: any seq), of a chain
 * whose tail is indexed (c->off set). */
static inline const uint8_t *chain_body(const chain *c, uint32_t seq,
                                        size_t *len) {
  seq -= c->base;
  *len = c->off[seq] - c->off[seq - 1];
  return c->bytes.p + c->off[seq - 1];
}
/* Makes every body readable: unpacks every frame and finds the change
 * boundaries of a loaded chain. Errors: EMALFORMED (the bodies do not
 * parse, or do not fill the bytes), ETOOBIG, ENOMEM. */
int chain_index(chain *c);
/* Makes changes from+1..n readable with chain_body: only the tail's
 * boundaries when from >= base, else chain_index. Errors: chain_index's. */
int chain_index_from(chain *c, uint32_t from);
/* Packs every change of the chain into one frame (pack.h), dropping the
 * bodies and any other frames: the opposite of chain_index. A chain whose
 * packed form would not be smaller than its bodies stays as it is
 * (indexed, base == 0). Errors: those of chain_index, ENOMEM. */
struct pack_z;
int chain_pack(chain *c, struct pack_z *z);
/* Moves the tail's changes up to last (base < last <= n) into a new frame
 * p[0..len) (taken on success) holding exactly them, which the caller made
 * from the same bodies. The tail must be indexed. Errors: EINVAL, ENOMEM
 * (nothing changed). */
int chain_add_frame(chain *c, uint8_t *p, size_t len, uint32_t last);

void chain_rd_free(chain_rd *r);
/* Changes from+1..*upto (from < to <= c->n; from < *upto <= to) lie back to
 * back: change s is p[off[s-from-1], off[s-from]). Valid until the chain
 * or r changes. Unpacks at most one frame into r. Errors: EINVAL (bad
 * range), EMALFORMED, ETOOBIG, ENOMEM. */
int chain_span(chain *c, chain_rd *r, uint32_t from, uint32_t to,
               const uint8_t **p, const uint32_t **off, uint32_t *upto);
/* Change seq (1..n), as chain_span. */
int chain_get(chain *c, chain_rd *r, uint32_t seq, const uint8_t **body,
              size_t *len);
/* *out = bytes of the bodies from+1..to (from <= to <= n). Errors:
 * chain_span's. */
int chain_bytes(chain *c, chain_rd *r, uint32_t from, uint32_t to,
                uint64_t *out);
/* Appends the bodies from+1..to to out. Errors: chain_span's, out's. */
int chain_copy(chain *c, chain_rd *r, uint32_t from, uint32_t to, buf *out);
int doc_index_chains(accord_doc *doc);
/* Brings the chain's hash (hp) up to its head. */
int chain_hash(const accord_doc *doc, uint32_t actor);
/* Absorbs changes h->seq+1..to of actor's chain into h, reading old ones
 * through r. Errors: chain_span's (h is then part way). */
int chain_hash_range(const accord_doc *doc, uint32_t actor, chain_rd *r,
                     hashchain *h, uint32_t to);
/* Starts h at seq at (<= n) of actor's chain: from the chain's cached
 * position (hp) when its segment starts at or before at, else from seq 0;
 * hp moves to at when that is further. Errors: chain_hash_range's. */
int chain_hasher(const accord_doc *doc, uint32_t actor, chain_rd *r,
                 uint32_t at, hashchain *h);
size_t oplog_mem(const accord_doc *doc);

/* seal.c */
/* Brings the local actor's seal up to its chain head (signs only when the
 * head moved since the last seal). No-op without a signer. */
int seal_own(accord_doc *doc);
/* Signs the local actor's chain at seq (1..n) without touching chain.seal:
 * the seal a batch cut at seq carries (node_net.c). Errors: chain_hasher's,
 * EINVAL (no signer, bad seq). */
int seal_at(const accord_doc *doc, chain_rd *r, uint32_t seq, chain_seal *out);
/* Spacing of checkpoints in body bytes (4 MiB; tests lower it). */
#define SEAL_CHECKPOINT_BYTES ((uint64_t)4 << 20)
extern uint64_t seal_checkpoint_bytes;
/* Makes the verified seal pk_sig at seq (> seal.seq, <= n) actor's latest
 * (chain.seal); the seal it replaces stays as a checkpoint when the bodies
 * since the last checkpoint pass seal_checkpoint_bytes (read through r when
 * not known). On failure nothing changed. Errors: ENOMEM, chain_span's. */
int seal_adopt(accord_doc *doc, uint32_t actor, chain_rd *r, uint32_t seq,
               const uint8_t *pk_sig);
/* Appends a checkpoint (seq above the last one, below seal.seq when the
 * chain has one, <= n): loaders (save.c, node_load.c). 0 when s is out of
 * order (ignored), ENOMEM. */
int seal_cp_push(chain *c, uint32_t seq, const uint8_t *pk_sig);
/* 1 if pk/sig is a valid seal of actor's chain at seq with chain hash h. */
int seal_check(const accord_doc *doc, uint32_t actor, uint32_t seq,
               const uint8_t *hash, const uint8_t *pk_sig);
/* The same for a document named by its ids (fork evidence, fork.c). */
int seal_check_ids(const uint8_t *ws, const uint8_t *doc_id,
                   const uint8_t *actor, uint32_t seq, const uint8_t *hash,
                   const uint8_t *pk_sig);

/* fork.c: evidence that an author signed two different chains (DESIGN §4,
 * "keep the first, record the evidence"). One record per (actor, seq where
 * the chains part); ev is the self-contained encoding fork_check verifies. */
#define ACCORD_MAX_FORKS 256
/* ... and at most this many bytes of them (a forking member must not be
 * able to grow our memory without bound). */
#define ACCORD_MAX_FORK_BYTES ((size_t)64 << 20)
/* Builds the evidence for actor's chain parting at seq from ours: root is
 * the chain's root at b = (seq-1) - (seq-1) % HASHCHAIN_SEG, shared the
 * bodies b+1..seq-1 both hold, ours/theirs the bodies from seq to their
 * seals (seal_seq, pk ‖ sig); bodies lie back to back. The result is
 * checked (accord_fork_verify): EFORK when it does not prove a fork (a
 * seal that does not check, keys that differ), ENOMEM. */
int fork_build(const accord_doc *doc, uint32_t actor, uint32_t seq,
               const uint8_t *root, const uint8_t *shared, size_t slen,
               const uint8_t *ours, size_t olen, uint32_t oseal_seq,
               const uint8_t *oseal, const uint8_t *theirs, size_t tlen,
               uint32_t tseal_seq, const uint8_t *tseal, buf *out);
/* The index of the record for (actor, seq), or -1. */
int fork_find(const accord_doc *doc, uint32_t actor, uint32_t seq);
/* Makes room for n more records. */
int fork_reserve(accord_doc *doc, uint32_t n);
/* Appends a record (room reserved: cannot fail); takes ev. */
void fork_push(accord_doc *doc, uint32_t actor, uint32_t seq, uint8_t *ev,
               size_t len);
/* Bytes held by the document's records. */
size_t fork_bytes(const accord_doc *doc);
/* Adds a record from its bytes (checked; a duplicate, or one past the
 * limits, is freed and ignored). Takes ev. Errors: EMALFORMED, EOTHERDOC, ESEAL, EKEY, ENOMEM. */
int fork_add_bytes(accord_doc *doc, uint8_t *ev, size_t len);
/* Drops the records past the first n. */
void fork_truncate(accord_doc *doc, uint32_t n);
/* Records ev[0..n) as one accord_free-able list (accord_doc_forks). */
int fork_list(const fork_ev *ev, uint32_t n, accord_fork **out, size_t *nout);

/* doc.c */
int doc_rebuild(accord_doc *doc);

/* save.c: accord_doc_save, where pack == 0 leaves the chains as they are
 * (packed ones are written packed, the rest as plain bodies) and
 * compresses the snapshot at a fast level: for the node store's
 * snapshots, refreshed during housekeeping, which must cost about a copy
 * (packing automerge-paper's history takes ~0.3 s). */
int doc_save(accord_doc *doc, int pack, uint8_t **out, size_t *len);

/* A mark remembers a document's history (chain heads, pending changes and
 * what the local actor has seen)
 * so that everything after it can be undone: the store takes one before an
 * in-memory commit or import and restores it when the disk write fails. */
typedef struct doc_mark {
  uint32_t nactors;
  chain *heads; /* n, end_op, time of each chain */
  pend *pending; /* owned copies */
  uint32_t npending;
  size_t pending_bytes;
  uint32_t *seen; /* what the next local change lists as deps */
  int touched; /* set by the holder when ops reached the state */
  uint32_t nforks; /* fork records */
  int borrowed; /* heads and seen are the taker's scratch (doc_mark_take_in) */
} doc_mark;
int doc_mark_take(const accord_doc *doc, doc_mark *m);
/* The same, keeping heads and seen in the caller's arrays (cap entries
 * each, alive until the mark is freed or restored) when the actors fit,
 * and allocating pending only when changes wait: every import takes a
 * mark, and most imports are one change (three allocations and frees were
 * ~800 instructions of each, callgrind). Errors: ENOMEM. */
int doc_mark_take_in(const accord_doc *doc, doc_mark *m, chain *heads,
                     uint32_t *seen, uint32_t cap);
/* Puts the document back as it was at the mark and frees the mark. The
 * state is rebuilt if any chain moved or the mark was touched; errors are
 * those of the rebuild. */
int doc_mark_restore(accord_doc *doc, doc_mark *m);
void doc_mark_free(doc_mark *m);
/* Public ids <-> op ids. Errors: ENOTFOUND (unknown actor). */
int doc_opid(const accord_doc *doc, accord_id id, opid *out);
accord_id doc_public_id(const accord_doc *doc, opid id);
/* The object named by id, of one of the types in mask (bit per type).
 * Errors: ENOTFOUND, ETYPE. The state's last answer is checked inline:
 * every edit names its object, typing the same one each time. */
int doc_obj_find(const accord_doc *doc, accord_id id, unsigned mask,
                 object **out);
#define TYPE_BIT(t) (1u << (t))
static inline int doc_obj(const accord_doc *doc, accord_id id, unsigned mask,
                          object **out) {
  if (doc && !doc->poisoned) {
    object *x = doc->st.last_obj;
    if (x && (mask & TYPE_BIT(x->type)) &&
        id.counter == doc->st.last_id.counter &&
        memcmp(id.actor, doc->st.last_id.actor, ACCORD_ACTOR_BYTES) == 0) {
      *out = x;
      return 0;
    }
  }
  return doc_obj_find(doc, id, mask, out);
}
int64_t doc_now_ms(void);
/* Poisons the document after an unrepairable failure. */
int doc_fail(accord_doc *doc, int rc);

#endif
