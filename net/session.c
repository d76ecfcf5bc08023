/*
 * session.c — the sync protocol on one connection (docs/sync.md): summary
 * exchange, version vectors for the documents that differ, the missing
 * changes in bounded batches, and gossip (pushing what a peer may lack).
 *
 * One mechanism serves replies, pushes and forwarding: per peer and
 * document, `known` is what the peer has (or is being sent); a document is
 * marked dirty when we may hold something past it (a VV arrived, the store
 * moved, a peer sent us changes), and the pump sends each dirty document's
 * changes past `known` in batches of at most NET_BATCH_BYTES, advancing
 * `known`, until the conn says EBUSY (the pump resumes on drain).
 * Forwarding is thereby deduplicated by (doc, actor, seq): what a peer sent
 * us is recorded in its `known` and never sent back, and a peer that has a
 * change is never sent it again. A VV replaces `known` (the peer's word on
 * what it has: this is how anti-entropy repairs a lost push).
 *
 * Invariants: a pdoc is `valid` once `known` reflects the peer's state (its
 * VV, equal summary digests, or the end of its reply to our VV for a
 * document we lacked); the pump never sends a document that is not valid.
 * A document has at most one VV of ours unanswered (PD_ASKED, counted by
 * nasked), so every ask gets exactly one answer and the progress counts
 * meet when the answers end (docs/sync.md, "Progress").
 * Every message is checked in full before anything is done with it; a bad
 * one closes the connection with the reason logged.
 *
 * Workload: a summary per session and per anti-entropy round; a CHG per
 * push (one small batch) or per MiB of an initial sync.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accord.h"
#include "crypto.h"
#include "doc.h"
#include "mem.h"
#include "members.h"
#include "mp.h"
#include "net.h"
#include "node.h"

void session_fail(peer *p, const char *fmt, ...) {
  if (p->closing) return;
  char why[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  net_log(p->net, "accord net: %s: closing: %s", p->name, why);
  p->closing = 1;
  if (p->c) conn_close(p->c);
}

size_t net_asm_max = NET_ASM_MAX_DEFAULT;

/* ---- per-peer document state --------------------------------------------- */

_Static_assert(NET_REMAINING_MAX == (uint64_t)ACCORD_MAX_ACTORS * UINT32_MAX,
               "NET_REMAINING_MAX is the most changes a document holds");

/* Bits of pdoc.reply besides bit 0 (answer a VV): */
#define PD_ASKED 0x2   /* we sent a VV, unanswered: its answer is progress */
#define PD_LEARN 0x8   /* we lacked the document: valid at the answer's end */

static pdoc *pdoc_find(peer *p, const uint8_t *id, int create, int *created) {
  size_t lo = 0, hi = p->ndocs;
  if (created) *created = 0;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = memcmp(p->docs[mid].id, id, ACCORD_DOC_ID_BYTES);
    if (c == 0) return &p->docs[mid];
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  if (!create) return NULL;
  if (p->ndocs >= NET_DOCS_MAX) return NULL;
  if (p->ndocs == p->capdocs) {
    size_t cap = p->capdocs ? 2 * p->capdocs : 16;
    pdoc *d = mem_realloc(p->docs, cap * sizeof *d);
    if (!d) return NULL;
    p->docs = d;
    p->capdocs = cap;
  }
  memmove(&p->docs[lo + 1], &p->docs[lo], (p->ndocs - lo) * sizeof *p->docs);
  p->ndocs++;
  pdoc *d = &p->docs[lo];
  memset(d, 0, sizeof *d);
  memcpy(d->id, id, ACCORD_DOC_ID_BYTES);
  if (created) *created = 1;
  return d;
}

static void mark_dirty(peer *p, pdoc *d) {
  if (!d->dirty) {
    d->dirty = 1;
    p->ndirty++;
  }
}

static int heads_copy(store_heads *dst, const store_heads *src) {
  dst->n = 0;
  for (uint32_t i = 0; i < src->n; i++) {
    int rc = store_heads_push(dst, &src->h[i]);
    if (rc) return rc;
  }
  return 0;
}

/* Frees the outgoing batch, and wakes peers that waited for room. */
static void out_done(peer *p) {
  accord_net *net = p->net;
  net->out_total -= p->out.cap;
  buf_free(&p->out);
  p->out_active = 0;
  p->out_off = 0;
  for (peer *q = net->peers; q; q = q->next)
    if (q != p && q->starved && !q->closing) {
      q->starved = 0;
      session_pump(q);
    }
}

static void in_done(peer *p) {
  p->net->in_total -= p->in.cap;
  buf_free(&p->in);
}

