/*
 * cmd_msg.c — `accord msg add|list|show|set|edit|key|approve`: messaging
 * documents (accord.h, "Messaging"). `msg edit` hands a text field to the
 * user's editor and applies what was saved as minimal splices
 * (accord_text_update), never as a whole replacement, so a concurrent edit
 * elsewhere in the same text survives.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

/* ---- JSON ------------------------------------------------------------------------ */

void json_msg(cli *c, jw *w, accord_doc *doc, const uint8_t *id) {
  accord_messaging *m = NULL;
  jw_obj(w);
  jw_key(w, "id");
  jw_hex(w, id, ACCORD_DOC_ID_BYTES);
  jw_key(w, "short_id");
  jw_str(w, ids_short(c, id));
  if (accord_messaging_read(doc, &m)) {
    jw_obj_end(w);
    return;
  }
  jw_key(w, "title");
  jw_str(w, m->title);
  jw_key(w, "product");
  jw_str(w, m->product);
  jw_key(w, "audiences");
  jw_arr(w);
  for (size_t i = 0; i < m->naudiences; i++) jw_str(w, m->audiences[i]);
  jw_arr_end(w);
  jw_key(w, "value_prop");
  jw_str(w, m->value_prop);
  jw_key(w, "positioning");
  jw_str(w, m->positioning);
  jw_key(w, "press_release");
  jw_str(w, m->press_release);
  jw_key(w, "faq");
  jw_str(w, m->faq);
  jw_key(w, "key_messages");
  jw_arr(w);
  for (size_t i = 0; i < m->nkey_messages; i++) {
    jw_obj(w);
    jw_key(w, "message");
    jw_str(w, m->key_messages[i].message);
    jw_key(w, "proof_points");
    jw_arr(w);
    for (size_t k = 0; k < m->key_messages[i].nproof_points; k++)
      jw_str(w, m->key_messages[i].proof_points[k]);
    jw_arr_end(w);
    jw_obj_end(w);
  }
  jw_arr_end(w);
  jw_key(w, "status");
  jw_str(w, m->status);
  jw_key(w, "approvals");
  jw_obj(w);
  for (size_t i = 0; i < m->napprovals; i++) {
    char hex[17];
    for (int k = 0; k < ACCORD_ACTOR_BYTES; k++)
      snprintf(hex + 2 * k, 3, "%02x", m->approvals[i].member[k]);
    jw_key(w, hex);
    jw_obj(w);
    jw_key(w, "name");
    jw_str(w, *m->approvals[i].name ? m->approvals[i].name
                                    : ids_member(c, m->approvals[i].member));
    jw_key(w, "role");
    jw_str(w, m->approvals[i].role);
    jw_key(w, "time");
    jw_time(w, m->approvals[i].time);
    jw_obj_end(w);
  }
  jw_obj_end(w);
  jw_key(w, "goals");
  jw_arr(w);
  for (size_t i = 0; i < m->nlinks; i++) jw_hex(w, m->links[i], ACCORD_DOC_ID_BYTES);
  jw_arr_end(w);
  jw_key(w, "created");
  jw_time(w, m->created);
  jw_key(w, "conflicts");
  json_conflicts(c, w, doc);
  jw_obj_end(w);
  accord_free(m);
}

static void print_json_msg(cli *c, accord_doc *doc, const uint8_t *id) {
  jw w;
  jw_init(&w, stdout);
  json_msg(c, &w, doc, id);
  jw_end(&w);
}

/* ---- add --------------------------------------------------------------------------- */

typedef struct msg_add_ctx {
  const char *title, *product;
  const char **audiences;
  size_t naudiences;
  int64_t now;
  uint8_t (*goals)[ACCORD_DOC_ID_BYTES];
  size_t ngoals;
  const uint8_t *link_to; /* for the goal side */
} msg_add_ctx;

static int msg_add_edit(accord_txn *txn, void *vctx) {
  msg_add_ctx *a = vctx;
  int rc = accord_messaging_init(txn, a->title, a->now);
  if (!rc && a->product) rc = accord_messaging_set(txn, "product", a->product);
  for (size_t i = 0; !rc && i < a->naudiences; i++)
    rc = accord_messaging_add_audience(txn, a->audiences[i]);
  for (size_t i = 0; !rc && i < a->ngoals; i++)
    rc = accord_domain_link(txn, a->goals[i], a->now);
  return rc;
}

