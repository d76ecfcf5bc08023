/*
 * peer.c — accord-test-peer: a second member's laptop for the CLI tests,
 * until nodes can sync over the network. It copies a document out of a
 * node directory into an in-memory replica with another actor (Ben's,
 * 0x42 * 8), edits it there, and later imports that replica's changes back
 * into the node — so the node sees a concurrent edit by someone else, as
 * after a sync.
 *
 *   accord-test-peer fork DIR DOC STATE OP ARGS...   copy, edit, save STATE
 *                                                    (prints Ben's actor id)
 *   accord-test-peer merge DIR DOC STATE             import STATE's changes
 *
 * DOC is a hex id prefix (first workspace). OPs:
 *   set FIELD VALUE        accord_goal_set / accord_messaging_set
 *   approve ROLE NAME      accord_messaging_approve as Ben
 *   append FIELD TEXT      TEXT appended to a text field, by splices
 * Exit status 0, or 1 with a sentence on stderr.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accord.h"

static uint8_t BEN[ACCORD_ACTOR_BYTES];
static uint8_t ben_pk[32], ben_sk[64];

static int die(const char *what, int rc) {
  fprintf(stderr, "accord-test-peer: %s: %s\n", what,
          rc ? accord_strerror(rc) : "failed");
  exit(1);
}
#define CHECK(call)                    \
  do {                                 \
    int rc_ = (call);                  \
    if (rc_) die(#call, rc_);          \
  } while (0)

static void find_doc(accord_node *node, const char *prefix, uint8_t *ws,
                     uint8_t *id) {
  accord_ws_info *wss = NULL;
  accord_doc_info *docs = NULL;
  size_t nws = 0, n = 0, hits = 0;
  CHECK(accord_node_ws_list(node, &wss, &nws));
  if (!nws) die("no workspace", 0);
  memcpy(ws, wss[0].id, ACCORD_WS_ID_BYTES);
  CHECK(accord_node_doc_list(node, ws, NULL, &docs, &n));
  for (size_t i = 0; i < n; i++) {
    char hex[33];
    for (int k = 0; k < 16; k++) snprintf(hex + 2 * k, 3, "%02x", docs[i].id[k]);
    if (!strncmp(hex, prefix, strlen(prefix))) {
      memcpy(id, docs[i].id, ACCORD_DOC_ID_BYTES);
      hits++;
    }
  }
  if (hits != 1) die("no single document has that id prefix", 0);
  accord_free(docs);
  accord_free(wss);
}

static void write_file(const char *path, const uint8_t *p, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(p, 1, n, f) != n || fclose(f)) die(path, 0);
}

static uint8_t *read_all(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) die(path, 0);
  size_t cap = 1 << 16;
  uint8_t *b = malloc(cap);
  *n = 0;
  size_t got;
  while (b && (got = fread(b + *n, 1, cap - *n, f)) > 0) {
    *n += got;
    if (*n == cap) b = realloc(b, cap *= 2);
  }
  fclose(f);
  if (!b) die("out of memory", 0);
  return b;
}

/* Ben's key pair from STATE.key, made the first time. */
static void ben_key(const char *state, int create) {
  char path[4096];
  snprintf(path, sizeof path, "%s.key", state);
  FILE *f = fopen(path, "rb");
  if (f) {
    if (fread(ben_sk, 1, 64, f) != 64) die("short key file", 0);
    fclose(f);
    memcpy(ben_pk, ben_sk + 32, 32);
  } else {
    if (!create) die(path, 0);
    CHECK(accord_sign_keypair(ben_pk, ben_sk));
    write_file(path, ben_sk, 64);
  }
  CHECK(accord_key_actor(ben_pk, BEN));
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: accord-test-peer fork|merge DIR DOC STATE [OP ARGS...]\n");
    return 2;
  }
  int fork_ = !strcmp(argv[1], "fork");
  accord_node_opts o = {0};
  o.no_create = 1;
  accord_node *node = NULL;
  accord_doc *doc = NULL, *ben = NULL;
  uint8_t ws[ACCORD_WS_ID_BYTES], id[ACCORD_DOC_ID_BYTES];
  uint8_t *bytes = NULL;
  size_t len = 0;
  CHECK(accord_node_open(argv[2], &o, &node));
  find_doc(node, argv[3], ws, id);
  CHECK(accord_node_doc_open(node, ws, id, &doc));
  if (fork_) {
    if (argc < 7) die("fork needs OP and its arguments", 0);
    ben_key(argv[4], 1);
    int arc = accord_member_add(node, ws, ben_pk, "Ben", "marketing");
    if (arc && arc != ACCORD_EINVAL) die("accord_member_add", arc);
    /* EINVAL: Ben was removed; he still edits, and the node refuses it */
    CHECK(accord_doc_changes_since(doc, NULL, 0, &bytes, &len));
    CHECK(accord_doc_new(id, BEN, &ben));
    CHECK(accord_doc_set_signer(ben, ben_sk, ws));
    CHECK(accord_doc_import(ben, bytes, len, NULL));
    accord_free(bytes);
    accord_txn *t;
    CHECK(accord_txn_begin(ben, &t));
    const char *now = getenv("ACCORD_NOW");
    int64_t ms;
    if (now && !accord_parse_date(now, &ms)) accord_txn_set_time(t, ms + 3600000);
    const char *op = argv[5];
    accord_value v;
    int is_goal = !accord_map_get(ben, ACCORD_ROOT, "metric", &v);
    if (!strcmp(op, "set")) {
      CHECK(is_goal ? accord_goal_set(t, argv[6], argc > 7 ? argv[7] : "")
                    : accord_messaging_set(t, argv[6], argc > 7 ? argv[7] : ""));
    } else if (!strcmp(op, "approve")) {
      CHECK(accord_messaging_approve(t, BEN, argc > 7 ? argv[7] : "Ben", argv[6], 1));
    } else if (!strcmp(op, "append")) {
      accord_id text;
      char *s = NULL;
      size_t n;
      CHECK(accord_domain_text_field(ben, argv[6], &text));
      CHECK(accord_text_read(ben, text, &s, &n));
      size_t add = argc > 7 ? strlen(argv[7]) : 0;
      char *all = malloc(n + add + 1);
      memcpy(all, s, n);
      memcpy(all + n, argc > 7 ? argv[7] : "", add);
      CHECK(accord_text_update(t, text, all, n + add, NULL));
      free(all);
      accord_free(s);
    } else {
      die("unknown op", 0);
    }
    CHECK(accord_txn_set_message(t, "Ben's edit", 10));
    CHECK(accord_txn_commit(t, NULL));
    CHECK(accord_doc_save(ben, &bytes, &len));
    write_file(argv[4], bytes, len);
    for (int k = 0; k < ACCORD_ACTOR_BYTES; k++) printf("%02x", BEN[k]);
    printf("\n");
  } else {
    uint8_t *saved = read_all(argv[4], &len), *vv = NULL;
    size_t vlen = 0;
    ben_key(argv[4], 0);
    CHECK(accord_doc_load(saved, len, BEN, &ben));
    CHECK(accord_doc_set_signer(ben, ben_sk, ws));
    free(saved);
    CHECK(accord_doc_version(doc, &vv, &vlen));
    CHECK(accord_doc_changes_since(ben, vv, vlen, &bytes, &len));
    accord_import_stats st;
    CHECK(accord_node_doc_import(node, doc, bytes, len, &st));
    accord_free(vv);
    printf("imported %zu change(s)\n", st.applied);
  }
  accord_free(bytes);
  accord_doc_free(ben);
  accord_node_doc_close(node, doc);
  accord_node_close(node);
  return 0;
}
