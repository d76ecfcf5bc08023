/*
 * accord.h — the public interface of libaccord, a local-first sync engine.
 *
 * accord keeps documents as CRDTs: every replica can edit offline, and any
 * two replicas that have seen the same changes hold the same document, byte
 * for byte, whatever order the changes arrived in.
 *
 * Object model
 *   accord_doc   a document: a tree of objects rooted at a map (ACCORD_ROOT).
 *                Objects are maps (key -> multi-value register), lists, text
 *                and counters (as map values); leaves are scalars.
 *   accord_txn   the only way to change a document. Committing a transaction
 *                produces one change: a hash-chained, canonically encoded
 *                record that peers import.
 *   accord_id    names an object (or an operation): (counter, actor).
 *
 * Sync for embedders who bring their own transport
 *   A peer sends its version vector (accord_doc_version); the other side
 *   answers with the changes the peer lacks (accord_doc_changes_since) as one
 *   batch of bytes; the peer imports it (accord_doc_import). Changes whose
 *   causal dependencies have not arrived wait inside the document and are
 *   applied when they can be. Importing a change twice changes nothing.
 *
 * Error handling
 *   Every fallible function returns 0 or a negative ACCORD_E* code;
 *   accord_strerror() and accord_err_name() describe it. Results come back
 *   through out-parameters; constructors set *out = NULL on failure. A failed
 *   call leaves the document as it was. A NULL handle or required pointer
 *   gives EINVAL, which the per-function error lists leave out.
 *
 * Ownership
 *   Buffers the library returns (uint8_t **out / char **out) belong to the
 *   caller and are released with accord_free(). Pointers inside an
 *   accord_value (strings, bytes) are borrowed from the document: valid until
 *   the document is next changed (a transaction operation, commit, abort or
 *   import) or freed. Inputs are always copied.
 *
 * How the doc comments read
 *   Parameters are inputs unless the comment says they receive something
 *   (out, *out, "goes to"); fixed-size byte arrays state their size. A
 *   comment's "Errors:" lists the codes a call returns besides EINVAL (a
 *   NULL handle or required pointer, and invalid arguments where no other
 *   code is named). Ownership and lifetime follow the rules above unless a
 *   comment says otherwise; so does threading, by the handle a function
 *   takes (see below). An asynchronous callback (the network's, a function
 *   given to accord_net_call) never fires for a call that returned an
 *   error.
 *
 * Threading
 *   Functions on different documents may run on different threads at once.
 *   One document (and its transaction) must not be used by two threads at the
 *   same time; the caller serialises access. The library keeps no global
 *   mutable state except libsodium's initialisation, which accord_doc_new()
 *   and accord_doc_load() perform thread-safely, and the list of node
 *   directories open in the process (accord_node_open), behind a mutex.
 *   A node and the documents opened through it are used by one thread at a
 *   time; while an accord_net runs for the node, that thread is the
 *   network's (see "Networking": other threads reach the node through
 *   accord_net_call). Functions that take no handle (accord_strerror,
 *   accord_version, accord_sign_keypair, accord_id_format,
 *   accord_invite_parse, ...) may run on any thread at any time.
 *   A document that verifies seals keeps a helper thread of its own
 *   for large imports (made at the first import of 256 or more changes,
 *   ended by accord_doc_free): it only hashes and checks seals, never calls
 *   back, and the import waits for it before returning.
 */
#ifndef ACCORD_H
#define ACCORD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ACCORD_VERSION_MAJOR 0
#define ACCORD_VERSION_MINOR 1
#define ACCORD_VERSION_PATCH 0
#define ACCORD_VERSION_STRING "0.1.0"

#if defined(__GNUC__) && defined(ACCORD_BUILDING)
#define ACCORD_API __attribute__((visibility("default")))
#else
#define ACCORD_API
#endif
#if defined(__GNUC__)
#define ACCORD_NODISCARD __attribute__((warn_unused_result))
#else
#define ACCORD_NODISCARD
#endif

/* ---------------------------------------------------------------------------
 * Errors. Codes are append-only: a code, once released, keeps its number.
 */
#define ACCORD_ERRNO_MAP(X)                                                    \
  X(EINVAL, -1, "invalid argument")                                            \
  X(ENOMEM, -2, "out of memory")                                               \
  X(ENOTFOUND, -3, "not found")                                                \
  X(ETYPE, -4, "object has another type")                                      \
  X(ERANGE, -5, "index or position out of range")                              \
  X(EUTF8, -6, "text is not valid UTF-8")                                      \
  X(EMALFORMED, -7, "malformed or corrupted input")                            \
  X(ETOOBIG, -8, "input exceeds a size limit")                                 \
  X(EBUSY, -9, "a transaction is already open on this document")              \
  X(ECHAIN, -10, "change does not extend its author's hash chain")             \
  X(EFORK, -11, "two different changes claim the same author and sequence")    \
  X(EVERSION, -12, "unsupported format version")                               \
  X(EOTHERDOC, -13, "bytes belong to another document")                     \
  X(ESTORE, -14, "storage error (see accord_node_errmsg)")                    \
  X(ESCHEMA, -15, "the store was written by another version of accord")       \
  X(ENOTSTORE, -16, "the directory is not an accord store")                  \
  X(EFULL, -17, "storage is full (disk or map size limit)")                  \
  X(EKEYPERM,                                                                  \
    -18, "identity key file is accessible by others: chmod 600 identity.key") \
  X(EIDENTITY, -19, "identity key is missing or does not match the store")   \
  X(ECORRUPT, -20, "stored data is corrupted (see accord_node_errmsg)")      \
  X(ESTALE, -21, "another process changed the document: retry")              \
  X(ESEAL, -22, "a change's seal is missing or does not verify")            \
  X(EKEY, -23, "a public key does not match its author")                    \
  X(ENOTMEMBER, -24, "the author is not a member of the workspace")         \
  X(EINVITE, -25, "the invite is unknown, used, revoked or expired")       \
  X(ENET, -26, "network error (see the log or accord_net_errmsg)")

enum {
#define ACCORD_ERR_ENUM_(name, code, text) ACCORD_##name = (code),
  ACCORD_ERRNO_MAP(ACCORD_ERR_ENUM_)
#undef ACCORD_ERR_ENUM_
  ACCORD_OK = 0
};

/* A sentence describing code ("unknown error" for unknown codes). Static. */
ACCORD_API const char *accord_strerror(int code);
/* The code's name without prefix, e.g. "ENOTFOUND". Static. */
ACCORD_API const char *accord_err_name(int code);

/* The library's version, "MAJOR.MINOR.PATCH"; equals ACCORD_VERSION_STRING
 * of the header it was built with. */
ACCORD_API const char *accord_version(void);

/* Releases a buffer returned by the library (the uint8_t ** / char ** out
 * parameters and the single-buffer lists). Not for handles, which have
 * their own destructors, nor for accord_invite (accord_invite_free). NULL
 * is a no-op. */
ACCORD_API void accord_free(void *p);

/* ---------------------------------------------------------------------------
 * Ids and values
 */
#define ACCORD_ACTOR_BYTES 8
#define ACCORD_DOC_ID_BYTES 16
#define ACCORD_HASH_BYTES 32

/* An object or operation id: the Lamport counter of the operation that
 * created it and the 8-byte id of its author. Ids are ordered by
 * (counter, actor bytes). The root map is {0, all zero}. */
typedef struct accord_id {
  uint64_t counter;
  uint8_t actor[ACCORD_ACTOR_BYTES];
} accord_id;

ACCORD_API extern const accord_id accord_root_id;
#define ACCORD_ROOT accord_root_id

typedef enum accord_type {
  ACCORD_NULL = 0,
  ACCORD_BOOL,
  ACCORD_INT,
  ACCORD_DOUBLE,
  ACCORD_STR,       /* UTF-8, validated */
  ACCORD_BYTES,
  ACCORD_TIMESTAMP, /* milliseconds since the Unix epoch, in .i */
  ACCORD_COUNTER,   /* .i: current total (reads); initial value (writes) */
  ACCORD_MAP,       /* .obj names the object */
  ACCORD_LIST,
  ACCORD_TEXT
} accord_type;

typedef struct accord_value {
  accord_type type;
  union {
    int boolean;
    int64_t i;
    double d;
    struct {
      const char *ptr; /* not NUL-terminated for BYTES; borrowed on reads */
      size_t len;
    } str;
    accord_id obj;
  } u;
} accord_value;

/* Convenience constructors for scalar values (the string is not copied until
 * the value is passed to a write function). */
static inline accord_value accord_null(void) {
  accord_value v;
  v.type = ACCORD_NULL;
  v.u.i = 0;
  return v;
}
static inline accord_value accord_bool(int b) {
  accord_value v;
  v.type = ACCORD_BOOL;
  v.u.boolean = b != 0;
  return v;
}
static inline accord_value accord_int(int64_t i) {
  accord_value v;
  v.type = ACCORD_INT;
  v.u.i = i;
  return v;
}
static inline accord_value accord_double(double d) {
  accord_value v;
  v.type = ACCORD_DOUBLE;
  v.u.d = d;
  return v;
}
static inline accord_value accord_str(const char *s, size_t len) {
  accord_value v;
  v.type = ACCORD_STR;
  v.u.str.ptr = s;
  v.u.str.len = len;
  return v;
}
static inline accord_value accord_bytes(const void *p, size_t len) {
  accord_value v;
  v.type = ACCORD_BYTES;
  v.u.str.ptr = (const char *)p;
  v.u.str.len = len;
  return v;
}
static inline accord_value accord_timestamp(int64_t ms) {
  accord_value v;
  v.type = ACCORD_TIMESTAMP;
  v.u.i = ms;
  return v;
}
static inline accord_value accord_counter(int64_t initial) {
  accord_value v;
  v.type = ACCORD_COUNTER;
  v.u.i = initial;
  return v;
}

