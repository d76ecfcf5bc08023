/*
 * members.c — workspace membership (members.h, DESIGN §2 and §7): the
 * membership system document, the rule deciding who may write, removal
 * cutoffs, and invites.
 *
 * The system document. Every workspace has one document of type "system"
 * whose id is the first 16 bytes of BLAKE2b-256("accord-members-v1" ‖ ws
 * id), so every node knows it without being told. The founder writes its
 * first change in the same store write that records the workspace; a node
 * adopting a workspace records the (empty) document so that it can import
 * it. Its schema is in docs/schema.md: root "members" (actor hex → entry
 * with pk, name, role, added_by, added_at and a "removed" map, remover hex
 * → {at, cutoffs: doc hex → seq}) and root "invites" (invite id hex →
 * {by, at, expires, used_by, used_at, revoked_by, revoked_at}). Only the
 * founder's first change creates the two root maps and an add creates the
 * entry with its empty "removed" map, so concurrent writers always meet in
 * the same objects.
 *
 * Who is a member ("admitted"). The founder (the key of the genesis
 * record) is; anyone else is when their entry's "pk" register holds a key
 * that derives to the entry's actor and the operation that wrote it is by
 * an admitted actor other than themselves. The rule reads the op author,
 * not the "added_by" field, so nobody can add themselves or claim another
 * adder; it follows the chain of adders back to the founder (at most
 * ACCORD_MAX_ACTORS steps, so a cycle is refused). A member is removed when
 * its "removed" map holds an entry written by an admitted actor; its
 * cutoff for a document is the largest seq any remover recorded for it
 * (concurrent removals combine by max, a deterministic choice every node
 * makes alike), 0 when none did.
 *
 * Enforcement. Node documents verify seals; sync.c's read_batch calls
 * members_keycheck for each sealed chain: the key must be the member's
 * recorded key, the member admitted, and a removed member's seqs must not
 * pass the cutoff (ENOTMEMBER, the whole import fails). The system
 * document is special in one way: an add and the new member's own changes
 * may arrive in one batch, so there an author unknown before the import is
 * let through read_batch and checked after the import instead
 * (members_import_check): every author of the resulting document must be
 * admitted, else the import is undone (ENOTMEMBER). A local write is
 * stored only when the node's actor is admitted and, outside the system
 * document, not removed (members_write_check, from node_persist).
 *
 * Workload: a check per persisted commit and per imported batch chain; it
 * reads the pinned system document (kept open for the node's life) with a
 * handful of map lookups.
 */
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "domain.h"
#include "members.h"
#include "mem.h"
#include "node.h"

#define SYS_DOMAIN "accord-members-v1"
#define NAME_MAX_BYTES 256

/* ---- workspace records --------------------------------------------------- */

typedef struct wsget {
  const uint8_t *ws;
  uint8_t *key;
  uint8_t *genesis;
  size_t len;
} wsget;

static int ws_get_txn(store_txn *t, void *ctx) {
  wsget *c = ctx;
  store_ws ws;
  int rc = store_ws_get(t, c->ws, &ws);
  if (rc) return rc;
  if (c->key) memcpy(c->key, ws.key, 32);
  if (c->genesis || !c->key) {
    c->genesis = mem_alloc(ws.genesis_len);
    if (!c->genesis) return ACCORD_ENOMEM;
    memcpy(c->genesis, ws.genesis, ws.genesis_len);
    c->len = ws.genesis_len;
  }
  return 0;
}

int node_ws_key(accord_node *node, const uint8_t *ws, uint8_t *key) {
  if (!node || !ws || !key) return ACCORD_EINVAL;
  wsget c = {ws, key, NULL, 0};
  return store_read(node->st, ws_get_txn, &c);
}

int node_ws_genesis(accord_node *node, const uint8_t *ws, uint8_t **out,
                    size_t *len) {
  if (!node || !ws || !out || !len) return ACCORD_EINVAL;
  wsget c = {ws, NULL, NULL, 0};
  int rc = store_read(node->st, ws_get_txn, &c);
  if (rc) {
    mem_free(c.genesis);
    return rc;
  }
  *out = c.genesis;
  *len = c.len;
  return 0;
}

void members_sys_id(const uint8_t *ws, uint8_t *id) {
  uint8_t m[sizeof SYS_DOMAIN - 1 + ACCORD_WS_ID_BYTES], h[32];
  memcpy(m, SYS_DOMAIN, sizeof SYS_DOMAIN - 1);
  memcpy(m + sizeof SYS_DOMAIN - 1, ws, ACCORD_WS_ID_BYTES);
  hash_bytes(m, sizeof m, h);
  memcpy(id, h, ACCORD_DOC_ID_BYTES);
}

int accord_system_doc_id(const uint8_t *ws, uint8_t *id) {
  if (!ws || !id) return ACCORD_EINVAL;
  int rc = crypto_init();
  if (rc) return rc;
  members_sys_id(ws, id);
  return 0;
}

static void sys_record(const uint8_t *ws, const uint8_t *creator,
                       int64_t created, store_doc *d) {
  memcpy(d->ws, ws, ACCORD_WS_ID_BYTES);
  members_sys_id(ws, d->id);
  memcpy(d->creator, creator, ACCORD_ACTOR_BYTES);
  d->created = created;
  d->type = ACCORD_SYSTEM_TYPE;
  d->type_len = sizeof ACCORD_SYSTEM_TYPE - 1;
}

typedef struct wsadopt {
  const store_ws *ws;
} wsadopt;

static int ws_adopt_txn(store_txn *t, void *ctx) {
  const store_ws *ws = ((wsadopt *)ctx)->ws;
  store_ws have;
  int rc = store_ws_get(t, ws->id, &have);
  if (rc == 0) return memcmp(have.key, ws->key, 32) ? ACCORD_EINVAL : 0;
  if (rc != ACCORD_ENOTFOUND) return rc;
  if ((rc = store_ws_put(t, ws))) return rc;
  /* the system document, empty until imported from a member: the
   * founder is recorded as its creator */
  store_doc d;
  uint8_t founder[ACCORD_ACTOR_BYTES];
  key_actor(ws->genesis + 1, founder);
  int64_t created = 0;
  for (int i = 0; i < 8; i++) created = created << 8 | ws->genesis[33 + i];
  sys_record(ws->id, founder, created, &d);
  return store_doc_put(t, &d);
}

