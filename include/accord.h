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
 *   call leaves the document as it was.
 *
 * Ownership
 *   Buffers the library returns (uint8_t **out / char **out) belong to the
 *   caller and are released with accord_free(). Pointers inside an
 *   accord_value (strings, bytes) are borrowed from the document: valid until
 *   the document is next changed (a transaction operation, commit, abort or
 *   import) or freed. Inputs are always copied.
 *
 * Threading
 *   Functions on different documents may run on different threads at once.
 *   One document (and its transaction) must not be used by two threads at the
 *   same time; the caller serialises access. The library keeps no global
 *   mutable state except libsodium's initialisation, which accord_doc_new()
 *   and accord_doc_load() perform thread-safely, and the list of node
 *   directories open in the process (accord_node_open), behind a mutex.
 *   A node and the documents opened through it are used by one thread at a
 *   time.
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
  X(ESCHEMA, -15, "the store was written by a newer version of accord")       \
  X(ENOTSTORE, -16, "the directory is not an accord store")                  \
  X(EFULL, -17, "storage is full (disk or map size limit)")                  \
  X(EKEYPERM,                                                                  \
    -18, "identity key file is accessible by others: chmod 600 identity.key") \
  X(EIDENTITY, -19, "identity key is missing or does not match the store")   \
  X(ECORRUPT, -20, "stored data is corrupted (see accord_node_errmsg)")      \
  X(ESTALE, -21, "another process changed the document: retry")

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

/* Releases a buffer returned by the library. NULL is a no-op. */
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

/* Frees a document and any open transaction on it. NULL is a no-op. */
ACCORD_API void accord_doc_free(accord_doc *doc);

/* Borrowed pointers to the 16-byte document id and the 8-byte local actor,
 * valid for the document's lifetime. */
ACCORD_API const uint8_t *accord_doc_id(const accord_doc *doc);
ACCORD_API const uint8_t *accord_doc_actor(const accord_doc *doc);

/* Memory held by the document (its CRDT state, history and indexes), in
 * bytes, as counted by the engine. */
ACCORD_API size_t accord_doc_mem_bytes(const accord_doc *doc);

/* The type of object obj. Errors: ENOTFOUND. */
ACCORD_API ACCORD_NODISCARD int accord_obj_type(const accord_doc *doc,
                                                accord_id obj,
                                                accord_type *out);

/* ---------------------------------------------------------------------------
 * Transactions. At most one is open per document. Operations apply to the
 * document at once (reads see them); commit turns them into one change.
 * An operation that fails changes nothing and the transaction stays usable.
 */

/* Opens a transaction. Errors: EBUSY (one is open), ENOMEM. */
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
 * operations commits nothing (info->seq = 0). Errors: ENOMEM (the
 * transaction is then aborted as by accord_txn_abort). */
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

/* The winning value of key. Errors: ENOTFOUND (obj, or no value at key —
 * also for a key that is not valid UTF-8, which no key can be), ETYPE. */
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

/* Number of keys with a value. Errors: ENOTFOUND, ETYPE. */
ACCORD_API ACCORD_NODISCARD int accord_map_size(const accord_doc *doc,
                                                accord_id obj, size_t *n);

/* The i-th key in bytewise order (0 <= i < size). *key is borrowed and
 * NUL-terminated. Errors: ENOTFOUND, ETYPE, ERANGE. */
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

/* Inserts a new empty object of type (MAP, LIST, TEXT) at index.
 * Errors: as accord_list_insert. */
ACCORD_API ACCORD_NODISCARD int accord_list_insert_object(accord_txn *txn,
                                                          accord_id obj,
                                                          size_t index,
                                                          accord_type type,
                                                          accord_id *created);

/* Deletes count elements from index. Errors: ENOTFOUND, ETYPE, ERANGE. */
ACCORD_API ACCORD_NODISCARD int accord_list_delete(accord_txn *txn,
                                                   accord_id obj, size_t index,
                                                   size_t count);

/* Number of elements. Errors: ENOTFOUND, ETYPE. */
ACCORD_API ACCORD_NODISCARD int accord_list_len(const accord_doc *doc,
                                                accord_id obj, size_t *n);

/* The element at index. Errors: ENOTFOUND, ETYPE, ERANGE. */
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

/* Length in code points. Errors: ENOTFOUND, ETYPE. */
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
 * as numbers of ms). NUL-terminated; free with accord_free. Errors: ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_doc_json(const accord_doc *doc,
                                                char **out, size_t *len);

/* This replica's version vector: the highest contiguous change seq applied
 * per actor, encoded for accord_doc_changes_since. Free with accord_free. */
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
} accord_import_stats;

/* Imports a batch: all or nothing. Changes whose dependencies are missing
 * wait inside the document. stats may be NULL.
 * Errors: EMALFORMED, ETOOBIG, EVERSION, EOTHERDOC, ECHAIN (a change does
 * not follow its author's chain), EFORK (a different change with a seq we
 * have), EUTF8, EBUSY (a transaction is open), ENOMEM. On error nothing
 * changed. */
ACCORD_API ACCORD_NODISCARD int accord_doc_import(accord_doc *doc,
                                                  const uint8_t *batch,
                                                  size_t len,
                                                  accord_import_stats *stats);

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

/* The head of an actor's hash chain in this document: its latest seq and
 * BLAKE2b-256 hash. Errors: ENOTFOUND (no change by that actor). */
ACCORD_API ACCORD_NODISCARD int accord_doc_chain_head(accord_doc *doc,
                                                      const uint8_t *actor,
                                                      uint64_t *seq,
                                                      uint8_t *hash);

/* Saves the whole document to bytes (free with accord_free): every change
 * (what peers need to keep syncing), the changes still waiting for their
 * dependencies, and the current state, so loading is fast.
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
 * them from one thread at a time. Different nodes are independent.
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
 * accord wrote it), EKEYPERM (identity.key readable by others), EIDENTITY
 * (identity.key missing or not this store's), EBUSY (already open in this
 * process), ENOTFOUND (no_create and no store), EFULL, ESTORE, ENOMEM.
 * An older schema is migrated in one transaction. *out = NULL on failure. */
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

/* Creates a workspace named name (UTF-8, 1..256 bytes) founded by this node.
 * Its id (16 bytes, BLAKE2b of the genesis record) goes to id_out.
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

/* Documents ---------------------------------------------------------------- */

/* Creates a document of type (1..64 bytes of [A-Za-z0-9._-], e.g. "goal",
 * "messaging", "system") in workspace ws, recorded with this node as its
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
 * (LMDB's last transaction id). Reading it costs no I/O and no lock: a
 * daemon polls it (say every 100 ms) and, when it moved, looks for new
 * changes. */
ACCORD_API ACCORD_NODISCARD int accord_node_changed(accord_node *node,
                                                    uint64_t *counter);

/* Checks every stored change of every document against its hash chain,
 * and every snapshot. Errors: ECORRUPT (the message names the first bad
 * document and change), ESTORE, ENOMEM. */
ACCORD_API ACCORD_NODISCARD int accord_node_verify(accord_node *node);

/* ======================== end of nodes and storage ======================== */

#ifdef __cplusplus
}
#endif
#endif /* ACCORD_H */
