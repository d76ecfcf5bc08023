/*
 * main.c — the `accord` command: global options, dispatch to the command
 * groups (cmd_*.c), help texts, option parsing, opening the node and the
 * one-transaction-per-document edit loop every writing command uses.
 *
 *   accord [--dir DIR] [--ws WORKSPACE] [--json] COMMAND ...
 *
 * docs/cli.md documents every command, the JSON fields and exit statuses.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* ---- help ------------------------------------------------------------------ */

typedef struct usage {
  const char *command;
  const char *synopsis;
  const char *summary;
} usage;

static const usage USAGES[] = {
    {"init", "init --name NAME [--workspace TITLE] [--role product|marketing|shared]",
     "create this node (its identity) and a first workspace; print the member id"},
    {"id", "id", "this node's member id, name, role and directory"},
    {"members", "members",
     "the workspace's members: name, role, id, who added them, removal"},
    {"member", "member remove MEMBER", "membership changes"},
    {"member remove", "member remove MEMBER",
     "remove a member (name or id): their later changes are refused everywhere"},
    {"invite", "invite [--addr HOST:PORT]... [--expires DURATION]",
     "print a one-time invite token (default expiry 7d; also 12h, 30m)"},
    {"goal", "goal add|list|show|set|checkin|history ...", "shared goals and their KPIs"},
    {"goal add",
     "goal add TITLE [--metric NAME] [--unit UNIT] [--baseline N] [--target N]\n"
     "         [--direction up|down] [--due YYYY-MM-DD] [--team product|marketing|shared]\n"
     "         [--owner MEMBER]... [--description TEXT]",
     "add a goal; print its id"},
    {"goal list", "goal list", "every goal with its KPI progress"},
    {"goal show", "goal show ID", "one goal: metric, check-ins, links, conflicts"},
    {"goal set", "goal set ID FIELD VALUE [--why TEXT]",
     "set title, description, metric, unit, baseline, target, direction, due,\n"
     "  team or status; --why is kept in the history"},
    {"goal checkin", "goal checkin ID VALUE [--note TEXT]",
     "record the metric's current value"},
    {"goal history", "goal history ID",
     "every change of target, baseline, due, team and status: who, when, why"},
    {"msg", "msg add|list|show|set|edit|key|approve ...", "messaging documents"},
    {"msg add", "msg add TITLE [--product P] [--audience A]... [--goal ID]...",
     "add a messaging document; print its id"},
    {"msg list", "msg list", "every messaging document"},
    {"msg show", "msg show ID", "one messaging document in full"},
    {"msg set", "msg set ID FIELD TEXT",
     "set title, product, value-prop, positioning, press-release, faq or status\n"
     "  (text fields change by minimal splices)"},
    {"msg edit", "msg edit ID FIELD",
     "edit a text field in $VISUAL or $EDITOR; the saved text becomes splices"},
    {"msg key", "msg key add ID TEXT [--proof TEXT]... | msg key rm ID N",
     "add a key message with proof points, or remove the N-th (from 1)"},
    {"msg key add", "msg key add ID TEXT [--proof TEXT]...",
     "add a key message with its proof points"},
    {"msg key rm", "msg key rm ID N", "remove the N-th key message (from 1)"},
    {"msg approve", "msg approve ID [--role product|marketing]",
     "approve as this member, for a function (default: the role of `init`)"},
    {"link", "link GOAL_ID MSG_ID", "link a goal and a messaging document both ways"},
    {"align", "align",
     "the alignment report: unlinked goals and messaging, goals at risk,\n"
     "  unapproved messaging, conflicts"},
    {"conflicts", "conflicts [ID]", "fields with concurrent values, side by side"},
    {"resolve", "resolve ID FIELD VALUE [--why TEXT]",
     "write a value that supersedes a field's concurrent values"},
    {"log", "log [ID]", "history: who changed what, when and why"},
    {"export", "export [--format json|md] [ID]",
     "the workspace or one document as JSON or Markdown"},
    {"join", "join TOKEN --name NAME [--role product|marketing|shared] [--timeout SECONDS]",
     "join a workspace with an invite, through its addresses in turn, and sync\n"
     "  it once (creates this node if needed; default timeout 30 s)"},
    {"serve", "serve [--listen HOST:PORT] [--peer HOST:PORT]... [--no-discovery]",
     "run the node until SIGINT/SIGTERM: listen (default 0.0.0.0:7700), connect\n"
     "  to peers, gossip changes, including other processes' commits"},
    {"sync", "sync HOST:PORT [--timeout SECONDS]",
     "connect once, sync both ways, exit 0 when both sides are in sync"},
    {"status", "status", "this node: workspace, documents, changes and peers"},
    {NULL, NULL, NULL}};