int node_ws_adopt(accord_node *node, const uint8_t *genesis, size_t len,
                  const uint8_t *key, const uint8_t *expect_id) {
  if (!node || !genesis || !key || !expect_id) return ACCORD_EINVAL;
  uint8_t h[32];
  if (len < GENESIS_MIN || len > GENESIS_MIN + 256 || genesis[0] != 1)
    return ACCORD_EMALFORMED;
  hash_bytes(genesis, len, h);
  if (memcmp(h, expect_id, ACCORD_WS_ID_BYTES)) return ACCORD_EMALFORMED;
  store_ws ws;
  memcpy(ws.id, h, ACCORD_WS_ID_BYTES);
  ws.genesis = genesis;
  ws.genesis_len = len;
  ws.key = key;
  wsadopt c = {&ws};
  store_clear_err(node->st);
  return store_write(node->st, ws_adopt_txn, &c, NULL);
}

/* ---- founding ------------------------------------------------------------ */

static int put_str(accord_txn *t, accord_id obj, const char *key,
                   const char *s) {
  accord_value v = accord_str(s, strlen(s));
  return accord_map_put(t, obj, key, &v);
}

static int put_bytes(accord_txn *t, accord_id obj, const char *key,
                     const uint8_t *p, size_t n) {
  accord_value v = accord_bytes(p, n);
  return accord_map_put(t, obj, key, &v);
}

static int put_time(accord_txn *t, accord_id obj, const char *key,
                    int64_t ms) {
  accord_value v = accord_timestamp(ms);
  return accord_map_put(t, obj, key, &v);
}

static void actor_hex(const uint8_t *actor, char *out) {
  store_hex(actor, ACCORD_ACTOR_BYTES, out);
}

/* Writes the entry of a new member into members map m. */
static int put_entry(accord_txn *t, accord_id m, const uint8_t *pk,
                     const char *name, const char *role, const uint8_t *by,
                     int64_t now) {
  uint8_t actor[ACCORD_ACTOR_BYTES];
  char hex[2 * ACCORD_ACTOR_BYTES + 1];
  accord_id e;
  key_actor(pk, actor);
  actor_hex(actor, hex);
  int rc = accord_map_put_object(t, m, hex, ACCORD_MAP, &e);
  if (!rc) rc = put_bytes(t, e, "pk", pk, SIGN_PUBLIC_BYTES);
  if (!rc) rc = put_str(t, e, "name", name);
  if (!rc) rc = put_str(t, e, "role", role ? role : "");
  if (!rc) rc = put_bytes(t, e, "added_by", by, ACCORD_ACTOR_BYTES);
  if (!rc) rc = put_time(t, e, "added_at", now);
  if (!rc) rc = accord_map_put_object(t, e, "removed", ACCORD_MAP, NULL);
  return rc;
}

typedef struct found {
  const store_ws *ws;
  const store_doc *d;
  const accord_doc *doc;
  uint8_t hash[ACCORD_HASH_BYTES];
} found;

static int found_txn(store_txn *t, void *ctx) {
  found *c = ctx;
  const chain *ch = &c->doc->chains[0];
  store_run run = {ch->bytes.p, ch->off, 1, ch->n};
  store_head h;
  hashchain_pos empty, pos;
  memset(&empty, 0, sizeof empty); /* the chain from seq 0 */
  int rc = store_ws_put(t, c->ws);
  if (!rc) rc = store_doc_put(t, c->d);
  if (!rc)
    rc = store_changes_put(t, c->ws->id, c->d->id, c->doc->actor[0], &run,
                           &empty, &pos);
  memcpy(h.actor, c->doc->actor[0], ACCORD_ACTOR_BYTES);
  if (!rc) {
    store_head_set(&h, &pos);
    rc = store_head_put(t, c->ws->id, c->d->id, &h);
  }
  return rc;
}

int members_found(accord_node *node, const store_ws *ws, const char *name,
                  const char *role) {
  store_doc d;
  accord_doc *doc = NULL;
  accord_txn *t = NULL;
  int64_t now = doc_now_ms();
  sys_record(ws->id, node->actor, now, &d);
  int rc = accord_doc_new(d.id, node->actor, &doc);
  if (!rc) rc = node_doc_signer(node, doc, ws->id);
  if (!rc) rc = accord_txn_begin(doc, &t);
  if (!rc) {
    accord_id m;
    rc = accord_map_put_object(t, ACCORD_ROOT, "members", ACCORD_MAP, &m);
    if (!rc)
      rc = accord_map_put_object(t, ACCORD_ROOT, "invites", ACCORD_MAP, NULL);
    if (!rc) rc = put_entry(t, m, node->pk, name, role, node->actor, now);
    if (!rc) rc = accord_txn_commit(t, NULL);
    else accord_txn_abort(t);
  }
  if (!rc) rc = chain_index(&doc->chains[0]);
  found c = {ws, &d, doc, {0}};
  if (!rc) rc = store_write(node->st, found_txn, &c, NULL);
  accord_doc_free(doc);
  return rc;
}

/* ---- the pinned system document ------------------------------------------ */

static int is_sys(const ndoc *nd) {
  uint8_t id[ACCORD_DOC_ID_BYTES];
  members_sys_id(nd->ws, id);
  return !memcmp(id, nd->doc->id, ACCORD_DOC_ID_BYTES);
}

/* The system document of ws, opened once and kept open (one reference held
 * by the pin) until the node closes. */
static int sys_open(accord_node *node, const uint8_t *ws, ndoc **out) {
  uint8_t id[ACCORD_DOC_ID_BYTES];
  accord_doc *doc;
  members_sys_id(ws, id);
  int rc = accord_node_doc_open(node, ws, id, &doc);
  if (rc == ACCORD_ENOTFOUND) {
    uint8_t key[32];
    rc = node_ws_key(node, ws, key); /* no such workspace: ENOTFOUND */
    crypto_wipe(key, sizeof key);
    if (rc) return store_fail(node->st, rc, "no such workspace on this node");
    return store_fail(node->st, ACCORD_ENOTMEMBER,
                      "this node has no membership document for the "
                      "workspace (not created or adopted here)");
  }
  if (rc) return rc;
  ndoc *nd = node_entry(node, doc);
  if (nd->pinned) nd->refs--;
  else nd->pinned = 1;
  *out = nd;
  return 0;
}

/* ---- reading the membership ---------------------------------------------- */

static int hex_decode(const char *s, size_t n, uint8_t *out);

/* A view of a system document's state (borrowed). */
typedef struct mview {
  const accord_doc *doc;
  accord_id members, invites;
  int have; /* the root maps exist */
  uint8_t founder[ACCORD_ACTOR_BYTES];
} mview;

