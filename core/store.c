/*
 * store.c — the LMDB environment: opening it, the schema, durability, map
 * growth, and the transactions everything else runs in.
 *
 * Schema. meta holds "magic" = "accord-store" and "schema" = a 4-byte
 * big-endian version; a store opens only if both are present (ENOTSTORE
 * otherwise; an LMDB file whose main database is empty counts as new).
 * A newer version is refused (ESCHEMA). So is an older one: schemas 0-2
 * were development builds whose chain hashes (records, heads, snapshot
 * vectors) are DESIGN §4's one-step-per-change chain, and the seals they
 * keep sign those hashes. Migrating would mean rehashing every chain with
 * the segmented chain (hashchain.h) and re-making the seals, which only
 * their authors can; so the store is refused with a sentence saying to
 * move it aside and join the workspace again (the migrations that turned
 * schema 0 into 1 and 1 into 2 went with it). A later schema that keeps
 * the chain can bring migrations back.
 *
 * Durability. DURABLE: LMDB's default, an fsync of the data and of the meta
 * page per commit. BATCHED: the environment is opened MDB_WRITEMAP |
 * MDB_NOSYNC, so a commit is a write into the shared map (it survives the
 * process dying, not the machine), and store_write fsyncs (mdb_env_sync)
 * every batch_commits commits or batch_ms milliseconds, checked at each
 * commit. WRITEMAP matters for speed: without it every commit costs
 * several pwrite calls (about 13 us on our VMs, under 80k commits/s).
 * LMDB advises against mixing WRITEMAP and plain processes on one
 * environment because an fsync of one may not cover the other's writes;
 * with one page cache for mapped and written pages (Linux, FreeBSD, macOS)
 * both reach the same pages and each process's fsync covers them.
 *
 * Map growth. The map starts at map_size; MDB_MAP_FULL from any write or
 * the commit aborts the transaction, doubles the map (mdb_env_set_mapsize:
 * no transaction of this process is active then) and runs the callback
 * again, up to map_max (EFULL). Another process that grew the map makes
 * our next begin fail with MDB_MAP_RESIZED: we adopt its size and retry.
 *
 * Workload: one write transaction per commit or imported batch, a few
 * short read transactions per document opened or refreshed. The read
 * transaction is kept reset between uses (mdb_txn_renew is cheap).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mem.h"
#include "store_lmdb.h"

const char *const store_db_names[DB_COUNT] = {
    "meta", "workspaces", "changes", "heads", "seals",
    "pending", "docs", "snapshots", "peers", "forks"};

#define MAGIC "accord-store"

/* ---- errors -------------------------------------------------------------- */

int store_fail(store *s, int rc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->err, sizeof s->err, fmt, ap);
  va_end(ap);
  return rc;
}

const char *store_errmsg(const store *s) { return s->err; }
void store_clear_err(store *s) { s->err[0] = 0; }

int store_lmdb_err(store *s, int rc, const char *what) {
  switch (rc) {
    case 0: return 0;
    case MDB_MAP_FULL: return STORE_MAP_FULL;
    case ENOMEM: return ACCORD_ENOMEM;
    case ENOSPC:
    case EDQUOT:
      return store_fail(s, ACCORD_EFULL, "%s the store in %s: %s", what,
                        s->dir, mdb_strerror(rc));
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
      return store_fail(s, ACCORD_ECORRUPT, "%s the store in %s: %s", what,
                        s->dir, mdb_strerror(rc));
    case MDB_INVALID:
      return store_fail(s, ACCORD_ENOTSTORE,
                        "%s/data.mdb is not an LMDB file", s->dir);
    case MDB_TXN_FULL:
      return store_fail(s, ACCORD_ETOOBIG,
                        "%s the store in %s: transaction too large", what,
                        s->dir);
    default:
      return store_fail(s, ACCORD_ESTORE, "%s the store in %s: %s", what,
                        s->dir, mdb_strerror(rc));
  }
}

/* ---- transactions -------------------------------------------------------- */

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Doubles the map (by half past 1 GiB), up to map_max. */
static int grow(store *s) {
  MDB_envinfo info;
  mdb_env_info(s->env, &info);
  uint64_t cur = info.me_mapsize, next;
  if (cur >= s->o.map_max)
    return store_fail(s, ACCORD_EFULL,
                      "the store in %s reached its size limit (%llu bytes)",
                      s->dir, (unsigned long long)s->o.map_max);
  next = cur < ((uint64_t)1 << 30) ? cur * 2 : cur + cur / 2;
  next = (next + 4095) & ~(uint64_t)4095;
  if (next > s->o.map_max) next = s->o.map_max;
  int rc = mdb_env_set_mapsize(s->env, (size_t)next);
  if (rc == ENOMEM)
    return store_fail(s, ACCORD_EFULL,
                      "cannot map %llu bytes for the store in %s",
                      (unsigned long long)next, s->dir);
  return store_lmdb_err(s, rc, "growing");
}

