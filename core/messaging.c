/*
 * messaging.c — messaging documents (DESIGN §8; keys in docs/schema.md):
 * laying one out, fields, audiences, key messages with proof points,
 * approvals per member, and reading it as an accord_messaging. Members'
 * names and functions are the workspace's membership (core/members.c).
 *
 * Approvals are a map from the approver's actor id (hex) to {time, name,
 * role}: a member approves at most once (approving again refreshes it),
 * and approvals by different members made concurrently all survive, which
 * a list or a single "approved_by" value would not give.
 */
#include <string.h>

#include "doc.h"
#include "domain.h"
#include "mem.h"
#include "utf8.h"

static const char *const MSG_TEXTS[] = {"value_prop", "positioning",
                                        "press_release", "faq", NULL};

static int is_msg(const accord_doc *doc) {
  accord_value v;
  return !accord_map_get(doc, ACCORD_ROOT, "title", &v) &&
         accord_map_get(doc, ACCORD_ROOT, "metric", &v) == ACCORD_ENOTFOUND;
}

int accord_messaging_init(accord_txn *txn, const char *title, int64_t now_ms) {
  if (!txn) return ACCORD_EINVAL;
  int rc = dom_init(txn, title, MSG_TEXTS, now_ms);
  if (rc) return rc;
  if ((rc = dom_put_str(txn, ACCORD_ROOT, "status", "draft")) ||
      (rc = dom_put_str(txn, ACCORD_ROOT, "product", "")) ||
      (rc = accord_map_put_object(txn, ACCORD_ROOT, "audiences", ACCORD_LIST,
                                  NULL)) ||
      (rc = accord_map_put_object(txn, ACCORD_ROOT, "key_messages",
                                  ACCORD_LIST, NULL)) ||
      (rc = accord_map_put_object(txn, ACCORD_ROOT, "approvals", ACCORD_MAP,
                                  NULL)) ||
      (rc = accord_map_put_object(txn, ACCORD_ROOT, "links", ACCORD_MAP,
                                  NULL)))
    return rc;
  return 0;
}

int accord_messaging_set(accord_txn *txn, const char *field,
                         const char *value) {
  if (!txn || !field) return ACCORD_EINVAL;
  const dfield *f = dom_field(0, field);
  if (!f) return ACCORD_EINVAL;
  if (!is_msg(dom_txn_doc(txn))) return ACCORD_ENOTFOUND;
  return dom_set_field(txn, 0, f, value);
}

int accord_messaging_add_audience(accord_txn *txn, const char *audience) {
  if (!txn) return ACCORD_EINVAL;
  if (!is_msg(dom_txn_doc(txn))) return ACCORD_ENOTFOUND;
  return dom_list_add_unique(txn, "audiences", audience);
}

int accord_messaging_key_add(accord_txn *txn, const char *message,
                             const char *const *proofs, size_t nproofs) {
  if (!txn || !message || !*message || (nproofs && !proofs))
    return ACCORD_EINVAL;
  const accord_doc *doc = dom_txn_doc(txn);
  if (!utf8_valid((const uint8_t *)message, strlen(message), NULL))
    return ACCORD_EUTF8;
  for (size_t i = 0; i < nproofs; i++) {
    if (!proofs[i] || !*proofs[i]) return ACCORD_EINVAL;
    if (!utf8_valid((const uint8_t *)proofs[i], strlen(proofs[i]), NULL))
      return ACCORD_EUTF8;
  }
  if (!is_msg(doc)) return ACCORD_ENOTFOUND;
  accord_id list, km, text, pp;
  size_t n = 0;
  int rc = dom_get_obj(doc, ACCORD_ROOT, "key_messages", ACCORD_LIST, &list);
  if (rc == ACCORD_ENOTFOUND)
    rc = accord_map_put_object(txn, ACCORD_ROOT, "key_messages", ACCORD_LIST,
                               &list);
  if (rc || (rc = accord_list_len(doc, list, &n))) return rc;
  if ((rc = accord_list_insert_object(txn, list, n, ACCORD_MAP, &km)) ||
      (rc = accord_map_put_object(txn, km, "message", ACCORD_TEXT, &text)) ||
      (rc = accord_text_splice(txn, text, 0, 0, message, strlen(message))) ||
      (rc = accord_map_put_object(txn, km, "proof_points", ACCORD_LIST, &pp)))
    return rc;
  for (size_t i = 0; i < nproofs; i++) {
    accord_value v = accord_str(proofs[i], strlen(proofs[i]));
    if ((rc = accord_list_insert(txn, pp, i, &v))) return rc;
  }
  return 0;
}