static int get_obj(const accord_doc *doc, accord_id obj, const char *key,
                   accord_id *out) {
  accord_value v;
  if (accord_map_get(doc, obj, key, &v) || v.type != ACCORD_MAP) return 0;
  *out = v.u.obj;
  return 1;
}

static int view_init(accord_node *node, const accord_doc *doc,
                     const uint8_t *ws, mview *v) {
  uint8_t *g = NULL;
  size_t glen;
  memset(v, 0, sizeof *v);
  v->doc = doc;
  ndoc *s = node_entry(node, doc);
  if (s && s->has_founder) {
    memcpy(v->founder, s->founder, ACCORD_ACTOR_BYTES);
  } else {
    int rc = node_ws_genesis(node, ws, &g, &glen);
    if (rc) return rc;
    key_actor(g + 1, v->founder);
    mem_free(g);
    if (s) {
      memcpy(s->founder, v->founder, ACCORD_ACTOR_BYTES);
      s->has_founder = 1;
    }
  }
  v->have = get_obj(doc, ACCORD_ROOT, "members", &v->members) &&
            get_obj(doc, ACCORD_ROOT, "invites", &v->invites);
  return 0;
}

static int entry_of(const mview *v, const uint8_t *actor, accord_id *e) {
  char hex[2 * ACCORD_ACTOR_BYTES + 1];
  if (!v->have) return 0;
  actor_hex(actor, hex);
  return get_obj(v->doc, v->members, hex, e);
}

/* The raw "pk" value of actor's entry (whatever it derives to), or NULL. */
static const uint8_t *entry_raw_pk(const mview *v, const uint8_t *actor) {
  accord_id e;
  accord_value x;
  if (!entry_of(v, actor, &e) || accord_map_get(v->doc, e, "pk", &x) ||
      x.type != ACCORD_BYTES || x.u.str.len != SIGN_PUBLIC_BYTES)
    return NULL;
  return (const uint8_t *)x.u.str.ptr;
}

/* The key recorded for actor and the author of the write, if any: 1. */
static int entry_pk(const mview *v, const uint8_t *actor, const uint8_t **pk,
                    uint8_t *writer) {
  accord_id e;
  accord_conflict c;
  size_t n;
  uint8_t derived[ACCORD_ACTOR_BYTES];
  if (!entry_of(v, actor, &e)) return 0;
  if (accord_map_conflicts(v->doc, e, "pk", &c, 1, &n) || n == 0 ||
      c.value.type != ACCORD_BYTES || c.value.u.str.len != SIGN_PUBLIC_BYTES)
    return 0;
  key_actor((const uint8_t *)c.value.u.str.ptr, derived);
  if (memcmp(derived, actor, ACCORD_ACTOR_BYTES)) return 0;
  *pk = (const uint8_t *)c.value.u.str.ptr;
  memcpy(writer, c.op.actor, ACCORD_ACTOR_BYTES);
  return 1;
}

/* 1 if actor is admitted (file header). */
static int admitted(const mview *v, const uint8_t *actor) {
  uint8_t cur[ACCORD_ACTOR_BYTES], by[ACCORD_ACTOR_BYTES];
  const uint8_t *pk;
  memcpy(cur, actor, sizeof cur);
  for (int steps = 0; steps <= ACCORD_MAX_ACTORS; steps++) {
    if (!memcmp(cur, v->founder, sizeof cur)) return 1;
    if (!entry_pk(v, cur, &pk, by) || !memcmp(by, cur, sizeof cur)) return 0;
    memcpy(cur, by, sizeof cur);
  }
  return 0;
}

/* Removal entries in removed map r (n keys) written by members: 1 if any,
 * raising *cutoff to the largest cutoff they record for dhex. */
static int removal_in(const mview *v, accord_id r, size_t n, const char *dhex,
                      uint32_t *cutoff) {
  accord_id one, cuts;
  int removed = 0;
  for (size_t i = 0; i < n; i++) {
    const char *k;
    accord_conflict c;
    size_t nc;
    if (accord_map_key(v->doc, r, i, &k, NULL) ||
        accord_map_conflicts(v->doc, r, k, &c, 1, &nc) || nc == 0 ||
        c.value.type != ACCORD_MAP || !admitted(v, c.op.actor))
      continue;
    one = c.value.u.obj;
    removed = 1;
    accord_value s;
    if (get_obj(v->doc, one, "cutoffs", &cuts) &&
        !accord_map_get(v->doc, cuts, dhex, &s) && s.type == ACCORD_INT &&
        s.u.i > 0 && s.u.i <= UINT32_MAX && (uint32_t)s.u.i > *cutoff)
      *cutoff = (uint32_t)s.u.i;
  }
  return removed;
}

#define ENTRY_VALUES_MAX 8

/* Whether actor is removed, and its cutoff for doc id (max over removers;
 * 0 when none recorded one). Two members adding the same actor
 * concurrently make two entries, one of which wins; a removal written
 * into either counts, so every entry's "removed" map is read. */
static int removal(const mview *v, const uint8_t *actor, const uint8_t *doc,
                   uint32_t *cutoff) {
  accord_conflict ev[ENTRY_VALUES_MAX];
  size_t nev = 0;
  char ahex[2 * ACCORD_ACTOR_BYTES + 1], dhex[2 * ACCORD_DOC_ID_BYTES + 1];
  int removed = 0;
  *cutoff = 0;
  if (!v->have) return 0;
  actor_hex(actor, ahex);
  if (accord_map_conflicts(v->doc, v->members, ahex, ev, ENTRY_VALUES_MAX,
                           &nev))
    return 0;
  if (nev > ENTRY_VALUES_MAX) nev = ENTRY_VALUES_MAX;
  store_hex(doc, ACCORD_DOC_ID_BYTES, dhex);
  for (size_t j = 0; j < nev; j++) {
    accord_id r;
    size_t n;
    if (ev[j].value.type != ACCORD_MAP ||
        !get_obj(v->doc, ev[j].value.u.obj, "removed", &r) ||
        accord_map_size(v->doc, r, &n))
      continue;
    removed |= removal_in(v, r, n, dhex, cutoff);
  }
  return removed;
}

static const char *get_str(const accord_doc *doc, accord_id obj,
                           const char *key, size_t *len) {
  accord_value v;
  if (accord_map_get(doc, obj, key, &v) || v.type != ACCORD_STR) {
    *len = 0;
    return "";
  }
  *len = v.u.str.len;
  return v.u.str.ptr;
}

