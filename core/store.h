/*
 * store.h — the node store: accord's data in one LMDB environment
 * (DESIGN §5), as seen by the rest of the engine. LMDB itself stays behind
 * this header: only core/store*.c include lmdb.h, and no MDB_* code leaves
 * them (they become ACCORD_E* codes with a sentence in store_errmsg()).
 *
 * Work happens in transactions: store_read / store_write run a callback
 * inside one LMDB transaction. A write callback may run more than once
 * (when the map is full the transaction is aborted, the map grown and the
 * callback run again), so it must only read its context and write through
 * the store_* calls below — never change anything else.
 *
 * Key layout, big-endian so that prefix scans come out ordered:
 *   workspaces  ws                          -> ws record
 *   docs        ws·doc                      -> doc record
 *   heads       ws·doc·actor                -> seq(4) ‖ hash(32) ‖ root(32)
 *   changes     ws·doc·actor·last_seq(4)    -> change record (one change or
 *                                              a run of consecutive ones)
 *   pending     ws·doc·actor·seq(4)         -> change body
 *   snapshots   ws·doc·part(4)              -> snapshot record, in parts
 *   forks       ws·doc·actor·seq(4)         -> fork evidence (store_forks.c;
 *                                              schema 2)
 *   seals, peers                            (created, filled by later parts)
 * ws 16 bytes, doc 16, actor 8. Record formats: store_docs.c and
 * store_changes.c.
 */
#ifndef ACCORD_STORE_H
#define ACCORD_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "accord.h"
#include "buf.h"
#include "hashchain.h"

/* The schema this code writes and the only one it opens. Schema 3 stores
 * the segmented chain (hashchain.h): heads and snapshot vectors carry the
 * segment root, records the new hashes. Stores of schemas 0-2 hold the
 * old per-change chain hashes, which seals sign, so they cannot be
 * migrated (another author's seal cannot be re-made): opening one fails
 * with ESCHEMA saying so. Schema 4 adds checkpoint records to the seals
 * database (store_seal_cp_put), which schema 3 readers would take for
 * corruption; a schema 3 store is a schema 4 store without checkpoints,
 * so opening it only raises its number (in the opening transaction). */
#define STORE_SCHEMA 4
#define STORE_SCHEMA_NO_CPS 3

typedef struct store store;
typedef struct store_txn store_txn;

typedef struct store_opts {
  int batched;            /* ACCORD_BATCHED */
  uint32_t batch_commits; /* > 0 */
  uint32_t batch_ms;      /* > 0 */
  uint64_t map_size;      /* > 0 */
  uint64_t map_max;       /* >= map_size */
  int raw;                /* test hooks: no creation, any schema */
} store_opts;

/* Opens the LMDB environment in dir (which exists), creating an empty
 * accord schema when the environment is new. *fresh says whether it was
 * created now. Errors: ENOTSTORE, ESCHEMA (another schema than
 * STORE_SCHEMA, older or newer),
 * EFULL, ESTORE, ENOMEM, with a sentence in err. */
int store_open(const char *dir, const store_opts *o, store **out, int *fresh,
               char *err, size_t errlen);
/* Syncs (batched mode) and closes. NULL is a no-op. */
void store_close(store *s);