static int link_edit(accord_txn *txn, void *vctx) {
  msg_add_ctx *a = vctx;
  return accord_domain_link(txn, a->link_to, a->now);
}

static int msg_add(cli *c, int argc, char **argv) {
  const char *product = NULL;
  const char **audiences = NULL, **goals = NULL;
  size_t naud = 0, ngoals = 0;
  char *pos[1];
  opt opts[] = {{"product", 1, &product, NULL, NULL, NULL},
                {"audience", 1, NULL, &audiences, &naud, NULL},
                {"goal", 1, NULL, &goals, &ngoals, NULL},
                {NULL, 0, NULL, NULL, NULL, NULL}};
  msg_add_ctx a = {0};
  accord_doc *doc = NULL;
  int rc = parse_opts("msg add", argc, argv, opts, pos, 1, 1, NULL);
  if (rc) goto done;
  if (!*pos[0]) {
    rc = cli_fail(EX_USAGE, "a messaging document needs a title");
    goto done;
  }
  for (size_t i = 0; i < naud; i++)
    if (!*audiences[i]) {
      rc = cli_fail(EX_USAGE, "--audience cannot be empty");
      goto done;
    }
  if ((rc = cli_open(c))) goto done;
  a.goals = calloc(ngoals + 1, sizeof *a.goals);
  if (!a.goals) {
    rc = cli_fail(EX_FAIL, "out of memory");
    goto done;
  }
  for (size_t i = 0; i < ngoals; i++) {
    /* each goal must be readable before anything is written, so that the
     * links below cannot fail half way for a bad goal */
    accord_doc *g = NULL;
    accord_goal *gr = NULL;
    if ((rc = ids_resolve(c, goals[i], ACCORD_GOAL_TYPE, a.goals[i], NULL)) ||
        (rc = open_doc(c, a.goals[i], &g)))
      goto done;
    int lrc = accord_goal_read(g, &gr);
    accord_free(gr);
    accord_node_doc_close(c->node, g);
    if (lrc) {
      rc = cli_lib_fail(c, lrc, "cannot read goal %s", goals[i]);
      goto done;
    }
  }
  a.title = pos[0];
  a.product = product;
  a.audiences = audiences;
  a.naudiences = naud;
  a.ngoals = ngoals;
  a.now = c->now;
  int lrc = accord_node_doc_create(c->node, c->ws, ACCORD_MESSAGING_TYPE, &doc);
  if (!lrc) lrc = cli_edit(c, doc, "add messaging", msg_add_edit, &a, NULL);
  if (lrc) {
    rc = cli_lib_fail(c, lrc, "cannot add the messaging document");
    goto done;
  }
  a.link_to = accord_doc_id(doc);
  for (size_t i = 0; i < ngoals; i++) {
    accord_doc *g = NULL;
    if ((rc = open_doc(c, a.goals[i], &g))) goto done;
    lrc = cli_edit(c, g, "link messaging", link_edit, &a, NULL);
    accord_node_doc_close(c->node, g);
    if (lrc) {
      rc = cli_lib_fail(c, lrc, "cannot link goal %s", goals[i]);
      goto done;
    }
  }
  accord_free(c->docs);
  c->docs = NULL;
  if ((rc = ids_load(c))) goto done;
  if (c->json) print_json_msg(c, doc, accord_doc_id(doc));
  else printf("%s\n", ids_short(c, accord_doc_id(doc)));
done:
  accord_node_doc_close(c->node, doc);
  free(audiences);
  free(goals);
  free(a.goals);
  return rc;
}

/* ---- list and show ------------------------------------------------------------------ */

static int approved_by(const accord_messaging *m, const char *role) {
  for (size_t i = 0; i < m->napprovals; i++)
    if (!strcmp(m->approvals[i].role, role)) return 1;
  return 0;
}

