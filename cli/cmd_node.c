/*
 * cmd_node.c — the commands about the node and the workspace as a whole:
 * init, id, status, link, align, conflicts, resolve (log and
 * export are cmd_export.c's); and the helpers the show commands share
 * (conflicts as JSON and as a table, opening a document).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* ---- shared ---------------------------------------------------------------------- */

int open_doc(cli *c, const uint8_t *id, accord_doc **doc) {
  int rc = accord_node_doc_open(c->node, c->ws, id, doc);
  return rc ? cli_lib_fail(c, rc, "cannot open document %s", ids_short(c, id)) : 0;
}

int open_typed(cli *c, const char *arg, const char *type, uint8_t *id,
               accord_doc **doc) {
  int rc = cli_open(c);
  if (!rc) rc = ids_resolve(c, arg, type, id, NULL);
  if (!rc) rc = open_doc(c, id, doc);
  return rc;
}

static int count_change(void *ud, const accord_change_meta *m) {
  (void)m;
  ++*(int64_t *)ud;
  return 0;
}

int64_t doc_changes(accord_doc *doc) {
  int64_t n = 0;
  if (accord_doc_history(doc, count_change, &n)) return -1;
  return n;
}

void json_conflicts(cli *c, jw *w, accord_doc *doc) {
  accord_field_value *fv = NULL;
  size_t n = 0;
  jw_obj(w);
  if (!accord_domain_conflicts(doc, &fv, &n))
    for (size_t i = 0; i < n;) {
      jw_key(w, fv[i].field);
      jw_arr(w);
      size_t j = i;
      for (; j < n && !strcmp(fv[j].field, fv[i].field); j++) {
        jw_obj(w);
        jw_key(w, "value");
        jw_value(w, &fv[j].value);
        jw_key(w, "author");
        jw_str(w, ids_member(c, fv[j].author));
        jw_key(w, "author_id");
        jw_hex(w, fv[j].author, ACCORD_ACTOR_BYTES);
        jw_key(w, "time");
        jw_time(w, fv[j].time);
        jw_obj_end(w);
      }
      jw_arr_end(w);
      i = j;
    }
  jw_obj_end(w);
  accord_free(fv);
}

size_t print_conflicts(cli *c, accord_doc *doc, const char *indent) {
  accord_field_value *fv = NULL;
  size_t n = 0, fields = 0;
  if (accord_domain_conflicts(doc, &fv, &n) || !n) return 0;
  printf("\n%s%sconflicts%s\n", indent, col(c, C_YELLOW), col(c, C_OFF));
  table t;
  tbl_init(&t, 4);
  for (size_t i = 0; i < n; i++) {
    char v[256], when[32];
    int first = i == 0 || strcmp(fv[i].field, fv[i - 1].field);
    fields += first;
    fmt_value(&fv[i].value, v, sizeof v);
    fmt_time(fv[i].time, when, sizeof when);
    tbl_add(&t, NULL, "%s  %s", indent, first ? fv[i].field : "");
    tbl_add(&t, C_BOLD, "%s", v);
    tbl_add(&t, NULL, "by %s", ids_member(c, fv[i].author));
    tbl_add(&t, C_DIM, "%s%s", when, first ? "  (shown now)" : "");
  }
  tbl_print(c, &t, 0);
  tbl_free(&t);
  accord_free(fv);
  return fields;
}

static void hex(const uint8_t *p, size_t n, char *out) {
  for (size_t i = 0; i < n; i++) snprintf(out + 2 * i, 3, "%02x", p[i]);
}

/* ---- init, id, status ------------------------------------------------------------- */