void cli_usage(FILE *out, const char *command) {
  for (const usage *u = USAGES; u->command; u++)
    if (!strcmp(u->command, command)) {
      fprintf(out, "usage: accord [--dir DIR] [--ws WORKSPACE] [--json] %s\n\n  %s\n",
              u->synopsis, u->summary);
      if (!strcmp(command, "goal") || !strcmp(command, "msg") ||
          !strcmp(command, "msg key") || !strcmp(command, "member")) {
        size_t len = strlen(command);
        fprintf(out, "\ncommands:\n");
        for (const usage *s = USAGES; s->command; s++)
          if (!strncmp(s->command, command, len) && s->command[len] == ' ' &&
              !strchr(s->command + len + 1, ' '))
            fprintf(out, "  %s\n", s->synopsis);
      }
      fprintf(out, "\nSee docs/cli.md for the JSON fields and exit statuses.\n");
      return;
    }
}

static void main_help(FILE *out) {
  fprintf(out,
          "accord — shared goals and messaging, local-first, synced peer to peer\n\n"
          "usage: accord [--dir DIR] [--ws WORKSPACE] [--json] COMMAND ...\n\n"
          "global options:\n"
          "  --dir DIR        the node directory (default: $ACCORD_DIR, else\n"
          "                   $XDG_DATA_HOME/accord or ~/.local/share/accord)\n"
          "  --ws WORKSPACE   workspace name or id prefix (default: the first)\n"
          "  --json           machine-readable JSON on stdout\n"
          "  --help, --version\n\ncommands:\n");
  static const char *const top[] = {"init", "id", "members", "member",
                                    "invite", "goal", "msg",
                                    "link", "align", "conflicts", "resolve",
                                    "log", "export", "join", "serve",
                                    "sync", "status", NULL};
  for (const char *const *t = top; *t; t++)
    for (const usage *u = USAGES; u->command; u++)
      if (!strcmp(u->command, *t)) {
        const char *nl = strchr(u->summary, '\n');
        fprintf(out, "  %-10s %.*s\n", u->command,
                nl ? (int)(nl - u->summary) : (int)strlen(u->summary),
                u->summary);
      }
  fprintf(out,
          "\n`accord COMMAND --help` describes a command; docs/cli.md has them all.\n");
}

/* ---- errors ------------------------------------------------------------------ */

