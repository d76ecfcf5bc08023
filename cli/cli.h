/*
 * cli.h — what the files of the `accord` command share: the invocation
 * context, exit codes, option parsing, output (tables, JSON, colour) and
 * short ids. The command line is parsing, printing and editing only: every
 * rule about goals and messaging lives in the library (accord.h, "Domain").
 *
 * Every command returns its exit status. A command that fails prints one
 * sentence to stderr (cli_fail) and has committed nothing: arguments are
 * checked before the first write, and each document is changed by one
 * transaction that is aborted on error.
 */
#ifndef ACCORD_CLI_H
#define ACCORD_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "accord.h"

/* Exit statuses (docs/cli.md). */
enum {
  EX_OK = 0,
  EX_FAIL = 1,     /* anything else: bad state, editor failed... */
  EX_USAGE = 2,    /* bad arguments: unknown command, field, value, id */
  EX_NOTFOUND = 3, /* no such node, workspace, document, member */
  EX_CONFLICT = 4, /* another process kept changing the document */
  EX_NETWORK = 5,  /* join, sync: unreachable, refused, timed out */
  EX_STORAGE = 6   /* the store failed: disk, permissions, corruption */
};

#define HELP_SHOWN (-1) /* parse_opts: --help printed, exit 0 */

typedef struct cli {
  const char *dir;    /* --dir, else $ACCORD_DIR, else NULL (default) */
  const char *ws_arg; /* --ws */
  int json;
  int color;          /* stdout is a terminal and NO_COLOR is unset */
  int64_t now;        /* ms; $ACCORD_NOW overrides (tests) */
  int now_fixed;
  accord_node *node;
  uint8_t ws[ACCORD_WS_ID_BYTES];
  char *ws_name;
  accord_ws_info *wss; /* all workspaces */
  size_t nws;
  accord_doc_info *docs; /* goal and messaging docs of ws, by id */
  size_t ndocs;
  size_t short_len; /* hex digits that keep every shown id unique */
  accord_member *members; /* the workspace's members, removed ones included */
  size_t nmembers;
} cli;

/* ---- main.c ------------------------------------------------------------------ */