static int64_t get_time(const accord_doc *doc, accord_id obj,
                        const char *key) {
  accord_value v;
  if (accord_map_get(doc, obj, key, &v) ||
      (v.type != ACCORD_TIMESTAMP && v.type != ACCORD_INT))
    return 0;
  return v.u.i;
}

static int get_actor(const accord_doc *doc, accord_id obj, const char *key,
                     uint8_t *out) {
  accord_value v;
  if (accord_map_get(doc, obj, key, &v) || v.type != ACCORD_BYTES ||
      v.u.str.len != ACCORD_ACTOR_BYTES)
    return 0;
  memcpy(out, v.u.str.ptr, ACCORD_ACTOR_BYTES);
  return 1;
}

/* ---- the checks ---------------------------------------------------------- */

int node_member_check(accord_node *node, const uint8_t *ws, const uint8_t *pk) {
  if (!node || !ws || !pk) return ACCORD_EINVAL;
  ndoc *s;
  mview v;
  uint8_t actor[ACCORD_ACTOR_BYTES], by[ACCORD_ACTOR_BYTES];
  const uint8_t *have;
  uint32_t cut;
  uint8_t key[32];
  int rc = node_ws_key(node, ws, key); /* ENOTFOUND: no such workspace */
  crypto_wipe(key, sizeof key);
  if (rc) return rc;
  rc = sys_open(node, ws, &s);
  if (rc == ACCORD_ENOTMEMBER) return 0;
  if (rc || (rc = view_init(node, s->doc, ws, &v))) return rc;
  key_actor(pk, actor);
  if (!admitted(&v, actor)) return 0;
  if (!entry_pk(&v, actor, &have, by)) {
    /* the founder before its entry arrived: the genesis key */
    uint8_t *g;
    size_t glen;
    if ((rc = node_ws_genesis(node, ws, &g, &glen))) return rc;
    int same = !memcmp(g + 1, pk, SIGN_PUBLIC_BYTES);
    mem_free(g);
    if (!same) return 0;
  } else if (memcmp(have, pk, SIGN_PUBLIC_BYTES)) {
    return 0;
  }
  return !removal(&v, actor, s->doc->id, &cut);
}

int members_keycheck(void *ud, accord_doc *doc, const uint8_t *actor,
                     const uint8_t *pk, uint32_t first, uint32_t last) {
  accord_node *node = ud;
  ndoc *nd = NULL;
  for (uint32_t i = 0; i < node->ndocs; i++)
    if (node->docs[i]->doc == doc) nd = node->docs[i];
  if (!nd) return ACCORD_ENOTMEMBER;
  char hex[2 * ACCORD_ACTOR_BYTES + 1];
  actor_hex(actor, hex);
  (void)first;
  int sys = is_sys(nd), rc;
  ndoc *s = nd;
  if (!sys && (rc = sys_open(node, nd->ws, &s))) return rc;
  mview v;
  if ((rc = view_init(node, s->doc, nd->ws, &v))) return rc;
  const uint8_t *have = entry_raw_pk(&v, actor);
  int known = have != NULL;
  if (known && memcmp(have, pk, SIGN_PUBLIC_BYTES))
    return store_fail(node->st, ACCORD_ENOTMEMBER,
                      "changes by %s are sealed with a key that is not the "
                      "member's recorded key",
                      hex);
  if (!admitted(&v, actor)) {
    /* the system document: its adds may come with the new member's own
     * changes; members_import_check decides after the import */
    if (sys && !known) return 0;
    return store_fail(node->st, ACCORD_ENOTMEMBER,
                      "changes by %s refused: not a member of the workspace",
                      hex);
  }
  uint32_t cut;
  if (removal(&v, actor, doc->id, &cut) && last > cut)
    return store_fail(node->st, ACCORD_ENOTMEMBER,
                      "changes by %s refused: removed from the workspace "
                      "(changes up to %u of this document are kept, these "
                      "reach %u)",
                      hex, cut, last);
  return 0;
}

int members_import_check(accord_node *node, ndoc *nd) {
  if (!is_sys(nd)) return 0;
  mview v;
  accord_doc *doc = nd->doc;
  int rc = view_init(node, doc, nd->ws, &v);
  if (rc) return rc;
  for (uint32_t a = 0; a < doc->nactors; a++) {
    if (doc->chains[a].n == 0 || admitted(&v, doc->actor[a])) continue;
    char hex[2 * ACCORD_ACTOR_BYTES + 1];
    actor_hex(doc->actor[a], hex);
    return store_fail(node->st, ACCORD_ENOTMEMBER,
                      "membership changes by %s refused: not a member of "
                      "the workspace",
                      hex);
  }
  /* Waiting changes by authors who are not members now are not kept: one
   * would fail every later import that lets it apply. If its author's add
   * was only late, the change comes again with the next sync. */
  uint32_t k = 0;
  for (uint32_t i = 0; i < doc->npending; i++) {
    pend *p = &doc->pending[i];
    if (admitted(&v, doc->actor[p->actor])) {
      doc->pending[k++] = *p;
      continue;
    }
    doc->pending_bytes -= p->len;
    mem_free(p->body);
    mem_free(p->seal);
  }
  if (k != doc->npending) {
    doc->npending = k;
    nd->pending_dirty = 1;
  }
  return 0;
}

/* What the write check's cache is valid for: the system document's
 * history (chains and pending; 0 never matches). */
static uint64_t sys_gen(const ndoc *s) {
  uint64_t g = 1 + ((uint64_t)s->doc->npending << 40);
  for (uint32_t a = 0; a < s->doc->nactors; a++) g += s->doc->chains[a].n;
  return g;
}

int members_write_check(accord_node *node, ndoc *nd) {
  char hex[2 * ACCORD_ACTOR_BYTES + 1];
  int sys = is_sys(nd), rc;
  ndoc *s = nd;
  if (!sys) {
    /* the commit path: a member writing to an ordinary document, checked
     * against the pinned system document as this process last saw it
     * (imports into it and refreshes by keychecks keep it current; the
     * peers' checks are the ones that protect the workspace) */
    uint8_t id[ACCORD_DOC_ID_BYTES];
    members_sys_id(nd->ws, id);
    ndoc *p = node_entry_by_id(node, nd->ws, id);
    if (p && p->pinned && p->ok_gen == sys_gen(p)) return 0;
    if ((rc = sys_open(node, nd->ws, &s))) return rc;
  }
  mview v;
  if ((rc = view_init(node, s->doc, nd->ws, &v))) return rc;
  uint32_t cut;
  actor_hex(node->actor, hex);
  if (!admitted(&v, node->actor))
    return store_fail(node->st, ACCORD_ENOTMEMBER,
                      "this node (%s) is not a member of the workspace: ask "
                      "a member for an invite",
                      hex);
  if (!sys && removal(&v, node->actor, nd->doc->id, &cut))
    return store_fail(node->st, ACCORD_ENOTMEMBER,
                      "this node (%s) was removed from the workspace", hex);
  if (!sys) s->ok_gen = sys_gen(s);
  return 0;
}

