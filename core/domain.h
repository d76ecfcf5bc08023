/*
 * domain.h — what the domain files share (domain.c, domain_diff.c,
 * domain_conflicts.c, goal.c, messaging.c, align.c): the field tables,
 * typed map reads and writes, and the packer that builds the single-buffer
 * results of the public API.
 *
 * Packer. A result (a goal, a list of conflicts...) is built by running the
 * same builder twice over a pack: first measuring (pk_alloc hands out
 * zeroed scratch blocks that are thrown away, pk_str copies nothing), then
 * filling one buffer of exactly the measured size. The builder must make
 * the same calls in both passes, which holds because it only reads.
 */
#ifndef ACCORD_DOMAIN_H
#define ACCORD_DOMAIN_H

#include <stddef.h>
#include <stdint.h>

#include "accord.h"

/* ---- fields --------------------------------------------------------------- */

typedef enum dfield_kind {
  DF_TEXT,  /* a text object at key */
  DF_STR,   /* a string */
  DF_NUM,   /* INT when integral, else DOUBLE */
  DF_DATE,  /* TIMESTAMP, midnight UTC */
  DF_ENUM   /* a string from choices */
} dfield_kind;

typedef struct dfield {
  const char *name;      /* command-line name */
  const char *key;       /* map key */
  int in_metric;         /* key of the goal's metric map, else of the root */
  dfield_kind kind;
  const char *const *choices; /* DF_ENUM, NULL-terminated */
  int tracked;           /* goal history reports its changes */
} dfield;

/* The field named name (dashes and underscores alike) of a goal (is_goal)
 * or messaging document, or NULL. */
const dfield *dom_field(int is_goal, const char *name);
/* The field table, NULL-terminated by a zero entry. */
const dfield *dom_fields(int is_goal);
/* Normalises an enum value ("at risk", "At_Risk" -> "at-risk"); returns
 * the canonical static string or NULL. */
const char *dom_choice(const dfield *f, const char *value);
/* Parses a number: decimal, finite, the whole string. */
int dom_parse_num(const char *s, double *out);
/* A number as a value: INT when integral and exact, else DOUBLE. */
accord_value dom_num_value(double d);
/* 1 when v is INT or DOUBLE, its value in *d. */
int dom_value_num(const accord_value *v, double *d);

/* ---- typed reads (missing keys read as empty) --------------------------- */

/* The object a key holds, of type t. Errors: ENOTFOUND, ETYPE. */
int dom_get_obj(const accord_doc *doc, accord_id obj, const char *key,
                accord_type t, accord_id *out);
/* A string value (borrowed); "" when missing or not a string. */
const char *dom_get_str(const accord_doc *doc, accord_id obj, const char *key,
                        size_t *len);
int dom_get_num(const accord_doc *doc, accord_id obj, const char *key,
                double *out);
int64_t dom_get_ts(const accord_doc *doc, accord_id obj, const char *key);
/* A text field's contents (free with accord_free); "" when missing. */
int dom_get_text(const accord_doc *doc, accord_id obj, const char *key,
                 char **out);
/* The 16-byte ids of the "links" map, in key order, into a packed array. */
struct pack;
int dom_get_links(const accord_doc *doc, struct pack *p,
                  const uint8_t (**out)[ACCORD_DOC_ID_BYTES], size_t *n);
/* Strings of a list, packed. */
int dom_get_strlist(const accord_doc *doc, accord_id list, struct pack *p,
                    const char ***out, size_t *n);

/* ---- writes ---------------------------------------------------------------- */

const accord_doc *dom_txn_doc(const accord_txn *txn);
int dom_put_str(accord_txn *txn, accord_id obj, const char *key,
                const char *s);
/* Sets field f from value (validated first). */
int dom_set_field(accord_txn *txn, int is_goal, const dfield *f,
                  const char *value);
/* Creates title, the given empty text keys and created. Errors: EINVAL
 * (empty title, or the document has one). */
int dom_init(accord_txn *txn, const char *title, const char *const *texts,
             int64_t now_ms);
/* Appends s to a list of strings unless present. */
int dom_list_add_unique(accord_txn *txn, const char *key, const char *s);

/* ---- hex ------------------------------------------------------------------ */

void dom_hex(const uint8_t *p, size_t n, char *out); /* 2n + 1 bytes */
int dom_unhex(const char *s, size_t len, uint8_t *out); /* len = 2 * bytes */

/* ---- the packer ------------------------------------------------------------ */

typedef struct pack {
  char *base;  /* fill pass: the result */
  size_t off;  /* bytes used (both passes) */
  int measure; /* 1: first pass */
  void **tmp;  /* measure pass: scratch blocks to free */
  size_t ntmp, captmp;
  int err;     /* ENOMEM seen */
} pack;

/* A zeroed block of n bytes, 8-aligned; NULL (and p->err) on failure. */
void *pk_alloc(pack *p, size_t n);
/* A copy of s[0..len) with a NUL; "" in the measure pass. */
const char *pk_str(pack *p, const char *s, size_t len);
/* Runs build twice; on success *out is the buffer (free with accord_free). */
typedef int (*pk_build_fn)(pack *p, void *ctx, void *result);
int pk_run(pk_build_fn build, void *ctx, size_t result_size, void **out);

/* ---- history lookups (domain_conflicts.c) -------------------------------- */

/* The time of the change that made each op in ops[n]; 0 when not found. */
int dom_op_times(accord_doc *doc, const accord_id *ops, size_t n,
                 int64_t *times);

#endif
