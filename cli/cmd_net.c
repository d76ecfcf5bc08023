/*
 * cmd_net.c — the network commands: `join TOKEN`, `serve`, `sync
 * HOST:PORT`. Each runs an accord_net in loop mode on a libuv loop of this
 * process (so the node stays on the main thread, and the callbacks may read
 * it), with a 50 ms tick that checks deadlines and the "done" rule, and, for
 * serve, SIGINT/SIGTERM handles that stop it cleanly.
 *
 * "Done" (join's first sync, and sync): the connection to the peer is open,
 * every document this node asked for in the round has arrived (progress
 * reached its totals, or nothing was needed), and the link then stayed quiet
 * — no progress, no stored change, no connection change — for SETTLE_MS.
 * Anti-entropy runs every AE_MS meanwhile, so the quiet window holds at least
 * two summary exchanges: a document whose digest still differed on either
 * side (the peer still missing something we sent, or we something of its)
 * would show there as a round with work (a progress event) and restart the
 * window. The public API does not say when the peer has imported what we
 * sent, so this is the observable form of "nothing left to send or
 * receive" (docs/cli.md).
 *
 * Addresses on the command line and in tokens may be host names; they are
 * resolved here (getaddrinfo), since accord_net takes IP literals.
 */
#define _POSIX_C_SOURCE 200809L
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "cli.h"

#define TICK_MS 50
#define SETTLE_MS 600
#define AE_MS 200
#define DEFAULT_TIMEOUT_S 30
#define DEFAULT_LISTEN "0.0.0.0:7700"

enum { MODE_SERVE, MODE_SYNC, MODE_JOIN };

typedef struct run {
  cli *c;
  int mode;
  uv_loop_t loop;
  uv_timer_t tick;
  uv_signal_t sigint, sigterm;
  accord_net *net;
  const char *target;  /* sync/join: the address dialled ("ip:port") */
  uint64_t start, deadline, quiet_since; /* uv_now ms */
  int open;            /* connections open now */
  int ever_open;
  int joined;          /* join: 1 pending, 0 done, <0 error */
  int finished;        /* the tick decided: stop */
  int status;          /* exit status once finished */
  int signalled;
  int started;         /* serve: listening, events are shown */
  int tty;             /* stderr is a terminal: redraw the progress line */
  int drawn;           /* a progress line is on the terminal */
  accord_net_progress prog;
  int have_prog;
  uint64_t docs_changed;
  uint64_t last_docs_done;
  char fail_line[400]; /* the first log line about target before it opened */
  char peer_name[300];
  uint8_t peer_pk[ACCORD_PUBKEY_BYTES]; /* sync/join: who answered */
} run;

/* ---- small helpers --------------------------------------------------------- */

static void hexs(const uint8_t *p, size_t n, char *out) {
  for (size_t i = 0; i < n; i++) snprintf(out + 2 * i, 3, "%02x", p[i]);
}

/* A JSON string on one line (for JSON lines). */
static void jl_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
    else if (ch < 0x20) fprintf(f, "\\u%04x", ch);
    else fputc(ch, f);
  }
  fputc('"', f);
}

/* The member name of a public key, else its short hex. */
static const char *member_of(run *r, const uint8_t *pk) {
  cli *c = r->c;
  for (int pass = 0; pass < 2; pass++) {
    for (size_t i = 0; i < c->nmembers; i++)
      if (!memcmp(c->members[i].public_key, pk, ACCORD_PUBKEY_BYTES))
        return *c->members[i].name ? c->members[i].name : "member";
    if (pass) break;
    /* someone who joined since we read the list: read it again */
    accord_member *m = NULL;
    size_t n = 0;
    if (accord_member_list(c->node, c->ws, &m, &n)) break;
    accord_free(c->members);
    c->members = m;
    c->nmembers = n;
  }
  static char h[17];
  hexs(pk, 8, h);
  return h;
}

/* HOST:PORT (host a name, an IPv4 literal, or [IPv6]) to "ip:port" /
 * "[ip6]:port" in out; port 0 only when any_port (a listen address).
 * Returns 0, or -1 with a sentence in why. */
