/*
 * embed_memory.c — the minimal embedding of accord: two in-memory replicas
 * of one document, edited concurrently, synced by passing bytes.
 *
 * No storage and no network: the embedding program owns both. Whatever
 * carries bytes between replicas (a socket, a message queue, a file on a USB
 * stick) plays the part of pass() below. Public API only; docs/api.md is the
 * guide.
 *
 * Build against an installed accord:
 *   cc embed_memory.c $(pkg-config --cflags --libs accord)
 * or, with CMake: find_package(accord) and link accord::accord.
 *
 * Prints each replica's document as JSON before and after the sync, and
 * "replicas converged" when both end identical with both edits merged.
 * Exit status: 0 then; 1 on any library error or if they differ.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <accord.h>

/* Every fallible accord call returns 0 or a negative ACCORD_E* code. TRY
 * remembers which call failed and jumps to the function's single exit,
 * where everything is released (accord's destructors accept NULL). */
#define TRY(call)     \
  do {                \
    rc = (call);      \
    if (rc != 0) {    \
      failed = #call; \
      goto done;      \
    }                 \
  } while (0)

/* Fixed actor ids (8 bytes, one per replica) make this program print the
 * same thing on every run: concurrent edits are ordered by actor id. A real
 * client passes NULL for a random actor, or keeps one per device; two
 * replicas must never share an actor. */
static const uint8_t ACTOR_A[ACCORD_ACTOR_BYTES] = {'l', 'a', 'p', 't',
                                                    'o', 'p', '-', 'a'};
static const uint8_t ACTOR_B[ACCORD_ACTOR_BYTES] = {'l', 'a', 'p', 't',
                                                    'o', 'p', '-', 'b'};

static void report(const char *failed, int rc) {
  fprintf(stderr, "embed_memory: %s failed: %s (%s)\n", failed,
          accord_err_name(rc), accord_strerror(rc));
}

/* Stands in for the embedder's transport: the receiver gets its own copy of
 * the bytes, never a pointer into the sender's memory. Free with free(). */
static uint8_t *pass(const uint8_t *bytes, size_t len) {
  uint8_t *copy = malloc(len ? len : 1);
  if (copy) memcpy(copy, bytes, len);
  return copy;
}

/* One direction of a sync. `to` sends its version vector (what it has);
 * `from` answers with the changes `to` lacks, as one batch of bytes; `to`
 * imports the batch. Run both ways, and both replicas hold every change.
 * Importing is all or nothing and idempotent: a lost, repeated or reordered
 * batch does no harm, so a transport may retry freely. */
static int sync_one(const char *from_name, accord_doc *from,
                    const char *to_name, accord_doc *to) {
  int rc = 0;
  const char *failed = "";
  uint8_t *vv = NULL, *vv_wire = NULL, *batch = NULL, *batch_wire = NULL;
  size_t vv_len = 0, batch_len = 0;
  accord_import_stats stats;

  /* On `to`'s side: buffers the library returns belong to the caller and
   * are released with accord_free(). */
  TRY(accord_doc_version(to, &vv, &vv_len));
  TRY((vv_wire = pass(vv, vv_len)) ? 0 : ACCORD_ENOMEM);
  /* On `from`'s side, given the bytes that arrived. */
  TRY(accord_doc_changes_since(from, vv_wire, vv_len, &batch, &batch_len));
  TRY((batch_wire = pass(batch, batch_len)) ? 0 : ACCORD_ENOMEM);
  /* Back on `to`'s side. */
  TRY(accord_doc_import(to, batch_wire, batch_len, &stats));
  printf("sync %s -> %s: %zu change(s) applied, %zu waiting\n", from_name,
         to_name, stats.applied, stats.pending);
done:
  if (rc) report(failed, rc);
  accord_free(vv);
  free(vv_wire);
  accord_free(batch);
  free(batch_wire);
  return rc;
}

/* Prints the document as JSON (a buffer the caller frees with accord_free)
 * and hands the JSON back in *json when json is not NULL. */
static int show(const char *name, const accord_doc *doc, char **json) {
  char *s = NULL;
  int rc = accord_doc_json(doc, &s, NULL);
  if (rc) {
    report("accord_doc_json", rc);
    return rc;
  }
  printf("%s: %s\n", name, s);
  if (json)
    *json = s;
  else
    accord_free(s);
  return 0;
}