void session_free(peer *p) {
  if (p->out_active || p->out.cap) {
    p->net->out_total -= p->out.cap;
    buf_free(&p->out);
    p->out_active = 0;
  }
  in_done(p);
  for (size_t i = 0; i < p->ndocs; i++) store_heads_free(&p->docs[i].known);
  mem_free(p->docs);
  p->docs = NULL;
  p->ndocs = p->capdocs = 0;
}

/* The local summary entry of a document of w, or NULL. */
static node_net_doc *local_doc(netws *w, const uint8_t *id) {
  size_t lo = 0, hi = w->nsum;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = memcmp(w->sum[mid].id, id, ACCORD_DOC_ID_BYTES);
    if (c == 0) return &w->sum[mid];
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return NULL;
}

static int send_buf(peer *p, buf *b) {
  if (b->err) return b->err;
  int rc = conn_send(p->c, b->p, b->len);
  if (!rc) {
    p->net->stat_msgs_out++;
    p->msgs_out++;
  }
  return rc;
}

/* ---- sending: summary and VV --------------------------------------------- */

static int by_id(const void *a, const void *b) {
  return memcmp(((const node_net_doc *)a)->id, ((const node_net_doc *)b)->id,
                ACCORD_DOC_ID_BYTES);
}

static void scan_ws(accord_net *net, netws *w) {
  node_net_doc *now = NULL;
  size_t n = 0;
  int rc = node_net_summary(net->node, w->id, &now, &n);
  if (rc) {
    net_log(net, "accord net: reading the workspace summary: %s",
            accord_strerror(rc));
    return;
  }
  if (n) qsort(now, n, sizeof *now, by_id);
  for (size_t i = 0; i < n; i++) {
    node_net_doc *old = local_doc(w, now[i].id);
    if (old && !memcmp(old->digest, now[i].digest, NODE_NET_DIGEST_BYTES))
      continue;
    for (peer *p = net->peers; p; p = p->next) {
      /* from the moment our summary went out: a document created since
       * is one the peer cannot have asked for, so it is pushed */
      if (!p->open || p->closing || p->w != w) continue;
      int created;
      pdoc *d = pdoc_find(p, now[i].id, 1, &created);
      if (!d) {
        session_fail(p, "out of memory tracking documents");
        continue;
      }
      if (created) d->valid = 1; /* new since its summary: it lacks it */
      d->system = !strcmp(now[i].type, "system");
      mark_dirty(p, d);
    }
  }
  node_net_summary_free(w->sum, w->nsum);
  w->sum = now;
  w->nsum = n;
}

void session_scan(accord_net *net) {
  for (size_t i = 0; i < net->nws; i++) scan_ws(net, &net->ws[i]);
  if (net->in_pump) return;
  for (peer *p = net->peers; p; p = p->next)
    if ((p->ndirty || p->out_active) && !p->closing) session_pump(p);
}

static void put_sum_entry(buf *b, const node_net_doc *d) {
  mp_put_array(b, 5);
  mp_put_bin(b, d->id, ACCORD_DOC_ID_BYTES);
  mp_put_str(b, d->type, strlen(d->type));
  mp_put_bin(b, d->creator, ACCORD_ACTOR_BYTES);
  mp_put_int(b, d->created);
  mp_put_bin(b, d->digest, NODE_NET_DIGEST_BYTES);
}

#define SUM_WANT_REPLY 1u
#define SUM_FIRST 2u
#define SUM_LAST 4u

int session_send_summary(peer *p, int want_reply) {
  accord_net *net = p->net;
  netws *w = p->w;
  session_scan(net);
  if (p->closing) return ACCORD_ENET;
  /* documents the peer has not told us about wait for its word */
  for (size_t i = 0; i < w->nsum; i++) {
    pdoc *d = pdoc_find(p, w->sum[i].id, 1, NULL);
    if (!d) {
      session_fail(p, "out of memory tracking documents");
      return ACCORD_ENOMEM;
    }
    d->system = !strcmp(w->sum[i].type, "system");
  }
  /* system documents first, then the rest; NET_SUM_PER_MSG a message,
   * at least one message */
  size_t *order = mem_alloc((w->nsum + 1) * sizeof *order), k = 0;
  if (!order) {
    session_fail(p, "out of memory sending the summary");
    return ACCORD_ENOMEM;
  }
  for (int pass = 0; pass < 2; pass++)
    for (size_t i = 0; i < w->nsum; i++)
      if (!strcmp(w->sum[i].type, "system") == (pass == 1)) order[k++] = i;
  int rc = 0;
  size_t at = 0;
  do {
    size_t m = k - at > NET_SUM_PER_MSG ? NET_SUM_PER_MSG : k - at;
    unsigned flags = (want_reply ? SUM_WANT_REPLY : 0) |
                     (at == 0 ? SUM_FIRST : 0) |
                     (at + m == k ? SUM_LAST : 0);
    buf b = {0};
    mp_put_array(&b, 4);
    mp_put_uint(&b, MSG_SUM);
    mp_put_bin(&b, w->id, ACCORD_WS_ID_BYTES);
    mp_put_uint(&b, flags);
    mp_put_array(&b, (uint32_t)m);
    for (size_t i = 0; i < m; i++) put_sum_entry(&b, &w->sum[order[at + i]]);
    /* summaries are small and rare; a queue too full for one means the
     * peer reads nothing: the connection ends */
    rc = send_buf(p, &b);
    buf_free(&b);
    at += m;
  } while (!rc && at < k);
  mem_free(order);
  if (rc) session_fail(p, "sending the summary: %s", accord_strerror(rc));
  return rc;
}

