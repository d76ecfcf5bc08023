/*
 * run_verify.c — `accord-bench verify`: what checking seals costs on import
 * (issue 5: at most 1.5x importing without verification).
 *
 * Not timed: a sender with an Ed25519 key replays the sequential trace, one
 * transaction per patch, and every SEAL_EVERY commits (and at the end)
 * builds a batch of the changes since the previous one, which seals its
 * chain head: one seal per 1,000 changes.
 *
 * Timed (ms), best of max(--repeat, 3) runs each, alternating: importing
 * every batch in order into a fresh replica
 *   - with verification (accord_doc_set_workspace): each batch's run of
 *     changes is hashed and its seal's signature checked;
 *   - without (a replica that does not verify ignores the seals).
 * That is the history as a peer receives it live, a sealed batch at a time
 * (import_ms, verified_import_ms, ratio). The catchup_* figures are the
 * same history as a new member receives it: one batch, the sender's
 * accord_doc_changes_since(NULL), which carries the chain's last seal (the
 * earlier ones are covered by it), so every change is hashed and one
 * signature checked. Every replica's text must equal endContent. Prints
 * one JSON line.
 */
#include "bench.h"
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEAL_EVERY 1000

typedef struct batches {
  uint8_t **b;
  size_t *len;
  size_t n, cap;
} batches;

static void batches_free(batches *bs)
{
  for (size_t i = 0; i < bs->n; i++)
    accord_free(bs->b[i]);
  free(bs->b);
  free(bs->len);
}

/* Appends the sender's changes since *vv and moves *vv to its head. */
static int cut_batch(accord_doc *doc, uint8_t **vv, size_t *vlen,
                     batches *bs)
{
  uint8_t *b;
  size_t len;
  int rc;
  if (bs->n == bs->cap) {
    size_t cap = bs->cap ? 2 * bs->cap : 512;
    uint8_t **nb = realloc(bs->b, cap * sizeof *nb);
    size_t *nl = nb ? realloc(bs->len, cap * sizeof *nl) : NULL;
    if (nb)
      bs->b = nb;
    if (!nb || !nl)
      return bench_fail("out of memory");
    bs->len = nl;
    bs->cap = cap;
  }
  rc = accord_doc_changes_since(doc, *vv, *vlen, &b, &len);
  if (rc != 0)
    return bench_efail(rc, "accord_doc_changes_since");
  bs->b[bs->n] = b;
  bs->len[bs->n++] = len;
  accord_free(*vv);
  *vv = NULL;
  rc = accord_doc_version(doc, vv, vlen);
  return rc ? bench_efail(rc, "accord_doc_version") : 0;
}

/* The sender: the trace replayed with a seal every SEAL_EVERY changes. */
static int make_batches(const trace *t, const uint8_t *ws, batches *bs,
                        batches *whole, accord_id *text, size_t *changes)
{
  uint8_t pk[32], sk[64], actor[ACCORD_ACTOR_BYTES];
  uint8_t *vv = NULL;
  size_t vlen = 0, n = 0;
  int cut_failed = 0; /* cut_batch reported it */
  accord_doc *doc = NULL;
  accord_txn *txn;
  int rc = accord_sign_keypair(pk, sk);
  if (rc == 0)
    rc = accord_key_actor(pk, actor);
  if (rc == 0)
    rc = accord_doc_new(bench_doc_id, actor, &doc);
  if (rc == 0)
    rc = accord_doc_set_signer(doc, sk, ws);
  memset(sk, 0, sizeof sk);
  if (rc == 0)
    rc = accord_txn_begin(doc, &txn);
  if (rc != 0) {
    accord_doc_free(doc);
    return bench_efail(rc, "sender setup");
  }
  accord_txn_set_time(txn, t->ntxns > 0 ? t->txns[0].time_ms
                                        : TRACE_TIME_BASE);
  rc = accord_map_put_object(txn, ACCORD_ROOT, "text", ACCORD_TEXT, text);
  if (rc == 0 && t->start_len > 0)
    rc = accord_text_splice(txn, *text, 0, 0, t->start, t->start_len);
  if (rc == 0)
    rc = accord_txn_commit(txn, NULL);
  else
    accord_txn_abort(txn);
  n = 1;
  for (size_t i = 0; i < t->ntxns && rc == 0 && !cut_failed; i++) {
    const trace_txn *x = &t->txns[i];
    for (size_t k = 0; k < x->npatches && rc == 0 && !cut_failed; k++) {
      const trace_patch *p = &t->patches[x->first_patch + k];
      if ((rc = accord_txn_begin(doc, &txn)) != 0)
        break;
      accord_txn_set_time(txn, x->time_ms);
      rc = accord_text_splice(txn, *text, p->pos, p->del, p->ins, p->ins_len);
      if (rc == 0)
        rc = accord_txn_commit(txn, NULL);
      else
        accord_txn_abort(txn);
      if (rc == 0 && ++n % SEAL_EVERY == 0)
        cut_failed = cut_batch(doc, &vv, &vlen, bs) != 0;
    }
  }
  if (rc == 0 && !cut_failed && n % SEAL_EVERY != 0)
    cut_failed = cut_batch(doc, &vv, &vlen, bs) != 0;
  accord_free(vv);
  vv = NULL;
  vlen = 0;
  if (rc == 0 && !cut_failed)
    cut_failed = cut_batch(doc, &vv, &vlen, whole) != 0;
  accord_free(vv);
  accord_doc_free(doc);
  *changes = n;
  if (rc != 0)
    return bench_efail(rc, "sender replay");
  return cut_failed ? -1 : 0;
}