/* ---------------------------------------------------------------------------
 * Documents
 */
typedef struct accord_doc accord_doc;
typedef struct accord_txn accord_txn;

/* Creates an empty in-memory document.
 *   doc_id  16 bytes, or NULL for a random id (a new document).
 *   actor   8 bytes naming this replica's author, or NULL for a random one.
 *           Two replicas must never share an actor id.
 *   out     receives the document; NULL on failure.
 * Errors: EINVAL, ENOMEM. Free with accord_doc_free(). */
ACCORD_API ACCORD_NODISCARD int accord_doc_new(const uint8_t *doc_id,
                                               const uint8_t *actor,
                                               accord_doc **out);

/* Frees a document and any open transaction on it. Only for documents of
 * accord_doc_new and accord_doc_load: a node's documents are released with
 * accord_node_doc_close. NULL is a no-op. */
ACCORD_API void accord_doc_free(accord_doc *doc);

/* Borrowed pointers to the 16-byte document id and the 8-byte local actor,
 * valid for the document's lifetime. */
ACCORD_API const uint8_t *accord_doc_id(const accord_doc *doc);
ACCORD_API const uint8_t *accord_doc_actor(const accord_doc *doc);

/* Memory held by the document (its CRDT state, history and indexes), in
 * bytes, as counted by the engine. */
ACCORD_API size_t accord_doc_mem_bytes(const accord_doc *doc);

/* Finishes the document's background work and waits for it: the history
 * of old changes that commits and imports pack into compressed frames on
 * the document's worker thread, a few thousand changes at a time, as the
 * user types. Nothing needs this call (the work goes on at later commits
 * and imports, and nothing waits for it to read or sync); it gives a
 * document that was just written at machine speed the memory it settles
 * to when the user pauses (benchmarks, before accord_doc_mem_bytes).
 * Errors: EINVAL (doc NULL), EBUSY (a transaction is open), or the error
 * that poisoned the document. */
ACCORD_API ACCORD_NODISCARD int accord_doc_settle(accord_doc *doc);

/* The type of object obj, to *out. Errors: ENOTFOUND. */
ACCORD_API ACCORD_NODISCARD int accord_obj_type(const accord_doc *doc,
                                                accord_id obj,
                                                accord_type *out);

/* ---------------------------------------------------------------------------
 * Transactions. At most one is open per document. Operations apply to the
 * document at once (reads see them); commit turns them into one change.
 * An operation that fails changes nothing and the transaction stays usable.
 */

/* Opens a transaction, which belongs to the document: end it with
 * accord_txn_commit or accord_txn_abort (accord_doc_free also frees it).
 * Errors: EBUSY (one is open), ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_txn_begin(accord_doc *doc,
                                                 accord_txn **out);

/* Optional message kept with the change (copied; at most 64 KiB of UTF-8).
 * Errors: EUTF8, ETOOBIG. */
ACCORD_API ACCORD_NODISCARD int accord_txn_set_message(accord_txn *txn,
                                                       const char *msg,
                                                       size_t len);

/* Overrides the change's timestamp (ms since the epoch; default: the clock
 * at commit). For tests and imports of recorded histories. */
ACCORD_API void accord_txn_set_time(accord_txn *txn, int64_t ms);

/* What a commit produced. bytes is the change as a peer receives it inside
 * a batch; borrowed until the document is next changed. */
typedef struct accord_change_info {
  uint64_t seq;         /* 0 when the transaction had no operations */
  uint64_t start_op;    /* Lamport counter of the change's first operation */
  const uint8_t *bytes; /* the encoded change body */
  size_t len;
} accord_change_info;

/* Commits and frees the transaction. info may be NULL. A transaction with no
 * operations commits nothing (info->seq = 0). Errors: ENOMEM, ETOOBIG (the
 * author's chain is full); on either the transaction is aborted and freed as
 * by accord_txn_abort. EINVAL (txn is not an open transaction) frees
 * nothing. */
ACCORD_API ACCORD_NODISCARD int accord_txn_commit(accord_txn *txn,
                                                  accord_change_info *info);

/* Undoes the transaction's operations and frees it. NULL is a no-op.
 * Costs a rebuild of the document from its history when operations were
 * applied; cheap when none were. If that rebuild runs out of memory the
 * document refuses every later call with ENOMEM (free it and load again). */
ACCORD_API void accord_txn_abort(accord_txn *txn);

/* Maps ------------------------------------------------------------------- */

/* Sets key (NUL-terminated UTF-8, 1..64 KiB) of map obj to a scalar or
 * counter value. Overwrites the values this replica sees; concurrent sets
 * on other replicas survive as conflicts. Errors: ENOTFOUND (obj), ETYPE
 * (obj is not a map, or v is an object type: use accord_map_put_object),
 * EINVAL (NULL or empty key), EUTF8, ETOOBIG. */
ACCORD_API ACCORD_NODISCARD int accord_map_put(accord_txn *txn, accord_id obj,
                                               const char *key,
                                               const accord_value *v);

/* Sets key to a new empty object of type (MAP, LIST or TEXT); its id in
 * *created (may be NULL). Errors: as accord_map_put; ETYPE for other types. */
ACCORD_API ACCORD_NODISCARD int accord_map_put_object(accord_txn *txn,
                                                      accord_id obj,
                                                      const char *key,
                                                      accord_type type,
                                                      accord_id *created);

/* Deletes key (all values this replica sees). Errors: ENOTFOUND (obj, or
 * the key has no value), ETYPE. */
ACCORD_API ACCORD_NODISCARD int accord_map_delete(accord_txn *txn,
                                                  accord_id obj,
                                                  const char *key);

/* Adds delta to the counter at key; concurrent adds all count. Errors:
 * ENOTFOUND, ETYPE (the winning value is not a counter). */
ACCORD_API ACCORD_NODISCARD int accord_map_increment(accord_txn *txn,
                                                     accord_id obj,
                                                     const char *key,
                                                     int64_t delta);

/* The winning value of key, to *out (strings and bytes borrowed: valid
 * until the document next changes). Errors: ENOTFOUND (obj, or no value at
 * key — also for a key that is not valid UTF-8, which no key can be),
 * ETYPE. */
ACCORD_API ACCORD_NODISCARD int accord_map_get(const accord_doc *doc,
                                               accord_id obj, const char *key,
                                               accord_value *out);

/* One of the concurrent values of a map key, with the id of the operation
 * that set it (its actor is the author). */
typedef struct accord_conflict {
  accord_value value;
  accord_id op;
} accord_conflict;

/* All current values of key, winner first, then by descending op id.
 * Writes at most cap entries to out (out may be NULL when cap is 0) and the
 * total number in *n; *n > 1 means the key has a conflict.
 * Errors: ENOTFOUND (obj), ETYPE. A missing key gives *n = 0. */
ACCORD_API ACCORD_NODISCARD int accord_map_conflicts(const accord_doc *doc,
                                                     accord_id obj,
                                                     const char *key,
                                                     accord_conflict *out,
                                                     size_t cap, size_t *n);

/* Number of keys with a value, to *n. Errors: ENOTFOUND, ETYPE. */
ACCORD_API ACCORD_NODISCARD int accord_map_size(const accord_doc *doc,
                                                accord_id obj, size_t *n);

/* The i-th key in bytewise order (0 <= i < size). *key is borrowed and
 * NUL-terminated; its byte length goes to *len (may be NULL).
 * Errors: ENOTFOUND, ETYPE, ERANGE. */
ACCORD_API ACCORD_NODISCARD int accord_map_key(const accord_doc *doc,
                                               accord_id obj, size_t i,
                                               const char **key, size_t *len);

/* Lists ------------------------------------------------------------------ */

/* Inserts a scalar or counter at index (0..length). Errors: ENOTFOUND,
 * ETYPE (obj is not a list, or v is an object type), ERANGE, EUTF8. */
ACCORD_API ACCORD_NODISCARD int accord_list_insert(accord_txn *txn,
                                                   accord_id obj, size_t index,
                                                   const accord_value *v);

/* Inserts n scalar or counter values at index as one operation (cheaper to
 * store and send than n inserts). Errors: as accord_list_insert; ETOOBIG
 * for more than 2^20 values. */
ACCORD_API ACCORD_NODISCARD int accord_list_insert_values(
    accord_txn *txn, accord_id obj, size_t index, const accord_value *vals,
    size_t n);

/* Inserts a new empty object of type (MAP, LIST, TEXT) at index; its id in
 * *created (may be NULL). Errors: as accord_list_insert. */
ACCORD_API ACCORD_NODISCARD int accord_list_insert_object(accord_txn *txn,
                                                          accord_id obj,
                                                          size_t index,
                                                          accord_type type,
                                                          accord_id *created);

/* Deletes count elements from index. Errors: ENOTFOUND, ETYPE, ERANGE. */
ACCORD_API ACCORD_NODISCARD int accord_list_delete(accord_txn *txn,
                                                   accord_id obj, size_t index,
                                                   size_t count);

/* Number of elements, to *n. Errors: ENOTFOUND, ETYPE. */
ACCORD_API ACCORD_NODISCARD int accord_list_len(const accord_doc *doc,
                                                accord_id obj, size_t *n);

/* The element at index, to *out (strings and bytes borrowed, as for
 * accord_map_get). Errors: ENOTFOUND, ETYPE, ERANGE. */