/* One replica's offline session: a text edit, a field set, a counter
 * bumped, all in one transaction, so they travel as one change. */
static int edit(accord_doc *doc, accord_id title, size_t pos, const char *ins,
                const char *status) {
  int rc = 0;
  const char *failed = "";
  accord_txn *txn = NULL;
  accord_value v = accord_str(status, strlen(status));

  TRY(accord_txn_begin(doc, &txn));
  /* Text positions count code points; the inserted bytes are copied. */
  TRY(accord_text_splice(txn, title, pos, 0, ins, strlen(ins)));
  TRY(accord_map_put(txn, ACCORD_ROOT, "status", &v));
  TRY(accord_map_increment(txn, ACCORD_ROOT, "votes", 1));
  rc = accord_txn_commit(txn, NULL); /* frees txn, whatever it returns */
  txn = NULL;
  if (rc) failed = "accord_txn_commit";
done:
  if (rc) report(failed, rc);
  accord_txn_abort(txn); /* undoes a half-done transaction; NULL: no-op */
  return rc;
}

int main(void) {
  int rc = 0, converged = 0;
  const char *failed = "";
  accord_doc *a = NULL, *b = NULL;
  accord_txn *txn = NULL;
  accord_id title;
  char *json_a = NULL, *json_b = NULL;
  const char *text = "Ship the beta";
  accord_value draft = accord_str("draft", 5), zero = accord_counter(0);
  accord_conflict values[4];
  size_t nvalues = 0;

  printf("libaccord %s (header %s)\n", accord_version(),
         ACCORD_VERSION_STRING);

  /* Replica A creates the document (NULL: a new random document id) and
   * lays it out: a text, a plain value and a counter in the root map. */
  TRY(accord_doc_new(NULL, ACTOR_A, &a));
  TRY(accord_txn_begin(a, &txn));
  TRY(accord_map_put_object(txn, ACCORD_ROOT, "title", ACCORD_TEXT, &title));
  TRY(accord_text_splice(txn, title, 0, 0, text, strlen(text)));
  TRY(accord_map_put(txn, ACCORD_ROOT, "status", &draft));
  TRY(accord_map_put(txn, ACCORD_ROOT, "votes", &zero));
  rc = accord_txn_commit(txn, NULL);
  txn = NULL;
  if (rc) {
    failed = "accord_txn_commit";
    goto done;
  }

  /* Replica B starts empty under the same document id (which A would send
   * it, say in an invitation) and gets A's changes by the first sync.
   * Object ids are the same on every replica: `title` names the text on
   * both. */
  TRY(accord_doc_new(accord_doc_id(a), ACTOR_B, &b));
  TRY(sync_one("a", a, "b", b));

  /* Offline, both edit the same fields at once. */
  TRY(edit(a, title, strlen("Ship the "), "public ", "review"));
  TRY(edit(b, title, strlen(text), " on Friday", "ready"));
  TRY(show("a before sync", a, NULL));
  TRY(show("b before sync", b, NULL));

  /* Back in touch: sync both ways. */
  TRY(sync_one("a", a, "b", b));
  TRY(sync_one("b", b, "a", a));
  TRY(show("a after sync", a, &json_a));
  TRY(show("b after sync", b, &json_b));

  /* Both text inserts survive, both votes count, and the two statuses set
   * at once are kept as a conflict: every replica shows the same winner
   * until someone sets the field again. */
  TRY(accord_map_conflicts(a, ACCORD_ROOT, "status", values, 4, &nvalues));
  printf("status holds %zu concurrent values; both replicas show \"%.*s\"\n",
         nvalues, (int)values[0].value.u.str.len, values[0].value.u.str.ptr);

  converged = strcmp(json_a, json_b) == 0 &&
              strstr(json_a, "\"Ship the public beta on Friday\"") &&
              strstr(json_a, "\"votes\":2");
  printf(converged ? "replicas converged\n" : "replicas DIFFER\n");
done:
  if (rc) report(failed, rc);
  accord_txn_abort(txn);
  accord_free(json_a);
  accord_free(json_b);
  accord_doc_free(a);
  accord_doc_free(b);
  return rc == 0 && converged ? 0 : 1;
}
