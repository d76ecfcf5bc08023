/*
 * read.c — the public read calls for maps, lists and text. Values handed
 * out borrow the document's strings (valid until the next change).
 */
#include <string.h>

#include "doc.h"

void val_public(const accord_doc *doc, const val *v, opid op,
                accord_value *out) {
  memset(out, 0, sizeof *out);
  out->type = (accord_type)v->type;
  switch (v->type) {
    case ACCORD_BOOL: out->u.boolean = v->u.i != 0; break;
    case ACCORD_INT:
    case ACCORD_TIMESTAMP:
    case ACCORD_COUNTER: out->u.i = v->u.i; break;
    case ACCORD_DOUBLE: out->u.d = v->u.d; break;
    case ACCORD_STR:
    case ACCORD_BYTES:
      out->u.str.ptr = v->u.s;
      out->u.str.len = v->len;
      break;
    case ACCORD_MAP:
    case ACCORD_LIST:
    case ACCORD_TEXT: out->u.obj = doc_public_id(doc, op); break;
    default: break;
  }
}

static int entry(const accord_doc *doc, accord_id objid, const char *key,
                 mentry **e) {
  object *ob;
  int rc = doc_obj(doc, objid, TYPE_BIT(ACCORD_MAP), &ob);
  if (rc) return rc;
  if (!key) return ACCORD_EINVAL;
  *e = map_find(&ob->u.m, key, strlen(key));
  return 0;
}

int accord_map_get(const accord_doc *doc, accord_id objid, const char *key,
                   accord_value *out) {
  mentry *e;
  int rc = entry(doc, objid, key, &e);
  if (rc) return rc;
  if (!out) return ACCORD_EINVAL;
  if (!e || e->n == 0) return ACCORD_ENOTFOUND;
  val_public(doc, &e->regs[0].v, e->regs[0].op, out);
  return 0;
}

int accord_map_conflicts(const accord_doc *doc, accord_id objid,
                         const char *key, accord_conflict *out, size_t cap,
                         size_t *n) {
  mentry *e;
  int rc = entry(doc, objid, key, &e);
  if (rc) return rc;
  if (!n || (cap && !out)) return ACCORD_EINVAL;
  *n = e ? e->n : 0;
  for (size_t i = 0; i < *n && i < cap; i++) {
    val_public(doc, &e->regs[i].v, e->regs[i].op, &out[i].value);
    out[i].op = doc_public_id(doc, e->regs[i].op);
  }
  return 0;
}

int accord_map_size(const accord_doc *doc, accord_id objid, size_t *n) {
  object *ob;
  int rc = doc_obj(doc, objid, TYPE_BIT(ACCORD_MAP), &ob);
  if (rc) return rc;
  if (!n) return ACCORD_EINVAL;
  *n = ob->u.m.live;
  return 0;
}

int accord_map_key(const accord_doc *doc, accord_id objid, size_t i,
                   const char **key, size_t *len) {
  object *ob;
  int rc = doc_obj(doc, objid, TYPE_BIT(ACCORD_MAP), &ob);
  if (rc) return rc;
  if (!key) return ACCORD_EINVAL;
  mentry *e = map_live_entry(&ob->u.m, i);
  if (!e) return ACCORD_ERANGE;
  *key = e->key;
  if (len) *len = e->klen;
  return 0;
}

int accord_list_len(const accord_doc *doc, accord_id objid, size_t *n) {
  object *ob;
  int rc = doc_obj(doc, objid, TYPE_BIT(ACCORD_LIST), &ob);
  if (rc) return rc;
  if (!n) return ACCORD_EINVAL;
  *n = ob->u.s.visible;
  return 0;
}

int accord_list_get(const accord_doc *doc, accord_id objid, size_t index,
                    accord_value *out) {
  object *ob;
  int rc = doc_obj(doc, objid, TYPE_BIT(ACCORD_LIST), &ob);
  if (rc) return rc;
  if (!out) return ACCORD_EINVAL;
  opid id;
  val *v = seq_list_get(&ob->u.s, index, &id);
  if (!v) return ACCORD_ERANGE;
  val_public(doc, v, id, out);
  return 0;
}

int accord_text_len(const accord_doc *doc, accord_id objid, size_t *n) {
  object *ob;
  int rc = doc_obj(doc, objid, TYPE_BIT(ACCORD_TEXT), &ob);
  if (rc) return rc;
  if (!n) return ACCORD_EINVAL;
  *n = ob->u.s.visible;
  return 0;
}

int accord_text_read(const accord_doc *doc, accord_id objid, char **out,
                     size_t *len) {
  if (!out) return ACCORD_EINVAL;
  *out = NULL;
  object *ob;
  int rc = doc_obj(doc, objid, TYPE_BIT(ACCORD_TEXT), &ob);
  if (rc) return rc;
  buf b = {0};
  if (!buf_reserve(&b, ob->u.s.content.len + 1)) return ACCORD_ENOMEM;
  seq_text(&ob->u.s, &b);
  *out = (char *)buf_take(&b, len);
  return *out ? 0 : ACCORD_ENOMEM;
}
