/*
 * test_api.c — the public API's own promises: version, error names and
 * texts, NULL handling of destructors, and the multi-value list insert.
 */
#include <stdio.h>
#include <string.h>

#include "docutil.h"
#include "testutil.h"

static void version_matches_header(void **state) {
  (void)state;
  char want[32];
  snprintf(want, sizeof want, "%d.%d.%d", ACCORD_VERSION_MAJOR,
           ACCORD_VERSION_MINOR, ACCORD_VERSION_PATCH);
  assert_string_equal(accord_version(), want);
  assert_string_equal(accord_version(), ACCORD_VERSION_STRING);
}

static void every_error_has_a_name_and_text(void **state) {
  (void)state;
#define CHECK_(name, code, text)                                  \
  assert_string_equal(accord_err_name(code), #name);              \
  assert_string_equal(accord_strerror(code), text);               \
  assert_true(code < 0);
  ACCORD_ERRNO_MAP(CHECK_)
#undef CHECK_
  assert_string_equal(accord_err_name(0), "OK");
  assert_string_equal(accord_strerror(-9999), "unknown error");
}

static void destructors_take_null(void **state) {
  (void)state;
  accord_doc_free(NULL);
  accord_txn_abort(NULL);
  accord_free(NULL);
  accord_doc *d = (accord_doc *)1;
  assert_int_equal(accord_doc_new(NULL, NULL, NULL), ACCORD_EINVAL);
  assert_int_equal(accord_doc_load(NULL, 0, NULL, &d), ACCORD_EINVAL);
  assert_null(d); /* constructors clear *out on failure */
}

static void list_insert_values_is_one_op(void **state) {
  (void)state;
  accord_doc *a = du_new(1), *b = du_new(2);
  accord_id l = du_put_object(a, ACCORD_ROOT, "l", ACCORD_LIST);
  accord_value v[3] = {accord_int(1), accord_str("two", 3), accord_bool(1)};
  accord_txn *t;
  accord_change_info info;
  AOK(accord_txn_begin(a, &t));
  AOK(accord_list_insert_values(t, l, 0, v, 3));
  AOK(accord_list_insert_values(t, l, 1, v, 1)); /* between 1 and "two" */
  AOK(accord_txn_commit(t, &info));
  du_assert_json(a, "{\"l\":[1,1,\"two\",true]}");
  /* bad values change nothing */
  accord_value bad[2] = {accord_int(5), accord_str("\xff", 1)};
  AOK(accord_txn_begin(a, &t));
  assert_int_equal(accord_list_insert_values(t, l, 0, bad, 2), ACCORD_EUTF8);
  assert_int_equal(accord_list_insert_values(t, l, 9, v, 1), ACCORD_ERANGE);
  assert_int_equal(accord_list_insert_values(t, l, 0, NULL, 1),
                   ACCORD_EINVAL);
  AOK(accord_list_insert_values(t, l, 0, v, 0));
  AOK(accord_txn_commit(t, NULL));
  du_assert_json(a, "{\"l\":[1,1,\"two\",true]}");
  du_sync(b, a);
  du_assert_same_json(a, b);
  accord_doc_free(a);
  accord_doc_free(b);
}

TEST_MAIN(cmocka_unit_test(version_matches_header),
          cmocka_unit_test(every_error_has_a_name_and_text),
          cmocka_unit_test(destructors_take_null),
          cmocka_unit_test(list_insert_values_is_one_op))
