/*
 * node.c — opening and closing a node: its directory, its identity, the
 * store; workspaces and the listings of the public API (accord.h, "Nodes
 * and storage"). Documents are node_doc.c's.
 *
 * Directory rules. The directory is created 0700 (with missing parents,
 * also 0700, as the XDG spec asks) when it does not exist or is empty. A
 * directory without data.mdb that holds anything other than our own files
 * (lock.mdb, identity.key, identity.key.tmp) is refused (ENOTSTORE): we
 * never scatter a store into a directory that is something else.
 *
 * Identity. On the first open the node makes an Ed25519 key pair, writes
 * the secret key to identity.key (identity.c) and records the public key
 * and actor id in meta; later opens check that the file's key is the one
 * in meta. A crash between the two steps leaves a key file without meta
 * entries, which the next open adopts.
 *
 * One open per directory per process: LMDB's locks are per process
 * (closing a second handle on the same file would drop the first one's
 * locks), so a process-wide registry of open directories (device, inode)
 * under a mutex refuses a second open with EBUSY. That registry is the one
 * piece of global mutable state the node adds.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "identity.h"
#include "members.h"
#include "mem.h"
#include "node.h"
#include "utf8.h"

#define DEFAULT_MAP ((uint64_t)64 << 20)
#define DEFAULT_MAP_MAX ((uint64_t)1 << 40)
#define MIN_MAP ((uint64_t)64 << 10)
#define WS_NAME_MAX 256
#define PATH_MAX_LEN 4096

static void be64_write(uint8_t *p, uint64_t v) {
  for (int i = 7; i >= 0; i--, v >>= 8) p[i] = (uint8_t)v;
}
static uint64_t be64_read(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = v << 8 | p[i];
  return v;
}

_Static_assert(sizeof(size_t) == sizeof(const char *),
               "listings stash string offsets in pointer fields");

/* ---- the registry of open directories ------------------------------------ */

typedef struct reg_entry {
  dev_t dev;
  ino_t ino;
} reg_entry;

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t reg_once = PTHREAD_ONCE_INIT;
static reg_entry *reg;
static size_t reg_n, reg_cap;

/* A forked child holds none of its parent's LMDB locks, and must not use
 * its parent's nodes: it starts with an empty registry. */
static void reg_child(void) { reg_n = 0; }
static void reg_init(void) { pthread_atfork(NULL, NULL, reg_child); }

static int reg_add(dev_t dev, ino_t ino) {
  int rc = 0;
  pthread_once(&reg_once, reg_init);
  pthread_mutex_lock(&reg_lock);
  for (size_t i = 0; i < reg_n; i++)
    if (reg[i].dev == dev && reg[i].ino == ino) rc = ACCORD_EBUSY;
  if (!rc && reg_n == reg_cap) {
    size_t cap = reg_cap ? 2 * reg_cap : 8;
    reg_entry *p = realloc(reg, cap * sizeof *p); /* outlives any node */
    if (!p) rc = ACCORD_ENOMEM;
    else {
      reg = p;
      reg_cap = cap;
    }
  }
  if (!rc) {
    reg[reg_n].dev = dev;
    reg[reg_n].ino = ino;
    reg_n++;
  }
  pthread_mutex_unlock(&reg_lock);
  return rc;
}

static void reg_remove(dev_t dev, ino_t ino) {
  pthread_mutex_lock(&reg_lock);
  for (size_t i = 0; i < reg_n; i++)
    if (reg[i].dev == dev && reg[i].ino == ino) {
      reg[i] = reg[--reg_n];
      break;
    }
  pthread_mutex_unlock(&reg_lock);
}

/* ---- the directory ------------------------------------------------------- */

__attribute__((format(printf, 3, 4))) static int say(char *err, size_t len,
                                                     const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (err && len) vsnprintf(err, len, fmt, ap);
  va_end(ap);
  return 0;
}