/* Imports every batch into a fresh replica; *ms is the time it took. */
static int import_all(const batches *bs, const uint8_t *ws, int verify,
                      accord_doc **out, double *ms)
{
  uint8_t actor[ACCORD_ACTOR_BYTES];
  accord_doc *doc;
  double t0;
  bench_actor(2, actor);
  int rc = accord_doc_new(bench_doc_id, actor, &doc);
  if (rc == 0 && verify)
    rc = accord_doc_set_workspace(doc, ws);
  if (rc != 0)
    return bench_efail(rc, "receiver setup");
  t0 = bench_now_ms();
  for (size_t i = 0; i < bs->n; i++) {
    accord_import_stats st;
    rc = accord_doc_import(doc, bs->b[i], bs->len[i], &st);
    if (rc != 0 || st.pending != 0) {
      accord_doc_free(doc);
      return rc ? bench_efail(rc, "batch %zu: accord_doc_import", i)
                : bench_fail("batch %zu: changes left waiting", i);
    }
  }
  *ms = bench_now_ms() - t0;
  *out = doc;
  return 0;
}

/* Best times of importing bs without [0] and with [1] verification,
 * alternating; both replicas' text must equal endContent. */
static int time_imports(const trace *t, const batches *bs, const uint8_t *ws,
                        accord_id text, unsigned runs, const char *what,
                        const char *out, double best[2])
{
  accord_doc *docs[2] = {NULL, NULL};
  char label[96];
  int rc = 0;
  for (unsigned r = 0; r < runs && rc == 0; r++) {
    for (int v = 0; v < 2 && rc == 0; v++) {
      double ms = 0;
      accord_doc_free(docs[v]);
      docs[v] = NULL;
      rc = import_all(bs, ws, v, &docs[v], &ms);
      if (rc == 0 && (r == 0 || ms < best[v]))
        best[v] = ms;
    }
  }
  for (int v = 0; v < 2 && rc == 0; v++) {
    snprintf(label, sizeof label, "%s, imported %s verification", what,
             v ? "with" : "without");
    rc = bench_check_doc(docs[v], text, t, label, v ? out : NULL);
  }
  accord_doc_free(docs[0]);
  accord_doc_free(docs[1]);
  return rc;
}

int cmd_verify(const trace *t, const bench_opts *o)
{
  static const uint8_t ws[ACCORD_WS_ID_BYTES] = {'b', 'e', 'n', 'c', 'h'};
  batches bs = {NULL, NULL, 0, 0}, whole = {NULL, NULL, 0, 0};
  accord_id text = {0, {0}};
  double live[2] = {0, 0}, catchup[2] = {0, 0};
  size_t changes = 0;
  unsigned runs = o->repeat < 3 ? 3 : o->repeat;
  int rc = -1;

  if (make_batches(t, ws, &bs, &whole, &text, &changes) != 0)
    goto done;
  if (time_imports(t, &bs, ws, text, runs, "sealed batches", o->out,
                   live) != 0 ||
      time_imports(t, &whole, ws, text, runs, "one batch", NULL,
                   catchup) != 0)
    goto done;
  printf("{\"trace\":");
  bench_print_json_string(stdout, o->name, strlen(o->name));
  printf(",\"changes\":%zu,\"batches\":%zu,\"seal_every\":%d,"
         "\"import_ms\":%.3f,\"verified_import_ms\":%.3f,\"ratio\":%.3f,"
         "\"catchup_bytes\":%zu,\"catchup_import_ms\":%.3f,"
         "\"catchup_verified_ms\":%.3f,\"catchup_ratio\":%.3f}\n",
         changes, bs.n, SEAL_EVERY, live[0], live[1],
         live[0] > 0 ? live[1] / live[0] : 0.0, whole.len[0], catchup[0],
         catchup[1], catchup[0] > 0 ? catchup[1] / catchup[0] : 0.0);
  rc = fflush(stdout) == 0 ? 0 : bench_fail("cannot write to stdout");
done:
  batches_free(&bs);
  batches_free(&whole);
  return rc;
}
