/*
 * change.h — the canonical encoding of changes (DESIGN §4).
 *
 * A change's canonical bytes are the msgpack array
 *   [doc, actor, seq, start_delta, time_delta, actors, deps, message, ops]
 * whose first three fields a receiver already knows from the batch it came
 * in. The rest — the body — is what is stored and sent, and what the hash
 * chain covers, with doc, actor and the seqs (hashchain.h).
 *
 * Body fields, each one msgpack value:
 *   start_delta  uint: start_op - end_op of the author's previous change
 *                (the counter after its last op; 0 before seq 1). Lamport
 *                counters never go back, so it is never negative.
 *   time_delta   int: ms since the previous change's time (0 before seq 1).
 *   actors       array of bin8: the actors this change refers to that its
 *                author's previous change's table did not hold, in order of
 *                first reference (in deps, then ops). The change's table is
 *                the previous change's table followed by these; for seq 1
 *                the previous table is just the author. Refs index it, so a
 *                teammate typing into someone else's text names them once,
 *                not in every keystroke.
 *   deps         array [ref, seq, ...]: heads of other actors seen since the
 *                author's previous change, sorted by actor id.
 *   message      nil or str.
 *   ops          array of ops, each an array [kind, obj, ...]:
 *     SET [0, obj, key, pred, value]      DEL [1, obj, key, pred]
 *     INS [2, obj, left, right, content]  RMV [3, obj, target, count]
 *     INC [4, obj, key|nil, target, delta]
 *   obj is nil (the root) or ref, counter. Other ids are nil (start/end) or
 *   ref, back where back = (this op's counter) - (id's counter) >= 1: ids
 *   named by an op are always older than it. pred is an array of ref, back
 *   pairs. content is a str (text: its code points are the elements) or an
 *   array of values (list). Values are nil, bool, int, float64, str, bin, or
 *   ext 1 timestamp / ext 2 counter (8-byte big-endian int64), ext 3/4/5 a
 *   new map / list / text (one zero byte).
 * Op k of a change has counter start_op + the spans of ops 0..k-1 (an INS
 * spans its element count, every other op 1).
 *
 * The encoder writes exactly this; the decoder refuses anything else, so a
 * change has one encoding.
 */
#ifndef ACCORD_CHANGE_H
#define ACCORD_CHANGE_H

#include "doc.h"
#include "mp.h"

#define EXT_TIMESTAMP 1
#define EXT_COUNTER 2
#define EXT_MAKE_MAP 3
#define EXT_MAKE_LIST 4
#define EXT_MAKE_TEXT 5

/* Encoding (used by transactions) ----------------------------------------- */

/* Change-local actor refs for the ids an op names. */
int txn_ref_slow(accord_txn *t, uint32_t actor, uint32_t *ref);
static inline int txn_ref(accord_txn *t, uint32_t actor, uint32_t *ref) {
  if (actor < t->caparef && t->aref[actor]) { /* the usual case */
    *ref = t->aref[actor] - 1;
    return 0;
  }
  return txn_ref_slow(t, actor, ref);
}
/* Appends one op (its counter is o->id.ctr). Every actor it names must
 * already have a ref. */
void change_put_op(buf *b, const accord_txn *t, const oper *o);
/* change_put_op for a text insert (INS with content) and a remove, from
 * the fields themselves: the keystroke path builds no oper. */
void change_put_text_ins(buf *b, const accord_txn *t, opid obj, uint32_t ctr,
                         opid left, opid right, const uint8_t *content,
                         uint32_t nbytes);
void change_put_rmv(buf *b, const accord_txn *t, opid obj, uint32_t ctr,
                    opid target, uint32_t count);
/* Writes the body of the transaction's change. */
void change_put_body(buf *b, const accord_doc *doc, const accord_txn *t,
                     uint32_t prev_end, int64_t prev_time);
/* One value in the change format (also used by snapshots). */
void change_put_val(buf *b, const val *v);
/* Reads one value; strings are borrowed from the input and checked.
 * Errors: EMALFORMED, EUTF8, ETOOBIG. */
int change_read_val(mp_reader *r, val *v);

/* Decoding ---------------------------------------------------------------- */

/* What decoding a change needs from its author's previous change. */
typedef struct chain_ctx {
  uint32_t end_op;
  int64_t time;
  const uint32_t *tab; /* its actor table (doc indexes); NULL before seq 1 */
  uint32_t ntab;
} chain_ctx;

static inline chain_ctx chain_context(const chain *c) {
  chain_ctx x;
  x.end_op = c->end_op;
  x.time = c->time;
  x.tab = c->tab;
  x.ntab = c->ntab;
  return x;
}

typedef struct dchange {
  uint32_t start_op, end_op;
  int64_t time;
  uint32_t ndeps;
  const uint32_t *deps; /* pairs (doc actor index, seq) */
  const char *msg;      /* NULL when absent */
  uint32_t msglen;
  uint32_t nops;
  oper *ops; /* borrowed from the decoder; strings borrowed from the body */
  const uint32_t *tab; /* this change's actor table (borrowed: the
                        * decoder's, or prev->tab itself when the change
                        * adds no actor) */
  uint32_t ntab;
} dchange;

/* Scratch storage reused across decodes. */
typedef struct decoder {
  oper *ops;
  uint32_t capops;
  opid *ids;
  uint32_t capids;
  val *vals;
  uint32_t capvals;
  uint32_t *deps;
  uint32_t capdeps;
  uint32_t *refs; /* change ref -> doc actor index */
  uint32_t caprefs;
} decoder;

void decoder_free(decoder *d);

/* Decodes a body by author (doc index) following the change described by
 * prev. Actors it names are added to the document's actor table. Errors:
 * EMALFORMED, EUTF8, ETOOBIG, ENOMEM. */
int change_decode(accord_doc *doc, decoder *d, uint32_t author,
                  const chain_ctx *prev, const uint8_t *body, size_t len,
                  dchange *out);

/* Byte length of the body at the start of r (six values); 0 if malformed. */
size_t change_body_len(const uint8_t *p, size_t left);

#endif