static void after_commit(store *s) {
  if (!s->o.batched) return;
  s->unsynced++;
  int64_t now = mono_ms();
  if (s->unsynced >= s->o.batch_commits ||
      now - s->synced_ms >= (int64_t)s->o.batch_ms) {
    int rc = mdb_env_sync(s->env, 1);
    if (rc && !s->sync_err) s->sync_err = store_lmdb_err(s, rc, "syncing");
    s->unsynced = 0;
    s->synced_ms = now;
  }
}

int store_write(store *s, store_fn fn, void *ctx, uint64_t *txn_id) {
  for (unsigned tries = 0;; tries++) {
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc == MDB_MAP_RESIZED && tries < 16) {
      if (!(rc = mdb_env_set_mapsize(s->env, 0))) continue;
    }
    if (rc) return store_lmdb_err(s, rc, "starting to write");
    store_txn t = {s, txn, 1};
    size_t id = mdb_txn_id(txn);
    rc = fn(&t, ctx);
    if (rc) mdb_txn_abort(txn);
    else rc = store_lmdb_err(s, mdb_txn_commit(txn), "committing to");
    if (rc == STORE_MAP_FULL) {
      if ((rc = grow(s))) return rc;
      continue;
    }
    if (rc) return rc;
    if (txn_id) *txn_id = id;
    after_commit(s);
    return 0;
  }
}

int store_read(store *s, store_fn fn, void *ctx) {
  MDB_txn *txn = NULL;
  int cached = !s->rbusy, rc;
  for (unsigned tries = 0;; tries++) {
    if (cached && s->rtxn) {
      txn = s->rtxn;
      rc = mdb_txn_renew(txn);
    } else {
      rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
      if (!rc && cached) s->rtxn = txn;
    }
    /* another process grew the map beyond ours: adopt its size, which
     * needs every transaction of this process closed */
    if (rc == MDB_MAP_RESIZED && cached && tries < 16) {
      if (s->rtxn) mdb_txn_abort(s->rtxn);
      s->rtxn = NULL;
      if (!(rc = mdb_env_set_mapsize(s->env, 0))) continue;
    }
    break;
  }
  if (rc) return store_lmdb_err(s, rc, "starting to read");
  store_txn t = {s, txn, 0};
  if (cached) s->rbusy = 1;
  rc = fn(&t, ctx);
  if (cached) {
    mdb_txn_reset(txn);
    s->rbusy = 0;
  } else {
    mdb_txn_abort(txn);
  }
  return rc;
}

store *store_of(store_txn *t) { return t->s; }

uint64_t store_counter(store *s) {
  MDB_envinfo info;
  mdb_env_info(s->env, &info);
  return info.me_last_txnid;
}

int store_sync(store *s) {
  int rc = s->sync_err;
  s->sync_err = 0;
  if (rc) return rc;
  if (!s->o.batched || !s->unsynced) return 0;
  rc = mdb_env_sync(s->env, 1);
  s->unsynced = 0;
  s->synced_ms = mono_ms();
  return store_lmdb_err(s, rc, "syncing");
}

void store_space(store *s, uint64_t *used, uint64_t *map, uint32_t *page) {
  MDB_envinfo info;
  MDB_stat st;
  mdb_env_info(s->env, &info);
  mdb_env_stat(s->env, &st);
  if (used) *used = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
  if (map) *map = info.me_mapsize;
  if (page) *page = st.ms_psize;
}

/* ---- cursors ------------------------------------------------------------- */

int store_scan_open(store_scan *sc, store_txn *t, int db,
                    const uint8_t *prefix, size_t plen, const uint8_t *from,
                    size_t flen) {
  memset(sc, 0, sizeof *sc);
  sc->t = t;
  sc->prefix = prefix;
  sc->plen = plen;
  sc->k.mv_data = (void *)(from ? from : prefix);
  sc->k.mv_size = from ? flen : plen;
  int rc = mdb_cursor_open(t->txn, t->s->dbi[db], &sc->c);
  if (rc) sc->c = NULL;
  return store_lmdb_err(t->s, rc, "reading");
}