int cli_fail(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("accord: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return code;
}

int cli_exit_code(int rc) {
  switch (rc) {
    case ACCORD_ENOTFOUND: return EX_NOTFOUND;
    case ACCORD_EINVAL:
    case ACCORD_EUTF8:
    case ACCORD_ERANGE:
    case ACCORD_ETOOBIG: return EX_USAGE;
    case ACCORD_ESTALE: return EX_CONFLICT;
    case ACCORD_ENET:
    case ACCORD_EINVITE: return EX_NETWORK;
    case ACCORD_ESTORE:
    case ACCORD_EFULL:
    case ACCORD_ECORRUPT:
    case ACCORD_ENOTSTORE:
    case ACCORD_ESCHEMA:
    case ACCORD_EKEYPERM:
    case ACCORD_EIDENTITY:
    case ACCORD_EBUSY: return EX_STORAGE;
    default: return EX_FAIL;
  }
}

int cli_lib_fail(cli *c, int rc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("accord: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  const char *detail = c && c->node ? accord_node_errmsg(c->node) : "";
  fprintf(stderr, ": %s%s%s.\n", accord_strerror(rc), *detail ? " — " : "",
          detail);
  return cli_exit_code(rc);
}

/* ---- options ----------------------------------------------------------------- */

int parse_opts(const char *command, int argc, char **argv, const opt *opts,
               char **pos, size_t minpos, size_t maxpos, size_t *npos) {
  size_t n = 0;
  int only_pos = 0;
  for (int i = 0; i < argc; i++) {
    char *a = argv[i];
    if (only_pos || a[0] != '-' || a[1] != '-' || !a[2]) {
      if (!only_pos && !strcmp(a, "--")) {
        only_pos = 1;
        continue;
      }
      if (!only_pos && a[0] == '-' && a[1] && strcmp(a, "-") &&
          !(a[1] >= '0' && a[1] <= '9') && a[1] != '.') {
        if (!strcmp(a, "-h")) goto help;
        return cli_fail(EX_USAGE, "unknown option %s for `accord %s` (see --help)",
                        a, command);
      }
      if (n == maxpos)
        return cli_fail(EX_USAGE, "too many arguments for `accord %s`: \"%s\" (see --help)",
                        command, a);
      pos[n++] = a;
      continue;
    }
    if (!strcmp(a, "--help")) goto help;
    char *name = a + 2, *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    const opt *o;
    for (o = opts; o && o->name; o++)
      if (strlen(o->name) == len && !strncmp(o->name, name, len)) break;
    if (!o || !o->name)
      return cli_fail(EX_USAGE, "unknown option --%.*s for `accord %s` (see --help)",
                      (int)len, name, command);
    if (!o->has_arg) {
      if (eq)
        return cli_fail(EX_USAGE, "option --%s takes no value", o->name);
      *o->flag = 1;
      continue;
    }
    const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
    if (!v) return cli_fail(EX_USAGE, "option --%s needs a value", o->name);
    if (o->vals) {
      const char **grown = realloc(*o->vals, (*o->nvals + 1) * sizeof *grown);
      if (!grown) return cli_fail(EX_FAIL, "out of memory");
      grown[(*o->nvals)++] = v;
      *o->vals = grown;
    } else {
      *o->val = v;
    }
  }
  if (n < minpos)
    return cli_fail(EX_USAGE, "`accord %s` needs more arguments: accord %s",
                    command, command);
  if (npos) *npos = n;
  return 0;
help:
  cli_usage(stdout, command);
  return HELP_SHOWN;
}

/* ---- node and transactions ---------------------------------------------------- */

int cli_open(cli *c) {
  if (c->node) return 0;
  char err[512] = "";
  accord_node_opts o = {0};
  o.no_create = 1;
  o.errbuf = err;
  o.errbuf_size = sizeof err;
  const char *shown = c->dir ? c->dir : "the default directory";
  int rc = accord_node_open(c->dir, &o, &c->node);
  if (rc == ACCORD_ENOTFOUND)
    return cli_fail(EX_NOTFOUND,
                    "there is no accord node in %s: run `accord init --name NAME` first",
                    shown);
  if (rc == ACCORD_ENOTSTORE)
    return cli_fail(EX_STORAGE,
                    "%s is not an accord node directory (it holds other files)",
                    shown);
  if (rc)
    return cli_fail(cli_exit_code(rc), "cannot open the node in %s: %s", shown,
                    *err ? err : accord_strerror(rc));
  if ((rc = accord_node_ws_list(c->node, &c->wss, &c->nws)))
    return cli_lib_fail(c, rc, "cannot list the workspaces");
  if (!c->nws)
    return cli_fail(EX_NOTFOUND,
                    "the node in %s has no workspace: run `accord init --name NAME`",
                    shown);
  const accord_ws_info *pick = NULL;
  if (c->ws_arg) {
    size_t plen = strlen(c->ws_arg);
    for (size_t i = 0; i < c->nws && !pick; i++)
      if (!strcmp(c->wss[i].name, c->ws_arg)) pick = &c->wss[i];
    for (size_t i = 0; i < c->nws && plen >= 4; i++) {
      char hex[2 * ACCORD_WS_ID_BYTES + 1];
      for (int k = 0; k < ACCORD_WS_ID_BYTES; k++)
        snprintf(hex + 2 * k, 3, "%02x", c->wss[i].id[k]);
      if (plen <= strlen(hex) && !strncmp(hex, c->ws_arg, plen)) {
        if (pick && pick != &c->wss[i])
          return cli_fail(EX_USAGE, "workspace \"%s\" is ambiguous", c->ws_arg);
        pick = &c->wss[i];
      }
    }
    if (!pick)
      return cli_fail(EX_NOTFOUND, "there is no workspace \"%s\" on this node",
                      c->ws_arg);
  } else {
    pick = &c->wss[0];
    for (size_t i = 1; i < c->nws; i++)
      if (c->wss[i].created < pick->created) pick = &c->wss[i];
  }
  memcpy(c->ws, pick->id, sizeof c->ws);
  c->ws_name = strdup(pick->name);
  if ((rc = accord_member_list(c->node, c->ws, &c->members, &c->nmembers)))
    return cli_lib_fail(c, rc, "cannot read the workspace's members");
  return ids_load(c);
}

int cli_edit(cli *c, accord_doc *doc, const char *msg, cli_edit_fn edit,
             void *ctx, uint64_t *seq) {
  int rc = 0;
  if (seq) *seq = 0;
  for (int attempt = 0; attempt < 5; attempt++) {
    accord_txn *txn = NULL;
    accord_change_info info = {0};
    if ((rc = accord_node_txn_begin(c->node, doc, &txn))) return rc;
    if (c->now_fixed) accord_txn_set_time(txn, c->now);
    if ((msg && *msg && (rc = accord_txn_set_message(txn, msg, strlen(msg)))) ||
        (rc = edit(txn, ctx))) {
      accord_txn_abort(txn);
      return rc;
    }
    rc = accord_node_txn_commit(c->node, txn, &info);
    if (!rc && seq) *seq = info.seq;
    if (rc != ACCORD_ESTALE) return rc;
  }
  return rc;
}

/* ---- main ----------------------------------------------------------------------- */

typedef struct command {
  const char *name;
  int (*run)(cli *c, int argc, char **argv);
} command;

static const command COMMANDS[] = {
    {"init", cmd_init},       {"id", cmd_id},
    {"members", cmd_members}, {"member", cmd_member},
    {"invite", cmd_invite},   {"goal", cmd_goal},
    {"msg", cmd_msg},         {"link", cmd_link},
    {"align", cmd_align},     {"conflicts", cmd_conflicts},
    {"resolve", cmd_resolve}, {"log", cmd_log},
    {"export", cmd_export},   {"status", cmd_status},
    {"join", cmd_join},       {"serve", cmd_serve},
    {"sync", cmd_sync},       {NULL, NULL}};

/* 1 when argv asks for help anywhere after the command. */
static int wants_help(int argc, char **argv) {
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "--")) return 0;
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return 1;
  }
  return 0;
}

