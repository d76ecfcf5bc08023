/*
 * run_crdt.c — `accord-bench crdt`: the crdt-benchmarks suite of Kevin
 * Jahns (github.com/dmonad/crdt-benchmarks) on accord.h, with the suite's
 * definitions and names: B1.1–B1.11, B2.1–B2.4, B3.1–B3.4, B4 and B4x100.
 *
 * Output: one JSON line per benchmark, in the suite's order.
 *   name         the suite's name, e.g. "[B1.1] Append N characters"
 *   id           the short name that --only takes ("B1.1", "B4x100")
 *   n            the suite's N (absent for B4 and B4x100: they replay a trace)
 *   seed         the seed of the generator behind the input; null when the
 *                input is not random (B3, B4)
 *   clients      B3 only: 20 * floor(sqrt(N)) documents
 *   edits        B4 only: trace edits applied (x 100 for B4x100)
 *   time_ms      the suite's "(time)": see each group below
 *   update_bytes_avg    B1, B2: the suite's "(avgUpdateSize)" (B1) and
 *                "(updateSize)" (B2, which the suite averages over the two
 *                updates)
 *   update_bytes_total  B3: the suite's "(updateSize)", a total; B4: the sum
 *                of every change (the current suite does not report one)
 *   updates      how many updates the update_bytes field is made of
 *   doc_bytes    the suite's "(docSize)": accord_doc_save's length
 *   encode_ms    the suite's "(encodeTime)": accord_doc_save
 *   parse_ms     the suite's "(parseTime)": accord_doc_load of those bytes
 *   mem_bytes    stands for the suite's "(memUsed)", the heap that holds the
 *                parsed document: accord_doc_mem_bytes of the loaded one
 *   ns_per_edit  B4 only: time_ms per edit
 *   mem_replay_bytes, mem_settled_bytes  B4 only: accord_doc_mem_bytes of
 *                the replayed document before any save, right after the
 *                replay and after accord_doc_settle waited for the packing
 *                of its cold history (settle_ms: the wait)
 *
 * How the suite's AbstractCrdt maps onto accord.h:
 *   - a call made outside transact() (insertText, deleteText, insertArray,
 *     setMap) is one accord transaction, as Yjs commits each such call on
 *     its own and emits one update; inside transact() (B2) all calls are one
 *     transaction. Every commit gets the same fixed time, so two runs make
 *     byte-identical documents (the suite's loops run too fast for a clock
 *     to tick anyway).
 *   - an update is what a peer receives: for B1 and B4 the change a commit
 *     produced (accord_change_info.len, the suite's per-call update); for B2
 *     and B3, where the suite's updates are messages between documents, the
 *     batch of accord_doc_changes_since that the other side imports.
 *   - Yjs's root types (getText('text'), getArray('array')) exist in every
 *     document without an operation; accord objects are created by one. So
 *     doc1 (B3: client 0), as the document's creator, makes an untimed
 *     setup change creating root key "text" or "array" (B2: with the 100
 *     initial characters), and the other documents import it before the
 *     benchmark starts. It counts in no update. (Made by an actor of its
 *     own instead, every later change would name that actor's 8-byte id:
 *     B4's changes grow from 16 to 26 bytes.)
 *   - setMap('v', { name, address }) (B3.2) is a nested accord map with
 *     two keys, set in one transaction; accord has no JSON-object scalar.
 *   - insertArray(i, [numbers]) is one accord_list_insert per number, in
 *     one transaction: the API inserts one list value per call.
 *
 * B1 (one client edits, the other receives): time_ms is doc1 making the
 * calls; update_bytes_avg the sum of its changes over the number of inputs
 * (so B1.6's one input is two changes, insert and delete, as in the suite).
 * Untimed, doc2 then imports doc1's changes (as one batch: sending them one
 * by one would need a version vector taken before every commit), and both
 * documents must read as the suite's expected string or numbers.
 *
 * B2 (two clients, both start with the same 100 characters): as the
 * suite's README and its original b2.js define it, both clients make their
 * edits in one transaction each from that same state — concurrently — then
 * exchange their changes. time_ms covers both transactions, producing both
 * batches and importing them. (The suite's later js-lib/b2.js delivers
 * doc1's update synchronously inside doc1's transaction, so there doc2
 * edits after receiving it, and it counts the setup update into the
 * average; we keep the concurrent definition.) Both must read the same;
 * where the suite checks it (B2.1, B2.2), the length is 2N + 100; without
 * deletions (B2.3 too) it is the sum of both sides' insertions. B2.1 also
 * checks that the two strings do not interleave.
 *
 * B3 (20 floor(sqrt(N)) clients each make one change): every client's
 * change becomes one batch; client 0 imports them all (untimed), then
 * time_ms is client 1 importing them all, its own included (a duplicate).
 * Both must agree (same JSON); accord keeps every concurrent map value as a
 * conflict, so key "v" must hold one per client (B3.1–B3.3), and the list
 * one element per client (B3.4). The documents saved are client 0's.
 *
 * B4 (the automerge-paper trace, --trace PATH): one document applies every
 * edit as deleteText then insertText calls (one transaction each, as the
 * suite's B4 makes them); time_ms is the whole replay, and the text must
 * equal endContent. B4x100 applies the edits 100 times into the same
 * document: each pass starts again from position 0 of the trace, so it
 * writes a new copy in front of the previous ones and the text must be
 * endContent repeated 100 times (the suite does not check this one).
 *
 * Random input (B1, B2): the suite's lib0 generator is not reproduced; our
 * own (splitmix64) draws from the same distributions — positions uniform in
 * [0, length], words of letters a-z with a length uniform in the suite's
 * range, numbers uniform in [0, 2^31 - 1], a fair coin — seeded with
 * --seed (default 42, the suite's seed). Each benchmark restarts from the
 * seed, so --only gives the same input as a full run.
 *
 * Every benchmark finally saves the document, loads it as a new one and
 * checks that it reads as the original (same JSON). Actors: B1/B2 doc1 = 1,
 * doc2 = 2, loaded = 3; B3 client i = i + 1, loaded = clients + 1; B4
 * document = 1, loaded = 2.
 */
#include "bench.h"
#include "engine.h"
#include "gapbuf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CRDT_TIME TRACE_TIME_BASE /* the time of every commit */
#define B2_INIT_CPS 100           /* the suite's initText */
#define B3_FACTOR 20              /* clients = B3_FACTOR * floor(sqrt(N)) */
#define B4X100_PASSES 100
#define NUMBER_MAX 0x7fffffff