ACCORD_API ACCORD_NODISCARD int accord_list_get(const accord_doc *doc,
                                                accord_id obj, size_t index,
                                                accord_value *out);

/* Text ------------------------------------------------------------------- */

/* At code point position pos, deletes del code points and inserts the UTF-8
 * string s (len bytes; may be 0). Errors: ENOTFOUND, ETYPE, ERANGE, EUTF8,
 * ETOOBIG. */
ACCORD_API ACCORD_NODISCARD int accord_text_splice(accord_txn *txn,
                                                   accord_id obj, size_t pos,
                                                   size_t del, const char *s,
                                                   size_t len);

/* Length in code points, to *n. Errors: ENOTFOUND, ETYPE. */
ACCORD_API ACCORD_NODISCARD int accord_text_len(const accord_doc *doc,
                                                accord_id obj, size_t *n);

/* The text as a NUL-terminated UTF-8 string in *out (free with
 * accord_free), its byte length in *len (may be NULL).
 * Errors: ENOTFOUND, ETYPE, ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_text_read(const accord_doc *doc,
                                                 accord_id obj, char **out,
                                                 size_t *len);

/* ---------------------------------------------------------------------------
 * Whole documents and sync
 */

/* The document as JSON (maps as objects with sorted keys, lists as arrays,
 * text as strings, counters as numbers, bytes as base64 strings, timestamps
 * as numbers of ms). NUL-terminated; free with accord_free; its byte length
 * goes to *len (may be NULL). Errors: ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_doc_json(const accord_doc *doc,
                                                char **out, size_t *len);

/* This replica's version vector: the highest contiguous change seq applied
 * per actor, encoded for accord_doc_changes_since. Free with accord_free.
 * Errors: ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_doc_version(const accord_doc *doc,
                                                   uint8_t **out, size_t *len);

/* The changes a peer lacks given its version vector (vv == NULL: all of
 * them; a non-NULL vv must be one accord_doc_version produced), as one batch
 * for accord_doc_import. An empty batch is still a valid batch.
 * Errors: EMALFORMED (vv), EOTHERDOC, ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_doc_changes_since(accord_doc *doc,
                                                         const uint8_t *vv,
                                                         size_t vv_len,
                                                         uint8_t **out,
                                                         size_t *len);

typedef struct accord_import_stats {
  size_t applied;    /* changes applied now (including released pending) */
  size_t duplicates; /* changes already known: ignored */
  size_t pending;    /* changes the document holds waiting for their
                        dependencies after this import (all of them) */
  size_t forks;      /* authors whose sealed changes in the batch fork from
                        the chain we hold: skipped, the evidence kept
                        (accord_doc_forks) */
} accord_import_stats;

/* Imports a batch: all or nothing. Changes whose dependencies are missing
 * wait inside the document. stats may be NULL. With verification on
 * (accord_doc_set_verify), every author's changes in the batch must end at
 * that author's seal, and the seal must check.
 * Errors: EMALFORMED, ETOOBIG, EVERSION, EOTHERDOC, ECHAIN (a change does
 * not follow its author's chain), EFORK (a different change with a seq we
 * have), ESEAL (changes without a seal, or a seal whose signature does not
 * check against the changes), EKEY (a seal's public key does not derive to
 * the changes' author), EUTF8, EBUSY (a transaction is open), ENOMEM. On
 * error nothing changed.
 * Forks: with verification on, an author's changes that differ from ones we
 * hold under the same seq, under a seal that checks, prove that the author
 * signed two histories. Our chain is kept, that author's changes in the
 * batch are skipped, the rest of the batch is imported, and the evidence is
 * recorded (stats->forks, accord_doc_forks). Without verification, or when
 * the seal does not check, such a batch fails with EFORK as before. */
ACCORD_API ACCORD_NODISCARD int accord_doc_import(accord_doc *doc,
                                                  const uint8_t *batch,
                                                  size_t len,
                                                  accord_import_stats *stats);

/* How many received changes the document holds waiting for their
 * dependencies (what accord_import_stats.pending last reported, kept up to
 * date). 0 for NULL. */
ACCORD_API size_t accord_doc_pending(const accord_doc *doc);

/* ---------------------------------------------------------------------------
 * History
 */
typedef enum accord_op_kind {
  ACCORD_OP_SET = 0,   /* a map key set (value) */
  ACCORD_OP_DELETE,    /* a map key deleted */
  ACCORD_OP_INSERT,    /* count elements inserted into a list or text */
  ACCORD_OP_REMOVE,    /* count elements removed from a list or text */
  ACCORD_OP_INCREMENT  /* a counter changed by delta */
} accord_op_kind;

/* One operation of a change, as accord_doc_history shows it. Pointers are
 * borrowed for the duration of the callback. */
typedef struct accord_op_info {
  accord_op_kind kind;
  accord_id op;        /* the operation's id */
  accord_id obj;       /* the object it changed */
  const char *key;     /* map key (SET, DELETE, INCREMENT), else NULL */
  size_t key_len;
  accord_value value;  /* SET: the value; INSERT into a list: the first */
  size_t count;        /* INSERT, REMOVE: elements */
  const char *text;    /* INSERT into text: the UTF-8 inserted */
  size_t text_len;
  int64_t delta;       /* INCREMENT */
} accord_op_info;

/* One change: who, when, why and what. Borrowed for the callback. */
typedef struct accord_change_meta {
  const uint8_t *actor; /* 8 bytes: the author */
  uint64_t seq;         /* its place in the author's chain, from 1 */
  uint64_t start_op;
  int64_t time;         /* ms since the epoch, as the author's clock said */
  const char *message;  /* NULL when the change has none */
  size_t message_len;
  const accord_op_info *ops;
  size_t nops;
  const uint8_t *bytes; /* the encoded change body */
  size_t len;
} accord_change_meta;

/* Returns 0 to go on; anything else stops the walk and is returned. */
typedef int (*accord_change_fn)(void *userdata,
                                const accord_change_meta *change);

/* Calls fn for every applied change in a causal order (each after the
 * changes it depends on). Returns 0, fn's non-zero value, or EMALFORMED
 * (the stored history is corrupt), EINVAL, ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_doc_history(accord_doc *doc,
                                                   accord_change_fn fn,
                                                   void *userdata);

/* The head of an actor's (8 bytes) hash chain in this document: its latest
 * seq to *seq and BLAKE2b-256 hash to hash (ACCORD_HASH_BYTES); either may
 * be NULL. Errors: ENOTFOUND (no change by that actor), EMALFORMED (the
 * loaded history is corrupt), ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_doc_chain_head(accord_doc *doc,
                                                      const uint8_t *actor,
                                                      uint64_t *seq,
                                                      uint8_t *hash);

/* ---------------------------------------------------------------------------
 * Seals (DESIGN §4)
 *
 * A seal is an author's Ed25519 signature over the hash of its chain of
 * changes in a document, up to some seq: it authenticates every change up
 * to there. A document with a signer seals its own changes whenever it
 * builds a batch (one signature per batch, not per change); batches carry
 * the seals of every author they hold changes of; receivers check them and
 * keep them to forward. Relays can therefore pass on others' changes but
 * cannot forge, alter, reorder or truncate-and-extend them.
 */
#define ACCORD_SECRET_KEY_BYTES 64

/* A new Ed25519 key pair: public_key (32 bytes) and secret_key (64 bytes,
 * libsodium's seed ‖ public key; the caller keeps it secret and wipes it).
 * Errors: ENOMEM (the crypto library failed to start). */
ACCORD_API ACCORD_NODISCARD int accord_sign_keypair(uint8_t *public_key,
                                                    uint8_t *secret_key);

/* The actor id (8 bytes, to actor) that belongs to a public key (32
 * bytes): the first 8 bytes of its BLAKE2b-256. A document that seals must
 * have this actor as its local actor. Errors: ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_key_actor(const uint8_t *public_key,
                                                 uint8_t *actor);

/* A public key's printable id (issue 5): base32 in 8 groups of 7
 * characters joined by dashes, e.g. "MFRGGZD-...", 63 characters and a NUL.
 * Each block of 13 key characters is followed by a check character (the
 * Damm algorithm over GF(32)) that catches every mistyped character and
 * every swap of two adjacent ones. */
#define ACCORD_ID_TEXT_BYTES 64

/* Writes public_key's (32 bytes) printable id to out (size bytes, at least
 * ACCORD_ID_TEXT_BYTES), NUL-terminated. Errors: EINVAL (size too small). */
ACCORD_API ACCORD_NODISCARD int accord_id_format(const uint8_t *public_key,
                                                 char *out, size_t size);

/* Reads a printable id back into public_key (32 bytes). Letters in either
 * case; dashes and spaces anywhere are ignored. Errors: EMALFORMED (a
 * character outside the base32 alphabet, not 56 characters, a check
 * character that does not match — a typo — or non-zero padding bits); on
 * error public_key is untouched. */
ACCORD_API ACCORD_NODISCARD int accord_id_parse(const char *text,
                                                uint8_t *public_key);

/* Makes the document seal its local actor's changes with secret_key (64
 * bytes, copied; wiped when the document is freed), for the workspace
 * workspace_id (ACCORD_WS_ID_BYTES, copied; NULL for a document outside any
 * workspace, which seals with zeros). Turns verification on. Errors:
 * EINVAL (the key is malformed, or the document's local actor is not
 * accord_key_actor of its public key). */
ACCORD_API ACCORD_NODISCARD int accord_doc_set_signer(
    accord_doc *doc, const uint8_t *secret_key, const uint8_t *workspace_id);