int store_scan_next(store_scan *sc) {
  int rc;
  if (!sc->started) {
    sc->started = 1;
    rc = mdb_cursor_get(sc->c, &sc->k, &sc->v,
                        sc->k.mv_size ? MDB_SET_RANGE : MDB_FIRST);
  } else {
    rc = mdb_cursor_get(sc->c, &sc->k, &sc->v, MDB_NEXT);
  }
  if (rc == MDB_NOTFOUND) return 0;
  if (rc) return store_lmdb_err(sc->t->s, rc, "reading");
  if (sc->k.mv_size < sc->plen ||
      (sc->plen && memcmp(sc->k.mv_data, sc->prefix, sc->plen)))
    return 0;
  return 1;
}

int store_scan_del(store_scan *sc) {
  return store_lmdb_err(sc->t->s, mdb_cursor_del(sc->c, 0), "deleting");
}

void store_scan_close(store_scan *sc) {
  if (sc->c) mdb_cursor_close(sc->c);
  sc->c = NULL;
}

/* ---- meta ---------------------------------------------------------------- */

int store_meta_get(store_txn *t, const char *key, const uint8_t **v,
                   size_t *len) {
  MDB_val val;
  int rc = store_get(t, DB_META, key, strlen(key), &val);
  if (rc) return rc;
  *v = val.mv_data;
  *len = val.mv_size;
  return 0;
}

int store_meta_put(store_txn *t, const char *key, const void *v, size_t len) {
  return store_put(t, DB_META, key, strlen(key), v, len);
}

/* ---- schema -------------------------------------------------------------- */

static int open_dbs(store_txn *t, unsigned flags) {
  for (int i = 0; i < DB_COUNT; i++) {
    int rc = mdb_dbi_open(t->txn, store_db_names[i], flags, &t->s->dbi[i]);
    if (rc == MDB_NOTFOUND && t->s->o.raw) continue;
    if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE)
      return store_fail(t->s, ACCORD_ECORRUPT,
                        "the store in %s lacks its \"%s\" database", t->s->dir,
                        store_db_names[i]);
    if (rc) return store_lmdb_err(t->s, rc, "opening");
  }
  return 0;
}

static int put_version(store_txn *t, uint32_t v) {
  uint8_t b[4];
  be32_put(b, v);
  return store_meta_put(t, "schema", b, 4);
}