static int resolve_port(const char *arg, int any_port, char *out, size_t cap,
                        char *why, size_t wcap) {
  const char *colon = strrchr(arg, ':');
  char host[256];
  if (!colon || colon == arg || !colon[1] || (size_t)(colon - arg) >= sizeof host) {
    snprintf(why, wcap, "\"%s\" is not HOST:PORT", arg);
    return -1;
  }
  char *end;
  long port = strtol(colon + 1, &end, 10);
  if (*end || end == colon + 1 || port < (any_port ? 0 : 1) || port > 65535) {
    snprintf(why, wcap, "\"%s\" has no valid port (%d-65535)", arg, any_port ? 0 : 1);
    return -1;
  }
  size_t hl = (size_t)(colon - arg);
  memcpy(host, arg, hl);
  host[hl] = 0;
  if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
    memmove(host, host + 1, hl - 2);
    host[hl - 2] = 0;
  }
  struct addrinfo hints, *ai = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  int rc = getaddrinfo(host, colon + 1, &hints, &ai);
  if (rc || !ai) {
    snprintf(why, wcap, "cannot resolve \"%s\": %s", host, gai_strerror(rc));
    return -1;
  }
  /* IPv4 first: "localhost" often lists ::1 first, while servers listen
   * on 0.0.0.0 by default */
  const struct addrinfo *pick = ai;
  for (const struct addrinfo *p = ai; p; p = p->ai_next)
    if (p->ai_family == AF_INET) {
      pick = p;
      break;
    }
  char ip[64];
  int ok = !getnameinfo(pick->ai_addr, pick->ai_addrlen, ip, sizeof ip, NULL, 0,
                        NI_NUMERICHOST);
  int v6 = pick->ai_family == AF_INET6;
  freeaddrinfo(ai);
  if (!ok) {
    snprintf(why, wcap, "cannot resolve \"%s\"", host);
    return -1;
  }
  snprintf(out, cap, v6 ? "[%s]:%ld" : "%s:%ld", ip, port);
  return 0;
}

static int resolve(const char *arg, char *out, size_t cap, char *why, size_t wcap) {
  return resolve_port(arg, 0, out, cap, why, wcap);
}

static int parse_timeout(const char *s, uint64_t *ms) {
  if (!s) {
    *ms = DEFAULT_TIMEOUT_S * 1000;
    return 0;
  }
  char *end;
  double v = strtod(s, &end);
  if (end == s || v <= 0 || v > 86400) return -1;
  if (*end == 's') end++;
  else if (*end == 'm') v *= 60, end++;
  if (*end || v > 86400) return -1;
  *ms = (uint64_t)(v * 1000);
  return *ms ? 0 : -1;
}

/* ---- progress and events ----------------------------------------------------- */

static void clear_line(run *r) {
  if (r->drawn) {
    fputs("\r\033[K", stderr);
    r->drawn = 0;
  }
}

static void draw_progress(run *r) {
  if (r->c->json || !r->have_prog) return;
  const accord_net_progress *p = &r->prog;
  if (r->tty) {
    fprintf(stderr, "\r\033[Kreceiving: %llu/%llu documents, %llu/%llu changes",
            (unsigned long long)p->docs_done, (unsigned long long)p->docs_total,
            (unsigned long long)p->changes_done,
            (unsigned long long)p->changes_total);
    r->drawn = 1;
  } else if (p->docs_done != r->last_docs_done || p->docs_done == 0) {
    /* plain lines: one per finished document, not one per batch */
    fprintf(stderr, "received %llu/%llu documents (%llu/%llu changes)\n",
            (unsigned long long)p->docs_done, (unsigned long long)p->docs_total,
            (unsigned long long)p->changes_done,
            (unsigned long long)p->changes_total);
  }
  r->last_docs_done = p->docs_done;
}

/* One event line: human on stderr, or a JSON line on stdout (--json). */
static void event(run *r, const char *kind, const char *who, const char *addr,
                  const char *text) {
  cli *c = r->c;
  if (c->json) {
    printf("{\"event\": ");
    jl_str(stdout, kind);
    if (who) {
      printf(", \"member\": ");
      jl_str(stdout, who);
    }
    if (addr) {
      printf(", \"address\": ");
      jl_str(stdout, addr);
    }
    if (text) {
      printf(", \"text\": ");
      jl_str(stdout, text);
    }
    printf("}\n");
    fflush(stdout);
    return;
  }
  clear_line(r);
  char when[32];
  time_t t = time(NULL);
  struct tm tm;
  localtime_r(&t, &tm);
  strftime(when, sizeof when, "%H:%M:%S", &tm);
  fprintf(stderr, "%s %s%s%s%s%s%s%s\n", when, kind, who ? " " : "",
          who ? tty(who) : "", addr ? " " : "", addr ? addr : "",
          text ? ": " : "", text ? tty(text) : "");
}