/* Sets the workspace (16 bytes, copied; NULL: none) that the seals this
 * document checks and makes name, for a replica that verifies without
 * signing. Turns verification on. Seals kept for another workspace are
 * forgotten. Errors: none beyond EINVAL. */
ACCORD_API ACCORD_NODISCARD int accord_doc_set_workspace(
    accord_doc *doc, const uint8_t *workspace_id);

/* Turns seal verification on imports on (on != 0) or off. Off is the
 * default for documents without a signer or workspace (embedders that use
 * no keys). Documents opened through a node seal with the node's key and
 * verify, and their imports also check that each sealing key is a current
 * member's (ENOTMEMBER). With verification off, seals that come with
 * changes are neither checked nor kept; the document's own seals are still
 * made and sent.
 * Errors: none beyond EINVAL. */
ACCORD_API ACCORD_NODISCARD int accord_doc_set_verify(accord_doc *doc, int on);

/* The latest seal this document holds for an actor's (8 bytes) chain: the
 * seq it covers to *seq and the signer's public key (32 bytes) to
 * public_key; either may be NULL. Errors: ENOTFOUND (no seal). */
ACCORD_API ACCORD_NODISCARD int accord_doc_chain_seal(const accord_doc *doc,
                                                      const uint8_t *actor,
                                                      uint64_t *seq,
                                                      uint8_t *public_key);

/* Evidence of a fork: one author's key sealed two different chains of a
 * document that agree up to seq - 1 and differ at seq. evidence holds the
 * proof (both chains from seq to their seals, what they share before it —
 * from the start of the hash chain's segment, docs/engine.md — and both
 * seals), which accord_fork_verify checks without the document: a third
 * party can see that the author signed both. */
typedef struct accord_fork {
  uint8_t workspace[16];             /* as the seals name it (zeros: none) */
  uint8_t doc[ACCORD_DOC_ID_BYTES];
  uint8_t actor[ACCORD_ACTOR_BYTES]; /* the author */
  uint64_t seq;                      /* where the chains part */
  uint8_t public_key[32];            /* the author's, which signed both */
  uint8_t kept[ACCORD_HASH_BYTES];   /* chain hash at seq of the change
                                        kept (the first one seen) */
  uint8_t refused[ACCORD_HASH_BYTES]; /* ... of the other one */
  const uint8_t *evidence;           /* the proof's bytes */
  size_t evidence_len;
} accord_fork;

/* The forks this document has seen, in the order found (one per author and
 * seq; the first 256 found, up to 64 MiB, are kept): *out is one
 * buffer (free with accord_free; evidence points inside it), *n entries.
 * Errors: ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_doc_forks(const accord_doc *doc,
                                                 accord_fork **out,
                                                 size_t *n);

/* Checks fork evidence (accord_fork.evidence) on its own: both seals check
 * against their chains under one key that derives to the author, and the
 * changes at seq differ. out (may be NULL) is filled in; its evidence
 * points into the bytes given. Errors: EMALFORMED, EVERSION, EKEY (the keys
 * differ or are not the author's), ESEAL (a seal does not check), ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_fork_verify(const uint8_t *evidence,
                                                   size_t len,
                                                   accord_fork *out);

/* Saves the whole document to bytes (free with accord_free): every change
 * (what peers need to keep syncing), the changes still waiting for their
 * dependencies, the seals it holds with its workspace and verify setting,
 * the fork evidence it recorded, and the current state, so loading is fast. The signer's secret key is
 * not saved: after accord_doc_load, set it again (accord_doc_set_signer).
 * The history is saved compressed, and the document keeps it that way in
 * memory: a sync, import or rollback that needs old changes unpacks them a
 * few thousand at a time and drops them again.
 * Errors: EBUSY (a transaction is open), ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_doc_save(accord_doc *doc, uint8_t **out,
                                                size_t *len);

/* Loads saved bytes as a new document whose local actor is actor (8 bytes;
 * NULL for a random one). The state is read from the saved snapshot, not
 * rebuilt: it is checked for integrity (a checksum) and for everything
 * memory safety needs, and the history is checked when first used. Load
 * only what this library saved; take documents from others as changes
 * (accord_doc_import), which are verified one by one.
 * Errors: EMALFORMED, ETOOBIG, EVERSION, EUTF8, ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_doc_load(const uint8_t *bytes,
                                                size_t len,
                                                const uint8_t *actor,
                                                accord_doc **out);

/* ===========================================================================
 * Nodes and storage
 *
 * A node is a directory holding one member's device identity (an Ed25519
 * key pair; the secret key in <dir>/identity.key, mode 0600) and an LMDB
 * store of workspaces, documents and their changes. Documents opened
 * through a node edit as usual; accord_node_txn_commit makes a change
 * durable before it returns, accord_node_doc_import stores a received batch
 * in one all-or-nothing write.
 *
 * Directory: the dir argument, else $ACCORD_DIR, else $XDG_DATA_HOME/accord,
 * else ~/.local/share/accord. Created (mode 0700) when missing or empty.
 *
 * Processes: several processes may use one directory at once (a CLI and a
 * daemon). Each process opens a directory at most once (EBUSY otherwise:
 * LMDB's locks are per process). Writes are serialised by LMDB; a document
 * opened in two processes picks up the other's changes when a transaction
 * begins, and accord_node_changed() tells a poller that something changed.
 *
 * Threading: a node and the documents opened through it form one unit: use
 * them from one thread at a time. Different nodes are independent. While
 * an accord_net runs for the node, that thread is the network's (see
 * "Networking").
 *
 * Ownership: documents returned by accord_node_doc_create/_open belong to
 * the node: release them with accord_node_doc_close (never accord_doc_free);
 * accord_node_close closes any left open. Lists are single buffers freed
 * with accord_free.
 */
typedef struct accord_node accord_node;

#define ACCORD_WS_ID_BYTES 16
#define ACCORD_PUBKEY_BYTES 32

typedef enum accord_durability {
  /* Every commit and import is on disk (fsynced) when the call returns:
   * it survives kill -9, OS crashes and power loss. The default. */
  ACCORD_DURABLE = 0,
  /* For bulk imports. A commit is written to the OS (it survives kill -9 of
   * the process) but fsynced only every batch_commits commits or batch_ms
   * milliseconds (checked at each commit), by accord_node_sync() and at
   * accord_node_close(). On an OS crash or power loss, everything written
   * since the last sync may be lost, and because the OS may write pages back
   * in any order (LMDB's MDB_NOSYNC with MDB_WRITEMAP), the store itself
   * may be damaged: keep a copy, or only use this for data you can fetch
   * again. Other processes on the same directory keep their own mode; LMDB
   * guarantees their durability only where the OS has one page cache for
   * mapped and written files (Linux, FreeBSD, macOS), so on other systems
   * run a batched import with no other process on the directory. */
  ACCORD_BATCHED = 1
} accord_durability;

/* Options for accord_node_open. All-zero means the defaults. */
typedef struct accord_node_opts {
  accord_durability durability;
  uint32_t batch_commits; /* BATCHED: fsync after this many (0: 1000) */
  uint32_t batch_ms;      /* BATCHED: or this many ms after the last (0: 100) */
  uint64_t map_size;      /* initial LMDB map size in bytes (0: 64 MiB) */
  uint64_t map_max;       /* growth stops here: EFULL (0: 1 TiB) */
  /* A document's snapshot is refreshed at accord_node_doc_close once this
   * many changes came after it (0: 1000); accord_node_maintain waits until
   * they are also an eighth of what the snapshot covers. */
  uint32_t snapshot_changes;
  /* Runs of at least this many separately stored changes of one author are
   * merged into compressed chunks (at close and maintain) (0: 256). */
  uint32_t compact_changes;
  int no_create; /* 1: fail with ENOTFOUND rather than create a store */
  /* When accord_node_open fails and errbuf is not NULL, a sentence saying
   * what went wrong (path, cause, fix) is written there, NUL-terminated. */
  char *errbuf;
  size_t errbuf_size;
} accord_node_opts;

/* Opens (or creates) the node at dir (NULL: the default, see above).
 * Errors: ENOTSTORE (the directory holds something else), ESCHEMA (a newer
 * accord wrote it, or a development build with the old hash chain, which
 * cannot be migrated: errbuf says what to do), EKEYPERM (identity.key
 * readable by others), EIDENTITY (identity.key missing or not this
 * store's), EBUSY (already open in this process), ENOTFOUND (no_create
 * and no store), EFULL, ESTORE, ENOMEM. *out = NULL on failure. */
ACCORD_API ACCORD_NODISCARD int accord_node_open(const char *dir,
                                                 const accord_node_opts *opts,
                                                 accord_node **out);

/* Stores what open documents hold that the store lacks, syncs (BATCHED),
 * closes every document still open and the node. NULL is a no-op. */
ACCORD_API void accord_node_close(accord_node *node);

/* The node's directory, actor id (8 bytes: BLAKE2b-256 of the public key,
 * first 8 bytes) and Ed25519 public key (32 bytes). Borrowed for the
 * node's lifetime. */
ACCORD_API const char *accord_node_dir(const accord_node *node);
ACCORD_API const uint8_t *accord_node_actor(const accord_node *node);
ACCORD_API const uint8_t *accord_node_public_key(const accord_node *node);

/* A sentence about the node's last error (which document and change for
 * ECORRUPT, LMDB's reason for ESTORE) or warning (a damaged snapshot that
 * was bypassed), or "". Borrowed until the next call on the node. */
ACCORD_API const char *accord_node_errmsg(const accord_node *node);

/* Workspaces --------------------------------------------------------------- */