int cmd_init(cli *c, int argc, char **argv) {
  const char *name = NULL, *title = NULL, *role = NULL;
  opt opts[] = {{"name", 1, &name, NULL, NULL, NULL},
                {"workspace", 1, &title, NULL, NULL, NULL},
                {"role", 1, &role, NULL, NULL, NULL},
                {NULL, 0, NULL, NULL, NULL, NULL}};
  int rc = parse_opts("init", argc, argv, opts, NULL, 0, 0, NULL);
  if (rc) return rc;
  if (!name || !*name) return cli_fail(EX_USAGE, "init needs --name NAME (how teammates see you)");
  if (role && strcmp(role, "product") && strcmp(role, "marketing") && strcmp(role, "shared"))
    return cli_fail(EX_USAGE, "--role must be product, marketing or shared, not \"%s\"", role);
  if (title && !*title) return cli_fail(EX_USAGE, "--workspace cannot be empty");
  const char *shown = c->dir ? c->dir : "the default directory";
  char err[512] = "";
  accord_node_opts o = {0};
  o.no_create = 1;
  o.errbuf = err;
  o.errbuf_size = sizeof err;
  rc = accord_node_open(c->dir, &o, &c->node);
  if (!rc) {
    accord_ws_info *ws = NULL;
    size_t n = 0;
    if (!accord_node_ws_list(c->node, &ws, &n) && n) {
      accord_free(ws);
      char h[17];
      hex(accord_node_actor(c->node), ACCORD_ACTOR_BYTES, h);
      return cli_fail(EX_FAIL, "%s already holds an accord node (member %s): nothing changed",
                      shown, h);
    }
    accord_free(ws);
  } else if (rc == ACCORD_ENOTFOUND) {
    o.no_create = 0;
    err[0] = 0;
    rc = accord_node_open(c->dir, &o, &c->node);
  }
  if (rc == ACCORD_ENOTSTORE)
    return cli_fail(EX_STORAGE, "%s is not an accord node directory (it holds other files)",
                    shown);
  if (rc)
    return cli_fail(cli_exit_code(rc), "cannot create the node in %s: %s", shown,
                    *err ? err : accord_strerror(rc));
  char wsname[300];
  snprintf(wsname, sizeof wsname, "%s's workspace", name);
  int lrc = accord_node_ws_create(c->node, title ? title : wsname, c->ws);
  if (!lrc) lrc = accord_member_update(c->node, c->ws, name, role);
  if (lrc) return cli_lib_fail(c, lrc, "cannot create the workspace");
  char h[17];
  hex(accord_node_actor(c->node), ACCORD_ACTOR_BYTES, h);
  if (c->json) {
    jw w;
    jw_init(&w, stdout);
    jw_obj(&w);
    jw_key(&w, "member");
    jw_str(&w, h);
    jw_key(&w, "name");
    jw_str(&w, name);
    jw_key(&w, "role");
    if (role) jw_str(&w, role);
    else jw_null(&w);
    jw_key(&w, "workspace");
    jw_obj(&w);
    jw_key(&w, "id");
    jw_hex(&w, c->ws, ACCORD_WS_ID_BYTES);
    jw_key(&w, "name");
    jw_str(&w, title ? title : wsname);
    jw_obj_end(&w);
    jw_key(&w, "dir");
    jw_str(&w, accord_node_dir(c->node));
    jw_obj_end(&w);
    jw_end(&w);
  } else {
    printf("%s\n", h);
  }
  return EX_OK;
}

int cmd_id(cli *c, int argc, char **argv) {
  int rc = parse_opts("id", argc, argv, NULL, NULL, 0, 0, NULL);
  if (rc || (rc = cli_open(c))) return rc;
  char h[17], pk[65], ws[33];
  hex(accord_node_actor(c->node), ACCORD_ACTOR_BYTES, h);
  hex(accord_node_public_key(c->node), ACCORD_PUBKEY_BYTES, pk);
  hex(c->ws, ACCORD_WS_ID_BYTES, ws);
  char devid[ACCORD_ID_TEXT_BYTES];
  if ((rc = accord_id_format(accord_node_public_key(c->node), devid,
                             sizeof devid)))
    return cli_lib_fail(c, rc, "cannot print the device id");
  const accord_member *me = ids_me(c);
  if (c->json) {
    jw w;
    jw_init(&w, stdout);
    jw_obj(&w);
    jw_key(&w, "member");
    jw_str(&w, h);
    jw_key(&w, "name");
    if (me) jw_str(&w, me->name);
    else jw_null(&w);
    jw_key(&w, "role");
    if (me && *me->role) jw_str(&w, me->role);
    else jw_null(&w);
    jw_key(&w, "public_key");
    jw_str(&w, pk);
    jw_key(&w, "device_id");
    jw_str(&w, devid);
    jw_key(&w, "dir");
    jw_str(&w, accord_node_dir(c->node));
    jw_key(&w, "workspace");
    jw_obj(&w);
    jw_key(&w, "id");
    jw_str(&w, ws);
    jw_key(&w, "name");
    jw_str(&w, c->ws_name);
    jw_obj_end(&w);
    jw_obj_end(&w);
    jw_end(&w);
  } else {
    printf("member      %s\nname        %s\nrole        %s\npublic key  %s\n"
           "device id   %s\ndirectory   %s\nworkspace   %s (%.8s)\n",
           h, me ? tty(me->name) : "-", me && *me->role ? tty(me->role) : "-", pk, devid,
           accord_node_dir(c->node), tty(c->ws_name), ws);
  }
  return EX_OK;
}