/* VV flags */
#define VV_YOURS 1u /* answer with your VV too: we do not know your state */

static int send_vv(peer *p, const uint8_t *id, const store_heads *h,
                   unsigned flags) {
  buf b = {0};
  mp_put_array(&b, 4);
  mp_put_uint(&b, MSG_VV);
  mp_put_bin(&b, id, ACCORD_DOC_ID_BYTES);
  mp_put_array(&b, h ? h->n : 0);
  for (uint32_t i = 0; h && i < h->n; i++) {
    mp_put_array(&b, 2);
    mp_put_bin(&b, h->h[i].actor, ACCORD_ACTOR_BYTES);
    mp_put_uint(&b, h->h[i].seq);
  }
  mp_put_uint(&b, flags);
  int rc = send_buf(p, &b);
  buf_free(&b);
  return rc;
}

static int send_join(peer *p) {
  accord_net *net = p->net;
  buf b = {0};
  mp_put_array(&b, 4);
  mp_put_uint(&b, MSG_JOIN);
  mp_put_bin(&b, net->join_secret, 32);
  mp_put_str(&b, net->join_name, strlen(net->join_name));
  if (net->join_has_role) mp_put_str(&b, net->join_role, strlen(net->join_role));
  else mp_put_nil(&b);
  int rc = send_buf(p, &b);
  crypto_wipe(b.p, b.len);
  buf_free(&b);
  return rc;
}

/* HELLO: the port we listen on (0: none), so that a peer that we
 * dialled can remember where to reach us (the source port of our
 * connection is ephemeral). */
static int send_hello(peer *p) {
  buf b = {0};
  mp_put_array(&b, 2);
  mp_put_uint(&b, MSG_HELLO);
  mp_put_uint(&b, (uint64_t)(p->net->port > 0 ? p->net->port : 0));
  int rc = send_buf(p, &b);
  buf_free(&b);
  if (rc) session_fail(p, "sending hello: %s", accord_strerror(rc));
  return rc;
}

void session_open(peer *p) {
  accord_net *net = p->net;
  if (net->joining) {
    /* only the member we dialled for the join hears from us, and only a
     * JOIN; anyone else waits until the workspace is ours */
    if (p->d && p->d == net->join_dial && send_join(p))
      session_fail(p, "sending the join request");
    return;
  }
  if (p->stranger) return; /* it may only JOIN: it learns nothing first */
  if (!send_hello(p)) session_send_summary(p, 0);
}

/* The peer's first round is complete (its summary ended, every document
 * we asked for arrived): remembered in the peers table, once per
 * connection (a durable write; anti-entropy rounds are not recorded). */
static void check_synced(peer *p) {
  if (p->recorded || !p->sum_ended || p->closing || p->nasked)
    return;
  p->recorded = 1;
  net_peer_synced(p);
}

/* ---- sending: changes ---------------------------------------------------- */

/* Sends the rest of the batch in p->out, a piece (NET_BATCH_BYTES) a
 * message, CHG_PART on all but the last. 0 (all sent), EBUSY or an error. */
static int send_out(peer *p) {
  buf m = {0};
  int rc = 0;
  while (p->out_active && !rc) {
    size_t k = p->out.len - p->out_off;
    int last = k <= NET_BATCH_BYTES;
    if (!last) k = NET_BATCH_BYTES;
    const node_net_doc *r = &p->out_rec;
    m.len = 0;
    m.err = 0;
    mp_put_array(&m, 8);
    mp_put_uint(&m, MSG_CHG);
    mp_put_bin(&m, r->id, ACCORD_DOC_ID_BYTES);
    mp_put_str(&m, r->type, strlen(r->type));
    mp_put_bin(&m, r->creator, ACCORD_ACTOR_BYTES);
    mp_put_int(&m, r->created);
    mp_put_uint(&m, last ? p->out_flags : (p->out_flags & ~CHG_LAST) | CHG_PART);
    mp_put_uint(&m, p->out_remaining);
    mp_put_bin(&m, p->out.p + p->out_off, k);
    if ((rc = send_buf(p, &m))) break;
    p->out_off += k;
    if (last) out_done(p);
  }
  buf_free(&m);
  return rc;
}