/* Creates a workspace named name (UTF-8, 1..256 bytes) founded by this node,
 * with its membership document (this node its first member, without a name
 * until accord_member_update), in one durable write. Its id (16 bytes,
 * BLAKE2b of the genesis record) goes to id_out.
 * Errors: EINVAL, EUTF8, ETOOBIG, EFULL, ESTORE, ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_node_ws_create(accord_node *node,
                                                      const char *name,
                                                      uint8_t *id_out);

typedef struct accord_ws_info {
  uint8_t id[ACCORD_WS_ID_BYTES];
  const char *name; /* NUL-terminated, inside the same buffer */
  uint8_t founder[ACCORD_PUBKEY_BYTES];
  int64_t created; /* ms since the epoch */
} accord_ws_info;

/* Every workspace, in id order: *out is one buffer (free with accord_free),
 * *n entries. Errors: ESTORE, ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_node_ws_list(accord_node *node,
                                                    accord_ws_info **out,
                                                    size_t *n);

/* A peer this node remembers for a workspace (another member's device):
 * the addresses it was reached or announced at, most recent first, and
 * when it was last seen and last synced (ms since the epoch, 0: never). */
typedef struct accord_peer_info {
  uint8_t public_key[ACCORD_PUBKEY_BYTES];
  size_t naddrs;
  const char *const *addrs; /* "host:port", inside the same buffer */
  int64_t last_seen, last_synced;
} accord_peer_info;

/* The peers of workspace ws the node remembers, most recently seen first:
 * *out is one buffer (free with accord_free; NULL when *n is 0), *n
 * entries. The network layer records them; a node that never synced has
 * none. Errors: EINVAL, ECORRUPT (a damaged record: nothing returned),
 * ESTORE, ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_node_peers(accord_node *node,
                                                  const uint8_t *ws,
                                                  accord_peer_info **out,
                                                  size_t *n);

/* Documents ---------------------------------------------------------------- */

/* Creates a document of type (1..64 bytes of [A-Za-z0-9._-], e.g. "goal",
 * "messaging"; not "system": each workspace's one membership document is
 * made with it) in workspace ws, recorded with this node as its
 * creator and the current time, and opens it (close with
 * accord_node_doc_close). Errors: EINVAL, ENOTFOUND (ws), EFULL, ESTORE,
 * ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_node_doc_create(accord_node *node,
                                                       const uint8_t *ws,
                                                       const char *type,
                                                       accord_doc **out);

/* Opens a stored document: its latest snapshot plus the changes stored
 * after it, checked against their hashes. Opening a document that is open
 * already returns the same handle (each open needs its close). The local
 * actor is the node's. Its history (accord_doc_history) is complete.
 * Errors: ENOTFOUND, ECORRUPT (the message names the document and change;
 * other documents stay usable), EFORK (another process stored different
 * changes under this node's actor), ESTORE, ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_node_doc_open(accord_node *node,
                                                     const uint8_t *ws,
                                                     const uint8_t *doc_id,
                                                     accord_doc **out);

/* Releases one open of doc. At the last one, what the document holds that
 * the store lacks is stored, its snapshot refreshed and its changes
 * compacted when enough accumulated (see the options), and it is freed.
 * NULL is a no-op. */
ACCORD_API void accord_node_doc_close(accord_node *node, accord_doc *doc);

typedef struct accord_doc_info {
  uint8_t ws[ACCORD_WS_ID_BYTES];
  uint8_t id[ACCORD_DOC_ID_BYTES];
  const char *type; /* NUL-terminated, inside the same buffer */
  uint8_t creator[ACCORD_ACTOR_BYTES];
  int64_t created; /* ms since the epoch */
} accord_doc_info;

/* The documents of workspace ws of type (NULL: every type), in id order:
 * *out is one buffer (free with accord_free). Errors: ENOTFOUND (ws),
 * ESTORE, ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_node_doc_list(accord_node *node,
                                                     const uint8_t *ws,
                                                     const char *type,
                                                     accord_doc_info **out,
                                                     size_t *n);

/* Describes an open document; out->type is borrowed until the document is
 * closed. Errors: EINVAL (not this node's). */
ACCORD_API ACCORD_NODISCARD int accord_node_doc_info(accord_node *node,
                                                     const accord_doc *doc,
                                                     accord_doc_info *out);

/* Durable changes ---------------------------------------------------------- */

/* Begins a transaction on a document of this node, after taking in what
 * other processes stored for it. Then edit with the accord_map_* /
 * accord_list_* / accord_text_* calls and end with accord_node_txn_commit
 * (or accord_txn_abort). Errors: as accord_txn_begin, ECORRUPT, ESTORE. */
ACCORD_API ACCORD_NODISCARD int accord_node_txn_begin(accord_node *node,
                                                      accord_doc *doc,
                                                      accord_txn **out);

/* Commits txn and stores the change, its hash-chain head and bookkeeping in
 * one LMDB write: when this returns 0 the change is durable (see
 * accord_durability). On error the change is undone in memory too: the
 * document is as before the transaction began. ESTALE: another process
 * committed to this document meanwhile; the document has been brought up
 * to date, begin again. A plain accord_txn_commit on a node's document is
 * stored only at the next node call on it, not durably at once.
 * Errors: as accord_txn_commit, ESTALE, EFULL, ESTORE. */
ACCORD_API ACCORD_NODISCARD int accord_node_txn_commit(
    accord_node *node, accord_txn *txn, accord_change_info *info);

/* Imports a batch (accord_doc_import) and stores the result in one write:
 * new changes, their heads and the changes now waiting for dependencies.
 * All or nothing, in memory and on disk. stats may be NULL.
 * Errors: as accord_doc_import, EFULL, ESTORE. */
ACCORD_API ACCORD_NODISCARD int accord_node_doc_import(
    accord_node *node, accord_doc *doc, const uint8_t *batch, size_t len,
    accord_import_stats *stats);

/* The fork evidence (accord_doc_forks) stored for every document of
 * workspace ws, by document then author and seq: *out is one buffer (free
 * with accord_free; evidence points inside it). A node document stores the
 * evidence its imports find in the same write as the import; opening it
 * loads what is stored. Errors: ENOTFOUND (ws), ECORRUPT (a stored record
 * does not verify), ESTORE, ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_node_forks(accord_node *node,
                                                  const uint8_t *ws,
                                                  accord_fork **out,
                                                  size_t *n);

/* Housekeeping and other processes ----------------------------------------- */

#define ACCORD_MAINTAIN_ALL 1u /* ignore the thresholds: every document */

typedef struct accord_maintain_stats {
  size_t snapshots;       /* snapshots written */
  size_t records_before;  /* change records rewritten by compaction... */
  size_t records_after;   /* ...and what they became */
} accord_maintain_stats;

/* Refreshes snapshots and compacts change records of every stored document
 * past the thresholds (or all, with ACCORD_MAINTAIN_ALL), a document per
 * write transaction. For a daemon's idle time; never needed for
 * correctness. stats may be NULL. Errors: ECORRUPT, EFULL, ESTORE, ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_node_maintain(
    accord_node *node, unsigned flags, accord_maintain_stats *stats);

/* BATCHED: fsyncs everything committed so far. DURABLE: nothing to do.
 * Errors: ESTORE. */
ACCORD_API ACCORD_NODISCARD int accord_node_sync(accord_node *node);

/* A counter that every write to the store, by any process, increases
 * (LMDB's last transaction id), to *counter. Reading it costs no I/O and no
 * lock: a daemon polls it (say every 100 ms) and, when it moved, looks for
 * new changes. Errors: none besides EINVAL. */
ACCORD_API ACCORD_NODISCARD int accord_node_changed(accord_node *node,
                                                    uint64_t *counter);

/* Checks every stored change of every document against its hash chain,
 * and every snapshot. Errors: ECORRUPT (the message names the first bad
 * document and change), ESTORE, ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_node_verify(accord_node *node);

/* ======================== end of nodes and storage ======================== */

/* ===========================================================================
 * Domain: goals and messaging
 *
 * The team's documents (DESIGN §8), as accord documents in a node's
 * workspace: a goal is a document of type ACCORD_GOAL_TYPE, a messaging
 * document one of type ACCORD_MESSAGING_TYPE; members' names and functions
 * are the workspace's membership (accord_member_list). docs/schema.md gives
 * every key, its type and why.
 *
 * Writes take an open transaction (accord_node_txn_begin or
 * accord_txn_begin) on a document of the right type and do nothing else:
 * the caller commits, so one command is one change, and can attach a
 * reason with accord_txn_set_message. Every argument is checked before the
 * first operation, so a write that fails for a bad argument changes
 * nothing and the transaction stays usable; a write that runs out of
 * memory (ENOMEM) may have applied part of its operations: abort the
 * transaction then. Text fields are only ever changed by
 * minimal splices (accord_text_update), so concurrent edits elsewhere in
 * the same text survive.
 *
 * Field names are those of the command line: goal fields "title",
 * "description", "metric" (the metric's name), "unit", "baseline",
 * "target", "direction" (up|down), "due" (YYYY-MM-DD, UTC), "team"
 * (product|marketing|shared), "status" (on-track|at-risk|off-track|done;
 * spaces or underscores for the dashes are accepted); messaging fields
 * "title", "product", "value-prop", "positioning", "press-release", "faq",
 * "status" (draft|review|approved). Underscores may replace dashes.
 *
 * Results (accord_goal, accord_messaging, conflicts, the alignment report)
 * are single buffers the caller frees with accord_free; strings
 * inside are NUL-terminated UTF-8 and live as long as the buffer.
 */
#define ACCORD_GOAL_TYPE "goal"
#define ACCORD_MESSAGING_TYPE "messaging"

/* Text diffs ---------------------------------------------------------------- */

