/*
 * fuzz_token.c — libFuzzer target for the invite token parser
 * (accord_invite_parse, core/token.c): arbitrary bytes as a pasted token.
 *
 * Checked on every input, beyond "no crash, no leak, no UB":
 *   - the result is 0 or one of EMALFORMED, EVERSION (ENOMEM aside);
 *   - a token that parses re-encodes to exactly the same text (lowercase
 *     input) — the format has one encoding per invite;
 *   - every address is 1..255 printable ASCII bytes, at most 16 of them.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "members.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (!s) return 0;
  memcpy(s, data, size);
  s[size] = 0;
  accord_invite *inv = NULL;
  int rc = accord_invite_parse(s, &inv);
  if (rc && rc != ACCORD_EMALFORMED && rc != ACCORD_EVERSION &&
      rc != ACCORD_ENOMEM)
    fuzz_die("parse returned an unexpected error", rc);
  if (rc && inv) fuzz_die("a failed parse left a result", rc);
  if (!rc) {
    if (inv->naddrs > 16) fuzz_die("too many addresses", 0);
    for (size_t i = 0; i < inv->naddrs; i++) {
      size_t n = strlen(inv->addrs[i]);
      if (n == 0 || n > 255) fuzz_die("address length", 0);
      for (size_t k = 0; k < n; k++)
        if (inv->addrs[i][k] < 0x21 || inv->addrs[i][k] > 0x7e)
          fuzz_die("address byte", 0);
    }
    char *again = NULL;
    if ((rc = token_encode(inv, &again))) fuzz_die("re-encode", rc);
    int lower = 1;
    for (size_t i = 0; i < size; i++)
      if (s[i] >= 'A' && s[i] <= 'Z') lower = 0;
    if (lower && strcmp(again, s)) fuzz_die("token does not round-trip", 0);
    accord_free(again);
  }
  accord_invite_free(inv);
  free(s);
  return 0;
}
