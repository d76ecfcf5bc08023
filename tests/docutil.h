/*
 * docutil.h — helpers the engine tests share: replicas of one test document,
 * one-way and two-way sync through the public sync primitives, and id and
 * JSON comparisons. Every helper asserts success (cmocka), so a test reads
 * as the scenario it checks.
 */
#ifndef ACCORD_DOCUTIL_H
#define ACCORD_DOCUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "accord.h"

/* The doc id every replica made by du_new shares. */
extern const uint8_t du_doc_id[ACCORD_DOC_ID_BYTES];

/* A new empty replica of the test document whose actor is test_actor(n). */
accord_doc *du_new(uint64_t actor);

/* Imports into dst the changes src has that dst lacks; returns the stats. */
accord_import_stats du_sync(accord_doc *dst, accord_doc *src);
/* Syncs both ways (a -> b, then b -> a). */
void du_sync_both(accord_doc *a, accord_doc *b);
/* Syncs every ordered pair until a whole round applies nothing; asserts
 * that nothing is left pending and that all JSON is identical. */
void du_sync_all(accord_doc **docs, size_t n);

/* Asserts that two documents have identical JSON (printing both if not). */
void du_assert_same_json(const accord_doc *a, const accord_doc *b);
/* Asserts that a document's JSON is want, ignoring whitespace outside
 * strings. */
void du_assert_json(const accord_doc *doc, const char *want);

/* The text of obj (asserts success); free with accord_free. */
char *du_text(const accord_doc *doc, accord_id obj);
/* Asserts that obj's text is want (NUL-terminated UTF-8). */
void du_assert_text(const accord_doc *doc, accord_id obj, const char *want);

/* The version vector bytes (free with accord_free). */
uint8_t *du_version(const accord_doc *doc, size_t *len);

/* The object id stored at key in map obj (asserts it is an object). */
accord_id du_get_obj(const accord_doc *doc, accord_id obj, const char *key);

/* A one-operation transaction that creates an object at key of map obj. */
accord_id du_put_object(accord_doc *doc, accord_id obj, const char *key,
                        accord_type type);

/* Saves and reloads doc with the same actor; frees the old one. */
accord_doc *du_reload(accord_doc *doc);

int du_id_eq(accord_id a, accord_id b);
/* Order of op ids: (counter, actor bytes). */
int du_id_cmp(accord_id a, accord_id b);

#endif