static void on_peer(void *ud, const uint8_t *pk, const char *address, int connected) {
  run *r = ud;
  r->quiet_since = uv_now(&r->loop);
  const char *who = member_of(r, pk);
  if (connected) {
    r->open++;
    r->ever_open = 1;
    memcpy(r->peer_pk, pk, ACCORD_PUBKEY_BYTES);
  } else if (r->open > 0) {
    r->open--;
  }
  if (r->mode == MODE_SERVE)
    event(r, connected ? "connected" : "disconnected", who, address, NULL);
  else if (!r->c->json && connected && r->tty) {
    clear_line(r);
    if (r->mode == MODE_JOIN) /* its name arrives with the membership */
      fprintf(stderr, "connected to the member at %s\n", address);
    else
      fprintf(stderr, "connected to %s at %s\n", tty(who), address);
  }
}

static void on_progress(void *ud, const accord_net_progress *p) {
  run *r = ud;
  /* every anti-entropy round with work reports progress again; only a
   * change of the counts is activity (stuck counts repeat unchanged) */
  if (!r->have_prog || p->docs_done != r->prog.docs_done ||
      p->docs_total != r->prog.docs_total || p->changes_done != r->prog.changes_done ||
      p->changes_total != r->prog.changes_total)
    r->quiet_since = uv_now(&r->loop);
  r->prog = *p;
  r->prog.peer_key = NULL;
  r->have_prog = 1;
  if (r->mode != MODE_SERVE) draw_progress(r);
}

static void on_doc_changed(void *ud, const uint8_t *ws, const uint8_t *doc) {
  run *r = ud;
  cli *c = r->c;
  r->quiet_since = uv_now(&r->loop);
  r->docs_changed++;
  if (r->mode != MODE_SERVE || memcmp(ws, c->ws, ACCORD_WS_ID_BYTES)) return;
  /* a document we did not know yet gets a short id after a reload */
  const char *type = NULL;
  for (int pass = 0; pass < 2 && !type; pass++) {
    for (size_t i = 0; i < c->ndocs; i++)
      if (!memcmp(c->docs[i].id, doc, ACCORD_DOC_ID_BYTES)) type = c->docs[i].type;
    if (!type && !pass) {
      accord_free(c->docs);
      c->docs = NULL;
      c->ndocs = 0;
      if (ids_load(c)) break;
    }
  }
  char h[33];
  hexs(doc, ACCORD_DOC_ID_BYTES, h);
  char text[128];
  snprintf(text, sizeof text, "%s %s", type ? type : "document",
           type ? ids_short(c, doc) : h);
  event(r, "changed", NULL, NULL, text);
}

static void on_log(void *ud, const char *line) {
  run *r = ud;
  if (r->mode == MODE_SERVE && r->started) {
    event(r, "log", NULL, NULL, line);
    return;
  }
  if (r->mode == MODE_SERVE) { /* why the start failed: part of the error */
    const char *p = strncmp(line, "accord net: ", 12) ? line : line + 12;
    if (!r->fail_line[0]) snprintf(r->fail_line, sizeof r->fail_line, "%s", p);
    return;
  }
  /* before the link opened, a line about the address we dial is why it
   * does not open (connect refused, handshake refused) */
  if (!r->ever_open && r->target && !r->fail_line[0] && strstr(line, r->target)) {
    const char *p = strncmp(line, "accord net: ", 12) ? line : line + 12;
    snprintf(r->fail_line, sizeof r->fail_line, "%s", p);
  }
}

static void on_joined(void *ud, int result) {
  run *r = ud;
  r->joined = result;
  r->quiet_since = uv_now(&r->loop);
}

/* ---- the loop ------------------------------------------------------------------ */

static void finish(run *r, int status) {
  if (r->finished) return;
  r->finished = 1;
  r->status = status;
  uv_stop(&r->loop);
}

/* The receive side of the round is complete. */
static int received_all(const run *r) {
  return !r->have_prog || (r->prog.docs_done >= r->prog.docs_total &&
                           r->prog.changes_done >= r->prog.changes_total);
}