/* The directory to use, into out. */
static int resolve_dir(const char *dir, char *out, char *err, size_t elen) {
  const char *env, *home;
  int n;
  if (dir && *dir) n = snprintf(out, PATH_MAX_LEN, "%s", dir);
  else if ((env = getenv("ACCORD_DIR")) && *env)
    n = snprintf(out, PATH_MAX_LEN, "%s", env);
  else if ((env = getenv("XDG_DATA_HOME")) && *env == '/')
    n = snprintf(out, PATH_MAX_LEN, "%s/accord", env);
  else if ((home = getenv("HOME")) && *home)
    n = snprintf(out, PATH_MAX_LEN, "%s/.local/share/accord", home);
  else {
    say(err, elen, "no directory given and neither ACCORD_DIR, "
                   "XDG_DATA_HOME nor HOME is set");
    return ACCORD_EINVAL;
  }
  if (n < 0 || n >= PATH_MAX_LEN) {
    say(err, elen, "the node directory path is too long");
    return ACCORD_EINVAL;
  }
  while (n > 1 && out[n - 1] == '/') out[--n] = 0;
  return 0;
}

/* mkdir -p with mode 0700 for everything it creates. */
static int make_dirs(char *path, char *err, size_t elen) {
  for (char *p = path + 1;; p++) {
    if (*p != '/' && *p) continue;
    char c = *p;
    *p = 0;
    int rc = mkdir(path, 0700);
    int e = errno;
    *p = c;
    if (rc && e != EEXIST) {
      say(err, elen, "cannot create %.*s: %s", (int)(p - path), path,
          strerror(e));
      return e == EACCES || e == EROFS ? ACCORD_ESTORE : ACCORD_ESTORE;
    }
    if (!c) return 0;
  }
}

static int is_ours(const char *name) {
  return !strcmp(name, ".") || !strcmp(name, "..") ||
         !strcmp(name, "lock.mdb") || !strcmp(name, "identity.key") ||
         !strcmp(name, "identity.key.tmp");
}

/* Checks (and creates) the directory. */
static int prepare_dir(char *path, int no_create, struct stat *st, char *err,
                       size_t elen) {
  if (stat(path, st)) {
    if (errno != ENOENT) {
      say(err, elen, "cannot use %s: %s", path, strerror(errno));
      return ACCORD_ESTORE;
    }
    if (no_create) {
      say(err, elen, "no accord store in %s", path);
      return ACCORD_ENOTFOUND;
    }
    int rc = make_dirs(path, err, elen);
    if (rc) return rc;
    if (stat(path, st)) {
      say(err, elen, "cannot use %s: %s", path, strerror(errno));
      return ACCORD_ESTORE;
    }
  }
  if (!S_ISDIR(st->st_mode)) {
    say(err, elen, "%s is not a directory", path);
    return ACCORD_ENOTSTORE;
  }
  DIR *d = opendir(path);
  if (!d) {
    say(err, elen, "cannot read %s: %s", path, strerror(errno));
    return ACCORD_ESTORE;
  }
  int data = 0, foreign = 0;
  char first[256] = "";
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, "data.mdb")) data = 1;
    else if (!is_ours(e->d_name) && !foreign++)
      snprintf(first, sizeof first, "%s", e->d_name);
  }
  closedir(d);
  if (!data && foreign) {
    say(err, elen,
        "%s is not an accord store: it holds other files (such as %s) and "
        "no data.mdb",
        path, first);
    return ACCORD_ENOTSTORE;
  }
  if (!data && no_create) {
    say(err, elen, "no accord store in %s", path);
    return ACCORD_ENOTFOUND;
  }
  return 0;
}

/* ---- identity ------------------------------------------------------------ */

typedef struct idctx {
  const uint8_t *pk, *actor;
  int have;
  uint8_t stored[SIGN_PUBLIC_BYTES];
} idctx;