/* The member holding public key pk, or NULL (a device not in the list). */
static const accord_member *peer_member(cli *c, const uint8_t *pk) {
  for (size_t i = 0; i < c->nmembers; i++)
    if (!memcmp(c->members[i].public_key, pk, ACCORD_PUBKEY_BYTES)) return &c->members[i];
  return NULL;
}

int cmd_status(cli *c, int argc, char **argv) {
  int rc = parse_opts("status", argc, argv, NULL, NULL, 0, 0, NULL);
  if (rc || (rc = cli_open(c))) return rc;
  size_t goals = 0, msgs = 0, members = 0;
  int64_t changes = 0;
  size_t pending = 0;
  for (size_t i = 0; i < c->nmembers; i++) members += !c->members[i].removed;
  for (size_t i = 0; i < c->ndocs; i++) {
    accord_doc *doc = NULL;
    if ((rc = open_doc(c, c->docs[i].id, &doc))) return rc;
    int64_t n = doc_changes(doc);
    if (n > 0) changes += n;
    pending += accord_doc_pending(doc);
    accord_node_doc_close(c->node, doc);
    if (!strcmp(c->docs[i].type, ACCORD_GOAL_TYPE)) goals++;
    else msgs++;
  }
  accord_peer_info *peers = NULL;
  size_t npeers = 0;
  int lrc = accord_node_peers(c->node, c->ws, &peers, &npeers);
  if (lrc) return cli_lib_fail(c, lrc, "cannot read the known peers");
  if (c->json) {
    jw w;
    jw_init(&w, stdout);
    jw_obj(&w);
    jw_key(&w, "dir");
    jw_str(&w, accord_node_dir(c->node));
    jw_key(&w, "workspace");
    jw_str(&w, c->ws_name);
    jw_key(&w, "goals");
    jw_int(&w, (int64_t)goals);
    jw_key(&w, "messaging");
    jw_int(&w, (int64_t)msgs);
    jw_key(&w, "members");
    jw_int(&w, (int64_t)members);
    jw_key(&w, "changes");
    jw_int(&w, changes);
    jw_key(&w, "pending");
    jw_int(&w, (int64_t)pending);
    jw_key(&w, "peers");
    jw_arr(&w);
    for (size_t i = 0; i < npeers; i++) {
      const accord_member *m = peer_member(c, peers[i].public_key);
      jw_obj(&w);
      jw_key(&w, "member");
      if (m) jw_hex(&w, m->actor, ACCORD_ACTOR_BYTES);
      else jw_null(&w);
      jw_key(&w, "name");
      if (m) jw_str(&w, m->name);
      else jw_null(&w);
      jw_key(&w, "public_key");
      jw_hex(&w, peers[i].public_key, ACCORD_PUBKEY_BYTES);
      jw_key(&w, "addresses");
      jw_arr(&w);
      for (size_t k = 0; k < peers[i].naddrs; k++) jw_str(&w, peers[i].addrs[k]);
      jw_arr_end(&w);
      jw_key(&w, "last_seen");
      jw_time(&w, peers[i].last_seen);
      jw_key(&w, "last_synced");
      jw_time(&w, peers[i].last_synced);
      jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_obj_end(&w);
    jw_end(&w);
  } else {
    printf("directory   %s\nworkspace   %s\ngoals       %zu\nmessaging   %zu\n"
           "members     %zu\nchanges     %lld\npending     %zu\n"
           "peers       %zu\n",
           accord_node_dir(c->node), tty(c->ws_name), goals, msgs, members,
           (long long)changes, pending, npeers);
    if (npeers) {
      table t;
      tbl_init(&t, 4);
      tbl_add(&t, NULL, "  PEER");
      tbl_add(&t, NULL, "ADDRESS");
      tbl_add(&t, NULL, "LAST SEEN");
      tbl_add(&t, NULL, "LAST SYNC");
      for (size_t i = 0; i < npeers; i++) {
        const accord_member *m = peer_member(c, peers[i].public_key);
        char h[17], seen[32], synced[32];
        hex(peers[i].public_key, 8, h);
        fmt_time(peers[i].last_seen, seen, sizeof seen);
        fmt_time(peers[i].last_synced, synced, sizeof synced);
        tbl_add(&t, NULL, "  %s", m && *m->name ? m->name : h);
        tbl_add(&t, NULL, "%s", peers[i].naddrs ? peers[i].addrs[0] : "-");
        tbl_add(&t, NULL, "%s", peers[i].last_seen ? seen : "never");
        tbl_add(&t, NULL, "%s", peers[i].last_synced ? synced : "never");
      }
      tbl_print(c, &t, 1);
      tbl_free(&t);
    }
  }
  accord_free(peers);
  return EX_OK;
}

/* ---- link ---------------------------------------------------------------------------- */

typedef struct link_ctx {
  const uint8_t *other;
  int64_t now;
} link_ctx;

static int link_edit(accord_txn *txn, void *vctx) {
  link_ctx *l = vctx;
  return accord_domain_link(txn, l->other, l->now);
}

int cmd_link(cli *c, int argc, char **argv) {
  char *pos[2];
  uint8_t a[ACCORD_DOC_ID_BYTES], b[ACCORD_DOC_ID_BYTES];
  const char *ta, *tb;
  int rc = parse_opts("link", argc, argv, NULL, pos, 2, 2, NULL);
  if (rc || (rc = cli_open(c)) || (rc = ids_resolve(c, pos[0], NULL, a, &ta)) ||
      (rc = ids_resolve(c, pos[1], NULL, b, &tb)))
    return rc;
  if (!strcmp(ta, tb))
    return cli_fail(EX_USAGE, "link joins a goal and a messaging document, but both are %s",
                    strcmp(ta, ACCORD_GOAL_TYPE) ? "messaging documents" : "goals");
  accord_doc *da = NULL, *db = NULL;
  if ((rc = open_doc(c, a, &da)) || (rc = open_doc(c, b, &db))) goto done;
  /* Both sides are checked before either is written: a goal or messaging
   * document that is not laid out yet is refused here, not half way. */
  accord_goal *g = NULL;
  accord_messaging *m = NULL;
  int is_goal_a = !strcmp(ta, ACCORD_GOAL_TYPE);
  int lrc = is_goal_a ? accord_goal_read(da, &g) : accord_messaging_read(da, &m);
  if (!lrc) lrc = is_goal_a ? accord_messaging_read(db, &m) : accord_goal_read(db, &g);
  accord_free(g);
  accord_free(m);
  if (lrc) {
    rc = cli_lib_fail(c, lrc, "cannot link %s and %s", pos[0], pos[1]);
    goto done;
  }
  link_ctx la = {b, c->now}, lb = {a, c->now};
  lrc = cli_edit(c, da, "link", link_edit, &la, NULL);
  if (!lrc) lrc = cli_edit(c, db, "link", link_edit, &lb, NULL);
  if (lrc) rc = cli_lib_fail(c, lrc, "cannot link %s and %s", pos[0], pos[1]);
  else if (c->json) {
    jw w;
    jw_init(&w, stdout);
    jw_obj(&w);
    jw_key(&w, "goal");
    jw_hex(&w, is_goal_a ? a : b, ACCORD_DOC_ID_BYTES);
    jw_key(&w, "messaging");
    jw_hex(&w, is_goal_a ? b : a, ACCORD_DOC_ID_BYTES);
    jw_obj_end(&w);
    jw_end(&w);
  } else {
    printf("linked goal %s and messaging %s\n", ids_short(c, is_goal_a ? a : b),
           ids_short(c, is_goal_a ? b : a));
  }
done:
  accord_node_doc_close(c->node, da);
  accord_node_doc_close(c->node, db);
  return rc;
}

/* Three decimals are all a ratio shown to people needs. */
static double round3(double x) {
  return (double)(int64_t)(x * 1000 + (x >= 0 ? 0.5 : -0.5)) / 1000;
}

/* ---- align ------------------------------------------------------------------------------ */

int cmd_align(cli *c, int argc, char **argv) {
  static const char *const KEYS[] = {"goals_without_messaging", "messaging_without_goals",
                                     "goals_at_risk", "messaging_not_approved",
                                     "conflicts"};
  static const char *const TITLES[] = {
      "Goals without messaging", "Messaging without goals", "Goals at risk",
      "Messaging not approved by both product and marketing", "Unresolved conflicts"};
  int rc = parse_opts("align", argc, argv, NULL, NULL, 0, 0, NULL);
  if (rc || (rc = cli_open(c))) return rc;
  accord_align_item *it = NULL;
  size_t n = 0;
  int lrc = accord_align_report(c->node, c->ws, c->now, &it, &n);
  if (lrc) return cli_lib_fail(c, lrc, "cannot build the alignment report");
  if (c->json) {
    jw w;
    jw_init(&w, stdout);
    jw_obj(&w);
    for (int k = 0; k < 5; k++) {
      jw_key(&w, KEYS[k]);
      jw_arr(&w);
      for (size_t i = 0; i < n; i++) {
        if ((int)it[i].kind != k) continue;
        jw_obj(&w);
        jw_key(&w, "id");
        jw_hex(&w, it[i].doc, ACCORD_DOC_ID_BYTES);
        jw_key(&w, "title");
        jw_str(&w, it[i].title);
        jw_key(&w, "detail");
        jw_str(&w, it[i].detail);
        if (it[i].kind == ACCORD_ALIGN_GOAL_AT_RISK) {
          jw_key(&w, "progress");
          jw_num(&w, round3(it[i].progress));
          jw_key(&w, "elapsed");
          jw_num(&w, round3(it[i].elapsed));
        }
        jw_obj_end(&w);
      }
      jw_arr_end(&w);
    }
    jw_obj_end(&w);
    jw_end(&w);
  } else {
    for (int k = 0; k < 5; k++) {
      size_t count = 0;
      for (size_t i = 0; i < n; i++) count += (int)it[i].kind == k;
      printf("%s%s%s%s  %s%zu%s\n", k ? "\n" : "", col(c, C_BOLD), TITLES[k],
             col(c, C_OFF), col(c, count ? C_YELLOW : C_GREEN), count, col(c, C_OFF));
      if (!count) {
        printf("  none\n");
        continue;
      }
      table t;
      tbl_init(&t, 3);
      for (size_t i = 0; i < n; i++) {
        if ((int)it[i].kind != k) continue;
        tbl_add(&t, C_CYAN, "  %s", ids_short(c, it[i].doc));
        tbl_add(&t, NULL, "%s", it[i].title);
        tbl_add(&t, C_DIM, "%s", it[i].detail);
      }
      tbl_print(c, &t, 0);
      tbl_free(&t);
    }
    if (!n) printf("\n%sEverything is aligned.%s\n", col(c, C_GREEN), col(c, C_OFF));
  }
  accord_free(it);
  return EX_OK;
}

/* ---- conflicts and resolve ---------------------------------------------------------------- */

int cmd_conflicts(cli *c, int argc, char **argv) {
  char *pos[1];
  size_t npos = 0;
  uint8_t id[ACCORD_DOC_ID_BYTES];
  int rc = parse_opts("conflicts", argc, argv, NULL, pos, 0, 1, &npos);
  if (rc || (rc = cli_open(c))) return rc;
  if (npos && (rc = ids_resolve(c, pos[0], NULL, id, NULL))) return rc;
  jw w;
  jw_init(&w, stdout);
  if (c->json) jw_arr(&w);
  size_t total = 0;
  for (size_t i = 0; i < c->ndocs; i++) {
    if (npos && memcmp(c->docs[i].id, id, ACCORD_DOC_ID_BYTES)) continue;
    accord_doc *doc = NULL;
    accord_field_value *fv = NULL;
    size_t n = 0;
    if ((rc = open_doc(c, c->docs[i].id, &doc))) break;
    if (!accord_domain_conflicts(doc, &fv, &n) && n) {
      char *title = NULL;
      accord_id t;
      if (accord_domain_text_field(doc, "title", &t) ||
          accord_text_read(doc, t, &title, NULL))
        title = NULL;
      if (c->json) {
        jw_obj(&w);
        jw_key(&w, "id");
        jw_hex(&w, c->docs[i].id, ACCORD_DOC_ID_BYTES);
        jw_key(&w, "type");
        jw_str(&w, c->docs[i].type);
        jw_key(&w, "title");
        jw_str(&w, title ? title : "");
        jw_key(&w, "conflicts");
        json_conflicts(c, &w, doc);
        jw_obj_end(&w);
      } else {
        printf("%s%s%s  %s%s%s", total ? "\n" : "", col(c, C_CYAN),
               ids_short(c, c->docs[i].id), col(c, C_BOLD), title ? tty(title) : "",
               col(c, C_OFF));
        print_conflicts(c, doc, "");
      }
      total++;
      accord_free(title);
    }
    accord_free(fv);
    accord_node_doc_close(c->node, doc);
  }
  if (c->json) {
    jw_arr_end(&w);
    jw_end(&w);
  } else if (!rc && !total) {
    printf("No conflicts.\n");
  } else if (!rc) {
    printf("\nresolve one with `accord resolve ID FIELD VALUE`\n");
  }
  return rc;
}

typedef struct resolve_ctx {
  int is_goal;
  const char *field, *value;
} resolve_ctx;

static int resolve_edit(accord_txn *txn, void *vctx) {
  resolve_ctx *r = vctx;
  return r->is_goal ? accord_goal_set(txn, r->field, r->value)
                    : accord_messaging_set(txn, r->field, r->value);
}

int cmd_resolve(cli *c, int argc, char **argv) {
  const char *why = NULL, *type, *problem;
  char *pos[3];
  opt opts[] = {{"why", 1, &why, NULL, NULL, NULL}, {NULL, 0, NULL, NULL, NULL, NULL}};
  uint8_t id[ACCORD_DOC_ID_BYTES];
  accord_doc *doc = NULL;
  accord_field_value *fv = NULL;
  size_t n = 0;
  int rc = parse_opts("resolve", argc, argv, opts, pos, 3, 3, NULL);
  if (rc || (rc = cli_open(c)) || (rc = ids_resolve(c, pos[0], NULL, id, &type)))
    return rc;
  int is_goal = !strcmp(type, ACCORD_GOAL_TYPE);
  if (accord_domain_check(is_goal, pos[1], pos[2], &problem))
    return cli_fail(EX_USAGE, "cannot set %s to \"%s\": %s", pos[1], pos[2], problem);
  if ((rc = open_doc(c, id, &doc))) return rc;
  int lrc = accord_domain_conflicts(doc, &fv, &n);
  if (lrc) {
    rc = cli_lib_fail(c, lrc, "cannot read the conflicts of %s", pos[0]);
    goto done;
  }
  /* the field as the conflicts name it: dashes for underscores */
  char field[64];
  snprintf(field, sizeof field, "%s", pos[1]);
  for (char *p = field; *p; p++)
    if (*p == '_') *p = '-';
  size_t k;
  for (k = 0; k < n && strcmp(fv[k].field, field); k++) {
  }
  if (k == n) {
    rc = cli_fail(EX_NOTFOUND, "%s of %s has no concurrent values to resolve (use `accord %s set`)",
                  pos[1], pos[0], is_goal ? "goal" : "msg");
    goto done;
  }
  char msg[128];
  snprintf(msg, sizeof msg, "resolve %s", field);
  resolve_ctx r = {is_goal, field, pos[2]};
  lrc = cli_edit(c, doc, why ? why : msg, resolve_edit, &r, NULL);
  if (lrc) rc = cli_lib_fail(c, lrc, "cannot resolve %s of %s", pos[1], pos[0]);
  else if (c->json) {
    jw w;
    jw_init(&w, stdout);
    if (is_goal) json_goal(c, &w, doc, id);
    else json_msg(c, &w, doc, id);
    jw_end(&w);
  } else {
    printf("%s of %s is now %s\n", field, ids_short(c, id), pos[2]);
  }
done:
  accord_free(fv);
  accord_node_doc_close(c->node, doc);
  return rc;
}