static void on_tick(uv_timer_t *t) {
  run *r = t->data;
  uint64_t now = uv_now(&r->loop);
  if (r->mode == MODE_SERVE || r->finished) return;
  if (r->mode == MODE_JOIN && r->joined == 1) {
    if (now >= r->deadline) finish(r, EX_NETWORK);
    return; /* the join callback decides */
  }
  if (r->mode == MODE_JOIN && r->joined < 0) {
    finish(r, EX_NETWORK);
    return;
  }
  if (!r->ever_open && r->fail_line[0]) {
    finish(r, EX_NETWORK);
    return;
  }
  if (r->ever_open && !r->open) {
    finish(r, EX_NETWORK); /* the peer went away before we were done */
    return;
  }
  /* the counts meet once every document asked for has been answered
   * (net/session.c asks for a document once until its answer ends, and
   * the answer's last message settles its change count), so the common
   * case ends after SETTLE_MS. They stay short only when the peer leaves
   * an ask unanswered with the connection open (it went silent, or
   * misbehaves): a longer quiet window ends such a round too, with what
   * arrived (a later sync asks for the rest), rather than at the timeout */
  if (r->open && now - r->quiet_since >= (received_all(r) ? SETTLE_MS : 2 * SETTLE_MS)) {
    finish(r, EX_OK);
    return;
  }
  if (now >= r->deadline) finish(r, EX_NETWORK);
}

static void on_signal(uv_signal_t *s, int signum) {
  run *r = s->data;
  r->signalled = signum;
  uv_stop(&r->loop);
}

static void close_cb(uv_handle_t *h) { (void)h; }

static int loop_open(run *r) {
  if (uv_loop_init(&r->loop)) return -1;
  uv_timer_init(&r->loop, &r->tick);
  r->tick.data = r;
  uv_signal_init(&r->loop, &r->sigint);
  uv_signal_init(&r->loop, &r->sigterm);
  r->sigint.data = r->sigterm.data = r;
  r->tty = isatty(STDERR_FILENO);
  return 0;
}

/* Stops the net (if any) and lets its handles close. */
static void net_down(run *r) {
  if (!r->net) return;
  accord_net_stop(r->net);
  r->net = NULL;
  uv_run(&r->loop, UV_RUN_DEFAULT);
}

static void loop_close(run *r) {
  net_down(r);
  uv_close((uv_handle_t *)&r->tick, close_cb);
  uv_close((uv_handle_t *)&r->sigint, close_cb);
  uv_close((uv_handle_t *)&r->sigterm, close_cb);
  uv_run(&r->loop, UV_RUN_DEFAULT);
  uv_loop_close(&r->loop);
  clear_line(r);
}

static accord_net_opts base_opts(run *r) {
  accord_net_opts o;
  memset(&o, 0, sizeof o);
  o.uv_loop = &r->loop;
  o.cb.peer = on_peer;
  o.cb.progress = on_progress;
  o.cb.doc_changed = on_doc_changed;
  o.cb.log = on_log;
  o.cb.joined = on_joined;
  o.cb.userdata = r;
  return o;
}

/* Runs the loop until the tick finishes (sync, join) or a signal. */
static void loop_run(run *r, uint64_t timeout_ms) {
  r->start = uv_now(&r->loop);
  r->deadline = r->start + timeout_ms;
  r->quiet_since = r->start;
  uv_timer_start(&r->tick, on_tick, TICK_MS, TICK_MS);
  uv_signal_start(&r->sigint, on_signal, SIGINT);
  uv_signal_start(&r->sigterm, on_signal, SIGTERM);
  while (!r->finished && !r->signalled) uv_run(&r->loop, UV_RUN_DEFAULT);
  uv_timer_stop(&r->tick);
  uv_signal_stop(&r->sigint);
  uv_signal_stop(&r->sigterm);
}

/* The summary line and JSON of a finished sync or join. */
static void report_done(run *r, const char *verb, const char *addr) {
  cli *c = r->c;
  uint64_t ms = uv_now(&r->loop) - r->start;
  clear_line(r);
  snprintf(r->peer_name, sizeof r->peer_name, "%s", member_of(r, r->peer_pk));
  if (c->json) {
    jw w;
    jw_init(&w, stdout);
    jw_obj(&w);
    jw_key(&w, "workspace");
    jw_hex(&w, c->ws, ACCORD_WS_ID_BYTES);
    jw_key(&w, "peer");
    jw_str(&w, addr);
    jw_key(&w, "member");
    jw_str(&w, r->peer_name);
    jw_key(&w, "documents_received");
    jw_int(&w, (int64_t)(r->have_prog ? r->prog.docs_done : 0));
    jw_key(&w, "changes_received");
    jw_int(&w, (int64_t)(r->have_prog ? r->prog.changes_done : 0));
    jw_key(&w, "documents_changed");
    jw_int(&w, (int64_t)r->docs_changed);
    jw_key(&w, "elapsed_ms");
    jw_int(&w, (int64_t)ms);
    jw_obj_end(&w);
    jw_end(&w);
  } else {
    printf("%s %s at %s: %llu documents changed here, in %.1f s\n", verb,
           tty(r->peer_name), addr, (unsigned long long)r->docs_changed,
           (double)ms / 1000);
  }
}