typedef struct crdt_bench crdt_bench;

/* One benchmark being run: its input and what it measured. */
typedef struct crdt_run {
  const crdt_bench *b;
  const crdt_opts *o;
  const trace *t; /* B4 */
  double time_ms, encode_ms, parse_ms;
  uint64_t update_bytes, updates;
  double update_div; /* > 0: update_bytes / update_div is an average */
  size_t doc_bytes, mem_bytes, clients;
  uint64_t edits;
  size_t mem_replay, mem_settled; /* B4 */
  double settle_ms;
} crdt_run;

/* ==== random input ====================================================== */

/* splitmix64 (Steele, Lea and Flood): one 64-bit state, full period. */
typedef struct rng {
  uint64_t s;
} rng;

static uint64_t rng_next(rng *r)
{
  uint64_t z = (r->s += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. The modulo's bias is below 2^-32 for the ranges
 * used here (at most 2^31 values). */
static size_t rng_range(rng *r, size_t lo, size_t hi)
{
  return lo + (size_t)(rng_next(r) % ((uint64_t)(hi - lo) + 1));
}

static int rng_bool(rng *r) { return (int)(rng_next(r) >> 63); }

/* ==== scripts: the calls a client makes, and what they must produce ===== */

/* One call of the suite's API: deleteText / deleteArray when del > 0,
 * else insertText (len bytes at text[off]) or insertArray (len numbers at
 * vals[off]). Offsets, not pointers: the pools grow while generating. */
typedef struct crdt_call {
  size_t pos, del;
  size_t off, len;
} crdt_call;

/* Invariant: model holds exactly what the calls so far produce (text), or
 * list[0 .. list_len) does (numbers). */
typedef struct script {
  int is_list;
  int has_del;
  size_t inputs; /* the suite's inputData.length: avgUpdateSize's divisor */
  crdt_call *calls;
  size_t ncalls, calls_cap;
  char *text;
  size_t text_len, text_cap;
  int64_t *vals;
  size_t nvals, vals_cap;
  gapbuf model;
  int64_t *list;
  size_t list_len, list_cap;
} script;

typedef int (*script_gen)(script *s, rng *r, size_t n);

/* B3: one client's change, made in its open transaction. */
typedef int (*b3_change)(accord_txn *txn, accord_id list, size_t i,
                         size_t clients);

/* B3: what client 1 must hold: values of map key "v", or list elements. */
enum { B3_MAP_V = 0, B3_LIST = 1 };

/* One row of the table (at the end of the file). */
struct crdt_bench {
  const char *id;   /* for --only */
  const char *name; /* the suite's */
  int (*run)(crdt_run *c);
  script_gen gen;   /* B1, B2: the input */
  int is_list;      /* B1: edits a list ("array"); B3: B3_MAP_V / B3_LIST */
  b3_change change; /* B3 */
  unsigned passes;  /* B4: passes over the trace */
  int heavy;        /* runs only with --only or --all */
};

static int run_b1(crdt_run *c);
static int run_b2(crdt_run *c);
static int run_b3(crdt_run *c);
static int run_b4(crdt_run *c);

/* Grows an array to hold at least need elements; NULL (and p untouched)
 * when out of memory. */
static void *grow(void *p, size_t *cap, size_t need, size_t size)
{
  size_t c = *cap > 0 ? *cap : 16;
  void *q;
  if (need <= *cap)
    return p;
  while (c < need)
    c *= 2;
  q = realloc(p, c * size);
  if (q != NULL)
    *cap = c;
  return q;
}

static int script_init(script *s, int is_list)
{
  memset(s, 0, sizeof(*s));
  s->is_list = is_list;
  if (gapbuf_init(&s->model, 4096) != GAPBUF_OK)
    return bench_fail("out of memory");
  return 0;
}

static void script_free(script *s)
{
  free(s->calls);
  free(s->text);
  free(s->vals);
  free(s->list);
  gapbuf_free(&s->model);
  memset(s, 0, sizeof(*s));
}

/* The current length of the modelled text or list. */
static size_t script_len(const script *s)
{
  return s->is_list ? s->list_len : s->model.cps;
}

/* Starts the text model from init (the document's content before the
 * script's calls). */
static int script_start(script *s, const char *init, size_t len)
{
  if (gapbuf_splice(&s->model, 0, 0, init, len) != GAPBUF_OK)
    return bench_fail("out of memory");
  return 0;
}

/* Appends a random word of min..max letters to the text pool. */
static int script_word(script *s, rng *r, size_t min, size_t max, size_t *off)
{
  size_t len = rng_range(r, min, max);
  char *p = grow(s->text, &s->text_cap, s->text_len + len + 1, 1);
  if (p == NULL)
    return bench_fail("out of memory");
  s->text = p;
  *off = s->text_len;
  for (size_t i = 0; i < len; i++)
    p[s->text_len++] = (char)('a' + rng_range(r, 0, 25));
  return 0;
}

/* Appends a random number in [0, 2^31 - 1] to the number pool. */
static int script_number(script *s, rng *r, size_t *off)
{
  int64_t *p = grow(s->vals, &s->vals_cap, s->nvals + 1, sizeof(*p));
  if (p == NULL)
    return bench_fail("out of memory");
  s->vals = p;
  *off = s->nvals;
  p[s->nvals++] = (int64_t)rng_range(r, 0, NUMBER_MAX);
  return 0;
}

/* Applies a call to the list model. */
static int model_list(script *s, const crdt_call *k)
{
  int64_t *l = s->list;
  if (k->del > 0) {
    memmove(l + k->pos, l + k->pos + k->del,
            (s->list_len - k->pos - k->del) * sizeof(*l));
    s->list_len -= k->del;
    return 0;
  }
  l = grow(s->list, &s->list_cap, s->list_len + k->len, sizeof(*l));
  if (l == NULL)
    return bench_fail("out of memory");
  s->list = l;
  memmove(l + k->pos + k->len, l + k->pos,
          (s->list_len - k->pos) * sizeof(*l));
  memcpy(l + k->pos, s->vals + k->off, k->len * sizeof(*l));
  s->list_len += k->len;
  return 0;
}

/* Records a call and applies it to the model. */
static int script_call(script *s, size_t pos, size_t del, size_t off,
                       size_t len)
{
  crdt_call k = {pos, del, off, len};
  crdt_call *c;
  if (pos > script_len(s) || del > script_len(s) - pos)
    return bench_fail("input generation: call at %zu past the end", pos);
  if (s->is_list) {
    if (model_list(s, &k) != 0)
      return -1;
  } else if (gapbuf_splice(&s->model, pos, del, len > 0 ? s->text + off : "",
                           len) != GAPBUF_OK) {
    return bench_fail("out of memory");
  }
  c = grow(s->calls, &s->calls_cap, s->ncalls + 1, sizeof(*c));
  if (c == NULL)
    return bench_fail("out of memory");
  s->calls = c;
  c[s->ncalls++] = k;
  s->has_del |= del > 0;
  return 0;
}

/* Inserts a random word of min..max letters at pos. */
static int script_insert_word(script *s, rng *r, size_t pos, size_t min,
                              size_t max)
{
  size_t off = 0;
  if (script_word(s, r, min, max, &off) != 0)
    return -1;
  return script_call(s, pos, 0, off, s->text_len - off);
}

/* The suite's insert-or-delete step (B1.7, B2.4): at index, insert a word
 * of 2..10 letters when index is the end or a coin says so, else delete
 * 1..min(9, length - index) characters. */
static int script_insert_or_delete(script *s, rng *r, size_t index)
{
  size_t len = script_len(s);
  size_t max;
  if (len == index || rng_bool(r))
    return script_insert_word(s, r, index, 2, 10);
  max = len - index < 9 ? len - index : 9;
  return script_call(s, index, rng_range(r, 1, max), 0, 0);
}

/* ==== B1 and B2 inputs: one function per benchmark ====================== */

/* [B1.1] Append N characters: insertText(i, string[i]). */
static int gen_b1_1(script *s, rng *r, size_t n)
{
  size_t off = 0;
  if (script_word(s, r, n, n, &off) != 0)
    return -1;
  for (size_t i = 0; i < n; i++)
    if (script_call(s, i, 0, off + i, 1) != 0)
      return -1;
  s->inputs = n;
  return 0;
}

/* [B1.2] Insert string of length N: one insertText(0, string). */
static int gen_b1_2(script *s, rng *r, size_t n)
{
  s->inputs = 1;
  return script_insert_word(s, r, 0, n, n);
}

/* [B1.3] Prepend N characters: the string's characters from the last,
 * each with insertText(0, c); the result is the string. */
static int gen_b1_3(script *s, rng *r, size_t n)
{
  size_t off = 0;
  if (script_word(s, r, n, n, &off) != 0)
    return -1;
  for (size_t i = 0; i < n; i++)
    if (script_call(s, 0, 0, off + n - 1 - i, 1) != 0)
      return -1;
  s->inputs = n;
  return 0;
}

/* [B1.4] Insert N characters at random positions. */
static int gen_b1_4(script *s, rng *r, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (script_insert_word(s, r, rng_range(r, 0, script_len(s)), 1, 1) != 0)
      return -1;
  s->inputs = n;
  return 0;
}

/* [B1.5] Insert N words (2..10 letters) at random positions. */
static int gen_b1_5(script *s, rng *r, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (script_insert_word(s, r, rng_range(r, 0, script_len(s)), 2, 10) != 0)
      return -1;
  s->inputs = n;
  return 0;
}

/* [B1.6] Insert string, then delete it: insertText(0, string), then
 * deleteText(0, N) — two calls for one input. */
static int gen_b1_6(script *s, rng *r, size_t n)
{
  s->inputs = 1;
  if (script_insert_word(s, r, 0, n, n) != 0)
    return -1;
  return script_call(s, 0, n, 0, 0);
}

/* [B1.7] Insert/Delete strings at random positions. */
static int gen_b1_7(script *s, rng *r, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (script_insert_or_delete(s, r, rng_range(r, 0, script_len(s))) != 0)
      return -1;
  s->inputs = n;
  return 0;
}

/* [B1.8] Append N numbers: insertArray(i, [number]). */
static int gen_b1_8(script *s, rng *r, size_t n)
{
  size_t off = 0;
  for (size_t i = 0; i < n; i++)
    if (script_number(s, r, &off) != 0 || script_call(s, i, 0, off, 1) != 0)
      return -1;
  s->inputs = n;
  return 0;
}

/* [B1.9] Insert Array of N numbers: one insertArray(0, numbers). */
static int gen_b1_9(script *s, rng *r, size_t n)
{
  size_t off = 0;
  for (size_t i = 0; i < n; i++)
    if (script_number(s, r, &off) != 0)
      return -1;
  s->inputs = 1;
  return script_call(s, 0, 0, 0, n);
}

/* [B1.10] Prepend N numbers: insertArray(0, [number]); the result is the
 * numbers reversed. */
static int gen_b1_10(script *s, rng *r, size_t n)
{
  size_t off = 0;
  for (size_t i = 0; i < n; i++)
    if (script_number(s, r, &off) != 0 || script_call(s, 0, 0, off, 1) != 0)
      return -1;
  s->inputs = n;
  return 0;
}

/* [B1.11] Insert N numbers at random positions. */
static int gen_b1_11(script *s, rng *r, size_t n)
{
  size_t off = 0;
  for (size_t i = 0; i < n; i++) {
    size_t index = rng_range(r, 0, script_len(s));
    if (script_number(s, r, &off) != 0 || script_call(s, index, 0, off, 1))
      return -1;
  }
  s->inputs = n;
  return 0;
}

/* [B2.1] Concurrently insert string of length N at index 0. */
static int gen_b2_1(script *s, rng *r, size_t n)
{
  s->inputs = 1;
  return script_insert_word(s, r, 0, n, n);
}

/* [B2.2] Concurrently insert N characters at random positions. */
static int gen_b2_2(script *s, rng *r, size_t n) { return gen_b1_4(s, r, n); }

/* [B2.3] Concurrently insert N words (3..9 letters) at random positions. */
static int gen_b2_3(script *s, rng *r, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (script_insert_word(s, r, rng_range(r, 0, script_len(s)), 3, 9) != 0)
      return -1;
  s->inputs = n;
  return 0;
}

/* [B2.4] Concurrently insert & delete: N times, a word of 3..9 letters at
 * a random index, then the insert-or-delete step at the same index. */
static int gen_b2_4(script *s, rng *r, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    size_t index = rng_range(r, 0, script_len(s));
    if (script_insert_word(s, r, index, 3, 9) != 0 ||
        script_insert_or_delete(s, r, index) != 0)
      return -1;
  }
  s->inputs = n;
  return 0;
}

/* ==== peers: documents making the suite's calls ========================= */

typedef struct peer {
  accord_doc *doc;
  accord_txn *txn; /* open between peer_begin and peer_commit, else NULL */
  accord_id obj;   /* the text or list being edited */
  uint64_t bytes;  /* accord_change_info.len summed over commits */
  uint64_t commits;
} peer;

typedef struct batch {
  uint8_t *p;
  size_t len;
} batch;

static int new_doc(uint64_t actor_n, accord_doc **out)
{
  uint8_t actor[ACCORD_ACTOR_BYTES];
  int rc;
  bench_actor(actor_n, actor);
  rc = accord_doc_new(bench_doc_id, actor, out);
  return rc != 0 ? bench_efail(rc, "accord_doc_new") : 0;
}

/* Imports a batch that must apply (or repeat) exactly `changes` changes
 * and leave nothing waiting. */
static int import_batch(accord_doc *doc, const batch *b, size_t changes,
                        const char *what)
{
  accord_import_stats st;
  int rc = accord_doc_import(doc, b->p, b->len, &st);
  if (rc != 0)
    return bench_efail(rc, "%s: accord_doc_import", what);
  if (st.applied + st.duplicates != changes || st.pending != 0)
    return bench_fail("%s: import applied %zu, ignored %zu and left %zu "
                      "pending (expected %zu changes in all, none pending)",
                      what, st.applied, st.duplicates, st.pending, changes);
  return 0;
}

/* The setup change, made on its creator's doc: root key `key` holding a
 * new object of `type` (a text gets init), *obj its id; the batch the
 * other documents import in *out. */
static int make_setup(accord_doc *doc, const char *key, accord_type type,
                      const char *init, size_t init_len, batch *out,
                      accord_id *obj)
{
  accord_txn *txn = NULL;
  int rc = accord_txn_begin(doc, &txn);
  if (rc == 0) {
    accord_txn_set_time(txn, CRDT_TIME);
    rc = accord_map_put_object(txn, ACCORD_ROOT, key, type, obj);
    if (rc == 0 && init_len > 0)
      rc = accord_text_splice(txn, *obj, 0, 0, init, init_len);
    if (rc == 0)
      rc = accord_txn_commit(txn, NULL);
    else
      accord_txn_abort(txn);
  }
  if (rc == 0)
    rc = accord_doc_changes_since(doc, NULL, 0, &out->p, &out->len);
  return rc != 0 ? bench_efail(rc, "setup: creating root key \"%s\"", key)
                 : 0;
}

/* A document of actor actor_n that holds the setup change (none when
 * setup is NULL: the creator, who makes it). */
static int peer_open(peer *p, uint64_t actor_n, const batch *setup,
                     accord_id obj)
{
  memset(p, 0, sizeof(*p));
  p->obj = obj;
  if (new_doc(actor_n, &p->doc) != 0)
    return -1;
  if (setup == NULL)
    return 0;
  return import_batch(p->doc, setup, 1, "setup: importing the setup change");
}

static void peer_close(peer *p)
{
  accord_txn_abort(p->txn);
  accord_doc_free(p->doc);
  memset(p, 0, sizeof(*p));
}

/* The suite's transact(): opens the transaction later calls go into. */
static int peer_begin(peer *p)
{
  int rc = accord_txn_begin(p->doc, &p->txn);
  if (rc != 0)
    return bench_efail(rc, "accord_txn_begin");
  accord_txn_set_time(p->txn, CRDT_TIME);
  return 0;
}

static int peer_commit(peer *p)
{
  accord_change_info info;
  int rc = accord_txn_commit(p->txn, &info);
  p->txn = NULL;
  if (rc != 0)
    return bench_efail(rc, "accord_txn_commit");
  p->bytes += info.len;
  p->commits += info.seq != 0;
  return 0;
}

/* Ends one call: aborts on failure, else commits when the call opened the
 * transaction itself. */
static int peer_end_call(peer *p, int own, int rc, const crdt_call *k)
{
  if (rc != 0) {
    accord_txn_abort(p->txn);
    p->txn = NULL;
    return bench_efail(rc, "call at %zu (delete %zu, insert %zu)", k->pos,
                       k->del, k->len);
  }
  return own ? peer_commit(p) : 0;
}

/* insertText / deleteText at k->pos, str holding the k->len bytes. */
static int peer_text(peer *p, const crdt_call *k, const char *str)
{
  int own = p->txn == NULL;
  if (own && peer_begin(p) != 0)
    return -1;
  return peer_end_call(
      p, own, accord_text_splice(p->txn, p->obj, k->pos, k->del, str, k->len),
      k);
}

/* insertArray / deleteArray. */
static int peer_list(peer *p, const crdt_call *k, const int64_t *vals)
{
  int own = p->txn == NULL, rc = 0;
  if (own && peer_begin(p) != 0)
    return -1;
  if (k->del > 0)
    rc = accord_list_delete(p->txn, p->obj, k->pos, k->del);
  for (size_t i = 0; i < k->len && rc == 0; i++) {
    accord_value v = accord_int(vals[k->off + i]);
    rc = accord_list_insert(p->txn, p->obj, k->pos + i, &v);
  }
  return peer_end_call(p, own, rc, k);
}

/* Makes every call of script s, in p's open transaction if there is one. */
static int peer_run(peer *p, const script *s)
{
  for (size_t i = 0; i < s->ncalls; i++) {
    const crdt_call *k = &s->calls[i];
    int rc = s->is_list ? peer_list(p, k, s->vals)
                        : peer_text(p, k, k->len > 0 ? s->text + k->off : "");
    if (rc != 0)
      return -1;
  }
  return 0;
}

/* ==== checks and the save/load measurement ============================= */

static int check_bytes(const char *what, const char *got, size_t got_len,
                       const char *want, size_t want_len)
{
  size_t i = 0;
  if (got_len == want_len && memcmp(got, want, got_len) == 0)
    return 0;
  while (i < got_len && i < want_len && got[i] == want[i])
    i++;
  return bench_fail("%s: differs from the expected text at byte %zu (%zu "
                    "bytes, expected %zu)",
                    what, i, got_len, want_len);
}

/* The text of obj must be want. */
static int check_text(const accord_doc *doc, accord_id obj, const char *want,
                      size_t want_len, const char *what)
{
  char *s = NULL;
  size_t len = 0;
  int rc = accord_text_read(doc, obj, &s, &len);
  if (rc != 0)
    return bench_efail(rc, "%s: accord_text_read", what);
  rc = check_bytes(what, s, len, want, want_len);
  accord_free(s);
  return rc;
}

/* The list obj must hold exactly the numbers want[0 .. n). */
static int check_numbers(const accord_doc *doc, accord_id obj,
                         const int64_t *want, size_t n, const char *what)
{
  size_t len = 0;
  int rc = accord_list_len(doc, obj, &len);
  if (rc != 0)
    return bench_efail(rc, "%s: accord_list_len", what);
  if (len != n)
    return bench_fail("%s: %zu numbers, expected %zu", what, len, n);
  for (size_t i = 0; i < n; i++) {
    accord_value v;
    rc = accord_list_get(doc, obj, i, &v);
    if (rc != 0)
      return bench_efail(rc, "%s: accord_list_get(%zu)", what, i);
    if (v.type != ACCORD_INT || v.u.i != want[i])
      return bench_fail("%s: element %zu is not %" PRId64, what, i, want[i]);
  }
  return 0;
}

/* What the calls of s must have produced in doc. */
static int check_script(const accord_doc *doc, accord_id obj, const script *s,
                        const char *what)
{
  char *want;
  size_t len;
  int rc;
  if (s->is_list)
    return check_numbers(doc, obj, s->list, s->list_len, what);
  want = gapbuf_text(&s->model, &len);
  if (want == NULL)
    return bench_fail("out of memory");
  rc = check_text(doc, obj, want, len, what);
  free(want);
  return rc;
}

/* got (named what) must read as ref (named ref_name): the same JSON. */
static int check_same(const accord_doc *ref, const accord_doc *got,
                      const char *what, const char *ref_name)
{
  char *a = NULL, *b = NULL;
  size_t alen = 0, blen = 0;
  int rc = accord_doc_json(ref, &a, &alen);
  if (rc == 0)
    rc = accord_doc_json(got, &b, &blen);
  if (rc != 0)
    rc = bench_efail(rc, "%s: accord_doc_json", what);
  else if (alen != blen || memcmp(a, b, alen) != 0)
    rc = bench_fail("%s: does not read as %s (JSON of %zu bytes, %zu "
                    "expected)",
                    what, ref_name, blen, alen);
  accord_free(a);
  accord_free(b);
  return rc;
}

/* docSize, encodeTime, parseTime and memUsed of doc; the loaded copy (of
 * actor actor_n) must read as doc. */
static int measure_save_load(crdt_run *c, accord_doc *doc, uint64_t actor_n)
{
  uint8_t actor[ACCORD_ACTOR_BYTES];
  uint8_t *bytes = NULL;
  size_t len = 0;
  accord_doc *loaded = NULL;
  double t0, t1, t2;
  int rc;

  bench_actor(actor_n, actor);
  t0 = bench_now_ms();
  rc = accord_doc_save(doc, &bytes, &len);
  t1 = bench_now_ms();
  if (rc != 0)
    return bench_efail(rc, "accord_doc_save");
  rc = accord_doc_load(bytes, len, actor, &loaded);
  t2 = bench_now_ms();
  accord_free(bytes);
  if (rc != 0)
    return bench_efail(rc, "accord_doc_load");
  c->doc_bytes = len;
  c->encode_ms = t1 - t0;
  c->parse_ms = t2 - t1;
  c->mem_bytes = accord_doc_mem_bytes(loaded);
  rc = check_same(doc, loaded, "the loaded document", "the saved one");
  accord_doc_free(loaded);
  return rc;
}

/* ==== B1: one client edits, the other receives ========================== */

static int run_b1(crdt_run *c)
{
  const crdt_bench *b = c->b;
  rng r = {c->o->seed};
  script s;
  peer p1, p2;
  batch setup = {NULL, 0};
  accord_id obj = {0, {0}};
  double t0;
  int rc = -1;

  memset(&p1, 0, sizeof(p1));
  memset(&p2, 0, sizeof(p2));
  if (script_init(&s, b->is_list) != 0)
    return -1;
  if (b->gen(&s, &r, c->o->n) != 0 || peer_open(&p1, 1, NULL, obj) != 0 ||
      make_setup(p1.doc, b->is_list ? "array" : "text",
                 b->is_list ? ACCORD_LIST : ACCORD_TEXT, NULL, 0, &setup,
                 &p1.obj) != 0 ||
      peer_open(&p2, 2, &setup, p1.obj) != 0)
    goto done;
  obj = p1.obj;

  t0 = bench_now_ms();
  if (peer_run(&p1, &s) != 0)
    goto done;
  c->time_ms = bench_now_ms() - t0;

  if (bench_pull(p2.doc, p1.doc, 1, "doc2 receiving doc1's changes") != 0 ||
      check_script(p1.doc, obj, &s, "doc1") != 0 ||
      check_same(p1.doc, p2.doc, "doc2", "doc1") != 0 ||
      measure_save_load(c, p1.doc, 3) != 0)
    goto done;
  c->update_bytes = p1.bytes;
  c->updates = p1.commits;
  c->update_div = (double)s.inputs;
  rc = 0;
done:
  peer_close(&p1);
  peer_close(&p2);
  accord_free(setup.p);
  script_free(&s);
  return rc;
}

/* ==== B2: two clients edit concurrently, then exchange ================== */

/* B2.1: the two strings, each inserted at 0, must not interleave: the
 * text is one string, then the other, then the initial text. Which string
 * comes first is the CRDT's choice; take the one the text starts with. */
static int check_no_interleave(const peer *p, const script *s1,
                               const script *s2, const char *init)
{
  const script *first = s1, *second = s2;
  size_t got_len = 0, len = s1->text_len + s2->text_len + B2_INIT_CPS;
  char *got = NULL, *want;
  int rc = accord_text_read(p->doc, p->obj, &got, &got_len);
  if (rc != 0)
    return bench_efail(rc, "doc1: accord_text_read");
  if (got_len < s1->text_len || memcmp(got, s1->text, s1->text_len) != 0)
    first = s2, second = s1;
  want = malloc(len);
  if (want == NULL) {
    rc = bench_fail("out of memory");
  } else {
    memcpy(want, first->text, first->text_len);
    memcpy(want + first->text_len, second->text, second->text_len);
    memcpy(want + len - B2_INIT_CPS, init, B2_INIT_CPS);
    rc = check_bytes("doc1 (the two strings must not interleave)", got,
                     got_len, want, len);
  }
  free(want);
  accord_free(got);
  return rc;
}

/* Both documents read the same; the suite's length check. */
static int check_b2(crdt_run *c, const peer *p1, const peer *p2,
                    const script *s1, const script *s2, const char *init)
{
  size_t len = 0, want = s1->model.cps + s2->model.cps - B2_INIT_CPS;
  int rc = check_same(p1->doc, p2->doc, "doc2", "doc1");
  if (rc != 0 || s1->has_del || s2->has_del)
    return rc;
  rc = accord_text_len(p1->doc, p1->obj, &len);
  if (rc != 0)
    return bench_efail(rc, "accord_text_len");
  if (len != want)
    return bench_fail("doc1: %zu characters, expected %zu", len, want);
  return c->b->gen == gen_b2_1 ? check_no_interleave(p1, s1, s2, init) : 0;
}

/* Timed: both transactions, then the two batches made and imported. */
static int b2_exchange(crdt_run *c, peer *p1, peer *p2, const script *s1,
                       const script *s2)
{
  uint8_t *v1 = NULL, *v2 = NULL;
  size_t v1_len = 0, v2_len = 0;
  batch u1 = {NULL, 0}, u2 = {NULL, 0};
  double t0;
  int rc = accord_doc_version(p1->doc, &v1, &v1_len);
  if (rc == 0)
    rc = accord_doc_version(p2->doc, &v2, &v2_len);
  if (rc != 0) {
    accord_free(v1);
    return bench_efail(rc, "accord_doc_version");
  }
  t0 = bench_now_ms();
  rc = -1;
  if (peer_begin(p1) != 0 || peer_run(p1, s1) != 0 || peer_commit(p1) != 0 ||
      peer_begin(p2) != 0 || peer_run(p2, s2) != 0 || peer_commit(p2) != 0)
    goto done;
  rc = accord_doc_changes_since(p1->doc, v2, v2_len, &u1.p, &u1.len);
  if (rc == 0)
    rc = accord_doc_changes_since(p2->doc, v1, v1_len, &u2.p, &u2.len);
  if (rc != 0) {
    rc = bench_efail(rc, "accord_doc_changes_since");
    goto done;
  }
  if (import_batch(p2->doc, &u1, 1, "doc2 importing doc1's update") != 0 ||
      import_batch(p1->doc, &u2, 1, "doc1 importing doc2's update") != 0) {
    rc = -1;
    goto done;
  }
  c->time_ms = bench_now_ms() - t0;
  c->update_bytes = u1.len + u2.len;
  c->updates = 2;
  c->update_div = 2;
done:
  accord_free(v1);
  accord_free(v2);
  accord_free(u1.p);
  accord_free(u2.p);
  return rc;
}

static int run_b2(crdt_run *c)
{
  rng r = {c->o->seed};
  char init[B2_INIT_CPS];
  script s1, s2;
  peer p1, p2;
  batch setup = {NULL, 0};
  accord_id obj = {0, {0}};
  int rc = -1;

  memset(&p1, 0, sizeof(p1));
  memset(&p2, 0, sizeof(p2));
  memset(&s1, 0, sizeof(s1));
  for (size_t i = 0; i < B2_INIT_CPS; i++)
    init[i] = (char)('a' + rng_range(&r, 0, 25));
  memset(&s2, 0, sizeof(s2));
  if (script_init(&s1, 0) != 0 || script_init(&s2, 0) != 0 ||
      script_start(&s1, init, B2_INIT_CPS) != 0 ||
      script_start(&s2, init, B2_INIT_CPS) != 0 ||
      c->b->gen(&s1, &r, c->o->n) != 0 || c->b->gen(&s2, &r, c->o->n) != 0 ||
      peer_open(&p1, 1, NULL, obj) != 0 ||
      make_setup(p1.doc, "text", ACCORD_TEXT, init, B2_INIT_CPS, &setup,
                 &p1.obj) != 0 ||
      peer_open(&p2, 2, &setup, p1.obj) != 0 ||
      b2_exchange(c, &p1, &p2, &s1, &s2) != 0 ||
      check_b2(c, &p1, &p2, &s1, &s2, init) != 0 ||
      measure_save_load(c, p1.doc, 3) != 0)
    goto done;
  rc = 0;
done:
  peer_close(&p1);
  peer_close(&p2);
  accord_free(setup.p);
  script_free(&s1);
  script_free(&s2);
  return rc;
}

/* ==== B3: many clients, one change each ================================= */

/* [B3.1] setMap('v', i). */
static int b3_set_number(accord_txn *txn, accord_id list, size_t i,
                         size_t clients)
{
  accord_value v = accord_int((int64_t)i);
  return accord_map_put(txn, ACCORD_ROOT, "v", &v);
}

/* [B3.2] setMap('v', { name: String(i), address: 'here' }). */
static int b3_set_object(accord_txn *txn, accord_id list, size_t i,
                         size_t clients)
{
  char name[24];
  int len = snprintf(name, sizeof(name), "%zu", i);
  accord_value v;
  accord_id m;
  int rc = accord_map_put_object(txn, ACCORD_ROOT, "v", ACCORD_MAP, &m);
  if (rc == 0) {
    v = accord_str(name, (size_t)len);
    rc = accord_map_put(txn, m, "name", &v);
  }
  if (rc == 0) {
    v = accord_str("here", 4);
    rc = accord_map_put(txn, m, "address", &v);
  }
  return rc;
}

/* [B3.3] setMap('v', String(i) repeated `clients` times). */
static int b3_set_string(accord_txn *txn, accord_id list, size_t i,
                         size_t clients)
{
  char digits[24];
  size_t len = (size_t)snprintf(digits, sizeof(digits), "%zu", i);
  char *s = malloc(len * clients);
  accord_value v;
  int rc;
  if (s == NULL)
    return ACCORD_ENOMEM;
  for (size_t k = 0; k < clients; k++)
    memcpy(s + k * len, digits, len);
  v = accord_str(s, len * clients);
  rc = accord_map_put(txn, ACCORD_ROOT, "v", &v);
  free(s);
  return rc;
}

/* [B3.4] insertArray(0, [String(i)]). */
static int b3_insert_text(accord_txn *txn, accord_id list, size_t i,
                          size_t clients)
{
  char digits[24];
  int len = snprintf(digits, sizeof(digits), "%zu", i);
  accord_value v = accord_str(digits, (size_t)len);
  return accord_list_insert(txn, list, 0, &v);
}

/* Client i makes its change; its document in *out, its batch in *u.
 * For B3.4, client 0 first makes the setup change (*setup, *list) that the
 * others import. */
static int b3_client(crdt_run *c, size_t i, batch *setup, accord_id *list,
                     accord_doc **out, batch *u)
{
  int needs_list = c->b->is_list == B3_LIST;
  peer p;
  uint8_t *ver = NULL;
  size_t ver_len = 0;
  int rc;

  *out = NULL;
  if (peer_open(&p, i + 1, needs_list && i > 0 ? setup : NULL, *list) != 0)
    goto fail;
  if (needs_list && i == 0 &&
      make_setup(p.doc, "array", ACCORD_LIST, NULL, 0, setup, list) != 0)
    goto fail;
  rc = accord_doc_version(p.doc, &ver, &ver_len);
  if (rc != 0) {
    bench_efail(rc, "client %zu: accord_doc_version", i);
    goto fail;
  }
  if (peer_begin(&p) != 0)
    goto fail;
  rc = c->b->change(p.txn, *list, i, c->clients);
  if (rc != 0) {
    bench_efail(rc, "client %zu: its change", i);
    goto fail;
  }
  if (peer_commit(&p) != 0)
    goto fail;
  rc = accord_doc_changes_since(p.doc, ver, ver_len, &u->p, &u->len);
  if (rc != 0) {
    bench_efail(rc, "client %zu: accord_doc_changes_since", i);
    goto fail;
  }
  accord_free(ver);
  *out = p.doc;
  return 0;
fail:
  accord_free(ver);
  peer_close(&p);
  return -1;
}

/* Imports every client's batch into doc, one by one. */
static int b3_import_all(accord_doc *doc, const batch *u, size_t n,
                         const char *who)
{
  char what[64];
  for (size_t i = 0; i < n; i++) {
    snprintf(what, sizeof(what), "%s importing client %zu's update", who, i);
    if (import_batch(doc, &u[i], 1, what) != 0)
      return -1;
  }
  return 0;
}

/* Client 1 reads as client 0, and holds one value (B3.1–B3.3: a
 * conflict on key "v") or one list element per client. */
static int check_b3(const crdt_run *c, accord_doc *d0, accord_doc *d1,
                    accord_id list)
{
  size_t n = 0;
  int rc = check_same(d0, d1, "client 1", "client 0");
  if (rc != 0)
    return rc;
  if (c->b->is_list == B3_LIST)
    rc = accord_list_len(d1, list, &n);
  else
    rc = accord_map_conflicts(d1, ACCORD_ROOT, "v", NULL, 0, &n);
  if (rc != 0)
    return bench_efail(rc, "client 1: reading the result");
  if (n != c->clients)
    return bench_fail("client 1: %zu %s, expected one per client (%zu)", n,
                      c->b->is_list == B3_LIST ? "list elements"
                                               : "values of key \"v\"",
                      c->clients);
  return 0;
}

static size_t isqrt(size_t n)
{
  size_t r = 0;
  while ((r + 1) * (r + 1) <= n)
    r++;
  return r;
}

static int run_b3(crdt_run *c)
{
  size_t k = B3_FACTOR * isqrt(c->o->n);
  batch setup = {NULL, 0}, *u = calloc(k, sizeof(*u));
  accord_doc *d0 = NULL, *d1 = NULL;
  accord_id list = {0, {0}};
  double t0;
  int rc = -1;

  c->clients = k;
  if (u == NULL)
    return bench_fail("out of memory");
  for (size_t i = 0; i < k; i++) {
    accord_doc *d;
    if (b3_client(c, i, &setup, &list, &d, &u[i]) != 0)
      goto done;
    if (i == 0)
      d0 = d;
    else if (i == 1)
      d1 = d;
    else
      accord_doc_free(d);
    c->update_bytes += u[i].len;
  }
  c->updates = k;
  if (b3_import_all(d0, u, k, "client 0") != 0)
    goto done;
  t0 = bench_now_ms();
  if (b3_import_all(d1, u, k, "client 1") != 0)
    goto done;
  c->time_ms = bench_now_ms() - t0;
  if (check_b3(c, d0, d1, list) != 0 || measure_save_load(c, d0, k + 1) != 0)
    goto done;
  rc = 0;
done:
  for (size_t i = 0; i < k; i++)
    accord_free(u[i].p);
  free(u);
  accord_free(setup.p);
  accord_doc_free(d0);
  accord_doc_free(d1);
  return rc;
}

/* ==== B4: the real-world editing trace ================================== */

/* Every edit of t as deleteText then insertText, `passes` times. */
static int b4_replay(peer *p, const trace *t, unsigned passes)
{
  for (unsigned pass = 0; pass < passes; pass++) {
    for (size_t i = 0; i < t->npatches; i++) {
      const trace_patch *e = &t->patches[i];
      crdt_call del = {e->pos, e->del, 0, 0}, ins = {e->pos, 0, 0, e->ins_len};
      if ((e->del > 0 && peer_text(p, &del, "") != 0) ||
          (e->ins_len > 0 && peer_text(p, &ins, e->ins) != 0))
        return -1; /* peer_text reported it */
    }
  }
  return 0;
}

/* The text must be endContent, `passes` times over. */
static int check_b4(const peer *p, const trace *t, unsigned passes)
{
  size_t len = t->end_len * passes;
  char *want = malloc(len + 1);
  int rc;
  if (want == NULL)
    return bench_fail("out of memory");
  for (unsigned i = 0; i < passes; i++)
    memcpy(want + (size_t)i * t->end_len, t->end, t->end_len);
  rc = check_text(p->doc, p->obj, want, len,
                  passes > 1 ? "the text (endContent repeated)"
                             : "the text (endContent)");
  free(want);
  return rc;
}

static int run_b4(crdt_run *c)
{
  const trace *t = c->t;
  unsigned passes = c->b->passes;
  batch setup = {NULL, 0};
  accord_id obj = {0, {0}};
  peer p;
  double t0;
  int rc = -1;

  memset(&p, 0, sizeof(p));
  if (t->concurrent || t->start_len > 0)
    return bench_fail("needs a sequential trace that starts from an empty "
                      "document; %s is %s",
                      c->o->trace, t->concurrent ? "concurrent" : "not empty");
  if (peer_open(&p, 1, NULL, obj) != 0 ||
      make_setup(p.doc, "text", ACCORD_TEXT, NULL, 0, &setup, &p.obj) != 0)
    goto done;
  t0 = bench_now_ms();
  if (b4_replay(&p, t, passes) != 0)
    goto done;
  c->time_ms = bench_now_ms() - t0;
  c->mem_replay = accord_doc_mem_bytes(p.doc);
  t0 = bench_now_ms();
  rc = accord_doc_settle(p.doc);
  c->settle_ms = bench_now_ms() - t0;
  if (rc != 0) {
    rc = bench_efail(rc, "accord_doc_settle");
    goto done;
  }
  rc = -1;
  c->mem_settled = accord_doc_mem_bytes(p.doc);
  c->edits = (uint64_t)t->npatches * passes;
  c->update_bytes = p.bytes;
  c->updates = p.commits;
  if (check_b4(&p, t, passes) != 0 || measure_save_load(c, p.doc, 2) != 0)
    goto done;
  rc = 0;
done:
  peer_close(&p);
  accord_free(setup.p);
  return rc;
}

/* ==== the table, selection and output =================================== */

#define SQRT_N "20\xE2\x88\x9A" "N" /* "20√N" in UTF-8 */

/* Rows: id, the suite's name, the input or change. */
#define B1_TEXT(id, name, gen) {id, name, run_b1, gen, 0, NULL, 0, 0}
#define B1_LIST(id, name, gen) {id, name, run_b1, gen, 1, NULL, 0, 0}
#define B2(id, name, gen) {id, name, run_b2, gen, 0, NULL, 0, 0}
#define B3(id, name, check, change) {id, name, run_b3, NULL, check, change, 0, 0}
#define B4(id, name, passes, heavy) {id, name, run_b4, NULL, 0, NULL, passes, heavy}

static const crdt_bench benches[] = {
    B1_TEXT("B1.1", "[B1.1] Append N characters", gen_b1_1),
    B1_TEXT("B1.2", "[B1.2] Insert string of length N", gen_b1_2),
    B1_TEXT("B1.3", "[B1.3] Prepend N characters", gen_b1_3),
    B1_TEXT("B1.4", "[B1.4] Insert N characters at random positions",
            gen_b1_4),
    B1_TEXT("B1.5", "[B1.5] Insert N words at random positions", gen_b1_5),
    B1_TEXT("B1.6", "[B1.6] Insert string, then delete it", gen_b1_6),
    B1_TEXT("B1.7", "[B1.7] Insert/Delete strings at random positions",
            gen_b1_7),
    B1_LIST("B1.8", "[B1.8] Append N numbers", gen_b1_8),
    B1_LIST("B1.9", "[B1.9] Insert Array of N numbers", gen_b1_9),
    B1_LIST("B1.10", "[B1.10] Prepend N numbers", gen_b1_10),
    B1_LIST("B1.11", "[B1.11] Insert N numbers at random positions",
            gen_b1_11),
    B2("B2.1", "[B2.1] Concurrently insert string of length N at index 0",
       gen_b2_1),
    B2("B2.2", "[B2.2] Concurrently insert N characters at random positions",
       gen_b2_2),
    B2("B2.3", "[B2.3] Concurrently insert N words at random positions",
       gen_b2_3),
    B2("B2.4", "[B2.4] Concurrently insert & delete", gen_b2_4),
    B3("B3.1", "[B3.1] " SQRT_N " clients concurrently set number in Map",
       B3_MAP_V, b3_set_number),
    B3("B3.2", "[B3.2] " SQRT_N " clients concurrently set Object in Map",
       B3_MAP_V, b3_set_object),
    B3("B3.3", "[B3.3] " SQRT_N " clients concurrently set String in Map",
       B3_MAP_V, b3_set_string),
    B3("B3.4", "[B3.4] " SQRT_N " clients concurrently insert text in Array",
       B3_LIST, b3_insert_text),
    B4("B4", "[B4] Apply real-world editing dataset", 1, 0),
    B4("B4x100", "[B4x100] Apply real-world editing dataset 100 times",
       B4X100_PASSES, 1),
};

#define NBENCHES (sizeof(benches) / sizeof(benches[0]))

/* NAME selects b when it is b's id, or its group ("B1" selects B1.1 to
 * B1.11; "B4" is only B4). */
static int name_matches(const char *name, const crdt_bench *b)
{
  size_t len = strlen(name);
  return strcmp(name, b->id) == 0 ||
         (strncmp(name, b->id, len) == 0 && b->id[len] == '.');
}

int crdt_known(const char *name)
{
  for (size_t i = 0; i < NBENCHES; i++)
    if (name_matches(name, &benches[i]))
      return 1;
  return 0;
}

static int selected(const crdt_opts *o, const crdt_bench *b)
{
  if (o->only != NULL)
    return name_matches(o->only, b);
  return o->all || !b->heavy;
}

static void print_result(const crdt_run *c)
{
  const crdt_bench *b = c->b;
  printf("{\"name\":");
  bench_print_json_string(stdout, b->name, strlen(b->name));
  printf(",\"id\":\"%s\"", b->id);
  if (b->run != run_b4)
    printf(",\"n\":%zu", c->o->n);
  if (b->gen != NULL)
    printf(",\"seed\":%" PRIu64, c->o->seed);
  else
    printf(",\"seed\":null");
  if (c->clients > 0)
    printf(",\"clients\":%zu", c->clients);
  if (c->edits > 0)
    printf(",\"edits\":%" PRIu64, c->edits);
  printf(",\"time_ms\":%.3f", c->time_ms);
  if (c->update_div > 0)
    printf(",\"update_bytes_avg\":%.2f",
           (double)c->update_bytes / c->update_div);
  else
    printf(",\"update_bytes_total\":%" PRIu64, c->update_bytes);
  printf(",\"updates\":%" PRIu64 ",\"doc_bytes\":%zu,\"encode_ms\":%.3f,"
         "\"parse_ms\":%.3f,\"mem_bytes\":%zu",
         c->updates, c->doc_bytes, c->encode_ms, c->parse_ms, c->mem_bytes);
  if (c->edits > 0)
    printf(",\"ns_per_edit\":%.1f,\"mem_replay_bytes\":%zu,"
           "\"mem_settled_bytes\":%zu,\"settle_ms\":%.3f",
           c->time_ms * 1e6 / (double)c->edits, c->mem_replay, c->mem_settled,
           c->settle_ms);
  printf("}\n");
}

int cmd_crdt(const crdt_opts *o)
{
  trace *t = NULL;
  int rc = 0;

  for (size_t i = 0; i < NBENCHES && rc == 0; i++) {
    const crdt_bench *b = &benches[i];
    crdt_run c;
    if (!selected(o, b))
      continue;
    if (b->run == run_b4 && t == NULL) {
      bench_set_context(o->trace);
      if (trace_load(o->trace, &t) != 0) {
        rc = -1;
        break;
      }
    }
    memset(&c, 0, sizeof(c));
    c.b = b;
    c.o = o;
    c.t = t;
    bench_set_context(b->id);
    rc = b->run(&c);
    if (rc == 0) {
      print_result(&c);
      if (fflush(stdout) != 0)
        rc = bench_fail("cannot write to stdout");
    }
  }
  bench_set_context(NULL);
  trace_free(t);
  return rc;
}