/* Sends what the peer lacks of one document: one batch (in pieces when
 * large), then more only for a document past NET_ASM_MAX. 0 (done), EBUSY
 * (wait for drain; *taken: the document's last batch is taken, only its
 * pieces wait) or an error. */
static int send_doc(peer *p, pdoc *d, int *taken) {
  *taken = 0;
  accord_net *net = p->net;
  accord_doc *doc;
  int rc = net_doc(net, p->w->id, d->id, &doc);
  if (rc) return rc;
  ndoc *nd = node_entry(net->node, doc);
  uint64_t missing = node_net_missing(doc, &d->known);
  store_heads tmp = {0};
  buf batch = {0};
  while (!rc && (missing > 0 || (d->reply & 1))) {
    uint32_t n;
    int more;
    batch.len = 0;
    batch.err = 0;
    if (net->out_total >= NET_OUT_TOTAL) { /* woken by out_done */
      p->starved = 1;
      rc = ACCORD_EBUSY;
      break;
    }
    if ((rc = heads_copy(&tmp, &d->known)) ||
        (rc = node_net_batch(doc, &tmp, NET_ASM_MAX - 4096,
                             NET_ASM_MAX - 4096, &batch, &n, &more)))
      break;
    missing = missing > n ? missing - n : 0;
    if (!more) missing = 0;
    int reply = d->reply & 1;
    unsigned flags = reply && !more ? CHG_LAST : 0;
    if (!reply && net->drop_pushes) { /* test hook: lost on the way */
      net->drop_pushes--;
    } else {
      /* the batch becomes the peer's outgoing one; known advances now:
       * the pieces left go out (on drain) before anything else */
      node_net_doc *r = &p->out_rec;
      memset(r, 0, sizeof *r);
      memcpy(r->id, d->id, ACCORD_DOC_ID_BYTES);
      snprintf(r->type, sizeof r->type, "%s", nd->type);
      memcpy(r->creator, nd->creator, ACCORD_ACTOR_BYTES);
      r->created = nd->created;
      p->out = batch;
      net->out_total += p->out.cap;
      memset(&batch, 0, sizeof batch);
      p->out_off = 0;
      p->out_flags = flags;
      p->out_remaining = missing;
      p->out_active = 1;
    }
    store_heads t = d->known;
    d->known = tmp;
    tmp = t;
    if (flags & CHG_LAST) d->reply &= ~1;
    if (p->out_active) rc = send_out(p);
  }
  store_heads_free(&tmp);
  buf_free(&batch);
  *taken = rc == ACCORD_EBUSY && p->out_active && !missing && !(d->reply & 1);
  return rc;
}

void session_pump(peer *p) {
  accord_net *net = p->net;
  if (p->closing || !p->open) return;
  if (p->out_active) {
    int rc = send_out(p);
    if (rc == ACCORD_EBUSY) return;
    if (rc) {
      session_fail(p, "sending changes: %s", accord_strerror(rc));
      return;
    }
  }
  if (!p->ndirty) return;
  net->in_pump++;
  for (int pass = 0; pass < 2 && !p->closing; pass++) {
    for (size_t i = 0; i < p->ndocs && !p->closing; i++) {
      pdoc *d = &p->docs[i];
      if (!d->dirty || !d->valid || d->system != (pass == 0)) continue;
      int taken;
      int rc = send_doc(p, d, &taken);
      if (rc == ACCORD_EBUSY) {
        if (taken) { /* done but for pieces that wait for the drain */
          d->dirty = 0;
          p->ndirty--;
        }
        goto out;
      }
      if (rc) {
        session_fail(p, "sending changes: %s", accord_strerror(rc));
        goto out;
      }
      d->dirty = 0;
      p->ndirty--;
    }
  }
out:
  net->in_pump--;
}

/* ---- receiving ----------------------------------------------------------- */

static int type_ok(const char *t, size_t n) {
  if (n == 0 || n > STORE_TYPE_MAX) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = t[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
      return 0;
  }
  return 1;
}