int accord_messaging_key_remove(accord_txn *txn, size_t index) {
  if (!txn) return ACCORD_EINVAL;
  const accord_doc *doc = dom_txn_doc(txn);
  if (!is_msg(doc)) return ACCORD_ENOTFOUND;
  accord_id list;
  size_t n = 0;
  if (dom_get_obj(doc, ACCORD_ROOT, "key_messages", ACCORD_LIST, &list) ||
      accord_list_len(doc, list, &n) || index >= n)
    return ACCORD_ERANGE;
  return accord_list_delete(txn, list, index, 1);
}

/* 1 when the approvals include a product and a marketing one. */
static int both_functions(const accord_doc *doc, accord_id approvals) {
  size_t n = 0;
  int product = 0, marketing = 0;
  if (accord_map_size(doc, approvals, &n)) return 0;
  for (size_t i = 0; i < n; i++) {
    const char *key;
    size_t len;
    accord_id a;
    if (accord_map_key(doc, approvals, i, &key, &len) ||
        dom_get_obj(doc, approvals, key, ACCORD_MAP, &a))
      continue;
    const char *role = dom_get_str(doc, a, "role", NULL);
    product |= !strcmp(role, "product");
    marketing |= !strcmp(role, "marketing");
  }
  return product && marketing;
}

int accord_messaging_approve(accord_txn *txn, const uint8_t *member,
                             const char *name, const char *role,
                             int64_t now_ms) {
  if (!txn || !member) return ACCORD_EINVAL;
  const accord_doc *doc = dom_txn_doc(txn);
  if (!name) name = "";
  if (!role) role = "";
  if (!utf8_valid((const uint8_t *)name, strlen(name), NULL) ||
      !utf8_valid((const uint8_t *)role, strlen(role), NULL))
    return ACCORD_EUTF8;
  if (!is_msg(doc)) return ACCORD_ENOTFOUND;
  accord_id approvals, a;
  char hex[2 * ACCORD_ACTOR_BYTES + 1];
  dom_hex(member, ACCORD_ACTOR_BYTES, hex);
  int rc = dom_get_obj(doc, ACCORD_ROOT, "approvals", ACCORD_MAP, &approvals);
  if (rc == ACCORD_ENOTFOUND)
    rc = accord_map_put_object(txn, ACCORD_ROOT, "approvals", ACCORD_MAP,
                               &approvals);
  accord_value t = accord_timestamp(now_ms);
  if (rc ||
      (rc = accord_map_put_object(txn, approvals, hex, ACCORD_MAP, &a)) ||
      (rc = accord_map_put(txn, a, "time", &t)) ||
      (rc = dom_put_str(txn, a, "name", name)) ||
      (rc = dom_put_str(txn, a, "role", role)))
    return rc;
  if (both_functions(doc, approvals) &&
      strcmp(dom_get_str(doc, ACCORD_ROOT, "status", NULL), "approved"))
    rc = dom_put_str(txn, ACCORD_ROOT, "status", "approved");
  return rc;
}

/* ---- reading ----------------------------------------------------------------- */

static int text_field(const accord_doc *doc, accord_id obj, const char *key,
                      pack *p, const char **out) {
  char *t = NULL;
  int rc = dom_get_text(doc, obj, key, &t);
  if (rc) return rc;
  *out = pk_str(p, t, strlen(t));
  mem_free(t);
  return 0;
}