static int msg_list(cli *c, int argc, char **argv) {
  int rc = parse_opts("msg list", argc, argv, NULL, NULL, 0, 0, NULL);
  if (rc || (rc = cli_open(c))) return rc;
  jw w;
  table t;
  jw_init(&w, stdout);
  tbl_init(&t, 6);
  if (c->json) jw_arr(&w);
  else {
    const char *h[] = {"ID", "TITLE", "PRODUCT", "STATUS", "APPROVALS", "GOALS"};
    for (int i = 0; i < 6; i++) tbl_add(&t, NULL, "%s", h[i]);
  }
  size_t shown = 0;
  for (size_t i = 0; i < c->ndocs; i++) {
    if (strcmp(c->docs[i].type, ACCORD_MESSAGING_TYPE)) continue;
    accord_doc *doc = NULL;
    accord_messaging *m = NULL;
    if ((rc = open_doc(c, c->docs[i].id, &doc))) break;
    if (!accord_messaging_read(doc, &m)) {
      if (c->json) json_msg(c, &w, doc, c->docs[i].id);
      else {
        int p = approved_by(m, "product"), k = approved_by(m, "marketing");
        tbl_add(&t, C_CYAN, "%s", ids_short(c, c->docs[i].id));
        tbl_add(&t, NULL, "%s", m->title);
        tbl_add(&t, NULL, "%s", *m->product ? m->product : "-");
        tbl_add(&t, !strcmp(m->status, "approved") ? C_GREEN
                    : !strcmp(m->status, "review") ? C_YELLOW : C_DIM,
                "%s", m->status);
        tbl_add(&t, p && k ? C_GREEN : NULL, "product %s  marketing %s",
                p ? "\xe2\x9c\x93" : "-", k ? "\xe2\x9c\x93" : "-");
        tbl_add(&t, NULL, "%zu", m->nlinks);
        shown++;
      }
    }
    accord_free(m);
    accord_node_doc_close(c->node, doc);
  }
  if (c->json) {
    jw_arr_end(&w);
    jw_end(&w);
  } else if (!rc) {
    if (shown) tbl_print(c, &t, 1);
    else printf("No messaging yet: add one with `accord msg add TITLE`.\n");
  }
  tbl_free(&t);
  return rc;
}

static void section(cli *c, const char *name, const char *text) {
  printf("\n%s%s%s\n", col(c, C_BOLD), name, col(c, C_OFF));
  print_wrapped(text, "  ");
}

static int msg_show(cli *c, int argc, char **argv) {
  char *pos[1];
  uint8_t id[ACCORD_DOC_ID_BYTES];
  accord_doc *doc = NULL;
  accord_messaging *m = NULL;
  int rc = parse_opts("msg show", argc, argv, NULL, pos, 1, 1, NULL);
  if (rc || (rc = open_typed(c, pos[0], ACCORD_MESSAGING_TYPE, id, &doc)))
    return rc;
  int lrc = accord_messaging_read(doc, &m);
  if (lrc) {
    rc = cli_lib_fail(c, lrc, "cannot read messaging %s", pos[0]);
    goto done;
  }
  if (c->json) {
    print_json_msg(c, doc, id);
    goto done;
  }
  printf("%s%s%s  %s%s%s\n", col(c, C_BOLD), tty(m->title), col(c, C_OFF),
         col(c, C_CYAN), ids_short(c, id), col(c, C_OFF));
  printf("  product    %s\n  status     %s\n  audiences  ",
         *m->product ? tty(m->product) : "-", tty(m->status));
  for (size_t i = 0; i < m->naudiences; i++)
    printf("%s%s", i ? ", " : "", tty(m->audiences[i]));
  printf("%s\n  goals      ", m->naudiences ? "" : "-");
  for (size_t i = 0; i < m->nlinks; i++) printf("%s%s", i ? ", " : "", ids_short(c, m->links[i]));
  printf("%s\n  approvals  ", m->nlinks ? "" : "-");
  for (size_t i = 0; i < m->napprovals; i++) {
    char t[32];
    fmt_time(m->approvals[i].time, t, sizeof t);
    printf("%s%s (%s, %s)", i ? "; " : "",
           tty(*m->approvals[i].name ? m->approvals[i].name
                                     : ids_member(c, m->approvals[i].member)),
           *m->approvals[i].role ? tty(m->approvals[i].role) : "no role", t);
  }
  printf("%s\n", m->napprovals ? "" : "-");
  section(c, "Value proposition", m->value_prop);
  section(c, "Positioning", m->positioning);
  printf("\n%sKey messages%s\n", col(c, C_BOLD), col(c, C_OFF));
  if (!m->nkey_messages) printf("  (none)\n");
  for (size_t i = 0; i < m->nkey_messages; i++) {
    printf("  %zu. %s\n", i + 1, tty(m->key_messages[i].message));
    for (size_t k = 0; k < m->key_messages[i].nproof_points; k++)
      printf("     - %s\n", tty(m->key_messages[i].proof_points[k]));
  }
  section(c, "Press release", m->press_release);
  section(c, "FAQ", m->faq);
  if (print_conflicts(c, doc, "  "))
    printf("\n  resolve with `accord resolve %s FIELD VALUE`\n", ids_short(c, id));
done:
  accord_free(m);
  accord_node_doc_close(c->node, doc);
  return rc;
}