/* ---- sync ------------------------------------------------------------------------ */

int cmd_sync(cli *c, int argc, char **argv) {
  const char *timeout = NULL;
  char *pos[1];
  opt opts[] = {{"timeout", 1, &timeout, NULL, NULL, NULL},
                {NULL, 0, NULL, NULL, NULL, NULL}};
  int rc = parse_opts("sync", argc, argv, opts, pos, 1, 1, NULL);
  if (rc) return rc;
  uint64_t tmo;
  if (parse_timeout(timeout, &tmo))
    return cli_fail(EX_USAGE, "--timeout wants seconds (like 30 or 2m), not \"%s\"",
                    timeout);
  char addr[300], why[400];
  if (resolve(pos[0], addr, sizeof addr, why, sizeof why))
    return cli_fail(EX_USAGE, "sync needs the peer's HOST:PORT: %s", why);
  if ((rc = cli_open(c))) return rc;
  run r;
  memset(&r, 0, sizeof r);
  r.c = c;
  r.mode = MODE_SYNC;
  r.target = addr;
  if (loop_open(&r)) return cli_fail(EX_FAIL, "cannot start the event loop");
  accord_net_opts o = base_opts(&r);
  o.workspace = c->ws;
  o.anti_entropy_ms = AE_MS;
  o.reconnect_min_ms = 60000; /* one attempt: sync reports, it does not retry */
  o.reconnect_max_ms = 60000;
  o.no_remembered_peers = 1; /* this peer only, not the ones we know */
  int lrc = accord_net_start(c->node, &o, &r.net);
  if (!lrc) lrc = accord_net_add_peer(r.net, addr);
  if (lrc) {
    loop_close(&r);
    return cli_lib_fail(c, lrc, "cannot start syncing with %s", pos[0]);
  }
  if (!c->json && r.tty) fprintf(stderr, "syncing with %s ...\n", addr);
  loop_run(&r, tmo);
  int status = r.signalled ? EX_FAIL : r.status;
  if (status == EX_OK) report_done(&r, "in sync with", addr);
  clear_line(&r);
  loop_close(&r);
  if (r.signalled) return cli_fail(EX_FAIL, "sync with %s interrupted", addr);
  if (status == EX_OK) return EX_OK;
  if (r.fail_line[0])
    return cli_fail(EX_NETWORK, "cannot sync with %s: %s", pos[0], r.fail_line);
  if (r.ever_open && !r.open)
    return cli_fail(EX_NETWORK, "%s closed the connection before the sync was complete",
                    pos[0]);
  return cli_fail(EX_NETWORK, "sync with %s timed out after %.0f s (%s)", pos[0],
                  (double)tmo / 1000,
                  r.ever_open ? "still receiving" : "no answer");
}

/* ---- join ------------------------------------------------------------------------ */