static int id_read(store_txn *t, void *ctx) {
  idctx *c = ctx;
  const uint8_t *v;
  size_t len;
  int rc = store_meta_get(t, "pubkey", &v, &len);
  if (rc == ACCORD_ENOTFOUND) return 0;
  if (rc) return rc;
  if (len != SIGN_PUBLIC_BYTES)
    return store_fail(store_of(t), ACCORD_ECORRUPT, "meta: bad public key");
  memcpy(c->stored, v, len);
  c->have = 1;
  return 0;
}

static int id_write(store_txn *t, void *ctx) {
  idctx *c = ctx;
  int rc = store_meta_put(t, "pubkey", c->pk, SIGN_PUBLIC_BYTES);
  if (!rc) rc = store_meta_put(t, "actor", c->actor, ACCORD_ACTOR_BYTES);
  return rc;
}

static int load_identity(accord_node *node, char *err, size_t elen) {
  char path[PATH_MAX_LEN + 16];
  idctx c;
  memset(&c, 0, sizeof c);
  snprintf(path, sizeof path, "%s/identity.key", node->dir);
  int rc = store_read(node->st, id_read, &c);
  if (rc) {
    say(err, elen, "%s", store_errmsg(node->st));
    return rc;
  }
  rc = identity_load(path, node->sk, node->pk, err, elen);
  if (rc == ACCORD_ENOTFOUND && c.have) {
    say(err, elen,
        "the identity key %s is missing: this store belongs to a key that "
        "is gone (restore identity.key from a backup)",
        path);
    return ACCORD_EIDENTITY;
  }
  if (rc == ACCORD_ENOTFOUND)
    rc = identity_create(node->dir, path, node->sk, node->pk, err, elen);
  if (rc) return rc;
  key_actor(node->pk, node->actor);
  if (c.have) {
    if (memcmp(c.stored, node->pk, SIGN_PUBLIC_BYTES)) {
      say(err, elen,
          "the identity key %s is not the key this store was created with",
          path);
      return ACCORD_EIDENTITY;
    }
    return 0;
  }
  c.pk = node->pk;
  c.actor = node->actor;
  rc = store_write(node->st, id_write, &c, NULL);
  if (rc) say(err, elen, "%s", store_errmsg(node->st));
  return rc;
}

/* ---- open and close ------------------------------------------------------ */

int accord_node_open(const char *dir, const accord_node_opts *opts,
                     accord_node **out) {
  static const accord_node_opts defaults;
  char path[PATH_MAX_LEN], *err;
  size_t elen;
  struct stat st;
  if (!out) return ACCORD_EINVAL;
  *out = NULL;
  if (!opts) opts = &defaults;
  err = opts->errbuf;
  elen = opts->errbuf_size;
  if (err && elen) err[0] = 0;
  if (opts->durability != ACCORD_DURABLE && opts->durability != ACCORD_BATCHED)
    return ACCORD_EINVAL;
  int rc = crypto_init();
  if (rc) return rc;
  if ((rc = resolve_dir(dir, path, err, elen)) ||
      (rc = prepare_dir(path, opts->no_create, &st, err, elen)))
    return rc;
  if ((rc = reg_add(st.st_dev, st.st_ino))) {
    if (rc == ACCORD_EBUSY)
      say(err, elen, "%s is already open in this process", path);
    return rc;
  }
  accord_node *node = mem_calloc(1, sizeof *node);
  size_t plen = strlen(path);
  if (!node || !(node->dir = mem_alloc(plen + 1))) {
    mem_free(node);
    reg_remove(st.st_dev, st.st_ino);
    return ACCORD_ENOMEM;
  }
  memcpy(node->dir, path, plen + 1);
  node->dev = st.st_dev;
  node->ino = st.st_ino;
  node->snapshot_changes = opts->snapshot_changes ? opts->snapshot_changes
                                                  : 1000;
  node->compact_changes = opts->compact_changes ? opts->compact_changes : 256;

  store_opts so;
  memset(&so, 0, sizeof so);
  so.batched = opts->durability == ACCORD_BATCHED;
  so.batch_commits = opts->batch_commits ? opts->batch_commits : 1000;
  so.batch_ms = opts->batch_ms ? opts->batch_ms : 100;
  so.map_size = opts->map_size ? opts->map_size : DEFAULT_MAP;
  if (so.map_size < MIN_MAP) so.map_size = MIN_MAP;
  so.map_size = (so.map_size + 4095) & ~(uint64_t)4095;
  so.map_max = opts->map_max ? opts->map_max : DEFAULT_MAP_MAX;
  if (so.map_max < so.map_size) so.map_max = so.map_size;
  rc = store_open(path, &so, &node->st, NULL, err, elen);
  if (!rc) rc = load_identity(node, err, elen);
  if (rc) {
    accord_node_close(node);
    return rc;
  }
  *out = node;
  return 0;
}

