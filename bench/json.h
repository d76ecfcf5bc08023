/*
 * json.h — a small, bounded JSON parser for the editing traces.
 *
 * Parses a whole buffer into a read-only tree (RFC 8259: objects, arrays,
 * strings with every escape including \uXXXX surrogate pairs, numbers,
 * true/false/null). Strings come out as NUL-terminated UTF-8 with their byte
 * length (they may contain NUL from \u0000). Numbers are doubles.
 *
 * Input is hostile: the parser never reads outside [text, text+len), nests
 * at most BJSON_MAX_DEPTH levels, rejects invalid UTF-8, lone surrogates,
 * raw control characters and trailing garbage, and refuses inputs larger
 * than BJSON_MAX_INPUT. All nodes and strings live in one arena owned by the
 * bjson_doc, freed at once by bjson_free.
 *
 * Prefix bjson_ rather than json_: libaccord may define json_* helpers for
 * accord_doc_json, and linking its static archive would then clash.
 */
#ifndef BENCH_JSON_H
#define BENCH_JSON_H

#include <stddef.h>

#define BJSON_MAX_DEPTH 64
#define BJSON_MAX_INPUT ((size_t)1 << 30) /* 1 GiB */

typedef enum bjson_type {
  BJSON_NULL,
  BJSON_BOOL,
  BJSON_NUMBER,
  BJSON_STRING,
  BJSON_ARRAY,
  BJSON_OBJECT
} bjson_type;

typedef struct bjson_value bjson_value;
typedef struct bjson_member bjson_member;

struct bjson_value {
  bjson_type type;
  union {
    int boolean;
    double number;
    struct {
      const char *ptr; /* NUL-terminated, valid UTF-8 */
      size_t len;      /* bytes, without the NUL */
    } str;
    struct {
      const bjson_value *items;
      size_t len;
    } arr;
    struct {
      const bjson_member *members; /* in input order; duplicates kept */
      size_t len;
    } obj;
  } u;
};

struct bjson_member {
  const char *key; /* NUL-terminated UTF-8 */
  size_t key_len;
  bjson_value value;
};

typedef struct bjson_doc bjson_doc;

/* Parses text[0..len). On success returns 0 and *out; on failure returns -1,
 * sets *out = NULL and writes a one-line reason ("at byte N: ...") to
 * err[0..errcap) (which may be NULL when errcap is 0). */
int bjson_parse(const char *text, size_t len, bjson_doc **out, char *err,
                size_t errcap);

/* Frees the tree and every string in it. NULL is a no-op. */
void bjson_free(bjson_doc *doc);

/* The root value; valid until bjson_free. */
const bjson_value *bjson_root(const bjson_doc *doc);

/* The first member named key of object v, or NULL (also when v is not an
 * object). */
const bjson_value *bjson_get(const bjson_value *v, const char *key);

#endif /* BENCH_JSON_H */