/* The last error's sentence ("" if none); store_clear_err forgets it. */
const char *store_errmsg(const store *s);
void store_clear_err(store *s);
/* Records a sentence for rc and returns rc. */
int store_fail(store *s, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

typedef int (*store_fn)(store_txn *t, void *ctx);
/* Runs fn in a write transaction and commits it, growing the map and
 * running fn again when it is full. fn returns 0 to commit, or an error
 * (returned, nothing written). On success *txn_id (may be NULL) gets the
 * committed transaction's id: the value store_counter() then shows unless
 * another process wrote since. */
int store_write(store *s, store_fn fn, void *ctx, uint64_t *txn_id);
/* Runs fn in a read-only snapshot. */
int store_read(store *s, store_fn fn, void *ctx);
/* The store of a transaction. */
store *store_of(store_txn *t);

/* LMDB's last committed transaction id: every write by any process
 * increases it. No I/O, no lock. */
uint64_t store_counter(store *s);
/* fsyncs what batched mode has not yet. Errors: ESTORE. */
int store_sync(store *s);

/* Size of the environment's data file in use ((last page + 1) * page
 * size), the map size, and the page size. For benchmarks and tests. */
void store_space(store *s, uint64_t *used, uint64_t *map, uint32_t *page);

/* ---- meta ---------------------------------------------------------------- */

/* Errors: ENOTFOUND. *v is borrowed until the transaction ends. */
int store_meta_get(store_txn *t, const char *key, const uint8_t **v,
                   size_t *len);
int store_meta_put(store_txn *t, const char *key, const void *v, size_t len);

/* ---- workspaces (store_docs.c) ------------------------------------------- */

/* A genesis record names a workspace forever: its id is the first 16 bytes
 * of BLAKE2b-256(genesis). Layout: version 1 (1 byte) ‖ founder public key
 * (32) ‖ created ms (8, big-endian) ‖ nonce (16) ‖ name (UTF-8, the rest). */
#define GENESIS_MIN (1 + 32 + 8 + 16)
typedef struct store_ws {
  uint8_t id[ACCORD_WS_ID_BYTES];
  const uint8_t *genesis; /* borrowed */
  size_t genesis_len;
  const uint8_t *key; /* the 32-byte workspace key, borrowed */
} store_ws;

int store_ws_put(store_txn *t, const store_ws *ws);
/* Errors: ENOTFOUND. */
int store_ws_get(store_txn *t, const uint8_t *id, store_ws *out);
typedef int (*store_ws_fn)(void *ctx, const store_ws *ws);
int store_ws_each(store_txn *t, store_ws_fn fn, void *ctx);

/* ---- documents (store_docs.c) -------------------------------------------- */

#define STORE_TYPE_MAX 64
typedef struct store_doc {
  uint8_t ws[ACCORD_WS_ID_BYTES];
  uint8_t id[ACCORD_DOC_ID_BYTES];
  uint8_t creator[ACCORD_ACTOR_BYTES];
  int64_t created;
  const char *type; /* borrowed, not NUL-terminated */
  size_t type_len;
} store_doc;

int store_doc_put(store_txn *t, const store_doc *d);
/* Errors: ENOTFOUND. */
int store_doc_get(store_txn *t, const uint8_t *ws, const uint8_t *doc,
                  store_doc *out);
typedef int (*store_doc_fn)(void *ctx, const store_doc *d);
/* Every document of ws (NULL: of every workspace), in key order. */
int store_doc_each(store_txn *t, const uint8_t *ws, store_doc_fn fn,
                   void *ctx);

/* ---- heads (store_docs.c) ------------------------------------------------ */

/* Where a stored chain ends: seq, the chain hash there, and the root of
 * seq's segment, R(seq - seq % HASHCHAIN_SEG), which hashing resumes from
 * (hashchain.h). Read back, a head is checked for what can be checked
 * without its changes: a root of zeros below the first boundary, and
 * hash == root at a boundary (ECORRUPT otherwise). */
typedef struct store_head {
  uint8_t actor[ACCORD_ACTOR_BYTES];
  uint32_t seq;
  uint8_t hash[ACCORD_HASH_BYTES];
  uint8_t root[ACCORD_HASH_BYTES];
} store_head;
/* The head as a chain position, and back. */
void store_head_pos(const store_head *h, hashchain_pos *p);
void store_head_set(store_head *h, const hashchain_pos *p);
/* 1 if (seq, hash, root) can be a chain position (see store_head). */
int store_pos_plausible(uint32_t seq, const uint8_t *hash, const uint8_t *root);

/* A growable array of heads (also used for version vectors). */
typedef struct store_heads {
  store_head *h;
  uint32_t n, cap;
} store_heads;
void store_heads_free(store_heads *hs);
int store_heads_push(store_heads *hs, const store_head *h);
/* The entry for actor, or NULL. */
store_head *store_heads_find(const store_heads *hs, const uint8_t *actor);

/* Every head of a document, in actor order (hs is reset first). Errors:
 * ECORRUPT (a head of the wrong length or implausible, naming it). */
int store_heads_get(store_txn *t, const uint8_t *ws, const uint8_t *doc,
                    store_heads *hs);
/* Errors: ENOTFOUND. */
int store_head_get(store_txn *t, const uint8_t *ws, const uint8_t *doc,
                   const uint8_t *actor, store_head *out);
int store_head_put(store_txn *t, const uint8_t *ws, const uint8_t *doc,
                   const store_head *h);

/* ---- seals (store_docs.c) ------------------------------------------------ */

/* The latest verified seal of each chain (DESIGN §4), so that a node can
 * forward other authors' changes after a restart: key ws · doc · actor
 * (one seal covers the whole chain up to its seq, so older ones are
 * replaced), value seq (4, big-endian) ‖ public key (32) ‖ signature (64).
 * Beside it, the chain's checkpoints (earlier verified seals kept so that
 * a relay can cut the chain where its author sealed it, seal.c): key
 * ws · doc · actor · seq, value public key ‖ signature (96); they sort
 * after the latest seal's record of the same actor, by seq. */
int store_seal_put(store_txn *t, const uint8_t *ws, const uint8_t *doc,
                   const uint8_t *actor, uint32_t seq, const uint8_t *pk_sig);
int store_seal_cp_put(store_txn *t, const uint8_t *ws, const uint8_t *doc,
                      const uint8_t *actor, uint32_t seq,
                      const uint8_t *pk_sig);
/* The stored latest seal's seq of a chain (0: none). Errors: ESTORE,
 * ECORRUPT. */
int store_seal_seq(store_txn *t, const uint8_t *ws, const uint8_t *doc,
                   const uint8_t *actor, uint32_t *seq);
/* Every seal record of doc in key order: per actor, the latest seal
 * (checkpoint 0), then its checkpoints (checkpoint 1) by seq. */
typedef int (*store_seal_fn)(void *ctx, const uint8_t *actor, uint32_t seq,
                             const uint8_t *pk_sig, int checkpoint);
int store_seals_each(store_txn *t, const uint8_t *ws, const uint8_t *doc,
                     store_seal_fn fn, void *ctx);

/* Deletes a document's changes, heads, seals, pending changes and
 * snapshot (its record stays): the first step of rewriting its history
 * (members.c drops a removed member's changes past the cutoff). */
int store_doc_history_clear(store_txn *t, const uint8_t *ws,
                            const uint8_t *doc);

/* ---- pending (store_docs.c) ---------------------------------------------- */

typedef struct store_pend {
  const uint8_t *actor;
  uint32_t seq;
  const uint8_t *body;
  size_t len;
} store_pend;

/* Makes the document's stored pending set exactly p[0..n). */
int store_pending_replace(store_txn *t, const uint8_t *ws, const uint8_t *doc,
                          const store_pend *p, uint32_t n);
typedef int (*store_pend_fn)(void *ctx, const store_pend *p);
int store_pending_each(store_txn *t, const uint8_t *ws, const uint8_t *doc,
                       store_pend_fn fn, void *ctx);

/* ---- snapshots (store_docs.c) -------------------------------------------- */

/* Stores bytes (compressed) as the document's snapshot covering vv (with
 * the chain hash and segment root at each seq: loading resumes hashing
 * the changes after the snapshot from them). */
int store_snapshot_put(store_txn *t, const uint8_t *ws, const uint8_t *doc,
                       const uint8_t *bytes, size_t len,
                       const store_heads *vv);
/* The snapshot's bytes into out (appended) and the vv it covers (reset
 * first); either may be NULL. Errors: ENOTFOUND, ECORRUPT. */
int store_snapshot_get(store_txn *t, const uint8_t *ws, const uint8_t *doc,
                       buf *out, store_heads *vv);
int store_snapshot_del(store_txn *t, const uint8_t *ws, const uint8_t *doc);

/* ---- peers (store_peers.c) ----------------------------------------------- */

/* What this node remembers of another member of a workspace, keyed
 * ws (16) · member public key (32). Addresses are "host:port" text
 * (printable ASCII, no spaces, ending in ':' and a port 1..65535 written
 * without leading zeros), most
 * recent first, no duplicates, at most STORE_PEER_ADDRS of them. Times are
 * ms since the epoch (0: never). The summary is opaque to the store (the
 * sync layer's "what the peer had when we last synced"), at most
 * STORE_PEER_SUMMARY_MAX bytes. Record format: store_peers.c. */
#define STORE_PEER_ADDRS 8
#define STORE_PEER_ADDR_MAX 255
#define STORE_PEER_SUMMARY_MAX ((size_t)64 << 10)
typedef struct store_peer {
  uint8_t ws[ACCORD_WS_ID_BYTES];
  uint8_t pk[32];
  uint32_t naddrs;
  const char *addr[STORE_PEER_ADDRS]; /* not NUL-terminated: addr_len */
  size_t addr_len[STORE_PEER_ADDRS];
  int64_t last_seen, last_synced;
  const uint8_t *summary;
  size_t summary_len;
} store_peer;

/* 1 if s (n bytes) is an address the peers table accepts. */
int store_peer_addr_ok(const char *s, size_t n);
/* Writes p (replacing the record of p->ws, p->pk). The inputs may point
 * into a record read in the same transaction. Errors: EINVAL (a field out
 * of bounds: too many addresses, a bad or repeated address, a negative
 * time, a summary too big), EFULL, ESTORE. */
int store_peer_put(store_txn *t, const store_peer *p);
/* Pointers in *out are borrowed until the transaction ends. Errors:
 * ENOTFOUND, ECORRUPT (the record does not decode: nothing returned). */
int store_peer_get(store_txn *t, const uint8_t *ws, const uint8_t *pk,
                   store_peer *out);
typedef int (*store_peer_fn)(void *ctx, const store_peer *p);
/* Every peer of ws (NULL: of every workspace), in key order; stops at the
 * first error (fn's, or ECORRUPT for a bad record). */
int store_peer_each(store_txn *t, const uint8_t *ws, store_peer_fn fn,
                    void *ctx);
/* Errors: ENOTFOUND. */
int store_peer_del(store_txn *t, const uint8_t *ws, const uint8_t *pk);

/* ---- changes (store_changes.c) ------------------------------------------- */

/* Bodies of seqs first..first+n-1 laid out as in a chain (doc.h): body
 * first+i is base[off[i] .. off[i+1]). */
typedef struct store_run {
  const uint8_t *base;
  const uint32_t *off;
  uint32_t first, n;
} store_run;

/* Appends a run to (ws, doc, actor) whose stored chain ends at prev
 * (prev->seq == run->first - 1; seq 0, all zeros: an empty chain); *out
 * gets the position after the run. Runs larger than a chunk are stored as
 * several records, each with the chain hash after its last change.
 * Hashing resumes at prev: from the store's own records (the bodies
 * after prev's segment boundary, at most HASHCHAIN_SEG - 1), checked to
 * hash to prev->hash, unless the store still holds the hashing state of
 * the put that ended at prev (a small per-store cache: the commit path
 * then reads nothing back). Never from the document's chain.
 * Errors: EINVAL (prev->seq != run->first - 1), ECORRUPT (the stored
 * chain does not hash to prev, or a record does not decode: naming doc,
 * actor and seq; nothing written), ENOMEM, STORE_MAP_FULL (internal). */
int store_changes_put(store_txn *t, const uint8_t *ws, const uint8_t *doc,
                      const uint8_t *actor, const store_run *run,
                      const hashchain_pos *prev, hashchain_pos *out);

typedef int (*store_body_fn)(void *ctx, uint32_t seq, const uint8_t *body,
                             size_t len);
/* Calls fn for each stored change from..to (inclusive) in order; bodies
 * are borrowed for the call. Errors: ECORRUPT (a record does not decode,
 * or a change is missing), fn's. */
int store_changes_read(store_txn *t, const uint8_t *ws, const uint8_t *doc,
                       const uint8_t *actor, uint32_t from, uint32_t to,
                       store_body_fn fn, void *ctx);

/* Checks every record of (ws, doc, h->actor) up to h->seq against the hash
 * chain hashed from seq 0 (each record carries the chain hash after its
 * last change) and that the chain ends at h (hash and root). Errors:
 * ECORRUPT naming the change. */
int store_changes_verify(store_txn *t, const uint8_t *ws, const uint8_t *doc,
                         const store_head *h);

/* How many small records end the chain of (ws, doc, actor): what
 * compaction would merge. */
int store_changes_tail(store_txn *t, const uint8_t *ws, const uint8_t *doc,
                       const uint8_t *actor, uint32_t *n);
/* Merges the trailing small records of (ws, doc, actor) into compressed
 * chunks when there are at least min_records of them (0: any 2). Adds to
 * *before / *after the records rewritten and written. */
int store_changes_compact(store_txn *t, const uint8_t *ws, const uint8_t *doc,
                          const uint8_t *actor, uint32_t min_records,
                          size_t *before, size_t *after);

/* Lower-case hex of n bytes into out (2n + 1). */
void store_hex(const uint8_t *p, size_t n, char *out);

/* ---- forks (store_forks.c) ----------------------------------------------- */

/* Stores fork evidence (fork.c) for (ws, doc, actor, seq) unless a record
 * is there already (the first is kept). */
int store_fork_put(store_txn *t, const uint8_t *ws, const uint8_t *doc,
                   const uint8_t *actor, uint32_t seq, const uint8_t *ev,
                   size_t len);
typedef int (*store_fork_fn)(void *ctx, const uint8_t *doc,
                             const uint8_t *ev, size_t len);
/* Calls fn for every fork record of (ws, doc) (doc NULL: of every document
 * of ws) in key order; doc and ev are borrowed for the call. */
int store_fork_each(store_txn *t, const uint8_t *ws, const uint8_t *doc,
                    store_fork_fn fn, void *ctx);

/* ---- test hooks ---------------------------------------------------------- */

/* Writes `version` as the schema version of a closed store (nothing else
 * changes). Errors: as store_open. */
int store_debug_set_schema(const char *dir, uint32_t version);
/* The schema version of a closed store. */
int store_debug_schema(const char *dir, uint32_t *version);
/* Makes dir an LMDB environment holding something that is not accord's. */
int store_debug_foreign(const char *dir);
/* Calls fn on the raw value of the first record of db (by name) whose key
 * starts with prefix; fn may change the bytes in place (up to *len) and
 * shorten *len. For fault injection. */
int store_debug_poke(const char *dir, const char *db, const uint8_t *prefix,
                     size_t plen, void (*fn)(uint8_t *v, size_t *len));

#endif