/* One edit of a text: at code point pos, delete del code points, insert
 * ins (ins_len bytes of UTF-8, pointing into the new text given to
 * accord_text_diff). */
typedef struct accord_splice {
  size_t pos;
  size_t del;
  const char *ins;
  size_t ins_len;
} accord_splice;

/* The splices that turn old_text into new_text: a character diff (Myers'
 * O(ND) on code points, after trimming the common prefix and suffix). When
 * the texts differ in more than a few thousand code points the middle
 * between the common prefix and suffix becomes one splice. Splices come in
 * descending position order, so applying them one after the other in the
 * order given, positions need no adjusting. *out (free with accord_free;
 * NULL when *n is 0) points into new_text, which must outlive its use.
 * Errors: EUTF8 (either text), ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_text_diff(const char *old_text,
                                                 size_t old_len,
                                                 const char *new_text,
                                                 size_t new_len,
                                                 accord_splice **out,
                                                 size_t *n);

/* Makes the text object obj read s (len bytes of UTF-8) by the splices of
 * accord_text_diff, applied in txn. *nsplices (may be NULL) receives how
 * many. Errors: ENOTFOUND, ETYPE, EUTF8, ETOOBIG, ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_text_update(accord_txn *txn,
                                                   accord_id obj,
                                                   const char *s, size_t len,
                                                   size_t *nsplices);

/* Fields shared by both document types ------------------------------------- */

/* The text object of a text field ("title", "description", "value-prop",
 * "positioning", "press-release", "faq"). Errors: EINVAL (not a text field
 * of this document), ENOTFOUND (the document lacks it), ETYPE. */
ACCORD_API ACCORD_NODISCARD int accord_domain_text_field(const accord_doc *doc,
                                                         const char *field,
                                                         accord_id *out);

/* Records a link to another document (its 16-byte id) in this document's
 * set of links: a goal's linked messaging, a messaging document's goals.
 * Linking twice is harmless; concurrent links merge. Errors: EINVAL,
 * ENOTFOUND (not a goal or messaging document). */
ACCORD_API ACCORD_NODISCARD int accord_domain_link(accord_txn *txn,
                                                   const uint8_t *other_id,
                                                   int64_t now_ms);

/* One of the concurrent values of a field (accord_map_conflicts on the
 * field's key), its author and the time of the change that set it. */
typedef struct accord_field_value {
  const char *field;   /* field name, as above */
  accord_value value;  /* INT, DOUBLE, STR, TIMESTAMP...; strings in buffer */
  uint8_t author[ACCORD_ACTOR_BYTES];
  int64_t time;        /* ms since the epoch; 0 if unknown */
} accord_field_value;

/* Every field of a goal or messaging document that holds concurrent
 * values: *n entries, grouped by field, the current winner first in each
 * group. *out is one buffer (free with accord_free; NULL when *n is 0).
 * Errors: ENOTFOUND (not a goal or messaging document), ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_domain_conflicts(
    accord_doc *doc, accord_field_value **out, size_t *n);

/* Goals --------------------------------------------------------------------- */

typedef struct accord_checkin {
  int64_t time;        /* ms since the epoch */
  double value;
  const char *note;    /* "" when none */
  const char *author;  /* the author's name when known, else "" */
  uint8_t actor[ACCORD_ACTOR_BYTES]; /* who checked in */
} accord_checkin;

typedef struct accord_goal {
  const char *title, *description;
  const char *metric, *unit, *direction; /* "" when unset; direction up|down */
  int has_baseline, has_target, has_current;
  double baseline, target;
  double current;      /* the value of the latest check-in (by time) */
  int64_t due;         /* ms, midnight UTC of the due day; 0 when unset */
  int64_t created;     /* ms, when the goal was added */
  const char *team;    /* product|marketing|shared, or "" */
  const char *status;  /* on-track|at-risk|off-track|done */
  const char **owners; size_t nowners;
  const accord_checkin *checkins; size_t ncheckins; /* in list order */
  const uint8_t (*links)[ACCORD_DOC_ID_BYTES]; size_t nlinks; /* messaging */
} accord_goal;

/* Lays out a new goal in an empty goal document: title, an empty
 * description, an empty metric (direction up), status on-track, created
 * at now_ms, no check-ins, owners or links. Errors: EINVAL (empty title,
 * or the document has a title already), EUTF8, ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_goal_init(accord_txn *txn,
                                                 const char *title,
                                                 int64_t now_ms);

/* Sets a field from its text form (numbers for baseline and target,
 * YYYY-MM-DD for due, one of the listed words for direction, team and
 * status; title and description as splices). Writing a field supersedes
 * every value this replica sees, so it also resolves a conflict. Target
 * and status changes are what accord_goal_history reports: give them a
 * reason with accord_txn_set_message. Errors: EINVAL (unknown field, or a
 * value that does not parse: see accord_domain_check), EUTF8, ENOTFOUND
 * (not a goal), ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_goal_set(accord_txn *txn,
                                                const char *field,
                                                const char *value);

/* Adds an owner (a member's name or id); an owner already listed is not
 * added twice. Errors: EINVAL (empty), EUTF8, ENOTFOUND, ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_goal_add_owner(accord_txn *txn,
                                                      const char *owner);

/* Appends a check-in {time, value, note, author, actor}; the current value
 * is the latest check-in's. author is the member's name (may be NULL).
 * Errors: EINVAL (value not finite), EUTF8, ENOTFOUND, ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_goal_checkin(accord_txn *txn,
                                                    double value,
                                                    const char *note,
                                                    const char *author,
                                                    int64_t time_ms);

/* Reads a goal. Errors: ENOTFOUND (not a goal: no title), ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_goal_read(const accord_doc *doc,
                                                 accord_goal **out);

/* How far the goal has come: (current - baseline) / (target - baseline),
 * with baseline 0 when unset and current = baseline before any check-in;
 * the sign makes it work for "down" metrics. Not clamped (over 1: past
 * the target). Errors: ENOTFOUND (no target). */
ACCORD_API ACCORD_NODISCARD int accord_goal_progress(const accord_goal *goal,
                                                     double *progress);

/* One change of a tracked goal field (target, baseline, due, status,
 * team): what it became, who, when and why. Borrowed for the callback. */
typedef struct accord_goal_event {
  const char *field;
  accord_value value;   /* ACCORD_NULL when the field was deleted */
  const uint8_t *author;
  int64_t time;
  const char *why;      /* the change's message, "" when none */
  size_t why_len;
  uint64_t seq;         /* the change's place in its author's chain */
} accord_goal_event;

typedef int (*accord_goal_event_fn)(void *userdata,
                                    const accord_goal_event *event);

/* Calls fn for every change of a tracked field, in causal order (the
 * creation's values included). Returns 0, fn's non-zero value, or the
 * errors of accord_doc_history; ENOTFOUND when doc is not a goal. */
ACCORD_API ACCORD_NODISCARD int accord_goal_history(accord_doc *doc,
                                                    accord_goal_event_fn fn,
                                                    void *userdata);

/* Messaging ----------------------------------------------------------------- */

typedef struct accord_key_message {
  const char *message;
  const char **proof_points; size_t nproof_points;
} accord_key_message;

typedef struct accord_approval {
  uint8_t member[ACCORD_ACTOR_BYTES];
  const char *name;   /* as recorded at approval, "" if unknown */
  const char *role;   /* product|marketing|... as recorded, "" if unknown */
  int64_t time;
} accord_approval;

typedef struct accord_messaging {
  const char *title, *product, *status;
  const char *value_prop, *positioning, *press_release, *faq;
  const char **audiences; size_t naudiences;
  const accord_key_message *key_messages; size_t nkey_messages;
  const accord_approval *approvals; size_t napprovals; /* by member id */
  const uint8_t (*links)[ACCORD_DOC_ID_BYTES]; size_t nlinks; /* goals */
  int64_t created;
} accord_messaging;

/* Lays out a new messaging document: title, empty texts, status draft,
 * created at now_ms. Errors: as accord_goal_init. */
ACCORD_API ACCORD_NODISCARD int accord_messaging_init(accord_txn *txn,
                                                      const char *title,
                                                      int64_t now_ms);

/* Sets a field from its text (text fields as splices). Errors: as
 * accord_goal_set. */
ACCORD_API ACCORD_NODISCARD int accord_messaging_set(accord_txn *txn,
                                                     const char *field,
                                                     const char *value);

/* Adds an audience (not twice). Errors: EINVAL, EUTF8, ENOTFOUND, ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_messaging_add_audience(
    accord_txn *txn, const char *audience);

/* Appends a key message with nproofs proof points. Errors: EINVAL (empty
 * message), EUTF8, ENOTFOUND, ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_messaging_key_add(
    accord_txn *txn, const char *message, const char *const *proofs,
    size_t nproofs);

/* Removes key message index (0-based). Errors: ERANGE, ENOTFOUND. */
ACCORD_API ACCORD_NODISCARD int accord_messaging_key_remove(accord_txn *txn,
                                                            size_t index);

/* Records member's approval (8-byte actor id) with the name and role
 * (function: product, marketing...) it was given under, at now_ms. Once
 * both a product and a marketing approval are recorded the status becomes
 * "approved". Errors: EINVAL, EUTF8, ENOTFOUND, ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_messaging_approve(
    accord_txn *txn, const uint8_t *member, const char *name,
    const char *role, int64_t now_ms);

/* Reads a messaging document. Errors: ENOTFOUND (no title), ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_messaging_read(const accord_doc *doc,
                                                      accord_messaging **out);

/* Checks a field's value without writing it: 0 when accord_goal_set
 * (is_goal != 0) or accord_messaging_set would take it, else EINVAL with a
 * sentence naming the problem in why (static, may be NULL). */
