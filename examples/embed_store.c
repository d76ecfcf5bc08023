/*
 * embed_store.c — accord with its node store: documents that survive the
 * process. Opens a node (a directory: a device identity and an LMDB store)
 * in a fresh temporary directory, creates a workspace and a document in it,
 * commits a change durably, closes everything, then reopens the node and
 * prints what it finds. Public API only; docs/api.md is the guide.
 *
 * Build against an installed accord:
 *   cc embed_store.c $(pkg-config --cflags --libs accord)
 *
 * Prints the workspace, the document's type, its history and its JSON as
 * read back from disk, then "reopened intact" when they match what was
 * written. Exit status: 0 then; 1 on any error. The directory is removed.
 */
#define _XOPEN_SOURCE 700 /* mkdtemp, nftw */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <accord.h>

/* As in embed_memory.c: remember the failing call, go to the single exit. */
#define TRY(call)     \
  do {                \
    rc = (call);      \
    if (rc != 0) {    \
      failed = #call; \
      goto done;      \
    }                 \
  } while (0)

static const char WS_NAME[] = "Launch team";
static const char NOTE[] = "Ship the public beta on Friday";

/* A change in the history walk: print who-agnostic facts. */
static int print_change(void *userdata, const accord_change_meta *change) {
  int *count = userdata;
  printf("  change %llu: %zu operation(s), message \"%.*s\"\n",
         (unsigned long long)change->seq, change->nops,
         (int)change->message_len, change->message ? change->message : "");
  ++*count;
  return 0; /* go on */
}

/* Writes a workspace and a document with one change, and closes the node.
 * ws_id and doc_id receive the new ids. */
static int write_store(const char *dir, uint8_t *ws_id, uint8_t *doc_id) {
  int rc = 0;
  const char *failed = "";
  char why[256];
  accord_node_opts opts = {0}; /* all zero: the defaults (durable commits) */
  accord_node *node = NULL;
  accord_doc *doc = NULL;
  accord_txn *txn = NULL;
  accord_value v = accord_str(NOTE, strlen(NOTE));
  const char *msg = "first note";

  opts.errbuf = why; /* a sentence on what went wrong, should open fail */
  opts.errbuf_size = sizeof why;
  rc = accord_node_open(dir, &opts, &node);
  if (rc) {
    fprintf(stderr, "embed_store: cannot open %s: %s\n", dir, why);
    return rc;
  }
  TRY(accord_node_ws_create(node, WS_NAME, ws_id));
  /* The document belongs to the node: close it with accord_node_doc_close,
   * never accord_doc_free. */
  TRY(accord_node_doc_create(node, ws_id, "note", &doc));
  memcpy(doc_id, accord_doc_id(doc), ACCORD_DOC_ID_BYTES);

  /* A node transaction: edit as with any document, then commit through the
   * node, which stores the change before it returns. */
  TRY(accord_node_txn_begin(node, doc, &txn));
  TRY(accord_txn_set_message(txn, msg, strlen(msg)));
  TRY(accord_map_put(txn, ACCORD_ROOT, "note", &v));
  rc = accord_node_txn_commit(node, txn, NULL); /* frees txn */
  txn = NULL;
  if (rc) failed = "accord_node_txn_commit";
done:
  if (rc)
    fprintf(stderr, "embed_store: %s failed: %s (%s)\n", failed,
            accord_strerror(rc), accord_node_errmsg(node));
  accord_txn_abort(txn);
  accord_node_doc_close(node, doc);
  accord_node_close(node);
  return rc;
}

/* Reopens the node (no_create: it must exist) and prints what it holds. */
static int read_store(const char *dir, const uint8_t *ws_id,
                      const uint8_t *doc_id, int *intact) {
  int rc = 0, nchanges = 0;
  const char *failed = "";
  accord_node_opts opts = {0};
  accord_node *node = NULL;
  accord_ws_info *ws = NULL;
  accord_doc_info *docs = NULL;
  accord_doc *doc = NULL;
  size_t nws = 0, ndocs = 0;
  char *json = NULL;
  accord_value note;

  opts.no_create = 1;
  TRY(accord_node_open(dir, &opts, &node));
  /* Lists are single buffers, strings inside them included: accord_free. */
  TRY(accord_node_ws_list(node, &ws, &nws));
  for (size_t i = 0; i < nws; i++) printf("workspace \"%s\"\n", ws[i].name);
  /* Every workspace also holds its membership document (type "system"):
   * list the notes only. */
  TRY(accord_node_doc_list(node, ws_id, "note", &docs, &ndocs));
  for (size_t i = 0; i < ndocs; i++) printf("document of type %s\n", docs[i].type);

  TRY(accord_node_doc_open(node, ws_id, doc_id, &doc));
  printf("history:\n");
  TRY(accord_doc_history(doc, print_change, &nchanges));
  TRY(accord_doc_json(doc, &json, NULL));
  printf("reopened: %s\n", json);
  /* A value read from a document is borrowed: valid until the document
   * next changes. Compare it right away. */
  TRY(accord_map_get(doc, ACCORD_ROOT, "note", &note));
  *intact = nws == 1 && ndocs == 1 && nchanges == 1 &&
            note.type == ACCORD_STR && note.u.str.len == strlen(NOTE) &&
            memcmp(note.u.str.ptr, NOTE, note.u.str.len) == 0;
done:
  if (rc)
    fprintf(stderr, "embed_store: %s failed: %s (%s)\n", failed,
            accord_strerror(rc), node ? accord_node_errmsg(node) : "");
  accord_free(json);
  accord_free(docs);
  accord_free(ws);
  accord_node_doc_close(node, doc);
  accord_node_close(node);
  return rc;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

int main(void) {
  const char *tmp = getenv("TMPDIR");
  char dir[4096];
  uint8_t ws_id[ACCORD_WS_ID_BYTES], doc_id[ACCORD_DOC_ID_BYTES];
  int rc, intact = 0;

  snprintf(dir, sizeof dir, "%s/accord-embed-store-XXXXXX",
           tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir)) {
    perror("embed_store: mkdtemp");
    return 1;
  }
  rc = write_store(dir, ws_id, doc_id);
  if (rc == 0) rc = read_store(dir, ws_id, doc_id, &intact);
  if (rc == 0) printf(intact ? "reopened intact\n" : "reopened DIFFERENT\n");
  /* The store is ours to delete: identity.key and LMDB's files. */
  if (nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS) != 0)
    perror("embed_store: removing the temporary directory");
  return rc == 0 && intact ? 0 : 1;
}