void accord_node_close(accord_node *node) {
  if (!node) return;
  if (node->st) {
    node_close_docs(node);
    store_close(node->st);
  }
  mem_free(node->docs);
  crypto_wipe(node->sk, sizeof node->sk);
  reg_remove(node->dev, node->ino);
  mem_free(node->dir);
  mem_free(node);
}

const char *accord_node_dir(const accord_node *node) { return node->dir; }
const uint8_t *accord_node_actor(const accord_node *node) {
  return node->actor;
}
const uint8_t *accord_node_public_key(const accord_node *node) {
  return node->pk;
}
const char *accord_node_errmsg(const accord_node *node) {
  return node ? store_errmsg(node->st) : "";
}

int accord_node_changed(accord_node *node, uint64_t *counter) {
  if (!node || !counter) return ACCORD_EINVAL;
  *counter = store_counter(node->st);
  return 0;
}

int accord_node_sync(accord_node *node) {
  if (!node) return ACCORD_EINVAL;
  store_clear_err(node->st);
  return store_sync(node->st);
}

/* ---- workspaces ---------------------------------------------------------- */

int accord_node_ws_create(accord_node *node, const char *name,
                          uint8_t *id_out) {
  if (!node || !name || !id_out) return ACCORD_EINVAL;
  store_clear_err(node->st);
  size_t len = strlen(name);
  if (len == 0) return ACCORD_EINVAL;
  if (len > WS_NAME_MAX) return ACCORD_ETOOBIG;
  if (!utf8_valid((const uint8_t *)name, len, NULL)) return ACCORD_EUTF8;
  uint8_t g[GENESIS_MIN + WS_NAME_MAX], key[32], h[32];
  g[0] = 1;
  memcpy(g + 1, node->pk, 32);
  be64_write(g + 33, (uint64_t)doc_now_ms());
  crypto_random(g + 41, 16);
  memcpy(g + GENESIS_MIN, name, len);
  hash_bytes(g, GENESIS_MIN + len, h);
  crypto_random(key, sizeof key);
  store_ws ws;
  memcpy(ws.id, h, ACCORD_WS_ID_BYTES);
  ws.genesis = g;
  ws.genesis_len = GENESIS_MIN + len;
  ws.key = key;
  /* the workspace and its membership document, founder included, in one
   * write (members.c) */
  int rc = members_found(node, &ws, "", NULL);
  crypto_wipe(key, sizeof key);
  if (!rc) memcpy(id_out, ws.id, ACCORD_WS_ID_BYTES);
  return rc;
}

/* Listings gather entries and their strings, then pack them into one
 * buffer: the structs, then the NUL-terminated strings they point to. */
typedef struct lister {
  buf items, strs;
  size_t n, item_size;
  const char *type; /* doc filter */
  size_t type_len;
} lister;

static void *pack(lister *l, size_t name_off, size_t *n) {
  size_t head = l->n * l->item_size;
  uint8_t *p = mem_alloc(head + l->strs.len + 1);
  if (!p) return NULL;
  if (head) memcpy(p, l->items.p, head);
  if (l->strs.len) memcpy(p + head, l->strs.p, l->strs.len);
  for (size_t i = 0; i < l->n; i++) {
    uint8_t *item = p + i * l->item_size;
    size_t off;
    memcpy(&off, item + name_off, sizeof off); /* stashed offset */
    const char *s = (const char *)p + head + off;
    memcpy(item + name_off, &s, sizeof s);
  }
  *n = l->n;
  return p;
}