/* Reads a document record (id, type, creator, created) into d. */
static int get_record(mp_reader *r, node_net_doc *d) {
  const uint8_t *id, *cr;
  const char *type;
  size_t il, tl, cl;
  int64_t created;
  if (mp_get_bin(r, &id, &il) || il != ACCORD_DOC_ID_BYTES ||
      mp_get_str(r, &type, &tl) || !type_ok(type, tl) ||
      mp_get_bin(r, &cr, &cl) || cl != ACCORD_ACTOR_BYTES ||
      mp_get_int(r, &created))
    return -1;
  memset(d, 0, sizeof *d);
  memcpy(d->id, id, ACCORD_DOC_ID_BYTES);
  memcpy(d->type, type, tl);
  memcpy(d->creator, cr, ACCORD_ACTOR_BYTES);
  d->created = created;
  return 0;
}

/* Makes sure a document the peer announced exists here. */
static int ensure_doc(peer *p, const node_net_doc *rec) {
  accord_net *net = p->net;
  if (local_doc(p->w, rec->id)) return 0;
  int rc = node_net_doc_ensure(net->node, p->w->id, rec);
  if (rc) return rc;
  session_scan(net); /* the summary now lists it */
  return 0;
}

static void progress(peer *p) {
  accord_net *net = p->net;
  if (!net->cb.progress) return;
  p->prog.peer_key = p->pk;
  net->cb.progress(net->cb.userdata, &p->prog);
}

static void on_sum(peer *p, mp_reader *r) {
  accord_net *net = p->net;
  const uint8_t *ws;
  size_t wl;
  uint64_t flags;
  uint32_t n;
  if (mp_get_bin(r, &ws, &wl) || wl != ACCORD_WS_ID_BYTES ||
      mp_get_uint_max(r, 7, &flags) || mp_get_array(r, &n)) {
    session_fail(p, "bad message: malformed summary");
    return;
  }
  if (memcmp(ws, p->w->id, ACCORD_WS_ID_BYTES)) {
    session_fail(p, "bad message: summary of another workspace");
    return;
  }
  if (n > NET_SUM_PER_MSG || p->round_docs + n > NET_DOCS_MAX) {
    session_fail(p, "bad message: summary too long (%u entries)", n);
    return;
  }
  node_net_doc *e = n ? mem_alloc(n * sizeof *e) : NULL;
  if (n && !e) {
    session_fail(p, "out of memory reading a summary");
    return;
  }
  for (uint32_t i = 0; i < n; i++) {
    uint32_t f;
    const uint8_t *dg;
    size_t dl;
    if (mp_get_array(r, &f) || f != 5 || get_record(r, &e[i]) ||
        mp_get_bin(r, &dg, &dl) || dl != NODE_NET_DIGEST_BYTES) {
      mem_free(e);
      session_fail(p, "bad message: malformed summary entry %u", i);
      return;
    }
    memcpy(e[i].digest, dg, NODE_NET_DIGEST_BYTES);
  }
  if (r->p != r->end) {
    mem_free(e);
    session_fail(p, "bad message: bytes after the summary");
    return;
  }
  /* checked in full: act. Progress starts again from zero with a round
   * that finds nothing asked for (the counts of the last one met); a
   * round that overlaps answers still on their way adds to their counts,
   * so that done never passes total. */
  if (flags & SUM_FIRST) {
    p->round_docs = 0;
    if (!p->nasked) memset(&p->prog, 0, sizeof p->prog);
  }
  p->round_docs += n;
  p->synced = 1;
  if (flags & SUM_LAST) p->sum_ended = 1;
  if ((flags & SUM_WANT_REPLY) && (flags & SUM_FIRST))
    session_send_summary(p, 0);
  session_scan(net);
  for (uint32_t i = 0; i < n && !p->closing; i++) {
    node_net_doc *mine = local_doc(p->w, e[i].id);
    pdoc *d = pdoc_find(p, e[i].id, 1, NULL);
    if (!d) {
      session_fail(p, "out of memory tracking documents");
      break;
    }
    d->system = !strcmp(e[i].type, "system");
    if (mine && !memcmp(mine->digest, e[i].digest, NODE_NET_DIGEST_BYTES)) {
      if (heads_copy(&d->known, &mine->heads)) {
        session_fail(p, "out of memory tracking documents");
        break;
      }
      d->valid = 1;
      continue;
    }
    /* asked already, the answer on its way: it covers what the peer had
     * when our VV came, and the peer pushes what it got since. Asking again
     * would make it send the same changes twice (our VV, older than the
     * answer, replaces what it believes we have), and the answers to two
     * VVs are one or two depending on timing: progress counts one ask. */
    if (d->reply & PD_ASKED) continue;
    int rc = 0;
    if (!mine) {
      rc = ensure_doc(p, &e[i]);
      d = pdoc_find(p, e[i].id, 1, NULL); /* the scan may have moved it */
      if (!rc && d) d->reply |= PD_LEARN;
      mine = local_doc(p->w, e[i].id);
    }
    /* a document we had and the peer's state unknown (a new session):
     * ask for its VV too, or our later changes would never be pushed */
    if (!rc && d)
      rc = send_vv(p, e[i].id, mine ? &mine->heads : NULL,
                   mine && !d->valid ? VV_YOURS : 0);
    if (rc) {
      session_fail(p, "asking for document changes: %s", accord_strerror(rc));
      break;
    }
    d->reply |= PD_ASKED;
    d->expect = 0;
    p->nasked++;
    p->prog.docs_total++;
  }
  mem_free(e);
  if (!p->closing) {
    if (p->prog.docs_total) progress(p); /* a round with work to do */
    check_synced(p);
    session_pump(p);
  }
}