ACCORD_API ACCORD_NODISCARD int accord_domain_check(int is_goal,
                                                    const char *field,
                                                    const char *value,
                                                    const char **why);

/* Parses YYYY-MM-DD (a real calendar day, years 1970..9999) as midnight
 * UTC in ms. Errors: EINVAL. */
ACCORD_API ACCORD_NODISCARD int accord_parse_date(const char *s,
                                                  int64_t *ms);

/* The alignment report ------------------------------------------------------ */

typedef enum accord_align_kind {
  ACCORD_ALIGN_GOAL_UNLINKED = 0, /* goal without messaging */
  ACCORD_ALIGN_MSG_UNLINKED,      /* messaging without goals */
  ACCORD_ALIGN_GOAL_AT_RISK,      /* progress behind time elapsed */
  ACCORD_ALIGN_MSG_UNAPPROVED,    /* lacks a product or marketing approval */
  ACCORD_ALIGN_CONFLICT           /* a field holds concurrent values */
} accord_align_kind;

typedef struct accord_align_item {
  accord_align_kind kind;
  uint8_t doc[ACCORD_DOC_ID_BYTES];
  const char *title;
  const char *detail;  /* one sentence: why it is listed */
  double progress;     /* AT_RISK: fraction of the way to target */
  double elapsed;      /* AT_RISK: fraction of the time to due */
} accord_align_item;

/* The alignment report of workspace ws at now_ms (docs/schema.md states
 * the rules): items grouped by kind in the enum's order, then by document
 * id. Errors: ENOTFOUND (ws), ECORRUPT, ESTORE, ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_align_report(accord_node *node,
                                                    const uint8_t *ws,
                                                    int64_t now_ms,
                                                    accord_align_item **out,
                                                    size_t *n);

/* ========================= end of goals and messaging ===================== */

/* ===========================================================================
 * Membership and invites (DESIGN §7; core/members*.c, core/token.c)
 *
 * Each workspace has one membership document of type "system" (schema in
 * docs/schema.md) whose id every node derives from the workspace id. Only
 * its members' changes are accepted: every import checks the sealing key
 * against it (ENOTMEMBER), and a node that is not a member cannot commit.
 * Members are identified by their actor id (8 bytes, derived from the
 * public key); a second key for an existing actor id is refused.
 *
 * The functions that take a node follow the node's threading rule (and,
 * while an accord_net runs, run on its thread: in a callback or through
 * accord_net_call). The others (accord_system_doc_id, accord_invite_parse,
 * accord_invite_free, accord_invite_id) take no handle and run anywhere.
 */

#define ACCORD_SYSTEM_TYPE "system"
#define ACCORD_INVITE_SECRET_BYTES 32
#define ACCORD_INVITE_ID_BYTES 16

/* The id (16 bytes, to id) of workspace ws's membership document (ws: 16
 * bytes). Errors: EINVAL, ENOMEM (crypto init). */
ACCORD_API ACCORD_NODISCARD int accord_system_doc_id(const uint8_t *ws,
                                                     uint8_t *id);

typedef struct accord_member {
  uint8_t actor[ACCORD_ACTOR_BYTES];
  uint8_t public_key[ACCORD_PUBKEY_BYTES];
  const char *name; /* NUL-terminated, inside the same buffer; may be "" */
  const char *role; /* product|marketing|shared or "" */
  uint8_t added_by[ACCORD_ACTOR_BYTES]; /* the author of the add */
  int64_t added_at;                     /* ms since the epoch */
  int removed;                          /* 1: removed (no new changes) */
  uint8_t removed_by[ACCORD_ACTOR_BYTES]; /* one remover, when removed */
  int64_t removed_at;
} accord_member;

/* Every member of ws (16 bytes), current and removed, in actor id order:
 * *out is one buffer (free with accord_free; the strings live inside it),
 * *n entries. Errors: ENOTFOUND (no such workspace), ENOTMEMBER (this node
 * holds no membership document for ws), ECORRUPT, ESTORE, ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_member_list(accord_node *node,
                                                   const uint8_t *ws,
                                                   accord_member **out,
                                                   size_t *n);

/* Adds the holder of public_key (32 bytes) as a member named name (UTF-8,
 * 1..256 bytes) with role (product|marketing|shared, NULL or "" for none),
 * as one durable change by this node. Adding a current member again is a
 * no-op; a removed member's key cannot be added again (EINVAL: that would
 * erase the cutoffs). Errors: EINVAL, EKEY (another key already holds that
 * actor id),
 * ENOTMEMBER (this node is not a member), ESTALE, EFULL, ESTORE, ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_member_add(accord_node *node,
                                                  const uint8_t *ws,
                                                  const uint8_t *public_key,
                                                  const char *name,
                                                  const char *role);

/* Sets this node's own member name and/or role (NULL or "" keeps it), as
 * one durable change. Errors: as accord_member_add. */
ACCORD_API ACCORD_NODISCARD int accord_member_update(accord_node *node,
                                                     const uint8_t *ws,
                                                     const char *name,
                                                     const char *role);

/* Removes member actor (8 bytes): one durable change recording, per
 * document of ws, how much of the member's work this node holds (the
 * cutoff). Every node then refuses the member's changes past the cutoff
 * (ENOTMEMBER) and drops those it had already stored. Errors: ENOTFOUND
 * (no such member), ENOTMEMBER, ESTALE, EFULL, ESTORE, ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_member_remove(accord_node *node,
                                                     const uint8_t *ws,
                                                     const uint8_t *actor);

/* A parsed invite token (docs/token.md). One buffer: free it with
 * accord_invite_free, which wipes the key and secret. */
typedef struct accord_invite {
  uint8_t ws[ACCORD_WS_ID_BYTES];
  uint8_t key[32];                          /* the workspace key */
  uint8_t secret[ACCORD_INVITE_SECRET_BYTES];
  int64_t expires;                          /* ms since the epoch */
  size_t naddrs;
  const char **addrs; /* HOST:PORT strings, inside the same buffer */
} accord_invite;

/* Records a new invite to ws in the membership document (one durable
 * change, which holds the invite's id, never its secret) and returns its
 * token in *token (NUL-terminated, free with accord_free; NULL on
 * failure): the workspace id and key, the peer addresses addrs[naddrs]
 * (copied; 0..16, each 1..255 printable ASCII bytes: where members listen
 * for accord_net_join), a fresh 32-byte secret and the expiry expires_ms
 * (ms since the epoch, in the future). The token carries the workspace key:
 * hand it over like a password. Errors: EINVAL, ENOTFOUND (ws),
 * ENOTMEMBER, EFULL, ESTORE, ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_invite_create(
    accord_node *node, const uint8_t *ws, const char *const *addrs,
    size_t naddrs, int64_t expires_ms, char **token);

/* Parses a token (a NUL-terminated string from outside: every field is
 * checked) into *out, one buffer freed with accord_invite_free (not
 * accord_free); NULL on failure. Needs no node: any thread. Errors:
 * EINVAL, EMALFORMED (not a token, truncated or a wrong checksum),
 * EVERSION (a token version this build does not know), ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_invite_parse(const char *token,
                                                    accord_invite **out);

/* Wipes and frees a parsed invite. NULL is a no-op. */
ACCORD_API void accord_invite_free(accord_invite *invite);

/* The invite id (16 bytes, to id) of a secret (32 bytes): what the
 * membership document records instead of the secret. Errors: EINVAL,
 * ENOMEM (crypto init). */
ACCORD_API ACCORD_NODISCARD int accord_invite_id(const uint8_t *secret,
                                                 uint8_t *id);

/* Member side of joining: a joiner with Ed25519 key joiner_pk presents the
 * secret of an invite of ws. If the invite exists and is not used, revoked
 * or expired, one durable change by this node adds the joiner (name 1..256
 * bytes of UTF-8, role as accord_member_add) and marks the invite used.
 * Redeeming again with the same key after it succeeded is a no-op. The
 * network does this on the member's side when a joiner presents an invite
 * (accord_net_join); call it yourself only to carry joins over a transport
 * of your own.
 * Errors: EINVITE, EINVAL, EKEY, ENOTMEMBER (this node is not a member),
 * ESTALE, EFULL, ESTORE, ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_node_invite_redeem(
    accord_node *node, const uint8_t *ws, const uint8_t *secret,
    const uint8_t *joiner_pk, const char *name, const char *role);

/* Revokes invite id (16 bytes) of ws, as one durable change. Revoking a
 * used or revoked invite is a no-op. Errors: EINVITE (unknown), ENOTMEMBER,
 * ESTALE, EFULL, ESTORE, ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_invite_revoke(accord_node *node,
                                                     const uint8_t *ws,
                                                     const uint8_t *id);

typedef struct accord_invite_info {
  uint8_t id[ACCORD_INVITE_ID_BYTES];
  uint8_t by[ACCORD_ACTOR_BYTES];
  int64_t created, expires; /* ms since the epoch */
  int used, revoked;
  uint8_t used_by[ACCORD_ACTOR_BYTES]; /* when used */
} accord_invite_info;

/* Every invite of ws in id order: *out is one buffer (free with
 * accord_free), *n entries. Errors: ENOTFOUND (no such workspace),
 * ENOTMEMBER (no membership document), ESTORE, ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_invite_list(accord_node *node,
                                                   const uint8_t *ws,
                                                   accord_invite_info **out,
                                                   size_t *n);

/* ====================== end of membership and invites ===================== */