void members_hook(accord_node *node, accord_doc *doc) {
  doc->keycheck = members_keycheck;
  doc->keycheck_ud = node;
}

/* ---- membership changes -------------------------------------------------- */

typedef int (*sys_edit_fn)(accord_node *node, ndoc *s, const mview *v,
                           accord_txn *t, void *ctx);

/* One durable change to the system document of ws made by edit. */
static int sys_change(accord_node *node, const uint8_t *ws, sys_edit_fn edit,
                      void *ctx) {
  ndoc *s;
  accord_txn *t;
  mview v;
  int rc = sys_open(node, ws, &s);
  if (rc) return rc;
  if ((rc = accord_node_txn_begin(node, s->doc, &t))) return rc;
  if ((rc = view_init(node, s->doc, ws, &v))) {
    accord_txn_abort(t);
    return rc;
  }
  uint32_t cut;
  if (!v.have || !admitted(&v, node->actor)) {
    accord_txn_abort(t);
    rc = members_write_check(node, s);
    return rc ? rc : ACCORD_ENOTMEMBER;
  }
  if (removal(&v, node->actor, s->doc->id, &cut)) {
    accord_txn_abort(t);
    return store_fail(node->st, ACCORD_ENOTMEMBER,
                      "this node was removed from the workspace: only "
                      "current members change the membership");
  }
  rc = edit(node, s, &v, t, ctx);
  if (rc) {
    accord_txn_abort(t);
    return rc;
  }
  return accord_node_txn_commit(node, t, NULL);
}

static int valid_name(const char *s, int may_be_empty) {
  size_t n = strlen(s);
  if (n > NAME_MAX_BYTES || (!n && !may_be_empty)) return ACCORD_EINVAL;
  return 0;
}

static int valid_role(const char *role) {
  if (!role || !*role) return 0;
  if (!strcmp(role, "product") || !strcmp(role, "marketing") ||
      !strcmp(role, "shared"))
    return 0;
  return ACCORD_EINVAL;
}

typedef struct addctx {
  const uint8_t *pk;
  const char *name, *role;
  const uint8_t *invite; /* hex key of the invite to mark used, or NULL */
  int64_t now;
  int noop;
} addctx;

static int add_edit(accord_node *node, ndoc *s, const mview *v,
                    accord_txn *t, void *ctx) {
  (void)s;
  addctx *c = ctx;
  uint8_t actor[ACCORD_ACTOR_BYTES];
  const uint8_t *have;
  key_actor(c->pk, actor);
  if ((have = entry_raw_pk(v, actor))) {
    if (memcmp(have, c->pk, SIGN_PUBLIC_BYTES)) {
      store_fail(node->st, ACCORD_EKEY,
                 "a member with the same actor id and another key exists");
      return ACCORD_EKEY;
    }
    uint32_t cut;
    if (removal(v, actor, s->doc->id, &cut))
      /* adding it again would erase the cutoffs every node enforces */
      return store_fail(node->st, ACCORD_EINVAL,
                        "this key was removed from the workspace and cannot "
                        "be added again (a new key can)");
    if (admitted(v, actor)) {
      c->noop = 1;
      return 1; /* nothing to write */
    }
  }
  int rc = put_entry(t, v->members, c->pk, c->name, c->role, node->actor,
                     c->now);
  if (!rc && c->invite) {
    accord_id inv;
    if (!get_obj(v->doc, v->invites, (const char *)c->invite, &inv))
      return ACCORD_EINVITE;
    rc = put_bytes(t, inv, "used_by", actor, ACCORD_ACTOR_BYTES);
    if (!rc) rc = put_time(t, inv, "used_at", c->now);
  }
  return rc;
}

int accord_member_add(accord_node *node, const uint8_t *ws,
                      const uint8_t *public_key, const char *name,
                      const char *role) {
  if (!node || !ws || !public_key || !name || valid_name(name, 0) ||
      valid_role(role))
    return ACCORD_EINVAL;
  store_clear_err(node->st);
  addctx c = {public_key, name, role, NULL, doc_now_ms(), 0};
  int rc = sys_change(node, ws, add_edit, &c);
  return c.noop ? 0 : rc;
}

typedef struct updctx {
  const char *name, *role;
} updctx;

static int update_edit(accord_node *node, ndoc *s, const mview *v,
                       accord_txn *t, void *ctx) {
  (void)s;
  updctx *c = ctx;
  accord_id e;
  if (!entry_of(v, node->actor, &e))
    return store_fail(node->st, ACCORD_ENOTMEMBER,
                      "this node has no member entry in the workspace");
  int rc = 0;
  if (c->name && *c->name) rc = put_str(t, e, "name", c->name);
  if (!rc && c->role && *c->role) rc = put_str(t, e, "role", c->role);
  return rc;
}

int accord_member_update(accord_node *node, const uint8_t *ws,
                         const char *name, const char *role) {
  if (!node || !ws || (name && valid_name(name, 1)) || valid_role(role))
    return ACCORD_EINVAL;
  store_clear_err(node->st);
  updctx c = {name, role};
  return sys_change(node, ws, update_edit, &c);
}

/* ---- removal ------------------------------------------------------------- */

typedef struct cutctx {
  const uint8_t *ws, *actor;
  buf docs; /* doc id ‖ seq (4, native) per document with changes */
} cutctx;

typedef struct cutwalk {
  cutctx *c;
  store_txn *t;
} cutwalk;

static int cut_doc(void *ctx, const store_doc *d) {
  cutwalk *w = ctx;
  store_head h;
  int rc = store_head_get(w->t, d->ws, d->id, w->c->actor, &h);
  if (rc == ACCORD_ENOTFOUND) return 0;
  if (rc) return rc;
  buf_put(&w->c->docs, d->id, ACCORD_DOC_ID_BYTES);
  buf_put(&w->c->docs, &h.seq, sizeof h.seq);
  return w->c->docs.err;
}

static int cut_txn(store_txn *t, void *ctx) {
  cutwalk w = {ctx, t};
  return store_doc_each(t, ((cutctx *)ctx)->ws, cut_doc, &w);
}