static void on_vv(peer *p, mp_reader *r) {
  const uint8_t *id;
  size_t il;
  uint32_t n;
  if (mp_get_bin(r, &id, &il) || il != ACCORD_DOC_ID_BYTES ||
      mp_get_array(r, &n) || n > ACCORD_MAX_ACTORS) {
    session_fail(p, "bad message: malformed version vector");
    return;
  }
  store_heads h = {0};
  for (uint32_t i = 0; i < n; i++) {
    uint32_t f;
    const uint8_t *a;
    size_t al;
    uint64_t seq;
    store_head e;
    if (mp_get_array(r, &f) || f != 2 || mp_get_bin(r, &a, &al) ||
        al != ACCORD_ACTOR_BYTES || mp_get_uint_max(r, UINT32_MAX, &seq)) {
      store_heads_free(&h);
      session_fail(p, "bad message: malformed version vector entry");
      return;
    }
    memset(&e, 0, sizeof e);
    memcpy(e.actor, a, ACCORD_ACTOR_BYTES);
    e.seq = (uint32_t)seq;
    if (store_heads_find(&h, a) || store_heads_push(&h, &e)) {
      store_heads_free(&h);
      session_fail(p, "bad message: version vector repeats an actor");
      return;
    }
  }
  uint64_t flags;
  if (mp_get_uint_max(r, 1, &flags) || r->p != r->end) {
    store_heads_free(&h);
    session_fail(p, "bad message: malformed version vector flags");
    return;
  }
  node_net_doc *mine = local_doc(p->w, id);
  if (!mine) {
    /* not ours (any more): nothing to answer with */
    store_heads_free(&h);
    net_log(p->net, "accord net: %s: asked for an unknown document",
            p->name);
    return;
  }
  pdoc *d = pdoc_find(p, id, 1, NULL);
  if (!d) {
    store_heads_free(&h);
    session_fail(p, "out of memory tracking documents");
    return;
  }
  store_heads_free(&d->known);
  d->known = h; /* the peer's word replaces ours: repairs lost pushes */
  d->valid = 1;
  d->reply |= 1;
  mark_dirty(p, d);
  if ((flags & VV_YOURS) && send_vv(p, id, &mine->heads, 0)) {
    session_fail(p, "answering a version vector");
    return;
  }
  session_pump(p);
}

static int merge_chain(void *ctx, const uint8_t *actor, uint32_t first,
                       uint32_t n) {
  store_heads *k = ctx;
  store_head *h = store_heads_find(k, actor);
  uint32_t last = first + n - 1;
  if (h) {
    if (last > h->seq) h->seq = last;
    return 0;
  }
  store_head e;
  memset(&e, 0, sizeof e);
  memcpy(e.actor, actor, ACCORD_ACTOR_BYTES);
  e.seq = last;
  return store_heads_push(k, &e);
}

