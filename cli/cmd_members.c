/*
 * cmd_members.c — the workspace's membership from the command line:
 * `members` (the list), `member remove MEMBER`, `invite` (prints a token;
 * joining with it over the network is net/'s). Members are the workspace's
 * membership document (core/members.c); c->members holds them, removed
 * ones included, as read when the workspace was opened.
 *
 * invite without --addr puts this machine's addresses in the token, each
 * with the port `accord serve` listens on by default (7700): every
 * non-loopback IPv4 and global IPv6 address of an interface that is up,
 * else 127.0.0.1 (the joiner is on this machine). `accord join` tries them
 * in turn, so one that is not reachable from the joiner only costs a try.
 */
#define _DEFAULT_SOURCE /* getifaddrs */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#define DAY_MS 86400000LL

static void hexs(const uint8_t *p, size_t n, char *out) {
  for (size_t i = 0; i < n; i++) snprintf(out + 2 * i, 3, "%02x", p[i]);
}

int cmd_members(cli *c, int argc, char **argv) {
  int rc = parse_opts("members", argc, argv, NULL, NULL, 0, 0, NULL);
  if (rc || (rc = cli_open(c))) return rc;
  const uint8_t *me = accord_node_actor(c->node);
  jw w;
  table t;
  jw_init(&w, stdout);
  tbl_init(&t, 5);
  if (c->json) jw_arr(&w);
  else {
    tbl_add(&t, NULL, "MEMBER");
    tbl_add(&t, NULL, "NAME");
    tbl_add(&t, NULL, "ROLE");
    tbl_add(&t, NULL, "ADDED BY");
    tbl_add(&t, NULL, "REMOVED");
  }
  for (size_t i = 0; i < c->nmembers; i++) {
    const accord_member *m = &c->members[i];
    char h[17], by[17], when[32];
    hexs(m->actor, ACCORD_ACTOR_BYTES, h);
    hexs(m->added_by, ACCORD_ACTOR_BYTES, by);
    int you = !memcmp(m->actor, me, ACCORD_ACTOR_BYTES);
    int self = !memcmp(m->actor, m->added_by, ACCORD_ACTOR_BYTES);
    if (c->json) {
      jw_obj(&w);
      jw_key(&w, "member");
      jw_str(&w, h);
      jw_key(&w, "name");
      jw_str(&w, m->name);
      jw_key(&w, "role");
      if (*m->role) jw_str(&w, m->role);
      else jw_null(&w);
      jw_key(&w, "public_key");
      jw_hex(&w, m->public_key, ACCORD_PUBKEY_BYTES);
      jw_key(&w, "added_by");
      jw_str(&w, by);
      jw_key(&w, "added");
      jw_time(&w, m->added_at);
      jw_key(&w, "removed");
      if (m->removed) {
        jw_obj(&w);
        jw_key(&w, "by");
        jw_hex(&w, m->removed_by, ACCORD_ACTOR_BYTES);
        jw_key(&w, "at");
        jw_time(&w, m->removed_at);
        jw_obj_end(&w);
      } else {
        jw_null(&w);
      }
      jw_key(&w, "you");
      jw_bool(&w, you);
      jw_obj_end(&w);
    } else {
      tbl_add(&t, C_CYAN, "%.8s", h);
      tbl_add(&t, you ? C_BOLD : NULL, "%s%s", *m->name ? m->name : "-",
              you ? " (you)" : "");
      tbl_add(&t, NULL, "%s", *m->role ? m->role : "-");
      tbl_add(&t, NULL, "%s", self ? "(founder)" : ids_member(c, m->added_by));
      if (m->removed) {
        fmt_time(m->removed_at, when, sizeof when);
        tbl_add(&t, C_DIM, "%s by %s", when, ids_member(c, m->removed_by));
      } else {
        tbl_add(&t, NULL, "-");
      }
    }
  }
  if (c->json) {
    jw_arr_end(&w);
    jw_end(&w);
  } else {
    tbl_print(c, &t, 1);
  }
  tbl_free(&t);
  return EX_OK;
}

static int member_remove(cli *c, int argc, char **argv) {
  char *pos[1];
  int rc = parse_opts("member remove", argc, argv, NULL, pos, 1, 1, NULL);
  if (rc || (rc = cli_open(c))) return rc;
  const accord_member *m = ids_find_member(c, pos[0]);
  if (!m)
    return cli_fail(EX_NOTFOUND, "no single member of this workspace has the name or id \"%s\"",
                    pos[0]);
  if (m->removed)
    return cli_fail(EX_FAIL, "%s was already removed: nothing changed", pos[0]);
  char h[17];
  hexs(m->actor, ACCORD_ACTOR_BYTES, h);
  int lrc = accord_member_remove(c->node, c->ws, m->actor);
  if (lrc) return cli_lib_fail(c, lrc, "cannot remove %s", pos[0]);
  if (c->json) {
    jw w;
    jw_init(&w, stdout);
    jw_obj(&w);
    jw_key(&w, "removed");
    jw_str(&w, h);
    jw_key(&w, "name");
    jw_str(&w, m->name);
    jw_obj_end(&w);
    jw_end(&w);
  } else {
    printf("removed %s (%.8s): their changes after what this node holds are refused\n",
           *m->name ? m->name : "member", h);
  }
  return EX_OK;
}

