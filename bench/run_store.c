/*
 * run_store.c — `accord-bench store`: the node store (include/accord.h,
 * "Nodes and storage") measured as an embedder uses it. One JSON line per
 * measurement:
 *
 *   durable_commits  single small changes (a one-character splice), each
 *                    committed durably with accord_node_txn_commit, against
 *                    raw LMDB doing put + commit (fsync) of the same bytes
 *                    under the same key layout in another environment on
 *                    the same file system. The two alternate in rounds of
 *                    25 commits so that disk noise hits both alike.
 *   batched_commits  the automerge-paper trace, one node commit per edit
 *                    (259,778), with ACCORD_BATCHED durability; the node's
 *                    housekeeping (accord_node_maintain) runs every 10,000
 *                    commits as a daemon would, timed apart.
 *   history_on_disk  that store after closing: the data file's size, the
 *                    blocks it occupies, the pages LMDB uses, and the size
 *                    of a compacted copy (mdb_env_copy2). Also for the same
 *                    history arriving as one imported batch (a new laptop
 *                    joining) into a durable node.
 *   reopen_load      opening the node, opening the document and reading its
 *                    text (checked against endContent), best of --repeat.
 *
 * The raw baseline and the size probes use LMDB directly: the one place
 * outside core/store* that does, because measuring against LMDB itself is
 * the point. Stores go to temporary directories under --dir (default
 * $TMPDIR or /tmp), removed at the end.
 */
#define _GNU_SOURCE
#include "bench.h"
#include "engine.h"

#include <ftw.h>
#include <stdarg.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ROUND 1
#define MAINTAIN_EVERY 10000

