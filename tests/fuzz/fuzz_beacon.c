/*
 * fuzz_beacon.c — libFuzzer target for the LAN discovery beacon's decoder
 * (net/beacon_codec.c).
 *
 * Two ways in, on every input:
 *   - the input as a received datagram, opened with two keys (one of them
 *     fuzz_beacon_ws_key's, which the seed corpus seals under): anything
 *     but a beacon of exactly BEACON_BYTES sealed under one of them must
 *     be refused, and one that opens must seal again, with its own nonce,
 *     to the very same bytes;
 *   - the input as a nonce and plaintext sealed under the key (what a
 *     member could send, so the fields behind authentication are reached):
 *     it opens, or is refused for its contents; what opens carries version
 *     1, a port and a time >= 0, and passes the freshness check at most
 *     once.
 */
#include <string.h>

#include "beacon_codec.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static uint8_t keys[2][32];
  static int ready;
  static beacon_seen seen;
  if (!ready) {
    static const uint8_t other[32] = {1};
    beacon_key(other, keys[0]);
    beacon_key(fuzz_beacon_ws_key, keys[1]);
    ready = 1;
  }
  beacon_msg m;
  size_t which = 9;
  uint8_t out[BEACON_BYTES];
  int rc = beacon_open(data, size, (const uint8_t(*)[32])keys, 2, &which, &m);
  if (rc == BEACON_OK) {
    if (size != BEACON_BYTES || which > 1) fuzz_die("opened a bad size", rc);
    if ((rc = beacon_seal(keys[which], &m, 0, out)))
      fuzz_die("an opened beacon does not seal", rc);
    if (memcmp(out, data, BEACON_BYTES))
      fuzz_die("an opened beacon seals to other bytes", 0);
  } else if (rc != BEACON_ESIZE && rc != BEACON_EAUTH &&
             rc != BEACON_EFORMAT) {
    fuzz_die("beacon_open: unexpected status", rc);
  }

  if (size < BEACON_NONCE_BYTES + BEACON_PLAIN_BYTES + 8) return 0;
  const uint8_t *plain = data + BEACON_NONCE_BYTES;
  beacon_seal_plain(keys[1], data, plain, out);
  rc = beacon_open(out, sizeof out, (const uint8_t(*)[32])keys, 2, &which,
                   &m);
  if (rc == BEACON_EFORMAT) return 0;
  if (rc != BEACON_OK || which != 1) fuzz_die("a sealed beacon fails", rc);
  if (plain[0] != BEACON_VERSION || m.port == 0 || m.time < 0 ||
      memcmp(m.pk, plain + 3, 32))
    fuzz_die("opened fields differ from what was sealed", 0);
  int64_t now = 0;
  for (int i = 0; i < 8; i++)
    now = (int64_t)((uint64_t)now << 8 |
                    data[BEACON_NONCE_BYTES + BEACON_PLAIN_BYTES + i]);
  rc = beacon_check(&seen, &m, now);
  if (rc == BEACON_OK && beacon_check(&seen, &m, now) != BEACON_EREPLAY)
    fuzz_die("a beacon passed the replay check twice", 0);
  if (rc != BEACON_OK && rc != BEACON_ESTALE && rc != BEACON_EREPLAY)
    fuzz_die("beacon_check: unexpected status", rc);
  return 0;
}