int cmd_member(cli *c, int argc, char **argv) {
  if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
    cli_usage(argc < 1 ? stderr : stdout, "member");
    return argc < 1 ? EX_USAGE : EX_OK;
  }
  if (!strcmp(argv[0], "remove")) return member_remove(c, argc - 1, argv + 1);
  return cli_fail(EX_USAGE, "unknown command `accord member %s` (see accord member --help)",
                  argv[0]);
}

/* "7d", "12h", "30m", "3600s"; a bare number is days. */
static int parse_duration(const char *s, int64_t *ms) {
  char *end;
  double v = strtod(s, &end);
  int64_t unit = DAY_MS;
  if (end == s || v <= 0) return -1;
  if (*end == 'd') unit = DAY_MS, end++;
  else if (*end == 'h') unit = 3600000, end++;
  else if (*end == 'm') unit = 60000, end++;
  else if (*end == 's') unit = 1000, end++;
  if (*end || v * (double)unit > 365.0 * DAY_MS) return -1;
  *ms = (int64_t)(v * (double)unit);
  return *ms > 0 ? 0 : -1;
}

#define SERVE_DEFAULT_PORT 7700
#define DEFAULT_ADDRS 8

/* This machine's addresses with the default serve port, into out[] (at
 * most DEFAULT_ADDRS); returns how many. */
static size_t default_addrs(char out[][64]) {
  size_t n = 0;
  struct ifaddrs *ifs = NULL;
  if (getifaddrs(&ifs) == 0) {
    for (struct ifaddrs *i = ifs; i && n < DEFAULT_ADDRS; i = i->ifa_next) {
      if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK))
        continue;
      char ip[INET6_ADDRSTRLEN];
      if (i->ifa_addr->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)(void *)i->ifa_addr;
        if (!inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip)) continue;
        snprintf(out[n++], 64, "%s:%d", ip, SERVE_DEFAULT_PORT);
      } else if (i->ifa_addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(void *)i->ifa_addr;
        /* link-local addresses need a scope the joiner's machine lacks */
        if (IN6_IS_ADDR_LINKLOCAL(&a->sin6_addr) || IN6_IS_ADDR_LOOPBACK(&a->sin6_addr) ||
            !inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip))
          continue;
        snprintf(out[n++], 64, "[%s]:%d", ip, SERVE_DEFAULT_PORT);
      }
    }
    freeifaddrs(ifs);
  }
  if (!n) snprintf(out[n++], 64, "127.0.0.1:%d", SERVE_DEFAULT_PORT);
  return n;
}

int cmd_invite(cli *c, int argc, char **argv) {
  const char *expires = NULL;
  const char **addrs = NULL;
  size_t naddrs = 0;
  opt opts[] = {{"addr", 1, NULL, &addrs, &naddrs, NULL},
                {"expires", 1, &expires, NULL, NULL, NULL},
                {NULL, 0, NULL, NULL, NULL, NULL}};
  int rc = parse_opts("invite", argc, argv, opts, NULL, 0, 0, NULL);
  int64_t ttl = 7 * DAY_MS;
  if (!rc && expires && parse_duration(expires, &ttl))
    rc = cli_fail(EX_USAGE, "--expires wants a duration up to a year, like 7d, 12h or 30m, not \"%s\"",
                  expires);
  for (size_t i = 0; !rc && i < naddrs; i++) {
    const char *colon = strrchr(addrs[i], ':');
    if (!colon || colon == addrs[i] || !colon[1] || strlen(addrs[i]) > 255)
      rc = cli_fail(EX_USAGE, "--addr wants HOST:PORT, not \"%s\"", addrs[i]);
  }
  if (!rc && naddrs > 16) rc = cli_fail(EX_USAGE, "at most 16 --addr");
  if (!rc) rc = cli_open(c);
  if (rc) {
    free(addrs);
    return rc;
  }
  char defaults[DEFAULT_ADDRS][64];
  const char *dptr[DEFAULT_ADDRS];
  if (!naddrs) {
    free(addrs);
    addrs = NULL;
    naddrs = default_addrs(defaults);
    for (size_t i = 0; i < naddrs; i++) dptr[i] = defaults[i];
  }
  const char **use = addrs ? addrs : dptr;
  /* the expiry is real time, whatever ACCORD_NOW says about document times */
  int64_t expiry = (int64_t)time(NULL) * 1000 + ttl;
  char *token = NULL;
  int lrc = accord_invite_create(c->node, c->ws, use, naddrs, expiry, &token);
  if (lrc) {
    free(addrs);
    return cli_lib_fail(c, lrc, "cannot create an invite");
  }
  if (c->json) {
    jw w;
    jw_init(&w, stdout);
    jw_obj(&w);
    jw_key(&w, "token");
    jw_str(&w, token);
    jw_key(&w, "expires");
    jw_time(&w, expiry);
    jw_key(&w, "addresses");
    jw_arr(&w);
    for (size_t i = 0; i < naddrs; i++) jw_str(&w, use[i]);
    jw_arr_end(&w);
    jw_obj_end(&w);
    jw_end(&w);
  } else {
    printf("%s\n", token);
  }
  accord_free(token);
  free(addrs);
  return EX_OK;
}