static int ws_list_one(void *ctx, const store_ws *ws) {
  lister *l = ctx;
  accord_ws_info info;
  memset(&info, 0, sizeof info);
  memcpy(info.id, ws->id, ACCORD_WS_ID_BYTES);
  memcpy(info.founder, ws->genesis + 1, 32);
  info.created = (int64_t)be64_read(ws->genesis + 33);
  size_t off = l->strs.len;
  memcpy(&info.name, &off, sizeof off);
  buf_put(&l->strs, ws->genesis + GENESIS_MIN, ws->genesis_len - GENESIS_MIN);
  buf_put_byte(&l->strs, 0);
  buf_put(&l->items, &info, sizeof info);
  l->n++;
  return l->items.err ? l->items.err : l->strs.err;
}

static int ws_list_txn(store_txn *t, void *ctx) {
  return store_ws_each(t, ws_list_one, ctx);
}

int accord_node_ws_list(accord_node *node, accord_ws_info **out, size_t *n) {
  if (!out || !n) return ACCORD_EINVAL;
  *out = NULL;
  *n = 0;
  if (!node) return ACCORD_EINVAL;
  store_clear_err(node->st);
  lister l;
  memset(&l, 0, sizeof l);
  l.item_size = sizeof(accord_ws_info);
  int rc = store_read(node->st, ws_list_txn, &l);
  if (!rc && !(*out = pack(&l, offsetof(accord_ws_info, name), n)))
    rc = ACCORD_ENOMEM;
  buf_free(&l.items);
  buf_free(&l.strs);
  return rc;
}

/* ---- document listings --------------------------------------------------- */

static int doc_list_one(void *ctx, const store_doc *d) {
  lister *l = ctx;
  if (l->type && (d->type_len != l->type_len ||
                  memcmp(d->type, l->type, l->type_len)))
    return 0;
  accord_doc_info info;
  memset(&info, 0, sizeof info);
  memcpy(info.ws, d->ws, ACCORD_WS_ID_BYTES);
  memcpy(info.id, d->id, ACCORD_DOC_ID_BYTES);
  memcpy(info.creator, d->creator, ACCORD_ACTOR_BYTES);
  info.created = d->created;
  size_t off = l->strs.len;
  memcpy(&info.type, &off, sizeof off);
  buf_put(&l->strs, d->type, d->type_len);
  buf_put_byte(&l->strs, 0);
  buf_put(&l->items, &info, sizeof info);
  l->n++;
  return l->items.err ? l->items.err : l->strs.err;
}

typedef struct doclist {
  lister l;
  const uint8_t *ws;
} doclist;

static int doc_list_txn(store_txn *t, void *ctx) {
  doclist *c = ctx;
  store_ws ws;
  int rc = store_ws_get(t, c->ws, &ws);
  return rc ? rc : store_doc_each(t, c->ws, doc_list_one, &c->l);
}

int accord_node_doc_list(accord_node *node, const uint8_t *ws,
                         const char *type, accord_doc_info **out, size_t *n) {
  if (!out || !n) return ACCORD_EINVAL;
  *out = NULL;
  *n = 0;
  if (!node || !ws) return ACCORD_EINVAL;
  store_clear_err(node->st);
  doclist c;
  memset(&c, 0, sizeof c);
  c.ws = ws;
  c.l.item_size = sizeof(accord_doc_info);
  c.l.type = type;
  c.l.type_len = type ? strlen(type) : 0;
  int rc = store_read(node->st, doc_list_txn, &c);
  if (!rc && !(*out = pack(&c.l, offsetof(accord_doc_info, type), n)))
    rc = ACCORD_ENOMEM;
  buf_free(&c.l.items);
  buf_free(&c.l.strs);
  return rc;
}