/* ===========================================================================
 * Networking (DESIGN §6; net/)
 *
 * An accord_net connects the workspaces of a node (all of them, up to 16,
 * or one) to their peers over encrypted TCP (docs/handshake.md: one port
 * serves every workspace; the key a peer connects with says which) and
 * keeps them in sync (docs/sync.md):
 * a session on every new connection (summaries, version vectors, the
 * missing changes in bounded batches), pushes of every new change to the
 * connected peers (local commits, commits by other processes on the same
 * directory, found by polling accord_node_changed, and changes received
 * from other peers), anti-entropy with a random peer every few seconds,
 * and reconnection with exponential backoff and jitter. Peers are
 * remembered in the node's store (the members it synced with and where
 * they listen) and dialled again when a net starts; members on the local
 * network are found by LAN discovery (opts.no_discovery turns it off).
 *
 * Threading rule. The network runs on one thread: the thread of the
 * embedder's libuv loop (opts.uv_loop), or a thread the library starts
 * (opts.uv_loop == NULL). From accord_net_start until accord_net_stop has
 * returned, the node belongs to that thread: use the node and its documents
 * only there — in the callbacks, or in functions given to accord_net_call,
 * which may be called from any thread. accord_net_add_peer,
 * accord_net_remove_peer, accord_net_port and accord_net_call may be called
 * from any thread; accord_net_stop from any thread but the network one in
 * thread mode, and from the loop's thread in loop mode. Callbacks run on
 * the network thread; they may call any accord_net_* function but
 * accord_net_stop.
 *
 * Signals: writing to a connection its peer closed raises SIGPIPE, which by
 * default ends the process. accord_net_start sets SIGPIPE to ignored if it
 * is at its default (a handler the program installed is left alone).
 */
typedef struct accord_net accord_net;

/* Sync progress with one peer, for the round (session or anti-entropy)
 * in progress: documents and changes received so far and expected. done
 * never passes total; both pairs meet once every document asked for in
 * the round has arrived (changes_total follows the peer's word on what
 * remains, so it can move either way while a document arrives). A round
 * that overlaps one still under way continues its counts. */
typedef struct accord_net_progress {
  const uint8_t *peer_key; /* the peer's public key (32 bytes), borrowed */
  uint64_t docs_done, docs_total;
  uint64_t changes_done, changes_total;
} accord_net_progress;

/* Callbacks of an accord_net. Each may be NULL. They run on the network
 * thread, one at a time; pointer arguments are borrowed for the call
 * (copy what you keep). userdata is passed back as given and must stay
 * valid until accord_net_stop has returned. A callback may use the node
 * and call any accord_net_* function but accord_net_stop. */
typedef struct accord_net_callbacks {
  /* A peer's connection opened (connected 1, after the handshake proved
   * its key, 32 bytes) or closed (0). address is "ip:port" /
   * "[ip6]:port". */
  void (*peer)(void *userdata, const uint8_t *public_key, const char *address,
               int connected);
  /* Sync progress with a peer (p borrowed for the call). */
  void (*progress)(void *userdata, const accord_net_progress *p);
  /* Changes from a peer were stored into document doc_id (16 bytes) of
   * workspace ws (16 bytes): open it (accord_node_doc_open) to read them.
   * Not called for this node's own commits. */
  void (*doc_changed)(void *userdata, const uint8_t *ws, const uint8_t *doc_id);
  /* One line, no newline: connections refused or closed with the reason,
   * bad messages, reconnects. */
  void (*log)(void *userdata, const char *line);
  /* accord_net_join only: the join ended, once: 0 (the workspace is this
   * node's now, and syncing has begun), EINVITE (the member refused the
   * invite, or closed the connection before accepting it) or ENET (no
   * connection: wrong address, or a key the member does not hold). It
   * does not fire if accord_net_stop comes first. */
  void (*joined)(void *userdata, int result);
  void *userdata;
} accord_net_callbacks;

/* Options for accord_net_start and accord_net_join. All-zero means the
 * defaults. Read during the call: nothing in it needs to outlive it except
 * the loop and the callbacks' userdata. */
typedef struct accord_net_opts {
  /* The workspace (16 bytes, copied); NULL: every workspace the node has
   * (up to 16), including those created or joined while the net runs
   * (taken in within about poll_ms). A peer address is dialled once for
   * each workspace served. */
  const uint8_t *workspace;
  /* The embedder's uv_loop_t (void * so that this header needs no uv.h);
   * NULL: a thread of the library's runs its own loop. */
  void *uv_loop;
  /* Where to accept connections: "127.0.0.1:7800", "[::1]:0" (port 0: an
   * ephemeral port, see accord_net_port), "0.0.0.0:7800"; NULL: none. */
  const char *listen;
  uint32_t anti_entropy_ms;  /* 0: 5000 */
  uint32_t reconnect_min_ms; /* first retry after about this (0: 250) */
  uint32_t reconnect_max_ms; /* backoff cap (0: 30000) */
  uint32_t poll_ms;          /* other processes' commits (0: 100) */
  uint32_t handshake_ms;     /* handshake and first-summary deadline
                                (0: 10000) */
  /* LAN discovery (docs/discovery.md) is on by default while the net
   * listens: IPv4 UDP multicast beacons announce the listen port to the
   * workspace's members on the link, and members heard are dialled.
   * 1: off (no beacon sent or heard). */
  int no_discovery;
  /* The peers the store remembers (accord_node_peers) are dialled at
   * start; 1: only the peers given with accord_net_add_peer (a one-shot
   * sync with one chosen peer). */
  int no_remembered_peers;
  accord_net_callbacks cb;
} accord_net_opts;

/* Starts networking for a node (see the threading rule above): call it on
 * the thread that has the node (in loop mode, the loop's thread). On 0,
 * *out is the running net and the node belongs to the network thread until
 * accord_net_stop, which must come before accord_node_close. On error
 * nothing runs, no callback fires and the node stays the caller's.
 * Errors: ENOTFOUND (no such workspace, or none at all), EINVAL (a
 * listen address that is not an IP literal with a port, or more than 16
 * workspaces without opts.workspace), ENET (could not bind or listen, or
 * start the thread; the reason goes to the log callback), ESTORE, ENOMEM.
 * *out = NULL on failure. */
ACCORD_API ACCORD_NODISCARD int accord_net_start(accord_node *node,
                                                 const accord_net_opts *opts,
                                                 accord_net **out);

/* What joining a workspace needs from an invite (all copied). */
typedef struct accord_join_info {
  const uint8_t *workspace; /* ACCORD_WS_ID_BYTES */
  const uint8_t *key;       /* the workspace key, 32 bytes */
  const uint8_t *secret;    /* the invite's one-time secret, 32 bytes */
  const char *address;      /* a member's "ip:port" / "[ip6]:port" */
} accord_join_info;

/* Starts networking for a workspace this node joins with an invite: it
 * connects to invite->address, presents the secret with this node's name
 * (UTF-8, 1..256 bytes) and role (NULL: the default; at most 64 bytes),
 * and once the member accepts, records the workspace from the genesis
 * record it sends and syncs it like accord_net_start (opts->workspace is
 * ignored). The outcome arrives through opts->cb.joined; after a refusal
 * the net stays up but does nothing: stop it. A workspace the node has
 * already is not joined again (joined reports 0 soon, on the network
 * thread). invite, name and role are copied. Threading and ownership as
 * accord_net_start. Errors: as accord_net_start; EINVAL (missing invite
 * fields, a bad address, name or role). */
ACCORD_API ACCORD_NODISCARD int accord_net_join(
    accord_node *node, const accord_net_opts *opts,
    const accord_join_info *invite, const char *name, const char *role,
    accord_net **out);

/* The port listened on (the one picked for "host:0"), or 0 when not
 * listening. Any thread. */
ACCORD_API int accord_net_port(const accord_net *net);

/* Connects to a peer at address ("127.0.0.1:7800", "[::1]:7800"), copied,
 * once per workspace served, and keeps reconnecting (exponential backoff,
 * jitter) until accord_net_remove_peer. Adding an address twice is a
 * no-op. Errors: EINVAL (not an IP literal with a port), ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_net_add_peer(accord_net *net,
                                                    const char *address);

/* Stops reconnecting to address and closes its connection. Called from
 * another thread than the network's, the removal is queued (0), and an
 * address never added is ignored. Errors: EINVAL (bad address), ENOTFOUND
 * (not added; on the network thread). */
ACCORD_API ACCORD_NODISCARD int accord_net_remove_peer(accord_net *net,
                                                       const char *address);

/* Runs fn(net, userdata) on the network thread, soon (from the network
 * thread itself: on the next loop iteration). Any thread may call it: it is
 * how other threads use the node while the net runs. fn fires exactly once
 * when this returns 0, also when the network stops first (then during
 * accord_net_stop), and never when it returns an error. fn runs like a
 * callback: it may use the node and call accord_net_* functions but
 * accord_net_stop. userdata must stay valid until fn has run.
 * Errors: ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_net_call(
    accord_net *net, void (*fn)(accord_net *net, void *userdata),
    void *userdata);

/* Closes every connection and the listener and stops. Thread mode: waits
 * for the thread to end; the node is the caller's again on return. Loop
 * mode: the handles close on the loop (run it until uv_run returns, or on);
 * no callback fires after this returns, and the node is free to use at
 * once. Never call it from inside a callback or an accord_net_call
 * function (in loop mode, defer it to a handle of your own, e.g. a 0 ms
 * uv_timer_t). net is gone afterwards. NULL is a no-op. */
ACCORD_API void accord_net_stop(accord_net *net);

/* ============================ end of networking =========================== */

#ifdef __cplusplus
}
#endif
#endif /* ACCORD_H */