/* One sentence on stderr ("accord: ..."); returns code. */
int cli_fail(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A library error as one sentence, with the node's detail when it has one;
 * returns the matching exit status. */
int cli_lib_fail(cli *c, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int cli_exit_code(int rc);
/* Opens the node (never creating it) and picks the workspace. */
int cli_open(cli *c);
/* Prints the usage of a command ("goal add") to out. */
void cli_usage(FILE *out, const char *command);

/* Runs edit(txn, ctx) in one durable transaction on doc with message msg
 * (may be NULL), retrying when another process committed meanwhile. On
 * error the transaction is aborted: nothing changes. Returns a library
 * code. *seq (may be NULL) receives the change's seq (0: no change). */
typedef int (*cli_edit_fn)(accord_txn *txn, void *ctx);
int cli_edit(cli *c, accord_doc *doc, const char *msg, cli_edit_fn edit,
             void *ctx, uint64_t *seq);

/* ---- options --------------------------------------------------------------- */

typedef struct opt {
  const char *name;   /* without the dashes */
  int has_arg;
  const char **val;   /* last value (has_arg), or NULL */
  const char ***vals; /* every value, for repeatable options */
  size_t *nvals;
  int *flag;          /* set to 1 for flags */
} opt;

/* Parses argv[0..argc) (after the command words) into opts and
 * positionals (at most maxpos, at least minpos). --help prints the usage
 * of command and returns HELP_SHOWN; errors print a sentence and return
 * EX_USAGE. The vals arrays are malloc'd: free them with free(). */
int parse_opts(const char *command, int argc, char **argv, const opt *opts,
               char **pos, size_t minpos, size_t maxpos, size_t *npos);

/* ---- out.c ------------------------------------------------------------------ */

typedef struct jw {
  FILE *f;
  int depth;
  int first[64];
  int after_key;
} jw;

void jw_init(jw *w, FILE *f);
void jw_obj(jw *w);
void jw_obj_end(jw *w);
void jw_arr(jw *w);
void jw_arr_end(jw *w);
void jw_key(jw *w, const char *key);
void jw_str(jw *w, const char *s);
void jw_strn(jw *w, const char *s, size_t n);
void jw_num(jw *w, double d);
void jw_int(jw *w, int64_t i);
void jw_null(jw *w);
void jw_bool(jw *w, int b);
void jw_hex(jw *w, const uint8_t *p, size_t n);
void jw_time(jw *w, int64_t ms); /* ISO 8601 UTC, null for 0 */
void jw_date(jw *w, int64_t ms); /* YYYY-MM-DD, null for 0 */
void jw_value(jw *w, const accord_value *v);
void jw_end(jw *w); /* the final newline */

/* Colours: "" unless c->color. */
const char *col(const cli *c, const char *code);
#define C_BOLD "\033[1m"
#define C_DIM "\033[2m"
#define C_RED "\033[31m"
#define C_GREEN "\033[32m"
#define C_YELLOW "\033[33m"
#define C_CYAN "\033[36m"
#define C_OFF "\033[0m"

void fmt_time(int64_t ms, char *out, size_t cap); /* "2026-11-23 03:10" */
void fmt_date(int64_t ms, char *out, size_t cap); /* "2026-11-23" or "-" */
void fmt_num(double d, char *out, size_t cap);
void fmt_value(const accord_value *v, char *out, size_t cap);
/* A progress bar of width cells for fraction p (clamped), with "NN%". */
void fmt_bar(double p, int width, char *out, size_t cap);
/* Display width of UTF-8 (code points, ANSI escapes skipped). */
size_t disp_width(const char *s);

typedef struct table {
  size_t ncols;
  char **cells; /* row-major, malloc'd */
  const char **colors;
  size_t ncells, nrows, cap;
} table;

void tbl_init(table *t, size_t ncols);
/* Adds a cell to the current row (a new row every ncols cells). */
void tbl_add(table *t, const char *color, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void tbl_print(const cli *c, table *t, int header);
void tbl_free(table *t);

/* s with terminal control characters replaced by spaces: for text from
 * documents printed outside tables (one of 4 rotating buffers). */
const char *tty(const char *s);
/* Wraps text at width with an indent, for show commands (controls other
 * than newlines become spaces). */
void print_wrapped(const char *text, const char *indent);

/* ---- ids.c ----------------------------------------------------------------- */

/* Loads the goal and messaging documents of the workspace (c->docs). */
int ids_load(cli *c);
/* Resolves a hex prefix to a document of type (NULL: goal or messaging).
 * Prints the error and returns its exit status; 0 on success. */
int ids_resolve(cli *c, const char *prefix, const char *type, uint8_t *id,
                const char **type_out);
/* The short form of a document id (static buffer, one of 4 rotating). */
const char *ids_short(cli *c, const uint8_t *id);
/* A member's name (membership), else the short hex of the actor. */
const char *ids_member(cli *c, const uint8_t *actor);
/* This node's member entry, or NULL. */
const accord_member *ids_me(cli *c);
/* Resolves a member by name (case-insensitive) or id prefix. */
const accord_member *ids_find_member(cli *c, const char *who);

/* ---- commands --------------------------------------------------------------- */

int cmd_goal(cli *c, int argc, char **argv);
int cmd_msg(cli *c, int argc, char **argv);
int cmd_init(cli *c, int argc, char **argv);
int cmd_id(cli *c, int argc, char **argv);
int cmd_members(cli *c, int argc, char **argv);
int cmd_member(cli *c, int argc, char **argv);
int cmd_invite(cli *c, int argc, char **argv);
int cmd_log(cli *c, int argc, char **argv);
int cmd_export(cli *c, int argc, char **argv);
int cmd_conflicts(cli *c, int argc, char **argv);
int cmd_resolve(cli *c, int argc, char **argv);
int cmd_link(cli *c, int argc, char **argv);
int cmd_align(cli *c, int argc, char **argv);
int cmd_status(cli *c, int argc, char **argv);
int cmd_join(cli *c, int argc, char **argv);
int cmd_serve(cli *c, int argc, char **argv);
int cmd_sync(cli *c, int argc, char **argv);

/* Shared by show, export and conflicts (cmd_goal.c, cmd_msg.c). */
void json_goal(cli *c, jw *w, accord_doc *doc, const uint8_t *id);
void json_msg(cli *c, jw *w, accord_doc *doc, const uint8_t *id);
void json_conflicts(cli *c, jw *w, accord_doc *doc);
/* Prints the conflicts of doc as a human table; returns how many fields. */
size_t print_conflicts(cli *c, accord_doc *doc, const char *indent);
/* Opens a document of the workspace; prints the error. */
int open_doc(cli *c, const uint8_t *id, accord_doc **doc);
/* Opens the node, resolves arg as an id of a document of type, and opens
 * it: the prologue of every command that works on one document. */
int open_typed(cli *c, const char *arg, const char *type, uint8_t *id,
               accord_doc **doc);
int64_t doc_changes(accord_doc *doc);

#endif