/* ---- set and edit --------------------------------------------------------------------- */

typedef struct mset_ctx {
  const char *field, *value;
  size_t len;
  accord_id text;
  size_t nsplices;
} mset_ctx;

static int msg_set_edit(accord_txn *txn, void *vctx) {
  mset_ctx *s = vctx;
  return accord_messaging_set(txn, s->field, s->value);
}

static int msg_set(cli *c, int argc, char **argv) {
  char *pos[3];
  uint8_t id[ACCORD_DOC_ID_BYTES];
  accord_doc *doc = NULL;
  const char *problem;
  int rc = parse_opts("msg set", argc, argv, NULL, pos, 3, 3, NULL);
  if (rc) return rc;
  if (accord_domain_check(0, pos[1], pos[2], &problem))
    return cli_fail(EX_USAGE, "cannot set %s to \"%s\": %s (fields: title, product, "
                    "value-prop, positioning, press-release, faq, status)",
                    pos[1], pos[2], problem);
  if ((rc = open_typed(c, pos[0], ACCORD_MESSAGING_TYPE, id, &doc)))
    return rc;
  char msg[128];
  snprintf(msg, sizeof msg, "set %s", pos[1]);
  mset_ctx s = {pos[1], pos[2], 0, {0, {0}}, 0};
  uint64_t seq;
  int lrc = cli_edit(c, doc, msg, msg_set_edit, &s, &seq);
  if (lrc) rc = cli_lib_fail(c, lrc, "cannot set %s of %s", pos[1], pos[0]);
  else if (c->json) print_json_msg(c, doc, id);
  else if (!seq) printf("%s already reads that: nothing changed\n", pos[1]);
  accord_node_doc_close(c->node, doc);
  return rc;
}

static int text_edit(accord_txn *txn, void *vctx) {
  mset_ctx *s = vctx;
  return accord_text_update(txn, s->text, s->value, s->len, &s->nsplices);
}

/* Runs the editor on path: `sh -c '$EDITOR "$@"' $EDITOR path`, as git does,
 * so EDITOR may carry arguments. Returns its exit status or -1. */
static int run_editor(const char *editor, const char *path) {
  size_t len = strlen(editor) + 16;
  char *script = malloc(len);
  if (!script) return -1;
  snprintf(script, len, "%s \"$@\"", editor);
  pid_t pid = fork();
  if (pid < 0) {
    free(script);
    return -1;
  }
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", script, editor, path, (char *)NULL);
    _exit(127);
  }
  free(script);
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 4096, n = 0;
  char *b = malloc(cap);
  while (b) {
    size_t got = fread(b + n, 1, cap - n - 1, f);
    n += got;
    if (n + 1 < cap) break;
    char *g = realloc(b, cap *= 2);
    if (!g) free(b);
    b = g;
  }
  fclose(f);
  if (b) b[n] = 0;
  *len = n;
  return b;
}