static int msg_build(pack *p, void *ctx, void *res) {
  const accord_doc *doc = ctx;
  accord_messaging *m = res;
  accord_id list, approvals;
  size_t len, n = 0;
  const char *s;
  int rc;
  if ((rc = text_field(doc, ACCORD_ROOT, "title", p, &m->title)) ||
      (rc = text_field(doc, ACCORD_ROOT, "value_prop", p, &m->value_prop)) ||
      (rc = text_field(doc, ACCORD_ROOT, "positioning", p, &m->positioning)) ||
      (rc = text_field(doc, ACCORD_ROOT, "press_release", p,
                       &m->press_release)) ||
      (rc = text_field(doc, ACCORD_ROOT, "faq", p, &m->faq)))
    return rc;
  s = dom_get_str(doc, ACCORD_ROOT, "product", &len);
  m->product = pk_str(p, s, len);
  s = dom_get_str(doc, ACCORD_ROOT, "status", &len);
  m->status = pk_str(p, s, len);
  m->created = dom_get_ts(doc, ACCORD_ROOT, "created");
  if (!dom_get_obj(doc, ACCORD_ROOT, "audiences", ACCORD_LIST, &list) &&
      (rc = dom_get_strlist(doc, list, p, &m->audiences, &m->naudiences)))
    return rc;
  if (!dom_get_obj(doc, ACCORD_ROOT, "key_messages", ACCORD_LIST, &list) &&
      !accord_list_len(doc, list, &n) && n) {
    accord_key_message *k = pk_alloc(p, n * sizeof *k);
    size_t used = 0;
    if (!k) return ACCORD_ENOMEM;
    for (size_t i = 0; i < n; i++) {
      accord_value v;
      accord_id pp;
      if (accord_list_get(doc, list, i, &v) || v.type != ACCORD_MAP) continue;
      if ((rc = text_field(doc, v.u.obj, "message", p, &k[used].message)))
        return rc;
      if (!dom_get_obj(doc, v.u.obj, "proof_points", ACCORD_LIST, &pp) &&
          (rc = dom_get_strlist(doc, pp, p, &k[used].proof_points,
                                &k[used].nproof_points)))
        return rc;
      used++;
    }
    m->key_messages = k;
    m->nkey_messages = used;
  }
  n = 0;
  if (!dom_get_obj(doc, ACCORD_ROOT, "approvals", ACCORD_MAP, &approvals) &&
      !accord_map_size(doc, approvals, &n) && n) {
    accord_approval *a = pk_alloc(p, n * sizeof *a);
    size_t used = 0;
    if (!a) return ACCORD_ENOMEM;
    for (size_t i = 0; i < n; i++) {
      const char *key;
      size_t klen;
      accord_id ap;
      if (accord_map_key(doc, approvals, i, &key, &klen) ||
          klen != 2 * ACCORD_ACTOR_BYTES ||
          dom_unhex(key, klen, a[used].member) ||
          dom_get_obj(doc, approvals, key, ACCORD_MAP, &ap))
        continue;
      a[used].time = dom_get_ts(doc, ap, "time");
      s = dom_get_str(doc, ap, "name", &len);
      a[used].name = pk_str(p, s, len);
      s = dom_get_str(doc, ap, "role", &len);
      a[used].role = pk_str(p, s, len);
      used++;
    }
    m->approvals = a;
    m->napprovals = used;
  }
  return dom_get_links(doc, p, &m->links, &m->nlinks);
}

int accord_messaging_read(const accord_doc *doc, accord_messaging **out) {
  if (!out) return ACCORD_EINVAL;
  *out = NULL;
  if (!doc) return ACCORD_EINVAL;
  if (!is_msg(doc)) return ACCORD_ENOTFOUND;
  return pk_run(msg_build, (void *)doc, sizeof(accord_messaging),
                (void **)out);
}