static int remove_edit(accord_node *node, ndoc *s, const mview *v,
                       accord_txn *t, void *vctx) {
  cutctx *c = vctx;
  accord_id e, r, one, cuts;
  char hex[2 * ACCORD_ACTOR_BYTES + 1];
  if (!entry_of(v, c->actor, &e) || !get_obj(v->doc, e, "removed", &r))
    return store_fail(node->st, ACCORD_ENOTFOUND,
                      "no such member in the workspace");
  actor_hex(node->actor, hex);
  int rc = accord_map_put_object(t, r, hex, ACCORD_MAP, &one);
  if (!rc) rc = put_time(t, one, "at", doc_now_ms());
  if (!rc) rc = accord_map_put_object(t, one, "cutoffs", ACCORD_MAP, &cuts);
  for (size_t off = 0; !rc && off < c->docs.len;
       off += ACCORD_DOC_ID_BYTES + sizeof(uint32_t)) {
    char dhex[2 * ACCORD_DOC_ID_BYTES + 1];
    uint32_t seq;
    memcpy(&seq, c->docs.p + off + ACCORD_DOC_ID_BYTES, sizeof seq);
    store_hex(c->docs.p + off, ACCORD_DOC_ID_BYTES, dhex);
    /* the system document: the removed member's chain as this node
     * holds it (its stored head may lag the open document) */
    if (!memcmp(c->docs.p + off, s->doc->id, ACCORD_DOC_ID_BYTES)) {
      uint32_t a;
      if (doc_actor_find(s->doc, c->actor, &a) && s->doc->chains[a].n > seq)
        seq = s->doc->chains[a].n;
    }
    accord_value sv = accord_int(seq);
    rc = accord_map_put(t, cuts, dhex, &sv);
  }
  return rc;
}

int accord_member_remove(accord_node *node, const uint8_t *ws,
                         const uint8_t *actor) {
  if (!node || !ws || !actor) return ACCORD_EINVAL;
  store_clear_err(node->st);
  cutctx c;
  memset(&c, 0, sizeof c);
  c.ws = ws;
  c.actor = actor;
  /* open documents first store what they hold, so the cutoffs cover
   * everything this node knows of the member */
  int rc = 0;
  for (uint32_t i = 0; i < node->ndocs && !rc; i++)
    if (!memcmp(node->docs[i]->ws, ws, ACCORD_WS_ID_BYTES) &&
        node_unpersisted(node->docs[i]))
      rc = node_persist(node, node->docs[i]);
  if (!rc) rc = store_read(node->st, cut_txn, &c);
  if (!rc) rc = sys_change(node, ws, remove_edit, &c);
  buf_free(&c.docs);
  if (!rc) rc = members_enforce(node, ws);
  return rc;
}

/* ---- listing ------------------------------------------------------------- */

typedef struct listctx {
  accord_node *node;
  const mview *v;
} listctx;

/* What a listing's build step leaves at the start of the packed buffer:
 * where its items are (inside the same buffer) and how many. */
typedef struct listres {
  void *items;
  size_t n;
} listres;

/* Runs build over ws's membership view and returns its items as one
 * buffer: the items moved to the front (free with accord_free; NULL when
 * there are none). */
static int list_run(accord_node *node, const uint8_t *ws,
                    pk_build_fn build, size_t item_size,
                    void **out, size_t *n) {
  ndoc *s;
  mview v;
  int rc = sys_open(node, ws, &s);
  if (rc || (rc = view_init(node, s->doc, ws, &v))) return rc;
  listctx c = {node, &v};
  listres *r = NULL;
  rc = pk_run(build, &c, sizeof *r, (void **)&r);
  if (rc) return rc;
  size_t count = r->n;
  if (count) {
    memmove(r, r->items, count * item_size);
  } else {
    mem_free(r);
    r = NULL;
  }
  *out = r;
  *n = count;
  return 0;
}

static int list_build(pack *p, void *vctx, void *vres) {
  listctx *c = vctx;
  listres *r = vres;
  const mview *v = c->v;
  size_t n = 0, len;
  if (v->have && accord_map_size(v->doc, v->members, &n)) n = 0;
  accord_member *m = n ? pk_alloc(p, n * sizeof *m) : NULL;
  if (n && !m) return ACCORD_ENOMEM;
  size_t used = 0;
  for (size_t i = 0; i < n; i++) {
    const char *k;
    accord_id e;
    uint8_t actor[ACCORD_ACTOR_BYTES], by[ACCORD_ACTOR_BYTES];
    const uint8_t *pk;
    if (accord_map_key(v->doc, v->members, i, &k, &len) ||
        len != 2 * ACCORD_ACTOR_BYTES ||
        !get_obj(v->doc, v->members, k, &e))
      continue;
    if (!hex_decode(k, ACCORD_ACTOR_BYTES, actor) ||
        !entry_pk(v, actor, &pk, by) || !admitted(v, actor))
      continue;
    accord_member *x = &m[used++];
    memcpy(x->actor, actor, ACCORD_ACTOR_BYTES);
    memcpy(x->public_key, pk, SIGN_PUBLIC_BYTES);
    const char *s = get_str(v->doc, e, "name", &len);
    x->name = pk_str(p, s, len);
    s = get_str(v->doc, e, "role", &len);
    x->role = pk_str(p, s, len);
    memcpy(x->added_by, by, ACCORD_ACTOR_BYTES);
    x->added_at = get_time(v->doc, e, "added_at");
    uint32_t cut;
    x->removed = removal(v, actor, v->doc->id, &cut);
    accord_id rm;
    if (x->removed && get_obj(v->doc, e, "removed", &rm)) {
      const char *rk;
      accord_conflict cf;
      size_t nc, nr = 0;
      if (!accord_map_size(v->doc, rm, &nr) && nr &&
          !accord_map_key(v->doc, rm, 0, &rk, NULL) &&
          !accord_map_conflicts(v->doc, rm, rk, &cf, 1, &nc) && nc &&
          cf.value.type == ACCORD_MAP) {
        memcpy(x->removed_by, cf.op.actor, ACCORD_ACTOR_BYTES);
        x->removed_at = get_time(v->doc, cf.value.u.obj, "at");
      }
    }
  }
  r->items = m;
  r->n = used;
  return p->err;
}

int accord_member_list(accord_node *node, const uint8_t *ws,
                       accord_member **out, size_t *n) {
  if (!out || !n) return ACCORD_EINVAL;
  *out = NULL;
  *n = 0;
  if (!node || !ws) return ACCORD_EINVAL;
  store_clear_err(node->st);
  return list_run(node, ws, list_build, sizeof **out, (void **)out, n);
}

