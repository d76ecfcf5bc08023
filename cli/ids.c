/*
 * ids.c — short document ids, like git's: a document is shown by the
 * shortest prefix of its hex id, at least 8 digits, that no other goal or
 * messaging document of the workspace shares, and found again by any
 * prefix that names exactly one (an ambiguous prefix is an error listing
 * the candidates, never a guess). Members are shown by
 * their member name (the workspace's membership), else by 8 hex digits of
 * their actor id.
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

#define MIN_SHOWN 8
#define MIN_PREFIX 1
#define MIN_MEMBER_PREFIX 4 /* names are tried first */

static void hex(const uint8_t *p, size_t n, char *out) {
  for (size_t i = 0; i < n; i++) snprintf(out + 2 * i, 3, "%02x", p[i]);
}

static int domain_type(const char *type) {
  return !strcmp(type, ACCORD_GOAL_TYPE) || !strcmp(type, ACCORD_MESSAGING_TYPE);
}

int ids_load(cli *c) {
  accord_doc_info *all = NULL;
  size_t n = 0, k = 0;
  int rc = accord_node_doc_list(c->node, c->ws, NULL, &all, &n);
  if (rc) return cli_lib_fail(c, rc, "cannot list the documents");
  /* keep goal and messaging entries, in place (entries are fixed size;
   * their type strings stay inside the buffer) */
  for (size_t i = 0; i < n; i++)
    if (domain_type(all[i].type)) all[k++] = all[i];
  c->docs = all;
  c->ndocs = k;
  c->short_len = MIN_SHOWN;
  for (size_t i = 1; i < k; i++) {
    size_t same = 0;
    char a[33], b[33];
    hex(all[i - 1].id, ACCORD_DOC_ID_BYTES, a);
    hex(all[i].id, ACCORD_DOC_ID_BYTES, b);
    while (same < 32 && a[same] == b[same]) same++;
    if (same + 1 > c->short_len) c->short_len = same + 1;
  }
  return 0;
}

const char *ids_short(cli *c, const uint8_t *id) {
  static char bufs[4][33];
  static int next;
  char *b = bufs[next++ & 3];
  hex(id, ACCORD_DOC_ID_BYTES, b);
  b[c->short_len < 32 ? c->short_len : 32] = 0;
  return b;
}

int ids_resolve(cli *c, const char *prefix, const char *type, uint8_t *id,
                const char **type_out) {
  size_t len = strlen(prefix);
  char want[33];
  for (size_t i = 0; i < len; i++)
    if (!isxdigit((unsigned char)prefix[i]) || i >= 32)
      return cli_fail(EX_USAGE,
                      "\"%s\" is not a document id (ids are hex, like 3f2a9c01)",
                      prefix);
  if (len < MIN_PREFIX) return cli_fail(EX_USAGE, "an id cannot be empty");
  for (size_t i = 0; i < len; i++) want[i] = (char)tolower((unsigned char)prefix[i]);
  want[len] = 0;
  const accord_doc_info *found = NULL;
  size_t matches = 0;
  char list[256] = "";
  for (size_t i = 0; i < c->ndocs; i++) {
    char h[33];
    hex(c->docs[i].id, ACCORD_DOC_ID_BYTES, h);
    if (strncmp(h, want, len)) continue;
    matches++;
    found = &c->docs[i];
    size_t used = strlen(list);
    if (used < sizeof list - 40)
      snprintf(list + used, sizeof list - used, "%s%s (%s)", used ? ", " : "",
               ids_short(c, c->docs[i].id), c->docs[i].type);
  }
  if (!matches)
    return cli_fail(EX_NOTFOUND, "no %s has an id starting with %s",
                    type ? (strcmp(type, ACCORD_GOAL_TYPE) ? "messaging document" : "goal")
                         : "goal or messaging document",
                    want);
  if (matches > 1)
    return cli_fail(EX_USAGE, "id %s is ambiguous: it starts %s", want, list);
  if (type && strcmp(found->type, type))
    return cli_fail(EX_NOTFOUND, "%s is a %s document, not a %s", want,
                    found->type,
                    strcmp(type, ACCORD_GOAL_TYPE) ? "messaging document" : "goal");
  memcpy(id, found->id, ACCORD_DOC_ID_BYTES);
  if (type_out) *type_out = found->type;
  return 0;
}

const char *ids_member(cli *c, const uint8_t *actor) {
  static char bufs[4][24];
  static int next;
  for (size_t i = 0; i < c->nmembers; i++)
    if (!memcmp(c->members[i].actor, actor, ACCORD_ACTOR_BYTES))
      return c->members[i].name;
  char *b = bufs[next++ & 3];
  hex(actor, 4, b);
  return b;
}

const accord_member *ids_me(cli *c) {
  const uint8_t *me = accord_node_actor(c->node);
  for (size_t i = 0; i < c->nmembers; i++)
    if (!memcmp(c->members[i].actor, me, ACCORD_ACTOR_BYTES))
      return &c->members[i];
  return NULL;
}

const accord_member *ids_find_member(cli *c, const char *who) {
  const accord_member *hit = NULL;
  for (size_t i = 0; i < c->nmembers; i++)
    if (!strcasecmp(c->members[i].name, who)) return &c->members[i];
  size_t len = strlen(who);
  if (len < MIN_MEMBER_PREFIX) return NULL;
  for (size_t i = 0; i < c->nmembers; i++) {
    char h[17];
    hex(c->members[i].actor, ACCORD_ACTOR_BYTES, h);
    if (len <= 16 && !strncasecmp(h, who, len)) {
      if (hit) return NULL; /* ambiguous */
      hit = &c->members[i];
    }
  }
  return hit;
}