int cmd_join(cli *c, int argc, char **argv) {
  const char *name = NULL, *role = NULL, *timeout = NULL;
  char *pos[1];
  opt opts[] = {{"name", 1, &name, NULL, NULL, NULL},
                {"role", 1, &role, NULL, NULL, NULL},
                {"timeout", 1, &timeout, NULL, NULL, NULL},
                {NULL, 0, NULL, NULL, NULL, NULL}};
  int rc = parse_opts("join", argc, argv, opts, pos, 1, 1, NULL);
  if (rc) return rc;
  if (!name || !*name) return cli_fail(EX_USAGE, "join needs --name NAME (how teammates see you)");
  if (strlen(name) > 256) return cli_fail(EX_USAGE, "--name is longer than 256 bytes");
  if (role && strcmp(role, "product") && strcmp(role, "marketing") && strcmp(role, "shared"))
    return cli_fail(EX_USAGE, "--role must be product, marketing or shared, not \"%s\"", role);
  uint64_t tmo;
  if (parse_timeout(timeout, &tmo))
    return cli_fail(EX_USAGE, "--timeout wants seconds (like 30 or 2m), not \"%s\"",
                    timeout);
  accord_invite *inv = NULL;
  int lrc = accord_invite_parse(pos[0], &inv);
  if (lrc == ACCORD_EVERSION)
    return cli_fail(EX_USAGE, "this invite was made by a newer accord: update accord to use it");
  if (lrc == ACCORD_ENOMEM) return cli_fail(EX_FAIL, "out of memory");
  if (lrc)
    return cli_fail(EX_USAGE, "this is not a valid invite token (it should start with "
                    "\"accord-invite:\" and be copied whole)");
  if (inv->expires <= (int64_t)time(NULL) * 1000) {
    accord_invite_free(inv);
    return cli_fail(EX_USAGE, "this invite has expired: ask for a new one");
  }
  if (!inv->naddrs) {
    accord_invite_free(inv);
    return cli_fail(EX_USAGE, "this invite carries no address: ask for one made with "
                    "`accord invite --addr HOST:PORT`");
  }
  /* the node: created when missing (a fresh laptop joins), never a second
   * time the same workspace */
  const char *shown = c->dir ? c->dir : "the default directory";
  char err[512] = "";
  accord_node_opts no = {0};
  no.errbuf = err;
  no.errbuf_size = sizeof err;
  lrc = accord_node_open(c->dir, &no, &c->node);
  if (lrc == ACCORD_ENOTSTORE) {
    accord_invite_free(inv);
    return cli_fail(EX_STORAGE, "%s is not an accord node directory (it holds other files)",
                    shown);
  }
  if (lrc) {
    accord_invite_free(inv);
    return cli_fail(cli_exit_code(lrc), "cannot open the node in %s: %s", shown,
                    *err ? err : accord_strerror(lrc));
  }
  accord_ws_info *wss = NULL;
  size_t nws = 0;
  if ((lrc = accord_node_ws_list(c->node, &wss, &nws))) {
    accord_invite_free(inv);
    return cli_lib_fail(c, lrc, "cannot list the workspaces");
  }
  for (size_t i = 0; i < nws; i++)
    if (!memcmp(wss[i].id, inv->ws, ACCORD_WS_ID_BYTES)) {
      rc = cli_fail(EX_FAIL, "this node is already a member of workspace \"%s\": "
                    "use `accord sync HOST:PORT` to sync it", wss[i].name);
      break;
    }
  accord_free(wss);
  if (rc) {
    accord_invite_free(inv);
    return rc;
  }
  memcpy(c->ws, inv->ws, ACCORD_WS_ID_BYTES);
  run r;
  memset(&r, 0, sizeof r);
  r.c = c;
  r.mode = MODE_JOIN;
  if (loop_open(&r)) {
    accord_invite_free(inv);
    return cli_fail(EX_FAIL, "cannot start the event loop");
  }
  char addr[300], why[400], last[400] = "";
  int status = EX_NETWORK, refused = 0;
  uint64_t start = uv_now(&r.loop);
  for (size_t i = 0; i < inv->naddrs && !r.signalled; i++) {
    if (resolve(inv->addrs[i], addr, sizeof addr, why, sizeof why)) {
      snprintf(last, sizeof last, "%s", why);
      continue;
    }
    if (!c->json && r.tty) fprintf(stderr, "joining through %s ...\n", addr);
    accord_join_info ji = {inv->ws, inv->key, inv->secret, addr};
    accord_net_opts o = base_opts(&r);
    o.anti_entropy_ms = AE_MS;
    r.target = addr;
    r.joined = 1;
    r.finished = 0;
    r.fail_line[0] = 0;
    r.ever_open = r.open = 0;
    lrc = accord_net_join(c->node, &o, &ji, name, role, &r.net);
    if (lrc) {
      snprintf(last, sizeof last, "%s", accord_strerror(lrc));
      continue;
    }
    uint64_t now = uv_now(&r.loop), used = now - start;
    loop_run(&r, used < tmo ? tmo - used : 1);
    status = r.signalled ? EX_FAIL : r.status;
    if (r.joined == ACCORD_EINVITE) {
      refused = 1;
      break; /* another address of the same workspace would refuse too */
    }
    if (r.joined == 0) break; /* joined: done or not, this is the outcome */
    snprintf(last, sizeof last, "%s", r.fail_line[0] ? r.fail_line
                                      : r.joined == 1 ? "no answer" : "no connection");
    net_down(&r);
  }
  accord_invite_free(inv);
  int joined = r.joined == 0;
  if (status == EX_OK && joined) {
    /* the workspace is ours now: read it as the other commands do */
    accord_free(c->members);
    c->members = NULL;
    if (accord_member_list(c->node, c->ws, &c->members, &c->nmembers)) c->nmembers = 0;
    report_done(&r, "joined the workspace, in sync with", addr);
  }
  loop_close(&r);
  if (r.signalled) return cli_fail(EX_FAIL, "join interrupted");
  if (status == EX_OK && joined) return EX_OK;
  if (refused)
    return cli_fail(EX_NETWORK, "the member at %s refused the invite: it was already "
                    "used, revoked or has expired, or they are no longer a member; "
                    "ask for a new invite", addr);
  if (joined)
    return cli_fail(EX_NETWORK, "joined the workspace, but the first sync did not "
                    "complete: run `accord sync %s`", addr);
  return cli_fail(EX_NETWORK, "cannot reach any address of the invite (last: %s)",
                  last[0] ? last : "no answer");
}