/* ---- invites: the member side -------------------------------------------- */

int node_invite_redeem(accord_node *node, const uint8_t *ws,
                       const uint8_t *secret, const uint8_t *joiner_pk,
                       const char *name, const char *role) {
  return accord_node_invite_redeem(node, ws, secret, joiner_pk, name, role);
}

static void invite_hex(const uint8_t *id, char *out) {
  store_hex(id, ACCORD_INVITE_ID_BYTES, out);
}

#define INVITE_DOMAIN "accord-invite-v1"

int accord_invite_id(const uint8_t *secret, uint8_t *id) {
  if (!secret || !id) return ACCORD_EINVAL;
  int rc = crypto_init();
  if (rc) return rc;
  uint8_t m[sizeof INVITE_DOMAIN - 1 + ACCORD_INVITE_SECRET_BYTES], h[32];
  memcpy(m, INVITE_DOMAIN, sizeof INVITE_DOMAIN - 1);
  memcpy(m + sizeof INVITE_DOMAIN - 1, secret, ACCORD_INVITE_SECRET_BYTES);
  hash_bytes(m, sizeof m, h);
  memcpy(id, h, ACCORD_INVITE_ID_BYTES);
  crypto_wipe(m, sizeof m);
  return 0;
}

/* The state of invite hex in v: EINVITE when unknown, used, revoked or
 * expired at now; 0 (and its object) when it may be redeemed. */
static int invite_usable(const mview *v, const char *hex, int64_t now,
                         accord_id *inv) {
  uint8_t who[ACCORD_ACTOR_BYTES];
  accord_conflict c;
  size_t n;
  if (!v->have || accord_map_conflicts(v->doc, v->invites, hex, &c, 1, &n) ||
      n == 0 || c.value.type != ACCORD_MAP || !admitted(v, c.op.actor))
    return ACCORD_EINVITE;
  *inv = c.value.u.obj;
  if (get_actor(v->doc, *inv, "used_by", who) ||
      get_actor(v->doc, *inv, "revoked_by", who))
    return ACCORD_EINVITE;
  int64_t exp = get_time(v->doc, *inv, "expires");
  if (exp <= now) return ACCORD_EINVITE;
  return 0;
}

typedef struct invctx {
  const uint8_t *id;
  int64_t now, expires;
} invctx;

static int invite_edit(accord_node *node, ndoc *s, const mview *v,
                       accord_txn *t, void *vctx) {
  (void)s;
  invctx *c = vctx;
  char hex[2 * ACCORD_INVITE_ID_BYTES + 1];
  accord_id inv;
  invite_hex(c->id, hex);
  int rc = accord_map_put_object(t, v->invites, hex, ACCORD_MAP, &inv);
  if (!rc) rc = put_bytes(t, inv, "by", node->actor, ACCORD_ACTOR_BYTES);
  if (!rc) rc = put_time(t, inv, "at", c->now);
  if (!rc) rc = put_time(t, inv, "expires", c->expires);
  return rc;
}

int accord_invite_create(accord_node *node, const uint8_t *ws,
                         const char *const *addrs, size_t naddrs,
                         int64_t expires_ms, char **token) {
  if (!token) return ACCORD_EINVAL;
  *token = NULL;
  if (!node || !ws || (naddrs && !addrs)) return ACCORD_EINVAL;
  store_clear_err(node->st);
  int64_t now = doc_now_ms();
  if (expires_ms <= now) return ACCORD_EINVAL;
  accord_invite inv;
  memset(&inv, 0, sizeof inv);
  memcpy(inv.ws, ws, ACCORD_WS_ID_BYTES);
  inv.expires = expires_ms;
  inv.naddrs = naddrs;
  inv.addrs = (const char **)addrs;
  int rc = node_ws_key(node, ws, inv.key);
  uint8_t id[ACCORD_INVITE_ID_BYTES];
  char *tok = NULL;
  if (!rc) {
    crypto_random(inv.secret, sizeof inv.secret);
    rc = accord_invite_id(inv.secret, id);
  }
  /* encode first: bad addresses change nothing */
  if (!rc) rc = token_encode(&inv, &tok);
  invctx c = {id, now, expires_ms};
  if (!rc) rc = sys_change(node, ws, invite_edit, &c);
  crypto_wipe(&inv, sizeof inv);
  if (rc) {
    if (tok) crypto_wipe(tok, strlen(tok));
    mem_free(tok);
    return rc;
  }
  *token = tok;
  return 0;
}

typedef struct redeemctx {
  addctx add;
  char hex[2 * ACCORD_INVITE_ID_BYTES + 1];
  int noop;
} redeemctx;

static int redeem_edit(accord_node *node, ndoc *s, const mview *v,
                       accord_txn *t, void *vctx) {
  redeemctx *c = vctx;
  accord_id inv;
  uint8_t actor[ACCORD_ACTOR_BYTES], who[ACCORD_ACTOR_BYTES];
  key_actor(c->add.pk, actor);
  int rc = invite_usable(v, c->hex, c->add.now, &inv);
  if (rc == ACCORD_EINVITE && v->have &&
      get_obj(v->doc, v->invites, c->hex, &inv) &&
      get_actor(v->doc, inv, "used_by", who) &&
      !memcmp(who, actor, ACCORD_ACTOR_BYTES) && admitted(v, actor)) {
    c->noop = 1; /* the same joiner again, after it succeeded */
    return 1;
  }
  if (rc)
    return store_fail(node->st, rc,
                      "the invite is unknown, used, revoked or expired");
  c->add.invite = (const uint8_t *)c->hex;
  rc = add_edit(node, s, v, t, &c->add);
  if (rc == 1) { /* already a member: the invite is still used up */
    rc = put_bytes(t, inv, "used_by", actor, ACCORD_ACTOR_BYTES);
    if (!rc) rc = put_time(t, inv, "used_at", c->add.now);
  }
  return rc;
}

int accord_node_invite_redeem(accord_node *node, const uint8_t *ws,
                              const uint8_t *secret, const uint8_t *joiner_pk,
                              const char *name, const char *role) {
  if (!node || !ws || !secret || !joiner_pk || !name || valid_name(name, 0) ||
      valid_role(role))
    return ACCORD_EINVAL;
  store_clear_err(node->st);
  redeemctx c;
  memset(&c, 0, sizeof c);
  uint8_t id[ACCORD_INVITE_ID_BYTES];
  int rc = accord_invite_id(secret, id);
  if (rc) return rc;
  invite_hex(id, c.hex);
  c.add.pk = joiner_pk;
  c.add.name = name;
  c.add.role = role;
  c.add.now = doc_now_ms();
  rc = sys_change(node, ws, redeem_edit, &c);
  return c.noop ? 0 : rc;
}