static int msg_edit(cli *c, int argc, char **argv) {
  char *pos[2];
  uint8_t id[ACCORD_DOC_ID_BYTES];
  accord_doc *doc = NULL;
  char *old = NULL, *text = NULL;
  char path[] = "/tmp/accord-edit-XXXXXX";
  int fd = -1;
  int rc = parse_opts("msg edit", argc, argv, NULL, pos, 2, 2, NULL);
  if (rc) return rc;
  const char *editor = getenv("VISUAL");
  if (!editor || !*editor) editor = getenv("EDITOR");
  if (!editor || !*editor) editor = "vi";
  mset_ctx s = {pos[1], NULL, 0, {0, {0}}, 0};
  if ((rc = open_typed(c, pos[0], ACCORD_MESSAGING_TYPE, id, &doc)))
    return rc;
  int lrc = accord_domain_text_field(doc, pos[1], &s.text);
  if (lrc == ACCORD_EINVAL) {
    rc = cli_fail(EX_USAGE, "%s is not a text field (text fields: title, value-prop, "
                  "positioning, press-release, faq)", pos[1]);
    goto done;
  }
  size_t old_len = 0;
  if (lrc || (lrc = accord_text_read(doc, s.text, &old, &old_len))) {
    rc = cli_lib_fail(c, lrc, "cannot read %s of %s", pos[1], pos[0]);
    goto done;
  }
  const char *tmpdir = getenv("TMPDIR");
  char *tpath = NULL;
  if (tmpdir && *tmpdir) {
    size_t n = strlen(tmpdir) + 32;
    tpath = malloc(n);
    if (tpath) snprintf(tpath, n, "%s/accord-edit-XXXXXX", tmpdir);
  }
  fd = mkstemp(tpath ? tpath : path);
  if (fd < 0) {
    rc = cli_fail(EX_FAIL, "cannot create a temporary file: %s", strerror(errno));
    free(tpath);
    goto done;
  }
  const char *file = tpath ? tpath : path;
  /* Editors end files with a newline: add one the text lacks, and take it
   * away again after the edit. */
  int added_nl = !old_len || old[old_len - 1] != '\n';
  if (write(fd, old, old_len) != (ssize_t)old_len ||
      (added_nl && write(fd, "\n", 1) != 1)) {
    rc = cli_fail(EX_FAIL, "cannot write the temporary file %s", file);
    goto cleanup;
  }
  close(fd);
  fd = -1;
  int st = run_editor(editor, file);
  if (st != 0) {
    rc = cli_fail(EX_FAIL, "the editor (%s) failed (exit status %d): nothing changed",
                  editor, st);
    goto cleanup;
  }
  size_t len = 0;
  if (!(text = read_file(file, &len))) {
    rc = cli_fail(EX_FAIL, "cannot read the edited file %s", file);
    goto cleanup;
  }
  if (added_nl && len && text[len - 1] == '\n') text[--len] = 0;
  s.value = text;
  s.len = len;
  char msg[128];
  snprintf(msg, sizeof msg, "edit %s", pos[1]);
  uint64_t seq;
  lrc = cli_edit(c, doc, msg, text_edit, &s, &seq);
  if (lrc == ACCORD_EUTF8) rc = cli_fail(EX_USAGE, "the saved text is not valid UTF-8: nothing changed");
  else if (lrc) rc = cli_lib_fail(c, lrc, "cannot apply the edit");
  else if (c->json) print_json_msg(c, doc, id);
  else if (!seq) printf("no change\n");
  else printf("%s: %zu splice%s\n", pos[1], s.nsplices, s.nsplices == 1 ? "" : "s");
cleanup:
  if (fd >= 0) close(fd);
  unlink(file);
  free(tpath);
done:
  free(text);
  accord_free(old);
  accord_node_doc_close(c->node, doc);
  return rc;
}

/* ---- key messages -------------------------------------------------------------------- */

typedef struct key_ctx {
  const char *message;
  const char **proofs;
  size_t nproofs, index;
} key_ctx;

static int key_add_edit(accord_txn *txn, void *vctx) {
  key_ctx *k = vctx;
  return accord_messaging_key_add(txn, k->message, k->proofs, k->nproofs);
}

static int key_rm_edit(accord_txn *txn, void *vctx) {
  key_ctx *k = vctx;
  return accord_messaging_key_remove(txn, k->index);
}