static void on_chg(peer *p, mp_reader *r) {
  accord_net *net = p->net;
  node_net_doc rec;
  uint64_t flags, remaining;
  const uint8_t *batch;
  size_t blen;
  if (get_record(r, &rec) || mp_get_uint_max(r, 3, &flags) ||
      mp_get_uint_max(r, NET_REMAINING_MAX, &remaining) ||
      mp_get_bin(r, &batch, &blen) ||
      r->p != r->end) {
    session_fail(p, "bad message: malformed changes");
    return;
  }
  /* pieces of one batch are gathered (bounded), then taken as a whole */
  if (p->in.len && memcmp(p->in_id, rec.id, ACCORD_DOC_ID_BYTES)) {
    session_fail(p, "bad message: pieces of two batches interleaved");
    return;
  }
  if ((flags & CHG_PART) || p->in.len) {
    if (p->in.len + blen > NET_ASM_MAX) {
      session_fail(p, "bad message: a batch larger than %zu bytes",
                   NET_ASM_MAX);
      return;
    }
    if (net->in_total + blen > NET_IN_TOTAL) {
      session_fail(p, "too many batches being gathered from all peers");
      return;
    }
    memcpy(p->in_id, rec.id, ACCORD_DOC_ID_BYTES);
    size_t cap0 = p->in.cap;
    buf_put(&p->in, batch, blen);
    net->in_total += p->in.cap - cap0;
    if (p->in.err) {
      session_fail(p, "out of memory gathering a batch");
      return;
    }
    if (flags & CHG_PART) return;
    batch = p->in.p;
    blen = p->in.len;
  }
  /* the ranges it holds, before anything is stored: a batch that does not
   * parse changes nothing */
  store_heads ranges = {0};
  int rc = node_net_batch_chains(batch, blen, merge_chain, &ranges);
  if (rc) {
    store_heads_free(&ranges);
    session_fail(p, "bad message: malformed batch (%s)", accord_strerror(rc));
    return;
  }
  accord_doc *doc = NULL;
  accord_import_stats st = {0};
  rc = ensure_doc(p, &rec);
  if (!rc) rc = net_doc(net, p->w->id, rec.id, &doc);
  if (!rc) rc = accord_node_doc_import(net->node, doc, batch, blen, &st);
  if (rc) {
    store_heads_free(&ranges);
    session_fail(p, "refused changes: %s", accord_strerror(rc));
    return;
  }
  pdoc *d = pdoc_find(p, rec.id, 1, NULL);
  if (!d) {
    store_heads_free(&ranges);
    session_fail(p, "out of memory tracking documents");
    return;
  }
  for (uint32_t i = 0; i < ranges.n; i++)
    merge_chain(&d->known, ranges.h[i].actor, 1, ranges.h[i].seq);
  store_heads_free(&ranges);
  d->system = !strcmp(rec.type, "system");
  if (d->reply & PD_ASKED) {
    /* the answer's share of changes_total is what arrived of it plus what
     * the sender says remains, restated by every message: the sender's
     * count can be off (changes committed during a long answer, changes
     * released from pending or skipped as forks here), and its last
     * message (nothing remains) makes the share exactly what arrived.
     * Invariant: changes_total - changes_done is the sum of the asked
     * documents' expect. */
    uint64_t got = st.applied + st.duplicates;
    if (flags & CHG_LAST) remaining = 0;
    p->prog.changes_total = p->prog.changes_total - d->expect + got + remaining;
    p->prog.changes_done += got;
    d->expect = remaining;
    if (flags & CHG_LAST) {
      p->prog.docs_done++;
      d->reply &= ~PD_ASKED;
      p->nasked--;
      if (d->reply & PD_LEARN) {
        d->valid = 1;
        d->reply &= ~PD_LEARN;
      }
    }
    progress(p);
    if (flags & CHG_LAST) check_synced(p);
  }
  in_done(p);
  if (st.applied && net->cb.doc_changed)
    net->cb.doc_changed(net->cb.userdata, p->w->id, rec.id);
  /* forward: every other peer may lack what arrived */
  if (st.applied) {
    for (peer *q = net->peers; q; q = q->next) {
      if (q == p || !q->open || q->closing || q->w != p->w) continue;
      int created;
      pdoc *qd = pdoc_find(q, rec.id, 1, &created);
      if (!qd) continue;
      if (created) qd->valid = 1;
      qd->system = d->system;
      mark_dirty(q, qd);
    }
    /* sent at the end of this loop iteration (the store moved: net.c's
     * prepare handle scans and pumps), not now: copies of the same changes
     * from other peers that arrived in the same iteration are processed
     * first, and whoever sent us a change is not sent it back */
  }
}

/* A stranger's (or a member's) request to join with an invite: the
 * member side. The first and only message a stranger may send. */