static int rm_one(const char *path, const struct stat *sb, int flag,
                  struct FTW *ftw)
{
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static char *join(const char *a, const char *b)
{
  size_t n = strlen(a) + strlen(b) + 2;
  char *p = malloc(n);
  if (p != NULL)
    snprintf(p, n, "%s/%s", a, b);
  return p;
}

static int node_fail(accord_node *node, int rc, const char *what)
{
  return bench_fail("%s: %s (%s) %s", what, accord_err_name(rc),
                    accord_strerror(rc), node ? accord_node_errmsg(node) : "");
}

/* A node with one workspace and one document holding a text object. */
static int setup_node(const char *dir, const accord_node_opts *o,
                      accord_node **node, accord_doc **doc, accord_id *text,
                      int64_t time)
{
  uint8_t ws[ACCORD_WS_ID_BYTES];
  accord_txn *t;
  int rc = accord_node_open(dir, o, node);
  if (rc != 0)
    return node_fail(NULL, rc, dir);
  if ((rc = accord_node_ws_create(*node, "bench", ws)) != 0 ||
      (rc = accord_node_doc_create(*node, ws, "messaging", doc)) != 0 ||
      (rc = accord_node_txn_begin(*node, *doc, &t)) != 0)
    return node_fail(*node, rc, "setup");
  accord_txn_set_time(t, time);
  if ((rc = accord_map_put_object(t, ACCORD_ROOT, "text", ACCORD_TEXT,
                                  text)) != 0 ||
      (rc = accord_node_txn_commit(*node, t, NULL)) != 0)
    return node_fail(*node, rc, "setup commit");
  return 0;
}

/* ---- durable commits vs raw LMDB ----------------------------------------- */

typedef struct raw_env {
  MDB_env *env;
  MDB_dbi dbi;
} raw_env;

static int raw_open(const char *dir, raw_env *r)
{
  MDB_txn *txn;
  int rc;
  mkdir(dir, 0700);
  if ((rc = mdb_env_create(&r->env)) != 0)
    return bench_fail("raw lmdb: %s", mdb_strerror(rc));
  mdb_env_set_maxdbs(r->env, 4);
  mdb_env_set_mapsize(r->env, (size_t)64 << 20);
  if ((rc = mdb_env_open(r->env, dir, 0, 0600)) != 0 ||
      (rc = mdb_txn_begin(r->env, NULL, 0, &txn)) != 0)
    return bench_fail("raw lmdb %s: %s", dir, mdb_strerror(rc));
  if ((rc = mdb_dbi_open(txn, "changes", MDB_CREATE, &r->dbi)) != 0 ||
      (rc = mdb_txn_commit(txn)) != 0)
    return bench_fail("raw lmdb: %s", mdb_strerror(rc));
  return 0;
}

/* put + commit of one change under ws·doc·actor·seq. */
static int raw_commit(raw_env *r, const uint8_t *doc, const uint8_t *actor,
                      uint32_t seq, const uint8_t *body, size_t len)
{
  uint8_t k[44] = {0};
  MDB_txn *txn;
  memcpy(k + 16, doc, 16);
  memcpy(k + 32, actor, 8);
  k[40] = (uint8_t)(seq >> 24);
  k[41] = (uint8_t)(seq >> 16);
  k[42] = (uint8_t)(seq >> 8);
  k[43] = (uint8_t)seq;
  MDB_val key = {sizeof k, k}, val = {len, (void *)body};
  int rc = mdb_txn_begin(r->env, NULL, 0, &txn);
  if (rc == 0 && (rc = mdb_put(txn, r->dbi, &key, &val, 0)) != 0)
    mdb_txn_abort(txn);
  else if (rc == 0)
    rc = mdb_txn_commit(txn);
  return rc == 0 ? 0 : bench_fail("raw lmdb commit: %s", mdb_strerror(rc));
}

static int durable_commits(const char *base, size_t n)
{
  char *ndir = join(base, "durable"), *rdir = join(base, "raw");
  accord_node *node = NULL;
  accord_doc *doc;
  accord_id text;
  raw_env r = {NULL, 0};
  uint8_t bodies[ROUND][256];
  size_t lens[ROUND];
  uint32_t seqs[ROUND];
  double store_ms = 0, raw_ms = 0;
  size_t done = 0, pos = 0;
  int rc = -1;

  if (ndir == NULL || rdir == NULL ||
      setup_node(ndir, NULL, &node, &doc, &text, TRACE_TIME_BASE) != 0 ||
      raw_open(rdir, &r) != 0)
    goto done;
  while (done < n) {
    size_t k = n - done < ROUND ? n - done : ROUND;
    double t0 = bench_now_ms();
    for (size_t i = 0; i < k; i++) {
      accord_txn *t;
      accord_change_info info;
      int e = accord_node_txn_begin(node, doc, &t);
      if (e == 0)
        e = accord_text_splice(t, text, pos, 0, "a", 1);
      if (e == 0)
        e = accord_node_txn_commit(node, t, &info);
      if (e != 0 || info.len > sizeof bodies[0]) {
        node_fail(node, e, "durable commit");
        goto done;
      }
      memcpy(bodies[i], info.bytes, info.len);
      lens[i] = info.len;
      seqs[i] = (uint32_t)info.seq;
      pos++;
    }
    double t1 = bench_now_ms();
    for (size_t i = 0; i < k; i++)
      if (raw_commit(&r, accord_doc_id(doc), accord_doc_actor(doc), seqs[i],
                     bodies[i], lens[i]) != 0)
        goto done;
    double t2 = bench_now_ms();
    store_ms += t1 - t0;
    raw_ms += t2 - t1;
    done += k;
  }
  printf("{\"bench\":\"store\",\"test\":\"durable_commits\",\"commits\":%zu,"
         "\"store_per_s\":%.1f,\"raw_lmdb_per_s\":%.1f,\"ratio\":%.3f}\n",
         n, n / store_ms * 1000, n / raw_ms * 1000, raw_ms / store_ms);
  rc = 0;
done:
  accord_node_close(node);
  if (r.env != NULL)
    mdb_env_close(r.env);
  free(ndir);
  free(rdir);
  return rc;
}

/* ---- the automerge-paper history ----------------------------------------- */

/* Sizes of the LMDB environment in dir (closed). */
static int space(const char *base, const char *dir, const char *via,
                 size_t changes, const char *extra)
{
  char *data = join(dir, "data.mdb"), *copy = join(base, "copy"),
       *cdata = join(copy, "data.mdb");
  struct stat st, cst;
  MDB_env *env = NULL;
  MDB_envinfo info;
  MDB_stat ms;
  int rc = -1, e;
  if (data == NULL || copy == NULL || cdata == NULL || stat(data, &st) != 0)
    goto done;
  mkdir(copy, 0700);
  if ((e = mdb_env_create(&env)) != 0 || (e = mdb_env_set_maxdbs(env, 16)) ||
      (e = mdb_env_open(env, dir, MDB_RDONLY, 0600)) != 0 ||
      (e = mdb_env_info(env, &info)) != 0 || (e = mdb_env_stat(env, &ms)) ||
      (e = mdb_env_copy2(env, copy, MDB_CP_COMPACT)) != 0 ||
      stat(cdata, &cst) != 0) {
    bench_fail("sizing %s: %s", dir, mdb_strerror(e));
    goto done;
  }
  printf("{\"bench\":\"store\",\"test\":\"history_on_disk\",\"via\":\"%s\","
         "\"changes\":%zu,\"data_file_bytes\":%lld,\"allocated_bytes\":%lld,"
         "\"used_bytes\":%llu,\"compact_copy_bytes\":%lld%s}\n",
         via, changes, (long long)st.st_size, (long long)st.st_blocks * 512,
         (unsigned long long)(info.me_last_pgno + 1) * ms.ms_psize,
         (long long)cst.st_size, extra);
  rc = 0;
done:
  if (env != NULL)
    mdb_env_close(env);
  nftw(copy, rm_one, 8, FTW_DEPTH | FTW_PHYS);
  free(data);
  free(copy);
  free(cdata);
  return rc;
}

/* Replays t into an open node document, one commit per trace transaction,
 * with housekeeping every MAINTAIN_EVERY commits. */
static int replay_commits(const trace *t, accord_node *node, accord_doc *doc,
                          accord_id text)
{
  double commit_ms = 0, maintain_ms = 0;
  size_t calls = 0;
  double t0 = bench_now_ms();
  for (size_t i = 0; i < t->ntxns; i++) {
    const trace_txn *x = &t->txns[i];
    accord_txn *txn;
    int rc = accord_node_txn_begin(node, doc, &txn);
    if (rc != 0)
      return node_fail(node, rc, "batched begin");
    accord_txn_set_time(txn, x->time_ms);
    for (size_t k = 0; k < x->npatches && rc == 0; k++) {
      const trace_patch *p = &t->patches[x->first_patch + k];
      rc = accord_text_splice(txn, text, p->pos, p->del, p->ins, p->ins_len);
    }
    if (rc == 0)
      rc = accord_node_txn_commit(node, txn, NULL);
    if (rc != 0)
      return node_fail(node, rc, "batched commit");
    if ((i + 1) % MAINTAIN_EVERY == 0) {
      double m0 = bench_now_ms();
      commit_ms += m0 - t0;
      if ((rc = accord_node_maintain(node, 0, NULL)) != 0)
        return node_fail(node, rc, "maintain");
      calls++;
      t0 = bench_now_ms();
      maintain_ms += t0 - m0;
    }
  }
  commit_ms += bench_now_ms() - t0;
  printf("{\"bench\":\"store\",\"test\":\"batched_commits\",\"trace\":"
         "\"automerge-paper\",\"commits\":%zu,\"commits_per_s\":%.0f,"
         "\"commit_ms\":%.1f,\"maintain_ms\":%.1f,\"maintain_calls\":%zu}\n",
         t->ntxns, t->ntxns / commit_ms * 1000, commit_ms, maintain_ms,
         calls);
  return 0;
}

static int history(const trace *t, const char *base, unsigned repeat)
{
  char *bdir = join(base, "batched"), *idir = join(base, "import");
  accord_node *node = NULL, *inode = NULL;
  accord_doc *doc, *idoc, *plain = NULL;
  accord_id text, itext;
  accord_node_opts o;
  uint8_t ws[ACCORD_WS_ID_BYTES], id[ACCORD_DOC_ID_BYTES];
  uint8_t *batch = NULL;
  size_t blen = 0;
  int rc = -1, e;

  memset(&o, 0, sizeof o);
  o.durability = ACCORD_BATCHED;
  if (bdir == NULL || idir == NULL ||
      setup_node(bdir, &o, &node, &doc, &text, t->txns[0].time_ms) != 0 ||
      replay_commits(t, node, doc, text) != 0 ||
      bench_check_doc(doc, text, t, "stored document", NULL) != 0)
    goto done;
  accord_doc_info info;
  if ((e = accord_node_doc_info(node, doc, &info)) != 0) {
    node_fail(node, e, "doc info");
    goto done;
  }
  memcpy(ws, info.ws, sizeof ws);
  memcpy(id, info.id, sizeof id);
  /* the whole history as one batch, for the import measurement */
  if ((e = accord_doc_changes_since(doc, NULL, 0, &batch, &blen)) != 0) {
    bench_efail(e, "changes_since");
    goto done;
  }
  double c0 = bench_now_ms();
  accord_node_close(node); /* housekeeping of the document at close */
  double c1 = bench_now_ms();
  node = NULL;
  char extra[96];
  snprintf(extra, sizeof extra, ",\"close_ms\":%.1f", c1 - c0);
  if (space(base, bdir, "commits", t->ntxns, extra) != 0)
    goto done;

  /* reopen and load */
  double best = 1e300, open_best = 0, doc_best = 0, text_best = 0;
  for (unsigned r = 0; r < repeat; r++) {
    char *s = NULL;
    size_t len = 0;
    double t0 = bench_now_ms();
    if ((e = accord_node_open(bdir, NULL, &node)) != 0) {
      node_fail(NULL, e, "reopen");
      goto done;
    }
    double t1 = bench_now_ms();
    if ((e = accord_node_doc_open(node, ws, id, &doc)) != 0) {
      node_fail(node, e, "doc open");
      goto done;
    }
    double t2 = bench_now_ms();
    if ((e = accord_text_read(doc, text, &s, &len)) != 0) {
      bench_efail(e, "text read");
      goto done;
    }
    double t3 = bench_now_ms();
    e = bench_check_text("reopened document", s, len, t->end, t->end_len);
    accord_free(s);
    accord_node_close(node);
    node = NULL;
    if (e != 0)
      goto done;
    if (t3 - t0 < best) {
      best = t3 - t0;
      open_best = t1 - t0;
      doc_best = t2 - t1;
      text_best = t3 - t2;
    }
  }
  printf("{\"bench\":\"store\",\"test\":\"reopen_load\",\"ms\":%.2f,"
         "\"node_open_ms\":%.2f,\"doc_open_ms\":%.2f,\"text_read_ms\":%.2f,"
         "\"repeat\":%u}\n",
         best, open_best, doc_best, text_best, repeat);

  /* the same history imported as one batch into a durable node */
  if (setup_node(idir, NULL, &inode, &idoc, &itext, t->txns[0].time_ms) != 0)
    goto done;
  accord_free(batch);
  batch = NULL;
  {
    /* rebuild the batch for this document's id: replay into a plain doc
     * written by a member of the workspace (nodes take only members'
     * sealed changes), sealed once at the end */
    uint8_t actor[ACCORD_ACTOR_BYTES], pk[32], sk[64];
    accord_doc_info dinfo;
    if ((e = accord_node_doc_info(inode, idoc, &dinfo)) != 0 ||
        (e = accord_sign_keypair(pk, sk)) != 0 ||
        (e = accord_key_actor(pk, actor)) != 0 ||
        (e = accord_member_add(inode, dinfo.ws, pk, "bench", NULL)) != 0 ||
        (e = accord_doc_new(accord_doc_id(idoc), actor, &plain)) != 0 ||
        (e = accord_doc_set_signer(plain, sk, dinfo.ws)) != 0) {
      bench_efail(e, "plain doc");
      goto done;
    }
    if ((e = accord_doc_changes_since(idoc, NULL, 0, &batch, &blen)) != 0 ||
        (e = accord_doc_import(plain, batch, blen, NULL)) != 0) {
      bench_efail(e, "plain doc setup");
      goto done;
    }
    accord_free(batch);
    batch = NULL;
    for (size_t i = 0; i < t->ntxns && e == 0; i++) {
      const trace_txn *x = &t->txns[i];
      accord_txn *txn;
      if ((e = accord_txn_begin(plain, &txn)) != 0)
        break;
      accord_txn_set_time(txn, x->time_ms);
      for (size_t k = 0; k < x->npatches && e == 0; k++) {
        const trace_patch *p = &t->patches[x->first_patch + k];
        e = accord_text_splice(txn, itext, p->pos, p->del, p->ins,
                               p->ins_len);
      }
      e = e ? e : accord_txn_commit(txn, NULL);
    }
    if (e != 0 ||
        (e = accord_doc_changes_since(plain, NULL, 0, &batch, &blen)) != 0) {
      bench_efail(e, "plain replay");
      goto done;
    }
  }
  double i0 = bench_now_ms();
  if ((e = accord_node_doc_import(inode, idoc, batch, blen, NULL)) != 0) {
    node_fail(inode, e, "import");
    goto done;
  }
  double i1 = bench_now_ms();
  if ((e = accord_node_maintain(inode, ACCORD_MAINTAIN_ALL, NULL)) != 0) {
    node_fail(inode, e, "maintain");
    goto done;
  }
  double i2 = bench_now_ms();
  if (bench_check_doc(idoc, itext, t, "imported document", NULL) != 0)
    goto done;
  accord_node_close(inode);
  inode = NULL;
  snprintf(extra, sizeof extra,
           ",\"batch_bytes\":%zu,\"import_ms\":%.1f,\"maintain_ms\":%.1f",
           blen, i1 - i0, i2 - i1);
  if (space(base, idir, "import", t->ntxns + 1, extra) != 0)
    goto done;
  rc = 0;
done:
  accord_doc_free(plain);
  accord_free(batch);
  accord_node_close(node);
  accord_node_close(inode);
  free(bdir);
  free(idir);
  return rc;
}

/* ---- the command --------------------------------------------------------- */

BENCH_PRINTF(1, 2)
static int store_usage(const char *fmt, ...)
{
  va_list ap;
  fprintf(stderr, "accord-bench: store: ");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputs("\nusage: accord-bench store [--commits N] [--trace PATH] [--dir DIR]"
        " [--repeat N]\n",
        stderr);
  return 2;
}

int cmd_store(int argc, char **argv)
{
  const char *tmp = getenv("TMPDIR"), *dir = NULL;
  const char *path = BENCH_DEFAULT_TRACE;
  unsigned long commits = 300, repeat = 5;
  char tmpl[4096], *end;
  trace *t = NULL;
  int rc = 1;

  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (i + 1 >= argc)
      return store_usage("unknown or incomplete option '%s'", a);
    const char *v = argv[++i];
    if (strcmp(a, "--trace") == 0) {
      path = v;
    } else if (strcmp(a, "--dir") == 0) {
      dir = v;
    } else if (strcmp(a, "--commits") == 0 || strcmp(a, "--repeat") == 0) {
      unsigned long n = strtoul(v, &end, 10);
      if (*v == '\0' || *v == '-' || *end != '\0' || n < 1 || n > 1000000)
        return store_usage("'%s' wants a number from 1 to 1000000", a);
      if (a[2] == 'c')
        commits = n;
      else
        repeat = n;
    } else {
      return store_usage("unknown option '%s'", a);
    }
  }
  snprintf(tmpl, sizeof tmpl, "%s/accord-bench-store-XXXXXX",
           dir ? dir : tmp && *tmp ? tmp : "/tmp");
  char *base = mkdtemp(tmpl);
  if (base == NULL)
    return bench_fail("cannot create a directory like %s", tmpl) ? 1 : 1;
  bench_set_context("store");
  if (durable_commits(base, commits) != 0 || trace_load(path, &t) != 0)
    goto done;
  if (t->concurrent || t->ntxns == 0) {
    bench_fail("%s: need a sequential trace", path);
    goto done;
  }
  if (history(t, base, (unsigned)repeat) != 0)
    goto done;
  rc = 0;
done:
  trace_free(t);
  nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  return rc;
}