static int put_created(store_txn *t) {
  struct timespec ts;
  uint8_t b[8];
  clock_gettime(CLOCK_REALTIME, &ts);
  be64_put(b, (uint64_t)((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000));
  return store_meta_put(t, "created", b, 8);
}

/* What the store holds: 0 ready (dbs open), 1 needs creating, 2 an older
 * schema (*version; refused, but test hooks open it raw), or an error. */
static int inspect(store_txn *t, uint32_t *version) {
  store *s = t->s;
  MDB_dbi main;
  MDB_stat st;
  int rc = mdb_dbi_open(t->txn, NULL, 0, &main);
  if (rc) return store_lmdb_err(s, rc, "opening");
  rc = mdb_dbi_open(t->txn, "meta", 0, &s->dbi[DB_META]);
  if (rc == MDB_NOTFOUND) {
    if ((rc = mdb_stat(t->txn, main, &st)))
      return store_lmdb_err(s, rc, "opening");
    if (st.ms_entries == 0) return 1;
    return store_fail(s, ACCORD_ENOTSTORE,
                      "%s/data.mdb is an LMDB database but not an accord "
                      "store (no meta)", s->dir);
  }
  if (rc == MDB_INCOMPATIBLE)
    return store_fail(s, ACCORD_ENOTSTORE,
                      "%s/data.mdb is an LMDB database but not an accord store",
                      s->dir);
  if (rc) return store_lmdb_err(s, rc, "opening");
  const uint8_t *v;
  size_t len;
  rc = store_meta_get(t, "magic", &v, &len);
  if (rc == ACCORD_ENOTFOUND || (!rc && (len != strlen(MAGIC) ||
                                         memcmp(v, MAGIC, len))))
    return store_fail(s, ACCORD_ENOTSTORE,
                      "%s/data.mdb is not an accord store (bad magic)", s->dir);
  if (rc) return rc;
  rc = store_meta_get(t, "schema", &v, &len);
  if (rc == ACCORD_ENOTFOUND || (!rc && len != 4))
    return store_fail(s, ACCORD_ECORRUPT,
                      "the store in %s has no valid schema version", s->dir);
  if (rc) return rc;
  *version = be32_get(v);
  if (*version > STORE_SCHEMA)
    return store_fail(s, ACCORD_ESCHEMA,
                      "the store in %s has schema version %u; this accord "
                      "(%s) reads versions up to %u: upgrade accord",
                      s->dir, *version, ACCORD_VERSION_STRING, STORE_SCHEMA);
  return *version < STORE_SCHEMA ? 2 : 0;
}

static int refuse_old(store *s, uint32_t version) {
  return store_fail(s, ACCORD_ESCHEMA,
                    "the store in %s was written by a development build "
                    "with the old hash chain (schema %u; this accord (%s) "
                    "reads schema %u); it cannot be migrated because seals "
                    "sign chain hashes: move it aside and join the "
                    "workspace again",
                    s->dir, version, ACCORD_VERSION_STRING, STORE_SCHEMA);
}

typedef struct setup {
  int created;
} setup;

static int setup_txn(store_txn *t, void *ctx) {
  setup *su = ctx;
  uint32_t v = 0;
  int rc = inspect(t, &v);
  su->created = 0;
  if (rc < 0) return rc;
  if (rc == 2 && v == STORE_SCHEMA_NO_CPS) {
    /* the same records, none of them checkpoints (store.h) */
    if ((rc = open_dbs(t, 0))) return rc;
    return put_version(t, STORE_SCHEMA);
  }
  if (rc == 2) return refuse_old(t->s, v);
  if (rc == 1) {
    su->created = 1;
    if ((rc = open_dbs(t, MDB_CREATE)) ||
        (rc = store_meta_put(t, "magic", MAGIC, strlen(MAGIC))) ||
        (rc = put_version(t, STORE_SCHEMA)) || (rc = put_created(t)))
      return rc;
    return 0;
  }
  return open_dbs(t, 0); /* another process created it meanwhile */
}

static void sync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

static int open_env(store *s, const char *dir) {
  int rc = mdb_env_create(&s->env);
  if (rc) {
    s->env = NULL;
    return store_lmdb_err(s, rc, "creating");
  }
  unsigned flags = MDB_NOTLS;
  if (s->o.batched) flags |= MDB_WRITEMAP | MDB_NOSYNC;
  if ((rc = mdb_env_set_maxdbs(s->env, DB_COUNT + 4)) ||
      (rc = mdb_env_set_mapsize(s->env, (size_t)s->o.map_size)))
    return store_lmdb_err(s, rc, "configuring");
  rc = mdb_env_open(s->env, dir, flags, 0600);
  if (rc == MDB_VERSION_MISMATCH)
    return store_fail(s, ACCORD_ESTORE,
                      "%s/data.mdb was written by another LMDB version (%s)",
                      dir, mdb_strerror(rc));
  if (rc == EACCES || rc == EPERM)
    return store_fail(s, ACCORD_ESTORE, "cannot open the store in %s: %s", dir,
                      mdb_strerror(rc));
  if (rc) return store_lmdb_err(s, rc, "opening");
  int dead;
  mdb_reader_check(s->env, &dead); /* slots of processes killed mid-read */
  MDB_stat st;
  mdb_env_stat(s->env, &st);
  s->psize = st.ms_psize;
  return 0;
}

int store_open(const char *dir, const store_opts *o, store **out, int *fresh,
               char *err, size_t errlen) {
  *out = NULL;
  if (fresh) *fresh = 0;
  /* its chain cache holds hash states (store_lmdb.h) */
  store *s = mem_calloc_aligned(_Alignof(store), sizeof *s);
  size_t dlen = strlen(dir);
  if (!s || !(s->dir = mem_alloc(dlen + 1))) {
    mem_free(s);
    return ACCORD_ENOMEM;
  }
  memcpy(s->dir, dir, dlen + 1);
  s->o = *o;
  s->synced_ms = mono_ms();
  int rc = open_env(s, dir);
  uint32_t v = 0;
  if (!rc) {
    /* the common case, an up-to-date store, needs no write lock */
    rc = 0;
    MDB_txn *txn;
    int lr = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (lr) {
      rc = store_lmdb_err(s, lr, "reading");
    } else {
      store_txn t = {s, txn, 0};
      rc = inspect(&t, &v);
      if (rc == 2 && o->raw) rc = 0; /* test hooks see old schemas as is */
      if (rc == 2 && v == STORE_SCHEMA_NO_CPS) rc = 1; /* setup_txn raises it */
      if (rc == 2) rc = refuse_old(s, v);
      if (rc == 0) rc = open_dbs(&t, 0);
      if (rc == 0) rc = store_lmdb_err(s, mdb_txn_commit(txn), "opening");
      else mdb_txn_abort(txn);
    }
    if (rc == 1) {
      setup su = {0};
      rc = store_write(s, setup_txn, &su, NULL);
      if (!rc && fresh) *fresh = su.created;
      if (!rc && su.created) sync_dir(dir); /* data.mdb's directory entry */
    }
  }
  if (rc) {
    if (err && errlen) snprintf(err, errlen, "%s", s->err[0] ? s->err :
                                accord_strerror(rc));
    store_close(s);
    return rc;
  }
  *out = s;
  return 0;
}

void store_close(store *s) {
  if (!s) return;
  if (s->env) {
    if (s->rtxn) mdb_txn_abort(s->rtxn);
    if (s->o.batched && s->unsynced) mdb_env_sync(s->env, 1);
    mdb_env_close(s->env);
  }
  store_zip_free(s);
  buf_free(&s->zbuf);
  mem_free(s->dir);
  mem_free(s);
}

/* ---- test hooks ---------------------------------------------------------- */

static int raw_open(const char *dir, store **out) {
  store_opts o = {0, 1, 1, (uint64_t)64 << 20, (uint64_t)1 << 40, 1};
  return store_open(dir, &o, out, NULL, NULL, 0);
}

static int set_schema_txn(store_txn *t, void *ctx) {
  return put_version(t, *(uint32_t *)ctx);
}

int store_debug_set_schema(const char *dir, uint32_t version) {
  store *s;
  int rc = raw_open(dir, &s);
  if (rc) return rc;
  rc = store_write(s, set_schema_txn, &version, NULL);
  store_close(s);
  return rc;
}

typedef struct poke {
  int db;
  const uint8_t *prefix;
  size_t plen;
  void (*fn)(uint8_t *v, size_t *len);
} poke;

static int poke_txn(store_txn *t, void *ctx) {
  poke *pk = ctx;
  store_scan sc;
  int rc = store_scan_open(&sc, t, pk->db, pk->prefix, pk->plen, NULL, 0);
  if (!rc) rc = store_scan_next(&sc);
  if (rc == 1) {
    size_t len = sc.v.mv_size;
    uint8_t *copy = mem_alloc(len + 1), key[128];
    size_t klen = sc.k.mv_size < sizeof key ? sc.k.mv_size : sizeof key;
    memcpy(key, sc.k.mv_data, klen);
    if (!copy) {
      rc = ACCORD_ENOMEM;
    } else {
      memcpy(copy, sc.v.mv_data, len);
      pk->fn(copy, &len);
      rc = store_put(t, pk->db, key, klen, copy, len);
      mem_free(copy);
    }
  } else if (rc == 0) {
    rc = ACCORD_ENOTFOUND;
  }
  store_scan_close(&sc);
  return rc;
}

int store_debug_poke(const char *dir, const char *db, const uint8_t *prefix,
                     size_t plen, void (*fn)(uint8_t *v, size_t *len)) {
  poke pk = {-1, prefix, plen, fn};
  for (int i = 0; i < DB_COUNT; i++)
    if (!strcmp(db, store_db_names[i])) pk.db = i;
  if (pk.db < 0) return ACCORD_EINVAL;
  store *s;
  int rc = raw_open(dir, &s);
  if (rc) return rc;
  rc = store_write(s, poke_txn, &pk, NULL);
  store_close(s);
  return rc;
}

typedef struct getver {
  uint32_t v;
} getver;

static int get_schema_txn(store_txn *t, void *ctx) {
  const uint8_t *v;
  size_t len;
  int rc = store_meta_get(t, "schema", &v, &len);
  if (!rc && len == 4) ((getver *)ctx)->v = be32_get(v);
  return rc;
}

int store_debug_schema(const char *dir, uint32_t *version) {
  store *s;
  getver g = {0};
  int rc = raw_open(dir, &s);
  if (rc) return rc;
  rc = store_read(s, get_schema_txn, &g);
  store_close(s);
  *version = g.v;
  return rc;
}

int store_debug_foreign(const char *dir) {
  MDB_env *env;
  MDB_txn *txn;
  MDB_dbi dbi;
  int rc = mdb_env_create(&env);
  if (rc) return ACCORD_ESTORE;
  mdb_env_set_maxdbs(env, 4);
  if (!(rc = mdb_env_open(env, dir, 0, 0600)) &&
      !(rc = mdb_txn_begin(env, NULL, 0, &txn))) {
    MDB_val k = {5, "hello"}, v = {5, "world"};
    if ((rc = mdb_dbi_open(txn, "other", MDB_CREATE, &dbi)) ||
        (rc = mdb_put(txn, dbi, &k, &v, 0)))
      mdb_txn_abort(txn);
    else rc = mdb_txn_commit(txn);
  }
  mdb_env_close(env);
  return rc ? ACCORD_ESTORE : 0;
}