static int64_t parse_now(const char *s, int *ok) {
  int64_t ms;
  *ok = 1;
  if (!accord_parse_date(s, &ms)) return ms;
  char *end;
  long long v = strtoll(s, &end, 10);
  if (*s && !*end) return v;
  *ok = 0;
  return 0;
}

int main(int argc, char **argv) {
  cli c;
  memset(&c, 0, sizeof c);
  c.dir = getenv("ACCORD_DIR");
  if (c.dir && !*c.dir) c.dir = NULL;
  const char *nc = getenv("NO_COLOR");
  c.color = isatty(STDOUT_FILENO) && !(nc && *nc);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  c.now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
  const char *now = getenv("ACCORD_NOW");
  if (now && *now) {
    int ok;
    c.now = parse_now(now, &ok);
    if (!ok)
      return cli_fail(EX_USAGE, "ACCORD_NOW must be YYYY-MM-DD or ms since the epoch");
    c.now_fixed = 1;
  }
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      main_help(stdout);
      return EX_OK;
    } else if (!strcmp(a, "--version")) {
      printf("accord %s\n", accord_version());
      return EX_OK;
    } else if (!strcmp(a, "--json")) {
      c.json = 1;
    } else if (!strcmp(a, "--dir") || !strcmp(a, "--ws")) {
      if (i + 1 >= argc || !*argv[i + 1])
        return cli_fail(EX_USAGE, "option %s needs a value", a);
      if (a[2] == 'd') c.dir = argv[++i];
      else c.ws_arg = argv[++i];
    } else if (!strncmp(a, "--dir=", 6) && a[6]) {
      c.dir = a + 6;
    } else if (!strncmp(a, "--ws=", 5) && a[5]) {
      c.ws_arg = a + 5;
    } else {
      return cli_fail(EX_USAGE, "unknown option %s (see accord --help)", a);
    }
  }
  if (i == argc)
    return cli_fail(EX_USAGE, "no command given (see accord --help)");
  const char *name = argv[i];
  const command *cmd = NULL;
  for (const command *k = COMMANDS; k->name; k++)
    if (!strcmp(k->name, name)) cmd = k;
  if (!cmd)
    return cli_fail(EX_USAGE, "unknown command \"%s\" (see accord --help)", name);
  int rc;
  /* Help needs no node: groups print their own (goal --help, goal add
   * --help), the others are handled here. */
  if (wants_help(argc - i - 1, argv + i + 1) && strcmp(name, "goal") &&
      strcmp(name, "msg") && strcmp(name, "member")) {
    cli_usage(stdout, name);
    return EX_OK;
  }
  /* Commands open the node themselves once their arguments parsed, so
   * that usage errors are reported first and need no node. */
  rc = cmd->run(&c, argc - i - 1, argv + i + 1);
  if (rc == HELP_SHOWN) rc = EX_OK;
  accord_free(c.docs);
  accord_free(c.members);
  accord_free(c.wss);
  free(c.ws_name);
  accord_node_close(c.node);
  if (fflush(stdout) && !rc) rc = cli_fail(EX_FAIL, "cannot write the output");
  return rc;
}