/* ---- serve ----------------------------------------------------------------------- */

int cmd_serve(cli *c, int argc, char **argv) {
  const char *listen = NULL;
  const char **peers = NULL;
  size_t npeers = 0;
  int no_discovery = 0;
  opt opts[] = {{"listen", 1, &listen, NULL, NULL, NULL},
                {"peer", 1, NULL, &peers, &npeers, NULL},
                {"no-discovery", 0, NULL, NULL, NULL, &no_discovery},
                {NULL, 0, NULL, NULL, NULL, NULL}};
  int rc = parse_opts("serve", argc, argv, opts, NULL, 0, 0, NULL);
  char la[300], why[400];
  char (*pa)[300] = NULL;
  if (!rc && resolve_port(listen ? listen : DEFAULT_LISTEN, 1, la, sizeof la, why,
                          sizeof why))
    rc = cli_fail(EX_USAGE, "--listen wants HOST:PORT: %s", why);
  if (!rc && npeers > 64) rc = cli_fail(EX_USAGE, "at most 64 --peer");
  if (!rc && npeers && !(pa = calloc(npeers, sizeof *pa)))
    rc = cli_fail(EX_FAIL, "out of memory");
  for (size_t i = 0; !rc && i < npeers; i++)
    if (resolve(peers[i], pa[i], sizeof pa[i], why, sizeof why))
      rc = cli_fail(EX_USAGE, "--peer wants HOST:PORT: %s", why);
  if (!rc) rc = cli_open(c);
  if (rc) {
    free(peers);
    free(pa);
    return rc;
  }
  run r;
  memset(&r, 0, sizeof r);
  r.c = c;
  r.mode = MODE_SERVE;
  if (loop_open(&r)) {
    free(peers);
    free(pa);
    return cli_fail(EX_FAIL, "cannot start the event loop");
  }
  accord_net_opts o = base_opts(&r);
  o.workspace = c->ws;
  o.listen = la;
  o.poll_ms = 100; /* commits of other processes are pushed within 0.1 s */
  o.no_discovery = no_discovery;
  /* a bind error comes through the log callback: show it as the reason */
  int lrc = accord_net_start(c->node, &o, &r.net);
  for (size_t i = 0; !lrc && i < npeers; i++) lrc = accord_net_add_peer(r.net, pa[i]);
  free(peers);
  free(pa);
  if (lrc) {
    loop_close(&r);
    if (r.fail_line[0])
      return cli_fail(cli_exit_code(lrc), "cannot serve on %s: %s", la, r.fail_line);
    return cli_lib_fail(c, lrc, "cannot serve on %s", la);
  }
  r.started = 1;
  char shown[320];
  const char *colon = strrchr(la, ':');
  snprintf(shown, sizeof shown, "%.*s:%d", (int)(colon - la), la, accord_net_port(r.net));
  char text[400];
  snprintf(text, sizeof text, "workspace %s", c->ws_name);
  event(&r, "listening", NULL, shown, text);
  loop_run(&r, UINT64_MAX / 2);
  event(&r, "stopping", NULL, NULL, r.signalled == SIGINT ? "SIGINT" : "SIGTERM");
  loop_close(&r);
  return EX_OK;
}