static void on_join(peer *p, mp_reader *r) {
  accord_net *net = p->net;
  const uint8_t *secret;
  const char *name, *role = NULL;
  size_t sl, nl, rl = 0;
  if (mp_get_bin(r, &secret, &sl) || sl != 32 || mp_get_str(r, &name, &nl) ||
      nl == 0 || nl > 256 ||
      (!mp_try_nil(r) && (mp_get_str(r, &role, &rl) || rl > NET_ROLE_MAX)) ||
      r->p != r->end) {
    session_fail(p, "bad message: malformed join request");
    return;
  }
  char nbuf[257], rbuf[NET_ROLE_MAX + 1];
  memcpy(nbuf, name, nl);
  nbuf[nl] = 0;
  if (role) {
    memcpy(rbuf, role, rl);
    rbuf[rl] = 0;
  }
  if (memchr(nbuf, 0, nl) || (role && memchr(rbuf, 0, rl))) {
    session_fail(p, "bad message: join request with a NUL in a name");
    return;
  }
  int rc = node_invite_redeem(net->node, p->w->id, secret, p->pk, nbuf,
                              role ? rbuf : NULL);
  if (rc) {
    session_fail(p, "invite refused: %s", accord_strerror(rc));
    return;
  }
  uint8_t *gen = NULL;
  size_t glen = 0;
  buf b = {0};
  rc = node_ws_genesis(net->node, p->w->id, &gen, &glen);
  if (!rc) {
    mp_put_array(&b, 2);
    mp_put_uint(&b, MSG_GENESIS);
    mp_put_bin(&b, gen, glen);
    rc = send_buf(p, &b);
  }
  accord_free(gen);
  buf_free(&b);
  if (rc) {
    session_fail(p, "sending the genesis record: %s", accord_strerror(rc));
    return;
  }
  net_log(net, "accord net: %s: joined the workspace as \"%s\"", p->name,
          nbuf);
  int was_stranger = p->stranger;
  p->stranger = 0;
  p->joined_here = 1;
  net_announce(p);
  if (was_stranger && !send_hello(p)) session_send_summary(p, 0);
}

/* HELLO: where a peer that dialled us listens. Recorded with the IP it
 * connected from (p->name is "ip:port" or "[ip6]:port"). */
static void on_hello(peer *p, mp_reader *r) {
  uint64_t port;
  if (mp_get_uint_max(r, 65535, &port) || r->p != r->end) {
    session_fail(p, "bad message: malformed hello");
    return;
  }
  if (p->d || port == 0) return; /* we dialled it: on_open recorded it */
  const char *colon = strrchr(p->name, ':');
  if (!colon || colon == p->name) return;
  char addr[96];
  snprintf(addr, sizeof addr, "%.*s:%u", (int)(colon - p->name), p->name,
           (unsigned)port);
  net_peer_seen(p->net, p->w, p->pk, addr);
}

/* The member accepted our invite: the joiner side. */
static void on_genesis(peer *p, mp_reader *r) {
  accord_net *net = p->net;
  const uint8_t *gen;
  size_t glen;
  if (mp_get_bin(r, &gen, &glen) || glen > 4096 || r->p != r->end) {
    session_fail(p, "bad message: malformed genesis record");
    return;
  }
  int rc = node_ws_adopt(net->node, gen, glen, p->w->key, p->w->id);
  if (rc) {
    session_fail(p, "genesis record refused: %s", accord_strerror(rc));
    return;
  }
  net_join_done(net, 0);
  if (accord_node_changed(net->node, &net->counter)) net->counter = 0;
  session_scan(net);
  /* its summary came before the join: ask for it again */
  if (!send_hello(p)) session_send_summary(p, 1);
}

void session_message(peer *p, const uint8_t *msg, size_t len) {
  mp_reader r;
  uint32_t n;
  uint64_t type;
  accord_net *net = p->net;
  mp_reader_init(&r, msg, len);
  if (mp_get_array(&r, &n) || n < 1 || mp_get_uint(&r, &type)) {
    session_fail(p, "bad message: not a protocol message");
    return;
  }
  int first = p->msgs_in++ == 0;
  if (p->stranger && type != MSG_JOIN) {
    session_fail(p, "a stranger sent something other than a join request");
    return;
  }
  if (net->joining) {
    /* until the genesis record arrives the workspace is not ours: what
     * the member says before that (its summary) is asked for again */
    if (type == MSG_GENESIS && n == 2 && p->d && p->d == net->join_dial)
      on_genesis(p, &r);
    else if (type == MSG_GENESIS)
      session_fail(p, "bad message: unexpected genesis record");
    return;
  }
  switch (type) {
  case MSG_JOIN:
    if (n != 4) break;
    if (!first) {
      session_fail(p, "bad message: a join request after other messages");
      return;
    }
    on_join(p, &r);
    return;
  case MSG_SUM:
    if (n != 4) break;
    on_sum(p, &r);
    return;
  case MSG_VV:
    if (n != 4) break;
    on_vv(p, &r);
    return;
  case MSG_CHG:
    if (n != 8) break;
    on_chg(p, &r);
    return;
  case MSG_HELLO:
    if (n != 2) break;
    on_hello(p, &r);
    return;
  default:
    session_fail(p, "bad message: unknown type %llu",
                 (unsigned long long)type);
    return;
  }
  session_fail(p, "bad message: type %llu with %u fields",
               (unsigned long long)type, n);
}