static int msg_key(cli *c, int argc, char **argv) {
  if (argc == 0)
    return cli_fail(EX_USAGE, "`accord msg key` needs add or rm (see accord msg key --help)");
  if (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
    cli_usage(stdout, "msg key");
    return EX_OK;
  }
  int add = !strcmp(argv[0], "add");
  if (!add && strcmp(argv[0], "rm"))
    return cli_fail(EX_USAGE, "unknown command \"msg key %s\": use add or rm", argv[0]);
  const char **proofs = NULL;
  size_t nproofs = 0;
  char *pos[2];
  opt opts[] = {{"proof", 1, NULL, &proofs, &nproofs, NULL},
                {NULL, 0, NULL, NULL, NULL, NULL}};
  uint8_t id[ACCORD_DOC_ID_BYTES];
  accord_doc *doc = NULL;
  key_ctx k = {0};
  int rc = parse_opts(add ? "msg key add" : "msg key rm", argc - 1, argv + 1,
                      add ? opts : NULL, pos, 2, 2, NULL);
  if (rc) goto done;
  if (add && !*pos[1]) {
    rc = cli_fail(EX_USAGE, "a key message cannot be empty");
    goto done;
  }
  for (size_t i = 0; i < nproofs; i++)
    if (!*proofs[i]) {
      rc = cli_fail(EX_USAGE, "--proof cannot be empty");
      goto done;
    }
  if (!add) {
    char *end;
    long n = strtol(pos[1], &end, 10);
    if (*end || n < 1) {
      rc = cli_fail(EX_USAGE, "\"%s\" is not a key message number (1, 2, ...)", pos[1]);
      goto done;
    }
    k.index = (size_t)n - 1;
  }
  if ((rc = open_typed(c, pos[0], ACCORD_MESSAGING_TYPE, id, &doc)))
    goto done;
  k.message = pos[1];
  k.proofs = proofs;
  k.nproofs = nproofs;
  int lrc = cli_edit(c, doc, add ? "add key message" : "remove key message",
                     add ? key_add_edit : key_rm_edit, &k, NULL);
  if (lrc == ACCORD_ERANGE)
    rc = cli_fail(EX_NOTFOUND, "%s has no key message %s", pos[0], pos[1]);
  else if (lrc) rc = cli_lib_fail(c, lrc, "cannot change the key messages of %s", pos[0]);
  else if (c->json) print_json_msg(c, doc, id);
done:
  accord_node_doc_close(c->node, doc);
  free(proofs);
  return rc;
}

/* ---- approve ------------------------------------------------------------------------- */

typedef struct approve_ctx {
  const uint8_t *member;
  const char *name, *role;
  int64_t now;
} approve_ctx;

static int approve_edit(accord_txn *txn, void *vctx) {
  approve_ctx *a = vctx;
  return accord_messaging_approve(txn, a->member, a->name, a->role, a->now);
}

static int msg_approve(cli *c, int argc, char **argv) {
  const char *role = NULL;
  char *pos[1];
  opt opts[] = {{"role", 1, &role, NULL, NULL, NULL}, {NULL, 0, NULL, NULL, NULL, NULL}};
  uint8_t id[ACCORD_DOC_ID_BYTES];
  accord_doc *doc = NULL;
  int rc = parse_opts("msg approve", argc, argv, opts, pos, 1, 1, NULL);
  if (rc) return rc;
  if (role && strcmp(role, "product") && strcmp(role, "marketing") && strcmp(role, "shared"))
    return cli_fail(EX_USAGE, "--role must be product, marketing or shared, not \"%s\"", role);
  if ((rc = cli_open(c))) return rc;
  const accord_member *me = ids_me(c);
  if (!role) role = me && *me->role ? me->role : NULL;
  if (!role)
    return cli_fail(EX_USAGE, "say which function you approve for: --role product or "
                    "--role marketing (or set it once with `accord init --role`)");
  if ((rc = ids_resolve(c, pos[0], ACCORD_MESSAGING_TYPE, id, NULL)) ||
      (rc = open_doc(c, id, &doc)))
    return rc;
  approve_ctx a = {accord_node_actor(c->node), me ? me->name : "", role, c->now};
  char msg[64];
  snprintf(msg, sizeof msg, "approve as %s", role);
  int lrc = cli_edit(c, doc, msg, approve_edit, &a, NULL);
  if (lrc) rc = cli_lib_fail(c, lrc, "cannot approve %s", pos[0]);
  else if (c->json) print_json_msg(c, doc, id);
  else printf("approved %s as %s\n", ids_short(c, id), role);
  accord_node_doc_close(c->node, doc);
  return rc;
}

/* ---- dispatch ------------------------------------------------------------------------- */

int cmd_msg(cli *c, int argc, char **argv) {
  static const struct {
    const char *name;
    int (*run)(cli *, int, char **);
  } subs[] = {{"add", msg_add},   {"list", msg_list}, {"show", msg_show},
              {"set", msg_set},   {"edit", msg_edit}, {"key", msg_key},
              {"approve", msg_approve}};
  if (argc == 0)
    return cli_fail(EX_USAGE, "`accord msg` needs a command: add, list, show, set, edit, key or approve (see accord msg --help)");
  if (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
    cli_usage(stdout, "msg");
    return EX_OK;
  }
  for (size_t i = 0; i < sizeof subs / sizeof *subs; i++)
    if (!strcmp(argv[0], subs[i].name)) return subs[i].run(c, argc - 1, argv + 1);
  return cli_fail(EX_USAGE, "unknown command \"msg %s\" (see accord msg --help)", argv[0]);
}
