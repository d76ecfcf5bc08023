/*
 * save.c — a whole document as bytes, and back.
 *
 * Format (version 1): ["accord-doc", 1, batch, pending] where batch is a
 * sync batch (sync.c) of every applied change and pending is a flat array
 * [actor bin8, seq, body bin, ...] of changes still waiting for their
 * dependencies. Loading imports the batch into a new document, so every
 * byte is validated exactly as if it came from a peer.
 *
 * Saving keeps the full history: everything needed to keep syncing.
 * A snapshot section for fast loads can be added as a new version.
 */
#include <string.h>

#include "mem.h"
#include "mp.h"
#include "sync.h"

#define SAVE_MAGIC "accord-doc"
#define SAVE_VERSION 1

int accord_doc_save(accord_doc *doc, uint8_t **out, size_t *len) {
  if (!out || !len) return ACCORD_EINVAL;
  *out = NULL;
  if (!doc) return ACCORD_EINVAL;
  if (doc->poisoned) return doc->poisoned;
  if (doc->txn_open) return ACCORD_EBUSY;
  buf batch = {0}, b = {0};
  int rc = sync_put_batch(doc, NULL, &batch);
  if (!rc) {
    mp_put_array(&b, 4);
    mp_put_str(&b, SAVE_MAGIC, strlen(SAVE_MAGIC));
    mp_put_uint(&b, SAVE_VERSION);
    mp_put_bin(&b, batch.p, batch.len);
    mp_put_array(&b, 3 * doc->npending);
    for (uint32_t i = 0; i < doc->npending; i++) {
      const pend *p = &doc->pending[i];
      mp_put_bin(&b, doc->actor[p->actor], ACCORD_ACTOR_BYTES);
      mp_put_uint(&b, p->seq);
      mp_put_bin(&b, p->body, p->len);
    }
    rc = b.err;
  }
  buf_free(&batch);
  if (rc) {
    buf_free(&b);
    return rc;
  }
  *out = buf_take(&b, len);
  return *out ? 0 : ACCORD_ENOMEM;
}

int accord_doc_load(const uint8_t *bytes, size_t len, const uint8_t *actor,
                    accord_doc **out) {
  if (!out) return ACCORD_EINVAL;
  *out = NULL;
  if (!bytes) return ACCORD_EINVAL;
  mp_reader r;
  uint32_t n, np;
  uint64_t version;
  const char *magic;
  size_t mlen, blen;
  const uint8_t *batch;
  mp_reader_init(&r, bytes, len);
  if (mp_get_array(&r, &n) || n != 4 || mp_get_str(&r, &magic, &mlen) ||
      mlen != strlen(SAVE_MAGIC) || memcmp(magic, SAVE_MAGIC, mlen) ||
      mp_get_uint(&r, &version))
    return ACCORD_EMALFORMED;
  if (version != SAVE_VERSION) return ACCORD_EVERSION;
  if (mp_get_bin(&r, &batch, &blen) || mp_get_array(&r, &np) || np % 3)
    return ACCORD_EMALFORMED;

  /* the document id is the batch's (checked again by the import) */
  mp_reader br;
  uint32_t bn;
  uint64_t bv;
  const uint8_t *docid;
  size_t dlen;
  mp_reader_init(&br, batch, blen);
  if (mp_get_array(&br, &bn) || bn != 4 || mp_get_uint(&br, &bv) ||
      mp_get_bin(&br, &docid, &dlen) || dlen != ACCORD_DOC_ID_BYTES)
    return ACCORD_EMALFORMED;

  accord_doc *doc;
  int rc = accord_doc_new(docid, actor, &doc);
  if (rc) return rc;
  np /= 3;
  pend *extra = np ? mem_calloc(np, sizeof *extra) : NULL;
  if (np && !extra) rc = ACCORD_ENOMEM;
  for (uint32_t i = 0; i < np && !rc; i++) {
    const uint8_t *id;
    size_t idlen;
    uint64_t seq;
    if (mp_get_bin(&r, &id, &idlen) || idlen != ACCORD_ACTOR_BYTES ||
        mp_get_uint_max(&r, UINT32_MAX - 1, &seq) || seq == 0 ||
        mp_get_bin(&r, (const uint8_t **)&extra[i].body, &extra[i].len)) {
      rc = ACCORD_EMALFORMED;
      break;
    }
    extra[i].seq = (uint32_t)seq;
    rc = doc_actor_index(doc, id, &extra[i].actor);
  }
  if (!rc && r.p != r.end) rc = ACCORD_EMALFORMED;
  if (!rc) rc = sync_import(doc, batch, blen, extra, np, NULL);
  mem_free(extra);
  if (rc) {
    accord_doc_free(doc);
    return rc;
  }
  *out = doc;
  return 0;
}