typedef struct revokectx {
  char hex[2 * ACCORD_INVITE_ID_BYTES + 1];
  int noop;
} revokectx;

static int revoke_edit(accord_node *node, ndoc *s, const mview *v,
                       accord_txn *t, void *vctx) {
  (void)s;
  revokectx *c = vctx;
  accord_id inv;
  uint8_t who[ACCORD_ACTOR_BYTES];
  if (!v->have || !get_obj(v->doc, v->invites, c->hex, &inv))
    return store_fail(node->st, ACCORD_EINVITE, "no such invite");
  if (get_actor(v->doc, inv, "used_by", who) ||
      get_actor(v->doc, inv, "revoked_by", who)) {
    c->noop = 1;
    return 1;
  }
  int rc = put_bytes(t, inv, "revoked_by", node->actor, ACCORD_ACTOR_BYTES);
  if (!rc) rc = put_time(t, inv, "revoked_at", doc_now_ms());
  return rc;
}

int accord_invite_revoke(accord_node *node, const uint8_t *ws,
                         const uint8_t *id) {
  if (!node || !ws || !id) return ACCORD_EINVAL;
  store_clear_err(node->st);
  revokectx c;
  memset(&c, 0, sizeof c);
  invite_hex(id, c.hex);
  int rc = sys_change(node, ws, revoke_edit, &c);
  return c.noop ? 0 : rc;
}

static int hex_decode(const char *s, size_t n, uint8_t *out) {
  for (size_t i = 0; i < n; i++) {
    int x = 0;
    for (int k = 0; k < 2; k++) {
      char ch = s[2 * i + k];
      int d = ch >= '0' && ch <= '9'   ? ch - '0'
              : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                                       : -1;
      if (d < 0) return 0;
      x = x << 4 | d;
    }
    out[i] = (uint8_t)x;
  }
  return 1;
}

static int invlist_build(pack *p, void *vctx, void *vres) {
  const mview *v = ((listctx *)vctx)->v;
  listres *r = vres;
  size_t n = 0, len;
  if (v->have && accord_map_size(v->doc, v->invites, &n)) n = 0;
  accord_invite_info *a = n ? pk_alloc(p, n * sizeof *a) : NULL;
  if (n && !a) return ACCORD_ENOMEM;
  size_t used = 0;
  for (size_t i = 0; i < n; i++) {
    const char *k;
    accord_id inv;
    accord_invite_info *x = &a[used];
    if (accord_map_key(v->doc, v->invites, i, &k, &len) ||
        len != 2 * ACCORD_INVITE_ID_BYTES ||
        !hex_decode(k, ACCORD_INVITE_ID_BYTES, x->id) ||
        !get_obj(v->doc, v->invites, k, &inv))
      continue;
    get_actor(v->doc, inv, "by", x->by);
    x->created = get_time(v->doc, inv, "at");
    x->expires = get_time(v->doc, inv, "expires");
    uint8_t who[ACCORD_ACTOR_BYTES];
    x->used = get_actor(v->doc, inv, "used_by", x->used_by);
    x->revoked = get_actor(v->doc, inv, "revoked_by", who);
    used++;
  }
  r->items = a;
  r->n = used;
  return p->err;
}

int accord_invite_list(accord_node *node, const uint8_t *ws,
                       accord_invite_info **out, size_t *n) {
  if (!out || !n) return ACCORD_EINVAL;
  *out = NULL;
  *n = 0;
  if (!node || !ws) return ACCORD_EINVAL;
  store_clear_err(node->st);
  return list_run(node, ws, invlist_build, sizeof **out, (void **)out, n);
}

/* ---- cutoffs for members_drop.c ----------------------------------------- */

int members_cutoffs(accord_node *node, const uint8_t *ws, const uint8_t *doc,
                    mcut **out, uint32_t *n) {
  ndoc *s;
  mview v;
  size_t nm = 0;
  *out = NULL;
  *n = 0;
  int rc = sys_open(node, ws, &s);
  if (rc || (rc = view_init(node, s->doc, ws, &v))) return rc;
  if (!v.have || accord_map_size(v.doc, v.members, &nm) || !nm) return 0;
  mcut *c = mem_alloc(nm * sizeof *c);
  if (!c) return ACCORD_ENOMEM;
  uint32_t k = 0;
  for (size_t i = 0; i < nm; i++) {
    const char *key;
    size_t len;
    if (accord_map_key(v.doc, v.members, i, &key, &len) ||
        len != 2 * ACCORD_ACTOR_BYTES || !hex_decode(key, 8, c[k].actor))
      continue;
    if (removal(&v, c[k].actor, doc, &c[k].cut)) k++;
  }
  if (!k) {
    mem_free(c);
    return 0;
  }
  *out = c;
  *n = k;
  return 0;
}

int members_after_import(accord_node *node, ndoc *nd) {
  return is_sys(nd) ? members_enforce(node, nd->ws) : 0;
}

int node_enroll(accord_node *member, const uint8_t *ws, accord_node *joiner,
                const char *name, const char *role) {
  if (!member || !ws || !joiner || !name) return ACCORD_EINVAL;
  uint8_t *gen = NULL, key[32], sys[ACCORD_DOC_ID_BYTES];
  size_t glen = 0, blen = 0;
  uint8_t *batch = NULL;
  accord_doc *from = NULL, *to = NULL;
  int rc = node_ws_genesis(member, ws, &gen, &glen);
  if (!rc) rc = node_ws_key(member, ws, key);
  if (!rc) rc = node_ws_adopt(joiner, gen, glen, key, ws);
  crypto_wipe(key, sizeof key);
  mem_free(gen);
  if (!rc) rc = accord_member_add(member, ws, joiner->pk, name, role);
  members_sys_id(ws, sys);
  if (!rc) rc = accord_node_doc_open(member, ws, sys, &from);
  if (!rc) rc = accord_doc_changes_since(from, NULL, 0, &batch, &blen);
  if (!rc) rc = accord_node_doc_open(joiner, ws, sys, &to);
  if (!rc) rc = accord_node_doc_import(joiner, to, batch, blen, NULL);
  accord_free(batch);
  accord_node_doc_close(joiner, to);
  accord_node_doc_close(member, from);
  return rc;
}
